/*
 * llvm_internal.h -- what the files of codegen/ share; the only header that
 * includes llvm-c/.  Never include it outside codegen/ (the build makes
 * LLVM's include directories private to the txcg target, so it cannot be).
 *
 *   llvm.c    LIR function -> LLVM module (one kernel, external linkage)
 *   target.c  host target machine, optimisation pipeline, IR/asm text
 *   jit.c     ORC LLJIT session, symbol table, kernel cache, DEF backend
 */
#ifndef TX_LLVM_INTERNAL_H
#define TX_LLVM_INTERNAL_H

#include <stdbool.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/DebugInfo.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "ir/lir.h"

/* ---- llvm.c ------------------------------------------------------------- */

/* Vector math: which of glibc libmvec's vector variants of libm functions
 * (x86_64 vector function ABI, e.g. _ZGVdN4v_exp) the loop vectoriser may
 * call.  AVX2 allows the SSE ('b': 2 x f64, 4 x f32) and AVX2 ('d': 4 x
 * f64, 8 x f32) variants, AVX-512 also the 'e' ones (8 x f64, 16 x f32);
 * a variant is only usable where the caller can pass its vector type in
 * registers, hence no mapping at all below AVX2. */
typedef enum tx_cg_vecmath {
    TX_CG_VECMATH_NONE,
    TX_CG_VECMATH_AVX2,
    TX_CG_VECMATH_AVX512,
} tx_cg_vecmath;

/* The libm functions libmvec has vector variants of, by arity; each X(name)
 * stands for name (double) and namef (float).  llvm.c maps calls of these,
 * jit.c puts the variants in the JIT's symbol table. */
#define TX_CG_VECMATH_FUNCS(X1, X2)                                             \
    X1(exp) X1(log) X1(sin) X1(cos) X1(tan) X1(tanh) X1(sinh) X1(cosh)          \
    X2(pow) X2(hypot) X2(atan2)

/* The vector math level for code on a CPU (LLVM name, feature string as
 * "+avx2,+avx512f,..."; an empty string means the CPU's defaults, looked
 * up by name) at -O<opt_level>: NONE below -O2 (the loop vectoriser is
 * off there), without libmvec (TXC_HAVE_LIBMVEC), when TXC_NO_VECMATH is
 * set in the environment, or on a CPU without AVX2. */
tx_cg_vecmath tx_cg_vecmath_for(const char *cpu, const char *features, int opt_level);

/* Build a module in ctx holding `void sym(void **bufs)`, the kernel of f
 * (bufs[k] = data of f->bufs[k]).  Libm functions are declared, never
 * defined; the JIT resolves them from its symbol table.  With vm above
 * NONE, each call of a TX_CG_VECMATH_FUNCS function carries the
 * "vector-function-abi-variant" attribute naming its libmvec variants,
 * which are declared and kept alive through @llvm.compiler.used until
 * tx_cg_vecmath_prune.  With vec_bytes >= 16 (the target's vector
 * register size), statements that are lanes of one vector operation
 * (ir/lir_lanes.h: a register tile's copies) are emitted as vector
 * operations of that size.  Returns NULL with a malloc'ed message in *err when
 * f uses something codegen cannot emit. */
LLVMModuleRef tx_cg_build_module(LLVMContextRef ctx, const tx_lir_func *f, const char *sym,
                                 tx_cg_vecmath vm, int vec_bytes, char **err);
/* The vector size for tx_cg_build_module on a target whose register tiles
 * are jam_width doubles wide (two vector registers): jam_width / 2 * 8
 * bytes, 0 below a jam width of 4 or when TXC_LANES=0 is set in the
 * environment (the lanes are then left to LLVM's SLP vectoriser; for
 * comparisons).  Defined in jit.c. */
int tx_cg_lanes_bytes(int jam_width);

/* After optimisation: drop @llvm.compiler.used and every vector variant
 * declaration no call uses, so code references only the variants the
 * vectoriser chose. */
void tx_cg_vecmath_prune(LLVMModuleRef m);

/* ---- target.c ----------------------------------------------------------- */

/* Initialise the native target once per process. */
bool tx_cg_init_native(char **err);
/* A target machine for the host CPU (name and features), PIC, JIT code
 * model, at codegen level opt_level (0..3).  Caller disposes. */
LLVMTargetMachineRef tx_cg_host_machine(int opt_level, char **err);
/* Set m's triple and data layout from tm. */
void tx_cg_set_target(LLVMModuleRef m, LLVMTargetMachineRef tm);
/* Run the new pass manager's default<On> pipeline on m, with loop unrolling
 * moved to a late pass of its own at -O2/-O3 (verifying m first when verify
 * is set).  Returns false with a malloc'ed message in *err. */
bool tx_cg_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm, int opt_level, bool verify,
                    char **err);
/* Assembly for m (m itself is left untouched); malloc'ed text or NULL. */
char *tx_cg_asm_text(LLVMModuleRef m, LLVMTargetMachineRef tm, char **err);
/* strdup of an LLVM message, disposing the original. */
char *tx_cg_take_message(char *llvm_msg);
/* The message of an LLVMErrorRef as a malloc'ed string (consumes err). */
char *tx_cg_error_message(LLVMErrorRef e);

#endif
