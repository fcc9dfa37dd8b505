/*
 * check.c -- shapes and types: index ranges, result types, the typing of
 * builtin and function calls, and the static checker.
 *
 * The same functions run twice over a program.  `txc check` (and every
 * run, before anything executes) calls tx_tir_check, an abstract
 * interpretation of the program in which shapes may be partly unknown (a
 * loaded tensor, a size name inside a def body: -1).  Then the reference
 * evaluator (ir/interp.c) calls tx_tir_infer_ranges, tx_tir_def_type and
 * tx_tir_call_types right before it executes each statement, with every
 * shape known.  So the rule throughout is: report an error only when it
 * follows from what is known, and then always, with the same words in both
 * uses.  Unknown sizes propagate silently.
 *
 * Index ranges (LANGUAGE.md "Index ranges", "Affine subscripts").  Every
 * index of a def ranges over lo, lo+1, ..., lo+extent-1, always within the
 * non-negative integers:
 *   - a plain use X[i] (one index, coefficient 1, no constant) fixes the
 *     range to 0..size-1; so do `index i : n` declarations and, for +=,
 *     the target's own shape; two different sizes are an error naming both
 *     accesses;
 *   - an index fixed by none of these takes the largest range that keeps
 *     every affine access (X[i+k], X[2*i-1]) in bounds for all values of
 *     the other indices ("valid" convolution).  Indices are solved one at a
 *     time, lowest id first, each from every access whose other indices
 *     are already solved, so every access constrains the index solved last
 *     among its own;
 *   - afterwards every affine access of plainly sized indices must stay in
 *     bounds ("X[i+1] reads past the end of X").
 *
 * Dtypes follow numpy's value-based promotion (numpy 1.24): an operand's
 * weight is 0 for literals and index values, 1 for rank-0 tensors, 2 for
 * tensors of rank >= 1.  Combining two operands of equal weight promotes
 * (f32 < f64, real < complex); otherwise the heavier one keeps its
 * precision and the result is complex if either is.  So 2*X, s*X and X*1j
 * keep X's f32 precision.  real/imag/abs and comparisons give the real
 * counterpart.
 *
 * Nothing here prints or exits; errors are tx_diags records.  Scratch
 * memory is malloc'd and freed before returning (the evaluator calls in
 * here once per executed statement); only tx_tir_expand_ellipsis allocates
 * in an arena.
 */
#include "ir/tir.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/builtins.h"

typedef __int128 i128;

/* ---- small utilities ------------------------------------------------------ */

/* A bounded string builder: messages are short, and truncation is harmless. */
typedef struct sbuf {
    char s[1024];
    size_t n;
} sbuf;

static void sb_init(sbuf *b) {
    b->n = 0;
    b->s[0] = 0;
}

static void sb_put(sbuf *b, const char *t) {
    while (t && *t && b->n + 1 < sizeof b->s) b->s[b->n++] = *t++;
    b->s[b->n] = 0;
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sb_put(b, tmp);
}

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) abort();
    return p;
}

/* A number the way a user would write it: 3, 2.5, 1e-05, inf. */
static const char *num_str(char *buf, size_t n, double v) {
    if (isnan(v)) snprintf(buf, n, "nan");
    else if (isinf(v)) snprintf(buf, n, v < 0 ? "-inf" : "inf");
    else if (v == floor(v) && fabs(v) < 1e16) snprintf(buf, n, "%.0f", v == 0 ? 0.0 : v);
    else {
        for (int p = 1; p <= 17; p++) {
            snprintf(buf, n, "%.*g", p, v);
            if (strtod(buf, NULL) == v) break;
        }
    }
    return buf;
}

static bool is_temp(const char *name) { return name && name[0] == '%'; }

/* Use the fallback when a span was never filled in. */
static tx_span span_or(tx_span s, tx_span fallback) {
    return (s.lo == 0 && s.hi == 0) ? fallback : s;
}

/* tx_error, except that an error identical to the one just recorded (same
 * span, same text) is dropped: the evaluator may ask about one statement
 * twice (infer the ranges, then the type) and should hear about it once. */
