# txc -- top-level entry points.  `make run` and `make test` set up a fresh
# Debian machine (missing packages), configure, build, and run.
BUILD   ?= build
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps configure build run run-examples test test-sanitize fuzz clean bench

all: build

deps:
	@sh scripts/deps.sh

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

configure: deps $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/txc run examples/attention/attention.tx

# Every research example in examples/ at its test size, each checking itself.
run-examples: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L examples

# TXRT_POISON=1: outputs allocated without the zero fill start as NaNs, so an
# element a backend forgets to write fails the tests (runtime/tensor.c).
test: build
	cd $(BUILD) && TXRT_POISON=1 ctest --output-on-failure -j $(JOBS)

# ASan+UBSan build of everything (build-asan) and the whole ctest suite.  GCC's
# -fsanitize=undefined leaves out float-cast-overflow (a double too large for
# the integer it is converted to), so it is added here.
ASAN_DIR ?= build-asan
test-sanitize: deps
	cmake -S . -B $(ASAN_DIR) -DTXC_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
	    -DCMAKE_C_FLAGS="-fsanitize=float-cast-overflow -fno-sanitize-recover=float-cast-overflow"
	cmake --build $(ASAN_DIR) -j $(JOBS)
	cd $(ASAN_DIR) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 TXRT_POISON=1 \
	    ctest --output-on-failure -j $(JOBS)

# libFuzzer harnesses (fuzz/run.sh: clang, installed if missing; build-fuzz):
# each runs for FUZZ_SECONDS; crashing inputs go to build-fuzz/artifacts/.
FUZZ_SECONDS ?= 60
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(JOBS) sh fuzz/run.sh

# Benchmarks (bench/README.md): builds txc, then times every workload of
# bench/ against numpy (einsum and best form) and C on the same inputs and
# writes bench/results.md.  BENCH_FLAGS="--quick" or "--only gemm,fft2".
BENCH_FLAGS ?=
bench: configure
	cmake --build $(BUILD) -j $(JOBS) --target txc
	/usr/bin/python3 bench/run.py --txc $(BUILD)/txc $(BENCH_FLAGS)

clean:
	rm -rf $(BUILD) build-asan build-fuzz

# Install txc, libtxrt (static and shared), its headers, txrt.pc and the
# CMake package under PREFIX (default /usr/local):
#   make install PREFIX=$HOME/.local
PREFIX ?= /usr/local
.PHONY: install
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)
