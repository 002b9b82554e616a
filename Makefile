# nethttp — the two commands are `make run` and `make test`; both install
# what is missing from Debian's packages first (scripts/install-deps.sh).
#
#   make run      build (release) and start the main job: nethttp serve
#                 (SERVE_DIR=. ADDR=:8080 by default)
#   make test     every test: ASan+UBSan build, then runtime, server and client under TSan,
#                 then the same layers on the release build (-O3, link-time optimisation)
#   make bench    benchmarks against the peers (installs them first)
#   make fuzz     build the libFuzzer targets with clang and run each briefly
#   make install  install the library, headers, pkg-config and CMake files

BUILD   ?= build
PREFIX  ?= /usr/local
FUZZ_SECONDS ?= 20
CMAKE   := cmake -G Ninja -Wno-dev

.PHONY: all deps build run test test-asan test-tsan test-release bench fuzz install clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@$(CMAKE) -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNH_BUILD_TESTS=OFF >/dev/null
	@cmake --build $(BUILD)/release

SERVE_DIR ?= .
ADDR ?= :8080

run: build
	$(BUILD)/release/nethttp serve $(SERVE_DIR) --addr $(ADDR)

test: deps test-asan test-tsan test-release

test-asan:
	@$(CMAKE) -S . -B $(BUILD)/asan -DCMAKE_BUILD_TYPE=Debug -DNH_SANITIZE=address -DNH_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(BUILD)/asan
	ctest --test-dir $(BUILD)/asan -j2 --output-on-failure

# The runtime, the server, the client and the middleware under TSan. One
# case is left out: it uses a response writer from another thread on
# purpose, to show the misuse is caught, which is a race by design.
TSAN_LAYERS := runtime;server;client;handlers
test-tsan:
	@$(CMAKE) -S . -B $(BUILD)/tsan -DCMAKE_BUILD_TYPE=Debug -DNH_SANITIZE=thread \
	  -DNH_TEST_ONLY_LAYERS="$(TSAN_LAYERS)" -DNH_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(BUILD)/tsan
	ctest --test-dir $(BUILD)/tsan -j2 --output-on-failure -E writer_used_after_handler_is_reported

# The code that is shipped and benchmarked: optimised across files, and
# with the system-call paths the sanitizer builds replace.
test-release:
	@$(CMAKE) -S . -B $(BUILD)/release-test -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DNH_TEST_ONLY_LAYERS="$(TSAN_LAYERS)" -DNH_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(BUILD)/release-test
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

fuzz: deps
	@CC=clang $(CMAKE) -S . -B $(BUILD)/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNH_BUILD_FUZZ=ON \
	  -DNH_BUILD_TESTS=OFF -DNH_BUILD_BENCH=OFF >/dev/null
	@cmake --build $(BUILD)/fuzz
	fuzz/run.sh $(BUILD)/fuzz $(FUZZ_SECONDS)

install: build
	cmake --install $(BUILD)/release --prefix $(PREFIX)

clean:
	rm -rf $(BUILD)
