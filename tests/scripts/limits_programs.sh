#!/bin/sh
# limits_programs.sh TXC TESTSDIR -- programs at the edge of txc's limits run
# correctly on both backends.
#
# Each program below asserts its own results and must exit 0 with
# `txc run` (the JIT) and with `txc run --backend interp` (the reference
# evaluator).  They are regression inputs for bugs found by fuzzing and by
# the sanitizer build: the interesting failures are undefined behaviour
# (caught when TXC is the ASan/UBSan build of `make test-sanitize`), a
# crash, a hang or a wrong value.  TESTSDIR is unused.
#   stride_overflow   a subscript coefficient near 2^52 on an index whose
#                     range is a single value, times a large row stride:
#                     ir/lir.c multiplied coefficient and stride in int64
#                     (signed overflow) before checking anything
#   rank_32           a tensor of the largest rank, in index notation and
#                     whole-tensor arithmetic
#   loops_at_limit    32 nested loops (the nesting limit) of one iteration
#   big_constants     subscripts and sizes written with large whole numbers
#                     that fold to small ones
#   empty_huge        tensors with no elements but sizes whose product
#                     overflows 64 bits (0 x 2^32 x 2^32 x 2^32): ir/lir.c
#                     computed their strides with signed overflow
set -u
if [ $# -ne 2 ]; then echo "usage: limits_programs.sh TXC TESTSDIR" >&2; exit 2; fi
txc=$1
case $txc in /*) ;; *) txc=$(pwd)/$txc ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/txc-limprog.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
cd "$tmp" || exit 1

cat >stride_overflow.tx <<'EOF'
X = ones(2, 1000000)
Y[j] = X[4503599627370496*i, j]
assert sum(Y) == 1000000
Z[i,j] = X[4503599627370496*i, j]
assert dim(Z, 0) == 1
assert sum(Z) == 1000000
W[j] = X[1 + 4503599627370496*i, j] * 2
assert sum(W) == 2000000
EOF

{
    printf 'A = ones('
    i=0; while [ $i -lt 31 ]; do printf '1, '; i=$((i + 1)); done
    printf '2)\n'
    printf 'B['
    i=0; while [ $i -lt 31 ]; do printf 'i%d, ' $i; i=$((i + 1)); done
    printf 'i31] = 2 * A['
    i=0; while [ $i -lt 31 ]; do printf 'i%d, ' $i; i=$((i + 1)); done
    printf 'i31]\n'
    printf 'C = A + B\n'
    printf 'assert sum(C) == 6\n'
} >rank_32.tx

{
    echo 'x = 0'
    i=0; while [ $i -lt 32 ]; do echo "for t$i in 0..1 {"; i=$((i + 1)); done
    echo 'x = x + 1'
    i=0; while [ $i -lt 32 ]; do echo '}'; i=$((i + 1)); done
    echo 'assert x == 1'
} >loops_at_limit.tx

cat >big_constants.tx <<'EOF'
X = arange(10)
Y[i] = X[i + 9007199254740992 - 9007199254740992]
assert sum(Y) == 45
Z[i] = X[2*i + 4503599627370496 - 4503599627370496]
assert dim(Z, 0) == 5
let n = 4503599627370496
W[i] = X[i + n - n + 1]
assert dim(W, 0) == 9
assert W[0] == 1
EOF

cat >empty_huge.tx <<'EOF'
A = zeros(0, 4294967296, 4294967296, 4294967296)
B[i,j,k,l] = A[i,j,k,l] + 1
assert sum(B) == 0
C = A * 2 + 1
assert dim(C, 3) == 4294967296
D = reshape(zeros(0), 4294967296, 4294967296, 4294967296, 0)
assert sum(D) == 0
EOF

failures=0
count=0
for f in stride_overflow rank_32 loops_at_limit big_constants empty_huge; do
    for backend in jit interp; do
        count=$((count + 1))
        timeout 60 "$txc" run --backend "$backend" "$f.tx" </dev/null >"$f.out" 2>"$f.err"
        rc=$?
        if [ $rc -ne 0 ]; then
            echo "FAIL: $f ($backend): exit status $rc" >&2
            sed 's/^/    /' "$f.err" | head -n 20 >&2
            failures=$((failures + 1))
        fi
    done
done
if [ $failures -ne 0 ]; then
    echo "limits_programs: $failures of $count runs failed" >&2
    exit 1
fi
echo "limits_programs: all $count runs passed"
exit 0
