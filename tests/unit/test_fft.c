/*
 * test_fft.c -- fft, ifft, fft2, ifft2, rfft, irfft (runtime/fft.c).
 *
 * Every transform is compared with a direct O(n^2) DFT sum (twiddles
 * reduced mod n, so the reference is accurate) for every dtype, every
 * axis (positive and negative) of tensors of rank 1 to 3, odd, even, prime
 * and unit sizes.  Also numpy's conventions (ifft(fft(x)) = x, the
 * transform of a delta is all ones, a known 4-point transform, Parseval),
 * rfft/irfft round trips for odd and even n, irfft's cropping, padding and
 * handling of the imaginary parts of the zero-frequency and Nyquist terms,
 * inputs left untouched, unaligned inputs, the plan cache (reuse, sharing
 * between shapes that collapse alike, cleanup), concurrent use from
 * several threads, and the error messages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <complex.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "txrt_linalg.h"

static const txrt_dtype all_dtypes[] = { TXRT_F64, TXRT_F32, TXRT_C128, TXRT_C64 };

static int single(txrt_dtype dt) { return dt == TXRT_F32 || dt == TXRT_C64; }
static double tol(txrt_dtype dt) { return single(dt) ? 2e-5 : 1e-13; }

static double complex at(const txrt_tensor *t, int64_t i) {
    double re, im;
    txrt_get(t, i, &re, &im);
    return re + im * I;
}

static txrt_tensor *randt(txrt_dtype dt, int rank, const int64_t *shape, uint64_t seed) {
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    txrt_tensor *t = txrt_tensor_new(&ctx, dt, rank, shape);
    assert_non_null(t);
    txrt_fill_randn(t, seed);
    return t;
}

/* Direct DFT of X along axis ax (c128 result), numpy's sign and scaling. */
static txrt_tensor *ref_fft(const txrt_tensor *X, int ax, int inverse) {
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    txrt_tensor *Y = txrt_tensor_new(&ctx, TXRT_C128, X->rank, X->shape);
    int64_t outer = 1, inner = 1, n = X->shape[ax];
    for (int d = 0; d < ax; d++) outer *= X->shape[d];
    for (int d = ax + 1; d < X->rank; d++) inner *= X->shape[d];
    double sgn = inverse ? 1 : -1;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++)
            for (int64_t k = 0; k < n; k++) {
                double complex s = 0;
                for (int64_t t = 0; t < n; t++) {
                    double ang = sgn * 2 * M_PI * (double)((k * t) % n) / (double)n;
                    s += at(X, (o * n + t) * inner + i) * cexp(ang * I);
                }
                if (inverse) s /= (double)n;
                txrt_set(Y, (o * n + k) * inner + i, creal(s), cimag(s));
            }
    return Y;
}

/* max |a - b| / (1 + max |b|) */
static double reldiff(const txrt_tensor *a, const txrt_tensor *b) {
    assert_int_equal(a->size, b->size);
    double d = 0, m = 0;
    for (int64_t i = 0; i < a->size; i++) {
        double e = cabs(at(a, i) - at(b, i));
        if (!(e <= d)) d = e;
        if (cabs(at(b, i)) > m) m = cabs(at(b, i));
    }
    return d / (1 + m);
}

static void same_shape(const txrt_tensor *a, const txrt_tensor *b) {
    assert_int_equal(a->rank, b->rank);
    for (int d = 0; d < a->rank; d++) assert_int_equal(a->shape[d], b->shape[d]);
}

static txrt_dtype complex_of(txrt_dtype dt) { return single(dt) ? TXRT_C64 : TXRT_C128; }

/* ---- c2c against the direct sums ------------------------------------------------- */

