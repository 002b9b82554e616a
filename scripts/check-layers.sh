#!/usr/bin/env bash
# check-layers.sh — includes (and calls) point one way through the layers.
#
#   scripts/check-layers.sh [ROOT]      check ROOT (default: this tree)
#   scripts/check-layers.sh --self-test plant bad includes in a copy of this
#                                       tree and check each one is caught
#   scripts/check-layers.sh --objects OBJ...
#                                       the same order for calls: each nh_
#                                       symbol an object of src/<layer>/
#                                       uses is defined in its own layer or
#                                       one to its left (nm; a function
#                                       declared low but defined high is
#                                       caught here, not by the includes)
#
# Every #include "..." (and #include <nethttp...>) of src/ and include/ is
# resolved as the compiler would: next to the including file, then under
# src/, then under include/ (an angle include only under include/). An
# include that resolves nowhere is an outside header (llhttp, jansson...)
# and is not checked. Both ends are mapped to a layer and the include must
# keep these rules:
#
#  1. order: a layer includes only itself and layers to its left:
#       util -> runtime -> net -> http1 | http2 -> server | client
#            -> websocket -> mux | handlers | files -> nethttp.h
#            -> httptest | debug -> cli
#  2. siblings (the names joined by "|") do not include each other.
#  3. internals: mux, handlers, files and cli are written against the
#     public API: from src/ they include only their own files, util's
#     primitives (dynbuf, list, url_internal...) and the server's hooks for
#     the layers above it (src/server/hooks.h), never the other internals
#     of runtime, net, http1/http2, server or client. The layers from
#     runtime to httptest and debug may use the internals of any layer to their left.
#
# A file in an unknown src/ folder, or a public header missing from the
# table below, is an error too: a new one must be given its layer here.
#
# Exit 0 when clean, 1 listing each "file:line -> target: rule", 2 on
# usage errors.
set -uo pipefail

# ---- the layers ----

# rank: left to right; equal ranks are siblings.
declare -A RANK=(
  [util]=0 [runtime]=10 [net]=20 [http1]=30 [http2]=30
  [server]=40 [client]=40 [websocket]=45 [mux]=50 [handlers]=50 [files]=50
  [umbrella]=55 [httptest]=60 [debug]=60 [cli]=70
)

# Public headers, by what they declare. util: values and formats with no
# I/O; runtime: fibers and what parks them; net: dialing, TLS streams,
# the states and close reasons of a connection;
# server: the handler side (requests, response writers, the server, and
# the helpers that read requests or write responses); client: the client,
# its requests and responses, and the cookie jar; the upper layers: handler
# wrappers, routing, files; httptest: test servers and the recorder;
# debug: the debug pages and metrics of a running process.
declare -A HEADER_LAYER=(
  [export.h]=util [errors.h]=util [time.h]=util [log.h]=util [status.h]=util
  [textproto.h]=util [httpdate.h]=util [sniff.h]=util [header.h]=util
  [base64.h]=util [url.h]=util [cookie.h]=util
  [runtime.h]=runtime [ctx.h]=runtime [sync.h]=runtime [netpoll.h]=runtime
  [offload.h]=runtime
  [dial.h]=net [tls.h]=net [conn.h]=net
  [server.h]=server [server_cookie.h]=server [form.h]=server [json.h]=server
  [client.h]=client [client_json.h]=client [cookiejar.h]=client
  [websocket.h]=websocket
  [handlers.h]=handlers [middleware.h]=handlers [mux.h]=mux [fileserver.h]=files
  [httptest.h]=httptest [debug.h]=debug
)

# Layers built on the public API only (rule 3), and the internal headers
# published to them.
declare -A API_ONLY=([mux]=1 [handlers]=1 [files]=1 [cli]=1)
declare -A PUBLISHED=([src/server/hooks.h]=1)

# ---- known violations, to be removed ----
# Each entry is a known violation (file -> resolved target), tolerated
# until the code that owns it is moved; remove the entry with the fix. An
# entry that no longer matches is reported as stale.
ALLOW='
'

# Known calls against the order (file -> file defining the symbol), as
# above.
ALLOW_CALLS='
'

# ---- the check ----

