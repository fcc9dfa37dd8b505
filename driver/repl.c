/*
 * repl.c -- read, check, run, print.
 *
 * Input is collected line by line until every bracket opened in it is
 * closed (a `def` or `for` body spans lines that way); the collected text
 * is compiled as one unit against the session's interpreter, so names and
 * defs persist.  A bare expression is bound to "_" by lowering and printed
 * here.  Each unit's arena is kept until the session ends, because the
 * interpreter refers to the functions defined in it.
 */
#include "driver/repl.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "driver/pipeline.h"
#include "driver/render.h"
#include "ir/interp.h"

/* Net count of open brackets in text, ignoring strings and comments. */
static int open_brackets(const char *s, size_t n) {
    int depth = 0;
    bool str = false, comment = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (comment) {
            if (c == '\n') comment = false;
        } else if (str) {
            if (c == '\\' && i + 1 < n) i++;
            else if (c == '"' || c == '\n') str = false;
        } else if (c == '#') comment = true;
        else if (c == '"') str = true;
        else if (c == '(' || c == '[' || c == '{') depth++;
        else if (c == ')' || c == ']' || c == '}') depth--;
    }
    return depth;
}

typedef struct session {
    tx_interp *in;
    FILE *out;
    tx_arena **arenas;
    int narenas, cap;
    int last_status;
    int counter;
} session;

static void keep_arena(session *s, tx_arena *a) {
    if (s->narenas == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->arenas = realloc(s->arenas, (size_t)s->cap * sizeof *s->arenas);
    }
    s->arenas[s->narenas++] = a;
}

static void run_text(session *s, const char *text, size_t len) {
    char name[32];
    snprintf(name, sizeof name, "<repl:%d>", ++s->counter);
    tx_unit u;
    txrt_tensor *prev = tx_interp_get(s->in, "_");
    if (prev) txrt_retain(prev);
    int rc = 0;
    if (!tx_unit_compile(&u, name, text, (uint32_t)len, s->in)) {
        rc = 1;
    } else {
        rc = tx_interp_run(s->in, u.tir, &u.diags);
        txrt_tensor *now = tx_interp_get(s->in, "_");
        if (rc == 0 && now && now != prev) {
            txrt_print(s->out, now);
            fputc('\n', s->out);
        }
    }
    if (prev) txrt_release(prev);
    fflush(s->out);
    tx_render_diags(stderr, &u.diags);
    if (rc) s->last_status = rc;
    keep_arena(s, u.arena);
}

static void session_end(session *s) {
    tx_interp_free(s->in);
    for (int i = 0; i < s->narenas; i++) tx_arena_free(s->arenas[i]);
    free(s->arenas);
}

/* Non-interactive: statements from a pipe or file, no prompts. */
static int repl_batch(session *s, FILE *in) {
    char *line = NULL, *buf = NULL;
    size_t cap = 0, n = 0, bcap = 0;
    ssize_t k;
    while ((k = getline(&line, &cap, in)) > 0) {
        if (n == 0 && (strncmp(line, ":quit", 5) == 0 || strncmp(line, ":q\n", 3) == 0)) break;
        if (n + (size_t)k + 1 > bcap) {
            bcap = 2 * (n + (size_t)k + 1);
            buf = realloc(buf, bcap);
        }
        memcpy(buf + n, line, (size_t)k);
        n += (size_t)k;
        buf[n] = 0;
        if (open_brackets(buf, n) > 0) continue;
        run_text(s, buf, n);
        n = 0;
    }
    if (n) run_text(s, buf, n);
    free(line);
    free(buf);
    return s->last_status;
}

static int repl_interactive(session *s) {
    char hist[4096] = "";
    const char *home = getenv("HOME");
    if (home) {
        snprintf(hist, sizeof hist, "%s/.txc_history", home);
        using_history();
        stifle_history(2000);
        read_history(hist);
    }
    printf("txc %s -- tensor expressions; :quit or Ctrl-D to leave\n", TXC_VERSION);
    char *buf = NULL;
    size_t n = 0;
    for (;;) {
        char *line = readline(n ? "... " : "tx> ");
        if (!line) break;
        if (n == 0 && (strcmp(line, ":quit") == 0 || strcmp(line, ":q") == 0)) {
            free(line);
            break;
        }
        if (*line) add_history(line);
        size_t k = strlen(line);
        buf = realloc(buf, n + k + 2);
        memcpy(buf + n, line, k);
        n += k;
        buf[n++] = '\n';
        buf[n] = 0;
        free(line);
        if (open_brackets(buf, n) > 0) continue;
        run_text(s, buf, n);
        n = 0;
    }
    free(buf);
    if (hist[0]) write_history(hist);
    putchar('\n');
    return 0;
}

int tx_repl(FILE *in, FILE *out) {
    session s = { 0 };
    s.in = tx_interp_new(out);
    s.out = out;
    int rc = isatty(fileno(in)) && in == stdin ? repl_interactive(&s) : repl_batch(&s, in);
    session_end(&s);
    return rc;
}
