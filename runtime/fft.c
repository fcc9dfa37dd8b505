/*
 * fft.c -- fft, ifft, fft2, ifft2, rfft and irfft over FFTW3 (double and
 * single precision), with numpy's conventions: forward transforms use
 * exp(-2 pi i k t / n) and are unscaled, inverse ones use the + sign and
 * scale by 1/n.  Real inputs become complex of the same precision.
 *
 * Every transform runs as FFTW plans over contiguous batches: `count`
 * transforms of n points, each n apart.  A tensor of shape (a, b, n, c, d)
 * transformed along n is viewed as (outer, n, inner) with outer = a*b and
 * inner = c*d.  With inner = 1 that is one batched plan.  Otherwise the
 * inner interleaved transforms are done in column blocks: up to COLS
 * adjacent columns copied row by row into a small scratch buffer that
 * stays in cache, transformed there, copied back.  fft2 is the last axis (contiguous) followed by the
 * second-last (interleaved, inner = the last size).  FFTW's own plans for
 * interleaved transforms are not used because, planned with FFTW_ESTIMATE,
 * they are 10-50x slower on this kind of machine once n >= 512 (the
 * column stride is a large power of two: 512x512 fft2 takes 42 ms instead
 * of 1.4 ms), and measuring plans costs seconds per shape.
 *
 * Threads.  Batches of 32768 points or more are split across txc's
 * thread pool (txrt_parallel_for, --threads): rows in chunks that keep
 * every part 64-byte aligned, column blocks per thread with a scratch
 * buffer each.  Each chunk runs a cached plan for its own count.
 *
 * Plan cache.  FFTW's planner is not thread-safe, its executor is (the
 * new-array execute functions, which is what we call with the caller's
 * arrays).  So plans are created once per key (kind, precision, direction,
 * in-place or not, sizes, batch layout) under one process-wide mutex,
 * kept in a hash table, and executed outside the lock by any thread.
 * New-array execution requires the arrays to have the alignment the plan
 * was made with: tensor data is 64-byte aligned (txrt.h), every array we
 * hand to FFTW is tensor data, and an input that is not aligned (a tensor
 * wrapping foreign memory) is first copied into an aligned one.
 *
 * Plans use FFTW_ESTIMATE.  FFTW_MEASURE times candidate algorithms on the
 * real arrays, which costs from milliseconds to seconds (1.4 s for 512 x
 * 512) for every new shape; a tx script typically transforms a few shapes a
 * few times, so the measuring would dominate the run.  For contiguous
 * batches ESTIMATE plans are within a small factor of measured ones, need
 * no scratch arrays, and (unlike MEASURE) never write to the arrays while
 * planning, so we can plan directly on the caller's buffers.
 *
 * The cache lives until txrt_fft_cleanup(), which the txc driver calls
 * once at exit (see txrt_linalg.h).
 */
#include "txrt_linalg.h"

#include <fftw3.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { KIND_C2C, KIND_R2C, KIND_C2R };

/* What identifies a plan.  memset to zero before filling: compared with
 * memcmp and hashed bytewise. */
typedef struct plan_key {
    int32_t kind;        /* KIND_* */
    int32_t single;      /* 1: fftwf (f32/c64), 0: fftw */
    int32_t sign;        /* FFTW_FORWARD / FFTW_BACKWARD (c2c only) */
    int32_t inplace;     /* in == out */
    int64_t n;           /* transform size (the logical real size for r2c/c2r) */
    int64_t count;       /* batch: consecutive transforms, n (complex: n/2+1 for r2c/c2r) apart */
    int64_t stride;      /* c2c only: 0 for the above; else `count` transforms of points
                            `stride` apart, the transforms 1 apart (a block of columns) */
} plan_key;

typedef struct plan_entry {
    plan_key key;
    void *plan;          /* fftw_plan or fftwf_plan */
    struct plan_entry *next;
} plan_entry;

#define NBUCKETS 256

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static plan_entry *buckets[NBUCKETS];
static int64_t n_plans, n_hits, n_misses;

static unsigned key_hash(const plan_key *k) {
    const unsigned char *p = (const unsigned char *)k;
    uint64_t h = 1469598103934665603ull;                 /* FNV-1a */
    for (size_t i = 0; i < sizeof *k; i++) h = (h ^ p[i]) * 1099511628211ull;
    return (unsigned)(h ^ (h >> 32)) % NBUCKETS;
}

/* Build the FFTW plan for k on the arrays in/out (the planner does not
 * touch them under FFTW_ESTIMATE).  Called with cache_lock held. */
