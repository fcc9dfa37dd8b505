/*
 * test_linalg.c -- the LAPACK builtins and txrt_gemm (runtime/linalg.c).
 *
 * Every decomposition is checked by the identity that defines it, in all
 * four dtypes, on seeded random matrices: A solve(A,B) = B, inv(A) A = I,
 * L L^H = A, A V = V diag(w) with V^H V = I, U diag(s) Vt = A with
 * orthonormal factors, Q R = A with Q^H Q = I; lstsq against the normal
 * equations (overdetermined) and the minimum-norm formula
 * (underdetermined); det against closed forms and the product of
 * eigenvalues.  Products are formed here by naive loops in double
 * complex, independent of BLAS.  Also: every failure message (singular,
 * not positive definite, shapes, nan), inputs left untouched, promotion of
 * mixed dtypes, empty matrices, and txrt_gemm against hand loops for every
 * transpose combination, leading dimension and alpha/beta.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <complex.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "txrt_linalg.h"

static const txrt_dtype all_dtypes[] = { TXRT_F64, TXRT_F32, TXRT_C128, TXRT_C64 };
#define FOR_DTYPES(dt) for (size_t di_ = 0; di_ < 4 && ((dt) = all_dtypes[di_], 1); di_++)

/* Tolerance of an identity check, relative to the matrices' size (all are
 * O(1)..O(n) here). */
static double tol(txrt_dtype dt) { return dt == TXRT_F64 || dt == TXRT_C128 ? 1e-10 : 2e-4; }

static double complex at(const txrt_tensor *t, int64_t i) {
    double re, im;
    txrt_get(t, i, &re, &im);
    return re + im * I;
}

static int64_t rows(const txrt_tensor *t) { return t->shape[0]; }
static int64_t cols(const txrt_tensor *t) { return t->rank == 1 ? 1 : t->shape[1]; }

/* Element (i,j) of op(t), op = 'N' or 'H' (conjugate transpose); a vector
 * is a column. */
static double complex el(const txrt_tensor *t, char op, int64_t i, int64_t j) {
    if (op == 'H') return conj(at(t, j * cols(t) + i));
    return at(t, i * cols(t) + j);
}

/* Naive op(A) op(B) as a c128 matrix (vectors as columns). */
static txrt_tensor *mm(const txrt_tensor *A, char oa, const txrt_tensor *B, char ob) {
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    int64_t m = oa == 'H' ? cols(A) : rows(A), k = oa == 'H' ? rows(A) : cols(A);
    int64_t kb = ob == 'H' ? cols(B) : rows(B), n = ob == 'H' ? rows(B) : cols(B);
    assert_int_equal(k, kb);
    int64_t shape[2] = { m, n };
    txrt_tensor *C = txrt_tensor_new(&ctx, TXRT_C128, 2, shape);
    assert_non_null(C);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double complex s = 0;
            for (int64_t p = 0; p < k; p++) s += el(A, oa, i, p) * el(B, ob, p, j);
            txrt_set(C, i * n + j, creal(s), cimag(s));
        }
    return C;
}

/* max |a - b| over the elements of two tensors of equal size. */
static double maxdiff(const txrt_tensor *a, const txrt_tensor *b) {
    assert_int_equal(a->size, b->size);
    double d = 0;
    for (int64_t i = 0; i < a->size; i++) {
        double e = cabs(at(a, i) - at(b, i));
        if (!(e <= d)) d = e;                  /* nan propagates */
    }
    return d;
}

static double max_abs_identity(const txrt_tensor *M) {
    assert_int_equal(rows(M), cols(M));
    double d = 0;
    for (int64_t i = 0; i < rows(M); i++)
        for (int64_t j = 0; j < cols(M); j++) {
            double e = cabs(at(M, i * cols(M) + j) - (i == j ? 1 : 0));
            if (!(e <= d)) d = e;
        }
    return d;
}

static txrt_tensor *randmat(txrt_dtype dt, int64_t m, int64_t n, uint64_t seed) {
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    int64_t shape[2] = { m, n };
    txrt_tensor *t = txrt_tensor_new(&ctx, dt, n < 0 ? 1 : 2, shape);
    assert_non_null(t);
    txrt_fill_randn(t, seed);
    return t;
}

/* A random matrix plus shift on the diagonal (well conditioned). */
static txrt_tensor *wellcond(txrt_dtype dt, int64_t n, uint64_t seed) {
    txrt_tensor *A = randmat(dt, n, n, seed);
    for (int64_t i = 0; i < n; i++) {
        double re, im;
        txrt_get(A, i * n + i, &re, &im);
        txrt_set(A, i * n + i, re + 2 * (double)n, im);
    }
    return A;
}

/* Hermitian positive definite: M M^H + n I, in dtype dt. */
static txrt_tensor *spd(txrt_dtype dt, int64_t n, uint64_t seed) {
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    txrt_tensor *M = randmat(dt, n, n, seed);
    txrt_tensor *P = mm(M, 'N', M, 'H');
    for (int64_t i = 0; i < n; i++) txrt_set(P, i * n + i, creal(at(P, i * n + i)) + (double)n, 0);
    txrt_tensor *A = txrt_tensor_cast(&ctx, P, dt);
    txrt_release(M);
    txrt_release(P);
    return A;
}

/* Hermitian (symmetric for real dtypes), not necessarily definite. */
static txrt_tensor *herm(txrt_dtype dt, int64_t n, uint64_t seed) {
    txrt_tensor *A = randmat(dt, n, n, seed);
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j <= i; j++) {
            double complex v = i == j ? creal(at(A, i * n + j)) : at(A, i * n + j);
            txrt_set(A, i * n + j, creal(v), cimag(v));
            txrt_set(A, j * n + i, creal(v), -cimag(v));
        }
    return A;
}

