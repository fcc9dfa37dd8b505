/*
 * linalg.c -- the linear-algebra builtins (solve, lstsq, inv, det,
 * cholesky, cho_solve, eigh, svd, qr) over LAPACKE, and txrt_gemm over
 * OpenBLAS's cblas for the planner.
 *
 * Every builtin works the same way: check the operands' ranks and shapes
 * (the runtime must be safe without the checker), pick the computing dtype
 * (promotion of the operands), copy the operands into fresh tensors of
 * that dtype (LAPACK overwrites its arguments; the copies are usually the
 * results themselves, so no further copy is made), call the row-major
 * LAPACKE_? routine for the dtype, and translate LAPACK's info into a
 * message in the program's terms.  LAPACKE's row-major drivers transpose
 * internally (an O(n^2) copy next to O(n^3) work); svd avoids even that by
 * factoring the column-major view A^T (see txrt_svd).  Matrices of size 0
 * are answered without calling LAPACK.
 *
 * Index positions in messages are 0-based, as tx indexes tensors
 * (LAPACK's info is 1-based).
 *
 * nan and inf: eigh, svd, lstsq and cholesky reject them up front ("A
 * contains nan at [1,0]"): their iterations cannot converge on them or
 * would misreport them as indefiniteness.  Everywhere else they propagate
 * into the result as in numpy.  LAPACKE's high-level drivers scan their
 * inputs for nan by default and answer with a negative info (an "illegal
 * argument") instead, so the runtime switches that scan off, once, before
 * its first LAPACKE call (LAPACKE_set_nancheck is process-wide; txc is its
 * only user in the process, and a C program embedding libtxrt that wants
 * the scan can switch it back on after calling into the runtime).
 *
 * Complex data is interleaved (re, im) pairs, the layout of C99 complex
 * numbers that LAPACKE uses for lapack_complex_double / _float.
 */
#include "txrt_linalg.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>
#include <lapacke.h>
#include <pthread.h>

#define ZP(t) ((lapack_complex_double *)(t)->data)
#define CP(t) ((lapack_complex_float *)(t)->data)
#define DP(t) ((double *)(t)->data)
#define SP(t) ((float *)(t)->data)

/* The LAPACK routine name for a dtype: prefix letter + stem ("dgesv"). */
static const char *routine(char *buf, size_t n, txrt_dtype dt, const char *real_stem, const char *cplx_stem) {
    static const char pre[] = { 'd', 's', 'z', 'c' };
    snprintf(buf, n, "%c%s", pre[dt], txrt_dtype_is_complex(dt) ? cplx_stem : real_stem);
    return buf;
}

static pthread_once_t nancheck_once = PTHREAD_ONCE_INIT;
static void nancheck_off(void) { LAPACKE_set_nancheck(0); }
/* Called on entry by every builtin here: see the nan paragraph above. */
/* OpenBLAS threads: blas_configured (txrt_blas_set_threads, else
 * OpenBLAS's default) for large products and every LAPACK call, one for
 * small products (see BLAS_THREAD_MIN).  The setting changes only when it
 * differs: switching to one thread and back around every small product
 * kept OpenBLAS's idle workers spinning (chain3 burnt twice its wall time
 * in CPU). */
static int blas_configured;    /* threads for large products; 0 = not asked yet */
static int blas_current;       /* what OpenBLAS was last told; 0 = unknown */

static void blas_use_threads(int n) {
    if (n == blas_current) return;
    openblas_set_num_threads(n);
    blas_current = n;
}

static void blas_all_threads(void) {
    if (!blas_configured) blas_configured = openblas_get_num_threads();
    blas_use_threads(blas_configured);
}

/* LAPACK on small matrices runs faster on one OpenBLAS thread: its
 * threaded level-2 steps (dsymv in dsytrd, ...) wait on each other.
 * Measured through numpy on the benchmark machine (2 cores, shared), one
 * thread against two: eigh 64x64 0.34 vs 0.48 ms, 128: 1.3 vs 1.8, 256:
 * 6.8 vs 7.7, 384: 15.1 vs 13.8; svd, solve and cholesky alike.  Below
 * LAPACK_THREAD_N rows and columns one thread is used. */
#define LAPACK_THREAD_N 320

bool txrt_lapack_is_small(const txrt_tensor *A) {
    if (!A) return false;
    if (A->rank < 2 || A->rank > TXRT_MAX_RANK) return true;   /* not a matrix: the call fails on one thread */
    int64_t n = A->shape[A->rank - 1];
    if (A->shape[A->rank - 2] > n) n = A->shape[A->rank - 2];
    return n < LAPACK_THREAD_N;
}

static void lapacke_init(const txrt_tensor *A) {
    pthread_once(&nancheck_once, nancheck_off);
    if (!blas_configured) blas_configured = openblas_get_num_threads();
    if (txrt_lapack_is_small(A)) blas_use_threads(1);
    else blas_all_threads();
}

/* ---- operand checks ------------------------------------------------------- */

static int check_present(txrt_ctx *ctx, const char *fn, const char *name, const txrt_tensor *t) {
    if (!t) return txrt_fail(ctx, "%s: %s is missing", fn, name);
    if ((unsigned)t->dtype > TXRT_C64) return txrt_fail(ctx, "%s: %s has an unknown dtype %d", fn, name, (int)t->dtype);
    return 0;
}

/* A rank-2 tensor whose dimensions fit LAPACK's 32-bit integers. */
static int check_matrix(txrt_ctx *ctx, const char *fn, const char *name, const txrt_tensor *t) {
    if (check_present(ctx, fn, name, t)) return -1;
    char sh[TXRT_MAX_RANK * 22 + 8];
    if (t->rank != 2)
        return txrt_fail(ctx, "%s: %s must be a matrix (rank 2), got shape %s", fn, name,
                         txrt_shape_str(t->rank, t->shape, sh, sizeof sh));
    if (t->shape[0] > INT_MAX || t->shape[1] > INT_MAX ||
        t->shape[0] * t->shape[1] > (int64_t)INT_MAX)
        return txrt_fail(ctx, "%s: %s of shape %s is too large for LAPACK (at most %d elements)", fn, name,
                         txrt_shape_str(t->rank, t->shape, sh, sizeof sh), INT_MAX);
    return 0;
}

