/*
 * lir_lanes.c -- finding the statements that are lanes of one vector
 * operation (see ir/lir_lanes.h).
 *
 * Two passes over the kernel: ACCUM groups first (they define the
 * accumulator groups), then STORE groups (whose values may read them).  In
 * each block, a statement not yet in a group is tried as lane 0: the first
 * other statement that matches it one lane on fixes each load's step (0 or
 * 1 element per lane), and lanes 2, 3, ... must follow the same steps.
 * Greedy, no backtracking: jammed copies match exactly one way.
 */
#include "ir/lir_lanes.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 64      /* loads and accumulator reads in one value */
#define MAX_BLOCK 512     /* longer blocks are left to LLVM */

typedef struct role {
    const tx_lir_stmt *s;
    const tx_lir_stmt **lanes;    /* NULL: a member emitted with its group */
    int width;
} role;

struct tx_lir_lanes {
    const tx_lir_func *f;
    int vec_bytes;
    int *acc_group, *acc_lane, *acc_width;   /* per accumulator */
    const tx_lir_stmt **acc_store;           /* per accumulator: find_acc_stores */
    int nacc_groups, ngroups;
    role *roles;
    int nroles, caproles;
    role **table;                 /* open addressing on the statement pointer */
    size_t tsize;
    bool oom;
    /* scratch for the effect checks: per buffer / accumulator */
    bool *rb, *wb, *ra, *wa;
};

static bool real_dt(txrt_dtype d) { return d == TXRT_F64 || d == TXRT_F32; }

static int lanes_for(const tx_lir_lanes *L, txrt_dtype d) {
    int w = L->vec_bytes / (int)txrt_dtype_size(d);
    return w >= 2 ? w : 0;
}

/* a and b have the same variable terms (any order), constants aside */
static bool same_terms(const tx_lir_affine *a, const tx_lir_affine *b) {
    if (a->sym || b->sym || a->nterms != b->nterms) return false;
    for (int k = 0; k < a->nterms; k++) {
        bool found = false;
        for (int q = 0; q < b->nterms && !found; q++) found = a->var[k] == b->var[q] && a->coef[k] == b->coef[q];
        if (!found) return false;
    }
    return true;
}

/* The steps of a group: per load or accumulator read, in tree order,
 * 0 (the same in every lane), 1 (the next element / the accumulator of
 * the next lane of a group). */
typedef struct steps {
    int n;
    int8_t s[MAX_STEPS];
} steps;

/* Is b the value a takes in lane t?  t == 1 records the steps, t > 1
 * checks them.  Accumulator reads may step through an accumulator group
 * only when group_reads is set. */
static bool match(const tx_lir_lanes *L, const tx_lir_expr *a, const tx_lir_expr *b, int t, steps *st, int *pos,
                  bool group_reads) {
    if (a->kind != b->kind || a->dtype != b->dtype || !real_dt(a->dtype)) return false;
    switch (a->kind) {
    case TX_LIR_CONST:   /* the same number, -0 and 0 apart */
        return a->re == b->re && signbit(a->re) == signbit(b->re);
    case TX_LIR_LOAD: {
        if (a->buf != b->buf || !same_terms(&a->off, &b->off) || *pos >= MAX_STEPS) return false;
        int64_t d = b->off.c0 - a->off.c0;
        if (t == 1) {
            if (d != 0 && d != 1) return false;
            st->s[(*pos)++] = (int8_t)d;
            st->n = *pos;
            return true;
        }
        return d == (int64_t)st->s[(*pos)++] * t;
    }
    case TX_LIR_ACC: {
        if (*pos >= MAX_STEPS) return false;
        int step;
        if (a->acc == b->acc) step = 0;
        else if (group_reads && L->acc_group[a->acc] >= 0 && L->acc_lane[a->acc] == 0 &&
                 L->acc_group[b->acc] == L->acc_group[a->acc] && L->acc_lane[b->acc] == t)
            step = 1;
        else return false;
        if (t == 1) {
            st->s[(*pos)++] = (int8_t)step;
            st->n = *pos;
            return true;
        }
        return step == st->s[(*pos)++];
    }
    case TX_LIR_UNARY:
        if (a->op != b->op || (a->op != TX_TOP_NEG && a->op != TX_TOP_SQRT && a->op != TX_TOP_ABS)) return false;
        return match(L, a->a, b->a, t, st, pos, group_reads);
    case TX_LIR_BINARY:
        if (a->op != b->op) return false;
        switch (a->op) {
        case TX_TOP_ADD: case TX_TOP_SUB: case TX_TOP_MUL: case TX_TOP_DIV: case TX_TOP_MAX2: case TX_TOP_MIN2:
            break;
        default:
            return false;
        }
        return match(L, a->a, b->a, t, st, pos, group_reads) && match(L, a->b, b->b, t, st, pos, group_reads);
    default:
        return false;
    }
}