static tx_diag *err(tx_diags *d, tx_span at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static tx_diag *err(tx_diags *d, tx_span at, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (d->head) {
        tx_diag *last = (tx_diag *)(void *)((char *)d->tail - offsetof(tx_diag, next));
        if (last->sev == TX_ERROR && last->span.lo == at.lo && last->span.hi == at.hi &&
            last->msg && strcmp(last->msg, buf) == 0)
            return NULL;
    }
    return tx_error(d, at, "%s", buf);
}

/* ---- dtypes and types ----------------------------------------------------- */

static bool dt_valid(int dt) { return dt >= TXRT_F64 && dt <= TXRT_C64; }
static bool dt_cplx(int dt) { return dt == TXRT_C128 || dt == TXRT_C64; }
static bool dt_dbl(int dt) { return dt == TXRT_F64 || dt == TXRT_C128; }
static int dt_make(bool cplx, bool dbl) {
    return cplx ? (dbl ? TXRT_C128 : TXRT_C64) : (dbl ? TXRT_F64 : TXRT_F32);
}
static int dt_real(int dt) { return dt_valid(dt) ? dt_make(false, dt_dbl(dt)) : -1; }
static int dt_complex(int dt) { return dt_valid(dt) ? dt_make(true, dt_dbl(dt)) : -1; }
/* The same lattice as txrt_dtype_promote: f32 < f64, real < complex. */
static int dt_promote(int a, int b) {
    if (!dt_valid(a) || !dt_valid(b)) return -1;
    return dt_make(dt_cplx(a) || dt_cplx(b), dt_dbl(a) || dt_dbl(b));
}
static const char *dt_name(int dt) {
    static const char *const names[] = { "f64", "f32", "c128", "c64" };
    return dt_valid(dt) ? names[dt] : "?";
}
static int dt_from_name(const char *s, int len) {
    static const char *const names[] = { "f64", "f32", "c128", "c64" };
    for (int k = 0; k < 4; k++)
        if ((int)strlen(names[k]) == len && strncmp(names[k], s, (size_t)len) == 0) return k;
    return -1;
}

static tx_type ty_unknown(void) {
    tx_type t;
    t.dtype = -1;
    t.rank = -1;
    for (int k = 0; k < TXRT_MAX_RANK; k++) t.dims[k] = -1;
    return t;
}

static tx_type ty_make(int dtype, int rank) {
    tx_type t = ty_unknown();
    t.dtype = dtype;
    t.rank = rank;
    return t;
}

static tx_varinfo vi_unknown(void) {
    tx_varinfo v;
    memset(&v, 0, sizeof v);
    v.type = ty_unknown();
    return v;
}

static tx_varinfo vi_of(tx_type t) {
    tx_varinfo v = vi_unknown();
    v.type = t;
    return v;
}

/* Make whatever a lookup returned safe to index with. */
static void ty_sanitize(tx_type *t) {
    if (!dt_valid(t->dtype)) t->dtype = -1;
    if (t->rank < -1 || t->rank > TXRT_MAX_RANK) t->rank = -1;
    for (int k = 0; k < TXRT_MAX_RANK; k++)
        if (t->rank < 0 || k >= t->rank || t->dims[k] < -1) t->dims[k] = -1;
}

static bool get_info(const tx_lookup *lk, const char *var, tx_varinfo *out) {
    if (lk && lk->get && var) {
        tx_varinfo v = vi_unknown();
        if (lk->get(lk->self, var, &v)) {
            ty_sanitize(&v.type);
            if (v.type.rank != 0) v.known = false;
            *out = v;
            return true;
        }
    }
    *out = vi_unknown();
    return false;
}

/* "(3, 4)", "(3,)", "()"; an unknown size prints as "?". */
static const char *shape_str(sbuf *b, const tx_type *t) {
    sb_init(b);
    if (t->rank < 0) {
        sb_put(b, "(?)");
        return b->s;
    }
    sb_put(b, "(");
    for (int k = 0; k < t->rank; k++) {
        if (k) sb_put(b, ", ");
        if (t->dims[k] < 0) sb_put(b, "?");
        else sb_printf(b, "%lld", (long long)t->dims[k]);
    }
    sb_put(b, t->rank == 1 ? ",)" : ")");
    return b->s;
}

/* Two types whose shapes are provably different. */
static bool shapes_differ(const tx_type *a, const tx_type *b) {
    if (a->rank < 0 || b->rank < 0) return false;
    if (a->rank != b->rank) return true;
    for (int k = 0; k < a->rank; k++)
        if (a->dims[k] >= 0 && b->dims[k] >= 0 && a->dims[k] != b->dims[k]) return true;
    return false;
}

/* ---- printing expressions the way they are written ----------------------- */

static const char *op_str(tx_tir_op op) {
    static const char *const names[TX_TOP__COUNT] = {
        [TX_TOP_ADD] = "+", [TX_TOP_SUB] = "-", [TX_TOP_MUL] = "*", [TX_TOP_DIV] = "/",
        [TX_TOP_POW] = "^", [TX_TOP_LT] = "<", [TX_TOP_LE] = "<=", [TX_TOP_GT] = ">",
        [TX_TOP_GE] = ">=", [TX_TOP_EQ] = "==", [TX_TOP_NE] = "!=", [TX_TOP_MAX2] = "max",
        [TX_TOP_MIN2] = "min", [TX_TOP_NEG] = "-", [TX_TOP_EXP] = "exp", [TX_TOP_LOG] = "log",
        [TX_TOP_SQRT] = "sqrt", [TX_TOP_ABS] = "abs", [TX_TOP_SIN] = "sin", [TX_TOP_COS] = "cos",
        [TX_TOP_TAN] = "tan", [TX_TOP_TANH] = "tanh", [TX_TOP_SIGMOID] = "sigmoid",
        [TX_TOP_RELU] = "relu", [TX_TOP_SIGN] = "sign", [TX_TOP_FLOOR] = "floor",
        [TX_TOP_CEIL] = "ceil", [TX_TOP_CONJ] = "conj", [TX_TOP_REAL] = "real", [TX_TOP_IMAG] = "imag",
    };
    if ((int)op < 0 || op >= TX_TOP__COUNT || !names[op]) return "?";
    return names[op];
}

static bool op_compare(tx_tir_op op) { return op >= TX_TOP_LT && op <= TX_TOP_NE; }

static const char *index_name(const tx_tir_stmt *def, int id) {
    if (def && id >= 0 && id < def->nindices && def->indices[id].name) return def->indices[id].name;
    return "?";
}

/* Substitutions used when printing a suggestion: whole access of var ->
 * var[subs]. */
typedef struct prsub {
    const char **vars;
    const char **subs;
    int n;
} prsub;

typedef struct prctx {
    const tx_tir_stmt *def;
    const prsub *sub;
} prctx;

static void pr_affine(sbuf *b, const tx_tir_affine *s, const tx_tir_stmt *def) {
    for (int t = 0; t < s->nterms; t++) {
        long long c = (long long)s->coef[t];
        const char *nm = index_name(def, s->idx[t]);
        if (t == 0) {
            if (c == 1) sb_put(b, nm);
            else if (c == -1) sb_printf(b, "-%s", nm);
            else sb_printf(b, "%lld*%s", c, nm);
        } else if (c > 0) {
            if (c == 1) sb_printf(b, "+%s", nm);
            else sb_printf(b, "+%lld*%s", c, nm);
        } else {
            if (c == -1) sb_printf(b, "-%s", nm);
            else sb_printf(b, "%lld*%s", c, nm);
        }
    }
    if (s->nterms == 0) sb_printf(b, "%lld", (long long)s->c0);
    else if (s->c0 > 0) sb_printf(b, "+%lld", (long long)s->c0);
    else if (s->c0 < 0) sb_printf(b, "%lld", (long long)s->c0);
}

static void pr_access(sbuf *b, const tx_tir_expr *e, const prctx *pc) {
    sb_put(b, e->var ? e->var : "?");
    if (e->nsubs > 0) {
        sb_put(b, "[");
        for (int k = 0; k < e->nsubs; k++) {
            if (k) sb_put(b, ",");
            pr_affine(b, &e->subs[k], pc->def);
        }
        sb_put(b, "]");
    } else if (pc->sub && e->var) {
        for (int k = 0; k < pc->sub->n; k++)
            if (strcmp(pc->sub->vars[k], e->var) == 0 && pc->sub->subs[k]) {
                sb_printf(b, "[%s]", pc->sub->subs[k]);
                break;
            }
    }
}

/* Precedence, loosest first: comparisons 1, + - 2, * / 3, unary - 4, ^ 5, atoms 9. */
static int prec_of(const tx_tir_expr *e) {
    switch (e->kind) {
    case TX_TIR_BINARY:
        if (op_compare(e->op)) return 1;
        if (e->op == TX_TOP_ADD || e->op == TX_TOP_SUB) return 2;
        if (e->op == TX_TOP_MUL || e->op == TX_TOP_DIV) return 3;
        if (e->op == TX_TOP_POW) return 5;
        return 9;
    case TX_TIR_UNARY:
        return e->op == TX_TOP_NEG ? 4 : 9;
    case TX_TIR_CONST:
        return (!e->is_complex && e->re < 0) ? 4 : 9;
    default:
        return 9;
    }
}

static void pr_expr(sbuf *b, const tx_tir_expr *e, const prctx *pc, int minprec, int depth) {
    char nb[64], nb2[64];
    if (!e) {
        sb_put(b, "?");
        return;
    }
    if (depth > 200) {
        sb_put(b, "...");
        return;
    }
    int p = prec_of(e);
    bool paren = p < minprec;
    if (paren) sb_put(b, "(");
    switch (e->kind) {
    case TX_TIR_CONST:
        if (e->is_complex || e->im != 0) {
            if (e->re == 0) sb_printf(b, "%sj", num_str(nb, sizeof nb, e->im));
            else
                sb_printf(b, "(%s%s%sj)", num_str(nb, sizeof nb, e->re), e->im < 0 ? "" : "+",
                          num_str(nb2, sizeof nb2, e->im));
        } else {
            sb_put(b, num_str(nb, sizeof nb, e->re));
        }
        break;
    case TX_TIR_INDEX:
        sb_put(b, index_name(pc->def, e->index));
        break;
    case TX_TIR_ACCESS:
        pr_access(b, e, pc);
        break;
    case TX_TIR_UNARY:
        if (e->op == TX_TOP_NEG) {
            sb_put(b, "-");
            pr_expr(b, e->a, pc, 4, depth + 1);
        } else {
            sb_printf(b, "%s(", op_str(e->op));
            pr_expr(b, e->a, pc, 0, depth + 1);
            sb_put(b, ")");
        }
        break;
    case TX_TIR_BINARY:
        if (e->op == TX_TOP_MAX2 || e->op == TX_TOP_MIN2) {
            sb_printf(b, "%s(", op_str(e->op));
            pr_expr(b, e->a, pc, 0, depth + 1);
            sb_put(b, ", ");
            pr_expr(b, e->b, pc, 0, depth + 1);
            sb_put(b, ")");
        } else if (e->op == TX_TOP_POW) {
            pr_expr(b, e->a, pc, p + 1, depth + 1);
            sb_put(b, "^");
            pr_expr(b, e->b, pc, p, depth + 1);
        } else {
            pr_expr(b, e->a, pc, p, depth + 1);
            sb_printf(b, " %s ", op_str(e->op));
            pr_expr(b, e->b, pc, p + 1, depth + 1);
        }
        break;
    case TX_TIR_WHERE:
        sb_put(b, "where(");
        pr_expr(b, e->a, pc, 0, depth + 1);
        sb_put(b, ", ");
        pr_expr(b, e->b, pc, 0, depth + 1);
        sb_put(b, ", ");
        pr_expr(b, e->c, pc, 0, depth + 1);
        sb_put(b, ")");
        break;
    case TX_TIR_REDUCE: {
        static const char *const red[] = { "sum", "max", "min", "prod" };
        sb_put(b, (int)e->redop >= 0 && e->redop <= TX_RED_PROD ? red[e->redop] : "?");
        sb_put(b, "[");
        for (int k = 0; k < e->nidx; k++) {
            if (k) sb_put(b, ",");
            sb_put(b, index_name(pc->def, e->idx[k]));
        }
        sb_put(b, "](");
        pr_expr(b, e->a, pc, 0, depth + 1);
        sb_put(b, ")");
        break;
    }
    case TX_TIR_STRING:
        sb_put(b, "\"");
        if (e->str) {
            for (int k = 0; k < e->str_len && b->n + 2 < sizeof b->s; k++) {
                char c[2] = { e->str[k], 0 };
                sb_put(b, c);
            }
        }
        sb_put(b, "\"");
        break;
    }
    if (paren) sb_put(b, ")");
}

static const char *expr_str(sbuf *b, const tx_tir_expr *e, const tx_tir_stmt *def) {
    prctx pc = { def, NULL };
    sb_init(b);
    pr_expr(b, e, &pc, 0, 0);
    return b->s;
}

/* How an argument is called in a message: its variable, the expression it
 * is, the source text a temporary was computed from (spans point into
 * d->src), or its position. */
static const char *arg_name(sbuf *b, const tx_tir_expr *e, int k, const tx_diags *d) {
    sb_init(b);
    if (e && e->kind == TX_TIR_ACCESS && e->nsubs == 0 && !is_temp(e->var)) {
        sb_put(b, e->var);
    } else if (e && e->kind != TX_TIR_ACCESS) {
        expr_str(b, e, NULL);
    } else if (e && d && d->src && d->src->text && e->span.hi > e->span.lo && e->span.hi <= d->src->len &&
               e->span.hi - e->span.lo <= 60 && !memchr(d->src->text + e->span.lo, '\n', e->span.hi - e->span.lo)) {
        sb_printf(b, "%.*s", (int)(e->span.hi - e->span.lo), d->src->text + e->span.lo);
    } else {
        sb_printf(b, "argument %d", k + 1);
    }
    return b->s;
}

/* i, j, k, ... for the e.g. in messages. */
static const char *letter(int k, char *buf, size_t n) {
    static const char *const L[] = { "i", "j", "k", "l", "m", "n", "p", "q", "r", "s", "t", "u", "v", "w" };
    if (k < (int)(sizeof L / sizeof L[0])) snprintf(buf, n, "%s", L[k]);
    else snprintf(buf, n, "i%d", k);
    return buf;
}

static const char *letters(sbuf *b, int rank) {
    char l[16];
    sb_init(b);
    for (int k = 0; k < rank; k++) {
        if (k) sb_put(b, ",");
        sb_put(b, letter(k, l, sizeof l));
    }
    return b->s;
}

/* ---- walking expressions --------------------------------------------------- */

typedef void (*access_fn)(void *ctx, tx_tir_expr *e);

static void walk_access(tx_tir_expr *e, access_fn fn, void *ctx, int depth) {
    if (!e || depth > 20000) return;
    if (e->kind == TX_TIR_ACCESS) fn(ctx, e);
    walk_access(e->a, fn, ctx, depth + 1);
    walk_access(e->b, fn, ctx, depth + 1);
    walk_access(e->c, fn, ctx, depth + 1);
}

/* ---- dtype of an expression ------------------------------------------------ */

typedef struct dty {
    int dt;     /* -1 unknown */
    int weight; /* 0 literal or index value, 1 rank-0 tensor, 2 tensor */
} dty;

static dty dty_combine(dty a, dty b) {
    dty r;
    r.weight = a.weight > b.weight ? a.weight : b.weight;
    if (a.dt < 0 || b.dt < 0) {
        r.dt = -1;
    } else if (a.weight == b.weight) {
        r.dt = dt_promote(a.dt, b.dt);
    } else {
        dty hi = a.weight > b.weight ? a : b;
        r.dt = dt_make(dt_cplx(a.dt) || dt_cplx(b.dt), dt_dbl(hi.dt));
    }
    return r;
}

static dty expr_dty(const tx_tir_expr *e, const tx_lookup *lk, int depth) {
    dty r = { -1, 0 };
    if (!e || depth > 20000) return r;
    switch (e->kind) {
    case TX_TIR_CONST:
        r.dt = (e->is_complex || e->im != 0) ? TXRT_C128 : TXRT_F64;
        return r;
    case TX_TIR_INDEX:
        r.dt = TXRT_F64;
        return r;
    case TX_TIR_ACCESS: {
        tx_varinfo vi;
        get_info(lk, e->var, &vi);
        r.dt = vi.type.dtype;
        r.weight = vi.type.rank == 0 ? 1 : 2;
        return r;
    }
    case TX_TIR_UNARY:
        r = expr_dty(e->a, lk, depth + 1);
        if (e->op == TX_TOP_REAL || e->op == TX_TOP_IMAG || e->op == TX_TOP_ABS) r.dt = dt_real(r.dt);
        return r;
    case TX_TIR_BINARY:
        r = dty_combine(expr_dty(e->a, lk, depth + 1), expr_dty(e->b, lk, depth + 1));
        if (op_compare(e->op)) r.dt = dt_real(r.dt);
        return r;
    case TX_TIR_WHERE:
        return dty_combine(expr_dty(e->b, lk, depth + 1), expr_dty(e->c, lk, depth + 1));
    case TX_TIR_REDUCE:
        return expr_dty(e->a, lk, depth + 1);
    case TX_TIR_STRING:
        return r;
    }
    return r;
}

/* ---- folding rank-0 constants ---------------------------------------------- */

static double sign_of(double x) { return isnan(x) ? x : (x > 0) - (x < 0); }

static bool fold(const tx_tir_expr *e, const tx_lookup *lk, double *v, int depth) {
    double a, b;
    if (!e || depth > 10000) return false;
    switch (e->kind) {
    case TX_TIR_CONST:
        if (e->im != 0) return false;
        *v = e->re;
        return true;
    case TX_TIR_ACCESS: {
        if (e->nsubs > 0) return false;
        tx_varinfo vi;
        if (!get_info(lk, e->var, &vi) || !vi.known || vi.type.rank != 0 || dt_cplx(vi.type.dtype)) return false;
        *v = vi.value;
        return true;
    }
    case TX_TIR_UNARY:
        if (!fold(e->a, lk, &a, depth + 1)) return false;
        switch (e->op) {
        case TX_TOP_NEG: *v = -a; return true;
        case TX_TOP_EXP: *v = exp(a); return true;
        case TX_TOP_LOG: *v = log(a); return true;
        case TX_TOP_SQRT: *v = sqrt(a); return true;
        case TX_TOP_ABS: *v = fabs(a); return true;
        case TX_TOP_SIN: *v = sin(a); return true;
        case TX_TOP_COS: *v = cos(a); return true;
        case TX_TOP_TAN: *v = tan(a); return true;
        case TX_TOP_TANH: *v = tanh(a); return true;
        case TX_TOP_SIGMOID: *v = 1.0 / (1.0 + exp(-a)); return true;
        case TX_TOP_RELU: *v = isnan(a) ? a : a > 0 ? a : 0.0; return true;
        case TX_TOP_SIGN: *v = sign_of(a); return true;
        case TX_TOP_FLOOR: *v = floor(a); return true;
        case TX_TOP_CEIL: *v = ceil(a); return true;
        case TX_TOP_CONJ: case TX_TOP_REAL: *v = a; return true;
        case TX_TOP_IMAG: *v = 0; return true;
        default: return false;
        }
    case TX_TIR_BINARY:
        if (!fold(e->a, lk, &a, depth + 1) || !fold(e->b, lk, &b, depth + 1)) return false;
        switch (e->op) {
        case TX_TOP_ADD: *v = a + b; return true;
        case TX_TOP_SUB: *v = a - b; return true;
        case TX_TOP_MUL: *v = a * b; return true;
        case TX_TOP_DIV: *v = a / b; return true;
        case TX_TOP_POW:
            if (a < 0 && b != floor(b)) return false; /* complex in numpy's eyes: leave it to the evaluator */
            *v = pow(a, b);
            return true;
        case TX_TOP_LT: *v = a < b; return true;
        case TX_TOP_LE: *v = a <= b; return true;
        case TX_TOP_GT: *v = a > b; return true;
        case TX_TOP_GE: *v = a >= b; return true;
        case TX_TOP_EQ: *v = a == b; return true;
        case TX_TOP_NE: *v = a != b; return true;
        case TX_TOP_MAX2: *v = (isnan(a) || isnan(b)) ? NAN : a > b ? a : b; return true;
        case TX_TOP_MIN2: *v = (isnan(a) || isnan(b)) ? NAN : a < b ? a : b; return true;
        default: return false;
        }
    case TX_TIR_WHERE:
        if (!fold(e->a, lk, &a, depth + 1)) return false;
        return fold(a != 0 ? e->b : e->c, lk, v, depth + 1);
    default:
        return false;
    }
}

/* The type (and value) of a call argument or another standalone
 * expression: a whole access is its variable; anything else is rank 0
 * unless it combines whole tensors. */
static void whole_rank_cb(void *ctx, tx_tir_expr *e);

typedef struct wrctx {
    const tx_lookup *lk;
    tx_type t;
    bool any_unknown, any_tensor;
} wrctx;

static void whole_rank_cb(void *ctx, tx_tir_expr *e) {
    wrctx *w = ctx;
    if (e->nsubs > 0) return;
    tx_varinfo vi;
    get_info(w->lk, e->var, &vi);
    if (vi.type.rank < 0) w->any_unknown = true;
    else if (vi.type.rank > 0 && !w->any_tensor) {
        w->any_tensor = true;
        w->t = vi.type;
    }
}

static tx_varinfo arg_info(const tx_tir_expr *e, const tx_lookup *lk) {
    tx_varinfo vi = vi_unknown();
    if (!e || e->kind == TX_TIR_STRING) return vi;
    if (e->kind == TX_TIR_ACCESS && e->nsubs == 0) {
        get_info(lk, e->var, &vi);
        return vi;
    }
    wrctx w = { lk, ty_unknown(), false, false };
    walk_access((tx_tir_expr *)e, whole_rank_cb, &w, 0);
    dty t = expr_dty(e, lk, 0);
    if (w.any_tensor) {
        vi.type = w.t;
        vi.type.dtype = t.dt;
        return vi;
    }
    if (w.any_unknown) {
        vi.type.dtype = t.dt;
        return vi;
    }
    vi.type = ty_make(t.dt, 0);
    double v;
    if (!dt_cplx(t.dt) && fold(e, lk, &v, 0)) {
        vi.known = true;
        vi.value = v;
    }
    return vi;
}

/* ---- whole-tensor (ellipsis) defs ------------------------------------------ */

typedef struct opnd {
    const tx_tir_expr *e;
    tx_varinfo vi;
} opnd;

typedef struct ectx {
    const tx_lookup *lk;
    opnd *ops;
    int n, cap;
} ectx;

static void ell_collect(void *ctx, tx_tir_expr *e) {
    ectx *c = ctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 8;
        opnd *o = realloc(c->ops, sizeof *o * (size_t)c->cap);
        if (!o) abort();
        c->ops = o;
    }
    c->ops[c->n].e = e;
    get_info(c->lk, e->var, &c->ops[c->n].vi);
    c->n++;
}

