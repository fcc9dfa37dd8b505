/*
 * blas.h -- BLAS dispatch of pairwise contractions.
 *
 * A DEF backend (tx_def_backend, ir/interp.h) that wraps another one (the
 * LLVM JIT, or none: then the reference evaluator).  A DEF that
 * tx_plan_classify marks gemm or gemv (out[O] = alpha * sum[K](A * B) over
 * plain tensors, batched or not), whose operands and output share one
 * dtype (f64, f32, c128, c64), runs as cblas ?gemm / ?gemv calls: one per
 * point of the batch indices.  The index groups (left, right, contracted)
 * are read in place whenever each operand is a (batched) matrix with unit
 * stride in one of its two groups; an operand that is not is first copied
 * into a contiguous temporary, and an output that is not is computed into
 * one and permuted into place, when the cost model says the copy pays.
 * Everything else goes to the wrapped backend.
 *
 * The decision is a pure function of the DEF (its index extents and the
 * order of the subscripts) assuming operands laid out as their subscripts
 * say, so the planner asks the same question when it prices a step
 * (tx_plan_classify sets tx_plan_gemm.blas through tx_blas_eligible).  At
 * run time the dispatch additionally checks the tensors' dtypes and
 * shapes and declines otherwise.
 */
#ifndef TX_BLAS_H
#define TX_BLAS_H

#include <stdbool.h>

#include "ir/interp.h"
#include "ir/plan.h"

typedef struct tx_blas tx_blas;

/* Counters since tx_blas_new. */
typedef struct tx_blas_stats {
    int ndefs;        /* definitions run through BLAS */
    int ngemm;        /* ?gemm calls */
    int ngemv;        /* ?gemv calls */
    int nsyrk;        /* ?syrk calls (a product of an operand with its own transpose) */
    int ncopies;      /* operands or results permuted through a temporary */
    double run_ms;    /* wall time of the BLAS-run definitions, copies included */
    int npassed;      /* definitions handed to the wrapped backend */
    int ntransposed;  /* of those, run with an operand transposed first (see blas.c) */
} tx_blas_stats;

/* A BLAS backend in front of `inner` (copied; NULL: decline what BLAS does
 * not take, so the evaluator runs it). */
tx_blas *tx_blas_new(const tx_def_backend *inner);
void tx_blas_free(tx_blas *b);
tx_def_backend tx_blas_backend(tx_blas *b);
/* Tell b that its inner backend compiles products to vector register
 * tiles as fast as the JIT's AVX-512 tiles at -O2 and up (where the rule
 * was measured): batches of products small enough to tile, and thin
 * products, then go to it instead of BLAS (see tiles_beat_blas in
 * blas.c).  Off by default. */
void tx_blas_set_tiled_loops(tx_blas *b, bool on);
void tx_blas_get_stats(const tx_blas *b, tx_blas_stats *out);

/* Would a DEF classified as g run through BLAS (operands of one dtype laid
 * out as their subscripts say)?  Needs the DEF's index extents.  Same
 * predicate as the dispatch: shape, layout, copy cost, crossover. */
bool tx_blas_eligible(const tx_tir_stmt *def, const tx_plan_gemm *g);

/* Estimated run time in nanoseconds of a DEF as one loop nest (the JIT's
 * kernel) and, when tx_blas_eligible, through BLAS; for the planner's cost
 * model.  madds is the DEF's multiply-add count. */
double tx_blas_loop_ns(double madds);
double tx_blas_call_ns(const tx_tir_stmt *def, const tx_plan_gemm *g);

/* The crossover: a product with fewer multiply-adds per BLAS call than
 * this stays in loops (process-wide; the default was measured, see
 * ir/blas.c).  Tests set 0 to push every eligible shape through BLAS.
 * Returns the previous value. */
double tx_blas_set_crossover(double madds_per_call);
double tx_blas_get_crossover(void);

#endif
