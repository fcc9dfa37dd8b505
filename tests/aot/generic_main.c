/* generic_main.c -- drives the size-generic functions txc build made from
 * generic.tx without --shape: the same object is called with several sets
 * of sizes, and each result is compared with naive loops computed here and
 * (for the sizes generic.tx runs itself) with the reference evaluator's.
 * Also: sizes that the def needs equal, sizes < 1 and sizes too large for
 * memory fail with a message.  With the argument "mixed" the object was
 * built with --shape g_attention.d=6 (only d specialised). */
#include <stdbool.h>

#include "generic.h"
#include "check.h"

static double *fill(int64_t n, double seed) {
    double *p = malloc(sizeof *p * (size_t)(n > 0 ? n : 1));
    for (int64_t k = 0; k < n; k++) p[k] = sin(seed + 0.7 * (double)k) + 0.1 * cos(3.1 * (double)k * seed);
    return p;
}

static double *out(int64_t n) {
    return garbage(malloc(sizeof(double) * (size_t)(n > 0 ? n : 1)), sizeof(double) * (size_t)(n > 0 ? n : 1));
}

/* C[m,n] = A[m,k] B[k,n] */
static void ref_mm(int64_t m, int64_t k, int64_t n, const double *A, const double *B, double *C) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t l = 0; l < k; l++) s += A[i * k + l] * B[l * n + j];
            C[i * n + j] = s;
        }
}

static void ref_attention(int64_t n, int64_t d, int64_t e, const double *Q, const double *K, const double *V,
                          double *O) {
    double *S = malloc(sizeof *S * (size_t)(n * n));
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0;
            for (int64_t a = 0; a < d; a++) s += Q[i * d + a] * K[j * d + a];
            S[i * n + j] = exp(s / sqrt((double)d));
        }
    for (int64_t i = 0; i < n; i++) {
        double z = 0;
        for (int64_t j = 0; j < n; j++) z += S[i * n + j];
        for (int64_t b = 0; b < e; b++) {
            double s = 0;
            for (int64_t j = 0; j < n; j++) s += S[i * n + j] * V[j * e + b];
            O[i * e + b] = s / z;
        }
    }
    free(S);
}

static void ref_layernorm(int64_t n, int64_t d, const double *X, const double *w, double *Y) {
    for (int64_t i = 0; i < n; i++) {
        double mu = 0, var = 0;
        for (int64_t a = 0; a < d; a++) mu += X[i * d + a];
        mu /= (double)d;
        for (int64_t a = 0; a < d; a++) var += (X[i * d + a] - mu) * (X[i * d + a] - mu);
        var /= (double)d;
        for (int64_t a = 0; a < d; a++) {
            double y = 2 * ((X[i * d + a] - mu) / sqrt(var + 1e-5) * w[a]) + 1;
            Y[i * d + a] = y + 0.5 * y;
        }
    }
}

