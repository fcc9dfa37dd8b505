/*
 * test_fuse.c -- the fuser (ir/fuse.c) and its JIT group backend.
 *
 * Grouping decisions are checked on small programs by calling
 * tx_fuse_plan on the statements of a stretch (after the statements that
 * make its inputs have run on the evaluator): which statements join, what
 * each becomes (inline / row / stored / dead), whether siblings share a
 * pass, and that an inlined tensor has no kernel buffer.  Results are
 * checked end to end: the same program runs on the reference evaluator
 * (unfused, unplanned) and on the evaluator with the JIT, the planner's
 * run-time rewriter and the fuser installed (as `txc run` does), and every
 * variable the fused run leaves bound must agree with the reference within
 * a tolerance that allows reassociation.  A generator of random
 * straight-line programs (elementwise producers, reductions, reductions
 * inside non-linear functions, f64/f32/c128) drives the same comparison
 * over 160 deterministic seeds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "frontend/sema.h"
#include "ir/fuse.h"
#include "ir/interp.h"
#include "ir/lir_sched.h"
#include "ir/plan.h"

static tx_jit *JIT;

static int setup(void **state) {
    (void)state;
    JIT = tx_jit_new(1, NULL);
    return JIT ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    tx_jit_free(JIT);
    JIT = NULL;
    return 0;
}

/* ---- compiling and running programs ----------------------------------------- */

typedef struct prog {
    tx_arena *a;
    tx_source *src;
    tx_diags d;
    tx_tir_program *tir;
} prog;

static bool compile(prog *p, const char *text) {
    memset(p, 0, sizeof *p);
    p->a = tx_arena_new(0);
    p->src = tx_source_new(p->a, "<test>", text, (uint32_t)strlen(text));
    tx_diags_init(&p->d, p->a, p->src);
    tx_ast_program *ast = tx_parse(p->a, p->src, &p->d);
    if (!ast || p->d.nerr) return false;
    tx_sema(p->a, ast, NULL, &p->d);
    if (p->d.nerr) return false;
    p->tir = tx_lower_with(p->a, ast, NULL, NULL, &p->d);
    if (!p->tir || p->d.nerr) return false;
    tx_tir_check(p->tir, NULL, &p->d);
    return p->d.nerr == 0;
}

static void prog_free(prog *p) { tx_arena_free(p->a); }

/* Run text on the reference evaluator (fused = false) or as txc run does. */
static tx_interp *run(const char *text, bool fused, int *rc, FILE *out) {
    prog p;
    if (!compile(&p, text)) {
        print_error("does not compile:\n%s\n", text);
        prog_free(&p);
        *rc = 1;
        return NULL;
    }
    tx_interp *in = tx_interp_new(out);
    tx_plan_runtime *rt = NULL;
    if (fused) {
        tx_def_backend b = tx_jit_backend(JIT);
        tx_interp_set_backend(in, &b);
        tx_group_backend g = tx_jit_group_backend(JIT);
        tx_interp_set_group_backend(in, &g);
        tx_interp_set_script(in, true);
        tx_plan_opts po;
        tx_plan_opts_default(&po);
        rt = tx_plan_runtime_new(&po, NULL, p.src);
        tx_def_rewriter rw = tx_plan_rewriter(rt);
        tx_interp_set_rewriter(in, &rw);
    }
    *rc = tx_interp_run(in, p.tir, &p.d);
    tx_interp_set_rewriter(in, NULL);
    tx_plan_runtime_free(rt);
    prog_free(&p);
    return in;
}

static bool close_to(double a, double b, double rtol, double atol) {
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
    if (isinf(a) || isinf(b)) return a == b;
    return fabs(a - b) <= atol + rtol * fabs(b);
}

typedef struct cmp_ctx {
    tx_interp *ref;
    int nbad, ncompared;
    char msg[512];
} cmp_ctx;

