/*
 * plan.c -- the contraction planner (see ir/plan.h for what it does).
 *
 *  1. The order search on an abstract network (tx_plan_search).  Terms are
 *     index sets held as 128-bit masks.  A subset S of terms, contracted
 *     together, keeps res(S) = idx(S) & (idx(outside S) | out): an index
 *     is summed in the first step after which nothing else needs it.  A
 *     step joining A and B costs prod(extents of res(A) | res(B)).  Up to
 *     dp_max terms the search is exact: best(S) = min over splits of
 *     best(A) + best(B) + step(A, B), visiting every submask (outer
 *     products included, so it equals a search over all trees), ties going
 *     to the smaller largest intermediate, a cap making subsets whose
 *     result is too big infeasible.  Beyond that: greedy (cheapest step
 *     first, connected pairs before outer products), random-greedy
 *     restarts, then a local search that re-solves windows of up to 8
 *     operands of the best tree exactly, all within a time budget.
 *
 *  2. The BLAS shape of a pairwise DEF (tx_plan_classify).
 *
 *  3. Planning one DEF (tx_plan_def).  The right-hand side is rewritten
 *     bottom-up by rewrite(): a product-sum (a tree of *, /, unary - and
 *     sum[...] over other expressions) is flattened into a network of
 *     factors; non-linear subexpressions are opaque leaves whose own
 *     reductions are rewritten first; a reduction whose free indices are
 *     fewer than those of the loops around it is computed once into a
 *     temporary (hoist()).  plan_network() then substitutes deltas, sums
 *     private indices out of their factor, searches, and emits one DEF per
 *     pairwise step: results are laid out top-down in the order their
 *     consumer loops over them (unit stride in the loop nests that read
 *     them), leaves are computed into temporaries when they are smaller
 *     than the step that reads them, and factors that do not depend on the
 *     last step's sums are applied after it (unless that step is a plain
 *     BLAS product, which stays one).  Generated DEFs declare every
 *     index's size, so their ranges never depend on what was split off.
 *     Temporaries go through a memo keyed by a canonical text of their
 *     right-hand side (indices renamed by first appearance), so an
 *     identical step is computed once.  Finally the loop-nest FLOPs of the
 *     replacement are compared with the original's; the statement is
 *     rewritten only when that is a gain.
 *
 *  4. Whole programs (tx_plan_program, with the sizes the checker left in
 *     each DEF; one memo per unit, killed entry by entry as statements
 *     assign the variables it read) and
 *  5. the run-time rewriter the evaluator calls with concrete sizes.
 *
 * Everything is allocated in the caller's arena except the search's
 * scratch tables.  Nothing here prints.
 */
#include "ir/plan.h"

#include "ir/blas.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef unsigned __int128 imask;

#define MAXIX 128          /* indices per network (mask width) */
#define MAXTERMS 64        /* terms per network (term-set width) */
#define DP_HARD_MAX 20     /* the exact search never goes beyond this */
#define WINDOW 8           /* operands re-solved at once by the local search */

static const double INF = 1.0 / 0.0;

/* ---- small helpers ---------------------------------------------------------------- */

static inline imask bit(int k) { return (imask)1 << k; }

static inline int popc(imask m) {
    return __builtin_popcountll((uint64_t)m) + __builtin_popcountll((uint64_t)(m >> 64));
}

static inline int lowbit(imask m) {
    uint64_t lo = (uint64_t)m;
    return lo ? __builtin_ctzll(lo) : 64 + __builtin_ctzll((uint64_t)(m >> 64));
}

/* product of the extents of the indices in m */
static inline double msize(imask m, const double *ext) {
    double s = 1;
    uint64_t lo = (uint64_t)m, hi = (uint64_t)(m >> 64);
    while (lo) {
        s *= ext[__builtin_ctzll(lo)];
        lo &= lo - 1;
    }
    while (hi) {
        s *= ext[64 + __builtin_ctzll(hi)];
        hi &= hi - 1;
    }
    return s;
}

static void *xcalloc(size_t n, size_t k) {
    void *p = calloc(n ? n : 1, k ? k : 1);
    if (!p) abort();
    return p;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return 1e3 * (double)ts.tv_sec + 1e-6 * (double)ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *s) {   /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s) { return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0); }

void tx_plan_opts_default(tx_plan_opts *o) {
    memset(o, 0, sizeof *o);
    o->max_intermediate = 0;
    o->dp_max = 16;
    o->budget_ms = 40;
    o->seed = 0x7478636f6e747261ull;
    o->step_ns = 2e6;
}

/* A growable text buffer in malloc memory (copied into the arena at the end). */
typedef struct sbuf {
    char *s;
    size_t n, cap;
} sbuf;

static void sb_putn(sbuf *b, const char *t, size_t k) {
    if (b->n + k + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + k + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) abort();
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, t, k);
    b->n += k;
    b->s[b->n] = 0;
}

static void sb_put(sbuf *b, const char *t) { sb_putn(b, t, strlen(t)); }

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if ((size_t)k < sizeof tmp) {
        sb_putn(b, tmp, (size_t)k);
        return;
    }
    char *big = malloc((size_t)k + 1);
    if (!big) abort();
    va_start(ap, fmt);
    vsnprintf(big, (size_t)k + 1, fmt, ap);
    va_end(ap);
    sb_putn(b, big, (size_t)k);
    free(big);
}

static const char *sb_done(sbuf *b, tx_arena *a) {
    const char *r = tx_arena_strdup(a, b->s ? b->s : "");
    free(b->s);
    memset(b, 0, sizeof *b);
    return r;
}

/* ==== 1. the order search ========================================================== */

typedef struct snet {
    int n;                 /* terms */
    imask m[MAXTERMS];     /* term masks after private indices were summed */
    imask out;
    const double *ext;
    double cap;            /* 0: none */
    double pre;            /* cost of summing private indices */
    double prebig;         /* largest pre-reduced term */
} snet;

/* Is a result of this mask allowed as an intermediate? */
static inline bool fits(const snet *s, imask r, double size) {
    if (popc(r) > TXRT_MAX_RANK) return false;
    return !(s->cap > 0 && size > s->cap);
}

/* Exact search over subsets of the n masks m (n <= DP_HARD_MAX) with output
 * `out`.  Writes n-1 pairs (operands 0..n-1, n+s for step s) in post-order.
 * Returns false when nothing fits the cap. */
static bool dp_solve(const imask *m, int n, imask out, const double *ext, double cap, int (*pair)[2],
                     double *cost, double *big) {
    if (n == 1) {
        *cost = 0;
        *big = 0;
        return true;
    }
    size_t N = (size_t)1 << n;
    uint32_t full = (uint32_t)(N - 1);
    imask *uni = xcalloc(N, sizeof *uni), *res = xcalloc(N, sizeof *res);
    double *size = xcalloc(N, sizeof *size), *best = xcalloc(N, sizeof *best), *bbig = xcalloc(N, sizeof *bbig);
    uint32_t *split = xcalloc(N, sizeof *split);
    snet cs = { 0 };
    cs.cap = cap;
    for (size_t S = 1; S < N; S++) uni[S] = uni[S & (S - 1)] | m[__builtin_ctz((unsigned)S)];
    for (size_t S = 1; S < N; S++) {
        res[S] = uni[S] & (uni[full ^ S] | out);
        size[S] = msize(res[S], ext);
    }
    for (size_t S = 1; S < N; S++) {
        if ((S & (S - 1)) == 0) {
            best[S] = 0;
            bbig[S] = 0;
            continue;
        }
        if (S != full && !fits(&cs, res[S], size[S])) {
            best[S] = INF;
            continue;
        }
        uint32_t low = (uint32_t)(S & -S), rest = (uint32_t)S ^ low;
        double bc = INF, bb = INF;
        uint32_t bs = 0;
        for (uint32_t sub = rest;; sub = (sub - 1) & rest) {
            uint32_t A = sub | low, B = (uint32_t)S ^ A;
            if (B != 0 && best[A] < INF && best[B] < INF) {
                double base = best[A] + best[B];
                double lb = base + (size[A] > size[B] ? size[A] : size[B]);
                if (lb <= bc) {
                    imask U = res[A] | res[B];
                    if (S == full) U |= out;
                    double c = base + msize(U, ext);
                    double bg = bbig[A] > bbig[B] ? bbig[A] : bbig[B];
                    if (S != full && size[S] > bg) bg = size[S];
                    if (c < bc || (c == bc && bg < bb)) {
                        bc = c;
                        bb = bg;
                        bs = A;
                    }
                }
            }
            if (sub == 0) break;
        }
        best[S] = bc;
        bbig[S] = bb;
        split[S] = bs;
    }
    bool ok = best[full] < INF;
    if (ok) {
        *cost = best[full];
        *big = bbig[full];
        /* post-order reconstruction with an explicit stack */
        uint32_t stk[2 * DP_HARD_MAX + 2];
        int state[2 * DP_HARD_MAX + 2], opnd[2 * DP_HARD_MAX + 2];
        int sp = 0, ns = 0, nres = 0;
        int vals[2 * DP_HARD_MAX + 2];
        stk[sp] = full;
        state[sp++] = 0;
        while (sp) {
            uint32_t S = stk[sp - 1];
            if ((S & (S - 1)) == 0) {
                vals[nres++] = __builtin_ctz(S);
                sp--;
                continue;
            }
            if (state[sp - 1] == 0) {
                state[sp - 1] = 1;
                stk[sp] = split[S];
                state[sp++] = 0;
            } else if (state[sp - 1] == 1) {
                state[sp - 1] = 2;
                stk[sp] = S ^ split[S];
                state[sp++] = 0;
            } else {
                int r = vals[--nres], l = vals[--nres];
                pair[ns][0] = l;
                pair[ns][1] = r;
                vals[nres++] = n + ns++;
                sp--;
            }
        }
        (void)opnd;
    }
    free(uni);
    free(res);
    free(size);
    free(best);
    free(bbig);
    free(split);
    return ok;
}

/* Evaluate a tree given as pairs: result masks, term sets and subtree costs
 * of every operand (arrays of 2n-1), total cost and largest intermediate. */
static double tree_eval(const snet *s, const int (*pair)[2], int ns, imask *res, uint64_t *ls, double *sub,
                        double *big) {
    int n = s->n;
    double total = 0, bg = 0;
    imask all = 0;
    for (int t = 0; t < n; t++) {
        res[t] = s->m[t];
        ls[t] = (uint64_t)1 << t;
        sub[t] = 0;
        all |= s->m[t];
    }
    for (int k = 0; k < ns; k++) {
        int l = pair[k][0], r = pair[k][1], v = n + k;
        ls[v] = ls[l] | ls[r];
        imask outside = 0;
        for (int t = 0; t < n; t++)
            if (!(ls[v] >> t & 1)) outside |= s->m[t];
        imask U = res[l] | res[r];
        bool root = k == ns - 1;
        res[v] = root ? (U & s->out) : (U & (outside | s->out));
        double c = msize(root ? (U | s->out) : U, s->ext);
        sub[v] = sub[l] + sub[r] + c;
        total += c;
        if (!root) {
            double z = msize(res[v], s->ext);
            if (z > bg) bg = z;
        }
    }
    (void)all;
    *big = bg;
    return total;
}

/* One greedy pass; temp 0 is deterministic (cheapest step first), temp > 0
 * samples steps with weight exp(-log(cost/mincost)/temp). */
static bool greedy_run(const snet *s, uint64_t *rng, double temp, int (*pair)[2], double *cost, double *big) {
    int n = s->n;
    int id[MAXTERMS];
    imask res[MAXTERMS];
    int cnt[MAXIX];
    memset(cnt, 0, sizeof cnt);
    for (int t = 0; t < n; t++) {
        id[t] = t;
        res[t] = s->m[t];
        for (imask m = res[t]; m; m &= m - 1) cnt[lowbit(m)]++;
    }
    int nact = n, ns = 0;
    double total = 0, bg = 0;
    enum { MAXC = MAXTERMS * MAXTERMS / 2 };
    static __thread struct cand {
        int a, b;
        imask r;
        double c, z;
    } cands[MAXC];
    while (nact > 1) {
        bool any_shared = false;
        for (int a = 0; a < nact && !any_shared; a++)
            for (int b = a + 1; b < nact; b++)
                if (res[a] & res[b]) {
                    any_shared = true;
                    break;
                }
        int nc = 0;
        double minc = INF;
        for (int a = 0; a < nact; a++)
            for (int b = a + 1; b < nact; b++) {
                if (any_shared && !(res[a] & res[b])) continue;
                imask U = res[a] | res[b], keep = 0;
                for (imask m = U; m; m &= m - 1) {
                    int k = lowbit(m);
                    int inside = ((res[a] >> k) & 1) + ((res[b] >> k) & 1);
                    if (cnt[k] > inside) keep |= bit(k);
                }
                bool root = nact == 2;
                imask r = root ? (U & s->out) : (U & (keep | s->out));
                double z = msize(r, s->ext);
                if (!root && !fits(s, r, z)) continue;
                double c = msize(root ? (U | s->out) : U, s->ext);
                cands[nc].a = a;
                cands[nc].b = b;
                cands[nc].r = r;
                cands[nc].c = c;
                cands[nc].z = z;
                if (c < minc) minc = c;
                nc++;
            }
        if (nc == 0) return false;
        int pick = 0;
        if (temp <= 0) {
            for (int k = 1; k < nc; k++)
                if (cands[k].c < cands[pick].c || (cands[k].c == cands[pick].c && cands[k].z < cands[pick].z))
                    pick = k;
        } else {
            double wsum = 0;
            double lm = log(minc > 0 ? minc : 1);
            for (int k = 0; k < nc; k++) {
                double w = exp(-(log(cands[k].c > 0 ? cands[k].c : 1) - lm) / temp);
                cands[k].z = w;   /* reuse as weight */
                wsum += w;
            }
            double u = rng_unit(rng) * wsum;
            for (pick = 0; pick < nc - 1; pick++) {
                u -= cands[pick].z;
                if (u <= 0) break;
            }
        }
        struct cand *cd = &cands[pick];
        int a = cd->a, b = cd->b;
        pair[ns][0] = id[a];
        pair[ns][1] = id[b];
        total += cd->c;
        if (nact > 2) {
            double z = msize(cd->r, s->ext);
            if (z > bg) bg = z;
        }
        for (imask m = res[a]; m; m &= m - 1) cnt[lowbit(m)]--;
        for (imask m = res[b]; m; m &= m - 1) cnt[lowbit(m)]--;
        for (imask m = cd->r; m; m &= m - 1) cnt[lowbit(m)]++;
        res[a] = cd->r;
        id[a] = n + ns;
        res[b] = res[nact - 1];
        id[b] = id[nact - 1];
        nact--;
        ns++;
    }
    *cost = total;
    *big = bg;
    return true;
}

