#!/bin/sh
# numpy_crosscheck.sh TXC TESTSDIR -- compare txc against numpy on the same inputs.
#
# Each case is a tx program that saves its inputs and outputs as .npy files;
# a Python checker loads the inputs, recomputes the outputs with numpy
# (np.einsum, explicit loops) and compares.  One case also compares txc's
# printing of random tensors with numpy's str().  Needs /usr/bin/python3 with
# numpy (Debian: python3-numpy, installed by `make deps`); without it the
# script says so and exits 0.
set -u
if [ $# -ne 2 ]; then echo "usage: numpy_crosscheck.sh TXC TESTSDIR" >&2; exit 2; fi
txc=$1
case $txc in /*) ;; *) txc=$(pwd)/$txc ;; esac
py=/usr/bin/python3
if [ ! -x "$py" ] || ! "$py" -c 'import numpy' 2>/dev/null; then
    echo "skipped: numpy not available (install python3-numpy)"
    exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/txc-np.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
cd "$tmp" || exit 1
failures=0
cases=0

# check NAME: runs NAME.tx with txc, then NAME.py with python
check() {
    cases=$((cases + 1))
    timeout 120 "$txc" run "$1.tx" </dev/null >"$1.stdout" 2>"$1.stderr"
    rc=$?
    if [ $rc -ne 0 ]; then
        echo "FAIL: $1: txc exit status $rc" >&2
        sed 's/^/    /' "$1.stderr" >&2
        failures=$((failures + 1))
        return
    fi
    if ! "$py" "$1.py" >"$1.pyout" 2>&1; then
        echo "FAIL: $1: numpy disagrees" >&2
        sed 's/^/    /' "$1.pyout" >&2
        failures=$((failures + 1))
        return
    fi
    echo "ok: $1"
}

# ---- the LANGUAGE.md first program (triple-wise attention) ---------------------
cat >attention3.tx <<'TX'
let n = 16
let d = 4
Q  = randn(n, d, seed=1)
K1 = randn(n, d, seed=2)
K2 = randn(n, d, seed=3)
V1 = randn(n, d, seed=4)
V2 = randn(n, d, seed=5)
A[i,j,k] = exp(sum[a](Q[i,a] * K1[j,a] * K2[k,a]) / d)
D[i]     = A[i,j,k]
O[i,b]   = A[i,j,k] * V1[j,b] * V2[k,b] / D[i]
save("Q.npy", Q); save("K1.npy", K1); save("K2.npy", K2); save("V1.npy", V1); save("V2.npy", V2)
save("attention.npy", O)
save("D.npy", D)
TX
cat >attention3.py <<'PY'
import numpy as np
Q, K1, K2, V1, V2 = (np.load(f + ".npy") for f in ("Q", "K1", "K2", "V1", "V2"))
d = Q.shape[1]
A = np.exp(np.einsum("ia,ja,ka->ijk", Q, K1, K2) / d)
D = A.sum(axis=(1, 2))
O = np.einsum("ijk,jb,kb->ib", A, V1, V2) / D[:, None]
got = np.load("attention.npy")
assert got.shape == (16, 4) and got.dtype == np.float64, (got.shape, got.dtype)
assert np.allclose(np.load("D.npy"), D, rtol=1e-12), "D differs"
assert np.allclose(got, O, rtol=1e-10, atol=1e-12), np.abs(got - O).max()
PY
check attention3

# ---- the LANGUAGE.md def attention example --------------------------------------
cat >attention_def.tx <<'TX'
def attention(Q[n,d], K[n,d], V[n,e]) -> O[n,e] {
  S[i,j] = exp(sum[a](Q[i,a]*K[j,a]))
  O[i,b] = S[i,j] * V[j,b] / sum[j](S[i,j])
}
Q = randn(20, 8, seed=7) / 3
K = randn(20, 8, seed=8) / 3
V = randn(20, 5, seed=9)
O = attention(Q, K, V)
save("q.npy", Q); save("k.npy", K); save("v.npy", V); save("o.npy", O)
TX
cat >attention_def.py <<'PY'
import numpy as np
Q, K, V = np.load("q.npy"), np.load("k.npy"), np.load("v.npy")
S = np.exp(Q @ K.T)
O = (S / S.sum(axis=1, keepdims=True)) @ V
got = np.load("o.npy")
assert got.shape == (20, 5), got.shape
assert np.allclose(got, O, rtol=1e-12, atol=1e-14), np.abs(got - O).max()
PY
check attention_def

# ---- contractions and the implicit-summation rule -------------------------------
cat >contractions.tx <<'TX'
A = randn(3, 4, seed=1)
B = randn(4, 5, seed=2)
C = randn(3, 5, seed=3)
T = randn(2, 3, 4, seed=4)
S[i,j] = A[i,k]*B[k,j] + C[i,j]
S1[i,j] = sum[k](A[i,k]*B[k,j]) + C[i,j]
U[b,j] = T[b,i,k] * A[i,k] * B[k,j]
R = randn(2, 3, 3, seed=5)
tr = R[b,i,i]
P[i,j,k] = A[i,k] * B[k,j]
M[j] = max[i,k](P[i,j,k])
m[j] = min[i,k](P[i,j,k])
pr[i] = prod[k](A[i,k])
save("A.npy", A); save("B.npy", B); save("C.npy", C); save("T.npy", T)
save("R.npy", R); save("S.npy", S); save("S1.npy", S1); save("U.npy", U); save("tr.npy", tr)
save("M.npy", M); save("m.npy", m); save("pr.npy", pr)
TX
cat >contractions.py <<'PY'
import numpy as np
A, B, C, T = (np.load(f + ".npy") for f in "ABCT")
def same(name, want):
    got = np.load(name + ".npy")
    assert got.shape == np.shape(want), (name, got.shape, np.shape(want))
    assert np.allclose(got, want, rtol=1e-12, atol=1e-13), (name, np.abs(got - want).max())
same("S", A @ B + 4 * C)              # C added once per k (k has 4 values)
same("S1", A @ B + C)
same("U", np.einsum("bik,ik,kj->bj", T, A, B))
same("tr", np.float64(np.einsum("bii->", np.load("R.npy"))))
P = np.einsum("ik,kj->ijk", A, B)
same("M", P.max(axis=(0, 2)))
same("m", P.min(axis=(0, 2)))
same("pr", A.prod(axis=1))
PY
check contractions

# ---- valid convolutions (affine subscripts) -------------------------------------
cat >convolution.tx <<'TX'
X = randn(20, seed=11)
W = randn(5, seed=12)
Y[i] = X[i+k] * W[k]
Z[i] = X[2*i+k] * W[k]
D[i] = X[i+1] - X[i-1]
I = randn(9, 10, seed=13)
K = randn(3, 4, seed=14)
O[i,j] = I[i+a, j+b] * K[a,b]
save("X.npy", X); save("W.npy", W); save("Y.npy", Y); save("Z.npy", Z); save("D.npy", D)
save("I.npy", I); save("K.npy", K); save("O.npy", O)
TX
cat >convolution.py <<'PY'
import numpy as np
X, W, I, K = (np.load(f + ".npy") for f in "XWIK")
def same(name, want):
    got = np.load(name + ".npy")
    assert got.shape == want.shape, (name, got.shape, want.shape)
    assert np.allclose(got, want, rtol=1e-12, atol=1e-13), (name, np.abs(got - want).max())
same("Y", np.convolve(X, W[::-1], mode="valid"))
n = (len(X) - len(W)) // 2 + 1
same("Z", np.array([X[2 * i:2 * i + len(W)] @ W for i in range(n)]))
same("D", X[2:] - X[:-2])
O = np.array([[np.sum(I[i:i + 3, j:j + 4] * K) for j in range(10 - 4 + 1)] for i in range(9 - 3 + 1)])
same("O", O)
PY
check convolution

# ---- dtypes written by save ------------------------------------------------------
cat >dtypes.tx <<'TX'
X = reshape(arange(6), 2, 3) / 3
save("f64.npy", X)
save("f32.npy", cast(X, "f32"))
save("c128.npy", X * (1 + 2j))
save("c64.npy", cast(X * (1 - 1j), "c64"))
save("scalar.npy", sum(X))
save("r3.npy", reshape(arange(24), 2, 3, 4))
TX
cat >dtypes.py <<'PY'
import numpy as np
X = np.arange(6.0).reshape(2, 3) / 3
def same(name, dtype, want):
    got = np.load(name + ".npy")
    assert got.dtype == np.dtype(dtype), (name, got.dtype)
    assert got.shape == np.shape(want), (name, got.shape)
    assert np.array_equal(got, np.asarray(want, dtype=dtype)), (name, got)
same("f64", "<f8", X)
same("f32", "<f4", X.astype(np.float32))
same("c128", "<c16", X * (1 + 2j))
same("c64", "<c8", (X * (1 - 1j)).astype(np.complex64))
same("scalar", "<f8", np.float64(5.0))
same("r3", "<f8", np.arange(24.0).reshape(2, 3, 4))
with open("f64.npy", "rb") as f:
    head = f.read(10)
assert head[:8] == b"\x93NUMPY\x01\x00", head   # format 1.0
PY
check dtypes

# ---- printing of random tensors against numpy's str() -------------------------------
cat >printing.tx <<'TX'
A = randn(3, 4, seed=21)
B = rand(5, seed=22) * 1000
C = randn(2, 2, 2, seed=23) / 1000
E = randn(40, 30, seed=24)
F = cast(randn(4, seed=25), "f32")
Z = randn(3, seed=26) + 1j * randn(3, seed=27)
s = sum(A)
print A
print B
print C
print E
print F
print Z
print s
save("A.npy", A); save("B.npy", B); save("C.npy", C); save("E.npy", E)
save("F.npy", F); save("Z.npy", Z); save("s.npy", s)
TX
cat >printing.py <<'PY'
import numpy as np
names = {np.float64: "f64", np.float32: "f32", np.complex128: "c128", np.complex64: "c64"}
def show(a):
    if a.ndim == 0:
        return repr(a[()])
    return str(a) + " " + names[a.dtype.type] + "[" + ",".join(map(str, a.shape)) + "]"
want = "\n".join(show(np.load(n + ".npy")) for n in ("A", "B", "C", "E", "F", "Z", "s")) + "\n"
got = open("printing.stdout").read()
if got != want:
    import difflib
    print("".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), "numpy", "txc")))
    raise SystemExit(1)
PY
check printing

if [ $failures -ne 0 ]; then
    echo "numpy_crosscheck: $failures of $cases cases failed" >&2
    exit 1
fi
echo "numpy_crosscheck: all $cases cases agree with numpy"
exit 0
