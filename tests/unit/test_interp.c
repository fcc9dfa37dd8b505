/*
 * test_interp.c -- the reference evaluator (ir/interp.c).
 *
 * Programs are built as tensor IR by hand with the small constructors
 * below (so these tests depend only on the IR contract and the checker's
 * range inference, not on the parser), run on an interpreter, and the
 * bound tensors are compared with values computed directly in C.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <complex.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "frontend/builtins.h"
#include "frontend/sema.h"
#include "ir/interp.h"
#include "ir/tir.h"

/* ---- building TIR by hand -------------------------------------------------- */

static tx_arena *A;             /* the current program's arena */
static tx_source *SRC;
static tx_tir_stmt *CUR;        /* the def whose index table IDX extends */
static tx_diags DG;             /* diagnostics of the last run */

/* Start a new program.  Earlier arenas stay alive until the test ends,
 * because the interpreter keeps the functions defined in them (as the
 * REPL keeps each statement's arena). */
static tx_arena *OLD[64];
static int NOLD;

static void reset(void) {
    if (A) {
        if (NOLD == 64) fail_msg("too many programs in one test");
        OLD[NOLD++] = A;
    }
    A = tx_arena_new(0);
    const char *text = "# a program built by hand\n";
    SRC = tx_source_new(A, "<test>", text, (uint32_t)strlen(text));
    CUR = NULL;
}

static tx_span SP(void) { return (tx_span){ 0, 1 }; }

static tx_tir_expr *node(tx_tir_expr_kind k) {
    tx_tir_expr *e = TX_NEW(A, tx_tir_expr);
    e->kind = k;
    e->span = SP();
    return e;
}

static tx_tir_expr *K(double v) {
    tx_tir_expr *e = node(TX_TIR_CONST);
    e->re = v;
    return e;
}

static tx_tir_expr *KZ(double re, double im) {
    tx_tir_expr *e = K(re);
    e->im = im;
    e->is_complex = true;
    return e;
}

static tx_tir_expr *STR(const char *s) {
    tx_tir_expr *e = node(TX_TIR_STRING);
    e->str = tx_arena_strdup(A, s);
    e->str_len = (int)strlen(s);
    return e;
}

/* index value */
static tx_tir_expr *IV(int id) {
    tx_tir_expr *e = node(TX_TIR_INDEX);
    e->index = id;
    return e;
}

/* the whole tensor `var` */
static tx_tir_expr *W(const char *var) {
    tx_tir_expr *e = node(TX_TIR_ACCESS);
    e->var = tx_arena_strdup(A, var);
    e->whole = true;
    return e;
}

/* affine subscripts: S(i) = i, SA(c0, i, coef) = coef*i + c0, SC(c) = c,
 * S2(c0, i, ci, j, cj) = ci*i + cj*j + c0 */
static tx_tir_affine aff(int64_t c0, int n, const int *ids, const int64_t *coefs) {
    tx_tir_affine f = { 0 };
    f.nterms = n;
    f.c0 = c0;
    f.idx = TX_NEWN(A, int, n + 1);
    f.coef = TX_NEWN(A, int64_t, n + 1);
    for (int k = 0; k < n; k++) f.idx[k] = ids[k], f.coef[k] = coefs[k];
    f.span = SP();
    return f;
}
#define S(i) aff(0, 1, (int[]){ i }, (int64_t[]){ 1 })
#define SA(c0, i, c) aff(c0, 1, (int[]){ i }, (int64_t[]){ c })
#define SC(c0) aff(c0, 0, NULL, NULL)
#define S2(c0, i, ci, j, cj) aff(c0, 2, (int[]){ i, j }, (int64_t[]){ ci, cj })

static tx_tir_expr *acc_(const char *var, const tx_tir_affine *subs, int n) {
    tx_tir_expr *e = node(TX_TIR_ACCESS);
    e->var = tx_arena_strdup(A, var);
    e->nsubs = n;
    e->subs = TX_NEWN(A, tx_tir_affine, n + 1);
    if (n) memcpy(e->subs, subs, sizeof(tx_tir_affine) * (size_t)n);
    return e;
}
#define ACC(var, ...) acc_(var, (tx_tir_affine[]){ __VA_ARGS__ }, \
                           (int)(sizeof((tx_tir_affine[]){ __VA_ARGS__ }) / sizeof(tx_tir_affine)))
/* rank-0 access written with no subscripts */
static tx_tir_expr *ACC0(const char *var) { return acc_(var, NULL, 0); }

static tx_tir_expr *UN(tx_tir_op op, tx_tir_expr *a) {
    tx_tir_expr *e = node(TX_TIR_UNARY);
    e->op = op;
    e->a = a;
    return e;
}

static tx_tir_expr *BI(tx_tir_op op, tx_tir_expr *a, tx_tir_expr *b) {
    tx_tir_expr *e = node(TX_TIR_BINARY);
    e->op = op;
    e->a = a;
    e->b = b;
    return e;
}
#define ADD(a, b) BI(TX_TOP_ADD, a, b)
#define SUB(a, b) BI(TX_TOP_SUB, a, b)
#define MUL(a, b) BI(TX_TOP_MUL, a, b)
#define DIV(a, b) BI(TX_TOP_DIV, a, b)

static tx_tir_expr *WHERE(tx_tir_expr *c, tx_tir_expr *a, tx_tir_expr *b) {
    tx_tir_expr *e = node(TX_TIR_WHERE);
    e->a = c;
    e->b = a;
    e->c = b;
    return e;
}

static tx_tir_expr *red_(tx_redop op, tx_tir_expr *a, int n, const int *ids) {
    tx_tir_expr *e = node(TX_TIR_REDUCE);
    e->redop = op;
    e->a = a;
    e->nidx = n;
    e->idx = TX_NEWN(A, int, n + 1);
    memcpy(e->idx, ids, sizeof(int) * (size_t)n);
    return e;
}
#define RED(op, a, ...) red_(op, a, (int)(sizeof((int[]){ __VA_ARGS__ }) / sizeof(int)), (int[]){ __VA_ARGS__ })
#define SUM(a, ...) RED(TX_RED_SUM, a, __VA_ARGS__)

/* A def `out[...] = rhs`: D() starts it, IDX() adds indices, OUT() sets the
 * output indices. */
static tx_tir_stmt *D(const char *out) {
    tx_tir_stmt *s = TX_NEW(A, tx_tir_stmt);
    s->kind = TX_TIR_DEF;
    s->span = SP();
    s->out = tx_arena_strdup(A, out);
    s->out_span = SP();
    s->indices = TX_NEWN(A, tx_tir_index, 64);
    CUR = s;
    return s;
}

static int IDX(const char *name) {
    tx_tir_index *x = &CUR->indices[CUR->nindices];
    x->name = tx_arena_strdup(A, name);
    x->span = SP();
    x->extent = -1;
    return CUR->nindices++;
}

static void out_(tx_tir_stmt *s, int n, const int *ids) {
    s->nout = n;
    s->out_idx = TX_NEWN(A, int, n + 1);
    memcpy(s->out_idx, ids, sizeof(int) * (size_t)n);
}
#define OUT(s, ...) out_(s, (int)(sizeof((int[]){ __VA_ARGS__ }) / sizeof(int)), (int[]){ __VA_ARGS__ })

/* out = rhs for a scalar/whole-tensor elementwise expression */
static tx_tir_stmt *ELL(const char *out, tx_tir_expr *rhs) {
    tx_tir_stmt *s = D(out);
    s->ellipsis = true;
    s->rhs = rhs;
    return s;
}

/* let-like scalar: out = rhs (no indices) */
static tx_tir_stmt *SCAL(const char *out, tx_tir_expr *rhs) {
    tx_tir_stmt *s = D(out);
    s->rhs = rhs;
    return s;
}

static tx_tir_stmt *call_(int builtin, const char *callee, const char *res, int n, tx_tir_expr **args) {
    tx_tir_stmt *s = TX_NEW(A, tx_tir_stmt);
    s->kind = TX_TIR_CALL;
    s->span = SP();
    s->builtin = builtin;
    s->callee = callee;
    if (res) {
        s->nresults = 1;
        s->results = TX_NEWN(A, const char *, 1);
        s->results[0] = tx_arena_strdup(A, res);
        s->result_spans = TX_NEWN(A, tx_span, 1);
    }
    s->nargs = n;
    s->args = TX_NEWN(A, tx_tir_expr *, n + 1);
    if (n) memcpy(s->args, args, sizeof(tx_tir_expr *) * (size_t)n);
    return s;
}
#define NARGS(...) (int)(sizeof((tx_tir_expr *[]){ __VA_ARGS__ }) / sizeof(tx_tir_expr *))
#define CALL(b, res, ...) call_(b, NULL, res, NARGS(__VA_ARGS__), (tx_tir_expr *[]){ __VA_ARGS__ })
#define CALL0(b, res) call_(b, NULL, res, 0, NULL)

