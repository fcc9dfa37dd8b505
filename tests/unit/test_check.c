/*
 * test_check.c -- ir/check.c: index ranges, def types, ellipsis expansion,
 * call typing and the static checker.
 *
 * Most of the TIR under test is built by a small parser in this file (not
 * the real front end), so each case reads like the source it stands for
 * and does not depend on the parser, sema or lowering:
 *
 *   def(t, "C[i,j] = A[i,k] * B[k,j]")       index notation; indices on
 *                                           the right only are summed
 *   def(t, "C = A + 2*B")                    whole-tensor (ellipsis) def
 *   def(t, "let n = 4")                      a let
 *   def(t, "w, V = eigh(A)")                 a CALL (builtin or user function)
 *
 * Names inside [...] are indices; a bare name is an index when it also
 * appears inside brackets (or is listed with index_names()), else a whole
 * access.  Variable types come from var()/val() through a tx_lookup.
 * Statement texts are appended to one buffer so diagnostic spans can be
 * checked as the text they cover.  The source_* tests at the end go
 * through tx_parse, tx_sema and tx_lower instead, to pin down how the
 * checker and the real lowering fit together.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/builtins.h"
#include "frontend/sema.h"
#include "ir/tir.h"

/* ---- fixture ---------------------------------------------------------------- */

typedef struct tvar {
    const char *name;
    tx_varinfo vi;
} tvar;

typedef struct tdecl {
    const char *name;
    tx_tir_expr *size;
    tx_span span;
} tdecl;

typedef struct T {
    tx_arena *a;
    tx_diags d;
    char text[1 << 16];
    size_t len;
    tvar vars[128];
    int nvars;
    tdecl decls[16];
    int ndecls;
    tx_tir_func *funcs[8];
    int nfuncs;
    const char *extra[8]; /* extra index names for the next def */
    int nextra;
    tx_lookup lk;
} T;

static bool t_get(void *self, const char *var, tx_varinfo *out) {
    T *t = self;
    for (int k = t->nvars - 1; k >= 0; k--)
        if (strcmp(t->vars[k].name, var) == 0) {
            *out = t->vars[k].vi;
            return true;
        }
    return false;
}

static int setup(void **state) {
    T *t = calloc(1, sizeof *t);
    t->a = tx_arena_new(0);
    tx_diags_init(&t->d, t->a, NULL);
    t->lk.get = t_get;
    t->lk.self = t;
    *state = t;
    return 0;
}

static int teardown(void **state) {
    T *t = *state;
    tx_arena_free(t->a);
    free(t);
    return 0;
}

/* var(t, "A", TXRT_F64, "3,4"): a tensor; "" is rank 0, "?" an unknown
 * rank, "3,?" an unknown size. */
static void var(T *t, const char *name, int dtype, const char *shape) {
    tx_varinfo vi;
    memset(&vi, 0, sizeof vi);
    vi.type.dtype = dtype;
    for (int k = 0; k < TXRT_MAX_RANK; k++) vi.type.dims[k] = -1;
    if (strcmp(shape, "?") == 0) {
        vi.type.rank = -1;
    } else {
        int r = 0;
        const char *p = shape;
        while (*p) {
            if (*p == '?') {
                vi.type.dims[r++] = -1;
                p++;
            } else {
                vi.type.dims[r++] = strtoll(p, (char **)&p, 10);
            }
            if (*p == ',') p++;
        }
        vi.type.rank = r;
    }
    t->vars[t->nvars].name = name;
    t->vars[t->nvars].vi = vi;
    t->nvars++;
}

/* A known rank-0 f64 value. */
static void val(T *t, const char *name, double v) {
    var(t, name, TXRT_F64, "");
    t->vars[t->nvars - 1].vi.known = true;
    t->vars[t->nvars - 1].vi.value = v;
}

static void index_names(T *t, const char *a, const char *b) {
    t->nextra = 0;
    if (a) t->extra[t->nextra++] = a;
    if (b) t->extra[t->nextra++] = b;
}

/* ---- a tiny parser building TIR ---------------------------------------------- */

typedef struct P {
    T *t;
    const char *s; /* the statement (inside t->text) */
    size_t base;   /* its offset in t->text */
    size_t p;
    bool fail;
    /* the def being built */
    tx_tir_index *ix;
    int nix, cap;
    int scope[64];  /* reduce-bound ids, innermost last */
    int nscope;
    int top[64];    /* def-level ids */
    int ntop;
    char names[64][16]; /* every name written inside [...] */
    int nnames;
    bool in_def;    /* index notation context */
    bool any_sub;   /* saw a subscript or reduction */
} P;

static void skip_ws(P *p) {
    while (p->s[p->p] == ' ') p->p++;
}

static bool peek(P *p, const char *tok) {
    skip_ws(p);
    return strncmp(p->s + p->p, tok, strlen(tok)) == 0;
}

static bool eat(P *p, const char *tok) {
    if (!peek(p, tok)) return false;
    p->p += strlen(tok);
    return true;
}

static void expect(P *p, const char *tok) {
    if (!eat(p, tok)) {
        fprintf(stderr, "test parser: expected '%s' at '%s'\n", tok, p->s + p->p);
        p->fail = true;
    }
}

static tx_span sp(P *p, size_t lo) {
    tx_span s = { (uint32_t)(p->base + lo), (uint32_t)(p->base + p->p) };
    return s;
}

static const char *ident(P *p) {
    skip_ws(p);
    size_t b = p->p;
    while (isalnum((unsigned char)p->s[p->p]) || p->s[p->p] == '_') p->p++;
    if (b == p->p) return NULL;
    return tx_arena_strndup(p->t->a, p->s + b, p->p - b);
}

static bool is_index_name(P *p, const char *nm) {
    for (int k = 0; k < p->nnames; k++)
        if (strcmp(p->names[k], nm) == 0) return true;
    for (int k = 0; k < p->t->nextra; k++)
        if (strcmp(p->t->extra[k], nm) == 0) return true;
    return false;
}

static int ix_new(P *p, const char *nm, tx_span at) {
    if (p->nix == p->cap) {
        int nc = p->cap ? 2 * p->cap : 8;
        p->ix = tx_arena_grow(p->t->a, p->ix, (size_t)p->cap, (size_t)nc, sizeof *p->ix);
        p->cap = nc;
    }
    tx_tir_index *x = &p->ix[p->nix];
    memset(x, 0, sizeof *x);
    x->name = nm;
    x->span = at;
    x->extent = -1;
    for (int k = p->t->ndecls - 1; k >= 0; k--)
        if (strcmp(p->t->decls[k].name, nm) == 0) {
            x->declared = p->t->decls[k].size;
            x->declared_span = p->t->decls[k].span;
            break;
        }
    return p->nix++;
}

static int ix_get(P *p, const char *nm, tx_span at) {
    for (int k = p->nscope - 1; k >= 0; k--)
        if (strcmp(p->ix[p->scope[k]].name, nm) == 0) return p->scope[k];
    for (int k = 0; k < p->ntop; k++)
        if (strcmp(p->ix[p->top[k]].name, nm) == 0) return p->top[k];
    int id = ix_new(p, nm, at);
    p->top[p->ntop++] = id;
    return id;
}

static tx_tir_expr *mk(P *p, tx_tir_expr_kind k, size_t lo) {
    tx_tir_expr *e = TX_NEW(p->t->a, tx_tir_expr);
    e->kind = k;
    e->span = sp(p, lo);
    return e;
}

static tx_tir_expr *expr(P *p);

static tx_tir_affine affine(P *p) {
    tx_tir_affine af;
    memset(&af, 0, sizeof af);
    af.idx = TX_NEWN(p->t->a, int, 8);
    af.coef = TX_NEWN(p->t->a, int64_t, 8);
    skip_ws(p);
    size_t lo = p->p;
    int sign = 1;
    if (eat(p, "-")) sign = -1;
    for (;;) {
        skip_ws(p);
        size_t tlo = p->p;
        if (isdigit((unsigned char)p->s[p->p])) {
            long long v = strtoll(p->s + p->p, NULL, 10);
            while (isdigit((unsigned char)p->s[p->p])) p->p++;
            if (eat(p, "*")) {
                const char *nm = ident(p);
                af.idx[af.nterms] = ix_get(p, nm, sp(p, tlo));
                af.coef[af.nterms++] = sign * v;
            } else {
                af.c0 += sign * v;
            }
        } else {
            const char *nm = ident(p);
            if (!nm) {
                p->fail = true;
                break;
            }
            af.idx[af.nterms] = ix_get(p, nm, sp(p, tlo));
            af.coef[af.nterms++] = sign;
        }
        if (eat(p, "+")) sign = 1;
        else if (peek(p, "-")) {
            eat(p, "-");
            sign = -1;
        } else break;
    }
    af.span = sp(p, lo);
    return af;
}

static const char *const unary_fns[] = { "exp", "log", "sqrt", "abs", "sin", "cos", "tan", "tanh", "sigmoid",
                                         "relu", "sign", "floor", "ceil", "conj", "real", "imag" };
static const tx_tir_op unary_ops[] = { TX_TOP_EXP, TX_TOP_LOG, TX_TOP_SQRT, TX_TOP_ABS, TX_TOP_SIN, TX_TOP_COS,
                                       TX_TOP_TAN, TX_TOP_TANH, TX_TOP_SIGMOID, TX_TOP_RELU, TX_TOP_SIGN,
                                       TX_TOP_FLOOR, TX_TOP_CEIL, TX_TOP_CONJ, TX_TOP_REAL, TX_TOP_IMAG };

