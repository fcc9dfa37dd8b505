/*
 * test_sph.c -- real spherical harmonics and Gaunt coefficients
 * (runtime/sph.c).
 *
 * sph_harm: closed forms for l <= 2 in terms of (x, y, z), values at the
 * poles, Y_{l,l} at l = 30 from its closed form, orthonormality to L = 30
 * by a quadrature built independently here (Golub-Welsch nodes from
 * txrt_eigh, the Gram matrix by txrt_gemm), the addition theorem at
 * L = 30, and the double-Fourier-sphere continuation: each harmonic is a
 * trigonometric polynomial of degree l in theta over [0, 2 pi) (its FFT
 * vanishes beyond l) with Y(2 pi - theta, phi + pi) = Y(theta, phi).
 *
 * gaunt: the value for L = 0, G[0,q,r] = delta_qr / (2 sqrt(pi)),
 * symmetry, the selection rules (exact zeros), the values of SEEDS.md
 * (1/sqrt(4 pi), 1/sqrt(5 pi)), the Frobenius norm of every (l1,l2,l3)
 * block against sqrt((2l1+1)(2l2+1)(2l3+1)/(4 pi)) |(l1 l2 l3; 0 0 0)|
 * (Schur: G is that multiple of the unit-norm real 3j tensor), a brute
 * force quadrature of every entry on a finer grid, and the product
 * expansion Y_p Y_q = sum_r G[p,q,r] Y_r at random points.
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

static int64_t pidx(int l, int m) { return (int64_t)l * l + l + m; }

static txrt_tensor *vec(int64_t n, const double *v) {
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    int64_t sh[1] = { n };
    txrt_tensor *t = txrt_tensor_new(&ctx, TXRT_F64, 1, sh);
    assert_non_null(t);
    for (int64_t i = 0; i < n; i++) txrt_set(t, i, v[i], 0);
    return t;
}

/* Y[p, s] of a result with S points. */
static double Y(const txrt_tensor *y, int64_t p, int64_t s) {
    int64_t S = y->size / y->shape[0];
    return ((const double *)y->data)[p * S + s];
}

/* n-point Gauss-Legendre rule by Golub-Welsch: the nodes are the
 * eigenvalues of the Jacobi matrix of the Legendre polynomials, the weights
 * 2 v_0^2 from the normalised eigenvectors (independent of sph.c's Newton
 * iteration). */
static void golub_welsch(int n, double *x, double *w) {
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    int64_t sh[2] = { n, n };
    txrt_tensor *J = txrt_tensor_new(&ctx, TXRT_F64, 2, sh), *ev, *V;
    for (int k = 1; k < n; k++) {
        double b = k / sqrt(4.0 * k * k - 1);
        txrt_set(J, (int64_t)k * n + k - 1, b, 0);
        txrt_set(J, (int64_t)(k - 1) * n + k, b, 0);
    }
    assert_int_equal(txrt_eigh(&ctx, J, &ev, &V), 0);
    for (int j = 0; j < n; j++) {
        x[j] = ((double *)ev->data)[j];
        double v0 = ((double *)V->data)[j];
        w[j] = 2 * v0 * v0;
    }
    txrt_release(J); txrt_release(ev); txrt_release(V);
}

/* A product grid exact for polynomials of degree deg on the sphere:
 * nt Gauss-Legendre nodes in cos(theta) times nphi uniform azimuths.
 * Fills theta, phi (size nt*nphi) and the weights. */
static void sphere_grid(int deg, txrt_tensor **theta, txrt_tensor **phi, double **weights, int64_t *npts) {
    int nt = deg / 2 + 1, nphi = deg + 1;
    double *x = malloc(sizeof(double) * nt), *w = malloc(sizeof(double) * nt);
    golub_welsch(nt, x, w);
    int64_t n = (int64_t)nt * nphi;
    double *th = malloc(sizeof(double) * n), *ph = malloc(sizeof(double) * n);
    *weights = malloc(sizeof(double) * n);
    for (int i = 0; i < nt; i++)
        for (int j = 0; j < nphi; j++) {
            th[i * nphi + j] = acos(x[i]);
            ph[i * nphi + j] = 2 * M_PI * j / nphi;
            (*weights)[i * nphi + j] = w[i] * 2 * M_PI / nphi;
        }
    *theta = vec(n, th);
    *phi = vec(n, ph);
    *npts = n;
    free(x); free(w); free(th); free(ph);
}