static txrt_tensor *from(txrt_dtype dt, int64_t m, int64_t n, const double *v) {
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    int64_t shape[2] = { m, n };
    txrt_tensor *t = txrt_tensor_new(&ctx, dt, 2, shape);
    for (int64_t i = 0; i < m * n; i++) txrt_set(t, i, v[i], 0);
    return t;
}

/* ---- solve, inv ------------------------------------------------------------ */

static void solve_all_dtypes(void **state) {
    (void)state;
    txrt_dtype dt;
    FOR_DTYPES(dt) {
        txrt_ctx ctx;
        txrt_ctx_init(&ctx);
        for (int vec = 0; vec < 2; vec++) {
            txrt_tensor *A = wellcond(dt, 6, 11);
            txrt_tensor *B = randmat(dt, 6, vec ? -1 : 3, 12);
            txrt_tensor *A0 = txrt_tensor_copy(&ctx, A), *B0 = txrt_tensor_copy(&ctx, B);
            txrt_tensor *x = txrt_solve(&ctx, A, B);
            assert_non_null(x);
            assert_int_equal(ctx.status, 0);
            assert_int_equal(x->dtype, dt);
            assert_int_equal(x->rank, B->rank);
            assert_int_equal(x->shape[0], 6);
            txrt_tensor *AX = mm(A, 'N', x, 'N');
            assert_true(maxdiff(AX, B) < tol(dt) * 10);
            assert_true(maxdiff(A, A0) == 0);       /* inputs untouched */
            assert_true(maxdiff(B, B0) == 0);
            txrt_release(A); txrt_release(B); txrt_release(A0); txrt_release(B0);
            txrt_release(x); txrt_release(AX);
        }
    }
}

static void solve_promotes(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    txrt_tensor *A = wellcond(TXRT_F32, 4, 1);
    txrt_tensor *B = randmat(TXRT_C128, 4, 2, 2);
    txrt_tensor *x = txrt_solve(&ctx, A, B);
    assert_non_null(x);
    assert_int_equal(x->dtype, TXRT_C128);
    txrt_tensor *AX = mm(A, 'N', x, 'N');
    assert_true(maxdiff(AX, B) < 1e-10);          /* computed in c128 from the exact f32 values */
    txrt_release(x); txrt_release(AX);
    txrt_tensor *B32 = randmat(TXRT_F32, 4, -1, 3);
    txrt_tensor *Ac = wellcond(TXRT_C64, 4, 4);
    x = txrt_solve(&ctx, Ac, B32);
    assert_non_null(x);
    assert_int_equal(x->dtype, TXRT_C64);
    txrt_release(x);
    x = txrt_solve(&ctx, B32 /* rank 1 */, B32);
    assert_null(x);
    assert_string_equal(ctx.errmsg, "solve: A must be a matrix (rank 2), got shape (4,)");
    txrt_release(A); txrt_release(B); txrt_release(B32); txrt_release(Ac);
}

static void singular_messages(void **state) {
    (void)state;
    txrt_dtype dt;
    FOR_DTYPES(dt) {
        txrt_ctx ctx;
        txrt_ctx_init(&ctx);
        const double s2[] = { 1, 2, 2, 4 };
        txrt_tensor *A = from(dt, 2, 2, s2), *b = randmat(dt, 2, -1, 1);
        assert_null(txrt_solve(&ctx, A, b));
        assert_int_not_equal(ctx.status, 0);
        assert_string_equal(ctx.errmsg, "solve: matrix is singular (U[1,1] is exactly zero)");
        txrt_clear_error(&ctx);
        assert_null(txrt_inv(&ctx, A));
        assert_string_equal(ctx.errmsg, "inv: matrix is singular (U[1,1] is exactly zero)");
        txrt_clear_error(&ctx);
        txrt_tensor *d = txrt_det(&ctx, A);      /* singular: det 0, no error */
        assert_non_null(d);
        assert_int_equal(ctx.status, 0);
        assert_int_equal(d->rank, 0);
        assert_int_equal(d->dtype, dt);
        assert_true(cabs(at(d, 0)) == 0);
        txrt_release(d);
        const double s3[] = { 1, 0, 0, 0, 1, 0, 0, 0, 0 };
        txrt_tensor *A3 = from(dt, 3, 3, s3), *b3 = randmat(dt, 3, 2, 1);
        assert_null(txrt_solve(&ctx, A3, b3));
        assert_string_equal(ctx.errmsg, "solve: matrix is singular (U[2,2] is exactly zero)");
        /* a zero first column: the very first pivot */
        const double s0[] = { 0, 1, 0, 2 };
        txrt_tensor *Z = from(dt, 2, 2, s0);
        assert_null(txrt_inv(&ctx, Z));
        assert_string_equal(ctx.errmsg, "inv: matrix is singular (U[0,0] is exactly zero)");
        txrt_release(A); txrt_release(b); txrt_release(A3); txrt_release(b3); txrt_release(Z);
    }
}

static void inv_all_dtypes(void **state) {
    (void)state;
    txrt_dtype dt;
    FOR_DTYPES(dt) {
        txrt_ctx ctx;
        txrt_ctx_init(&ctx);
        txrt_tensor *A = wellcond(dt, 7, 21), *A0 = txrt_tensor_copy(&ctx, A);
        txrt_tensor *Ai = txrt_inv(&ctx, A);
        assert_non_null(Ai);
        assert_int_equal(Ai->dtype, dt);
        assert_int_equal(Ai->shape[0], 7);
        assert_int_equal(Ai->shape[1], 7);
        txrt_tensor *P = mm(Ai, 'N', A, 'N'), *P2 = mm(A, 'N', Ai, 'N');
        assert_true(max_abs_identity(P) < tol(dt));
        assert_true(max_abs_identity(P2) < tol(dt));
        assert_true(maxdiff(A, A0) == 0);
        txrt_release(A); txrt_release(A0); txrt_release(Ai); txrt_release(P); txrt_release(P2);
    }
}

