/*
 * test_sema.c -- name resolution and structural checks (frontend/sema.c).
 *
 * Each test parses a small program with tx_parse, runs tx_sema and looks
 * at the diagnostics, rendered one per line as
 *     LINE:COL-ENDCOL: error: message [hint: ...]
 * (ENDCOL is one past the span on the same line), or at the annotations
 * sema leaves in the tree (expr->sym, expr->builtin).
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

typedef struct run {
    tx_arena *a;
    tx_source *src;
    tx_diags d;
    tx_ast_program *p;
    bool ok;
    char *text; /* rendered diagnostics */
} run;

static run R; /* the current test's unit; freed by teardown */

static int teardown(void **state) {
    (void)state;
    tx_arena_free(R.a);
    memset(&R, 0, sizeof R);
    return 0;
}

static void render(void) {
    size_t cap = 1 << 14, len = 0;
    char *buf = tx_arena_alloc(R.a, cap);
    for (tx_diag *g = R.d.head; g; g = g->next) {
        uint32_t l, c, l2, c2;
        tx_source_linecol(R.src, g->span.lo, &l, &c);
        tx_source_linecol(R.src, g->span.hi, &l2, &c2);
        const char *sev = g->sev == TX_NOTE ? "note" : "error";
        len += (size_t)snprintf(buf + len, cap - len, "%u:%u-%u: %s: %s", l, c, l2 == l ? c2 : c + 1, sev, g->msg);
        if (g->hint) len += (size_t)snprintf(buf + len, cap - len, " [hint: %s]", g->hint);
        len += (size_t)snprintf(buf + len, cap - len, "\n");
        if (len >= cap - 1) break;
    }
    R.text = buf;
}

/* Parse (must succeed) and check text. */
static run *check_outer(const char *text, const tx_sema_outer *outer) {
    teardown(NULL);
    R.a = tx_arena_new(0);
    R.src = tx_source_new(R.a, "t.tx", text, (uint32_t)strlen(text));
    tx_diags_init(&R.d, R.a, R.src);
    R.p = tx_parse(R.a, R.src, &R.d);
    if (R.d.nerr) {
        render();
        fail_msg("parse failed:\n%s", R.text);
    }
    R.ok = tx_sema(R.a, R.p, outer, &R.d);
    render();
    return &R;
}

static run *check(const char *text) {
    return check_outer(text, NULL);
}

/* The diagnostics must be exactly `want` (lines joined with \n). */
#define EXPECT(src, want)                                    \
    do {                                                     \
        run *r_ = check(src);                                \
        assert_string_equal(r_->text, want);                 \
        assert_int_equal(r_->ok, (want)[0] == 0);            \
    } while (0)

/* The diagnostics must contain the line `want`. */
#define EXPECT_HAS(src, want)                                                  \
    do {                                                                       \
        run *r_ = check(src);                                                  \
        if (!strstr(r_->text, want)) fail_msg("missing \"%s\" in:\n%s", want, r_->text); \
        assert_false(r_->ok);                                                  \
    } while (0)

#define EXPECT_OK(src)                                               \
    do {                                                             \
        run *r_ = check(src);                                        \
        if (!r_->ok) fail_msg("unexpected errors:\n%s", r_->text);   \
    } while (0)

/* ---- accepted programs and annotations ----------------------------------- */

static void attention_script_is_clean(void **state) {
    (void)state;
    EXPECT_OK("let n = 8\nlet d = 4\n"
              "Q  = randn(n, d, seed=1)\nK1 = randn(n, d, seed=2)\nK2 = randn(n, d, seed=3)\n"
              "V1 = randn(n, d, seed=4)\nV2 = randn(n, d, seed=5)\n"
              "A[i,j,k] = exp(sum[a](Q[i,a] * K1[j,a] * K2[k,a]) / d)\n"
              "D[i]     = A[i,j,k]\n"
              "O[i,b]   = A[i,j,k] * V1[j,b] * V2[k,b] / D[i]\n"
              "print O[0,0]\n"
              "save(\"attention.npy\", O)\n");
}

static tx_ast_expr *rhs(int stmt) {
    return R.p->stmts[stmt]->value;
}