static tx_tir_expr *atom(P *p) {
    skip_ws(p);
    size_t lo = p->p;
    char c = p->s[p->p];
    if (c == '(') {
        p->p++;
        tx_tir_expr *e = expr(p);
        expect(p, ")");
        return e;
    }
    if (c == '"') {
        p->p++;
        size_t b = p->p;
        while (p->s[p->p] && p->s[p->p] != '"') p->p++;
        tx_tir_expr *e = mk(p, TX_TIR_STRING, lo);
        e->str = tx_arena_strndup(p->t->a, p->s + b, p->p - b);
        e->str_len = (int)(p->p - b);
        p->p++;
        e->span = sp(p, lo);
        return e;
    }
    if (isdigit((unsigned char)c) || c == '.') {
        size_t b = p->p;
        while (isdigit((unsigned char)p->s[p->p])) p->p++;
        if (p->s[p->p] == '.' && isdigit((unsigned char)p->s[p->p + 1])) {
            p->p++;
            while (isdigit((unsigned char)p->s[p->p])) p->p++;
        }
        if (p->s[p->p] == 'e' && (isdigit((unsigned char)p->s[p->p + 1]) || p->s[p->p + 1] == '-')) {
            p->p += 2;
            while (isdigit((unsigned char)p->s[p->p])) p->p++;
        }
        char num[64];
        snprintf(num, sizeof num, "%.*s", (int)(p->p - b), p->s + b);
        double v = strtod(num, NULL);
        tx_tir_expr *e = mk(p, TX_TIR_CONST, lo);
        if (p->s[p->p] == 'j') {
            p->p++;
            e->im = v;
            e->is_complex = true;
        } else {
            e->re = v;
        }
        e->span = sp(p, lo);
        return e;
    }
    const char *nm = ident(p);
    size_t name_end = p->p;
    if (!nm) {
        p->fail = true;
        return mk(p, TX_TIR_CONST, lo);
    }
    int red = strcmp(nm, "sum") == 0 ? TX_RED_SUM : strcmp(nm, "prod") == 0 ? TX_RED_PROD
            : strcmp(nm, "max") == 0 ? TX_RED_MAX : strcmp(nm, "min") == 0 ? TX_RED_MIN : -1;
    if (red >= 0 && peek(p, "[")) {
        eat(p, "[");
        tx_tir_expr *e = mk(p, TX_TIR_REDUCE, lo);
        e->redop = (tx_redop)red;
        e->idx = TX_NEWN(p->t->a, int, 8);
        int save = p->nscope;
        do {
            size_t ilo = (skip_ws(p), p->p);
            const char *in = ident(p);
            int id = ix_new(p, in, sp(p, ilo));
            e->idx[e->nidx++] = id;
            p->scope[p->nscope++] = id;
        } while (eat(p, ","));
        expect(p, "]");
        expect(p, "(");
        e->a = expr(p);
        expect(p, ")");
        p->nscope = save;
        p->any_sub = true;
        e->span = sp(p, lo);
        return e;
    }
    if (peek(p, "(")) {
        eat(p, "(");
        for (int k = 0; k < (int)(sizeof unary_fns / sizeof unary_fns[0]); k++)
            if (strcmp(nm, unary_fns[k]) == 0) {
                tx_tir_expr *e = mk(p, TX_TIR_UNARY, lo);
                e->op = unary_ops[k];
                e->a = expr(p);
                expect(p, ")");
                e->span = sp(p, lo);
                return e;
            }
        if (strcmp(nm, "where") == 0) {
            tx_tir_expr *e = mk(p, TX_TIR_WHERE, lo);
            e->a = expr(p);
            expect(p, ",");
            e->b = expr(p);
            expect(p, ",");
            e->c = expr(p);
            expect(p, ")");
            e->span = sp(p, lo);
            return e;
        }
        tx_tir_expr *e = mk(p, TX_TIR_BINARY, lo);
        e->op = strcmp(nm, "max") == 0 ? TX_TOP_MAX2 : strcmp(nm, "min") == 0 ? TX_TOP_MIN2 : TX_TOP_POW;
        e->a = expr(p);
        expect(p, ",");
        e->b = expr(p);
        expect(p, ")");
        e->span = sp(p, lo);
        return e;
    }
    if (peek(p, "[")) {
        eat(p, "[");
        tx_tir_expr *e = mk(p, TX_TIR_ACCESS, lo);
        e->var = nm;
        e->subs = TX_NEWN(p->t->a, tx_tir_affine, 8);
        do e->subs[e->nsubs++] = affine(p);
        while (eat(p, ","));
        expect(p, "]");
        p->any_sub = true;
        e->span = sp(p, lo);
        return e;
    }
    p->p = name_end;
    if (p->in_def && is_index_name(p, nm)) {
        tx_tir_expr *e = mk(p, TX_TIR_INDEX, lo);
        e->index = ix_get(p, nm, sp(p, lo));
        return e;
    }
    tx_tir_expr *e = mk(p, TX_TIR_ACCESS, lo);
    e->var = nm;
    e->whole = true;
    return e;
}

static tx_tir_expr *unary(P *p);

static tx_tir_expr *power(P *p) {
    skip_ws(p);
    size_t lo = p->p;
    tx_tir_expr *a = atom(p);
    if (eat(p, "^")) {
        tx_tir_expr *e = mk(p, TX_TIR_BINARY, lo);
        e->op = TX_TOP_POW;
        e->a = a;
        e->b = unary(p);
        e->span = sp(p, lo);
        return e;
    }
    return a;
}

static tx_tir_expr *unary(P *p) {
    skip_ws(p);
    size_t lo = p->p;
    if (eat(p, "-")) {
        tx_tir_expr *e = mk(p, TX_TIR_UNARY, lo);
        e->op = TX_TOP_NEG;
        e->a = unary(p);
        e->span = sp(p, lo);
        return e;
    }
    return power(p);
}

static tx_tir_expr *binop(P *p, size_t lo, tx_tir_op op, tx_tir_expr *a, tx_tir_expr *b) {
    tx_tir_expr *e = mk(p, TX_TIR_BINARY, lo);
    e->op = op;
    e->a = a;
    e->b = b;
    e->span = sp(p, lo);
    return e;
}

static tx_tir_expr *mul(P *p) {
    skip_ws(p);
    size_t lo = p->p;
    tx_tir_expr *e = unary(p);
    for (;;) {
        if (eat(p, "*")) e = binop(p, lo, TX_TOP_MUL, e, unary(p));
        else if (eat(p, "/")) e = binop(p, lo, TX_TOP_DIV, e, unary(p));
        else return e;
    }
}

static tx_tir_expr *additive(P *p) {
    skip_ws(p);
    size_t lo = p->p;
    tx_tir_expr *e = mul(p);
    for (;;) {
        if (eat(p, "+")) e = binop(p, lo, TX_TOP_ADD, e, mul(p));
        else if (peek(p, "-") && !peek(p, "->")) {
            eat(p, "-");
            e = binop(p, lo, TX_TOP_SUB, e, mul(p));
        } else return e;
    }
}

static tx_tir_expr *expr(P *p) {
    skip_ws(p);
    size_t lo = p->p;
    tx_tir_expr *e = additive(p);
    static const char *const ops[] = { "<=", ">=", "==", "!=", "<", ">" };
    static const tx_tir_op tops[] = { TX_TOP_LE, TX_TOP_GE, TX_TOP_EQ, TX_TOP_NE, TX_TOP_LT, TX_TOP_GT };
    for (int k = 0; k < 6; k++)
        if (eat(p, ops[k])) return binop(p, lo, tops[k], e, additive(p));
    return e;
}

/* Collect every identifier written inside [...] (indices). */
static void prescan(P *p) {
    int depth = 0;
    for (size_t k = 0; p->s[k]; k++) {
        char c = p->s[k];
        if (c == '[') depth++;
        else if (c == ']') depth--;
        else if (depth > 0 && (isalpha((unsigned char)c) || c == '_') &&
                 (k == 0 || !(isalnum((unsigned char)p->s[k - 1]) || p->s[k - 1] == '_'))) {
            size_t b = k;
            while (isalnum((unsigned char)p->s[k]) || p->s[k] == '_') k++;
            if (p->nnames < 64 && k - b < 15) {
                memcpy(p->names[p->nnames], p->s + b, k - b);
                p->names[p->nnames][k - b] = 0;
                p->nnames++;
            }
            k--;
        }
    }
}

static size_t append(T *t, const char *src) {
    size_t base = t->len;
    size_t n = strlen(src);
    assert_true(base + n + 2 < sizeof t->text);
    memcpy(t->text + base, src, n);
    t->len += n;
    t->text[t->len++] = '\n';
    t->text[t->len] = 0;
    return base;
}

static tx_tir_func *find_func(T *t, const char *name) {
    for (int k = 0; k < t->nfuncs; k++)
        if (strcmp(t->funcs[k]->name, name) == 0) return t->funcs[k];
    return NULL;
}

