/*
 * test_lexer.c -- tokens of frontend/lexer.l, driven directly through the
 * lexer interface in the generated frontend/parser.h: token kinds, values,
 * byte-offset spans, the bracket rules for newlines, and every lexical
 * error (message and line:col).
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

#include "frontend/ast.h"
#include "frontend/diag.h"
#include "frontend/parser.h"

/* ---- helpers ------------------------------------------------------------------ */

typedef struct lexed {
    tx_arena *a;
    tx_source *src;
    tx_diags d;
    int n;
    int kind[256];
    tx_span span[256];
    double num[256];
    const char *str[256];
    int str_len[256];
    char desc[4096];   /* "NAME(x) = NUM(1) NL EOF" */
} lexed;

static const char *kind_name(int k) {
    switch (k) {
    case 0: return "EOF";
    case NAME: return "NAME";
    case STRING: return "STR";
    case NUMBER: return "NUM";
    case IMAG: return "IMAG";
    case LET: return "let";
    case DEF: return "def";
    case FOR: return "for";
    case IN: return "in";
    case PRINT: return "print";
    case ASSERT: return "assert";
    case INDEX: return "index";
    case RETURN: return "return";
    case NEWLINE: return "NL";
    case SEMI: return ";";
    case COMMA: return ",";
    case COLON: return ":";
    case LPAREN: return "(";
    case RPAREN: return ")";
    case LBRACK: return "[";
    case RBRACK: return "]";
    case LBRACE: return "{";
    case RBRACE: return "}";
    case ASSIGN: return "=";
    case PLUSEQ: return "+=";
    case PLUS: return "+";
    case MINUS: return "-";
    case STAR: return "*";
    case SLASH: return "/";
    case CARET: return "^";
    case DOTDOT: return "..";
    case ARROW: return "->";
    case LT: return "<";
    case LE: return "<=";
    case GT: return ">";
    case GE: return ">=";
    case EQ: return "==";
    case NE: return "!=";
    case LEXERR: return "ERR";
    default: return "?";
    }
}

/* Lex src (already built) to the end. */
static void lex_src(lexed *L) {
    tx_diags_init(&L->d, L->a, L->src);
    tx_pstate P;
    memset(&P, 0, sizeof P);
    P.arena = L->a;
    P.diags = &L->d;
    P.src = L->src;
    yyscan_t sc = tx_lex_open(&P);
    size_t len = 0;
    L->desc[0] = 0;
    /* record the first 256 tokens, but always lex to the end */
    for (long count = 0;; count++) {
        YYSTYPE v;
        YYLTYPE loc;
        memset(&v, 0, sizeof v);
        int k = yylex(&v, &loc, sc);
        assert_true(count < 10000000); /* the lexer always reaches the end */
        if (L->n == 256) {
            if (k == 0) break;
            continue;
        }
        L->kind[L->n] = k;
        L->span[L->n] = loc;
        char item[96];
        if (k == NAME) {
            L->str[L->n] = v.str.s;
            snprintf(item, sizeof item, "NAME(%s)", v.str.s);
        } else if (k == NUMBER || k == IMAG) {
            L->num[L->n] = v.num;
            snprintf(item, sizeof item, "%s(%g)", kind_name(k), v.num);
        } else if (k == STRING) {
            L->str[L->n] = v.str.s;
            L->str_len[L->n] = v.str.len;
            snprintf(item, sizeof item, "STR");
        } else {
            snprintf(item, sizeof item, "%s", kind_name(k));
        }
        len += (size_t)snprintf(L->desc + len, sizeof L->desc - len, "%s%s", len ? " " : "", item);
        L->n++;
        if (k == 0) break;
    }
    tx_lex_close(sc);
}

static lexed *lex_n(const char *text, uint32_t n) {
    lexed *L = calloc(1, sizeof *L);
    L->a = tx_arena_new(0);
    L->src = tx_source_new(L->a, "t.tx", text, n);
    lex_src(L);
    return L;
}

static lexed *lex(const char *text) { return lex_n(text, (uint32_t)strlen(text)); }

static void done(lexed *L) {
    tx_arena_free(L->a);
    free(L);
}