/* ---- sph_harm --------------------------------------------------------------------- */

static void closed_forms(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    enum { S = 40 };
    double th[S], ph[S];
    for (int s = 0; s < S; s++) {
        th[s] = M_PI * (s + 0.3) / S;
        ph[s] = 2 * M_PI * ((s * 7) % S + 0.1) / S - 0.5;
    }
    txrt_tensor *T = vec(S, th), *P = vec(S, ph);
    txrt_tensor *y = txrt_sph_harm(&ctx, 2, T, P);
    assert_non_null(y);
    assert_int_equal(y->dtype, TXRT_F64);
    assert_int_equal(y->rank, 2);
    assert_int_equal(y->shape[0], 9);
    assert_int_equal(y->shape[1], S);
    const double c0 = 0.5 / sqrt(M_PI), c1 = sqrt(3 / (4 * M_PI)), c2 = 0.5 * sqrt(15 / M_PI),
                 c20 = 0.25 * sqrt(5 / M_PI), c22 = 0.25 * sqrt(15 / M_PI);
    for (int s = 0; s < S; s++) {
        double x = sin(th[s]) * cos(ph[s]), yy = sin(th[s]) * sin(ph[s]), z = cos(th[s]);
        const double want[9] = {
            c0,
            c1 * yy, c1 * z, c1 * x,                         /* degree 1 is (y, z, x) */
            c2 * x * yy, c2 * yy * z, c20 * (3 * z * z - 1), c2 * x * z, c22 * (x * x - yy * yy),
        };
        for (int p = 0; p < 9; p++) assert_true(fabs(Y(y, p, s) - want[p]) < 1e-15);
    }
    txrt_release(y);
    /* at the poles only m = 0 survives: sqrt((2l+1)/(4 pi)) and (-1)^l times it */
    double poles[2] = { 0, M_PI }, az[2] = { 0.7, -2.0 };
    txrt_tensor *Tp = vec(2, poles), *Pp = vec(2, az);
    y = txrt_sph_harm(&ctx, 12, Tp, Pp);
    assert_non_null(y);
    for (int l = 0; l <= 12; l++)
        for (int m = -l; m <= l; m++) {
            double v = m == 0 ? sqrt((2 * l + 1) / (4 * M_PI)) : 0;
            assert_true(fabs(Y(y, pidx(l, m), 0) - v) < 1e-13);
            assert_true(fabs(Y(y, pidx(l, m), 1) - (l % 2 ? -v : v)) < 1e-13);
        }
    txrt_release(y); txrt_release(T); txrt_release(P); txrt_release(Tp); txrt_release(Pp);
}

/* Y_{l,l} = sqrt(2) N_ll (2l-1)!! sin^l(theta) cos(l phi) and Y_{l,-l} with
 * sin(l phi), N_ll = sqrt((2l+1)/(4 pi) / (2l)!), at l = 30 (by logs). */
static void sectoral_l30(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    double th[3] = { 1.0, 0.3, 2.5 }, ph[3] = { 0.4, 2.0, -1.1 };
    txrt_tensor *T = vec(3, th), *P = vec(3, ph);
    txrt_tensor *y = txrt_sph_harm(&ctx, 30, T, P);
    assert_non_null(y);
    const int l = 30;
    /* log((2l-1)!!) = log((2l)!) - l log 2 - log(l!) */
    double ldf = lgamma(2 * l + 1) - l * log(2.0) - lgamma(l + 1);
    for (int s = 0; s < 3; s++) {
        double mag = exp(0.5 * (log((2 * l + 1) / (4 * M_PI)) - lgamma(2 * l + 1)) + ldf + l * log(sin(th[s])));
        double want_c = sqrt(2.0) * mag * cos(l * ph[s]), want_s = sqrt(2.0) * mag * sin(l * ph[s]);
        assert_true(fabs(Y(y, pidx(l, l), s) - want_c) < 1e-12 * (1 + fabs(want_c)));
        assert_true(fabs(Y(y, pidx(l, -l), s) - want_s) < 1e-12 * (1 + fabs(want_s)));
    }
    txrt_release(y); txrt_release(T); txrt_release(P);
}

/* sum_w Y_p Y_q = delta_pq for all p, q with l <= 30, on a grid exact to
 * degree 60. */