static const struct { int rank; int64_t shape[3]; } shapes[] = {
    { 1, { 1 } }, { 1, { 2 } }, { 1, { 7 } }, { 1, { 8 } }, { 1, { 12 } }, { 1, { 31 } },
    { 2, { 4, 6 } }, { 2, { 3, 5 } }, { 2, { 1, 9 } }, { 2, { 6, 1 } },
    { 3, { 2, 3, 5 } }, { 3, { 3, 1, 4 } }, { 3, { 4, 6, 2 } },
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

static void fft_vs_dft(void **state) {
    (void)state;
    for (size_t di = 0; di < 4; di++) {
        txrt_dtype dt = all_dtypes[di];
        for (size_t si = 0; si < NSHAPES; si++) {
            int r = shapes[si].rank;
            txrt_tensor *X = randt(dt, r, shapes[si].shape, 100 + si);
            txrt_ctx ctx;
            txrt_ctx_init(&ctx);
            txrt_tensor *X0 = txrt_tensor_copy(&ctx, X);
            for (int axis = -r; axis < r; axis++)
                for (int inv = 0; inv < 2; inv++) {
                    int ax = axis < 0 ? axis + r : axis;
                    txrt_tensor *Y = txrt_fft(&ctx, X, axis, inv);
                    assert_non_null(Y);
                    assert_int_equal(ctx.status, 0);
                    assert_int_equal(Y->dtype, complex_of(dt));
                    same_shape(Y, X);
                    txrt_tensor *R = ref_fft(X, ax, inv);
                    assert_true(reldiff(Y, R) < tol(dt) * shapes[si].shape[ax]);
                    assert_true(reldiff(X, X0) == 0);           /* input untouched */
                    txrt_release(Y);
                    txrt_release(R);
                }
            txrt_release(X);
            txrt_release(X0);
        }
    }
}

static void fft2_vs_dft(void **state) {
    (void)state;
    for (size_t di = 0; di < 4; di++) {
        txrt_dtype dt = all_dtypes[di];
        for (size_t si = 0; si < NSHAPES; si++) {
            int r = shapes[si].rank;
            if (r < 2) continue;
            txrt_tensor *X = randt(dt, r, shapes[si].shape, 200 + si);
            txrt_ctx ctx;
            txrt_ctx_init(&ctx);
            for (int inv = 0; inv < 2; inv++) {
                txrt_tensor *Y = txrt_fft2(&ctx, X, inv);
                assert_non_null(Y);
                assert_int_equal(Y->dtype, complex_of(dt));
                same_shape(Y, X);
                txrt_tensor *R1 = ref_fft(X, r - 1, inv), *R = ref_fft(R1, r - 2, inv);
                assert_true(reldiff(Y, R) < tol(dt) * 10);
                txrt_release(Y); txrt_release(R1); txrt_release(R);
            }
            txrt_release(X);
        }
    }
}

/* ---- numpy's conventions ------------------------------------------------------- */

static void conventions(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    for (size_t di = 0; di < 4; di++) {
        txrt_dtype dt = all_dtypes[di];
        /* ifft(fft(x)) = x and fft(ifft(x)) = x */
        int64_t sh[2] = { 3, 10 };
        txrt_tensor *X = randt(dt, 2, sh, 7);
        txrt_tensor *F = txrt_fft(&ctx, X, -1, 0), *B = txrt_fft(&ctx, F, -1, 1);
        txrt_tensor *G = txrt_fft(&ctx, X, 0, 1), *C = txrt_fft(&ctx, G, 0, 0);
        txrt_tensor *F2 = txrt_fft2(&ctx, X, 0), *B2 = txrt_fft2(&ctx, F2, 1);
        assert_true(reldiff(B, X) < tol(dt) * 10);
        assert_true(reldiff(C, X) < tol(dt) * 10);
        assert_true(reldiff(B2, X) < tol(dt) * 10);
        /* Parseval: sum |x|^2 = sum |X|^2 / n along the axis */
        double ex = 0, ef = 0;
        for (int64_t i = 0; i < X->size; i++) ex += pow(cabs(at(X, i)), 2), ef += pow(cabs(at(F, i)), 2);
        assert_true(fabs(ex - ef / 10) < tol(dt) * 10 * ex);
        txrt_release(X); txrt_release(F); txrt_release(B); txrt_release(G); txrt_release(C);
        txrt_release(F2); txrt_release(B2);
        /* a delta transforms to all ones, ones to n times a delta */
        int64_t n8[1] = { 8 };
        txrt_tensor *d = txrt_tensor_new(&ctx, dt, 1, n8), *o = txrt_tensor_new(&ctx, dt, 1, n8);
        txrt_set(d, 0, 1, 0);
        for (int i = 0; i < 8; i++) txrt_set(o, i, 1, 0);
        txrt_tensor *Fd = txrt_fft(&ctx, d, 0, 0), *Fo = txrt_fft(&ctx, o, 0, 0), *Io = txrt_fft(&ctx, o, 0, 1);
        for (int i = 0; i < 8; i++) {
            assert_true(cabs(at(Fd, i) - 1) < tol(dt));
            assert_true(cabs(at(Fo, i) - (i == 0 ? 8 : 0)) < tol(dt) * 8);
            assert_true(cabs(at(Io, i) - (i == 0 ? 1 : 0)) < tol(dt));   /* ifft scales by 1/n */
        }
        txrt_release(d); txrt_release(o); txrt_release(Fd); txrt_release(Fo); txrt_release(Io);
        /* numpy: fft([1,2,3,4]) = [10, -2+2j, -2, -2-2j]; the sign convention is e^{-i...} */
        int64_t n4[1] = { 4 };
        txrt_tensor *x = txrt_tensor_new(&ctx, dt, 1, n4);
        for (int i = 0; i < 4; i++) txrt_set(x, i, i + 1, 0);
        txrt_tensor *y = txrt_fft(&ctx, x, -1, 0);
        const double complex want[4] = { 10, -2 + 2 * I, -2, -2 - 2 * I };
        for (int i = 0; i < 4; i++) assert_true(cabs(at(y, i) - want[i]) < tol(dt) * 10);
        /* and numpy's rfft of it: [10, -2+2j, -2] */
        if (!txrt_dtype_is_complex(dt)) {
            txrt_tensor *ry = txrt_rfft(&ctx, x);
            assert_int_equal(ry->shape[0], 3);
            for (int i = 0; i < 3; i++) assert_true(cabs(at(ry, i) - want[i]) < tol(dt) * 10);
            txrt_release(ry);
        }
        txrt_release(x); txrt_release(y);
    }
}

/* ---- rfft / irfft ---------------------------------------------------------------- */

/* numpy's irfft by definition: crop/pad to h = n/2+1 points, drop the
 * imaginary parts of the zero-frequency and (n even) Nyquist terms, extend
 * Hermitian, inverse DFT, real part. */
static double ref_irfft_at(const txrt_tensor *X, int64_t row, int64_t n, int64_t t) {
    int64_t m = X->shape[X->rank - 1], h = n / 2 + 1;
    double complex s = 0;
    for (int64_t k = 0; k < n; k++) {
        int64_t j = k < h ? k : n - k;
        double complex v = j < m ? at(X, row * m + j) : 0;
        if (j == 0 || (n % 2 == 0 && j == n / 2)) v = creal(v);
        if (k >= h) v = conj(v);
        s += v * cexp(2 * M_PI * I * (double)((k * t) % n) / (double)n);
    }
    return creal(s) / (double)n;
}

static void rfft_irfft(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    const txrt_dtype reals[2] = { TXRT_F64, TXRT_F32 };
    for (int ri = 0; ri < 2; ri++) {
        txrt_dtype dt = reals[ri];
        for (int64_t n = 1; n <= 12; n++) {
            int64_t sh[2] = { 3, n };
            txrt_tensor *x = randt(dt, 2, sh, 300 + n), *x0 = txrt_tensor_copy(&ctx, x);
            txrt_tensor *X = txrt_rfft(&ctx, x);
            assert_non_null(X);
            assert_int_equal(X->dtype, complex_of(dt));
            assert_int_equal(X->rank, 2);
            assert_int_equal(X->shape[0], 3);
            assert_int_equal(X->shape[1], n / 2 + 1);
            txrt_tensor *R = ref_fft(x, 1, 0);
            for (int64_t b = 0; b < 3; b++)
                for (int64_t k = 0; k <= n / 2; k++)
                    assert_true(cabs(at(X, b * (n / 2 + 1) + k) - at(R, b * n + k)) < tol(dt) * 10 * n);
            assert_true(reldiff(x, x0) == 0);
            /* round trip with the explicit n (odd n needs it) */
            txrt_tensor *y = txrt_irfft(&ctx, X, n);
            assert_non_null(y);
            assert_int_equal(y->dtype, dt);
            same_shape(y, x);
            assert_true(reldiff(y, x) < tol(dt) * 10);
            /* the default n = 2(m-1) recovers even lengths */
            if (n % 2 == 0 && n >= 2) {
                txrt_tensor *yd = txrt_irfft(&ctx, X, 0);
                assert_non_null(yd);
                same_shape(yd, x);
                assert_true(reldiff(yd, x) < tol(dt) * 10);
                txrt_release(yd);
            }
            txrt_release(x); txrt_release(x0); txrt_release(X); txrt_release(R); txrt_release(y);
        }
    }
    /* irfft of arbitrary complex data (imaginary DC and Nyquist parts, which
     * numpy ignores), cropped and padded, against the definition */
    for (size_t di = 0; di < 4; di++) {
        txrt_dtype dt = all_dtypes[di];
        int64_t sh[2] = { 2, 5 };
        txrt_tensor *X = randt(dt, 2, sh, 400), *X0 = txrt_tensor_copy(&ctx, X);
        const int64_t ns[] = { 0, 3, 4, 7, 8, 9, 13, 20 };
        for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
            int64_t n = ns[i] ? ns[i] : 8;
            txrt_tensor *y = txrt_irfft(&ctx, X, ns[i]);
            assert_non_null(y);
            assert_int_equal(y->dtype, single(dt) ? TXRT_F32 : TXRT_F64);
            assert_int_equal(y->shape[1], n);
            for (int64_t b = 0; b < 2; b++)
                for (int64_t t = 0; t < n; t++)
                    assert_true(fabs(creal(at(y, b * n + t)) - ref_irfft_at(X, b, n, t)) < tol(dt) * 10);
            txrt_release(y);
        }
        assert_true(reldiff(X, X0) == 0);
        txrt_release(X); txrt_release(X0);
    }
}