/* Parse one statement into a DEF or a CALL. */
static tx_tir_stmt *stmt(T *t, const char *src) {
    size_t base = append(t, src);
    P p;
    memset(&p, 0, sizeof p);
    p.t = t;
    p.s = src;
    p.base = base;
    prescan(&p);
    tx_tir_stmt *s = TX_NEW(t->a, tx_tir_stmt);
    s->span = (tx_span){ (uint32_t)base, (uint32_t)(base + strlen(src)) };
    s->builtin = -1;
    bool is_let = false;
    if (strncmp(src, "let ", 4) == 0) {
        is_let = true;
        p.p = 4;
    }
    /* targets */
    const char *names[4];
    tx_span nspans[4];
    int nn = 0;
    size_t lhs_lo = (skip_ws(&p), p.p);
    names[nn] = ident(&p);
    nspans[nn++] = sp(&p, lhs_lo);
    s->out_span = sp(&p, lhs_lo);
    bool indexed = false;
    int out_idx[TXRT_MAX_RANK], nout = 0;
    if (eat(&p, "[")) {
        indexed = true;
        if (!peek(&p, "]")) do {
                size_t ilo = (skip_ws(&p), p.p);
                const char *in = ident(&p);
                out_idx[nout++] = ix_get(&p, in, sp(&p, ilo));
            } while (eat(&p, ","));
        expect(&p, "]");
    }
    while (eat(&p, ",")) {
        size_t lo = (skip_ws(&p), p.p);
        names[nn] = ident(&p);
        nspans[nn++] = sp(&p, lo);
    }
    bool acc = false;
    if (eat(&p, "+=")) acc = true;
    else if (!eat(&p, "=")) {
        /* a bare call: save(...) */
        p.p = lhs_lo;
        nn = 0;
    }
    /* a whole call? */
    skip_ws(&p);
    size_t rlo = p.p;
    const char *fn = ident(&p);
    if (fn && peek(&p, "(") && !acc && !indexed) {
        int nargs = 0;
        /* count top-level args to pick max/min arity; then parse */
        eat(&p, "(");
        tx_tir_expr *args[16];
        tx_tir_kwarg kws[4];
        int nkw = 0;
        if (!peek(&p, ")")) do {
                skip_ws(&p);
                size_t q = p.p;
                const char *kw = ident(&p);
                tx_span kwspan = sp(&p, q);
                if (kw && eat(&p, "=") && !peek(&p, "=")) {
                    kws[nkw].name = kw;
                    kws[nkw].span = kwspan;
                    kws[nkw++].value = expr(&p);
                } else {
                    p.p = q;
                    args[nargs++] = expr(&p);
                }
            } while (eat(&p, ","));
        expect(&p, ")");
        skip_ws(&p);
        int b = tx_builtin_lookup(fn, nargs);
        tx_tir_func *uf = find_func(t, fn);
        if (p.s[p.p] == 0 && ((b >= 0 && tx_builtins[b].kind == TX_BK_CALL) || uf)) {
            s->kind = TX_TIR_CALL;
            s->builtin = uf ? -1 : b;
            s->func = uf;
            s->callee = fn;
            s->nargs = nargs;
            s->args = TX_NEWN(t->a, tx_tir_expr *, nargs + 1);
            memcpy(s->args, args, sizeof(tx_tir_expr *) * (size_t)nargs);
            s->nkwargs = nkw;
            s->kwargs = TX_NEWN(t->a, tx_tir_kwarg, nkw + 1);
            memcpy(s->kwargs, kws, sizeof(tx_tir_kwarg) * (size_t)nkw);
            s->nresults = nn;
            s->results = TX_NEWN(t->a, const char *, nn + 1);
            s->result_spans = TX_NEWN(t->a, tx_span, nn + 1);
            for (int k = 0; k < nn; k++) {
                s->results[k] = names[k];
                s->result_spans[k] = nspans[k];
            }
            assert_false(p.fail);
            return s;
        }
        /* not a whole call: reparse as an expression */
        p.p = rlo;
        p.nix = p.ntop = p.nscope = 0;
        p.any_sub = false;
    } else {
        p.p = rlo;
    }
    s->kind = TX_TIR_DEF;
    s->out = names[0];
    s->accumulate = acc;
    s->is_let = is_let;
    p.in_def = true;
    for (int k = 0; k < nout; k++) p.top[k] = out_idx[k];
    p.ntop = nout > p.ntop ? nout : p.ntop;
    s->rhs = expr(&p);
    skip_ws(&p);
    assert_false(p.fail);
    assert_int_equal(p.s[p.p], 0);
    if (!indexed && !p.any_sub && !is_let) {
        s->ellipsis = true;
        s->nindices = 0;
        s->nout = 0;
        return s;
    }
    /* implicit sum over the def-level indices not on the left */
    int nfree = 0, freeids[64];
    for (int k = 0; k < p.ntop; k++) {
        bool out = false;
        for (int q = 0; q < nout; q++)
            if (out_idx[q] == p.top[k]) out = true;
        if (!out) freeids[nfree++] = p.top[k];
    }
    if (nfree) {
        tx_tir_expr *r = TX_NEW(t->a, tx_tir_expr);
        r->kind = TX_TIR_REDUCE;
        r->redop = TX_RED_SUM;
        r->span = s->rhs->span;
        r->idx = TX_NEWN(t->a, int, nfree);
        memcpy(r->idx, freeids, sizeof(int) * (size_t)nfree);
        r->nidx = nfree;
        r->a = s->rhs;
        s->rhs = r;
    }
    s->indices = p.ix;
    s->nindices = p.nix;
    s->nout = nout;
    s->out_idx = TX_NEWN(t->a, int, nout + 1);
    memcpy(s->out_idx, out_idx, sizeof(int) * (size_t)nout);
    t->nextra = 0;
    return s;
}

/* `index name : size` for the defs that follow. */
static void declare(T *t, const char *name, const char *size) {
    char line[128];
    snprintf(line, sizeof line, "index %s : %s", name, size);
    size_t base = append(t, line);
    P p;
    memset(&p, 0, sizeof p);
    p.t = t;
    p.s = line;
    p.base = base;
    p.p = strlen(name) + 9;
    tdecl *dc = &t->decls[t->ndecls++];
    dc->name = name;
    dc->size = expr(&p);
    dc->span = (tx_span){ (uint32_t)base, (uint32_t)(base + strlen(line)) };
}

/* def f(params) -> results with an empty or given body.  Signatures are
 * "Q[n,d], K[n,d]: f32, s". */
static void parse_params(T *t, const char *sig, tx_tir_param **out, int *n, const char ***sizes, int *nsizes) {
    tx_tir_param *ps = TX_NEWN(t->a, tx_tir_param, 8);
    int np = 0;
    const char *q = sig;
    while (*q) {
        while (*q == ' ' || *q == ',') q++;
        if (!*q) break;
        tx_tir_param *p = &ps[np++];
        const char *b = q;
        while (isalnum((unsigned char)*q) || *q == '_') q++;
        p->name = tx_arena_strndup(t->a, b, (size_t)(q - b));
        p->dtype = -1;
        p->dims = TX_NEWN(t->a, tx_ast_dim, 8);
        if (*q == '[') {
            q++;
            while (*q != ']') {
                while (*q == ' ' || *q == ',') q++;
                tx_ast_dim *dm = &p->dims[p->ndims++];
                if (isdigit((unsigned char)*q)) {
                    dm->value = strtoll(q, (char **)&q, 10);
                } else {
                    b = q;
                    while (isalnum((unsigned char)*q) || *q == '_') q++;
                    dm->name = tx_arena_strndup(t->a, b, (size_t)(q - b));
                    bool seen = false;
                    for (int k = 0; k < *nsizes; k++)
                        if (strcmp((*sizes)[k], dm->name) == 0) seen = true;
                    if (!seen) (*sizes)[(*nsizes)++] = dm->name;
                }
                while (*q == ' ') q++;
            }
            q++;
        }
        while (*q == ' ') q++;
        if (*q == ':') {
            q++;
            while (*q == ' ') q++;
            b = q;
            while (isalnum((unsigned char)*q)) q++;
            static const char *const dn[] = { "f64", "f32", "c128", "c64" };
            for (int k = 0; k < 4; k++)
                if (strlen(dn[k]) == (size_t)(q - b) && strncmp(dn[k], b, (size_t)(q - b)) == 0) p->dtype = k;
        }
    }
    *out = ps;
    *n = np;
}

static tx_tir_func *func(T *t, const char *name, const char *params, const char *results) {
    tx_tir_func *f = TX_NEW(t->a, tx_tir_func);
    f->name = name;
    const char **sizes = TX_NEWN(t->a, const char *, 32);
    int nsizes = 0;
    parse_params(t, params, &f->params, &f->nparams, &sizes, &nsizes);
    parse_params(t, results, &f->results, &f->nresults, &sizes, &nsizes);
    f->sizes = sizes;
    f->nsizes = nsizes;
    f->body = TX_NEWN(t->a, tx_tir_stmt *, 16);
    t->funcs[t->nfuncs++] = f;
    return f;
}

static tx_tir_stmt *mk_for(T *t, const char *var, const char *lo, const char *hi) {
    char line[128];
    snprintf(line, sizeof line, "for %s in %s..%s {", var, lo, hi);
    size_t base = append(t, line);
    P p;
    memset(&p, 0, sizeof p);
    p.t = t;
    p.s = line;
    p.base = base;
    tx_tir_stmt *s = TX_NEW(t->a, tx_tir_stmt);
    s->kind = TX_TIR_FOR;
    s->builtin = -1;
    s->span = (tx_span){ (uint32_t)base, (uint32_t)(base + strlen(line)) };
    s->var = var;
    p.p = strlen(var) + 8;
    s->lo = expr(&p);
    expect(&p, "..");
    s->hi = expr(&p);
    s->body = TX_NEWN(t->a, tx_tir_stmt *, 16);
    return s;
}

/* ---- a program for tx_tir_check ---------------------------------------------------- */

typedef struct prog {
    tx_tir_program p;
    tx_tir_stmt *v[64];
} prog;

static void add(prog *g, tx_tir_stmt *s) {
    g->v[g->p.nstmts++] = s;
    g->p.stmts = g->v;
}

static void body_add(tx_tir_stmt ***body, int *n, tx_tir_stmt *s) {
    (*body)[(*n)++] = s;
}

/* ---- assertions --------------------------------------------------------------------- */

static const char *span_text(T *t, tx_span s, char *buf, size_t n) {
    size_t len = s.hi > s.lo ? s.hi - s.lo : 0;
    if (s.hi > t->len) len = 0;
    if (len >= n) len = n - 1;
    memcpy(buf, t->text + s.lo, len);
    buf[len] = 0;
    return buf;
}

static void dump(T *t) {
    char buf[256];
    for (tx_diag *g = t->d.head; g; g = g->next)
        fprintf(stderr, "  diag: %s  [at '%s']%s%s\n", g->msg, span_text(t, g->span, buf, sizeof buf),
                g->hint ? " hint: " : "", g->hint ? g->hint : "");
}

/* An error with exactly this message exists (and, if at is given, covers that text). */
static void expect_error(T *t, const char *msg, const char *at) {
    char buf[256];
    for (tx_diag *g = t->d.head; g; g = g->next) {
        if (g->sev != TX_ERROR || strcmp(g->msg, msg) != 0) continue;
        if (at && strcmp(span_text(t, g->span, buf, sizeof buf), at) != 0) {
            dump(t);
            fail_msg("error '%s' is at '%s', expected '%s'", msg, buf, at);
        }
        return;
    }
    dump(t);
    fail_msg("no error '%s'", msg);
}

static void expect_errors(T *t, int n) {
    int k = 0;
    for (tx_diag *g = t->d.head; g; g = g->next)
        if (g->sev == TX_ERROR) k++;
    if (k != n) {
        dump(t);
        fail_msg("%d errors, expected %d", k, n);
    }
}

static void expect_range(const tx_tir_stmt *s, const char *name, int64_t lo, int64_t extent) {
    for (int k = 0; k < s->nindices; k++)
        if (strcmp(s->indices[k].name, name) == 0) {
            if (s->indices[k].lo != lo || s->indices[k].extent != extent)
                fail_msg("index %s: lo %lld extent %lld, expected %lld %lld", name, (long long)s->indices[k].lo,
                         (long long)s->indices[k].extent, (long long)lo, (long long)extent);
            return;
        }
    fail_msg("no index %s", name);
}

