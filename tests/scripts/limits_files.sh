#!/bin/sh
# limits_files.sh TXC TESTSDIR -- files fail cleanly: .npy errors are located
# runtime errors, and a failed or interrupted save never leaves a partial file.
#
#  1. Every fixture in TESTSDIR/npy is loaded by a one-line program.  It
#     either loads (exit 0) or fails as a located runtime error: exit 3,
#     stderr starting "load_NAME.tx:1:10: runtime error: cannot load
#     'NAME.npy': ..." followed by the source line and a caret line.
#  2. A save whose write fails half way (the file size limit, `ulimit -f`,
#     with SIGXFSZ ignored so write() reports EFBIG) is a located exit-3
#     error and leaves the folder empty: no truncated .npy, no temporary.
#  3. A save onto a path that is a folder (the final rename fails) leaves
#     nothing behind either.
#  4. A save into a read-only folder fails cleanly and creates nothing
#     (skipped when running as root, for whom permissions do not apply).
#  5. A save killed (SIGKILL) at a few moments while it writes a 32 MB
#     tensor over an existing file leaves either the old file or the
#     complete new one under the target name, never a truncated one.
set -u
if [ $# -ne 2 ]; then echo "usage: limits_files.sh TXC TESTSDIR" >&2; exit 2; fi
txc=$1
tests=$2
case $txc in /*) ;; *) txc=$(pwd)/$txc ;; esac
case $tests in /*) ;; *) tests=$(pwd)/$tests ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/txc-files.XXXXXX") || exit 1
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
cd "$tmp" || exit 1

failures=0
count=0
fail() {
    echo "FAIL: $1" >&2
    [ $# -ge 2 ] && [ -s "$2" ] && sed 's/^/    /' "$2" >&2
    failures=$((failures + 1))
}

# run NAME: runs NAME.tx (30 s timeout), rc and NAME.err
run() {
    timeout 30 "$txc" run "$1.tx" </dev/null >"$1.out" 2>"$1.err"
    rc=$?
    count=$((count + 1))
}

# located NAME LINE COL MSGPREFIX: the first diagnostic is at LINE:COL, a
# runtime error starting with MSGPREFIX, followed by the source line and a caret
located() {
    first=$(sed -n 1p "$1.err")
    case $first in
        "$1.tx:$2:$3: runtime error: $4"*) ;;
        *) fail "$1: expected '$1.tx:$2:$3: runtime error: $4...', got '$first'" "$1.err"; return 1 ;;
    esac
    if ! sed -n 3p "$1.err" | grep -q '^ *\^'; then
        fail "$1: the diagnostic has no caret line" "$1.err"
        return 1
    fi
    return 0
}

# ---- 1. every .npy fixture loads or is a located exit-3 error -----------------
mkdir npy
cp "$tests"/npy/*.npy npy/ || exit 1
for f in npy/*.npy; do
    name=$(basename "$f" .npy)
    p=load_$name
    printf 'A = load("npy/%s.npy")\n' "$name" >"$p.tx"
    run "$p"
    if [ "$rc" -eq 0 ]; then continue; fi
    if [ "$rc" -ne 3 ]; then fail "npy/$name.npy: exit status $rc (expected 0, or 3 for a broken file)" "$p.err"; continue; fi
    located "$p" 1 10 "cannot load 'npy/$name.npy'" || continue
done

# ---- 2. a write that fails half way leaves nothing -------------------------------
mkdir full
printf 'X = ones(100000)\nsave("full/x.npy", X)\n' >efbig.tx
(trap '' XFSZ; ulimit -f 16; exec timeout 30 "$txc" run efbig.tx) </dev/null >efbig.out 2>efbig.err
rc=$?
count=$((count + 1))
if [ "$rc" -ne 3 ]; then
    fail "save with a failing write: exit status $rc (expected 3)" efbig.err
else
    located efbig 2 6 "cannot write 'full/x.npy'"
fi
if [ -n "$(ls -A full)" ]; then fail "save with a failing write left files behind: $(ls -A full)"; fi

# ---- 3. a failing rename leaves nothing ---------------------------------------------
mkdir -p dirtarget/x.npy
printf 'X = ones(10)\nsave("dirtarget/x.npy", X)\n' >isdir.tx
run isdir
if [ "$rc" -ne 3 ]; then
    fail "save onto a folder: exit status $rc (expected 3)" isdir.err
else
    located isdir 2 6 "cannot write 'dirtarget/x.npy'"
fi
left=$(ls -A dirtarget dirtarget/x.npy | grep -v -e '^dirtarget' -e '^x.npy$' -e '^$')
if [ -n "$left" ]; then fail "save onto a folder left files behind: $left"; fi

# ---- 4. a read-only folder ---------------------------------------------------------------
mkdir ro
chmod 555 ro
if [ -w ro ]; then
    echo "note: running as root; the read-only folder check is skipped"
else
    printf 'X = ones(10)\nsave("ro/x.npy", X)\n' >ro.tx
    run ro
    if [ "$rc" -ne 3 ]; then fail "save into a read-only folder: exit status $rc (expected 3)" ro.err
    else located ro 2 6 "cannot write 'ro/x.npy'"; fi
    if [ -n "$(ls -A ro)" ]; then fail "save into a read-only folder created: $(ls -A ro)"; fi
fi
chmod 755 ro

# ---- 5. a save killed while writing ------------------------------------------------------
printf 'X = full(3, value=7)\nsave("kill/x.npy", X)\n' >old.tx
mkdir kill
run old
[ "$rc" -eq 0 ] || fail "could not write the original file" old.err
printf 'X = full(4000000, value=2)\nsave("kill/x.npy", X)\n' >big.tx
printf 'X = load("kill/x.npy")\nprint dim(X, 0), sum(X)\n' >verify.tx
for delay in 0.02 0.05 0.08 0.09 0.1 0.11 0.13 0.2; do
    timeout 30 "$txc" run big.tx </dev/null >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    run verify
    got=$(cat verify.out)
    case $got in
        "3.0 21.0" | "4000000.0 8000000.0") ;;
        *) fail "after killing a save at ${delay}s, kill/x.npy is neither the old nor the new file (exit $rc, '$got')" verify.err ;;
    esac
    rm -f kill/.x.npy.*     # a killed save may leave its hidden temporary
done

if [ $failures -ne 0 ]; then
    echo "limits_files: $failures of $count checks failed" >&2
    exit 1
fi
echo "limits_files: all $count checks passed"
exit 0