/* Tree form of a pair list: children of internal node v (n..2n-2). */
typedef struct tree {
    int n, root;
    int lc[2 * MAXTERMS], rc[2 * MAXTERMS];
} tree;

static void tree_from_pairs(tree *t, int n, const int (*pair)[2]) {
    t->n = n;
    for (int k = 0; k < n - 1; k++) {
        t->lc[n + k] = pair[k][0];
        t->rc[n + k] = pair[k][1];
    }
    t->root = 2 * n - 2;
}

static void tree_post(const tree *t, int v, int (*pair)[2], int *ns, int *map) {
    if (v < t->n) {
        map[v] = v;
        return;
    }
    tree_post(t, t->lc[v], pair, ns, map);
    tree_post(t, t->rc[v], pair, ns, map);
    pair[*ns][0] = map[t->lc[v]];
    pair[*ns][1] = map[t->rc[v]];
    map[v] = t->n + (*ns)++;
}

static void tree_to_pairs(const tree *t, int (*pair)[2]) {
    int map[2 * MAXTERMS], ns = 0;
    tree_post(t, t->root, pair, &ns, map);
}

/* Local search: re-solve windows of up to WINDOW operands below each
 * internal node exactly; keep changes that lower (cost, largest). */
static void improve(const snet *s, int (*pair)[2], double *cost, double *big, double deadline) {
    int n = s->n;
    if (n < 4) return;
    tree t;
    tree_from_pairs(&t, n, pair);
    imask res[2 * MAXTERMS];
    uint64_t ls[2 * MAXTERMS];
    double sub[2 * MAXTERMS];
    int pr[MAXTERMS][2];
    for (int round = 0; round < 64 && now_ms() < deadline; round++) {
        tree_to_pairs(&t, pr);
        double bg;
        tree_eval(s, (const int (*)[2])pr, n - 1, res, ls, sub, &bg);
        /* the tree's node v (slot) -> operand number in pr order */
        int map[2 * MAXTERMS], nsx = 0, prx[MAXTERMS][2];
        tree_post(&t, t.root, prx, &nsx, map);
        bool changed = false;
        for (int v = n; v < 2 * n - 1 && !changed; v++) {
            if (now_ms() > deadline) break;
            int fr[WINDOW], nf = 0, inner[WINDOW], ni = 0;
            fr[nf++] = t.lc[v];
            fr[nf++] = t.rc[v];
            while (nf < WINDOW) {
                int bi = -1;
                for (int k = 0; k < nf; k++)
                    if (fr[k] >= n && (bi < 0 || sub[map[fr[k]]] > sub[map[fr[bi]]])) bi = k;
                if (bi < 0) break;
                int x = fr[bi];
                inner[ni++] = x;
                fr[bi] = t.lc[x];
                fr[nf++] = t.rc[x];
            }
            if (nf < 3) continue;
            imask wm[WINDOW];
            double oldc = sub[map[v]], oldbig = 0;
            for (int k = 0; k < nf; k++) {
                wm[k] = res[map[fr[k]]];
                oldc -= sub[map[fr[k]]];
            }
            for (int k = 0; k < ni; k++) {
                double z = msize(res[map[inner[k]]], s->ext);
                if (z > oldbig) oldbig = z;
            }
            bool isroot = v == t.root;
            imask wout = res[map[v]];
            if (isroot) wout = s->out;
            int wp[WINDOW][2];
            double nc, nb;
            if (!dp_solve(wm, nf, wout, s->ext, s->cap, wp, &nc, &nb)) continue;
            if (!(nc < oldc * (1 - 1e-12) || (nc <= oldc && nb < oldbig))) continue;
            /* rebuild: DP step k lives in slot inner[k] (k < nf-2), the last in v */
            int slot[WINDOW];
            for (int k = 0; k < nf - 1; k++) slot[k] = k == nf - 2 ? v : inner[k];
            for (int k = 0; k < nf - 1; k++) {
                int l = wp[k][0], r = wp[k][1];
                t.lc[slot[k]] = l < nf ? fr[l] : slot[l - nf];
                t.rc[slot[k]] = r < nf ? fr[r] : slot[r - nf];
            }
            changed = true;
        }
        if (!changed) break;
    }
    tree_to_pairs(&t, pr);
    imask res2[2 * MAXTERMS];
    uint64_t ls2[2 * MAXTERMS];
    double sub2[2 * MAXTERMS], nb;
    double nc = tree_eval(s, (const int (*)[2])pr, n - 1, res2, ls2, sub2, &nb) + s->pre;
    if (nc < *cost || (nc == *cost && nb < *big)) {
        /* check the cap over the whole tree */
        bool ok = true;
        for (int k = 0; k < n - 2; k++)
            if (!fits(s, res2[n + k], msize(res2[n + k], s->ext))) ok = false;
        if (ok) {
            memcpy(pair, pr, sizeof(int[2]) * (size_t)(n - 1));
            *cost = nc;
            *big = nb > s->prebig ? nb : s->prebig;
        }
    }
}

/* Build the search network from terms: masks, private indices summed. */
static bool snet_build(snet *s, const tx_plan_net *net, const tx_plan_opts *o) {
    memset(s, 0, sizeof *s);
    if (net->nterms < 1 || net->nterms > MAXTERMS || net->nidx > MAXIX) return false;
    s->n = net->nterms;
    s->ext = net->extent;
    s->cap = o ? o->max_intermediate : 0;
    for (int k = 0; k < net->nout; k++) {
        if (net->out[k] < 0 || net->out[k] >= net->nidx) return false;
        s->out |= bit(net->out[k]);
    }
    imask full[MAXTERMS];
    for (int t = 0; t < s->n; t++) {
        full[t] = 0;
        for (int k = 0; k < net->term_len[t]; k++) {
            int x = net->terms[t][k];
            if (x < 0 || x >= net->nidx) return false;
            full[t] |= bit(x);
        }
    }
    for (int t = 0; t < s->n; t++) {
        imask others = s->out;
        for (int u = 0; u < s->n; u++)
            if (u != t) others |= full[u];
        s->m[t] = full[t] & others;
        if (s->m[t] != full[t] && s->n > 1) {
            s->pre += msize(full[t], s->ext);
            double z = msize(s->m[t], s->ext);
            if (z > s->prebig) s->prebig = z;
        } else {
            s->m[t] = s->n > 1 ? s->m[t] : full[t];
        }
    }
    return true;
}

bool tx_plan_search(tx_arena *a, const tx_plan_net *net, const tx_plan_opts *o, tx_plan_path *out) {
    tx_plan_opts def;
    if (!o) {
        tx_plan_opts_default(&def);
        o = &def;
    }
    memset(out, 0, sizeof *out);
    snet s;
    if (!snet_build(&s, net, o)) return false;
    int n = s.n;
    out->pair = (int (*)[2])tx_arena_alloc(a, sizeof(int[2]) * (size_t)n);
    out->nsteps = n - 1;
    out->fits = true;
    if (n == 1) {
        /* a single term: its private indices are summed, nothing else */
        imask full = 0;
        for (int k = 0; k < net->term_len[0]; k++) full |= bit(net->terms[0][k]);
        out->cost = (full & ~s.out) ? msize(full | s.out, s.ext) : 0;
        out->exact = true;
        return true;
    }
    int dpmax = o->dp_max > 0 ? o->dp_max : 16;
    if (dpmax > DP_HARD_MAX) dpmax = DP_HARD_MAX;
    double cost = INF, big = INF;
    if (n <= dpmax) {
        if (!dp_solve(s.m, n, s.out, s.ext, s.cap, out->pair, &cost, &big)) {
            out->fits = false;
            out->nsteps = 0;
            return true;
        }
        out->exact = true;
        out->cost = cost + s.pre;
        out->largest = big > s.prebig ? big : s.prebig;
        return true;
    }
    double t0 = now_ms(), budget = o->budget_ms > 0 ? o->budget_ms : 40;
    uint64_t rng = o->seed ? o->seed : 1;
    int (*tmp)[2] = xcalloc((size_t)n, sizeof *tmp);
    bool found = false;
    for (int trial = 0; trial < 4096; trial++) {
        double temp = trial == 0 ? 0 : 0.02 + 0.5 * rng_unit(&rng);
        double c, b;
        if (greedy_run(&s, &rng, temp, tmp, &c, &b) && (c < cost || (c == cost && b < big))) {
            cost = c;
            big = b;
            memcpy(out->pair, tmp, sizeof(int[2]) * (size_t)(n - 1));
            found = true;
        }
        if (trial >= 8 && now_ms() - t0 > 0.4 * budget) break;
    }
    free(tmp);
    if (!found) {
        out->fits = false;
        out->nsteps = 0;
        return true;
    }
    cost += s.pre;
    if (s.prebig > big) big = s.prebig;
    improve(&s, out->pair, &cost, &big, t0 + budget);
    out->cost = cost;
    out->largest = big;
    return true;
}

double tx_plan_path_cost(const tx_plan_net *net, const int (*pair)[2], int nsteps, double *largest) {
    snet s;
    tx_plan_opts o;
    tx_plan_opts_default(&o);
    if (!snet_build(&s, net, &o) || nsteps != s.n - 1) {
        if (largest) *largest = 0;
        return INF;
    }
    if (s.n == 1) {
        if (largest) *largest = 0;
        imask full = 0;
        for (int k = 0; k < net->term_len[0]; k++) full |= bit(net->terms[0][k]);
        return (full & ~s.out) ? msize(full | s.out, s.ext) : 0;
    }
    imask res[2 * MAXTERMS];
    uint64_t ls[2 * MAXTERMS];
    double sub[2 * MAXTERMS], big;
    double c = tree_eval(&s, pair, nsteps, res, ls, sub, &big) + s.pre;
    if (largest) *largest = big > s.prebig ? big : s.prebig;
    return c;
}

/* ==== 2. classification of a pairwise DEF ========================================== */

const char *tx_plan_kind_name(tx_plan_kind k) {
    switch (k) {
    case TX_PLAN_GEMM: return "gemm";
    case TX_PLAN_GEMV: return "gemv";
    case TX_PLAN_DOT: return "dot";
    case TX_PLAN_OUTER: return "outer";
    case TX_PLAN_HADAMARD: return "hadamard";
    case TX_PLAN_LOOP: return "loop";
    }
    return "?";
}

/* A rank-0 factor (constant, rank-0 variable, or * / of them). */
static bool scalar_expr(const tx_tir_expr *e) {
    if (!e) return false;
    switch (e->kind) {
    case TX_TIR_CONST: return true;
    case TX_TIR_ACCESS: {
        if (e->whole) return true;
        for (int k = 0; k < e->nsubs; k++)
            if (e->subs[k].nterms) return false;
        return true;
    }
    case TX_TIR_UNARY: return e->op == TX_TOP_NEG && scalar_expr(e->a);
    case TX_TIR_BINARY: return (e->op == TX_TOP_MUL || e->op == TX_TOP_DIV) && scalar_expr(e->a) && scalar_expr(e->b);
    default: return false;
    }
}

/* An access with distinct plain index subscripts: its ids into ids[]. */
static bool plain_access(const tx_tir_expr *e, int *ids, int *n) {
    if (!e || e->kind != TX_TIR_ACCESS || e->whole || e->nsubs > TXRT_MAX_RANK) return false;
    *n = 0;
    for (int k = 0; k < e->nsubs; k++) {
        const tx_tir_affine *s = &e->subs[k];
        if (s->nterms != 1 || s->coef[0] != 1 || s->c0 != 0) return false;
        for (int j = 0; j < *n; j++)
            if (ids[j] == s->idx[0]) return false;
        ids[(*n)++] = s->idx[0];
    }
    return true;
}

