/*
 * test_vecmath.c -- vectorised transcendental math in JIT kernels (glibc
 * libmvec variants named by codegen/llvm.c, see tx_cg_vecmath).
 *
 *   - emitted IR: at -O3 on an AVX2/AVX-512 host, loops calling exp, log,
 *     sin, cos, tan, tanh, pow (f64 and f32, elementwise and inside a sum)
 *     call a vector variant (<N x double> @_ZGV?N<N>v_exp); at -O1 and with
 *     TXC_NO_VECMATH=1 no kernel names one.  Only these IR assertions are
 *     skipped on a host with neither AVX2 nor AVX-512.
 *   - numbers: each function over ranges (small, large, negative, near
 *     overflow and underflow) and special values (+-0, +-inf, NaN,
 *     subnormals), 1003 elements so both the vector body and the scalar
 *     tail run, against C's libm element by element: NaN where libm gives
 *     NaN, the same infinities, and otherwise within 5 ulp (libmvec's
 *     bound of 4 ulp plus libm's own error; 6 for sigmoid, whose add and
 *     divide round too), for f64 and f32.  The loop IR is built directly,
 *     so f32 computes in f32 (lowering from TIR widens it to f64).  Complex exp/log/sin/cos/tanh/
 *     sigmoid (built from exp, cos, sinh, hypot, atan2, tan, ...) are
 *     compared with the same kernels compiled at -O1 (scalar libm).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codegen/codegen.h"
#include "ir/lir.h"
#include "jit_testutil.h"

enum { N = 1003 };

static tx_jit *jit3, *jit1; /* -O3 (vector math where the host has it) and -O1 (scalar libm) */

static int group_setup(void **state) {
    jit3 = tx_jit_new(3, NULL);
    jit1 = tx_jit_new(1, NULL);
    if (!jit3 || !jit1) return -1;
    tx_jit_set_verify(jit3, true);
    tx_jit_set_verify(jit1, true);
    return 0;
}

static int group_teardown(void **state) {
    tx_jit_free(jit3);
    tx_jit_free(jit1);
    tx_cg_shutdown();
    return 0;
}

static bool host_has_vecmath(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") || __builtin_cpu_supports("avx512f");
}

/* ---- running definitions ------------------------------------------------ */

static tx_type out_type(const tx_tir_stmt *def, tenv *env) {
    tx_type ot;
    memset(&ot, 0, sizeof ot);
    ot.dtype = tu_def_dtype(def, env);
    ot.rank = def->nout;
    for (int k = 0; k < def->nout; k++) ot.dims[k] = def->indices[def->out_idx[k]].extent;
    return ot;
}

/* The optimised IR of text's kernel in j (malloc'ed). */
static char *emit_ir(tx_jit *j, tenv *env, const char *text, const char *ranges) {
    tx_arena *a = tx_arena_new(0);
    const char *err = NULL;
    tx_tir_stmt *def = tdef_parse(a, text, ranges, &err);
    assert_non_null(def);
    tx_type ot = out_type(def, env);
    tx_lookup lk = { tenv_lookup, env };
    char *s = tx_jit_emit_def(j, def, &ot, &lk, TX_CG_EMIT_LLVM, NULL);
    assert_non_null(s);
    tx_arena_free(a);
    return s;
}

/* Run text in j; returns the output tensor (caller releases). */
static txrt_tensor *run(tx_jit *j, tenv *env, const char *text, const char *ranges) {
    tx_arena *a = tx_arena_new(0);
    const char *err = NULL;
    tx_tir_stmt *def = tdef_parse(a, text, ranges, &err);
    if (!def) fail_msg("parse %s: %s", text, err);
    tx_type ot = out_type(def, env);
    txrt_tensor *out = tu_new_out(def, ot.dtype);
    tx_def_backend be = tx_jit_backend(j);
    int rc = be.run_def(be.self, def, out, tenv_get, env, NULL);
    if (rc != 0) fail_msg("%s: declined: %s", text, tx_jit_last_decline(j));
    tx_arena_free(a);
    return out;
}

/* Y[i] = op(A[i]) (or op(A[i], B[i])) for i < n as loop IR computing in dt
 * itself (lowering from TIR widens f32 to f64; LIR built directly need not). */