/* ---- det ------------------------------------------------------------------------- */

static void det_closed_forms(void **state) {
    (void)state;
    txrt_dtype dt;
    FOR_DTYPES(dt) {
        txrt_ctx ctx;
        txrt_ctx_init(&ctx);
        const double a2[] = { 3, 1.5, -2, 4 };           /* 3*4 - 1.5*(-2) = 15 */
        txrt_tensor *A = from(dt, 2, 2, a2), *d = txrt_det(&ctx, A);
        assert_non_null(d);
        assert_true(cabs(at(d, 0) - 15) < tol(dt) * 15);
        txrt_release(A); txrt_release(d);
        /* a permutation with one swap: -1; a 3-cycle: +1 */
        const double p1[] = { 0, 1, 0, 1, 0, 0, 0, 0, 1 }, p2[] = { 0, 1, 0, 0, 0, 1, 1, 0, 0 };
        A = from(dt, 3, 3, p1);
        d = txrt_det(&ctx, A);
        assert_true(cabs(at(d, 0) + 1) < 1e-12);
        txrt_release(A); txrt_release(d);
        A = from(dt, 3, 3, p2);
        d = txrt_det(&ctx, A);
        assert_true(cabs(at(d, 0) - 1) < 1e-12);
        txrt_release(A); txrt_release(d);
        /* 3x3 by the rule of Sarrus */
        const double a3[] = { 2, -1, 0.5, 1, 3, 2, -4, 1, 1 };
        double sarrus = 2 * 3 * 1 + (-1) * 2 * (-4) + 0.5 * 1 * 1 - 0.5 * 3 * (-4) - (-1) * 1 * 1 - 2 * 2 * 1;
        A = from(dt, 3, 3, a3);
        d = txrt_det(&ctx, A);
        assert_true(cabs(at(d, 0) - sarrus) < tol(dt) * 20);
        txrt_release(A); txrt_release(d);
        /* 0x0: 1 */
        int64_t z[2] = { 0, 0 };
        A = txrt_tensor_new(&ctx, dt, 2, z);
        d = txrt_det(&ctx, A);
        assert_true(cabs(at(d, 0) - 1) == 0);
        txrt_release(A); txrt_release(d);
    }
    /* complex: det [[1+i, 2], [3i, 4-i]] = (1+i)(4-i) - 6i = 5 + 3i - 6i = 5 - 3i */
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    int64_t sh[2] = { 2, 2 };
    txrt_tensor *A = txrt_tensor_new(&ctx, TXRT_C128, 2, sh);
    txrt_set(A, 0, 1, 1); txrt_set(A, 1, 2, 0); txrt_set(A, 2, 0, 3); txrt_set(A, 3, 4, -1);
    txrt_tensor *d = txrt_det(&ctx, A);
    assert_true(cabs(at(d, 0) - (5 - 3 * I)) < 1e-13);
    txrt_release(A); txrt_release(d);
}

static void det_is_product_of_eigenvalues(void **state) {
    (void)state;
    txrt_dtype dt;
    FOR_DTYPES(dt) {
        txrt_ctx ctx;
        txrt_ctx_init(&ctx);
        txrt_tensor *A = herm(dt, 6, 31), *w, *V;
        assert_int_equal(txrt_eigh(&ctx, A, &w, &V), 0);
        double complex prod = 1;
        for (int i = 0; i < 6; i++) prod *= at(w, i);
        txrt_tensor *d = txrt_det(&ctx, A);
        assert_non_null(d);
        assert_true(cabs(at(d, 0) - prod) < tol(dt) * 10 * (1 + cabs(prod)));
        /* a triangular matrix: the product of its diagonal */
        txrt_tensor *T = randmat(dt, 5, 5, 32);
        double complex dg = 1;
        for (int i = 0; i < 5; i++) {
            for (int j = i + 1; j < 5; j++) txrt_set(T, i * 5 + j, 0, 0);
            dg *= at(T, i * 5 + i);
        }
        txrt_tensor *dt2 = txrt_det(&ctx, T);
        assert_true(cabs(at(dt2, 0) - dg) < tol(dt) * (1 + cabs(dg)));
        txrt_release(A); txrt_release(w); txrt_release(V); txrt_release(d);
        txrt_release(T); txrt_release(dt2);
    }
}

/* ---- cholesky, cho_solve -------------------------------------------------------- */

static void cholesky_all_dtypes(void **state) {
    (void)state;
    txrt_dtype dt;
    FOR_DTYPES(dt) {
        txrt_ctx ctx;
        txrt_ctx_init(&ctx);
        txrt_tensor *A = spd(dt, 6, 41), *A0 = txrt_tensor_copy(&ctx, A);
        txrt_tensor *L = txrt_cholesky(&ctx, A);
        assert_non_null(L);
        assert_int_equal(L->dtype, dt);
        for (int i = 0; i < 6; i++) {
            for (int j = i + 1; j < 6; j++) assert_true(cabs(at(L, i * 6 + j)) == 0);
            assert_true(creal(at(L, i * 6 + i)) > 0);
        }
        txrt_tensor *LL = mm(L, 'N', L, 'H');
        assert_true(maxdiff(LL, A) < tol(dt) * 10);
        assert_true(maxdiff(A, A0) == 0);
        /* cho_solve */
        txrt_tensor *B = randmat(dt, 6, 2, 42), *b = randmat(dt, 6, -1, 43);
        txrt_tensor *x = txrt_cho_solve(&ctx, L, B), *xv = txrt_cho_solve(&ctx, L, b);
        assert_non_null(x);
        assert_non_null(xv);
        assert_int_equal(xv->rank, 1);
        txrt_tensor *AX = mm(A, 'N', x, 'N'), *Ax = mm(A, 'N', xv, 'N');
        assert_true(maxdiff(AX, B) < tol(dt) * 10);
        assert_true(maxdiff(Ax, b) < tol(dt) * 10);
        txrt_release(A); txrt_release(A0); txrt_release(L); txrt_release(LL);
        txrt_release(B); txrt_release(b); txrt_release(x); txrt_release(xv);
        txrt_release(AX); txrt_release(Ax);
    }
}