static void orthonormal_l30(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    const int L = 30;
    txrt_tensor *T, *P;
    double *w;
    int64_t n;
    sphere_grid(2 * L, &T, &P, &w, &n);
    txrt_tensor *y = txrt_sph_harm(&ctx, L, T, P);
    assert_non_null(y);
    int64_t np = (int64_t)(L + 1) * (L + 1);
    /* Yw = Y scaled by sqrt(w) per point; Gram = Yw Yw^T */
    double *yw = malloc(sizeof(double) * np * n), *g = malloc(sizeof(double) * np * np);
    for (int64_t p = 0; p < np; p++)
        for (int64_t s = 0; s < n; s++) yw[p * n + s] = Y(y, p, s) * sqrt(w[s]);
    assert_int_equal(txrt_gemm(&ctx, 'N', 'T', np, np, n, 1.0, yw, n, yw, n, 0.0, g, np, TXRT_F64), 0);
    double worst = 0;
    for (int64_t p = 0; p < np; p++)
        for (int64_t q = 0; q < np; q++) {
            double e = fabs(g[p * np + q] - (p == q));
            if (!(e <= worst)) worst = e;
        }
    assert_true(worst < 1e-12);
    free(yw); free(g); free(w);
    txrt_release(y); txrt_release(T); txrt_release(P);
}

/* sum_m Y_lm(a) Y_lm(b) = (2l+1)/(4 pi) P_l(a . b), P_l by Bonnet's recurrence. */
static void addition_theorem(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    const int L = 30;
    enum { S = 12 };
    double th[2 * S], ph[2 * S];
    txrt_rng r;
    txrt_rng_seed(&r, 5);
    for (int s = 0; s < 2 * S; s++) {
        th[s] = M_PI * txrt_rng_uniform(&r);
        ph[s] = 2 * M_PI * txrt_rng_uniform(&r);
    }
    txrt_tensor *T = vec(2 * S, th), *P = vec(2 * S, ph);
    txrt_tensor *y = txrt_sph_harm(&ctx, L, T, P);
    assert_non_null(y);
    for (int s = 0; s < S; s++) {
        int a = s, b = S + s;
        double cg = sin(th[a]) * sin(th[b]) * cos(ph[a] - ph[b]) + cos(th[a]) * cos(th[b]);
        double p0 = 1, p1 = cg;
        for (int l = 0; l <= L; l++) {
            double pl = l == 0 ? 1 : l == 1 ? cg : 0;
            if (l >= 2) {
                pl = ((2.0 * l - 1) * cg * p1 - (l - 1.0) * p0) / l;
                p0 = p1;
                p1 = pl;
            }
            double sum = 0;
            for (int m = -l; m <= l; m++) sum += Y(y, pidx(l, m), a) * Y(y, pidx(l, m), b);
            assert_true(fabs(sum - (2 * l + 1) / (4 * M_PI) * pl) < 1e-12);
        }
    }
    txrt_release(y); txrt_release(T); txrt_release(P);
}

/* theta over [0, 2 pi): every harmonic is a trigonometric polynomial of
 * degree l in theta (its samples' FFT vanishes beyond frequency l), and
 * (2 pi - theta, phi + pi) is the same point with the same value. */
