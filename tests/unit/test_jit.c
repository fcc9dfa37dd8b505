/*
 * test_jit.c -- differential tests of the LLVM JIT backend.
 *
 * Each definition (built from text by jit_testutil.h, with explicit index
 * ranges) runs through the JIT's evaluator backend (tx_jit_backend) and
 * through an independent oracle that evaluates it per element in double /
 * double complex while bounding its rounding error; results must agree
 * within 16x that bound (so reassociated reductions pass and wrong code
 * does not).  A seeded generator adds a few hundred random contractions
 * and expressions.  Further tests cover the kernel cache, declines, the
 * emitted IR (reassociation only on reductions, vector code) and, with
 * TX_JIT_BENCH=1 in the environment, the speed of a 256^3 matmul.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <time.h>

#include "codegen/codegen.h"
#include "frontend/sema.h"
#include "ir/interp.h"
#include "ir/lir.h"
#include "jit_testutil.h"

/* Until ir/interp.c installs backends, the program-level tests skip. */
#pragma weak tx_interp_set_backend

typedef struct fixture {
    tx_arena *a;
    tenv env;
    tx_jit *jit;
} fixture;

static tx_jit *shared_jit; /* one session for the whole file, as txc has */

static int group_setup(void **state) {
    shared_jit = tx_jit_new(3, NULL);
    if (!shared_jit) return -1;
    tx_jit_set_verify(shared_jit, true);
    /* jam by 2, so the small shapes of these tests exercise tx_lir_jam too */
    tx_jit_set_jam(shared_jit, 2);
    return 0;
}

static int group_teardown(void **state) {
    tx_jit_free(shared_jit);
    tx_cg_shutdown();
    return 0;
}

static void add_env(tenv *e) {
    tenv_add(e, "A", TXRT_F64, 2, (int64_t[]){ 6, 5 }, -1, 1, 1);
    tenv_add(e, "B", TXRT_F64, 2, (int64_t[]){ 5, 7 }, -1, 1, 2);
    tenv_add(e, "P", TXRT_F64, 2, (int64_t[]){ 6, 5 }, 0.5, 2, 3);
    tenv_add(e, "X", TXRT_F64, 1, (int64_t[]){ 16 }, -1, 1, 4);
    tenv_add(e, "W", TXRT_F64, 1, (int64_t[]){ 4 }, -1, 1, 5);
    tenv_add(e, "T", TXRT_F64, 3, (int64_t[]){ 3, 4, 5 }, -1, 1, 6);
    tenv_add(e, "F", TXRT_F32, 2, (int64_t[]){ 6, 5 }, -1, 1, 7);
    tenv_add(e, "G", TXRT_F32, 2, (int64_t[]){ 5, 7 }, -1, 1, 8);
    tenv_add(e, "Z", TXRT_C128, 2, (int64_t[]){ 6, 5 }, -1, 1, 9);
    tenv_add(e, "Y", TXRT_C128, 2, (int64_t[]){ 5, 7 }, -1, 1, 10);
    tenv_add(e, "Q", TXRT_C64, 2, (int64_t[]){ 6, 5 }, -1, 1, 11);
    tenv_add(e, "s", TXRT_F64, 0, NULL, -1, 1, 12);
    tenv_add(e, "zs", TXRT_C128, 0, NULL, -1, 1, 13);
    tenv_add(e, "fs", TXRT_F32, 0, NULL, -1, 1, 14);
}

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    fx->a = tx_arena_new(0);
    fx->jit = shared_jit;
    add_env(&fx->env);
    *state = fx;
    return 0;
}

static int teardown(void **state) {
    fixture *fx = *state;
    tenv_free(&fx->env);
    tx_arena_free(fx->a);
    free(fx);
    return 0;
}

/* Run one definition through the backend; 0 = ran, -1 = declined.  The
 * output is returned in *outp (caller releases). */
static int jit_run(tx_jit *j, const tx_tir_stmt *def, tenv *env, txrt_dtype dt, txrt_tensor **outp) {
    txrt_tensor *out = tu_new_out(def, dt);
    tx_def_backend be = tx_jit_backend(j);
    int rc = be.run_def(be.self, def, out, tenv_get, env, NULL);
    *outp = out;
    return rc;
}

/* Differential check of one definition; returns false (after printing)
 * on a mismatch or an unexpected decline. */
static bool diff_check(tx_jit *j, tx_arena *a, tenv *env, const char *text, const char *ranges) {
    const char *err = NULL;
    tx_tir_stmt *def = tdef_parse(a, text, ranges, &err);
    if (!def) {
        print_error("parse %s: %s\n", text, err);
        return false;
    }
    txrt_dtype dt = tu_def_dtype(def, env);
    txrt_tensor *out = NULL;
    int rc = jit_run(j, def, env, dt, &out);
    if (rc != 0) {
        print_error("%s [%s]: declined: %s\n", text, ranges, tx_jit_last_decline(j));
        txrt_release(out);
        return false;
    }
    double u = 0x1p-53; /* f32 values are computed in double too, rounded once on store */
    double complex *vals = calloc((size_t)out->size + 1, sizeof *vals);
    double *errs = calloc((size_t)out->size + 1, sizeof *errs);
    bool ok = ref_run(def, env, u, vals, errs);
    if (!ok) print_error("%s: the oracle cannot evaluate it\n", text);
    char msg[256] = "";
    int bad = ok ? tu_compare(out, vals, errs, msg, sizeof msg) : 0;
    if (bad) {
        print_error("%s [%s]: %d mismatches; %s\n", text, ranges, bad, msg);
        ok = false;
    }
    free(vals);
    free(errs);
    txrt_release(out);
    return ok;
}

typedef struct dcase {
    const char *text, *ranges;
} dcase;

static void run_cases(void **state, const dcase *cases, size_t n) {
    fixture *fx = *state;
    int failures = 0;
    for (size_t k = 0; k < n; k++)
        if (!diff_check(fx->jit, fx->a, &fx->env, cases[k].text, cases[k].ranges)) failures++;
    assert_int_equal(failures, 0);
}

#define RUN(state, cases) run_cases(state, cases, sizeof cases / sizeof cases[0])

static void contractions(void **state) {
    static const dcase cases[] = {
        { "C[i,j] = A[i,k]*B[k,j]", "i:6 j:7 k:5" },
        { "C[j,i] = A[i,k]*B[k,j]", "i:6 j:7 k:5" },
        { "t = A[i,k]*A[i,k]", "i:6 k:5" },
        { "t = A[i,i]", "i:5" },
        { "v[i] = A[i,k]*B[k,j]*X[j]", "i:6 j:7 k:5" },
        { "O[a,b,c] = T[a,b,c] * T[a,b,c] + s", "a:3 b:4 c:5" },
        { "O[b] = T[a,b,c] * X[a+c]", "a:3 b:4 c:5" },
        { "C[i,j] = sum[k](A[i,k]*B[k,j]) + s", "i:6 j:7 k:5" },
        { "K[i,j] = A[i,k]*A[j,k]", "i:6 j:6 k:5" },
        { "O[i,j] = A[i,k]*B[k,j] / sum[k](A[i,k]*A[i,k])", "i:6 j:7 k:5" },
        { "O[i,j] = exp(sum[k](A[i,k]*A[j,k])) / sum[m](exp(sum[k](A[i,k]*A[m,k])))", "i:6 j:6 m:6 k:5" },
    };
    RUN(state, cases);
}

