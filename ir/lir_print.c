/*
 * lir_print.c -- the loop IR as text.
 *
 * The text states everything code generation depends on (buffer dtypes and
 * shapes, loop bounds, offsets, constant values and their precision,
 * accumulator kinds), so the JIT uses it as its cache key, and tests compare
 * it.  Binary operators print infix with every nested binary operand in
 * parentheses; functions print as calls; a constant or conversion of single
 * precision prints as f32(...) or c64(...).
 *
 * The JIT prints every kernel it is asked to run (a cache hit included),
 * so printing is kept cheap: the stream is locked once, and text and
 * integers are written directly instead of through fprintf's format
 * parsing (which took more time than lowering the statement).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1   /* fputs_unlocked */
#endif
#include "ir/lir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *tx_lir_op_name(tx_tir_op op) {
    static const char *names[TX_TOP__COUNT] = {
        [TX_TOP_ADD] = "+", [TX_TOP_SUB] = "-", [TX_TOP_MUL] = "*", [TX_TOP_DIV] = "/",
        [TX_TOP_POW] = "^", [TX_TOP_LT] = "<", [TX_TOP_LE] = "<=", [TX_TOP_GT] = ">",
        [TX_TOP_GE] = ">=", [TX_TOP_EQ] = "==", [TX_TOP_NE] = "!=", [TX_TOP_MAX2] = "max",
        [TX_TOP_MIN2] = "min", [TX_TOP_NEG] = "-", [TX_TOP_EXP] = "exp", [TX_TOP_LOG] = "log",
        [TX_TOP_SQRT] = "sqrt", [TX_TOP_ABS] = "abs", [TX_TOP_SIN] = "sin", [TX_TOP_COS] = "cos",
        [TX_TOP_TAN] = "tan", [TX_TOP_TANH] = "tanh", [TX_TOP_SIGMOID] = "sigmoid",
        [TX_TOP_RELU] = "relu", [TX_TOP_SIGN] = "sign", [TX_TOP_FLOOR] = "floor",
        [TX_TOP_CEIL] = "ceil", [TX_TOP_CONJ] = "conj", [TX_TOP_REAL] = "real",
        [TX_TOP_IMAG] = "imag",
    };
    return (unsigned)op < TX_TOP__COUNT && names[op] ? names[op] : "?";
}

/* Text and integers on a stream the caller has locked (flockfile). */
static void put(FILE *o, const char *t) { fputs_unlocked(t, o); }
static void putch(FILE *o, char c) { putc_unlocked(c, o); }

static void put2(FILE *o, const char *a, const char *b) {
    fputs_unlocked(a, o);
    fputs_unlocked(b, o);
}

static void put_int(FILE *o, long long v) {
    char buf[24], *p = buf + sizeof buf;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    *--p = 0;
    do *--p = (char)('0' + u % 10); while ((u /= 10) > 0);
    if (v < 0) *--p = '-';
    put(o, p);
}

static void put_acc(FILE *o, int acc) {
    put(o, "acc");
    put_int(o, acc);
}

/* Shortest text that reads back as the same double (or float). */
static void num(FILE *o, double x, bool single) {
    if (isnan(x)) { put(o, "nan"); return; }
    if (isinf(x)) { put(o, x < 0 ? "-inf" : "inf"); return; }
    if (fabs(x) < 10 && x == (double)(int)x && !(x == 0 && signbit(x))) {   /* what %.1g gives */
        put_int(o, (int)x);
        return;
    }
    char buf[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, x);
        double y = strtod(buf, NULL);
        if (single ? (float)y == (float)x : y == x) break;
    }
    put(o, buf);
}

static void print_const(FILE *o, const tx_lir_expr *e) {
    bool single = e->dtype == TXRT_F32 || e->dtype == TXRT_C64;
    if (single) put2(o, tx_lir_dtype_name(e->dtype), "(");
    if (tx_lir_is_complex(e->dtype)) {
        putch(o, '(');
        num(o, e->re, single);
        if (!signbit(e->im)) putch(o, '+');
        num(o, e->im, single);
        put(o, "j)");
    } else {
        num(o, e->re, single);
    }
    if (single) putch(o, ')');
}

