#!/bin/sh
# bench.sh [TXC] -- time the Kronecker route (smart.tx) against the dense N x N Cholesky (naive.tx), N1 = N2 = 48, and kron_gp.tx planned / --no-plan.
# Medians over $REPS (default 5) runs of `txc run --time`: time in JIT-compiled
# kernels, in BLAS calls, the run less LLVM compile time (kernels + BLAS +
# LAPACK/FFT + evaluator), and the whole run.
set -u
here=$(cd "$(dirname "$0")" && pwd)
txc=${1:-$here/../../build/txc}
case $txc in /*) ;; *) txc=$(pwd)/$txc ;; esac
reps=${REPS:-5}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/txc-bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
med() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# timeit LABEL FILE [FLAGS...]: medians over $reps runs of `txc run --time`
timeit() {
    label=$1; file=$2; shift 2
    : > "$tmp/t"
    for k in $(seq "$reps"); do
        (cd "$tmp" && "$txc" run --time "$@" "$file" 2>&1 >/dev/null </dev/null) > "$tmp/e"
        num() { sed -n "s/.*$1 \([0-9.]*\) ms.*/\1/p" "$tmp/e" | head -n 1; }
        run=$(num 'run'); comp=$(num 'compiled in'); kern=$(num 'runs taking')
        blas=$(sed -n 's/.*BLAS.*taking \([0-9.]*\) ms.*/\1/p' "$tmp/e" | head -n 1)
        [ -n "$run" ] && echo "${kern:-0} ${blas:-0} $run ${comp:-0}" >> "$tmp/t"
    done
    col() { cut -d' ' -f"$1" "$tmp/t" | med; }
    printf '%-40s kernels %9s ms  blas %9s ms  run-compile %9s ms  run %9s ms\n' "$label" \
        "$(col 1)" "$(col 2)" "$(awk '{print $3 - $4}' "$tmp/t" | med)" "$(col 3)"
}

timeit "smart.tx (eigh per factor)" "$here/smart.tx"
timeit "naive.tx (dense Cholesky, N = 2304)" "$here/naive.tx"
timeit "kron_gp.tx (planned)" "$here/kron_gp.tx"
timeit "kron_gp.tx --no-plan" "$here/kron_gp.tx" --no-plan
