/*
 * interp.c -- the reference evaluator: runs tensor IR with naive loops.
 *
 * This is the semantic oracle that the planner, the fuser and the JIT are
 * diff-tested against, so it aims to be obviously right first and
 * reasonably quick second.  It works statement by statement:
 *
 *   DEF   re-check with the concrete shapes (expand an ellipsis to the
 *         operands' rank, tx_tir_infer_ranges, tx_tir_def_type), compile
 *         the right-hand side once into a small tree of evaluation nodes
 *         (accesses resolved to a data pointer, a dtype and an affine
 *         element offset with the strides already multiplied in; ranges
 *         copied into the reductions), then walk the output index space
 *         evaluating the tree per element.  No name lookups and no
 *         allocation happen per element.  `+=` evaluates the right-hand
 *         side into a fresh tensor first and then adds it in, so X[i] +=
 *         X[i+1] reads the old values; the target is copied first when it
 *         is shared (tensors are values: copy on write).
 *         `X = Y` binds X to Y's tensor (tensors are values; nothing is
 *         copied until one of them is accumulated into).
 *   CALL  builtins (construct, shape, whole-tensor) with numpy's results
 *         and dtypes; user functions run in a fresh environment holding
 *         their parameters and size names (rank-0 f64 values).
 *   FOR   the body runs in the enclosing environment; the loop variable
 *         (a rank-0 f64) exists only inside the loop.
 *   PRINT, ASSERT, RETURN as the language says.
 * Backends.  A DEF backend (the JIT) may run each ordinary DEF, a
 * rewriter (the planner) may replace it by pairwise steps, and a group
 * backend (the fuser through the JIT) is offered every stretch of
 * consecutive DEFs first and may run a prefix of it as one kernel; it asks
 * group_live whether a variable can still be read (later statements, the
 * next iteration of an enclosing loop, a function's results, later REPL
 * units unless tx_interp_set_script).  A large tensor that a definition
 * replaces and that nobody else holds is reused for the new value.
 * Result dtypes are the checker's (tx_tir_def_type: numpy's value-based
 * promotion), so static and run-time types agree.  Temporaries ("%N")
 * are dropped at the end of each tx_interp_run.
 *
 * Arithmetic.  Real values are evaluated in double and complex ones in
 * double _Complex held as (re, im) pairs, whatever the storage dtype; the
 * result is rounded once on store (an f32 definition rounds each element
 * when it is written, not after every operation as numpy's float32 loops
 * would).  Elementwise operators follow numpy's float64/complex128 ufuncs:
 * comparisons give 1 or 0, max/min propagate nan like numpy.maximum,
 * division by zero is IEEE, complex multiplication, division (Smith's
 * method) and integer powers are numpy's own formulas.  Complex values are
 * ordered the way numpy orders them: lexicographically, real part first,
 * which is what <, <=, >, >=, max(a,b), min(a,b), relu, sign and the
 * max/min reductions use.  floor and ceil of a complex value apply to both
 * parts (numpy refuses; the checker may reject it first).
 *
 * Index-notation reductions run in the natural order of their indices:
 * sum starts at 0, prod at 1, max at -inf, min at +inf (so an empty sum is
 * 0 and an empty max is -inf).  The whole-tensor sum(X) reproduces numpy's
 * pairwise summation exactly (blocks of 8192 elements, pairwise inside,
 * in the tensor's own precision), so sum(X) prints the same digits as
 * numpy.sum.
 *
 * Errors stop the run and leave the environment consistent: the failing
 * statement binds nothing, the statements before it keep their effects.
 * Shape and value errors that only show with concrete values are TX_ERROR
 * (exit 1), failures while running (assert, files, memory, max of an empty
 * tensor) TX_RUNTIME_ERROR (exit 3).  Inconsistent IR (an unbound index id,
 * an out-of-bounds affine access the checker let through) is reported as
 * an "internal error" instead of being executed.
 */
#include "ir/interp.h"

#include <complex.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/builtins.h"
#include "txrt_linalg.h"

/* Statement results: 0, 1 and 3 are the exit codes; RC_RETURN unwinds a
 * function body to its call. */
enum { RC_OK = 0, RC_COMPILE = 1, RC_RUNTIME = 3, RC_RETURN = 4 };

/* Deepest nesting of user function calls (recursion guard). */
#define MAX_CALL_DEPTH 200
/* Largest trip count of one for loop. */
#define MAX_TRIPS ((int64_t)1 << 31)
/* Most innermost evaluations one definition may take (about 1.1e15: days of
 * work even as generated code); beyond it the run stops with an error
 * instead of appearing to hang. */
#define MAX_WORK 1125899906842624.0 /* 2^50 */

typedef double _Complex zval;

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

static void *xcalloc(size_t n, size_t k) {
    void *p = calloc(n ? n : 1, k ? k : 1);
    if (!p) abort();
    return p;
}

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n ? n : 1);
    if (!p) abort();
    return p;
}

static const char *shape_str(const txrt_tensor *t, char *buf, size_t n) {
    return txrt_shape_str(t->rank, t->shape, buf, n);
}

/* ---- environments ----------------------------------------------------------
 * A sorted array of (name, tensor) pairs: lookups by binary search, and
 * tx_interp_each gets name order for free.  Each binding owns one reference.
 */

typedef struct binding {
    char *name;
    txrt_tensor *t;
} binding;

typedef struct env {
    binding *v;
    int n, cap;
} env;

static int env_pos(const env *e, const char *name, bool *found) {
    int lo = 0, hi = e->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(e->v[mid].name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    *found = false;
    return lo;
}

static txrt_tensor *env_get(const env *e, const char *name) {
    bool found;
    int k = env_pos(e, name, &found);
    return found ? e->v[k].t : NULL;
}

/* Bind name to t, taking over the caller's reference; the old value (if
 * any) is released. */
static void env_put(env *e, const char *name, txrt_tensor *t) {
    bool found;
    int k = env_pos(e, name, &found);
    if (found) {
        txrt_tensor *old = e->v[k].t;
        e->v[k].t = t;
        txrt_release(old);
        return;
    }
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 16;
        e->v = xrealloc(e->v, (size_t)e->cap * sizeof *e->v);
    }
    memmove(e->v + k + 1, e->v + k, (size_t)(e->n - k) * sizeof *e->v);
    size_t len = strlen(name);
    e->v[k].name = xmalloc(len + 1);
    memcpy(e->v[k].name, name, len + 1);
    e->v[k].t = t;
    e->n++;
}

static void env_remove_at(env *e, int k) {
    free(e->v[k].name);
    txrt_release(e->v[k].t);
    memmove(e->v + k, e->v + k + 1, (size_t)(e->n - k - 1) * sizeof *e->v);
    e->n--;
}

static void env_remove(env *e, const char *name) {
    bool found;
    int k = env_pos(e, name, &found);
    if (found) env_remove_at(e, k);
}

static void env_clear(env *e) {
    for (int k = 0; k < e->n; k++) {
        free(e->v[k].name);
        txrt_release(e->v[k].t);
    }
    free(e->v);
    memset(e, 0, sizeof *e);
}

/* Compiler temporaries are named "%1", "%2", ...: never user-visible. */
static bool is_temp(const char *name) { return name[0] == '%'; }

/* The checker's view of an environment: concrete types, and the values of
 * rank-0 tensors. */
static bool env_lookup_get(void *self, const char *var, tx_varinfo *out) {
    const txrt_tensor *t = env_get((const env *)self, var);
    if (!t) return false;
    memset(out, 0, sizeof *out);
    out->type.dtype = (int)t->dtype;
    out->type.rank = t->rank;
    for (int k = 0; k < t->rank; k++) out->type.dims[k] = t->shape[k];
    if (t->rank == 0) {
        double re, im;
        txrt_get(t, 0, &re, &im);
        out->known = true;
        out->value = re;
    }
    return true;
}

static tx_lookup env_lookup(env *e) {
    tx_lookup lk = { env_lookup_get, e };
    return lk;
}

/* ---- the interpreter ------------------------------------------------------ */

struct tx_interp {
    FILE *out;
    env globals;
    /* registered functions and the source each was written in */
    tx_tir_func **funcs;
    const tx_source **fsrc;
    int nfuncs, capfuncs;
    tx_tir_program fprog;           /* view of funcs for tx_interp_functions */
    txrt_ctx ctx;
    tx_def_backend backend;         /* runs DEFs when set (the JIT); else we do */
    tx_def_rewriter rewriter;       /* replaces DEFs when set (the planner) */
    tx_group_backend group;         /* runs stretches of DEFs when set (the fuser) */
    bool script;                    /* the unit is a whole program (tx_interp_set_script) */
    tx_tir_stmt *const *after;      /* what runs after the unit (tx_interp_set_after) */
    int nafter;
    bool again;                     /* the unit itself runs again after this run */
    int nside;                      /* pairs of factorizations run side by side */
};

/* The statement lists being executed, innermost first: what the group
 * backend's liveness question is answered from. */
enum { FR_TOP, FR_LOOP, FR_FUNC };
typedef struct frame {
    tx_tir_stmt **body;
    int n;
    int pos;                        /* the statement being executed */
    int kind;                       /* FR_TOP, FR_LOOP, FR_FUNC */
    const tx_tir_func *fn;          /* FR_FUNC */
    struct frame *up;
} frame;

/* One tx_interp_run: where diagnostics go and how deep the calls are. */
typedef struct run {
    tx_interp *in;
    tx_diags *d;
    int depth;
    bool no_rewrite;                /* running a rewriter's replacement */
    double trips;                   /* iterations of the enclosing for loops, multiplied (0 = none) */
    frame *fr;                      /* innermost statement list */
} run;

tx_interp *tx_interp_new(FILE *out) {
    tx_interp *in = xcalloc(1, sizeof *in);
    in->out = out ? out : stdout;
    txrt_ctx_init(&in->ctx);
    return in;
}

void tx_interp_free(tx_interp *in) {
    if (!in) return;
    env_clear(&in->globals);
    free(in->funcs);
    free(in->fsrc);
    free(in);
}

txrt_tensor *tx_interp_get(tx_interp *in, const char *name) {
    return env_get(&in->globals, name);
}

void tx_interp_set(tx_interp *in, const char *name, txrt_tensor *t) {
    if (!t) {
        env_remove(&in->globals, name);
        return;
    }
    env_put(&in->globals, name, txrt_retain(t));
}

void tx_interp_each(tx_interp *in, void (*fn)(void *ctx, const char *name, const txrt_tensor *t), void *ctx) {
    for (int k = 0; k < in->globals.n; k++)
        if (!is_temp(in->globals.v[k].name)) fn(ctx, in->globals.v[k].name, in->globals.v[k].t);
}

tx_lookup tx_interp_lookup(tx_interp *in) {
    return env_lookup(&in->globals);
}

const tx_tir_program *tx_interp_functions(tx_interp *in) {
    in->fprog.funcs = in->funcs;
    in->fprog.nfuncs = in->nfuncs;
    return &in->fprog;
}

/* Register f (a later definition of the same name replaces the earlier). */
static void register_func(tx_interp *in, tx_tir_func *f, const tx_source *src) {
    for (int k = 0; k < in->nfuncs; k++) {
        if (in->funcs[k] == f) return;
        if (strcmp(in->funcs[k]->name, f->name) == 0) {
            in->funcs[k] = f;
            in->fsrc[k] = src;
            return;
        }
    }
    if (in->nfuncs == in->capfuncs) {
        in->capfuncs = in->capfuncs ? 2 * in->capfuncs : 8;
        in->funcs = xrealloc(in->funcs, (size_t)in->capfuncs * sizeof *in->funcs);
        in->fsrc = xrealloc(in->fsrc, (size_t)in->capfuncs * sizeof *in->fsrc);
    }
    in->funcs[in->nfuncs] = f;
    in->fsrc[in->nfuncs] = src;
    in->nfuncs++;
}

static tx_tir_func *find_func(tx_interp *in, const char *name, const tx_source **src) {
    for (int k = 0; k < in->nfuncs; k++)
        if (strcmp(in->funcs[k]->name, name) == 0) {
            if (src) *src = in->fsrc[k];
            return in->funcs[k];
        }
    return NULL;
}

static const tx_source *func_source(tx_interp *in, const tx_tir_func *f) {
    for (int k = 0; k < in->nfuncs; k++)
        if (in->funcs[k] == f) return in->fsrc[k];
    return NULL;
}

/* A failed runtime call: its message becomes a runtime error at `at`. */
static int runtime_fail(run *r, tx_span at) {
    tx_runtime_error(r->d, at, "%s", r->in->ctx.errmsg[0] ? r->in->ctx.errmsg : "runtime failure");
    txrt_clear_error(&r->in->ctx);
    return RC_RUNTIME;
}

/* ---- evaluation trees -------------------------------------------------------
 * A DEF's right-hand side compiles into enodes allocated from a pool that
 * lives for one execution of the statement.  Index values live in an
 * int64 array indexed by the def's index ids.
 */

typedef struct pool {
    char **blocks;
    int n, cap;
    char *cur;
    size_t left;
} pool;

static void *pool_alloc(pool *p, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n > p->left) {
        size_t sz = n > 4096 ? n : 4096;
        if (p->n == p->cap) {
            p->cap = p->cap ? 2 * p->cap : 8;
            p->blocks = xrealloc(p->blocks, (size_t)p->cap * sizeof *p->blocks);
        }
        p->cur = p->blocks[p->n++] = xcalloc(1, sz);
        p->left = sz;
    }
    void *r = p->cur;
    p->cur += n;
    p->left -= n;
    return r;
}

static void pool_free(pool *p) {
    for (int k = 0; k < p->n; k++) free(p->blocks[k]);
    free(p->blocks);
    memset(p, 0, sizeof *p);
}

typedef enum { N_CONST, N_INDEX, N_LOAD, N_UNARY, N_BINARY, N_WHERE, N_REDUCE } enode_kind;

typedef struct enode enode;
struct enode {
    enode_kind kind;
    bool cplx;                  /* the value is complex (else real) */
    int op;                     /* UNARY/BINARY: tx_tir_op; REDUCE: tx_redop */
    double re, im;              /* CONST */
    int id;                     /* INDEX */
    /* LOAD: element data[off0 + sum tmul[k] * ix[tid[k]]] */
    const void *data;
    txrt_dtype dt;
    int64_t off0;
    int nterm;
    int *tid;
    int64_t *tmul;
    /* REDUCE: over indices rid[k] = rlo[k] .. rlo[k]+rext[k]-1 */
    int nidx;
    int *rid;
    int64_t *rlo, *rext;
    enode *a, *b, *c;
};

