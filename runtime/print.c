/*
 * print.c -- numpy-style printing of tensors and scalars.
 *
 * A rank-0 tensor prints as Python prints the numpy scalar: str(np.float64)
 * is Python's repr of the float (shortest round-trip digits; positional for
 * 1e-4 <= |x| < 1e16 or 0 with at least one fractional digit, "3.0";
 * scientific otherwise, "1e-05", "1.5e+20"; "nan", "inf", "-inf").  f32
 * values use the shortest digits that round-trip through float32 (0.1, not
 * 0.10000000149011612).  Complex: "(1+2j)", "(1.5-0.5j)", "2j" when the
 * real part is +0, "(nan+infj)".
 *
 * A tensor of rank >= 1 prints numpy 1.24's str(array) followed by a space,
 * the dtype and the shape: "[[1. 2.]\n [3. 4.]] f64[2,2]".  The body
 * follows numpy/core/arrayprint.py with its defaults (precision 8,
 * floatmode 'maxprec', suppress_small False, sign '-', linewidth 75,
 * threshold 1000, edgeitems 3):
 *   - FloatingFormat.fillFormat: scientific notation when the largest
 *     non-zero finite |x| is >= 1e8, the smallest is < 1e-4, or their
 *     ratio exceeds 1000; positional values are the shortest round-trip
 *     digits cut at 8 fractional digits (but every integer digit exact:
 *     float32 97049792 prints "97049792." in an array, "97049790.0" as a
 *     scalar), right-aligned on the decimal point (pad_left/pad_right);
 *     scientific values get as many mantissa digits as the longest needs
 *     (at most 8), all alike, the extra digits being the exact value's
 *     (printf %.*e); nan/inf widen the field.
 *   - Arrays with more than 1000 elements show the first and last 3 items
 *     of every axis longer than 6, with "..." between; the format is
 *     decided from the shown items only.
 *   - _formatArray: rows wrap at 75 columns with a hanging indent, rank >= 3
 *     separates 2-D blocks by blank lines.
 *   - Complex arrays format real and imaginary parts as two independent
 *     float columns (the imaginary one always signed) and join them with
 *     'j' before the imaginary part's padding: "[1.+2.j  3.-0.5j]".
 *   - Empty arrays print "[]".
 * Shortest round-trip digits come from trying %.{p}e for p = 1..17 (9 for
 * float32) and reading the text back with strtod/strtof; where numpy's
 * Dragon4 cuts digits it rounds the exact binary value to nearest, which
 * is what printf does.  At exact powers of two the search also tries the
 * string one unit above the nearest (see shortest_digits).
 *
 * Nothing is printed before the whole text is built, so a tensor is
 * written with one fwrite.
 */
#include "txrt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- growable strings -------------------------------------------------- */

/* Out of memory sets `oom` and turns later appends into no-ops; the
 * printer then writes a short notice instead of the tensor. */
