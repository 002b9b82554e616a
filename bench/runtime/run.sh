#!/usr/bin/env bash
# Runtime microbenchmarks (bench/runtime/bench_runtime.c) on a release build,
# with the machine they ran on. Usage: bench/runtime/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNH_BUILD_TESTS=OFF >/dev/null
cmake --build build/release --target bench_runtime >/dev/null
echo "## Runtime: context switch and fiber lifecycle"
echo
echo "- command: \`bench/runtime/run.sh\` (release build, pinned to one core, median of 5)"
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs, Linux $(uname -r)"
echo
build/release/bench/bench_runtime
