/*
 * lir_print.c -- the loop IR as text.
 *
 * The text states everything code generation depends on (buffer dtypes and
 * shapes, loop bounds, offsets, constant values and their precision,
 * accumulator kinds), so the JIT uses it as its cache key, and tests compare
 * it.  Binary operators print infix with every nested binary operand in
 * parentheses; functions print as calls; a constant or conversion of single
 * precision prints as f32(...) or c64(...).
 */
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

/* Shortest text that reads back as the same double (or float). */
static void num(FILE *o, double x, bool single) {
    if (isnan(x)) { fputs("nan", o); return; }
    if (isinf(x)) { fputs(x < 0 ? "-inf" : "inf", o); return; }
    char buf[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, x);
        double y = strtod(buf, NULL);
        if (single ? (float)y == (float)x : y == x) break;
    }
    fputs(buf, o);
}

static void print_const(FILE *o, const tx_lir_expr *e) {
    bool single = e->dtype == TXRT_F32 || e->dtype == TXRT_C64;
    if (single) fprintf(o, "%s(", tx_lir_dtype_name(e->dtype));
    if (tx_lir_is_complex(e->dtype)) {
        fputc('(', o);
        num(o, e->re, single);
        if (!signbit(e->im)) fputc('+', o);
        num(o, e->im, single);
        fputs("j)", o);
    } else {
        num(o, e->re, single);
    }
    if (single) fputc(')', o);
}

/* "*n*d" for a monomial of run-time sizes. */
static void print_mono(FILE *o, const tx_lir_func *f, const tx_lir_mono *m) {
    for (int k = 0; m && k < m->n; k++)
        fprintf(o, "*%s", m->f[k] >= 0 && m->f[k] < f->nsyms ? f->sym_names[m->f[k]] : "?");
}

static void print_affine(FILE *o, const tx_lir_func *f, const tx_lir_affine *a) {
    bool first = true;
    for (int k = 0; k < a->nterms; k++) {
        int64_t c = a->coef[k];
        const tx_lir_mono *m = a->sym && a->sym[k].n > 0 ? &a->sym[k] : NULL;
        int64_t mag = c < 0 ? -c : c;
        if (first) {
            if (c < 0) fputc('-', o);
        } else {
            fputs(c < 0 ? " - " : " + ", o);
        }
        if (a->var[k] < 0) {   /* a run-time constant: c * sizes */
            fprintf(o, "%lld", (long long)mag);
        } else {
            if (mag != 1) fprintf(o, "%lld*", (long long)mag);
            fputs(f->vars[a->var[k]].name, o);
        }
        print_mono(o, f, m);
        first = false;
    }
    if (first) fprintf(o, "%lld", (long long)a->c0);
    else if (a->c0 > 0) fprintf(o, " + %lld", (long long)a->c0);
    else if (a->c0 < 0) fprintf(o, " - %lld", -(long long)a->c0);
}

static void print_expr(FILE *o, const tx_lir_func *f, const tx_lir_expr *e);

static void operand(FILE *o, const tx_lir_func *f, const tx_lir_expr *e) {
    bool paren = e->kind == TX_LIR_BINARY && e->op != TX_TOP_MAX2 && e->op != TX_TOP_MIN2;
    if (paren) fputc('(', o);
    print_expr(o, f, e);
    if (paren) fputc(')', o);
}

static void print_expr(FILE *o, const tx_lir_func *f, const tx_lir_expr *e) {
    switch (e->kind) {
    case TX_LIR_CONST:
        print_const(o, e);
        return;
    case TX_LIR_INDEX:
        fputs(f->vars[e->var].name, o);
        return;
    case TX_LIR_LOAD:
        fprintf(o, "%s[", f->bufs[e->buf].name);
        print_affine(o, f, &e->off);
        fputc(']', o);
        return;
    case TX_LIR_ACC:
        fprintf(o, "acc%d", e->acc);
        return;
    case TX_LIR_UNARY:
        if (e->op == TX_TOP_NEG) {
            fputc('-', o);
            operand(o, f, e->a);
        } else {
            fprintf(o, "%s(", tx_lir_op_name(e->op));
            print_expr(o, f, e->a);
            fputc(')', o);
        }
        return;
    case TX_LIR_BINARY:
        if (e->op == TX_TOP_MAX2 || e->op == TX_TOP_MIN2) {
            fprintf(o, "%s(", tx_lir_op_name(e->op));
            print_expr(o, f, e->a);
            fputs(", ", o);
            print_expr(o, f, e->b);
            fputc(')', o);
        } else {
            operand(o, f, e->a);
            fprintf(o, " %s ", tx_lir_op_name(e->op));
            operand(o, f, e->b);
        }
        return;
    case TX_LIR_SELECT:
        fputs("select(", o);
        print_expr(o, f, e->a);
        fputs(", ", o);
        print_expr(o, f, e->b);
        fputs(", ", o);
        print_expr(o, f, e->c);
        fputc(')', o);
        return;
    case TX_LIR_CAST:
        fprintf(o, "%s(", tx_lir_dtype_name(e->dtype));
        print_expr(o, f, e->a);
        fputc(')', o);
        return;
    }
    fputs("?", o);
}