static void cmp_one(void *ctx, const char *name, const txrt_tensor *t) {
    cmp_ctx *c = ctx;
    const txrt_tensor *r = tx_interp_get(c->ref, name);
    c->ncompared++;
    if (!r || r->dtype != t->dtype || r->rank != t->rank || r->size != t->size) {
        if (!c->nbad++) snprintf(c->msg, sizeof c->msg, "%s: dtype/shape differs from the reference", name);
        return;
    }
    bool single = t->dtype == TXRT_F32 || t->dtype == TXRT_C64;
    double rtol = single ? 2e-4 : 1e-9, atol = single ? 1e-4 : 1e-9;
    for (int64_t k = 0; k < t->size; k++) {
        double ar, ai, br, bi;
        txrt_get(t, k, &ar, &ai);
        txrt_get(r, k, &br, &bi);
        if (!close_to(ar, br, rtol, atol) || !close_to(ai, bi, rtol, atol)) {
            if (!c->nbad++)
                snprintf(c->msg, sizeof c->msg, "%s[%lld]: fused %.17g%+.17gj, reference %.17g%+.17gj", name,
                         (long long)k, ar, ai, br, bi);
            return;
        }
    }
}

/* Run both ways; every variable the fused run binds must match.  Returns
 * the number of groups the fused run fused; names (NULL-terminated) must
 * be bound after the fused run. */
static int differential(const char *text, const char *const *names) {
    tx_jit_stats s0, s1;
    tx_jit_get_stats(JIT, &s0);
    int rc1 = 0, rc2 = 0;
    FILE *o1 = tmpfile(), *o2 = tmpfile();
    tx_interp *ref = run(text, false, &rc1, o1);
    tx_interp *fus = run(text, true, &rc2, o2);
    tx_jit_get_stats(JIT, &s1);
    if (!ref || !fus || rc1 != 0 || rc2 != 0) {
        print_error("program failed (reference %d, fused %d):\n%s\n", rc1, rc2, text);
        fail();
    }
    cmp_ctx c = { ref, 0, 0, "" };
    tx_interp_each(fus, cmp_one, &c);
    if (c.nbad) {
        print_error("%s\nin:\n%s\n", c.msg, text);
        fail();
    }
    for (int k = 0; names && names[k]; k++) {
        if (!tx_interp_get(fus, names[k])) {
            print_error("%s is not bound after the fused run of\n%s\n", names[k], text);
            fail();
        }
    }
    tx_interp_free(ref);
    tx_interp_free(fus);
    fclose(o1);
    fclose(o2);
    return s1.nfused - s0.nfused;
}

/* ---- grouping decisions ---------------------------------------------------------- */

typedef struct liveset {
    const char *const *names;
} liveset;

static bool live_in(void *ctx, const char *name) {
    const liveset *l = ctx;
    for (int k = 0; l->names[k]; k++)
        if (strcmp(l->names[k], name) == 0) return true;
    return false;
}

/* Run the first `setup` statements of text on the evaluator, then plan
 * a group at statement `setup` with the given live names. */
static tx_fuse_group *plan_at(tx_arena *a, const tx_fuse_split *keep, const char *text, int setup,
                              const char *const *live, prog *p, tx_interp **inp) {
    assert_true(compile(p, text));
    tx_interp *in = tx_interp_new(stdout);
    tx_tir_program head = *p->tir;
    head.nstmts = setup;
    assert_int_equal(tx_interp_run(in, &head, &p->d), 0);
    tx_lookup lk = tx_interp_lookup(in);
    liveset ls = { live };
    const char *why = NULL;
    tx_fuse_group *g = tx_fuse_plan(a, keep, p->tir->stmts + setup, p->tir->nstmts - setup, &lk, live_in, &ls, &why);
    *inp = in;
    return g;
}

static const char *keep_name(void *ctx, const char *name) { return tx_arena_strdup(ctx, name); }

static bool has_buf(const tx_fuse_group *g, const char *name) {
    for (int k = 0; k < g->kernel->nbufs; k++)
        if (strcmp(g->kernel->bufs[k].name, name) == 0) return true;
    return false;
}