/* The type printed as "f64(3, 4)" (unknowns as ?). */
static const char *type_str(const tx_type *ty, char *buf, size_t n) {
    static const char *const dn[] = { "f64", "f32", "c128", "c64" };
    size_t k = (size_t)snprintf(buf, n, "%s", ty->dtype >= 0 && ty->dtype < 4 ? dn[ty->dtype] : "?");
    if (ty->rank < 0) {
        snprintf(buf + k, n - k, "(?)");
        return buf;
    }
    k += (size_t)snprintf(buf + k, n - k, "(");
    for (int a = 0; a < ty->rank; a++) {
        if (ty->dims[a] < 0) k += (size_t)snprintf(buf + k, n - k, "%s?", a ? ", " : "");
        else k += (size_t)snprintf(buf + k, n - k, "%s%lld", a ? ", " : "", (long long)ty->dims[a]);
    }
    snprintf(buf + k, n - k, "%s)", ty->rank == 1 ? "," : "");
    return buf;
}

/* Infer + type one def; returns its type as text ("" after an error). */
static const char *def_ok(T *t, const char *src, char *buf, size_t n) {
    tx_tir_stmt *s = stmt(t, src);
    buf[0] = 0;
    if (!tx_tir_infer_ranges(s, &t->lk, &t->d)) return buf;
    tx_type ty;
    if (!tx_tir_def_type(s, &t->lk, &ty, &t->d)) return buf;
    return type_str(&ty, buf, n);
}

static void expect_def_type(T *t, const char *src, const char *type) {
    char buf[256];
    def_ok(t, src, buf, sizeof buf);
    if (strcmp(buf, type) != 0) {
        dump(t);
        fail_msg("%s: type '%s', expected '%s'", src, buf, type);
    }
}

/* Type one call; result k as text. */
static const char *call_type(T *t, const char *src, int k, char *buf, size_t n) {
    tx_tir_stmt *s = stmt(t, src);
    assert_int_equal(s->kind, TX_TIR_CALL);
    tx_type res[4];
    buf[0] = 0;
    if (!tx_tir_call_types(s, &t->lk, res, &t->d)) return buf;
    if (k >= s->nresults) return buf;
    return type_str(&res[k], buf, n);
}

static void expect_call_type(T *t, const char *src, int k, const char *type) {
    char buf[256];
    call_type(t, src, k, buf, sizeof buf);
    if (strcmp(buf, type) != 0) {
        dump(t);
        fail_msg("%s: result %d type '%s', expected '%s'", src, k, buf, type);
    }
}

static void expect_call_error(T *t, const char *src, const char *msg, const char *at) {
    tx_tir_stmt *s = stmt(t, src);
    tx_type res[4];
    assert_false(tx_tir_call_types(s, &t->lk, res, &t->d));
    expect_error(t, msg, at);
}

static void expect_def_error(T *t, const char *src, const char *msg, const char *at) {
    char buf[256];
    def_ok(t, src, buf, sizeof buf);
    if (buf[0]) {
        dump(t);
        fail_msg("%s: no error (type %s)", src, buf);
    }
    expect_error(t, msg, at);
}

/* ---- index ranges ---------------------------------------------------------------------- */

static void matmul_ranges(void **state) {
    T *t = *state;
    var(t, "A", TXRT_F64, "4,32");
    var(t, "B", TXRT_F64, "32,8");
    tx_tir_stmt *s = stmt(t, "C[i,j] = A[i,k] * B[k,j]");
    assert_true(tx_tir_infer_ranges(s, &t->lk, &t->d));
    expect_range(s, "i", 0, 4);
    expect_range(s, "j", 0, 8);
    expect_range(s, "k", 0, 32);
    tx_type ty;
    char buf[64];
    assert_true(tx_tir_def_type(s, &t->lk, &ty, &t->d));
    assert_string_equal(type_str(&ty, buf, sizeof buf), "f64(4, 8)");
    expect_errors(t, 0);
}

static void size_conflict_names_both_accesses(void **state) {
    T *t = *state;
    var(t, "A", TXRT_F64, "4,32");
    var(t, "B", TXRT_F64, "64,8");
    expect_def_error(t, "C[i,j] = A[i,k] * B[k,j]", "index 'k' has size 64 in B[k,j] but 32 in A[i,k]", "B[k,j]");
    expect_errors(t, 1);
    /* one access twice: say which axes */
    var(t, "R", TXRT_F64, "2,3");
    expect_def_error(t, "tr = R[i,i]", "index 'i' has size 3 in R[i,i] (axis 1) but 2 in R[i,i] (axis 0)", "R[i,i]");
}

static void declared_size_fixes_and_must_agree(void **state) {
    T *t = *state;
    val(t, "n", 10);
    var(t, "A", TXRT_F64, "12");
    declare(t, "i", "n");
    expect_def_error(t, "Y[i] = A[i]", "index 'i' is declared with size 10 (index i : n) but has size 12 in A[i]",
                     "A[i]");
    /* a declaration fixes what nothing else fixes: a Kronecker delta */
    declare(t, "j", "n");
    tx_tir_stmt *s = stmt(t, "D[i,j] = (i == j)");
    assert_true(tx_tir_infer_ranges(s, &t->lk, &t->d));
    expect_range(s, "i", 0, 10);
    expect_range(s, "j", 0, 10);
    /* and an affine use must then stay in bounds */
    var(t, "X", TXRT_F64, "10");
    expect_def_error(t, "Z[i] = X[i+1]", "X[i+1] reads past the end of X (size 10) when i = 9; index 'i' is declared with size 10",
                     "X[i+1]");
}

static void declared_size_must_be_whole(void **state) {
    T *t = *state;
    val(t, "h", 2.5);
    declare(t, "i", "h");
    index_names(t, "i", NULL);
    expect_def_error(t, "Y[i] = i", "index 'i' is declared with size 2.5, which is not a whole number", NULL);
}

static void index_in_no_subscript(void **state) {
    T *t = *state;
    var(t, "X", TXRT_F64, "3");
    index_names(t, "j", NULL);
    expect_def_error(t, "Y[i] = (i == j) * X[i]",
                     "cannot infer the range of index 'j': it subscripts no tensor; declare it with `index j : n`", "j");
    expect_errors(t, 1);
    /* an output index on the left only */
    expect_def_error(t, "Z[q] = 1", "cannot infer the range of index 'q': it subscripts no tensor; declare it with `index q : n`",
                     "q");
}

static void valid_convolution(void **state) {
    T *t = *state;
    var(t, "X", TXRT_F64, "10");
    var(t, "W", TXRT_F64, "3");
    tx_tir_stmt *s = stmt(t, "Y[i] = X[i+k] * W[k]");
    assert_true(tx_tir_infer_ranges(s, &t->lk, &t->d));
    expect_range(s, "k", 0, 3);
    expect_range(s, "i", 0, 8); /* size(X) - size(W) + 1 */
    /* a true convolution starts above 0 */
    s = stmt(t, "Y[i] = X[i-k] * W[k]");
    assert_true(tx_tir_infer_ranges(s, &t->lk, &t->d));
    expect_range(s, "i", 2, 8);
    /* explicit reduction, same answer */
    s = stmt(t, "Y[i] = sum[k](X[i+k] * W[k])");
    assert_true(tx_tir_infer_ranges(s, &t->lk, &t->d));
    expect_range(s, "i", 0, 8);
    /* a stride: 2*i + k <= 9 for k <= 2 */
    s = stmt(t, "Y[i] = X[2*i+k] * W[k]");
    assert_true(tx_tir_infer_ranges(s, &t->lk, &t->d));
    expect_range(s, "i", 0, 4);
    char buf[64];
    tx_type ty;
    assert_true(tx_tir_def_type(s, &t->lk, &ty, &t->d));
    assert_string_equal(type_str(&ty, buf, sizeof buf), "f64(4,)");
    expect_errors(t, 0);
}

static void central_difference_starts_at_one(void **state) {
    T *t = *state;
    var(t, "X", TXRT_F64, "10");
    tx_tir_stmt *s = stmt(t, "D[i] = X[i+1] - X[i-1]");
    assert_true(tx_tir_infer_ranges(s, &t->lk, &t->d));
    expect_range(s, "i", 1, 8);
    /* a shift alone: indices never go below 0 */
    s = stmt(t, "S[i] = X[i+1]");
    assert_true(tx_tir_infer_ranges(s, &t->lk, &t->d));
    expect_range(s, "i", 0, 9);
    /* a negative coefficient */
    s = stmt(t, "R[i] = X[9-i]");
    assert_true(tx_tir_infer_ranges(s, &t->lk, &t->d));
    expect_range(s, "i", 0, 10);
    expect_errors(t, 0);
}

static void two_dimensional_valid(void **state) {
    T *t = *state;
    var(t, "X", TXRT_F64, "5,6");
    var(t, "K", TXRT_F32, "2,3");
    tx_tir_stmt *s = stmt(t, "Y[i,j] = X[i+a,j+b] * K[a,b]");
    assert_true(tx_tir_infer_ranges(s, &t->lk, &t->d));
    expect_range(s, "i", 0, 4);
    expect_range(s, "j", 0, 4);
    expect_range(s, "a", 0, 2);
    expect_range(s, "b", 0, 3);
}

static void plain_use_keeps_size_affine_must_fit(void **state) {
    T *t = *state;
    /* a stencil: the plain X[i] sizes i, the shifted accesses narrow it */
    var(t, "X", TXRT_F64, "10");
    tx_tir_stmt *s = stmt(t, "Y[i] = X[i+1] - 2*X[i] + X[i-1]");
    assert_true(tx_tir_infer_ranges(s, &t->lk, &t->d));
    expect_range(s, "i", 1, 8);
    s = stmt(t, "Y[i] = X[i] * X[2*i]");
    assert_true(tx_tir_infer_ranges(s, &t->lk, &t->d));
    expect_range(s, "i", 0, 5);
    /* an access mixing two sized indices does not pick one to narrow */
    var(t, "A", TXRT_F64, "4");
    var(t, "B", TXRT_F64, "8");
    expect_def_error(t, "Y[i,j] = X[i+j] * A[i] * B[j]",
                     "X[i+j] reads past the end of X (size 10) when i = 3, j = 7; index 'i' has size 4 in A[i]",
                     "X[i+j]");
}

