/*
 * lir_sched.c -- loop scheduling: loop order, register tiles, parallel loops.
 *
 * Kernels arrive from tx_lir_from_def with the output loops outermost (in
 * output order, so the innermost output loop is stride-1 in the store)
 * and each reduction as an accumulator and an inner loop nest.  For the
 * contraction nests the innermost loop should be stride-1 over the largest
 * operands; there are two ways to get that here:
 *
 *   - the reduction's own innermost loop is stride-1 in the operands that
 *     matter (a row sum, A[i,k]*B[j,k]) and long: keep it innermost;
 *     LLVM's loop vectoriser turns the reassociable accumulation into
 *     vector partial sums;
 *   - otherwise the innermost output loop v is stride-1 in the largest
 *     operand (B[k,j] of a matmul, X[c,i+k] of a 1-D convolution): make v
 *     the vector dimension by unrolling it jam_width times and jamming the
 *     copies (ir/lir_jam.c), so jam_width accumulators advance together
 *     over contiguous loads, with the reduction loop now outside them
 *     (i, k, j order with the j strip held in registers instead of memory).
 *     When the loop enclosing v indexes an operand the strip does not
 *     (A[i,k]), it is jammed tile_rows times too: a tile_rows x jam_width
 *     register tile in which every vector load of the strip feeds
 *     tile_rows FMAs.
 *
 * Jamming copies each iteration's operations unchanged (each accumulator
 * still adds its terms in the original order), so tiles change no value.
 * Code generation marks the loops of a tile "do not loop-vectorise" (the
 * copies are the vector dimension; see codegen/llvm.c).  Tiles cost
 * compile time (a 4 x 16 tile adds ~20-40 ms of LLVM time), so nests with
 * less work than min_tile_work (~1 ms of naive loops) are left alone.
 * Measured on Zen 5 (one thread, min CPU time): 256^3 matmul 0.39 ms
 * (86 GFLOP/s) against 4.6 ms for gcc -O3 on the naive nest; 16x16x9
 * conv1d over 4088 points 0.19 ms against 0.72 ms.  Swapping the row-tile
 * and column-strip loops for cache reuse of big operands was tried and
 * dropped: +3% at n=768, -25% at n=1024 (the 8 KiB row stride of a strip
 * aliases in the cache); big contractions go to BLAS anyway.
 *
 * Parallel loops: the outermost loops of the kernel whose iterations are
 * independent -- every buffer written in the loop gets, per iteration, a
 * window of offsets [c*v + m, c*v + M] with M - m < |c| (so windows of
 * different iterations are disjoint), reads of written buffers stay in
 * their own iteration's window, and accumulators are initialised inside --
 * are marked parallel when their estimated work pays for waking the pool
 * (min_par_work, measured: a 2-thread wake-up and join costs 0.2-18
 * microseconds, 100k work units of a simple loop ~20-50).  Code
 * generation runs such a loop through txrt_parallel_for in chunks of
 * consecutive iterations.
 */
#include "ir/lir_sched.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void tx_lir_sched_defaults(tx_lir_sched_opts *o, int vec_doubles) {
    memset(o, 0, sizeof *o);
    if (vec_doubles < 2) vec_doubles = 2;
    o->jam_width = 2 * vec_doubles;
    o->tile_rows = 4;
    o->interleave = 4;
    o->jam_rows = 2;
    o->max_nodes = 2048;
    o->min_tile_work = 1e6;
    o->parallel = true;
    o->min_par_work = 100000;
}

/* ---- work estimates ------------------------------------------------------- */

static double op_cost(tx_tir_op op) {
    switch (op) {
    case TX_TOP_EXP: case TX_TOP_LOG: case TX_TOP_SIN: case TX_TOP_COS: case TX_TOP_TAN:
    case TX_TOP_TANH: case TX_TOP_POW: case TX_TOP_SIGMOID:
        return 20;
    case TX_TOP_DIV: case TX_TOP_SQRT:
        return 4;
    default:
        return 1;
    }
}

static double expr_cost(const tx_lir_expr *e) {
    if (!e) return 0;
    double c = 0;
    switch (e->kind) {
    case TX_LIR_CONST: case TX_LIR_ACC: c = 0; break;
    case TX_LIR_INDEX: case TX_LIR_LOAD: case TX_LIR_SELECT: case TX_LIR_CAST: c = 1; break;
    case TX_LIR_UNARY: case TX_LIR_BINARY: c = op_cost(e->op); break;
    }
    if (tx_lir_is_complex(e->dtype)) c *= 4;
    return c + expr_cost(e->a) + expr_cost(e->b) + expr_cost(e->c);
}

static double block_cost(const tx_lir_block *b) {
    double c = 0;
    for (int k = 0; k < b->n; k++) {
        const tx_lir_stmt *s = b->stmts[k];
        switch (s->kind) {
        case TX_LIR_LOOP: c += (double)s->extent * block_cost(&s->body); break;
        case TX_LIR_ACC_INIT: c += 1; break;
        case TX_LIR_ACCUM: case TX_LIR_STORE: c += 1 + expr_cost(s->value); break;
        }
    }
    return c;
}

double tx_lir_work(const tx_lir_func *f) { return block_cost(&f->body); }