static const char *ATTN =
    "Q = randn(9, 2, seed=1)\nK1 = randn(8, 2, seed=2)\nK2 = randn(7, 2, seed=3)\n"
    "V1 = randn(8, 2, seed=4)\nV2 = randn(7, 2, seed=5)\n"
    "A[i,j,k] = exp(sum[a](Q[i,a]*K1[j,a]*K2[k,a])/2)\n"
    "D[i] = A[i,j,k]\n"
    "O[i,b] = A[i,j,k]*V1[j,b]*V2[k,b]/D[i]\n";

static void test_group_attention(void **state) {
    (void)state;
    tx_arena *a = tx_arena_new(0);
    prog p;
    tx_interp *in;
    const char *live[] = { "O", NULL };
    tx_fuse_group *g = plan_at(a, NULL, ATTN, 5, live, &p, &in);
    assert_non_null(g);
    assert_int_equal(g->nstmts, 3);
    assert_int_equal(g->role[0], TX_FUSE_INLINE);   /* A: never stored */
    assert_int_equal(g->role[1], TX_FUSE_ROW);      /* D: one value per row */
    assert_int_equal(g->role[2], TX_FUSE_STORED);
    assert_true(g->reduction_major[1] && g->reduction_major[2]);
    assert_int_equal(g->nmerged, 1);                /* D and O share the pass over (j,k) */
    assert_int_equal(g->nrows, 1);
    assert_true(g->ncse >= 1);                      /* A's value computed once for D and O */
    assert_false(has_buf(g, "A"));
    assert_true(has_buf(g, "O"));
    /* the kernel stores nothing of size n^3: every buffer is at most n*d or rows */
    for (int k = 0; k < g->kernel->nbufs; k++) assert_true(g->kernel->bufs[k].size <= 18);
    tx_interp_free(in);
    prog_free(&p);

    /* D read later: stored too; A still not */
    const char *live2[] = { "O", "D", NULL };
    g = plan_at(a, NULL, ATTN, 5, live2, &p, &in);
    assert_non_null(g);
    assert_int_equal(g->role[0], TX_FUSE_INLINE);
    assert_int_equal(g->role[1], TX_FUSE_STORED);
    assert_true(has_buf(g, "D"));
    tx_interp_free(in);
    prog_free(&p);

    /* A read later: it must be materialised */
    const char *live3[] = { "O", "A", NULL };
    g = plan_at(a, NULL, ATTN, 5, live3, &p, &in);
    if (g) {
        assert_int_equal(g->role[0], TX_FUSE_STORED);
        assert_true(has_buf(g, "A"));
    }
    tx_interp_free(in);
    prog_free(&p);
    tx_arena_free(a);
}

static void test_group_elementwise(void **state) {
    (void)state;
    tx_arena *a = tx_arena_new(0);
    prog p;
    tx_interp *in;
    const char *text = "X = randn(100, seed=1)\nT = exp(X)\nU[i] = T[i]*sin(X[i])\nY[i] = U[i] + sqrt(abs(X[i]))\n";
    const char *live[] = { "Y", NULL };
    tx_fuse_group *g = plan_at(a, NULL, text, 1, live, &p, &in);
    assert_non_null(g);
    assert_int_equal(g->nstmts, 3);
    assert_int_equal(g->role[0], TX_FUSE_INLINE);
    assert_int_equal(g->role[1], TX_FUSE_INLINE);
    assert_int_equal(g->role[2], TX_FUSE_STORED);
    assert_false(has_buf(g, "T"));
    assert_false(has_buf(g, "U"));
    tx_interp_free(in);
    prog_free(&p);

    /* a producer used twice at different elements and expensive is not recomputed */
    const char *text2 = "X = randn(10, seed=1)\nT[i] = exp(X[i])\nY[i,j] = T[i]*T[j]\n";
    g = plan_at(a, NULL, text2, 1, live, &p, &in);
    if (g) assert_int_not_equal(g->role[0], TX_FUSE_INLINE);
    tx_interp_free(in);
    prog_free(&p);

    /* one elementwise statement alone: nothing to fuse */
    const char *text3 = "X = randn(10, seed=1)\nY[i] = exp(X[i])*sin(X[i])\n";
    g = plan_at(a, NULL, text3, 1, live, &p, &in);
    assert_null(g);
    tx_interp_free(in);
    prog_free(&p);

    /* += ends a group */
    const char *text4 = "X = randn(10, seed=1)\nY = zeros(10)\nT[i] = exp(X[i])\nY[i] += T[i]\n";
    const char *live4[] = { "Y", "T", NULL };
    g = plan_at(a, NULL, text4, 2, live4, &p, &in);
    assert_null(g);
    tx_interp_free(in);
    prog_free(&p);
    tx_arena_free(a);
}

