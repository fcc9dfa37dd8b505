/*
 * diag.h -- sources, spans and diagnostics as data.
 *
 * A span is a byte range [lo, hi) of one source.  Line and column are
 * computed only when a diagnostic is rendered (driver/render.c), from the
 * source's line map.  Library code (frontend/, ir/) never prints or exits:
 * it appends tx_diag records to a tx_diags list and returns.
 */
#ifndef TX_DIAG_H
#define TX_DIAG_H

#include <stdint.h>

#include "frontend/arena.h"

typedef struct tx_source {
    const char *name;      /* file name as the user gave it, or "<repl>" */
    const char *text;      /* NUL-terminated contents */
    uint32_t len;
    uint32_t *line_starts; /* byte offset of each line's first byte */
    uint32_t nlines;
} tx_source;

/* Copies text into the arena and builds the line map. */
tx_source *tx_source_new(tx_arena *a, const char *name, const char *text, uint32_t len);
/* 1-based line and column (column counts bytes) of byte offset off. */
void tx_source_linecol(const tx_source *s, uint32_t off, uint32_t *line, uint32_t *col);

typedef struct tx_span {
    uint32_t lo, hi; /* bytes [lo, hi) of the unit's source */
} tx_span;

static inline tx_span tx_span_join(tx_span a, tx_span b) {
    tx_span s = { a.lo < b.lo ? a.lo : b.lo, a.hi > b.hi ? a.hi : b.hi };
    return s;
}

/* TX_ERROR: a compile-time error (exit 1); TX_RUNTIME_ERROR: the program
 * failed while running (exit 3), rendered as "runtime error:". */
typedef enum { TX_NOTE, TX_WARNING, TX_ERROR, TX_RUNTIME_ERROR } tx_severity;

typedef struct tx_diag {
    tx_severity sev;
    const tx_source *src; /* the source the span points into */
    tx_span span;
    const char *msg;      /* arena-owned, formatted, no trailing newline */
    const char *hint;     /* "what to do", may be NULL */
    struct tx_diag *next;
} tx_diag;

typedef struct tx_diags {
    tx_diag *head, **tail;
    int nerr;             /* TX_ERROR and TX_RUNTIME_ERROR records */
    int nruntime;         /* TX_RUNTIME_ERROR records */
    int limit;            /* stop recording errors after this many (0 = 50) */
    tx_arena *arena;
    const tx_source *src; /* default source for new diagnostics */
} tx_diags;

void tx_diags_init(tx_diags *d, tx_arena *a, const tx_source *src);
tx_diag *tx_error(tx_diags *d, tx_span at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
tx_diag *tx_runtime_error(tx_diags *d, tx_span at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
tx_diag *tx_note(tx_diags *d, tx_span at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A warning: rendered like an error, does not fail the compilation. */
tx_diag *tx_warning(tx_diags *d, tx_span at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Forget every record (after rendering them). */
void tx_diags_clear(tx_diags *d);
/* Attach "what to do" text to a diagnostic (returned by tx_error). */
void tx_hint(tx_diags *d, tx_diag *g, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
