/*
 * test_blas.c -- the BLAS dispatch of pairwise contractions (ir/blas.c).
 *
 * Every check runs one program twice on the reference evaluator: as it is,
 * and with the BLAS backend installed (wrapping nothing, so whatever BLAS
 * declines the evaluator runs), and requires every listed variable to
 * agree within a tolerance fitting its dtype.  The crossover is set to 0
 * so that small test sizes go through BLAS; the BLAS counters say whether
 * they did (and how many operands or results had to be permuted).
 * Covered: the four dtypes, every transpose of both operands and of the
 * output, batch indices in any position (the output permuted when no
 * group of it has unit stride), grouped indices that fuse and ones that
 * need a copy, gemv on either side, alpha from constants, scalars,
 * elements of tensors, negation and division, `+=`, indices of extent 1,
 * mixed dtypes (declined), the crossover and what the planner reports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "frontend/ast.h"
#include "frontend/sema.h"
#include "ir/blas.h"
#include "ir/interp.h"
#include "ir/plan.h"
#include "ir/tir.h"

typedef struct unit {
    tx_arena *a;
    tx_source *src;
    tx_diags d;
    tx_tir_program *p;
} unit;

static void compile(unit *u, const char *text) {
    memset(u, 0, sizeof *u);
    u->a = tx_arena_new(0);
    u->src = tx_source_new(u->a, "<test>", text, (uint32_t)strlen(text));
    tx_diags_init(&u->d, u->a, u->src);
    tx_ast_program *ast = tx_parse(u->a, u->src, &u->d);
    if (!u->d.nerr) tx_sema(u->a, ast, NULL, &u->d);
    if (!u->d.nerr) u->p = tx_lower(u->a, ast, NULL, &u->d);
    if (!u->d.nerr && u->p) tx_tir_check(u->p, NULL, &u->d);
    if (u->d.nerr || !u->p) {
        for (tx_diag *g = u->d.head; g; g = g->next) fprintf(stderr, "diag: %s\n", g->msg);
        fail_msg("program does not compile:\n%s", text);
    }
}

/* tx_blas_set_tiled_loops for the BLAS runs of run(); inner_jit: with the
 * JIT behind BLAS (else the evaluator runs what BLAS declines) */
static bool tiled, inner_jit;
static tx_jit *JIT;   /* made on first use, freed in teardown */

/* Run text (planned at run time when plan) with or without BLAS. */
static tx_interp *run(const char *text, bool blas, bool plan, unit *u, tx_blas_stats *st) {
    compile(u, text);
    FILE *devnull = fopen("/dev/null", "w");
    tx_interp *in = tx_interp_new(devnull ? devnull : stdout);
    tx_blas *b = NULL;
    if (blas) {
        tx_def_backend jb;
        if (inner_jit) {
            if (!JIT) JIT = tx_jit_new(3, NULL);
            jb = tx_jit_backend(JIT);
        }
        b = tx_blas_new(inner_jit ? &jb : NULL);
        tx_blas_set_tiled_loops(b, tiled);
        tx_def_backend be = tx_blas_backend(b);
        tx_interp_set_backend(in, &be);
    }
    tx_plan_runtime *rt = NULL;
    if (plan) {
        rt = tx_plan_runtime_new(NULL, NULL, u->src);
        tx_def_rewriter rw = tx_plan_rewriter(rt);
        tx_interp_set_rewriter(in, &rw);
    }
    int rc = tx_interp_run(in, u->p, &u->d);
    if (rc) {
        for (tx_diag *g = u->d.head; g; g = g->next) fprintf(stderr, "diag: %s\n", g->msg);
        fail_msg("run failed (blas %d, rc %d):\n%s", blas, rc, text);
    }
    if (st) tx_blas_get_stats(b, st);
    tx_interp_set_backend(in, NULL);
    tx_interp_set_rewriter(in, NULL);
    tx_blas_free(b);
    tx_plan_runtime_free(rt);
    if (devnull) fclose(devnull);   /* print has flushed: nothing more is written */
    return in;
}

