#!/bin/sh
# fuzz/replay.sh TXC CORPUS-DIR [SECONDS-PER-INPUT] -- run a fuzzing corpus.
#
# The libFuzzer harnesses never execute programs; this replays every file
# of a corpus (build-fuzz/corpus/frontend after `make fuzz`) through
# `TXC run` -- evaluator, JIT, runtime -- one at a time in a scratch
# folder, with a per-input timeout (default 5 s) and allocations capped at
# 4 GiB so that they fail instead of exhausting the machine (a 4 GiB
# address-space limit; for a sanitizer build, which reserves terabytes of
# address space, ASan's max_allocation_size_mb).  Exit statuses 0-3 and timeouts are fine (a slow program is not
# a bug); a signal, a sanitizer report (exit status 99; 23 for a leak) or
# any other status is reported with
# the input's name, and the input is copied to $REPLAY_KEEP when set.
# Exit status 1 when anything was reported.
set -u
if [ $# -lt 2 ]; then echo "usage: replay.sh TXC CORPUS-DIR [SECONDS]" >&2; exit 2; fi
txc=$1
dir=$2
secs=${3:-5}
case $txc in /*) ;; *) txc=$(pwd)/$txc ;; esac
case $dir in /*) ;; *) dir=$(pwd)/$dir ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/txc-replay.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
asan=0
if nm -D "$txc" 2>/dev/null | grep -q __asan_init || nm "$txc" 2>/dev/null | grep -q __asan_init; then asan=1; fi

n=0
bad=0
slow=0
c0=0 c1=0 c3=0
for f in "$dir"/*; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    rm -rf "$tmp/w"
    mkdir "$tmp/w"
    cp "$f" "$tmp/w/p.tx"
    if [ $asan = 1 ]; then
        (cd "$tmp/w" && ASAN_OPTIONS=detect_leaks=1:exitcode=99:max_allocation_size_mb=4096:allocator_may_return_null=1 UBSAN_OPTIONS=exitcode=99:print_stacktrace=1 \
            timeout -s KILL "$secs" "$txc" run p.tx) \
            </dev/null >/dev/null 2>"$tmp/err"
    else
        (cd "$tmp/w" && ulimit -v 4194304 && timeout -s KILL "$secs" "$txc" run p.tx) \
            </dev/null >/dev/null 2>"$tmp/err"
    fi
    rc=$?
    if [ $rc -eq 137 ]; then slow=$((slow + 1)); continue; fi
    case $rc in
        0) c0=$((c0 + 1)); continue ;;
        1) c1=$((c1 + 1)); continue ;;
        2|3) c3=$((c3 + 1)); continue ;;
    esac
    bad=$((bad + 1))
    echo "REPLAY: $(basename "$f"): exit status $rc" >&2
    grep -m 5 -e "ERROR" -e "SUMMARY" -e "runtime error" "$tmp/err" | sed 's/^/    /' >&2
    if [ -n "${REPLAY_KEEP:-}" ]; then mkdir -p "$REPLAY_KEEP" && cp "$f" "$REPLAY_KEEP/"; fi
done
echo "replay: $n inputs: $c0 ran (exit 0), $c1 compile errors, $c3 runtime errors," \
     "$slow stopped after ${secs} s, $bad problems"
[ $bad -eq 0 ]