static void reductions(void **state) {
    static const dcase cases[] = {
        { "M[i] = max[k](A[i,k])", "i:6 k:5" },
        { "M[i] = min[k](A[i,k])", "i:6 k:5" },
        { "M[i] = prod[k](P[i,k])", "i:6 k:5" },
        { "M[i] = sum[k](A[i,k])", "i:6 k:5" },
        { "m = max[i,k](A[i,k])", "i:6 k:5" },
        { "m = min[i,k](A[i,k] * P[i,k])", "i:6 k:5" },
        { "N[i] = max[j](sum[k](A[i,k]*B[k,j]))", "i:6 j:7 k:5" },
        { "N[i] = min[j](max[k](A[i,k]*B[k,j]) - prod[k](B[k,j]))", "i:6 j:7 k:5" },
        { "N[i] = sum[k](A[i,k] * max[k](A[i,k]))", "i:6 k:5" }, /* shadowed k */
        { "N[i] = sum[k](A[i,k]) * sum[k](A[i,k]) - sum[k](P[i,k])", "i:6 k:5" },
        { "N[i] = sum[k](X[k]) + i", "i:3 k:0" },                /* empty sum */
        { "N[i] = max[k](X[k])", "i:3 k:0" },                    /* empty max: -inf */
        { "N[i] = prod[k](X[k]) + min[k](X[k])", "i:3 k:0" },
    };
    RUN(state, cases);
}

static void affine_subscripts(void **state) {
    static const dcase cases[] = {
        { "Y[i] = X[i+k]*W[k]", "i:13 k:4" },
        { "Y[i] = X[i+k]*W[3-k]", "i:13 k:4" },
        { "D[i] = X[i+1] - X[i-1]", "i:1:14" },
        { "D[i] = X[i+2] - 2*X[i] + X[i-2] + i", "i:2:12" },
        { "E[i] = X[2*i+1] + X[-1] + X[0]", "i:7" },
        { "E[i,j] = A[i,j] - A[-1,-1]", "i:6 j:5" },
        { "S[i,j] = T[1, i+j, 2*j]", "i:2 j:3" },
        { "U[i] = X[15-i]", "i:16" },
    };
    RUN(state, cases);
}

static void elementwise_real(void **state) {
    static const dcase cases[] = {
        { "U[i,k] = exp(A[i,k])", "i:6 k:5" },
        { "U[i,k] = log(P[i,k])", "i:6 k:5" },
        { "U[i,k] = sqrt(P[i,k])", "i:6 k:5" },
        { "U[i,k] = abs(A[i,k])", "i:6 k:5" },
        { "U[i,k] = sin(3*A[i,k]) + cos(3*A[i,k])", "i:6 k:5" },
        { "U[i,k] = tan(A[i,k])", "i:6 k:5" },
        { "U[i,k] = tanh(2*A[i,k])", "i:6 k:5" },
        { "U[i,k] = sigmoid(4*A[i,k])", "i:6 k:5" },
        { "U[i,k] = relu(A[i,k])", "i:6 k:5" },
        { "U[i,k] = sign(A[i,k]) + sign(A[i,k] - A[i,k])", "i:6 k:5" },
        { "U[i,k] = floor(3*A[i,k]) + ceil(3*A[i,k])", "i:6 k:5" },
        { "U[i,k] = -A[i,k] + conj(A[i,k]) + real(A[i,k]) + imag(A[i,k])", "i:6 k:5" },
        { "U[i,k] = A[i,k] - P[i,k] * A[i,k] / P[i,k]", "i:6 k:5" },
        { "U[i,k] = P[i,k] ^ A[i,k] + pow(P[i,k], 2.5) + A[i,k]^2 + A[i,k]^3", "i:6 k:5" },
        { "U[i,k] = max(A[i,k], 0.3) + min(A[i,k], P[i,k] - 1)", "i:6 k:5" },
        { "U[i,k] = (A[i,k] < 0.2) + 2*(A[i,k] <= 0.2) + 4*(A[i,k] > 0) + 8*(A[i,k] >= 0)", "i:6 k:5" },
        { "U[i,k] = (A[i,k] == A[i,0]) + 2*(A[i,k] != A[0,k])", "i:6 k:5" },
        { "U[i,k] = where(A[i,k] > 0, A[i,k], P[i,k]) + where(A[i,k], 1, 2)", "i:6 k:5" },
        { "U[i,k] = i*10 + k - A[i,k]", "i:6 k:5" },
        { "U[i,k] = (i == k) + (i < k) * s", "i:6 k:5" },
        { "U[i,k] = A[i,k] / 0 + log(A[i,k] - A[i,k])", "i:6 k:5" }, /* inf, -inf, nan */
    };
    RUN(state, cases);
}

static void single_precision(void **state) {
    static const dcase cases[] = {
        { "C[i,j] = F[i,k]*G[k,j]", "i:6 j:7 k:5" },
        { "C[i,j] = F[i,k]*B[k,j]", "i:6 j:7 k:5" },        /* f32 x f64 -> f64 */
        { "U[i,k] = exp(F[i,k]) * 2 + sqrt(abs(F[i,k])) - fs", "i:6 k:5" },
        { "U[i,k] = tanh(F[i,k]) + tan(F[i,k]) + sigmoid(F[i,k]) + max(F[i,k], 0)", "i:6 k:5" },
        { "U[i,k] = F[i,k] + i", "i:6 k:5" },
        { "m[i] = max[k](F[i,k]) - min[k](F[i,k]) + prod[k](F[i,k])", "i:6 k:5" },
        { "U[i,k] = Q[i,k] * 2 + Q[i,k] * F[i,k]", "i:6 k:5" },
        { "C[i,j] = Q[i,k] * conj(Q[j,k])", "i:6 j:6 k:5" },
        { "U[i,k] = exp(Q[i,k]) + abs(Q[i,k]) + real(Q[i,k]) * imag(Q[i,k])", "i:6 k:5" },
        /* regressions (tests/programs/f32.tx): literals keep full precision
         * and single values are rounded once, on store */
        { "U[i,k] = abs(Q[i,k] - (0.1+0.2j)) + abs(F[i,k] - 0.1)", "i:6 k:5" },
        { "U[i,k] = F[i,k] * F[i,k] - 0.01 + 2^(-30)", "i:6 k:5" },
    };
    RUN(state, cases);
}