static void *make_plan(const plan_key *k, void *in, void *out) {
    unsigned flags = FFTW_ESTIMATE;
    fftw_iodim64 dim = { k->n, 1, 1 }, how;
    int nhow = k->count > 1;
    if (k->kind == KIND_C2C) {
        if (!k->inplace) flags |= FFTW_PRESERVE_INPUT;
        how = (fftw_iodim64){ k->count, k->n, k->n };
        if (k->stride) {
            dim = (fftw_iodim64){ k->n, k->stride, k->stride };
            how = (fftw_iodim64){ k->count, 1, 1 };
        }
        if (k->single) return fftwf_plan_guru64_dft(1, &dim, nhow, &how, in, out, k->sign, flags);
        return fftw_plan_guru64_dft(1, &dim, nhow, &how, in, out, k->sign, flags);
    }
    int64_t h = k->n / 2 + 1;                            /* complex points of a real transform */
    if (k->kind == KIND_R2C) {
        flags |= FFTW_PRESERVE_INPUT;
        how = (fftw_iodim64){ k->count, k->n, h };
        if (k->single) return fftwf_plan_guru64_dft_r2c(1, &dim, nhow, &how, in, out, flags);
        return fftw_plan_guru64_dft_r2c(1, &dim, nhow, &how, in, out, flags);
    }
    flags |= FFTW_DESTROY_INPUT;                         /* c2r: the input is our scratch copy */
    how = (fftw_iodim64){ k->count, h, k->n };
    if (k->single) return fftwf_plan_guru64_dft_c2r(1, &dim, nhow, &how, in, out, flags);
    return fftw_plan_guru64_dft_c2r(1, &dim, nhow, &how, in, out, flags);
}

/* The cached plan for k, created on first use; NULL (ctx error) when FFTW
 * cannot plan it. */
static void *get_plan(txrt_ctx *ctx, const char *fn, const plan_key *k, void *in, void *out) {
    unsigned b = key_hash(k);
    pthread_mutex_lock(&cache_lock);
    for (plan_entry *e = buckets[b]; e; e = e->next) {
        if (memcmp(&e->key, k, sizeof *k) == 0) {
            n_hits++;
            void *p = e->plan;
            pthread_mutex_unlock(&cache_lock);
            return p;
        }
    }
    void *p = make_plan(k, in, out);
    plan_entry *e = p ? malloc(sizeof *e) : NULL;
    if (e) {
        e->key = *k;
        e->plan = p;
        e->next = buckets[b];
        buckets[b] = e;
        n_plans++;
        n_misses++;
    } else if (p) {
        if (k->single) fftwf_destroy_plan(p);
        else fftw_destroy_plan(p);
    }
    pthread_mutex_unlock(&cache_lock);
    if (!e) {
        if (p) txrt_fail(ctx, "%s: out of memory", fn);
        else txrt_fail(ctx, "%s: FFTW could not plan %lld transforms of %lld points", fn, (long long)k->count,
                       (long long)k->n);
        return NULL;
    }
    return p;
}

txrt_fft_stats txrt_fft_cache_stats(void) {
    pthread_mutex_lock(&cache_lock);
    txrt_fft_stats s = { n_plans, n_hits, n_misses };
    pthread_mutex_unlock(&cache_lock);
    return s;
}

void txrt_fft_cleanup(void) {
    pthread_mutex_lock(&cache_lock);
    for (int b = 0; b < NBUCKETS; b++) {
        plan_entry *e = buckets[b];
        while (e) {
            plan_entry *next = e->next;
            if (e->key.single) fftwf_destroy_plan(e->plan);
            else fftw_destroy_plan(e->plan);
            free(e);
            e = next;
        }
        buckets[b] = NULL;
    }
    n_plans = n_hits = n_misses = 0;
    fftw_cleanup();
    fftwf_cleanup();
    pthread_mutex_unlock(&cache_lock);
}

/* ---- helpers ----------------------------------------------------------------- */

static int is_single(txrt_dtype dt) { return dt == TXRT_F32 || dt == TXRT_C64; }
static txrt_dtype complex_of(txrt_dtype dt) { return is_single(dt) ? TXRT_C64 : TXRT_C128; }
static txrt_dtype real_of(txrt_dtype dt) { return is_single(dt) ? TXRT_F32 : TXRT_F64; }

static int aligned(const void *p) { return ((uintptr_t)p & 63) == 0; }

static int check_input(txrt_ctx *ctx, const char *fn, const txrt_tensor *X, int min_rank) {
    if (!X) return txrt_fail(ctx, "%s: the input is missing", fn);
    if ((unsigned)X->dtype > TXRT_C64) return txrt_fail(ctx, "%s: the input has an unknown dtype %d", fn, (int)X->dtype);
    if (X->rank < min_rank) {
        char sh[TXRT_MAX_RANK * 22 + 8];
        if (X->rank == 0)
            return txrt_fail(ctx, "%s: needs a tensor of rank %d or more, got a scalar", fn, min_rank);
        return txrt_fail(ctx, "%s: needs a tensor of rank %d or more, got shape %s", fn, min_rank,
                         txrt_shape_str(X->rank, X->shape, sh, sizeof sh));
    }
    return 0;
}

