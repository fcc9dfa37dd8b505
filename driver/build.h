/*
 * build.h -- `txc build`: ahead-of-time compilation of every `def` of a
 * .tx file to an object file, a shared library, LLVM IR or assembly, with
 * a C header (driver/build.c; the LLVM side is codegen/aot.c).
 */
#ifndef TX_BUILD_H
#define TX_BUILD_H

/* Run `txc build` with the command line of main (argv[1] is "build").
 * Returns the exit status: 0 ok, 1 compile error, 2 misuse, 3 failure to
 * write or link the output. */
int tx_build_main(int argc, char **argv);

#endif