static tx_tir_stmt *KW(tx_tir_stmt *s, const char *name, tx_tir_expr *v) {
    tx_tir_kwarg *kw = TX_NEWN(A, tx_tir_kwarg, s->nkwargs + 1);
    if (s->nkwargs) memcpy(kw, s->kwargs, sizeof *kw * (size_t)s->nkwargs);
    kw[s->nkwargs].name = tx_arena_strdup(A, name);
    kw[s->nkwargs].span = SP();
    kw[s->nkwargs].value = v;
    s->kwargs = kw;
    s->nkwargs++;
    return s;
}

static tx_tir_stmt **list_(int n, tx_tir_stmt **v) {
    tx_tir_stmt **l = TX_NEWN(A, tx_tir_stmt *, n + 1);
    if (n) memcpy(l, v, sizeof *l * (size_t)n);
    return l;
}
#define NST(...) (int)(sizeof((tx_tir_stmt *[]){ __VA_ARGS__ }) / sizeof(tx_tir_stmt *))
#define LIST(...) list_(NST(__VA_ARGS__), (tx_tir_stmt *[]){ __VA_ARGS__ })

static tx_tir_stmt *FOR(const char *var, tx_tir_expr *lo, tx_tir_expr *hi, int n, tx_tir_stmt **body) {
    tx_tir_stmt *s = TX_NEW(A, tx_tir_stmt);
    s->kind = TX_TIR_FOR;
    s->span = SP();
    s->var = tx_arena_strdup(A, var);
    s->lo = lo;
    s->hi = hi;
    s->body = body;
    s->nbody = n;
    return s;
}

static tx_tir_stmt *print_(int n, tx_tir_expr **items) {
    tx_tir_stmt *s = TX_NEW(A, tx_tir_stmt);
    s->kind = TX_TIR_PRINT;
    s->span = SP();
    s->items = TX_NEWN(A, tx_tir_expr *, n + 1);
    memcpy(s->items, items, sizeof(tx_tir_expr *) * (size_t)n);
    s->nitems = n;
    return s;
}
#define PRINT(...) print_(NARGS(__VA_ARGS__), (tx_tir_expr *[]){ __VA_ARGS__ })

static tx_tir_stmt *ASSERT(tx_tir_expr *cond, const char *msg) {
    tx_tir_stmt *s = TX_NEW(A, tx_tir_stmt);
    s->kind = TX_TIR_ASSERT;
    s->span = (tx_span){ 2, 9 };
    s->args = TX_NEWN(A, tx_tir_expr *, 1);
    s->args[0] = cond;
    s->nargs = 1;
    s->msg = msg ? tx_arena_strdup(A, msg) : NULL;
    return s;
}

static tx_tir_stmt *RET(void) {
    tx_tir_stmt *s = TX_NEW(A, tx_tir_stmt);
    s->kind = TX_TIR_RETURN;
    s->span = SP();
    return s;
}

/* A function parameter or result: dims "n,d" (names) or "3,n" (literals). */
static tx_tir_param PARAM(const char *name, const char *dims, int dtype) {
    tx_tir_param p = { 0 };
    p.name = tx_arena_strdup(A, name);
    p.span = SP();
    p.dtype = dtype;
    p.dims = TX_NEWN(A, tx_ast_dim, 8);
    for (const char *c = dims; c && *c;) {
        const char *e = strchr(c, ',');
        size_t len = e ? (size_t)(e - c) : strlen(c);
        tx_ast_dim *dm = &p.dims[p.ndims++];
        if (c[0] >= '0' && c[0] <= '9') dm->value = atoll(c);
        else dm->name = tx_arena_strndup(A, c, len);
        c = e ? e + 1 : c + len;
    }
    return p;
}

static tx_tir_func *FUNC(const char *name, int np, tx_tir_param *params, int nr, tx_tir_param *results,
                         int nbody, tx_tir_stmt **body) {
    tx_tir_func *f = TX_NEW(A, tx_tir_func);
    f->name = tx_arena_strdup(A, name);
    f->span = SP();
    f->params = params;
    f->nparams = np;
    f->results = results;
    f->nresults = nr;
    f->body = body;
    f->nbody = nbody;
    f->sizes = TX_NEWN(A, const char *, 16);
    for (int k = 0; k < np + nr; k++) {
        const tx_tir_param *p = k < np ? &params[k] : &results[k - np];
        for (int j = 0; j < p->ndims; j++) {
            if (!p->dims[j].name) continue;
            bool seen = false;
            for (int m = 0; m < f->nsizes; m++) seen |= strcmp(f->sizes[m], p->dims[j].name) == 0;
            if (!seen) f->sizes[f->nsizes++] = p->dims[j].name;
        }
    }
    return f;
}

static tx_tir_program *prog_(int n, tx_tir_stmt **v) {
    tx_tir_program *p = TX_NEW(A, tx_tir_program);
    p->src = SRC;
    p->stmts = list_(n, v);
    p->nstmts = n;
    return p;
}
#define PROG(...) prog_(NST(__VA_ARGS__), (tx_tir_stmt *[]){ __VA_ARGS__ })

static int run(tx_interp *in, tx_tir_program *p) {
    tx_diags_init(&DG, A, SRC);
    return tx_interp_run(in, p, &DG);
}

static const char *first_msg(void) { return DG.head ? DG.head->msg : ""; }

/* ---- reading results ----------------------------------------------------------- */

static double val(tx_interp *in, const char *name, int64_t i) {
    txrt_tensor *t = tx_interp_get(in, name);
    assert_non_null(t);
    assert_true(i < t->size);
    double re, im;
    txrt_get(t, i, &re, &im);
    return re;
}

static double ival(tx_interp *in, const char *name, int64_t i) {
    txrt_tensor *t = tx_interp_get(in, name);
    assert_non_null(t);
    double re, im;
    txrt_get(t, i, &re, &im);
    return im;
}

static void assert_close(double a, double b, double tol) {
    if (!(fabs(a - b) <= tol * (1 + fabs(b)))) fail_msg("%.17g != %.17g", a, b);
}

static void assert_shape(tx_interp *in, const char *name, int rank, const int64_t *shape) {
    txrt_tensor *t = tx_interp_get(in, name);
    assert_non_null(t);
    assert_int_equal(t->rank, rank);
    for (int k = 0; k < rank; k++) assert_int_equal(t->shape[k], shape[k]);
}

/* A tensor of given shape filled with f(flat index). */
static txrt_tensor *make(txrt_dtype dt, int rank, const int64_t *shape, double (*f)(int64_t)) {
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    txrt_tensor *t = txrt_tensor_new(&ctx, dt, rank, shape);
    assert_non_null(t);
    for (int64_t p = 0; p < t->size; p++) txrt_set(t, p, f(p), 0);
    return t;
}

static void bind(tx_interp *in, const char *name, txrt_tensor *t) {
    tx_interp_set(in, name, t);
    txrt_release(t);
}

static double f_a(int64_t p) { return sin(0.7 * (double)p + 0.3) * 3; }
static double f_b(int64_t p) { return cos(1.3 * (double)p) + 0.25 * (double)(p % 5); }

static int setup(void **state) {
    reset();
    return 0;
}

static int teardown(void **state) {
    tx_arena_free(A);
    A = NULL;
    while (NOLD) tx_arena_free(OLD[--NOLD]);
    return 0;
}

/* ---- tests -------------------------------------------------------------------- */

/* C[i,j] = A[i,k] * B[k,j] against a hand loop */
static void test_matmul(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    bind(in, "A", make(TXRT_F64, 2, (int64_t[]){ 5, 7 }, f_a));
    bind(in, "B", make(TXRT_F64, 2, (int64_t[]){ 7, 4 }, f_b));
    tx_tir_stmt *s = D("C");
    int i = IDX("i"), j = IDX("j"), k = IDX("k");
    OUT(s, i, j);
    s->rhs = SUM(MUL(ACC("A", S(i), S(k)), ACC("B", S(k), S(j))), k);
    assert_int_equal(run(in, PROG(s)), 0);
    assert_shape(in, "C", 2, (int64_t[]){ 5, 4 });
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 4; b++) {
            double want = 0;
            for (int c = 0; c < 7; c++) want += f_a(a * 7 + c) * f_b(c * 4 + b);
            assert_close(val(in, "C", a * 4 + b), want, 1e-14);
        }
    assert_int_equal(tx_interp_get(in, "C")->dtype, TXRT_F64);
    tx_interp_free(in);
}

/* t = A[i,i] and the transposed copy T[j,i] = A[i,j] */
static void test_trace_transpose(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    bind(in, "A", make(TXRT_F64, 2, (int64_t[]){ 6, 6 }, f_a));
    tx_tir_stmt *t = D("t");
    int i = IDX("i");
    t->rhs = SUM(ACC("A", S(i), S(i)), i);
    tx_tir_stmt *s = D("T");
    int a = IDX("i"), b = IDX("j");
    OUT(s, b, a);
    s->rhs = ACC("A", S(a), S(b));
    assert_int_equal(run(in, PROG(t, s)), 0);
    double want = 0;
    for (int k = 0; k < 6; k++) want += f_a(k * 6 + k);
    assert_close(val(in, "t", 0), want, 1e-14);
    assert_int_equal(tx_interp_get(in, "t")->rank, 0);
    for (int p = 0; p < 6; p++)
        for (int q = 0; q < 6; q++) assert_true(val(in, "T", q * 6 + p) == f_a(p * 6 + q));
    tx_interp_free(in);
}

