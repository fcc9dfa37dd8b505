/*
 * jit.c -- the ORC LLJIT session, its symbol table and kernel cache, and
 * the evaluator backend that runs tensor definitions as native code.
 *
 * One LLJIT per tx_jit (txc makes one per process).  Its target machine is
 * built by target.c from the host CPU name and features, so the code the
 * JIT emits and the pipeline that optimised it agree on the machine.
 * Kernels live in a bare JITDylib, "txc.kernels", whose only other
 * definitions are the absolute symbols of the table below (libm, libc
 * memory functions, and in time txrt_ entry points).  A bare JITDylib links
 * against nothing else, so a symbol missing from the table is a link error
 * here rather than something silently found in the process (LLJIT's main
 * JITDylib would search the process by default).
 *
 * Ownership follows the OrcV2 C examples: modules are created in the
 * session's thread-safe context; once LLVMOrcLLJITAddLLVMIRModule succeeds
 * the JIT owns the module, and on failure we dispose it ourselves.
 * tx_jit_free disposes the LLJIT (all modules and code), then our reference
 * to the context, then the optimisation target machine.
 *
 * Kernels are cached by the text of the LIR they were compiled from (it
 * spells out every dtype, shape, bound and constant), so a definition run
 * again with the same shapes costs one lowering and one hash look-up.  On
 * a miss the LIR is scheduled (ir/lir_sched.c: register tiles by
 * unroll-and-jam, parallel loops run through txrt_parallel_for, which is
 * in the symbol table), verified, turned
 * into a module (llvm.c), optimised (target.c) and added to the JIT.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "codegen/codegen.h"
#include "codegen/llvm_internal.h"
#include "ir/fuse.h"
#include "ir/lir_sched.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the symbol table ----------------------------------------------------- */

/* Every external symbol generated code may reference, by name and address.
 * Math intrinsics lower to these libm calls (llvm.exp -> exp, expf), the
 * backend may form sincos/exp2/exp10 and memset/memcpy from patterns. */
#define TX_JIT_SYMBOLS(X)                                                      \
    X(sin) X(cos) X(tan) X(tanh) X(exp) X(exp2) X(exp10) X(log) X(log2)        \
    X(log10) X(pow) X(sqrt) X(fabs) X(floor) X(ceil) X(fmax) X(fmin) X(hypot)  \
    X(atan2) X(sinh) X(cosh) X(ldexp) X(fmod) X(round) X(trunc) X(rint)        \
    X(nearbyint) X(copysign) X(expm1) X(log1p)                                 \
    X(sinf) X(cosf) X(tanf) X(tanhf) X(expf) X(exp2f) X(exp10f) X(logf)        \
    X(log2f) X(log10f) X(powf) X(sqrtf) X(fabsf) X(floorf) X(ceilf) X(fmaxf)   \
    X(fminf) X(hypotf) X(atan2f) X(sinhf) X(coshf) X(ldexpf) X(fmodf)          \
    X(roundf) X(truncf) X(rintf) X(nearbyintf) X(copysignf) X(expm1f)          \
    X(log1pf)                                                                  \
    X(sincos) X(sincosf) X(memset) X(memcpy) X(memmove)                     \
    X(txrt_parallel_for)

/* glibc libmvec's vector variants of the TX_CG_VECMATH_FUNCS (llvm.c names
 * them for the loop vectoriser): SSE 'b', AVX2 'd', AVX-512 'e', double and
 * float.  No header declares them; only their addresses are taken here, so
 * a placeholder type will do (they are IFUNCs, resolved at load time to the
 * best implementation for the CPU). */