static tx_lir_func *elementwise(tx_arena *a, tx_tir_op op, txrt_dtype dt, int64_t n, bool two) {
    tx_lir_func *f = tx_lir_func_new(a, "vm");
    int ab = tx_lir_add_buf(f, "A", dt, 1, &n, false);
    int bb = two ? tx_lir_add_buf(f, "B", dt, 1, &n, false) : -1;
    int yb = tx_lir_add_buf(f, "Y", dt, 1, &n, true);
    int i = tx_lir_add_var(f, "i");
    tx_lir_stmt *l = tx_lir_loop(f, &f->body, i, 0, n);
    int64_t one = 1;
    tx_lir_affine off = tx_lir_affine_make(f, 1, &i, &one, 0);
    tx_lir_expr *x = tx_lir_load(f, ab, off);
    tx_lir_expr *v = two ? tx_lir_binary(f, op, x, tx_lir_load(f, bb, off)) : tx_lir_unary(f, op, x);
    assert_non_null(v);
    assert_non_null(tx_lir_store(f, &l->body, yb, off, v));
    return f;
}

/* ---- emitted IR ---------------------------------------------------------- */

/* Does ir call a vector variant of fn (exp, expf, pow, ...): a line with
 * "call <" and "@_ZGV" and "_fn(" on it? */
static bool calls_variant(const char *ir, const char *fn) {
    char pat[64];
    snprintf(pat, sizeof pat, "_%s(", fn);
    for (const char *p = ir; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char line[512];
        size_t m = n < sizeof line - 1 ? n : sizeof line - 1;
        memcpy(line, p, m);
        line[m] = 0;
        if (strstr(line, "call <") && strstr(line, "@_ZGV") && strstr(line, pat)) return true;
        p += n + (nl ? 1 : 0);
    }
    return false;
}

static void add_inputs(tenv *env) {
    tenv_add(env, "X", TXRT_F64, 1, (int64_t[]){ N }, -3, 3, 1);
    tenv_add(env, "W", TXRT_F64, 1, (int64_t[]){ N }, 0.5, 2, 2);
    tenv_add(env, "F", TXRT_F32, 1, (int64_t[]){ N }, -3, 3, 3);
    tenv_add(env, "G", TXRT_F32, 1, (int64_t[]){ N }, 0.5, 2, 4);
    tenv_add(env, "M", TXRT_F64, 2, (int64_t[]){ 64, 256 }, -3, 3, 5);
    tenv_add(env, "mx", TXRT_F64, 1, (int64_t[]){ 64 }, 3, 3, 6);
}

static void vector_calls_emitted(void **state) {
    if (!host_has_vecmath()) {
        print_message("host has neither AVX2 nor AVX-512: no vector math to look for\n");
        skip();
    }
    tenv env = { 0 };
    add_inputs(&env);
    static const struct { const char *text, *fn; } cases[] = {
        { "Y[i] = exp(X[i])", "exp" },
        { "Y[i] = log(W[i])", "log" },
        { "Y[i] = sin(X[i]) + cos(X[i])", "sin" },
        { "Y[i] = sin(X[i]) + cos(X[i])", "cos" },
        { "Y[i] = tan(X[i])", "tan" },
        { "Y[i] = tanh(X[i])", "tanh" },
        { "Y[i] = pow(W[i], X[i])", "pow" },
        { "Y[i] = sigmoid(X[i])", "exp" },
        { "Y[i] = exp(X[i])*sin(X[i]) + sqrt(abs(X[i]))", "exp" },
        { "Y[i] = exp(F[i])", "exp" }, /* f32 loads are widened: computed in f64 */
        { "s = exp(X[i])", "exp" },    /* a reduction */
        { "L[r] = log(sum[c](exp(M[r,c] - mx[r])))", "exp" }, /* logsumexp rows */
    };
    int bad = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *ranges = strstr(cases[k].text, "M[") ? "r:64 c:256" : "i:1003";
        char *ir = emit_ir(jit3, &env, cases[k].text, ranges);
        if (!calls_variant(ir, cases[k].fn)) {
            print_error("%s: no vector call of %s in\n%s\n", cases[k].text, cases[k].fn, ir);
            bad++;
        }
        free(ir);
    }
    tenv_free(&env);
    /* loop IR in f64 and f32 (the float variants: _ZGVeN16v_expf, ...) */
    static const struct { tx_tir_op op; bool two; const char *fn; } ops[] = {
        { TX_TOP_EXP, false, "exp" }, { TX_TOP_LOG, false, "log" }, { TX_TOP_SIN, false, "sin" },
        { TX_TOP_COS, false, "cos" }, { TX_TOP_TAN, false, "tan" }, { TX_TOP_TANH, false, "tanh" },
        { TX_TOP_SIGMOID, false, "exp" }, { TX_TOP_POW, true, "pow" },
    };
    for (int single = 0; single < 2; single++) {
        for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
            tx_arena *a = tx_arena_new(0);
            tx_lir_func *f = elementwise(a, ops[k].op, single ? TXRT_F32 : TXRT_F64, N, ops[k].two);
            char *ir = tx_jit_emit(jit3, f, TX_CG_EMIT_LLVM, NULL);
            assert_non_null(ir);
            char fn[16];
            snprintf(fn, sizeof fn, "%s%s", ops[k].fn, single ? "f" : "");
            if (!calls_variant(ir, fn)) {
                print_error("%s loop IR: no vector call of %s in\n%s\n", tx_lir_op_name(ops[k].op), fn, ir);
                bad++;
            }
            free(ir);
            tx_arena_free(a);
        }
    }
    assert_int_equal(bad, 0);
}

