/*
 * aot.c -- ahead-of-time compilation: one LLVM module per .tx file holding
 * an exported C function per `def` (txc build).
 *
 * Kernels come from the same path as the JIT's: each loop IR kernel is
 * scheduled as the JIT schedules it (tx_cg_schedule_default: loop order,
 * register tiles for the target's vector width, parallel loops calling
 * txrt_parallel_for), verified, and built by tx_cg_build_module (llvm.c) into a
 * module of its own, which is then linked into the file's module with its
 * entry `void SYM(void **bufs)` made internal (so it inlines into the
 * wrapper).  The whole module then goes through the same optimisation
 * pipeline as the JIT's (default<O3> with late unrolling, target.c) once, on a target machine for the chosen CPU.
 *
 * The exported wrapper of a tx_aot_func (see codegen.h):
 *
 *     int NAME(int64_t size..., const T *param..., T *result...)
 *       - each size argument must equal the value it was specialised for
 *         (a run-time size: be >= 1, equal the sizes f->equal pairs it
 *         with, and keep every tensor below 2^63 bytes), each pointer of a
 *         non-empty tensor must be non-NULL; otherwise txrt_set_error(...)
 *         and return 1
 *       - size-generic kernels get the size arguments as an int64_t array
 *         (kernel(bufs, sizes)); temporaries, copies and BLAS dimensions
 *         with symbolic factors (tx_lir_mono) are computed from them
 *       - temporaries: txrt_aot_alloc (64-byte aligned; zeroed only where
 *         a kernel expects it: the fuser's scratch rows); temporaries whose
 *         lifetimes do not overlap share a buffer (share_temps)
 *       - steps in order: kernels, txrt_aot_gemm, txrt_aot_call (builtins
 *         such as solve and fft, in the runtime), memcpy
 *       - free the temporaries; return 0 (1 when a step failed)
 *
 * Size names that the body reads as numbers live in stack scalars (f64).
 * Generated code calls only libtxrt (txrt_set_error, txrt_aot_*,
 * txrt_parallel_for), libm, glibc's libmvec (vectorised loops calling
 * exp, sin, ...: llvm.c) and memcpy/memset, so the object links with
 * `-ltxrt -lmvec -lm` (txrt.pc's Libs).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "codegen/codegen.h"
#include "codegen/llvm_internal.h"

#include <llvm-c/Linker.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tx_aot {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMTargetMachineRef tm;
    int opt_level;
    int jam_width;
    tx_cg_vecmath vm;   /* libmvec variants kernels may call (llvm.c) */
    int vec_bytes;      /* vector groups of this size (llvm.c), 0 = none */
    bool optimized;
    int nkernels;
    LLVMTypeRef i32, i64, f64, ptr, voidt;
};