static void test_group_softmax_logsumexp(void **state) {
    (void)state;
    tx_arena *a = tx_arena_new(0);
    prog p;
    tx_interp *in;
    const char *text =
        "Q = randn(8, 4, seed=1)\nK = randn(8, 4, seed=2)\nV = randn(8, 4, seed=3)\n"
        "S[i,j] = sum[a](Q[i,a]*K[j,a])/2\n"
        "M[i] = max[j](S[i,j])\n"
        "E[i,j] = exp(S[i,j] - M[i])\n"
        "O[i,b] = E[i,j]*V[j,b]/sum[k](E[i,k])\n";
    const char *live[] = { "O", NULL };
    /* S is a plain matrix product: left to the planner (BLAS) */
    tx_fuse_group *g = plan_at(a, NULL, text, 3, live, &p, &in);
    assert_null(g);
    tx_interp_free(in);
    prog_free(&p);
    /* from M: the row maximum and the exponentials in one pass per row;
     * O (E times V) stays a planned product */
    const char *text2 =
        "Q = randn(8, 4, seed=1)\nK = randn(8, 4, seed=2)\nV = randn(8, 4, seed=3)\n"
        "S[i,j] = sum[a](Q[i,a]*K[j,a])/2\n"
        "M[i] = max[j](S[i,j])\n"
        "E[i,j] = exp(S[i,j] - M[i])\n"
        "O[i,b] = E[i,j]*V[j,b]/sum[k](E[i,k])\n";
    g = plan_at(a, NULL, text2, 4, live, &p, &in);
    assert_non_null(g);
    assert_int_equal(g->nstmts, 2);
    assert_int_equal(g->ntaken, 2);
    assert_null(g->rest);
    assert_int_equal(g->role[0], TX_FUSE_ROW);
    assert_int_equal(g->role[1], TX_FUSE_STORED);
    assert_false(has_buf(g, "M"));
    tx_interp_free(in);
    prog_free(&p);
    /* allowed to split O: its row sum of E joins the pass that makes E,
     * and what is left of O reads it */
    tx_arena *ka = tx_arena_new(0);
    tx_fuse_split split = { ka, keep_name, ka }, *keep = &split;
    g = plan_at(a, keep, text2, 4, live, &p, &in);
    assert_non_null(g);
    assert_int_equal(g->nstmts, 3);
    assert_int_equal(g->ntaken, 2);
    assert_non_null(g->rest);
    assert_string_equal(g->rest_temp, "%O.h");
    assert_int_equal(g->role[2], TX_FUSE_STORED);
    assert_true(has_buf(g, "%O.h") && has_buf(g, "E"));
    assert_string_equal(g->rest->out, "O");
    assert_int_equal(g->rest->nindices, 3);   /* i, b, j: k went with the sum */
    tx_interp_free(in);
    prog_free(&p);
    /* no split when the sum's own ranges differ from the statement's (here
     * i runs over F's 8 rows in the sum, over 7 in the statement, which
     * reads row i+1), nor in f32 */
    const char *text5 =
        "E = randn(8, 6, seed=1)\nV = randn(6, 4, seed=3)\n"
        "M[i] = max[j](E[i,j])\nF[i,j] = exp(E[i,j] - M[i])\n"
        "O[i,b] = F[i+1,j]*V[j,b]/sum[k](F[i,k])\n";
    g = plan_at(a, keep, text5, 2, live, &p, &in);
    assert_true(g == NULL || g->rest == NULL);
    tx_interp_free(in);
    prog_free(&p);
    const char *text6 =
        "E = cast(randn(8, 6, seed=1), \"f32\")\nV = cast(randn(6, 4, seed=3), \"f32\")\n"
        "M[i] = max[j](E[i,j])\nF[i,j] = exp(E[i,j] - M[i])\n"
        "O[i,b] = F[i,j]*V[j,b]/sum[k](F[i,k])\n";
    g = plan_at(a, keep, text6, 4, live, &p, &in);   /* randn, cast: two statements each */
    assert_non_null(g);
    assert_null(g->rest);
    tx_interp_free(in);
    prog_free(&p);
    tx_arena_free(ka);

    /* logsumexp: the repeated max is computed once per row */
    const char *text3 = "X = randn(6, 9, seed=1)\n"
                        "L[i] = log(sum[j](exp(X[i,j]-max[k](X[i,k])))) + max[k](X[i,k])\n";
    const char *live3[] = { "L", NULL };
    g = plan_at(a, NULL, text3, 1, live3, &p, &in);
    assert_non_null(g);
    assert_int_equal(g->nstmts, 1);
    assert_true(g->ncse >= 1);
    /* one max and one sum: the second max is the first one's value */
    char *txt = tx_lir_str(g->kernel);
    int nmax = 0;
    for (const char *q = txt; (q = strstr(q, "max(")); q++) nmax++;
    free(txt);
    assert_int_equal(nmax, 1);
    tx_interp_free(in);
    prog_free(&p);
    tx_arena_free(a);
}

