#!/usr/bin/env bash
# Installs nethttp into a scratch prefix and builds consumers against it,
# as a user would: with pkg-config alone (shared library, found at run time
# through the run path the installed nethttp.pc gives, no LD_LIBRARY_PATH),
# statically, and with CMake's find_package. One consumer uses the JSON
# helpers (jansson's types are part of the public API) over a real socket.
# Every program must build and run. Uses its own non-sanitized build so the
# installed library is the one users get.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
. "$src/tests/need.sh"
need pkg-config
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unset LD_LIBRARY_PATH
cmake -S "$src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DNH_BUILD_TESTS=OFF -DNH_BUILD_BENCH=OFF -DNH_SANITIZE= >/dev/null
cmake --build "$work/build" --target nethttp_static nethttp_shared nethttp >/dev/null
cmake --install "$work/build" --prefix "$work/prefix" >/dev/null

# The installed shared library (optimised, link-time inlined) exports the
# public API and nothing else.
"$src/scripts/check-exports.sh" "$work/prefix/lib/libnethttp.so" "$work/prefix/include"

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

# A JSON echo server on a loopback port and a client that posts to it: the
# request is decoded with nh_request_json, answered with nh_resp_json, and
# the client checks the bytes it got back.
cat > "$work/json_consumer.c" <<'C'
#include <nethttp.h>
#include <nethttp/httptest.h>
#include <nethttp/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void echo(nh_response_writer *w, nh_request *r) {
  json_t *in;
  int e = nh_request_json(r, 1024, &in);
  if (e) {
    nh_resp_json_error(w, e == NH_EBODYTOOLARGE ? 413 : 400, nh_strerror(e));
    return;
  }
  json_t *out = json_pack("{s:O,s:b}", "got", in, "ok", 1);
  nh_resp_json_flags(w, 200, out, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(out);
  json_decref(in);
}

int main(void) {
  nh_test_server *ts = nh_test_server_new(echo, NULL, 1);
  if (!ts) return 1;
  char url[128];
  snprintf(url, sizeof url, "%s/echo", nh_test_server_url(ts));
  nh_response *resp;
  const char *body = "{\"n\": 7}";
  int e = nh_client_post(nh_test_server_client(ts), url, "application/json", body, strlen(body), &resp);
  if (e) {
    fprintf(stderr, "post: %s\n", nh_strerror(e));
    return 1;
  }
  char *got = NULL;
  e = nh_response_read_all(resp, 1 << 16, &got, NULL);
  int status = nh_response_status(resp);
  nh_response_close(resp);
  int ok = !e && status == 200 && !strcmp(got, "{\"got\":{\"n\":7},\"ok\":true}\n");
  printf("json consumer: %d %s", status, got ? got : "(no body)\n");
  free(got);
  if (nh_test_server_close(ts, NULL)) return 1;
  return ok ? 0 : 1;
}
C
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
flags=$(pkg-config --cflags --libs nethttp)
echo "pkg-config --cflags --libs nethttp: $flags"
case " $(pkg-config --print-requires nethttp) " in
  *" jansson "*) ;;
  *) echo "nethttp.pc does not require jansson" >&2; exit 1 ;;
esac

# Shared: exactly what the README says, and the program starts as built.
cc -Wall -Wextra -Wpedantic -Werror "$work/consumer.c" -o "$work/consumer-pc" $flags
cc -Wall -Wextra -Wpedantic -Werror "$work/json_consumer.c" -o "$work/json-pc" $flags
for p in consumer-pc json-pc; do
  so=$(ldd "$work/$p" | awk '$1 ~ /^libnethttp\.so/ {print $3}')
  [ -n "$so" ] && [ "$(dirname "$(realpath "$so")")" = "$(realpath "$work/prefix/lib")" ] ||
    { echo "$p does not load the installed shared library:" >&2; ldd "$work/$p" >&2; exit 1; }
  "$work/$p"
done

# Static: the archive and its private dependencies from pkg-config --static.
static_libs=$(pkg-config --static --libs nethttp | sed 's/-lnethttp//')
cc "$work/consumer.c" -o "$work/consumer-static" $(pkg-config --cflags nethttp) \
  "$work/prefix/lib/libnethttp.a" $static_libs
cc "$work/json_consumer.c" -o "$work/json-static" $(pkg-config --cflags nethttp) \
  "$work/prefix/lib/libnethttp.a" $static_libs
for p in consumer-static json-static; do
  if ldd "$work/$p" | grep -q libnethttp; then
    echo "$p should not load libnethttp.so" >&2
    exit 1
  fi
  "$work/$p"
done

mkdir -p "$work/cm"
cp "$work/consumer.c" "$work/json_consumer.c" "$work/cm/"
cat > "$work/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.20)
project(consumer C)
find_package(nethttp REQUIRED)
add_executable(consumer consumer.c)
target_link_libraries(consumer PRIVATE nethttp::nethttp)
add_executable(json_consumer json_consumer.c)
target_link_libraries(json_consumer PRIVATE nethttp::nethttp)
CM
cmake -S "$work/cm" -B "$work/cm/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cm/build" >/dev/null
"$work/cm/build/consumer"
"$work/cm/build/json_consumer"
echo "install check: ok"
