/*
 * linalg_direct.c -- the C column of the linalg/FFT rows (issue 6): the
 * same LAPACKE/FFTW routines txc's builtins call (runtime/linalg.c,
 * runtime/fft.c), called directly, so that txc's overhead over them shows:
 *
 *   solve     LAPACKE_dgesv, row-major (copies of A and b: gesv overwrites them)
 *   eigh      LAPACKE_dsyevd 'V' 'L', row-major (on a copy of A)
 *   svd       LAPACKE_dgesdd 'S' column-major on the row-major buffer (= A^T,
 *             so U and Vt come out row-major without transposes; on a copy)
 *   fft2      one FFTW_MEASURE c2c 512x512 plan, made once before the timing
 *             (on scratch arrays: measuring overwrites them), executed into a
 *             preallocated output (fftw_execute_dft)
 *   fft2conv  FFTW_MEASURE r2c of both inputs, product, c2r, 1/N scaling
 *             (what the best hand-written code does; txc's program runs
 *             c2c transforms as written)
 *
 * For the two FFT rows a second JSON line follows: the same transforms with
 * FFTW_ESTIMATE plans (on this machine the ESTIMATE plan of a 512x512 c2c
 * runs ~35x slower than the measured one: txc's runtime/fft.c plans with
 * ESTIMATE and does the strided axis itself).
 *
 * Work buffers are allocated once; copies the routines need are inside the
 * timing.  Compiled by bench/run.py with gcc -O3 -march=native, linked
 * with -llapacke -lopenblas -lfftw3 (the libraries txc links).
 *
 *   linalg_direct WORKDIR NAME MIN_REPS MAX_REPS BUDGET_S
 */
#include <complex.h>
#include <fftw3.h>
#include <lapacke.h>

#include "npy_io.h"

typedef struct ctx {
    const char *name;
    npy a, b;
    double *w1, *w2, *w3, *w4;
    lapack_int *ipiv;
    fftw_plan p1, p2, p3;
    int info;
} ctx;

static double *buf(size_t n) {
    double *p = fftw_malloc(n * sizeof(double));
    if (!p) npy_die("out of memory", "");
    memset(p, 0, n * sizeof(double));
    return p;
}

