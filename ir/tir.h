/*
 * tir.h -- the tensor IR.
 *
 * A program is a list of functions (each `def`) and a main unit (the
 * script's top-level statements).  A unit is an ordered list of statements;
 * the one that matters is TX_TIR_DEF, a tensor defined in index notation:
 *
 *     out[i0, i1, ...] (= | +=) rhs
 *
 * where rhs is an expression tree over accesses with affine subscripts,
 * constants, index values, elementwise operators and reductions.  Implicit
 * summation is already explicit: lowering wraps the right-hand side in a
 * Reduce(sum) over the indices that appear on the right but not on the left,
 * so nothing downstream re-derives it.  Every index occurrence that binds a
 * new variable (an output index, or an index bound by a reduction) gets its
 * own id in the def's index table; `sum[j]` nested inside an outer implicit
 * sum over `j` binds a *different* id with the same name.
 *
 * Whole-tensor elementwise statements (C = A + 2*B, B = exp(A)) lower to a
 * def with `ellipsis` set: its accesses have `whole` set and no subscripts,
 * and the statement ranges over the common shape of its operands.  Because
 * the rank of a loaded tensor is unknown until run time, the ellipsis is
 * expanded into ordinary indices only when shapes are known
 * (tx_tir_expand_ellipsis in ir/check.c).
 *
 * Names: variables are referred to by name.  Compiler temporaries are named
 * "%1", "%2", ... (never a valid identifier).  Scalars are rank-0 tensors.
 * All nodes live in the program's arena.
 */
#ifndef TX_TIR_H
#define TX_TIR_H

#include <stdbool.h>
#include <stdint.h>

#include "frontend/arena.h"
#include "frontend/ast.h"
#include "frontend/diag.h"
#include "txrt.h"

/* Elementwise operators, unary and binary.  ORDER: tx_tir_op_name(). */
typedef enum {
    /* binary */
    TX_TOP_ADD, TX_TOP_SUB, TX_TOP_MUL, TX_TOP_DIV, TX_TOP_POW,
    TX_TOP_LT, TX_TOP_LE, TX_TOP_GT, TX_TOP_GE, TX_TOP_EQ, TX_TOP_NE,
    TX_TOP_MAX2, TX_TOP_MIN2,          /* max(a,b), min(a,b) */
    /* unary */
    TX_TOP_NEG, TX_TOP_EXP, TX_TOP_LOG, TX_TOP_SQRT, TX_TOP_ABS,
    TX_TOP_SIN, TX_TOP_COS, TX_TOP_TAN, TX_TOP_TANH, TX_TOP_SIGMOID,
    TX_TOP_RELU, TX_TOP_SIGN, TX_TOP_FLOOR, TX_TOP_CEIL,
    TX_TOP_CONJ, TX_TOP_REAL, TX_TOP_IMAG,
    TX_TOP__COUNT
} tx_tir_op;

bool tx_tir_op_is_binary(tx_tir_op op);
const char *tx_tir_op_name(tx_tir_op op);          /* "+", "exp", "max", ... */

typedef enum {
    TX_TIR_CONST,   /* re + im*1j; `is_complex` when written with j */
    TX_TIR_INDEX,   /* the integer value of index `index` (as f64) */
    TX_TIR_ACCESS,  /* var[subs...]; whole: the entire tensor (ellipsis defs, call args) */
    TX_TIR_UNARY,   /* op a */
    TX_TIR_BINARY,  /* a op b */
    TX_TIR_WHERE,   /* where(a, b, c): b where a != 0 else c */
    TX_TIR_REDUCE,  /* redop over idx[0..nidx) of a */
    TX_TIR_STRING,  /* a string literal (only as a call argument) */
} tx_tir_expr_kind;

/* An affine subscript: c0 + sum_k coef[k] * index(idx[k]). */
typedef struct tx_tir_affine {
    int nterms;
    int *idx;        /* index ids of the enclosing def */
    int64_t *coef;   /* non-zero integer coefficients */
    int64_t c0;
    tx_span span;
} tx_tir_affine;

typedef struct tx_tir_expr tx_tir_expr;
struct tx_tir_expr {
    tx_tir_expr_kind kind;
    tx_span span;
    double re, im;              /* CONST */
    bool is_complex;            /* CONST */
    int index;                  /* INDEX: id */
    const char *var;            /* ACCESS */
    tx_tir_affine *subs;        /* ACCESS: one per axis */
    int nsubs;
    bool whole;                 /* ACCESS: the whole tensor, no subscripts */
    bool let_const;             /* ACCESS: a let whose value is known when lowering
                                   (in re); kernels may use the number instead of
                                   loading the rank-0 tensor (lets never change) */
    tx_tir_op op;               /* UNARY, BINARY */
    tx_redop redop;             /* REDUCE */
    int *idx;                   /* REDUCE: bound index ids */
    int nidx;
    tx_tir_expr *a, *b, *c;     /* operands */
    const char *str;            /* STRING (decoded) */
    int str_len;
};

