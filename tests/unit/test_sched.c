/*
 * test_sched.c -- the thread pool (runtime/parallel.c) and loop scheduling
 * (ir/lir_sched.c, parallel loops in codegen/llvm.c).
 *
 * The pool: txrt_parallel_for covers every index exactly once, in
 * contiguous non-empty chunks, for many n and thread counts; nested calls,
 * concurrent callers and a shutdown in between all work.  The scheduler:
 * which loops it marks parallel (and which it must not: iterations that
 * write the same outputs or read another iteration's), and differential
 * runs of contractions, reductions and elementwise definitions on random
 * shapes, compiled (a) without scheduling, (b) with register tiles and (c)
 * with tiles and parallel loops forced on every loop (2 and 3 threads),
 * each compared with an independent oracle (jit_testutil.h) within a
 * reassociation tolerance, and (a) with (c) the same way.  Vector lanes:
 * which copies of a register tile tx_lir_lanes_find groups into vectors,
 * which statements it refuses to move past each other, and the values
 * and IR of the kernels compiled from them.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <stdatomic.h>

#include "codegen/codegen.h"
#include "ir/lir.h"
#include "ir/lir_lanes.h"
#include "ir/lir_sched.h"
#include "jit_testutil.h"
#include "txrt.h"

/* ---- the pool ---------------------------------------------------------------- */

typedef struct cover {
    _Atomic int *hits;
    int64_t n;
    _Atomic int bad;       /* an empty or out-of-range chunk */
    _Atomic int calls;
} cover;

static void cover_body(void *ctx, int64_t lo, int64_t hi) {
    cover *c = ctx;
    atomic_fetch_add(&c->calls, 1);
    if (lo >= hi || lo < 0 || hi > c->n) atomic_store(&c->bad, 1);
    for (int64_t i = lo; i < hi && i < c->n && i >= 0; i++) atomic_fetch_add(&c->hits[i], 1);
}

static void check_cover(int64_t n, int threads, bool sole) {
    cover c = { calloc((size_t)(n > 0 ? n : 0) + 1, sizeof(_Atomic int)), n, 0, 0 };
    txrt_parallel_for(n, cover_body, &c);
    assert_int_equal(atomic_load(&c.bad), 0);
    for (int64_t i = 0; i < n; i++)
        if (atomic_load(&c.hits[i]) != 1) fail_msg("n=%lld threads=%d: index %lld hit %d times", (long long)n, threads,
                                                  (long long)i, atomic_load(&c.hits[i]));
    int calls = atomic_load(&c.calls);
    /* a job is split into every chunk it may have (one per index, up to
     * TXRT_CHUNKS_PER_THREAD per thread), which whichever thread is free
     * claims; it runs as one serial call only when another caller's job
     * holds the pool */
    int64_t most = threads < 2 ? 1 : (int64_t)threads * TXRT_CHUNKS_PER_THREAD;
    if (n > 0 && sole) assert_int_equal(calls, n < most ? n : most);
    else if (n > 0) assert_true(calls == 1 || calls == (n < most ? n : most));
    else assert_int_equal(calls, 0);
    free(c.hits);
}

static void covers_every_index_once(void **state) {
    (void)state;
    static const int64_t ns[] = { 0, 1, 2, 3, 4, 5, 7, 16, 17, 100, 1000, 4097, 100003 };
    static const int ts[] = { 1, 2, 3, 4, 5, 8, 13 };
    for (size_t t = 0; t < sizeof ts / sizeof ts[0]; t++) {
        txrt_set_threads(ts[t]);
        assert_int_equal(txrt_get_threads(), ts[t]);
        for (size_t k = 0; k < sizeof ns / sizeof ns[0]; k++)
            for (int rep = 0; rep < 3; rep++) check_cover(ns[k], ts[t], true);
    }
    txrt_set_threads(0);
    assert_true(txrt_get_threads() >= 1);
    check_cover(-5, 1, true); /* nothing */
}

/* contiguous chunks: each body call covers one range, so adjacent
 * indices of a chunk see the same call */
typedef struct chunks {
    int64_t *owner;
    _Atomic int next;
} chunks;

static void chunk_body(void *ctx, int64_t lo, int64_t hi) {
    chunks *c = ctx;
    int id = atomic_fetch_add(&c->next, 1);
    for (int64_t i = lo; i < hi; i++) c->owner[i] = id;
}

static void chunks_are_contiguous(void **state) {
    (void)state;
    txrt_set_threads(4);
    int64_t n = 1003;
    chunks c = { calloc((size_t)n, sizeof(int64_t)), 0 };
    txrt_parallel_for(n, chunk_body, &c);
    int changes = 0;
    for (int64_t i = 1; i < n; i++) changes += c.owner[i] != c.owner[i - 1];
    assert_int_equal(changes + 1, atomic_load(&c.next));
    assert_true(atomic_load(&c.next) <= 4 * TXRT_CHUNKS_PER_THREAD);
    free(c.owner);
    txrt_set_threads(0);
}

typedef struct nest {
    _Atomic int *hits;   /* n x n */
    int64_t n;
} nest;

typedef struct inner {
    nest *N;
    int64_t row;
} inner;

static void inner_body(void *ctx, int64_t lo, int64_t hi) {
    inner *in = ctx;
    for (int64_t j = lo; j < hi; j++) atomic_fetch_add(&in->N->hits[in->row * in->N->n + j], 1);
}

static void outer_body(void *ctx, int64_t lo, int64_t hi) {
    nest *N = ctx;
    for (int64_t i = lo; i < hi; i++) {
        inner in = { N, i };
        txrt_parallel_for(N->n, inner_body, &in); /* nested: runs serially here */
    }
}

static void nested_calls(void **state) {
    (void)state;
    txrt_set_threads(3);
    int64_t n = 37;
    nest N = { calloc((size_t)(n * n), sizeof(_Atomic int)), n };
    txrt_parallel_for(n, outer_body, &N);
    for (int64_t k = 0; k < n * n; k++) assert_int_equal(atomic_load(&N.hits[k]), 1);
    free(N.hits);
    txrt_set_threads(0);
}

static void *caller(void *arg) {
    int64_t n = (int64_t)(intptr_t)arg;
    for (int rep = 0; rep < 200; rep++) check_cover(n + rep % 7, 2, false);
    return NULL;
}

static void concurrent_callers_and_restart(void **state) {
    (void)state;
    txrt_set_threads(2);
    pthread_t t1, t2;
    assert_int_equal(pthread_create(&t1, NULL, caller, (void *)(intptr_t)1000), 0);
    assert_int_equal(pthread_create(&t2, NULL, caller, (void *)(intptr_t)333), 0);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    txrt_parallel_shutdown();
    check_cover(5000, 2, true); /* the pool restarts */
    txrt_parallel_shutdown();
    txrt_parallel_shutdown(); /* twice is fine */
    txrt_set_threads(0);
}

/* ---- marking parallel loops ----------------------------------------------------- */

