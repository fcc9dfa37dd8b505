/*
 * naive.c -- the naive C column of the benchmark: each workload as the
 * literal loop nest of its .tx statements (output indices outermost, then
 * the summed ones in order of appearance; gemm and batched_gemm in the
 * usual i,k,j order), one thread, compiled by bench/run.py with
 * gcc -O3 -march=native (no -ffast-math).  Statements are computed one
 * after another with their intermediates materialised, as written.
 *
 *   naive WORKDIR NAME MIN_REPS MAX_REPS BUDGET_S
 *
 * reads WORKDIR/NAME/<input>.npy (written by bench/run.py, the same files
 * txc and numpy read), times the nest (bench_time in ../npy_io.h: output
 * zeroing is inside the timing), writes WORKDIR/NAME/naive.npy and prints
 * one JSON line.
 */
#include <math.h>

#include "../npy_io.h"

typedef struct ctx {
    npy in[6];
    double *out;
    long out_size;
    double *tmp[3];
    void (*run)(struct ctx *);
} ctx;

#define IN(k) (c->in[k].data)
#define DIM(k, d) (c->in[k].shape[d])

static void zero(ctx *c) { memset(c->out, 0, (size_t)c->out_size * sizeof(double)); }

static void gemm(ctx *c) {
    long n = DIM(0, 0), m = DIM(0, 1), p = DIM(1, 1);
    const double *A = IN(0), *B = IN(1);
    double *C = c->out;
    zero(c);
    for (long i = 0; i < n; i++)
        for (long k = 0; k < m; k++) {
            double a = A[i * m + k];
            for (long j = 0; j < p; j++) C[i * p + j] += a * B[k * p + j];
        }
}

static void batched_gemm(ctx *c) {
    long nb = DIM(0, 0), n = DIM(0, 1), m = DIM(0, 2), p = DIM(1, 2);
    zero(c);
    for (long b = 0; b < nb; b++) {
        const double *A = IN(0) + b * n * m, *B = IN(1) + b * m * p;
        double *C = c->out + b * n * p;
        for (long i = 0; i < n; i++)
            for (long k = 0; k < m; k++) {
                double a = A[i * m + k];
                for (long j = 0; j < p; j++) C[i * p + j] += a * B[k * p + j];
            }
    }
}

/* R[a,b,i,j] = V[a,b,c,d]*T[c,d,i,j]: (a,b) outer, (c,d) summed, (i,j) contiguous innermost */
static void ccsd_like(ctx *c) {
    long ab = DIM(0, 0) * DIM(0, 1), cd = DIM(0, 2) * DIM(0, 3), ij = DIM(1, 2) * DIM(1, 3);
    const double *V = IN(0), *T = IN(1);
    zero(c);
    for (long x = 0; x < ab; x++)
        for (long y = 0; y < cd; y++) {
            double v = V[x * cd + y];
            for (long z = 0; z < ij; z++) c->out[x * ij + z] += v * T[y * ij + z];
        }
}

/* D[i,l] = A[i,j]*B[j,k]*C[k,l] unplanned: i, j, k, l */
static void chain3(ctx *c) {
    long n = DIM(0, 0), r = DIM(0, 1), m = DIM(1, 1), q = DIM(2, 1);
    const double *A = IN(0), *B = IN(1), *C = IN(2);
    double *D = c->out;
    zero(c);
    for (long i = 0; i < n; i++)
        for (long j = 0; j < r; j++)
            for (long k = 0; k < m; k++) {
                double t = A[i * r + j] * B[j * m + k];
                for (long l = 0; l < q; l++) D[i * q + l] += t * C[k * q + l];
            }
}

/* M[i,r] = X[i,j,k]*B[j,r]*C[k,r]: i, j, k, r */
static void mttkrp(ctx *c) {
    long I = DIM(0, 0), J = DIM(0, 1), K = DIM(0, 2), R = DIM(1, 1);
    const double *X = IN(0), *B = IN(1), *C = IN(2);
    double *M = c->out;
    zero(c);
    for (long i = 0; i < I; i++)
        for (long j = 0; j < J; j++)
            for (long k = 0; k < K; k++) {
                double x = X[(i * J + j) * K + k];
                for (long r = 0; r < R; r++) M[i * R + r] += x * B[j * R + r] * C[k * R + r];
            }
}

/* Y[a,b,c] = X[i,j,k]*U1[i,a]*U2[j,b]*U3[k,c]: a, b, c, i, j, k */
static void tucker_ttm(ctx *c) {
    long I = DIM(0, 0), J = DIM(0, 1), K = DIM(0, 2), RA = DIM(1, 1), RB = DIM(2, 1), RC = DIM(3, 1);
    const double *X = IN(0), *U1 = IN(1), *U2 = IN(2), *U3 = IN(3);
    for (long a = 0; a < RA; a++)
        for (long b = 0; b < RB; b++)
            for (long cc = 0; cc < RC; cc++) {
                double s = 0;
                for (long i = 0; i < I; i++)
                    for (long j = 0; j < J; j++)
                        for (long k = 0; k < K; k++)
                            s += X[(i * J + j) * K + k] * U1[i * RA + a] * U2[j * RB + b] * U3[k * RC + cc];
                c->out[(a * RB + b) * RC + cc] = s;
            }
}

