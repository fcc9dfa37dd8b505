/*
 * blas.c -- BLAS dispatch of pairwise contractions (see ir/blas.h).
 *
 * A pairwise product out[O] = alpha * sum[K](A[..] * B[..]) has four index
 * groups (tx_plan_classify): batch (in A, B and out), left M (A and out),
 * right N (B and out) and contracted K (A and B).  Indices of extent 1 are
 * dropped: they never move an address.  Each group is read as one fused
 * index when, in every tensor holding it, its indices sit in one order
 * with strides that chain (stride[i] = stride[i+1] * extent[i+1]); the
 * order is taken from the output for M and N (so the output is written in
 * place) and from the larger operand for K.  Each tensor is then a stack
 * of matrices (rows, columns) = (M, K) for A, (K, N) for B, (M, N) for out,
 * usable in place when one of its two groups has unit stride: that picks
 * 'N' or 'T' and the leading dimension; an output with unit stride in M is
 * computed as out^T = B^T A^T.  A tensor that is not usable in place is
 * copied into a contiguous [batch, rows, columns] temporary (the output:
 * computed there, then permuted into place).  When that needs copies, up
 * to three left/right indices may instead become batch loops (stride 0 in
 * the operand that lacks them), whichever the cost model prefers: an
 * output [i,b,j] of A[i,j,k] * V[k,b] is one in-place product per i.  With
 * M and N both larger than 1 every batch point is one ?gemm; with one of
 * them 1 it is a ?gemv on the operand that is still a matrix (the other is
 * a strided vector); with both 1 it is a dot product, left to the loops.
 * Small and thin products run on one BLAS thread (runtime/linalg.c).
 *
 * The cost model (tx_blas_call_ns against tx_blas_loop_ns) charges a BLAS
 * definition a fixed cost per call, its multiply-adds at BLAS speed and
 * its copies at memory speed, and a loop nest its multiply-adds at the
 * speed the JIT's kernels reach on contractions.  Below the crossover
 * (multiply-adds per call) loops are used whatever the model says.
 *
 * The constants were measured on the benchmark machine (2-core Zen 5,
 * OpenBLAS 0.3.21, OPENBLAS_CORETYPE=Haswell) with
 * bench/blas_crossover/run.sh, steady state (kernels compiled, one
 * statement repeated 1000 times); the table is in
 * bench/blas_crossover/README.md.  In short, microseconds per statement,
 * loops vs BLAS: gemm n=8 7.7 vs 5.7, n=16 5.7 vs 2.1, n=64 82 vs 13;
 * gemv n=16 4.9 vs 5.1, n=32 7.0 vs 2.3; 64 batched n=8 products 21 vs 15,
 * n=16 31 vs 29.  BLAS wins from about 2000 multiply-adds per call.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1   /* madvise, MADV_HUGEPAGE */
#endif
#include "ir/blas.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "txrt_linalg.h"

#define MAXR TXRT_MAX_RANK

/* ---- the cost model ------------------------------------------------------------
 * Multiply-adds are real ones (a complex one counts 4).  Rates in
 * multiply-adds per nanosecond (bench/blas_crossover/README.md). */
#define BLAS_RATE 18.0        /* dgemm, Haswell kernels, 2 threads, mid-size: ~36 GFLOP/s */
#define LOOP_RATE 1.5         /* the JIT's loop nests on contractions (1.1-2.9 measured) */
#define CALL_NS 400.0         /* one BLAS call, beyond its arithmetic */
#define COPY_NS 1.0           /* one element permuted into a temporary */
#define BLAS_CROSSOVER 2048.0 /* multiply-adds per call below which loops win */

static double crossover = BLAS_CROSSOVER;

double tx_blas_set_crossover(double madds_per_call) {
    double old = crossover;
    crossover = madds_per_call >= 0 ? madds_per_call : BLAS_CROSSOVER;
    return old;
}

double tx_blas_get_crossover(void) { return crossover; }

double tx_blas_loop_ns(double madds) { return madds / LOOP_RATE; }

/* ---- layouts -------------------------------------------------------------------- */

/* A tensor's axes: index ids and element strides. */
typedef struct tview {
    int n;
    int ids[MAXR];
    int64_t stride[MAXR];
} tview;

/* An index group in its chosen order (extents > 1 only). */
typedef struct group {
    int n;
    int ids[MAXR];
    int64_t ext;
} group;

/* A tensor as the calls see it: stacked matrices (rows, cols). */
typedef struct side {
    bool copy;                /* through a contiguous [batch, rows, cols] temporary */
    int64_t sr, sc;           /* fused strides of rows and cols (1 for an empty group) */
    int64_t bstride[MAXR];    /* per batch index */
} side;

typedef struct layout {
    group bat, m, n, k;
    side a, b, c;
    int64_t nbatch;           /* batch points = calls */
    double madds;             /* real multiply-adds in all */
    double copy_elems;
    bool complex_;
} layout;

static int64_t ext_of(const tx_tir_stmt *def, int id) { return def->indices[id].extent; }

static int64_t stride_in(const tview *t, int id) {
    for (int k = 0; k < t->n; k++)
        if (t->ids[k] == id) return t->stride[k];
    return -1;
}

/* The order of group ids in t by falling stride, if they chain there. */
static bool natural_order(const tx_tir_stmt *def, const tview *t, const int *ids, int n, int *order) {
    int64_t s[MAXR];
    for (int k = 0; k < n; k++) {
        order[k] = ids[k];
        s[k] = stride_in(t, ids[k]);
        if (s[k] < 0) return false;
    }
    for (int x = 1; x < n; x++)
        for (int y = x; y > 0 && s[y - 1] < s[y]; y--) {
            int64_t ts = s[y];
            s[y] = s[y - 1];
            s[y - 1] = ts;
            int ti = order[y];
            order[y] = order[y - 1];
            order[y - 1] = ti;
        }
    for (int k = 0; k + 1 < n; k++)
        if (s[k] != s[k + 1] * ext_of(def, order[k + 1])) return false;
    return true;
}