static tx_lir_func *lower(tx_arena *a, tenv *env, const char *text, const char *ranges) {
    const char *err = NULL;
    tx_tir_stmt *def = tdef_parse(a, text, ranges, &err);
    if (!def) fail_msg("parse %s: %s", text, err);
    tx_type out;
    memset(&out, 0, sizeof out);
    out.dtype = (int)tu_def_dtype(def, env);
    out.rank = def->nout;
    for (int k = 0; k < def->nout; k++) out.dims[k] = def->indices[def->out_idx[k]].extent;
    tx_lookup lk = { tenv_lookup, env };
    const char *why = NULL;
    tx_lir_func *f = tx_lir_from_def(a, def, &out, &lk, &why);
    if (!f) fail_msg("lower %s: %s", text, why);
    return f;
}

static void marks_output_loops(void **state) {
    (void)state;
    tx_arena *a = tx_arena_new(0);
    tenv env = { 0 };
    tenv_add(&env, "A", TXRT_F64, 2, (int64_t[]){ 200, 300 }, -1, 1, 1);
    tenv_add(&env, "B", TXRT_F64, 2, (int64_t[]){ 300, 100 }, -1, 1, 2);
    tx_lir_func *f = lower(a, &env, "C[i,j] = A[i,k]*B[k,j]", "i:200 j:100 k:300");
    assert_true(tx_lir_work(f) > 6e6);
    assert_int_equal(tx_lir_mark_parallel(f, 40000), 1);
    assert_true(f->body.stmts[0]->parallel);
    char *s = tx_lir_str(f);
    assert_non_null(strstr(s, "parallel for i in 0..200"));
    free(s);
    /* too little work */
    tx_lir_func *g = lower(a, &env, "C[i,j] = A[i,k]*B[k,j]", "i:2 j:3 k:4");
    assert_int_equal(tx_lir_mark_parallel(g, 40000), 0);
    assert_int_equal(tx_lir_mark_parallel(g, 0), 1);
    /* a whole reduction has no top-level loop to split */
    tx_lir_func *h = lower(a, &env, "t = A[i,k]*A[i,k]", "i:200 k:300");
    assert_int_equal(tx_lir_mark_parallel(h, 0), 0);
    /* tiles keep the outer loop independent */
    tx_lir_func *t = lower(a, &env, "C[i,j] = A[i,k]*B[k,j]", "i:200 j:100 k:300");
    tx_lir_sched_opts o;
    tx_lir_sched_defaults(&o, 8);
    o.min_par_work = 0;
    assert_true(tx_lir_schedule(t, &o) >= 3); /* j tile, i tile, parallel */
    assert_true(t->body.stmts[0]->parallel);
    const char *why = NULL;
    assert_true(tx_lir_verify(t, &why));
    tenv_free(&env);
    tx_arena_free(a);
}

/* Hand-built loops whose iterations are not independent. */
static void refuses_dependent_loops(void **state) {
    (void)state;
    tx_arena *a = tx_arena_new(0);
    tx_lir_func *f = tx_lir_func_new(a, "k");
    int out = tx_lir_add_buf(f, "O", TXRT_F64, 1, (int64_t[]){ 8 }, true);
    int in = tx_lir_add_buf(f, "X", TXRT_F64, 2, (int64_t[]){ 4, 8 }, false);
    int i = tx_lir_add_var(f, "i"), j = tx_lir_add_var(f, "j");
    /* for i { for j { O[j] = X[8i + j] } }: every i writes all of O */
    tx_lir_stmt *li = tx_lir_loop(f, &f->body, i, 0, 4);
    tx_lir_stmt *lj = tx_lir_loop(f, &li->body, j, 0, 8);
    tx_lir_store(f, &lj->body, out, tx_lir_affine_make(f, 1, (int[]){ j }, (int64_t[]){ 1 }, 0),
                 tx_lir_load(f, in, tx_lir_affine_make(f, 2, (int[]){ i, j }, (int64_t[]){ 8, 1 }, 0)));
    assert_false(tx_lir_loop_independent(f, li));
    assert_true(tx_lir_loop_independent(f, lj));
    assert_int_equal(tx_lir_mark_parallel(f, 0), 0);

    /* for i in 0..7 { O[i+1] = O[i] + 1 }: reads the previous iteration's output */
    tx_lir_func *g = tx_lir_func_new(a, "g");
    out = tx_lir_add_buf(g, "O", TXRT_F64, 1, (int64_t[]){ 8 }, true);
    i = tx_lir_add_var(g, "i");
    li = tx_lir_loop(g, &g->body, i, 0, 7);
    tx_lir_store(g, &li->body, out, tx_lir_affine_make(g, 1, (int[]){ i }, (int64_t[]){ 1 }, 1),
                 tx_lir_binary(g, TX_TOP_ADD, tx_lir_load(g, out, tx_lir_affine_make(g, 1, (int[]){ i }, (int64_t[]){ 1 }, 0)),
                               tx_lir_const(g, TXRT_F64, 1, 0)));
    assert_false(tx_lir_loop_independent(g, li));

    /* for i in 0..4 { for j in 0..3 { O[2i + j] = 1 } }: windows of width 3 overlap at stride 2 */
    tx_lir_func *h = tx_lir_func_new(a, "h");
    out = tx_lir_add_buf(h, "O", TXRT_F64, 1, (int64_t[]){ 16 }, true);
    i = tx_lir_add_var(h, "i"), j = tx_lir_add_var(h, "j");
    li = tx_lir_loop(h, &h->body, i, 0, 4);
    lj = tx_lir_loop(h, &li->body, j, 0, 3);
    tx_lir_store(h, &lj->body, out, tx_lir_affine_make(h, 2, (int[]){ i, j }, (int64_t[]){ 2, 1 }, 0),
                 tx_lir_const(h, TXRT_F64, 1, 0));
    assert_false(tx_lir_loop_independent(h, li));

    /* an accumulator carried across iterations */
    tx_lir_func *r = tx_lir_func_new(a, "r");
    out = tx_lir_add_buf(r, "O", TXRT_F64, 1, (int64_t[]){ 4 }, true);
    in = tx_lir_add_buf(r, "X", TXRT_F64, 1, (int64_t[]){ 4 }, false);
    i = tx_lir_add_var(r, "i");
    int acc = tx_lir_add_acc(r, TX_RED_SUM, TXRT_F64);
    tx_lir_acc_init(r, &r->body, acc);
    li = tx_lir_loop(r, &r->body, i, 0, 4);
    tx_lir_accum(r, &li->body, acc, tx_lir_load(r, in, tx_lir_affine_make(r, 1, (int[]){ i }, (int64_t[]){ 1 }, 0)));
    tx_lir_store(r, &li->body, out, tx_lir_affine_make(r, 1, (int[]){ i }, (int64_t[]){ 1 }, 0), tx_lir_accref(r, acc));
    assert_false(tx_lir_loop_independent(r, li));
    tx_arena_free(a);
}

/* ---- differential runs ---------------------------------------------------------- */

static int jit_run(tx_jit *j, const tx_tir_stmt *def, tenv *env, txrt_dtype dt, txrt_tensor **outp) {
    txrt_tensor *out = tu_new_out(def, dt);
    tx_def_backend be = tx_jit_backend(j);
    int rc = be.run_def(be.self, def, out, tenv_get, env, NULL);
    *outp = out;
    return rc;
}

/* Run text under each session; every result must match the oracle and
 * the first session's result (16x the oracle's error bound). */