typedef struct {
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static int sb_reserve(sbuf *b, size_t extra) {
    if (b->oom) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static void sb_add(sbuf *b, const char *s, size_t n) {
    if (n == 0 || sb_reserve(b, n) != 0) return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) {
    sb_add(b, s, strlen(s));
}

static void sb_spaces(sbuf *b, size_t n) {
    if (sb_reserve(b, n) != 0) return;
    memset(b->p + b->len, ' ', n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* ---- digits -------------------------------------------------------------- */

/* |x| rounded to p significant digits (printf, i.e. nearest on the exact
 * binary value): the digits into d (no dot, NUL-terminated) and the decimal
 * exponent, so that |x| ~= d[0].d[1]d[2]... * 10^e.  The text itself goes
 * to txt when non-NULL (for reading it back). */
static int sci_digits(double ax, int p, char *d, char *txt, size_t tn) {
    char buf[64];
    snprintf(buf, sizeof buf, "%.*e", p - 1, ax);
    int k = 0;
    const char *s = buf;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9') d[k++] = *s;
    d[k] = '\0';
    if (txt) snprintf(txt, tn, "%s", buf);
    return *s == 'e' ? atoi(s + 1) : 0;
}

/* Shortest digits of the finite |x| that read back as x (as a float when
 * is32), using at most maxp significant digits.  Returns the digit count,
 * or 0 when maxp digits are not enough. */
static int reads_back(const char *txt, double ax, int is32) {
    return is32 ? strtof(txt, NULL) == (float)ax : strtod(txt, NULL) == ax;
}

/* d (p digits, exponent *e) plus one unit in the last place, as text. */
static void bump_up(char *d, int p, int *e, char *txt, size_t tn) {
    int i = p - 1;
    while (i >= 0 && d[i] == '9') d[i--] = '0';
    if (i >= 0) {
        d[i]++;
    } else {                      /* 99..9 -> 100..0: one more in the exponent */
        d[0] = '1';
        (*e)++;
    }
    snprintf(txt, tn, "%c%s%se%d", d[0], p > 1 ? "." : "", d + 1, *e);
}

/* Shortest digits of the finite |x| that read back as x (as a float when
 * is32), using at most maxp significant digits.  Returns the digit count,
 * or 0 when maxp digits are not enough.  Among strings of that length the
 * nearest is taken; at a power of two the interval of values that read
 * back as x reaches twice as far above x as below it, so there the next
 * string up can read back when the nearest does not (2^-44 is
 * 5.684341886080802e-14, as Python and numpy print it). */
static int shortest_digits(double ax, int is32, int maxp, char *d, int *e) {
    int lim = is32 ? 9 : 17;
    if (maxp > lim) maxp = lim;
    int pow2 = 0;
    if (ax > 0) {
        int ex;
        pow2 = frexp(is32 ? (double)(float)ax : ax, &ex) == 0.5;
    }
    char txt[64], up[32], uptxt[64];
    for (int p = 1; p <= maxp; p++) {
        *e = sci_digits(ax, p, d, txt, sizeof txt);
        if (reads_back(txt, ax, is32)) return p;
        if (pow2) {
            int ue = *e;
            memcpy(up, d, (size_t)p + 1);
            bump_up(up, p, &ue, uptxt, sizeof uptxt);
            if (reads_back(uptxt, ax, is32)) {
                memcpy(d, up, (size_t)p + 1);
                *e = ue;
                return p;
            }
        }
    }
    return 0;
}

/* A number split the way arrayprint needs it: sign ("" "-" "+"), integer
 * digits, fraction digits, and for scientific the exponent text ("-05"). */
typedef struct {
    char sign[2];
    char ip[400];
    char fp[400];
    char ex[8];
} numparts;

static void set_sign(numparts *np, double x, int sign_plus) {
    np->sign[0] = signbit(x) ? '-' : sign_plus ? '+' : '\0';
    np->sign[1] = '\0';
}

static void strip_zeros(char *s) {
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == '0') s[--n] = '\0';
}

/* numpy's dragon4_positional(x, unique=True, fractional=True, precision=prec,
 * min_digits=0 when prec >= 0) before trimming and padding: shortest
 * digits, cut to prec fractional digits (prec < 0: no cut), trailing
 * fraction zeros removed. */
static void positional_parts(double x, int is32, int prec, int sign_plus, numparts *np) {
    double ax = fabs(x);
    char d[32];
    int e;
    set_sign(np, x, sign_plus);
    int p = shortest_digits(ax, is32, 17, d, &e);
    int nfrac = p - 1 - e;
    /* With a precision numpy also passes min_digits=0, which makes Dragon4
     * produce every integer digit of the exact value: float32 97049792
     * prints as "97049792." in an array but "97049790.0" as a scalar. */
    if (prec >= 0 && (nfrac > prec || e + 1 > p)) {
        char buf[400];
        snprintf(buf, sizeof buf, "%.*f", prec, ax);
        char *dot = strchr(buf, '.');
        if (dot) {
            *dot = '\0';
            snprintf(np->fp, sizeof np->fp, "%s", dot + 1);
        } else {
            np->fp[0] = '\0';
        }
        snprintf(np->ip, sizeof np->ip, "%s", buf);
        strip_zeros(np->fp);
        return;
    }
    if (e >= 0) {
        int k = 0;
        for (int i = 0; i <= e && k < (int)sizeof np->ip - 1; i++) np->ip[k++] = i < p ? d[i] : '0';
        np->ip[k] = '\0';
        k = 0;
        for (int i = e + 1; i < p; i++) np->fp[k++] = d[i];
        np->fp[k] = '\0';
    } else {
        strcpy(np->ip, "0");
        int k = 0;
        for (int i = 0; i < -e - 1 && k < (int)sizeof np->fp - 20; i++) np->fp[k++] = '0';
        for (int i = 0; i < p; i++) np->fp[k++] = d[i];
        np->fp[k] = '\0';
    }
    strip_zeros(np->fp);
}

/* numpy's dragon4_scientific(x, unique=True, precision=prec) before trimming:
 * shortest mantissa digits, at most prec after the point (prec < 0: no
 * limit), trailing zeros removed; exponent text with at least 2 digits. */
static void scientific_parts(double x, int is32, int prec, int sign_plus, numparts *np) {
    double ax = fabs(x);
    char d[32];
    int e;
    set_sign(np, x, sign_plus);
    int p = shortest_digits(ax, is32, prec >= 0 ? prec + 1 : 17, d, &e);
    if (p == 0) e = sci_digits(ax, prec + 1, d, NULL, 0);
    np->ip[0] = d[0];
    np->ip[1] = '\0';
    snprintf(np->fp, sizeof np->fp, "%s", d + 1);
    strip_zeros(np->fp);
    unsigned ue = (unsigned)(e < 0 ? -e : e) % 1000u;   /* |e| <= 324 for doubles */
    snprintf(np->ex, sizeof np->ex, "%c%02u", e < 0 ? '-' : '+', ue);
}

/* ---- scalars --------------------------------------------------------------- */

/* numpy's float scalar str: positional for 0 and 1e-4 <= |x| < 1e16, else
 * scientific.  one_zero: positional whole numbers end ".0" (float scalars)
 * rather than nothing (parts of complex scalars). */
static void scalar_real(sbuf *b, double x, int is32, int sign_plus, int one_zero) {
    if (isnan(x)) {
        sb_str(b, sign_plus ? "+nan" : "nan");
        return;
    }
    if (isinf(x)) {
        sb_str(b, x < 0 ? "-inf" : sign_plus ? "+inf" : "inf");
        return;
    }
    numparts np;
    double ax = fabs(x);
    if (ax == 0 || (ax >= 1e-4 && ax < 1e16)) {
        positional_parts(x, is32, -1, sign_plus, &np);
        sb_str(b, np.sign);
        sb_str(b, np.ip);
        if (np.fp[0]) {
            sb_str(b, ".");
            sb_str(b, np.fp);
        } else if (one_zero) {
            sb_str(b, ".0");
        }
    } else {
        scientific_parts(x, is32, -1, sign_plus, &np);
        sb_str(b, np.sign);
        sb_str(b, np.ip);
        if (np.fp[0]) {
            sb_str(b, ".");
            sb_str(b, np.fp);
        }
        sb_str(b, "e");
        sb_str(b, np.ex);
    }
}

static void scalar_str(sbuf *b, txrt_dtype dt, double re, double im) {
    int is32 = dt == TXRT_F32 || dt == TXRT_C64;
    if (is32) {
        re = (float)re;
        im = (float)im;
    }
    if (!txrt_dtype_is_complex(dt)) {
        scalar_real(b, re, is32, 0, 1);
        return;
    }
    if (re == 0 && !signbit(re)) {
        scalar_real(b, im, is32, 0, 0);
        sb_str(b, "j");
        return;
    }
    sb_str(b, "(");
    scalar_real(b, re, is32, 0, 0);
    scalar_real(b, im, is32, 1, 0);
    sb_str(b, "j)");
}

void txrt_format_scalar(char *buf, size_t n, txrt_dtype dt, double re, double im) {
    if (!buf || n == 0) return;
    sbuf b = { 0 };
    scalar_str(&b, dt, re, im);
    snprintf(buf, n, "%s", b.p && !b.oom ? b.p : "?");
    free(b.p);
}

/* ---- FloatingFormat ---------------------------------------------------------- */

typedef struct {
    int is32;
    int sign_plus;
    int exp_format;
    int precision;    /* fraction digits: at most 8 positional, exactly this many scientific */
    int pad_left, pad_right;
    int exp_size;
} ffmt;

/* FloatingFormat.fillFormat over the values v[0..n). */
static void ffmt_fill(ffmt *f, const double *v, size_t n, int is32, int sign_plus) {
    memset(f, 0, sizeof *f);
    f->is32 = is32;
    f->sign_plus = sign_plus;
    f->precision = 8;
    f->exp_size = -1;
    size_t nfinite = 0;
    int have_nz = 0, neginf = 0;
    double maxv = 0, minv = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i])) {
            if (isinf(v[i]) && v[i] < 0) neginf = 1;
            continue;
        }
        nfinite++;
        double a = fabs(v[i]);
        if (a == 0) continue;
        if (!have_nz) maxv = minv = a;
        if (a > maxv) maxv = a;
        if (a < minv) minv = a;
        have_nz = 1;
    }
    if (have_nz) {
        double ratio = is32 ? (double)((float)maxv / (float)minv) : maxv / minv;
        if (maxv >= 1e8 || minv < 0.0001 || ratio > 1000.) f->exp_format = 1;
    }
    if (nfinite == 0) {
        f->pad_left = f->pad_right = 0;
    } else if (f->exp_format) {
        int maxexp = 0, maxfrac = 0, maxint = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isfinite(v[i])) continue;
            numparts np;
            scientific_parts(v[i], is32, 8, sign_plus, &np);
            int le = (int)strlen(np.ex), lf = (int)strlen(np.fp), li = (int)(strlen(np.sign) + strlen(np.ip));
            if (le > maxexp) maxexp = le;
            if (lf > maxfrac) maxfrac = lf;
            if (li > maxint) maxint = li;
        }
        f->exp_size = maxexp - 1;
        f->precision = maxfrac;
        f->pad_left = maxint;
        f->pad_right = f->exp_size + 2 + f->precision;
    } else {
        int maxfrac = 0, maxint = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isfinite(v[i])) continue;
            numparts np;
            positional_parts(v[i], is32, 8, sign_plus, &np);
            int lf = (int)strlen(np.fp), li = (int)(strlen(np.sign) + strlen(np.ip));
            if (lf > maxfrac) maxfrac = lf;
            if (li > maxint) maxint = li;
        }
        f->pad_left = maxint;
        f->pad_right = maxfrac;
    }
    if (nfinite != n) {
        int offset = f->pad_right + 1;
        int inflen = 3 + (sign_plus || neginf);
        if (3 - offset > f->pad_left) f->pad_left = 3 - offset;
        if (inflen - offset > f->pad_left) f->pad_left = inflen - offset;
    }
}

