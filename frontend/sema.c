/*
 * sema.c -- name resolution and structural checks (see sema.h for the
 * rules).
 *
 * One pass over the statements in order, with a scope stack of bindings.
 * Before a statement list (the script, or a def body) is checked it is
 * prescanned for every name it binds, so that a use that fails to resolve
 * can be told apart: "used before it is defined" (bound by a later
 * statement), "not visible inside def f" (a global), or plainly "not
 * defined" (with a "did you mean" hint).  Defs are collected first, so
 * calls may precede the def and recursion can be detected from the call
 * graph once every body has been seen.
 *
 * Index notation is checked in two steps per statement: `collect` gathers
 * the statement's indices (left-hand side, then every identifier inside a
 * subscript that is not a constant, then bare uses of declared indices),
 * and `check_expr` resolves every node against them.  The arguments of a
 * whole-tensor call are checked as separate expressions (an `ictx` of
 * their own whose `outer` is the statement), because lowering computes
 * them before the statement.
 *
 * Nothing here stops at the first error: a failed check reports, marks
 * what it can, and continues; names whose definition failed are still
 * bound so they do not cascade into "not defined" errors later.
 */
#include "frontend/sema.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "frontend/builtins.h"

/* ---- data ----------------------------------------------------------------- */

typedef struct binding {
    const char *name;
    tx_sym_kind kind;     /* TENSOR, LET, SIZE, LOOPVAR; NONE once out of scope */
    tx_span span;         /* where it was bound */
    bool param;
} binding;

/* A binding found by the prescan of a statement list. */
typedef struct later {
    const char *name;
    tx_span span;
    int seq;              /* pre-order number of the binding statement */
} later;

typedef struct idecl {     /* an `index i : n` declaration in scope */
    const char *name;
    tx_span span;
} idecl;

typedef struct edge {      /* def `from` calls def `to` at span */
    int from, to;
    tx_span span;
} edge;

typedef struct later_list {
    later *v;
    int n, cap;
} later_list;

typedef struct sema {
    tx_arena *a;
    tx_diags *d;
    const tx_sema_outer *outer;

    binding *b;
    int nb, capb;
    int unit_base;                /* first binding of the current def body (0 at top level) */

    tx_ast_stmt **defs;           /* top-level defs, first definitions only */
    int ndefs, capdefs;

    tx_ast_stmt *cur_def;         /* def whose body is being checked, or NULL */
    int cur_def_id;
    int loop_depth;

    later_list top;               /* prescan of the script */
    later_list *lat;              /* prescan of the current unit */
    int seq;                      /* pre-order number of the current statement */

    idecl *ids;
    int nids, capids;

    edge *edges;
    int nedges, capedges;

    const char **undef;           /* names already reported as not defined */
    int nundef, capundef, undef_base;  /* ... in this unit: from undef_base on */
} sema;

/* An index-notation (or whole-tensor) expression context. */
typedef struct ictx {
    bool index_mode;
    const char **names;           /* the statement's indices; the first nlhs are output indices */
    tx_span *spans;
    int n, cap, nlhs;
    const char **bound;           /* indices bound by the enclosing reductions */
    int nbound, capbound;
    struct ictx *outer;           /* the statement this is a call argument of */
    const char *call_name;        /* ... and the call */
    const char *target;           /* "X[i,j]" for messages, or NULL */
    tx_ast_expr *root;
} ictx;

#define GROW(s, arr, n, cap) TX_ARENA_RESERVE((s)->a, arr, n, cap)

static const char *kind_word(tx_sym_kind k) {
    switch (k) {
    case TX_SYM_TENSOR: return "tensor";
    case TX_SYM_LET: return "let constant";
    case TX_SYM_SIZE: return "size";
    case TX_SYM_LOOPVAR: return "for variable";
    case TX_SYM_INDEX: return "index";
    case TX_SYM_FUNC: return "function";
    case TX_SYM_BUILTIN: return "builtin function";
    default: return "name";
    }
}

/* ---- edit distance and hints -------------------------------------------- */

