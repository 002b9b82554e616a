# nethttp — the two commands are `make run` and `make test`; both install
# what is missing from Debian's packages first (scripts/install-deps.sh).
#
#   make run      build (release) and start the main job: nethttp serve
#                 (SERVE_DIR=. ADDR=:8080 by default)
#   make test     every test: ASan+UBSan build, then runtime, server and client under TSan,
#                 then the same layers on the release build (-O3, link-time optimisation)
#   make bench    benchmarks against the peers (installs them first)
#   make fuzz     build the libFuzzer targets with clang and run each briefly
#   make conformance  h2spec's 146 HTTP/2 cases against the nethttp program, over
#                 h2c and over TLS (docs/conformance.md); fails unless all pass
#   make install  install the library, headers, pkg-config and CMake files
#                 (PREFIX=/usr/local by default; ldconfig is run for /usr and /usr/local)
#
# Builds are parallel: ninja runs one job per core by itself. JOBS=N sets
# the count (JOBS=1 on a busy machine).

BUILD   ?= build
PREFIX  ?= /usr/local
FUZZ_SECONDS ?= 20
CMAKE   := cmake -G Ninja -Wno-dev

JOBS    ?=
NINJA_JOBS := $(if $(JOBS),-j $(JOBS),)

.PHONY: all deps deps-build build run test test-asan test-tsan test-release bench fuzz conformance install clean

all: build

# Building and running need only the build group; the tests' and the
# benchmarks' peers are installed by make test and make bench.
deps:
	@scripts/install-deps.sh test

deps-build:
	@scripts/install-deps.sh build

build: deps-build
	@$(CMAKE) -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNH_BUILD_TESTS=OFF >/dev/null
	@echo "make: building in $(BUILD)/release with $(if $(JOBS),$(JOBS) jobs,one job per core (ninja's default; JOBS=N to change))"
	@cmake --build $(BUILD)/release $(NINJA_JOBS)

SERVE_DIR ?= .
ADDR ?= :8080

# Only the program that runs is built (not the benchmarks).
run: deps-build
	@$(CMAKE) -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNH_BUILD_TESTS=OFF >/dev/null
	@echo "make: building nethttp in $(BUILD)/release with $(if $(JOBS),$(JOBS) jobs,one job per core (ninja's default; JOBS=N to change))"
	@cmake --build $(BUILD)/release --target nethttp $(NINJA_JOBS)
	$(BUILD)/release/nethttp serve $(SERVE_DIR) --addr $(ADDR)

test: deps test-asan test-tsan test-release

test-asan:
	@$(CMAKE) -S . -B $(BUILD)/asan -DCMAKE_BUILD_TYPE=Debug -DNH_SANITIZE=address -DNH_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(BUILD)/asan $(NINJA_JOBS)
	ctest --test-dir $(BUILD)/asan -j2 --output-on-failure

# The runtime, the server, the client and the middleware under TSan. One
# case is left out: it uses a response writer from another thread on
# purpose, to show the misuse is caught, which is a race by design.
TSAN_LAYERS := runtime;server;client;handlers;debug
test-tsan:
	@$(CMAKE) -S . -B $(BUILD)/tsan -DCMAKE_BUILD_TYPE=Debug -DNH_SANITIZE=thread \
	  -DNH_TEST_ONLY_LAYERS="$(TSAN_LAYERS)" -DNH_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(BUILD)/tsan $(NINJA_JOBS)
	ctest --test-dir $(BUILD)/tsan -j2 --output-on-failure -E writer_used_after_handler_is_reported

# The code that is shipped and benchmarked: optimised across files, and
# with the system-call paths the sanitizer builds replace.
test-release:
	@$(CMAKE) -S . -B $(BUILD)/release-test -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DNH_TEST_ONLY_LAYERS="$(TSAN_LAYERS)" -DNH_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(BUILD)/release-test $(NINJA_JOBS)
	ctest --test-dir $(BUILD)/release-test -j2 --output-on-failure

bench:
	@scripts/install-deps.sh bench
	bench/runtime/run.sh
	RUNS=5 bench/http/run.sh
	bench/http/idle_memory.sh
	bench/mux/run.sh
	bench/files/run.sh
	RUNS=2 bench/client/run.sh
	RUNS=2 bench/https/run.sh
	ROUNDS=3 bench/h2/run.sh
	RUNS=5 bench/debug/run.sh

fuzz: deps
	@CC=clang $(CMAKE) -S . -B $(BUILD)/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNH_BUILD_FUZZ=ON \
	  -DNH_BUILD_TESTS=OFF -DNH_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(BUILD)/fuzz
	fuzz/run.sh $(BUILD)/fuzz $(FUZZ_SECONDS)

# h2spec is built once into the build directory (third_party/h2spec) and
# run against `nethttp httpbin --h2c` and `--tls-cert --tls-key` (requests to
# /anything, a handler that reads the whole request, as h2spec expects),
# each on a free port; both modes run, the score of each is printed, and
# the JUnit reports land in $(BUILD)/release/conformance/.
conformance: deps
	@$(CMAKE) -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNH_BUILD_TESTS=OFF >/dev/null
	@cmake --build $(BUILD)/release --target nethttp $(NINJA_JOBS)
	@third_party/h2spec/build.sh $(BUILD)/release/h2spec
	@rc=0; for mode in h2c tls; do \
	  tests/http2/h2spec.sh nethttp $$mode $(BUILD)/release $(BUILD)/release/nethttp || rc=1; \
	done; exit $$rc

# The dynamic linker's cache must learn the new library in a system
# directory; elsewhere the installed nethttp.pc gives programs a run path.
install: build
	cmake --install $(BUILD)/release --prefix $(PREFIX)
	@case "$(abspath $(PREFIX))" in /usr|/usr/local) ldconfig || echo "make: run ldconfig as root";; esac

clean:
	rm -rf $(BUILD)