static void report(tx_diags *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void report(tx_diags *d, const char *fmt, ...) {
    if (!d) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    tx_error(d, (tx_span){ 0, 0 }, "%s", buf);
}

static LLVMCodeGenOptLevel cg_level(int opt) {
    return opt <= 0 ? LLVMCodeGenLevelNone : opt == 1 ? LLVMCodeGenLevelLess
         : opt == 2 ? LLVMCodeGenLevelDefault : LLVMCodeGenLevelAggressive;
}

/* The JIT's rule (jit.c): two vectors of doubles. */
static int jam_width_for(int opt_level, const char *cpu, const char *features) {
    if (opt_level < 2) return 0;
    if (features && strstr(features, "+avx512f")) return 16;
    if (features && strstr(features, "+avx")) return 8;
    if (cpu && (strcmp(cpu, "x86-64-v4") == 0 || strstr(cpu, "avx512") || strstr(cpu, "znver4") ||
                strstr(cpu, "znver5") || strstr(cpu, "sapphirerapids") || strstr(cpu, "icelake") ||
                strstr(cpu, "skylake-avx512")))
        return 16;
    if (cpu && (strcmp(cpu, "x86-64-v3") == 0 || strstr(cpu, "haswell") || strstr(cpu, "znver") ||
                strstr(cpu, "skylake") || strstr(cpu, "alderlake")))
        return 8;
    return 4;
}

tx_aot *tx_aot_new(const char *name, const char *cpu, int opt_level, tx_diags *d) {
    char *err = NULL;
    if (!tx_cg_init_native(&err)) {
        report(d, "cannot build objects: %s", err ? err : "no native target");
        free(err);
        return NULL;
    }
    tx_aot *m = calloc(1, sizeof *m);
    if (!m) return report(d, "out of memory"), NULL;
    m->opt_level = opt_level < 0 ? 0 : opt_level > 3 ? 3 : opt_level;

    char *triple = LLVMGetDefaultTargetTriple();
    char *norm = LLVMNormalizeTargetTriple(triple);
    LLVMDisposeMessage(triple);
    bool x86 = strncmp(norm, "x86_64", 6) == 0;
    const char *cpu_name, *features;
    if (!cpu || !*cpu || strcmp(cpu, "native") == 0 || strcmp(cpu, "host") == 0) {
        cpu_name = tx_cg_host_cpu();
        features = tx_cg_host_features();
    } else if (strcmp(cpu, "generic") == 0) {
        cpu_name = x86 ? "x86-64" : "generic";
        features = "";
    } else {
        cpu_name = cpu;
        features = "";
        /* LLVM aborts on a CPU it does not know for the triple: accept known names only */
        static const char *const x86_cpus[] = {
            "x86-64", "x86-64-v2", "x86-64-v3", "x86-64-v4", "nehalem", "westmere", "sandybridge",
            "ivybridge", "haswell", "broadwell", "skylake", "skylake-avx512", "cascadelake", "cooperlake",
            "cannonlake", "icelake-client", "icelake-server", "rocketlake", "tigerlake", "alderlake",
            "raptorlake", "meteorlake", "arrowlake", "lunarlake", "sapphirerapids", "emeraldrapids",
            "graniterapids", "knl", "knm", "goldmont", "goldmont-plus", "tremont", "sierraforest",
            "grandridge", "btver2", "bdver4", "znver1", "znver2", "znver3", "znver4", "znver5", NULL
        };
        bool known = !x86;
        for (int k = 0; x86 && x86_cpus[k] && !known; k++) known = strcmp(x86_cpus[k], cpu) == 0;
        if (!known) {
            report(d, "unknown CPU '%s' (use generic, native, x86-64-v2, x86-64-v3, x86-64-v4, or an LLVM "
                      "CPU name such as haswell or znver4)", cpu);
            LLVMDisposeMessage(norm);
            free(m);
            return NULL;
        }
    }
    LLVMTargetRef t;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(norm, &t, &msg)) {
        report(d, "cannot build objects for %s: %s", norm, msg ? msg : "unknown target");
        LLVMDisposeMessage(msg);
        LLVMDisposeMessage(norm);
        free(m);
        return NULL;
    }
    m->tm = LLVMCreateTargetMachine(t, norm, cpu_name, features, cg_level(m->opt_level), LLVMRelocPIC,
                                    LLVMCodeModelDefault);
    LLVMDisposeMessage(norm);
    if (!m->tm) {
        report(d, "cannot create a target machine for CPU '%s'", cpu_name);
        free(m);
        return NULL;
    }
    m->jam_width = jam_width_for(m->opt_level, cpu_name, features);
    m->vm = tx_cg_vecmath_for(cpu_name, features, m->opt_level);
    m->vec_bytes = tx_cg_lanes_bytes(m->jam_width);
    m->ctx = LLVMContextCreate();
    m->mod = LLVMModuleCreateWithNameInContext(name, m->ctx);
    LLVMSetSourceFileName(m->mod, name, strlen(name));
    tx_cg_set_target(m->mod, m->tm);
    m->i32 = LLVMInt32TypeInContext(m->ctx);
    m->i64 = LLVMInt64TypeInContext(m->ctx);
    m->f64 = LLVMDoubleTypeInContext(m->ctx);
    m->ptr = LLVMPointerTypeInContext(m->ctx, 0);
    m->voidt = LLVMVoidTypeInContext(m->ctx);
    return m;
}

void tx_aot_free(tx_aot *m) {
    if (!m) return;
    if (m->mod) LLVMDisposeModule(m->mod);
    if (m->ctx) LLVMContextDispose(m->ctx);
    if (m->tm) LLVMDisposeTargetMachine(m->tm);
    free(m);
}

/* ---- runtime declarations ----------------------------------------------------- */

static LLVMValueRef declare(tx_aot *m, const char *name, LLVMTypeRef ret, LLVMTypeRef *params, unsigned n,
                            bool varargs, LLVMTypeRef *fty) {
    *fty = LLVMFunctionType(ret, params, n, varargs);
    LLVMValueRef f = LLVMGetNamedFunction(m->mod, name);
    if (!f) f = LLVMAddFunction(m->mod, name, *fty);
    return f;
}

static LLVMValueRef cstring(tx_aot *m, LLVMBuilderRef b, const char *s) {
    return LLVMBuildGlobalStringPtr(b, s, ".str");
}

/* Link the kernel of step s into the module; returns its entry function. */
static LLVMValueRef add_kernel(tx_aot *m, const tx_aot_func *f, tx_lir_func *k, tx_diags *d) {
    const char *why = NULL;
    /* the scheduler (tiles, parallel loops, local buffers) needs constant
     * extents: size-generic kernels stay the plain loop nest */
    if (!tx_lir_is_generic(k)) tx_cg_schedule_default(k, m->opt_level, m->jam_width);
    if (!tx_lir_verify(k, &why)) {
        report(d, "cannot compile a kernel of '%s': %s", f->name, why ? why : "invalid loop IR");
        return NULL;
    }
    char sym[256];
    snprintf(sym, sizeof sym, "%s.k%d", f->name, ++m->nkernels);
    char *err = NULL;
    LLVMModuleRef km = tx_cg_build_module(m->ctx, k, sym, m->vm, m->vec_bytes, &err);
    if (!km) {
        report(d, "cannot compile a kernel of '%s': %s", f->name, err ? err : "unknown error");
        free(err);
        return NULL;
    }
    tx_cg_set_target(km, m->tm);
    if (LLVMLinkModules2(m->mod, km)) { /* km is destroyed either way */
        report(d, "cannot link a kernel of '%s' into the module", f->name);
        return NULL;
    }
    LLVMValueRef fn = LLVMGetNamedFunction(m->mod, sym);
    if (!fn) {
        report(d, "internal error: kernel '%s' missing after linking", sym);
        return NULL;
    }
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    return fn;
}