/* ---- plan cache -------------------------------------------------------------------- */

static void plan_cache(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    txrt_fft_cleanup();
    txrt_fft_stats s0 = txrt_fft_cache_stats();
    assert_int_equal(s0.plans, 0);
    int64_t a[2] = { 4, 6 }, b[3] = { 2, 2, 6 };
    txrt_tensor *X = randt(TXRT_C128, 2, a, 1), *Z = randt(TXRT_C128, 3, b, 2);
    txrt_tensor *Y = txrt_fft(&ctx, X, 1, 0);
    txrt_fft_stats s1 = txrt_fft_cache_stats();
    assert_int_equal(s1.plans, 1);
    assert_int_equal(s1.misses, 1);
    assert_int_equal(s1.hits, 0);
    txrt_release(Y);
    Y = txrt_fft(&ctx, X, -1, 0);                      /* the same transform: reused */
    txrt_fft_stats s2 = txrt_fft_cache_stats();
    assert_int_equal(s2.plans, 1);
    assert_int_equal(s2.hits, 1);
    txrt_release(Y);
    Y = txrt_fft(&ctx, Z, 2, 0);                       /* (2,2,6) along 6 is (4, 6, 1) too */
    txrt_fft_stats s3 = txrt_fft_cache_stats();
    assert_int_equal(s3.plans, 1);
    assert_int_equal(s3.hits, 2);
    txrt_tensor *R = ref_fft(Z, 2, 0);
    assert_true(reldiff(Y, R) < 1e-13);
    txrt_release(Y); txrt_release(R);
    Y = txrt_fft(&ctx, X, 1, 1);                       /* other direction: a new plan */
    assert_int_equal(txrt_fft_cache_stats().plans, 2);
    txrt_release(Y);
    Y = txrt_fft(&ctx, X, 0, 0);                       /* other axis: a new plan */
    assert_int_equal(txrt_fft_cache_stats().plans, 3);
    txrt_release(Y);
    txrt_tensor *Xr = txrt_tensor_cast(&ctx, X, TXRT_F64);
    Y = txrt_fft(&ctx, Xr, 1, 0);                      /* real input: in place on a converted copy */
    assert_int_equal(txrt_fft_cache_stats().plans, 4);
    txrt_release(Y);
    txrt_fft_cleanup();
    assert_int_equal(txrt_fft_cache_stats().plans, 0);
    Y = txrt_fft(&ctx, X, 1, 0);                       /* works again after cleanup */
    R = ref_fft(X, 1, 0);
    assert_true(reldiff(Y, R) < 1e-13);
    assert_int_equal(txrt_fft_cache_stats().plans, 1);
    txrt_release(Y); txrt_release(R); txrt_release(X); txrt_release(Z); txrt_release(Xr);
}

