/*
 * fuse.c -- grouping consecutive tensor definitions and lowering a group
 * to one loop-IR kernel (see fuse.h for the roles and the rules).
 *
 * Planning a group starting at stmts[0]:
 *  1. type the stretch statement by statement with the concrete shapes
 *     (ellipsis expansion, tx_tir_infer_ranges, tx_tir_def_type), looking
 *     names up first among the stretch's own earlier results; stop at the
 *     first statement that cannot join a group (`+=`, `X = Y`, a type
 *     error, a name written twice);
 *  2. for m = that many statements down to 1: give each statement its role
 *     (liveness: read later in the stretch or by the evaluator's oracle),
 *     decide which statements run reduction-major and which expensive
 *     producers may be inlined (every use evaluates each element once),
 *     merge siblings, and lower (step 3) with as many shared row indices as
 *     possible (fewer when a read is not row-local); the first m that
 *     lowers and gains something (a tensor not stored, a shared pass, a
 *     common subexpression) is the group.
 *  3. lowering builds the kernel directly with the LIR constructors:
 *
 *       for rows { for each statement (or sibling set) in order:
 *                    plain:   for R { dest[R] = rhs }
 *                    siblings: acc rows = identity; for J { for each: for R { acc[R] op= body } };
 *                              for each: for R { dest[R] = f(acc[R]) } }
 *
 *     Every loop variable runs over positions 0..extent-1; a TIR index id
 *     maps to an affine function of loop variables (position + lo for
 *     loops, the composed subscript for an inlined producer's outputs).
 *     A reduction, and an inlined expensive value, is emitted at the
 *     outermost open loop level where all its variables are bound (inserted
 *     before the loop that leads to the current point) and cached there by
 *     a canonical key, so equal reductions are computed once per level.
 *     A value is "let-bound" in an accumulator: max with -inf initial value
 *     is exact for every real value (sum from 0 for complex ones).
 *
 * Precision follows the evaluator: values in double, an inlined value is
 * rounded to its statement's dtype (as storing it would), results rounded
 * once on store.  Moving factors out of a sum and sharing passes
 * reassociates, so fused results agree with the evaluator to rounding.
 */
#include "ir/fuse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/plan.h"

#define MAX_GROUP 12
#define MAX_TERMS 24

const char *tx_fuse_role_name(tx_fuse_role r) {
    switch (r) {
    case TX_FUSE_INLINE: return "inline";
    case TX_FUSE_ROW: return "row";
    case TX_FUSE_STORED: return "stored";
    case TX_FUSE_DEAD: return "dead";
    }
    return "?";
}

/* ---- affine maps ------------------------------------------------------------ */

/* c0 + sum k[t] * v[t]; v < 0 is a symbol (a bound index in a cache key). */
typedef struct aff {
    int n;
    int v[MAX_TERMS];
    int64_t k[MAX_TERMS];
    int64_t c0;
} aff;

static bool aff_add(aff *d, const aff *s, int64_t coef) {
    for (int t = 0; t < s->n; t++) {
        int j = 0;
        while (j < d->n && d->v[j] != s->v[t]) j++;
        if (j == d->n) {
            if (d->n == MAX_TERMS) return false;
            d->v[j] = s->v[t];
            d->k[j] = 0;
            d->n++;
        }
        int64_t m;
        if (__builtin_mul_overflow(coef, s->k[t], &m) || __builtin_add_overflow(d->k[j], m, &d->k[j]))
            return false;   /* the caller declines to fuse; the unfused path reports it */
    }
    int64_t m;
    if (__builtin_mul_overflow(coef, s->c0, &m) || __builtin_add_overflow(d->c0, m, &d->c0)) return false;
    int n = 0;
    for (int t = 0; t < d->n; t++)
        if (d->k[t] != 0) d->v[n] = d->v[t], d->k[n] = d->k[t], n++;
    d->n = n;
    return true;
}

static aff aff_var(int v, int64_t c0) {
    aff a;
    memset(&a, 0, sizeof a);
    a.n = 1;
    a.v[0] = v;
    a.k[0] = 1;
    a.c0 = c0;
    return a;
}

/* ---- group state ------------------------------------------------------------ */

typedef struct fstmt {
    tx_tir_stmt *def;           /* typed local copy */
    tx_type type;
    tx_fuse_role role;
    bool expensive;
    bool rm;                    /* reduction-major */
    tx_tir_expr *rhs;           /* rhs, peeled when rm */
    const tx_tir_expr *top;     /* rm: the reduction J */
    int first_sib;              /* first statement of its sibling set (itself if alone) */
    int buf;                    /* STORED: output buffer; ROW: scratch */
    int accbuf, acc;            /* rm: row of accumulators (R non-empty) or accumulator */
    int64_t elems;
} fstmt;

typedef struct level {
    tx_lir_block *blk;
    int insert_at;              /* -1: append; else where the next statement goes */
    int serial;
    int parent_pos;             /* for loop levels: where the loop sits in the parent */
    int parent_saved;           /* the parent's insert_at before this level opened */
    int var;                    /* the loop variable (-1 for the kernel body) */
    int64_t extent;
} level;

typedef struct centry {
    char *key;
    tx_lir_expr *val;
    int depth, serial;
} centry;

typedef struct inbuf {
    const char *name;
    int buf;
} inbuf;

typedef struct fctx {
    tx_arena *a;
    tx_lir_func *f;
    fstmt *st;
    int n;                      /* statements in the group */
    const tx_lookup *lk;
    int nrows;
    int rowvar[TXRT_MAX_RANK];
    level lv[64];
    int nlv, serial;
    int *var_level;
    int capvars;
    centry *cache;
    int ncache, capcache;
    inbuf *in;
    int nin, capin;
    int ncse;
    bool vec_reduce;            /* row_reduce allowed */
    const char *why;
} fctx;

/* Per-statement view while lowering one right-hand side. */
typedef struct xenv {
    int si;                     /* statement whose index table is used */
    int pos;                    /* names resolve to group statements before pos */
    aff *map;                   /* per index id */
    bool *has;
    const tx_tir_expr *top;     /* rm: this node reads topval */
    tx_lir_expr *topval;
    const aff *topoff;          /* accbuf offset (NULL: topval) */
} xenv;

static void *ffail(fctx *c, const char *msg) {
    if (!c->why) c->why = msg;
    return NULL;
}

/* ---- levels and emission ---------------------------------------------------- */

static void block_insert(tx_lir_func *f, tx_lir_block *b, int pos, tx_lir_stmt *s) {
    tx_lir_append(f, b, s);
    memmove(b->stmts + pos + 1, b->stmts + pos, sizeof *b->stmts * (size_t)(b->n - 1 - pos));
    b->stmts[pos] = s;
}

/* Put s at level L; returns its position. */
static int emit_at(fctx *c, int L, tx_lir_stmt *s) {
    level *l = &c->lv[L];
    if (l->insert_at < 0) {
        tx_lir_append(c->f, l->blk, s);
        return l->blk->n - 1;
    }
    int p = l->insert_at++;
    block_insert(c->f, l->blk, p, s);
    return p;
}

static void set_var_level(fctx *c, int var, int L) {
    if (var >= c->capvars) {
        int nc = c->capvars ? 2 * c->capvars : 64;
        while (nc <= var) nc *= 2;
        c->var_level = tx_arena_grow(c->a, c->var_level, (size_t)c->capvars, (size_t)nc, sizeof(int));
        for (int k = c->capvars; k < nc; k++) c->var_level[k] = -1;
        c->capvars = nc;
    }
    c->var_level[var] = L;
}

/* Open a loop over positions 0..ext-1 at the innermost level. */
static int push_loop(fctx *c, const char *name, int64_t ext) {
    if (c->nlv >= 64) return ffail(c, "loops nested too deeply"), -1;
    int var = tx_lir_add_var(c->f, name);
    tx_lir_block tmp = { 0 };
    tx_lir_stmt *s = tx_lir_loop(c->f, &tmp, var, 0, ext);
    int L = c->nlv - 1;
    int p = emit_at(c, L, s);
    level *nl = &c->lv[c->nlv];
    nl->blk = &s->body;
    nl->insert_at = -1;
    nl->serial = ++c->serial;
    nl->parent_pos = p;
    nl->parent_saved = c->lv[L].insert_at;
    nl->var = var;
    nl->extent = ext;
    c->lv[L].insert_at = p;
    set_var_level(c, var, c->nlv);
    c->nlv++;
    return var;
}

static void pop_loop(fctx *c) {
    level *l = &c->lv[c->nlv - 1];
    level *pl = &c->lv[c->nlv - 2];
    int moved = pl->insert_at - l->parent_pos;   /* statements put before the loop meanwhile */
    pl->insert_at = l->parent_saved < 0 ? -1 : l->parent_saved + moved;
    c->nlv--;
}

static void emit_acc_init(fctx *c, int L, int acc) {
    tx_lir_block tmp = { 0 };
    tx_lir_acc_init(c->f, &tmp, acc);
    emit_at(c, L, tmp.stmts[0]);
}

static void emit_accum(fctx *c, int L, int acc, tx_lir_expr *v) {
    tx_lir_block tmp = { 0 };
    tx_lir_accum(c->f, &tmp, acc, v);
    emit_at(c, L, tmp.stmts[0]);
}

static bool emit_store(fctx *c, int L, int buf, const aff *off, tx_lir_expr *v) {
    tx_lir_block tmp = { 0 };
    tx_lir_affine o = tx_lir_affine_make(c->f, off->n, off->v, off->k, off->c0);
    if (!tx_lir_store(c->f, &tmp, buf, o, v)) return ffail(c, "a complex value would be stored in a real tensor"), false;
    emit_at(c, L, tmp.stmts[0]);
    return true;
}

/* ---- small helpers ------------------------------------------------------------- */

static tx_lir_expr *widen(tx_lir_func *f, tx_lir_expr *e) {
    if (!e) return NULL;
    if (e->dtype == TXRT_F32) return tx_lir_cast(f, e, TXRT_F64);
    if (e->dtype == TXRT_C64) return tx_lir_cast(f, e, TXRT_C128);
    return e;
}

