/*
 * test_npy.c -- .npy reading and writing.
 *
 * Round trips for every dtype and awkward shapes; byte-for-byte equality
 * with what numpy 1.24's np.save writes (the expected headers were taken
 * from numpy itself); hand-made headers in the forms numpy and other
 * writers produce (versions 2.0 and 3.0, any key order, double quotes, no
 * trailing comma, Python 2 longs); the exact text of each error; and a
 * seeded fuzz run that feeds the loader every prefix of a valid file,
 * every one-byte mutation of its header and thousands of random and
 * half-valid buffers, each in a buffer of its exact size so that
 * AddressSanitizer catches any over-read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "txrt.h"

static char tmpdir[256];

static int make_tmpdir(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/txrt_npy_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state) {
    (void)state;
    DIR *d = opendir(tmpdir);
    if (d) {
        struct dirent *e;
        char p[512];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
            if (remove(p) != 0) rmdir(p);
        }
        closedir(d);
    }
    rmdir(tmpdir);
    return 0;
}

static const char *tpath(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmpdir, name);
    return buf[k];
}

/* Whole file into a malloc'd buffer. */
static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void spit(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
}

/* A .npy image: preamble for `major`, the dict text padded with spaces to
 * a 64-byte boundary and '\n' (unless raw), then `ndata` bytes 0, 1, 2... */
static unsigned char *make_npy(int major, const char *dict, size_t ndata, int raw, size_t *len) {
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t hl = raw ? dl : dl + 1;
    if (!raw) hl += (64 - (pre + hl) % 64) % 64;
    *len = pre + hl + ndata;
    unsigned char *b = malloc(*len + 1);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = 0;
    b[8] = (unsigned char)(hl & 0xff);
    b[9] = (unsigned char)(hl >> 8);
    if (major != 1) {
        b[10] = (unsigned char)(hl >> 16);
        b[11] = (unsigned char)(hl >> 24);
    }
    memcpy(b + pre, dict, dl);
    if (!raw) {
        memset(b + pre + dl, ' ', hl - dl - 1);
        b[pre + hl - 1] = '\n';
    }
    for (size_t i = 0; i < ndata; i++) b[pre + hl + i] = (unsigned char)i;
    return b;
}

/* Load from an exact-size copy (so ASan sees any over-read). */
static txrt_tensor *load_exact(txrt_ctx *ctx, const unsigned char *b, size_t n, const char *what) {
    unsigned char *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, b, n);
    txrt_tensor *t = txrt_npy_load_mem(ctx, n ? copy : NULL, n, what);
    free(copy);
    return t;
}

static txrt_tensor *random_tensor(txrt_ctx *ctx, txrt_dtype dt, int rank, const int64_t *shape, uint64_t seed) {
    txrt_tensor *t = txrt_tensor_new(ctx, dt, rank, shape);
    assert_non_null(t);
    txrt_fill_randn(t, seed);
    return t;
}

static void assert_same(const txrt_tensor *a, const txrt_tensor *b) {
    assert_int_equal(a->dtype, b->dtype);
    assert_int_equal(a->rank, b->rank);
    for (int d = 0; d < a->rank; d++) assert_int_equal(a->shape[d], b->shape[d]);
    assert_int_equal(a->size, b->size);
    if (a->size) assert_memory_equal(a->data, b->data, (size_t)a->size * txrt_dtype_size(a->dtype));
}

/* No ".NAME.XXXXXX" temporaries left in tmpdir. */
static void assert_no_temporaries(void) {
    DIR *d = opendir(tmpdir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            fail_msg("temporary file left behind: %s", e->d_name);
    }
    closedir(d);
}

/* ---- round trips and numpy's bytes ----------------------------------------- */