static void symbols_are_annotated(void **state) {
    (void)state;
    run *r = check("let n = 3\nX = randn(n)\ns = sum(X)\nY[i] = s * X[i] + n + i\n");
    assert_true(r->ok);
    /* X = randn(n): a builtin call, its argument a let */
    assert_int_equal(rhs(1)->builtin, TX_B_RANDN);
    assert_int_equal(rhs(1)->args[0]->sym, TX_SYM_LET);
    assert_int_equal(rhs(2)->builtin, TX_B_SUM1);
    /* ((s * X[i]) + n) + i */
    tx_ast_expr *e = rhs(3);
    assert_int_equal(e->b->sym, TX_SYM_INDEX);            /* i */
    assert_int_equal(e->a->b->sym, TX_SYM_LET);           /* n */
    assert_int_equal(e->a->a->a->sym, TX_SYM_TENSOR);     /* s */
    assert_int_equal(e->a->a->b->sym, TX_SYM_TENSOR);     /* X[i] */
    assert_int_equal(e->a->a->b->args[0]->sym, TX_SYM_INDEX);
    assert_int_equal(r->p->stmts[3]->targets[0].subs[0]->sym, TX_SYM_INDEX);
}

static void elementwise_and_whole_builtins_are_told_apart(void **state) {
    (void)state;
    run *r = check("A = randn(3, 3)\nm = max(A)\nB[i,j] = max(A[i,j], 0)\nC = max(A, A)\n");
    assert_true(r->ok);
    assert_int_equal(rhs(1)->builtin, TX_B_MAX1);
    assert_int_equal(rhs(2)->builtin, TX_B_MAX2);
    assert_int_equal(rhs(3)->builtin, TX_B_MAX2);
}

static void user_function_calls_have_builtin_minus_one(void **state) {
    (void)state;
    run *r = check("X = f(randn(2))\ndef f(A[n]) -> B[n] { B[i] = 2 * A[i] }\n");
    assert_true(r->ok);
    assert_int_equal(rhs(0)->builtin, -1);                 /* defs are visible before their text */
    assert_int_equal(rhs(0)->args[0]->builtin, TX_B_RANDN);
}

static void constants_in_subscripts(void **state) {
    (void)state;
    run *r = check("let n = 4\nA = randn(n, n)\nfor t in 0..n { r[j] = A[n-1, j] + t }\n");
    assert_true(r->ok);
    tx_ast_expr *acc = r->p->stmts[2]->body[0]->value->a;
    assert_int_equal(acc->args[0]->a->sym, TX_SYM_LET);   /* n in n-1 */
    assert_int_equal(acc->args[1]->sym, TX_SYM_INDEX);
    assert_int_equal(r->p->stmts[2]->body[0]->value->b->sym, TX_SYM_LOOPVAR);
}

static void index_may_shadow_a_tensor(void **state) {
    (void)state;
    run *r = check("a = randn(3)\nk = 2\nY[a] = a * 2\nZ[i] = a[k] * k\n");
    assert_true(r->ok);
    assert_int_equal(rhs(2)->a->sym, TX_SYM_INDEX);        /* a is an index in Y[a] = a * 2 */
    assert_int_equal(rhs(3)->a->sym, TX_SYM_TENSOR);       /* a[k]: the tensor a ... */
    assert_int_equal(rhs(3)->a->args[0]->sym, TX_SYM_INDEX); /* ... at index k */
    assert_int_equal(rhs(3)->b->sym, TX_SYM_INDEX);        /* and k the index again */
}

static void index_declaration_makes_an_index(void **state) {
    (void)state;
    run *r = check("let n = 5\nindex i : n\nX[i] = i\ns = i\n");
    assert_true(r->ok);
    assert_int_equal(rhs(3)->sym, TX_SYM_INDEX);
    EXPECT_HAS("let n = 5\nindex n : 3\n", "2:7-8: error: 'n' is already a let constant; an index needs a name of its own");
    EXPECT_HAS("index i, i : 3\n", "1:10-11: error: index 'i' is declared twice");
}

/* ---- names ----------------------------------------------------------------- */

static void undefined_name_with_hint(void **state) {
    (void)state;
    EXPECT("K1 = randn(2)\nY = Kx + 1\n", "2:5-7: error: 'Kx' is not defined [hint: did you mean 'K1'?]\n");
    EXPECT("Y = zzz + 1\n", "1:5-8: error: 'zzz' is not defined\n");
    /* one report per misspelt name (per unit) */
    EXPECT("Y = zzz + 1\nZ = zzz * 2\ndef f(x) -> y { y = zzz }\n",
           "1:5-8: error: 'zzz' is not defined\n3:21-24: error: 'zzz' is not defined\n");
    /* case-only differences rank first */
    EXPECT("q2 = 1\nQ = 2\nY = q + 1\n", "3:5-6: error: 'q' is not defined [hint: did you mean 'Q'?]\n");
}

