/*
 * render.h -- the only code that prints diagnostics.
 *
 *   model.tx:7:18: error: index 'k' has size 32 in B[k,j] but 64 in A[i,k]
 *     C[i,j] = A[i,k] * B[k,j]
 *                       ^~~~~~
 *     hint: ...
 */
#ifndef TX_RENDER_H
#define TX_RENDER_H

#include <stdio.h>

#include "frontend/diag.h"

void tx_render_diag(FILE *f, const tx_diag *g);
void tx_render_diags(FILE *f, const tx_diags *d);

#endif
