#!/bin/sh
# run.sh TXC SRCDIR LIBTXRT_A LIBTXRT_SO -- the ahead-of-time suite.
#
# For each of matmul.tx (BLAS contractions), attention.tx (fused non-linear
# kernels, +=), spectral.tx (several results, complex dtype) and linalg.tx
# (builtins run by libtxrt, a for loop, a run-time failure):
#   1. run the script on the reference evaluator, which saves the inputs and
#      the expected results as .npy files;
#   2. `txc build` it to an object with a header (--shape from its first
#      line), compile its C driver NAME_main.c against the header with
#      -std=c11 -Wall -Wextra -pedantic -Werror, link with libtxrt.a, run it:
#      results must match the evaluator's (and, run again, the JIT's) and a
#      wrong size must fail with a message;
#   3. the same through `txc build --shared` and libtxrt.so.
# Then: the headers as C++17 (header_cxx.cpp, linked and run), --emit llvm
# and asm, --cpu generic, and the build errors (no --shape, unsupported
# statements).  Everything happens in a temporary directory.
set -u
if [ $# -ne 4 ]; then
    echo "usage: run.sh TXC SRCDIR LIBTXRT_A LIBTXRT_SO" >&2
    exit 2
fi
txc=$1 src=$2 txrt_a=$3 txrt_so=$4
abs() { case $1 in /*) echo "$1" ;; *) echo "$(pwd)/$1" ;; esac; }
txc=$(abs "$txc") src=$(abs "$src") txrt_a=$(abs "$txrt_a") txrt_so=$(abs "$txrt_so")
CC=${CC:-cc}
CXX=${CXX:-c++}
deps=$(pkg-config --libs openblas lapacke fftw3 fftw3f) || exit 1
deps="$deps ${AOT_LDFLAGS:-}"   # sanitizer runtimes when libtxrt is instrumented
rtinc=$src/../../runtime/include
tmp=$(mktemp -d "${TMPDIR:-/tmp}/txc-aot.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }
cflags="-std=c11 -Wall -Wextra -pedantic -Werror -I. -I$src -I$rtinc"

for name in matmul attention spectral linalg; do
    d=$tmp/$name
    mkdir -p "$d" && cd "$d" || exit 1
    shape=$(sed -n '1s/.*txc build [^ ]* \(--shape [^ ]*\).*/\1/p' "$src/$name.tx")
    if ! "$txc" run --backend interp "$src/$name.tx" >run.out 2>&1; then
        bad "$name: the reference run failed"; cat run.out >&2; continue
    fi
    # shellcheck disable=SC2086
    if ! "$txc" build "$src/$name.tx" -o "$name.o" --header "$name.h" $shape; then
        bad "$name: txc build failed"; continue
    fi
    # shellcheck disable=SC2086
    if $CC $cflags "$src/${name}_main.c" "$name.o" "$txrt_a" $deps -lm -lpthread -o "$name" &&
        ./"$name" >static.out 2>&1; then
        echo "ok $name (object, libtxrt.a): $(grep -c '^ok' static.out) checks"
    else
        bad "$name: object + libtxrt.a"; cat static.out >&2 2>/dev/null
    fi
    # the same results as the JIT (txc run): same kernels, same numbers
    mkdir -p jit
    if (cd jit && "$txc" run "$src/$name.tx" >run.out 2>&1 && ../"$name" >jit.out 2>&1); then
        echo "ok $name (object against the JIT's results)"
    else
        bad "$name: against the JIT's results"; cat jit/run.out jit/jit.out >&2 2>/dev/null
    fi
    # the shared library, linked with the shared runtime
    # shellcheck disable=SC2086
    if "$txc" build "$src/$name.tx" --shared -o "lib$name.so" $shape &&
        $CC $cflags "$src/${name}_main.c" -L. -l"$name" "$txrt_so" -lm ${AOT_LDFLAGS:-} -o "${name}_so" &&
        LD_LIBRARY_PATH=".:$(dirname "$txrt_so")" ./"${name}_so" >shared.out 2>&1; then
        echo "ok $name (shared library, libtxrt.so): $(grep -c '^ok' shared.out) checks"
    else
        bad "$name: shared library"; cat shared.out >&2 2>/dev/null
    fi
done

# the headers as C++17, and a C++ program calling a generated function
cd "$tmp" || exit 1
cp matmul/matmul.h attention/attention.h spectral/spectral.h . 2>/dev/null
# shellcheck disable=SC2086
if $CXX -std=c++17 -Wall -Wextra -pedantic -Werror -I. "$src/header_cxx.cpp" spectral/spectral.o "$txrt_a" \
        $deps -lm -lpthread -o cxx && ./cxx; then :; else bad "C++17 header / driver"; fi

# --emit llvm / asm; the matrix products go to BLAS
if "$txc" build "$src/matmul.tx" --emit llvm -o m.ll --shape m=64,k=48,n=40,p=24 &&
    grep -q '@matmul(' m.ll && grep -q 'call.*@txrt_aot_gemm' m.ll; then
    echo "ok --emit llvm ($(grep -c 'call.*@txrt_aot_gemm' m.ll) BLAS calls)"
else
    bad "--emit llvm"
fi
if "$txc" build "$src/attention.tx" --emit asm -o a.s --shape n=50,d=16,e=8,m=50 && grep -q 'attention' a.s; then
    echo "ok --emit asm"
else
    bad "--emit asm"
fi
# the fuser makes triple-wise attention one kernel, as in the JIT
if "$txc" build "$src/attention.tx" --emit llvm -O0 -o a.ll --shape n=50,d=16,e=8,m=50 &&
    [ "$(grep -c '^define internal void @triple\.k[0-9]*(' a.ll)" -eq 1 ]; then
    echo "ok fused: triple-wise attention is one kernel"
else
    bad "triple-wise attention should be one fused kernel"
fi

# --cpu generic: portable code, same numbers
mkdir -p generic && cd generic || exit 1
"$txc" run --backend interp "$src/attention.tx" >/dev/null 2>&1
# shellcheck disable=SC2086
if "$txc" build "$src/attention.tx" -o attention.o --header attention.h --shape n=50,d=16,e=8,m=50 --cpu generic &&
    $CC $cflags "$src/attention_main.c" attention.o "$txrt_a" $deps -lm -lpthread -o attention &&
    ./attention >out 2>&1; then
    echo "ok --cpu generic"
else
    bad "--cpu generic"; cat out >&2 2>/dev/null
fi
# vector math (codegen/llvm.c): the softmax loops call glibc libmvec's AVX2
# exp for --cpu haswell (the object links and gives the same numbers), none
# for generic (below AVX2 there is no mapping)
# shellcheck disable=SC2086
if "$txc" build "$src/attention.tx" --emit llvm -o h.ll --shape n=50,d=16,e=8,m=50 --cpu haswell &&
    grep -q 'call <4 x double> @_ZGVdN4v_exp(' h.ll && ! grep -q '@_ZGVe' h.ll &&
    "$txc" build "$src/attention.tx" --emit llvm -o g.ll --shape n=50,d=16,e=8,m=50 --cpu generic &&
    ! grep -q '@_ZGV' g.ll &&
    "$txc" build "$src/attention.tx" -o attention_h.o --shape n=50,d=16,e=8,m=50 --cpu haswell &&
    $CC $cflags "$src/attention_main.c" attention_h.o "$txrt_a" $deps -lm -lpthread -o attention_h &&
    ./attention_h >out_h 2>&1; then
    echo "ok vector math: --cpu haswell calls _ZGVdN4v_exp ($(grep -c 'call <4 x double> @_ZGVdN4v_exp(' h.ll) calls), generic none"
else
    bad "vector math for --cpu haswell / generic"; cat out_h >&2 2>/dev/null
fi
cd "$tmp" || exit 1

# build errors: exit status 1 and a located message
expect_error() { # FILE.tx NEEDLE ARGS...
    f=$1 needle=$2
    shift 2
    "$txc" build "$f" -o err.o "$@" 2>err.txt
    rc=$?
    if [ $rc -ne 1 ] || ! grep -q -- "$needle" err.txt; then
        bad "txc build $f $*: exit $rc, expected 1 with '$needle'"; cat err.txt >&2
    else
        echo "ok error: $(head -1 err.txt)"
    fi
}
expect_error "$src/attention.tx" "pass --shape n=...,d=...,e=..."
expect_error "$src/attention.tx" "pass --shape e=..." --shape n=4,d=2,m=4
cat >calls.tx <<'TX'
def f(A[n,n], b[n]) -> x[n] {
  x = solve(A, b)
  save("x.npy", x)
}
TX
expect_error calls.tx "calls.tx:3:3: error: not supported in txc build yet: calling 'save'" --shape n=3
cat >loops.tx <<'TX'
def g(A[n]) -> B[n] {
  B = A
  for t in 0..1000 {
    B = 2 * B
  }
}
TX
expect_error loops.tx "not supported in txc build yet: a 'for' loop of 1000 iterations" --shape n=3
printf 'let n = 3\nprint n\n' >nodef.tx
expect_error nodef.tx "has no def to export"
exit $fail
