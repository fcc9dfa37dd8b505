/*
 * test_rng.c -- the deterministic random streams behind rand() and randn().
 *
 * The fixed values for seed 1 pin the stream: if one of them changes,
 * every program's random tensors change, which must never happen
 * silently.  They were cross-checked against an independent Python
 * implementation of splitmix64 + xoshiro256** + Box-Muller.  Raw words and
 * uniforms are exact; normals go through libm's log/sqrt/sin/cos and are
 * compared to a few ulps.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "txrt.h"

static void fixed_values_seed_1(void **state) {
    (void)state;
    txrt_rng r;
    txrt_rng_seed(&r, 1);
    const uint64_t words[] = { 0xb3f2af6d0fc710c5ULL, 0x853b559647364ceaULL, 0x92f89756082a4514ULL,
                               0x642e1c7bc266a3a7ULL };
    for (int i = 0; i < 4; i++) assert_true(txrt_rng_next(&r) == words[i]);

    txrt_rng_seed(&r, 1);
    const double uni[] = { 0.70292183315885048, 0.52043661993885693, 0.5741057000197225, 0.39132860204190445 };
    for (int i = 0; i < 4; i++) assert_true(txrt_rng_uniform(&r) == uni[i]);

    txrt_rng_seed(&r, 1);
    const double nor[] = { -1.5452228371402943, -0.19951530557849143, -1.0136476397283942, 0.82440683748826737 };
    for (int i = 0; i < 4; i++) {
        double v = txrt_rng_normal(&r);
        assert_true(fabs(v - nor[i]) <= 4e-16 * fabs(nor[i]));
    }

    txrt_rng_seed(&r, 0);
    assert_true(txrt_rng_next(&r) == 0x99ec5f36cb75f2b4ULL);
    assert_true(txrt_rng_next(&r) == 0xbf6e1f784956452aULL);
}

static void same_seed_same_stream(void **state) {
    (void)state;
    txrt_rng a, b, c;
    txrt_rng_seed(&a, 12345);
    txrt_rng_seed(&b, 12345);
    txrt_rng_seed(&c, 12346);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = txrt_rng_next(&a), y = txrt_rng_next(&b), z = txrt_rng_next(&c);
        assert_true(x == y);
        differ += x != z;
    }
    assert_true(differ > 990);
    /* reseeding restarts the stream and drops a pending Box-Muller spare */
    txrt_rng_seed(&a, 5);
    double first = txrt_rng_normal(&a);
    txrt_rng_seed(&a, 5);
    assert_true(txrt_rng_normal(&a) == first);
}

static void uniform_statistics(void **state) {
    (void)state;
    txrt_rng r;
    txrt_rng_seed(&r, 2024);
    const int n = 1000000;
    double sum = 0, sq = 0, lo = 1, hi = 0;
    int bins[10] = { 0 };
    for (int i = 0; i < n; i++) {
        double u = txrt_rng_uniform(&r);
        assert_true(u >= 0 && u < 1);
        sum += u;
        sq += u * u;
        if (u < lo) lo = u;
        if (u > hi) hi = u;
        bins[(int)(u * 10)]++;
    }
    double mean = sum / n, var = sq / n - mean * mean;
    /* standard error of the mean is 0.289/sqrt(n) = 2.9e-4 */
    assert_true(fabs(mean - 0.5) < 2e-3);
    assert_true(fabs(var - 1.0 / 12) < 2e-3);
    assert_true(lo < 1e-5 && hi > 1 - 1e-5);
    for (int b = 0; b < 10; b++) assert_true(abs(bins[b] - n / 10) < 1500);   /* sd ~ 300 */
}

static void normal_statistics(void **state) {
    (void)state;
    txrt_rng r;
    txrt_rng_seed(&r, 99);
    const int n = 1000000;
    double sum = 0, sq = 0, q4 = 0;
    int within1 = 0;
    for (int i = 0; i < n; i++) {
        double z = txrt_rng_normal(&r);
        assert_true(isfinite(z));
        sum += z;
        sq += z * z;
        q4 += z * z * z * z;
        within1 += fabs(z) < 1;
    }
    double mean = sum / n, var = sq / n - mean * mean;
    assert_true(fabs(mean) < 5e-3);
    assert_true(fabs(var - 1) < 5e-3);
    assert_true(fabs(q4 / n - 3) < 0.05);                    /* kurtosis of a normal */
    assert_true(fabs((double)within1 / n - 0.682689) < 3e-3);
}

/* fill_* consume the stream in row-major order, complex elements taking
 * two values (real first), f32 rounding each value. */
static void fill_follows_the_stream(void **state) {
    (void)state;
    txrt_ctx ctx;
    txrt_ctx_init(&ctx);
    int64_t shape[2] = { 3, 5 };
    txrt_tensor *d = txrt_tensor_new(&ctx, TXRT_F64, 2, shape);
    txrt_tensor *f = txrt_tensor_new(&ctx, TXRT_F32, 2, shape);
    txrt_tensor *z = txrt_tensor_new(&ctx, TXRT_C128, 2, shape);
    txrt_tensor *w = txrt_tensor_new(&ctx, TXRT_C64, 2, shape);
    assert_true(d && f && z && w);
    txrt_rng r;

    txrt_fill_rand(d, 42);
    txrt_fill_rand(f, 42);
    txrt_fill_rand(z, 42);
    txrt_fill_rand(w, 42);
    txrt_rng_seed(&r, 42);
    for (int64_t i = 0; i < 15; i++) {
        double u = txrt_rng_uniform(&r);
        assert_true(((double *)d->data)[i] == u);
        assert_true(((float *)f->data)[i] == (float)u);
    }
    txrt_rng_seed(&r, 42);
    for (int64_t i = 0; i < 15; i++) {
        double re = txrt_rng_uniform(&r), im = txrt_rng_uniform(&r), gr, gi;
        txrt_get(z, i, &gr, &gi);
        assert_true(gr == re && gi == im);
        txrt_get(w, i, &gr, &gi);
        assert_true(gr == (float)re && gi == (float)im);
    }

    txrt_fill_randn(d, 7);
    txrt_fill_randn(z, 7);
    txrt_rng_seed(&r, 7);
    for (int64_t i = 0; i < 15; i++) assert_true(((double *)d->data)[i] == txrt_rng_normal(&r));
    txrt_rng_seed(&r, 7);
    for (int64_t i = 0; i < 15; i++) {
        double re = txrt_rng_normal(&r), im = txrt_rng_normal(&r), gr, gi;
        txrt_get(z, i, &gr, &gi);
        assert_true(gr == re && gi == im);
    }
    /* same seed, same tensor */
    txrt_tensor *d2 = txrt_tensor_new(&ctx, TXRT_F64, 2, shape);
    txrt_fill_randn(d2, 7);
    assert_memory_equal(d->data, d2->data, 15 * sizeof(double));

    /* empty and NULL tensors are no-ops */
    int64_t empty[1] = { 0 };
    txrt_tensor *e = txrt_tensor_new(&ctx, TXRT_F64, 1, empty);
    txrt_fill_rand(e, 1);
    txrt_fill_randn(NULL, 1);
    txrt_release(e);
    txrt_release(d);
    txrt_release(d2);
    txrt_release(f);
    txrt_release(z);
    txrt_release(w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixed_values_seed_1),
        cmocka_unit_test(same_seed_same_stream),
        cmocka_unit_test(uniform_statistics),
        cmocka_unit_test(normal_statistics),
        cmocka_unit_test(fill_follows_the_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
