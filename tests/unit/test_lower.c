/*
 * test_lower.c -- AST -> tensor IR (ir/lower.c) and its printer
 * (ir/tir_print.c).
 *
 * Each test parses and checks a small program, lowers it, and compares the
 * printed TIR (tx_tir_print, one statement per line) with the expected
 * text; some tests also look at the structures (index ids, whole flags,
 * resolved functions) that the text cannot show.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/ast.h"
#include "frontend/builtins.h"
#include "frontend/sema.h"
#include "ir/tir.h"

typedef struct unit {
    tx_arena *a;
    tx_source *src;
    tx_diags d;
    tx_ast_program *ast;
    tx_tir_program *tir;
    char *text;   /* printed program */
    char *diags;  /* rendered diagnostics */
} unit;

static unit U, U2; /* the current test's units; freed by teardown */

static void unit_free(unit *u) {
    tx_arena_free(u->a);
    memset(u, 0, sizeof *u);
}

static int teardown(void **state) {
    (void)state;
    unit_free(&U);
    unit_free(&U2);
    return 0;
}

static char *render_diags(unit *u) {
    size_t cap = 1 << 13, len = 0;
    char *buf = tx_arena_alloc(u->a, cap);
    for (tx_diag *g = u->d.head; g; g = g->next) {
        uint32_t l, c;
        tx_source_linecol(u->src, g->span.lo, &l, &c);
        len += (size_t)snprintf(buf + len, cap - len, "%u:%u-%u: %s%s%s%s\n", l, c, c + (g->span.hi - g->span.lo),
                                g->msg, g->hint ? " [hint: " : "", g->hint ? g->hint : "", g->hint ? "]" : "");
        if (len >= cap - 1) break;
    }
    return buf;
}

/* Parse, check and lower text into u (prev/globals for REPL units). */
static unit *lower_into(unit *u, const char *text, const tx_tir_program *prev, const tx_sema_outer *outer,
                        const tx_lookup *lk) {
    unit_free(u);
    u->a = tx_arena_new(0);
    u->src = tx_source_new(u->a, "t.tx", text, (uint32_t)strlen(text));
    tx_diags_init(&u->d, u->a, u->src);
    u->ast = tx_parse(u->a, u->src, &u->d);
    if (!u->d.nerr) tx_sema(u->a, u->ast, outer, &u->d);
    if (u->d.nerr) fail_msg("front end failed:\n%s", render_diags(u));
    u->tir = tx_lower_with(u->a, u->ast, prev, lk, &u->d);
    u->diags = render_diags(u);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tx_tir_print(f, u->tir);
    fclose(f);
    u->text = tx_arena_strndup(u->a, buf, len);
    free(buf);
    return u;
}

static unit *lower(const char *text) {
    unit *u = lower_into(&U, text, NULL, NULL, NULL);
    if (u->d.nerr) fail_msg("lowering failed:\n%s", u->diags);
    return u;
}

/* The printed program must be exactly `want`. */
#define EXPECT_TIR(src, want)                        \
    do {                                             \
        unit *u_ = lower(src);                       \
        assert_string_equal(u_->text, want);         \
    } while (0)

/* Lowering must report exactly `want`. */
#define EXPECT_LOWER_ERROR(src, want)                              \
    do {                                                           \
        unit *u_ = lower_into(&U, src, NULL, NULL, NULL);          \
        assert_string_equal(u_->diags, want);                      \
    } while (0)

static tx_tir_stmt *stmt(int k) {
    assert_true(k < U.tir->nstmts);
    return U.tir->stmts[k];
}

/* ---- index notation ------------------------------------------------------------ */

