#!/bin/sh
# bench.sh [TXC] -- time the two routes of gaunt.tx for L = 2..12 (C = 64).
# Each route is the preamble of gaunt.tx plus its section; the dense route
# includes building gaunt(L), the Fourier route sampling sph_harm and building
# the projection tensor, since each route needs them.  Prints medians over
# 3 runs, in ms: execution time (the whole run less JIT compilation:
# kernels, builtins such as gaunt/sph_harm/fft2, planning, allocation), the
# part of it spent in compiled kernels, and the compile time.  SIZES overrides the list of L, TXC_FLAGS adds flags to `txc run`.
set -u
here=$(cd "$(dirname "$0")" && pwd)
txc=${1:-$here/../../build/txc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/txc-bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
section() {  # section FILE NAME: the preamble plus the section "# ---- NAME"
    awk -v want="# ---- $2" '/^# ---- /{keep = (index($0, want) == 1); pre = 0; next}
        BEGIN {pre = 1} pre || keep' "$1"
}
printf '%4s %20s %20s %9s   %s\n' L "dense: exec / kern" "Fourier: exec / kern" "preamble" "faster (compile ms: dense, Fourier)"
for L in ${SIZES:-2 3 4 5 6 7 8 9 10 11 12}; do
    sed "s/^let L = .*/let L = $L/" "$here/gaunt.tx" > "$tmp/all.tx"
    section "$tmp/all.tx" "__none__" > "$tmp/pre.tx"
    { section "$tmp/all.tx" "dense route"; echo 'print Zd[0,0]'; } > "$tmp/dense.tx"
    { section "$tmp/all.tx" "Fourier route"; echo 'print Zf[0,0]'; } > "$tmp/fourier.tx"
    set -- $(sh "$here/../timeit.sh" "$txc" "$tmp/dense.tx" ${TXC_FLAGS:-}); de=$1; dc=$2; dk=$3
    set -- $(sh "$here/../timeit.sh" "$txc" "$tmp/fourier.tx" ${TXC_FLAGS:-}); fe=$1; fc=$2; fk=$3
    set -- $(sh "$here/../timeit.sh" "$txc" "$tmp/pre.tx" ${TXC_FLAGS:-}); pe=$1
    w=$(awk -v a="$de" -v b="$fe" 'BEGIN {printf "%s %.1fx", (a < b) ? "dense" : "Fourier", (a < b) ? b/a : a/b}')
    printf '%4s %20s %20s %9s   %s (%s, %s)\n' "$L" "$de / $dk" "$fe / $fk" "$pe" "$w" "$dc" "$fc"
done