/* Scalar libm below -O2 (the loop vectoriser is off there). */
static void no_vector_calls_at_O1(void **state) {
    tenv env = { 0 };
    add_inputs(&env);
    char *ir = emit_ir(jit1, &env, "Y[i] = exp(X[i]) + tanh(F[i])", "i:1003");
    assert_null(strstr(ir, "@_ZGV"));
    assert_non_null(strstr(ir, "@llvm.exp.f64"));
    free(ir);
    tenv_free(&env);
}

/* TXC_NO_VECMATH=1 turns vector math off for sessions started after it. */
static void no_vector_calls_when_disabled(void **state) {
    setenv("TXC_NO_VECMATH", "1", 1);
    tx_jit *j = tx_jit_new(3, NULL);
    unsetenv("TXC_NO_VECMATH");
    assert_non_null(j);
    tenv env = { 0 };
    add_inputs(&env);
    char *ir = emit_ir(j, &env, "Y[i] = exp(X[i]) + tanh(F[i])", "i:1003");
    assert_null(strstr(ir, "@_ZGV"));
    free(ir);
    tenv_free(&env);
    tx_jit_free(j);
}

/* ---- numbers ------------------------------------------------------------- */

/* Distance in units in the last place between two finite values of the
 * same precision (f32 when single), through the ordered integer images of
 * their bit patterns (+0 and -0 coincide). */
static uint64_t ulp_dist(double a, double b, bool single) {
    int64_t ia, ib;
    if (single) {
        float fa = (float)a, fb = (float)b;
        int32_t x, y;
        memcpy(&x, &fa, 4);
        memcpy(&y, &fb, 4);
        ia = x < 0 ? -(int64_t)(x & 0x7fffffff) : x;
        ib = y < 0 ? -(int64_t)(y & 0x7fffffff) : y;
    } else {
        int64_t x, y;
        memcpy(&x, &a, 8);
        memcpy(&y, &b, 8);
        ia = x < 0 ? -(x & INT64_MAX) : x;
        ib = y < 0 ? -(y & INT64_MAX) : y;
    }
    return ia > ib ? (uint64_t)(ia - ib) : (uint64_t)(ib - ia);
}

typedef double (*fn1)(double);
typedef float (*fn1f)(float);
typedef double (*fn2)(double, double);
typedef float (*fn2f)(float, float);

typedef struct mcase {
    const char *name; /* the tx function */
    tx_tir_op op;
    fn1 f;
    fn1f ff;
    fn2 g;
    fn2f gf;
    double lo, hi;    /* random arguments in [lo, hi) ... */
    bool logscale;    /* ... or exp of uniform in [log lo, log hi) */
    double lo2, hi2;  /* the second argument of pow */
} mcase;

static const double specials[] = {
    0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, 1e-300, -1e-300, 5e-324, -5e-324, 2.2250738585072014e-308,
    1e-8, -1e-8, 20.0, -20.0, 88.7, -88.7, 89.0, -104.0, 709.78, 709.79, 710.0, -708.0, -745.1, -746.0,
    1e5, -1e5, 1e22, -1e22, 1e300, -1e300, 1.7976931348623157e308, INFINITY, -INFINITY, NAN, -NAN,
};
enum { NSPEC = sizeof specials / sizeof specials[0] };

/* Fill tensor t with the special values, then random ones of the case;
 * the second argument of pow (t2) also pairs specials with specials. */