static void round_trips(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    const txrt_dtype all[4] = { TXRT_F64, TXRT_F32, TXRT_C128, TXRT_C64 };
    const struct { int rank; int64_t shape[4]; } shapes[] = {
        { 0, { 0 } }, { 1, { 7 } }, { 2, { 0, 3 } }, { 2, { 3, 0 } }, { 3, { 2, 3, 4 } }, { 1, { 1000 } },
        { 4, { 1, 1, 1, 1 } },
    };
    for (int k = 0; k < 4; k++) {
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            txrt_tensor *t = random_tensor(&ctx, all[k], shapes[s].rank, shapes[s].shape, 17 + s);
            const char *p = tpath("rt.npy");
            assert_int_equal(txrt_npy_save(&ctx, p, t), 0);
            assert_int_equal(ctx.status, 0);
            txrt_tensor *u = txrt_npy_load(&ctx, p);
            assert_non_null(u);
            assert_same(t, u);
            /* the data starts on a 64-byte boundary, as numpy writes it */
            size_t n;
            unsigned char *b = slurp(p, &n);
            size_t data = (size_t)t->size * txrt_dtype_size(t->dtype);
            assert_int_equal((n - data) % 64, 0);
            /* and the same bytes load from memory */
            txrt_tensor *m = load_exact(&ctx, b, n, "mem");
            assert_non_null(m);
            assert_same(t, m);
            free(b);
            txrt_release(t);
            txrt_release(u);
            txrt_release(m);
        }
    }
    assert_no_temporaries();
}

static void check_header(const txrt_tensor *t, const char *expect_header) {
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    const char *p = tpath("hdr.npy");
    assert_int_equal(txrt_npy_save(&ctx, p, t), 0);
    size_t n;
    unsigned char *b = slurp(p, &n);
    size_t data = (size_t)t->size * txrt_dtype_size(t->dtype);
    assert_int_equal(n, 128 + data);
    assert_memory_equal(b, expect_header, 128);
    if (data) assert_memory_equal(b + 128, t->data, data);
    free(b);
}

/* Headers exactly as numpy 1.24.2 np.save writes them. */
static void numpy_identical_bytes(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    int64_t s23[2] = { 2, 3 }, s03[2] = { 0, 3 }, s3[1] = { 3 }, sbig[2] = { 12345678901LL, 0 };
    txrt_tensor *t = random_tensor(&ctx, TXRT_F64, 2, s23, 1);
    check_header(t, "\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"
                    "                                                          \n");
    txrt_release(t);
    t = txrt_scalar_new(&ctx, TXRT_C64, 1, 2);
    check_header(t, "\x93NUMPY\x01\x00v\x00{'descr': '<c8', 'fortran_order': False, 'shape': (), }"
                    "                                                              \n");
    txrt_release(t);
    t = txrt_tensor_new(&ctx, TXRT_F32, 2, s03);
    check_header(t, "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }"
                    "                                                          \n");
    txrt_release(t);
    t = random_tensor(&ctx, TXRT_C128, 1, s3, 2);
    check_header(t, "\x93NUMPY\x01\x00v\x00{'descr': '<c16', 'fortran_order': False, 'shape': (3,), }"
                    "                                                           \n");
    txrt_release(t);
    t = txrt_tensor_new(&ctx, TXRT_F64, 2, sbig);
    check_header(t, "\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (12345678901, 0), }"
                    "                                                \n");
    txrt_release(t);
}

/* ---- headers other writers produce ---------------------------------------------- */