static void implicit_sums(void **state) {
    (void)state;
    EXPECT_TIR("A = eye(3)\nB = eye(3)\nC[i,j] = A[i,k] * B[k,j]\n",
               "A = eye(3)\nB = eye(3)\nC[i,j] = sum[k](A[i,k] * B[k,j])\n");
    lower("A = eye(3)\nB = eye(3)\nC[i,j] = A[i,k] * B[k,j]\n");
    tx_tir_stmt *d = stmt(2);
    assert_int_equal(d->kind, TX_TIR_DEF);
    assert_int_equal(d->nout, 2);
    assert_int_equal(d->nindices, 3);
    assert_int_equal(d->out_idx[0], 0);
    assert_int_equal(d->out_idx[1], 1);
    assert_string_equal(d->indices[2].name, "k");
    assert_int_equal(d->indices[2].extent, -1);
    assert_false(d->ellipsis);
    assert_int_equal(d->rhs->kind, TX_TIR_REDUCE);
    assert_int_equal(d->rhs->redop, TX_RED_SUM);
    assert_int_equal(d->rhs->nidx, 1);
    assert_int_equal(d->rhs->idx[0], 2);
    tx_tir_expr *acc = d->rhs->a->a; /* A[i,k] */
    assert_int_equal(acc->kind, TX_TIR_ACCESS);
    assert_false(acc->whole);
    assert_int_equal(acc->nsubs, 2);
    assert_int_equal(acc->subs[1].nterms, 1);
    assert_int_equal(acc->subs[1].idx[0], 2);
    assert_int_equal(acc->subs[1].coef[0], 1);
    assert_int_equal(acc->subs[1].c0, 0);

    /* trace, partial sums, every index summed when the target is a plain name */
    EXPECT_TIR("A = eye(3)\nt = A[i,i]\n", "A = eye(3)\nt = sum[i](A[i,i])\n");
    EXPECT_TIR("A = randn(2, 3, 4)\nD[i] = A[i,j,k]\n", "A = randn(2, 3, 4)\nD[i] = sum[j,k](A[i,j,k])\n");
    /* the whole right-hand side is summed: C added once per k */
    EXPECT_TIR("A = eye(2)\nS[i,j] = A[i,k]*A[k,j] + A[i,j]\n",
               "A = eye(2)\nS[i,j] = sum[k](A[i,k] * A[k,j] + A[i,j])\n");
    /* constant subscripts only: no reduction at all */
    EXPECT_TIR("A = eye(2)\nx = A[0,1] * 2\n", "A = eye(2)\nx = A[0,1] * 2\n");
    /* X[] = ...: rank-0 indexed target */
    EXPECT_TIR("v = ones(3)\nX[] = v[i]\n", "v = ones(3)\nX = sum[i](v[i])\n");
}

static void nested_reductions_get_their_own_ids(void **state) {
    (void)state;
    EXPECT_TIR("S = eye(3)\nV = eye(3)\nO[i,b] = S[i,j]*V[j,b] / sum[j](S[i,j])\n",
               "S = eye(3)\nV = eye(3)\nO[i,b] = sum[j](S[i,j] * V[j,b] / sum[j'1](S[i,j'1]))\n");
    lower("S = eye(3)\nV = eye(3)\nO[i,b] = S[i,j]*V[j,b] / sum[j](S[i,j])\n");
    tx_tir_stmt *d = stmt(2);
    assert_int_equal(d->nindices, 4); /* i, b, j (implicit), j (explicit) */
    assert_string_equal(d->indices[3].name, "j");
    tx_tir_expr *inner = d->rhs->a->b; /* sum[j'1](...) */
    assert_int_equal(inner->kind, TX_TIR_REDUCE);
    assert_int_equal(inner->idx[0], 3);
    assert_int_equal(inner->a->subs[1].idx[0], 3);
    assert_int_equal(d->rhs->a->a->a->subs[1].idx[0], 2); /* S[i,j] outside: the implicit j */

    /* explicit reductions, several indices, nested non-linear functions */
    EXPECT_TIR("Q = eye(2)\nK = eye(2)\nA[i,j] = exp(sum[a](Q[i,a]*K[j,a]))\n",
               "Q = eye(2)\nK = eye(2)\nA[i,j] = exp(sum[a](Q[i,a] * K[j,a]))\n");
    EXPECT_TIR("A = randn(2, 2, 2)\nM[i] = max[j,k](A[i,j,k]) - min[j](prod[k](A[i,j,k]))\n",
               "A = randn(2, 2, 2)\nM[i] = max[j,k](A[i,j,k]) - min[j'1](prod[k'1](A[i,j'1,k'1]))\n");
    /* sum[j] inside sum[j]: three distinct j */
    EXPECT_TIR("A = eye(3)\nX[i] = A[i,j] * sum[j](A[i,j] * sum[j](A[j,i]))\n",
               "A = eye(3)\nX[i] = sum[j](A[i,j] * sum[j'1](A[i,j'1] * sum[j'2](A[j'2,i])))\n");
}

