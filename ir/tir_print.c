/*
 * tir_print.c -- the tensor IR as readable, deterministic text
 * (`txc emit --tir`, the REPL's :ir, and the lowering tests).
 *
 * One statement per line; bodies of for and def are indented by two
 * spaces.  Expressions are printed with the fewest parentheses that keep
 * the tree (precedence as in the source language), e.g.
 *
 *     C[i,j] = sum[k](A[i,k] * B[k,j])
 *     %1 = ifft2(F)
 *     C[...] = real(%1[...])
 *     let n = 48
 *     for t in 0..10 {
 *       X[...] = X[...] + 1
 *     }
 *     def attention(Q[n,d], K[n,d], V[n,e]) -> O[n,e] {
 *
 * An ellipsis def's whole accesses print as X[...]; a whole access given to
 * a call, print or assert prints as the bare name.  Affine subscripts print
 * compactly (X[2*i+k-1]).  Distinct indices of one def that share a name
 * print as j, j'1, j'2, ... in id order.  Declared index sizes follow the
 * statement as a comment: `  # index i : n`.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/builtins.h"
#include "ir/tir.h"

enum { P_CMP = 1, P_ADD, P_MUL, P_NEG, P_POW, P_ATOM };

static int prec(const tx_tir_expr *e) {
    switch (e->kind) {
    case TX_TIR_BINARY:
        switch (e->op) {
        case TX_TOP_LT: case TX_TOP_LE: case TX_TOP_GT: case TX_TOP_GE: case TX_TOP_EQ: case TX_TOP_NE: return P_CMP;
        case TX_TOP_ADD: case TX_TOP_SUB: return P_ADD;
        case TX_TOP_MUL: case TX_TOP_DIV: return P_MUL;
        case TX_TOP_POW: return P_POW;
        default: return P_ATOM; /* max(a, b), min(a, b) */
        }
    case TX_TIR_UNARY: return e->op == TX_TOP_NEG ? P_NEG : P_ATOM;
    case TX_TIR_CONST:
        if (e->is_complex && e->re != 0) return P_ATOM; /* printed in parentheses */
        return (e->is_complex ? e->im : e->re) < 0 || ((e->is_complex ? e->im : e->re) == 0 &&
               __builtin_signbit(e->is_complex ? e->im : e->re)) ? P_NEG : P_ATOM;
    default: return P_ATOM;
    }
}

/* Shortest text that reads back as v, laid out like Python's float repr
 * (fixed notation for exponents -4..15, else d.ddde+XX) but without a
 * trailing ".0" on whole numbers. */
static void put_num(FILE *f, double v) {
    if (v != v) { fputs("nan", f); return; }
    if (v == 1.0 / 0.0) { fputs("inf", f); return; }
    if (v == -1.0 / 0.0) { fputs("-inf", f); return; }
    char buf[48];
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, v);
        if (strtod(buf, NULL) == v) break;
    }
    /* buf: [-]d[.ddd]e(+|-)XX */
    const char *q = buf;
    if (*q == '-') {
        fputc('-', f);
        q++;
    }
    char digits[24];
    int nd = 0;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9' && nd < 23) digits[nd++] = *q;
    digits[nd] = 0;
    while (nd > 1 && digits[nd - 1] == '0') digits[--nd] = 0;
    int exp = *q == 'e' ? atoi(q + 1) : 0;
    if (exp < -4 || exp >= 16) {
        fputc(digits[0], f);
        if (nd > 1) fprintf(f, ".%s", digits + 1);
        fprintf(f, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    } else if (exp < 0) {
        fputs("0.", f);
        for (int i = 0; i < -exp - 1; i++) fputc('0', f);
        fputs(digits, f);
    } else if (exp >= nd - 1) {
        fputs(digits, f);
        for (int i = 0; i < exp - (nd - 1); i++) fputc('0', f);
    } else {
        fprintf(f, "%.*s.%s", exp + 1, digits, digits + exp + 1);
    }
}