/* The fused stride of group g (in its order) in t, or -1 when its indices
 * do not chain in that order; 1 for an empty group. */
static int64_t fused(const tx_tir_stmt *def, const tview *t, const group *g) {
    if (g->n == 0) return 1;
    int64_t inner = stride_in(t, g->ids[g->n - 1]);
    if (inner < 1) return -1;
    for (int k = g->n - 2; k >= 0; k--) {
        int64_t s = stride_in(t, g->ids[k]), want = stride_in(t, g->ids[k + 1]) * ext_of(def, g->ids[k + 1]);
        if (s != want) return -1;
    }
    return inner;
}

static void pick_order(const tx_tir_stmt *def, group *g, const tview *first, const tview *second) {
    int order[MAXR];
    if (g->n < 2) return;
    if (natural_order(def, first, g->ids, g->n, order) || natural_order(def, second, g->ids, g->n, order))
        memcpy(g->ids, order, sizeof(int) * (size_t)g->n);
    /* else: keep the order of the list (the copies make it so) */
}

/* An r x c matrix with element (i,j) at i*sr + j*sc, as a row-major BLAS
 * operand: 'N' or 'T' and the leading dimension. */
static bool orient(int64_t r, int64_t c, int64_t sr, int64_t sc, char *t, int64_t *ld) {
    if (c == 1) {
        *t = 'N';
        *ld = r == 1 ? 1 : sr;
        return *ld >= 1;
    }
    if (r == 1) {
        if (sc == 1) {
            *t = 'N';
            *ld = c;
            return true;
        }
        *t = 'T';
        *ld = sc;
        return sc >= 1;
    }
    if (sc == 1 && sr >= c) {
        *t = 'N';
        *ld = sr;
        return true;
    }
    if (sr == 1 && sc >= r) {
        *t = 'T';
        *ld = sc;
        return true;
    }
    return false;
}

/* Can t be used in place as (rows, cols) = (gr, gc)?  matrix: it must be
 * one for BLAS (else a strided vector will do). */
static bool side_in_place(const tx_tir_stmt *def, const tview *t, const group *gr, const group *gc, bool matrix,
                          side *s) {
    s->sr = fused(def, t, gr);
    s->sc = fused(def, t, gc);
    if (s->sr < 0 || s->sc < 0) return false;
    if (!matrix) return true;
    char tr;
    int64_t ld;
    return orient(gr->ext, gc->ext, s->sr, s->sc, &tr, &ld);
}

static void side_setup(const tx_tir_stmt *def, const tview *t, const layout *L, const group *gr, const group *gc,
                       bool matrix, side *s, double *copy_elems) {
    memset(s, 0, sizeof *s);
    if (side_in_place(def, t, gr, gc, matrix, s)) {
        for (int k = 0; k < L->bat.n; k++) {
            int64_t st = stride_in(t, L->bat.ids[k]);
            s->bstride[k] = st < 0 ? 0 : st;   /* a free index promoted to the batch: absent here */
        }
        return;
    }
    s->copy = true;
    s->sc = 1;
    s->sr = gc->ext;
    int64_t st = gr->ext * gc->ext;
    for (int k = L->bat.n - 1; k >= 0; k--) {
        if (stride_in(t, L->bat.ids[k]) < 0) {
            s->bstride[k] = 0;
            continue;
        }
        s->bstride[k] = st;
        st *= ext_of(def, L->bat.ids[k]);
    }
    *copy_elems += (double)st;
}

/* The layout of def (classified g) over tensors A, B and the output C.
 * false when BLAS cannot take it at all. */
static bool analyze(const tx_tir_stmt *def, const tx_plan_gemm *g, const tview *A, const tview *B, const tview *C,
                    bool cplx, uint64_t promote, layout *L) {
    memset(L, 0, sizeof *L);
    if (g->kind != TX_PLAN_GEMM && g->kind != TX_PLAN_GEMV) return false;
    const int *lists[4] = { g->batch, g->left, g->right, g->contract };
    const int cnt[4] = { g->nbatch, g->nleft, g->nright, g->ncontract };
    group *gs[4] = { &L->bat, &L->m, &L->n, &L->k };
    int nfree = 0;   /* left and right indices, numbered for `promote` */
    for (int q = 0; q < 4; q++) gs[q]->ext = 1;
    for (int q = 0; q < 4; q++) {
        for (int k = 0; k < cnt[q]; k++) {
            int id = lists[q][k];
            if (id < 0 || id >= def->nindices) return false;
            int64_t e = def->indices[id].extent;
            if (e <= 0) return false;   /* unknown or empty: nothing for BLAS */
            group *to = gs[q];
            if (q == 1 || q == 2) {
                /* a promoted left or right index becomes a batch loop (stride 0
                 * in the operand that lacks it) */
                if (nfree < 64 && (promote >> nfree & 1)) to = &L->bat;
                nfree++;
            }
            if (e == 1) continue;
            to->ids[to->n++] = id;
            if (to->ext > INT32_MAX / e) return false;  /* BLAS takes 32-bit sizes */
            to->ext *= e;
        }
    }
    /* orders: M and N as the output has them, K as the larger operand */
    pick_order(def, &L->m, C, A);
    pick_order(def, &L->n, C, B);
    double sa = (double)L->m.ext * (double)L->k.ext, sb = (double)L->k.ext * (double)L->n.ext;
    if (sa >= sb) pick_order(def, &L->k, A, B);
    else pick_order(def, &L->k, B, A);
    int64_t m = L->m.ext, n = L->n.ext;
    if (m == 1 && n == 1) return false;   /* a dot product: loops do as well */
    bool gemm = m > 1 && n > 1;
    L->nbatch = L->bat.ext;
    L->complex_ = cplx;
    L->madds = (double)L->nbatch * (double)m * (double)n * (double)L->k.ext * (cplx ? 4 : 1);
    side_setup(def, A, L, &L->m, &L->k, gemm || n == 1, &L->a, &L->copy_elems);
    side_setup(def, B, L, &L->k, &L->n, gemm || m == 1, &L->b, &L->copy_elems);
    side_setup(def, C, L, &L->m, &L->n, gemm, &L->c, &L->copy_elems);
    return true;
}