static int check_square(txrt_ctx *ctx, const char *fn, const char *name, const txrt_tensor *t) {
    if (check_matrix(ctx, fn, name, t)) return -1;
    char sh[64];
    if (t->shape[0] != t->shape[1])
        return txrt_fail(ctx, "%s: %s must be square, got %s", fn, name,
                         txrt_shape_str(t->rank, t->shape, sh, sizeof sh));
    return 0;
}

/* B of shape (rows,) or (rows, k), the right-hand side for a matrix A
 * called `aname` with `rows` rows. */
static int check_rhs(txrt_ctx *ctx, const char *fn, const txrt_tensor *A, const char *aname,
                     const txrt_tensor *B) {
    if (check_present(ctx, fn, "B", B)) return -1;
    char sh[TXRT_MAX_RANK * 22 + 8], ash[64];
    if (B->rank != 1 && B->rank != 2)
        return txrt_fail(ctx, "%s: B must be a vector or a matrix (rank 1 or 2), got shape %s", fn,
                         txrt_shape_str(B->rank, B->shape, sh, sizeof sh));
    if (B->shape[0] != A->shape[0])
        return txrt_fail(ctx, "%s: B must have %lld rows to match %s %s, got shape %s", fn,
                         (long long)A->shape[0], aname, txrt_shape_str(A->rank, A->shape, ash, sizeof ash),
                         txrt_shape_str(B->rank, B->shape, sh, sizeof sh));
    if (B->rank == 2 && (B->shape[1] > INT_MAX || B->shape[0] * B->shape[1] > (int64_t)INT_MAX))
        return txrt_fail(ctx, "%s: B of shape %s is too large for LAPACK (at most %d elements)", fn,
                         txrt_shape_str(B->rank, B->shape, sh, sizeof sh), INT_MAX);
    return 0;
}

/* nan or inf in A (only the lower triangle when lower_only) is an error:
 * the iterative algorithms cannot converge on it. */
static int check_finite(txrt_ctx *ctx, const char *fn, const char *name, const txrt_tensor *A, int lower_only) {
    int64_t rows = A->shape[0], cols = A->shape[1];
    for (int64_t i = 0; i < rows; i++) {
        int64_t jend = lower_only ? (i + 1 < cols ? i + 1 : cols) : cols;
        for (int64_t j = 0; j < jend; j++) {
            double re, im;
            txrt_get(A, i * cols + j, &re, &im);
            if (!isfinite(re) || !isfinite(im))
                return txrt_fail(ctx, "%s: %s contains %s at [%lld,%lld]", fn, name,
                                 isnan(re) || isnan(im) ? "nan" : "inf", (long long)i, (long long)j);
        }
    }
    return 0;
}

/* A negative info: LAPACKE's own failures or an argument LAPACK rejected
 * (a bug here, reported as such rather than hidden). */
static int lapack_error(txrt_ctx *ctx, const char *fn, const char *rname, int info) {
    if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR)
        return txrt_fail(ctx, "%s: out of memory for LAPACK's workspace (%s)", fn, rname);
    return txrt_fail(ctx, "%s: internal error: LAPACK %s rejected argument %d", fn, rname, -info);
}

static int lapack_ld(int64_t cols) { return cols > 1 ? (int)cols : 1; }

/* The real dtype of the same precision. */
static txrt_dtype real_of(txrt_dtype dt) {
    return dt == TXRT_F32 || dt == TXRT_C64 ? TXRT_F32 : TXRT_F64;
}

/* ---- solve ------------------------------------------------------------------ */

static int singular(txrt_ctx *ctx, const char *fn, int info) {
    return txrt_fail(ctx, "%s: matrix is singular (U[%d,%d] is exactly zero)", fn, info - 1, info - 1);
}

txrt_tensor *txrt_solve(txrt_ctx *ctx, const txrt_tensor *A, const txrt_tensor *B) {
    lapacke_init(A);
    if (check_square(ctx, "solve", "A", A) || check_rhs(ctx, "solve", A, "A", B)) return NULL;
    txrt_dtype dt = txrt_dtype_promote(A->dtype, B->dtype);
    int n = (int)A->shape[0];
    int nrhs = B->rank == 1 ? 1 : (int)B->shape[1];
    txrt_tensor *x = txrt_tensor_cast(ctx, B, dt);
    if (!x) return NULL;
    if (n == 0 || nrhs == 0) return x;        /* nothing to solve for (numpy does not check A either) */
    txrt_tensor *a = txrt_tensor_cast(ctx, A, dt);
    lapack_int *ipiv = a ? malloc((size_t)n * sizeof *ipiv) : NULL;
    if (!ipiv) {
        if (a) txrt_fail(ctx, "solve: out of memory");
        txrt_release(a);
        txrt_release(x);
        return NULL;
    }
    int ldb = lapack_ld(nrhs), info = 0;
    switch (dt) {
    case TXRT_F64: info = LAPACKE_dgesv(LAPACK_ROW_MAJOR, n, nrhs, DP(a), n, ipiv, DP(x), ldb); break;
    case TXRT_F32: info = LAPACKE_sgesv(LAPACK_ROW_MAJOR, n, nrhs, SP(a), n, ipiv, SP(x), ldb); break;
    case TXRT_C128: info = LAPACKE_zgesv(LAPACK_ROW_MAJOR, n, nrhs, ZP(a), n, ipiv, ZP(x), ldb); break;
    case TXRT_C64: info = LAPACKE_cgesv(LAPACK_ROW_MAJOR, n, nrhs, CP(a), n, ipiv, CP(x), ldb); break;
    }
    free(ipiv);
    txrt_release(a);
    if (info != 0) {
        char r[16];
        if (info > 0) singular(ctx, "solve", info);
        else lapack_error(ctx, "solve", routine(r, sizeof r, dt, "gesv", "gesv"), info);
        txrt_release(x);
        return NULL;
    }
    return x;
}