static void cholesky_failures(void **state) {
    (void)state;
    txrt_dtype dt;
    FOR_DTYPES(dt) {
        txrt_ctx ctx;
        txrt_ctx_init(&ctx);
        const double d4[] = { 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0, 0, 0, -1 };
        txrt_tensor *A = from(dt, 4, 4, d4);
        assert_null(txrt_cholesky(&ctx, A));
        assert_string_equal(ctx.errmsg, "cholesky: matrix is not positive definite (leading minor of order 4)");
        const double i2[] = { 1, 2, 2, 1 };
        txrt_tensor *B = from(dt, 2, 2, i2);
        assert_null(txrt_cholesky(&ctx, B));
        assert_string_equal(ctx.errmsg, "cholesky: matrix is not positive definite (leading minor of order 2)");
        const double s0[] = { 0, 0, 0, 1 };
        txrt_tensor *S = from(dt, 2, 2, s0), *b = randmat(dt, 2, -1, 1);
        assert_null(txrt_cholesky(&ctx, S));
        assert_string_equal(ctx.errmsg, "cholesky: matrix is not positive definite (leading minor of order 1)");
        assert_null(txrt_cho_solve(&ctx, S, b));
        assert_string_equal(ctx.errmsg, "cho_solve: L is singular (L[0,0] is exactly zero); "
                                        "L must be the factor returned by cholesky");
        txrt_release(A); txrt_release(B); txrt_release(S); txrt_release(b);
    }
    /* only the lower triangle is read: garbage above it does not matter */
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    const double lo[] = { 4, 99, 2, 5 };
    txrt_tensor *A = from(TXRT_F64, 2, 2, lo), *L = txrt_cholesky(&ctx, A);
    assert_non_null(L);
    assert_true(fabs(creal(at(L, 0)) - 2) < 1e-15);
    assert_true(fabs(creal(at(L, 2)) - 1) < 1e-15);
    assert_true(fabs(creal(at(L, 3)) - 2) < 1e-15);
    txrt_release(A); txrt_release(L);
}

/* ---- eigh ------------------------------------------------------------------------ */

static void eigh_all_dtypes(void **state) {
    (void)state;
    txrt_dtype dt;
    FOR_DTYPES(dt) {
        txrt_ctx ctx;
        txrt_ctx_init(&ctx);
        txrt_tensor *A = herm(dt, 8, 51), *A0 = txrt_tensor_copy(&ctx, A), *w = NULL, *V = NULL;
        assert_int_equal(txrt_eigh(&ctx, A, &w, &V), 0);
        assert_int_equal(w->dtype, dt == TXRT_F32 || dt == TXRT_C64 ? TXRT_F32 : TXRT_F64);
        assert_int_equal(V->dtype, dt);
        assert_int_equal(w->rank, 1);
        assert_int_equal(w->shape[0], 8);
        for (int i = 1; i < 8; i++) assert_true(creal(at(w, i - 1)) <= creal(at(w, i)));
        txrt_tensor *AV = mm(A, 'N', V, 'N'), *VtV = mm(V, 'H', V, 'N');
        /* V diag(w) */
        txrt_tensor *VW = mm(V, 'N', V, 'H');                  /* placeholder of the right shape */
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 8; j++) {
                double complex v = at(V, i * 8 + j) * at(w, j);
                txrt_set(VW, i * 8 + j, creal(v), cimag(v));
            }
        assert_true(maxdiff(AV, VW) < tol(dt) * 20);
        assert_true(max_abs_identity(VtV) < tol(dt));
        assert_true(maxdiff(A, A0) == 0);
        txrt_release(A); txrt_release(A0); txrt_release(w); txrt_release(V);
        txrt_release(AV); txrt_release(VtV); txrt_release(VW);
    }
    /* a closed form: [[2,1],[1,2]] has eigenvalues 1, 3 */
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    const double s[] = { 2, 1, 1, 2 };
    txrt_tensor *A = from(TXRT_F64, 2, 2, s), *w, *V;
    assert_int_equal(txrt_eigh(&ctx, A, &w, &V), 0);
    assert_true(fabs(creal(at(w, 0)) - 1) < 1e-14);
    assert_true(fabs(creal(at(w, 1)) - 3) < 1e-14);
    txrt_release(A); txrt_release(w); txrt_release(V);
}

/* ---- svd ------------------------------------------------------------------------- */

