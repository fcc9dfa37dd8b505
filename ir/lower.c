/*
 * lower.c -- AST (checked by tx_sema) -> tensor IR.
 *
 * Input: a program whose NAME/ACCESS nodes carry their tx_sym_kind and
 * whose CALL nodes carry their builtin id (frontend/sema.c).  Output: a
 * tx_tir_program laid out as ir/tir.h describes.  The decisions made here:
 *
 *  - X[i,j] (=|+=) rhs becomes one DEF.  Its index table gets one id per
 *    output index, then one per index that is on the right but not on the
 *    left (in order of first appearance), then one per index bound by each
 *    explicit reduction (pre-order), so a nested sum[j] inside an implicit
 *    sum over j binds a different id.  The implicit indices wrap the whole
 *    right-hand side in a REDUCE(sum) at the root.
 *  - Subscripts are normalised to c0 + sum coef*index with integer
 *    coefficients; lets whose value folds to a whole number may appear in
 *    them.  Anything else (i*j, i/2, a for variable, a size) is an error
 *    here, with the subscript's span.
 *  - `X = EXPR` is a CALL when EXPR is one whole-tensor call, a DEF with
 *    nout = 0 and every index summed when EXPR is in index notation, and an
 *    ellipsis DEF (whole accesses) otherwise.  Lets are DEFs with is_let
 *    (or CALLs when their value is a call).
 *  - A whole-tensor builtin or user function call inside an expression is
 *    hoisted into a CALL binding a temporary "%N" just before the
 *    statement, and the expression reads the temporary (a rank-0 access in
 *    index notation, a whole access otherwise).  Call arguments are whole
 *    accesses of variables (a temporary holds any other expression), direct
 *    rank-0 expressions when built only from numbers, lets, sizes and for
 *    variables, or strings.
 *  - print and assert read variables: an item that is not a plain name or a
 *    string is computed into a temporary first.  A bare expression
 *    statement is bound to "_" (the REPL prints it); a bare call with no
 *    results (save) is just the call.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "frontend/builtins.h"
#include "ir/tir.h"

/* ---- state -------------------------------------------------------------------- */

typedef struct stmtlist {
    tx_tir_stmt **v;
    int n, cap;
} stmtlist;

typedef struct letval {
    const char *name;
    bool known;
    double value;
} letval;

typedef struct ideclv {
    const char *name;
    tx_tir_expr *size;
    tx_span span;
} ideclv;

typedef struct lw {
    tx_arena *a;
    tx_diags *d;
    tx_tir_program *p;
    const tx_tir_program *prev;
    const tx_lookup *lk;
    stmtlist *out;            /* statements are appended here */
    letval *lets;
    int nlets, caplets;
    ideclv *ids;
    int nids, capids;
    const tx_ast_stmt *cur_def;
    int capfuncs;
    bool quiet_implicit;      /* a call argument's summed indices were already reported */
} lw;

/* One index-notation DEF under construction. */
typedef struct ixc {
    tx_tir_index *idx;
    int nidx, capidx;
    int *env;                 /* ids in scope, innermost last */
    int nenv, capenv;
} ixc;

#define GROWA(L, arr, n, cap) TX_ARENA_RESERVE((L)->a, arr, n, cap)

static void emit(lw *L, tx_tir_stmt *s) {
    GROWA(L, L->out->v, L->out->n, L->out->cap);
    L->out->v[L->out->n++] = s;
}

static const char *new_temp(lw *L) {
    return tx_arena_printf(L->a, "%%%d", ++L->p->ntemps);
}

static bool is_elem(const tx_ast_expr *e) {
    return e->kind == TX_AST_CALL && e->builtin >= 0 && e->builtin < TX_B__COUNT &&
           tx_builtins[e->builtin].kind == TX_BK_ELEM;
}

static bool is_whole_call(const tx_ast_expr *e) {
    return e && e->kind == TX_AST_CALL && !is_elem(e);
}

static bool is_value_sym(int sym) {
    return sym == TX_SYM_LET || sym == TX_SYM_SIZE || sym == TX_SYM_LOOPVAR;
}

/* ---- expression constructors ------------------------------------------------ */

static tx_tir_expr *mk(lw *L, tx_tir_expr_kind k, tx_span span) {
    tx_tir_expr *e = TX_NEW(L->a, tx_tir_expr);
    e->kind = k;
    e->span = span;
    return e;
}

static tx_tir_expr *mk_const(lw *L, double re, double im, bool cplx, tx_span span) {
    tx_tir_expr *e = mk(L, TX_TIR_CONST, span);
    e->re = re;
    e->im = im;
    e->is_complex = cplx;
    return e;
}

static tx_tir_expr *mk_access(lw *L, const char *var, bool whole, tx_span span) {
    tx_tir_expr *e = mk(L, TX_TIR_ACCESS, span);
    e->var = var;
    e->whole = whole;
    return e;
}

static tx_tir_expr *mk_unary(lw *L, tx_tir_op op, tx_tir_expr *a, tx_span span) {
    tx_tir_expr *e = mk(L, TX_TIR_UNARY, span);
    e->op = op;
    e->a = a;
    return e;
}

static tx_tir_expr *mk_binary(lw *L, tx_tir_op op, tx_tir_expr *a, tx_tir_expr *b, tx_span span) {
    tx_tir_expr *e = mk(L, TX_TIR_BINARY, span);
    e->op = op;
    e->a = a;
    e->b = b;
    return e;
}

static tx_tir_expr *mk_string(lw *L, const tx_ast_expr *s) {
    tx_tir_expr *e = mk(L, TX_TIR_STRING, s->span);
    e->str = s->str ? s->str : "";
    e->str_len = s->str ? s->str_len : 0;
    return e;
}

static tx_tir_stmt *mk_stmt(lw *L, tx_tir_stmt_kind k, tx_span span) {
    tx_tir_stmt *s = TX_NEW(L->a, tx_tir_stmt);
    s->kind = k;
    s->span = span;
    s->builtin = -1;
    return s;
}

static tx_tir_op binop(tx_op op) {
    switch (op) {
    case TX_OP_ADD: return TX_TOP_ADD;
    case TX_OP_SUB: return TX_TOP_SUB;
    case TX_OP_MUL: return TX_TOP_MUL;
    case TX_OP_DIV: return TX_TOP_DIV;
    case TX_OP_POW: return TX_TOP_POW;
    case TX_OP_LT: return TX_TOP_LT;
    case TX_OP_LE: return TX_TOP_LE;
    case TX_OP_GT: return TX_TOP_GT;
    case TX_OP_GE: return TX_TOP_GE;
    case TX_OP_EQ: return TX_TOP_EQ;
    case TX_OP_NE: return TX_TOP_NE;
    default: return TX_TOP_ADD;
    }
}

