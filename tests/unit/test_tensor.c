/*
 * test_tensor.c -- runtime context, dtypes, tensor allocation, reference
 * counts, element access, copies, casts and shape helpers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdbool.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "txrt.h"

static void context_and_errors(void **state) {
    (void)state;
    txrt_ctx ctx;
    memset(&ctx, 0x5a, sizeof ctx);
    txrt_ctx_init(&ctx);
    assert_int_equal(ctx.status, 0);
    assert_string_equal(ctx.errmsg, "");
    assert_true(ctx.max_bytes == 0);
    assert_int_equal(txrt_fail(&ctx, "bad %s %d", "thing", 3), -1);
    assert_int_not_equal(ctx.status, 0);
    assert_string_equal(ctx.errmsg, "bad thing 3");
    /* the message may quote the previous one */
    txrt_fail(&ctx, "outer: %s", ctx.errmsg);
    assert_string_equal(ctx.errmsg, "outer: bad thing 3");
    /* long messages are truncated, still terminated */
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    txrt_fail(&ctx, "%s", big);
    assert_int_equal(strlen(ctx.errmsg), sizeof ctx.errmsg - 1);
    txrt_clear_error(&ctx);
    assert_int_equal(ctx.status, 0);
    assert_string_equal(ctx.errmsg, "");
    /* a NULL context is allowed everywhere */
    assert_int_equal(txrt_fail(NULL, "nobody listens"), -1);
    txrt_clear_error(NULL);
    txrt_ctx_init(NULL);
}

static void dtypes(void **state) {
    (void)state;
    assert_int_equal(txrt_dtype_size(TXRT_F64), 8);
    assert_int_equal(txrt_dtype_size(TXRT_F32), 4);
    assert_int_equal(txrt_dtype_size(TXRT_C128), 16);
    assert_int_equal(txrt_dtype_size(TXRT_C64), 8);
    assert_int_equal(txrt_dtype_size((txrt_dtype)9), 0);
    assert_string_equal(txrt_dtype_name(TXRT_F64), "f64");
    assert_string_equal(txrt_dtype_name(TXRT_F32), "f32");
    assert_string_equal(txrt_dtype_name(TXRT_C128), "c128");
    assert_string_equal(txrt_dtype_name(TXRT_C64), "c64");
    txrt_dtype dt = TXRT_F64;
    assert_int_equal(txrt_dtype_from_name("c64", &dt), 0);
    assert_int_equal(dt, TXRT_C64);
    assert_int_equal(txrt_dtype_from_name("f32", &dt), 0);
    assert_int_equal(dt, TXRT_F32);
    assert_int_equal(txrt_dtype_from_name("float64", &dt), -1);
    assert_int_equal(txrt_dtype_from_name("", &dt), -1);
    assert_int_equal(txrt_dtype_from_name(NULL, &dt), -1);
    assert_int_equal(dt, TXRT_F32);   /* unchanged on failure */
    assert_false(txrt_dtype_is_complex(TXRT_F64));
    assert_false(txrt_dtype_is_complex(TXRT_F32));
    assert_true(txrt_dtype_is_complex(TXRT_C128));
    assert_true(txrt_dtype_is_complex(TXRT_C64));
    /* promotion table, both orders */
    const txrt_dtype all[4] = { TXRT_F64, TXRT_F32, TXRT_C128, TXRT_C64 };
    const txrt_dtype want[4][4] = {
        /*            f64        f32        c128       c64 */
        /* f64  */ { TXRT_F64, TXRT_F64, TXRT_C128, TXRT_C128 },
        /* f32  */ { TXRT_F64, TXRT_F32, TXRT_C128, TXRT_C64 },
        /* c128 */ { TXRT_C128, TXRT_C128, TXRT_C128, TXRT_C128 },
        /* c64  */ { TXRT_C128, TXRT_C64, TXRT_C128, TXRT_C64 },
    };
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 4; b++) assert_int_equal(txrt_dtype_promote(all[a], all[b]), want[a][b]);
}

