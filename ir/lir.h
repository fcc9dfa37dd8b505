/*
 * lir.h -- the loop IR: what tensor definitions become before code generation.
 *
 * A LIR function is a kernel over buffers: dense row-major tensors whose
 * dtype, shape and strides are constants, because JIT code is specialised on
 * the concrete shapes of each call.  (The one exception is size-generic
 * AOT code, `txc build` without --shape: extents, strides and sizes may
 * carry products of run-time sizes -- see tx_lir_mono below.)  Buffer 0 is the output; the others are
 * the tensors the definition reads, in the order they first appear.  (A
 * fused kernel, ir/fuse.h, has several output buffers -- results and
 * scratch rows, all marked `output` -- and may load what it stored
 * earlier in the same kernel; its caller binds buffers by its own table.)
 * The body is a tree of statements:
 *
 *     LOOP      for v in lo .. lo+extent { body }   (constant bounds)
 *     ACC_INIT  acc = identity of its reduction     (0, 1, -inf, +inf)
 *     ACCUM     acc = acc (+ | * | max | min) value
 *     STORE     buf[offset] = value
 *
 * Values are pure expression trees of scalars: constants, loop variables
 * read as numbers (INDEX), loads at affine element offsets, accumulator
 * reads, elementwise operators (the tensor IR's tx_tir_op set: arithmetic,
 * comparisons giving 1 or 0, math functions), select, and dtype casts.
 * Every expression carries its dtype; complex values are (re, im) pairs.
 * Offsets are affine in the loop variables with coefficients already
 * multiplied by the buffer strides, so code generation never looks at a
 * shape.  A loop variable iterates over the index's true values (an output
 * index whose range starts at lo > 0 is stored at offset stride*(v - lo)).
 *
 * Invariants (checked by tx_lir_verify): every variable is used inside the
 * loop that binds it, every accumulator is initialised in an enclosing or
 * preceding block before it is accumulated or read, and every load and
 * store stays inside its buffer for all iterations.  Code generation relies
 * on the last one: generated code has no bounds checks.
 *
 * Nothing here knows about LLVM.  Later passes (planner, fuser, threads,
 * AOT) build LIR with the same constructors and add statement kinds
 * (allocations, runtime calls, parallel loops) as they need them.
 * All nodes live in an arena.
 */
#ifndef TX_LIR_H
#define TX_LIR_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "frontend/arena.h"
#include "ir/tir.h"
#include "txrt.h"

/* Symbolic sizes (size-generic AOT code, docs/AOT.md).  A kernel built
 * without concrete sizes has nsyms run-time int64 values S[0..nsyms) -- the
 * def's size arguments -- passed by its caller after the buffers.  A
 * monomial is a product of them, S[f[0]] * ... * S[f[n-1]] (n = 0: 1): a
 * stride or a buffer size is a constant times a monomial.  JIT kernels have
 * nsyms = 0 and every monomial empty, and nothing below changes for them. */
#define TX_LIR_MAXF 8
typedef struct tx_lir_mono {
    int n;
    int8_t f[TX_LIR_MAXF];     /* symbol ids, sorted */
} tx_lir_mono;

/* An element offset: c0 + sum_k coef[k] * value(var[k]) [* mono(sym[k])]. */
typedef struct tx_lir_affine {
    int nterms;
    int *var;        /* loop variable ids; -1 (only in a term with a symbolic
                        factor): no variable, the term is a run-time constant */
    int64_t *coef;   /* non-zero, already scaled by strides */
    tx_lir_mono *sym;  /* NULL, or per term the symbolic factor of its stride */
    int64_t c0;
} tx_lir_affine;

typedef enum {
    TX_LIR_CONST,   /* re (+ im j) */
    TX_LIR_INDEX,   /* the value of loop variable `var`, as a real number */
    TX_LIR_LOAD,    /* buf[off] */
    TX_LIR_ACC,     /* the current value of accumulator `acc` */
    TX_LIR_UNARY,   /* op a */
    TX_LIR_BINARY,  /* a op b (comparisons give 1 or 0) */
    TX_LIR_SELECT,  /* a != 0 ? b : c */
    TX_LIR_CAST,    /* a converted to dtype */
} tx_lir_expr_kind;

typedef struct tx_lir_expr tx_lir_expr;
struct tx_lir_expr {
    tx_lir_expr_kind kind;
    txrt_dtype dtype;           /* the type of this value */
    int weight;                 /* promotion weight: 0 literal or index value,
                                   1 rank-0 tensor, 2 tensor (see tx_lir_binary) */
    double re, im;              /* CONST */
    int var;                    /* INDEX */
    int buf;                    /* LOAD */
    tx_lir_affine off;          /* LOAD */
    int acc;                    /* ACC */
    tx_tir_op op;               /* UNARY, BINARY */
    tx_lir_expr *a, *b, *c;     /* operands */
};