static void use_before_definition(void **state) {
    (void)state;
    EXPECT("Y = X + 1\nX = ones(2)\n",
           "1:5-6: error: 'X' is used before it is defined\n"
           "2:1-2: note: 'X' is defined here\n");
    /* the first iteration of a loop would read it before it is written */
    EXPECT("for t in 0..3 {\n  Y = X\n  X = ones(2)\n}\n",
           "2:7-8: error: 'X' is used before it is defined\n"
           "3:3-4: note: 'X' is defined here\n");
    /* X = X + 1 with no X before is simply undefined */
    EXPECT("X = X + 1\n", "1:5-6: error: 'X' is not defined\n");
}

static void names_bound_in_a_loop_stay_visible(void **state) {
    (void)state;
    EXPECT_OK("for t in 0..3 { Y = ones(2) * t }\nZ = Y\n");
    EXPECT_HAS("for t in 0..3 { Y = ones(2) }\nZ = t\n", "2:5-6: error: 't' is not defined");
}

static void function_used_as_value(void **state) {
    (void)state;
    EXPECT("Y = exp + 1\n", "1:5-8: error: 'exp' is a builtin function, not a value; call it: exp(...)\n");
    EXPECT_HAS("def f(x) -> y { y = x }\nY = f\n", "2:5-6: error: 'f' is a function, not a value; call it: f(...)");
}

/* ---- calls ------------------------------------------------------------------- */

static void calling_a_non_function(void **state) {
    (void)state;
    EXPECT("X = ones(2)\nY = X(1)\n",
           "2:5-6: error: 'X' is a tensor, not a function [hint: to index it, use brackets: X[...]]\n");
    EXPECT("let n = 2\nY = n(1)\n", "2:5-6: error: 'n' is a let constant, not a function\n");
}

static void unknown_function(void **state) {
    (void)state;
    EXPECT("Y = expp(1)\n", "1:5-9: error: unknown function 'expp' [hint: did you mean 'exp'?]\n");
    EXPECT("Y = frobnicate(1)\n", "1:5-15: error: unknown function 'frobnicate'\n");
    /* arguments of an unknown call are still checked */
    EXPECT("Y = foo(bar)\n", "1:5-8: error: unknown function 'foo'\n1:9-12: error: 'bar' is not defined\n");
}

static void builtin_arity(void **state) {
    (void)state;
    EXPECT("Y = exp(1, 2)\n", "1:5-14: error: exp takes 1 argument but 2 were given\n");
    EXPECT("Y = linspace(0, 1)\n", "1:5-19: error: linspace takes 3 arguments but 2 were given\n");
    EXPECT("Y = irfft()\n", "1:5-12: error: irfft takes 1 or 2 arguments but 0 were given\n");
    EXPECT("Y = reshape()\n", "1:5-14: error: reshape takes at least 1 argument but 0 were given\n");
    EXPECT("Y = max(1, 2, 3)\n",
           "1:5-17: error: max takes 1 argument (whole tensor) or 2 (elementwise) but 3 were given\n");
}

static void user_function_arity(void **state) {
    (void)state;
    EXPECT("def f(A, B) -> C { C = A + B }\nX = f(1)\n",
           "2:5-9: error: f takes 2 arguments (A, B) but 1 was given\n");
}

static void keywords(void **state) {
    (void)state;
    EXPECT("Z = randn(3, sed=3)\n", "1:14-17: error: randn has no keyword 'sed'; it takes seed\n");
    EXPECT("Z = allclose(1, 1, rtl=1)\n", "1:20-23: error: allclose has no keyword 'rtl'; it takes rtol/atol\n");
    EXPECT("W = zeros(3, seed=1)\n", "1:14-18: error: zeros takes no keyword arguments\n");
    EXPECT("def f(x) -> y { y = x }\nY = f(1, k=2)\n",
           "2:10-11: error: f is a user function and takes no keyword arguments\n");
    EXPECT("Z = randn(3, seed=\"a\")\n", "1:19-22: error: keyword 'seed' of randn takes a number, not a string\n");
}

static void strings_and_tensors(void **state) {
    (void)state;
    EXPECT("X = ones(2)\nsave(X, \"x.npy\")\n",
           "2:6-7: error: save's first argument must be a string path, e.g. save(\"out.npy\", X)\n"
           "2:9-16: error: argument 2 of save must be a tensor, not a string\n");
    EXPECT("X = load(3)\n", "1:10-11: error: load's argument must be a string path, e.g. load(\"in.npy\")\n");
    EXPECT("X = ones(2)\nC = cast(X, f32)\n",
           "2:13-16: error: cast's second argument must be a dtype string: \"f64\", \"f32\", \"c128\" or \"c64\"\n");
    EXPECT("X = ones(2)\nC = cast(X, \"f16\")\n",
           "2:13-18: error: unknown dtype \"f16\": cast takes \"f64\", \"f32\", \"c128\" or \"c64\"\n");
    EXPECT("Y = exp(\"x\")\n", "1:9-12: error: argument 1 of exp must be a tensor, not a string\n");
    EXPECT("Y = 1 + \"x\"\n", "1:9-12: error: a string cannot be used as a value here\n");
    EXPECT("Y = \"x\"\n", "1:5-8: error: a string cannot be assigned to a variable\n");
    EXPECT_OK("X = load(\"a.npy\")\nY = cast(X, \"c64\")\nsave(\"b.npy\", Y)\nprint \"a\", X\n");
}

