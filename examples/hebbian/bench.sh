#!/bin/sh
# bench.sh [TXC] -- time the energy routes of hebbian.tx for several N: the
# tensor form (build J, K N^4 multiply-adds, then contract it with s), the
# same sum as one plain contraction (planned to O(K N); also run with
# --no-plan, i.e. as the K N^4 loop nest), and the explicit overlap form.
# Each program is the preamble of hebbian.tx plus one of its sections.
# Prints medians over 3 runs, in ms, of the time in compiled kernels and of
# the execution time (the whole run less JIT compilation), as KERNELS/EXEC.
# SIZES overrides the list of N, TXC_FLAGS adds flags to `txc run`.
set -u
here=$(cd "$(dirname "$0")" && pwd)
txc=${1:-$here/../../build/txc}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/txc-bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
t() { sh "$here/../timeit.sh" "$txc" "$@" ${TXC_FLAGS:-} | awk '{print $3 "/" $1}'; }
section() {  # section FILE NAME: the preamble plus the section "# ---- NAME"
    awk -v want="# ---- $2" '/^# ---- /{keep = (index($0, want) == 1); pre = 0; next}
        BEGIN {pre = 1} pre || keep' "$1"
}
printf '%4s %12s %16s %18s %10s %10s\n' N "tensor (J)" "plain, planned" "plain, --no-plan" overlap "preamble"
for N in ${SIZES:-32 48 64}; do
    sed "s/^let N = .*/let N = $N/" "$here/hebbian.tx" > "$tmp/all.tx"
    section "$tmp/all.tx" "__none__" > "$tmp/pre.tx"
    { section "$tmp/all.tx" "tensor form"; echo 'print E_tensor'; } > "$tmp/tensor.tx"
    { section "$tmp/all.tx" "the same sum"; echo 'print E_plain'; } > "$tmp/plain.tx"
    { section "$tmp/all.tx" "overlap form"; echo 'print E_overlap'; } > "$tmp/overlap.tx"
    printf '%4s %12s %16s %18s %10s %10s\n' "$N" "$(t "$tmp/tensor.tx")" "$(t "$tmp/plain.tx")" \
        "$(t "$tmp/plain.tx" --no-plan)" "$(t "$tmp/overlap.tx")" "$(t "$tmp/pre.tx")"
done