static int diff_sessions(tx_jit **js, int nj, tx_arena *a, tenv *env, const char *text, const char *ranges) {
    const char *err = NULL;
    tx_tir_stmt *def = tdef_parse(a, text, ranges, &err);
    if (!def) {
        print_error("parse %s: %s\n", text, err);
        return 1;
    }
    txrt_dtype dt = tu_def_dtype(def, env);
    txrt_tensor *first = NULL;
    int64_t n = 1;
    for (int k = 0; k < def->nout; k++) n *= def->indices[def->out_idx[k]].extent;
    double complex *vals = calloc((size_t)n + 1, sizeof *vals);
    double *errs = calloc((size_t)n + 1, sizeof *errs);
    int bad = 0;
    if (!ref_run(def, env, 0x1p-53, vals, errs)) {
        print_error("%s: the oracle cannot evaluate it\n", text);
        bad++;
    }
    for (int s = 0; s < nj && !bad; s++) {
        txrt_tensor *out = NULL;
        if (jit_run(js[s], def, env, dt, &out) != 0) {
            print_error("%s [%s] session %d: declined: %s\n", text, ranges, s, tx_jit_last_decline(js[s]));
            bad++;
        } else {
            char msg[256] = "";
            int m = tu_compare(out, vals, errs, msg, sizeof msg);
            if (m) {
                print_error("%s [%s] session %d: %d mismatches; %s\n", text, ranges, s, m, msg);
                bad++;
            }
            if (first) { /* against session 0: the same tolerance */
                double complex *v0 = calloc((size_t)n + 1, sizeof *v0);
                for (int64_t i = 0; i < n; i++) {
                    double re, im;
                    txrt_get(first, i, &re, &im);
                    v0[i] = re + im * I;
                }
                m = tu_compare(out, v0, errs, msg, sizeof msg);
                if (m) {
                    print_error("%s [%s] session %d vs 0: %d mismatches; %s\n", text, ranges, s, m, msg);
                    bad++;
                }
                free(v0);
            }
        }
        if (!first) first = out;
        else txrt_release(out);
    }
    txrt_release(first);
    free(vals);
    free(errs);
    return bad;
}

static tx_jit *session(int jam, double min_work) {
    tx_jit *j = tx_jit_new(3, NULL);
    assert_non_null(j);
    tx_jit_set_verify(j, true);
    tx_jit_set_jam(j, jam);
    tx_jit_set_parallel(j, min_work);
    return j;
}

static void schedules_keep_values(void **state) {
    (void)state;
    tx_jit *js[3] = { session(0, -1), session(16, -1), session(16, 0) };
    tx_arena *a = tx_arena_new(0);
    uint64_t seed = 12345;
    int bad = 0, ncases = 0;
    for (int round = 0; round < 8; round++) {
        int64_t I_ = 1 + (int64_t)(tu_rng(&seed) % 70), J = 1 + (int64_t)(tu_rng(&seed) % 90);
        int64_t K = 1 + (int64_t)(tu_rng(&seed) % 60), L = 1 + (int64_t)(tu_rng(&seed) % 9);
        tenv env = { 0 };
        tenv_add(&env, "A", TXRT_F64, 2, (int64_t[]){ I_, K }, -1, 1, seed + 1);
        tenv_add(&env, "B", TXRT_F64, 2, (int64_t[]){ K, J }, -1, 1, seed + 2);
        tenv_add(&env, "Bt", TXRT_F64, 2, (int64_t[]){ J, K }, -1, 1, seed + 3);
        tenv_add(&env, "X", TXRT_F64, 2, (int64_t[]){ K, J + L - 1 }, -1, 1, seed + 4);
        tenv_add(&env, "W", TXRT_F64, 3, (int64_t[]){ I_, K, L }, -1, 1, seed + 5);
        tenv_add(&env, "F", TXRT_F32, 2, (int64_t[]){ K, J }, -1, 1, seed + 6);
        tenv_add(&env, "Z", TXRT_C128, 2, (int64_t[]){ K, J }, -1, 1, seed + 7);
        tenv_add(&env, "T", TXRT_F64, 3, (int64_t[]){ I_, K, J }, -1, 1, seed + 8);
        char r2[128], r3[128], r4[128];
        snprintf(r2, sizeof r2, "i:%lld j:%lld k:%lld", (long long)I_, (long long)J, (long long)K);
        snprintf(r3, sizeof r3, "o:%lld i:%lld c:%lld k:%lld", (long long)I_, (long long)J, (long long)K, (long long)L);
        snprintf(r4, sizeof r4, "i:%lld k:%lld j:%lld", (long long)I_, (long long)K, (long long)J);
        const char *cases[][2] = {
            { "C[i,j] = A[i,k]*B[k,j]", r2 },
            { "C[i,j] = A[i,k]*Bt[j,k]", r2 },
            { "C[j,i] = A[i,k]*B[k,j]", r2 },
            { "C[i,j] = A[i,k]*F[k,j] + i - j", r2 },
            { "C[i,j] = A[i,k]*Z[k,j]", r2 },
            { "C[i,j] = max[k](A[i,k] - B[k,j]) + sum[k](A[i,k])", r2 },
            { "Y[o,i] = X[c,i+k]*W[o,c,k]", r3 },
            { "r[i] = sum[j](T[i,k,j])", r4 },
            { "r[i,k] = sum[j](T[i,k,j]*T[i,k,j])", r4 },
            { "Y[i,k,j] = exp(T[i,k,j])*sin(T[i,k,j]) + sqrt(abs(T[i,k,j]))", r4 },
            { "t = A[i,k]*A[i,k]", r2 },
        };
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            for (int threads = 2; threads <= 3; threads++) {
                txrt_set_threads(threads);
                bad += diff_sessions(js, 3, a, &env, cases[c][0], cases[c][1]);
                ncases++;
            }
        }
        tenv_free(&env);
    }
    txrt_set_threads(0);
    assert_int_equal(bad, 0);
    assert_true(ncases > 150);
    for (int k = 0; k < 3; k++) tx_jit_free(js[k]);
    tx_arena_free(a);
}

/* ---- interleaved partial sums (tx_lir_interleave) ------------------------------ */

/* The fuser's shape of a reduction kept in a scratch row, over k in
 * 0..nk with a let-bound value and a scalar sum beside it:
 *
 *   for k { v = max(-inf, X[k]); s += v; for b in 0..nb { R[b] = R[b] + v * V[k,b] } }
 *   out[b] = R[b] + s
 *
 * read_row: the loop also reads R (then the sums cannot be split). */
