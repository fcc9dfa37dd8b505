/*
 * jit_testutil.h -- support for the loop-IR and JIT tests (header-only).
 *
 *   tdef_parse    builds a TIR DEF from text such as
 *                 "C[i,j] = A[i,k]*B[k,j]" with ranges "i:4 j:5 k:3"
 *                 ("name:extent" or "name:lo:extent", applied to every
 *                 index of that name), without the frontend: indices on the
 *                 right but not on the left are summed by a root Reduce,
 *                 sum/max/min/prod[..](..) bind fresh indices, a bare name
 *                 is an index when one is in scope and a rank-0 tensor
 *                 otherwise.
 *   tenv          a tiny name -> tensor environment with seeded fills.
 *   ref_run       an independent oracle: evaluates the DEF per element in
 *                 double / double complex, and a first-order bound on the
 *                 rounding error of every value (sums: n*u*sum|terms|),
 *                 so JIT results can be compared with a tolerance that
 *                 allows reassociation but still catches wrong code.
 */
#ifndef TX_JIT_TESTUTIL_H
#define TX_JIT_TESTUTIL_H

#include <complex.h>
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/arena.h"
#include "ir/tir.h"
#include "txrt.h"

/* every helper is static; not every test uses all of them */
#define TU_FN static __attribute__((unused))

/* ---- parsing test definitions ------------------------------------------- */

typedef struct tdef {
    tx_arena *a;
    const char *p;
    const char *ranges;
    tx_tir_stmt *s;
    const char *sname[64];
    int sid[64];
    int nscope;
    int implicit[32];
    int nimplicit;
    char err[128];
} tdef;

TU_FN void td_ws(tdef *t) {
    while (*t->p == ' ' || *t->p == '\t') t->p++;
}

TU_FN bool td_eat(tdef *t, const char *tok) {
    td_ws(t);
    size_t n = strlen(tok);
    if (strncmp(t->p, tok, n) != 0) return false;
    /* don't split "<=" into "<" */
    if (n == 1 && (tok[0] == '<' || tok[0] == '>' || tok[0] == '=' || tok[0] == '!') && t->p[1] == '=')
        return false;
    t->p += n;
    return true;
}

TU_FN void td_fail(tdef *t, const char *msg) {
    if (!t->err[0]) snprintf(t->err, sizeof t->err, "%s at '%.20s'", msg, t->p);
}

TU_FN bool td_expect(tdef *t, const char *tok) {
    if (td_eat(t, tok)) return true;
    char m[32];
    snprintf(m, sizeof m, "expected '%s'", tok);
    td_fail(t, m);
    return false;
}

TU_FN const char *td_name(tdef *t) {
    td_ws(t);
    if (!isalpha((unsigned char)*t->p) && *t->p != '_') return NULL;
    const char *b = t->p;
    while (isalnum((unsigned char)*t->p) || *t->p == '_') t->p++;
    return tx_arena_strndup(t->a, b, (size_t)(t->p - b));
}

TU_FN bool td_peek(tdef *t, char c) {
    td_ws(t);
    return *t->p == c;
}

/* Look "name" up in the ranges spec. */
TU_FN void td_range(tdef *t, const char *name, int64_t *lo, int64_t *ext) {
    *lo = 0;
    *ext = -1;
    const char *r = t->ranges ? t->ranges : "";
    size_t n = strlen(name);
    while (*r) {
        while (*r == ' ') r++;
        if (strncmp(r, name, n) == 0 && r[n] == ':') {
            long long a = 0, b = 0;
            int k = sscanf(r + n + 1, "%lld:%lld", &a, &b);
            if (k == 2) { *lo = a; *ext = b; }
            else if (k == 1) { *lo = 0; *ext = a; }
            return;
        }
        while (*r && *r != ' ') r++;
    }
}

TU_FN int td_new_index(tdef *t, const char *name) {
    tx_tir_stmt *s = t->s;
    s->indices = tx_arena_grow(t->a, s->indices, (size_t)s->nindices, (size_t)s->nindices + 1,
                               sizeof *s->indices);
    tx_tir_index *x = &s->indices[s->nindices];
    x->name = name;
    td_range(t, name, &x->lo, &x->extent);
    return s->nindices++;
}

TU_FN int td_lookup(tdef *t, const char *name) {
    for (int k = t->nscope - 1; k >= 0; k--)
        if (strcmp(t->sname[k], name) == 0) return t->sid[k];
    for (int k = 0; k < t->nimplicit; k++)
        if (strcmp(t->s->indices[t->implicit[k]].name, name) == 0) return t->implicit[k];
    return -1;
}

TU_FN tx_tir_expr *td_new(tdef *t, tx_tir_expr_kind k) {
    tx_tir_expr *e = TX_NEW(t->a, tx_tir_expr);
    e->kind = k;
    return e;
}

