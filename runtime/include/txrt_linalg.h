/*
 * txrt_linalg.h -- libtxrt's numerical builtins: dense linear algebra
 * (LAPACKE over OpenBLAS, runtime/linalg.c), FFTs (FFTW3, runtime/fft.c)
 * and real spherical harmonics with their Gaunt coefficients
 * (runtime/sph.c).
 *
 * Common rules, as for the rest of the runtime (txrt.h):
 * - every entry point takes the txrt_ctx first; on failure it records a
 *   message in it ("solve: matrix is singular (U[2,2] is exactly zero)")
 *   and returns NULL or -1; it never prints or exits;
 * - results are new tensors (one reference each, owned by the caller);
 *   inputs are never modified;
 * - all four dtypes are accepted.  Two-operand calls promote like the
 *   language (f32 < f64, real < complex): solve(f32, c128) computes in
 *   c128.  Results carry the promoted dtype, except where a value is real
 *   by nature (eigh's w and svd's s are f64 for f64/c128 inputs and f32
 *   for f32/c64 inputs).  FFTs of real inputs are complex of the same
 *   precision (f64 -> c128, f32 -> c64).
 * - shapes are checked here too (the checker also checks them statically,
 *   but the runtime is safe on its own): a shape error names the call, the
 *   operand and its shape, e.g. "solve: A must be square, got (3, 4)".
 * - matrix dimensions must fit LAPACK's 32-bit integers (and a matrix at
 *   most INT_MAX elements, a limit of LAPACKE's row-major copies);
 * - nan and inf are rejected by eigh, svd, lstsq and cholesky (which
 *   cannot converge on them: "eigh: A contains nan at [1,0]") and
 *   propagate into the results everywhere else, as in numpy.
 *
 * Messages start with the builtin's name and a colon; the caller (the
 * evaluator, JIT code) prefixes the source location.
 */
#ifndef TXRT_LINALG_H
#define TXRT_LINALG_H

#include "txrt.h"

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- linear algebra (runtime/linalg.c) ------------------------------------ */

/* x = solve(A, B): A x = B for square A (n, n) and B of shape (n,) or
 * (n, k); x has B's shape.  LU with partial pivoting (?gesv).  A singular
 * A is an error naming the zero pivot: "solve: matrix is singular
 * (U[2,2] is exactly zero)" (0-based, as tx indexes). */
txrt_tensor *txrt_solve(txrt_ctx *ctx, const txrt_tensor *A, const txrt_tensor *B);

/* x = lstsq(A, B): the minimum-norm least-squares solution of A x = B for
 * A (m, n) and B (m,) or (m, k); x is (n,) or (n, k).  SVD based (?gelsd),
 * singular values below eps * max(m, n) * s_max count as zero (numpy's
 * default rcond), so rank-deficient A is fine.  Inputs containing nan or
 * inf are an error (the SVD cannot converge on them). */
txrt_tensor *txrt_lstsq(txrt_ctx *ctx, const txrt_tensor *A, const txrt_tensor *B);

/* inv(A) for square A (?getrf + ?getri); singular A is an error. */
txrt_tensor *txrt_inv(txrt_ctx *ctx, const txrt_tensor *A);

/* det(A): a rank-0 tensor of A's dtype; the product of U's diagonal from
 * ?getrf with the sign of the row permutation.  A singular matrix has
 * determinant 0 (not an error).  det of a 0x0 matrix is 1. */
txrt_tensor *txrt_det(txrt_ctx *ctx, const txrt_tensor *A);

/* L = cholesky(A): lower-triangular L with L L^H = A (?potrf, 'L'); only
 * the lower triangle of A is read (as numpy), L's strict upper triangle is
 * zero.  "cholesky: matrix is not positive definite (leading minor of
 * order 4)" when the factorisation breaks down. */
txrt_tensor *txrt_cholesky(txrt_ctx *ctx, const txrt_tensor *A);

/* x = cho_solve(L, B): solve (L L^H) x = B given the lower Cholesky factor
 * L (n, n) (?potrs; only L's lower triangle is read); B (n,) or (n, k).
 * A zero on L's diagonal is an error. */
txrt_tensor *txrt_cho_solve(txrt_ctx *ctx, const txrt_tensor *L, const txrt_tensor *B);

/* w, V = eigh(A) for symmetric / Hermitian A (n, n) (?syevd / ?heevd,
 * divide and conquer; only the lower triangle is read, as numpy):
 * eigenvalues w (n,) real and ascending, orthonormal eigenvectors in V's
 * columns, A V = V diag(w).  Returns 0, or -1 with *w = *V = NULL. */
int txrt_eigh(txrt_ctx *ctx, const txrt_tensor *A, txrt_tensor **w, txrt_tensor **V);

/* U, s, Vt = svd(A), the thin SVD of A (m, n) with k = min(m, n) (?gesdd):
 * U (m, k), s (k,) real and descending, Vt (k, n); A = U diag(s) Vt.
 * Returns 0, or -1 with all outputs NULL. */