static bool eligible(const tx_lir_lanes *L, const tx_lir_stmt *s, tx_lir_stmt_kind kind) {
    if (s->kind != kind) return false;
    if (kind == TX_LIR_ACCUM) {
        const tx_lir_acc *a = &L->f->accs[s->acc];
        return real_dt(a->dtype) && s->value->dtype == a->dtype && L->acc_group[s->acc] < 0;
    }
    return real_dt(L->f->bufs[s->buf].dtype) && s->value->dtype == L->f->bufs[s->buf].dtype && !s->off.sym;
}

/* Is statement b lane t of the group whose lane 0 is a? */
static bool lane_of(const tx_lir_lanes *L, const tx_lir_stmt *a, const tx_lir_stmt *b, int t, steps *st) {
    int pos = 0;
    if (a->kind == TX_LIR_ACCUM) {
        if (a->acc == b->acc || L->f->accs[a->acc].op != L->f->accs[b->acc].op ||
            L->f->accs[a->acc].dtype != L->f->accs[b->acc].dtype)
            return false;
        if (!match(L, a->value, b->value, t, st, &pos, false)) return false;
    } else {
        if (a->buf != b->buf || !same_terms(&a->off, &b->off) || b->off.c0 - a->off.c0 != t) return false;
        if (!match(L, a->value, b->value, t, st, &pos, true)) return false;
    }
    return t > 1 || a->kind == TX_LIR_STORE || memchr(st->s, 1, (size_t)st->n) != NULL;
}

/* ---- effects: what a statement reads and writes ---------------------------- */

static void clear_effects(tx_lir_lanes *L) {
    size_t nb = (size_t)L->f->nbufs, na = (size_t)L->f->naccs;
    memset(L->rb, 0, nb), memset(L->wb, 0, nb), memset(L->ra, 0, na), memset(L->wa, 0, na);
}

static void expr_reads(tx_lir_lanes *L, const tx_lir_expr *e) {
    if (!e) return;
    if (e->kind == TX_LIR_LOAD) L->rb[e->buf] = true;
    if (e->kind == TX_LIR_ACC) L->ra[e->acc] = true;
    expr_reads(L, e->a);
    expr_reads(L, e->b);
    expr_reads(L, e->c);
}

static void stmt_effects(tx_lir_lanes *L, const tx_lir_stmt *s) {
    switch (s->kind) {
    case TX_LIR_LOOP:
        for (int k = 0; k < s->body.n; k++) stmt_effects(L, s->body.stmts[k]);
        break;
    case TX_LIR_ACC_INIT: L->wa[s->acc] = true; break;
    case TX_LIR_ACCUM:
        L->wa[s->acc] = L->ra[s->acc] = true;
        expr_reads(L, s->value);
        break;
    case TX_LIR_STORE:
        L->wb[s->buf] = true;
        expr_reads(L, s->value);
        break;
    }
}