/* ---- scalar semantics (numpy's float64 and complex128 ufuncs) ---------------- */

static inline zval zmake(double re, double im) {
    zval z;
    __real__ z = re;
    __imag__ z = im;
    return z;
}

/* numpy's complex ordering: lexicographic, with nan in an imaginary part
 * making a real-part comparison false. */
#define CGE(xr, xi, yr, yi) (((xr) > (yr) && !isnan(xi) && !isnan(yi)) || ((xr) == (yr) && (xi) >= (yi)))
#define CLE(xr, xi, yr, yi) (((xr) < (yr) && !isnan(xi) && !isnan(yi)) || ((xr) == (yr) && (xi) <= (yi)))
#define CGT(xr, xi, yr, yi) (((xr) > (yr) && !isnan(xi) && !isnan(yi)) || ((xr) == (yr) && (xi) > (yi)))
#define CLT(xr, xi, yr, yi) (((xr) < (yr) && !isnan(xi) && !isnan(yi)) || ((xr) == (yr) && (xi) < (yi)))

static inline zval zmul(zval a, zval b) {
    double ar = creal(a), ai = cimag(a), br = creal(b), bi = cimag(b);
    return zmake(ar * br - ai * bi, ar * bi + ai * br);
}

/* numpy's complex division (Smith's method; x/0 gives inf or nan parts). */
static zval zdiv(zval a, zval b) {
    double ar = creal(a), ai = cimag(a), br = creal(b), bi = cimag(b);
    double abr = fabs(br), abi = fabs(bi);
    if (abr >= abi) {
        if (abr == 0 && abi == 0) return zmake(ar / abr, ai / abr);
        double rat = bi / br, scl = 1.0 / (br + bi * rat);
        return zmake((ar + ai * rat) * scl, (ai - ar * rat) * scl);
    }
    double rat = br / bi, scl = 1.0 / (bi + br * rat);
    return zmake((ar * rat + ai) * scl, (ai * rat - ar) * scl);
}

/* numpy's complex power: exact special cases and repeated squaring for
 * small integer exponents, cpow otherwise. */
static zval zpow(zval a, zval b) {
    double ar = creal(a), ai = cimag(a), br = creal(b), bi = cimag(b);
    if (br == 0 && bi == 0) return zmake(1, 0);
    if (ar == 0 && ai == 0) {
        if (br > 0 && bi == 0) return zmake(0, 0);
        return zmake(NAN, NAN);
    }
    if (bi == 0 && br >= -100 && br <= 100 && br == (double)(int)br) {
        int n = (int)br;
        if (n == 1) return a;
        if (n == 2) return zmul(a, a);
        if (n == 3) return zmul(zmul(a, a), a);
        if (n > -100 && n < 100) {
            int m = n < 0 ? -n : n;
            zval acc = zmake(1, 0), p = a;
            for (int mask = 1;; mask <<= 1) {
                if (m & mask) acc = zmul(acc, p);
                if (m < (mask << 1)) break;
                p = zmul(p, p);
            }
            return n < 0 ? zdiv(zmake(1, 0), acc) : acc;
        }
    }
    return cpow(a, b);
}

static inline double rmax(double a, double b) { return (a >= b || isnan(a)) ? a : b; }
static inline double rmin(double a, double b) { return (a <= b || isnan(a)) ? a : b; }

static inline zval zmax(zval a, zval b) {
    double ar = creal(a), ai = cimag(a), br = creal(b), bi = cimag(b);
    return (isnan(ar) || isnan(ai) || CGE(ar, ai, br, bi)) ? a : b;
}

static inline zval zmin(zval a, zval b) {
    double ar = creal(a), ai = cimag(a), br = creal(b), bi = cimag(b);
    return (isnan(ar) || isnan(ai) || CLE(ar, ai, br, bi)) ? a : b;
}

static double op1_r(int op, double x) {
    switch ((tx_tir_op)op) {
    case TX_TOP_NEG: return -x;
    case TX_TOP_EXP: return exp(x);
    case TX_TOP_LOG: return log(x);
    case TX_TOP_SQRT: return sqrt(x);
    case TX_TOP_ABS: return fabs(x);
    case TX_TOP_SIN: return sin(x);
    case TX_TOP_COS: return cos(x);
    case TX_TOP_TAN: return tan(x);
    case TX_TOP_TANH: return tanh(x);
    case TX_TOP_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case TX_TOP_RELU: return rmax(x, 0.0);
    case TX_TOP_SIGN: return x > 0 ? 1.0 : x < 0 ? -1.0 : x == 0 ? 0.0 : x;
    case TX_TOP_FLOOR: return floor(x);
    case TX_TOP_CEIL: return ceil(x);
    case TX_TOP_CONJ: return x;
    case TX_TOP_REAL: return x;
    case TX_TOP_IMAG: return 0.0;
    default: return NAN;
    }
}

static double op2_r(int op, double a, double b) {
    switch ((tx_tir_op)op) {
    case TX_TOP_ADD: return a + b;
    case TX_TOP_SUB: return a - b;
    case TX_TOP_MUL: return a * b;
    case TX_TOP_DIV: return a / b;
    case TX_TOP_POW: return pow(a, b);
    case TX_TOP_LT: return a < b;
    case TX_TOP_LE: return a <= b;
    case TX_TOP_GT: return a > b;
    case TX_TOP_GE: return a >= b;
    case TX_TOP_EQ: return a == b;
    case TX_TOP_NE: return a != b;
    case TX_TOP_MAX2: return rmax(a, b);
    case TX_TOP_MIN2: return rmin(a, b);
    default: return NAN;
    }
}

/* Unary operators with a complex result (ABS/REAL/IMAG of a complex value
 * are real: see cmp_or_part_z). */
static zval op1_z(int op, zval z) {
    double re = creal(z), im = cimag(z);
    switch ((tx_tir_op)op) {
    case TX_TOP_NEG: return zmake(-re, -im);
    case TX_TOP_EXP: return cexp(z);
    case TX_TOP_LOG: return clog(z);
    case TX_TOP_SQRT: return csqrt(z);
    case TX_TOP_SIN: return csin(z);
    case TX_TOP_COS: return ccos(z);
    case TX_TOP_TAN: return ctan(z);
    case TX_TOP_TANH: return ctanh(z);
    case TX_TOP_SIGMOID: return zdiv(zmake(1, 0), zmake(1, 0) + cexp(zmake(-re, -im)));
    case TX_TOP_RELU: return zmax(z, zmake(0, 0));
    case TX_TOP_SIGN: /* numpy < 2: the sign of the real part (of imag when real is 0) */
        return zmake(CGT(re, im, 0.0, 0.0) ? 1.0 : CLT(re, im, 0.0, 0.0) ? -1.0
                     : (re == 0 && im == 0) ? 0.0 : NAN, 0.0);
    case TX_TOP_FLOOR: return zmake(floor(re), floor(im));
    case TX_TOP_CEIL: return zmake(ceil(re), ceil(im));
    case TX_TOP_CONJ: return zmake(re, -im);
    case TX_TOP_ABS: return zmake(cabs(z), 0);
    case TX_TOP_REAL: return zmake(re, 0);
    case TX_TOP_IMAG: return zmake(im, 0);
    default: return zmake(NAN, NAN);
    }
}

static zval op2_z(int op, zval a, zval b) {
    switch ((tx_tir_op)op) {
    case TX_TOP_ADD: return zmake(creal(a) + creal(b), cimag(a) + cimag(b));
    case TX_TOP_SUB: return zmake(creal(a) - creal(b), cimag(a) - cimag(b));
    case TX_TOP_MUL: return zmul(a, b);
    case TX_TOP_DIV: return zdiv(a, b);
    case TX_TOP_POW: return zpow(a, b);
    case TX_TOP_MAX2: return zmax(a, b);
    case TX_TOP_MIN2: return zmin(a, b);
    default: return zmake(NAN, NAN);
    }
}

/* Comparisons of complex operands: 1 or 0 (numpy's lexicographic order). */
static double cmp_z(int op, zval a, zval b) {
    double ar = creal(a), ai = cimag(a), br = creal(b), bi = cimag(b);
    switch ((tx_tir_op)op) {
    case TX_TOP_LT: return CLT(ar, ai, br, bi);
    case TX_TOP_LE: return CLE(ar, ai, br, bi);
    case TX_TOP_GT: return CGT(ar, ai, br, bi);
    case TX_TOP_GE: return CGE(ar, ai, br, bi);
    case TX_TOP_EQ: return ar == br && ai == bi;
    case TX_TOP_NE: return ar != br || ai != bi;
    default: return NAN;
    }
}

static bool is_cmp(int op) { return op >= TX_TOP_LT && op <= TX_TOP_NE; }

/* ---- the evaluator ----------------------------------------------------------- */

static inline int64_t load_off(const enode *n, const int64_t *ix) {
    /* unsigned: partial sums may wrap, the final offset was bounds-checked */
    uint64_t off = (uint64_t)n->off0;
    for (int k = 0; k < n->nterm; k++) off += (uint64_t)n->tmul[k] * (uint64_t)ix[n->tid[k]];
    return (int64_t)off;
}

static zval ev_z(const enode *n, int64_t *ix);

/* The value of a real node. */
static double ev_r(const enode *n, int64_t *ix) {
    switch (n->kind) {
    case N_CONST:
        return n->re;
    case N_INDEX:
        return (double)ix[n->id];
    case N_LOAD: {
        int64_t off = load_off(n, ix);
        switch (n->dt) {
        case TXRT_F64: return ((const double *)n->data)[off];
        case TXRT_F32: return ((const float *)n->data)[off];
        case TXRT_C128: return ((const double *)n->data)[2 * off];
        case TXRT_C64: return ((const float *)n->data)[2 * off];
        }
        return NAN;
    }
    case N_UNARY:
        if (n->a->cplx) {
            zval z = ev_z(n->a, ix);
            switch (n->op) {
            case TX_TOP_ABS: return cabs(z);
            case TX_TOP_IMAG: return cimag(z);
            default: return creal(z);  /* TX_TOP_REAL */
            }
        }
        return op1_r(n->op, ev_r(n->a, ix));
    case N_BINARY:
        if (n->a->cplx || n->b->cplx) return cmp_z(n->op, ev_z(n->a, ix), ev_z(n->b, ix));
        return op2_r(n->op, ev_r(n->a, ix), ev_r(n->b, ix));
    case N_WHERE: {
        bool c;
        if (n->a->cplx) {
            zval z = ev_z(n->a, ix);
            c = creal(z) != 0 || cimag(z) != 0;
        } else {
            c = ev_r(n->a, ix) != 0;
        }
        return ev_r(c ? n->b : n->c, ix);
    }
    case N_REDUCE: {
        const int m = n->nidx;
        double acc = n->op == TX_RED_SUM ? 0.0 : n->op == TX_RED_PROD ? 1.0
                   : n->op == TX_RED_MAX ? -INFINITY : INFINITY;
        for (int k = 0; k < m; k++) {
            if (n->rext[k] == 0) return acc;
            ix[n->rid[k]] = n->rlo[k];
        }
        for (;;) {
            double v = ev_r(n->a, ix);
            switch (n->op) {
            case TX_RED_SUM: acc += v; break;
            case TX_RED_PROD: acc *= v; break;
            case TX_RED_MAX: acc = rmax(acc, v); break;
            case TX_RED_MIN: acc = rmin(acc, v); break;
            }
            int k = m - 1;
            for (; k >= 0; k--) {
                int id = n->rid[k];
                if (++ix[id] < n->rlo[k] + n->rext[k]) break;
                ix[id] = n->rlo[k];
            }
            if (k < 0) return acc;
        }
    }
    }
    return NAN;
}

/* The value of any node as a complex number. */
static zval ev_z(const enode *n, int64_t *ix) {
    if (!n->cplx) return zmake(ev_r(n, ix), 0.0);
    switch (n->kind) {
    case N_CONST:
        return zmake(n->re, n->im);
    case N_INDEX:
        return zmake((double)ix[n->id], 0.0);
    case N_LOAD: {
        int64_t off = load_off(n, ix);
        if (n->dt == TXRT_C128) {
            const double *p = (const double *)n->data + 2 * off;
            return zmake(p[0], p[1]);
        }
        const float *p = (const float *)n->data + 2 * off;
        return zmake(p[0], p[1]);
    }
    case N_UNARY:
        return op1_z(n->op, ev_z(n->a, ix));
    case N_BINARY:
        return op2_z(n->op, ev_z(n->a, ix), ev_z(n->b, ix));
    case N_WHERE: {
        bool c;
        if (n->a->cplx) {
            zval z = ev_z(n->a, ix);
            c = creal(z) != 0 || cimag(z) != 0;
        } else {
            c = ev_r(n->a, ix) != 0;
        }
        return ev_z(c ? n->b : n->c, ix);
    }
    case N_REDUCE: {
        const int m = n->nidx;
        zval acc = zmake(n->op == TX_RED_SUM ? 0.0 : n->op == TX_RED_PROD ? 1.0
                         : n->op == TX_RED_MAX ? -INFINITY : INFINITY, 0.0);
        for (int k = 0; k < m; k++) {
            if (n->rext[k] == 0) return acc;
            ix[n->rid[k]] = n->rlo[k];
        }
        for (;;) {
            zval v = ev_z(n->a, ix);
            switch (n->op) {
            case TX_RED_SUM: acc = zmake(creal(acc) + creal(v), cimag(acc) + cimag(v)); break;
            case TX_RED_PROD: acc = zmul(acc, v); break;
            case TX_RED_MAX: acc = zmax(acc, v); break;
            case TX_RED_MIN: acc = zmin(acc, v); break;
            }
            int k = m - 1;
            for (; k >= 0; k--) {
                int id = n->rid[k];
                if (++ix[id] < n->rlo[k] + n->rext[k]) break;
                ix[id] = n->rlo[k];
            }
            if (k < 0) return acc;
        }
    }
    }
    return zmake(NAN, NAN);
}

/* ---- compiling a right-hand side ------------------------------------------- */

typedef struct cctx {
    run *r;
    env *env;
    const tx_tir_stmt *def;     /* index table with ranges; NULL: a scalar expression */
    unsigned char *bound;       /* bound[id]: the index is bound here */
    pool *pl;
} cctx;

static bool index_ok(cctx *c, int id, tx_span at) {
    if (!c->def || id < 0 || id >= c->def->nindices || !c->bound[id]) {
        tx_error(c->r->d, at, "internal error: index %d is not bound here", id);
        return false;
    }
    return true;
}

