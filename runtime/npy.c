/*
 * npy.c -- reading and writing numpy .npy files.
 *
 * Format (numpy/lib/format.py): the magic "\x93NUMPY", a major and minor
 * version byte, the header length (2 bytes little-endian in 1.0, 4 bytes
 * in 2.0 and 3.0), then the header: the text of a Python dict literal
 *     {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and ended by '\n', then the raw array data.  3.0 is
 * 2.0 with a UTF-8 header; both are read the same way.
 *
 * Reading accepts the descrs '<f8' '<f4' '<c16' '<c8' (txc's f64, f32,
 * c128, c64) in C order.  The header is parsed as a small subset of Python
 * literals: keys in any order, any whitespace, single or double quotes,
 * a trailing comma, shape tuples "()", "(3,)", "(2, 3)" (and Python 2's
 * "3L").  Anything else -- a bad magic, an unknown version, a malformed or
 * incomplete header, another dtype, big-endian data, Fortran order, or a
 * data part that is not exactly size * itemsize bytes -- is an error whose
 * message starts "cannot load 'NAME': " and says what is wrong.  Sizes are
 * validated before anything is allocated, so a corrupt header cannot make
 * the loader ask for absurd memory; txrt_npy_load_mem is the same parser
 * on a buffer and is fuzzed by test_npy.c.
 *
 * Writing produces exactly what numpy 1.24's np.save writes: format 1.0
 * (2.0 only if the header exceeds 65535 bytes), keys sorted, the spare
 * spaces numpy leaves for growing axis 0, padding so the data starts at a
 * multiple of 64 bytes.  The file is written to a temporary file in the
 * same directory (mkstemp) and renamed over the target, so an interrupted
 * run never leaves a half-written .npy.  The temporary is not fsync'ed:
 * the rename protects against crashes of the program, not of the machine.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include "txrt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "\x93NUMPY"
#define MAGIC_LEN 6

typedef struct {
    txrt_dtype dt;
    int rank;
    int64_t shape[TXRT_MAX_RANK];
    int64_t size;
    uint64_t data_bytes;         /* size * itemsize */
} npy_info;

/* Printable rendering of untrusted bytes for messages (at most ~40 chars). */
static const char *printable(const char *s, size_t n, char *buf, size_t cap) {
    size_t j = 0;
    for (size_t i = 0; i < n && j + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= 40) {
            buf[j++] = '.'; buf[j++] = '.'; buf[j++] = '.';
            break;
        }
        buf[j++] = (c >= 32 && c < 127) ? (char)c : '?';
    }
    buf[j] = '\0';
    return buf;
}

/* ---- preamble ---------------------------------------------------------------- */

/* Magic, version and header length from the first n bytes of the file
 * (n may be the whole file or just its first 12 bytes).  On success
 * *hlen is the header length and *hstart its offset (10 or 12). */
static int parse_preamble(txrt_ctx *ctx, const char *what, const unsigned char *b, size_t n,
                          uint64_t *hlen, size_t *hstart) {
    if (n == 0) return txrt_fail(ctx, "cannot load '%s': the file is empty", what);
    size_t m = n < MAGIC_LEN ? n : MAGIC_LEN;
    if (memcmp(b, MAGIC, m) != 0)
        return txrt_fail(ctx, "cannot load '%s': not a .npy file (it does not start with \\x93NUMPY)", what);
    if (n < MAGIC_LEN + 2)
        return txrt_fail(ctx, "cannot load '%s': file is truncated: it ends inside the .npy preamble (%zu bytes)",
                         what, n);
    int maj = b[6], min = b[7];
    if ((maj != 1 && maj != 2 && maj != 3) || min != 0)
        return txrt_fail(ctx, "cannot load '%s': unsupported .npy format version %d.%d (txc reads 1.0, 2.0 and 3.0)",
                         what, maj, min);
    size_t start = maj == 1 ? 10 : 12;
    if (n < start)
        return txrt_fail(ctx, "cannot load '%s': file is truncated: it ends inside the .npy preamble (%zu bytes)",
                         what, n);
    if (maj == 1) *hlen = (uint64_t)b[8] | (uint64_t)b[9] << 8;
    else *hlen = (uint64_t)b[8] | (uint64_t)b[9] << 8 | (uint64_t)b[10] << 16 | (uint64_t)b[11] << 24;
    *hstart = start;
    return 0;
}