static tx_tir_op unop_of_builtin(int id) {
    switch (id) {
    case TX_B_EXP: return TX_TOP_EXP;
    case TX_B_LOG: return TX_TOP_LOG;
    case TX_B_SQRT: return TX_TOP_SQRT;
    case TX_B_ABS: return TX_TOP_ABS;
    case TX_B_SIN: return TX_TOP_SIN;
    case TX_B_COS: return TX_TOP_COS;
    case TX_B_TAN: return TX_TOP_TAN;
    case TX_B_TANH: return TX_TOP_TANH;
    case TX_B_SIGMOID: return TX_TOP_SIGMOID;
    case TX_B_RELU: return TX_TOP_RELU;
    case TX_B_SIGN: return TX_TOP_SIGN;
    case TX_B_FLOOR: return TX_TOP_FLOOR;
    case TX_B_CEIL: return TX_TOP_CEIL;
    case TX_B_CONJ: return TX_TOP_CONJ;
    case TX_B_REAL: return TX_TOP_REAL;
    case TX_B_IMAG: return TX_TOP_IMAG;
    default: return TX_TOP__COUNT;
    }
}

/* ---- lets and index declarations ---------------------------------------- */

static bool let_value(lw *L, const char *name, double *v) {
    for (int i = L->nlets - 1; i >= 0; i--)
        if (strcmp(L->lets[i].name, name) == 0) {
            *v = L->lets[i].value;
            return L->lets[i].known;
        }
    if (L->lk && L->lk->get) {
        tx_varinfo vi;
        if (L->lk->get(L->lk->self, name, &vi) && vi.known) {
            *v = vi.value;
            return true;
        }
    }
    return false;
}

/* The value of a `let` of this program (not a scalar of an outer scope,
 * such as a REPL session's, which an assignment may still change). */
static bool own_let_value(lw *L, const char *name, double *v) {
    for (int i = L->nlets - 1; i >= 0; i--)
        if (strcmp(L->lets[i].name, name) == 0) {
            *v = L->lets[i].value;
            return L->lets[i].known;
        }
    return false;
}

/* Fold a let's value: numbers, lets and arithmetic on them. */
static bool fold(lw *L, const tx_ast_expr *e, double *v) {
    if (!e) return false;
    double a, b;
    switch (e->kind) {
    case TX_AST_NUM: *v = e->num; return true;
    case TX_AST_NAME: return e->sym == TX_SYM_LET && let_value(L, e->name, v);
    case TX_AST_UNARY:
        if (!fold(L, e->a, &a)) return false;
        *v = e->op == TX_OP_NEG ? -a : a;
        return true;
    case TX_AST_BINARY:
        if (!fold(L, e->a, &a) || !fold(L, e->b, &b)) return false;
        switch (e->op) {
        case TX_OP_ADD: *v = a + b; return true;
        case TX_OP_SUB: *v = a - b; return true;
        case TX_OP_MUL: *v = a * b; return true;
        case TX_OP_DIV: *v = a / b; return true;
        case TX_OP_POW: *v = pow(a, b); return true;
        default: return false;
        }
    default: return false;
    }
}

static void add_let(lw *L, const char *name, const tx_ast_expr *value) {
    GROWA(L, L->lets, L->nlets, L->caplets);
    letval *lv = &L->lets[L->nlets++];
    lv->name = name;
    lv->known = fold(L, value, &lv->value) && isfinite(lv->value);
}

/* ---- index contexts ------------------------------------------------------------ */

static int ix_new(lw *L, ixc *x, const char *name, tx_span span) {
    GROWA(L, x->idx, x->nidx, x->capidx);
    tx_tir_index *ix = &x->idx[x->nidx];
    memset(ix, 0, sizeof *ix);
    ix->name = name;
    ix->span = span;
    ix->lo = 0;
    ix->extent = -1;
    return x->nidx++;
}

static void ix_push(lw *L, ixc *x, int id) {
    GROWA(L, x->env, x->nenv, x->capenv);
    x->env[x->nenv++] = id;
}

/* The innermost id named `name`, or -1. */
static int ix_find(const ixc *x, const char *name) {
    if (!x) return -1;
    for (int i = x->nenv - 1; i >= 0; i--)
        if (strcmp(x->idx[x->env[i]].name, name) == 0) return x->env[i];
    return -1;
}

/* Indices used on the right but bound neither on the left nor by a
 * reduction around the use: they are summed implicitly.  Adds them to x in
 * order of first appearance. */
static void free_indices(lw *L, ixc *x, const tx_ast_expr *e, const char **bound, int nbound) {
    if (!e) return;
    switch (e->kind) {
    case TX_AST_NAME:
        if (e->sym != TX_SYM_INDEX) return;
        for (int i = 0; i < nbound; i++)
            if (strcmp(bound[i], e->name) == 0) return;
        if (ix_find(x, e->name) >= 0) return;
        ix_push(L, x, ix_new(L, x, e->name, e->span));
        return;
    case TX_AST_ACCESS:
        for (int i = 0; i < e->nargs; i++) free_indices(L, x, e->args[i], bound, nbound);
        return;
    case TX_AST_REDUCE: {
        const char **nb = TX_NEWN(L->a, const char *, nbound + e->nidx + 1);
        if (nbound) memcpy(nb, bound, sizeof *nb * (size_t)nbound);
        for (int i = 0; i < e->nidx; i++) nb[nbound + i] = e->idx[i].name;
        if (e->nargs > 0) free_indices(L, x, e->args[0], nb, nbound + e->nidx);
        return;
    }
    case TX_AST_CALL:
        if (is_elem(e))
            for (int i = 0; i < e->nargs; i++) free_indices(L, x, e->args[i], bound, nbound);
        return;
    case TX_AST_UNARY: free_indices(L, x, e->a, bound, nbound); return;
    case TX_AST_BINARY:
        free_indices(L, x, e->a, bound, nbound);
        free_indices(L, x, e->b, bound, nbound);
        return;
    default: return;
    }
}

/* Elementwise functions through which an implicit sum is not the same
 * as the sum inside them: every one except conj, real and imag. */
static bool nonlinear_call(const tx_ast_expr *e) {
    if (!is_elem(e)) return false;
    return e->builtin != TX_B_CONJ && e->builtin != TX_B_REAL && e->builtin != TX_B_IMAG;
}

/* Where index `name` (not rebound by a reduction) occurs in e: *lin when
 * some occurrence is reached only through + - * /, unary minus,
 * comparisons, conj/real/imag and sums; otherwise *inside is the
 * outermost non-linear call or max/min/prod reduction around one. */
static void implicit_use(const tx_ast_expr *e, const char *name, const tx_ast_expr *around, bool *lin,
                         const tx_ast_expr **inside) {
    if (!e || *lin) return;
    switch (e->kind) {
    case TX_AST_NAME:
        if (e->sym == TX_SYM_INDEX && strcmp(e->name, name) == 0) {
            if (!around) *lin = true;
            else if (!*inside) *inside = around;
        }
        return;
    case TX_AST_ACCESS:
        for (int i = 0; i < e->nargs; i++) implicit_use(e->args[i], name, around, lin, inside);
        return;
    case TX_AST_REDUCE:
        for (int i = 0; i < e->nidx; i++)
            if (strcmp(e->idx[i].name, name) == 0) return;
        if (e->nargs > 0)
            implicit_use(e->args[0], name, around || e->redop == TX_RED_SUM ? around : e, lin, inside);
        return;
    case TX_AST_CALL:
        if (is_elem(e))
            for (int i = 0; i < e->nargs; i++)
                implicit_use(e->args[i], name, around || !nonlinear_call(e) ? around : e, lin, inside);
        return;
    case TX_AST_UNARY: implicit_use(e->a, name, around, lin, inside); return;
    case TX_AST_BINARY: {
        /* a power is linear in neither operand */
        const tx_ast_expr *ar = around || e->op != TX_OP_POW ? around : e;
        implicit_use(e->a, name, ar, lin, inside);
        implicit_use(e->b, name, ar, lin, inside);
        return;
    }
    default: return;
    }
}

