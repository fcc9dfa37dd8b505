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
 *
 * The same copying serves two reductions whose iterations do share
 * state (further down): tx_lir_interleave gives each copy its own partial
 * sums (scalars and short scratch rows, added up after the loop), and
 * tx_lir_jam_rows also gives each copy private copies of the scratch rows
 * the body fills before reading them.  Those reassociate sums, as a
 * vectorised reduction does.
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
    int *bufmap;      /* NULL, or per buffer: the buffer the copy being built uses instead */
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

typedef struct range_t {
    int64_t lo, hi;
} range_t;

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
        return tx_lir_load(f, J->bufmap ? J->bufmap[e->buf] : e->buf, subst_affine(J, &e->off));
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
        if (J->bufmap) st->buf = J->bufmap[s->buf];
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
 * every other statement W times.  accmaps[l] is copy l's renaming of
 * accumulators, bufmaps[l] (bufmaps may be NULL) its renaming of buffers. */
static void jam_block(jam *J, const tx_lir_block *b, tx_lir_block *out, int **accmaps, int **bufmaps,
                      int64_t lo) {
    for (int k = 0; k < b->n; k++) {
        const tx_lir_stmt *s = b->stmts[k];
        if (s->kind == TX_LIR_LOOP) {
            tx_lir_stmt *l = tx_lir_loop(J->f, out, s->var, s->lo, s->extent);
            jam_block(J, &s->body, &l->body, accmaps, bufmaps, lo);
            continue;
        }
        for (int64_t c = 0; c < J->w; c++) {
            J->accmap = accmaps[c];
            J->bufmap = bufmaps ? bufmaps[c] : NULL;
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

/* Replace loop b->stmts[k] by its W-way jammed form and the loop over the
 * remaining iterations: [.., main, rest, ..].  accmaps/bufmaps: per copy,
 * renamings to start from (entries -1: the accumulator is the original;
 * bufmaps may be NULL); accumulators initialised in the body get fresh
 * ids in each copy. */
static bool jam_at(tx_lir_func *f, tx_lir_block *b, int k, int64_t w, int **accmaps, int **bufmaps) {
    tx_lir_stmt *l = b->stmts[k];
    int64_t m = l->extent / w, rest = l->extent - m * w;
    char name[64];
    snprintf(name, sizeof name, "%s/%d", f->vars[l->var].name, (int)w);
    jam J = { f, l->var, tx_lir_add_var(f, name), w, 0, NULL, NULL };
    tx_lir_stmt *main = TX_NEW(f->arena, tx_lir_stmt);
    main->kind = TX_LIR_LOOP;
    main->var = J.u;
    main->lo = 0;
    main->extent = m;
    jam_block(&J, &l->body, &main->body, accmaps, bufmaps, l->lo);
    b->stmts[k] = main;
    if (rest > 0) {
        tx_lir_stmt *r = TX_NEW(f->arena, tx_lir_stmt);
        *r = *l;
        r->lo = l->lo + m * w;
        r->extent = rest;
        tx_lir_insert(f, b, k + 1, r);
    }
    return rest > 0;
}

static int **new_maps(int64_t w, int n) {
    int **maps = malloc(sizeof(int *) * (size_t)w);
    if (!maps) return NULL;
    for (int64_t c = 0; c < w; c++) {
        maps[c] = malloc(sizeof(int) * (size_t)(n + 1));
        if (!maps[c]) {
            while (c-- > 0) free(maps[c]);
            free(maps);
            return NULL;
        }
        for (int a = 0; a <= n; a++) maps[c][a] = -1;
    }
    return maps;
}

static void free_maps(int **maps, int64_t w) {
    if (!maps) return;
    for (int64_t c = 0; c < w; c++) free(maps[c]);
    free(maps);
}

int tx_lir_jam_loop(tx_lir_func *f, tx_lir_block *b, int k, int width) {
    tx_lir_stmt *l = b->stmts[k];
    if (width < 2 || tx_lir_is_generic(f) || l->kind != TX_LIR_LOOP || l->extent < width) return 0;
    int **maps = new_maps(width, f->naccs);
    if (!maps) return 0;
    jam_at(f, b, k, width, maps, NULL);
    free_maps(maps, width);
    return 1;
}

/* ---- interleaved partial sums ------------------------------------------------
 *
 * A reduction loop that is not innermost, whose every iteration adds into
 * the same accumulators and the same short row of a scratch buffer,
 *
 *     for k { v = exp(..k..); s += v; for b { R[b] = R[b] + v * V[k,b] } }
 *
 * is a chain of dependent adds: each iteration's vector FMA into R waits
 * for the previous one (4 cycles), and LLVM vectorises neither loop across
 * it.  Unrolling k by W with W sets of partial sums (s_c, R_c) and adding
 * them up after the loop gives W independent chains:
 *
 *     s_1.. = 0; R_1.. = 0
 *     for k/W { v_c = ..; s_c += v_c; for b { R_c[b] = R_c[b] + v_c * V[W*k'+c, b] } }
 *     for k in rest { original body }
 *     s += s_1 + ..; for b in window { R[b] = R[b] + R_1[b] + .. }
 *
 * This reassociates the sums (as vectorising a reduction does, and as the
 * fuser's shared passes do); max and min stay exact.  It applies when at
 * least one scratch row is accumulated (a loop of scalar sums alone is a
 * contraction nest, which the register tiles handle better), and when the
 * body's only writes are such accumulations: accumulators initialised
 * outside the loop and never read in it, and stores R[o] = R[o] + e into a
 * scratch or local buffer that the loop reads nowhere else, at offsets
 * that depend only on variables of loops inside the body and span at most
 * INTERLEAVE_ROW_BYTES, and when the loops inside run at most
 * INTERLEAVE_TRIPS iterations (longer rows and loops are vector loops of
 * their own, whose lanes are independent chains already). */

/* The name of copy c of buffer `name`: "%name.c" for a jammed iteration's
 * private copy, "%name'c" for a set of partial sums; a further ".2", ".3"
 * if that is taken, so that printed kernels never show two buffers as one. */
static const char *copy_name(tx_lir_func *f, const char *name, char sep, int c) {
    const char *base = tx_arena_printf(f->arena, "%%%s%c%d", name + (name[0] == '%'), sep, c), *cand = base;
    for (int n = 2;; n++) {
        bool taken = false;
        for (int b = 0; b < f->nbufs && !taken; b++) taken = strcmp(f->bufs[b].name, cand) == 0;
        if (!taken) return cand;
        cand = tx_arena_printf(f->arena, "%s.%d", base, n);
    }
}

#define INTERLEAVE_ROW_BYTES 256
#define INTERLEAVE_TRIPS 64     /* a body with longer inner loops has work enough per iteration */
#define JAM_ROWS_TRIPS 4096     /* tx_lir_jam_rows: inner nests of a fused row's loop */

typedef struct ilv {
    const tx_lir_func *f;
    int loopvar;
    bool *inited;     /* accumulators initialised in the body */
    bool *outer;      /* accumulated in the body, initialised outside */
    bool *bound;      /* variables of loops inside the body */
    bool *row;        /* buffers accumulated into */
    int64_t *lo, *hi; /* per row: the window of offsets */
    range_t *ranges;
    bool ok;
    int nodes;
    int64_t trips;    /* most iterations of the loops inside the body, along one nest */
    int64_t max_trips;
    bool privatise;   /* scratch written plainly in the body gets a copy per jammed iteration */
    bool *priv;       /* such buffers */
} ilv;

static void ilv_bind(ilv *v, const tx_lir_block *b, int64_t trips) {
    if (trips > v->trips) v->trips = trips;
    for (int k = 0; k < b->n; k++)
        if (b->stmts[k]->kind == TX_LIR_LOOP) {
            const tx_lir_stmt *s = b->stmts[k];
            v->bound[s->var] = true;
            v->ranges[s->var].lo = s->lo;
            v->ranges[s->var].hi = s->lo + s->extent - 1;
            /* trips <= max_trips here, so the product cannot overflow */
            if (s->extent <= 0 || s->parallel || s->sym_extent.n > 0 || s->extent > v->max_trips ||
                trips * s->extent > v->max_trips) {
                v->ok = false;
                return;
            }
            ilv_bind(v, &s->body, trips * s->extent);
        }
}

static void ilv_expr(ilv *v, const tx_lir_expr *e) {
    if (!e || !v->ok) return;
    v->nodes++;
    if (e->kind == TX_LIR_ACC && !v->inited[e->acc]) v->ok = false;
    if (e->kind == TX_LIR_LOAD && v->row[e->buf]) v->ok = false;
    ilv_expr(v, e->a);
    ilv_expr(v, e->b);
    ilv_expr(v, e->c);
}

/* First pass: initialised accumulators and rows with their windows. */
static void ilv_writes(ilv *v, const tx_lir_block *b) {
    for (int k = 0; k < b->n && v->ok; k++) {
        const tx_lir_stmt *st = b->stmts[k];
        const tx_lir_expr *e;
        switch (st->kind) {
        case TX_LIR_LOOP:
            ilv_writes(v, &st->body);
            break;
        case TX_LIR_ACC_INIT:
            v->inited[st->acc] = true;
            break;
        case TX_LIR_ACCUM:
            break;
        case TX_LIR_STORE: {
            if (v->privatise && (v->f->bufs[st->buf].scratch || v->f->bufs[st->buf].local) &&
                !tx_lir_row_update(v->f, st, &e)) {
                v->priv[st->buf] = true;
                break;
            }
            if (!tx_lir_row_update(v->f, st, &e)) {
                v->ok = false;
                break;
            }
            int64_t lo = st->off.c0, hi = st->off.c0;
            for (int t = 0; t < st->off.nterms; t++) {
                int x = st->off.var[t];
                if (x < 0 || !v->bound[x]) {
                    v->ok = false;
                    break;
                }
                int64_t p = st->off.coef[t] * v->ranges[x].lo, q = st->off.coef[t] * v->ranges[x].hi;
                lo += p < q ? p : q;
                hi += p < q ? q : p;
            }
            if (!v->row[st->buf]) {
                v->row[st->buf] = true;
                v->lo[st->buf] = lo;
                v->hi[st->buf] = hi;
            } else {
                if (lo < v->lo[st->buf]) v->lo[st->buf] = lo;
                if (hi > v->hi[st->buf]) v->hi[st->buf] = hi;
            }
            break;
        }
        }
    }
}

/* Second pass: reads and accumulations. */
static void ilv_reads(ilv *v, const tx_lir_block *b) {
    for (int k = 0; k < b->n && v->ok; k++) {
        const tx_lir_stmt *st = b->stmts[k];
        const tx_lir_expr *e = NULL;
        switch (st->kind) {
        case TX_LIR_LOOP:
            ilv_reads(v, &st->body);
            break;
        case TX_LIR_ACC_INIT:
            break;
        case TX_LIR_ACCUM:
            if (!v->inited[st->acc]) {
                if (tx_lir_is_complex(v->f->accs[st->acc].dtype)) v->ok = false;
                v->outer[st->acc] = true;
            }
            ilv_expr(v, st->value);
            break;
        case TX_LIR_STORE:
            if (v->priv[st->buf]) {
                ilv_expr(v, st->value);
                break;
            }
            tx_lir_row_update(v->f, st, &e);
            v->nodes += 2;
            ilv_expr(v, e);
            break;
        }
    }
}

/* ---- private scratch (ilv.privatise) ---- */

static bool block_loads(const tx_lir_block *b, int buf, const tx_lir_stmt *skip) {
    for (int k = 0; k < b->n; k++) {
        const tx_lir_stmt *s = b->stmts[k];
        if (s == skip) continue;
        if (s->kind == TX_LIR_LOOP ? block_loads(&s->body, buf, skip) : tx_lir_expr_loads(s->value, buf)) return true;
    }
    return false;
}

/* Does statement s (a loop nest or a store) overwrite all of buffer x
 * with plain stores (one store at the bottom of a perfect nest in s that
 * covers every element once, tx_lir_store_covers) and read none of it?
 * vars/lo/ext: the loops of s entered so far (depth of them). */
static bool overwrites(const tx_lir_func *f, const tx_lir_stmt *s, int x, int *vars, int64_t *lo, int64_t *ext,
                       int depth) {
    if (s->kind == TX_LIR_STORE) return s->buf == x && tx_lir_store_covers(f, s, vars, lo, ext, depth);
    if (s->kind != TX_LIR_LOOP || depth == 16 || s->extent <= 0 || s->sym_extent.n > 0 ||
        block_loads(&s->body, x, NULL))
        return false;
    vars[depth] = s->var, lo[depth] = s->lo, ext[depth] = s->extent;
    for (int k = 0; k < s->body.n; k++)
        if (overwrites(f, s->body.stmts[k], x, vars, lo, ext, depth + 1)) return true;
    return false;
}

/* Is every private buffer of l's body written whole before the body reads
 * it, and read nowhere outside l? */
static bool private_ok(ilv *v, const tx_lir_stmt *l) {
    int nb = v->f->nbufs;
    bool *defined = calloc((size_t)nb + 1, 1);
    bool ok = defined != NULL;
    int vars[16];
    int64_t lo[16], ext[16];
    for (int k = 0; ok && k < l->body.n; k++) {
        const tx_lir_stmt *s = l->body.stmts[k];
        for (int x = 0; ok && x < nb; x++) {
            if (!v->priv[x] || defined[x]) continue;
            bool reads = s->kind == TX_LIR_LOOP ? block_loads(&s->body, x, NULL) : tx_lir_expr_loads(s->value, x);
            if (reads) ok = false;
            else if (overwrites(v->f, s, x, vars, lo, ext, 0)) defined[x] = true;
        }
    }
    for (int x = 0; ok && x < nb; x++)
        if (v->priv[x] && block_loads(&v->f->body, x, l)) ok = false;
    free(defined);
    return ok;
}

static int interleave_loop(tx_lir_func *f, tx_lir_block *b, int k, int width, int max_nodes, bool privatise) {
    tx_lir_stmt *l = b->stmts[k];
    if (width < 2 || tx_lir_is_generic(f) || l->kind != TX_LIR_LOOP || l->parallel || l->extent < 2 * width)
        return 0;
    int nb = f->nbufs, na = f->naccs, nv = f->nvars;
    ilv v = { f, l->var, calloc((size_t)na + 1, 1), calloc((size_t)na + 1, 1), calloc((size_t)nv + 1, 1),
              calloc((size_t)nb + 1, 1), calloc((size_t)nb + 1, sizeof(int64_t)),
              calloc((size_t)nb + 1, sizeof(int64_t)), calloc((size_t)nv + 1, sizeof(range_t)), true, 0, 1,
              privatise ? JAM_ROWS_TRIPS : INTERLEAVE_TRIPS, privatise, calloc((size_t)nb + 1, 1) };
    int changed = 0;
    if (!v.inited || !v.outer || !v.bound || !v.row || !v.lo || !v.hi || !v.ranges || !v.priv) goto done;
    ilv_bind(&v, &l->body, 1);
    bool inner_loop = false;
    for (int q = 0; q < l->body.n; q++) inner_loop |= l->body.stmts[q]->kind == TX_LIR_LOOP;
    if (!v.ok || !inner_loop || v.trips > v.max_trips) goto done;
    ilv_writes(&v, &l->body);
    for (int x = 0; x < nb; x++)   /* a private buffer's updates are its own copy's business */
        if (v.priv[x]) v.row[x] = false;
    if (v.ok) ilv_reads(&v, &l->body);
    if (!v.ok || v.nodes * width > max_nodes) goto done;
    int npriv = 0;
    for (int x = 0; x < nb; x++) npriv += v.priv[x];
    if (privatise && (npriv == 0 || !private_ok(&v, l))) goto done;
    int nrows = 0;
    for (int x = 0; x < nb; x++) {
        if (!v.row[x]) continue;
        nrows++;
        int64_t n = v.hi[x] - v.lo[x] + 1;
        if (v.lo[x] < 0 || v.hi[x] >= f->bufs[x].size ||
            n * (int64_t)txrt_dtype_size(f->bufs[x].dtype) > INTERLEAVE_ROW_BYTES)
            goto done;
    }
    /* scalar sums alone are the register tiles' business (tile(), which
     * jams independent outputs instead; more copies of a tile spill) */
    if (nrows == 0) goto done;

    /* the partial sums: accumulators and local rows of copies 1..W-1 */
    int **accmaps = new_maps(width, na), **bufmaps = new_maps(width, nb);
    if (!accmaps || !bufmaps) {
        free_maps(accmaps, width);
        free_maps(bufmaps, width);
        goto done;
    }
    tx_lir_block pre = { NULL, 0, 0 }, post = { NULL, 0, 0 };
    for (int x = 0; x < nb; x++) bufmaps[0][x] = x;
    for (int c = 1; c < width; c++) {
        for (int a = 0; a < na; a++) {
            if (!v.outer[a]) continue;
            int n = tx_lir_add_acc(f, f->accs[a].op, f->accs[a].dtype);
            f->accs[n].weight = f->accs[a].weight;
            accmaps[c][a] = n;
            tx_lir_acc_init(f, &pre, n);
        }
        for (int x = 0; x < nb; x++) {
            bufmaps[c][x] = x;
            if (v.priv[x]) {   /* a copy of its own, written before it is read */
                const tx_lir_buf *B = &f->bufs[x];
                int t = tx_lir_add_buf(f, copy_name(f, B->name, '.', c), B->dtype, B->rank, B->shape, true);
                f->bufs[t].local = true;
                f->bufs[t].scratch = true;
                bufmaps[c][x] = t;
                continue;
            }
            if (!v.row[x]) continue;
            int64_t len = v.hi[x] + 1;
            int t = tx_lir_add_buf(f, copy_name(f, f->bufs[x].name, v.privatise ? '.' : '\'', c), f->bufs[x].dtype, 1, &len, true);
            f->bufs[t].local = true;
            f->bufs[t].scratch = true;
            bufmaps[c][x] = t;
        }
    }
    int64_t one = 1;
    for (int x = 0; x < nb; x++) {
        if (!v.row[x]) continue;
        int64_t lo = v.lo[x], n = v.hi[x] - v.lo[x] + 1;
        int zv = tx_lir_add_var(f, "z"), sv = tx_lir_add_var(f, "z");
        tx_lir_stmt *zl = tx_lir_loop(f, &pre, zv, lo, n);
        tx_lir_stmt *sl = tx_lir_loop(f, &post, sv, lo, n);
        tx_lir_affine zo = tx_lir_affine_make(f, 1, &zv, &one, 0), so = tx_lir_affine_make(f, 1, &sv, &one, 0);
        tx_lir_expr *sum = tx_lir_load(f, x, so);
        for (int c = 1; c < width; c++) {
            tx_lir_store(f, &zl->body, bufmaps[c][x], zo, tx_lir_const(f, f->bufs[x].dtype, 0, 0));
            sum = tx_lir_binary(f, TX_TOP_ADD, sum, tx_lir_load(f, bufmaps[c][x], so));
        }
        tx_lir_store(f, &sl->body, x, so, sum);
    }
    for (int a = 0; a < na; a++)
        if (v.outer[a])
            for (int c = 1; c < width; c++) tx_lir_accum(f, &post, a, tx_lir_accref(f, accmaps[c][a]));
    bool rest = jam_at(f, b, k, width, accmaps, bufmaps);
    free_maps(accmaps, width);
    free_maps(bufmaps, width);
    /* [.., main, rest?, ..] -> [.., pre, main, rest?, post, ..] */
    int after = k + 1 + rest;
    for (int q = 0; q < post.n; q++) tx_lir_insert(f, b, after + q, post.stmts[q]);
    for (int q = 0; q < pre.n; q++) tx_lir_insert(f, b, k + q, pre.stmts[q]);
    changed = 1;
done:
    free(v.inited);
    free(v.outer);
    free(v.bound);
    free(v.row);
    free(v.lo);
    free(v.hi);
    free(v.ranges);
    free(v.priv);
    return changed;
}

int tx_lir_interleave(tx_lir_func *f, tx_lir_block *b, int k, int width, int max_nodes) {
    return interleave_loop(f, b, k, width, max_nodes, false);
}

int tx_lir_jam_rows(tx_lir_func *f, tx_lir_block *b, int k, int width, int max_nodes) {
    return interleave_loop(f, b, k, width, max_nodes, true);
}