static double max_rel_diff(const txrt_tensor *x, const txrt_tensor *y) {
    assert_int_equal(x->rank, y->rank);
    assert_int_equal(x->dtype, y->dtype);
    for (int k = 0; k < x->rank; k++) assert_int_equal(x->shape[k], y->shape[k]);
    double scale = 0, diff = 0;
    for (int64_t p = 0; p < x->size; p++) {
        double a, ai, b, bi;
        txrt_get(x, p, &a, &ai);
        txrt_get(y, p, &b, &bi);
        double s = fabs(a) + fabs(ai);
        if (s > scale) scale = s;
        double d = fabs(a - b) + fabs(ai - bi);
        if (!(d <= diff)) diff = d;
    }
    return scale > 0 ? diff / scale : diff;
}

/* vars must be bound alike in i0 and i1 (within f32 or f64 tolerance). */
static void same_vars(tx_interp *i0, tx_interp *i1, const char *vars, const char *text) {
    char buf[2048];
    snprintf(buf, sizeof buf, "%s", vars);
    for (char *v = strtok(buf, " "); v; v = strtok(NULL, " ")) {
        txrt_tensor *a = tx_interp_get(i0, v), *b = tx_interp_get(i1, v);
        if (!a || !b) fail_msg("'%s' is not bound after the run:\n%s", v, text);
        double tol = a->dtype == TXRT_F32 || a->dtype == TXRT_C64 ? 2e-5 : 1e-12;
        double d = max_rel_diff(a, b);
        if (!(d <= tol)) fail_msg("'%s' differs by %.3g with BLAS (tolerance %.1g):\n%s", v, d, tol, text);
    }
}

/* Run text with and without BLAS; vars must agree.  Returns the BLAS
 * counters of the run with BLAS. */
static tx_blas_stats same(const char *text, const char *vars, bool plan) {
    unit u0, u1;
    tx_blas_stats st;
    tx_interp *i0 = run(text, false, plan, &u0, NULL);
    tx_interp *i1 = run(text, true, plan, &u1, &st);
    same_vars(i0, i1, vars, text);
    tx_interp_free(i0);
    tx_interp_free(i1);
    tx_arena_free(u0.a);
    tx_arena_free(u1.a);
    return st;
}

/* After test_tiled_batches, also when an assertion left it part way: the
 * routing globals and the thread count back to their defaults. */
static int reset_routing(void **state) {
    (void)state;
    tiled = inner_jit = false;
    txrt_set_threads(0);
    return 0;
}

static int setup(void **state) {
    (void)state;
    tx_blas_set_crossover(0);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    tx_blas_set_crossover(-1);   /* back to the measured default */
    tx_jit_free(JIT);
    JIT = NULL;
    tx_cg_shutdown();
    return 0;
}

#define OPERANDS                                                                                           \
    "A = randn(7, 5, seed=1)\nAt = randn(5, 7, seed=2)\nB = randn(5, 6, seed=3)\nBt = randn(6, 5, seed=4)\n"

/* ---- dtypes ---- */

static void test_dtypes(void **state) {
    (void)state;
    const char *text = OPERANDS
        "C[i,j] = A[i,k] * B[k,j]\n"
        "A32 = cast(A, \"f32\")\nB32 = cast(B, \"f32\")\nC32[i,j] = A32[i,k] * B32[k,j]\n"
        "Z[i,k] = A[i,k] + 1j * At[k,i]\nW[k,j] = B[k,j] - 2j * Bt[j,k]\nCz[i,j] = Z[i,k] * W[k,j]\n"
        "Z64 = cast(Z, \"c64\")\nW64 = cast(W, \"c64\")\nCz64[i,j] = Z64[i,k] * W64[k,j]\n";
    tx_blas_stats st = same(text, "C C32 Cz Cz64", false);
    assert_int_equal(st.ndefs, 4);
    assert_int_equal(st.ngemm, 4);
    assert_int_equal(st.ncopies, 0);
}

/* ---- every transpose of A, B and the output ---- */

