#!/bin/sh
# repl_pty.sh TXC TESTSDIR -- the interactive REPL under a pseudo-terminal.
#
# Runs `TXC repl` inside a private tmux server (its own socket, no user
# configuration), types into it with `tmux send-keys` and reads the screen
# with `tmux capture-pane`.  Checks: the banner and the "tx> " prompt,
# multi-line input with the "... " continuation prompt, recall of the
# previous line with the up arrow (then edited), Ctrl-C discarding a line
# and an open continuation while the session goes on, tab completion of a
# builtin and of a meta command, Ctrl-D leaving with status 0, and the
# history file (~/.txc_history, HOME pointing at a temporary folder) being
# read back by a second session, and a third session without HOME.
#
# Every step waits for the text it expects (polling the screen, at most 10 s
# per step), so the test does not depend on timing; it takes a few seconds.
# Needs tmux (Debian: tmux, installed by scripts/deps.sh); without it the
# script says so and exits 0.  PTY_DEBUG=1 traces every step (set -x).
set -u
[ -n "${PTY_DEBUG:-}" ] && set -x
if [ $# -ne 2 ]; then echo "usage: repl_pty.sh TXC TESTSDIR" >&2; exit 2; fi
txc=$1
case $txc in /*) ;; *) txc=$(pwd)/$txc ;; esac
if [ ! -x "$txc" ]; then echo "repl_pty: no executable '$txc'" >&2; exit 1; fi
if ! command -v tmux >/dev/null 2>&1; then
    echo "skipped: tmux not installed (apt-get install tmux)"
    exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/txc-pty.XXXXXX") || exit 1
sock="$tmp/tmux.sock"
home="$tmp/home"
mkdir "$home" || exit 1
T() { TERM=xterm timeout 10 tmux -S "$sock" "$@"; }
cleanup() {
    T kill-server >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The shell around txc catches SIGINT (a handler, not SIG_IGN, so txc
# starts with the default disposition as from a terminal) so that Ctrl-C
# sent to the foreground group does not end the pane with it.
cat >"$tmp/session.sh" <<EOF
trap : INT
cd "$home" || exit 1
HOME="$home" "$txc" repl
echo "[exit \$?]"
sleep 60
EOF

cat >"$tmp/session_nohome.sh" <<EOF
trap : INT
cd "$home" || exit 1
env -u HOME "$txc" repl
echo "[exit \$?]"
sleep 60
EOF

# start [SCRIPT]: a new tmux server running txc (session.sh by default)
# Each start gets a socket of its own: a new server on the socket of one
# just killed could meet it still exiting ("server exited unexpectedly",
# before txc runs at all: the session shell keeps a server alive whatever
# txc does).  Starting is also tried three times, for a busy machine.
nstart=0
start() {
    nstart=$((nstart + 1))
    sock="$tmp/tmux.$nstart.sock"
    for attempt in 1 2 3; do
        if T -f /dev/null new-session -d -x 120 -y 60 "sh '$tmp/${1:-session.sh}'" 2>"$tmp/start.err"; then
            return 0
        fi
        T kill-server >/dev/null 2>&1
        sleep 1
    done
    echo "FAIL: cannot start tmux (3 attempts)"
    cat "$tmp/start.err"
    exit 1
}

screen() { T capture-pane -p -S -300 >"$tmp/screen" 2>"$tmp/screen.err"; }

fail() {
    echo "FAIL: $1"
    echo "--- screen:"
    cat "$tmp/screen" "$tmp/screen.err"
    echo "---"
    exit 1
}

# wait_for REGEX: until a line of the screen matches REGEX (grep -E)
wait_for() {
    i=0
    while [ $i -lt 200 ]; do
        screen
        grep -Eq -- "$1" "$tmp/screen" && return 0
        sleep 0.05
        i=$((i + 1))
    done
    fail "timed out waiting for a line matching '$1'"
}

# wait_count N REGEX: until N lines of the screen match REGEX
wait_count() {
    i=0
    while [ $i -lt 200 ]; do
        screen
        [ "$(grep -Ec -- "$2" "$tmp/screen")" -ge "$1" ] && return 0
        sleep 0.05
        i=$((i + 1))
    done
    fail "timed out waiting for $1 lines matching '$2'"
}

# Each line is typed only once the prompt for it is shown (so nothing is
# typed ahead and echoed out of place): `prompts` counts the prompts seen.
prompts=0
next_prompt() {
    prompts=$((prompts + 1))
    wait_count $prompts '^(tx>|\.\.\.)( |$)'
}
type_line() {
    next_prompt
    T send-keys -l -- "$1" && T send-keys Enter
}

# ---- first session -------------------------------------------------------------
start
wait_for '^txc [0-9.]+ -- .*:help'

type_line 'x = 41 + 1'
type_line 'x'
wait_for '^42\.0$'

# multi-line input: the prompt becomes "... " while the brace is open
type_line 'def sq(X[n]) -> Y[n] {'
type_line 'Y[i] = X[i] * X[i]'
wait_for '^\.\.\. Y\[i\] = X\[i\] \* X\[i\]$'
type_line '}'
type_line 'sq(arange(4))'
wait_for '^\[0\. 1\. 4\. 9\.\] f64\[4\]$'

# the up arrow recalls the last line; edit it and run it
next_prompt
T send-keys Up
wait_for '^tx> sq\(arange\(4\)\)$'
T send-keys -l ' * 2'
T send-keys Enter
wait_for '^\[ 0\.  2\.  8\. 18\.\] f64\[4\]$'

# Ctrl-C discards the line being typed ...
next_prompt
T send-keys -l 'garbage_line'
wait_for '^tx> garbage_line$'
T send-keys C-c
wait_for '^tx> garbage_line\^C$'
# ... and an open continuation; the session and its names survive
type_line 'y = (x +'
next_prompt
T send-keys C-c
wait_for '^\.\.\. \^C$'
type_line 'x * 100'
wait_for '^4200\.0$'
screen
if grep -q 'not defined\|error' "$tmp/screen"; then
    fail "a discarded line was run"
fi

# tab completion: a builtin (gets its parenthesis) and a meta command
next_prompt
T send-keys -l 'aran'
T send-keys Tab
wait_for '^tx> arange\($'
T send-keys -l '3)'
T send-keys Enter
wait_for '^\[0\. 1\. 2\.\] f64\[3\]$'
next_prompt
T send-keys -l ':va'
T send-keys Tab
wait_for '^tx> :vars ?$'
T send-keys Enter
wait_for '^x +f64 +8 B +42\.0$'

# Ctrl-D at an empty prompt leaves with status 0
next_prompt
T send-keys C-d
wait_for '^\[exit 0\]$'
T kill-server >/dev/null 2>&1

# ---- the history file, read back by a second session -----------------------------------
hist="$home/.txc_history"
[ -f "$hist" ] || fail "no history file $hist"
grep -q 'sq(arange(4))' "$hist" || fail "history file lacks a line typed: $(cat "$hist")"
if grep -q 'garbage_line' "$hist"; then fail "a line discarded with Ctrl-C went into the history"; fi

start
prompts=0
next_prompt
T send-keys Up
wait_for '^tx> :vars ?$'
T send-keys C-u C-d
wait_for '^\[exit 0\]$'
T kill-server >/dev/null 2>&1

# ---- without HOME there is no history file, and the session works -----------------------
rm -f "$hist"
start session_nohome.sh
prompts=0
type_line '6 * 7'
wait_for '^42\.0$'
next_prompt
T send-keys C-d
wait_for '^\[exit 0\]$'
[ -f "$hist" ] && fail "a history file was written without HOME"

echo "ok: prompt, continuation, history recall, Ctrl-C, completion, Ctrl-D, history file, no HOME"
exit 0
