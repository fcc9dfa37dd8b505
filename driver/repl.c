/*
 * repl.c -- the interactive session: read, check, run, print.
 *
 * Input is collected line by line until every bracket opened in it is
 * closed (a `def` or `for` body spans lines that way; the prompt becomes
 * "... " meanwhile).  The collected text is one unit: it is compiled
 * against the session's interpreter (earlier names, lets and defs are in
 * scope), its contractions are planned (ir/plan.h: now where the checker
 * knows the sizes, otherwise when the statement runs), and it is run
 * through the LLVM JIT unless `:backend interp` chose the reference
 * evaluator: the same pipeline as `txc run`.  When the unit's last
 * statement is a bare expression, lowering binds its value to "_" and it
 * is printed here (numpy-style, large tensors abbreviated by the runtime
 * printer); a trailing ';' keeps it quiet, as in Julia.  Diagnostics are
 * rendered with the typed line and a caret; the unit is named "<repl:N>"
 * after its number in the session.  An error ends only its unit: a
 * compile error changes nothing, and after a runtime error the names bound
 * before the failing statement keep their new values.
 *
 * Lines that start with ':' (at the start of a statement) are meta
 * commands (:help lists them).  :ir, :plan and :llvm compile a statement
 * against the session without running it.
 *
 * Memory: a unit's arena is freed after it runs, except when it defined
 * functions, which the interpreter keeps pointers to (until :reset).
 *
 * Interactive mode (stdin a terminal): libedit line editing, history in
 * ~/.txc_history (bounded to HISTORY_MAX lines, written after every line so
 * an aborted session keeps it; no history when HOME is unset), tab
 * completion of variables, functions, builtins, keywords and meta commands
 * (file names after :load/:save and inside strings).  Ctrl-C at the
 * prompt discards the line (and any open continuation); Ctrl-C while a
 * statement runs ends the process with a message and exit status 130,
 * because the evaluator and JIT code cannot be stopped safely half way.
 * Ctrl-D (at an empty prompt) and :quit leave.
 *
 * Non-interactive mode: statements are read from the stream without
 * prompts, banner or echo; only values, print output, diagnostics (on
 * stderr) and meta command output appear.  The exit status is 0, or the
 * status of the last thing that failed (1 compile error, 2 meta command
 * misuse, 3 runtime error).
 */
#include "driver/repl.h"
#include "txrt_linalg.h"

#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <editline/readline.h>

#include "codegen/codegen.h"
#include "driver/pipeline.h"
#include "driver/render.h"
#include "frontend/builtins.h"
#include "frontend/sema.h"
#include "ir/blas.h"
#include "ir/interp.h"
#include "ir/plan.h"

#ifndef TXC_VERSION
#define TXC_VERSION "0.0.0"
#endif

#define HISTORY_MAX 1000          /* lines kept in ~/.txc_history */

enum { ST_OK = 0, ST_COMPILE = 1, ST_USAGE = 2, ST_RUNTIME = 3 };

/* ---- growable text ---------------------------------------------------------------- */

typedef struct strbuf {
    char *p;
    size_t n, cap;
} strbuf;

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n);
    if (!p) {
        fputs("txc: out of memory\n", stderr);
        abort();
    }
    return p;
}

