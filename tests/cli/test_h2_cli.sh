#!/usr/bin/env bash
# nethttp get and load over HTTP/2, against nghttpd (nghttp2's server) on
# loopback: get --http2 speaks h2c with prior knowledge and h2 by ALPN,
# --http1.1 does not speak HTTP/2; load --h2 -c C -m N carries N streams on
# each of C connections (as h2load does).
# Usage: test_h2_cli.sh NETHTTP_BINARY
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bin=$1
need /usr/sbin/nghttpd nghttp2-server
need python3
cli_test_setup
mkdir "$work/docs"
printf 'hello h2\n' >"$work/docs/hello.txt"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; fail "nghttpd did not start"; }

port=$(free_port)
/usr/sbin/nghttpd --no-tls --address=127.0.0.1 -d "$work/docs" "$port" >"$work/log" 2>&1 &
pid=$!
wait_port "$port"
base="http://127.0.0.1:$port"

# --- get --http2: h2c by prior knowledge
timeout 30 "$bin" get -i --http2 "$base/hello.txt" >"$work/out"
head -1 "$work/out" | tr -d '\r' | grep -qx 'HTTP/2.0 200 OK' || fail "status line: $(head -1 "$work/out")"
tail -1 "$work/out" | grep -qx 'hello h2' || fail "body: $(cat "$work/out")"
timeout 30 "$bin" get --http2-prior-knowledge "$base/hello.txt" | grep -qx 'hello h2' || fail "--http2-prior-knowledge"

# --- get --http1.1 (and the default for http://) speaks HTTP/1.1, which nghttpd refuses
if timeout 30 "$bin" get -s --http1.1 "$base/hello.txt" >/dev/null 2>&1; then
  fail "--http1.1 got an answer from an HTTP/2-only server"
fi

# --- load --h2 -c 2 -m 4: 8 callers on 2 connections, every request answered
timeout 60 "$bin" load --h2 -c 2 -m 4 -n 400 --threads 2 --json "$base/hello.txt" >"$work/r"
json "$work/r" "j['requests']==400 and j['responses']==400 and j['errors']==0 and j['status']=={'200':400}"
json "$work/r" "j['concurrency']==8 and j['connections_opened']==2"
# --streams is the same as -m N after --h2
timeout 60 "$bin" load --h2 --streams 3 -c 3 -n 90 --json "$base/hello.txt" >"$work/r"
json "$work/r" "j['responses']==90 and j['concurrency']==9 and j['connections_opened']==3"
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=

# --- https: get offers h2 by ALPN by default and speaks it
if have_or_skip openssl "https (a throwaway certificate)"; then
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" -days 1 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
  port=$(free_port)
  /usr/sbin/nghttpd --address=127.0.0.1 -d "$work/docs" "$port" "$work/key.pem" "$work/cert.pem" >"$work/log" 2>&1 &
  pid=$!
  wait_port "$port"
  timeout 30 "$bin" get -i --cacert "$work/cert.pem" "https://127.0.0.1:$port/hello.txt" >"$work/out"
  head -1 "$work/out" | tr -d '\r' | grep -qx 'HTTP/2.0 200 OK' || fail "https status line: $(head -1 "$work/out")"
  timeout 60 "$bin" load --h2 -c 1 -m 8 -n 200 --cacert "$work/cert.pem" --json "https://127.0.0.1:$port/hello.txt" >"$work/r"
  json "$work/r" "j['responses']==200 and j['connections_opened']==1"
fi
finish_or_skip
echo ok
