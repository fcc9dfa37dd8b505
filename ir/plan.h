/*
 * plan.h -- the contraction planner.
 *
 * Every product of factors under a sum (implicit or explicit) in a DEF is
 * split into a sequence of pairwise contractions, each a new DEF writing a
 * compiler temporary, the last one writing the original output.  The order
 * is the exact optimum (dynamic programming over subsets of factors, up to
 * 16 factors; beyond that greedy improved by random restarts and by exact
 * re-optimisation of subtrees) under the cost "multiply-adds": a pairwise
 * step costs the product of the extents of every index it involves.  Ties
 * go to the smaller largest intermediate.  An optional cap on the size of
 * intermediates is a hard limit the search respects; there is no hidden
 * default cap.
 *
 * Before the search:
 *  - nested sums of products are flattened (sum[a](Q*K) * V is one product);
 *  - factors that do not depend on a summed index (constants, scalars,
 *    1/D[i] when i is not summed) move out of the sum: the last step
 *    applies them once per output element;
 *  - Kronecker deltas (i == j) with a summed side are eliminated by
 *    substituting one index for the other where the ranges allow it;
 *  - an index that only one factor uses is summed out of that factor first;
 *  - non-linear subexpressions are leaves (opaque factors); reductions
 *    inside them are planned on their own, and a reduction that depends on
 *    fewer indices than the loops around it is computed once into a
 *    temporary (softmax's sum[j](S[i,j]) is not recomputed for every b).
 * After it, identical steps (the same factors with the same index pattern
 * up to renaming) inside one statement, and across statements of one unit
 * when planned with a shared memo, are computed once.
 *
 * The output is ordinary TIR that the reference evaluator runs, so planned
 * programs are diff-tested against unplanned ones.  Every index of a
 * generated DEF carries its size as a declaration (`index i : 400`), so its
 * range never depends on inference across the split.  Planning needs
 * concrete extents: statically from the checker (tx_tir_check leaves the
 * ranges it could infer in each DEF's index table), or at run time through
 * the evaluator's DEF rewriter hook (tx_plan_rewriter).
 *
 * Each step records whether it is GEMM-shaped (a batched matrix product
 * after permuting indices) and which index plays which role, for the BLAS
 * dispatch; tx_plan_classify gives the same answer for any DEF of the form
 * out[...] = sum[K](A[...] * B[...]).
 */
#ifndef TX_PLAN_H
#define TX_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ir/interp.h"
#include "ir/tir.h"

/* ---- options ----------------------------------------------------------------- */

typedef struct tx_plan_opts {
    double max_intermediate;  /* largest temporary allowed, in elements; 0 = no cap */
    int dp_max;               /* exact search up to this many factors (default 16, at most 20) */
    double budget_ms;         /* time for the search beyond dp_max (default 40 ms) */
    uint64_t seed;            /* random restarts of the greedy search */
    double step_ns;           /* the fixed cost, in ns, of one more
                               * loop-nest step (a kernel to compile and launch, a temporary)
                               * when planned and naive are compared; default 2 ms, 0 = none */
} tx_plan_opts;

void tx_plan_opts_default(tx_plan_opts *o);

/* ---- the order search on an abstract network ---------------------------------
 * Terms are lists of index numbers 0..nidx-1 (an index may repeat inside a
 * term; it counts once).  The result is a list of pairwise steps: operand
 * numbers 0..nterms-1 are the terms, nterms+s is the result of step s.  An
 * index used by one term only and not in the output is summed out of that
 * term before any step (cost: the term's size).  A step's result keeps the
 * indices that a later step or the output still needs. */

typedef struct tx_plan_net {
    int nterms;
    const int *const *terms;  /* terms[t][0..term_len[t]) */
    const int *term_len;
    int nidx;
    const double *extent;     /* per index number */
    const int *out;           /* output indices */
    int nout;
} tx_plan_net;

typedef struct tx_plan_path {
    int nsteps;               /* nterms - 1 (0 for a single term) */
    int (*pair)[2];           /* allocated in the arena given to tx_plan_search */
    double cost;              /* multiply-adds, pre-reductions included */
    double largest;           /* largest intermediate in elements (not the output) */
    bool exact;               /* found by the exact search */
    bool fits;                /* false: no order keeps intermediates within the cap */
} tx_plan_path;

/* Find the order.  Returns false when the network cannot be searched (more
 * than 64 terms or 128 indices); out->fits is false when no order fits the
 * cap (then out holds no steps). */
