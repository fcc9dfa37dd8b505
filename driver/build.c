/*
 * build.c -- `txc build FILE.tx -o OUT [--header OUT.h] [--shared]
 *            [--emit obj|llvm|asm] [--shape n=128,d=16] [--cpu CPU] [-O0..3]`
 *
 * Every `def` of the file becomes an exported C function
 *
 *     int NAME(int64_t size..., const T *param..., T *result...)
 *
 * (sizes in the order of the signature, tensors dense row-major, results
 * written to caller-allocated buffers, 0 or non-zero with txrt_last_error()).
 *
 * A def is compiled the way the JIT runs it: its body is walked statement
 * by statement with the shapes the sizes give (whole-tensor statements
 * expanded, ranges inferred by the checker, each definition planned by the
 * contraction planner's run-time rewriter exactly as `txc run` plans a
 * function body).  As in the JIT, each stretch of consecutive definitions
 * is first offered to the fuser (ir/fuse.h), which may turn a prefix of it
 * into one kernel; every other definition becomes either a BLAS call (a
 * plain matrix product of two tensors that ir/blas.c would also send to
 * BLAS) or a loop IR kernel lowered by tx_lir_from_def, the JIT's lowering.  codegen/aot.c emits the kernels
 * through the JIT's code generator and the wrapper around them.
 *
 * Sizes that --shape gives are specialised at build time (--shape
 * n=128,d=16; `--shape f.n=4` gives def f its own value): loop IR has
 * constant bounds and strides.  The size arguments stay in the ABI and are
 * checked, so a call with other sizes fails cleanly.  Sizes it leaves open
 * are run-time arguments (size-generic code, see "size-generic builds"
 * below): the body is checked and planned with REP_SIZE for them, and the
 * kernels and BLAS calls take the real values at run time.
 *
 * Values: each statement binds its output name to a "slot" (an input
 * pointer, a result pointer, a temporary or a size scalar).  A definition
 * writes a fresh temporary unless its output is a result of the def with
 * the declared shape whose buffer no other live name and none of its
 * operands uses; then it writes the caller's buffer directly.  At the end
 * each result not already in its buffer is copied (or cast) there.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "driver/build.h"

#include <errno.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen/codegen.h"
#include "driver/pipeline.h"
#include "driver/render.h"
#include "frontend/builtins.h"
#include "ir/blas.h"
#include "ir/fuse.h"
#include "ir/lir.h"
#include "ir/plan.h"

extern char **environ;

enum { EXIT_OK = 0, EXIT_COMPILE = 1, EXIT_USAGE = 2, EXIT_RUNTIME = 3 };

static int usage_error(const char *fmt, const char *arg) {
    fputs("txc: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n(run 'txc --help' for usage)\n", stderr);
    return EXIT_USAGE;
}

typedef struct shape_opt {
    const char *name;
    int64_t value;
} shape_opt;

typedef struct build_opts {
    const char *file, *out, *header, *cpu;
    bool shared;
    tx_aot_output emit;
    int opt;
    shape_opt *shapes;
    int nshapes;
} build_opts;

/* ---- one def ------------------------------------------------------------------ */

typedef struct binding {
    const char *name;
    int slot;
    tx_type type;
    int symdim[TXRT_MAX_RANK]; /* per axis: the run-time size (def size id) that is its
                                  extent, or -1 (size-generic builds; see gen_*) */
} binding;

/* The value a size not given with --shape takes while the body is checked
 * and planned (the planner needs numbers to compare costs). */
#define REP_SIZE 256

typedef struct bctx {
    tx_arena *a;
    tx_diags *d;
    const tx_tir_func *fn;
    tx_aot_func *af;
    int capslots, capsteps;
    binding *b;
    int nb, capb;
    int *out_slot;            /* per result: its OUTPUT slot or -1 */
    int64_t (*rdims)[TXRT_MAX_RANK]; /* per result: declared dims */
    tx_def_rewriter rw;
    int loop_depth;           /* inside unrolled for loops */
    int inline_depth;         /* > 0: the body of a def called by another (inlined) */
    const tx_tir_program *prog;
    /* size-generic builds: some sizes are run-time arguments */
    bool generic;
    int *uf;                  /* per def size: union-find parent (sizes that must be equal) */
    int (*rsym)[TXRT_MAX_RANK]; /* per result: declared symdims */
    const char *shape_hint;   /* "pass --shape n=...,d=... to specialise" */
    int capequal;
    int ninner;               /* temporaries made by split_inner, for unique names */
} bctx;

static const binding *find(const bctx *c, const char *name) {
    for (int k = c->nb - 1; k >= 0; k--)
        if (strcmp(c->b[k].name, name) == 0) return &c->b[k];
    return NULL;
}

/* Bind name to slot with type t; symdim (NULL: all constant) gives the
 * run-time sizes of its axes. */
static void bind_sym(bctx *c, const char *name, int slot, const tx_type *t, const int *symdim) {
    int at = -1;
    for (int k = 0; k < c->nb && at < 0; k++)
        if (strcmp(c->b[k].name, name) == 0) at = k;
    if (at < 0) {
        if (c->nb == c->capb) {
            int nc = c->capb ? 2 * c->capb : 16;
            c->b = tx_arena_grow(c->a, c->b, (size_t)c->capb, (size_t)nc, sizeof *c->b);
            c->capb = nc;
        }
        at = c->nb++;
        c->b[at].name = tx_arena_strdup(c->a, name);
    }
    c->b[at].slot = slot;
    c->b[at].type = *t;
    for (int k = 0; k < TXRT_MAX_RANK; k++) c->b[at].symdim[k] = symdim && k < t->rank ? symdim[k] : -1;
}

static void bind(bctx *c, const char *name, int slot, const tx_type *t) { bind_sym(c, name, slot, t, NULL); }

/* ---- size-generic builds ----------------------------------------------------
 * Sizes that --shape leaves open are run-time arguments.  Bindings carry,
 * per axis, the def size it ranges over (symdim); the body is still checked
 * and planned with REP_SIZE for every such size, and the loop IR kernels
 * are lowered size-generic (tx_lir_from_def_sym), so the numbers only
 * steer choices (plan order, BLAS or loops), never the code's extents.
 * An index that ranges over two size names makes them equal: the union-find
 * merges them and the function checks the equality on entry.  What cannot
 * be made generic is refused with a located error and the --shape hint. */

static int uf_find(const bctx *c, int k) {
    while (k >= 0 && c->uf[k] != k) k = c->uf[k];
    return k;
}

/* sym, canonical (-1 stays -1). */
static int canon(const bctx *c, int sym) { return sym < 0 || !c->uf ? sym : uf_find(c, sym); }

/* Sizes a and b must be equal at run time (because of the source at `at`). */
static void uf_union(bctx *c, int a, int b, tx_span at) {
    a = canon(c, a), b = canon(c, b);
    if (a == b) return;
    if (b < a) { int t = a; a = b; b = t; }
    c->uf[b] = a;
    tx_aot_func *f = c->af;
    if (f->nequal == c->capequal) {
        int nc = c->capequal ? 2 * c->capequal : 4;
        f->equal = tx_arena_grow(c->a, f->equal, (size_t)c->capequal, (size_t)nc, sizeof *f->equal);
        f->equal_why = tx_arena_grow(c->a, f->equal_why, (size_t)c->capequal, (size_t)nc, sizeof *f->equal_why);
        c->capequal = nc;
    }
    uint32_t line = 0, col = 0;
    if (c->d->src) tx_source_linecol(c->d->src, at.lo, &line, &col);
    f->equal[f->nequal][0] = a;
    f->equal[f->nequal][1] = b;
    f->equal_why[f->nequal] = tx_arena_printf(c->a, "%s:%u:%u", c->d->src ? c->d->src->name : "?", line, col);
    f->nequal++;
}

/* A refusal in a size-generic def: located, with the hint to specialise. */
static tx_diag *refuse_generic(bctx *c, tx_span at, const char *what) {
    tx_diag *g = tx_error(c->d, at, "not supported with run-time sizes: %s", what);
    tx_hint(c->d, g, "%s", c->shape_hint);
    return g;
}

/* The symbolic number of elements of a tensor: constant part and factors. */
static int64_t sym_count(const bctx *c, const tx_type *t, const int *symdim, tx_lir_mono *m) {
    int64_t n = 1;
    memset(m, 0, sizeof *m);
    for (int k = 0; k < t->rank; k++) {
        int s = symdim ? canon(c, symdim[k]) : -1;
        if (s >= 0) *m = tx_lir_mono_mul(*m, (tx_lir_mono){ 1, { (int8_t)s } });
        else n *= t->dims[k];
    }
    return n;
}

static bool has_sym(const int *symdim, int rank) {
    for (int k = 0; symdim && k < rank; k++)
        if (symdim[k] >= 0) return true;
    return false;
}

/* "(n, 3)": a shape with its run-time sizes by name. */
static const char *symshape_str(const bctx *c, const tx_type *t, const int *symdim, char *buf, size_t len) {
    size_t at = 0;
    at += (size_t)snprintf(buf, len, "(");
    for (int k = 0; k < t->rank && at < len; k++) {
        int s = symdim ? canon(c, symdim[k]) : -1;
        if (s >= 0) at += (size_t)snprintf(buf + at, len - at, "%s%s", k ? ", " : "", c->af->size_name[s]);
        else at += (size_t)snprintf(buf + at, len - at, "%s%lld", k ? ", " : "", (long long)t->dims[k]);
    }
    if (at < len) snprintf(buf + at, len - at, t->rank == 1 ? ",)" : ")");
    return buf;
}

/* Do two shapes (with their symdims) agree for every value of the sizes? */
static bool same_symshape(const bctx *c, const tx_type *a, const int *sa, int rank, const int64_t *dims,
                          const int *sb) {
    if (a->rank != rank) return false;
    for (int k = 0; k < rank; k++) {
        int x = canon(c, sa ? sa[k] : -1), y = canon(c, sb ? sb[k] : -1);
        if (x != y) return false;
        if (x < 0 && a->dims[k] != dims[k]) return false;
    }
    return true;
}

static void unbind(bctx *c, const char *name) {
    for (int k = 0; k < c->nb; k++)
        if (strcmp(c->b[k].name, name) == 0) {
            c->b[k] = c->b[--c->nb];
            return;
        }
}

static bool lk_get(void *self, const char *var, tx_varinfo *out) {
    const bctx *c = self;
    const binding *b = find(c, var);
    if (!b) return false;
    memset(out, 0, sizeof *out);
    out->type = b->type;
    const tx_aot_slot *sl = &c->af->slots[b->slot];
    if (sl->kind == TX_AOT_SIZE && !sl->runtime) {
        out->known = true;
        out->value = sl->value;
    }
    if (c->generic && has_sym(b->symdim, b->type.rank)) {   /* canonical ids, in the arena */
        int *sd = TX_NEWN(c->a, int, b->type.rank);
        for (int k = 0; k < b->type.rank; k++) sd[k] = canon(c, b->symdim[k]);
        out->symdim = sd;
    }
    return true;
}

static int add_slot(bctx *c, tx_aot_slot_kind kind, const char *name, txrt_dtype dt, int64_t size, int arg,
                    double value) {
    tx_aot_func *f = c->af;
    if (f->nslots == c->capslots) {
        int nc = c->capslots ? 2 * c->capslots : 16;
        f->slots = tx_arena_grow(c->a, f->slots, (size_t)c->capslots, (size_t)nc, sizeof *f->slots);
        c->capslots = nc;
    }
    tx_aot_slot *s = &f->slots[f->nslots];
    s->kind = kind;
    s->name = tx_arena_strdup(c->a, name);
    s->dtype = dt;
    s->size = size;
    s->arg = arg;
    s->value = value;
    s->zero = false;
    s->runtime = false;
    memset(&s->size_sym, 0, sizeof s->size_sym);
    return f->nslots++;
}

static tx_aot_step *add_step(bctx *c, tx_aot_step_kind kind) {
    tx_aot_func *f = c->af;
    if (f->nsteps == c->capsteps) {
        int nc = c->capsteps ? 2 * c->capsteps : 16;
        f->steps = tx_arena_grow(c->a, f->steps, (size_t)c->capsteps, (size_t)nc, sizeof *f->steps);
        c->capsteps = nc;
    }
    tx_aot_step *s = &f->steps[f->nsteps++];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    return s;
}

static int64_t type_size(const tx_type *t) {
    int64_t n = 1;
    for (int k = 0; k < t->rank; k++) n *= t->dims[k];
    return n;
}

static bool same_shape(const tx_type *a, int rank, const int64_t *dims) {
    if (a->rank != rank) return false;
    for (int k = 0; k < rank; k++)
        if (a->dims[k] != dims[k]) return false;
    return true;
}

/* Is slot used by a live binding other than `except`? */
static bool slot_busy(const bctx *c, int slot, const char *except) {
    for (int k = 0; k < c->nb; k++)
        if (c->b[k].slot == slot && (!except || strcmp(c->b[k].name, except) != 0)) return true;
    return false;
}

/* The result number of name, or -1. */
static int result_of(const bctx *c, const char *name) {
    for (int r = 0; r < c->fn->nresults; r++)
        if (strcmp(c->fn->results[r].name, name) == 0) return r;
    return -1;
}

static int output_slot(bctx *c, int r, txrt_dtype dt) {
    if (c->out_slot[r] < 0) {
        const tx_tir_param *p = &c->fn->results[r];
        tx_type t;
        memset(&t, 0, sizeof t);
        t.rank = p->ndims;
        for (int k = 0; k < p->ndims; k++) t.dims[k] = c->rdims[r][k];
        tx_lir_mono m;
        int64_t n = sym_count(c, &t, c->rsym ? c->rsym[r] : NULL, &m);
        c->out_slot[r] = add_slot(c, TX_AOT_OUTPUT, p->name, dt, n, r, 0);
        c->af->slots[c->out_slot[r]].size_sym = m;
    }
    return c->out_slot[r];
}

