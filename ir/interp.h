/*
 * interp.h -- the reference evaluator: runs tensor IR with naive loops.
 *
 * It is the semantic oracle for every later pass (planner, fuser, JIT):
 * simple, obviously correct, never clever.  An interpreter keeps its
 * variables (tensors by name) and functions across runs, which is what the
 * REPL needs.  Before executing each statement it re-checks it with the
 * concrete shapes (tx_tir_infer_ranges / tx_tir_call_types), so shape
 * errors that the static checker could not prove (a loaded tensor) are
 * still reported as located compile errors (TX_ERROR, exit 1).  Failures
 * while running (assert, unreadable file, allocation too large, singular
 * matrix) are TX_RUNTIME_ERROR diagnostics (exit 3).
 */
#ifndef TX_INTERP_H
#define TX_INTERP_H

#include <stdio.h>

#include "ir/tir.h"
#include "txrt.h"

typedef struct tx_interp tx_interp;

/* out: where print writes (stdout in the driver, a memstream in tests). */
tx_interp *tx_interp_new(FILE *out);
void tx_interp_free(tx_interp *in);

/* Run the main unit of p (registering its functions first).  Returns 0 on
 * success, 1 after a compile-time error, 3 after a runtime error; the
 * diagnostic is in d.  Variables bound before the error stay bound. */
int tx_interp_run(tx_interp *in, const tx_tir_program *p, tx_diags *d);

/* Look up variables for the static checker (REPL: later statements are
 * checked against the values earlier ones produced). */
tx_lookup tx_interp_lookup(tx_interp *in);

/* The tensor bound to name (borrowed), or NULL. */
txrt_tensor *tx_interp_get(tx_interp *in, const char *name);
/* Bind name to t (takes a new reference). */
void tx_interp_set(tx_interp *in, const char *name, txrt_tensor *t);

/* Iterate over bound variables in name order: calls fn for each. */
void tx_interp_each(tx_interp *in, void (*fn)(void *ctx, const char *name, const txrt_tensor *t), void *ctx);

/* An execution backend for DEF statements (the LLVM JIT plugs in here).
 * The evaluator calls run_def for every ordinary DEF after range inference
 * (ellipsis already expanded, indices[k].lo/extent known), with `out`
 * allocated (zeroed) in the def's result dtype and shape.  For `+=` the
 * evaluator adds `out` into the target afterwards, so run_def always
 * computes the plain right-hand side.  get(getctx, name) returns the tensor
 * bound to a name (borrowed).  Return 0 when done, -1 to decline (the
 * evaluator then runs the def itself), or 1/3 after adding a diagnostic. */
typedef struct tx_def_backend {
    int (*run_def)(void *self, const tx_tir_stmt *def, txrt_tensor *out,
                   txrt_tensor *(*get)(void *getctx, const char *name), void *getctx,
                   tx_diags *d);
    void *self;
} tx_def_backend;

/* Install (or with NULL remove) a DEF backend. */
void tx_interp_set_backend(tx_interp *in, const tx_def_backend *b);

/* A DEF rewriter (the contraction planner plugs
 * in here, ir/plan.h).  The evaluator calls rewrite for every ordinary DEF
 * right after range inference and typing (ellipsis defs excluded;
 * indices[k].lo/extent known), before anything is allocated.  It may put
 * in *out / *nout statements allocated in `scratch` to run instead: DEFs
 * executed in order, without being rewritten again; the last one writes
 * def->out (with def->accumulate), the others write compiler temporaries
 * ("%..." names) that the evaluator drops once the list has run.  Return 0
 * to replace, -1 to run def as it is, or 1/3 after adding a diagnostic. */
typedef struct tx_def_rewriter {
    int (*rewrite)(void *self, const tx_tir_stmt *def, tx_arena *scratch,
                   tx_tir_stmt ***out, int *nout, tx_diags *d);
    void *self;
} tx_def_rewriter;

/* Install (or with NULL remove) a DEF rewriter. */
void tx_interp_set_rewriter(tx_interp *in, const tx_def_rewriter *rw);

/* The functions registered so far (persist across runs). */
const tx_tir_program *tx_interp_functions(tx_interp *in);

/* A group backend: runs several consecutive
 * statements as one unit (the fuser, ir/fuse.h, through the JIT).  Before
 * each DEF of a statement list the evaluator offers the stretch of
 * consecutive DEFs starting there (stmts[0..n), as written: ellipsis not
 * expanded, ranges not inferred).  The backend may run a prefix of it
 * itself: it binds what it computed through env->set and says how many
 * statements it ran in *nrun (0 = declined: the evaluator runs stmts[0]
 * itself and offers the stretch from the next statement).  A variable the
 * rest of the program cannot read (env->live false) need not be bound at
 * all.  Return 0, or 1/3 after adding a diagnostic. */
typedef struct tx_group_env {
    /* the tensor bound to name (borrowed), or NULL */
    txrt_tensor *(*get)(void *ctx, const char *name);
    /* bind name to t (takes a new reference); t NULL unbinds */
    void (*set)(void *ctx, const char *name, txrt_tensor *t);
    /* whether name may be read after the stretch stmts[0..n) (later
     * statements, the next iteration of an enclosing loop, a function's
     * results, later REPL units unless the unit is a whole script) */
    bool (*live)(void *ctx, const char *name);
    void *ctx;
} tx_group_env;

/* What is left of the statement after the ones a group ran, when the
 * group also computed part of it (ir/fuse.h, tx_fuse_plan): `stmt` runs in
 * place of stmts[nrun], reading `temp`, which is unbound afterwards; the
 * evaluator frees `arena`, which holds stmt. */
typedef struct tx_group_rest {
    tx_tir_stmt *stmt;
    const char *temp;
    tx_arena *arena;
} tx_group_rest;

typedef struct tx_group_backend {
    int (*run_group)(void *self, tx_tir_stmt *const *stmts, int n, const tx_group_env *env,
                     int *nrun, tx_group_rest *rest, tx_diags *d);
    void *self;
} tx_group_backend;

/* Install (or with NULL remove) a group backend. */
void tx_interp_set_group_backend(tx_interp *in, const tx_group_backend *g);

/* Declare that the unit run next is a whole
 * program (txc run): the variables it leaves bound are not read by anyone
 * after the run, so the group backend may leave dead ones unmaterialised.
 * Off by default (the REPL reads them in later units). */
void tx_interp_set_script(tx_interp *in, bool script);

/* With tx_interp_set_script: the unit run next is part of a program whose
 * remaining statements are stmts[0..n) (borrowed until reset), and with
 * `again` the unit itself runs once more before them (`txc run --repeat`
 * runs a script's body N times, then its trailing saves and asserts).
 * Variables they read stay live.  NULL resets to "nothing follows". */
void tx_interp_set_after(tx_interp *in, tx_tir_stmt *const *stmts, int n, bool again);

/* Pairs of consecutive factorizations (eigh, svd, qr, cholesky of small
 * matrices) that ran side by side on two threads so far. */
int tx_interp_side_by_side(const tx_interp *in);

#endif