static bool expr_reads(const tx_tir_expr *e, const char *name) {
    if (!e) return false;
    if (e->kind == TX_TIR_ACCESS && strcmp(e->var, name) == 0) return true;
    return expr_reads(e->a, name) || expr_reads(e->b, name) || expr_reads(e->c, name);
}

static bool has_reduce(const tx_tir_expr *e) {
    if (!e) return false;
    if (e->kind == TX_TIR_REDUCE) return true;
    return has_reduce(e->a) || has_reduce(e->b) || has_reduce(e->c);
}

static bool is_expensive(const tx_tir_expr *e) {
    if (!e) return false;
    if (e->kind == TX_TIR_REDUCE) return true;
    if (e->kind == TX_TIR_UNARY) {
        switch (e->op) {
        case TX_TOP_EXP: case TX_TOP_LOG: case TX_TOP_SIN: case TX_TOP_COS: case TX_TOP_TAN:
        case TX_TOP_TANH: case TX_TOP_SIGMOID:
            return true;
        default: break;
        }
    }
    if (e->kind == TX_TIR_BINARY && e->op == TX_TOP_POW) return true;
    return is_expensive(e->a) || is_expensive(e->b) || is_expensive(e->c);
}

/* Whether e mentions any of the index ids ids[0..n). */
static bool uses_ids(const tx_tir_expr *e, const int *ids, int n) {
    if (!e) return false;
    if (e->kind == TX_TIR_INDEX)
        for (int k = 0; k < n; k++)
            if (e->index == ids[k]) return true;
    if (e->kind == TX_TIR_ACCESS)
        for (int ax = 0; ax < e->nsubs; ax++)
            for (int t = 0; t < e->subs[ax].nterms; t++)
                for (int k = 0; k < n; k++)
                    if (e->subs[ax].idx[t] == ids[k]) return true;
    return uses_ids(e->a, ids, n) || uses_ids(e->b, ids, n) || uses_ids(e->c, ids, n);
}

/* The group statement a read of `name` from position pos refers to, or -1. */
static int resolve(const fctx *c, const char *name, int pos) {
    for (int q = pos - 1; q >= 0; q--)
        if (strcmp(c->st[q].def->out, name) == 0) return q;
    return -1;
}

/* ---- cache keys -------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_put(sbuf *b, const char *s) {
    size_t l = strlen(s);
    if (b->n + l + 1 > b->cap) {
        size_t nc = b->cap ? 2 * b->cap : 256;
        while (nc < b->n + l + 1) nc *= 2;
        char *q = realloc(b->p, nc);
        if (!q) abort();
        b->p = q;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, l + 1);
    b->n += l;
}

static void sb_aff(sbuf *b, const aff *a) {
    char t[64];
    for (int k = 0; k < a->n; k++) {
        snprintf(t, sizeof t, "%lld%c%d,", (long long)a->k[k], a->v[k] < 0 ? 's' : 'v',
                 a->v[k] < 0 ? -a->v[k] : a->v[k]);
        sb_put(b, t);
    }
    snprintf(t, sizeof t, "%lld;", (long long)a->c0);
    sb_put(b, t);
}

/* The composed (position) affine of access subscript ax under x. */
static bool compose(fctx *c, xenv *x, const tx_tir_affine *s, int64_t dim, aff *out) {
    memset(out, 0, sizeof *out);
    int64_t k0 = s->c0;
    if (s->nterms == 0 && k0 < 0) k0 += dim;
    out->c0 = k0;
    const tx_tir_stmt *def = c->st[x->si].def;
    for (int t = 0; t < s->nterms; t++) {
        int id = s->idx[t];
        if (id < 0 || id >= def->nindices || !x->has[id]) return ffail(c, "an index is used outside its loops"), false;
        if (!aff_add(out, &x->map[id], s->coef[t])) return ffail(c, "subscript too complex"), false;
    }
    return true;
}

static int64_t dim_of(fctx *c, xenv *x, const tx_tir_expr *e, int ax);

/* Key of e under x (bound ids get symbols); *maxlv gets the deepest level
 * of a loop variable it depends on. */
static bool key_expr(fctx *c, xenv *x, const tx_tir_expr *e, sbuf *b, int *maxlv, int *nsym) {
    char t[96];
    if (!e) return ffail(c, "missing operand"), false;
    switch (e->kind) {
    case TX_TIR_CONST:
        snprintf(t, sizeof t, "c%a,%a%s", e->re, e->im, e->is_complex ? "j" : "");
        sb_put(b, t);
        return true;
    case TX_TIR_INDEX: {
        if (e->index < 0 || e->index >= c->st[x->si].def->nindices || !x->has[e->index])
            return ffail(c, "an index is used outside its loops"), false;
        sb_put(b, "I");
        const aff *m = &x->map[e->index];
        for (int k = 0; k < m->n; k++)
            if (m->v[k] >= 0 && c->var_level[m->v[k]] > *maxlv) *maxlv = c->var_level[m->v[k]];
        sb_aff(b, m);
        return true;
    }
    case TX_TIR_ACCESS: {
        int q = resolve(c, e->var, x->pos);
        snprintf(t, sizeof t, "A%s#%d[", e->var, q);
        sb_put(b, t);
        for (int ax = 0; ax < e->nsubs; ax++) {
            aff m;
            if (!compose(c, x, &e->subs[ax], dim_of(c, x, e, ax), &m)) return false;
            for (int k = 0; k < m.n; k++)
                if (m.v[k] >= 0 && c->var_level[m.v[k]] > *maxlv) *maxlv = c->var_level[m.v[k]];
            sb_aff(b, &m);
        }
        sb_put(b, "]");
        return true;
    }
    case TX_TIR_REDUCE: {
        snprintf(t, sizeof t, "R%d(", (int)e->redop);
        sb_put(b, t);
        for (int k = 0; k < e->nidx; k++) {
            int id = e->idx[k];
            if (id < 0 || id >= c->st[x->si].def->nindices) return ffail(c, "bad index"), false;
            const tx_tir_index *ix = &c->st[x->si].def->indices[id];
            snprintf(t, sizeof t, "%lld,", (long long)ix->extent);
            sb_put(b, t);
            x->map[id] = aff_var(-(++*nsym), ix->lo);
            x->has[id] = true;
        }
        bool ok = key_expr(c, x, e->a, b, maxlv, nsym);
        for (int k = 0; k < e->nidx; k++) x->has[e->idx[k]] = false;
        sb_put(b, ")");
        return ok;
    }
    default:
        snprintf(t, sizeof t, "%c%d(", "CIAUBWRS"[e->kind], (int)e->op);
        sb_put(b, t);
        if (e->a && !key_expr(c, x, e->a, b, maxlv, nsym)) return false;
        if (e->b && !key_expr(c, x, e->b, b, maxlv, nsym)) return false;
        if (e->c && !key_expr(c, x, e->c, b, maxlv, nsym)) return false;
        sb_put(b, ")");
        return true;
    }
}

static tx_lir_expr *cache_get(fctx *c, const char *key) {
    for (int k = c->ncache - 1; k >= 0; k--) {
        centry *ce = &c->cache[k];
        if (ce->depth < c->nlv && c->lv[ce->depth].serial == ce->serial && strcmp(ce->key, key) == 0) return ce->val;
    }
    return NULL;
}

static void cache_put(fctx *c, const char *key, int depth, tx_lir_expr *v) {
    TX_ARENA_RESERVE(c->a, c->cache, c->ncache, c->capcache);
    c->cache[c->ncache].key = tx_arena_strdup(c->a, key);
    c->cache[c->ncache].val = v;
    c->cache[c->ncache].depth = depth;
    c->cache[c->ncache].serial = c->lv[depth].serial;
    c->ncache++;
}

/* ---- lowering expressions ------------------------------------------------------- */

static tx_lir_expr *lower(fctx *c, xenv *x, const tx_tir_expr *e);

/* Run body at level L: levels deeper than L are set aside meanwhile. */
typedef struct saved_levels {
    level lv[64];
    int n, L;
} saved_levels;

static void hoist_begin(fctx *c, int L, saved_levels *sv) {
    sv->L = L;
    sv->n = c->nlv - (L + 1);
    memcpy(sv->lv, c->lv + L + 1, sizeof(level) * (size_t)sv->n);
    c->nlv = L + 1;
}

static void hoist_end(fctx *c, saved_levels *sv) {
    memcpy(c->lv + sv->L + 1, sv->lv, sizeof(level) * (size_t)sv->n);
    c->nlv = sv->L + 1 + sv->n;
    /* statements inserted at level L meanwhile moved its open loop down;
     * lv[L].insert_at followed it, and pop_loop accounts for the shift */
}

static int64_t dim_of(fctx *c, xenv *x, const tx_tir_expr *e, int ax) {
    int q = resolve(c, e->var, x->pos);
    if (q >= 0) return c->st[q].type.dims[ax];
    tx_varinfo vi;
    memset(&vi, 0, sizeof vi);
    if (c->lk && c->lk->get && c->lk->get(c->lk->self, e->var, &vi) && ax < vi.type.rank) return vi.type.dims[ax];
    return 0;
}

static int input_buf(fctx *c, const char *name) {
    for (int k = 0; k < c->nin; k++)
        if (strcmp(c->in[k].name, name) == 0) return c->in[k].buf;
    tx_varinfo vi;
    memset(&vi, 0, sizeof vi);
    if (!c->lk || !c->lk->get || !c->lk->get(c->lk->self, name, &vi))
        return ffail(c, tx_arena_printf(c->a, "tensor %s is not bound", name)), -1;
    const tx_type *t = &vi.type;
    if (t->dtype < 0 || t->dtype > TXRT_C64 || t->rank < 0 || t->rank > TXRT_MAX_RANK)
        return ffail(c, "unknown type"), -1;
    for (int k = 0; k < t->rank; k++)
        if (t->dims[k] < 0) return ffail(c, "unknown shape"), -1;
    /* a group output of the same name gets the plain name; the input a suffix */
    bool clash = false;
    for (int q = 0; q < c->n; q++) clash |= strcmp(c->st[q].def->out, name) == 0;
    int b = tx_lir_add_buf(c->f, clash ? tx_arena_printf(c->a, "%s'in", name) : name, (txrt_dtype)t->dtype,
                           t->rank, t->dims, false);
    TX_ARENA_RESERVE(c->a, c->in, c->nin, c->capin);
    c->in[c->nin].name = tx_arena_strdup(c->a, name);
    c->in[c->nin].buf = b;
    c->nin++;
    return b;
}