/* P[i,j] = X[i,k]*X[k,l]*X[l,j]*X[i,l]: i, j, k, l */
static void graph_poly(ctx *c) {
    long n = DIM(0, 0);
    const double *X = IN(0);
    for (long i = 0; i < n; i++)
        for (long j = 0; j < n; j++) {
            double s = 0;
            for (long k = 0; k < n; k++)
                for (long l = 0; l < n; l++) s += X[i * n + k] * X[k * n + l] * X[l * n + j] * X[i * n + l];
            c->out[i * n + j] = s;
        }
}

/* A[i,j,k] = exp(sum[a](Q K1 K2)/d); D[i] = A[i,j,k]; O[i,b] = A V1 V2 / D[i] */
static void tensor_attention(ctx *c) {
    long n = DIM(0, 0), d = DIM(0, 1), e = DIM(3, 1);
    const double *Q = IN(0), *K1 = IN(1), *K2 = IN(2), *V1 = IN(3), *V2 = IN(4);
    double *A = c->tmp[0], *D = c->tmp[1], *O = c->out;
    for (long i = 0; i < n; i++)
        for (long j = 0; j < n; j++)
            for (long k = 0; k < n; k++) {
                double s = 0;
                for (long a = 0; a < d; a++) s += Q[i * d + a] * K1[j * d + a] * K2[k * d + a];
                A[(i * n + j) * n + k] = exp(s / (double)d);
            }
    for (long i = 0; i < n; i++) {
        double s = 0;
        for (long j = 0; j < n * n; j++) s += A[i * n * n + j];
        D[i] = s;
    }
    for (long i = 0; i < n; i++)
        for (long b = 0; b < e; b++) {
            double s = 0;
            for (long j = 0; j < n; j++)
                for (long k = 0; k < n; k++) s += A[(i * n + j) * n + k] * V1[j * e + b] * V2[k * e + b] / D[i];
            O[i * e + b] = s;
        }
}

/* S = Q K^T / 8; M = row max; E = exp(S - M); O = E V / row sum of E (hoisted per row) */
static void softmax_attention(ctx *c) {
    long n = DIM(0, 0), d = DIM(0, 1), e = DIM(2, 1);
    const double *Q = IN(0), *K = IN(1), *V = IN(2);
    double *S = c->tmp[0], *M = c->tmp[1], *E = c->tmp[2], *O = c->out;
    for (long i = 0; i < n; i++)
        for (long j = 0; j < n; j++) {
            double s = 0;
            for (long a = 0; a < d; a++) s += Q[i * d + a] * K[j * d + a];
            S[i * n + j] = s / 8;
        }
    for (long i = 0; i < n; i++) {
        double m = -INFINITY;
        for (long j = 0; j < n; j++) m = fmax(m, S[i * n + j]);
        M[i] = m;
    }
    for (long i = 0; i < n; i++)
        for (long j = 0; j < n; j++) E[i * n + j] = exp(S[i * n + j] - M[i]);
    zero(c);
    for (long i = 0; i < n; i++) {
        double z = 0;
        for (long k = 0; k < n; k++) z += E[i * n + k];
        for (long j = 0; j < n; j++)
            for (long b = 0; b < e; b++) O[i * e + b] += E[i * n + j] * V[j * e + b] / z;
    }
}

static void logsumexp(ctx *c) {
    long n = DIM(0, 0), m = DIM(0, 1);
    const double *X = IN(0);
    for (long i = 0; i < n; i++) {
        double mx = -INFINITY, s = 0;
        for (long k = 0; k < m; k++) mx = fmax(mx, X[i * m + k]);
        for (long j = 0; j < m; j++) s += exp(X[i * m + j] - mx);
        c->out[i] = log(s) + mx;
    }
}

static void elementwise(ctx *c) {
    long n = DIM(0, 0);
    const double *X = IN(0);
    for (long i = 0; i < n; i++) c->out[i] = exp(X[i]) * sin(X[i]) + sqrt(fabs(X[i]));
}