/* "*n*d" for a monomial of run-time sizes. */
static void print_mono(FILE *o, const tx_lir_func *f, const tx_lir_mono *m) {
    for (int k = 0; m && k < m->n; k++)
        put2(o, "*", m->f[k] >= 0 && m->f[k] < f->nsyms ? f->sym_names[m->f[k]] : "?");
}

static void print_affine(FILE *o, const tx_lir_func *f, const tx_lir_affine *a) {
    bool first = true;
    for (int k = 0; k < a->nterms; k++) {
        int64_t c = a->coef[k];
        const tx_lir_mono *m = a->sym && a->sym[k].n > 0 ? &a->sym[k] : NULL;
        int64_t mag = c < 0 ? -c : c;
        if (first) {
            if (c < 0) putch(o, '-');
        } else {
            put(o, c < 0 ? " - " : " + ");
        }
        if (a->var[k] < 0) {   /* a run-time constant: c * sizes */
            put_int(o, mag);
        } else {
            if (mag != 1) {
                put_int(o, mag);
                putch(o, '*');
            }
            put(o, f->vars[a->var[k]].name);
        }
        print_mono(o, f, m);
        first = false;
    }
    if (!first && a->c0 != 0) put(o, a->c0 > 0 ? " + " : " - ");
    if (first || a->c0 != 0) put_int(o, first || a->c0 > 0 ? a->c0 : -(long long)a->c0);
}

static void print_expr(FILE *o, const tx_lir_func *f, const tx_lir_expr *e);

static void operand(FILE *o, const tx_lir_func *f, const tx_lir_expr *e) {
    bool paren = e->kind == TX_LIR_BINARY && e->op != TX_TOP_MAX2 && e->op != TX_TOP_MIN2;
    if (paren) putch(o, '(');
    print_expr(o, f, e);
    if (paren) putch(o, ')');
}

static void print_expr(FILE *o, const tx_lir_func *f, const tx_lir_expr *e) {
    switch (e->kind) {
    case TX_LIR_CONST:
        print_const(o, e);
        return;
    case TX_LIR_INDEX:
        put(o, f->vars[e->var].name);
        return;
    case TX_LIR_LOAD:
        put2(o, f->bufs[e->buf].name, "[");
        print_affine(o, f, &e->off);
        putch(o, ']');
        return;
    case TX_LIR_ACC:
        put_acc(o, e->acc);
        return;
    case TX_LIR_UNARY:
        if (e->op == TX_TOP_NEG) {
            putch(o, '-');
            operand(o, f, e->a);
        } else {
            put2(o, tx_lir_op_name(e->op), "(");
            print_expr(o, f, e->a);
            putch(o, ')');
        }
        return;
    case TX_LIR_BINARY:
        if (e->op == TX_TOP_MAX2 || e->op == TX_TOP_MIN2) {
            put2(o, tx_lir_op_name(e->op), "(");
            print_expr(o, f, e->a);
            put(o, ", ");
            print_expr(o, f, e->b);
            putch(o, ')');
        } else {
            operand(o, f, e->a);
            putch(o, ' ');
            put2(o, tx_lir_op_name(e->op), " ");
            operand(o, f, e->b);
        }
        return;
    case TX_LIR_SELECT:
        put(o, "select(");
        print_expr(o, f, e->a);
        put(o, ", ");
        print_expr(o, f, e->b);
        put(o, ", ");
        print_expr(o, f, e->c);
        putch(o, ')');
        return;
    case TX_LIR_CAST:
        put2(o, tx_lir_dtype_name(e->dtype), "(");
        print_expr(o, f, e->a);
        putch(o, ')');
        return;
    }
    put(o, "?");
}

static void indent(FILE *o, int depth) {
    for (int k = 0; k < depth; k++) put(o, "  ");
}

