#!/bin/sh
# npy_files.sh TXC TESTSDIR -- load every fixture in TESTSDIR/npy through a tiny program.
#
# Valid files must load (exit 0) with the values the fixture generator wrote
# (tests/npy/make_fixtures.py), asserted by the program.  Broken files must
# fail cleanly: exit status 3 and a message on stderr naming the file.  A few
# files numpy can read but txc may refuse (Fortran order, big-endian, int64)
# are accepted either way: loaded with the right values, or refused like a
# broken file.  A signal or timeout always fails.
set -u
if [ $# -ne 2 ]; then echo "usage: npy_files.sh TXC TESTSDIR" >&2; exit 2; fi
txc=$1
tests=$2
case $txc in /*) ;; *) txc=$(pwd)/$txc ;; esac
case $tests in /*) ;; *) tests=$(pwd)/$tests ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/txc-npy.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
cp "$tests"/npy/*.npy "$tmp"/ || exit 1
cd "$tmp" || exit 1

failures=0
count=0

# run NAME PROGRAM-TEXT: writes NAME.tx, runs it, sets rc; stderr in NAME.err
run() {
    printf '%s\n' "$2" >"$1.tx"
    timeout 30 "$txc" run "$1.tx" </dev/null >"$1.stdout" 2>"$1.err"
    rc=$?
    count=$((count + 1))
}

fail() {
    echo "FAIL: $1" >&2
    if [ -s "$2.err" ]; then sed 's/^/    /' "$2.err" >&2; fi
    failures=$((failures + 1))
}

check_signal() { # NAME: 1 if rc says signal/timeout
    if [ "$rc" -eq 124 ]; then fail "$1: timed out" "$1"; return 1; fi
    if [ "$rc" -ge 128 ]; then fail "$1: killed by signal $((rc - 128))" "$1"; return 1; fi
    return 0
}

# valid NAME PROGRAM: must exit 0
valid() {
    run "$1" "$2"
    check_signal "$1" || return
    [ "$rc" -eq 0 ] || fail "$1.npy: valid file, exit status $rc (expected 0)" "$1"
}

# broken NAME: loading must exit 3 with a message naming the file
broken() {
    run "$1" "A = load(\"$1.npy\")
print \"loaded\", A"
    check_signal "$1" || return
    if [ "$rc" -ne 3 ]; then
        fail "$1.npy: broken file, exit status $rc (expected 3)" "$1"
    elif ! grep -q "$1.npy" "$1.err"; then
        fail "$1.npy: the error message does not name the file" "$1"
    fi
}

# either NAME PROGRAM: exit 0 (values asserted by PROGRAM) or a clean refusal
either() {
    run "$1" "$2"
    check_signal "$1" || return
    if [ "$rc" -eq 0 ]; then
        echo "note: $1.npy loaded"
    elif [ "$rc" -eq 3 ] && grep -q "$1.npy" "$1.err"; then
        echo "note: $1.npy refused: $(head -n 1 "$1.err")"
    else
        fail "$1.npy: exit status $rc (expected 0, or 3 with a message naming the file)" "$1"
    fi
}

valid f64_2x3 'A = load("f64_2x3.npy")
assert dim(A, 0) == 2
assert dim(A, 1) == 3
assert A[0,0] == 0
assert A[1,2] == 2.5
assert A[0,1] == 0.5
assert sum(A) == 7.5
print A'
grep -q 'f64\[2,3\]' f64_2x3.stdout || fail "f64_2x3.npy: printed dtype/shape is not f64[2,3]" f64_2x3

valid f32_3 'A = load("f32_3.npy")
assert dim(A, 0) == 3
assert A[0] == 1.5
assert A[1] == -2.25
assert A[2] == 3
print A'
grep -q 'f32\[3\]' f32_3.stdout || fail "f32_3.npy: not loaded as f32[3]" f32_3

valid c128_2 'A = load("c128_2.npy")
assert real(A[0]) == 1
assert imag(A[0]) == 2
assert real(A[1]) == 0
assert imag(A[1]) == -3.5
print A'
grep -q 'c128\[2\]' c128_2.stdout || fail "c128_2.npy: not loaded as c128[2]" c128_2

valid c64_2x2 'A = load("c64_2x2.npy")
assert dim(A, 0) == 2
assert abs(A[0,0] - (1+1j)) == 0
assert abs(A[0,1] - 2) == 0
assert abs(A[1,0] - 3) == 0
assert abs(A[1,1] + 4j) == 0
print A'
grep -q 'c64\[2,2\]' c64_2x2.stdout || fail "c64_2x2.npy: not loaded as c64[2,2]" c64_2x2

valid scalar_f64 's = load("scalar_f64.npy")
assert s == 2.5
X = arange(3)
Y[i] = s * X[i]
assert sum(Y) == 7.5
print s'
grep -qx '2.5' scalar_f64.stdout || fail "scalar_f64.npy: a shape () file does not print as the scalar 2.5" scalar_f64

valid rank3_f64 'A = load("rank3_f64.npy")
assert dim(A, 0) == 2
assert dim(A, 1) == 1
assert dim(A, 2) == 3
assert A[0,0,0] == -1
assert A[1,0,2] == 4
assert sum(A) == 9'

valid v2_f64 'A = load("v2_f64.npy")
assert dim(A, 0) == 3
assert sum(A) == 6
assert A[2] == 3'

valid empty_f64 'A = load("empty_f64.npy")
assert dim(A, 0) == 0
assert sum(A) == 0'

either fortran_2x3 'A = load("fortran_2x3.npy")
assert dim(A, 0) == 2
assert dim(A, 1) == 3
assert A[0,1] == 1
assert A[1,0] == 3
assert A[1,2] == 5'

either bigendian_f64 'A = load("bigendian_f64.npy")
assert dim(A, 0) == 3
assert A[0] == 1
assert A[1] == -2
assert A[2] == 0.25'

either int64_3 'A = load("int64_3.npy")
assert dim(A, 0) == 3
assert A[0] == 7
assert A[1] == -1
assert A[2] == 3'

for b in truncated bad_magic bad_header bad_shape header_overrun extra_data \
         object_dtype empty_file negative_shape huge_shape bad_version; do
    broken "$b"
done

# a missing file is an error naming it, too
broken no_such_file

if [ $failures -ne 0 ]; then
    echo "npy_files: $failures of $count checks failed" >&2
    exit 1
fi
echo "npy_files: all $count checks passed"
exit 0
