#!/usr/bin/env bash
# Builds h2spec (HTTP/2 conformance suite, 146 cases) offline from the
# source tarball beside this script and Debian's Go packages, which
# scripts/install-deps.sh installs with the test group. Installs nothing.
# Usage: build.sh OUTPUT
# Exits 77 (a test's SKIP) when Go or one of its packages is missing.
# Reuses OUTPUT when it is newer than the tarball; concurrent callers
# (two ctest cases at once) wait for one build through a lock.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build.sh OUTPUT}
tarball=$(ls "$here"/h2spec-*.tar.gz)

pkgs=(golang-go golang-golang-x-net-dev golang-golang-x-sys-dev golang-github-spf13-cobra-dev
      golang-github-spf13-pflag-dev golang-github-fatih-color-dev golang-github-mattn-go-colorable-dev
      golang-github-mattn-go-isatty-dev golang-github-inconshreveable-mousetrap-dev)
missing=()
for p in "${pkgs[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ] || ! command -v go >/dev/null 2>&1; then
  echo "SKIP: h2spec needs Go and ${missing[*]:-its packages} (scripts/install-deps.sh test installs them)"
  exit 77
fi

mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
exec 9>"$out.lock"
flock 9
if [ -x "$out" ] && [ "$out" -nt "$tarball" ]; then
  exit 0
fi
gopath=$(mktemp -d)
trap 'rm -rf "$gopath"' EXIT
mkdir -p "$gopath/src/github.com/summerwind"
tar -xzf "$tarball" -C "$gopath/src/github.com/summerwind"
# GOPATH mode: the imports resolve to Debian's sources in /usr/share/gocode,
# so nothing is fetched.
(cd "$gopath/src/github.com/summerwind/h2spec" &&
  GO111MODULE=off GOFLAGS= GOPATH="$gopath:/usr/share/gocode" GOCACHE="$gopath/cache" \
    go build -o "$out.tmp" ./cmd/h2spec)
mv "$out.tmp" "$out"
echo "built $out"
