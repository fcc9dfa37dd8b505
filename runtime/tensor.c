/*
 * tensor.c -- dtypes, tensor allocation, copies, casts, element access and
 * shape helpers.
 *
 * A tensor is a header (txrt_tensor) plus a dense row-major data block.
 * Data blocks are 64-byte aligned and zero-filled (txrt_tensor_new_uninit
 * skips the fill for callers that overwrite everything).  Blocks of 2 MiB and
 * more are aligned to 2 MiB and marked MADV_HUGEPAGE: on the machines txc
 * targets a 4 KiB page fault costs about 11 us, so first touch of a fresh
 * 80 MiB block takes ~230 ms with small pages and ~5 ms with transparent
 * huge pages (see bench/README.md).  The block is always at least 64 bytes
 * (also for size-0 tensors), so data is never NULL.
 *
 * Large blocks are mapped directly (mmap: the kernel hands out zeroed
 * pages, so they are not cleared twice) and, when released, kept in a
 * small process-wide cache instead of being unmapped: a script that runs
 * the same statements again (a loop, `--repeat`, a REPL session) gets the
 * same blocks back already faulted in, and pays a memset instead of page
 * faults.  The cache holds at most BLOCK_SLOTS blocks and an eighth of
 * physical memory (at most 2 GiB); txrt_block_cache_clear() empties it.
 *
 * Sizes are checked before anything is allocated: a negative dimension,
 * an element count or byte size that overflows int64, or a request above
 * ctx->max_bytes (0 = the machine's physical memory) fails with a message
 * giving the dtype, the shape and the bytes asked for.  A shape with a
 * zero dimension has size 0 whatever its other dimensions are.
 *
 * Reference counts are updated atomically, so a tensor may be retained and
 * released from several threads; its data is not protected.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "txrt.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_BYTES ((size_t)2 << 20)   /* allocations from here on get huge pages */

/* ---- dtypes ---------------------------------------------------------------- */

size_t txrt_dtype_size(txrt_dtype dt) {
    switch (dt) {
    case TXRT_F64: return 8;
    case TXRT_F32: return 4;
    case TXRT_C128: return 16;
    case TXRT_C64: return 8;
    }
    return 0;
}

const char *txrt_dtype_name(txrt_dtype dt) {
    switch (dt) {
    case TXRT_F64: return "f64";
    case TXRT_F32: return "f32";
    case TXRT_C128: return "c128";
    case TXRT_C64: return "c64";
    }
    return "?";
}

int txrt_dtype_from_name(const char *s, txrt_dtype *out) {
    static const txrt_dtype all[] = { TXRT_F64, TXRT_F32, TXRT_C128, TXRT_C64 };
    if (!s) return -1;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(s, txrt_dtype_name(all[i])) == 0) {
            if (out) *out = all[i];
            return 0;
        }
    }
    return -1;
}

int txrt_dtype_is_complex(txrt_dtype dt) {
    return dt == TXRT_C128 || dt == TXRT_C64;
}

/* The promoted type keeps the wider precision and is complex when either
 * side is: f32+c64 = c64, f64+c64 = c128 (as numpy). */
txrt_dtype txrt_dtype_promote(txrt_dtype a, txrt_dtype b) {
    int cplx = txrt_dtype_is_complex(a) || txrt_dtype_is_complex(b);
    int wide = a == TXRT_F64 || a == TXRT_C128 || b == TXRT_F64 || b == TXRT_C128;
    if (cplx) return wide ? TXRT_C128 : TXRT_C64;
    return wide ? TXRT_F64 : TXRT_F32;
}

/* ---- shapes ---------------------------------------------------------------- */

int txrt_shape_size(int rank, const int64_t *shape, int64_t *size) {
    if (rank < 0 || rank > TXRT_MAX_RANK || (rank > 0 && !shape)) return -1;
    int zero = 0;
    for (int d = 0; d < rank; d++) {
        if (shape[d] < 0) return -1;
        if (shape[d] == 0) zero = 1;
    }
    int64_t n = 1;
    if (zero) {
        n = 0;
    } else {
        for (int d = 0; d < rank; d++)
            if (__builtin_mul_overflow(n, shape[d], &n)) return -1;
    }
    if (size) *size = n;
    return 0;
}