/* Index names for a warning: "'i', 'j'" in quoted, "i,j" in plain (the
 * n-th name appended; both 256 bytes). */
typedef struct namelist {
    char quoted[256], plain[256];
    int n;
} namelist;

static void namelist_add(namelist *nl, const char *name) {
    size_t used = strlen(nl->quoted);
    snprintf(nl->quoted + used, sizeof nl->quoted - used, "%s'%s'", nl->n ? ", " : "", name);
    used = strlen(nl->plain);
    snprintf(nl->plain + used, sizeof nl->plain - used, "%s%s", nl->n ? "," : "", name);
    nl->n++;
}

/* An index summed implicitly that occurs only inside non-linear functions,
 * as in C[i] = exp(A[i,j]*B[j]): the sum is over the whole right-hand
 * side, outside exp, which newcomers often do not mean. */
static void warn_implicit_inside(lw *L, const ixc *x, int first_free, const tx_ast_expr *rhs) {
    const tx_ast_expr *at = NULL;
    namelist nl = { .n = 0 };
    for (int k = first_free; k < x->nidx; k++) {
        bool lin = false;
        const tx_ast_expr *inside = NULL;
        implicit_use(rhs, x->idx[k].name, NULL, &lin, &inside);
        if (lin || !inside) continue;
        if (!at) at = inside;
        namelist_add(&nl, x->idx[k].name);
    }
    if (!at || L->quiet_implicit) return;
    const char *what = at->kind == TX_AST_BINARY ? "the power ^"
                       : at->kind == TX_AST_CALL ? tx_arena_printf(L->a, "%s(...)", at->name)
                       : at->redop == TX_RED_MAX ? "max[...](...)"
                       : at->redop == TX_RED_MIN ? "min[...](...)" : "prod[...](...)";
    tx_diag *g = tx_warning(L->d, at->span, "%s %s %s summed over the whole right-hand side, outside %s",
                            nl.n > 1 ? "indices" : "index", nl.quoted, nl.n > 1 ? "are" : "is", what);
    if (at->kind == TX_AST_CALL)
        tx_hint(L->d, g, "to sum inside, write %s(sum[%s](...)); to keep this meaning and silence the warning, "
                "write sum[%s](...) around the right-hand side", at->name, nl.plain, nl.plain);
    else
        tx_hint(L->d, g, "write sum[%s](...) where the sum belongs; around the whole right-hand side it keeps "
                "this meaning and silences the warning", nl.plain);
}

/* Is this expression in index notation (for lowering purposes)? */
static bool in_index_notation(const tx_ast_expr *e) {
    if (!e) return false;
    switch (e->kind) {
    case TX_AST_ACCESS:
    case TX_AST_REDUCE: return true;
    case TX_AST_NAME: return e->sym == TX_SYM_INDEX;
    case TX_AST_CALL:
        if (!is_elem(e)) return false;
        for (int i = 0; i < e->nargs; i++)
            if (in_index_notation(e->args[i])) return true;
        return false;
    case TX_AST_UNARY: return in_index_notation(e->a);
    case TX_AST_BINARY: return in_index_notation(e->a) || in_index_notation(e->b);
    default: return false;
    }
}

/* Only numbers, lets, sizes and for variables: a direct rank-0 expression. */
static bool is_simple_scalar(const tx_ast_expr *e) {
    if (!e) return false;
    switch (e->kind) {
    case TX_AST_NUM:
    case TX_AST_IMAG: return true;
    case TX_AST_NAME: return is_value_sym(e->sym);
    case TX_AST_UNARY: return is_simple_scalar(e->a);
    case TX_AST_BINARY: return is_simple_scalar(e->a) && is_simple_scalar(e->b);
    default: return false;
    }
}

/* ---- affine subscripts ------------------------------------------------------------ */

typedef struct lin {
    int n, cap;
    int *ids;
    int64_t *coef;
    int64_t c0;
} lin;

static const char affine_msg[] = "subscript must be affine in the indices with integer coefficients, e.g. X[2*i+k-1]";

/* Subscript constants and coefficients stay within +-2^53 (the whole numbers
 * a double holds exactly), so every sum, difference and negation below is
 * exact in int64 and later passes can scale them without overflow. */
#define SUB_LIMIT 9007199254740992LL

static bool sub_fits(int64_t v) { return v >= -SUB_LIMIT && v <= SUB_LIMIT; }

/* Add c*index(id) to l; false when a coefficient leaves the limit. */
static bool lin_term(lw *L, lin *l, int id, int64_t c) {
    for (int i = 0; i < l->n; i++)
        if (l->ids[i] == id) {
            l->coef[i] += c;
            return sub_fits(l->coef[i]);
        }
    if (l->n == l->cap) {
        int nc = l->cap ? 2 * l->cap : 4;
        l->ids = tx_arena_grow(L->a, l->ids, (size_t)l->cap, (size_t)nc, sizeof *l->ids);
        l->coef = tx_arena_grow(L->a, l->coef, (size_t)l->cap, (size_t)nc, sizeof *l->coef);
        l->cap = nc;
    }
    l->ids[l->n] = id;
    l->coef[l->n] = c;
    l->n++;
    return sub_fits(c);
}

static bool whole_number(double v, int64_t *out) {
    if (!isfinite(v) || v != floor(v) || fabs(v) > (double)SUB_LIMIT) return false;
    *out = (int64_t)v;
    return true;
}

static bool too_large(lw *L, tx_span at) {
    tx_diag *g = tx_error(L->d, at, "subscript constant or coefficient is too large (the limit is 2^53)");
    tx_hint(L->d, g, "subscripts must address elements of a tensor that fits in memory");
    return false;
}