#ifdef TXC_HAVE_LIBMVEC
#define TX_VEC1(fn)                                                             \
    X(_ZGVbN2v_##fn) X(_ZGVdN4v_##fn) X(_ZGVeN8v_##fn)                          \
    X(_ZGVbN4v_##fn##f) X(_ZGVdN8v_##fn##f) X(_ZGVeN16v_##fn##f)
#define TX_VEC2(fn)                                                             \
    X(_ZGVbN2vv_##fn) X(_ZGVdN4vv_##fn) X(_ZGVeN8vv_##fn)                       \
    X(_ZGVbN4vv_##fn##f) X(_ZGVdN8vv_##fn##f) X(_ZGVeN16vv_##fn##f)
#define X(n) extern void n(void);
TX_CG_VECMATH_FUNCS(TX_VEC1, TX_VEC2)
#undef X
#endif

typedef struct jit_symbol {
    const char *name;
    uintptr_t addr;
} jit_symbol;

#define TX_SYM_ENTRY(n) { #n, (uintptr_t)&n },
static const jit_symbol symbols[] = {
    TX_JIT_SYMBOLS(TX_SYM_ENTRY)
#ifdef TXC_HAVE_LIBMVEC
#define X TX_SYM_ENTRY
    TX_CG_VECMATH_FUNCS(TX_VEC1, TX_VEC2)
#undef X
#endif
};
#undef TX_SYM_ENTRY

/* ---- the session ------------------------------------------------------- */

typedef struct kernel {
    char *key;            /* LIR text (malloc'ed); NULL = empty slot */
    uint64_t hash;
    tx_kernel_fn fn;
} kernel;

struct tx_jit {
    int opt_level;
    bool verify;
    LLVMOrcLLJITRef lljit;
    LLVMOrcThreadSafeContextRef tsc;
    LLVMOrcJITDylibRef jd;
    LLVMTargetMachineRef tm;      /* for the optimisation pipeline and --asm */
    tx_cg_vecmath vm;             /* libmvec variants kernels may call */
    int vec_bytes;                /* vector groups of this size (llvm.c), 0 = none */
    kernel *cache;
    size_t ncache, capcache;      /* capcache: a power of two */
    int nkernels;                 /* names tx_k1, tx_k2, ... */
    tx_jit_stats stats;
    double *kernel_ms;            /* compile time (wall) of each kernel compiled, in order */
    size_t nkernel_ms, capkernel_ms;
    FILE *compile_log;            /* TXC_COMPILE_LOG: one line per kernel compiled */
    int jam_width;                /* unroll-and-jam width (tx_lir_jam), 0 = off */
    tx_lir_sched_opts sched;      /* loop scheduling (ir/lir_sched.c); jam_width wins */
    FILE *emit_out;
    tx_cg_emit_kind emit_kind;
    char *last_decline;
    tx_arena *names;              /* names of split-off temporaries (intern_name) */
    const char **interned;
    int ninterned, capinterned;
    char sched_tag[160];          /* cache_key's suffix, for the options in tag_opts */
    tx_lir_sched_opts tag_opts;
    int tag_jam;
};

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static double cpu_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static void report(tx_diags *d, const char *what, const char *msg) {
    if (d) tx_error(d, (tx_span){ 0, 0 }, "%s: %s", what, msg ? msg : "unknown LLVM error");
}

static bool define_symbols(tx_jit *j, char **err) {
    size_t n = sizeof symbols / sizeof symbols[0];
    LLVMOrcCSymbolMapPair *pairs = calloc(n, sizeof *pairs);
    if (!pairs) return *err = strdup("out of memory"), false;
    for (size_t k = 0; k < n; k++) {
        pairs[k].Name = LLVMOrcLLJITMangleAndIntern(j->lljit, symbols[k].name);
        pairs[k].Sym.Address = (LLVMOrcExecutorAddress)symbols[k].addr;
        pairs[k].Sym.Flags.GenericFlags = LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable;
        pairs[k].Sym.Flags.TargetFlags = 0;
    }
    LLVMOrcMaterializationUnitRef mu = LLVMOrcAbsoluteSymbols(pairs, n);
    free(pairs);
    LLVMErrorRef e = LLVMOrcJITDylibDefine(j->jd, mu);
    if (e) {
        LLVMOrcDisposeMaterializationUnit(mu);
        *err = tx_cg_error_message(e);
        return false;
    }
    return true;
}

/* Jam two vectors' worth of doubles (measured on a 256^3 matmul with
 * AVX-512: 8 -> ~5, 16 -> ~6, 32 -> ~5.5 GFLOP/s; compile time grows
 * with the width). */
static int default_jam_width(int opt_level) {
    if (opt_level < 2) return 0;
    const char *feat = tx_cg_host_features();
    if (feat && strstr(feat, "+avx512f")) return 16;
    if (feat && strstr(feat, "+avx")) return 8;
    return 4;
}

/* See llvm_internal.h. */
int tx_cg_lanes_bytes(int jam_width) {
    const char *e = getenv("TXC_LANES");
    if (jam_width < 4 || (e && strcmp(e, "0") == 0)) return 0;
    return jam_width / 2 * 8;
}

/* Largest expression count (all copies) a jammed body may have. */
#define JAM_MAX_NODES 2048

/* An explicit width also applies to small kernels (tests use it to
 * exercise tiles on small shapes). */
int tx_jit_lane_bytes(const tx_jit *j) { return j ? j->vec_bytes : 0; }

void tx_jit_set_jam(tx_jit *j, int width) {
    j->jam_width = width;
    j->sched.min_tile_work = 0;
}

/* Parallel loops below this much work (tx_lir_work units) run serially.
 * Measured on 2 cores (tests with a tight loop): a pool wake-up and join
 * costs ~0.2 us back to back and 2-18 us when the workers sleep or the
 * machine is busy; 100k units of a simple vectorised loop take ~20-50 us,
 * so the split pays even then. */
#define PAR_MIN_WORK 100000

void tx_jit_set_parallel(tx_jit *j, double min_work) {
    j->sched.parallel = min_work >= 0;
    j->sched.min_par_work = min_work;
}

/* Target-independent LIR transformations applied before code generation:
 * loop order, register tiles and parallel loops (ir/lir_sched.c). */
static void prepare(tx_jit *j, tx_lir_func *f) {
    tx_lir_sched_opts o = j->sched;
    o.jam_width = j->jam_width;
    tx_lir_schedule(f, &o);
}

/* The scheduling tx_jit_new's default options
 * give (no TXC_SCHED), for a target whose jam width is jam_width: what
 * `txc build` applies to its kernels so that they match the JIT's. */
void tx_cg_schedule_default(tx_lir_func *f, int opt_level, int jam_width) {
    tx_lir_sched_opts o;
    tx_lir_sched_defaults(&o, jam_width / 2);
    o.min_par_work = PAR_MIN_WORK;
    o.max_nodes = JAM_MAX_NODES;
    if (opt_level < 2) o.tile_rows = 0;
    o.jam_width = jam_width;
    tx_lir_schedule(f, &o);
}

/* The cache key: f's text before scheduling plus the scheduling options
 * (which determine the rest); malloc'ed.  The options' text is made once
 * per change of options (formatting doubles on every kernel run showed in
 * profiles). */
static char *cache_key(tx_jit *j, const tx_lir_func *f) {
    const tx_lir_sched_opts *o = &j->sched, *t = &j->tag_opts;
    if (!j->sched_tag[0] || j->tag_jam != j->jam_width || t->tile_rows != o->tile_rows ||
        t->min_tile_work != o->min_tile_work || t->parallel != o->parallel || t->min_par_work != o->min_par_work) {
        snprintf(j->sched_tag, sizeof j->sched_tag, "# sched jam %d rows %d min %g par %d %g\n", j->jam_width,
                 o->tile_rows, o->min_tile_work, (int)o->parallel, o->min_par_work);
        j->tag_opts = *o;
        j->tag_jam = j->jam_width;
    }
    char *lir = tx_lir_str(f);
    if (!lir) return NULL;
    size_t n = strlen(lir), m = strlen(j->sched_tag);
    char *key = realloc(lir, n + m + 1);
    if (!key) {
        free(lir);
        return NULL;
    }
    memcpy(key + n, j->sched_tag, m + 1);
    return key;
}

tx_jit *tx_jit_new(int opt_level, tx_diags *d) {
    char *err = NULL;
    tx_jit *j = calloc(1, sizeof *j);
    if (!j) return report(d, "cannot start the LLVM JIT", "out of memory"), NULL;
    j->opt_level = opt_level < 0 ? 0 : opt_level > 3 ? 3 : opt_level;
#ifdef NDEBUG
    j->verify = false;
#else
    j->verify = true;
#endif
    j->jam_width = default_jam_width(j->opt_level);
    tx_lir_sched_defaults(&j->sched, j->jam_width / 2);
    j->sched.min_par_work = PAR_MIN_WORK;
    j->sched.max_nodes = JAM_MAX_NODES;
    if (j->opt_level < 2) j->sched.tile_rows = 0;
    {
        /* TXC_SCHED=jam,rows,min_par_work (tuning and experiments; min < 0: no threads) */
        const char *env = getenv("TXC_SCHED");
        int jw, rows;
        double mw;
        if (env && sscanf(env, "%d,%d,%lf", &jw, &rows, &mw) == 3) {
            j->jam_width = jw;
            j->sched.tile_rows = rows;
            tx_jit_set_parallel(j, mw);
        }
    }
    {
        /* TXC_COMPILE_LOG=FILE: append "symbol wall-ms cpu-ms" per kernel
         * compiled (compile-time measurements over many scripts; CPU time
         * of the compiling thread is the steadier figure on a busy machine) */
        const char *log = getenv("TXC_COMPILE_LOG");
        if (log && *log) j->compile_log = fopen(log, "a");
    }
    j->tm = tx_cg_host_machine(j->opt_level, &err);
    j->vm = tx_cg_vecmath_for(tx_cg_host_cpu(), tx_cg_host_features(), j->opt_level);
    j->vec_bytes = tx_cg_lanes_bytes(default_jam_width(j->opt_level));
    LLVMTargetMachineRef jtm = j->tm ? tx_cg_host_machine(j->opt_level, &err) : NULL;
    if (!jtm) goto fail;
    /* the JIT's target machine builder takes jtm (and destroys it) */
    LLVMOrcJITTargetMachineBuilderRef jtmb = LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(jtm);
    LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb);
    LLVMErrorRef e = LLVMOrcCreateLLJIT(&j->lljit, builder); /* consumes builder */
    if (e) {
        j->lljit = NULL;
        err = tx_cg_error_message(e);
        goto fail;
    }
    j->tsc = LLVMOrcCreateNewThreadSafeContext();
    LLVMOrcExecutionSessionRef es = LLVMOrcLLJITGetExecutionSession(j->lljit);
    j->jd = LLVMOrcExecutionSessionCreateBareJITDylib(es, "txc.kernels");
    if (!define_symbols(j, &err)) goto fail;
    j->capcache = 64;
    j->cache = calloc(j->capcache, sizeof *j->cache);
    if (!j->cache) {
        err = strdup("out of memory");
        goto fail;
    }
    return j;
fail:
    report(d, "cannot start the LLVM JIT", err);
    free(err);
    tx_jit_free(j);
    return NULL;
}

void tx_jit_free(tx_jit *j) {
    if (!j) return;
    if (j->lljit) {
        LLVMErrorRef e = LLVMOrcDisposeLLJIT(j->lljit);
        if (e) LLVMConsumeError(e);
    }
    if (j->tsc) LLVMOrcDisposeThreadSafeContext(j->tsc);
    if (j->tm) LLVMDisposeTargetMachine(j->tm);
    free(j->interned);
    tx_arena_free(j->names);
    for (size_t k = 0; k < j->capcache; k++) free(j->cache[k].key);
    free(j->cache);
    free(j->kernel_ms);
    if (j->compile_log) fclose(j->compile_log);
    free(j->last_decline);
    free(j);
}

void tx_jit_set_verify(tx_jit *j, bool on) { j->verify = on; }

void tx_jit_set_emit(tx_jit *j, FILE *out, tx_cg_emit_kind kind) {
    j->emit_out = out;
    j->emit_kind = kind;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void tx_jit_get_stats(const tx_jit *j, tx_jit_stats *out) {
    *out = j->stats;
    size_t n = j->nkernel_ms;
    double *v = n ? malloc(n * sizeof *v) : NULL;
    if (!v) return;
    memcpy(v, j->kernel_ms, n * sizeof *v);
    qsort(v, n, sizeof *v, cmp_double);
    out->compile_median_ms = n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    out->compile_max_ms = v[n - 1];
    free(v);
}

/* Record one kernel's compile time (for the median in the stats, and the
 * TXC_COMPILE_LOG file). */
static void note_compile(tx_jit *j, const char *sym, double ms, double cpu) {
    if (j->nkernel_ms == j->capkernel_ms) {
        size_t cap = j->capkernel_ms ? 2 * j->capkernel_ms : 64;
        double *v = realloc(j->kernel_ms, cap * sizeof *v);
        if (!v) return;
        j->kernel_ms = v;
        j->capkernel_ms = cap;
    }
    j->kernel_ms[j->nkernel_ms++] = ms;
    if (j->compile_log) fprintf(j->compile_log, "%s %.3f %.3f\n", sym, ms, cpu);
}

const char *tx_jit_last_decline(const tx_jit *j) { return j->last_decline ? j->last_decline : ""; }

/* ---- the cache ------------------------------------------------------------ */

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static kernel *cache_slot(tx_jit *j, const char *key, uint64_t h) {
    size_t mask = j->capcache - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        kernel *k = &j->cache[i];
        if (!k->key || (k->hash == h && strcmp(k->key, key) == 0)) return k;
    }
}

static bool cache_grow(tx_jit *j) {
    if (2 * (j->ncache + 1) <= j->capcache) return true;
    size_t oldcap = j->capcache;
    kernel *old = j->cache;
    kernel *nw = calloc(2 * oldcap, sizeof *nw);
    if (!nw) return false;
    j->cache = nw;
    j->capcache = 2 * oldcap;
    for (size_t k = 0; k < oldcap; k++)
        if (old[k].key) *cache_slot(j, old[k].key, old[k].hash) = old[k];
    free(old);
    return true;
}

/* ---- compiling ------------------------------------------------------------ */

typedef struct lookup_result {
    bool done;
    LLVMErrorRef err;
    LLVMOrcExecutorAddress addr;
} lookup_result;

static void on_lookup(LLVMErrorRef err, LLVMOrcCSymbolMapPairs result, size_t n, void *ctx) {
    lookup_result *r = ctx;
    r->done = true;
    r->err = err;
    if (!err && n > 0) r->addr = result[0].Sym.Address;
}

/* Look sym up in the kernels' JITDylib only (this compiles its module). */
static LLVMOrcExecutorAddress lookup(tx_jit *j, const char *sym, char **err) {
    LLVMOrcCJITDylibSearchOrderElement order[1] = {
        { j->jd, LLVMOrcJITDylibLookupFlagsMatchExportedSymbolsOnly }
    };
    LLVMOrcCLookupSetElement set[1] = {
        { LLVMOrcLLJITMangleAndIntern(j->lljit, sym), LLVMOrcSymbolLookupFlagsRequiredSymbol }
    };
    lookup_result r = { false, NULL, 0 };
    LLVMOrcExecutionSessionLookup(LLVMOrcLLJITGetExecutionSession(j->lljit), LLVMOrcLookupKindStatic,
                                  order, 1, set, 1, on_lookup, &r);
    /* in-process, in-place compilation: the handler has run by now */
    if (!r.done) return *err = strdup("symbol lookup did not complete"), 0;
    if (r.err) return *err = tx_cg_error_message(r.err), 0;
    if (!r.addr) return *err = strdup("symbol resolved to address 0"), 0;
    return r.addr;
}

/* Write text with every line prefixed by `lead` (LIR shown as comments). */
static void write_commented(FILE *o, const char *text, const char *lead) {
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        fprintf(o, "%s%.*s\n", lead, (int)n, p);
        p += n + (nl ? 1 : 0);
    }
}

/* Build and optimise f's module in ctx; NULL with *err on failure. */
static LLVMModuleRef build(tx_jit *j, LLVMContextRef ctx, const tx_lir_func *f, const char *sym,
                           char **err) {
    LLVMModuleRef m = tx_cg_build_module(ctx, f, sym, j->vm, j->vec_bytes, err);
    if (!m) return NULL;
    tx_cg_set_target(m, j->tm);
    if (!tx_cg_optimize(m, j->tm, j->opt_level, j->verify, err)) {
        LLVMDisposeModule(m);
        return NULL;
    }
    tx_cg_vecmath_prune(m);
    return m;
}

static void emit_text(tx_jit *j, LLVMModuleRef m, const char *lir, FILE *o, tx_cg_emit_kind kind) {
    char *err = NULL;
    char *text = kind == TX_CG_EMIT_ASM ? tx_cg_asm_text(m, j->tm, &err)
                                        : tx_cg_take_message(LLVMPrintModuleToString(m));
    write_commented(o, lir, kind == TX_CG_EMIT_ASM ? "# " : "; ");
    fputs(text ? text : err, o);
    free(text);
    free(err);
}

static tx_kernel_fn compile(tx_jit *j, tx_lir_func *f, const char *key, char **err) {
    const char *why = NULL;
    prepare(j, f);
    if (!tx_lir_verify(f, &why)) return *err = strdup(why ? why : "invalid loop IR"), NULL;
    double t0 = now_ms(), c0 = cpu_ms();
    char sym[32];
    snprintf(sym, sizeof sym, "tx_k%d", ++j->nkernels);
    LLVMModuleRef m = build(j, LLVMOrcThreadSafeContextGetContext(j->tsc), f, sym, err);
    if (!m) return NULL;
    if (j->emit_out) { /* the LIR as scheduled */
        char *text = tx_lir_str(f);
        emit_text(j, m, text ? text : key, j->emit_out, j->emit_kind);
        free(text);
    }
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m, j->tsc);
    LLVMErrorRef e = LLVMOrcLLJITAddLLVMIRModule(j->lljit, j->jd, tsm);
    if (e) {
        LLVMOrcDisposeThreadSafeModule(tsm); /* still ours when adding failed */
        *err = tx_cg_error_message(e);
        return NULL;
    }
    LLVMOrcExecutorAddress addr = lookup(j, sym, err);
    double ms = now_ms() - t0, cpu = cpu_ms() - c0;
    j->stats.compile_ms += ms;
    j->stats.compile_cpu_ms += cpu;
    if (!addr) return NULL;
    j->stats.ncompiled++;
    note_compile(j, sym, ms, cpu);
    return (tx_kernel_fn)(uintptr_t)addr;
}

/* The cached kernel for LIR text key, compiling f on a miss. */
static tx_kernel_fn get_kernel(tx_jit *j, tx_lir_func *f, char *key, char **err) {
    uint64_t h = fnv1a(key);
    kernel *k = cache_slot(j, key, h);
    if (k->key) {
        j->stats.ncache_hits++;
        return k->fn;
    }
    tx_kernel_fn fn = compile(j, f, key, err);
    if (!fn) return NULL;
    if (!cache_grow(j)) return fn; /* works, just not cached */
    k = cache_slot(j, key, h);
    k->key = strdup(key);
    k->hash = h;
    k->fn = fn;
    if (k->key) j->ncache++;
    return fn;
}

tx_kernel_fn tx_jit_compile(tx_jit *j, tx_lir_func *f, tx_diags *d) {
    char *key = cache_key(j, f), *err = NULL;
    if (!key) return report(d, "cannot compile kernel", "out of memory"), NULL;
    tx_kernel_fn fn = get_kernel(j, f, key, &err);
    free(key);
    if (!fn) report(d, "cannot compile kernel", err);
    free(err);
    return fn;
}

char *tx_jit_emit(tx_jit *j, tx_lir_func *f, tx_cg_emit_kind kind, tx_diags *d) {
    const char *why = NULL;
    prepare(j, f);
    if (!tx_lir_verify(f, &why)) return report(d, "cannot compile kernel", why), NULL;
    char *err = NULL, *out = NULL;
    LLVMContextRef ctx = LLVMContextCreate();
    /* prefixed, so a tensor named like a libm function cannot clash */
    size_t n = strlen(f->name) + 4;
    char *sym = malloc(n);
    if (sym) snprintf(sym, n, "tx_%s", f->name);
    LLVMModuleRef m = sym ? build(j, ctx, f, sym, &err) : NULL;
    free(sym);
    if (m) {
        out = kind == TX_CG_EMIT_ASM ? tx_cg_asm_text(m, j->tm, &err)
                                     : tx_cg_take_message(LLVMPrintModuleToString(m));
        LLVMDisposeModule(m);
    }
    LLVMContextDispose(ctx);
    if (!out) report(d, "cannot compile kernel", err);
    free(err);
    return out;
}

/* ---- the evaluator backend ------------------------------------------------ */

char *tx_jit_emit_def(tx_jit *j, const tx_tir_stmt *def, const tx_type *out, const tx_lookup *lk,
                      tx_cg_emit_kind kind, tx_diags *d) {
    tx_arena *a = tx_arena_new(8192);
    const char *why = NULL;
    tx_lir_func *f = tx_lir_from_def(a, def, out, lk, &why);
    char *s = NULL;
    if (f) s = tx_jit_emit(j, f, kind, d);
    else report(d, "cannot compile this definition", why);
    tx_arena_free(a);
    return s;
}

typedef struct getter {
    txrt_tensor *(*get)(void *getctx, const char *name);
    void *getctx;
} getter;

static bool lookup_tensor(void *self, const char *name, tx_varinfo *out) {
    getter *g = self;
    txrt_tensor *t = g->get(g->getctx, name);
    if (!t) return false;
    memset(out, 0, sizeof *out);
    out->type.dtype = (int)t->dtype;
    out->type.rank = t->rank;
    for (int k = 0; k < t->rank && k < TXRT_MAX_RANK; k++) out->type.dims[k] = t->shape[k];
    return true;
}

static int decline(tx_jit *j, const char *why) {
    free(j->last_decline);
    j->last_decline = strdup(why ? why : "");
    j->stats.ndeclined++;
    return -1;
}

static int run_def(void *self, const tx_tir_stmt *def, txrt_tensor *out,
                   txrt_tensor *(*get)(void *getctx, const char *name), void *getctx, tx_diags *d) {
    tx_jit *j = self;
    double t0 = now_ms();
    getter g = { get, getctx };
    tx_lookup lk = { lookup_tensor, &g };
    tx_type ot;
    memset(&ot, 0, sizeof ot);
    ot.dtype = (int)out->dtype;
    ot.rank = out->rank;
    for (int k = 0; k < out->rank && k < TXRT_MAX_RANK; k++) ot.dims[k] = out->shape[k];
    tx_arena *a = tx_arena_new(8192);
    const char *why = NULL;
    tx_lir_func *f = tx_lir_from_def(a, def, &ot, &lk, &why);
    if (!f) {
        int r = decline(j, why);
        tx_arena_free(a);
        return r;
    }
    /* gather the data pointers in LIR parameter order */
    void *stackbufs[16];
    void **bufs = f->nbufs <= 16 ? stackbufs : malloc((size_t)f->nbufs * sizeof *bufs);
    int rc = 0;
    char *key = NULL, *err = NULL;
    if (!bufs) {
        rc = decline(j, "out of memory");
        goto done;
    }
    bufs[0] = out->data;
    for (int k = 1; k < f->nbufs; k++) {
        const txrt_tensor *t = get(getctx, f->bufs[k].name);
        if (!t || (int64_t)t->size != f->bufs[k].size || t->dtype != f->bufs[k].dtype) {
            rc = decline(j, "a tensor changed while its kernel was prepared");
            goto done;
        }
        bufs[k] = t->data;
    }
    key = cache_key(j, f);
    double t1 = now_ms();
    tx_kernel_fn fn = key ? get_kernel(j, f, key, &err) : NULL;
    double t2 = now_ms();
    if (!fn) {
        rc = decline(j, err ? err : "out of memory");
        goto done;
    }
    fn(bufs);
    double t3 = now_ms();
    j->stats.nruns++;
    j->stats.run_ms += t3 - t2;
    j->stats.lower_ms += (t1 - t0);
done:
    (void)d;
    free(key);
    free(err);
    if (bufs != stackbufs) free(bufs);
    tx_arena_free(a);
    return rc;
}

tx_def_backend tx_jit_backend(tx_jit *j) {
    tx_def_backend b = { run_def, j };
    return b;
}

/* ---- the group backend (fuse helper) ------------------------------------------- */

typedef struct genv_lookup {
    const tx_group_env *env;
} genv_lookup;

static bool lookup_genv(void *self, const char *name, tx_varinfo *out) {
    const tx_group_env *env = ((genv_lookup *)self)->env;
    txrt_tensor *t = env->get(env->ctx, name);
    if (!t) return false;
    memset(out, 0, sizeof *out);
    out->type.dtype = (int)t->dtype;
    out->type.rank = t->rank;
    for (int k = 0; k < t->rank && k < TXRT_MAX_RANK; k++) out->type.dims[k] = t->shape[k];
    return true;
}

/* A copy of name that lives as long as the JIT (tx_fuse_split.intern):
 * the run-time planner caches plans of split statements, which name their
 * temporaries.  One copy per distinct name; NULL when out of memory. */
static const char *intern_name(void *self, const char *name) {
    tx_jit *j = self;
    for (int k = 0; k < j->ninterned; k++)
        if (strcmp(j->interned[k], name) == 0) return j->interned[k];
    if (j->ninterned == j->capinterned) {
        int cap = j->capinterned ? 2 * j->capinterned : 16;
        const char **v = realloc(j->interned, sizeof *v * (size_t)cap);
        if (!v) return NULL;
        j->interned = v;
        j->capinterned = cap;
    }
    if (!j->names) j->names = tx_arena_new(0);
    return j->interned[j->ninterned++] = tx_arena_strdup(j->names, name);
}

static int run_group(void *self, tx_tir_stmt *const *stmts, int n, const tx_group_env *env, int *nrun,
                     tx_group_rest *rest, tx_diags *d) {
    tx_jit *j = self;
    *nrun = 0;
    memset(rest, 0, sizeof *rest);
    double t0 = now_ms();
    genv_lookup gl = { env };
    tx_lookup lk = { lookup_genv, &gl };
    tx_arena *a = tx_arena_new(0), *keep = tx_arena_new(4096);
    const char *why = NULL;
    tx_fuse_split split = { keep, intern_name, j };
    tx_fuse_group *g = tx_fuse_plan(a, &split, stmts, n, &lk, env->live, env->ctx, &why);
    /* the evaluator's limit on the work of one statement (2^50 steps,
     * ir/interp.c) holds for a group too: beyond it the statements run one
     * by one, and the one that is too big fails with its own location */
    if (!g || tx_lir_work(g->kernel) > 1125899906842624.0) {
        tx_arena_free(a);
        tx_arena_free(keep);
        return 0;
    }
    tx_lir_func *f = g->kernel;
    int nb = f->nbufs;   /* scheduling may append local buffers, which are not ours to fill */
    void **bufs = calloc((size_t)f->nbufs + 1, sizeof *bufs);
    txrt_tensor **outs = calloc((size_t)f->nbufs + 1, sizeof *outs);
    void **scratch = calloc((size_t)f->nbufs + 1, sizeof *scratch);
    char *key = NULL, *err = NULL;
    txrt_ctx rc;
    txrt_ctx_init(&rc);
    bool ok = bufs && outs && scratch;
    for (int k = 0; ok && k < f->nbufs; k++) {
        const tx_lir_buf *B = &f->bufs[k];
        if (g->buf_kind[k] == TX_FUSE_BUF_INPUT) {
            txrt_tensor *t = env->get(env->ctx, g->buf_var[k]);
            ok = t && t->size == B->size && t->dtype == B->dtype;
            if (ok) bufs[k] = t->data;
        } else if (g->buf_kind[k] == TX_FUSE_BUF_OUTPUT) {
            /* reuse the tensor the name is bound to when only that binding
             * holds it, it has this type and the group does not read it */
            txrt_tensor *prev = env->get(env->ctx, g->buf_var[k]);
            bool read = false;
            for (int q = 0; q < f->nbufs; q++)
                read |= g->buf_kind[q] == TX_FUSE_BUF_INPUT && strcmp(g->buf_var[q], g->buf_var[k]) == 0;
            bool same = prev && !read && prev->refcount == 1 && prev->dtype == B->dtype && prev->rank == B->rank &&
                        prev->size == B->size && (size_t)prev->size * txrt_dtype_size(B->dtype) >= ((size_t)1 << 20);
            for (int q = 0; same && q < B->rank; q++) same = prev->shape[q] == B->shape[q];
            /* the kernel stores every element of its outputs: no zero fill
             * (under TXRT_POISON=1 a reused tensor is poisoned first) */
            if (same) txrt_tensor_forget(prev);
            outs[k] = same ? txrt_retain(prev) : txrt_tensor_new_uninit(&rc, B->dtype, B->rank, B->shape);
            ok = outs[k] != NULL;
            if (ok) bufs[k] = outs[k]->data;
        } else {
            size_t el = B->dtype == TXRT_C128 ? 16 : B->dtype == TXRT_F32 ? 4 : 8;
            scratch[k] = calloc((size_t)(B->size > 0 ? B->size : 1), el);
            ok = scratch[k] != NULL;
            bufs[k] = scratch[k];
        }
    }
    tx_kernel_fn fn = NULL;
    if (ok) {
        key = cache_key(j, f);
        double t1 = now_ms();
        j->stats.lower_ms += t1 - t0;
        fn = key ? get_kernel(j, f, key, &err) : NULL;
    }
    if (fn) {
        double t2 = now_ms();
        fn(bufs);
        j->stats.run_ms += now_ms() - t2;
        j->stats.nruns++;
        j->stats.nfused++;
        j->stats.nfused_stmts += g->nstmts;
        for (int k = 0; k < g->nunbind; k++) env->set(env->ctx, g->unbind[k], NULL);
        for (int k = 0; k < nb; k++)
            if (outs[k]) env->set(env->ctx, g->buf_var[k], outs[k]);
        *nrun = g->ntaken;
        if (g->rest) {
            j->stats.nsplit++;
            rest->stmt = g->rest;
            rest->temp = g->rest_temp;
            rest->arena = keep;
            keep = NULL;
        }
    } else {
        decline(j, err ? err : "the fused kernel could not be prepared");
    }
    for (int k = 0; k < nb; k++) {
        if (outs && outs[k]) txrt_release(outs[k]);
        if (scratch) free(scratch[k]);
    }
    free(bufs);
    free(outs);
    free(scratch);
    free(key);
    free(err);
    tx_arena_free(a);
    tx_arena_free(keep);
    (void)d;
    return 0;
}

tx_group_backend tx_jit_group_backend(tx_jit *j) {
    tx_group_backend b = { run_group, j };
    return b;
}