void tx_plan_classify(const tx_tir_stmt *def, tx_plan_gemm *g) {
    memset(g, 0, sizeof *g);
    g->kind = TX_PLAN_LOOP;
    if (!def || def->kind != TX_TIR_DEF || def->ellipsis || !def->rhs || def->nout > TXRT_MAX_RANK) return;
    const tx_tir_expr *e = def->rhs;
    /* peel scalar factors off the outside: (...) * s, (...) / s, s * (...) */
    for (;;) {
        if (e->kind == TX_TIR_BINARY && (e->op == TX_TOP_MUL || e->op == TX_TOP_DIV) && scalar_expr(e->b)) e = e->a;
        else if (e->kind == TX_TIR_BINARY && e->op == TX_TOP_MUL && scalar_expr(e->a)) e = e->b;
        else if (e->kind == TX_TIR_UNARY && e->op == TX_TOP_NEG) e = e->a;
        else break;
    }
    const int *sum = NULL;
    int nsum = 0;
    if (e->kind == TX_TIR_REDUCE) {
        if (e->redop != TX_RED_SUM) return;
        sum = e->idx;
        nsum = e->nidx;
        e = e->a;
    }
    if (e->kind != TX_TIR_BINARY || e->op != TX_TOP_MUL) return;
    int ia[TXRT_MAX_RANK], ib[TXRT_MAX_RANK], na, nb;
    if (!plain_access(e->a, ia, &na) || !plain_access(e->b, ib, &nb)) return;
    bool in_out[TXRT_MAX_RANK * 4];
    (void)in_out;
    /* every summed id must be in both operands; every output id in at least one */
#define HAS(arr, n, x) ({ bool f_ = false; for (int q_ = 0; q_ < (n); q_++) if ((arr)[q_] == (x)) f_ = true; f_; })
    for (int k = 0; k < nsum; k++)
        if (!HAS(ia, na, sum[k]) || !HAS(ib, nb, sum[k])) return;
    for (int k = 0; k < def->nout; k++)
        if (!HAS(ia, na, def->out_idx[k]) && !HAS(ib, nb, def->out_idx[k])) return;
    for (int k = 0; k < na; k++) {
        int x = ia[k];
        bool o = HAS(def->out_idx, def->nout, x), inb = HAS(ib, nb, x);
        if (o && inb) g->batch[g->nbatch++] = x;
        else if (!o && inb) g->contract[g->ncontract++] = x;
        else if (o) g->left[g->nleft++] = x;
        else return;   /* summed over one operand only */
    }
    for (int k = 0; k < nb; k++) {
        int x = ib[k];
        bool o = HAS(def->out_idx, def->nout, x), ina = HAS(ia, na, x);
        if (ina) continue;
        if (o) g->right[g->nright++] = x;
        else return;
    }
#undef HAS
    g->a = e->a->var;
    g->b = e->b->var;
    if (g->ncontract > 0) g->kind = g->nleft && g->nright ? TX_PLAN_GEMM : (g->nleft || g->nright) ? TX_PLAN_GEMV : TX_PLAN_DOT;
    else g->kind = g->nleft || g->nright ? TX_PLAN_OUTER : TX_PLAN_HADAMARD;
    /* the BLAS dispatch's own predicate (ir/blas.h): layout, copies, crossover */
    g->blas = (g->kind == TX_PLAN_GEMM || g->kind == TX_PLAN_GEMV) && tx_blas_eligible(def, g);
}

/* ==== 3. planning one DEF ========================================================== */

/* ---- the memo of temporaries ---- */

typedef struct memo_ent {
    const char *sig;
    const char *name;
    int naxes;
    int *axes;              /* canonical numbers of the temporary's axes, in order */
    const char **deps;      /* user variables it reads (transitively) */
    int ndeps;
    bool dead;
} memo_ent;

struct tx_plan_memo {
    tx_arena *a;
    memo_ent *v;
    int n, cap;
};

tx_plan_memo *tx_plan_memo_new(tx_arena *a) {
    tx_plan_memo *m = TX_NEW(a, tx_plan_memo);
    m->a = a;
    return m;
}

void tx_plan_memo_kill(tx_plan_memo *m, const char *var) {
    if (!m || !var) return;
    for (int k = 0; k < m->n; k++) {
        if (m->v[k].dead) continue;
        for (int j = 0; j < m->v[k].ndeps; j++)
            if (strcmp(m->v[k].deps[j], var) == 0) {
                m->v[k].dead = true;
                break;
            }
    }
}

static memo_ent *memo_find(tx_plan_memo *m, const char *sig) {
    for (int k = m->n - 1; k >= 0; k--)
        if (!m->v[k].dead && strcmp(m->v[k].sig, sig) == 0) return &m->v[k];
    return NULL;
}

static memo_ent *memo_find_name(tx_plan_memo *m, const char *name) {
    for (int k = m->n - 1; k >= 0; k--)
        if (strcmp(m->v[k].name, name) == 0) return &m->v[k];
    return NULL;
}

static memo_ent *memo_add(tx_plan_memo *m) {
    if (m->n == m->cap) {
        int cap = m->cap ? 2 * m->cap : 16;
        m->v = tx_arena_grow(m->a, m->v, (size_t)m->n, (size_t)cap, sizeof *m->v);
        m->cap = cap;
    }
    memo_ent *e = &m->v[m->n++];
    memset(e, 0, sizeof *e);
    return e;
}

/* ---- the state of planning one DEF ---- */

typedef struct fac {
    tx_tir_expr *e;          /* the factor (non-inverted form), ids of the DEF */
    bool inv;                /* contributes 1/e */
    imask mask;              /* the indices it depends on */
    bool access;             /* an access: read in place */
    bool cheap;              /* cheap to evaluate in place anywhere */
    tx_tir_expr *mat;        /* its materialised access, once made */
    const char *text;        /* for the report */
    const char *sname;       /* short name for the tree */
} fac;

typedef struct pctx {
    tx_arena *a;
    const tx_tir_stmt *def;
    const tx_plan_opts *o;
    tx_plan_memo *memo;
    int memo_mark;
    const char *prefix;
    int *counter;
    int nix;
    double ext[MAXIX];
    /* results */
    tx_tir_stmt **out;
    int nout, capout;
    double flops;            /* loop-nest FLOPs of what was emitted */
    double largest;
    tx_plan_contraction *contr;
    int ncontr, capcontr;
    bool interesting;        /* some network had a real choice to make */
    bool capped;             /* a network found no order within the cap */
    const char *fail;
    int depth;
    int nleaf;               /* leaves named L1, L2, ... */
    int rank_of[MAXIX];      /* ids in the statement's loop order: outputs, then the rest */
    bool report;             /* build the texts of the report */
} pctx;

static bool fail(pctx *c, const char *why) {
    if (!c->fail) c->fail = why;
    return false;
}

/* ---- expressions ---- */

static tx_tir_expr *mk(pctx *c, tx_tir_expr_kind k, tx_span sp) {
    tx_tir_expr *e = TX_NEW(c->a, tx_tir_expr);
    e->kind = k;
    e->span = sp;
    return e;
}

static tx_tir_expr *mk_const(pctx *c, double v, tx_span sp) {
    tx_tir_expr *e = mk(c, TX_TIR_CONST, sp);
    e->re = v;
    return e;
}

static tx_tir_expr *mk_bin(pctx *c, tx_tir_op op, tx_tir_expr *x, tx_tir_expr *y) {
    tx_tir_expr *e = mk(c, TX_TIR_BINARY, tx_span_join(x->span, y->span));
    e->op = op;
    e->a = x;
    e->b = y;
    return e;
}

static tx_tir_expr *mk_reduce(pctx *c, tx_redop op, const int *ids, int n, tx_tir_expr *body) {
    tx_tir_expr *e = mk(c, TX_TIR_REDUCE, body->span);
    e->redop = op;
    e->nidx = n;
    e->idx = TX_NEWN(c->a, int, n + 1);
    memcpy(e->idx, ids, sizeof(int) * (size_t)n);
    e->a = body;
    return e;
}

/* An access var[ids...] with plain subscripts. */
static tx_tir_expr *mk_access(pctx *c, const char *var, const int *ids, int n, tx_span sp) {
    return tx_tir_access(c->a, var, ids, n, sp);
}

/* The free indices of e. */
static imask freeix(const tx_tir_expr *e) {
    if (!e) return 0;
    switch (e->kind) {
    case TX_TIR_INDEX: return e->index >= 0 && e->index < MAXIX ? bit(e->index) : 0;
    case TX_TIR_ACCESS: {
        imask m = 0;
        for (int k = 0; k < e->nsubs; k++)
            for (int j = 0; j < e->subs[k].nterms; j++)
                if (e->subs[k].idx[j] >= 0 && e->subs[k].idx[j] < MAXIX) m |= bit(e->subs[k].idx[j]);
        return m;
    }
    case TX_TIR_REDUCE: {
        imask m = freeix(e->a);
        for (int k = 0; k < e->nidx; k++)
            if (e->idx[k] >= 0 && e->idx[k] < MAXIX) m &= ~bit(e->idx[k]);
        return m;
    }
    default: return freeix(e->a) | freeix(e->b) | freeix(e->c);
    }
}

/* Free indices of e in order of first appearance (bound ones skipped). */
static void free_order(const tx_tir_expr *e, imask bound, int *ids, int *n, imask *seen) {
    if (!e) return;
    switch (e->kind) {
    case TX_TIR_INDEX:
        if (!(bound & bit(e->index)) && !(*seen & bit(e->index))) {
            *seen |= bit(e->index);
            ids[(*n)++] = e->index;
        }
        return;
    case TX_TIR_ACCESS:
        for (int k = 0; k < e->nsubs; k++)
            for (int j = 0; j < e->subs[k].nterms; j++) {
                int x = e->subs[k].idx[j];
                if (!(bound & bit(x)) && !(*seen & bit(x))) {
                    *seen |= bit(x);
                    ids[(*n)++] = x;
                }
            }
        return;
    case TX_TIR_REDUCE: {
        imask b = bound;
        for (int k = 0; k < e->nidx; k++) b |= bit(e->idx[k]);
        free_order(e->a, b, ids, n, seen);
        return;
    }
    default:
        free_order(e->a, bound, ids, n, seen);
        free_order(e->b, bound, ids, n, seen);
        free_order(e->c, bound, ids, n, seen);
    }
}

/* Every id used by e (free or bound), first appearance order. */
static void all_ids(const tx_tir_expr *e, int *ids, int *n, imask *seen) {
    if (!e) return;
    switch (e->kind) {
    case TX_TIR_INDEX:
        if (!(*seen & bit(e->index))) *seen |= bit(e->index), ids[(*n)++] = e->index;
        return;
    case TX_TIR_ACCESS:
        for (int k = 0; k < e->nsubs; k++)
            for (int j = 0; j < e->subs[k].nterms; j++) {
                int x = e->subs[k].idx[j];
                if (!(*seen & bit(x))) *seen |= bit(x), ids[(*n)++] = x;
            }
        return;
    case TX_TIR_REDUCE:
        all_ids(e->a, ids, n, seen);
        for (int k = 0; k < e->nidx; k++)
            if (!(*seen & bit(e->idx[k]))) *seen |= bit(e->idx[k]), ids[(*n)++] = e->idx[k];
        return;
    default:
        all_ids(e->a, ids, n, seen);
        all_ids(e->b, ids, n, seen);
        all_ids(e->c, ids, n, seen);
    }
}

/* Loop-nest FLOPs of evaluating e at every point of ctx (numpy's einsum
 * convention: one per operator application, one per reduction step). */
static double flops_of(const tx_tir_expr *e, imask ctx, const double *ext) {
    if (!e) return 0;
    switch (e->kind) {
    case TX_TIR_CONST:
    case TX_TIR_INDEX:
    case TX_TIR_ACCESS:
    case TX_TIR_STRING: return 0;
    case TX_TIR_REDUCE: {
        imask c2 = ctx;
        for (int k = 0; k < e->nidx; k++) c2 |= bit(e->idx[k]);
        return flops_of(e->a, c2, ext) + msize(c2, ext);
    }
    default: return msize(ctx, ext) + flops_of(e->a, ctx, ext) + flops_of(e->b, ctx, ext) + flops_of(e->c, ctx, ext);
    }
}

/* ---- canonical text of an expression, for common subexpressions ---- */

typedef struct canon {
    int of[MAXIX];           /* id -> canonical number, -1 */
    int id[MAXIX];           /* canonical number -> id */
    int n;
} canon;

static int canon_num(canon *k, int id) {
    if (k->of[id] < 0) {
        k->of[id] = k->n;
        k->id[k->n++] = id;
    }
    return k->of[id];
}

static void canon_expr(sbuf *b, const tx_tir_expr *e, canon *k) {
    if (!e) {
        sb_put(b, "_");
        return;
    }
    switch (e->kind) {
    case TX_TIR_CONST: sb_printf(b, "c%.17g,%.17g%s", e->re, e->im, e->is_complex ? "j" : ""); return;
    case TX_TIR_INDEX: sb_printf(b, "i%d", canon_num(k, e->index)); return;
    case TX_TIR_STRING: sb_put(b, "s?"); return;
    case TX_TIR_ACCESS:
        sb_printf(b, "a%s", e->var);
        if (e->let_const) sb_printf(b, "=%.17g", e->re);
        if (e->whole) {
            sb_put(b, "[*]");
            return;
        }
        sb_put(b, "[");
        for (int s = 0; s < e->nsubs; s++) {
            const tx_tir_affine *f = &e->subs[s];
            for (int j = 0; j < f->nterms; j++) sb_printf(b, "%+lld*%d", (long long)f->coef[j], canon_num(k, f->idx[j]));
            sb_printf(b, "%+lld;", (long long)f->c0);
        }
        sb_put(b, "]");
        return;
    case TX_TIR_UNARY:
        sb_printf(b, "u%d(", (int)e->op);
        canon_expr(b, e->a, k);
        sb_put(b, ")");
        return;
    case TX_TIR_BINARY:
        sb_printf(b, "b%d(", (int)e->op);
        canon_expr(b, e->a, k);
        sb_put(b, ",");
        canon_expr(b, e->b, k);
        sb_put(b, ")");
        return;
    case TX_TIR_WHERE:
        sb_put(b, "w(");
        canon_expr(b, e->a, k);
        sb_put(b, ",");
        canon_expr(b, e->b, k);
        sb_put(b, ",");
        canon_expr(b, e->c, k);
        sb_put(b, ")");
        return;
    case TX_TIR_REDUCE: {
        sb_printf(b, "r%d(", (int)e->redop);
        canon_expr(b, e->a, k);
        sb_put(b, "){");
        /* the bound set, in canonical numbers, sorted */
        int nums[MAXIX], nn = 0;
        for (int j = 0; j < e->nidx; j++) nums[nn++] = canon_num(k, e->idx[j]);
        for (int x = 1; x < nn; x++)
            for (int y = x; y > 0 && nums[y - 1] > nums[y]; y--) {
                int t = nums[y];
                nums[y] = nums[y - 1];
                nums[y - 1] = t;
            }
        for (int j = 0; j < nn; j++) sb_printf(b, "%d,", nums[j]);
        sb_put(b, "}");
        return;
    }
    }
}