static tx_lir_expr *lower_inline(fctx *c, xenv *x, const tx_tir_expr *e, int q);

static tx_lir_expr *lower_access(fctx *c, xenv *x, const tx_tir_expr *e) {
    int q = resolve(c, e->var, x->pos);
    if (q >= 0 && c->st[q].role == TX_FUSE_INLINE) return lower_inline(c, x, e, q);
    int rank = q >= 0 ? c->st[q].type.rank : -1;
    int b;
    const tx_lir_buf *B;
    if (q >= 0) {
        if (c->st[q].role == TX_FUSE_DEAD) return ffail(c, "read of a dead statement");
        b = c->st[q].buf;
    } else {
        b = input_buf(c, e->var);
        if (b < 0) return NULL;
    }
    B = &c->f->bufs[b];
    if (q < 0) rank = B->rank;
    if (e->whole || e->nsubs == 0) {
        if (rank != 0) return ffail(c, "a tensor used as a scalar");
        if (q >= 0 && c->nrows > 0) return ffail(c, "a rank-0 group result read inside rows");
        return widen(c->f, tx_lir_load(c->f, b, tx_lir_affine_make(c->f, 0, NULL, NULL, 0)));
    }
    if (e->nsubs != rank) return ffail(c, "wrong number of subscripts");
    aff off;
    memset(&off, 0, sizeof off);
    for (int ax = 0; ax < e->nsubs; ax++) {
        aff m;
        if (!compose(c, x, &e->subs[ax], q >= 0 ? c->st[q].type.dims[ax] : B->shape[ax], &m)) return NULL;
        if (q >= 0 && ax < c->nrows) {
            /* group results are complete only up to the current row */
            if (!(m.n == 1 && m.v[0] == c->rowvar[ax] && m.k[0] == 1 && m.c0 == 0))
                return ffail(c, "a group result is read outside the current row");
            if (c->st[q].role == TX_FUSE_ROW) continue;
        }
        int64_t stride = B->strides[(q >= 0 && c->st[q].role == TX_FUSE_ROW) ? ax - c->nrows : ax];
        if (!aff_add(&off, &m, stride)) return ffail(c, "subscript too complex");
    }
    return widen(c->f, tx_lir_load(c->f, b, tx_lir_affine_make(c->f, off.n, off.v, off.k, off.c0)));
}

/* A new index environment for statement si with nothing bound. */
static xenv new_env(fctx *c, int si, int pos) {
    xenv x;
    memset(&x, 0, sizeof x);
    x.si = si;
    x.pos = pos;
    int n = c->st[si].def->nindices;
    x.map = TX_NEWN(c->a, aff, n > 0 ? n : 1);
    x.has = TX_NEWN(c->a, bool, n > 0 ? n : 1);
    return x;
}

static int deepest(fctx *c, const aff *m, int n) {
    int L = 0;
    for (int a = 0; a < n; a++)
        for (int k = 0; k < m[a].n; k++)
            if (m[a].v[k] >= 0 && c->var_level[m[a].v[k]] > L) L = c->var_level[m[a].v[k]];
    return L;
}

/* The inlined value of P = stmts[q] at the subscripts of access e. */
static tx_lir_expr *lower_inline(fctx *c, xenv *x, const tx_tir_expr *e, int q) {
    fstmt *P = &c->st[q];
    const tx_tir_stmt *pd = P->def;
    if (e->whole || e->nsubs == 0) {
        if (pd->nout != 0) return ffail(c, "a tensor used as a scalar");
    } else if (e->nsubs != pd->nout) {
        return ffail(c, "wrong number of subscripts");
    }
    aff subs[TXRT_MAX_RANK];
    for (int ax = 0; ax < pd->nout; ax++)
        if (!compose(c, x, &e->subs[ax], P->type.dims[ax], &subs[ax])) return NULL;
    xenv px = new_env(c, q, q);
    for (int ax = 0; ax < pd->nout; ax++) {
        int id = pd->out_idx[ax];
        px.map[id] = subs[ax];
        px.map[id].c0 += pd->indices[id].lo;
        px.has[id] = true;
    }
    if (!P->expensive) {
        tx_lir_expr *v = lower(c, &px, pd->rhs);
        if (!v) return NULL;
        /* storing would round to the statement's dtype */
        return widen(c->f, tx_lir_cast(c->f, v, (txrt_dtype)P->type.dtype));
    }
    sbuf kb = { 0 };
    char t[32];
    snprintf(t, sizeof t, "L%d[", q);
    sb_put(&kb, t);
    for (int ax = 0; ax < pd->nout; ax++) sb_aff(&kb, &subs[ax]);
    tx_lir_expr *hit = cache_get(c, kb.p);
    if (hit) {
        c->ncse++;
        free(kb.p);
        return hit;
    }
    int L = deepest(c, subs, pd->nout);
    saved_levels sv;
    hoist_begin(c, L, &sv);
    tx_lir_expr *v = lower(c, &px, pd->rhs);
    tx_lir_expr *r = NULL;
    if (v) {
        v = widen(c->f, tx_lir_cast(c->f, v, (txrt_dtype)P->type.dtype));
        if (v) {
            bool cplx = tx_lir_is_complex(v->dtype);
            int acc = tx_lir_add_acc(c->f, cplx ? TX_RED_SUM : TX_RED_MAX, v->dtype);
            c->f->accs[acc].weight = v->weight;
            emit_acc_init(c, L, acc);
            emit_accum(c, L, acc, v);
            r = tx_lir_accref(c->f, acc);
            cache_put(c, kb.p, L, r);
        }
    }
    hoist_end(c, &sv);
    free(kb.p);
    return r;
}

static tx_tir_op redop_binary(tx_redop r) {
    switch (r) {
    case TX_RED_SUM: return TX_TOP_ADD;
    case TX_RED_PROD: return TX_TOP_MUL;
    case TX_RED_MAX: return TX_TOP_MAX2;
    case TX_RED_MIN: return TX_TOP_MIN2;
    }
    return TX_TOP_ADD;
}

/* A copy of e with loop variable v replaced by w (NULL if e reads an
 * accumulator: not movable). */
static tx_lir_expr *subst_var(fctx *c, const tx_lir_expr *e, int v, int w) {
    if (!e) return NULL;
    tx_lir_expr *r = TX_NEW(c->a, tx_lir_expr);
    *r = *e;
    switch (e->kind) {
    case TX_LIR_ACC:
        return NULL;
    case TX_LIR_INDEX:
        if (r->var == v) r->var = w;
        return r;
    case TX_LIR_LOAD: {
        int *vars = TX_NEWN(c->a, int, e->off.nterms > 0 ? e->off.nterms : 1);
        for (int k = 0; k < e->off.nterms; k++) vars[k] = e->off.var[k] == v ? w : e->off.var[k];
        r->off.var = vars;
        return r;
    }
    default:
        break;
    }
    if (e->a && !(r->a = subst_var(c, e->a, v, w))) return NULL;
    if (e->b && !(r->b = subst_var(c, e->b, v, w))) return NULL;
    if (e->c && !(r->c = subst_var(c, e->c, v, w))) return NULL;
    return r;
}

static bool reads_group(const fctx *c, const tx_tir_expr *e, int pos) {
    if (!e) return false;
    if (e->kind == TX_TIR_ACCESS) {
        int q = resolve(c, e->var, pos);
        if (q >= 0) return true;   /* inlined, or complete only up to the current row */
    }
    return reads_group(c, e->a, pos) || reads_group(c, e->b, pos) || reads_group(c, e->c, pos);
}

/* Loads in e of a rank-2 input B[p, q] at p = v + ..., q = a + ... (v the
 * vectorised loop, a a reduction variable; a gather across v) read a
 * transposed copy made once at the start of the kernel instead, so that
 * consecutive v are consecutive in memory. */
static bool transpose_loads(fctx *c, tx_lir_expr *e, int v, const int *red, int nred) {
    if (!e) return true;
    if (e->kind == TX_LIR_LOAD) {
        const tx_lir_buf *B = &c->f->bufs[e->buf];
        if (B->output || B->rank != 2 || B->shape[0] < 2 || B->shape[1] < 2) return true;
        int64_t R = B->shape[0], C = B->shape[1];
        int kv = -1, ka = -1;
        for (int t = 0; t < e->off.nterms; t++) {
            if (e->off.var[t] == v && e->off.coef[t] == C) kv = t;
            for (int r = 0; r < nred; r++)
                if (e->off.var[t] == red[r] && e->off.coef[t] == 1) ka = t;
        }
        if (kv < 0 || ka < 0 || e->off.nterms != 2 || e->off.c0 < 0) return true;
        /* the transposed copy, shared by every load of B */
        const char *tname = tx_arena_printf(c->a, "%%T.%s", B->name);
        int tb = -1;
        for (int k = 0; k < c->f->nbufs && tb < 0; k++)
            if (strcmp(c->f->bufs[k].name, tname) == 0) tb = k;
        if (tb < 0) {
            int64_t shp[2] = { C, R };
            int src = e->buf;
            tb = tx_lir_add_buf(c->f, tname, B->dtype, 2, shp, true);
            tx_lir_block tmp = { 0 };
            int p = tx_lir_add_var(c->f, "p"), q = tx_lir_add_var(c->f, "q");
            tx_lir_stmt *lp = tx_lir_loop(c->f, &tmp, p, 0, R);
            tx_lir_stmt *lq = tx_lir_loop(c->f, &lp->body, q, 0, C);
            int vs[2] = { p, q };
            int64_t ks[2] = { C, 1 }, kt[2] = { 1, R };
            tx_lir_expr *ld = tx_lir_load(c->f, src, tx_lir_affine_make(c->f, 2, vs, ks, 0));
            tx_lir_store(c->f, &lq->body, tb, tx_lir_affine_make(c->f, 2, vs, kt, 0), ld);
            emit_at(c, 0, lp);
        }
        int64_t r0 = e->off.c0 / C, q0 = e->off.c0 % C;
        int vs[2] = { e->off.var[kv], e->off.var[ka] };
        int64_t ks[2] = { 1, R };
        e->buf = tb;
        e->off = tx_lir_affine_make(c->f, 2, vs, ks, r0 + q0 * R);
        return true;
    }
    return transpose_loads(c, e->a, v, red, nred) && transpose_loads(c, e->b, v, red, nred) &&
           transpose_loads(c, e->c, v, red, nred);
}