/* "L:C: message" of the i-th diagnostic. */
static const char *diag_at(lexed *L, int i, char *buf, size_t n) {
    tx_diag *g = L->d.head;
    while (g && i-- > 0) g = g->next;
    if (!g) return "(none)";
    uint32_t line, col;
    tx_source_linecol(L->src, g->span.lo, &line, &col);
    snprintf(buf, n, "%u:%u: %s", line, col, g->msg);
    return buf;
}

static void expect_tokens(const char *text, const char *want) {
    lexed *L = lex(text);
    if (strcmp(L->desc, want) != 0) print_error("input: %s\n", text);
    assert_string_equal(L->desc, want);
    assert_int_equal(L->d.nerr, 0);
    done(L);
}

static void expect_error(const char *text, const char *want_diag, const char *want_hint) {
    lexed *L = lex(text);
    char buf[512];
    assert_int_equal(L->d.nerr, 1);
    assert_string_equal(diag_at(L, 0, buf, sizeof buf), want_diag);
    if (want_hint) {
        assert_non_null(L->d.head->hint);
        assert_string_equal(L->d.head->hint, want_hint);
    }
    done(L);
}

/* ---- tokens --------------------------------------------------------------------- */

static void test_simple_statement(void **state) {
    (void)state;
    expect_tokens("C[i,j] = A[i,k] * B[k,j]\n",
                  "NAME(C) [ NAME(i) , NAME(j) ] = NAME(A) [ NAME(i) , NAME(k) ] * "
                  "NAME(B) [ NAME(k) , NAME(j) ] NL EOF");
}

static void test_operators(void **state) {
    (void)state;
    expect_tokens(".. -> += == != <= >= < > = + - * / ^ , : ; ( ) [ ] { }",
                  ".. -> += == != <= >= < > = + - * / ^ , : ; ( ) [ ] { } EOF");
    expect_tokens("a<=b>=c!=d==e", "NAME(a) <= NAME(b) >= NAME(c) != NAME(d) == NAME(e) EOF");
    expect_tokens("x+=1", "NAME(x) += NUM(1) EOF");
    expect_tokens("f(x)->y", "NAME(f) ( NAME(x) ) -> NAME(y) EOF");
    expect_tokens("a--b", "NAME(a) - - NAME(b) EOF");
}

static void test_keywords_and_identifiers(void **state) {
    (void)state;
    expect_tokens("let def for in print assert index return",
                  "let def for in print assert index return EOF");
    expect_tokens("lets define fort int printer asserts indexes returned",
                  "NAME(lets) NAME(define) NAME(fort) NAME(int) NAME(printer) NAME(asserts) "
                  "NAME(indexes) NAME(returned) EOF");
    expect_tokens("_x x_1 f64 c128 sum max", "NAME(_x) NAME(x_1) NAME(f64) NAME(c128) NAME(sum) NAME(max) EOF");
    expect_tokens("Let LET", "NAME(Let) NAME(LET) EOF");
}

static void test_numbers(void **state) {
    (void)state;
    lexed *L = lex("12 1.5 .5 1e-3 2.5e+4 1. 1E3 007");
    assert_string_equal(L->desc, "NUM(12) NUM(1.5) NUM(0.5) NUM(0.001) NUM(25000) NUM(1) NUM(1000) NUM(7) EOF");
    assert_true(L->num[0] == 12.0);
    assert_true(L->num[1] == 1.5);
    assert_true(L->num[2] == 0.5);
    assert_true(L->num[3] == 1e-3);
    assert_true(L->num[4] == 2.5e4);
    assert_true(L->num[5] == 1.0);
    done(L);
    L = lex("0.1 123456789.123456789 1e-320");
    assert_true(L->num[0] == 0.1);
    assert_true(L->num[1] == 123456789.123456789);
    assert_true(L->num[2] == 1e-320);
    assert_int_equal(L->d.nerr, 0);
    done(L);
}

static void test_imaginary(void **state) {
    (void)state;
    lexed *L = lex("1j 0.5j 2.5e-1j .5j 3.j");
    assert_string_equal(L->desc, "IMAG(1) IMAG(0.5) IMAG(0.25) IMAG(0.5) IMAG(3) EOF");
    assert_int_equal(L->span[1].lo, 3);
    assert_int_equal(L->span[1].hi, 7);
    done(L);
    /* j is only a suffix: 2 j is a number and a name; 1jx is IMAG NAME */
    expect_tokens("2 j", "NUM(2) NAME(j) EOF");
    expect_tokens("1jx", "IMAG(1) NAME(x) EOF");
}