/* Several threads transforming several shapes at once (planning races on
 * the cache, executing concurrently). */
typedef struct { int id; int ok; } worker_arg;

static void *worker(void *p) {
    worker_arg *w = p;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    w->ok = 1;
    for (int it = 0; it < 20; it++) {
        int64_t sh[2] = { 3, 5 + (it + w->id) % 7 };
        txrt_dtype dt = all_dtypes[(it + w->id) % 4];
        txrt_tensor *X = randt(dt, 2, sh, (uint64_t)(it * 100 + w->id));
        txrt_tensor *Y = txrt_fft(&ctx, X, -1, it % 2), *R = ref_fft(X, 1, it % 2);
        if (!Y || reldiff(Y, R) > tol(dt) * 20) w->ok = 0;
        txrt_release(X); txrt_release(Y); txrt_release(R);
    }
    return NULL;
}

static void threads(void **state) {
    (void)state;
    txrt_fft_cleanup();
    pthread_t th[6];
    worker_arg args[6];
    for (int i = 0; i < 6; i++) {
        args[i].id = i;
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], NULL);
        assert_true(args[i].ok);
    }
}

/* A tensor wrapping memory that is not 64-byte aligned (as a tensor over
 * foreign memory could): transformed through an aligned copy. */
static void unaligned_input(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    double *mem = malloc(sizeof(double) * (2 * 12 + 1));
    txrt_tensor t;
    memset(&t, 0, sizeof t);
    t.data = mem + 1;
    t.rank = 1;
    t.shape[0] = 12;
    t.size = 12;
    t.dtype = TXRT_C128;
    t.refcount = 1;
    for (int i = 0; i < 24; i++) mem[1 + i] = sin(i * 0.7);
    txrt_tensor *Y = txrt_fft(&ctx, &t, 0, 0), *R = ref_fft(&t, 0, 0);
    assert_true(reldiff(Y, R) < 1e-13);
    txrt_release(Y); txrt_release(R);
    t.dtype = TXRT_F64;
    Y = txrt_rfft(&ctx, &t);
    R = ref_fft(&t, 0, 0);
    for (int k = 0; k < 7; k++) assert_true(cabs(at(Y, k) - at(R, k)) < 1e-12);
    txrt_release(Y); txrt_release(R);
    /* real input goes through the half-spectrum route: fft and, as 3 x 4,
     * fft2 and ifft2, against the direct sums */
    Y = txrt_fft(&ctx, &t, 0, 0);
    R = ref_fft(&t, 0, 0);
    assert_true(reldiff(Y, R) < 1e-13);
    txrt_release(Y); txrt_release(R);
    t.rank = 2;
    t.shape[0] = 3;
    t.shape[1] = 4;
    for (int inv = 0; inv < 2; inv++) {
        txrt_tensor *R1 = ref_fft(&t, 1, inv);
        R = ref_fft(R1, 0, inv);
        Y = txrt_fft2(&ctx, &t, inv);
        assert_true(reldiff(Y, R) < 1e-13);
        txrt_release(Y); txrt_release(R); txrt_release(R1);
    }
    free(mem);
}

