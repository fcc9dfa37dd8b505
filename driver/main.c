/*
 * main.c -- the txc command line.
 *
 *   txc run FILE.tx [--backend interp] [--time] [--threads N]
 *   txc check FILE.tx
 *   txc emit FILE.tx --tir
 *   txc [repl]
 *
 * Exit status: 0 success, 1 compile error, 2 command-line misuse,
 * 3 runtime error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "driver/pipeline.h"
#include "driver/render.h"
#include "driver/repl.h"
#include "ir/interp.h"
#include "txrt_linalg.h"

#ifndef TXC_VERSION
#define TXC_VERSION "0.0.0"
#endif

enum { EXIT_OK = 0, EXIT_COMPILE = 1, EXIT_USAGE = 2, EXIT_RUNTIME = 3 };

static const char usage[] =
    "usage: txc <command> [options]\n"
    "\n"
    "commands:\n"
    "  run FILE.tx      compile and run a script\n"
    "      --backend interp   run on the reference evaluator (the default for now)\n"
    "      --time             print compile and run times to stderr\n"
    "      --threads N        worker threads (accepted; the evaluator is single-threaded)\n"
    "  check FILE.tx    parse and check only\n"
    "  emit FILE.tx --tir   print the tensor IR\n"
    "  repl             interactive session (also: txc with no arguments)\n"
    "  --help           this text\n"
    "  --version        print the version\n"
    "\n"
    "exit status: 0 success, 1 compile error, 2 command-line misuse, 3 runtime error\n";

static int usage_error(const char *fmt, const char *arg) {
    fputs("txc: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs("\n(run 'txc --help' for usage)\n", stderr);
    return EXIT_USAGE;
}

static double now_sec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct options {
    const char *cmd;
    const char *file;
    const char *backend;
    bool time;
    bool tir;
    int threads;
} options;

static int parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->cmd = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--time") == 0) o->time = true;
        else if (strcmp(a, "--tir") == 0) o->tir = true;
        else if (strcmp(a, "--backend") == 0 || strcmp(a, "--threads") == 0) {
            if (i + 1 >= argc) return usage_error("option '%s' needs a value", a);
            const char *v = argv[++i];
            if (a[2] == 'b') {
                if (strcmp(v, "interp") != 0)
                    return usage_error("unknown backend '%s' (available: interp)", v);
                o->backend = v;
            } else {
                char *end;
                long n = strtol(v, &end, 10);
                if (*end || n < 1 || n > 1024)
                    return usage_error("--threads needs a whole number from 1 to 1024, not '%s'", v);
                o->threads = (int)n;
            }
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option '%s'", a);
        } else if (!o->file) {
            o->file = a;
        } else {
            return usage_error("unexpected argument '%s'", a);
        }
    }
    if (!o->file) return usage_error("'%s' needs a .tx file", o->cmd);
    return EXIT_OK;
}

static int cmd_file(const options *o) {
    uint32_t len = 0;
    char *text = tx_read_file(o->file, &len);
    if (!text) {
        fprintf(stderr, "txc: cannot read '%s': %s\n", o->file, strerror(errno));
        return EXIT_USAGE;
    }
    double t0 = now_sec();
    tx_unit u;
    bool ok = tx_unit_compile(&u, o->file, text, len, NULL);
    free(text);
    double t1 = now_sec();
    int rc = EXIT_OK;
    if (!ok) {
        tx_render_diags(stderr, &u.diags);
        rc = EXIT_COMPILE;
    } else if (strcmp(o->cmd, "emit") == 0) {
        tx_tir_print(stdout, u.tir);
    } else if (strcmp(o->cmd, "run") == 0) {
        tx_interp *in = tx_interp_new(stdout);
        rc = tx_interp_run(in, u.tir, &u.diags);
        fflush(stdout);
        tx_render_diags(stderr, &u.diags);
        tx_interp_free(in);
        if (o->time)
            fprintf(stderr, "txc: compile %.3f ms, run %.3f ms (backend interp)\n",
                    1e3 * (t1 - t0), 1e3 * (now_sec() - t1));
    }
    tx_unit_free(&u);
    return rc;
}

static int txc_main(int argc, char **argv) {
    if (argc < 2) return tx_repl(stdin, stdout);
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("txc %s\n", TXC_VERSION);
        return EXIT_OK;
    }
    if (strcmp(cmd, "repl") == 0) {
        if (argc > 2) return usage_error("repl takes no arguments (got '%s')", argv[2]);
        return tx_repl(stdin, stdout);
    }
    if (strcmp(cmd, "run") == 0 || strcmp(cmd, "check") == 0 || strcmp(cmd, "emit") == 0) {
        options o;
        int rc = parse_options(argc, argv, &o);
        if (rc) return rc;
        if (strcmp(cmd, "emit") == 0 && !o.tir)
            return usage_error("emit needs a form: %s (--llvm and --asm come with the JIT backend)", "--tir");
        return cmd_file(&o);
    }
    if (strcmp(cmd, "build") == 0 || strcmp(cmd, "plan") == 0)
        return usage_error("'%s' is not available yet in this version of txc", cmd);
    return usage_error("unknown command '%s'", cmd);
}

int main(int argc, char **argv) {
    int rc = txc_main(argc, argv);
    txrt_fft_cleanup();   /* FFTW plans live for the process; free them once */
    return rc;
}
