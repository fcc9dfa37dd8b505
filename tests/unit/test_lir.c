/*
 * test_lir.c -- lowering tensor definitions to loop IR, the LIR printer and
 * the verifier.  Definitions are built from text by jit_testutil.h (no
 * frontend needed), with explicit index ranges, and lowered against a
 * small environment of tensors; each test compares the printed LIR.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ir/lir.h"
#include "jit_testutil.h"

typedef struct fixture {
    tx_arena *a;
    tenv env;
} fixture;

static int setup(void **state) {
    fixture *fx = calloc(1, sizeof *fx);
    fx->a = tx_arena_new(0);
    tenv_add(&fx->env, "A", TXRT_F64, 2, (int64_t[]){ 4, 3 }, -1, 1, 1);
    tenv_add(&fx->env, "B", TXRT_F64, 2, (int64_t[]){ 3, 5 }, -1, 1, 2);
    tenv_add(&fx->env, "X", TXRT_F64, 1, (int64_t[]){ 8 }, -1, 1, 3);
    tenv_add(&fx->env, "W", TXRT_F64, 1, (int64_t[]){ 3 }, -1, 1, 4);
    tenv_add(&fx->env, "S", TXRT_F64, 2, (int64_t[]){ 2, 3 }, -1, 1, 5);
    tenv_add(&fx->env, "V", TXRT_F64, 2, (int64_t[]){ 3, 2 }, -1, 1, 6);
    tenv_add(&fx->env, "Z", TXRT_C128, 2, (int64_t[]){ 4, 3 }, -1, 1, 7);
    tenv_add(&fx->env, "F", TXRT_F32, 2, (int64_t[]){ 4, 3 }, -1, 1, 8);
    tenv_add(&fx->env, "I", TXRT_F64, 4, (int64_t[]){ 1, 2, 6, 6 }, -1, 1, 9);
    tenv_add(&fx->env, "K", TXRT_F64, 4, (int64_t[]){ 3, 2, 3, 3 }, -1, 1, 10);
    tenv_add(&fx->env, "s", TXRT_F64, 0, NULL, -1, 1, 11);
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

/* Lower `text` (ranges as in jit_testutil.h); out dtype as the oracle
 * infers it.  Returns the LIR or NULL with *why. */
static tx_lir_func *lower(fixture *fx, const char *text, const char *ranges, const char **why) {
    const char *err = NULL;
    tx_tir_stmt *s = tdef_parse(fx->a, text, ranges, &err);
    if (!s) fail_msg("parse %s: %s", text, err);
    tx_type ot;
    memset(&ot, 0, sizeof ot);
    ot.dtype = tu_def_dtype(s, &fx->env);
    ot.rank = s->nout;
    for (int k = 0; k < s->nout; k++) ot.dims[k] = s->indices[s->out_idx[k]].extent;
    tx_lookup lk = { tenv_lookup, &fx->env };
    return tx_lir_from_def(fx->a, s, &ot, &lk, why);
}

static void check_lir(fixture *fx, const char *text, const char *ranges, const char *want) {
    const char *why = NULL;
    tx_lir_func *f = lower(fx, text, ranges, &why);
    if (!f) fail_msg("%s: not lowered: %s", text, why);
    char *got = tx_lir_str(f);
    if (strcmp(got, want) != 0) {
        print_error("for %s\n--- got\n%s--- want\n%s", text, got, want);
        free(got);
        fail();
    }
    free(got);
}

static void check_declined(fixture *fx, const char *text, const char *ranges, const char *why_part) {
    const char *why = NULL;
    tx_lir_func *f = lower(fx, text, ranges, &why);
    if (f) fail_msg("%s: lowered, expected it to be declined", text);
    assert_non_null(why);
    if (!strstr(why, why_part)) fail_msg("%s: declined with \"%s\", expected \"%s\"", text, why, why_part);
}

