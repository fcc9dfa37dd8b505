/*
 * arena.h -- bump allocation for compile-time data.
 *
 * Every AST, TIR and diagnostic node of one compilation unit (a script, or
 * one REPL statement) lives in one arena and dies with it, so error paths
 * never leak and no node needs a destructor.  Runtime tensors never live
 * here: they have explicit owners (runtime/txrt.h).
 */
#ifndef TX_ARENA_H
#define TX_ARENA_H

#include <stddef.h>

typedef struct tx_arena tx_arena;

tx_arena *tx_arena_new(size_t chunk_bytes);          /* 0 picks a default */
void     *tx_arena_alloc(tx_arena *a, size_t n);     /* zeroed, 16-byte aligned; aborts on OOM */
char     *tx_arena_strndup(tx_arena *a, const char *s, size_t n);
char     *tx_arena_strdup(tx_arena *a, const char *s);
char     *tx_arena_printf(tx_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Grow an arena-owned array: returns a new block of new_n elements holding
 * the first old_n elements of p (p may be NULL). */
void     *tx_arena_grow(tx_arena *a, void *p, size_t old_n, size_t new_n, size_t elem);
void      tx_arena_free(tx_arena *a);                /* NULL-safe */

#define TX_NEW(a, T) ((T *)tx_arena_alloc((a), sizeof(T)))
#define TX_NEWN(a, T, n) ((T *)tx_arena_alloc((a), sizeof(T) * (size_t)(n)))

/* Make room for one more element in an arena-owned array (arr, n, cap):
 * doubles cap (from 8) when the array is full. */
#define TX_ARENA_RESERVE(arena, arr, n, cap)                                          \
    do {                                                                              \
        if ((n) == (cap)) {                                                           \
            int nc_ = (cap) ? 2 * (cap) : 8;                                          \
            (arr) = tx_arena_grow((arena), (arr), (size_t)(cap), (size_t)nc_, sizeof *(arr)); \
            (cap) = nc_;                                                              \
        }                                                                             \
    } while (0)

#endif