/* Y[i] = X[i+k]*W[k] ("valid" convolution), Z[i] = X[2*i+1], and the
 * central difference D[i] = X[i+1] - X[i-1] stored from 0 */
static void test_affine(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    bind(in, "X", make(TXRT_F64, 1, (int64_t[]){ 10 }, f_a));
    bind(in, "W", make(TXRT_F64, 1, (int64_t[]){ 3 }, f_b));
    tx_tir_stmt *y = D("Y");
    int i = IDX("i"), k = IDX("k");
    OUT(y, i);
    y->rhs = SUM(MUL(ACC("X", S2(0, i, 1, k, 1)), ACC("W", S(k))), k);
    tx_tir_stmt *dd = D("D");
    int j = IDX("i");
    OUT(dd, j);
    dd->rhs = SUB(ACC("X", SA(1, j, 1)), ACC("X", SA(-1, j, 1)));
    tx_tir_stmt *z = D("Z");
    int m = IDX("i");
    OUT(z, m);
    z->rhs = ACC("X", SA(1, m, 2));
    tx_tir_stmt *last = D("L");
    last->rhs = ACC("X", SC(-1));   /* constant subscripts count from the end */
    assert_int_equal(run(in, PROG(y, dd, z, last)), 0);
    assert_shape(in, "Y", 1, (int64_t[]){ 8 });
    for (int p = 0; p < 8; p++) {
        double want = 0;
        for (int q = 0; q < 3; q++) want += f_a(p + q) * f_b(q);
        assert_close(val(in, "Y", p), want, 1e-14);
    }
    assert_shape(in, "D", 1, (int64_t[]){ 8 });
    for (int p = 0; p < 8; p++) assert_true(val(in, "D", p) == f_a(p + 2) - f_a(p));
    assert_shape(in, "Z", 1, (int64_t[]){ 5 });
    for (int p = 0; p < 5; p++) assert_true(val(in, "Z", p) == f_a(2 * p + 1));
    assert_true(val(in, "L", 0) == f_a(9));
    tx_interp_free(in);
}

/* O[i,b] = S[i,j]*V[j,b] / sum[j](S[i,j]): the inner j is a different index */
static void test_shadowed_reduction(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    bind(in, "S", make(TXRT_F64, 2, (int64_t[]){ 3, 4 }, f_a));
    bind(in, "V", make(TXRT_F64, 2, (int64_t[]){ 4, 2 }, f_b));
    tx_tir_stmt *s = D("O");
    int i = IDX("i"), b = IDX("b"), j = IDX("j"), j2 = IDX("j");
    OUT(s, i, b);
    s->rhs = SUM(DIV(MUL(ACC("S", S(i), S(j)), ACC("V", S(j), S(b))), SUM(ACC("S", S(i), S(j2)), j2)), j);
    assert_int_equal(run(in, PROG(s)), 0);
    for (int p = 0; p < 3; p++)
        for (int q = 0; q < 2; q++) {
            double den = 0, num = 0;
            for (int c = 0; c < 4; c++) den += f_a(p * 4 + c);
            for (int c = 0; c < 4; c++) num += f_a(p * 4 + c) * f_b(c * 2 + q) / den;
            assert_close(val(in, "O", p * 2 + q), num, 1e-13);
        }
    tx_interp_free(in);
}

static double f_neg(int64_t p) { return (double)p - 2.5; }

/* max/min/prod reductions, empty ranges, nan propagation */
static void test_reductions(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    bind(in, "X", make(TXRT_F64, 2, (int64_t[]){ 2, 6 }, f_neg));
    bind(in, "E", make(TXRT_F64, 1, (int64_t[]){ 0 }, f_neg));
    tx_tir_stmt *mx = D("MX"), *mn, *pr, *es, *em, *en, *ep;
    int i = IDX("i"), j = IDX("j");
    OUT(mx, i);
    mx->rhs = RED(TX_RED_MAX, ACC("X", S(i), S(j)), j);
    mn = D("MN");
    i = IDX("i"), j = IDX("j");
    OUT(mn, j);
    mn->rhs = RED(TX_RED_MIN, ACC("X", S(i), S(j)), i);
    pr = D("PR");
    i = IDX("i");
    OUT(pr, i);
    j = IDX("j");
    pr->rhs = RED(TX_RED_PROD, ACC("X", S(i), S(j)), j);
    es = D("es");
    i = IDX("i");
    es->rhs = SUM(ACC("E", S(i)), i);
    em = D("em");
    i = IDX("i");
    em->rhs = RED(TX_RED_MAX, ACC("E", S(i)), i);
    en = D("en");
    i = IDX("i");
    en->rhs = RED(TX_RED_MIN, ACC("E", S(i)), i);
    ep = D("ep");
    i = IDX("i");
    ep->rhs = RED(TX_RED_PROD, ACC("E", S(i)), i);
    assert_int_equal(run(in, PROG(mx, mn, pr, es, em, en, ep)), 0);
    assert_true(val(in, "MX", 0) == 2.5 && val(in, "MX", 1) == 8.5);
    for (int q = 0; q < 6; q++) assert_true(val(in, "MN", q) == q - 2.5);
    double p0 = 1, p1 = 1;
    for (int q = 0; q < 6; q++) p0 *= q - 2.5, p1 *= q + 3.5;
    assert_true(val(in, "PR", 0) == p0 && val(in, "PR", 1) == p1);
    assert_true(val(in, "es", 0) == 0);
    assert_true(val(in, "em", 0) == -INFINITY);
    assert_true(val(in, "en", 0) == INFINITY);
    assert_true(val(in, "ep", 0) == 1);

    /* nan propagates through max/min like numpy.maximum */
    txrt_tensor *x = tx_interp_get(in, "X");
    txrt_tensor *y = txrt_tensor_copy(&(txrt_ctx){ 0 }, x);
    ((double *)y->data)[3] = NAN;
    bind(in, "Y", y);
    reset();
    tx_tir_stmt *a = D("A");
    i = IDX("i"), j = IDX("j");
    OUT(a, i);
    a->rhs = RED(TX_RED_MAX, ACC("Y", S(i), S(j)), j);
    tx_tir_stmt *b = D("B");
    i = IDX("i");
    OUT(b, i);
    b->rhs = BI(TX_TOP_MIN2, ACC("Y", SC(0), S(i)), K(0));
    assert_int_equal(run(in, PROG(a, b)), 0);
    assert_true(isnan(val(in, "A", 0)) && val(in, "A", 1) == 8.5);
    assert_true(isnan(val(in, "B", 3)) && val(in, "B", 0) == -2.5 && val(in, "B", 5) == 0);
    tx_interp_free(in);
}

/* (i == j), index values, where, comparisons, elementwise functions */
static void test_elementwise(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    bind(in, "X", make(TXRT_F64, 1, (int64_t[]){ 6 }, f_neg));
    tx_tir_stmt *e = D("E");
    int i = IDX("i"), j = IDX("j");
    tx_tir_index *ix = e->indices;
    ix[i].declared = K(4);
    ix[j].declared = K(4);
    OUT(e, i, j);
    e->rhs = BI(TX_TOP_EQ, IV(i), IV(j));
    tx_tir_stmt *f = D("F");
    i = IDX("i");
    OUT(f, i);
    f->rhs = WHERE(BI(TX_TOP_GT, ACC("X", S(i)), K(0)), IV(i), UN(TX_TOP_NEG, K(1)));
    static const tx_tir_op ops[] = { TX_TOP_EXP, TX_TOP_LOG, TX_TOP_SQRT, TX_TOP_ABS, TX_TOP_SIN, TX_TOP_COS,
                                     TX_TOP_TAN, TX_TOP_TANH, TX_TOP_SIGMOID, TX_TOP_RELU, TX_TOP_SIGN,
                                     TX_TOP_FLOOR, TX_TOP_CEIL, TX_TOP_NEG };
    const int nops = (int)(sizeof ops / sizeof ops[0]);
    tx_tir_stmt *st[32];
    int n = 0;
    st[n++] = e;
    st[n++] = f;
    for (int k = 0; k < nops; k++) {
        char name[16];
        snprintf(name, sizeof name, "U%d", k);
        st[n] = D(name);
        i = IDX("i");
        OUT(st[n], i);
        st[n]->rhs = UN(ops[k], ACC("X", S(i)));
        n++;
    }
    st[n] = D("P");
    i = IDX("i");
    OUT(st[n], i);
    st[n]->rhs = BI(TX_TOP_POW, ACC("X", S(i)), K(2));
    n++;
    st[n] = D("Q");
    i = IDX("i");
    OUT(st[n], i);
    st[n]->rhs = DIV(K(1), SUB(ACC("X", S(i)), K(-0.5)));   /* 1/(x+0.5): x = -0.5 gives inf */
    n++;
    assert_int_equal(run(in, prog_(n, st)), 0);
    for (int p = 0; p < 4; p++)
        for (int q = 0; q < 4; q++) assert_true(val(in, "E", p * 4 + q) == (p == q));
    for (int p = 0; p < 6; p++) assert_true(val(in, "F", p) == (p - 2.5 > 0 ? p : -1));
    for (int p = 0; p < 6; p++) {
        double x = p - 2.5;
        double want[] = { exp(x), log(x), sqrt(x), fabs(x), sin(x), cos(x), tan(x), tanh(x),
                          1 / (1 + exp(-x)), x > 0 ? x : 0, x > 0 ? 1 : -1, floor(x), ceil(x), -x };
        for (int k = 0; k < nops; k++) {
            char name[16];
            snprintf(name, sizeof name, "U%d", k);
            double got = val(in, name, p);
            if (isnan(want[k])) assert_true(isnan(got));
            else assert_true(got == want[k]);
        }
        assert_true(val(in, "P", p) == x * x);
    }
    assert_true(val(in, "Q", 2) == INFINITY);
    tx_interp_free(in);
}