/* ---- emitting DEFs ---- */

static tx_tir_expr *decl_size(pctx *c, double v, tx_span sp) { return mk_const(c, v, sp); }

/* A new DEF out[oids] = rhs (rhs in the original DEF's ids) with its own
 * compact index table; every index declares its size. */
static tx_tir_stmt *make_def(pctx *c, const char *out, const int *oids, int nout, const tx_tir_expr *rhs,
                             bool accumulate, bool is_let) {
    const tx_tir_stmt *d = c->def;
    int ids[MAXIX], n = 0;
    imask seen = 0;
    for (int k = 0; k < nout; k++)
        if (!(seen & bit(oids[k]))) seen |= bit(oids[k]), ids[n++] = oids[k];
    all_ids(rhs, ids, &n, &seen);
    int map[MAXIX];
    for (int k = 0; k < MAXIX; k++) map[k] = -1;
    for (int k = 0; k < n; k++) map[ids[k]] = k;
    tx_tir_stmt *s = TX_NEW(c->a, tx_tir_stmt);
    s->kind = TX_TIR_DEF;
    s->span = d->span;
    s->out = out;
    s->out_span = d->out_span;
    s->nout = nout;
    s->out_idx = TX_NEWN(c->a, int, nout + 1);
    for (int k = 0; k < nout; k++) s->out_idx[k] = map[oids[k]];
    s->accumulate = accumulate;
    s->is_let = is_let;
    s->builtin = -1;
    s->nindices = n;
    s->indices = TX_NEWN(c->a, tx_tir_index, n + 1);
    for (int k = 0; k < n; k++) {
        const tx_tir_index *x = &d->indices[ids[k]];
        tx_tir_index *y = &s->indices[k];
        y->name = x->name;
        y->span = x->span;
        y->declared = decl_size(c, c->ext[ids[k]], x->span);
        y->declared_span = x->declared ? x->declared_span : x->span;
        y->lo = 0;
        y->extent = (int64_t)c->ext[ids[k]];
    }
    s->rhs = tx_tir_clone_map(c->a, rhs, map);
    return s;
}

static void push_stmt(pctx *c, tx_tir_stmt *s) {
    if (c->nout == c->capout) {
        int cap = c->capout ? 2 * c->capout : 8;
        c->out = tx_arena_grow(c->a, c->out, (size_t)c->nout, (size_t)cap, sizeof *c->out);
        c->capout = cap;
    }
    c->out[c->nout++] = s;
}

/* User variables read by e, and (transitively) by the temporaries it reads. */
static void collect_deps(pctx *c, const tx_tir_expr *e, const char ***deps, int *n, int *cap) {
    if (!e) return;
    if (e->kind == TX_TIR_ACCESS && e->var) {
        memo_ent *t = e->var[0] == '%' ? memo_find_name(c->memo, e->var) : NULL;
        int nd = t ? t->ndeps : 1;
        for (int k = 0; k < nd; k++) {
            const char *v = t ? t->deps[k] : e->var;
            bool have = false;
            for (int j = 0; j < *n && !have; j++) have = strcmp((*deps)[j], v) == 0;
            if (have) continue;
            if (*n == *cap) {
                int nc = *cap ? 2 * *cap : 8;
                *deps = tx_arena_grow(c->a, (void *)*deps, (size_t)*n, (size_t)nc, sizeof **deps);
                *cap = nc;
            }
            (*deps)[(*n)++] = v;
        }
    }
    collect_deps(c, e->a, deps, n, cap);
    collect_deps(c, e->b, deps, n, cap);
    collect_deps(c, e->c, deps, n, cap);
}

/* The canonical text of a temporary out[oset] = rhs. */
static const char *temp_sig(pctx *c, const tx_tir_expr *rhs, imask oset, canon *k) {
    memset(k->of, -1, sizeof k->of);
    k->n = 0;
    sbuf b = { 0 };
    canon_expr(&b, rhs, k);
    sb_put(&b, "->{");
    int nums[MAXIX], nn = 0;
    for (imask m = oset; m; m &= m - 1) nums[nn++] = canon_num(k, lowbit(m));
    for (int x = 1; x < nn; x++)
        for (int y = x; y > 0 && nums[y - 1] > nums[y]; y--) {
            int t = nums[y];
            nums[y] = nums[y - 1];
            nums[y - 1] = t;
        }
    for (int j = 0; j < nn; j++) sb_printf(&b, "%d,", nums[j]);
    sb_put(&b, "}|");
    for (int j = 0; j < k->n; j++) sb_printf(&b, "%.17g,", c->ext[k->id[j]]);
    return sb_done(&b, c->a);
}

/* Compute rhs into a temporary with axes oids (or reuse an identical one);
 * returns the access that reads it (ids of the DEF).  *reused tells which. */
static tx_tir_expr *emit_temp_sig(pctx *c, const int *oids, int nout, const tx_tir_expr *rhs, const char *sig,
                                  canon *kp, bool *reused, const char **name_out);

static tx_tir_expr *emit_temp(pctx *c, const int *oids, int nout, const tx_tir_expr *rhs, bool *reused,
                              const char **name_out) {
    imask oset = 0;
    for (int k = 0; k < nout; k++) oset |= bit(oids[k]);
    canon k;
    const char *sig = temp_sig(c, rhs, oset, &k);
    return emit_temp_sig(c, oids, nout, rhs, sig, &k, reused, name_out);
}

/* The same with the canonical text given (sig and kp from temp_sig of an
 * expression equal to rhs up to the order of a product's operands). */
static tx_tir_expr *emit_temp_sig(pctx *c, const int *oids, int nout, const tx_tir_expr *rhs, const char *sig,
                                  canon *kp, bool *reused, const char **name_out) {
    imask oset = 0;
    for (int j = 0; j < nout; j++) oset |= bit(oids[j]);
    canon k = *kp;
    memo_ent *hit = memo_find(c->memo, sig);
    if (hit) {
        int ids[MAXIX];
        for (int j = 0; j < hit->naxes; j++) ids[j] = k.id[hit->axes[j]];
        if (reused) *reused = true;
        if (name_out) *name_out = hit->name;
        return mk_access(c, hit->name, ids, hit->naxes, c->def->span);
    }
    const char *name = tx_arena_printf(c->a, "%s%d", c->prefix, ++*c->counter);
    tx_tir_stmt *s = make_def(c, name, oids, nout, rhs, false, false);
    push_stmt(c, s);
    c->flops += flops_of(rhs, oset, c->ext);
    double z = msize(oset, c->ext);
    if (z > c->largest) c->largest = z;
    memo_ent *e = memo_add(c->memo);
    e->sig = sig;
    e->name = name;
    e->naxes = nout;
    e->axes = TX_NEWN(c->a, int, nout + 1);
    for (int j = 0; j < nout; j++) e->axes[j] = k.of[oids[j]];
    int cap = 0;
    collect_deps(c, rhs, &e->deps, &e->ndeps, &cap);
    if (reused) *reused = false;
    if (name_out) *name_out = name;
    return mk_access(c, name, oids, nout, c->def->span);
}

/* ---- text for the report ---- */

static const char *ix_name(pctx *c, int id) {
    const tx_tir_stmt *d = c->def;
    const char *nm = d->indices[id].name ? d->indices[id].name : "?";
    int dup = 0;
    for (int k = 0; k < id; k++)
        if (d->indices[k].name && strcmp(d->indices[k].name, nm) == 0) dup++;
    return dup ? tx_arena_printf(c->a, "%s'%d", nm, dup) : nm;
}

static void put_ids(pctx *c, sbuf *b, const int *ids, int n, bool letters) {
    for (int k = 0; k < n; k++) {
        if (!letters && k) sb_put(b, ",");
        sb_put(b, ix_name(c, ids[k]));
    }
}

static const char *expr_text(pctx *c, const tx_tir_expr *e) {
    return c->report ? tx_tir_expr_str(c->a, e, c->def) : "";
}

/* ---- networks ---- */

typedef struct net {
    fac *f;
    int nf, cap;
    fac *sc;                 /* index-free factors */
    int nsc, capsc;
    imask sum;               /* indices summed over the product */
    double cmul, cdiv;       /* real constant factors, folded */
    tx_span span;
} net;

static void net_add(pctx *c, net *n, const fac *f, bool scalar) {
    fac **v = scalar ? &n->sc : &n->f;
    int *cnt = scalar ? &n->nsc : &n->nf, *cap = scalar ? &n->capsc : &n->cap;
    if (*cnt == *cap) {
        int nc = *cap ? 2 * *cap : 8;
        *v = tx_arena_grow(c->a, *v, (size_t)*cnt, (size_t)nc, sizeof **v);
        *cap = nc;
    }
    (*v)[(*cnt)++] = *f;
}

static bool cheap_expr(const tx_tir_expr *e) {
    if (!e) return true;
    switch (e->kind) {
    case TX_TIR_CONST:
    case TX_TIR_INDEX:
    case TX_TIR_ACCESS: return true;
    case TX_TIR_BINARY:
        if (e->op >= TX_TOP_LT && e->op <= TX_TOP_NE) return cheap_expr(e->a) && cheap_expr(e->b);
        return false;
    default: return false;
    }
}

/* Flatten a product-sum into n. */
static void flatten(pctx *c, net *n, const tx_tir_expr *e, bool inv) {
    if (e->kind == TX_TIR_BINARY && e->op == TX_TOP_MUL) {
        flatten(c, n, e->a, inv);
        flatten(c, n, e->b, inv);
        return;
    }
    if (e->kind == TX_TIR_BINARY && e->op == TX_TOP_DIV) {
        flatten(c, n, e->a, inv);
        flatten(c, n, e->b, !inv);
        return;
    }
    if (e->kind == TX_TIR_UNARY && e->op == TX_TOP_NEG) {
        n->cmul = -n->cmul;
        flatten(c, n, e->a, inv);
        return;
    }
    if (e->kind == TX_TIR_REDUCE && e->redop == TX_RED_SUM && !inv) {
        for (int k = 0; k < e->nidx; k++) n->sum |= bit(e->idx[k]);
        flatten(c, n, e->a, false);
        return;
    }
    if (e->kind == TX_TIR_CONST && !e->is_complex && e->im == 0 && e->re != 0 && isfinite(e->re)) {
        if (inv) n->cdiv *= e->re;
        else n->cmul *= e->re;
        return;
    }
    fac f;
    memset(&f, 0, sizeof f);
    f.e = (tx_tir_expr *)e;
    f.inv = inv;
    f.mask = freeix(e);
    f.access = e->kind == TX_TIR_ACCESS;
    f.cheap = cheap_expr(e);
    net_add(c, n, &f, f.mask == 0);
}

/* Flattened view without side effects: how many factors, any sum? */
static void count_prodsum(const tx_tir_expr *e, bool inv, int *nf, bool *sum) {
    if (e->kind == TX_TIR_BINARY && (e->op == TX_TOP_MUL || e->op == TX_TOP_DIV)) {
        count_prodsum(e->a, inv, nf, sum);
        count_prodsum(e->b, e->op == TX_TOP_DIV ? !inv : inv, nf, sum);
        return;
    }
    if (e->kind == TX_TIR_UNARY && e->op == TX_TOP_NEG) {
        count_prodsum(e->a, inv, nf, sum);
        return;
    }
    if (e->kind == TX_TIR_REDUCE && e->redop == TX_RED_SUM && !inv) {
        *sum = true;
        count_prodsum(e->a, false, nf, sum);
        return;
    }
    if (freeix(e) != 0) (*nf)++;
}

static tx_tir_expr *rewrite(pctx *c, const tx_tir_expr *e, imask ctx);
static tx_tir_expr *plan_network(pctx *c, const tx_tir_expr *e, imask outset, const int *oorder, int noorder,
                                 const char *what);

/* Ids of a set in ascending order. */
static int mask_ids(imask m, int *ids) {
    int n = 0;
    for (; m; m &= m - 1) ids[n++] = lowbit(m);
    return n;
}

/* The ids of m in the statement's loop order. */
static int rank_order(pctx *c, imask m, int *ids) {
    int n = 0;
    for (int k = 0; k < c->nix; k++)
        if (m & bit(c->rank_of[k])) ids[n++] = c->rank_of[k];
    return n;
}

static tx_plan_contraction *new_contr(pctx *c);

/* Compute the reduction e (free indices F, fewer than the loops around it)
 * once into a temporary and read it; NULL when the temporary would break
 * the cap (e then stays where it is). */