static tx_lir_func *row_kernel(tx_arena *a, int64_t nk, int64_t nb, bool read_row) {
    tx_lir_func *f = tx_lir_func_new(a, "o");
    int out = tx_lir_add_buf(f, "o", TXRT_F64, 1, &nb, true);
    int row = tx_lir_add_buf(f, "%R", TXRT_F64, 1, &nb, true);
    f->bufs[row].scratch = true;
    int xb = tx_lir_add_buf(f, "X", TXRT_F64, 1, &nk, false);
    int vb = tx_lir_add_buf(f, "V", TXRT_F64, 2, (int64_t[]){ nk, nb }, false);
    int k = tx_lir_add_var(f, "k"), b = tx_lir_add_var(f, "b"), z = tx_lir_add_var(f, "z");
    int s = tx_lir_add_acc(f, TX_RED_SUM, TXRT_F64), v = tx_lir_add_acc(f, TX_RED_MAX, TXRT_F64);
    int64_t one = 1;
    tx_lir_affine zb = tx_lir_affine_make(f, 1, &z, &one, 0), bb = tx_lir_affine_make(f, 1, &b, &one, 0);
    tx_lir_stmt *lz = tx_lir_loop(f, &f->body, z, 0, nb);
    tx_lir_store(f, &lz->body, row, zb, tx_lir_const(f, TXRT_F64, 0, 0));
    tx_lir_acc_init(f, &f->body, s);
    tx_lir_stmt *lk = tx_lir_loop(f, &f->body, k, 0, nk);
    tx_lir_acc_init(f, &lk->body, v);
    tx_lir_accum(f, &lk->body, v, tx_lir_load(f, xb, tx_lir_affine_make(f, 1, &k, &one, 0)));
    tx_lir_accum(f, &lk->body, s, tx_lir_accref(f, v));
    tx_lir_stmt *lb = tx_lir_loop(f, &lk->body, b, 0, nb);
    tx_lir_expr *term = tx_lir_binary(f, TX_TOP_MUL, tx_lir_accref(f, v),
                                      tx_lir_load(f, vb, tx_lir_affine_make(f, 2, (int[]){ k, b }, (int64_t[]){ nb, 1 }, 0)));
    if (read_row) /* R[0] of the previous iterations feeds this one */
        term = tx_lir_binary(f, TX_TOP_ADD, term, tx_lir_load(f, row, tx_lir_affine_make(f, 0, NULL, NULL, 0)));
    tx_lir_store(f, &lb->body, row, bb, tx_lir_binary(f, TX_TOP_ADD, tx_lir_load(f, row, bb), term));
    tx_lir_stmt *lo = tx_lir_loop(f, &f->body, z, 0, nb);
    tx_lir_store(f, &lo->body, out, zb, tx_lir_binary(f, TX_TOP_ADD, tx_lir_load(f, row, zb), tx_lir_accref(f, s)));
    return f;
}

static void interleaves_row_sums(void **state) {
    (void)state;
    tx_arena *a = tx_arena_new(0);
    tx_lir_sched_opts o;
    tx_lir_sched_defaults(&o, 8);
    o.parallel = false;
    /* the pattern is split four ways, with a rest loop when 4 does not divide nk */
    tx_lir_func *f = row_kernel(a, 13, 5, false);
    assert_true(tx_lir_schedule(f, &o) >= 1);
    char *text = tx_lir_str(f);
    if (!strstr(text, "%R'3")) fprintf(stderr, "%s", text);
    assert_non_null(strstr(text, "for k/4 in 0..3"));
    assert_non_null(strstr(text, "for k in 12..13"));
    assert_non_null(strstr(text, "%R'3"));
    free(text);
    const char *why = NULL;
    assert_true(tx_lir_verify(f, &why));
    /* ... but not when the loop reads the row, nor with interleaving off */
    f = row_kernel(a, 13, 5, true);
    tx_lir_schedule(f, &o);
    text = tx_lir_str(f);
    assert_null(strstr(text, "%R'1"));
    free(text);
    o.interleave = 0;
    f = row_kernel(a, 13, 5, false);
    tx_lir_schedule(f, &o);
    text = tx_lir_str(f);
    assert_null(strstr(text, "%R'1"));
    free(text);

    /* nor to a nest of scalar sums alone (a contraction: the register
     * tiles' business; interleaving it too made conv1d spill, 12 -> 21 ms) */
    tx_lir_func *g = tx_lir_func_new(a, "t");
    int tout = tx_lir_add_buf(g, "t", TXRT_F64, 0, NULL, true);
    int tx_ = tx_lir_add_buf(g, "X", TXRT_F64, 2, (int64_t[]){ 32, 9 }, false);
    int c = tx_lir_add_var(g, "c"), k9 = tx_lir_add_var(g, "k");
    int acc = tx_lir_add_acc(g, TX_RED_SUM, TXRT_F64);
    tx_lir_acc_init(g, &g->body, acc);
    tx_lir_stmt *lc = tx_lir_loop(g, &g->body, c, 0, 32);
    tx_lir_stmt *lk9 = tx_lir_loop(g, &lc->body, k9, 0, 9);
    tx_lir_accum(g, &lk9->body, acc, tx_lir_load(g, tx_, tx_lir_affine_make(g, 2, (int[]){ c, k9 }, (int64_t[]){ 9, 1 }, 0)));
    tx_lir_store(g, &g->body, tout, tx_lir_affine_make(g, 0, NULL, NULL, 0), tx_lir_accref(g, acc));
    assert_int_equal(tx_lir_interleave(g, &g->body, 1, 4, 2048), 0);

    /* values: compiled (scheduled by default) against the loops in C */
    tx_jit *j = session(16, -1);
    for (int64_t nk = 1; nk <= 21; nk += 4) {
        for (int64_t nb = 1; nb <= 9; nb += 4) {
            for (int rr = 0; rr < 2; rr++) {
                double x[32], vv[32 * 16], got[16], row[16], want[16];
                for (int64_t q = 0; q < nk; q++) x[q] = 0.5 + 0.25 * (double)((q * 7) % 5);
                for (int64_t q = 0; q < nk * nb; q++) vv[q] = 1.0 / (double)(q + 2) - 0.125 * (double)(q % 3);
                double s = 0;
                for (int64_t b = 0; b < nb; b++) want[b] = 0;
                for (int64_t k = 0; k < nk; k++) {
                    s += x[k];
                    for (int64_t b = 0; b < nb; b++) want[b] += x[k] * vv[nb * k + b] + (rr ? want[0] : 0);
                }
                for (int64_t b = 0; b < nb; b++) want[b] += s;
                tx_kernel_fn kf = tx_jit_compile(j, row_kernel(a, nk, nb, rr), NULL);
                assert_non_null(kf);
                void *bufs[4] = { got, row, x, vv };
                kf(bufs);
                for (int64_t b = 0; b < nb; b++) {
                    if (fabs(got[b] - want[b]) > 1e-12 * (1 + fabs(want[b])))
                        fprintf(stderr, "nk %lld nb %lld read %d: o[%lld] = %.17g, want %.17g\n", (long long)nk,
                                (long long)nb, rr, (long long)b, got[b], want[b]);
                    assert_true(fabs(got[b] - want[b]) <= 1e-12 * (1 + fabs(want[b])));
                }
            }
        }
    }
    tx_jit_free(j);
    tx_arena_free(a);
}

/* ---- rows of a fused kernel jammed two iterations at a time (tx_lir_jam_rows) --- */

/* The fused kernel's shape around a reduction over j with per-row scratch:
 *
 *   R = 0; s = 0
 *   for j { S = 0; for k { S[k] = S[k] + X[j,k] }
 *           for k { v = max(-inf, S[k]); s += v; for b { R[b] = R[b] + v * V[k,b] } } }
 *   o[b] = R[b] + s
 *
 * late_zero: S is read before the body overwrites it (a value carried from
 * the previous j: not private); read_after: S is read after the loop. */