static void run(void *p) {
    ctx *c = p;
    long n = c->a.shape[0];
    if (strcmp(c->name, "solve") == 0) {
        memcpy(c->w1, c->a.data, (size_t)(n * n) * sizeof(double));
        memcpy(c->w2, c->b.data, (size_t)n * sizeof(double));
        c->info |= LAPACKE_dgesv(LAPACK_ROW_MAJOR, (lapack_int)n, 1, c->w1, (lapack_int)n, c->ipiv, c->w2, 1);
    } else if (strcmp(c->name, "eigh") == 0) {
        memcpy(c->w1, c->a.data, (size_t)(n * n) * sizeof(double));
        c->info |= LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'L', (lapack_int)n, c->w1, (lapack_int)n, c->w2);
    } else if (strcmp(c->name, "svd") == 0) {
        long m = c->a.shape[1];                          /* A is n x m row-major = m x n column-major */
        long k = n < m ? n : m;
        memcpy(c->w1, c->a.data, (size_t)(n * m) * sizeof(double));
        c->info |= LAPACKE_dgesdd(LAPACK_COL_MAJOR, 'S', (lapack_int)m, (lapack_int)n, c->w1, (lapack_int)m,
                                  c->w2, c->w4, (lapack_int)m, c->w3, (lapack_int)k);
    } else if (strcmp(c->name, "fft2") == 0) {
        fftw_execute_dft(c->p1, (fftw_complex *)c->a.data, (fftw_complex *)c->w1);
    } else {                                             /* fft2conv */
        long m = c->a.shape[1], h = m / 2 + 1;
        fftw_execute_dft_r2c(c->p1, c->a.data, (fftw_complex *)c->w1);
        fftw_execute_dft_r2c(c->p1, c->b.data, (fftw_complex *)c->w2);
        double complex *x = (double complex *)c->w1, *y = (double complex *)c->w2;
        double scale = 1.0 / (double)(n * m);
        for (long i = 0; i < n * h; i++) x[i] = x[i] * y[i] * scale;
        fftw_execute_dft_c2r(c->p2, (fftw_complex *)c->w1, c->w3);
    }
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: linalg_direct WORKDIR NAME MIN_REPS MAX_REPS BUDGET_S\n");
        return 2;
    }
    ctx c;
    memset(&c, 0, sizeof c);
    c.name = argv[2];
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", argv[1], c.name);
    int is_conv = strcmp(c.name, "fft2conv") == 0;
    c.a = npy_load(dir, is_conv ? "A" : strcmp(c.name, "fft2") == 0 ? "X" : "A");
    if (strcmp(c.name, "solve") == 0) c.b = npy_load(dir, "b");
    if (is_conv) c.b = npy_load(dir, "B");
    long n = c.a.shape[0], m = c.a.rank > 1 ? c.a.shape[1] : 1, h = m / 2 + 1;
    LAPACKE_set_nancheck(0);                             /* as txc (runtime/linalg.c) */
    const double *result;
    int rcomplex = 0, rrank = 1;
    long rshape[2] = { n, m };
    if (strcmp(c.name, "solve") == 0) {
        c.w1 = buf((size_t)(n * n)), c.w2 = buf((size_t)n);
        c.ipiv = calloc((size_t)n, sizeof *c.ipiv);
        result = c.w2;
    } else if (strcmp(c.name, "eigh") == 0) {
        c.w1 = buf((size_t)(n * n)), c.w2 = buf((size_t)n);
        result = c.w2;
    } else if (strcmp(c.name, "svd") == 0) {
        long k = n < m ? n : m;
        c.w1 = buf((size_t)(n * m)), c.w2 = buf((size_t)k), c.w3 = buf((size_t)(n * k)), c.w4 = buf((size_t)(k * m));
        result = c.w2;
        rshape[0] = k;
    } else if (strcmp(c.name, "fft2") == 0) {
        double *scratch = buf((size_t)(2 * n * m));
        c.w1 = buf((size_t)(2 * n * m));
        c.p1 = fftw_plan_dft_2d((int)n, (int)m, (fftw_complex *)scratch, (fftw_complex *)c.w1, FFTW_FORWARD,
                                FFTW_MEASURE | FFTW_PRESERVE_INPUT);
        result = c.w1, rcomplex = 1, rrank = 2;
    } else if (is_conv) {
        double *scratch = buf((size_t)(n * m));
        c.w1 = buf((size_t)(2 * n * h)), c.w2 = buf((size_t)(2 * n * h)), c.w3 = buf((size_t)(n * m));
        c.p1 = fftw_plan_dft_r2c_2d((int)n, (int)m, scratch, (fftw_complex *)c.w1,
                                    FFTW_MEASURE | FFTW_PRESERVE_INPUT);
        c.p2 = fftw_plan_dft_c2r_2d((int)n, (int)m, (fftw_complex *)c.w1, c.w3, FFTW_MEASURE);
        result = c.w3, rrank = 2;
    } else {
        fprintf(stderr, "linalg_direct: no direct call for '%s'\n", c.name);
        return 2;
    }
    bench_time(run, &c, atoi(argv[3]), atoi(argv[4]), atof(argv[5]));
    if (c.p1) {
        /* The same transforms with FFTW_ESTIMATE plans (into scratch outputs): a second JSON line. */
        ctx e = c;
        fftw_forget_wisdom();                            /* else ESTIMATE reuses what MEASURE found */
        if (is_conv) {
            e.w1 = buf((size_t)(2 * n * h)), e.w2 = buf((size_t)(2 * n * h)), e.w3 = buf((size_t)(n * m));
            e.p1 = fftw_plan_dft_r2c_2d((int)n, (int)m, c.a.data, (fftw_complex *)e.w1,
                                        FFTW_ESTIMATE | FFTW_PRESERVE_INPUT);
            e.p2 = fftw_plan_dft_c2r_2d((int)n, (int)m, (fftw_complex *)e.w1, e.w3, FFTW_ESTIMATE);
        } else {
            e.w1 = buf((size_t)(2 * n * m));
            e.p1 = fftw_plan_dft_2d((int)n, (int)m, (fftw_complex *)c.a.data, (fftw_complex *)e.w1, FFTW_FORWARD,
                                    FFTW_ESTIMATE | FFTW_PRESERVE_INPUT);
        }
        bench_time(run, &e, atoi(argv[3]), atoi(argv[4]), atof(argv[5]));
    }
    if (c.info) fprintf(stderr, "linalg_direct: %s: LAPACK info %d\n", c.name, c.info);
    npy_save(dir, "naive", result, rcomplex, rrank, rshape);
    return 0;
}