/* Normalise a subscript; false after reporting an error. */
static bool affine(lw *L, ixc *x, const tx_ast_expr *e, lin *out) {
    memset(out, 0, sizeof *out);
    if (!e) return false;
    switch (e->kind) {
    case TX_AST_NUM:
        if (!whole_number(e->num, &out->c0)) {
            if (isfinite(e->num) && e->num == floor(e->num)) return too_large(L, e->span);
            tx_error(L->d, e->span, "subscript %g is not a whole number", e->num);
            return false;
        }
        return true;
    case TX_AST_NAME: {
        if (e->sym == TX_SYM_INDEX) {
            int id = ix_find(x, e->name);
            if (id < 0) {
                tx_error(L->d, e->span, "'%s' is not an index of this statement", e->name);
                return false;
            }
            lin_term(L, out, id, 1);
            return true; /* coefficient 1: always within the limit */
        }
        double v;
        if (e->sym == TX_SYM_LET && let_value(L, e->name, &v)) {
            if (whole_number(v, &out->c0)) return true;
            if (isfinite(v) && v == floor(v)) return too_large(L, e->span);
            tx_error(L->d, e->span, "subscript uses let '%s' = %g, which is not a whole number", e->name, v);
            return false;
        }
        const char *what = e->sym == TX_SYM_LET ? "let" : e->sym == TX_SYM_SIZE ? "size" : "for variable";
        tx_diag *g = tx_error(L->d, e->span, "%s '%s' is known only at run time: it cannot be combined with an index in one subscript",
                              what, e->name);
        tx_hint(L->d, g, "use it as a subscript on its own (X[%s, j]), or select with a Kronecker delta, "
                         "e.g. sum[q](X[q,j] * (q == %s + i))", e->name, e->name);
        return false;
    }
    case TX_AST_UNARY: {
        if (e->op != TX_OP_NEG && e->op != TX_OP_PLUS) break;
        if (!affine(L, x, e->a, out)) return false;
        if (e->op == TX_OP_NEG) { /* exact: values are within +-2^53 */
            out->c0 = -out->c0;
            for (int i = 0; i < out->n; i++) out->coef[i] = -out->coef[i];
        }
        return true;
    }
    case TX_AST_BINARY: {
        lin a, b;
        if (e->op != TX_OP_ADD && e->op != TX_OP_SUB && e->op != TX_OP_MUL && e->op != TX_OP_DIV) break;
        if (!affine(L, x, e->a, &a)) return false;
        if (!affine(L, x, e->b, &b)) return false;
        if (e->op == TX_OP_ADD || e->op == TX_OP_SUB) {
            int64_t sg = e->op == TX_OP_ADD ? 1 : -1;
            *out = a;
            for (int i = 0; i < b.n; i++)
                if (!lin_term(L, out, b.ids[i], sg * b.coef[i])) return too_large(L, e->span);
            out->c0 += sg * b.c0;
            if (!sub_fits(out->c0)) return too_large(L, e->span);
            return true;
        }
        if (e->op == TX_OP_MUL) {
            if (a.n > 0 && b.n > 0) break;
            lin *v = a.n > 0 ? &a : &b;
            int64_t k = a.n > 0 ? b.c0 : a.c0;
            *out = *v;
            for (int i = 0; i < out->n; i++)
                if (__builtin_mul_overflow(out->coef[i], k, &out->coef[i]) || !sub_fits(out->coef[i]))
                    return too_large(L, e->span);
            if (__builtin_mul_overflow(out->c0, k, &out->c0) || !sub_fits(out->c0)) return too_large(L, e->span);
            return true;
        }
        /* DIV: only of constants that divide exactly */
        if (a.n > 0 || b.n > 0 || b.c0 == 0 || a.c0 % b.c0 != 0) break;
        out->c0 = a.c0 / b.c0;
        return true;
    }
    default: break;
    }
    tx_error(L->d, e->span, "%s", affine_msg);
    return false;
}

static tx_tir_affine lower_sub(lw *L, ixc *x, const tx_ast_expr *e) {
    tx_tir_affine af;
    memset(&af, 0, sizeof af);
    if (e) af.span = e->span;
    lin l;
    if (!affine(L, x, e, &l)) return af;
    int n = 0;
    for (int i = 0; i < l.n; i++)
        if (l.coef[i] != 0) n++;
    af.nterms = n;
    af.idx = TX_NEWN(L->a, int, n ? n : 1);
    af.coef = TX_NEWN(L->a, int64_t, n ? n : 1);
    n = 0;
    for (int i = 0; i < l.n; i++)
        if (l.coef[i] != 0) {
            af.idx[n] = l.ids[i];
            af.coef[n] = l.coef[i];
            n++;
        }
    af.c0 = l.c0;
    return af;
}

/* ---- expressions -------------------------------------------------------------------- */

static const char *lower_call_into(lw *L, const tx_ast_expr *e, const char **results, tx_span *spans, int nres,
                                   tx_span span);
static const char *lower_to_var(lw *L, const tx_ast_expr *e);
static tx_tir_expr *lower_whole(lw *L, const tx_ast_expr *e);

/* The call computed into a new temporary (numbered after its arguments'). */
static const char *hoist_call(lw *L, const tx_ast_expr *e) {
    return lower_call_into(L, e, NULL, NULL, 1, e->span);
}

static tx_tir_expr *lower_elem_call(lw *L, ixc *x, const tx_ast_expr *e,
                                    tx_tir_expr *(*sub)(lw *, ixc *, const tx_ast_expr *)) {
    tx_tir_expr *args[3] = { NULL, NULL, NULL };
    for (int i = 0; i < e->nargs && i < 3; i++) args[i] = sub(L, x, e->args[i]);
    for (int i = 0; i < 3; i++)
        if (!args[i]) args[i] = mk_const(L, 0, 0, false, e->span);
    switch (e->builtin) {
    case TX_B_POW: return mk_binary(L, TX_TOP_POW, args[0], args[1], e->span);
    case TX_B_MAX2: return mk_binary(L, TX_TOP_MAX2, args[0], args[1], e->span);
    case TX_B_MIN2: return mk_binary(L, TX_TOP_MIN2, args[0], args[1], e->span);
    case TX_B_WHERE: {
        tx_tir_expr *w = mk(L, TX_TIR_WHERE, e->span);
        w->a = args[0];
        w->b = args[1];
        w->c = args[2];
        return w;
    }
    default: return mk_unary(L, unop_of_builtin(e->builtin), args[0], e->span);
    }
}

static tx_tir_expr *lower_neg(lw *L, tx_tir_expr *a, tx_span span) {
    if (a->kind == TX_TIR_CONST) {
        a->re = -a->re;
        a->im = -a->im;
        a->span = span;
        return a;
    }
    return mk_unary(L, TX_TOP_NEG, a, span);
}

static tx_tir_expr *lower_ix(lw *L, ixc *x, const tx_ast_expr *e);
static tx_tir_expr *lower_rank0(lw *L, const tx_ast_expr *e);

static bool mentions_index(const tx_ast_expr *e) {
    if (!e) return false;
    switch (e->kind) {
    case TX_AST_NAME: return e->sym == TX_SYM_INDEX;
    case TX_AST_REDUCE: return true;
    case TX_AST_UNARY: return mentions_index(e->a);
    case TX_AST_BINARY: return mentions_index(e->a) || mentions_index(e->b);
    case TX_AST_ACCESS:
    case TX_AST_CALL:
        for (int i = 0; i < e->nargs; i++)
            if (mentions_index(e->args[i])) return true;
        return false;
    default: return false;
    }
}

/* A subscript without indices whose value is known only at run time: a
 * for variable, a size inside a def, a computed scalar (H[t, i]). */
static bool runtime_position(lw *L, const tx_ast_expr *e) {
    double v;
    return e && e->kind != TX_AST_STR && !mentions_index(e) && !fold(L, e, &v);
}

/* X[p, i] with run-time positions p: the slice of X at those positions
 * (a %take call) indexed by the remaining subscripts. */