static void empty_valid_range(void **state) {
    T *t = *state;
    var(t, "X", TXRT_F64, "3");
    var(t, "W", TXRT_F64, "5");
    expect_def_error(t, "Y[i] = X[i+k] * W[k]",
                     "index 'i' has an empty range: no value keeps X[i+k] inside X (size 3) for k in 0..5", "X[i+k]");
    var(t, "Z", TXRT_F64, "3");
    var(t, "V", TXRT_F64, "4");
    expect_def_error(t, "Y[i] = V[i+3] * Z[i-2]",
                     "index 'i' has an empty range: no value keeps both V[i+3] inside V (size 4) and Z[i-2] inside Z (size 3)",
                     "Z[i-2]");
}

static void joint_affine_unfixed(void **state) {
    T *t = *state;
    var(t, "X", TXRT_F64, "10");
    expect_def_error(t, "Y[i] = X[i+k]",
                     "cannot infer the range of index 'i': X[i+k] also depends on 'k', whose range is not fixed either; "
                     "declare it with `index i : n`",
                     "i");
    expect_errors(t, 1);
}

static void constant_subscripts(void **state) {
    T *t = *state;
    var(t, "O", TXRT_F64, "3,2");
    expect_def_type(t, "y = O[2,1]", "f64()");
    expect_def_type(t, "y = O[-3,-1]", "f64()");
    expect_def_error(t, "y = O[3,0]", "index 3 is out of bounds for axis 0 of O with size 3", "3");
    expect_def_error(t, "y = O[0,-3]", "index -3 is out of bounds for axis 1 of O with size 2", "-3");
    expect_def_type(t, "r[j] = O[0,j]", "f64(2,)");
}

static void rank_errors(void **state) {
    T *t = *state;
    var(t, "A", TXRT_F64, "3,4");
    var(t, "s", TXRT_F64, "");
    var(t, "v", TXRT_F64, "4");
    expect_def_error(t, "y[i] = A[i,j,k]", "A has rank 2 but is indexed with 3 subscripts", "A[i,j,k]");
    expect_def_error(t, "y[i] = s[i] * v[i]", "s has rank 0 but is indexed with 1 subscript", "s[i]");
    expect_def_error(t, "y[j] = A * v[j]", "A is a tensor of shape (3, 4); index it, e.g. A[i,j]", "A");
    /* no cascade: the indices of a bad access are not reported again */
    expect_errors(t, 3);
    /* scalars are fine bare */
    expect_def_type(t, "w[j] = s * v[j]", "f64(4,)");
}

static void unknown_shapes_are_silent(void **state) {
    T *t = *state;
    var(t, "L", -1, "?");       /* load("...") */
    var(t, "B", TXRT_F64, "5");
    tx_tir_stmt *s = stmt(t, "Y[i] = L[i+1] * B[i]");
    assert_true(tx_tir_infer_ranges(s, &t->lk, &t->d));
    expect_range(s, "i", 0, 5);
    s = stmt(t, "Y[i] = L[i+k] * L[k]");
    assert_true(tx_tir_infer_ranges(s, &t->lk, &t->d));
    expect_range(s, "i", 0, -1);
    expect_range(s, "k", 0, -1);
    var(t, "X", TXRT_F64, "?");
    var(t, "W", TXRT_F64, "3");
    s = stmt(t, "Y[i] = X[i+k] * W[k]");
    assert_true(tx_tir_infer_ranges(s, &t->lk, &t->d));
    expect_range(s, "k", 0, 3);
    expect_range(s, "i", 0, -1);
    var(t, "P", TXRT_F64, "?,4");
    expect_def_type(t, "Q[i,j] = P[i,j] * B[i]", "f64(5, 4)");
    expect_def_type(t, "Q = L * 2", "?(?)");
    expect_errors(t, 0);
}

static void accumulate(void **state) {
    T *t = *state;
    var(t, "X", TXRT_F64, "3");
    var(t, "A", TXRT_F64, "4");
    expect_def_error(t, "X[i] += A[i]", "X has shape (3,) but the right-hand side has shape (4,)", "X[i] += A[i]");
    /* the target fixes an index seen only in shifted subscripts */
    var(t, "Y", TXRT_F64, "10");
    tx_tir_stmt *s = stmt(t, "X[i] += Y[i+1]");
    assert_true(tx_tir_infer_ranges(s, &t->lk, &t->d));
    expect_range(s, "i", 0, 3);
    var(t, "Z", TXRT_F64, "10");
    expect_def_error(t, "Z[i] += Y[i+1]", "Y[i+1] reads past the end of Y (size 10) when i = 9; index 'i' has size 10 in Z[i]",
                     "Y[i+1]");
    /* dtype: += keeps the target's; complex into real is an error */
    var(t, "F", TXRT_F32, "3");
    var(t, "C", TXRT_C128, "3");
    expect_def_type(t, "F[i] += X[i]", "f32(3,)");
    expect_def_error(t, "X[i] += C[i]", "cannot accumulate a complex value into real X", NULL);
    var(t, "D", TXRT_C64, "3");
    expect_def_type(t, "D[i] += X[i]", "c64(3,)");
    /* rank mismatch with the target */
    var(t, "M", TXRT_F64, "3,3");
    expect_def_error(t, "M[i] += X[i]", "M has shape (3, 3) but the right-hand side has shape (3,)", NULL);
}

static void dtype_rules(void **state) {
    T *t = *state;
    var(t, "X", TXRT_F32, "3");
    var(t, "Y", TXRT_F64, "3");
    var(t, "Z", TXRT_C128, "3");
    var(t, "Z64", TXRT_C64, "3");
    var(t, "s", TXRT_F64, "");
    var(t, "s32", TXRT_F32, "");
    var(t, "U", -1, "3");
    expect_def_type(t, "A[i] = 2 * X[i]", "f32(3,)");
    expect_def_type(t, "A[i] = X[i] * Y[i]", "f64(3,)");
    expect_def_type(t, "A[i] = X[i] * 1j", "c64(3,)");
    expect_def_type(t, "A[i] = Y[i] * 1j", "c128(3,)");
    expect_def_type(t, "A[i] = s * X[i]", "f32(3,)");
    expect_def_type(t, "a = s32 * 2", "f32()");
    expect_def_type(t, "a = s32 * s", "f64()");
    expect_def_type(t, "A[i] = real(Z[i])", "f64(3,)");
    expect_def_type(t, "A[i] = abs(Z64[i]) * X[i]", "f32(3,)");
    expect_def_type(t, "A[i] = (Z[i] == Z[i])", "f64(3,)");
    expect_def_type(t, "A[i] = exp(Z64[i])", "c64(3,)");
    expect_def_type(t, "A[i] = X[i] + Z64[i]", "c64(3,)");
    expect_def_type(t, "A[i] = Y[i] + Z64[i]", "c128(3,)");
    expect_def_type(t, "A[i] = i * X[i]", "f32(3,)");
    expect_def_type(t, "a = 2j", "c128()");
    expect_def_type(t, "A[i] = U[i] + Y[i]", "?(3,)");
    expect_def_type(t, "A[i] = where(X[i] > 0, X[i], 0)", "f32(3,)");
    expect_def_type(t, "t = sum[i](Z[i])", "c128()");
    expect_errors(t, 0);
}

/* ---- whole-tensor defs ------------------------------------------------------------------- */

static void ellipsis_shapes(void **state) {
    T *t = *state;
    var(t, "A", TXRT_F64, "3,4");
    var(t, "B", TXRT_F32, "3,4");
    var(t, "v", TXRT_F64, "4");
    var(t, "s", TXRT_F64, "");
    expect_def_type(t, "C = A + 2*B", "f64(3, 4)");
    expect_def_type(t, "C = s * B", "f32(3, 4)");
    expect_def_type(t, "C = exp(B)", "f32(3, 4)");
    expect_def_type(t, "c = s + 1", "f64()");
    expect_def_error(t, "C = A + v",
                     "shapes (3, 4) and (4,) differ in A + v; whole-tensor arithmetic needs equal shapes: "
                     "write it in index notation, e.g. C[i,j] = A[i,j] + v[j]",
                     "A + v");
    var(t, "w", TXRT_F64, "3");
    expect_def_error(t, "D = w * A - 1",
                     "shapes (3,) and (3, 4) differ in w * A - 1; whole-tensor arithmetic needs equal shapes: "
                     "write it in index notation, e.g. D[i,j] = w[i] * A[i,j] - 1",
                     "w * A - 1");
    /* a transpose lines up by sizes; unrelated shapes get no e.g. */
    var(t, "At", TXRT_F64, "4,3");
    expect_def_error(t, "C = A + At",
                     "shapes (3, 4) and (4, 3) differ in A + At; whole-tensor arithmetic needs equal shapes: "
                     "write it in index notation, e.g. C[i,j] = A[i,j] + At[j,i]",
                     "A + At");
    var(t, "F", TXRT_F64, "4,5");
    expect_def_error(t, "C = A * F",
                     "shapes (3, 4) and (4, 5) differ in A * F; whole-tensor arithmetic needs equal shapes: "
                     "write it in index notation",
                     "A * F");
    var(t, "L", -1, "?");
    expect_def_type(t, "C = A + L", "?(3, 4)");
    expect_def_type(t, "C = L + L", "?(?)");
    /* += with a whole tensor */
    var(t, "X", TXRT_F64, "4");
    expect_def_type(t, "X += v", "f64(4,)");
    expect_def_type(t, "X += 1", "f64(4,)");
    expect_def_error(t, "X += w", "X has shape (4,) but the right-hand side has shape (3,)", "X += w");
}

