#!/bin/sh
# bench.sh [TXC] -- the basis elements of graph_poly.tx (preamble plus the
# section "basis elements") planned against the same statements run as
# written (--no-plan: one loop nest each, n^(#nodes)), for several n, and
# the `txc plan` FLOP totals of that section.  Prints medians over 3 runs,
# in ms, as KERNELS / EXEC (EXEC = the whole run less JIT compilation).
# SIZES overrides the list of n, TXC_FLAGS adds flags to `txc run`.
set -u
here=$(cd "$(dirname "$0")" && pwd)
txc=${1:-$here/../../build/txc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/txc-bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
t() { sh "$here/../timeit.sh" "$txc" "$@" ${TXC_FLAGS:-} | awk '{print $3 " / " $1}'; }
section() {  # section FILE NAME: the preamble plus the section "# ---- NAME"
    awk -v want="# ---- $2" '/^# ---- /{keep = (index($0, want) == 1); pre = 0; next}
        BEGIN {pre = 1} pre || keep' "$1"
}
printf '%4s %18s %20s %10s %10s %s\n' n "planned" "naive (--no-plan)" "flops naive" "planned" "(txc plan, basis section)"
for n in ${SIZES:-12 16 20}; do
    sed "s/^let n = .*/let n = $n/" "$here/graph_poly.tx" > "$tmp/all.tx"
    { section "$tmp/all.tx" "basis elements"; echo 'print h6, k4'; } > "$tmp/basis.tx"
    section "$tmp/all.tx" "__none__" > "$tmp/pre.tx"
    fl() { "$txc" plan "$1" | sed -n 's/^total:.*flops naive \([^,]*\), planned \([^ ]*\).*/\1 \2/p'; }
    set -- $(fl "$tmp/basis.tx"); bn=$1; bp=$2
    set -- $(fl "$tmp/pre.tx"); pn=$1; pp=$2
    fn=$(awk -v a="$bn" -v b="$pn" 'BEGIN {printf "%.3g", a - b}')
    fp=$(awk -v a="$bp" -v b="$pp" 'BEGIN {printf "%.3g", a - b}')
    printf '%4s %18s %20s %10s %10s\n' "$n" "$(t "$tmp/basis.tx")" "$(t "$tmp/basis.tx" --no-plan)" "$fn" "$fp"
done
