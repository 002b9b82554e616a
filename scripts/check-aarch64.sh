#!/usr/bin/env bash
# Proves the fiber context switch on aarch64 without aarch64 hardware:
# cross-compiles the standalone self-tests in tests/arch/ together with
# src/runtime/switch_aarch64.S and src/runtime/stack.c, and runs them under
# qemu-aarch64 (user mode). The same tests are first built and run natively
# (x86-64 or aarch64) against the native switch_<arch>.S.
#
#   scripts/check-aarch64.sh          native, then aarch64 under qemu
#
# Needs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user (Debian).
# When the cross compiler or qemu-aarch64 is missing, the aarch64 part is
# skipped with a message and the script exits 77 (ctest's SKIP) after the
# native part; so does a run that skipped a part for want of a package (the
# dynamic and BTI builds need libc6-arm64-cross). Any build or test failure
# exits 1; a complete run that passed exits 0.
#
# Environment: CROSS_CC (default aarch64-linux-gnu-gcc), QEMU (default
# qemu-aarch64), CC (native compiler, default cc), OUT (default build/arch).
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=${OUT:-build/arch}
CC=${CC:-cc}
CROSS_CC=${CROSS_CC:-aarch64-linux-gnu-gcc}
QEMU=${QEMU:-qemu-aarch64}
SYSROOT=/usr/aarch64-linux-gnu
mkdir -p "$OUT"

# The runtime's own flags that matter here: frame pointers (the frame walk
# needs them) and _GNU_SOURCE (stack.c uses dladdr).
CFLAGS=(-g -Wall -Wextra -Wno-unused-parameter -fno-omit-frame-pointer -D_GNU_SOURCE
        -I src -I include)
SWITCH_TEST=(tests/arch/switch_selftest.c src/runtime/stack.c)
FRAMES_TEST=(tests/arch/frames_selftest.c src/runtime/stack.c)

failures=0
skipped=0
say() { printf 'check-aarch64: %s\n' "$*"; }
run() { # name, command...: print the command, run it, record a failure
  local name=$1
  shift
  say "+ $*"
  if "$@"; then
    say "PASS $name"
  else
    say "FAIL $name (exit $?)"
    failures=$((failures + 1))
  fi
}
build() { # compiler, output, sources and flags...
  local cc=$1 out=$2
  shift 2
  say "+ $cc ${CFLAGS[*]} $* -o $out"
  "$cc" "${CFLAGS[@]}" "$@" -o "$out"
}

# ---- native ----
case "$(uname -m)" in
  x86_64) NATIVE_S=src/runtime/switch_x86_64.S ;;
  aarch64 | arm64) NATIVE_S=src/runtime/switch_aarch64.S ;;
  *) NATIVE_S= ;;
esac
if [ -n "$NATIVE_S" ]; then
  say "native ($(uname -m)) with $NATIVE_S"
  for opt in -O0 -O2; do
    build "$CC" "$OUT/switch_selftest.native$opt" $opt "${SWITCH_TEST[@]}" "$NATIVE_S" -ldl
    run "native switch_selftest $opt" "$OUT/switch_selftest.native$opt"
  done
  build "$CC" "$OUT/frames_selftest.native" -O2 -rdynamic "${FRAMES_TEST[@]}" "$NATIVE_S" -ldl
  run "native frames_selftest -O2" "$OUT/frames_selftest.native"
else
  say "native: $(uname -m) has no switch_<arch>.S, skipped"
  skipped=1
fi

