/*
 * ast.c -- names of operators and a debug printer for the AST.
 *
 * The printer writes one statement on one line, every operator application
 * in parentheses, so a test can compare the parse of a statement with a
 * string: "C[i,j] = (A[i,k] * B[k,j])", "sum[k]((a + b))", "f(x, seed=1)",
 * "(-(x ^ 2))".  Numbers use %.17g (exact round trip), strings are
 * re-escaped.  The output is deterministic and lives in the given arena.
 */
#include "frontend/ast.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *tx_ast_op_name(tx_op op) {
    switch (op) {
    case TX_OP_ADD: return "+";
    case TX_OP_SUB: return "-";
    case TX_OP_MUL: return "*";
    case TX_OP_DIV: return "/";
    case TX_OP_POW: return "^";
    case TX_OP_LT: return "<";
    case TX_OP_LE: return "<=";
    case TX_OP_GT: return ">";
    case TX_OP_GE: return ">=";
    case TX_OP_EQ: return "==";
    case TX_OP_NE: return "!=";
    case TX_OP_NEG: return "neg";
    case TX_OP_PLUS: return "pos";
    }
    return "?";
}

const char *tx_ast_redop_name(tx_redop op) {
    switch (op) {
    case TX_RED_SUM: return "sum";
    case TX_RED_MAX: return "max";
    case TX_RED_MIN: return "min";
    case TX_RED_PROD: return "prod";
    }
    return "?";
}

/* ---- a growable string ----------------------------------------------------- */

typedef struct buf {
    char *s;
    size_t n, cap;
} buf;

static void put(buf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 128;
        while (b->n + n + 1 > cap) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            fputs("txc: out of memory (AST printer)\n", stderr);
            abort();
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

static void printf_(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void printf_(buf *b, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof tmp) {
        put(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) return;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    put(b, big, (size_t)n);
    free(big);
}

static const char *finish(tx_arena *a, buf *b) {
    const char *r = tx_arena_strndup(a, b->s ? b->s : "", b->n);
    free(b->s);
    return r;
}

/* ---- expressions ------------------------------------------------------------ */

static void expr(buf *b, const tx_ast_expr *e);

static void exprs(buf *b, tx_ast_expr *const *v, int n, const char *sep) {
    for (int i = 0; i < n; i++) {
        if (i) puts_(b, sep);
        expr(b, v[i]);
    }
}

static void str_lit(buf *b, const char *s, int n) {
    puts_(b, "\"");
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"') puts_(b, "\\\"");
        else if (c == '\\') puts_(b, "\\\\");
        else if (c == '\n') puts_(b, "\\n");
        else if (c == '\t') puts_(b, "\\t");
        else if (c < 0x20 || c == 0x7f) printf_(b, "\\x%02x", c);
        else put(b, (const char *)&s[i], 1);
    }
    puts_(b, "\"");
}

static void expr(buf *b, const tx_ast_expr *e) {
    if (!e) {
        puts_(b, "<null>");
        return;
    }
    switch (e->kind) {
    case TX_AST_NUM:
        printf_(b, "%.17g", e->num);
        break;
    case TX_AST_IMAG:
        printf_(b, "%.17gj", e->num);
        break;
    case TX_AST_STR:
        str_lit(b, e->str ? e->str : "", e->str_len);
        break;
    case TX_AST_NAME:
        puts_(b, e->name ? e->name : "?");
        break;
    case TX_AST_ACCESS:
        puts_(b, e->name ? e->name : "?");
        puts_(b, "[");
        exprs(b, e->args, e->nargs, ",");
        puts_(b, "]");
        break;
    case TX_AST_CALL:
        puts_(b, e->name ? e->name : "?");
        puts_(b, "(");
        exprs(b, e->args, e->nargs, ", ");
        for (int i = 0; i < e->nkwargs; i++) {
            if (i || e->nargs) puts_(b, ", ");
            puts_(b, e->kwargs[i].name);
            puts_(b, "=");
            expr(b, e->kwargs[i].value);
        }
        puts_(b, ")");
        break;
    case TX_AST_REDUCE:
        puts_(b, tx_ast_redop_name(e->redop));
        puts_(b, "[");
        for (int i = 0; i < e->nidx; i++) {
            if (i) puts_(b, ",");
            puts_(b, e->idx[i].name);
        }
        puts_(b, "](");
        expr(b, e->nargs > 0 ? e->args[0] : NULL);
        puts_(b, ")");
        break;
    case TX_AST_UNARY:
        puts_(b, e->op == TX_OP_NEG ? "(-" : e->op == TX_OP_PLUS ? "(+" : "(?");
        expr(b, e->a);
        puts_(b, ")");
        break;
    case TX_AST_BINARY:
        puts_(b, "(");
        expr(b, e->a);
        puts_(b, " ");
        puts_(b, tx_ast_op_name(e->op));
        puts_(b, " ");
        expr(b, e->b);
        puts_(b, ")");
        break;
    }
}