/* ---- header dict --------------------------------------------------------------- */

typedef struct {
    const char *p, *end, *begin;
    txrt_ctx *ctx;
    const char *what;
} hparser;

static int herr(hparser *h, const char *msg) {
    return txrt_fail(h->ctx, "cannot load '%s': malformed .npy header: %s (at header byte %ld)",
                     h->what, msg, (long)(h->p - h->begin));
}

static void skip_ws(hparser *h) {
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r' ||
                             *h->p == '\f' || *h->p == '\v'))
        h->p++;
}

/* A quoted Python string (optionally u-prefixed); contents truncated into
 * out[cap].  Returns its full length, or -1 on error. */
static long parse_string(hparser *h, char *out, size_t cap) {
    if (h->p < h->end && (*h->p == 'u' || *h->p == 'U')) h->p++;
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) {
        herr(h, "expected a quoted string");
        return -1;
    }
    const char *open = h->p;
    char q = *h->p++;
    size_t len = 0;
    int broken = 0;
    while (h->p < h->end && *h->p != q) {
        char c = *h->p++;
        if (c == '\n') {   /* Python strings do not span lines */
            broken = 1;
            break;
        }
        if (c == '\\') {
            if (h->p >= h->end) break;
            c = *h->p++;
        }
        if (len + 1 < cap) out[len] = c;
        len++;
    }
    if (broken || h->p >= h->end) {
        h->p = open;
        herr(h, "unterminated string");
        return -1;
    }
    h->p++;   /* closing quote */
    if (cap) out[len + 1 < cap ? len : cap - 1] = '\0';
    return (long)len;
}

static int is_ident(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int parse_bool(hparser *h, int *out) {
    size_t left = (size_t)(h->end - h->p);
    if (left >= 4 && memcmp(h->p, "True", 4) == 0 && (left == 4 || !is_ident(h->p[4]))) {
        h->p += 4;
        *out = 1;
        return 0;
    }
    if (left >= 5 && memcmp(h->p, "False", 5) == 0 && (left == 5 || !is_ident(h->p[5]))) {
        h->p += 5;
        *out = 0;
        return 0;
    }
    return herr(h, "'fortran_order' is not True or False");
}

/* A tuple of non-negative ints: "()", "(3,)", "(2, 3)", "(2, 3,)". */
static int parse_shape(hparser *h, npy_info *info) {
    if (h->p >= h->end || *h->p != '(') return herr(h, "'shape' is not a tuple");
    h->p++;
    int rank = 0, commas = 0;
    for (;;) {
        skip_ws(h);
        if (h->p >= h->end) return herr(h, "unterminated shape tuple");
        if (*h->p == ')') {
            if (rank == 1 && commas == 0) return herr(h, "'shape' is not a tuple (write (n,) for one dimension)");
            h->p++;
            break;
        }
        if (rank > commas) return herr(h, "expected ',' or ')' in the shape tuple");
        int neg = 0;
        const char *num = h->p;
        if (*h->p == '-' || *h->p == '+') {
            neg = *h->p == '-';
            h->p++;
            skip_ws(h);
        }
        if (h->p >= h->end || *h->p < '0' || *h->p > '9') return herr(h, "expected an integer in the shape tuple");
        int64_t v = 0;
        while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
            if (__builtin_mul_overflow(v, (int64_t)10, &v) || __builtin_add_overflow(v, (int64_t)(*h->p - '0'), &v)) {
                h->p = num;
                return herr(h, "a dimension in the shape tuple is too large");
            }
            h->p++;
        }
        if (h->p < h->end && (*h->p == 'L' || *h->p == 'l')) h->p++;   /* Python 2 long */
        if (neg && v != 0) {
            h->p = num;
            return herr(h, "the shape has a negative dimension");
        }
        if (rank >= TXRT_MAX_RANK)
            return txrt_fail(h->ctx, "cannot load '%s': the array has more than %d dimensions, which txc does not support",
                             h->what, TXRT_MAX_RANK);
        info->shape[rank++] = v;
        skip_ws(h);
        if (h->p < h->end && *h->p == ',') {
            h->p++;
            commas++;
        }
    }
    info->rank = rank;
    return 0;
}