static void test_range_dots(void **state) {
    (void)state;
    expect_tokens("0..10", "NUM(0) .. NUM(10) EOF");
    expect_tokens("0 .. 10", "NUM(0) .. NUM(10) EOF");
    expect_tokens("1.5..2", "NUM(1.5) .. NUM(2) EOF");
    expect_tokens("a..b", "NAME(a) .. NAME(b) EOF");
    expect_tokens("0..n-1", "NUM(0) .. NAME(n) - NUM(1) EOF");
    expect_tokens("1e3..2e3", "NUM(1000) .. NUM(2000) EOF");
    expect_tokens("for t in 0..10 {", "for NAME(t) in NUM(0) .. NUM(10) { EOF");
    lexed *L = lex("0..10");
    assert_int_equal(L->span[0].lo, 0);
    assert_int_equal(L->span[0].hi, 1);
    assert_int_equal(L->span[1].lo, 1);
    assert_int_equal(L->span[1].hi, 3);
    assert_int_equal(L->span[2].lo, 3);
    assert_int_equal(L->span[2].hi, 5);
    done(L);
}

static void test_strings(void **state) {
    (void)state;
    lexed *L = lex("\"a\\\"b\\\\c\\nd\\te\" \"\"");
    assert_string_equal(L->desc, "STR STR EOF");
    assert_int_equal(L->str_len[0], 9);
    assert_memory_equal(L->str[0], "a\"b\\c\nd\te", 9);
    assert_int_equal(L->str_len[1], 0);
    assert_string_equal(L->str[1], "");
    assert_int_equal(L->span[0].lo, 0);
    assert_int_equal(L->span[0].hi, 15);
    done(L);
    /* a NUL byte inside a string is kept; str_len counts it */
    L = lex_n("\"a\0b\"", 5);
    assert_string_equal(L->desc, "STR EOF");
    assert_int_equal(L->str_len[0], 3);
    assert_memory_equal(L->str[0], "a\0b", 3);
    done(L);
    /* '#' inside a string is not a comment */
    expect_tokens("\"a # b\" x", "STR NAME(x) EOF");
    /* non-ASCII text is fine in strings and comments */
    expect_tokens("\"d\xc3\xa9j\xc3\xa0\" # caf\xc3\xa9\n", "STR NL EOF");
}

static void test_comments_and_blanks(void **state) {
    (void)state;
    expect_tokens("x # comment ( [\ny", "NAME(x) NL NAME(y) EOF");
    expect_tokens("# only a comment", "EOF");
    expect_tokens("\n\n  \t\n", "NL NL NL EOF");
    expect_tokens("x\r\ny\r\n", "NAME(x) NL NAME(y) NL EOF");
    expect_tokens("", "EOF");
}

static void test_newlines_and_brackets(void **state) {
    (void)state;
    /* no NEWLINE inside ( ) or [ ] */
    expect_tokens("f(a,\n  b)\nx", "NAME(f) ( NAME(a) , NAME(b) ) NL NAME(x) EOF");
    expect_tokens("A[i,\n j] = 1\n", "NAME(A) [ NAME(i) , NAME(j) ] = NUM(1) NL EOF");
    /* but inside { } a newline ends a statement, also within ( ) of an outer statement */
    expect_tokens("{\nx\n}", "{ NL NAME(x) NL } EOF");
    expect_tokens("( { \n } \n )\n", "( { NL } ) NL EOF");
    expect_tokens("{ ( \n ) \n }", "{ ( ) NL } EOF");
    /* a closing bracket with nothing open does not disturb the count */
    expect_tokens(") \n x", ") NL NAME(x) EOF");
}

static void test_spans(void **state) {
    (void)state;
    lexed *L = lex("let nn = 25\n  x+=\"ab\"");
    /* let nn = 25 NL x += STR EOF */
    uint32_t want[][2] = { { 0, 3 }, { 4, 6 }, { 7, 8 }, { 9, 11 }, { 11, 12 },
                           { 14, 15 }, { 15, 17 }, { 17, 21 }, { 21, 21 } };
    assert_int_equal(L->n, 9);
    for (int i = 0; i < 9; i++) {
        assert_int_equal(L->span[i].lo, want[i][0]);
        assert_int_equal(L->span[i].hi, want[i][1]);
    }
    done(L);
}

