#!/bin/sh
# run.sh TXC [REPEAT] -- where BLAS starts to beat the JIT's loop nests.
#
# For each shape, one statement is run REPEAT times in one process
# (txc run --repeat: kernels compiled and planned once, caches warm) two
# ways: JIT loops (--no-blas), and BLAS forced (TXC_BLAS_CROSSOVER=0).
# Prints the median (and min) microseconds per statement (evaluator overhead
# included, which both pay) and the multiply-adds per BLAS call.  The
# crossover in ir/blas.c (BLAS_CROSSOVER) is set from these numbers.
set -eu
txc=${1:?usage: run.sh TXC [REPEAT]}
rep=${2:-2000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

shape() {  # shape NAME MADDS_PER_CALL PROGRAM
    printf '%s\n' "$3" > "$tmp/p.tx"
    loop=$("$txc" run "$tmp/p.tx" --no-blas --repeat "$rep" --time 2>&1 >/dev/null |
           sed -n 's/.*median \([0-9.e+-]*\) ms, min \([0-9.e+-]*\) ms.*/\1 \2/p')
    blas=$(TXC_BLAS_CROSSOVER=0 "$txc" run "$tmp/p.tx" --repeat "$rep" --time 2>&1 >/dev/null |
           sed -n 's/.*median \([0-9.e+-]*\) ms, min \([0-9.e+-]*\) ms.*/\1 \2/p')
    set -- "$1" "$2" $loop $blas
    printf '%-24s madds/call %9s   loops %9.1f us (min %9.1f)   blas %9.1f us (min %9.1f)\n' "$1" "$2" \
        "$(echo "$3 * 1000" | bc -l)" "$(echo "$4 * 1000" | bc -l)" \
        "$(echo "$5 * 1000" | bc -l)" "$(echo "$6 * 1000" | bc -l)"
}

for n in 4 8 12 16 24 32 48 64 96 128; do
    shape "gemm n=$n" $((n * n * n)) "A = randn($n, $n, seed=1)
B = randn($n, $n, seed=2)
C[i,j] = A[i,k] * B[k,j]
print C[0,0]"
done
for n in 16 32 64 128 256 512; do
    shape "gemv n=$n" $((n * n)) "A = randn($n, $n, seed=1)
x = randn($n, seed=2)
y[i] = A[i,k] * x[k]
print y[0]"
done
for n in 4 8 16 32; do
    shape "batched b=64 n=$n" $((n * n * n)) "A = randn(64, $n, $n, seed=1)
B = randn(64, $n, $n, seed=2)
C[b,i,j] = A[b,i,k] * B[b,k,j]
print C[0,0,0]"
done
for n in 8 16 32 64; do
    shape "gemm 2000x$n x ${n}x$n" $((2000 * n * n)) "A = randn(2000, $n, seed=1)
B = randn($n, $n, seed=2)
C[i,j] = A[i,k] * B[k,j]
print C[0,0]"
done