static void double_fourier_sphere(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    const int L = 10;
    enum { K = 32 };
    double th[K], ph[K];
    for (int j = 0; j < K; j++) {
        th[j] = 2 * M_PI * j / K;
        ph[j] = 0.37;
    }
    txrt_tensor *T = vec(K, th), *P = vec(K, ph);
    txrt_tensor *y = txrt_sph_harm(&ctx, L, T, P);
    assert_non_null(y);
    txrt_tensor *F = txrt_fft(&ctx, y, -1, 0);          /* along theta, per harmonic */
    assert_non_null(F);
    for (int l = 0; l <= L; l++)
        for (int m = -l; m <= l; m++)
            for (int u = 0; u < K; u++) {
                int freq = u <= K / 2 ? u : K - u;
                double re, im;
                txrt_get(F, pidx(l, m) * K + u, &re, &im);
                if (freq > l) assert_true(hypot(re, im) < 1e-13);
            }
    txrt_release(F); txrt_release(y); txrt_release(T); txrt_release(P);
    /* the reflection */
    double t1[6] = { 0.2, 0.9, 1.5, 2.2, 2.9, 3.0 }, p1[6] = { 0.1, 1.0, 2.0, 3.0, 4.0, 5.0 }, t2[6], p2[6];
    for (int j = 0; j < 6; j++) {
        t2[j] = 2 * M_PI - t1[j];
        p2[j] = p1[j] + M_PI;
    }
    txrt_tensor *A = vec(6, t1), *B = vec(6, p1), *C = vec(6, t2), *D = vec(6, p2);
    txrt_tensor *ya = txrt_sph_harm(&ctx, L, A, B), *yb = txrt_sph_harm(&ctx, L, C, D);
    for (int64_t i = 0; i < ya->size; i++)
        assert_true(fabs(((double *)ya->data)[i] - ((double *)yb->data)[i]) < 1e-13);
    /* explicitly: Y_11 at theta = 3 pi / 2, phi = 0 is sqrt(3/(4 pi)) sin(3 pi/2) < 0,
     * where sqrt(1 - cos^2) would give the positive value */
    double t3 = 1.5 * M_PI, p3 = 0;
    txrt_tensor *E = vec(1, &t3), *G = vec(1, &p3), *y3 = txrt_sph_harm(&ctx, 1, E, G);
    assert_true(fabs(Y(y3, pidx(1, 1), 0) + sqrt(3 / (4 * M_PI))) < 1e-15);
    txrt_release(A); txrt_release(B); txrt_release(C); txrt_release(D); txrt_release(ya); txrt_release(yb);
    txrt_release(E); txrt_release(G); txrt_release(y3);
}

static void shapes_and_errors(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    /* rank-0 points: shape [(L+1)^2] */
    txrt_tensor *a = txrt_scalar_new(&ctx, TXRT_F64, 0.5, 0), *b = txrt_scalar_new(&ctx, TXRT_F64, 0.25, 0);
    txrt_tensor *y = txrt_sph_harm(&ctx, 3, a, b);
    assert_non_null(y);
    assert_int_equal(y->rank, 1);
    assert_int_equal(y->shape[0], 16);
    txrt_release(y);
    /* L = 0: the constant 1/(2 sqrt(pi)) */
    y = txrt_sph_harm(&ctx, 0, a, b);
    assert_int_equal(y->shape[0], 1);
    assert_true(fabs(((double *)y->data)[0] - 0.5 / sqrt(M_PI)) < 1e-16);
    txrt_release(y);
    /* rank-2 f32 points: [(L+1)^2, 2, 3], f64 values of the f32 angles */
    int64_t sh[2] = { 2, 3 };
    txrt_tensor *T = txrt_tensor_new(&ctx, TXRT_F32, 2, sh), *P = txrt_tensor_new(&ctx, TXRT_F32, 2, sh);
    txrt_fill_rand(T, 1);
    txrt_fill_rand(P, 2);
    y = txrt_sph_harm(&ctx, 2, T, P);
    assert_non_null(y);
    assert_int_equal(y->rank, 3);
    assert_int_equal(y->shape[0], 9);
    assert_int_equal(y->shape[1], 2);
    assert_int_equal(y->shape[2], 3);
    assert_int_equal(y->dtype, TXRT_F64);
    double t5, p5;
    txrt_get(T, 5, &t5, NULL);
    txrt_get(P, 5, &p5, NULL);
    assert_true(fabs(Y(y, 3, 5) - sqrt(3 / (4 * M_PI)) * sin(t5) * cos(p5)) < 1e-15);
    txrt_release(y);
    /* empty point sets */
    int64_t z[1] = { 0 };
    txrt_tensor *Z = txrt_tensor_new(&ctx, TXRT_F64, 1, z);
    y = txrt_sph_harm(&ctx, 2, Z, Z);
    assert_non_null(y);
    assert_int_equal(y->shape[0], 9);
    assert_int_equal(y->size, 0);
    txrt_release(y);
    txrt_tensor *C = txrt_tensor_new(&ctx, TXRT_C128, 2, sh);
#define EXPECT(call, msg) do { txrt_clear_error(&ctx); assert_null(call); \
        assert_int_not_equal(ctx.status, 0); assert_string_equal(ctx.errmsg, msg); } while (0)
    EXPECT(txrt_sph_harm(&ctx, -1, a, b), "sph_harm: L must be 0 or more, got -1");
    EXPECT(txrt_sph_harm(&ctx, 1001, a, b), "sph_harm: L = 1001 is too large (at most 1000: beyond that "
                                             "sin(theta)^m underflows and the harmonics lose accuracy)");
    EXPECT(txrt_sph_harm(&ctx, 2, T, a), "sph_harm: theta and phi must have the same shape, got (2, 3) and ()");
    EXPECT(txrt_sph_harm(&ctx, 2, C, P), "sph_harm: theta and phi must be real, got c128");
    EXPECT(txrt_sph_harm(&ctx, 2, NULL, P), "sph_harm: theta is missing");
    EXPECT(txrt_gaunt(&ctx, -2), "gaunt: L must be 0 or more, got -2");
    ctx.max_bytes = 1 << 20;
    EXPECT(txrt_gaunt(&ctx, 8), "cannot allocate a f64 tensor of shape (81, 81, 81): 4.25e+06 bytes is more than the 1 MiB allowed");
