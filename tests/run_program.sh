#!/bin/sh
# run_program.sh TXC FILE.tx -- run one self-checking tx program.
#
# Runs `TXC run FILE.tx` in a fresh temporary directory (so save/load of
# relative paths never touches the source tree), with stdin from /dev/null
# and a 120 s timeout.  Fails on a non-zero exit status, a signal or a
# timeout; when FILE's sibling NAME.out exists, stdout must equal it exactly
# (a unified diff is printed otherwise).  Extra arguments for `txc run` may
# be given in $TXC_RUN_FLAGS (e.g. "--backend interp").
set -u
if [ $# -ne 2 ]; then
    echo "usage: run_program.sh TXC FILE.tx" >&2
    exit 2
fi
txc=$1
file=$2
case $txc in /*) ;; *) txc=$(pwd)/$txc ;; esac
case $file in /*) ;; *) file=$(pwd)/$file ;; esac
if [ ! -x "$txc" ]; then echo "run_program: no executable '$txc'" >&2; exit 1; fi
if [ ! -f "$file" ]; then echo "run_program: no file '$file'" >&2; exit 1; fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/txc-prog.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
mkdir "$tmp/cwd"

# shellcheck disable=SC2086
(cd "$tmp/cwd" && exec timeout 120 "$txc" run ${TXC_RUN_FLAGS:-} "$file") \
    </dev/null >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?

fail=0
if [ $rc -eq 124 ]; then
    echo "FAIL: $file: timed out after 120 s" >&2
    fail=1
elif [ $rc -ge 128 ]; then
    echo "FAIL: $file: killed by signal $((rc - 128))" >&2
    fail=1
elif [ $rc -ne 0 ]; then
    echo "FAIL: $file: exit status $rc (expected 0)" >&2
    fail=1
fi
if [ $fail -ne 0 ]; then
    echo "--- stderr ---" >&2
    cat "$tmp/stderr" >&2
    echo "--- stdout (last 40 lines) ---" >&2
    tail -n 40 "$tmp/stdout" >&2
    exit 1
fi

expected=${file%.tx}.out
if [ -f "$expected" ]; then
    if ! diff -u "$expected" "$tmp/stdout" >"$tmp/diff"; then
        echo "FAIL: $file: stdout differs from $(basename "$expected") (--- expected, +++ actual)" >&2
        cat "$tmp/diff" >&2
        if [ -s "$tmp/stderr" ]; then
            echo "--- stderr ---" >&2
            cat "$tmp/stderr" >&2
        fi
        exit 1
    fi
fi
# a passing program should be quiet on stderr; show anything it said
if [ -s "$tmp/stderr" ]; then cat "$tmp/stderr" >&2; fi
exit 0
