/*
 * error.c -- the runtime context and error reporting.
 *
 * The runtime never prints and never exits.  A failing entry point records
 * a message in the caller's txrt_ctx (status non-zero, errmsg set) and
 * returns NULL or -1; the caller decides what the failure means (the txc
 * driver turns it into "FILE:LINE:COL: runtime error: ..." and exit 3).
 * The context holds the status of the last failing call: a later failure
 * overwrites an earlier message.  Every function here accepts ctx == NULL
 * (the error is then dropped), so helpers can be used without a context.
 */
#include "txrt.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void txrt_ctx_init(txrt_ctx *ctx) {
    if (!ctx) return;
    memset(ctx, 0, sizeof *ctx);
}

int txrt_fail(txrt_ctx *ctx, const char *fmt, ...) {
    if (!ctx) return -1;
    /* Format into a local buffer first: an argument may point into
     * ctx->errmsg itself (re-wrapping an earlier message). */
    char tmp[sizeof ctx->errmsg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    memcpy(ctx->errmsg, tmp, sizeof tmp);
    ctx->status = 1;
    return -1;
}

void txrt_clear_error(txrt_ctx *ctx) {
    if (!ctx) return;
    ctx->status = 0;
    ctx->errmsg[0] = '\0';
}
