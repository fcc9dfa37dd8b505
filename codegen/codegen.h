/*
 * codegen.h -- the public face of codegen/: opaque handles only, no LLVM
 * types.  Everything that includes llvm-c/ lives in this folder.
 */
#ifndef TX_CODEGEN_H
#define TX_CODEGEN_H

/* The host CPU as LLVM names it ("znver5") and its feature string
 * ("+avx512f,..."); strings owned by codegen, valid for the process. */
const char *tx_cg_host_cpu(void);
const char *tx_cg_host_features(void);

#endif