/* The range of an index must be known before anything is evaluated. */
static bool range_known(cctx *c, int id) {
    const tx_tir_index *x = &c->def->indices[id];
    if (x->extent >= 0) return true;
    tx_diag *g = tx_error(c->r->d, x->span, "cannot tell the range of index '%s'", x->name);
    tx_hint(c->r->d, g, "use '%s' to subscript a tensor, or give it a size with `index %s : n`",
            x->name, x->name);
    return false;
}

static enode *compile(cctx *c, const tx_tir_expr *e);

static enode *compile_access(cctx *c, const tx_tir_expr *e) {
    tx_diags *d = c->r->d;
    const txrt_tensor *t = env_get(c->env, e->var);
    char sb[256];
    if (!t) {
        tx_error(d, e->span, "'%s' is not defined", e->var);
        return NULL;
    }
    enode *n = pool_alloc(c->pl, sizeof *n);
    n->kind = N_LOAD;
    n->data = t->data;
    n->dt = t->dtype;
    n->cplx = txrt_dtype_is_complex(t->dtype);
    if (e->whole || e->nsubs == 0) {
        if (t->rank != 0) {
            tx_error(d, e->span, "'%s' has shape %s; in index notation it needs %d subscript%s",
                     e->var, shape_str(t, sb, sizeof sb), t->rank, t->rank == 1 ? "" : "s");
            return NULL;
        }
        return n;   /* offset 0 */
    }
    if (e->nsubs != t->rank) {
        tx_error(d, e->span, "'%s' has shape %s (rank %d) but is subscripted with %d index%s",
                 e->var, shape_str(t, sb, sizeof sb), t->rank, e->nsubs, e->nsubs == 1 ? "" : "es");
        return NULL;
    }
    int maxterms = 0;
    for (int k = 0; k < e->nsubs; k++) maxterms += e->subs[k].nterms;
    n->tid = pool_alloc(c->pl, sizeof(int) * (size_t)(maxterms + 1));
    n->tmul = pool_alloc(c->pl, sizeof(int64_t) * (size_t)(maxterms + 1));
    int64_t stride = 1, off0 = 0;
    bool dead = false;          /* some index has an empty range: never evaluated */
    for (int k = e->nsubs - 1; k >= 0; k--) {
        const tx_tir_affine *s = &e->subs[k];
        const int64_t dim = t->shape[k];
        int64_t cst = s->c0, mn, mx;
        if (s->nterms == 0) {
            if (cst < 0) cst += dim;    /* constant subscripts count from the end */
            mn = mx = cst;
        } else {
            bool ovf = false;
            int64_t lo_sum = 0, hi_sum = 0;
            for (int j = 0; j < s->nterms; j++) {
                int id = s->idx[j];
                if (!index_ok(c, id, s->span)) return NULL;
                const tx_tir_index *x = &c->def->indices[id];
                if (x->extent == 0) {
                    dead = true;
                    continue;
                }
                int64_t coef = s->coef[j], v1, v2;
                ovf |= __builtin_mul_overflow(coef, x->lo, &v1);
                ovf |= __builtin_mul_overflow(coef, x->lo + x->extent - 1, &v2);
                if (x->extent == 1) {
                    ovf |= __builtin_add_overflow(cst, v1, &cst);   /* a constant here */
                    continue;
                }
                ovf |= __builtin_add_overflow(lo_sum, v1 < v2 ? v1 : v2, &lo_sum);
                ovf |= __builtin_add_overflow(hi_sum, v1 < v2 ? v2 : v1, &hi_sum);
                int64_t mul;
                ovf |= __builtin_mul_overflow(coef, stride, &mul);
                int m = 0;
                while (m < n->nterm && n->tid[m] != id) m++;
                if (m == n->nterm) {
                    n->tid[m] = id;
                    n->tmul[m] = 0;
                    n->nterm++;
                }
                ovf |= __builtin_add_overflow(n->tmul[m], mul, &n->tmul[m]);
            }
            ovf |= __builtin_add_overflow(cst, lo_sum, &mn);
            ovf |= __builtin_add_overflow(cst, hi_sum, &mx);
            if (ovf && !dead) {
                tx_error(d, s->span, "subscript %d of '%s' overflows", k + 1, e->var);
                return NULL;
            }
        }
        if (!dead && (mn < 0 || mx >= dim)) {
            if (s->nterms == 0)
                tx_error(d, s->span, "subscript %lld is out of bounds for axis %d of '%s' with size %lld",
                         (long long)s->c0, k, e->var, (long long)dim);
            else
                tx_error(d, s->span, "internal error: subscript %d of '%s' takes values %lld..%lld "
                         "outside 0..%lld", k + 1, e->var, (long long)mn, (long long)mx,
                         (long long)dim - 1);
            return NULL;
        }
        if (!dead) {
            int64_t part;
            if (__builtin_mul_overflow(cst, stride, &part) || __builtin_add_overflow(off0, part, &off0)) {
                tx_error(d, s->span, "subscript %d of '%s' overflows", k + 1, e->var);
                return NULL;
            }
        }
        if (__builtin_mul_overflow(stride, dim, &stride)) stride = 0;  /* size-0 tensor: dead anyway */
    }
    if (dead) {     /* never evaluated; keep the type, drop the address */
        n->kind = N_CONST;
        n->re = n->im = 0;
        return n;
    }
    n->off0 = off0;
    return n;
}

static enode *compile(cctx *c, const tx_tir_expr *e) {
    tx_diags *d = c->r->d;
    if (!e) {
        tx_error(d, (tx_span){ 0, 0 }, "internal error: missing expression");
        return NULL;
    }
    enode *n;
    switch (e->kind) {
    case TX_TIR_CONST:
        n = pool_alloc(c->pl, sizeof *n);
        n->kind = N_CONST;
        n->re = e->re;
        n->im = e->im;
        n->cplx = e->is_complex || e->im != 0;
        return n;
    case TX_TIR_INDEX:
        if (!index_ok(c, e->index, e->span)) return NULL;
        n = pool_alloc(c->pl, sizeof *n);
        n->kind = N_INDEX;
        n->id = e->index;
        return n;
    case TX_TIR_ACCESS:
        return compile_access(c, e);
    case TX_TIR_UNARY:
    case TX_TIR_BINARY: {
        bool binary = e->kind == TX_TIR_BINARY;
        if ((int)e->op < 0 || e->op >= TX_TOP__COUNT || tx_tir_op_is_binary(e->op) != binary) {
            tx_error(d, e->span, "internal error: bad operator %d", (int)e->op);
            return NULL;
        }
        enode *a = compile(c, e->a);
        if (!a) return NULL;
        enode *b = NULL;
        if (binary && !(b = compile(c, e->b))) return NULL;
        n = pool_alloc(c->pl, sizeof *n);
        n->kind = binary ? N_BINARY : N_UNARY;
        n->op = (int)e->op;
        n->a = a;
        n->b = b;
        if (binary) n->cplx = !is_cmp(n->op) && (a->cplx || b->cplx);
        else n->cplx = a->cplx && e->op != TX_TOP_ABS && e->op != TX_TOP_REAL && e->op != TX_TOP_IMAG;
        return n;
    }
    case TX_TIR_WHERE: {
        enode *a = compile(c, e->a);
        enode *b = a ? compile(c, e->b) : NULL;
        enode *cc = b ? compile(c, e->c) : NULL;
        if (!cc) return NULL;
        n = pool_alloc(c->pl, sizeof *n);
        n->kind = N_WHERE;
        n->a = a;
        n->b = b;
        n->c = cc;
        n->cplx = b->cplx || cc->cplx;
        return n;
    }
    case TX_TIR_REDUCE: {
        n = pool_alloc(c->pl, sizeof *n);
        n->kind = N_REDUCE;
        n->op = (int)e->redop;
        n->nidx = e->nidx;
        n->rid = pool_alloc(c->pl, sizeof(int) * (size_t)(e->nidx + 1));
        n->rlo = pool_alloc(c->pl, sizeof(int64_t) * (size_t)(e->nidx + 1));
        n->rext = pool_alloc(c->pl, sizeof(int64_t) * (size_t)(e->nidx + 1));
        unsigned char *saved = pool_alloc(c->pl, (size_t)(e->nidx + 1));
        if (!c->def) {
            tx_error(d, e->span, "internal error: a reduction outside index notation");
            return NULL;
        }
        for (int k = 0; k < e->nidx; k++) {
            int id = e->idx[k];
            if (id < 0 || id >= c->def->nindices) {
                tx_error(d, e->span, "internal error: bad index id %d", id);
                return NULL;
            }
            if (c->bound[id]) {     /* shadowing uses a fresh id; rebinding one would corrupt the loops */
                tx_error(d, e->span, "internal error: index '%s' is bound twice", c->def->indices[id].name);
                return NULL;
            }
            if (!range_known(c, id)) return NULL;
            n->rid[k] = id;
            n->rlo[k] = c->def->indices[id].lo;
            n->rext[k] = c->def->indices[id].extent;
            saved[k] = c->bound[id];
            c->bound[id] = 1;
        }
        n->a = compile(c, e->a);
        for (int k = e->nidx - 1; k >= 0; k--) c->bound[e->idx[k]] = saved[k];
        if (!n->a) return NULL;
        n->cplx = n->a->cplx;
        return n;
    }
    case TX_TIR_STRING:
        tx_error(d, e->span, "a string cannot be used as a number");
        return NULL;
    }
    tx_error(d, e->span, "internal error: unknown expression kind %d", (int)e->kind);
    return NULL;
}

/* Evaluate an expression without indices (sizes, loop bounds, call
 * arguments, print items).  Returns RC_OK or RC_COMPILE. */
static int eval_scalar(run *r, env *e, const tx_tir_expr *x, zval *out, bool *is_cplx) {
    pool pl = { 0 };
    cctx c = { r, e, NULL, NULL, &pl };
    enode *n = compile(&c, x);
    if (!n) {
        pool_free(&pl);
        return RC_COMPILE;
    }
    int64_t ix[1] = { 0 };
    *out = ev_z(n, ix);
    if (is_cplx) *is_cplx = n->cplx;
    pool_free(&pl);
    return RC_OK;
}

/* ---- DEF ---------------------------------------------------------------------- */

/* The dtype of a def when the checker has none: numpy's promotion over the
 * accessed tensors, complex constants and index values (f64). */
static int guess_dtype(env *e, const tx_tir_expr *x, int dt) {
    if (!x) return dt;
    if (x->kind == TX_TIR_ACCESS) {
        const txrt_tensor *t = env_get(e, x->var);
        if (t) dt = dt < 0 ? (int)t->dtype : (int)txrt_dtype_promote((txrt_dtype)dt, t->dtype);
        return dt;
    }
    if (x->kind == TX_TIR_INDEX) return dt < 0 ? TXRT_F64 : (int)txrt_dtype_promote((txrt_dtype)dt, TXRT_F64);
    if (x->kind == TX_TIR_CONST && (x->is_complex || x->im != 0))
        return dt < 0 ? TXRT_C128 : (int)txrt_dtype_promote((txrt_dtype)dt, TXRT_C64);
    dt = guess_dtype(e, x->a, dt);
    dt = guess_dtype(e, x->b, dt);
    return guess_dtype(e, x->c, dt);
}

static inline void store(txrt_tensor *t, int64_t p, double re, double im) {
    switch (t->dtype) {
    case TXRT_F64: ((double *)t->data)[p] = re; break;
    case TXRT_F32: ((float *)t->data)[p] = (float)re; break;
    case TXRT_C128: ((double *)t->data)[2 * p] = re; ((double *)t->data)[2 * p + 1] = im; break;
    case TXRT_C64: ((float *)t->data)[2 * p] = (float)re; ((float *)t->data)[2 * p + 1] = (float)im; break;
    }
}

/* Fill R (shape = the output extents) by walking the output index space. */
static void run_def(const tx_tir_stmt *def, const enode *root, int64_t *ix, txrt_tensor *R) {
    const int m = def->nout;
    if (R->size == 0) return;
    for (int k = 0; k < m; k++) ix[def->out_idx[k]] = def->indices[def->out_idx[k]].lo;
    const bool z = root->cplx;
    for (int64_t p = 0; p < R->size; p++) {
        if (z) {
            zval v = ev_z(root, ix);
            store(R, p, creal(v), cimag(v));
        } else {
            store(R, p, ev_r(root, ix), 0.0);
        }
        int k = m - 1;
        for (; k >= 0; k--) {
            int id = def->out_idx[k];
            const tx_tir_index *x = &def->indices[id];
            if (++ix[id] < x->lo + x->extent) break;
            ix[id] = x->lo;
        }
        if (k < 0) return;
    }
}

/* tx_def_backend's view of the environment. */
static txrt_tensor *backend_get(void *ctx, const char *name) {
    return env_get((const env *)ctx, name);
}

/* X += R elementwise (equal shapes), in X's dtype. */
static void add_into(txrt_tensor *X, const txrt_tensor *R) {
    if (X->dtype == TXRT_F64 && R->dtype == TXRT_F64) {
        double *x = X->data;
        const double *y = R->data;
        for (int64_t p = 0; p < X->size; p++) x[p] += y[p];
        return;
    }
    for (int64_t p = 0; p < X->size; p++) {
        double xr, xi, yr, yi;
        txrt_get(X, p, &xr, &xi);
        txrt_get(R, p, &yr, &yi);
        txrt_set(X, p, xr + yr, xi + yi);
    }
}

/* How many times the naive loop nest evaluates the leaves of e, per output
 * element: a reduction multiplies its body's work by its iteration count.
 * In double, so that no size can overflow it. */
static double work_of(const tx_tir_stmt *def, const tx_tir_expr *e, int depth) {
    if (!e || depth > 10000) return 1;
    double w = 1;
    if (e->a) w += work_of(def, e->a, depth + 1);
    if (e->b) w += work_of(def, e->b, depth + 1);
    if (e->c) w += work_of(def, e->c, depth + 1);
    if (e->kind == TX_TIR_REDUCE) {
        double n = 1;
        for (int k = 0; k < e->nidx; k++) {
            int id = e->idx[k];
            if (id >= 0 && id < def->nindices && def->indices[id].extent >= 0) n *= (double)def->indices[id].extent;
        }
        w *= n;
    }
    return w;
}

static bool expr_reads(const tx_tir_expr *x, const char *name);

/* Buffers from this size on are reused when a definition replaces a
 * tensor nobody else holds (below it, allocation is cheap anyway). */
#define REUSE_BYTES ((size_t)1 << 20)

/* X = ... where X is bound to a tensor of the same dtype and shape that
 * only this binding holds and the right-hand side does not read: write the
 * new value into that tensor instead of a fresh one (a fresh large tensor
 * costs a page fault per 4 KiB when first written).  Returned zeroed, with
 * a new reference; NULL when not possible. */