/* Where a definition of `name` with type t should be written, given the
 * slots it reads (nread).  A caller buffer when possible, else a temporary. */
static int dest_slot(bctx *c, const char *name, const tx_type *t, const int *symdim, const int *reads, int nread) {
    int r = c->inline_depth ? -1 : result_of(c, name);   /* an inlined def's results are temporaries */
    if (r >= 0) {
        const tx_tir_param *p = &c->fn->results[r];
        bool dt_ok = p->dtype >= 0 ? p->dtype == t->dtype
                                   : (c->out_slot[r] < 0 || c->af->slots[c->out_slot[r]].dtype == (txrt_dtype)t->dtype);
        if (dt_ok && same_symshape(c, t, symdim, p->ndims, c->rdims[r], c->rsym ? c->rsym[r] : NULL)) {
            int s = output_slot(c, r, (txrt_dtype)t->dtype);
            bool used = slot_busy(c, s, name);
            for (int k = 0; k < nread && !used; k++) used = reads[k] == s;
            if (!used) return s;
        }
    }
    tx_lir_mono m;
    int64_t n = sym_count(c, t, symdim, &m);
    int sl = add_slot(c, TX_AOT_TEMP, name[0] == '%' ? "a temporary" : name, (txrt_dtype)t->dtype, n, 0, 0);
    c->af->slots[sl].size_sym = m;
    return sl;
}

/* The step that runs kernel f: dst = src (+ add when add >= 0), on slots. */
static tx_lir_func *copy_step(bctx *c, tx_lir_func *f, int dst, int src, int add) {
    tx_aot_step *st = add_step(c, TX_AOT_KERNEL);
    st->kernel = f;
    st->buf = TX_NEWN(c->a, int, 3);
    st->buf[0] = dst;
    st->buf[1] = src;
    if (add >= 0) st->buf[2] = add;
    return f;
}

/* dst[p] = src[p] (+ add[p]) elementwise as a loop IR kernel: the store
 * rounds to dst's dtype like the evaluator's txrt_set.  NULL when the
 * value cannot be stored (complex into real). */
static tx_lir_func *elementwise_sym(bctx *c, const char *name, int dst, int src, int add);

static tx_lir_func *elementwise(bctx *c, const char *name, int dst, int src, int add) {
    const tx_aot_slot *D = &c->af->slots[dst];
    if (D->size_sym.n > 0) return elementwise_sym(c, name, dst, src, add);
    int64_t n = D->size;
    tx_lir_func *f = tx_lir_func_new(c->a, name);
    int b0 = tx_lir_add_buf(f, name, D->dtype, 1, &n, true);
    int b1 = tx_lir_add_buf(f, "src", c->af->slots[src].dtype, 1, &n, false);
    int b2 = add >= 0 ? tx_lir_add_buf(f, "rhs", c->af->slots[add].dtype, 1, &n, false) : -1;
    int v = tx_lir_add_var(f, "p");
    tx_lir_stmt *loop = tx_lir_loop(f, &f->body, v, 0, n);
    int64_t one = 1;
    tx_lir_affine off = tx_lir_affine_make(f, 1, &v, &one, 0);
    tx_lir_expr *e = tx_lir_load(f, b1, off);
    if (b2 >= 0) e = tx_lir_binary(f, TX_TOP_ADD, e, tx_lir_load(f, b2, off));
    if (!e || !tx_lir_store(f, &loop->body, b0, off, e)) return NULL;
    return copy_step(c, f, dst, src, b2 >= 0 ? add : -1);
}

/* elementwise() over slots of run-time size c * S[f0] * S[f1] ...: the
 * flat buffers seen as [c, S[f0], S[f1], ...], one loop per factor. */
static tx_lir_func *elementwise_sym(bctx *c, const char *name, int dst, int src, int add) {
    const tx_aot_slot *D = &c->af->slots[dst];
    int rank = 1 + D->size_sym.n;
    int64_t shape[1 + TX_LIR_MAXF];
    int symdim[1 + TX_LIR_MAXF];
    shape[0] = D->size, symdim[0] = -1;
    for (int k = 0; k < D->size_sym.n; k++) shape[k + 1] = REP_SIZE, symdim[k + 1] = D->size_sym.f[k];
    tx_lir_func *f = tx_lir_func_new(c->a, name);
    tx_lir_set_syms(f, c->af->nsizes, c->af->size_name);
    int b0 = tx_lir_add_symbuf(f, name, D->dtype, rank, shape, symdim, true);
    int b1 = tx_lir_add_symbuf(f, "src", c->af->slots[src].dtype, rank, shape, symdim, false);
    int b2 = add >= 0 ? tx_lir_add_symbuf(f, "rhs", c->af->slots[add].dtype, rank, shape, symdim, false) : -1;
    if (b0 < 0 || b1 < 0 || (add >= 0 && b2 < 0)) return NULL;
    int vars[1 + TX_LIR_MAXF];
    int64_t coef[1 + TX_LIR_MAXF];
    tx_lir_mono mono[1 + TX_LIR_MAXF];
    tx_lir_block *blk = &f->body;
    for (int k = 0; k < rank; k++) {
        vars[k] = tx_lir_add_var(f, "p");
        tx_lir_stmt *l = tx_lir_loop(f, blk, vars[k], 0, k == 0 ? D->size : 1);
        if (k > 0) l->sym_extent = (tx_lir_mono){ 1, { (int8_t)symdim[k] } };
        blk = &l->body;
        tx_lir_buf_stride(&f->bufs[b0], k, &coef[k], &mono[k]);
    }
    tx_lir_affine off = tx_lir_affine_make_sym(f, rank, vars, coef, mono, 0);
    tx_lir_expr *e = tx_lir_load(f, b1, off);
    if (b2 >= 0) e = tx_lir_binary(f, TX_TOP_ADD, e, tx_lir_load(f, b2, off));
    if (!e || !tx_lir_store(f, blk, b0, off, e)) return NULL;
    return copy_step(c, f, dst, src, b2 >= 0 ? add : -1);
}

/* ---- BLAS: out[L..,R..] = sum[K](A[..] * B[..]) over whole tensors -------- */

static bool plain_access(const tx_tir_stmt *def, const tx_tir_expr *e, const tx_type *t, int *ids) {
    if (e->kind != TX_TIR_ACCESS || e->whole || e->nsubs != t->rank) return false;
    for (int k = 0; k < e->nsubs; k++) {
        const tx_tir_affine *s = &e->subs[k];
        if (s->nterms != 1 || s->coef[0] != 1 || s->c0 != 0) return false;
        int id = s->idx[0];
        if (id < 0 || id >= def->nindices) return false;
        if (def->indices[id].lo != 0 || def->indices[id].extent != t->dims[k]) return false;
        for (int q = 0; q < k; q++)
            if (ids[q] == id) return false;
        ids[k] = id;
    }
    return true;
}

static bool seq_eq(const int *a, const int *b, int n) {
    for (int k = 0; k < n; k++)
        if (a[k] != b[k]) return false;
    return true;
}

static bool contains(const int *a, int n, int x) {
    for (int k = 0; k < n; k++)
        if (a[k] == x) return true;
    return false;
}

/* Try to run def as one txrt_aot_gemm; true when a step was added. */
static bool try_gemm(bctx *c, const tx_tir_stmt *def, const tx_type *ot, const char *out) {
    const tx_tir_expr *r = def->rhs;
    if (!r || r->kind != TX_TIR_REDUCE || r->redop != TX_RED_SUM) return false;
    const tx_tir_expr *m = r->a;
    if (!m || m->kind != TX_TIR_BINARY || m->op != TX_TOP_MUL) return false;
    const tx_tir_expr *ea = m->a, *eb = m->b;
    if (ea->kind != TX_TIR_ACCESS || eb->kind != TX_TIR_ACCESS) return false;
    const binding *ba = find(c, ea->var), *bb = find(c, eb->var);
    if (!ba || !bb) return false;
    if (ba->type.dtype != ot->dtype || bb->type.dtype != ot->dtype) return false;
    int ia[TXRT_MAX_RANK], ib[TXRT_MAX_RANK], io[TXRT_MAX_RANK];
    if (!plain_access(def, ea, &ba->type, ia) || !plain_access(def, eb, &bb->type, ib)) return false;
    for (int k = 0; k < def->nout; k++) {
        io[k] = def->out_idx[k];
        if (def->indices[io[k]].lo != 0) return false;
    }
    int na = ba->type.rank, nb = bb->type.rank, no = def->nout;
    /* roles: every output index in exactly one operand, every summed one in both */
    for (int k = 0; k < r->nidx; k++)
        if (!contains(ia, na, r->idx[k]) || !contains(ib, nb, r->idx[k])) return false;
    for (int k = 0; k < no; k++)
        if (contains(ia, na, io[k]) == contains(ib, nb, io[k])) return false;
    for (int k = 0; k < na; k++)
        if (!contains(io, no, ia[k]) && !contains(r->idx, r->nidx, ia[k])) return false;
    for (int k = 0; k < nb; k++)
        if (!contains(io, no, ib[k]) && !contains(r->idx, r->nidx, ib[k])) return false;
    int nk = r->nidx;
    if (nk < 1) return false;
    /* the run-time size of each index (size-generic builds; -1: constant) */
    int *isym = TX_NEWN(c->a, int, def->nindices + 1);
    for (int k = 0; k < def->nindices; k++) isym[k] = -1;
    for (int k = 0; c->generic && k < na; k++) isym[ia[k]] = canon(c, ba->symdim[k]);
    for (int k = 0; c->generic && k < nb; k++) {
        if (!contains(ia, na, ib[k])) isym[ib[k]] = canon(c, bb->symdim[k]);
        else if (isym[ib[k]] != canon(c, bb->symdim[k])) return false;   /* the loop path explains it */
    }
    /* the JIT's BLAS dispatch decides with the same predicate (crossover) */
    tx_plan_gemm pg;
    tx_plan_classify(def, &pg);
    if (!pg.blas || !tx_blas_eligible(def, &pg)) return false;
    /* out = [L.., R..] with L from the first operand; swap the operands if
     * the output starts with the second one's indices */
    const int *pa = ia, *pb = ib;
    int sa = ba->slot, sb = bb->slot;
    if (no > 0 && !contains(ia, na, io[0])) {
        const int *t = pa; pa = pb; pb = t;
        int tn = na; na = nb; nb = tn;
        int ts = sa; sa = sb; sb = ts;
    }
    int nl = 0;
    while (nl < no && contains(pa, na, io[nl])) nl++;
    int nr = no - nl;
    for (int k = nl; k < no; k++)
        if (contains(pa, na, io[k])) return false;
    if (na != nl + nk || nb != nr + nk) return false;
    const int *K;
    char ta, tb;
    if (seq_eq(pa, io, nl)) ta = 'N', K = pa + nl;
    else if (seq_eq(pa + nk, io, nl)) ta = 'T', K = pa;
    else return false;
    if (seq_eq(pb, K, nk) && seq_eq(pb + nk, io + nl, nr)) tb = 'N';
    else if (seq_eq(pb, io + nl, nr) && seq_eq(pb + nr, K, nk)) tb = 'T';
    else return false;
    /* M, N, K: constant parts times run-time factors */
    int64_t M = 1, N = 1, KK = 1;
    tx_lir_mono sM, sN, sK;
    memset(&sM, 0, sizeof sM), memset(&sN, 0, sizeof sN), memset(&sK, 0, sizeof sK);
    for (int k = 0; k < no + nk; k++) {
        int id = k < no ? io[k] : K[k - no];
        int64_t *cp = k < nl ? &M : k < no ? &N : &KK;
        tx_lir_mono *mp = k < nl ? &sM : k < no ? &sN : &sK;
        if (isym[id] < 0) {
            *cp *= def->indices[id].extent;
        } else {
            if (mp->n == TX_LIR_MAXF) return false;
            *mp = tx_lir_mono_mul(*mp, (tx_lir_mono){ 1, { (int8_t)isym[id] } });
        }
    }
    if (M == 0 || N == 0 || KK == 0) return false;
    int osym[TXRT_MAX_RANK];
    for (int k = 0; k < no; k++) osym[k] = isym[io[k]];
    int reads[2] = { sa, sb };
    int dst = dest_slot(c, out, ot, osym, reads, 2);
    tx_aot_step *st = add_step(c, TX_AOT_GEMM);
    st->a = sa, st->b = sb, st->c = dst;
    st->ta = ta, st->tb = tb;
    st->m = M, st->n = N, st->k = KK;
    st->sm = sM, st->sn = sN, st->sk = sK;
    st->lda = ta == 'N' ? KK : M;
    st->slda = ta == 'N' ? sK : sM;
    st->ldb = tb == 'N' ? N : KK;
    st->sldb = tb == 'N' ? sN : sK;
    st->ldc = N;
    st->sldc = sN;
    st->dtype = (txrt_dtype)ot->dtype;
    bind_sym(c, out, dst, ot, osym);
    return true;
}

/* ---- statements --------------------------------------------------------------- */

static tx_diag *unsupported(bctx *c, tx_span at, const char *what) {
    tx_diag *g = tx_error(c->d, at, "not supported in txc build yet: %s", what);
    if (c->generic) tx_hint(c->d, g, "%s", c->shape_hint);
    return g;
}

/* Size-generic: every index that subscripts axes of two different run-time
 * sizes (A[i,k] * B[k,j] with A[n,d], B[e,m]) makes them equal: merged,
 * and checked when the function is called.  Whether the subscripts are
 * generic at all is the lowering's question (tx_lir_from_def_sym). */