static void expand_plain_and_lookup(void **state) {
    T *t = *state;
    var(t, "A", TXRT_F64, "3,4");
    var(t, "s", TXRT_F32, "");
    tx_tir_stmt *e = stmt(t, "C = A * s + A");
    /* the evaluator's way: max operand rank, then infer with the lookup */
    tx_tir_stmt *x = tx_tir_expand_ellipsis(t->a, e, 2);
    assert_non_null(x);
    assert_false(x->ellipsis);
    assert_ptr_equal(x->expanded_from, e);
    assert_int_equal(x->nout, 2);
    assert_string_equal(x->indices[x->out_idx[0]].name, "i0");
    assert_string_equal(x->indices[x->out_idx[1]].name, "i1");
    assert_true(tx_tir_infer_ranges(x, &t->lk, &t->d));
    expect_range(x, "i0", 0, 3);
    expect_range(x, "i1", 0, 4);
    /* the scalar operand lost its generated subscripts */
    assert_int_equal(x->rhs->a->b->nsubs, 0);
    assert_int_equal(x->rhs->a->a->nsubs, 2);
    assert_false(x->rhs->a->a->whole);
    tx_type ty;
    char buf[64];
    assert_true(tx_tir_def_type(x, &t->lk, &ty, &t->d));
    assert_string_equal(type_str(&ty, buf, sizeof buf), "f64(3, 4)");
    /* the original is untouched */
    assert_int_equal(e->rhs->a->a->nsubs, 0);
    /* with the lookup at hand */
    x = tx_tir_expand_ellipsis_lk(t->a, e, &t->lk, &t->d);
    assert_non_null(x);
    assert_int_equal(x->rhs->a->b->nsubs, 0);
    assert_true(tx_tir_infer_ranges(x, &t->lk, &t->d));
    expect_range(x, "i1", 0, 4);
    expect_errors(t, 0);
    /* unknown rank: nothing to expand yet, no error */
    var(t, "L", -1, "?");
    assert_null(tx_tir_expand_ellipsis_lk(t->a, stmt(t, "C = L + 1"), &t->lk, &t->d));
    expect_errors(t, 0);
}

static void expand_reports_mismatch_once(void **state) {
    T *t = *state;
    var(t, "A", TXRT_F64, "3,4");
    var(t, "v", TXRT_F64, "4");
    tx_tir_stmt *e = stmt(t, "C = A + v");
    const char *msg = "shapes (3, 4) and (4,) differ in A + v; whole-tensor arithmetic needs equal shapes: "
                      "write it in index notation, e.g. C[i,j] = A[i,j] + v[j]";
    assert_null(tx_tir_expand_ellipsis_lk(t->a, e, &t->lk, &t->d));
    expect_error(t, msg, "A + v");
    /* the evaluator's path reports the same words */
    T *u = t;
    tx_diags d2;
    tx_diags_init(&d2, u->a, NULL);
    tx_tir_stmt *x = tx_tir_expand_ellipsis(t->a, e, 2);
    assert_false(tx_tir_infer_ranges(x, &t->lk, &d2));
    assert_int_equal(d2.nerr, 1);
    assert_string_equal(d2.head->msg, msg);
    /* asking again about the same statement does not repeat it */
    tx_type ty;
    assert_false(tx_tir_infer_ranges(e, &t->lk, &d2));
    assert_false(tx_tir_def_type(e, &t->lk, &ty, &d2));
    assert_int_equal(d2.nerr, 1);
}

/* ---- calls ----------------------------------------------------------------------------- */

static void construct_calls(void **state) {
    T *t = *state;
    val(t, "n", 4);
    val(t, "h", 2.5);
    var(t, "u", TXRT_F64, "");
    expect_call_type(t, "Z = zeros(n, 3)", 0, "f64(4, 3)");
    expect_call_type(t, "Z = ones(2*n)", 0, "f64(8,)");
    expect_call_type(t, "Z = zeros()", 0, "f64()");
    expect_call_type(t, "Z = zeros(u, 2)", 0, "f64(?, 2)");
    expect_call_error(t, "Z = zeros(2.5)", "zeros: size 2.5 is not a whole number", "2.5");
    expect_call_error(t, "Z = ones(h, 2)", "ones: size 2.5 is not a whole number", "h");
    expect_call_error(t, "Z = zeros(3, -1)", "zeros: size -1 is negative", "-1");
    expect_call_type(t, "Z = rand(2, 3, seed=7)", 0, "f64(2, 3)");
    expect_call_error(t, "Z = randn(3, seed=2.5)", "randn: seed 2.5 is not a whole number", "2.5");
    expect_call_error(t, "Z = full(2, 3)", "full: missing value=, e.g. full(2, 3, value=1.5)", NULL);
    expect_call_type(t, "Z = full(2, value=1j)", 0, "c128(2,)");
    expect_call_type(t, "Z = full(2, 2, value=n)", 0, "f64(2, 2)");
    expect_call_type(t, "I = eye(n)", 0, "f64(4, 4)");
    expect_call_type(t, "r = arange(5)", 0, "f64(5,)");
    expect_call_type(t, "r = linspace(0, 1, 11)", 0, "f64(11,)");
    expect_call_error(t, "r = linspace(0, 1, 2.5)", "linspace: count 2.5 is not a whole number", "2.5");
    expect_call_type(t, "L = load(\"x.npy\")", 0, "?(?)");
    var(t, "X", TXRT_F64, "3,4");
    expect_call_error(t, "L = load(X)", "load: the path must be a string, e.g. load(\"data.npy\")", "X");
    tx_tir_stmt *s = stmt(t, "save(\"out.npy\", X)");
    assert_int_equal(s->kind, TX_TIR_CALL);
    assert_int_equal(s->nresults, 0);
    assert_true(tx_tir_call_types(s, &t->lk, NULL, &t->d));
    expect_call_error(t, "Z = zeros(X)", "zeros: the size must be a single number, but X has shape (3, 4)", "X");
}

static void shape_calls(void **state) {
    T *t = *state;
    var(t, "X", TXRT_F32, "3,4");
    var(t, "L", -1, "?");
    expect_call_type(t, "Y = reshape(X, 2, 6)", 0, "f32(2, 6)");
    expect_call_type(t, "Y = reshape(L, 2, 6)", 0, "?(2, 6)");
    expect_call_error(t, "Y = reshape(X, 5, 2)",
                      "reshape: cannot reshape (3, 4) (12 elements) into (5, 2) (10 elements)", NULL);
    expect_call_type(t, "d = dim(X, 1)", 0, "f64()");
    expect_call_error(t, "d = dim(X, 2)", "dim: axis 2 is out of range for X with shape (3, 4)", "2");
    expect_call_error(t, "d = dim(X, 0.5)", "dim: axis 0.5 is not a whole number", "0.5");
    expect_call_type(t, "d = dim(X, -2)", 0, "f64()");
    expect_call_type(t, "Y = cast(X, \"c64\")", 0, "c64(3, 4)");
    expect_call_error(t, "Y = cast(X, \"f16\")", "cast: unknown dtype \"f16\"; use \"f64\", \"f32\", \"c128\" or \"c64\"",
                      "\"f16\"");
    expect_call_type(t, "s = sum(X)", 0, "f32()");
    var(t, "Z", TXRT_C128, "2");
    expect_call_type(t, "s = norm(Z)", 0, "f64()");
    expect_call_type(t, "s = max(Z)", 0, "c128()");
    expect_call_type(t, "b = allclose(X, X, rtol=0.001)", 0, "f64()");
    expect_call_error(t, "b = allclose(X, Z)", "allclose: shapes (3, 4) and (2,) differ", NULL);
}

static void lapack_calls(void **state) {
    T *t = *state;
    var(t, "A", TXRT_F64, "3,3");
    var(t, "R", TXRT_F64, "3,4");
    var(t, "T", TXRT_F64, "5,3");
    var(t, "b", TXRT_F64, "3");
    var(t, "B", TXRT_C128, "3,2");
    var(t, "b4", TXRT_F64, "4,2");
    var(t, "H", TXRT_C128, "3,3");
    var(t, "y5", TXRT_F64, "5,2");
    expect_call_type(t, "x = solve(A, b)", 0, "f64(3,)");
    expect_call_type(t, "x = solve(A, B)", 0, "c128(3, 2)");
    expect_call_error(t, "x = solve(R, b)", "solve: R must be square, but it has shape (3, 4)", "R");
    expect_call_error(t, "x = solve(A, b4)", "solve: A has 3 rows but b4 has 4", "b4");
    expect_call_error(t, "x = inv(b)", "inv: b must be a matrix, but it has shape (3,)", "b");
    expect_call_type(t, "x = inv(A)", 0, "f64(3, 3)");
    expect_call_type(t, "x = det(H)", 0, "c128()");
    expect_call_type(t, "x = cholesky(A)", 0, "f64(3, 3)");
    expect_call_type(t, "x = cho_solve(A, b)", 0, "f64(3,)");
    expect_call_type(t, "w, V = eigh(H)", 0, "f64(3,)");
    expect_call_type(t, "w, V = eigh(H)", 1, "c128(3, 3)");
    expect_call_type(t, "U, s, Vt = svd(T)", 0, "f64(5, 3)");
    expect_call_type(t, "U, s, Vt = svd(T)", 1, "f64(3,)");
    expect_call_type(t, "U, s, Vt = svd(R)", 2, "f64(3, 4)");
    expect_call_type(t, "Q, RR = qr(T)", 0, "f64(5, 3)");
    expect_call_type(t, "Q, RR = qr(T)", 1, "f64(3, 3)");
    expect_call_type(t, "x = lstsq(T, y5)", 0, "f64(3, 2)");
    expect_call_error(t, "x = lstsq(T, b)", "lstsq: T has 5 rows but b has 3", "b");
    expect_call_error(t, "w = eigh(R)", "eigh: R must be square, but it has shape (3, 4)", "R");
}

static void fft_calls(void **state) {
    T *t = *state;
    var(t, "X", TXRT_F64, "4,6");
    var(t, "X32", TXRT_F32, "4,6");
    var(t, "v", TXRT_F64, "6");
    var(t, "F", TXRT_C128, "4,4");
    var(t, "E", TXRT_F64, "4,0");
    expect_call_type(t, "Y = fft(X)", 0, "c128(4, 6)");
    expect_call_type(t, "Y = ifft(X32, axis=0)", 0, "c64(4, 6)");
    expect_call_type(t, "Y = fft(X, axis=-2)", 0, "c128(4, 6)");
    expect_call_error(t, "Y = fft(X, axis=2)", "fft: axis 2 is out of range for X with shape (4, 6)", "2");
    expect_call_error(t, "Y = fft2(v)", "fft2: v must have at least 2 axes, but it has shape (6,)", "v");
    expect_call_type(t, "Y = ifft2(X)", 0, "c128(4, 6)");
    expect_call_type(t, "Y = rfft(X)", 0, "c128(4, 4)");
    expect_call_error(t, "Y = rfft(F)", "rfft: F must be real, but it is c128", "F");
    expect_call_type(t, "Y = irfft(F)", 0, "f64(4, 6)");
    expect_call_type(t, "Y = irfft(F, 7)", 0, "f64(4, 7)");
    expect_call_error(t, "Y = irfft(F, 0)", "irfft: length 0 must be at least 1", "0");
    expect_call_error(t, "Y = fft(E)", "fft: cannot transform axis 1 of E, which has size 0 (shape (4, 0))", "E");
}