static void svd_case(txrt_dtype dt, int64_t m, int64_t n) {
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    int64_t k = m < n ? m : n;
    txrt_tensor *A = randmat(dt, m, n, (uint64_t)(61 + m * 10 + n)), *A0 = txrt_tensor_copy(&ctx, A);
    txrt_tensor *U, *s, *Vt;
    assert_int_equal(txrt_svd(&ctx, A, &U, &s, &Vt), 0);
    assert_int_equal(U->shape[0], m);
    assert_int_equal(U->shape[1], k);
    assert_int_equal(s->shape[0], k);
    assert_int_equal(Vt->shape[0], k);
    assert_int_equal(Vt->shape[1], n);
    assert_int_equal(s->dtype, dt == TXRT_F32 || dt == TXRT_C64 ? TXRT_F32 : TXRT_F64);
    for (int64_t i = 0; i < k; i++) {
        assert_true(creal(at(s, i)) >= 0);
        if (i) assert_true(creal(at(s, i - 1)) >= creal(at(s, i)));
    }
    txrt_tensor *US = txrt_tensor_cast(&ctx, U, TXRT_C128);
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < k; j++) {
            double complex v = at(US, i * k + j) * at(s, j);
            txrt_set(US, i * k + j, creal(v), cimag(v));
        }
    txrt_tensor *R = mm(US, 'N', Vt, 'N'), *UU = mm(U, 'H', U, 'N'), *VV = mm(Vt, 'N', Vt, 'H');
    assert_true(maxdiff(R, A) < tol(dt) * 10);
    assert_true(max_abs_identity(UU) < tol(dt));
    assert_true(max_abs_identity(VV) < tol(dt));
    assert_true(maxdiff(A, A0) == 0);
    txrt_release(A); txrt_release(A0); txrt_release(U); txrt_release(s); txrt_release(Vt);
    txrt_release(US); txrt_release(R); txrt_release(UU); txrt_release(VV);
}

static void svd_all_dtypes(void **state) {
    (void)state;
    txrt_dtype dt;
    FOR_DTYPES(dt) {
        svd_case(dt, 7, 4);
        svd_case(dt, 4, 7);
        svd_case(dt, 5, 5);
        svd_case(dt, 1, 3);
    }
    /* closed form: diag(3, -2) has singular values 3, 2 */
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    const double d[] = { 3, 0, 0, -2 };
    txrt_tensor *A = from(TXRT_F64, 2, 2, d), *U, *s, *Vt;
    assert_int_equal(txrt_svd(&ctx, A, &U, &s, &Vt), 0);
    assert_true(fabs(creal(at(s, 0)) - 3) < 1e-15 && fabs(creal(at(s, 1)) - 2) < 1e-15);
    txrt_release(A); txrt_release(U); txrt_release(s); txrt_release(Vt);
}

/* ---- qr --------------------------------------------------------------------------- */

static void qr_case(txrt_dtype dt, int64_t m, int64_t n) {
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    int64_t k = m < n ? m : n;
    txrt_tensor *A = randmat(dt, m, n, (uint64_t)(71 + m * 10 + n)), *A0 = txrt_tensor_copy(&ctx, A);
    txrt_tensor *Q, *R;
    assert_int_equal(txrt_qr(&ctx, A, &Q, &R), 0);
    assert_int_equal(Q->dtype, dt);
    assert_int_equal(R->dtype, dt);
    assert_int_equal(Q->shape[0], m);
    assert_int_equal(Q->shape[1], k);
    assert_int_equal(R->shape[0], k);
    assert_int_equal(R->shape[1], n);
    for (int64_t i = 0; i < k; i++)
        for (int64_t j = 0; j < i && j < n; j++) assert_true(cabs(at(R, i * n + j)) == 0);
    txrt_tensor *QR = mm(Q, 'N', R, 'N'), *QQ = mm(Q, 'H', Q, 'N');
    assert_true(maxdiff(QR, A) < tol(dt) * 10);
    assert_true(max_abs_identity(QQ) < tol(dt));
    assert_true(maxdiff(A, A0) == 0);
    txrt_release(A); txrt_release(A0); txrt_release(Q); txrt_release(R);
    txrt_release(QR); txrt_release(QQ);
}

static void qr_all_dtypes(void **state) {
    (void)state;
    txrt_dtype dt;
    FOR_DTYPES(dt) {
        qr_case(dt, 8, 3);
        qr_case(dt, 3, 8);
        qr_case(dt, 5, 5);
        qr_case(dt, 6, 1);
    }
}

/* ---- lstsq ---------------------------------------------------------------------- */

static void lstsq_all_dtypes(void **state) {
    (void)state;
    txrt_dtype dt;
    FOR_DTYPES(dt) {
        txrt_ctx ctx;
        txrt_ctx_init(&ctx);
        /* overdetermined: x solves the normal equations A^H A x = A^H B */
        txrt_tensor *A = randmat(dt, 9, 4, 81), *B = randmat(dt, 9, 2, 82), *b = randmat(dt, 9, -1, 83);
        txrt_tensor *A0 = txrt_tensor_copy(&ctx, A), *B0 = txrt_tensor_copy(&ctx, B);
        txrt_tensor *x = txrt_lstsq(&ctx, A, B), *xv = txrt_lstsq(&ctx, A, b);
        assert_non_null(x);
        assert_non_null(xv);
        assert_int_equal(x->dtype, dt);
        assert_int_equal(x->rank, 2);
        assert_int_equal(x->shape[0], 4);
        assert_int_equal(x->shape[1], 2);
        assert_int_equal(xv->rank, 1);
        assert_int_equal(xv->shape[0], 4);
        txrt_tensor *N = mm(A, 'H', A, 'N'), *r = mm(A, 'H', B, 'N'), *rv = mm(A, 'H', b, 'N');
        txrt_tensor *xn = txrt_solve(&ctx, N, r), *xnv = txrt_solve(&ctx, N, rv);
        assert_true(maxdiff(x, xn) < tol(dt) * 10);
        assert_true(maxdiff(xv, xnv) < tol(dt) * 10);
        assert_true(maxdiff(A, A0) == 0 && maxdiff(B, B0) == 0);
        txrt_release(A); txrt_release(B); txrt_release(b); txrt_release(A0); txrt_release(B0);
        txrt_release(x); txrt_release(xv); txrt_release(N); txrt_release(r); txrt_release(rv);
        txrt_release(xn); txrt_release(xnv);
        /* underdetermined: the minimum-norm solution A^H (A A^H)^-1 b */
        A = randmat(dt, 3, 7, 84);
        b = randmat(dt, 3, -1, 85);
        x = txrt_lstsq(&ctx, A, b);
        assert_non_null(x);
        assert_int_equal(x->shape[0], 7);
        N = mm(A, 'N', A, 'H');
        txrt_tensor *y = txrt_solve(&ctx, N, b), *xm = mm(A, 'H', y, 'N');
        assert_true(maxdiff(x, xm) < tol(dt) * 10);
        txrt_release(A); txrt_release(b); txrt_release(x); txrt_release(N); txrt_release(y); txrt_release(xm);
    }
    /* rank deficient: two equal columns share the weight equally */
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    const double a[] = { 1, 1, 2, 2, 3, 3 }, bv[] = { 2, 4, 6 };
    txrt_tensor *A = from(TXRT_F64, 3, 2, a), *B = from(TXRT_F64, 3, 1, bv);
    txrt_tensor *x = txrt_lstsq(&ctx, A, B);
    assert_non_null(x);
    assert_true(fabs(creal(at(x, 0)) - 1) < 1e-12 && fabs(creal(at(x, 1)) - 1) < 1e-12);
    txrt_release(A); txrt_release(B); txrt_release(x);
}

