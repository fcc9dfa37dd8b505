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
    int nfused;          /* (fuse helper) groups run as one fused kernel */
    int nfused_stmts;    /* (fuse helper) statements in those groups */
    int nsplit;          /* (fuse helper) reductions split off a statement into a group */
    double compile_median_ms; /* per kernel (wall), over the kernels compiled; 0 if none */
    double compile_max_ms;    /* the slowest kernel */
} tx_jit_stats;

typedef enum { TX_CG_EMIT_LLVM, TX_CG_EMIT_ASM } tx_cg_emit_kind;

/* Start a JIT session optimising at -O<opt_level> (0..3; 3 is the
 * default of txc).  At -O2 and up on an AVX2/AVX-512 host, loops calling
 * exp, sin, ... vectorise through glibc's libmvec unless TXC_NO_VECMATH is
 * set (codegen/llvm.c).  Returns NULL after adding an error to d (may be
 * NULL) when LLVM cannot target the host. */
tx_jit *tx_jit_new(int opt_level, tx_diags *d);
/* Dispose the session, its modules and its machine code (NULL-safe);
 * compiled kernels are invalid afterwards. */
void tx_jit_free(tx_jit *j);

/* The evaluator backend (install with tx_interp_set_backend). */
tx_def_backend tx_jit_backend(tx_jit *j);

/* The evaluator's group backend (install with
 * tx_interp_set_group_backend): fuses the start of a stretch of
 * definitions into one kernel (ir/fuse.h) when that pays. */
tx_group_backend tx_jit_group_backend(tx_jit *j);

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
 * depends on the host's vector width (16 with AVX-512, 8 with AVX) and
 * applies only to nests big enough to repay the compile time of a tile;
 * a width set here applies to every nest (ir/lir_sched.h). */
void tx_jit_set_jam(tx_jit *j, int width);

/* The vector size in bytes register tiles are emitted in (64 with
 * AVX-512, 32 with AVX; 0 below -O2 or with TXC_LANES=0). */
int tx_jit_lane_bytes(const tx_jit *j);

/* Parallel loops (ir/lir_sched.c, run through txrt_parallel_for): loops
 * whose estimated work is at least min_work; min_work < 0 turns them off.
 * The number of threads is the runtime's (txrt_set_threads). */
void tx_jit_set_parallel(tx_jit *j, double min_work);

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

/* ---- ahead-of-time compilation (codegen/aot.c) ----
 * One LLVM module per .tx file (`txc build`): each exported function is a
 * wrapper `int NAME(int64_t sizes..., const T *inputs..., T *results...)`
 * over a list of steps: loop IR kernels compiled exactly as the JIT
 * compiles them (tx_cg_schedule_default, tx_cg_build_module, the JIT's
 * -O3 pipeline), BLAS products, runtime builtins, copies and assert checks.
 * driver/build.c turns a def into such a description (docs/AOT.md). */

/* Where a step's operand lives. */
typedef enum {
    TX_AOT_SIZE,     /* a size name as an f64 scalar (its value is specialised,
                        or the size argument when `runtime`) */
    TX_AOT_INPUT,    /* argument pointer of a parameter (read only) */
    TX_AOT_OUTPUT,   /* argument pointer of a result (caller-allocated) */
    TX_AOT_TEMP,     /* allocated on entry, freed on return */
} tx_aot_slot_kind;

typedef struct tx_aot_slot {
    tx_aot_slot_kind kind;
    int arg;             /* INPUT/OUTPUT: parameter / result number */
    const char *name;    /* for messages */
    txrt_dtype dtype;
    int64_t size;        /* elements */
    tx_lir_mono size_sym; /* times this product of run-time sizes (size-generic) */
    double value;        /* SIZE: the value */
    bool runtime;        /* SIZE: the value is size argument `arg`, known at run time only */
    bool zero;           /* TEMP: zero-filled on entry (other temporaries are written
                            in full by the step that defines them) */
} tx_aot_slot;