/* The index-notation form of an ellipsis def whose operand shapes differ,
 * for the e.g. of the message: the operand of highest rank gets i, j, ...;
 * another one lines its axes up from the right when the sizes allow (as
 * numpy broadcasting would), else by equal sizes. */
static const char *ellipsis_suggestion(sbuf *out, const tx_tir_stmt *def, const opnd *ops, int n) {
    int big = -1;
    for (int k = 0; k < n; k++)
        if (ops[k].e->nsubs == 0 && ops[k].vi.type.rank > 0 &&
            (big < 0 || ops[k].vi.type.rank > ops[big].vi.type.rank))
            big = k;
    sb_init(out);
    if (big < 0) return out->s;
    const tx_type *B = &ops[big].vi.type;
    const char **vars = xcalloc((size_t)n, sizeof *vars);
    const char **subs = xcalloc((size_t)n, sizeof *subs);
    sbuf *sbs = xcalloc((size_t)n, sizeof *sbs);
    int fresh = B->rank;
    bool clean = true; /* every axis of every operand lines up with one of B's */
    char l[16];
    for (int k = 0; k < n; k++) {
        const tx_type *T = &ops[k].vi.type;
        vars[k] = ops[k].e->var ? ops[k].e->var : "";
        if (ops[k].e->nsubs > 0 || T->rank == 0) continue;
        sb_init(&sbs[k]);
        int r = T->rank < 0 ? B->rank : T->rank;
        bool trailing = r <= B->rank;
        for (int a = 0; trailing && a < r && T->rank >= 0; a++) {
            int64_t x = T->dims[a], y = B->dims[B->rank - r + a];
            if (x >= 0 && y >= 0 && x != y) trailing = false;
        }
        bool used[TXRT_MAX_RANK] = { false };
        for (int a = 0; a < r; a++) {
            int pick = -1;
            if (trailing) pick = B->rank - r + a;
            else
                for (int q = 0; q < B->rank; q++)
                    if (!used[q] && B->dims[q] == T->dims[a]) {
                        pick = q;
                        break;
                    }
            if (a) sb_put(&sbs[k], ",");
            if (pick >= 0) {
                used[pick] = true;
                sb_put(&sbs[k], letter(pick, l, sizeof l));
            } else {
                sb_put(&sbs[k], letter(fresh++, l, sizeof l));
            }
            if (pick < 0) clean = false;
        }
        subs[k] = sbs[k].s;
    }
    prsub ps = { vars, subs, n };
    prctx pc = { def, &ps };
    sbuf lb;
    if (clean) {
        sb_printf(out, ", e.g. %s[%s] = ", (def->out && !is_temp(def->out)) ? def->out : "C", letters(&lb, B->rank));
        pr_expr(out, def->rhs, &pc, 0, 0);
    }
    free(vars);
    free(subs);
    free(sbs);
    return out->s;
}

/* Constant subscripts inside a whole-tensor expression (C = A + B[0,1]):
 * rank and bounds only. */
static bool check_const_access(const tx_tir_expr *e, const tx_varinfo *vi, tx_diags *d) {
    int rank = vi->type.rank;
    if (rank < 0) return true;
    if (rank != e->nsubs) {
        err(d, e->span, "%s has rank %d but is indexed with %d subscript%s", e->var, rank, e->nsubs,
            e->nsubs == 1 ? "" : "s");
        return false;
    }
    bool ok = true;
    for (int a = 0; a < e->nsubs; a++) {
        const tx_tir_affine *s = &e->subs[a];
        int64_t dim = vi->type.dims[a];
        if (s->nterms == 0 && dim >= 0 && (s->c0 < -dim || s->c0 >= dim)) {
            err(d, span_or(s->span, e->span), "index %lld is out of bounds for axis %d of %s with size %lld",
                (long long)s->c0, a, e->var, (long long)dim);
            ok = false;
        }
    }
    return ok;
}

/* The shape of an ellipsis def: the common shape of its rank > 0
 * operands (rank-0 ones broadcast).  Reports differing shapes, and for +=
 * a target of another shape. */
static bool ellipsis_shape(const tx_tir_stmt *def, const tx_lookup *lk, tx_diags *d, tx_type *out) {
    ectx c = { lk, NULL, 0, 0 };
    walk_access(def->rhs, ell_collect, &c, 0);
    tx_type t = ty_make(-1, 0);
    bool unknown_rank = false, have = false, ok = true;
    int ref = -1;
    for (int k = 0; k < c.n && ok; k++) {
        const opnd *o = &c.ops[k];
        if (o->e->nsubs > 0) {
            if (!check_const_access(o->e, &o->vi, d)) ok = false;
            continue;
        }
        int r = o->vi.type.rank;
        if (r < 0) {
            unknown_rank = true;
            continue;
        }
        if (r == 0) continue;
        if (!have) {
            have = true;
            ref = k;
            t = o->vi.type;
            continue;
        }
        if (shapes_differ(&t, &o->vi.type)) {
            sbuf s1, s2, s3, s4;
            err(d, span_or(def->rhs->span, def->span),
                             "shapes %s and %s differ in %s; whole-tensor arithmetic needs equal shapes: "
                             "write it in index notation%s",
                             shape_str(&s1, &c.ops[ref].vi.type), shape_str(&s2, &o->vi.type),
                             expr_str(&s3, def->rhs, def), ellipsis_suggestion(&s4, def, c.ops, c.n));
            ok = false;
            break;
        }
        for (int a = 0; a < t.rank; a++)
            if (t.dims[a] < 0) t.dims[a] = o->vi.type.dims[a];
    }
    free(c.ops);
    if (!ok) {
        *out = ty_unknown();
        return false;
    }
    /* with a known shape, an operand of unknown rank is either rank 0 or
     * of that shape (anything else is an error the evaluator reports) */
    if (!have && unknown_rank) t = ty_unknown();
    t.dtype = expr_dty(def->rhs, lk, 0).dt;
    if (def->accumulate) {
        tx_varinfo xi;
        get_info(lk, def->out, &xi);
        if (xi.type.rank >= 0 && t.rank > 0 && shapes_differ(&xi.type, &t)) {
            sbuf s1, s2;
            err(d, def->span, "%s has shape %s but the right-hand side has shape %s", def->out,
                shape_str(&s1, &xi.type), shape_str(&s2, &t));
            *out = ty_unknown();
            return false;
        }
        if (xi.type.rank >= 0) {
            int dt = t.dtype;
            t = xi.type;
            t.dtype = dt;
        } else if (t.rank == 0) {
            t = ty_unknown();
        }
    }
    *out = t;
    return true;
}

/* ---- index ranges ------------------------------------------------------------- */

enum { SZ_NONE, SZ_UNKNOWN, SZ_KNOWN };
enum { SRC_ACCESS, SRC_DECLARED, SRC_LHS };

typedef struct ixst {
    int sz;                   /* SZ_*: what plain uses, declarations and += say */
    int64_t size;
    int srckind;              /* SRC_*: where the size came from */
    const tx_tir_expr *src;   /* SRC_ACCESS: that access */
    int src_axis;             /* ... and the axis the index subscripts */
    bool appears;             /* subscripts something (or is the target's, for +=) */
    bool quiet;               /* an error about it was reported already */
    bool resolved;
    int64_t lo, ext;          /* ext -1: unknown */
} ixst;

/* One affine subscript (not a plain index, not a constant) and its axis. */
typedef struct cons {
    const tx_tir_expr *acc;
    const tx_tir_affine *sub;
    int64_t dim;              /* -1 unknown */
} cons;

typedef struct rctx {
    tx_tir_stmt *def;
    const tx_lookup *lk;
    tx_diags *d;
    ixst *ix;
    int n;
    cons *cs;
    int ncs, ccap;
    bool ok;
} rctx;

static bool id_ok(const rctx *r, int id) { return id >= 0 && id < r->n; }

static const char *lhs_str(sbuf *b, const tx_tir_stmt *def) {
    sb_init(b);
    sb_put(b, def->out ? def->out : "?");
    sb_put(b, "[");
    for (int k = 0; k < def->nout; k++) {
        if (k) sb_put(b, ",");
        sb_put(b, index_name(def, def->out_idx[k]));
    }
    sb_put(b, "]");
    return b->s;
}

static void plain_use(rctx *r, int id, int64_t dim, const tx_tir_expr *e, int axis) {
    ixst *s = &r->ix[id];
    if (s->quiet) return;
    if (dim < 0) {
        if (s->sz == SZ_NONE) {
            s->sz = SZ_UNKNOWN;
            s->srckind = SRC_ACCESS;
            s->src = e;
            s->src_axis = axis;
        }
        return;
    }
    if (s->sz != SZ_KNOWN) {
        s->sz = SZ_KNOWN;
        s->size = dim;
        s->srckind = SRC_ACCESS;
        s->src = e;
        s->src_axis = axis;
        return;
    }
    if (s->size == dim) return;
    const char *nm = index_name(r->def, id);
    sbuf a, b;
    if (s->srckind == SRC_DECLARED) {
        err(r->d, e->span, "index '%s' is declared with size %lld (index %s : %s) but has size %lld in %s", nm,
            (long long)s->size, nm, expr_str(&b, r->def->indices[id].declared, NULL), (long long)dim,
            expr_str(&a, e, r->def));
    } else {
        /* the same text twice (A[i,i]): say which axes */
        expr_str(&a, e, r->def);
        expr_str(&b, s->src, r->def);
        if (strcmp(a.s, b.s) == 0) {
            sb_printf(&a, " (axis %d)", axis);
            sb_printf(&b, " (axis %d)", s->src_axis);
        }
        err(r->d, e->span, "index '%s' has size %lld in %s but %lld in %s", nm, (long long)dim, a.s,
            (long long)s->size, b.s);
    }
    s->quiet = true;
    r->ok = false;
}

static void visit_access(void *ctx, tx_tir_expr *e) {
    rctx *r = ctx;
    tx_varinfo vi;
    get_info(r->lk, e->var, &vi);
    int rank = vi.type.rank;
    for (int a = 0; a < e->nsubs; a++)
        for (int t = 0; t < e->subs[a].nterms; t++)
            if (id_ok(r, e->subs[a].idx[t])) r->ix[e->subs[a].idx[t]].appears = true;
    if (e->nsubs == 0) {
        if (rank > 0) {
            sbuf s1, s2;
            err(r->d, e->span, "%s is a tensor of shape %s; index it, e.g. %s[%s]", e->var,
                shape_str(&s1, &vi.type), e->var, letters(&s2, rank));
            r->ok = false;
        }
        return;
    }
    if (rank >= 0 && rank != e->nsubs) {
        err(r->d, e->span, "%s has rank %d but is indexed with %d subscript%s", e->var, rank, e->nsubs,
            e->nsubs == 1 ? "" : "s");
        for (int a = 0; a < e->nsubs; a++)
            for (int t = 0; t < e->subs[a].nterms; t++)
                if (id_ok(r, e->subs[a].idx[t])) r->ix[e->subs[a].idx[t]].quiet = true;
        r->ok = false;
        return;
    }
    for (int a = 0; a < e->nsubs; a++) {
        const tx_tir_affine *s = &e->subs[a];
        int64_t dim = rank < 0 ? -1 : vi.type.dims[a];
        bool bad = false;
        for (int t = 0; t < s->nterms; t++)
            if (!id_ok(r, s->idx[t])) bad = true;
        if (bad) continue;
        if (s->nterms == 0) {
            if (dim >= 0 && (s->c0 < -dim || s->c0 >= dim)) {
                err(r->d, span_or(s->span, e->span), "index %lld is out of bounds for axis %d of %s with size %lld",
                    (long long)s->c0, a, e->var, (long long)dim);
                r->ok = false;
            }
        } else if (s->nterms == 1 && s->coef[0] == 1 && s->c0 == 0) {
            plain_use(r, s->idx[0], dim, e, a);
        } else {
            if (r->ncs == r->ccap) {
                r->ccap = r->ccap ? 2 * r->ccap : 8;
                cons *c = realloc(r->cs, sizeof *c * (size_t)r->ccap);
                if (!c) abort();
                r->cs = c;
            }
            r->cs[r->ncs++] = (cons){ e, s, dim };
        }
    }
}

/* The net coefficient of index u in a subscript. */
static i128 coef_of(const tx_tir_affine *s, int u) {
    i128 c = 0;
    for (int t = 0; t < s->nterms; t++)
        if (s->idx[t] == u) c += s->coef[t];
    return c;
}

static bool cons_usable(const rctx *r, const cons *c, int u) {
    if (coef_of(c->sub, u) == 0) return false;
    for (int t = 0; t < c->sub->nterms; t++)
        if (c->sub->idx[t] != u && !r->ix[c->sub->idx[t]].resolved) return false;
    return true;
}

/* The range [mn, mx] of c0 + sum of the terms other than u over the
 * resolved ranges; false when some range is unknown. */
static bool rest_range(const rctx *r, const tx_tir_affine *s, int u, i128 *mn, i128 *mx) {
    i128 lo = s->c0, hi = s->c0;
    for (int t = 0; t < s->nterms; t++) {
        int j = s->idx[t];
        if (j == u) continue;
        const ixst *x = &r->ix[j];
        if (x->ext < 0) return false;
        i128 c = s->coef[t];
        i128 v1 = c * (i128)x->lo, v2 = c * ((i128)x->lo + x->ext - 1);
        lo += v1 < v2 ? v1 : v2;
        hi += v1 < v2 ? v2 : v1;
    }
    *mn = lo;
    *mx = hi;
    return true;
}