static int empty_axis(txrt_ctx *ctx, const char *fn, const txrt_tensor *X, int axis) {
    char sh[TXRT_MAX_RANK * 22 + 8];
    return txrt_fail(ctx, "%s: cannot transform axis %d of size 0 (the input has shape %s)", fn, axis,
                     txrt_shape_str(X->rank, X->shape, sh, sizeof sh));
}

/* Multiply n complex (or real) values of the given precision by s. */
static void scale(void *data, int64_t count, int single, double s) {
    if (single) {
        float *p = data, fs = (float)s;
        for (int64_t i = 0; i < count; i++) p[i] *= fs;
    } else {
        double *p = data;
        for (int64_t i = 0; i < count; i++) p[i] *= s;
    }
}

/* ---- batches of transforms on the thread pool -------------------------------------
 *
 * Transforms that are independent of one another (the rows of a batch, the
 * column blocks of an interleaved transform) are split across txc's thread
 * pool (txrt_parallel_for) once there are PAR_POINTS points or more; each
 * chunk executes a cached plan for its own count on its part of the arrays.
 * Chunk boundaries keep every part 64-byte aligned, as the plans require.
 * A plan that cannot be made records the first failure in the job. */

#define PAR_POINTS 32768

typedef struct fft_job {
    txrt_ctx *ctx;
    const char *fn;
    plan_key key;               /* count and stride set per chunk */
    const char *in;
    char *out;
    size_t in_row, out_row;     /* bytes from one transform (row) to the next */
    int64_t rows, unit;         /* rows in all; chunks are multiples of unit rows */
    int64_t outer, n, inner;    /* columns: data shaped (outer, n, inner) */
    pthread_mutex_t lock;
    int rc;
} fft_job;

static void job_fail(fft_job *j, const txrt_ctx *local) {
    pthread_mutex_lock(&j->lock);
    if (j->rc == 0) {
        j->rc = -1;
        if (j->ctx->status == 0) *j->ctx = *local;
    }
    pthread_mutex_unlock(&j->lock);
}

static void execute(const plan_key *k, void *p, const void *in, void *out) {
    if (k->kind == KIND_R2C) {
        if (k->single) fftwf_execute_dft_r2c(p, (void *)in, out);
        else fftw_execute_dft_r2c(p, (void *)in, out);
    } else if (k->kind == KIND_C2R) {
        if (k->single) fftwf_execute_dft_c2r(p, (void *)in, out);
        else fftw_execute_dft_c2r(p, (void *)in, out);
    } else if (k->single) {
        fftwf_execute_dft(p, (void *)in, out);
    } else {
        fftw_execute_dft(p, (void *)in, out);
    }
}

static void rows_chunk(void *arg, int64_t lo, int64_t hi) {
    fft_job *j = arg;
    int64_t r0 = lo * j->unit, r1 = hi * j->unit < j->rows ? hi * j->unit : j->rows;
    if (r0 >= r1) return;
    plan_key k = j->key;
    k.count = r1 - r0;
    const char *in = j->in + (size_t)r0 * j->in_row;
    char *out = j->out + (size_t)r0 * j->out_row;
    txrt_ctx local;
    txrt_ctx_init(&local);
    void *p = get_plan(&local, j->fn, &k, (void *)in, out);
    if (p) execute(&k, p, in, out);
    else job_fail(j, &local);
}

/* The smallest number of rows whose bytes, in and out, are multiples of 64. */
static int64_t align_unit(size_t in_row, size_t out_row) {
    int64_t u = 1;
    while (u < 64 && (((size_t)u * in_row) % 64 || ((size_t)u * out_row) % 64)) u *= 2;
    return u;
}

/* k->count transforms (c2c or r2c) of k->n points, rows in_row bytes apart
 * in `in` and out_row apart in `out`. */
static int run_rows(txrt_ctx *ctx, const char *fn, const plan_key *k, const void *in, void *out, size_t in_row,
                    size_t out_row) {
    fft_job j = { .ctx = ctx, .fn = fn, .key = *k, .in = in, .out = out, .in_row = in_row, .out_row = out_row,
                  .rows = k->count, .lock = PTHREAD_MUTEX_INITIALIZER };
    j.unit = align_unit(in_row, out_row);
    int64_t units = (j.rows + j.unit - 1) / j.unit;
    if (units >= 2 && txrt_get_threads() > 1 && j.rows * k->n >= PAR_POINTS) {
        txrt_parallel_for(units, rows_chunk, &j);
    } else {
        j.unit = j.rows;
        rows_chunk(&j, 0, 1);
    }
    pthread_mutex_destroy(&j.lock);
    return j.rc;
}

