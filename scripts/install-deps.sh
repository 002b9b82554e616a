#!/usr/bin/env bash
# Installs what nethttp needs from Debian's packages, and nothing else.
# Idempotent and quick when everything is present: it asks dpkg first and
# only runs apt-get for what is missing.
#   scripts/install-deps.sh            build and test dependencies
#   scripts/install-deps.sh bench      also the peers the benchmarks compare
set -euo pipefail

build=(build-essential cmake ninja-build pkg-config git
       node-llhttp libnghttp2-dev libssl-dev libc-ares-dev zlib1g-dev libpsl-dev libjansson-dev)
# Linked into the library: libbacktrace (with libgcc-12-dev) names the
# functions in panic and crash backtraces.
run=(libgcc-12-dev)
test=(clang libclang-rt-14-dev llvm curl openssl python3 python3-h11 procps iproute2 golang-go
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user slowhttptest nginx-light)
bench=(wrk hey nghttp2-client golang-go nginx-light h2o libmicrohttpd-dev slowhttptest
       libcurl4-openssl-dev)

want=("${build[@]}" "${run[@]}" "${test[@]}")
if [ "${1:-}" = bench ]; then want+=("${bench[@]}"); fi

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