static void tuple_bindings(void **state) {
    (void)state;
    EXPECT("A = eye(3)\na, b, c = eigh(A)\n", "2:11-18: error: eigh returns 2 results (w, V) but 3 names are bound\n");
    EXPECT("A = eye(3)\nw = eigh(A)\n", "2:5-12: error: eigh returns 2 results (w, V) but 1 name is bound\n");
    EXPECT("A = eye(3)\nU, s = svd(A)\n", "2:8-14: error: svd returns 3 results (U, s, Vt) but 2 names are bound\n");
    EXPECT("def f(x) -> (a, b) { a = x; b = x }\np, q, r = f(1)\n",
           "2:11-15: error: f returns 2 results (a, b) but 3 names are bound\n");
    EXPECT("A = eye(3)\nY = eigh(A) + 1\n",
           "2:5-12: error: eigh returns 2 results (w, V) and cannot be used inside an expression "
           "[hint: bind them first: w, V = eigh(...)]\n");
    EXPECT("A = eye(3)\nY = save(\"a.npy\", A)\n", "2:5-21: error: save returns no value\n");
    EXPECT("a, b = 1 + 2\n", "1:8-13: error: only a call that returns several results can be bound to 2 names\n");
    EXPECT("A = eye(3)\na, a = qr(A)\n", "2:4-5: error: 'a' is bound twice in one statement\n");
    EXPECT("A = eye(3)\neigh(A)\n", "2:1-8: error: eigh returns 2 results; bind them to names [hint: w, V = eigh(...)]\n");
    EXPECT_OK("A = eye(3)\nw, V = eigh(A)\nQ, R = qr(A)\nU, s, Vt = svd(A)\n");
}

/* ---- targets and index notation ----------------------------------------------- */

static void output_subscripts(void **state) {
    (void)state;
    EXPECT("A = eye(3)\nX[i,i] = A[i,i]\n",
           "2:5-6: error: X[i,i] = ...: an output index may appear only once "
           "[hint: for a diagonal matrix, multiply by the identity: X[i,j] = d[i] * I[i,j] with I = eye(n)]\n");
    /* a position on the left writes part of an existing tensor */
    EXPECT("X[0] = 1\n", "1:1-2: error: 'X' is not defined: X[...] = ... assigns into part of an existing tensor "
                         "[hint: create it first, e.g. X = zeros(...)]\n");
    EXPECT("X = zeros(3)\nX[0] = 1\n", "");
    EXPECT("let n = 3\nA = eye(3)\nX = zeros(3)\nX[n] = A[n,0]\n", "");
    EXPECT("A = eye(3)\nX = zeros(4)\nfor t in 0..3 { X[t] += A[t,t] }\n", "");
    EXPECT("A = eye(3)\nX[i+1] = A[i,i]\n",
           "2:3-6: error: an output subscript must be an index name or a position, not an expression of indices "
           "[hint: X[t, i] = ... with t a for variable, a let or a number writes part of X]\n");
}

static void reducing_an_output_index(void **state) {
    (void)state;
    EXPECT("A = eye(3)\nX[i] = sum[i](A[i,i])\n",
           "2:12-13: error: index 'i' is on the left of X[i] and may not be reduced on the right "
           "[hint: use another name for the reduction index]\n");
    EXPECT("A = eye(3)\nX[i] = sum[j,j](A[i,j])\n", "2:14-15: error: index 'j' appears twice in sum[...]\n");
    EXPECT("let n = 3\nA = eye(3)\nX[i] = sum[n](A[i,n])\n",
           "3:12-13: error: 'n' is a let constant and cannot be a reduction index\n");
    /* a nested reduction may rebind an index of an enclosing one */
    EXPECT_OK("A = eye(3)\nX[i] = sum[j](A[i,j] * sum[j](A[j,i]))\n");
}

static void accumulate_needs_a_tensor(void **state) {
    (void)state;
    EXPECT("Q += 1\n", "1:1-2: error: 'Q' is not defined: += accumulates into an existing tensor "
                       "[hint: use = for its first definition]\n");
    EXPECT_HAS("A = eye(2)\nQ[i] += A[i,i]\n", "2:1-2: error: 'Q' is not defined: += accumulates");
    EXPECT_OK("A = eye(2)\nQ = zeros(2)\nQ[i] += A[i,i]\nQ += 1\n");
}

