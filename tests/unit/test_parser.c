/*
 * test_parser.c -- frontend/parser.y and the printers of frontend/ast.c:
 * every statement form and expression form of LANGUAGE.md, precedence
 * (also against a random-expression oracle), spans, every class of syntax
 * error with its message and line:col, recovery to several errors per
 * file, the nesting limit, and seeded random bytes and token soups (no
 * crash, spans inside the text, printer/parser round trip).
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
#include "frontend/diag.h"

/* ---- helpers ------------------------------------------------------------------ */

typedef struct parsed {
    tx_arena *a;
    tx_source *src;
    tx_diags d;
    tx_ast_program *p;
} parsed;

static parsed *parse_n(const char *text, uint32_t n) {
    parsed *P = calloc(1, sizeof *P);
    P->a = tx_arena_new(0);
    P->src = tx_source_new(P->a, "t.tx", text, n);
    tx_diags_init(&P->d, P->a, P->src);
    P->d.limit = 0; /* count every error in these tests */
    P->p = tx_parse(P->a, P->src, &P->d);
    assert_non_null(P->p);
    return P;
}

static parsed *parse(const char *text) { return parse_n(text, (uint32_t)strlen(text)); }

static void done(parsed *P) {
    tx_arena_free(P->a);
    free(P);
}

/* Every statement printed, one per line. */
static const char *stmts(parsed *P) {
    size_t cap = 1 << 16, len = 0;
    char *buf = tx_arena_alloc(P->a, cap);
    for (int i = 0; i < P->p->nstmts; i++)
        len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, "%s%s", i ? "\n" : "",
                                tx_ast_stmt_str(P->a, P->p->stmts[i]));
    return buf;
}

/* "L:C: message" of the i-th diagnostic. */
static const char *diag(parsed *P, int i) {
    tx_diag *g = P->d.head;
    while (g && i-- > 0) g = g->next;
    if (!g) return "(none)";
    uint32_t line, col;
    tx_source_linecol(P->src, g->span.lo, &line, &col);
    return tx_arena_printf(P->a, "%u:%u: %s", line, col, g->msg);
}

static const char *hint(parsed *P, int i) {
    tx_diag *g = P->d.head;
    while (g && i-- > 0) g = g->next;
    return g && g->hint ? g->hint : "(none)";
}

/* Parse one statement without errors and compare its printed form. */
static void expect_stmt(const char *text, const char *want) {
    parsed *P = parse(text);
    if (P->d.nerr) print_error("input: %s\nfirst error: %s\n", text, diag(P, 0));
    assert_int_equal(P->d.nerr, 0);
    assert_int_equal(P->p->nstmts, 1);
    assert_string_equal(tx_ast_stmt_str(P->a, P->p->stmts[0]), want);
    done(P);
}

/* Parse an expression statement and compare the printed expression. */
static void expect_expr(const char *text, const char *want) {
    parsed *P = parse(text);
    if (P->d.nerr) print_error("input: %s\nfirst error: %s\n", text, diag(P, 0));
    assert_int_equal(P->d.nerr, 0);
    assert_int_equal(P->p->nstmts, 1);
    assert_int_equal(P->p->stmts[0]->kind, TX_AST_EXPR);
    const char *got = tx_ast_expr_str(P->a, P->p->stmts[0]->value);
    if (strcmp(got, want) != 0) print_error("input: %s\n", text);
    assert_string_equal(got, want);
    done(P);
}

/* The first diagnostic of text is want; nerr errors in all. */
static void expect_error(const char *text, int nerr, const char *want, const char *want_hint) {
    parsed *P = parse(text);
    if (strcmp(diag(P, 0), want) != 0) print_error("input: %s\n", text);
    assert_string_equal(diag(P, 0), want);
    if (want_hint) assert_string_equal(hint(P, 0), want_hint);
    if (P->d.nerr != nerr) print_error("input: %s\nsecond: %s\n", text, diag(P, 1));
    assert_int_equal(P->d.nerr, nerr);
    done(P);
}

/* No message may show bison's internals. */
static void check_wording(parsed *P) {
    static const char *const bad[] = { "$end", "YYEOF", "YYerror", "YYUNDEF", "syntax error",
                                       "error token", "$undefined", "invalid token", "LEXERR" };
    for (tx_diag *g = P->d.head; g; g = g->next)
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
            if (strstr(g->msg, bad[i])) fail_msg("internal wording in '%s'", g->msg);
}

/* ---- statements ------------------------------------------------------------------ */

static void test_let(void **state) {
    (void)state;
    parsed *P = parse("let n = 256\n");
    assert_int_equal(P->d.nerr, 0);
    assert_int_equal(P->p->nstmts, 1);
    tx_ast_stmt *s = P->p->stmts[0];
    assert_int_equal(s->kind, TX_AST_LET);
    assert_string_equal(s->let_name.name, "n");
    assert_int_equal(s->let_name.span.lo, 4);
    assert_int_equal(s->let_name.span.hi, 5);
    assert_int_equal(s->value->kind, TX_AST_NUM);
    assert_true(s->value->num == 256.0);
    assert_int_equal(s->span.lo, 0);
    assert_int_equal(s->span.hi, 11);
    assert_string_equal(tx_ast_stmt_str(P->a, s), "let n = 256");
    done(P);
    expect_stmt("let d = n / 2 + 1", "let d = ((n / 2) + 1)");
}

static void test_assign(void **state) {
    (void)state;
    parsed *P = parse("C[i,j] = A[i,k] * B[k,j]");
    assert_int_equal(P->d.nerr, 0);
    tx_ast_stmt *s = P->p->stmts[0];
    assert_int_equal(s->kind, TX_AST_ASSIGN);
    assert_int_equal(s->ntargets, 1);
    tx_ast_target *t = &s->targets[0];
    assert_string_equal(t->id.name, "C");
    assert_true(t->indexed);
    assert_int_equal(t->nsubs, 2);
    assert_int_equal(t->subs[0]->kind, TX_AST_NAME);
    assert_string_equal(t->subs[0]->name, "i");
    assert_string_equal(t->subs[1]->name, "j");
    assert_int_equal(t->id.span.lo, 0);
    assert_int_equal(t->id.span.hi, 1);
    assert_int_equal(t->span.lo, 0);
    assert_int_equal(t->span.hi, 6);
    assert_false(s->accumulate);
    assert_int_equal(s->op_span.lo, 7);
    assert_int_equal(s->op_span.hi, 8);
    assert_string_equal(tx_ast_stmt_str(P->a, s), "C[i,j] = (A[i,k] * B[k,j])");
    done(P);

    expect_stmt("X = randn(4, 3, seed=1)", "X = randn(4, 3, seed=1)");
    expect_stmt("C = A + 2*B", "C = (A + (2 * B))");
    expect_stmt("t = A[i,i]", "t = A[i,i]");
    /* subscripts are kept as written; sema decides what is allowed */
    expect_stmt("D[i] = X[i+1] - X[i-1]", "D[i] = (X[(i + 1)] - X[(i - 1)])");
    expect_stmt("Y[i+1] = 1", "Y[(i + 1)] = 1");
    expect_stmt("X[] = 1", "X[] = 1");
    expect_stmt("(x) = 1", "x = 1");

    P = parse("X[] = 1\nx = 2");
    assert_true(P->p->stmts[0]->targets[0].indexed);
    assert_int_equal(P->p->stmts[0]->targets[0].nsubs, 0);
    assert_false(P->p->stmts[1]->targets[0].indexed);
    done(P);
}