static void fill(txrt_tensor *t, txrt_tensor *t2, const mcase *m, uint64_t seed) {
    uint64_t s = seed;
    for (int64_t i = 0; i < t->size; i++) {
        double x, y = 0;
        if (i < NSPEC * (t2 ? NSPEC : 1)) {
            x = specials[i % NSPEC];
            y = t2 ? specials[i / NSPEC] : 0;
        } else {
            double u = tu_uniform(&s);
            x = m->logscale ? exp(log(m->lo) + u * (log(m->hi) - log(m->lo))) : m->lo + u * (m->hi - m->lo);
            y = m->lo2 + tu_uniform(&s) * (m->hi2 - m->lo2);
        }
        txrt_set(t, i, x, 0);
        if (t2) txrt_set(t2, i, y, 0);
    }
}

/* One function over one dtype: returns the number of mismatches and
 * raises *maxulp to the largest distance seen. */
static int check_case(const mcase *m, bool single, uint64_t *maxulp) {
    txrt_dtype dt = single ? TXRT_F32 : TXRT_F64;
    bool two = m->g != NULL;
    int64_t n = two ? NSPEC * NSPEC + 2000 : 4000 + 3;
    tenv env = { 0 };
    txrt_tensor *a = tenv_add(&env, "A", dt, 1, (int64_t[]){ n }, 0, 1, 1);
    txrt_tensor *b = two ? tenv_add(&env, "B", dt, 1, (int64_t[]){ n }, 0, 1, 2) : NULL;
    fill(a, b, m, 7 + (uint64_t)single);
    txrt_tensor *y = tenv_add(&env, "Y", dt, 1, (int64_t[]){ n }, 0, 0, 3);
    tx_arena *ar = tx_arena_new(0);
    if (host_has_vecmath()) { /* the kernel below is the vectorised one */
        char *ir = tx_jit_emit(jit3, elementwise(ar, m->op, dt, n, two), TX_CG_EMIT_LLVM, NULL);
        assert_non_null(ir);
        char fn[16];
        snprintf(fn, sizeof fn, "%s%s", m->op == TX_TOP_SIGMOID ? "exp" : m->name, single ? "f" : "");
        if (!calls_variant(ir, fn)) fail_msg("%s: the kernel calls no vector variant", fn);
        free(ir);
    }
    tx_kernel_fn kf = tx_jit_compile(jit3, elementwise(ar, m->op, dt, n, two), NULL);
    assert_non_null(kf);
    void *bufs[3] = { a->data, two ? b->data : y->data, y->data };
    kf(bufs);
    tx_arena_free(ar);
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double x, x2 = 0, got, im;
        txrt_get(a, i, &x, &im);
        if (two) txrt_get(b, i, &x2, &im);
        txrt_get(y, i, &got, &im);
        double want = single ? (double)(two ? m->gf((float)x, (float)x2) : m->ff((float)x))
                             : (two ? m->g(x, x2) : m->f(x));
        bool ok;
        uint64_t d = 0;
        if (isnan(want)) ok = isnan(got);
        else if (isinf(want) || isinf(got)) ok = got == want;
        else {
            d = ulp_dist(got, want, single);
            ok = d <= (m->op == TX_TOP_SIGMOID ? 6u : 5u);
            if (d > *maxulp) *maxulp = d;
        }
        if (!ok && bad++ < 5)
            print_error("%s %s(%.17g%s%.17g): got %.17g, libm %.17g (%llu ulp)\n", single ? "f32" : "f64",
                        m->name, x, two ? ", " : "", two ? x2 : 0.0, got, want, (unsigned long long)d);
    }
    tenv_free(&env);
    return bad;
}

static double sigmoid_d(double x) { return 1 / (1 + exp(-x)); }
static float sigmoid_f(float x) { return 1 / (1 + expf(-x)); }