/* complex arithmetic: promotion, exp/abs/conj/real/imag, lexicographic max */
static void test_complex(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    bind(in, "X", make(TXRT_F64, 1, (int64_t[]){ 5 }, f_a));
    tx_tir_stmt *z = D("Z");
    int i = IDX("i");
    OUT(z, i);
    z->rhs = ADD(ACC("X", S(i)), MUL(KZ(0, 1), IV(i)));    /* x + i*1j */
    tx_tir_stmt *e = D("E");
    i = IDX("i");
    OUT(e, i);
    e->rhs = MUL(UN(TX_TOP_EXP, ACC("Z", S(i))), UN(TX_TOP_CONJ, ACC("Z", S(i))));
    tx_tir_stmt *r = D("R");
    i = IDX("i");
    OUT(r, i);
    r->rhs = ADD(UN(TX_TOP_ABS, ACC("Z", S(i))), MUL(UN(TX_TOP_REAL, ACC("Z", S(i))), UN(TX_TOP_IMAG, ACC("Z", S(i)))));
    tx_tir_stmt *q = D("q");
    i = IDX("i");
    q->rhs = DIV(SUM(ACC("Z", S(i)), i), KZ(1, 1));
    tx_tir_stmt *m = D("m");
    i = IDX("i");
    m->rhs = RED(TX_RED_MAX, ACC("Z", S(i)), i);
    assert_int_equal(run(in, PROG(z, e, r, q, m)), 0);
    assert_int_equal(tx_interp_get(in, "Z")->dtype, TXRT_C128);
    assert_int_equal(tx_interp_get(in, "R")->dtype, TXRT_F64);
    double complex sum = 0;
    double complex best = 0;
    for (int p = 0; p < 5; p++) {
        double complex zz = f_a(p) + I * p;
        assert_true(val(in, "Z", p) == creal(zz) && ival(in, "Z", p) == cimag(zz));
        double complex ee = cexp(zz) * conj(zz);
        assert_close(val(in, "E", p), creal(ee), 1e-14);
        assert_close(ival(in, "E", p), cimag(ee), 1e-14);
        assert_close(val(in, "R", p), cabs(zz) + creal(zz) * cimag(zz), 1e-15);
        sum += zz;
        if (p == 0 || creal(zz) > creal(best)) best = zz;
    }
    double complex qq = sum / (1 + I);
    assert_close(val(in, "q", 0), creal(qq), 1e-15);
    assert_close(ival(in, "q", 0), cimag(qq), 1e-15);
    assert_true(val(in, "m", 0) == creal(best) && ival(in, "m", 0) == cimag(best));
    tx_interp_free(in);
}

/* f32 inputs give an f32 result, rounded once on store */
static void test_f32(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    bind(in, "X", make(TXRT_F32, 1, (int64_t[]){ 4 }, f_a));
    tx_tir_stmt *y = D("Y");
    int i = IDX("i");
    OUT(y, i);
    y->rhs = DIV(ACC("X", S(i)), K(3));
    assert_int_equal(run(in, PROG(y)), 0);
    txrt_tensor *t = tx_interp_get(in, "Y");
    assert_int_equal(t->dtype, TXRT_F32);
    for (int p = 0; p < 4; p++) assert_true(((float *)t->data)[p] == (float)((double)(float)f_a(p) / 3.0));
    tx_interp_free(in);
}

/* += reads the old values, and a shared tensor is copied first */
static void test_accumulate_cow(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    bind(in, "X", make(TXRT_F64, 1, (int64_t[]){ 5 }, f_neg));
    assert_int_equal(run(in, PROG(ELL("Y", W("X")))), 0);     /* Y = X shares */
    assert_ptr_equal(tx_interp_get(in, "X"), tx_interp_get(in, "Y"));
    assert_int_equal(tx_interp_get(in, "X")->refcount, 2);

    /* X[i] += X[2*i]: i ranges over 3 values but X has 5: a shape error */
    reset();
    tx_tir_stmt *bad = D("X");
    bad->accumulate = true;
    int i = IDX("i");
    OUT(bad, i);
    bad->rhs = ACC("X", SA(0, i, 2));
    assert_int_equal(run(in, PROG(bad)), 1);
    assert_int_equal(tx_interp_get(in, "X")->refcount, 2);

    /* X[i] += 10 + X[i]; X += X (reads the old values) */
    reset();
    tx_tir_stmt *ok = D("X");
    ok->accumulate = true;
    i = IDX("i");
    OUT(ok, i);
    ok->rhs = ADD(K(10), ACC("X", S(i)));
    tx_tir_stmt *self = ELL("X", W("X"));
    self->accumulate = true;
    assert_int_equal(run(in, PROG(ok, self)), 0);
    txrt_tensor *x = tx_interp_get(in, "X"), *y = tx_interp_get(in, "Y");
    assert_ptr_not_equal(x, y);
    for (int p = 0; p < 5; p++) {
        assert_true(val(in, "Y", p) == p - 2.5);
        assert_true(val(in, "X", p) == 2 * (p - 2.5 + 10 + p - 2.5));
    }
    assert_int_equal(x->refcount, 1);
    assert_int_equal(y->refcount, 1);

    /* complex into real is refused */
    reset();
    tx_tir_stmt *cz = ELL("X", KZ(0, 1));
    cz->accumulate = true;
    assert_int_equal(run(in, PROG(cz)), 1);
    assert_non_null(strstr(first_msg(), "complex"));
    tx_interp_free(in);
}

/* for t in 0..n { s = s + t; V[i] += t } with a rank-0 s and the loop var */
static void test_for(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    tx_tir_stmt *z = CALL(TX_B_ZEROS, "V", K(3));
    tx_tir_stmt *s0 = SCAL("s", K(0));
    tx_tir_stmt *n = SCAL("n", K(5));
    tx_tir_stmt *b1 = ELL("s", ADD(W("s"), W("t")));
    tx_tir_stmt *b2 = D("V");
    b2->accumulate = true;
    int i = IDX("i");
    OUT(b2, i);
    b2->rhs = MUL(ACC0("t"), IV(i));
    tx_tir_stmt *loop = FOR("t", K(1), W("n"), 2, LIST(b1, b2));
    tx_tir_stmt *empty = FOR("u", K(3), K(3), 1, LIST(SCAL("never", K(1))));
    assert_int_equal(run(in, PROG(z, s0, n, loop, empty)), 0);
    assert_true(val(in, "s", 0) == 10);
    for (int p = 0; p < 3; p++) assert_true(val(in, "V", p) == 10 * p);
    assert_null(tx_interp_get(in, "t"));     /* the loop variable lives in the loop */
    assert_null(tx_interp_get(in, "never"));
    assert_null(tx_interp_get(in, "u"));

    reset();
    tx_tir_stmt *frac = FOR("t", K(0), K(2.5), 0, NULL);
    assert_int_equal(run(in, PROG(frac)), 1);
    assert_non_null(strstr(first_msg(), "whole number"));
    reset();
    tx_tir_stmt *huge = FOR("t", K(0), K(1e12), 0, NULL);
    assert_int_equal(run(in, PROG(huge)), 3);
    tx_interp_free(in);
}

