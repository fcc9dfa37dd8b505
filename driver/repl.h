/*
 * repl.h -- the interactive session: statements run as they are typed.
 */
#ifndef TX_REPL_H
#define TX_REPL_H

#include <stdio.h>

/* Runs until end of input or :quit.  Interactive when `in` is stdin and a
 * terminal: a banner, the prompts "tx> " and "... " (an open bracket or
 * brace continues the statement), libedit line editing, tab completion,
 * history in ~/.txc_history (none when HOME is unset), Ctrl-C discarding
 * the line at the prompt and ending the process (status 130, with a
 * message) while a statement runs.  Otherwise statements are read from
 * `in` silently: values and print output go to `out`, diagnostics to
 * stderr.  Returns the exit status: 0 when nothing failed, else the status
 * of the last failure (1 compile error, 2 meta command misuse, 3 runtime
 * error); interactive sessions return 0. */
int tx_repl(FILE *in, FILE *out);

#endif