/* FloatingFormat.__call__ */
static void ffmt_apply(const ffmt *f, double x, sbuf *b) {
    if (!isfinite(x)) {
        const char *r = isnan(x) ? (f->sign_plus ? "+nan" : "nan")
                                 : x < 0 ? "-inf" : f->sign_plus ? "+inf" : "inf";
        int w = f->pad_left + f->pad_right + 1 - (int)strlen(r);
        if (w > 0) sb_spaces(b, (size_t)w);
        sb_str(b, r);
        return;
    }
    numparts np;
    if (f->exp_format) {
        /* mantissa with exactly `precision` digits, exact value rounded */
        char d[32];
        set_sign(&np, x, f->sign_plus);
        int e = sci_digits(fabs(x), f->precision + 1, d, NULL, 0);
        int li = (int)strlen(np.sign) + 1;
        if (f->pad_left > li) sb_spaces(b, (size_t)(f->pad_left - li));
        sb_str(b, np.sign);
        sb_add(b, d, 1);
        sb_str(b, ".");
        sb_str(b, d + 1);
        char ex[16];
        unsigned ue = (unsigned)(e < 0 ? -e : e) % 1000u;
        snprintf(ex, sizeof ex, f->exp_size >= 3 ? "e%c%03u" : "e%c%02u", e < 0 ? '-' : '+', ue);
        sb_str(b, ex);
    } else {
        positional_parts(x, f->is32, 8, f->sign_plus, &np);
        int li = (int)(strlen(np.sign) + strlen(np.ip));
        if (f->pad_left > li) sb_spaces(b, (size_t)(f->pad_left - li));
        sb_str(b, np.sign);
        sb_str(b, np.ip);
        sb_str(b, ".");
        sb_str(b, np.fp);
        int lf = (int)strlen(np.fp);
        if (f->pad_right > lf) sb_spaces(b, (size_t)(f->pad_right - lf));
    }
}

