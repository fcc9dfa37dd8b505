#!/bin/sh
# bench.sh [TXC] -- time stokes.tx planned against --no-plan, and the closure
# rotation alone: 2-D on the 128 x 128 grid, and the 3-D section of stokes.tx
# (cut out by its header, without its moment cross-check) at 4096 points.
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

timeit "stokes.tx (planned)" "$here/stokes.tx"
timeit "stokes.tx --no-plan" "$here/stokes.tx" --no-plan
cat > "$tmp/rot2d.tx" <<'TX'
let N = 128
index i, j, k, l, a, b, c, e : 2
Sp = randn(2, 2, 2, 2, seed=1)
th = randn(N, N, seed=2)
Rg[i,a,p,q] = (i == a) * cos(th[p,q]) + ((i == 1) * (a == 0) - (i == 0) * (a == 1)) * sin(th[p,q])
S[i,j,k,l,p,q] = Rg[i,a,p,q] * Rg[j,b,p,q] * Rg[k,c,p,q] * Rg[l,e,p,q] * Sp[a,b,c,e]
print S[0,0,0,0,0,0]
TX
{ echo 'let pi = 3.141592653589793'
  awk '/^# ---- the same rotation in 3-D/{f=1} f' "$here/stokes.tx" | sed 's/^let Np = .*/let Np = 4096/' |
    grep -v '^Wv\|^S3q\|^e3 =\|^print "3-D\|^assert e3'   # without the moment cross-check
} > "$tmp/rot3d.tx"
timeit "2-D rotation, 128^2 points (planned)" "$tmp/rot2d.tx"
timeit "2-D rotation, 128^2 points --no-plan" "$tmp/rot2d.tx" --no-plan
timeit "3-D section, 4096 points (planned)" "$tmp/rot3d.tx"
timeit "3-D section, 4096 points --no-plan" "$tmp/rot3d.tx" --no-plan