static tx_lir_func *jam_kernel(tx_arena *a, int64_t nj, int64_t nk, int64_t nb, bool late_zero, bool read_after) {
    tx_lir_func *f = tx_lir_func_new(a, "o");
    int out = tx_lir_add_buf(f, "o", TXRT_F64, 1, &nb, true);
    int R = tx_lir_add_buf(f, "%R", TXRT_F64, 1, &nb, true), S = tx_lir_add_buf(f, "%S", TXRT_F64, 1, &nk, true);
    f->bufs[R].scratch = f->bufs[S].scratch = true;
    int X = tx_lir_add_buf(f, "X", TXRT_F64, 2, (int64_t[]){ nj, nk }, false);
    int V = tx_lir_add_buf(f, "V", TXRT_F64, 2, (int64_t[]){ nk, nb }, false);
    int j = tx_lir_add_var(f, "j"), k = tx_lir_add_var(f, "k"), b = tx_lir_add_var(f, "b"), z = tx_lir_add_var(f, "z");
    int s = tx_lir_add_acc(f, TX_RED_SUM, TXRT_F64), v = tx_lir_add_acc(f, TX_RED_MAX, TXRT_F64);
    int64_t one = 1;
    tx_lir_affine zo = tx_lir_affine_make(f, 1, &z, &one, 0), ko = tx_lir_affine_make(f, 1, &k, &one, 0);
    tx_lir_affine bo = tx_lir_affine_make(f, 1, &b, &one, 0);
    tx_lir_stmt *l = tx_lir_loop(f, &f->body, z, 0, nb);
    tx_lir_store(f, &l->body, R, zo, tx_lir_const(f, TXRT_F64, 0, 0));
    l = tx_lir_loop(f, &f->body, z, 0, nk);
    tx_lir_store(f, &l->body, S, zo, tx_lir_const(f, TXRT_F64, 0, 0));
    tx_lir_acc_init(f, &f->body, s);
    tx_lir_stmt *lj = tx_lir_loop(f, &f->body, j, 0, nj);
    tx_lir_stmt *zero;
    {
        tx_lir_block tmp = { NULL, 0, 0 };
        zero = tx_lir_loop(f, &tmp, z, 0, nk);
        tx_lir_store(f, &zero->body, S, zo, tx_lir_const(f, TXRT_F64, 0, 0));
    }
    if (!late_zero) tx_lir_append(f, &lj->body, zero);
    l = tx_lir_loop(f, &lj->body, k, 0, nk);
    tx_lir_store(f, &l->body, S, ko,
                 tx_lir_binary(f, TX_TOP_ADD, tx_lir_load(f, S, ko),
                               tx_lir_load(f, X, tx_lir_affine_make(f, 2, (int[]){ j, k }, (int64_t[]){ nk, 1 }, 0))));
    if (late_zero) tx_lir_append(f, &lj->body, zero);
    l = tx_lir_loop(f, &lj->body, k, 0, nk);
    tx_lir_acc_init(f, &l->body, v);
    tx_lir_accum(f, &l->body, v, tx_lir_load(f, S, ko));
    tx_lir_accum(f, &l->body, s, tx_lir_accref(f, v));
    tx_lir_stmt *lb = tx_lir_loop(f, &l->body, b, 0, nb);
    tx_lir_store(f, &lb->body, R, bo,
                 tx_lir_binary(f, TX_TOP_ADD, tx_lir_load(f, R, bo),
                               tx_lir_binary(f, TX_TOP_MUL, tx_lir_accref(f, v),
                                             tx_lir_load(f, V, tx_lir_affine_make(f, 2, (int[]){ k, b }, (int64_t[]){ nb, 1 }, 0)))));
    l = tx_lir_loop(f, &f->body, z, 0, nb);
    tx_lir_expr *val = tx_lir_binary(f, TX_TOP_ADD, tx_lir_load(f, R, zo), tx_lir_accref(f, s));
    if (read_after) val = tx_lir_binary(f, TX_TOP_ADD, val, tx_lir_load(f, S, tx_lir_affine_make(f, 0, NULL, NULL, 0)));
    tx_lir_store(f, &l->body, out, zo, val);
    return f;
}

static void jams_fused_rows(void **state) {
    (void)state;
    tx_arena *a = tx_arena_new(0);
    tx_lir_sched_opts o;
    tx_lir_sched_defaults(&o, 8);
    o.parallel = false;
    tx_lir_func *f = jam_kernel(a, 7, 12, 5, false, false);
    tx_lir_schedule(f, &o);
    char *text = tx_lir_str(f);
    if (!strstr(text, "for j/2 in 0..3")) fprintf(stderr, "%s", text);
    assert_non_null(strstr(text, "for j/2 in 0..3"));
    assert_non_null(strstr(text, "for j in 6..7"));  /* the odd row */
    assert_non_null(strstr(text, "%S.1["));            /* the second row's own scratch */
    free(text);
    const char *why = NULL;
    assert_true(tx_lir_verify(f, &why));
    /* a scratch row carried from one iteration to the next, or read after
     * the loop, is not private: no jam */
    for (int bad = 0; bad < 2; bad++) {
        f = jam_kernel(a, 7, 12, 5, bad == 0, bad == 1);
        tx_lir_schedule(f, &o);
        text = tx_lir_str(f);
        assert_null(strstr(text, "for j/2"));
        free(text);
    }
    /* a deep nest under the loop: its trip count is not multiplied past
     * int64 (fuzz_frontend, UBSan: 20 loops of 8 are 8^20 > 2^63/6) */
    tx_lir_func *g = tx_lir_func_new(a, "t");
    int tout = tx_lir_add_buf(g, "t", TXRT_F64, 0, NULL, true);
    int acc = tx_lir_add_acc(g, TX_RED_SUM, TXRT_F64);
    tx_lir_acc_init(g, &g->body, acc);
    tx_lir_block *at = &g->body;
    for (int d = 0; d < 22; d++) at = &tx_lir_loop(g, at, tx_lir_add_var(g, "n"), 0, d == 0 ? 6 : 8)->body;
    tx_lir_accum(g, at, acc, tx_lir_const(g, TXRT_F64, 1, 0));
    tx_lir_store(g, &g->body, tout, tx_lir_affine_make(g, 0, NULL, NULL, 0), tx_lir_accref(g, acc));
    assert_int_equal(tx_lir_jam_rows(g, &g->body, 1, 2, 2048), 0);
    assert_int_equal(tx_lir_interleave(g, &g->body, 1, 4, 2048), 0);

    /* values, jammed or not, against the loops in C */
    tx_jit *jit = session(16, -1);
    for (int64_t nj = 1; nj <= 9; nj += 2) {
        for (int bad = 0; bad < 3; bad++) {
            int64_t nk = 12, nb = 5;
            double x[9 * 12], vv[12 * 5], got[5], R[5], S[12], want[5];
            for (int64_t q = 0; q < nj * nk; q++) x[q] = 0.25 * (double)((q * 5) % 7) - 0.5;
            for (int64_t q = 0; q < nk * nb; q++) vv[q] = 1.0 / (double)(q + 3);
            double sum = 0, Sc[12] = { 0 };
            for (int64_t b = 0; b < nb; b++) want[b] = 0;
            for (int64_t j = 0; j < nj; j++) {
                if (bad != 1) memset(Sc, 0, sizeof Sc);
                for (int64_t k = 0; k < nk; k++) Sc[k] += x[j * nk + k];
                if (bad == 1) memset(Sc, 0, sizeof Sc);
                for (int64_t k = 0; k < nk; k++) {
                    sum += Sc[k];
                    for (int64_t b = 0; b < nb; b++) want[b] += Sc[k] * vv[k * nb + b];
                }
            }
            for (int64_t b = 0; b < nb; b++) want[b] += sum + (bad == 2 ? Sc[0] : 0);
            tx_kernel_fn kf = tx_jit_compile(jit, jam_kernel(a, nj, nk, nb, bad == 1, bad == 2), NULL);
            assert_non_null(kf);
            void *bufs[6] = { got, R, S, x, vv };
            kf(bufs);
            for (int64_t b = 0; b < nb; b++) {
                if (fabs(got[b] - want[b]) > 1e-12 * (1 + fabs(want[b])))
                    fprintf(stderr, "nj %lld case %d: o[%lld] = %.17g, want %.17g\n", (long long)nj, bad,
                            (long long)b, got[b], want[b]);
                assert_true(fabs(got[b] - want[b]) <= 1e-12 * (1 + fabs(want[b])));
            }
        }
    }
    tx_jit_free(jit);
    tx_arena_free(a);
}