static void test_transposes(void **state) {
    (void)state;
    const char *text = OPERANDS
        "C1[i,j] = A[i,k] * B[k,j]\n"
        "C2[i,j] = At[k,i] * B[k,j]\n"
        "C3[i,j] = A[i,k] * Bt[j,k]\n"
        "C4[i,j] = At[k,i] * Bt[j,k]\n"
        "D1[j,i] = A[i,k] * B[k,j]\n"
        "D2[j,i] = At[k,i] * B[k,j]\n"
        "D3[j,i] = A[i,k] * Bt[j,k]\n"
        "D4[j,i] = At[k,i] * Bt[j,k]\n"
        "E1[i,j] = B[k,j] * A[i,k]\n"
        "E2[j,i] = Bt[j,k] * At[k,i]\n";
    tx_blas_stats st = same(text, "C1 C2 C3 C4 D1 D2 D3 D4 E1 E2", false);
    assert_int_equal(st.ndefs, 10);
    assert_int_equal(st.ncopies, 0);
    /* complex, transposed (not conjugated) */
    const char *ctext = OPERANDS
        "Z[i,k] = A[i,k] + 1j * At[k,i]\nZt[k,i] = Z[i,k]\nW[k,j] = B[k,j] - 2j * Bt[j,k]\nWt[j,k] = W[k,j]\n"
        "C1[i,j] = Z[i,k] * W[k,j]\nC2[i,j] = Zt[k,i] * W[k,j]\nC3[i,j] = Z[i,k] * Wt[j,k]\nC4[j,i] = Zt[k,i] * Wt[j,k]\n";
    st = same(ctext, "C1 C2 C3 C4", false);
    assert_int_equal(st.ndefs, 4);
}

/* ---- an operand times its own transpose: ?syrk, the lower triangle mirrored ---- */

static void test_syrk(void **state) {
    (void)state;
    const char *text = OPERANDS
        "G1[i,j] = A[i,k] * A[j,k]\n"            /* A A^T */
        "G2[p,q] = A[i,p] * A[i,q] / 3\n"        /* A^T A, alpha */
        "G3[q,p] = A[i,p] * A[i,q]\n"            /* output transposed: still symmetric */
        "A32 = cast(A, \"f32\")\nS32[p,q] = A32[i,p] * A32[i,q]\n"
        "Z[i,k] = A[i,k] + 1j * At[k,i]\nSz[i,j] = Z[i,k] * Z[j,k]\n"   /* complex: symmetric, no conjugate */
        "Z64 = cast(Z, \"c64\")\nSz64[p,q] = Z64[i,p] * Z64[i,q]\n"
        "Bb = randn(3, 7, 5, seed=9)\nGb[b,i,j] = Bb[b,i,k] * Bb[b,j,k]\n"   /* batched */
        "N1[i,j] = A[i,k] * At[k,j]\n";          /* two tensors: a gemm */
    tx_blas_stats st = same(text, "G1 G2 G3 S32 Sz Sz64 Gb N1", true);   /* planned: / 3 becomes alpha */
    assert_int_equal(st.ndefs, 8);
    assert_int_equal(st.nsyrk, 6 + 3);
    assert_int_equal(st.ngemm, 1);
    assert_int_equal(st.ncopies, 0);
}

/* ---- batches ---- */

static void test_batched(void **state) {
    (void)state;
    const char *text =
        "A = randn(3, 7, 5, seed=1)\nB = randn(3, 5, 6, seed=2)\n"
        "Ai = randn(7, 3, 5, seed=3)\nBk = randn(5, 3, 6, seed=4)\n"
        "C1[b,i,j] = A[b,i,k] * B[b,k,j]\n"       /* batch outermost everywhere */
        "C2[i,b,j] = Ai[i,b,k] * Bk[k,b,j]\n"     /* batch in the middle */
        "C3[b,j,i] = A[b,i,k] * B[b,k,j]\n"       /* transposed output */
        "C4[i,j,b] = A[b,i,k] * B[b,k,j]\n";      /* no unit stride in i or j: through a temporary */
    tx_blas_stats st = same(text, "C1 C2 C3 C4", false);
    assert_int_equal(st.ndefs, 4);
    assert_int_equal(st.ngemm, 12);
    assert_int_equal(st.ncopies, 1);
}

/* With a backend that compiles register tiles, the products that tile
 * (along the output's unit-stride index, which the operand holding it
 * shares) and that ir/blas.c's measured rule gives the loops are left to
 * it: batches, short output rows, short sums, thin products and mid-size
 * single products; small single products, operands without the unit
 * stride and rows shorter than a vector stay with BLAS. */
