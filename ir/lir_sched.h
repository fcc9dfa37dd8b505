/*
 * lir_sched.h -- loop scheduling of LIR kernels: loop order, register
 * tiles (unroll-and-jam) and which loops run on the thread pool.
 *
 * tx_lir_schedule rewrites a kernel in place before code generation.  It
 * changes no value beyond what reduction reassociation already allows (in
 * fact the tiles it builds keep every accumulator's order of operations),
 * so a scheduled kernel computes what the unscheduled one does.  The
 * decisions depend only on the kernel and the options, never on the
 * machine's load or the number of threads, so the LIR text before
 * scheduling plus the options determine the code (the JIT's cache key).
 */
#ifndef TX_LIR_SCHED_H
#define TX_LIR_SCHED_H

#include <stdbool.h>

#include "ir/lir.h"

typedef struct tx_lir_sched_opts {
    int jam_width;        /* register tile along the stride-1 output loop (0/1: no tiles) */
    int tile_rows;        /* register tile rows: copies of the enclosing output loop (0/1: 1-D tiles) */
    int max_nodes;        /* largest jammed body, in expression nodes */
    int jam_rows;         /* iterations jammed around a fused kernel's rows
                             (tx_lir_jam_rows; 0/1: off) */
    int interleave;       /* sets of partial sums for reduction loops that are not
                             innermost (tx_lir_interleave; 0/1: off) */
    double min_tile_work; /* least work (tx_lir_work units) worth a tile: tiles cost
                             compile time (~20-40 ms) and win only on big nests */
    bool parallel;        /* mark parallel loops */
    double min_par_work;  /* least estimated work (tx_lir_work units) worth a parallel loop */
} tx_lir_sched_opts;

/* Defaults for a host whose vector registers hold `vec_doubles` doubles
 * (8 with AVX-512, 4 with AVX, 2 otherwise). */
void tx_lir_sched_defaults(tx_lir_sched_opts *o, int vec_doubles);

/* Schedule f (see the top of lir_sched.c for the rules).  Returns the
 * number of changes made (tiles and parallel loops). */
int tx_lir_schedule(tx_lir_func *f, const tx_lir_sched_opts *o);

/* Estimated work of running f once, in rough scalar-operation units
 * (a load or an add is 1, a division 4, a libm call 20). */
double tx_lir_work(const tx_lir_func *f);

/* Mark the outermost loops of f's top level as parallel where their
 * iterations are independent (each writes its own disjoint part of the
 * outputs, reads no output another iteration writes, and uses only
 * accumulators it initialises) and the loop's work is at least min_work.
 * Returns the number of loops marked. */
int tx_lir_mark_parallel(tx_lir_func *f, double min_work);

/* True when the iterations of loop l are independent in the sense above. */
bool tx_lir_loop_independent(const tx_lir_func *f, const tx_lir_stmt *l);

/* Unroll loop b->stmts[k] `width` times and jam the copies into one loop
 * nest (ir/lir_jam.c); the caller has checked that its iterations are
 * independent.  Returns 1 when it changed f. */
int tx_lir_jam_loop(tx_lir_func *f, tx_lir_block *b, int k, int width);

/* Split the accumulations of reduction loop b->stmts[k] into `width`
 * interleaved sets of partial sums (ir/lir_jam.c: a loop that is not
 * innermost, adding into the same scalars and short scratch row every
 * iteration, is a chain of dependent adds).  Reassociates sums like a
 * vectorised reduction; returns 1 when it changed f. */
int tx_lir_interleave(tx_lir_func *f, tx_lir_block *b, int k, int width, int max_nodes);

/* The same for a loop whose body also fills scratch rows of its own before
 * reading them (a fused kernel's per-iteration score and exp rows): each
 * of the `width` jammed iterations gets private copies of those, so the
 * copies' inner loops run side by side and share their loads of the
 * operands the loop variable does not index (V2[k,b] for rows j, j+1). */
int tx_lir_jam_rows(tx_lir_func *f, tx_lir_block *b, int k, int width, int max_nodes);

#endif
