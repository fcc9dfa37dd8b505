#!/bin/sh
# run.sh TXC SRCDIR LIBTXRT_A LIBTXRT_SO -- the ahead-of-time suite.
#
# For each of matmul.tx (BLAS contractions), attention.tx (fused non-linear
# kernels, +=), spectral.tx (several results, complex dtype), linalg.tx
# (builtins run by libtxrt, a for loop, a run-time failure) and generic.tx
# (no --shape: sizes are run-time arguments, called with several sizes):
#   1. run the script on the reference evaluator, which saves the inputs and
#      the expected results as .npy files;
#   2. `txc build` it to an object with a header (--shape from its first
#      line), compile its C driver NAME_main.c against the header with
#      -std=c11 -Wall -Wextra -pedantic -Werror, link with libtxrt.a, run it:
#      results must match the evaluator's (and, run again, the JIT's) and a
#      wrong size must fail with a message;
#   3. the same through `txc build --shared` and libtxrt.so.
# Then: generic.tx with only some sizes fixed (--shape g_attention.d=6),
# the headers as C++17 (header_cxx.cpp, linked and run), --emit llvm and
# asm, --cpu generic, and the build errors (constructs refused without
# --shape, unsupported statements).  Everything happens in a temporary directory.
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

for name in matmul attention spectral linalg generic; do
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

# mixed: d of g_attention specialised, every other size a run-time argument
cd "$tmp/generic" || exit 1
# shellcheck disable=SC2086
if "$txc" build "$src/generic.tx" -o mixed.o --header generic.h --shape g_attention.d=6 &&
    grep -q 'built for d=6' generic.h && grep -q 'run-time sizes n, e' generic.h &&
    $CC $cflags "$src/generic_main.c" mixed.o "$txrt_a" $deps -lm -lpthread -o mixed && ./mixed mixed >mixed.out 2>&1; then
    echo "ok generic: only d fixed with --shape: $(grep -c '^ok' mixed.out) checks"
else
    bad "generic.tx with --shape g_attention.d=6"; cat mixed.out >&2 2>/dev/null
fi
# the size-generic header again (mixed.o's replaced it); a clean build says nothing
if "$txc" build "$src/generic.tx" -o generic.o --header generic.h 2>build.err && [ ! -s build.err ]; then
    echo "ok generic: built without diagnostics"
else
    bad "generic.tx: the build failed or printed diagnostics"; cat build.err >&2
fi

# the headers as C++17, and a C++ program calling generated functions
cd "$tmp" || exit 1
cp matmul/matmul.h attention/attention.h spectral/spectral.h generic/generic.h . 2>/dev/null
# shellcheck disable=SC2086
if $CXX -std=c++17 -Wall -Wextra -pedantic -Werror -I. "$src/header_cxx.cpp" spectral/spectral.o generic/generic.o \
        "$txrt_a" $deps -lm -lpthread -o cxx && ./cxx; then :; else bad "C++17 header / driver"; fi

# --emit llvm / asm; the matrix products go to BLAS
if "$txc" build "$src/matmul.tx" --emit llvm -o m.ll --shape m=64,k=48,n=40,p=24 &&
    grep -q '@matmul(' m.ll && grep -q 'call.*@txrt_aot_gemm' m.ll; then
    echo "ok --emit llvm ($(grep -c 'call.*@txrt_aot_gemm' m.ll) BLAS calls)"
else
    bad "--emit llvm"
fi
# without --shape the products still go to BLAS, with run-time m, n, k
if "$txc" build "$src/generic.tx" --emit llvm -o g.ll && grep -q '@g_matmul(i64 %m' g.ll &&
    [ "$(grep -c 'call.*@txrt_aot_gemm' g.ll)" -ge 3 ]; then
    echo "ok generic --emit llvm ($(grep -c 'call.*@txrt_aot_gemm' g.ll) BLAS calls)"
else
    bad "generic --emit llvm: expected BLAS calls"
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
# without --shape (or with sizes left open) what cannot be size-generic is
# refused: located, with the source line, a caret and the --shape hint
expect_generic() { # FILE.tx LOCATION-AND-MESSAGE SOURCE-LINE HINT ARGS...
    f=$1 msg=$2 line=$3 hint=$4
    shift 4
    "$txc" build "$f" -o err.o "$@" 2>err.txt
    rc=$?
    if [ $rc -ne 1 ] || ! grep -qF -- "$msg" err.txt || ! grep -qF -- "$line" err.txt ||
        ! grep -q '^ *\^~*$' err.txt || ! grep -qF -- "hint: $hint" err.txt; then
        bad "txc build $f $*: exit $rc, expected 1 with '$msg', '$line', a caret and '$hint'"; cat err.txt >&2
    else
        echo "ok refused: $(grep -F -- "$msg" err.txt | head -1)"
    fi
}
expect_generic "$src/attention.tx" "attention.tx:25:3: error: not supported with run-time sizes: calling 'softmax'" \
    "Pd = softmax(S)" "pass --shape n=...,d=...,e=... to specialise"
expect_generic "$src/attention.tx" "attention.tx:25:3: error: not supported with run-time sizes: calling 'softmax'" \
    "Pd = softmax(S)" "pass --shape e=... to specialise" --shape n=4,d=2,m=4
cat >generic_bad.tx <<'TX'
def shift(x[n]) -> y[n] {
  y[i] = x[i+1]
}
def solve2(A[n,n], b[n]) -> x[n] {
  x = solve(A, b)
}
def twice(A[n]) -> B[n] {
  B = A
  for t in 0..3 {
    B = 2 * B
  }
}
def first(A[n,d]) -> B[n] {
  B[i] = A[i, 0]
}
def five(A[n]) -> B[5] {
  B[i] = A[i]
}
TX
expect_generic generic_bad.tx "generic_bad.tx:2:3: error: not supported in txc build yet: subscript 0 of x is not a plain index" \
    "y[i] = x[i+1]" "pass --shape n=... to specialise"
expect_generic generic_bad.tx "generic_bad.tx:5:3: error: not supported with run-time sizes: calling 'solve'" \
    "x = solve(A, b)" "pass --shape n=... to specialise"
expect_generic generic_bad.tx "generic_bad.tx:9:3: error: not supported with run-time sizes: a 'for' loop" \
    "for t in 0..3 {" "pass --shape n=... to specialise"
expect_generic generic_bad.tx "generic_bad.tx:14:3: error: not supported in txc build yet: subscript 1 of A is not a plain index" \
    "B[i] = A[i, 0]" "pass --shape n=...,d=... to specialise"
expect_generic generic_bad.tx "generic_bad.tx:16:19: error: result 'B' of 'five' should have shape (5,), but the body gives it shape (n,)" \
    "def five(A[n]) -> B[5] {" "pass --shape n=... to specialise"
# ... which --shape resolves (what is left is five()'s own error)
"$txc" build generic_bad.tx -o ok.o --shape n=6,d=2 2>err.txt
if grep -q 'run-time\|to specialise' err.txt || [ "$(grep -c 'error:' err.txt)" -gt 2 ]; then
    bad "generic_bad.tx with --shape n=6,d=2: no run-time size errors expected"; cat err.txt >&2
else
    echo "ok generic_bad.tx with --shape: nothing refused for run-time sizes"
fi
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
