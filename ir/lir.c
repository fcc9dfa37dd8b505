/*
 * lir.c -- loop IR: typed constructors, the verifier, and the lowering of
 * one tensor definition (TIR DEF) to a kernel.
 *
 * Lowering is a direct walk of the right-hand side.  Output indices become
 * the outermost loops, in output order; the innermost output loop stores
 * the value of the right-hand side.  A REDUCE met while lowering an
 * expression emits, into the block being filled, an ACC_INIT and a loop
 * nest over its indices whose innermost body accumulates the reduced
 * body, and the expression itself becomes a read of the accumulator.  A
 * reduction nested in another one is met while filling the outer
 * reduction's loop body, so it nests there.  This is the naive loop nest;
 * choosing loop orders, hoisting invariant reductions and calling BLAS
 * belong to the planner and fuser, which build LIR with the same calls.
 *
 * Precision follows the reference evaluator (ir/interp.c), the oracle every
 * backend is tested against: values are computed in double (complex in
 * double pairs) whatever the storage dtype, and rounded once when stored
 * in the output's dtype.  So loads of f32/c64 tensors are widened right
 * away, and an f32 definition gives exactly the evaluator's values except
 * where reductions are reassociated.  (The typed constructors also know
 * numpy's value-based rules, for passes that want f32 arithmetic.)
 */
#include "ir/lir.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- dtypes ---------------------------------------------------------------- */

bool tx_lir_is_complex(txrt_dtype dt) { return dt == TXRT_C128 || dt == TXRT_C64; }

bool tx_lir_affine_same(const tx_lir_affine *a, const tx_lir_affine *b) {
    if (a->nterms != b->nterms || a->c0 != b->c0) return false;
    for (int k = 0; k < a->nterms; k++) {
        bool found = false;
        for (int q = 0; q < b->nterms && !found; q++) {
            if (a->var[k] != b->var[q] || a->coef[k] != b->coef[q]) continue;
            tx_lir_mono none = { 0, { 0 } };
            found = tx_lir_mono_eq(a->sym ? &a->sym[k] : &none, b->sym ? &b->sym[q] : &none);
        }
        if (!found) return false;
    }
    return true;
}

bool tx_lir_expr_loads(const tx_lir_expr *e, int buf) {
    if (!e) return false;
    if (e->kind == TX_LIR_LOAD && e->buf == buf) return true;
    return tx_lir_expr_loads(e->a, buf) || tx_lir_expr_loads(e->b, buf) || tx_lir_expr_loads(e->c, buf);
}