static double layout_ns(const layout *L) {
    return (double)L->nbatch * CALL_NS + L->madds / BLAS_RATE + L->copy_elems * COPY_NS * (L->complex_ ? 2 : 1);
}

/* The crossover decides on size (the fixed costs are in it, measured);
 * the model decides whether copies pay for themselves. */
static bool worth_it(const layout *L) {
    if (L->madds / (double)L->nbatch < crossover) return false;
    double copy_ns = L->copy_elems * COPY_NS * (L->complex_ ? 2 : 1);
    return copy_ns == 0 || copy_ns + L->madds / BLAS_RATE < tx_blas_loop_ns(L->madds);
}

/* The layout to use: as the groups come, or -- when that needs copies --
 * with up to three left/right indices turned into batch loops instead, if
 * that is estimated cheaper (an output [i,b,j] of A[i,j,k] * V[k,b] is 256
 * in-place products over i rather than one product and a permuting copy). */
static bool best_layout(const tx_tir_stmt *def, const tx_plan_gemm *g, const tview *A, const tview *B,
                        const tview *C, bool cplx, layout *L) {
    if (!analyze(def, g, A, B, C, cplx, 0, L)) return false;
    int nfree = g->nleft + g->nright;
    if (L->copy_elems == 0 || nfree > 12) return true;
    double best = layout_ns(L);
    for (uint64_t pm = 1; pm < ((uint64_t)1 << nfree); pm++) {
        if (__builtin_popcountll(pm) > 3) continue;
        layout T;
        if (!analyze(def, g, A, B, C, cplx, pm, &T) || T.madds / (double)T.nbatch < crossover) continue;
        double t = layout_ns(&T);
        if (t < best) {
            best = t;
            *L = T;
        }
    }
    return true;
}

/* ---- the DEF's shape -------------------------------------------------------------- */

/* The product under the scalar factors and the sum (as tx_plan_classify
 * peels them); the scalar factors into sc[] with their operation. */
typedef struct scal {
    int op;                   /* '*', '/', '-' */
    const tx_tir_expr *e;
} scal;

static const tx_tir_expr *peel(const tx_tir_stmt *def, scal *sc, int *nsc);

static bool is_scalar(const tx_tir_expr *e) {
    if (!e) return false;
    switch (e->kind) {
    case TX_TIR_CONST: return true;
    case TX_TIR_ACCESS:
        if (e->whole) return true;
        for (int k = 0; k < e->nsubs; k++)
            if (e->subs[k].nterms) return false;
        return true;
    case TX_TIR_UNARY: return e->op == TX_TOP_NEG && is_scalar(e->a);
    case TX_TIR_BINARY: return (e->op == TX_TOP_MUL || e->op == TX_TOP_DIV) && is_scalar(e->a) && is_scalar(e->b);
    default: return false;
    }
}

static const tx_tir_expr *peel(const tx_tir_stmt *def, scal *sc, int *nsc) {
    const tx_tir_expr *e = def->rhs;
    *nsc = 0;
    for (int guard = 0; e && guard < 64; guard++) {
        if (e->kind == TX_TIR_BINARY && (e->op == TX_TOP_MUL || e->op == TX_TOP_DIV) && is_scalar(e->b)) {
            sc[(*nsc)++] = (scal){ e->op == TX_TOP_MUL ? '*' : '/', e->b };
            e = e->a;
        } else if (e->kind == TX_TIR_BINARY && e->op == TX_TOP_MUL && is_scalar(e->a)) {
            sc[(*nsc)++] = (scal){ '*', e->a };
            e = e->b;
        } else if (e->kind == TX_TIR_UNARY && e->op == TX_TOP_NEG) {
            sc[(*nsc)++] = (scal){ '-', NULL };
            e = e->a;
        } else {
            break;
        }
    }
    if (e && e->kind == TX_TIR_REDUCE) e = e->a;
    if (!e || e->kind != TX_TIR_BINARY || e->op != TX_TOP_MUL) return NULL;
    return e;
}

/* The view of an access A[ids] over a tensor of the given shape (row-major). */
static bool access_view(const tx_tir_stmt *def, const tx_tir_expr *acc, const int64_t *shape, int rank, tview *v) {
    if (!acc || acc->kind != TX_TIR_ACCESS || acc->nsubs != rank || rank > MAXR) return false;
    v->n = rank;
    int64_t st = 1;
    for (int k = rank - 1; k >= 0; k--) {
        const tx_tir_affine *s = &acc->subs[k];
        if (s->nterms != 1) return false;
        int id = s->idx[0];
        if (id < 0 || id >= def->nindices) return false;
        const tx_tir_index *x = &def->indices[id];
        if (x->lo != 0 || x->extent < 0 || x->extent > shape[k]) return false;
        v->ids[k] = id;
        v->stride[k] = st;
        st *= shape[k];
    }
    return true;
}

/* The view of an access whose tensor is laid out as its subscripts say. */
static bool assumed_view(const tx_tir_stmt *def, const tx_tir_expr *acc, tview *v) {
    if (!acc || acc->kind != TX_TIR_ACCESS || acc->nsubs > MAXR) return false;
    int64_t shape[MAXR];
    for (int k = 0; k < acc->nsubs; k++) {
        if (acc->subs[k].nterms != 1) return false;
        int id = acc->subs[k].idx[0];
        if (id < 0 || id >= def->nindices) return false;
        shape[k] = def->indices[id].extent;
    }
    return access_view(def, acc, shape, acc->nsubs, v);
}