static tx_tir_expr *lower_take(lw *L, ixc *x, const tx_ast_expr *e) {
    tx_tir_stmt *c = mk_stmt(L, TX_TIR_CALL, e->span);
    c->builtin = TX_B_TAKE;
    c->nargs = e->nargs + 1;
    c->args = TX_NEWN(L->a, tx_tir_expr *, c->nargs);
    c->args[0] = mk_access(L, e->name, true, e->name_span);
    int nkeep = 0;
    for (int i = 0; i < e->nargs; i++) {
        if (runtime_position(L, e->args[i])) {
            c->args[i + 1] = lower_rank0(L, e->args[i]);
            continue;
        }
        tx_tir_expr *keep = mk(L, TX_TIR_STRING, e->args[i]->span);
        keep->str = ":";
        keep->str_len = 1;
        c->args[i + 1] = keep;
        nkeep++;
    }
    c->nresults = 1;
    c->results = TX_NEWN(L->a, const char *, 1);
    c->result_spans = TX_NEWN(L->a, tx_span, 1);
    c->results[0] = new_temp(L);
    c->result_spans[0] = e->span;
    emit(L, c);
    tx_tir_expr *r = mk_access(L, c->results[0], false, e->span);
    r->nsubs = nkeep;
    r->subs = TX_NEWN(L->a, tx_tir_affine, nkeep ? nkeep : 1);
    nkeep = 0;
    for (int i = 0; i < e->nargs; i++)
        if (c->args[i + 1]->kind == TX_TIR_STRING) r->subs[nkeep++] = lower_sub(L, x, e->args[i]);
    return r;
}

/* An expression in index notation (x may be NULL for a rank-0 expression
 * without indices). */
static tx_tir_expr *lower_ix(lw *L, ixc *x, const tx_ast_expr *e) {
    if (!e) return mk_const(L, 0, 0, false, (tx_span){ 0, 0 });
    switch (e->kind) {
    case TX_AST_NUM: return mk_const(L, e->num, 0, false, e->span);
    case TX_AST_IMAG: return mk_const(L, 0, e->num, true, e->span);
    case TX_AST_STR: return mk_string(L, e);
    case TX_AST_NAME: {
        if (e->sym == TX_SYM_INDEX) {
            int id = ix_find(x, e->name);
            if (id >= 0) {
                tx_tir_expr *r = mk(L, TX_TIR_INDEX, e->span);
                r->index = id;
                return r;
            }
        }
        /* a let of this program whose value is known here is that number:
         * kernels then see a constant (x / d with d = 16 becomes x * 0.0625)
         * instead of loading a rank-0 tensor; both are weak scalars in
         * promotion */
        tx_tir_expr *r = mk_access(L, e->name, false, e->span);
        double v;
        if (e->sym == TX_SYM_LET && own_let_value(L, e->name, &v)) {
            r->let_const = true;
            r->re = v;
        }
        return r;
    }
    case TX_AST_ACCESS: {
        for (int i = 0; i < e->nargs; i++)
            if (runtime_position(L, e->args[i])) return lower_take(L, x, e);
        tx_tir_expr *r = mk_access(L, e->name, false, e->span);
        r->nsubs = e->nargs;
        r->subs = TX_NEWN(L->a, tx_tir_affine, e->nargs ? e->nargs : 1);
        for (int i = 0; i < e->nargs; i++) r->subs[i] = lower_sub(L, x, e->args[i]);
        return r;
    }
    case TX_AST_REDUCE: {
        tx_tir_expr *r = mk(L, TX_TIR_REDUCE, e->span);
        r->redop = e->redop;
        r->nidx = e->nidx;
        r->idx = TX_NEWN(L->a, int, e->nidx ? e->nidx : 1);
        if (!x) { /* cannot happen after sema */
            r->a = mk_const(L, 0, 0, false, e->span);
            return r;
        }
        int save = x->nenv;
        for (int i = 0; i < e->nidx; i++) r->idx[i] = ix_new(L, x, e->idx[i].name, e->idx[i].span);
        for (int i = 0; i < e->nidx; i++) ix_push(L, x, r->idx[i]);
        r->a = lower_ix(L, x, e->nargs > 0 ? e->args[0] : NULL);
        x->nenv = save;
        return r;
    }
    case TX_AST_CALL:
        if (is_elem(e)) return lower_elem_call(L, x, e, lower_ix);
        return mk_access(L, hoist_call(L, e), false, e->span);
    case TX_AST_UNARY:
        if (e->op == TX_OP_PLUS) return lower_ix(L, x, e->a);
        return lower_neg(L, lower_ix(L, x, e->a), e->span);
    case TX_AST_BINARY: { /* operands in source order: temporaries are numbered that way */
        tx_tir_expr *a = lower_ix(L, x, e->a);
        tx_tir_expr *b = lower_ix(L, x, e->b);
        return mk_binary(L, binop(e->op), a, b, e->span);
    }
    }
    return mk_const(L, 0, 0, false, e->span);
}

static tx_tir_expr *lower_whole_cb(lw *L, ixc *x, const tx_ast_expr *e) {
    (void)x;
    return lower_whole(L, e);
}

/* An expression of whole tensors (the right-hand side of an ellipsis DEF). */
static tx_tir_expr *lower_whole(lw *L, const tx_ast_expr *e) {
    if (!e) return mk_const(L, 0, 0, false, (tx_span){ 0, 0 });
    switch (e->kind) {
    case TX_AST_NUM: return mk_const(L, e->num, 0, false, e->span);
    case TX_AST_IMAG: return mk_const(L, 0, e->num, true, e->span);
    case TX_AST_STR: return mk_string(L, e);
    case TX_AST_NAME: return mk_access(L, e->name, true, e->span);
    case TX_AST_CALL:
        if (is_elem(e)) return lower_elem_call(L, NULL, e, lower_whole_cb);
        return mk_access(L, hoist_call(L, e), true, e->span);
    case TX_AST_UNARY:
        if (e->op == TX_OP_PLUS) return lower_whole(L, e->a);
        return lower_neg(L, lower_whole(L, e->a), e->span);
    case TX_AST_BINARY: {
        tx_tir_expr *a = lower_whole(L, e->a);
        tx_tir_expr *b = lower_whole(L, e->b);
        return mk_binary(L, binop(e->op), a, b, e->span);
    }
    default:
        /* index notation inside a whole expression: its fully summed value */
        return mk_access(L, lower_to_var(L, e), true, e->span);
    }
}

/* ---- definitions ------------------------------------------------------------------ */

static void attach_declared(lw *L, ixc *x) {
    for (int k = 0; k < x->nidx; k++)
        for (int i = L->nids - 1; i >= 0; i--)
            if (strcmp(L->ids[i].name, x->idx[k].name) == 0) {
                x->idx[k].declared = L->ids[i].size;
                x->idx[k].declared_span = L->ids[i].span;
                break;
            }
}

/* out[lhs...] (=|+=) rhs in index notation; nlhs may be 0.  out NULL: a new
 * temporary (numbered after those of rhs).  Returns out. */