/* ---- independence of a loop's iterations ----------------------------------- */

typedef struct range {
    bool known;
    int64_t lo, hi;   /* inclusive */
} range;

static void var_ranges(const tx_lir_block *b, range *r) {
    for (int k = 0; k < b->n; k++) {
        const tx_lir_stmt *s = b->stmts[k];
        if (s->kind != TX_LIR_LOOP) continue;
        if (s->extent > 0) {
            int64_t lo = s->lo, hi = s->lo + s->extent - 1;
            range *x = &r[s->var];
            if (!x->known) *x = (range){ true, lo, hi };
            else {
                if (lo < x->lo) x->lo = lo;
                if (hi > x->hi) x->hi = hi;
            }
        }
        var_ranges(&s->body, r);
    }
}

static int64_t coef_of(const tx_lir_affine *a, int v) {
    for (int k = 0; k < a->nterms; k++)
        if (a->var[k] == v) return a->coef[k];
    return 0;
}

/* [lo, hi] of offset - coef(v)*v over the ranges of the variables bound
 * inside the loop (r); variables bound outside it are constant while it
 * runs and left out (same_outer checks they shift every access alike). */
static bool window(const tx_lir_affine *a, int v, const range *r, int64_t *lo, int64_t *hi) {
    int64_t l = a->c0, h = a->c0;
    for (int k = 0; k < a->nterms; k++) {
        if (a->var[k] == v) continue;
        const range *x = &r[a->var[k]];
        if (!x->known) continue;
        int64_t c = a->coef[k];
        int64_t p = c * x->lo, q = c * x->hi;
        l += p < q ? p : q;
        h += p < q ? q : p;
    }
    *lo = l;
    *hi = h;
    return true;
}

/* Do a and b have the same terms in the variables bound outside the loop? */
static bool same_outer(const tx_lir_affine *a, const tx_lir_affine *b, int v, const range *r) {
    for (int pass = 0; pass < 2; pass++) {
        const tx_lir_affine *x = pass ? b : a, *y = pass ? a : b;
        for (int k = 0; k < x->nterms; k++)
            if (x->var[k] != v && !r[x->var[k]].known && coef_of(y, x->var[k]) != x->coef[k]) return false;
    }
    return true;
}

typedef struct dep {
    const tx_lir_func *f;
    int v;
    const range *r;
    bool ok;
    bool *inited;       /* accumulators initialised in the loop */
    int64_t *coef;      /* per buffer: coef of v in its stores (0 = not written) */
    int64_t *wlo, *whi; /* per buffer: the window of its stores */
    bool *written;
    const tx_lir_affine **first; /* per buffer: its first store's offset */
    const bool *priv;   /* per buffer: private to each chunk (NULL: none); not checked */
} dep;

static void dep_stores(dep *d, const tx_lir_block *b) {
    for (int k = 0; k < b->n && d->ok; k++) {
        const tx_lir_stmt *s = b->stmts[k];
        if (s->kind == TX_LIR_LOOP) {
            dep_stores(d, &s->body);
        } else if (s->kind == TX_LIR_ACC_INIT) {
            d->inited[s->acc] = true;
        } else if (s->kind == TX_LIR_STORE) {
            if ((d->priv && d->priv[s->buf]) || d->f->bufs[s->buf].local) continue;
            int64_t c = coef_of(&s->off, d->v), lo, hi;
            if (c == 0 || !window(&s->off, d->v, d->r, &lo, &hi)) {
                d->ok = false;
                return;
            }
            if (!d->written[s->buf]) {
                d->written[s->buf] = true;
                d->first[s->buf] = &s->off;
                d->coef[s->buf] = c;
                d->wlo[s->buf] = lo;
                d->whi[s->buf] = hi;
            } else if (d->coef[s->buf] != c || !same_outer(d->first[s->buf], &s->off, d->v, d->r)) {
                d->ok = false;
            } else {
                if (lo < d->wlo[s->buf]) d->wlo[s->buf] = lo;
                if (hi > d->whi[s->buf]) d->whi[s->buf] = hi;
            }
        }
    }
}

static void dep_expr(dep *d, const tx_lir_expr *e) {
    if (!e || !d->ok) return;
    if (e->kind == TX_LIR_ACC && !d->inited[e->acc]) d->ok = false;
    if (e->kind == TX_LIR_LOAD && d->written[e->buf]) {
        int64_t lo, hi;
        if (coef_of(&e->off, d->v) != d->coef[e->buf] || !same_outer(d->first[e->buf], &e->off, d->v, d->r) ||
            !window(&e->off, d->v, d->r, &lo, &hi) ||
            lo < d->wlo[e->buf] || hi > d->whi[e->buf])
            d->ok = false;
    }
    dep_expr(d, e->a);
    dep_expr(d, e->b);
    dep_expr(d, e->c);
}

static void dep_reads(dep *d, const tx_lir_block *b) {
    for (int k = 0; k < b->n && d->ok; k++) {
        const tx_lir_stmt *s = b->stmts[k];
        if (s->kind == TX_LIR_LOOP) dep_reads(d, &s->body);
        else if (s->kind == TX_LIR_ACCUM) {
            if (!d->inited[s->acc]) d->ok = false;
            dep_expr(d, s->value);
        } else if (s->kind == TX_LIR_STORE) {
            dep_expr(d, s->value);
        }
    }
}