static void shapes(void **state) {
    (void)state;
    int64_t n = -7;
    int64_t s3[3] = { 2, 3, 4 };
    assert_int_equal(txrt_shape_size(3, s3, &n), 0);
    assert_int_equal(n, 24);
    assert_int_equal(txrt_shape_size(0, NULL, &n), 0);
    assert_int_equal(n, 1);
    int64_t z[3] = { 5, 0, 7 };
    assert_int_equal(txrt_shape_size(3, z, &n), 0);
    assert_int_equal(n, 0);
    /* a zero dimension wins over dimensions whose product would overflow */
    int64_t zbig[3] = { INT64_MAX, INT64_MAX, 0 };
    assert_int_equal(txrt_shape_size(3, zbig, &n), 0);
    assert_int_equal(n, 0);
    int64_t neg[2] = { 3, -1 };
    assert_int_equal(txrt_shape_size(2, neg, &n), -1);
    int64_t negz[2] = { 0, -1 };
    assert_int_equal(txrt_shape_size(2, negz, &n), -1);
    int64_t ovf[3] = { 1 << 22, 1 << 22, 1 << 22 };   /* 2^66 */
    assert_int_equal(txrt_shape_size(3, ovf, &n), -1);
    int64_t edge[2] = { INT64_MAX, 1 };
    assert_int_equal(txrt_shape_size(2, edge, &n), 0);
    assert_true(n == INT64_MAX);
    assert_int_equal(txrt_shape_size(-1, s3, &n), -1);
    assert_int_equal(txrt_shape_size(TXRT_MAX_RANK + 1, s3, &n), -1);
    assert_int_equal(txrt_shape_size(2, NULL, &n), -1);

    char buf[64];
    assert_string_equal(txrt_shape_str(0, NULL, buf, sizeof buf), "()");
    int64_t one[1] = { 3 };
    assert_string_equal(txrt_shape_str(1, one, buf, sizeof buf), "(3,)");
    int64_t two[2] = { 3, 4 };
    assert_string_equal(txrt_shape_str(2, two, buf, sizeof buf), "(3, 4)");
    int64_t big[2] = { INT64_MAX, -2 };
    assert_string_equal(txrt_shape_str(2, big, buf, sizeof buf), "(9223372036854775807, -2)");
    char small[5];
    assert_string_equal(txrt_shape_str(3, s3, small, sizeof small), "(2, ");
    assert_string_equal(txrt_shape_str(3, s3, small, 0), "");
}

static void alloc_basics(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    const txrt_dtype all[4] = { TXRT_F64, TXRT_F32, TXRT_C128, TXRT_C64 };
    for (int k = 0; k < 4; k++) {
        int64_t shape[3] = { 3, 5, 7 };
        txrt_tensor *t = txrt_tensor_new(&ctx, all[k], 3, shape);
        assert_non_null(t);
        assert_int_equal(ctx.status, 0);
        assert_non_null(t->data);
        assert_int_equal((uintptr_t)t->data % 64, 0);
        assert_int_equal(t->size, 105);
        assert_int_equal(t->rank, 3);
        assert_int_equal(t->shape[0], 3);
        assert_int_equal(t->shape[2], 7);
        assert_int_equal(t->dtype, all[k]);
        assert_int_equal(t->refcount, 1);
        assert_true(t->flags & TXRT_OWNS_DATA);
        const unsigned char *b = t->data;
        for (size_t i = 0; i < 105 * txrt_dtype_size(all[k]); i++) assert_int_equal(b[i], 0);
        txrt_release(t);
    }
    /* rank 0: one element */
    txrt_tensor *s = txrt_tensor_new(&ctx, TXRT_C64, 0, NULL);
    assert_non_null(s);
    assert_int_equal(s->size, 1);
    assert_int_equal(s->rank, 0);
    txrt_release(s);
    /* zero-size dimensions: size 0, data still a valid aligned block */
    int64_t zs[2] = { 0, 3 };
    txrt_tensor *z = txrt_tensor_new(&ctx, TXRT_F64, 2, zs);
    assert_non_null(z);
    assert_int_equal(z->size, 0);
    assert_non_null(z->data);
    assert_int_equal((uintptr_t)z->data % 64, 0);
    txrt_release(z);
    /* the largest rank */
    int64_t ones[TXRT_MAX_RANK];
    for (int d = 0; d < TXRT_MAX_RANK; d++) ones[d] = d == 5 ? 2 : 1;
    txrt_tensor *r = txrt_tensor_new(&ctx, TXRT_F32, TXRT_MAX_RANK, ones);
    assert_non_null(r);
    assert_int_equal(r->size, 2);
    txrt_release(r);
    txrt_release(NULL);
}