static void affine_subscripts(void **state) {
    (void)state;
    EXPECT_TIR("X = ones(9)\nW = ones(3)\nY[i] = X[2*i+k-1] * W[k]\n",
               "X = ones(9)\nW = ones(3)\nY[i] = sum[k](X[2*i+k-1] * W[k])\n");
    EXPECT_TIR("v = ones(9)\ny[i] = v[i+i] + v[(i+1)*2] + v[k*3] + v[i-1] + v[-i+4] + v[i-i+2] + v[2*(3-1)]\n",
               "v = ones(9)\ny[i] = sum[k](v[2*i] + v[2*i+2] + v[3*k] + v[i-1] + v[-i+4] + v[2] + v[4])\n");
    /* negative constants count from the end (kept as written) */
    EXPECT_TIR("A = eye(3)\nr[j] = A[-1,j]\n", "A = eye(3)\nr[j] = A[-1,j]\n");
    /* lets with literal values fold */
    EXPECT_TIR("let n = 4\nlet m = 2*n - 1\nA = eye(n)\nr[j] = A[n-1,j] + A[m-4,j] + A[n/2,j]\n",
               "let n = 4\nlet m = 2 * n - 1\nA = eye(n)\nr[j] = A[3,j] + A[3,j] + A[2,j]\n");
    lower("X = ones(9)\nY[i] = X[3-2*i+4]\n");
    tx_tir_affine *af = &stmt(1)->rhs->subs[0];
    assert_int_equal(af->nterms, 1);
    assert_int_equal(af->coef[0], -2);
    assert_int_equal(af->c0, 7);
}

static void non_affine_subscripts_are_errors(void **state) {
    (void)state;
    const char *aff = "subscript must be affine in the indices with integer coefficients, e.g. X[2*i+k-1]";
    char want[512];
    snprintf(want, sizeof want, "2:12-15: %s\n", aff);
    EXPECT_LOWER_ERROR("A = eye(3)\nY[i,j] = A[i*j,0]\n", want);
    snprintf(want, sizeof want, "2:10-13: %s\n", aff);
    EXPECT_LOWER_ERROR("v = ones(3)\nY[i] = v[i/2]\n", want);
    /* run-time positions (for variables, computed lets, sizes) become slices */
    EXPECT_TIR("A = eye(3)\nfor t in 0..3 { r[j] = A[t,j] }\n",
               "A = eye(3)\nfor t in 0..3 {\n  %1 = %take(A, t, \":\")\n  r[j] = %1[j]\n}\n");
    EXPECT_TIR("A = eye(3)\nlet n = dim(A, 0)\nr[j] = A[n-1,j]\n",
               "A = eye(3)\nn = dim(A, 0)\n%1 = %take(A, n - 1, \":\")\nr[j] = %1[j]\n");
    EXPECT_LOWER_ERROR("A = eye(3)\nfor t in 0..3 { r[j] = A[t+j,j] }\n",
                       "2:26-27: for variable 't' is known only at run time: it cannot be combined with an index "
                       "in one subscript [hint: use it as a subscript on its own (X[t, j]), or select with a "
                       "Kronecker delta, e.g. sum[q](X[q,j] * (q == t + i))]\n");
    EXPECT_LOWER_ERROR("def f(A[n, k]) -> B[k] { B[j] = A[n-j,j] }\n",
                       "1:35-36: size 'n' is known only at run time: it cannot be combined with an index "
                       "in one subscript [hint: use it as a subscript on its own (X[n, j]), or select with a "
                       "Kronecker delta, e.g. sum[q](X[q,j] * (q == n + i))]\n");
    EXPECT_LOWER_ERROR("let h = 0.5\nA = eye(3)\nr[j] = A[h,j]\n",
                       "3:10-11: subscript uses let 'h' = 0.5, which is not a whole number\n");
    EXPECT_LOWER_ERROR("def f(A[n]) -> B { B = A[n-1] }\n", "");   /* a size as a position: a slice */
    /* several errors in one unit are all reported */
    lower_into(&U, "A = eye(3)\nY[i,j] = A[i*j,0]\nZ[i] = A[i/2,i]\n", NULL, NULL, NULL);
    assert_int_equal(U.d.nerr, 2);
}

static void indices_as_values(void **state) {
    (void)state;
    EXPECT_TIR("A = eye(3)\nE[i,j] = (i == j) * A[i,j] + i\n", "A = eye(3)\nE[i,j] = (i == j) * A[i,j] + i\n");
    lower("A = eye(3)\nE[i,j] = (i == j) * A[i,j]\n");
    tx_tir_expr *cmp = stmt(1)->rhs->a;
    assert_int_equal(cmp->kind, TX_TIR_BINARY);
    assert_int_equal(cmp->op, TX_TOP_EQ);
    assert_int_equal(cmp->a->kind, TX_TIR_INDEX);
    assert_int_equal(cmp->a->index, 0);
    assert_int_equal(cmp->b->kind, TX_TIR_INDEX);
    assert_int_equal(cmp->b->index, 1);
    /* a scalar tensor, a let, a size inside index notation: rank-0 accesses */
    EXPECT_TIR("let n = 2\ns = 3\nX = ones(2)\nY[i] = s * X[i] / n\n",
               "let n = 2\ns[...] = 3\nX = ones(2)\nY[i] = s * X[i] / n\n");
    lower("let n = 2\ns = 3\nX = ones(2)\nY[i] = s * X[i] / n\n");
    tx_tir_expr *sacc = stmt(3)->rhs->a->a;
    assert_int_equal(sacc->kind, TX_TIR_ACCESS);
    assert_int_equal(sacc->nsubs, 0);
    assert_false(sacc->whole);
    assert_false(sacc->let_const);    /* s is a tensor: its value may change */
    /* the let keeps its name in the TIR and carries its value for kernels */
    tx_tir_expr *nacc = stmt(3)->rhs->b;
    assert_int_equal(nacc->kind, TX_TIR_ACCESS);
    assert_string_equal(nacc->var, "n");
    assert_true(nacc->let_const);
    assert_true(nacc->re == 2);
    lower("let n = 2\nlet h = n / 3\nX = ones(2)\nY[i] = X[i] * h\n");
    tx_tir_expr *hacc = stmt(3)->rhs->b;
    assert_true(hacc->let_const);
    assert_true(hacc->re == 2.0 / 3.0);
}