static void test_tiled_batches(void **state) {
    (void)state;
    const char *text =
        "A = randn(4, 40, 6, seed=1)\nB = randn(4, 6, 40, seed=2)\nBt = randn(4, 40, 6, seed=3)\n"
        "A2 = randn(40, 6, seed=4)\nB2 = randn(6, 40, seed=5)\nB5 = randn(4, 6, 20, seed=6)\n"
        "C1[b,i,j] = A[b,i,k] * B[b,k,j]\n"      /* tiles along j: the loops' */
        "C2[b,j,i] = A[b,i,k] * B[b,k,j]\n"      /* unit stride in i, which A lacks */
        "C3[b,i,j] = A[b,i,k] * Bt[b,j,k]\n"     /* B not unit-stride along j */
        "C4[i,j] = A2[i,k] * B2[k,j]\n"          /* one product */
        "C5[b,i,j] = A[b,i,k] * B5[b,k,j]\n"     /* j 20 long: one row of the tile, the loops' */
        "A6 = randn(1024, 64, seed=7)\nB6 = randn(64, 64, seed=8)\n"
        "C6[i,j] = A6[i,k] * B6[k,j]\n"         /* one thin product, 4.2M multiply-adds: the loops' */
        "B7 = randn(6, 20, seed=9)\nB8 = randn(6, 4, seed=10)\n"
        "C7[i,j] = A2[i,k] * B7[k,j]\n"         /* one small product, j 20 long: the loops' */
        "C8[i,j] = A2[i,k] * B8[k,j]\n"         /* j 4 long, shorter than a vector */
        "X9 = randn(6, 10, 5, seed=11)\nB9 = randn(5, 16, seed=12)\n"
        "C9[i,j,r] = X9[i,j,k] * B9[k,r]\n"      /* rows (i,j), r 16 long: the loops' */
        "A10 = randn(512, 64, seed=13)\nB10 = randn(64, 512, seed=14)\n"
        "C10[i,j] = A10[i,k] * B10[k,j]\n"       /* a sum 64 long, 16.8M multiply-adds: the loops' */
        "A11 = randn(96, 160, seed=15)\nB11 = randn(160, 96, seed=17)\n"
        "C11[i,j] = A11[i,k] * B11[k,j]\n"       /* one product, a sum 160 long, 1.5M multiply-adds: BLAS's */
        "A13 = randn(160, 160, seed=18)\n"
        "C13[i,j] = A13[i,k] * A13[k,j]\n"       /* one product of 4.1M multiply-adds: the loops' */
        "B12 = randn(512, 64, seed=16)\n"
        "C12[i,j] = sum[k](A10[i,k] * B12[j,k]) / 8\n";  /* B read across its rows: the loops', on B transposed */
    /* the JIT behind BLAS runs the loops (B12 transposed first) */
    tiled = inner_jit = true;
    tx_blas_stats st = same(text, "C1 C2 C3 C4 C5 C6 C7 C8 C9 C10 C11 C12 C13", false);
    assert_int_equal(st.ndefs, 5);
    assert_int_equal(st.npassed, 8);
    assert_int_equal(st.ntransposed, 1);
    /* without a backend behind BLAS to run loops, BLAS runs them all */
    inner_jit = false;
    st = same(text, "C1 C2 C3 C4 C5 C6 C7 C8 C9 C10 C11 C12 C13", false);
    assert_int_equal(st.ndefs, 13);
    assert_int_equal(st.ntransposed, 0);
    /* nor without tiles */
    tiled = false;
    st = same(text, "C1 C2 C3 C4 C5 C6 C7 C8 C9 C10 C11 C12 C13", false);
    assert_int_equal(st.ndefs, 13);
    /* three products of 4.1M multiply-adds: on two threads one would wait
     * for the third, so BLAS keeps them; on one thread the loops take them */
    const char *text3 = "A = randn(3, 160, 160, seed=1)\nB = randn(3, 160, 160, seed=2)\n"
                        "C[b,i,j] = A[b,i,k] * B[b,k,j]\n";
    tiled = inner_jit = true;
    txrt_set_threads(2);
    st = same(text3, "C", false);
    assert_int_equal(st.ndefs, 1);
    txrt_set_threads(1);
    st = same(text3, "C", false);
    assert_int_equal(st.npassed, 1);
    txrt_set_threads(0);
    tiled = inner_jit = false;
}

/* Consecutive factorizations of small matrices run side by side when a
 * backend runs the program and there are two threads: the same results as
 * one by one, and never when the second reads what the first binds. */
