/*
 * builtins.h -- the table of builtin callables (frontend/builtins.def).
 */
#ifndef TX_BUILTINS_H
#define TX_BUILTINS_H

#include <stdbool.h>

typedef enum { TX_BK_ELEM, TX_BK_CALL } tx_builtin_kind;

typedef enum {
#define TX_BUILTIN(id, name, lo, hi, nres, kw, kind) TX_B_##id,
#include "frontend/builtins.def"
#undef TX_BUILTIN
    TX_B__COUNT
} tx_builtin;

typedef struct tx_builtin_info {
    const char *name;
    int min_args, max_args;  /* max -1: any number */
    int nresults;
    const char *kwargs;      /* comma-separated allowed keyword names */
    tx_builtin_kind kind;
} tx_builtin_info;

extern const tx_builtin_info tx_builtins[TX_B__COUNT];

/* The builtin called `name` with nargs positional arguments, or -1.  Picks
 * MAX1/MIN1 (whole-tensor) or MAX2/MIN2 (elementwise) by nargs; with an
 * impossible count returns the first builtin of that name so the caller
 * can report the arity error against it. */
int tx_builtin_lookup(const char *name, int nargs);
bool tx_builtin_exists(const char *name);
bool tx_builtin_has_kwarg(int id, const char *kw);
/* Human text for arity errors: "1 argument", "2 or 3 arguments", "at least 1 argument". */
const char *tx_builtin_arity_str(int id, char *buf, int n);

#endif
