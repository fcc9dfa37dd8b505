"""numpy_forms.py -- the benchmark workloads on the numpy side.

Every workload of ../shared/bench/README.md (and the linalg/FFT set of
issue 6) is described once here: how bench/run.py makes its inputs, the
numpy.einsum(optimize=True) form, and numpy's best hand-written form.
bench/run.py imports this module for the table of workloads and runs it as
a script, one process per (workload, form), so that each measurement has
its own peak RSS:

    python3 bench/numpy_forms.py WORKDIR NAME FORM MIN_REPS MAX_REPS BUDGET_S

loads WORKDIR/NAME/*.npy, runs the form once to warm up (workspace buffers
of the "preallocated" forms are allocated there), then times MIN_REPS..
MAX_REPS runs (stopping after BUDGET_S seconds once MIN_REPS are done),
writes the result to WORKDIR/NAME/numpy_FORM.npy and prints one JSON line
{"median_ms", "min_ms", "cpu_median_ms" (process CPU time, all
threads), "reps", "maxrss_kb"}.

Forms are functions f(inp, ws): inp maps input names to arrays, ws is a
dict kept across runs (preallocated temporaries).  Only python3 + numpy.
"""
import json
import os
import resource
import sys
import time

import numpy as np


def _rng(seed):
    return np.random.default_rng(seed)


def _randn(seed, *shape):
    return _rng(seed).standard_normal(shape)


def _spd(seed, n):
    g = _randn(seed, n, n)
    return g @ g.T / n + np.eye(n)


# ---- the forms -----------------------------------------------------------

def _gemm_best(x, ws):
    return x["A"] @ x["B"]


def _bgemm_best(x, ws):
    return np.matmul(x["A"], x["B"])


def _ccsd_best(x, ws):
    V, T = x["V"], x["T"]
    a, b, c, d = V.shape
    i, j = T.shape[2:]
    return (V.reshape(a * b, c * d) @ T.reshape(c * d, i * j)).reshape(a, b, i, j)


def _chain3_best(x, ws):
    return np.linalg.multi_dot([x["A"], x["B"], x["C"]])


def _mttkrp_best(x, ws):
    X, B, C = x["X"], x["B"], x["C"]
    i, j, k = X.shape
    kr = (B[:, None, :] * C[None, :, :]).reshape(j * k, B.shape[1])      # Khatri-Rao
    return X.reshape(i, j * k) @ kr


def _tucker_best(x, ws):
    X, U1, U2, U3 = x["X"], x["U1"], x["U2"], x["U3"]
    i, j, k = X.shape
    ra, rb, rc = U1.shape[1], U2.shape[1], U3.shape[1]
    t1 = (X.reshape(i * j, k) @ U3).reshape(i, j, rc)                   # [i,j,c]
    t2 = np.matmul(U2.T, t1)                                            # [i,b,c]
    return (U1.T @ t2.reshape(i, rb * rc)).reshape(ra, rb, rc)


def _graph_best(x, ws):
    X = x["X"]
    return ((X @ X) * X) @ X


def _tatt_einsum(x, ws):
    Q, K1, K2, V1, V2 = x["Q"], x["K1"], x["K2"], x["V1"], x["V2"]
    d = Q.shape[1]
    A = np.exp(np.einsum("ia,ja,ka->ijk", Q, K1, K2, optimize=True) / d)
    D = A.sum(axis=(1, 2))
    return np.einsum("ijk,jb,kb->ib", A, V1, V2, optimize=True) / D[:, None]


def _tatt_best(x, ws):
    Q, K1, K2, V1, V2 = x["Q"], x["K1"], x["K2"], x["V1"], x["V2"]
    n, d = Q.shape
    kr1 = (K1[:, None, :] * K2[None, :, :]).reshape(n * n, d)
    S = Q @ kr1.T                                                       # [i, (j,k)]
    S *= 1.0 / d
    np.exp(S, out=S)
    D = S.sum(axis=1)
    kr2 = (V1[:, None, :] * V2[None, :, :]).reshape(n * n, V1.shape[1])
    O = S @ kr2
    O /= D[:, None]
    return O


def _smatt_einsum(x, ws):
    Q, K, V = x["Q"], x["K"], x["V"]
    S = np.einsum("ia,ja->ij", Q, K, optimize=True) / 8
    E = np.exp(S - S.max(axis=1)[:, None])
    return np.einsum("ij,jb->ib", E, V, optimize=True) / E.sum(axis=1)[:, None]