/* def mean(A[n,d]) -> (m[d], c) { m[j] = sum[i](A[i,j]) / n; c = n*d; return } */
static void test_function(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    bind(in, "A", make(TXRT_F64, 2, (int64_t[]){ 4, 3 }, f_a));
    tx_tir_stmt *m = D("m");
    int j = IDX("j"), i = IDX("i");
    OUT(m, j);
    m->rhs = DIV(SUM(ACC("A", S(i), S(j)), i), ACC0("n"));
    tx_tir_stmt *c = ELL("c", MUL(W("n"), W("d")));
    tx_tir_stmt *after = SCAL("c", K(-1));   /* skipped by the return */
    tx_tir_param *params = TX_NEWN(A, tx_tir_param, 1);
    params[0] = PARAM("A", "n,d", -1);
    tx_tir_param *results = TX_NEWN(A, tx_tir_param, 2);
    results[0] = PARAM("m", "d", -1);
    results[1] = PARAM("c", "", TXRT_F32);
    tx_tir_func *f = FUNC("mean", 1, params, 2, results, 4, LIST(m, c, RET(), after));
    tx_tir_stmt *call = CALL(-1, "M", W("A"));
    call->callee = "mean";
    call->func = f;
    call->nresults = 2;
    call->results = TX_NEWN(A, const char *, 2);
    call->results[0] = "M";
    call->results[1] = "C";
    tx_tir_program *p = PROG(call);
    p->funcs = TX_NEWN(A, tx_tir_func *, 1);
    p->funcs[0] = f;
    p->nfuncs = 1;
    assert_int_equal(run(in, p), 0);
    assert_shape(in, "M", 1, (int64_t[]){ 3 });
    for (int q = 0; q < 3; q++) {
        double want = 0;
        for (int r = 0; r < 4; r++) want += f_a(r * 3 + q);
        assert_close(val(in, "M", q), want / 4, 1e-15);
    }
    assert_true(val(in, "C", 0) == 12);
    assert_int_equal(tx_interp_get(in, "C")->dtype, TXRT_F32);
    /* the body's names stay inside */
    assert_null(tx_interp_get(in, "n"));
    assert_null(tx_interp_get(in, "m"));
    /* the function persists and is callable by name in a later run */
    assert_int_equal(tx_interp_functions(in)->nfuncs, 1);
    reset();
    bind(in, "B", make(TXRT_F64, 2, (int64_t[]){ 2, 2 }, f_b));
    tx_tir_stmt *again = CALL(-1, "M2", W("B"));
    again->callee = "mean";
    assert_int_equal(run(in, PROG(again)), 0);
    assert_close(val(in, "M2", 1), (f_b(1) + f_b(3)) / 2, 1e-15);
    /* a wrong rank is an error at the call */
    reset();
    bind(in, "v", make(TXRT_F64, 1, (int64_t[]){ 2 }, f_b));
    tx_tir_stmt *bad = CALL(-1, "M3", W("v"));
    bad->callee = "mean";
    assert_int_equal(run(in, PROG(bad)), 1);
    assert_null(tx_interp_get(in, "M3"));
    tx_interp_free(in);
}

/* a result the body never assigns */
static void test_function_missing_result(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    tx_tir_param *results = TX_NEWN(A, tx_tir_param, 1);
    results[0] = PARAM("r", "", -1);
    tx_tir_func *f = FUNC("g", 0, NULL, 1, results, 1, LIST(SCAL("x", K(1))));
    tx_tir_stmt *call = call_(-1, "g", "R", 0, NULL);
    call->func = f;
    tx_tir_program *p = PROG(call);
    p->funcs = TX_NEWN(A, tx_tir_func *, 1);
    p->funcs[0] = f;
    p->nfuncs = 1;
    assert_int_equal(run(in, p), 1);
    assert_non_null(strstr(first_msg(), "did not assign its result 'r'"));
    assert_null(tx_interp_get(in, "R"));
    tx_interp_free(in);
}

static void test_assert(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    tx_tir_stmt *one = SCAL("one", K(1));
    tx_tir_stmt *zero = SCAL("zero", BI(TX_TOP_GT, K(1), K(2)));
    assert_int_equal(run(in, PROG(one, zero, ASSERT(W("one"), "fine"))), 0);
    reset();
    assert_int_equal(run(in, PROG(ASSERT(W("zero"), "x must be positive"), SCAL("after", K(1)))), 3);
    assert_string_equal(first_msg(), "assertion failed: x must be positive");
    assert_int_equal(DG.head->sev, TX_RUNTIME_ERROR);
    assert_int_equal(DG.head->span.lo, 2);
    assert_null(tx_interp_get(in, "after"));
    reset();
    assert_int_equal(run(in, PROG(ASSERT(W("zero"), NULL))), 3);
    assert_string_equal(first_msg(), "assertion failed");
    reset();
    bind(in, "v", make(TXRT_F64, 1, (int64_t[]){ 3 }, f_a));
    assert_int_equal(run(in, PROG(ASSERT(W("v"), NULL))), 1);
    assert_string_equal(first_msg(), "assert needs a scalar condition, got shape (3,)");
    tx_interp_free(in);
}

static void test_construct(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    tx_tir_program *p = PROG(
        CALL(TX_B_ZEROS, "z", K(2), K(3)),
        CALL(TX_B_ONES, "o", K(4)),
        KW(CALL(TX_B_FULL, "f", K(2)), "value", K(7.5)),
        KW(CALL(TX_B_FULL, "fz", K(2)), "value", KZ(1, 2)),
        CALL(TX_B_EYE, "e", K(3)),
        CALL(TX_B_ARANGE, "a", K(5)),
        CALL(TX_B_LINSPACE, "l", K(0), K(1), K(7)),
        KW(CALL(TX_B_RAND, "r1", K(100)), "seed", K(3)),
        KW(CALL(TX_B_RAND, "r2", K(100)), "seed", K(3)),
        CALL(TX_B_RANDN, "g", K(1000)),
        CALL0(TX_B_ZEROS, "z0"));
    assert_int_equal(run(in, p), 0);
    assert_shape(in, "z", 2, (int64_t[]){ 2, 3 });
    assert_true(val(in, "z", 5) == 0 && val(in, "o", 3) == 1 && val(in, "f", 1) == 7.5);
    assert_int_equal(tx_interp_get(in, "fz")->dtype, TXRT_C128);
    assert_true(val(in, "fz", 1) == 1 && ival(in, "fz", 1) == 2);
    for (int k = 0; k < 9; k++) assert_true(val(in, "e", k) == (k % 4 == 0));
    for (int k = 0; k < 5; k++) assert_true(val(in, "a", k) == k);
    for (int k = 0; k < 7; k++) assert_true(val(in, "l", k) == (k == 6 ? 1.0 : k * (1.0 / 6)));
    double mean = 0;
    for (int k = 0; k < 100; k++) {
        assert_true(val(in, "r1", k) == val(in, "r2", k));
        assert_true(val(in, "r1", k) >= 0 && val(in, "r1", k) < 1);
    }
    for (int k = 0; k < 1000; k++) mean += val(in, "g", k) / 1000;
    assert_true(fabs(mean) < 0.15);
    assert_int_equal(tx_interp_get(in, "z0")->rank, 0);

    reset();
    assert_int_equal(run(in, PROG(CALL(TX_B_ZEROS, "bad", K(2.5)))), 1);
    assert_non_null(strstr(first_msg(), "whole number"));
    reset();
    assert_int_equal(run(in, PROG(CALL(TX_B_ZEROS, "bad", K(-1)))), 1);
    reset();
    assert_int_equal(run(in, PROG(CALL(TX_B_ZEROS, "big", K(1e9), K(1e9)))), 3);
    assert_int_equal(DG.head->sev, TX_RUNTIME_ERROR);
    assert_null(tx_interp_get(in, "bad"));
    assert_null(tx_interp_get(in, "big"));
    reset();
    /* solve(I, I) = I through LAPACK; a singular system is a runtime error */
    assert_int_equal(run(in, PROG(CALL(TX_B_SOLVE, "x", W("e"), W("e")))), 0);
    for (int k = 0; k < 9; k++) assert_true(val(in, "x", k) == (k % 4 == 0));
    reset();
    assert_int_equal(run(in, PROG(CALL(TX_B_ZEROS, "zz", K(3), K(3)),
                                  CALL(TX_B_SOLVE, "y", W("zz"), W("e")))), 3);
    assert_non_null(strstr(first_msg(), "singular"));
    tx_interp_free(in);
}

