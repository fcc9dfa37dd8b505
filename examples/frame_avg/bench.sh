#!/bin/sh
# bench.sh [TXC] -- time the exact frame average (smart.tx: 8 evaluations of
# phi per cloud) against Monte-Carlo group averaging over G = 256 random
# rotations (naive.tx), n = 20000 points, both on a cloud and a rotated +
# translated copy; prints each route's invariance error.  Medians over
# $REPEAT (default 3) runs of `txc run --time`, in ms: EXEC (the run less JIT
# compilation), COMPILE, KERNELS (compiled kernels + BLAS).
set -u
here=$(cd "$(dirname "$0")" && pwd)
txc=${1:-$here/../../build/txc}
case $txc in /*) ;; *) txc=$(pwd)/$txc ;; esac
printf '%-34s %8s %8s %8s  %s\n' route exec compile kernels "invariance error"
for r in smart naive; do
    err=$("$txc" run "$here/$r.tx" | sed -n 's/.*invariance error \([^ ]*\).*/\1/p')
    set -- $(sh "$here/../timeit.sh" "$txc" "$here/$r.tx")
    printf '%-34s %8s %8s %8s  %s\n' "$r.tx" "$1" "$2" "$3" "$err"
done