/* count c2c transforms of n points, n apart, from in to out (may be equal). */
static int c2c_rows(txrt_ctx *ctx, const char *fn, int single, int sign, int64_t count, int64_t n,
                    const void *in, void *out) {
    plan_key k;
    memset(&k, 0, sizeof k);
    k.kind = KIND_C2C;
    k.single = single;
    k.sign = sign;
    k.inplace = in == out;
    k.n = n;
    k.count = count;
    size_t row = (size_t)n * (single ? 2 * sizeof(float) : 2 * sizeof(double));
    return run_rows(ctx, fn, &k, in, out, row, row);
}

/* count real transforms of L points: r2c (KIND_R2C) from rows of L reals
 * to rows of L/2+1 complex values, or c2r (KIND_C2R) back; on the thread
 * pool like the complex rows. */
static int real_rows(txrt_ctx *ctx, const char *fn, int kind, int single, int64_t count, int64_t L,
                     const void *in, void *out) {
    plan_key k;
    memset(&k, 0, sizeof k);
    k.kind = kind;
    k.single = single;
    k.n = L;
    k.count = count;
    size_t rs = single ? sizeof(float) : sizeof(double), real_row = (size_t)L * rs,
           half_row = (size_t)(L / 2 + 1) * 2 * rs;
    return kind == KIND_R2C ? run_rows(ctx, fn, &k, in, out, real_row, half_row)
                            : run_rows(ctx, fn, &k, in, out, half_row, real_row);
}

#define COLS 16   /* columns per block of an interleaved transform (16 x 16 bytes: 4 cache lines) */

/* Blocks [lo, hi) of a column transform: block b is columns
 * [c0, c0 + COLS) of batch b / nb, with nb blocks per batch. */
static void columns_chunk(void *arg, int64_t lo, int64_t hi) {
    fft_job *j = arg;
    size_t es = j->key.single ? 2 * sizeof(float) : 2 * sizeof(double);
    int64_t n = j->n, inner = j->inner, w = inner < COLS ? inner : COLS, nb = (inner + w - 1) / w;
    size_t bytes = ((size_t)w * (size_t)n * es + 63) & ~(size_t)63;
    txrt_ctx local;
    txrt_ctx_init(&local);
    char *buf = aligned_alloc(64, bytes);
    if (!buf) {
        txrt_fail(&local, "%s: out of memory for a %lld-point scratch buffer", j->fn, (long long)(w * n));
        job_fail(j, &local);
        return;
    }
    plan_key k = j->key;
    for (int64_t blk = lo; blk < hi; blk++) {
        char *block = j->out + (size_t)((blk / nb) * n * inner) * es;
        int64_t c0 = (blk % nb) * w, cw = inner - c0 < w ? inner - c0 : w;
        size_t row = (size_t)cw * es;
        for (int64_t t = 0; t < n; t++) memcpy(buf + (size_t)t * row, block + (size_t)(t * inner + c0) * es, row);
        k.count = k.stride = cw;
        void *p = get_plan(&local, j->fn, &k, buf, buf);
        if (!p) {
            job_fail(j, &local);
            break;
        }
        execute(&k, p, buf, buf);
        for (int64_t t = 0; t < n; t++) memcpy(block + (size_t)(t * inner + c0) * es, buf + (size_t)t * row, row);
    }
    free(buf);
}

/* In place on data shaped (outer, n, inner), inner > 1: the transforms
 * along n, in blocks of up to COLS columns.  A block's rows (n of them,
 * cw adjacent values each) are copied into a small contiguous buffer and
 * transformed there by a plan over points cw apart; the buffer (n * 16
 * columns, 128 KiB for n = 512 doubles) stays in cache, where transforming
 * the columns in place would stride through the whole tensor.  Blocks run
 * on the thread pool, each chunk with its own buffer. */
static int c2c_columns(txrt_ctx *ctx, const char *fn, int single, int sign, int64_t outer, int64_t n,
                       int64_t inner, void *data) {
    fft_job j = { .ctx = ctx, .fn = fn, .out = data, .outer = outer, .n = n, .inner = inner,
                  .lock = PTHREAD_MUTEX_INITIALIZER };
    j.key.kind = KIND_C2C;
    j.key.single = single;
    j.key.sign = sign;
    j.key.inplace = 1;
    j.key.n = n;
    int64_t w = inner < COLS ? inner : COLS, blocks = outer * ((inner + w - 1) / w);
    if (blocks >= 2 && txrt_get_threads() > 1 && outer * n * inner >= PAR_POINTS) txrt_parallel_for(blocks, columns_chunk, &j);
    else columns_chunk(&j, 0, blocks);
    pthread_mutex_destroy(&j.lock);
    return j.rc;
}