/* Every function at sizes m, k, n, p (matrices), d, e (attention: n rows). */
static void run_sizes(int64_t m, int64_t k, int64_t n, int64_t p, int64_t d, int64_t e, bool mixed) {
    char what[128];
    double *A = fill(m * k, 1), *B = fill(k * n, 2), *D = fill(n * p, 3);
    double *C = out(m * n), *Cr = out(m * n), *T = out(m * n), *E = out(m * p), *Er = out(m * p);
    double *G = out(k * k), *Gr = out(k * k), *At = out(k * m);
    if (!mixed) {
        snprintf(what, sizeof what, "g_matmul m=%lld k=%lld n=%lld", (long long)m, (long long)k, (long long)n);
        CALL_OK(g_matmul(m, k, n, A, B, C));
        ref_mm(m, k, n, A, B, Cr);
        compare(what, C, Cr, m * n, 1e-12, 1e-12);
        snprintf(what, sizeof what, "g_chain m=%lld k=%lld n=%lld p=%lld", (long long)m, (long long)k, (long long)n,
                 (long long)p);
        CALL_OK(g_chain(m, k, n, p, A, B, D, E));
        ref_mm(m, n, p, Cr, D, Er);
        compare(what, E, Er, m * p, 1e-12, 1e-12);
        snprintf(what, sizeof what, "g_gram m=%lld k=%lld", (long long)m, (long long)k);
        CALL_OK(g_gram(m, k, A, G));
        for (int64_t i = 0; i < m; i++)
            for (int64_t a = 0; a < k; a++) At[a * m + i] = A[i * k + a];
        ref_mm(k, m, k, At, A, Gr);
        compare(what, G, Gr, k * k, 1e-12, 1e-12);
    }
    /* attention and layer norm over n = m rows */
    double *Q = fill(m * d, 4), *K = fill(m * d, 5), *V = fill(m * e, 6), *w = fill(d, 7);
    double *O = out(m * e), *Or = out(m * e), *Y = out(m * d), *Yr = out(m * d);
    snprintf(what, sizeof what, "g_attention n=%lld d=%lld e=%lld", (long long)m, (long long)d, (long long)e);
    CALL_OK(g_attention(m, d, e, Q, K, V, O));
    ref_attention(m, d, e, Q, K, V, Or);
    compare(what, O, Or, m * e, 1e-10, 1e-12);
    if (!mixed) {
        /* H = 2 (2 tanh(A B) + 1) with A[m,k], B[k,n] */
        double *H = out(m * n);
        snprintf(what, sizeof what, "g_dense n=%lld d=%lld e=%lld", (long long)m, (long long)k, (long long)n);
        CALL_OK(g_dense(m, k, n, A, B, H));
        for (int64_t q = 0; q < m * n; q++) Cr[q] = 2 * (2 * tanh(Cr[q]) + 1);
        compare(what, H, Cr, m * n, 1e-12, 1e-12);
        free(H);
        snprintf(what, sizeof what, "g_layernorm n=%lld d=%lld", (long long)m, (long long)d);
        CALL_OK(g_layernorm(m, d, Q, w, Y));
        ref_layernorm(m, d, Q, w, Yr);
        compare(what, Y, Yr, m * d, 1e-10, 1e-12);
        /* f32 in, f32 mean and centred values out (rounded once, as the evaluator does) */
        float *x = malloc(sizeof *x * (size_t)m), *y = malloc(sizeof *y * (size_t)m), mean = NAN;
        double s = 0, got[2], want[2];
        for (int64_t i = 0; i < m; i++) x[i] = (float)A[i], s += (double)x[i];
        CALL_OK(g_center(m, x, &mean, y));
        float mr = (float)(s / (double)m);
        got[0] = mean, want[0] = mr;
        got[1] = y[m - 1], want[1] = (float)((double)x[m - 1] - (double)mr);
        snprintf(what, sizeof what, "g_center n=%lld", (long long)m);
        compare(what, got, want, 2, 1e-6, 1e-6);
        free(x), free(y);
        /* an index over n and p: equal sizes work, different ones fail */
        double *z = out(m), zr;
        CALL_OK(g_addv(m, m, A, B, z));
        zr = A[m - 1] + B[m - 1];
        snprintf(what, sizeof what, "g_addv n=p=%lld", (long long)m);
        compare(what, &z[m - 1], &zr, 1, 1e-15, 0);
        CALL_FAILS(g_addv(m, m + 1, A, B, z), "must be equal");
        free(z);
        /* constant axes (3) next to run-time ones */
        double *Am = fill(m * 3, 8), *Bm = fill(3 * m, 9), *Cm = out(m * m), *Cmr = out(m * m);
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < m; j++) Cmr[i * m + j] = Am[i * 3] * Bm[j] + Am[i * 3 + 2] * Bm[2 * m + j];
        snprintf(what, sizeof what, "g_mixed n=%lld", (long long)m);
        CALL_OK(g_mixed(m, Am, Bm, Cm));
        compare(what, Cm, Cmr, m * m, 1e-15, 1e-15);
        free(Am), free(Bm), free(Cm), free(Cmr);
    }
    free(A), free(B), free(D), free(C), free(Cr), free(T), free(E), free(Er), free(G), free(Gr), free(At);
    free(Q), free(K), free(V), free(w), free(O), free(Or), free(Y), free(Yr);
}