static i128 fdiv(i128 a, i128 b) {
    i128 q = a / b;
    if (a % b != 0 && ((a < 0) != (b < 0))) q--;
    return q;
}

static i128 cdiv(i128 a, i128 b) {
    i128 q = a / b;
    if (a % b != 0 && ((a < 0) == (b < 0))) q++;
    return q;
}

/* " for k in 0..5, j in 1..3": the ranges of the other indices of a subscript. */
static const char *others_str(sbuf *b, const rctx *r, const tx_tir_affine *s, int u) {
    sb_init(b);
    bool first = true;
    for (int t = 0; t < s->nterms; t++) {
        int j = s->idx[t];
        if (j == u || r->ix[j].ext < 0) continue;
        sb_printf(b, "%s %s in %lld..%lld", first ? " for" : ",", index_name(r->def, j), (long long)r->ix[j].lo,
                  (long long)(r->ix[j].lo + r->ix[j].ext));
        first = false;
    }
    return b->s;
}

static void resolve_affine(rctx *r, int u) {
    ixst *x = &r->ix[u];
    const i128 BIG = (i128)1 << 62;
    i128 lo = 0, hi = BIG;
    const cons *lo_src = NULL, *hi_src = NULL;
    bool unknown = false;
    for (int k = 0; k < r->ncs; k++) {
        const cons *c = &r->cs[k];
        if (!cons_usable(r, c, u)) continue;
        i128 a = coef_of(c->sub, u), mn, mx;
        if (c->dim < 0 || !rest_range(r, c->sub, u, &mn, &mx)) {
            unknown = true;
            continue;
        }
        i128 L = -mn, H = (i128)c->dim - 1 - mx, clo, chi;
        if (a > 0) {
            clo = cdiv(L, a);
            chi = fdiv(H, a);
        } else {
            clo = cdiv(H, a);
            chi = fdiv(L, a);
        }
        if (clo > lo) {
            lo = clo;
            lo_src = c;
        }
        if (chi < hi) {
            hi = chi;
            hi_src = c;
        }
    }
    x->resolved = true;
    bool empty = hi_src && hi < lo;
    if (!empty) {
        if (unknown || !hi_src) {
            x->lo = 0;
            x->ext = -1;
        } else {
            x->lo = (int64_t)lo;
            x->ext = (int64_t)(hi - lo + 1);
        }
        return;
    }
    const char *nm = index_name(r->def, u);
    sbuf s1, s2;
    if (!lo_src || lo_src == hi_src) {
        err(r->d, hi_src->acc->span, "index '%s' has an empty range: no value keeps %s inside %s (size %lld)%s", nm,
            expr_str(&s1, hi_src->acc, r->def), hi_src->acc->var, (long long)hi_src->dim,
            others_str(&s2, r, hi_src->sub, u));
    } else {
        const cons *first = lo_src->acc->span.lo <= hi_src->acc->span.lo ? lo_src : hi_src;
        const cons *second = first == lo_src ? hi_src : lo_src;
        err(r->d, second->acc->span,
            "index '%s' has an empty range: no value keeps both %s inside %s (size %lld) and %s inside %s (size %lld)",
            nm, expr_str(&s1, first->acc, r->def), first->acc->var, (long long)first->dim,
            expr_str(&s2, second->acc, r->def), second->acc->var, (long long)second->dim);
    }
    x->quiet = true;
    x->lo = 0;
    x->ext = -1;
    r->ok = false;
}

/* Every affine access of indices whose ranges are fixed otherwise must stay
 * inside its tensor for all their values. */
static void check_bounds(rctx *r, const cons *c) {
    if (c->dim < 0) return;
    const tx_tir_affine *s = c->sub;
    for (int t = 0; t < s->nterms; t++) {
        const ixst *x = &r->ix[s->idx[t]];
        if (x->quiet || x->ext <= 0) return;
    }
    i128 mn, mx;
    if (!rest_range(r, s, -1, &mn, &mx)) return;
    bool past = mx > (i128)c->dim - 1;
    if (!past && mn >= 0) return;
    /* the values of the indices at the offending extreme */
    sbuf when, why, acc;
    sb_init(&when);
    sb_init(&why);
    for (int t = 0; t < s->nterms; t++) {
        int j = s->idx[t];
        bool seen = false;
        for (int q = 0; q < t; q++)
            if (s->idx[q] == j) seen = true;
        if (seen) continue;
        const ixst *x = &r->ix[j];
        i128 cf = coef_of(s, j);
        bool at_hi = past ? cf > 0 : cf < 0;
        int64_t v = at_hi ? x->lo + x->ext - 1 : x->lo;
        sb_printf(&when, "%s%s = %lld", when.n ? ", " : "", index_name(r->def, j), (long long)v);
        if (why.n == 0 && x->sz == SZ_KNOWN) {
            sbuf sb;
            if (x->srckind == SRC_DECLARED)
                sb_printf(&why, "; index '%s' is declared with size %lld", index_name(r->def, j), (long long)x->size);
            else if (x->srckind == SRC_LHS)
                sb_printf(&why, "; index '%s' has size %lld in %s", index_name(r->def, j), (long long)x->size,
                          lhs_str(&sb, r->def));
            else
                sb_printf(&why, "; index '%s' has size %lld in %s", index_name(r->def, j), (long long)x->size,
                          expr_str(&sb, x->src, r->def));
        }
    }
    tx_diag *g;
    if (past)
        g = err(r->d, c->acc->span, "%s reads past the end of %s (size %lld) when %s%s", expr_str(&acc, c->acc, r->def),
                c->acc->var, (long long)c->dim, when.s, why.s);
    else
        g = err(r->d, c->acc->span, "%s reads before the start of %s when %s%s", expr_str(&acc, c->acc, r->def),
                c->acc->var, when.s, why.s);
    tx_hint(r->d, g, "an index that also subscripts a tensor by itself (X[i]) ranges over that whole axis; "
                     "only an index that appears solely in shifted subscripts shrinks to the valid part");
    r->ok = false;
}

/* Expanded ellipsis defs: generated subscripts of rank-0 operands go away. */
typedef struct fxctx {
    const tx_lookup *lk;
    int base, rank;
} fxctx;

static bool generated_subs(const tx_tir_expr *e, int base, int rank) {
    if (e->nsubs != rank || rank == 0) return false;
    for (int k = 0; k < rank; k++) {
        const tx_tir_affine *s = &e->subs[k];
        if (s->nterms != 1 || s->coef[0] != 1 || s->c0 != 0 || s->idx[0] != base + k) return false;
    }
    return true;
}

static void fixup_cb(void *ctx, tx_tir_expr *e) {
    fxctx *f = ctx;
    if (!generated_subs(e, f->base, f->rank)) return;
    tx_varinfo vi;
    get_info(f->lk, e->var, &vi);
    if (vi.type.rank == 0) {
        e->nsubs = 0;
        e->subs = NULL;
        e->whole = true;
    }
}

static void fixup_expanded(tx_tir_stmt *def, const tx_lookup *lk) {
    const tx_tir_stmt *orig = def->expanded_from;
    fxctx f = { lk, orig->nindices, def->nout };
    walk_access(def->rhs, fixup_cb, &f, 0);
}

bool tx_tir_infer_ranges(tx_tir_stmt *def, const tx_lookup *lk, tx_diags *d) {
    if (!def || def->kind != TX_TIR_DEF) return true;
    if (def->ellipsis) {
        tx_type t;
        return ellipsis_shape(def, lk, d, &t);
    }
    for (int k = 0; k < def->nindices; k++) def->indices[k].lo = 0, def->indices[k].extent = -1;
    if (def->nout > TXRT_MAX_RANK) {
        err(d, def->out_span, "%s would have %d axes; the limit is %d", def->out, def->nout, TXRT_MAX_RANK);
        return false;
    }
    if (def->expanded_from) {
        fixup_expanded(def, lk);
        tx_type t;
        if (!ellipsis_shape(def->expanded_from, lk, d, &t)) return false;
    }
    rctx r;
    memset(&r, 0, sizeof r);
    r.def = def;
    r.lk = lk;
    r.d = d;
    r.n = def->nindices;
    r.ix = xcalloc((size_t)r.n, sizeof *r.ix);
    r.ok = true;

    /* 1. declared sizes */
    for (int k = 0; k < r.n; k++) {
        const tx_tir_index *x = &def->indices[k];
        if (!x->declared) continue;
        ixst *s = &r.ix[k];
        s->sz = SZ_UNKNOWN;
        s->srckind = SRC_DECLARED;
        double v;
        if (!fold(x->declared, lk, &v, 0)) continue;
        char nb[64];
        tx_span at = span_or(x->declared_span, x->declared->span);
        if (!isfinite(v) || v != floor(v)) {
            err(d, at, "index '%s' is declared with size %s, which is not a whole number", x->name,
                num_str(nb, sizeof nb, v));
            s->quiet = true;
            r.ok = false;
        } else if (v < 0) {
            err(d, at, "index '%s' is declared with size %s, which is negative", x->name, num_str(nb, sizeof nb, v));
            s->quiet = true;
            r.ok = false;
        } else if (v > 4.6e18) {
            err(d, at, "index '%s' is declared with size %s, which is too large", x->name, num_str(nb, sizeof nb, v));
            s->quiet = true;
            r.ok = false;
        } else {
            s->sz = SZ_KNOWN;
            s->size = (int64_t)v;
        }
    }

    /* 2. the accesses of the right-hand side, left to right */
    walk_access(def->rhs, visit_access, &r, 0);

    /* 3. += : the target fixes output ranges nothing else fixes */
    tx_varinfo xi = vi_unknown();
    if (def->accumulate) {
        get_info(lk, def->out, &xi);
        if (xi.type.rank >= 0 && xi.type.rank != def->nout) {
            tx_type rt = ty_make(-1, def->nout);
            for (int a = 0; a < def->nout; a++) {
                int id = def->out_idx[a];
                if (id_ok(&r, id) && r.ix[id].sz == SZ_KNOWN) rt.dims[a] = r.ix[id].size;
            }
            sbuf s1, s2;
            err(d, def->span, "%s has shape %s but the right-hand side has shape %s", def->out,
                shape_str(&s1, &xi.type), shape_str(&s2, &rt));
            r.ok = false;
            for (int a = 0; a < def->nout; a++)
                if (id_ok(&r, def->out_idx[a])) r.ix[def->out_idx[a]].quiet = true;
            xi = vi_unknown();
        } else {
            for (int a = 0; a < def->nout; a++) {
                int id = def->out_idx[a];
                if (!id_ok(&r, id)) continue;
                ixst *s = &r.ix[id];
                s->appears = true;
                int64_t dim = xi.type.rank >= 0 ? xi.type.dims[a] : -1;
                if (s->quiet) continue;
                if (s->sz == SZ_NONE || (s->sz == SZ_UNKNOWN && dim >= 0)) {
                    s->sz = dim >= 0 ? SZ_KNOWN : SZ_UNKNOWN;
                    s->size = dim;
                    s->srckind = SRC_LHS;
                    s->src = NULL;
                }
            }
        }
    }

    /* 4. resolve: fixed sizes first, then affine-only indices one at a time */
    for (int k = 0; k < r.n; k++) {
        ixst *s = &r.ix[k];
        if (s->quiet || s->sz != SZ_NONE) {
            s->resolved = true;
            s->lo = 0;
            s->ext = (!s->quiet && s->sz == SZ_KNOWN) ? s->size : -1;
        } else if (!s->appears) {
            const tx_tir_index *x = &def->indices[k];
            err(d, x->span, "cannot infer the range of index '%s': it subscripts no tensor; declare it with `index %s : n`",
                x->name ? x->name : "?", x->name ? x->name : "?");
            r.ok = false;
            s->quiet = true;
            s->resolved = true;
            s->lo = 0;
            s->ext = -1;
        }
    }
    for (;;) {
        bool progress = true;
        while (progress) {
            progress = false;
            for (int u = 0; u < r.n; u++) {
                if (r.ix[u].resolved) continue;
                for (int k = 0; k < r.ncs; k++)
                    if (cons_usable(&r, &r.cs[k], u)) {
                        resolve_affine(&r, u);
                        progress = true;
                        break;
                    }
                if (progress) break;
            }
        }
        int u = 0;
        while (u < r.n && r.ix[u].resolved) u++;
        if (u == r.n) break;
        /* u only appears next to other unfixed indices */
        const cons *c = NULL;
        for (int k = 0; k < r.ncs && !c; k++)
            if (coef_of(r.cs[k].sub, u) != 0) c = &r.cs[k];
        const char *nm = index_name(def, u);
        if (c) {
            sbuf s1, s2;
            sb_init(&s2);
            for (int t = 0; t < c->sub->nterms; t++) {
                int j = c->sub->idx[t];
                if (j != u && !r.ix[j].resolved) {
                    sb_printf(&s2, "%s'%s'", s2.n ? ", " : "", index_name(def, j));
                }
            }
            err(d, def->indices[u].span,
                "cannot infer the range of index '%s': %s also depends on %s, whose range is not fixed either; "
                "declare it with `index %s : n`",
                nm, expr_str(&s1, c->acc, def), s2.s, nm);
        } else {
            err(d, def->indices[u].span,
                "cannot infer the range of index '%s': it subscripts no tensor; declare it with `index %s : n`", nm, nm);
        }
        r.ok = false;
        r.ix[u].resolved = true;
        r.ix[u].quiet = true;
        r.ix[u].lo = 0;
        r.ix[u].ext = -1;
    }

    /* 4b. stencils: an index sized by a plain access (Q[i]) that is also
     * shifted on its own (Q[i+1], Q[i-1], Q[2*i]) takes the largest range
     * that keeps every such access in bounds, as LANGUAGE.md's affine rule
     * says: S[i] = Q[i+1] - 2*Q[i] + Q[i-1] runs i over 1..n-2.  Sizes fixed
     * by `index` declarations or a += target are never narrowed, and
     * accesses that mix several sized indices (X[i+j]) are not used to pick
     * which one to narrow: step 5 reports those when they go out of bounds. */
    for (int u = 0; u < r.n; u++) {
        ixst *x = &r.ix[u];
        if (x->quiet || x->sz != SZ_KNOWN || x->srckind != SRC_ACCESS || x->ext <= 0) continue;
        i128 lo = x->lo, hi = (i128)x->lo + x->ext - 1;
        for (int k = 0; k < r.ncs; k++) {
            const cons *c = &r.cs[k];
            bool only_u = c->dim >= 0 && c->sub->nterms > 0;
            for (int t = 0; t < c->sub->nterms && only_u; t++) only_u = c->sub->idx[t] == u;
            i128 a = only_u ? coef_of(c->sub, u) : 0;
            if (a == 0) continue;
            i128 L = -(i128)c->sub->c0, H = (i128)c->dim - 1 - (i128)c->sub->c0;
            i128 clo = a > 0 ? cdiv(L, a) : cdiv(H, a), chi = a > 0 ? fdiv(H, a) : fdiv(L, a);
            if (clo > lo) lo = clo;
            if (chi < hi) hi = chi;
        }
        if (hi >= lo) {   /* an empty range is left for step 5 to explain */
            x->lo = (int64_t)lo;
            x->ext = (int64_t)(hi - lo + 1);
        }
    }

    /* 5. affine accesses of sized indices stay in bounds */
    for (int k = 0; k < r.ncs; k++) check_bounds(&r, &r.cs[k]);

    for (int k = 0; k < r.n; k++) {
        def->indices[k].lo = r.ix[k].ext < 0 ? 0 : r.ix[k].lo;
        def->indices[k].extent = r.ix[k].quiet ? -1 : r.ix[k].ext;
    }

    /* 6. += : the target's shape must be the right-hand side's */
    if (def->accumulate && xi.type.rank == def->nout) {
        tx_type rt = ty_make(-1, def->nout);
        for (int a = 0; a < def->nout; a++) {
            int id = def->out_idx[a];
            rt.dims[a] = id_ok(&r, id) ? def->indices[id].extent : -1;
        }
        if (shapes_differ(&xi.type, &rt)) {
            sbuf s1, s2;
            err(d, def->span, "%s has shape %s but the right-hand side has shape %s", def->out,
                shape_str(&s1, &xi.type), shape_str(&s2, &rt));
            r.ok = false;
        }
    }
    free(r.ix);
    free(r.cs);
    return r.ok;
}