/* Python's tuple syntax, as numpy prints shapes: "()", "(3,)", "(3, 4)".
 * Truncates (still NUL-terminated) when buf is too small. */
const char *txrt_shape_str(int rank, const int64_t *shape, char *buf, size_t n) {
    if (!buf || n == 0) return "";
    size_t len = 0;
    buf[0] = '\0';
#define PUT(...) do { \
        if (len < n) { int k_ = snprintf(buf + len, n - len, __VA_ARGS__); \
                       if (k_ > 0) len += (size_t)k_; } } while (0)
    PUT("(");
    if (rank < 0) rank = 0;
    if (rank > TXRT_MAX_RANK) rank = TXRT_MAX_RANK;
    for (int d = 0; d < rank && shape; d++)
        PUT(d ? ", %lld" : "%lld", (long long)shape[d]);
    PUT(rank == 1 ? ",)" : ")");
#undef PUT
    return buf;
}

/* ---- allocation ---------------------------------------------------------- */

/* "24 GiB", "1.5 MiB", "512 bytes". */
static void human_bytes(double b, char *buf, size_t n) {
    static const char *unit[] = { "bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    int u = 0;
    while (b >= 1024 && u < 6) { b /= 1024; u++; }
    if (u == 0) snprintf(buf, n, "%.0f bytes", b);
    else if (b >= 9.95) snprintf(buf, n, "%.0f %s", b, unit[u]);
    else if (b - (double)(long)b < 0.05 || b - (double)(long)b >= 0.95) snprintf(buf, n, "%.0f %s", b, unit[u]);
    else snprintf(buf, n, "%.1f %s", b, unit[u]);
}

/* Physical memory, asked once: sysconf costs about a microsecond, which
 * matters when a loop allocates small tensors.  A benign race: every
 * thread computes the same value. */
static int64_t physical_memory(void) {
    static _Atomic int64_t cached;
    int64_t bytes = cached;
    if (bytes) return bytes;
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || psize <= 0 || __builtin_mul_overflow((int64_t)pages, (int64_t)psize, &bytes))
        bytes = INT64_MAX;
    cached = bytes;
    return bytes;
}

/* ---- data blocks ------------------------------------------------------------ */

/* The size actually reserved for a block of `bytes`: a multiple of 64, at
 * least 64, and a multiple of HUGE_BYTES from HUGE_BYTES on. */
static size_t block_size(size_t bytes) {
    size_t n = (bytes + 63) & ~(size_t)63;
    if (n == 0) n = 64;
    if (n >= HUGE_BYTES) n = (n + HUGE_BYTES - 1) & ~(HUGE_BYTES - 1);
    return n;
}

#define BLOCK_SLOTS 16

static pthread_mutex_t block_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { void *p; size_t n; } block_cache[BLOCK_SLOTS];
static size_t block_cache_bytes;

static size_t block_cache_limit(void) {
    int64_t phys = physical_memory() / 8, cap = (int64_t)2 << 30;
    return (size_t)(phys < cap ? phys : cap);
}

/* A fresh mapping of n bytes (a multiple of HUGE_BYTES) aligned to
 * HUGE_BYTES, zeroed by the kernel; NULL when the system refuses. */
static void *map_block(size_t n) {
    size_t span = n + HUGE_BYTES;
    char *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    char *a = (char *)(((uintptr_t)p + HUGE_BYTES - 1) & ~(uintptr_t)(HUGE_BYTES - 1));
    if (a > p) munmap(p, (size_t)(a - p));
    if (a + n < p + span) munmap(a + n, (size_t)(p + span - (a + n)));
#ifdef MADV_HUGEPAGE
    (void)madvise(a, n, MADV_HUGEPAGE);   /* a hint: ignore failure */
#endif
    return a;
}