/* Blocks of 2 MiB and more take the huge-page path: still zeroed, aligned. */
/* Uninitialised tensors: poisoned (all bytes 0xff) under TXRT_POISON=1,
 * small and block-cached large ones alike; a zero-filled tensor that gets
 * a poisoned block back from the cache is still all zeros. */
static bool all_bytes(const txrt_tensor *t, unsigned char v) {
    const unsigned char *p = t->data;
    size_t n = (size_t)t->size * txrt_dtype_size(t->dtype);
    for (size_t k = 0; k < n; k++)
        if (p[k] != v) return false;
    return true;
}

static void alloc_uninit(void **state) {
    (void)state;
    setenv("TXRT_POISON", "1", 1);
    txrt_ctx ctx = { 0 };
    int64_t small[2] = { 3, 5 }, big[2] = { 512, 1024 };   /* 4 MiB: block cache */
    txrt_tensor *a = txrt_tensor_new_uninit(&ctx, TXRT_F64, 2, small);
    assert_non_null(a);
    assert_true(all_bytes(a, 0xff));
    assert_true(isnan(((double *)a->data)[7]));
    memset(a->data, 0, 15 * sizeof(double));
    txrt_tensor_forget(a);
    assert_true(all_bytes(a, 0xff));
    txrt_release(a);
    for (int round = 0; round < 2; round++) {   /* the second round reuses the block */
        txrt_tensor *b = txrt_tensor_new_uninit(&ctx, TXRT_F32, 2, big);
        assert_non_null(b);
        assert_true(all_bytes(b, 0xff));
        txrt_release(b);
        txrt_tensor *z = txrt_tensor_new(&ctx, TXRT_F32, 2, big);
        assert_true(all_bytes(z, 0));
        txrt_release(z);
    }
}

static void alloc_large(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    int64_t shape[2] = { 1024, 1024 + 3 };   /* 8.02 MiB, not a multiple of 2 MiB */
    txrt_tensor *t = txrt_tensor_new(&ctx, TXRT_F64, 2, shape);
    assert_non_null(t);
    assert_int_equal((uintptr_t)t->data % 64, 0);
    double *d = t->data;
    for (int64_t i = 0; i < t->size; i += 4099) assert_true(d[i] == 0);
    assert_true(d[t->size - 1] == 0);
    d[t->size - 1] = 1;   /* the whole block is writable */
    txrt_release(t);
}

/* A released large block comes back for the next tensor of the same block
 * size, zero-filled again, and other sizes get their own blocks. */