static bool expr_touches(const tx_lir_lanes *L, const tx_lir_expr *e, bool written_only) {
    if (!e) return false;
    if (e->kind == TX_LIR_LOAD && (L->wb[e->buf] || (!written_only && L->rb[e->buf]))) return true;
    if (e->kind == TX_LIR_ACC && (L->wa[e->acc] || (!written_only && L->ra[e->acc]))) return true;
    return expr_touches(L, e->a, written_only) || expr_touches(L, e->b, written_only) ||
           expr_touches(L, e->c, written_only);
}

/* With the effects of some statements in L: may member m move past them
 * (they write nothing m reads, and touch nothing m writes)? */
static bool may_pass(const tx_lir_lanes *L, const tx_lir_stmt *m) {
    if (expr_touches(L, m->value, true)) return false;
    if (m->kind == TX_LIR_ACCUM) return !L->wa[m->acc] && !L->ra[m->acc];
    return !L->wb[m->buf] && !L->rb[m->buf];
}

/* ---- statements side by side: may one move past another? ---------------- */

/* Within one pass through a block every variable has one value, so two
 * offsets with the same variable terms and different constants never
 * meet; anything else may. */
static bool may_alias(const tx_lir_affine *a, const tx_lir_affine *b) {
    return !(same_terms(a, b) && a->c0 != b->c0);
}

static bool loads_alias(const tx_lir_expr *e, int buf, const tx_lir_affine *off) {
    if (!e) return false;
    if (e->kind == TX_LIR_LOAD && e->buf == buf && may_alias(&e->off, off)) return true;
    return loads_alias(e->a, buf, off) || loads_alias(e->b, buf, off) || loads_alias(e->c, buf, off);
}

static bool reads_acc(const tx_lir_expr *e, int acc) {
    if (!e) return false;
    if (e->kind == TX_LIR_ACC && e->acc == acc) return true;
    return reads_acc(e->a, acc) || reads_acc(e->b, acc) || reads_acc(e->c, acc);
}

/* Do m (ACCUM or STORE) and s (not a loop) depend on each other's order? */
static bool clash(const tx_lir_stmt *m, const tx_lir_stmt *s) {
    int wm = m->kind == TX_LIR_ACCUM ? m->acc : -1;
    int ws = s->kind == TX_LIR_ACCUM || s->kind == TX_LIR_ACC_INIT ? s->acc : -1;
    if (wm >= 0 && (wm == ws || reads_acc(s->value, wm))) return true;
    if (ws >= 0 && reads_acc(m->value, ws)) return true;
    if (m->kind == TX_LIR_STORE) {
        if (s->kind == TX_LIR_STORE && s->buf == m->buf && may_alias(&s->off, &m->off)) return true;
        if (loads_alias(s->value, m->buf, &m->off)) return true;
    }
    return s->kind == TX_LIR_STORE && loads_alias(m->value, s->buf, &s->off);
}

/* Do the group's members, moved to the last one's place, compute what
 * they computed where they stood? */
static bool movable(tx_lir_lanes *L, const tx_lir_block *b, const int *pos, int w) {
    int last = 0;
    for (int t = 0; t < w; t++) last = pos[t] > last ? pos[t] : last;
    /* computed together, a lane may read only what it writes itself: no
     * other lane's accumulator or stored element */
    for (int t = 0; t < w; t++) {
        const tx_lir_stmt *m = b->stmts[pos[t]];
        for (int u = 0; u < w; u++) {
            const tx_lir_stmt *o = b->stmts[pos[u]];
            if (o->kind == TX_LIR_ACCUM && (reads_acc(m->value, o->acc) || (u != t && o->acc == m->acc))) return false;
            if (o->kind == TX_LIR_STORE && u != t && loads_alias(m->value, o->buf, &o->off)) return false;
        }
    }
    for (int t = 0; t < w; t++) {
        const tx_lir_stmt *m = b->stmts[pos[t]];
        for (int q = pos[t] + 1; q <= last; q++) {
            bool member = false;
            for (int u = 0; u < w && !member; u++) member = pos[u] == q;
            if (member) continue;
            const tx_lir_stmt *s = b->stmts[q];
            if (s->kind != TX_LIR_LOOP) {
                if (clash(m, s)) return false;
                continue;
            }
            clear_effects(L);
            stmt_effects(L, s);
            if (!may_pass(L, m)) return false;
        }
    }
    return true;
}