/* A deep copy of e (in a) with every index id x replaced by map[x] (map
 * NULL: the same ids): accesses' subscripts, index values, reductions'
 * bound indices. */
tx_tir_expr *tx_tir_clone_map(tx_arena *a, const tx_tir_expr *e, const int *map);

/* A new access var[ids[0], ..., ids[n-1]] with plain subscripts (the whole
 * variable when n is 0), in a. */
tx_tir_expr *tx_tir_access(tx_arena *a, const char *var, const int *ids, int n, tx_span sp);

/* A copy of e (in a) with the node `from` replaced by `to`; the nodes not
 * on the path to `from` are shared with e. */
tx_tir_expr *tx_tir_replace(tx_arena *a, const tx_tir_expr *e, const tx_tir_expr *from, tx_tir_expr *to);

/* An index variable of a def. */
typedef struct tx_tir_index {
    const char *name;
    tx_span span;               /* first occurrence */
    tx_tir_expr *declared;      /* size from an `index i : n` declaration (rank-0 expr), or NULL */
    tx_span declared_span;
    /* Filled by tx_tir_infer_ranges: values lo, lo+1, ..., lo+extent-1; extent -1 = unknown. */
    int64_t lo, extent;
} tx_tir_index;

typedef enum {
    TX_TIR_DEF,     /* out[out_idx] (= | +=) rhs */
    TX_TIR_CALL,    /* results = builtin or function (args, kwargs) */
    TX_TIR_FOR,     /* for var in lo..hi { body } */
    TX_TIR_PRINT,   /* print items */
    TX_TIR_ASSERT,  /* assert cond (a rank-0 variable), message */
    TX_TIR_RETURN,  /* in a function: leave the body (results already assigned) */
} tx_tir_stmt_kind;

typedef struct tx_tir_kwarg {
    const char *name;
    tx_span span;
    tx_tir_expr *value;
} tx_tir_kwarg;

typedef struct tx_tir_func tx_tir_func;

typedef struct tx_tir_stmt tx_tir_stmt;
struct tx_tir_stmt {
    tx_tir_stmt_kind kind;
    tx_span span;               /* the source statement this came from */
    /* DEF */
    const char *out;
    tx_span out_span;
    int *out_idx;               /* index ids, one per output axis */
    int nout;
    bool accumulate;            /* += */
    bool ellipsis;              /* whole-tensor elementwise def (see top of file) */
    bool is_let;                /* defined by `let` (a named constant) */
    tx_tir_expr *rhs;
    tx_tir_index *indices;      /* the def's index table */
    int nindices;
    /* CALL: exactly one of builtin / func is set */
    const char **results;       /* variables bound (0 for save) */
    tx_span *result_spans;
    int nresults;
    int builtin;                /* tx_builtin id (frontend/builtins.h), -1 if func */
    const char *callee;         /* user function name */
    tx_tir_func *func;          /* resolved user function */
    tx_tir_expr **args;         /* positional: whole ACCESS, rank-0 exprs, or STRING */
    int nargs;
    tx_tir_kwarg *kwargs;
    int nkwargs;
    /* FOR */
    const char *var;
    tx_tir_expr *lo, *hi;       /* rank-0 exprs */
    tx_tir_stmt **body;
    int nbody;
    /* PRINT: each item is a STRING expr or a whole ACCESS; ASSERT: args[0] is
     * the condition (whole ACCESS of a rank-0 var), message in msg */
    tx_tir_expr **items;
    int nitems;
    const char *msg;            /* ASSERT message or NULL */
    /* Set by tx_tir_expand_ellipsis on the def it returns: the ellipsis def
     * it was expanded from (NULL otherwise).  tx_tir_infer_ranges uses it
     * to report operand shape mismatches in whole-tensor terms and to turn
     * the generated subscripts of rank-0 operands back into scalars. */
    const tx_tir_stmt *expanded_from;
};

/* A def parameter/result: name, dims (size name or literal), dtype (-1 = any). */
typedef struct tx_tir_param {
    const char *name;
    tx_span span;
    tx_ast_dim *dims;
    int ndims;
    int dtype;                  /* txrt_dtype, or -1 when not annotated */
} tx_tir_param;

struct tx_tir_func {
    const char *name;
    tx_span span;
    tx_tir_param *params;
    int nparams;
    tx_tir_param *results;
    int nresults;
    const char **sizes;         /* every size name of the signature, bound per call */
    int nsizes;
    tx_tir_stmt **body;
    int nbody;
};

