/*
 * ast.h -- the abstract syntax tree of a .tx program.
 *
 * The parser builds it (frontend/parser.y), sema checks it in place
 * (frontend/sema.c), and ir/lower.c turns it into tensor IR.  Every node
 * carries the span it was parsed from; all nodes live in the unit's arena.
 * The tree records syntax only: whether a name is a tensor, a let, a size or
 * an index is decided by sema, never by the grammar.
 */
#ifndef TX_AST_H
#define TX_AST_H

#include <stdbool.h>

#include "frontend/arena.h"
#include "frontend/diag.h"

typedef struct tx_ast_expr tx_ast_expr;
typedef struct tx_ast_stmt tx_ast_stmt;

/* Operators of TX_AST_UNARY / TX_AST_BINARY.  ORDER: tx_ast_op_name(). */
typedef enum {
    TX_OP_ADD, TX_OP_SUB, TX_OP_MUL, TX_OP_DIV, TX_OP_POW,
    TX_OP_LT, TX_OP_LE, TX_OP_GT, TX_OP_GE, TX_OP_EQ, TX_OP_NE,
    TX_OP_NEG, /* unary minus */
    TX_OP_PLUS /* unary plus (kept so spans stay honest) */
} tx_op;

/* Reductions of sum[i](e) etc. */
typedef enum { TX_RED_SUM, TX_RED_MAX, TX_RED_MIN, TX_RED_PROD } tx_redop;

typedef enum {
    TX_AST_NUM,    /* real literal: num */
    TX_AST_IMAG,   /* imaginary literal 2.5j: num = 2.5 */
    TX_AST_STR,    /* string literal (escapes decoded): str */
    TX_AST_NAME,   /* bare identifier: name */
    TX_AST_ACCESS, /* name[args...]; each arg is an index expression */
    TX_AST_CALL,   /* name(args..., kw=v...) */
    TX_AST_REDUCE, /* redop[idx...](args[0]) */
    TX_AST_UNARY,  /* op a */
    TX_AST_BINARY, /* a op b */
} tx_ast_expr_kind;

typedef struct tx_ast_kwarg {
    const char *name;
    tx_span name_span;
    tx_ast_expr *value;
} tx_ast_kwarg;

/* An identifier occurrence with its own span (reduction indices, lhs
 * indices, parameter sizes...). */
typedef struct tx_ast_ident {
    const char *name;
    tx_span span;
} tx_ast_ident;

struct tx_ast_expr {
    tx_ast_expr_kind kind;
    tx_span span;          /* the whole expression */
    double num;            /* NUM, IMAG */
    const char *str;       /* STR (decoded), length in str_len */
    int str_len;
    const char *name;      /* NAME, ACCESS, CALL */
    tx_span name_span;     /* ACCESS, CALL: the name alone */
    tx_op op;              /* UNARY, BINARY */
    tx_redop redop;        /* REDUCE */
    tx_ast_expr *a, *b;    /* UNARY: a; BINARY: a op b */
    tx_ast_expr **args;    /* ACCESS subscripts, CALL positional args, REDUCE body (args[0]) */
    int nargs;
    tx_ast_kwarg *kwargs;  /* CALL */
    int nkwargs;
    tx_ast_ident *idx;     /* REDUCE: the bound indices */
    int nidx;
    bool parens;           /* written inside ( ) -- for (i == j) style checks */
    /* Filled by sema: */
    int sym;               /* NAME/ACCESS: tx_sym_kind of the name */
    int builtin;           /* CALL: tx_builtin id, or -1 for a user function */
};

/* What a name refers to, decided by sema (frontend/sema.c). */
typedef enum {
    TX_SYM_NONE = 0,
    TX_SYM_TENSOR,   /* a tensor variable (including rank-0 scalars) */
    TX_SYM_LET,      /* a let constant */
    TX_SYM_SIZE,     /* a size name of the enclosing def's signature */
    TX_SYM_LOOPVAR,  /* the variable of an enclosing for */
    TX_SYM_INDEX,    /* an index variable of index notation */
    TX_SYM_FUNC,     /* a user function */
    TX_SYM_BUILTIN,  /* a builtin */
} tx_sym_kind;

