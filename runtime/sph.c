/*
 * sph.c -- real spherical harmonics (sph_harm) and the Gaunt coefficients
 * of their products (gaunt).
 *
 * Convention (LANGUAGE.md): row p = l*l + l + m of sph_harm holds
 *   m < 0:  sqrt(2) (-1)^m Im Y_l^|m|,   m = 0: Y_l^0,   m > 0: sqrt(2) (-1)^m Re Y_l^m
 * where the complex Y_l^m carries the Condon-Shortley phase (-1)^m.  The
 * two phases cancel, so with the normalised associated Legendre function
 *   Pn(l,m; theta) = sqrt((2l+1)/(4 pi) (l-m)!/(l+m)!) sin^m(theta) d^m P_l / dx^m  (x = cos theta)
 * (no Condon-Shortley phase, positive near the north pole) the real
 * harmonics are
 *   Y_{l,0} = Pn(l,0),  Y_{l,m} = sqrt(2) Pn(l,m) cos(m phi),  Y_{l,-m} = sqrt(2) Pn(l,m) sin(m phi)
 * for m > 0, and degree 1 is sqrt(3/(4 pi)) (y, z, x).
 *
 * Pn is computed by the standard stable recurrences for the fully
 * normalised functions (no factorials, no cancellation):
 *   Pn(0,0)     = 1/sqrt(4 pi)
 *   Pn(m,m)     = sqrt((2m+1)/(2m)) sin(theta) Pn(m-1,m-1)
 *   Pn(m+1,m)   = sqrt(2m+3) cos(theta) Pn(m,m)
 *   Pn(l,m)     = a(l,m) (cos(theta) Pn(l-1,m) - b(l,m) Pn(l-2,m)),
 *     a = sqrt((4l^2-1)/(l^2-m^2)),  b = sqrt(((l-1)^2-m^2)/(4(l-1)^2-1))
 * sin(theta) and cos(theta) come straight from the angle: sin^m is a
 * power of sin(theta), never sqrt(1-cos^2), so for theta beyond pi every
 * harmonic continues as the same trigonometric polynomial in theta (the
 * double-Fourier-sphere extension sampled by FFT routes to Gaunt
 * products).  Accurate to about 1e-14 for L <= 30 and to ~1e-12 for L in
 * the hundreds; beyond L ~ 1000, sin^m(theta) underflows away from the
 * equator before the l-recurrence would grow it back, so L is capped.
 *
 * Gaunt coefficients G[p,q,r] = integral of Y_p Y_q Y_r over the sphere
 * are computed by quadrature that is exact for these integrands, not from
 * Clebsch-Gordan / Wigner 3j formulas (so the tests comparing the two are
 * an independent check).  Y_p = A_p(theta) B_m(phi) separates:
 * - the azimuthal factor B_m is 1, sqrt(2) cos(m phi) or sqrt(2) sin(|m|
 *   phi); a product of three is a trigonometric polynomial of degree
 *   <= 3L, integrated exactly by the uniform rule with M = 3L+1 points;
 * - when that integral is non-zero, |m3| = |m1| +- |m2|, so the powers of
 *   sin(theta) pair up and A_p A_q A_r is a polynomial in cos(theta) of
 *   degree l1+l2+l3 <= 3L, integrated exactly by Gauss-Legendre with
 *   N = floor(3L/2)+1 nodes (exact to degree 2N-1).
 * Entries the selection rules make zero (azimuthal integral zero, l1+l2+l3
 * odd, triangle inequality violated) are stored as exact zeros; the
 * quadrature would give rounding noise of ~1e-17 there.  Only p <= q <= r
 * is computed, the rest filled by symmetry.
 */
#include "txrt_linalg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SPH_MAX_L 1000
#define PI 3.14159265358979323846

/* Triangular index of (l, m), 0 <= m <= l. */
static inline int64_t tri(int64_t l, int64_t m) { return l * (l + 1) / 2 + m; }

/* Recurrence coefficients a(l,m), b(l,m) for l >= m+2 (other slots unused). */
typedef struct legendre_coef { double *a, *b; int L; } legendre_coef;