bool tx_tir_def_type(const tx_tir_stmt *def, const tx_lookup *lk, tx_type *out, tx_diags *d) {
    *out = ty_unknown();
    if (!def || def->kind != TX_TIR_DEF) return false;
    tx_type t;
    if (def->ellipsis) {
        if (!ellipsis_shape(def, lk, d, &t)) return false;
    } else {
        if (def->nout > TXRT_MAX_RANK) {
            err(d, def->out_span, "%s would have %d axes; the limit is %d", def->out, def->nout, TXRT_MAX_RANK);
            return false;
        }
        t = ty_make(-1, def->nout);
        for (int a = 0; a < def->nout; a++) {
            int id = def->out_idx[a];
            t.dims[a] = (id >= 0 && id < def->nindices) ? def->indices[id].extent : -1;
            if (t.dims[a] < -1) t.dims[a] = -1;
        }
    }
    int dt = expr_dty(def->rhs, lk, 0).dt;
    t.dtype = dt;
    if (def->accumulate) {
        tx_varinfo xi;
        get_info(lk, def->out, &xi);
        if (dt_valid(xi.type.dtype)) {
            if (dt_cplx(dt) && !dt_cplx(xi.type.dtype)) {
                tx_diag *g = err(d, def->span, "cannot accumulate a complex value into real %s", def->out);
                tx_hint(d, g, "make it complex first: %s = cast(%s, \"%s\")", def->out, def->out,
                        dt_name(dt_complex(xi.type.dtype)));
                return false;
            }
            t.dtype = xi.type.dtype;
        } else {
            t.dtype = -1;
        }
        if (xi.type.rank == t.rank)
            for (int a = 0; a < t.rank; a++)
                if (t.dims[a] < 0) t.dims[a] = xi.type.dims[a];
    }
    *out = t;
    return true;
}

/* ---- expanding ellipsis defs ------------------------------------------------- */

static tx_tir_expr *clone_expr(tx_arena *a, const tx_tir_expr *e, int rank, int base, int depth) {
    if (!e || depth > 20000) return NULL;
    tx_tir_expr *c = TX_NEW(a, tx_tir_expr);
    *c = *e;
    c->a = clone_expr(a, e->a, rank, base, depth + 1);
    c->b = clone_expr(a, e->b, rank, base, depth + 1);
    c->c = clone_expr(a, e->c, rank, base, depth + 1);
    if (e->kind == TX_TIR_ACCESS && e->nsubs == 0 && rank > 0) {
        c->whole = false;
        c->nsubs = rank;
        c->subs = TX_NEWN(a, tx_tir_affine, rank);
        for (int k = 0; k < rank; k++) {
            tx_tir_affine *s = &c->subs[k];
            s->nterms = 1;
            s->idx = TX_NEW(a, int);
            s->coef = TX_NEW(a, int64_t);
            s->idx[0] = base + k;
            s->coef[0] = 1;
            s->c0 = 0;
            s->span = e->span;
        }
    }
    return c;
}

tx_tir_stmt *tx_tir_expand_ellipsis(tx_arena *a, const tx_tir_stmt *def, int rank) {
    if (!a || !def || def->kind != TX_TIR_DEF || rank < 0 || rank > TXRT_MAX_RANK) return NULL;
    tx_tir_stmt *s = TX_NEW(a, tx_tir_stmt);
    *s = *def;
    s->ellipsis = false;
    s->expanded_from = def;
    int base = def->nindices;
    s->nindices = base + rank;
    s->indices = TX_NEWN(a, tx_tir_index, s->nindices + 1);
    if (base) memcpy(s->indices, def->indices, sizeof(tx_tir_index) * (size_t)base);
    s->out_idx = TX_NEWN(a, int, rank + 1);
    s->nout = rank;
    for (int k = 0; k < rank; k++) {
        tx_tir_index *x = &s->indices[base + k];
        x->name = tx_arena_printf(a, "i%d", k);
        x->span = span_or(def->out_span, def->span);
        x->declared = NULL;
        x->lo = 0;
        x->extent = -1;
        s->out_idx[k] = base + k;
    }
    s->rhs = clone_expr(a, def->rhs, rank, base, 0);
    return s;
}

tx_tir_stmt *tx_tir_expand_ellipsis_lk(tx_arena *a, const tx_tir_stmt *def, const tx_lookup *lk, tx_diags *d) {
    if (!def || def->kind != TX_TIR_DEF || !def->ellipsis) return NULL;
    tx_type t;
    if (!ellipsis_shape(def, lk, d, &t)) return NULL;
    if (t.rank < 0) return NULL;
    tx_tir_stmt *s = tx_tir_expand_ellipsis(a, def, t.rank);
    if (s) fixup_expanded(s, lk);
    return s;
}

/* ---- calls ------------------------------------------------------------------------ */

typedef struct cctx {
    const tx_tir_stmt *call;
    const tx_lookup *lk;
    tx_diags *d;
    const char *bn;           /* the builtin's or function's name */
    bool ok;
} cctx;

static const tx_tir_expr *kwarg(const tx_tir_stmt *c, const char *name) {
    for (int k = 0; k < c->nkwargs; k++)
        if (c->kwargs[k].name && strcmp(c->kwargs[k].name, name) == 0) return c->kwargs[k].value;
    return NULL;
}

/* A whole-number argument (size, seed, axis, degree, length).  Returns 1
 * with *out when known, 0 when unknown, -1 after an error. */
static int whole_arg(cctx *c, const char *what, const tx_tir_expr *e, int k, bool allow_neg, int64_t *out) {
    sbuf s1, s2;
    char nb[64];
    if (!e) return 0;
    if (e->kind == TX_TIR_STRING) {
        err(c->d, e->span, "%s: the %s must be a number, not a string", c->bn, what);
        c->ok = false;
        return -1;
    }
    tx_varinfo vi = arg_info(e, c->lk);
    if (vi.type.rank > 0) {
        err(c->d, e->span, "%s: the %s must be a single number, but %s has shape %s", c->bn, what,
            arg_name(&s1, e, k, c->d), shape_str(&s2, &vi.type));
        c->ok = false;
        return -1;
    }
    if (dt_cplx(vi.type.dtype)) {
        err(c->d, e->span, "%s: the %s must be a real number, but %s is complex", c->bn, what, arg_name(&s1, e, k, c->d));
        c->ok = false;
        return -1;
    }
    if (!vi.known) return 0;
    double v = vi.value;
    if (!isfinite(v) || v != floor(v)) {
        err(c->d, e->span, "%s: %s %s is not a whole number", c->bn, what, num_str(nb, sizeof nb, v));
        c->ok = false;
        return -1;
    }
    if (!allow_neg && v < 0) {
        err(c->d, e->span, "%s: %s %s is negative", c->bn, what, num_str(nb, sizeof nb, v));
        c->ok = false;
        return -1;
    }
    if (fabs(v) > 9007199254740992.0) { /* 2^53, as ir/interp.c */
        err(c->d, e->span, "%s: %s %s is too large (the limit is 2^53)", c->bn, what, num_str(nb, sizeof nb, v));
        c->ok = false;
        return -1;
    }
    *out = (int64_t)v;
    return 1;
}

static int64_t size_arg(cctx *c, const char *what, const tx_tir_expr *e, int k) {
    int64_t v = -1;
    if (whole_arg(c, what, e, k, false, &v) != 1) return -1;
    return v;
}

/* An axis number in -rank..rank-1; returns it normalised, or -1. */
static int axis_arg(cctx *c, const tx_tir_expr *e, int k, const tx_type *t, const tx_tir_expr *of, int kof) {
    int64_t v;
    if (whole_arg(c, "axis", e, k, true, &v) != 1) return -1;
    if (t->rank < 0) return -1;
    if (v < -(int64_t)t->rank || v >= t->rank) {
        sbuf s1, s2;
        err(c->d, e->span, "%s: axis %lld is out of range for %s with shape %s", c->bn, (long long)v,
            arg_name(&s1, of, kof, c->d), shape_str(&s2, t));
        c->ok = false;
        return -1;
    }
    return (int)(v < 0 ? v + t->rank : v);
}

/* A tensor argument: not a string. */
static bool tensor_arg(cctx *c, const tx_tir_expr *e, tx_varinfo *vi) {
    if (e && e->kind == TX_TIR_STRING) {
        err(c->d, e->span, "%s: expected a tensor here, not a string", c->bn);
        c->ok = false;
        *vi = vi_unknown();
        return false;
    }
    *vi = arg_info(e, c->lk);
    return true;
}

/* The type of X at the positions given by arguments first.. (one per axis
 * of X: a rank-0 position, or the string ":" for an axis kept): the kept
 * axes.  Known positions are checked against their axes. */
static tx_type slice_type(cctx *c, const tx_type *x, int first) {
    const tx_tir_stmt *s = c->call;
    int n = s->nargs - first;
    tx_type t = ty_make(x->dtype, 0);
    if (n > TXRT_MAX_RANK) {   /* a tensor of unknown rank can still not have more axes */
        err(c->d, s->span, "%s is indexed with %d subscripts; tensors have at most %d axes", s->args[0]->var, n,
            TXRT_MAX_RANK);
        c->ok = false;
        return t;
    }
    if (x->rank >= 0 && x->rank != n) {
        err(c->d, s->span, "%s has rank %d but is indexed with %d subscript%s", s->args[0]->var, x->rank, n,
            n == 1 ? "" : "s");
        c->ok = false;
        return t;
    }
    for (int k = 0; k < n; k++) {
        const tx_tir_expr *p = s->args[first + k];
        int64_t dim = x->rank >= 0 ? x->dims[k] : -1, v;
        if (p->kind == TX_TIR_STRING) {
            t.dims[t.rank++] = dim;
            continue;
        }
        if (whole_arg(c, "subscript", p, first + k, true, &v) == 1 && dim >= 0 && (v < -dim || v >= dim)) {
            err(c->d, p->span, "index %lld is out of bounds for axis %d of %s with size %lld", (long long)v, k,
                s->args[0]->var, (long long)dim);
            c->ok = false;
        }
    }
    if (x->rank < 0) t.rank = -1;
    return t;
}