#undef EXPECT
    txrt_release(a); txrt_release(b); txrt_release(T); txrt_release(P); txrt_release(Z); txrt_release(C);
}

/* ---- gaunt ------------------------------------------------------------------------ */

/* (l1 l2 l3; 0 0 0) by the closed form (l1+l2+l3 even). */
static double threej000(int l1, int l2, int l3) {
    int J = l1 + l2 + l3, g = J / 2;
    if (J % 2 || l3 > l1 + l2 || l3 < abs(l1 - l2)) return 0;
    double lv = 0.5 * (lgamma(J - 2 * l1 + 1) + lgamma(J - 2 * l2 + 1) + lgamma(J - 2 * l3 + 1) - lgamma(J + 2))
              + lgamma(g + 1) - lgamma(g - l1 + 1) - lgamma(g - l2 + 1) - lgamma(g - l3 + 1);
    return (g % 2 ? -1 : 1) * exp(lv);
}

static void gaunt_basics(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    txrt_tensor *G0 = txrt_gaunt(&ctx, 0);
    assert_non_null(G0);
    assert_int_equal(G0->rank, 3);
    assert_int_equal(G0->shape[0], 1);
    assert_true(fabs(((double *)G0->data)[0] - 0.5 / sqrt(M_PI)) < 1e-15);
    txrt_release(G0);

    const int L = 4;
    const int64_t np = (L + 1) * (L + 1);
    txrt_tensor *Gt = txrt_gaunt(&ctx, L);
    assert_non_null(Gt);
    assert_int_equal(Gt->dtype, TXRT_F64);
    for (int d = 0; d < 3; d++) assert_int_equal(Gt->shape[d], np);
    const double *G = Gt->data;
#define GG(p, q, r) G[((int64_t)(p) * np + (q)) * np + (r)]
    int lof[25], mof[25];
    for (int l = 0; l <= L; l++)
        for (int m = -l; m <= l; m++) lof[pidx(l, m)] = l, mof[pidx(l, m)] = m;
    for (int64_t p = 0; p < np; p++)
        for (int64_t q = 0; q < np; q++)
            for (int64_t r = 0; r < np; r++) {
                double g = GG(p, q, r);
                /* symmetric in p, q, r */
                assert_true(g == GG(p, r, q) && g == GG(q, p, r) && g == GG(q, r, p) &&
                            g == GG(r, p, q) && g == GG(r, q, p));
                int l1 = lof[p], l2 = lof[q], l3 = lof[r];
                if ((l1 + l2 + l3) % 2 || l3 > l1 + l2 || l3 < abs(l1 - l2)) assert_true(g == 0);
                /* the azimuthal rule: |m3| = |m1| + |m2| or ||m1| - |m2|| */
                int a = abs(mof[p]), b = abs(mof[q]), c = abs(mof[r]);
                if (c != a + b && c != abs(a - b)) assert_true(g == 0);
            }
    /* G[0,q,r] = delta_qr / (2 sqrt(pi)) */
    for (int64_t q = 0; q < np; q++)
        for (int64_t r = 0; r < np; r++)
            assert_true(fabs(GG(0, q, r) - (q == r ? 0.5 / sqrt(M_PI) : 0)) < 1e-14);
    /* SEEDS.md: G(1m,1m,00) = 1/sqrt(4 pi); G(10,10,20) = 1/sqrt(5 pi) */
    for (int m = -1; m <= 1; m++) assert_true(fabs(GG(pidx(1, m), pidx(1, m), 0) - 1 / sqrt(4 * M_PI)) < 1e-14);
    assert_true(fabs(GG(pidx(1, 0), pidx(1, 0), pidx(2, 0)) - 1 / sqrt(5 * M_PI)) < 1e-14);
    assert_true(fabs(GG(pidx(1, 0), pidx(1, 0), pidx(2, 0)) - 0.25231325) < 1e-8);
    /* no 1 x 1 -> 1 path: exactly zero */
    for (int a = -1; a <= 1; a++)
        for (int b = -1; b <= 1; b++)
            for (int c = -1; c <= 1; c++) assert_true(GG(pidx(1, a), pidx(1, b), pidx(1, c)) == 0);
    /* every (l1, l2, l3) block: ||G||_F = sqrt((2l1+1)(2l2+1)(2l3+1)/(4 pi)) |3j(l1 l2 l3; 000)| */
    for (int l1 = 0; l1 <= L; l1++)
        for (int l2 = 0; l2 <= L; l2++)
            for (int l3 = 0; l3 <= L; l3++) {
                double f2 = 0;
                for (int m1 = -l1; m1 <= l1; m1++)
                    for (int m2 = -l2; m2 <= l2; m2++)
                        for (int m3 = -l3; m3 <= l3; m3++) {
                            double g = GG(pidx(l1, m1), pidx(l2, m2), pidx(l3, m3));
                            f2 += g * g;
                        }
                double want = sqrt((2 * l1 + 1) * (2 * l2 + 1) * (2 * l3 + 1) / (4 * M_PI)) *
                              fabs(threej000(l1, l2, l3));
                assert_true(fabs(sqrt(f2) - want) < 1e-13);
            }
#undef GG
    txrt_release(Gt);
}