static void spherical_calls(void **state) {
    T *t = *state;
    var(t, "th", TXRT_F64, "5");
    var(t, "ph", TXRT_F32, "5");
    var(t, "p2", TXRT_F64, "6");
    var(t, "G", TXRT_F64, "2,3");
    expect_call_type(t, "Y = sph_harm(2, th, ph)", 0, "f64(9, 5)");
    expect_call_type(t, "Y = sph_harm(1, G, G)", 0, "f64(4, 2, 3)");
    expect_call_error(t, "Y = sph_harm(2, th, p2)",
                      "sph_harm: theta and phi must have one shape, but th has shape (5,) and p2 has shape (6,)", "p2");
    expect_call_error(t, "Y = sph_harm(1.5, th, ph)", "sph_harm: degree 1.5 is not a whole number", "1.5");
    expect_call_type(t, "G3 = gaunt(1)", 0, "f64(4, 4, 4)");
}

static void user_function_calls(void **state) {
    T *t = *state;
    func(t, "attention", "Q[n,d], K[n,d], V[n,e]", "O[n,e]");
    func(t, "scale", "A[n,3]: f32, s", "B[n,3]: f32, m[k]");
    func(t, "cplx", "Z[n]: c128", "W[n]");
    var(t, "Q", TXRT_F64, "5,16");
    var(t, "K", TXRT_F64, "5,8");
    var(t, "K16", TXRT_F64, "5,16");
    var(t, "V", TXRT_F64, "5,7");
    var(t, "v", TXRT_F64, "5");
    var(t, "A", TXRT_F64, "4,3");
    var(t, "A4", TXRT_F64, "4,4");
    var(t, "C", TXRT_C128, "4,3");
    var(t, "L", -1, "?");
    expect_call_type(t, "O = attention(Q, K16, V)", 0, "?(5, 7)");
    expect_call_error(t, "O = attention(Q, K, V)", "attention: size 'd' is 16 from Q[n,d] but 8 from K[n,d]", "K");
    expect_call_error(t, "O = attention(Q, v, V)", "attention: parameter K[n,d] has rank 2, but v has shape (5,)", "v");
    expect_call_type(t, "O = attention(L, L, V)", 0, "?(5, 7)");
    expect_call_type(t, "B, m = scale(A, 2)", 0, "f32(4, 3)");
    expect_call_type(t, "B, m = scale(A, 2)", 1, "?(?,)");
    expect_call_error(t, "B, m = scale(A4, 2)", "scale: parameter A[n,3] needs size 3 on axis 1, but A4 has shape (4, 4)",
                      "A4");
    expect_call_error(t, "B, m = scale(C, 2)", "scale: parameter A[n,3] is real (f32), but C is complex (c128)", "C");
    expect_call_type(t, "W = cplx(v)", 0, "?(5,)"); /* real into complex is fine */
    expect_call_error(t, "O = attention(Q, K16)", "attention takes 3 arguments but 2 were given", NULL);
    func(t, "trace", "M[n,n]", "t");
    expect_call_error(t, "x = trace(A)", "trace: size 'n' is 4 from M[n,n] (axis 0) but 3 from M[n,n] (axis 1)", "A");
}

static void arity_and_keywords(void **state) {
    T *t = *state;
    var(t, "X", TXRT_F64, "3");
    expect_call_error(t, "Y = eye(3, 4)", "eye takes 1 argument but 2 were given", NULL);
    expect_call_error(t, "Y = rand(3, sed=1)", "rand has no keyword argument 'sed'", "sed");
    expect_call_error(t, "a, b = fft(X)", "fft returns 1 result but 2 are bound", NULL);
}

/* ---- the static checker ----------------------------------------------------------------- */

static void check_folds_lets_and_dims(void **state) {
    T *t = *state;
    prog g = { 0 };
    add(&g, stmt(t, "let n = 4"));
    add(&g, stmt(t, "let m = n * 2"));
    add(&g, stmt(t, "X = zeros(n, m)"));
    add(&g, stmt(t, "v = zeros(5)"));
    add(&g, stmt(t, "Y[i] = X[i,0] + v[i]"));
    add(&g, stmt(t, "k = dim(X, -1)"));
    add(&g, stmt(t, "w = zeros(k + 1)"));
    add(&g, stmt(t, "Z[i] = w[i] * X[0,i]"));
    assert_false(tx_tir_check(&g.p, NULL, &t->d));
    expect_error(t, "index 'i' has size 5 in v[i] but 4 in X[i,0]", "v[i]");
    expect_error(t, "index 'i' has size 8 in X[0,i] but 9 in w[i]", "X[0,i]");
    expect_errors(t, 2);
}

static void check_reports_each_error_once_without_cascades(void **state) {
    T *t = *state;
    prog g = { 0 };
    add(&g, stmt(t, "A = zeros(2.5)"));
    add(&g, stmt(t, "B = ones(3)"));
    add(&g, stmt(t, "C[i] = A[i] + B[i]"));    /* A unknown now: silent */
    add(&g, stmt(t, "D = reshape(B, 2, 2)"));  /* independent error */
    add(&g, stmt(t, "E = D + B"));             /* D unknown: silent */
    add(&g, stmt(t, "L = load(\"data.npy\")"));
    add(&g, stmt(t, "M[i,j] = L[i,k] * L[k,j]"));
    add(&g, stmt(t, "N = L * 2 + B"));
    assert_false(tx_tir_check(&g.p, NULL, &t->d));
    expect_error(t, "zeros: size 2.5 is not a whole number", "2.5");
    expect_error(t, "reshape: cannot reshape (3,) (3 elements) into (2, 2) (4 elements)", NULL);
    expect_errors(t, 2);
}

static void check_uses_globals(void **state) {
    T *t = *state;
    var(t, "G", TXRT_F64, "3,4");
    prog g = { 0 };
    add(&g, stmt(t, "v = ones(3)"));
    add(&g, stmt(t, "y[j] = G[i,j] * v[j]"));
    assert_false(tx_tir_check(&g.p, &t->lk, &t->d));
    expect_error(t, "index 'j' has size 3 in v[j] but 4 in G[i,j]", "v[j]");
    /* a local binding shadows the global */
    T *u = t;
    tx_diags d2;
    tx_diags_init(&d2, u->a, NULL);
    prog h = { 0 };
    add(&h, stmt(t, "G = ones(4, 3)"));
    add(&h, stmt(t, "y[j] = G[i,j] * v2[j]"));
    var(t, "v2", TXRT_F64, "3");
    assert_true(tx_tir_check(&h.p, &t->lk, &d2));
}

static void check_loops(void **state) {
    T *t = *state;
    prog g = { 0 };
    add(&g, stmt(t, "x = zeros(3)"));
    add(&g, stmt(t, "z = zeros(3)"));
    tx_tir_stmt *f = mk_for(t, "t", "0", "3");
    body_add(&f->body, &f->nbody, stmt(t, "x = zeros(4)"));
    body_add(&f->body, &f->nbody, stmt(t, "a = ones(t)"));     /* t unknown: fine */
    body_add(&f->body, &f->nbody, stmt(t, "b[i] = z[i] + ones5[i]"));
    add(&g, f);
    add(&g, stmt(t, "y[i] = x[i] + z[i]"));                    /* x is 3 or 4: silent */
    var(t, "ones5", TXRT_F64, "5");
    assert_false(tx_tir_check(&g.p, &t->lk, &t->d));
    /* the body's error is reported once, not once per pass */
    expect_error(t, "index 'i' has size 5 in ones5[i] but 3 in z[i]", "ones5[i]");
    expect_errors(t, 1);
}

static void check_loop_carried_types(void **state) {
    T *t = *state;
    prog g = { 0 };
    add(&g, stmt(t, "x = zeros(3)"));
    add(&g, stmt(t, "w = zeros(3)"));
    tx_tir_stmt *f = mk_for(t, "t", "0", "3");
    /* only the first iteration sees x of size 3: no error is provable */
    body_add(&f->body, &f->nbody, stmt(t, "y[i] = x[i] + w[i]"));
    body_add(&f->body, &f->nbody, stmt(t, "x = zeros(4)"));
    add(&g, f);
    assert_true(tx_tir_check(&g.p, NULL, &t->d));
    /* a loop that never runs checks nothing */
    prog h = { 0 };
    add(&h, stmt(t, "u = zeros(3)"));
    tx_tir_stmt *f2 = mk_for(t, "t", "2", "2");
    body_add(&f2->body, &f2->nbody, stmt(t, "q = reshape(u, 7)"));
    add(&h, f2);
    assert_true(tx_tir_check(&h.p, NULL, &t->d));
    /* bounds must be whole numbers */
    prog k = { 0 };
    add(&k, mk_for(t, "t", "0", "1.5"));
    assert_false(tx_tir_check(&k.p, NULL, &t->d));
    expect_error(t, "a loop bound must be a whole number, got 1.5", "1.5");
}

static void check_function_bodies(void **state) {
    T *t = *state;
    tx_tir_func *f = func(t, "f", "A[n,3], w[4]", "B[n]");
    body_add(&f->body, &f->nbody, stmt(t, "B[i] = A[i,j] * w[j]"));
    tx_tir_func *g2 = func(t, "g", "Q[n,d], K[m,d]", "S[n,m]");
    body_add(&g2->body, &g2->nbody, stmt(t, "S[i,j] = exp(sum[a](Q[i,a] * K[j,a]) / d)"));
    tx_tir_func *h = func(t, "h", "X[n]", "Y[2]");
    body_add(&h->body, &h->nbody, stmt(t, "Y = zeros(3)"));
    tx_tir_func *c = func(t, "c", "X[n]: c128", "Y[n]: f64");
    body_add(&c->body, &c->nbody, stmt(t, "Y[i] = X[i] * 2"));
    tx_tir_program p;
    memset(&p, 0, sizeof p);
    p.funcs = t->funcs;
    p.nfuncs = t->nfuncs;
    assert_false(tx_tir_check(&p, NULL, &t->d));
    expect_error(t, "index 'j' has size 4 in w[j] but 3 in A[i,j]", "w[j]");
    expect_error(t, "h: result Y has shape (3,) but is declared Y[2]", NULL);
    expect_error(t, "c: result Y is complex (c128) but is declared real (f64)", NULL);
    expect_errors(t, 3);
}

