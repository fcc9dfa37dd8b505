/*
 * fuse.h -- the fuser: one loop-IR kernel for a group of consecutive DEFs.
 *
 * The evaluator offers a straight-line stretch of tensor definitions (its
 * group hook, ir/interp.h) with the concrete shapes of everything they read.
 * tx_fuse_plan decides how much of the stretch's beginning forms one group
 * and what each statement of the group becomes:
 *
 *   INLINE  dead after the group and cheap (no reduction, no transcendental
 *           function), or expensive but evaluated exactly once per element
 *           where it is used: its right-hand side is substituted into every
 *           use and the tensor is never stored (triple-wise attention's
 *           n^3 tensor A);
 *   ROW     dead after the group but read by later statements of the group
 *           within the same "row" (the output indices the group's
 *           statements share as outermost loops): stored in a row-sized
 *           scratch buffer reused for every row (softmax's row maximum);
 *   STORED  read after the group (liveness over the rest of the unit): a
 *           real output of the kernel, bound when the group has run;
 *   DEAD    written and never read: not computed at all.
 *
 * A statement whose right-hand side is f(sum[J](body)) (one reduction at
 * the top, after moving factors that do not depend on J out of the sum)
 * can be lowered "reduction-major": the reduction loops J outside its own
 * output loops R, with a row of accumulators indexed by R.  Consecutive
 * such statements over the same J are siblings and share one pass over J
 * (attention's D[i] and O[i,b] in one pass over (j,k)).  Inside the kernel
 * every reduction and every use of an inlined expensive value is computed
 * at the outermost loop level where all its indices are bound, once
 * (common subexpressions of the group are shared), so a reduction nested
 * in a non-linear function (logsumexp's max, repeated) costs one pass.
 *
 * What stays out of groups: `+=`, `X = Y`, statements that fail to type
 * (the evaluator reports them), and plain sums of products that the
 * contraction planner turns into BLAS calls -- unless one of their factors
 * is an expensive inlined tensor much larger than anything the group reads
 * (then never materialising it is what matters).  The order is therefore
 * "fuse first, plan what remains": statements outside groups go through
 * the planner (tx_def_rewriter) as before.
 *
 * Everything here is pure IR work (no LLVM): the JIT (codegen/jit.c)
 * compiles the kernel, allocates buffers and binds the outputs.
 */
#ifndef TX_FUSE_H
#define TX_FUSE_H

#include <stdbool.h>

#include "frontend/arena.h"
#include "ir/lir.h"
#include "ir/tir.h"

typedef enum { TX_FUSE_INLINE, TX_FUSE_ROW, TX_FUSE_STORED, TX_FUSE_DEAD } tx_fuse_role;

/* What a kernel buffer is bound to. */
typedef enum {
    TX_FUSE_BUF_INPUT,    /* a tensor of the environment (name) */
    TX_FUSE_BUF_OUTPUT,   /* a STORED statement's result: allocate, bind to name afterwards */
    TX_FUSE_BUF_SCRATCH,  /* row storage and accumulators: allocate, drop afterwards */
} tx_fuse_buf_kind;

typedef struct tx_fuse_group {
    int nstmts;                 /* the group's statements (role, reduction_major) */
    int ntaken;                 /* the stretch's statements it runs whole: stmts[0..ntaken) */
    /* Set when the group also computed a reduction split off stmts[ntaken]
     * (see tx_fuse_plan): that statement rewritten to read the result,
     * bound to rest_temp, instead of computing it (in split->stmts). */
    tx_tir_stmt *rest;
    const char *rest_temp;
    tx_fuse_role *role;         /* per statement of the group */
    bool *reduction_major;      /* per statement: lowered with J outside R */
    int nrows;                  /* shared outermost output indices */
    int nmerged;                /* statements that share a sibling's pass over J */
    int ncse;                   /* reductions/values found already computed */
    tx_lir_func *kernel;
    tx_fuse_buf_kind *buf_kind; /* per kernel buffer */
    const char **buf_var;       /* per kernel buffer: the variable (NULL for scratch) */
    const char **unbind;        /* variables the group defines but does not store */
    int nunbind;
} tx_fuse_group;

/* Liveness oracle: may `name` be read after the stretch? */
typedef bool (*tx_fuse_live_fn)(void *ctx, const char *name);

/* Where tx_fuse_plan may put a split statement (see there): `stmts` holds
 * the rest statement until it has run; `intern` returns a copy of a name
 * that lives as long as the caller's plans may (the run-time planner's
 * cache keeps the names of the statements it planned). */
typedef struct tx_fuse_split {
    tx_arena *stmts;
    const char *(*intern)(void *ctx, const char *name);
    void *ctx;
} tx_fuse_split;

/* Plan and lower a group at the start of stmts[0..n) (DEFs as written).
 * lk gives the types of the tensors the stretch reads from the
 * environment.  Returns NULL (with a reason in *why, arena text) when no
 * group worth fusing starts at stmts[0]; the caller runs stmts[0] as
 * usual then.  The kernel is verified (tx_lir_verify).
 *
 * With `split`, a statement that ends the group may be split: in
 * O[i,b] = sum[j](E[i,j]*V[j,b] / sum[k](E[i,k])) the inner sum does not
 * change with j or b, and it is a row reduction of E, which the group
 * computing E can do in the same pass, while the product stays the
 * planner's.  The statement becomes %O.h[i] = sum[k](E[i,k]) and
 * O[i,b] = sum[j](E[i,j]*V[j,b] / %O.h[i]); when the group then takes the
 * first part, the second is returned in `rest` (allocated in
 * split->stmts) for the caller to run in place of stmts[ntaken].  Only when the parts' index
 * ranges, inferred on their own, are the statement's, and the split-off
 * value is double precision (f64, c128: stored as it was computed), so
 * values and diagnostics are the unsplit statement's. */
tx_fuse_group *tx_fuse_plan(tx_arena *a, const tx_fuse_split *split, tx_tir_stmt *const *stmts, int n,
                            const tx_lookup *lk, tx_fuse_live_fn live, void *livectx, const char **why);

const char *tx_fuse_role_name(tx_fuse_role r);   /* "inline", "row", "stored", "dead" */

#endif