def _smatt_best(x, ws):
    Q, K, V = x["Q"], x["K"], x["V"]
    S = Q @ K.T
    S *= 0.125
    S -= S.max(axis=1, keepdims=True)
    np.exp(S, out=S)
    O = S @ V
    O /= S.sum(axis=1, keepdims=True)
    return O


def _lse_best(x, ws):
    X = x["X"]
    if "T" not in ws:
        ws["T"] = np.empty_like(X)
    T = ws["T"]
    m = X.max(axis=1)
    np.subtract(X, m[:, None], out=T)
    np.exp(T, out=T)
    return np.log(T.sum(axis=1)) + m


def _elem_best(x, ws):
    X = x["X"]
    if "t1" not in ws:
        ws["t1"], ws["t2"], ws["Y"] = np.empty_like(X), np.empty_like(X), np.empty_like(X)
    t1, t2, Y = ws["t1"], ws["t2"], ws["Y"]
    np.exp(X, out=t1)
    np.sin(X, out=t2)
    np.multiply(t1, t2, out=t1)
    np.abs(X, out=t2)
    np.sqrt(t2, out=t2)
    np.add(t1, t2, out=Y)
    return Y


def _conv_einsum(x, ws):
    X, W = x["X"], x["W"]
    Xw = np.lib.stride_tricks.sliding_window_view(X, W.shape[2], axis=2)   # [b,c,i,k]
    return np.einsum("bcik,ock->boi", Xw, W, optimize=True)


def _conv_best(x, ws):
    X, W = x["X"], x["W"]                              # im2col: one (o, c*k) @ (c*k, i) per batch
    b, c, n = X.shape
    o, _, kk = W.shape
    cols = np.lib.stride_tricks.sliding_window_view(X, kk, axis=2).transpose(0, 1, 3, 2)
    return W.reshape(o, c * kk) @ cols.reshape(b, c * kk, n - kk + 1)


def _kron_forms(contract):
    def f(x, ws):
        K1, K2, Y = x["K1"], x["K2"], x["Y"]
        w1, U1 = np.linalg.eigh(K1)
        w2, U2 = np.linalg.eigh(K2)
        return contract(U1, U2, w1, w2, Y)
    return f


def _kron_ein(U1, U2, w1, w2, Y):
    T = np.einsum("ia,ij,jb->ab", U1, Y, U2, optimize=True)
    Z = T / (np.multiply.outer(w1, w2) + 0.1)
    return np.einsum("ia,ab,jb->ij", U1, Z, U2, optimize=True)


def _kron_hand(U1, U2, w1, w2, Y):
    Z = (U1.T @ Y @ U2) / (np.multiply.outer(w1, w2) + 0.1)
    return U1 @ Z @ U2.T


def _fft2conv_best(x, ws):
    a, b = x["A"], x["B"]
    return np.fft.irfft2(np.fft.rfft2(a) * np.fft.rfft2(b), s=a.shape)


def _fft2conv_plain(x, ws):
    return np.real(np.fft.ifft2(np.fft.fft2(x["A"]) * np.fft.fft2(x["B"])))


def _complex(seed, *shape):
    return _randn(seed, *shape) + 1j * _randn(seed + 100, *shape)


# ---- the table -----------------------------------------------------------
# inputs: name -> (lambda: array); einsum/best: forms (None: no such form);
# naive: the C column (bench/naive/naive.c or bench/linalg_direct.c:
# "naive" / "direct" / None); est_naive_ms: README's naive C time, used to
# decide how often to repeat it; readme_best_ms: numpy's best time on the
# reference machine (../shared/bench/README.md), shown next to ours as a
# measure of how loaded the machine was.

