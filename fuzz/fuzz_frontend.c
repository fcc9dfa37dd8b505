/*
 * fuzz_frontend.c -- libFuzzer entry point for the front half of txc.
 *
 * Arbitrary bytes are compiled exactly as `txc check` compiles a file
 * (driver/pipeline.c: tx_source -> tx_parse -> tx_sema -> tx_lower ->
 * tx_tir_check), the diagnostics are rendered (driver/render.c) and the
 * tensor IR is printed, all into /dev/null.  Nothing is executed.
 *
 * When the program checks cleanly, the contraction planner rewrites it as
 * `txc plan` does (ir/plan.h: tx_plan_program; compiled in when that header
 * exists), the plans and the planned tensor IR are printed, and a small
 * abstract walk over the main
 * unit's straight-line statements (FOR bodies are skipped; what they assign
 * becomes unknown) types every variable the way the evaluator would with
 * the shapes known statically, and lowers each definition whose ranges are
 * all known to loop IR (ir/lir.h: tx_lir_from_def, tx_lir_verify,
 * tx_lir_jam, tx_lir_str) and schedules it (ir/lir_sched.h, every threshold
 * at zero), as the JIT does before code generation.  Only
 * shapes the runtime could allocate are lowered (at most 2^40 elements per
 * tensor): larger ones fail with "allocation too large" before any kernel
 * is built.
 *
 * A crash, a sanitizer report, a leak or a timeout is a bug; every
 * diagnostic, however odd the input, is fine.  Build and run with
 * `make fuzz` (fuzz/run.sh).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/pipeline.h"
#include "driver/render.h"
#include "ir/lir.h"
#include "ir/tir.h"
#include "ir/lir_lanes.h"
#include "ir/lir_sched.h"
#if __has_include("ir/plan.h")
#include "ir/plan.h"
#define HAVE_PLAN 1
#endif

#define MAX_ELEMS ((int64_t)1 << 40)

/* ---- a tiny environment of statically known types ------------------------ */

typedef struct var {
    const char *name;
    tx_varinfo vi;
} var;

typedef struct env {
    var *v;
    int n, cap;
} env;

static var *env_find(env *e, const char *name) {
    for (int k = e->n - 1; k >= 0; k--)
        if (strcmp(e->v[k].name, name) == 0) return &e->v[k];
    return NULL;
}

static void env_set(env *e, const char *name, tx_varinfo vi) {
    var *x = env_find(e, name);
    if (x) {
        x->vi = vi;
        return;
    }
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 32;
        e->v = realloc(e->v, (size_t)e->cap * sizeof *e->v);
        if (!e->v) abort();
    }
    e->v[e->n].name = name;
    e->v[e->n].vi = vi;
    e->n++;
}

static bool env_get(void *self, const char *name, tx_varinfo *out) {
    var *x = env_find(self, name);
    if (!x) return false;
    *out = x->vi;
    return true;
}

static tx_varinfo unknown(void) {
    tx_varinfo vi;
    memset(&vi, 0, sizeof vi);
    vi.type.dtype = -1;
    vi.type.rank = -1;
    return vi;
}

/* A type the runtime could hold: known rank and sizes, not too many elements. */
static bool allocatable(const tx_type *t) {
    if (t->dtype < 0 || t->dtype > TXRT_C64 || t->rank < 0 || t->rank > TXRT_MAX_RANK) return false;
    int64_t n = 1;
    for (int k = 0; k < t->rank; k++) {
        if (t->dims[k] < 0 || t->dims[k] > MAX_ELEMS) return false;
        if (t->dims[k] == 0) n = 0;
        else if (n > MAX_ELEMS / t->dims[k]) return false;
        else n *= t->dims[k];
    }
    return true;
}

/* The value of a rank-0 real expression built from constants and known scalars. */
static bool fold(const tx_tir_expr *e, env *en, double *v, int depth) {
    if (!e || depth > 64) return false;
    double a, b;
    switch (e->kind) {
    case TX_TIR_CONST:
        if (e->is_complex || e->im != 0) return false;
        *v = e->re;
        return true;
    case TX_TIR_ACCESS: {
        if (e->nsubs != 0) return false;
        var *x = env_find(en, e->var);
        if (!x || !x->vi.known || x->vi.type.rank != 0) return false;
        *v = x->vi.value;
        return true;
    }
    case TX_TIR_UNARY:
        if (e->op != TX_TOP_NEG || !fold(e->a, en, &a, depth + 1)) return false;
        *v = -a;
        return true;
    case TX_TIR_BINARY:
        if (!fold(e->a, en, &a, depth + 1) || !fold(e->b, en, &b, depth + 1)) return false;
        switch (e->op) {
        case TX_TOP_ADD: *v = a + b; return true;
        case TX_TOP_SUB: *v = a - b; return true;
        case TX_TOP_MUL: *v = a * b; return true;
        case TX_TOP_DIV: *v = a / b; return true;
        default: return false;
        }
    default:
        return false;
    }
}

/* Every tensor a def reads must be allocatable for the kernel to exist. */
static bool operands_ok(const tx_tir_expr *e, env *en, int depth) {
    if (!e) return true;
    if (depth > 200) return false;
    if (e->kind == TX_TIR_ACCESS) {
        var *x = env_find(en, e->var);
        if (!x || !allocatable(&x->vi.type)) return false;
    }
    return operands_ok(e->a, en, depth + 1) && operands_ok(e->b, en, depth + 1) &&
           operands_ok(e->c, en, depth + 1);
}