/* ---- results against the reference ------------------------------------------- */

static uint64_t rng_state;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}
static int rint_(int lo, int hi) { return lo + (int)(rnd() % (uint64_t)(hi - lo + 1)); }

static void test_results_workloads(void **state) {
    (void)state;
    char buf[4096];
    int fused = 0;
    rng_state = 0x9e3779b97f4a7c15ull;
    for (int t = 0; t < 8; t++) {
        int n1 = rint_(1, 12), n2 = rint_(1, 12), n3 = rint_(1, 12), d = rint_(1, 4), e = rint_(1, 4);
        /* triple-wise attention */
        snprintf(buf, sizeof buf,
                 "Q = randn(%d, %d, seed=%d)\nK1 = randn(%d, %d, seed=2)\nK2 = randn(%d, %d, seed=3)\n"
                 "V1 = randn(%d, %d, seed=4)\nV2 = randn(%d, %d, seed=5)\n"
                 "A[i,j,k] = exp(sum[a](Q[i,a]*K1[j,a]*K2[k,a])/%d)\n"
                 "D[i] = A[i,j,k]\nO[i,b] = A[i,j,k]*V1[j,b]*V2[k,b]/D[i]\nprint O[0,0]\n",
                 n1, d, t + 10, n2, d, n3, d, n2, e, n3, e, d);
        const char *need[] = { "O", NULL };
        fused += differential(buf, need);
        /* softmax attention */
        snprintf(buf, sizeof buf,
                 "Q = randn(%d, %d, seed=%d)\nK = randn(%d, %d, seed=2)\nV = randn(%d, %d, seed=3)\n"
                 "S[i,j] = sum[a](Q[i,a]*K[j,a])/8\nM[i] = max[j](S[i,j])\nE[i,j] = exp(S[i,j] - M[i])\n"
                 "O[i,b] = E[i,j]*V[j,b]/sum[k](E[i,k])\nprint O\n",
                 n1, d, t + 20, n2, d, n2, e);
        fused += differential(buf, need);
        /* logsumexp */
        snprintf(buf, sizeof buf,
                 "X = randn(%d, %d, seed=%d)\n"
                 "L[i] = log(sum[j](exp(X[i,j]-max[k](X[i,k])))) + max[k](X[i,k])\nprint L\n",
                 n1, n2, t + 30);
        const char *needl[] = { "L", NULL };
        fused += differential(buf, needl);
        /* elementwise chain, f32 and complex */
        snprintf(buf, sizeof buf,
                 "X = cast(randn(%d, seed=%d), \"f32\")\nT = exp(X)\nU[i] = T[i]*sin(X[i])\n"
                 "Y[i] = U[i] + sqrt(abs(X[i]))\nZ = X*1j + 2\nW[i] = exp(Z[i])*Z[i]\nV[i] = W[i] + Y[i]\n"
                 "print Y, V\n",
                 n1 * n2 + 1, t + 40);
        const char *needy[] = { "Y", "V", NULL };
        fused += differential(buf, needy);
    }
    assert_true(fused >= 16);
    /* softmax attention's row sums were split off O into E's group */
    tx_jit_stats st;
    tx_jit_get_stats(JIT, &st);
    assert_true(st.nsplit >= 1);
}