/* Independence of l's iterations, ignoring the buffers priv marks (each
 * chunk of iterations gets its own copy of those). */
static bool independent(const tx_lir_func *f, const tx_lir_stmt *l, const bool *priv) {
    if (l->kind != TX_LIR_LOOP) return false;
    range *r = calloc((size_t)f->nvars + 1, sizeof *r);
    bool *inited = calloc((size_t)f->naccs + 1, sizeof *inited);
    bool *written = calloc((size_t)f->nbufs + 1, sizeof *written);
    int64_t *coef = calloc((size_t)f->nbufs + 1, sizeof *coef);
    int64_t *wlo = calloc((size_t)f->nbufs + 1, sizeof *wlo);
    int64_t *whi = calloc((size_t)f->nbufs + 1, sizeof *whi);
    const tx_lir_affine **first = calloc((size_t)f->nbufs + 1, sizeof *first);
    bool ok = r && inited && written && coef && wlo && whi && first;
    if (ok) {
        var_ranges(&l->body, r);   /* the variables bound inside l */
        dep d = { f, l->var, r, true, inited, coef, wlo, whi, written, first, priv };
        dep_stores(&d, &l->body);
        for (int b = 0; b < f->nbufs && d.ok; b++) {
            if (!written[b]) continue;
            int64_t c = coef[b] < 0 ? -coef[b] : coef[b];
            if (whi[b] - wlo[b] >= c) d.ok = false;
        }
        if (d.ok) dep_reads(&d, &l->body);
        ok = d.ok;
    }
    free(r);
    free(inited);
    free(written);
    free(coef);
    free(wlo);
    free(whi);
    free(first);
    return ok;
}

bool tx_lir_loop_independent(const tx_lir_func *f, const tx_lir_stmt *l) { return independent(f, l, NULL); }

/* ---- private buffers of a parallel loop ----------------------------------------
 *
 * A fused kernel keeps per-row values in scratch buffers (a row of scores,
 * the accumulators of O[i, :]) that every iteration of its outer loop
 * overwrites, so the iterations are not independent as written.  They
 * become independent when each chunk of iterations has its own copy of
 * such a buffer, which is sound when
 *   - nobody reads the buffer after the kernel (tx_lir_buf.scratch),
 *   - no statement outside the loop touches it, and
 *   - every read of it in an iteration follows, in the same iteration, a
 *     store of the whole buffer: a perfect loop nest storing each element
 *     once (offsets 0 .. size-1), or any store when the buffer has one
 *     element.
 * The copies live on the chunk's stack, so only buffers up to
 * PRIVATE_MAX_BYTES qualify. */

#define PRIVATE_MAX_BYTES ((int64_t)64 << 10)

static void mark_loads(const tx_lir_expr *e, bool *touched) {
    if (!e) return;
    if (e->kind == TX_LIR_LOAD) touched[e->buf] = true;
    mark_loads(e->a, touched);
    mark_loads(e->b, touched);
    mark_loads(e->c, touched);
}

static void mark_all(const tx_lir_block *b, bool *touched) {
    for (int k = 0; k < b->n; k++) {
        const tx_lir_stmt *s = b->stmts[k];
        if (s->kind == TX_LIR_LOOP) mark_all(&s->body, touched);
        if (s->kind == TX_LIR_STORE) touched[s->buf] = true;
        mark_loads(s->value, touched);
    }
}


/* Is s a perfect loop nest whose innermost body is stores only, each
 * writing every element of its buffer exactly once (and none reading a
 * buffer stored there)?  Marks those buffers in covered. */
static bool full_store_nest(const tx_lir_func *f, const tx_lir_stmt *s, bool *covered) {
    int64_t lo[16], ext[16];
    int vars[16], depth = 0;
    while (s->kind == TX_LIR_LOOP && s->body.n == 1 && s->body.stmts[0]->kind == TX_LIR_LOOP) {
        if (depth == 16 || s->extent <= 0) return false;
        vars[depth] = s->var, lo[depth] = s->lo, ext[depth] = s->extent, depth++;
        s = s->body.stmts[0];
    }
    if (s->kind != TX_LIR_LOOP || depth == 16 || s->extent <= 0 || s->body.n == 0) return false;
    vars[depth] = s->var, lo[depth] = s->lo, ext[depth] = s->extent, depth++;
    const tx_lir_block *b = &s->body;
    for (int k = 0; k < b->n; k++) {
        if (!tx_lir_store_covers(f, b->stmts[k], vars, lo, ext, depth)) return false;
        for (int q = 0; q < b->n; q++)
            if (tx_lir_expr_loads(b->stmts[q]->value, b->stmts[k]->buf)) return false;
    }
    for (int k = 0; k < b->n; k++) covered[b->stmts[k]->buf] = true;
    return true;
}

/* Walk an iteration's statements in order: a read of a candidate before
 * the buffer is wholly stored drops the candidate. */
