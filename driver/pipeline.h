/*
 * pipeline.h -- the front half of txc as one list of calls:
 *   source -> tx_parse -> tx_sema -> tx_lower -> tx_tir_check
 * shared by the command line and the REPL.
 */
#ifndef TX_PIPELINE_H
#define TX_PIPELINE_H

#include "frontend/diag.h"
#include "ir/tir.h"
#include "ir/interp.h"

typedef struct tx_unit {
    tx_arena *arena;           /* everything below lives here */
    tx_source *src;
    tx_diags diags;
    tx_ast_program *ast;
    tx_tir_program *tir;
} tx_unit;

/* Compile text into u (u->arena created here; free with tx_unit_free).
 * `in` (may be NULL) gives the names and values of an earlier session
 * (REPL).  Returns true when no error was found. */
bool tx_unit_compile(tx_unit *u, const char *name, const char *text, uint32_t len, tx_interp *in);
void tx_unit_free(tx_unit *u);

/* Read a whole file; NULL with errno set on failure.  *len gets its size. */
char *tx_read_file(const char *path, uint32_t *len);

#endif