/* The text ends at src->len even when the buffer goes on (and even when it
 * contains NUL bytes before that). */
static void test_text_ends_at_len(void **state) {
    (void)state;
    lexed *L = calloc(1, sizeof *L);
    L->a = tx_arena_new(0);
    static tx_source s;
    static uint32_t starts[1] = { 0 };
    s.name = "t.tx";
    s.text = "x = 1 $$$ junk";
    s.len = 5;
    s.line_starts = starts;
    s.nlines = 1;
    L->src = &s;
    lex_src(L);
    assert_string_equal(L->desc, "NAME(x) = NUM(1) EOF");
    assert_int_equal(L->span[3].lo, 5);
    assert_int_equal(L->d.nerr, 0);
    done(L);

    L = lex_n("x = 1\0y", 7);
    assert_string_equal(L->desc, "NAME(x) = NUM(1) ERR NAME(y) EOF");
    char buf[256];
    assert_string_equal(diag_at(L, 0, buf, sizeof buf), "1:6: unexpected NUL byte");
    done(L);
}

/* ---- errors ------------------------------------------------------------------------ */

static void test_error_unknown_character(void **state) {
    (void)state;
    expect_error("x = $", "1:5: unexpected character '$'", NULL);
    expect_error("x = 1\ny = a ! b", "2:7: unexpected character '!'",
                 "'!=' means 'not equal'; there is no '!' operator");
    expect_error("s = 'a'", "1:5: unexpected character '''", "strings use double quotes: \"...\"");
    expect_error("C = A @ B", "1:7: unexpected character '@'",
                 "write products in index notation: C[i,j] = A[i,k] * B[k,j]");
    expect_error("\xc3\xa9 = 1", "1:1: unexpected character '\xc3\xa9' (U+00E9)",
                 "names and operators are ASCII; other text belongs in comments and strings");
    expect_error("x = \xe2\x88\x91", "1:5: unexpected character '\xe2\x88\x91' (U+2211)", NULL);
    expect_error("x = \xff", "1:5: unexpected byte 0xFF", "the text is not valid UTF-8");
    expect_error("x = \x01", "1:5: unexpected byte 0x01", NULL);
    /* the bad character is one LEXERR token and lexing goes on */
    lexed *L = lex("x = $ + 1");
    assert_string_equal(L->desc, "NAME(x) = ERR + NUM(1) EOF");
    assert_int_equal(L->span[2].lo, 4);
    assert_int_equal(L->span[2].hi, 5);
    done(L);
}

static void test_error_one_per_statement(void **state) {
    (void)state;
    /* several bad characters in one statement: one report; the next
     * statement reports again */
    lexed *L = lex("x = $ $ $\ny = @");
    char buf[256];
    assert_int_equal(L->d.nerr, 2);
    assert_string_equal(diag_at(L, 0, buf, sizeof buf), "1:5: unexpected character '$'");
    assert_string_equal(diag_at(L, 1, buf, sizeof buf), "2:5: unexpected character '@'");
    done(L);
}

static void test_error_strings(void **state) {
    (void)state;
    expect_error("s = \"abc", "1:5: unterminated string", "close it with '\"' on the same line");
    expect_error("s = \"abc\ny = 1", "1:5: unterminated string", NULL);
    expect_error("s = \"abc\\", "1:5: unterminated string", NULL);
    expect_error("s = \"ab\\\"", "1:5: unterminated string", NULL);
    expect_error("s = \"a\\qb\"", "1:7: unknown escape '\\q' in string",
                 "the escapes are \\\", \\\\, \\n and \\t; write \\\\ for a backslash");
    expect_error("print \"C:\\path\"", "1:10: unknown escape '\\p' in string", NULL);
    /* the unterminated string ends at the newline, which stays a NEWLINE */
    lexed *L = lex("s = \"abc\ny");
    assert_string_equal(L->desc, "NAME(s) = ERR NL NAME(y) EOF");
    assert_int_equal(L->span[2].lo, 4);
    assert_int_equal(L->span[2].hi, 8);
    done(L);
    /* the unknown escape's span is the escape itself */
    L = lex("s = \"a\\qb\"");
    assert_int_equal(L->d.head->span.lo, 6);
    assert_int_equal(L->d.head->span.hi, 8);
    done(L);
}