/* Reduction e depends on the variable v of the innermost loop L it can be
 * computed in.  When its data is small, compute it for every v at once,
 * before that loop, with its own loops outside a loop over v:
 *     for v' { s[v'] = id };  for J { for v' { s[v'] = s[v'] op body(v') } }
 * Each s[v] sees the same operations in the same order as the scalar
 * reduction, but the inner loop has independent iterations (vector code,
 * no chain of dependent additions).  Returns the value s[v], or NULL to
 * lower e as usual. */
#define ROWRED_MAX_BYTES (256 * 1024)
static tx_lir_expr *row_reduce(fctx *c, xenv *x, const tx_tir_expr *e, int L, const char *key) {
    if (L < 1 || L >= c->nlv || has_reduce(e->a) || reads_group(c, e->a, x->pos)) return NULL;
    const level lvc = c->lv[L];   /* a copy: the slot is reused below */
    const level *lv = &lvc;
    int v = lv->var;
    const tx_tir_stmt *def = c->st[x->si].def;
    double work = (double)lv->extent;
    for (int k = 0; k < e->nidx; k++) {
        const tx_tir_index *ix = &def->indices[e->idx[k]];
        if (ix->extent <= 0) return NULL;
        work *= (double)ix->extent;
    }
    if (lv->extent < 2 || work * 8 > ROWRED_MAX_BYTES) return NULL;
    saved_levels sv;
    hoist_begin(c, L - 1, &sv);
    /* loops over J first, then the inner loop over v' */
    int opened = 0;
    int mark = c->lv[L - 1].insert_at < 0 ? c->lv[L - 1].blk->n : c->lv[L - 1].insert_at;
    (void)mark;
    tx_lir_expr *body = NULL;
    int sb = -1, w = -1;
    tx_lir_stmt *init_loop = NULL;
    {
        /* the initialising loop goes first */
        tx_lir_block tmp = { 0 };
        int vi = tx_lir_add_var(c->f, c->f->vars[v].name);
        init_loop = tx_lir_loop(c->f, &tmp, vi, 0, lv->extent);
        emit_at(c, L - 1, init_loop);
        init_loop->var = vi;
    }
    bool ok = true;
    for (int k = 0; k < e->nidx && ok; k++) {
        int id = e->idx[k];
        const tx_tir_index *ix = &def->indices[id];
        int var = push_loop(c, ix->name, ix->extent);
        if (var < 0) { ok = false; break; }
        opened++;
        x->map[id] = aff_var(var, ix->lo);
        x->has[id] = true;
    }
    if (ok) {
        /* lower the body as if inside loop v (v is still bound in the maps), then rename v */
        int saved_level = c->var_level[v];
        tx_lir_expr *b0 = lower(c, x, e->a);
        c->var_level[v] = saved_level;
        w = push_loop(c, c->f->vars[v].name, lv->extent);
        body = b0 && w >= 0 ? subst_var(c, b0, v, w) : NULL;
        if (body) {
            int red[16], nred = 0;
            for (int k = 0; k < e->nidx && nred < 16; k++) red[nred++] = x->map[e->idx[k]].v[0];
            transpose_loads(c, body, w, red, nred);
        }
        if (body) {
            txrt_dtype dt = body->dtype;
            sb = tx_lir_add_buf(c->f, tx_arena_printf(c->a, "%%red%d", c->f->nbufs), dt, 1, &lv->extent, true);
            aff o = aff_var(w, 0);
            tx_lir_affine off = tx_lir_affine_make(c->f, 1, o.v, o.k, 0);
            tx_lir_expr *old = tx_lir_load(c->f, sb, off);
            tx_lir_expr *nv = tx_lir_binary(c->f, redop_binary(e->redop), old, body);
            ok = nv && emit_store(c, c->nlv - 1, sb, &o, nv);
        } else {
            ok = false;
        }
        if (w >= 0) pop_loop(c);
    }
    for (int k = 0; k < opened; k++) pop_loop(c);
    for (int k = 0; k < e->nidx; k++) x->has[e->idx[k]] = false;
    if (ok) {
        aff o = aff_var(init_loop->var, 0);
        tx_lir_block tmp = { 0 };
        tx_lir_expr *idv = tx_lir_const(c->f, c->f->bufs[sb].dtype, tx_lir_identity(e->redop), 0);
        tx_lir_store(c->f, &tmp, sb, tx_lir_affine_make(c->f, 1, o.v, o.k, 0), idv);
        tx_lir_append(c->f, &init_loop->body, tmp.stmts[0]);
    }
    hoist_end(c, &sv);
    if (!ok) {
        /* the statements emitted stay (harmless, but wasteful): give up on the group */
        return ffail(c, "cannot vectorise a reduction");
    }
    aff o = aff_var(v, 0);
    tx_lir_expr *r = tx_lir_load(c->f, sb, tx_lir_affine_make(c->f, 1, o.v, o.k, 0));
    cache_put(c, key, L, r);
    return r;
}

static tx_lir_expr *lower_reduce(fctx *c, xenv *x, const tx_tir_expr *e) {
    sbuf kb = { 0 };
    int maxlv = 0, nsym = 0;
    if (!key_expr(c, x, e, &kb, &maxlv, &nsym)) {
        free(kb.p);
        return NULL;
    }
    tx_lir_expr *hit = cache_get(c, kb.p);
    if (hit) {
        c->ncse++;
        free(kb.p);
        return hit;
    }
    const tx_tir_stmt *def = c->st[x->si].def;
    int L = maxlv;
    if (c->vec_reduce) {
        tx_lir_expr *rr = row_reduce(c, x, e, L, kb.p);
        if (rr || c->why) {
            free(kb.p);
            return rr;
        }
    }
    saved_levels sv;
    hoist_begin(c, L, &sv);
    int acc = tx_lir_add_acc(c->f, e->redop, TXRT_F64);
    emit_acc_init(c, L, acc);
    int opened = 0;
    bool ok = true;
    for (int k = 0; k < e->nidx && ok; k++) {
        int id = e->idx[k];
        const tx_tir_index *ix = &def->indices[id];
        if (ix->extent < 0) {
            ffail(c, "unknown range");
            ok = false;
            break;
        }
        int var = push_loop(c, ix->name, ix->extent);
        if (var < 0) {
            ok = false;
            break;
        }
        opened++;
        x->map[id] = aff_var(var, ix->lo);
        x->has[id] = true;
    }
    tx_lir_expr *v = ok ? lower(c, x, e->a) : NULL;
    if (v) {
        c->f->accs[acc].dtype = v->dtype;
        c->f->accs[acc].weight = v->weight;
        emit_accum(c, c->nlv - 1, acc, v);
    }
    for (int k = 0; k < opened; k++) pop_loop(c);
    for (int k = 0; k < e->nidx; k++) x->has[e->idx[k]] = false;
    hoist_end(c, &sv);
    tx_lir_expr *r = NULL;
    if (v) {
        r = tx_lir_accref(c->f, acc);
        cache_put(c, kb.p, L, r);
    }
    free(kb.p);
    return r;
}

static tx_lir_expr *index_value(fctx *c, const aff *m) {
    tx_lir_expr *r = NULL;
    for (int k = 0; k < m->n; k++) {
        tx_lir_expr *t = tx_lir_index(c->f, m->v[k]);
        if (m->k[k] != 1) t = tx_lir_binary(c->f, TX_TOP_MUL, tx_lir_const(c->f, TXRT_F64, (double)m->k[k], 0), t);
        r = r ? tx_lir_binary(c->f, TX_TOP_ADD, r, t) : t;
    }
    if (!r) return tx_lir_const(c->f, TXRT_F64, (double)m->c0, 0);
    if (m->c0 != 0) r = tx_lir_binary(c->f, TX_TOP_ADD, r, tx_lir_const(c->f, TXRT_F64, (double)m->c0, 0));
    return r;
}

static tx_lir_expr *lower(fctx *c, xenv *x, const tx_tir_expr *e) {
    if (!e) return ffail(c, "missing operand");
    if (e == x->top) return x->topval;
    tx_lir_func *f = c->f;
    tx_lir_expr *a, *b, *cc, *r;
    switch (e->kind) {
    case TX_TIR_CONST:
        return tx_lir_const_of(f, e);
    case TX_TIR_INDEX:
        if (e->index < 0 || e->index >= c->st[x->si].def->nindices || !x->has[e->index])
            return ffail(c, "an index is used outside its loops");
        return index_value(c, &x->map[e->index]);
    case TX_TIR_ACCESS:
        if (e->let_const && e->nsubs == 0) return tx_lir_const_of(f, e);
        return lower_access(c, x, e);
    case TX_TIR_UNARY:
        if (!(a = lower(c, x, e->a))) return NULL;
        if (!(r = tx_lir_unary(f, e->op, a))) return ffail(c, "operation undefined for its dtype");
        return r;
    case TX_TIR_BINARY:
        if (!(a = lower(c, x, e->a)) || !(b = lower(c, x, e->b))) return NULL;
        if (!(r = tx_lir_binary(f, e->op, a, b))) return ffail(c, "operation undefined for its dtype");
        return r;
    case TX_TIR_WHERE:
        if (!(a = lower(c, x, e->a)) || !(b = lower(c, x, e->b)) || !(cc = lower(c, x, e->c))) return NULL;
        return tx_lir_select(f, a, b, cc);
    case TX_TIR_REDUCE:
        return lower_reduce(c, x, e);
    case TX_TIR_STRING:
        return ffail(c, "a string in an expression");
    }
    return ffail(c, "unknown expression kind");
}

/* ---- statements ------------------------------------------------------------------ */

/* Bind statement si's row indices. */
static void bind_rows(fctx *c, xenv *x, int si) {
    const tx_tir_stmt *d = c->st[si].def;
    for (int q = 0; q < c->nrows; q++) {
        int id = d->out_idx[q];
        x->map[id] = aff_var(c->rowvar[q], d->indices[id].lo);
        x->has[id] = true;
    }
}