static void index_declarations(void **state) {
    (void)state;
    EXPECT_TIR("let n = 5\nindex i, j : n\nX[i] = i\nE[i,j] = (i == j)\nt = i\n",
               "let n = 5\nX[i] = i  # index i : n\nE[i,j] = i == j  # index i : n, j : n\nt = sum[i](i)  # index i : n\n");
    lower("let n = 5\nindex i : n + 1\nX[i] = i\n");
    tx_tir_stmt *d = stmt(1);
    assert_non_null(d->indices[0].declared);
    assert_string_equal(tx_tir_expr_str(U.a, d->indices[0].declared, NULL), "n + 1");
    /* a size computed by a call is evaluated once, where it is declared */
    EXPECT_TIR("A = eye(3)\nindex i : dim(A, 0)\nX[i] = i\n",
               "A = eye(3)\n%1 = dim(A, 0)\nX[i] = i  # index i : %1\n");
    /* declarations inside a for end with its body */
    EXPECT_TIR("for t in 0..2 { index i : 3\n X[i] = i }\nY[i] = X[i]\n",
               "for t in 0..2 {\n  X[i] = i  # index i : 3\n}\nY[i] = X[i]\n");
}

static void elementwise_builtins(void **state) {
    (void)state;
    EXPECT_TIR("A = eye(2)\nB[i,j] = max(A[i,j], 0) + min(A[i,j], 1) + pow(A[i,j], 2) + where(A[i,j] > 0, 1, -1)\n",
               "A = eye(2)\nB[i,j] = max(A[i,j], 0) + min(A[i,j], 1) + A[i,j] ^ 2 + where(A[i,j] > 0, 1, -1)\n");
    EXPECT_TIR("A = eye(2)\nB[i,j] = sigmoid(relu(A[i,j])) * conj(A[i,j]) + real(A[i,j]) - imag(A[i,j])\n",
               "A = eye(2)\nB[i,j] = sigmoid(relu(A[i,j])) * conj(A[i,j]) + real(A[i,j]) - imag(A[i,j])\n");
    lower("A = eye(2)\nB[i,j] = pow(A[i,j], 2)\n");
    assert_int_equal(stmt(1)->rhs->kind, TX_TIR_BINARY);
    assert_int_equal(stmt(1)->rhs->op, TX_TOP_POW);
}

static void precedence_in_print(void **state) {
    (void)state;
    EXPECT_TIR("a = 1\nb = 2\nc = 3\nx = (a - b) - c\ny = a - (b - c)\nz = -a ^ 2\nw = (-a) ^ 2\nv = 2 ^ 3 ^ 2\nu = (2 ^ 3) ^ 2\n"
               "r = a / (b * c)\nq = (a < b) + 1\n",
               "a[...] = 1\nb[...] = 2\nc[...] = 3\n"
               "x[...] = a[...] - b[...] - c[...]\ny[...] = a[...] - (b[...] - c[...])\n"
               "z[...] = -a[...] ^ 2\nw[...] = (-a[...]) ^ 2\nv[...] = 2 ^ 3 ^ 2\nu[...] = (2 ^ 3) ^ 2\n"
               "r[...] = a[...] / (b[...] * c[...])\nq[...] = (a[...] < b[...]) + 1\n");
    /* literals: negative numbers fold, reals print shortest, imaginary with j */
    EXPECT_TIR("x = -1\ny = 0.1 + 1e-05 + 2.5e10 + 1.5e16 + 0.00012 + 3.25 + 1e300\nz = 1 + 2j\nw = -0.5j\n",
               "x[...] = -1\ny[...] = 0.1 + 1e-05 + 25000000000 + 1.5e+16 + 0.00012 + 3.25 + 1e+300\n"
               "z[...] = 1 + 2j\nw[...] = -0.5j\n");
}