static void matmul(void **state) {
    check_lir(*state, "C[i,j] = A[i,k]*B[k,j]", "i:4 j:5 k:3",
              "kernel C(out C: f64[4,5], A: f64[4,3], B: f64[3,5]) {\n"
              "  for i in 0..4 {\n"
              "    for j in 0..5 {\n"
              "      acc0: f64 = 0\n"
              "      for k in 0..3 {\n"
              "        acc0 += A[3*i + k] * B[5*k + j]\n"
              "      }\n"
              "      C[5*i + j] = acc0\n"
              "    }\n"
              "  }\n"
              "}\n");
}

/* The implicit sum over j encloses an explicit sum[j] binding its own j. */
static void nested_shadowed_reduction(void **state) {
    check_lir(*state, "O[i,b] = S[i,j]*V[j,b] / sum[j](S[i,j])", "i:2 j:3 b:2",
              "kernel O(out O: f64[2,2], S: f64[2,3], V: f64[3,2]) {\n"
              "  for i in 0..2 {\n"
              "    for b in 0..2 {\n"
              "      acc0: f64 = 0\n"
              "      for j in 0..3 {\n"
              "        acc1: f64 = 0\n"
              "        for j.1 in 0..3 {\n"
              "          acc1 += S[3*i + j.1]\n"
              "        }\n"
              "        acc0 += (S[3*i + j] * V[2*j + b]) / acc1\n"
              "      }\n"
              "      O[2*i + b] = acc0\n"
              "    }\n"
              "  }\n"
              "}\n");
}

static void reduction_identities(void **state) {
    check_lir(*state, "M[i] = max[j](sum[k](A[i,k]*B[k,j])) + min[k](A[i,k]) * prod[k](A[i,k])",
              "i:4 j:5 k:3",
              "kernel M(out M: f64[4], A: f64[4,3], B: f64[3,5]) {\n"
              "  for i in 0..4 {\n"
              "    acc0: f64 = -inf\n"
              "    for j in 0..5 {\n"
              "      acc1: f64 = 0\n"
              "      for k in 0..3 {\n"
              "        acc1 += A[3*i + k] * B[5*k + j]\n"
              "      }\n"
              "      acc0 = max(acc0, acc1)\n"
              "    }\n"
              "    acc2: f64 = inf\n"
              "    for k.1 in 0..3 {\n"
              "      acc2 = min(acc2, A[3*i + k.1])\n"
              "    }\n"
              "    acc3: f64 = 1\n"
              "    for k.2 in 0..3 {\n"
              "      acc3 *= A[3*i + k.2]\n"
              "    }\n"
              "    M[i] = acc0 + (acc2 * acc3)\n"
              "  }\n"
              "}\n");
}

/* "valid" convolution: i over size(X) - size(W) + 1 */
static void affine_convolution(void **state) {
    check_lir(*state, "Y[i] = X[i+k] * W[k]", "i:6 k:3",
              "kernel Y(out Y: f64[6], X: f64[8], W: f64[3]) {\n"
              "  for i in 0..6 {\n"
              "    acc0: f64 = 0\n"
              "    for k in 0..3 {\n"
              "      acc0 += X[i + k] * W[k]\n"
              "    }\n"
              "    Y[i] = acc0\n"
              "  }\n"
              "}\n");
}

/* A 2-d convolution with stride 2 over a 4-d input, batch and channels. */
static void strided_conv2d(void **state) {
    check_lir(*state, "O[n,c,y,x] = I[n,d,2*y+p,2*x+q] * K[c,d,p,q]", "n:1 c:3 y:2 x:2 d:2 p:3 q:3",
              "kernel O(out O: f64[1,3,2,2], I: f64[1,2,6,6], K: f64[3,2,3,3]) {\n"
              "  for n in 0..1 {\n"
              "    for c in 0..3 {\n"
              "      for y in 0..2 {\n"
              "        for x in 0..2 {\n"
              "          acc0: f64 = 0\n"
              "          for d in 0..2 {\n"
              "            for p in 0..3 {\n"
              "              for q in 0..3 {\n"
              "                acc0 += I[72*n + 36*d + 12*y + 6*p + 2*x + q] * K[18*c + 9*d + 3*p + q]\n"
              "              }\n"
              "            }\n"
              "          }\n"
              "          O[12*n + 4*c + 2*y + x] = acc0\n"
              "        }\n"
              "      }\n"
              "    }\n"
              "  }\n"
              "}\n");
}