/* ---- recording -------------------------------------------------------------- */

static bool add_role(tx_lir_lanes *L, const tx_lir_stmt *s, const tx_lir_stmt **lanes, int w) {
    if (L->nroles == L->caproles) {
        int cap = L->caproles ? 2 * L->caproles : 64;
        role *r = realloc(L->roles, sizeof *r * (size_t)cap);
        if (!r) return false;
        L->roles = r;
        L->caproles = cap;
    }
    L->roles[L->nroles++] = (role){ s, lanes, w };
    return true;
}

static void commit(tx_lir_lanes *L, const tx_lir_block *b, const int *pos, int w) {
    const tx_lir_stmt **lanes = malloc(sizeof *lanes * (size_t)w);
    if (!lanes) {
        L->oom = true;
        return;
    }
    int last = 0;
    for (int t = 0; t < w; t++) {
        lanes[t] = b->stmts[pos[t]];
        last = pos[t] > last ? pos[t] : last;
    }
    for (int t = 0; t < w; t++)
        if (pos[t] != last && !add_role(L, lanes[t], NULL, w)) L->oom = true;
    if (!add_role(L, b->stmts[last], lanes, w)) {
        free(lanes);
        L->oom = true;
        return;
    }
    if (lanes[0]->kind == TX_LIR_ACCUM) {
        int g = L->nacc_groups++;
        for (int t = 0; t < w; t++) {
            L->acc_group[lanes[t]->acc] = g;
            L->acc_lane[lanes[t]->acc] = t;
            L->acc_width[lanes[t]->acc] = w;
        }
    }
    L->ngroups++;
}

/* The other lanes of the group whose lane 0 is b->stmts[pos[0]] and lane 1
 * b->stmts[pos[1]]: true with pos[2..w) filled, all marked used.  *reach
 * is raised to the number of lanes found. */
static bool complete(const tx_lir_lanes *L, const tx_lir_block *b, tx_lir_stmt_kind kind, bool *used, int *pos,
                     int w, steps *st, int *reach) {
    const tx_lir_stmt *s0 = b->stmts[pos[0]];
    used[pos[0]] = used[pos[1]] = true;
    int t;
    for (t = 2; t < w; t++) {
        int q;
        for (q = 0; q < b->n; q++)
            if (!used[q] && eligible(L, b->stmts[q], kind) && lane_of(L, s0, b->stmts[q], t, st)) break;
        if (q == b->n) break;
        pos[t] = q;
        used[q] = true;
    }
    if (t > *reach) *reach = t;
    if (t == w) return true;
    for (int u = 0; u < t; u++) used[pos[u]] = false;
    return false;
}

/* Are the accumulators of an ACCUM group stored side by side, lane t at
 * the offset after lane t-1's (so the group's STORE can be a vector too)? */
static bool stored_in_order(const tx_lir_lanes *L, const tx_lir_block *b, const int *pos, int w) {
    for (int t = 0; t < w; t++) {
        const tx_lir_stmt *x = L->acc_store[b->stmts[pos[t]]->acc], *x0 = L->acc_store[b->stmts[pos[0]]->acc];
        if (!x || !x0 || x->buf != x0->buf || !same_terms(&x->off, &x0->off) || x->off.c0 - x0->off.c0 != t)
            return false;
    }
    return true;
}

/* Candidates tried for lane 1 of one group (jammed copies of a tile of
 * several rows match one lane on in each direction of the tile). */
#define MAX_TRIES 16

/* Try b->stmts[i] as lane 0 of a group of w lanes; true when one is
 * committed.  *reach: the most lanes any candidate group reached. */