/* Liveness across loops and functions, and buffers reused in loops. */
static void test_results_loops_functions(void **state) {
    (void)state;
    /* T is reassigned before it is read in the next iteration: dead after
     * the group; Y is read after the loop: stored (and its buffer reused) */
    const char *loop = "X = randn(400, 700, seed=3)\n"
                       "for t in 0..3 {\n"
                       "  T[i,j] = exp(sin(X[i,j]))\n"
                       "  Y[i,j] = T[i,j]*X[i,j] + t\n"
                       "}\nprint Y[0,0]\n";
    const char *need[] = { "Y", NULL };
    assert_true(differential(loop, need) >= 1);
    /* read in the next iteration before being reassigned: must be stored */
    const char *loop2 = "X = randn(30, seed=3)\nS = zeros(30)\n"
                        "for t in 0..3 {\n"
                        "  U[i] = S[i] + 1\n"
                        "  S[i] = exp(sin(U[i]))*X[i]\n"
                        "  W[i] = S[i] * 2\n"
                        "}\nprint W\n";
    const char *need2[] = { "W", "S", NULL };
    differential(loop2, need2);
    /* inside a function: only the results leave it */
    const char *fn = "def soft(X[n,m]) -> L[n] {\n"
                     "  M[i] = max[j](X[i,j])\n"
                     "  E[i,j] = exp(X[i,j] - M[i])\n"
                     "  L[i] = log(sum[j](E[i,j])) + M[i]\n"
                     "}\n"
                     "X = randn(7, 9, seed=4)\nL = soft(X)\nprint L\n";
    const char *need3[] = { "L", NULL };
    assert_true(differential(fn, need3) >= 1);
}

/* ---- random straight-line programs -------------------------------------------- */

typedef struct gen {
    char *p;
    size_t n, cap;
    int nmat, nvec;            /* matrices M0.. (n x m), row vectors R0.. (n) */
    const char *mat[32];
    const char *vec[32];
    bool cplx;
} gen;

static void put(gen *g, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char tmp[1024];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    size_t l = strlen(tmp);
    if (g->n + l + 1 > g->cap) {
        g->cap = 2 * (g->n + l + 1);
        g->p = realloc(g->p, g->cap);
    }
    memcpy(g->p + g->n, tmp, l + 1);
    g->n += l;
}

static void gexpr_k(gen *g, char *out, size_t cap, int depth, int k, char *a, char *b);

/* A random expression over (i, j) written into out. */
static void gexpr(gen *g, char *out, size_t cap, int depth) {
    int k = depth <= 0 ? rint_(0, 2) : rint_(0, 8);
    char *a = malloc(cap), *b = malloc(cap);   /* heap: sizes the compiler cannot bound */
    gexpr_k(g, out, cap, depth, k, a, b);
    free(a);
    free(b);
}