static bool out_view(const tx_tir_stmt *def, tview *v) {
    if (def->nout > MAXR) return false;
    v->n = def->nout;
    int64_t st = 1;
    for (int k = def->nout - 1; k >= 0; k--) {
        int id = def->out_idx[k];
        if (id < 0 || id >= def->nindices || def->indices[id].extent < 0) return false;
        v->ids[k] = id;
        v->stride[k] = st;
        st *= def->indices[id].extent;
    }
    return true;
}

static bool assumed_layout(const tx_tir_stmt *def, const tx_plan_gemm *g, layout *L) {
    scal sc[64];
    int nsc;
    const tx_tir_expr *p = peel(def, sc, &nsc);
    tview A, B, C;
    if (!p || !assumed_view(def, p->a, &A) || !assumed_view(def, p->b, &B) || !out_view(def, &C)) return false;
    return best_layout(def, g, &A, &B, &C, false, L);
}

bool tx_blas_eligible(const tx_tir_stmt *def, const tx_plan_gemm *g) {
    layout L;
    return def && g && assumed_layout(def, g, &L) && worth_it(&L);
}

double tx_blas_call_ns(const tx_tir_stmt *def, const tx_plan_gemm *g) {
    layout L;
    if (!def || !g || !assumed_layout(def, g, &L)) return INFINITY;
    return layout_ns(&L);
}

/* ---- running ------------------------------------------------------------------------ */

struct tx_blas {
    tx_def_backend inner;
    tx_blas_stats st;
    bool tiled_loops;         /* inner compiles products to vector register tiles */
};

void tx_blas_set_tiled_loops(tx_blas *b, bool on) { b->tiled_loops = on; }

/* Batches of products up to this many multiply-adds each go to the JIT's
 * register tiles instead (tiles_beat_blas); so do products whose tile
 * direction is short (SHORT_SIDE up to TILE_MIN_SIDE: one row of the tile
 * covers it), whatever their size; single products of SINGLE_MIN_MADDS to
 * SINGLE_MAX_MADDS (128^3 to 320^3); and from THIN_MIN_MADDS on, products
 * whose sum is at most THIN_K long (their tiles are four vectors wide,
 * ir/lir_sched.c) and thin products, whose tile direction is at most
 * THIN_SIDE long, when the operand read as vectors fits in THIN_MAX_BYTES. */
#define TILE_MAX_MADDS 1.7e7
#define TILE_MIN_SIDE 32
#define SHORT_SIDE 8
#define THIN_SIDE 128
#define THIN_MIN_MADDS 4e6
#define THIN_MAX_BYTES (2.0 * 1024 * 1024)
#define THIN_K 128
#define SINGLE_MIN_MADDS 2e6
#define BATCH_EVEN_MADDS 4e6
#define SINGLE_MAX_MADDS 3.4e7

/* Do the JIT's loops beat BLAS on L?  With register tiles emitted as
 * vectors (codegen/llvm.c, ir/lir_lanes.c) a batch of products runs in
 * parallel over the batch with no per-call cost, where BLAS makes one call
 * per product, each split over the threads; and OpenBLAS is slow on thin
 * outputs, which the tiles stream past a small operand kept in cache.
 * Measured on the benchmark machine (2 threads, f64, ms BLAS vs loops):
 *   batches C[b,i,j] = A[b,i,k]*B[b,k,j]: b=64 n=128 4.2-5.6 vs 3.4-3.9,
 *   b=16 n=128 0.98 vs 0.78, b=8 n=256 5.3 vs 3.4; b=64 64^3 and 96^3 and
 *   b=200 200x16x200 equal; b=4 n=384 equal, b=3 n=320 2.0 vs 2.5, b=2
 *   n=512 5.4 vs 8.1 (BLAS's cache blocking wins from ~320^3 on);
 *   single products m x k x n: 2048x4096x32 19.9 vs 5.7, 4096x512x64 6.7
 *   vs 3.5, 2048x2048x64 8.2 vs 6.7, 2048x2048x128 20-24 vs 13-16,
 *   1024x1024x96 2.9 vs 2.4, 4096x64x128 0.84 vs 0.69; 2048x2048x256
 *   and 512x4096x64 equal; square 128^3 and 256^3 equal, 384^3 1.13 vs
 *   1.41, 64^3 0.016 vs 0.020 (BLAS);
 *   short outputs (n < 32, whole rows jammed): 2000x20x20 0.040 vs 0.024,
 *   20x2000x20 0.035 vs 0.026, 256x256x20 0.088 vs 0.033, 4000x64x8 0.20
 *   vs 0.05, 4000x64x16 0.25 vs 0.09, 20000x256x16 9.0 vs 2.7, 2048x2048x24
 *   8.5 vs 1.9, 64x100000x16 10.7 vs 2.1, 20x200000x20 9.5 vs 3.6,
 *   200000x20x20 5.9 vs 3.0; 1000x16x16 about equal;
 *   short sums (k <= 128): 512x64x512 0.81 vs 0.31, 1024x64x1024 1.41 vs
 *   1.19, 2048x64x2048 7.7 vs 5.7, 4096x32x4096 23.5 vs 12.9, 2048x128x2048
 *   12.2 vs 10.9; 2048x256x2048 23.5 vs 22.4 (left to BLAS);
 *   single products with the four-vector tiles: 128^3 0.091 vs 0.081,
 *   192^3 0.28 vs 0.25, 256^3 0.71 vs 0.59, 320^3 1.32 vs 1.20, 384^3
 *   about equal, 512^3 2.6 vs 3.9 and 768^3 8.8 vs 9.6 (BLAS's);
 *   128x2048x128 0.62-0.76 vs 0.62, 160x1000x160 0.56 vs 0.47,
 *   200x800x200 0.68 vs 0.58, 64x4096x128 0.85-0.91 vs 0.63; 64^3 0.0136
 *   vs 0.0129 alone, but kron_solve's four 64^3 products went 0.45 -> 0.49
 *   ms as loops (their threads wake for 0.26M multiply-adds each; BLAS
 *   runs them on one).
 * The tile runs along the output's unit-stride index, so the operand
 * holding it must have unit stride there too (else the lanes would be
 * gathers), and that index must be long enough to jam.  The planner's
 * cost model (tx_blas_call_ns) does not know this rule: it prices such
 * products at BLAS speed, which the loops match or beat. */