/* An output index starting at 1 is stored from 0. */
static void shifted_output(void **state) {
    check_lir(*state, "D[i] = X[i+1] - X[i-1]", "i:1:6",
              "kernel D(out D: f64[6], X: f64[8]) {\n"
              "  for i in 1..7 {\n"
              "    D[i - 1] = X[i + 1] - X[i - 1]\n"
              "  }\n"
              "}\n");
}

/* Index values, comparisons, where and a rank-0 tensor. */
static void index_values_and_select(void **state) {
    check_lir(*state, "E[i] = where(X[i] > 0, X[i], -X[i]) * (i == 2) + s", "i:8",
              "kernel E(out E: f64[8], X: f64[8], s: f64[]) {\n"
              "  for i in 0..8 {\n"
              "    E[i] = (select(X[i] > 0, X[i], -X[i]) * (i == 2)) + s[0]\n"
              "  }\n"
              "}\n");
}

/* Single precision tensors are read into double, computed in double and
 * rounded once on store, as the evaluator does. */
static void f32_computes_in_double(void **state) {
    check_lir(*state, "G[i,j] = 2.5*F[i,j] + i", "i:4 j:3",
              "kernel G(out G: f32[4,3], F: f32[4,3]) {\n"
              "  for i in 0..4 {\n"
              "    for j in 0..3 {\n"
              "      G[3*i + j] = f32((2.5 * f64(F[3*i + j])) + i)\n"
              "    }\n"
              "  }\n"
              "}\n");
    check_lir(*state, "G[i,j] = s*F[i,j] + A[i,j]", "i:4 j:3",
              "kernel G(out G: f64[4,3], s: f64[], F: f32[4,3], A: f64[4,3]) {\n"
              "  for i in 0..4 {\n"
              "    for j in 0..3 {\n"
              "      G[3*i + j] = (s[0] * f64(F[3*i + j])) + A[3*i + j]\n"
              "    }\n"
              "  }\n"
              "}\n");
    check_lir(*state, "G[i] = sum[j](F[i,j]*F[i,j]) / 3", "i:4 j:3",
              "kernel G(out G: f32[4], F: f32[4,3]) {\n"
              "  for i in 0..4 {\n"
              "    acc0: f64 = 0\n"
              "    for j in 0..3 {\n"
              "      acc0 += f64(F[3*i + j]) * f64(F[3*i + j])\n"
              "    }\n"
              "    G[i] = f32(acc0 / 3)\n"
              "  }\n"
              "}\n");
}

static void complex_values(void **state) {
    check_lir(*state, "H[i,j] = conj(Z[i,j]) * A[i,j] + 1j + abs(Z[i,j])", "i:4 j:3",
              "kernel H(out H: c128[4,3], Z: c128[4,3], A: f64[4,3]) {\n"
              "  for i in 0..4 {\n"
              "    for j in 0..3 {\n"
              "      H[3*i + j] = ((conj(Z[3*i + j]) * c128(A[3*i + j])) + (0+1j)) + c128(abs(Z[3*i + j]))\n"
              "    }\n"
              "  }\n"
              "}\n");
}

/* Constant subscripts, negative ones counting from the end; rank-0 out. */
static void constant_subscripts_and_trace(void **state) {
    check_lir(*state, "r[j] = A[-1,j] + A[0,j]", "j:3",
              "kernel r(out r: f64[3], A: f64[4,3]) {\n"
              "  for j in 0..3 {\n"
              "    r[j] = A[j + 9] + A[j]\n"
              "  }\n"
              "}\n");
    check_lir(*state, "t = A[i,i]", "i:3",
              "kernel t(out t: f64[], A: f64[4,3]) {\n"
              "  acc0: f64 = 0\n"
              "  for i in 0..3 {\n"
              "    acc0 += A[4*i]\n"
              "  }\n"
              "  t[0] = acc0\n"
              "}\n");
}