typedef enum {
    TX_LIR_LOOP,
    TX_LIR_ACC_INIT,
    TX_LIR_ACCUM,
    TX_LIR_STORE,
} tx_lir_stmt_kind;

typedef struct tx_lir_stmt tx_lir_stmt;

/* A sequence of statements (growable, arena-owned). */
typedef struct tx_lir_block {
    tx_lir_stmt **stmts;
    int n, cap;
} tx_lir_block;

struct tx_lir_stmt {
    tx_lir_stmt_kind kind;
    int var;                    /* LOOP: the variable it binds */
    int64_t lo, extent;         /* LOOP: values lo .. lo+extent-1 */
    tx_lir_mono sym_extent;     /* LOOP: non-empty: the extent is extent * this
                                   product of run-time sizes (may be 0 at run time) */
    tx_lir_block body;          /* LOOP */
    bool parallel;              /* LOOP: its iterations may run on different threads
                                   (set by tx_lir_sched; printed "parallel for") */
    bool *private_bufs;         /* LOOP, parallel: per buffer, whether each chunk of
                                   iterations gets its own copy (NULL: none do) */
    int acc;                    /* ACC_INIT, ACCUM */
    int buf;                    /* STORE */
    tx_lir_affine off;          /* STORE */
    tx_lir_expr *value;         /* ACCUM, STORE */
};

/* A kernel parameter: a dense row-major buffer of constant shape. */
typedef struct tx_lir_buf {
    const char *name;           /* the tensor's name (for printing) */
    txrt_dtype dtype;
    int rank;
    int64_t *shape, *strides;   /* strides in elements */
    int64_t size;               /* number of elements */
    int *symdim;                /* NULL, or per axis: the run-time size (symbol id)
                                   that is the axis's extent, or -1 for shape[k];
                                   strides and size then carry symbolic factors
                                   (tx_lir_buf_stride, size_sym) */
    tx_lir_mono size_sym;       /* symbolic factor of size */
    bool output;                /* written by the kernel (buffer 0 today) */
    bool scratch;               /* nobody reads it after the kernel (a fused group's
                                   row storage); printed "scratch" */
    bool local;                 /* storage of the kernel itself, added by the scheduler
                                   after the caller's buffers (which it never sees):
                                   code generation puts it on the stack of the code
                                   that runs (each parallel chunk has its own); "local" */
} tx_lir_buf;

typedef struct tx_lir_var {
    const char *name;           /* printed name, unique within the function */
} tx_lir_var;

typedef struct tx_lir_acc {
    tx_redop op;
    txrt_dtype dtype;
    int weight;                 /* of the reduced value */
} tx_lir_acc;

typedef struct tx_lir_func {
    const char *name;
    tx_lir_buf *bufs;
    int nbufs, capbufs;
    tx_lir_var *vars;
    int nvars, capvars;
    tx_lir_acc *accs;
    int naccs, capaccs;
    tx_lir_block body;
    int nsyms;                  /* run-time sizes (0: everything is constant) */
    const char **sym_names;     /* their names, for printing */
    tx_arena *arena;            /* where its nodes live */
} tx_lir_func;

/* ---- construction (ir/lir.c) ------------------------------------------- */

tx_lir_func *tx_lir_func_new(tx_arena *a, const char *name);
/* Add a buffer with row-major strides; returns its id. */
int tx_lir_add_buf(tx_lir_func *f, const char *name, txrt_dtype dt, int rank,
                   const int64_t *shape, bool output);
/* Make f size-generic over nsyms run-time sizes named names[k]. */
void tx_lir_set_syms(tx_lir_func *f, int nsyms, const char *const *names);
/* Add a buffer whose axis k has run-time extent S[symdim[k]] where
 * symdim[k] >= 0 (shape[k] is then only a representative value). */
int tx_lir_add_symbuf(tx_lir_func *f, const char *name, txrt_dtype dt, int rank, const int64_t *shape,
                      const int *symdim, bool output);