static int coef_init(legendre_coef *c, int L) {
    size_t n = (size_t)tri(L, L) + 1;
    c->L = L;
    c->a = malloc(n * sizeof *c->a);
    c->b = malloc(n * sizeof *c->b);
    if (!c->a || !c->b) {
        free(c->a);
        free(c->b);
        return -1;
    }
    for (int m = 0; m <= L; m++) {
        for (int l = m + 2; l <= L; l++) {
            double l2 = (double)l * l, m2 = (double)m * m, lm1 = (double)(l - 1) * (l - 1);
            c->a[tri(l, m)] = sqrt((4 * l2 - 1) / (l2 - m2));
            c->b[tri(l, m)] = sqrt((lm1 - m2) / (4 * lm1 - 1));
        }
    }
    return 0;
}

static void coef_free(legendre_coef *c) {
    free(c->a);
    free(c->b);
}

/* P[tri(l,m)] = Pn(l,m) at the angle with cosine ct and sine st. */
static void legendre(const legendre_coef *c, double ct, double st, double *P) {
    int L = c->L;
    P[0] = 1 / sqrt(4 * PI);
    for (int m = 1; m <= L; m++)
        P[tri(m, m)] = sqrt((2.0 * m + 1) / (2.0 * m)) * st * P[tri(m - 1, m - 1)];
    for (int m = 0; m < L; m++)
        P[tri(m + 1, m)] = sqrt(2.0 * m + 3) * ct * P[tri(m, m)];
    for (int m = 0; m <= L; m++)
        for (int l = m + 2; l <= L; l++) {
            int64_t i = tri(l, m);
            P[i] = c->a[i] * (ct * P[tri(l - 1, m)] - c->b[i] * P[tri(l - 2, m)]);
        }
}

static int check_L(txrt_ctx *ctx, const char *fn, int64_t L) {
    if (L < 0) return txrt_fail(ctx, "%s: L must be 0 or more, got %lld", fn, (long long)L);
    if (L > SPH_MAX_L)
        return txrt_fail(ctx, "%s: L = %lld is too large (at most %d: beyond that sin(theta)^m underflows "
                         "and the harmonics lose accuracy)", fn, (long long)L, SPH_MAX_L);
    return 0;
}

/* ---- sph_harm --------------------------------------------------------------- */

#define BLOCK 32     /* points per block: rows of the result are written BLOCK values at a time */