static void empty_ranges(void **state) {
    check_lir(*state, "y[i] = sum[k](X[k] * 0) + i", "i:3 k:0",
              "kernel y(out y: f64[3], X: f64[8]) {\n"
              "  for i in 0..3 {\n"
              "    acc0: f64 = 0\n"
              "    for k in 0..0 {\n"
              "      acc0 += X[k] * 0\n"
              "    }\n"
              "    y[i] = acc0 + i\n"
              "  }\n"
              "}\n");
}

/* Unroll-and-jam of the output loop over consecutive elements. */
static void jam(void **state) {
    fixture *fx = *state;
    const char *why = NULL;
    tx_lir_func *f = lower(fx, "C[i,j] = sum[k](A[i,k]*B[k,j]) + j", "i:4 j:5 k:3", &why);
    assert_non_null(f);
    assert_int_equal(tx_lir_jam(f, 2, 1000), 1);
    const char *why2 = NULL;
    assert_true(tx_lir_verify(f, &why2));
    char *got = tx_lir_str(f);
    const char *want =
        "kernel C(out C: f64[4,5], A: f64[4,3], B: f64[3,5]) {\n"
        "  for i in 0..4 {\n"
        "    for j/2 in 0..2 {\n"
        "      acc1: f64 = 0\n"
        "      acc2: f64 = 0\n"
        "      for k in 0..3 {\n"
        "        acc1 += A[3*i + k] * B[5*k + 2*j/2]\n"
        "        acc2 += A[3*i + k] * B[5*k + 2*j/2 + 1]\n"
        "      }\n"
        "      C[5*i + 2*j/2] = acc1 + (j/2 * 2)\n"
        "      C[5*i + 2*j/2 + 1] = acc2 + ((j/2 * 2) + 1)\n"
        "    }\n"
        "    for j in 4..5 {\n"
        "      acc0: f64 = 0\n"
        "      for k in 0..3 {\n"
        "        acc0 += A[3*i + k] * B[5*k + j]\n"
        "      }\n"
        "      C[5*i + j] = acc0 + j\n"
        "    }\n"
        "  }\n"
        "}\n";
    if (strcmp(got, want) != 0) {
        print_error("--- got\n%s--- want\n%s", got, want);
        free(got);
        fail();
    }
    free(got);
    /* already jammed: nothing more to do; no reduction loop: nothing to do */
    assert_int_equal(tx_lir_jam(f, 2, 1000), 0);
    f = lower(fx, "E[i] = X[i] * 2", "i:8", &why);
    assert_int_equal(tx_lir_jam(f, 2, 1000), 0);
    /* too big a body for the node budget */
    f = lower(fx, "C[i,j] = A[i,k]*B[k,j]", "i:4 j:5 k:3", &why);
    assert_int_equal(tx_lir_jam(f, 2, 4), 0);
    /* too few iterations for two copies of the width */
    f = lower(fx, "C[i,j] = A[i,k]*B[k,j]", "i:4 j:5 k:3", &why);
    assert_int_equal(tx_lir_jam(f, 4, 1000), 0);
    /* the loop over consecutive outputs is the one jammed, whatever its name */
    f = lower(fx, "C[j,i] = A[i,k]*B[k,j]", "i:4 j:5 k:3", &why);
    assert_int_equal(tx_lir_jam(f, 2, 1000), 1);
    assert_string_equal(f->vars[f->nvars - 1].name, "i/2");
}

static void declines(void **state) {
    fixture *fx = *state;
    check_declined(fx, "Y[i] = X[i+k]", "i:8 k:3", "subscript 0 of X ranges over 0..9 outside 0..7");
    check_declined(fx, "Y[i] = X[i+k]", "i:6", "range of index k is unknown");
    check_declined(fx, "q[i] = nope[i]", "i:4", "tensor nope is not bound");
    check_declined(fx, "q[i] = X[i,i]", "i:4", "X has rank 1 but 2 subscripts");
    check_declined(fx, "q[i] = A[9,i]", "i:3", "outside 0..3");
}

