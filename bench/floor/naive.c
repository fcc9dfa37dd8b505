/*
 * naive.c -- the literal loop nests of bench/floor/*.tx, compiled by gcc
 * -O3 -march=native: the floor that txc's generated code for the same
 * unplanned, unfused loop nest must reach (issue 3: within 1.2x).
 * Prints "name median_ms" for each kernel, median of REPS runs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPS 7

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *t) {
    qsort(t, REPS, sizeof *t, cmp);
    return t[REPS / 2];
}

static void fill(double *x, long n, unsigned s) {
    for (long i = 0; i < n; i++) {
        s = s * 1103515245u + 12345u;
        x[i] = (double)(s >> 8) / (double)(1u << 24) - 0.5;
    }
}

/* C[i,j] = A[i,k]*B[k,j], i,j,k in the order written (k innermost) */
static void matmul(const double *A, const double *B, double *C, int n) {
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < n; k++) s += A[i * n + k] * B[k * n + j];
            C[i * n + j] = s;
        }
}

/* Y[o,i] = X[c,i+k]*W[o,c,k] */
static void conv(const double *X, const double *W, double *Y, int C, int O, int L, int K) {
    int M = L - K + 1;
    for (int o = 0; o < O; o++)
        for (int i = 0; i < M; i++) {
            double s = 0;
            for (int c = 0; c < C; c++)
                for (int k = 0; k < K; k++) s += X[c * L + i + k] * W[(o * C + c) * K + k];
            Y[o * M + i] = s;
        }
}

/* Y[i] = exp(X[i])*sin(X[i]) + sqrt(abs(X[i])) */
static void elementwise(const double *X, double *Y, long n) {
    for (long i = 0; i < n; i++) Y[i] = exp(X[i]) * sin(X[i]) + sqrt(fabs(X[i]));
}

/* r[i] = sum[j](X[i,j]) */
static void rowsum(const double *X, double *r, int m, int n) {
    for (int i = 0; i < m; i++) {
        double s = 0;
        for (int j = 0; j < n; j++) s += X[i * n + j];
        r[i] = s;
    }
}

int main(void) {
    double t[REPS];
    const int n = 256;
    double *A = malloc(sizeof(double) * n * n), *B = malloc(sizeof(double) * n * n), *C = malloc(sizeof(double) * n * n);
    fill(A, n * n, 1);
    fill(B, n * n, 2);
    for (int r = 0; r < REPS; r++) { double s = now_ms(); matmul(A, B, C, n); t[r] = now_ms() - s; }
    printf("matmul %.3f\n", median(t));

    const int Cc = 16, O = 16, L = 4096, K = 9;
    double *X = malloc(sizeof(double) * Cc * L), *W = malloc(sizeof(double) * O * Cc * K), *Y = malloc(sizeof(double) * O * L);
    fill(X, Cc * L, 3);
    fill(W, O * Cc * K, 4);
    for (int r = 0; r < REPS; r++) { double s = now_ms(); conv(X, W, Y, Cc, O, L, K); t[r] = now_ms() - s; }
    printf("conv1d %.3f\n", median(t));

    const long m = 1000000;
    double *E = malloc(sizeof(double) * m), *F = malloc(sizeof(double) * m);
    fill(E, m, 5);
    for (int r = 0; r < REPS; r++) { double s = now_ms(); elementwise(E, F, m); t[r] = now_ms() - s; }
    printf("elementwise %.3f\n", median(t));

    double *R = malloc(sizeof(double) * 1000);
    for (int r = 0; r < REPS; r++) { double s = now_ms(); rowsum(E, R, 1000, 1000); t[r] = now_ms() - s; }
    printf("rowsum %.3f\n", median(t));
    /* keep the results alive */
    volatile double sink = C[7] + Y[5] + F[3] + R[2];
    (void)sink;
    return 0;
}
