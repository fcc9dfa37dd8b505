#!/bin/sh
# bench.sh [TXC] -- NC1 of N = 4096 features in d = 1024 dimensions, K = 10
# classes: the thin-svd route (smart.tx, O(N d K)) against the dense
# d x d covariances and pseudo-inverse by eigh (naive.tx, O(N d^2 + d^3)).
# Medians over $REPEAT (default 3) runs of `txc run --time`, in ms: EXEC
# (the run less JIT compilation), COMPILE, KERNELS (compiled kernels + BLAS;
# LAPACK eigh/svd are in EXEC only).
set -u
here=$(cd "$(dirname "$0")" && pwd)
txc=${1:-$here/../../build/txc}
case $txc in /*) ;; *) txc=$(pwd)/$txc ;; esac
printf '%-12s %8s %8s %8s  %s\n' route exec compile kernels NC1
for r in smart naive; do
    v=$("$txc" run "$here/$r.tx" | sed -n 's/^NC1 [a-z]* \([^ ]*\).*/\1/p')
    set -- $(sh "$here/../timeit.sh" "$txc" "$here/$r.tx")
    printf '%-12s %8s %8s %8s  %s\n' "$r.tx" "$1" "$2" "$3" "$v"
done