/* The verifier rejects out-of-bounds offsets, unbound variables and
 * accumulators read before they are initialised. */
static void verifier(void **state) {
    fixture *fx = *state;
    const char *why = NULL;
    tx_lir_func *f = tx_lir_func_new(fx->a, "bad");
    int64_t shape[1] = { 4 };
    int out = tx_lir_add_buf(f, "y", TXRT_F64, 1, shape, true);
    int in = tx_lir_add_buf(f, "x", TXRT_F64, 1, shape, false);
    int i = tx_lir_add_var(f, "i");
    int i2 = tx_lir_add_var(f, "i");
    assert_string_equal(f->vars[i2].name, "i.1");
    tx_lir_stmt *l = tx_lir_loop(f, &f->body, i, 0, 4);
    int one = 1;
    int64_t c1 = 1;
    tx_lir_affine off_i = tx_lir_affine_make(f, 1, &i, &c1, 0);
    tx_lir_affine off_i1 = tx_lir_affine_make(f, 1, &i, &c1, 1);
    (void)one;
    tx_lir_store(f, &l->body, out, off_i, tx_lir_load(f, in, off_i1));
    assert_false(tx_lir_verify(f, &why));
    assert_non_null(strstr(why, "access to x at offsets 1..4 outside its 4 elements"));

    f = tx_lir_func_new(fx->a, "bad2");
    out = tx_lir_add_buf(f, "y", TXRT_F64, 1, shape, true);
    i = tx_lir_add_var(f, "i");
    tx_lir_store(f, &f->body, out, tx_lir_affine_make(f, 0, NULL, NULL, 0), tx_lir_index(f, i));
    assert_false(tx_lir_verify(f, &why));
    assert_non_null(strstr(why, "outside its loop"));

    f = tx_lir_func_new(fx->a, "bad3");
    out = tx_lir_add_buf(f, "y", TXRT_F64, 1, shape, true);
    int acc = tx_lir_add_acc(f, TX_RED_SUM, TXRT_F64);
    tx_lir_store(f, &f->body, out, tx_lir_affine_make(f, 0, NULL, NULL, 0), tx_lir_accref(f, acc));
    assert_false(tx_lir_verify(f, &why));
    assert_non_null(strstr(why, "before it is initialised"));

    /* the same kernel with an ACC_INIT first is fine */
    f = tx_lir_func_new(fx->a, "good");
    out = tx_lir_add_buf(f, "y", TXRT_F64, 1, shape, true);
    acc = tx_lir_add_acc(f, TX_RED_SUM, TXRT_F64);
    tx_lir_acc_init(f, &f->body, acc);
    tx_lir_store(f, &f->body, out, tx_lir_affine_make(f, 0, NULL, NULL, 3), tx_lir_accref(f, acc));
    assert_true(tx_lir_verify(f, &why));
}