static void scalars_with_subscripts(void **state) {
    (void)state;
    EXPECT("let n = 3\nY[i] = n[i]\n", "2:8-12: error: 'n' is a let constant, not a tensor: it takes no subscripts\n");
    EXPECT("X = ones(3)\nfor t in 0..3 { Y[i] = t[i] * X[i] }\n",
           "2:24-28: error: 't' is the for variable, a scalar: it takes no subscripts\n");
    EXPECT("def f(A[n]) -> B[n] { B[i] = A[i] * n[i] }\n",
           "1:37-41: error: 'n' is a size of f's signature, not a tensor: it takes no subscripts\n");
}

static void bare_names_in_index_notation(void **state) {
    (void)state;
    EXPECT("A = eye(3)\nw[i] = A[i,j] * q\n",
           "2:17-18: error: 'q' is not defined [hint: an index must appear in a subscript of the statement "
           "(or be declared: index q : n)]\n");
    EXPECT("A = eye(3)\nu[i] = sum[j](A[i,j]) * j\n",
           "2:25-26: error: 'j' is not defined [hint: 'j' is an index only inside the reduction that binds it]\n");
    EXPECT_OK("A = eye(3)\nE[i,j] = (i == j) * A[i,j] + i\n");
}

static void subscripts_must_be_affine_forms(void **state) {
    (void)state;
    EXPECT("v = ones(3)\nY[i] = v[v[i]]\n",
           "2:10-14: error: subscript must be affine in the indices with integer coefficients, e.g. X[2*i+k-1] "
           "[hint: a tensor value cannot be used as a position]\n");
    EXPECT("v = ones(3)\nY[i] = v[i ^ 2]\n",
           "2:10-15: error: subscript must be affine in the indices with integer coefficients, e.g. X[2*i+k-1]\n");
    EXPECT("v = ones(3)\nY = v[1.5]\n", "2:7-10: error: subscript 1.5 is not a whole number\n");
    /* i*j and i/2 parse and reach lowering, which rejects them (see test_lower) */
    EXPECT_OK("v = ones(3)\nY[i] = v[2*i+k-1] + v[(i+1)*2]\n");
}

static void call_arguments_cannot_use_statement_indices(void **state) {
    (void)state;
    EXPECT("X = eye(3)\nY[i] = X[i,0] / norm(X[i,0])\n",
           "2:24-25: error: index 'i' of the enclosing statement cannot be used inside norm(...) "
           "[hint: the arguments of norm are whole tensors, computed once before the statement]\n");
    EXPECT("X = eye(3)\nY[i] = X[i,0] / sum(X * i)\n",
           "2:25-26: error: index 'i' of the enclosing statement cannot be used inside sum(...) "
           "[hint: the arguments of sum are whole tensors, computed once before the statement]\n");
    /* a separate index of the argument's own is fine (summed inside it) */
    EXPECT_OK("X = eye(3)\nY[i] = X[i,0] / norm(X) + sum(X[j,j])\n");
}

/* ---- statements ------------------------------------------------------------------ */

static void lets(void **state) {
    (void)state;
    EXPECT("let n = 4\nlet n = 5\n",
           "2:5-6: error: let 'n' is already defined\n"
           "1:5-6: note: 'n' is first defined here\n");
    EXPECT("X = ones(2)\nlet X = 5\n",
           "2:5-6: error: 'X' is already defined as a tensor; a let needs a name of its own\n"
           "1:1-2: note: 'X' is first defined here\n");
    EXPECT("let n = 4\nn = 5\n",
           "2:1-2: error: cannot assign to 'n': it is a let constant\n"
           "1:5-6: note: 'n' is defined here\n");
    EXPECT("let exp = 4\n", "1:5-8: error: 'exp' is a builtin function; a let needs another name\n");
    EXPECT("let s = \"x\"\n", "1:9-12: error: a let needs a number, not a string\n");
    EXPECT_OK("let n = 4\nlet m = 2 * n + dim(eye(n), 0)\n");
}

static void assert_and_return(void **state) {
    (void)state;
    EXPECT("assert 1 > 0, 3\n", "1:15-16: error: the message of assert must be a string\n");
    EXPECT("assert \"x\"\n", "1:8-11: error: assert needs a condition, not a string\n");
    EXPECT("return\n", "1:1-7: error: return outside a def\n");
    EXPECT_OK("X = ones(2)\nassert allclose(X, X), \"same\"\nassert X[0] == 1\nprint X, \"and\", X[1] + 1, norm(X)\n");
}

