/*
 * plan_print.c -- contraction plans as text (`txc plan`, `txc run --plan`)
 * and as Graphviz (`txc plan --dot`).
 *
 * Text, per statement that holds a contraction:
 *
 *   attention.tx:19: O[i,b] = sum[j,k](A[i,j,k] * V1[j,b] * V2[k,b] / D[i])
 *     O[i,b]  ijk,jb,kb,i->ib  (4 factors, exact)
 *       sizes    i=256 j=256 k=256 b=16
 *       tree     (((A V1) V2) 1/D)
 *       step  contraction     result        multiply-adds  elements  kind
 *          1  ijk,jb->ikb     %p1[i,k,b]           268.4M     1.0M  gemm: contract j, left i,k, right b
 *          2  ikb,kb->ib      O[i,b]                 1.0M     4.1K  dot: batch i,b, contract k
 *       then     / D[i]   (once per output element)
 *     flops: naive 8.05e+08, planned 5.37e+08 (1.5x fewer); largest temporary 1.0M elements (8 MiB as f64)
 *
 * Sizes are shown with K/M/G/T suffixes (powers of 1000) for readability;
 * FLOP totals use numpy einsum's convention (one per multiplication, one
 * per addition of a sum), so they compare with einsum_path's numbers.
 */
#include <stdio.h>
#include <string.h>

#include "ir/plan.h"

static const char *human(char *buf, size_t n, double v) {
    const char *suf[] = { "", "K", "M", "G", "T", "P", "E" };
    int k = 0;
    double x = v;
    while (x >= 999.95 && k < 6) {
        x /= 1000;
        k++;
    }
    if (k == 0) snprintf(buf, n, "%.0f", v);
    else snprintf(buf, n, "%.1f%s", x, suf[k]);
    return buf;
}

static const char *mib(char *buf, size_t n, double elems) {
    double b = 8 * elems;
    if (b < 1024) snprintf(buf, n, "%.0f B", b);
    else if (b < 1024 * 1024) snprintf(buf, n, "%.1f KiB", b / 1024);
    else if (b < 1024.0 * 1024 * 1024) snprintf(buf, n, "%.1f MiB", b / (1024 * 1024));
    else snprintf(buf, n, "%.1f GiB", b / (1024.0 * 1024 * 1024));
    return buf;
}

static void where(FILE *f, const tx_plan_stmt *ps, const tx_source *src) {
    if (src && src->line_starts && ps->span.lo <= src->len) {
        uint32_t line, col;
        tx_source_linecol(src, ps->span.lo, &line, &col);
        fprintf(f, "%s:%u: ", src->name ? src->name : "<input>", line);
    }
}

static const char *status_text(const tx_plan_stmt *ps) {
    switch (ps->status) {
    case TX_PLAN_NONE: return "no contraction";
    case TX_PLAN_REWRITTEN: return NULL;
    case TX_PLAN_AS_IS: return "runs as written: a single pairwise step is already the best order";
    case TX_PLAN_NO_GAIN: return "runs as written";
    case TX_PLAN_CAPPED: return "runs as written";
    case TX_PLAN_UNKNOWN: return "sizes unknown until run time: planned when it runs";
    case TX_PLAN_UNSUPPORTED: return "not planned";
    }
    return "?";
}

static void print_kind(FILE *f, const tx_plan_step *st) {
    const tx_plan_gemm *g = &st->gemm;
    if (st->reused) {
        fputs("reused (an identical earlier step)", f);
        return;
    }
    const char *k = tx_plan_kind_name(g->kind);
    if (g->nbatch && g->kind != TX_PLAN_HADAMARD && g->kind != TX_PLAN_LOOP) fprintf(f, "batched %s", k);
    else fputs(k, f);
    if (g->kind != TX_PLAN_LOOP) fputs(g->blas ? " (BLAS)" : " (loop)", f);
    if (st->roles) fprintf(f, ": %s", st->roles);
}