static const char *lower_index_def(lw *L, const char *out, tx_span out_span, tx_ast_expr **lhs, int nlhs, bool accumulate,
                            bool is_let, const tx_ast_expr *rhs, tx_span span) {
    ixc x = { 0 };
    int *out_idx = TX_NEWN(L->a, int, nlhs ? nlhs : 1);
    for (int i = 0; i < nlhs; i++) {
        const tx_ast_expr *s = lhs[i];
        const char *name = s && s->kind == TX_AST_NAME ? s->name : "?";
        out_idx[i] = ix_new(L, &x, name, s ? s->span : span);
        ix_push(L, &x, out_idx[i]);
    }
    int first_free = x.nidx;
    free_indices(L, &x, rhs, NULL, 0);
    int nfree = x.nidx - first_free;
    warn_implicit_inside(L, &x, first_free, rhs);
    tx_tir_expr *r = lower_ix(L, &x, rhs);
    if (nfree > 0) {
        tx_tir_expr *red = mk(L, TX_TIR_REDUCE, rhs ? rhs->span : span);
        red->redop = TX_RED_SUM;
        red->nidx = nfree;
        red->idx = TX_NEWN(L->a, int, nfree);
        for (int i = 0; i < nfree; i++) red->idx[i] = first_free + i;
        red->a = r;
        r = red;
    }
    attach_declared(L, &x);
    tx_tir_stmt *d = mk_stmt(L, TX_TIR_DEF, span);
    d->out = out ? out : new_temp(L);
    d->out_span = out_span;
    d->out_idx = out_idx;
    d->nout = nlhs;
    d->accumulate = accumulate;
    d->is_let = is_let;
    d->rhs = r;
    d->indices = x.idx;
    d->nindices = x.nidx;
    emit(L, d);
    return d->out;
}

static const char *lower_ellipsis_def(lw *L, const char *out, tx_span out_span, bool accumulate, tx_tir_expr *rhs,
                               tx_span span) {
    tx_tir_stmt *d = mk_stmt(L, TX_TIR_DEF, span);
    d->out = out ? out : new_temp(L);
    d->out_span = out_span;
    d->accumulate = accumulate;
    d->ellipsis = true;
    d->rhs = rhs;
    emit(L, d);
    return d->out;
}

/* out (=|+=) e, for every form of e; out NULL: into a new temporary.
 * Returns the variable assigned. */
static const char *lower_assign_value(lw *L, const char *out, tx_span out_span, const tx_ast_expr *e,
                                      bool accumulate, bool is_let, tx_span span) {
    if (!e) return out;
    if (is_whole_call(e)) {
        if (!accumulate) return lower_call_into(L, e, out ? &out : NULL, out ? &out_span : NULL, 1, span);
        const char *t = hoist_call(L, e);
        return lower_ellipsis_def(L, out, out_span, true, mk_access(L, t, true, e->span), span);
    }
    if (is_let || in_index_notation(e))
        return lower_index_def(L, out, out_span, NULL, 0, accumulate, is_let, e, span);
    tx_tir_expr *r = lower_whole(L, e);
    return lower_ellipsis_def(L, out, out_span, accumulate, r, span);
}

/* A variable holding the value of e: e itself when it is a name, else a
 * temporary computed just before. */
static const char *lower_to_var(lw *L, const tx_ast_expr *e) {
    if (e->kind == TX_AST_NAME && e->sym != TX_SYM_INDEX) return e->name;
    return lower_assign_value(L, NULL, e->span, e, false, false, e->span);
}

/* A rank-0 operand (for bounds, index sizes): direct when simple. */
static tx_tir_expr *lower_rank0(lw *L, const tx_ast_expr *e) {
    if (is_simple_scalar(e)) return lower_ix(L, NULL, e);
    return mk_access(L, lower_to_var(L, e), false, e->span);
}

/* An argument in index notation with indices of its own, as in
 * max(abs(x[i])) or eigh(A[i,j] + A[j,i]): like every right-hand side
 * without a left-hand side, it is summed over all of them, so the call
 * receives one number, which is rarely what was meant.  Warns (once, not
 * again for functions inside it); returns whether it did. */
static bool warn_summed_arg(lw *L, const tx_ast_expr *call, const tx_ast_expr *e) {
    if (!in_index_notation(e) || call->builtin == TX_B_SUM1) return false;   /* sum(...) sums anyway */
    ixc x = { 0 };
    free_indices(L, &x, e, NULL, 0);
    if (x.nidx == 0) return false;
    namelist nl = { .n = 0 };
    for (int k = 0; k < x.nidx; k++) namelist_add(&nl, x.idx[k].name);
    tx_diag *g = tx_warning(L->d, e->span, "%s %s of this argument %s summed, so %s receives one number",
                            x.nidx > 1 ? "indices" : "index", nl.quoted, x.nidx > 1 ? "are" : "is", call->name);
    tx_hint(L->d, g, "to pass the tensor, bind it first (T[%s] = ...) and call %s(T); sum[%s](...) says the sum "
            "is meant and silences this", nl.plain, call->name, nl.plain);
    return true;
}

/* A positional or keyword argument of a CALL. */
static tx_tir_expr *lower_arg(lw *L, const tx_ast_expr *call, const tx_ast_expr *e) {
    if (e->kind == TX_AST_STR) return mk_string(L, e);
    if (is_simple_scalar(e)) return lower_ix(L, NULL, e);
    bool quiet = L->quiet_implicit;
    if (!quiet && warn_summed_arg(L, call, e)) L->quiet_implicit = true;
    tx_tir_expr *r = mk_access(L, lower_to_var(L, e), true, e->span);
    L->quiet_implicit = quiet;
    return r;
}

static tx_tir_func *find_func(lw *L, const char *name) {
    for (int i = 0; i < L->p->nfuncs; i++)
        if (strcmp(L->p->funcs[i]->name, name) == 0) return L->p->funcs[i];
    if (L->prev)
        for (int i = L->prev->nfuncs - 1; i >= 0; i--)
            if (strcmp(L->prev->funcs[i]->name, name) == 0) return L->prev->funcs[i];
    return NULL;
}

/* results = e(...) as a CALL statement; returns results[0] (or NULL).
 * results == NULL with nres == 1: bind a new temporary. */
static const char *lower_call_into(lw *L, const tx_ast_expr *e, const char **results, tx_span *spans, int nres,
                                   tx_span span) {
    tx_tir_stmt *c = mk_stmt(L, TX_TIR_CALL, span);
    c->nargs = e->nargs;
    c->args = TX_NEWN(L->a, tx_tir_expr *, e->nargs ? e->nargs : 1);
    for (int i = 0; i < e->nargs; i++) c->args[i] = lower_arg(L, e, e->args[i]);
    c->nkwargs = e->nkwargs;
    c->kwargs = TX_NEWN(L->a, tx_tir_kwarg, e->nkwargs ? e->nkwargs : 1);
    for (int i = 0; i < e->nkwargs; i++) {
        c->kwargs[i].name = e->kwargs[i].name;
        c->kwargs[i].span = e->kwargs[i].name_span;
        c->kwargs[i].value = lower_arg(L, e, e->kwargs[i].value);
    }
    c->builtin = e->builtin;
    if (e->builtin < 0) {
        c->callee = e->name;
        c->func = find_func(L, e->name);
        if (!c->func) tx_error(L->d, e->name_span, "unknown function '%s'", e->name);
    }
    c->nresults = nres;
    c->results = TX_NEWN(L->a, const char *, nres ? nres : 1);
    c->result_spans = TX_NEWN(L->a, tx_span, nres ? nres : 1);
    for (int i = 0; i < nres; i++) {
        c->results[i] = results ? results[i] : new_temp(L);
        c->result_spans[i] = spans ? spans[i] : e->span;
    }
    if (!results) results = c->results;
    emit(L, c);
    return nres ? results[0] : NULL;
}

