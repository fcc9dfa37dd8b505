/*
 * repl.h -- the interactive session: statements run as they are typed.
 */
#ifndef TX_REPL_H
#define TX_REPL_H

#include <stdio.h>

/* Runs until end of input or :quit.  Interactive (line editing, history,
 * prompts) when `in` is a terminal; otherwise reads statements from `in`
 * silently, printing only outputs and diagnostics.  Returns the exit
 * status: 0, or the status of the last failing statement when not
 * interactive (so scripted sessions can detect errors). */
int tx_repl(FILE *in, FILE *out);

#endif
