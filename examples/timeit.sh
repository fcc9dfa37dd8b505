#!/bin/sh
# timeit.sh TXC FILE.tx [FLAGS ...] -- run `TXC run --time FLAGS FILE.tx` 3 times
# (REPEAT overrides) and print the medians "EXEC COMPILE KERNELS" in
# milliseconds: EXEC is the run time without JIT compilation (kernels,
# builtins such as fft2 or gaunt, planning, allocation), COMPILE the JIT
# compile time, KERNELS the time spent in compiled kernels and in BLAS
# calls the planner routed to (`txc: blas: ... taking X ms`).  Used by the
# examples' bench.sh scripts.  Exits non-zero if a run fails.
set -u
txc=$1; file=$2; shift 2
tmp=$(mktemp "${TMPDIR:-/tmp}/txc-timeit.XXXXXX") || exit 1
trap 'rm -f "$tmp" "$tmp.e"' EXIT
i=0
while [ $i -lt "${REPEAT:-3}" ]; do
    "$txc" run --time "$@" "$file" 2>"$tmp.e" >/dev/null || { cat "$tmp.e" >&2; exit 1; }
    tr '\n' ' ' < "$tmp.e" |
      sed -n 's/.*run \([0-9.]*\) ms (backend.*compiled in \([0-9.]*\) ms.*runs taking \([0-9.]*\) ms.*/\1 \2 \3/p' |
      awk -v b="$(sed -n 's/.*blas:.* taking \([0-9.]*\) ms.*/\1/p' "$tmp.e")" \
          '{printf "%.1f %.1f %.2f\n", $1 - $2, $2, $3 + b}' >> "$tmp"
    i=$((i + 1))
done
med() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "$(cut -d' ' -f1 "$tmp" | med) $(cut -d' ' -f2 "$tmp" | med) $(cut -d' ' -f3 "$tmp" | med)"