txrt_tensor *txrt_sph_harm(txrt_ctx *ctx, int64_t L, const txrt_tensor *theta, const txrt_tensor *phi) {
    if (check_L(ctx, "sph_harm", L)) return NULL;
    if (!theta || !phi) {
        txrt_fail(ctx, "sph_harm: %s is missing", !theta ? "theta" : "phi");
        return NULL;
    }
    if (txrt_dtype_is_complex(theta->dtype) || txrt_dtype_is_complex(phi->dtype)) {
        txrt_fail(ctx, "sph_harm: theta and phi must be real, got %s",
                  txrt_dtype_name(txrt_dtype_is_complex(theta->dtype) ? theta->dtype : phi->dtype));
        return NULL;
    }
    char s1[TXRT_MAX_RANK * 22 + 8], s2[TXRT_MAX_RANK * 22 + 8];
    int same = theta->rank == phi->rank;
    for (int d = 0; same && d < theta->rank; d++) same = theta->shape[d] == phi->shape[d];
    if (!same) {
        txrt_fail(ctx, "sph_harm: theta and phi must have the same shape, got %s and %s",
                  txrt_shape_str(theta->rank, theta->shape, s1, sizeof s1),
                  txrt_shape_str(phi->rank, phi->shape, s2, sizeof s2));
        return NULL;
    }
    if (theta->rank + 1 > TXRT_MAX_RANK) {
        txrt_fail(ctx, "sph_harm: the result would have rank %d (at most %d)", theta->rank + 1, TXRT_MAX_RANK);
        return NULL;
    }
    int nl = (int)L;
    int64_t np = (int64_t)(nl + 1) * (nl + 1), S = theta->size;
    int64_t shape[TXRT_MAX_RANK];
    shape[0] = np;
    for (int d = 0; d < theta->rank; d++) shape[d + 1] = theta->shape[d];
    txrt_tensor *out = txrt_tensor_new(ctx, TXRT_F64, theta->rank + 1, shape);
    if (!out || S == 0) return out;

    legendre_coef c;
    double *P = NULL, *buf = NULL, *cm = NULL, *sm = NULL;
    if (coef_init(&c, nl) == 0) {
        P = malloc(((size_t)tri(nl, nl) + 1) * sizeof *P);
        buf = malloc((size_t)np * BLOCK * sizeof *buf);
        cm = malloc((size_t)(nl + 1) * sizeof *cm);
        sm = malloc((size_t)(nl + 1) * sizeof *sm);
        if (!P || !buf || !cm || !sm) coef_free(&c);
    }
    if (!P || !buf || !cm || !sm) {
        free(P); free(buf); free(cm); free(sm);
        txrt_release(out);
        txrt_fail(ctx, "sph_harm: out of memory");
        return NULL;
    }
    double *Y = out->data;
    const double r2 = sqrt(2.0);
    for (int64_t s0 = 0; s0 < S; s0 += BLOCK) {
        int nb = S - s0 < BLOCK ? (int)(S - s0) : BLOCK;
        for (int j = 0; j < nb; j++) {
            double th, ph;
            txrt_get(theta, s0 + j, &th, NULL);
            txrt_get(phi, s0 + j, &ph, NULL);
            legendre(&c, cos(th), sin(th), P);
            for (int m = 0; m <= nl; m++) {
                cm[m] = cos(m * ph);
                sm[m] = sin(m * ph);
            }
            for (int l = 0; l <= nl; l++) {
                int64_t p0 = (int64_t)l * l + l;
                buf[p0 * BLOCK + j] = P[tri(l, 0)];
                for (int m = 1; m <= l; m++) {
                    double v = r2 * P[tri(l, m)];
                    buf[(p0 + m) * BLOCK + j] = v * cm[m];
                    buf[(p0 - m) * BLOCK + j] = v * sm[m];
                }
            }
        }
        for (int64_t p = 0; p < np; p++) memcpy(Y + p * S + s0, buf + p * BLOCK, (size_t)nb * sizeof *Y);
    }
    coef_free(&c);
    free(P); free(buf); free(cm); free(sm);
    return out;
}

/* ---- Gauss-Legendre nodes ----------------------------------------------------- */

/* Nodes x[0..n-1] (descending) and weights w of the n-point Gauss-Legendre
 * rule on [-1, 1]: Newton's method on P_n from the classic initial guess,
 * the mirror half by symmetry. */