static void test_factors_side_by_side(void **state) {
    (void)state;
    const char *text =
        "A1 = randn(24, 24, seed=1)\nA2 = randn(30, 20, seed=2)\n"
        "B2 = randn(20, 20, seed=3)\n"
        /* elementwise, so both runs factor the very same matrices */
        "S1[i,j] = A1[i,j] + A1[j,i] + 48*(i == j)\nS2[i,j] = B2[i,j] + B2[j,i] + 40*(i == j)\n"
        "w1, U1 = eigh(S1)\nw2, U2 = eigh(S2)\n"             /* a pair */
        "Q1, R1 = qr(A1)\nU, s, Vt = svd(A2)\n"             /* a pair */
        "L1 = cholesky(S1)\nL2 = cholesky(S2)\n"            /* a pair */
        "w3, U3 = eigh(S2)\nw4, U4 = eigh(U3)\n";           /* the second reads the first: one by one */
    const char *vars = "w1 U1 w2 U2 Q1 R1 U s Vt L1 L2 w3 U3 w4 U4";
    for (int threads = 1; threads <= 2; threads++) {
        txrt_set_threads(threads);
        unit u0, u1;
        tx_interp *i0 = run(text, false, false, &u0, NULL);
        tx_interp *i1 = run(text, true, false, &u1, NULL);
        assert_int_equal(tx_interp_side_by_side(i0), 0);   /* the plain evaluator: one by one */
        assert_int_equal(tx_interp_side_by_side(i1), threads == 2 ? 3 : 0);
        same_vars(i0, i1, vars, text);
        tx_interp_free(i0);
        tx_interp_free(i1);
        tx_arena_free(u0.a);
        tx_arena_free(u1.a);
    }
    txrt_set_threads(0);
}

/* ---- groups of indices: fused in place, or copied ---- */

static void test_groups(void **state) {
    (void)state;
    const char *text =
        "V = randn(4, 3, 5, 2, seed=1)\nT = randn(5, 2, 3, 4, seed=2)\n"
        "R1[a,b,i,j] = V[a,b,c,d] * T[c,d,i,j]\n"          /* M=(a,b) K=(c,d) N=(i,j): one gemm */
        "R2[i,j,a,b] = V[a,b,c,d] * T[c,d,i,j]\n"          /* output as N x M: swapped */
        "V2 = randn(4, 3, 2, 5, seed=3)\n"
        "R3[a,b,i,j] = V2[a,b,d,c] * T[c,d,i,j]\n"         /* d,c order differs: K from the larger side */
        "R4[b,a,i,j] = V[a,b,c,d] * T[c,d,i,j]\n"          /* M order from the output: V copied */
        "R5[a,i,b,j] = V[a,b,c,d] * T[c,d,i,j]\n";         /* M split in the output: output copied */
    tx_blas_stats st = same(text, "R1 R2 R3 R4 R5", false);
    assert_int_equal(st.ndefs, 5);
    assert_int_equal(st.ngemm, 5);
    assert_int_equal(st.ncopies, 3);
}

/* ---- every layout of a 3-index by 2-index product ----
 * All orders of A[i,j,k], B[k,b] and the output [i,j,b]: in place, copied,
 * or with a free index turned into a batch loop (an output [i,b,j] is
 * computed as one in-place product per i rather than permuted). */

static void test_layouts(void **state) {
    (void)state;
    static const char *p3[6] = { "i,j,k", "i,k,j", "j,i,k", "j,k,i", "k,i,j", "k,j,i" };
    static const char *po[6] = { "i,j,b", "i,b,j", "j,i,b", "j,b,i", "b,i,j", "b,j,i" };
    static const char *p2[2] = { "k,b", "b,k" };
    int ext['z' + 1];
    ext['i'] = 5;
    ext['j'] = 9;
    ext['k'] = 7;
    ext['b'] = 11;
    char text[8192];
    int pos = 0, nout = 0;
    char vars[2048];
    int vp = 0;
    for (int a = 0; a < 6; a++) {
        pos += snprintf(text + pos, sizeof text - (size_t)pos, "A%d = randn(%d, %d, %d, seed=%d)\n", a, ext[(int)p3[a][0]],
                        ext[(int)p3[a][2]], ext[(int)p3[a][4]], a + 1);
    }
    for (int c = 0; c < 2; c++)
        pos += snprintf(text + pos, sizeof text - (size_t)pos, "B%d = randn(%d, %d, seed=%d)\n", c, ext[(int)p2[c][0]],
                        ext[(int)p2[c][2]], c + 10);
    for (int a = 0; a < 6; a++)
        for (int c = 0; c < 2; c++)
            for (int o = 0; o < 6; o += (a + c) % 2 ? 1 : 2) {
                pos += snprintf(text + pos, sizeof text - (size_t)pos, "R%d[%s] = A%d[%s] * B%d[%s]\n", nout, po[o], a,
                                p3[a], c, p2[c]);
                vp += snprintf(vars + vp, sizeof vars - (size_t)vp, "R%d ", nout);
                nout++;
            }
    tx_blas_stats st = same(text, vars, false);
    assert_int_equal(st.ndefs, nout);
    /* the batch-loop form: out[i,b,j] over 4 in-place products, no copy */
    const char *promo = "A = randn(4, 64, 64, seed=1)\nV = randn(64, 16, seed=2)\nP[i,b,j] = A[i,j,k] * V[k,b]\n";
    st = same(promo, "P", false);
    assert_int_equal(st.ndefs, 1);
    assert_int_equal(st.ncopies, 0);
    assert_int_equal(st.ngemm, 4);
}