# ---- aarch64 under qemu ----
missing=()
command -v "$CROSS_CC" >/dev/null 2>&1 || missing+=("$CROSS_CC (gcc-aarch64-linux-gnu)")
command -v "$QEMU" >/dev/null 2>&1 || missing+=("$QEMU (qemu-user)")
if [ ${#missing[@]} -gt 0 ]; then
  say "SKIP aarch64: not installed: ${missing[*]}"
  say "  apt-get install -y gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user"
  [ "$failures" -eq 0 ] || { say "$failures failure(s)"; exit 1; }
  exit 77
fi

A64_S=src/runtime/switch_aarch64.S
say "aarch64 with $A64_S: $("$CROSS_CC" --version | head -n1), $("$QEMU" --version | head -n1)"
# Static binaries need no aarch64 sysroot at run time; timeout guards a hang.
for opt in -O0 -O2; do
  build "$CROSS_CC" "$OUT/switch_selftest.aarch64$opt" $opt -static "${SWITCH_TEST[@]}" "$A64_S"
  run "aarch64 switch_selftest $opt (static)" timeout 120 "$QEMU" "$OUT/switch_selftest.aarch64$opt"
done
build "$CROSS_CC" "$OUT/frames_selftest.aarch64" -O2 -static "${FRAMES_TEST[@]}" "$A64_S"
run "aarch64 frames_selftest -O2 (static)" timeout 120 "$QEMU" "$OUT/frames_selftest.aarch64"
# Dynamic PIE as well (the default way the library is linked), which also
# lets dladdr name the frames; needs the cross libc as qemu's sysroot.
if [ -e "$SYSROOT/lib/ld-linux-aarch64.so.1" ]; then
  build "$CROSS_CC" "$OUT/switch_selftest.aarch64-dyn" -O2 "${SWITCH_TEST[@]}" "$A64_S" -ldl
  run "aarch64 switch_selftest -O2 (dynamic)" \
    timeout 120 "$QEMU" -L "$SYSROOT" "$OUT/switch_selftest.aarch64-dyn"
  build "$CROSS_CC" "$OUT/frames_selftest.aarch64-dyn" -O2 -rdynamic "${FRAMES_TEST[@]}" "$A64_S" -ldl
  run "aarch64 frames_selftest -O2 (dynamic)" \
    timeout 120 "$QEMU" -L "$SYSROOT" "$OUT/frames_selftest.aarch64-dyn"
else
  say "aarch64 dynamic: no $SYSROOT/lib/ld-linux-aarch64.so.1 (libc6-arm64-cross), skipped"
  skipped=1
fi

# Hardened builds: -mbranch-protection=standard (pac-ret + BTI). qemu's
# default CPU implements both. pac-ret signs the return addresses in frame
# records, which the frame walk must strip.
BP=-mbranch-protection=standard
build "$CROSS_CC" "$OUT/switch_selftest.aarch64-bp" -O2 $BP -static "${SWITCH_TEST[@]}" "$A64_S"
run "aarch64 switch_selftest -O2 $BP (static)" timeout 120 "$QEMU" "$OUT/switch_selftest.aarch64-bp"
build "$CROSS_CC" "$OUT/frames_selftest.aarch64-bp" -O2 $BP -static "${FRAMES_TEST[@]}" "$A64_S"
run "aarch64 frames_selftest -O2 $BP (static)" timeout 120 "$QEMU" "$OUT/frames_selftest.aarch64-bp"
# BTI enforced: switch + stack in a BTI-marked shared library, so the test's
# calls to nh__switch arrive via a PLT entry's br and need its landing pad.
# Debian's crt files are not BTI-marked, so the library is built without
# them and marked with -z force-bti; ld.so then maps its text PROT_BTI.
if [ -e "$SYSROOT/lib/ld-linux-aarch64.so.1" ]; then
  # (force-bti warns about every input that lacks the note; keep the rest.)
  build "$CROSS_CC" "$OUT/libswitch-bti.so" -O2 $BP -fPIC -shared -nostartfiles \
    src/runtime/stack.c "$A64_S" -ldl -Wl,-z,force-bti 2>"$OUT/libswitch-bti.log" ||
    { cat "$OUT/libswitch-bti.log" >&2; exit 1; }
  grep -v 'BTI turned on' "$OUT/libswitch-bti.log" >&2 || true
  if aarch64-linux-gnu-readelf -n "$OUT/libswitch-bti.so" 2>/dev/null | grep -q 'feature: BTI'; then
    build "$CROSS_CC" "$OUT/switch_selftest.aarch64-bti" -O2 $BP tests/arch/switch_selftest.c \
      "$OUT/libswitch-bti.so" -Wl,-rpath,"$PWD/$OUT"
    run "aarch64 switch_selftest -O2 $BP (BTI-guarded shared library)" \
      timeout 120 "$QEMU" -L "$SYSROOT" "$OUT/switch_selftest.aarch64-bti"
  else
    say "FAIL libswitch-bti.so is not BTI-marked"
    failures=$((failures + 1))
  fi
fi

if [ "$failures" -ne 0 ]; then
  say "$failures failure(s)"
  exit 1
fi
if [ "$skipped" -ne 0 ]; then
  say "SKIP: passed, but a part above was skipped"
  exit 77
fi
say "all passed"
