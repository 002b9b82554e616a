#!/usr/bin/env bash
# Compiles every ```c block of README.md and docs/*.md, and every
# examples/*.c, with -Wall -Wextra -Wpedantic -Werror against the build
# tree's headers and library, as a reader would copy them.
#
# The line right before a block may say how to take it:
#   (nothing)                  a whole program or file: compiled as is, and
#                              linked when it has a main
#   <!-- compile: body -->     statements: wrapped in a function
#   <!-- compile: handler -->  statements of a handler: wrapped in
#                              void handler(nh_response_writer *w, nh_request *r)
#   <!-- compile: skip -->     a fragment that is not C on its own (with "...")
# Every block is counted; the test fails if one was missed, if none was
# compiled, or if fewer than MIN_COMPILED (argument 4) were.
#
#   check_examples.sh SRC_DIR LIBRARY SANITIZE MIN_COMPILED
set -euo pipefail
src=$1 lib=$2 sanitize=${3:-} min=${4:-1}
cc=${CC:-cc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

flags=(-Wall -Wextra -Wpedantic -Werror -I"$src/include" $(pkg-config --cflags jansson))
case "$sanitize" in
  address) flags+=(-fsanitize=address,undefined) ;;
  thread) flags+=(-fsanitize=thread) ;;
esac
libs=("$lib" $(pkg-config --libs jansson libcares libpsl zlib libbrotlienc libbrotlidec libzstd libdeflate openssl libnghttp2) -lpthread -ldl -lbacktrace)

# Split the Markdown into one file per block: NAME.mode.c
awk -v out="$work" '
  FNR == 1 { prev = ""; n = 0; name = FILENAME; sub(".*/", "", name); sub("\\.md$", "", name) }
  inblock && /^```/ { inblock = 0; close(file); next }
  inblock { print > file; next }
  /^```c[[:space:]]*$/ {
    mode = "file"
    if (prev ~ /^<!-- compile: (body|handler|skip) -->$/) { mode = prev; sub(/^<!-- compile: /, "", mode); sub(/ -->$/, "", mode) }
    n++; file = sprintf("%s/%s-%02d.%s.c", out, name, n, mode); printf "" > file; inblock = 1; next
  }
  { prev = $0 }
' "$src/README.md" "$src"/docs/*.md

fences=$(cat "$src/README.md" "$src"/docs/*.md | grep -c '^```c[[:space:]]*$' || true)
found=$(find "$work" -name '*.c' | wc -l)
if [ "$found" -ne "$fences" ]; then
  echo "found $fences c blocks but extracted $found" >&2
  exit 1
fi

compiled=0 skipped=0 failed=0
build() { # name file
  local name=$1 f=$2 obj="$work/$(basename "$2").o"
  if ! "$cc" "${flags[@]}" -c "$f" -o "$obj" 2>"$work/err"; then
    echo "FAIL $name:"; cat "$work/err"; failed=$((failed + 1)); return
  fi
  if grep -q 'int main(' "$f" &&
     ! "$cc" "${flags[@]}" "$obj" -o "$obj.bin" "${libs[@]}" 2>"$work/err"; then
    echo "FAIL (link) $name:"; cat "$work/err"; failed=$((failed + 1)); return
  fi
  echo "ok   $name"
  compiled=$((compiled + 1))
}

for f in $(find "$work" -name '*.c' | sort); do
  base=$(basename "$f" .c) mode=${base##*.} name=${base%.*}
  case "$mode" in
    skip) echo "skip $name (marked)"; skipped=$((skipped + 1)); continue ;;
    body) { echo '#include <nethttp.h>'; echo '#include <stdio.h>'; echo '#include <stdlib.h>'
            echo 'int doc_example(void);'; echo 'int doc_example(void) {'
            cat "$f"; echo 'return 0; }'; } > "$f.w.c" ;;
    handler) { echo '#include <nethttp.h>'; echo '#include <stdio.h>'; echo '#include <stdlib.h>'
               echo 'void doc_handler(nh_response_writer *w, nh_request *r);'
               echo 'void doc_handler(nh_response_writer *w, nh_request *r) { (void)w; (void)r;'
               cat "$f"; echo '}'; } > "$f.w.c" ;;
    file) cp "$f" "$f.w.c" ;;
  esac
  build "$name ($mode)" "$f.w.c"
done
for f in "$src"/examples/*.c; do
  build "examples/$(basename "$f")" "$f"
done

echo "doc examples: $compiled compiled, $skipped skipped (marked), $failed failed"
[ "$failed" -eq 0 ] || exit 1
if [ "$compiled" -lt "$min" ]; then
  echo "only $compiled examples compiled, expected at least $min" >&2
  exit 1
fi