static int check_descr(hparser *h, const char *d, long len, npy_info *info) {
    static const struct { const char *descr; txrt_dtype dt; } ok[] = {
        { "<f8", TXRT_F64 }, { "<f4", TXRT_F32 }, { "<c16", TXRT_C128 }, { "<c8", TXRT_C64 },
    };
    char show[64];
    printable(d, (size_t)len, show, sizeof show);
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if ((size_t)len == strlen(ok[i].descr) && strcmp(d, ok[i].descr) == 0) {
            info->dt = ok[i].dt;
            return 0;
        }
        if ((size_t)len == strlen(ok[i].descr) && d[0] == '>' && strcmp(d + 1, ok[i].descr + 1) == 0)
            return txrt_fail(h->ctx, "cannot load '%s': big-endian data ('%s') is not supported "
                             "(convert with numpy astype('%s'))", h->what, show, ok[i].descr);
    }
    return txrt_fail(h->ctx, "cannot load '%s': dtype '%s' is not supported: txc reads f64, f32, c128, c64 "
                     "(convert with numpy astype)", h->what, show);
}

/* The header text hdr[0..n) into info. */
static int parse_dict(txrt_ctx *ctx, const char *what, const char *hdr, size_t n, npy_info *info) {
    hparser hp = { hdr, hdr + n, hdr, ctx, what }, *h = &hp;
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0;
    char descr[64];
    long descr_len = 0;
    npy_info shp;
    memset(&shp, 0, sizeof shp);
    skip_ws(h);
    if (h->p >= h->end || *h->p != '{') return herr(h, "it does not start with '{'");
    h->p++;
    for (;;) {
        skip_ws(h);
        if (h->p >= h->end) return herr(h, "it ends before the closing '}'");
        if (*h->p == '}') {
            h->p++;
            break;
        }
        char key[32];
        long klen = parse_string(h, key, sizeof key);
        if (klen < 0) return -1;
        skip_ws(h);
        if (h->p >= h->end || *h->p != ':') return herr(h, "expected ':' after a key");
        h->p++;
        skip_ws(h);
        if (klen == 5 && strcmp(key, "descr") == 0) {
            if (h->p < h->end && (*h->p == '[' || *h->p == '('))
                return txrt_fail(ctx, "cannot load '%s': structured dtypes are not supported: txc reads f64, f32, "
                                 "c128, c64", what);
            descr_len = parse_string(h, descr, sizeof descr);
            if (descr_len < 0) return -1;
            if (descr_len >= (long)sizeof descr) descr_len = sizeof descr - 1;
            have_descr = 1;
        } else if (klen == 13 && strcmp(key, "fortran_order") == 0) {
            if (parse_bool(h, &fortran) != 0) return -1;
            have_order = 1;
        } else if (klen == 5 && strcmp(key, "shape") == 0) {
            if (parse_shape(h, &shp) != 0) return -1;
            have_shape = 1;
        } else {
            char show[64];
            return txrt_fail(ctx, "cannot load '%s': malformed .npy header: unexpected key '%s'", what,
                             printable(key, (size_t)(klen < (long)sizeof key ? klen : (long)sizeof key - 1),
                                       show, sizeof show));
        }
        skip_ws(h);
        if (h->p < h->end && *h->p == ',') {
            h->p++;
            continue;
        }
        skip_ws(h);
        if (h->p >= h->end) return herr(h, "it ends before the closing '}'");
        if (*h->p != '}') return herr(h, "expected ',' or '}' after a value");
    }
    skip_ws(h);
    if (h->p != h->end) return herr(h, "unexpected text after the closing '}'");
    if (!have_descr) return txrt_fail(ctx, "cannot load '%s': malformed .npy header: no 'descr' key", what);
    if (!have_order) return txrt_fail(ctx, "cannot load '%s': malformed .npy header: no 'fortran_order' key", what);
    if (!have_shape) return txrt_fail(ctx, "cannot load '%s': malformed .npy header: no 'shape' key", what);
    if (check_descr(h, descr, descr_len, info) != 0) return -1;
    if (fortran)
        return txrt_fail(ctx, "cannot load '%s': Fortran-order (column-major) data is not supported "
                         "(save a C-order array, e.g. with numpy.ascontiguousarray)", what);
    info->rank = shp.rank;
    memcpy(info->shape, shp.shape, sizeof shp.shape);
    char sh[TXRT_MAX_RANK * 22 + 8];
    int64_t bytes;
    if (txrt_shape_size(info->rank, info->shape, &info->size) != 0 ||
        __builtin_mul_overflow(info->size, (int64_t)txrt_dtype_size(info->dt), &bytes))
        return txrt_fail(ctx, "cannot load '%s': the shape %s is too large", what,
                         txrt_shape_str(info->rank, info->shape, sh, sizeof sh));
    info->data_bytes = (uint64_t)bytes;
    return 0;
}

