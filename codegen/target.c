/*
 * target.c -- the host target: CPU name and features (so generated code
 * uses AVX2/AVX-512 where the machine has them), target machines, the
 * optimisation pipeline and textual output (IR, assembly).
 *
 * Optimisation is the new pass manager's "default<On>" pipeline run by
 * LLVMRunPasses on a target machine for the host, so the vectoriser's cost
 * model sees the real vector width; at -O2/-O3 loop unrolling is moved out
 * of it to a short pipeline of its own at the end (tx_cg_optimize).
 */
#include "codegen/codegen.h"
#include "codegen/llvm_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *cpu_name, *cpu_features;

static void query(void) {
    if (cpu_name) return;
    char *n = LLVMGetHostCPUName();
    char *f = LLVMGetHostCPUFeatures();
    cpu_name = strdup(n);
    cpu_features = strdup(f);
    LLVMDisposeMessage(n);
    LLVMDisposeMessage(f);
}

const char *tx_cg_host_cpu(void) {
    query();
    return cpu_name;
}

const char *tx_cg_host_features(void) {
    query();
    return cpu_features;
}

/* The two strings above are the only process-lifetime allocations of
 * codegen; tx_cg_shutdown frees them (valgrind-clean exits). */
void tx_cg_shutdown(void) {
    free(cpu_name);
    free(cpu_features);
    cpu_name = cpu_features = NULL;
}

char *tx_cg_take_message(char *m) {
    char *s = strdup(m ? m : "");
    if (m) LLVMDisposeMessage(m);
    return s;
}

char *tx_cg_error_message(LLVMErrorRef e) {
    if (!e) return strdup("");
    return tx_cg_take_message(LLVMGetErrorMessage(e));
}

bool tx_cg_init_native(char **err) {
    static int state; /* 0 not tried, 1 ok, -1 failed */
    if (state == 0) {
        state = (LLVMInitializeNativeTarget() == 0 && LLVMInitializeNativeAsmPrinter() == 0 &&
                 LLVMInitializeNativeAsmParser() == 0) ? 1 : -1;
    }
    if (state < 0 && err) *err = strdup("LLVM has no native target for this machine");
    return state > 0;
}

static LLVMCodeGenOptLevel cg_level(int opt) {
    return opt <= 0 ? LLVMCodeGenLevelNone : opt == 1 ? LLVMCodeGenLevelLess
         : opt == 2 ? LLVMCodeGenLevelDefault : LLVMCodeGenLevelAggressive;
}

LLVMTargetMachineRef tx_cg_host_machine(int opt_level, char **err) {
    if (!tx_cg_init_native(err)) return NULL;
    query();
    char *triple = LLVMGetDefaultTargetTriple();
    char *norm = LLVMNormalizeTargetTriple(triple);
    LLVMDisposeMessage(triple);
    LLVMTargetRef t;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(norm, &t, &msg)) {
        if (err) *err = tx_cg_take_message(msg);
        else LLVMDisposeMessage(msg);
        LLVMDisposeMessage(norm);
        return NULL;
    }
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(t, norm, cpu_name, cpu_features, cg_level(opt_level),
                                                      LLVMRelocPIC, LLVMCodeModelJITDefault);
    LLVMDisposeMessage(norm);
    if (!tm && err) *err = strdup("cannot create a target machine for the host");
    return tm;
}

void tx_cg_set_target(LLVMModuleRef m, LLVMTargetMachineRef tm) {
    char *triple = LLVMGetTargetMachineTriple(tm);
    LLVMSetTarget(m, triple);
    LLVMDisposeMessage(triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
    LLVMSetModuleDataLayout(m, td);
    LLVMDisposeTargetData(td);
}

/* Why unrolling runs late.  Kernels are loop nests with constant trip
 * counts, and many are tiny (4x4x4 contractions of fixed-size tensors).
 * In default<O3> the full unroller runs inside the function simplification
 * pipeline, before vectorisation: it flattens such nests into straight-line
 * bodies of hundreds of scalar operations, which GVN, instcombine and above
 * all the SLP vectoriser then chew on -- 30 ms for the median kernel of
 * examples/attention/taylor.tx and up to ~1 s, 20 s or more for the script.  With
 * unrolling off (LoopUnrolling = false; only forced unrolls happen: llvm.c
 * forces them for short innermost reductions, see unroll_early) the loop
 * vectoriser sees the loops as loops and vectorises and interleaves them as
 * usual; the unroller then runs once on the vectorised code, where small
 * loops (remainders, trip counts like 4) are still unrolled, followed by
 * cleanup: early-cse merges the loads and gathers that the copies of an
 * unrolled body repeat (a 4x4 matrix product gathers each column of B once
 * instead of four times), then what default<On> runs after its own late
 * unroller (instcombine, LICM) and simplifycfg.  SLP does not run on
 * what the late unroller produces: the loop vectoriser has done that work.
 * Run time is unchanged on bench/ (register tiles are unroll-and-jammed in
 * the loop IR, ir/lir_sched.c, not by LLVM). */
#define LATE_UNROLL(o) ((o) >= 3 ? LATE_UNROLL_PASSES("O3") : LATE_UNROLL_PASSES("O2"))
#define LATE_UNROLL_PASSES(lvl) \
    "function(loop-unroll<" lvl ">,early-cse<memssa>,instcombine<no-verify-fixpoint>,simplifycfg," \
    "loop-mssa(licm),instcombine<no-verify-fixpoint>)"

bool tx_cg_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm, int opt_level, bool verify, char **err) {
    if (verify) {
        char *msg = NULL;
        if (LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
            if (err) *err = tx_cg_take_message(msg);
            else LLVMDisposeMessage(msg);
            return false;
        }
        LLVMDisposeMessage(msg);
    }
    if (opt_level < 0) opt_level = 0;
    if (opt_level > 3) opt_level = 3;
    /* At -O2/-O3 the default pipeline runs with unrolling off and the loop
     * unroller runs once at the end (with cleanup), see above. */
    char passes[32];
    snprintf(passes, sizeof passes, "default<O%d>", opt_level);
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(opts, opt_level >= 2);
    LLVMPassBuilderOptionsSetSLPVectorization(opts, opt_level >= 2);
    LLVMPassBuilderOptionsSetLoopInterleaving(opts, opt_level >= 2);
    LLVMPassBuilderOptionsSetLoopUnrolling(opts, false);
    LLVMErrorRef e = LLVMRunPasses(m, passes, tm, opts);
    if (!e && opt_level >= 2) e = LLVMRunPasses(m, LATE_UNROLL(opt_level), tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    if (e) {
        char *msg = tx_cg_error_message(e);
        if (err) *err = msg;
        else free(msg);
        return false;
    }
    return true;
}

char *tx_cg_asm_text(LLVMModuleRef m, LLVMTargetMachineRef tm, char **err) {
    /* codegen rewrites the IR it compiles (CodeGenPrepare), so work on a copy */
    LLVMModuleRef copy = LLVMCloneModule(m);
    LLVMMemoryBufferRef buf = NULL;
    char *msg = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, copy, LLVMAssemblyFile, &msg, &buf)) {
        LLVMDisposeModule(copy);
        if (err) *err = tx_cg_take_message(msg);
        else LLVMDisposeMessage(msg);
        return NULL;
    }
    LLVMDisposeModule(copy);
    size_t n = LLVMGetBufferSize(buf);
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, LLVMGetBufferStart(buf), n);
        s[n] = 0;
    }
    LLVMDisposeMemoryBuffer(buf);
    return s;
}
