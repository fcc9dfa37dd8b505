#!/bin/sh
# fuzz/run.sh [SECONDS] -- build txc's libFuzzer harnesses and run each one.
#
# `make fuzz FUZZ_SECONDS=N` calls this.  Steps:
#   1. find a clang that can link -fsanitize=fuzzer (clang, clang-19,
#      clang-14); when there is none, install Debian's clang and its
#      compiler-rt (libclang-rt-dev), as root or through sudo -n, or print
#      the command to run.  Only fuzzing needs these packages.
#   2. configure $FUZZ_BUILD (default build-fuzz) with that clang and
#      -fsanitize=fuzzer-no-link,address,undefined, build the libraries
#      txrt, txfront and txir, and link the harnesses fuzz/fuzz_*.c against
#      them with -fsanitize=fuzzer,address,undefined;
#   3. seed a corpus per harness ($FUZZ_BUILD/corpus/NAME, kept between
#      runs) from tests/programs, tests/errors and examples (.tx) or
#      tests/npy (.npy);
#   4. run each harness for SECONDS (default $FUZZ_SECONDS or 60) with one
#      job, a 10 s per-input timeout, a 2 GiB memory limit and, for .tx
#      input, the token dictionary fuzz/tx.dict.  Crashing inputs land in
#      $FUZZ_BUILD/artifacts/ (crash-*, leak-*, timeout-*, oom-*); the
#      harness's final statistics (executions, executions per second) are
#      printed.  Reproduce one with
#      `build-fuzz/fuzz_frontend build-fuzz/artifacts/crash-...`.
# FUZZ_ONLY=frontend|npy runs a single harness.  Exit status 1 when any
# harness found a problem.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-${FUZZ_SECONDS:-60}}
B=${FUZZ_BUILD:-build-fuzz}
jobs=${FUZZ_JOBS:-1}
only=${FUZZ_ONLY:-}

can_fuzz() { # CC: can it compile and link a libFuzzer target?
    command -v "$1" >/dev/null 2>&1 || return 1
    t=$(mktemp -d "${TMPDIR:-/tmp}/txc-fz.XXXXXX")
    printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$t/t.c"
    if "$1" -fsanitize=fuzzer,address,undefined "$t/t.c" -o "$t/t" >/dev/null 2>&1; then r=0; else r=1; fi
    rm -rf "$t"
    return $r
}

CC=
for c in ${FUZZ_CC:-} clang clang-19 clang-14; do
    if can_fuzz "$c"; then CC=$c; break; fi
done
if [ -z "$CC" ]; then
    pkgs="clang libclang-rt-dev"
    echo "fuzz: no clang with libFuzzer found; installing: $pkgs"
    if [ "$(id -u)" = 0 ]; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq && apt-get install -y -qq --no-install-recommends $pkgs
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs
    else
        echo "fuzz: please run as root:  apt-get install -y $pkgs" >&2
        exit 1
    fi
    can_fuzz clang || { echo "fuzz: clang still cannot link -fsanitize=fuzzer" >&2; exit 1; }
    CC=clang
fi
echo "fuzz: using $CC ($("$CC" --version | head -n 1))"

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
if [ ! -f "$B/CMakeCache.txt" ]; then
    cmake -S . -B "$B" -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_C_FLAGS="-fsanitize=fuzzer-no-link $SAN" >/dev/null
fi
cmake --build "$B" -j "$jobs" --target txrt txfront txir

LIBS="$B/libtxir.a $B/libtxfront.a $B/libtxrt.a $(pkg-config --libs lapacke openblas fftw3 fftw3f) -lm -lpthread"
INC="-I. -I$B -Iruntime/include"
CFLAGS="-g -O1 -Wall -Wextra -std=gnu11 -fsanitize=fuzzer $SAN"
# link under a temporary name and rename, so that a fuzzer already running
# from this folder (fork mode re-executes its binary) never sees half a file
# shellcheck disable=SC2086
$CC $CFLAGS $INC fuzz/fuzz_frontend.c driver/pipeline.c driver/render.c $LIBS -o "$B/fuzz_frontend.new"
mv -f "$B/fuzz_frontend.new" "$B/fuzz_frontend"
# shellcheck disable=SC2086
$CC $CFLAGS $INC fuzz/fuzz_npy.c $LIBS -o "$B/fuzz_npy.new"
mv -f "$B/fuzz_npy.new" "$B/fuzz_npy"

mkdir -p "$B/corpus/frontend" "$B/corpus/npy" "$B/artifacts" "$B/seeds/frontend" "$B/seeds/npy"
for f in tests/programs/*.tx tests/errors/*.tx examples/*/*.tx fuzz/seeds/*.tx; do
    [ -f "$f" ] && cp "$f" "$B/seeds/frontend/$(echo "$f" | tr / _)"
done
for f in tests/npy/*.npy; do
    [ -f "$f" ] && cp "$f" "$B/seeds/npy/"
done

status=0
run() { # NAME EXTRA-FLAGS...
    name=$1
    shift
    if [ -n "$only" ] && [ "$only" != "$name" ]; then return 0; fi
    echo "fuzz: running fuzz_$name for $secs s"
    log="$B/fuzz_$name.log"
    if "$B/fuzz_$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$B/artifacts/" "$@" \
            "$B/corpus/$name" "$B/seeds/$name" >"$log" 2>&1; then
        :
    else
        status=1
        echo "fuzz: fuzz_$name FOUND A PROBLEM (log: $log):" >&2
        grep -E "ERROR|SUMMARY|Test unit written|runtime error" "$log" | head -n 20 >&2 || true
    fi
    grep -E "^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)" "$log" |
        sed "s/^/fuzz_$name: /"
    grep -E "^#[0-9]+ +DONE" "$log" | tail -n 1 | sed "s/^/fuzz_$name: /" || true
}
run frontend -dict=fuzz/tx.dict -max_len=16384
run npy -max_len=4096
exit $status