/* ---- lstsq ------------------------------------------------------------------ */

txrt_tensor *txrt_lstsq(txrt_ctx *ctx, const txrt_tensor *A, const txrt_tensor *B) {
    lapacke_init(A);
    if (check_matrix(ctx, "lstsq", "A", A) || check_rhs(ctx, "lstsq", A, "A", B)) return NULL;
    if (check_finite(ctx, "lstsq", "A", A, 0)) return NULL;
    txrt_dtype dt = txrt_dtype_promote(A->dtype, B->dtype);
    int m = (int)A->shape[0], n = (int)A->shape[1];
    int nrhs = B->rank == 1 ? 1 : (int)B->shape[1];
    int64_t xshape[2] = { n, nrhs };
    txrt_tensor *x = txrt_tensor_new(ctx, dt, B->rank, xshape);
    if (!x) return NULL;
    if (m == 0 || n == 0 || nrhs == 0) return x;            /* the minimum-norm solution is 0 */
    /* gelsd wants B in a max(m, n) x nrhs block and returns x in its first n rows. */
    int mx = m > n ? m : n;
    if ((int64_t)mx * nrhs > (int64_t)INT_MAX) {
        txrt_fail(ctx, "lstsq: a (%d, %d) right-hand side block is too large for LAPACK", mx, nrhs);
        txrt_release(x);
        return NULL;
    }
    int64_t bshape[2] = { mx, nrhs };
    size_t esz = txrt_dtype_size(dt);
    txrt_tensor *a = txrt_tensor_cast(ctx, A, dt);
    txrt_tensor *b = a ? txrt_tensor_new(ctx, dt, 2, bshape) : NULL;
    txrt_tensor *bc = b ? txrt_tensor_cast(ctx, B, dt) : NULL;
    int k = m < n ? m : n;
    void *s = bc ? malloc((size_t)k * (real_of(dt) == TXRT_F32 ? sizeof(float) : sizeof(double))) : NULL;
    if (!s) {
        if (bc) txrt_fail(ctx, "lstsq: out of memory");
        txrt_release(a); txrt_release(b); txrt_release(bc); txrt_release(x);
        return NULL;
    }
    memcpy(b->data, bc->data, (size_t)m * (size_t)nrhs * esz);
    txrt_release(bc);
    int ldb = lapack_ld(nrhs), info = 0;
    lapack_int rank = 0;
    double eps = real_of(dt) == TXRT_F32 ? (double)FLT_EPSILON : DBL_EPSILON;
    double rcond = eps * mx;
    switch (dt) {
    case TXRT_F64: info = LAPACKE_dgelsd(LAPACK_ROW_MAJOR, m, n, nrhs, DP(a), n, DP(b), ldb, s, rcond, &rank); break;
    case TXRT_F32: info = LAPACKE_sgelsd(LAPACK_ROW_MAJOR, m, n, nrhs, SP(a), n, SP(b), ldb, s, (float)rcond, &rank); break;
    case TXRT_C128: info = LAPACKE_zgelsd(LAPACK_ROW_MAJOR, m, n, nrhs, ZP(a), n, ZP(b), ldb, s, rcond, &rank); break;
    case TXRT_C64: info = LAPACKE_cgelsd(LAPACK_ROW_MAJOR, m, n, nrhs, CP(a), n, CP(b), ldb, s, (float)rcond, &rank); break;
    }
    free(s);
    txrt_release(a);
    if (info != 0) {
        char r[16];
        if (info > 0)
            txrt_fail(ctx, "lstsq: the SVD of A did not converge (%d superdiagonal elements of its "
                      "bidiagonal form did not reach zero)", info);
        else
            lapack_error(ctx, "lstsq", routine(r, sizeof r, dt, "gelsd", "gelsd"), info);
        txrt_release(b);
        txrt_release(x);
        return NULL;
    }
    memcpy(x->data, b->data, (size_t)n * (size_t)nrhs * esz);
    txrt_release(b);
    return x;
}

/* ---- LU: inv, det -------------------------------------------------------- */

static int getrf(txrt_tensor *a, lapack_int *ipiv) {
    int n = (int)a->shape[0];
    switch (a->dtype) {
    case TXRT_F64: return LAPACKE_dgetrf(LAPACK_ROW_MAJOR, n, n, DP(a), n, ipiv);
    case TXRT_F32: return LAPACKE_sgetrf(LAPACK_ROW_MAJOR, n, n, SP(a), n, ipiv);
    case TXRT_C128: return LAPACKE_zgetrf(LAPACK_ROW_MAJOR, n, n, ZP(a), n, ipiv);
    case TXRT_C64: return LAPACKE_cgetrf(LAPACK_ROW_MAJOR, n, n, CP(a), n, ipiv);
    }
    return -1;
}