static void gexpr_k(gen *g, char *out, size_t cap, int depth, int k, char *a, char *b) {
    switch (k) {
    case 0: snprintf(out, cap, "%s[i,j]", g->mat[rint_(0, g->nmat - 1)]); return;
    case 1:
        if (g->nvec) snprintf(out, cap, "%s[i]", g->vec[rint_(0, g->nvec - 1)]);
        else snprintf(out, cap, "%s[i,j]", g->mat[0]);
        return;
    case 2: snprintf(out, cap, "%d.5", rint_(-2, 2)); return;
    case 3:
        gexpr(g, a, cap / 3, depth - 1);
        gexpr(g, b, cap / 3, depth - 1);
        snprintf(out, cap, "(%s %c %s)", a, "+-*"[rint_(0, 2)], b);
        return;
    case 4:
        gexpr(g, a, cap / 3, depth - 1);
        snprintf(out, cap, "exp(tanh(%s))", a);
        return;
    case 5:
        gexpr(g, a, cap / 3, depth - 1);
        snprintf(out, cap, "%s(%s)", g->cplx ? "sin" : (rint_(0, 1) ? "sin" : "abs"), a);
        return;
    case 6:
        gexpr(g, a, cap / 3, depth - 1);
        snprintf(out, cap, "sqrt(abs(%s))", a);
        return;
    case 7:
        gexpr(g, a, cap / 3, depth - 1);
        gexpr(g, b, cap / 3, depth - 1);
        snprintf(out, cap, "%s / (abs(%s) + 1)", a, b);
        return;
    default:
        gexpr(g, a, cap / 3, depth - 1);
        snprintf(out, cap, "cos(%s)", a);
        return;
    }
}

static char *gen_program(int seed, int *nstmts) {
    rng_state = 0x243f6a8885a308d3ull ^ ((uint64_t)seed * 0x9e3779b97f4a7c15ull);
    for (int k = 0; k < 4; k++) rnd();
    gen g = { 0 };
    int n = rint_(1, 7), m = rint_(1, 7);
    int dt = rint_(0, 5);   /* 0-3 f64, 4 f32, 5 c128 */
    g.cplx = dt == 5;
    put(&g, "X = randn(%d, %d, seed=%d)\nY = randn(%d, %d, seed=%d)\nw = randn(%d, seed=%d)\n", n, m, seed, n, m,
        seed + 1, n, seed + 2);
    put(&g, "Z = randn(%d, 3, seed=%d)\n", m, seed + 3);
    if (dt == 4) put(&g, "X = cast(X, \"f32\")\nw = cast(w, \"f32\")\n");
    if (dt == 5) put(&g, "X = X + 1j*Y\n");
    g.mat[g.nmat++] = "X";
    g.mat[g.nmat++] = "Y";
    g.vec[g.nvec++] = "w";
    int ns = rint_(2, 6);
    char e[1024], e2[1024];
    static char names[64][8];
    int nn = 0;
    for (int s = 0; s < ns; s++) {
        int kind = rint_(0, 5);
        char *nm = names[nn++];
        gexpr(&g, e, sizeof e / 2, 2);
        /* every statement ranges over i and j */
        strcat(e, " + 0.25*Y[i,j]");
        if (kind <= 1) {
            snprintf(nm, 8, "T%d", s);
            put(&g, "%s[i,j] = %s\n", nm, e);
            g.mat[g.nmat++] = nm;
        } else if (kind == 2) {
            snprintf(nm, 8, "R%d", s);
            const char *red = g.cplx ? "sum" : (rint_(0, 2) == 0 ? "max" : rint_(0, 1) ? "sum" : "min");
            put(&g, "%s[i] = %s[j](%s)\n", nm, red, e);
            g.vec[g.nvec++] = nm;
        } else if (kind == 3) {
            snprintf(nm, 8, "R%d", s);
            if (g.cplx) put(&g, "%s[i] = sum[j](exp(tanh(%s)))\n", nm, e);
            else put(&g, "%s[i] = log(sum[j](exp(tanh(%s)))) + max[k](X[i,k])\n", nm, e);
            g.vec[g.nvec++] = nm;
        } else if (kind == 5) {
            /* a product the planner runs, with a row sum under it that the
             * fuser may split off into the group before (ir/fuse.h) */
            snprintf(nm, 8, "P%d", s);
            const char *A = g.mat[rint_(0, g.nmat - 1)];
            put(&g, "%s[i,l] = %s[i,j]*Z[j,l] / (sum[k](abs(%s[i,k])) + 1)\n", nm, A, A);
        } else {
            snprintf(nm, 8, "U%d", s);
            gexpr(&g, e2, sizeof e2, 1);
            put(&g, "%s[i,j] = (%s) / (sum[k](abs(X[i,k])) + 1) + %s\n", nm, e, e2);
            g.mat[g.nmat++] = nm;
        }
    }
    /* print the last result, sometimes another */
    put(&g, "print %s\n", names[nn - 1]);
    if (nn > 2 && rint_(0, 1)) put(&g, "print %s\n", names[rint_(0, nn - 2)]);
    *nstmts = ns;
    return g.p;
}

