#!/bin/sh
# bench/floor/run.sh [TXC] -- generated code vs gcc -O3 -march=native on the
# same naive loop nests (issue 3's performance floor).  Kernel time per run
# comes from `txc run --time` (the JIT's own clock around each kernel, the
# loop body runs 7 times and compiles once); each side is the median of 5
# invocations, and the min over them is shown too (the machine is shared:
# the min is the steadier figure).  Contractions run as JIT loops
# (--no-blas): the floor is about generated code.  THREADS=N in the
# environment passes --threads N (default: txc's, all cores).  Prints a
# markdown table.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
txc=${1:-$here/../../build/txc}
threads=${THREADS:-}
topt=""
[ -n "$threads" ] && topt="--threads $threads"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O3 -march=native -o "$tmp/naive" "$here/naive.c" -lm
med() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
min() { sort -g | head -1; }
for i in 1 2 3 4 5; do "$tmp/naive"; done > "$tmp/c.txt"
echo "| kernel | gcc -O3 naive (ms) | txc JIT (ms) | ratio | min gcc / txc (ms) | min ratio | JIT compile (ms/kernel) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for k in matmul conv1d elementwise rowsum; do
    awk -v k=$k '$1==k {print $2}' "$tmp/c.txt" > "$tmp/ck.txt"
    c=$(med < "$tmp/ck.txt"); cmin=$(min < "$tmp/ck.txt")
    : > "$tmp/j.txt"; : > "$tmp/cc.txt"
    for i in 1 2 3 4 5; do
        # shellcheck disable=SC2086
        "$txc" run --no-blas --time $topt "$here/$k.tx" 2>&1 >/dev/null | awk '
            /jit:/ { for (f = 1; f <= NF; f++) {
                       if ($f == "kernels") nk = $(f-1); if ($f == "compiled") cm = $(f+2);
                       if ($f == "runs") nr = $(f-1); if ($f == "taking") rm = $(f+1) }
                     print rm / nr > "/dev/stderr"; print cm / nk }' 2>>"$tmp/j.txt" >>"$tmp/cc.txt"
    done
    j=$(med < "$tmp/j.txt"); jmin=$(min < "$tmp/j.txt"); cc=$(med < "$tmp/cc.txt")
    awk -v k=$k -v c=$c -v j=$j -v cm=$cmin -v jm=$jmin -v cc=$cc 'BEGIN {
        printf "| %s | %.3f | %.3f | %.2f | %.3f / %.3f | %.2f | %.1f |\n", k, c, j, j / c, cm, jm, jm / cm, cc }'
done