/* Is TXRT_POISON=1 set (uninitialised tensors are filled with 0xff)? */
static bool poison(void) {
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("TXRT_POISON");
        on = e && strcmp(e, "1") == 0;
    }
    return on;
}

/* A block of block_size(bytes) bytes, 64-byte aligned (2 MiB and
 * huge-page backed from HUGE_BYTES on), zero-filled when zero is set
 * (else unspecified: fresh pages are zero anyway, a reused block keeps
 * its old contents).  NULL when the system refuses. */
static void *alloc_block(size_t bytes, bool zero) {
    size_t n = block_size(bytes);
    if (n < HUGE_BYTES) {
        void *p = NULL;
        if (posix_memalign(&p, 64, n) != 0) return NULL;
        if (zero) memset(p, 0, n);
        else if (poison()) memset(p, 0xff, n);
        return p;
    }
    void *p = NULL;
    pthread_mutex_lock(&block_lock);
    for (int k = 0; k < BLOCK_SLOTS; k++) {
        if (block_cache[k].p && block_cache[k].n == n) {
            p = block_cache[k].p;
            block_cache[k].p = NULL;
            block_cache_bytes -= n;
            break;
        }
    }
    pthread_mutex_unlock(&block_lock);
    if (!p) p = map_block(n);
    else if (zero) memset(p, 0, n);
    if (p && !zero && poison()) memset(p, 0xff, n);
    return p;
}

/* Give back a block from alloc_block(bytes): large ones go to the cache
 * while it has room, replacing a block of another size if need be. */
static void free_block(void *p, size_t bytes) {
    size_t n = block_size(bytes);
    if (n < HUGE_BYTES) {
        free(p);
        return;
    }
    void *evict = NULL;
    size_t evict_n = 0;
    pthread_mutex_lock(&block_lock);
    int slot = -1;
    for (int k = 0; k < BLOCK_SLOTS && slot < 0; k++)
        if (!block_cache[k].p) slot = k;
    if (slot < 0) {                      /* full: the oldest entry in slot 0 makes room */
        slot = 0;
        evict = block_cache[0].p;
        evict_n = block_cache[0].n;
        block_cache[0].p = NULL;
        block_cache_bytes -= evict_n;
    }
    if (block_cache_bytes + n <= block_cache_limit()) {
        block_cache[slot].p = p;
        block_cache[slot].n = n;
        block_cache_bytes += n;
        p = NULL;
    }
    pthread_mutex_unlock(&block_lock);
    if (evict) munmap(evict, evict_n);
    if (p) munmap(p, n);
}

void txrt_block_cache_clear(void) {
    pthread_mutex_lock(&block_lock);
    for (int k = 0; k < BLOCK_SLOTS; k++) {
        if (block_cache[k].p) munmap(block_cache[k].p, block_cache[k].n);
        block_cache[k].p = NULL;
    }
    block_cache_bytes = 0;
    pthread_mutex_unlock(&block_lock);
}