static void exposed_reads(const tx_lir_func *f, const tx_lir_block *b, bool *cand, bool *covered) {
    for (int k = 0; k < b->n; k++) {
        const tx_lir_stmt *s = b->stmts[k];
        if (s->kind == TX_LIR_LOOP && full_store_nest(f, s, covered)) continue;
        if (s->kind == TX_LIR_LOOP) {
            if (s->extent > 0) exposed_reads(f, &s->body, cand, covered);
            continue;
        }
        for (int q = 0; q < f->nbufs; q++)
            if (cand[q] && !covered[q] && tx_lir_expr_loads(s->value, q)) cand[q] = false;
        if (s->kind == TX_LIR_STORE && f->bufs[s->buf].size == 1) covered[s->buf] = true;
    }
}

/* The buffers loop f->body.stmts[at] may privatise (NULL when none, or no
 * memory); allocated in f's arena. */
static bool *private_candidates(tx_lir_func *f, int at) {
    const tx_lir_stmt *l = f->body.stmts[at];
    bool *outside = calloc((size_t)f->nbufs + 1, 1), *inside = calloc((size_t)f->nbufs + 1, 1);
    bool *covered = calloc((size_t)f->nbufs + 1, 1);
    bool *cand = TX_NEWN(f->arena, bool, f->nbufs + 1);
    bool any = false;
    if (outside && inside && covered && cand) {
        for (int k = 0; k < f->body.n; k++) {
            if (k == at) continue;
            tx_lir_block one = { &f->body.stmts[k], 1, 1 };
            mark_all(&one, outside);
        }
        mark_all(&l->body, inside);
        for (int b = 0; b < f->nbufs; b++) {
            const tx_lir_buf *B = &f->bufs[b];
            cand[b] = B->scratch && !B->local && inside[b] && !outside[b] &&
                      B->size > 0 && B->size <= PRIVATE_MAX_BYTES / (int64_t)txrt_dtype_size(B->dtype);
        }
        exposed_reads(f, &l->body, cand, covered);
        for (int b = 0; b < f->nbufs; b++) any |= cand[b];
    }
    free(outside);
    free(inside);
    free(covered);
    return any ? cand : NULL;
}

int tx_lir_mark_parallel(tx_lir_func *f, double min_work) {
    int n = 0;
    for (int k = 0; k < f->body.n; k++) {
        tx_lir_stmt *s = f->body.stmts[k];
        if (s->kind != TX_LIR_LOOP || s->extent < 2) continue;
        if ((double)s->extent * block_cost(&s->body) < min_work) continue;
        if (!independent(f, s, NULL)) {
            bool *priv = private_candidates(f, k);
            if (!priv || !independent(f, s, priv)) continue;
            s->private_bufs = priv;
        }
        s->parallel = true;
        n++;
    }
    return n;
}

/* ---- register tiles ------------------------------------------------------------ */

typedef struct site {
    tx_lir_block *b;   /* block holding the loop */
    int k;
    tx_lir_block *pb;  /* block holding the enclosing loop (NULL at top level) */
    int pk;
} site;

static int count_nodes(const tx_lir_expr *e) {
    return e ? 1 + count_nodes(e->a) + count_nodes(e->b) + count_nodes(e->c) : 0;
}

typedef struct shape {
    int nstores;
    const tx_lir_stmt *store;
    bool has_loop;
    int nodes;
} shape;

static void body_shape(const tx_lir_block *b, shape *sh) {
    for (int k = 0; k < b->n; k++) {
        const tx_lir_stmt *s = b->stmts[k];
        switch (s->kind) {
        case TX_LIR_LOOP: sh->has_loop = true; body_shape(&s->body, sh); break;
        case TX_LIR_ACC_INIT: sh->nodes++; break;
        case TX_LIR_ACCUM: sh->nodes += 1 + count_nodes(s->value); break;
        case TX_LIR_STORE:
            sh->nodes += 1 + count_nodes(s->value);
            sh->nstores++;
            sh->store = s;
            break;
        }
    }
}

/* How many copies a 1-D tile makes of loop l: jam_width, or all of a
 * short loop's iterations (a row of 20 outputs is two vectors and a half
 * one, where jamming 16 would leave 4 to a scalar loop); 0 when l is
 * shorter than one vector (jam_width is two). */
static int64_t tile_width(const tx_lir_stmt *l, const tx_lir_sched_opts *o) {
    if (l->extent >= 2 * (int64_t)o->jam_width) return o->jam_width;
    return l->extent >= o->jam_width / 2 ? l->extent : 0;
}

/* Expression nodes in the body of loop l (one copy of a jam). */
static int body_nodes(const tx_lir_stmt *l) {
    shape sh = { 0, NULL, false, 0 };
    body_shape(&l->body, &sh);
    return sh.nodes;
}

/* The loop a 1-D tile would jam: one store, stride 1 in the loop's
 * variable, a reduction loop inside, independent iterations. */
static bool tile_candidate(const tx_lir_func *f, const tx_lir_stmt *l, const tx_lir_sched_opts *o) {
    int64_t w = tile_width(l, o);
    if (w < 2) return false;
    shape sh = { 0, NULL, false, 0 };
    body_shape(&l->body, &sh);
    if (!sh.has_loop || sh.nstores != 1 || coef_of(&sh.store->off, l->var) != 1) return false;
    if ((int64_t)sh.nodes * w > o->max_nodes) return false;
    return tx_lir_loop_independent(f, l);
}