static void print_contr(FILE *f, const tx_plan_stmt *ps, const tx_plan_contraction *k) {
    char b1[32], b2[32];
    fprintf(f, "  %s  %s  (%d factor%s%s)\n", k->what ? k->what : "", k->einsum ? k->einsum : "", k->nfactors,
            k->nfactors == 1 ? "" : "s", k->nfactors > 2 ? (k->exact ? ", exact" : ", greedy + local search") : "");
    if (k->sizes && *k->sizes) fprintf(f, "    sizes    %s\n", k->sizes);
    bool leaves = false;
    for (int i = 0; i < k->nfactors; i++)
        if (strchr(k->factors[i], '=')) leaves = true;
    if (leaves) {
        fputs("    factors ", f);
        for (int i = 0; i < k->nfactors; i++) fprintf(f, " %s%s", k->factors[i], i + 1 < k->nfactors ? "," : "");
        fputc('\n', f);
    }
    if (k->tree && k->nsteps > 0) fprintf(f, "    tree     %s\n", k->tree);
    if (k->notes) fprintf(f, "    first    %s\n", k->notes);
    if (k->nsteps > 0) {
        int w = 11, wr = 6;
        for (int s = 0; s < k->nsteps; s++) {
            const tx_plan_step *st = &k->steps[s];
            if (st->einsum && (int)strlen(st->einsum) > w) w = (int)strlen(st->einsum);
            const char *r = st->result ? st->result : (k->what ? k->what : "");
            if ((int)strlen(r) > wr) wr = (int)strlen(r);
        }
        fprintf(f, "    step  %-*s  %-*s  %13s  %8s  %s\n", w, "contraction", wr, "result", "multiply-adds", "elements",
                "kind");
        for (int s = 0; s < k->nsteps; s++) {
            const tx_plan_step *st = &k->steps[s];
            const char *r = st->result ? st->result : (k->what ? k->what : "");
            fprintf(f, "    %4d  %-*s  %-*s  %13s  %8s  ", s + 1, w, st->einsum ? st->einsum : "", wr, r,
                    st->reused ? "-" : human(b1, sizeof b1, st->madds), human(b2, sizeof b2, st->size));
            print_kind(f, st);
            fputc('\n', f);
        }
    }
    if (k->hoisted) fprintf(f, "    then     %s   (once per element of the result)\n", k->hoisted);
    (void)ps;
}

void tx_plan_print_stmt(FILE *f, const tx_plan_stmt *ps, const tx_source *src) {
    if (!ps || ps->status == TX_PLAN_NONE) return;
    char b1[32], b2[32];
    where(f, ps, src);
    fprintf(f, "%s%s\n", ps->text ? ps->text : "", ps->runtime ? "   [planned at run time]" : "");
    const char *st = status_text(ps);
    if (ps->status == TX_PLAN_UNKNOWN || ps->status == TX_PLAN_UNSUPPORTED) {
        fprintf(f, "  %s%s%s\n\n", st, ps->reason && ps->status != TX_PLAN_UNKNOWN ? ": " : "",
                ps->reason && ps->status != TX_PLAN_UNKNOWN ? ps->reason : "");
        return;
    }
    for (int k = 0; k < ps->ncontr; k++) {
        const tx_plan_contraction *c = &ps->contr[k];
        if (c->nfactors < 2 && c->nsteps == 0) {
            /* a single factor: no order to choose; say so only when it moved */
            if (c->once) fprintf(f, "  computed once: %s\n", c->what);
            else if (c->notes) fprintf(f, "  %s: %s\n", c->what, c->notes);
            continue;
        }
        print_contr(f, ps, c);
        if (c->once) fputs("    (computed once into a temporary: it depends on fewer indices than the loops around it)\n", f);
    }
    if (ps->status == TX_PLAN_REWRITTEN) {
        double sp = ps->planned_flops > 0 ? ps->naive_flops / ps->planned_flops : 0;
        fprintf(f, "  flops: naive %.3g, planned %.3g (%.3gx fewer); %d statement%s", ps->naive_flops, ps->planned_flops,
                sp, ps->nstmts, ps->nstmts == 1 ? "" : "s");
        if (ps->largest > 0)
            fprintf(f, "; largest temporary %s elements (%s as f64)", human(b1, sizeof b1, ps->largest),
                    mib(b2, sizeof b2, ps->largest));
        fputc('\n', f);
    } else {
        fprintf(f, "  flops: %.3g; %s%s%s\n", ps->naive_flops, st, ps->reason ? ": " : "", ps->reason ? ps->reason : "");
    }
    if (ps->naive_ns > 0 && (ps->status == TX_PLAN_REWRITTEN || ps->status == TX_PLAN_NO_GAIN))
        fprintf(f, "  estimated time: as written %.3g ms, planned %.3g ms (BLAS steps at BLAS speed, loop steps "
                   "at loop speed plus a fixed cost each)\n", 1e-6 * ps->naive_ns, 1e-6 * ps->planned_ns);
    fputc('\n', f);
}