/* Spread the half spectra S (outer, n0, h) of real rows of length L, h =
 * L/2+1, to the full spectra out (outer, n0, L) by Hermitian symmetry:
 * Y[k0, k1] = conj(Y[-k0 mod n0, L - k1]) for k1 >= h.  conj_all
 * conjugates every value (the inverse transform of real data). */
#define SPREAD(NAME, T)                                                                                      \
    static void NAME(const T *S, T *out, int64_t outer, int64_t n0, int64_t L, int conj_all) {               \
        int64_t h = L / 2 + 1;                                                                               \
        T c = conj_all ? -1 : 1;                                                                             \
        for (int64_t b = 0; b < outer; b++)                                                                  \
            for (int64_t k0 = 0; k0 < n0; k0++) {                                                            \
                const T *row = S + 2 * (b * n0 + k0) * h;                                                    \
                const T *mir = S + 2 * (b * n0 + (n0 - k0) % n0) * h;                                        \
                T *o = out + 2 * (b * n0 + k0) * L;                                                          \
                for (int64_t k = 0; k < h; k++) o[2 * k] = row[2 * k], o[2 * k + 1] = c * row[2 * k + 1];    \
                for (int64_t k = h; k < L; k++) o[2 * k] = mir[2 * (L - k)], o[2 * k + 1] = -c * mir[2 * (L - k) + 1]; \
            }                                                                                                \
    }
SPREAD(spread_f64, double)
SPREAD(spread_f32, float)

/* The half spectrum (outer*n0, h = L/2+1) of real X shaped (outer, n0, L):
 * r2c along rows, then (two_d) c2c down the columns.  NULL on failure
 * (reported). */
static txrt_tensor *half_spectrum(txrt_ctx *ctx, const char *fn, const txrt_tensor *X, int two_d, int64_t outer,
                                  int64_t n0, int64_t L) {
    int single = is_single(X->dtype);
    int64_t hshape[2] = { outer * n0, L / 2 + 1 };
    txrt_tensor *S = txrt_tensor_new_uninit(ctx, complex_of(X->dtype), 2, hshape);
    txrt_tensor *tmp = S && !aligned(X->data) ? txrt_tensor_copy(ctx, X) : NULL;   /* foreign memory */
    const txrt_tensor *src = tmp ? tmp : X;
    int rc = S && (tmp || aligned(X->data)) ? real_rows(ctx, fn, KIND_R2C, single, outer * n0, L, src->data, S->data)
                                            : -1;
    if (rc == 0 && two_d && n0 > 1) rc = c2c_columns(ctx, fn, single, FFTW_FORWARD, outer, n0, hshape[1], S->data);
    txrt_release(tmp);
    if (rc != 0) {
        if (ctx->status == 0) txrt_fail(ctx, "%s: out of memory", fn);
        txrt_release(S);
        return NULL;
    }
    return S;
}

/* Real out (outer, n0, L) from H (outer*n0, h), the half spectrum of a
 * Hermitian one: c2c down the columns, c2r along the rows (H is
 * overwritten), scaled by 1/(n0 L).  rc is the caller's status so far;
 * on failure out is released (out of memory reported unless something
 * else was) and NULL returned. */
static txrt_tensor *real_from_half(txrt_ctx *ctx, const char *fn, int rc, txrt_tensor *H, txrt_tensor *out,
                                   int64_t outer, int64_t n0, int64_t L) {
    int single = is_single(out->dtype);
    if (rc == 0 && n0 > 1) rc = c2c_columns(ctx, fn, single, FFTW_BACKWARD, outer, n0, L / 2 + 1, H->data);
    if (rc == 0) rc = real_rows(ctx, fn, KIND_C2R, single, outer * n0, L, H->data, out->data);
    if (rc != 0) {
        if (ctx->status == 0) txrt_fail(ctx, "%s: out of memory", fn);
        txrt_release(out);
        return NULL;
    }
    scale(out->data, out->size, single, 1.0 / ((double)n0 * (double)L));
    return out;
}

/* The transform of real X shaped (outer, n0, L) along L, or with two_d
 * along n0 and L: FFTW's real-input transform gives the h = L/2+1 points
 * of each row that are not redundant, the columns of that half spectrum
 * are transformed (two_d), and the rest follows by Hermitian symmetry.
 * The inverse transform of real data is the conjugate of the forward one
 * (c2c scales it).  Half the arithmetic of converting to complex first,
 * and the input is read as it is. */