static void real_functions_match_libm(void **state) {
    static const mcase cases[] = {
        { "exp", TX_TOP_EXP, exp, expf, NULL, NULL, -750, 720, false, 0, 0 },
        { "exp", TX_TOP_EXP, exp, expf, NULL, NULL, -20, 20, false, 0, 0 },
        { "log", TX_TOP_LOG, log, logf, NULL, NULL, 1e-320, 1e308, true, 0, 0 },
        { "log", TX_TOP_LOG, log, logf, NULL, NULL, 0.5, 2, false, 0, 0 },
        { "sin", TX_TOP_SIN, sin, sinf, NULL, NULL, -10, 10, false, 0, 0 },
        { "sin", TX_TOP_SIN, sin, sinf, NULL, NULL, -1e6, 1e6, false, 0, 0 },
        { "cos", TX_TOP_COS, cos, cosf, NULL, NULL, -10, 10, false, 0, 0 },
        { "cos", TX_TOP_COS, cos, cosf, NULL, NULL, -1e6, 1e6, false, 0, 0 },
        { "tan", TX_TOP_TAN, tan, tanf, NULL, NULL, -4, 4, false, 0, 0 },
        { "tan", TX_TOP_TAN, tan, tanf, NULL, NULL, -1e5, 1e5, false, 0, 0 },
        { "tanh", TX_TOP_TANH, tanh, tanhf, NULL, NULL, -25, 25, false, 0, 0 },
        { "tanh", TX_TOP_TANH, tanh, tanhf, NULL, NULL, -1e-3, 1e-3, false, 0, 0 },
        { "sigmoid", TX_TOP_SIGMOID, sigmoid_d, sigmoid_f, NULL, NULL, -50, 50, false, 0, 0 },
        { "pow", TX_TOP_POW, NULL, NULL, pow, powf, 1e-3, 1e3, true, -40, 40 },
        { "pow", TX_TOP_POW, NULL, NULL, pow, powf, -10, 10, false, -5, 5 },
    };
    int bad = 0;
    for (int single = 0; single < 2; single++) {
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            uint64_t maxulp = 0;
            bad += check_case(&cases[k], single, &maxulp);
            print_message("%s %-8s [%g, %g): max %llu ulp from libm\n", single ? "f32" : "f64", cases[k].name,
                          cases[k].lo, cases[k].hi, (unsigned long long)maxulp);
        }
    }
    assert_int_equal(bad, 0);
}

/* Complex functions decompose into real exp, cos, sinh, hypot, atan2, tan,
 * tanh: the vectorised kernel (-O3) against the scalar one (-O1), part by
 * part, within 32 ulp of the larger of |result| and 1 (a part can be
 * the difference of larger terms). */
static void complex_functions_match_scalar(void **state) {
    static const char *const texts[] = {
        "Y[i] = exp(Z[i])", "Y[i] = log(Z[i])", "Y[i] = sin(Z[i])", "Y[i] = cos(Z[i])",
        "Y[i] = tanh(Z[i])", "Y[i] = tan(Z[i])", "Y[i] = sigmoid(Z[i])", "Y[i] = sqrt(Z[i]) + abs(Z[i])",
        "Y[i] = Z[i] ^ V[i]",
    };
    int bad = 0;
    for (int single = 0; single < 2; single++) {
        txrt_dtype dt = single ? TXRT_C64 : TXRT_C128;
        double eps = single ? 0x1p-23 : 0x1p-52;
        tenv env = { 0 };
        tenv_add(&env, "Z", dt, 1, (int64_t[]){ N }, -4, 4, 11);
        tenv_add(&env, "V", dt, 1, (int64_t[]){ N }, -2, 2, 12);
        for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
            txrt_tensor *y3 = run(jit3, &env, texts[k], "i:1003");
            txrt_tensor *y1 = run(jit1, &env, texts[k], "i:1003");
            double worst = 0;
            for (int64_t i = 0; i < N; i++) {
                double r3, i3, r1, i1;
                txrt_get(y3, i, &r3, &i3);
                txrt_get(y1, i, &r1, &i1);
                double scale = fmax(hypot(r1, i1), 1);
                double e = fmax(fabs(r3 - r1), fabs(i3 - i1)) / (eps * scale);
                if (isnan(r1) || isnan(i1)) e = (isnan(r3) == isnan(r1) && isnan(i3) == isnan(i1)) ? 0 : INFINITY;
                if (!(e <= 32) && bad++ < 5)
                    print_error("%s %s element %lld: got (%.17g, %.17g), scalar (%.17g, %.17g)\n",
                                single ? "c64" : "c128", texts[k], (long long)i, r3, i3, r1, i1);
                if (e > worst) worst = e;
            }
            print_message("%s %-30s max %.1f ulp of max(|z|, 1) from scalar\n", single ? "c64" : "c128", texts[k],
                          worst);
            txrt_release(y3);
            txrt_release(y1);
        }
        tenv_free(&env);
    }
    assert_int_equal(bad, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vector_calls_emitted),
        cmocka_unit_test(no_vector_calls_at_O1),
        cmocka_unit_test(no_vector_calls_when_disabled),
        cmocka_unit_test(real_functions_match_libm),
        cmocka_unit_test(complex_functions_match_scalar),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