static void alloc_reuse(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    txrt_block_cache_clear();
    int64_t shape[1] = { (int64_t)(3 << 20) / 8 };            /* 3 MiB: a 4 MiB block */
    txrt_tensor *t = txrt_tensor_new(&ctx, TXRT_F64, 1, shape);
    assert_non_null(t);
    double *d = t->data;
    void *first = t->data;
    for (int64_t i = 0; i < t->size; i++) d[i] = 1.5;
    txrt_release(t);
    int64_t other[1] = { (int64_t)(5 << 20) / 8 };            /* a 6 MiB block: not the cached one */
    txrt_tensor *u = txrt_tensor_new(&ctx, TXRT_F64, 1, other);
    assert_non_null(u);
    assert_ptr_not_equal(u->data, first);
    int64_t again[2] = { 1024, 384 };                          /* 3 MiB again, another shape */
    txrt_tensor *v = txrt_tensor_new(&ctx, TXRT_F64, 2, again);
    assert_non_null(v);
    assert_ptr_equal(v->data, first);
    d = v->data;
    for (int64_t i = 0; i < v->size; i++)
        if (d[i] != 0) fail_msg("reused block not cleared at %lld", (long long)i);
    txrt_release(u);
    txrt_release(v);
    txrt_block_cache_clear();
}

static void alloc_errors(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    int64_t neg[2] = { 3, -2 };
    assert_null(txrt_tensor_new(&ctx, TXRT_F64, 2, neg));
    assert_int_not_equal(ctx.status, 0);
    assert_string_equal(ctx.errmsg, "cannot allocate a f64 tensor of shape (3, -2): dimension 1 has negative size -2");

    txrt_clear_error(&ctx);
    int64_t ovf[3] = { 1LL << 32, 1LL << 32, 1LL << 32 };
    assert_null(txrt_tensor_new(&ctx, TXRT_F32, 3, ovf));
    assert_string_equal(ctx.errmsg, "cannot allocate a f32 tensor of shape (4294967296, 4294967296, 4294967296): "
                                    "the number of elements overflows 64-bit integers");

    txrt_clear_error(&ctx);
    int64_t bovf[2] = { 1LL << 31, 1LL << 31 };   /* 2^62 elements, 2^66 bytes */
    assert_null(txrt_tensor_new(&ctx, TXRT_C128, 2, bovf));
    assert_string_equal(ctx.errmsg, "cannot allocate a c128 tensor of shape (2147483648, 2147483648): "
                                    "the size in bytes overflows 64-bit integers");

    /* more than physical memory (the limit when max_bytes is 0) */
    txrt_clear_error(&ctx);
    int64_t huge[3] = { 100000, 100000, 100000 };
    assert_null(txrt_tensor_new(&ctx, TXRT_F64, 3, huge));
    const char *want = "cannot allocate a f64 tensor of shape (100000, 100000, 100000): 8e+15 bytes is more than the ";
    assert_memory_equal(ctx.errmsg, want, strlen(want));
    assert_non_null(strstr(ctx.errmsg, "iB of memory"));

    /* an explicit limit */
    txrt_clear_error(&ctx);
    ctx.max_bytes = 1 << 20;
    int64_t mb[2] = { 1000, 1000 };
    assert_null(txrt_tensor_new(&ctx, TXRT_F64, 2, mb));
    assert_string_equal(ctx.errmsg, "cannot allocate a f64 tensor of shape (1000, 1000): 8e+06 bytes is more than the 1 MiB allowed");
    ctx.max_bytes = 1536 * 1024;
    assert_null(txrt_tensor_new(&ctx, TXRT_F64, 2, mb));
    assert_string_equal(ctx.errmsg, "cannot allocate a f64 tensor of shape (1000, 1000): 8e+06 bytes is more than the 1.5 MiB allowed");
    ctx.max_bytes = 1000;
    int64_t small[1] = { 125 };   /* exactly 1000 bytes: allowed */
    txrt_clear_error(&ctx);
    txrt_tensor *ok = txrt_tensor_new(&ctx, TXRT_F64, 1, small);
    assert_non_null(ok);
    assert_int_equal(ctx.status, 0);
    txrt_release(ok);
    small[0] = 126;
    assert_null(txrt_tensor_new(&ctx, TXRT_F64, 1, small));
    assert_string_equal(ctx.errmsg, "cannot allocate a f64 tensor of shape (126,): 1008 bytes is more than the 1000 bytes allowed");
    ctx.max_bytes = 0;

    txrt_clear_error(&ctx);
    int64_t s[1] = { 1 };
    assert_null(txrt_tensor_new(&ctx, TXRT_F64, TXRT_MAX_RANK + 1, s));
    assert_string_equal(ctx.errmsg, "cannot allocate a f64 tensor of rank 33: txc supports ranks 0 to 32");
    assert_null(txrt_tensor_new(&ctx, TXRT_F64, -1, s));
    assert_null(txrt_tensor_new(&ctx, TXRT_F64, 2, NULL));
    assert_null(txrt_tensor_new(&ctx, (txrt_dtype)17, 1, s));
    assert_string_equal(ctx.errmsg, "cannot allocate a tensor of unknown dtype 17");
    /* a NULL context still fails cleanly */
    assert_null(txrt_tensor_new(NULL, TXRT_F64, 2, neg));
}