/* ---- whole tensors, calls and hoisting -------------------------------------------- */

static void whole_tensor_statements(void **state) {
    (void)state;
    EXPECT_TIR("A = eye(2)\nB = eye(2)\nC = A + 2*B\nE = exp(A)\nF = A\nG = 3\n",
               "A = eye(2)\nB = eye(2)\nC[...] = A[...] + 2 * B[...]\nE[...] = exp(A[...])\nF[...] = A[...]\nG[...] = 3\n");
    lower("A = eye(2)\nC = A + 2\n");
    tx_tir_stmt *d = stmt(1);
    assert_true(d->ellipsis);
    assert_int_equal(d->nout, 0);
    assert_int_equal(d->nindices, 0);
    assert_true(d->rhs->a->whole);
    assert_int_equal(d->rhs->a->nsubs, 0);
}

static void calls_and_arguments(void **state) {
    (void)state;
    EXPECT_TIR("let n = 4\nlet d = 2\nQ = randn(n, d, seed=1)\nZ = zeros(n, 2*d)\nF = fft(Q, axis=-1)\n",
               "let n = 4\nlet d = 2\nQ = randn(n, d, seed=1)\nZ = zeros(n, 2 * d)\nF = fft(Q, axis=-1)\n");
    lower("let n = 4\nQ = randn(n, 3, seed=1)\nF = fft(Q, axis=-1)\n");
    tx_tir_stmt *c = stmt(1);
    assert_int_equal(c->kind, TX_TIR_CALL);
    assert_int_equal(c->builtin, TX_B_RANDN);
    assert_null(c->func);
    assert_int_equal(c->nresults, 1);
    assert_string_equal(c->results[0], "Q");
    assert_int_equal(c->nargs, 2);
    assert_int_equal(c->args[0]->kind, TX_TIR_ACCESS); /* the let n: a direct rank-0 access */
    assert_false(c->args[0]->whole);
    assert_int_equal(c->args[1]->kind, TX_TIR_CONST);
    assert_string_equal(c->kwargs[0].name, "seed");
    tx_tir_stmt *f = stmt(2);
    assert_true(f->args[0]->whole);                      /* the tensor Q: a whole access */
    assert_int_equal(f->kwargs[0].value->kind, TX_TIR_CONST);
    assert_true(f->kwargs[0].value->re == -1.0);
    /* strings */
    EXPECT_TIR("X = load(\"in.npy\")\nY = cast(X, \"f32\")\nsave(\"out \\\"q\\\".npy\", Y)\n",
               "X = load(\"in.npy\")\nY = cast(X, \"f32\")\nsave(\"out \\\"q\\\".npy\", Y)\n");
    lower("X = ones(2)\nsave(\"x.npy\", X)\n");
    assert_int_equal(stmt(1)->kind, TX_TIR_CALL);
    assert_int_equal(stmt(1)->builtin, TX_B_SAVE);
    assert_int_equal(stmt(1)->nresults, 0);
    assert_int_equal(stmt(1)->args[0]->kind, TX_TIR_STRING);
}

static void hoisting(void **state) {
    (void)state;
    EXPECT_TIR("X = ones(3)\nY[i] = X[i] / norm(X)\n", "X = ones(3)\n%1 = norm(X)\nY[i] = X[i] / %1\n");
    lower("X = ones(3)\nY[i] = X[i] / norm(X)\n");
    tx_tir_expr *t = stmt(2)->rhs->b;
    assert_int_equal(t->kind, TX_TIR_ACCESS);
    assert_false(t->whole);
    assert_int_equal(t->nsubs, 0);
    assert_int_equal(U.tir->ntemps, 1);

    EXPECT_TIR("F = ones(4)\nC = real(ifft2(F))\n", "F = ones(4)\n%1 = ifft2(F)\nC[...] = real(%1[...])\n");
    EXPECT_TIR("A = ones(2)\nB = ones(2)\ns = sum(A*B)\n",
               "A = ones(2)\nB = ones(2)\n%1[...] = A[...] * B[...]\ns = sum(%1)\n");
    /* arguments in index notation are fully summed values of their own */
    EXPECT_TIR("A = eye(3)\nB = reshape(A, dim(A, 0) * 3, 1)\nn = norm(A[0,j]) + 1\n",
               "A = eye(3)\n%1 = dim(A, 0)\n%2[...] = %1[...] * 3\nB = reshape(A, %2, 1)\n"
               "%3 = sum[j](A[0,j])\n%4 = norm(%3)\nn[...] = %4[...] + 1\n");
    /* temporaries are numbered in evaluation order */
    EXPECT_TIR("A = ones(2)\nx = norm(A) + sum(exp(A)) * max(A)\n",
               "A = ones(2)\n%1 = norm(A)\n%2[...] = exp(A[...])\n%3 = sum(%2)\n%4 = max(A)\n"
               "x[...] = %1[...] + %3[...] * %4[...]\n");
    /* += of a call */
    EXPECT_TIR("A = ones(2)\nA += exp(A) + norm(A)\nA += inv(A)\n",
               "A = ones(2)\n%1 = norm(A)\nA[...] += exp(A[...]) + %1[...]\n%2 = inv(A)\nA[...] += %2[...]\n");
}