/* ---- arrays ------------------------------------------------------------------ */

#define LINEWIDTH 75
#define THRESHOLD 1000
#define EDGEITEMS 3

typedef struct {
    const txrt_tensor *t;
    int cplx;
    int summary;            /* more than THRESHOLD elements: abbreviate */
    int64_t stride[TXRT_MAX_RANK];
    ffmt re, im;
} pctx;

/* _leading_trailing: flat indices of the items the format is decided on. */
static void collect(const pctx *pc, int axis, int64_t base, int64_t **out, size_t *n, size_t *cap) {
    const txrt_tensor *t = pc->t;
    if (axis == t->rank) {
        if (*n == *cap) {
            size_t nc = *cap ? *cap * 2 : 64;
            int64_t *p = realloc(*out, nc * sizeof **out);
            if (!p) return;   /* the caller sees n < the expected count */
            *out = p;
            *cap = nc;
        }
        (*out)[(*n)++] = base;
        return;
    }
    int64_t len = t->shape[axis];
    if (pc->summary && len > 2 * EDGEITEMS) {
        for (int64_t i = 0; i < EDGEITEMS; i++) collect(pc, axis + 1, base + i * pc->stride[axis], out, n, cap);
        for (int64_t i = len - EDGEITEMS; i < len; i++)
            collect(pc, axis + 1, base + i * pc->stride[axis], out, n, cap);
    } else {
        for (int64_t i = 0; i < len; i++) collect(pc, axis + 1, base + i * pc->stride[axis], out, n, cap);
    }
}