/* Every slot reference of a step, for remapping (fn gets a pointer to it). */
static void step_refs(tx_aot_step *st, void (*fn)(void *ctx, int *slot), void *ctx) {
    switch (st->kind) {
    case TX_AOT_KERNEL:
        for (int q = 0; q < st->kernel->nbufs; q++)
            if (!st->kernel->bufs[q].local) fn(ctx, &st->buf[q]);   /* local ones have no slot */
        break;
    case TX_AOT_GEMM:
        fn(ctx, &st->a), fn(ctx, &st->b), fn(ctx, &st->c);
        break;
    case TX_AOT_COPY:
        fn(ctx, &st->a), fn(ctx, &st->c);
        break;
    case TX_AOT_CALL:
        for (int q = 0; q < st->nin + st->nout; q++) fn(ctx, &st->io[q]);
        break;
    case TX_AOT_ASSERT:
        fn(ctx, &st->a);
        break;
    }
}

typedef struct live_range {
    int *first, *last, step;
    const int *rep;
} live_range;

static void note_use(void *ctx, int *slot) {
    live_range *l = ctx;
    if (l->first[*slot] < 0) l->first[*slot] = l->step;
    l->last[*slot] = l->step;
}

static void remap(void *ctx, int *slot) { *slot = ((live_range *)ctx)->rep[*slot]; }

/* Temporaries whose lifetimes (first to last step using them) do not
 * overlap share one buffer when they have the same dtype and size: an
 * unrolled loop then needs one set of temporaries, not one per iteration.
 * Zero-filled scratch is never shared.  used[k] gets whether slot k is
 * still referenced. */
static void share_temps(tx_aot_func *f, bool *used) {
    int n = f->nslots;
    int *first = malloc(sizeof(int) * (size_t)(n + 1)), *last = malloc(sizeof(int) * (size_t)(n + 1));
    int *rep = malloc(sizeof(int) * (size_t)(n + 1)), *glast = malloc(sizeof(int) * (size_t)(n + 1));
    int *order = malloc(sizeof(int) * (size_t)(n + 1));
    if (!first || !last || !rep || !glast || !order) {
        for (int k = 0; k < n; k++) used[k] = true;
        free(first), free(last), free(rep), free(glast), free(order);
        return;
    }
    for (int k = 0; k < n; k++) first[k] = last[k] = -1, rep[k] = k, glast[k] = -1;
    live_range l = { first, last, 0, rep };
    for (int s = 0; s < f->nsteps; s++) {
        l.step = s;
        step_refs(&f->steps[s], note_use, &l);
    }
    /* temporaries by first use (insertion sort: few slots) */
    int no = 0;
    for (int k = 0; k < n; k++) {
        if (f->slots[k].kind != TX_AOT_TEMP || f->slots[k].zero || first[k] < 0) continue;
        int q = no++;
        while (q > 0 && first[order[q - 1]] > first[k]) order[q] = order[q - 1], q--;
        order[q] = k;
    }
    int *groups = malloc(sizeof(int) * (size_t)(no + 1));
    int ng = 0;
    for (int i = 0; groups && i < no; i++) {
        int k = order[i], g = -1;
        for (int j = 0; j < ng && g < 0; j++) {
            int r = groups[j];
            if (glast[r] < first[k] && f->slots[r].dtype == f->slots[k].dtype && f->slots[r].size == f->slots[k].size &&
                tx_lir_mono_eq(&f->slots[r].size_sym, &f->slots[k].size_sym))
                g = r;
        }
        if (g < 0) groups[ng++] = g = k;
        rep[k] = g;
        glast[g] = last[k];
    }
    for (int s = 0; s < f->nsteps; s++) step_refs(&f->steps[s], remap, &l);
    for (int k = 0; k < n; k++) first[k] = last[k] = -1;
    for (int s = 0; s < f->nsteps; s++) {
        l.step = s;
        step_refs(&f->steps[s], note_use, &l);
    }
    for (int k = 0; k < n; k++) used[k] = f->slots[k].kind != TX_AOT_TEMP || first[k] >= 0;
    free(groups), free(first), free(last), free(rep), free(glast), free(order);
}

/* c times the product of the size arguments in mono, at run time (no
 * overflow: the entry checks every buffer size, and these products are
 * factors of buffer sizes). */