/* Typing rules of the constructors. */
static void typing(void **state) {
    fixture *fx = *state;
    tx_lir_func *f = tx_lir_func_new(fx->a, "t");
    int64_t shape[1] = { 2 };
    int q = tx_lir_add_buf(f, "q", TXRT_C64, 1, shape, false);
    int sc = tx_lir_add_buf(f, "sc", TXRT_F64, 0, shape, false);
    tx_lir_affine o0 = tx_lir_affine_make(f, 0, NULL, NULL, 0);
    tx_lir_expr *c = tx_lir_const(f, TXRT_F64, 0.1, 0);
    tx_lir_expr *x = tx_lir_load(f, q, o0);
    /* literal (weight 0) or rank-0 tensor (1) with a c64 tensor (2): c64 */
    assert_int_equal(tx_lir_binary(f, TX_TOP_MUL, c, x)->dtype, TXRT_C64);
    assert_int_equal(tx_lir_binary(f, TX_TOP_MUL, tx_lir_load(f, sc, o0), x)->dtype, TXRT_C64);
    /* equal weights promote */
    assert_int_equal(tx_lir_binary(f, TX_TOP_MUL, c, tx_lir_const(f, TXRT_C64, 1, 2))->dtype, TXRT_C128);
    assert_int_equal(tx_lir_binary(f, TX_TOP_LT, x, x)->dtype, TXRT_F32); /* lexicographic */
    assert_int_equal(tx_lir_unary(f, TX_TOP_FLOOR, x)->dtype, TXRT_C64);
    assert_null(tx_lir_unary(f, TX_TOP_NEG, NULL));
    assert_null(tx_lir_binary(f, TX_TOP_EXP, x, x));   /* not a binary operator */
    assert_int_equal(tx_lir_unary(f, TX_TOP_ABS, x)->dtype, TXRT_F32);
    assert_int_equal(tx_lir_binary(f, TX_TOP_EQ, x, x)->dtype, TXRT_F32);
    /* a constant cast to f32 is rounded, and prints as such */
    tx_lir_expr *r = tx_lir_cast(f, c, TXRT_F32);
    assert_int_equal(r->kind, TX_LIR_CONST);
    assert_true(r->re == (double)0.1f);
    char *s = tx_lir_expr_str(f, r);
    assert_string_equal(s, "f32(0.1)");
    free(s);
    assert_null(tx_lir_cast(f, x, TXRT_F64));
    assert_true(tx_lir_identity(TX_RED_MAX) == -INFINITY);
    assert_true(tx_lir_identity(TX_RED_PROD) == 1.0);
}

/* Size-generic lowering (txc build without --shape): the lookup gives
 * per-axis run-time sizes, n = 0, d = 1, m = 2 (the shapes in the
 * environment are only stand-ins). */
static const char *const gen_syms[] = { "n", "d", "m" };

static bool gen_lookup(void *self, const char *name, tx_varinfo *out) {
    static const int symA[] = { 0, 1 }, symB[] = { 1, 2 }, symX[] = { 0 }, symS[] = { 0, -1 };
    if (!tenv_lookup(self, name, out)) return false;
    if (strcmp(name, "A") == 0) out->symdim = symA;
    else if (strcmp(name, "B") == 0) out->symdim = symB;
    else if (strcmp(name, "X") == 0) out->symdim = symX;
    else if (strcmp(name, "S") == 0) out->symdim = symS;
    return true;
}

static tx_lir_func *lower_gen(fixture *fx, const char *text, const char *ranges, const char **why) {
    const char *err = NULL;
    tx_tir_stmt *s = tdef_parse(fx->a, text, ranges, &err);
    if (!s) fail_msg("parse %s: %s", text, err);
    tx_type ot;
    memset(&ot, 0, sizeof ot);
    ot.dtype = tu_def_dtype(s, &fx->env);
    ot.rank = s->nout;
    for (int k = 0; k < s->nout; k++) ot.dims[k] = s->indices[s->out_idx[k]].extent;
    tx_lookup lk = { gen_lookup, &fx->env };
    return tx_lir_from_def_sym(fx->a, s, &ot, &lk, 3, gen_syms, why);
}