static void lower_def(tx_arena *a, tx_tir_stmt *s, env *en, tx_diags *scratch) {
    tx_lookup lk = { env_get, en };
    tx_varinfo vi = unknown();
    tx_tir_stmt *def = s;
    if (s->ellipsis) def = tx_tir_expand_ellipsis_lk(a, s, &lk, scratch);
    tx_type t;
    if (def && tx_tir_infer_ranges(def, &lk, scratch) && tx_tir_def_type(def, &lk, &t, scratch)) {
        vi.type = t;
        double v;
        if (t.rank == 0 && !def->accumulate && fold(def->rhs, en, &v, 0)) {
            vi.known = true;
            vi.value = t.dtype == TXRT_F32 ? (double)(float)v : v;
        }
        if (allocatable(&t) && operands_ok(def->rhs, en, 0)) {
            const char *why = NULL;
            tx_lir_func *f = tx_lir_from_def(a, def, &t, &lk, &why);
            if (f) {
                if (!tx_lir_verify(f, &why)) abort(); /* from_def verified it already */
                char *txt = tx_lir_str(f);
                free(txt);
                tx_lir_jam(f, 4, 2048);
                if (!tx_lir_verify(f, &why)) {
                    fprintf(stderr, "fuzz_frontend: tx_lir_jam broke an invariant: %s\n", why);
                    abort();
                }
                txt = tx_lir_str(f);
                free(txt);
                /* the scheduler as the JIT runs it, with every threshold at
                 * zero: tiles, distribution, parallel marks, private buffers */
                tx_lir_sched_opts so;
                tx_lir_sched_defaults(&so, 4);
                so.min_tile_work = 0;
                so.min_par_work = 0;
                tx_lir_schedule(f, &so);
                if (!tx_lir_verify(f, &why)) {
                    fprintf(stderr, "fuzz_frontend: tx_lir_schedule broke an invariant: %s\n", why);
                    abort();
                }
                txt = tx_lir_str(f);
                free(txt);
                /* the vector lanes codegen would emit (AVX2 and AVX-512 sizes) */
                tx_lir_lanes_free(tx_lir_lanes_find(f, 32));
                tx_lir_lanes_free(tx_lir_lanes_find(f, 64));
            }
        }
    }
    if (s->accumulate) {
        var *old = env_find(en, s->out);
        if (old) vi = old->vi, vi.known = false;
    }
    env_set(en, s->out, vi);
}

static void forget_assigned(tx_tir_stmt **body, int n, env *en, int depth) {
    for (int k = 0; k < n && depth < 100; k++) {
        const tx_tir_stmt *s = body[k];
        if (!s) continue;
        if (s->kind == TX_TIR_DEF) env_set(en, s->out, unknown());
        else if (s->kind == TX_TIR_CALL)
            for (int r = 0; r < s->nresults; r++) env_set(en, s->results[r], unknown());
        else if (s->kind == TX_TIR_FOR) {
            env_set(en, s->var, unknown());
            forget_assigned(s->body, s->nbody, en, depth + 1);
        }
    }
}

static void lower_main(tx_arena *a, const tx_tir_program *p, tx_diags *scratch) {
    env en = { 0 };
    tx_lookup lk = { env_get, &en };
    for (int k = 0; k < p->nstmts; k++) {
        tx_tir_stmt *s = p->stmts[k];
        if (!s) continue;
        switch (s->kind) {
        case TX_TIR_DEF:
            lower_def(a, s, &en, scratch);
            break;
        case TX_TIR_CALL: {
            tx_type res[16];
            int n = s->nresults;
            bool ok = n <= 16 && tx_tir_call_types(s, &lk, res, scratch);
            for (int r = 0; r < n; r++) {
                tx_varinfo vi = unknown();
                if (ok) vi.type = res[r];
                env_set(&en, s->results[r], vi);
            }
            break;
        }
        case TX_TIR_FOR:
            env_set(&en, s->var, unknown());
            forget_assigned(s->body, s->nbody, &en, 0);
            break;
        default:
            break;
        }
    }
    free(en.v);
}

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    devnull = fopen("/dev/null", "w");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > (1u << 20)) return 0;
    if (!devnull) devnull = fopen("/dev/null", "w");
    tx_unit u;
    bool ok = tx_unit_compile(&u, "fuzz.tx", (const char *)data, (uint32_t)size, NULL);
    tx_render_diags(devnull, &u.diags);
    if (ok && u.tir) {
        tx_tir_print(devnull, u.tir);
#ifdef HAVE_PLAN
        /* `txc plan`: split contractions with the sizes the checker knows */
        tx_plan_opts po;
        tx_plan_opts_default(&po);
        po.budget_ms = 5; /* the greedy search beyond dp_max is timed */
        /* exact search up to 12 factors, not 16: the DP over subsets of 16
         * (3^16 pairs) took 1.7 s per input under the fuzzer's
         * instrumentation (examples/attention/taylor.tx) and 12 s on a
         * loaded machine, a libFuzzer timeout; the same code runs at 12 */
        po.dp_max = 12;
        tx_plan_report rep = { 0 };
        tx_plan_program(u.arena, u.tir, &po, &rep);
        tx_plan_print(devnull, &rep);
        tx_plan_print_dot(devnull, &rep);
        tx_tir_print(devnull, u.tir);
#endif
        tx_diags scratch;
        tx_diags_init(&scratch, u.arena, u.src);
        lower_main(u.arena, u.tir, &scratch);
        tx_render_diags(devnull, &scratch);
    }
    tx_unit_free(&u);
    return 0;
}