static txrt_tensor *reuse_buffer(env *e, const char *name, const tx_tir_expr *rhs, txrt_dtype dt, int rank,
                                 const int64_t *shape) {
    txrt_tensor *t = env_get(e, name);
    if (!t || t->refcount != 1 || t->dtype != dt || t->rank != rank) return NULL;
    for (int k = 0; k < rank; k++)
        if (t->shape[k] != shape[k]) return NULL;
    size_t bytes = (size_t)t->size * txrt_dtype_size(dt);
    if (bytes < REUSE_BYTES || expr_reads(rhs, name)) return NULL;
    txrt_tensor_forget(t);   /* every backend writes each element (exec_def) */
    return txrt_retain(t);
}

static int exec_def(run *r, env *e, const tx_tir_stmt *s) {
    tx_diags *d = r->d;
    char sa[256], sb[256];
    txrt_tensor *old = NULL;
    if (s->accumulate) {
        old = env_get(e, s->out);
        if (!old) {
            tx_diag *g = tx_error(d, s->out_span, "'%s' is not defined", s->out);
            tx_hint(d, g, "+= adds into an existing tensor; define it first with =");
            return RC_COMPILE;
        }
    }
    if (s->ellipsis && !s->accumulate && s->rhs && s->rhs->kind == TX_TIR_ACCESS && s->rhs->whole) {
        /* X = Y: tensors are values, so X simply shares Y's (copy on write) */
        txrt_tensor *t = env_get(e, s->rhs->var);
        if (!t) {
            tx_error(d, s->rhs->span, "'%s' is not defined", s->rhs->var);
            return RC_COMPILE;
        }
        env_put(e, s->out, txrt_retain(t));
        return RC_OK;
    }
    tx_arena *scratch = NULL;
    const tx_tir_stmt *def = s;
    tx_lookup lk = env_lookup(e);
    if (s->ellipsis) {
        /* whole-tensor arithmetic: index notation over the operands' common shape */
        int nerr = d->nerr;
        scratch = tx_arena_new(0);
        def = tx_tir_expand_ellipsis_lk(scratch, s, &lk, d);
        if (!def) {
            if (d->nerr == nerr) tx_error(d, s->span, "internal error: cannot expand the whole-tensor expression");
            tx_arena_free(scratch);
            return RC_COMPILE;
        }
    }
    /* Work on a copy of the index table: ranges are per execution. */
    tx_tir_stmt local = *def;
    local.indices = xmalloc(sizeof(tx_tir_index) * (size_t)(def->nindices + 1));
    if (def->nindices) memcpy(local.indices, def->indices, sizeof(tx_tir_index) * (size_t)def->nindices);
    for (int k = 0; k < local.nindices; k++) local.indices[k].lo = 0, local.indices[k].extent = -1;

    pool pl = { 0 };
    int rc = RC_COMPILE;
    int64_t *ix = NULL;
    unsigned char *bound = NULL;
    txrt_tensor *R = NULL;
    tx_type ty;
    memset(&ty, 0, sizeof ty);
    ty.dtype = -1;

    if (!tx_tir_infer_ranges(&local, &lk, d)) goto done;
    if (old) {  /* += : the target fixes output ranges nothing else fixes */
        for (int k = 0; k < local.nout && k < old->rank; k++) {
            tx_tir_index *x = &local.indices[local.out_idx[k]];
            if (x->extent < 0) x->lo = 0, x->extent = old->shape[k];
        }
    }
    if (!tx_tir_def_type(&local, &lk, &ty, d)) goto done;
    if (old) {
        /* += : the checker types the target (and refuses complex into real);
         * the right-hand side is computed in its own dtype, as numpy would,
         * and rounded to the target's once, when it is added in */
        tx_tir_stmt plain = local;
        plain.accumulate = false;
        if (!tx_tir_def_type(&plain, &lk, &ty, d)) goto done;
    }

    /* The contraction planner (tx_interp_set_rewriter) may replace the def,
     * now that its sizes are known, by a list of defs: pairwise contractions
     * into temporaries, then one writing s->out.  They run here in order,
     * not rewritten again, and their temporaries are dropped afterwards. */
    if (r->in->rewriter.rewrite && !s->ellipsis && !r->no_rewrite) {
        tx_arena *ra = tx_arena_new(0);
        tx_tir_stmt **list = NULL;
        int nlist = 0;
        int wrc = r->in->rewriter.rewrite(r->in->rewriter.self, &local, ra, &list, &nlist, d);
        if (wrc == 0 && nlist > 0) {
            r->no_rewrite = true;
            rc = RC_OK;
            for (int q = 0; q < nlist && rc == RC_OK; q++) rc = exec_def(r, e, list[q]);
            r->no_rewrite = false;
            for (int q = 0; q < nlist - 1; q++)
                if (is_temp(list[q]->out)) env_remove(e, list[q]->out);
        } else if (wrc > 0) {
            rc = wrc;
        }
        tx_arena_free(ra);
        if ((wrc == 0 && nlist > 0) || wrc > 0) goto done;
    }

    bound = xcalloc((size_t)local.nindices + 1, 1);
    ix = xcalloc((size_t)local.nindices + 1, sizeof *ix);
    int64_t shape[TXRT_MAX_RANK];
    if (local.nout > TXRT_MAX_RANK) {
        tx_error(d, s->out_span, "'%s' would have %d axes; the limit is %d", s->out, local.nout, TXRT_MAX_RANK);
        goto done;
    }
    cctx c = { r, e, &local, bound, &pl };
    for (int k = 0; k < local.nout; k++) {
        int id = local.out_idx[k];
        if (id < 0 || id >= local.nindices) {
            tx_error(d, s->out_span, "internal error: bad output index id %d", id);
            goto done;
        }
        if (bound[id]) {
            tx_error(d, s->out_span, "internal error: output index '%s' appears twice", local.indices[id].name);
            goto done;
        }
        if (!range_known(&c, id)) goto done;
        bound[id] = 1;
        shape[k] = local.indices[id].extent;
    }
    enode *root = compile(&c, local.rhs);
    if (!root) goto done;

    int dt = ty.dtype;
    if (dt < 0 || dt > TXRT_C64) dt = guess_dtype(e, local.rhs, -1);
    if (dt < 0) dt = TXRT_F64;
    if (root->cplx && !txrt_dtype_is_complex((txrt_dtype)dt))
        dt = txrt_dtype_promote((txrt_dtype)dt, TXRT_C64);
    if (old) {
        if (old->rank != local.nout || memcmp(old->shape, shape, sizeof(int64_t) * (size_t)local.nout) != 0) {
            tx_error(d, s->span, "'%s' has shape %s but the right-hand side of += has shape %s", s->out,
                     shape_str(old, sa, sizeof sa), txrt_shape_str(local.nout, shape, sb, sizeof sb));
            goto done;
        }
        if (txrt_dtype_is_complex((txrt_dtype)dt) && !txrt_dtype_is_complex(old->dtype)) {
            tx_diag *g = tx_error(d, s->span, "cannot add complex values into '%s', which is %s",
                                  s->out, txrt_dtype_name(old->dtype));
            tx_hint(d, g, "make it complex first: %s = cast(%s, \"c128\")", s->out, s->out);
            goto done;
        }
    }
    /* The output is not cleared: the JIT's kernels, BLAS (beta 0) and the
     * evaluator's run_def each store every element of R (a BLAS call that
     * fails part way zeroes R for the next backend).  The tests run with
     * TXRT_POISON=1, which fills it with NaNs instead. */
    R = reuse_buffer(e, s->out, local.rhs, (txrt_dtype)dt, local.nout, shape);
    if (!R) R = txrt_tensor_new_uninit(&r->in->ctx, (txrt_dtype)dt, local.nout, shape);
    if (!R) {
        rc = runtime_fail(r, s->span);
        goto done;
    }
    /* after the allocation, whose error says more when the output is too big */
    {
        double work = work_of(&local, local.rhs, 0);
        for (int k = 0; k < local.nout; k++) work *= (double)shape[k];
        if (work > MAX_WORK) {
            bool temp = s->out && s->out[0] == '%';
            char amount[64];
            if (isinf(work)) snprintf(amount, sizeof amount, "more than 1e+308");
            else snprintf(amount, sizeof amount, "about %.2g", work);
            tx_diag *g = tx_runtime_error(d, s->span,
                                          "computing %s%s%s would take %s steps; the limit is 2^50 (about 1.1e+15)",
                                          temp ? "this expression" : "'", temp ? "" : s->out, temp ? "" : "'", amount);
            tx_hint(d, g, "reduce the sizes, or split the computation into smaller statements");
            rc = RC_RUNTIME;
            goto done;
        }
    }
    /* The backend (the JIT) gets the range-inferred def first; -1 means it
     * declined and the evaluator runs it.  The tree is compiled either way:
     * compile() is also the last bounds check of every access. */
    int brc = -1;
    if (r->in->backend.run_def)
        brc = r->in->backend.run_def(r->in->backend.self, &local, R, backend_get, e, d);
    if (brc > 0) {
        rc = brc;
        goto done;
    }
    if (brc < 0) run_def(&local, root, ix, R);
    if (old) {
        if (old->refcount > 1) {    /* shared: copy on write */
            txrt_tensor *cp = txrt_tensor_copy(&r->in->ctx, old);
            if (!cp) {
                rc = runtime_fail(r, s->span);
                goto done;
            }
            env_put(e, s->out, cp);
            old = cp;
        }
        add_into(old, R);
        txrt_release(R);
    } else {
        env_put(e, s->out, R);
    }
    R = NULL;
    rc = RC_OK;
done:
    txrt_release(R);
    free(ix);
    free(bound);
    pool_free(&pl);
    free(local.indices);
    tx_arena_free(scratch);
    return rc;
}

/* ---- call arguments ------------------------------------------------------------ */

/* An evaluated argument: a tensor (owned reference) or a string. */
typedef struct argval {
    txrt_tensor *t;
    const char *str;
    int len;
    tx_span span;
} argval;

static void args_free(argval *av, int n) {
    for (int k = 0; k < n; k++) txrt_release(av[k].t);
    free(av);
}

/* The dtype the checker gives a rank-0 expression (numpy's value-based
 * promotion: 2*s keeps an f32 s in f32), so static and run-time types
 * agree; f64/c128 when it has none. */
static txrt_dtype scalar_dtype(run *r, env *e, const tx_tir_expr *x, bool cplx) {
    txrt_dtype dt = cplx ? TXRT_C128 : TXRT_F64;
    if (x->kind == TX_TIR_CONST) return dt;
    tx_tir_stmt fake;
    memset(&fake, 0, sizeof fake);
    fake.kind = TX_TIR_DEF;
    fake.span = x->span;
    fake.out = "%arg";
    fake.out_span = x->span;
    fake.ellipsis = true;
    fake.rhs = (tx_tir_expr *)x;
    tx_lookup lk = env_lookup(e);
    tx_diags quiet;
    tx_diags_init(&quiet, r->d->arena, r->d->src);
    tx_type ty;
    if (tx_tir_def_type(&fake, &lk, &ty, &quiet) && ty.rank == 0 && ty.dtype >= TXRT_F64 && ty.dtype <= TXRT_C64 &&
        (txrt_dtype_is_complex((txrt_dtype)ty.dtype) || !cplx))
        dt = (txrt_dtype)ty.dtype;
    return dt;
}

static int eval_arg(run *r, env *e, const tx_tir_expr *x, argval *out) {
    memset(out, 0, sizeof *out);
    out->span = x->span;
    if (x->kind == TX_TIR_STRING) {
        out->str = x->str ? x->str : "";
        out->len = x->str ? x->str_len : 0;
        return RC_OK;
    }
    if (x->kind == TX_TIR_ACCESS && x->whole) {
        txrt_tensor *t = env_get(e, x->var);
        if (!t) {
            tx_error(r->d, x->span, "'%s' is not defined", x->var);
            return RC_COMPILE;
        }
        out->t = txrt_retain(t);
        return RC_OK;
    }
    zval z;
    bool cz;
    int rc = eval_scalar(r, e, x, &z, &cz);
    if (rc) return rc;
    out->t = txrt_scalar_new(&r->in->ctx, scalar_dtype(r, e, x, cz), creal(z), cimag(z));
    if (!out->t) return runtime_fail(r, x->span);
    return RC_OK;
}

static int eval_args(run *r, env *e, tx_tir_expr **xs, int n, argval **out) {
    argval *av = xcalloc((size_t)n + 1, sizeof *av);
    for (int k = 0; k < n; k++) {
        int rc = eval_arg(r, e, xs[k], &av[k]);
        if (rc) {
            args_free(av, n);
            return rc;
        }
    }
    *out = av;
    return RC_OK;
}

static bool need_tensor(run *r, const argval *a, const char *fn) {
    if (a->t) return true;
    tx_error(r->d, a->span, "'%s' needs a tensor here, not a string", fn);
    return false;
}

/* A rank-0 argument as a number. */
static bool arg_number(run *r, const argval *a, const char *fn, double *re, double *im) {
    char sb[256];
    if (!need_tensor(r, a, fn)) return false;
    if (a->t->rank != 0) {
        tx_error(r->d, a->span, "'%s' needs a number here, got a tensor of shape %s", fn,
                 shape_str(a->t, sb, sizeof sb));
        return false;
    }
    double i;
    txrt_get(a->t, 0, re, &i);
    if (im) *im = i;
    else if (i != 0) {
        tx_error(r->d, a->span, "'%s' needs a real number here, got a complex one", fn);
        return false;
    }
    return true;
}

/* A rank-0 argument that must be a whole number (a size, an axis, a seed). */
static bool arg_whole(run *r, const argval *a, const char *fn, const char *what, int64_t *out) {
    double v;
    if (!arg_number(r, a, fn, &v, NULL)) return false;
    if (!(v == floor(v))) {
        tx_error(r->d, a->span, "%s of '%s' must be a whole number, got %.17g", what, fn, v);
        return false;
    }
    if (fabs(v) > 9007199254740992.0) { /* 2^53, as ir/check.c */
        tx_error(r->d, a->span, "%s of '%s' must be at most 2^53 in magnitude, got %.17g", what, fn, v);
        return false;
    }
    *out = (int64_t)v;
    return true;
}

static bool arg_size(run *r, const argval *a, const char *fn, int64_t *out) {
    if (!arg_whole(r, a, fn, "a size", out)) return false;
    if (*out < 0) {
        tx_error(r->d, a->span, "a size of '%s' must not be negative, got %lld", fn, (long long)*out);
        return false;
    }
    return true;
}

