/*
 * txrt.h -- libtxrt, the tx runtime: a plain C ABI.
 *
 * JIT code, AOT objects, the reference evaluator and C users all call the
 * runtime the same way.  Every fallible entry point takes a txrt_ctx first
 * and reports failure through it (status and message) instead of printing
 * or exiting; the caller decides what an error means (the txc driver turns
 * it into "FILE:LINE:COL: runtime error: ..." and exit status 3).
 *
 * Tensors are dense, row-major, with their data 64-byte aligned.  They are
 * reference counted: txrt_tensor_new returns a tensor with one reference,
 * txrt_retain adds one, txrt_release drops one and frees at zero.
 */
#ifndef TXRT_H
#define TXRT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ORDER: matches tx_dtype_name in frontend/ast.h and txrt_dtype_name(). */
typedef enum { TXRT_F64 = 0, TXRT_F32 = 1, TXRT_C128 = 2, TXRT_C64 = 3 } txrt_dtype;

#define TXRT_MAX_RANK 32   /* the largest tensor rank txc supports */

typedef struct txrt_tensor {
    void *data;                     /* 64-byte aligned, size * elem bytes */
    int64_t size;                   /* number of elements (1 for rank 0) */
    int64_t shape[TXRT_MAX_RANK];
    int32_t rank;
    txrt_dtype dtype;
    int32_t refcount;
    int32_t flags;                  /* TXRT_OWNS_DATA */
} txrt_tensor;

#define TXRT_OWNS_DATA 1

/* Runtime context: the error status of the last failing call. */
typedef struct txrt_ctx {
    int status;                     /* 0 ok, non-zero after an error */
    char errmsg[1024];
    int64_t max_bytes;              /* refuse single allocations above this (0 = physical memory) */
} txrt_ctx;

