// header_cxx.cpp -- the generated headers compile as C++17 (-Wall -Wextra
// -pedantic -Werror), with complex tensors as std::complex, and the
// functions link and run from C++.
#include "matmul.h"
#include "attention.h"
#include "spectral.h"

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
    std::printf("ok C++ driver\n");
    return 0;
}