/* ---- shapes, nan, empty --------------------------------------------------------- */

static void shape_errors(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    txrt_tensor *A34 = randmat(TXRT_F64, 3, 4, 1), *A33 = randmat(TXRT_F64, 3, 3, 2);
    txrt_tensor *b4 = randmat(TXRT_F64, 4, -1, 3), *B42 = randmat(TXRT_F64, 4, 2, 4);
    txrt_tensor *s = txrt_scalar_new(&ctx, TXRT_F64, 1, 0), *w, *V, *U, *sv, *Vt, *Q, *R;
    int64_t sh3[3] = { 3, 3, 1 };
    txrt_tensor *T3 = txrt_tensor_new(&ctx, TXRT_F64, 3, sh3);
#define EXPECT(call, msg) do { txrt_clear_error(&ctx); assert_null(call); \
        assert_int_not_equal(ctx.status, 0); assert_string_equal(ctx.errmsg, msg); } while (0)
#define EXPECT_RC(call, msg) do { txrt_clear_error(&ctx); assert_int_equal(call, -1); \
        assert_string_equal(ctx.errmsg, msg); } while (0)
    EXPECT(txrt_solve(&ctx, A34, b4), "solve: A must be square, got (3, 4)");
    EXPECT(txrt_solve(&ctx, A33, b4), "solve: B must have 3 rows to match A (3, 3), got shape (4,)");
    EXPECT(txrt_solve(&ctx, A33, B42), "solve: B must have 3 rows to match A (3, 3), got shape (4, 2)");
    EXPECT(txrt_solve(&ctx, A33, s), "solve: B must be a vector or a matrix (rank 1 or 2), got shape ()");
    EXPECT(txrt_solve(&ctx, A33, T3), "solve: B must be a vector or a matrix (rank 1 or 2), got shape (3, 3, 1)");
    EXPECT(txrt_solve(&ctx, NULL, b4), "solve: A is missing");
    EXPECT(txrt_inv(&ctx, A34), "inv: A must be square, got (3, 4)");
    EXPECT(txrt_inv(&ctx, s), "inv: A must be a matrix (rank 2), got shape ()");
    EXPECT(txrt_det(&ctx, b4), "det: A must be a matrix (rank 2), got shape (4,)");
    EXPECT(txrt_det(&ctx, A34), "det: A must be square, got (3, 4)");
    EXPECT(txrt_cholesky(&ctx, A34), "cholesky: A must be square, got (3, 4)");
    EXPECT(txrt_cho_solve(&ctx, A34, b4), "cho_solve: L must be square, got (3, 4)");
    EXPECT(txrt_lstsq(&ctx, A34, b4), "lstsq: B must have 3 rows to match A (3, 4), got shape (4,)");
    EXPECT(txrt_lstsq(&ctx, T3, b4), "lstsq: A must be a matrix (rank 2), got shape (3, 3, 1)");
    EXPECT_RC(txrt_eigh(&ctx, A34, &w, &V), "eigh: A must be square, got (3, 4)");
    assert_null(w);
    assert_null(V);
    EXPECT_RC(txrt_svd(&ctx, b4, &U, &sv, &Vt), "svd: A must be a matrix (rank 2), got shape (4,)");
    assert_null(U);
    EXPECT_RC(txrt_qr(&ctx, T3, &Q, &R), "qr: A must be a matrix (rank 2), got shape (3, 3, 1)");
    assert_null(Q);

    /* nan and inf where iterative algorithms would not converge */
    txrt_set(A33, 1 * 3 + 0, NAN, 0);
    EXPECT_RC(txrt_eigh(&ctx, A33, &w, &V), "eigh: A contains nan at [1,0]");
    EXPECT_RC(txrt_svd(&ctx, A33, &U, &sv, &Vt), "svd: A contains nan at [1,0]");
    EXPECT(txrt_cholesky(&ctx, A33), "cholesky: A contains nan at [1,0]");
    txrt_set(A34, 2 * 4 + 3, -INFINITY, 0);
    txrt_tensor *b3 = randmat(TXRT_F64, 3, -1, 5);
    EXPECT(txrt_lstsq(&ctx, A34, b3), "lstsq: A contains inf at [2,3]");
    txrt_release(b3);
    /* eigh reads the lower triangle only: nan above it is ignored */
    txrt_release(A33);
    A33 = herm(TXRT_F64, 3, 9);
    txrt_set(A33, 0 * 3 + 2, NAN, 0);
    txrt_clear_error(&ctx);
    assert_int_equal(txrt_eigh(&ctx, A33, &w, &V), 0);
    txrt_release(w); txrt_release(V);