/* ---- row reductions as register tiles (row_accs in ir/lir_sched.c) ------------- */

/* The fuser's row reduction inside a loop over rows i:
 *
 *   for i { for w { %s[w] = 0 }
 *           for a { for w { %s[w] = %s[w] + X[i,a] * K[a,w] (+ %s[0] when read_row) } }
 *           for w { o[i,w] = 2 * %s[w] } } */
static tx_lir_func *rowsum_kernel(tx_arena *a, int64_t ni, int64_t na, int64_t nw, bool read_row) {
    tx_lir_func *f = tx_lir_func_new(a, "o");
    int o = tx_lir_add_buf(f, "o", TXRT_F64, 2, (int64_t[]){ ni, nw }, true);
    int sb = tx_lir_add_buf(f, "%s", TXRT_F64, 1, &nw, true);
    f->bufs[sb].scratch = true;
    int xb = tx_lir_add_buf(f, "X", TXRT_F64, 2, (int64_t[]){ ni, na }, false);
    int kb = tx_lir_add_buf(f, "K", TXRT_F64, 2, (int64_t[]){ na, nw }, false);
    int i = tx_lir_add_var(f, "i"), w0 = tx_lir_add_var(f, "w"), av = tx_lir_add_var(f, "a");
    int w1 = tx_lir_add_var(f, "w"), w2 = tx_lir_add_var(f, "w");
    int64_t one = 1;
    tx_lir_stmt *li = tx_lir_loop(f, &f->body, i, 0, ni);
    tx_lir_stmt *l0 = tx_lir_loop(f, &li->body, w0, 0, nw);
    tx_lir_store(f, &l0->body, sb, tx_lir_affine_make(f, 1, &w0, &one, 0), tx_lir_const(f, TXRT_F64, 0, 0));
    tx_lir_stmt *la = tx_lir_loop(f, &li->body, av, 0, na);
    tx_lir_stmt *l1 = tx_lir_loop(f, &la->body, w1, 0, nw);
    tx_lir_affine s1 = tx_lir_affine_make(f, 1, &w1, &one, 0);
    tx_lir_expr *term = tx_lir_binary(f, TX_TOP_MUL,
                                      tx_lir_load(f, xb, tx_lir_affine_make(f, 2, (int[]){ i, av }, (int64_t[]){ na, 1 }, 0)),
                                      tx_lir_load(f, kb, tx_lir_affine_make(f, 2, (int[]){ av, w1 }, (int64_t[]){ nw, 1 }, 0)));
    if (read_row) term = tx_lir_binary(f, TX_TOP_ADD, term, tx_lir_load(f, sb, tx_lir_affine_make(f, 0, NULL, NULL, 0)));
    tx_lir_store(f, &l1->body, sb, s1, tx_lir_binary(f, TX_TOP_ADD, tx_lir_load(f, sb, s1), term));
    tx_lir_stmt *l2 = tx_lir_loop(f, &li->body, w2, 0, nw);
    tx_lir_store(f, &l2->body, o, tx_lir_affine_make(f, 2, (int[]){ i, w2 }, (int64_t[]){ nw, 1 }, 0),
                 tx_lir_binary(f, TX_TOP_MUL, tx_lir_const(f, TXRT_F64, 2, 0),
                               tx_lir_load(f, sb, tx_lir_affine_make(f, 1, &w2, &one, 0))));
    return f;
}

static void tiles_row_sums(void **state) {
    (void)state;
    tx_arena *a = tx_arena_new(0);
    tx_lir_sched_opts o;
    tx_lir_sched_defaults(&o, 8);
    o.min_par_work = 0;
    /* the sums move into accumulators, 32 per tile (8 vectors of 4 or 4
     * of 8 doubles, about 8 per row); the rows loop stays parallel, each
     * chunk with its own row */
    tx_lir_func *f = rowsum_kernel(a, 6, 5, 40, false);
    assert_true(tx_lir_schedule(f, &o) >= 1);
    char *text = tx_lir_str(f);
    if (!strstr(text, "/32 in 0..1")) fprintf(stderr, "%s", text);
    assert_non_null(strstr(text, "/32 in 0..1"));
    assert_null(strstr(text, "%s[w] = %s[w] +"));
    assert_non_null(strstr(text, "parallel for i in 0..6 private %s"));
    free(text);
    const char *why = NULL;
    assert_true(tx_lir_verify(f, &why));
    /* not when the sums read the row, nor without tiles */
    f = rowsum_kernel(a, 6, 5, 40, true);
    tx_lir_schedule(f, &o);
    text = tx_lir_str(f);
    assert_null(strstr(text, "/32"));
    free(text);
    o.jam_width = 0;
    f = rowsum_kernel(a, 6, 5, 40, false);
    tx_lir_schedule(f, &o);
    text = tx_lir_str(f);
    assert_null(strstr(text, "/32"));
    free(text);

    /* values, compiled (scheduled by default, 2 threads) against the loops in C */
    tx_jit *j = session(16, 0);
    txrt_set_threads(2);
    for (int rr = 0; rr < 2; rr++) {
        for (int64_t nw = 3; nw <= 70; nw += 67 - 33 * rr) {
            int64_t ni = 7, na = 5;
            double x[7 * 5], k[5 * 70], got[7 * 70], row[70], want[7 * 70];
            for (int64_t q = 0; q < ni * na; q++) x[q] = 0.5 - 0.125 * (double)((q * 7) % 9);
            for (int64_t q = 0; q < na * nw; q++) k[q] = 1.0 / (double)(q + 3) - 0.25 * (double)(q % 4);
            for (int64_t i = 0; i < ni; i++) {
                double s[70] = { 0 };
                for (int64_t av = 0; av < na; av++)
                    for (int64_t w = 0; w < nw; w++) s[w] = s[w] + (x[i * na + av] * k[av * nw + w] + (rr ? s[0] : 0));
                for (int64_t w = 0; w < nw; w++) want[i * nw + w] = 2 * s[w];
            }
            tx_kernel_fn kf = tx_jit_compile(j, rowsum_kernel(a, ni, na, nw, rr), NULL);
            assert_non_null(kf);
            void *bufs[4] = { got, row, x, k };
            kf(bufs);
            for (int64_t q = 0; q < ni * nw; q++) {
                if (fabs(got[q] - want[q]) > 1e-13 * (1 + fabs(want[q])))
                    fprintf(stderr, "nw %lld read %d: o[%lld] = %.17g, want %.17g\\n", (long long)nw, rr, (long long)q,
                            got[q], want[q]);
                assert_true(fabs(got[q] - want[q]) <= 1e-13 * (1 + fabs(want[q])));
            }
        }
    }
    txrt_set_threads(0);
    tx_jit_free(j);
    tx_arena_free(a);
}