/* A matrix argument (rank 2); square when asked.  m, n get its sizes. */
static bool matrix_arg(cctx *c, const tx_tir_expr *e, int k, const tx_type *t, bool square, int64_t *m, int64_t *n) {
    sbuf s1, s2;
    *m = *n = -1;
    if (t->rank < 0) return true;
    if (t->rank != 2) {
        err(c->d, e->span, "%s: %s must be a matrix, but it has shape %s", c->bn, arg_name(&s1, e, k, c->d),
            shape_str(&s2, t));
        c->ok = false;
        return false;
    }
    *m = t->dims[0];
    *n = t->dims[1];
    if (square && *m >= 0 && *n >= 0 && *m != *n) {
        err(c->d, e->span, "%s: %s must be square, but it has shape %s", c->bn, arg_name(&s1, e, k, c->d),
            shape_str(&s2, t));
        c->ok = false;
        return false;
    }
    if (square && *m < 0) *m = *n;
    if (square && *n < 0) *n = *m;
    return true;
}

/* The right-hand side of solve-like calls: a vector or matrix with rows rows. */
static bool rhs_arg(cctx *c, const tx_tir_expr *ea, int ka, const tx_tir_expr *e, int k, const tx_type *t,
                    int64_t rows) {
    sbuf s1, s2;
    if (t->rank < 0) return true;
    if (t->rank != 1 && t->rank != 2) {
        err(c->d, e->span, "%s: %s must be a vector or a matrix, but it has shape %s", c->bn, arg_name(&s1, e, k, c->d),
            shape_str(&s2, t));
        c->ok = false;
        return false;
    }
    if (rows >= 0 && t->dims[0] >= 0 && t->dims[0] != rows) {
        err(c->d, e->span, "%s: %s has %lld rows but %s has %lld", c->bn, arg_name(&s1, ea, ka, c->d), (long long)rows,
            arg_name(&s2, e, k, c->d), (long long)t->dims[0]);
        c->ok = false;
        return false;
    }
    return true;
}

static bool real_arg(cctx *c, const tx_tir_expr *e, int k, const tx_varinfo *vi, const char *hint_fn) {
    if (!dt_cplx(vi->type.dtype)) return true;
    sbuf s1;
    tx_diag *g = err(c->d, e->span, "%s: %s must be real, but it is %s", c->bn, arg_name(&s1, e, k, c->d),
                     dt_name(vi->type.dtype));
    if (hint_fn) tx_hint(c->d, g, "use %s for complex input", hint_fn);
    c->ok = false;
    return false;
}

/* The transformed axis of an FFT must not be empty. */
static bool fft_axis_nonempty(cctx *c, const tx_tir_expr *e, int k, const tx_type *t, int axis) {
    if (axis < 0 || axis >= t->rank || t->dims[axis] != 0) return true;
    sbuf s1, s2;
    err(c->d, e->span, "%s: cannot transform axis %d of %s, which has size 0 (shape %s)", c->bn, axis,
        arg_name(&s1, e, k, c->d), shape_str(&s2, t));
    c->ok = false;
    return false;
}

static bool string_arg(cctx *c, const tx_tir_expr *e, const char *what, const char *example) {
    if (e && e->kind == TX_TIR_STRING) return true;
    err(c->d, e ? e->span : c->call->span, "%s: %s must be a string, e.g. %s", c->bn, what, example);
    c->ok = false;
    return false;
}

static i128 mul_sat(i128 a, i128 b) {
    const i128 CAP = (i128)1 << 100;
    if (a > CAP || b > CAP) return CAP;
    i128 r = a * b;
    return r > CAP ? CAP : r;
}

/* Shape of the construct builtins: every positional argument from `from` on is a size. */
static bool shape_args(cctx *c, int from, tx_type *t) {
    int n = c->call->nargs - from;
    if (n > TXRT_MAX_RANK) {
        err(c->d, c->call->span, "%s: %d dimensions are too many; the limit is %d", c->bn, n, TXRT_MAX_RANK);
        c->ok = false;
        return false;
    }
    t->rank = n;
    for (int k = 0; k < n; k++) t->dims[k] = size_arg(c, "size", c->call->args[from + k], from + k);
    return c->ok;
}

static void builtin_types(cctx *c, int id, tx_varinfo *res) {
    const tx_tir_stmt *s = c->call;
    tx_tir_expr *const *A = s->args;
    const int n = s->nargs;
    tx_varinfo x, y;
    sbuf s1, s2, s3, s4;
    int64_t m, nn, v;
    tx_type t = ty_unknown();

    switch ((tx_builtin)id) {
    case TX_B_ZEROS: case TX_B_ONES: case TX_B_RAND: case TX_B_RANDN: case TX_B_FULL: {
        t = ty_make(TXRT_F64, 0);
        shape_args(c, 0, &t);
        if (id == TX_B_RAND || id == TX_B_RANDN) {
            const tx_tir_expr *seed = kwarg(s, "seed");
            if (seed) whole_arg(c, "seed", seed, n, false, &v);
        }
        if (id == TX_B_FULL) {
            const tx_tir_expr *val = kwarg(s, "value");
            if (!val) {
                err(c->d, s->span, "full: missing value=, e.g. full(2, 3, value=1.5)");
                c->ok = false;
            } else if (tensor_arg(c, val, &x)) {
                if (x.type.rank > 0) {
                    err(c->d, val->span, "full: value must be a single number, but %s has shape %s",
                        arg_name(&s1, val, n, c->d), shape_str(&s2, &x.type));
                    c->ok = false;
                }
                t.dtype = x.type.dtype;
            }
        }
        res[0] = vi_of(t);
        return;
    }
    case TX_B_EYE:
        t = ty_make(TXRT_F64, 2);
        t.dims[0] = t.dims[1] = size_arg(c, "size", A[0], 0);
        res[0] = vi_of(t);
        return;
    case TX_B_ARANGE:
        t = ty_make(TXRT_F64, 1);
        t.dims[0] = size_arg(c, "size", A[0], 0);
        res[0] = vi_of(t);
        return;
    case TX_B_LINSPACE: {
        bool cplx = false;
        for (int k = 0; k < 2; k++) {
            if (!tensor_arg(c, A[k], &x)) continue;
            if (x.type.rank > 0) {
                err(c->d, A[k]->span, "linspace: the %s must be a single number, but %s has shape %s",
                    k ? "end" : "start", arg_name(&s1, A[k], k, c->d), shape_str(&s2, &x.type));
                c->ok = false;
            }
            if (dt_cplx(x.type.dtype)) cplx = true;
        }
        t = ty_make(cplx ? TXRT_C128 : TXRT_F64, 1);
        t.dims[0] = size_arg(c, "count", A[2], 2);
        res[0] = vi_of(t);
        return;
    }
    case TX_B_LOAD:
        string_arg(c, A[0], "the path", "load(\"data.npy\")");
        res[0] = vi_unknown();
        return;
    case TX_B_SAVE:
        string_arg(c, A[0], "the path", "save(\"out.npy\", X)");
        tensor_arg(c, A[1], &x);
        return;
    case TX_B_RESHAPE: {
        if (!tensor_arg(c, A[0], &x)) return;
        t = ty_make(x.type.dtype, 0);
        if (!shape_args(c, 1, &t)) {
            res[0] = vi_of(t);
            return;
        }
        bool known = x.type.rank >= 0;
        i128 have = 1, want = 1;
        for (int k = 0; known && k < x.type.rank; k++) {
            if (x.type.dims[k] < 0) known = false;
            else have = mul_sat(have, x.type.dims[k]);
        }
        for (int k = 0; known && k < t.rank; k++) {
            if (t.dims[k] < 0) known = false;
            else want = mul_sat(want, t.dims[k]);
        }
        if (known && have != want) {
            /* counts past int64 (2^32 x 2^32) are shown as such, not wrapped */
            char nh[48], nw[48];
            if (have > (i128)INT64_MAX) snprintf(nh, sizeof nh, "more than 2^63");
            else snprintf(nh, sizeof nh, "%lld", (long long)have);
            if (want > (i128)INT64_MAX) snprintf(nw, sizeof nw, "more than 2^63");
            else snprintf(nw, sizeof nw, "%lld", (long long)want);
            err(c->d, s->span, "reshape: cannot reshape %s (%s elements) into %s (%s elements)",
                shape_str(&s1, &x.type), nh, shape_str(&s2, &t), nw);
            c->ok = false;
        }
        res[0] = vi_of(t);
        return;
    }
    case TX_B_TAKE:     /* X[t, i] with t known at run time (ir/lower.c) */
        if (tensor_arg(c, A[0], &x)) res[0] = vi_of(slice_type(c, &x.type, 1));
        return;
    case TX_B_PUT:      /* X[t, i] (=|+=) V */
    case TX_B_PUT_ADD: {
        if (!tensor_arg(c, A[0], &x) || !tensor_arg(c, A[1], &y)) return;
        res[0] = vi_of(x.type);
        t = slice_type(c, &x.type, 2);
        if (!c->ok) return;
        if (dt_cplx(y.type.dtype) && x.type.dtype >= 0 && !dt_cplx(x.type.dtype)) {
            err(c->d, A[1]->span, "the right-hand side is complex but %s is real", A[0]->var);
            c->ok = false;
            return;
        }
        if (t.rank < 0 || y.type.rank < 0) return;
        bool same = t.rank == y.type.rank;
        for (int k = 0; same && k < t.rank; k++)
            if (t.dims[k] >= 0 && y.type.dims[k] >= 0 && t.dims[k] != y.type.dims[k]) same = false;
        if (!same) {
            err(c->d, A[1]->span, "the right-hand side has shape %s but the part of %s it is assigned to has shape %s",
                shape_str(&s1, &y.type), A[0]->var, shape_str(&s2, &t));
            c->ok = false;
        }
        return;
    }
    case TX_B_DIM: {
        res[0] = vi_of(ty_make(TXRT_F64, 0));
        if (!tensor_arg(c, A[0], &x)) return;
        int ax = axis_arg(c, A[1], 1, &x.type, A[0], 0);
        if (ax >= 0 && x.type.dims[ax] >= 0) {
            res[0].known = true;
            res[0].value = (double)x.type.dims[ax];
        }
        return;
    }
    case TX_B_CAST: {
        if (!tensor_arg(c, A[0], &x)) return;
        t = x.type;
        if (string_arg(c, A[1], "the dtype", "cast(X, \"f32\")")) {
            int dt = dt_from_name(A[1]->str ? A[1]->str : "", A[1]->str ? A[1]->str_len : 0);
            if (dt < 0) {
                err(c->d, A[1]->span, "cast: unknown dtype %s; use \"f64\", \"f32\", \"c128\" or \"c64\"",
                    expr_str(&s1, A[1], NULL));
                c->ok = false;
            }
            t.dtype = dt;
        } else {
            t.dtype = -1;
        }
        res[0] = vi_of(t);
        return;
    }
    case TX_B_SUM1: case TX_B_MAX1: case TX_B_MIN1: case TX_B_NORM:
        if (!tensor_arg(c, A[0], &x)) return;
        res[0] = vi_of(ty_make(id == TX_B_NORM ? dt_real(x.type.dtype) : x.type.dtype, 0));
        return;
    case TX_B_ALLCLOSE: {
        res[0] = vi_of(ty_make(TXRT_F64, 0));
        if (!tensor_arg(c, A[0], &x) || !tensor_arg(c, A[1], &y)) return;
        if (x.type.rank > 0 && y.type.rank > 0 && shapes_differ(&x.type, &y.type)) {
            err(c->d, s->span, "allclose: shapes %s and %s differ", shape_str(&s1, &x.type), shape_str(&s2, &y.type));
            c->ok = false;
        }
        for (int k = 0; k < s->nkwargs; k++) {
            const tx_tir_expr *e = s->kwargs[k].value;
            tx_varinfo z;
            if (!e || !tensor_arg(c, e, &z)) continue;
            if (z.type.rank > 0) {
                err(c->d, e->span, "allclose: %s must be a single number, but it has shape %s", s->kwargs[k].name,
                    shape_str(&s1, &z.type));
                c->ok = false;
            }
        }
        return;
    }
    case TX_B_SOLVE: case TX_B_CHO_SOLVE: {
        if (!tensor_arg(c, A[0], &x) || !tensor_arg(c, A[1], &y)) return;
        if (!matrix_arg(c, A[0], 0, &x.type, true, &m, &nn)) return;
        if (!rhs_arg(c, A[0], 0, A[1], 1, &y.type, m)) return;
        t = y.type;
        t.dtype = dt_promote(x.type.dtype, y.type.dtype);
        if (t.rank >= 1 && t.dims[0] < 0) t.dims[0] = m;
        res[0] = vi_of(t);
        return;
    }
    case TX_B_LSTSQ: {
        if (!tensor_arg(c, A[0], &x) || !tensor_arg(c, A[1], &y)) return;
        if (!matrix_arg(c, A[0], 0, &x.type, false, &m, &nn)) return;
        if (!rhs_arg(c, A[0], 0, A[1], 1, &y.type, m)) return;
        t = y.type;
        t.dtype = dt_promote(x.type.dtype, y.type.dtype);
        if (t.rank >= 1) t.dims[0] = nn;
        res[0] = vi_of(t);
        return;
    }
    case TX_B_INV: case TX_B_CHOLESKY: case TX_B_DET: case TX_B_EIGH: {
        if (!tensor_arg(c, A[0], &x)) return;
        if (!matrix_arg(c, A[0], 0, &x.type, true, &m, &nn)) return;
        if (id == TX_B_DET) {
            res[0] = vi_of(ty_make(x.type.dtype, 0));
            return;
        }
        t = ty_make(x.type.dtype, 2);
        t.dims[0] = t.dims[1] = m;
        if (id == TX_B_EIGH) {
            tx_type w = ty_make(dt_real(x.type.dtype), 1);
            w.dims[0] = m;
            res[0] = vi_of(w);
            res[1] = vi_of(t);
            return;
        }
        res[0] = vi_of(t);
        return;
    }
    case TX_B_SVD: case TX_B_QR: {
        if (!tensor_arg(c, A[0], &x)) return;
        if (!matrix_arg(c, A[0], 0, &x.type, false, &m, &nn)) return;
        int64_t k = (m >= 0 && nn >= 0) ? (m < nn ? m : nn) : (m == 0 || nn == 0) ? 0 : -1;
        tx_type L = ty_make(x.type.dtype, 2), R = ty_make(x.type.dtype, 2);
        L.dims[0] = m;
        L.dims[1] = k;
        R.dims[0] = k;
        R.dims[1] = nn;
        if (id == TX_B_QR) {
            res[0] = vi_of(L);
            res[1] = vi_of(R);
        } else {
            tx_type sv = ty_make(dt_real(x.type.dtype), 1);
            sv.dims[0] = k;
            res[0] = vi_of(L);
            res[1] = vi_of(sv);
            res[2] = vi_of(R);
        }
        return;
    }
    case TX_B_FFT: case TX_B_IFFT: case TX_B_FFT2: case TX_B_IFFT2: case TX_B_RFFT: case TX_B_IRFFT: {
        if (!tensor_arg(c, A[0], &x)) return;
        t = x.type;
        int need = (id == TX_B_FFT2 || id == TX_B_IFFT2) ? 2 : 1;
        if (t.rank >= 0 && t.rank < need) {
            err(c->d, A[0]->span, "%s: %s must have at least %d ax%s, but it has shape %s", c->bn,
                arg_name(&s1, A[0], 0, c->d), need, need == 1 ? "is" : "es", shape_str(&s2, &t));
            c->ok = false;
            return;
        }
        if (id == TX_B_FFT || id == TX_B_IFFT) {
            const tx_tir_expr *ax = kwarg(s, "axis");
            int a = t.rank >= 1 ? t.rank - 1 : -1;
            if (ax) a = axis_arg(c, ax, n, &t, A[0], 0);
            if (!c->ok) return;
            fft_axis_nonempty(c, A[0], 0, &t, a);
            t.dtype = dt_complex(t.dtype);
        } else if (id == TX_B_FFT2 || id == TX_B_IFFT2) {
            if (t.rank >= 2) {
                fft_axis_nonempty(c, A[0], 0, &t, t.rank - 2);
                fft_axis_nonempty(c, A[0], 0, &t, t.rank - 1);
            }
            t.dtype = dt_complex(t.dtype);
        } else if (id == TX_B_RFFT) {
            if (!real_arg(c, A[0], 0, &x, "fft")) return;
            if (t.rank >= 1) {
                fft_axis_nonempty(c, A[0], 0, &t, t.rank - 1);
                if (t.dims[t.rank - 1] >= 0) t.dims[t.rank - 1] = t.dims[t.rank - 1] / 2 + 1;
            }
            t.dtype = dt_complex(t.dtype);
        } else { /* IRFFT */
            int64_t len = -1;
            if (n >= 2) {
                if (whole_arg(c, "length", A[1], 1, false, &len) == 1 && len < 1) {
                    err(c->d, A[1]->span, "irfft: length %lld must be at least 1", (long long)len);
                    c->ok = false;
                    return;
                }
            }
            if (t.rank >= 1) {
                int64_t mm = t.dims[t.rank - 1];
                if (mm == 0) {
                    fft_axis_nonempty(c, A[0], 0, &t, t.rank - 1);
                    return;
                }
                if (n < 2 && mm >= 0) {
                    len = 2 * (mm - 1);
                    if (len < 1) {
                        tx_diag *g = err(c->d, A[0]->span,
                                         "irfft: the last axis of %s has size %lld, which gives an output length of %lld",
                                         arg_name(&s1, A[0], 0, c->d), (long long)mm, (long long)len);
                        tx_hint(c->d, g, "pass the length: irfft(X, n)");
                        c->ok = false;
                        return;
                    }
                }
                t.dims[t.rank - 1] = len;
            }
            t.dtype = dt_real(t.dtype);
        }
        if (!c->ok) return;
        res[0] = vi_of(t);
        return;
    }
    case TX_B_SPH_HARM: case TX_B_GAUNT: {
        int64_t L = -1;
        if (whole_arg(c, "degree", A[0], 0, false, &L) == 1 && L > 2000000000) {
            err(c->d, A[0]->span, "%s: degree %lld is too large", c->bn, (long long)L);
            c->ok = false;
            return;
        }
        int64_t P = L >= 0 ? (L + 1) * (L + 1) : -1;
        if (id == TX_B_GAUNT) {
            t = ty_make(TXRT_F64, 3);
            t.dims[0] = t.dims[1] = t.dims[2] = P;
            res[0] = vi_of(t);
            return;
        }
        if (!tensor_arg(c, A[1], &x) || !tensor_arg(c, A[2], &y)) return;
        if (!real_arg(c, A[1], 1, &x, NULL) || !real_arg(c, A[2], 2, &y, NULL)) return;
        if (shapes_differ(&x.type, &y.type)) {
            err(c->d, A[2]->span, "sph_harm: theta and phi must have one shape, but %s has shape %s and %s has shape %s",
                arg_name(&s1, A[1], 1, c->d), shape_str(&s2, &x.type), arg_name(&s3, A[2], 2, c->d), shape_str(&s4, &y.type));
            c->ok = false;
            return;
        }
        const tx_type *S = x.type.rank >= 0 ? &x.type : &y.type;
        if (S->rank < 0) {
            res[0] = vi_of(ty_make(TXRT_F64, -1));
            return;
        }
        if (S->rank + 1 > TXRT_MAX_RANK) {
            err(c->d, s->span, "sph_harm: the result would have %d axes; the limit is %d", S->rank + 1, TXRT_MAX_RANK);
            c->ok = false;
            return;
        }
        t = ty_make(TXRT_F64, S->rank + 1);
        t.dims[0] = P;
        for (int k = 0; k < S->rank; k++) {
            int64_t a = x.type.rank >= 0 ? x.type.dims[k] : -1, b = y.type.rank >= 0 ? y.type.dims[k] : -1;
            t.dims[k + 1] = a >= 0 ? a : b;
        }
        res[0] = vi_of(t);
        return;
    }
    default:
        /* elementwise builtins never become calls; stay silent */
        return;
    }
}