#undef EXPECT
#undef EXPECT_RC
    txrt_release(A34); txrt_release(A33); txrt_release(b4); txrt_release(B42); txrt_release(s); txrt_release(T3);
}

/* Elsewhere nan and inf propagate into the results, as in numpy (LAPACKE's
 * own nan scan, which would report an "illegal argument", is off). */
static void nan_propagates(void **state) {
    (void)state;
    txrt_dtype dt;
    FOR_DTYPES(dt) {
        txrt_ctx ctx;
        txrt_ctx_init(&ctx);
        txrt_tensor *A = wellcond(dt, 4, 3), *b = randmat(dt, 4, -1, 4), *Q, *R;
        txrt_set(A, 5, NAN, 0);
        txrt_tensor *x = txrt_solve(&ctx, A, b), *Ai = txrt_inv(&ctx, A), *d = txrt_det(&ctx, A);
        assert_int_equal(ctx.status, 0);
        assert_non_null(x);
        assert_non_null(Ai);
        assert_non_null(d);
        assert_true(isnan(creal(at(x, 0))) || isnan(cimag(at(x, 0))));
        assert_true(isnan(creal(at(d, 0))) || isnan(cimag(at(d, 0))));
        assert_int_equal(txrt_qr(&ctx, A, &Q, &R), 0);
        txrt_tensor *L = spd(dt, 4, 5), *bn = txrt_tensor_copy(&ctx, b);
        txrt_set(bn, 2, INFINITY, 0);
        txrt_tensor *Lc = txrt_cholesky(&ctx, L), *y = txrt_cho_solve(&ctx, Lc, bn);
        assert_non_null(y);
        assert_int_equal(ctx.status, 0);
        txrt_release(A); txrt_release(b); txrt_release(x); txrt_release(Ai); txrt_release(d);
        txrt_release(Q); txrt_release(R); txrt_release(L); txrt_release(bn); txrt_release(Lc); txrt_release(y);
    }
}

static void empty_matrices(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    int64_t z[2] = { 0, 0 }, z3[2] = { 0, 3 }, zv[1] = { 0 };
    txrt_tensor *A = txrt_tensor_new(&ctx, TXRT_F64, 2, z), *b = txrt_tensor_new(&ctx, TXRT_F64, 1, zv);
    txrt_tensor *x = txrt_solve(&ctx, A, b);
    assert_non_null(x);
    assert_int_equal(x->size, 0);
    txrt_release(x);
    x = txrt_inv(&ctx, A);
    assert_non_null(x);
    assert_int_equal(x->size, 0);
    txrt_release(x);
    /* no right-hand sides: an empty x, even for a singular A (as numpy) */
    int64_t n0[2] = { 3, 0 };
    txrt_tensor *A3 = wellcond(TXRT_F64, 3, 1), *B0 = txrt_tensor_new(&ctx, TXRT_F64, 2, n0);
    x = txrt_solve(&ctx, A3, B0);
    assert_non_null(x);
    assert_int_equal(x->shape[0], 3);
    assert_int_equal(x->shape[1], 0);
    txrt_release(x);
    for (int i = 0; i < 3; i++) txrt_set(A3, i * 3 + 2, 0, 0);
    x = txrt_solve(&ctx, A3, B0);
    assert_non_null(x);
    assert_int_equal(x->size, 0);
    txrt_release(x);
    txrt_release(A3);
    txrt_release(B0);
    txrt_clear_error(&ctx);
    txrt_tensor *W = txrt_tensor_new(&ctx, TXRT_C128, 2, z3), *U, *s, *Vt, *Q, *R;
    assert_int_equal(txrt_svd(&ctx, W, &U, &s, &Vt), 0);
    assert_int_equal(U->shape[0], 0);
    assert_int_equal(s->shape[0], 0);
    assert_int_equal(Vt->shape[1], 3);
    assert_int_equal(txrt_qr(&ctx, W, &Q, &R), 0);
    assert_int_equal(R->shape[1], 3);
    txrt_tensor *e = txrt_lstsq(&ctx, W, b);
    assert_non_null(e);
    assert_int_equal(e->shape[0], 3);
    assert_true(cabs(at(e, 0)) == 0);
    txrt_release(A); txrt_release(b); txrt_release(W); txrt_release(U); txrt_release(s);
    txrt_release(Vt); txrt_release(Q); txrt_release(R); txrt_release(e);
}

/* ---- gemm ------------------------------------------------------------------------- */

/* C = alpha op(A) op(B) + beta C with every combination of 'N', 'T', 'C',
 * padded leading dimensions, against hand loops. */