static void header_variants(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    const struct { int major; const char *dict; txrt_dtype dt; int rank; int64_t shape[3]; int raw; } ok[] = {
        { 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", TXRT_F64, 2, { 2, 3 }, 0 },
        { 1, "{'shape': (2, 3), 'fortran_order': False, 'descr': '<f8'}", TXRT_F64, 2, { 2, 3 }, 0 },
        { 1, "{\"descr\":\"<f4\",\"fortran_order\":False,\"shape\":(5,)}", TXRT_F32, 1, { 5 }, 0 },
        { 1, "  {  'descr' : '<c16' ,\n 'fortran_order' : False , 'shape' : ( 1 , 2 , 1 , ) , }  ", TXRT_C128, 3,
          { 1, 2, 1 }, 0 },
        { 1, "{'descr': '<c8', 'fortran_order': False, 'shape': ()}", TXRT_C64, 0, { 0 }, 0 },
        { 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3L, 2L), }", TXRT_F64, 2, { 3, 2 }, 0 },
        { 1, "{u'descr': u'<f8', u'fortran_order': False, u'shape': (4,), }", TXRT_F64, 1, { 4 }, 0 },
        { 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (0,), }", TXRT_F64, 1, { 0 }, 0 },
        { 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4,)}", TXRT_F64, 1, { 4 }, 1 },   /* no padding */
        { 2, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", TXRT_F64, 2, { 2, 2 }, 0 },
        { 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", TXRT_F32, 1, { 3 }, 0 },
        /* duplicate keys: the last one wins, as in a Python dict literal */
        { 1, "{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (1,)}", TXRT_F64, 1, { 1 }, 0 },
    };
    for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
        int64_t size = 1;
        for (int d = 0; d < ok[k].rank; d++) size *= ok[k].shape[d];
        size_t n, data = (size_t)size * txrt_dtype_size(ok[k].dt);
        unsigned char *b = make_npy(ok[k].major, ok[k].dict, data, ok[k].raw, &n);
        txrt_clear_error(&ctx);
        txrt_tensor *t = load_exact(&ctx, b, n, "variant");
        if (!t) fail_msg("header %zu rejected: %s", k, ctx.errmsg);
        assert_int_equal(t->dtype, ok[k].dt);
        assert_int_equal(t->rank, ok[k].rank);
        for (int d = 0; d < ok[k].rank; d++) assert_int_equal(t->shape[d], ok[k].shape[d]);
        assert_memory_equal(t->data, b + (n - data), data);
        /* the file path agrees */
        spit(tpath("variant.npy"), b, n);
        txrt_tensor *f = txrt_npy_load(&ctx, tpath("variant.npy"));
        assert_non_null(f);
        assert_same(t, f);
        txrt_release(f);
        txrt_release(t);
        free(b);
    }
}

/* ---- error messages ----------------------------------------------------------------- */

static void expect_mem_error(const unsigned char *b, size_t n, const char *msg) {
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    txrt_tensor *t = load_exact(&ctx, b, n, "x.npy");
    if (t) fail_msg("loaded, expected: %s", msg);
    assert_int_not_equal(ctx.status, 0);
    assert_string_equal(ctx.errmsg, msg);
    /* the same file on disk gives the same message, with its path */
    const char *p = tpath("x.npy");
    spit(p, b, n);
    txrt_ctx_init(&ctx);
    assert_null(txrt_npy_load(&ctx, p));
    char want[1200];
    const char *rest = strstr(msg, "': ");
    snprintf(want, sizeof want, "cannot load '%s%s", p, rest);
    assert_string_equal(ctx.errmsg, want);
}

static void expect_dict_error(const char *dict, size_t ndata, const char *msg) {
    size_t n;
    unsigned char *b = make_npy(1, dict, ndata, 0, &n);
    expect_mem_error(b, n, msg);
    free(b);
}

