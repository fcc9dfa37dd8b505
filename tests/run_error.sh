#!/bin/sh
# run_error.sh TXC DIR/NAME.tx -- check one malformed program's diagnostics.
#
# Runs `TXC run NAME.tx` from inside DIR, passing the bare file name so the
# "NAME.tx:LINE:COL:" prefix is stable, with stdin from /dev/null and a 60 s
# timeout.  The expected exit status comes from the first line of NAME.tx,
# "# exit: N" (1 when absent: a compile error; 3 for a runtime error).
# stderr must equal NAME.err byte for byte (a unified diff is printed
# otherwise).  A signal or timeout always fails.  One machine-dependent
# figure is normalised before comparing: the memory size in "... is more
# than the 24 GiB of memory" becomes "<SIZE>".  Extra arguments for
# `txc run` may be given in $TXC_RUN_FLAGS.
set -u
if [ $# -ne 2 ]; then
    echo "usage: run_error.sh TXC DIR/NAME.tx" >&2
    exit 2
fi
txc=$1
file=$2
case $txc in /*) ;; *) txc=$(pwd)/$txc ;; esac
if [ ! -x "$txc" ]; then echo "run_error: no executable '$txc'" >&2; exit 1; fi
if [ ! -f "$file" ]; then echo "run_error: no file '$file'" >&2; exit 1; fi
dir=$(dirname "$file")
name=$(basename "$file")
expected_err=$(cd "$dir" && pwd)/${name%.tx}.err
if [ ! -f "$expected_err" ]; then
    echo "FAIL: $file: missing expected-diagnostics file ${name%.tx}.err" >&2
    exit 1
fi

want=1
first=$(head -n 1 "$file")
case $first in
    "# exit: "*) want=${first#"# exit: "} ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/txc-err.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# shellcheck disable=SC2086
(cd "$dir" && exec timeout 60 "$txc" run ${TXC_RUN_FLAGS:-} "$name") \
    </dev/null >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
sed -E 's/than the [0-9.]+ (bytes|[KMGTPE]iB) of memory/than the <SIZE> of memory/' \
    "$tmp/stderr" >"$tmp/stderr.norm"
mv "$tmp/stderr.norm" "$tmp/stderr"

fail=0
if [ $rc -eq 124 ]; then
    echo "FAIL: $file: timed out after 60 s" >&2
    fail=1
elif [ $rc -ge 128 ]; then
    echo "FAIL: $file: killed by signal $((rc - 128))" >&2
    fail=1
elif [ "$rc" != "$want" ]; then
    echo "FAIL: $file: exit status $rc, expected $want" >&2
    fail=1
fi
if ! diff -u "$expected_err" "$tmp/stderr" >"$tmp/diff"; then
    echo "FAIL: $file: stderr differs from ${name%.tx}.err (--- expected, +++ actual)" >&2
    cat "$tmp/diff" >&2
    fail=1
fi
exit $fail