static void unify_expr(bctx *c, const tx_tir_stmt *def, const tx_tir_expr *x, int *isym) {
    if (!x) return;
    if (x->kind == TX_TIR_ACCESS && x->var && x->nsubs > 0 && !x->whole) {
        const binding *b = find(c, x->var);
        for (int ax = 0; b && ax < x->nsubs && ax < b->type.rank; ax++) {
            const tx_tir_affine *sub = &x->subs[ax];
            int sym = canon(c, b->symdim[ax]);
            if (sym < 0 || sub->nterms != 1 || sub->coef[0] != 1 || sub->c0 != 0) continue;
            int id = sub->idx[0];
            if (id < 0 || id >= def->nindices) continue;
            if (isym[id] >= 0 && canon(c, isym[id]) != sym) uf_union(c, isym[id], sym, x->span);
            isym[id] = canon(c, sym);
        }
    }
    unify_expr(c, def, x->a, isym);
    unify_expr(c, def, x->b, isym);
    unify_expr(c, def, x->c, isym);
}

static void unify_def(bctx *c, const tx_tir_stmt *def) {
    int *isym = TX_NEWN(c->a, int, def->nindices + 1);
    for (int k = 0; k < def->nindices; k++) isym[k] = -1;
    unify_expr(c, def, def->rhs, isym);
}

/* A rank-0 value known at build time: constants, sizes, loop variables and
 * arithmetic of them. */
static bool const_value(const bctx *c, const tx_tir_expr *x, double *out) {
    double a, b;
    if (!x) return false;
    switch (x->kind) {
    case TX_TIR_CONST:
        if (x->im != 0) return false;
        *out = x->re;
        return true;
    case TX_TIR_ACCESS: {
        if (x->nsubs) return false;
        const binding *bd = find(c, x->var);
        if (!bd || c->af->slots[bd->slot].kind != TX_AOT_SIZE || c->af->slots[bd->slot].runtime) return false;
        *out = c->af->slots[bd->slot].value;
        return true;
    }
    case TX_TIR_UNARY:
        if (x->op != TX_TOP_NEG || !const_value(c, x->a, &a)) return false;
        *out = -a;
        return true;
    case TX_TIR_BINARY:
        if (!const_value(c, x->a, &a) || !const_value(c, x->b, &b)) return false;
        switch (x->op) {
        case TX_TOP_ADD: *out = a + b; return true;
        case TX_TOP_SUB: *out = a - b; return true;
        case TX_TOP_MUL: *out = a * b; return true;
        case TX_TOP_DIV: *out = a / b; return true;
        case TX_TOP_POW: *out = pow(a, b); return true;
        default: return false;
        }
    default:
        return false;
    }
}

/* ---- size-generic: contractions inside non-linear functions ----------------
 * The JIT and --shape builds compute exp(sum[a](Q[i,a]*K[j,a])) in one
 * fused, register-tiled kernel that vectorises the exp across j.  Generic
 * kernels are the plain loop nest, where that exp is scalar and the dot
 * product runs per element.  So in generic code such a contraction -- a
 * sum of the product of two plain accesses under a unary function -- is
 * computed first into a temporary (a BLAS product when the planner's
 * predicate says so) and the function then reads it elementwise, in a loop
 * that vectorises. */

static bool plain_sub(const tx_tir_affine *a) { return a->nterms == 1 && a->coef[0] == 1 && a->c0 == 0; }

/* The indices a subtree reads that it does not bind itself (in order of
 * first appearance, without repeats); false for a subtree that is not
 * sum-of-two-plain-accesses shaped enough to extract. */
static void free_indices(const tx_tir_expr *x, const int *bound, int nbound, int *out, int *nout) {
    if (!x) return;
    if (x->kind == TX_TIR_ACCESS)
        for (int ax = 0; ax < x->nsubs; ax++)
            for (int t = 0; t < x->subs[ax].nterms; t++) {
                int id = x->subs[ax].idx[t];
                if (contains(bound, nbound, id) || contains(out, *nout, id)) continue;
                out[(*nout)++] = id;
            }
    if (x->kind == TX_TIR_INDEX && !contains(bound, nbound, x->index) && !contains(out, *nout, x->index))
        out[(*nout)++] = x->index;
    free_indices(x->a, bound, nbound, out, nout);
    free_indices(x->b, bound, nbound, out, nout);
    free_indices(x->c, bound, nbound, out, nout);
}

static bool gemm_shaped(const tx_tir_expr *r) {
    if (r->kind != TX_TIR_REDUCE || r->redop != TX_RED_SUM || !r->a || r->a->kind != TX_TIR_BINARY ||
        r->a->op != TX_TOP_MUL)
        return false;
    const tx_tir_expr *x = r->a->a, *y = r->a->b;
    if (x->kind != TX_TIR_ACCESS || y->kind != TX_TIR_ACCESS || x->whole || y->whole) return false;
    for (int ax = 0; ax < x->nsubs; ax++)
        if (!plain_sub(&x->subs[ax])) return false;
    for (int ax = 0; ax < y->nsubs; ax++)
        if (!plain_sub(&y->subs[ax])) return false;
    return true;
}

/* A copy of x with the first gemm-shaped reduction under a unary function
 * replaced by *repl (found: *at set to it); x itself when there is none. */
static tx_tir_expr *replace_inner(bctx *c, tx_tir_expr *x, bool under_fn, tx_tir_expr **at, tx_tir_expr *repl) {
    if (!x || *at) return x;
    if (under_fn && gemm_shaped(x)) {
        *at = x;
        return repl;
    }
    bool fn = under_fn || (x->kind == TX_TIR_UNARY && x->op != TX_TOP_NEG);
    if (x->kind == TX_TIR_REDUCE) fn = false;   /* not across a reduction that binds more indices */
    tx_tir_expr *a = replace_inner(c, x->a, fn, at, repl);
    tx_tir_expr *b = replace_inner(c, x->b, fn, at, repl);
    tx_tir_expr *cc = replace_inner(c, x->c, fn, at, repl);
    if (a == x->a && b == x->b && cc == x->c) return x;
    tx_tir_expr *y = TX_NEW(c->a, tx_tir_expr);
    *y = *x;
    y->a = a, y->b = b, y->c = cc;
    return y;
}

static void used_indices(const tx_tir_expr *x, bool *used) {
    if (!x) return;
    if (x->kind == TX_TIR_ACCESS)
        for (int ax = 0; ax < x->nsubs; ax++)
            for (int t = 0; t < x->subs[ax].nterms; t++) used[x->subs[ax].idx[t]] = true;
    if (x->kind == TX_TIR_INDEX) used[x->index] = true;
    if (x->kind == TX_TIR_REDUCE)
        for (int k = 0; k < x->nidx; k++) used[x->idx[k]] = true;
    used_indices(x->a, used);
    used_indices(x->b, used);
    used_indices(x->c, used);
}

static tx_tir_expr *remap_expr(bctx *c, const tx_tir_expr *x, const int *map) {
    if (!x) return NULL;
    tx_tir_expr *y = TX_NEW(c->a, tx_tir_expr);
    *y = *x;
    if (x->kind == TX_TIR_ACCESS && x->nsubs > 0) {
        y->subs = TX_NEWN(c->a, tx_tir_affine, x->nsubs);
        for (int ax = 0; ax < x->nsubs; ax++) {
            y->subs[ax] = x->subs[ax];
            y->subs[ax].idx = TX_NEWN(c->a, int, x->subs[ax].nterms + 1);
            for (int t = 0; t < x->subs[ax].nterms; t++) y->subs[ax].idx[t] = map[x->subs[ax].idx[t]];
        }
    }
    if (x->kind == TX_TIR_INDEX) y->index = map[x->index];
    if (x->kind == TX_TIR_REDUCE) {
        y->idx = TX_NEWN(c->a, int, x->nidx + 1);
        for (int k = 0; k < x->nidx; k++) y->idx[k] = map[x->idx[k]];
    }
    y->a = remap_expr(c, x->a, map);
    y->b = remap_expr(c, x->b, map);
    y->c = remap_expr(c, x->c, map);
    return y;
}

/* d with an index table of only the indices it uses (the range checker
 * wants a tensor or declaration for every index of the table). */
static void compact_indices(bctx *c, tx_tir_stmt *d) {
    bool *used = TX_NEWN(c->a, bool, d->nindices + 1);
    int *map = TX_NEWN(c->a, int, d->nindices + 1);
    for (int k = 0; k < d->nout; k++) used[d->out_idx[k]] = true;
    used_indices(d->rhs, used);
    tx_tir_index *ix = TX_NEWN(c->a, tx_tir_index, d->nindices + 1);
    int n = 0;
    for (int k = 0; k < d->nindices; k++) {
        map[k] = -1;
        if (used[k]) ix[n] = d->indices[k], map[k] = n++;
    }
    int *out = TX_NEWN(c->a, int, d->nout + 1);
    for (int k = 0; k < d->nout; k++) out[k] = map[d->out_idx[k]];
    d->rhs = remap_expr(c, d->rhs, map);
    d->out_idx = out;
    d->indices = ix;
    d->nindices = n;
}

static bool do_def(bctx *c, const tx_tir_stmt *s, bool plan);

/* Split def (ranges inferred) as described above; 1 when done (both
 * parts compiled), 0 when there was nothing to split, -1 after an error. */
static int split_inner(bctx *c, const tx_tir_stmt *def) {
    tx_tir_expr *acc = TX_NEW(c->a, tx_tir_expr);
    acc->kind = TX_TIR_ACCESS;
    tx_tir_expr *found = NULL;
    tx_tir_expr *rhs = replace_inner(c, def->rhs, false, &found, acc);
    if (!found) return 0;
    /* single precision operands: the loop nest sums in double and never
     * rounds the sum; a temporary of their dtype would */
    const binding *ba = find(c, found->a->a->var), *bb = find(c, found->a->b->var);
    if (!ba || !bb || ba->type.dtype == TXRT_F32 || ba->type.dtype == TXRT_C64 || bb->type.dtype == TXRT_F32 ||
        bb->type.dtype == TXRT_C64)
        return 0;
    int *fi = TX_NEWN(c->a, int, def->nindices + 1);
    int nfi = 0;
    free_indices(found, found->idx, found->nidx, fi, &nfi);
    if (nfi == 0 || nfi > TXRT_MAX_RANK) return 0;
    for (int k = 0; k < nfi; k++)
        if (fi[k] < 0 || fi[k] >= def->nindices || def->indices[fi[k]].lo != 0) return 0;
    const char *tmp = tx_arena_printf(c->a, "%%inner%d", ++c->ninner);
    /* tmp[free indices] = the contraction */
    tx_tir_stmt *d1 = TX_NEW(c->a, tx_tir_stmt);
    *d1 = *def;
    d1->out = tmp;
    d1->out_idx = fi;
    d1->nout = nfi;
    d1->accumulate = false;
    d1->ellipsis = false;
    d1->is_let = false;
    d1->expanded_from = NULL;
    d1->rhs = found;
    /* the def, reading tmp[free indices] where the contraction was */
    acc->span = found->span;
    acc->var = tmp;
    acc->nsubs = nfi;
    acc->subs = TX_NEWN(c->a, tx_tir_affine, nfi);
    for (int k = 0; k < nfi; k++) {
        acc->subs[k].nterms = 1;
        acc->subs[k].idx = TX_NEWN(c->a, int, 1);
        acc->subs[k].coef = TX_NEWN(c->a, int64_t, 1);
        acc->subs[k].idx[0] = fi[k];
        acc->subs[k].coef[0] = 1;
        acc->subs[k].span = found->span;
    }
    tx_tir_stmt *d2 = TX_NEW(c->a, tx_tir_stmt);
    *d2 = *def;
    d2->rhs = rhs;
    d2->ellipsis = false;
    d2->expanded_from = NULL;
    compact_indices(c, d1);
    compact_indices(c, d2);
    if (!do_def(c, d1, true)) return -1;
    bool ok = do_def(c, d2, true);
    unbind(c, tmp);
    return ok ? 1 : -1;
}