static void put_string(FILE *f, const char *s, int n) {
    fputc('"', f);
    for (int i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c == '\n') fputs("\\n", f);
        else if (c < 32 || c == 127) fprintf(f, "\\x%02x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

/* The printed name of index id k of def (j, j'1, ...). */
static void put_index(FILE *f, const tx_tir_stmt *def, int k) {
    if (!def || k < 0 || k >= def->nindices || !def->indices) {
        fprintf(f, "?%d", k);
        return;
    }
    const char *name = def->indices[k].name ? def->indices[k].name : "?";
    int dup = 0;
    for (int i = 0; i < k; i++)
        if (def->indices[i].name && strcmp(def->indices[i].name, name) == 0) dup++;
    fputs(name, f);
    if (dup) fprintf(f, "'%d", dup);
}

static void put_affine(FILE *f, const tx_tir_affine *a, const tx_tir_stmt *def) {
    bool first = true;
    for (int t = 0; t < a->nterms; t++) {
        int64_t c = a->coef[t];
        if (c < 0) fputc('-', f);
        else if (!first) fputc('+', f);
        uint64_t m = c < 0 ? (uint64_t)0 - (uint64_t)c : (uint64_t)c;
        if (m != 1) fprintf(f, "%" PRIu64 "*", m);
        put_index(f, def, a->idx[t]);
        first = false;
    }
    if (first) fprintf(f, "%" PRId64, a->c0);
    else if (a->c0 > 0) fprintf(f, "+%" PRId64, a->c0);
    else if (a->c0 < 0) fprintf(f, "%" PRId64, a->c0);
}

static const char *redop_name(tx_redop op) {
    switch (op) {
    case TX_RED_SUM: return "sum";
    case TX_RED_MAX: return "max";
    case TX_RED_MIN: return "min";
    case TX_RED_PROD: return "prod";
    }
    return "?";
}

static void put_expr(FILE *f, const tx_tir_expr *e, const tx_tir_stmt *def, int ctx) {
    if (!e) {
        fputs("<null>", f);
        return;
    }
    int p = prec(e);
    bool paren = p < ctx;
    if (paren) fputc('(', f);
    switch (e->kind) {
    case TX_TIR_CONST:
        if (!e->is_complex) put_num(f, e->re);
        else if (e->re == 0) {
            put_num(f, e->im);
            fputc('j', f);
        } else {
            fputc('(', f);
            put_num(f, e->re);
            if (e->im >= 0 || e->im != e->im) fputc('+', f);
            put_num(f, e->im);
            fputs("j)", f);
        }
        break;
    case TX_TIR_INDEX: put_index(f, def, e->index); break;
    case TX_TIR_ACCESS:
        fputs(e->var ? e->var : "?", f);
        if (e->whole) {
            if (def && def->kind == TX_TIR_DEF) fputs("[...]", f);
        } else if (e->nsubs > 0) {
            fputc('[', f);
            for (int i = 0; i < e->nsubs; i++) {
                if (i) fputc(',', f);
                put_affine(f, &e->subs[i], def);
            }
            fputc(']', f);
        }
        break;
    case TX_TIR_UNARY:
        if (e->op == TX_TOP_NEG) {
            fputc('-', f);
            put_expr(f, e->a, def, P_POW);
        } else {
            fprintf(f, "%s(", tx_tir_op_name(e->op));
            put_expr(f, e->a, def, 0);
            fputc(')', f);
        }
        break;
    case TX_TIR_BINARY:
        if (e->op == TX_TOP_MAX2 || e->op == TX_TOP_MIN2) {
            fprintf(f, "%s(", tx_tir_op_name(e->op));
            put_expr(f, e->a, def, 0);
            fputs(", ", f);
            put_expr(f, e->b, def, 0);
            fputc(')', f);
        } else if (e->op == TX_TOP_POW) {
            put_expr(f, e->a, def, P_POW + 1);
            fputs(" ^ ", f);
            put_expr(f, e->b, def, P_NEG); /* right-associative; -x allowed */
        } else {
            put_expr(f, e->a, def, p == P_CMP ? p + 1 : p);
            fprintf(f, " %s ", tx_tir_op_name(e->op));
            put_expr(f, e->b, def, p + 1);
        }
        break;
    case TX_TIR_WHERE:
        fputs("where(", f);
        put_expr(f, e->a, def, 0);
        fputs(", ", f);
        put_expr(f, e->b, def, 0);
        fputs(", ", f);
        put_expr(f, e->c, def, 0);
        fputc(')', f);
        break;
    case TX_TIR_REDUCE:
        fprintf(f, "%s[", redop_name(e->redop));
        for (int i = 0; i < e->nidx; i++) {
            if (i) fputc(',', f);
            put_index(f, def, e->idx[i]);
        }
        fputs("](", f);
        put_expr(f, e->a, def, 0);
        fputc(')', f);
        break;
    case TX_TIR_STRING: put_string(f, e->str ? e->str : "", e->str_len); break;
    }
    if (paren) fputc(')', f);
}

static void put_indent(FILE *f, int depth) {
    for (int i = 0; i < depth; i++) fputs("  ", f);
}

static void put_stmt(FILE *f, const tx_tir_stmt *s, int depth);

static void put_body(FILE *f, tx_tir_stmt *const *body, int n, int depth) {
    for (int i = 0; i < n; i++) {
        put_stmt(f, body[i], depth);
        fputc('\n', f);
    }
}

static void put_dims(FILE *f, const tx_tir_param *p) {
    fputs(p->name ? p->name : "?", f);
    if (p->ndims > 0) {
        fputc('[', f);
        for (int k = 0; k < p->ndims; k++) {
            if (k) fputc(',', f);
            if (p->dims[k].name) fputs(p->dims[k].name, f);
            else fprintf(f, "%lld", p->dims[k].value);
        }
        fputc(']', f);
    }
    static const char *const dt[] = { "f64", "f32", "c128", "c64" };
    if (p->dtype >= 0 && p->dtype < 4) fprintf(f, ": %s", dt[p->dtype]);
}

static void put_func(FILE *f, const tx_tir_func *fn) {
    fprintf(f, "def %s(", fn->name);
    for (int i = 0; i < fn->nparams; i++) {
        if (i) fputs(", ", f);
        put_dims(f, &fn->params[i]);
    }
    fputs(") -> ", f);
    if (fn->nresults != 1) fputc('(', f);
    for (int i = 0; i < fn->nresults; i++) {
        if (i) fputs(", ", f);
        put_dims(f, &fn->results[i]);
    }
    if (fn->nresults != 1) fputc(')', f);
    fputs(" {\n", f);
    put_body(f, fn->body, fn->nbody, 1);
    fputc('}', f);
}

static void put_stmt(FILE *f, const tx_tir_stmt *s, int depth) {
    put_indent(f, depth);
    if (!s) {
        fputs("<null>", f);
        return;
    }
    switch (s->kind) {
    case TX_TIR_DEF:
        if (s->is_let) fputs("let ", f);
        fputs(s->out ? s->out : "?", f);
        if (s->ellipsis) fputs("[...]", f);
        else if (s->nout > 0) {
            fputc('[', f);
            for (int i = 0; i < s->nout; i++) {
                if (i) fputc(',', f);
                put_index(f, s, s->out_idx[i]);
            }
            fputc(']', f);
        }
        fputs(s->accumulate ? " += " : " = ", f);
        put_expr(f, s->rhs, s, 0);
        {
            bool any = false;
            for (int k = 0; k < s->nindices; k++) {
                if (!s->indices[k].declared) continue;
                fputs(any ? ", " : "  # index ", f);
                put_index(f, s, k);
                fputs(" : ", f);
                put_expr(f, s->indices[k].declared, NULL, 0);
                any = true;
            }
        }
        break;
    case TX_TIR_CALL:
        for (int i = 0; i < s->nresults; i++) {
            if (i) fputs(", ", f);
            fputs(s->results[i], f);
        }
        if (s->nresults) fputs(" = ", f);
        if (s->builtin >= 0 && s->builtin < TX_B__COUNT) fputs(tx_builtins[s->builtin].name, f);
        else fputs(s->callee ? s->callee : "?", f);
        fputc('(', f);
        for (int i = 0; i < s->nargs; i++) {
            if (i) fputs(", ", f);
            put_expr(f, s->args[i], s, 0);
        }
        for (int i = 0; i < s->nkwargs; i++) {
            if (i || s->nargs) fputs(", ", f);
            fprintf(f, "%s=", s->kwargs[i].name);
            put_expr(f, s->kwargs[i].value, s, 0);
        }
        fputc(')', f);
        break;
    case TX_TIR_FOR:
        fprintf(f, "for %s in ", s->var ? s->var : "?");
        put_expr(f, s->lo, s, P_ADD);
        fputs("..", f);
        put_expr(f, s->hi, s, P_ADD);
        fputs(" {\n", f);
        put_body(f, s->body, s->nbody, depth + 1);
        put_indent(f, depth);
        fputc('}', f);
        break;
    case TX_TIR_PRINT:
        fputs("print", f);
        for (int i = 0; i < s->nitems; i++) {
            fputs(i ? ", " : " ", f);
            put_expr(f, s->items[i], s, 0);
        }
        break;
    case TX_TIR_ASSERT: {
        fputs("assert ", f);
        const tx_tir_expr *c = s->nargs > 0 ? s->args[0] : s->nitems > 0 ? s->items[0] : NULL;
        put_expr(f, c, s, 0);
        if (s->msg) {
            fputs(", ", f);
            put_string(f, s->msg, (int)strlen(s->msg));
        }
        break;
    }
    case TX_TIR_RETURN: fputs("return", f); break;
    }
}

/* Run a printer into an arena string. */
#define CAPTURE(a, body)                              \
    do {                                              \
        char *buf_ = NULL;                            \
        size_t len_ = 0;                              \
        FILE *f = open_memstream(&buf_, &len_);       \
        if (!f) return "";                            \
        body;                                         \
        fclose(f);                                    \
        char *r_ = tx_arena_strndup((a), buf_, len_); \
        free(buf_);                                   \
        return r_;                                    \
    } while (0)

const char *tx_tir_stmt_str(tx_arena *a, const tx_tir_stmt *s, const tx_tir_func *fn) {
    (void)fn;
    CAPTURE(a, put_stmt(f, s, 0));
}

const char *tx_tir_expr_str(tx_arena *a, const tx_tir_expr *e, const tx_tir_stmt *def) {
    CAPTURE(a, put_expr(f, e, def, 0));
}

void tx_tir_print(FILE *f, const tx_tir_program *p) {
    if (!p) return;
    for (int i = 0; i < p->nfuncs; i++) {
        put_func(f, p->funcs[i]);
        fputc('\n', f);
    }
    put_body(f, p->stmts, p->nstmts, 0);
}
