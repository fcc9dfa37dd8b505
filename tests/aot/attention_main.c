/* attention_main.c -- drives the functions txc build made from attention.tx. */
#include "attention.h"
#include "check.h"

int main(void) {
    enum { N = 50, D = 16, E = 8 };
    txrt_tensor *Q = load("Q.npy", TXRT_F64, N * D), *K = load("K.npy", TXRT_F64, N * D);
    txrt_tensor *V = load("V.npy", TXRT_F64, N * E);
    txrt_tensor *O = load("O.npy", TXRT_F64, N * E), *Y = load("Y.npy", TXRT_F64, N * D);
    txrt_tensor *T = load("T.npy", TXRT_F64, N * E);
    double *o = garbage(malloc(N * E * sizeof *o), N * E * sizeof *o);
    double *y = garbage(malloc(N * D * sizeof *y), N * D * sizeof *y);
    double *t = garbage(malloc(N * E * sizeof *t), N * E * sizeof *t);
    CALL_OK(attention(N, D, E, Q->data, K->data, V->data, o));
    compare("attention O", o, O->data, N * E, 1e-10, 1e-12);
    CALL_OK(triple(N, D, E, Q->data, K->data, Q->data, V->data, V->data, t));
    compare("triple T", t, T->data, N * E, 1e-10, 1e-12);
    /* the same attention through softmax(), a def it calls */
    float *p = garbage(malloc(N * N * sizeof *p), N * N * sizeof *p);
    double *o2 = garbage(malloc(N * E * sizeof *o2), N * E * sizeof *o2), rowsum = 0, one = 1;
    CALL_OK(attn_sm(N, D, E, Q->data, K->data, V->data, o2, p));
    compare("attn_sm O", o2, O->data, N * E, 1e-10, 1e-12);
    for (int j = 0; j < N; j++) rowsum += p[3 * N + j];
    compare("attn_sm P (f32) row sum", &rowsum, &one, 1, 1e-5, 0);
    free(p), free(o2);
    CALL_OK(layernorm(N, D, Q->data, y));
    compare("layernorm Y", y, Y->data, N * D, 1e-10, 1e-12);
    CALL_FAILS(attention(N, D, E + 1, Q->data, K->data, V->data, o), "size 'e' is 9");
    txrt_release(Q), txrt_release(K), txrt_release(V), txrt_release(O), txrt_release(Y), txrt_release(T);
    free(o), free(y), free(t);
    return failures != 0;
}