static LLVMValueRef rt_size(tx_aot *m, LLVMBuilderRef B, LLVMValueRef fn, int64_t c, const tx_lir_mono *mono) {
    LLVMValueRef v = LLVMConstInt(m->i64, (unsigned long long)c, 1);
    for (int q = 0; mono && q < mono->n; q++) v = LLVMBuildNSWMul(B, v, LLVMGetParam(fn, (unsigned)mono->f[q]), "");
    return v;
}

/* a * b, or-ing the overflow bit into *ovf. */
static LLVMValueRef mul_ovf(tx_aot *m, LLVMBuilderRef B, LLVMValueRef a, LLVMValueRef b, LLVMValueRef *ovf) {
    static const char nm[] = "llvm.smul.with.overflow";
    unsigned id = LLVMLookupIntrinsicID(nm, sizeof nm - 1);
    LLVMTypeRef t = m->i64;
    LLVMValueRef f = LLVMGetIntrinsicDeclaration(m->mod, id, &t, 1);
    LLVMValueRef args[2] = { a, b };
    LLVMValueRef r = LLVMBuildCall2(B, LLVMIntrinsicGetType(m->ctx, id, &t, 1), f, args, 2, "");
    *ovf = LLVMBuildOr(B, *ovf, LLVMBuildExtractValue(B, r, 1, ""), "");
    return LLVMBuildExtractValue(B, r, 0, "");
}

/* The number of elements of slot sl at the current point. */
static LLVMValueRef slot_elems(tx_aot *m, LLVMBuilderRef B, LLVMValueRef fn, const tx_aot_slot *sl) {
    return rt_size(m, B, fn, sl->size, &sl->size_sym);
}

