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

/* Build a module in ctx holding `void sym(void **bufs)`, the kernel of f
 * (bufs[k] = data of f->bufs[k]).  Libm functions are declared, never
 * defined; the JIT resolves them from its symbol table.  Returns NULL with
 * a malloc'ed message in *err when f uses something codegen cannot emit. */
LLVMModuleRef tx_cg_build_module(LLVMContextRef ctx, const tx_lir_func *f, const char *sym,
                                 char **err);

/* ---- target.c ----------------------------------------------------------- */

/* Initialise the native target once per process. */
bool tx_cg_init_native(char **err);
/* A target machine for the host CPU (name and features), PIC, JIT code
 * model, at codegen level opt_level (0..3).  Caller disposes. */
LLVMTargetMachineRef tx_cg_host_machine(int opt_level, char **err);
/* Set m's triple and data layout from tm. */
void tx_cg_set_target(LLVMModuleRef m, LLVMTargetMachineRef tm);
/* Run the new pass manager's default<On> pipeline on m (verifying m first
 * when verify is set).  Returns false with a malloc'ed message in *err. */
bool tx_cg_optimize(LLVMModuleRef m, LLVMTargetMachineRef tm, int opt_level, bool verify,
                    char **err);
/* Assembly for m (m itself is left untouched); malloc'ed text or NULL. */
char *tx_cg_asm_text(LLVMModuleRef m, LLVMTargetMachineRef tm, char **err);
/* strdup of an LLVM message, disposing the original. */
char *tx_cg_take_message(char *llvm_msg);
/* The message of an LLVMErrorRef as a malloc'ed string (consumes err). */
char *tx_cg_error_message(LLVMErrorRef e);

#endif
