/*
 * lir_jam.c -- unroll-and-jam of the loop that walks the output rows.
 *
 * The naive nest of a contraction, out loops outermost and the reduction
 * innermost,
 *
 *     for j { acc = 0; for k { acc += A[..k] * B[k*n + j] }; C[j] = acc }
 *
 * leaves LLVM's loop vectoriser (innermost loops only) a reduction whose
 * loads stride across rows.  Unrolling the j loop by W and jamming the
 * copies into one k loop gives W independent accumulators whose loads
 * (B[k*n + j + l], l = 0..W-1) are contiguous:
 *
 *     for j/W { acc0..accW-1 = 0; for k { acc_l += A[..k] * B[k*n + W*j/W + l] }; C[..] = acc_l }
 *     for j in rest { original body }
 *
 * which the SLP vectoriser turns into vector loads and FMAs, the way gcc
 * vectorises the outer loop of such nests.  Every copy computes exactly
 * what its iteration computed (same operations, same order within each
 * accumulator), so results do not change at all.
 *
 * A loop is jammed when it is the innermost loop whose variable has
 * coefficient 1 in the kernel's only store (consecutive outputs), its body
 * holds a loop, every accumulator used in the body is initialised there
 * (private to one iteration), nothing in the body reads an output buffer,
 * and the body is small enough that W copies stay cheap to compile.  This
 * is a local, always-safe transformation; choosing loop orders and tiles
 * is the fuser's job.
 */
#include "ir/lir.h"
#include "ir/lir_sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct jam {
    tx_lir_func *f;
    int v;            /* the jammed variable */
    int u;            /* the new loop variable: v = base + W*u + l */
    int64_t w;
    int64_t base;     /* lo + l of the copy being built */
    int *accmap;      /* per accumulator: its id in the copy being built, -1 = unchanged */
} jam;

/* ---- legality ------------------------------------------------------------- */

typedef struct scan {
    const tx_lir_func *f;
    bool *inited;      /* accumulators initialised inside the body */
    bool ok;
    int nstores;
    bool has_loop;
    int nodes;
} scan;

static void scan_expr(scan *s, const tx_lir_expr *e) {
    if (!e || !s->ok) return;
    s->nodes++;
    switch (e->kind) {
    case TX_LIR_LOAD:
        if (s->f->bufs[e->buf].output) s->ok = false;
        break;
    case TX_LIR_ACC:
        if (!s->inited[e->acc]) s->ok = false;
        break;
    default:
        break;
    }
    scan_expr(s, e->a);
    scan_expr(s, e->b);
    scan_expr(s, e->c);
}

static void scan_block(scan *s, const tx_lir_block *b) {
    for (int k = 0; k < b->n && s->ok; k++) {
        const tx_lir_stmt *st = b->stmts[k];
        switch (st->kind) {
        case TX_LIR_LOOP:
            s->has_loop = true;
            scan_block(s, &st->body);
            break;
        case TX_LIR_ACC_INIT:
            s->inited[st->acc] = true;
            break;
        case TX_LIR_ACCUM:
            if (!s->inited[st->acc]) s->ok = false;
            scan_expr(s, st->value);
            break;
        case TX_LIR_STORE:
            s->nstores++;
            scan_expr(s, st->value);
            break;
        }
    }
}

static int64_t coef_of(const tx_lir_affine *a, int v) {
    for (int k = 0; k < a->nterms; k++)
        if (a->var[k] == v) return a->coef[k];
    return 0;
}

static const tx_lir_stmt *only_store(const tx_lir_block *b) {
    const tx_lir_stmt *found = NULL;
    for (int k = 0; k < b->n; k++) {
        const tx_lir_stmt *st = b->stmts[k];
        const tx_lir_stmt *s = st->kind == TX_LIR_STORE ? st : st->kind == TX_LIR_LOOP ? only_store(&st->body) : NULL;
        if (s) found = s;
    }
    return found;
}

/* Can loop l be jammed W ways? */
static bool jammable(const tx_lir_func *f, const tx_lir_stmt *l, int64_t w, int max_nodes) {
    if (l->extent < 2 * w) return false;
    scan s = { f, calloc((size_t)f->naccs + 1, sizeof(bool)), true, 0, false, 0 };
    if (!s.inited) return false;
    scan_block(&s, &l->body);
    free(s.inited);
    if (!s.ok || !s.has_loop || s.nstores != 1 || s.nodes * w > max_nodes) return false;
    const tx_lir_stmt *st = only_store(&l->body);
    return st && coef_of(&st->off, l->var) == 1;
}

/* ---- building the copies ----------------------------------------------------- */

static tx_lir_affine subst_affine(jam *J, const tx_lir_affine *a) {
    int64_t c = coef_of(a, J->v);
    if (c == 0) return *a;
    int *vars = malloc(sizeof(int) * (size_t)a->nterms);
    int64_t *coefs = malloc(sizeof(int64_t) * (size_t)a->nterms);
    for (int k = 0; k < a->nterms; k++) {
        vars[k] = a->var[k] == J->v ? J->u : a->var[k];
        coefs[k] = a->var[k] == J->v ? a->coef[k] * J->w : a->coef[k];
    }
    tx_lir_affine r = tx_lir_affine_make(J->f, a->nterms, vars, coefs, a->c0 + c * J->base);
    free(vars);
    free(coefs);
    return r;
}