txrt_tensor *txrt_inv(txrt_ctx *ctx, const txrt_tensor *A) {
    lapacke_init(A);
    if (check_square(ctx, "inv", "A", A)) return NULL;
    int n = (int)A->shape[0];
    txrt_tensor *a = txrt_tensor_copy(ctx, A);
    if (!a || n == 0) return a;
    lapack_int *ipiv = malloc((size_t)n * sizeof *ipiv);
    if (!ipiv) {
        txrt_fail(ctx, "inv: out of memory");
        txrt_release(a);
        return NULL;
    }
    char r[16];
    int info = getrf(a, ipiv);
    if (info == 0) {
        switch (a->dtype) {
        case TXRT_F64: info = LAPACKE_dgetri(LAPACK_ROW_MAJOR, n, DP(a), n, ipiv); break;
        case TXRT_F32: info = LAPACKE_sgetri(LAPACK_ROW_MAJOR, n, SP(a), n, ipiv); break;
        case TXRT_C128: info = LAPACKE_zgetri(LAPACK_ROW_MAJOR, n, ZP(a), n, ipiv); break;
        case TXRT_C64: info = LAPACKE_cgetri(LAPACK_ROW_MAJOR, n, CP(a), n, ipiv); break;
        }
        if (info < 0) lapack_error(ctx, "inv", routine(r, sizeof r, a->dtype, "getri", "getri"), info);
    } else if (info < 0) {
        lapack_error(ctx, "inv", routine(r, sizeof r, a->dtype, "getrf", "getrf"), info);
    }
    if (info > 0) singular(ctx, "inv", info);
    free(ipiv);
    if (info != 0) {
        txrt_release(a);
        return NULL;
    }
    return a;
}

txrt_tensor *txrt_det(txrt_ctx *ctx, const txrt_tensor *A) {
    lapacke_init(A);
    if (check_square(ctx, "det", "A", A)) return NULL;
    int n = (int)A->shape[0];
    if (n == 0) return txrt_scalar_new(ctx, A->dtype, 1, 0);
    txrt_tensor *a = txrt_tensor_copy(ctx, A);
    lapack_int *ipiv = a ? malloc((size_t)n * sizeof *ipiv) : NULL;
    if (!ipiv) {
        if (a) txrt_fail(ctx, "det: out of memory");
        txrt_release(a);
        return NULL;
    }
    int info = getrf(a, ipiv);
    double re = 1, im = 0;
    if (info > 0) {
        re = 0;                                  /* exactly singular: det is 0, not an error */
    } else if (info == 0) {
        int negate = 0;
        for (int i = 0; i < n; i++) {
            double ur, ui;
            txrt_get(a, (int64_t)i * n + i, &ur, &ui);
            double nr = re * ur - im * ui, ni = re * ui + im * ur;
            re = nr;
            im = ni;
            if (ipiv[i] != i + 1) negate = !negate;   /* each row interchange flips the sign */
        }
        if (negate) { re = -re; im = -im; }
    }
    free(ipiv);
    txrt_dtype dt = a->dtype;
    txrt_release(a);
    if (info < 0) {
        char r[16];
        lapack_error(ctx, "det", routine(r, sizeof r, dt, "getrf", "getrf"), info);
        return NULL;
    }
    return txrt_scalar_new(ctx, dt, re + 0.0, im + 0.0);   /* + 0.0: no -0 from a sign flip of 0 */
}

/* ---- Cholesky ------------------------------------------------------------- */

txrt_tensor *txrt_cholesky(txrt_ctx *ctx, const txrt_tensor *A) {
    lapacke_init(A);
    if (check_square(ctx, "cholesky", "A", A) || check_finite(ctx, "cholesky", "A", A, 1)) return NULL;
    int n = (int)A->shape[0];
    txrt_tensor *l = txrt_tensor_copy(ctx, A);
    if (!l || n == 0) return l;
    int info = 0;
    switch (l->dtype) {
    case TXRT_F64: info = LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'L', n, DP(l), n); break;
    case TXRT_F32: info = LAPACKE_spotrf(LAPACK_ROW_MAJOR, 'L', n, SP(l), n); break;
    case TXRT_C128: info = LAPACKE_zpotrf(LAPACK_ROW_MAJOR, 'L', n, ZP(l), n); break;
    case TXRT_C64: info = LAPACKE_cpotrf(LAPACK_ROW_MAJOR, 'L', n, CP(l), n); break;
    }
    if (info != 0) {
        char r[16];
        if (info > 0)
            txrt_fail(ctx, "cholesky: matrix is not positive definite (leading minor of order %d)", info);
        else
            lapack_error(ctx, "cholesky", routine(r, sizeof r, l->dtype, "potrf", "potrf"), info);
        txrt_release(l);
        return NULL;
    }
    /* potrf leaves the strict upper triangle as it was: clear it. */
    size_t esz = txrt_dtype_size(l->dtype);
    for (int i = 0; i < n; i++)
        memset((char *)l->data + ((size_t)i * n + i + 1) * esz, 0, (size_t)(n - 1 - i) * esz);
    return l;
}

txrt_tensor *txrt_cho_solve(txrt_ctx *ctx, const txrt_tensor *L, const txrt_tensor *B) {
    lapacke_init(L);
    if (check_square(ctx, "cho_solve", "L", L) || check_rhs(ctx, "cho_solve", L, "L", B)) return NULL;
    int n = (int)L->shape[0];
    for (int i = 0; i < n; i++) {
        double re, im;
        txrt_get(L, (int64_t)i * n + i, &re, &im);
        if (re == 0 && im == 0) {
            txrt_fail(ctx, "cho_solve: L is singular (L[%d,%d] is exactly zero); "
                      "L must be the factor returned by cholesky", i, i);
            return NULL;
        }
    }
    txrt_dtype dt = txrt_dtype_promote(L->dtype, B->dtype);
    int nrhs = B->rank == 1 ? 1 : (int)B->shape[1];
    txrt_tensor *x = txrt_tensor_cast(ctx, B, dt);
    if (!x || n == 0 || nrhs == 0) return x;
    txrt_tensor *l = txrt_tensor_cast(ctx, L, dt);
    if (!l) {
        txrt_release(x);
        return NULL;
    }
    int ldb = lapack_ld(nrhs), info = 0;
    switch (dt) {
    case TXRT_F64: info = LAPACKE_dpotrs(LAPACK_ROW_MAJOR, 'L', n, nrhs, DP(l), n, DP(x), ldb); break;
    case TXRT_F32: info = LAPACKE_spotrs(LAPACK_ROW_MAJOR, 'L', n, nrhs, SP(l), n, SP(x), ldb); break;
    case TXRT_C128: info = LAPACKE_zpotrs(LAPACK_ROW_MAJOR, 'L', n, nrhs, ZP(l), n, ZP(x), ldb); break;
    case TXRT_C64: info = LAPACKE_cpotrs(LAPACK_ROW_MAJOR, 'L', n, nrhs, CP(l), n, CP(x), ldb); break;
    }
    txrt_release(l);
    if (info != 0) {
        char r[16];
        lapack_error(ctx, "cho_solve", routine(r, sizeof r, dt, "potrs", "potrs"), info);
        txrt_release(x);
        return NULL;
    }
    return x;
}