static bool do_def(bctx *c, const tx_tir_stmt *s, bool plan) {
    tx_lookup lk = { lk_get, c };
    const binding *old = NULL;
    if (s->accumulate) {
        old = find(c, s->out);
        if (!old) {
            tx_diag *g = tx_error(c->d, s->out_span, "'%s' is not defined", s->out);
            tx_hint(c->d, g, "+= adds into an existing tensor; define it first with =");
            return false;
        }
    }
    if (s->ellipsis && !s->accumulate && s->rhs && s->rhs->kind == TX_TIR_ACCESS && s->rhs->whole) {
        const binding *src = find(c, s->rhs->var);
        if (!src) {
            tx_error(c->d, s->rhs->span, "'%s' is not defined", s->rhs->var);
            return false;
        }
        binding copy = *src;
        bind_sym(c, s->out, copy.slot, &copy.type, copy.symdim);
        return true;
    }
    double cv;
    if (s->ellipsis && !s->accumulate && const_value(c, s->rhs, &cv)) {
        /* `let h = n / 2`, `s = 2 * n`: a number known at build time */
        tx_type t;
        memset(&t, 0, sizeof t);
        t.dtype = TXRT_F64;
        bind(c, s->out, add_slot(c, TX_AOT_SIZE, s->out, TXRT_F64, 1, 0, cv), &t);
        return true;
    }
    const tx_tir_stmt *def = s;
    if (s->ellipsis) {
        int nerr = c->d->nerr;
        def = tx_tir_expand_ellipsis_lk(c->a, s, &lk, c->d);
        if (!def) {
            if (c->d->nerr == nerr) tx_error(c->d, s->span, "cannot expand the whole-tensor expression");
            return false;
        }
    }
    tx_tir_stmt *local = TX_NEW(c->a, tx_tir_stmt);
    *local = *def;
    local->indices = TX_NEWN(c->a, tx_tir_index, def->nindices + 1);
    if (def->nindices) memcpy(local->indices, def->indices, sizeof(tx_tir_index) * (size_t)def->nindices);
    for (int k = 0; k < local->nindices; k++) local->indices[k].lo = 0, local->indices[k].extent = -1;
    if (!tx_tir_infer_ranges(local, &lk, c->d)) {
        tx_diag *last = c->d->head;
        while (last && last->next) last = last->next;
        if (c->generic && last && !last->hint)   /* the checker saw REP_SIZE */
            tx_hint(c->d, last, "sizes not given with --shape are checked as %d; %s", REP_SIZE, c->shape_hint);
        return false;
    }
    if (c->generic) unify_def(c, local);
    tx_type oldt = old ? old->type : (tx_type){ 0 };
    int oldslot = old ? old->slot : -1;
    int oldsym[TXRT_MAX_RANK];
    for (int k = 0; k < TXRT_MAX_RANK; k++) oldsym[k] = old ? old->symdim[k] : -1;
    if (old) {
        for (int k = 0; k < local->nout && k < oldt.rank; k++) {
            tx_tir_index *x = &local->indices[local->out_idx[k]];
            if (x->extent < 0) x->lo = 0, x->extent = oldt.dims[k];
        }
    }
    tx_type ty;
    memset(&ty, 0, sizeof ty);
    if (!tx_tir_def_type(local, &lk, &ty, c->d)) return false;
    if (old) {
        tx_tir_stmt plain = *local;
        plain.accumulate = false;
        if (!tx_tir_def_type(&plain, &lk, &ty, c->d)) return false;
    }
    if (c->generic && plan) {
        int sp = split_inner(c, local);
        if (sp) return sp > 0;
    }
    if (plan && !s->ellipsis && c->rw.rewrite) {
        tx_tir_stmt **list = NULL;
        int nlist = 0;
        int wrc = c->rw.rewrite(c->rw.self, local, c->a, &list, &nlist, c->d);
        if (wrc > 0) return false;
        if (wrc == 0 && nlist > 0) {
            for (int q = 0; q < nlist; q++)
                if (!do_def(c, list[q], false)) return false;
            for (int q = 0; q < nlist - 1; q++)
                if (list[q]->out[0] == '%') unbind(c, list[q]->out);
            return true;
        }
    }
    /* the type of the plain right-hand side */
    tx_type ot;
    memset(&ot, 0, sizeof ot);
    ot.dtype = ty.dtype >= 0 ? ty.dtype : TXRT_F64;
    ot.rank = local->nout;
    if (ot.rank > TXRT_MAX_RANK) {
        tx_error(c->d, s->out_span, "'%s' would have %d axes; the limit is %d", s->out, ot.rank, TXRT_MAX_RANK);
        return false;
    }
    for (int k = 0; k < local->nout; k++) {
        const tx_tir_index *x = &local->indices[local->out_idx[k]];
        if (x->extent < 0) {
            tx_error(c->d, s->out_span, "the range of index '%s' is not known", x->name);
            return false;
        }
        ot.dims[k] = x->extent;
    }
    if (old && !same_shape(&oldt, ot.rank, ot.dims)) {
        tx_error(c->d, s->span, "'%s' and the right-hand side of += have different shapes", s->out);
        return false;
    }
    const char *target = old ? "%acc" : s->out;   /* += : the right-hand side goes to a temporary */
    if (!try_gemm(c, local, &ot, target)) {
        const char *why = NULL;
        tx_lir_func *f = tx_lir_from_def_sym(c->a, local, &ot, &lk, c->generic ? c->af->nsizes : 0,
                                             c->af->size_name, &why);
        if (!f) {
            unsupported(c, s->span, why ? why : "this definition cannot be compiled");
            return false;
        }
        int *buf = TX_NEWN(c->a, int, f->nbufs + 1);
        for (int k = 1; k < f->nbufs; k++) {
            const binding *b = find(c, f->bufs[k].name);
            if (!b) {
                tx_error(c->d, s->span, "'%s' is not defined", f->bufs[k].name);
                return false;
            }
            buf[k] = b->slot;
        }
        buf[0] = dest_slot(c, target, &ot, f->bufs[0].symdim, buf + 1, f->nbufs - 1);
        tx_aot_step *st = add_step(c, TX_AOT_KERNEL);
        st->kernel = f;
        st->buf = buf;
        bind_sym(c, target, buf[0], &ot, f->bufs[0].symdim);
    }
    if (old) {
        const binding *rb = find(c, target);
        int rhs = rb->slot;
        if (!same_symshape(c, &oldt, oldsym, rb->type.rank, rb->type.dims, rb->symdim)) {
            refuse_generic(c, s->span, "'+=' whose right-hand side's sizes are not those of its target");
            return false;
        }
        unbind(c, target);
        int reads[2] = { oldslot, rhs };
        int dst = dest_slot(c, s->out, &oldt, oldsym, reads, 2);
        if (!elementwise(c, s->out, dst, oldslot, rhs)) {
            tx_diag *g = tx_error(c->d, s->span, "cannot add complex values into '%s', which is %s", s->out,
                                  txrt_dtype_name((txrt_dtype)oldt.dtype));
            tx_hint(c->d, g, "make it complex first: %s = cast(%s, \"c128\")", s->out, s->out);
            return false;
        }
        bind_sym(c, s->out, dst, &oldt, oldsym);
    }
    return true;
}

/* ---- fusion: a stretch of DEFs as one kernel, as the JIT's group backend ---- */

static bool expr_reads(const tx_tir_expr *x, const char *name) {
    if (!x) return false;
    if (x->kind == TX_TIR_ACCESS && x->var && strcmp(x->var, name) == 0) return true;
    return expr_reads(x->a, name) || expr_reads(x->b, name) || expr_reads(x->c, name);
}

typedef struct live_ctx {
    const bctx *c;
    tx_tir_stmt **body;
    int from, n;
} live_ctx;

/* May name be read after the stretch: by a later statement of the body
 * (conservatively: any statement that is not a plain DEF), or as a result. */
static bool stmt_reads(const tx_tir_stmt *s, const char *name) {
    switch (s->kind) {
    case TX_TIR_DEF:
        return (s->accumulate && strcmp(s->out, name) == 0) || expr_reads(s->rhs, name);
    case TX_TIR_FOR:
        if (expr_reads(s->lo, name) || expr_reads(s->hi, name)) return true;
        for (int k = 0; k < s->nbody; k++)
            if (stmt_reads(s->body[k], name)) return true;
        return false;
    case TX_TIR_RETURN:
        return false;
    default:
        return true;
    }
}

static bool live_after(void *self, const char *name) {
    const live_ctx *l = self;
    if (l->c->loop_depth > 0) {   /* the next iteration, or after the loop: anywhere in the def */
        for (int k = 0; k < l->c->fn->nbody; k++)
            if (stmt_reads(l->c->fn->body[k], name)) return true;
        return result_of(l->c, name) >= 0;
    }
    for (int k = l->from; k < l->n; k++) {
        const tx_tir_stmt *s = l->body[k];
        if (s->kind != TX_TIR_DEF) return true;
        if ((s->accumulate && strcmp(s->out, name) == 0) || expr_reads(s->rhs, name)) return true;
    }
    return result_of(l->c, name) >= 0;
}

/* Offer body[k..end) to the fuser; returns the statements it took (0: none). */
static int try_group(bctx *c, tx_tir_stmt **body, int k, int end, int n) {
    tx_lookup lk = { lk_get, c };
    live_ctx lc = { c, body, end, n };
    const char *why = NULL;
    tx_fuse_group *g = tx_fuse_plan(c->a, NULL, body + k, end - k, &lk, live_after, &lc, &why);
    if (!g || g->nstmts < 1) return 0;
    tx_lir_func *f = g->kernel;
    int *buf = TX_NEWN(c->a, int, f->nbufs + 1);
    int *inputs = TX_NEWN(c->a, int, f->nbufs + 1);
    int nin = 0;
    for (int q = 0; q < f->nbufs; q++) {
        if (g->buf_kind[q] != TX_FUSE_BUF_INPUT) continue;
        const binding *b = find(c, g->buf_var[q]);
        if (!b) return 0;   /* the statements report it */
        buf[q] = inputs[nin++] = b->slot;
    }
    for (int q = 0; q < f->nbufs; q++) {
        const tx_lir_buf *B = &f->bufs[q];
        if (g->buf_kind[q] == TX_FUSE_BUF_SCRATCH) {
            buf[q] = add_slot(c, TX_AOT_TEMP, "a scratch buffer", B->dtype, B->size, 0, 0);
            c->af->slots[buf[q]].zero = true;   /* the JIT's scratch is calloc'ed */
        } else if (g->buf_kind[q] == TX_FUSE_BUF_OUTPUT) {
            tx_type t;
            memset(&t, 0, sizeof t);
            t.dtype = (int)B->dtype;
            t.rank = B->rank;
            for (int r = 0; r < B->rank && r < TXRT_MAX_RANK; r++) t.dims[r] = B->shape[r];
            buf[q] = dest_slot(c, g->buf_var[q], &t, NULL, inputs, nin);
            inputs[nin++] = buf[q];   /* two outputs never share a buffer */
        }
    }
    tx_aot_step *st = add_step(c, TX_AOT_KERNEL);
    st->kernel = f;
    st->buf = buf;
    for (int q = 0; q < g->nunbind; q++) unbind(c, g->unbind[q]);
    for (int q = 0; q < f->nbufs; q++) {
        if (g->buf_kind[q] != TX_FUSE_BUF_OUTPUT) continue;
        const tx_lir_buf *B = &f->bufs[q];
        tx_type t;
        memset(&t, 0, sizeof t);
        t.dtype = (int)B->dtype;
        t.rank = B->rank;
        for (int r = 0; r < B->rank && r < TXRT_MAX_RANK; r++) t.dims[r] = B->shape[r];
        bind(c, g->buf_var[q], buf[q], &t);
    }
    return g->nstmts;
}

/* ---- calls: builtins the runtime runs (linear algebra, FFT), reshape, cast, dim ---- */

static bool known_type(const tx_type *t) {
    if (t->dtype < 0 || t->rank < 0) return false;
    for (int k = 0; k < t->rank; k++)
        if (t->dims[k] < 0) return false;
    return true;
}

static const char *runtime_op(int b) {
    switch (b) {
    case TX_B_SOLVE: return "solve";
    case TX_B_LSTSQ: return "lstsq";
    case TX_B_CHO_SOLVE: return "cho_solve";
    case TX_B_INV: return "inv";
    case TX_B_DET: return "det";
    case TX_B_CHOLESKY: return "cholesky";
    case TX_B_EIGH: return "eigh";
    case TX_B_SVD: return "svd";
    case TX_B_QR: return "qr";
    case TX_B_FFT: return "fft";
    case TX_B_IFFT: return "ifft";
    case TX_B_FFT2: return "fft2";
    case TX_B_IFFT2: return "ifft2";
    case TX_B_RFFT: return "rfft";
    case TX_B_IRFFT: return "irfft";
    default: return NULL;
    }
}

/* The binding of a whole-tensor argument, or NULL after a diagnostic. */
static const binding *tensor_arg(bctx *c, const tx_tir_stmt *s, int k) {
    const tx_tir_expr *x = s->args[k];
    if (x->kind != TX_TIR_ACCESS || x->nsubs) {
        unsupported(c, x->span, "an expression as a builtin's tensor argument (name it first)");
        return NULL;
    }
    const binding *b = find(c, x->var);
    if (!b) tx_error(c->d, x->span, "'%s' is not defined", x->var);
    return b;
}

static bool do_stmts(bctx *c, tx_tir_stmt **body, int n);

/* A call of another def: its body is compiled in place (inlined), with its
 * sizes bound from the arguments' shapes, as the evaluator binds them. */
