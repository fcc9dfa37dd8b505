/*
 * main.c -- the txc command line.
 *
 *   txc run FILE.tx [--backend jit|interp] [-O0..-O3] [--time] [--threads N] [--repeat N]
 *   txc check FILE.tx
 *   txc plan FILE.tx [--dot] [--max-intermediate ELEMS]
 *   txc emit FILE.tx --tir | --llvm | --asm
 *   txc build FILE.tx -o OUT.o [--header OUT.h] [--shared] [--emit obj|llvm|asm]
 *             [--shape n=128,...] [--cpu CPU] [-O0..-O3]       (driver/build.c)
 *   txc [repl]
 *
 * Exit status: 0 success, 1 compile error, 2 command-line misuse,
 * 3 runtime error.
 */
#include <errno.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codegen/codegen.h"
#include "driver/build.h"
#include "driver/pipeline.h"
#include "driver/render.h"
#include "driver/repl.h"
#include "frontend/builtins.h"
#include "ir/blas.h"
#include "ir/interp.h"
#include "ir/plan.h"
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
    "      --backend jit      JIT-compile every tensor definition through LLVM (default)\n"
    "      --backend interp   run on the reference evaluator (naive loops, the oracle)\n"
    "      -O0 .. -O3         LLVM optimisation level (default -O3); from -O2 on AVX2/AVX-512,\n"
    "                         loops calling exp, log, sin, ... vectorise with glibc's libmvec\n"
    "                         (accurate to 4 ulp; TXC_NO_VECMATH=1 in the environment: scalar libm)\n"
    "      --time             print compile and run times to stderr\n"
    "      --repeat N         run once to warm up, then N more times; with --time report the\n"
    "                         median and min of the timed runs (leading lets/loads and trailing\n"
    "                         save/print run once, outside the timing)\n"
    "      --threads N        threads for parallel loops and BLAS (default: all cores, or\n"
    "                         the TXC_THREADS environment variable)\n"
    "      --plan             print the contraction plan of each statement to stderr\n"
    "      --no-plan          run every statement as written (no contraction planning)\n"
    "      --no-fuse          run every statement as its own kernel (no fusion of statements)\n"
    "      --no-blas          run contractions as JIT loops too (no BLAS dispatch; for testing)\n"
    "      --max-intermediate ELEMS  cap the size of the planner's temporaries\n"
    "  check FILE.tx    parse and check only\n"
    "  plan FILE.tx     print each contraction's order and its cost against the naive loop nest\n"
    "      --dot              as Graphviz instead\n"
    "      --max-intermediate ELEMS  cap the size of the planner's temporaries\n"
    "  emit FILE.tx --tir   print the tensor IR\n"
    "  emit FILE.tx --llvm  run the script and print the optimised LLVM IR of every kernel\n"
    "  emit FILE.tx --asm   the same as assembly\n"
    "  build FILE.tx -o OUT.o   compile every def to an object exporting C functions\n"
    "      --header OUT.h     also write a C header declaring them\n"
    "      --shared           link a shared library (-o libOUT.so) with the system cc\n"
    "      --emit obj|llvm|asm  the object (default), LLVM IR or assembly\n"
    "      --shape n=128,d=16   specialise the sizes of the defs (f.n=4 gives def f its own value);\n"
    "                           sizes left open are int64_t arguments checked at run time (no\n"
    "                           fusion or threads in such code); docs/AOT.md has the C ABI\n"
    "      --cpu generic|x86-64-v3|native|NAME  the CPU to generate code for (default: this host)\n"
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
    int emit;           /* 0 none, 't' TIR, 'l' LLVM, 'a' assembly */
    int opt;            /* -O level */
    int threads;
    int repeat;         /* run --repeat N: timed runs after the warm-up, 0 = plain run */
    bool show_plan;     /* run --plan */
    bool no_plan;       /* run --no-plan */
    bool no_fuse;       /* run --no-fuse */
    bool no_blas;       /* run --no-blas */
    bool dot;           /* plan --dot */
    double max_inter;   /* --max-intermediate, 0 = no cap */
} options;

