#!/bin/sh
# Install the Debian packages txc needs, if any are missing.  As root this
# runs apt-get; otherwise it prints the exact command to run.
set -e
PKGS="cmake make gcc llvm-19-dev flex bison libopenblas-dev liblapacke-dev libfftw3-dev libcmocka-dev libedit-dev pkg-config python3-numpy tmux"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
echo "txc: installing missing packages:$missing"
if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
else
    echo "txc: please run as root:  apt-get install -y$missing" >&2
    exit 1
fi