static void error_messages(void **state) {
    (void)state;
    const char *good = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
    size_t n;
    unsigned char *b = make_npy(1, good, 48, 0, &n);

    expect_mem_error(b, 0, "cannot load 'x.npy': the file is empty");
    expect_mem_error((const unsigned char *)"PK\x03\x04 zip file", 14,
                     "cannot load 'x.npy': not a .npy file (it does not start with \\x93NUMPY)");
    expect_mem_error(b, 4, "cannot load 'x.npy': file is truncated: it ends inside the .npy preamble (4 bytes)");
    expect_mem_error(b, 9, "cannot load 'x.npy': file is truncated: it ends inside the .npy preamble (9 bytes)");
    expect_mem_error(b, 70, "cannot load 'x.npy': file is truncated: the .npy header is 118 bytes but the file ends after 60");
    expect_mem_error(b, n - 8, "cannot load 'x.npy': file is truncated: expected 48 bytes of data, found 40");
    expect_mem_error(b, 128, "cannot load 'x.npy': file is truncated: expected 48 bytes of data, found 0");
    unsigned char *longer = malloc(n + 3);
    memcpy(longer, b, n);
    memset(longer + n, 7, 3);
    expect_mem_error(longer, n + 3,
                     "cannot load 'x.npy': file is longer than its header says: expected 48 bytes of data, found 51");
    free(longer);
    b[6] = 4;
    expect_mem_error(b, n, "cannot load 'x.npy': unsupported .npy format version 4.0 (txc reads 1.0, 2.0 and 3.0)");
    b[6] = 1;
    b[7] = 1;
    expect_mem_error(b, n, "cannot load 'x.npy': unsupported .npy format version 1.1 (txc reads 1.0, 2.0 and 3.0)");
    free(b);

    expect_dict_error("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 3), }", 48,
                      "cannot load 'x.npy': dtype '<i8' is not supported: txc reads f64, f32, c128, c64 "
                      "(convert with numpy astype)");
    expect_dict_error("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", 2,
                      "cannot load 'x.npy': dtype '|b1' is not supported: txc reads f64, f32, c128, c64 "
                      "(convert with numpy astype)");
    expect_dict_error("{'descr': '>f8', 'fortran_order': False, 'shape': (2, 3), }", 48,
                      "cannot load 'x.npy': big-endian data ('>f8') is not supported (convert with numpy astype('<f8'))");
    expect_dict_error("{'descr': '>c8', 'fortran_order': False, 'shape': (1,), }", 8,
                      "cannot load 'x.npy': big-endian data ('>c8') is not supported (convert with numpy astype('<c8'))");
    expect_dict_error("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", 48,
                      "cannot load 'x.npy': Fortran-order (column-major) data is not supported "
                      "(save a C-order array, e.g. with numpy.ascontiguousarray)");
    expect_dict_error("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }", 16,
                      "cannot load 'x.npy': structured dtypes are not supported: txc reads f64, f32, c128, c64");
    expect_dict_error("{'descr': '<f8', 'fortran_order': False}", 8,
                      "cannot load 'x.npy': malformed .npy header: no 'shape' key");
    expect_dict_error("{'fortran_order': False, 'shape': (1,)}", 8,
                      "cannot load 'x.npy': malformed .npy header: no 'descr' key");
    expect_dict_error("{'descr': '<f8', 'shape': (1,)}", 8,
                      "cannot load 'x.npy': malformed .npy header: no 'fortran_order' key");
    expect_dict_error("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'extra': 1}", 8,
                      "cannot load 'x.npy': malformed .npy header: unexpected key 'extra'");
    expect_dict_error("{'descr': '<f8', 'fortran_order': False, 'shape': (3)}", 24,
                      "cannot load 'x.npy': malformed .npy header: 'shape' is not a tuple (write (n,) for one "
                      "dimension) (at header byte 52)");
    expect_dict_error("{'descr': '<f8', 'fortran_order': False, 'shape': [3]}", 24,
                      "cannot load 'x.npy': malformed .npy header: 'shape' is not a tuple (at header byte 50)");
    expect_dict_error("{'descr': '<f8', 'fortran_order': False, 'shape': (2, -3)}", 0,
                      "cannot load 'x.npy': malformed .npy header: the shape has a negative dimension (at header byte 54)");
    expect_dict_error("{'descr': '<f8', 'fortran_order': 0, 'shape': (1,)}", 8,
                      "cannot load 'x.npy': malformed .npy header: 'fortran_order' is not True or False (at header byte 34)");
    expect_dict_error("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}", 8,
                      "cannot load 'x.npy': malformed .npy header: a dimension in the shape tuple is too large "
                      "(at header byte 51)");
    expect_dict_error("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", 8,
                      "cannot load 'x.npy': the shape (4294967296, 4294967296) is too large");
    expect_dict_error("{'descr': '<f8', 'fortran_order': False, 'shape': (1,)} junk", 8,
                      "cannot load 'x.npy': malformed .npy header: unexpected text after the closing '}' "
                      "(at header byte 56)");
    expect_dict_error("['descr', '<f8']", 8,
                      "cannot load 'x.npy': malformed .npy header: it does not start with '{' (at header byte 0)");
    expect_dict_error("{'descr': '<f8', 'fortran_order': False, 'shape': (1,)", 8,
                      "cannot load 'x.npy': malformed .npy header: it ends before the closing '}' (at header byte 118)");
    expect_dict_error("{'descr: '<f8'}", 8,
                      "cannot load 'x.npy': malformed .npy header: expected ':' after a key (at header byte 10)");
    expect_dict_error("{'descr': '<f8, 'fortran_order': False, 'shape': (1,)}\n", 8,
                      "cannot load 'x.npy': malformed .npy header: expected ',' or '}' after a value (at header byte 17)");
    expect_dict_error("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x\n': 1}", 8,
                      "cannot load 'x.npy': malformed .npy header: unterminated string (at header byte 56)");
    /* 33 dimensions */
    char many[400] = "{'descr': '<f8', 'fortran_order': False, 'shape': (";
    for (int d = 0; d < 33; d++) strcat(many, "1, ");
    strcat(many, ")}");
    expect_dict_error(many, 8, "cannot load 'x.npy': the array has more than 32 dimensions, which txc does not support");

    /* file-level errors */
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    assert_null(txrt_npy_load(&ctx, tpath("missing.npy")));
    char want[600];
    snprintf(want, sizeof want, "cannot load '%s': No such file or directory", tpath("missing.npy"));
    assert_string_equal(ctx.errmsg, want);
    assert_null(txrt_npy_load(&ctx, tmpdir));
    snprintf(want, sizeof want, "cannot load '%s': it is a directory", tmpdir);
    assert_string_equal(ctx.errmsg, want);
    assert_null(txrt_npy_load(&ctx, NULL));
    assert_null(txrt_npy_load_mem(&ctx, NULL, 0, NULL));
    assert_string_equal(ctx.errmsg, "cannot load '<memory>': the file is empty");

    /* loading respects the context's memory limit */
    int64_t sh[1] = { 1000 };
    txrt_tensor *t = txrt_tensor_new(&ctx, TXRT_F64, 1, sh);
    assert_int_equal(txrt_npy_save(&ctx, tpath("limit.npy"), t), 0);
    txrt_release(t);
    ctx.max_bytes = 4000;
    assert_null(txrt_npy_load(&ctx, tpath("limit.npy")));
    snprintf(want, sizeof want, "cannot load '%s': cannot allocate a f64 tensor of shape (1000,): 8000 bytes is "
             "more than the 3.9 KiB allowed", tpath("limit.npy"));
    assert_string_equal(ctx.errmsg, want);
}