/* Every entry against a brute-force quadrature of sph_harm on a finer,
 * independently built grid; and Y_p Y_q = sum_r G[p,q,r] Y_r (degrees of
 * p, q <= 2, r <= 4) at random points. */
static void gaunt_vs_quadrature(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    const int L = 3;
    const int64_t np = (L + 1) * (L + 1);
    txrt_tensor *Gt = txrt_gaunt(&ctx, L), *T, *P;
    double *w;
    int64_t n;
    sphere_grid(3 * L + 6, &T, &P, &w, &n);
    txrt_tensor *y = txrt_sph_harm(&ctx, L, T, P);
    const double *G = Gt->data;
    double worst = 0;
    for (int64_t p = 0; p < np; p++)
        for (int64_t q = 0; q < np; q++)
            for (int64_t r = 0; r < np; r++) {
                double s = 0;
                for (int64_t k = 0; k < n; k++) s += w[k] * Y(y, p, k) * Y(y, q, k) * Y(y, r, k);
                double e = fabs(s - G[(p * np + q) * np + r]);
                if (!(e <= worst)) worst = e;
            }
    assert_true(worst < 1e-14);
    free(w);
    txrt_release(y); txrt_release(T); txrt_release(P); txrt_release(Gt);

    /* product expansion */
    const int L4 = 4;
    const int64_t n4 = (L4 + 1) * (L4 + 1);
    txrt_tensor *G4 = txrt_gaunt(&ctx, L4);
    enum { S = 10 };
    double th[S], ph[S];
    for (int s = 0; s < S; s++) {
        th[s] = 0.3 + 0.27 * s;
        ph[s] = 5.9 - 0.61 * s;
    }
    txrt_tensor *A = vec(S, th), *B = vec(S, ph), *yy = txrt_sph_harm(&ctx, L4, A, B);
    const double *g4 = G4->data;
    for (int s = 0; s < S; s++)
        for (int64_t p = 0; p < 9; p++)
            for (int64_t q = 0; q < 9; q++) {
                double sum = 0;
                for (int64_t r = 0; r < n4; r++) sum += g4[(p * n4 + q) * n4 + r] * Y(yy, r, s);
                assert_true(fabs(sum - Y(yy, p, s) * Y(yy, q, s)) < 1e-13);
            }
    txrt_release(G4); txrt_release(A); txrt_release(B); txrt_release(yy);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(closed_forms),
        cmocka_unit_test(sectoral_l30),
        cmocka_unit_test(orthonormal_l30),
        cmocka_unit_test(addition_theorem),
        cmocka_unit_test(double_fourier_sphere),
        cmocka_unit_test(shapes_and_errors),
        cmocka_unit_test(gaunt_basics),
        cmocka_unit_test(gaunt_vs_quadrature),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    txrt_fft_cleanup();
    return rc;
}