static tx_tir_expr *hoist(pctx *c, const tx_tir_expr *e, imask F, bool network) {
    int ids[MAXIX];
    int n = rank_order(c, F, ids);
    double z = msize(F, c->ext);
    if (c->o->max_intermediate > 0 && z > c->o->max_intermediate) return NULL;
    if (n > TXRT_MAX_RANK) return NULL;
    tx_tir_expr *body;
    if (network) {
        sbuf b = { 0 };
        sb_printf(&b, "%s for each [", expr_text(c, e));
        put_ids(c, &b, ids, n, false);
        sb_put(&b, "]");
        const char *what = sb_done(&b, c->a);
        body = plan_network(c, e, F, ids, n, what);
        for (int k = c->ncontr - 1; k >= 0; k--)
            if (c->contr[k].what == what) {
                c->contr[k].once = true;
                break;
            }
    } else {
        /* a max/min/prod reduction: its body is rewritten in its own context */
        imask inner = F;
        for (int k = 0; k < e->nidx; k++) inner |= bit(e->idx[k]);
        tx_tir_expr *r = TX_NEW(c->a, tx_tir_expr);
        *r = *e;
        r->a = rewrite(c, e->a, inner);
        body = r;
        tx_plan_contraction *K = new_contr(c);
        sbuf b = { 0 };
        sb_printf(&b, "%s for each [", expr_text(c, e));
        put_ids(c, &b, ids, n, false);
        sb_put(&b, "]");
        K->what = sb_done(&b, c->a);
        K->once = true;
    }
    if (!body) return NULL;
    return emit_temp(c, ids, n, body, NULL, NULL);
}

/* sum[S](t) for one term t of a sum or difference: summed over the
 * indices of S that t uses, times the extents of those it does not use
 * (sum[j](c[i]) = n_j c[i]). */
static tx_tir_expr *sum_of_term(pctx *c, const tx_tir_expr *sum, tx_tir_expr *t) {
    imask ft = freeix(t);
    int *ids = TX_NEWN(c->a, int, sum->nidx), n = 0;
    double times = 1;
    for (int k = 0; k < sum->nidx; k++) {
        if (ft & bit(sum->idx[k])) ids[n++] = sum->idx[k];
        else times *= c->ext[sum->idx[k]];
    }
    tx_tir_expr *r = t;
    if (n) {
        r = TX_NEW(c->a, tx_tir_expr);
        *r = *sum;
        r->idx = ids;
        r->nidx = n;
        r->a = t;
    }
    if (times == 0) {          /* an empty sum: 0, even where t is inf or nan */
        tx_tir_expr *z = TX_NEW(c->a, tx_tir_expr);
        memset(z, 0, sizeof *z);
        z->kind = TX_TIR_CONST;
        z->span = sum->span;
        return z;
    }
    if (times != 1) {
        tx_tir_expr *k = TX_NEW(c->a, tx_tir_expr), *m = TX_NEW(c->a, tx_tir_expr);
        memset(k, 0, sizeof *k);
        k->kind = TX_TIR_CONST;
        k->span = sum->span;
        k->re = times;
        memset(m, 0, sizeof *m);
        m->kind = TX_TIR_BINARY;
        m->op = TX_TOP_MUL;
        m->span = sum->span;
        m->a = k;
        m->b = r;
        r = m;
    }
    return r;
}

/* A sum over a sum or difference of terms, sum[S](a - b), as the sum or
 * difference of the terms' own sums, sum[S](a) - sum[S](b), recursively;
 * NULL when e is not one.  Each term is then a network of its own that
 * sums its indices away: planned together, the terms of
 * sum[q,r](F[e,p,q]*A[q,r]*Y[r,k] - G[e,p,q]*B[q,r]*Y[r,k]) were leaves
 * evaluated at every (e,p,k,q,r). */
static tx_tir_expr *distribute_sum(pctx *c, const tx_tir_expr *sum, tx_tir_expr *body) {
    if (body->kind != TX_TIR_BINARY || (body->op != TX_TOP_ADD && body->op != TX_TOP_SUB)) return NULL;
    tx_tir_expr *a = distribute_sum(c, sum, body->a), *b = distribute_sum(c, sum, body->b);
    tx_tir_expr *r = TX_NEW(c->a, tx_tir_expr);
    *r = *body;
    r->a = a ? a : sum_of_term(c, sum, body->a);
    r->b = b ? b : sum_of_term(c, sum, body->b);
    return r;
}

/* Rewrite e, evaluated at every point of the index set ctx. */
static tx_tir_expr *rewrite(pctx *c, const tx_tir_expr *e, imask ctx) {
    if (!e || c->fail) return (tx_tir_expr *)e;
    if (e->kind == TX_TIR_REDUCE && e->redop == TX_RED_SUM) {
        tx_tir_expr *d = distribute_sum(c, e, e->a);
        if (d) return rewrite(c, d, ctx);
    }
    if (++c->depth > 200) {
        fail(c, "expression nested too deeply");
        c->depth--;
        return (tx_tir_expr *)e;
    }
    tx_tir_expr *r = (tx_tir_expr *)e;
    bool prodsum = (e->kind == TX_TIR_REDUCE && e->redop == TX_RED_SUM) ||
                   (e->kind == TX_TIR_BINARY && (e->op == TX_TOP_MUL || e->op == TX_TOP_DIV)) ||
                   (e->kind == TX_TIR_UNARY && e->op == TX_TOP_NEG);
    int nf = 0;
    bool sum = false;
    if (prodsum) count_prodsum(e, false, &nf, &sum);
    if (prodsum && (sum || nf >= 3)) {
        imask F = freeix(e);
        tx_tir_expr *h = NULL;
        if ((F & ~ctx) == 0 && F != ctx && sum) h = hoist(c, e, F, true);
        if (h) r = h;
        else {
            int ids[MAXIX], n = 0;
            const char *what;
            if (e == c->def->rhs) {
                /* the statement's own right-hand side: its output, in its order */
                F = ctx;
                for (int k = 0; k < c->def->nout; k++) ids[n++] = c->def->out_idx[k];
                sbuf b = { 0 };
                sb_printf(&b, "%s[", c->def->out);
                put_ids(c, &b, ids, n, false);
                sb_put(&b, "]");
                what = sb_done(&b, c->a);
            } else {
                n = rank_order(c, F, ids);
                what = expr_text(c, e);
            }
            r = plan_network(c, e, F, ids, n, what);
            if (!r) r = (tx_tir_expr *)e;
        }
    } else if (e->kind == TX_TIR_REDUCE) {
        imask F = freeix(e);
        tx_tir_expr *h = NULL;
        if ((F & ~ctx) == 0 && F != ctx) h = hoist(c, e, F, false);
        if (h) r = h;
        else {
            imask inner = ctx;
            for (int k = 0; k < e->nidx; k++) inner |= bit(e->idx[k]);
            tx_tir_expr *a = rewrite(c, e->a, inner);
            if (a != e->a) {
                r = TX_NEW(c->a, tx_tir_expr);
                *r = *e;
                r->a = a;
            }
        }
    } else if (e->a || e->b || e->c) {
        tx_tir_expr *a = rewrite(c, e->a, ctx), *b = rewrite(c, e->b, ctx), *cc = rewrite(c, e->c, ctx);
        if (a != e->a || b != e->b || cc != e->c) {
            r = TX_NEW(c->a, tx_tir_expr);
            *r = *e;
            r->a = a;
            r->b = b;
            r->c = cc;
        }
    }
    c->depth--;
    return r;
}

/* An operand of a step: an expression read in the step, maybe inverted. */
typedef struct opnd {
    tx_tir_expr *e;
    bool inv;
    imask mask;
    int order[MAXIX];
    int n;
    int fac;                 /* factor number, or -1 for a step result */
} opnd;

static void opnd_order(opnd *p) {
    p->n = 0;
    imask seen = 0;
    free_order(p->e, 0, p->order, &p->n, &seen);
}

/* The operand for factor f used in a step over index set U: in place when
 * it is an access, cheap, or as big as the step; else materialised. */
static void fac_opnd(pctx *c, fac *f, int fi, imask U, const int *lay, int nlay, opnd *p) {
    p->inv = f->inv;
    p->mask = f->mask;
    p->fac = fi;
    p->e = f->e;
    if (!f->access && !f->cheap && f->mask != U) {
        if (!f->mat) {
            int ids[MAXIX], n = 0;
            imask seen = 0;
            for (int k = 0; k < nlay; k++)
                if ((f->mask & bit(lay[k])) && !(seen & bit(lay[k]))) seen |= bit(lay[k]), ids[n++] = lay[k];
            free_order(f->e, 0, ids, &n, &seen);
            double z = msize(f->mask, c->ext);
            if (n <= TXRT_MAX_RANK && !(c->o->max_intermediate > 0 && z > c->o->max_intermediate))
                f->mat = emit_temp(c, ids, n, f->e, NULL, NULL);
        }
        if (f->mat) p->e = f->mat;
    }
    opnd_order(p);
}

/* x * y, x / y, y / x or 1 / (x * y) by the inversion flags. */
static tx_tir_expr *combine(pctx *c, const opnd *x, const opnd *y) {
    if (!x->inv && !y->inv) return mk_bin(c, TX_TOP_MUL, x->e, y->e);
    if (!x->inv && y->inv) return mk_bin(c, TX_TOP_DIV, x->e, y->e);
    if (x->inv && !y->inv) return mk_bin(c, TX_TOP_DIV, y->e, x->e);
    return mk_bin(c, TX_TOP_DIV, mk_bin(c, TX_TOP_DIV, mk_const(c, 1, x->e->span), x->e), y->e);
}

static tx_tir_expr *step_rhs(pctx *c, const opnd *L, const opnd *R, const int *sum, int nsum) {
    tx_tir_expr *p = combine(c, L, R);
    if (!nsum) return p;
    return mk_reduce(c, TX_RED_SUM, sum, nsum, p);
}

/* einsum text of a step */
static const char *einsum_of(pctx *c, const opnd *L, const opnd *R, const int *rids, int nr, bool letters) {
    if (!c->report) return "";
    sbuf b = { 0 };
    if (!letters) sb_put(&b, "[");
    if (L->inv) sb_put(&b, "1/");
    put_ids(c, &b, L->order, L->n, letters);
    sb_put(&b, letters ? "," : "],[");
    if (R->inv) sb_put(&b, "1/");
    put_ids(c, &b, R->order, R->n, letters);
    sb_put(&b, letters ? "->" : "]->[");
    put_ids(c, &b, rids, nr, letters);
    if (!letters) sb_put(&b, "]");
    return sb_done(&b, c->a);
}

static const char *roles_text(pctx *c, const tx_plan_gemm *g, const tx_tir_stmt *s) {
    if (!c->report) return NULL;
    if (g->kind == TX_PLAN_LOOP) return NULL;
    sbuf b = { 0 };
    const int *arr[4] = { g->batch, g->contract, g->left, g->right };
    const int cnt[4] = { g->nbatch, g->ncontract, g->nleft, g->nright };
    const char *nm[4] = { "batch", "contract", "left", "right" };
    bool first = true;
    for (int r = 0; r < 4; r++) {
        if (!cnt[r]) continue;
        sb_printf(&b, "%s%s ", first ? "" : ", ", nm[r]);
        first = false;
        for (int k = 0; k < cnt[r]; k++) sb_printf(&b, "%s%s", k ? "," : "", s->indices[arr[r][k]].name);
    }
    return sb_done(&b, c->a);
}

/* Substitute index `from` by `to` in every factor of the network. */
static void net_subst(pctx *c, net *n, int from, int to) {
    int map[MAXIX];
    for (int k = 0; k < MAXIX; k++) map[k] = k;
    map[from] = to;
    for (int k = 0; k < n->nf; k++) {
        if (!(n->f[k].mask & bit(from))) continue;
        n->f[k].e = tx_tir_clone_map(c->a, n->f[k].e, map);
        n->f[k].mask = freeix(n->f[k].e);
        n->f[k].cheap = cheap_expr(n->f[k].e);
    }
}

/* Is factor f the delta (i == j) of two index values? */
static bool is_delta(const fac *f, int *i, int *j) {
    const tx_tir_expr *e = f->e;
    if (f->inv || e->kind != TX_TIR_BINARY || e->op != TX_TOP_EQ) return false;
    if (!e->a || !e->b || e->a->kind != TX_TIR_INDEX || e->b->kind != TX_TIR_INDEX) return false;
    *i = e->a->index;
    *j = e->b->index;
    return true;
}

/* Would the step at node v be a BLAS product of plain operands? */
static bool blas_shaped(const net *n, int (*pair)[2], const imask *res, int v, const double *ext) {
    if (v < n->nf) return false;
    int l = pair[v - n->nf][0], r = pair[v - n->nf][1];
    for (int q = 0; q < 2; q++) {
        int ch = q ? r : l;
        if (ch >= n->nf) continue;
        int ids[TXRT_MAX_RANK], k;
        if (n->f[ch].inv || !plain_access(n->f[ch].e, ids, &k)) return false;
    }
    imask contract = res[l] & res[r] & ~res[v];
    imask free_ = (res[l] ^ res[r]) & res[v];
    imask batch = res[l] & res[r] & res[v];
    /* below the crossover it would run as loops: fold */
    double per_call = msize(res[l] | res[r], ext) / msize(batch, ext);
    return contract && free_ && per_call >= tx_blas_get_crossover();
}

/* Record a contraction for the report. */
static tx_plan_contraction *new_contr(pctx *c) {
    if (c->ncontr == c->capcontr) {
        int cap = c->capcontr ? 2 * c->capcontr : 4;
        c->contr = tx_arena_grow(c->a, c->contr, (size_t)c->ncontr, (size_t)cap, sizeof *c->contr);
        c->capcontr = cap;
    }
    tx_plan_contraction *k = &c->contr[c->ncontr++];
    memset(k, 0, sizeof *k);
    return k;
}