static void lets(void **state) {
    (void)state;
    EXPECT_TIR("let n = 48\nlet m = n * n\nA = eye(n)\nlet k = dim(A, 0)\nlet s = A[0,0] + n\nlet t = norm(A) * 2\n",
               "let n = 48\nlet m = n * n\nA = eye(n)\nk = dim(A, 0)\nlet s = A[0,0] + n\n%1 = norm(A)\nlet t = %1 * 2\n");
    lower("let n = 48\n");
    tx_tir_stmt *d = stmt(0);
    assert_int_equal(d->kind, TX_TIR_DEF);
    assert_true(d->is_let);
    assert_false(d->ellipsis);
    assert_int_equal(d->nout, 0);
    assert_int_equal(d->rhs->kind, TX_TIR_CONST);
    assert_true(d->rhs->re == 48.0);
}

static void print_and_assert(void **state) {
    (void)state;
    EXPECT_TIR("O = eye(3)\nlet n = 3\nprint \"O[0,0] =\", O[0,0], n, O, norm(O) + 1\n",
               "O = eye(3)\nlet n = 3\n%1 = O[0,0]\n%2 = norm(O)\n%3[...] = %2[...] + 1\n"
               "print \"O[0,0] =\", %1, n, O, %3\n");
    lower("O = eye(3)\nprint \"x\", O\n");
    tx_tir_stmt *p = stmt(1);
    assert_int_equal(p->kind, TX_TIR_PRINT);
    assert_int_equal(p->nitems, 2);
    assert_int_equal(p->items[0]->kind, TX_TIR_STRING);
    assert_int_equal(p->items[1]->kind, TX_TIR_ACCESS);
    assert_true(p->items[1]->whole);

    EXPECT_TIR("O = eye(3)\nassert allclose(O, O, rtol=1e-12), \"same\"\nassert O[0,0] > 0\nok = 1\nassert ok\n",
               "O = eye(3)\n%1 = allclose(O, O, rtol=1e-12)\nassert %1, \"same\"\n%2 = O[0,0] > 0\nassert %2\n"
               "ok[...] = 1\nassert ok\n");
    lower("O = eye(3)\nassert O[0,0] > 0, \"pos\"\n");
    tx_tir_stmt *a = stmt(2);
    assert_int_equal(a->kind, TX_TIR_ASSERT);
    assert_int_equal(a->nargs, 1);
    assert_int_equal(a->nitems, 1);
    assert_ptr_equal(a->args[0], a->items[0]);
    assert_true(a->args[0]->whole);
    assert_string_equal(a->args[0]->var, "%1");
    assert_string_equal(a->msg, "pos");
}

static void bare_expressions_bind_underscore(void **state) {
    (void)state;
    EXPECT_TIR("X = ones(2)\nX\nX[0] + 1\nX * 2\nnorm(X)\nsave(\"x.npy\", X)\n",
               "X = ones(2)\n_[...] = X[...]\n_ = X[0] + 1\n_[...] = X[...] * 2\n_ = norm(X)\nsave(\"x.npy\", X)\n");
}

static void tuple_calls(void **state) {
    (void)state;
    EXPECT_TIR("A = eye(3)\nw, V = eigh(A)\nU, s, Vt = svd(A)\n",
               "A = eye(3)\nw, V = eigh(A)\nU, s, Vt = svd(A)\n");
    lower("A = eye(3)\nw, V = eigh(A)\n");
    tx_tir_stmt *c = stmt(1);
    assert_int_equal(c->nresults, 2);
    assert_string_equal(c->results[1], "V");
    assert_int_equal(c->builtin, TX_B_EIGH);
}

/* ---- for and def ---------------------------------------------------------------------- */

