#!/usr/bin/env bash
# Installs what nethttp needs from Debian's packages, and nothing else.
# Idempotent and quick when everything is present: it asks dpkg first and
# only runs apt-get for what is missing.
# Groups, each including the ones before it:
#   scripts/install-deps.sh build      what building and running need (make build, make run)
#   scripts/install-deps.sh test       also the tests' peers: clang, curl, Go, nginx... (make test)
#   scripts/install-deps.sh bench      also the peers the benchmarks compare (make bench)
# With no argument: test.
set -euo pipefail

build=(build-essential cmake ninja-build pkg-config git
       node-llhttp libnghttp2-dev libssl-dev libc-ares-dev zlib1g-dev libpsl-dev libjansson-dev
       libbrotli-dev libzstd-dev libdeflate-dev)
# Linked into the library: libbacktrace (with libgcc-12-dev) names the
# functions in panic and crash backtraces.
run=(libgcc-12-dev)
test=(clang libclang-rt-14-dev llvm curl openssl python3 python3-h11 python3-h2 nghttp2-client nghttp2-server procps iproute2 golang-go
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user slowhttptest nginx-light)
# h2spec (third_party/h2spec) is built offline from these Go packages.
test+=(golang-golang-x-net-dev golang-golang-x-sys-dev golang-github-spf13-cobra-dev
       golang-github-spf13-pflag-dev golang-github-fatih-color-dev golang-github-mattn-go-colorable-dev
       golang-github-mattn-go-isatty-dev golang-github-inconshreveable-mousetrap-dev)
# The live debug page is checked in headless Chromium, driven over its
# DevTools protocol from python3 (tests/debug/live_page_cdp.py).
test+=(chromium python3-websocket)
# /metrics is parsed in tests/debug/ by the Prometheus client's text parser.
test+=(python3-prometheus-client)
# tests/deploy/: HAProxy and nginx's stream module (PROXY protocol to the
# upstreams) in front of nethttp instances. The tests run them in the
# foreground with their own configuration; no service is wanted.
test+=(haproxy libnginx-mod-stream)
services_off=(haproxy)
# systemd socket activation is checked with systemd-socket-activate.
test+=(systemd)
# WebSocket peers (clients and servers): python3-websockets, Node's ws,
# Go's gorilla/websocket; decoders of the br and zstd content codings.
test+=(python3-websockets node-ws nodejs golang-github-gorilla-websocket-dev
       python3-brotli python3-zstandard brotli zstd)
bench=(wrk hey nghttp2-client golang-go nginx-light h2o libmicrohttpd-dev slowhttptest
       libcurl4-openssl-dev)
bench+=(linux-perf)   # profiling the load generators (perf record)

case "${1:-test}" in
  build) want=("${build[@]}" "${run[@]}") ;;
  test) want=("${build[@]}" "${run[@]}" "${test[@]}") ;;
  bench) want=("${build[@]}" "${run[@]}" "${test[@]}" "${bench[@]}") ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# A package that starts its service on install (where systemd runs): stop
# and disable it, when it was installed just now for the tests.
if [ -d /run/systemd/system ]; then
  for s in "${services_off[@]}"; do
    [[ " ${missing[*]} " == *" $s "* ]] && $SUDO systemctl disable --now -q "$s" || true
  done
fi