static void sb_add(strbuf *b, const char *s, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        b->p = xrealloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void sb_puts(strbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void sb_clear(strbuf *b) {
    b->n = 0;
    if (b->p) b->p[0] = 0;
}

static void sb_free(strbuf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

static double now_sec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const char *skip_blanks(const char *p) {
    while (*p == ' ' || *p == '\t' || *p == '\r') p++;
    return p;
}

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

/* True when text holds nothing but blanks and comments. */
static bool is_blank(const char *s, size_t n) {
    bool comment = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (comment) {
            if (c == '\n') comment = false;
        } else if (c == '#') comment = true;
        else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
    }
    return true;
}

/* ---- the session ---------------------------------------------------------------- */

typedef struct session {
    tx_interp *in;
    FILE *out;              /* values, print output, meta command output */
    bool interactive;
    bool time;              /* :time on */
    bool use_jit;           /* :backend jit (the default) */
    tx_jit *jit;            /* created on first use */
    tx_blas *blas;          /* BLAS dispatch in front of the JIT (ir/blas.h) */
    bool jit_failed;        /* LLVM cannot target this host: evaluator only */
    tx_plan_opts plan_opts;
    tx_plan_runtime *planner;   /* plans statements whose sizes are known only when they run */
    tx_arena **arenas;      /* units that registered functions */
    int narenas, caparenas;
    strbuf saved;           /* statements that ran without error, for :save */
    int nsaved;
    int counter;            /* units compiled: "<repl:N>" */
    int last_status;
    bool quit;
} session;

static tx_jit *session_jit(session *s) {
    if (!s->jit && !s->jit_failed) {
        txrt_blas_quiet_workers();   /* as txc run does */
        s->jit = tx_jit_new(3, NULL);
        if (!s->jit) {
            s->jit_failed = true;
            fputs("txc: note: the LLVM JIT cannot target this machine; "
                  "statements run on the reference evaluator\n", stderr);
        }
    }
    return s->jit;
}

static void install_backend(session *s) {
    tx_jit *j = s->use_jit ? session_jit(s) : NULL;
    if (j) {
        /* pairwise contractions of BLAS shape go to BLAS, the rest to the JIT */
        tx_def_backend b = tx_jit_backend(j);
        if (!s->blas) s->blas = tx_blas_new(&b);
        tx_blas_set_tiled_loops(s->blas, tx_jit_lane_bytes(j) >= 64);   /* measured with AVX-512 tiles */
        b = tx_blas_backend(s->blas);
        tx_interp_set_backend(s->in, &b);
        /* fusion as in txc run, except that every name the session binds
         * stays materialised (a later input may read it): temporaries and
         * sibling reductions still share passes */
        tx_group_backend gb = tx_jit_group_backend(j);
        tx_interp_set_group_backend(s->in, &gb);
    } else {
        tx_interp_set_backend(s->in, NULL);
        tx_interp_set_group_backend(s->in, NULL);
    }
    tx_def_rewriter rw = tx_plan_rewriter(s->planner);
    tx_interp_set_rewriter(s->in, &rw);
}

static void session_init(session *s, FILE *out, bool interactive) {
    memset(s, 0, sizeof *s);
    s->out = out;
    s->interactive = interactive;
    s->use_jit = true;
    s->in = tx_interp_new(out);
    tx_plan_opts_default(&s->plan_opts);
    s->planner = tx_plan_runtime_new(&s->plan_opts, NULL, NULL);
}

/* Forget every variable, function and saved statement (the JIT and its
 * kernel cache stay: kernels are keyed by their full text). */
static void session_clear(session *s) {
    tx_interp_free(s->in);
    for (int i = 0; i < s->narenas; i++) tx_arena_free(s->arenas[i]);
    free(s->arenas);
    s->arenas = NULL;
    s->narenas = s->caparenas = 0;
    sb_free(&s->saved);
    s->nsaved = 0;
    s->in = NULL;
}

static void session_end(session *s) {
    session_clear(s);
    tx_plan_runtime_free(s->planner);
    s->planner = NULL;
    tx_jit_free(s->jit);
    s->jit = NULL;
    tx_blas_free(s->blas);
    s->blas = NULL;
}

static void keep_arena(session *s, tx_arena *a) {
    if (s->narenas == s->caparenas) {
        s->caparenas = s->caparenas ? 2 * s->caparenas : 16;
        s->arenas = xrealloc(s->arenas, (size_t)s->caparenas * sizeof *s->arenas);
    }
    s->arenas[s->narenas++] = a;
}

static void fail(session *s, int status) {
    if (status) s->last_status = status;
}

/* Should the unit's value be shown?  Its last statement is a bare
 * expression whose value lowering bound to "_", not followed by ';'. */
static bool shows_value(const tx_unit *u) {
    const tx_ast_program *p = u->ast;
    const tx_tir_program *t = u->tir;
    if (!p || !t || p->nstmts == 0 || t->nstmts == 0) return false;
    const tx_ast_stmt *st = p->stmts[p->nstmts - 1];
    if (st->kind != TX_AST_EXPR) return false;
    const tx_tir_stmt *ts = t->stmts[t->nstmts - 1];
    bool binds = (ts->kind == TX_TIR_DEF && ts->out && strcmp(ts->out, "_") == 0) ||
                 (ts->kind == TX_TIR_CALL && ts->nresults == 1 && strcmp(ts->results[0], "_") == 0);
    if (!binds) return false;
    const char *text = u->src->text;
    for (uint32_t i = st->span.hi; i < u->src->len; i++) {
        char c = text[i];
        if (c == ';') return false;
        if (c != ' ' && c != '\t' && c != '\r') break;
    }
    return true;
}

static void print_time(double front, bool ran, double run, const tx_jit_stats *a, const tx_jit_stats *b) {
    if (!ran) {
        fprintf(stderr, "time: front end %.3f ms (not run)\n", 1e3 * front);
        return;
    }
    fprintf(stderr, "time: front end %.3f ms, run %.3f ms", 1e3 * front, 1e3 * run);
    if (a && b) {
        int nc = b->ncompiled - a->ncompiled, nh = b->ncache_hits - a->ncache_hits;
        int nd = b->ndeclined - a->ndeclined;
        fprintf(stderr, " (jit: %d kernel%s compiled in %.3f ms, %d from cache, kernels ran %.3f ms",
                nc, nc == 1 ? "" : "s", b->compile_ms - a->compile_ms, nh, b->run_ms - a->run_ms);
        if (nd) fprintf(stderr, ", %d definition%s left to the evaluator", nd, nd == 1 ? "" : "s");
        fputc(')', stderr);
    } else {
        fputs(" (reference evaluator)", stderr);
    }
    fputc('\n', stderr);
}

/* Compile text as one unit named `name` and run it into the session.
 * show: print the value of a final bare expression.  `note` (may be NULL)
 * is a comment line written before the text in :save's record.  Returns
 * the status (0, 1 or 3). */
static int run_source(session *s, const char *name, const char *text, size_t len, bool show,
                      const char *note) {
    if (len > UINT32_MAX - 1) {
        fprintf(stderr, "txc: input too long (%zu bytes)\n", len);
        fail(s, ST_USAGE);
        return ST_USAGE;
    }
    install_backend(s);
    tx_jit *j = s->use_jit ? s->jit : NULL;
    tx_jit_stats st0, st1;
    if (j) tx_jit_get_stats(j, &st0);
    double t0 = now_sec();
    tx_unit u;
    int rc = ST_OK;
    bool ok = tx_unit_compile(&u, name, text, (uint32_t)len, s->in);
    bool value = ok && show && shows_value(&u);   /* before planning rewrites the statements */
    if (ok) tx_plan_program(u.arena, u.tir, &s->plan_opts, NULL);
    double t1 = now_sec(), t2 = t1;
    if (!ok) {
        rc = ST_COMPILE;
    } else {
        rc = tx_interp_run(s->in, u.tir, &u.diags);
        t2 = now_sec();
        if (rc == ST_OK && value) {
            txrt_tensor *v = tx_interp_get(s->in, "_");
            if (v) {
                txrt_print(s->out, v);
                fputc('\n', s->out);
            }
        }
    }
    fflush(s->out);
    tx_render_diags(stderr, &u.diags);
    if (s->time) {
        if (j) tx_jit_get_stats(j, &st1);
        print_time(t1 - t0, ok, t2 - t1, j ? &st0 : NULL, j ? &st1 : NULL);
    }
    if (rc) {
        fail(s, rc);
    } else {
        if (note) sb_puts(&s->saved, note);
        sb_add(&s->saved, text, len);
        if (len && text[len - 1] != '\n') sb_puts(&s->saved, "\n");
        s->nsaved++;
    }
    /* plans kept for the statements run point into the unit */
    tx_plan_runtime_forget(s->planner);
    /* the interpreter keeps pointers into the functions a unit defined */
    if (ok && u.tir->nfuncs > 0) keep_arena(s, u.arena);
    else tx_unit_free(&u);
    return rc;
}

static void run_statement(session *s, const char *text, size_t len) {
    char name[32];
    snprintf(name, sizeof name, "<repl:%d>", ++s->counter);
    run_source(s, name, text, len, true, NULL);
}

/* ---- meta commands ---------------------------------------------------------------- */

typedef struct meta_cmd {
    const char *name;       /* without the ':' */
    const char *args;       /* for :help */
    const char *help;
    int (*fn)(session *s, const char *arg);
    bool stmt;              /* the argument is a statement (may span lines) */
} meta_cmd;

static int cmd_help(session *s, const char *arg);
static int cmd_vars(session *s, const char *arg);
static int cmd_ir(session *s, const char *arg);
static int cmd_plan(session *s, const char *arg);
static int cmd_llvm(session *s, const char *arg);
static int cmd_time(session *s, const char *arg);
static int cmd_backend(session *s, const char *arg);
static int cmd_load(session *s, const char *arg);
static int cmd_save(session *s, const char *arg);
static int cmd_reset(session *s, const char *arg);
static int cmd_quit(session *s, const char *arg);

static const meta_cmd meta_cmds[] = {
    { "help", "", "this text", cmd_help, false },
    { "vars", "", "variables (dtype, shape, bytes) and functions", cmd_vars, false },
    { "ir", "STMT", "the tensor IR of STMT, without running it", cmd_ir, true },
    { "plan", "STMT", "the planner's contraction order and costs, without running", cmd_plan, true },
    { "llvm", "STMT", "the LLVM IR the JIT compiles for STMT, without running it", cmd_llvm, true },
    { "time", "on|off", "print compile and run times after each statement", cmd_time, false },
    { "backend", "jit|interp", "run definitions through the LLVM JIT or the reference evaluator",
      cmd_backend, false },
    { "load", "FILE.tx", "run a script into the session", cmd_load, false },
    { "save", "FILE.tx", "write the statements that ran without error to a file", cmd_save, false },
    { "reset", "", "forget every variable and function", cmd_reset, false },
    { "quit", "", "leave (also Ctrl-D)", cmd_quit, false },
    { NULL, NULL, NULL, NULL, false },
};

static int usage(const char *cmd, const char *args) {
    fprintf(stderr, "txc: usage: :%s %s\n", cmd, args);
    return ST_USAGE;
}

/* A file name argument: surrounding quotes are optional. */
static const char *file_arg(const char *arg, char *buf, size_t n) {
    size_t len = strlen(arg);
    if (len >= 2 && arg[0] == '"' && arg[len - 1] == '"') {
        snprintf(buf, n, "%.*s", (int)(len - 2), arg + 1);
        return buf;
    }
    return arg;
}

static int cmd_help(session *s, const char *arg) {
    (void)arg;
    FILE *f = s->out;
    fputs("Statements run as you type them; names, lets and defs persist.\n"
          "A bare expression prints its value (kept in _); end it with ';' to stay quiet.\n"
          "Input continues on a '... ' prompt while a bracket or brace is open.\n\n",
          f);
    for (const meta_cmd *m = meta_cmds; m->name; m++) {
        char head[64];
        snprintf(head, sizeof head, ":%s %s", m->name, m->args);
        fprintf(f, "  %-22s %s\n", head, m->help);
    }
    fputs("\nKeys: Tab completes names, builtins and commands; Up/Down recall earlier lines\n"
          "(kept in ~/.txc_history); Ctrl-C discards the line being typed, and while a\n"
          "statement runs it ends the session; Ctrl-D on an empty line leaves.\n",
          f);
    return ST_OK;
}

static void fmt_bytes(char *buf, size_t n, double b) {
    static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        u++;
    }
    if (u == 0) snprintf(buf, n, "%.0f B", b);
    else snprintf(buf, n, "%.1f %s", b, unit[u]);
}

static void fmt_type(char *buf, size_t n, const txrt_tensor *t) {
    size_t k = (size_t)snprintf(buf, n, "%s", txrt_dtype_name(t->dtype));
    if (t->rank == 0) return;
    for (int i = 0; i < t->rank && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%c%lld", i ? ',' : '[', (long long)t->shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

typedef struct var_row {
    char *name;
    char type[96];
    char bytes[32];
    char value[64];
} var_row;

typedef struct var_rows {
    var_row *v;
    int n, cap;
    double total;
} var_rows;

static void collect_var(void *ctx, const char *name, const txrt_tensor *t) {
    var_rows *r = ctx;
    if (r->n == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 16;
        r->v = xrealloc(r->v, (size_t)r->cap * sizeof *r->v);
    }
    var_row *row = &r->v[r->n++];
    memset(row, 0, sizeof *row);
    row->name = strdup(name);
    fmt_type(row->type, sizeof row->type, t);
    double bytes = (double)t->size * (double)txrt_dtype_size(t->dtype);
    r->total += bytes;
    fmt_bytes(row->bytes, sizeof row->bytes, bytes);
    if (t->rank == 0) {
        double re, im;
        txrt_get(t, 0, &re, &im);
        txrt_format_scalar(row->value, sizeof row->value, t->dtype, re, im);
    }
}

static void sb_param(strbuf *b, const tx_tir_param *p) {
    sb_puts(b, p->name);
    if (p->ndims) {
        for (int i = 0; i < p->ndims; i++) {
            sb_puts(b, i ? "," : "[");
            if (p->dims[i].name) {
                sb_puts(b, p->dims[i].name);
            } else {
                char num[32];
                snprintf(num, sizeof num, "%lld", p->dims[i].value);
                sb_puts(b, num);
            }
        }
        sb_puts(b, "]");
    }
    if (p->dtype >= 0) {
        sb_puts(b, ": ");
        sb_puts(b, txrt_dtype_name((txrt_dtype)p->dtype));
    }
}

static int cmd_vars(session *s, const char *arg) {
    (void)arg;
    var_rows r = { 0 };
    tx_interp_each(s->in, collect_var, &r);
    const tx_tir_program *fp = tx_interp_functions(s->in);
    int nfuncs = fp ? fp->nfuncs : 0;
    if (r.n == 0 && nfuncs == 0) {
        fputs("(no variables)\n", s->out);
        return ST_OK;
    }
    int wn = 4, wt = 4, wb = 5;
    for (int i = 0; i < r.n; i++) {
        int a = (int)strlen(r.v[i].name), b = (int)strlen(r.v[i].type), c = (int)strlen(r.v[i].bytes);
        if (a > wn) wn = a;
        if (b > wt) wt = b;
        if (c > wb) wb = c;
    }
    if (r.n) {
        fprintf(s->out, "%-*s  %-*s  %*s  %s\n", wn, "name", wt, "type", wb, "bytes", "value");
        for (int i = 0; i < r.n; i++) {
            var_row *row = &r.v[i];
            if (row->value[0])
                fprintf(s->out, "%-*s  %-*s  %*s  %s\n", wn, row->name, wt, row->type, wb, row->bytes, row->value);
            else
                fprintf(s->out, "%-*s  %-*s  %*s\n", wn, row->name, wt, row->type, wb, row->bytes);
            free(row->name);
        }
        char tot[32];
        fmt_bytes(tot, sizeof tot, r.total);
        fprintf(s->out, "%d variable%s, %s\n", r.n, r.n == 1 ? "" : "s", tot);
    }
    free(r.v);
    for (int i = 0; i < nfuncs; i++) {
        const tx_tir_func *f = fp->funcs[i];
        if (!f) continue;
        strbuf b = { 0 };
        sb_puts(&b, "def ");
        sb_puts(&b, f->name);
        sb_puts(&b, "(");
        for (int k = 0; k < f->nparams; k++) {
            if (k) sb_puts(&b, ", ");
            sb_param(&b, &f->params[k]);
        }
        sb_puts(&b, ") -> ");
        if (f->nresults != 1) sb_puts(&b, "(");
        for (int k = 0; k < f->nresults; k++) {
            if (k) sb_puts(&b, ", ");
            sb_param(&b, &f->results[k]);
        }
        if (f->nresults != 1) sb_puts(&b, ")");
        fprintf(s->out, "%s\n", b.p);
        sb_free(&b);
    }
    return ST_OK;
}

/* Compile a statement for :ir / :llvm / :plan without running it.  Returns
 * false (diagnostics rendered, status recorded) when it does not compile. */
static bool compile_only(session *s, const char *text, tx_unit *u) {
    char name[32];
    snprintf(name, sizeof name, "<repl:%d>", ++s->counter);
    size_t len = strlen(text);
    bool ok = tx_unit_compile(u, name, text, (uint32_t)len, s->in);
    if (!ok) {
        tx_render_diags(stderr, &u->diags);
        fail(s, ST_COMPILE);
        tx_unit_free(u);
    }
    return ok;
}

static int cmd_ir(session *s, const char *arg) {
    if (!*arg) return usage("ir", "STMT");
    tx_unit u;
    if (!compile_only(s, arg, &u)) return ST_COMPILE;
    tx_tir_print(s->out, u.tir);
    tx_unit_free(&u);
    return ST_OK;
}

/* Types of the names a unit binds before a given statement, on top of the
 * session's variables: what the JIT would see when the unit runs. */
typedef struct local_types {
    const char **names;
    tx_varinfo *info;
    int n, cap;
    tx_lookup outer;
} local_types;

static bool local_get(void *self, const char *var, tx_varinfo *out) {
    local_types *lt = self;
    for (int i = lt->n - 1; i >= 0; i--)
        if (strcmp(lt->names[i], var) == 0) {
            *out = lt->info[i];
            return true;
        }
    return lt->outer.get(lt->outer.self, var, out);
}

static tx_varinfo *local_put(local_types *lt, const char *name, const tx_type *t) {
    if (lt->n == lt->cap) {
        lt->cap = lt->cap ? 2 * lt->cap : 16;
        lt->names = xrealloc(lt->names, (size_t)lt->cap * sizeof *lt->names);
        lt->info = xrealloc(lt->info, (size_t)lt->cap * sizeof *lt->info);
    }
    lt->names[lt->n] = name;
    memset(&lt->info[lt->n], 0, sizeof lt->info[lt->n]);
    lt->info[lt->n].type = *t;
    return &lt->info[lt->n++];
}

static int cmd_llvm(session *s, const char *arg) {
    if (!*arg) return usage("llvm", "STMT");
    tx_jit *j = session_jit(s);
    if (!j) {
        fputs("txc: :llvm needs the LLVM JIT, which cannot target this machine\n", stderr);
        fail(s, ST_USAGE);
        return ST_USAGE;
    }
    tx_unit u;
    if (!compile_only(s, arg, &u)) return ST_COMPILE;
    tx_plan_program(u.arena, u.tir, &s->plan_opts, NULL);   /* the steps the JIT compiles */
    local_types lt = { 0 };
    lt.outer = tx_interp_lookup(s->in);
    tx_lookup lk = { local_get, &lt };
    int rc = ST_OK, nshown = 0;
    const tx_tir_program *p = u.tir;
    for (int i = 0; i < p->nstmts && rc == ST_OK; i++) {
        tx_tir_stmt *st = p->stmts[i];
        if (st->kind == TX_TIR_CALL) {
            tx_type res[8];
            if (st->nresults > 8) break;
            if (!tx_tir_call_types(st, &lk, res, &u.diags)) rc = ST_COMPILE;
            else
                for (int k = 0; k < st->nresults; k++) local_put(&lt, st->results[k], &res[k]);
            continue;
        }
        if (st->kind == TX_TIR_FOR) {
            fprintf(s->out, "; for %s in ...: the kernels of a loop body are compiled when it runs "
                            "(txc emit FILE.tx --llvm shows them)\n", st->var);
            nshown++;
            continue;
        }
        if (st->kind != TX_TIR_DEF) continue;
        tx_tir_stmt *d = st;
        if (st->ellipsis) {
            d = tx_tir_expand_ellipsis_lk(u.arena, st, &lk, &u.diags);
            if (!d) {
                if (u.diags.nerr) rc = ST_COMPILE;
                break;
            }
        }
        tx_type t;
        if (!tx_tir_infer_ranges(d, &lk, &u.diags) || !tx_tir_def_type(d, &lk, &t, &u.diags)) {
            rc = ST_COMPILE;
            break;
        }
        fprintf(s->out, "; ---- %s\n", tx_tir_stmt_str(u.arena, st, NULL));
        nshown++;
        char *ir = tx_jit_emit_def(j, d, &t, &lk, TX_CG_EMIT_LLVM, &u.diags);
        if (ir) {
            fputs(ir, s->out);
            free(ir);
        } else {
            /* the JIT declines it: the evaluator runs it (not an error) */
            const tx_diag *g = u.diags.head;
            while (g && g->next) g = g->next;
            fprintf(s->out, "; not compiled by the JIT (the reference evaluator runs it)%s%s\n",
                    g ? ": " : "", g ? g->msg : "");
            tx_diags_init(&u.diags, u.arena, u.src);
        }
        if (st->accumulate) {
            tx_varinfo vi;
            if (lk.get(lk.self, st->out, &vi)) t = vi.type;
        }
        tx_varinfo *vi = local_put(&lt, st->out, &t);
        if (st->is_let && st->rhs && st->rhs->kind == TX_TIR_CONST && !st->rhs->is_complex) {
            vi->known = true;   /* a constant let can size an index later in the statement */
            vi->value = st->rhs->re;
        }
    }
    if (rc == ST_OK && nshown == 0 && u.diags.nerr == 0)
        fputs("; no tensor definitions to compile in this statement\n", s->out);
    fflush(s->out);
    tx_render_diags(stderr, &u.diags);
    if (rc) fail(s, rc);
    free(lt.names);
    free(lt.info);
    tx_plan_runtime_forget(s->planner);
    tx_unit_free(&u);
    return rc;
}

static int cmd_plan(session *s, const char *arg) {
    if (!*arg) return usage("plan", "STMT");
    tx_unit u;
    if (!compile_only(s, arg, &u)) return ST_COMPILE;
    tx_plan_report rep = { 0 };
    tx_plan_program(u.arena, u.tir, &s->plan_opts, &rep);
    int shown = 0;
    for (int i = 0; i < rep.n; i++) {
        if (rep.v[i]->status == TX_PLAN_NONE) continue;
        tx_plan_print_stmt(s->out, rep.v[i], u.src);
        shown++;
    }
    if (!shown) fputs("no contractions to plan in this statement\n", s->out);
    tx_unit_free(&u);
    return ST_OK;
}

static int on_off(session *s, const char *cmd, const char *arg, bool *flag, const char *what) {
    if (!*arg) {
        fprintf(s->out, "%s is %s\n", what, *flag ? "on" : "off");
        return ST_OK;
    }
    if (strcmp(arg, "on") == 0) *flag = true;
    else if (strcmp(arg, "off") == 0) *flag = false;
    else return usage(cmd, "on|off");
    return ST_OK;
}

static int cmd_time(session *s, const char *arg) {
    return on_off(s, "time", arg, &s->time, "timing");
}

static int cmd_backend(session *s, const char *arg) {
    if (!*arg) {
        fprintf(s->out, "backend: %s\n", s->use_jit && !s->jit_failed ? "jit" : "interp");
        return ST_OK;
    }
    if (strcmp(arg, "jit") == 0) s->use_jit = true;
    else if (strcmp(arg, "interp") == 0) s->use_jit = false;
    else return usage("backend", "jit|interp");
    return ST_OK;
}

static int cmd_load(session *s, const char *arg) {
    if (!*arg) return usage("load", "FILE.tx");
    char buf[4096];
    const char *path = file_arg(arg, buf, sizeof buf);
    uint32_t len = 0;
    char *text = tx_read_file(path, &len);
    if (!text) {
        fprintf(stderr, "txc: cannot read '%s': %s\n", path, strerror(errno));
        return ST_USAGE;
    }
    strbuf note = { 0 };
    sb_puts(&note, "# :load ");
    sb_puts(&note, path);
    sb_puts(&note, "\n");
    int rc = run_source(s, path, text, len, false, note.p);
    sb_free(&note);
    free(text);
    return rc;
}

static int cmd_save(session *s, const char *arg) {
    if (!*arg) return usage("save", "FILE.tx");
    char buf[4096];
    const char *path = file_arg(arg, buf, sizeof buf);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "txc: cannot write '%s': %s\n", path, strerror(errno));
        return ST_USAGE;
    }
    bool ok = fwrite(s->saved.p ? s->saved.p : "", 1, s->saved.n, f) == s->saved.n;
    ok = (fclose(f) == 0) && ok;
    if (!ok) {
        fprintf(stderr, "txc: cannot write '%s': %s\n", path, strerror(errno));
        return ST_USAGE;
    }
    if (s->interactive)
        fprintf(s->out, "(wrote %d statement%s to %s)\n", s->nsaved, s->nsaved == 1 ? "" : "s", path);
    return ST_OK;
}

static int cmd_reset(session *s, const char *arg) {
    (void)arg;
    session_clear(s);
    s->in = tx_interp_new(s->out);
    if (s->interactive) fputs("(session cleared)\n", s->out);
    return ST_OK;
}

static int cmd_quit(session *s, const char *arg) {
    (void)arg;
    s->quit = true;
    return ST_OK;
}


static const meta_cmd *find_meta(const char *name, size_t n) {
    static const struct { const char *alias, *name; } aliases[] = {
        { "q", "quit" }, { "exit", "quit" }, { "h", "help" }, { "?", "help" },
    };
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strlen(aliases[i].alias) == n && strncmp(aliases[i].alias, name, n) == 0) {
            name = aliases[i].name;
            n = strlen(name);
            break;
        }
    for (const meta_cmd *m = meta_cmds; m->name; m++)
        if (strlen(m->name) == n && strncmp(m->name, name, n) == 0) return m;
    return NULL;
}