static bool find_site(const tx_lir_func *f, tx_lir_block *b, tx_lir_block *pb, int pk,
                      const tx_lir_sched_opts *o, site *out) {
    for (int k = 0; k < b->n; k++) {
        tx_lir_stmt *s = b->stmts[k];
        if (s->kind != TX_LIR_LOOP) continue;
        if (find_site(f, &s->body, b, k, o, out)) return true;
        if (tile_candidate(f, s, o)) {
            *out = (site){ b, k, pb, pk };
            return true;
        }
    }
    return false;
}

/* Loads inside the accumulations of a loop body, and the innermost loop
 * that accumulates (the reduction's inner loop). */
typedef struct loads {
    const tx_lir_func *f;
    int v, r;                 /* the tile variable; the reduction's innermost variable */
    int64_t r_extent;
    int depth, best_depth;
    double s_v, s_r;          /* bytes of operands loaded stride-1 in v / in r */
    bool strided_r;           /* some load strides across r (|coef| > 1) */
    bool shared;              /* an operand stride-1 in v that the enclosing loop does not index */
    int pv;                   /* the enclosing loop's variable (-1: none) */
} loads;

static void scan_loads(loads *L, const tx_lir_expr *e) {
    if (!e) return;
    if (e->kind == TX_LIR_LOAD) {
        const tx_lir_buf *b = &L->f->bufs[e->buf];
        double bytes = (double)b->size;
        if (coef_of(&e->off, L->v) == 1) {
            L->s_v += bytes;
            if (L->pv >= 0 && coef_of(&e->off, L->pv) == 0) L->shared = true;
        }
        if (L->r >= 0) {
            int64_t c = coef_of(&e->off, L->r);
            if (c == 1 || c == -1) L->s_r += bytes;
            else if (c != 0) L->strided_r = true;
        }
    }
    scan_loads(L, e->a);
    scan_loads(L, e->b);
    scan_loads(L, e->c);
}

static void find_reduction(loads *L, const tx_lir_block *b, int var, int64_t extent) {
    L->depth++;
    for (int k = 0; k < b->n; k++) {
        const tx_lir_stmt *s = b->stmts[k];
        if (s->kind == TX_LIR_LOOP) find_reduction(L, &s->body, s->var, s->extent);
        else if (s->kind == TX_LIR_ACCUM && var >= 0 && L->depth > L->best_depth) {
            L->best_depth = L->depth;
            L->r = var;
            L->r_extent = extent;
        }
    }
    L->depth--;
}

static void collect_loads(loads *L, const tx_lir_block *b) {
    for (int k = 0; k < b->n; k++) {
        const tx_lir_stmt *s = b->stmts[k];
        if (s->kind == TX_LIR_LOOP) collect_loads(L, &s->body);
        else if (s->kind == TX_LIR_ACCUM) scan_loads(L, s->value);
    }
}

/* The trip count of the body of loop l when it is one reduction loop with
 * no loop inside it (after accumulator set-up); 0 otherwise. */
static int64_t flat_reduction(const tx_lir_stmt *l) {
    const tx_lir_stmt *r = NULL;
    for (int k = 0; k < l->body.n; k++) {
        const tx_lir_stmt *s = l->body.stmts[k];
        if (s->kind != TX_LIR_LOOP) continue;
        if (r) return 0;
        r = s;
    }
    if (!r) return 0;
    for (int k = 0; k < r->body.n; k++)
        if (r->body.stmts[k]->kind == TX_LIR_LOOP) return 0;
    return r->extent;
}

/* A wide tile's strip of the vector operand (reduction trips x width
 * doubles) stays within this, so it is read from L1 (64 products of 128^3:
 * 32 KiB); a longer reduction (softmax's E V, 2048 x 32 doubles) gained
 * nothing (5.52 vs 5.71 ms, medians of 6 alternating runs). */
#define WIDE_STRIP_BYTES ((int64_t)64 << 10)