static int cmp_coef(const void *a, const void *b) {
    const int64_t *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

bool tx_lir_store_covers(const tx_lir_func *f, const tx_lir_stmt *st, const int *vars, const int64_t *lo,
                         const int64_t *ext, int depth) {
    if (depth > 16 || st->kind != TX_LIR_STORE || tx_lir_expr_loads(st->value, st->buf)) return false;
    const tx_lir_affine *a = &st->off;
    if (a->nterms != depth) return false;
    for (int k = 0; a->sym && k < a->nterms; k++)
        if (a->sym[k].n > 0) return false;
    int64_t t[16][2], c0 = a->c0;
    for (int q = 0; q < depth; q++) {
        int at = -1;
        for (int k = 0; k < a->nterms; k++)
            if (a->var[k] == vars[q]) at = k;
        if (at < 0 || a->coef[at] <= 0) return false;
        t[q][0] = a->coef[at];
        t[q][1] = ext[q];
        c0 += a->coef[at] * lo[q];
    }
    if (c0 != 0) return false;
    qsort(t, (size_t)depth, sizeof t[0], cmp_coef);
    int64_t span = 1;   /* mixed radix: each coefficient is the product of the extents below it */
    for (int q = 0; q < depth; q++) {
        if (t[q][0] != span) return false;
        span *= t[q][1];
    }
    return span == f->bufs[st->buf].size;
}

bool tx_lir_row_update(const tx_lir_func *f, const tx_lir_stmt *s, const tx_lir_expr **e) {
    if (s->kind != TX_LIR_STORE) return false;
    const tx_lir_buf *buf = &f->bufs[s->buf];
    const tx_lir_expr *v = s->value;
    if (!(buf->scratch || buf->local) || tx_lir_is_complex(buf->dtype) || !v || v->kind != TX_LIR_BINARY ||
        v->op != TX_TOP_ADD || v->dtype != buf->dtype || v->a->dtype != v->dtype || v->b->dtype != v->dtype)
        return false;
    for (int side = 0; side < 2; side++) {
        const tx_lir_expr *x = side ? v->b : v->a;
        if (x->kind == TX_LIR_LOAD && x->buf == s->buf && tx_lir_affine_same(&x->off, &s->off)) {
            if (e) *e = side ? v->a : v->b;
            return true;
        }
    }
    return false;
}

static bool is_single(txrt_dtype dt) { return dt == TXRT_F32 || dt == TXRT_C64; }

txrt_dtype tx_lir_real_of(txrt_dtype dt) {
    return dt == TXRT_C128 ? TXRT_F64 : dt == TXRT_C64 ? TXRT_F32 : dt;
}

static txrt_dtype make_dtype(bool cplx, bool single) {
    if (cplx) return single ? TXRT_C64 : TXRT_C128;
    return single ? TXRT_F32 : TXRT_F64;
}

txrt_dtype tx_lir_promote(txrt_dtype a, txrt_dtype b) {
    return make_dtype(tx_lir_is_complex(a) || tx_lir_is_complex(b), is_single(a) && is_single(b));
}

const char *tx_lir_dtype_name(txrt_dtype dt) {
    switch (dt) {
    case TXRT_F64: return "f64";
    case TXRT_F32: return "f32";
    case TXRT_C128: return "c128";
    case TXRT_C64: return "c64";
    }
    return "?";
}

double tx_lir_identity(tx_redop op) {
    switch (op) {
    case TX_RED_SUM: return 0.0;
    case TX_RED_PROD: return 1.0;
    case TX_RED_MAX: return -INFINITY;
    case TX_RED_MIN: return INFINITY;
    }
    return 0.0;
}

/* ---- functions, buffers, variables, accumulators --------------------------- */

tx_lir_func *tx_lir_func_new(tx_arena *a, const char *name) {
    tx_lir_func *f = TX_NEW(a, tx_lir_func);
    f->name = tx_arena_strdup(a, name ? name : "kernel");
    f->arena = a;
    return f;
}

#define GROW(f, arr, n, cap, T) TX_ARENA_RESERVE((f)->arena, arr, n, cap)

int tx_lir_add_buf(tx_lir_func *f, const char *name, txrt_dtype dt, int rank,
                   const int64_t *shape, bool output) {
    GROW(f, f->bufs, f->nbufs, f->capbufs, tx_lir_buf);
    tx_lir_buf *b = &f->bufs[f->nbufs];
    b->name = tx_arena_strdup(f->arena, name);
    b->dtype = dt;
    b->rank = rank;
    b->shape = TX_NEWN(f->arena, int64_t, rank > 0 ? rank : 1);
    b->strides = TX_NEWN(f->arena, int64_t, rank > 0 ? rank : 1);
    int64_t size = 1;
    for (int k = rank - 1; k >= 0; k--) {
        b->shape[k] = shape[k];
        b->strides[k] = size;
        /* unsigned: an empty tensor may have huge other sizes (0 x 2^32 x 2^32),
         * whose strides wrap harmlessly (no element is ever addressed) */
        size = (int64_t)((uint64_t)size * (uint64_t)shape[k]);
    }
    b->size = size;
    b->output = output;
    return f->nbufs++;
}

int tx_lir_add_var(tx_lir_func *f, const char *name) {
    GROW(f, f->vars, f->nvars, f->capvars, tx_lir_var);
    const char *base = name && *name ? name : "v";
    const char *nm = base;
    for (int n = 1;; n++) {
        bool taken = false;
        for (int k = 0; k < f->nvars && !taken; k++) taken = strcmp(f->vars[k].name, nm) == 0;
        if (!taken) break;
        nm = tx_arena_printf(f->arena, "%s.%d", base, n);
    }
    f->vars[f->nvars].name = tx_arena_strdup(f->arena, nm);
    return f->nvars++;
}

int tx_lir_add_acc(tx_lir_func *f, tx_redop op, txrt_dtype dt) {
    GROW(f, f->accs, f->naccs, f->capaccs, tx_lir_acc);
    f->accs[f->naccs].op = op;
    f->accs[f->naccs].dtype = dt;
    return f->naccs++;
}

/* ---- statements ---------------------------------------------------------- */

void tx_lir_insert(tx_lir_func *f, tx_lir_block *b, int k, tx_lir_stmt *s) {
    tx_lir_append(f, b, s);
    memmove(&b->stmts[k + 1], &b->stmts[k], sizeof *b->stmts * (size_t)(b->n - 1 - k));
    b->stmts[k] = s;
}

void tx_lir_append(tx_lir_func *f, tx_lir_block *b, tx_lir_stmt *s) {
    GROW(f, b->stmts, b->n, b->cap, tx_lir_stmt *);
    b->stmts[b->n++] = s;
}

static tx_lir_stmt *new_stmt(tx_lir_func *f, tx_lir_block *b, tx_lir_stmt_kind k) {
    tx_lir_stmt *s = TX_NEW(f->arena, tx_lir_stmt);
    s->kind = k;
    tx_lir_append(f, b, s);
    return s;
}

tx_lir_stmt *tx_lir_loop(tx_lir_func *f, tx_lir_block *b, int var, int64_t lo, int64_t extent) {
    tx_lir_stmt *s = new_stmt(f, b, TX_LIR_LOOP);
    s->var = var;
    s->lo = lo;
    s->extent = extent;
    return s;
}

void tx_lir_acc_init(tx_lir_func *f, tx_lir_block *b, int acc) {
    new_stmt(f, b, TX_LIR_ACC_INIT)->acc = acc;
}

void tx_lir_accum(tx_lir_func *f, tx_lir_block *b, int acc, tx_lir_expr *value) {
    tx_lir_stmt *s = new_stmt(f, b, TX_LIR_ACCUM);
    s->acc = acc;
    s->value = value;
}

tx_lir_stmt *tx_lir_store(tx_lir_func *f, tx_lir_block *b, int buf, tx_lir_affine off,
                          tx_lir_expr *value) {
    tx_lir_expr *v = tx_lir_cast(f, value, f->bufs[buf].dtype);
    if (!v) return NULL;
    tx_lir_stmt *s = new_stmt(f, b, TX_LIR_STORE);
    s->buf = buf;
    s->off = off;
    s->value = v;
    return s;
}

tx_lir_affine tx_lir_affine_make(tx_lir_func *f, int nterms, const int *var,
                                 const int64_t *coef, int64_t c0) {
    return tx_lir_affine_make_sym(f, nterms, var, coef, NULL, c0);
}

static const tx_lir_mono no_mono;

tx_lir_affine tx_lir_affine_make_sym(tx_lir_func *f, int nterms, const int *var, const int64_t *coef,
                                     const tx_lir_mono *sym, int64_t c0) {
    tx_lir_affine r = { 0, NULL, NULL, NULL, c0 };
    if (nterms <= 0) return r;
    bool any = false;
    for (int k = 0; sym && k < nterms; k++) any |= sym[k].n > 0;
    r.var = TX_NEWN(f->arena, int, nterms);
    r.coef = TX_NEWN(f->arena, int64_t, nterms);
    if (any) r.sym = TX_NEWN(f->arena, tx_lir_mono, nterms);
    for (int k = 0; k < nterms; k++) {
        const tx_lir_mono *m = any ? &sym[k] : &no_mono;
        int j = 0;
        while (j < r.nterms && !(r.var[j] == var[k] && (!any || tx_lir_mono_eq(&r.sym[j], m)))) j++;
        if (j == r.nterms) {
            r.var[j] = var[k];
            r.coef[j] = 0;
            if (any) r.sym[j] = *m;
            r.nterms++;
        }
        /* merged terms (X[i,i]) add strides, far below 2^63; computed unsigned so
         * that no input can make this addition undefined */
        r.coef[j] = (int64_t)((uint64_t)r.coef[j] + (uint64_t)coef[k]);
    }
    int n = 0;
    for (int k = 0; k < r.nterms; k++)
        if (r.coef[k] != 0) {
            r.var[n] = r.var[k];
            r.coef[n] = r.coef[k];
            if (any) r.sym[n] = r.sym[k];
            n++;
        }
    r.nterms = n;
    return r;
}

/* ---- symbolic sizes ------------------------------------------------------- */

void tx_lir_set_syms(tx_lir_func *f, int nsyms, const char *const *names) {
    f->nsyms = nsyms;
    f->sym_names = TX_NEWN(f->arena, const char *, nsyms > 0 ? nsyms : 1);
    for (int k = 0; k < nsyms; k++) f->sym_names[k] = tx_arena_strdup(f->arena, names[k]);
}

tx_lir_mono tx_lir_mono_mul(tx_lir_mono a, tx_lir_mono b) {
    tx_lir_mono r = a;
    for (int k = 0; k < b.n && r.n < TX_LIR_MAXF; k++) {   /* insertion keeps f sorted */
        int q = r.n++;
        while (q > 0 && r.f[q - 1] > b.f[k]) r.f[q] = r.f[q - 1], q--;
        r.f[q] = b.f[k];
    }
    return r;
}

bool tx_lir_mono_eq(const tx_lir_mono *a, const tx_lir_mono *b) {
    if (a->n != b->n) return false;
    for (int k = 0; k < a->n; k++)
        if (a->f[k] != b->f[k]) return false;
    return true;
}

bool tx_lir_mono_value(const tx_lir_mono *m, const int64_t *symval, int64_t *out) {
    int64_t v = 1;
    for (int k = 0; k < m->n; k++)
        if (__builtin_mul_overflow(v, symval[m->f[k]], &v)) return false;
    *out = v;
    return true;
}

int tx_lir_add_symbuf(tx_lir_func *f, const char *name, txrt_dtype dt, int rank, const int64_t *shape,
                      const int *symdim, bool output) {
    int nsym = 0;
    for (int k = 0; symdim && k < rank; k++) nsym += symdim[k] >= 0;
    if (nsym > TX_LIR_MAXF) return -1;   /* more symbolic axes than a monomial holds */
    int id = tx_lir_add_buf(f, name, dt, rank, shape, output);
    if (nsym == 0) return id;
    tx_lir_buf *b = &f->bufs[id];
    b->symdim = TX_NEWN(f->arena, int, rank);
    /* the constant part of the size and strides: product of the constant axes */
    int64_t size = 1;
    for (int k = rank - 1; k >= 0; k--) {
        b->symdim[k] = symdim[k];
        if (symdim[k] >= 0) {
            b->size_sym = tx_lir_mono_mul(b->size_sym, (tx_lir_mono){ 1, { (int8_t)symdim[k] } });
        } else {
            size = (int64_t)((uint64_t)size * (uint64_t)shape[k]);
        }
    }
    b->size = size;
    return id;
}

void tx_lir_buf_stride(const tx_lir_buf *b, int ax, int64_t *c, tx_lir_mono *m) {
    if (!b->symdim) {
        *c = b->strides[ax];
        *m = no_mono;
        return;
    }
    int64_t s = 1;
    tx_lir_mono r = no_mono;
    for (int k = b->rank - 1; k > ax; k--) {
        if (b->symdim[k] >= 0) r = tx_lir_mono_mul(r, (tx_lir_mono){ 1, { (int8_t)b->symdim[k] } });
        else s = (int64_t)((uint64_t)s * (uint64_t)b->shape[k]);
    }
    *c = s;
    *m = r;
}

/* ---- expressions --------------------------------------------------------- */

static tx_lir_expr *new_expr(tx_lir_func *f, tx_lir_expr_kind k, txrt_dtype dt) {
    tx_lir_expr *e = TX_NEW(f->arena, tx_lir_expr);
    e->kind = k;
    e->dtype = dt;
    return e;
}

/* Round a constant to the precision of dt, so the printed text and the
 * generated code agree on the exact value. */
static void round_const(txrt_dtype dt, double *re, double *im) {
    if (is_single(dt)) {
        *re = (double)(float)*re;
        *im = (double)(float)*im;
    }
    if (!tx_lir_is_complex(dt)) *im = 0.0;
}

tx_lir_expr *tx_lir_const(tx_lir_func *f, txrt_dtype dt, double re, double im) {
    tx_lir_expr *e = new_expr(f, TX_LIR_CONST, dt);
    round_const(dt, &re, &im);
    e->re = re;
    e->im = im;
    return e;
}

tx_lir_expr *tx_lir_index(tx_lir_func *f, int var) {
    tx_lir_expr *e = new_expr(f, TX_LIR_INDEX, TXRT_F64);
    e->var = var;
    return e;
}

tx_lir_expr *tx_lir_load(tx_lir_func *f, int buf, tx_lir_affine off) {
    tx_lir_expr *e = new_expr(f, TX_LIR_LOAD, f->bufs[buf].dtype);
    e->weight = f->bufs[buf].rank == 0 ? 1 : 2;
    e->buf = buf;
    e->off = off;
    return e;
}

tx_lir_expr *tx_lir_accref(tx_lir_func *f, int acc) {
    tx_lir_expr *e = new_expr(f, TX_LIR_ACC, f->accs[acc].dtype);
    e->weight = f->accs[acc].weight;
    e->acc = acc;
    return e;
}

tx_lir_expr *tx_lir_cast(tx_lir_func *f, tx_lir_expr *a, txrt_dtype dt) {
    if (!a) return NULL;
    if (a->dtype == dt) return a;
    if (tx_lir_is_complex(a->dtype) && !tx_lir_is_complex(dt)) return NULL;
    if (a->kind == TX_LIR_CONST) return tx_lir_const(f, dt, a->re, a->im);
    tx_lir_expr *e = new_expr(f, TX_LIR_CAST, dt);
    e->weight = a->weight;
    e->a = a;
    return e;
}

tx_lir_expr *tx_lir_const_of(tx_lir_func *f, const tx_tir_expr *e) {
    if (e->kind == TX_TIR_CONST) {
        bool cplx = e->is_complex || e->im != 0;
        return tx_lir_const(f, cplx ? TXRT_C128 : TXRT_F64, e->re, cplx ? e->im : 0);
    }
    if (e->kind != TX_TIR_ACCESS || !e->let_const || e->nsubs != 0) return NULL;
    tx_lir_expr *c = tx_lir_const(f, TXRT_F64, e->re, 0);
    c->weight = 1;
    return c;
}

/* The dtype two operands are combined in (ir/check.c's dty_combine). */
static txrt_dtype common_dtype(const tx_lir_expr *a, const tx_lir_expr *b) {
    if (a->weight == b->weight) return tx_lir_promote(a->dtype, b->dtype);
    const tx_lir_expr *hi = a->weight > b->weight ? a : b;
    return make_dtype(tx_lir_is_complex(a->dtype) || tx_lir_is_complex(b->dtype), is_single(hi->dtype));
}

static int max_weight(const tx_lir_expr *a, const tx_lir_expr *b) {
    return a->weight > b->weight ? a->weight : b->weight;
}

static bool op_is_binary(tx_tir_op op) { return op >= TX_TOP_ADD && op <= TX_TOP_MIN2; }

tx_lir_expr *tx_lir_unary(tx_lir_func *f, tx_tir_op op, tx_lir_expr *a) {
    if (!a || op_is_binary(op)) return NULL;
    bool cplx = tx_lir_is_complex(a->dtype);
    txrt_dtype dt = a->dtype;
    switch (op) {
    case TX_TOP_NEG: case TX_TOP_EXP: case TX_TOP_LOG: case TX_TOP_SQRT:
    case TX_TOP_SIN: case TX_TOP_COS: case TX_TOP_TAN: case TX_TOP_TANH:
    case TX_TOP_CONJ: case TX_TOP_SIGMOID:
        break;
    case TX_TOP_ABS: case TX_TOP_REAL: case TX_TOP_IMAG:
        dt = tx_lir_real_of(a->dtype);
        break;
    case TX_TOP_RELU: case TX_TOP_SIGN: case TX_TOP_FLOOR: case TX_TOP_CEIL:
        break;      /* complex: numpy's lexicographic order; floor/ceil per part */
    default:
        return NULL;
    }
    if (a->kind == TX_LIR_CONST && !cplx && op == TX_TOP_NEG) return tx_lir_const(f, dt, -a->re, 0);
    tx_lir_expr *e = new_expr(f, TX_LIR_UNARY, dt);
    e->weight = a->weight;
    e->op = op;
    e->a = a;
    return e;
}

tx_lir_expr *tx_lir_binary(tx_lir_func *f, tx_tir_op op, tx_lir_expr *a, tx_lir_expr *b) {
    if (!a || !b || !op_is_binary(op)) return NULL;
    txrt_dtype dt = common_dtype(a, b);
    txrt_dtype rdt = dt;
    switch (op) {
    case TX_TOP_ADD: case TX_TOP_SUB: case TX_TOP_MUL: case TX_TOP_DIV: case TX_TOP_POW:
        break;
    case TX_TOP_EQ: case TX_TOP_NE:
    case TX_TOP_LT: case TX_TOP_LE: case TX_TOP_GT: case TX_TOP_GE:
        rdt = tx_lir_real_of(dt);   /* complex operands compare lexicographically */
        break;
    case TX_TOP_MAX2: case TX_TOP_MIN2:
        break;
    default:
        return NULL;
    }
    tx_lir_expr *e = new_expr(f, TX_LIR_BINARY, rdt);
    e->weight = max_weight(a, b);
    e->op = op;
    e->a = tx_lir_cast(f, a, dt);
    e->b = tx_lir_cast(f, b, dt);
    return e;
}

tx_lir_expr *tx_lir_select(tx_lir_func *f, tx_lir_expr *cond, tx_lir_expr *a, tx_lir_expr *b) {
    if (!cond || !a || !b) return NULL;
    txrt_dtype dt = common_dtype(a, b);
    tx_lir_expr *e = new_expr(f, TX_LIR_SELECT, dt);
    e->weight = max_weight(a, b);
    e->a = cond;
    e->b = tx_lir_cast(f, a, dt);
    e->c = tx_lir_cast(f, b, dt);
    return e;
}

/* ---- verifier ------------------------------------------------------------ */

typedef struct vstate {
    const tx_lir_func *f;
    int64_t *lo, *hi;     /* per variable, while in scope: value range */
    bool *inscope;
    bool *inited;
    int empty;            /* enclosing loops with no iterations */
    const int64_t *symval; /* sample values of the run-time sizes (size-generic kernels) */
    const char *why;
} vstate;

static bool vfail(vstate *v, const char *msg);

/* c times the monomial m at the sample sizes; false on overflow. */
static bool sym_times(vstate *v, int64_t c, const tx_lir_mono *m, int64_t *out) {
    int64_t p;
    if (!m || m->n == 0) return *out = c, true;
    for (int k = 0; k < m->n; k++)
        if (m->f[k] < 0 || m->f[k] >= v->f->nsyms) return vfail(v, "an unknown size symbol");
    if (!tx_lir_mono_value(m, v->symval, &p) || __builtin_mul_overflow(c, p, out)) return vfail(v, "size overflows");
    return true;
}

static bool vfail(vstate *v, const char *msg) {
    if (!v->why) v->why = msg;
    return false;
}

/* The range of an affine offset over the in-scope variables. */
static bool affine_range(vstate *v, const tx_lir_affine *o, int64_t *mn, int64_t *mx) {
    int64_t lo = o->c0, hi = o->c0;
    for (int k = 0; k < o->nterms; k++) {
        int x = o->var[k];
        int64_t coef, xlo = 1, xhi = 1;   /* var -1: a run-time constant term */
        if (!sym_times(v, o->coef[k], o->sym ? &o->sym[k] : NULL, &coef)) return false;
        if (x == -1 && o->sym && o->sym[k].n > 0) {
        } else if (x < 0 || x >= v->f->nvars || !v->inscope[x]) {
            return vfail(v, tx_arena_printf(v->f->arena, "variable %d used outside its loop", x));
        } else {
            xlo = v->lo[x], xhi = v->hi[x];
        }
        int64_t a, b;
        if (__builtin_mul_overflow(coef, xlo, &a) ||
            __builtin_mul_overflow(coef, xhi, &b))
            return vfail(v, "offset overflows");
        if (a > b) { int64_t t = a; a = b; b = t; }
        if (__builtin_add_overflow(lo, a, &lo) || __builtin_add_overflow(hi, b, &hi))
            return vfail(v, "offset overflows");
    }
    *mn = lo;
    *mx = hi;
    return true;
}

static bool check_access(vstate *v, int buf, const tx_lir_affine *off) {
    if (buf < 0 || buf >= v->f->nbufs) return vfail(v, "no such buffer");
    int64_t mn, mx;
    if (!affine_range(v, off, &mn, &mx)) return false;
    if (v->empty) return true;    /* never executed */
    const tx_lir_buf *b = &v->f->bufs[buf];
    int64_t size;
    if (!sym_times(v, b->size, &b->size_sym, &size)) return false;
    if (mn < 0 || mx >= size)
        return vfail(v, tx_arena_printf(v->f->arena,
                                        "access to %s at offsets %lld..%lld outside its %lld elements",
                                        b->name, (long long)mn, (long long)mx, (long long)size));
    return true;
}

static bool verify_expr(vstate *v, const tx_lir_expr *e) {
    if (!e) return vfail(v, "missing expression");
    switch (e->kind) {
    case TX_LIR_CONST:
        return true;
    case TX_LIR_INDEX:
        if (e->var < 0 || e->var >= v->f->nvars || !v->inscope[e->var])
            return vfail(v, "index value outside its loop");
        return true;
    case TX_LIR_LOAD:
        if (e->buf >= 0 && e->buf < v->f->nbufs && e->dtype != v->f->bufs[e->buf].dtype)
            return vfail(v, "load with the wrong dtype");
        return check_access(v, e->buf, &e->off);
    case TX_LIR_ACC:
        if (e->acc < 0 || e->acc >= v->f->naccs || !v->inited[e->acc])
            return vfail(v, "accumulator read before it is initialised");
        if (e->dtype != v->f->accs[e->acc].dtype) return vfail(v, "accumulator read with the wrong dtype");
        return true;
    case TX_LIR_UNARY:
    case TX_LIR_CAST:
        return verify_expr(v, e->a);
    case TX_LIR_BINARY:
        if (e->a->dtype != e->b->dtype) return vfail(v, "binary operands of different dtypes");
        return verify_expr(v, e->a) && verify_expr(v, e->b);
    case TX_LIR_SELECT:
        if (e->b->dtype != e->dtype || e->c->dtype != e->dtype)
            return vfail(v, "select operands of different dtypes");
        return verify_expr(v, e->a) && verify_expr(v, e->b) && verify_expr(v, e->c);
    }
    return vfail(v, "unknown expression kind");
}

static bool verify_block(vstate *v, const tx_lir_block *b) {
    for (int k = 0; k < b->n; k++) {
        const tx_lir_stmt *s = b->stmts[k];
        switch (s->kind) {
        case TX_LIR_LOOP: {
            int x = s->var;
            if (x < 0 || x >= v->f->nvars) return vfail(v, "loop over an unknown variable");
            if (v->inscope[x]) return vfail(v, "loop variable rebound inside its own loop");
            if (s->extent < 0) return vfail(v, "loop with a negative extent");
            int64_t ext;
            if (!sym_times(v, s->extent, &s->sym_extent, &ext)) return false;
            if (s->sym_extent.n > 0 && (s->parallel || s->private_bufs))
                return vfail(v, "a loop of run-time extent marked parallel");
            v->inscope[x] = true;
            v->lo[x] = s->lo;
            v->hi[x] = s->lo + (ext > 0 ? ext - 1 : 0);
            if (ext == 0) v->empty++;
            bool ok = verify_block(v, &s->body);
            if (ext == 0) v->empty--;
            v->inscope[x] = false;
            if (!ok) return false;
            break;
        }
        case TX_LIR_ACC_INIT:
            if (s->acc < 0 || s->acc >= v->f->naccs) return vfail(v, "unknown accumulator");
            v->inited[s->acc] = true;
            break;
        case TX_LIR_ACCUM:
            if (s->acc < 0 || s->acc >= v->f->naccs || !v->inited[s->acc])
                return vfail(v, "accumulation before initialisation");
            if (s->value->dtype != v->f->accs[s->acc].dtype)
                return vfail(v, "accumulated value of the wrong dtype");
            if (!verify_expr(v, s->value)) return false;
            break;
        case TX_LIR_STORE:
            if (s->buf < 0 || s->buf >= v->f->nbufs) return vfail(v, "store to an unknown buffer");
            if (s->value->dtype != v->f->bufs[s->buf].dtype)
                return vfail(v, "stored value of the wrong dtype");
            if (!verify_expr(v, s->value) || !check_access(v, s->buf, &s->off)) return false;
            break;
        }
    }
    return true;
}

bool tx_lir_verify(const tx_lir_func *f, const char **why) {
    vstate v = { .f = f };
    int nv = f->nvars > 0 ? f->nvars : 1, na = f->naccs > 0 ? f->naccs : 1;
    v.lo = calloc((size_t)nv, sizeof(int64_t));
    v.hi = calloc((size_t)nv, sizeof(int64_t));
    v.inscope = calloc((size_t)nv, sizeof(bool));
    v.inited = calloc((size_t)na, sizeof(bool));
    bool ok = v.lo && v.hi && v.inscope && v.inited;
    if (!ok) v.why = "out of memory";
    else if (f->nsyms == 0) ok = verify_block(&v, &f->body);
    else {
        /* sample sizes: all 1, distinct small primes, all equal, zero-free */
        int64_t *sv = calloc((size_t)f->nsyms, sizeof *sv);
        static const int64_t primes[] = { 3, 5, 7, 11, 13, 17, 19, 23 };
        for (int round = 0; ok && round < 3; round++) {
            if (!sv) { ok = false, v.why = "out of memory"; break; }
            for (int k = 0; k < f->nsyms; k++)
                sv[k] = round == 0 ? 1 : round == 1 ? primes[k % 8] + 24 * (k / 8) : 6;
            for (int k = 0; k < f->nvars; k++) v.inscope[k] = false;
            for (int k = 0; k < f->naccs; k++) v.inited[k] = false;
            v.symval = sv;
            ok = verify_block(&v, &f->body);
        }
        free(sv);
    }
    free(v.lo);
    free(v.hi);
    free(v.inscope);
    free(v.inited);
    if (!ok && why) *why = v.why;
    return ok;
}

/* ---- lowering from TIR ------------------------------------------------------ */

typedef struct lower {
    tx_lir_func *f;
    const tx_tir_stmt *def;
    const tx_lookup *lk;
    bool *inscope;        /* per TIR index id (= LIR variable id) */
    int *isym;            /* per TIR index id: the run-time size it ranges over, or -1 */
    const char *why;
} lower;

static tx_lir_expr *lfail(lower *L, const char *msg) {
    if (!L->why) L->why = msg;
    return NULL;
}

/* The buffer of tensor `name`, added on first use. */
static int buf_of(lower *L, const char *name) {
    for (int k = 1; k < L->f->nbufs; k++)
        if (strcmp(L->f->bufs[k].name, name) == 0) return k;
    tx_varinfo vi;
    memset(&vi, 0, sizeof vi);
    if (!L->lk || !L->lk->get || !L->lk->get(L->lk->self, name, &vi)) {
        lfail(L, tx_arena_printf(L->f->arena, "tensor %s is not bound", name));
        return -1;
    }
    const tx_type *t = &vi.type;
    if (t->dtype < 0 || t->dtype > TXRT_C64 || t->rank < 0 || t->rank > TXRT_MAX_RANK) {
        lfail(L, tx_arena_printf(L->f->arena, "the type of %s is unknown", name));
        return -1;
    }
    for (int k = 0; k < t->rank; k++)
        if (t->dims[k] < 0) {
            lfail(L, tx_arena_printf(L->f->arena, "the shape of %s is unknown", name));
            return -1;
        }
    int b = tx_lir_add_symbuf(L->f, name, (txrt_dtype)t->dtype, t->rank, t->dims, vi.symdim, false);
    if (b < 0) lfail(L, tx_arena_printf(L->f->arena, "%s has more than %d axes of run-time size", name, TX_LIR_MAXF));
    return b;
}

static bool var_ok(lower *L, int id) {
    if (id < 0 || id >= L->def->nindices || !L->inscope[id]) {
        lfail(L, "an index is used outside the loops that bind it");
        return false;
    }
    return true;
}

/* Single precision values are computed in double (see the top of the file). */
static tx_lir_expr *widen(tx_lir_func *f, tx_lir_expr *e) {
    if (e->dtype == TXRT_F32) return tx_lir_cast(f, e, TXRT_F64);
    if (e->dtype == TXRT_C64) return tx_lir_cast(f, e, TXRT_C128);
    return e;
}

static tx_lir_expr *lower_access(lower *L, const tx_tir_expr *e) {
    int b = buf_of(L, e->var);
    if (b < 0) return NULL;
    const tx_lir_buf *B = &L->f->bufs[b];
    if (e->whole || e->nsubs == 0) {
        if (B->rank != 0)
            return lfail(L, tx_arena_printf(L->f->arena, "%s has rank %d but is used as a scalar",
                                            B->name, B->rank));
        return widen(L->f, tx_lir_load(L->f, b, tx_lir_affine_make(L->f, 0, NULL, NULL, 0)));
    }
    if (e->nsubs != B->rank)
        return lfail(L, tx_arena_printf(L->f->arena, "%s has rank %d but %d subscripts",
                                        B->name, B->rank, e->nsubs));
    int nt = 0;
    for (int ax = 0; ax < e->nsubs; ax++) nt += e->subs[ax].nterms + 1;
    int *vars = TX_NEWN(L->f->arena, int, nt > 0 ? nt : 1);
    int64_t *coefs = TX_NEWN(L->f->arena, int64_t, nt > 0 ? nt : 1);
    tx_lir_mono *monos = TX_NEWN(L->f->arena, tx_lir_mono, nt > 0 ? nt : 1);
    int64_t c0 = 0;
    nt = 0;
    for (int ax = 0; ax < e->nsubs; ax++) {
        const tx_tir_affine *s = &e->subs[ax];
        int64_t dim = B->shape[ax], k0 = s->c0, stride;
        tx_lir_mono smono;
        tx_lir_buf_stride(B, ax, &stride, &smono);
        bool symaxis = B->symdim && B->symdim[ax] >= 0;
        if (symaxis) {
            /* a plain index over the same run-time size (checked by sym_prepass):
             * in bounds for every size, nothing to check here */
        } else {
            if (s->nterms == 0 && k0 < 0) k0 += dim; /* A[-1] counts from the end */
            /* this axis's subscript range must lie inside [0, dim) */
            int64_t lo = k0, hi = k0;
            bool empty = false;
            for (int t = 0; t < s->nterms; t++) {
                int id = s->idx[t];
                if (!var_ok(L, id)) return NULL;
                const tx_tir_index *ix = &L->def->indices[id];
                if (ix->extent <= 0) { empty = true; continue; }
                int64_t a, z;
                if (__builtin_mul_overflow(s->coef[t], ix->lo, &a) ||
                    __builtin_mul_overflow(s->coef[t], ix->lo + ix->extent - 1, &z) ||
                    __builtin_add_overflow(lo, a < z ? a : z, &lo) || __builtin_add_overflow(hi, a < z ? z : a, &hi))
                    return lfail(L, "subscript arithmetic overflows 64 bits");
            }
            if (!empty && (lo < 0 || hi >= dim))
                return lfail(L, tx_arena_printf(L->f->arena,
                                                "subscript %d of %s ranges over %lld..%lld outside 0..%lld",
                                                ax, B->name, (long long)lo, (long long)hi,
                                                (long long)dim - 1));
        }
        for (int t = 0; t < s->nterms; t++) {
            if (!var_ok(L, s->idx[t])) return NULL;
            vars[nt] = s->idx[t];
            monos[nt] = smono;
            if (__builtin_mul_overflow(s->coef[t], stride, &coefs[nt]))
                return lfail(L, "subscript arithmetic overflows 64 bits");
            nt++;
        }
        int64_t k0s;
        if (__builtin_mul_overflow(k0, stride, &k0s)) return lfail(L, "subscript arithmetic overflows 64 bits");
        if (smono.n > 0) {   /* k0 times a run-time stride: a term without a variable */
            if (k0s != 0) vars[nt] = -1, coefs[nt] = k0s, monos[nt] = smono, nt++;
        } else if (__builtin_add_overflow(c0, k0s, &c0)) {
            return lfail(L, "subscript arithmetic overflows 64 bits");
        }
    }
    return widen(L->f, tx_lir_load(L->f, b, tx_lir_affine_make_sym(L->f, nt, vars, coefs, monos, c0)));
}

/* Size-generic lowering (tensors whose lookup gives symdim): which run-time
 * size each index ranges over.  Only what is in bounds for every size is
 * accepted: on an axis of run-time size n the subscript must be a plain
 * index (no offset, no stride, no constant), that index then ranges over
 * exactly n (an index cannot stand for two different sizes -- the caller
 * unifies sizes that must be equal first), and it may not also subscript
 * an axis of constant extent.  Returns false with L->why otherwise. */
static bool sym_prepass(lower *L, const tx_tir_expr *e, bool *on_const) {
    if (!e) return true;
    if (e->kind == TX_TIR_ACCESS && e->var && e->nsubs > 0 && !e->whole) {
        tx_varinfo vi;
        memset(&vi, 0, sizeof vi);
        if (L->lk && L->lk->get && L->lk->get(L->lk->self, e->var, &vi) && vi.type.rank == e->nsubs) {
            for (int ax = 0; ax < e->nsubs; ax++) {
                const tx_tir_affine *s = &e->subs[ax];
                int sym = vi.symdim ? vi.symdim[ax] : -1;
                if (sym < 0) {
                    for (int t = 0; t < s->nterms; t++)
                        if (s->idx[t] >= 0 && s->idx[t] < L->def->nindices) on_const[s->idx[t]] = true;
                    continue;
                }
                const char *sn = sym < L->f->nsyms ? L->f->sym_names[sym] : "?";
                if (s->nterms != 1 || s->coef[0] != 1 || s->c0 != 0 || s->idx[0] < 0 ||
                    s->idx[0] >= L->def->nindices) {
                    L->why = tx_arena_printf(L->f->arena,
                                             "subscript %d of %s is not a plain index, but the axis has the "
                                             "run-time size '%s' (only X[i, j] subscripts are generic)",
                                             ax, e->var, sn);
                    return false;
                }
                int id = s->idx[0];
                if (L->isym[id] >= 0 && L->isym[id] != sym) {
                    L->why = tx_arena_printf(L->f->arena, "index %s ranges over both '%s' and '%s'",
                                             L->def->indices[id].name, L->f->sym_names[L->isym[id]], sn);
                    return false;
                }
                L->isym[id] = sym;
            }
        }
    }
    return sym_prepass(L, e->a, on_const) && sym_prepass(L, e->b, on_const) && sym_prepass(L, e->c, on_const);
}

/* A loop over TIR index id (run-time extent when the index has a size). */
static tx_lir_stmt *index_loop(lower *L, tx_lir_block *blk, int id) {
    const tx_tir_index *ix = &L->def->indices[id];
    if (L->isym[id] < 0) return tx_lir_loop(L->f, blk, id, ix->lo, ix->extent);
    tx_lir_stmt *s = tx_lir_loop(L->f, blk, id, 0, 1);
    s->sym_extent = (tx_lir_mono){ 1, { (int8_t)L->isym[id] } };
    return s;
}

static tx_lir_expr *lower_expr(lower *L, const tx_tir_expr *e, tx_lir_block *blk);

static tx_lir_expr *lower_reduce(lower *L, const tx_tir_expr *e, tx_lir_block *blk) {
    tx_lir_func *f = L->f;
    int acc = tx_lir_add_acc(f, e->redop, TXRT_F64); /* dtype fixed once the body is typed */
    tx_lir_acc_init(f, blk, acc);
    tx_lir_block *cur = blk;
    for (int k = 0; k < e->nidx; k++) {
        int id = e->idx[k];
        if (id < 0 || id >= L->def->nindices) return lfail(L, "a reduction binds an unknown index");
        if (L->inscope[id]) return lfail(L, "a reduction rebinds an index that is already bound");
        const tx_tir_index *ix = &L->def->indices[id];
        if (ix->extent < 0)
            return lfail(L, tx_arena_printf(f->arena, "the range of index %s is unknown", ix->name));
        cur = &index_loop(L, cur, id)->body;
        L->inscope[id] = true;
    }
    tx_lir_expr *v = lower_expr(L, e->a, cur);
    for (int k = 0; k < e->nidx; k++) L->inscope[e->idx[k]] = false;
    if (!v) return NULL;
    f->accs[acc].dtype = v->dtype;
    f->accs[acc].weight = v->weight;
    tx_lir_accum(f, cur, acc, v);
    return tx_lir_accref(f, acc);
}

static tx_lir_expr *lower_expr(lower *L, const tx_tir_expr *e, tx_lir_block *blk) {
    if (!e) return lfail(L, "missing operand");
    tx_lir_func *f = L->f;
    tx_lir_expr *a, *b, *c, *r;
    switch (e->kind) {
    case TX_TIR_CONST:
        return tx_lir_const_of(f, e);
    case TX_TIR_INDEX:
        if (!var_ok(L, e->index)) return NULL;
        return tx_lir_index(f, e->index);
    case TX_TIR_ACCESS:
        if (e->let_const && e->nsubs == 0) return tx_lir_const_of(f, e);
        return lower_access(L, e);
    case TX_TIR_UNARY:
        if (!(a = lower_expr(L, e->a, blk))) return NULL;
        if (!(r = tx_lir_unary(f, e->op, a)))
            return lfail(L, tx_arena_printf(f->arena, "%s is not defined for %s", tx_lir_op_name(e->op),
                                            tx_lir_dtype_name(a->dtype)));
        return r;
    case TX_TIR_BINARY:
        if (!(a = lower_expr(L, e->a, blk)) || !(b = lower_expr(L, e->b, blk))) return NULL;
        if (!(r = tx_lir_binary(f, e->op, a, b)))
            return lfail(L, tx_arena_printf(f->arena, "%s is not defined for %s and %s",
                                            tx_lir_op_name(e->op), tx_lir_dtype_name(a->dtype),
                                            tx_lir_dtype_name(b->dtype)));
        return r;
    case TX_TIR_WHERE:
        if (!(a = lower_expr(L, e->a, blk)) || !(b = lower_expr(L, e->b, blk)) ||
            !(c = lower_expr(L, e->c, blk)))
            return NULL;
        return tx_lir_select(f, a, b, c);
    case TX_TIR_REDUCE:
        return lower_reduce(L, e, blk);
    case TX_TIR_STRING:
        return lfail(L, "a string in an expression");
    }
    return lfail(L, "unknown expression kind");
}

tx_lir_func *tx_lir_from_def(tx_arena *a, const tx_tir_stmt *def, const tx_type *out,
                             const tx_lookup *lk, const char **why) {
    return tx_lir_from_def_sym(a, def, out, lk, 0, NULL, why);
}

tx_lir_func *tx_lir_from_def_sym(tx_arena *a, const tx_tir_stmt *def, const tx_type *out, const tx_lookup *lk,
                                 int nsyms, const char *const *sym_names, const char **why) {
    const char *dummy;
    if (!why) why = &dummy;
    *why = NULL;
    if (!def || def->kind != TX_TIR_DEF || !def->rhs) return *why = "not a definition", NULL;
    if (def->ellipsis) return *why = "whole-tensor definition not expanded", NULL;
    if (!out || out->dtype < 0 || out->dtype > TXRT_C64 || out->rank != def->nout)
        return *why = "the output type does not match the definition", NULL;
    tx_lir_func *f = tx_lir_func_new(a, def->out);
    lower L = { .f = f, .def = def, .lk = lk };
    L.inscope = TX_NEWN(a, bool, def->nindices > 0 ? def->nindices : 1);
    L.isym = TX_NEWN(a, int, def->nindices > 0 ? def->nindices : 1);
    for (int k = 0; k < def->nindices; k++) L.isym[k] = -1;
    /* LIR variable k is TIR index k */
    for (int k = 0; k < def->nindices; k++) tx_lir_add_var(f, def->indices[k].name);
    if (nsyms > 0) {
        tx_lir_set_syms(f, nsyms, sym_names);
        bool *on_const = TX_NEWN(a, bool, def->nindices > 0 ? def->nindices : 1);
        if (!sym_prepass(&L, def->rhs, on_const)) return *why = L.why, NULL;
        for (int k = 0; k < def->nindices; k++) {
            if (L.isym[k] < 0) continue;
            if (on_const[k])
                return *why = tx_arena_printf(a, "index %s ranges over the run-time size '%s' but also subscripts "
                                              "an axis of constant extent", def->indices[k].name,
                                              sym_names[L.isym[k]]), NULL;
            if (def->indices[k].lo != 0)
                return *why = tx_arena_printf(a, "index %s does not start at 0", def->indices[k].name), NULL;
        }
    }
    int osym[TXRT_MAX_RANK];
    for (int k = 0; k < def->nout && k < TXRT_MAX_RANK; k++) {
        int id = def->out_idx[k];
        osym[k] = id >= 0 && id < def->nindices ? L.isym[id] : -1;
    }
    if (tx_lir_add_symbuf(f, def->out, (txrt_dtype)out->dtype, out->rank, out->dims, osym, true) < 0)
        return *why = "the output has too many axes of run-time size", NULL;

    tx_lir_block *cur = &f->body;
    int n = def->nout;
    int *vars = TX_NEWN(a, int, 2 * n + 1);
    int64_t *coef = TX_NEWN(a, int64_t, 2 * n + 1);
    tx_lir_mono *monos = TX_NEWN(a, tx_lir_mono, 2 * n + 1);
    int nt = 0;
    int64_t c0 = 0;
    for (int k = 0; k < def->nout; k++) {
        int id = def->out_idx[k];
        if (id < 0 || id >= def->nindices) return *why = "an output index is unknown", NULL;
        if (L.inscope[id]) return *why = "an output index is repeated", NULL;
        const tx_tir_index *ix = &def->indices[id];
        if (ix->extent < 0)
            return *why = tx_arena_printf(a, "the range of index %s is unknown", ix->name), NULL;
        if (ix->extent != out->dims[k])
            return *why = tx_arena_printf(a, "index %s has %lld values but the output axis %lld",
                                          ix->name, (long long)ix->extent, (long long)out->dims[k]),
                   NULL;
        cur = &index_loop(&L, cur, id)->body;
        L.inscope[id] = true;
        int64_t st;
        tx_lir_mono sm;
        tx_lir_buf_stride(&f->bufs[0], k, &st, &sm);
        vars[nt] = id, coef[nt] = st, monos[nt] = sm, nt++;
        if (ix->lo != 0) {
            if (sm.n > 0) vars[nt] = -1, coef[nt] = -st * ix->lo, monos[nt] = sm, nt++;
            else c0 -= st * ix->lo;
        }
    }
    tx_lir_expr *v = lower_expr(&L, def->rhs, cur);
    if (!v) return *why = L.why, NULL;
    if (!tx_lir_store(f, cur, 0, tx_lir_affine_make_sym(f, nt, vars, coef, monos, c0), v))
        return *why = tx_arena_printf(a, "a %s value cannot be stored in a %s output",
                                      tx_lir_dtype_name(v->dtype), tx_lir_dtype_name(out->dtype)),
               NULL;
    if (!tx_lir_verify(f, why)) return NULL;
    return f;
}