static void save_errors(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    txrt_tensor *t = txrt_scalar_new(&ctx, TXRT_F64, 1, 0);
    char want[600];

    assert_int_equal(txrt_npy_save(&ctx, tpath("nodir/x.npy"), t), -1);
    snprintf(want, sizeof want, "cannot write '%s': No such file or directory", tpath("nodir/x.npy"));
    assert_string_equal(ctx.errmsg, want);

    assert_int_equal(mkdir(tpath("sub"), 0755), 0);
    assert_int_equal(txrt_npy_save(&ctx, tpath("sub"), t), -1);
    snprintf(want, sizeof want, "cannot write '%s': Is a directory", tpath("sub"));
    assert_string_equal(ctx.errmsg, want);
    assert_int_equal(rmdir(tpath("sub")), 0);
    assert_no_temporaries();

    assert_int_equal(txrt_npy_save(&ctx, "", t), -1);
    assert_int_equal(txrt_npy_save(&ctx, NULL, t), -1);
    assert_int_equal(txrt_npy_save(&ctx, tpath("null.npy"), NULL), -1);

    /* a relative path in the current directory works (no directory part) */
    char cwd[512];
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(tmpdir), 0);
    txrt_clear_error(&ctx);
    assert_int_equal(txrt_npy_save(&ctx, "rel.npy", t), 0);
    txrt_tensor *u = txrt_npy_load(&ctx, "rel.npy");
    assert_non_null(u);
    assert_same(t, u);
    txrt_release(u);
    assert_int_equal(chdir(cwd), 0);
    txrt_release(t);
}