/* How many items collect() should find below `axis`. */
static size_t expected_items(const pctx *pc, int axis) {
    size_t n = 1;
    for (int d = axis; d < pc->t->rank; d++) {
        int64_t len = pc->t->shape[d];
        n *= (size_t)(pc->summary && len > 2 * EDGEITEMS ? 2 * EDGEITEMS : len);
    }
    return n;
}

static void element(const pctx *pc, int64_t flat, sbuf *b) {
    double re, im;
    txrt_get(pc->t, flat, &re, &im);
    ffmt_apply(&pc->re, re, b);
    if (!pc->cplx) return;
    sbuf ib = { 0 };
    ffmt_apply(&pc->im, im, &ib);
    size_t sp = ib.len;
    while (sp > 0 && ib.p[sp - 1] == ' ') sp--;
    sb_add(b, ib.p, sp);
    sb_str(b, "j");
    sb_add(b, ib.p + sp, ib.len - sp);
    if (ib.oom) b->oom = 1;
    free(ib.p);
}

/* _extendLine */
static void extend_line(sbuf *s, sbuf *line, const char *word, size_t wlen, int width, int hang) {
    int wrap = (int)(line->len + wlen) > width;
    if ((int)line->len <= hang) wrap = 0;
    if (wrap) {
        size_t n = line->len;
        while (n > 0 && line->p[n - 1] == ' ') n--;
        sb_add(s, line->p, n);
        sb_str(s, "\n");
        line->len = 0;
        sb_spaces(line, (size_t)hang);
    }
    sb_add(line, word, wlen);
}

/* _formatArray's recurser for the sub-array at `base` on `axis`; appends
 * "[...]" to out. */