/* ---- data ---------------------------------------------------------------------- */

static int data_size_error(txrt_ctx *ctx, const char *what, uint64_t want, uint64_t have) {
    if (have < want)
        return txrt_fail(ctx, "cannot load '%s': file is truncated: expected %llu bytes of data, found %llu",
                         what, (unsigned long long)want, (unsigned long long)have);
    return txrt_fail(ctx, "cannot load '%s': file is longer than its header says: expected %llu bytes of data, "
                     "found %llu", what, (unsigned long long)want, (unsigned long long)have);
}

/* .npy data is little-endian; swap components in place on a big-endian host. */
static void to_from_little(void *data, int64_t size, txrt_dtype dt) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    size_t comp = (dt == TXRT_F64 || dt == TXRT_C128) ? 8 : 4;
    size_t n = (size_t)size * txrt_dtype_size(dt) / comp;
    unsigned char *b = data;
    for (size_t i = 0; i < n; i++, b += comp)
        for (size_t k = 0; k < comp / 2; k++) {
            unsigned char c = b[k];
            b[k] = b[comp - 1 - k];
            b[comp - 1 - k] = c;
        }
#else
    (void)data; (void)size; (void)dt;
#endif
}

txrt_tensor *txrt_npy_load_mem(txrt_ctx *ctx, const void *buf, size_t len, const char *what) {
    const unsigned char *b = buf;
    uint64_t hlen;
    size_t hstart;
    if (!what) what = "<memory>";
    if (!b) len = 0;
    if (parse_preamble(ctx, what, b, len, &hlen, &hstart) != 0) return NULL;
    if (hlen > len - hstart) {
        txrt_fail(ctx, "cannot load '%s': file is truncated: the .npy header is %llu bytes but the file ends after %zu",
                  what, (unsigned long long)hlen, len - hstart);
        return NULL;
    }
    npy_info info;
    memset(&info, 0, sizeof info);
    if (parse_dict(ctx, what, (const char *)b + hstart, (size_t)hlen, &info) != 0) return NULL;
    size_t off = hstart + (size_t)hlen;
    if (info.data_bytes != (uint64_t)(len - off)) {
        data_size_error(ctx, what, info.data_bytes, len - off);
        return NULL;
    }
    txrt_tensor *t = txrt_tensor_new(ctx, info.dt, info.rank, info.shape);
    if (!t) {
        txrt_fail(ctx, "cannot load '%s': %s", what, ctx ? ctx->errmsg : "");
        return NULL;
    }
    if (info.data_bytes) memcpy(t->data, b + off, (size_t)info.data_bytes);
    to_from_little(t->data, t->size, t->dtype);
    return t;
}

