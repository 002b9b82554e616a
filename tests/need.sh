# Sourced by the shell tests: a missing peer tool makes the test report
# SKIP to ctest (exit 77, SKIP_RETURN_CODE in tests/CMakeLists.txt), never
# a pass and never a failure that reads like a bug.

# need TOOL [PACKAGE]: ends the test as skipped when TOOL (a command name
# or an absolute path) is not there.
need() {
  if [ "${1#/}" != "$1" ]; then [ -x "$1" ] && return 0; else command -v "$1" >/dev/null 2>&1 && return 0; fi
  echo "SKIP: $1 not installed${2:+ (scripts/install-deps.sh installs $2)}"
  exit 77
}

# A part of a test that needs an optional tool: `if have_or_skip TOOL WHAT;
# then ...; fi` runs it when TOOL is there and otherwise notes WHAT as
# skipped; finish_or_skip, the test's last line, then reports SKIP (exit
# 77) so that a partial run never passes silently.
skipped_parts=()
have_or_skip() {
  command -v "$1" >/dev/null 2>&1 && return 0
  skipped_parts+=("$2 ($1 not installed)")
  return 1
}
finish_or_skip() {
  if [ ${#skipped_parts[@]} -gt 0 ]; then
    echo "SKIP: everything else passed, but not run: ${skipped_parts[*]}"
    exit 77
  fi
}