TU_FN bool td_number(tdef *t, double *v) {
    td_ws(t);
    char *end;
    if (!isdigit((unsigned char)*t->p) && *t->p != '.') return false;
    *v = strtod(t->p, &end);
    t->p = end;
    return true;
}

/* an affine subscript: terms c, c*i, i, -i, separated by + and - */
TU_FN bool td_affine(tdef *t, tx_tir_affine *af) {
    int idx[8];
    int64_t coef[8];
    int n = 0;
    int64_t c0 = 0;
    int sign = 1;
    if (td_eat(t, "-")) sign = -1;
    for (;;) {
        double num;
        int64_t c = sign;
        const char *nm = NULL;
        if (td_number(t, &num)) {
            c *= (int64_t)num;
            if (td_eat(t, "*")) nm = td_name(t);
            else { c0 += c; goto next; }
        } else {
            nm = td_name(t);
        }
        if (!nm) { td_fail(t, "bad subscript"); return false; }
        {
            int id = td_lookup(t, nm);
            if (id < 0) {
                id = td_new_index(t, nm);
                t->implicit[t->nimplicit++] = id;
            }
            idx[n] = id;
            coef[n] = c;
            n++;
        }
    next:
        if (td_eat(t, "+")) sign = 1;
        else if (td_eat(t, "-")) sign = -1;
        else break;
    }
    af->nterms = n;
    af->idx = TX_NEWN(t->a, int, n > 0 ? n : 1);
    af->coef = TX_NEWN(t->a, int64_t, n > 0 ? n : 1);
    memcpy(af->idx, idx, sizeof(int) * (size_t)n);
    memcpy(af->coef, coef, sizeof(int64_t) * (size_t)n);
    af->c0 = c0;
    return true;
}

TU_FN tx_tir_expr *td_expr(tdef *t);

TU_FN int td_unary_op(const char *n) {
    static const struct { const char *n; tx_tir_op op; } u[] = {
        { "exp", TX_TOP_EXP }, { "log", TX_TOP_LOG }, { "sqrt", TX_TOP_SQRT }, { "abs", TX_TOP_ABS },
        { "sin", TX_TOP_SIN }, { "cos", TX_TOP_COS }, { "tan", TX_TOP_TAN }, { "tanh", TX_TOP_TANH },
        { "sigmoid", TX_TOP_SIGMOID }, { "relu", TX_TOP_RELU }, { "sign", TX_TOP_SIGN },
        { "floor", TX_TOP_FLOOR }, { "ceil", TX_TOP_CEIL }, { "conj", TX_TOP_CONJ },
        { "real", TX_TOP_REAL }, { "imag", TX_TOP_IMAG },
    };
    for (size_t k = 0; k < sizeof u / sizeof u[0]; k++)
        if (strcmp(u[k].n, n) == 0) return (int)u[k].op;
    return -1;
}