int main(int argc, char **argv) {
    bool mixed = argc > 1 && strcmp(argv[1], "mixed") == 0;
    if (mixed) {   /* d is specialised to 6: any n and e, d must be 6 */
        run_sizes(1, 1, 1, 1, 6, 1, true);
        run_sizes(37, 13, 9, 11, 6, 3, true);
        double q[6] = { 0 }, o[1];
        CALL_FAILS(g_attention(1, 7, 1, q, q, q, o), "built for d=6");
        return failures != 0;
    }
    /* the sizes generic.tx ran with: the evaluator's results */
    enum { M = 20, K = 6, N = 5, P = 4 };
    txrt_tensor *A = load("A.npy", TXRT_F64, M * K), *B = load("B.npy", TXRT_F64, K * N);
    txrt_tensor *D = load("D.npy", TXRT_F64, N * P), *V = load("V.npy", TXRT_F64, M * N);
    txrt_tensor *w = load("w.npy", TXRT_F64, K), *x = load("x.npy", TXRT_F32, M);
    txrt_tensor *C = load("C.npy", TXRT_F64, M * N), *E = load("E.npy", TXRT_F64, M * P);
    txrt_tensor *G = load("G.npy", TXRT_F64, K * K), *O = load("O.npy", TXRT_F64, M * N);
    txrt_tensor *Y = load("Y.npy", TXRT_F64, M * K), *mean = load("mean.npy", TXRT_F32, 1);
    txrt_tensor *y = load("y.npy", TXRT_F32, M), *H = load("H.npy", TXRT_F64, M * N);
    double *c = out(M * N), *e = out(M * P), *g = out(K * K), *o = out(M * N), *yy = out(M * K);
    CALL_OK(g_matmul(M, K, N, A->data, B->data, c));
    compare("g_matmul (evaluator)", c, C->data, M * N, 1e-12, 1e-12);
    CALL_OK(g_chain(M, K, N, P, A->data, B->data, D->data, e));
    compare("g_chain (evaluator)", e, E->data, M * P, 1e-12, 1e-12);
    CALL_OK(g_gram(M, K, A->data, g));
    compare("g_gram (evaluator)", g, G->data, K * K, 1e-12, 1e-12);
    CALL_OK(g_attention(M, K, N, A->data, A->data, V->data, o));
    compare("g_attention (evaluator)", o, O->data, M * N, 1e-10, 1e-12);
    double *h = out(M * N);
    CALL_OK(g_dense(M, K, N, A->data, B->data, h));
    compare("g_dense (evaluator)", h, H->data, M * N, 1e-12, 1e-12);
    free(h);
    txrt_release(H);
    CALL_OK(g_layernorm(M, K, A->data, w->data, yy));
    compare("g_layernorm (evaluator)", yy, Y->data, M * K, 1e-10, 1e-12);
    float fm = NAN, fy[M];
    CALL_OK(g_center(M, x->data, &fm, fy));
    double got[2] = { fm, fy[7] }, want[2] = { ((float *)mean->data)[0], ((float *)y->data)[7] };
    compare("g_center (evaluator)", got, want, 2, 1e-6, 1e-7);
    /* the same object at other sizes, against naive loops */
    run_sizes(1, 1, 1, 1, 1, 1, false);
    run_sizes(37, 13, 9, 11, 7, 3, false);
    run_sizes(130, 70, 90, 3, 16, 40, false);
    /* sizes are checked on entry */
    CALL_FAILS(g_matmul(0, K, N, A->data, B->data, c), "size 'm' is 0; sizes must be at least 1");
    CALL_FAILS(g_matmul(-3, K, N, A->data, B->data, c), "sizes must be at least 1");
    CALL_FAILS(g_matmul((int64_t)1 << 40, (int64_t)1 << 40, N, A->data, B->data, c), "too large");
    CALL_FAILS(g_matmul(M, K, N, NULL, B->data, c), "NULL pointer");
    txrt_release(A), txrt_release(B), txrt_release(D), txrt_release(V), txrt_release(w), txrt_release(x);
    txrt_release(C), txrt_release(E), txrt_release(G), txrt_release(O), txrt_release(Y), txrt_release(mean);
    txrt_release(y);
    free(c), free(e), free(g), free(o), free(yy);
    return failures != 0;
}