bool tx_aot_add(tx_aot *m, tx_aot_func *f, tx_diags *d) {
    LLVMContextRef C = m->ctx;
    int nargs = f->nsizes + f->nparams + f->nresults;
    LLVMTypeRef *pt = calloc((size_t)nargs + 1, sizeof *pt);
    LLVMValueRef *slotv = calloc((size_t)f->nslots + 1, sizeof *slotv);   /* pointer or alloca */
    LLVMValueRef *kfn = calloc((size_t)f->nsteps + 1, sizeof *kfn);
    bool *used = calloc((size_t)f->nslots + 1, sizeof *used);
    if (!pt || !slotv || !kfn || !used) {
        free(pt), free(slotv), free(kfn), free(used);
        report(d, "out of memory");
        return false;
    }
    share_temps(f, used);
    /* kernels first: linking adds their functions to the module */
    for (int s = 0; s < f->nsteps; s++) {
        if (f->steps[s].kind != TX_AOT_KERNEL) continue;
        if (!(kfn[s] = add_kernel(m, f, f->steps[s].kernel, d))) {
            free(pt), free(slotv), free(kfn), free(used);
            return false;
        }
    }
    for (int k = 0; k < nargs; k++) pt[k] = k < f->nsizes ? m->i64 : m->ptr;
    LLVMTypeRef fty = LLVMFunctionType(m->i32, pt, (unsigned)nargs, 0);
    if (LLVMGetNamedFunction(m->mod, f->name)) {
        report(d, "'%s' is defined twice in the object", f->name);
        free(pt), free(slotv), free(kfn), free(used);
        return false;
    }
    LLVMValueRef fn = LLVMAddFunction(m->mod, f->name, fty);
    unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(C, nounwind, 0));

    LLVMTypeRef seterr_t, alloc_t, free_t, gemm_t;
    LLVMTypeRef p1[1] = { m->ptr };
    LLVMValueRef seterr = declare(m, "txrt_set_error", m->i32, p1, 1, true, &seterr_t);
    LLVMTypeRef pa[4] = { m->i64, m->i32, m->ptr, m->ptr };
    LLVMValueRef alloc = declare(m, "txrt_aot_alloc", m->ptr, pa, 4, false, &alloc_t);
    LLVMValueRef freef = declare(m, "txrt_aot_free", m->voidt, p1, 1, false, &free_t);
    LLVMTypeRef pg[13] = { m->ptr, m->i32, m->i32, m->i64, m->i64, m->i64, m->ptr, m->i64,
                           m->ptr, m->i64, m->ptr, m->i64, m->i32 };
    LLVMValueRef gemm = declare(m, "txrt_aot_gemm", m->i32, pg, 13, false, &gemm_t);
    LLVMTypeRef call_t;
    LLVMTypeRef pc[7] = { m->ptr, m->ptr, m->i64, m->i32, m->ptr, m->i32, m->ptr };
    LLVMValueRef callf = declare(m, "txrt_aot_call", m->i32, pc, 7, false, &call_t);
    LLVMTypeRef argfields[4] = { m->ptr, m->i64, m->i64, m->ptr };
    LLVMTypeRef arg_t = LLVMStructTypeInContext(C, argfields, 4, 0);   /* txrt_aot_arg */

    LLVMBuilderRef B = LLVMCreateBuilderInContext(C);
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(C, fn, "entry");
    LLVMBasicBlockRef fail = LLVMAppendBasicBlockInContext(C, fn, "fail");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(C, fn, "done");
    LLVMPositionBuilderAtEnd(B, entry);
    LLVMValueRef fname = cstring(m, B, f->name);

    /* slots: scalars and temporary pointers live in allocas (null first, so
     * that the failure path can free whatever was allocated) */
    for (int k = 0; k < f->nslots; k++) {
        tx_aot_slot *sl = &f->slots[k];
        switch (sl->kind) {
        case TX_AOT_SIZE:
            slotv[k] = LLVMBuildAlloca(B, m->f64, sl->name);
            LLVMBuildStore(B, sl->runtime ? LLVMBuildSIToFP(B, LLVMGetParam(fn, (unsigned)sl->arg), m->f64, "")
                                          : LLVMConstReal(m->f64, sl->value), slotv[k]);
            break;
        case TX_AOT_INPUT:
            slotv[k] = LLVMGetParam(fn, (unsigned)(f->nsizes + sl->arg));
            break;
        case TX_AOT_OUTPUT:
            slotv[k] = LLVMGetParam(fn, (unsigned)(f->nsizes + f->nparams + sl->arg));
            break;
        case TX_AOT_TEMP:
            slotv[k] = LLVMBuildAlloca(B, m->ptr, sl->name);
            LLVMBuildStore(B, LLVMConstPointerNull(m->ptr), slotv[k]);
            break;
        }
    }
    /* argument checks */
    bool generic = false;
    for (int k = 0; k < f->nsizes; k++) {
        LLVMValueRef v = LLVMGetParam(fn, (unsigned)k);
        LLVMSetValueName2(v, f->size_name[k], strlen(f->size_name[k]));
        if (f->size_runtime && f->size_runtime[k]) {   /* size-generic: any value >= 1 */
            generic = true;
            LLVMValueRef bad = LLVMBuildICmp(B, LLVMIntSLT, v, LLVMConstInt(m->i64, 1, 0), "");
            LLVMBasicBlockRef eb = LLVMAppendBasicBlockInContext(C, fn, "bad.size");
            LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(C, fn, "size.ok");
            LLVMBuildCondBr(B, bad, eb, ok);
            LLVMPositionBuilderAtEnd(B, eb);
            char msg[512];
            snprintf(msg, sizeof msg, "%s: size '%s' is %%lld; sizes must be at least 1", f->name, f->size_name[k]);
            LLVMValueRef args[2] = { cstring(m, B, msg), v };
            LLVMBuildCall2(B, seterr_t, seterr, args, 2, "");
            LLVMBuildBr(B, fail);
            LLVMPositionBuilderAtEnd(B, ok);
            continue;
        }
        LLVMValueRef bad = LLVMBuildICmp(B, LLVMIntNE, v, LLVMConstInt(m->i64, (unsigned long long)f->size_value[k], 1), "");
        LLVMBasicBlockRef eb = LLVMAppendBasicBlockInContext(C, fn, "bad.size");
        LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(C, fn, "size.ok");
        LLVMBuildCondBr(B, bad, eb, ok);
        LLVMPositionBuilderAtEnd(B, eb);
        char msg[512];
        snprintf(msg, sizeof msg,
                 "%s: size '%s' is %%lld, but this object was built for %s=%lld (txc build --shape); "
                 "rebuild it with the sizes you need",
                 f->name, f->size_name[k], f->size_name[k], (long long)f->size_value[k]);
        LLVMValueRef args[2] = { cstring(m, B, msg), v };
        LLVMBuildCall2(B, seterr_t, seterr, args, 2, "");
        LLVMBuildBr(B, fail);
        LLVMPositionBuilderAtEnd(B, ok);
    }
    /* sizes the body needs equal (an index over two size names) */
    for (int q = 0; q < f->nequal; q++) {
        int a = f->equal[q][0], b = f->equal[q][1];
        LLVMValueRef va = LLVMGetParam(fn, (unsigned)a), vb = LLVMGetParam(fn, (unsigned)b);
        LLVMBasicBlockRef eb = LLVMAppendBasicBlockInContext(C, fn, "size.mismatch");
        LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(C, fn, "sizes.equal");
        LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntNE, va, vb, ""), eb, ok);
        LLVMPositionBuilderAtEnd(B, eb);
        char msg[768];
        snprintf(msg, sizeof msg, "%s: size '%s' is %%lld but '%s' is %%lld; they must be equal (%s)", f->name,
                 f->size_name[a], f->size_name[b], f->equal_why && f->equal_why[q] ? f->equal_why[q] : "the def");
        LLVMValueRef args[3] = { cstring(m, B, msg), va, vb };
        LLVMBuildCall2(B, seterr_t, seterr, args, 3, "");
        LLVMBuildBr(B, fail);
        LLVMPositionBuilderAtEnd(B, ok);
    }
    /* every tensor's size in bytes must fit in an int64 (then so do all
     * strides, extents and BLAS dimensions, which are factors of them) */
    if (generic) {
        LLVMValueRef ovf = LLVMConstInt(LLVMInt1TypeInContext(C), 0, 0);
        for (int k = 0; k < f->nslots; k++) {
            tx_aot_slot *sl = &f->slots[k];
            if (sl->kind == TX_AOT_SIZE || sl->size_sym.n == 0) continue;
            LLVMValueRef v = LLVMConstInt(m->i64, (unsigned long long)sl->size * txrt_dtype_size(sl->dtype), 1);
            for (int q = 0; q < sl->size_sym.n; q++) v = mul_ovf(m, B, v, LLVMGetParam(fn, (unsigned)sl->size_sym.f[q]), &ovf);
        }
        LLVMBasicBlockRef eb = LLVMAppendBasicBlockInContext(C, fn, "too.large");
        LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(C, fn, "sizes.fit");
        LLVMBuildCondBr(B, ovf, eb, ok);
        LLVMPositionBuilderAtEnd(B, eb);
        char msg[512];
        snprintf(msg, sizeof msg, "%s: the sizes are too large (a tensor would have more than 2^63 bytes)", f->name);
        LLVMValueRef args[2] = { cstring(m, B, "%s"), cstring(m, B, msg) };
        LLVMBuildCall2(B, seterr_t, seterr, args, 2, "");
        LLVMBuildBr(B, fail);
        LLVMPositionBuilderAtEnd(B, ok);
    }
    /* the sizes as the int64 array that generic kernels read */
    LLVMValueRef sizes_arr = NULL;
    if (generic) {
        LLVMTypeRef at = LLVMArrayType2(m->i64, (uint64_t)f->nsizes);
        LLVMBasicBlockRef here = LLVMGetInsertBlock(B);
        LLVMValueRef first = LLVMGetFirstInstruction(entry);
        if (first) LLVMPositionBuilderBefore(B, first);
        sizes_arr = LLVMBuildAlloca(B, at, "sizes");
        LLVMPositionBuilderAtEnd(B, here);
        for (int k = 0; k < f->nsizes; k++) {
            LLVMValueRef idx[2] = { LLVMConstInt(m->i64, 0, 0), LLVMConstInt(m->i64, (unsigned long long)k, 0) };
            LLVMBuildStore(B, LLVMGetParam(fn, (unsigned)k), LLVMBuildInBoundsGEP2(B, at, sizes_arr, idx, 2, ""));
        }
    }
    for (int k = 0; k < f->nslots; k++) {
        tx_aot_slot *sl = &f->slots[k];
        if ((sl->kind != TX_AOT_INPUT && sl->kind != TX_AOT_OUTPUT) || sl->size == 0) continue;
        LLVMValueRef isnull = LLVMBuildIsNull(B, slotv[k], "");
        LLVMBasicBlockRef eb = LLVMAppendBasicBlockInContext(C, fn, "null.arg");
        LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(C, fn, "arg.ok");
        LLVMBuildCondBr(B, isnull, eb, ok);
        LLVMPositionBuilderAtEnd(B, eb);
        char msg[512];
        snprintf(msg, sizeof msg, "%s: %s '%s' is a NULL pointer", f->name,
                 sl->kind == TX_AOT_INPUT ? "argument" : "result", sl->name);
        LLVMValueRef args[2] = { cstring(m, B, "%s"), cstring(m, B, msg) };
        LLVMBuildCall2(B, seterr_t, seterr, args, 2, "");
        LLVMBuildBr(B, fail);
        LLVMPositionBuilderAtEnd(B, ok);
    }
    /* temporaries */
    for (int k = 0; k < f->nslots; k++) {
        tx_aot_slot *sl = &f->slots[k];
        if (sl->kind != TX_AOT_TEMP || !used[k]) continue;
        LLVMValueRef bytes = LLVMBuildNSWMul(B, slot_elems(m, B, fn, sl),
                                             LLVMConstInt(m->i64, txrt_dtype_size(sl->dtype), 0), "");
        LLVMValueRef args[4] = { bytes,
                                 LLVMConstInt(m->i32, sl->zero ? 1 : 0, 0), fname, cstring(m, B, sl->name) };
        LLVMValueRef p = LLVMBuildCall2(B, alloc_t, alloc, args, 4, "");
        LLVMBuildStore(B, p, slotv[k]);
        LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(C, fn, "alloc.ok");
        LLVMBuildCondBr(B, LLVMBuildIsNull(B, p, ""), fail, ok);
        LLVMPositionBuilderAtEnd(B, ok);
    }
    /* the data pointer of a slot, at the current point */