static void test_accumulate(void **state) {
    (void)state;
    parsed *P = parse("X[i,j] += A[i,k] * B[k,j]\nS += T");
    assert_int_equal(P->d.nerr, 0);
    tx_ast_stmt *s = P->p->stmts[0];
    assert_true(s->accumulate);
    assert_true(s->targets[0].indexed);
    assert_int_equal(s->op_span.lo, 7);
    assert_int_equal(s->op_span.hi, 9);
    s = P->p->stmts[1];
    assert_true(s->accumulate);
    assert_false(s->targets[0].indexed);
    assert_string_equal(tx_ast_stmt_str(P->a, s), "S += T");
    done(P);
}

static void test_tuple(void **state) {
    (void)state;
    parsed *P = parse("U, s, Vt = svd(A)");
    assert_int_equal(P->d.nerr, 0);
    tx_ast_stmt *s = P->p->stmts[0];
    assert_int_equal(s->kind, TX_AST_ASSIGN);
    assert_int_equal(s->ntargets, 3);
    assert_string_equal(s->targets[0].id.name, "U");
    assert_string_equal(s->targets[1].id.name, "s");
    assert_string_equal(s->targets[2].id.name, "Vt");
    assert_int_equal(s->targets[1].id.span.lo, 3);
    assert_false(s->targets[2].indexed);
    assert_int_equal(s->value->kind, TX_AST_CALL);
    assert_string_equal(tx_ast_stmt_str(P->a, s), "U, s, Vt = svd(A)");
    done(P);
    expect_stmt("w, V = eigh(A)", "w, V = eigh(A)");
}

static void test_expression_statement(void **state) {
    (void)state;
    parsed *P = parse("save(\"attention.npy\", O)\nA[0,1]\nx");
    assert_int_equal(P->d.nerr, 0);
    assert_int_equal(P->p->nstmts, 3);
    for (int i = 0; i < 3; i++) assert_int_equal(P->p->stmts[i]->kind, TX_AST_EXPR);
    assert_string_equal(stmts(P), "save(\"attention.npy\", O)\nA[0,1]\nx");
    done(P);
}

static void test_print(void **state) {
    (void)state;
    parsed *P = parse("print O[0,0], \"text\", x + 1");
    assert_int_equal(P->d.nerr, 0);
    tx_ast_stmt *s = P->p->stmts[0];
    assert_int_equal(s->kind, TX_AST_PRINT);
    assert_int_equal(s->nargs, 3);
    assert_int_equal(s->args[1]->kind, TX_AST_STR);
    assert_string_equal(tx_ast_stmt_str(P->a, s), "print O[0,0], \"text\", (x + 1)");
    done(P);
}

static void test_assert(void **state) {
    (void)state;
    parsed *P = parse("assert allclose(A, B)\nassert x < 1, \"x too big\"");
    assert_int_equal(P->d.nerr, 0);
    tx_ast_stmt *s = P->p->stmts[0];
    assert_int_equal(s->kind, TX_AST_ASSERT);
    assert_int_equal(s->nargs, 0);
    assert_int_equal(s->value->kind, TX_AST_CALL);
    s = P->p->stmts[1];
    assert_int_equal(s->nargs, 1);
    assert_int_equal(s->args[0]->kind, TX_AST_STR);
    assert_memory_equal(s->args[0]->str, "x too big", 9);
    assert_string_equal(stmts(P), "assert allclose(A, B)\nassert (x < 1), \"x too big\"");
    done(P);
}

static void test_for(void **state) {
    (void)state;
    parsed *P = parse("for t in 0..10 {\n  X[i] += t\n  print t\n}\nx = 1");
    assert_int_equal(P->d.nerr, 0);
    assert_int_equal(P->p->nstmts, 2);
    tx_ast_stmt *s = P->p->stmts[0];
    assert_int_equal(s->kind, TX_AST_FOR);
    assert_string_equal(s->var.name, "t");
    assert_int_equal(s->var.span.lo, 4);
    assert_true(s->lo->num == 0.0);
    assert_true(s->hi->num == 10.0);
    assert_int_equal(s->nbody, 2);
    assert_int_equal(s->body[0]->kind, TX_AST_ASSIGN);
    assert_int_equal(s->body[1]->kind, TX_AST_PRINT);
    assert_int_equal(s->span.lo, 0);
    assert_int_equal(s->span.hi, 40);
    assert_string_equal(tx_ast_stmt_str(P->a, s), "for t in 0..10 { X[i] += t; print t }");
    done(P);
    expect_stmt("for t in 0..n-1 { }", "for t in 0..(n - 1) { }");
    expect_stmt("for t in a..b {}", "for t in a..b { }");
    expect_stmt("for t in 0..3 { x = 1 }", "for t in 0..3 { x = 1 }");
    expect_stmt("for t in 0..3 { x = 1; y = 2; }", "for t in 0..3 { x = 1; y = 2 }");
    expect_stmt("for t in 0..3 {\n\n # c\n x = 1\n\n}", "for t in 0..3 { x = 1 }");
    expect_stmt("for a in 0..2 { for b in 0..2 { s += a * b } }",
                "for a in 0..2 { for b in 0..2 { s += (a * b) } }");
}

static void test_index(void **state) {
    (void)state;
    parsed *P = parse("index i, j : n");
    assert_int_equal(P->d.nerr, 0);
    tx_ast_stmt *s = P->p->stmts[0];
    assert_int_equal(s->kind, TX_AST_INDEX);
    assert_int_equal(s->nnames, 2);
    assert_string_equal(s->names[0].name, "i");
    assert_string_equal(s->names[1].name, "j");
    assert_int_equal(s->names[1].span.lo, 9);
    assert_int_equal(s->value->kind, TX_AST_NAME);
    assert_string_equal(tx_ast_stmt_str(P->a, s), "index i, j : n");
    done(P);
    expect_stmt("index k : 2*n", "index k : (2 * n)");
}