/* A shape annotation: size names or integer literals, e.g. A[n,d] or A[3,n]. */
typedef struct tx_ast_dim {
    const char *name;      /* NULL when the size is a literal */
    long long value;       /* the literal */
    tx_span span;
} tx_ast_dim;

typedef enum { TX_DT_NONE = -1, TX_DT_F64 = 0, TX_DT_F32, TX_DT_C128, TX_DT_C64 } tx_dtype_name;

/* A def parameter or result: name, optional shape, optional dtype. */
typedef struct tx_ast_param {
    tx_ast_ident id;
    tx_ast_dim *dims;      /* NULL/0 for a scalar */
    int ndims;
    int dtype;             /* tx_dtype_name, TX_DT_NONE when not given */
    tx_span dtype_span;
    tx_span span;          /* the whole annotation */
} tx_ast_param;

typedef enum {
    TX_AST_LET,     /* let name = value */
    TX_AST_ASSIGN,  /* targets[...] (=|+=) value */
    TX_AST_EXPR,    /* a bare expression: save(...), or a value to show in the REPL */
    TX_AST_PRINT,   /* print args... */
    TX_AST_ASSERT,  /* assert value [, message] */
    TX_AST_FOR,     /* for var in lo..hi { body } */
    TX_AST_INDEX,   /* index i, j : size */
    TX_AST_DEF,     /* def name(params) -> results { body } */
    TX_AST_RETURN,  /* return [values...]: only inside a def */
} tx_ast_stmt_kind;

/* Left-hand side of an assignment: X, or X[i,j,...] with index names. */
typedef struct tx_ast_target {
    tx_ast_ident id;
    tx_ast_expr **subs;    /* the subscripts as written (sema requires plain index names) */
    int nsubs;
    bool indexed;          /* X[...] rather than X (X[] is rank 0 indexed) */
    tx_span span;
} tx_ast_target;

struct tx_ast_stmt {
    tx_ast_stmt_kind kind;
    tx_span span;
    /* LET: let_name = value */
    tx_ast_ident let_name;
    /* ASSIGN */
    tx_ast_target *targets;
    int ntargets;          /* > 1 only for tuple bindings a, b = f(...) */
    bool accumulate;       /* += */
    tx_span op_span;       /* the = or += token */
    /* LET, ASSIGN, EXPR, ASSERT (condition), INDEX (the size) */
    tx_ast_expr *value;
    /* PRINT items, RETURN values, ASSERT message in args[0] (if nargs > 0) */
    tx_ast_expr **args;
    int nargs;
    /* FOR: var in lo..hi */
    tx_ast_ident var;
    tx_ast_expr *lo, *hi;
    /* FOR, DEF: body */
    tx_ast_stmt **body;
    int nbody;
    /* INDEX: names */
    tx_ast_ident *names;
    int nnames;
    /* DEF */
    tx_ast_ident def_name;
    tx_ast_param *params;
    int nparams;
    tx_ast_param *results;
    int nresults;
};

typedef struct tx_ast_program {
    const tx_source *src;
    tx_ast_stmt **stmts;
    int nstmts;
} tx_ast_program;

/* Parse a whole source.  Syntax errors go to d; the returned program holds
 * every statement that parsed (error recovery resumes at the next newline,
 * ';' or closing bracket), so later passes can still report their errors. */
tx_ast_program *tx_parse(tx_arena *a, const tx_source *src, tx_diags *d);

/* Maximum nesting depth of brackets/expressions accepted by the parser. */
#define TX_MAX_NESTING 1000

/* Debug printer: one statement per line, fully parenthesised; used by tests. */
const char *tx_ast_expr_str(tx_arena *a, const tx_ast_expr *e);
const char *tx_ast_stmt_str(tx_arena *a, const tx_ast_stmt *s);
const char *tx_ast_op_name(tx_op op);       /* "+", "-", ..., "neg" */
const char *tx_ast_redop_name(tx_redop op); /* "sum", "max", "min", "prod" */

#endif
