/*
 * sema.h -- name resolution and structural checks on the AST.
 *
 * tx_sema walks a parsed program once, in statement order, and decides
 * what every identifier is: a tensor, a let constant, a size name of a
 * def's signature, a for variable, an index of index notation, a user
 * function or a builtin.  It writes the answer into the tree (expr->sym for
 * NAME and ACCESS nodes and for the identifiers inside subscripts,
 * expr->builtin for CALL nodes) so that ir/lower.c never re-derives it.
 *
 * Everything that can be decided without shapes is checked here, and each
 * error is reported with its span and the analysis continues, so one run
 * reports every independent error of a unit: undefined names (with a
 * "did you mean" hint), use before definition, calls (unknown function,
 * arity, keywords, strings where tensors belong and back), tuple bindings,
 * left-hand sides of index notation, reductions over output indices, lets,
 * for, index declarations, def signatures and bodies, recursion.  Shapes,
 * dtypes and index ranges are the checker's (ir/check.c).
 *
 * The rules for names inside index notation (a statement whose target is
 * subscripted, or whose value contains a subscripted access or a
 * reduction):
 *   - an identifier on the left (X[i,j] = ...) is an output index;
 *   - an identifier inside a subscript on the right is an index unless it
 *     names a let, a size or a for variable (those are constants: A[n-1,j]);
 *     a tensor name used as a subscript is simply an index of that
 *     statement (indices are whatever is subscripted);
 *   - sum[k](...) binds k inside its body only;
 *   - a bare identifier used as a value is an index when it is one of the
 *     statement's indices (or one bound by an enclosing reduction, or named
 *     by an earlier `index` declaration); otherwise it must be a bound
 *     variable (a rank-0 value), else it is "not defined".
 * The arguments of a whole-tensor builtin or a user function call are
 * separate expressions, computed before the statement: they may not use
 * the statement's indices.
 *
 * Scopes: top-level names are visible from their definition on (a name
 * bound inside a for body stays visible after the loop, as in Python; the
 * for variable does not).  Defs are visible in the whole unit (calls may
 * precede the def).  A def body sees only its parameters, results (once
 * assigned), size names, names it binds itself, functions and builtins.
 */
#ifndef TX_SEMA_H
#define TX_SEMA_H

#include <stdbool.h>

#include "frontend/arena.h"
#include "frontend/ast.h"
#include "frontend/diag.h"

/* A name bound before this unit (an earlier REPL statement). */
typedef struct tx_sema_sym {
    const char *name;
    tx_sym_kind kind;        /* TX_SYM_TENSOR, TX_SYM_LET or TX_SYM_FUNC */
    int nparams, nresults;   /* TX_SYM_FUNC: the signature's arity */
    const char *params;      /* TX_SYM_FUNC: "Q, K, V" for messages (may be NULL) */
    const char *results;     /* TX_SYM_FUNC: "O" for messages (may be NULL) */
} tx_sema_sym;

/* The names of earlier units.  Either a fixed list (syms/nsyms, used by
 * tests) or callbacks (the REPL, see tx_sema_outer_from_interp); both may
 * be given, the list is searched first. */
typedef struct tx_sema_outer {
    const tx_sema_sym *syms;
    int nsyms;
    /* Fill *out and return true when `name` is bound; strings it returns
     * may be allocated in a. */
    bool (*lookup)(void *self, tx_arena *a, const char *name, tx_sema_sym *out);
    /* Call fn(ctx, name) for every bound name (for "did you mean" hints). */
    void (*each)(void *self, void (*fn)(void *ctx, const char *name), void *ctx);
    void *self;
} tx_sema_outer;

/* Check p in place.  outer (may be NULL) names what earlier REPL units
 * bound: those names may be used, and lets and defs may be redefined.
 * Returns true when no error was found; errors go to d. */
bool tx_sema(tx_arena *a, tx_ast_program *p, const tx_sema_outer *outer, tx_diags *d);

/* An outer scope that asks the interpreter of a REPL session for its bound
 * variables (as tensors) and registered functions.  Keeps a pointer to
 * `in`; no allocation.  Implemented in ir/sema_outer.c (the interpreter
 * lives in ir/, which frontend/ must not depend on).  Rank-0 variables are
 * reported as lets, so they can stand in subscripts as constants. */
struct tx_interp;
void tx_sema_outer_from_interp(tx_sema_outer *o, struct tx_interp *in);

/* Edit distance used for "did you mean" hints (Damerau-Levenshtein,
 * optimal string alignment); exposed for tests. */
int tx_sema_edit_distance(const char *a, const char *b);

#endif