txrt_tensor *txrt_npy_load(txrt_ctx *ctx, const char *path) {
    if (!path) {
        txrt_fail(ctx, "cannot load a .npy file: no path given");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        txrt_fail(ctx, "cannot load '%s': %s", path, strerror(errno));
        return NULL;
    }
    txrt_tensor *t = NULL;
    char *hdr = NULL;
    struct stat st;
    int regular = 0;
    if (fstat(fileno(f), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            txrt_fail(ctx, "cannot load '%s': it is a directory", path);
            goto done;
        }
        regular = S_ISREG(st.st_mode);
    }
    /* the preamble: 10 bytes, 12 for versions 2.0 and 3.0 */
    unsigned char pre[12];
    size_t n = fread(pre, 1, 10, f);
    if (n == 10 && (pre[6] == 2 || pre[6] == 3)) n += fread(pre + 10, 1, 2, f);
    if (ferror(f)) {
        txrt_fail(ctx, "cannot load '%s': %s", path, strerror(errno));
        goto done;
    }
    uint64_t hlen;
    size_t hstart;
    if (parse_preamble(ctx, path, pre, n, &hlen, &hstart) != 0) goto done;
    /* The header, grown as bytes arrive so a lying length costs no memory. */
    size_t have = 0;
    while (have < hlen) {
        size_t want = hlen - have < ((size_t)1 << 16) ? (size_t)(hlen - have) : ((size_t)1 << 16);
        char *nh = realloc(hdr, have + want);
        if (!nh) {
            txrt_fail(ctx, "cannot load '%s': out of memory reading its header", path);
            goto done;
        }
        hdr = nh;
        size_t got = fread(hdr + have, 1, want, f);
        have += got;
        if (got < want) {
            if (ferror(f)) txrt_fail(ctx, "cannot load '%s': %s", path, strerror(errno));
            else txrt_fail(ctx, "cannot load '%s': file is truncated: the .npy header is %llu bytes but the file "
                           "ends after %zu", path, (unsigned long long)hlen, have);
            goto done;
        }
    }
    npy_info info;
    memset(&info, 0, sizeof info);
    static const char empty[1] = "";
    if (parse_dict(ctx, path, hdr ? hdr : empty, (size_t)hlen, &info) != 0) goto done;
    uint64_t off = hstart + hlen;
    if (regular && (uint64_t)st.st_size != off + info.data_bytes) {
        data_size_error(ctx, path, info.data_bytes, (uint64_t)st.st_size >= off ? (uint64_t)st.st_size - off : 0);
        goto done;
    }
    t = txrt_tensor_new(ctx, info.dt, info.rank, info.shape);
    if (!t) {
        txrt_fail(ctx, "cannot load '%s': %s", path, ctx ? ctx->errmsg : "");
        goto done;
    }
    size_t got = info.data_bytes ? fread(t->data, 1, (size_t)info.data_bytes, f) : 0;
    if (ferror(f)) {
        txrt_fail(ctx, "cannot load '%s': %s", path, strerror(errno));
        goto fail;
    }
    if (got != info.data_bytes) {
        data_size_error(ctx, path, info.data_bytes, got);
        goto fail;
    }
    if (fgetc(f) != EOF) {
        /* only reachable for pipes, or a file that grew while we read it */
        uint64_t extra = 1;
        while (fgetc(f) != EOF) extra++;
        data_size_error(ctx, path, info.data_bytes, info.data_bytes + extra);
        goto fail;
    }
    to_from_little(t->data, t->size, t->dtype);
    goto done;
fail:
    txrt_release(t);
    t = NULL;
done:
    free(hdr);
    fclose(f);
    return t;
}

/* ---- saving ------------------------------------------------------------------ */

static const char *npy_descr(txrt_dtype dt) {
    switch (dt) {
    case TXRT_F64: return "<f8";
    case TXRT_F32: return "<f4";
    case TXRT_C128: return "<c16";
    case TXRT_C64: return "<c8";
    }
    return NULL;
}

/* numpy 1.24's header bytes for t into out (at least 1024 bytes); returns
 * the total length of magic + version + length field + header. */