/* Transforms big enough to be split across the thread pool (rows in
 * aligned chunks, column blocks per thread), with row lengths whose bytes
 * are not multiples of 64, against the direct sums.  Two threads are asked
 * for whatever the machine has; one thread must give the same values. */
static void large_on_threads(void **state) {
    (void)state;
    static const struct { txrt_dtype dt; int64_t shape[2]; } cases[] = {
        { TXRT_C128, { 256, 256 } }, { TXRT_C64, { 129, 255 } }, { TXRT_F32, { 130, 257 } }, { TXRT_F64, { 200, 202 } },
    };
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        txrt_tensor *X = randt(cases[ci].dt, 2, cases[ci].shape, 300 + ci);
        for (int inv = 0; inv < 2; inv++) {
            txrt_tensor *R1 = ref_fft(X, 1, inv), *R = ref_fft(R1, 0, inv);
            txrt_set_threads(2);
            txrt_tensor *Y2 = txrt_fft2(&ctx, X, inv), *F2 = txrt_fft(&ctx, X, -1, inv);
            txrt_set_threads(1);
            txrt_tensor *Y1 = txrt_fft2(&ctx, X, inv);
            txrt_set_threads(0);
            assert_non_null(Y2);
            assert_non_null(Y1);
            assert_non_null(F2);
            assert_int_equal(ctx.status, 0);
            double t = single(cases[ci].dt) ? 1e-4 : 1e-11;
            assert_true(reldiff(Y2, R) < t);
            assert_true(reldiff(Y1, R) < t);
            assert_true(reldiff(F2, R1) < t);
            txrt_release(Y2); txrt_release(Y1); txrt_release(F2); txrt_release(R1); txrt_release(R);
        }
        txrt_release(X);
    }
}