bool tx_plan_search(tx_arena *a, const tx_plan_net *net, const tx_plan_opts *o, tx_plan_path *out);

/* The cost of any order (same rules as the search); *largest gets its
 * largest intermediate when not NULL. */
double tx_plan_path_cost(const tx_plan_net *net, const int (*pair)[2], int nsteps, double *largest);

/* ---- pairwise contractions and their BLAS shape ------------------------------- */

typedef enum {
    TX_PLAN_GEMM,      /* contracted indices, free indices on both sides */
    TX_PLAN_GEMV,      /* contracted indices, free indices on one side */
    TX_PLAN_DOT,       /* contracted indices only (and batch) */
    TX_PLAN_OUTER,     /* free indices, nothing contracted */
    TX_PLAN_HADAMARD,  /* batch indices only */
    TX_PLAN_LOOP,      /* anything else: not a product of two plain tensors */
} tx_plan_kind;

const char *tx_plan_kind_name(tx_plan_kind k);   /* "gemm", "gemv", ... */

/* The role of each index in a pairwise contraction out[O] = sum[K](A * B):
 * batch in A, B and out; contract in A and B only; left in A and out;
 * right in B and out.  Ids are the DEF's index ids. */
typedef struct tx_plan_gemm {
    tx_plan_kind kind;
    bool blas;                /* the BLAS dispatch takes it (tx_blas_eligible, ir/blas.h: gemm or
                               * gemv shape, layout and copies, the crossover; operands of one
                               * dtype assumed, which only the run checks) */
    const char *a, *b;        /* the operands' variables (NULL for LOOP) */
    int batch[TXRT_MAX_RANK], nbatch;
    int contract[TXRT_MAX_RANK], ncontract;
    int left[TXRT_MAX_RANK], nleft;
    int right[TXRT_MAX_RANK], nright;
} tx_plan_gemm;

/* Classify a DEF: out[O] = [sum[K]](A[..] * B[..]) where A and B are
 * accesses with distinct plain index subscripts; anything else is LOOP.
 * A trailing multiplication or division by rank-0 values or constants is
 * allowed (a BLAS alpha). */
void tx_plan_classify(const tx_tir_stmt *def, tx_plan_gemm *g);

/* ---- plans of statements ------------------------------------------------------ */

typedef enum {
    TX_PLAN_NONE,        /* no product under a sum: nothing to plan */
    TX_PLAN_REWRITTEN,   /* replaced by the statements in `stmts` */
    TX_PLAN_AS_IS,       /* already a single pairwise step (or one factor): runs as written */
    TX_PLAN_NO_GAIN,     /* the best order is not cheaper than the loop nest: runs as written */
    TX_PLAN_CAPPED,      /* no order keeps temporaries within --max-intermediate */
    TX_PLAN_UNKNOWN,     /* sizes unknown until run time */
    TX_PLAN_UNSUPPORTED, /* see `reason` */
} tx_plan_status;

/* One step of a contraction, as shown by txc plan. */
typedef struct tx_plan_step {
    int left, right;          /* < nfactors: a factor; else step (k - nfactors) */
    const char *einsum;       /* "ij,jk->ik" in the contraction's index names */
    const char *result;       /* "%p1[i,k]" or the output "C[i,k]" */
    double madds;             /* product of the extents of every index involved */
    double size;              /* elements of the result */
    bool reused;              /* an identical earlier step's temporary (costs nothing) */
    bool final;               /* writes the statement's output */
    tx_plan_gemm gemm;        /* ids are the generated DEF's */
    const char *roles;        /* "batch b, contract k, left i, right j" */
} tx_plan_step;

/* One sum of products: the statement's right-hand side, or a reduction
 * inside it that is planned on its own. */
typedef struct tx_plan_contraction {
    const char *what;         /* "O[i,b]" or "inside exp(...)", "sum[j](S[i,j]) once per i" */
    const char *einsum;       /* the whole network, "ijk,jb,kb,i->ib" */
    const char *sizes;        /* "i=256 j=256 k=256 b=16" */
    int nfactors;
    const char **factors;     /* texts: "A[i,j,k]", "1/D[i]" */
    const char **fnames;      /* short names for the tree: "A", "1/D" */
    int nsteps;
    tx_plan_step *steps;
    const char *tree;         /* "((A V1) V2)" */
    const char *hoisted;      /* factors applied once per output element ("/ D[i] * 0.5"), or NULL */
    const char *notes;        /* pre-reductions, deltas eliminated, ... (or NULL) */
    bool exact;
    bool once;                /* a reduction computed once into a temporary because it
                               * depends on fewer indices than the loops around it */
    double madds;             /* sum over steps (pre-reductions included) */
} tx_plan_contraction;