typedef struct tx_tir_program {
    const tx_source *src;
    tx_tir_func **funcs;
    int nfuncs;
    tx_tir_stmt **stmts;        /* the main unit */
    int nstmts;
    int ntemps;                 /* temporaries %1..%ntemps used so far */
} tx_tir_program;

/* ir/lower.c: AST (already checked by tx_sema) -> TIR.  `prev` carries the
 * functions of earlier REPL statements (may be NULL).  Errors that only the
 * lowering can see go to d. */
tx_tir_program *tx_lower(tx_arena *a, const tx_ast_program *ast,
                         const tx_tir_program *prev, tx_diags *d);

struct tx_lookup;
/* tx_lower for a REPL unit: `globals` (may be
 * NULL) answers for names bound by earlier units, so that their known
 * rank-0 values fold into constant subscripts (`let n = 5`, then
 * `r[j] = A[n-1, j]` in a later unit).  tx_lower(...) is
 * tx_lower_with(..., NULL, d). */
tx_tir_program *tx_lower_with(tx_arena *a, const tx_ast_program *ast, const tx_tir_program *prev,
                              const struct tx_lookup *globals, tx_diags *d);

/* ir/tir_print.c: readable text, one statement per line (txc emit --tir). */
void tx_tir_print(FILE *f, const tx_tir_program *p);
const char *tx_tir_stmt_str(tx_arena *a, const tx_tir_stmt *s, const tx_tir_func *fn);
const char *tx_tir_expr_str(tx_arena *a, const tx_tir_expr *e, const tx_tir_stmt *def);

/* ---- shapes and types (ir/check.c) ------------------------------------ */

/* A possibly partly known type: dtype -1, rank -1, or dims[k] -1 = unknown. */
typedef struct tx_type {
    int dtype;
    int rank;
    int64_t dims[TXRT_MAX_RANK];
} tx_type;

/* What the checker knows about a variable. */
typedef struct tx_varinfo {
    tx_type type;
    bool known;                 /* rank-0 with a value known at compile time */
    double value;               /* ... its real part */
    const int *symdim;          /* NULL, or per axis the run-time size (symbol id) that
                                   is its extent, -1 where the extent is type.dims[k]
                                   (size-generic txc build; see ir/lir.h) */
} tx_varinfo;

/* How a pass looks variables up: returns false when the name is unbound. */
typedef struct tx_lookup {
    bool (*get)(void *self, const char *var, tx_varinfo *out);
    void *self;
} tx_lookup;

/* Compute the range of every index of a DEF (non-ellipsis) from the shapes
 * of the tensors it accesses, declared index sizes and the "valid" rule for
 * affine subscripts.  Writes indices[k].lo/extent.  A conflict (two sizes
 * for one index, an out-of-bounds constant subscript, wrong rank) is a
 * diagnostic naming the index, both sizes and both tensors; returns false
 * then.  Unknown shapes leave ranges unknown (-1) without error. */
bool tx_tir_infer_ranges(tx_tir_stmt *def, const tx_lookup *lk, tx_diags *d);

/* The result type of a DEF after tx_tir_infer_ranges (dtype by promotion). */
bool tx_tir_def_type(const tx_tir_stmt *def, const tx_lookup *lk, tx_type *out, tx_diags *d);

/* Expand an ellipsis DEF into an ordinary one of rank `rank` (fresh indices
 * named i0, i1, ...); rank-0 whole accesses stay scalars. */
tx_tir_stmt *tx_tir_expand_ellipsis(tx_arena *a, const tx_tir_stmt *def, int rank);

/* The same with the operands' types at hand: checks that the operands'
 * shapes agree (a diagnostic otherwise), picks the rank, and gives every
 * whole access the subscripts its own rank needs (rank-0 operands stay
 * scalars).  Returns NULL after a shape error (diagnostic in d) or when
 * the rank is not known yet (no diagnostic). */
tx_tir_stmt *tx_tir_expand_ellipsis_lk(tx_arena *a, const tx_tir_stmt *def,
                                       const tx_lookup *lk, tx_diags *d);

/* Type a CALL: result types from argument types and known values, by the
 * builtin's rule or the function's signature.  Returns false with a
 * diagnostic on arity, dtype, shape or value errors. */
bool tx_tir_call_types(const tx_tir_stmt *call, const tx_lookup *lk,
                       tx_type *results, tx_diags *d);

/* Static check of a whole program: walks the main unit and every function
 * body with partially known types (constant lets are folded; loaded
 * tensors are unknown), reporting every error it can prove. */
bool tx_tir_check(const tx_tir_program *p, const tx_lookup *globals, tx_diags *d);

#endif