static size_t meta_name_len(const char *p) {
    size_t n = 0;
    while (p[n] && p[n] != ' ' && p[n] != '\t' && p[n] != '\n' && p[n] != '\r') n++;
    return n;
}

/* Does the meta command starting at p (just after ':') take a statement? */
static bool meta_takes_stmt(const char *p) {
    const meta_cmd *m = find_meta(p, meta_name_len(p));
    return m && m->stmt;
}

/* Run the meta command in text (which starts with ':'). */
static void run_meta(session *s, const char *text) {
    const char *name = text + 1;
    size_t n = meta_name_len(name);
    const meta_cmd *m = find_meta(name, n);
    if (!m) {
        const char *best = NULL;
        int bestd = 3;
        char want[64];
        snprintf(want, sizeof want, "%.*s", (int)(n < 60 ? n : 60), name);
        for (const meta_cmd *c = meta_cmds; c->name; c++) {
            int d = tx_sema_edit_distance(want, c->name);
            if (d < bestd) {
                bestd = d;
                best = c->name;
            }
        }
        fprintf(stderr, "txc: unknown command ':%s'", want);
        if (best) fprintf(stderr, " (did you mean ':%s'?)", best);
        fputs("; :help lists the commands\n", stderr);
        fail(s, ST_USAGE);
        return;
    }
    /* the argument: the rest, blanks trimmed at both ends */
    const char *a = name + n;
    while (*a == ' ' || *a == '\t') a++;
    size_t len = strlen(a);
    while (len && (a[len - 1] == '\n' || a[len - 1] == '\r' || a[len - 1] == ' ' || a[len - 1] == '\t')) len--;
    char *arg = malloc(len + 1);
    if (!arg) abort();
    memcpy(arg, a, len);
    arg[len] = 0;
    int rc = m->fn(s, arg);
    free(arg);
    fflush(s->out);
    fail(s, rc);
}