static void for_loops(void **state) {
    (void)state;
    EXPECT("for t in 0..3 {\n  t = 4\n}\n", "2:3-4: error: cannot assign to 't': it is the variable of the enclosing for\n");
    EXPECT("for t in 0..3 {\n  for t in 0..2 { }\n}\n",
           "2:7-8: error: 't' is already the variable of an enclosing for\n"
           "1:5-6: note: the enclosing for is here\n");
    EXPECT("X = 1\nfor X in 0..3 { }\n",
           "2:5-6: error: for variable 'X' would hide the tensor 'X'\n"
           "1:1-2: note: 'X' is defined here\n");
    EXPECT("for t in 0..n { }\n", "1:13-14: error: 'n' is not defined\n");
    EXPECT_OK("X = ones(3)\nfor t in 0..dim(X, 0) { X = X * t; s = t + 1 }\nfor t in 1..3 { }\n");
}

static void defs(void **state) {
    (void)state;
    EXPECT("def f(A, A) -> B { B = A }\n",
           "1:10-11: error: duplicate parameter 'A' in def f\n"
           "1:7-8: note: first declared here\n");
    EXPECT("def f(A) -> (O, P) { O = A }\n", "1:17-18: error: result 'P' of f is never assigned\n");
    EXPECT("def f(A) -> A { A = 1 }\n", "1:13-14: error: 'A' is both a parameter and a result of f\n");
    EXPECT("def f(x) -> y { y = x }\ndef f(x) -> y { y = 2 * x }\n",
           "2:5-6: error: def 'f' is defined twice\n"
           "1:5-6: note: first defined here\n");
    EXPECT("def exp(x) -> y { y = x }\n", "1:5-8: error: 'exp' is a builtin function; a def needs another name\n");
    EXPECT("def f(x) -> y {\n  def g(a) -> b { b = a }\n  y = x\n}\n",
           "2:7-8: error: a def must be at the top level, not inside another def\n");
    EXPECT("for t in 0..2 {\n  def g(a) -> b { b = a }\n}\n",
           "2:7-8: error: a def must be at the top level, not inside a for loop\n");
    EXPECT("def f(A[n]) -> B[n] { B[i] = A[i] * n }\nf = 3\n",
           "2:1-2: error: 'f' is a function; a variable needs another name\n");
    EXPECT("def f(A[A]) -> B { B = 1 }\n", "1:9-10: error: size 'A' has the name of a parameter or result of f\n");
    EXPECT("def f(A[n]) -> B { n = 1; B = 1 }\n", "1:20-21: error: cannot assign to 'n': it is a size of f's signature\n");
    EXPECT_OK("def stats(A[n,m]: f32) -> (mu[m], s) {\n  mu[j] = sum[i](A[i,j]) / n\n  s = sum(A)\n}\n"
              "mu, s = stats(eye(3))\n");
    EXPECT_OK("def g(x) -> (a, b) {\n  return x + 1, 2 * x\n}\n");
    EXPECT("def g(x) -> (a, b) {\n  return x\n}\n", "2:3-11: error: g has 2 results (a, b) but return gives 1 value\n");
}

static void def_scope(void **state) {
    (void)state;
    EXPECT("X = ones(2)\ndef f(A) -> B { B = A + X }\n",
           "2:25-26: error: 'X' is not visible inside def f: pass it as a parameter "
           "[hint: a def sees only its parameters, results, size names and the names it binds]\n");
    /* globals bound after the def are not visible either */
    EXPECT_HAS("def f(A) -> B { B = A + X }\nX = ones(2)\n", "1:25-26: error: 'X' is not visible inside def f");
    EXPECT_HAS("let d = 2\ndef f(A[n]) -> B[n] { B[i] = A[i] * d }\n", "'d' is not visible inside def f");
    EXPECT_HAS("let d = 2\ndef f(A[n,m]) -> B[n] { B[i] = A[i,d] }\n", "'d' is not visible inside def f");
    EXPECT("def f(A) -> B { C = B + 1; B = A }\n",
           "1:21-22: error: result 'B' of f is used before it is assigned\n"
           "1:28-29: note: 'B' is defined here\n");
    /* other defs are visible (in any order), builtins too */
    EXPECT_OK("def f(A) -> B { B = g(A) + exp(A) }\ndef g(A) -> B { B = 2 * A }\n");
    /* index declarations of the script do not reach into a def */
    EXPECT_HAS("index q : 3\ndef f(A) -> B { B = q }\n", "2:21-22: error: 'q' is not defined");
}