/* ---- matrix-vector products ---- */

static void test_gemv(void **state) {
    (void)state;
    const char *text = OPERANDS
        "x = randn(5, seed=7)\ny = randn(7, seed=8)\nX = randn(3, 5, seed=9)\n"
        "v1[i] = A[i,k] * x[k]\n"
        "v2[i] = At[k,i] * x[k]\n"
        "v3[j] = x[k] * B[k,j]\n"
        "v4[j] = Bt[j,k] * x[k]\n"
        "v5[k] = y[i] * A[i,k]\n"
        "v6[b,i] = A[i,k] * X[b,k]\n"        /* gemm, in fact */
        "v7[i,b] = X[b,k] * At[k,i]\n"
        "Ab = randn(3, 7, 5, seed=10)\n"
        "v8[i,b] = Ab[b,i,k] * X[b,k]\n";    /* batched gemv, strided output */
    tx_blas_stats st = same(text, "v1 v2 v3 v4 v5 v6 v7 v8", false);
    assert_int_equal(st.ndefs, 8);
    assert_int_equal(st.ngemv, 5 + 3);
    assert_int_equal(st.ngemm, 2);
    /* complex */
    const char *ctext = OPERANDS
        "Z[i,k] = A[i,k] + 1j * At[k,i]\nz[k] = B[k,0] + 0.5j * B[k,1]\n"
        "u1[i] = Z[i,k] * z[k]\nu2[k] = Z[i,k] * z[k] * 0 + Z[i,k] * Z[i,k]\nu3[i] = z[k] * Z[i,k]\n"
        "Zc = cast(Z, \"c64\")\nzc = cast(z, \"c64\")\nu4[i] = Zc[i,k] * zc[k]\n";
    st = same(ctext, "u1 u2 u3 u4", false);
    assert_int_equal(st.ngemv, 3);
}

/* ---- alpha: scalar factors around the sum ---- */

static void test_alpha(void **state) {
    (void)state;
    const char *text = OPERANDS
        "s = 2.5\nW = randn(3, 4, seed=5)\n"
        "C1[i,j] = sum[k](A[i,k] * B[k,j]) * s\n"
        "C2[i,j] = sum[k](A[i,k] * B[k,j]) / 4\n"
        "C3[i,j] = -sum[k](A[i,k] * B[k,j])\n"
        "C4[i,j] = s * sum[k](A[i,k] * B[k,j]) * W[1,2] / W[-1,0]\n"
        "C5[j,i] = -(sum[k](At[k,i] * Bt[j,k]) / s) * 3\n"
        "Z[i,k] = A[i,k] + 1j * At[k,i]\nzs = 1 - 2j\n"
        "C6[i,j] = sum[k](Z[i,k] * B[k,j] * 1j)\n"
        "C7[i] = sum[k](Z[i,k] * Z[i,k]) * zs / (2 + 1j)\n"
        "B2[k,j] = B[k,j] + 0j\nC8[i,j] = sum[k](Z[i,k] * B2[k,j]) * zs / 2j\n";
    tx_blas_stats st = same(text, "C1 C2 C3 C4 C5 C6 C7 C8", false);
    /* C6: the 1j sits inside the sum (not a product of two plain tensors);
     * C7: a dot product per row: both are left to the loops */
    assert_int_equal(st.ndefs, 6);
    /* planned: the planner hoists scalars out of the sum, BLAS takes alpha */
    const char *ptext = OPERANDS
        "s = 2.5\nC1[i,j] = A[i,k] * B[k,j] * s\nC2[i,j] = A[i,k] * B[k,j] / s * 2\n"
        "C3[j,i] = -A[i,k] * Bt[j,k] * 3\n";
    st = same(ptext, "C1 C2 C3", true);
    assert_int_equal(st.ndefs, 3);
}