/* ---- input -------------------------------------------------------------------- */

/* Does the collected text need more lines? */
static bool needs_more(const char *t, size_t n) {
    const char *p = skip_blanks(t);
    if (*p == ':') return meta_takes_stmt(p + 1) && open_brackets(t, n) > 0;
    return open_brackets(t, n) > 0;
}

static void submit(session *s, const char *t, size_t n) {
    if (is_blank(t, n)) return;
    const char *p = skip_blanks(t);
    if (*p == ':') run_meta(s, p);
    else run_statement(s, t, n);
}

/* Non-interactive: statements from a pipe or file, no prompts. */
static int repl_batch(session *s, FILE *in) {
    char *line = NULL;
    size_t cap = 0;
    ssize_t k;
    strbuf acc = { 0 };
    while (!s->quit && (k = getline(&line, &cap, in)) > 0) {
        sb_add(&acc, line, (size_t)k);
        if (line[k - 1] != '\n') sb_puts(&acc, "\n");
        if (needs_more(acc.p, acc.n)) continue;
        submit(s, acc.p, acc.n);
        sb_clear(&acc);
    }
    if (!s->quit && acc.n) submit(s, acc.p, acc.n);   /* unclosed bracket at the end: its error */
    free(line);
    sb_free(&acc);
    return s->last_status;
}