static void test_shape_builtins(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    bind(in, "X", make(TXRT_F64, 2, (int64_t[]){ 3, 4 }, f_a));
    tx_tir_program *p = PROG(
        CALL(TX_B_RESHAPE, "R", W("X"), K(2), K(6)),
        CALL(TX_B_RESHAPE, "R2", W("X"), K(4), K(3)),
        CALL(TX_B_DIM, "d0", W("X"), K(0)),
        CALL(TX_B_DIM, "d1", W("X"), K(-1)),
        CALL(TX_B_CAST, "F", W("X"), STR("f32")),
        CALL(TX_B_CAST, "Z", W("X"), STR("c128")));
    assert_int_equal(run(in, p), 0);
    assert_shape(in, "R", 2, (int64_t[]){ 2, 6 });
    assert_shape(in, "R2", 2, (int64_t[]){ 4, 3 });
    for (int k = 0; k < 12; k++) assert_true(val(in, "R", k) == f_a(k));
    assert_true(val(in, "d0", 0) == 3 && val(in, "d1", 0) == 4);
    assert_int_equal(tx_interp_get(in, "F")->dtype, TXRT_F32);
    assert_true(val(in, "F", 5) == (float)f_a(5));
    assert_int_equal(tx_interp_get(in, "Z")->dtype, TXRT_C128);
    reset();
    assert_int_equal(run(in, PROG(CALL(TX_B_RESHAPE, "R", W("X"), K(5)))), 1);
    assert_non_null(strstr(first_msg(), "cannot reshape"));
    assert_shape(in, "R", 2, (int64_t[]){ 2, 6 });   /* unchanged */
    reset();
    assert_int_equal(run(in, PROG(CALL(TX_B_DIM, "d", W("X"), K(2)))), 1);
    reset();
    assert_int_equal(run(in, PROG(CALL(TX_B_CAST, "d", W("X"), STR("f16")))), 1);
    tx_interp_free(in);
}

static double f_third(int64_t p) { return 1.0 / 3.0 + (double)p * 1e-3; }

static void test_whole_tensor(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    bind(in, "X", make(TXRT_F64, 2, (int64_t[]){ 3, 4 }, f_neg));
    bind(in, "Y", make(TXRT_F32, 1, (int64_t[]){ 20000 }, f_third));
    tx_tir_program *p = PROG(
        CALL(TX_B_SUM1, "s", W("X")),
        CALL(TX_B_MAX1, "mx", W("X")),
        CALL(TX_B_MIN1, "mn", W("X")),
        CALL(TX_B_NORM, "nm", W("X")),
        CALL(TX_B_SUM1, "sy", W("Y")),
        CALL(TX_B_ALLCLOSE, "c1", W("X"), W("X")),
        ELL("X2", ADD(W("X"), K(1e-6))),
        CALL(TX_B_ALLCLOSE, "c2", W("X"), W("X2")),
        KW(CALL(TX_B_ALLCLOSE, "c3", W("X"), W("X2")), "atol", K(1e-5)));
    assert_int_equal(run(in, p), 0);
    double s = 0, nn = 0;
    for (int k = 0; k < 12; k++) s += k - 2.5, nn += (k - 2.5) * (k - 2.5);
    assert_true(val(in, "s", 0) == s);
    assert_true(val(in, "mx", 0) == 8.5 && val(in, "mn", 0) == -2.5);
    assert_close(val(in, "nm", 0), sqrt(nn), 1e-15);
    txrt_tensor *sy = tx_interp_get(in, "sy");
    assert_int_equal(sy->dtype, TXRT_F32);
    double want = 0;
    for (int k = 0; k < 20000; k++) want += (float)f_third(k);
    assert_close(val(in, "sy", 0), want, 1e-6);  /* pairwise f32: close to the exact sum */
    assert_true(val(in, "c1", 0) == 1);
    assert_true(val(in, "c2", 0) == 0);    /* |diff| 1e-6 > 1e-7 * |x| for every |x| < 10 */
    assert_true(val(in, "c3", 0) == 1);
    assert_int_equal(tx_interp_get(in, "c1")->rank, 0);

    /* whole-tensor max of an empty tensor is a runtime error */
    reset();
    bind(in, "E", make(TXRT_F64, 1, (int64_t[]){ 0 }, f_neg));
    assert_int_equal(run(in, PROG(CALL(TX_B_MAX1, "m", W("E")))), 3);
    tx_interp_free(in);
}

/* numpy.sum's exact digits: blocks of 8192, pairwise inside, cross-checked
 * with numpy when it is installed */
static void test_sum_matches_numpy(void **state) {
    const char *py = "/usr/bin/python3";
    if (access(py, X_OK) != 0) skip();
    char dir[] = "/tmp/txc_interp_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512], cmd[2048];
    snprintf(path, sizeof path, "%s/x.npy", dir);
    tx_interp *in = tx_interp_new(stdout);
    bind(in, "X", make(TXRT_F64, 1, (int64_t[]){ 30001 }, f_a));
    assert_int_equal(run(in, PROG(CALL(TX_B_SAVE, NULL, STR(path), W("X")), CALL(TX_B_SUM1, "s", W("X")))), 0);
    snprintf(cmd, sizeof cmd, "%s -c \"import numpy as n; print(repr(float(n.sum(n.load('%s')))))\" 2>/dev/null", py, path);
    FILE *f = popen(cmd, "r");
    char line[128] = "";
    bool got = f && fgets(line, sizeof line, f);
    int st = f ? pclose(f) : -1;
    remove(path);
    rmdir(dir);
    if (!got || st != 0) {
        tx_interp_free(in);
        skip();
    }
    assert_true(val(in, "s", 0) == strtod(line, NULL));
    tx_interp_free(in);
}

static void test_load_save(void **state) {
    char dir[] = "/tmp/txc_interp_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = tx_arena_printf(A, "%s/a.npy", dir);
    char *missing = tx_arena_printf(A, "%s/missing.npy", dir);
    tx_interp *in = tx_interp_new(stdout);
    bind(in, "X", make(TXRT_F32, 2, (int64_t[]){ 3, 2 }, f_a));
    assert_int_equal(run(in, PROG(CALL(TX_B_SAVE, NULL, STR(path), W("X")), CALL(TX_B_LOAD, "Y", STR(path)))), 0);
    assert_shape(in, "Y", 2, (int64_t[]){ 3, 2 });
    assert_int_equal(tx_interp_get(in, "Y")->dtype, TXRT_F32);
    for (int k = 0; k < 6; k++) assert_true(val(in, "Y", k) == (float)f_a(k));
    reset();
    assert_int_equal(run(in, PROG(CALL(TX_B_LOAD, "Z", STR(missing)))), 3);
    assert_int_equal(DG.head->sev, TX_RUNTIME_ERROR);
    assert_null(tx_interp_get(in, "Z"));
    remove(path);
    rmdir(dir);
    tx_interp_free(in);
}

static void test_print(void **state) {
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    tx_interp *in = tx_interp_new(mem);
    tx_tir_program *p = PROG(SCAL("x", K(3)), CALL(TX_B_ARANGE, "a", K(3)),
                             PRINT(STR("x is"), W("x"), STR("and"), ADD(W("x"), K(0.5))),
                             PRINT(W("a")),
                             PRINT(STR("done")));
    assert_int_equal(run(in, p), 0);
    fclose(mem);
    const char *want = "x is 3.0 and 3.5\n";
    assert_true(strncmp(buf, want, strlen(want)) == 0);
    const char *second = buf + strlen(want);
    assert_true(strncmp(second, "[0. 1. 2.]", 10) == 0);
    assert_non_null(strstr(second, "\ndone\n"));
    free(buf);
    tx_interp_free(in);
}

static void count_names(void *ctx, const char *name, const txrt_tensor *t) {
    (*(int *)ctx)++;
    assert_true(name[0] != '%');
}

/* temporaries disappear after a run; each() goes in name order */
static void test_env(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    tx_tir_program *p = PROG(SCAL("%1", K(2)), ELL("b", MUL(W("%1"), K(3))), SCAL("a", K(1)));
    assert_int_equal(run(in, p), 0);
    assert_null(tx_interp_get(in, "%1"));
    assert_true(val(in, "b", 0) == 6);
    int n = 0;
    tx_interp_each(in, count_names, &n);
    assert_int_equal(n, 2);
    tx_lookup lk = tx_interp_lookup(in);
    tx_varinfo vi;
    assert_true(lk.get(lk.self, "b", &vi));
    assert_true(vi.known && vi.value == 6 && vi.type.rank == 0 && vi.type.dtype == TXRT_F64);
    assert_false(lk.get(lk.self, "nope", &vi));
    tx_interp_set(in, "a", NULL);
    assert_null(tx_interp_get(in, "a"));
    /* an undefined name is a compile error and binds nothing */
    reset();
    assert_int_equal(run(in, PROG(ELL("c", W("missing")))), 1);
    assert_null(tx_interp_get(in, "c"));
    tx_interp_free(in);
}


/* ---- programs from source (parser, sema, lowering, checker, evaluator) ---------- */

/* Compile and run text on `in` as one REPL unit (for a fresh interpreter
 * that is what `txc run` does).  Returns the run's exit code, or -1 when
 * the front half rejected the program (DG holds why). */
static int run_src(tx_interp *in, const char *text) {
    reset();
    SRC = tx_source_new(A, "<src>", text, (uint32_t)strlen(text));
    tx_diags_init(&DG, A, SRC);
    tx_ast_program *ast = tx_parse(A, SRC, &DG);
    if (DG.nerr) return -1;
    tx_sema_outer outer;
    tx_sema_outer_from_interp(&outer, in);
    tx_sema(A, ast, &outer, &DG);
    if (DG.nerr) return -1;
    tx_lookup glk = tx_interp_lookup(in);
    tx_tir_program *p = tx_lower_with(A, ast, tx_interp_functions(in), &glk, &DG);
    if (DG.nerr || !p) return -1;
    tx_lookup lk = tx_interp_lookup(in);
    tx_tir_check(p, &lk, &DG);
    if (DG.nerr) return -1;
    return tx_interp_run(in, p, &DG);
}