/* Shapes for the real routes: odd, even and unit sizes, a batch axis, and
 * one big enough to be split across threads. */
static const struct { int rank; int64_t shape[3]; } route_cases[] = {
    { 2, { 4, 6 } }, { 2, { 3, 5 } }, { 2, { 1, 9 } }, { 2, { 6, 1 } }, { 2, { 1, 1 } },
    { 3, { 2, 3, 5 } }, { 3, { 3, 4, 2 } }, { 2, { 256, 254 } },
};

/* max |Y - re Z| over the elements, and max |re Z| in *m */
static double real_diff(const txrt_tensor *Y, const txrt_tensor *Z, double *m) {
    double d = 0;
    *m = 0;
    for (int64_t i = 0; i < Y->size; i++) {
        double y, z;
        txrt_get(Y, i, &y, NULL);
        txrt_get(Z, i, &z, NULL);
        if (fabs(y - z) > d) d = fabs(y - z);
        if (fabs(z) > *m) *m = fabs(z);
    }
    return d;
}

/* real(ifft2(X)) by the Hermitian part and c2r, against the real part of
 * the complex inverse, for non-Hermitian complex input of every shape
 * (odd, even, unit sizes, a batch axis) and a size split across threads. */
static void ifft2_real_route(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    const txrt_dtype cdts[2] = { TXRT_C128, TXRT_C64 };
    for (int di = 0; di < 2; di++)
        for (size_t ci = 0; ci < sizeof route_cases / sizeof route_cases[0]; ci++) {
            txrt_tensor *X = randt(cdts[di], route_cases[ci].rank, route_cases[ci].shape, 500 + ci);
            txrt_tensor *Y = txrt_ifft2_real(&ctx, X), *Z = txrt_fft2(&ctx, X, 1);
            assert_non_null(Y);
            assert_non_null(Z);
            assert_int_equal(ctx.status, 0);
            assert_int_equal(Y->dtype, di ? TXRT_F32 : TXRT_F64);
            same_shape(Y, X);
            double m, d = real_diff(Y, Z, &m);
            assert_true(d <= tol(cdts[di]) * 10 * (1 + m));
            txrt_release(X); txrt_release(Y); txrt_release(Z);
        }
}