/* ---- interactive: libedit, history, completion, Ctrl-C ------------------------------ */

static volatile sig_atomic_t g_reading;       /* waiting at the prompt */
static volatile sig_atomic_t g_interrupted;   /* Ctrl-C at the prompt */
static session *g_sess;                       /* for the completion callbacks */
static bool g_continuing;                     /* the prompt is "... " */

static void on_sigint(int sig) {
    (void)sig;
    if (g_reading) {
        g_interrupted = 1;
        return;
    }
    static const char msg[] = "\ntxc: interrupted while a statement was running; "
                              "a running statement cannot be stopped safely, so the session ends\n";
    ssize_t r = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)r;
    _exit(130);
}

/* libedit's key reader (rl_getc_function): one character, UTF-8 decoded to
 * a code point; EOF when Ctrl-C was pressed, which makes readline()
 * return NULL with g_interrupted set. */
static int read_key(FILE *f) {
    int fd = fileno(f);
    unsigned char buf[4];
    int have = 0, need = 0;
    for (;;) {
        if (g_interrupted) return EOF;
        unsigned char c;
        ssize_t k = read(fd, &c, 1);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return EOF;
        if (have > 0 && (c & 0xC0) != 0x80) have = 0;   /* broken sequence: start over */
        if (have == 0) {
            if (c < 0x80) return c;
            need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
            if (!need) continue;                          /* stray continuation byte */
            buf[have++] = c;
            continue;
        }
        buf[have++] = c;
        if (have < need) continue;
        int cp = buf[0] & (0x7F >> need);
        for (int i = 1; i < need; i++) cp = (cp << 6) | (buf[i] & 0x3F);
        return cp;
    }
}