TU_FN tx_tir_expr *td_primary(tdef *t) {
    double v;
    if (td_eat(t, "(")) {
        tx_tir_expr *e = td_expr(t);
        return td_expect(t, ")") ? e : NULL;
    }
    if (td_number(t, &v)) {
        tx_tir_expr *e = td_new(t, TX_TIR_CONST);
        if (*t->p == 'j') {
            t->p++;
            e->im = v;
            e->is_complex = true;
        } else {
            e->re = v;
        }
        return e;
    }
    const char *nm = td_name(t);
    if (!nm) { td_fail(t, "expected an operand"); return NULL; }
    bool red = !strcmp(nm, "sum") || !strcmp(nm, "max") || !strcmp(nm, "min") || !strcmp(nm, "prod");
    if (red && td_peek(t, '[')) {
        td_eat(t, "[");
        tx_tir_expr *e = td_new(t, TX_TIR_REDUCE);
        e->redop = !strcmp(nm, "sum") ? TX_RED_SUM : !strcmp(nm, "max") ? TX_RED_MAX
                 : !strcmp(nm, "min") ? TX_RED_MIN : TX_RED_PROD;
        int ids[8], n = 0, saved = t->nscope;
        do {
            const char *ix = td_name(t);
            if (!ix) { td_fail(t, "expected an index"); return NULL; }
            ids[n] = td_new_index(t, ix);
            t->sname[t->nscope] = ix;
            t->sid[t->nscope++] = ids[n++];
        } while (td_eat(t, ","));
        if (!td_expect(t, "]") || !td_expect(t, "(")) return NULL;
        e->a = td_expr(t);
        t->nscope = saved;
        if (!e->a || !td_expect(t, ")")) return NULL;
        e->nidx = n;
        e->idx = TX_NEWN(t->a, int, n);
        memcpy(e->idx, ids, sizeof(int) * (size_t)n);
        return e;
    }
    if (td_eat(t, "(")) {
        tx_tir_expr *args[3];
        int n = 0;
        do {
            if (n == 3 || !(args[n++] = td_expr(t))) { td_fail(t, "bad call"); return NULL; }
        } while (td_eat(t, ","));
        if (!td_expect(t, ")")) return NULL;
        int uop = td_unary_op(nm);
        if (uop >= 0 && n == 1) {
            tx_tir_expr *e = td_new(t, TX_TIR_UNARY);
            e->op = (tx_tir_op)uop;
            e->a = args[0];
            return e;
        }
        if (n == 2 && (!strcmp(nm, "pow") || !strcmp(nm, "max") || !strcmp(nm, "min"))) {
            tx_tir_expr *e = td_new(t, TX_TIR_BINARY);
            e->op = !strcmp(nm, "pow") ? TX_TOP_POW : !strcmp(nm, "max") ? TX_TOP_MAX2 : TX_TOP_MIN2;
            e->a = args[0];
            e->b = args[1];
            return e;
        }
        if (n == 3 && !strcmp(nm, "where")) {
            tx_tir_expr *e = td_new(t, TX_TIR_WHERE);
            e->a = args[0];
            e->b = args[1];
            e->c = args[2];
            return e;
        }
        td_fail(t, "unknown function");
        return NULL;
    }
    if (td_eat(t, "[")) {
        tx_tir_expr *e = td_new(t, TX_TIR_ACCESS);
        e->var = nm;
        tx_tir_affine subs[TXRT_MAX_RANK];
        int n = 0;
        if (!td_peek(t, ']')) {
            do {
                if (n == TXRT_MAX_RANK || !td_affine(t, &subs[n++])) return NULL;
            } while (td_eat(t, ","));
        }
        if (!td_expect(t, "]")) return NULL;
        e->nsubs = n;
        e->subs = TX_NEWN(t->a, tx_tir_affine, n > 0 ? n : 1);
        memcpy(e->subs, subs, sizeof(tx_tir_affine) * (size_t)n);
        return e;
    }
    int id = td_lookup(t, nm);
    int64_t lo, ext;
    td_range(t, nm, &lo, &ext);
    if (id < 0 && ext >= 0) { /* an index used only as a value: summed like the others */
        id = td_new_index(t, nm);
        t->implicit[t->nimplicit++] = id;
    }
    if (id >= 0) {
        tx_tir_expr *e = td_new(t, TX_TIR_INDEX);
        e->index = id;
        return e;
    }
    tx_tir_expr *e = td_new(t, TX_TIR_ACCESS);
    e->var = nm;
    return e;
}

TU_FN tx_tir_expr *td_bin(tdef *t, tx_tir_op op, tx_tir_expr *a, tx_tir_expr *b) {
    if (!a || !b) return NULL;
    tx_tir_expr *e = td_new(t, TX_TIR_BINARY);
    e->op = op;
    e->a = a;
    e->b = b;
    return e;
}

TU_FN tx_tir_expr *td_unary(tdef *t);

TU_FN tx_tir_expr *td_power(tdef *t) {
    tx_tir_expr *a = td_primary(t);
    if (a && td_eat(t, "^")) return td_bin(t, TX_TOP_POW, a, td_unary(t));
    return a;
}

TU_FN tx_tir_expr *td_unary(tdef *t) {
    if (td_eat(t, "-")) {
        tx_tir_expr *e = td_new(t, TX_TIR_UNARY);
        e->op = TX_TOP_NEG;
        e->a = td_unary(t);
        return e->a ? e : NULL;
    }
    return td_power(t);
}

TU_FN tx_tir_expr *td_mul(tdef *t) {
    tx_tir_expr *a = td_unary(t);
    for (;;) {
        if (td_eat(t, "*")) a = td_bin(t, TX_TOP_MUL, a, td_unary(t));
        else if (td_eat(t, "/")) a = td_bin(t, TX_TOP_DIV, a, td_unary(t));
        else return a;
    }
}

TU_FN tx_tir_expr *td_add(tdef *t) {
    tx_tir_expr *a = td_mul(t);
    for (;;) {
        if (td_eat(t, "+")) a = td_bin(t, TX_TOP_ADD, a, td_mul(t));
        else if (td_eat(t, "-")) a = td_bin(t, TX_TOP_SUB, a, td_mul(t));
        else return a;
    }
}

TU_FN tx_tir_expr *td_expr(tdef *t) {
    tx_tir_expr *a = td_add(t);
    static const struct { const char *s; tx_tir_op op; } cmp[] = {
        { "<=", TX_TOP_LE }, { ">=", TX_TOP_GE }, { "==", TX_TOP_EQ }, { "!=", TX_TOP_NE },
        { "<", TX_TOP_LT }, { ">", TX_TOP_GT },
    };
    for (size_t k = 0; k < 6; k++)
        if (td_eat(t, cmp[k].s)) return td_bin(t, cmp[k].op, a, td_add(t));
    return a;
}