static void refcounts(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    txrt_tensor *t = txrt_scalar_new(&ctx, TXRT_F64, 2.5, 0);
    assert_ptr_equal(txrt_retain(t), t);
    assert_int_equal(t->refcount, 2);
    txrt_retain(t);
    txrt_release(t);
    txrt_release(t);
    assert_int_equal(t->refcount, 1);
    double re;
    txrt_get(t, 0, &re, NULL);
    assert_true(re == 2.5);
    txrt_release(t);   /* freed here: ASan reports a leak or a use otherwise */
    assert_null(txrt_retain(NULL));

    /* data the tensor does not own is left alone */
    static double outside[4] __attribute__((aligned(64))) = { 1, 2, 3, 4 };
    txrt_tensor *v = txrt_tensor_new(&ctx, TXRT_F64, 0, NULL);
    free(v->data);
    v->data = outside;
    v->flags &= ~TXRT_OWNS_DATA;
    txrt_release(v);
    assert_true(outside[3] == 4);
}

static void get_set(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    int64_t shape[1] = { 3 };
    txrt_tensor *d = txrt_tensor_new(&ctx, TXRT_F64, 1, shape);
    txrt_tensor *f = txrt_tensor_new(&ctx, TXRT_F32, 1, shape);
    txrt_tensor *z = txrt_tensor_new(&ctx, TXRT_C128, 1, shape);
    txrt_tensor *w = txrt_tensor_new(&ctx, TXRT_C64, 1, shape);
    double re, im;
    txrt_set(d, 1, 0.1, 5);   /* imaginary part ignored */
    txrt_get(d, 1, &re, &im);
    assert_true(re == 0.1 && im == 0);
    assert_true(((double *)d->data)[1] == 0.1);
    txrt_set(f, 2, 0.1, 0);
    txrt_get(f, 2, &re, &im);
    assert_true(re == (double)0.1f && im == 0);
    txrt_set(z, 0, 1.5, -2.5);
    txrt_get(z, 0, &re, &im);
    assert_true(re == 1.5 && im == -2.5);
    assert_true(((double *)z->data)[0] == 1.5 && ((double *)z->data)[1] == -2.5);
    txrt_set(w, 2, 1.0 / 3, 0.1);
    txrt_get(w, 2, &re, &im);
    assert_true(re == (double)(float)(1.0 / 3) && im == (double)0.1f);
    txrt_get(w, 0, &re, NULL);   /* either output may be NULL */
    txrt_get(w, 0, NULL, &im);
    assert_true(re == 0 && im == 0);
    txrt_release(d);
    txrt_release(f);
    txrt_release(z);
    txrt_release(w);

    txrt_tensor *s = txrt_scalar_new(&ctx, TXRT_C128, 3, -4);
    assert_int_equal(s->rank, 0);
    txrt_get(s, 0, &re, &im);
    assert_true(re == 3 && im == -4);
    txrt_release(s);
}