/* ---- eigh ------------------------------------------------------------------- */

int txrt_eigh(txrt_ctx *ctx, const txrt_tensor *A, txrt_tensor **w, txrt_tensor **V) {
    lapacke_init(A);
    if (w) *w = NULL;
    if (V) *V = NULL;
    if (!w || !V) return txrt_fail(ctx, "eigh: internal error: missing result pointers");
    if (check_square(ctx, "eigh", "A", A) || check_finite(ctx, "eigh", "A", A, 1)) return -1;
    int n = (int)A->shape[0];
    int64_t wshape[1] = { n };
    txrt_tensor *v = txrt_tensor_copy(ctx, A);
    txrt_tensor *e = v ? txrt_tensor_new(ctx, real_of(A->dtype), 1, wshape) : NULL;
    if (!e) {
        txrt_release(v);
        return -1;
    }
    int info = 0;
    if (n > 0) {
        switch (v->dtype) {
        case TXRT_F64: info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'L', n, DP(v), n, DP(e)); break;
        case TXRT_F32: info = LAPACKE_ssyevd(LAPACK_ROW_MAJOR, 'V', 'L', n, SP(v), n, SP(e)); break;
        case TXRT_C128: info = LAPACKE_zheevd(LAPACK_ROW_MAJOR, 'V', 'L', n, ZP(v), n, DP(e)); break;
        case TXRT_C64: info = LAPACKE_cheevd(LAPACK_ROW_MAJOR, 'V', 'L', n, CP(v), n, SP(e)); break;
        }
    }
    if (info != 0) {
        char r[16];
        if (info > 0)
            /* syevd/heevd with eigenvectors: the divide-and-conquer step failed on the
             * submatrix in rows and columns info/(n+1) .. mod(info, n+1) (1-based). */
            txrt_fail(ctx, "eigh: did not converge (the eigenvalue iteration failed on the submatrix "
                      "in rows and columns %d to %d)", info / (n + 1) - 1, info % (n + 1) - 1);
        else
            lapack_error(ctx, "eigh", routine(r, sizeof r, v->dtype, "syevd", "heevd"), info);
        txrt_release(v);
        txrt_release(e);
        return -1;
    }
    *w = e;
    *V = v;
    return 0;
}

/* ---- svd --------------------------------------------------------------------- */

int txrt_svd(txrt_ctx *ctx, const txrt_tensor *A, txrt_tensor **U, txrt_tensor **s, txrt_tensor **Vt) {
    lapacke_init(A);
    if (U) *U = NULL;
    if (s) *s = NULL;
    if (Vt) *Vt = NULL;
    if (!U || !s || !Vt) return txrt_fail(ctx, "svd: internal error: missing result pointers");
    if (check_matrix(ctx, "svd", "A", A) || check_finite(ctx, "svd", "A", A, 0)) return -1;
    int m = (int)A->shape[0], n = (int)A->shape[1], k = m < n ? m : n;
    txrt_dtype dt = A->dtype;
    int64_t ushape[2] = { m, k }, sshape[1] = { k }, vshape[2] = { k, n };
    txrt_tensor *u = txrt_tensor_new(ctx, dt, 2, ushape);
    txrt_tensor *sv = u ? txrt_tensor_new(ctx, real_of(dt), 1, sshape) : NULL;
    txrt_tensor *vt = sv ? txrt_tensor_new(ctx, dt, 2, vshape) : NULL;
    txrt_tensor *a = vt && k > 0 ? txrt_tensor_copy(ctx, A) : NULL;
    if (!vt || (k > 0 && !a)) {
        txrt_release(u); txrt_release(sv); txrt_release(vt);
        return -1;
    }
    int info = 0;
    if (k > 0) {
        /* No transposes at all: row-major A is column-major A^T (n x m), and
         * A^T = conj(V) S U^T.  Column-major gesdd of it returns conj(V) as an
         * n x k column-major matrix, whose memory is exactly row-major Vt = V^H
         * (k x n), and U^T as a k x m column-major matrix, whose memory is
         * exactly row-major U (m x k).  (LAPACKE's row-major driver would
         * transpose A, U and Vt instead.) */
        int lda = lapack_ld(n), ldu = lapack_ld(n), ldvt = lapack_ld(k);
        switch (dt) {
        case TXRT_F64: info = LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'S', n, m, DP(a), lda, DP(sv), DP(vt), ldu, DP(u), ldvt); break;
        case TXRT_F32: info = LAPACKE_sgesdd(LAPACK_COL_MAJOR, 'S', n, m, SP(a), lda, SP(sv), SP(vt), ldu, SP(u), ldvt); break;
        case TXRT_C128: info = LAPACKE_zgesdd(LAPACK_COL_MAJOR, 'S', n, m, ZP(a), lda, DP(sv), ZP(vt), ldu, ZP(u), ldvt); break;
        case TXRT_C64: info = LAPACKE_cgesdd(LAPACK_COL_MAJOR, 'S', n, m, CP(a), lda, SP(sv), CP(vt), ldu, CP(u), ldvt); break;
        }
        txrt_release(a);
    }
    if (info != 0) {
        char r[16];
        if (info > 0)
            txrt_fail(ctx, "svd: did not converge (the divide-and-conquer singular value update failed)");
        else
            lapack_error(ctx, "svd", routine(r, sizeof r, dt, "gesdd", "gesdd"), info);
        txrt_release(u); txrt_release(sv); txrt_release(vt);
        return -1;
    }
    *U = u;
    *s = sv;
    *Vt = vt;
    return 0;
}