/* real(ifft2(fft2(A) * fft2(B))) from half spectra, against the full
 * complex route (fft2, product, ifft2, real part), for real inputs of
 * every shape (odd, even, unit sizes, a batch axis, a size split across
 * threads), in both precisions; mismatched inputs are refused. */
static void fft2_conv_real_route(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    const txrt_dtype dts[2] = { TXRT_F64, TXRT_F32 };
    for (int di = 0; di < 2; di++)
        for (size_t ci = 0; ci < sizeof route_cases / sizeof route_cases[0]; ci++) {
            txrt_tensor *A = randt(dts[di], route_cases[ci].rank, route_cases[ci].shape, 700 + ci);
            txrt_tensor *B = randt(dts[di], route_cases[ci].rank, route_cases[ci].shape, 800 + ci);
            txrt_tensor *Y = txrt_fft2_conv_real(&ctx, A, B);
            txrt_tensor *FA = txrt_fft2(&ctx, A, 0), *FB = txrt_fft2(&ctx, B, 0);
            assert_non_null(Y);
            assert_non_null(FA);
            assert_non_null(FB);
            assert_int_equal(ctx.status, 0);
            assert_int_equal(Y->dtype, dts[di]);
            same_shape(Y, A);
            for (int64_t i = 0; i < FA->size; i++) {   /* FA *= FB */
                double ar, ai, br, bi;
                txrt_get(FA, i, &ar, &ai);
                txrt_get(FB, i, &br, &bi);
                txrt_set(FA, i, ar * br - ai * bi, ar * bi + ai * br);
            }
            txrt_tensor *Z = txrt_fft2(&ctx, FA, 1);
            assert_non_null(Z);
            double m, d = real_diff(Y, Z, &m);
            assert_true(d <= tol(dts[di] == TXRT_F32 ? TXRT_C64 : TXRT_C128) * 10 * (1 + m));
            txrt_release(A); txrt_release(B); txrt_release(Y); txrt_release(FA); txrt_release(FB); txrt_release(Z);
        }
    int64_t s23[2] = { 2, 3 }, s32[2] = { 3, 2 };
    txrt_tensor *R = randt(TXRT_F64, 2, s23, 1), *R2 = randt(TXRT_F64, 2, s32, 2), *C = randt(TXRT_C128, 2, s23, 3);
    txrt_tensor *F = randt(TXRT_F32, 2, s23, 4);
    assert_null(txrt_fft2_conv_real(&ctx, R, R2));
    assert_int_not_equal(ctx.status, 0);
    txrt_clear_error(&ctx);
    assert_null(txrt_fft2_conv_real(&ctx, R, C));
    txrt_clear_error(&ctx);
    assert_null(txrt_fft2_conv_real(&ctx, R, F));
    txrt_clear_error(&ctx);
    txrt_release(R); txrt_release(R2); txrt_release(C); txrt_release(F);
}

/* ---- errors and empty tensors ----------------------------------------------------- */