static void indent(FILE *o, int depth) {
    for (int k = 0; k < depth; k++) fputs("  ", o);
}

static void print_block(FILE *o, const tx_lir_func *f, const tx_lir_block *b, int depth) {
    for (int k = 0; k < b->n; k++) {
        const tx_lir_stmt *s = b->stmts[k];
        indent(o, depth);
        switch (s->kind) {
        case TX_LIR_LOOP:
            if (s->sym_extent.n > 0) {   /* run-time extent: "0..n", "0..2*n*d", "1..1+n" */
                fprintf(o, "for %s in %lld..", f->vars[s->var].name, (long long)s->lo);
                if (s->lo != 0) fprintf(o, "%lld+", (long long)s->lo);
                if (s->extent != 1) fprintf(o, "%lld*", (long long)s->extent);
                for (int q = 0; q < s->sym_extent.n; q++)
                    fprintf(o, "%s%s", q ? "*" : "", f->sym_names[s->sym_extent.f[q]]);
            } else {
                fprintf(o, "%sfor %s in %lld..%lld", s->parallel ? "parallel " : "", f->vars[s->var].name,
                        (long long)s->lo, (long long)(s->lo + s->extent));
            }
            for (int b = 0, n = 0; s->private_bufs && b < f->nbufs; b++)
                if (s->private_bufs[b]) fprintf(o, "%s%s", n++ ? ", " : " private ", f->bufs[b].name);
            fputs(" {\n", o);
            print_block(o, f, &s->body, depth + 1);
            indent(o, depth);
            fputs("}\n", o);
            break;
        case TX_LIR_ACC_INIT: {
            const tx_lir_acc *a = &f->accs[s->acc];
            fprintf(o, "acc%d: %s = ", s->acc, tx_lir_dtype_name(a->dtype));
            num(o, tx_lir_identity(a->op), false);
            fputc('\n', o);
            break;
        }
        case TX_LIR_ACCUM: {
            const tx_lir_acc *a = &f->accs[s->acc];
            switch (a->op) {
            case TX_RED_SUM: fprintf(o, "acc%d += ", s->acc); break;
            case TX_RED_PROD: fprintf(o, "acc%d *= ", s->acc); break;
            case TX_RED_MAX: fprintf(o, "acc%d = max(acc%d, ", s->acc, s->acc); break;
            case TX_RED_MIN: fprintf(o, "acc%d = min(acc%d, ", s->acc, s->acc); break;
            }
            print_expr(o, f, s->value);
            if (a->op == TX_RED_MAX || a->op == TX_RED_MIN) fputc(')', o);
            fputc('\n', o);
            break;
        }
        case TX_LIR_STORE:
            fprintf(o, "%s[", f->bufs[s->buf].name);
            print_affine(o, f, &s->off);
            fputs("] = ", o);
            print_expr(o, f, s->value);
            fputc('\n', o);
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
    fprintf(o, "kernel %s(", f->name);
    if (f->nsyms > 0) {   /* size-generic: the run-time sizes come first */
        fputs("sizes ", o);
        for (int k = 0; k < f->nsyms; k++) fprintf(o, "%s%s", k ? "," : "", f->sym_names[k]);
        fputs("; ", o);
    }
    for (int k = 0; k < f->nbufs; k++) {
        const tx_lir_buf *b = &f->bufs[k];
        fprintf(o, "%s%s%s%s: %s[", k ? ", " : "",
                b->local ? "local " : b->scratch ? "scratch " : "", b->output ? "out " : "", b->name,
                tx_lir_dtype_name(b->dtype));
        for (int d = 0; d < b->rank; d++) {
            if (b->symdim && b->symdim[d] >= 0) fprintf(o, "%s%s", d ? "," : "", f->sym_names[b->symdim[d]]);
            else fprintf(o, "%s%lld", d ? "," : "", (long long)b->shape[d]);
        }
        fputc(']', o);
        if (!b->symdim && !row_major(b)) {
            fputs(" strides [", o);
            for (int d = 0; d < b->rank; d++) fprintf(o, "%s%lld", d ? "," : "", (long long)b->strides[d]);
            fputc(']', o);
        }
    }
    fputs(") {\n", o);
    print_block(o, f, &f->body, 1);
    fputs("}\n", o);
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
    print_expr(o, f, e);
    fclose(o);
    return buf;
}
