/*
 * lir_lanes.h -- statements that are the lanes of one vector operation.
 *
 * Unroll-and-jam (ir/lir_jam.c, the register tiles of ir/lir_sched.c)
 * leaves copies of a statement side by side in one block, each for the
 * next value of the jammed loop variable:
 *
 *     acc17 += X[4096*c + 16*i + k]     * W[288*o + 9*c + k]
 *     acc21 += X[4096*c + 16*i + k + 1] * W[288*o + 9*c + k]
 *     ...
 *     Y[4088*o + 16*i]     = acc17
 *     Y[4088*o + 16*i + 1] = acc21
 *
 * Read across the copies, every load either stays put or moves by one
 * element, and the stores move by one: `width` such copies are one vector
 * operation (a vector load, a broadcast, a vector FMA into a vector of
 * accumulators, a vector store).  LLVM's SLP vectoriser is meant to find
 * this, but on tiles of several rows it packs the wrong dimension (gathers
 * and permutes across rows); tx_lir_lanes_find finds the lanes from the
 * LIR itself, and code generation emits them as vectors.
 *
 * A group is `width` statements of one block, of one kind (ACCUM or
 * STORE), whose values are the same tree of real (f32/f64) loads,
 * constants, accumulator reads, + - * /, max, min, neg, sqrt and abs, with
 * the constant part of each load's offset stepping by 0 or 1 per lane and
 * everything else equal.  An ACCUM group accumulates into `width` distinct
 * accumulators with one reduction; those become an accumulator group
 * (lane t = the t-th statement's accumulator), which code generation keeps
 * in one vector.  A STORE group stores at offsets stepping by 1; its
 * values may read an accumulator group lane by lane.  The group is emitted
 * where its last member stood, which is checked to change nothing: no
 * statement in between reads or writes what an earlier member writes, or
 * writes what it reads.  Statements that form no group stay scalar.
 */
#ifndef TX_LIR_LANES_H
#define TX_LIR_LANES_H

#include "ir/lir.h"

typedef struct tx_lir_lanes tx_lir_lanes;

/* The groups in f for vectors of vec_bytes bytes: a group of f64 values
 * has vec_bytes / 8 lanes, one of f32 values vec_bytes / 4 (vec_bytes
 * below 16 and size-generic kernels: no groups).  NULL only when out of
 * memory. */
tx_lir_lanes *tx_lir_lanes_find(const tx_lir_func *f, int vec_bytes);
void tx_lir_lanes_free(tx_lir_lanes *L);

int tx_lir_lanes_count(const tx_lir_lanes *L);       /* groups of statements */

/* Accumulator acc's group (-1: none), its lane there and the group's
 * number of lanes. */
int tx_lir_lanes_acc_group(const tx_lir_lanes *L, int acc, int *lane, int *width);

/* Statement s's role: NULL when it is emitted as it is (no group) or when
 * it is a member emitted with its group (*skip set); otherwise the group's
 * *width statements in lane order, to be emitted in place of s. */
const tx_lir_stmt *const *tx_lir_lanes_at(const tx_lir_lanes *L, const tx_lir_stmt *s, int *width, bool *skip);

#endif
