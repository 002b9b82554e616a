#!/usr/bin/env bash
# Installs nethttp into a scratch prefix and builds two consumers against
# it: one with pkg-config, one with CMake's find_package. Both must build
# and run. Uses its own non-sanitized build so the installed library is the
# one users get.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DNH_BUILD_TESTS=OFF -DNH_BUILD_BENCH=OFF -DNH_SANITIZE= >/dev/null
cmake --build "$work/build" --target nethttp_static nethttp_shared nethttp >/dev/null
cmake --install "$work/build" --prefix "$work/prefix" >/dev/null

cat > "$work/consumer.c" <<'C'
#include <nethttp.h>
#include <stdio.h>
static void hello(void *arg) { *(int *)arg = nh_in_fiber(); }
int main(void) {
  int ok = 0;
  if (nh_run(NULL, hello, &ok) != NH_OK || !ok) return 1;
  printf("consumer ok\n");
  return 0;
}
C
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
flags=$(pkg-config --cflags --libs nethttp)
echo "pkg-config --cflags --libs nethttp: $flags"
cc "$work/consumer.c" -o "$work/consumer-pc" $flags
LD_LIBRARY_PATH="$work/prefix/lib" "$work/consumer-pc"
cc "$work/consumer.c" -o "$work/consumer-static" $(pkg-config --cflags nethttp) \
  "$work/prefix/lib/libnethttp.a" -lpthread -ldl -lbacktrace
"$work/consumer-static"

mkdir -p "$work/cm"
cp "$work/consumer.c" "$work/cm/"
cat > "$work/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(nethttp REQUIRED)
add_executable(consumer consumer.c)
target_link_libraries(consumer PRIVATE nethttp::nethttp)
CM
cmake -S "$work/cm" -B "$work/cm/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cm/build" >/dev/null
LD_LIBRARY_PATH="$work/prefix/lib" "$work/cm/build/consumer"
echo "install check: ok"
