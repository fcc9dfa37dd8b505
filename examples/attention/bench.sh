#!/bin/sh
# bench.sh [TXC] -- time the exact triple-wise attention (n^3 exponentials,
# written in the natural form) against the degree-6 Taylor form planned as
# plain contractions (O(n d^7)), for several n.  Both programs are cut out
# of taylor.tx (one statement a line): the exact one keeps A, D, O; the
# polynomial one the Taylor terms up to degree 6.  Prints medians over 3
# runs, in ms: time in compiled kernels, execution time (the whole run less
# JIT compilation: kernels, planning, allocation) and compile time.
# SIZES overrides the list of n, TXC_FLAGS adds flags to `txc run`.
set -u
here=$(cd "$(dirname "$0")" && pwd)
txc=${1:-$here/../../build/txc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/txc-bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
printf '%6s %22s %22s %9s   %s\n' n "exact: kernels / exec" "Taylor g=6: kern/exec" "speedup" "(compile ms: exact, Taylor)"
for n in ${SIZES:-96 192 384}; do
    sed "s/^let n = .*/let n = $n/" "$here/taylor.tx" > "$tmp/all.tx"
    grep -v -E '^(N|Z|P|Y|e[0-9]|let Z0|scale|print|assert)' "$tmp/all.tx" > "$tmp/exact.tx"
    echo 'print O[0,0]' >> "$tmp/exact.tx"
    grep -v -E '^(A|D|O|[NZPY][78]|e[0-9]|scale|print|assert)' "$tmp/all.tx" > "$tmp/poly.tx"
    echo 'O6[i,c] = P6[i,c] / Y6[i]' >> "$tmp/poly.tx"
    echo 'print O6[0,0]' >> "$tmp/poly.tx"
    set -- $(sh "$here/../timeit.sh" "$txc" "$tmp/exact.tx" ${TXC_FLAGS:-}); ee=$1; ec=$2; ek=$3
    set -- $(sh "$here/../timeit.sh" "$txc" "$tmp/poly.tx" ${TXC_FLAGS:-}); pe=$1; pc=$2; pk=$3
    sp=$(awk -v a="$ek" -v b="$pk" 'BEGIN {printf "%.1fx", a/b}')
    printf '%6s %22s %22s %9s   (%s, %s)\n' "$n" "$ek / $ee" "$pk / $pe" "$sp" "$ec" "$pc"
done