/* The stride of axis ax of b: *c times the monomial *m. */
void tx_lir_buf_stride(const tx_lir_buf *b, int ax, int64_t *c, tx_lir_mono *m);
/* Monomials: product, equality, value for given symbol values (false on overflow). */
tx_lir_mono tx_lir_mono_mul(tx_lir_mono a, tx_lir_mono b);
bool tx_lir_mono_eq(const tx_lir_mono *a, const tx_lir_mono *b);
bool tx_lir_mono_value(const tx_lir_mono *m, const int64_t *symval, int64_t *out);
/* Does f use run-time sizes anywhere? */
static inline bool tx_lir_is_generic(const tx_lir_func *f) { return f->nsyms > 0; }
/* Add a loop variable (the name is made unique: "j", "j.1", ...). */
int tx_lir_add_var(tx_lir_func *f, const char *name);
int tx_lir_add_acc(tx_lir_func *f, tx_redop op, txrt_dtype dt);

void tx_lir_append(tx_lir_func *f, tx_lir_block *b, tx_lir_stmt *s);
/* Insert s into b at position k (0 <= k <= b->n). */
void tx_lir_insert(tx_lir_func *f, tx_lir_block *b, int k, tx_lir_stmt *s);
/* Append a loop to b and return it; fill its body. */
tx_lir_stmt *tx_lir_loop(tx_lir_func *f, tx_lir_block *b, int var, int64_t lo, int64_t extent);
void tx_lir_acc_init(tx_lir_func *f, tx_lir_block *b, int acc);
void tx_lir_accum(tx_lir_func *f, tx_lir_block *b, int acc, tx_lir_expr *value);
/* value is cast to the buffer's dtype (NULL when that would drop an imaginary part). */
tx_lir_stmt *tx_lir_store(tx_lir_func *f, tx_lir_block *b, int buf, tx_lir_affine off,
                          tx_lir_expr *value);

/* Expressions.  The typed constructors return NULL when the operation is
 * not defined for the operands' dtypes (ordering, max/min, floor... of a
 * complex value).  Operands of mixed dtypes are cast to the dtype the
 * language gives the result (ir/check.c, numpy's value-based promotion):
 * with equal weights the dtypes promote (f32 < f64, real < complex);
 * otherwise the heavier operand keeps its precision and the result is
 * complex if either is.  So 2*X, s*X, X*i and X*1j compute in f32 when X
 * is an f32 tensor and s a rank-0 f64 one. */
tx_lir_expr *tx_lir_const(tx_lir_func *f, txrt_dtype dt, double re, double im);
tx_lir_expr *tx_lir_index(tx_lir_func *f, int var);
tx_lir_expr *tx_lir_load(tx_lir_func *f, int buf, tx_lir_affine off);
tx_lir_expr *tx_lir_accref(tx_lir_func *f, int acc);
tx_lir_expr *tx_lir_unary(tx_lir_func *f, tx_tir_op op, tx_lir_expr *a);
tx_lir_expr *tx_lir_binary(tx_lir_func *f, tx_tir_op op, tx_lir_expr *a, tx_lir_expr *b);
tx_lir_expr *tx_lir_select(tx_lir_func *f, tx_lir_expr *cond, tx_lir_expr *a, tx_lir_expr *b);
tx_lir_expr *tx_lir_cast(tx_lir_func *f, tx_lir_expr *a, txrt_dtype dt);
/* A TIR constant as an LIR one; a let access whose value the lowering
 * knew (tx_tir_expr.let_const) as that number, promoting like the rank-0
 * f64 tensor it stands for; NULL for anything else. */
tx_lir_expr *tx_lir_const_of(tx_lir_func *f, const tx_tir_expr *e);

/* Affine offsets: c0 + sum coef[k]*var[k] (terms with equal vars merged,
 * zero coefficients dropped). */
tx_lir_affine tx_lir_affine_make(tx_lir_func *f, int nterms, const int *var,
                                 const int64_t *coef, int64_t c0);

/* The same with a symbolic factor per term (sym may be NULL); var[k] may
 * be -1 in a term whose factor is not empty. */
tx_lir_affine tx_lir_affine_make_sym(tx_lir_func *f, int nterms, const int *var, const int64_t *coef,
                                     const tx_lir_mono *sym, int64_t c0);

/* The identity of a reduction: 0 (sum), 1 (prod), -inf (max), +inf (min). */
double tx_lir_identity(tx_redop op);
/* Dtype helpers. */
bool tx_lir_is_complex(txrt_dtype dt);
/* Does e load from buffer buf anywhere? */
bool tx_lir_expr_loads(const tx_lir_expr *e, int buf);
/* Do a and b denote the same offset expression (terms in any order)? */
bool tx_lir_affine_same(const tx_lir_affine *a, const tx_lir_affine *b);
/* Is s a row accumulation, buf[o] = buf[o] + e (either order), into a
 * real scratch or local buffer (a reduction the fuser keeps in memory)?
 * Sets *e to the added term when e is not NULL. */