/* Open the loops of si's output indices beyond the rows; *dest gets the
 * store offset into its buffer. */
static bool open_rest(fctx *c, xenv *x, int si, int buf, bool rowbuf, aff *dest, int *opened) {
    const tx_tir_stmt *d = c->st[si].def;
    const tx_lir_buf *B = &c->f->bufs[buf];
    memset(dest, 0, sizeof *dest);
    *opened = 0;
    if (!rowbuf)
        for (int q = 0; q < c->nrows; q++) {
            aff v = aff_var(c->rowvar[q], 0);
            if (!aff_add(dest, &v, B->strides[q])) return ffail(c, "too many terms"), false;
        }
    for (int q = c->nrows; q < d->nout; q++) {
        int id = d->out_idx[q];
        int var = push_loop(c, d->indices[id].name, d->indices[id].extent);
        if (var < 0) return false;
        (*opened)++;
        x->map[id] = aff_var(var, d->indices[id].lo);
        x->has[id] = true;
        aff v = aff_var(var, 0);
        if (!aff_add(dest, &v, B->strides[rowbuf ? q - c->nrows : q])) return ffail(c, "too many terms"), false;
    }
    return true;
}

static bool dest_of(fctx *c, int si, int *buf, bool *rowbuf) {
    fstmt *s = &c->st[si];
    *buf = s->buf;
    *rowbuf = s->role == TX_FUSE_ROW;
    return s->buf >= 0;
}

static bool emit_plain(fctx *c, int si) {
    int buf;
    bool rowbuf;
    if (!dest_of(c, si, &buf, &rowbuf)) return ffail(c, "no destination"), false;
    xenv x = new_env(c, si, si);
    bind_rows(c, &x, si);
    aff dest;
    int opened;
    bool ok = open_rest(c, &x, si, buf, rowbuf, &dest, &opened);
    tx_lir_expr *v = ok ? lower(c, &x, c->st[si].rhs) : NULL;
    ok = v && emit_store(c, c->nlv - 1, buf, &dest, v);
    for (int k = 0; k < opened; k++) pop_loop(c);
    return ok;
}


/* Siblings s0..s1-1 (reduction-major, the same J): one pass over J. */
static bool emit_siblings(fctx *c, int s0, int s1) {
    const fstmt *lead = &c->st[s0];
    const tx_tir_expr *T0 = lead->top;
    int L0 = c->nlv - 1;
    /* accumulator rows and accumulators */
    for (int si = s0; si < s1; si++) {
        fstmt *s = &c->st[si];
        if (s->role == TX_FUSE_INLINE || s->role == TX_FUSE_DEAD) continue;
        if (s->accbuf >= 0) {
            const tx_lir_buf *A = &c->f->bufs[s->accbuf];
            int opened = 0;
            aff off;
            memset(&off, 0, sizeof off);
            for (int q = c->nrows; q < s->def->nout; q++) {
                int var = push_loop(c, "r", A->shape[q - c->nrows]);
                if (var < 0) return false;
                opened++;
                aff v = aff_var(var, 0);
                aff_add(&off, &v, A->strides[q - c->nrows]);
            }
            bool ok = emit_store(c, c->nlv - 1, s->accbuf, &off,
                                 tx_lir_const(c->f, A->dtype, tx_lir_identity(s->top->redop), 0));
            for (int k = 0; k < opened; k++) pop_loop(c);
            if (!ok) return false;
        } else {
            s->acc = tx_lir_add_acc(c->f, s->top->redop, TXRT_F64);
            emit_acc_init(c, L0, s->acc);
        }
    }
    /* the shared pass over J */
    int jvar[TXRT_MAX_RANK * 4];
    int nj = T0->nidx;
    for (int k = 0; k < nj; k++) {
        const tx_tir_index *ix = &lead->def->indices[T0->idx[k]];
        jvar[k] = push_loop(c, ix->name, ix->extent);
        if (jvar[k] < 0) return false;
    }
    int LJ = c->nlv - 1;
    for (int si = s0; si < s1; si++) {
        fstmt *s = &c->st[si];
        if (s->role == TX_FUSE_INLINE || s->role == TX_FUSE_DEAD) continue;
        xenv x = new_env(c, si, si);
        bind_rows(c, &x, si);
        for (int k = 0; k < nj; k++) {
            int id = s->top->idx[k];
            x.map[id] = aff_var(jvar[k], s->def->indices[id].lo);
            x.has[id] = true;
        }
        if (s->accbuf >= 0) {
            const tx_lir_buf *A = &c->f->bufs[s->accbuf];
            int opened = 0;
            aff off;
            memset(&off, 0, sizeof off);
            bool ok = true;
            for (int q = c->nrows; q < s->def->nout && ok; q++) {
                int id = s->def->out_idx[q];
                int var = push_loop(c, s->def->indices[id].name, s->def->indices[id].extent);
                if (var < 0) { ok = false; break; }
                opened++;
                x.map[id] = aff_var(var, s->def->indices[id].lo);
                x.has[id] = true;
                aff v = aff_var(var, 0);
                aff_add(&off, &v, A->strides[q - c->nrows]);
            }
            tx_lir_expr *v = ok ? lower(c, &x, s->top->a) : NULL;
            if (v) {
                tx_lir_affine o = tx_lir_affine_make(c->f, off.n, off.v, off.k, off.c0);
                tx_lir_expr *old = tx_lir_load(c->f, s->accbuf, o);
                v = tx_lir_binary(c->f, redop_binary(s->top->redop), old, v);
                ok = v && emit_store(c, c->nlv - 1, s->accbuf, &off, v);
            } else {
                ok = false;
            }
            for (int k = 0; k < opened; k++) pop_loop(c);
            if (!ok) return false;
        } else {
            tx_lir_expr *v = lower(c, &x, s->top->a);
            if (!v) return false;
            c->f->accs[s->acc].dtype = v->dtype;
            c->f->accs[s->acc].weight = v->weight;
            emit_accum(c, LJ, s->acc, v);
        }
    }
    for (int k = 0; k < nj; k++) pop_loop(c);
    /* the results, in statement order */
    for (int si = s0; si < s1; si++) {
        fstmt *s = &c->st[si];
        if (s->role == TX_FUSE_INLINE || s->role == TX_FUSE_DEAD) continue;
        int buf;
        bool rowbuf;
        if (!dest_of(c, si, &buf, &rowbuf)) return ffail(c, "no destination"), false;
        xenv x = new_env(c, si, si);
        bind_rows(c, &x, si);
        aff dest;
        int opened;
        bool ok = open_rest(c, &x, si, buf, rowbuf, &dest, &opened);
        if (ok) {
            x.top = s->top;
            if (s->accbuf >= 0) {
                const tx_lir_buf *A = &c->f->bufs[s->accbuf];
                aff off;
                memset(&off, 0, sizeof off);
                for (int q = c->nrows; q < s->def->nout; q++) {
                    aff v = x.map[s->def->out_idx[q]];
                    v.c0 = 0;
                    aff_add(&off, &v, A->strides[q - c->nrows]);
                }
                x.topval = tx_lir_load(c->f, s->accbuf, tx_lir_affine_make(c->f, off.n, off.v, off.k, off.c0));
            } else {
                x.topval = tx_lir_accref(c->f, s->acc);
            }
            tx_lir_expr *v = lower(c, &x, s->rhs);
            ok = v && emit_store(c, c->nlv - 1, buf, &dest, v);
        }
        for (int k = 0; k < opened; k++) pop_loop(c);
        if (!ok) return false;
    }
    return true;
}

/* ---- decisions ------------------------------------------------------------------- */

/* Flatten a product: factors with a divisor flag. */
typedef struct factor {
    tx_tir_expr *e;
    bool div;
} factor;

static int flatten(tx_tir_expr *e, factor *out, int n, int cap, bool div) {
    if (n < 0) return n;
    if (e->kind == TX_TIR_BINARY && e->op == TX_TOP_MUL && !div) {
        n = flatten(e->a, out, n, cap, false);
        return flatten(e->b, out, n, cap, false);
    }
    if (e->kind == TX_TIR_BINARY && e->op == TX_TOP_DIV && !div) {
        n = flatten(e->a, out, n, cap, false);
        return flatten(e->b, out, n, cap, true);
    }
    if (n >= cap) return -1;
    out[n].e = e;
    out[n].div = div;
    return n + 1;
}

static tx_tir_expr *mk_bin(tx_arena *a, tx_tir_op op, tx_tir_expr *l, tx_tir_expr *r, tx_span sp) {
    tx_tir_expr *e = TX_NEW(a, tx_tir_expr);
    e->kind = TX_TIR_BINARY;
    e->op = op;
    e->a = l;
    e->b = r;
    e->span = sp;
    return e;
}

/* sum[J](dep * inv) -> sum[J](dep) * inv: returns the new rhs (or rhs). */
static tx_tir_expr *peel(tx_arena *a, tx_tir_expr *rhs) {
    if (rhs->kind != TX_TIR_REDUCE || rhs->redop != TX_RED_SUM) return rhs;
    factor fs[32];
    int n = flatten(rhs->a, fs, 0, 32, false);
    if (n <= 1) return rhs;
    tx_tir_expr *dep = NULL, *inv = NULL;
    bool anydep = false, anyinv = false;
    for (int k = 0; k < n; k++) {
        if (uses_ids(fs[k].e, rhs->idx, rhs->nidx)) anydep = true;
        else anyinv = true;
    }
    if (!anydep || !anyinv) return rhs;
    for (int k = 0; k < n; k++) {
        bool d = uses_ids(fs[k].e, rhs->idx, rhs->nidx);
        tx_tir_expr **acc = d ? &dep : &inv;
        if (!*acc) {
            if (fs[k].div) {
                tx_tir_expr *one = TX_NEW(a, tx_tir_expr);
                one->kind = TX_TIR_CONST;
                one->re = 1;
                *acc = mk_bin(a, TX_TOP_DIV, one, fs[k].e, fs[k].e->span);
            } else {
                *acc = fs[k].e;
            }
        } else {
            *acc = mk_bin(a, fs[k].div ? TX_TOP_DIV : TX_TOP_MUL, *acc, fs[k].e, fs[k].e->span);
        }
    }
    tx_tir_expr *red = TX_NEW(a, tx_tir_expr);
    *red = *rhs;
    red->a = dep;
    /* inv may start with 1/x: sum * (1/x) -> keep as multiplication */
    return mk_bin(a, TX_TOP_MUL, red, inv, rhs->span);
}