static bool arg_string(run *r, const argval *a, const char *fn, const char **s) {
    if (a->t) {
        tx_error(r->d, a->span, "'%s' needs a string here", fn);
        return false;
    }
    *s = a->str;
    return true;
}

/* The keyword argument `name` of s evaluated as a real number (def when absent). */
static int kwarg_number(run *r, env *e, const tx_tir_stmt *s, const char *name, double def,
                        double *out, double *im_out) {
    *out = def;
    if (im_out) *im_out = 0;
    for (int k = 0; k < s->nkwargs; k++) {
        if (strcmp(s->kwargs[k].name, name) != 0) continue;
        argval a;
        int rc = eval_arg(r, e, s->kwargs[k].value, &a);
        if (rc) return rc;
        a.span = s->kwargs[k].span;
        const char *fn = tx_builtins[s->builtin].name;
        bool ok = arg_number(r, &a, fn, out, im_out);
        txrt_release(a.t);
        return ok ? RC_OK : RC_COMPILE;
    }
    return RC_OK;
}

/* ---- builtins ----------------------------------------------------------------- */

#define PW_BLOCK 128    /* numpy's PW_BLOCKSIZE */
#define NP_BUFSIZE 8192 /* numpy's default ufunc buffer: reductions go block by block */

/* numpy's pairwise summation, in double and in float. */
static double pw_sum_d(const double *a, int64_t n) {
    if (n < 8) {
        double res = 0.;
        for (int64_t i = 0; i < n; i++) res += a[i];
        return res;
    }
    if (n <= PW_BLOCK) {
        double r[8];
        int64_t i;
        for (int j = 0; j < 8; j++) r[j] = a[j];
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    int64_t n2 = n / 2;
    n2 -= n2 % 8;
    return pw_sum_d(a, n2) + pw_sum_d(a + n2, n - n2);
}

static float pw_sum_f(const float *a, int64_t n) {
    if (n < 8) {
        float res = 0.f;
        for (int64_t i = 0; i < n; i++) res += a[i];
        return res;
    }
    if (n <= PW_BLOCK) {
        float r[8];
        int64_t i;
        for (int j = 0; j < 8; j++) r[j] = a[j];
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    int64_t n2 = n / 2;
    n2 -= n2 % 8;
    return pw_sum_f(a, n2) + pw_sum_f(a + n2, n - n2);
}

/* Complex: a holds n scalars (n/2 interleaved elements); numpy keeps four
 * element accumulators per part. */
static void pw_sum_zd(const double *a, int64_t n, double *rr, double *ri) {
    if (n < 8) {
        double xr = 0., xi = 0.;
        for (int64_t i = 0; i < n; i += 2) xr += a[i], xi += a[i + 1];
        *rr = xr, *ri = xi;
        return;
    }
    if (n <= PW_BLOCK) {
        double r[8];
        int64_t i;
        for (int j = 0; j < 8; j++) r[j] = a[j];
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        double xr = ((r[0] + r[2]) + (r[4] + r[6])), xi = ((r[1] + r[3]) + (r[5] + r[7]));
        for (; i < n; i += 2) xr += a[i], xi += a[i + 1];
        *rr = xr, *ri = xi;
        return;
    }
    int64_t n2 = n / 2;
    n2 -= n2 % 8;
    double r1, i1, r2, i2;
    pw_sum_zd(a, n2, &r1, &i1);
    pw_sum_zd(a + n2, n - n2, &r2, &i2);
    *rr = r1 + r2, *ri = i1 + i2;
}

static void pw_sum_zf(const float *a, int64_t n, float *rr, float *ri) {
    if (n < 8) {
        float xr = 0.f, xi = 0.f;
        for (int64_t i = 0; i < n; i += 2) xr += a[i], xi += a[i + 1];
        *rr = xr, *ri = xi;
        return;
    }
    if (n <= PW_BLOCK) {
        float r[8];
        int64_t i;
        for (int j = 0; j < 8; j++) r[j] = a[j];
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        float xr = ((r[0] + r[2]) + (r[4] + r[6])), xi = ((r[1] + r[3]) + (r[5] + r[7]));
        for (; i < n; i += 2) xr += a[i], xi += a[i + 1];
        *rr = xr, *ri = xi;
        return;
    }
    int64_t n2 = n / 2;
    n2 -= n2 % 8;
    float r1, i1, r2, i2;
    pw_sum_zf(a, n2, &r1, &i1);
    pw_sum_zf(a + n2, n - n2, &r2, &i2);
    *rr = r1 + r2, *ri = i1 + i2;
}

/* numpy.sum(X) of the whole tensor, in X's dtype. */
static void whole_sum(const txrt_tensor *t, double *re, double *im) {
    *re = *im = 0;
    switch (t->dtype) {
    case TXRT_F64: {
        double acc = 0.;
        for (int64_t s = 0; s < t->size; s += NP_BUFSIZE)
            acc += pw_sum_d((const double *)t->data + s, t->size - s < NP_BUFSIZE ? t->size - s : NP_BUFSIZE);
        *re = acc;
        break;
    }
    case TXRT_F32: {
        float acc = 0.f;
        for (int64_t s = 0; s < t->size; s += NP_BUFSIZE)
            acc += pw_sum_f((const float *)t->data + s, t->size - s < NP_BUFSIZE ? t->size - s : NP_BUFSIZE);
        *re = acc;
        break;
    }
    case TXRT_C128: {
        double ar = 0., ai = 0., xr, xi;
        for (int64_t s = 0; s < t->size; s += NP_BUFSIZE) {
            int64_t n = t->size - s < NP_BUFSIZE ? t->size - s : NP_BUFSIZE;
            pw_sum_zd((const double *)t->data + 2 * s, 2 * n, &xr, &xi);
            ar += xr, ai += xi;
        }
        *re = ar, *im = ai;
        break;
    }
    case TXRT_C64: {
        float ar = 0.f, ai = 0.f, xr, xi;
        for (int64_t s = 0; s < t->size; s += NP_BUFSIZE) {
            int64_t n = t->size - s < NP_BUFSIZE ? t->size - s : NP_BUFSIZE;
            pw_sum_zf((const float *)t->data + 2 * s, 2 * n, &xr, &xi);
            ar += xr, ai += xi;
        }
        *re = ar, *im = ai;
        break;
    }
    }
}

/* The real dtype of the same precision (norm of c64 is f32). */
static txrt_dtype real_of(txrt_dtype dt) {
    return dt == TXRT_C128 ? TXRT_F64 : dt == TXRT_C64 ? TXRT_F32 : dt;
}

static bool is_close(double ar, double ai, double br, double bi, double rtol, double atol) {
    bool afin = isfinite(ar) && isfinite(ai), bfin = isfinite(br) && isfinite(bi);
    if (afin && bfin) return cabs(zmake(ar - br, ai - bi)) <= atol + rtol * cabs(zmake(br, bi));
    if (isnan(ar) || isnan(ai) || isnan(br) || isnan(bi)) return false;
    return ar == br && ai == bi;    /* infinities: close only when equal */
}

/* Shape from positional size arguments av[from..n). */
static bool shape_args(run *r, const argval *av, int from, int n, const char *fn, tx_span at,
                       int *rank, int64_t *shape) {
    if (n - from > TXRT_MAX_RANK) {
        tx_error(r->d, at, "'%s' got %d sizes; tensors have at most %d axes", fn, n - from, TXRT_MAX_RANK);
        return false;
    }
    *rank = n - from;
    for (int k = from; k < n; k++)
        if (!arg_size(r, &av[k], fn, &shape[k - from])) return false;
    return true;
}

/* A slice of a tensor at run-time positions (%take, %put): arguments
 * first.. of s, one per axis of X, a position or ":" for an axis kept. */
typedef struct slice {
    const txrt_tensor *x;
    int64_t off;                       /* element offset of the slice's first element */
    int rank;
    int64_t shape[TXRT_MAX_RANK];      /* the kept axes */
    int64_t stride[TXRT_MAX_RANK];     /* their strides in X (elements) */
} slice;

static bool slice_of(run *r, const tx_tir_stmt *s, argval *av, int first, slice *sl) {
    const txrt_tensor *x = av[0].t;
    const char *fn = tx_builtins[s->builtin].name;
    memset(sl, 0, sizeof *sl);
    sl->x = x;
    if (x->rank != s->nargs - first) {
        tx_error(r->d, s->span, "%s has rank %d but is indexed with %d subscript%s", s->args[0]->var, x->rank,
                 s->nargs - first, s->nargs - first == 1 ? "" : "s");
        return false;
    }
    int64_t stride = 1;
    for (int a = x->rank - 1; a >= 0; a--) {
        const argval *p = &av[first + a];
        if (!p->t) { /* kept (filled in order below) */
            stride *= x->shape[a];
            continue;
        }
        int64_t v;
        if (!arg_whole(r, p, fn, "the subscript", &v)) return false;
        if (v < -x->shape[a] || v >= x->shape[a]) {
            tx_error(r->d, p->span, "index %lld is out of bounds for axis %d of %s with size %lld", (long long)v, a,
                     s->args[0]->var, (long long)x->shape[a]);
            return false;
        }
        sl->off += (v < 0 ? v + x->shape[a] : v) * stride;
        stride *= x->shape[a];
    }
    stride = 1;
    int64_t st[TXRT_MAX_RANK];
    for (int a = x->rank - 1; a >= 0; a--) {
        st[a] = stride;
        stride *= x->shape[a];
    }
    for (int a = 0; a < x->rank; a++)
        if (!av[first + a].t) {
            sl->shape[sl->rank] = x->shape[a];
            sl->stride[sl->rank++] = st[a];
        }
    return true;
}

/* Copy between the slice and the dense row-major buffer buf (to the slice
 * when into, adding when add), in runs of the last kept axis when it is
 * contiguous in X. */
static void slice_copy(const slice *sl, void *buf, bool into, bool add) {
    txrt_dtype dt = sl->x->dtype;
    size_t es = txrt_dtype_size(dt);
    int64_t size = 1;
    for (int a = 0; a < sl->rank; a++) size *= sl->shape[a];
    int64_t run = sl->rank > 0 && sl->stride[sl->rank - 1] == 1 ? sl->shape[sl->rank - 1] : 1;
    int nreal = dt == TXRT_C128 || dt == TXRT_C64 ? 2 : 1;
    for (int64_t i = 0; run > 0 && i < size; i += run) {
        int64_t src = sl->off, rem = i;
        for (int a = sl->rank - 1; a >= 0; a--) {
            src += (rem % sl->shape[a]) * sl->stride[a];
            rem /= sl->shape[a];
        }
        char *xp = (char *)sl->x->data + (size_t)src * es, *bp = (char *)buf + (size_t)i * es;
        if (!into) memcpy(bp, xp, (size_t)run * es);
        else if (!add) memcpy(xp, bp, (size_t)run * es);
        else if (dt == TXRT_F64 || dt == TXRT_C128)
            for (int64_t k = 0; k < run * nreal; k++) ((double *)xp)[k] += ((const double *)bp)[k];
        else
            for (int64_t k = 0; k < run * nreal; k++) ((float *)xp)[k] += ((const float *)bp)[k];
    }
}

/* Run builtin s->builtin with evaluated arguments; results into res. */
static int call_builtin(run *r, env *e, const tx_tir_stmt *s, argval *av, txrt_tensor **res) {
    txrt_ctx *ctx = &r->in->ctx;
    tx_diags *d = r->d;
    const int b = s->builtin, n = s->nargs;
    const char *fn = tx_builtins[b].name;
    int64_t shape[TXRT_MAX_RANK];
    int rank;
    char sa[256], sb[256];
    txrt_tensor *t = NULL;
    int rc;

    switch ((tx_builtin)b) {
    case TX_B_ZEROS:
    case TX_B_ONES:
    case TX_B_FULL:
    case TX_B_RAND:
    case TX_B_RANDN: {
        if (!shape_args(r, av, 0, n, fn, s->span, &rank, shape)) return RC_COMPILE;
        double vre = 1, vim = 0, seed = 0;
        txrt_dtype dt = TXRT_F64;
        if (b == TX_B_FULL) {   /* numpy: the fill value's dtype */
            const tx_tir_kwarg *kw = NULL;
            for (int k = 0; k < s->nkwargs; k++)
                if (strcmp(s->kwargs[k].name, "value") == 0) kw = &s->kwargs[k];
            if (!kw) {
                tx_error(d, s->span, "'full' needs the fill value: full(..., value=v)");
                return RC_COMPILE;
            }
            argval a;
            if ((rc = eval_arg(r, e, kw->value, &a))) return rc;
            bool ok = arg_number(r, &a, fn, &vre, &vim);
            if (ok) dt = a.t->dtype;
            txrt_release(a.t);
            if (!ok) return RC_COMPILE;
        }
        if (b == TX_B_RAND || b == TX_B_RANDN) {
            if ((rc = kwarg_number(r, e, s, "seed", 0, &seed, NULL))) return rc;
            if (seed != floor(seed) || seed < 0 || seed >= 18446744073709551616.0) {
                tx_error(d, s->span, "the seed of '%s' must be a whole number >= 0, got %.17g", fn, seed);
                return RC_COMPILE;
            }
        }
        if (!(t = txrt_tensor_new(ctx, dt, rank, shape))) return runtime_fail(r, s->span);
        if (b == TX_B_ONES || b == TX_B_FULL)
            for (int64_t p = 0; p < t->size; p++) txrt_set(t, p, vre, vim);
        else if (b == TX_B_RAND) txrt_fill_rand(t, (uint64_t)seed);
        else if (b == TX_B_RANDN) txrt_fill_randn(t, (uint64_t)seed);
        res[0] = t;
        return RC_OK;
    }
    case TX_B_EYE:
    case TX_B_ARANGE: {
        int64_t m;
        if (!arg_size(r, &av[0], fn, &m)) return RC_COMPILE;
        shape[0] = shape[1] = m;
        if (!(t = txrt_tensor_new(ctx, TXRT_F64, b == TX_B_EYE ? 2 : 1, shape))) return runtime_fail(r, s->span);
        double *x = t->data;
        for (int64_t i = 0; i < m; i++) {
            if (b == TX_B_EYE) x[i * m + i] = 1.0;
            else x[i] = (double)i;
        }
        res[0] = t;
        return RC_OK;
    }
    case TX_B_LINSPACE: {
        double ar, ai, br, bi;
        int64_t m;
        if (!arg_number(r, &av[0], fn, &ar, &ai) || !arg_number(r, &av[1], fn, &br, &bi) ||
            !arg_size(r, &av[2], fn, &m))
            return RC_COMPILE;
        bool z = ai != 0 || bi != 0 || txrt_dtype_is_complex(av[0].t->dtype) ||
                 txrt_dtype_is_complex(av[1].t->dtype);
        shape[0] = m;
        if (!(t = txrt_tensor_new(ctx, z ? TXRT_C128 : TXRT_F64, 1, shape))) return runtime_fail(r, s->span);
        /* numpy: start + i*step, the last point exactly stop */
        double div = (double)(m - 1);
        double sr = m > 1 ? (br - ar) / div : 0, si = m > 1 ? (bi - ai) / div : 0;
        for (int64_t i = 0; i < m; i++) {
            if (sr == 0 && si == 0 && m > 1)
                txrt_set(t, i, (double)i / div * (br - ar) + ar, (double)i / div * (bi - ai) + ai);
            else
                txrt_set(t, i, (double)i * sr + ar, (double)i * si + ai);
        }
        if (m > 1) txrt_set(t, m - 1, br, bi);
        res[0] = t;
        return RC_OK;
    }
    case TX_B_LOAD: {
        const char *path;
        if (!arg_string(r, &av[0], fn, &path)) return RC_COMPILE;
        if (!(t = txrt_npy_load(ctx, path))) return runtime_fail(r, av[0].span);
        res[0] = t;
        return RC_OK;
    }
    case TX_B_SAVE: {
        const char *path;
        if (!arg_string(r, &av[0], fn, &path) || !need_tensor(r, &av[1], fn)) return RC_COMPILE;
        if (txrt_npy_save(ctx, path, av[1].t) != 0) return runtime_fail(r, av[0].span);
        return RC_OK;
    }
    case TX_B_RESHAPE: {
        if (!need_tensor(r, &av[0], fn)) return RC_COMPILE;
        const txrt_tensor *x = av[0].t;
        rank = n - 1;
        if (rank > TXRT_MAX_RANK) {
            tx_error(d, s->span, "'reshape' got %d sizes; tensors have at most %d axes", rank, TXRT_MAX_RANK);
            return RC_COMPILE;
        }
        int64_t prod = 1;
        for (int k = 0; k < rank; k++) {
            if (!arg_size(r, &av[k + 1], fn, &shape[k])) return RC_COMPILE;
            if (__builtin_mul_overflow(prod, shape[k], &prod)) prod = -1;
        }
        if (prod != x->size) {
            tx_error(d, s->span, "cannot reshape '%s' of shape %s (%lld elements) to %s",
                     s->args[0]->var ? s->args[0]->var : "tensor", shape_str(x, sa, sizeof sa),
                     (long long)x->size, txrt_shape_str(rank, shape, sb, sizeof sb));
            return RC_COMPILE;
        }
        if (!(t = txrt_tensor_new(ctx, x->dtype, rank, shape))) return runtime_fail(r, s->span);
        if (x->size) memcpy(t->data, x->data, (size_t)x->size * txrt_dtype_size(x->dtype));
        res[0] = t;
        return RC_OK;
    }
    case TX_B_TAKE: { /* X[t, i]: the slice at run-time positions */
        slice sl;
        if (!need_tensor(r, &av[0], fn) || !slice_of(r, s, av, 1, &sl)) return RC_COMPILE;
        if (!(t = txrt_tensor_new(ctx, sl.x->dtype, sl.rank, sl.shape))) return runtime_fail(r, s->span);
        slice_copy(&sl, t->data, false, false);
        res[0] = t;
        return RC_OK;
    }
    case TX_B_PUT:       /* X[t, i] = V: X with the slice replaced */
    case TX_B_PUT_ADD: { /* X[t, i] += V */
        slice sl;
        if (!need_tensor(r, &av[0], fn) || !need_tensor(r, &av[1], fn) || !slice_of(r, s, av, 2, &sl))
            return RC_COMPILE;
        const txrt_tensor *v = av[1].t;
        if (v->rank != sl.rank || memcmp(v->shape, sl.shape, (size_t)sl.rank * sizeof *sl.shape) != 0) {
            tx_error(d, s->args[1]->span, "the right-hand side has shape %s but the part of %s it is assigned to "
                     "has shape %s", shape_str(v, sa, sizeof sa), s->args[0]->var,
                     txrt_shape_str(sl.rank, sl.shape, sb, sizeof sb));
            return RC_COMPILE;
        }
        txrt_tensor *x = av[0].t;
        /* in place when only the variable and this argument hold X (no alias sees it change) */
        if (x->refcount <= 2) t = txrt_retain(x);
        else if (!(t = txrt_tensor_copy(ctx, x))) return runtime_fail(r, s->span);
        txrt_tensor *vv = txrt_tensor_cast(ctx, v, x->dtype);
        if (!vv) {
            txrt_release(t);
            return runtime_fail(r, s->span);
        }
        sl.x = t;
        slice_copy(&sl, vv->data, true, b == TX_B_PUT_ADD);
        txrt_release(vv);
        res[0] = t;
        return RC_OK;
    }
    case TX_B_DIM: {
        int64_t k;
        if (!need_tensor(r, &av[0], fn) || !arg_whole(r, &av[1], fn, "the axis", &k)) return RC_COMPILE;
        const txrt_tensor *x = av[0].t;
        if (k < -(int64_t)x->rank || k >= x->rank) {
            tx_error(d, av[1].span, "axis %lld is out of range for a tensor of shape %s", (long long)k,
                     shape_str(x, sa, sizeof sa));
            return RC_COMPILE;
        }
        if (k < 0) k += x->rank;
        if (!(t = txrt_scalar_new(ctx, TXRT_F64, (double)x->shape[k], 0))) return runtime_fail(r, s->span);
        res[0] = t;
        return RC_OK;
    }
    case TX_B_CAST: {
        const char *name;
        txrt_dtype dt;
        if (!need_tensor(r, &av[0], fn) || !arg_string(r, &av[1], fn, &name)) return RC_COMPILE;
        if (txrt_dtype_from_name(name, &dt) != 0) {
            tx_error(d, av[1].span, "unknown dtype \"%s\" (expected \"f64\", \"f32\", \"c128\" or \"c64\")", name);
            return RC_COMPILE;
        }
        if (!(t = txrt_tensor_cast(ctx, av[0].t, dt))) return runtime_fail(r, s->span);
        res[0] = t;
        return RC_OK;
    }
    case TX_B_SUM1:
    case TX_B_MAX1:
    case TX_B_MIN1:
    case TX_B_NORM: {
        if (!need_tensor(r, &av[0], fn)) return RC_COMPILE;
        const txrt_tensor *x = av[0].t;
        double re = 0, im = 0;
        txrt_dtype dt = x->dtype;
        if (b == TX_B_SUM1) {
            whole_sum(x, &re, &im);
        } else if (b == TX_B_NORM) {
            double acc = 0;
            for (int64_t p = 0; p < x->size; p++) {
                double xr, xi;
                txrt_get(x, p, &xr, &xi);
                acc += xr * xr + xi * xi;
            }
            re = sqrt(acc);
            dt = real_of(dt);
        } else {
            if (x->size == 0) {
                tx_diag *g = tx_runtime_error(d, s->span, "'%s' of an empty tensor (shape %s) is undefined",
                                              fn, shape_str(x, sa, sizeof sa));
                tx_hint(d, g, "%s[i](X[i]) gives %s for an empty range", fn,
                        b == TX_B_MAX1 ? "-inf" : "inf");
                return RC_RUNTIME;
            }
            zval acc;
            txrt_get(x, 0, &re, &im);
            acc = zmake(re, im);
            for (int64_t p = 1; p < x->size; p++) {
                txrt_get(x, p, &re, &im);
                if (txrt_dtype_is_complex(dt))
                    acc = b == TX_B_MAX1 ? zmax(acc, zmake(re, im)) : zmin(acc, zmake(re, im));
                else
                    acc = zmake(b == TX_B_MAX1 ? rmax(creal(acc), re) : rmin(creal(acc), re), 0);
            }
            re = creal(acc), im = cimag(acc);
        }
        if (!(t = txrt_scalar_new(ctx, dt, re, im))) return runtime_fail(r, s->span);
        res[0] = t;
        return RC_OK;
    }
    case TX_B_ALLCLOSE: {
        if (!need_tensor(r, &av[0], fn) || !need_tensor(r, &av[1], fn)) return RC_COMPILE;
        const txrt_tensor *x = av[0].t, *y = av[1].t;
        double rtol, atol;
        if ((rc = kwarg_number(r, e, s, "rtol", 1e-7, &rtol, NULL))) return rc;
        if ((rc = kwarg_number(r, e, s, "atol", 0.0, &atol, NULL))) return rc;
        bool same = x->rank == y->rank && memcmp(x->shape, y->shape, sizeof(int64_t) * (size_t)x->rank) == 0;
        if (!same && x->rank != 0 && y->rank != 0) {
            tx_error(d, s->span, "'allclose' needs tensors of one shape, got %s and %s",
                     shape_str(x, sa, sizeof sa), shape_str(y, sb, sizeof sb));
            return RC_COMPILE;
        }
        int64_t m = x->size > y->size ? x->size : y->size;
        if (x->size == 0 || y->size == 0) m = 0;
        bool ok = true;
        for (int64_t p = 0; p < m && ok; p++) {
            double xr, xi, yr, yi;
            txrt_get(x, x->rank ? p : 0, &xr, &xi);
            txrt_get(y, y->rank ? p : 0, &yr, &yi);
            ok = is_close(xr, xi, yr, yi, rtol, atol);
        }
        if (!(t = txrt_scalar_new(ctx, TXRT_F64, ok ? 1.0 : 0.0, 0))) return runtime_fail(r, s->span);
        res[0] = t;
        return RC_OK;
    }
    /* ---- linear algebra, FFT, spherical: the runtime does the work ---- */
    case TX_B_SOLVE:
    case TX_B_LSTSQ:
    case TX_B_CHO_SOLVE:
        if (!need_tensor(r, &av[0], fn) || !need_tensor(r, &av[1], fn)) return RC_COMPILE;
        t = b == TX_B_SOLVE   ? txrt_solve(ctx, av[0].t, av[1].t)
            : b == TX_B_LSTSQ ? txrt_lstsq(ctx, av[0].t, av[1].t)
                              : txrt_cho_solve(ctx, av[0].t, av[1].t);
        if (!t) return runtime_fail(r, s->span);
        res[0] = t;
        return RC_OK;
    case TX_B_INV:
    case TX_B_DET:
    case TX_B_CHOLESKY:
        if (!need_tensor(r, &av[0], fn)) return RC_COMPILE;
        t = b == TX_B_INV ? txrt_inv(ctx, av[0].t)
            : b == TX_B_DET ? txrt_det(ctx, av[0].t)
                            : txrt_cholesky(ctx, av[0].t);
        if (!t) return runtime_fail(r, s->span);
        res[0] = t;
        return RC_OK;
    case TX_B_EIGH:
    case TX_B_SVD:
    case TX_B_QR:
        if (!need_tensor(r, &av[0], fn)) return RC_COMPILE;
        rc = b == TX_B_EIGH ? txrt_eigh(ctx, av[0].t, &res[0], &res[1])
             : b == TX_B_SVD ? txrt_svd(ctx, av[0].t, &res[0], &res[1], &res[2])
                             : txrt_qr(ctx, av[0].t, &res[0], &res[1]);
        if (rc != 0) return runtime_fail(r, s->span);
        return RC_OK;
    case TX_B_FFT:
    case TX_B_IFFT: {
        double axis;
        if (!need_tensor(r, &av[0], fn)) return RC_COMPILE;
        if ((rc = kwarg_number(r, e, s, "axis", -1, &axis, NULL))) return rc;
        if (!(t = txrt_fft(ctx, av[0].t, (int)axis, b == TX_B_IFFT))) return runtime_fail(r, s->span);
        res[0] = t;
        return RC_OK;
    }
    case TX_B_FFT2:
    case TX_B_IFFT2:
    case TX_B_RFFT:
        if (!need_tensor(r, &av[0], fn)) return RC_COMPILE;
        t = b == TX_B_RFFT ? txrt_rfft(ctx, av[0].t) : txrt_fft2(ctx, av[0].t, b == TX_B_IFFT2);
        if (!t) return runtime_fail(r, s->span);
        res[0] = t;
        return RC_OK;
    case TX_B_IRFFT: {
        int64_t len = 0;
        if (!need_tensor(r, &av[0], fn)) return RC_COMPILE;
        if (n > 1 && !arg_whole(r, &av[1], fn, "the output length", &len)) return RC_COMPILE;
        if (!(t = txrt_irfft(ctx, av[0].t, len))) return runtime_fail(r, s->span);
        res[0] = t;
        return RC_OK;
    }
    case TX_B_SPH_HARM:
    case TX_B_GAUNT: {
        int64_t L;
        if (!arg_whole(r, &av[0], fn, "the degree L", &L)) return RC_COMPILE;
        if (b == TX_B_SPH_HARM) {
            if (!need_tensor(r, &av[1], fn) || !need_tensor(r, &av[2], fn)) return RC_COMPILE;
            t = txrt_sph_harm(ctx, L, av[1].t, av[2].t);
        } else {
            t = txrt_gaunt(ctx, L);
        }
        if (!t) return runtime_fail(r, s->span);
        res[0] = t;
        return RC_OK;
    }
    default:
        break;
    }
    tx_error(d, s->span, "'%s' is not available in this build yet", fn);
    return RC_COMPILE;
}

/* ---- statements ------------------------------------------------------------------ */

static int exec_stmts(run *r, env *e, tx_tir_stmt **body, int n, int kind, const tx_tir_func *fn);

/* Size names of a signature: bound from the arguments' shapes. */
typedef struct sizetab {
    const char **name;
    int64_t *value;
    int n;
} sizetab;

static int64_t *size_find(sizetab *st, const char *name) {
    for (int k = 0; k < st->n; k++)
        if (strcmp(st->name[k], name) == 0) return &st->value[k];
    return NULL;
}

/* Match the shape of t against a parameter/result annotation; binds new
 * size names.  `what` names the tensor for messages. */
static bool match_dims(run *r, const tx_tir_func *fn, const tx_tir_param *p, const txrt_tensor *t,
                       sizetab *st, tx_span at, const char *what) {
    char sa[256];
    if (t->rank != p->ndims) {
        tx_error(r->d, at, "%s of '%s' should have %d axis%s (%s), got shape %s", what, fn->name, p->ndims,
                 p->ndims == 1 ? "" : "es", p->name, shape_str(t, sa, sizeof sa));
        return false;
    }
    for (int k = 0; k < p->ndims; k++) {
        const tx_ast_dim *dm = &p->dims[k];
        int64_t have = t->shape[k];
        if (!dm->name) {
            if (have != dm->value) {
                tx_error(r->d, at, "axis %d of %s of '%s' should have size %lld, got shape %s", k, what,
                         fn->name, (long long)dm->value, shape_str(t, sa, sizeof sa));
                return false;
            }
            continue;
        }
        int64_t *v = size_find(st, dm->name);
        if (v) {
            if (*v != have) {
                tx_error(r->d, at, "size '%s' of '%s' is %lld from earlier arguments but %lld in %s (shape %s)",
                         dm->name, fn->name, (long long)*v, (long long)have, what, shape_str(t, sa, sizeof sa));
                return false;
            }
        } else {
            st->name[st->n] = dm->name;
            st->value[st->n++] = have;
        }
    }
    return true;
}

static int call_user(run *r, env *caller, const tx_tir_stmt *s, argval *av, txrt_tensor **res) {
    tx_diags *d = r->d;
    const tx_source *fsrc = NULL;
    tx_tir_func *fn = s->func;
    if (fn) fsrc = func_source(r->in, fn);
    else if (s->callee) fn = find_func(r->in, s->callee, &fsrc);
    if (!fn) {
        tx_error(d, s->span, "'%s' is not a function", s->callee ? s->callee : "?");
        return RC_COMPILE;
    }
    if (s->nargs != fn->nparams) {
        tx_error(d, s->span, "'%s' takes %d argument%s, got %d", fn->name, fn->nparams,
                 fn->nparams == 1 ? "" : "s", s->nargs);
        return RC_COMPILE;
    }
    if (s->nresults > fn->nresults) {
        tx_error(d, s->span, "'%s' returns %d result%s, not %d", fn->name, fn->nresults,
                 fn->nresults == 1 ? "" : "s", s->nresults);
        return RC_COMPILE;
    }
    if (r->depth >= MAX_CALL_DEPTH) {
        tx_runtime_error(d, s->span, "function calls nested more than %d deep (runaway recursion?)",
                         MAX_CALL_DEPTH);
        return RC_RUNTIME;
    }
    int maxsizes = 0;
    for (int k = 0; k < fn->nparams; k++) maxsizes += fn->params[k].ndims;
    for (int k = 0; k < fn->nresults; k++) maxsizes += fn->results[k].ndims;
    sizetab st = { xcalloc((size_t)maxsizes + 1, sizeof(char *)), xcalloc((size_t)maxsizes + 1, sizeof(int64_t)), 0 };
    env local = { 0 };
    int rc = RC_COMPILE;
    char what[64];
    const tx_source *saved_src = d->src;

    for (int k = 0; k < fn->nparams; k++) {
        const tx_tir_param *p = &fn->params[k];
        if (!need_tensor(r, &av[k], fn->name)) goto done;
        snprintf(what, sizeof what, "argument %d", k + 1);
        if (!match_dims(r, fn, p, av[k].t, &st, av[k].span, what)) goto done;
        txrt_tensor *t = av[k].t;
        if (p->dtype >= 0 && p->dtype != (int)t->dtype) {
            if (!(t = txrt_tensor_cast(&r->in->ctx, t, (txrt_dtype)p->dtype))) {
                rc = runtime_fail(r, av[k].span);
                goto done;
            }
        } else {
            txrt_retain(t);
        }
        env_put(&local, p->name, t);
    }
    for (int k = 0; k < st.n; k++) {
        txrt_tensor *t = txrt_scalar_new(&r->in->ctx, TXRT_F64, (double)st.value[k], 0);
        if (!t) {
            rc = runtime_fail(r, s->span);
            goto done;
        }
        env_put(&local, st.name[k], t);
    }

    if (fsrc) d->src = fsrc;
    r->depth++;
    rc = exec_stmts(r, &local, fn->body, fn->nbody, FR_FUNC, fn);
    r->depth--;
    if (rc == RC_RETURN) rc = RC_OK;
    if (rc) goto done;
    rc = RC_COMPILE;
    for (int k = 0; k < fn->nresults; k++) {
        const tx_tir_param *p = &fn->results[k];
        txrt_tensor *t = env_get(&local, p->name);
        if (!t) {
            tx_error(d, p->span, "'%s' did not assign its result '%s'", fn->name, p->name);
            goto done;
        }
        snprintf(what, sizeof what, "result '%s'", p->name);
        if (!match_dims(r, fn, p, t, &st, p->span, what)) goto done;
        if (p->dtype >= 0 && p->dtype != (int)t->dtype) {
            if (!(t = txrt_tensor_cast(&r->in->ctx, t, (txrt_dtype)p->dtype))) {
                rc = runtime_fail(r, p->span);
                goto done;
            }
        } else {
            txrt_retain(t);
        }
        res[k] = t;
    }
    rc = RC_OK;
done:
    d->src = saved_src;
    env_clear(&local);
    free(st.name);
    free(st.value);
    (void)caller;
    return rc;
}

static int exec_call(run *r, env *e, const tx_tir_stmt *s) {
    tx_diags *d = r->d;
    tx_lookup lk = env_lookup(e);
    int nres = s->nresults;
    int cap = nres > 3 ? nres : 3;
    const tx_tir_func *callee = s->func;
    if (!callee && s->builtin < 0 && s->callee) callee = find_func(r->in, s->callee, NULL);
    if (callee && callee->nresults > cap) cap = callee->nresults;
    tx_type *types = xcalloc((size_t)cap, sizeof *types);
    txrt_tensor **res = xcalloc((size_t)cap, sizeof *res);
    argval *av = NULL;
    int rc = RC_COMPILE;
    if (s->builtin >= 0 && (s->builtin >= TX_B__COUNT || tx_builtins[s->builtin].kind != TX_BK_CALL)) {
        tx_error(d, s->span, "internal error: builtin %d is not callable here", s->builtin);
        goto done;
    }
    if (!tx_tir_call_types(s, &lk, types, d)) goto done;
    if ((rc = eval_args(r, e, s->args, s->nargs, &av))) goto done;
    if (s->builtin >= 0) {
        if (s->nargs < tx_builtins[s->builtin].min_args ||
            (tx_builtins[s->builtin].max_args >= 0 && s->nargs > tx_builtins[s->builtin].max_args) ||
            nres > tx_builtins[s->builtin].nresults) {
            tx_error(d, s->span, "internal error: bad call of '%s'", tx_builtins[s->builtin].name);
            rc = RC_COMPILE;
            goto done;
        }
        rc = call_builtin(r, e, s, av, res);
    } else {
        rc = call_user(r, e, s, av, res);
    }
    if (rc) goto done;
    for (int k = 0; k < nres; k++) {
        if (!res[k]) {
            tx_error(d, s->span, "internal error: result %d of the call is missing", k + 1);
            rc = RC_COMPILE;
            goto done;
        }
    }
    for (int k = 0; k < nres; k++) {
        env_put(e, s->results[k], res[k]);
        res[k] = NULL;
    }
done:
    for (int k = 0; k < cap; k++) txrt_release(res[k]);
    free(res);
    free(types);
    if (av) args_free(av, s->nargs);
    return rc;
}

/* A for-loop bound: a whole number. */
static int loop_bound(run *r, env *e, const tx_tir_expr *x, int64_t *out) {
    zval z;
    bool cz;
    int rc = eval_scalar(r, e, x, &z, &cz);
    if (rc) return rc;
    double v = creal(z);
    if (cimag(z) != 0 || v != floor(v)) {
        tx_error(r->d, x->span, "a loop bound must be a whole number, got %.17g%s", v,
                 cimag(z) != 0 ? " (complex)" : "");
        return RC_COMPILE;
    }
    if (fabs(v) > 9007199254740992.0) { /* same words as ir/check.c */
        tx_error(r->d, x->span, "a loop bound must be at most 2^53 in magnitude, got %.17g", v);
        return RC_COMPILE;
    }
    *out = (int64_t)v;
    return RC_OK;
}

/* for var in lo..hi { body }: the body runs in the enclosing environment
 * (loops are not scopes), except that the loop variable exists only inside
 * the loop; a binding it shadowed comes back afterwards. */
static int exec_for(run *r, env *e, const tx_tir_stmt *s) {
    int64_t lo, hi;
    int rc;
    if ((rc = loop_bound(r, e, s->lo, &lo)) || (rc = loop_bound(r, e, s->hi, &hi))) return rc;
    if (hi > lo && hi - lo > MAX_TRIPS) {
        tx_runtime_error(r->d, s->span, "this loop would run %lld times; the limit is 2^31", (long long)(hi - lo));
        return RC_RUNTIME;
    }
    /* nested loops multiply: the limit holds for all of them together */
    double outer = r->trips > 0 ? r->trips : 1;
    double total = outer * (double)(hi > lo ? hi - lo : 0);
    if (total > (double)MAX_TRIPS) {
        tx_runtime_error(r->d, s->span, "with its enclosing loops, this loop would run %.0f times; the limit is 2^31",
                         total);
        return RC_RUNTIME;
    }
    double saved_trips = r->trips;
    r->trips = total;
    txrt_tensor *shadowed = env_get(e, s->var);
    if (shadowed) txrt_retain(shadowed);
    rc = RC_OK;
    for (int64_t v = lo; v < hi && rc == RC_OK; v++) {
        txrt_tensor *t = env_get(e, s->var);
        if (t && t != shadowed && t->refcount == 1 && t->rank == 0 && t->dtype == TXRT_F64) {
            ((double *)t->data)[0] = (double)v;     /* nobody else sees it */
        } else {
            if (!(t = txrt_scalar_new(&r->in->ctx, TXRT_F64, (double)v, 0))) {
                rc = runtime_fail(r, s->span);
                break;
            }
            env_put(e, s->var, t);
        }
        rc = exec_stmts(r, e, s->body, s->nbody, FR_LOOP, NULL);
    }
    r->trips = saved_trips;
    if (shadowed) env_put(e, s->var, shadowed);
    else env_remove(e, s->var);
    return rc;
}

static int exec_print(run *r, env *e, const tx_tir_stmt *s) {
    argval *av;
    int rc = eval_args(r, e, s->items, s->nitems, &av);
    if (rc) return rc;
    FILE *out = r->in->out;
    for (int k = 0; k < s->nitems; k++) {
        if (k) fputc(' ', out);
        if (av[k].t) txrt_print(out, av[k].t);
        else fwrite(av[k].str, 1, (size_t)av[k].len, out);
    }
    fputc('\n', out);
    args_free(av, s->nitems);
    return RC_OK;
}

static int exec_assert(run *r, env *e, const tx_tir_stmt *s) {
    char sa[256];
    const tx_tir_expr *cond = s->nargs > 0 ? s->args[0] : s->nitems > 0 ? s->items[0] : NULL;
    if (!cond) {
        tx_error(r->d, s->span, "internal error: assert without a condition");
        return RC_COMPILE;
    }
    argval a;
    int rc = eval_arg(r, e, cond, &a);
    if (rc) return rc;
    if (!a.t || a.t->rank != 0) {
        if (a.t) tx_error(r->d, cond->span, "assert needs a scalar condition, got shape %s", shape_str(a.t, sa, sizeof sa));
        else tx_error(r->d, cond->span, "assert needs a scalar condition, got a string");
        txrt_release(a.t);
        return RC_COMPILE;
    }
    double re, im;
    txrt_get(a.t, 0, &re, &im);
    txrt_release(a.t);
    if (re != 0 || im != 0) return RC_OK;
    if (s->msg) tx_runtime_error(r->d, s->span, "assertion failed: %s", s->msg);
    else tx_runtime_error(r->d, s->span, "assertion failed");
    return RC_RUNTIME;
}

static int exec_stmt(run *r, env *e, const tx_tir_stmt *s) {
    switch (s->kind) {
    case TX_TIR_DEF: return exec_def(r, e, s);
    case TX_TIR_CALL: return exec_call(r, e, s);
    case TX_TIR_FOR: return exec_for(r, e, s);
    case TX_TIR_PRINT: return exec_print(r, e, s);
    case TX_TIR_ASSERT: return exec_assert(r, e, s);
    case TX_TIR_RETURN: return RC_RETURN;
    }
    tx_error(r->d, s->span, "internal error: unknown statement kind %d", (int)s->kind);
    return RC_COMPILE;
}

/* ---- liveness for the group backend ---------------------------------------------- */

static bool expr_reads(const tx_tir_expr *x, const char *name) {
    if (!x) return false;
    if (x->kind == TX_TIR_ACCESS && x->var && strcmp(x->var, name) == 0) return true;
    return expr_reads(x->a, name) || expr_reads(x->b, name) || expr_reads(x->c, name);
}

/* Whether statement s (deeply) reads name. */
static bool stmt_reads(const tx_tir_stmt *s, const char *name) {
    switch (s->kind) {
    case TX_TIR_DEF:
        return (s->accumulate && strcmp(s->out, name) == 0) || expr_reads(s->rhs, name);
    case TX_TIR_CALL:
        for (int k = 0; k < s->nargs; k++)
            if (expr_reads(s->args[k], name)) return true;
        for (int k = 0; k < s->nkwargs; k++)
            if (expr_reads(s->kwargs[k].value, name)) return true;
        return false;
    case TX_TIR_FOR:
        if (expr_reads(s->lo, name) || expr_reads(s->hi, name)) return true;
        for (int k = 0; k < s->nbody; k++)
            if (stmt_reads(s->body[k], name)) return true;
        return false;
    case TX_TIR_PRINT:
        for (int k = 0; k < s->nitems; k++)
            if (expr_reads(s->items[k], name)) return true;
        return false;
    case TX_TIR_ASSERT:
        for (int k = 0; k < s->nargs; k++)
            if (expr_reads(s->args[k], name)) return true;
        for (int k = 0; k < s->nitems; k++)
            if (expr_reads(s->items[k], name)) return true;
        return false;
    case TX_TIR_RETURN:
        return false;
    }
    return true;
}

typedef struct group_ctx {
    run *r;
    env *e;
    int end;                        /* the stretch ends before fr->body[end] */
} group_ctx;

static txrt_tensor *group_get(void *ctx, const char *name) {
    return env_get(((group_ctx *)ctx)->e, name);
}

static void group_set(void *ctx, const char *name, txrt_tensor *t) {
    env *e = ((group_ctx *)ctx)->e;
    if (t) env_put(e, name, txrt_retain(t));
    else env_remove(e, name);
}

/* Whether s assigns all of name (a later read sees only the new value). */
static bool stmt_kills(const tx_tir_stmt *s, const char *name) {
    if (s->kind == TX_TIR_DEF) return !s->accumulate && strcmp(s->out, name) == 0;
    if (s->kind == TX_TIR_CALL)
        for (int k = 0; k < s->nresults; k++)
            if (strcmp(s->results[k], name) == 0) return true;
    return false;
}

/* Scan body[from..n): 1 read before being reassigned, 0 reassigned first,
 * -1 neither. */
static int scan_reads(tx_tir_stmt **body, int from, int n, const char *name) {
    for (int k = from; k < n; k++) {
        if (stmt_reads(body[k], name)) return 1;
        if (stmt_kills(body[k], name)) return 0;
    }
    return -1;
}

/* Conservative: true unless no statement that can run later reads name
 * before assigning it anew. */
static bool group_live(void *ctx, const char *name) {
    group_ctx *g = ctx;
    int from = g->end;
    for (frame *f = g->r->fr; f; f = f->up) {
        int sc = scan_reads(f->body, from, f->n, name);
        if (sc == 1) return true;
        if (sc == 0) return false;
        if (f->kind == FR_LOOP && scan_reads(f->body, 0, f->n, name) == 1) return true; /* next iteration */
        if (f->kind == FR_FUNC) {   /* only the results leave a function */
            for (int k = 0; f->fn && k < f->fn->nresults; k++)
                if (strcmp(f->fn->results[k].name, name) == 0) return true;
            return false;
        }
        if (f->kind == FR_TOP) {
            const tx_interp *in = g->r->in;
            if (!in->script || g->r->depth > 0) return true;
            if (in->again && scan_reads(f->body, 0, f->n, name) == 1) return true;
            return scan_reads((tx_tir_stmt **)in->after, 0, in->nafter, name) == 1;
        }
        from = f->up ? f->up->pos + 1 : 0;
    }
    return true;
}

/* Offer the stretch of DEFs starting at body[k] to the group backend;
 * *nrun gets how many statements it ran.  When the group also computed
 * part of the next statement, what is left of that one runs here too. */
static int run_group(run *r, env *e, tx_tir_stmt **body, int n, int k, int *nrun) {
    *nrun = 0;
    int end = k;
    while (end < n && body[end]->kind == TX_TIR_DEF) end++;
    group_ctx g = { r, e, end };
    tx_group_env ge = { group_get, group_set, group_live, &g };
    int got = 0;
    tx_group_rest rest = { NULL, NULL, NULL };
    int rc = r->in->group.run_group(r->in->group.self, body + k, end - k, &ge, &got, &rest, r->d);
    if (!rc && (got < 0 || got > end - k)) got = 0;
    if (!rc && got > 0 && got < end - k && rest.stmt) {
        r->fr->pos = k + got;
        rc = exec_stmt(r, e, rest.stmt);
        if (rest.temp) env_remove(e, rest.temp);
        if (!rc) got++;
    }
    tx_arena_free(rest.arena);
    if (rc) return rc;
    *nrun = got;
    return RC_OK;
}

/* body[k] is `%t = ifft2(Y)` and body[k+1] `C = real(%t)` with %t read
 * nowhere else: C is computed directly as the c2r transform of Y's
 * Hermitian part (txrt_ifft2_real), half the work, and %t never exists.
 * Only when a backend runs the program (the reference evaluator stays the
 * plain oracle) and Y is complex.  Returns how many statements it ran
 * (0 or 2); *rc gets a failure. */
static int real_of_ifft2(run *r, env *e, tx_tir_stmt **body, int n, int k, int *rc) {
    *rc = RC_OK;
    if (!r->in->backend.run_def || k + 1 >= n) return 0;
    const tx_tir_stmt *s = body[k], *t = body[k + 1];
    if (s->kind != TX_TIR_CALL || s->builtin != TX_B_IFFT2 || s->nresults != 1 || !is_temp(s->results[0]) ||
        s->nargs != 1 || s->nkwargs != 0 || s->args[0]->kind != TX_TIR_ACCESS || !s->args[0]->whole)
        return 0;
    const tx_tir_expr *x = t->rhs;
    if (t->kind != TX_TIR_DEF || !t->ellipsis || t->nout != 0 || t->accumulate || t->is_let || !x ||
        x->kind != TX_TIR_UNARY || x->op != TX_TOP_REAL || x->a->kind != TX_TIR_ACCESS || !x->a->whole ||
        strcmp(x->a->var, s->results[0]) != 0 || scan_reads(body, k + 2, n, s->results[0]) == 1)
        return 0;
    txrt_tensor *Y = env_get(e, s->args[0]->var);
    if (!Y || !txrt_dtype_is_complex(Y->dtype) || Y->rank < 2) return 0;
    txrt_tensor *C = txrt_ifft2_real(&r->in->ctx, Y);
    if (!C) {
        *rc = runtime_fail(r, s->span);
        return 0;
    }
    env_put(e, t->out, C);
    return 2;
}

/* body[k..k+5) are the five statements of a circular convolution,
 *
 *     %a = fft2(A); %b = fft2(B); %c[...] = %a[...] * %b[...]; %d = ifft2(%c); C[...] = real(%d[...])
 *
 * (what real(ifft2(fft2(A)*fft2(B))) lowers to), with the temps read
 * nowhere else and A, B real of one dtype and shape: C comes from
 * the half spectra alone (txrt_fft2_conv_real), and none of the four
 * complex temps exists.  Like real_of_ifft2, only when a backend runs the
 * program.  Returns how many statements it ran (0 or 5). */
static bool is_fft2_call(const tx_tir_stmt *s, int builtin) {
    return s->kind == TX_TIR_CALL && s->builtin == builtin && s->nresults == 1 && is_temp(s->results[0]) &&
           s->nargs == 1 && s->nkwargs == 0 && s->args[0]->kind == TX_TIR_ACCESS && s->args[0]->whole;
}

static bool whole_of(const tx_tir_expr *x, const char *var) {
    return x->kind == TX_TIR_ACCESS && x->whole && strcmp(x->var, var) == 0;
}

static bool plain_def(const tx_tir_stmt *t) {
    return t->kind == TX_TIR_DEF && t->ellipsis && t->nout == 0 && !t->accumulate && !t->is_let && t->rhs;
}

static int conv_of_fft2(run *r, env *e, tx_tir_stmt **body, int n, int k, int *rc) {
    *rc = RC_OK;
    if (!r->in->backend.run_def || k + 4 >= n) return 0;
    const tx_tir_stmt *fa = body[k], *fb = body[k + 1], *pr = body[k + 2], *inv = body[k + 3], *re = body[k + 4];
    if (!is_fft2_call(fa, TX_B_FFT2) || !is_fft2_call(fb, TX_B_FFT2) || !is_fft2_call(inv, TX_B_IFFT2)) return 0;
    const char *ta = fa->results[0], *tb = fb->results[0], *td = inv->results[0];
    if (!plain_def(pr) || !is_temp(pr->out) || !plain_def(re) || strcmp(inv->args[0]->var, pr->out) != 0) return 0;
    const tx_tir_expr *m = pr->rhs, *x = re->rhs;
    if (m->kind != TX_TIR_BINARY || m->op != TX_TOP_MUL ||
        !((whole_of(m->a, ta) && whole_of(m->b, tb)) || (whole_of(m->a, tb) && whole_of(m->b, ta))))
        return 0;
    if (x->kind != TX_TIR_UNARY || x->op != TX_TOP_REAL || !whole_of(x->a, td)) return 0;
    /* the temps die here: fft2(B) may not read %a, nothing after reads any */
    if (strcmp(fb->args[0]->var, ta) == 0) return 0;
    const char *temps[4] = { ta, tb, pr->out, td };
    for (int q = 0; q < 4; q++)
        if (scan_reads(body, k + 5, n, temps[q]) == 1) return 0;
    txrt_tensor *A = env_get(e, fa->args[0]->var), *B = env_get(e, fb->args[0]->var);
    if (!A || !B || txrt_dtype_is_complex(A->dtype) || A->dtype != B->dtype || A->rank < 2 || A->rank != B->rank)
        return 0;
    for (int d = 0; d < A->rank; d++)
        if (A->shape[d] != B->shape[d] || A->shape[d] == 0) return 0;
    txrt_tensor *C = txrt_fft2_conv_real(&r->in->ctx, A, B);
    if (!C) {
        *rc = runtime_fail(r, fa->span);
        return 0;
    }
    env_put(e, re->out, C);
    return 5;
}

/* Two factorizations side by side: body[k] and body[k+1] are calls of
 * eigh, svd, qr or cholesky on whole tensors small enough for LAPACK's
 * one-thread path (txrt_lapack_is_small), the second not reading what
 * the first binds.  With two threads or more they run at once, one per
 * thread (the Kronecker solve's two eigendecompositions: each ~0.3 ms
 * on one thread, where LAPACK's own threads only slow a 64x64 matrix
 * down), and their results are bound in order.  Only when a backend runs
 * the program; if either fails, nothing is bound and the statements run
 * again one by one, which reports the error as usual.  Returns how many
 * statements it ran (0 or 2). */
typedef struct factor_job {
    const tx_tir_stmt *s;
    const txrt_tensor *A;
    txrt_tensor *res[3];
    txrt_ctx ctx;
    int rc;
} factor_job;

static bool factor_call(const tx_tir_stmt *s) {
    if (s->kind != TX_TIR_CALL || s->nargs != 1 || s->nkwargs != 0 || s->args[0]->kind != TX_TIR_ACCESS ||
        !s->args[0]->whole)
        return false;
    switch (s->builtin) {
    case TX_B_EIGH: case TX_B_QR: return s->nresults == 2;
    case TX_B_SVD: return s->nresults == 3;
    case TX_B_CHOLESKY: return s->nresults == 1;
    default: return false;
    }
}

static void factor_run(void *p, int64_t lo, int64_t hi) {
    for (int64_t q = lo; q < hi; q++) {
        factor_job *j = (factor_job *)p + q;
        switch (j->s->builtin) {
        case TX_B_EIGH: j->rc = txrt_eigh(&j->ctx, j->A, &j->res[0], &j->res[1]); break;
        case TX_B_QR: j->rc = txrt_qr(&j->ctx, j->A, &j->res[0], &j->res[1]); break;
        case TX_B_SVD: j->rc = txrt_svd(&j->ctx, j->A, &j->res[0], &j->res[1], &j->res[2]); break;
        default: j->rc = (j->res[0] = txrt_cholesky(&j->ctx, j->A)) ? 0 : -1; break;
        }
    }
}

static int factors_side_by_side(run *r, env *e, tx_tir_stmt **body, int n, int k) {
    if (!r->in->backend.run_def || k + 1 >= n || txrt_get_threads() < 2) return 0;
    const tx_tir_stmt *s0 = body[k], *s1 = body[k + 1];
    if (!factor_call(s0) || !factor_call(s1)) return 0;
    for (int q = 0; q < s0->nresults; q++)
        if (strcmp(s0->results[q], s1->args[0]->var) == 0) return 0;
    factor_job j[2] = { { .s = s0 }, { .s = s1 } };
    for (int q = 0; q < 2; q++) {
        j[q].A = env_get(e, j[q].s->args[0]->var);
        if (!j[q].A || !txrt_lapack_is_small(j[q].A) || j[q].A->rank != 2) return 0;
        txrt_ctx_init(&j[q].ctx);
    }
    txrt_blas_single();   /* what both calls want: neither changes it while the other runs */
    txrt_parallel_for(2, factor_run, j);
    bool ok = j[0].rc == 0 && j[1].rc == 0;
    for (int q = 0; q < 2; q++)
        for (int t = 0; t < j[q].s->nresults; t++) {
            if (ok) env_put(e, j[q].s->results[t], j[q].res[t]);
            else txrt_release(j[q].res[t]);
        }
    if (!ok) return 0;
    r->in->nside++;
    return 2;
}

int tx_interp_side_by_side(const tx_interp *in) { return in->nside; }

static int exec_stmts(run *r, env *e, tx_tir_stmt **body, int n, int kind, const tx_tir_func *fn) {
    frame fr = { body, n, 0, kind, fn, r->fr };
    r->fr = &fr;
    int rc = RC_OK;
    for (int k = 0; k < n;) {
        fr.pos = k;
        if (r->in->group.run_group && body[k]->kind == TX_TIR_DEF && !r->no_rewrite) {
            int got = 0;
            rc = run_group(r, e, body, n, k, &got);
            if (rc) break;
            if (got > 0) {
                k += got;
                continue;
            }
        }
        int got = factors_side_by_side(r, e, body, n, k);
        if (got > 0) {
            k += got;
            continue;
        }
        got = conv_of_fft2(r, e, body, n, k, &rc);
        if (rc) break;
        if (got > 0) {
            k += got;
            continue;
        }
        got = real_of_ifft2(r, e, body, n, k, &rc);
        if (rc) break;
        if (got > 0) {
            k += got;
            continue;
        }
        rc = exec_stmt(r, e, body[k]);
        if (rc) break;
        k++;
    }
    r->fr = fr.up;
    return rc;
}

int tx_interp_run(tx_interp *in, const tx_tir_program *p, tx_diags *d) {
    if (!p) return RC_OK;
    for (int k = 0; k < p->nfuncs; k++) register_func(in, p->funcs[k], p->src);
    if (p->ntemps > in->fprog.ntemps) in->fprog.ntemps = p->ntemps;  /* lowering numbers on from here */
    run r = { in, d, 0, false, 0, NULL };
    txrt_clear_error(&in->ctx);
    int rc = exec_stmts(&r, &in->globals, p->stmts, p->nstmts, FR_TOP, NULL);
    if (rc == RC_RETURN) rc = RC_OK;
    /* temporaries die with the run */
    for (int k = in->globals.n - 1; k >= 0; k--)
        if (is_temp(in->globals.v[k].name)) env_remove_at(&in->globals, k);
    return rc;
}

void tx_interp_set_backend(tx_interp *in, const tx_def_backend *b) {
    if (b) in->backend = *b;
    else memset(&in->backend, 0, sizeof in->backend);
}

void tx_interp_set_rewriter(tx_interp *in, const tx_def_rewriter *rw) {
    if (rw) in->rewriter = *rw;
    else memset(&in->rewriter, 0, sizeof in->rewriter);
}

void tx_interp_set_group_backend(tx_interp *in, const tx_group_backend *g) {
    if (g) in->group = *g;
    else memset(&in->group, 0, sizeof in->group);
}

void tx_interp_set_script(tx_interp *in, bool script) { in->script = script; }

void tx_interp_set_after(tx_interp *in, tx_tir_stmt *const *stmts, int n, bool again) {
    in->after = stmts;
    in->nafter = stmts ? n : 0;
    in->again = again;
}