void txrt_ctx_init(txrt_ctx *ctx);
/* Record an error (printf-style); returns -1 so callers can `return txrt_fail(...)`. */
int txrt_fail(txrt_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void txrt_clear_error(txrt_ctx *ctx);

/* dtypes */
size_t txrt_dtype_size(txrt_dtype dt);              /* 8, 4, 16, 8 */
const char *txrt_dtype_name(txrt_dtype dt);         /* "f64", "f32", "c128", "c64" */
int txrt_dtype_from_name(const char *s, txrt_dtype *out); /* 0 ok, -1 unknown */
int txrt_dtype_is_complex(txrt_dtype dt);
txrt_dtype txrt_dtype_promote(txrt_dtype a, txrt_dtype b); /* f32 < f64, real < complex */

/* Tensors.  New tensors are zero-filled.  Fails (NULL, ctx error) on a
 * negative size, an element count or byte size that overflows int64, or a
 * request larger than ctx->max_bytes, with a message giving the shape and
 * the bytes asked for. */
txrt_tensor *txrt_tensor_new(txrt_ctx *ctx, txrt_dtype dt, int rank, const int64_t *shape);
/* The same without the zero fill, for a caller that writes every element
 * before anything reads one (an 80 MB output then costs no 4 ms memset).
 * With TXRT_POISON=1 in the environment the data is filled with 0xff bytes
 * instead (NaNs), so an element left unwritten shows in the results. */
txrt_tensor *txrt_tensor_new_uninit(txrt_ctx *ctx, txrt_dtype dt, int rank, const int64_t *shape);
/* Make t's contents unspecified before it is overwritten whole (see
 * txrt_tensor_new_uninit): poisons it under TXRT_POISON=1, else nothing. */
void txrt_tensor_forget(txrt_tensor *t);
txrt_tensor *txrt_scalar_new(txrt_ctx *ctx, txrt_dtype dt, double re, double im);
txrt_tensor *txrt_tensor_copy(txrt_ctx *ctx, const txrt_tensor *t);
txrt_tensor *txrt_tensor_cast(txrt_ctx *ctx, const txrt_tensor *t, txrt_dtype dt);
txrt_tensor *txrt_retain(txrt_tensor *t);
void txrt_release(txrt_tensor *t);                  /* NULL-safe */
/* Released data blocks of 2 MiB and more are kept for reuse by later
 * tensors of the same block size (bounded: 16 blocks, an eighth of physical
 * memory, at most 2 GiB); this unmaps them all.  Thread-safe. */
void txrt_block_cache_clear(void);
/* Element i (flat, row-major) as a complex pair (im = 0 for real dtypes). */
void txrt_get(const txrt_tensor *t, int64_t i, double *re, double *im);
void txrt_set(txrt_tensor *t, int64_t i, double re, double im);
/* Shape product with overflow check: 0 ok, -1 on overflow or negative dim. */
int txrt_shape_size(int rank, const int64_t *shape, int64_t *size);
/* "(3, 4)" / "()" into buf. */
const char *txrt_shape_str(int rank, const int64_t *shape, char *buf, size_t n);

/* .npy files (format 1.0 and 2.0 read, 1.0 written unless the header needs
 * 2.0; '<f8' '<f4' '<c16' '<c8', C order).  Loading validates the magic,
 * header, dtype, order and shape, and that the file holds exactly the
 * data; anything else is an error naming the file and what is wrong.
 * Saving writes a temporary file in the same folder and renames it, so an
 * interrupted run never leaves a truncated file. */
txrt_tensor *txrt_npy_load(txrt_ctx *ctx, const char *path);
txrt_tensor *txrt_npy_load_mem(txrt_ctx *ctx, const void *buf, size_t len, const char *what);
int txrt_npy_save(txrt_ctx *ctx, const char *path, const txrt_tensor *t);

/* numpy-style printing, no trailing newline: a rank-0 tensor prints as
 * Python prints the numpy scalar ("0.1", "3.0", "(1+2j)"); a tensor prints
 * numpy 1.24's str() of its values (abbreviated with ... beyond 1000
 * elements, 3 per edge) followed by a space and its dtype and shape, e.g.
 * "[[1. 2.]\n [3. 4.]] f64[2,2]". */
void txrt_print(FILE *f, const txrt_tensor *t);
/* One number as print shows a scalar. */
void txrt_format_scalar(char *buf, size_t n, txrt_dtype dt, double re, double im);

/* Deterministic random numbers: xoshiro256** seeded by splitmix64(seed);
 * uniform doubles in [0,1) from the top 53 bits; normals by the Box-Muller
 * transform (both values of each pair used).  Same seed, same tensor, on
 * every machine. */
typedef struct txrt_rng { uint64_t s[4]; int has_spare; double spare; } txrt_rng;
void txrt_rng_seed(txrt_rng *r, uint64_t seed);
uint64_t txrt_rng_next(txrt_rng *r);
double txrt_rng_uniform(txrt_rng *r);
double txrt_rng_normal(txrt_rng *r);
/* Fill t with uniform [0,1) (rand) or standard normal (randn) values; complex
 * tensors get independent real and imaginary parts. */
void txrt_fill_rand(txrt_tensor *t, uint64_t seed);
void txrt_fill_randn(txrt_tensor *t, uint64_t seed);

/* ---- threads (runtime/parallel.c) ----
 * txrt_parallel_for runs body(ctx, lo, hi) over contiguous chunks [lo, hi)
 * that cover [0, n) exactly once, at most TXRT_CHUNKS_PER_THREAD chunks
 * per thread (claimed by whichever thread is free, so a slow core does
 * less), on a persistent pool started lazily and stopped at exit; it returns when
 * every chunk has finished.  The calling thread works too.  A call made
 * from inside a body (nested), or while another thread's job holds the
 * pool, runs body(ctx, 0, n) serially.  n <= 0 does nothing.  Thread-safe. */
#define TXRT_CHUNKS_PER_THREAD 4
void txrt_parallel_for(int64_t n, void (*body)(void *ctx, int64_t lo, int64_t hi), void *ctx);
/* Threads that parallel loops use (clamped to 1..1024; n < 1 restores the
 * default, the number of online CPUs). */
void txrt_set_threads(int n);
int txrt_get_threads(void);
/* Stop and join the pool's threads now (it restarts on the next parallel
 * loop); also registered with atexit. */
void txrt_parallel_shutdown(void);

/* ---- objects built ahead of time (runtime/aot.c) ----
 * Functions exported by `txc build` return 0, or non-zero after recording
 * a message that txrt_last_error() returns on the same thread (it stays
 * until the next failure on that thread; "" when there has been none). */
const char *txrt_last_error(void);
/* Record the calling thread's last error (printf-style); returns 1. */
int txrt_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void txrt_clear_last_error(void);
/* 64-byte aligned memory for nbytes (temporaries of generated code),
 * zero-filled when zero is non-zero; NULL after txrt_set_error naming func
 * and what.  Free with txrt_aot_free (NULL-safe). */
void *txrt_aot_alloc(int64_t nbytes, int zero, const char *func, const char *what);
void txrt_aot_free(void *p);
/* C = op(A) op(B) on row-major buffers (txrt_gemm with alpha 1, beta 0;
 * trans 'N' or 'T', dtype a txrt_dtype); returns 0, or 1 after
 * txrt_set_error("func: ..."). */
int txrt_aot_gemm(const char *func, int transA, int transB, int64_t m, int64_t n, int64_t k,
                  const void *A, int64_t lda, const void *B, int64_t ldb, void *C, int64_t ldc,
                  int dtype);
/* A raw tensor for txrt_aot_call: dense row-major data of a txrt_dtype. */
typedef struct txrt_aot_arg {
    void *data;
    int64_t dtype;
    int64_t rank;
    const int64_t *shape;
} txrt_aot_arg;
/* Run the builtin `op` ("solve", "lstsq", "cho_solve", "inv", "det",
 * "cholesky", "eigh", "svd", "qr", "fft", "ifft", "fft2", "ifft2", "rfft",
 * "irfft"; num: the axis of fft/ifft, the length of irfft (0: default))
 * on nin inputs and copy its nout results into out[k].data (shapes and
 * dtypes as the compiler predicted them).  Returns 0, or 1 after
 * txrt_set_error("func: ...") (a singular matrix, ...). */
int txrt_aot_call(const char *func, const char *op, int64_t num, int nin, const txrt_aot_arg *in, int nout,
                  const txrt_aot_arg *out);

#ifdef __cplusplus
}
#endif
#endif