/* "Q[n,d]" */
static const char *param_str(sbuf *b, const tx_tir_param *p) {
    sb_init(b);
    sb_put(b, p->name ? p->name : "?");
    if (p->ndims > 0) {
        sb_put(b, "[");
        for (int k = 0; k < p->ndims; k++) {
            if (k) sb_put(b, ",");
            if (p->dims[k].name) sb_put(b, p->dims[k].name);
            else sb_printf(b, "%lld", (long long)p->dims[k].value);
        }
        sb_put(b, "]");
    }
    return b->s;
}

static void func_types(cctx *c, const tx_tir_func *fn, tx_varinfo *res, int nres) {
    const tx_tir_stmt *s = c->call;
    sbuf s1, s2, s3;
    if (s->nargs != fn->nparams) {
        err(c->d, s->span, "%s takes %d argument%s but %d %s given", fn->name, fn->nparams,
            fn->nparams == 1 ? "" : "s", s->nargs, s->nargs == 1 ? "was" : "were");
        c->ok = false;
        return;
    }
    if (nres > fn->nresults) {
        err(c->d, s->span, "%s returns %d result%s but %d %s bound", fn->name, fn->nresults,
            fn->nresults == 1 ? "" : "s", nres, nres == 1 ? "is" : "are");
        c->ok = false;
        return;
    }
    /* size name -> value and the parameter that bound it */
    int cap = 0;
    for (int k = 0; k < fn->nparams; k++) cap += fn->params[k].ndims;
    const char **names = xcalloc((size_t)cap, sizeof *names);
    int64_t *vals = xcalloc((size_t)cap, sizeof *vals);
    int *from = xcalloc((size_t)cap, sizeof *from);
    int *from_axis = xcalloc((size_t)cap, sizeof *from_axis);
    int nb = 0;
    for (int k = 0; k < fn->nparams; k++) {
        const tx_tir_param *p = &fn->params[k];
        const tx_tir_expr *e = s->args[k];
        tx_varinfo vi;
        if (e && e->kind == TX_TIR_STRING) {
            err(c->d, e->span, "%s: parameter %s is a tensor, not a string", fn->name, param_str(&s1, p));
            c->ok = false;
            continue;
        }
        vi = arg_info(e, c->lk);
        if (p->dtype >= 0 && dt_cplx(vi.type.dtype) && !dt_cplx(p->dtype)) {
            err(c->d, e->span, "%s: parameter %s is real (%s), but %s is complex (%s)", fn->name, param_str(&s1, p),
                dt_name(p->dtype), arg_name(&s2, e, k, c->d), dt_name(vi.type.dtype));
            c->ok = false;
        }
        if (vi.type.rank < 0) continue;
        if (vi.type.rank != p->ndims) {
            err(c->d, e->span, "%s: parameter %s has rank %d, but %s has shape %s", fn->name, param_str(&s1, p),
                p->ndims, arg_name(&s2, e, k, c->d), shape_str(&s3, &vi.type));
            c->ok = false;
            continue;
        }
        for (int a = 0; a < p->ndims; a++) {
            int64_t have = vi.type.dims[a];
            const tx_ast_dim *dm = &p->dims[a];
            if (have < 0) continue;
            if (!dm->name) {
                if (have != dm->value) {
                    err(c->d, e->span, "%s: parameter %s needs size %lld on axis %d, but %s has shape %s", fn->name,
                        param_str(&s1, p), (long long)dm->value, a, arg_name(&s2, e, k, c->d), shape_str(&s3, &vi.type));
                    c->ok = false;
                    break;
                }
                continue;
            }
            int q = 0;
            while (q < nb && strcmp(names[q], dm->name) != 0) q++;
            if (q == nb) {
                names[nb] = dm->name;
                vals[nb] = have;
                from[nb] = k;
                from_axis[nb] = a;
                nb++;
            } else if (vals[q] != have) {
                param_str(&s1, &fn->params[from[q]]);
                param_str(&s2, p);
                if (from[q] == k) { /* M[n,n]: say which axes */
                    sb_printf(&s1, " (axis %d)", from_axis[q]);
                    sb_printf(&s2, " (axis %d)", a);
                }
                err(c->d, e->span, "%s: size '%s' is %lld from %s but %lld from %s", fn->name, dm->name,
                    (long long)vals[q], s1.s, (long long)have, s2.s);
                c->ok = false;
                break;
            }
        }
    }
    for (int r = 0; r < nres && r < fn->nresults; r++) {
        const tx_tir_param *p = &fn->results[r];
        if (p->ndims > TXRT_MAX_RANK) continue;
        tx_type t = ty_make(p->dtype >= 0 ? p->dtype : -1, p->ndims);
        for (int a = 0; a < p->ndims; a++) {
            const tx_ast_dim *dm = &p->dims[a];
            if (!dm->name) {
                t.dims[a] = dm->value;
                continue;
            }
            for (int q = 0; q < nb; q++)
                if (strcmp(names[q], dm->name) == 0) t.dims[a] = vals[q];
        }
        res[r] = vi_of(t);
    }
    free(names);
    free(vals);
    free(from);
    free(from_axis);
}

/* Result varinfos (with dim(X, k) folded) of a call; res has nres entries. */
static bool call_infos(const tx_tir_stmt *s, const tx_lookup *lk, tx_varinfo *res, int nres, tx_diags *d) {
    for (int k = 0; k < nres; k++) res[k] = vi_unknown();
    if (!s || s->kind != TX_TIR_CALL) return false;
    int n0 = d->nerr;
    cctx c = { s, lk, d, NULL, true };
    if (s->builtin < 0) {
        const tx_tir_func *fn = s->func;
        if (!fn) return true; /* unresolved: sema's business */
        c.bn = fn->name;
        func_types(&c, fn, res, nres);
    } else if (s->builtin < TX_B__COUNT) {
        const tx_builtin_info *b = &tx_builtins[s->builtin];
        c.bn = b->name;
        char ar[64];
        if (s->nargs < b->min_args || (b->max_args >= 0 && s->nargs > b->max_args)) {
            err(d, s->span, "%s takes %s but %d %s given", b->name, tx_builtin_arity_str(s->builtin, ar, sizeof ar),
                s->nargs, s->nargs == 1 ? "was" : "were");
            return false;
        }
        if (nres > b->nresults) {
            err(d, s->span, "%s returns %d result%s but %d %s bound", b->name, b->nresults,
                b->nresults == 1 ? "" : "s", nres, nres == 1 ? "is" : "are");
            return false;
        }
        for (int k = 0; k < s->nkwargs; k++)
            if (s->kwargs[k].name && !tx_builtin_has_kwarg(s->builtin, s->kwargs[k].name)) {
                err(d, s->kwargs[k].span, "%s has no keyword argument '%s'", b->name, s->kwargs[k].name);
                c.ok = false;
            }
        tx_varinfo tmp[3] = { vi_unknown(), vi_unknown(), vi_unknown() };
        builtin_types(&c, s->builtin, tmp);
        for (int k = 0; k < nres && k < 3; k++) res[k] = tmp[k];
    }
    if (!c.ok || d->nerr != n0) {
        for (int k = 0; k < nres; k++) res[k] = vi_unknown();
        return false;
    }
    return true;
}