#define RUN_OK(in, text) do { \
        int rc_ = run_src(in, text); \
        if (rc_ != 0) fail_msg("exit %d: %s", rc_, first_msg()); \
    } while (0)

/* the triple-wise attention of LANGUAGE.md against a direct C loop nest */
static void test_src_attention(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    RUN_OK(in,
           "let n = 7\n"
           "let d = 3\n"
           "Q  = randn(n, d, seed=1)\n"
           "K1 = randn(n, d, seed=2)\n"
           "K2 = randn(n, d, seed=3)\n"
           "V1 = randn(n, d, seed=4)\n"
           "V2 = randn(n, d, seed=5)\n"
           "A[i,j,k] = exp(sum[a](Q[i,a] * K1[j,a] * K2[k,a]) / d)\n"
           "D[i]     = A[i,j,k]\n"
           "O[i,b]   = A[i,j,k] * V1[j,b] * V2[k,b] / D[i]\n");
    enum { n = 7, d = 3 };
    const double *Q = tx_interp_get(in, "Q")->data, *K1 = tx_interp_get(in, "K1")->data,
                 *K2 = tx_interp_get(in, "K2")->data, *V1 = tx_interp_get(in, "V1")->data,
                 *V2 = tx_interp_get(in, "V2")->data;
    static double Am[n][n][n];
    for (int i = 0; i < n; i++) {
        double D = 0;
        for (int j = 0; j < n; j++)
            for (int k = 0; k < n; k++) {
                double s = 0;
                for (int a = 0; a < d; a++) s += Q[i * d + a] * K1[j * d + a] * K2[k * d + a];
                Am[i][j][k] = exp(s / d);
                D += Am[i][j][k];
            }
        assert_close(val(in, "D", i), D, 1e-13);
        for (int b = 0; b < d; b++) {
            double o = 0;
            for (int j = 0; j < n; j++)
                for (int k = 0; k < n; k++) o += Am[i][j][k] * V1[j * d + b] * V2[k * d + b] / D;
            assert_close(val(in, "O", i * d + b), o, 1e-12);
        }
    }
    assert_shape(in, "A", 3, (int64_t[]){ n, n, n });
    tx_interp_free(in);
}

/* index notation, affine subscripts, whole-tensor statements, functions,
 * loops: each program checks itself with assert */
static void test_src_programs(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    RUN_OK(in,
           "A = randn(4, 4, seed=1)\n"
           "B = randn(4, 6, seed=2)\n"
           "t = A[i,i]\n"
           "u = sum[i](A[i,i])\n"
           "assert t == u, \"trace\"\n"
           "C[i,j] = A[i,k] * B[k,j]\n"
           "E[i,j] = sum[k](A[i,k] * B[k,j])\n"
           "assert allclose(C, E), \"matmul\"\n"
           "T[j,i] = A[i,j]\n"
           "assert T[1,2] == A[2,1], \"transpose\"\n"
           "S = C + 2*E - 3\n"
           "assert allclose(S, 3*C - 3), \"whole-tensor arithmetic\"\n"
           "G = exp(-abs(S))\n"
           "assert max(G) <= 1, \"exp\"\n");
    RUN_OK(in,
           "X = arange(10)\n"
           "W = ones(3)\n"
           "Y[i] = X[i+k] * W[k]\n"
           "assert dim(Y, 0) == 8, \"valid size\"\n"
           "assert Y[0] == 3, \"valid values\"\n"
           "assert Y[7] == 24, \"valid values\"\n"
           "D[i] = X[i+1] - X[i-1]\n"
           "assert dim(D, 0) == 8, \"central difference\"\n"
           "assert D[0] == 2, \"central difference\"\n"
           "Z[i] = X[2*i+1]\n"
           "assert dim(Z, 0) == 5, \"stride 2\"\n"
           "assert Z[4] == 9, \"stride 2\"\n"
           "assert X[-1] == 9, \"from the end\"\n");
    tx_interp_free(in);
}

/* functions, loops, complex values, f32, printing, assert through the whole pipeline */
static void test_src_more(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    RUN_OK(in,
           "def center(A[n,d]) -> (C[n,d], mu[d]) {\n"
           "  mu[j] = sum[i](A[i,j]) / n\n"
           "  C[i,j] = A[i,j] - mu[j]\n"
           "}\n"
           "X = randn(5, 3, seed=7)\n"
           "Y, m = center(X)\n"
           "assert allclose(sum(Y), 0, atol=1e-12), \"centered\"\n"
           "assert dim(m, 0) == 3, \"mu\"\n"
           "s = 0\n"
           "for t in 0..10 { s = s + t }\n"
           "assert s == 45, \"loop\"\n"
           "V = zeros(4)\n"
           "for t in 1..4 { V[i] += (i == t) * t }\n"
           "assert V[3] == 3, \"loop +=\"\n"
           "assert V[0] == 0, \"loop +=\"\n"
           "Z = randn(4, seed=1) + 2j * randn(4, seed=2)\n"
           "W[i] = conj(Z[i]) * Z[i]\n"
           "assert max(abs(imag(W))) == 0, \"conj\"\n"
           "F = cast(X, \"f32\")\n"
           "G = 2 * F\n");
    assert_int_equal(tx_interp_get(in, "Z")->dtype, TXRT_C128);
    assert_int_equal(tx_interp_get(in, "G")->dtype, TXRT_F32);
    assert_int_equal(tx_interp_get(in, "W")->dtype, TXRT_C128);
    assert_null(tx_interp_get(in, "mu"));

    assert_int_equal(run_src(in, "x = 1\nassert x > 2, \"x too small\"\ny = 1\n"), 3);
    assert_string_equal(first_msg(), "assertion failed: x too small");
    assert_null(tx_interp_get(in, "y"));
    assert_non_null(tx_interp_get(in, "x"));
    tx_interp_free(in);

    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    in = tx_interp_new(mem);
    RUN_OK(in,
           "x = 3\n"
           "print \"x is\", x, \"and\", x + 0.5\n"
           "a = arange(3)\n"
           "print a\n"
           "print 1j, sum(a)\n");
    fclose(mem);
    assert_string_equal(buf, "x is 3.0 and 3.5\n[0. 1. 2.] f64[3]\n1j 3.0\n");
    free(buf);
    tx_interp_free(in);
}

/* shapes only known at run time (a loaded tensor) are checked before each
 * statement runs: compile errors (exit 1) that leave earlier bindings alone */
static void test_src_runtime_shapes(void **state) {
    char dir[] = "/tmp/txc_interp_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512], text[2048];
    snprintf(path, sizeof path, "%s/a.npy", dir);
    tx_interp *in = tx_interp_new(stdout);
    snprintf(text, sizeof text, "save(\"%s\", randn(3, 4, seed=1))\n", path);
    RUN_OK(in, text);

    snprintf(text, sizeof text, "A = load(\"%s\")\nB = randn(5, 2, seed=2)\nC[i,j] = A[i,k] * B[k,j]\n", path);
    assert_int_equal(run_src(in, text), 1);
    assert_non_null(strstr(first_msg(), "'k'"));
    assert_non_null(tx_interp_get(in, "A"));
    assert_null(tx_interp_get(in, "C"));

    snprintf(text, sizeof text, "A = load(\"%s\")\nB = randn(5, 2, seed=2)\nD = A + B\n", path);
    assert_int_equal(run_src(in, text), 1);
    assert_null(tx_interp_get(in, "D"));

    snprintf(text, sizeof text, "A = load(\"%s\")\nassert A, \"never\"\n", path);
    assert_int_equal(run_src(in, text), 1);
    assert_string_equal(first_msg(), "assert needs a scalar condition, got shape (3, 4)");

    snprintf(text, sizeof text, "A = load(\"%s\")\nS = reshape(A, 2, 6)\nT = reshape(A, 5)\n", path);
    assert_int_equal(run_src(in, text), 1);
    assert_non_null(tx_interp_get(in, "S"));
    assert_null(tx_interp_get(in, "T"));

    snprintf(text, sizeof text, "A = load(\"%s/none.npy\")\n", dir);
    assert_int_equal(run_src(in, text), 3);
    assert_int_equal(DG.head->sev, TX_RUNTIME_ERROR);
    remove(path);
    rmdir(dir);
    tx_interp_free(in);
}

/* elementwise semantics against numpy itself (skipped without numpy).
 * Arithmetic, comparisons, selection, sign, max/min and integer powers
 * must be bitwise numpy's (nan for nan); transcendental functions only to
 * a few ulps, because numpy uses its own SIMD (SVML) versions on AVX-512
 * machines where we call libm. */