/* ---- qr ------------------------------------------------------------------------ */

int txrt_qr(txrt_ctx *ctx, const txrt_tensor *A, txrt_tensor **Q, txrt_tensor **R) {
    lapacke_init(A);
    if (Q) *Q = NULL;
    if (R) *R = NULL;
    if (!Q || !R) return txrt_fail(ctx, "qr: internal error: missing result pointers");
    if (check_matrix(ctx, "qr", "A", A)) return -1;
    int m = (int)A->shape[0], n = (int)A->shape[1], k = m < n ? m : n;
    txrt_dtype dt = A->dtype;
    size_t esz = txrt_dtype_size(dt);
    int64_t qshape[2] = { m, k }, rshape[2] = { k, n };
    txrt_tensor *q = txrt_tensor_new(ctx, dt, 2, qshape);
    txrt_tensor *r = q ? txrt_tensor_new(ctx, dt, 2, rshape) : NULL;
    if (!r) {
        txrt_release(q);
        return -1;
    }
    if (k == 0) {
        *Q = q;
        *R = r;
        return 0;
    }
    txrt_tensor *a = txrt_tensor_copy(ctx, A);
    void *tau = a ? malloc((size_t)k * esz) : NULL;
    if (!tau) {
        if (a) txrt_fail(ctx, "qr: out of memory");
        txrt_release(a); txrt_release(q); txrt_release(r);
        return -1;
    }
    char rn[16];
    const char *failed = NULL;
    int info = 0;
    switch (dt) {
    case TXRT_F64: info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, m, n, DP(a), n, tau); break;
    case TXRT_F32: info = LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, m, n, SP(a), n, tau); break;
    case TXRT_C128: info = LAPACKE_zgeqrf(LAPACK_ROW_MAJOR, m, n, ZP(a), n, tau); break;
    case TXRT_C64: info = LAPACKE_cgeqrf(LAPACK_ROW_MAJOR, m, n, CP(a), n, tau); break;
    }
    if (info != 0) failed = routine(rn, sizeof rn, dt, "geqrf", "geqrf");
    if (!failed) {
        /* R: the upper triangle of the first k rows; Q: the reflectors in the first
         * k columns, expanded in place by orgqr/ungqr. */
        for (int i = 0; i < k; i++)
            memcpy((char *)r->data + ((size_t)i * n + i) * esz, (char *)a->data + ((size_t)i * n + i) * esz,
                   (size_t)(n - i) * esz);
        for (int i = 0; i < m; i++)
            memcpy((char *)q->data + (size_t)i * k * esz, (char *)a->data + (size_t)i * n * esz, (size_t)k * esz);
        switch (dt) {
        case TXRT_F64: info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, m, k, k, DP(q), k, tau); break;
        case TXRT_F32: info = LAPACKE_sorgqr(LAPACK_ROW_MAJOR, m, k, k, SP(q), k, tau); break;
        case TXRT_C128: info = LAPACKE_zungqr(LAPACK_ROW_MAJOR, m, k, k, ZP(q), k, tau); break;
        case TXRT_C64: info = LAPACKE_cungqr(LAPACK_ROW_MAJOR, m, k, k, CP(q), k, tau); break;
        }
        if (info != 0) failed = routine(rn, sizeof rn, dt, "orgqr", "ungqr");
    }
    free(tau);
    txrt_release(a);
    if (failed) {
        lapack_error(ctx, "qr", failed, info);     /* geqrf/orgqr only fail on bad arguments */
        txrt_release(q);
        txrt_release(r);
        return -1;
    }
    *Q = q;
    *R = r;
    return 0;
}

/* ---- BLAS threads -----------------------------------------------------------
 * OpenBLAS's threads synchronise by spinning; on a small product waking the
 * second thread costs more than it saves, and on a busy machine (a shared
 * 2-core box) one of them is often descheduled, so a 40 us product takes
 * milliseconds.  Products below BLAS_THREAD_MIN real multiply-adds run on
 * one thread; larger ones on the configured count (txrt_blas_set_threads,
 * else OpenBLAS's own default).  Measured on the benchmark machine under
 * load: chain3's two 0.8M multiply-add products took 0.13-0.16 ms on one
 * thread and 1.1-3.7 ms (median) on two.  Thin products split badly as
 * well: (65536 x 256) by (256 x 16) took 30 ms on one thread, 55 ms on
 * two (and 700 ms instead of 30 the first time, touching a second
 * thread's buffers), so an output narrower than BLAS_THREAD_SIDE either
 * way also runs on one thread. */
#define BLAS_THREAD_MIN 2e6
#define BLAS_THREAD_SIDE 64

bool txrt_blas_is_small(double madds, int64_t side) {
    return !(madds >= BLAS_THREAD_MIN && side >= BLAS_THREAD_SIDE);
}

void txrt_blas_single(void) {
    pthread_once(&nancheck_once, nancheck_off);
    if (!blas_configured) blas_configured = openblas_get_num_threads();
    blas_use_threads(1);
}

/* Before a product of `madds` whose output is at least `side` long each
 * way: one thread for a small one, all for a large one. */