typedef struct tx_plan_stmt {
    const tx_tir_stmt *def;   /* the original statement */
    const char *text;         /* its TIR text */
    tx_span span;
    tx_plan_status status;
    const char *reason;       /* UNSUPPORTED / NO_GAIN / CAPPED explanation, or NULL */
    int ncontr;
    tx_plan_contraction *contr;
    tx_tir_stmt **stmts;      /* REWRITTEN: the replacement, in order */
    int nstmts;
    double naive_flops;       /* the original loop nest (numpy einsum's flop convention) */
    double planned_flops;     /* the replacement's loop nests */
    double largest;           /* largest temporary (elements) */
    double naive_ns, planned_ns; /* estimated run times that decide
                               * REWRITTEN: BLAS steps at BLAS speed, loops at loop speed
                               * plus tx_plan_opts.step_ns each (0 when not compared) */
    bool runtime;             /* planned when the statement ran */
} tx_plan_stmt;

/* A memo of temporaries computed so far in one unit, for reuse across
 * statements (common subexpressions).  Opaque; NULL means no sharing. */
typedef struct tx_plan_memo tx_plan_memo;
tx_plan_memo *tx_plan_memo_new(tx_arena *a);
/* Forget every temporary that reads `var` (the unit assigned it). */
void tx_plan_memo_kill(tx_plan_memo *m, const char *var);

/* Plan one DEF whose index table holds concrete ranges (extent -1: unknown).
 * New temporaries are named prefix1, prefix2, ... counting on *counter.
 * Everything lives in a.  Never fails: the status says what happened. */
tx_plan_stmt *tx_plan_def(tx_arena *a, const tx_tir_stmt *def, const tx_plan_opts *o, tx_plan_memo *memo,
                          const char *prefix, int *counter);

/* Plans of a whole program, in statement order. */
typedef struct tx_plan_report {
    tx_plan_stmt **v;
    int n, cap;
    const tx_source *src;
} tx_plan_report;

/* Plan every DEF of p (main unit and function bodies, loops included)
 * with the sizes tx_tir_check left in the index tables, and replace each
 * rewritten DEF by its steps (temporaries "%p1", "%p2", ...).  Statements
 * that are not planned stay as they are: the run-time rewriter sees them
 * again with concrete sizes.  rep (may be NULL) gets every statement that
 * holds a contraction. */
void tx_plan_program(tx_arena *a, tx_tir_program *p, const tx_plan_opts *o, tx_plan_report *rep);

/* ---- planning at run time -------------------------------------------------------- */

/* The evaluator's DEF rewriter (tx_interp_set_rewriter): plans each DEF
 * with the sizes it has when it runs (temporaries "%r1", ... dropped after
 * the statement).  show (may be NULL): print each plan there the first time
 * its statement runs (txc run --plan). */
typedef struct tx_plan_runtime tx_plan_runtime;
tx_plan_runtime *tx_plan_runtime_new(const tx_plan_opts *o, FILE *show, const tx_source *src);
/* Drop the plans kept for statements run before (they point into the
 * program that was running; call before that program is freed). */
void tx_plan_runtime_forget(tx_plan_runtime *rt);
void tx_plan_runtime_free(tx_plan_runtime *rt);
tx_def_rewriter tx_plan_rewriter(tx_plan_runtime *rt);
/* Statements planned at run time so far (and DEFs seen). */
int tx_plan_runtime_count(const tx_plan_runtime *rt);
/* How many of those were plans kept from an earlier run of the statement. */
int tx_plan_runtime_hits(const tx_plan_runtime *rt);

/* ---- printing (ir/plan_print.c) ---------------------------------------------------- */

/* Readable text of one statement's plan ("txc plan"). */
void tx_plan_print_stmt(FILE *f, const tx_plan_stmt *ps, const tx_source *src);
/* All statements, then totals. */
void tx_plan_print(FILE *f, const tx_plan_report *rep);
/* Graphviz: one cluster per planned statement, the contraction trees. */
void tx_plan_print_dot(FILE *f, const tx_plan_report *rep);

#endif