int tx_sema_edit_distance(const char *a, const char *b) {
    int n = (int)strlen(a), m = (int)strlen(b);
    if (n > 64 || m > 64) return 1000;
    int d[65][65];
    for (int i = 0; i <= n; i++) d[i][0] = i;
    for (int j = 0; j <= m; j++) d[0][j] = j;
    for (int i = 1; i <= n; i++)
        for (int j = 1; j <= m; j++) {
            int c = a[i - 1] == b[j - 1] ? 0 : 1;
            int v = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
            if (d[i - 1][j - 1] + c < v) v = d[i - 1][j - 1] + c;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[n][m];
}

typedef struct suggest {
    const char *want;
    const char *best;
    int bestd;              /* scaled by 2; case-only differences score 1 */
    sema *s;
    bool funcs;             /* suggesting callables rather than values */
} suggest;

static void consider(suggest *g, const char *name) {
    if (!name || strcmp(name, g->want) == 0 || name[0] == '%' || strcmp(name, "_") == 0) return;
    int dd;
    if (strcasecmp(name, g->want) == 0) dd = 1;
    else {
        int e = tx_sema_edit_distance(g->want, name);
        int len = (int)strlen(g->want);
        int allowed = len <= 3 ? 1 : len <= 6 ? 2 : 3;
        if (e > allowed || e >= len) return;
        dd = 2 * e;
    }
    if (!g->best || dd < g->bestd) {
        g->best = name;
        g->bestd = dd;
    }
}

static bool outer_lookup(sema *s, const char *name, tx_sema_sym *out);

static void consider_outer(void *ctx, const char *name) {
    suggest *g = ctx;
    tx_sema_sym sym;
    if (!outer_lookup(g->s, name, &sym)) return;
    if ((sym.kind == TX_SYM_FUNC) == g->funcs) consider(g, name);
}

/* Best near miss among the names visible here (values or callables). */
static const char *near_name(sema *s, const char *want, bool funcs) {
    suggest g = { want, NULL, 0, s, funcs };
    if (funcs) {
        for (int i = 0; i < s->ndefs; i++) consider(&g, s->defs[i]->def_name.name);
        for (int i = 0; i < TX_B__COUNT; i++)
            if (tx_builtins[i].name[0] != '%') consider(&g, tx_builtins[i].name);
    } else {
        for (int i = s->unit_base; i < s->nb; i++)
            if (s->b[i].kind != TX_SYM_NONE) consider(&g, s->b[i].name);
    }
    if (s->outer && !s->cur_def) {
        for (int i = 0; i < s->outer->nsyms; i++)
            if ((s->outer->syms[i].kind == TX_SYM_FUNC) == funcs) consider(&g, s->outer->syms[i].name);
        if (s->outer->each) s->outer->each(s->outer->self, consider_outer, &g);
    } else if (s->outer && funcs) {
        for (int i = 0; i < s->outer->nsyms; i++)
            if (s->outer->syms[i].kind == TX_SYM_FUNC) consider(&g, s->outer->syms[i].name);
        if (s->outer->each) s->outer->each(s->outer->self, consider_outer, &g);
    }
    return g.best;
}

/* ---- scopes --------------------------------------------------------------- */

static binding *push_binding(sema *s, const char *name, tx_sym_kind k, tx_span span) {
    GROW(s, s->b, s->nb, s->capb);
    binding *b = &s->b[s->nb++];
    b->name = name;
    b->kind = k;
    b->span = span;
    b->param = false;
    return b;
}

/* A binding of the current unit (def body or script). */
static binding *find_local(sema *s, const char *name) {
    for (int i = s->nb - 1; i >= s->unit_base; i--)
        if (s->b[i].kind != TX_SYM_NONE && strcmp(s->b[i].name, name) == 0) return &s->b[i];
    return NULL;
}

/* A top-level binding seen while checking a def body. */
static binding *find_global(sema *s, const char *name) {
    for (int i = s->unit_base - 1; i >= 0; i--)
        if (s->b[i].kind != TX_SYM_NONE && strcmp(s->b[i].name, name) == 0) return &s->b[i];
    return NULL;
}

static bool outer_lookup(sema *s, const char *name, tx_sema_sym *out) {
    const tx_sema_outer *o = s->outer;
    if (!o) return false;
    for (int i = 0; i < o->nsyms; i++)
        if (strcmp(o->syms[i].name, name) == 0) {
            *out = o->syms[i];
            return true;
        }
    if (o->lookup) {
        memset(out, 0, sizeof *out);
        if (o->lookup(o->self, s->a, name, out)) {
            if (!out->name) out->name = name;
            return true;
        }
    }
    return false;
}

static const later *find_later(const later_list *l, const char *name, int after) {
    if (!l) return NULL;
    for (int i = 0; i < l->n; i++)
        if (l->v[i].seq > after && strcmp(l->v[i].name, name) == 0) return &l->v[i];
    return NULL;
}

static bool in_later(const later_list *l, const char *name) {
    return find_later(l, name, -1) != NULL;
}

static int find_def(sema *s, const char *name) {
    for (int i = 0; i < s->ndefs; i++)
        if (strcmp(s->defs[i]->def_name.name, name) == 0) return i;
    return -1;
}

/* Is `name` a user function (this unit or an earlier one)? */
static bool is_function(sema *s, const char *name, tx_sema_sym *osym) {
    if (find_def(s, name) >= 0) return true;
    tx_sema_sym tmp;
    if (!osym) osym = &tmp;
    return outer_lookup(s, name, osym) && osym->kind == TX_SYM_FUNC;
}

/* The kind a variable name has here, without reporting anything. */
static tx_sym_kind peek_var(sema *s, const char *name) {
    binding *b = find_local(s, name);
    if (b) return b->kind;
    if (!s->cur_def) {
        tx_sema_sym o;
        if (outer_lookup(s, name, &o) && o.kind != TX_SYM_FUNC) return o.kind;
    }
    return TX_SYM_NONE;
}

/* A scalar of an earlier REPL unit (kind LET there): a constant in a
 * subscript, but an index where an index is bound (X[i] = ..., sum[i]),
 * since the REPL keeps for variables and scalars around. */
static bool is_outer_scalar(sema *s, const char *name) {
    return !find_local(s, name) && peek_var(s, name) == TX_SYM_LET;
}

static bool is_result_name(sema *s, const char *name) {
    if (!s->cur_def) return false;
    for (int i = 0; i < s->cur_def->nresults; i++)
        if (strcmp(s->cur_def->results[i].id.name, name) == 0) return true;
    return false;
}

static bool is_declared_index(sema *s, const char *name) {
    for (int i = s->nids - 1; i >= 0; i--)
        if (strcmp(s->ids[i].name, name) == 0) return true;
    return false;
}

/* ---- index contexts --------------------------------------------------------- */

static bool cx_has(const ictx *cx, const char *name) {
    for (int i = cx->nbound - 1; i >= 0; i--)
        if (strcmp(cx->bound[i], name) == 0) return true;
    for (int i = 0; i < cx->n; i++)
        if (strcmp(cx->names[i], name) == 0) return true;
    return false;
}

static bool cx_is_lhs(const ictx *cx, const char *name) {
    for (int i = 0; i < cx->nlhs; i++)
        if (strcmp(cx->names[i], name) == 0) return true;
    return false;
}

static void cx_add(sema *s, ictx *cx, const char *name, tx_span span) {
    if (cx_has(cx, name)) return;
    GROW(s, cx->names, cx->n, cx->cap);
    cx->spans = tx_arena_grow(s->a, cx->spans, (size_t)cx->n, (size_t)cx->cap, sizeof *cx->spans);
    cx->names[cx->n] = name;
    cx->spans[cx->n] = span;
    cx->n++;
}

static void cx_push(sema *s, ictx *cx, const char *name) {
    GROW(s, cx->bound, cx->nbound, cx->capbound);
    cx->bound[cx->nbound++] = name;
}

/* The enclosing statement (through call arguments) that has `name` as an index. */
static const ictx *outer_with_index(const ictx *cx, const char *name) {
    for (const ictx *o = cx ? cx->outer : NULL; o; o = o->outer)
        if (o->index_mode && cx_has(o, name)) return o;
    return NULL;
}

/* ---- predicates on expressions ------------------------------------------ */

/* Does this CALL apply an elementwise builtin (part of the enclosing
 * expression) rather than a whole-tensor builtin or a user function? */
static bool is_elem_call(sema *s, const tx_ast_expr *e) {
    if (is_function(s, e->name, NULL)) return false;
    int id = tx_builtin_lookup(e->name, e->nargs);
    return id >= 0 && tx_builtins[id].kind == TX_BK_ELEM;
}

static bool is_whole_call(sema *s, const tx_ast_expr *e) {
    return e && e->kind == TX_AST_CALL && !is_elem_call(s, e);
}

static bool is_index_notation(sema *s, const tx_ast_expr *e) {
    if (!e) return false;
    switch (e->kind) {
    case TX_AST_ACCESS:
    case TX_AST_REDUCE: return true;
    case TX_AST_NAME: return is_declared_index(s, e->name) && peek_var(s, e->name) == TX_SYM_NONE;
    case TX_AST_CALL:
        if (!is_elem_call(s, e)) return false;
        for (int i = 0; i < e->nargs; i++)
            if (is_index_notation(s, e->args[i])) return true;
        return false;
    case TX_AST_UNARY: return is_index_notation(s, e->a);
    case TX_AST_BINARY: return is_index_notation(s, e->a) || is_index_notation(s, e->b);
    default: return false;
    }
}

static bool reduce_binds(const tx_ast_expr *e, const char *name) {
    if (!e) return false;
    switch (e->kind) {
    case TX_AST_REDUCE:
        for (int i = 0; i < e->nidx; i++)
            if (strcmp(e->idx[i].name, name) == 0) return true;
        return e->nargs > 0 && reduce_binds(e->args[0], name);
    case TX_AST_CALL:
    case TX_AST_ACCESS:
        for (int i = 0; i < e->nargs; i++)
            if (reduce_binds(e->args[i], name)) return true;
        return false;
    case TX_AST_UNARY: return reduce_binds(e->a, name);
    case TX_AST_BINARY: return reduce_binds(e->a, name) || reduce_binds(e->b, name);
    default: return false;
    }
}

/* ---- collecting a statement's indices ------------------------------------ */

static void collect_sub(sema *s, ictx *cx, tx_ast_expr *e) {
    if (!e) return;
    switch (e->kind) {
    case TX_AST_NAME: {
        for (int i = cx->nbound - 1; i >= 0; i--)
            if (strcmp(cx->bound[i], e->name) == 0) return;
        tx_sym_kind k = peek_var(s, e->name);
        if (k == TX_SYM_LET || k == TX_SYM_SIZE || k == TX_SYM_LOOPVAR) return;
        cx_add(s, cx, e->name, e->span);
        return;
    }
    case TX_AST_UNARY: collect_sub(s, cx, e->a); return;
    case TX_AST_BINARY:
        collect_sub(s, cx, e->a);
        collect_sub(s, cx, e->b);
        return;
    default: return; /* not affine: check_sub reports it */
    }
}

static void collect(sema *s, ictx *cx, tx_ast_expr *e) {
    if (!e) return;
    switch (e->kind) {
    case TX_AST_NAME:
        if (!cx_has(cx, e->name) && is_declared_index(s, e->name) && peek_var(s, e->name) == TX_SYM_NONE)
            cx_add(s, cx, e->name, e->span);
        return;
    case TX_AST_ACCESS:
        for (int i = 0; i < e->nargs; i++) collect_sub(s, cx, e->args[i]);
        return;
    case TX_AST_REDUCE: {
        int save = cx->nbound;
        for (int i = 0; i < e->nidx; i++) cx_push(s, cx, e->idx[i].name);
        if (e->nargs > 0) collect(s, cx, e->args[0]);
        cx->nbound = save;
        return;
    }
    case TX_AST_CALL:
        if (is_elem_call(s, e))
            for (int i = 0; i < e->nargs; i++) collect(s, cx, e->args[i]);
        return;
    case TX_AST_UNARY: collect(s, cx, e->a); return;
    case TX_AST_BINARY:
        collect(s, cx, e->a);
        collect(s, cx, e->b);
        return;
    default: return;
    }
}

/* ---- using names ----------------------------------------------------------- */

static void err_undefined(sema *s, ictx *cx, const char *name, tx_span at) {
    /* one report per name: later uses of the same misspelling add nothing */
    for (int i = s->undef_base; i < s->nundef; i++)
        if (strcmp(s->undef[i], name) == 0) return;
    GROW(s, s->undef, s->nundef, s->capundef);
    s->undef[s->nundef++] = name;
    tx_diag *g = tx_error(s->d, at, "'%s' is not defined", name);
    const char *near = near_name(s, name, false);
    if (near) tx_hint(s->d, g, "did you mean '%s'?", near);
    else if (cx && cx->index_mode && cx->root && reduce_binds(cx->root, name))
        tx_hint(s->d, g, "'%s' is an index only inside the reduction that binds it", name);
    else if (cx && cx->index_mode)
        tx_hint(s->d, g, "an index must appear in a subscript of the statement (or be declared: index %s : n)", name);
}

/* Resolve a variable used as a value (or as the tensor of an access); reports
 * why it cannot be used.  Returns its kind, or NONE after an error. */
static tx_sym_kind use_var(sema *s, ictx *cx, const char *name, tx_span at) {
    binding *b = find_local(s, name);
    if (b) return b->kind;
    tx_sema_sym osym;
    if (!s->cur_def && outer_lookup(s, name, &osym) && osym.kind != TX_SYM_FUNC) return osym.kind;

    const later *l = find_later(s->lat, name, s->seq);
    const ictx *oc = outer_with_index(cx, name);
    if (l) {
        if (is_result_name(s, name))
            tx_error(s->d, at, "result '%s' of %s is used before it is assigned", name, s->cur_def->def_name.name);
        else
            tx_error(s->d, at, "'%s' is used before it is defined", name);
        tx_note(s->d, l->span, "'%s' is defined here", name);
    } else if (is_result_name(s, name)) {
        tx_error(s->d, at, "result '%s' of %s is used before it is assigned", name, s->cur_def->def_name.name);
    } else if (is_function(s, name, NULL)) {
        tx_error(s->d, at, "'%s' is a function, not a value; call it: %s(...)", name, name);
    } else if (tx_builtin_exists(name)) {
        tx_error(s->d, at, "'%s' is a builtin function, not a value; call it: %s(...)", name, name);
    } else if (oc) {
        tx_diag *g = tx_error(s->d, at, "index '%s' of the enclosing statement cannot be used inside %s(...)",
                              name, cx->call_name);
        tx_hint(s->d, g, "the arguments of %s are whole tensors, computed once before the statement",
                cx->call_name);
    } else if (s->cur_def && (find_global(s, name) || in_later(&s->top, name) ||
                              (outer_lookup(s, name, &osym) && osym.kind != TX_SYM_FUNC))) {
        tx_diag *g = tx_error(s->d, at, "'%s' is not visible inside def %s: pass it as a parameter", name,
                              s->cur_def->def_name.name);
        tx_hint(s->d, g, "a def sees only its parameters, results, size names and the names it binds");
    } else {
        err_undefined(s, cx, name, at);
    }
    return TX_SYM_NONE;
}

/* ---- expressions ------------------------------------------------------------ */

static void check_expr(sema *s, ictx *cx, tx_ast_expr *e);
static int check_call(sema *s, ictx *cx, tx_ast_expr *e, int want);

static void err_subscript(sema *s, tx_span at) {
    tx_error(s->d, at, "subscript must be affine in the indices with integer coefficients, e.g. X[2*i+k-1]");
}

static void check_sub(sema *s, ictx *cx, tx_ast_expr *e) {
    if (!e) return;
    switch (e->kind) {
    case TX_AST_NUM:
        if (e->num != floor(e->num))
            tx_error(s->d, e->span, "subscript %g is not a whole number", e->num);
        else if (fabs(e->num) > 9007199254740992.0) { /* 2^53, as ir/lower.c */
            tx_diag *g = tx_error(s->d, e->span, "subscript constant or coefficient is too large (the limit is 2^53)");
            tx_hint(s->d, g, "subscripts must address elements of a tensor that fits in memory");
        }
        return;
    case TX_AST_NAME: {
        if (cx_has(cx, e->name)) {
            e->sym = TX_SYM_INDEX;
            if (s->cur_def && !find_local(s, e->name)) {
                /* a global let is not visible here; say so rather than making it an index */
                binding *g = find_global(s, e->name);
                if (g && g->kind == TX_SYM_LET) {
                    tx_error(s->d, e->span, "'%s' is not visible inside def %s: pass it as a parameter",
                             e->name, s->cur_def->def_name.name);
                    return;
                }
            }
            return; /* an enclosing statement's index: reported by check_arg */
        }
        tx_sym_kind k = peek_var(s, e->name);
        e->sym = (int)k;
        if (k != TX_SYM_LET && k != TX_SYM_SIZE && k != TX_SYM_LOOPVAR) e->sym = TX_SYM_INDEX;
        return;
    }
    case TX_AST_UNARY:
        if (e->op != TX_OP_NEG && e->op != TX_OP_PLUS) break;
        check_sub(s, cx, e->a);
        return;
    case TX_AST_BINARY:
        if (e->op != TX_OP_ADD && e->op != TX_OP_SUB && e->op != TX_OP_MUL && e->op != TX_OP_DIV) break;
        check_sub(s, cx, e->a);
        check_sub(s, cx, e->b);
        return;
    case TX_AST_ACCESS:
    case TX_AST_CALL: {
        tx_diag *g = tx_error(s->d, e->span,
                              "subscript must be affine in the indices with integer coefficients, e.g. X[2*i+k-1]");
        tx_hint(s->d, g, "a tensor value cannot be used as a position");
        return;
    }
    default: break;
    }
    err_subscript(s, e->span);
}

/* Check one argument of a whole-tensor call as an expression of its own. */
static void check_arg(sema *s, ictx *cx, tx_ast_expr *e, const char *call_name) {
    if (!e) return;
    ictx sub = { 0 };
    sub.outer = cx;
    sub.call_name = call_name;
    sub.root = e;
    sub.index_mode = is_index_notation(s, e);
    if (sub.index_mode) {
        collect(s, &sub, e);
        for (int i = 0; i < sub.n; i++) {
            if (!outer_with_index(&sub, sub.names[i])) continue;
            tx_diag *g = tx_error(s->d, sub.spans[i],
                                  "index '%s' of the enclosing statement cannot be used inside %s(...)",
                                  sub.names[i], call_name);
            tx_hint(s->d, g, "the arguments of %s are whole tensors, computed once before the statement",
                    call_name);
        }
    }
    check_expr(s, &sub, e);
}

static void check_expr(sema *s, ictx *cx, tx_ast_expr *e) {
    if (!e) return;
    switch (e->kind) {
    case TX_AST_NUM:
    case TX_AST_IMAG: return;
    case TX_AST_STR:
        tx_error(s->d, e->span, "a string cannot be used as a value here");
        return;
    case TX_AST_NAME:
        if (cx->index_mode && cx_has(cx, e->name)) {
            e->sym = TX_SYM_INDEX;
            return;
        }
        e->sym = (int)use_var(s, cx, e->name, e->span);
        return;
    case TX_AST_ACCESS: {
        tx_sym_kind k = use_var(s, cx, e->name, e->name_span);
        e->sym = (int)k;
        if (k == TX_SYM_LET && is_outer_scalar(s, e->name))
            tx_error(s->d, e->span, "'%s' is a scalar: it takes no subscripts", e->name);
        else if (k == TX_SYM_LET)
            tx_error(s->d, e->span, "'%s' is a let constant, not a tensor: it takes no subscripts", e->name);
        else if (k == TX_SYM_SIZE)
            tx_error(s->d, e->span, "'%s' is a size of %s's signature, not a tensor: it takes no subscripts",
                     e->name, s->cur_def ? s->cur_def->def_name.name : "the def");
        else if (k == TX_SYM_LOOPVAR)
            tx_error(s->d, e->span, "'%s' is the for variable, a scalar: it takes no subscripts", e->name);
        for (int i = 0; i < e->nargs; i++) check_sub(s, cx, e->args[i]);
        return;
    }
    case TX_AST_REDUCE: {
        int save = cx->nbound;
        for (int i = 0; i < e->nidx; i++) {
            const tx_ast_ident *id = &e->idx[i];
            bool dup = false;
            for (int j = 0; j < i; j++)
                if (strcmp(e->idx[j].name, id->name) == 0) dup = true;
            if (dup) {
                tx_error(s->d, id->span, "index '%s' appears twice in %s[...]", id->name,
                         e->redop == TX_RED_SUM ? "sum" : e->redop == TX_RED_MAX ? "max" :
                         e->redop == TX_RED_MIN ? "min" : "prod");
                continue;
            }
            tx_sym_kind k = peek_var(s, id->name);
            if (cx_is_lhs(cx, id->name)) {
                tx_diag *g = tx_error(s->d, id->span, "index '%s' is on the left of %s and may not be reduced on the right",
                                      id->name, cx->target ? cx->target : "the statement");
                tx_hint(s->d, g, "use another name for the reduction index");
            } else if ((k == TX_SYM_LET || k == TX_SYM_SIZE || k == TX_SYM_LOOPVAR) && !is_outer_scalar(s, id->name)) {
                tx_error(s->d, id->span, "'%s' is a %s and cannot be a reduction index", id->name, kind_word(k));
            }
            cx_push(s, cx, id->name);
        }
        if (e->nargs > 0) check_expr(s, cx, e->args[0]);
        cx->nbound = save;
        return;
    }
    case TX_AST_CALL: check_call(s, cx, e, 1); return;
    case TX_AST_UNARY: check_expr(s, cx, e->a); return;
    case TX_AST_BINARY:
        check_expr(s, cx, e->a);
        check_expr(s, cx, e->b);
        return;
    }
}

/* ---- calls ------------------------------------------------------------------- */

static const char *builtin_results(int id) {
    switch (id) {
    case TX_B_EIGH: return "w, V";
    case TX_B_SVD: return "U, s, Vt";
    case TX_B_QR: return "Q, R";
    default: return NULL;
    }
}

static const char *join_params(sema *s, const tx_ast_param *p, int n) {
    size_t len = 1;
    for (int i = 0; i < n; i++) len += strlen(p[i].id.name) + 2;
    char *buf = tx_arena_alloc(s->a, len);
    for (int i = 0; i < n; i++) {
        if (i) strcat(buf, ", ");
        strcat(buf, p[i].id.name);
    }
    return buf;
}

/* What a call refers to. */
typedef struct callee {
    enum { CALLEE_NONE, CALLEE_BUILTIN, CALLEE_DEF, CALLEE_OUTER } kind;
    int builtin;
    int def;                   /* index in s->defs */
    int nparams, nresults;
    const char *params, *results;
} callee;

static bool wants_string(int id, int k) {
    return ((id == TX_B_LOAD || id == TX_B_SAVE) && k == 0) || (id == TX_B_CAST && k == 1);
}

static void check_string_arg(sema *s, int id, tx_ast_expr *arg) {
    if (arg->kind != TX_AST_STR) {
        if (id == TX_B_CAST)
            tx_error(s->d, arg->span, "cast's second argument must be a dtype string: \"f64\", \"f32\", \"c128\" or \"c64\"");
        else if (id == TX_B_SAVE)
            tx_error(s->d, arg->span, "save's first argument must be a string path, e.g. save(\"out.npy\", X)");
        else
            tx_error(s->d, arg->span, "load's argument must be a string path, e.g. load(\"in.npy\")");
        return;
    }
    if (id == TX_B_CAST) {
        static const char *const dts[] = { "f64", "f32", "c128", "c64" };
        for (int i = 0; i < 4; i++)
            if ((int)strlen(dts[i]) == arg->str_len && memcmp(arg->str, dts[i], (size_t)arg->str_len) == 0) return;
        tx_error(s->d, arg->span, "unknown dtype \"%.*s\": cast takes \"f64\", \"f32\", \"c128\" or \"c64\"",
                 arg->str_len > 40 ? 40 : arg->str_len, arg->str);
    } else if (arg->str_len == 0) {
        tx_error(s->d, arg->span, "the path of %s is empty", tx_builtins[id].name);
    }
}

/* Check a call; `want` is 1 when it is used as a value (exactly one result
 * needed), -1 at statement level.  Returns the number of results, or -1
 * when unknown after an error. */
static int check_call(sema *s, ictx *cx, tx_ast_expr *e, int want) {
    callee c = { 0 };
    tx_sema_sym osym;
    e->builtin = -1;
    int di = find_def(s, e->name);
    if (di >= 0) {
        tx_ast_stmt *def = s->defs[di];
        c.kind = CALLEE_DEF;
        c.def = di;
        c.nparams = def->nparams;
        c.nresults = def->nresults;
        c.params = join_params(s, def->params, def->nparams);
        c.results = join_params(s, def->results, def->nresults);
        if (s->cur_def) {
            GROW(s, s->edges, s->nedges, s->capedges);
            s->edges[s->nedges++] = (edge){ s->cur_def_id, di, e->name_span };
        }
    } else if (outer_lookup(s, e->name, &osym) && osym.kind == TX_SYM_FUNC) {
        c.kind = CALLEE_OUTER;
        c.nparams = osym.nparams;
        c.nresults = osym.nresults;
        c.params = osym.params;
        c.results = osym.results;
    } else if (tx_builtin_exists(e->name)) {
        c.kind = CALLEE_BUILTIN;
        c.builtin = tx_builtin_lookup(e->name, e->nargs);
        c.nresults = tx_builtins[c.builtin].nresults;
        c.results = builtin_results(c.builtin);
        e->builtin = c.builtin;
    } else {
        tx_sym_kind k = peek_var(s, e->name);
        if (k != TX_SYM_NONE) {
            tx_diag *g = tx_error(s->d, e->name_span, "'%s' is a %s, not a function", e->name, kind_word(k));
            if (k == TX_SYM_TENSOR) tx_hint(s->d, g, "to index it, use brackets: %s[...]", e->name);
        } else {
            tx_diag *g = tx_error(s->d, e->name_span, "unknown function '%s'", e->name);
            const char *near = near_name(s, e->name, true);
            if (near) tx_hint(s->d, g, "did you mean '%s'?", near);
        }
        /* still look at the arguments */
        for (int i = 0; i < e->nargs; i++)
            if (e->args[i] && e->args[i]->kind != TX_AST_STR) check_arg(s, cx, e->args[i], e->name);
        for (int i = 0; i < e->nkwargs; i++)
            if (e->kwargs[i].value && e->kwargs[i].value->kind != TX_AST_STR)
                check_arg(s, cx, e->kwargs[i].value, e->name);
        return -1;
    }

    /* arity */
    if (c.kind == CALLEE_BUILTIN) {
        const tx_builtin_info *bi = &tx_builtins[c.builtin];
        if (e->nargs < bi->min_args || (bi->max_args >= 0 && e->nargs > bi->max_args)) {
            char buf[80];
            tx_error(s->d, e->span, "%s takes %s but %d %s given", e->name,
                     tx_builtin_arity_str(c.builtin, buf, sizeof buf), e->nargs, e->nargs == 1 ? "was" : "were");
        }
    } else if (e->nargs != c.nparams) {
        if (c.params && *c.params)
            tx_error(s->d, e->span, "%s takes %d argument%s (%s) but %d %s given", e->name, c.nparams,
                     c.nparams == 1 ? "" : "s", c.params, e->nargs, e->nargs == 1 ? "was" : "were");
        else
            tx_error(s->d, e->span, "%s takes %d argument%s but %d %s given", e->name, c.nparams,
                     c.nparams == 1 ? "" : "s", e->nargs, e->nargs == 1 ? "was" : "were");
    }

    /* keywords */
    for (int i = 0; i < e->nkwargs; i++) {
        tx_ast_kwarg *kw = &e->kwargs[i];
        for (int j = 0; j < i; j++)
            if (strcmp(e->kwargs[j].name, kw->name) == 0) {
                tx_error(s->d, kw->name_span, "keyword '%s' is given twice", kw->name);
                tx_note(s->d, e->kwargs[j].name_span, "first given here");
                break;
            }
        if (c.kind != CALLEE_BUILTIN) {
            if (i == 0)
                tx_error(s->d, kw->name_span, "%s is a user function and takes no keyword arguments", e->name);
        } else if (!tx_builtin_has_kwarg(c.builtin, kw->name)) {
            const char *kws = tx_builtins[c.builtin].kwargs;
            if (!*kws) {
                tx_error(s->d, kw->name_span, "%s takes no keyword arguments", e->name);
            } else {
                char list[128];
                snprintf(list, sizeof list, "%s", kws);
                for (char *p = list; *p; p++)
                    if (*p == ',') *p = '/';
                tx_error(s->d, kw->name_span, "%s has no keyword '%s'; it takes %s", e->name, kw->name, list);
            }
        }
        if (kw->value && kw->value->kind == TX_AST_STR)
            tx_error(s->d, kw->value->span, "keyword '%s' of %s takes a number, not a string", kw->name, e->name);
        else
            check_arg(s, cx, kw->value, e->name);
    }

    /* arguments */
    bool elem = c.kind == CALLEE_BUILTIN && tx_builtins[c.builtin].kind == TX_BK_ELEM;
    for (int i = 0; i < e->nargs; i++) {
        tx_ast_expr *arg = e->args[i];
        if (!arg) continue;
        if (c.kind == CALLEE_BUILTIN && wants_string(c.builtin, i)) {
            check_string_arg(s, c.builtin, arg);
        } else if (arg->kind == TX_AST_STR) {
            tx_error(s->d, arg->span, "argument %d of %s must be a tensor, not a string", i + 1, e->name);
        } else if (elem) {
            check_expr(s, cx, arg);
        } else {
            check_arg(s, cx, arg, e->name);
        }
    }

    /* results */
    if (want == 1 && c.nresults != 1) {
        if (c.nresults == 0) {
            tx_error(s->d, e->span, "%s returns no value", e->name);
        } else {
            tx_diag *g;
            if (c.results)
                g = tx_error(s->d, e->span, "%s returns %d results (%s) and cannot be used inside an expression",
                             e->name, c.nresults, c.results);
            else
                g = tx_error(s->d, e->span, "%s returns %d results and cannot be used inside an expression",
                             e->name, c.nresults);
            tx_hint(s->d, g, "bind them first: %s = %s(...)", c.results ? c.results : "a, b", e->name);
        }
    }
    return c.nresults;
}

/* Check a value that stands alone (the right-hand side of X = ..., a let, a
 * print item...): index notation or whole-tensor by its form. */
static void check_value(sema *s, tx_ast_expr *e) {
    if (!e) return;
    ictx cx = { 0 };
    cx.root = e;
    cx.index_mode = is_index_notation(s, e);
    if (cx.index_mode) collect(s, &cx, e);
    check_expr(s, &cx, e);
}

static void err_results_bound(sema *s, tx_ast_expr *call, int nres, int nbound) {
    const char *res = NULL;
    if (call->builtin >= 0) res = builtin_results(call->builtin);
    else {
        int di = find_def(s, call->name);
        tx_sema_sym o;
        if (di >= 0) res = join_params(s, s->defs[di]->results, s->defs[di]->nresults);
        else if (outer_lookup(s, call->name, &o)) res = o.results;
    }
    char what[160] = "";
    if (res && *res) snprintf(what, sizeof what, " (%s)", res);
    tx_error(s->d, call->span, "%s returns %d result%s%s but %d name%s %s bound", call->name, nres,
             nres == 1 ? "" : "s", what, nbound, nbound == 1 ? "" : "s", nbound == 1 ? "is" : "are");
}

/* ---- statements ----------------------------------------------------------- */

static void check_stmts(sema *s, tx_ast_stmt **st, int n);

/* May `id` be bound as a tensor here?  Reports why not. */
static bool check_target_name(sema *s, const tx_ast_ident *id, bool accumulate) {
    const char *name = id->name;
    if (tx_builtin_exists(name)) {
        tx_error(s->d, id->span, "'%s' is a builtin function; a variable needs another name", name);
        return false;
    }
    if (is_function(s, name, NULL)) {
        tx_error(s->d, id->span, "'%s' is a function; a variable needs another name", name);
        return false;
    }
    binding *b = find_local(s, name);
    if (b) {
        switch (b->kind) {
        case TX_SYM_LET:
            tx_error(s->d, id->span, "cannot assign to '%s': it is a let constant", name);
            tx_note(s->d, b->span, "'%s' is defined here", name);
            return false;
        case TX_SYM_SIZE:
            tx_error(s->d, id->span, "cannot assign to '%s': it is a size of %s's signature", name,
                     s->cur_def ? s->cur_def->def_name.name : "the def");
            return false;
        case TX_SYM_LOOPVAR:
            tx_error(s->d, id->span, "cannot assign to '%s': it is the variable of the enclosing for", name);
            return false;
        default: return true;
        }
    }
    tx_sema_sym o;
    if (!s->cur_def && outer_lookup(s, name, &o)) return true; /* earlier units' names may be rebound */
    if (accumulate) {
        if (s->cur_def && (find_global(s, name) || in_later(&s->top, name))) {
            tx_error(s->d, id->span, "'%s' is not visible inside def %s: pass it as a parameter", name,
                     s->cur_def->def_name.name);
        } else {
            tx_diag *g = tx_error(s->d, id->span, "'%s' is not defined: += accumulates into an existing tensor", name);
            tx_hint(s->d, g, "use = for its first definition");
        }
        return false;
    }
    return true;
}

static void bind_tensor(sema *s, const tx_ast_ident *id) {
    binding *b = find_local(s, id->name);
    if (b) return;
    push_binding(s, id->name, TX_SYM_TENSOR, id->span);
}

static const char *target_text(sema *s, const tx_ast_target *t) {
    size_t len = strlen(t->id.name) + 3;
    for (int i = 0; i < t->nsubs; i++)
        len += (t->subs[i] && t->subs[i]->kind == TX_AST_NAME ? strlen(t->subs[i]->name) : 3) + 1;
    char *buf = tx_arena_alloc(s->a, len + 1);
    strcpy(buf, t->id.name);
    strcat(buf, "[");
    for (int i = 0; i < t->nsubs; i++) {
        if (i) strcat(buf, ",");
        strcat(buf, t->subs[i] && t->subs[i]->kind == TX_AST_NAME ? t->subs[i]->name : "...");
    }
    strcat(buf, "]");
    return buf;
}

/* An output subscript that is a position, not an index: numbers, lets,
 * sizes and for variables with + - * / (H[t, i] = ... writes row t of H). */
static bool is_position(sema *s, const tx_ast_expr *e) {
    if (!e) return false;
    switch (e->kind) {
    case TX_AST_NUM: return true;
    case TX_AST_NAME: {
        tx_sym_kind k = peek_var(s, e->name);
        return (k == TX_SYM_LET || k == TX_SYM_SIZE || k == TX_SYM_LOOPVAR) && !is_outer_scalar(s, e->name);
    }
    case TX_AST_UNARY: return (e->op == TX_OP_NEG || e->op == TX_OP_PLUS) && is_position(s, e->a);
    case TX_AST_BINARY:
        return (e->op == TX_OP_ADD || e->op == TX_OP_SUB || e->op == TX_OP_MUL || e->op == TX_OP_DIV) &&
               is_position(s, e->a) && is_position(s, e->b);
    default: return false;
    }
}

static void check_indexed_assign(sema *s, tx_ast_stmt *st) {
    tx_ast_target *t = &st->targets[0];
    ictx cx = { 0 };
    cx.index_mode = true;
    cx.root = st->value;
    cx.target = target_text(s, t);
    bool into = false;   /* some subscripts are positions: assign into part of an existing tensor */
    for (int i = 0; i < t->nsubs; i++) into |= t->subs[i] && is_position(s, t->subs[i]);
    bool ok;
    if (into && !find_local(s, t->id.name) && !(!s->cur_def && outer_lookup(s, t->id.name, &(tx_sema_sym){ 0 }))) {
        tx_diag *g = tx_error(s->d, t->id.span, "'%s' is not defined: %s %s ... assigns into part of an existing tensor",
                              t->id.name, cx.target, st->accumulate ? "+=" : "=");
        tx_hint(s->d, g, "create it first, e.g. %s = zeros(...)", t->id.name);
        ok = false;
    } else {
        ok = check_target_name(s, &t->id, st->accumulate);
    }
    for (int i = 0; i < t->nsubs; i++) {
        tx_ast_expr *sub = t->subs[i];
        if (!sub) continue;
        if (is_position(s, sub)) {
            check_sub(s, &cx, sub);
            continue;
        }
        if (sub->kind == TX_AST_NAME) {
            if (cx_has(&cx, sub->name)) {
                tx_diag *g = tx_error(s->d, sub->span, "%s = ...: an output index may appear only once",
                                      cx.target);
                tx_hint(s->d, g, "for a diagonal matrix, multiply by the identity: X[i,j] = d[i] * I[i,j] with I = eye(n)");
                continue;
            }
            sub->sym = TX_SYM_INDEX;
            cx_add(s, &cx, sub->name, sub->span);
        } else {
            tx_diag *g = tx_error(s->d, sub->span, "an output subscript must be an index name or a position, "
                                                   "not an expression of indices");
            tx_hint(s->d, g, "X[t, i] = ... with t a for variable, a let or a number writes part of X");
        }
    }
    cx.nlhs = cx.n;
    collect(s, &cx, st->value);
    check_expr(s, &cx, st->value);
    if (ok) bind_tensor(s, &t->id);
}

static void check_assign(sema *s, tx_ast_stmt *st) {
    if (st->ntargets <= 0 || !st->targets) return;
    tx_ast_expr *v = st->value;
    if (st->ntargets > 1) {
        if (st->accumulate) tx_error(s->d, st->op_span, "+= cannot bind several names");
        for (int i = 0; i < st->ntargets; i++) {
            tx_ast_target *t = &st->targets[i];
            if (t->indexed)
                tx_error(s->d, t->span, "a tuple binding takes plain names, not %s[...]", t->id.name);
            for (int j = 0; j < i; j++)
                if (strcmp(st->targets[j].id.name, t->id.name) == 0)
                    tx_error(s->d, t->id.span, "'%s' is bound twice in one statement", t->id.name);
        }
        if (!v) return;
        if (!is_whole_call(s, v)) {
            tx_error(s->d, v->span, "only a call that returns several results can be bound to %d names",
                     st->ntargets);
            check_value(s, v);
        } else {
            ictx cx = { 0 };
            int nres = check_call(s, &cx, v, -1);
            if (nres >= 0 && nres != st->ntargets) err_results_bound(s, v, nres, st->ntargets);
        }
        for (int i = 0; i < st->ntargets; i++)
            if (check_target_name(s, &st->targets[i].id, false)) bind_tensor(s, &st->targets[i].id);
        return;
    }
    tx_ast_target *t = &st->targets[0];
    if (t->indexed) {
        check_indexed_assign(s, st);
        return;
    }
    bool ok = check_target_name(s, &t->id, st->accumulate);
    if (v && is_whole_call(s, v)) {
        ictx cx = { 0 };
        int nres = check_call(s, &cx, v, -1);
        if (nres == 0) tx_error(s->d, v->span, "%s returns no value", v->name);
        else if (nres > 1) err_results_bound(s, v, nres, 1);
    } else if (v && v->kind == TX_AST_STR) {
        tx_error(s->d, v->span, "a string cannot be assigned to a variable");
    } else {
        check_value(s, v);
    }
    if (ok) bind_tensor(s, &t->id);
}

static void check_let(sema *s, tx_ast_stmt *st) {
    const tx_ast_ident *id = &st->let_name;
    tx_ast_expr *v = st->value;
    if (v && v->kind == TX_AST_STR) tx_error(s->d, v->span, "a let needs a number, not a string");
    else if (v && is_whole_call(s, v)) {
        ictx cx = { 0 };
        int nres = check_call(s, &cx, v, -1);
        if (nres == 0) tx_error(s->d, v->span, "%s returns no value", v->name);
        else if (nres > 1) err_results_bound(s, v, nres, 1);
    } else check_value(s, v);

    if (tx_builtin_exists(id->name)) {
        tx_error(s->d, id->span, "'%s' is a builtin function; a let needs another name", id->name);
        return;
    }
    if (is_function(s, id->name, NULL)) {
        tx_error(s->d, id->span, "'%s' is a function; a let needs another name", id->name);
        return;
    }
    binding *b = find_local(s, id->name);
    if (b) {
        if (b->kind == TX_SYM_LET)
            tx_error(s->d, id->span, "let '%s' is already defined", id->name);
        else
            tx_error(s->d, id->span, "'%s' is already defined as a %s; a let needs a name of its own", id->name,
                     kind_word(b->kind));
        tx_note(s->d, b->span, "'%s' is first defined here", id->name);
        return;
    }
    push_binding(s, id->name, TX_SYM_LET, id->span);
}

/* Deepest nesting of for loops in one unit (a script or a def body): far
 * beyond real programs, and it keeps the checker's per-loop fixpoint cheap. */
#define MAX_LOOP_NESTING 32

static void check_for(sema *s, tx_ast_stmt *st) {
    check_value(s, st->lo);
    check_value(s, st->hi);
    const char *name = st->var.name;
    binding *b = name ? find_local(s, name) : NULL;
    bool ok = name != NULL;
    if (name && (tx_builtin_exists(name) || is_function(s, name, NULL))) {
        tx_error(s->d, st->var.span, "'%s' is a function; the for variable needs another name", name);
        ok = false;
    } else if (b && b->kind == TX_SYM_LOOPVAR) {
        tx_error(s->d, st->var.span, "'%s' is already the variable of an enclosing for", name);
        tx_note(s->d, b->span, "the enclosing for is here");
        ok = false;
    } else if (b) {
        tx_error(s->d, st->var.span, "for variable '%s' would hide the %s '%s'", name, kind_word(b->kind), name);
        tx_note(s->d, b->span, "'%s' is defined here", name);
        ok = false;
    }
    int var_at = -1;
    if (ok) {
        push_binding(s, name, TX_SYM_LOOPVAR, st->var.span);
        var_at = s->nb - 1;
    }
    int save_ids = s->nids;
    s->loop_depth++;
    if (s->loop_depth == MAX_LOOP_NESTING + 1) {
        /* once, at the first loop too deep; its body is not checked */
        tx_diag *g = tx_error(s->d, st->var.span, "for loops nested too deeply (more than %d levels)",
                              MAX_LOOP_NESTING);
        tx_hint(s->d, g, "move the inner loops into a def");
    } else if (s->loop_depth <= MAX_LOOP_NESTING) {
        check_stmts(s, st->body, st->nbody);
    }
    s->loop_depth--;
    s->nids = save_ids;
    if (var_at >= 0) s->b[var_at].kind = TX_SYM_NONE; /* names bound in the body stay visible */
}

static void check_index_decl(sema *s, tx_ast_stmt *st) {
    if (st->value && st->value->kind == TX_AST_STR) tx_error(s->d, st->value->span, "an index size must be a number, not a string");
    else if (st->value && is_whole_call(s, st->value)) {
        ictx cx = { 0 };
        check_call(s, &cx, st->value, 1);
    } else check_value(s, st->value);
    for (int i = 0; i < st->nnames; i++) {
        const tx_ast_ident *id = &st->names[i];
        bool dup = false;
        for (int j = 0; j < i; j++)
            if (strcmp(st->names[j].name, id->name) == 0) dup = true;
        if (dup) {
            tx_error(s->d, id->span, "index '%s' is declared twice", id->name);
            continue;
        }
        tx_sym_kind k = peek_var(s, id->name);
        if (k != TX_SYM_NONE) {
            tx_error(s->d, id->span, "'%s' is already a %s; an index needs a name of its own", id->name,
                     kind_word(k));
            continue;
        }
        GROW(s, s->ids, s->nids, s->capids);
        s->ids[s->nids++] = (idecl){ id->name, id->span };
    }
}

static void prescan(sema *s, later_list *l, tx_ast_stmt **st, int n, int *seq) {
    for (int i = 0; i < n; i++) {
        tx_ast_stmt *x = st[i];
        ++*seq;
        if (!x) continue;
        if (x->kind == TX_AST_ASSIGN) {
            for (int k = 0; k < x->ntargets; k++) {
                GROW(s, l->v, l->n, l->cap);
                l->v[l->n++] = (later){ x->targets[k].id.name, x->targets[k].id.span, *seq };
            }
        } else if (x->kind == TX_AST_LET) {
            GROW(s, l->v, l->n, l->cap);
            l->v[l->n++] = (later){ x->let_name.name, x->let_name.span, *seq };
        } else if (x->kind == TX_AST_FOR) {
            prescan(s, l, x->body, x->nbody, seq);
        }
    }
}

static bool returns_values(tx_ast_stmt **st, int n) {
    for (int i = 0; i < n; i++) {
        if (!st[i]) continue;
        if (st[i]->kind == TX_AST_RETURN && st[i]->nargs > 0) return true;
        if (st[i]->kind == TX_AST_FOR && returns_values(st[i]->body, st[i]->nbody)) return true;
    }
    return false;
}

static void check_def(sema *s, tx_ast_stmt *st) {
    const char *fname = st->def_name.name;
    if (s->cur_def || s->loop_depth > 0) {
        tx_error(s->d, st->def_name.span, "a def must be at the top level, not inside %s",
                 s->cur_def ? "another def" : "a for loop");
        return;
    }
    int id = find_def(s, fname);
    if (id < 0 || s->defs[id] != st) return; /* a duplicate: reported by the prescan */

    /* signature */
    const char **sizes = NULL;
    tx_span *size_spans = NULL;
    int nsizes = 0, capsizes = 0;
    int base = s->nb;
    for (int r = 0; r < 2; r++) {
        tx_ast_param *ps = r ? st->results : st->params;
        int np = r ? st->nresults : st->nparams;
        for (int i = 0; i < np; i++) {
            tx_ast_param *p = &ps[i];
            for (int j = 0; j < i; j++) {
                if (strcmp(ps[j].id.name, p->id.name) == 0) {
                    tx_error(s->d, p->id.span, "duplicate %s '%s' in def %s", r ? "result" : "parameter",
                             p->id.name, fname);
                    tx_note(s->d, ps[j].id.span, "first declared here");
                }
            }
            if (r == 1)
                for (int j = 0; j < st->nparams; j++)
                    if (strcmp(st->params[j].id.name, p->id.name) == 0) {
                        tx_error(s->d, p->id.span, "'%s' is both a parameter and a result of %s", p->id.name, fname);
                        break;
                    }
            if (tx_builtin_exists(p->id.name) || find_def(s, p->id.name) >= 0)
                tx_error(s->d, p->id.span, "'%s' is a function; a %s needs another name", p->id.name,
                         r ? "result" : "parameter");
            for (int k = 0; k < p->ndims; k++) {
                const char *dn = p->dims[k].name;
                if (!dn) continue;
                bool seen = false;
                for (int q = 0; q < nsizes; q++)
                    if (strcmp(sizes[q], dn) == 0) seen = true;
                if (seen) continue;
                bool clash = false;
                for (int q = 0; q < st->nparams && !clash; q++)
                    if (strcmp(st->params[q].id.name, dn) == 0) clash = true;
                for (int q = 0; q < st->nresults && !clash; q++)
                    if (strcmp(st->results[q].id.name, dn) == 0) clash = true;
                if (clash) {
                    tx_error(s->d, p->dims[k].span, "size '%s' has the name of a parameter or result of %s", dn,
                             fname);
                    continue;
                }
                GROW(s, sizes, nsizes, capsizes);
                size_spans = tx_arena_grow(s->a, size_spans, (size_t)nsizes, (size_t)capsizes, sizeof *size_spans);
                size_spans[nsizes] = p->dims[k].span;
                sizes[nsizes++] = dn;
            }
        }
    }
    s->unit_base = base;
    for (int i = 0; i < st->nparams; i++) {
        bool dup = false;
        for (int j = 0; j < i; j++)
            if (strcmp(st->params[j].id.name, st->params[i].id.name) == 0) dup = true;
        if (!dup) push_binding(s, st->params[i].id.name, TX_SYM_TENSOR, st->params[i].id.span)->param = true;
    }
    for (int i = 0; i < nsizes; i++) push_binding(s, sizes[i], TX_SYM_SIZE, size_spans[i]);

    /* body */
    later_list body = { 0 };
    int seq = 0;
    prescan(s, &body, st->body, st->nbody, &seq);
    later_list *save_lat = s->lat;
    int save_seq = s->seq, save_ids = s->nids;
    s->lat = &body;
    s->seq = 0;
    s->nids = 0;
    int save_undef = s->nundef;
    s->undef_base = s->nundef;
    s->cur_def = st;
    s->cur_def_id = id;
    /* index declarations of the script are not visible inside */
    idecl *save_idv = s->ids;
    int save_capids = s->capids;
    s->ids = NULL;
    s->capids = 0;

    check_stmts(s, st->body, st->nbody);

    bool ret = returns_values(st->body, st->nbody);
    for (int i = 0; i < st->nresults; i++)
        if (!ret && !in_later(&body, st->results[i].id.name))
            tx_error(s->d, st->results[i].id.span, "result '%s' of %s is never assigned", st->results[i].id.name,
                     fname);

    s->nundef = save_undef;
    s->undef_base = 0;
    s->ids = save_idv;
    s->capids = save_capids;
    s->nids = save_ids;
    s->cur_def = NULL;
    s->lat = save_lat;
    s->seq = save_seq;
    s->nb = base;
    s->unit_base = 0;
}

static void check_return(sema *s, tx_ast_stmt *st) {
    if (!s->cur_def) {
        tx_error(s->d, st->span, "return outside a def");
        return;
    }
    tx_ast_stmt *def = s->cur_def;
    if (st->nargs > 0 && st->nargs != def->nresults)
        tx_error(s->d, st->span, "%s has %d result%s (%s) but return gives %d value%s", def->def_name.name,
                 def->nresults, def->nresults == 1 ? "" : "s", join_params(s, def->results, def->nresults),
                 st->nargs, st->nargs == 1 ? "" : "s");
    for (int i = 0; i < st->nargs; i++) {
        tx_ast_expr *v = st->args[i];
        if (v && is_whole_call(s, v)) {
            ictx cx = { 0 };
            check_call(s, &cx, v, 1);
        } else check_value(s, v);
    }
}

static void check_stmt(sema *s, tx_ast_stmt *st) {
    switch (st->kind) {
    case TX_AST_LET: check_let(s, st); break;
    case TX_AST_ASSIGN: check_assign(s, st); break;
    case TX_AST_EXPR: {
        tx_ast_expr *v = st->value;
        if (!v) break;
        if (v->kind == TX_AST_STR) {
            tx_diag *g = tx_error(s->d, v->span, "a string alone is not a statement");
            tx_hint(s->d, g, "to show it, write: print \"...\"");
        } else if (is_whole_call(s, v)) {
            ictx cx = { 0 };
            int nres = check_call(s, &cx, v, -1);
            if (nres > 1) {
                const char *res = v->builtin >= 0 ? builtin_results(v->builtin) : NULL;
                tx_diag *g = tx_error(s->d, v->span, "%s returns %d results; bind them to names", v->name, nres);
                tx_hint(s->d, g, "%s = %s(...)", res ? res : "a, b", v->name);
            }
        } else check_value(s, v);
        break;
    }
    case TX_AST_PRINT:
        for (int i = 0; i < st->nargs; i++) {
            tx_ast_expr *v = st->args[i];
            if (!v || v->kind == TX_AST_STR) continue;
            if (is_whole_call(s, v)) {
                ictx cx = { 0 };
                check_call(s, &cx, v, 1);
            } else check_value(s, v);
        }
        break;
    case TX_AST_ASSERT:
        if (st->value && st->value->kind == TX_AST_STR)
            tx_error(s->d, st->value->span, "assert needs a condition, not a string");
        else if (st->value && is_whole_call(s, st->value)) {
            ictx cx = { 0 };
            check_call(s, &cx, st->value, 1);
        } else check_value(s, st->value);
        if (st->nargs > 0 && st->args[0] && st->args[0]->kind != TX_AST_STR)
            tx_error(s->d, st->args[0]->span, "the message of assert must be a string");
        break;
    case TX_AST_FOR: check_for(s, st); break;
    case TX_AST_INDEX: check_index_decl(s, st); break;
    case TX_AST_DEF: check_def(s, st); break;
    case TX_AST_RETURN: check_return(s, st); break;
    }
}

static void check_stmts(sema *s, tx_ast_stmt **st, int n) {
    for (int i = 0; i < n; i++) {
        s->seq++;
        if (st[i]) check_stmt(s, st[i]);
    }
}

/* ---- recursion -------------------------------------------------------------- */

static void dfs(sema *s, int v, int *state, int *stack, int depth) {
    state[v] = 1;
    stack[depth] = v;
    for (int k = 0; k < s->nedges; k++) {
        edge *e = &s->edges[k];
        if (e->from != v) continue;
        if (state[e->to] == 1) {
            const char *callee = s->defs[e->to]->def_name.name;
            if (e->to == v) {
                tx_error(s->d, e->span, "recursive call to '%s' is not supported", callee);
            } else {
                char chain[512] = "";
                int start = depth;
                while (start > 0 && stack[start] != e->to) start--;
                for (int q = start; q <= depth; q++) {
                    size_t len = strlen(chain);
                    snprintf(chain + len, sizeof chain - len, "%s -> ", s->defs[stack[q]]->def_name.name);
                }
                size_t len = strlen(chain);
                snprintf(chain + len, sizeof chain - len, "%s", callee);
                tx_error(s->d, e->span, "recursive call to '%s' is not supported (%s)", callee, chain);
            }
        } else if (state[e->to] == 0) {
            dfs(s, e->to, state, stack, depth + 1);
        }
    }
    state[v] = 2;
}

static void check_recursion(sema *s) {
    if (!s->nedges) return;
    int *state = TX_NEWN(s->a, int, s->ndefs);
    int *stack = TX_NEWN(s->a, int, s->ndefs + 1);
    for (int v = 0; v < s->ndefs; v++)
        if (!state[v]) dfs(s, v, state, stack, 0);
}

/* ---- entry -------------------------------------------------------------------- */

/* Move the diagnostics of `from` to the end of `to`, ordered by position
 * (stable; a note stays after the error it explains). */
static void append_sorted(tx_arena *a, tx_diags *to, tx_diags *from) {
    int ng = 0;
    for (tx_diag *g = from->head; g; g = g->next)
        if (g->sev != TX_NOTE || g == from->head) ng++;
    if (!ng) return;
    tx_diag **first = TX_NEWN(a, tx_diag *, ng);
    tx_diag **last = TX_NEWN(a, tx_diag *, ng);
    int k = -1;
    for (tx_diag *g = from->head; g; g = g->next) {
        if (g->sev != TX_NOTE || k < 0) first[++k] = g;
        last[k] = g;
    }
    for (int i = 1; i < ng; i++) { /* insertion sort: few groups, stable */
        tx_diag *f = first[i], *l = last[i];
        int j = i - 1;
        while (j >= 0 && first[j]->span.lo > f->span.lo) {
            first[j + 1] = first[j];
            last[j + 1] = last[j];
            j--;
        }
        first[j + 1] = f;
        last[j + 1] = l;
    }
    for (int i = 0; i < ng; i++) {
        *to->tail = first[i];
        to->tail = &last[i]->next;
        last[i]->next = NULL;
    }
    to->nerr += from->nerr;
    to->nruntime += from->nruntime;
}

bool tx_sema(tx_arena *a, tx_ast_program *p, const tx_sema_outer *outer, tx_diags *dout) {
    if (!p) return dout->nerr == 0;
    /* collect into a list of our own, then hand the diagnostics over in
     * source order (defs and recursion are checked out of order) */
    tx_diags local, *d = &local;
    tx_diags_init(&local, dout->arena ? dout->arena : a, dout->src);
    local.limit = dout->limit ? (dout->limit > dout->nerr ? dout->limit - dout->nerr : 1) : 0;
    int nerr0 = 0;
    sema s;
    memset(&s, 0, sizeof s);
    s.a = a;
    s.d = d;
    s.outer = outer;

    /* defs first: visible in the whole unit */
    for (int i = 0; i < p->nstmts; i++) {
        tx_ast_stmt *st = p->stmts[i];
        if (!st || st->kind != TX_AST_DEF || !st->def_name.name) continue;
        const char *name = st->def_name.name;
        if (tx_builtin_exists(name)) {
            tx_error(d, st->def_name.span, "'%s' is a builtin function; a def needs another name", name);
            continue;
        }
        int prev = find_def(&s, name);
        if (prev >= 0) {
            tx_error(d, st->def_name.span, "def '%s' is defined twice", name);
            tx_note(d, s.defs[prev]->def_name.span, "first defined here");
            continue;
        }
        GROW(&s, s.defs, s.ndefs, s.capdefs);
        s.defs[s.ndefs++] = st;
    }

    int seq = 0;
    prescan(&s, &s.top, p->stmts, p->nstmts, &seq);
    s.lat = &s.top;
    check_stmts(&s, p->stmts, p->nstmts);
    check_recursion(&s);
    bool ok = d->nerr == nerr0;
    append_sorted(a, dout, &local);
    return ok;
}