static void blas_threads_for(double madds, int64_t side) {
    if (!blas_configured) blas_configured = openblas_get_num_threads();
    if (txrt_blas_is_small(madds, side)) blas_use_threads(1);
    else blas_all_threads();
}

/* ---- gemm ------------------------------------------------------------------ */

static int gemm_trans(txrt_ctx *ctx, char t, const char *which, txrt_dtype dt, enum CBLAS_TRANSPOSE *out) {
    switch (t) {
    case 'N': case 'n': *out = CblasNoTrans; return 0;
    case 'T': case 't': *out = CblasTrans; return 0;
    case 'C': case 'c': *out = txrt_dtype_is_complex(dt) ? CblasConjTrans : CblasTrans; return 0;
    }
    return txrt_fail(ctx, "gemm: internal error: %s is '%c', expected 'N', 'T' or 'C'", which, t);
}

int txrt_gemm_c(txrt_ctx *ctx, char transA, char transB, int64_t m, int64_t n, int64_t k,
                double alpha_re, double alpha_im, const void *A, int64_t lda,
                const void *B, int64_t ldb, double beta_re, double beta_im,
                void *C, int64_t ldc, txrt_dtype dt) {
    enum CBLAS_TRANSPOSE ta, tb;
    if ((unsigned)dt > TXRT_C64) return txrt_fail(ctx, "gemm: internal error: unknown dtype %d", (int)dt);
    if (gemm_trans(ctx, transA, "transA", dt, &ta) || gemm_trans(ctx, transB, "transB", dt, &tb)) return -1;
    if (m < 0 || n < 0 || k < 0 || m > INT_MAX || n > INT_MAX || k > INT_MAX)
        return txrt_fail(ctx, "gemm: internal error: sizes m=%lld n=%lld k=%lld out of range",
                         (long long)m, (long long)n, (long long)k);
    /* Row-major: the stored column count of A is k ('N') or m, of B n or k. */
    int64_t acols = ta == CblasNoTrans ? k : m, bcols = tb == CblasNoTrans ? n : k;
    int64_t arows = ta == CblasNoTrans ? m : k, brows = tb == CblasNoTrans ? k : n;
    if (lda < (acols > 1 ? acols : 1) || ldb < (bcols > 1 ? bcols : 1) || ldc < (n > 1 ? n : 1) ||
        lda > INT_MAX || ldb > INT_MAX || ldc > INT_MAX)
        return txrt_fail(ctx, "gemm: internal error: leading dimensions lda=%lld ldb=%lld ldc=%lld too "
                         "small or too large for m=%lld n=%lld k=%lld", (long long)lda, (long long)ldb,
                         (long long)ldc, (long long)m, (long long)n, (long long)k);
    if ((m > 0 && n > 0 && !C) || (arows > 0 && acols > 0 && !A && m > 0 && n > 0) ||
        (brows > 0 && bcols > 0 && !B && m > 0 && n > 0))
        return txrt_fail(ctx, "gemm: internal error: missing data pointer");
    if (m == 0 || n == 0) return 0;
    int M = (int)m, N = (int)n, K = (int)k, LA = (int)lda, LB = (int)ldb, LC = (int)ldc;
    blas_threads_for((double)m * (double)n * (double)k * (txrt_dtype_is_complex(dt) ? 4 : 1),
                                    m < n ? m : n);
    switch (dt) {
    case TXRT_F64:
        cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, alpha_re, A, LA, B, LB, beta_re, C, LC);
        break;
    case TXRT_F32:
        cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, (float)alpha_re, A, LA, B, LB, (float)beta_re, C, LC);
        break;
    case TXRT_C128: {
        double al[2] = { alpha_re, alpha_im }, be[2] = { beta_re, beta_im };
        cblas_zgemm(CblasRowMajor, ta, tb, M, N, K, al, A, LA, B, LB, be, C, LC);
        break;
    }
    case TXRT_C64: {
        float al[2] = { (float)alpha_re, (float)alpha_im }, be[2] = { (float)beta_re, (float)beta_im };
        cblas_cgemm(CblasRowMajor, ta, tb, M, N, K, al, A, LA, B, LB, be, C, LC);
        break;
    }
    }
    return 0;
}

int txrt_gemm(txrt_ctx *ctx, char transA, char transB, int64_t m, int64_t n, int64_t k,
              double alpha, const void *A, int64_t lda, const void *B, int64_t ldb,
              double beta, void *C, int64_t ldc, txrt_dtype dt) {
    return txrt_gemm_c(ctx, transA, transB, m, n, k, alpha, 0, A, lda, B, ldb, beta, 0, C, ldc, dt);
}

/* ---- syrk ------------------------------------------------------------------ */