/* Y[b,o,i] = X[b,c,i+k]*W[o,c,k]: b, o, i, c, k */
static void conv1d(ctx *c) {
    long B = DIM(0, 0), C = DIM(0, 1), L = DIM(0, 2), O = DIM(1, 0), K = DIM(1, 2), N = L - K + 1;
    const double *X = IN(0), *W = IN(1);
    for (long b = 0; b < B; b++)
        for (long o = 0; o < O; o++)
            for (long i = 0; i < N; i++) {
                double s = 0;
                for (long cc = 0; cc < C; cc++)
                    for (long k = 0; k < K; k++) s += X[(b * C + cc) * L + i + k] * W[(o * C + cc) * K + k];
                c->out[(b * O + o) * N + i] = s;
            }
}

static void run(void *p) {
    ctx *c = p;
    c->run(c);
}

static double *alloc_zero(long n) {
    double *p = aligned_alloc(64, ((size_t)n * sizeof(double) + 63) / 64 * 64);
    if (!p) npy_die("out of memory", "");
    memset(p, 0, (size_t)n * sizeof(double));
    return p;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: naive WORKDIR NAME MIN_REPS MAX_REPS BUDGET_S\n");
        return 2;
    }
    const char *name = argv[2];
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", argv[1], name);
    static const struct {
        const char *name;
        void (*run)(ctx *);
        const char *inputs[6];
    } table[] = {
        { "gemm", gemm, { "A", "B" } },
        { "batched_gemm", batched_gemm, { "A", "B" } },
        { "ccsd_like", ccsd_like, { "V", "T" } },
        { "chain3", chain3, { "A", "B", "C" } },
        { "mttkrp", mttkrp, { "X", "B", "C" } },
        { "tucker_ttm", tucker_ttm, { "X", "U1", "U2", "U3" } },
        { "graph_poly", graph_poly, { "X" } },
        { "tensor_attention_128", tensor_attention, { "Q", "K1", "K2", "V1", "V2" } },
        { "tensor_attention_256", tensor_attention, { "Q", "K1", "K2", "V1", "V2" } },
        { "softmax_attention", softmax_attention, { "Q", "K", "V" } },
        { "logsumexp", logsumexp, { "X" } },
        { "elementwise", elementwise, { "X" } },
        { "conv1d", conv1d, { "X", "W" } },
    };
    int w = -1;
    for (int k = 0; k < (int)(sizeof table / sizeof *table); k++)
        if (strcmp(table[k].name, name) == 0) w = k;
    if (w < 0) {
        fprintf(stderr, "naive: no loop nest for '%s'\n", name);
        return 2;
    }
    ctx c;
    memset(&c, 0, sizeof c);
    c.run = table[w].run;
    for (int k = 0; k < 6 && table[w].inputs[k]; k++) c.in[k] = npy_load(dir, table[w].inputs[k]);
    long shape[4], rank;
    if (w <= 1) {                                        /* gemm, batched_gemm */
        rank = c.in[0].rank;
        memcpy(shape, c.in[0].shape, sizeof shape);
        shape[rank - 1] = c.in[1].shape[rank - 1];
    } else if (w == 2) {
        rank = 4, shape[0] = c.in[0].shape[0], shape[1] = c.in[0].shape[1];
        shape[2] = c.in[1].shape[2], shape[3] = c.in[1].shape[3];
    } else if (w == 3) {
        rank = 2, shape[0] = c.in[0].shape[0], shape[1] = c.in[2].shape[1];
    } else if (w == 4) {
        rank = 2, shape[0] = c.in[0].shape[0], shape[1] = c.in[1].shape[1];
    } else if (w == 5) {
        rank = 3, shape[0] = c.in[1].shape[1], shape[1] = c.in[2].shape[1], shape[2] = c.in[3].shape[1];
    } else if (w == 6) {
        rank = 2, shape[0] = shape[1] = c.in[0].shape[0];
    } else if (w <= 8) {
        long n = c.in[0].shape[0];
        rank = 2, shape[0] = n, shape[1] = c.in[3].shape[1];
        c.tmp[0] = alloc_zero(n * n * n);
        c.tmp[1] = alloc_zero(n);
    } else if (w == 9) {
        long n = c.in[0].shape[0];
        rank = 2, shape[0] = n, shape[1] = c.in[2].shape[1];
        c.tmp[0] = alloc_zero(n * n);
        c.tmp[1] = alloc_zero(n);
        c.tmp[2] = alloc_zero(n * n);
    } else if (w == 10 || w == 11) {
        rank = 1, shape[0] = c.in[0].shape[0];
    } else {
        rank = 3, shape[0] = c.in[0].shape[0], shape[1] = c.in[1].shape[0];
        shape[2] = c.in[0].shape[2] - c.in[1].shape[2] + 1;
    }
    c.out_size = 1;
    for (int d = 0; d < rank; d++) c.out_size *= shape[d];
    c.out = alloc_zero(c.out_size);
    bench_time(run, &c, atoi(argv[3]), atoi(argv[4]), atof(argv[5]));
    npy_save(dir, "naive", c.out, 0, (int)rank, shape);
    return 0;
}
