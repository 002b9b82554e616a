#!/usr/bin/env bash
# check-exports.sh LIBNETHTTP.so INCLUDE-DIR — the shared library exports
# the public API and nothing else.
#
# The API is every NH_API declaration of INCLUDE-DIR/nethttp/*.h. The
# library's defined dynamic symbols (nm -D --defined-only) must be exactly
# that set: a symbol outside it is an internal that leaked (an nh__ helper,
# a bundled library's function); a declaration missing from it is a public
# function the library does not provide (a definition that no longer sees
# its NH_API declaration, or none at all). The only nh__ names allowed are
# those a public header declares NH_API: the targets of macros such as
# nh_resp_write_header, which pass the caller's file and line.
#
# Exit 0 when they match, 1 listing each difference, 77 without nm.
set -euo pipefail
so=${1:?usage: check-exports.sh LIBNETHTTP.so INCLUDE-DIR}
inc=${2:?usage: check-exports.sh LIBNETHTTP.so INCLUDE-DIR}
if ! command -v nm >/dev/null 2>&1; then
  echo "SKIP: nm not installed (binutils)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The declared API: the first nh_ name followed by "(" on each line that
# starts with NH_API (a declaration's name is on its first line).
grep -h '^NH_API ' "$inc"/nethttp/*.h |
  grep -o '\bnh_[A-Za-z0-9_]*[[:space:]]*(' | sed 's/[[:space:]]*($//' |
  LC_ALL=C sort -u >"$work/api"
# ...one per NH_API line: a line whose name was not found is a parse miss.
decls=$(grep -h -c '^NH_API ' "$inc"/nethttp/*.h | awk '{s += $1} END {print s}')
nm -D --defined-only "$so" | awk 'NF >= 3 {print $3}' | sed 's/@.*//' | LC_ALL=C sort -u >"$work/exported"

fail=0
napi=$(wc -l <"$work/api")
nexp=$(wc -l <"$work/exported")
if [ "$napi" -ne "$decls" ]; then
  echo "check-exports: $decls NH_API declarations but $napi distinct names read from them"
  fail=1
fi
# A check that finds nothing checks nothing: the API has hundreds of
# functions, among them nh_run.
if [ "$napi" -lt 300 ] || ! grep -qx nh_run "$work/api"; then
  echo "check-exports: only $napi NH_API names read from $inc/nethttp (nh_run among them?)"
  fail=1
fi
leaked=$(LC_ALL=C comm -13 "$work/api" "$work/exported")
missing=$(LC_ALL=C comm -23 "$work/api" "$work/exported")
if [ -n "$leaked" ]; then
  echo "check-exports: exported but not public API:"
  printf '  %s\n' $leaked
  fail=1
fi
if [ -n "$missing" ]; then
  echo "check-exports: declared NH_API but not exported:"
  printf '  %s\n' $missing
  fail=1
fi
if [ "$fail" -ne 0 ]; then
  exit 1
fi
echo "check-exports: $nexp symbols exported from $(basename "$so"), all of them the public API" \
  "($(grep -c '^nh__' "$work/api") nh__ macro targets)"