#define SLOT_PTR(k) (f->slots[k].kind == TX_AOT_TEMP ? LLVMBuildLoad2(B, m->ptr, slotv[k], "") : slotv[k])
    for (int s = 0; s < f->nsteps; s++) {
        tx_aot_step *st = &f->steps[s];
        switch (st->kind) {
        case TX_AOT_KERNEL: {
            int nb = st->kernel->nbufs;
            LLVMTypeRef at = LLVMArrayType2(m->ptr, (uint64_t)(nb > 0 ? nb : 1));
            /* allocas belong in the entry block */
            LLVMBasicBlockRef here = LLVMGetInsertBlock(B);
            LLVMValueRef first = LLVMGetFirstInstruction(entry);
            if (first) LLVMPositionBuilderBefore(B, first);
            LLVMValueRef arr = LLVMBuildAlloca(B, at, "bufs");
            LLVMPositionBuilderAtEnd(B, here);
            for (int q = 0; q < nb; q++) {
                if (st->kernel->bufs[q].local) continue;   /* the kernel's own stack storage */
                LLVMValueRef idx[2] = { LLVMConstInt(m->i64, 0, 0), LLVMConstInt(m->i64, (unsigned long long)q, 0) };
                LLVMValueRef gep = LLVMBuildInBoundsGEP2(B, at, arr, idx, 2, "");
                LLVMBuildStore(B, SLOT_PTR(st->buf[q]), gep);
            }
            LLVMTypeRef kt = LLVMGlobalGetValueType(kfn[s]);
            LLVMValueRef kargs[2] = { arr, sizes_arr };
            bool kgen = tx_lir_is_generic(st->kernel);
            if (kgen && !sizes_arr) {   /* cannot happen: build.c makes generic kernels only for run-time sizes */
                report(d, "internal error: a size-generic kernel in '%s', which has no run-time sizes", f->name);
                LLVMDisposeBuilder(B);
                free(pt), free(slotv), free(kfn), free(used);
                return false;
            }
            LLVMBuildCall2(B, kt, kfn[s], kargs, kgen ? 2 : 1, "");
            break;
        }
        case TX_AOT_GEMM: {
            LLVMValueRef args[13] = {
                fname, LLVMConstInt(m->i32, (unsigned char)st->ta, 0), LLVMConstInt(m->i32, (unsigned char)st->tb, 0),
                rt_size(m, B, fn, st->m, &st->sm), rt_size(m, B, fn, st->n, &st->sn),
                rt_size(m, B, fn, st->k, &st->sk), SLOT_PTR(st->a),
                rt_size(m, B, fn, st->lda, &st->slda), SLOT_PTR(st->b),
                rt_size(m, B, fn, st->ldb, &st->sldb), SLOT_PTR(st->c),
                rt_size(m, B, fn, st->ldc, &st->sldc), LLVMConstInt(m->i32, (unsigned)st->dtype, 0)
            };
            LLVMValueRef rc = LLVMBuildCall2(B, gemm_t, gemm, args, 13, "");
            LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(C, fn, "gemm.ok");
            LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntNE, rc, LLVMConstInt(m->i32, 0, 0), ""), fail, ok);
            LLVMPositionBuilderAtEnd(B, ok);
            break;
        }
        case TX_AOT_CALL: {
            int nio = st->nin + st->nout;
            LLVMTypeRef at = LLVMArrayType2(arg_t, (uint64_t)nio);
            LLVMBasicBlockRef here = LLVMGetInsertBlock(B);
            LLVMValueRef first = LLVMGetFirstInstruction(entry);
            if (first) LLVMPositionBuilderBefore(B, first);
            LLVMValueRef arr = LLVMBuildAlloca(B, at, "args");
            LLVMPositionBuilderAtEnd(B, here);
            for (int q = 0; q < nio; q++) {
                int r = st->rank[q];
                LLVMValueRef *dims = calloc((size_t)r + 1, sizeof *dims);
                for (int k = 0; k < r; k++) dims[k] = LLVMConstInt(m->i64, (unsigned long long)st->shape[q][k], 1);
                LLVMTypeRef dt = LLVMArrayType2(m->i64, (uint64_t)(r > 0 ? r : 1));
                LLVMValueRef g = LLVMAddGlobal(m->mod, dt, ".shape");
                LLVMSetInitializer(g, r > 0 ? LLVMConstArray2(m->i64, dims, (uint64_t)r) : LLVMConstNull(dt));
                LLVMSetGlobalConstant(g, 1);
                LLVMSetLinkage(g, LLVMPrivateLinkage);
                LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
                free(dims);
                LLVMValueRef fields[4] = { SLOT_PTR(st->io[q]),
                                           LLVMConstInt(m->i64, (unsigned)f->slots[st->io[q]].dtype, 0),
                                           LLVMConstInt(m->i64, (unsigned)r, 0), g };
                for (unsigned fi = 0; fi < 4; fi++) {
                    LLVMValueRef idx[3] = { LLVMConstInt(m->i32, 0, 0), LLVMConstInt(m->i32, (unsigned)q, 0),
                                            LLVMConstInt(m->i32, fi, 0) };
                    LLVMBuildStore(B, fields[fi], LLVMBuildInBoundsGEP2(B, at, arr, idx, 3, ""));
                }
            }
            LLVMValueRef idx[2] = { LLVMConstInt(m->i32, 0, 0), LLVMConstInt(m->i32, (unsigned)st->nin, 0) };
            LLVMValueRef outs = LLVMBuildInBoundsGEP2(B, at, arr, idx, 2, "");
            LLVMValueRef args[7] = { fname, cstring(m, B, st->op), LLVMConstInt(m->i64, (unsigned long long)st->num, 1),
                                     LLVMConstInt(m->i32, (unsigned)st->nin, 0), arr,
                                     LLVMConstInt(m->i32, (unsigned)st->nout, 0), outs };
            LLVMValueRef rc = LLVMBuildCall2(B, call_t, callf, args, 7, "");
            LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(C, fn, "call.ok");
            LLVMBuildCondBr(B, LLVMBuildICmp(B, LLVMIntNE, rc, LLVMConstInt(m->i32, 0, 0), ""), fail, ok);
            LLVMPositionBuilderAtEnd(B, ok);
            break;
        }
        case TX_AOT_ASSERT: {
            txrt_dtype dt = f->slots[st->a].dtype;
            bool single = dt == TXRT_F32 || dt == TXRT_C64;
            LLVMTypeRef et = single ? LLVMFloatTypeInContext(C) : m->f64;
            LLVMValueRef p = SLOT_PTR(st->a);
            LLVMValueRef re = LLVMBuildLoad2(B, et, p, "");
            LLVMValueRef nz = LLVMBuildFCmp(B, LLVMRealUNE, re, LLVMConstReal(et, 0), "");
            if (txrt_dtype_is_complex(dt)) {
                LLVMValueRef one = LLVMConstInt(m->i64, 1, 0);
                LLVMValueRef im = LLVMBuildLoad2(B, et, LLVMBuildInBoundsGEP2(B, et, p, &one, 1, ""), "");
                nz = LLVMBuildOr(B, nz, LLVMBuildFCmp(B, LLVMRealUNE, im, LLVMConstReal(et, 0), ""), "");
            }
            LLVMBasicBlockRef eb = LLVMAppendBasicBlockInContext(C, fn, "assert.failed");
            LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(C, fn, "assert.ok");
            LLVMBuildCondBr(B, nz, ok, eb);
            LLVMPositionBuilderAtEnd(B, eb);
            LLVMValueRef args[2] = { cstring(m, B, "%s"), cstring(m, B, st->op) };
            LLVMBuildCall2(B, seterr_t, seterr, args, 2, "");
            LLVMBuildBr(B, fail);
            LLVMPositionBuilderAtEnd(B, ok);
            break;
        }
        case TX_AOT_COPY: {
            const tx_aot_slot *dst = &f->slots[st->c];
            int64_t bytes = dst->size * (int64_t)txrt_dtype_size(dst->dtype);
            if (bytes > 0)
                LLVMBuildMemCpy(B, SLOT_PTR(st->c), 8, SLOT_PTR(st->a), 8,
                                dst->size_sym.n > 0
                                    ? LLVMBuildNSWMul(B, slot_elems(m, B, fn, dst),
                                                      LLVMConstInt(m->i64, txrt_dtype_size(dst->dtype), 0), "")
                                    : LLVMConstInt(m->i64, (unsigned long long)bytes, 0));
            break;
        }
        }
    }
    LLVMBuildBr(B, done);
    /* both exits free every temporary (txrt_aot_free(NULL) is a no-op) */
    for (int pass = 0; pass < 2; pass++) {
        LLVMPositionBuilderAtEnd(B, pass ? fail : done);
        for (int k = 0; k < f->nslots; k++) {
            if (f->slots[k].kind != TX_AOT_TEMP || !used[k]) continue;
            LLVMValueRef p = LLVMBuildLoad2(B, m->ptr, slotv[k], "");
            LLVMBuildCall2(B, free_t, freef, &p, 1, "");
        }
        LLVMBuildRet(B, LLVMConstInt(m->i32, pass ? 1 : 0, 0));
    }