static bool do_inline(bctx *c, const tx_tir_stmt *s) {
    const tx_tir_func *fn = s->func;
    for (int k = 0; !fn && c->prog && k < c->prog->nfuncs; k++)
        if (s->callee && strcmp(c->prog->funcs[k]->name, s->callee) == 0) fn = c->prog->funcs[k];
    if (!fn) {
        tx_error(c->d, s->span, "'%s' is not a function", s->callee ? s->callee : "?");
        return false;
    }
    if (c->inline_depth >= 16) {
        unsupported(c, s->span, "defs calling each other more than 16 deep (recursion)");
        return false;
    }
    if (s->nargs != fn->nparams || s->nresults > fn->nresults) {
        tx_error(c->d, s->span, "'%s' takes %d arguments and returns %d results", fn->name, fn->nparams,
                 fn->nresults);
        return false;
    }
    bctx sub;
    memset(&sub, 0, sizeof sub);
    sub.a = c->a, sub.d = c->d, sub.fn = fn, sub.af = c->af, sub.rw = c->rw, sub.prog = c->prog;
    sub.capslots = c->capslots, sub.capsteps = c->capsteps;
    sub.inline_depth = c->inline_depth + 1;
    const char **sname = TX_NEWN(c->a, const char *, fn->nsizes + 1);
    int64_t *sval = TX_NEWN(c->a, int64_t, fn->nsizes + 1);
    int ns = 0;
    bool ok = true;
    char sa[256];
    for (int k = 0; k < fn->nparams && ok; k++) {
        const tx_tir_param *p = &fn->params[k];
        const tx_tir_expr *x = s->args[k];
        binding arg;
        double v;
        if (x->kind == TX_TIR_ACCESS && !x->nsubs) {
            const binding *b = find(c, x->var);
            if (!b) {
                tx_error(c->d, x->span, "'%s' is not defined", x->var);
                ok = false;
                break;
            }
            arg = *b;
        } else if (const_value(c, x, &v)) {
            memset(&arg, 0, sizeof arg);
            arg.type.dtype = TXRT_F64;
            arg.slot = add_slot(&sub, TX_AOT_SIZE, p->name, TXRT_F64, 1, 0, v);
        } else {
            unsupported(c, x->span, "an expression as an argument of a def called inside a def (name it first)");
            ok = false;
            break;
        }
        if (arg.type.rank != p->ndims) {
            tx_error(c->d, x->span, "argument %d of '%s' should have %d axes (%s), got shape %s", k + 1, fn->name,
                     p->ndims, p->name, txrt_shape_str(arg.type.rank, arg.type.dims, sa, sizeof sa));
            ok = false;
            break;
        }
        for (int q = 0; q < p->ndims && ok; q++) {
            int64_t have = arg.type.dims[q];
            if (!p->dims[q].name) {
                if (have != p->dims[q].value) {
                    tx_error(c->d, x->span, "axis %d of argument %d of '%s' should have size %lld, got shape %s", q,
                             k + 1, fn->name, p->dims[q].value,
                             txrt_shape_str(arg.type.rank, arg.type.dims, sa, sizeof sa));
                    ok = false;
                }
                continue;
            }
            int at = -1;
            for (int z = 0; z < ns; z++)
                if (strcmp(sname[z], p->dims[q].name) == 0) at = z;
            if (at < 0) {
                sname[ns] = p->dims[q].name;
                sval[ns++] = have;
            } else if (sval[at] != have) {
                tx_error(c->d, x->span, "size '%s' of '%s' is %lld from earlier arguments but %lld in argument %d",
                         p->dims[q].name, fn->name, (long long)sval[at], (long long)have, k + 1);
                ok = false;
            }
        }
        if (!ok) break;
        if (p->dtype >= 0 && p->dtype != arg.type.dtype) {   /* the evaluator casts the argument */
            tx_type t = arg.type;
            t.dtype = p->dtype;
            int dst = add_slot(&sub, TX_AOT_TEMP, p->name, (txrt_dtype)p->dtype, type_size(&t), 0, 0);
            if (!elementwise(&sub, p->name, dst, arg.slot, -1)) {
                tx_error(c->d, x->span, "argument %d of '%s' is complex but the parameter is %s", k + 1, fn->name,
                         txrt_dtype_name((txrt_dtype)p->dtype));
                ok = false;
                break;
            }
            arg.slot = dst;
            arg.type = t;
        }
        bind(&sub, p->name, arg.slot, &arg.type);
    }
    if (ok) {
        tx_type t;
        memset(&t, 0, sizeof t);
        t.dtype = TXRT_F64;
        for (int k = 0; k < ns; k++)
            bind(&sub, sname[k], add_slot(&sub, TX_AOT_SIZE, sname[k], TXRT_F64, 1, 0, (double)sval[k]), &t);
        ok = do_stmts(&sub, fn->body, fn->nbody);
    }
    /* the results */
    for (int k = 0; ok && k < s->nresults; k++) {
        const tx_tir_param *p = &fn->results[k];
        const binding *b = find(&sub, p->name);
        if (!b) {
            tx_error(c->d, p->span, "'%s' did not assign its result '%s'", fn->name, p->name);
            ok = false;
            break;
        }
        binding res = *b;
        if (p->dtype >= 0 && p->dtype != res.type.dtype) {
            tx_type t = res.type;
            t.dtype = p->dtype;
            int dst = add_slot(&sub, TX_AOT_TEMP, p->name, (txrt_dtype)p->dtype, type_size(&t), 0, 0);
            if (!elementwise(&sub, p->name, dst, res.slot, -1)) {
                tx_error(c->d, p->span, "result '%s' is complex but declared %s", p->name,
                         txrt_dtype_name((txrt_dtype)p->dtype));
                ok = false;
                break;
            }
            res.slot = dst;
            res.type = t;
        }
        bind(c, s->results[k], res.slot, &res.type);
    }
    c->capslots = sub.capslots;
    c->capsteps = sub.capsteps;
    return ok;
}

/* X[t, i] (%take) and X[t, i] = V / += V (%put, %put_add) with positions
 * known at build time (sizes, unrolled loop variables): loop kernels over
 * the slice.  %put writes the slice of X in place when X's buffer is its
 * own, else of a copy. */
static bool do_slice(bctx *c, const tx_tir_stmt *s) {
    int b = s->builtin;
    int first = b == TX_B_TAKE ? 1 : 2;
    const binding *xb = tensor_arg(c, s, 0);
    if (!xb) return false;
    binding X = *xb, V;
    memset(&V, 0, sizeof V);
    if (b != TX_B_TAKE) {
        const binding *vb = tensor_arg(c, s, 1);
        if (!vb) return false;
        V = *vb;
    }
    if (X.type.rank != s->nargs - first) {
        tx_error(c->d, s->span, "%s has rank %d but is indexed with %d subscripts", s->args[0]->var, X.type.rank,
                 s->nargs - first);
        return false;
    }
    /* the slice: element offset, kept axes with their strides in X */
    int64_t off = 0, stride = 1, st[TXRT_MAX_RANK], kshape[TXRT_MAX_RANK], kstride[TXRT_MAX_RANK];
    int nk = 0;
    for (int a = X.type.rank - 1; a >= 0; a--) {
        st[a] = stride;
        const tx_tir_expr *p = s->args[first + a];
        if (p->kind != TX_TIR_STRING) {
            double v;
            if (!const_value(c, p, &v) || v != floor(v)) {
                unsupported(c, p->span, "a subscript whose value is not known at build time");
                return false;
            }
            int64_t n = X.type.dims[a];
            if (v < (double)-n || v >= (double)n) {
                tx_error(c->d, p->span, "index %.0f is out of bounds for axis %d of %s with size %lld", v, a,
                         s->args[0]->var, (long long)n);
                return false;
            }
            off += ((int64_t)v < 0 ? (int64_t)v + n : (int64_t)v) * stride;
        }
        stride *= X.type.dims[a];
    }
    for (int a = 0; a < X.type.rank; a++)
        if (s->args[first + a]->kind == TX_TIR_STRING) kshape[nk] = X.type.dims[a], kstride[nk++] = st[a];
    tx_type rt;   /* the result: the slice (take) or X (put) */
    memset(&rt, 0, sizeof rt);
    rt.dtype = X.type.dtype;
    if (b == TX_B_TAKE) {
        rt.rank = nk;
        memcpy(rt.dims, kshape, sizeof(int64_t) * (size_t)nk);
    } else {
        rt = X.type;
        bool same = V.type.rank == nk;
        for (int k = 0; same && k < nk; k++) same = V.type.dims[k] == kshape[k];
        if (!same) {
            char sa[256], sb[256];
            tx_error(c->d, s->args[1]->span, "the right-hand side has shape %s but the part of %s it is assigned to "
                     "has shape %s", txrt_shape_str(V.type.rank, V.type.dims, sa, sizeof sa), s->args[0]->var,
                     txrt_shape_str(nk, kshape, sb, sizeof sb));
            return false;
        }
    }
    /* X[t, i] = V rebinding X: in place when nothing else sees X's buffer
     * (the evaluator's copy on write), else into a copy */
    const tx_aot_slot *xs = &c->af->slots[X.slot];
    int rx = result_of(c, s->results[0]);
    bool inplace = b != TX_B_TAKE && c->inline_depth == 0 && strcmp(s->results[0], s->args[0]->var) == 0 &&
                   V.slot != X.slot && !slot_busy(c, X.slot, s->results[0]) &&
                   (xs->kind == TX_AOT_TEMP || (xs->kind == TX_AOT_OUTPUT && rx >= 0 && c->out_slot[rx] == X.slot));
    int dst;
    if (inplace) {
        dst = X.slot;
    } else {
        int reads[2] = { X.slot, b == TX_B_TAKE ? X.slot : V.slot };
        dst = dest_slot(c, s->results[0], &rt, NULL, reads, 2);
    }
    if (b != TX_B_TAKE && !inplace) {
        tx_aot_step *cp = add_step(c, TX_AOT_COPY);
        cp->a = X.slot;
        cp->c = dst;
    }
    /* kernel: flat buffers; loops over the kept axes */
    int64_t nx = type_size(&X.type), nd = type_size(&rt), nv = b == TX_B_TAKE ? 0 : type_size(&V.type);
    tx_lir_func *f = tx_lir_func_new(c->a, s->results[0]);
    int bo = tx_lir_add_buf(f, s->results[0], (txrt_dtype)rt.dtype, 1, &nd, true);
    int bx = b == TX_B_PUT || inplace ? -1 : tx_lir_add_buf(f, "x", (txrt_dtype)X.type.dtype, 1, &nx, false);
    int bv = b == TX_B_TAKE ? -1 : tx_lir_add_buf(f, "v", (txrt_dtype)V.type.dtype, 1, &nv, false);
    tx_lir_block *blk = &f->body;
    int vars[TXRT_MAX_RANK];
    int64_t xc[TXRT_MAX_RANK], rc[TXRT_MAX_RANK];
    int64_t rs = 1;
    for (int k = nk - 1; k >= 0; k--) rc[k] = rs, rs *= kshape[k];   /* row-major in the slice */
    for (int k = 0; k < nk; k++) {
        vars[k] = tx_lir_add_var(f, "i");
        xc[k] = kstride[k];
        blk = &tx_lir_loop(f, blk, vars[k], 0, kshape[k])->body;
    }
    tx_lir_affine in_x = tx_lir_affine_make(f, nk, vars, xc, off);
    tx_lir_affine in_s = tx_lir_affine_make(f, nk, vars, rc, 0);
    tx_lir_expr *e;
    tx_lir_affine out;
    if (b == TX_B_TAKE) {
        e = tx_lir_load(f, bx, in_x);
        out = in_s;
    } else {
        e = tx_lir_load(f, bv, in_s);
        if (b == TX_B_PUT_ADD) e = tx_lir_binary(f, TX_TOP_ADD, tx_lir_load(f, inplace ? bo : bx, in_x), e);
        out = in_x;
    }
    if (!e || !tx_lir_store(f, blk, bo, out, e)) {
        tx_error(c->d, s->span, "cannot store complex values into '%s', which is %s", s->args[0]->var,
                 txrt_dtype_name((txrt_dtype)X.type.dtype));
        return false;
    }
    tx_aot_step *st2 = add_step(c, TX_AOT_KERNEL);
    st2->kernel = f;
    st2->buf = TX_NEWN(c->a, int, 3);
    int nb = 0;
    st2->buf[nb++] = dst;
    if (bx >= 0) st2->buf[nb++] = X.slot;
    if (bv >= 0) st2->buf[nb++] = V.slot;
    bind(c, s->results[0], dst, &rt);
    return true;
}

/* A complex number known at build time (full's value). */
static bool const_complex(const bctx *c, const tx_tir_expr *x, double *re, double *im) {
    double ar, ai, br, bi;
    if (!x) return false;
    if (x->kind == TX_TIR_CONST) return *re = x->re, *im = x->im, true;
    if (x->kind == TX_TIR_UNARY && x->op == TX_TOP_NEG && const_complex(c, x->a, &ar, &ai))
        return *re = -ar, *im = -ai, true;
    if (x->kind == TX_TIR_BINARY && const_complex(c, x->a, &ar, &ai) && const_complex(c, x->b, &br, &bi)) {
        switch (x->op) {
        case TX_TOP_ADD: return *re = ar + br, *im = ai + bi, true;
        case TX_TOP_SUB: return *re = ar - br, *im = ai - bi, true;
        case TX_TOP_MUL: return *re = ar * br - ai * bi, *im = ar * bi + ai * br, true;
        default: break;
        }
    }
    *im = 0;
    return const_value(c, x, re);
}

/* zeros, ones, full, eye, arange with sizes known at build time: a kernel
 * filling the result (the caller's buffer is not zeroed). */
static bool do_construct(bctx *c, const tx_tir_stmt *s) {
    int b = s->builtin;
    tx_lookup lk = { lk_get, c };
    tx_type types[4];
    memset(types, 0, sizeof types);
    if (!tx_tir_call_types(s, &lk, types, c->d)) return false;
    if (!known_type(&types[0])) {
        tx_error(c->d, s->span, "the shape of the result of '%s' is not known at build time", tx_builtins[b].name);
        return false;
    }
    double re = b == TX_B_ONES ? 1 : 0, im = 0;
    if (b == TX_B_FULL) {
        const tx_tir_expr *v = NULL;
        for (int k = 0; k < s->nkwargs; k++)
            if (strcmp(s->kwargs[k].name, "value") == 0) v = s->kwargs[k].value;
        if (!v || !const_complex(c, v, &re, &im)) {
            unsupported(c, s->span, "'full' with a value not known at build time");
            return false;
        }
    }
    tx_type *t = &types[0];
    int64_t n = type_size(t);
    tx_lir_func *f = tx_lir_func_new(c->a, s->results[0]);
    int bo = tx_lir_add_buf(f, s->results[0], (txrt_dtype)t->dtype, t->rank, t->dims, true);
    int vars[TXRT_MAX_RANK];
    int64_t coef[TXRT_MAX_RANK], str = 1;
    tx_lir_block *blk = &f->body;
    for (int k = t->rank - 1; k >= 0; k--) coef[k] = str, str *= t->dims[k];
    for (int k = 0; k < t->rank; k++) {
        vars[k] = tx_lir_add_var(f, k == 0 ? "i" : "j");
        blk = &tx_lir_loop(f, blk, vars[k], 0, t->dims[k])->body;
    }
    tx_lir_expr *e;
    if (b == TX_B_EYE)
        e = tx_lir_binary(f, TX_TOP_EQ, tx_lir_index(f, vars[0]), tx_lir_index(f, vars[1]));
    else if (b == TX_B_ARANGE)
        e = tx_lir_index(f, vars[0]);
    else
        e = tx_lir_const(f, im != 0 ? TXRT_C128 : TXRT_F64, re, im);
    if (!e || !tx_lir_store(f, blk, bo, tx_lir_affine_make(f, t->rank, vars, coef, 0), e)) {
        tx_error(c->d, s->span, "cannot compile '%s'", tx_builtins[b].name);
        return false;
    }
    (void)n;
    int dst = dest_slot(c, s->results[0], t, NULL, NULL, 0);
    tx_aot_step *st = add_step(c, TX_AOT_KERNEL);
    st->kernel = f;
    st->buf = TX_NEWN(c->a, int, 1);
    st->buf[0] = dst;
    bind(c, s->results[0], dst, t);
    return true;
}

