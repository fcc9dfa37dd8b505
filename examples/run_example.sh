#!/bin/sh
# run_example.sh TXC FILE.tx [NAME=VALUE ...] [-- TXC-RUN-FLAGS ...]
#
# Runs one example script the way the test suite does: in a fresh temporary
# directory (so save() never writes into the source tree), after replacing
# the value of each `let NAME = ...` line named on the command line (so a
# showcase-sized example can run at a small, quick size).  Exits with txc's
# status: 0 when every assert in the script held.
#   sh examples/run_example.sh build/txc examples/attention/taylor.tx n=64 -- --time
set -u
if [ $# -lt 2 ]; then
    echo "usage: run_example.sh TXC FILE.tx [NAME=VALUE ...] [-- FLAGS ...]" >&2
    exit 2
fi
txc=$1; file=$2; shift 2
case $txc in /*) ;; *) txc=$(pwd)/$txc ;; esac
case $file in /*) ;; *) file=$(pwd)/$file ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/txc-example.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
script="$tmp/$(basename "$file")"
cp "$file" "$script"
while [ $# -gt 0 ]; do
    case $1 in
        --) shift; break ;;
        *=*) name=${1%%=*}; value=${1#*=}
             sed -i "s/^let $name = .*/let $name = $value/" "$script" ;;
        *) echo "run_example: expected NAME=VALUE or --, got '$1'" >&2; exit 2 ;;
    esac
    shift
done
cd "$tmp" && exec "$txc" run "$@" "$script" </dev/null