/* Completion candidates: text and what it is. */
typedef struct cand {
    char *text;
    char kind;   /* 'v' variable, 'f' function, 'b' builtin, 'r' reduction, 'k' keyword, 'm' meta, 'w' word */
} cand;

static cand *g_cands;
static int g_ncands, g_capcands, g_iter;
static size_t g_headlen;   /* the part of the word before the completed name */

static void add_cand(const char *text, char kind) {
    if (g_ncands == g_capcands) {
        g_capcands = g_capcands ? 2 * g_capcands : 128;
        g_cands = xrealloc(g_cands, (size_t)g_capcands * sizeof *g_cands);
    }
    g_cands[g_ncands].text = strdup(text);
    g_cands[g_ncands].kind = kind;
    g_ncands++;
}

static void clear_cands(void) {
    for (int i = 0; i < g_ncands; i++) free(g_cands[i].text);
    g_ncands = 0;
}

static int cand_cmp(const void *a, const void *b) {
    return strcmp(((const cand *)a)->text, ((const cand *)b)->text);
}

static void sort_cands(void) {
    qsort(g_cands, (size_t)g_ncands, sizeof *g_cands, cand_cmp);
    int n = 0;
    for (int i = 0; i < g_ncands; i++) {
        if (n && strcmp(g_cands[n - 1].text, g_cands[i].text) == 0) {
            free(g_cands[i].text);
            continue;
        }
        g_cands[n++] = g_cands[i];
    }
    g_ncands = n;
}