/* ---- vector lanes (ir/lir_lanes.c; emitted by codegen/llvm.c) ------------------- */

static int lane_groups(const tx_lir_func *f, int vec_bytes) {
    tx_lir_lanes *L = tx_lir_lanes_find(f, vec_bytes);
    assert_non_null(L);
    int n = tx_lir_lanes_count(L);
    tx_lir_lanes_free(L);
    return n;
}

static tx_lir_func *tiled(tx_arena *a, tenv *env, const char *text, const char *ranges) {
    tx_lir_sched_opts o;
    tx_lir_sched_defaults(&o, 8);   /* jam 16, tiles of 4 rows: the AVX-512 schedule */
    o.parallel = false;
    o.min_tile_work = 0;
    tx_lir_func *f = lower(a, env, text, ranges);
    assert_true(tx_lir_schedule(f, &o) >= 1);
    return f;
}

/* Two accumulations, a0 += 2*X[0] and a1 += 2*X[1], stored to o[0], o[1];
 * between: nothing, a2 += a0 (which a0's step may not move past), or
 * o[0] = a2 between the stores (which o[0] = a0 may not move past: the
 * later store wins). */
static tx_lir_func *pair_kernel(tx_arena *a, int between) {
    tx_lir_func *f = tx_lir_func_new(a, "o");
    int64_t two = 2, four = 4;
    int o = tx_lir_add_buf(f, "o", TXRT_F64, 1, &two, true);
    int x = tx_lir_add_buf(f, "X", TXRT_F64, 1, &four, false);
    int a0 = tx_lir_add_acc(f, TX_RED_SUM, TXRT_F64), a1 = tx_lir_add_acc(f, TX_RED_SUM, TXRT_F64);
    int a2 = tx_lir_add_acc(f, TX_RED_SUM, TXRT_F64);
    tx_lir_acc_init(f, &f->body, a0);
    tx_lir_acc_init(f, &f->body, a1);
    tx_lir_acc_init(f, &f->body, a2);
    tx_lir_affine at[2] = { tx_lir_affine_make(f, 0, NULL, NULL, 0), tx_lir_affine_make(f, 0, NULL, NULL, 1) };
    tx_lir_accum(f, &f->body, a0, tx_lir_binary(f, TX_TOP_MUL, tx_lir_const(f, TXRT_F64, 2, 0), tx_lir_load(f, x, at[0])));
    if (between == 1) tx_lir_accum(f, &f->body, a2, tx_lir_accref(f, a0));
    tx_lir_accum(f, &f->body, a1, tx_lir_binary(f, TX_TOP_MUL, tx_lir_const(f, TXRT_F64, 2, 0), tx_lir_load(f, x, at[1])));
    tx_lir_store(f, &f->body, o, at[0], tx_lir_accref(f, a0));
    if (between == 2) tx_lir_store(f, &f->body, o, at[0], tx_lir_accref(f, a2));
    tx_lir_store(f, &f->body, o, at[1], tx_lir_accref(f, a1));
    return f;
}

/* R[1+t] = X[1+t] + R[shift+t] for lanes t = 0, 1 (in that order): with
 * shift 0 lane 1 reads what lane 0 stored (a running sum: not lanes of
 * one vector); with shift 1 each lane updates its own element. */
static tx_lir_func *chain_kernel(tx_arena *a, int shift) {
    tx_lir_func *f = tx_lir_func_new(a, "R");
    int64_t four = 4;
    int r = tx_lir_add_buf(f, "R", TXRT_F64, 1, &four, true);
    int x = tx_lir_add_buf(f, "X", TXRT_F64, 1, &four, false);
    for (int t = 0; t < 2; t++) {
        tx_lir_expr *v = tx_lir_binary(f, TX_TOP_ADD, tx_lir_load(f, x, tx_lir_affine_make(f, 0, NULL, NULL, 1 + t)),
                                       tx_lir_load(f, r, tx_lir_affine_make(f, 0, NULL, NULL, shift + t)));
        tx_lir_store(f, &f->body, r, tx_lir_affine_make(f, 0, NULL, NULL, 1 + t), v);
    }
    return f;
}

