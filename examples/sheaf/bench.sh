#!/bin/sh
# bench.sh [TXC] -- one sheaf-diffusion step, n = 300 nodes (3 components),
# E = 600 edges, d = 4, 16 channels: edge-wise (smart.tx: gather, d x d
# maps, scatter) against the dense nd x nd normalised Laplacian (naive.tx:
# L = delta^T delta assembled, then applied).  Medians over $REPEAT
# (default 3) runs of `txc run --time`, in ms: EXEC (the run less JIT
# compilation), COMPILE, KERNELS (compiled kernels + BLAS).
set -u
here=$(cd "$(dirname "$0")" && pwd)
txc=${1:-$here/../../build/txc}
case $txc in /*) ;; *) txc=$(pwd)/$txc ;; esac
printf '%-12s %8s %8s %8s  %s\n' route exec compile kernels "Y[0,0,0]"
for r in smart naive; do
    y=$("$txc" run "$here/$r.tx" | sed -n 's/.*Y\[0,0,0\] = \([^ ]*\).*/\1/p')
    set -- $(sh "$here/../timeit.sh" "$txc" "$here/$r.tx")
    printf '%-12s %8s %8s %8s  %s\n' "$r.tx" "$1" "$2" "$3" "$y"
done