#undef SLOT_PTR
    LLVMDisposeBuilder(B);
    free(pt);
    free(slotv);
    free(kfn);
    free(used);
    return true;
}

bool tx_aot_write(tx_aot *m, const char *path, tx_aot_output kind, tx_diags *d) {
    char *err = NULL;
    if (!m->optimized) {
        if (!tx_cg_optimize(m->mod, m->tm, m->opt_level, true, &err)) {
            report(d, "cannot optimise the module: %s", err ? err : "unknown error");
            free(err);
            return false;
        }
        tx_cg_vecmath_prune(m->mod);
        m->optimized = true;
    }
    char *msg = NULL;
    if (kind == TX_AOT_LLVM) {
        if (LLVMPrintModuleToFile(m->mod, path, &msg)) {
            report(d, "cannot write '%s': %s", path, msg ? msg : "unknown error");
            LLVMDisposeMessage(msg);
            return false;
        }
        return true;
    }
    char *p = strdup(path);
    if (!p) return report(d, "out of memory"), false;
    LLVMBool bad = LLVMTargetMachineEmitToFile(m->tm, m->mod, p,
                                               kind == TX_AOT_ASM ? LLVMAssemblyFile : LLVMObjectFile, &msg);
    free(p);
    if (bad) {
        report(d, "cannot write '%s': %s", path, msg ? msg : "unknown error");
        LLVMDisposeMessage(msg);
        return false;
    }
    return true;
}