static void recurse(const pctx *pc, int axis, int64_t base, int hang, int width, sbuf *out) {
    const txrt_tensor *t = pc->t;
    int axes_left = t->rank - axis;
    int64_t len = t->shape[axis], st = pc->stride[axis];
    int show = pc->summary && len > 2 * EDGEITEMS;
    int64_t lead = show ? EDGEITEMS : 0, trail = show ? EDGEITEMS : len;
    sbuf s = { 0 };
    sb_reserve(&s, 0);
    if (axes_left == 1) {
        int ew = width - 1;   /* room for the ']' */
        sbuf line = { 0 }, w = { 0 };
        sb_spaces(&line, (size_t)hang);
        for (int64_t i = 0; i < lead; i++) {
            w.len = 0;
            element(pc, base + i * st, &w);
            extend_line(&s, &line, w.p, w.len, ew, hang);
            sb_str(&line, " ");
        }
        if (show) {
            extend_line(&s, &line, "...", 3, ew, hang);
            sb_str(&line, " ");
        }
        for (int64_t i = trail; i > 1; i--) {
            w.len = 0;
            element(pc, base + (len - i) * st, &w);
            extend_line(&s, &line, w.p, w.len, ew, hang);
            sb_str(&line, " ");
        }
        w.len = 0;
        element(pc, base + (len - 1) * st, &w);
        extend_line(&s, &line, w.p, w.len, ew, hang);
        sb_add(&s, line.p, line.len);
        if (line.oom || w.oom) s.oom = 1;
        free(line.p);
        free(w.p);
    } else {
        int nl = axes_left - 1;   /* line_sep: '\n' * (axes_left - 1) */
        for (int64_t i = 0; i < lead; i++) {
            sb_spaces(&s, (size_t)hang);
            recurse(pc, axis + 1, base + i * st, hang + 1, width - 1, &s);
            for (int k = 0; k < nl; k++) sb_str(&s, "\n");
        }
        if (show) {
            sb_spaces(&s, (size_t)hang);
            sb_str(&s, "...");
            for (int k = 0; k < nl; k++) sb_str(&s, "\n");
        }
        for (int64_t i = trail; i > 1; i--) {
            sb_spaces(&s, (size_t)hang);
            recurse(pc, axis + 1, base + (len - i) * st, hang + 1, width - 1, &s);
            for (int k = 0; k < nl; k++) sb_str(&s, "\n");
        }
        sb_spaces(&s, (size_t)hang);
        recurse(pc, axis + 1, base + (len - 1) * st, hang + 1, width - 1, &s);
    }
    sb_str(out, "[");
    if (s.len > (size_t)hang) sb_add(out, s.p + hang, s.len - (size_t)hang);
    sb_str(out, "]");
    if (s.oom) out->oom = 1;
    free(s.p);
}

/* numpy's str(array) body of a tensor of rank >= 1 into b. */
static void array_str(const txrt_tensor *t, sbuf *b) {
    if (t->size == 0) {
        sb_str(b, "[]");
        return;
    }
    pctx pc;
    memset(&pc, 0, sizeof pc);
    pc.t = t;
    pc.cplx = txrt_dtype_is_complex(t->dtype);
    pc.summary = t->size > THRESHOLD;
    int64_t st = 1;
    for (int d = t->rank - 1; d >= 0; d--) {
        pc.stride[d] = st;
        st *= t->shape[d];
    }
    int64_t *idx = NULL;
    size_t n = 0, cap = 0;
    collect(&pc, 0, 0, &idx, &n, &cap);
    double *re = malloc((n ? n : 1) * sizeof *re), *im = malloc((n ? n : 1) * sizeof *im);
    if (!re || !im || n != expected_items(&pc, 0)) {
        free(re);
        free(im);
        free(idx);
        b->oom = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) txrt_get(t, idx[i], &re[i], &im[i]);
    int is32 = t->dtype == TXRT_F32 || t->dtype == TXRT_C64;
    ffmt_fill(&pc.re, re, n, is32, 0);
    if (pc.cplx) ffmt_fill(&pc.im, im, n, is32, 1);
    free(re);
    free(im);
    free(idx);
    recurse(&pc, 0, 0, 1, LINEWIDTH, b);
}

void txrt_print(FILE *f, const txrt_tensor *t) {
    if (!f) return;
    if (!t) {
        fputs("<no tensor>", f);
        return;
    }
    sbuf b = { 0 };
    if (t->rank == 0) {
        double re, im;
        txrt_get(t, 0, &re, &im);
        scalar_str(&b, t->dtype, re, im);
    } else {
        array_str(t, &b);
        sb_str(&b, " ");
        sb_str(&b, txrt_dtype_name(t->dtype));
        sb_str(&b, "[");
        for (int d = 0; d < t->rank; d++) {
            char num[24];
            snprintf(num, sizeof num, d ? ",%lld" : "%lld", (long long)t->shape[d]);
            sb_str(&b, num);
        }
        sb_str(&b, "]");
    }
    if (b.oom) fputs("<out of memory while printing>", f);
    else fwrite(b.p, 1, b.len, f);
    free(b.p);
}
