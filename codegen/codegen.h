/*
 * codegen.h -- the public face of codegen/: opaque handles only, no LLVM
 * types.  Everything that includes llvm-c/ lives in this folder.
 *
 * A tx_jit is one ORC LLJIT session for the process.  It compiles loop IR
 * kernels (ir/lir.h) to machine code for the host CPU and caches them by
 * their LIR text, which spells out every dtype, shape, bound and constant:
 * the same definition run again with the same shapes (a `for` body, a REPL
 * statement) reuses its kernel and never recompiles.  Plugged into the
 * reference evaluator as its DEF backend (tx_jit_backend), it runs every
 * tensor definition it can compile as native code and declines the rest,
 * which the evaluator then runs itself.
 *
 * Kernel ABI: void kernel(void **bufs), bufs[k] = the data pointer of LIR
 * buffer k (0 = the output, then each tensor read, in LIR parameter order).
 * No compiler data structure reaches generated code.
 *
 * Floating point: kernels compute what the reference evaluator computes,
 * operation for operation (double precision whatever the storage dtype,
 * rounded once on store; the same libm functions), except in the
 * accumulate step of reductions, which may be reassociated (so sums, max,
 * min and products vectorise) and contracted into FMAs.  Reduced values can
 * therefore differ from the evaluator's in the last bits; nothing else does.
 */
#ifndef TX_CODEGEN_H
#define TX_CODEGEN_H

#include <stdbool.h>
#include <stdio.h>

#include "frontend/diag.h"
#include "ir/interp.h"
#include "ir/lir.h"

/* The host CPU as LLVM names it ("znver5") and its feature string
 * ("+avx512f,..."); strings owned by codegen, valid until tx_cg_shutdown. */
const char *tx_cg_host_cpu(void);
const char *tx_cg_host_features(void);
/* Free codegen's process-wide strings (call at exit, after tx_jit_free). */
void tx_cg_shutdown(void);

typedef struct tx_jit tx_jit;

/* A compiled kernel (see the ABI above). */
typedef void (*tx_kernel_fn)(void **bufs);

/* Counters since tx_jit_new. */
typedef struct tx_jit_stats {
    double compile_ms;   /* LLVM IR, optimisation and machine code, all kernels (wall) */
    double compile_cpu_ms; /* the same in CPU time of the compiling thread */
    double lower_ms;     /* TIR -> LIR lowering and cache look-ups */
    double run_ms;       /* time spent inside kernels */
    int ncompiled;       /* kernels compiled */
    int ncache_hits;     /* kernel requests served from the cache */
    int nruns;           /* definitions run by the backend */
    int ndeclined;       /* definitions left to the evaluator */
} tx_jit_stats;

typedef enum { TX_CG_EMIT_LLVM, TX_CG_EMIT_ASM } tx_cg_emit_kind;

/* Start a JIT session optimising at -O<opt_level> (0..3; 3 is the
 * default of txc).  Returns NULL after adding an error to d (may be NULL)
 * when LLVM cannot target the host. */
tx_jit *tx_jit_new(int opt_level, tx_diags *d);
/* Dispose the session, its modules and its machine code (NULL-safe);
 * compiled kernels are invalid afterwards. */
void tx_jit_free(tx_jit *j);

/* The evaluator backend (install with tx_interp_set_backend). */
tx_def_backend tx_jit_backend(tx_jit *j);

/* The kernel of f, compiled or from the cache (keyed by f's text as
 * given).  On a miss f is transformed in place (tx_lir_jam, which keeps
 * its values), verified (tx_lir_verify) and compiled.  NULL after adding
 * an error to d (may be NULL). */
tx_kernel_fn tx_jit_compile(tx_jit *j, tx_lir_func *f, tx_diags *d);

/* The optimised LLVM IR (TX_CG_EMIT_LLVM) or host assembly of f's kernel,
 * as a malloc'ed string (caller frees); NULL after adding an error to d.
 * Transforms f as tx_jit_compile does; does not touch the cache. */
char *tx_jit_emit(tx_jit *j, tx_lir_func *f, tx_cg_emit_kind kind, tx_diags *d);

/* Unroll-and-jam width for reduction nests (0 or 1: off).  The default
 * depends on the host's vector width (16 with AVX-512, 8 with AVX). */
void tx_jit_set_jam(tx_jit *j, int width);

/* The same for one definition (ranges inferred), lowered with tensor
 * types from lk and output type *out, as tx_jit_backend would run it. */
char *tx_jit_emit_def(tx_jit *j, const tx_tir_stmt *def, const tx_type *out, const tx_lookup *lk,
                      tx_cg_emit_kind kind, tx_diags *d);

/* From now on write every newly compiled kernel to out (NULL stops), as
 * optimised IR or assembly, each preceded by its LIR as comments: what
 * `txc emit --llvm/--asm` shows while running a program. */
void tx_jit_set_emit(tx_jit *j, FILE *out, tx_cg_emit_kind kind);

/* Verify LLVM modules before optimising (default: on in builds without
 * NDEBUG). */
void tx_jit_set_verify(tx_jit *j, bool on);

void tx_jit_get_stats(const tx_jit *j, tx_jit_stats *out);

/* Why the backend last declined a definition (for tests and --time);
 * "" when it has not. */
const char *tx_jit_last_decline(const tx_jit *j);

#endif
