/*
 * target.c -- the host CPU: name and features, so generated code uses
 * AVX2/AVX-512 where the machine has them.
 */
#include "codegen/codegen.h"

#include <stdlib.h>
#include <string.h>

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

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