static txrt_tensor *tensor_new(txrt_ctx *ctx, txrt_dtype dt, int rank, const int64_t *shape, bool zero) {
    size_t elem = txrt_dtype_size(dt);
    if (elem == 0) {
        txrt_fail(ctx, "cannot allocate a tensor of unknown dtype %d", (int)dt);
        return NULL;
    }
    if (rank < 0 || rank > TXRT_MAX_RANK) {
        txrt_fail(ctx, "cannot allocate a %s tensor of rank %d: txc supports ranks 0 to %d",
                  txrt_dtype_name(dt), rank, TXRT_MAX_RANK);
        return NULL;
    }
    if (rank > 0 && !shape) {
        txrt_fail(ctx, "cannot allocate a %s tensor of rank %d: no shape given",
                  txrt_dtype_name(dt), rank);
        return NULL;
    }
    char sh[TXRT_MAX_RANK * 22 + 8];
    for (int d = 0; d < rank; d++) {
        if (shape[d] < 0) {
            txrt_fail(ctx, "cannot allocate a %s tensor of shape %s: dimension %d has negative size %lld",
                      txrt_dtype_name(dt), txrt_shape_str(rank, shape, sh, sizeof sh), d,
                      (long long)shape[d]);
            return NULL;
        }
    }
    int64_t size, bytes;
    if (txrt_shape_size(rank, shape, &size) != 0) {
        txrt_fail(ctx, "cannot allocate a %s tensor of shape %s: the number of elements overflows 64-bit integers",
                  txrt_dtype_name(dt), txrt_shape_str(rank, shape, sh, sizeof sh));
        return NULL;
    }
    if (__builtin_mul_overflow(size, (int64_t)elem, &bytes) || bytes > INT64_MAX - (int64_t)HUGE_BYTES) {
        txrt_fail(ctx, "cannot allocate a %s tensor of shape %s: the size in bytes overflows 64-bit integers",
                  txrt_dtype_name(dt), txrt_shape_str(rank, shape, sh, sizeof sh));
        return NULL;
    }
    int64_t limit = ctx && ctx->max_bytes > 0 ? ctx->max_bytes : physical_memory();
    if (bytes > limit) {
        /* "8e+15 bytes is more than the 24 GiB of memory" */
        char lim[32], want[32];
        human_bytes((double)limit, lim, sizeof lim);
        if (bytes < 1000000) snprintf(want, sizeof want, "%lld", (long long)bytes);
        else snprintf(want, sizeof want, "%.3g", (double)bytes);
        txrt_fail(ctx, "cannot allocate a %s tensor of shape %s: %s bytes is more than the %s %s",
                  txrt_dtype_name(dt), txrt_shape_str(rank, shape, sh, sizeof sh), want,
                  lim, ctx && ctx->max_bytes > 0 ? "allowed" : "of memory");
        return NULL;
    }
    if ((uint64_t)bytes > (uint64_t)SIZE_MAX - HUGE_BYTES) {
        txrt_fail(ctx, "cannot allocate a %s tensor of shape %s: the size in bytes overflows this machine's addresses",
                  txrt_dtype_name(dt), txrt_shape_str(rank, shape, sh, sizeof sh));
        return NULL;
    }
    txrt_tensor *t = calloc(1, sizeof *t);
    void *data = t ? alloc_block((size_t)bytes, zero) : NULL;
    if (!data) {
        free(t);
        char want[32];
        human_bytes((double)bytes, want, sizeof want);
        txrt_fail(ctx, "cannot allocate a %s tensor of shape %s: out of memory (%s asked for)",
                  txrt_dtype_name(dt), txrt_shape_str(rank, shape, sh, sizeof sh), want);
        return NULL;
    }
    t->data = data;
    t->size = size;
    for (int d = 0; d < rank; d++) t->shape[d] = shape[d];
    t->rank = rank;
    t->dtype = dt;
    t->refcount = 1;
    t->flags = TXRT_OWNS_DATA;
    return t;
}

txrt_tensor *txrt_tensor_new(txrt_ctx *ctx, txrt_dtype dt, int rank, const int64_t *shape) {
    return tensor_new(ctx, dt, rank, shape, true);
}

txrt_tensor *txrt_tensor_new_uninit(txrt_ctx *ctx, txrt_dtype dt, int rank, const int64_t *shape) {
    return tensor_new(ctx, dt, rank, shape, false);
}

void txrt_tensor_forget(txrt_tensor *t) {
    if (t && poison()) memset(t->data, 0xff, (size_t)t->size * txrt_dtype_size(t->dtype));
}

txrt_tensor *txrt_scalar_new(txrt_ctx *ctx, txrt_dtype dt, double re, double im) {
    txrt_tensor *t = txrt_tensor_new(ctx, dt, 0, NULL);
    if (t) txrt_set(t, 0, re, im);
    return t;
}

