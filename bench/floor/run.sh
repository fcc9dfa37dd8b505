#!/bin/sh
# bench/floor/run.sh [TXC] -- generated code vs gcc -O3 -march=native on the
# same naive loop nests (issue 3's performance floor).  Kernel time per run
# comes from `txc run --time` (the JIT's own clock around each kernel, the
# loop body runs 7 times and compiles once); each side is the median of 5
# invocations.  Prints a markdown table.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
txc=${1:-$here/../../build/txc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O3 -march=native -o "$tmp/naive" "$here/naive.c" -lm
med() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for i in 1 2 3 4 5; do "$tmp/naive"; done > "$tmp/c.txt"
echo "| kernel | gcc -O3 naive (ms) | txc JIT (ms) | ratio | JIT compile (ms/kernel) |"
echo "|---|---:|---:|---:|---:|"
for k in matmul conv1d elementwise rowsum; do
    c=$(awk -v k=$k '$1==k {print $2}' "$tmp/c.txt" | med)
    : > "$tmp/j.txt"; : > "$tmp/cc.txt"
    for i in 1 2 3 4 5; do
        "$txc" run --time "$here/$k.tx" 2>&1 >/dev/null | awk '
            /jit:/ { for (f = 1; f <= NF; f++) {
                       if ($f == "kernels") nk = $(f-1); if ($f == "compiled") cm = $(f+2);
                       if ($f == "runs") nr = $(f-1); if ($f == "taking") rm = $(f+1) }
                     print rm / nr > "/dev/stderr"; print cm / nk }' 2>>"$tmp/j.txt" >>"$tmp/cc.txt"
    done
    j=$(med < "$tmp/j.txt"); cc=$(med < "$tmp/cc.txt")
    awk -v k=$k -v c=$c -v j=$j -v cc=$cc 'BEGIN { printf "| %s | %.3f | %.3f | %.2f | %.1f |\n", k, c, j, j / c, cc }'
done