static bool do_call(bctx *c, const tx_tir_stmt *s) {
    const char *name = s->builtin >= 0 && s->builtin < TX_B__COUNT ? tx_builtins[s->builtin].name
                                                                  : s->callee ? s->callee : "?";
    int b = s->builtin;
    if (b < 0) return do_inline(c, s);
    const char *op = b >= 0 ? runtime_op(b) : NULL;
    if (b == TX_B_TAKE || b == TX_B_PUT || b == TX_B_PUT_ADD) return do_slice(c, s);
    if (b == TX_B_ZEROS || b == TX_B_ONES || b == TX_B_FULL || b == TX_B_EYE || b == TX_B_ARANGE)
        return do_construct(c, s);
    bool whole = b == TX_B_SUM1 || b == TX_B_MAX1 || b == TX_B_MIN1 || b == TX_B_NORM;
    if (!op && b != TX_B_RESHAPE && b != TX_B_CAST && b != TX_B_DIM && !whole) {
        char msg[256];
        snprintf(msg, sizeof msg, "calling '%s' inside a def (index notation, whole-tensor arithmetic, "
                 "calls of defs, zeros, ones, full, eye, arange, reshape, cast, dim, sum, max, min, norm, "
                 "linear algebra and FFT builtins "
                 "compile ahead of time)", name);
        tx_diag *g = unsupported(c, s->span, msg);
        tx_hint(c->d, g, "compute it outside and pass it to the def as an argument");
        return false;
    }
    tx_lookup lk = { lk_get, c };
    tx_type types[4];
    memset(types, 0, sizeof types);
    if (!tx_tir_call_types(s, &lk, types, c->d)) return false;
    int nres = tx_builtins[b].nresults;
    if (s->nresults != nres) {
        unsupported(c, s->span, "binding only some results of a builtin");
        return false;
    }
    for (int k = 0; k < nres; k++)
        if (!known_type(&types[k])) {
            tx_error(c->d, s->span, "the shape of the result of '%s' is not known at build time", name);
            return false;
        }
    if (b == TX_B_DIM) {
        const binding *x = tensor_arg(c, s, 0);
        double axis;
        if (!x) return false;
        if (!const_value(c, s->args[1], &axis) || axis != floor(axis) || axis < -x->type.rank || axis >= x->type.rank) {
            tx_error(c->d, s->args[1]->span, "the axis of 'dim' must be a whole number from %d to %d",
                     -x->type.rank, x->type.rank - 1);
            return false;
        }
        int ax = (int)axis < 0 ? (int)axis + x->type.rank : (int)axis;
        bind(c, s->results[0], add_slot(c, TX_AOT_SIZE, s->results[0], TXRT_F64, 1, 0, (double)x->type.dims[ax]),
             &types[0]);
        return true;
    }
    if (whole) {   /* sum(X), max(X), min(X), norm(X): one loop over the elements, in double */
        const binding *x = tensor_arg(c, s, 0);
        if (!x) return false;
        int src = x->slot;
        int64_t n = type_size(&x->type), zero = 0;
        txrt_dtype xdt = (txrt_dtype)x->type.dtype;
        bool cplx = tx_lir_is_complex(xdt);
        tx_lir_func *f = tx_lir_func_new(c->a, s->results[0]);
        int bo = tx_lir_add_buf(f, s->results[0], (txrt_dtype)types[0].dtype, 0, &zero, true);
        int bi = tx_lir_add_buf(f, "x", xdt, 1, &n, false);
        txrt_dtype adt = cplx && b == TX_B_SUM1 ? TXRT_C128 : TXRT_F64;
        int acc = tx_lir_add_acc(f, b == TX_B_MAX1 ? TX_RED_MAX : b == TX_B_MIN1 ? TX_RED_MIN : TX_RED_SUM, adt);
        tx_lir_acc_init(f, &f->body, acc);
        int v = tx_lir_add_var(f, "p");
        tx_lir_stmt *loop = tx_lir_loop(f, &f->body, v, 0, n);
        int64_t one = 1;
        tx_lir_expr *e = tx_lir_load(f, bi, tx_lir_affine_make(f, 1, &v, &one, 0));
        if (b == TX_B_NORM) {
            if (cplx) e = tx_lir_unary(f, TX_TOP_ABS, e);
            e = tx_lir_binary(f, TX_TOP_MUL, e, e);
        }
        e = tx_lir_cast(f, e, adt);
        if (!e) {
            tx_error(c->d, s->span, "'%s' is not defined for complex values", name);
            return false;
        }
        tx_lir_accum(f, &loop->body, acc, e);
        tx_lir_expr *r = tx_lir_accref(f, acc);
        if (b == TX_B_NORM) r = tx_lir_unary(f, TX_TOP_SQRT, r);
        if (!r || !tx_lir_store(f, &f->body, bo, tx_lir_affine_make(f, 0, NULL, NULL, 0), r)) {
            tx_error(c->d, s->span, "'%s' of %s values cannot be compiled", name, txrt_dtype_name(xdt));
            return false;
        }
        int dst = dest_slot(c, s->results[0], &types[0], NULL, &src, 1);
        tx_aot_step *st = add_step(c, TX_AOT_KERNEL);
        st->kernel = f;
        st->buf = TX_NEWN(c->a, int, 2);
        st->buf[0] = dst;
        st->buf[1] = src;
        bind(c, s->results[0], dst, &types[0]);
        return true;
    }
    if (b == TX_B_RESHAPE) {   /* the same data under another shape */
        const binding *x = tensor_arg(c, s, 0);
        if (!x) return false;
        int slot = x->slot;
        bind(c, s->results[0], slot, &types[0]);
        return true;
    }
    if (b == TX_B_CAST) {
        const binding *x = tensor_arg(c, s, 0);
        if (!x) return false;
        int src = x->slot;
        int dst = dest_slot(c, s->results[0], &types[0], NULL, &src, 1);
        if (!elementwise(c, s->results[0], dst, src, -1)) {
            tx_error(c->d, s->span, "cannot cast complex values to a real dtype");
            return false;
        }
        bind(c, s->results[0], dst, &types[0]);
        return true;
    }
    /* the runtime's builtins */
    int nin = (b == TX_B_SOLVE || b == TX_B_LSTSQ || b == TX_B_CHO_SOLVE) ? 2 : 1;
    tx_aot_step tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.io = TX_NEWN(c->a, int, nin + nres);
    tmp.rank = TX_NEWN(c->a, int, nin + nres);
    tmp.shape = TX_NEWN(c->a, int64_t *, nin + nres);
    for (int k = 0; k < nin; k++) {
        const binding *x = tensor_arg(c, s, k);
        if (!x) return false;
        tmp.io[k] = x->slot;
        tmp.rank[k] = x->type.rank;
        tmp.shape[k] = TX_NEWN(c->a, int64_t, x->type.rank + 1);
        memcpy(tmp.shape[k], x->type.dims, sizeof(int64_t) * (size_t)x->type.rank);
    }
    if (b == TX_B_FFT || b == TX_B_IFFT) {
        double axis = -1;
        for (int k = 0; k < s->nkwargs; k++)
            if (strcmp(s->kwargs[k].name, "axis") == 0 && !const_value(c, s->kwargs[k].value, &axis)) {
                tx_error(c->d, s->kwargs[k].span, "the axis of '%s' must be known at build time", name);
                return false;
            }
        tmp.num = (int64_t)axis;
    }
    if (b == TX_B_IRFFT && s->nargs > 1) {
        double len;
        if (!const_value(c, s->args[1], &len) || len != floor(len) || len < 1) {
            tx_error(c->d, s->args[1]->span, "the output length of 'irfft' must be a whole number known at build time");
            return false;
        }
        tmp.num = (int64_t)len;
    }
    for (int k = 0; k < nres; k++) {
        int q = nin + k;
        tmp.io[q] = dest_slot(c, s->results[k], &types[k], NULL, tmp.io, q);
        tmp.rank[q] = types[k].rank;
        tmp.shape[q] = TX_NEWN(c->a, int64_t, types[k].rank + 1);
        memcpy(tmp.shape[q], types[k].dims, sizeof(int64_t) * (size_t)types[k].rank);
    }
    tx_aot_step *st = add_step(c, TX_AOT_CALL);
    *st = tmp;
    st->kind = TX_AOT_CALL;
    st->op = op;
    st->nin = nin;
    st->nout = nres;
    for (int k = 0; k < nres; k++) bind(c, s->results[k], tmp.io[nin + k], &types[k]);
    return true;
}

/* `for t in lo..hi { ... }` with bounds known at build time: unrolled. */
#define MAX_UNROLL 256
static bool do_for(bctx *c, const tx_tir_stmt *s) {
    double lo, hi;
    if (!const_value(c, s->lo, &lo) || !const_value(c, s->hi, &hi)) {
        unsupported(c, s->span, "a 'for' loop whose bounds are not known at build time");
        return false;
    }
    if (lo != floor(lo) || hi != floor(hi)) {
        tx_error(c->d, s->span, "the bounds of a for loop must be whole numbers, got %.17g..%.17g", lo, hi);
        return false;
    }
    double iters = hi > lo ? hi - lo : 0;
    if (iters > MAX_UNROLL) {
        char msg[160];
        snprintf(msg, sizeof msg, "a 'for' loop of %.0f iterations (txc build unrolls loops, at most %d)", iters,
                 MAX_UNROLL);
        unsupported(c, s->span, msg);
        return false;
    }
    tx_type t;
    memset(&t, 0, sizeof t);
    t.dtype = TXRT_F64;
    c->loop_depth++;
    for (double v = lo; v < hi; v++) {
        bind(c, s->var, add_slot(c, TX_AOT_SIZE, s->var, TXRT_F64, 1, 0, v), &t);
        if (!do_stmts(c, s->body, s->nbody)) return false;
    }
    c->loop_depth--;
    return true;
}

static bool do_stmts(bctx *c, tx_tir_stmt **body, int n) {
    for (int k = 0; k < n; k++) {
        const tx_tir_stmt *s = body[k];
        switch (s->kind) {
        case TX_TIR_DEF: {
            int end = k;
            while (end < n && body[end]->kind == TX_TIR_DEF) end++;
            /* the fuser plans with constant extents: generic defs go statement by statement */
            int got = c->generic ? 0 : try_group(c, body, k, end, n);
            if (got > 0) {
                k += got - 1;
                break;
            }
            if (!do_def(c, s, true)) return false;
            break;
        }
        case TX_TIR_RETURN:   /* the rest of the body never runs */
            if (c->loop_depth == 0) return true;
            unsupported(c, s->span, "'return' inside a for loop of a def");
            return false;
        case TX_TIR_CALL:
            if (c->generic) {   /* builtins and inlined defs are built on constant shapes */
                const char *nm = s->builtin >= 0 && s->builtin < TX_B__COUNT ? tx_builtins[s->builtin].name
                               : s->callee ? s->callee : "?";
                char msg[256];
                if (s->builtin == TX_B_TAKE || s->builtin == TX_B_PUT || s->builtin == TX_B_PUT_ADD)
                    snprintf(msg, sizeof msg, "subscripts by positions (X[t, i], X[t, i] = ...)");
                else
                    snprintf(msg, sizeof msg, "calling '%s' (calls of builtins and defs need fixed sizes)", nm);
                refuse_generic(c, s->span, msg);
                return false;
            }
            if (!do_call(c, s)) return false;
            break;
        case TX_TIR_FOR:
            if (c->generic) {
                refuse_generic(c, s->span, "a 'for' loop (txc build unrolls loops, which needs fixed sizes)");
                return false;
            }
            if (!do_for(c, s)) return false;
            break;
        case TX_TIR_PRINT:
            unsupported(c, s->span, "'print' inside a def");
            return false;
        case TX_TIR_ASSERT: {   /* checked when the function runs: non-zero status and the message */
            const tx_tir_expr *cond = s->nargs > 0 ? s->args[0] : s->nitems > 0 ? s->items[0] : NULL;
            const binding *b = cond && cond->kind == TX_TIR_ACCESS && !cond->nsubs ? find(c, cond->var) : NULL;
            if (!b || b->type.rank != 0) {
                unsupported(c, s->span, "this assert condition (a scalar name is needed)");
                return false;
            }
            uint32_t line = 0, col = 0;
            if (c->d->src) tx_source_linecol(c->d->src, s->span.lo, &line, &col);
            tx_aot_step *st = add_step(c, TX_AOT_ASSERT);
            st->a = b->slot;
            st->op = tx_arena_printf(c->a, "%s: assertion failed%s%s (%s:%u)", c->af->name, s->msg ? ": " : "",
                                     s->msg ? s->msg : "", c->d->src ? c->d->src->name : "?", line);
            break;
        }
        }
    }
    return true;
}

static const char *dtype_c(txrt_dtype dt) {
    switch (dt) {
    case TXRT_F64: return "double";
    case TXRT_F32: return "float";
    case TXRT_C128: return "txc_c128";
    case TXRT_C64: return "txc_c64";
    }
    return "void";
}

/* The value --shape gives size `name` of def `fn`: "fn.name=..." first,
 * then "name=..." (the last one given wins). */
static int64_t size_value(const build_opts *o, const char *fn, const char *name, bool *found) {
    size_t fl = strlen(fn);
    for (int k = o->nshapes - 1; k >= 0; k--) {
        const char *s = o->shapes[k].name;
        if (strncmp(s, fn, fl) == 0 && s[fl] == '.' && strcmp(s + fl + 1, name) == 0)
            return *found = true, o->shapes[k].value;
    }
    for (int k = o->nshapes - 1; k >= 0; k--)
        if (strcmp(o->shapes[k].name, name) == 0) return *found = true, o->shapes[k].value;
    *found = false;
    return 0;
}

/* The value of a size of a built function (after build_func). */
static int64_t af_size(const tx_aot_func *af, const char *name) {
    for (int k = 0; k < af->nsizes; k++)
        if (strcmp(af->size_name[k], name) == 0) return af->size_value[k];
    return -1;
}

/* Is size `name` of a built function a run-time argument? */
static bool af_runtime(const tx_aot_func *af, const char *name) {
    for (int k = 0; k < af->nsizes; k++)
        if (strcmp(af->size_name[k], name) == 0) return af->size_runtime && af->size_runtime[k];
    return false;
}