static void check_assert_and_calls_of_functions(void **state) {
    T *t = *state;
    tx_tir_func *f = func(t, "f", "A[n,d]", "B[d,n]");
    body_add(&f->body, &f->nbody, stmt(t, "B[j,i] = A[i,j]"));
    prog g = { 0 };
    g.p.funcs = t->funcs;
    g.p.nfuncs = t->nfuncs;
    add(&g, stmt(t, "X = ones(2, 3)"));
    add(&g, stmt(t, "Y = f(X)"));
    add(&g, stmt(t, "v = ones(2)"));
    add(&g, stmt(t, "z[i] = Y[i,j] * v[j]"));
    tx_tir_stmt *as = TX_NEW(t->a, tx_tir_stmt);
    as->kind = TX_TIR_ASSERT;
    as->builtin = -1;
    as->args = TX_NEWN(t->a, tx_tir_expr *, 1);
    tx_tir_stmt *cond = stmt(t, "cnd = v");
    as->args[0] = cond->rhs;
    as->nargs = 1;
    add(&g, as);
    assert_false(tx_tir_check(&g.p, NULL, &t->d));
    expect_error(t, "assert needs a scalar condition, got shape (2,)", "v");
    expect_errors(t, 1); /* Y is (3, 2) from the signature: z is fine */
}

/* ---- through the real front end ----------------------------------------------------------- */

typedef struct src_run {
    tx_arena *a;
    tx_source *src;
    tx_diags d;
    tx_tir_program *p;
    bool checked;
} src_run;

/* parse + sema + lower + tx_tir_check; the front end must accept the text. */
static void run_src(src_run *r, const char *text) {
    memset(r, 0, sizeof *r);
    r->a = tx_arena_new(0);
    r->src = tx_source_new(r->a, "t.tx", text, (uint32_t)strlen(text));
    tx_diags_init(&r->d, r->a, r->src);
    tx_ast_program *ast = tx_parse(r->a, r->src, &r->d);
    assert_int_equal(r->d.nerr, 0);
    tx_sema(r->a, ast, NULL, &r->d);
    assert_int_equal(r->d.nerr, 0);
    r->p = tx_lower(r->a, ast, NULL, &r->d);
    assert_non_null(r->p);
    assert_int_equal(r->d.nerr, 0);
    r->checked = tx_tir_check(r->p, NULL, &r->d);
}

/* "LINE:COL: message" of the diagnostics, one per line. */
static const char *src_diags(src_run *r, char *buf, size_t n) {
    size_t k = 0;
    buf[0] = 0;
    for (tx_diag *g = r->d.head; g; g = g->next) {
        uint32_t line, col;
        tx_source_linecol(r->src, g->span.lo, &line, &col);
        k += (size_t)snprintf(buf + k, n - k, "%u:%u: %s\n", line, col, g->msg);
        if (k >= n) break;
    }
    return buf;
}

/* The last DEF of the main unit assigning `out`. */
static const tx_tir_stmt *src_def(src_run *r, const char *out) {
    const tx_tir_stmt *found = NULL;
    for (int k = 0; k < r->p->nstmts; k++)
        if (r->p->stmts[k]->kind == TX_TIR_DEF && strcmp(r->p->stmts[k]->out, out) == 0) found = r->p->stmts[k];
    assert_non_null(found);
    return found;
}

static void expect_src(const char *text, const char *diags) {
    src_run r;
    char buf[4096];
    run_src(&r, text);
    src_diags(&r, buf, sizeof buf);
    if (strcmp(buf, diags) != 0) fail_msg("got:\n%swanted:\n%s", buf, diags);
    assert_int_equal(r.checked, diags[0] == 0);
    tx_arena_free(r.a);
}

static void source_language_example(void **state) {
    (void)state;
    expect_src("A = randn(4, 32, seed=1)\nB = randn(64, 8, seed=2)\nC[i,j] = A[i,k] * B[k,j]\n",
               "3:19: index 'k' has size 64 in B[k,j] but 32 in A[i,k]\n");
    expect_src("let n = 256\nlet d = 16\nQ = randn(n, d, seed=1)\nK1 = randn(n, d, seed=2)\n"
               "A[i,j] = exp(sum[a](Q[i,a] * K1[j,a]) / d)\nD[i] = A[i,j]\nprint D[0]\n",
               "");
}

static void source_ranges_through_lowering(void **state) {
    (void)state;
    src_run r;
    run_src(&r, "X = arange(10)\nW = ones(3)\nY[i] = X[i+k] * W[k]\nD[i] = X[i+1] - X[i-1]\n"
                "let s = 2\nE[i] = X[s*i+1]\n");
    assert_true(r.checked);
    expect_range(src_def(&r, "Y"), "i", 0, 8);
    expect_range(src_def(&r, "Y"), "k", 0, 3);
    expect_range(src_def(&r, "D"), "i", 1, 8);
    expect_range(src_def(&r, "E"), "i", 0, 5);
    tx_arena_free(r.a);
}

static void source_errors_in_order(void **state) {
    (void)state;
    expect_src("A = ones(2, 3)\nB = ones(4, 5)\nC[i,j] = A[i,k] * B[k,j]\nD = reshape(A, 5)\nE = A + B\n"
               "v = ones(3)\nF = A * v\nX = arange(4)\nG[i,j] = X[i+j] * X[i] * X[j]\nH = zeros(2.5)\nt = A[i,i]\n",
               "3:19: index 'k' has size 4 in B[k,j] but 3 in A[i,k]\n"
               "4:1: reshape: cannot reshape (2, 3) (6 elements) into (5,) (5 elements)\n"
               "5:5: shapes (2, 3) and (4, 5) differ in A + B; whole-tensor arithmetic needs equal shapes: "
               "write it in index notation\n"
               "7:5: shapes (2, 3) and (3,) differ in A * v; whole-tensor arithmetic needs equal shapes: "
               "write it in index notation, e.g. F[i,j] = A[i,j] * v[j]\n"
               "9:10: X[i+j] reads past the end of X (size 4) when i = 3, j = 3; index 'i' has size 4 in X[i]\n"
               "10:11: zeros: size 2.5 is not a whole number\n"
               "11:5: index 'i' has size 3 in A[i,i] (axis 1) but 2 in A[i,i] (axis 0)\n");
}

static void source_lets_dims_and_loops(void **state) {
    (void)state;
    expect_src("let n = 3\nlet m = n + 1\nA = zeros(n, m)\nk = dim(A, 1)\nv = ones(k)\nw = ones(n)\n"
               "y[i] = A[i,j] * v[j] * w[i]\nfor t in 0..4 {\n  A = zeros(t + 1, m)\n}\nz[i] = A[i,j] * w[i]\n",
               "");
    expect_src("x = ones(3)\nfor t in 0..2 {\n  q = ones(4)\n  r[i] = q[i] + x[i]\n}\n",
               "4:17: index 'i' has size 3 in x[i] but 4 in q[i]\n");
}

static void source_functions(void **state) {
    (void)state;
    expect_src("def attention(Q[n,d], K[n,d], V[n,e]) -> O[n,e] {\n"
               "  S[i,j] = exp(sum[a](Q[i,a]*K[j,a]))\n"
               "  O[i,b] = S[i,j] * V[j,b] / sum[j](S[i,j])\n"
               "}\n"
               "Q = ones(5, 16)\nK = ones(5, 8)\nV = ones(5, 7)\nO = attention(Q, K, V)\n",
               "8:18: attention: size 'd' is 16 from Q[n,d] but 8 from K[n,d]\n");
    expect_src("def f(A[n,3], w[4]) -> B[n] {\n  B[i] = A[i,j] * w[j]\n}\n",
               "2:19: index 'j' has size 4 in w[j] but 3 in A[i,j]\n");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(matmul_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(size_conflict_names_both_accesses, setup, teardown),
        cmocka_unit_test_setup_teardown(declared_size_fixes_and_must_agree, setup, teardown),
        cmocka_unit_test_setup_teardown(declared_size_must_be_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(index_in_no_subscript, setup, teardown),
        cmocka_unit_test_setup_teardown(valid_convolution, setup, teardown),
        cmocka_unit_test_setup_teardown(central_difference_starts_at_one, setup, teardown),
        cmocka_unit_test_setup_teardown(two_dimensional_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(plain_use_keeps_size_affine_must_fit, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_valid_range, setup, teardown),
        cmocka_unit_test_setup_teardown(joint_affine_unfixed, setup, teardown),
        cmocka_unit_test_setup_teardown(constant_subscripts, setup, teardown),
        cmocka_unit_test_setup_teardown(rank_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_shapes_are_silent, setup, teardown),
        cmocka_unit_test_setup_teardown(accumulate, setup, teardown),
        cmocka_unit_test_setup_teardown(dtype_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(ellipsis_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(expand_plain_and_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(expand_reports_mismatch_once, setup, teardown),
        cmocka_unit_test_setup_teardown(construct_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(shape_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(lapack_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(fft_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(spherical_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(user_function_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(arity_and_keywords, setup, teardown),
        cmocka_unit_test_setup_teardown(check_folds_lets_and_dims, setup, teardown),
        cmocka_unit_test_setup_teardown(check_reports_each_error_once_without_cascades, setup, teardown),
        cmocka_unit_test_setup_teardown(check_uses_globals, setup, teardown),
        cmocka_unit_test_setup_teardown(check_loops, setup, teardown),
        cmocka_unit_test_setup_teardown(check_loop_carried_types, setup, teardown),
        cmocka_unit_test_setup_teardown(check_function_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(check_assert_and_calls_of_functions, setup, teardown),
        cmocka_unit_test(source_language_example),
        cmocka_unit_test(source_ranges_through_lowering),
        cmocka_unit_test(source_errors_in_order),
        cmocka_unit_test(source_lets_dims_and_loops),
        cmocka_unit_test(source_functions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
