/*
 * sema_outer.c -- tx_sema_outer_from_interp (declared in frontend/sema.h):
 * lets sema ask a REPL session's interpreter which names earlier units
 * bound.  It lives in ir/ because frontend/ must not depend on the
 * interpreter; it is its own file so that programs which never use the
 * REPL do not link the interpreter through it.
 *
 * Variables become TX_SYM_TENSOR, except rank-0 ones, which become
 * TX_SYM_LET: an earlier `let n = 5` (or any scalar) may then stand in a
 * subscript as a constant, its value folding through tx_lower_with.
 */
#include <string.h>

#include "frontend/sema.h"
#include "ir/interp.h"
#include "ir/tir.h"

static const tx_tir_func *interp_func(tx_interp *in, const char *name) {
    const tx_tir_program *fp = tx_interp_functions(in);
    if (!fp) return NULL;
    for (int i = fp->nfuncs - 1; i >= 0; i--)
        if (fp->funcs[i] && strcmp(fp->funcs[i]->name, name) == 0) return fp->funcs[i];
    return NULL;
}

static const char *join_tir_params(tx_arena *a, const tx_tir_param *ps, int n) {
    size_t len = 1;
    for (int i = 0; i < n; i++) len += strlen(ps[i].name) + 2;
    char *buf = tx_arena_alloc(a, len);
    for (int i = 0; i < n; i++) {
        if (i) strcat(buf, ", ");
        strcat(buf, ps[i].name);
    }
    return buf;
}

static bool interp_lookup(void *self, tx_arena *a, const char *name, tx_sema_sym *out) {
    tx_interp *in = self;
    const tx_tir_func *f = interp_func(in, name);
    if (f) {
        out->name = f->name;
        out->kind = TX_SYM_FUNC;
        out->nparams = f->nparams;
        out->nresults = f->nresults;
        out->params = join_tir_params(a, f->params, f->nparams);
        out->results = join_tir_params(a, f->results, f->nresults);
        return true;
    }
    txrt_tensor *t = tx_interp_get(in, name);
    if (!t) return false;
    out->name = name;
    out->kind = t->rank == 0 ? TX_SYM_LET : TX_SYM_TENSOR;
    return true;
}

typedef struct each_ctx {
    void (*fn)(void *ctx, const char *name);
    void *ctx;
} each_ctx;

static void each_var(void *ctx, const char *name, const txrt_tensor *t) {
    (void)t;
    each_ctx *c = ctx;
    c->fn(c->ctx, name);
}

static void interp_each(void *self, void (*fn)(void *ctx, const char *name), void *ctx) {
    tx_interp *in = self;
    each_ctx c = { fn, ctx };
    tx_interp_each(in, each_var, &c);
    const tx_tir_program *fp = tx_interp_functions(in);
    if (fp)
        for (int i = 0; i < fp->nfuncs; i++)
            if (fp->funcs[i]) fn(ctx, fp->funcs[i]->name);
}

void tx_sema_outer_from_interp(tx_sema_outer *o, struct tx_interp *in) {
    memset(o, 0, sizeof *o);
    o->lookup = interp_lookup;
    o->each = interp_each;
    o->self = in;
}
