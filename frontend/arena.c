/*
 * arena.c -- a chain of chunks; allocation bumps a pointer in the newest
 * chunk, large requests get a chunk of their own.
 */
#include "frontend/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct chunk {
    struct chunk *prev;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} chunk;

struct tx_arena {
    chunk *head;
    size_t chunk_bytes;
};

static chunk *new_chunk(size_t cap) {
    chunk *c = malloc(sizeof(chunk) + cap);
    if (!c) {
        fputs("txc: out of memory (compiler arena)\n", stderr);
        abort();
    }
    c->prev = NULL;
    c->used = 0;
    c->cap = cap;
    return c;
}

tx_arena *tx_arena_new(size_t chunk_bytes) {
    tx_arena *a = calloc(1, sizeof *a);
    if (!a) {
        fputs("txc: out of memory (compiler arena)\n", stderr);
        abort();
    }
    a->chunk_bytes = chunk_bytes ? chunk_bytes : 64 * 1024;
    return a;
}

void *tx_arena_alloc(tx_arena *a, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    chunk *c = a->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > a->chunk_bytes ? n : a->chunk_bytes;
        chunk *nc = new_chunk(cap);
        if (c && n > a->chunk_bytes) {
            /* keep bumping in the current chunk: slot the big one behind it */
            nc->prev = c->prev;
            c->prev = nc;
            nc->used = n;
            memset(nc->data, 0, n);
            return nc->data;
        }
        nc->prev = c;
        a->head = c = nc;
    }
    void *p = c->data + c->used;
    c->used += n;
    memset(p, 0, n);
    return p;
}

char *tx_arena_strndup(tx_arena *a, const char *s, size_t n) {
    char *p = tx_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *tx_arena_strdup(tx_arena *a, const char *s) {
    return tx_arena_strndup(a, s, strlen(s));
}

char *tx_arena_printf(tx_arena *a, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    char *p = tx_arena_alloc(a, (size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

void *tx_arena_grow(tx_arena *a, void *p, size_t old_n, size_t new_n, size_t elem) {
    void *q = tx_arena_alloc(a, new_n * elem);
    if (p && old_n) memcpy(q, p, (old_n < new_n ? old_n : new_n) * elem);
    return q;
}

void tx_arena_free(tx_arena *a) {
    if (!a) return;
    for (chunk *c = a->head; c;) {
        chunk *prev = c->prev;
        free(c);
        c = prev;
    }
    free(a);
}