/* ---- +=, extents of 1, declined shapes and dtypes ---- */

static void test_accumulate_and_edges(void **state) {
    (void)state;
    const char *text = OPERANDS
        "C = randn(7, 6, seed=11)\nC[i,j] += A[i,k] * B[k,j]\n"
        "R = randn(1, 5, seed=12)\nr1[a,j] = R[a,k] * B[k,j]\n"          /* a of extent 1: gemv */
        "S = randn(5, 1, seed=13)\nr2[i,c] = A[i,k] * S[k,c]\n"          /* c of extent 1: gemv */
        "O[i,j] = A[i,0] * B[0,j]\n"                                      /* constant subscripts: loops */
        "Dt[i] = A[i,k] * A[i,k]\n";                                      /* hadamard-dot: loops */
    tx_blas_stats st = same(text, "C r1 r2 O Dt", false);
    assert_int_equal(st.ndefs, 3);
    assert_int_equal(st.ngemm, 1);
    assert_int_equal(st.ngemv, 2);
    /* mixed dtypes stay with the evaluator */
    const char *mixed = OPERANDS "A32 = cast(A, \"f32\")\nC[i,j] = A32[i,k] * B[k,j]\n"
                                 "Z[k,j] = B[k,j] + 1j\nCz[i,j] = A[i,k] * Z[k,j]\n";
    st = same(mixed, "C Cz", false);
    assert_int_equal(st.ndefs, 0);
    assert_int_equal(st.npassed, 3);   /* C, Z and Cz */
}

/* ---- the crossover, and what the planner reports ---- */

static void test_crossover_and_plan(void **state) {
    (void)state;
    tx_blas_set_crossover(-1);   /* the measured default */
    const char *text = "A = randn(4, 4, seed=1)\nB = randn(4, 4, seed=2)\nC[i,j] = A[i,k] * B[k,j]\n"
                       "P = randn(64, 64, seed=3)\nQ = randn(64, 64, seed=4)\nR[i,j] = P[i,k] * Q[k,j]\n";
    tx_blas_stats st = same(text, "C R", false);
    assert_int_equal(st.ndefs, 1);   /* the 4x4 product stays in loops */
    /* the planner marks steps by the same predicate */
    const char *chain = "A = randn(300, 20, seed=1)\nB = randn(20, 300, seed=2)\nC = randn(300, 3, seed=3)\n"
                        "x = randn(2, seed=4)\ny = randn(2, seed=5)\nz = randn(2, seed=6)\n"
                        "D[i,l] = A[i,j] * B[j,k] * C[k,l]\n"
                        "e = x[i] * y[i] * z[i]\n";
    unit u;
    compile(&u, chain);
    tx_plan_report rep = { 0 };
    tx_plan_program(u.a, u.p, NULL, &rep);
    int nblas = 0, nsteps = 0;
    for (int s = 0; s < rep.n; s++)
        for (int c = 0; c < rep.v[s]->ncontr; c++)
            for (int k = 0; k < rep.v[s]->contr[c].nsteps; k++) {
                const tx_plan_step *stp = &rep.v[s]->contr[c].steps[k];
                nsteps++;
                nblas += stp->gemm.blas;
                if (strcmp(rep.v[s]->def->out, "D") == 0) assert_true(stp->gemm.blas);
            }
    assert_true(nsteps >= 4);
    assert_int_equal(nblas, 2);
    tx_arena_free(u.a);
    tx_blas_set_crossover(0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dtypes),
        cmocka_unit_test(test_transposes),
        cmocka_unit_test(test_syrk),
        cmocka_unit_test(test_batched),
        cmocka_unit_test_teardown(test_tiled_batches, reset_routing),
        cmocka_unit_test(test_factors_side_by_side),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_gemv),
        cmocka_unit_test(test_alpha),
        cmocka_unit_test(test_accumulate_and_edges),
        cmocka_unit_test(test_crossover_and_plan),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