WORKLOADS = [
    dict(name="gemm", readme_best_ms=13.8, tx="gemm.tx", size="n=1024",
         inputs={"A": lambda: _randn(1, 1024, 1024), "B": lambda: _randn(2, 1024, 1024)},
         einsum=lambda x, ws: np.einsum("ik,kj->ij", x["A"], x["B"], optimize=True),
         best=_gemm_best, best_label="A@B", naive="naive", est_naive_ms=121),
    dict(name="batched_gemm", readme_best_ms=3.98, tx="batched_gemm.tx", size="b=64, n=128",
         inputs={"A": lambda: _randn(1, 64, 128, 128), "B": lambda: _randn(2, 64, 128, 128)},
         einsum=lambda x, ws: np.einsum("bik,bkj->bij", x["A"], x["B"], optimize=True),
         best=_bgemm_best, best_label="matmul", naive="naive", est_naive_ms=12),
    dict(name="ccsd_like", readme_best_ms=14.3, tx="ccsd_like.tx", size="a..d=40, i,j=20",
         inputs={"V": lambda: _randn(1, 40, 40, 40, 40), "T": lambda: _randn(2, 40, 40, 20, 20)},
         einsum=lambda x, ws: np.einsum("abcd,cdij->abij", x["V"], x["T"], optimize=True),
         best=_ccsd_best, best_label="reshape @", naive="naive", est_naive_ms=400),
    dict(name="chain3", readme_best_ms=0.044, tx="chain3.tx", size="2000x20, 20x2000, 2000x20",
         inputs={"A": lambda: _randn(1, 2000, 20), "B": lambda: _randn(2, 20, 2000),
                 "C": lambda: _randn(3, 2000, 20)},
         einsum=lambda x, ws: np.einsum("ij,jk,kl->il", x["A"], x["B"], x["C"], optimize=True),
         best=_chain3_best, best_label="multi_dot", naive="naive", est_naive_ms=1490),
    dict(name="mttkrp", readme_best_ms=8.4, tx="mttkrp.tx", size="200^3, r=16",
         inputs={"X": lambda: _randn(1, 200, 200, 200), "B": lambda: _randn(2, 200, 16),
                 "C": lambda: _randn(3, 200, 16)},
         einsum=lambda x, ws: np.einsum("ijk,jr,kr->ir", x["X"], x["B"], x["C"], optimize=True),
         best=_mttkrp_best, best_label="Khatri-Rao @", naive="naive", est_naive_ms=75),
    dict(name="tucker_ttm", readme_best_ms=1.22, tx="tucker_ttm.tx", size="128^3, ranks 16",
         inputs={"X": lambda: _randn(1, 128, 128, 128), "U1": lambda: _randn(2, 128, 16),
                 "U2": lambda: _randn(3, 128, 16), "U3": lambda: _randn(4, 128, 16)},
         einsum=lambda x, ws: np.einsum("ijk,ia,jb,kc->abc", x["X"], x["U1"], x["U2"], x["U3"],
                                        optimize=True),
         best=_tucker_best, best_label="matmul chain", naive="naive", est_naive_ms=5200),
    dict(name="graph_poly", readme_best_ms=3.19, tx="graph_poly.tx", size="256x256",
         inputs={"X": lambda: _randn(1, 256, 256) / 16},
         einsum=lambda x, ws: np.einsum("ik,kl,lj,il->ij", x["X"], x["X"], x["X"], x["X"], optimize=True),
         best=_graph_best, best_label="((X@X)*X)@X", naive="naive", est_naive_ms=5700),
    dict(name="tensor_attention_128", readme_best_ms=5.86, tx="tensor_attention.tx", size="n=128, d=16",
         inputs={"Q": lambda: _randn(1, 128, 16), "K1": lambda: _randn(2, 128, 16),
                 "K2": lambda: _randn(3, 128, 16), "V1": lambda: _randn(4, 128, 16),
                 "V2": lambda: _randn(5, 128, 16)},
         einsum=_tatt_einsum, best=_tatt_best, best_label="Khatri-Rao @, exp, @", naive="naive",
         est_naive_ms=39),
    dict(name="tensor_attention_256", tx="tensor_attention.tx", size="n=256, d=16",
         inputs={"Q": lambda: _randn(1, 256, 16), "K1": lambda: _randn(2, 256, 16),
                 "K2": lambda: _randn(3, 256, 16), "V1": lambda: _randn(4, 256, 16),
                 "V2": lambda: _randn(5, 256, 16)},
         einsum=_tatt_einsum, best=_tatt_best, best_label="Khatri-Rao @, exp, @", naive="naive",
         est_naive_ms=320),
    dict(name="softmax_attention", readme_best_ms=26.7, tx="softmax_attention.tx", size="n=2048, d=64",
         inputs={"Q": lambda: _randn(1, 2048, 64), "K": lambda: _randn(2, 2048, 64),
                 "V": lambda: _randn(3, 2048, 64)},
         einsum=_smatt_einsum, best=_smatt_best, best_label="@, in-place softmax", naive="naive",
         est_naive_ms=600),
    dict(name="logsumexp", readme_best_ms=34.4, tx="logsumexp.tx", size="4096x4096",
         inputs={"X": lambda: _randn(1, 4096, 4096)},
         einsum=None, best=_lse_best, best_label="preallocated temps", naive="naive", est_naive_ms=70),
    dict(name="elementwise", readme_best_ms=35.6, tx="elementwise.tx", size="1e7",
         inputs={"X": lambda: _randn(1, 10_000_000)},
         einsum=None, best=_elem_best, best_label="out= buffers", naive="naive", est_naive_ms=122),
    dict(name="conv1d", readme_best_ms=13.6, tx="conv1d.tx", size="b=8, c=o=32, len 4096, k=9",
         inputs={"X": lambda: _randn(1, 8, 32, 4096), "W": lambda: _randn(2, 32, 32, 9)},
         einsum=_conv_einsum, best=_conv_best, best_label="im2col @", naive="naive",
         est_naive_ms=195),
    dict(name="kron_solve", readme_best_ms=0.45, tx="kron_solve.tx", size="K1, K2 64x64 (system 4096)",
         inputs={"K1": lambda: _spd(1, 64), "K2": lambda: _spd(2, 64), "Y": lambda: _randn(3, 64, 64)},
         einsum=_kron_forms(_kron_ein), best=_kron_forms(_kron_hand), best_label="eigh route, @",
         naive=None, est_naive_ms=0),
    dict(name="fft2conv", readme_best_ms=17.6, tx="fft2conv.tx", size="512x512",
         inputs={"A": lambda: _randn(1, 512, 512), "B": lambda: _randn(2, 512, 512)},
         einsum=_fft2conv_plain, einsum_label="fft2/ifft2", best=_fft2conv_best, best_label="rfft2/irfft2",
         naive="direct", est_naive_ms=10),
    # issue 6: txc's LAPACK/FFTW builtins against direct C calls (bench/linalg_direct.c)
    dict(name="solve", tx="solve.tx", size="1000x1000, one rhs", group="linalg",
         inputs={"A": lambda: _randn(1, 1000, 1000), "b": lambda: _randn(2, 1000)},
         einsum=None, best=lambda x, ws: np.linalg.solve(x["A"], x["b"]), best_label="linalg.solve",
         naive="direct", est_naive_ms=30),
    dict(name="eigh", tx="eigh.tx", size="1000x1000", group="linalg",
         inputs={"A": lambda: _spd(1, 1000)},
         einsum=None, best=lambda x, ws: np.linalg.eigh(x["A"])[0], best_label="linalg.eigh",
         naive="direct", est_naive_ms=300),
    dict(name="svd", tx="svd.tx", size="1000x1000", group="linalg",
         inputs={"A": lambda: _randn(1, 1000, 1000)},
         einsum=None, best=lambda x, ws: np.linalg.svd(x["A"], full_matrices=False)[1],
         best_label="linalg.svd", naive="direct", est_naive_ms=600),
    dict(name="fft2", tx="fft2.tx", size="512x512 complex", group="linalg",
         inputs={"X": lambda: _complex(1, 512, 512)},
         einsum=None, best=lambda x, ws: np.fft.fft2(x["X"]), best_label="fft.fft2",
         naive="direct", est_naive_ms=5),
]