static bool tiles_beat_blas(const tx_blas *bk, const layout *L, txrt_dtype dt) {
    if (!bk->tiled_loops || dt != TXRT_F64) return false;
    if (L->a.copy || L->b.copy || L->c.copy || L->k.ext < 1) return false;
    /* the tile runs along one index; the rows may be several (X[i,j,k]*C[k,r]) */
    bool along_n = L->n.n == 1 && L->c.sc == 1 && L->b.sc == 1 && L->n.ext >= SHORT_SIDE && L->m.ext >= 4;
    bool along_m = !along_n && L->m.n == 1 && L->c.sr == 1 && L->a.sr == 1 && L->m.ext >= SHORT_SIDE &&
                   L->n.ext >= 4;
    if (!along_n && !along_m) return false;
    int64_t side = along_n ? L->n.ext : L->m.ext;
    double per = L->madds / (double)L->nbatch;
    if (side < TILE_MIN_SIDE || (L->k.ext <= THIN_K && per >= THIN_MIN_MADDS)) return true;
    /* the loops run a batch's products whole on the threads: fewer than two
     * big ones per thread that do not divide among them leave a thread idle
     * too long (3 of 256^3 on 2 threads: BLAS 1.05 ms, loops 1.19; 5 of
     * 200^3: 0.91-1.16 vs 0.85-0.87; 3 of 128^3: 0.29 vs 0.15) */
    int nt = txrt_get_threads();
    if (L->nbatch >= 2 && per <= TILE_MAX_MADDS &&
        (nt <= 1 || L->nbatch % nt == 0 || L->nbatch >= 2 * nt || per < BATCH_EVEN_MADDS))
        return true;
    if (L->nbatch == 1 && per >= SINGLE_MIN_MADDS && per <= SINGLE_MAX_MADDS) return true;
    double vec_bytes = 8.0 * (double)L->k.ext * (double)side;
    return side <= THIN_SIDE && per >= THIN_MIN_MADDS && vec_bytes <= THIN_MAX_BYTES;
}

tx_blas *tx_blas_new(const tx_def_backend *inner) {
    tx_blas *b = calloc(1, sizeof *b);
    if (!b) abort();
    if (inner) b->inner = *inner;
    return b;
}

void tx_blas_free(tx_blas *b) { free(b); }