static void test_error_numbers(void **state) {
    (void)state;
    expect_error("x = 1e999", "1:5: number 1e999 is too large",
                 "the largest finite number is about 1.8e308");
    expect_error("x = 2e400j", "1:5: number 2e400 is too large", NULL);
}

static void test_error_nesting(void **state) {
    (void)state;
    static char s[TX_MAX_NESTING + 64];
    /* exactly TX_MAX_NESTING open brackets are fine */
    memset(s, '(', TX_MAX_NESTING);
    s[TX_MAX_NESTING] = 0;
    lexed *L = lex(s);
    assert_int_equal(L->d.nerr, 0);
    done(L);
    /* one more is an error; the too-deep bracket up to its closer is one
     * ERR token */
    memset(s, '[', TX_MAX_NESTING + 1);
    memcpy(s + TX_MAX_NESTING + 1, "x]]", 4);
    L = lex_n(s, (uint32_t)strlen(s));
    char buf[256];
    assert_int_equal(L->d.nerr, 1);
    assert_string_equal(diag_at(L, 0, buf, sizeof buf),
                        "1:1001: expression nested too deeply (more than 1000 levels)");
    done(L);
}

static void test_error_missing_closer(void **state) {
    (void)state;
    char buf[256];
    /* a closer whose opener is further out: the inner bracket was never
     * closed; the lexer reports it and inserts the missing closer */
    lexed *L = lex("A[(i]");
    assert_string_equal(L->desc, "NAME(A) [ ( NAME(i) ERR ) ] EOF");
    assert_int_equal(L->d.nerr, 1);
    assert_string_equal(diag_at(L, 0, buf, sizeof buf), "1:3: missing ')' to close '(' opened here");
    done(L);
    /* a statement keyword opening a line inside ( ): the ( was never closed */
    L = lex("x = f(1,\nlet y = 2");
    assert_string_equal(L->desc, "NAME(x) = NAME(f) ( NUM(1) , ERR ) NL let NAME(y) = NUM(2) EOF");
    assert_string_equal(diag_at(L, 0, buf, sizeof buf), "1:6: missing ')' to close '(' opened here");
    done(L);
    /* but a keyword in the middle of a line is left to the parser */
    L = lex("f(let");
    assert_string_equal(L->desc, "NAME(f) ( let EOF");
    assert_int_equal(L->d.nerr, 0);
    done(L);
}

static void test_linecol(void **state) {
    (void)state;
    char buf[256];
    lexed *L = lex("a = 1\n\n  b = 2 $\n");
    assert_string_equal(diag_at(L, 0, buf, sizeof buf), "3:9: unexpected character '$'");
    done(L);
}

/* Random bytes: never a crash, every span inside the text, always ends. */
static void test_random_bytes(void **state) {
    (void)state;
    srand(12345);
    static const char alphabet[] = "()[]{}\"\\#\n.0123456789ej+-*/^=<>!,;: abxlet";
    char text[300];
    for (int iter = 0; iter < 3000; iter++) {
        int n = rand() % 300;
        for (int i = 0; i < n; i++) {
            int r = rand() % 4;
            text[i] = r == 0 ? (char)(rand() % 256) : alphabet[rand() % (int)(sizeof alphabet - 1)];
        }
        lexed *L = lex_n(text, (uint32_t)n);
        for (int i = 0; i < L->n; i++) {
            assert_true(L->span[i].lo <= L->span[i].hi);
            assert_true(L->span[i].hi <= (uint32_t)n);
        }
        for (tx_diag *g = L->d.head; g; g = g->next) assert_true(g->span.hi <= (uint32_t)n);
        done(L);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_statement),
        cmocka_unit_test(test_operators),
        cmocka_unit_test(test_keywords_and_identifiers),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_imaginary),
        cmocka_unit_test(test_range_dots),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_comments_and_blanks),
        cmocka_unit_test(test_newlines_and_brackets),
        cmocka_unit_test(test_spans),
        cmocka_unit_test(test_text_ends_at_len),
        cmocka_unit_test(test_error_unknown_character),
        cmocka_unit_test(test_error_one_per_statement),
        cmocka_unit_test(test_error_strings),
        cmocka_unit_test(test_error_numbers),
        cmocka_unit_test(test_error_nesting),
        cmocka_unit_test(test_error_missing_closer),
        cmocka_unit_test(test_linecol),
        cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
