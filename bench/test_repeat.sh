#!/bin/sh
# test_repeat.sh TXC -- `txc run --repeat N` (the benchmark's timing loop):
# the same output as a plain run (inputs and trailing prints/saves run once),
# one "txc: repeat:" line with --time naming the timed statements, no
# kernels compiled during the timed runs, and exit 2 for bad counts.
set -u
txc=$1
case $txc in /*) ;; *) txc=$(pwd)/$txc ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/txc-repeat.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
cat > p.tx <<'TX'
let n = 40
A = randn(n, n, seed=1)
B = rand(n, n, seed=2)
C[i,j] = A[i,k]*B[k,j]
D[i] = exp(sum[j](C[i,j]) / n)
s = sum(D)
print s
print C[1,2]
save("d.npy", D)
TX
fail() { echo "FAIL: $*" >&2; exit 1; }
"$txc" run p.tx > plain.out 2>plain.err || fail "plain run: $(cat plain.err)"
"$txc" run p.tx --repeat 3 --time > rep.out 2> rep.err || fail "--repeat run: $(cat rep.err)"
cmp -s plain.out rep.out || fail "--repeat changed the output: $(cat plain.out) vs $(cat rep.out)"
test "$(grep -c '^txc: repeat:' rep.err)" = 1 || fail "no single repeat line: $(cat rep.err)"
grep -q 'set-up [0-9.]* ms (3 statements)' rep.err || fail "set-up is not the 3 input statements: $(cat rep.err)"
grep -q '3 timed runs of lines 4-6: median [0-9.]* ms, min [0-9.]* ms, process cpu median [0-9.]* ms (0 kernels compiled during them)' rep.err ||
    fail "timed runs are not lines 4-6 without new kernels: $(cat rep.err)"
test -f d.npy || fail "the trailing save did not run"
"$txc" run p.tx --repeat 2 --backend interp > interp.out 2>&1 || fail "--repeat on the evaluator: $(cat interp.out)"
for bad in 0 -1 x 1.5; do
    "$txc" run p.tx --repeat "$bad" > /dev/null 2>&1
    test $? = 2 || fail "--repeat $bad should be a usage error (exit 2)"
done
# a trailing assert whose condition needs temporaries (%1 = A*2, %2 = allclose(..))
cat > a.tx <<'TX'
A = randn(4, 4, seed=1)
B[i,j] = A[i,j] * 2
assert(allclose(B, A * 2))
print "ok"
TX
"$txc" run a.tx --repeat 3 --time > a.out 2> a.err || fail "--repeat with a trailing assert: $(cat a.err)"
grep -q '3 timed runs of lines 2-2' a.err || fail "the assert's temporaries are not in the trailer: $(cat a.err)"
# the body's statements fuse as in a plain run: A is dead after s, and s
# is read by the trailer (the fuser must not drop it)
cat > f.tx <<'TX'
X = randn(64, 64, seed=1)
A[i,j] = exp(X[i,j])
s[i] = A[i,j]
print s[0]
TX
"$txc" run f.tx > f1.out 2>&1 || fail "plain fused run: $(cat f1.out)"
"$txc" run f.tx --repeat 2 --time > f2.out 2> f2.err || fail "--repeat fused run: $(cat f2.err)"
cmp -s f1.out f2.out || fail "--repeat changed the fused output: $(cat f1.out) vs $(cat f2.out)"
grep -q 'fuse: 3 groups fused (6 statements,' f2.err || fail "--repeat did not fuse the body each run: $(cat f2.err)"
# an input made through a temporary (%1 = rand(10), then X = %1 * 4)
printf 'X = rand(10, seed=3) * 4\nY = X + 1\nprint Y[0]\n' > t.tx
"$txc" run t.tx > t1.out 2>&1 || fail "plain run: $(cat t1.out)"
"$txc" run t.tx --repeat 2 > t2.out 2>&1 || fail "--repeat with an input through a temporary: $(cat t2.out)"
cmp -s t1.out t2.out || fail "--repeat changed the output: $(cat t1.out) vs $(cat t2.out)"
"$txc" run p.tx --repeat > /dev/null 2>&1
test $? = 2 || fail "--repeat without a value should be a usage error"
exit 0