/* Parse "OUT[i,j] = rhs"; NULL with a message in *err (static buffer). */
TU_FN tx_tir_stmt *tdef_parse(tx_arena *a, const char *text, const char *ranges, const char **err) {
    static char errbuf[160];
    tdef t;
    memset(&t, 0, sizeof t);
    t.a = a;
    t.p = text;
    t.ranges = ranges;
    t.s = TX_NEW(a, tx_tir_stmt);
    t.s->kind = TX_TIR_DEF;
    t.s->out = td_name(&t);
    int out[TXRT_MAX_RANK], nout = 0;
    bool br = t.s->out && td_eat(&t, "[");
    if (br && !td_peek(&t, ']')) {
        do {
            const char *ix = td_name(&t);
            if (!ix) { td_fail(&t, "expected an output index"); break; }
            out[nout] = td_new_index(&t, ix);
            t.sname[t.nscope] = ix;
            t.sid[t.nscope++] = out[nout++];
        } while (td_eat(&t, ","));
        td_expect(&t, "]");
    } else if (br) {
        td_expect(&t, "]");
    }
    tx_tir_expr *rhs = NULL;
    if (!t.err[0] && td_expect(&t, "=")) rhs = td_expr(&t);
    td_ws(&t);
    if (!t.err[0] && *t.p) td_fail(&t, "trailing text");
    if (!t.s->out || !rhs || t.err[0]) {
        snprintf(errbuf, sizeof errbuf, "%s", t.err[0] ? t.err : "parse error");
        if (err) *err = errbuf;
        return NULL;
    }
    if (t.nimplicit > 0) {
        tx_tir_expr *r = td_new(&t, TX_TIR_REDUCE);
        r->redop = TX_RED_SUM;
        r->nidx = t.nimplicit;
        r->idx = TX_NEWN(a, int, t.nimplicit);
        memcpy(r->idx, t.implicit, sizeof(int) * (size_t)t.nimplicit);
        r->a = rhs;
        rhs = r;
    }
    t.s->rhs = rhs;
    t.s->nout = nout;
    t.s->out_idx = TX_NEWN(a, int, nout > 0 ? nout : 1);
    memcpy(t.s->out_idx, out, sizeof(int) * (size_t)nout);
    return t.s;
}

/* ---- tensor environments ----------------------------------------------- */

typedef struct tenv {
    const char *name[32];
    txrt_tensor *t[32];
    int n;
} tenv;

TU_FN txrt_tensor *tenv_get(void *self, const char *name) {
    tenv *e = self;
    for (int k = e->n - 1; k >= 0; k--)
        if (strcmp(e->name[k], name) == 0) return e->t[k];
    return NULL;
}

TU_FN bool tenv_lookup(void *self, const char *name, tx_varinfo *out) {
    txrt_tensor *t = tenv_get(self, name);
    if (!t) return false;
    memset(out, 0, sizeof *out);
    out->type.dtype = (int)t->dtype;
    out->type.rank = t->rank;
    for (int k = 0; k < t->rank; k++) out->type.dims[k] = t->shape[k];
    return true;
}

