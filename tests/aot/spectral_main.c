/* spectral_main.c -- drives the functions txc build made from spectral.tx
 * (several results, complex tensors as double _Complex). */
#include <complex.h>

#include "spectral.h"
#include "check.h"

int main(void) {
    enum { N = 32, M = 5 };
    txrt_tensor *x = load("x.npy", TXRT_F64, N), *Z = load("Z.npy", TXRT_C128, N * M);
    txrt_tensor *w = load("w.npy", TXRT_F64, M);
    txrt_tensor *F = load("F.npy", TXRT_C128, N), *P = load("P.npy", TXRT_F64, N);
    txrt_tensor *E = load("E.npy", TXRT_F64, 1), *Y = load("Y.npy", TXRT_C128, N * M);
    txrt_tensor *s = load("s.npy", TXRT_F64, N);
    double _Complex f[N], y[N * M];
    double p[N], e = -1, sv[N];
    garbage(f, sizeof f), garbage(y, sizeof y), garbage(p, sizeof p), garbage(sv, sizeof sv);
    CALL_OK(dft(N, x->data, f, p, &e));
    compare("dft F", (const double *)f, F->data, 2 * N, 1e-10, 1e-10);
    compare("dft P", p, P->data, N, 1e-10, 1e-10);
    compare("dft E", &e, E->data, 1, 1e-10, 1e-10);
    CALL_OK(cscale(N, M, Z->data, w->data, y, sv));
    compare("cscale Y", (const double *)y, Y->data, 2 * N * M, 1e-12, 1e-14);
    compare("cscale s", sv, s->data, N, 1e-12, 1e-14);
    /* the same through complex arithmetic: Y = Z * w * i */
    const double _Complex *z = Z->data;
    double _Complex want = z[1 * M + 2] * ((const double *)w->data)[2] * I;
    if (cabs(y[1 * M + 2] - want) > 1e-12) {
        fprintf(stderr, "FAIL cscale Y[1,2] as a C complex\n");
        failures++;
    }
    CALL_FAILS(dft(N / 2, x->data, f, p, &e), "size 'n' is 16");
    txrt_release(x), txrt_release(Z), txrt_release(w), txrt_release(F), txrt_release(P);
    txrt_release(E), txrt_release(Y), txrt_release(s);
    return failures != 0;
}
