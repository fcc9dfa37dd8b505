/*
 * builtins.c -- lookups over the builtin table.
 */
#include "frontend/builtins.h"

#include <stdio.h>
#include <string.h>

const tx_builtin_info tx_builtins[TX_B__COUNT] = {
#define TX_BUILTIN(id, nm, lo, hi, nres, kw, kd) { nm, lo, hi, nres, kw, TX_BK_##kd },
#include "frontend/builtins.def"
#undef TX_BUILTIN
};

int tx_builtin_lookup(const char *name, int nargs) {
    int first = -1;
    for (int i = 0; i < TX_B__COUNT; i++) {
        const tx_builtin_info *b = &tx_builtins[i];
        if (strcmp(b->name, name) != 0) continue;
        if (first < 0) first = i;
        if (nargs >= b->min_args && (b->max_args < 0 || nargs <= b->max_args)) return i;
    }
    return first;
}

bool tx_builtin_exists(const char *name) {
    return tx_builtin_lookup(name, 0) >= 0;
}

bool tx_builtin_has_kwarg(int id, const char *kw) {
    const char *p = tx_builtins[id].kwargs;
    size_t n = strlen(kw);
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncmp(p, kw, n) == 0) return true;
        if (!e) break;
        p = e + 1;
    }
    return false;
}

const char *tx_builtin_arity_str(int id, char *buf, int n) {
    const tx_builtin_info *b = &tx_builtins[id];
    /* max/min: one name, two arities */
    if (id == TX_B_MAX1 || id == TX_B_MAX2 || id == TX_B_MIN1 || id == TX_B_MIN2)
        snprintf(buf, n, "1 argument (whole tensor) or 2 (elementwise)");
    else if (b->max_args < 0)
        snprintf(buf, n, "at least %d argument%s", b->min_args, b->min_args == 1 ? "" : "s");
    else if (b->min_args == b->max_args)
        snprintf(buf, n, "%d argument%s", b->min_args, b->min_args == 1 ? "" : "s");
    else
        snprintf(buf, n, "%d or %d arguments", b->min_args, b->max_args);
    return buf;
}