static void complex_values(void **state) {
    static const dcase cases[] = {
        { "C[i,j] = Z[i,k]*Y[k,j]", "i:6 j:7 k:5" },
        { "C[i,j] = Z[i,k]*B[k,j] + 2j", "i:6 j:7 k:5" },
        { "U[i,k] = Z[i,k] + A[i,k] - Z[i,k] * zs / (Z[i,k] + 3)", "i:6 k:5" },
        { "U[i,k] = exp(Z[i,k]) + log(Z[i,k]) + sqrt(Z[i,k])", "i:6 k:5" },
        { "U[i,k] = sqrt(-P[i,k] + 0j) + sqrt(P[i,k] + 0j) + sqrt(A[i,k] * 1j)", "i:6 k:5" },
        { "U[i,k] = abs(Z[i,k]) + real(Z[i,k]) + imag(Z[i,k])", "i:6 k:5" },
        { "U[i,k] = conj(Z[i,k]) - Z[i,k]", "i:6 k:5" },
        { "U[i,k] = sin(Z[i,k]) + cos(Z[i,k]) + tan(Z[i,k]) + tanh(Z[i,k])", "i:6 k:5" },
        { "U[i,k] = sigmoid(Z[i,k]) - Z[i,k]", "i:6 k:5" },
        { "U[i,k] = Z[i,k]^2 + Z[i,k]^3 + Z[i,k]^(-3) + Z[i,k]^7 + Z[i,k]^0", "i:6 k:5" },
        { "U[i,k] = Z[i,k]^Z[i,k] + Z[i,k]^0.5 + pow(Z[i,k], A[i,k])", "i:6 k:5" },
        { "U[i,k] = (Z[i,k] == Z[i,0]) + 2*(Z[i,k] != Z[0,k])", "i:6 k:5" },
        { "U[i,k] = where(Z[i,k] - Z[i,k], 1, Z[i,k]) + where(A[i,k] > 0, Z[i,k], 2)", "i:6 k:5" },
        { "m[i] = sum[k](Z[i,k]) * prod[k](Z[i,k])", "i:6 k:5" },
        { "t = Z[i,k] * conj(Z[i,k])", "i:6 k:5" },
        { "U[i,k] = Z[i,k] / 0", "i:6 k:5" },
        /* numpy's lexicographic order */
        { "U[i,k] = (Z[i,k] < Z[i,0]) + 2*(Z[i,k] <= Z[0,k]) + 4*(Z[i,k] > Z[1,1]) + 8*(Z[i,k] >= Z[i,0])", "i:6 k:5" },
        { "U[i,k] = (real(Z[i,k]) + 0j < Z[i,k]) + 2*(real(Z[i,k]) + 0j >= Z[i,k])", "i:6 k:5" },
        { "U[i,k] = max(Z[i,k], Z[i,0]) + min(Z[i,k], real(Z[i,k]) + 0j) + relu(Z[i,k]) + sign(Z[i,k])", "i:6 k:5" },
        { "U[i,k] = sign(real(Z[i,k]) + 0j) + sign(Z[i,k] - Z[i,k]) + floor(3*Z[i,k]) + ceil(3*Z[i,k])", "i:6 k:5" },
        { "m[i] = max[k](Z[i,k]) + min[k](Z[i,k]) + max[k](real(Z[i,0]) + 0j)", "i:6 k:5" },
    };
    RUN(state, cases);
}

