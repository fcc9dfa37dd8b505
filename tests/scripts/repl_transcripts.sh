#!/bin/sh
# repl_transcripts.sh TXC TESTSDIR -- scripted REPL sessions with expected output.
#
# Every TESTSDIR/repl/NAME.in is piped into `TXC repl` (so stdin is not a
# terminal: no prompts, no banner), with stdout and stderr merged into one
# stream in the order they were written, and the exit status appended as a
# last line "[exit N]".  The result must equal NAME.out exactly (a unified
# diff is printed otherwise).  Each session runs in a fresh temporary
# directory holding copies of TESTSDIR/repl/*.tx (scripts the sessions
# :load), with HOME pointing there, and a 60 s timeout.
#
# A few checks whose output varies from run to run (timings) follow the
# transcripts.  To accept a changed transcript after checking it by eye:
#   (cd /tmp && TXC repl < tests/repl/NAME.in > tests/repl/NAME.out 2>&1; echo "[exit $?]" >> tests/repl/NAME.out)
set -u
if [ $# -ne 2 ]; then echo "usage: repl_transcripts.sh TXC TESTSDIR" >&2; exit 2; fi
txc=$1
dir=$2
case $txc in /*) ;; *) txc=$(pwd)/$txc ;; esac
case $dir in /*) ;; *) dir=$(pwd)/$dir ;; esac
if [ ! -x "$txc" ]; then echo "repl_transcripts: no executable '$txc'" >&2; exit 1; fi
if [ ! -d "$dir/repl" ]; then echo "repl_transcripts: no folder '$dir/repl'" >&2; exit 1; fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/txc-repl.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
failures=0
cases=0

# fresh working directory for one session
fresh() {
    rm -rf "$tmp/cwd"
    mkdir "$tmp/cwd" || exit 1
    for f in "$dir"/repl/*.tx; do
        [ -f "$f" ] && cp "$f" "$tmp/cwd/"
    done
}

for input in "$dir"/repl/*.in; do
    [ -f "$input" ] || continue
    name=$(basename "$input" .in)
    expected="$dir/repl/$name.out"
    cases=$((cases + 1))
    fresh
    (cd "$tmp/cwd" && HOME="$tmp/cwd" exec timeout 60 "$txc" repl) <"$input" >"$tmp/actual" 2>&1
    rc=$?
    echo "[exit $rc]" >>"$tmp/actual"
    if [ ! -f "$expected" ]; then
        echo "FAIL $name: no expected output $expected; this session printed:"
        cat "$tmp/actual"
        failures=$((failures + 1))
    elif ! diff -u "$expected" "$tmp/actual" >"$tmp/diff"; then
        echo "FAIL $name: output differs from $name.out (--- expected, +++ actual):"
        cat "$tmp/diff"
        failures=$((failures + 1))
    else
        echo "ok   $name"
    fi
done

# check NAME INPUT PATTERN: the merged output of a session matches PATTERN (grep -E)
check() {
    cases=$((cases + 1))
    fresh
    (cd "$tmp/cwd" && printf '%b' "$2" | HOME="$tmp/cwd" timeout 60 "$txc" repl) >"$tmp/actual" 2>&1
    if grep -Eq "$3" "$tmp/actual"; then
        echo "ok   $1"
    else
        echo "FAIL $1: expected a line matching '$3'; got:"
        cat "$tmp/actual"
        failures=$((failures + 1))
    fi
}

# :time on prints front end and run times after each statement (to stderr)
check time-on ':time on\nx = 1\n' '^time: front end [0-9.]+ ms, run [0-9.]+ ms'
check time-jit ':time on\nA = ones(3,3)\nB[i,j] = A[i,k] * A[k,j]\n' '\(jit: [0-9]+ kernels? compiled in [0-9.]+ ms'
check time-interp ':backend interp\n:time on\nx = 1\n' 'run [0-9.]+ ms \(reference evaluator\)'
check time-show ':time on\n:time\n' '^timing is on$'
# :plan shows the planner's choice without running the statement (checked
# loosely here: the planner's report format is the planner's to change)
att='let n = 8\nlet d = 4\nQ = randn(n, d, seed=1)\nK = randn(n, d, seed=2)\nV = randn(n, d, seed=3)\n'
att="${att}A[i,j,k] = exp(sum[a](Q[i,a] * K[j,a] * V[k,a]) / d)\nD[i] = A[i,j,k]\n"
plan=':plan O[i,b] = A[i,j,k] * Q[j,b] * K[k,b] / D[i]\n'
check plan-header "$att$plan" '^<repl:[0-9]+>:1: O\[i,b\] = '
check plan-tree "$att$plan" '^ +tree +\(.*\)$'
check plan-flops "$att$plan" 'flops: naive [0-9.e+]+, planned [0-9.e+]+'
check plan-not-run "${att}${plan}O\n" "'O' is not defined"
check plan-none ':plan x = 1\n' '^no contractions to plan in this statement$'
# :llvm shows the kernel the JIT would compile, without running it
check llvm-kernel 'A = ones(3,4)\n:llvm C[i] = A[i,j] * 2\nC\n' '^define void @tx_C\(ptr'
check llvm-not-run 'A = ones(3,4)\n:llvm C[i] = A[i,j] * 2\nC\n' "'C' is not defined"
# a session reading no input at all prints nothing and succeeds
cases=$((cases + 1))
fresh
(cd "$tmp/cwd" && HOME="$tmp/cwd" timeout 60 "$txc" repl) </dev/null >"$tmp/actual" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ ! -s "$tmp/actual" ]; then
    echo "ok   empty-input"
else
    echo "FAIL empty-input: exit $rc, output:"
    cat "$tmp/actual"
    failures=$((failures + 1))
fi

echo "$((cases - failures)) of $cases REPL sessions passed"
[ "$failures" -eq 0 ]