bool tx_lir_row_update(const tx_lir_func *f, const tx_lir_stmt *s, const tx_lir_expr **e);
/* Does store st, at the bottom of a perfect nest of `depth` loops (their
 * variables, first values and extents), write every element of its buffer
 * exactly once (a mixed-radix cover of 0..size-1) without reading it? */
bool tx_lir_store_covers(const tx_lir_func *f, const tx_lir_stmt *st, const int *vars, const int64_t *lo,
                         const int64_t *ext, int depth);
txrt_dtype tx_lir_real_of(txrt_dtype dt);          /* c128 -> f64, c64 -> f32 */
txrt_dtype tx_lir_promote(txrt_dtype a, txrt_dtype b);
const char *tx_lir_dtype_name(txrt_dtype dt);
/* How the printer spells an operator: "+", "<", "exp", "max", ... */
const char *tx_lir_op_name(tx_tir_op op);

/* Check the invariants listed at the top.  Returns false and sets *why
 * (arena text) on the first violation.  A size-generic kernel is checked
 * with its symbols set to several sample values (small, distinct, equal):
 * a test, not a proof -- which is why its lowering only produces plain
 * subscripts on symbolic axes, in bounds by construction. */
bool tx_lir_verify(const tx_lir_func *f, const char **why);

/* ---- lowering from the tensor IR (ir/lir.c) --------------------------- */

/* Lower one ordinary DEF (ranges inferred, ellipsis expanded) to a kernel
 * computing its plain right-hand side into buffer 0 of type *out (for `+=`
 * the caller adds the result).  Output loops are outermost in output
 * order; each REDUCE becomes an accumulator initialised to its identity
 * and an inner loop nest (nested reductions nest); INDEX values read the
 * loop variable.  Values are computed in double as the evaluator does
 * (single precision loads are widened, the store rounds once).  lk gives
 * the dtype and shape of every tensor the def reads.  Returns NULL with a reason in *why (arena text) when the def
 * cannot be compiled (an unknown range, an operation undefined for its
 * dtype, an access outside its tensor); callers then fall back to the
 * reference evaluator, which reports real errors. */
tx_lir_func *tx_lir_from_def(tx_arena *a, const tx_tir_stmt *def, const tx_type *out,
                             const tx_lookup *lk, const char **why);

/* The same, size-generic: tensors whose lookup gives a symdim (tx_varinfo)
 * have axes of run-time size, symbols 0..nsyms-1 named sym_names; the
 * kernel gets loops of run-time extent and strides with symbolic factors
 * wherever an index ranges over such an axis (the representative extents
 * in the types are ignored there).  Refused (NULL, *why) unless every
 * subscript of such an axis is a plain index that ranges over that size
 * only.  With nsyms = 0 this is tx_lir_from_def. */
tx_lir_func *tx_lir_from_def_sym(tx_arena *a, const tx_tir_stmt *def, const tx_type *out, const tx_lookup *lk,
                                 int nsyms, const char *const *sym_names, const char **why);

/* ---- unroll-and-jam (ir/lir_jam.c) ------------------------------------- */

/* Unroll the innermost loop over consecutive outputs that encloses a
 * reduction loop `width` times and jam the copies into one loop nest, so
 * the reduction carries `width` independent accumulators over contiguous
 * loads (which LLVM's SLP vectoriser turns into vector code).  Values are
 * unchanged: each copy performs its iteration's operations in the same
 * order.  Applies only where that is safe and the body has at most
 * max_nodes expression nodes after copying; returns 1 when it jammed a
 * loop, 0 otherwise. */
int tx_lir_jam(tx_lir_func *f, int width, int max_nodes);

/* ---- printing (ir/lir_print.c) ----------------------------------------- */

/* Readable text, e.g.
 *     kernel C(out C: f64[4,5], A: f64[4,3], B: f64[3,5]) {
 *       for i in 0..4 {
 *         for j in 0..5 {
 *           acc0: f64 = 0
 *           for k in 0..3 {
 *             acc0 += A[3*i + k] * B[5*k + j]
 *           }
 *           C[5*i + j] = acc0
 *       ...
 * The text determines the kernel completely (it is the JIT's cache key). */
void tx_lir_print(FILE *out, const tx_lir_func *f);
/* The same text as a malloc'ed string (caller frees). */
char *tx_lir_str(const tx_lir_func *f);
/* One expression (malloc'ed). */
char *tx_lir_expr_str(const tx_lir_func *f, const tx_lir_expr *e);

#endif