static void recursion(void **state) {
    (void)state;
    EXPECT("def f(x) -> y { y = f(x) }\n", "1:21-22: error: recursive call to 'f' is not supported\n");
    EXPECT("def f(x) -> y { y = g(x) }\ndef g(x) -> y { y = h(x) + 1 }\ndef h(x) -> y { y = f(x) }\n",
           "3:21-22: error: recursive call to 'f' is not supported (f -> g -> h -> f)\n");
}

static void multiple_errors_in_source_order(void **state) {
    (void)state;
    run *r = check("def f(x) -> y { y = f(x) }\n"
                   "Y = Kx + 1\n"
                   "Z = randn(3, sed=1)\n"
                   "def f(x) -> y { y = x }\n"
                   "Q += 1\n");
    assert_false(r->ok);
    assert_string_equal(r->text,
                        "1:21-22: error: recursive call to 'f' is not supported\n"
                        "2:5-7: error: 'Kx' is not defined\n"
                        "3:14-17: error: randn has no keyword 'sed'; it takes seed\n"
                        "4:5-6: error: def 'f' is defined twice\n"
                        "1:5-6: note: first defined here\n"
                        "5:1-2: error: 'Q' is not defined: += accumulates into an existing tensor "
                        "[hint: use = for its first definition]\n");
    assert_int_equal(r->d.nerr, 5);
}

static void bare_expressions(void **state) {
    (void)state;
    EXPECT_OK("X = ones(2)\nX\nX[0] + 1\nnorm(X)\nsave(\"x.npy\", X)\n");
    EXPECT("\"hello\"\n", "1:1-8: error: a string alone is not a statement [hint: to show it, write: print \"...\"]\n");
}

/* ---- REPL: names of earlier units -------------------------------------------------- */

static const tx_sema_sym outer_syms[] = {
    { "K1", TX_SYM_TENSOR, 0, 0, NULL, NULL },
    { "n", TX_SYM_LET, 0, 0, NULL, NULL },
    { "attention", TX_SYM_FUNC, 3, 1, "Q, K, V", "O" },
    { "split", TX_SYM_FUNC, 1, 2, "A", "L, R" },
};

static void repl_outer_scope(void **state) {
    (void)state;
    tx_sema_outer o = { outer_syms, 4, NULL, NULL, NULL };
    run *r = check_outer("Y = K1 * 2\nO = attention(K1, K1, K1)\nL, R = split(K1)\n", &o);
    assert_true(r->ok);
    /* lets and defs of earlier units may be redefined */
    r = check_outer("let n = 7\ndef attention(x) -> y { y = x }\nZ = attention(n)\n", &o);
    if (!r->ok) fail_msg("%s", r->text);
    r = check_outer("A[i] = K1[i, n-1]\n", &o);
    assert_true(r->ok);
    assert_int_equal(r->p->stmts[0]->value->args[1]->a->sym, TX_SYM_LET);
    /* an earlier scalar is a constant in a subscript, but an index where one is bound */
    r = check_outer("B[n] = K1[n, 0]\nt = sum[n](K1[n,n])\nY[i] = K1[i, n]\n", &o);
    if (!r->ok) fail_msg("%s", r->text);
    assert_int_equal(r->p->stmts[0]->value->args[0]->sym, TX_SYM_INDEX);
    assert_int_equal(r->p->stmts[1]->value->args[0]->args[0]->sym, TX_SYM_INDEX);
    assert_int_equal(r->p->stmts[2]->value->args[1]->sym, TX_SYM_LET);
    r = check_outer("Y = n[0]\n", &o);
    assert_string_equal(r->text, "1:5-9: error: 'n' is a scalar: it takes no subscripts\n");
    r = check_outer("O = attention(K1)\n", &o);
    assert_string_equal(r->text, "1:5-18: error: attention takes 3 arguments (Q, K, V) but 1 was given\n");
    r = check_outer("O = split(K1)\n", &o);
    assert_string_equal(r->text, "1:5-14: error: split returns 2 results (L, R) but 1 name is bound\n");
    r = check_outer("Y = K2 + 1\n", &o);
    assert_string_equal(r->text, "1:5-7: error: 'K2' is not defined [hint: did you mean 'K1'?]\n");
    r = check_outer("Y = atention(K1, K1, K1)\n", &o);
    assert_string_equal(r->text, "1:5-13: error: unknown function 'atention' [hint: did you mean 'attention'?]\n");
    /* earlier tensors are not visible inside a def */
    r = check_outer("def f(A) -> B { B = A + K1 }\n", &o);
    assert_string_equal(r->text, "1:25-27: error: 'K1' is not visible inside def f: pass it as a parameter "
                                 "[hint: a def sees only its parameters, results, size names and the names it binds]\n");
}