static int tile(tx_lir_func *f, const tx_lir_sched_opts *o) {
    if (o->jam_width < 2 || tx_lir_work(f) < o->min_tile_work) return 0;
    site at;
    if (!find_site(f, &f->body, NULL, 0, o, &at)) return 0;
    tx_lir_stmt *l = at.b->stmts[at.k];
    tx_lir_stmt *p = at.pb ? at.pb->stmts[at.pk] : NULL;
    loads L = { f, l->var, -1, 0, 0, 0, 0, 0, false, false, p ? p->var : -1 };
    find_reduction(&L, &l->body, -1, 0);
    collect_loads(&L, &l->body);
    /* the reduction reads every operand stride-1 (or not at all) and is
     * long enough to vectorise by itself: keep it innermost, no tile */
    if (L.r >= 0 && L.s_r > 0 && !L.strided_r && L.r_extent >= 4 * (int64_t)o->jam_width) return 0;
    int64_t w = tile_width(l, o);
    /* a flat reduction (a matmul's k) feeds a tile twice as wide: 16
     * accumulators instead of 8 cover the FMA latency with room to spare
     * (64 products of 128^3, alternating runs: 3.32-3.38 -> 2.80-3.09 ms);
     * a nest of short reduction loops (conv1d's c and k) does not gain
     * (5.5 -> 6.1 ms) */
    int64_t trips = flat_reduction(l);
    if (w == o->jam_width && l->extent >= 4 * (int64_t)o->jam_width && trips >= 32 &&
        trips * 2 * w * 8 <= WIDE_STRIP_BYTES && (int64_t)body_nodes(l) * 2 * w <= o->max_nodes)
        w = 2 * o->jam_width;
    int n = tx_lir_jam_loop(f, at.b, at.k, (int)w);
    /* the iterations left after the jammed ones (4088 = 255 x 16 + 8) are a
     * loop of their own after it: a short one, at least a vector long, is
     * jammed whole too, so it gets vectors instead of scalar code */
    if (n && w < l->extent && l->extent % w >= o->jam_width / 2 && at.k + 1 < at.b->n) {
        tx_lir_stmt *rest = at.b->stmts[at.k + 1];
        if (rest->kind == TX_LIR_LOOP && rest->extent == l->extent % w &&
            (int64_t)body_nodes(rest) * rest->extent <= o->max_nodes)
            n += tx_lir_jam_loop(f, at.b, at.k + 1, (int)rest->extent);
    }
    if (!n || !p || o->tile_rows < 2 || !L.shared || p->extent < o->tile_rows) return n;
    shape sh = { 0, NULL, false, 0 };
    body_shape(&p->body, &sh);
    if ((int64_t)sh.nodes * o->tile_rows > o->max_nodes) return n;
    if (!tx_lir_loop_independent(f, p)) return n;
    return n + tx_lir_jam_loop(f, at.pb, at.pk, o->tile_rows);
}

/* ---- distributing expensive values out of loops ----------------------------------
 *
 * In a fused kernel a per-element value such as exp(S[i,j,k] / d) is
 * let-bound (an accumulator set once) inside the loop over k, and used by
 * an inner loop (over b: O[i,b] += e * V1[j,b] * V2[k,b]).  That k loop is
 * not innermost, so LLVM never vectorises it, and every exp is a scalar
 * libm call.  When such a value reads no accumulator and no buffer the
 * loop writes, it is computed in a loop of its own just before (one
 * element per iteration into a small local buffer: vectorised, libmvec),
 * and the original loop loads it.  The values and their order are
 * unchanged; only where they are computed moves. */

#define LOCAL_MAX_BYTES ((int64_t)32 << 10)

static bool costly(const tx_lir_expr *e) {
    if (!e) return false;
    if ((e->kind == TX_LIR_UNARY || e->kind == TX_LIR_BINARY) && op_cost(e->op) >= 20) return true;
    return costly(e->a) || costly(e->b) || costly(e->c);
}

static bool reads_acc_or(const tx_lir_expr *e, const bool *written) {
    if (!e) return false;
    if (e->kind == TX_LIR_ACC) return true;
    if (e->kind == TX_LIR_LOAD && written[e->buf]) return true;
    return reads_acc_or(e->a, written) || reads_acc_or(e->b, written) || reads_acc_or(e->c, written);
}

static bool mentions_var(const tx_lir_expr *e, int v) {
    if (!e) return false;
    if (e->kind == TX_LIR_INDEX && e->var == v) return true;
    if (e->kind == TX_LIR_LOAD && coef_of(&e->off, v) != 0) return true;
    return mentions_var(e->a, v) || mentions_var(e->b, v) || mentions_var(e->c, v);
}

static void stored_bufs(const tx_lir_block *b, bool *written) {
    for (int k = 0; k < b->n; k++) {
        const tx_lir_stmt *s = b->stmts[k];
        if (s->kind == TX_LIR_LOOP) stored_bufs(&s->body, written);
        if (s->kind == TX_LIR_STORE) written[s->buf] = true;
    }
}

static bool has_inner_loop(const tx_lir_block *b) {
    for (int k = 0; k < b->n; k++)
        if (b->stmts[k]->kind == TX_LIR_LOOP) return true;
    return false;
}

/* e with loop variable v replaced by u (same values). */
static tx_lir_affine rename_affine(tx_lir_func *f, const tx_lir_affine *a, int v, int u) {
    if (coef_of(a, v) == 0) return *a;
    int vars[a->nterms > 0 ? a->nterms : 1];
    for (int k = 0; k < a->nterms; k++) vars[k] = a->var[k] == v ? u : a->var[k];
    return tx_lir_affine_make(f, a->nterms, vars, a->coef, a->c0);
}

static tx_lir_expr *rename_var(tx_lir_func *f, const tx_lir_expr *e, int v, int u) {
    if (!e) return NULL;
    if (e->kind == TX_LIR_INDEX) return e->var == v ? tx_lir_index(f, u) : (tx_lir_expr *)e;
    if (e->kind == TX_LIR_LOAD) return tx_lir_load(f, e->buf, rename_affine(f, &e->off, v, u));
    if (e->kind == TX_LIR_CONST || e->kind == TX_LIR_ACC) return (tx_lir_expr *)e;
    tx_lir_expr *c = TX_NEW(f->arena, tx_lir_expr);
    *c = *e;
    c->a = rename_var(f, e->a, v, u);
    c->b = rename_var(f, e->b, v, u);
    c->c = rename_var(f, e->c, v, u);
    return c;
}