int txrt_syrk_c(txrt_ctx *ctx, char trans, int64_t n, int64_t k, double alpha_re, double alpha_im,
                const void *A, int64_t lda, void *C, int64_t ldc, txrt_dtype dt) {
    if ((unsigned)dt > TXRT_C64) return txrt_fail(ctx, "syrk: internal error: unknown dtype %d", (int)dt);
    if (trans != 'N' && trans != 'T') return txrt_fail(ctx, "syrk: internal error: trans is '%c'", trans);
    enum CBLAS_TRANSPOSE t = trans == 'N' ? CblasNoTrans : CblasTrans;
    int64_t acols = trans == 'N' ? k : n;
    if (n < 0 || k < 0 || n > INT_MAX || k > INT_MAX || lda < (acols > 1 ? acols : 1) || ldc < (n > 1 ? n : 1) ||
        lda > INT_MAX || ldc > INT_MAX)
        return txrt_fail(ctx, "syrk: internal error: sizes n=%lld k=%lld lda=%lld ldc=%lld", (long long)n,
                         (long long)k, (long long)lda, (long long)ldc);
    if (n == 0) return 0;
    if (!A || !C) return txrt_fail(ctx, "syrk: internal error: missing data pointer");
    int N = (int)n, K = (int)k, LA = (int)lda, LC = (int)ldc;
    blas_threads_for((double)n * (double)n * (double)k * (txrt_dtype_is_complex(dt) ? 2 : 0.5), n);
    size_t es = txrt_dtype_size(dt);
    switch (dt) {
    case TXRT_F64: cblas_dsyrk(CblasRowMajor, CblasUpper, t, N, K, alpha_re, A, LA, 0.0, C, LC); break;
    case TXRT_F32: cblas_ssyrk(CblasRowMajor, CblasUpper, t, N, K, (float)alpha_re, A, LA, 0.0f, C, LC); break;
    case TXRT_C128: {
        double al[2] = { alpha_re, alpha_im }, be[2] = { 0, 0 };
        cblas_zsyrk(CblasRowMajor, CblasUpper, t, N, K, al, A, LA, be, C, LC);
        break;
    }
    case TXRT_C64: {
        float al[2] = { (float)alpha_re, (float)alpha_im }, be[2] = { 0, 0 };
        cblas_csyrk(CblasRowMajor, CblasUpper, t, N, K, al, A, LA, be, C, LC);
        break;
    }
    }
    /* the lower triangle from the upper: C[i][j] = C[j][i] for j < i */
    char *c = C;
    for (int64_t i = 1; i < n; i++)
        for (int64_t j = 0; j < i; j++)
            memcpy(c + (size_t)(i * ldc + j) * es, c + (size_t)(j * ldc + i) * es, es);
    return 0;
}

/* ---- gemv ------------------------------------------------------------------ */

int txrt_gemv_c(txrt_ctx *ctx, char trans, int64_t m, int64_t n, double alpha_re, double alpha_im,
                const void *A, int64_t lda, const void *x, int64_t incx, double beta_re, double beta_im,
                void *y, int64_t incy, txrt_dtype dt) {
    enum CBLAS_TRANSPOSE ta;
    if ((unsigned)dt > TXRT_C64) return txrt_fail(ctx, "gemv: internal error: unknown dtype %d", (int)dt);
    if (gemm_trans(ctx, trans, "trans", dt, &ta)) return -1;
    if (m < 0 || n < 0 || m > INT_MAX || n > INT_MAX || lda < (n > 1 ? n : 1) || lda > INT_MAX || incx < 1 ||
        incx > INT_MAX || incy < 1 || incy > INT_MAX)
        return txrt_fail(ctx, "gemv: internal error: bad sizes m=%lld n=%lld lda=%lld incx=%lld incy=%lld",
                         (long long)m, (long long)n, (long long)lda, (long long)incx, (long long)incy);
    int64_t ylen = ta == CblasNoTrans ? m : n;
    if (ylen == 0) return 0;
    if (!y || ((m > 0 && n > 0) && (!A || !x))) return txrt_fail(ctx, "gemv: internal error: missing data pointer");
    int M = (int)m, N = (int)n, LA = (int)lda, IX = (int)incx, IY = (int)incy;
    blas_threads_for((double)m * (double)n * (txrt_dtype_is_complex(dt) ? 4 : 1), BLAS_THREAD_SIDE);
    switch (dt) {
    case TXRT_F64:
        cblas_dgemv(CblasRowMajor, ta, M, N, alpha_re, A, LA, x, IX, beta_re, y, IY);
        break;
    case TXRT_F32:
        cblas_sgemv(CblasRowMajor, ta, M, N, (float)alpha_re, A, LA, x, IX, (float)beta_re, y, IY);
        break;
    case TXRT_C128: {
        double al[2] = { alpha_re, alpha_im }, be[2] = { beta_re, beta_im };
        cblas_zgemv(CblasRowMajor, ta, M, N, al, A, LA, x, IX, be, y, IY);
        break;
    }
    case TXRT_C64: {
        float al[2] = { (float)alpha_re, (float)alpha_im }, be[2] = { (float)beta_re, (float)beta_im };
        cblas_cgemv(CblasRowMajor, ta, M, N, al, A, LA, x, IX, be, y, IY);
        break;
    }
    }
    return 0;
}

/* OpenBLAS's idle workers spin (sched_yield) for 2^28 cycles after each
 * threaded call before they sleep; on a 2-core machine they take a core
 * from txc's own threads (a third of the samples in a chain3 profile).
 * Unless the user chose OPENBLAS_THREAD_TIMEOUT, a timeout of 2^20 cycles
 * (~0.3 ms) is set and OpenBLAS's server restarted to read it: long
 * enough to span the back-to-back calls inside a LAPACK routine (with the
 * shortest, 2^4, eigh 1000x1000 took 120 ms instead of 95: every call
 * woke sleeping workers), short enough that a fused kernel running after
 * a product has both cores (softmax attention 20 -> 18 ms, chain3's
 * process CPU time halved).  It changes
 * the process's environment and restarts a server others may share, so
 * only a program that owns its BLAS calls asks for it (txc's driver, at
 * start-up); a C program linking libtxrt keeps OpenBLAS as it set it up.
 * The symbols are OpenBLAS's own (weak: another BLAS is left alone). */
extern void openblas_read_env(void) __attribute__((weak));
extern int blas_thread_shutdown_(void) __attribute__((weak));

void txrt_blas_quiet_workers(void) {
    if (!openblas_read_env || !blas_thread_shutdown_ || getenv("OPENBLAS_THREAD_TIMEOUT")) return;
    setenv("OPENBLAS_THREAD_TIMEOUT", "20", 0);
    openblas_read_env();
    blas_thread_shutdown_();
}

/* OpenBLAS's own thread pool (openblas_set_num_threads is declared in
 * OpenBLAS's cblas.h). */
void txrt_blas_set_threads(int n) {
    if (n < 1) return;
    blas_configured = n;
    blas_current = 0;
    blas_use_threads(n);
}