# order_rule FROM TO VERB: sets WHY to the rule that FROM (verb: include,
# call) TO breaks, between two different layers, or "" if none.
order_rule() {
  WHY=""
  if [ "${RANK[$2]}" -gt "${RANK[$1]}" ]; then
    WHY="$1 may not $3 $2 (a layer to its right)"
  elif [ "${RANK[$2]}" -eq "${RANK[$1]}" ]; then
    WHY="$1 may not $3 $2 (siblings)"
  fi
}

# layer_of PATH (relative to the root): sets LAYER to the layer name, or
# "" if unmapped. (Variables, not $(...): no fork per include.)
layer_of() {
  local p=$1 d
  LAYER=""
  case $p in
    include/nethttp.h) LAYER=umbrella ;;
    include/nethttp/*.h) LAYER=${HEADER_LAYER[${p#include/nethttp/}]:-} ;;
    src/*/*)
      d=${p#src/}
      d=${d%%/*}
      [ -n "${RANK[$d]:-}" ] && [ "$d" != umbrella ] && LAYER=$d
      ;;
  esac
}

# normalize PATH: sets NORM to PATH without "./" and with "dir/../" resolved.
normalize() {
  local IFS=/ out=() part
  for part in $1; do
    case $part in
      '' | .) ;;
      ..) [ ${#out[@]} -gt 0 ] && unset 'out[${#out[@]}-1]' ;;
      *) out+=("$part") ;;
    esac
  done
  NORM="${out[*]}"
}

check_tree() {
  local root=$1 fails=0 nfiles=0
  if [ ! -d "$root/src" ] || [ ! -d "$root/include" ]; then
    echo "check-layers: $root has no src/ and include/" >&2
    return 2
  fi
  cd "$root" || return 2
  declare -A allow=() allow_hit=()
  local entry
  while read -r entry; do
    entry=${entry%%#*}
    entry=$(echo $entry)
    [ -n "$entry" ] && allow[$entry]=1
  done <<<"$ALLOW"
  local files
  files=$(find src include -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort)
  local f from
  for f in $files; do
    nfiles=$((nfiles + 1))
    layer_of "$f"
    if [ -z "$LAYER" ]; then
      echo "$f: no layer (add its folder or header to scripts/check-layers.sh)"
      fails=$((fails + 1))
    fi
  done
  local line kind name cand target to why
  # "file line kind name": kind q for "...", a for <nethttp...>.
  while read -r f line kind name; do
    layer_of "$f"
    from=$LAYER
    [ -n "$from" ] || continue # reported above
    target=""
    if [ "$kind" = q ]; then
      for cand in "${f%/*}/$name" "src/$name" "include/$name"; do
        if [ -f "$cand" ]; then
          normalize "$cand"
          target=$NORM
          break
        fi
      done
    elif [ -f "include/$name" ]; then
      normalize "include/$name"
      target=$NORM
    fi
    [ -n "$target" ] || continue # an outside header
    layer_of "$target"
    to=$LAYER
    why=""
    if [ -z "$to" ]; then
      why="$target has no layer"
    elif [ "$from" != "$to" ]; then
      order_rule "$from" "$to" include
      if [ -n "$WHY" ]; then
        why=$WHY
      elif [ -n "${API_ONLY[$from]:-}" ] && [ "${target#src/}" != "$target" ] && [ "$to" != util ] &&
        [ -z "${PUBLISHED[$target]:-}" ]; then
        why="$from uses the public API only, not $to's internals"
      fi
    fi
    [ -n "$why" ] || continue
    if [ -n "${allow["$f -> $target"]:-}" ]; then
      allow_hit["$f -> $target"]=1
      continue
    fi
    echo "$f:$line -> $target: $why"
    fails=$((fails + 1))
  done < <(awk '
    match($0, /^[ \t]*#[ \t]*include[ \t]*"[^"]+"/) {
      s = substr($0, RSTART, RLENGTH); sub(/^[^"]*"/, "", s); sub(/"$/, "", s)
      print FILENAME, FNR, "q", s; next
    }
    match($0, /^[ \t]*#[ \t]*include[ \t]*<nethttp[^>]*>/) {
      s = substr($0, RSTART, RLENGTH); sub(/^[^<]*</, "", s); sub(/>$/, "", s)
      print FILENAME, FNR, "a", s
    }' $files)
  # Entries that no longer match: the fix landed, the entry should go.
  for entry in "${!allow[@]}"; do
    [ -n "${allow_hit[$entry]:-}" ] ||
      echo "note: stale ALLOW entry (remove it from scripts/check-layers.sh): $entry" >&2
  done
  if [ "$fails" -gt 0 ]; then
    echo "check-layers: $fails include(s) against the layer order" >&2
    return 1
  fi
  echo "check-layers: $nfiles files, includes follow the layer order (${#allow[@]} known exceptions)"
  return 0
}

# ---- calls: the order on the symbols the objects use ----

# check_objects OBJ...: objects named .../<target>.dir/src/<layer>/<file>.c.o
# (CMake's layout); others (llhttp, the assembly switch) are not checked.
check_objects() {
  local fails=0 nobj=0
  if ! command -v nm >/dev/null 2>&1; then
    echo "SKIP: nm not installed (binutils)"
    return 77
  fi
  declare -A allow=() allow_hit=() def_in=()
  local entry
  while read -r entry; do
    entry=${entry%%#*}
    entry=$(echo $entry)
    [ -n "$entry" ] && allow[$entry]=1
  done <<<"$ALLOW_CALLS"
  local o src sym objs=()
  declare -A src_of=()
  for o in "$@"; do
    case $o in *.dir/src/*/*.c.o | *.dir/./src/*/*.c.o) ;; *) continue ;; esac
    src=${o#*.dir/}
    src=${src#./}
    src_of[$o]=${src%.o}
    objs+=("$o")
  done
  nobj=${#objs[@]}
  if [ "$nobj" -eq 0 ]; then
    echo "check-layers: no objects of src/<layer>/ among the arguments" >&2
    return 2
  fi
  # One nm for all objects ("object: value type name"): an nm per object
  # takes minutes on a busy machine.
  while read -r o sym; do
    def_in[$sym]=${src_of[$o]}
  done < <(nm -A --defined-only "${objs[@]}" | awk '$(NF-1) ~ /^[TDBRVW]$/ && $NF ~ /^nh_/ {
             sub(/:[^:]*$/, "", $1); print $1, $NF }')
  local from to target why
  while read -r o sym; do
    src=${src_of[$o]}
    layer_of "$src"
    from=$LAYER
    if [ -z "$from" ]; then
      echo "$src: no layer"
      fails=$((fails + 1))
      continue
    fi
    target=${def_in[$sym]:-}
    [ -n "$target" ] || continue
    layer_of "$target"
    to=$LAYER
    WHY=""
    [ "$from" = "$to" ] || order_rule "$from" "$to" call
    why=$WHY
    [ -n "$why" ] || continue
    if [ -n "${allow["$src -> $target"]:-}" ]; then
      allow_hit["$src -> $target"]=1
      continue
    fi
    echo "$src -> $target ($sym): $why"
    fails=$((fails + 1))
  done < <(nm -A --undefined-only "${objs[@]}" | awk '$NF ~ /^nh_/ { sub(/:[^:]*$/, "", $1); print $1, $NF }')
  for entry in "${!allow[@]}"; do
    [ -n "${allow_hit[$entry]:-}" ] ||
      echo "note: stale ALLOW_CALLS entry (remove it from scripts/check-layers.sh): $entry" >&2
  done
  if [ "$fails" -gt 0 ]; then
    echo "check-layers: $fails call(s) against the layer order" >&2
    return 1
  fi
  echo "check-layers: $nobj objects, calls follow the layer order (${#allow[@]} known exceptions)"
}

# ---- self-test: the check must be able to fail ----

self_test() {
  local me src bad=0
  me=$(realpath "$0")
  src=$(cd "$(dirname "$me")/.." && pwd)
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  cp -r "$src/src" "$src/include" "$tmp/"
  if ! "$me" "$tmp" >/dev/null; then
    echo "self-test: the unchanged tree does not pass" >&2
    "$me" "$tmp" >&2
    return 1
  fi
  # plant FILE LINE-TEXT EXPECTED-OUTPUT: appended to FILE, the check must
  # fail and name it; the tree is then restored.
  plant() {
    local file=$1 text=$2 want=$3 out n
    cp "$tmp/$file" "$tmp/$file.orig" 2>/dev/null || : >"$tmp/$file.orig"
    printf '%s\n' "$text" >>"$tmp/$file"
    n=$(wc -l <"$tmp/$file")
    out=$("$me" "$tmp" 2>&1)
    local rc=$?
    if [ "$rc" -ne 1 ] || ! grep -qF "$file:$n -> $want" <<<"$out"; then
      echo "self-test: not caught ($rc): $file: $text" >&2
      echo "$out" >&2
      bad=1
    else
      echo "self-test: caught: $(grep -F "$file:$n" <<<"$out")"
    fi
    mv "$tmp/$file.orig" "$tmp/$file"
  }
  plant src/util/url.c '#include "server/internal.h"' "src/server/internal.h: util may not include server"
  plant src/util/url.c '#include "nethttp/server.h"' "include/nethttp/server.h: util may not include server"
  plant src/runtime/fiber.c '#include "nethttp/dial.h"' "include/nethttp/dial.h: runtime may not include net"
  plant src/client/pool.c '#include "nethttp/server.h"' "include/nethttp/server.h: client may not include server (siblings)"
  plant src/server/conn.c '#include "../client/internal.h"' "src/client/internal.h: server may not include client (siblings)"
  plant src/mux/mux.c '#include <nethttp/handlers.h>' "include/nethttp/handlers.h: mux may not include handlers (siblings)"
  plant src/files/path.c '#include "server/internal.h"' "src/server/internal.h: files uses the public API only"
  plant include/nethttp/cookie.h '#include "nethttp/server.h"' "include/nethttp/server.h: util may not include server"
  plant include/nethttp/server.h '#include "nethttp/httptest.h"' "include/nethttp/httptest.h: server may not include httptest"
  # An allowed include in a planted file passes; an unmapped header fails.
  printf '#include "nethttp/errors.h"\n' >>"$tmp/src/util/url.c"
  if ! "$me" "$tmp" >/dev/null; then
    echo "self-test: an allowed include was refused" >&2
    bad=1
  fi
  : >"$tmp/include/nethttp/unmapped.h"
  if "$me" "$tmp" >/dev/null 2>&1; then
    echo "self-test: a header without a layer passed" >&2
    bad=1
  fi
  # Calls: a util object that calls a function defined in the server.
  if command -v nm >/dev/null 2>&1 && command -v cc >/dev/null 2>&1; then
    local o=$tmp/objs/lib.dir/src
    mkdir -p "$o/util" "$o/server"
    printf 'int nh_low(void) { return 1; }\n' >"$tmp/low.c"
    printf 'int nh_low(void);\nint nh_high(void) { return nh_low(); }\n' >"$tmp/high.c"
    printf 'int nh_high(void);\nint nh_bad(void) { return nh_high(); }\n' >"$tmp/bad.c"
    cc -c "$tmp/low.c" -o "$o/util/low.c.o" && cc -c "$tmp/high.c" -o "$o/server/high.c.o" &&
      cc -c "$tmp/bad.c" -o "$o/util/bad.c.o" || { echo "self-test: cc failed" >&2; return 1; }
    if ! "$me" --objects "$o/util/low.c.o" "$o/server/high.c.o" >/dev/null 2>&1; then
      echo "self-test: a call to the left was refused" >&2
      bad=1
    fi
    local out
    out=$("$me" --objects "$o/util/low.c.o" "$o/server/high.c.o" "$o/util/bad.c.o" 2>/dev/null)
    if [ $? -ne 1 ] || ! grep -qF "src/util/bad.c -> src/server/high.c (nh_high): util may not call server" <<<"$out"; then
      echo "self-test: a call to the right was not caught: $out" >&2
      bad=1
    else
      echo "self-test: caught: $out"
    fi
  else
    echo "self-test: calls not checked (no cc or nm)"
  fi
  [ "$bad" -eq 0 ] && echo "self-test: ok"
  return "$bad"
}

case ${1:-} in
  --self-test) self_test ;;
  --objects)
    shift
    check_objects "$@"
    ;;
  -h | --help) sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) check_tree "$(cd "${1:-$(dirname "$0")/..}" && pwd)" ;;
esac
