/*
 * rng.c -- deterministic random numbers for rand() and randn().
 *
 * The stream is fixed forever: programs and tests rely on "same seed, same
 * tensor, on every machine".  Do not change any step below without
 * accepting that every recorded result changes (test_rng.c pins the first
 * values for seed 1).
 *
 * Algorithm:
 *   1. Seeding: a splitmix64 generator started at x = seed produces the
 *      four 64-bit words s[0..3] of the state, in order:
 *          x += 0x9e3779b97f4a7c15;
 *          z = x; z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
 *                 z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
 *          word = z ^ (z >> 31)
 *      (splitmix64 never yields an all-zero state from distinct inputs).
 *   2. Each draw is xoshiro256** (Blackman & Vigna, 2018):
 *          result = rotl(s[1] * 5, 7) * 9;
 *          t = s[1] << 17;
 *          s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
 *          s[2] ^= t; s[3] = rotl(s[3], 45)
 *   3. Uniform double in [0, 1): (result >> 11) * 2^-53, the top 53 bits.
 *   4. Normal: Box-Muller on two consecutive uniforms u1, u2:
 *          r = sqrt(-2 ln(1 - u1)),  a = 2 pi u2,
 *          first value r cos(a), second value r sin(a)
 *      (1 - u1 lies in (0, 1], so the logarithm is finite).  The second
 *      value is kept as a spare and returned by the next call.
 *   5. Filling a tensor: the stream is consumed in row-major element
 *      order; a complex element takes two consecutive values, real part
 *      first.  f32 and c64 tensors round each double to float.
 */
#include "txrt.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t v, int k) {
    return (v << k) | (v >> (64 - k));
}

void txrt_rng_seed(txrt_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    r->has_spare = 0;
    r->spare = 0;
}

uint64_t txrt_rng_next(txrt_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double txrt_rng_uniform(txrt_rng *r) {
    return (double)(txrt_rng_next(r) >> 11) * 0x1.0p-53;
}

double txrt_rng_normal(txrt_rng *r) {
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u1 = txrt_rng_uniform(r);
    double u2 = txrt_rng_uniform(r);
    double rad = sqrt(-2.0 * log(1.0 - u1));
    double a = 2.0 * 3.14159265358979323846 * u2;
    r->spare = rad * sin(a);
    r->has_spare = 1;
    return rad * cos(a);
}

/* Components (1 per real element, 2 per complex one) in stream order. */
static void fill(txrt_tensor *t, uint64_t seed, double (*draw)(txrt_rng *)) {
    if (!t || t->size <= 0) return;
    txrt_rng r;
    txrt_rng_seed(&r, seed);
    int64_t n = t->size * (txrt_dtype_is_complex(t->dtype) ? 2 : 1);
    if (t->dtype == TXRT_F64 || t->dtype == TXRT_C128) {
        double *d = t->data;
        for (int64_t i = 0; i < n; i++) d[i] = draw(&r);
    } else {
        float *f = t->data;
        for (int64_t i = 0; i < n; i++) f[i] = (float)draw(&r);
    }
}

void txrt_fill_rand(txrt_tensor *t, uint64_t seed) {
    fill(t, seed, txrt_rng_uniform);
}

void txrt_fill_randn(txrt_tensor *t, uint64_t seed) {
    fill(t, seed, txrt_rng_normal);
}