/* Larger shapes with the default jam width (remainder loops included). */
static void jammed_default_width(void **state) {
    fixture *fx = *state;
    tx_jit *j = tx_jit_new(3, NULL);
    tenv_add(&fx->env, "M1", TXRT_F64, 2, (int64_t[]){ 23, 41 }, -1, 1, 31);
    tenv_add(&fx->env, "M2", TXRT_F64, 2, (int64_t[]){ 41, 53 }, -1, 1, 32);
    tenv_add(&fx->env, "M3", TXRT_C128, 2, (int64_t[]){ 41, 53 }, -1, 1, 33);
    tenv_add(&fx->env, "M4", TXRT_F32, 2, (int64_t[]){ 41, 53 }, -1, 1, 34);
    static const dcase cases[] = {
        { "C[i,j] = M1[i,k]*M2[k,j]", "i:23 j:53 k:41" },
        { "C[i,j] = M1[i,k]*M3[k,j] + i - j", "i:23 j:53 k:41" },
        { "C[i,j] = exp(sum[k](M1[i,k]*M4[k,j]) / 8) / sum[k](M1[i,k])", "i:23 j:53 k:41" },
        { "C[i,j] = max[k](M1[i,k] - M2[k,j]) * prod[k](1 + M2[k,j] / 50)", "i:23 j:53 k:41" },
        { "C[i,j] = sum[k](M1[i,k]*M2[k,j+1]) * (j == 3)", "i:23 j:52 k:41" },
        { "D[j,i] = M1[i,k]*M2[k,j]", "i:23 j:53 k:41" },   /* jams i */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        assert_true(diff_check(j, fx->a, &fx->env, cases[k].text, cases[k].ranges));
    tx_jit_free(j);
}

/* The same definition with the same shapes compiles once. */
static void cache(void **state) {
    fixture *fx = *state;
    tx_jit *j = tx_jit_new(2, NULL);
    assert_non_null(j);
    const char *err;
    tx_tir_stmt *def = tdef_parse(fx->a, "C[i,j] = A[i,k]*B[k,j] + 1", "i:6 j:7 k:5", &err);
    for (int r = 0; r < 1000; r++) {
        txrt_tensor *out;
        assert_int_equal(jit_run(j, def, &fx->env, TXRT_F64, &out), 0);
        txrt_release(out);
    }
    tx_jit_stats st;
    tx_jit_get_stats(j, &st);
    assert_int_equal(st.ncompiled, 1);
    assert_int_equal(st.ncache_hits, 999);
    assert_int_equal(st.nruns, 1000);
    /* other shapes compile a second kernel, and that one is cached too */
    tx_tir_stmt *def2 = tdef_parse(fx->a, "C[i,j] = A[i,k]*B[k,j] + 1", "i:6 j:7 k:4", &err);
    for (int r = 0; r < 2; r++) {
        txrt_tensor *out;
        assert_int_equal(jit_run(j, def2, &fx->env, TXRT_F64, &out), 0);
        txrt_release(out);
    }
    tx_jit_get_stats(j, &st);
    assert_int_equal(st.ncompiled, 2);
    assert_int_equal(st.ncache_hits, 1000);
    assert_true(st.compile_ms > 0);
    /* per kernel: the median of two is their mean, the max at least that
     * and both within the total */
    assert_true(st.compile_median_ms > 0);
    assert_true(st.compile_max_ms >= st.compile_median_ms);
    assert_true(st.compile_max_ms <= st.compile_ms + 1e-9);
    assert_true(fabs(2 * st.compile_median_ms - st.compile_ms) < 1e-6 * st.compile_ms);
    tx_jit_free(j);
}

/* Definitions the JIT cannot compile are left to the evaluator. */
static void declines(void **state) {
    fixture *fx = *state;
    const char *err;
    txrt_tensor *out;
    tx_tir_stmt *def = tdef_parse(fx->a, "q[i] = max[k](X[k])", "i:6", &err);
    assert_int_equal(jit_run(fx->jit, def, &fx->env, TXRT_F64, &out), -1);
    assert_non_null(strstr(tx_jit_last_decline(fx->jit), "range of index k is unknown"));
    txrt_release(out);
    def = tdef_parse(fx->a, "q[i] = X[i+k]", "i:16 k:2", &err);
    assert_int_equal(jit_run(fx->jit, def, &fx->env, TXRT_F64, &out), -1);
    assert_non_null(strstr(tx_jit_last_decline(fx->jit), "outside"));
    txrt_release(out);
}

static char *emit_of(fixture *fx, const char *text, const char *ranges, tx_cg_emit_kind kind) {
    const char *err, *why;
    tx_tir_stmt *def = tdef_parse(fx->a, text, ranges, &err);
    assert_non_null(def);
    tx_type ot;
    memset(&ot, 0, sizeof ot);
    ot.dtype = tu_def_dtype(def, &fx->env);
    ot.rank = def->nout;
    for (int k = 0; k < def->nout; k++) ot.dims[k] = def->indices[def->out_idx[k]].extent;
    tx_lookup lk = { tenv_lookup, &fx->env };
    tx_lir_func *f = tx_lir_from_def(fx->a, def, &ot, &lk, &why);
    assert_non_null(f);
    char *s = tx_jit_emit(fx->jit, f, kind, NULL);
    assert_non_null(s);
    return s;
}

/* Reductions are reassociated (and vectorised); nothing else is. */
static void emitted_code(void **state) {
    fixture *fx = *state;
    tenv_add(&fx->env, "L", TXRT_F64, 1, (int64_t[]){ 4096 }, -1, 1, 99);
    char *ir = emit_of(fx, "t = L[k] * L[k]", "k:4096", TX_CG_EMIT_LLVM);
    assert_non_null(strstr(ir, "fadd reassoc contract <"));
    assert_non_null(strstr(ir, "x double>"));
    free(ir);
    ir = emit_of(fx, "U[i] = L[i] * 2 + L[i] / 3", "i:4096", TX_CG_EMIT_LLVM);
    assert_null(strstr(ir, "reassoc"));
    assert_null(strstr(ir, "fast"));
    assert_non_null(strstr(ir, "x double>"));
    free(ir);
    char *as = emit_of(fx, "t = L[k] * L[k]", "k:4096", TX_CG_EMIT_ASM);
    assert_non_null(strstr(as, "tx_t:"));
    assert_non_null(strstr(as, "ret"));
    free(as);
}

/* How many times pat occurs in s. */
static int count_of(const char *s, const char *pat) {
    int n = 0;
    for (const char *p = s; (p = strstr(p, pat)) != NULL; p += strlen(pat)) n++;
    return n;
}

/* Small fixed-size nests stay loops at -O3 (issue: JIT compile time of a
 * typical statement).  This is a Taylor term of examples/attention/taylor.tx:
 * three loops of trip count 4 around a loop of 48.  LLVM's default<O3>
 * fully unrolls the 4x4 outer loops before vectorising, into a body of
 * ~2300 lines that GVN and SLP then take 100+ ms over; codegen/target.c
 * runs the unroller only after the vectoriser, so the loop over k is
 * vectorised once and the outer loops remain (~200 lines, a few ms).  The
 * kernel must still compute the right values. */
static void small_nests_stay_loops(void **state) {
    fixture *fx = *state;
    tenv_add(&fx->env, "S", TXRT_F64, 3, (int64_t[]){ 4, 4, 48 }, -1, 1, 31);
    tenv_add(&fx->env, "K", TXRT_F64, 2, (int64_t[]){ 48, 4 }, -1, 1, 32);
    tx_jit *j = tx_jit_new(3, NULL);   /* default scheduling, as txc run */
    assert_non_null(j);
    tx_jit *shared = fx->jit;
    fx->jit = j;
    char *ir = emit_of(fx, "R[f,a,g,k] = S[a,g,k] * K[k,f]", "f:4 a:4 g:4 k:48", TX_CG_EMIT_LLVM);
    fx->jit = shared;
    /* lines of IR, and phi nodes of an i64 (loop counters: a nest that is
     * still a loop has them) */
    int lines = count_of(ir, "\n"), loops = count_of(ir, " = phi i64 ");
    if (lines >= 600 || loops < 2) fprintf(stderr, "%s\n%d lines, %d i64 phis\n", ir, lines, loops);
    assert_true(lines < 600);
    assert_true(loops >= 2);
    free(ir);
    assert_true(diff_check(j, fx->a, &fx->env, "R[f,a,g,k] = S[a,g,k] * K[k,f]", "f:4 a:4 g:4 k:48"));
    tx_jit_free(j);
}

/* ... but a short innermost reduction is unrolled before the vectoriser
 * (codegen/llvm.c, unroll_early), so the loop around it is vectorised: no
 * horizontal sum per element of the output, which is what vectorising the
 * 24-long sum itself gives (three vector iterations and a reduce). */
static void short_reductions_unroll_first(void **state) {
    fixture *fx = *state;
    tenv_add(&fx->env, "Sq", TXRT_F64, 2, (int64_t[]){ 24, 24 }, -1, 1, 33);
    tx_jit *j = tx_jit_new(3, NULL);
    assert_non_null(j);
    tx_jit *shared = fx->jit;
    fx->jit = j;
    char *ir = emit_of(fx, "v[b] = sum[c](Sq[b,c] * Sq[c,b])", "b:24 c:24", TX_CG_EMIT_LLVM);
    fx->jit = shared;
    if (strstr(ir, "vector.reduce.fadd")) fprintf(stderr, "%s\n", ir);
    assert_null(strstr(ir, "vector.reduce.fadd"));
    free(ir);
    assert_true(diff_check(j, fx->a, &fx->env, "v[b] = sum[c](Sq[b,c] * Sq[c,b])", "b:24 c:24"));
    tx_jit_free(j);
}

/* A value bound once per iteration (the fuser's let: an accumulator
 * initialised and set inside the loop) does not make the loop a register
 * tile: `for k { v = max(-inf, sqrt(X[i,k])); s += v }` still vectorises
 * (it was marked "do not vectorise" as a tile once, and a fused softmax
 * row sum ran scalar).  Run against a plain C loop as well. */
static tx_lir_func *let_kernel(tx_arena *a) {
    tx_lir_func *f = tx_lir_func_new(a, "s");
    int out = tx_lir_add_buf(f, "s", TXRT_F64, 1, (int64_t[]){ 4 }, true);
    int xb = tx_lir_add_buf(f, "X", TXRT_F64, 2, (int64_t[]){ 4, 128 }, false);
    int i = tx_lir_add_var(f, "i"), k = tx_lir_add_var(f, "k");
    int sum = tx_lir_add_acc(f, TX_RED_SUM, TXRT_F64), let = tx_lir_add_acc(f, TX_RED_MAX, TXRT_F64);
    tx_lir_stmt *li = tx_lir_loop(f, &f->body, i, 0, 4);
    tx_lir_acc_init(f, &li->body, sum);
    tx_lir_stmt *lk = tx_lir_loop(f, &li->body, k, 0, 128);
    tx_lir_acc_init(f, &lk->body, let);
    tx_lir_affine xo = tx_lir_affine_make(f, 2, (int[]){ i, k }, (int64_t[]){ 128, 1 }, 0);
    tx_lir_accum(f, &lk->body, let, tx_lir_unary(f, TX_TOP_SQRT, tx_lir_load(f, xb, xo)));
    tx_lir_accum(f, &lk->body, sum, tx_lir_accref(f, let));
    tx_lir_store(f, &li->body, out, tx_lir_affine_make(f, 1, (int[]){ i }, (int64_t[]){ 1 }, 0),
                 tx_lir_accref(f, sum));
    return f;
}

static void let_bound_values_vectorise(void **state) {
    fixture *fx = *state;
    char *ir = tx_jit_emit(fx->jit, let_kernel(fx->a), TX_CG_EMIT_LLVM, NULL);
    assert_non_null(ir);
    if (!strstr(ir, "fadd reassoc contract <")) fprintf(stderr, "%s\n", ir);
    assert_non_null(strstr(ir, "fadd reassoc contract <"));
    free(ir);

    double x[4 * 128], s[4], want[4];
    for (int n = 0; n < 4 * 128; n++) x[n] = (n % 37) * 0.25;
    for (int r = 0; r < 4; r++) {
        want[r] = 0;
        for (int c = 0; c < 128; c++) want[r] += sqrt(x[128 * r + c]);
    }
    tx_kernel_fn kf = tx_jit_compile(fx->jit, let_kernel(fx->a), NULL);
    assert_non_null(kf);
    void *bufs[2] = { s, x };
    kf(bufs);
    for (int r = 0; r < 4; r++) assert_true(fabs(s[r] - want[r]) <= 1e-12 * want[r]);
}

/* The emit sink shows each newly compiled kernel: LIR as comments, then IR. */
static void emit_sink(void **state) {
    fixture *fx = *state;
    char *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    tx_jit *j = tx_jit_new(1, NULL);
    tx_jit_set_emit(j, o, TX_CG_EMIT_LLVM);
    const char *err;
    tx_tir_stmt *def = tdef_parse(fx->a, "v[i] = sum[k](A[i,k])", "i:6 k:5", &err);
    for (int r = 0; r < 2; r++) {
        txrt_tensor *out;
        assert_int_equal(jit_run(j, def, &fx->env, TXRT_F64, &out), 0);
        txrt_release(out);
    }
    tx_jit_set_emit(j, NULL, TX_CG_EMIT_LLVM);
    tx_jit_free(j);
    fclose(o);
    assert_non_null(strstr(buf, "; kernel v(out v: f64[6], A: f64[6,5]) {\n;   for i in 0..6 {\n"));
    assert_non_null(strstr(buf, "define void @tx_k1(ptr"));
    assert_null(strstr(buf, "tx_k2")); /* the second run hit the cache */
    free(buf);
}

/* Every optimisation level compiles correct code. */
static void opt_levels(void **state) {
    fixture *fx = *state;
    static const dcase cases[] = {
        { "C[i,j] = A[i,k]*B[k,j]", "i:6 j:7 k:5" },
        { "N[i] = max[j](sum[k](A[i,k]*B[k,j])) + prod[k](P[i,k])", "i:6 j:7 k:5" },
        { "U[i,k] = exp(Z[i,k]) / Z[i,k] + sigmoid(A[i,k])", "i:6 k:5" },
        { "D[i] = X[i+1] - X[i-1]", "i:1:14" },
    };
    for (int lvl = 0; lvl <= 3; lvl++) {
        tx_jit *j = tx_jit_new(lvl, NULL);
        assert_non_null(j);
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
            assert_true(diff_check(j, fx->a, &fx->env, cases[k].text, cases[k].ranges));
        tx_jit_free(j);
    }
}

/* ---- random differential programs ------------------------------------------ */

typedef struct gen {
    uint64_t s;
    bool lang;          /* emit the real language (bare scalars, O = ...) */
    bool isout[8];      /* lang: index is on the left (may not be reduced) */
    char buf[1024];
    size_t n;
    /* index names and extents in use */
    const char *idx[8];
    int ext[8];
    int nidx;
    int depth;
    bool cplx_ok;
} gen;

static int rnd(gen *g, int n) { return (int)(tu_rng(&g->s) % (uint64_t)n); }

static void put(gen *g, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(g->buf + g->n, sizeof g->buf - g->n, fmt, ap);
    va_end(ap);
    if (k > 0) g->n += (size_t)k;
    if (g->n >= sizeof g->buf) g->n = sizeof g->buf - 1;
}

/* Random tensors are named R0..R7 with the shapes chosen per program. */
typedef struct rtensor {
    char name[8];
    int rank;
    int dims[3];      /* index positions into gen.idx */
    int off[3];       /* affine offset on that axis */
    txrt_dtype dt;
} rtensor;

static rtensor rts[8];
static int nrts;

static void gen_access(gen *g) {
    rtensor *t = &rts[rnd(g, nrts)];
    if (g->lang && t->rank == 0) {
        put(g, "%s", t->name);
        return;
    }
    put(g, "%s[", t->name);
    for (int d = 0; d < t->rank; d++) {
        put(g, "%s%s", d ? "," : "", g->idx[t->dims[d]]);
        if (t->off[d]) put(g, "+%d", t->off[d]);
    }
    put(g, "]");
}

static void gen_expr(gen *g, int depth);

static void gen_leaf(gen *g) {
    int r = rnd(g, 10);
    if (r < 7) gen_access(g);
    else if (r < 9) put(g, "%d.%d", rnd(g, 3), rnd(g, 10));
    else put(g, "%s", g->idx[rnd(g, g->nidx)]);
}

static void gen_expr(gen *g, int depth) {
    if (depth <= 0) {
        gen_leaf(g);
        return;
    }
    int r = rnd(g, 16);
    switch (r) {
    case 0: case 1: case 2: /* product */
        put(g, "(");
        gen_expr(g, depth - 1);
        put(g, " * ");
        gen_expr(g, depth - 1);
        put(g, ")");
        break;
    case 3: case 4:
        put(g, "(");
        gen_expr(g, depth - 1);
        put(g, rnd(g, 2) ? " + " : " - ");
        gen_expr(g, depth - 1);
        put(g, ")");
        break;
    case 5: { /* explicit reduction over a fresh index that shadows or not */
        static const char *reds[] = { "sum", "max", "min", "prod" };
        const char *red = reds[rnd(g, 4)];
        int x = rnd(g, g->nidx);
        if (g->lang && g->isout[x]) { /* an output index may not be reduced */
            gen_expr(g, depth - 1);
            break;
        }
        put(g, "%s[%s](", red, g->idx[x]);
        gen_expr(g, depth - 1);
        put(g, ")");
        break;
    }
    case 6: {
        static const char *fr[] = { "exp", "tanh", "sin", "cos", "sigmoid", "abs" };
        static const char *fc[] = { "exp", "tanh", "sin", "cos", "abs", "conj" };
        put(g, "%s(", g->cplx_ok ? fc[rnd(g, 6)] : fr[rnd(g, 6)]);
        put(g, "0.3 * ");
        gen_expr(g, depth - 1);
        put(g, ")");
        break;
    }
    case 7:
        put(g, "(");
        gen_expr(g, depth - 1);
        put(g, ") / (2 + abs(");
        gen_expr(g, depth - 1);
        put(g, "))");
        break;
    case 8:
        if (g->cplx_ok) {
            put(g, "real(");
            gen_expr(g, depth - 1);
            put(g, ")");
        } else {
            put(g, "%s(", rnd(g, 2) ? "max" : "min");
            gen_expr(g, depth - 1);
            put(g, ", ");
            gen_expr(g, depth - 1);
            put(g, ")");
        }
        break;
    case 9:
        if (!g->cplx_ok || rnd(g, 2)) {
            put(g, "where(");
            gen_access(g);
            put(g, " > 0, ");
            gen_expr(g, depth - 1);
            put(g, ", ");
            gen_expr(g, depth - 1);
            put(g, ")");
        } else {
            gen_expr(g, depth - 1);
        }
        break;
    case 10:
        put(g, "(%s %s %s)", g->idx[rnd(g, g->nidx)], rnd(g, 2) ? "==" : "<", g->idx[rnd(g, g->nidx)]);
        break;
    default:
        gen_leaf(g);
        break;
    }
}

/* Build one random program into env; returns its text and ranges. */
static void gen_program(gen *g, tenv *env, char *ranges, size_t rlen) {
    static const char *names[] = { "i", "j", "k", "l", "m" };
    g->n = 0;
    g->buf[0] = 0;
    g->nidx = 2 + rnd(g, 4);
    size_t rn = 0;
    ranges[0] = 0;
    for (int k = 0; k < g->nidx; k++) {
        g->idx[k] = names[k];
        g->ext[k] = 1 + rnd(g, 6);
        rn += (size_t)snprintf(ranges + rn, rlen - rn, "%s:%d ", names[k], g->ext[k]);
    }
    int dtk = rnd(g, 10);
    txrt_dtype dt = dtk < 6 ? TXRT_F64 : dtk < 8 ? TXRT_F32 : dtk < 9 ? TXRT_C128 : TXRT_C64;
    g->cplx_ok = dt == TXRT_C128 || dt == TXRT_C64;
    nrts = 1 + rnd(g, 5);
    for (int t = 0; t < nrts; t++) {
        rtensor *r = &rts[t];
        snprintf(r->name, sizeof r->name, "R%d", t);
        r->rank = rnd(g, 4);
        r->dt = rnd(g, 4) == 0 ? TXRT_F64 : dt;
        int64_t dims[3];
        for (int d = 0; d < r->rank; d++) {
            r->dims[d] = rnd(g, g->nidx);
            r->off[d] = rnd(g, 4) == 0 ? rnd(g, 3) : 0;
            /* the tensor is exactly large enough: index + offset stays in bounds */
            dims[d] = g->ext[r->dims[d]] + r->off[d] + rnd(g, 2);
        }
        tenv_add(env, r->name, r->dt, r->rank, dims, -1, 1, tu_rng(&g->s));
    }
    /* output: a random subset of the indices (in random order), rest summed */
    put(g, "O[");
    int nout = rnd(g, g->nidx + 1), used = 0;
    int perm[8];
    for (int k = 0; k < g->nidx; k++) perm[k] = k;
    for (int k = g->nidx - 1; k > 0; k--) {
        int r = rnd(g, k + 1), t = perm[k];
        perm[k] = perm[r];
        perm[r] = t;
    }
    for (int k = 0; k < nout; k++) put(g, "%s%s", used++ ? "," : "", g->idx[perm[k]]);
    put(g, "] = ");
    /* a contraction of 1..5 factors, maybe inside something non-linear */
    int nf = 1 + rnd(g, 5);
    for (int f = 0; f < nf; f++) {
        if (f) put(g, " * ");
        if (rnd(g, 3) == 0) gen_expr(g, 1 + rnd(g, 3));
        else gen_access(g);
    }
    if (rnd(g, 3) == 0) {
        put(g, " + ");
        gen_expr(g, 2);
    }
}

/* The same kind of program in the language: `index` declarations fix
 * every range, tensors come from randn (cast for f32, re + 1j*im for
 * complex), sized exactly for their affine subscripts. */
static void gen_lang_program(gen *g, char *prog, size_t plen) {
    static const char *names[] = { "i", "j", "k", "l", "m" };
    static const char *dtn[] = { "f64", "f32", "c128", "c64" };
    g->lang = true;
    g->n = 0;
    g->buf[0] = 0;
    g->nidx = 2 + rnd(g, 4);
    size_t pn = 0;
    prog[0] = 0;
    for (int k = 0; k < g->nidx; k++) {
        g->idx[k] = names[k];
        g->ext[k] = 1 + rnd(g, 6);
        g->isout[k] = false;
        pn += (size_t)snprintf(prog + pn, plen - pn, "index %s : %d\n", names[k], g->ext[k]);
    }
    int dtk = rnd(g, 10);
    txrt_dtype dt = dtk < 6 ? TXRT_F64 : dtk < 8 ? TXRT_F32 : dtk < 9 ? TXRT_C128 : TXRT_C64;
    g->cplx_ok = dt == TXRT_C128 || dt == TXRT_C64;
    nrts = 1 + rnd(g, 5);
    for (int t = 0; t < nrts; t++) {
        rtensor *r = &rts[t];
        snprintf(r->name, sizeof r->name, "R%d", t);
        r->rank = rnd(g, 4);
        r->dt = rnd(g, 4) == 0 ? TXRT_F64 : dt;
        char dims[64] = "3";
        size_t dn = 0;
        for (int d = 0; d < r->rank; d++) {
            r->dims[d] = rnd(g, g->nidx);
            r->off[d] = rnd(g, 4) == 0 ? rnd(g, 3) : 0;
            dn += (size_t)snprintf(dims + dn, sizeof dims - dn, "%s%d", d ? ", " : "",
                                   g->ext[r->dims[d]] + r->off[d]);
        }
        unsigned seed = (unsigned)(tu_rng(&g->s) % 100000);
        char base[160], base2[160];
        const char *wrap = r->rank == 0 ? "sum(randn(%s, seed=%u))" : "randn(%s, seed=%u)";
        snprintf(base, sizeof base, wrap, dims, seed);
        snprintf(base2, sizeof base2, wrap, dims, seed + 1);
        bool cplx = r->dt == TXRT_C128 || r->dt == TXRT_C64;
        bool single = r->dt == TXRT_F32 || r->dt == TXRT_C64;
        char val[400];
        if (cplx) snprintf(val, sizeof val, "%s + 1j*%s", base, base2);
        else snprintf(val, sizeof val, "%s", base);
        if (single) pn += (size_t)snprintf(prog + pn, plen - pn, "%s = cast(%s, \"%s\")\n", r->name, val, dtn[r->dt]);
        else pn += (size_t)snprintf(prog + pn, plen - pn, "%s = %s\n", r->name, val);
    }
    int nout = rnd(g, g->nidx + 1);
    int perm[8];
    for (int k = 0; k < g->nidx; k++) perm[k] = k;
    for (int k = g->nidx - 1; k > 0; k--) {
        int r = rnd(g, k + 1), t = perm[k];
        perm[k] = perm[r];
        perm[r] = t;
    }
    if (nout == 0) {
        put(g, "O = ");
    } else {
        put(g, "O[");
        for (int k = 0; k < nout; k++) {
            put(g, "%s%s", k ? "," : "", g->idx[perm[k]]);
            g->isout[perm[k]] = true;
        }
        put(g, "] = ");
    }
    int nf = 1 + rnd(g, 5);
    for (int f = 0; f < nf; f++) {
        if (f) put(g, " * ");
        if (rnd(g, 3) == 0) gen_expr(g, 1 + rnd(g, 3));
        else gen_access(g);
    }
    if (rnd(g, 3) == 0) {
        put(g, " + ");
        gen_expr(g, 2);
    }
    snprintf(prog + pn, plen - pn, "%s\n", g->buf);
}

static void random_programs(void **state) {
    int n = 300, failures = 0, declined = 0;
    const char *env_n = getenv("TX_JIT_RANDOM");
    if (env_n) n = atoi(env_n);
    for (int p = 0; p < n; p++) {
        gen g;
        memset(&g, 0, sizeof g);
        g.s = 1000 + (uint64_t)p;
        tenv env = { 0 };
        tx_arena *a = tx_arena_new(0);
        char ranges[128];
        gen_program(&g, &env, ranges, sizeof ranges);
        const char *err;
        tx_tir_stmt *def = tdef_parse(a, g.buf, ranges, &err);
        if (!def) {
            print_error("seed %d: cannot parse %s: %s\n", p, g.buf, err);
            failures++;
        } else if (!diff_check(shared_jit, a, &env, g.buf, ranges)) {
            print_error("  (seed %d)\n", 1000 + p);
            failures++;
        }
        tenv_free(&env);
        tx_arena_free(a);
    }
    (void)declined;
    tx_jit_stats st;
    tx_jit_get_stats(shared_jit, &st);
    print_message("%d kernels compiled so far, %.2f ms each on average (%.2f ms CPU)\n", st.ncompiled,
                  st.ncompiled ? st.compile_ms / st.ncompiled : 0.0,
                  st.ncompiled ? st.compile_cpu_ms / st.ncompiled : 0.0);
    assert_int_equal(failures, 0);
}

/* ---- whole programs: the evaluator alone vs the evaluator with the JIT ------- */

typedef struct prog {
    tx_arena *a;
    tx_diags d;
    tx_interp *in;
    char *out;       /* printed output */
    size_t outlen;
    FILE *outf;
    int rc;
} prog;

/* Parse, check and run text; with jit set, through the JIT backend. */
static void prog_run(prog *p, const char *text, tx_jit *jit) {
    memset(p, 0, sizeof *p);
    p->a = tx_arena_new(0);
    const tx_source *src = tx_source_new(p->a, "test.tx", text, (uint32_t)strlen(text));
    tx_diags_init(&p->d, p->a, src);
    p->outf = open_memstream(&p->out, &p->outlen);
    p->in = tx_interp_new(p->outf);
    p->rc = 1;
    tx_ast_program *ast = tx_parse(p->a, src, &p->d);
    if (p->d.nerr) return;
    tx_sema(p->a, ast, NULL, &p->d);
    if (p->d.nerr) return;
    tx_tir_program *tir = tx_lower(p->a, ast, NULL, &p->d);
    if (p->d.nerr || !tir) return;
    tx_tir_check(tir, NULL, &p->d);
    if (p->d.nerr) return;
    tx_def_backend be;
    if (jit) be = tx_jit_backend(jit);
    tx_interp_set_backend(p->in, jit ? &be : NULL);
    p->rc = tx_interp_run(p->in, tir, &p->d);
    fflush(p->outf);
}

static void prog_free(prog *p) {
    tx_interp_free(p->in);
    fclose(p->outf);
    free(p->out);
    tx_arena_free(p->a);
}

static const char *first_diag(const prog *p) { return p->d.head ? p->d.head->msg : "(none)"; }

typedef struct cmpctx {
    prog *other;
    double rtol_double, rtol_single;
    int bad;
    char msg[256];
} cmpctx;

/* Compare every variable of the reference run with the JIT run: same dtype
 * and shape, values within rtol of the tensor's largest magnitude
 * (reassociated sums differ in the last bits). */
static void cmp_var(void *vctx, const char *name, const txrt_tensor *want) {
    cmpctx *c = vctx;
    txrt_tensor *got = tx_interp_get(c->other->in, name);
    if (!got || got->dtype != want->dtype || got->rank != want->rank || got->size != want->size) {
        if (!c->bad++) snprintf(c->msg, sizeof c->msg, "%s: dtype or shape differs", name);
        return;
    }
    double scale = 1e-300;
    for (int64_t i = 0; i < want->size; i++) {
        double re, im;
        txrt_get(want, i, &re, &im);
        double m = hypot(re, im);
        if (isfinite(m) && m > scale) scale = m;
    }
    bool single = want->dtype == TXRT_F32 || want->dtype == TXRT_C64;
    double tol = (single ? c->rtol_single : c->rtol_double) * (scale > 1 ? scale : 1);
    for (int64_t i = 0; i < want->size; i++) {
        double wr, wi, gr, gi;
        txrt_get(want, i, &wr, &wi);
        txrt_get(got, i, &gr, &gi);
        double w[2] = { wr, wi }, g[2] = { gr, gi };
        for (int k = 0; k < 2; k++) {
            bool ok = isnan(w[k]) ? isnan(g[k]) : isinf(w[k]) ? g[k] == w[k] : fabs(g[k] - w[k]) <= tol;
            if (!ok) {
                if (!c->bad++)
                    snprintf(c->msg, sizeof c->msg, "%s[%lld]: jit (%.17g, %.17g) evaluator (%.17g, %.17g)",
                             name, (long long)i, gr, gi, wr, wi);
                return;
            }
        }
    }
}

/* Run text twice (evaluator; evaluator + JIT) and compare all variables.
 * Returns the JIT's stats delta in *st. */
static bool prog_diff(const char *text, tx_jit *jit, tx_jit_stats *st, bool quiet) {
    tx_jit_stats before, after;
    tx_jit_get_stats(jit, &before);
    prog ref, got;
    prog_run(&ref, text, NULL);
    prog_run(&got, text, jit);
    tx_jit_get_stats(jit, &after);
    bool ok = true;
    if (ref.rc != got.rc || ref.rc != 0) {
        if (!quiet)
            print_error("exit %d (evaluator: %d): %s / %s\n%s\n", got.rc, ref.rc, first_diag(&got),
                        first_diag(&ref), text);
        ok = false;
    } else {
        cmpctx c = { &got, 1e-10, 1e-6, 0, "" };
        tx_interp_each(ref.in, cmp_var, &c);
        if (c.bad) {
            print_error("%d variables differ: %s\n%s\n", c.bad, c.msg, text);
            ok = false;
        }
    }
    if (st) {
        st->compile_ms = after.compile_ms - before.compile_ms;
        st->ncompiled = after.ncompiled - before.ncompiled;
        st->ncache_hits = after.ncache_hits - before.ncache_hits;
        st->nruns = after.nruns - before.nruns;
        st->ndeclined = after.ndeclined - before.ndeclined;
    }
    prog_free(&ref);
    prog_free(&got);
    return ok;
}

static void programs(void **state) {
    if (!tx_interp_set_backend) skip();
    static const char *const progs[] = {
        /* the attention example of LANGUAGE.md, smaller */
        "let n = 12\nlet d = 4\n"
        "Q  = randn(n, d, seed=1)\nK1 = randn(n, d, seed=2)\nK2 = randn(n, d, seed=3)\n"
        "V1 = randn(n, d, seed=4)\nV2 = randn(n, d, seed=5)\n"
        "A[i,j,k] = exp(sum[a](Q[i,a] * K1[j,a] * K2[k,a]) / d)\n"
        "D[i]     = A[i,j,k]\n"
        "O[i,b]   = A[i,j,k] * V1[j,b] * V2[k,b] / D[i]\n"
        "print O[0,0]\n",
        /* softmax attention with a shadowed reduction */
        "S = randn(6, 5, seed=1)\nV = randn(5, 3, seed=2)\n"
        "O[i,b] = S[i,j]*V[j,b] / sum[j](S[i,j])\n"
        "M[i] = max[j](S[i,j]) - min[j](S[i,j])\nP[i] = prod[j](S[i,j])\n",
        /* convolutions, shifted outputs, constant subscripts */
        "X = randn(20, seed=3)\nW = randn(4, seed=4)\n"
        "Y[i] = X[i+k] * W[k]\nD[i] = X[i+1] - X[i-1]\nE[i] = X[2*i+1] + X[-1]\n",
        /* elementwise functions, comparisons, where, index values */
        "A = randn(5, 4, seed=5)\n"
        "U[i,j] = exp(A[i,j]) + sqrt(abs(A[i,j])) + tanh(A[i,j]) + sigmoid(A[i,j]) + relu(A[i,j])\n"
        "V[i,j] = sign(A[i,j]) + floor(A[i,j]) + ceil(A[i,j]) + max(A[i,j], 0.5) + min(A[i,j], -0.5)\n"
        "W[i,j] = where(A[i,j] > 0, A[i,j], i) + (i == j) + (i < j) * 2 + A[i,j]^2 + pow(abs(A[i,j]), 1.5)\n"
        "index p, q : 4\nI[p,q] = (p == q)\n",
        /* whole-tensor arithmetic, +=, scalars */
        "A = randn(4, 3, seed=6)\nB = randn(4, 3, seed=7)\n"
        "C = A + 2*B\nE = exp(A) * B\ns = A[i,j]*B[i,j]\nC[i,j] += s * A[i,j]\nt = s * 2 + 1\n",
        /* f32 and complex */
        "A = cast(randn(5, 4, seed=8), \"f32\")\nB = cast(randn(4, 3, seed=9), \"f32\")\n"
        "C[i,j] = A[i,k]*B[k,j]\nE[i,j] = exp(A[i,j]) * 2 + i\n"
        "Z = randn(4, 3, seed=10) + 1j*randn(4, 3, seed=11)\n"
        "Y[i,k] = Z[i,j] * conj(Z[k,j])\nN[i] = abs(Z[i,0]) + real(Z[i,1]) * imag(Z[i,2])\n"
        "L[i,j] = exp(Z[i,j]) + log(Z[i,j]) + sqrt(Z[i,j]) + Z[i,j]^2 + Z[i,j] / (Z[i,j] + 1)\n"
        "G[i,j] = (Z[i,j] < Z[0,j]) + max(Z[i,j], Z[1,1]) + relu(Z[i,j]) + sign(Z[i,j]) + floor(Z[i,j])\n"
        "m = max[i,j](Z[i,j]) - min[i,j](Z[i,j])\n",
        /* functions */
        "def attention(Q[n,d], K[n,d], V[n,e]) -> O[n,e] {\n"
        "  S[i,j] = exp(sum[a](Q[i,a]*K[j,a]))\n"
        "  O[i,b] = S[i,j] * V[j,b] / sum[j](S[i,j])\n"
        "}\n"
        "O = attention(randn(6, 3, seed=1), randn(6, 3, seed=2), randn(6, 2, seed=3))\n",
    };
    int failures = 0;
    for (size_t k = 0; k < sizeof progs / sizeof progs[0]; k++) {
        tx_jit_stats st;
        if (!prog_diff(progs[k], shared_jit, &st, false)) failures++;
        else if (st.nruns == 0 || st.ndeclined != 0) {
            print_error("program %zu: %d definitions on the JIT, %d declined (%s)\n", k, st.nruns,
                        st.ndeclined, tx_jit_last_decline(shared_jit));
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* A definition in a loop body compiles once. */
static void loop_compiles_once(void **state) {
    if (!tx_interp_set_backend) skip();
    tx_jit *j = tx_jit_new(3, NULL);
    tx_jit_stats st;
    assert_true(prog_diff("A = randn(8, 8, seed=1)\nx = randn(8, seed=2)\n"
                          "for t in 0..1000 {\n  y[i] = A[i,j] * x[j]\n  x[i] = y[i] / sqrt(y[j]*y[j])\n}\n",
                          j, &st, false));
    assert_int_equal(st.nruns, 2000);
    assert_int_equal(st.ncompiled, 2);
    assert_int_equal(st.ncache_hits, 1998);
    tx_jit_free(j);
}

/* Random programs in the language, evaluator vs JIT. */
static void gen_lang_program(gen *g, char *prog, size_t plen);

static void random_language_programs(void **state) {
    if (!tx_interp_set_backend) skip();
    int n = 200, failures = 0, invalid = 0;
    const char *env_n = getenv("TX_JIT_RANDOM");
    if (env_n) n = atoi(env_n);
    static char text[8192];
    for (int p = 0; p < n; p++) {
        gen g;
        memset(&g, 0, sizeof g);
        g.s = 5000 + (uint64_t)p;
        gen_lang_program(&g, text, sizeof text);
        tx_jit_stats st;
        prog ref;
        prog_run(&ref, text, NULL);
        bool valid = ref.rc == 0;
        if (!valid && invalid++ < 3) print_message("(not a valid program, skipped: %s)\n%s", first_diag(&ref), text);
        prog_free(&ref);
        if (!valid) continue;
        if (!prog_diff(text, shared_jit, &st, false)) {
            print_error("  (seed %d)\n", 5000 + p);
            failures++;
        } else if (st.ndeclined) {
            print_error("declined (%s):\n%s", tx_jit_last_decline(shared_jit), text);
            failures++;
        }
    }
    print_message("%d random programs, %d invalid\n", n, invalid);
    assert_true(invalid * 10 <= n);
    assert_int_equal(failures, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(contractions, setup, teardown),
        cmocka_unit_test_setup_teardown(reductions, setup, teardown),
        cmocka_unit_test_setup_teardown(affine_subscripts, setup, teardown),
        cmocka_unit_test_setup_teardown(elementwise_real, setup, teardown),
        cmocka_unit_test_setup_teardown(single_precision, setup, teardown),
        cmocka_unit_test_setup_teardown(complex_values, setup, teardown),
        cmocka_unit_test_setup_teardown(jammed_default_width, setup, teardown),
        cmocka_unit_test_setup_teardown(cache, setup, teardown),
        cmocka_unit_test_setup_teardown(declines, setup, teardown),
        cmocka_unit_test_setup_teardown(emitted_code, setup, teardown),
        cmocka_unit_test_setup_teardown(emit_sink, setup, teardown),
        cmocka_unit_test_setup_teardown(small_nests_stay_loops, setup, teardown),
        cmocka_unit_test_setup_teardown(short_reductions_unroll_first, setup, teardown),
        cmocka_unit_test_setup_teardown(let_bound_values_vectorise, setup, teardown),
        cmocka_unit_test_setup_teardown(opt_levels, setup, teardown),
        cmocka_unit_test(random_programs),
        cmocka_unit_test(programs),
        cmocka_unit_test(loop_compiles_once),
        cmocka_unit_test(random_language_programs),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
