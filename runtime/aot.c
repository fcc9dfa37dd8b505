/*
 * aot.c -- what objects built by `txc build` need from the runtime: the
 * thread-local error message behind txrt_last_error(), aligned zeroed
 * temporaries, and a BLAS dispatch that reports through that message.
 *
 * An exported function of a generated object returns 0 on success and a
 * non-zero status after recording a message with txrt_set_error; the
 * caller reads it with txrt_last_error() on the same thread.  The message
 * stays until the next failure on that thread (errno-like).
 */
#include "txrt.h"
#include "txrt_linalg.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Thread_local char last_error[1024];

const char *txrt_last_error(void) { return last_error; }

int txrt_set_error(const char *fmt, ...) {
    char tmp[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    memcpy(last_error, tmp, sizeof tmp);
    return 1;
}

void txrt_clear_last_error(void) { last_error[0] = '\0'; }

void *txrt_aot_alloc(int64_t nbytes, int zero, const char *func, const char *what) {
    if (nbytes < 0) {
        txrt_set_error("%s: internal error: negative size for %s", func, what);
        return NULL;
    }
    size_t n = (size_t)nbytes;
    n = (n + 63) & ~(size_t)63;
    if (n == 0) n = 64;
    void *p = NULL;
    if (posix_memalign(&p, 64, n) != 0 || !p) {
        txrt_set_error("%s: out of memory allocating %lld bytes for %s", func, (long long)nbytes, what);
        return NULL;
    }
    if (zero) memset(p, 0, n);
    return p;
}

void txrt_aot_free(void *p) { free(p); }

int txrt_aot_gemm(const char *func, int transA, int transB, int64_t m, int64_t n, int64_t k,
                  const void *A, int64_t lda, const void *B, int64_t ldb, void *C, int64_t ldc,
                  int dtype) {
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    if (txrt_gemm(&ctx, (char)transA, (char)transB, m, n, k, 1.0, A, lda, B, ldb, 0.0, C, ldc, (txrt_dtype)dtype) != 0)
        return txrt_set_error("%s: %s", func, ctx.errmsg);
    return 0;
}

/* ---- builtins (linear algebra, FFT) on raw buffers -------------------------- */

/* A tensor view of a raw buffer (not owned: never released). */
static void view(txrt_tensor *t, const txrt_aot_arg *a) {
    memset(t, 0, sizeof *t);
    t->data = a->data;
    t->dtype = (txrt_dtype)a->dtype;
    t->rank = (int32_t)a->rank;
    t->size = 1;
    for (int k = 0; k < t->rank && k < TXRT_MAX_RANK; k++) {
        t->shape[k] = a->shape[k];
        t->size *= a->shape[k];
    }
    t->refcount = 1;
}

int txrt_aot_call(const char *func, const char *op, int64_t num, int nin, const txrt_aot_arg *in, int nout,
                  const txrt_aot_arg *out) {
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    txrt_tensor v[3];
    txrt_tensor *res[3] = { NULL, NULL, NULL };
    if (nin < 0 || nin > 3 || nout < 1 || nout > 3)
        return txrt_set_error("%s: internal error: %s called with %d arguments and %d results", func, op, nin, nout);
    for (int k = 0; k < nin; k++) view(&v[k], &in[k]);
    int rc = 0;
    if (strcmp(op, "solve") == 0) res[0] = txrt_solve(&ctx, &v[0], &v[1]);
    else if (strcmp(op, "lstsq") == 0) res[0] = txrt_lstsq(&ctx, &v[0], &v[1]);
    else if (strcmp(op, "cho_solve") == 0) res[0] = txrt_cho_solve(&ctx, &v[0], &v[1]);
    else if (strcmp(op, "inv") == 0) res[0] = txrt_inv(&ctx, &v[0]);
    else if (strcmp(op, "det") == 0) res[0] = txrt_det(&ctx, &v[0]);
    else if (strcmp(op, "cholesky") == 0) res[0] = txrt_cholesky(&ctx, &v[0]);
    else if (strcmp(op, "eigh") == 0) rc = txrt_eigh(&ctx, &v[0], &res[0], &res[1]);
    else if (strcmp(op, "svd") == 0) rc = txrt_svd(&ctx, &v[0], &res[0], &res[1], &res[2]);
    else if (strcmp(op, "qr") == 0) rc = txrt_qr(&ctx, &v[0], &res[0], &res[1]);
    else if (strcmp(op, "fft") == 0 || strcmp(op, "ifft") == 0)
        res[0] = txrt_fft(&ctx, &v[0], (int)num, op[0] == 'i');
    else if (strcmp(op, "fft2") == 0 || strcmp(op, "ifft2") == 0)
        res[0] = txrt_fft2(&ctx, &v[0], op[0] == 'i');
    else if (strcmp(op, "rfft") == 0) res[0] = txrt_rfft(&ctx, &v[0]);
    else if (strcmp(op, "irfft") == 0) res[0] = txrt_irfft(&ctx, &v[0], num);
    else return txrt_set_error("%s: internal error: unknown runtime operation '%s'", func, op);
    if (rc != 0 || !res[0]) {
        for (int k = 0; k < 3; k++) txrt_release(res[k]);
        return txrt_set_error("%s: %s", func, ctx.errmsg[0] ? ctx.errmsg : "failed");
    }
    int status = 0;
    for (int k = 0; k < nout; k++) {
        txrt_tensor *r = res[k];
        txrt_tensor want;
        view(&want, &out[k]);
        bool same = r && r->dtype == want.dtype && r->rank == want.rank;
        for (int q = 0; same && q < r->rank; q++) same = r->shape[q] == want.shape[q];
        if (!same) {
            status = txrt_set_error("%s: internal error: result %d of %s has another shape or dtype than compiled",
                                    func, k + 1, op);
            break;
        }
        if (r->size) memcpy(out[k].data, r->data, (size_t)r->size * txrt_dtype_size(r->dtype));
    }
    for (int k = 0; k < 3; k++) txrt_release(res[k]);
    return status;
}
