#!/bin/sh
# install.sh BUILDDIR SRCDIR -- install txc into a temporary prefix (what
# `make install PREFIX=...` does) and use it the way the README says:
#   txc build model.tx -o model.o --header model.h --shape ...
#   cc app.c model.o $(pkg-config --cflags --libs txrt)
# then the same application through the CMake package (find_package(txrt)).
set -u
if [ $# -ne 2 ]; then
    echo "usage: install.sh BUILDDIR SRCDIR" >&2
    exit 2
fi
build=$1 src=$2
case $build in /*) ;; *) build=$(pwd)/$build ;; esac
case $src in /*) ;; *) src=$(pwd)/$src ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/txc-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
prefix=$tmp/prefix
if ! cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
    echo "FAIL: cmake --install" >&2; cat "$tmp/install.log" >&2; exit 1
fi
for f in bin/txc include/txrt.h; do
    [ -e "$prefix/$f" ] || { echo "FAIL: $f not installed" >&2; exit 1; }
done
libdir=$(dirname "$(find "$prefix" -name txrt.pc | head -1)")/..
for f in libtxrt.a libtxrt.so pkgconfig/txrt.pc cmake/txrt/txrtConfig.cmake; do
    [ -e "$libdir/$f" ] || { echo "FAIL: lib/$f not installed" >&2; exit 1; }
done
mkdir "$tmp/app" && cd "$tmp/app" || exit 1
"$prefix/bin/txc" run --backend interp "$src/attention.tx" >/dev/null || { echo "FAIL: reference run" >&2; exit 1; }
cp "$src/check.h" .
cp "$src/attention_main.c" app.c
export PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
set -e
"$prefix/bin/txc" build "$src/attention.tx" -o attention.o --header attention.h --shape n=50,d=16,e=8,m=50
# shellcheck disable=SC2046
cc app.c attention.o $(pkg-config --cflags --libs txrt) ${AOT_LDFLAGS:-} -o app
./app
echo "ok installed txc + pkg-config txrt"
# the same application with CMake
mkdir cm && cd cm
cat >CMakeLists.txt <<CM
cmake_minimum_required(VERSION 3.20)
project(app C)
find_package(txrt REQUIRED)
add_executable(app ../app.c ../attention.o)
target_include_directories(app PRIVATE ..)
target_link_libraries(app PRIVATE txrt::txrt)
CM
cmake -S . -B b -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_EXE_LINKER_FLAGS="${AOT_LDFLAGS:-}" >cmake.log 2>&1 ||
    { cat cmake.log >&2; exit 1; }
cmake --build b >>cmake.log 2>&1 || { cat cmake.log >&2; exit 1; }
cd ..
LD_LIBRARY_PATH="$libdir" ./cm/b/app >/dev/null
echo "ok find_package(txrt)"