static void test_numpy_elementwise(void **state) {
    const char *py = "/usr/bin/python3";
    if (access(py, X_OK) != 0) skip();
    static const char *exprs[][3] = {
        { "Z[i] ^ 3", "Z**3", "exact" },
        { "Z[i] ^ -2", "Z**-2", "exact" },
        { "Z[i] ^ 0.5", "Z**0.5", "ulps" },
        { "X[i] ^ 3", "X**3", "ulps" },
        { "abs(X[i]) ^ 0.3", "abs(X)**0.3", "ulps" },
        { "Z[i] / (X[i] + 2j)", "Z/(X+2j)", "exact" },
        { "Z[i] / 0", "Z/np.complex128(0)", "exact" },
        { "X[i] / 0", "X/0.0", "exact" },
        { "Z[i] * W[i] - X[i]", "Z*W - X", "exact" },
        { "sign(Z[i])", "np.sign(Z)", "exact" },
        { "sign(X[i])", "np.sign(X)", "exact" },
        { "max(Z[i], W[i])", "np.maximum(Z, W)", "exact" },
        { "min(Z[i], W[i])", "np.minimum(Z, W)", "exact" },
        { "Z[i] < W[i]", "(Z < W)*1.0", "exact" },
        { "Z[i] >= W[i]", "(Z >= W)*1.0", "exact" },
        { "Z[i] == W[i]", "(Z == W)*1.0", "exact" },
        { "exp(Z[i])", "np.exp(Z)", "ulps" },
        { "log(Z[i])", "np.log(Z)", "ulps" },
        { "sqrt(Z[i])", "np.sqrt(Z)", "ulps" },
        { "tanh(Z[i])", "np.tanh(Z)", "ulps" },
        { "sin(Z[i])", "np.sin(Z)", "ulps" },
        { "abs(Z[i])", "np.abs(Z)", "ulps" },
        { "log(X[i])", "np.log(X)", "ulps" },
        { "sigmoid(X[i])", "1/(1+np.exp(-X))", "ulps" },
        { "relu(X[i])", "np.maximum(X, 0)", "exact" },
        { "max(X[i], N[i])", "np.maximum(X, N)", "exact" },
        { "min(N[i], X[i])", "np.minimum(N, X)", "exact" },
        { "floor(X[i]) + ceil(X[i])", "np.floor(X) + np.ceil(X)", "exact" },
        { "where(X[i] > 0, X[i], -X[i] * 2)", "np.where(X > 0, X, -X*2)", "exact" },
        { "X[i] ^ N[i]", "X**N", "ulps" },
        { "real(Z[i]) * imag(W[i]) + real(conj(Z[i]) * 1j)", "Z.real*W.imag + (np.conj(Z)*1j).real", "exact" },
    };
    const int n = (int)(sizeof exprs / sizeof exprs[0]);
    char dir[] = "/tmp/txc_interp_XXXXXX";
    assert_non_null(mkdtemp(dir));
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap), *script = malloc(cap);
    len += (size_t)snprintf(text + len, cap - len,
                            "X = randn(64, seed=1) * 3\n"
                            "X[i] += (i == 5) * (0 - X[i])\n"   /* an exact 0 */
                            "Y = randn(64, seed=2)\n"
                            "Z[i] = X[i] + 1j * Y[i]\n"
                            "W[i] = where(i < 3, Z[i], Y[i] + 1j * X[i])\n"  /* some equal elements */
                            "N[i] = where(i == 7, 0 / 0, Y[i])\n"
                            "save(\"%s/X.npy\", X)\nsave(\"%s/Y.npy\", Y)\nsave(\"%s/N.npy\", N)\n",
                            dir, dir, dir);
    size_t slen = (size_t)snprintf(script, cap,
                                   "import numpy as np, sys\n"
                                   "np.seterr(all='ignore')\n"
                                   "d = '%s'\n"
                                   "X = np.load(d + '/X.npy'); Y = np.load(d + '/Y.npy'); N = np.load(d + '/N.npy')\n"
                                   "Z = X + 1j*Y; W = Y + 1j*X; W[:3] = Z[:3]\n"
                                   "bad = []\n", dir);
    for (int k = 0; k < n; k++) {
        len += (size_t)snprintf(text + len, cap - len, "R%d[i] = %s\nsave(\"%s/R%d.npy\", R%d)\n", k, exprs[k][0], dir,
                                k, k);
        slen += (size_t)snprintf(script + slen, cap - slen,
                                 "g = np.load(d + '/R%d.npy'); w = np.asarray(%s)\n"
                                 "if g.dtype != w.dtype or not (np.array_equal(g, w, equal_nan=True) if '%s' == 'exact' "
                                 "else np.allclose(g, w, rtol=4e-15, atol=0, equal_nan=True)): "
                                 "bad.append('%s: %%s vs %%s, max diff %%g' %% (g.dtype, w.dtype, "
                                 "np.nanmax(np.abs(g - w.astype(g.dtype)))))\n",
                                 k, exprs[k][1], exprs[k][2], exprs[k][1]);
    }
    slen += (size_t)snprintf(script + slen, cap - slen, "print('\\n'.join(bad) if bad else 'ok')\n");
    tx_interp *in = tx_interp_new(stdout);
    RUN_OK(in, text);
    tx_interp_free(in);
    char spath[600], cmd[1400];
    snprintf(spath, sizeof spath, "%s/check.py", dir);
    FILE *f = fopen(spath, "w");
    assert_non_null(f);
    fwrite(script, 1, slen, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s %s 2>&1; rm -rf %s", py, spath, dir);
    f = popen(cmd, "r");
    char out[8192] = "";
    size_t got = f ? fread(out, 1, sizeof out - 1, f) : 0;
    out[got] = 0;
    if (f) pclose(f);
    free(text);
    free(script);
    if (strstr(out, "No module named")) skip();
    if (strcmp(out, "ok\n") != 0) fail_msg("differs from numpy:\n%s", out);
}

/* a REPL session: names, lets and functions persist across units; a def
 * can be redefined; temporaries do not pile up */
static void test_src_repl(void **state) {
    tx_interp *in = tx_interp_new(stdout);
    RUN_OK(in, "def sq(X[n]) -> Y[n] { Y[i] = X[i]^2 }\nlet m = 4\nA = arange(m)\n");
    RUN_OK(in, "B = sq(A)\nassert B[3] == 9, \"sq\"\nr = A[m-1]\n");
    assert_true(val(in, "r", 0) == 3);
    RUN_OK(in, "def sq(X[n]) -> Y[n] { Y[i] = X[i]^3 }\nC = sq(A)\n");
    assert_true(val(in, "C", 3) == 27);
    assert_true(val(in, "B", 3) == 9);
    assert_int_equal(tx_interp_functions(in)->nfuncs, 1);
    RUN_OK(in, "A[2] + 1\n");
    assert_true(val(in, "_", 0) == 3);
    int n = 0;
    tx_interp_each(in, count_names, &n);
    assert_int_equal(n, 6);   /* A B C _ m r: no temporaries */
    tx_interp_free(in);
}

/* rough speed: C[i,j] = A[i,k]*B[k,j] at n = 96 */
static void test_speed(void **state) {
    const int64_t n = 96;
    tx_interp *in = tx_interp_new(stdout);
    bind(in, "A", make(TXRT_F64, 2, (int64_t[]){ n, n }, f_a));
    bind(in, "B", make(TXRT_F64, 2, (int64_t[]){ n, n }, f_b));
    tx_tir_stmt *s = D("C");
    int i = IDX("i"), j = IDX("j"), k = IDX("k");
    OUT(s, i, j);
    s->rhs = SUM(MUL(ACC("A", S(i), S(k)), ACC("B", S(k), S(j))), k);
    struct timespec t0, t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    assert_int_equal(run(in, PROG(s)), 0);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    double ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / (double)(n * n * n);
    print_message("matmul %lld^3: %.1f ns per multiply-add\n", (long long)n, ns);
    assert_true(ns < 1000);
    tx_interp_free(in);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_matmul, setup, teardown),
        cmocka_unit_test_setup_teardown(test_trace_transpose, setup, teardown),
        cmocka_unit_test_setup_teardown(test_affine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shadowed_reduction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reductions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_elementwise, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_f32, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accumulate_cow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_for, setup, teardown),
        cmocka_unit_test_setup_teardown(test_function, setup, teardown),
        cmocka_unit_test_setup_teardown(test_function_missing_result, setup, teardown),
        cmocka_unit_test_setup_teardown(test_assert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_construct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shape_builtins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whole_tensor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sum_matches_numpy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_load_save, setup, teardown),
        cmocka_unit_test_setup_teardown(test_print, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_src_attention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_src_programs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_src_more, setup, teardown),
        cmocka_unit_test_setup_teardown(test_src_runtime_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_src_repl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numpy_elementwise, setup, teardown),
        cmocka_unit_test_setup_teardown(test_speed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