static void gemm_vs_loops(void **state) {
    (void)state;
    const char ops[] = { 'N', 'T', 'C' };
    txrt_dtype dt;
    FOR_DTYPES(dt) {
        int cplx = txrt_dtype_is_complex(dt);
        for (int ia = 0; ia < 3; ia++)
            for (int ib = 0; ib < 3; ib++) {
                txrt_ctx ctx;
                txrt_ctx_init(&ctx);
                int64_t m = 5, n = 4, k = 3;
                char ta = ops[ia], tb = ops[ib];
                int64_t ar = ta == 'N' ? m : k, ac = ta == 'N' ? k : m;
                int64_t br = tb == 'N' ? k : n, bc = tb == 'N' ? n : k;
                int64_t lda = ac + 2, ldb = bc + 1, ldc = n + 3;
                txrt_tensor *A = randmat(dt, ar, lda, 91), *B = randmat(dt, br, ldb, 92);
                txrt_tensor *C = randmat(dt, m, ldc, 93), *C0 = txrt_tensor_copy(&ctx, C);
                double complex alpha = cplx ? 1.5 - 0.5 * I : 1.5, beta = cplx ? -0.25 + 2 * I : -0.25;
                int rc = cplx ? txrt_gemm_c(&ctx, ta, tb, m, n, k, creal(alpha), cimag(alpha), A->data, lda,
                                            B->data, ldb, creal(beta), cimag(beta), C->data, ldc, dt)
                              : txrt_gemm(&ctx, ta, tb, m, n, k, creal(alpha), A->data, lda, B->data, ldb,
                                          creal(beta), C->data, ldc, dt);
                assert_int_equal(rc, 0);
                for (int64_t i = 0; i < m; i++)
                    for (int64_t j = 0; j < ldc; j++) {
                        double complex want = at(C0, i * ldc + j);   /* padding untouched */
                        if (j < n) {
                            double complex s = 0;
                            for (int64_t p = 0; p < k; p++) {
                                double complex a = ta == 'N' ? at(A, i * lda + p) : at(A, p * lda + i);
                                double complex b = tb == 'N' ? at(B, p * ldb + j) : at(B, j * ldb + p);
                                if (ta == 'C') a = conj(a);
                                if (tb == 'C') b = conj(b);
                                s += a * b;
                            }
                            want = alpha * s + beta * want;
                        }
                        assert_true(cabs(at(C, i * ldc + j) - want) < tol(dt) * 10);
                    }
                txrt_release(A); txrt_release(B); txrt_release(C); txrt_release(C0);
            }
    }
    /* beta = 0 ignores C (even nan); argument errors */
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    double a[2] = { 1, 2 }, b[2] = { 3, 4 }, c[1] = { NAN };
    assert_int_equal(txrt_gemm(&ctx, 'N', 'N', 1, 1, 2, 1, a, 2, b, 1, 0, c, 1, TXRT_F64), 0);
    assert_true(c[0] == 11);
    assert_int_equal(txrt_gemm(&ctx, 'X', 'N', 1, 1, 2, 1, a, 2, b, 1, 0, c, 1, TXRT_F64), -1);
    assert_string_equal(ctx.errmsg, "gemm: internal error: transA is 'X', expected 'N', 'T' or 'C'");
    assert_int_equal(txrt_gemm(&ctx, 'N', 'N', 1, 1, 2, 1, a, 1, b, 1, 0, c, 1, TXRT_F64), -1);
    assert_int_equal(txrt_gemm(&ctx, 'N', 'N', -1, 1, 2, 1, a, 2, b, 1, 0, c, 1, TXRT_F64), -1);
    /* k = 0: C = beta C */
    c[0] = 4;
    assert_int_equal(txrt_gemm(&ctx, 'N', 'N', 1, 1, 0, 1, a, 1, b, 1, 0.5, c, 1, TXRT_F64), 0);
    assert_true(c[0] == 2);
}

/* LAPACK on matrices under 320 rows runs on one OpenBLAS thread, larger
 * ones on the configured count (runtime/linalg.c, LAPACK_THREAD_N). */
int openblas_get_num_threads(void);
extern int openblas_thread_timeout(void) __attribute__((weak));
static void small_lapack_one_thread(void **state) {
    (void)state;
    bool user_timeout = getenv("OPENBLAS_THREAD_TIMEOUT") != NULL;
    txrt_blas_quiet_workers();
    txrt_ctx ctx = { 0 };
    int before = openblas_get_num_threads();
    txrt_blas_set_threads(2);
    for (int pass = 0; pass < 2; pass++) {
        int64_t n = pass ? 400 : 64;
        txrt_tensor *A = txrt_tensor_new(&ctx, TXRT_F64, 2, (int64_t[]){ n, n });
        for (int64_t i = 0; i < n; i++) txrt_set(A, i * n + i, 2.0 + (double)i, 0);
        txrt_tensor *w = NULL, *V = NULL;
        assert_int_equal(txrt_eigh(&ctx, A, &w, &V), 0);
        assert_int_equal(openblas_get_num_threads(), pass ? 2 : 1);
        assert_true(fabs(((double *)w->data)[n - 1] - (1.0 + (double)n)) < 1e-12 * (double)n);
        txrt_release(A);
        txrt_release(w);
        txrt_release(V);
    }
    txrt_blas_set_threads(before);
    /* OpenBLAS's idle workers were told to sleep soon (runtime/linalg.c,
     * txrt_blas_quiet_workers) unless the user had set their timeout, and
     * the restarted server still runs threaded LAPACK */
    if (openblas_thread_timeout && !user_timeout) assert_int_equal(openblas_thread_timeout(), 20);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_lapack_one_thread),
        cmocka_unit_test(solve_all_dtypes),
        cmocka_unit_test(solve_promotes),
        cmocka_unit_test(singular_messages),
        cmocka_unit_test(inv_all_dtypes),
        cmocka_unit_test(det_closed_forms),
        cmocka_unit_test(det_is_product_of_eigenvalues),
        cmocka_unit_test(cholesky_all_dtypes),
        cmocka_unit_test(cholesky_failures),
        cmocka_unit_test(eigh_all_dtypes),
        cmocka_unit_test(svd_all_dtypes),
        cmocka_unit_test(qr_all_dtypes),
        cmocka_unit_test(lstsq_all_dtypes),
        cmocka_unit_test(shape_errors),
        cmocka_unit_test(nan_propagates),
        cmocka_unit_test(empty_matrices),
        cmocka_unit_test(gemm_vs_loops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