/* Plan the product-sum e whose value is needed at every point of outset
 * (output order oorder): returns the expression that computes it there,
 * after emitting the steps before it. */
static tx_tir_expr *plan_network(pctx *c, const tx_tir_expr *e, imask outset, const int *oorder, int noorder,
                                 const char *what) {
    net n;
    memset(&n, 0, sizeof n);
    n.cmul = 1;
    n.cdiv = 1;
    n.span = e->span;
    flatten(c, &n, e, false);
    sbuf notes = { 0 };

    /* leaves first: their inner reductions are planned on their own */
    for (int k = 0; k < n.nf; k++)
        if (!n.f[k].access) {
            n.f[k].e = rewrite(c, n.f[k].e, n.f[k].mask);
            n.f[k].cheap = cheap_expr(n.f[k].e);
        }
    for (int k = 0; k < n.nsc; k++)
        if (!n.sc[k].access) n.sc[k].e = rewrite(c, n.sc[k].e, 0);
    if (c->fail) return NULL;

    /* deltas (i == j) with a summed side: substitute */
    for (int k = 0; k < n.nf; k++) {
        int i, j;
        if (!is_delta(&n.f[k], &i, &j)) continue;
        int from = -1, to = -1;
        if (i == j) from = to = i;
        else if ((n.sum & bit(j)) && (n.sum & bit(i))) {
            from = c->ext[i] >= c->ext[j] ? i : j;
            to = from == i ? j : i;
        } else if ((n.sum & bit(j)) && c->ext[i] <= c->ext[j]) from = j, to = i;
        else if ((n.sum & bit(i)) && c->ext[j] <= c->ext[i]) from = i, to = j;
        if (from < 0) continue;
        if (from != to) {
            sb_printf(&notes, "%sdelta (%s == %s): %s replaced by %s", notes.n ? "; " : "", ix_name(c, i), ix_name(c, j),
                      ix_name(c, from), ix_name(c, to));
            n.sum &= ~bit(from);
            net_subst(c, &n, from, to);
        }
        n.f[k] = n.f[--n.nf];
        k = -1;    /* the list changed: start over */
    }

    /* summed indices no factor uses multiply by their extent */
    imask used = 0;
    for (int k = 0; k < n.nf; k++) used |= n.f[k].mask;
    for (imask m = n.sum & ~used; m; m &= m - 1) n.cmul *= c->ext[lowbit(m)];
    n.sum &= used;
    if (n.nf > 2 || (n.nf == 2 && n.sum)) c->interesting = true;

    /* indices only one factor uses (and not the output): summed first */
    double pre = 0;
    for (int k = 0; k < n.nf; k++) {
        imask others = outset;
        for (int j = 0; j < n.nf; j++)
            if (j != k) others |= n.f[j].mask;
        imask priv = n.f[k].mask & n.sum & ~others;
        if (!priv) continue;
        int ids[MAXIX];
        int np = mask_ids(priv, ids);
        tx_tir_expr *body = n.f[k].e;
        if (n.f[k].inv) body = mk_bin(c, TX_TOP_DIV, mk_const(c, 1, body->span), body);
        if (n.nf > 1) {
            pre += msize(n.f[k].mask, c->ext);
            sbuf t = { 0 };
            put_ids(c, &t, ids, np, false);
            sb_printf(&notes, "%s%s summed out of %s first", notes.n ? "; " : "", t.s, expr_text(c, n.f[k].e));
            free(t.s);
        }
        n.f[k].e = mk_reduce(c, TX_RED_SUM, ids, np, body);
        n.f[k].inv = false;
        n.f[k].access = false;
        n.f[k].cheap = false;
        n.f[k].mask &= ~priv;
        n.sum &= ~priv;
    }

    /* the search */
    tx_plan_contraction *K = new_contr(c);
    K->what = what;
    K->nfactors = n.nf;
    K->factors = TX_NEWN(c->a, const char *, n.nf + 1);
    K->fnames = TX_NEWN(c->a, const char *, n.nf + 1);
    bool letters = true;
    imask all = outset;
    for (int k = 0; k < n.nf; k++) all |= n.f[k].mask;
    for (imask m = all; m; m &= m - 1)
        if (strlen(ix_name(c, lowbit(m))) != 1) letters = false;
    for (int k = 0; k < n.nf; k++) {
        fac *f = &n.f[k];
        const char *t = expr_text(c, f->e);
        f->text = f->inv ? tx_arena_printf(c->a, "1/%s", t) : t;
        if (f->access) f->sname = f->inv ? tx_arena_printf(c->a, "1/%s", f->e->var) : f->e->var;
        else f->sname = tx_arena_printf(c->a, "%sL%d", f->inv ? "1/" : "", ++c->nleaf);
        K->factors[k] = !c->report || f->access ? f->text : tx_arena_printf(c->a, "%s = %s", f->sname, f->text);
        K->fnames[k] = f->sname;
    }
    if (c->report) {
        sbuf b = { 0 };
        for (int k = 0; k < n.nf; k++) {
            int ids[MAXIX], m = 0;
            imask seen = 0;
            free_order(n.f[k].e, 0, ids, &m, &seen);
            if (k) sb_put(&b, ",");
            if (!letters) sb_put(&b, "[");
            if (n.f[k].inv) sb_put(&b, "1/");
            put_ids(c, &b, ids, m, letters);
            if (!letters) sb_put(&b, "]");
        }
        sb_put(&b, "->");
        if (!letters) sb_put(&b, "[");
        put_ids(c, &b, oorder, noorder, letters);
        if (!letters) sb_put(&b, "]");
        K->einsum = sb_done(&b, c->a);
        for (imask m = all; m; m &= m - 1) sb_printf(&b, "%s%s=%.0f", b.n ? " " : "", ix_name(c, lowbit(m)), c->ext[lowbit(m)]);
        K->sizes = sb_done(&b, c->a);
    }

    opnd *ops = TX_NEWN(c->a, opnd, 2 * n.nf + 1);
    int root = -1;
    int (*pair)[2] = NULL;
    int nsteps = 0;
    if (n.nf >= 2) {
        const int **terms = TX_NEWN(c->a, const int *, n.nf);
        int *tlen = TX_NEWN(c->a, int, n.nf);
        for (int k = 0; k < n.nf; k++) {
            int *ids = TX_NEWN(c->a, int, MAXIX);
            tlen[k] = mask_ids(n.f[k].mask, ids);
            terms[k] = ids;
        }
        int oids[MAXIX];
        int no = mask_ids(outset, oids);
        tx_plan_net pn = { n.nf, terms, tlen, c->nix, c->ext, oids, no };
        tx_plan_path path;
        if (!tx_plan_search(c->a, &pn, c->o, &path)) {
            fail(c, "too many factors or indices in one product (at most 64 and 128)");
            free(notes.s);
            return NULL;
        }
        if (!path.fits) {
            c->capped = true;
            free(notes.s);
            return NULL;
        }
        K->exact = path.exact;
        pair = path.pair;
        nsteps = path.nsteps;
        root = n.nf + nsteps - 1;
    } else if (n.nf == 1) {
        root = 0;
    }
    K->madds = pre;

    /* result masks of every operand */
    imask *res = TX_NEWN(c->a, imask, 2 * n.nf + 1);
    uint64_t *ls = TX_NEWN(c->a, uint64_t, 2 * n.nf + 1);
    for (int k = 0; k < n.nf; k++) {
        res[k] = n.f[k].mask;
        ls[k] = (uint64_t)1 << k;
    }
    for (int s = 0; s < nsteps; s++) {
        int v = n.nf + s, l = pair[s][0], r = pair[s][1];
        ls[v] = ls[l] | ls[r];
        imask outside = 0;
        for (int k = 0; k < n.nf; k++)
            if (!(ls[v] >> k & 1)) outside |= n.f[k].mask;
        imask U = res[l] | res[r];
        res[v] = s == nsteps - 1 ? (U & outset) : (U & (outside | outset));
    }

    /* Fold factors applied at the root without a sum into the final step
     * (O = (sum A*V) / D[i]), unless that step is a BLAS-shaped product:
     * then it stays a plain product into a temporary and the factors follow. */
    int *folded = TX_NEWN(c->a, int, n.nf + 1);
    int nfolded = 0;
    while (root >= n.nf) {
        int s = root - n.nf, l = pair[s][0], r = pair[s][1];
        imask U = res[l] | res[r];
        if (U & ~outset) break;     /* the root sums something */
        int leaf = -1, other = -1;
        if (l < n.nf && r >= n.nf) leaf = l, other = r;
        else if (r < n.nf && l >= n.nf) leaf = r, other = l;
        if (leaf < 0 || (res[leaf] & ~res[other])) break;
        if (blas_shaped(&n, pair, res, other, c->ext)) break;
        folded[nfolded++] = leaf;
        root = other;
    }

    /* Layouts, top-down: a step's result is stored in the order its consumer
     * loops over it (the consumer's result indices, then the indices it sums,
     * innermost), so the loop nests that read temporaries walk them with
     * unit stride; the final result's order is the statement's. */
    int **ord = TX_NEWN(c->a, int *, 2 * n.nf + 1), *nord = TX_NEWN(c->a, int, 2 * n.nf + 1);
    int **sord = TX_NEWN(c->a, int *, 2 * n.nf + 1), *nsord = TX_NEWN(c->a, int, 2 * n.nf + 1);
    if (root >= 0) {
        ord[root] = (int *)oorder;
        nord[root] = noorder;
    }
    for (int v = root; v >= n.nf; v--) {
        if (!ord[v]) continue;  /* not below the root (cannot happen in post-order) */
        int l = pair[v - n.nf][0], r = pair[v - n.nf][1];
        imask U = res[l] | res[r];
        imask S = v == root ? (U & ~outset) : (U & ~res[v]);
        int *so = TX_NEWN(c->a, int, MAXIX), ns = 0;
        imask seen = 0;
        int first = (l < n.nf && n.f[l].access) || r >= n.nf ? l : r;
        int kids[2] = { first, first == l ? r : l };
        for (int q = 0; q < 2; q++) {
            int ch = kids[q];
            if (ch >= n.nf || !n.f[ch].access) continue;
            int ids[MAXIX], m = 0;
            imask sn = 0;
            free_order(n.f[ch].e, 0, ids, &m, &sn);
            for (int k = 0; k < m; k++)
                if ((S & bit(ids[k])) && !(seen & bit(ids[k]))) seen |= bit(ids[k]), so[ns++] = ids[k];
        }
        for (int k = 0; k < c->nix; k++) {   /* the rest by the statement's loop order */
            int id = c->rank_of[k];
            if ((S & bit(id)) && !(seen & bit(id))) seen |= bit(id), so[ns++] = id;
        }
        sord[v] = so;
        nsord[v] = ns;
        /* A BLAS step reads its operands as row-major matrices: the temporary
         * that supplies the result's innermost (column) index is best stored
         * as (batch, summed, columns), i.e. untransposed; stored as
         * (batch, columns, summed) it reaches OpenBLAS transposed, whose
         * small-matrix kernels for that case run 3-4x slower (A[i,j]*R[j,l]
         * with i = 2000, j = l = 20: 0.30 against 0.07 ms). */
        bool blas_v = blas_shaped(&n, pair, res, v, c->ext);
        imask batch = res[l] & res[r] & res[v];
        int last = nord[v] ? ord[v][nord[v] - 1] : -1;
        for (int q = 0; q < 2; q++) {
            int ch = q ? r : l;
            int *co = TX_NEWN(c->a, int, MAXIX), nc = 0;
            bool cols = blas_v && ch >= n.nf && last >= 0 && (res[ch] & ~batch & bit(last));
            for (int k = 0; k < nord[v]; k++)
                if ((res[ch] & bit(ord[v][k])) && (!cols || (batch & bit(ord[v][k])))) co[nc++] = ord[v][k];
            for (int k = 0; k < ns; k++)
                if (res[ch] & bit(so[k])) co[nc++] = so[k];
            for (int k = 0; cols && k < nord[v]; k++)
                if ((res[ch] & ~batch & bit(ord[v][k]))) co[nc++] = ord[v][k];
            ord[ch] = co;
            nord[ch] = nc;
        }
    }
    if (root >= 0 && root < n.nf) {
        ord[root] = (int *)oorder;
        nord[root] = noorder;
    }

    /* emit the steps below the root, in order */
    K->steps = TX_NEWN(c->a, tx_plan_step, nsteps + 1);
    char *stepno = TX_NEWN(c->a, char, 2 * n.nf + 1);   /* K->steps index + 1 of an operand */
    for (int s = 0; s < nsteps; s++) {
        int v = n.nf + s;
        if (v > root) break;    /* folded into the final step */
        int l = pair[s][0], r = pair[s][1];
        imask U = res[l] | res[r];
        opnd *L = &ops[l], *R = &ops[r];
        if (l < n.nf) fac_opnd(c, &n.f[l], l, U, ord[l], nord[l], L);
        if (r < n.nf) fac_opnd(c, &n.f[r], r, U, ord[r], nord[r], R);
        tx_plan_step *st = &K->steps[K->nsteps++];
        st->left = stepno[l] ? n.nf + stepno[l] - 1 : l;
        st->right = stepno[r] ? n.nf + stepno[r] - 1 : r;
        stepno[v] = (char)K->nsteps;
        bool isroot = v == root;
        st->madds = msize(isroot ? (U | outset) : U, c->ext);
        K->madds += st->madds;
        if (isroot) {
            st->final = true;
            st->size = msize(outset, c->ext);
            st->einsum = einsum_of(c, L, R, oorder, noorder, letters);
            st->result = c->def->rhs == e ? what : "(in place)";
            ops[v].e = step_rhs(c, L, R, sord[v], nsord[v]);
            ops[v].fac = -1;
            /* its BLAS shape, as if it were a DEF of its own */
            if (c->report) {
                tx_tir_stmt *probe = make_def(c, "(final)", oorder, noorder, ops[v].e, false, false);
                tx_plan_classify(probe, &st->gemm);
                st->roles = roles_text(c, &st->gemm, probe);
            }
            /* a step computed inside a larger expression (exp(sum ...)) or
             * with factors folded in is part of a loop nest, not a BLAS call */
            if (nfolded || c->def->rhs != e) st->gemm.blas = false;
            break;
        }
        /* identical steps meet under the smaller canonical text of the two
         * operand orders; the step itself keeps the tree's order */
        tx_tir_expr *r1 = step_rhs(c, L, R, sord[v], nsord[v]), *r2 = step_rhs(c, R, L, sord[v], nsord[v]);
        canon k1, k2;
        const char *s1 = temp_sig(c, r1, res[v], &k1), *s2 = temp_sig(c, r2, res[v], &k2);
        bool swap = strcmp(s2, s1) < 0;
        const char *nm;
        bool reused;
        ops[v].e = emit_temp_sig(c, ord[v], nord[v], r1, swap ? s2 : s1, swap ? &k2 : &k1, &reused, &nm);
        ops[v].inv = false;
        ops[v].mask = res[v];
        ops[v].fac = -1;
        opnd_order(&ops[v]);
        st->einsum = einsum_of(c, L, R, ops[v].order, ops[v].n, letters);
        {
            sbuf b = { 0 };
            sb_printf(&b, "%s[", nm);
            put_ids(c, &b, ops[v].order, ops[v].n, false);
            sb_put(&b, "]");
            st->result = sb_done(&b, c->a);
        }
        st->size = msize(res[v], c->ext);
        st->reused = reused;
        if (reused) K->madds -= st->madds;
        /* its BLAS shape, from the DEF that computes it */
        for (int q = c->nout - 1; q >= 0; q--)
            if (strcmp(c->out[q]->out, nm) == 0) {
                tx_plan_classify(c->out[q], &st->gemm);
                st->roles = roles_text(c, &st->gemm, c->out[q]);
                break;
            }
    }

    /* the final expression: the root, folded factors, constants */
    tx_tir_expr *x = NULL;
    opnd rootop;
    if (root >= n.nf) {
        x = ops[root].e;
        if (!K->nsteps || !K->steps[K->nsteps - 1].final) {
            /* unreachable: the root step is always emitted last */
            fail(c, "internal error: no final step");
            free(notes.s);
            return NULL;
        }
    } else if (root >= 0) {
        fac_opnd(c, &n.f[root], root, outset, oorder, noorder, &rootop);
        x = rootop.e;
        if (rootop.inv) x = mk_bin(c, TX_TOP_DIV, mk_const(c, 1, x->span), x);
    }
    sbuf hb = { 0 };
    for (int k = 0; k < nfolded; k++) {
        opnd p;
        fac_opnd(c, &n.f[folded[k]], folded[k], outset, oorder, noorder, &p);
        x = mk_bin(c, p.inv ? TX_TOP_DIV : TX_TOP_MUL, x, p.e);
        sb_printf(&hb, "%s%s %s", hb.n ? " " : "", p.inv ? "/" : "*", expr_text(c, n.f[folded[k]].e));
    }
    for (int k = 0; k < n.nsc; k++) {
        tx_tir_expr *s = n.sc[k].e;
        if (!cheap_expr(s) && outset) {
            tx_tir_expr *h = emit_temp(c, NULL, 0, s, NULL, NULL);
            s = h;
        }
        if (!x) x = n.sc[k].inv ? mk_bin(c, TX_TOP_DIV, mk_const(c, 1, s->span), s) : s;
        else x = mk_bin(c, n.sc[k].inv ? TX_TOP_DIV : TX_TOP_MUL, x, s);
        sb_printf(&hb, "%s%s %s", hb.n ? " " : "", n.sc[k].inv ? "/" : "*", expr_text(c, n.sc[k].e));
    }
    if (n.cmul != 1 || !x) {
        x = x ? mk_bin(c, TX_TOP_MUL, x, mk_const(c, n.cmul, n.span)) : mk_const(c, n.cmul, n.span);
        if (n.cmul != 1) sb_printf(&hb, "%s* %.17g", hb.n ? " " : "", n.cmul);
    }
    if (n.cdiv != 1) {
        x = mk_bin(c, TX_TOP_DIV, x, mk_const(c, n.cdiv, n.span));
        sb_printf(&hb, "%s/ %.17g", hb.n ? " " : "", n.cdiv);
    }
    K->hoisted = hb.n ? sb_done(&hb, c->a) : (free(hb.s), NULL);
    K->notes = notes.n ? sb_done(&notes, c->a) : (free(notes.s), NULL);

    /* the tree text */
    {
        const char **txt = TX_NEWN(c->a, const char *, 2 * n.nf + 1);
        for (int k = 0; k < n.nf; k++) txt[k] = n.f[k].sname;
        for (int s = 0; s < nsteps; s++) {
            int v = n.nf + s;
            if (v > root) break;
            txt[v] = tx_arena_printf(c->a, "(%s %s)", txt[pair[s][0]], txt[pair[s][1]]);
        }
        const char *t = root >= 0 ? txt[root] : "";
        for (int k = 0; k < nfolded; k++) t = tx_arena_printf(c->a, "(%s %s)", t, txt[folded[k]]);
        K->tree = t;
    }
    return x;
}