txrt_tensor *txrt_tensor_copy(txrt_ctx *ctx, const txrt_tensor *t) {
    if (!t) {
        txrt_fail(ctx, "cannot copy a missing tensor");
        return NULL;
    }
    txrt_tensor *c = txrt_tensor_new(ctx, t->dtype, t->rank, t->shape);
    if (c && t->size > 0) memcpy(c->data, t->data, (size_t)t->size * txrt_dtype_size(t->dtype));
    return c;
}

/* Component-wise conversion: a complex element is two components, a real
 * one is one.  Converting complex to real keeps the real part and drops
 * the imaginary part (what numpy's astype does, with a ComplexWarning);
 * real to complex gives a zero imaginary part (the new block is zeroed). */
#define CONVERT_LOOP(ST, DT) do { \
        const ST *s_ = (const ST *)src; DT *d_ = (DT *)dst; \
        for (int64_t i_ = 0; i_ < n; i_++) \
            for (int c_ = 0; c_ < nc; c_++) d_[i_ * dc + c_] = (DT)s_[i_ * sc + c_]; \
    } while (0)

txrt_tensor *txrt_tensor_cast(txrt_ctx *ctx, const txrt_tensor *t, txrt_dtype dt) {
    if (!t) {
        txrt_fail(ctx, "cannot convert a missing tensor");
        return NULL;
    }
    if (t->dtype == dt) return txrt_tensor_copy(ctx, t);
    txrt_tensor *c = txrt_tensor_new(ctx, dt, t->rank, t->shape);
    if (!c) return NULL;
    const void *src = t->data;
    void *dst = c->data;
    int64_t n = t->size;
    int sc = txrt_dtype_is_complex(t->dtype) ? 2 : 1;
    int dc = txrt_dtype_is_complex(dt) ? 2 : 1;
    int nc = sc < dc ? sc : dc;
    int sdbl = t->dtype == TXRT_F64 || t->dtype == TXRT_C128;
    int ddbl = dt == TXRT_F64 || dt == TXRT_C128;
    if (sdbl && ddbl) CONVERT_LOOP(double, double);
    else if (sdbl) CONVERT_LOOP(double, float);
    else if (ddbl) CONVERT_LOOP(float, double);
    else CONVERT_LOOP(float, float);
    return c;
}

/* ---- reference counting ------------------------------------------------ */

txrt_tensor *txrt_retain(txrt_tensor *t) {
    if (t) __atomic_add_fetch(&t->refcount, 1, __ATOMIC_RELAXED);
    return t;
}

void txrt_release(txrt_tensor *t) {
    if (!t) return;
    if (__atomic_sub_fetch(&t->refcount, 1, __ATOMIC_ACQ_REL) > 0) return;
    if (t->flags & TXRT_OWNS_DATA) free_block(t->data, (size_t)t->size * txrt_dtype_size(t->dtype));
    free(t);
}

/* ---- elements -------------------------------------------------------------- */

/* No bounds check: callers pass 0 <= i < t->size. */
void txrt_get(const txrt_tensor *t, int64_t i, double *re, double *im) {
    double r = 0, m = 0;
    switch (t->dtype) {
    case TXRT_F64: r = ((const double *)t->data)[i]; break;
    case TXRT_F32: r = ((const float *)t->data)[i]; break;
    case TXRT_C128: r = ((const double *)t->data)[2 * i]; m = ((const double *)t->data)[2 * i + 1]; break;
    case TXRT_C64: r = ((const float *)t->data)[2 * i]; m = ((const float *)t->data)[2 * i + 1]; break;
    }
    if (re) *re = r;
    if (im) *im = m;
}

/* Real dtypes ignore im; f32/c64 round to float. */
void txrt_set(txrt_tensor *t, int64_t i, double re, double im) {
    switch (t->dtype) {
    case TXRT_F64: ((double *)t->data)[i] = re; break;
    case TXRT_F32: ((float *)t->data)[i] = (float)re; break;
    case TXRT_C128: ((double *)t->data)[2 * i] = re; ((double *)t->data)[2 * i + 1] = im; break;
    case TXRT_C64: ((float *)t->data)[2 * i] = (float)re; ((float *)t->data)[2 * i + 1] = (float)im; break;
    }
}