static void add_var_cand(void *ctx, const char *name, const txrt_tensor *t) {
    (void)ctx;
    (void)t;
    add_cand(name, 'v');
}

static void code_cands(session *s) {
    static const char *const keywords[] = { "let", "def", "for", "in", "print", "assert", "index", "return" };
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++) add_cand(keywords[i], 'k');
    add_cand("prod", 'r');
    for (int i = 0; i < TX_B__COUNT; i++) {
        const char *n = tx_builtins[i].name;
        if (n[0] == '%') continue; /* internal */
        bool red = strcmp(n, "sum") == 0 || strcmp(n, "max") == 0 || strcmp(n, "min") == 0;
        add_cand(n, red ? 'r' : 'b');
    }
    tx_interp_each(s->in, add_var_cand, NULL);
    const tx_tir_program *fp = tx_interp_functions(s->in);
    for (int i = 0; fp && i < fp->nfuncs; i++)
        if (fp->funcs[i]) add_cand(fp->funcs[i]->name, 'f');
}

static char *cand_gen(const char *text, int state) {
    if (state == 0) g_iter = 0;
    const char *tail = text + g_headlen;
    size_t tl = strlen(tail);
    while (g_iter < g_ncands) {
        const cand *c = &g_cands[g_iter++];
        if (strncmp(c->text, tail, tl) != 0) continue;
        size_t n = strlen(c->text);
        char *m = malloc(g_headlen + n + 1);
        if (!m) return NULL;
        memcpy(m, text, g_headlen);
        memcpy(m + g_headlen, c->text, n + 1);
        return m;
    }
    return NULL;
}

static bool single_match(char **m) {
    return m && m[0] && (!m[1] || (!m[2] && strcmp(m[0], m[1]) == 0));
}

static char cand_kind(const char *text) {
    for (int i = 0; i < g_ncands; i++)
        if (strcmp(g_cands[i].text, text) == 0) return g_cands[i].kind;
    return 'w';
}

static char **complete_from_cands(const char *text) {
    sort_cands();
    char **m = rl_completion_matches(text, cand_gen);
    if (single_match(m)) {
        switch (cand_kind(m[0] + g_headlen)) {
        case 'b':
        case 'f': rl_completion_append_character = '('; break;
        case 'k':
        case 'm':
        case 'w': rl_completion_append_character = ' '; break;
        default: rl_completion_append_character = '\0'; break;
        }
    }
    return m;
}

/* File names; `close` is appended after a file (not a directory). */
static char **complete_file(const char *text, int close) {
    char **m = rl_completion_matches(text, rl_filename_completion_function);
    if (single_match(m)) {
        struct stat sb;
        bool dir = stat(m[0], &sb) == 0 && S_ISDIR(sb.st_mode);
        size_t n = strlen(m[0]);
        rl_completion_append_character = dir ? (n && m[0][n - 1] == '/' ? '\0' : '/') : close;
    }
    return m;
}

/* rl_attempted_completion_function: what to complete depends on where the
 * word is (meta command name, file name, or a name in code). */