/* New files get 0666 minus the umask; replacing a file keeps its mode. */
static void save_modes(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    txrt_tensor *t = txrt_scalar_new(&ctx, TXRT_F32, 1.5, 0);
    mode_t old = umask(022);
    struct stat st;
    assert_int_equal(txrt_npy_save(&ctx, tpath("mode.npy"), t), 0);
    assert_int_equal(stat(tpath("mode.npy"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(chmod(tpath("mode.npy"), 0600), 0);
    assert_int_equal(txrt_npy_save(&ctx, tpath("mode.npy"), t), 0);
    assert_int_equal(stat(tpath("mode.npy"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    umask(old);
    assert_no_temporaries();

    /* saving through a symbolic link writes the file it points to */
    assert_int_equal(symlink("mode.npy", tpath("link.npy")), 0);
    txrt_tensor *u = txrt_scalar_new(&ctx, TXRT_F32, -7, 0);
    assert_int_equal(txrt_npy_save(&ctx, tpath("link.npy"), u), 0);
    struct stat lst;
    assert_int_equal(lstat(tpath("link.npy"), &lst), 0);
    assert_true(S_ISLNK(lst.st_mode));
    txrt_tensor *back = txrt_npy_load(&ctx, tpath("mode.npy"));
    assert_non_null(back);
    assert_same(u, back);
    assert_no_temporaries();
    txrt_release(back);
    txrt_release(u);
    txrt_release(t);
}

/* ---- fuzzing ------------------------------------------------------------------ */

static uint64_t rnd_state;
static uint64_t rnd(void) {
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static int n_loaded, n_failed;

/* Load must either fail with a message naming the input or return a
 * consistent tensor. */
static void try_load(const unsigned char *b, size_t n) {
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    txrt_tensor *t = load_exact(&ctx, b, n, "fuzz");
    if (!t) {
        assert_int_not_equal(ctx.status, 0);
        if (strncmp(ctx.errmsg, "cannot load 'fuzz': ", 20) != 0)
            fail_msg("unexpected message: %s", ctx.errmsg);
        n_failed++;
        return;
    }
    assert_int_equal(ctx.status, 0);
    assert_true(t->rank >= 0 && t->rank <= TXRT_MAX_RANK);
    int64_t size;
    assert_int_equal(txrt_shape_size(t->rank, t->shape, &size), 0);
    assert_int_equal(size, t->size);
    assert_true((uint64_t)t->size * txrt_dtype_size(t->dtype) <= n);
    n_loaded++;
    txrt_release(t);
}

static const char *tokens[] = {
    "{", "}", "(", ")", ",", ":", " ", "\n", "'descr'", "'fortran_order'", "'shape'", "'<f8'", "'<f4'", "'<c16'",
    "'<c8'", "'>f8'", "'<i4'", "True", "False", "0", "1", "2", "3L", "-1", "99999999999999999999", "'", "\"",
    "\\", "u", "[", "]", "\"descr\"", "''", "()", "(1,)", "(2, 3)", "\0", "\xff",
};

static void fuzz_loader(void **state) {
    (void)state;
    rnd_state = 0x9e3779b97f4a7c15ULL;
    n_loaded = n_failed = 0;
    size_t vn;
    unsigned char *v = make_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", 48, 0, &vn);

    /* every prefix fails, the whole file loads */
    for (size_t k = 0; k < vn; k++) {
        txrt_ctx ctx;
        txrt_ctx_init(&ctx);
        assert_null(load_exact(&ctx, v, k, "fuzz"));
        assert_int_not_equal(ctx.status, 0);
    }
    try_load(v, vn);
    assert_int_equal(n_loaded, 1);

    /* every single-byte change of the preamble and header */
    const unsigned char vals[] = { 0, 1, 0xff, ' ', '(', ')', ',', '\'', '"', '{', '}', ':', '0', '9', '-', 'L', '\n' };
    unsigned char *m = malloc(vn);
    for (size_t pos = 0; pos < 128; pos++) {
        for (size_t k = 0; k < sizeof vals + 3; k++) {
            memcpy(m, v, vn);
            m[pos] = k < sizeof vals ? vals[k] : (unsigned char)rnd();
            try_load(m, vn);
            try_load(m, vn - 8);
        }
    }
    free(m);

    /* random bytes, and random bytes behind a valid preamble */
    unsigned char buf[600];
    for (int it = 0; it < 3000; it++) {
        size_t n = rnd() % sizeof buf;
        for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)rnd();
        if (it % 2 && n >= 12) {
            memcpy(buf, "\x93NUMPY", 6);
            buf[6] = (unsigned char)(1 + rnd() % 3);
            buf[7] = 0;
            if (rnd() % 2) {   /* a header length that fits */
                size_t hl = rnd() % (n - 11);
                buf[8] = (unsigned char)hl;
                buf[9] = (unsigned char)(hl >> 8);
                buf[10] = buf[11] = 0;
                if (buf[6] == 1) buf[10] = '{';
            }
        }
        try_load(buf, n);
    }

    /* headers made of dict-like tokens, with data of a random or the right size */
    for (int it = 0; it < 6000; it++) {
        char dict[500];
        size_t dl = 0;
        int ntok = (int)(rnd() % 24);
        if (rnd() % 4) {   /* usually start like a real header */
            const char *start = "{'descr': '<f4', 'fortran_order': False, 'shape': ";
            size_t sl = strlen(start) - rnd() % 20;
            memcpy(dict, start, sl);
            dl = sl;
        }
        for (int k = 0; k < ntok; k++) {
            const char *tk = tokens[rnd() % (sizeof tokens / sizeof tokens[0])];
            size_t tl = tk[0] ? strlen(tk) : 1;
            if (dl + tl >= sizeof dict) break;
            memcpy(dict + dl, tk, tl);
            dl += tl;
        }
        size_t pre = 10, hl = dl + 1 + rnd() % 3;
        size_t ndata = rnd() % 3 ? (size_t)(rnd() % 5) * 4 : (size_t)(rnd() % 80);
        size_t n = pre + hl + ndata;
        unsigned char *b = malloc(n);
        memcpy(b, "\x93NUMPY\x01\x00", 8);
        b[8] = (unsigned char)hl;
        b[9] = (unsigned char)(hl >> 8);
        memcpy(b + pre, dict, dl);
        memset(b + pre + dl, ' ', hl - dl);
        b[pre + hl - 1] = '\n';
        for (size_t i = 0; i < ndata; i++) b[pre + hl + i] = (unsigned char)rnd();
        try_load(b, n);
        free(b);
    }
    free(v);
    /* the generators reach both outcomes */
    assert_true(n_loaded > 20);
    assert_true(n_failed > 10000);
}

/* Truncated files on disk, every length. */
static void truncated_files(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    int64_t sh[2] = { 2, 3 };
    txrt_tensor *t = random_tensor(&ctx, TXRT_C64, 2, sh, 3);
    const char *p = tpath("full.npy");
    assert_int_equal(txrt_npy_save(&ctx, p, t), 0);
    size_t n;
    unsigned char *b = slurp(p, &n);
    for (size_t k = 0; k < n; k++) {
        spit(tpath("cut.npy"), b, k);
        txrt_ctx_init(&ctx);
        assert_null(txrt_npy_load(&ctx, tpath("cut.npy")));
        assert_int_not_equal(ctx.status, 0);
        assert_non_null(strstr(ctx.errmsg, "cut.npy"));
    }
    free(b);
    txrt_release(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trips),
        cmocka_unit_test(numpy_identical_bytes),
        cmocka_unit_test(header_variants),
        cmocka_unit_test(error_messages),
        cmocka_unit_test(save_errors),
        cmocka_unit_test(save_modes),
        cmocka_unit_test(fuzz_loader),
        cmocka_unit_test(truncated_files),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