static void copies(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    int64_t shape[2] = { 4, 5 };
    txrt_tensor *a = txrt_tensor_new(&ctx, TXRT_C64, 2, shape);
    for (int64_t i = 0; i < a->size; i++) txrt_set(a, i, (double)i, -(double)i);
    txrt_tensor *b = txrt_tensor_copy(&ctx, a);
    assert_non_null(b);
    assert_ptr_not_equal(a->data, b->data);
    assert_int_equal(b->rank, 2);
    assert_int_equal(b->shape[1], 5);
    assert_int_equal(b->dtype, TXRT_C64);
    assert_int_equal(b->refcount, 1);
    assert_memory_equal(a->data, b->data, (size_t)a->size * 8);
    txrt_set(b, 0, 99, 0);
    double re;
    txrt_get(a, 0, &re, NULL);
    assert_true(re == 0);
    txrt_release(a);
    txrt_release(b);
    assert_null(txrt_tensor_copy(&ctx, NULL));
    assert_int_not_equal(ctx.status, 0);

    int64_t zs[1] = { 0 };
    txrt_tensor *e = txrt_tensor_new(&ctx, TXRT_F64, 1, zs);
    txrt_tensor *ec = txrt_tensor_copy(&ctx, e);
    assert_non_null(ec);
    assert_int_equal(ec->size, 0);
    txrt_release(e);
    txrt_release(ec);
}

static void casts(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    const txrt_dtype all[4] = { TXRT_F64, TXRT_F32, TXRT_C128, TXRT_C64 };
    int64_t shape[2] = { 2, 3 };
    for (int a = 0; a < 4; a++) {
        txrt_tensor *src = txrt_tensor_new(&ctx, all[a], 2, shape);
        for (int64_t i = 0; i < 6; i++) txrt_set(src, i, 0.1 * (double)(i + 1), -1.5 * (double)i);
        for (int b = 0; b < 4; b++) {
            txrt_tensor *dst = txrt_tensor_cast(&ctx, src, all[b]);
            assert_non_null(dst);
            assert_int_equal(dst->dtype, all[b]);
            assert_int_equal(dst->rank, 2);
            assert_int_equal(dst->shape[0], 2);
            assert_int_equal(dst->shape[1], 3);
            assert_ptr_not_equal(dst->data, src->data);
            for (int64_t i = 0; i < 6; i++) {
                double sr, si, dr, di;
                txrt_get(src, i, &sr, &si);
                txrt_get(dst, i, &dr, &di);
                int narrow = all[b] == TXRT_F32 || all[b] == TXRT_C64;
                double er = narrow ? (double)(float)sr : sr;
                /* complex -> real keeps the real part; real -> complex has im 0 */
                double ei = txrt_dtype_is_complex(all[b]) ? (narrow ? (double)(float)si : si) : 0;
                assert_true(dr == er);
                assert_true(di == ei);
            }
            txrt_release(dst);
        }
        txrt_release(src);
    }
    assert_null(txrt_tensor_cast(&ctx, NULL, TXRT_F64));
    /* values beyond float's range become inf, as numpy's astype */
    txrt_tensor *big = txrt_scalar_new(&ctx, TXRT_F64, 1e300, 0);
    txrt_tensor *fb = txrt_tensor_cast(&ctx, big, TXRT_F32);
    double v;
    txrt_get(fb, 0, &v, NULL);
    assert_true(isinf(v));
    txrt_release(big);
    txrt_release(fb);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(context_and_errors),
        cmocka_unit_test(dtypes),
        cmocka_unit_test(shapes),
        cmocka_unit_test(alloc_uninit),
        cmocka_unit_test(alloc_basics),
        cmocka_unit_test(alloc_large),
        cmocka_unit_test(alloc_reuse),
        cmocka_unit_test(alloc_errors),
        cmocka_unit_test(refcounts),
        cmocka_unit_test(get_set),
        cmocka_unit_test(copies),
        cmocka_unit_test(casts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