static void finds_vector_lanes(void **state) {
    (void)state;
    tx_arena *a = tx_arena_new(0);
    tenv env = { 0 };
    tenv_add(&env, "X", TXRT_F64, 2, (int64_t[]){ 3, 42 }, -1, 1, 1);
    tenv_add(&env, "W", TXRT_F64, 3, (int64_t[]){ 8, 3, 3 }, -1, 1, 2);
    tenv_add(&env, "A", TXRT_F64, 2, (int64_t[]){ 5, 8 }, -1, 1, 3);
    tenv_add(&env, "B", TXRT_F64, 2, (int64_t[]){ 5, 32 }, -1, 1, 4);
    /* conv1d's tile (4 rows of o x 16 of i): its 64 accumulations and 64
     * stores are 8 + 8 vectors of 8 doubles, 16 + 16 of 4; the 8 columns
     * left over (40 = 2 x 16 + 8) are a tile of their own, 4 + 4 vectors
     * of 8, 8 + 8 of 4 */
    tx_lir_func *f = tiled(a, &env, "Y[o,i] = X[c,i+k]*W[o,c,k]", "o:8 i:40 c:3 k:3");
    if (lane_groups(f, 64) != 24) tx_lir_print(stderr, f);
    assert_int_equal(lane_groups(f, 64), 16 + 8);
    assert_int_equal(lane_groups(f, 32), 32 + 16);
    assert_int_equal(lane_groups(f, 8), 0);   /* no vectors */
    /* A[k,i] steps along i, B[k,j] along j: the lanes go along j, the
     * direction E is stored in, so the stores are vectors too */
    f = tiled(a, &env, "E[i,j] = A[k,i]*B[k,j]", "i:8 j:32 k:5");
    assert_int_equal(lane_groups(f, 32), 32);
    assert_int_equal(lane_groups(f, 64), 16);

    /* a row shorter than two jams is jammed whole: 20 = 8 + 8 + 4 lanes
     * (5 x 4 with 32-byte vectors), 12 = 8 + 4, in each of the 4 rows,
     * accumulations and stores; a row shorter than a vector is no tile */
    tenv_add(&env, "P", TXRT_F64, 2, (int64_t[]){ 8, 5 }, -1, 1, 5);
    tenv_add(&env, "R", TXRT_F64, 2, (int64_t[]){ 5, 20 }, -1, 1, 6);
    tenv_add(&env, "S", TXRT_F64, 2, (int64_t[]){ 5, 12 }, -1, 1, 7);
    tenv_add(&env, "T", TXRT_F64, 2, (int64_t[]){ 5, 7 }, -1, 1, 8);
    f = tiled(a, &env, "E[i,j] = P[i,k]*R[k,j]", "i:8 j:20 k:5");
    assert_int_equal(lane_groups(f, 64), 4 * 2 * 3);
    assert_int_equal(lane_groups(f, 32), 4 * 2 * 5);
    f = tiled(a, &env, "E[i,j] = P[i,k]*S[k,j]", "i:8 j:12 k:5");
    assert_int_equal(lane_groups(f, 64), 4 * 2 * 2);
    {
        tx_lir_sched_opts o;
        tx_lir_sched_defaults(&o, 8);
        o.parallel = false;
        o.min_tile_work = 0;
        f = lower(a, &env, "E[i,j] = P[i,k]*T[k,j]", "i:8 j:7 k:5");
        assert_int_equal(tx_lir_schedule(f, &o), 0);
    }
    {
        tx_jit *js[2] = { session(0, -1), session(16, -1) };
        assert_int_equal(diff_sessions(js, 2, a, &env, "E[i,j] = P[i,k]*R[k,j]", "i:8 j:20 k:5"), 0);
        assert_int_equal(diff_sessions(js, 2, a, &env, "E[i,j] = P[i,k]*S[k,j]", "i:8 j:12 k:5"), 0);
        tx_jit_free(js[0]);
        tx_jit_free(js[1]);
    }

    /* a flat reduction whose strip of B fits 64 KiB gets a tile twice as
     * wide (j/32: 16 vector accumulators); a longer one, or a nest of
     * reduction loops (conv1d above: i/16), keeps j/16 */
    tenv_add(&env, "G", TXRT_F64, 2, (int64_t[]){ 8, 300 }, -1, 1, 9);
    tenv_add(&env, "H", TXRT_F64, 2, (int64_t[]){ 300, 64 }, -1, 1, 10);
    {
        f = tiled(a, &env, "E[i,j] = G[i,k]*H[k,j]", "i:8 j:64 k:40");
        char *t = tx_lir_str(f);
        assert_non_null(strstr(t, "for j/32 in 0..2"));
        free(t);
        f = tiled(a, &env, "E[i,j] = G[i,k]*H[k,j]", "i:8 j:64 k:300");
        t = tx_lir_str(f);
        assert_non_null(strstr(t, "for j/16 in 0..4"));
        free(t);
        tx_jit *js[2] = { session(0, -1), session(16, -1) };
        assert_int_equal(diff_sessions(js, 2, a, &env, "E[i,j] = G[i,k]*H[k,j]", "i:8 j:64 k:40"), 0);
        tx_jit_free(js[0]);
        tx_jit_free(js[1]);
    }

    /* accumulations and stores side by side; what may not move past what */
    assert_int_equal(lane_groups(pair_kernel(a, 0), 16), 2);
    assert_int_equal(lane_groups(pair_kernel(a, 1), 16), 0);
    assert_int_equal(lane_groups(pair_kernel(a, 2), 16), 1);   /* the accumulations only */
    assert_int_equal(lane_groups(chain_kernel(a, 0), 16), 0);
    assert_int_equal(lane_groups(chain_kernel(a, 1), 16), 1);

    /* compiled, these kernels compute what the statements say in order */
    tx_jit *j = session(16, -1);
    for (int between = 0; between < 3; between++) {
        double x[4] = { 1.5, -2.25, 4, 8 }, o[2] = { 0, 0 };
        tx_kernel_fn kf = tx_jit_compile(j, pair_kernel(a, between), NULL);
        assert_non_null(kf);
        void *bufs[2] = { o, x };
        kf(bufs);
        assert_true(o[0] == (between == 2 ? 0.0 : 3.0) && o[1] == -4.5);
    }
    for (int shift = 0; shift < 2; shift++) {
        double x[4] = { 1, 2, 4, 8 }, r[4] = { 16, 32, 64, 128 };
        tx_kernel_fn kf = tx_jit_compile(j, chain_kernel(a, shift), NULL);
        assert_non_null(kf);
        void *bufs[2] = { r, x };
        kf(bufs);
        double want[4] = { 16, 32, 64, 128 };
        for (int t = 0; t < 2; t++) want[1 + t] = x[1 + t] + want[shift + t];
        for (int t = 0; t < 4; t++) assert_true(r[t] == want[t]);
    }
    /* the conv tile compiles to vector loads and broadcasts, not to the
     * gathers across rows LLVM's SLP vectoriser made of it */
    const char *err = NULL;
    tx_tir_stmt *def = tdef_parse(a, "Y[o,i] = X[c,i+k]*W[o,c,k]", "o:8 i:40 c:3 k:3", &err);
    tx_type out = { 0 };
    out.dtype = TXRT_F64;
    out.rank = 2;
    out.dims[0] = 8;
    out.dims[1] = 40;
    tx_lookup lk = { tenv_lookup, &env };
    char *ir = tx_jit_emit_def(j, def, &out, &lk, TX_CG_EMIT_LLVM, NULL);
    assert_non_null(ir);
    assert_null(strstr(ir, "masked.gather"));
    free(ir);
    tx_jit_free(j);
    tenv_free(&env);
    tx_arena_free(a);
}

/* Kernels with parallel loops appear as such in the emitted IR, and big
 * enough ones are parallel by default. */
static void emitted_parallel_code(void **state) {
    (void)state;
    tx_jit *j = session(16, 40000);
    tx_arena *a = tx_arena_new(0);
    tenv env = { 0 };
    tenv_add(&env, "X", TXRT_F64, 2, (int64_t[]){ 300, 400 }, -1, 1, 1);
    const char *err = NULL;
    tx_tir_stmt *def = tdef_parse(a, "r[i] = sum[j](X[i,j])", "i:300 j:400", &err);
    tx_type out = { 0 };
    out.dtype = TXRT_F64;
    out.rank = 1;
    out.dims[0] = 300;
    tx_lookup lk = { tenv_lookup, &env };
    char *ir = tx_jit_emit_def(j, def, &out, &lk, TX_CG_EMIT_LLVM, NULL);
    assert_non_null(ir);
    assert_non_null(strstr(ir, "@txrt_parallel_for"));
    assert_non_null(strstr(ir, "fadd reassoc contract <")); /* the row sums vectorise */
    free(ir);
    tx_jit_set_parallel(j, -1);
    ir = tx_jit_emit_def(j, def, &out, &lk, TX_CG_EMIT_LLVM, NULL);
    assert_null(strstr(ir, "@txrt_parallel_for"));
    free(ir);
    tenv_free(&env);
    tx_arena_free(a);
    tx_jit_free(j);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(covers_every_index_once),
        cmocka_unit_test(chunks_are_contiguous),
        cmocka_unit_test(nested_calls),
        cmocka_unit_test(concurrent_callers_and_restart),
        cmocka_unit_test(marks_output_loops),
        cmocka_unit_test(refuses_dependent_loops),
        cmocka_unit_test(schedules_keep_values),
        cmocka_unit_test(emitted_parallel_code),
        cmocka_unit_test(interleaves_row_sums),
        cmocka_unit_test(jams_fused_rows),
        cmocka_unit_test(finds_vector_lanes),
        cmocka_unit_test(tiles_row_sums),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    tx_cg_shutdown();
    return rc;
}
