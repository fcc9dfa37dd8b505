/*
 * tir.c -- small facts about the tensor IR's operators, and copying
 * expressions (ir/tir.h).
 */
#include "ir/tir.h"

bool tx_tir_op_is_binary(tx_tir_op op) {
    return op >= TX_TOP_ADD && op <= TX_TOP_MIN2;
}

/* ORDER: tx_tir_op in ir/tir.h. */
static const char *const op_names[TX_TOP__COUNT] = {
    [TX_TOP_ADD] = "+",       [TX_TOP_SUB] = "-",       [TX_TOP_MUL] = "*",     [TX_TOP_DIV] = "/",
    [TX_TOP_POW] = "^",       [TX_TOP_LT] = "<",        [TX_TOP_LE] = "<=",     [TX_TOP_GT] = ">",
    [TX_TOP_GE] = ">=",       [TX_TOP_EQ] = "==",       [TX_TOP_NE] = "!=",     [TX_TOP_MAX2] = "max",
    [TX_TOP_MIN2] = "min",    [TX_TOP_NEG] = "-",       [TX_TOP_EXP] = "exp",   [TX_TOP_LOG] = "log",
    [TX_TOP_SQRT] = "sqrt",   [TX_TOP_ABS] = "abs",     [TX_TOP_SIN] = "sin",   [TX_TOP_COS] = "cos",
    [TX_TOP_TAN] = "tan",     [TX_TOP_TANH] = "tanh",   [TX_TOP_SIGMOID] = "sigmoid",
    [TX_TOP_RELU] = "relu",   [TX_TOP_SIGN] = "sign",   [TX_TOP_FLOOR] = "floor", [TX_TOP_CEIL] = "ceil",
    [TX_TOP_CONJ] = "conj",   [TX_TOP_REAL] = "real",   [TX_TOP_IMAG] = "imag",
};

const char *tx_tir_op_name(tx_tir_op op) {
    if ((int)op < 0 || op >= TX_TOP__COUNT) return "?";
    return op_names[op];
}

/* See ir/tir.h. */
tx_tir_expr *tx_tir_clone_map(tx_arena *a, const tx_tir_expr *e, const int *map) {
    if (!e) return NULL;
    tx_tir_expr *r = TX_NEW(a, tx_tir_expr);
    *r = *e;
#define M(x) (map ? map[x] : (x))
    if (e->kind == TX_TIR_INDEX) r->index = M(e->index);
    if (e->kind == TX_TIR_ACCESS && e->nsubs > 0) {
        r->subs = TX_NEWN(a, tx_tir_affine, e->nsubs);
        for (int k = 0; k < e->nsubs; k++) {
            const tx_tir_affine *s = &e->subs[k];
            tx_tir_affine *d = &r->subs[k];
            *d = *s;
            d->idx = TX_NEWN(a, int, s->nterms + 1);
            d->coef = TX_NEWN(a, int64_t, s->nterms + 1);
            for (int j = 0; j < s->nterms; j++) {
                d->idx[j] = M(s->idx[j]);
                d->coef[j] = s->coef[j];
            }
        }
    }
    if (e->kind == TX_TIR_REDUCE) {
        r->idx = TX_NEWN(a, int, e->nidx + 1);
        for (int k = 0; k < e->nidx; k++) r->idx[k] = M(e->idx[k]);
    }
#undef M
    r->a = tx_tir_clone_map(a, e->a, map);
    r->b = tx_tir_clone_map(a, e->b, map);
    r->c = tx_tir_clone_map(a, e->c, map);
    return r;
}

/* See ir/tir.h. */
static bool contains(const tx_tir_expr *e, const tx_tir_expr *x) {
    return e && (e == x || contains(e->a, x) || contains(e->b, x) || contains(e->c, x));
}

tx_tir_expr *tx_tir_replace(tx_arena *a, const tx_tir_expr *e, const tx_tir_expr *from, tx_tir_expr *to) {
    if (e == from) return to;
    if (!contains(e, from)) return (tx_tir_expr *)e;
    tx_tir_expr *r = TX_NEW(a, tx_tir_expr);
    *r = *e;
    r->a = tx_tir_replace(a, e->a, from, to);
    r->b = tx_tir_replace(a, e->b, from, to);
    r->c = tx_tir_replace(a, e->c, from, to);
    return r;
}

/* See ir/tir.h. */
tx_tir_expr *tx_tir_access(tx_arena *a, const char *var, const int *ids, int n, tx_span sp) {
    tx_tir_expr *e = TX_NEW(a, tx_tir_expr);
    e->kind = TX_TIR_ACCESS;
    e->span = sp;
    e->var = var;
    e->nsubs = n;
    e->subs = TX_NEWN(a, tx_tir_affine, n + 1);
    for (int k = 0; k < n; k++) {
        e->subs[k].nterms = 1;
        e->subs[k].idx = TX_NEWN(a, int, 1);
        e->subs[k].coef = TX_NEWN(a, int64_t, 1);
        e->subs[k].idx[0] = ids[k];
        e->subs[k].coef[0] = 1;
        e->subs[k].span = sp;
    }
    if (n == 0) e->whole = true;
    return e;
}
