#!/usr/bin/env bash
# h2spec (third_party/h2spec, 146 cases) against an HTTP/2 server started
# here on a free loopback port, over h2c (prior knowledge) or TLS (ALPN h2,
# a throwaway self-signed certificate made here with openssl).
# Usage: h2spec.sh TARGET MODE BUILD_DIR [NETHTTP]
#   TARGET   nethttp (`NETHTTP httpbin --h2c`, or `--tls-cert/--tls-key`,
#            h2spec's requests to /anything), nethttp-serve (`NETHTTP serve`,
#            requests to its file server), or a reference peer: h2o, nginx,
#            nghttpd, go (TLS only)
#   MODE     h2c | tls
#   BUILD_DIR  where h2spec is built once ($BUILD_DIR/h2spec) and the JUnit
#            report goes ($BUILD_DIR/conformance/h2spec-TARGET-MODE.xml)
# Prints "h2spec TARGET MODE: P/T passed" and exits 0 only when every case
# passed; 77 (SKIP) when h2spec cannot be built (no Go) or the peer is
# missing. Every process started here is stopped by its pid.
set -euo pipefail
target=$1
mode=$2
build=$(mkdir -p "$3" && cd "$3" && pwd)
nethttp=${4:-}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/../need.sh"
case "$mode" in h2c|tls) ;; *) echo "mode must be h2c or tls" >&2; exit 2 ;; esac
need openssl openssl

h2spec="$build/h2spec"
"$root/third_party/h2spec/build.sh" "$h2spec"

work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/www" "$build/conformance"
printf '<html><body>h2spec</body></html>\n' >"$work/www/index.html"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# Waits until something accepts on 127.0.0.1:$1 while $pid lives.
wait_listening() {
  for _ in $(seq 400); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# start_on_free_port CMD...: the peers take a port number, not port 0: a
# port bound by the kernel and released is handed to CMD (with @PORT@
# replaced); another process may take it in between, so a few tries.
start_on_free_port() {
  local attempt a args
  for attempt in 1 2 3 4 5; do
    port=$(free_port)
    args=()
    for a in "$@"; do args+=("${a//@PORT@/$port}"); done
    [ -f "$work/conf.in" ] && sed "s|@PORT@|$port|g" "$work/conf.in" >"$work/conf"
    "${args[@]}" >"$work/log" 2>&1 &
    pid=$!
    wait_listening "$port" && return 0
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
  done
  echo "FAIL: $target did not start:"; tail -20 "$work/log"; exit 1
}

path=()
case "$target" in
nethttp|nethttp-serve)
  [ -x "$nethttp" ] || { echo "usage: h2spec.sh $target MODE BUILD_DIR NETHTTP" >&2; exit 2; }
  flags=(--h2c)
  [ "$mode" = tls ] && flags=(--tls-cert "$work/cert.pem" --tls-key "$work/key.pem")
  # h2spec sends its malformed frames on a request whose body is still
  # coming, and expects no answer before the request ends. A handler that
  # reads the whole request first (httpbin's /anything, as h2spec's
  # reference servers do) shows the protocol layer alone; the file server
  # (nethttp-serve) answers a GET at once, so some cases then see DATA
  # instead of the error, depending on timing.
  if [ "$target" = nethttp ]; then
    cmd=(httpbin)
    path=(-P /anything)
  else
    cmd=(serve "$work/www")
  fi
  "$nethttp" "${cmd[@]}" --addr 127.0.0.1:0 --log-format json "${flags[@]}" >"$work/log" 2>&1 &
  pid=$!
  port=
  for _ in $(seq 400); do
    port=$(sed -n 's/.*"msg":"serving","addr":"127.0.0.1:\([0-9]*\)".*/\1/p' "$work/log" | head -1)
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "FAIL: nethttp serve ${flags[*]} did not start:"; tail -20 "$work/log"; exit 1; }
  ;;