/* Names an exported function cannot take: C and C++ keywords, and what
 * generated code or its runtime call (libm, libc, txrt_). */
static const char *bad_export(const char *name) {
    static const char *const libc[] = {
        "sin", "cos", "tan", "tanh", "exp", "exp2", "exp10", "log", "log2", "log10", "pow", "sqrt", "fabs",
        "floor", "ceil", "fmax", "fmin", "hypot", "atan2", "sinh", "cosh", "ldexp", "fmod", "round", "trunc",
        "rint", "nearbyint", "copysign", "expm1", "log1p", "sincos", "sincosf", "expf", "logf", "powf", "sqrtf",
        "memset", "memcpy", "memmove", "malloc", "calloc", "realloc", "free", "abort", "exit", "printf",
        "abs", "atan", "asin", "acos", "erf", "erfc", "tgamma", "lgamma", "cbrt", "fma", NULL
    };
    for (int k = 0; libc[k]; k++)
        if (strcmp(libc[k], name) == 0) return "a C library function";
    if (strncmp(name, "txrt_", 5) == 0 || strncmp(name, "tx_", 3) == 0) return "reserved for txc and its runtime";
    static const char *const kw[] = {
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
        "extern", "float", "goto", "if", "inline", "int", "long", "register", "restrict", "return", "short",
        "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void", "volatile",
        "while", "bool", "true", "false", "class", "new", "delete", "this", "template", "typename",
        "namespace", "using", "public", "private", "protected", "virtual", "friend", "operator", "try",
        "catch", "throw", "explicit", "mutable", "export", "and", "or", "not", "xor", "asm", "main", NULL
    };
    for (int k = 0; kw[k]; k++)
        if (strcmp(kw[k], name) == 0) return "a C or C++ keyword";
    if (name[0] == '_') return "reserved in C (it starts with an underscore)";
    return NULL;
}

/* The def size id of size name `name` if it is a run-time size, else -1. */
static int size_sym_of(const tx_tir_func *fn, const tx_aot_func *af, const char *name) {
    for (int k = 0; k < fn->nsizes; k++)
        if (strcmp(fn->sizes[k], name) == 0) return af->size_runtime[k] ? k : -1;
    return -1;
}

/* Few enough run-time axes for a monomial (tx_lir_mono)? */
static bool sym_fits(const int *symdim, int rank) {
    int n = 0;
    for (int k = 0; k < rank; k++) n += symdim[k] >= 0;
    return n <= TX_LIR_MAXF;
}

/* Compile one def into af; false after a diagnostic. */
static bool build_func(tx_arena *a, const tx_tir_program *prog, const tx_tir_func *fn, const build_opts *o,
                       tx_plan_runtime *planner,
                       tx_aot_func *af, tx_diags *d) {
    bctx c;
    memset(&c, 0, sizeof c);
    c.a = a, c.d = d, c.fn = fn, c.af = af;
    c.rw = tx_plan_rewriter(planner);
    c.prog = prog;
    memset(af, 0, sizeof *af);
    af->name = fn->name;
    const char *why = bad_export(fn->name);
    if (why) {
        tx_diag *g = tx_error(d, fn->span, "def '%s' cannot be exported under that name: it is %s", fn->name, why);
        tx_hint(d, g, "rename the def");
        return false;
    }
    af->nparams = fn->nparams;
    af->nresults = fn->nresults;
    /* sizes: those --shape gives are specialised, the others are run-time
     * arguments (size-generic code, checked as REP_SIZE) */
    char example[512] = "";
    int nruntime = 0;
    af->nsizes = fn->nsizes;
    af->size_name = TX_NEWN(a, const char *, fn->nsizes + 1);
    af->size_value = TX_NEWN(a, int64_t, fn->nsizes + 1);
    af->size_runtime = TX_NEWN(a, bool, fn->nsizes + 1);
    c.uf = TX_NEWN(a, int, fn->nsizes + 1);
    for (int k = 0; k < fn->nsizes; k++) {
        bool found;
        int64_t v = size_value(o, fn->name, fn->sizes[k], &found);
        af->size_name[k] = fn->sizes[k];
        af->size_value[k] = found ? v : REP_SIZE;
        af->size_runtime[k] = !found;
        c.uf[k] = k;
        if (!found) {
            size_t el = strlen(example);
            snprintf(example + el, sizeof example - el, "%s%s=...", nruntime ? "," : "", fn->sizes[k]);
            nruntime++;
        }
    }
    c.generic = nruntime > 0;
    c.shape_hint = tx_arena_printf(a, "pass --shape %s to specialise", example);
    if (c.generic && fn->nsizes > 127) {   /* symbol ids are int8_t in tx_lir_mono */
        tx_diag *g = tx_error(d, fn->span, "def '%s' has %d size names; run-time sizes need at most 127", fn->name,
                              fn->nsizes);
        tx_hint(d, g, "%s", c.shape_hint);
        return false;
    }
    for (int k = 0; k < fn->nsizes; k++) {
        if (af->size_value[k] < 0) {
            tx_error(d, fn->span, "size '%s' of '%s' is %lld; sizes cannot be negative", fn->sizes[k], fn->name,
                     (long long)af->size_value[k]);
            return false;
        }
        int s = add_slot(&c, TX_AOT_SIZE, fn->sizes[k], TXRT_F64, 1, k, (double)af->size_value[k]);
        af->slots[s].runtime = af->size_runtime[k];
        tx_type t;
        memset(&t, 0, sizeof t);
        t.dtype = TXRT_F64;
        bind(&c, fn->sizes[k], s, &t);
    }
    /* the def size a signature dimension names, if it is a run-time one */
    int symdim[TXRT_MAX_RANK];
#define DIM_SYM(p, q) ((p)->dims[q].name ? size_sym_of(fn, af, (p)->dims[q].name) : -1)
    /* parameters */
    for (int k = 0; k < fn->nparams; k++) {
        const tx_tir_param *p = &fn->params[k];
        tx_type t;
        memset(&t, 0, sizeof t);
        t.dtype = p->dtype >= 0 ? p->dtype : TXRT_F64;
        t.rank = p->ndims;
        for (int q = 0; q < p->ndims; q++) {
            bool found = true;
            t.dims[q] = p->dims[q].name ? size_value(o, fn->name, p->dims[q].name, &found) : p->dims[q].value;
            symdim[q] = DIM_SYM(p, q);
            if (symdim[q] >= 0) t.dims[q] = REP_SIZE;
        }
        tx_lir_mono m;
        int64_t n = sym_count(&c, &t, symdim, &m);
        if (has_sym(symdim, t.rank) && !sym_fits(symdim, t.rank)) {
            tx_diag *g = tx_error(d, p->span, "'%s' has more than %d axes of run-time size", p->name, TX_LIR_MAXF);
            tx_hint(d, g, "%s", c.shape_hint);
            return false;
        }
        int s = add_slot(&c, TX_AOT_INPUT, p->name, (txrt_dtype)t.dtype, n, k, 0);
        af->slots[s].size_sym = m;
        bind_sym(&c, p->name, s, &t, symdim);
    }
    c.out_slot = TX_NEWN(a, int, fn->nresults + 1);
    c.rdims = tx_arena_alloc(a, sizeof *c.rdims * (size_t)(fn->nresults + 1));
    if (c.generic) c.rsym = tx_arena_alloc(a, sizeof *c.rsym * (size_t)(fn->nresults + 1));
    for (int r = 0; r < fn->nresults; r++) {
        c.out_slot[r] = -1;
        const tx_tir_param *p = &fn->results[r];
        for (int q = 0; q < p->ndims; q++) {
            bool found = true;
            c.rdims[r][q] = p->dims[q].name ? size_value(o, fn->name, p->dims[q].name, &found) : p->dims[q].value;
            int sy = DIM_SYM(p, q);
            if (c.rsym) c.rsym[r][q] = sy;
            if (sy >= 0) c.rdims[r][q] = REP_SIZE;
        }
        if (c.rsym && !sym_fits(c.rsym[r], p->ndims)) {
            tx_diag *g = tx_error(d, p->span, "'%s' has more than %d axes of run-time size", p->name, TX_LIR_MAXF);
            tx_hint(d, g, "%s", c.shape_hint);
            return false;
        }
    }
#undef DIM_SYM
    if (!do_stmts(&c, fn->body, fn->nbody)) return false;
    /* results into the caller's buffers */
    for (int r = 0; r < fn->nresults; r++) {
        const tx_tir_param *p = &fn->results[r];
        const binding *b = find(&c, p->name);
        if (!b) {
            tx_error(d, p->span, "'%s' did not assign its result '%s'", fn->name, p->name);
            return false;
        }
        if (c.generic && same_shape(&b->type, p->ndims, c.rdims[r]) &&
            !same_symshape(&c, &b->type, b->symdim, p->ndims, c.rdims[r], c.rsym[r])) {
            /* the body gives the result other size names: they must be equal, or it is refused */
            for (int q = 0; q < p->ndims; q++) {
                int x = canon(&c, b->symdim[q]), y = canon(&c, c.rsym[r][q]);
                if (x == y) continue;
                if (x < 0 || y < 0) {
                    char msg[256];
                    snprintf(msg, sizeof msg, "result '%s' has axis %d of %s size in the body but %s in the signature",
                             p->name, q, x < 0 ? "constant" : "run-time", y < 0 ? "constant" : "run-time");
                    refuse_generic(&c, p->span, msg);
                    return false;
                }
                uf_union(&c, x, y, p->span);
            }
            b = find(&c, p->name);
        }
        if (!same_shape(&b->type, p->ndims, c.rdims[r])) {
            char sa[256], sb[256];
            if (c.generic) {   /* name the run-time sizes, not their stand-in REP_SIZE */
                tx_type want;
                memset(&want, 0, sizeof want);
                want.rank = p->ndims;
                memcpy(want.dims, c.rdims[r], sizeof(int64_t) * (size_t)p->ndims);
                tx_diag *g = tx_error(d, p->span, "result '%s' of '%s' should have shape %s, but the body gives it shape %s",
                                      p->name, fn->name, symshape_str(&c, &want, c.rsym[r], sa, sizeof sa),
                                      symshape_str(&c, &b->type, b->symdim, sb, sizeof sb));
                tx_hint(d, g, "%s", c.shape_hint);
                return false;
            }
            tx_error(d, p->span, "result '%s' of '%s' should have shape %s, but the body gives it shape %s",
                     p->name, fn->name, txrt_shape_str(p->ndims, c.rdims[r], sa, sizeof sa),
                     txrt_shape_str(b->type.rank, b->type.dims, sb, sizeof sb));
            return false;
        }
        if (c.out_slot[r] >= 0 && b->slot == c.out_slot[r]) continue;
        txrt_dtype want = p->dtype >= 0 ? (txrt_dtype)p->dtype : (txrt_dtype)b->type.dtype;
        if (c.out_slot[r] >= 0 && af->slots[c.out_slot[r]].dtype != want) {
            char msg[256];
            snprintf(msg, sizeof msg, "result '%s' changing dtype inside the def (annotate it, e.g. %s[...]: %s)",
                     p->name, p->name, txrt_dtype_name(want));
            unsupported(&c, p->span, msg);
            return false;
        }
        int dst = output_slot(&c, r, want);
        if (af->slots[b->slot].dtype == want) {
            tx_aot_step *st = add_step(&c, TX_AOT_COPY);
            st->a = b->slot;
            st->c = dst;
        } else if (!elementwise(&c, p->name, dst, b->slot, -1)) {
            tx_error(d, p->span, "result '%s' is complex but declared %s", p->name, txrt_dtype_name(want));
            return false;
        }
    }
    return true;
}

/* ---- the header --------------------------------------------------------------- */

static bool c_reserved(const char *s) {
    static const char *const kw[] = {
        "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
        "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict", "return",
        "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union", "unsigned", "void",
        "volatile", "while", "bool", "true", "false", "class", "new", "delete", "this", "template", "typename",
        "namespace", "using", "public", "private", "protected", "virtual", "friend", "operator", "try",
        "catch", "throw", "explicit", "mutable", "export", "and", "or", "not", "xor", "asm", "complex",
        "I", "main", NULL
    };
    for (int k = 0; kw[k]; k++)
        if (strcmp(kw[k], s) == 0) return true;
    return s[0] == '_';
}

/* A C parameter name for a tx name, distinct from the earlier ones. */
static const char *c_param(tx_arena *a, const char *name, const char **used, int nused) {
    const char *s = c_reserved(name) ? tx_arena_printf(a, "%s_", name) : name;
    for (;;) {
        bool clash = false;
        for (int k = 0; k < nused && !clash; k++) clash = strcmp(used[k], s) == 0;
        if (!clash) return s;
        s = tx_arena_printf(a, "%s_", s);
    }
}

static void dims_text(FILE *h, const tx_tir_param *p, const tx_aot_func *af, bool values) {
    fputc('[', h);
    for (int k = 0; k < p->ndims; k++) {
        if (k) fputc(',', h);
        if (!p->dims[k].name) fprintf(h, "%lld", p->dims[k].value);
        else if (values && !af_runtime(af, p->dims[k].name)) fprintf(h, "%lld", (long long)af_size(af, p->dims[k].name));
        else fputs(p->dims[k].name, h);
    }
    fputc(']', h);
}

static void sig_param(FILE *h, const tx_tir_param *p, const tx_aot_func *af) {
    fputs(p->name, h);
    dims_text(h, p, af, false);
    if (p->dtype >= 0) fprintf(h, ": %s", txrt_dtype_name((txrt_dtype)p->dtype));
}

