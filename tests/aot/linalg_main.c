/* linalg_main.c -- drives the functions txc build made from linalg.tx
 * (builtins run by libtxrt; a singular system fails with a message). */
#include "linalg.h"
#include "check.h"

int main(void) {
    txrt_tensor *X = load("X.npy", TXRT_F64, 80), *y = load("y.npy", TXRT_F64, 20);
    txrt_tensor *W = load("w.npy", TXRT_F64, 4), *R = load("r.npy", TXRT_F64, 20);
    txrt_tensor *A = load("A.npy", TXRT_F64, 25), *EV = load("ev.npy", TXRT_F64, 5);
    txrt_tensor *V = load("V.npy", TXRT_F64, 25), *LD = load("ld.npy", TXRT_F64, 1);
    txrt_tensor *x = load("x.npy", TXRT_F64, 48), *P = load("P.npy", TXRT_F64, 30);
    txrt_tensor *BK = load("back.npy", TXRT_F64, 48);
    double lam = 0.5, w[4], r[20], ev[5], v[25], ld, p[30], back[48], flat[48], s = 0;
    garbage(w, sizeof w), garbage(r, sizeof r), garbage(ev, sizeof ev), garbage(v, sizeof v);
    garbage(p, sizeof p), garbage(back, sizeof back), garbage(flat, sizeof flat);
    CALL_OK(ridge(20, 4, X->data, y->data, &lam, w, r));
    compare("ridge w", w, W->data, 4, 1e-10, 1e-12);
    compare("ridge r", r, R->data, 20, 1e-10, 1e-12);
    CALL_OK(spec(5, A->data, ev, v, &ld));
    compare("spec ev", ev, EV->data, 5, 1e-10, 1e-12);
    compare("spec V", v, V->data, 25, 1e-9, 1e-12);
    compare("spec ld", &ld, LD->data, 1, 1e-10, 0);
    CALL_OK(powerspec(6, 8, 5, x->data, p, back));
    compare("powerspec P", p, P->data, 30, 1e-10, 1e-12);
    compare("powerspec back", back, BK->data, 48, 1e-10, 1e-12);
    CALL_OK(shapes(6, 8, 48, x->data, flat, &s));
    compare("shapes y", flat, x->data, 48, 0, 0);
    double want = 68;
    compare("shapes s", &s, &want, 1, 0, 0);
    txrt_tensor *Xr = load("Xr.npy", TXRT_F64, 18), *Wr = load("W.npy", TXRT_F64, 12);
    txrt_tensor *Ur = load("U.npy", TXRT_F64, 16), *H = load("H.npy", TXRT_F64, 24), *I = load("I.npy", TXRT_F64, 16);
    double hh[24], ii[16];
    for (int k = 0; k < 24; k++) hh[k] = 99;   /* zeros() must clear the caller's buffer */
    CALL_OK(rnn(6, 3, 4, Xr->data, Wr->data, Ur->data, hh, ii));
    compare("rnn H", hh, H->data, 24, 1e-12, 1e-14);
    compare("rnn I", ii, I->data, 16, 1e-12, 1e-14);
    txrt_release(Xr), txrt_release(Wr), txrt_release(Ur), txrt_release(H), txrt_release(I);
    double x4[4] = { 1, 1, 1, 1 }, y4[4], half[4] = { 0.5, 0.5, 0.5, 0.5 }, z4[4] = { 0, 0, 0, 0 };
    CALL_OK(normalize(4, x4, y4));
    compare("normalize y", y4, half, 4, 1e-15, 0);
    CALL_FAILS(normalize(4, z4, y4), "normalize: assertion failed: x must not be all zeros (");
    /* a run-time failure: the regularised normal equations of zeros are singular */
    double Xz[80] = { 0 }, yz[20] = { 0 }, lz = 0;
    CALL_FAILS(ridge(20, 4, Xz, yz, &lz, w, r), "ridge: solve: matrix is singular");
    CALL_FAILS(spec(4, A->data, ev, v, &ld), "size 'n' is 4, but this object was built for n=5");
    txrt_release(X), txrt_release(y), txrt_release(W), txrt_release(R), txrt_release(A), txrt_release(EV);
    txrt_release(V), txrt_release(LD), txrt_release(x), txrt_release(P), txrt_release(BK);
    return failures != 0;
}