static void errors_and_empty(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    txrt_tensor *s = txrt_scalar_new(&ctx, TXRT_F64, 1, 0);
    int64_t v5[1] = { 5 }, m23[2] = { 2, 3 }, z[2] = { 0, 4 }, z2[2] = { 3, 0 };
    txrt_tensor *v = randt(TXRT_F64, 1, v5, 1), *M = randt(TXRT_C128, 2, m23, 2);
    txrt_tensor *E = txrt_tensor_new(&ctx, TXRT_F64, 2, z), *E2 = txrt_tensor_new(&ctx, TXRT_F64, 2, z2);
    int64_t one[2] = { 2, 1 };
    txrt_tensor *O = randt(TXRT_C128, 2, one, 3);
#define EXPECT(call, msg) do { txrt_clear_error(&ctx); assert_null(call); \
        assert_int_not_equal(ctx.status, 0); assert_string_equal(ctx.errmsg, msg); } while (0)
    EXPECT(txrt_fft(&ctx, s, -1, 0), "fft: needs a tensor of rank 1 or more, got a scalar");
    EXPECT(txrt_fft(&ctx, NULL, -1, 0), "fft: the input is missing");
    EXPECT(txrt_fft(&ctx, M, 2, 0), "fft: axis 2 is out of range for a tensor of rank 2 (use 0 to 1, or -2 to -1)");
    EXPECT(txrt_fft(&ctx, M, -3, 1), "ifft: axis -3 is out of range for a tensor of rank 2 (use 0 to 1, or -2 to -1)");
    EXPECT(txrt_fft2(&ctx, v, 0), "fft2: needs a tensor of rank 2 or more, got shape (5,)");
    EXPECT(txrt_fft2(&ctx, s, 1), "ifft2: needs a tensor of rank 2 or more, got a scalar");
    EXPECT(txrt_rfft(&ctx, M), "rfft: the input must be real, got c128 (use fft for complex data)");
    EXPECT(txrt_irfft(&ctx, O, 0),
           "irfft: the default output length 2*(m-1) is 0 for 1 input point along the last axis; give n");
    EXPECT(txrt_fft(&ctx, E2, 1, 0), "fft: cannot transform axis 1 of size 0 (the input has shape (3, 0))");
    EXPECT(txrt_fft2(&ctx, E, 0), "fft2: cannot transform axis 0 of size 0 (the input has shape (0, 4))");
    EXPECT(txrt_rfft(&ctx, E2), "rfft: cannot transform axis 1 of size 0 (the input has shape (3, 0))");
#undef EXPECT
    /* a zero-size batch is fine: an empty result */
    txrt_clear_error(&ctx);
    txrt_tensor *Y = txrt_fft(&ctx, E, 1, 0);
    assert_non_null(Y);
    assert_int_equal(Y->size, 0);
    assert_int_equal(Y->dtype, TXRT_C128);
    txrt_release(Y);
    Y = txrt_rfft(&ctx, E);
    assert_non_null(Y);
    assert_int_equal(Y->shape[1], 3);
    txrt_release(Y);
    /* irfft with an explicit n from a single point: a constant */
    Y = txrt_irfft(&ctx, O, 3);
    assert_non_null(Y);
    for (int b = 0; b < 2; b++)
        for (int t = 0; t < 3; t++) assert_true(fabs(creal(at(Y, b * 3 + t)) - creal(at(O, b)) / 3) < 1e-15);
    txrt_release(Y);
    txrt_release(s); txrt_release(v); txrt_release(M); txrt_release(E); txrt_release(E2); txrt_release(O);
}

static int teardown(void **state) {
    (void)state;
    txrt_fft_cleanup();
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fft_vs_dft),
        cmocka_unit_test(fft2_vs_dft),
        cmocka_unit_test(conventions),
        cmocka_unit_test(rfft_irfft),
        cmocka_unit_test(plan_cache),
        cmocka_unit_test(threads),
        cmocka_unit_test(unaligned_input),
        cmocka_unit_test(large_on_threads),
        cmocka_unit_test(ifft2_real_route),
        cmocka_unit_test(fft2_conv_real_route),
        cmocka_unit_test(errors_and_empty),
    };
    return cmocka_run_group_tests(tests, NULL, teardown);
}