/* ---- the time model: which steps run through BLAS ---- */

/* Loop-nest FLOPs of a DEF over its own index table. */
static double def_flops(const tx_tir_stmt *s) {
    if (s->nindices > MAXIX) return INF;
    double ext[MAXIX];
    for (int k = 0; k < s->nindices; k++) ext[k] = s->indices[k].extent < 0 ? 1 : (double)s->indices[k].extent;
    imask outset = 0;
    for (int k = 0; k < s->nout; k++)
        if (s->out_idx[k] >= 0 && s->out_idx[k] < MAXIX) outset |= bit(s->out_idx[k]);
    return flops_of(s->rhs, outset, ext);
}

/* Estimated nanoseconds of running s: through BLAS when the dispatch will
 * take it (ir/blas.h), else as a loop nest (a multiply-add is 2 FLOPs)
 * plus the fixed cost of one more kernel. */
static double def_ns(const tx_tir_stmt *s, const tx_plan_opts *o) {
    tx_plan_gemm g;
    tx_plan_classify(s, &g);
    if (g.blas) return tx_blas_call_ns(s, &g);
    return tx_blas_loop_ns(def_flops(s) / 2) + o->step_ns;
}

/* ---- the statement ---- */

/* Indices subscripting plainly (X[i]) and shifted on their own (X[i+1], X[2*i]). */
static void subscript_uses(const tx_tir_expr *e, imask *plain, imask *shifted) {
    if (!e) return;
    if (e->kind == TX_TIR_ACCESS)
        for (int k = 0; k < e->nsubs; k++) {
            const tx_tir_affine *s = &e->subs[k];
            if (s->nterms != 1 || s->idx[0] < 0 || s->idx[0] >= MAXIX) continue;
            if (s->coef[0] == 1 && s->c0 == 0) *plain |= bit(s->idx[0]);
            else *shifted |= bit(s->idx[0]);
        }
    subscript_uses(e->a, plain, shifted);
    subscript_uses(e->b, plain, shifted);
    subscript_uses(e->c, plain, shifted);
}

static bool def_has_network(const tx_tir_expr *e) {
    if (!e) return false;
    bool prodsum = (e->kind == TX_TIR_REDUCE && e->redop == TX_RED_SUM) ||
                   (e->kind == TX_TIR_BINARY && (e->op == TX_TOP_MUL || e->op == TX_TOP_DIV)) ||
                   (e->kind == TX_TIR_UNARY && e->op == TX_TOP_NEG);
    if (prodsum) {
        int nf = 0;
        bool sum = false;
        count_prodsum(e, false, &nf, &sum);
        if (sum || nf >= 3) return true;
    }
    if (e->kind == TX_TIR_REDUCE) return true;
    return def_has_network(e->a) || def_has_network(e->b) || def_has_network(e->c);
}

static tx_plan_stmt *plan_def(tx_arena *a, const tx_tir_stmt *def, const tx_plan_opts *o, tx_plan_memo *memo,
                              const char *prefix, int *counter, bool report) {
    tx_plan_opts dflt;
    if (!o) {
        tx_plan_opts_default(&dflt);
        o = &dflt;
    }
    tx_plan_stmt *ps = TX_NEW(a, tx_plan_stmt);
    ps->def = def;
    ps->span = def ? def->span : (tx_span){ 0, 0 };
    ps->status = TX_PLAN_NONE;
    if (!def || def->kind != TX_TIR_DEF || def->ellipsis || !def->rhs || !def_has_network(def->rhs)) return ps;
    if (report) {
        ps->text = tx_tir_stmt_str(a, def, NULL);
        size_t tl = strlen(ps->text);
        if (tl && ps->text[tl - 1] == '\n') ((char *)ps->text)[tl - 1] = 0;
    }
    if (def->nindices > MAXIX) {
        ps->status = TX_PLAN_UNSUPPORTED;
        ps->reason = "more than 128 indices in one statement";
        return ps;
    }
    pctx c;
    memset(&c, 0, sizeof c);
    c.a = a;
    c.def = def;
    c.o = o;
    c.report = report;
    c.prefix = prefix ? prefix : "%p";
    int local_counter = 0;
    c.counter = counter ? counter : &local_counter;
    c.memo = memo ? memo : tx_plan_memo_new(a);
    c.memo_mark = c.memo->n;
    c.nix = def->nindices;
    for (int k = 0; k < def->nindices; k++) {
        if (def->indices[k].extent < 0) {
            ps->status = TX_PLAN_UNKNOWN;
            ps->reason = "sizes unknown until run time";
            return ps;
        }
        c.ext[k] = (double)def->indices[k].extent;
    }
    imask outset = 0;
    for (int k = 0; k < def->nout; k++) outset |= bit(def->out_idx[k]);
    ps->naive_flops = ps->planned_flops = flops_of(def->rhs, outset, c.ext);
    for (int k = 0; k < def->nindices; k++) {
        const tx_tir_index *x = &def->indices[k];
        if (x->lo != 0) {
            ps->status = TX_PLAN_UNSUPPORTED;
            ps->reason = tx_arena_printf(a, "index '%s' starts at %lld (a shifted range): left as a loop nest",
                                         x->name ? x->name : "?", (long long)x->lo);
            return ps;
        }
        if (x->extent == 0) {
            ps->status = TX_PLAN_AS_IS;
            ps->reason = "empty: nothing to compute";
            return ps;
        }
    }
    {
        /* An index used both plainly (W[i]) and shifted on its own (Q[i+1])
         * may have been narrowed below W's size by the "valid" rule; split
         * apart, the two uses would disagree about its range. */
        imask plain = 0, shifted = 0;
        subscript_uses(def->rhs, &plain, &shifted);
        imask both = plain & shifted;
        if (both) {
            ps->status = TX_PLAN_UNSUPPORTED;
            ps->reason = tx_arena_printf(a, "index '%s' is used both plainly and shifted, so its range is the "
                                         "valid part of a stencil: left as a loop nest",
                                         def->indices[lowbit(both)].name ? def->indices[lowbit(both)].name : "?");
            return ps;
        }
    }
    {
        int n = 0;
        imask seen = 0;
        for (int k = 0; k < def->nout; k++)
            if (!(seen & bit(def->out_idx[k]))) seen |= bit(def->out_idx[k]), c.rank_of[n++] = def->out_idx[k];
        all_ids(def->rhs, c.rank_of, &n, &seen);
        for (int k = 0; k < def->nindices; k++)
            if (!(seen & bit(k))) seen |= bit(k), c.rank_of[n++] = k;
    }
    int saved_counter = *c.counter;

    tx_tir_expr *rhs = rewrite(&c, def->rhs, outset);
    ps->contr = c.contr;
    ps->ncontr = c.ncontr;
    if (c.fail) {
        ps->status = TX_PLAN_UNSUPPORTED;
        ps->reason = c.fail;
    } else if (rhs == def->rhs && c.nout == 0) {
        ps->status = c.capped ? TX_PLAN_CAPPED : TX_PLAN_AS_IS;
    } else {
        tx_tir_stmt *fin = make_def(&c, def->out, def->out_idx, def->nout, rhs, def->accumulate, def->is_let);
        double fl = flops_of(rhs, outset, c.ext);
        ps->planned_flops = c.flops + fl;
        ps->largest = c.largest;
        /* by estimated time: BLAS steps at BLAS speed, loop steps at loop
         * speed plus a fixed cost each (kernels to compile, temporaries) */
        ps->naive_ns = def_ns(def, o);
        ps->planned_ns = def_ns(fin, o);
        for (int q = 0; q < c.nout; q++) ps->planned_ns += def_ns(c.out[q], o);
        if (ps->planned_ns < ps->naive_ns) {
            push_stmt(&c, fin);
            ps->status = TX_PLAN_REWRITTEN;
            ps->stmts = c.out;
            ps->nstmts = c.nout;
        } else {
            ps->status = c.capped ? TX_PLAN_CAPPED : (c.nout == 0 ? TX_PLAN_AS_IS : TX_PLAN_NO_GAIN);
            if (ps->status == TX_PLAN_NO_GAIN)
                ps->reason = ps->planned_flops < ps->naive_flops
                                 ? "fewer FLOPs, but the steps are not estimated to run faster than the loop nest "
                                   "as written (each loop step costs a kernel)"
                                 : "the best order is no cheaper than the loop nest as written";
        }
    }
    if (ps->status != TX_PLAN_REWRITTEN) {
        /* nothing emitted survives: forget its temporaries */
        c.memo->n = c.memo_mark;
        *c.counter = saved_counter;
        ps->planned_flops = ps->naive_flops;
        ps->largest = 0;
        if (ps->status == TX_PLAN_CAPPED)
            ps->reason = tx_arena_printf(a, "no order keeps every temporary within %.0f elements: left as a loop nest",
                                         o->max_intermediate);
        if (!c.interesting && ps->status == TX_PLAN_AS_IS) ps->status = TX_PLAN_NONE;
    }
    return ps;
}