static txrt_tensor *real_c2c(txrt_ctx *ctx, const char *fn, const txrt_tensor *X, int two_d, int64_t outer,
                             int64_t n0, int64_t L, int inverse) {
    txrt_dtype cdt = complex_of(X->dtype);
    int single = is_single(cdt);
    txrt_tensor *out = txrt_tensor_new(ctx, cdt, X->rank, X->shape);
    if (!out || out->size == 0) return out;
    txrt_tensor *S = half_spectrum(ctx, fn, X, two_d, outer, n0, L);
    if (!S) {
        txrt_release(out);
        return NULL;
    }
    if (single) spread_f32(S->data, out->data, two_d ? outer : outer * n0, two_d ? n0 : 1, L, inverse);
    else spread_f64(S->data, out->data, two_d ? outer : outer * n0, two_d ? n0 : 1, L, inverse);
    txrt_release(S);
    return out;
}

/* A complex transform of X shaped (outer, n0, inner) along n0, or with
 * two_d (outer, n0, n1) along both n0 and n1.  Real input along the last
 * axis goes through real_c2c.  The first pass reads X directly when X is
 * complex of the right precision and aligned; otherwise everything runs in
 * place on a converted copy. */
static txrt_tensor *c2c(txrt_ctx *ctx, const char *fn, const txrt_tensor *X, int two_d, int64_t outer,
                        int64_t n0, int64_t inner, int inverse) {
    txrt_dtype cdt = complex_of(X->dtype);
    int single = is_single(cdt), sign = inverse ? FFTW_BACKWARD : FFTW_FORWARD;
    if (X->dtype != cdt && (two_d || inner == 1)) {
        txrt_tensor *out = two_d ? real_c2c(ctx, fn, X, 1, outer, n0, inner, inverse)
                                 : real_c2c(ctx, fn, X, 0, outer, 1, n0, inverse);
        if (out && inverse) scale(out->data, 2 * out->size, single, 1.0 / ((double)n0 * (double)inner));
        return out;
    }
    int direct = X->dtype == cdt && aligned(X->data);
    txrt_tensor *out = direct ? txrt_tensor_new(ctx, cdt, X->rank, X->shape) : txrt_tensor_cast(ctx, X, cdt);
    if (!out || out->size == 0) return out;
    const void *src = direct ? X->data : out->data;
    int rc;
    if (two_d) {        /* inner is the last axis's size: rows first, then the columns */
        rc = c2c_rows(ctx, fn, single, sign, outer * n0, inner, src, out->data);
        if (rc == 0) rc = c2c_columns(ctx, fn, single, sign, outer, n0, inner, out->data);
    } else if (inner == 1) {
        rc = c2c_rows(ctx, fn, single, sign, outer, n0, src, out->data);
    } else {
        if (direct) memcpy(out->data, X->data, (size_t)X->size * txrt_dtype_size(cdt));
        rc = c2c_columns(ctx, fn, single, sign, outer, n0, inner, out->data);
    }
    if (rc != 0) {
        txrt_release(out);
        return NULL;
    }
    if (inverse) scale(out->data, 2 * out->size, single, 1.0 / ((double)n0 * (double)(two_d ? inner : 1)));
    return out;
}

/* The Hermitian part of complex X seen as (outer, n0, L), its first h =
 * L/2+1 columns: H[b,k0,k1] = (X[b,k0,k1] + conj(X[b,-k0,-k1])) / 2
 * (indices mod n0 and L). */
#define HERMITIAN(NAME, T)                                                                                   \
    static void NAME(const T *X, T *H, int64_t outer, int64_t n0, int64_t L) {                               \
        int64_t h = L / 2 + 1;                                                                               \
        for (int64_t b = 0; b < outer; b++)                                                                  \
            for (int64_t k0 = 0; k0 < n0; k0++) {                                                            \
                const T *row = X + 2 * (b * n0 + k0) * L;                                                    \
                const T *mir = X + 2 * (b * n0 + (n0 - k0) % n0) * L;                                        \
                T *o = H + 2 * (b * n0 + k0) * h;                                                            \
                for (int64_t k = 0; k < h; k++) {                                                            \
                    int64_t mk = (L - k) % L;                                                                \
                    o[2 * k] = (T)0.5 * (row[2 * k] + mir[2 * mk]);                                          \
                    o[2 * k + 1] = (T)0.5 * (row[2 * k + 1] - mir[2 * mk + 1]);                              \
                }                                                                                            \
            }                                                                                                \
    }
HERMITIAN(hermitian_f64, double)
HERMITIAN(hermitian_f32, float)