static void gauss_legendre(int n, double *x, double *w) {
    for (int i = 0; i < (n + 1) / 2; i++) {
        double z = cos(PI * (i + 0.75) / (n + 0.5)), dp = 1;
        for (int it = 0; it < 100; it++) {
            double p0 = 1, p1 = z;                          /* P_0, P_1; then up to P_n */
            for (int k = 2; k <= n; k++) {
                double p2 = ((2.0 * k - 1) * z * p1 - (k - 1.0) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            dp = n * (z * p1 - p0) / (z * z - 1);           /* P_n'(z) from P_n, P_{n-1} */
            double dz = p1 / dp;
            z -= dz;
            if (fabs(dz) < 1e-16) break;
        }
        /* final derivative at the converged node */
        double p0 = 1, p1 = z;
        for (int k = 2; k <= n; k++) {
            double p2 = ((2.0 * k - 1) * z * p1 - (k - 1.0) * p0) / k;
            p0 = p1;
            p1 = p2;
        }
        dp = n * (z * p1 - p0) / (z * z - 1);
        x[i] = z;
        x[n - 1 - i] = -z;
        w[i] = w[n - 1 - i] = 2 / ((1 - z * z) * dp * dp);
    }
    if (n % 2 == 1) x[n / 2] = 0;
}

/* ---- gaunt ------------------------------------------------------------------ */

/* The azimuthal factor of Y_{l,m}: 1, sqrt(2) cos(m phi), sqrt(2) sin(|m| phi). */
static double azimuthal(int m, double ph) {
    if (m == 0) return 1;
    return m > 0 ? sqrt(2.0) * cos(m * ph) : sqrt(2.0) * sin(-m * ph);
}

txrt_tensor *txrt_gaunt(txrt_ctx *ctx, int64_t Lw) {
    if (check_L(ctx, "gaunt", Lw)) return NULL;
    int L = (int)Lw;
    int64_t np = (int64_t)(L + 1) * (L + 1);
    int64_t shape[3] = { np, np, np };
    txrt_tensor *out = txrt_tensor_new(ctx, TXRT_F64, 3, shape);
    if (!out) return NULL;
    int nt = 3 * L / 2 + 1;                 /* Gauss-Legendre nodes: exact to degree 2nt-1 >= 3L */
    int nphi = 3 * L + 1;                   /* uniform azimuthal rule: exact to degree 3L */
    int nm = 2 * L + 1;                     /* m = -L..L stored at m + L */
    legendre_coef c;
    int ok = coef_init(&c, L) == 0;
    double *x = malloc((size_t)nt * sizeof *x), *w = malloc((size_t)nt * sizeof *w);
    double *P = malloc(((size_t)tri(L, L) + 1) * sizeof *P);
    double *A = malloc((size_t)np * nt * sizeof *A);                /* A[p*nt + k] */
    double *F = malloc((size_t)nm * nm * nm * sizeof *F);         /* F[(m1*nm + m2)*nm + m3] */
    int *lof = malloc((size_t)np * sizeof *lof), *mof = malloc((size_t)np * sizeof *mof);
    if (!ok || !x || !w || !P || !A || !F || !lof || !mof) {
        if (ok) coef_free(&c);
        free(x); free(w); free(P); free(A); free(F); free(lof); free(mof);
        txrt_release(out);
        txrt_fail(ctx, "gaunt: out of memory");
        return NULL;
    }
    for (int l = 0; l <= L; l++)
        for (int m = -l; m <= l; m++) {
            lof[l * l + l + m] = l;
            mof[l * l + l + m] = m;
        }

    /* polar factors at the Gauss-Legendre nodes (x = cos theta in [-1, 1],
     * so sin theta = sqrt(1 - x^2) >= 0 is exact here) */
    gauss_legendre(nt, x, w);
    for (int k = 0; k < nt; k++) {
        legendre(&c, x[k], sqrt((1 - x[k]) * (1 + x[k])), P);
        for (int64_t p = 0; p < np; p++) A[p * nt + k] = P[tri(lof[p], abs(mof[p]))];
    }
    /* azimuthal integrals of all triple products, exact on the uniform grid */
    for (int m1 = -L; m1 <= L; m1++)
        for (int m2 = -L; m2 <= L; m2++)
            for (int m3 = -L; m3 <= L; m3++) {
                double sum = 0;
                for (int j = 0; j < nphi; j++) {
                    double ph = 2 * PI * j / nphi;
                    sum += azimuthal(m1, ph) * azimuthal(m2, ph) * azimuthal(m3, ph);
                }
                sum *= 2 * PI / nphi;
                /* Non-zero values are at least pi/sqrt(2); orthogonality zeros come out as
                 * rounding noise: store them as exact zeros. */
                F[((m1 + L) * nm + (m2 + L)) * nm + (m3 + L)] = fabs(sum) < 1e-8 ? 0 : sum;
            }

    double *G = out->data;
    for (int64_t p = 0; p < np; p++)
        for (int64_t q = p; q < np; q++)
            for (int64_t r = q; r < np; r++) {
                int l1 = lof[p], l2 = lof[q], l3 = lof[r];
                if ((l1 + l2 + l3) % 2 != 0 || l3 > l1 + l2 || l3 < abs(l1 - l2)) continue;
                double f = F[((mof[p] + L) * nm + (mof[q] + L)) * nm + (mof[r] + L)];
                if (f == 0) continue;
                const double *a1 = A + p * nt, *a2 = A + q * nt, *a3 = A + r * nt;
                double sum = 0;
                for (int k = 0; k < nt; k++) sum += w[k] * a1[k] * a2[k] * a3[k];
                double g = sum * f;
                G[(p * np + q) * np + r] = g;
                G[(p * np + r) * np + q] = g;
                G[(q * np + p) * np + r] = g;
                G[(q * np + r) * np + p] = g;
                G[(r * np + p) * np + q] = g;
                G[(r * np + q) * np + p] = g;
            }
    coef_free(&c);
    free(x); free(w); free(P); free(A); free(F); free(lof); free(mof);
    return out;
}
