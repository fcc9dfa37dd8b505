/*
 * fuzz_npy.c -- libFuzzer entry point for the .npy reader.
 *
 * Arbitrary bytes go to txrt_npy_load_mem, the reader behind `load`.  It
 * must either return a tensor whose shape, size and dtype agree with each
 * other, or fail with a message (ctx->status set, ctx->errmsg non-empty)
 * naming the file.  A loaded tensor is printed (into /dev/null), which
 * touches every element.  Allocations are capped at 64 MiB, so a header
 * claiming a huge shape is refused instead of exhausting memory; a valid
 * file can never need more than its own length anyway.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "txrt.h"

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    devnull = fopen("/dev/null", "w");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!devnull) devnull = fopen("/dev/null", "w");
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    ctx.max_bytes = (int64_t)64 << 20;
    txrt_tensor *t = txrt_npy_load_mem(&ctx, data, size, "fuzz.npy");
    if (!t) {
        if (ctx.status == 0 || ctx.errmsg[0] == '\0') {
            fprintf(stderr, "fuzz_npy: load failed without an error message\n");
            abort();
        }
        if (!strstr(ctx.errmsg, "fuzz.npy")) {
            fprintf(stderr, "fuzz_npy: the error does not name the file: %s\n", ctx.errmsg);
            abort();
        }
        return 0;
    }
    if (ctx.status != 0) abort();
    int64_t n = 0;
    if (t->rank < 0 || t->rank > TXRT_MAX_RANK || txrt_shape_size(t->rank, t->shape, &n) != 0 ||
        n != t->size || (int)t->dtype < TXRT_F64 || (int)t->dtype > TXRT_C64) {
        fprintf(stderr, "fuzz_npy: inconsistent tensor (rank %d, size %lld)\n", (int)t->rank,
                (long long)t->size);
        abort();
    }
    /* the data must lie within the input */
    if ((uint64_t)n * txrt_dtype_size(t->dtype) > size) abort();
    txrt_print(devnull, t);
    txrt_release(t);
    return 0;
}
