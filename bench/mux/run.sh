#!/usr/bin/env bash
# Router benchmark (bench/mux/bench_mux.c) on a release build, with the
# machine it ran on. Usage: bench/mux/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNH_BUILD_TESTS=OFF >/dev/null
cmake --build build/release --target bench_mux >/dev/null
echo "## Router: nh_mux_match by number of routes"
echo
echo "- command: \`bench/mux/run.sh\` (release build, pinned to one core, median of 5)"
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs, Linux $(uname -r)"
echo
build/release/bench/bench_mux