h2o)
  need h2o h2o
  {
    echo "listen:"
    echo "  host: 127.0.0.1"
    echo "  port: @PORT@"
    if [ "$mode" = tls ]; then
      echo "  ssl:"
      echo "    certificate-file: $work/cert.pem"
      echo "    key-file: $work/key.pem"
    fi
    echo "hosts:"
    echo "  default:"
    echo "    paths:"
    echo "      /:"
    echo "        file.dir: $work/www"
    echo "error-log: $work/h2o-error.log"
  } >"$work/conf.in"
  start_on_free_port h2o -c "$work/conf"
  ;;
nginx)
  nginx=$(command -v nginx || echo /usr/sbin/nginx)
  need "$nginx" nginx-light
  mkdir -p "$work/tmp"
  listen="listen 127.0.0.1:@PORT@ http2;"
  [ "$mode" = tls ] && listen="listen 127.0.0.1:@PORT@ ssl http2; ssl_certificate $work/cert.pem; ssl_certificate_key $work/key.pem;"
  cat >"$work/conf.in" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $work/tmp/body;
  proxy_temp_path $work/tmp/proxy;
  fastcgi_temp_path $work/tmp/fastcgi;
  uwsgi_temp_path $work/tmp/uwsgi;
  scgi_temp_path $work/tmp/scgi;
  server { $listen root $work/www; }
}
CONF
  start_on_free_port "$nginx" -p "$work" -c "$work/conf" -e "$work/nginx-error.log"
  ;;
nghttpd)
  need nghttpd nghttp2-server
  if [ "$mode" = tls ]; then
    start_on_free_port nghttpd -a 127.0.0.1 -d "$work/www" @PORT@ "$work/key.pem" "$work/cert.pem"
  else
    start_on_free_port nghttpd -a 127.0.0.1 -d "$work/www" --no-tls @PORT@
  fi
  ;;
go)
  need go golang-go
  [ "$mode" = tls ] || { echo "SKIP: Go's server speaks HTTP/2 only over TLS without x/net's h2c"; exit 77; }
  ( cd "$root/tests/peers/h2goserver" && GOCACHE="$build/peers/gocache" GOPATH="$build/peers/gopath" \
      GOPROXY=off GOFLAGS=-mod=mod go build -o "$build/peers/h2goserver" . )
  "$build/peers/h2goserver" "$work/cert.pem" "$work/key.pem" >"$work/log" 2>&1 &
  pid=$!
  port=
  for _ in $(seq 400); do
    port=$(sed -n 's/^port //p' "$work/log")
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "FAIL: h2goserver did not start:"; cat "$work/log"; exit 1; }
  ;;
*)
  echo "unknown target $target" >&2
  exit 2
  ;;
esac

junit="$build/conformance/h2spec-$target-$mode.xml"
tls=()
[ "$mode" = tls ] && tls=(-t -k)
# The per-case timeout (2 s by default) is how long h2spec waits for an
# answer that does not come: 3 s holds on a loaded machine.
set +e
"$h2spec" -h 127.0.0.1 -p "$port" "${tls[@]}" "${path[@]}" -o 3 -j "$junit" >"$work/h2spec.out" 2>&1
rc=$?
set -e
summary=$(grep -E '^[0-9]+ tests, [0-9]+ passed' "$work/h2spec.out" | tail -1 || true)
total=$(sed -n 's/^\([0-9]*\) tests.*/\1/p' <<<"$summary")
passed=$(sed -n 's/^[0-9]* tests, \([0-9]*\) passed.*/\1/p' <<<"$summary")
if [ -z "$summary" ]; then
  echo "FAIL: h2spec did not finish (exit $rc):"; tail -30 "$work/h2spec.out"; exit 1
fi
# The failures, as h2spec lists them at the end.
if [ "$passed" != 146 ] || [ "$total" != 146 ]; then
  sed -n '/^Failures:/,$p' "$work/h2spec.out" | head -150
fi
kill -0 "$pid" 2>/dev/null || { echo "FAIL: $target exited during h2spec"; tail -20 "$work/log"; exit 1; }
echo "h2spec $target $mode: $passed/$total passed ($summary; JUnit report $junit)"
[ "$passed" = 146 ] && [ "$total" = 146 ]