const char *tx_ast_expr_str(tx_arena *a, const tx_ast_expr *e) {
    buf b = { 0 };
    expr(&b, e);
    return finish(a, &b);
}

/* ---- statements ------------------------------------------------------------- */

static void stmt(buf *b, const tx_ast_stmt *s);

static void param(buf *b, const tx_ast_param *p) {
    puts_(b, p->id.name);
    if (p->ndims > 0) {
        puts_(b, "[");
        for (int i = 0; i < p->ndims; i++) {
            if (i) puts_(b, ",");
            if (p->dims[i].name) puts_(b, p->dims[i].name);
            else printf_(b, "%lld", p->dims[i].value);
        }
        puts_(b, "]");
    }
    static const char *const dt[] = { "f64", "f32", "c128", "c64" };
    if (p->dtype >= 0 && p->dtype < 4) {
        puts_(b, ": ");
        puts_(b, dt[p->dtype]);
    }
}

static void body(buf *b, tx_ast_stmt *const *v, int n) {
    puts_(b, " {");
    for (int i = 0; i < n; i++) {
        puts_(b, i ? "; " : " ");
        stmt(b, v[i]);
    }
    puts_(b, " }");
}

static void stmt(buf *b, const tx_ast_stmt *s) {
    if (!s) {
        puts_(b, "<null>");
        return;
    }
    switch (s->kind) {
    case TX_AST_LET:
        printf_(b, "let %s = ", s->let_name.name);
        expr(b, s->value);
        break;
    case TX_AST_ASSIGN:
        for (int i = 0; i < s->ntargets; i++) {
            const tx_ast_target *t = &s->targets[i];
            if (i) puts_(b, ", ");
            puts_(b, t->id.name);
            if (t->indexed) {
                puts_(b, "[");
                exprs(b, t->subs, t->nsubs, ",");
                puts_(b, "]");
            }
        }
        puts_(b, s->accumulate ? " += " : " = ");
        expr(b, s->value);
        break;
    case TX_AST_EXPR:
        expr(b, s->value);
        break;
    case TX_AST_PRINT:
        puts_(b, "print ");
        exprs(b, s->args, s->nargs, ", ");
        break;
    case TX_AST_ASSERT:
        puts_(b, "assert ");
        expr(b, s->value);
        if (s->nargs > 0) {
            puts_(b, ", ");
            expr(b, s->args[0]);
        }
        break;
    case TX_AST_FOR:
        printf_(b, "for %s in ", s->var.name);
        expr(b, s->lo);
        puts_(b, "..");
        expr(b, s->hi);
        body(b, s->body, s->nbody);
        break;
    case TX_AST_INDEX:
        puts_(b, "index ");
        for (int i = 0; i < s->nnames; i++) {
            if (i) puts_(b, ", ");
            puts_(b, s->names[i].name);
        }
        puts_(b, " : ");
        expr(b, s->value);
        break;
    case TX_AST_DEF:
        printf_(b, "def %s(", s->def_name.name);
        for (int i = 0; i < s->nparams; i++) {
            if (i) puts_(b, ", ");
            param(b, &s->params[i]);
        }
        puts_(b, ")");
        if (s->nresults == 1) {
            puts_(b, " -> ");
            param(b, &s->results[0]);
        } else if (s->nresults > 1) {
            puts_(b, " -> (");
            for (int i = 0; i < s->nresults; i++) {
                if (i) puts_(b, ", ");
                param(b, &s->results[i]);
            }
            puts_(b, ")");
        }
        body(b, s->body, s->nbody);
        break;
    case TX_AST_RETURN:
        puts_(b, "return");
        if (s->nargs > 0) {
            puts_(b, " ");
            exprs(b, s->args, s->nargs, ", ");
        }
        break;
    }
}

const char *tx_ast_stmt_str(tx_arena *a, const tx_ast_stmt *s) {
    buf b = { 0 };
    stmt(&b, s);
    return finish(a, &b);
}