txrt_tensor *txrt_ifft2_real(txrt_ctx *ctx, const txrt_tensor *X) {
    const char *fn = "ifft2";
    if (check_input(ctx, fn, X, 2)) return NULL;
    if (!txrt_dtype_is_complex(X->dtype))
        return txrt_fail(ctx, "ifft2: internal error: the Hermitian route needs complex input"), NULL;
    int r = X->rank;
    int64_t outer = 1, n0 = X->shape[r - 2], L = X->shape[r - 1];
    for (int d = 0; d < r - 2; d++) outer *= X->shape[d];
    if (n0 == 0) return empty_axis(ctx, fn, X, r - 2), NULL;
    if (L == 0) return empty_axis(ctx, fn, X, r - 1), NULL;
    int single = is_single(X->dtype);
    txrt_tensor *out = txrt_tensor_new(ctx, real_of(X->dtype), r, X->shape);
    if (!out || out->size == 0) return out;
    int64_t hshape[2] = { outer * n0, L / 2 + 1 };
    txrt_tensor *H = txrt_tensor_new(ctx, X->dtype, 2, hshape);
    if (H) {
        if (single) hermitian_f32(X->data, H->data, outer, n0, L);
        else hermitian_f64(X->data, H->data, outer, n0, L);
    }
    out = real_from_half(ctx, fn, H ? 0 : -1, H, out, outer, n0, L);
    txrt_release(H);
    return out;
}

#define HALF_PRODUCT(NAME, T)                                                                                \
    static void NAME(T *a, const T *b, int64_t count) {                                                      \
        for (int64_t k = 0; k < count; k++) {                                                                \
            T re = a[2 * k] * b[2 * k] - a[2 * k + 1] * b[2 * k + 1];                                        \
            T im = a[2 * k] * b[2 * k + 1] + a[2 * k + 1] * b[2 * k];                                        \
            a[2 * k] = re, a[2 * k + 1] = im;                                                                \
        }                                                                                                    \
    }
HALF_PRODUCT(half_product_f64, double)
HALF_PRODUCT(half_product_f32, float)

txrt_tensor *txrt_fft2_conv_real(txrt_ctx *ctx, const txrt_tensor *A, const txrt_tensor *B) {
    const char *fn = "ifft2";
    if (check_input(ctx, "fft2", A, 2) || check_input(ctx, "fft2", B, 2)) return NULL;
    if (txrt_dtype_is_complex(A->dtype) || A->dtype != B->dtype || A->rank != B->rank)
        return txrt_fail(ctx, "fft2: internal error: the real product route needs two real tensors of one dtype"),
               NULL;
    for (int d = 0; d < A->rank; d++)
        if (A->shape[d] != B->shape[d])
            return txrt_fail(ctx, "fft2: internal error: the real product route needs equal shapes"), NULL;
    int r = A->rank, single = is_single(A->dtype);
    int64_t outer = 1, n0 = A->shape[r - 2], L = A->shape[r - 1];
    for (int d = 0; d < r - 2; d++) outer *= A->shape[d];
    if (n0 == 0) return empty_axis(ctx, "fft2", A, r - 2), NULL;
    if (L == 0) return empty_axis(ctx, "fft2", A, r - 1), NULL;
    txrt_tensor *out = txrt_tensor_new_uninit(ctx, real_of(A->dtype), r, A->shape);
    if (!out || out->size == 0) return out;
    txrt_tensor *SA = half_spectrum(ctx, "fft2", A, 1, outer, n0, L);
    txrt_tensor *SB = SA ? half_spectrum(ctx, "fft2", B, 1, outer, n0, L) : NULL;
    if (SB) {
        if (single) half_product_f32(SA->data, SB->data, SA->size);
        else half_product_f64(SA->data, SB->data, SA->size);
    }
    out = real_from_half(ctx, fn, SB ? 0 : -1, SA, out, outer, n0, L);
    txrt_release(SA);
    txrt_release(SB);
    return out;
}

/* ---- the builtins ------------------------------------------------------------- */

txrt_tensor *txrt_fft(txrt_ctx *ctx, const txrt_tensor *X, int axis, int inverse) {
    const char *fn = inverse ? "ifft" : "fft";
    if (check_input(ctx, fn, X, 1)) return NULL;
    int ax = axis < 0 ? axis + X->rank : axis;
    if (ax < 0 || ax >= X->rank)
        return txrt_fail(ctx, "%s: axis %d is out of range for a tensor of rank %d (use 0 to %d, or -%d to -1)",
                         fn, axis, X->rank, X->rank - 1, X->rank), NULL;
    int64_t outer = 1, inner = 1, n = X->shape[ax];
    for (int d = 0; d < ax; d++) outer *= X->shape[d];
    for (int d = ax + 1; d < X->rank; d++) inner *= X->shape[d];
    if (n == 0) return empty_axis(ctx, fn, X, ax), NULL;
    return c2c(ctx, fn, X, 0, outer, n, inner, inverse);
}

