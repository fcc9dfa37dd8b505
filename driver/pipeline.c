/*
 * pipeline.c -- parse, check, lower and statically check one unit.
 */
#include "driver/pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/sema.h"

bool tx_unit_compile(tx_unit *u, const char *name, const char *text, uint32_t len, tx_interp *in) {
    memset(u, 0, sizeof *u);
    u->arena = tx_arena_new(0);
    u->src = tx_source_new(u->arena, name, text, len);
    tx_diags_init(&u->diags, u->arena, u->src);

    u->ast = tx_parse(u->arena, u->src, &u->diags);
    if (u->diags.nerr) return false;
    tx_sema_outer outer_storage, *outer = NULL;
    if (in) {
        tx_sema_outer_from_interp(&outer_storage, in);
        outer = &outer_storage;
    }
    tx_sema(u->arena, u->ast, outer, &u->diags);
    if (u->diags.nerr) return false;
    /* earlier REPL units: their functions, and their values (a let of an
     * earlier unit folds into a constant subscript of this one) */
    tx_lookup lk, *lkp = NULL;
    if (in) {
        lk = tx_interp_lookup(in);
        lkp = &lk;
    }
    u->tir = tx_lower_with(u->arena, u->ast, in ? tx_interp_functions(in) : NULL, lkp, &u->diags);
    if (u->diags.nerr || !u->tir) return false;
    tx_tir_check(u->tir, lkp, &u->diags);
    return u->diags.nerr == 0;
}

void tx_unit_free(tx_unit *u) {
    tx_arena_free(u->arena);
    memset(u, 0, sizeof *u);
}

char *tx_read_file(const char *path, uint32_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n == cap) {
            if (cap >= (size_t)1 << 30) { /* 1 GiB of source is not a program */
                free(buf);
                fclose(f);
                errno = EFBIG;
                return NULL;
            }
            cap *= 2;
            buf = realloc(buf, cap);
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        errno = EIO;
        return NULL;
    }
    *len = (uint32_t)n;
    return buf;
}