static int call_nresults(lw *L, const tx_ast_expr *e) {
    if (e->builtin >= 0) return tx_builtins[e->builtin].nresults;
    tx_tir_func *f = find_func(L, e->name);
    return f ? f->nresults : 1;
}

/* ---- statements ------------------------------------------------------------------------ */

static void lower_stmts(lw *L, tx_ast_stmt **st, int n);

static tx_tir_param *lower_params(lw *L, const tx_ast_param *ps, int n) {
    tx_tir_param *r = TX_NEWN(L->a, tx_tir_param, n ? n : 1);
    for (int i = 0; i < n; i++) {
        r[i].name = ps[i].id.name;
        r[i].span = ps[i].span.hi > ps[i].span.lo ? ps[i].span : ps[i].id.span;
        r[i].dims = ps[i].dims;
        r[i].ndims = ps[i].ndims;
        r[i].dtype = ps[i].dtype;
    }
    return r;
}

static void lower_def(lw *L, const tx_ast_stmt *st) {
    tx_tir_func *f = NULL;
    for (int i = 0; i < L->p->nfuncs; i++)
        if (strcmp(L->p->funcs[i]->name, st->def_name.name) == 0) f = L->p->funcs[i];
    if (!f || f->span.lo != st->span.lo || f->body) return;
    stmtlist body = { 0 };
    stmtlist *save_out = L->out;
    int save_lets = L->nlets, save_ids = L->nids;
    letval *save_letv = L->lets;
    int save_caplets = L->caplets;
    ideclv *save_idv = L->ids;
    int save_capids = L->capids;
    const tx_ast_stmt *save_def = L->cur_def;
    L->lets = NULL;
    L->nlets = L->caplets = 0;
    L->ids = NULL;
    L->nids = L->capids = 0;
    L->out = &body;
    L->cur_def = st;
    lower_stmts(L, st->body, st->nbody);
    f->body = body.v ? body.v : TX_NEWN(L->a, tx_tir_stmt *, 1);
    f->nbody = body.n;
    L->out = save_out;
    L->lets = save_letv;
    L->nlets = save_lets;
    L->caplets = save_caplets;
    L->ids = save_idv;
    L->nids = save_ids;
    L->capids = save_capids;
    L->cur_def = save_def;
}

static void lower_print(lw *L, const tx_ast_stmt *st) {
    tx_tir_stmt *p = mk_stmt(L, TX_TIR_PRINT, st->span);
    p->nitems = st->nargs;
    p->items = TX_NEWN(L->a, tx_tir_expr *, st->nargs ? st->nargs : 1);
    for (int i = 0; i < st->nargs; i++) {
        const tx_ast_expr *e = st->args[i];
        if (e->kind == TX_AST_STR) p->items[i] = mk_string(L, e);
        else p->items[i] = mk_access(L, lower_to_var(L, e), true, e->span);
    }
    emit(L, p);
}

static void lower_assert(lw *L, const tx_ast_stmt *st) {
    if (!st->value) return;
    tx_tir_expr *cond = mk_access(L, lower_to_var(L, st->value), true, st->value->span);
    tx_tir_stmt *a = mk_stmt(L, TX_TIR_ASSERT, st->span);
    a->args = TX_NEWN(L->a, tx_tir_expr *, 1);
    a->items = TX_NEWN(L->a, tx_tir_expr *, 1);
    a->args[0] = a->items[0] = cond;
    a->nargs = a->nitems = 1;
    if (st->nargs > 0 && st->args[0] && st->args[0]->kind == TX_AST_STR)
        a->msg = tx_arena_strndup(L->a, st->args[0]->str ? st->args[0]->str : "", (size_t)st->args[0]->str_len);
    emit(L, a);
}

static void lower_for(lw *L, const tx_ast_stmt *st) {
    tx_tir_expr *lo = lower_rank0(L, st->lo);
    tx_tir_expr *hi = lower_rank0(L, st->hi);
    tx_tir_stmt *f = mk_stmt(L, TX_TIR_FOR, st->span);
    f->var = st->var.name;
    f->lo = lo;
    f->hi = hi;
    stmtlist body = { 0 };
    stmtlist *save = L->out;
    int save_ids = L->nids;
    L->out = &body;
    lower_stmts(L, st->body, st->nbody);
    L->out = save;
    L->nids = save_ids;
    f->body = body.v ? body.v : TX_NEWN(L->a, tx_tir_stmt *, 1);
    f->nbody = body.n;
    emit(L, f);
}

/* An output subscript that sema found to be a position (X[t, i] = ...). */
static bool is_out_position(const tx_ast_expr *e) {
    return e && !mentions_index(e) && !(e->kind == TX_AST_NAME && e->sym == TX_SYM_INDEX);
}

/* Does some access in e subscript with index id? */
static bool subscripts_use(const tx_tir_expr *e, int id) {
    if (!e) return false;
    if (e->kind == TX_TIR_ACCESS)
        for (int s = 0; s < e->nsubs; s++)
            for (int k = 0; k < e->subs[s].nterms; k++)
                if (e->subs[s].idx[k] == id) return true;
    return subscripts_use(e->a, id) || subscripts_use(e->b, id) || subscripts_use(e->c, id);
}

/* X[t, i] (=|+=) rhs with positions among the subscripts: rhs into a
 * temporary over the index subscripts, then X = %put(X, temp, positions)
 * (or %put_add).  An index that no access of rhs subscripts (H[t, i] = t + i)
 * ranges over its axis of X. */
static void lower_put(lw *L, const tx_ast_stmt *st) {
    const tx_ast_target *t = &st->targets[0];
    tx_ast_expr **idx = TX_NEWN(L->a, tx_ast_expr *, t->nsubs);
    int *axis = TX_NEWN(L->a, int, t->nsubs);
    int n = 0;
    for (int i = 0; i < t->nsubs; i++)
        if (!is_out_position(t->subs[i])) {
            axis[n] = i;
            idx[n++] = t->subs[i];
        }
    const char *v = lower_index_def(L, NULL, t->id.span, idx, n, false, false, st->value, st->span);
    tx_tir_stmt *def = L->out->v[--L->out->n];   /* re-emitted after the sizes it may need */
    for (int k = 0; k < n && k < def->nout; k++) {
        tx_tir_index *ix = &def->indices[def->out_idx[k]];
        if (ix->declared || subscripts_use(def->rhs, def->out_idx[k])) continue; /* its range is inferred */
        /* %k = dim(X, axis): the size of the axis this index writes */
        tx_tir_stmt *c = mk_stmt(L, TX_TIR_CALL, idx[k]->span);
        c->builtin = TX_B_DIM;
        c->nargs = 2;
        c->args = TX_NEWN(L->a, tx_tir_expr *, 2);
        c->args[0] = mk_access(L, t->id.name, true, t->id.span);
        c->args[1] = mk_const(L, axis[k], 0, false, idx[k]->span);
        c->nresults = 1;
        c->results = TX_NEWN(L->a, const char *, 1);
        c->result_spans = TX_NEWN(L->a, tx_span, 1);
        c->results[0] = new_temp(L);
        c->result_spans[0] = idx[k]->span;
        emit(L, c);
        ix->declared = mk_access(L, c->results[0], false, idx[k]->span);
        ix->declared_span = idx[k]->span;
    }
    emit(L, def);
    tx_tir_stmt *c = mk_stmt(L, TX_TIR_CALL, st->span);
    c->builtin = st->accumulate ? TX_B_PUT_ADD : TX_B_PUT;
    c->nargs = t->nsubs + 2;
    c->args = TX_NEWN(L->a, tx_tir_expr *, c->nargs);
    c->args[0] = mk_access(L, t->id.name, true, t->id.span);
    c->args[1] = mk_access(L, v, true, st->value ? st->value->span : st->span);
    for (int i = 0; i < t->nsubs; i++) {
        if (is_out_position(t->subs[i])) {
            c->args[i + 2] = lower_rank0(L, t->subs[i]);
            continue;
        }
        tx_tir_expr *keep = mk(L, TX_TIR_STRING, t->subs[i]->span);
        keep->str = ":";
        keep->str_len = 1;
        c->args[i + 2] = keep;
    }
    c->nresults = 1;
    c->results = TX_NEWN(L->a, const char *, 1);
    c->result_spans = TX_NEWN(L->a, tx_span, 1);
    c->results[0] = t->id.name;
    c->result_spans[0] = t->id.span;
    emit(L, c);
}