txrt_tensor *txrt_fft2(txrt_ctx *ctx, const txrt_tensor *X, int inverse) {
    const char *fn = inverse ? "ifft2" : "fft2";
    if (check_input(ctx, fn, X, 2)) return NULL;
    int r = X->rank;
    int64_t outer = 1;
    for (int d = 0; d < r - 2; d++) outer *= X->shape[d];
    if (X->shape[r - 2] == 0) return empty_axis(ctx, fn, X, r - 2), NULL;
    if (X->shape[r - 1] == 0) return empty_axis(ctx, fn, X, r - 1), NULL;
    return c2c(ctx, fn, X, 1, outer, X->shape[r - 2], X->shape[r - 1], inverse);
}

txrt_tensor *txrt_rfft(txrt_ctx *ctx, const txrt_tensor *X) {
    if (check_input(ctx, "rfft", X, 1)) return NULL;
    if (txrt_dtype_is_complex(X->dtype))
        return txrt_fail(ctx, "rfft: the input must be real, got %s (use fft for complex data)",
                         txrt_dtype_name(X->dtype)), NULL;
    int r = X->rank;
    int64_t n = X->shape[r - 1], outer = 1;
    if (n == 0) return empty_axis(ctx, "rfft", X, r - 1), NULL;
    for (int d = 0; d < r - 1; d++) outer *= X->shape[d];
    int64_t shape[TXRT_MAX_RANK];
    memcpy(shape, X->shape, sizeof shape);
    shape[r - 1] = n / 2 + 1;
    txrt_tensor *out = txrt_tensor_new(ctx, complex_of(X->dtype), r, shape);
    if (!out || out->size == 0) return out;
    txrt_tensor *tmp = NULL;                 /* an aligned copy of a foreign-memory input */
    const txrt_tensor *src = X;
    if (!aligned(X->data)) {
        if (!(tmp = txrt_tensor_copy(ctx, X))) {
            txrt_release(out);
            return NULL;
        }
        src = tmp;
    }
    int rc = real_rows(ctx, "rfft", KIND_R2C, is_single(X->dtype), outer, n, src->data, out->data);
    txrt_release(tmp);
    if (rc != 0) {
        txrt_release(out);
        return NULL;
    }
    return out;
}

txrt_tensor *txrt_irfft(txrt_ctx *ctx, const txrt_tensor *X, int64_t n) {
    if (check_input(ctx, "irfft", X, 1)) return NULL;
    int r = X->rank;
    int64_t m = X->shape[r - 1], outer = 1;
    if (n <= 0) {
        n = 2 * (m - 1);
        if (n <= 0)
            return txrt_fail(ctx, "irfft: the default output length 2*(m-1) is %lld for %lld input point%s "
                             "along the last axis; give n", (long long)n, (long long)m, m == 1 ? "" : "s"), NULL;
    }
    for (int d = 0; d < r - 1; d++) outer *= X->shape[d];
    int64_t h = n / 2 + 1;
    int64_t shape[TXRT_MAX_RANK];
    memcpy(shape, X->shape, sizeof shape);
    shape[r - 1] = n;
    txrt_tensor *out = txrt_tensor_new(ctx, real_of(X->dtype), r, shape);
    if (!out || out->size == 0) return out;
    /* c2r destroys its input: transform a scratch copy, cropped or
     * zero-padded to h points as numpy does. */
    txrt_dtype cdt = complex_of(X->dtype);
    int64_t sshape[2] = { outer, h };
    txrt_tensor *s = txrt_tensor_new(ctx, cdt, 2, sshape);
    if (!s) {
        txrt_release(out);
        return NULL;
    }
    int64_t keep = m < h ? m : h;
    for (int64_t b = 0; b < outer; b++) {
        for (int64_t j = 0; j < keep; j++) {
            double re, im;
            txrt_get(X, b * m + j, &re, &im);
            txrt_set(s, b * h + j, re, im);
        }
        /* numpy ignores the imaginary parts of the zero-frequency term and,
         * for even n, of the Nyquist term: a Hermitian signal has none. */
        double re;
        txrt_get(s, b * h, &re, NULL);
        txrt_set(s, b * h, re, 0);
        if (n % 2 == 0) {
            txrt_get(s, b * h + h - 1, &re, NULL);
            txrt_set(s, b * h + h - 1, re, 0);
        }
    }
    int rc = real_rows(ctx, "irfft", KIND_C2R, is_single(cdt), outer, n, s->data, out->data);
    txrt_release(s);
    if (rc != 0) {
        txrt_release(out);
        return NULL;
    }
    scale(out->data, out->size, is_single(cdt), 1.0 / (double)n);
    return out;
}