static void print_block(FILE *o, const tx_lir_func *f, const tx_lir_block *b, int depth) {
    for (int k = 0; k < b->n; k++) {
        const tx_lir_stmt *s = b->stmts[k];
        indent(o, depth);
        switch (s->kind) {
        case TX_LIR_LOOP:
            if (s->sym_extent.n > 0) {   /* run-time extent: "0..n", "0..2*n*d", "1..1+n" */
                put2(o, "for ", f->vars[s->var].name);
                put(o, " in ");
                put_int(o, s->lo);
                put(o, "..");
                if (s->lo != 0) {
                    put_int(o, s->lo);
                    putch(o, '+');
                }
                if (s->extent != 1) {
                    put_int(o, s->extent);
                    putch(o, '*');
                }
                for (int q = 0; q < s->sym_extent.n; q++) put2(o, q ? "*" : "", f->sym_names[s->sym_extent.f[q]]);
            } else {
                put2(o, s->parallel ? "parallel for " : "for ", f->vars[s->var].name);
                put(o, " in ");
                put_int(o, s->lo);
                put(o, "..");
                put_int(o, s->lo + s->extent);
            }
            for (int b = 0, n = 0; s->private_bufs && b < f->nbufs; b++)
                if (s->private_bufs[b]) put2(o, n++ ? ", " : " private ", f->bufs[b].name);
            put(o, " {\n");
            print_block(o, f, &s->body, depth + 1);
            indent(o, depth);
            put(o, "}\n");
            break;
        case TX_LIR_ACC_INIT: {
            const tx_lir_acc *a = &f->accs[s->acc];
            put_acc(o, s->acc);
            put2(o, ": ", tx_lir_dtype_name(a->dtype));
            put(o, " = ");
            num(o, tx_lir_identity(a->op), false);
            putch(o, '\n');
            break;
        }
        case TX_LIR_ACCUM: {
            const tx_lir_acc *a = &f->accs[s->acc];
            put_acc(o, s->acc);
            switch (a->op) {
            case TX_RED_SUM: put(o, " += "); break;
            case TX_RED_PROD: put(o, " *= "); break;
            case TX_RED_MAX: put(o, " = max("); put_acc(o, s->acc); put(o, ", "); break;
            case TX_RED_MIN: put(o, " = min("); put_acc(o, s->acc); put(o, ", "); break;
            }
            print_expr(o, f, s->value);
            if (a->op == TX_RED_MAX || a->op == TX_RED_MIN) putch(o, ')');
            putch(o, '\n');
            break;
        }
        case TX_LIR_STORE:
            put2(o, f->bufs[s->buf].name, "[");
            print_affine(o, f, &s->off);
            put(o, "] = ");
            print_expr(o, f, s->value);
            putch(o, '\n');
            break;
        }
    }
}

static bool row_major(const tx_lir_buf *b) {
    int64_t s = 1;
    for (int k = b->rank - 1; k >= 0; k--) {
        if (b->strides[k] != s) return false;
        s *= b->shape[k];
    }
    return true;
}

void tx_lir_print(FILE *o, const tx_lir_func *f) {
    flockfile(o);
    put2(o, "kernel ", f->name);
    putch(o, '(');
    if (f->nsyms > 0) {   /* size-generic: the run-time sizes come first */
        put(o, "sizes ");
        for (int k = 0; k < f->nsyms; k++) put2(o, k ? "," : "", f->sym_names[k]);
        put(o, "; ");
    }
    for (int k = 0; k < f->nbufs; k++) {
        const tx_lir_buf *b = &f->bufs[k];
        put2(o, k ? ", " : "", b->local ? "local " : b->scratch ? "scratch " : "");
        put2(o, b->output ? "out " : "", b->name);
        put2(o, ": ", tx_lir_dtype_name(b->dtype));
        putch(o, '[');
        for (int d = 0; d < b->rank; d++) {
            put(o, d ? "," : "");
            if (b->symdim && b->symdim[d] >= 0) put(o, f->sym_names[b->symdim[d]]);
            else put_int(o, b->shape[d]);
        }
        putch(o, ']');
        if (!b->symdim && !row_major(b)) {
            put(o, " strides [");
            for (int d = 0; d < b->rank; d++) {
                put(o, d ? "," : "");
                put_int(o, b->strides[d]);
            }
            putch(o, ']');
        }
    }
    put(o, ") {\n");
    print_block(o, f, &f->body, 1);
    put(o, "}\n");
    funlockfile(o);
}

char *tx_lir_str(const tx_lir_func *f) {
    char *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    if (!o) return NULL;
    tx_lir_print(o, f);
    fclose(o);
    return buf;
}

char *tx_lir_expr_str(const tx_lir_func *f, const tx_lir_expr *e) {
    char *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    if (!o) return NULL;
    flockfile(o);
    print_expr(o, f, e);
    funlockfile(o);
    fclose(o);
    return buf;
}