static char **complete(const char *text, int start, int end) {
    (void)end;
    session *s = g_sess;
    rl_attempted_completion_over = 1;          /* never fall back to file names by itself */
    rl_completion_append_character = '\0';
    clear_cands();
    g_headlen = 0;
    const char *line = rl_line_buffer ? rl_line_buffer : "";
    int first = (int)(skip_blanks(line) - line);
    if (!g_continuing && line[first] == ':') {
        if (start <= first) {
            for (const meta_cmd *m = meta_cmds; m->name; m++) {
                char buf[64];
                snprintf(buf, sizeof buf, ":%s", m->name);
                add_cand(buf, 'm');
            }
            return complete_from_cands(text);
        }
        const char *name = line + first + 1;
        const meta_cmd *m = find_meta(name, meta_name_len(name));
        if (!m) return NULL;
        if (m->fn == cmd_load || m->fn == cmd_save) return complete_file(text, '\0');
        if (m->fn == cmd_time) {
            add_cand("on", 'w');
            add_cand("off", 'w');
            return complete_from_cands(text);
        }
        if (m->fn == cmd_backend) {
            add_cand("jit", 'w');
            add_cand("interp", 'w');
            return complete_from_cands(text);
        }
        if (!m->stmt) return NULL;
    }
    /* inside a string literal: a file name (load("...), save("...)) */
    bool str = false;
    for (int i = 0; i < start && line[i]; i++) {
        if (str && line[i] == '\\' && line[i + 1]) i++;
        else if (line[i] == '"') str = !str;
        else if (!str && line[i] == '#') return NULL;   /* in a comment */
    }
    if (str) return complete_file(text, '"');
    /* a name in code; '/', '.' and '-' are not word breaks (file names
     * need them), so complete only what follows the last of them */
    const char *tail = text;
    for (const char *q = text; *q; q++)
        if (*q == '/' || *q == '.' || *q == '-') tail = q + 1;
    g_headlen = (size_t)(tail - text);
    if (*tail >= '0' && *tail <= '9') return NULL;
    code_cands(s);
    return complete_from_cands(text);
}

static char *history_path(void) {
    const char *home = getenv("HOME");
    if (!home || !*home) return NULL;
    size_t n = strlen(home) + sizeof "/.txc_history";
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/.txc_history", home);
    return p;
}

static void remember(const char *line, const char *hist) {
    if (is_blank(line, strlen(line))) return;
    HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
    if (last && last->line && strcmp(last->line, line) == 0) return;
    add_history(line);
    if (hist) write_history(hist);   /* now, so an aborted session keeps it */
}

static int repl_interactive(session *s) {
    /* libedit needs the character set to edit non-ASCII text (strings,
     * comments); in the bare C locale use C.UTF-8, as Python does (PEP 538).
     * Only LC_CTYPE changes: number formatting stays as it is. */
    const char *loc = setlocale(LC_CTYPE, "");
    if (!loc || strcmp(loc, "C") == 0 || strcmp(loc, "POSIX") == 0) setlocale(LC_CTYPE, "C.UTF-8");
    char *hist = history_path();
    g_sess = s;
    rl_readline_name = "txc";
    rl_getc_function = read_key;                  /* before the first libedit call */
    rl_attempted_completion_function = complete;
    rl_basic_word_break_characters = " \t\n\"'`@$><=;|&{}()[],+*^%!#";
    rl_completion_query_items = 200;
    /* libedit's own signal handling would put the terminal in cooked mode
     * and re-send SIGINT to the whole process group; ours is simpler: the
     * key reader returns EOF and the loop below discards the line */
    rl_catch_signals = 0;
    using_history();
    stifle_history(HISTORY_MAX);
    if (hist) read_history(hist);

    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;                              /* no SA_RESTART: read() must see EINTR */
    sigaction(SIGINT, NULL, &old);

    printf("txc %s -- tensor statements run as you type them; :help for help, Ctrl-D to leave\n",
           TXC_VERSION);
    fflush(stdout);
    strbuf acc = { 0 };
    int empty_run = 0;
    bool eof = false;
    while (!s->quit) {
        g_continuing = acc.n > 0;
        g_interrupted = 0;
        sigaction(SIGINT, &sa, NULL);   /* again: a library may have replaced it meanwhile */
        g_reading = 1;
        char *line = readline(acc.n ? "... " : "tx> ");
        g_reading = 0;
        if (g_interrupted) {           /* Ctrl-C: drop the line and any continuation */
            free(line);
            fputs("^C\n", stdout);
            fflush(stdout);
            sb_clear(&acc);
            empty_run = 0;
            continue;
        }
        if (!line) {
            eof = true;
            break;
        }
        bool cont = acc.n > 0;
        remember(line, hist);
        sb_puts(&acc, line);
        sb_puts(&acc, "\n");
        /* two empty lines end a continuation that would not close (the
         * parser then says what is missing) */
        empty_run = cont && is_blank(line, strlen(line)) ? empty_run + 1 : 0;
        free(line);
        if (needs_more(acc.p, acc.n) && empty_run < 2) continue;
        submit(s, acc.p, acc.n);
        sb_clear(&acc);
        empty_run = 0;
    }
    sb_free(&acc);
    if (eof) putchar('\n');
    fflush(stdout);
    sigaction(SIGINT, &old, NULL);
    clear_cands();
    free(g_cands);
    g_cands = NULL;
    g_capcands = 0;
    free(hist);
    g_sess = NULL;
    return 0;
}

int tx_repl(FILE *in, FILE *out) {
    session s;
    bool interactive = in == stdin && isatty(fileno(in));
    session_init(&s, out, interactive);
    int rc = interactive ? repl_interactive(&s) : repl_batch(&s, in);
    session_end(&s);
    return rc;
}
