/*
 * npy_io.h -- the little the C side of the benchmark needs: read and write
 * C-ordered little-endian .npy files of f64 ('<f8') or c128 ('<c16'), time
 * a function adaptively and print the one JSON line bench/run.py parses.
 * Header-only, shared by bench/naive/naive.c and bench/linalg_direct.c.
 */
#ifndef TXC_BENCH_NPY_IO_H
#define TXC_BENCH_NPY_IO_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

typedef struct npy {
    double *data;        /* f64 values, or interleaved (re, im) for c128 */
    int complex_;        /* 1 for '<c16' */
    int rank;
    long shape[8];
    long size;           /* number of elements */
} npy;

static void npy_die(const char *what, const char *path) {
    fprintf(stderr, "bench: %s: %s\n", what, path);
    exit(1);
}

/* Read dir/name.npy. */
static npy npy_load(const char *dir, const char *name) {
    char path[8192];
    snprintf(path, sizeof path, "%.4000s/%.200s.npy", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) npy_die("cannot open", path);
    unsigned char pre[10];
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) npy_die("not a .npy file", path);
    unsigned hlen = pre[8] | (unsigned)pre[9] << 8;
    if (pre[6] != 1) {                                   /* format 2.0/3.0: 4-byte header length */
        unsigned char b[2];
        if (fread(b, 1, 2, f) != 2) npy_die("truncated", path);
        hlen = hlen | (unsigned)b[0] << 16 | (unsigned)b[1] << 24;
    }
    char *h = calloc(hlen + 1, 1);
    if (!h || fread(h, 1, hlen, f) != hlen) npy_die("truncated header", path);
    npy a;
    memset(&a, 0, sizeof a);
    if (strstr(h, "'<c16'")) a.complex_ = 1;
    else if (!strstr(h, "'<f8'")) npy_die("dtype is not <f8 or <c16", path);
    if (strstr(h, "'fortran_order': True")) npy_die("Fortran order", path);
    char *s = strchr(strstr(h, "'shape'"), '(');
    a.size = 1;
    for (s++; *s && *s != ')';) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s) { s++; continue; }
        a.shape[a.rank++] = v;
        a.size *= v;
        s = end;
    }
    free(h);
    size_t n = (size_t)a.size * (a.complex_ ? 2 : 1);
    a.data = aligned_alloc(64, (n * sizeof(double) + 63) / 64 * 64);
    if (!a.data || fread(a.data, sizeof(double), n, f) != n) npy_die("truncated data", path);
    fclose(f);
    return a;
}

/* Write dir/name.npy: f64 (or c128 when complex_) of the given shape. */
static void npy_save(const char *dir, const char *name, const double *data, int complex_, int rank,
                     const long *shape) {
    char path[8192], hdr[256], dims[160] = "";
    snprintf(path, sizeof path, "%.4000s/%.200s.npy", dir, name);
    long size = 1;
    for (int d = 0; d < rank; d++) {
        size_t l = strlen(dims);
        snprintf(dims + l, sizeof dims - l, "%ld,%s", shape[d], rank > 1 && d < rank - 1 ? " " : "");
        size *= shape[d];
    }
    int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
                     complex_ ? "<c16" : "<f8", dims);
    int total = (10 + n + 1 + 63) / 64 * 64;             /* header padded to 64 bytes, ends in \n */
    memset(hdr + n, ' ', (size_t)(total - 10 - n));
    hdr[total - 10 - 1] = '\n';
    FILE *f = fopen(path, "wb");
    if (!f) npy_die("cannot write", path);
    unsigned char pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)((total - 10) & 255),
                              (unsigned char)((total - 10) >> 8) };
    fwrite(pre, 1, 10, f);
    fwrite(hdr, 1, (size_t)(total - 10), f);
    fwrite(data, sizeof(double) * (complex_ ? 2 : 1), (size_t)size, f);
    fclose(f);
}

static double bench_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

static double bench_cpu_ms(void) {           /* CPU time of the process, all threads */
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

static int bench_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Time fn(ctx): one warm-up run (counted as the only timed one when it
 * alone takes longer than 2.5 s: the slow naive nests), then min_reps..
 * max_reps runs, stopping after budget_s seconds once min_reps are done.
 * Prints {"median_ms", "min_ms", "cpu_median_ms", "reps", "maxrss_kb"}. */
static void bench_time(void (*fn)(void *), void *ctx, int min_reps, int max_reps, double budget_s) {
    double t[1000], cpu[1000];
    int k = 0;
    if (max_reps > 1000) max_reps = 1000;
    double w0 = bench_now_ms(), c0 = bench_cpu_ms();
    fn(ctx);
    double w = bench_now_ms() - w0;
    if (w > 2500) {
        cpu[k] = bench_cpu_ms() - c0;
        t[k++] = w;
    } else {
        double start = bench_now_ms();
        while (k < max_reps && (k < min_reps || bench_now_ms() - start < 1e3 * budget_s)) {
            double s = bench_now_ms(), c = bench_cpu_ms();
            fn(ctx);
            cpu[k] = bench_cpu_ms() - c;
            t[k++] = bench_now_ms() - s;
        }
    }
    qsort(t, (size_t)k, sizeof *t, bench_cmp);
    qsort(cpu, (size_t)k, sizeof *cpu, bench_cmp);
    double med = k % 2 ? t[k / 2] : 0.5 * (t[k / 2 - 1] + t[k / 2]);
    double cmed = k % 2 ? cpu[k / 2] : 0.5 * (cpu[k / 2 - 1] + cpu[k / 2]);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"median_ms\": %.6f, \"min_ms\": %.6f, \"cpu_median_ms\": %.6f, \"reps\": %d, \"maxrss_kb\": %ld}\n",
           med, t[0], cmed, k, ru.ru_maxrss);
}

#endif
