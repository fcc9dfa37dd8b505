/*
 * diag.c -- building sources and recording diagnostics.
 */
#include "frontend/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

tx_source *tx_source_new(tx_arena *a, const char *name, const char *text, uint32_t len) {
    tx_source *s = TX_NEW(a, tx_source);
    s->name = tx_arena_strdup(a, name);
    s->text = tx_arena_strndup(a, text, len);
    s->len = len;
    uint32_t n = 1;
    for (uint32_t i = 0; i < len; i++)
        if (text[i] == '\n') n++;
    s->line_starts = TX_NEWN(a, uint32_t, n);
    s->nlines = n;
    uint32_t k = 0;
    s->line_starts[k++] = 0;
    for (uint32_t i = 0; i < len; i++)
        if (text[i] == '\n') s->line_starts[k++] = i + 1;
    return s;
}

void tx_source_linecol(const tx_source *s, uint32_t off, uint32_t *line, uint32_t *col) {
    if (off > s->len) off = s->len;
    uint32_t lo = 0, hi = s->nlines; /* last line_start <= off */
    while (hi - lo > 1) {
        uint32_t mid = (lo + hi) / 2;
        if (s->line_starts[mid] <= off) lo = mid; else hi = mid;
    }
    *line = lo + 1;
    *col = off - s->line_starts[lo] + 1;
}

void tx_diags_init(tx_diags *d, tx_arena *a, const tx_source *src) {
    memset(d, 0, sizeof *d);
    d->tail = &d->head;
    d->arena = a;
    d->src = src;
    d->limit = 50;
}

static tx_diag *add(tx_diags *d, tx_severity sev, tx_span at, const char *fmt, va_list ap) {
    if (sev == TX_ERROR || sev == TX_RUNTIME_ERROR) {
        d->nerr++;
        if (sev == TX_RUNTIME_ERROR) d->nruntime++;
        if (d->limit && d->nerr > d->limit) return NULL;
    }
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    tx_diag *g = TX_NEW(d->arena, tx_diag);
    g->sev = sev;
    g->src = d->src;
    g->span = at;
    g->msg = tx_arena_strdup(d->arena, buf);
    *d->tail = g;
    d->tail = &g->next;
    return g;
}

tx_diag *tx_error(tx_diags *d, tx_span at, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    tx_diag *g = add(d, TX_ERROR, at, fmt, ap);
    va_end(ap);
    return g;
}

tx_diag *tx_runtime_error(tx_diags *d, tx_span at, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    tx_diag *g = add(d, TX_RUNTIME_ERROR, at, fmt, ap);
    va_end(ap);
    return g;
}

tx_diag *tx_note(tx_diags *d, tx_span at, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    tx_diag *g = add(d, TX_NOTE, at, fmt, ap);
    va_end(ap);
    return g;
}

tx_diag *tx_warning(tx_diags *d, tx_span at, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    tx_diag *g = add(d, TX_WARNING, at, fmt, ap);
    va_end(ap);
    return g;
}

void tx_diags_clear(tx_diags *d) {
    d->head = NULL;
    d->tail = &d->head;
    d->nerr = d->nruntime = 0;
}

void tx_hint(tx_diags *d, tx_diag *g, const char *fmt, ...) {
    if (!g) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    g->hint = tx_arena_strdup(d->arena, buf);
}