static bool group_at(tx_lir_lanes *L, const tx_lir_block *b, tx_lir_stmt_kind kind, bool *used, int i, int w,
                     int *reach) {
    const tx_lir_stmt *s0 = b->stmts[i];
    int *pos = malloc(sizeof *pos * (size_t)w), *keep = malloc(sizeof *keep * (size_t)w);
    if (!pos || !keep) {
        free(pos);
        free(keep);
        L->oom = true;
        return false;
    }
    /* an ACCUM group whose accumulators are stored in lane order wins
     * over the first that forms: lanes across the stored rows would
     * leave every store to pick its lane out of a vector */
    bool kept = false, done = false;
    for (int j = 0, tries = 0; j < b->n && tries < MAX_TRIES && !done; j++) {
        steps st = { 0, { 0 } };
        if (j == i || used[j] || !eligible(L, b->stmts[j], kind) || !lane_of(L, s0, b->stmts[j], 1, &st)) continue;
        tries++;
        pos[0] = i;
        pos[1] = j;
        if (!complete(L, b, kind, used, pos, w, &st, reach)) continue;
        if (movable(L, b, pos, w) && (kind == TX_LIR_STORE || stored_in_order(L, b, pos, w))) {
            commit(L, b, pos, w);
            done = true;
            break;
        }
        if (!kept && movable(L, b, pos, w)) {
            memcpy(keep, pos, sizeof *pos * (size_t)w);
            kept = true;
        }
        for (int u = 0; u < w; u++) used[pos[u]] = false;
    }
    if (!done && kept) {
        for (int u = 0; u < w; u++) used[keep[u]] = true;
        commit(L, b, keep, w);
        done = true;
    }
    free(pos);
    free(keep);
    return done;
}

/* Groups of a full vector first; copies left over when a short loop was
 * jammed whole (20 = 8 + 8 + 4) form the widest power-of-two group their
 * number allows. */
static void find_in_block(tx_lir_lanes *L, const tx_lir_block *b, tx_lir_stmt_kind kind) {
    for (int k = 0; k < b->n; k++)
        if (b->stmts[k]->kind == TX_LIR_LOOP) find_in_block(L, &b->stmts[k]->body, kind);
    if (b->n < 2 || b->n > MAX_BLOCK || L->oom) return;
    bool *used = calloc((size_t)b->n, sizeof *used);
    if (!used) {
        L->oom = true;
        return;
    }
    for (int i = 0; i < b->n && !L->oom; i++) {
        const tx_lir_stmt *s0 = b->stmts[i];
        if (used[i] || !eligible(L, s0, kind)) continue;
        int w = lanes_for(L, kind == TX_LIR_ACCUM ? L->f->accs[s0->acc].dtype : L->f->bufs[s0->buf].dtype);
        int reach = 0;
        while (w >= 2 && !L->oom && !group_at(L, b, kind, used, i, w, &reach)) {
            w /= 2;
            while (w > reach && w >= 2) w /= 2;
        }
    }
    free(used);
}

/* The accumulator e reads, if it reads exactly one (else -1; -2: several). */
static int only_acc(const tx_lir_expr *e) {
    if (!e) return -1;
    int here = e->kind == TX_LIR_ACC ? e->acc : -1;
    const tx_lir_expr *kids[3] = { e->a, e->b, e->c };
    for (int k = 0; k < 3; k++) {
        int x = only_acc(kids[k]);
        if (x == -2 || (x >= 0 && here >= 0 && x != here)) return -2;
        if (x >= 0) here = x;
    }
    return here;
}

/* Per accumulator, the one STORE whose value reads it and no other
 * accumulator (NULL: none, or several). */
static void find_acc_stores(tx_lir_lanes *L, const tx_lir_block *b, bool *several) {
    for (int k = 0; k < b->n; k++) {
        const tx_lir_stmt *s = b->stmts[k];
        if (s->kind == TX_LIR_LOOP) find_acc_stores(L, &s->body, several);
        if (s->kind != TX_LIR_STORE) continue;
        int a = only_acc(s->value);
        if (a < 0) continue;
        if (L->acc_store[a]) several[a] = true;
        L->acc_store[a] = s;
    }
}