int txrt_svd(txrt_ctx *ctx, const txrt_tensor *A, txrt_tensor **U, txrt_tensor **s, txrt_tensor **Vt);

/* Q, R = qr(A), the reduced QR of A (m, n) with k = min(m, n) (?geqrf then
 * ?orgqr / ?ungqr): Q (m, k) with orthonormal columns, R (k, n) upper
 * triangular, A = Q R.  Signs as LAPACK leaves them (R's diagonal may be
 * negative), like numpy.  Returns 0, or -1 with both outputs NULL. */
int txrt_qr(txrt_ctx *ctx, const txrt_tensor *A, txrt_tensor **Q, txrt_tensor **R);

/* C = alpha op(A) op(B) + beta C on raw row-major buffers of dtype dt, a
 * thin dispatch to cblas_{s,d,c,z}gemm for the planner.  op(A) is m x k,
 * op(B) is k x n, C is m x n.  trans: 'N' (as is), 'T' (transposed) or
 * 'C' (conjugate-transposed; same as 'T' for real dtypes).  A is stored
 * m x k ('N') or k x m ('T'/'C') with row stride lda >= its column count;
 * likewise B and C.  alpha and beta are real; txrt_gemm_c takes complex
 * ones (their imaginary parts are ignored for real dtypes).  When beta is
 * 0, C need not be initialised (BLAS semantics).  Returns 0, or -1 with a
 * ctx error for bad arguments. */
int txrt_gemm(txrt_ctx *ctx, char transA, char transB, int64_t m, int64_t n, int64_t k,
              double alpha, const void *A, int64_t lda, const void *B, int64_t ldb,
              double beta, void *C, int64_t ldc, txrt_dtype dt);
int txrt_gemm_c(txrt_ctx *ctx, char transA, char transB, int64_t m, int64_t n, int64_t k,
                double alpha_re, double alpha_im, const void *A, int64_t lda,
                const void *B, int64_t ldb, double beta_re, double beta_im,
                void *C, int64_t ldc, txrt_dtype dt);

/* C = alpha op(A) op(A)^T on raw row-major buffers, a symmetric n x n
 * result: op(A) is n x k, A stored n x k ('N') or k x n ('T') with row
 * stride lda.  cblas_{s,d,c,z}syrk computes the upper triangle, half the
 * multiply-adds of the gemm, and the lower one is mirrored from it (for
 * complex dtypes the product is symmetric, not Hermitian: no conjugate).
 * C need not be initialised.  Returns 0, or -1 with a ctx error. */
int txrt_syrk_c(txrt_ctx *ctx, char trans, int64_t n, int64_t k, double alpha_re, double alpha_im,
                const void *A, int64_t lda, void *C, int64_t ldc, txrt_dtype dt);

/* y = alpha op(A) x + beta y on raw buffers of
 * dtype dt, a thin dispatch to cblas_{s,d,c,z}gemv.  A is stored row-major
 * m x n with row stride lda >= n; op(A) is A ('N') or its (conjugate)
 * transpose ('T'/'C'); x and y are strided by incx, incy >= 1.  When beta
 * is 0, y need not be initialised.  Returns 0, or -1 with a ctx error. */
int txrt_gemv_c(txrt_ctx *ctx, char trans, int64_t m, int64_t n, double alpha_re, double alpha_im,
                const void *A, int64_t lda, const void *x, int64_t incx, double beta_re, double beta_im,
                void *y, int64_t incy, txrt_dtype dt);

/* The number of threads OpenBLAS may use for
 * one large product (openblas_set_num_threads); n < 1 leaves it unchanged.  Products
 * too small to gain from threads run on one regardless.  txc
 * sets it from --threads: BLAS calls run outside txc's own parallel
 * regions, so the two pools never run at once. */
void txrt_blas_set_threads(int n);
/* Make OpenBLAS's idle workers sleep ~0.3 ms after a threaded call
 * instead of spinning for ~0.1 s (OPENBLAS_THREAD_TIMEOUT=20, unless the
 * environment sets it; restarts OpenBLAS's thread server).  For a program
 * that owns the process's BLAS use: call before any BLAS call, from one
 * thread.  Does nothing with another BLAS. */
void txrt_blas_quiet_workers(void);
/* Whether a product of `madds` multiply-adds whose output is at least
 * `side` long each way runs on one OpenBLAS thread (txrt_gemm_c and
 * friends switch to one thread for it).  Such products may be called from
 * several threads at once after txrt_blas_single(): their thread setting
 * is then already right and is not touched. */
bool txrt_blas_is_small(double madds, int64_t side);
void txrt_blas_single(void);
/* Whether LAPACK builtins on A (solve, eigh, svd, ...) run on one OpenBLAS
 * thread (its matrices are under 320 rows and columns).  Builtins on such
 * tensors may run on several threads at once after txrt_blas_single(),
 * like small products. */
bool txrt_lapack_is_small(const txrt_tensor *A);

/* ---- FFT (runtime/fft.c) -------------------------------------------------- */