static size_t build_header(const txrt_tensor *t, unsigned char *out, size_t cap) {
    char dict[TXRT_MAX_RANK * 24 + 160], sh[TXRT_MAX_RANK * 22 + 8];
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                       npy_descr(t->dtype), txrt_shape_str(t->rank, t->shape, sh, sizeof sh));
    if (t->rank > 0) {
        /* spare room numpy leaves to grow axis 0 in place: 21 - len(repr(shape[0])) */
        char d0[24];
        int dl = snprintf(d0, sizeof d0, "%lld", (long long)t->shape[0]);
        for (int k = dl; k < 21; k++) dict[len++] = ' ';
        dict[len] = '\0';
    }
    size_t hl = (size_t)len + 1;                                  /* + '\n' */
    size_t pre = 10;
    size_t pad = 64 - (pre + hl) % 64;                            /* 1..64, as numpy */
    int v2 = hl + pad > 65535;
    if (v2) {
        pre = 12;
        pad = 64 - (pre + hl) % 64;
    }
    size_t total = pre + hl + pad;
    if (total > cap) return 0;
    size_t hfield = hl + pad;
    memcpy(out, MAGIC, MAGIC_LEN);
    out[6] = v2 ? 2 : 1;
    out[7] = 0;
    out[8] = (unsigned char)(hfield & 0xff);
    out[9] = (unsigned char)(hfield >> 8 & 0xff);
    if (v2) {
        out[10] = (unsigned char)(hfield >> 16 & 0xff);
        out[11] = (unsigned char)(hfield >> 24 & 0xff);
    }
    memcpy(out + pre, dict, (size_t)len);
    memset(out + pre + len, ' ', pad);
    out[total - 1] = '\n';
    return total;
}

static int write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n > 0) {
        size_t chunk = n < ((size_t)1 << 30) ? n : ((size_t)1 << 30);
        ssize_t w = write(fd, p, chunk);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The permissions a plain fopen(path, "w") would give: 0666 minus umask.
 * (Reading the umask means setting it briefly; another thread creating a
 * file at that very moment would get mode 022 masked.) */
static mode_t default_mode(void) {
    mode_t m = umask(022);
    umask(m);
    return 0666 & ~m;
}

int txrt_npy_save(txrt_ctx *ctx, const char *path, const txrt_tensor *t) {
    if (!path || !*path) return txrt_fail(ctx, "cannot write a .npy file: no path given");
    if (!t || !npy_descr(t->dtype) || t->rank < 0 || t->rank > TXRT_MAX_RANK)
        return txrt_fail(ctx, "cannot write '%s': not a valid tensor", path);
    unsigned char head[4096];
    size_t hn = build_header(t, head, sizeof head);
    if (hn == 0) return txrt_fail(ctx, "cannot write '%s': the .npy header is too long", path);

    /* Saving through a symbolic link replaces the file it points to (as
     * np.save would), not the link. */
    char *real = NULL;
    struct stat lst;
    if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) real = realpath(path, NULL);
    const char *target = real ? real : path;

    /* temporary "DIR/.BASE.XXXXXX" next to the target */
    size_t plen = strlen(target);
    const char *slash = strrchr(target, '/');
    size_t dlen = slash ? (size_t)(slash - target) + 1 : 0;
    char *tmp = malloc(plen + 16);
    if (!tmp) {
        free(real);
        return txrt_fail(ctx, "cannot write '%s': out of memory", path);
    }
    memcpy(tmp, target, dlen);
    tmp[dlen] = '.';
    memcpy(tmp + dlen + 1, target + dlen, plen - dlen);
    memcpy(tmp + plen + 1, ".XXXXXX", 8);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        free(real);
        return txrt_fail(ctx, "cannot write '%s': %s", path, strerror(e));
    }
    struct stat st;
    mode_t mode = stat(target, &st) == 0 && S_ISREG(st.st_mode) ? (st.st_mode & 07777) : default_mode();
    (void)fchmod(fd, mode);

    const void *data = t->data;
    void *swapped = NULL;
    size_t nbytes = (size_t)t->size * txrt_dtype_size(t->dtype);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    swapped = malloc(nbytes ? nbytes : 1);
    if (swapped) {
        memcpy(swapped, t->data, nbytes);
        to_from_little(swapped, t->size, t->dtype);
        data = swapped;
    }
#endif
    int rc = 0;
    if (write_all(fd, head, hn) != 0 || (nbytes && write_all(fd, data, nbytes) != 0)) {
        rc = txrt_fail(ctx, "cannot write '%s': %s", path, strerror(errno));
        close(fd);
    } else if (close(fd) != 0) {
        rc = txrt_fail(ctx, "cannot write '%s': %s", path, strerror(errno));
    } else if (rename(tmp, target) != 0) {
        rc = txrt_fail(ctx, "cannot write '%s': %s", path, strerror(errno));
    }
    if (rc != 0) unlink(tmp);
    free(swapped);
    free(tmp);
    free(real);
    return rc;
}