void tx_plan_print(FILE *f, const tx_plan_report *rep) {
    if (!rep) return;
    double naive = 0, planned = 0, largest = 0;
    int nplanned = 0, nunknown = 0, nshown = 0;
    for (int k = 0; k < rep->n; k++) {
        const tx_plan_stmt *ps = rep->v[k];
        if (ps->status == TX_PLAN_NONE) continue;
        tx_plan_print_stmt(f, ps, rep->src);
        nshown++;
        if (ps->status == TX_PLAN_UNKNOWN) {
            nunknown++;
            continue;
        }
        naive += ps->naive_flops;
        planned += ps->planned_flops;
        if (ps->largest > largest) largest = ps->largest;
        if (ps->status == TX_PLAN_REWRITTEN) nplanned++;
    }
    if (nshown == 0) {
        fputs("no contractions to plan\n", f);
        return;
    }
    char b1[32], b2[32];
    fprintf(f, "total: %d statement%s with contractions, %d rewritten", nshown, nshown == 1 ? "" : "s", nplanned);
    if (nunknown) fprintf(f, ", %d planned at run time", nunknown);
    fprintf(f, "; flops naive %.3g, planned %.3g", naive, planned);
    if (planned > 0) fprintf(f, " (%.3gx fewer)", naive / planned);
    if (largest > 0)
        fprintf(f, "; largest temporary %s elements (%s as f64)", human(b1, sizeof b1, largest), mib(b2, sizeof b2, largest));
    fputc('\n', f);
}

/* ---- Graphviz ---- */

static void dot_str(FILE *f, const char *s) {
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if (*s == '\n') {
            fputs("\\n", f);
            continue;
        }
        fputc(*s, f);
    }
}

void tx_plan_print_dot(FILE *f, const tx_plan_report *rep) {
    fputs("digraph plan {\n  rankdir=BT;\n  node [fontname=\"monospace\", fontsize=10];\n"
          "  edge [arrowsize=0.6];\n",
          f);
    int cl = 0;
    for (int k = 0; rep && k < rep->n; k++) {
        const tx_plan_stmt *ps = rep->v[k];
        if (ps->status == TX_PLAN_NONE || ps->status == TX_PLAN_UNKNOWN || ps->status == TX_PLAN_UNSUPPORTED) continue;
        fprintf(f, "  subgraph cluster_%d {\n    label=\"", cl);
        if (rep->src && rep->src->line_starts) {
            uint32_t line, col;
            tx_source_linecol(rep->src, ps->span.lo, &line, &col);
            fprintf(f, "line %u: ", line);
        }
        dot_str(f, ps->text);
        if (ps->status == TX_PLAN_REWRITTEN)
            fprintf(f, "\\nflops %.3g -> %.3g", ps->naive_flops, ps->planned_flops);
        fputs("\";\n    fontname=\"monospace\"; fontsize=10;\n", f);
        for (int c = 0; c < ps->ncontr; c++) {
            const tx_plan_contraction *K = &ps->contr[c];
            if (K->nfactors < 2 && K->nsteps == 0) continue;
            for (int i = 0; i < K->nfactors; i++) {
                fprintf(f, "    s%d_c%d_f%d [shape=box, label=\"", cl, c, i);
                dot_str(f, K->factors[i]);
                fputs("\"];\n", f);
            }
            char b1[32], b2[32];
            for (int s = 0; s < K->nsteps; s++) {
                const tx_plan_step *st = &K->steps[s];
                fprintf(f, "    s%d_c%d_t%d [shape=ellipse%s, label=\"", cl, c, s,
                        st->gemm.blas ? ", style=filled, fillcolor=\"#d8ecff\"" : "");
                dot_str(f, st->einsum);
                fputs("\\n", f);
                dot_str(f, st->result ? st->result : K->what);
                if (st->reused) fputs("\\nreused", f);
                else
                    fprintf(f, "\\n%s madds, %s elems\\n%s%s", human(b1, sizeof b1, st->madds),
                            human(b2, sizeof b2, st->size), tx_plan_kind_name(st->gemm.kind),
                            st->gemm.blas ? " (BLAS)" : "");
                fputs("\"];\n", f);
                int ops[2] = { st->left, st->right };
                for (int q = 0; q < 2; q++) {
                    if (ops[q] < K->nfactors) fprintf(f, "    s%d_c%d_f%d -> s%d_c%d_t%d;\n", cl, c, ops[q], cl, c, s);
                    else fprintf(f, "    s%d_c%d_t%d -> s%d_c%d_t%d;\n", cl, c, ops[q] - K->nfactors, cl, c, s);
                }
            }
            if (K->hoisted && K->nsteps > 0) {
                fprintf(f, "    s%d_c%d_h [shape=note, label=\"then ", cl, c);
                dot_str(f, K->hoisted);
                fprintf(f, "\"];\n    s%d_c%d_t%d -> s%d_c%d_h;\n", cl, c, K->nsteps - 1, cl, c);
            }
        }
        fputs("  }\n", f);
        cl++;
    }
    fputs("}\n", f);
}