static void size_generic(void **state) {
    fixture *fx = *state;
    const char *why = NULL;
    tx_lir_func *f = lower_gen(fx, "C[i,j] = A[i,k]*B[k,j]", "i:4 j:5 k:3", &why);
    if (!f) fail_msg("not lowered: %s", why);
    char *got = tx_lir_str(f);
    const char *want = "kernel C(sizes n,d,m; out C: f64[n,m], A: f64[n,d], B: f64[d,m]) {\n"
                       "  for i in 0..n {\n"
                       "    for j in 0..m {\n"
                       "      acc0: f64 = 0\n"
                       "      for k in 0..d {\n"
                       "        acc0 += A[i*d + k] * B[k*m + j]\n"
                       "      }\n"
                       "      C[i*m + j] = acc0\n"
                       "    }\n"
                       "  }\n"
                       "}\n";
    if (strcmp(got, want) != 0) {
        print_error("--- got\n%s--- want\n%s", got, want);
        free(got);
        fail();
    }
    free(got);
    assert_true(tx_lir_is_generic(f));
    /* constant axes keep any subscript; their strides carry the sizes */
    f = lower_gen(fx, "Y[i] = S[i,2] - S[i,0]", "i:2", &why);
    if (!f) fail_msg("not lowered: %s", why);
    got = tx_lir_str(f);
    assert_non_null(strstr(got, "for i in 0..n {"));
    assert_non_null(strstr(got, "Y[i] = S[3*i + 2] - S[3*i]"));
    free(got);
    /* what is not in bounds for every size is declined */
    const struct { const char *text, *ranges, *why; } bad[] = {
        { "Y[i] = X[i+1]", "i:7", "not a plain index" },
        { "Y[i] = X[2*i]", "i:4", "not a plain index" },
        { "Y[i] = A[i,0]", "i:4", "not a plain index" },
        { "Y[i] = A[i,k]*A[k,i]", "i:4 k:3", "ranges over both" },
        { "Y[i] = X[i]*W[i]", "i:3", "axis of constant extent" },
    };
    for (size_t q = 0; q < sizeof bad / sizeof *bad; q++) {
        why = NULL;
        if (lower_gen(fx, bad[q].text, bad[q].ranges, &why)) fail_msg("%s: lowered, expected a refusal", bad[q].text);
        if (!why || !strstr(why, bad[q].why)) fail_msg("%s: declined with \"%s\", expected \"%s\"", bad[q].text, why, bad[q].why);
    }
    /* the verifier checks generic kernels at sample sizes: a stride that
     * forgets a size factor is caught */
    f = lower_gen(fx, "C[i,j] = A[i,k]*B[k,j]", "i:4 j:5 k:3", &why);
    tx_lir_stmt *li = f->body.stmts[0], *lj = li->body.stmts[0];
    tx_lir_stmt *st = lj->body.stmts[lj->body.n - 1];
    assert_int_equal(st->kind, TX_LIR_STORE);
    assert_non_null(st->off.sym);
    for (int k = 0; k < st->off.nterms; k++)
        if (st->off.var[k] == li->var) st->off.sym[k].n = 0;   /* C[i + j]: rows overlap, still in bounds */
    if (!tx_lir_verify(f, &why)) fail_msg("C[i + j] should verify: %s", why);
    for (int k = 0; k < st->off.nterms; k++)
        if (st->off.var[k] == lj->var) st->off.sym[k] = (tx_lir_mono){ 1, { 1 } };   /* C[i + j*d]: outside when d > m */
    why = NULL;
    assert_false(tx_lir_verify(f, &why));
    assert_non_null(strstr(why, "outside"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(matmul, setup, teardown),
        cmocka_unit_test_setup_teardown(nested_shadowed_reduction, setup, teardown),
        cmocka_unit_test_setup_teardown(reduction_identities, setup, teardown),
        cmocka_unit_test_setup_teardown(affine_convolution, setup, teardown),
        cmocka_unit_test_setup_teardown(strided_conv2d, setup, teardown),
        cmocka_unit_test_setup_teardown(shifted_output, setup, teardown),
        cmocka_unit_test_setup_teardown(index_values_and_select, setup, teardown),
        cmocka_unit_test_setup_teardown(f32_computes_in_double, setup, teardown),
        cmocka_unit_test_setup_teardown(complex_values, setup, teardown),
        cmocka_unit_test_setup_teardown(constant_subscripts_and_trace, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_ranges, setup, teardown),
        cmocka_unit_test_setup_teardown(jam, setup, teardown),
        cmocka_unit_test_setup_teardown(declines, setup, teardown),
        cmocka_unit_test_setup_teardown(verifier, setup, teardown),
        cmocka_unit_test_setup_teardown(typing, setup, teardown),
        cmocka_unit_test_setup_teardown(size_generic, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