typedef struct fake_interp {
    const char *names[3];
    tx_sym_kind kinds[3];
} fake_interp;

static bool fake_lookup(void *self, tx_arena *a, const char *name, tx_sema_sym *out) {
    (void)a;
    fake_interp *f = self;
    for (int i = 0; i < 3; i++)
        if (strcmp(f->names[i], name) == 0) {
            out->kind = f->kinds[i];
            out->nparams = 1;
            out->nresults = 1;
            return true;
        }
    return false;
}

static void fake_each(void *self, void (*fn)(void *ctx, const char *name), void *ctx) {
    fake_interp *f = self;
    for (int i = 0; i < 3; i++) fn(ctx, f->names[i]);
}

static void repl_outer_callbacks(void **state) {
    (void)state;
    fake_interp fi = { { "weights", "bias", "model" }, { TX_SYM_TENSOR, TX_SYM_LET, TX_SYM_FUNC } };
    tx_sema_outer o = { NULL, 0, fake_lookup, fake_each, &fi };
    run *r = check_outer("y = model(weights) + bias\n", &o);
    if (!r->ok) fail_msg("%s", r->text);
    r = check_outer("y = weight + 1\n", &o);
    assert_string_equal(r->text, "1:5-11: error: 'weight' is not defined [hint: did you mean 'weights'?]\n");
    r = check_outer("y = modl(1)\n", &o);
    assert_string_equal(r->text, "1:5-9: error: unknown function 'modl' [hint: did you mean 'model'?]\n");
}

static void edit_distance(void **state) {
    (void)state;
    assert_int_equal(tx_sema_edit_distance("Kx", "K1"), 1);
    assert_int_equal(tx_sema_edit_distance("seed", "sed"), 1);
    assert_int_equal(tx_sema_edit_distance("ab", "ba"), 1);
    assert_int_equal(tx_sema_edit_distance("", "abc"), 3);
    assert_int_equal(tx_sema_edit_distance("kitten", "sitting"), 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(attention_script_is_clean, teardown),
        cmocka_unit_test_teardown(symbols_are_annotated, teardown),
        cmocka_unit_test_teardown(elementwise_and_whole_builtins_are_told_apart, teardown),
        cmocka_unit_test_teardown(user_function_calls_have_builtin_minus_one, teardown),
        cmocka_unit_test_teardown(constants_in_subscripts, teardown),
        cmocka_unit_test_teardown(index_may_shadow_a_tensor, teardown),
        cmocka_unit_test_teardown(index_declaration_makes_an_index, teardown),
        cmocka_unit_test_teardown(undefined_name_with_hint, teardown),
        cmocka_unit_test_teardown(use_before_definition, teardown),
        cmocka_unit_test_teardown(names_bound_in_a_loop_stay_visible, teardown),
        cmocka_unit_test_teardown(function_used_as_value, teardown),
        cmocka_unit_test_teardown(calling_a_non_function, teardown),
        cmocka_unit_test_teardown(unknown_function, teardown),
        cmocka_unit_test_teardown(builtin_arity, teardown),
        cmocka_unit_test_teardown(user_function_arity, teardown),
        cmocka_unit_test_teardown(keywords, teardown),
        cmocka_unit_test_teardown(strings_and_tensors, teardown),
        cmocka_unit_test_teardown(tuple_bindings, teardown),
        cmocka_unit_test_teardown(output_subscripts, teardown),
        cmocka_unit_test_teardown(reducing_an_output_index, teardown),
        cmocka_unit_test_teardown(accumulate_needs_a_tensor, teardown),
        cmocka_unit_test_teardown(scalars_with_subscripts, teardown),
        cmocka_unit_test_teardown(bare_names_in_index_notation, teardown),
        cmocka_unit_test_teardown(subscripts_must_be_affine_forms, teardown),
        cmocka_unit_test_teardown(call_arguments_cannot_use_statement_indices, teardown),
        cmocka_unit_test_teardown(lets, teardown),
        cmocka_unit_test_teardown(assert_and_return, teardown),
        cmocka_unit_test_teardown(for_loops, teardown),
        cmocka_unit_test_teardown(defs, teardown),
        cmocka_unit_test_teardown(def_scope, teardown),
        cmocka_unit_test_teardown(recursion, teardown),
        cmocka_unit_test_teardown(multiple_errors_in_source_order, teardown),
        cmocka_unit_test_teardown(bare_expressions, teardown),
        cmocka_unit_test_teardown(repl_outer_scope, teardown),
        cmocka_unit_test_teardown(repl_outer_callbacks, teardown),
        cmocka_unit_test_teardown(edit_distance, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