bool tx_tir_call_types(const tx_tir_stmt *call, const tx_lookup *lk, tx_type *results, tx_diags *d) {
    int n = call ? call->nresults : 0;
    tx_varinfo *v = xcalloc((size_t)n, sizeof *v);
    bool ok = call_infos(call, lk, v, n, d);
    for (int k = 0; k < n; k++) results[k] = v[k].type;
    free(v);
    return ok;
}

/* ---- the static checker --------------------------------------------------------- */

/* An environment: name -> what is known, in an open-addressing table, in
 * front of an outer lookup (the REPL's values). */
typedef struct envent {
    const char *name;
    tx_varinfo vi;
} envent;

typedef struct env {
    envent *tab;
    int cap, n;
    const tx_lookup *outer;
} env;

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    while (*s) h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return h;
}

static envent *env_find(const env *e, const char *name) {
    if (!e->cap) return NULL;
    uint64_t i = hash_str(name) & (uint64_t)(e->cap - 1);
    while (e->tab[i].name) {
        if (strcmp(e->tab[i].name, name) == 0) return &e->tab[i];
        i = (i + 1) & (uint64_t)(e->cap - 1);
    }
    return NULL;
}

static void env_set(env *e, const char *name, tx_varinfo vi) {
    if (!name) return;
    envent *x = env_find(e, name);
    if (x) {
        x->vi = vi;
        return;
    }
    if (2 * (e->n + 1) > e->cap) {
        env g = { NULL, e->cap ? 2 * e->cap : 64, 0, e->outer };
        g.tab = xcalloc((size_t)g.cap, sizeof *g.tab);
        for (int k = 0; k < e->cap; k++)
            if (e->tab[k].name) env_set(&g, e->tab[k].name, e->tab[k].vi);
        free(e->tab);
        *e = g;
    }
    uint64_t i = hash_str(name) & (uint64_t)(e->cap - 1);
    while (e->tab[i].name) i = (i + 1) & (uint64_t)(e->cap - 1);
    e->tab[i].name = name;
    e->tab[i].vi = vi;
    e->n++;
}

static env env_clone(const env *e) {
    env c = *e;
    if (e->cap) {
        c.tab = xcalloc((size_t)e->cap, sizeof *c.tab);
        memcpy(c.tab, e->tab, sizeof *c.tab * (size_t)e->cap);
    }
    return c;
}

static void env_free(env *e) {
    free(e->tab);
    e->tab = NULL;
    e->cap = e->n = 0;
}

static bool env_get_cb(void *self, const char *var, tx_varinfo *out) {
    const env *e = self;
    const envent *x = env_find(e, var);
    if (x) {
        *out = x->vi;
        return true;
    }
    if (e->outer && e->outer->get) return e->outer->get(e->outer->self, var, out);
    return false;
}

static bool vi_equal(const tx_varinfo *a, const tx_varinfo *b) {
    if (a->type.dtype != b->type.dtype || a->type.rank != b->type.rank || a->known != b->known) return false;
    for (int k = 0; k < a->type.rank; k++)
        if (a->type.dims[k] != b->type.dims[k]) return false;
    return !a->known || a->value == b->value;
}

static tx_varinfo vi_join(const tx_varinfo *a, const tx_varinfo *b) {
    tx_varinfo r = vi_unknown();
    r.type.dtype = a->type.dtype == b->type.dtype ? a->type.dtype : -1;
    if (a->type.rank == b->type.rank) {
        r.type.rank = a->type.rank;
        for (int k = 0; k < r.type.rank; k++)
            r.type.dims[k] = a->type.dims[k] == b->type.dims[k] ? a->type.dims[k] : -1;
    }
    r.known = a->known && b->known && a->value == b->value;
    r.value = r.known ? a->value : 0;
    return r;
}

/* into := join(into, other) over every name of other; true when into changed. */
static bool env_join(env *into, const env *other) {
    bool changed = false;
    for (int k = 0; k < other->cap; k++) {
        const envent *o = &other->tab[k];
        if (!o->name) continue;
        envent *x = env_find(into, o->name);
        if (!x) {
            tx_varinfo prev;
            tx_varinfo nv = o->vi;
            if (into->outer && into->outer->get && into->outer->get(into->outer->self, o->name, &prev)) {
                ty_sanitize(&prev.type);
                nv = vi_join(&prev, &o->vi);
            }
            env_set(into, o->name, nv);
            changed = true;
        } else if (!vi_equal(&x->vi, &o->vi)) {
            tx_varinfo j = vi_join(&x->vi, &o->vi);
            if (!vi_equal(&j, &x->vi)) changed = true;
            x->vi = j;
        }
    }
    return changed;
}

typedef struct checker {
    tx_diags *d;
    int depth;
} checker;

static void check_stmts(checker *ck, env *e, tx_tir_stmt **body, int n, tx_diags *d);

static void check_def(env *e, tx_tir_stmt *s, tx_diags *d) {
    tx_lookup lk = { env_get_cb, e };
    int n0 = d->nerr;
    tx_type t = ty_unknown();
    bool ok = tx_tir_infer_ranges(s, &lk, d);
    if (ok) ok = tx_tir_def_type(s, &lk, &t, d);
    tx_varinfo vi = vi_unknown();
    if (ok && d->nerr == n0) {
        vi.type = t;
        double v;
        if (t.rank == 0 && !dt_cplx(t.dtype) && s->nout == 0 && fold(s->rhs, &lk, &v, 0)) {
            bool known = true;
            if (s->accumulate) {
                tx_varinfo old;
                if (get_info(&lk, s->out, &old) && old.known) v += old.value;
                else known = false;
            }
            if (known) {
                vi.known = true;
                vi.value = t.dtype == TXRT_F32 ? (double)(float)v : v;
            }
        }
    }
    env_set(e, s->out, vi);
}

static void check_call(env *e, tx_tir_stmt *s, tx_diags *d) {
    tx_lookup lk = { env_get_cb, e };
    int n = s->nresults;
    tx_varinfo *res = xcalloc((size_t)n, sizeof *res);
    call_infos(s, &lk, res, n, d);
    for (int k = 0; k < n; k++) env_set(e, s->results[k], res[k]);
    free(res);
}

/* A loop bound: a whole number when known.  Returns 1 known, 0 unknown, -1 error. */
static int loop_bound(env *e, const tx_tir_expr *x, tx_diags *d, double *out) {
    tx_lookup lk = { env_get_cb, e };
    if (!x) return 0;
    tx_varinfo vi = arg_info(x, &lk);
    sbuf s1;
    char nb[64];
    if (x->kind == TX_TIR_STRING || vi.type.rank > 0) {
        err(d, x->span, "a loop bound must be a single number%s%s", vi.type.rank > 0 ? ", but it has shape " : "",
            vi.type.rank > 0 ? shape_str(&s1, &vi.type) : "");
        return -1;
    }
    if (!vi.known) return 0;
    if (!isfinite(vi.value) || vi.value != floor(vi.value)) {
        err(d, x->span, "a loop bound must be a whole number, got %s", num_str(nb, sizeof nb, vi.value));
        return -1;
    }
    if (fabs(vi.value) > 9007199254740992.0) { /* 2^53: same words as ir/interp.c */
        err(d, x->span, "a loop bound must be at most 2^53 in magnitude, got %s", num_str(nb, sizeof nb, vi.value));
        return -1;
    }
    *out = vi.value;
    return 1;
}

/* Variables a body assigns (recursively). */
static void assigned_vars(tx_tir_stmt **body, int n, env *into) {
    for (int k = 0; k < n; k++) {
        const tx_tir_stmt *s = body[k];
        if (!s) continue;
        if (s->kind == TX_TIR_DEF) env_set(into, s->out, vi_unknown());
        else if (s->kind == TX_TIR_CALL)
            for (int r = 0; r < s->nresults; r++) env_set(into, s->results[r], vi_unknown());
        else if (s->kind == TX_TIR_FOR) {
            env_set(into, s->var, vi_unknown());
            assigned_vars(s->body, s->nbody, into);
        }
    }
}

/* A for body runs any number of times: check it against the join of the
 * states before every iteration (a fixpoint, found in a few quiet passes;
 * deeper nests widen what the body assigns to unknown at once), so each
 * error reported holds in every iteration. */
static void check_for(checker *ck, env *e, tx_tir_stmt *s, tx_diags *d) {
    double lo = 0, hi = 0;
    int klo = loop_bound(e, s->lo, d, &lo), khi = loop_bound(e, s->hi, d, &hi);
    if (klo == 1 && khi == 1 && hi <= lo) return; /* never runs */
    tx_varinfo loopvar = vi_of(ty_make(TXRT_F64, 0));
    /* the loop variable exists only inside the loop */
    tx_varinfo before;
    bool had = env_get_cb(e, s->var, &before);
    ck->depth++;
    bool stable = false;
    if (ck->depth <= 3) {
        tx_diags quiet;
        tx_diags_init(&quiet, d->arena, d->src);
        quiet.limit = 1;
        for (int pass = 0; pass < 3 && !stable; pass++) {
            env body = env_clone(e);
            env_set(&body, s->var, loopvar);
            check_stmts(ck, &body, s->body, s->nbody, &quiet);
            stable = !env_join(e, &body);
            env_free(&body);
        }
    }
    if (!stable) {
        env w = { NULL, 0, 0, NULL };
        assigned_vars(s->body, s->nbody, &w);
        for (int k = 0; k < w.cap; k++)
            if (w.tab[k].name) env_set(e, w.tab[k].name, vi_unknown());
        env_free(&w);
    }
    env body = env_clone(e);
    env_set(&body, s->var, loopvar);
    check_stmts(ck, &body, s->body, s->nbody, d);
    env_join(e, &body);
    env_free(&body);
    ck->depth--;
    env_set(e, s->var, had ? before : loopvar);
}

static void check_stmts(checker *ck, env *e, tx_tir_stmt **body, int n, tx_diags *d) {
    for (int k = 0; k < n; k++) {
        tx_tir_stmt *s = body[k];
        if (!s) continue;
        switch (s->kind) {
        case TX_TIR_DEF:
            check_def(e, s, d);
            break;
        case TX_TIR_CALL:
            check_call(e, s, d);
            break;
        case TX_TIR_FOR:
            check_for(ck, e, s, d);
            break;
        case TX_TIR_ASSERT: {
            const tx_tir_expr *c = s->nargs > 0 ? s->args[0] : s->nitems > 0 ? s->items[0] : NULL;
            if (!c) break;
            tx_lookup lk = { env_get_cb, e };
            tx_varinfo vi = arg_info(c, &lk);
            if (vi.type.rank > 0) {
                sbuf s1;
                err(d, c->span, "assert needs a scalar condition, got shape %s", shape_str(&s1, &vi.type));
            }
            break;
        }
        case TX_TIR_PRINT:
        case TX_TIR_RETURN:
            break;
        }
    }
}

/* A def body with its parameters typed from the signature (size names
 * unknown), and its results checked against their annotations. */
static void check_func(checker *ck, const tx_tir_func *fn, tx_diags *d) {
    for (int k = 0; k < fn->nparams + fn->nresults; k++) {
        const tx_tir_param *p = k < fn->nparams ? &fn->params[k] : &fn->results[k - fn->nparams];
        if (p->ndims > TXRT_MAX_RANK)
            err(d, p->span, "%s: %s %s has %d axes; the limit is %d", fn->name,
                k < fn->nparams ? "parameter" : "result", p->name, p->ndims, TXRT_MAX_RANK);
    }
    env e = { NULL, 0, 0, NULL };
    for (int k = 0; k < fn->nsizes; k++) env_set(&e, fn->sizes[k], vi_of(ty_make(TXRT_F64, 0)));
    for (int k = 0; k < fn->nparams; k++) {
        const tx_tir_param *p = &fn->params[k];
        tx_type t = ty_make(p->dtype >= 0 ? p->dtype : -1, p->ndims <= TXRT_MAX_RANK ? p->ndims : -1);
        for (int a = 0; a < t.rank; a++) t.dims[a] = p->dims[a].name ? -1 : p->dims[a].value;
        env_set(&e, p->name, vi_of(t));
    }
    check_stmts(ck, &e, fn->body, fn->nbody, d);
    for (int k = 0; k < fn->nresults; k++) {
        const tx_tir_param *p = &fn->results[k];
        const envent *x = p->name ? env_find(&e, p->name) : NULL;
        if (!x) continue;
        const tx_type *t = &x->vi.type;
        sbuf s1, s2;
        bool bad = t->rank >= 0 && t->rank != p->ndims;
        for (int a = 0; !bad && t->rank >= 0 && a < p->ndims; a++)
            if (!p->dims[a].name && t->dims[a] >= 0 && t->dims[a] != p->dims[a].value) bad = true;
        if (bad) {
            err(d, p->span, "%s: result %s has shape %s but is declared %s", fn->name, p->name, shape_str(&s1, t),
                param_str(&s2, p));
        } else if (p->dtype >= 0 && dt_cplx(t->dtype) && !dt_cplx(p->dtype)) {
            err(d, p->span, "%s: result %s is complex (%s) but is declared real (%s)", fn->name, p->name,
                dt_name(t->dtype), dt_name(p->dtype));
        }
    }
    env_free(&e);
}

bool tx_tir_check(const tx_tir_program *p, const tx_lookup *globals, tx_diags *d) {
    if (!p) return true;
    int n0 = d->nerr;
    checker ck = { d, 0 };
    for (int k = 0; k < p->nfuncs; k++)
        if (p->funcs[k]) check_func(&ck, p->funcs[k], d);
    env e = { NULL, 0, 0, globals };
    check_stmts(&ck, &e, p->stmts, p->nstmts, d);
    env_free(&e);
    return d->nerr == n0;
}