tx_plan_stmt *tx_plan_def(tx_arena *a, const tx_tir_stmt *def, const tx_plan_opts *o, tx_plan_memo *memo,
                          const char *prefix, int *counter) {
    return plan_def(a, def, o, memo, prefix, counter, true);
}

/* ---- a quick look: is there anything to plan at all? ----
 * The run-time rewriter sees every DEF each time it runs, including the
 * pairwise steps planned before the run; this filter keeps that cheap.  It
 * answers true for: a product of three or more factors under a sum,
 * factors inside a sum that do not depend on it (constants, scalars), an
 * index only one factor uses, and reductions nested in other expressions
 * (they may be hoisted or hold networks of their own). */

typedef struct quick {
    int nf;
    imask f[64];
    bool inner_scalar, leaf_reduce;
    imask sum;
} quick;

static bool contains_reduce(const tx_tir_expr *e) {
    if (!e) return false;
    return e->kind == TX_TIR_REDUCE || contains_reduce(e->a) || contains_reduce(e->b) || contains_reduce(e->c);
}

static void quick_flat(quick *q, const tx_tir_expr *e, bool inv, bool insum) {
    if (e->kind == TX_TIR_BINARY && (e->op == TX_TOP_MUL || e->op == TX_TOP_DIV)) {
        quick_flat(q, e->a, inv, insum);
        quick_flat(q, e->b, e->op == TX_TOP_DIV ? !inv : inv, insum);
        return;
    }
    if (e->kind == TX_TIR_UNARY && e->op == TX_TOP_NEG) {
        quick_flat(q, e->a, inv, insum);
        return;
    }
    if (e->kind == TX_TIR_REDUCE && e->redop == TX_RED_SUM && !inv) {
        for (int k = 0; k < e->nidx; k++)
            if (e->idx[k] >= 0 && e->idx[k] < MAXIX) q->sum |= bit(e->idx[k]);
        quick_flat(q, e->a, false, true);
        return;
    }
    imask m = e->kind == TX_TIR_CONST ? 0 : freeix(e);
    if (e->kind != TX_TIR_ACCESS && contains_reduce(e)) q->leaf_reduce = true;
    if (m == 0) {
        if (insum) q->inner_scalar = true;
        return;
    }
    if (q->nf < 64) q->f[q->nf] = m;
    q->nf++;
}

static bool worth_planning(const tx_tir_expr *e) {
    if (!e) return false;
    bool prodsum = (e->kind == TX_TIR_REDUCE && e->redop == TX_RED_SUM) ||
                   (e->kind == TX_TIR_BINARY && (e->op == TX_TOP_MUL || e->op == TX_TOP_DIV)) ||
                   (e->kind == TX_TIR_UNARY && e->op == TX_TOP_NEG);
    if (prodsum) {
        quick q;
        memset(&q, 0, sizeof q);
        quick_flat(&q, e, false, false);
        if (q.leaf_reduce || q.nf >= 3) return true;
        if (!q.sum) return false;
        if (q.inner_scalar) return true;
        for (imask m = q.sum; m; m &= m - 1) {
            int users = 0;
            for (int k = 0; k < q.nf && k < 64; k++) users += (q.f[k] & bit(lowbit(m))) != 0;
            if (users < 2 && q.nf > 1) return true;
        }
        return false;
    }
    return worth_planning(e->a) || worth_planning(e->b) || worth_planning(e->c);
}

/* ==== 4. programs ================================================================== */

static void report_add(tx_arena *a, tx_plan_report *rep, tx_plan_stmt *ps) {
    if (!rep) return;
    if (rep->n == rep->cap) {
        int cap = rep->cap ? 2 * rep->cap : 16;
        rep->v = tx_arena_grow(a, rep->v, (size_t)rep->n, (size_t)cap, sizeof *rep->v);
        rep->cap = cap;
    }
    rep->v[rep->n++] = ps;
}

static void kill_assigned(tx_plan_memo *m, tx_tir_stmt **body, int n) {
    for (int k = 0; k < n; k++) {
        const tx_tir_stmt *s = body[k];
        if (!s) continue;
        if (s->kind == TX_TIR_DEF) tx_plan_memo_kill(m, s->out);
        else if (s->kind == TX_TIR_CALL)
            for (int r = 0; r < s->nresults; r++) tx_plan_memo_kill(m, s->results[r]);
        else if (s->kind == TX_TIR_FOR) {
            tx_plan_memo_kill(m, s->var);
            kill_assigned(m, s->body, s->nbody);
        }
    }
}

typedef struct prog_ctx {
    tx_arena *a;
    const tx_plan_opts *o;
    tx_plan_report *rep;
    int counter;
} prog_ctx;

static void plan_body(prog_ctx *pc, tx_tir_stmt ***body, int *n, tx_plan_memo *memo) {
    tx_tir_stmt **v = NULL;
    int nv = 0, cap = 0;
    for (int k = 0; k < *n; k++) {
        tx_tir_stmt *s = (*body)[k];
        tx_tir_stmt **add = &s;
        int nadd = 1;
        if (s && s->kind == TX_TIR_DEF) {
            tx_plan_stmt *ps = tx_plan_def(pc->a, s, pc->o, memo, "%p", &pc->counter);
            if (ps->status != TX_PLAN_NONE) report_add(pc->a, pc->rep, ps);
            if (ps->status == TX_PLAN_REWRITTEN) {
                add = ps->stmts;
                nadd = ps->nstmts;
            }
            tx_plan_memo_kill(memo, s->out);
        } else if (s && s->kind == TX_TIR_CALL) {
            for (int r = 0; r < s->nresults; r++) tx_plan_memo_kill(memo, s->results[r]);
        } else if (s && s->kind == TX_TIR_FOR) {
            /* the body runs any number of times: its own memo, and afterwards
             * nothing it assigns can be trusted */
            tx_plan_memo *inner = tx_plan_memo_new(pc->a);
            plan_body(pc, &s->body, &s->nbody, inner);
            tx_plan_memo_kill(memo, s->var);
            kill_assigned(memo, s->body, s->nbody);
        }
        if (nv + nadd > cap) {
            int nc = cap ? 2 * cap : 16;
            while (nc < nv + nadd) nc *= 2;
            v = tx_arena_grow(pc->a, v, (size_t)nv, (size_t)nc, sizeof *v);
            cap = nc;
        }
        for (int j = 0; j < nadd; j++) v[nv++] = add[j];
    }
    *body = v;
    *n = nv;
}

void tx_plan_program(tx_arena *a, tx_tir_program *p, const tx_plan_opts *o, tx_plan_report *rep) {
    tx_plan_opts dflt;
    if (!o) {
        tx_plan_opts_default(&dflt);
        o = &dflt;
    }
    if (!p) return;
    if (rep) rep->src = p->src;
    prog_ctx pc = { a, o, rep, 0 };
    for (int f = 0; f < p->nfuncs; f++) {
        tx_tir_func *fn = p->funcs[f];
        plan_body(&pc, &fn->body, &fn->nbody, tx_plan_memo_new(a));
    }
    plan_body(&pc, &p->stmts, &p->nstmts, tx_plan_memo_new(a));
}

/* ==== 5. planning at run time ====================================================== */

/* Plans made at run time are kept by the statement's canonical text (the
 * planner's own signature, canon_expr) and its index ranges: a statement
 * that runs again with the same sizes -- in a loop, under --repeat --
 * gets its steps back instead of a new search (chain3: ~9 us of ~85 per
 * run).  The steps live in the cache's arena and point at the program's
 * names, so the cache lives no longer than the program it planned
 * (tx_plan_runtime_forget; the REPL forgets after each input). */
#define RT_CACHE_MAX 512

typedef struct rt_plan {
    char *key;
    uint64_t hash;
    tx_tir_stmt **stmts;
    int n;                   /* -1: not rewritten */
} rt_plan;

struct tx_plan_runtime {
    tx_plan_opts o;
    FILE *show;
    const tx_source *src;
    const void **shown;      /* right-hand sides whose plan was printed */
    int nshown, capshown;
    int count;
    int hits;                /* of count, plans taken from the cache */
    tx_arena *arena;         /* the cached plans' statements */
    rt_plan *cache;
    int ncache, capcache;
};

tx_plan_runtime *tx_plan_runtime_new(const tx_plan_opts *o, FILE *show, const tx_source *src) {
    tx_plan_runtime *rt = xcalloc(1, sizeof *rt);
    if (o) rt->o = *o;
    else tx_plan_opts_default(&rt->o);
    rt->show = show;
    rt->src = src;
    return rt;
}

void tx_plan_runtime_forget(tx_plan_runtime *rt) {
    if (!rt) return;
    for (int k = 0; k < rt->ncache; k++) free(rt->cache[k].key);
    rt->ncache = 0;
    tx_arena_free(rt->arena);
    rt->arena = NULL;
}

void tx_plan_runtime_free(tx_plan_runtime *rt) {
    if (!rt) return;
    tx_plan_runtime_forget(rt);
    free(rt->cache);
    free(rt->shown);
    free(rt);
}

/* The cache key of def: its canonical right-hand side, output and the
 * ranges of its indices in canonical order (malloc'ed). */
static char *rt_key(const tx_tir_stmt *def) {
    canon k;
    for (int q = 0; q < MAXIX; q++) k.of[q] = -1;
    k.n = 0;
    sbuf b = { NULL, 0, 0 };
    sb_put(&b, def->out ? def->out : "?");
    sb_put(&b, def->accumulate ? "+=" : "=");
    canon_expr(&b, def->rhs, &k);
    sb_put(&b, "|");
    for (int q = 0; q < def->nout; q++) sb_printf(&b, "%d,", canon_num(&k, def->out_idx[q]));
    sb_put(&b, "|");
    for (int q = 0; q < k.n; q++) {
        const tx_tir_index *x = &def->indices[k.id[q]];
        sb_printf(&b, "%lld:%lld,", (long long)x->lo, (long long)x->extent);
    }
    return b.s;
}

static uint64_t rt_hash(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

int tx_plan_runtime_count(const tx_plan_runtime *rt) { return rt ? rt->count : 0; }

int tx_plan_runtime_hits(const tx_plan_runtime *rt) { return rt ? rt->hits : 0; }

static int rt_rewrite(void *self, const tx_tir_stmt *def, tx_arena *scratch, tx_tir_stmt ***out, int *nout,
                      tx_diags *d) {
    tx_plan_runtime *rt = self;
    /* masks are MAXIX bits wide: wider statements are not planned (plan_def says so) */
    if (def->nindices > MAXIX || !worth_planning(def->rhs)) return -1;
    char *key = rt_key(def);
    uint64_t h = key ? rt_hash(key) : 0;
    for (int k = 0; key && k < rt->ncache; k++) {
        const rt_plan *p = &rt->cache[k];
        if (p->hash != h || strcmp(p->key, key) != 0) continue;
        free(key);
        if (p->n < 0) return -1;
        rt->count++;
        rt->hits++;
        *out = p->stmts;
        *nout = p->n;
        return 0;
    }
    if (rt->ncache >= RT_CACHE_MAX) tx_plan_runtime_forget(rt);
    if (!rt->arena) rt->arena = tx_arena_new(0);
    (void)scratch;
    int counter = 0;
    tx_plan_stmt *ps = plan_def(rt->arena, def, &rt->o, NULL, "%r", &counter, rt->show != NULL);
    if (key) {
        if (rt->ncache == rt->capcache) {
            rt->capcache = rt->capcache ? 2 * rt->capcache : 16;
            rt->cache = realloc(rt->cache, sizeof *rt->cache * (size_t)rt->capcache);
            if (!rt->cache) abort();
        }
        bool done = ps->status == TX_PLAN_REWRITTEN;
        rt->cache[rt->ncache++] = (rt_plan){ key, h, done ? ps->stmts : NULL, done ? ps->nstmts : -1 };
    }
    if (rt->show && ps->status == TX_PLAN_REWRITTEN) {
        bool seen = false;
        for (int k = 0; k < rt->nshown && !seen; k++) seen = rt->shown[k] == (const void *)def->rhs;
        if (!seen) {
            if (rt->nshown == rt->capshown) {
                rt->capshown = rt->capshown ? 2 * rt->capshown : 16;
                rt->shown = realloc(rt->shown, sizeof *rt->shown * (size_t)rt->capshown);
                if (!rt->shown) abort();
            }
            rt->shown[rt->nshown++] = def->rhs;
            ps->runtime = true;
            tx_plan_print_stmt(rt->show, ps, d && d->src ? d->src : rt->src);
        }
    }
    if (ps->status != TX_PLAN_REWRITTEN) return -1;
    rt->count++;
    *out = ps->stmts;
    *nout = ps->nstmts;
    return 0;
}

tx_def_rewriter tx_plan_rewriter(tx_plan_runtime *rt) {
    tx_def_rewriter r = { rt_rewrite, rt };
    return r;
}