static tx_lir_expr *subst_expr(jam *J, const tx_lir_expr *e) {
    if (!e) return NULL;
    tx_lir_func *f = J->f;
    switch (e->kind) {
    case TX_LIR_INDEX:
        if (e->var != J->v) return (tx_lir_expr *)e;
    {
        /* v = W*u + base, exact in double */
        tx_lir_expr *x = tx_lir_binary(f, TX_TOP_MUL, tx_lir_index(f, J->u), tx_lir_const(f, TXRT_F64, (double)J->w, 0));
        return J->base ? tx_lir_binary(f, TX_TOP_ADD, x, tx_lir_const(f, TXRT_F64, (double)J->base, 0)) : x;
    }
    case TX_LIR_LOAD:
        return tx_lir_load(f, e->buf, subst_affine(J, &e->off));
    case TX_LIR_ACC:
        return J->accmap[e->acc] >= 0 ? tx_lir_accref(f, J->accmap[e->acc]) : (tx_lir_expr *)e;
    case TX_LIR_CONST:
        return (tx_lir_expr *)e;
    default: {
        tx_lir_expr *c = TX_NEW(f->arena, tx_lir_expr);
        *c = *e;
        c->a = subst_expr(J, e->a);
        c->b = subst_expr(J, e->b);
        c->c = subst_expr(J, e->c);
        return c;
    }
    }
}

/* Emit copy `l` of a non-loop statement into out. */
static void copy_stmt(jam *J, const tx_lir_stmt *s, tx_lir_block *out) {
    tx_lir_func *f = J->f;
    switch (s->kind) {
    case TX_LIR_ACC_INIT: {
        const tx_lir_acc *a = &f->accs[s->acc];
        int n = tx_lir_add_acc(f, a->op, a->dtype);
        f->accs[n].weight = f->accs[s->acc].weight;
        J->accmap[s->acc] = n;
        tx_lir_acc_init(f, out, n);
        break;
    }
    case TX_LIR_ACCUM:
        tx_lir_accum(f, out, J->accmap[s->acc] >= 0 ? J->accmap[s->acc] : s->acc, subst_expr(J, s->value));
        break;
    case TX_LIR_STORE: {
        tx_lir_stmt *st = TX_NEW(f->arena, tx_lir_stmt);
        *st = *s;
        st->off = subst_affine(J, &s->off);
        st->value = subst_expr(J, s->value);
        tx_lir_append(f, out, st);
        break;
    }
    case TX_LIR_LOOP:
        break;
    }
}

/* Jam W copies of block b into out: each loop once, with its body jammed;
 * every other statement W times.  accmaps[l] is copy l's renaming. */
static void jam_block(jam *J, const tx_lir_block *b, tx_lir_block *out, int **accmaps, int64_t lo) {
    for (int k = 0; k < b->n; k++) {
        const tx_lir_stmt *s = b->stmts[k];
        if (s->kind == TX_LIR_LOOP) {
            tx_lir_stmt *l = tx_lir_loop(J->f, out, s->var, s->lo, s->extent);
            jam_block(J, &s->body, &l->body, accmaps, lo);
            continue;
        }
        for (int64_t c = 0; c < J->w; c++) {
            J->accmap = accmaps[c];
            J->base = lo + c;
            copy_stmt(J, s, out);
        }
    }
}

/* Find the loop to jam: the innermost qualifying one (its block and index). */
typedef struct where {
    tx_lir_block *b;
    int k;
} where;

static where find(tx_lir_func *f, tx_lir_block *b, int64_t w, int max_nodes) {
    where best = { NULL, 0 };
    for (int k = 0; k < b->n; k++) {
        tx_lir_stmt *s = b->stmts[k];
        if (s->kind != TX_LIR_LOOP) continue;
        where inner = find(f, &s->body, w, max_nodes);
        if (inner.b) return inner;
        if (!best.b && jammable(f, s, w, max_nodes)) best = (where){ b, k };
    }
    return best;
}

int tx_lir_jam(tx_lir_func *f, int width, int max_nodes) {
    if (width < 2 || tx_lir_is_generic(f)) return 0;   /* needs constant extents */
    where at = find(f, &f->body, width, max_nodes);
    if (!at.b) return 0;
    return tx_lir_jam_loop(f, at.b, at.k, width);
}

int tx_lir_jam_loop(tx_lir_func *f, tx_lir_block *b, int k, int width) {
    where at = { b, k };
    tx_lir_stmt *l = at.b->stmts[at.k];
    if (width < 2 || tx_lir_is_generic(f) || l->kind != TX_LIR_LOOP || l->extent < width) return 0;
    int64_t w = width, m = l->extent / w, rest = l->extent - m * w;
    char name[64];
    snprintf(name, sizeof name, "%s/%d", f->vars[l->var].name, width);
    jam J = { f, l->var, tx_lir_add_var(f, name), w, 0, NULL };
    int nacc0 = f->naccs;
    int **maps = malloc(sizeof(int *) * (size_t)w);
    for (int64_t c = 0; c < w; c++) {
        maps[c] = malloc(sizeof(int) * (size_t)(nacc0 + 1));
        for (int a = 0; a <= nacc0; a++) maps[c][a] = -1;
    }
    tx_lir_stmt *main = TX_NEW(f->arena, tx_lir_stmt);
    main->kind = TX_LIR_LOOP;
    main->var = J.u;
    main->lo = 0;
    main->extent = m;
    jam_block(&J, &l->body, &main->body, maps, l->lo);
    for (int64_t c = 0; c < w; c++) free(maps[c]);
    free(maps);
    /* [.., l, ..] becomes [.., main, rest, ..]; rest is l over the last values */
    at.b->stmts[at.k] = main;
    if (rest > 0) {
        tx_lir_stmt *r = TX_NEW(f->arena, tx_lir_stmt);
        *r = *l;
        r->lo = l->lo + m * w;
        r->extent = rest;
        tx_lir_append(f, at.b, r);
        for (int k = at.b->n - 1; k > at.k + 1; k--) at.b->stmts[k] = at.b->stmts[k - 1];
        at.b->stmts[at.k + 1] = r;
    }
    return 1;
}