static bool write_header(const char *path, const char *txfile, tx_arena *a, tx_tir_func **fns,
                         tx_aot_func *afs, int n) {
    FILE *h = fopen(path, "w");
    if (!h) {
        fprintf(stderr, "txc: cannot write '%s': %s\n", path, strerror(errno));
        return false;
    }
    /* include guard from the file name */
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    char guard[256];
    size_t g = 0;
    g += (size_t)snprintf(guard, sizeof guard, "TXC_");
    for (const char *p = base; *p && g + 2 < sizeof guard; p++)
        guard[g++] = (char)((*p >= 'a' && *p <= 'z') ? *p - 32 : ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) ? *p : '_');
    guard[g] = 0;
    bool cplx = false;
    for (int f = 0; f < n; f++)
        for (int k = 0; k < afs[f].nslots; k++)
            if ((afs[f].slots[k].kind == TX_AOT_INPUT || afs[f].slots[k].kind == TX_AOT_OUTPUT) &&
                txrt_dtype_is_complex(afs[f].slots[k].dtype))
                cplx = true;
    const char *txbase = strrchr(txfile, '/');
    txbase = txbase ? txbase + 1 : txfile;
    fprintf(h, "/*\n * %s -- generated by txc build from %s; do not edit.\n", base, txbase);
    fputs(" *\n"
          " * Every function takes the sizes of its tx signature (int64_t), then\n"
          " * pointers to its parameters (dense, row-major, read only), then pointers\n"
          " * to its results (dense, row-major, allocated by the caller, written by the\n"
          " * call).  It returns 0, or non-zero when the arguments do not match\n"
          " * (sizes other than those it was built for, a NULL pointer) or running\n"
          " * failed (out of memory); txrt_last_error() then says why.  Link with\n"
          " * libtxrt: cc app.c model.o $(pkg-config --cflags --libs txrt)\n"
          " */\n", h);
    fprintf(h, "#ifndef %s\n#define %s\n\n#include <stdint.h>\n", guard, guard);
    if (cplx)
        fputs("\n/* Complex tensors: interleaved (re, im) pairs, C99 _Complex in C and\n"
              " * std::complex in C++ (the same layout). */\n"
              "#ifndef TXC_COMPLEX_TYPES\n#define TXC_COMPLEX_TYPES\n"
              "#ifdef __cplusplus\n#include <complex>\n"
              "typedef std::complex<double> txc_c128;\ntypedef std::complex<float> txc_c64;\n"
              "#else\ntypedef double _Complex txc_c128;\ntypedef float _Complex txc_c64;\n#endif\n#endif\n", h);
    fputs("\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
          "/* The message of the calling thread's last failure (libtxrt). */\n"
          "const char *txrt_last_error(void);\n", h);
    for (int f = 0; f < n; f++) {
        const tx_tir_func *fn = fns[f];
        const tx_aot_func *af = &afs[f];
        fputs("\n/* def ", h);
        fputs(fn->name, h);
        fputc('(', h);
        for (int k = 0; k < fn->nparams; k++) {
            if (k) fputs(", ", h);
            sig_param(h, &fn->params[k], af);
        }
        fputs(") -> ", h);
        if (fn->nresults != 1) fputc('(', h);
        for (int k = 0; k < fn->nresults; k++) {
            if (k) fputs(", ", h);
            sig_param(h, &fn->results[k], af);
        }
        if (fn->nresults != 1) fputc(')', h);
        fputc('\n', h);
        int nfixed = 0, nrt = 0;
        for (int k = 0; k < af->nsizes; k++) af->size_runtime[k] ? nrt++ : nfixed++;
        if (nfixed) {
            fputs(" *   built for ", h);
            for (int k = 0, n = 0; k < af->nsizes; k++)
                if (!af->size_runtime[k])
                    fprintf(h, "%s%s=%lld", n++ ? ", " : "", af->size_name[k], (long long)af->size_value[k]);
            fputs(" (txc build --shape); other sizes return non-zero\n", h);
        }
        if (nrt) {
            fputs(" *   run-time size", h);
            fputs(nrt > 1 ? "s " : " ", h);
            for (int k = 0, n = 0; k < af->nsizes; k++)
                if (af->size_runtime[k]) fprintf(h, "%s%s", n++ ? ", " : "", af->size_name[k]);
            fputs(": any value >= 1", h);
            for (int q = 0; q < af->nequal; q++)
                fprintf(h, "%s%s == %s", q ? ", " : "; the def needs ", af->size_name[af->equal[q][1]],
                        af->size_name[af->equal[q][0]]);
            fputs("\n", h);
        }
        for (int pass = 0; pass < 2; pass++) {
            int np = pass ? fn->nresults : fn->nparams;
            for (int k = 0; k < np; k++) {
                const tx_tir_param *p = pass ? &fn->results[k] : &fn->params[k];
                txrt_dtype dt = TXRT_F64;
                for (int q = 0; q < af->nslots; q++)
                    if (af->slots[q].kind == (pass ? TX_AOT_OUTPUT : TX_AOT_INPUT) && af->slots[q].arg == k)
                        dt = af->slots[q].dtype;
                fprintf(h, " *   %s: %s", p->name, txrt_dtype_name(dt));
                dims_text(h, p, af, true);
                fputs(pass ? ", written\n" : ", read\n", h);
            }
        }
        fputs(" *   returns 0, or non-zero with txrt_last_error() saying why */\n", h);
        fprintf(h, "int %s(", fn->name);
        const char **used = TX_NEWN(a, const char *, af->nsizes + fn->nparams + fn->nresults + 1);
        int nused = 0;
        bool first = true;
        for (int k = 0; k < af->nsizes; k++) {
            used[nused] = c_param(a, af->size_name[k], used, nused);
            fprintf(h, "%sint64_t %s", first ? "" : ", ", used[nused++]);
            first = false;
        }
        for (int pass = 0; pass < 2; pass++) {
            int np = pass ? fn->nresults : fn->nparams;
            for (int k = 0; k < np; k++) {
                const tx_tir_param *p = pass ? &fn->results[k] : &fn->params[k];
                txrt_dtype dt = TXRT_F64;
                for (int q = 0; q < af->nslots; q++)
                    if (af->slots[q].kind == (pass ? TX_AOT_OUTPUT : TX_AOT_INPUT) && af->slots[q].arg == k)
                        dt = af->slots[q].dtype;
                used[nused] = c_param(a, p->name, used, nused);
                fprintf(h, "%s%s%s *%s", first ? "" : ", ", pass ? "" : "const ", dtype_c(dt), used[nused++]);
                first = false;
            }
        }
        if (first) fputs("void", h);
        fputs(");\n", h);
    }
    fprintf(h, "\n#ifdef __cplusplus\n}\n#endif\n\n#endif /* %s */\n", guard);
    bool ok = !ferror(h);
    if (fclose(h) != 0) ok = false;
    if (!ok) fprintf(stderr, "txc: cannot write '%s'\n", path);
    return ok;
}

/* ---- linking a shared library ------------------------------------------------- */

static int run_cc(const char *obj, const char *out) {
    const char *cc = getenv("CC");
    if (!cc || !*cc) cc = "cc";
    char *argv[] = { (char *)cc, "-shared", "-o", (char *)out, (char *)obj, NULL };
    pid_t pid;
    int err = posix_spawnp(&pid, cc, NULL, NULL, argv, environ);
    if (err) {
        fprintf(stderr, "txc: cannot run the C compiler '%s' to link '%s': %s\n", cc, out, strerror(err));
        return EXIT_RUNTIME;
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return EXIT_RUNTIME;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "txc: '%s -shared -o %s' failed\n", cc, out);
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}

/* ---- the command -------------------------------------------------------------- */

static int parse_shape(build_opts *o, const char *v) {
    const char *p = v;
    while (*p) {
        const char *eq = strchr(p, '=');
        const char *end = strchr(p, ',');
        if (!end) end = p + strlen(p);
        if (!eq || eq > end || eq == p) return usage_error("--shape needs NAME=SIZE pairs separated by commas, not '%s'", v);
        int dots = 0;
        for (const char *q = p; q < eq; q++) {
            bool start = q == p || q[-1] == '.';
            if (*q == '.' && !start && q + 1 < eq && ++dots == 1) continue;
            if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || *q == '_' || (!start && *q >= '0' && *q <= '9')))
                return usage_error("--shape: '%s' needs SIZE=VALUE or DEF.SIZE=VALUE with identifiers", v);
        }
        char *num_end;
        errno = 0;
        long long n = strtoll(eq + 1, &num_end, 10);
        if (num_end != end || eq + 1 == end || errno || n < 0)
            return usage_error("--shape: sizes must be whole numbers >= 0 (in '%s')", v);
        o->shapes = realloc(o->shapes, sizeof *o->shapes * (size_t)(o->nshapes + 1));
        o->shapes[o->nshapes].name = strndup(p, (size_t)(eq - p));
        o->shapes[o->nshapes].value = n;
        o->nshapes++;
        p = *end ? end + 1 : end;
    }
    return EXIT_OK;
}

static int parse(int argc, char **argv, build_opts *o) {
    memset(o, 0, sizeof *o);
    o->opt = 3;
    o->emit = TX_AOT_OBJECT;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = strcmp(a, "-o") == 0 || strcmp(a, "--header") == 0 || strcmp(a, "--emit") == 0 ||
                       strcmp(a, "--shape") == 0 || strcmp(a, "--cpu") == 0;
        if (has_val && i + 1 >= argc) return usage_error("option '%s' needs a value", a);
        if (strcmp(a, "-o") == 0) o->out = argv[++i];
        else if (strcmp(a, "--header") == 0) o->header = argv[++i];
        else if (strcmp(a, "--shared") == 0) o->shared = true;
        else if (strcmp(a, "--cpu") == 0) o->cpu = argv[++i];
        else if (strcmp(a, "--emit") == 0) {
            const char *v = argv[++i];
            if (strcmp(v, "obj") == 0) o->emit = TX_AOT_OBJECT;
            else if (strcmp(v, "llvm") == 0) o->emit = TX_AOT_LLVM;
            else if (strcmp(v, "asm") == 0) o->emit = TX_AOT_ASM;
            else return usage_error("--emit takes obj, llvm or asm, not '%s'", v);
        } else if (strcmp(a, "--shape") == 0) {
            int rc = parse_shape(o, argv[++i]);
            if (rc) return rc;
        } else if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3]) o->opt = a[2] - '0';
        else if (a[0] == '-' && a[1]) return usage_error("unknown option '%s' for build", a);
        else if (!o->file) o->file = a;
        else return usage_error("unexpected argument '%s'", a);
    }
    if (!o->file) return usage_error("'%s' needs a .tx file", "build");
    if (!o->out) return usage_error("build needs an output file: -o OUT.o%s", o->shared ? " (or libOUT.so)" : "");
    if (o->shared && o->emit != TX_AOT_OBJECT) return usage_error("--shared makes a library; it cannot be combined with %s", "--emit");
    if (o->cpu && !*o->cpu) return usage_error("--cpu needs a CPU name (generic, native, x86-64-v3, ...)%s", "");
    return EXIT_OK;
}

static void free_opts(build_opts *o) {
    for (int k = 0; k < o->nshapes; k++) free((char *)o->shapes[k].name);
    free(o->shapes);
}

int tx_build_main(int argc, char **argv) {
    build_opts o;
    int rc = parse(argc, argv, &o);
    if (rc) {
        free_opts(&o);
        return rc;
    }
    uint32_t len = 0;
    char *text = tx_read_file(o.file, &len);
    if (!text) {
        fprintf(stderr, "txc: cannot read '%s': %s\n", o.file, strerror(errno));
        free_opts(&o);
        return EXIT_USAGE;
    }
    tx_unit u;
    bool ok = tx_unit_compile(&u, o.file, text, len, NULL);
    free(text);
    tx_aot *m = NULL;
    tx_plan_runtime *planner = NULL;
    char objtmp[64] = "";
    tx_diags cgd;
    memset(&cgd, 0, sizeof cgd);
    rc = EXIT_COMPILE;
    if (!ok) goto out;
    tx_tir_program *p = u.tir;
    if (p->nfuncs == 0) {
        tx_diag *g = tx_error(&u.diags, (tx_span){ 0, 0 }, "'%s' has no def to export", o.file);
        tx_hint(&u.diags, g, "txc build compiles each `def f(...) -> ... { ... }` to a C function");
        goto out;
    }
    tx_plan_opts po;
    tx_plan_opts_default(&po);
    planner = tx_plan_runtime_new(&po, NULL, u.src);
    tx_aot_func *afs = TX_NEWN(u.arena, tx_aot_func, p->nfuncs);
    bool all = true;
    for (int f = 0; f < p->nfuncs; f++)
        if (!build_func(u.arena, p, p->funcs[f], &o, planner, &afs[f], &u.diags)) all = false;
    if (!all) goto out;
    /* LLVM-side failures have no place in the source: printed as "txc: ..." */
    tx_diags_init(&cgd, u.arena, u.src);
    m = tx_aot_new(o.file, o.cpu, o.opt, &cgd);
    if (!m) {   /* an unknown --cpu (or no native target) */
        rc = EXIT_USAGE;
        goto out;
    }
    for (int f = 0; f < p->nfuncs; f++)
        if (!tx_aot_add(m, &afs[f], &cgd)) goto out;
    rc = EXIT_RUNTIME;
    const char *target = o.out;
    if (o.shared) {
        snprintf(objtmp, sizeof objtmp, "/tmp/txc-build-XXXXXX.o");
        int fd = mkstemps(objtmp, 2);
        if (fd < 0) {
            fprintf(stderr, "txc: cannot create a temporary file: %s\n", strerror(errno));
            objtmp[0] = 0;
            goto out;
        }
        close(fd);
        target = objtmp;
    }
    if (!tx_aot_write(m, target, o.emit, &cgd)) goto out;
    if (o.shared && run_cc(objtmp, o.out) != EXIT_OK) goto out;
    if (o.header && !write_header(o.header, o.file, u.arena, p->funcs, afs, p->nfuncs)) goto out;
    rc = EXIT_OK;
out:
    if (objtmp[0]) unlink(objtmp);
    tx_render_diags(stderr, &u.diags);
    for (const tx_diag *g = cgd.head; g; g = g->next) fprintf(stderr, "txc: %s\n", g->msg);
    tx_aot_free(m);
    tx_plan_runtime_free(planner);
    tx_unit_free(&u);
    free_opts(&o);
    return rc;
}