/* The reductions of e not nested in another reduction. */
static int top_reduces(tx_tir_expr *e, tx_tir_expr **out, int n, int cap) {
    if (!e || n < 0) return n;
    if (e->kind == TX_TIR_REDUCE) {
        if (n >= cap) return -1;
        out[n] = e;
        return n + 1;
    }
    n = top_reduces(e->a, out, n, cap);
    n = top_reduces(e->b, out, n, cap);
    return top_reduces(e->c, out, n, cap);
}

/* Does e read an expensive inline candidate among stmts[0..pos)? */
static bool reads_expensive(const fctx *c, const tx_tir_expr *e, int pos) {
    if (!e) return false;
    if (e->kind == TX_TIR_ACCESS) {
        int q = resolve(c, e->var, pos);
        if (q >= 0 && c->st[q].role == TX_FUSE_INLINE && c->st[q].expensive) return true;
    }
    return reads_expensive(c, e->a, pos) || reads_expensive(c, e->b, pos) || reads_expensive(c, e->c, pos);
}

/* Every access to P (= stmts[q]) in e evaluates each element once: plain
 * distinct subscripts that cover the loops around the access (output
 * indices outside R when reduction-major, plus enclosing reductions). */
typedef struct oncectx {
    const fctx *c;
    int q, si;
    int bound[64];
    int nb;
    bool ok;
} oncectx;

static void once_walk(oncectx *o, const tx_tir_expr *e, bool in_top) {
    if (!e || !o->ok) return;
    const fstmt *s = &o->c->st[o->si];
    if (e->kind == TX_TIR_ACCESS && resolve(o->c, e->var, o->si) == o->q) {
        /* required set */
        int req[80], nr = 0;
        for (int k = 0; k < s->def->nout; k++) {
            bool in_r = k >= o->c->nrows;
            if (s->rm && in_top && in_r) continue;
            req[nr++] = s->def->out_idx[k];
        }
        for (int k = 0; k < o->nb && nr < 80; k++) req[nr++] = o->bound[k];
        if (e->nsubs != nr) { o->ok = false; return; }
        for (int ax = 0; ax < e->nsubs; ax++) {
            const tx_tir_affine *sb = &e->subs[ax];
            if (sb->nterms != 1 || sb->coef[0] != 1) { o->ok = false; return; }
            bool found = false;
            for (int k = 0; k < nr; k++) if (req[k] == sb->idx[0]) { found = true; req[k] = -2; break; }
            if (!found) { o->ok = false; return; }
        }
        return;
    }
    if (e->kind == TX_TIR_REDUCE) {
        int nb0 = o->nb;
        for (int k = 0; k < e->nidx && o->nb < 64; k++) o->bound[o->nb++] = e->idx[k];
        once_walk(o, e->a, in_top || e == s->top);
        o->nb = nb0;
        return;
    }
    once_walk(o, e->a, in_top);
    once_walk(o, e->b, in_top);
    once_walk(o, e->c, in_top);
}

static bool planner_shaped(const tx_tir_stmt *def) {
    const tx_tir_expr *e = def->rhs;
    while (e && e->kind == TX_TIR_BINARY && (e->op == TX_TOP_MUL || e->op == TX_TOP_DIV)) {
        /* look through scalar scaling on either side */
        if (e->b && !has_reduce(e->b)) e = e->a;
        else if (e->a && !has_reduce(e->a) && e->op == TX_TOP_MUL) e = e->b;
        else break;
    }
    if (!e || e->kind != TX_TIR_REDUCE || e->redop != TX_RED_SUM) return false;
    factor fs[32];
    int n = flatten((tx_tir_expr *)e->a, fs, 0, 32, false);
    int tensors = 0;
    for (int k = 0; k < n; k++)
        if (fs[k].e->kind == TX_TIR_ACCESS && fs[k].e->nsubs > 0 && !fs[k].div) tensors++;
    return tensors >= 2;
}

/* Does e hold a sum of products of two or more tensors (a contraction the
 * planner can give to BLAS) none of whose factors is an inlined expensive
 * tensor much larger than the group's inputs?  Fusing such a statement
 * trades a BLAS call for a loop nest and only pays when it avoids storing
 * a big tensor. */
static bool blas_contraction(const fctx *c, const tx_tir_expr *e, int pos, double mxin) {
    if (!e) return false;
    if (e->kind == TX_TIR_REDUCE && e->redop == TX_RED_SUM) {
        factor fs[32];
        int n = flatten((tx_tir_expr *)e->a, fs, 0, 32, false);
        int tensors = 0;
        bool big = false;
        for (int k = 0; k < n; k++) {
            const tx_tir_expr *x = fs[k].e;
            if (x->kind != TX_TIR_ACCESS || x->nsubs == 0 || fs[k].div) continue;
            tensors++;
            int q = resolve(c, x->var, pos);
            if (q >= 0 && c->st[q].role == TX_FUSE_INLINE && c->st[q].expensive && (double)c->st[q].elems >= 8 * mxin)
                big = true;
        }
        if (tensors >= 2 && !big) return true;
    }
    return blas_contraction(c, e->a, pos, mxin) || blas_contraction(c, e->b, pos, mxin) ||
           blas_contraction(c, e->c, pos, mxin);
}

static bool reads_group_role(const fctx *c, const tx_tir_expr *e, int pos, int lo, int hi) {
    if (!e) return false;
    if (e->kind == TX_TIR_ACCESS) {
        int q = resolve(c, e->var, pos);
        if (q >= lo && q < hi) return true;
    }
    return reads_group_role(c, e->a, pos, lo, hi) || reads_group_role(c, e->b, pos, lo, hi) ||
           reads_group_role(c, e->c, pos, lo, hi);
}

/* Largest input the group reads from the environment (elements). */
static double max_input(const fctx *c) {
    double mx = 1;
    for (int si = 0; si < c->n; si++) {
        const tx_tir_expr *stack[256];
        int sp = 0;
        stack[sp++] = c->st[si].def->rhs;
        while (sp > 0) {
            const tx_tir_expr *e = stack[--sp];
            if (!e) continue;
            if (e->kind == TX_TIR_ACCESS && resolve(c, e->var, si) < 0) {
                tx_varinfo vi;
                memset(&vi, 0, sizeof vi);
                if (c->lk->get(c->lk->self, e->var, &vi)) {
                    double s = 1;
                    for (int k = 0; k < vi.type.rank; k++) s *= (double)vi.type.dims[k];
                    if (s > mx) mx = s;
                }
            }
            if (sp + 3 <= 256) {
                stack[sp++] = e->a;
                stack[sp++] = e->b;
                stack[sp++] = e->c;
            }
        }
    }
    return mx;
}

/* ---- typing the stretch ------------------------------------------------------------ */

typedef struct layered {
    const tx_lookup *base;
    fstmt *st;
    int n;
} layered;

static bool layered_get(void *self, const char *var, tx_varinfo *out) {
    layered *l = self;
    for (int q = l->n - 1; q >= 0; q--)
        if (strcmp(l->st[q].def->out, var) == 0) {
            memset(out, 0, sizeof *out);
            out->type = l->st[q].type;
            return true;
        }
    return l->base && l->base->get && l->base->get(l->base->self, var, out);
}

static int type_stretch(tx_arena *a, tx_tir_stmt *const *stmts, int n, const tx_lookup *lk, fstmt *st) {
    layered ly = { lk, st, 0 };
    tx_lookup llk = { layered_get, &ly };
    tx_diags dd;
    tx_diags_init(&dd, a, NULL);
    int m = 0;
    for (; m < n && m < MAX_GROUP; m++) {
        const tx_tir_stmt *s = stmts[m];
        if (s->kind != TX_TIR_DEF || s->accumulate || !s->rhs) break;
        if (s->ellipsis && s->rhs->kind == TX_TIR_ACCESS && s->rhs->whole) break;
        bool twice = false;
        for (int q = 0; q < m; q++) twice |= strcmp(st[q].def->out, s->out) == 0;
        if (twice) break;
        const tx_tir_stmt *def = s;
        if (s->ellipsis) {
            def = tx_tir_expand_ellipsis_lk(a, s, &llk, &dd);
            if (!def || dd.nerr) break;
        }
        tx_tir_stmt *local = TX_NEW(a, tx_tir_stmt);
        *local = *def;
        local->indices = TX_NEWN(a, tx_tir_index, def->nindices + 1);
        if (def->nindices) memcpy(local->indices, def->indices, sizeof(tx_tir_index) * (size_t)def->nindices);
        for (int k = 0; k < local->nindices; k++) local->indices[k].lo = 0, local->indices[k].extent = -1;
        if (!tx_tir_infer_ranges(local, &llk, &dd) || dd.nerr) break;
        tx_type ty;
        if (!tx_tir_def_type(local, &llk, &ty, &dd) || dd.nerr) break;
        if (ty.dtype < 0 || ty.dtype > TXRT_C64 || ty.rank != local->nout || local->nout > TXRT_MAX_RANK) break;
        bool known = true;
        int64_t elems = 1;
        for (int k = 0; k < local->nindices; k++) known &= local->indices[k].extent >= 0;
        for (int k = 0; k < local->nout && known; k++) {
            ty.dims[k] = local->indices[local->out_idx[k]].extent;
            elems *= ty.dims[k];
        }
        if (!known) break;
        memset(&st[m], 0, sizeof st[m]);
        st[m].def = local;
        st[m].type = ty;
        st[m].elems = elems;
        st[m].expensive = is_expensive(local->rhs);
        st[m].rhs = local->rhs;
        st[m].buf = st[m].accbuf = st[m].acc = -1;
        ly.n = m + 1;
    }
    return m;
}

/* ---- building one group -------------------------------------------------------------- */

static bool stretch_reads_after(tx_tir_stmt *const *stmts, int n, int from, const char *name) {
    for (int k = from; k < n; k++) {
        const tx_tir_stmt *s = stmts[k];
        if (expr_reads(s->rhs, name)) return true;
        if (strcmp(s->out, name) == 0) return false;   /* redefined: the old value is gone */
    }
    return false;
}