/* numpy's conventions: the forward transform is X[k] = sum_t x[t]
 * exp(-2 pi i k t / n), unscaled; the inverse uses exp(+2 pi i k t / n) and
 * scales by 1/n, so ifft(fft(x)) = x.  Results are c128 for f64/c128
 * inputs and c64 for f32/c64 inputs (rfft: f64 -> c128, f32 -> c64;
 * irfft: c128/f64 -> f64, c64/f32 -> f32).  Zero-size axes other than the
 * transformed ones give empty results; a transformed axis of size 0 is an
 * error. */

/* fft / ifft along one axis of a tensor of rank >= 1; axis < 0 counts
 * from the end (-1 is the last axis). */
txrt_tensor *txrt_fft(txrt_ctx *ctx, const txrt_tensor *X, int axis, int inverse);
/* fft2 / ifft2 over the last two axes (rank >= 2). */
txrt_tensor *txrt_fft2(txrt_ctx *ctx, const txrt_tensor *X, int inverse);
/* real(ifft2(X)) for complex X, computed as the c2r transform of X's
 * Hermitian part (X[k] + conj(X[-k]))/2, half the work of the complex
 * inverse; the evaluator uses it when an ifft2 result feeds only real(). */
txrt_tensor *txrt_ifft2_real(txrt_ctx *ctx, const txrt_tensor *X);
/* real(ifft2(fft2(A) * fft2(B))) for real A and B of one dtype and shape
 * (rank >= 2; the circular convolution over the last two axes), through
 * half spectra only: r2c transforms of A and B, their product on the
 * h = L/2+1 columns that are not redundant, a c2r transform back.  The
 * full spectra never exist; the evaluator uses it when the fft2 results
 * and their product feed only that ifft2 and real(). */
txrt_tensor *txrt_fft2_conv_real(txrt_ctx *ctx, const txrt_tensor *A, const txrt_tensor *B);
/* rfft of a real tensor along its last axis: n points give n/2 + 1. */
txrt_tensor *txrt_rfft(txrt_ctx *ctx, const txrt_tensor *X);
/* irfft along the last axis, m points -> n real points; n <= 0 means
 * numpy's default 2*(m-1).  As numpy, the input is cropped or zero-padded
 * to n/2 + 1 points and the imaginary parts of the zero-frequency term
 * (and of the Nyquist term when n is even) are ignored. */
txrt_tensor *txrt_irfft(txrt_ctx *ctx, const txrt_tensor *X, int64_t n);

/* The plan cache.  Plans are created once per (transform kind, precision,
 * direction, in-place or not, transform sizes, batch layout) and kept for
 * the process.  txrt_fft_cleanup destroys them all; the txc driver calls it
 * once at exit, after every thread that might run an FFT has finished (it
 * is not registered with atexit: the order of exit handlers relative to
 * the thread pool and FFTW's own state is not ours to choose).  Calling an
 * FFT again after cleanup simply plans afresh. */
typedef struct txrt_fft_stats {
    int64_t plans;      /* plans currently cached */
    int64_t hits;       /* lookups answered from the cache */
    int64_t misses;     /* lookups that created a plan */
} txrt_fft_stats;
txrt_fft_stats txrt_fft_cache_stats(void);
void txrt_fft_cleanup(void);

/* ---- spherical harmonics (runtime/sph.c) ----------------------------------- */

/* Real orthonormal spherical harmonics of all degrees l <= L at the points
 * (theta[s], phi[s]) (theta polar, phi azimuth, radians; theta and phi
 * real tensors of one shape S, any rank, f32 inputs are widened).  Result:
 * f64 of shape [(L+1)^2, S...], row p = l*l + l + m holding
 *   m < 0:  sqrt(2) (-1)^m Im Y_l^|m|
 *   m = 0:  Y_l^0
 *   m > 0:  sqrt(2) (-1)^m Re Y_l^m
 * with the Condon-Shortley phase in the complex Y_l^m, so degree 1 is
 * sqrt(3/(4 pi)) (y, z, x).  sin^|m|(theta) is a power of sin(theta) (never
 * sqrt(1 - cos^2)), so theta outside [0, pi] continues every harmonic as a
 * trigonometric polynomial: Y(2 pi - theta, phi + pi) = Y(theta, phi).
 * 0 <= L <= 1000. */
txrt_tensor *txrt_sph_harm(txrt_ctx *ctx, int64_t L, const txrt_tensor *theta, const txrt_tensor *phi);

/* Gaunt coefficients: f64 of shape [(L+1)^2, (L+1)^2, (L+1)^2],
 * G[p,q,r] = integral over the unit sphere of Y_p Y_q Y_r (the harmonics of
 * txrt_sph_harm), by exact quadrature.  Entries that vanish by the
 * selection rules (l1+l2+l3 odd, triangle inequality violated, or the
 * azimuthal integral zero) are exactly 0.  Size grows as (L+1)^6:
 * L = 8 is 4 MiB, L = 16 is 185 MiB.  0 <= L <= 1000 (memory permitting). */
txrt_tensor *txrt_gaunt(txrt_ctx *ctx, int64_t L);

#ifdef __cplusplus
}
#endif
#endif