BY_NAME = {w["name"]: w for w in WORKLOADS}


def load_inputs(wdir, w):
    return {k: np.load(os.path.join(wdir, k + ".npy")) for k in w["inputs"]}


def main(argv):
    workdir, name, form = argv[1], argv[2], argv[3]
    min_reps, max_reps, budget = int(argv[4]), int(argv[5]), float(argv[6])
    w = BY_NAME[name]
    wdir = os.path.join(workdir, name)
    x = load_inputs(wdir, w)
    f = w[form]
    ws = {}
    out = f(x, ws)                       # warm-up (and workspace allocation)
    times, cpu = [], []
    t_start = time.perf_counter()
    while len(times) < max_reps and (len(times) < min_reps or time.perf_counter() - t_start < budget):
        t0, c0 = time.perf_counter(), time.process_time()
        out = f(x, ws)
        cpu.append(1e3 * (time.process_time() - c0))
        times.append(1e3 * (time.perf_counter() - t0))
    np.save(os.path.join(wdir, "numpy_%s.npy" % form), np.asarray(out))
    def median(v):
        v = sorted(v)
        return v[len(v) // 2] if len(v) % 2 else 0.5 * (v[len(v) // 2 - 1] + v[len(v) // 2])
    print(json.dumps({"median_ms": median(times), "min_ms": min(times), "cpu_median_ms": median(cpu),
                      "reps": len(times),
                      "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


if __name__ == "__main__":
    main(sys.argv)