static void for_loops(void **state) {
    (void)state;
    EXPECT_TIR("X = ones(3)\nfor t in 0..10 {\n  X = X * 0.5 + t\n  Y[i] = X[i] * t\n}\n",
               "X = ones(3)\nfor t in 0..10 {\n  X[...] = X[...] * 0.5 + t[...]\n  Y[i] = X[i] * t\n}\n");
    /* bounds computed by calls are evaluated once, before the loop */
    EXPECT_TIR("X = ones(3)\nlet n = 2\nfor t in n-1..dim(X, 0) { for u in 0..t { X = X + u } }\n",
               "X = ones(3)\nlet n = 2\n%1 = dim(X, 0)\nfor t in n - 1..%1 {\n  for u in 0..t {\n"
               "    X[...] = X[...] + u[...]\n  }\n}\n");
    lower("for t in 0..3 { }\n");
    tx_tir_stmt *f = stmt(0);
    assert_int_equal(f->kind, TX_TIR_FOR);
    assert_string_equal(f->var, "t");
    assert_int_equal(f->lo->kind, TX_TIR_CONST);
    assert_int_equal(f->nbody, 0);
}

static void defs(void **state) {
    (void)state;
    EXPECT_TIR("def attention(Q[n,d], K[n,d], V[n,e]) -> O[n,e] {\n"
               "  S[i,j] = exp(sum[a](Q[i,a]*K[j,a]))\n"
               "  O[i,b] = S[i,j] * V[j,b] / sum[j](S[i,j])\n"
               "}\n"
               "X = randn(4, 2)\nO = attention(X, X, X)\n",
               "def attention(Q[n,d], K[n,d], V[n,e]) -> O[n,e] {\n"
               "  S[i,j] = exp(sum[a](Q[i,a] * K[j,a]))\n"
               "  O[i,b] = sum[j](S[i,j] * V[j,b] / sum[j'1](S[i,j'1]))\n"
               "}\n"
               "X = randn(4, 2)\nO = attention(X, X, X)\n");
    lower("def stats(A[n,m]: f32, w) -> (mu[m], s[3]) {\n  mu[j] = sum[i](A[i,j]) / n * w\n  s = ones(3)\n}\n"
          "mu, s = stats(eye(2), 1)\n");
    assert_int_equal(U.tir->nfuncs, 1);
    tx_tir_func *fn = U.tir->funcs[0];
    assert_string_equal(fn->name, "stats");
    assert_int_equal(fn->nparams, 2);
    assert_int_equal(fn->params[0].dtype, TX_DT_F32);
    assert_int_equal(fn->params[1].dtype, -1);
    assert_int_equal(fn->params[1].ndims, 0);
    assert_int_equal(fn->nresults, 2);
    assert_int_equal(fn->nsizes, 2);
    assert_string_equal(fn->sizes[0], "n");
    assert_string_equal(fn->sizes[1], "m");
    assert_int_equal(fn->nbody, 2);
    assert_string_equal(tx_tir_stmt_str(U.a, fn->body[0], fn), "mu[j] = sum[i](A[i,j]) / n * w");
    /* the call: a hoisted argument, then the user function resolved */
    assert_string_equal(tx_tir_stmt_str(U.a, stmt(0), NULL), "%1 = eye(2)");
    tx_tir_stmt *c = stmt(1);
    assert_string_equal(tx_tir_stmt_str(U.a, c, NULL), "mu, s = stats(%1, 1)");
    assert_int_equal(c->builtin, -1);
    assert_string_equal(c->callee, "stats");
    assert_ptr_equal(c->func, fn);
    assert_string_equal(U.text, "def stats(A[n,m]: f32, w) -> (mu[m], s[3]) {\n"
                                "  mu[j] = sum[i](A[i,j]) / n * w\n  s = ones(3)\n}\n"
                                "%1 = eye(2)\nmu, s = stats(%1, 1)\n");
}

static void calls_before_the_def_and_between_defs(void **state) {
    (void)state;
    lower("Y = g(ones(2))\ndef f(x) -> y { y = 2 * x }\ndef g(x) -> y { y = f(x) + f(x) }\n");
    assert_int_equal(U.tir->nfuncs, 2);
    tx_tir_func *f = U.tir->funcs[0], *g = U.tir->funcs[1];
    assert_ptr_equal(stmt(1)->func, g);
    assert_string_equal(U.text,
                        "def f(x) -> y {\n  y[...] = 2 * x[...]\n}\n"
                        "def g(x) -> y {\n  %2 = f(x)\n  %3 = f(x)\n  y[...] = %2[...] + %3[...]\n}\n"
                        "%1 = ones(2)\nY = g(%1)\n");
    assert_ptr_equal(g->body[0]->func, f);
}