static size_t hash_ptr(const void *p) { return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull); }

tx_lir_lanes *tx_lir_lanes_find(const tx_lir_func *f, int vec_bytes) {
    tx_lir_lanes *L = calloc(1, sizeof *L);
    if (!L) return NULL;
    L->f = f;
    L->vec_bytes = vec_bytes;
    size_t na = (size_t)f->naccs + 1, nb = (size_t)f->nbufs + 1;
    L->acc_group = malloc(sizeof(int) * na);
    L->acc_lane = calloc(na, sizeof(int));
    L->acc_width = calloc(na, sizeof(int));
    L->rb = calloc(nb, 1), L->wb = calloc(nb, 1), L->ra = calloc(na, 1), L->wa = calloc(na, 1);
    if (!L->acc_group || !L->acc_lane || !L->acc_width || !L->rb || !L->wb || !L->ra || !L->wa) {
        tx_lir_lanes_free(L);
        return NULL;
    }
    for (size_t k = 0; k < na; k++) L->acc_group[k] = -1;
    if (vec_bytes >= 16 && !tx_lir_is_generic(f)) {
        bool *several = calloc(na, sizeof *several);
        L->acc_store = calloc(na, sizeof *L->acc_store);
        if (!several || !L->acc_store) {
            free(several);
            tx_lir_lanes_free(L);
            return NULL;
        }
        find_acc_stores(L, &f->body, several);
        for (size_t k = 0; k < na; k++)
            if (several[k]) L->acc_store[k] = NULL;
        free(several);
        find_in_block(L, &f->body, TX_LIR_ACCUM);
        find_in_block(L, &f->body, TX_LIR_STORE);
    }
    if (L->oom) {
        tx_lir_lanes_free(L);
        return NULL;
    }
    L->tsize = 16;
    while (L->tsize < 2 * (size_t)L->nroles) L->tsize *= 2;
    L->table = calloc(L->tsize, sizeof *L->table);
    if (!L->table) {
        tx_lir_lanes_free(L);
        return NULL;
    }
    for (int k = 0; k < L->nroles; k++) {
        size_t h = hash_ptr(L->roles[k].s) & (L->tsize - 1);
        while (L->table[h]) h = (h + 1) & (L->tsize - 1);
        L->table[h] = &L->roles[k];
    }
    return L;
}

void tx_lir_lanes_free(tx_lir_lanes *L) {
    if (!L) return;
    for (int k = 0; k < L->nroles; k++) free((void *)L->roles[k].lanes);
    free(L->roles);
    free(L->table);
    free(L->acc_group), free(L->acc_lane), free(L->acc_width), free(L->acc_store);
    free(L->rb), free(L->wb), free(L->ra), free(L->wa);
    free(L);
}

int tx_lir_lanes_count(const tx_lir_lanes *L) { return L ? L->ngroups : 0; }

int tx_lir_lanes_acc_group(const tx_lir_lanes *L, int acc, int *lane, int *width) {
    if (!L || acc < 0 || acc >= L->f->naccs || L->acc_group[acc] < 0) return -1;
    if (lane) *lane = L->acc_lane[acc];
    if (width) *width = L->acc_width[acc];
    return L->acc_group[acc];
}

const tx_lir_stmt *const *tx_lir_lanes_at(const tx_lir_lanes *L, const tx_lir_stmt *s, int *width, bool *skip) {
    *skip = false;
    if (!L || !L->table) return NULL;
    for (size_t h = hash_ptr(s) & (L->tsize - 1); L->table[h]; h = (h + 1) & (L->tsize - 1)) {
        const role *r = L->table[h];
        if (r->s != s) continue;
        *width = r->width;
        *skip = r->lanes == NULL;
        return r->lanes;
    }
    return NULL;
}