static void test_def(void **state) {
    (void)state;
    parsed *P = parse("def attention(Q[n,d], K[n,d], V[n,e]) -> O[n,e] {\n"
                      "  S[i,j] = exp(sum[a](Q[i,a]*K[j,a]))\n"
                      "  O[i,b] = S[i,j] * V[j,b] / sum[j](S[i,j])\n"
                      "}\n"
                      "O = attention(Q, K, V)\n");
    assert_int_equal(P->d.nerr, 0);
    assert_int_equal(P->p->nstmts, 2);
    tx_ast_stmt *s = P->p->stmts[0];
    assert_int_equal(s->kind, TX_AST_DEF);
    assert_string_equal(s->def_name.name, "attention");
    assert_int_equal(s->nparams, 3);
    assert_string_equal(s->params[2].id.name, "V");
    assert_int_equal(s->params[2].ndims, 2);
    assert_string_equal(s->params[2].dims[1].name, "e");
    assert_int_equal(s->params[2].dtype, TX_DT_NONE);
    assert_int_equal(s->params[0].span.lo, 14);
    assert_int_equal(s->params[0].span.hi, 20);
    assert_int_equal(s->nresults, 1);
    assert_string_equal(s->results[0].id.name, "O");
    assert_int_equal(s->nbody, 2);
    assert_string_equal(tx_ast_stmt_str(P->a, s),
                        "def attention(Q[n,d], K[n,d], V[n,e]) -> O[n,e] { "
                        "S[i,j] = exp(sum[a]((Q[i,a] * K[j,a]))); "
                        "O[i,b] = ((S[i,j] * V[j,b]) / sum[j](S[i,j])) }");
    done(P);

    P = parse("def f(A[n,3]: f32, x, B[]: c64, C: c128, D: f64) -> (U[n,r], s[r]) {\n return U, s\n}");
    assert_int_equal(P->d.nerr, 0);
    s = P->p->stmts[0];
    assert_int_equal(s->nparams, 5);
    tx_ast_param *p = &s->params[0];
    assert_int_equal(p->ndims, 2);
    assert_null(p->dims[1].name);
    assert_int_equal(p->dims[1].value, 3);
    assert_int_equal(p->dims[1].span.lo, 10);
    assert_int_equal(p->dtype, TX_DT_F32);
    assert_int_equal(p->dtype_span.lo, 14);
    assert_int_equal(p->dtype_span.hi, 17);
    assert_int_equal(p->span.lo, 6);
    assert_int_equal(p->span.hi, 17);
    assert_int_equal(s->params[1].ndims, 0);
    assert_null(s->params[1].dims);
    assert_int_equal(s->params[1].dtype, TX_DT_NONE);
    assert_int_equal(s->params[2].ndims, 0);
    assert_int_equal(s->params[2].dtype, TX_DT_C64);
    assert_int_equal(s->params[3].dtype, TX_DT_C128);
    assert_int_equal(s->params[4].dtype, TX_DT_F64);
    assert_int_equal(s->nresults, 2);
    assert_string_equal(s->results[1].id.name, "s");
    assert_int_equal(s->body[0]->kind, TX_AST_RETURN);
    assert_int_equal(s->body[0]->nargs, 2);
    assert_string_equal(tx_ast_stmt_str(P->a, s),
                        "def f(A[n,3]: f32, x, B: c64, C: c128, D: f64) -> (U[n,r], s[r]) { return U, s }");
    done(P);

    expect_stmt("def norm2(x[n]) -> s { s = sum[i](x[i]*x[i]) }",
                "def norm2(x[n]) -> s { s = sum[i]((x[i] * x[i])) }");
    expect_stmt("def g() { print 1 }", "def g() { print 1 }");
    expect_stmt("def g(x) -> (y) {}", "def g(x) -> y { }");
    expect_stmt("def g(x) -> y: f32 {}", "def g(x) -> y: f32 { }");
}

static void test_return(void **state) {
    (void)state;
    parsed *P = parse("return\nreturn a, b + 1");
    assert_int_equal(P->d.nerr, 0);
    assert_int_equal(P->p->stmts[0]->kind, TX_AST_RETURN);
    assert_int_equal(P->p->stmts[0]->nargs, 0);
    assert_int_equal(P->p->stmts[1]->nargs, 2);
    assert_string_equal(stmts(P), "return\nreturn a, (b + 1)");
    done(P);
}

static void test_separators_and_comments(void **state) {
    (void)state;
    parsed *P = parse("\n\n# header\nx = 1; y = 2;;\n   \n z = 3 # trailing\n# end");
    assert_int_equal(P->d.nerr, 0);
    assert_string_equal(stmts(P), "x = 1\ny = 2\nz = 3");
    /* statement spans exclude the separator */
    assert_int_equal(P->p->stmts[0]->span.lo, 11);
    assert_int_equal(P->p->stmts[0]->span.hi, 16);
    assert_int_equal(P->p->stmts[1]->span.hi, 23);
    done(P);

    /* newlines inside ( ) and [ ] do not end a statement */
    expect_stmt("X = randn(n,\n          d,\n          seed=1)", "X = randn(n, d, seed=1)");
    expect_stmt("C[i,\n  j] = A[i,\n k] * B[k,j]", "C[i,j] = (A[i,k] * B[k,j])");
    expect_stmt("x = (a +\n # comment\n b)", "x = (a + b)");

    P = parse("");
    assert_int_equal(P->p->nstmts, 0);
    assert_int_equal(P->d.nerr, 0);
    done(P);
    P = parse("\n;\n");
    assert_int_equal(P->p->nstmts, 0);
    assert_int_equal(P->d.nerr, 0);
    done(P);
}

static void test_first_program(void **state) {
    (void)state;
    const char *src =
        "# triple-wise (Kronecker) attention, n tokens of width d\n"
        "let n = 256\n"
        "let d = 16\n"
        "Q  = randn(n, d, seed=1)\n"
        "K1 = randn(n, d, seed=2)\n"
        "K2 = randn(n, d, seed=3)\n"
        "V1 = randn(n, d, seed=4)\n"
        "V2 = randn(n, d, seed=5)\n"
        "\n"
        "A[i,j,k] = exp(sum[a](Q[i,a] * K1[j,a] * K2[k,a]) / d)\n"
        "D[i]     = A[i,j,k]                              # j,k summed: not on the left\n"
        "O[i,b]   = A[i,j,k] * V1[j,b] * V2[k,b] / D[i]\n"
        "print O[0,0]\n"
        "save(\"attention.npy\", O)\n";
    parsed *P = parse(src);
    assert_int_equal(P->d.nerr, 0);
    assert_string_equal(stmts(P),
                        "let n = 256\n"
                        "let d = 16\n"
                        "Q = randn(n, d, seed=1)\n"
                        "K1 = randn(n, d, seed=2)\n"
                        "K2 = randn(n, d, seed=3)\n"
                        "V1 = randn(n, d, seed=4)\n"
                        "V2 = randn(n, d, seed=5)\n"
                        "A[i,j,k] = exp((sum[a](((Q[i,a] * K1[j,a]) * K2[k,a])) / d))\n"
                        "D[i] = A[i,j,k]\n"
                        "O[i,b] = (((A[i,j,k] * V1[j,b]) * V2[k,b]) / D[i])\n"
                        "print O[0,0]\n"
                        "save(\"attention.npy\", O)");
    done(P);
}

/* ---- expressions ---------------------------------------------------------------- */