static void return_assigns_results(void **state) {
    (void)state;
    EXPECT_TIR("def two(x) -> (a, b) {\n  b = x\n  return x + 1, b\n}\n",
               "def two(x) -> (a, b) {\n  b[...] = x[...]\n  a[...] = x[...] + 1\n  return\n}\n");
}

/* ---- REPL units ------------------------------------------------------------------------- */

static bool fake_get(void *self, const char *var, tx_varinfo *out) {
    (void)self;
    memset(out, 0, sizeof *out);
    if (strcmp(var, "n") == 0) {
        out->type.rank = 0;
        out->known = true;
        out->value = 5;
        return true;
    }
    return false;
}

static void repl_units(void **state) {
    (void)state;
    /* unit 1 defines a function and a temporary */
    lower_into(&U, "def f(x) -> y { y = 2 * x }\nz = norm(ones(2))\n", NULL, NULL, NULL);
    assert_int_equal(U.tir->ntemps, 1);
    /* unit 2 calls it; temporaries continue from the previous count */
    static const tx_sema_sym outer[] = {
        { "f", TX_SYM_FUNC, 1, 1, "x", "y" },
        { "n", TX_SYM_LET, 0, 0, NULL, NULL },
        { "A", TX_SYM_TENSOR, 0, 0, NULL, NULL },
    };
    tx_sema_outer o = { outer, 3, NULL, NULL, NULL };
    tx_lookup lk = { fake_get, NULL };
    lower_into(&U2, "w = f(ones(3))\nr[j] = A[n-1, j]\n", U.tir, &o, &lk);
    assert_string_equal(U2.diags, "");
    assert_string_equal(U2.text, "%2 = ones(3)\nw = f(%2)\nr[j] = A[4,j]\n");
    assert_ptr_equal(U2.tir->stmts[1]->func, U.tir->funcs[0]);
    assert_int_equal(U2.tir->nfuncs, 0);
    /* without the lookup the earlier let's value is known only at run time: a slice */
    lower_into(&U2, "r[j] = A[n-1, j]\n", U.tir, &o, NULL);
    assert_string_equal(U2.diags, "");
    assert_string_equal(U2.text, "%2 = %take(A, n - 1, \":\")\nr[j] = %2[j]\n");
}

static void expr_and_stmt_strings(void **state) {
    (void)state;
    lower("A = eye(3)\nB[i] = A[i,j] * 2\n");
    tx_tir_stmt *d = stmt(1);
    assert_string_equal(tx_tir_expr_str(U.a, d->rhs, d), "sum[j](A[i,j] * 2)");
    assert_string_equal(tx_tir_expr_str(U.a, d->rhs->a->a, d), "A[i,j]");
    assert_string_equal(tx_tir_op_name(TX_TOP_SIGMOID), "sigmoid");
    assert_string_equal(tx_tir_op_name(TX_TOP_MAX2), "max");
    assert_string_equal(tx_tir_op_name(TX_TOP_NE), "!=");
    assert_true(tx_tir_op_is_binary(TX_TOP_MIN2));
    assert_true(tx_tir_op_is_binary(TX_TOP_ADD));
    assert_false(tx_tir_op_is_binary(TX_TOP_NEG));
    assert_false(tx_tir_op_is_binary(TX_TOP_IMAG));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(implicit_sums, teardown),
        cmocka_unit_test_teardown(nested_reductions_get_their_own_ids, teardown),
        cmocka_unit_test_teardown(affine_subscripts, teardown),
        cmocka_unit_test_teardown(non_affine_subscripts_are_errors, teardown),
        cmocka_unit_test_teardown(indices_as_values, teardown),
        cmocka_unit_test_teardown(index_declarations, teardown),
        cmocka_unit_test_teardown(elementwise_builtins, teardown),
        cmocka_unit_test_teardown(precedence_in_print, teardown),
        cmocka_unit_test_teardown(whole_tensor_statements, teardown),
        cmocka_unit_test_teardown(calls_and_arguments, teardown),
        cmocka_unit_test_teardown(hoisting, teardown),
        cmocka_unit_test_teardown(lets, teardown),
        cmocka_unit_test_teardown(print_and_assert, teardown),
        cmocka_unit_test_teardown(bare_expressions_bind_underscore, teardown),
        cmocka_unit_test_teardown(tuple_calls, teardown),
        cmocka_unit_test_teardown(for_loops, teardown),
        cmocka_unit_test_teardown(defs, teardown),
        cmocka_unit_test_teardown(calls_before_the_def_and_between_defs, teardown),
        cmocka_unit_test_teardown(return_assigns_results, teardown),
        cmocka_unit_test_teardown(repl_units, teardown),
        cmocka_unit_test_teardown(expr_and_stmt_strings, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