static int distribute(tx_lir_func *f, tx_lir_block *b) {
    int n = 0;
    for (int k = 0; k < b->n; k++) {
        tx_lir_stmt *l = b->stmts[k];
        if (l->kind != TX_LIR_LOOP) continue;
        n += distribute(f, &l->body);
        if (l->extent < 2 || !has_inner_loop(&l->body)) continue;
        bool *written = calloc((size_t)f->nbufs + 1, 1);
        if (!written) continue;
        stored_bufs(&l->body, written);
        for (int q = 0; q < l->body.n; q++) {
            tx_lir_stmt *s = l->body.stmts[q];
            if (s->kind != TX_LIR_ACCUM || !costly(s->value) || !mentions_var(s->value, l->var) ||
                reads_acc_or(s->value, written))
                continue;
            txrt_dtype dt = s->value->dtype;
            if (l->extent > LOCAL_MAX_BYTES / (int64_t)txrt_dtype_size(dt)) continue;
            int t = tx_lir_add_buf(f, "%val", dt, 1, &l->extent, true);
            f->bufs[t].local = true;
            f->bufs[t].scratch = true;
            int u = tx_lir_add_var(f, f->vars[l->var].name);
            tx_lir_block tmp = { NULL, 0, 0 };
            tx_lir_stmt *pre = tx_lir_loop(f, &tmp, u, l->lo, l->extent);
            int64_t one = 1;
            tx_lir_store(f, &pre->body, t, tx_lir_affine_make(f, 1, &u, &one, -l->lo), rename_var(f, s->value, l->var, u));
            s->value = tx_lir_load(f, t, tx_lir_affine_make(f, 1, &l->var, &one, -l->lo));
            tx_lir_insert(f, b, k, pre);
            k++;                                        /* l moved one down */
            n++;
            bool *grown = realloc(written, (size_t)f->nbufs + 1);
            if (!grown) break;
            written = grown;
            written[t] = false;
        }
        free(written);
    }
    return n;
}

/* ---- row reductions as register tiles -------------------------------------------
 *
 * The fuser computes a reduction for every element of a short row at once
 * (fuse.c, row_reduce), the reduction loops outside the row's loop:
 *
 *     for w { s[w] = 0 }
 *     for a { for w { s[w] = s[w] + x(a) * K[a, w] } }
 *
 * which vectorises over w but loads and stores the row for every a.  With
 * register tiles, the same sums run with the row's loop outside and an
 * accumulator per element:
 *
 *     for w { acc = 0; for a { acc += x(a) * K[a, w] }; s[w] = acc }
 *
 * jammed over w (each copy a lane: ir/lir_lanes.c), so a tile of the row
 * stays in registers across the a loop.  Every element sees the same
 * additions in the same order.  Several rows filled by one nest (two
 * jammed rows of a fused kernel) become several accumulators.  The
 * zeroing loop stays, now redundant: it shows that an iteration writes
 * the rows whole before reading them, which lets a parallel loop around
 * give each thread its own rows (private_candidates). */

#define ROW_ACCS_MAX 8

/* Is offset o exactly the loop variable v (a row's element v)? */
static bool row_offset(const tx_lir_affine *o, int v) {
    return o->nterms == 1 && o->var[0] == v && o->coef[0] == 1 && o->c0 == 0 && !o->sym;
}

