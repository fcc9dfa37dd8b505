/*
 * check.h -- helpers of the C drivers of tests/aot: load the .npy files
 * that the reference evaluator wrote (libtxrt's loader) and compare
 * results elementwise.  Test code: prints and exits on failure.
 */
#ifndef TX_AOT_CHECK_H
#define TX_AOT_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "txrt.h"

static int failures;

/* Load path; it must have dtype dt and `size` elements. */
static txrt_tensor *load(const char *path, txrt_dtype dt, int64_t size) {
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    txrt_tensor *t = txrt_npy_load(&ctx, path);
    if (!t) {
        fprintf(stderr, "cannot load %s: %s\n", path, ctx.errmsg);
        exit(1);
    }
    if (t->dtype != dt || t->size != size) {
        fprintf(stderr, "%s: dtype %s size %lld, expected %s size %lld\n", path, txrt_dtype_name(t->dtype),
                (long long)t->size, txrt_dtype_name(dt), (long long)size);
        exit(1);
    }
    return t;
}

/* n doubles (complex: 2 per element) within atol + rtol*|want|. */
static void compare(const char *what, const double *got, const double *want, int64_t n, double rtol, double atol) {
    double worst = 0;
    int64_t at = -1;
    for (int64_t k = 0; k < n; k++) {
        double err = fabs(got[k] - want[k]);
        double tol = atol + rtol * fabs(want[k]);
        if (!(err <= tol) && (at < 0 || err > worst)) worst = err, at = k;
    }
    if (at >= 0) {
        fprintf(stderr, "FAIL %s: element %lld is %.17g, expected %.17g\n", what, (long long)at, got[at], want[at]);
        failures++;
    } else {
        printf("ok %s (%lld values)\n", what, (long long)n);
    }
}

/* Fill a result buffer with NaNs: generated code must write every element. */
static void *garbage(void *p, size_t bytes) {
    double nan = NAN;
    for (size_t k = 0; k + sizeof nan <= bytes; k += sizeof nan) memcpy((char *)p + k, &nan, sizeof nan);
    return p;
}

#define CALL_OK(call)                                                                   \
    do {                                                                                \
        if ((call) != 0) {                                                              \
            fprintf(stderr, "FAIL %s returned non-zero: %s\n", #call, txrt_last_error()); \
            failures++;                                                                 \
        }                                                                               \
    } while (0)

/* call must fail with a message containing `needle`. */
#define CALL_FAILS(call, needle)                                                           \
    do {                                                                                   \
        int rc_ = (call);                                                                  \
        if (rc_ == 0 || !strstr(txrt_last_error(), (needle))) {                            \
            fprintf(stderr, "FAIL %s: status %d, message '%s' (expected '%s')\n", #call, rc_, \
                    txrt_last_error(), (needle));                                          \
            failures++;                                                                    \
        } else {                                                                           \
            printf("ok %s fails: %s\n", #call, txrt_last_error());                         \
        }                                                                                  \
    } while (0)

#endif