static tx_fuse_group *try_group(tx_arena *a, tx_tir_stmt *const *stmts, int n, fstmt *typed, int m, int nrows,
                                const tx_lookup *lk, tx_fuse_live_fn live, void *livectx, const char **why) {
    fctx C;
    memset(&C, 0, sizeof C);
    fctx *c = &C;
    c->a = a;
    c->n = m;
    c->lk = lk;
    c->nrows = nrows;
    c->vec_reduce = true;
    c->st = TX_NEWN(a, fstmt, m);
    memcpy(c->st, typed, sizeof(fstmt) * (size_t)m);
    /* roles */
    for (int q = 0; q < m; q++) {
        fstmt *s = &c->st[q];
        const char *nm = s->def->out;
        bool in_group = false;
        for (int k = q + 1; k < m; k++) in_group |= expr_reads(c->st[k].def->rhs, nm);
        bool after = stretch_reads_after(stmts, n, m, nm) || !live || live(livectx, nm);
        s->role = after ? TX_FUSE_STORED : !in_group ? TX_FUSE_DEAD : TX_FUSE_INLINE;
    }
    /* a group of nothing but stored results gains nothing unless passes are shared */
    double mxin = max_input(c);
    /* reduction-major statements, and expensive candidates evaluated once
     * per element where used: demoting a candidate to ROW can change
     * both, so iterate to a fixed point */
    for (bool changed = true; changed;) {
        changed = false;
        for (int si = 0; si < m; si++) {
            fstmt *s = &c->st[si];
            s->rm = false;
            s->top = NULL;
            s->rhs = s->def->rhs;
            if (s->role == TX_FUSE_INLINE || s->role == TX_FUSE_DEAD) continue;
            tx_tir_expr *rhs = peel(a, s->def->rhs);
            tx_tir_expr *tops[16];
            int nt = top_reduces(rhs, tops, 0, 16);
            tx_tir_expr *pick = NULL;
            for (int k = 0; k < nt && !pick; k++)
                if (reads_expensive(c, tops[k]->a, si)) pick = tops[k];
            if (!pick && nt == 1 && s->def->nout == nrows) pick = tops[0];
            if (pick && pick->nidx > 0) {
                s->rm = true;
                s->top = pick;
                s->rhs = rhs;
            }
        }
        for (int q = m - 1; q >= 0 && !changed; q--) {
            fstmt *P = &c->st[q];
            /* cheap values may be recomputed; expensive ones, and cheap ones
             * that carry an inlined expensive one, must not be */
            if (P->role != TX_FUSE_INLINE || !(P->expensive || reads_expensive(c, P->def->rhs, q))) continue;
            bool ok = true;
            for (int si = q + 1; si < m && ok; si++) {
                fstmt *s = &c->st[si];
                if (!expr_reads(s->def->rhs, P->def->out)) continue;
                oncectx o = { c, q, si, { 0 }, 0, true };
                once_walk(&o, s->rhs, false);
                ok = o.ok;
            }
            if (!ok) {
                P->role = TX_FUSE_ROW;
                changed = true;
            }
        }
    }
    /* a cheap inline producer read by an expensive one's substitution is fine;
     * statements the planner does better stay out */
    for (int si = 0; si < m; si++) {
        fstmt *s = &c->st[si];
        if (!planner_shaped(s->def)) continue;
        bool big = false;
        for (int q = 0; q < si; q++)
            if (c->st[q].role == TX_FUSE_INLINE && c->st[q].expensive && expr_reads(s->def->rhs, c->st[q].def->out) &&
                (double)c->st[q].elems >= 8 * mxin)
                big = true;
        if (!big) return *why = "a contraction the planner does better", NULL;
    }
    for (int si = 0; si < m; si++) {
        fstmt *s = &c->st[si];
        /* an inlined one pays only when storing it would be the big cost */
        bool big = s->role == TX_FUSE_INLINE && (double)s->elems >= 8 * mxin;
        if (!big && blas_contraction(c, s->def->rhs, si, mxin))
            return *why = "a contraction the planner does better", NULL;
    }
    /* rows: the leading output extents every emitted statement shares */
    for (int si = 0; si < m; si++) {
        fstmt *s = &c->st[si];
        if (s->role == TX_FUSE_INLINE || s->role == TX_FUSE_DEAD) continue;
        if (s->def->nout < nrows) return *why = "fewer output indices than rows", NULL;
    }
    int64_t rowext[TXRT_MAX_RANK];
    int first = -1;
    for (int si = 0; si < m; si++) {
        fstmt *s = &c->st[si];
        if (s->role == TX_FUSE_INLINE || s->role == TX_FUSE_DEAD) continue;
        if (first < 0) {
            first = si;
            for (int q = 0; q < nrows; q++) rowext[q] = s->type.dims[q];
        } else {
            for (int q = 0; q < nrows; q++)
                if (s->type.dims[q] != rowext[q]) return *why = "row extents differ", NULL;
        }
    }
    if (first < 0) return *why = "nothing to store", NULL;
    /* row storage without shared rows is plain materialisation: nothing gained */
    for (int si = 0; si < m; si++)
        if (c->st[si].role == TX_FUSE_ROW && nrows == 0) return *why = "a temporary would be stored whole", NULL;
    bool stored_any = false;
    for (int si = 0; si < m; si++) stored_any |= c->st[si].role == TX_FUSE_STORED;
    if (!stored_any) return *why = "no result is read afterwards", NULL;
    /* siblings: consecutive reduction-major statements over the same J whose
     * bodies do not read each other */
    int nmerged = 0;
    int prev = -1;
    for (int si = 0; si < m; si++) {
        fstmt *s = &c->st[si];
        s->first_sib = si;
        if (s->role == TX_FUSE_INLINE || s->role == TX_FUSE_DEAD) continue;
        if (prev >= 0 && c->st[prev].rm && s->rm) {
            fstmt *p0 = &c->st[c->st[prev].first_sib];
            bool same = p0->top->nidx == s->top->nidx;
            for (int k = 0; same && k < s->top->nidx; k++)
                same = p0->def->indices[p0->top->idx[k]].extent == s->def->indices[s->top->idx[k]].extent;
            if (same && !reads_group_role(c, s->top->a, si, c->st[prev].first_sib, si)) {
                s->first_sib = c->st[prev].first_sib;
                nmerged++;
            }
        }
        prev = si;
    }
    /* gain: something not stored, or a shared pass, or (alone) common subexpressions */
    bool gain = nmerged > 0;
    for (int si = 0; si < m; si++) gain |= c->st[si].role != TX_FUSE_STORED;
    if (!gain && m > 1) return *why = "nothing to gain", NULL;

    /* ---- the kernel ---- */
    c->f = tx_lir_func_new(a, c->st[m - 1].def->out);
    tx_lir_func *f = c->f;
    c->nlv = 1;
    c->lv[0].blk = &f->body;
    c->lv[0].insert_at = -1;
    c->lv[0].serial = ++c->serial;
    c->lv[0].var = -1;
    set_var_level(c, 0, -1);
    for (int si = 0; si < m; si++) {
        fstmt *s = &c->st[si];
        if (s->role == TX_FUSE_STORED)
            s->buf = tx_lir_add_buf(f, s->def->out, (txrt_dtype)s->type.dtype, s->type.rank, s->type.dims, true);
    }
    for (int si = 0; si < m; si++) {
        fstmt *s = &c->st[si];
        if (s->role == TX_FUSE_ROW)
            s->buf = tx_lir_add_buf(f, tx_arena_printf(a, "%%row.%s", s->def->out), (txrt_dtype)s->type.dtype,
                                    s->type.rank - nrows, s->type.dims + nrows, true);
        if (s->rm && (s->role == TX_FUSE_ROW || s->role == TX_FUSE_STORED) && s->def->nout > nrows) {
            txrt_dtype adt = tx_lir_is_complex((txrt_dtype)s->type.dtype) ? TXRT_C128 : TXRT_F64;
            int64_t shp[TXRT_MAX_RANK];
            for (int q = nrows; q < s->def->nout; q++) shp[q - nrows] = s->type.dims[q];
            s->accbuf = tx_lir_add_buf(f, tx_arena_printf(a, "%%acc.%s", s->def->out), adt, s->def->nout - nrows,
                                       shp, true);
        }
    }
    for (int q = 0; q < nrows; q++) c->rowvar[q] = push_loop(c, c->st[first].def->indices[c->st[first].def->out_idx[q]].name,
                                                          rowext[q]);
    bool ok = !c->why;
    for (int si = 0; si < m && ok;) {
        fstmt *s = &c->st[si];
        if (s->role == TX_FUSE_INLINE || s->role == TX_FUSE_DEAD) {
            si++;
            continue;
        }
        if (s->rm) {
            int e = si + 1;
            for (int k = si + 1; k < m; k++)
                if (c->st[k].first_sib == si && c->st[k].role != TX_FUSE_INLINE && c->st[k].role != TX_FUSE_DEAD)
                    e = k + 1;
            ok = emit_siblings(c, si, e);
            si = e;
        } else {
            ok = emit_plain(c, si);
            si++;
        }
    }
    for (int q = 0; q < nrows; q++) pop_loop(c);
    if (!ok) return *why = c->why ? c->why : "cannot lower the group", NULL;
    if (m == 1 && c->ncse == 0) return *why = "a single statement with nothing to share", NULL;
    const char *vwhy = NULL;
    if (!tx_lir_verify(f, &vwhy)) return *why = tx_arena_printf(a, "invalid fused kernel: %s", vwhy), NULL;

    tx_fuse_group *g = TX_NEW(a, tx_fuse_group);
    g->nstmts = m;
    g->role = TX_NEWN(a, tx_fuse_role, m);
    g->reduction_major = TX_NEWN(a, bool, m);
    g->unbind = TX_NEWN(a, const char *, m);
    for (int si = 0; si < m; si++) {
        g->role[si] = c->st[si].role;
        g->reduction_major[si] = c->st[si].rm;
        if (c->st[si].role != TX_FUSE_STORED) g->unbind[g->nunbind++] = c->st[si].def->out;
    }
    g->nrows = nrows;
    g->nmerged = nmerged;
    g->ncse = c->ncse;
    g->kernel = f;
    g->buf_kind = TX_NEWN(a, tx_fuse_buf_kind, f->nbufs);
    g->buf_var = TX_NEWN(a, const char *, f->nbufs);
    for (int b = 0; b < f->nbufs; b++) g->buf_kind[b] = TX_FUSE_BUF_SCRATCH;
    for (int si = 0; si < m; si++)
        if (c->st[si].role == TX_FUSE_STORED) {
            g->buf_kind[c->st[si].buf] = TX_FUSE_BUF_OUTPUT;
            g->buf_var[c->st[si].buf] = c->st[si].def->out;
        }
    for (int k = 0; k < c->nin; k++) {
        g->buf_kind[c->in[k].buf] = TX_FUSE_BUF_INPUT;
        g->buf_var[c->in[k].buf] = c->in[k].name;
    }
    for (int b = 0; b < f->nbufs; b++) f->bufs[b].scratch = g->buf_kind[b] == TX_FUSE_BUF_SCRATCH;
    return g;
}

