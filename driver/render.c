/*
 * render.c -- diagnostics as text: "FILE:LINE:COL: error: MSG", the source
 * line indented by two spaces, a caret line under the span (clipped to the
 * end of the first line; tabs copied so the caret stays aligned), and the
 * hint, if any.
 */
#include "driver/render.h"

#include <string.h>

static const char *sev_name(tx_severity s) {
    switch (s) {
    case TX_NOTE: return "note";
    case TX_WARNING: return "warning";
    case TX_ERROR: return "error";
    case TX_RUNTIME_ERROR: return "runtime error";
    }
    return "error";
}

void tx_render_diag(FILE *f, const tx_diag *g) {
    const tx_source *s = g->src;
    if (!s) {
        fprintf(f, "%s: %s\n", sev_name(g->sev), g->msg);
        if (g->hint) fprintf(f, "  hint: %s\n", g->hint);
        return;
    }
    uint32_t line, col;
    tx_source_linecol(s, g->span.lo, &line, &col);
    fprintf(f, "%s:%u:%u: %s: %s\n", s->name, line, col, sev_name(g->sev), g->msg);

    uint32_t start = s->line_starts[line - 1];
    uint32_t end = start;
    while (end < s->len && s->text[end] != '\n' && s->text[end] != '\r') end++;
    /* show the line; non-printable bytes become '?' so the terminal stays sane */
    fputs("  ", f);
    for (uint32_t i = start; i < end; i++) {
        unsigned char c = (unsigned char)s->text[i];
        fputc(c == '\t' || c >= 0x20 ? c : '?', f);
    }
    fputc('\n', f);
    fputs("  ", f);
    for (uint32_t i = start; i < g->span.lo && i < end; i++)
        fputc(s->text[i] == '\t' ? '\t' : ' ', f);
    fputc('^', f);
    uint32_t hi = g->span.hi < end ? g->span.hi : end;
    for (uint32_t i = g->span.lo + 1; i < hi; i++) fputc('~', f);
    fputc('\n', f);
    if (g->hint) fprintf(f, "  hint: %s\n", g->hint);
}

void tx_render_diags(FILE *f, const tx_diags *d) {
    for (const tx_diag *g = d->head; g; g = g->next) tx_render_diag(f, g);
    if (d->limit && d->nerr > d->limit)
        fprintf(f, "txc: %d more errors not shown\n", d->nerr - d->limit);
}