static int row_accs(tx_lir_func *f, tx_lir_block *b, const tx_lir_sched_opts *o) {
    int n = 0;
    for (int k = 0; k < b->n; k++) {
        tx_lir_stmt *l = b->stmts[k];
        if (l->kind == TX_LIR_LOOP) n += row_accs(f, &l->body, o);
    }
    for (int k = 0; k + 1 < b->n; k++) {
        tx_lir_stmt *init = b->stmts[k], *nest = b->stmts[k + 1];
        if (init->kind != TX_LIR_LOOP || nest->kind != TX_LIR_LOOP || init->body.n < 1 ||
            init->body.n > ROW_ACCS_MAX || init->extent < 2 * (int64_t)o->jam_width)
            continue;
        /* the initialising loop: rows set to 0, one store each */
        int rows[ROW_ACCS_MAX], nr = init->body.n;
        bool ok = true;
        for (int q = 0; q < nr && ok; q++) {
            const tx_lir_stmt *st = init->body.stmts[q];
            ok = st->kind == TX_LIR_STORE && row_offset(&st->off, init->var) && st->value->kind == TX_LIR_CONST &&
                 st->value->re == 0 && !signbit(st->value->re) && (st->value->dtype == TXRT_F64 || st->value->dtype == TXRT_F32) &&
                 f->bufs[st->buf].dtype == st->value->dtype;
            rows[q] = st->buf;
            for (int u = 0; u < q && ok; u++) ok = rows[u] != rows[q];
        }
        if (!ok) continue;
        /* the nest: a chain of single loops down to the row's loop w */
        tx_lir_stmt *chain[16], *w = nest;
        int depth = 0;
        while (w->kind == TX_LIR_LOOP && w->body.n == 1 && w->body.stmts[0]->kind == TX_LIR_LOOP && depth < 16) {
            chain[depth++] = w;
            w = w->body.stmts[0];
        }
        if (depth == 0 || w->kind != TX_LIR_LOOP || w->extent != init->extent || w->lo != init->lo ||
            w->body.n != nr)
            continue;
        /* its body: s[w] = s[w] + body, once per row, no row read otherwise */
        for (int q = 0; q < nr && ok; q++) {
            const tx_lir_stmt *st = w->body.stmts[q];
            ok = st->kind == TX_LIR_STORE && st->buf == rows[q] && row_offset(&st->off, w->var) &&
                 st->value->kind == TX_LIR_BINARY && st->value->op == TX_TOP_ADD &&
                 st->value->a->kind == TX_LIR_LOAD && st->value->a->buf == rows[q] &&
                 row_offset(&st->value->a->off, w->var) && st->value->b->dtype == st->value->dtype;
            for (int u = 0; u < nr && ok; u++) ok = !tx_lir_expr_loads(st->value->b, rows[u]);
        }
        if (!ok) continue;
        /* w { acc_q = 0; chain { acc_q += body_q }; s_q[w] = acc_q } */
        int accs[ROW_ACCS_MAX];
        tx_lir_block inner = { NULL, 0, 0 }, outer = { NULL, 0, 0 };
        for (int q = 0; q < nr; q++) {
            const tx_lir_stmt *st = w->body.stmts[q];
            accs[q] = tx_lir_add_acc(f, TX_RED_SUM, st->value->dtype);
            f->accs[accs[q]].weight = st->value->b->weight;
            tx_lir_accum(f, &inner, accs[q], st->value->b);
        }
        for (int q = 0; q < nr; q++) tx_lir_acc_init(f, &outer, accs[q]);
        chain[depth - 1]->body = inner;
        tx_lir_append(f, &outer, chain[0]);
        for (int q = 0; q < nr; q++) {
            const tx_lir_stmt *st = w->body.stmts[q];
            tx_lir_store(f, &outer, rows[q], st->off, tx_lir_accref(f, accs[q]));
        }
        w->body = outer;
        b->stmts[k + 1] = w;   /* the zeroing loop stays: it writes each row whole (private rows) */
        /* about sixteen vectors of accumulators (jam_width is two) over all
         * rows: enough independent FMAs to cover their latency (triple-wise
         * attention n=128, one thread: 6.1 ms at 16 wide, 5.85 at 32; two
         * threads, alternating runs: 2.96-3.00 ms at 32, 2.80-2.93 at 64) */
        int width = 8 * o->jam_width / nr;
        if (width < o->jam_width / 2) width = o->jam_width / 2;
        while (width > o->jam_width / 2 && width > w->extent) width /= 2;
        tx_lir_jam_loop(f, b, k + 1, width);
        n++;
    }
    return n;
}

/* Interleave the partial sums of reduction loops that are not innermost
 * (tx_lir_interleave); the innermost loop that qualifies on each path. */
static int interleave(tx_lir_func *f, tx_lir_block *b, const tx_lir_sched_opts *o) {
    int n = 0;
    for (int k = 0; k < b->n; k++) {
        tx_lir_stmt *l = b->stmts[k];
        if (l->kind != TX_LIR_LOOP) continue;
        int inner = interleave(f, &l->body, o);
        n += inner;
        int before = b->n;
        if (inner == 0 && o->interleave >= 2 && tx_lir_interleave(f, b, k, o->interleave, o->max_nodes)) {
            n++;
            k += b->n - before;   /* past the partial sums' set-up, the loops and the total */
        }
    }
    return n;
}

/* Jam two iterations of the loops around a fused kernel's rows
 * (tx_lir_jam_rows); the outermost loop that qualifies on each path,
 * under the parallel loop. */
static int jam_rows(tx_lir_func *f, tx_lir_block *b, const tx_lir_sched_opts *o) {
    int n = 0;
    for (int k = 0; k < b->n; k++) {
        tx_lir_stmt *l = b->stmts[k];
        if (l->kind != TX_LIR_LOOP) continue;
        int before = b->n;
        if (o->jam_rows >= 2 && tx_lir_jam_rows(f, b, k, o->jam_rows, o->max_nodes)) {
            n++;
            k += b->n - before;
            continue;
        }
        n += jam_rows(f, &l->body, o);
    }
    return n;
}

int tx_lir_schedule(tx_lir_func *f, const tx_lir_sched_opts *o) {
    /* loop order, tiles and parallel loops are chosen on constant extents
     * and copy offsets without their symbolic factors: size-generic kernels
     * (txc build without --shape) stay the plain loop nest */
    if (tx_lir_is_generic(f)) return 0;
    int n = distribute(f, &f->body);
    n += jam_rows(f, &f->body, o);
    n += interleave(f, &f->body, o);
    if (o->jam_width >= 2) n += row_accs(f, &f->body, o);
    n += tile(f, o);
    if (o->parallel) n += tx_lir_mark_parallel(f, o->min_par_work);
    return n;
}