/* The longest group at the start of the typed stretch (mt statements). */
static tx_fuse_group *best_group(tx_arena *a, tx_tir_stmt *const *stmts, int n, fstmt *typed, int mt,
                                 const tx_lookup *lk, tx_fuse_live_fn live, void *livectx, const char **why) {
    for (int m = mt; m >= 1; m--) {
        int maxrows = TXRT_MAX_RANK;
        for (int q = 0; q < m; q++)
            if (typed[q].def->nout < maxrows) maxrows = typed[q].def->nout;
        /* inline statements do not constrain rows: try the deepest that works */
        for (int r = maxrows; r >= 0; r--) {
            const char *w = NULL;
            tx_fuse_group *g = try_group(a, stmts, n, typed, m, r, lk, live, livectx, &w);
            if (g) {
                g->ntaken = g->nstmts;
                return g;
            }
            if (w) *why = w;
        }
    }
    return NULL;
}

/* ---- splitting a nested reduction off a statement (tx_fuse_plan) --------------------- */

typedef struct parts {
    tx_tir_stmt *part, *rest;
    int *part_old, *rest_old;   /* per index id of the part / the rest: the statement's id */
} parts;

static void mark_ids(const tx_tir_expr *e, bool *used, bool *bound) {
    if (!e) return;
    if (e->kind == TX_TIR_INDEX) used[e->index] = true;
    if (e->kind == TX_TIR_ACCESS)
        for (int k = 0; k < e->nsubs; k++)
            for (int t = 0; t < e->subs[k].nterms; t++) used[e->subs[k].idx[t]] = true;
    if (e->kind == TX_TIR_REDUCE)
        for (int k = 0; k < e->nidx; k++) bound[e->idx[k]] = true;
    mark_ids(e->a, used, bound);
    mark_ids(e->b, used, bound);
    mark_ids(e->c, used, bound);
}

/* The outermost reduction in e, under reductions binding the ids in
 * `around`, that reads none of some id in `around` (so it has the same
 * value all along that loop); NULL if none. */
static const tx_tir_expr *invariant_reduce(const tx_tir_expr *e, bool *around, int nids, tx_arena *a) {
    if (!e) return NULL;
    if (e->kind == TX_TIR_REDUCE) {
        bool *used = TX_NEWN(a, bool, nids), *bound = TX_NEWN(a, bool, nids);
        mark_ids(e, used, bound);
        for (int x = 0; x < nids; x++)
            if (around[x] && !used[x]) return e;
        for (int k = 0; k < e->nidx; k++) around[e->idx[k]] = true;
        const tx_tir_expr *r = invariant_reduce(e->a, around, nids, a);
        for (int k = 0; k < e->nidx; k++) around[e->idx[k]] = false;
        return r;
    }
    const tx_tir_expr *r = invariant_reduce(e->a, around, nids, a);
    if (!r) r = invariant_reduce(e->b, around, nids, a);
    if (!r) r = invariant_reduce(e->c, around, nids, a);
    return r;
}

/* A DEF out[first nout of ids] = rhs over the statement s's indices ids
 * (renumbered in that order, ranges to be inferred); *old gets the map
 * back to s's ids. */
static tx_tir_stmt *sub_def(tx_arena *a, const tx_tir_stmt *s, const char *out, tx_span out_span, const int *ids,
                            int nids, int nout, const tx_tir_expr *rhs, int **old) {
    int *map = TX_NEWN(a, int, s->nindices + 1);
    for (int k = 0; k < s->nindices; k++) map[k] = -1;
    tx_tir_stmt *d = TX_NEW(a, tx_tir_stmt);
    *d = *s;
    d->out = out;
    d->out_span = out_span;
    d->nout = nout;
    d->out_idx = TX_NEWN(a, int, nout + 1);
    d->nindices = nids;
    d->indices = TX_NEWN(a, tx_tir_index, nids + 1);
    *old = TX_NEWN(a, int, nids + 1);
    for (int k = 0; k < nids; k++) {
        map[ids[k]] = k;
        (*old)[k] = ids[k];
        d->indices[k] = s->indices[ids[k]];
        d->indices[k].lo = 0;
        d->indices[k].extent = -1;
        if (k < nout) d->out_idx[k] = k;
    }
    d->rhs = tx_tir_clone_map(a, rhs, map);
    return d;
}

/* Split s (see tx_fuse_plan) into part and rest, in how->stmts. */
static bool split_stmt(const tx_fuse_split *how, const tx_tir_stmt *s, parts *sp) {
    tx_arena *a = how->stmts;
    if (s->kind != TX_TIR_DEF || s->accumulate || s->ellipsis || !s->rhs || s->nindices <= 0) return false;
    int n = s->nindices;
    bool *around = TX_NEWN(a, bool, n);
    const tx_tir_expr *r = invariant_reduce(s->rhs, around, n, a);
    if (!r) return false;
    bool *used = TX_NEWN(a, bool, n), *bound = TX_NEWN(a, bool, n);
    mark_ids(r, used, bound);
    int *ids = TX_NEWN(a, int, n), nfree = 0, nids = 0;
    for (int x = 0; x < n; x++)
        if (used[x] && !bound[x]) ids[nids++] = x;
    nfree = nids;
    if (nfree == 0) return false;   /* a scalar: nothing rows could share */
    for (int x = 0; x < n; x++)
        if (bound[x]) ids[nids++] = x;
    const char *name = how->intern(how->ctx, tx_arena_printf(a, "%%%s.h", s->out + (s->out[0] == '%')));
    if (!name) return false;
    sp->part = sub_def(a, s, name, r->span, ids, nids, nfree, r, &sp->part_old);
    /* the rest reads the part where r stood */
    tx_tir_expr *acc = tx_tir_access(a, name, ids, nfree, r->span);
    tx_tir_expr *rhs = tx_tir_replace(a, s->rhs, r, acc);
    bool *rused = TX_NEWN(a, bool, n), *rbound = TX_NEWN(a, bool, n);
    mark_ids(rhs, rused, rbound);
    int *rids = TX_NEWN(a, int, n), nr = 0;
    for (int k = 0; k < s->nout; k++) rids[nr++] = s->out_idx[k];
    for (int x = 0; x < n; x++) {
        bool out = false;
        for (int k = 0; k < s->nout; k++) out |= s->out_idx[k] == x;
        if (!out && (rused[x] || rbound[x])) rids[nr++] = x;
    }
    sp->rest = sub_def(a, s, s->out, s->out_span, rids, nr, s->nout, rhs, &sp->rest_old);
    return true;
}

/* Did typing give the split part t (index ids mapped by old) the ranges
 * the whole statement w had? */
static bool same_ranges(const fstmt *t, const int *old, const fstmt *w) {
    for (int k = 0; k < t->def->nindices; k++) {
        const tx_tir_index *x = &t->def->indices[k], *y = &w->def->indices[old[k]];
        if (x->lo != y->lo || x->extent != y->extent) return false;
    }
    return true;
}

tx_fuse_group *tx_fuse_plan(tx_arena *a, const tx_fuse_split *split, tx_tir_stmt *const *stmts, int n,
                            const tx_lookup *lk, tx_fuse_live_fn live, void *livectx, const char **why) {
    const char *dummy;
    if (!why) why = &dummy;
    *why = "nothing to fuse";
    if (n <= 0) return NULL;
    fstmt typed[MAX_GROUP];
    int mt = type_stretch(a, stmts, n, lk, typed);
    if (mt == 0) return *why = "the first statement cannot be fused", NULL;
    tx_fuse_group *g = best_group(a, stmts, n, typed, mt, lk, live, livectx, why);
    int m0 = g ? g->nstmts : 0;
    if (!split || !g || m0 >= mt || m0 + 2 > MAX_GROUP) return g;
    /* the group ends at stmts[m0]: split a reduction off it, and keep the
     * split if the group then takes that part */
    parts sp;
    if (!split_stmt(split, stmts[m0], &sp)) return g;
    tx_tir_stmt **ex = TX_NEWN(a, tx_tir_stmt *, n + 1);
    for (int k = 0; k < m0; k++) ex[k] = stmts[k];
    ex[m0] = sp.part;
    ex[m0 + 1] = sp.rest;
    for (int k = m0 + 1; k < n; k++) ex[k + 1] = stmts[k];
    fstmt typed2[MAX_GROUP];
    int mt2 = type_stretch(a, ex, n + 1, lk, typed2);
    if (mt2 < m0 + 2 || !same_ranges(&typed2[m0], sp.part_old, &typed[m0]) ||
        !same_ranges(&typed2[m0 + 1], sp.rest_old, &typed[m0]) ||
        (typed2[m0].type.dtype != TXRT_F64 && typed2[m0].type.dtype != TXRT_C128))
        return g;
    const char *why2 = NULL;
    tx_fuse_group *g2 = best_group(a, ex, n + 1, typed2, mt2, lk, live, livectx, &why2);
    if (!g2 || g2->nstmts <= m0) return g;
    if (g2->nstmts == m0 + 1) {
        g2->ntaken = m0;
        g2->rest = sp.rest;
        g2->rest_temp = sp.part->out;
    } else {
        g2->ntaken = g2->nstmts - 1;   /* both parts: the whole statement */
    }
    return g2;
}