static void test_precedence(void **state) {
    (void)state;
    static const char *const cases[][2] = {
        { "a + b * c", "(a + (b * c))" },
        { "a * b + c", "((a * b) + c)" },
        { "a - b - c", "((a - b) - c)" },
        { "a / b / c", "((a / b) / c)" },
        { "a - b + c", "((a - b) + c)" },
        { "a * b / c * d", "(((a * b) / c) * d)" },
        { "-x^2", "(-(x ^ 2))" },
        { "2^3^2", "(2 ^ (3 ^ 2))" },
        { "2^-1", "(2 ^ (-1))" },
        { "2^-x^2", "(2 ^ (-(x ^ 2)))" },
        { "-2^-x^2", "(-(2 ^ (-(x ^ 2))))" },
        { "(-x)^2", "((-x) ^ 2)" },
        { "(2^3)^2", "((2 ^ 3) ^ 2)" },
        { "a * -b", "(a * (-b))" },
        { "a - -b", "(a - (-b))" },
        { "--x", "(-(-x))" },
        { "+x", "(+x)" },
        { "-+-x", "(-(+(-x)))" },
        { "-a * b", "((-a) * b)" },
        { "-a + b", "((-a) + b)" },
        { "a^b*c", "((a ^ b) * c)" },
        { "a*b^c", "(a * (b ^ c))" },
        { "a < b + c", "(a < (b + c))" },
        { "a + b == c * d", "((a + b) == (c * d))" },
        { "(a < b) < c", "((a < b) < c)" },
        { "a < (b < c)", "(a < (b < c))" },
        { "(i == j)", "(i == j)" },
        { "i != j", "(i != j)" },
        { "i <= j", "(i <= j)" },
        { "i >= j", "(i >= j)" },
        { "i > j", "(i > j)" },
        { "(a + b) * c", "((a + b) * c)" },
        { "((a))", "a" },
        { "A[i+1, 2*j-1]", "A[(i + 1),((2 * j) - 1)]" },
        { "exp(-x^2 / 2)", "exp(((-(x ^ 2)) / 2))" },
        { "where(i < j, A[i,j], 0)", "where((i < j), A[i,j], 0)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) expect_expr(cases[i][0], cases[i][1]);
}

static void test_literals(void **state) {
    (void)state;
    parsed *P = parse("1.5 + 1j + 0.5j + \"a\\\"b\\n\" + .5 + 1e-3 + 2.5e+4 + 1.");
    assert_int_equal(P->d.nerr, 0);
    assert_string_equal(stmts(P),
                        "(((((((1.5 + 1j) + 0.5j) + \"a\\\"b\\n\") + 0.5) + 0.001) + 25000) + 1)");
    done(P);
    P = parse("0.1\n2j\n\"\"");
    assert_int_equal(P->p->stmts[0]->value->kind, TX_AST_NUM);
    assert_true(P->p->stmts[0]->value->num == 0.1);
    assert_string_equal(tx_ast_expr_str(P->a, P->p->stmts[0]->value), "0.10000000000000001");
    assert_int_equal(P->p->stmts[1]->value->kind, TX_AST_IMAG);
    assert_true(P->p->stmts[1]->value->num == 2.0);
    assert_int_equal(P->p->stmts[2]->value->kind, TX_AST_STR);
    assert_int_equal(P->p->stmts[2]->value->str_len, 0);
    done(P);
}

static void test_calls(void **state) {
    (void)state;
    parsed *P = parse("f(x, y + 1, seed=1, axis=-1)");
    assert_int_equal(P->d.nerr, 0);
    tx_ast_expr *e = P->p->stmts[0]->value;
    assert_int_equal(e->kind, TX_AST_CALL);
    assert_string_equal(e->name, "f");
    assert_int_equal(e->name_span.lo, 0);
    assert_int_equal(e->name_span.hi, 1);
    assert_int_equal(e->nargs, 2);
    assert_int_equal(e->nkwargs, 2);
    assert_string_equal(e->kwargs[0].name, "seed");
    assert_int_equal(e->kwargs[0].name_span.lo, 12);
    assert_int_equal(e->kwargs[0].name_span.hi, 16);
    assert_true(e->kwargs[0].value->num == 1.0);
    assert_string_equal(e->kwargs[1].name, "axis");
    assert_int_equal(e->builtin, -1);
    assert_string_equal(tx_ast_expr_str(P->a, e), "f(x, (y + 1), seed=1, axis=(-1))");
    done(P);
    expect_expr("zeros()", "zeros()");
    expect_expr("full(2, 3, value=7)", "full(2, 3, value=7)");
    expect_expr("rand(seed=3)", "rand(seed=3)");
    expect_expr("max(a, b)", "max(a, b)");
    expect_expr("real(ifft2(F))", "real(ifft2(F))");
    expect_expr("f(\n a,\n b\n)", "f(a, b)");
}

static void test_reductions(void **state) {
    (void)state;
    parsed *P = parse("sum[j,k](A[i,j,k] * 2)");
    assert_int_equal(P->d.nerr, 0);
    tx_ast_expr *e = P->p->stmts[0]->value;
    assert_int_equal(e->kind, TX_AST_REDUCE);
    assert_int_equal(e->redop, TX_RED_SUM);
    assert_int_equal(e->nidx, 2);
    assert_string_equal(e->idx[0].name, "j");
    assert_string_equal(e->idx[1].name, "k");
    assert_int_equal(e->idx[1].span.lo, 6);
    assert_int_equal(e->idx[1].span.hi, 7);
    assert_int_equal(e->nargs, 1);
    assert_int_equal(e->args[0]->kind, TX_AST_BINARY);
    assert_int_equal(e->span.lo, 0);
    assert_int_equal(e->span.hi, 22);
    done(P);
    expect_expr("sum[k](a + b)", "sum[k]((a + b))");
    expect_expr("max[k](A[i,k])", "max[k](A[i,k])");
    expect_expr("min[j,k](A[j,k])", "min[j,k](A[j,k])");
    expect_expr("prod[k](x[k])", "prod[k](x[k])");
    expect_expr("exp(sum[a](Q[i,a]*K[j,a]))", "exp(sum[a]((Q[i,a] * K[j,a])))");
    expect_expr("S[i,j]*V[j,b] / sum[j](S[i,j])", "((S[i,j] * V[j,b]) / sum[j](S[i,j]))");
    expect_expr("sum(X)", "sum(X)");
    expect_expr("sum[k](sum[l](A[k,l]))", "sum[k](sum[l](A[k,l]))");
}

static void test_spans(void **state) {
    (void)state;
    parsed *P = parse("y = a*b + -c^2");
    tx_ast_expr *e = P->p->stmts[0]->value;
    /* (a*b) + (-(c^2)) */
    assert_int_equal(e->kind, TX_AST_BINARY);
    assert_int_equal(e->span.lo, 4);
    assert_int_equal(e->span.hi, 14);
    assert_int_equal(e->a->span.lo, 4);
    assert_int_equal(e->a->span.hi, 7);
    assert_int_equal(e->b->kind, TX_AST_UNARY);
    assert_int_equal(e->b->span.lo, 10);
    assert_int_equal(e->b->span.hi, 14);
    assert_int_equal(e->b->a->kind, TX_AST_BINARY);
    assert_int_equal(e->b->a->span.lo, 11);
    assert_int_equal(e->b->a->span.hi, 14);
    done(P);

    P = parse("x = f(A[i, j], 2)");
    e = P->p->stmts[0]->value;
    assert_int_equal(e->span.lo, 4);
    assert_int_equal(e->span.hi, 17);
    assert_int_equal(e->args[0]->kind, TX_AST_ACCESS);
    assert_int_equal(e->args[0]->span.lo, 6);
    assert_int_equal(e->args[0]->span.hi, 13);
    assert_int_equal(e->args[0]->name_span.lo, 6);
    assert_int_equal(e->args[0]->name_span.hi, 7);
    assert_int_equal(e->args[0]->args[1]->span.lo, 11);
    done(P);

    /* parentheses: the flag is set and the span covers them */
    P = parse("x = (i == j) * 2");
    e = P->p->stmts[0]->value;
    assert_true(e->a->parens);
    assert_false(e->parens);
    assert_int_equal(e->a->span.lo, 4);
    assert_int_equal(e->a->span.hi, 12);
    assert_int_equal(e->a->a->span.lo, 5);
    done(P);

    /* a statement spans from its first to its last token; blocks include the brace */
    P = parse("  print a ,  b  # c\nfor t in 0..2 {\n x = 1 }  \n");
    assert_int_equal(P->p->stmts[0]->span.lo, 2);
    assert_int_equal(P->p->stmts[0]->span.hi, 14);
    assert_int_equal(P->p->stmts[1]->span.lo, 20);
    assert_int_equal(P->p->stmts[1]->span.hi, 44);
    done(P);
}

static void test_printer_names(void **state) {
    (void)state;
    static const char *const ops[] = { "+", "-", "*", "/", "^", "<", "<=", ">", ">=", "==", "!=", "neg", "pos" };
    for (int i = 0; i <= TX_OP_PLUS; i++) assert_string_equal(tx_ast_op_name((tx_op)i), ops[i]);
    assert_string_equal(tx_ast_redop_name(TX_RED_SUM), "sum");
    assert_string_equal(tx_ast_redop_name(TX_RED_MAX), "max");
    assert_string_equal(tx_ast_redop_name(TX_RED_MIN), "min");
    assert_string_equal(tx_ast_redop_name(TX_RED_PROD), "prod");
    tx_arena *a = tx_arena_new(0);
    assert_string_equal(tx_ast_expr_str(a, NULL), "<null>");
    assert_string_equal(tx_ast_stmt_str(a, NULL), "<null>");
    tx_arena_free(a);
}

/* ---- errors --------------------------------------------------------------------- */

static void test_error_missing_operand(void **state) {
    (void)state;
    expect_error("x = 1 +", 1, "1:8: expected an expression after '+'", NULL);
    expect_error("x = 1 +\ny = 2", 1, "1:8: expected an expression after '+'", NULL);
    expect_error("x = 1 + \n", 1, "1:9: expected an expression after '+'", NULL);
    expect_error("x =", 1, "1:4: expected an expression after '='", NULL);
    expect_error("print", 1, "1:6: expected an expression after 'print'", NULL);
    expect_error("x = = 1", 1, "1:5: expected an expression after '=', found '='", NULL);
    expect_error("x = 1 * * 2", 1, "1:9: expected an expression after '*', found '*'", NULL);
    expect_error("x = 1 ** 2", 1, "1:8: expected an expression after '*', found '*'",
                 "powers are written with '^': x^2");
    expect_error("x = (1 + )", 1, "1:10: expected an expression after '+', found ')'", NULL);
    expect_error("f(1,)", 1, "1:5: expected an expression after ',', found ')'", NULL);
    expect_error("x = 2^", 1, "1:7: expected an expression after '^'", NULL);
    expect_error("for t in { }", 1, "1:10: expected an expression after 'in', found '{'", NULL);
}

static void test_error_brackets(void **state) {
    (void)state;
    expect_error("x = (1 + 2))", 1, "1:12: unexpected ')'", "there is no '(' for it to close");
    expect_error("}", 1, "1:1: unexpected '}'", "there is no '{' for it to close");
    expect_error("y = (2 * 3\nz = 5\nw = 1", 1, "1:5: missing ')' to close '(' opened here", NULL);
    expect_error("A[i, j) = 1", 1, "1:2: missing ']' to close '[' opened here", "found ')' first");
    expect_error("x = f(1, 2", 1, "1:6: missing ')' to close '(' opened here", NULL);
    expect_error("x = f(1, 2\n", 1, "1:6: missing ')' to close '(' opened here", NULL);
    expect_error("for t in 0..3 {\n x = 1\n", 1, "1:15: missing '}' to close '{' opened here", NULL);
    expect_error("def f(A[n, d) {}", 1, "1:8: missing ']' to close '[' opened here", NULL);
    expect_error("x = A[f(i]", 1, "1:8: missing ')' to close '(' opened here", "found ']' first");
    /* an '=' on a later line inside the bracket: a new statement began */
    expect_error("B[i] = A[i] * (A[i] +\nC = A[1]\nD = 1", 1, "1:15: missing ')' to close '(' opened here",
                 NULL);
    expect_error("x = f(a,\n      b=1)", 0, "(none)", NULL);
    /* the statement after an unclosed bracket still parses when it starts with a keyword */
    parsed *P = parse("B = f(1, 2\nlet q = 3\nprint q");
    assert_int_equal(P->d.nerr, 1);
    assert_string_equal(diag(P, 0), "1:6: missing ')' to close '(' opened here");
    assert_string_equal(stmts(P), "let q = 3\nprint q");
    done(P);
}

static void test_error_unexpected(void **state) {
    (void)state;
    expect_error("x = 2 y", 1, "1:7: unexpected identifier 'y'; expected an operator or newline", NULL);
    expect_error("w = 2x", 1, "1:6: unexpected identifier 'x'; expected an operator or newline",
                 "write '*' for a product: 2*x");
    expect_error("x = 3 4", 1, "1:7: unexpected number '4'; expected an operator or newline", NULL);
    expect_error("print a b", 1, "1:9: unexpected identifier 'b'; expected ',', an operator or newline",
                 "separate items with ','");
    expect_error("let v[i] = 3", 1, "1:6: unexpected '['; expected '='",
                 "'let' binds a scalar; define a tensor without it: v[...] = ...");
    expect_error("let 3 = x", 1, "1:5: unexpected number '3'; expected identifier", NULL);
    expect_error("for i = 0..3 { }", 1, "1:7: unexpected '='; expected 'in'", NULL);
    expect_error("for i in range(3) { x = 1 }", 1, "1:19: unexpected '{'; expected '..' or an operator",
                 "a for loop runs over a range: for t in 0..n { ... }");
    expect_error("def f(x) -> y\n{\n}", 2,
                 "1:14: unexpected newline; expected ':', '[' or '{'", "the '{' of a block goes on the same line");
    expect_error("assert x = 1", 1, "1:10: unexpected '='; expected ',', an operator or newline",
                 "compare with '=='");
    expect_error("if x > 0 {\n y = 1\n}", 1, "1:4: unexpected identifier 'x'",
                 "tx has no 'if'; where(cond, a, b) picks per element");
    expect_error("x = a..b", 1, "1:6: unexpected '..'; expected an operator or newline", NULL);
    expect_error("index i j : n", 1, "1:9: unexpected identifier 'j'; expected ',' or ':'",
                 "separate items with ','");
    expect_error("x = f(a b)", 1, "1:9: unexpected identifier 'b'; expected ',', ')', '=' or an operator", NULL);
    expect_error("x = y[1 2]", 1, "1:9: unexpected number '2'; expected ',', ']' or an operator", NULL);
    expect_error("x = (1, 2)", 1, "1:7: unexpected ','; expected ')' or an operator", NULL);
    expect_error("x = 1 = 2", 1, "1:7: unexpected '='; expected an operator or newline", NULL);
    expect_error("for t in 0..3 { x = 1 } y = 2", 1, "1:25: unexpected identifier 'y'; expected newline", NULL);
    expect_error("def 3", 1, "1:5: unexpected number '3'; expected identifier", NULL);
    expect_error("def f(3)", 1, "1:7: unexpected number '3'; expected identifier or ')'", NULL);
}

static void test_error_keyword_as_name(void **state) {
    (void)state;
    expect_error("let for = 3", 1, "1:5: 'for' is a keyword and cannot be used as a name", NULL);
    expect_error("x = index + 1", 1, "1:5: 'index' is a keyword and cannot be used as a name", NULL);
    expect_error("def print(x) {}", 1, "1:5: 'print' is a keyword and cannot be used as a name", NULL);
    expect_error("y = f(in)", 1, "1:7: 'in' is a keyword and cannot be used as a name", NULL);
    expect_error("index = 2", 1, "1:1: 'index' is a keyword and cannot be used as a name", NULL);
    expect_error("x = 1; print = 2", 1, "1:8: 'print' is a keyword and cannot be used as a name", NULL);
    expect_error("return[i] = 2", 1, "1:1: 'return' is a keyword and cannot be used as a name", NULL);
    expect_error("for t in 0..2 {\n  let += 1\n}", 1,
                 "2:3: 'let' is a keyword and cannot be used as a name", NULL);
}

static void test_error_semantic_shapes(void **state) {
    (void)state;
    expect_error("a < b < c", 1, "1:7: comparisons cannot be chained",
                 "use parentheses: (a < b) < c compares the 0/1 result; (a < b) * (b < c) means both hold");
    expect_error("x = a == b != c", 1, "1:12: comparisons cannot be chained", NULL);
    expect_error("f(x) = 3", 1, "1:1: cannot assign to this expression",
                 "the left of '=' is a name (X = ...) or a tensor with index names (X[i,j] = ...)");
    expect_error("a, 2 = f(x)", 1, "1:4: cannot assign to this expression", NULL);
    expect_error("x + 1 += 2", 1, "1:1: cannot assign to this expression", NULL);
    expect_error("a, b += f(x)", 1, "1:6: '+=' takes a single target", NULL);
    expect_error("g(seed=1, 2)", 1, "1:11: keyword arguments come after positional ones",
                 "move this argument before 'seed='");
    expect_error("x = f(a=1, a=2)", 1, "1:12: keyword argument 'a' is given twice", NULL);
    expect_error("foo[k](x)", 1, "1:1: 'foo[...](...)' is not a reduction: reductions are sum, max, min, prod",
                 "to multiply an access by a parenthesised factor, write foo[...] * (...)");
    expect_error("s = sum[k+1](x)", 1, "1:9: reduction indices must be plain identifiers", NULL);
    expect_error("s = sum[(k)](x)", 1, "1:9: reduction indices must be plain identifiers", NULL);
    expect_error("s = sum[1](x)", 1, "1:9: reduction indices must be plain identifiers", NULL);
    expect_error("s = sum[k](x, y)", 1, "1:11: a reduction takes exactly one expression", NULL);
    expect_error("s = sum[k](x, axis=1)", 1, "1:11: a reduction takes exactly one expression", NULL);
    expect_error("s = sum[k]()", 1, "1:11: a reduction takes exactly one expression", NULL);
    expect_error("s = sum[](x)", 1, "1:8: a reduction needs at least one index", NULL);
    expect_error("def f(A[n, 2.5]) {}", 1, "1:12: a size must be a whole number, not 2.5", NULL);
    expect_error("def f(A[1e3]) {}", 1, "1:9: a size must be a whole number, not 1e3", NULL);
    expect_error("def f(A[99999999999999999999]) {}", 1, "1:9: size 99999999999999999999 is too large", NULL);
    expect_error("def f(A: f16) {}", 1, "1:10: unknown dtype 'f16'", "dtypes are f64, f32, c128 and c64");
    expect_error("def f(x) -> y: int {}", 1, "1:16: unknown dtype 'int'", NULL);
}

static void test_error_lexical_through_parser(void **state) {
    (void)state;
    expect_error("x = $", 1, "1:5: unexpected character '$'", NULL);
    expect_error("x = $ + 1\ny = 2", 1, "1:5: unexpected character '$'", NULL);
    expect_error("x = f(1, $, 2)", 1, "1:10: unexpected character '$'", NULL);
    expect_error("x = 1 $ 2", 1, "1:7: unexpected character '$'", NULL);
    expect_error("s = \"abc", 1, "1:5: unterminated string", NULL);
    expect_error("print \"a\\qb\", 1", 1, "1:9: unknown escape '\\q' in string", NULL);
    expect_error("x = 1e999", 1, "1:5: number 1e999 is too large", NULL);
    /* the statement with the error is dropped, the others are kept */
    parsed *P = parse("a = 1\nb = \"x\\q\"\nc = 3");
    assert_int_equal(P->d.nerr, 1);
    assert_string_equal(stmts(P), "a = 1\nc = 3");
    done(P);
}

/* Several independent errors in one file are all reported, in order, and
 * every good statement is kept. */
static void test_recovery(void **state) {
    (void)state;
    const char *src =
        "a = 1\n"
        "b = 2 +\n"                     /* 2:8 */
        "c = 3\n"
        "d = (4 * \n"                   /* 4:10 (inside parens, at the next line's token) */
        "    )\n"
        "e = 5; f = * 6; g = 7\n"       /* 6:12 */
        "for t in 0..3 {\n"
        "  h = t +\n"                   /* 8:10 */
        "  k = t\n"
        "}\n"
        "m = $\n"                        /* 11:5 */
        "n = ((1 +) + (2 *))\n"          /* 12:10 and 12:18 */
        "p = sum[k](x, y)\n"             /* 13:11 */
        "q = 9\n";
    parsed *P = parse(src);
    check_wording(P);
    assert_int_equal(P->d.nerr, 8);
    assert_string_equal(diag(P, 0), "2:8: expected an expression after '+'");
    assert_string_equal(diag(P, 1), "5:5: expected an expression after '*', found ')'");
    assert_string_equal(diag(P, 2), "6:12: expected an expression after '=', found '*'");
    assert_string_equal(diag(P, 3), "8:10: expected an expression after '+'");
    assert_string_equal(diag(P, 4), "11:5: unexpected character '$'");
    assert_string_equal(diag(P, 5), "12:10: expected an expression after '+', found ')'");
    assert_string_equal(diag(P, 6), "12:18: expected an expression after '*', found ')'");
    assert_string_equal(diag(P, 7), "13:11: a reduction takes exactly one expression");
    assert_string_equal(stmts(P), "a = 1\nc = 3\ne = 5\ng = 7\nfor t in 0..3 { k = t }\nq = 9");
    done(P);

    /* errors inside a def body keep the def */
    P = parse("def f(x) -> y {\n  y = x +\n  z = ]\n  y = x\n}\nw = f(1)");
    assert_int_equal(P->d.nerr, 2);
    assert_string_equal(diag(P, 0), "2:10: expected an expression after '+'");
    assert_string_equal(diag(P, 1), "3:7: expected an expression after '=', found ']'");
    assert_string_equal(stmts(P), "def f(x) -> y { y = x }\nw = f(1)");
    done(P);

    /* a broken for header drops the loop but the body is still checked */
    P = parse("for i = 0..3 {\n  x = 1 +\n}\ny = 2");
    assert_int_equal(P->d.nerr, 2);
    assert_string_equal(diag(P, 0), "1:7: unexpected '='; expected 'in'");
    assert_string_equal(diag(P, 1), "2:10: expected an expression after '+'");
    assert_string_equal(stmts(P), "y = 2");
    done(P);

    /* an error spanning a multi-line bracketed statement is reported once */
    P = parse("h = f(1,\n      2 3)\nk = 4");
    assert_int_equal(P->d.nerr, 1);
    assert_string_equal(diag(P, 0), "2:9: unexpected number '3'; expected ',', ')' or an operator");
    assert_string_equal(stmts(P), "k = 4");
    done(P);
}

/* ---- limits ---------------------------------------------------------------------- */

static char *repeat(const char *prefix, const char *unit, int n, const char *suffix) {
    size_t lp = strlen(prefix), lu = strlen(unit), ls = strlen(suffix);
    char *s = malloc(lp + lu * (size_t)n + ls + 1);
    memcpy(s, prefix, lp);
    for (int i = 0; i < n; i++) memcpy(s + lp + lu * (size_t)i, unit, lu);
    memcpy(s + lp + lu * (size_t)n, suffix, ls + 1);
    return s;
}

static const char *TOO_DEEP = "expression nested too deeply (more than 1000 levels)";

static void expect_too_deep(char *text, int want_stmts) {
    parsed *P = parse(text);
    assert_int_equal(P->d.nerr, 1);
    assert_non_null(strstr(diag(P, 0), TOO_DEEP));
    assert_int_equal(P->p->nstmts, want_stmts);
    done(P);
    free(text);
}

static void test_nesting_limit_brackets(void **state) {
    (void)state;
    expect_too_deep(repeat("x = ", "(", 100000, "\ny = 1\n"), 0);
    expect_too_deep(repeat("x = ", "(", 100000, ""), 0);
    expect_too_deep(repeat("x = ", "f(", 100000, ""), 0);
    expect_too_deep(repeat("x = ", "A[", 100000, ""), 0);
    expect_too_deep(repeat("", "for t in 0..1 {\n", 100000, ""), 0);

    /* 1000 levels are fine, 1001 are not; the next statement survives */
    char *open = repeat("x = ", "(", 1000, "1");
    char *text = repeat(open, ")", 1000, "\ny = 2\n");
    parsed *P = parse(text);
    assert_int_equal(P->d.nerr, 0);
    assert_int_equal(P->p->nstmts, 2);
    done(P);
    free(open);
    free(text);
    open = repeat("x = ", "(", 1001, "1");
    text = repeat(open, ")", 1001, "\ny = 2\n");
    P = parse(text);
    assert_int_equal(P->d.nerr, 1);
    assert_string_equal(diag(P, 0), tx_arena_printf(P->a, "1:1005: %s", TOO_DEEP));
    assert_string_equal(stmts(P), "y = 2");
    done(P);
    free(open);
    free(text);

    /* deep nesting in a for body: reported once, the rest is fine */
    open = repeat("", "for t in 0..1 {\n", 2000, "");
    text = repeat(open, "}\n", 2000, "y = 2\n");
    P = parse(text);
    assert_int_equal(P->d.nerr, 1);
    assert_non_null(strstr(diag(P, 0), TOO_DEEP));
    done(P);
    free(open);
    free(text);
}

static void test_nesting_limit_trees(void **state) {
    (void)state;
    /* long chains: the tree depth is limited, not the input length */
    char *s = malloc(100000 * 2 + 64);
    strcpy(s, "x = 1");
    size_t n = strlen(s);
    for (int i = 1; i < 100000; i++) {
        memcpy(s + n, "+1", 2);
        n += 2;
    }
    strcpy(s + n, "\ny = 2\n");
    expect_too_deep(s, 1);

    expect_too_deep(repeat("x = ", "-", 100000, "1\ny = 2"), 1);
    expect_too_deep(repeat("x = ", "- +", 50000, "1\ny = 2"), 1);
    expect_too_deep(repeat("x = 2", "^2", 100000, "\ny = 2"), 1);
    expect_too_deep(repeat("x = 2", "^-2", 100000, "\ny = 2"), 1);
    expect_too_deep(repeat("x = 2", "*2", 100000, "\ny = 2"), 1);

    /* 1000 terms are fine (depth 999 + leaves), 1001 too; 1002 are not */
    char *ok = repeat("x = 1", "+1", 999, "");
    parsed *P = parse(ok);
    assert_int_equal(P->d.nerr, 0);
    done(P);
    free(ok);
    ok = repeat("x = ", "-", 999, "1");
    P = parse(ok);
    assert_int_equal(P->d.nerr, 0);
    done(P);
    free(ok);
    expect_too_deep(repeat("x = ", "-", 1000, "1"), 0);

    /* wide is fine: 100000 arguments, 100000 print items */
    char *wide = repeat("x = f(1", ",1", 100000, ")");
    P = parse(wide);
    assert_int_equal(P->d.nerr, 0);
    assert_int_equal(P->p->stmts[0]->value->nargs, 100001);
    done(P);
    free(wide);
}

/* ---- random input ------------------------------------------------------------------- */

static void check_expr_spans(const tx_ast_expr *e, tx_span outer, uint32_t len, int depth) {
    if (!e) fail_msg("NULL expression in a kept statement");
    assert_true(depth <= TX_MAX_NESTING + 1);
    assert_true(e->span.lo <= e->span.hi);
    assert_true(e->span.hi <= len);
    assert_true(e->span.lo >= outer.lo && e->span.hi <= outer.hi);
    if (e->a) check_expr_spans(e->a, e->span, len, depth + 1);
    if (e->b) check_expr_spans(e->b, e->span, len, depth + 1);
    for (int i = 0; i < e->nargs; i++) check_expr_spans(e->args[i], e->span, len, depth + 1);
    for (int i = 0; i < e->nkwargs; i++) check_expr_spans(e->kwargs[i].value, e->span, len, depth + 1);
}

static void check_stmt(const tx_ast_stmt *s, tx_span outer, uint32_t len) {
    assert_non_null(s);
    assert_true(s->span.lo <= s->span.hi && s->span.hi <= len);
    assert_true(s->span.lo >= outer.lo && s->span.hi <= outer.hi);
    if (s->value) check_expr_spans(s->value, s->span, len, 0);
    if (s->lo) check_expr_spans(s->lo, s->span, len, 0);
    if (s->hi) check_expr_spans(s->hi, s->span, len, 0);
    for (int i = 0; i < s->nargs; i++) check_expr_spans(s->args[i], s->span, len, 0);
    for (int i = 0; i < s->ntargets; i++)
        for (int j = 0; j < s->targets[i].nsubs; j++) check_expr_spans(s->targets[i].subs[j], s->span, len, 0);
    for (int i = 0; i < s->nbody; i++) check_stmt(s->body[i], s->span, len);
}

/* Parse, check invariants, print; when error-free, printing and parsing
 * again must give the same text. */
static void check_random(const char *text, uint32_t n) {
    parsed *P = parse_n(text, n);
    check_wording(P);
    tx_span all = { 0, n };
    for (int i = 0; i < P->p->nstmts; i++) check_stmt(P->p->stmts[i], all, n);
    for (tx_diag *g = P->d.head; g; g = g->next) {
        assert_true(g->span.lo <= g->span.hi);
        assert_true(g->span.hi <= n);
        assert_true(g->msg[0] != 0);
    }
    const char *printed = stmts(P);
    if (P->d.nerr == 0 && !strstr(printed, "\\x")) { /* control bytes print as \xNN */
        parsed *Q = parse(printed);
        if (Q->d.nerr) print_error("input: %.*s\nprinted: %s\nerror: %s\n", (int)n, text, printed, diag(Q, 0));
        assert_int_equal(Q->d.nerr, 0);
        assert_string_equal(stmts(Q), printed);
        done(Q);
    }
    done(P);
}

static unsigned long long rng_state;
static unsigned rnd(unsigned n) {
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)((rng_state >> 33) % n);
}

static void test_random_bytes(void **state) {
    (void)state;
    rng_state = 42;
    char text[400];
    for (int iter = 0; iter < 3000; iter++) {
        uint32_t n = rnd(400);
        for (uint32_t i = 0; i < n; i++) text[i] = (char)rnd(256);
        check_random(text, n);
    }
}

static void test_random_token_soup(void **state) {
    (void)state;
    static const char *const vocab[] = {
        "x", "A", "i", "j", "sum", "max", "f", "1", "2.5", "0", "1j", "\"s\"", "(", ")", "[", "]",
        "{", "}", ",", ";", "\n", "\n", "=", "+=", "+", "-", "*", "/", "^", "<", "==", "..", "->",
        ":", "let", "def", "for", "in", "print", "assert", "index", "return", "#c\n", "$", "\"u",
        "\\", "f32", "\0", "\xc3\xa9", ".", "1.", "e5",
    };
    const int nv = (int)(sizeof vocab / sizeof *vocab);
    rng_state = 7;
    char text[2048];
    for (int iter = 0; iter < 6000; iter++) {
        uint32_t n = 0;
        int ntok = (int)rnd(60);
        for (int t = 0; t < ntok; t++) {
            int k = (int)rnd((unsigned)nv);
            size_t l = vocab[k][0] ? strlen(vocab[k]) : 1; /* "\0" is one byte */
            memcpy(text + n, vocab[k], l);
            n += (uint32_t)l;
            if (rnd(2)) text[n++] = ' ';
        }
        check_random(text, n);
    }
}

/* Statement-shaped soups: mostly valid programs with a few mutations. */
static void test_random_statements(void **state) {
    (void)state;
    static const char *const stmts_[] = {
        "let n = 4", "C[i,j] = A[i,k] * B[k,j]", "X += 1", "a, b = f(x, seed=1)", "print a, \"t\", b",
        "assert x < 1, \"m\"", "index i, j : n", "return a", "save(\"f.npy\", X)",
        "for t in 0..n { x = t }", "def g(A[n,3]: f32, s) -> (U[n], v) { U[i] = A[i,0] * s; v = 1 }",
        "y = -x^2 + 2^-1 * sum[k](A[i,k])", "z = (i == j) * 1j", "w = f(\n1,\n2)",
    };
    const int ns = (int)(sizeof stmts_ / sizeof *stmts_);
    rng_state = 99;
    char text[4096];
    for (int iter = 0; iter < 3000; iter++) {
        uint32_t n = 0;
        int k = 1 + (int)rnd(6);
        for (int s = 0; s < k; s++) {
            const char *st = stmts_[rnd((unsigned)ns)];
            size_t l = strlen(st);
            memcpy(text + n, st, l);
            n += (uint32_t)l;
            text[n++] = rnd(4) ? '\n' : ';';
        }
        /* mutate: delete, duplicate or replace a few bytes */
        int m = (int)rnd(4);
        for (int j = 0; j < m && n > 1; j++) {
            uint32_t at = rnd(n);
            switch (rnd(3)) {
            case 0: memmove(text + at, text + at + 1, n - at - 1); n--; break;
            case 1: memmove(text + at + 1, text + at, n - at); n++; break;
            default: text[at] = "()[]{},;=+-*^\n\"x1."[rnd(18)]; break;
            }
        }
        check_random(text, n);
    }
}

/* ---- precedence against a random-expression oracle ----------------------------------- */

/* Generate a random expression tree, render it with as few parentheses as
 * the precedence rules of LANGUAGE.md allow (plus some redundant ones), and
 * check that the parser rebuilds exactly that tree. */
typedef struct gbuf {
    char s[8192];
    size_t n;
} gbuf;

static void gput(gbuf *b, const char *t) {
    size_t l = strlen(t);
    if (b->n + l < sizeof b->s) {
        memcpy(b->s + b->n, t, l);
        b->n += l;
        b->s[b->n] = 0;
    }
}

enum { L_CMP = 1, L_ADD, L_MUL, L_UNARY, L_POW, L_ATOM };

/* Render text (minimal parens) and want (fully parenthesised) together. */
static int gen(gbuf *text, gbuf *want, int depth);

static void gen_paren(gbuf *text, gbuf *want, int depth, int min_level, int strict) {
    gbuf t = { .n = 0 }, w = { .n = 0 };
    t.s[0] = w.s[0] = 0;
    int lvl = gen(&t, &w, depth);
    bool need = strict ? lvl <= min_level : lvl < min_level;
    if (need || rnd(8) == 0) {
        gput(text, "(");
        gput(text, t.s);
        gput(text, ")");
    } else {
        gput(text, t.s);
    }
    gput(want, w.s);
}

static int gen(gbuf *text, gbuf *want, int depth) {
    unsigned r = depth > 5 ? 0 : rnd(10);
    static const char *const leaves[] = { "a", "b", "x", "2", "0.5", "1j", "A[i,j]", "sum[k](B[k])", "f(y, seed=1)" };
    static const char *const cmp[] = { "<", "<=", ">", ">=", "==", "!=" };
    switch (r) {
    case 0: case 1: case 2: {
        const char *l = leaves[rnd(9)];
        gput(text, l);
        gput(want, strcmp(l, "sum[k](B[k])") == 0 ? "sum[k](B[k])" : l);
        return L_ATOM;
    }
    case 3: { /* comparison: non-associative */
        const char *op = cmp[rnd(6)];
        gput(want, "(");
        gen_paren(text, want, depth + 1, L_CMP, 1);
        gput(text, op);
        gput(want, " "); gput(want, op); gput(want, " ");
        gen_paren(text, want, depth + 1, L_CMP, 1);
        gput(want, ")");
        return L_CMP;
    }
    case 4: case 5: { /* + - left-assoc */
        const char *op = rnd(2) ? "+" : "-";
        gput(want, "(");
        gen_paren(text, want, depth + 1, L_ADD, 0);
        gput(text, op);
        gput(want, " "); gput(want, op); gput(want, " ");
        gen_paren(text, want, depth + 1, L_ADD, 1);
        gput(want, ")");
        return L_ADD;
    }
    case 6: case 7: { /* * / left-assoc */
        const char *op = rnd(2) ? "*" : "/";
        gput(want, "(");
        gen_paren(text, want, depth + 1, L_MUL, 0);
        gput(text, op);
        gput(want, " "); gput(want, op); gput(want, " ");
        gen_paren(text, want, depth + 1, L_MUL, 1);
        gput(want, ")");
        return L_MUL;
    }
    case 8: { /* unary: its operand may be unary or tighter */
        const char *op = rnd(3) ? "-" : "+";
        gput(text, op);
        gput(want, "(");
        gput(want, op);
        gen_paren(text, want, depth + 1, L_UNARY, 0);
        gput(want, ")");
        return L_UNARY;
    }
    default: { /* ^ right-assoc; the base is an atom, the exponent may be unary */
        gput(want, "(");
        gen_paren(text, want, depth + 1, L_POW, 1);
        gput(text, "^");
        gput(want, " ^ ");
        gen_paren(text, want, depth + 1, L_UNARY, 0);
        gput(want, ")");
        return L_POW;
    }
    }
}

static void test_precedence_oracle(void **state) {
    (void)state;
    rng_state = 2024;
    for (int iter = 0; iter < 4000; iter++) {
        gbuf text = { .n = 0 }, want = { .n = 0 };
        text.s[0] = want.s[0] = 0;
        gen(&text, &want, 0);
        expect_expr(text.s, want.s);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_let),
        cmocka_unit_test(test_assign),
        cmocka_unit_test(test_accumulate),
        cmocka_unit_test(test_tuple),
        cmocka_unit_test(test_expression_statement),
        cmocka_unit_test(test_print),
        cmocka_unit_test(test_assert),
        cmocka_unit_test(test_for),
        cmocka_unit_test(test_index),
        cmocka_unit_test(test_def),
        cmocka_unit_test(test_return),
        cmocka_unit_test(test_separators_and_comments),
        cmocka_unit_test(test_first_program),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_calls),
        cmocka_unit_test(test_reductions),
        cmocka_unit_test(test_spans),
        cmocka_unit_test(test_printer_names),
        cmocka_unit_test(test_error_missing_operand),
        cmocka_unit_test(test_error_brackets),
        cmocka_unit_test(test_error_unexpected),
        cmocka_unit_test(test_error_keyword_as_name),
        cmocka_unit_test(test_error_semantic_shapes),
        cmocka_unit_test(test_error_lexical_through_parser),
        cmocka_unit_test(test_recovery),
        cmocka_unit_test(test_nesting_limit_brackets),
        cmocka_unit_test(test_nesting_limit_trees),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_random_token_soup),
        cmocka_unit_test(test_random_statements),
        cmocka_unit_test(test_precedence_oracle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