void tx_blas_get_stats(const tx_blas *b, tx_blas_stats *out) {
    if (b) *out = b->st;
    else memset(out, 0, sizeof *out);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

/* complex arithmetic on (re, im) pairs */
static void cmul(double *r, double *i, double br, double bi) {
    double ar = *r, ai = *i;
    *r = ar * br - ai * bi;
    *i = ar * bi + ai * br;
}

static void cdiv(double *r, double *i, double br, double bi) {
    double ar = *r, ai = *i;
    if (bi == 0) {
        *r = ar / br;
        *i = ai / br;
        return;
    }
    double den = br * br + bi * bi;
    *r = (ar * br + ai * bi) / den;
    *i = (ai * br - ar * bi) / den;
}

/* The value of a scalar factor (is_scalar); false when it cannot be read. */
static bool scalar_value(const tx_tir_expr *e, txrt_tensor *(*get)(void *, const char *), void *getctx, double *re,
                         double *im) {
    switch (e->kind) {
    case TX_TIR_CONST:
        *re = e->re;
        *im = e->is_complex ? e->im : 0;
        return true;
    case TX_TIR_ACCESS: {
        txrt_tensor *t = get(getctx, e->var);
        if (!t) return false;
        int64_t off = 0;
        if (e->whole || e->nsubs == 0) {
            if (t->size != 1) return false;
        } else {
            if (e->nsubs != t->rank) return false;
            for (int k = 0; k < e->nsubs; k++) {
                int64_t c = e->subs[k].c0;
                if (c < 0) c += t->shape[k];
                if (c < 0 || c >= t->shape[k]) return false;
                off = off * t->shape[k] + c;
            }
        }
        txrt_get(t, off, re, im);
        return true;
    }
    case TX_TIR_UNARY:
        if (!scalar_value(e->a, get, getctx, re, im)) return false;
        *re = -*re;
        *im = -*im;
        return true;
    case TX_TIR_BINARY: {
        double br, bi;
        if (!scalar_value(e->a, get, getctx, re, im) || !scalar_value(e->b, get, getctx, &br, &bi)) return false;
        if (e->op == TX_TOP_MUL) cmul(re, im, br, bi);
        else cdiv(re, im, br, bi);
        return true;
    }
    default: return false;
    }
}

/* dst[...] = src[...] over an nd-dimensional box of extents ext, both
 * strided (elements of `elem` bytes). */
static void copy_strided(char *dst, const int64_t *ds, const char *src, const int64_t *ss, const int64_t *ext, int nd,
                         size_t elem) {
    if (nd == 0) {
        memcpy(dst, src, elem);
        return;
    }
    int64_t idx[MAXR] = { 0 };
    int64_t n = ext[nd - 1], dsi = ds[nd - 1] * (int64_t)elem, ssi = ss[nd - 1] * (int64_t)elem;
    for (;;) {
        int64_t doff = 0, soff = 0;
        for (int k = 0; k < nd - 1; k++) doff += idx[k] * ds[k], soff += idx[k] * ss[k];
        char *d = dst + doff * (int64_t)elem;
        const char *s = src + soff * (int64_t)elem;
        switch (elem) {
        case 4:
            for (int64_t q = 0; q < n; q++) *(uint32_t *)(d + q * dsi) = *(const uint32_t *)(s + q * ssi);
            break;
        case 8:
            for (int64_t q = 0; q < n; q++) *(uint64_t *)(d + q * dsi) = *(const uint64_t *)(s + q * ssi);
            break;
        default:
            for (int64_t q = 0; q < n; q++) memcpy(d + q * dsi, s + q * ssi, elem);
            break;
        }
        int k = nd - 2;
        for (; k >= 0; k--) {
            if (++idx[k] < ext[k]) break;
            idx[k] = 0;
        }
        if (k < 0) return;
    }
}

/* The box [batch, rows, cols] of tensor view t, as strides of t and of a
 * contiguous temporary. */
static int box_of(const tx_tir_stmt *def, const tview *t, const layout *L, const group *gr, const group *gc,
                  int64_t *ext, int64_t *tstr, int64_t *cstr) {
    const group *gs[3] = { &L->bat, gr, gc };
    int nd = 0;
    for (int q = 0; q < 3; q++)
        for (int k = 0; k < gs[q]->n; k++) {
            if (stride_in(t, gs[q]->ids[k]) < 0) continue;   /* a promoted index t lacks */
            ext[nd] = ext_of(def, gs[q]->ids[k]);
            tstr[nd] = stride_in(t, gs[q]->ids[k]);
            nd++;
        }
    int64_t st = 1;
    for (int k = nd - 1; k >= 0; k--) {
        cstr[k] = st;
        st *= ext[k];
    }
    return nd;
}

static double box_elems(const int64_t *ext, int nd) {
    double n = 1;
    for (int k = 0; k < nd; k++) n *= (double)ext[k];
    return n;
}

/* A temporary for a permuted operand or result; from 2 MiB on aligned to
 * 2 MiB and marked for huge pages, as the runtime's tensors are (a 4 KiB
 * page fault costs ~11 us on the target machines). */
static void *alloc_temp(double elems, size_t elem) {
    void *p = NULL;
    size_t bytes = (size_t)elems * elem, huge = (size_t)2 << 20;
    if (elems * (double)elem > 9e18) return NULL;
    if (posix_memalign(&p, bytes >= huge ? huge : 64, bytes ? bytes : 64) != 0) return NULL;
#ifdef MADV_HUGEPAGE
    if (bytes >= huge) (void)madvise(p, bytes, MADV_HUGEPAGE);   /* a hint */
#endif
    return p;
}

/* Run def through BLAS.  Returns 0 when done, -1 to pass it on. */
/* The BLAS calls of one contraction: one per batch point. */
typedef struct calls_job {
    const tx_tir_stmt *def;
    const layout *L;
    const char *pa, *pb;
    char *pc;
    size_t es;
    double ar, ai;
    txrt_dtype dtype;
    pthread_mutex_t lock;
    int rc, ngemm, nsyrk, ngemv;
} calls_job;

/* Batch points [q0, q1) (the last batch index fastest). */
static void calls_chunk(void *arg, int64_t q0, int64_t q1) {
    calls_job *j = arg;
    const layout *L = j->L;
    const tx_tir_stmt *def = j->def;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    int64_t m = L->m.ext, n = L->n.ext, k = L->k.ext;
    int64_t bidx[MAXR] = { 0 };
    for (int64_t rest = q0, jj = L->bat.n - 1; jj >= 0; jj--) {
        int64_t e = ext_of(def, L->bat.ids[jj]);
        bidx[jj] = rest % e;
        rest /= e;
    }
    int rc = 0, ngemm = 0, nsyrk = 0, ngemv = 0;
    for (int64_t q = q0; q < q1 && rc == 0; q++) {
        int64_t oa = 0, ob = 0, oc = 0;
        for (int jj = 0; jj < L->bat.n; jj++) {
            oa += bidx[jj] * L->a.bstride[jj];
            ob += bidx[jj] * L->b.bstride[jj];
            oc += bidx[jj] * L->c.bstride[jj];
        }
        const char *xa = j->pa + oa * (int64_t)j->es, *xb = j->pb + ob * (int64_t)j->es;
        char *xc = j->pc + oc * (int64_t)j->es;
        double ar = j->ar, ai = j->ai;
        if (m > 1 && n > 1) {
            char t1, t2, tc;
            int64_t l1, l2, lc;
            orient(m, n, L->c.sr, L->c.sc, &tc, &lc);
            const char *x1 = xa, *x2 = xb;
            int64_t r = m, c = n;
            if (tc == 'N') {
                orient(m, k, L->a.sr, L->a.sc, &t1, &l1);
                orient(k, n, L->b.sr, L->b.sc, &t2, &l2);
            } else {
                /* out^T = B^T A^T */
                orient(n, k, L->b.sc, L->b.sr, &t1, &l1);
                orient(k, m, L->a.sc, L->a.sr, &t2, &l2);
                x1 = xb, x2 = xa, r = n, c = m;
            }
            /* X X^T or X^T X (one operand's memory read both ways): the
             * result is symmetric and ?syrk does half the work */
            if (x1 == x2 && r == c && l1 == l2 && ((t1 == 'N' && t2 == 'T') || (t1 == 'T' && t2 == 'N'))) {
                rc = txrt_syrk_c(&ctx, t1, r, k, ar, ai, x1, l1, xc, lc, j->dtype);
                nsyrk++;
            } else {
                rc = txrt_gemm_c(&ctx, t1, t2, r, c, k, ar, ai, x1, l1, x2, l2, 0, 0, xc, lc, j->dtype);
                ngemm++;
            }
        } else if (n == 1) {
            /* out[M] = A[M,K] b[K] */
            char t;
            int64_t ld;
            orient(m, k, L->a.sr, L->a.sc, &t, &ld);
            if (t == 'N') rc = txrt_gemv_c(&ctx, 'N', m, k, ar, ai, xa, ld, xb, L->b.sr, 0, 0, xc, L->c.sr, j->dtype);
            else rc = txrt_gemv_c(&ctx, 'T', k, m, ar, ai, xa, ld, xb, L->b.sr, 0, 0, xc, L->c.sr, j->dtype);
            ngemv++;
        } else {
            /* out[N] = a[K] B[K,N] = (B^T a)[N] */
            char t;
            int64_t ld;
            orient(n, k, L->b.sc, L->b.sr, &t, &ld);
            if (t == 'N') rc = txrt_gemv_c(&ctx, 'N', n, k, ar, ai, xb, ld, xa, L->a.sc, 0, 0, xc, L->c.sc, j->dtype);
            else rc = txrt_gemv_c(&ctx, 'T', k, n, ar, ai, xb, ld, xa, L->a.sc, 0, 0, xc, L->c.sc, j->dtype);
            ngemv++;
        }
        for (int jj = L->bat.n - 1; jj >= 0; jj--) {
            if (++bidx[jj] < ext_of(def, L->bat.ids[jj])) break;
            bidx[jj] = 0;
        }
    }
    pthread_mutex_lock(&j->lock);
    if (rc != 0) j->rc = rc;
    j->ngemm += ngemm;
    j->nsyrk += nsyrk;
    j->ngemv += ngemv;
    pthread_mutex_unlock(&j->lock);
}

/* A product A[i,k]*B[j,k] whose B is read across its rows (C[i,j] runs
 * along j, B[j,k] along k): BLAS takes it transposed, the register tiles
 * cannot (their lanes run along j).  A transposed copy of B (n*k elements,
 * ~0.1 ms for softmax attention's 2048x64 K) turns it into a product the
 * tiles take, when they beat BLAS on that (the short sum of Q K^T:
 * softmax attention 17.1 -> 15.4 ms, written with an explicit transpose).
 * Only a whole rank-2 B read as B[j,k]. */
#define TRANSPOSE_B 1
#define TILES 2       /* try_blas: the wrapped backend's loops beat BLAS on it as it is */

static bool tiles_if_transposed(const tx_blas *bk, const tx_tir_stmt *def, const layout *L, const tx_tir_expr *b,
                                const txrt_tensor *tb, txrt_dtype dt) {
    if (!bk->tiled_loops || L->b.copy || L->n.n != 1 || L->k.n != 1 || L->nbatch != 1 || L->b.sr != 1 ||
        tb->rank != 2 || b->nsubs != 2)
        return false;
    for (int q = 0; q < 2; q++) {
        const tx_tir_affine *x = &b->subs[q];
        if (x->nterms != 1 || x->coef[0] != 1 || x->c0 != 0 || def->indices[x->idx[0]].extent != tb->shape[q])
            return false;
    }
    if (b->subs[0].idx[0] != L->n.ids[0] || b->subs[1].idx[0] != L->k.ids[0]) return false;
    layout T = *L;
    T.b.sc = 1;
    T.b.sr = tb->shape[0];
    return tiles_beat_blas(bk, &T, dt);
}

static int try_blas(tx_blas *bk, const tx_tir_stmt *def, const tx_plan_gemm *g, txrt_tensor *out,
                    txrt_tensor *(*get)(void *, const char *), void *getctx, bool loops) {
    scal sc[64];
    int nsc;
    const tx_tir_expr *p = peel(def, sc, &nsc);
    if (!p || p->a->kind != TX_TIR_ACCESS || p->b->kind != TX_TIR_ACCESS) return -1;
    txrt_tensor *ta = get(getctx, p->a->var), *tb = get(getctx, p->b->var);
    if (!ta || !tb || ta->dtype != out->dtype || tb->dtype != out->dtype) return -1;
    tview A, B, C;
    if (!access_view(def, p->a, ta->shape, ta->rank, &A) || !access_view(def, p->b, tb->shape, tb->rank, &B) ||
        !out_view(def, &C))
        return -1;
    for (int k = 0; k < C.n; k++)
        if (k >= out->rank || out->shape[k] != def->indices[C.ids[k]].extent) return -1;
    if (C.n != out->rank) return -1;
    bool cplx = txrt_dtype_is_complex(out->dtype);
    layout L;
    if (!best_layout(def, g, &A, &B, &C, cplx, &L) || !worth_it(&L)) return -1;
    if (loops && tiles_beat_blas(bk, &L, out->dtype)) return TILES;
    if (loops && tiles_if_transposed(bk, def, &L, p->b, tb, out->dtype)) return TRANSPOSE_B;
    /* alpha */
    double ar = 1, ai = 0;
    for (int k = 0; k < nsc; k++) {
        double vr, vi;
        if (sc[k].op == '-') {
            ar = -ar;
            ai = -ai;
            continue;
        }
        if (!scalar_value(sc[k].e, get, getctx, &vr, &vi)) return -1;
        if (sc[k].op == '*') cmul(&ar, &ai, vr, vi);
        else cdiv(&ar, &ai, vr, vi);
    }
    if (!cplx && ai != 0) return -1;

    double t0 = now_ms();
    size_t es = txrt_dtype_size(out->dtype);
    const char *pa = ta->data, *pb = tb->data;
    char *pc = out->data;
    void *tmp[3] = { NULL, NULL, NULL };
    int rc = 0;
    int64_t ext[MAXR], ts[MAXR], cs[MAXR];
    if (L.a.copy) {
        int nd = box_of(def, &A, &L, &L.m, &L.k, ext, ts, cs);
        if (!(tmp[0] = alloc_temp(box_elems(ext, nd), es))) goto fail;
        copy_strided(tmp[0], cs, pa, ts, ext, nd, es);
        pa = tmp[0];
        bk->st.ncopies++;
    }
    if (L.b.copy) {
        int nd = box_of(def, &B, &L, &L.k, &L.n, ext, ts, cs);
        if (!(tmp[1] = alloc_temp(box_elems(ext, nd), es))) goto fail;
        copy_strided(tmp[1], cs, pb, ts, ext, nd, es);
        pb = tmp[1];
        bk->st.ncopies++;
    }
    if (L.c.copy) {
        int nd = box_of(def, &C, &L, &L.m, &L.n, ext, ts, cs);
        if (!(tmp[2] = alloc_temp(box_elems(ext, nd), es))) goto fail;
        pc = tmp[2];
    }
    {
        calls_job j = { .def = def, .L = &L, .pa = pa, .pb = pb, .pc = pc, .es = es, .ar = ar, .ai = ai,
                        .dtype = out->dtype, .lock = PTHREAD_MUTEX_INITIALIZER };
        int64_t m = L.m.ext, n = L.n.ext, k = L.k.ext;
        double c4 = cplx ? 4 : 1;
        bool small = m > 1 && n > 1 ? txrt_blas_is_small((double)m * (double)n * (double)k * c4, m < n ? m : n)
                                    : txrt_blas_is_small((double)(m > 1 ? m : n) * (double)k * c4, INT64_MAX);
        /* independent calls that each run on one OpenBLAS thread share
         * txc's threads instead (200 products of 200x200x16 in mttkrp) */
        if (L.nbatch >= 2 && small && txrt_get_threads() > 1) {
            txrt_blas_single();
            txrt_parallel_for(L.nbatch, calls_chunk, &j);
        } else {
            calls_chunk(&j, 0, L.nbatch);
        }
        pthread_mutex_destroy(&j.lock);
        rc = j.rc;
        bk->st.ngemm += j.ngemm;
        bk->st.nsyrk += j.nsyrk;
        bk->st.ngemv += j.ngemv;
    }
    if (rc != 0) goto fail;
    if (L.c.copy) {
        int nd = box_of(def, &C, &L, &L.m, &L.n, ext, ts, cs);
        copy_strided(out->data, ts, tmp[2], cs, ext, nd, es);
        bk->st.ncopies++;
    }
    free(tmp[0]);
    free(tmp[1]);
    free(tmp[2]);
    bk->st.ndefs++;
    bk->st.run_ms += now_ms() - t0;
    return 0;
fail:
    /* out may be partly written: zero it again for whoever runs the def */
    memset(out->data, 0, (size_t)out->size * es);
    free(tmp[0]);
    free(tmp[1]);
    free(tmp[2]);
    return -1;
}

/* Names as the wrapped backend sees them: the transposed copy under its
 * own name, the rest as before. */
typedef struct with_temp {
    txrt_tensor *(*get)(void *, const char *);
    void *ctx;
    const char *name;
    txrt_tensor *t;
} with_temp;

static txrt_tensor *with_temp_get(void *self, const char *name) {
    with_temp *w = self;
    return strcmp(name, w->name) == 0 ? w->t : w->get(w->ctx, name);
}

/* Run def with its operand B[j,k] read as %T.B[k,j] from a transposed copy
 * (see tiles_if_transposed), on the wrapped backend; -1 when it cannot. */
static int run_transposed(tx_blas *bk, const tx_tir_stmt *def, txrt_tensor *out,
                          txrt_tensor *(*get)(void *, const char *), void *getctx, tx_diags *d) {
    scal sc[64];
    int nsc;
    const tx_tir_expr *p = peel(def, sc, &nsc);
    const tx_tir_expr *b = p->b;
    const txrt_tensor *tb = get(getctx, b->var);
    int64_t n = tb->shape[0], k = tb->shape[1], shape[2] = { k, n };
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    txrt_tensor *t = txrt_tensor_new_uninit(&ctx, TXRT_F64, 2, shape);
    if (!t) return -1;
    const double *src = tb->data;
    double *dst = t->data;
    for (int64_t j0 = 0; j0 < n; j0 += 32)   /* 32 x 32 blocks: both sides stay in cache */
        for (int64_t k0 = 0; k0 < k; k0 += 32)
            for (int64_t j = j0; j < n && j < j0 + 32; j++)
                for (int64_t q = k0; q < k && q < k0 + 32; q++) dst[q * n + j] = src[j * k + q];
    tx_arena *a = tx_arena_new(1024);
    tx_tir_expr *acc = TX_NEW(a, tx_tir_expr);
    *acc = *b;
    acc->var = tx_arena_printf(a, "%%T.%s", b->var);
    acc->subs = TX_NEWN(a, tx_tir_affine, 2);
    acc->subs[0] = b->subs[1];
    acc->subs[1] = b->subs[0];
    tx_tir_stmt *d2 = TX_NEW(a, tx_tir_stmt);
    *d2 = *def;
    d2->rhs = tx_tir_replace(a, def->rhs, b, acc);
    with_temp w = { get, getctx, acc->var, t };
    int rc = bk->inner.run_def ? bk->inner.run_def(bk->inner.self, d2, out, with_temp_get, &w, d) : -1;
    if (rc == 0) bk->st.ntransposed++;
    tx_arena_free(a);
    txrt_release(t);
    return rc;
}

static int run_def(void *self, const tx_tir_stmt *def, txrt_tensor *out,
                   txrt_tensor *(*get)(void *getctx, const char *name), void *getctx, tx_diags *d) {
    tx_blas *b = self;
    tx_plan_gemm g;
    tx_plan_classify(def, &g);
    int r = g.blas ? try_blas(b, def, &g, out, get, getctx, true) : -1;
    if (r == 0) return 0;
    int rc = -1;
    if (r == TRANSPOSE_B) rc = run_transposed(b, def, out, get, getctx, d);
    else if (b->inner.run_def) rc = b->inner.run_def(b->inner.self, def, out, get, getctx, d);
    /* the loops were declined (no backend behind BLAS, or it refused the
     * def): BLAS after all, and the evaluator only for what BLAS refuses */
    if (rc < 0 && (r == TILES || r == TRANSPOSE_B)) {
        if (try_blas(b, def, &g, out, get, getctx, false) == 0) return 0;
        if (r == TRANSPOSE_B && b->inner.run_def) rc = b->inner.run_def(b->inner.self, def, out, get, getctx, d);
    }
    b->st.npassed++;
    return rc;
}

tx_def_backend tx_blas_backend(tx_blas *b) {
    tx_def_backend r = { run_def, b };
    return r;
}