typedef enum {
    TX_AOT_KERNEL,   /* kernel(bufs): bufs[k] = slot buf[k] */
    TX_AOT_GEMM,     /* slot c = op(a) op(b), txrt_aot_gemm */
    TX_AOT_COPY,     /* slot dst = slot src (same dtype and size) */
    TX_AOT_CALL,     /* txrt_aot_call(op, num, ins, outs): a builtin in the runtime */
    TX_AOT_ASSERT,   /* slot a (rank 0) must be non-zero; else fail with message op */
} tx_aot_step_kind;

typedef struct tx_aot_step {
    tx_aot_step_kind kind;
    tx_lir_func *kernel;     /* KERNEL (transformed in place when emitted) */
    int *buf;                /* KERNEL: a slot per LIR buffer */
    int a, b, c;             /* GEMM operands; COPY: a = src, c = dst */
    char ta, tb;             /* GEMM: 'N' or 'T' */
    int64_t m, n, k, lda, ldb, ldc;
    tx_lir_mono sm, sn, sk, slda, sldb, sldc;   /* GEMM: their run-time factors */
    txrt_dtype dtype;        /* GEMM */
    const char *op;          /* CALL: the runtime operation ("solve", "fft", ...);
                                ASSERT: the message */
    int64_t num;             /* CALL: its number argument (fft axis, irfft length) */
    int nin, nout;           /* CALL: operand slots, then result slots, in io[] */
    int *io;
    int *rank;               /* CALL: per operand in io[] */
    int64_t **shape;
} tx_aot_step;

typedef struct tx_aot_func {
    const char *name;        /* the exported C symbol */
    int nsizes;              /* int64_t arguments first, checked against size_value */
    const char **size_name;
    int64_t *size_value;
    bool *size_runtime;      /* per size: not specialised (size-generic): any value >= 1,
                                passed to generic kernels (symbol k = size k) */
    int nequal;              /* run-time sizes that must be equal: equal[q][0] == equal[q][1] */
    int (*equal)[2];
    const char **equal_why;  /* per pair: where the def needs it ("model.tx:3:12") */
    int nparams, nresults;   /* then nparams const pointers, then nresults pointers */
    tx_aot_slot *slots;
    int nslots;
    tx_aot_step *steps;
    int nsteps;
} tx_aot_func;

/* (codegen/jit.c) Loop scheduling as the JIT applies it with its default
 * options (ir/lir_sched.c: loop order, register tiles of width jam_width
 * -- the JIT's is 16 with AVX-512, 8 with AVX, 4 otherwise, 0 below -O2 --
 * and parallel loops on libtxrt's thread pool). */
void tx_cg_schedule_default(tx_lir_func *f, int opt_level, int jam_width);

typedef struct tx_aot tx_aot;

/* Start a module named name for cpu: NULL, "" or "host"/"native" = the host
 * CPU with its features; "generic" = the baseline of the host's
 * architecture (x86-64: SSE2); anything else an LLVM CPU name such as
 * "x86-64-v3" or "znver4" with its default features.  Vector math
 * (libmvec) follows the CPU as for the JIT: AVX2 or AVX-512 at -O2 and up.
 * NULL after an error in d (an unknown CPU name). */
tx_aot *tx_aot_new(const char *name, const char *cpu, int opt_level, tx_diags *d);
void tx_aot_free(tx_aot *m);
/* Add the exported function f (its kernels are scheduled in place, and
 * temporaries with disjoint lifetimes are merged in f's steps). */
bool tx_aot_add(tx_aot *m, tx_aot_func *f, tx_diags *d);

typedef enum { TX_AOT_OBJECT, TX_AOT_ASM, TX_AOT_LLVM } tx_aot_output;
/* Optimise the module (once) and write it to path. */
bool tx_aot_write(tx_aot *m, const char *path, tx_aot_output kind, tx_diags *d);

#endif