static int parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->cmd = argv[1];
    o->backend = "jit";
    o->opt = 3;
    {   /* TXC_THREADS=N: the default of --threads */
        const char *te = getenv("TXC_THREADS");
        char *end;
        long n = te && *te ? strtol(te, &end, 10) : 0;
        if (te && *te && !*end && n >= 1 && n <= 1024) o->threads = (int)n;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--time") == 0) o->time = true;
        else if (strcmp(a, "--tir") == 0) o->emit = 't';
        else if (strcmp(a, "--llvm") == 0) o->emit = 'l';
        else if (strcmp(a, "--asm") == 0) o->emit = 'a';
        else if (a[0] == '-' && a[1] == 'O' && a[2] >= '0' && a[2] <= '3' && !a[3]) o->opt = a[2] - '0';
        else if (strcmp(a, "--plan") == 0) o->show_plan = true;
        else if (strcmp(a, "--no-plan") == 0) o->no_plan = true;
        else if (strcmp(a, "--no-fuse") == 0) o->no_fuse = true;
        else if (strcmp(a, "--no-blas") == 0) o->no_blas = true;
        else if (strcmp(a, "--dot") == 0) o->dot = true;
        else if (strcmp(a, "--max-intermediate") == 0) {
            if (i + 1 >= argc) return usage_error("option '%s' needs a value", a);
            char *end;
            double v = strtod(argv[++i], &end);
            if (*end || !(v >= 1) || v > 9.2e18)
                return usage_error("--max-intermediate needs a number of elements (at least 1), not '%s'", argv[i]);
            o->max_inter = v;
        }
        else if (strcmp(a, "--repeat") == 0) {
            if (i + 1 >= argc) return usage_error("option '%s' needs a value", a);
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (*end || n < 1 || n > 100000)
                return usage_error("--repeat needs a whole number from 1 to 100000, not '%s'", argv[i]);
            o->repeat = (int)n;
        }
        else if (strcmp(a, "--backend") == 0 || strcmp(a, "--threads") == 0) {
            if (i + 1 >= argc) return usage_error("option '%s' needs a value", a);
            const char *v = argv[++i];
            if (a[2] == 'b') {
                if (strcmp(v, "interp") != 0 && strcmp(v, "jit") != 0)
                    return usage_error("unknown backend '%s' (available: jit, interp)", v);
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

/* The contraction planner: statements whose sizes the checker knows are
 * planned now (sharing temporaries across statements), the rest through
 * the evaluator's rewriter hook when they run.  Returns the run-time
 * planner to free, or NULL with --no-plan. */
static tx_plan_runtime *plan_unit(const options *o, tx_unit *u, tx_interp *in) {
    if (o->no_plan) return NULL;
    tx_plan_opts po;
    tx_plan_opts_default(&po);
    po.max_intermediate = o->max_inter;
    tx_plan_report rep = { 0 };
    /* fusing: fuse first, plan what remains when it runs (ir/fuse.h) */
    bool fusing = !o->no_fuse && strcmp(o->backend, "jit") == 0;
    if (!fusing) tx_plan_program(u->arena, u->tir, &po, o->show_plan ? &rep : NULL);
    if (o->show_plan && !fusing) tx_plan_print(stderr, &rep);
    tx_plan_runtime *rt = tx_plan_runtime_new(&po, o->show_plan ? stderr : NULL, u->src);
    tx_def_rewriter rw = tx_plan_rewriter(rt);
    tx_interp_set_rewriter(in, &rw);
    return rt;
}

/* CPU time of the whole process (all threads), seconds: --repeat reports it
 * next to the wall time, which other jobs on a shared machine inflate. */
static double cpu_sec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* --repeat: a statement that makes the program's inputs (a let, or a
 * load/randn/rand/zeros/... call) and belongs to the set-up run once
 * before the timing, and one that only reports results (save, print,
 * assert) and belongs to the trailer run once after it. */
static bool is_input_stmt(const tx_tir_stmt *s) {
    if (s->kind == TX_TIR_DEF) return s->is_let;
    if (s->kind != TX_TIR_CALL) return false;
    /* `X = rand(10) * 4` calls into a temporary that the next statement
     * reads; temporaries die with each run, so that call stays with its reader */
    for (int k = 0; k < s->nresults; k++)
        if (s->results[k][0] == '%') return false;
    switch (s->builtin) {
    case TX_B_LOAD: case TX_B_RAND: case TX_B_RANDN: case TX_B_ZEROS: case TX_B_ONES:
    case TX_B_FULL: case TX_B_EYE: case TX_B_ARANGE: case TX_B_LINSPACE: return true;
    default: return false;
    }
}

static bool is_output_stmt(const tx_tir_stmt *s) {
    /* a temporary feeds the report that follows: `print C[0,0]` picks into
     * %1, `assert(allclose(C, A * 3))` computes %1 = A*3 and %2 = allclose(..) */
    if (s->kind == TX_TIR_DEF && s->out && s->out[0] == '%') return true;
    if (s->kind == TX_TIR_CALL && s->nresults > 0) {
        bool temps = true;
        for (int k = 0; k < s->nresults; k++) temps = temps && s->results[k][0] == '%';
        if (temps) return true;
    }
    return s->kind == TX_TIR_PRINT || s->kind == TX_TIR_ASSERT ||
           (s->kind == TX_TIR_CALL && s->builtin == TX_B_SAVE);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* txc run --repeat N: the leading input statements run once, then the
 * body (everything between them and the trailing output statements) once
 * to warm up -- planning at run time, JIT compilation, FFTW plans -- and N
 * more times in the same process with every cache warm; then the trailer
 * once.  With --time the first run and the median/min of the N timed runs
 * go to stderr in one line (bench/run.py parses it). */
static int run_repeated(const options *o, tx_interp *in, tx_unit *u, tx_jit *jit, double plan_sec) {
    const tx_tir_program *p = u->tir;
    int b = 0, e = p->nstmts;
    while (b < e && is_input_stmt(p->stmts[b])) b++;
    while (e > b && is_output_stmt(p->stmts[e - 1])) e--;
    tx_tir_program setup = *p, body = *p, trailer = *p;
    setup.nstmts = b;
    body.stmts = p->stmts + b, body.nstmts = e - b;
    trailer.stmts = p->stmts + e, trailer.nstmts = p->nstmts - e;
    double t0 = now_sec();
    /* what the fuser may leave unmaterialised depends on what runs next */
    tx_interp_set_after(in, p->stmts + b, p->nstmts - b, false);
    int rc = tx_interp_run(in, &setup, &u->diags);
    tx_interp_set_after(in, trailer.stmts, trailer.nstmts, true);
    double t1 = now_sec();
    if (!rc) rc = tx_interp_run(in, &body, &u->diags);
    double t2 = now_sec();
    tx_jit_stats st0 = { 0 }, st1 = { 0 };
    if (jit) tx_jit_get_stats(jit, &st0);
    double *ms = calloc(2 * (size_t)o->repeat, sizeof *ms), *cpu = ms ? ms + o->repeat : NULL;
    int nrun = 0;
    while (!rc && ms && nrun < o->repeat) {
        double s = now_sec(), c = cpu_sec();
        rc = tx_interp_run(in, &body, &u->diags);
        cpu[nrun] = 1e3 * (cpu_sec() - c);
        ms[nrun++] = 1e3 * (now_sec() - s);
    }
    if (jit) tx_jit_get_stats(jit, &st1);
    tx_interp_set_after(in, NULL, 0, false);
    if (!rc) rc = tx_interp_run(in, &trailer, &u->diags);
    if (o->time && nrun > 0) {
        qsort(ms, (size_t)nrun, sizeof *ms, cmp_double);
        qsort(cpu, (size_t)nrun, sizeof *cpu, cmp_double);
        double med = nrun % 2 ? ms[nrun / 2] : 0.5 * (ms[nrun / 2 - 1] + ms[nrun / 2]);
        double cmed = nrun % 2 ? cpu[nrun / 2] : 0.5 * (cpu[nrun / 2 - 1] + cpu[nrun / 2]);
        uint32_t l0 = 0, l1 = 0, col;
        if (b < e && p->src) {
            tx_source_linecol(p->src, p->stmts[b]->span.lo, &l0, &col);
            tx_source_linecol(p->src, p->stmts[e - 1]->span.lo, &l1, &col);
        }
        fprintf(stderr,
                "txc: repeat: set-up %.3f ms (%d statements); first run %.3f ms (planning %.3f ms, jit compile "
                "%.3f ms, %d kernels); %d timed runs of lines %d-%d: median %.4f ms, min %.4f ms, "
                "process cpu median %.4f ms (%d kernels compiled during them)\n",
                1e3 * (t1 - t0), b, 1e3 * (t2 - t1), 1e3 * plan_sec, st0.compile_ms, st0.ncompiled, nrun,
                (int)l0, (int)l1,
                med, ms[0], cmed, st1.ncompiled - st0.ncompiled);
    }
    free(ms);
    return rc;
}

/* Run a compiled unit on the chosen backend.  `emit --llvm/--asm` runs the
 * script too (kernels are specialised on the shapes it computes), with its
 * printed output discarded and each new kernel's code written to stdout. */
static int run_unit(const options *o, tx_unit *u, double compile_sec) {
    bool emitting = strcmp(o->cmd, "emit") == 0;
    FILE *out = stdout;
    if (emitting && !(out = fopen("/dev/null", "w"))) out = stdout;
    tx_interp *in = tx_interp_new(out);
    tx_jit *jit = NULL;
    tx_blas *blas = NULL;
    txrt_blas_quiet_workers();   /* idle OpenBLAS workers must not spin on txc's cores */
    if (o->threads > 0) txrt_blas_set_threads(o->threads);   /* BLAS runs outside txc's parallel regions */
    if (o->threads > 0) txrt_set_threads(o->threads);        /* kernels' parallel loops (txrt_parallel_for) */
    if (strcmp(o->backend, "jit") == 0) {
        jit = tx_jit_new(o->opt, &u->diags);
        if (!jit) {
            tx_render_diags(stderr, &u->diags);
            tx_interp_free(in);
            return EXIT_RUNTIME;
        }
        tx_def_backend b = tx_jit_backend(jit);
        if (!o->no_blas) {
            /* pairwise contractions of BLAS shape go to BLAS, the rest to the JIT;
             * TXC_BLAS_CROSSOVER (multiply-adds per call) overrides the measured
             * crossover, for bench/blas_crossover */
            const char *x = getenv("TXC_BLAS_CROSSOVER");
            if (x && *x) tx_blas_set_crossover(strtod(x, NULL));
            blas = tx_blas_new(&b);
            /* the rule was measured with AVX-512 tiles (ir/blas.c) */
            tx_blas_set_tiled_loops(blas, tx_jit_lane_bytes(jit) >= 64);
            b = tx_blas_backend(blas);
        }
        tx_interp_set_backend(in, &b);
        if (!o->no_fuse) {
            tx_group_backend gb = tx_jit_group_backend(jit);
            tx_interp_set_group_backend(in, &gb);
            tx_interp_set_script(in, true);
        }
        if (emitting) tx_jit_set_emit(jit, stdout, o->emit == 'l' ? TX_CG_EMIT_LLVM : TX_CG_EMIT_ASM);
    }
    double tp = now_sec();
    tx_plan_runtime *planner = plan_unit(o, u, in);
    double t0 = now_sec();
    int rc = o->repeat && !emitting ? run_repeated(o, in, u, jit, t0 - tp) : tx_interp_run(in, u->tir, &u->diags);
    double run_sec = now_sec() - t0;
    fflush(stdout);
    tx_render_diags(stderr, &u->diags);
    if (o->time) {
        fprintf(stderr, "txc: front end %.3f ms, run %.3f ms (backend %s)\n", 1e3 * compile_sec, 1e3 * run_sec,
                o->backend);
        if (jit) {
            tx_jit_stats st;
            tx_jit_get_stats(jit, &st);
            fprintf(stderr,
                    "txc: jit: %d kernels compiled in %.3f ms, %d cache hits, %d runs taking %.3f ms "
                    "(%.3f ms lowering and looking up kernels), %d definitions left to the evaluator\n",
                    st.ncompiled, st.compile_ms, st.ncache_hits, st.nruns, st.run_ms, st.lower_ms, st.ndeclined);
            if (st.ncompiled > 0)
                fprintf(stderr, "txc: jit: per-kernel compile time median %.3f ms, max %.3f ms\n",
                        st.compile_median_ms, st.compile_max_ms);
            fprintf(stderr, "txc: fuse: %d groups fused (%d statements, %d reductions split off the statement after)%s\n",
                    st.nfused, st.nfused_stmts, st.nsplit,
                    o->no_fuse ? " (--no-fuse)" : "");
        }
        if (tx_plan_runtime_count(planner) > 0)
            fprintf(stderr, "txc: plan: %d statements planned when they ran, %d of them from the plan cache\n",
                    tx_plan_runtime_count(planner), tx_plan_runtime_hits(planner));
        if (blas) {
            tx_blas_stats bs;
            tx_blas_get_stats(blas, &bs);
            fprintf(stderr, "txc: blas: %d definitions ran through BLAS (%d gemm, %d syrk, %d gemv calls, %d copies) "
                            "taking %.3f ms; %d products ran as loops on a transposed copy\n", bs.ndefs, bs.ngemm,
                    bs.nsyrk, bs.ngemv, bs.ncopies, bs.run_ms, bs.ntransposed);
        }
        if (tx_interp_side_by_side(in) > 0)
            fprintf(stderr, "txc: lapack: %d pairs of factorizations ran side by side\n", tx_interp_side_by_side(in));
    }
    tx_interp_free(in);
    tx_plan_runtime_free(planner);
    tx_jit_free(jit);
    tx_blas_free(blas);
    if (out != stdout) fclose(out);
    return rc;
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
    if (ok) {                   /* warnings, before anything runs */
        tx_render_diags(stderr, &u.diags);
        tx_diags_clear(&u.diags);
    }
    if (!ok) {
        tx_render_diags(stderr, &u.diags);
        rc = EXIT_COMPILE;
    } else if (strcmp(o->cmd, "emit") == 0 && o->emit == 't') {
        tx_tir_print(stdout, u.tir);
    } else if (strcmp(o->cmd, "plan") == 0) {
        tx_plan_opts po;
        tx_plan_opts_default(&po);
        po.max_intermediate = o->max_inter;
        tx_plan_report rep = { 0 };
        tx_plan_program(u.arena, u.tir, &po, &rep);
        if (o->dot) tx_plan_print_dot(stdout, &rep);
        else tx_plan_print(stdout, &rep);
    } else if (strcmp(o->cmd, "run") == 0 || strcmp(o->cmd, "emit") == 0) {
        rc = run_unit(o, &u, t1 - t0);
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
    if (strcmp(cmd, "run") == 0 || strcmp(cmd, "check") == 0 || strcmp(cmd, "emit") == 0 ||
        strcmp(cmd, "plan") == 0) {
        options o;
        int rc = parse_options(argc, argv, &o);
        if (rc) return rc;
        if (strcmp(cmd, "emit") == 0 && !o.emit)
            return usage_error("emit needs a form: %s", "--tir, --llvm or --asm");
        if (strcmp(cmd, "emit") == 0 && o.emit != 't' && strcmp(o.backend, "jit") != 0)
            return usage_error("emit %s needs the jit backend", o.emit == 'l' ? "--llvm" : "--asm");
        return cmd_file(&o);
    }
    if (strcmp(cmd, "build") == 0) return tx_build_main(argc, argv);
    return usage_error("unknown command '%s'", cmd);
}

int main(int argc, char **argv) {
    /* Tensors below 2 MiB come from malloc (larger ones from the runtime's
     * block cache), and so do LAPACKE's and OpenBLAS's work arrays.  glibc
     * returns freed memory at the top of the heap to the system and maps
     * some blocks afresh, so a statement run in a loop paid for new pages
     * every time: a 320 KB result, 80 page faults per run, was 40% of
     * chain3's time.  Keep what was freed for reuse, and serve blocks up to
     * 32 MiB (the most glibc's own adaptive threshold reaches) from the
     * heap: with a lower fixed threshold LAPACKE's 8 MB row-major copies
     * were mapped afresh on every call (solve 1000x1000 +35%). */
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);
    int rc = txc_main(argc, argv);
    txrt_fft_cleanup();   /* FFTW plans live for the process; free them once */
    txrt_block_cache_clear();
    tx_cg_shutdown();
    return rc;
}