static void lower_assign(lw *L, const tx_ast_stmt *st) {
    if (st->ntargets <= 0 || !st->value) return;
    if (st->ntargets > 1) {
        const char **names = TX_NEWN(L->a, const char *, st->ntargets);
        tx_span *spans = TX_NEWN(L->a, tx_span, st->ntargets);
        for (int i = 0; i < st->ntargets; i++) {
            names[i] = st->targets[i].id.name;
            spans[i] = st->targets[i].id.span;
        }
        lower_call_into(L, st->value, names, spans, st->ntargets, st->span);
        return;
    }
    const tx_ast_target *t = &st->targets[0];
    for (int i = 0; t->indexed && i < t->nsubs; i++)
        if (is_out_position(t->subs[i])) {
            lower_put(L, st);
            return;
        }
    if (t->indexed)
        lower_index_def(L, t->id.name, t->id.span, t->subs, t->nsubs, st->accumulate, false, st->value, st->span);
    else
        lower_assign_value(L, t->id.name, t->id.span, st->value, st->accumulate, false, st->span);
}

static void lower_stmt(lw *L, const tx_ast_stmt *st) {
    switch (st->kind) {
    case TX_AST_LET:
        if (!st->value) break;
        lower_assign_value(L, st->let_name.name, st->let_name.span, st->value, false, true, st->span);
        add_let(L, st->let_name.name, st->value);
        break;
    case TX_AST_ASSIGN: lower_assign(L, st); break;
    case TX_AST_EXPR: {
        const tx_ast_expr *e = st->value;
        if (!e) break;
        if (is_whole_call(e) && call_nresults(L, e) == 0) {
            lower_call_into(L, e, NULL, NULL, 0, st->span);
            break;
        }
        lower_assign_value(L, "_", e->span, e, false, false, st->span);
        break;
    }
    case TX_AST_PRINT: lower_print(L, st); break;
    case TX_AST_ASSERT: lower_assert(L, st); break;
    case TX_AST_FOR: lower_for(L, st); break;
    case TX_AST_INDEX: {
        if (!st->value) break;
        tx_tir_expr *size = lower_rank0(L, st->value);
        for (int i = 0; i < st->nnames; i++) {
            GROWA(L, L->ids, L->nids, L->capids);
            L->ids[L->nids++] = (ideclv){ st->names[i].name, size, st->span };
        }
        break;
    }
    case TX_AST_DEF: lower_def(L, st); break;
    case TX_AST_RETURN: {
        const tx_ast_stmt *def = L->cur_def;
        if (def && st->nargs == def->nresults) {
            for (int i = 0; i < st->nargs; i++) {
                const tx_ast_expr *v = st->args[i];
                const char *r = def->results[i].id.name;
                if (v->kind == TX_AST_NAME && strcmp(v->name, r) == 0) continue;
                lower_assign_value(L, r, def->results[i].id.span, v, false, false, st->span);
            }
        }
        emit(L, mk_stmt(L, TX_TIR_RETURN, st->span));
        break;
    }
    }
}

static void lower_stmts(lw *L, tx_ast_stmt **st, int n) {
    for (int i = 0; i < n; i++)
        if (st[i]) lower_stmt(L, st[i]);
}

/* ---- entry ------------------------------------------------------------------------------- */

tx_tir_program *tx_lower_with(tx_arena *a, const tx_ast_program *ast, const tx_tir_program *prev,
                              const struct tx_lookup *globals, tx_diags *d) {
    if (!ast) return NULL;
    lw L;
    memset(&L, 0, sizeof L);
    L.a = a;
    L.d = d;
    L.prev = prev;
    L.lk = globals;
    L.p = TX_NEW(a, tx_tir_program);
    L.p->src = ast->src;
    L.p->ntemps = prev ? prev->ntemps : 0;

    /* function shells first: calls may precede the def */
    for (int i = 0; i < ast->nstmts; i++) {
        const tx_ast_stmt *st = ast->stmts[i];
        if (!st || st->kind != TX_AST_DEF || !st->def_name.name) continue;
        bool dup = false;
        for (int k = 0; k < L.p->nfuncs; k++)
            if (strcmp(L.p->funcs[k]->name, st->def_name.name) == 0) dup = true;
        if (dup) continue;
        tx_tir_func *f = TX_NEW(a, tx_tir_func);
        f->name = st->def_name.name;
        f->span = st->span;
        f->params = lower_params(&L, st->params, st->nparams);
        f->nparams = st->nparams;
        f->results = lower_params(&L, st->results, st->nresults);
        f->nresults = st->nresults;
        int cap = 0;
        for (int r = 0; r < 2; r++) {
            const tx_ast_param *ps = r ? st->results : st->params;
            int np = r ? st->nresults : st->nparams;
            for (int k = 0; k < np; k++)
                for (int q = 0; q < ps[k].ndims; q++) {
                    const char *dn = ps[k].dims[q].name;
                    if (!dn) continue;
                    bool seen = false;
                    for (int z = 0; z < f->nsizes; z++)
                        if (strcmp(f->sizes[z], dn) == 0) seen = true;
                    if (seen) continue;
                    GROWA(&L, f->sizes, f->nsizes, cap);
                    f->sizes[f->nsizes++] = dn;
                }
        }
        GROWA(&L, L.p->funcs, L.p->nfuncs, L.capfuncs);
        L.p->funcs[L.p->nfuncs++] = f;
    }

    stmtlist main = { 0 };
    L.out = &main;
    lower_stmts(&L, ast->stmts, ast->nstmts);
    L.p->stmts = main.v ? main.v : TX_NEWN(a, tx_tir_stmt *, 1);
    L.p->nstmts = main.n;
    return L.p;
}

tx_tir_program *tx_lower(tx_arena *a, const tx_ast_program *ast, const tx_tir_program *prev, tx_diags *d) {
    return tx_lower_with(a, ast, prev, NULL, d);
}