static void test_random_programs(void **state) {
    (void)state;
    int fused = 0, cases = 0;
    for (int seed = 1; seed <= 160; seed++) {
        int ns;
        char *text = gen_program(seed, &ns);
        fused += differential(text, NULL) > 0;
        cases++;
        free(text);
    }
    print_message("random programs: %d cases, %d with a fused group\n", cases, fused);
    assert_true(cases >= 100);
    assert_true(fused >= cases / 4);
}

/* Parallel fused kernels: the attention kernel's outer loop runs in
 * parallel with its per-row scratch (scores, D's accumulator, O's row)
 * private to each chunk, its exp is computed in a loop of its own (which
 * vectorises), and every workload and random program still
 * agrees with the evaluator when all eligible loops run on two threads. */
static void test_parallel_private(void **state) {
    tx_arena *a = tx_arena_new(0);
    prog p;
    tx_interp *in;
    const char *live[] = { "O", NULL };
    tx_fuse_group *g = plan_at(a, NULL, ATTN, 5, live, &p, &in);
    assert_non_null(g);
    tx_lir_func *f = g->kernel;
    tx_lir_sched_opts o;
    tx_lir_sched_defaults(&o, 4);
    o.min_par_work = 0;
    tx_lir_schedule(f, &o);
    const tx_lir_stmt *outer = NULL;
    for (int k = 0; k < f->body.n; k++)
        if (f->body.stmts[k]->kind == TX_LIR_LOOP && f->body.stmts[k]->extent == 9) outer = f->body.stmts[k];
    assert_non_null(outer);                       /* the loop over i (Q has 9 rows) */
    assert_true(outer->parallel);
    assert_non_null(outer->private_bufs);
    int npriv = 0;
    for (int b = 0; b < f->nbufs; b++) {
        if (!outer->private_bufs[b]) continue;
        assert_true(f->bufs[b].scratch);          /* only scratch is ever private */
        npriv++;
    }
    assert_true(npriv >= 2);
    for (int b = 0; b < f->nbufs; b++)            /* O is written by rows, never private */
        if (strcmp(f->bufs[b].name, "O") == 0) assert_false(outer->private_bufs[b]);
    /* exp(S/d) moved out of the loop over k into a loop of its own, whose
     * results live in a local buffer of k's extent (7, K2's rows); the
     * loop over j, jammed two rows at a time (tx_lir_jam_rows), has a
     * second one ("%val.1") */
    int nval = 0;
    for (int b = 0; b < f->nbufs; b++)
        if (f->bufs[b].local && strncmp(f->bufs[b].name, "%val", 4) == 0)
            nval++, assert_int_equal(f->bufs[b].size, 7);
    assert_true(nval >= 1);
    tx_interp_free(in);
    prog_free(&p);
    tx_arena_free(a);

    int threads = txrt_get_threads();
    txrt_set_threads(2);
    tx_jit_set_parallel(JIT, 0);                   /* every independent outer loop */
    test_results_workloads(state);
    test_random_programs(state);
    tx_jit_set_parallel(JIT, 100000);
    txrt_set_threads(threads);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_attention),
        cmocka_unit_test(test_group_elementwise),
        cmocka_unit_test(test_group_softmax_logsumexp),
        cmocka_unit_test(test_results_workloads),
        cmocka_unit_test(test_results_loops_functions),
        cmocka_unit_test(test_random_programs),
        cmocka_unit_test(test_parallel_private),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