TU_FN uint64_t tu_rng(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

TU_FN double tu_uniform(uint64_t *s) { return (double)(tu_rng(s) >> 11) * 0x1p-53; }

/* Add a tensor of dtype dt and shape dims filled with values in [lo, hi)
 * (both parts for complex), from seed.  Returns it (owned by the env). */
TU_FN txrt_tensor *tenv_add(tenv *e, const char *name, txrt_dtype dt, int rank, const int64_t *dims,
                             double lo, double hi, uint64_t seed) {
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    txrt_tensor *t = txrt_tensor_new(&ctx, dt, rank, dims);
    if (!t) return NULL;
    uint64_t s = seed * 7919 + 17;
    for (int64_t i = 0; i < t->size; i++) {
        double re = lo + (hi - lo) * tu_uniform(&s);
        double im = lo + (hi - lo) * tu_uniform(&s);
        txrt_set(t, i, re, im);
    }
    e->name[e->n] = name;
    e->t[e->n++] = t;
    return t;
}

TU_FN void tenv_free(tenv *e) {
    for (int k = 0; k < e->n; k++) txrt_release(e->t[k]);
    e->n = 0;
}

/* ---- the oracle ------------------------------------------------------------ */

typedef struct rval {
    double complex v;
    double err;        /* bound on the absolute rounding error (first order) */
    bool cplx;
} rval;

typedef struct rctx {
    const tx_tir_stmt *def;
    tenv *env;
    int64_t ix[64];
    double u;          /* unit roundoff of the arithmetic being checked */
    bool bad;          /* something the oracle does not handle */
} rctx;

TU_FN rval rv(double complex v, double err, bool cplx) {
    rval r = { v, isnan(err) ? INFINITY : err, cplx };
    return r;
}

/* u*|r|, or 0 when r is not finite (inf and nan results are compared exactly) */
TU_FN double tu_ru(double u, double complex r) {
    double m = cabs(r);
    return isfinite(m) ? u * m : 0;
}

TU_FN bool tu_is_complex(txrt_dtype dt) { return dt == TXRT_C128 || dt == TXRT_C64; }

TU_FN double tu_max(double a, double b) { return (a >= b || isnan(a)) ? a : b; }
TU_FN double tu_min(double a, double b) { return (a <= b || isnan(a)) ? a : b; }

/* numpy's lexicographic order of complex values */
TU_FN bool tu_clt(double complex x, double complex y, bool orequal) {
    double xr = creal(x), xi = cimag(x), yr = creal(y), yi = cimag(y);
    return (xr < yr && !isnan(xi) && !isnan(yi)) || (xr == yr && (orequal ? xi <= yi : xi < yi));
}
TU_FN double complex tu_cmax(double complex a, double complex b, bool is_max) {
    if (isnan(creal(a)) || isnan(cimag(a))) return a;
    return (is_max ? tu_clt(b, a, true) : tu_clt(a, b, true)) ? a : b;
}

TU_FN rval ref_eval(rctx *c, const tx_tir_expr *e);

TU_FN rval ref_reduce(rctx *c, const tx_tir_expr *e, int k, rval acc, double *sumabs,
                       double *prodabs, long *n) {
    if (k == e->nidx) {
        rval t = ref_eval(c, e->a);
        acc.cplx = t.cplx;
        (*n)++;
        switch (e->redop) {
        case TX_RED_SUM:
            acc.v += t.v;
            acc.err += t.err;
            *sumabs += cabs(t.v) + t.err;
            break;
        case TX_RED_PROD:
            acc.v *= t.v;
            *prodabs *= cabs(t.v) + t.err;
            break;
        case TX_RED_MAX:
        case TX_RED_MIN: {
            double a = creal(acc.v), b = creal(t.v);
            if (t.cplx) {
                acc.v = tu_cmax(acc.v, t.v, e->redop == TX_RED_MAX);
                if (t.err > acc.err) acc.err = t.err;
                break;
            }
            bool take = e->redop == TX_RED_MAX ? !(a >= b || isnan(a)) : !(a <= b || isnan(a));
            if (take) acc.v = t.v;
            if (t.err > acc.err) acc.err = t.err;
            break;
        }
        }
        return acc;
    }
    int id = e->idx[k];
    const tx_tir_index *x = &c->def->indices[id];
    for (int64_t i = x->lo; i < x->lo + x->extent; i++) {
        c->ix[id] = i;
        acc = ref_reduce(c, e, k + 1, acc, sumabs, prodabs, n);
    }
    return acc;
}

TU_FN rval ref_eval(rctx *c, const tx_tir_expr *e) {
    double u = c->u;
    switch (e->kind) {
    case TX_TIR_CONST: {
        double complex v = e->re + e->im * I;
        return rv(v, u * cabs(v), e->is_complex);
    }
    case TX_TIR_INDEX:
        return rv((double)c->ix[e->index], 0, false);
    case TX_TIR_ACCESS: {
        txrt_tensor *t = tenv_get(c->env, e->var);
        if (!t) { c->bad = true; return rv(NAN, INFINITY, false); }
        int64_t off = 0, stride = 1;
        for (int ax = e->nsubs - 1; ax >= 0; ax--) {
            const tx_tir_affine *s = &e->subs[ax];
            int64_t v = s->c0;
            for (int k = 0; k < s->nterms; k++) v += s->coef[k] * c->ix[s->idx[k]];
            if (s->nterms == 0 && v < 0) v += t->shape[ax];
            if (v < 0 || v >= t->shape[ax]) { c->bad = true; return rv(NAN, INFINITY, false); }
            off += v * stride;
            stride *= t->shape[ax];
        }
        double re, im;
        txrt_get(t, off, &re, &im);
        return rv(re + im * I, 0, tu_is_complex(t->dtype));
    }
    case TX_TIR_UNARY: {
        rval a = ref_eval(c, e->a);
        double complex x = a.v, r;
        double ax = cabs(x), ea = a.err, er;
        bool cp = a.cplx;
        switch (e->op) {
        case TX_TOP_NEG: return rv(-x, ea, cp);
        case TX_TOP_CONJ: return rv(conj(x), ea, cp);
        case TX_TOP_REAL: return rv(creal(x), ea, false);
        case TX_TOP_IMAG: return rv(cimag(x), ea, false);
        case TX_TOP_ABS: return rv(ax, ea + u * ax, false);
        case TX_TOP_EXP:
            r = cp ? cexp(x) : exp(creal(x));
            return rv(r, (ea ? cabs(r) * ea : 0) + 4 * tu_ru(u, r) * (1 + (cp ? fabs(cimag(x)) : 0)), cp);
        case TX_TOP_LOG:
            r = cp ? clog(x) : log(creal(x));
            er = ea == 0 ? 0 : ax > ea ? ea / (ax - ea) : INFINITY;
            return rv(r, er + 4 * (tu_ru(u, r) + u), cp);
        case TX_TOP_SQRT:
            r = cp ? csqrt(x) : sqrt(creal(x));
            er = ea == 0 ? 0 : ax > ea ? ea / (cabs(r) + sqrt(ax - ea)) : sqrt(ea);
            return rv(r, er + 4 * tu_ru(u, r), cp);
        case TX_TOP_SIN: case TX_TOP_COS: case TX_TOP_TAN: case TX_TOP_TANH: {
            tx_tir_op op = e->op;
            if (cp) r = op == TX_TOP_SIN ? csin(x) : op == TX_TOP_COS ? ccos(x) : op == TX_TOP_TAN ? ctan(x) : ctanh(x);
            else r = op == TX_TOP_SIN ? sin(creal(x)) : op == TX_TOP_COS ? cos(creal(x)) : op == TX_TOP_TAN ? tan(creal(x)) : tanh(creal(x));
            double d = op == TX_TOP_TAN ? 1 + cabs(r) * cabs(r) : cp ? cabs(r) + 2 * cosh(cimag(x)) : 1;
            if (cp && op == TX_TOP_TANH) d = 1 + cabs(r) * cabs(r) + 2 * cosh(2 * creal(x));
            return rv(r, d * ea + 8 * (tu_ru(u, r) + u), cp);
        }
        case TX_TOP_SIGMOID:
            r = cp ? 1.0 / (1.0 + cexp(-x)) : 1.0 / (1.0 + exp(-creal(x)));
            return rv(r, (cp ? cabs(r) * cabs(r) * cabs(cexp(-x)) + 1 : 0.25) * ea + 8 * (tu_ru(u, r) + u), cp);
        case TX_TOP_RELU:
            if (cp) return rv(tu_cmax(x, 0, true), ea, cp);
            return rv(tu_max(creal(x), 0.0), ea, false);
        case TX_TOP_SIGN: case TX_TOP_FLOOR: case TX_TOP_CEIL: {
            if (cp) {
                if (ea) return rv(NAN, INFINITY, cp);
                if (e->op == TX_TOP_FLOOR) return rv(CMPLX(floor(creal(x)), floor(cimag(x))), 0, cp);
                if (e->op == TX_TOP_CEIL) return rv(CMPLX(ceil(creal(x)), ceil(cimag(x))), 0, cp);
                return rv(tu_clt(0, x, false) ? 1.0 : tu_clt(x, 0, false) ? -1.0 : x == 0 ? 0.0 : NAN, 0, cp);
            }
            double v = creal(x), lo = v - ea, hi = v + ea, f;
            if (e->op == TX_TOP_SIGN) {
                f = v > 0 ? 1.0 : v < 0 ? -1.0 : v == 0 ? 0.0 : v;
                bool stable = ea == 0 || (lo > 0) || (hi < 0);
                return rv(f, stable ? 0 : INFINITY, false);
            }
            f = e->op == TX_TOP_FLOOR ? floor(v) : ceil(v);
            bool stable = ea == 0 || (e->op == TX_TOP_FLOOR ? floor(lo) == floor(hi) : ceil(lo) == ceil(hi));
            return rv(f, stable ? 0 : INFINITY, false);
        }
        default:
            c->bad = true;
            return rv(NAN, INFINITY, cp);
        }
    }
    case TX_TIR_BINARY: {
        rval a = ref_eval(c, e->a), b = ref_eval(c, e->b);
        bool cp = a.cplx || b.cplx;
        double complex x = a.v, y = b.v, r;
        double axv = cabs(x), ayv = cabs(y), ea = a.err, eb = b.err;
        switch (e->op) {
        case TX_TOP_ADD: r = x + y; return rv(r, ea + eb + tu_ru(u, r), cp);
        case TX_TOP_SUB: r = x - y; return rv(r, ea + eb + tu_ru(u, r), cp);
        case TX_TOP_MUL:
            r = cp ? x * y : creal(x) * creal(y);
            return rv(r, axv * eb + ayv * ea + ea * eb + (cp ? 4 : 1) * u * (axv * ayv), cp);
        case TX_TOP_DIV:
            r = cp ? x / y : creal(x) / creal(y);
            if (cp && y == 0) r = CMPLX(creal(x) / fabs(creal(y)), cimag(x) / fabs(creal(y))); /* numpy */
            if (eb == 0 && ea == 0) return rv(r, (cp ? 8 : 1) * tu_ru(u, r), cp);
            if (ayv <= eb) return rv(r, INFINITY, cp);
            return rv(r, (ea + cabs(r) * eb) / (ayv - eb) + (cp ? 8 : 1) * tu_ru(u, r), cp);
        case TX_TOP_POW: {
            if (cp) { r = cpow(x, y); if (y == 0) r = 1; }
            else r = pow(creal(x), creal(y));
            double ar = cabs(r);
            if (axv == 0) return rv(r, ea + eb ? INFINITY : 0, cp);
            double er = ar * (ayv * ea / axv + fabs(log(axv)) * eb + (cp ? carg(x) * eb : 0)) +
                        (cp ? 16 : 4) * u * ar * (1 + fabs(log(axv)) * ayv);
            return rv(r, er, cp);
        }
        case TX_TOP_LT: case TX_TOP_LE: case TX_TOP_GT: case TX_TOP_GE: case TX_TOP_EQ: case TX_TOP_NE: {
            double p = creal(x), q = creal(y), f;
            switch (e->op) {
            case TX_TOP_LT: f = cp ? tu_clt(x, y, false) : p < q; break;
            case TX_TOP_LE: f = cp ? tu_clt(x, y, true) : p <= q; break;
            case TX_TOP_GT: f = cp ? tu_clt(y, x, false) : p > q; break;
            case TX_TOP_GE: f = cp ? tu_clt(y, x, true) : p >= q; break;
            case TX_TOP_EQ: f = x == y; break;
            default: f = x != y; break;
            }
            bool stable = (ea == 0 && eb == 0) || cabs(x - y) > ea + eb;
            return rv(f, stable ? 0 : INFINITY, false);
        }
        case TX_TOP_MAX2: case TX_TOP_MIN2:
            if (cp) return rv(tu_cmax(x, y, e->op == TX_TOP_MAX2), ea > eb ? ea : eb, cp);
            r = e->op == TX_TOP_MAX2 ? tu_max(creal(x), creal(y)) : tu_min(creal(x), creal(y));
            return rv(r, ea > eb ? ea : eb, false);
        default:
            c->bad = true;
            return rv(NAN, INFINITY, cp);
        }
    }
    case TX_TIR_WHERE: {
        rval k = ref_eval(c, e->a), a = ref_eval(c, e->b), b = ref_eval(c, e->c);
        bool t = k.v != 0;
        rval r = t ? a : b;
        r.cplx = a.cplx || b.cplx;
        if (k.err > 0 && cabs(k.v) <= k.err) r.err = INFINITY;
        return r;
    }
    case TX_TIR_REDUCE: {
        double id = e->redop == TX_RED_SUM ? 0 : e->redop == TX_RED_PROD ? 1
                  : e->redop == TX_RED_MAX ? -INFINITY : INFINITY;
        double sumabs = 0, prodabs = 1;
        long n = 0;
        rval acc = ref_reduce(c, e, 0, rv(id, 0, false), &sumabs, &prodabs, &n);
        if (e->redop == TX_RED_SUM) acc.err += (double)(n + 1) * u * sumabs * (acc.cplx ? 2 : 1);
        if (e->redop == TX_RED_PROD) acc.err = (prodabs - cabs(acc.v)) + (double)(n + 1) * u * prodabs * (acc.cplx ? 4 : 1);
        if (acc.err < 0) acc.err = 0;
        return acc;
    }
    default:
        c->bad = true;
        return rv(NAN, INFINITY, false);
    }
}

/* The result dtype of an expression by the language's rules (ir/check.c:
 * numpy's value-based promotion with weights 0 literal/index, 1 rank-0
 * tensor, 2 tensor). */
typedef struct tu_dty {
    txrt_dtype dt;
    int weight;
} tu_dty;

TU_FN txrt_dtype tu_make(bool cplx, bool single) {
    return cplx ? (single ? TXRT_C64 : TXRT_C128) : (single ? TXRT_F32 : TXRT_F64);
}

TU_FN bool tu_single(txrt_dtype dt) { return dt == TXRT_F32 || dt == TXRT_C64; }

TU_FN tu_dty tu_combine(tu_dty a, tu_dty b) {
    tu_dty r;
    r.weight = a.weight > b.weight ? a.weight : b.weight;
    bool cp = tu_is_complex(a.dt) || tu_is_complex(b.dt);
    if (a.weight == b.weight) r.dt = tu_make(cp, tu_single(a.dt) && tu_single(b.dt));
    else r.dt = tu_make(cp, tu_single((a.weight > b.weight ? a : b).dt));
    return r;
}

TU_FN txrt_dtype tu_real(txrt_dtype dt) { return tu_make(false, tu_single(dt)); }

TU_FN tu_dty tu_expr_dty(const tx_tir_expr *e, tenv *env) {
    tu_dty r = { TXRT_F64, 0 };
    switch (e->kind) {
    case TX_TIR_CONST:
        r.dt = (e->is_complex || e->im != 0) ? TXRT_C128 : TXRT_F64;
        return r;
    case TX_TIR_ACCESS: {
        txrt_tensor *t = tenv_get(env, e->var);
        if (t) {
            r.dt = t->dtype;
            r.weight = t->rank == 0 ? 1 : 2;
        }
        return r;
    }
    case TX_TIR_UNARY:
        r = tu_expr_dty(e->a, env);
        if (e->op == TX_TOP_ABS || e->op == TX_TOP_REAL || e->op == TX_TOP_IMAG) r.dt = tu_real(r.dt);
        return r;
    case TX_TIR_BINARY:
        r = tu_combine(tu_expr_dty(e->a, env), tu_expr_dty(e->b, env));
        if (e->op >= TX_TOP_LT && e->op <= TX_TOP_NE) r.dt = tu_real(r.dt);
        return r;
    case TX_TIR_WHERE:
        return tu_combine(tu_expr_dty(e->b, env), tu_expr_dty(e->c, env));
    case TX_TIR_REDUCE:
        return tu_expr_dty(e->a, env);
    default:
        return r;
    }
}

TU_FN txrt_dtype tu_def_dtype(const tx_tir_stmt *def, tenv *env) { return tu_expr_dty(def->rhs, env).dt; }

/* Does anything in e read a single-precision tensor? */
TU_FN bool tu_reads_single(const tx_tir_expr *e, tenv *env) {
    if (!e) return false;
    if (e->kind == TX_TIR_ACCESS) {
        txrt_tensor *t = tenv_get(env, e->var);
        return t && tu_single(t->dtype);
    }
    return tu_reads_single(e->a, env) || tu_reads_single(e->b, env) || tu_reads_single(e->c, env);
}

TU_FN bool tu_any_single(const tx_tir_stmt *def, tenv *env) { return tu_reads_single(def->rhs, env); }

/* A fresh zeroed output tensor for def (dtype dt, shape from the ranges). */
TU_FN txrt_tensor *tu_new_out(const tx_tir_stmt *def, txrt_dtype dt) {
    int64_t dims[TXRT_MAX_RANK];
    for (int k = 0; k < def->nout; k++) dims[k] = def->indices[def->out_idx[k]].extent;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    return txrt_tensor_new(&ctx, dt, def->nout, dims);
}

/* Evaluate def into values/errs (arrays of out->size) by the oracle. */
TU_FN bool ref_run(const tx_tir_stmt *def, tenv *env, double u, double complex *vals, double *errs) {
    rctx c;
    memset(&c, 0, sizeof c);
    c.def = def;
    c.env = env;
    c.u = u;
    int64_t n = 1;
    for (int k = 0; k < def->nout; k++) n *= def->indices[def->out_idx[k]].extent;
    for (int64_t flat = 0; flat < n; flat++) {
        int64_t rem = flat;
        for (int k = def->nout - 1; k >= 0; k--) {
            const tx_tir_index *x = &def->indices[def->out_idx[k]];
            c.ix[def->out_idx[k]] = x->lo + rem % x->extent;
            rem /= x->extent;
        }
        rval r = ref_eval(&c, def->rhs);
        vals[flat] = r.v;
        errs[flat] = r.err;
    }
    return !c.bad;
}

/* Compare tensor t against the oracle's values with tolerance 16*err plus
 * the rounding of t's own dtype.  Returns the number of mismatches and
 * describes the first in msg. */
TU_FN int tu_compare(const txrt_tensor *t, const double complex *vals, const double *errs, char *msg,
                      size_t msglen) {
    int bad = 0;
    double ustore = (t->dtype == TXRT_F32 || t->dtype == TXRT_C64) ? 0x1p-24 : 0x1p-53;
    for (int64_t i = 0; i < t->size; i++) {
        double re, im;
        txrt_get(t, i, &re, &im);
        double complex want = vals[i];
        if (!tu_is_complex(t->dtype)) want = creal(want);
        double e = errs[i];
        if (isinf(e)) continue; /* the oracle cannot bound this one */
        double tol = 16 * e + 2 * tu_ru(ustore, want) + 1e-300;
        bool ok;
        double parts[2][2] = { { re, creal(want) }, { im, cimag(want) } };
        ok = true;
        for (int p = 0; p < 2; p++) {
            double g = parts[p][0], w = parts[p][1];
            if (isnan(w) || isnan(g)) ok = ok && isnan(w) == isnan(g);
            else if (isinf(w) || isinf(g)) ok = ok && g == w;
            else ok = ok && fabs(g - w) <= tol;
        }
        if (!ok) {
            if (!bad)
                snprintf(msg, msglen, "element %lld: got (%.17g, %.17g) want (%.17g, %.17g) tol %.3g",
                         (long long)i, re, im, creal(want), cimag(want), tol);
            bad++;
        }
    }
    return bad;
}

#endif
