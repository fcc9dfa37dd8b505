// header_cxx.cpp -- the generated headers compile as C++17 (-Wall -Wextra
// -pedantic -Werror), with complex tensors as std::complex, and the
// functions link and run from C++, among them a size-generic one (no
// --shape) called with two sets of sizes.
#include "matmul.h"
#include "attention.h"
#include "spectral.h"
#include "generic.h"

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
    const int64_t n = 32;
    std::vector<double> x(n), p(n);
    std::vector<txc_c128> f(n);
    for (int64_t t = 0; t < n; t++) x[t] = t == 1 ? 1.0 : 0.0;   // a unit impulse at t = 1
    double e = 0;
    if (dft(n, x.data(), f.data(), p.data(), &e) != 0) {
        std::fprintf(stderr, "FAIL dft: %s\n", txrt_last_error());
        return 1;
    }
    // F[k] = exp(-2 pi i k / n): unit power everywhere
    double worst = std::abs(e - 1.0);
    for (int64_t k = 0; k < n; k++) worst = std::fmax(worst, std::abs(std::abs(f[k]) - 1.0));
    if (worst > 1e-12) {
        std::fprintf(stderr, "FAIL dft from C++: error %g\n", worst);
        return 1;
    }
    if (dft(n + 1, x.data(), f.data(), p.data(), &e) == 0 || !*txrt_last_error()) {
        std::fprintf(stderr, "FAIL dft with a wrong size succeeded\n");
        return 1;
    }
    // g_matmul from generic.h: sizes are run-time arguments
    for (int64_t m : { 3, 17 }) {
        const int64_t k = m + 2, nn = 5;
        std::vector<double> A(m * k), B(k * nn), C(m * nn);
        for (int64_t i = 0; i < m * k; i++) A[i] = 0.5 * (double)(i % 7);
        for (int64_t i = 0; i < k * nn; i++) B[i] = (double)(i % 3) - 1.0;
        if (g_matmul(m, k, nn, A.data(), B.data(), C.data()) != 0) {
            std::fprintf(stderr, "FAIL g_matmul from C++: %s\n", txrt_last_error());
            return 1;
        }
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < nn; j++) {
                double s = 0;
                for (int64_t l = 0; l < k; l++) s += A[i * k + l] * B[l * nn + j];
                if (std::abs(s - C[i * nn + j]) > 1e-12) {
                    std::fprintf(stderr, "FAIL g_matmul from C++ at m=%lld\n", (long long)m);
                    return 1;
                }
            }
    }
    std::printf("ok C++ driver\n");
    return 0;
}
