/* matmul_main.c -- drives the functions txc build made from matmul.tx. */
#include "matmul.h"
#include "check.h"

int main(void) {
    enum { M = 64, K = 48, N = 40, P = 24 };
    txrt_tensor *A = load("A.npy", TXRT_F64, M * K), *B = load("B.npy", TXRT_F64, K * N);
    txrt_tensor *D = load("D.npy", TXRT_F64, N * P);
    txrt_tensor *C = load("C.npy", TXRT_F64, M * N), *E = load("E.npy", TXRT_F64, M * P);
    txrt_tensor *G = load("G.npy", TXRT_F64, K * K);
    double *c = garbage(malloc(M * N * sizeof *c), M * N * sizeof *c);
    double *e = garbage(malloc(M * P * sizeof *e), M * P * sizeof *e);
    double *g = garbage(malloc(K * K * sizeof *g), K * K * sizeof *g);
    CALL_OK(matmul(M, K, N, A->data, B->data, c));
    compare("matmul C", c, C->data, M * N, 1e-10, 1e-10);
    CALL_OK(chain(M, K, N, P, A->data, B->data, D->data, e));
    compare("chain E", e, E->data, M * P, 1e-10, 1e-10);
    CALL_OK(gram(M, K, A->data, g));
    compare("gram G", g, G->data, K * K, 1e-10, 1e-10);
    /* a shape mismatch: sizes other than those the object was built for */
    CALL_FAILS(matmul(M + 1, K, N, A->data, B->data, c), "size 'm' is 65");
    CALL_FAILS(matmul(M, K, N, NULL, B->data, c), "'A' is a NULL pointer");
    txrt_release(A), txrt_release(B), txrt_release(C), txrt_release(D), txrt_release(E), txrt_release(G);
    free(c), free(e), free(g);
    return failures != 0;
}
