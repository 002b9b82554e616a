# bench/http/lib.sh — shared by run.sh and idle_memory.sh (sourced, not run).
#
# Builds the peer servers, starts one server at a time pinned to one core,
# waits until it answers the 13-byte hello, measures its process tree (CPU
# ticks, RSS) from /proc, and stops it by pid. Every process started here is
# recorded and killed by pid on exit, and every temp dir removed.
#
# The servers, all answering "GET /" with "hello, world\n" as text/plain on
# 127.0.0.1, each with one thread / worker / process doing the work:
#   limit    bench/peers/limit/limit_server.c: raw epoll, the ceiling
#   nethttp  build/release/hello --threads 1 (rebuilt first if out of date)
#   go       bench/peers/go/hello.go, GOMAXPROCS=1
#   nginx    generated config, worker_processes 1, return 200
#   h2o      generated config, num-threads 1, a 13-byte static file
#   mhd      bench/peers/mhd/hello_mhd.c: libmicrohttpd, one internal epoll thread

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$ROOT/build/bench                       # build outputs (not committed)
SERVER_CPU=${SERVER_CPU:-1}                 # the core every server runs on
CLIENT_CPU=${CLIENT_CPU:-0}                 # the core the load generator runs on
NETHTTP_HELLO=${NETHTTP_HELLO:-$ROOT/build/release/hello}
ALL_SERVERS="limit nethttp go nginx h2o mhd"
SERVERS=${SERVERS:-$ALL_SERVERS}            # e.g. SERVERS="limit go" to run a subset
HELLO_BODY=$'hello, world\n'

declare -A PORT=([nethttp]=18080 [limit]=18081 [go]=18082 [nginx]=18083 [h2o]=18084 [mhd]=18085)
declare -A LABEL=([nethttp]="nethttp" [limit]="limit (raw epoll)" [go]="Go net/http" \
                  [nginx]="nginx" [h2o]="h2o" [mhd]="libmicrohttpd")

STARTED_PIDS=()   # every process we started, killed by pid on exit
TMPDIRS=()        # every temp dir we made, removed on exit
SERVER_PID=""     # the server now running (the root of its process tree)
SERVER_TMP=""     # its temp dir (config, logs, files it serves)
SKIP_REASON=""    # why server_available said no

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ---- processes ----

# The pid and all its descendants (nginx master + worker, h2o + its
# backtrace helper), from /proc/PID/task/*/children, or ps on kernels
# built without that file.
tree_pids() {
  local p kids k
  for p in "$@"; do
    [ -d "/proc/$p" ] || continue
    echo "$p"
    kids=$(cat /proc/"$p"/task/*/children 2>/dev/null) || kids=$(ps -o pid= --ppid "$p")
    for k in $kids; do tree_pids "$k"; done
  done
}

# utime+stime of these processes, all threads included (/proc/PID/stat is
# process-wide), in clock ticks. Fields 14 and 15, counted after the ")"
# that ends the command name, since the name may hold spaces.
cpu_ticks() {
  local p total=0 rest f
  for p in "$@"; do
    rest=$(cat /proc/"$p"/stat 2>/dev/null) || continue
    read -ra f <<<"${rest##*) }"   # f[0] is field 3 (state), so utime (14) is f[11], stime (15) f[12]
    total=$((total + f[11] + f[12]))
  done
  echo "$total"
}

# The user-space part of cpu_ticks (utime only).
user_ticks() {
  local p total=0 rest f
  for p in "$@"; do
    rest=$(cat /proc/"$p"/stat 2>/dev/null) || continue
    read -ra f <<<"${rest##*) }"
    total=$((total + f[11]))
  done
  echo "$total"
}

# VmRSS of these processes summed, in KiB.
rss_kib() {
  local p total=0 v
  for p in "$@"; do
    v=$(awk '/^VmRSS:/ {print $2}' /proc/"$p"/status 2>/dev/null)
    total=$((total + ${v:-0}))
  done
  echo "$total"
}

# The "cpuN" line of /proc/stat (jiffies: user nice system idle iowait irq
# softirq steal ...), to see how busy a core was and how much of it the
# hypervisor stole while we measured.
cpu_stat() { grep "^cpu$1 " /proc/stat; }

# Busy and stolen share of the ticks between two cpu_stat lines: "BUSY% STEAL%".
cpu_share() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    n = split(a, x); split(b, y); tot = 0
    for (i = 2; i <= n && i <= 9; i++) { d[i] = y[i] - x[i]; tot += d[i] }
    if (tot <= 0) { print "0 0"; exit }
    printf "%.0f %.0f\n", 100 * (tot - d[5] - d[6]) / tot, 100 * d[9] / tot }'
}

# How busy the machine is before we start (1 s sample of all CPUs).
machine_busy_line() {
  local a b busy steal
  a=$(grep '^cpu ' /proc/stat); sleep 1; b=$(grep '^cpu ' /proc/stat)
  read -r busy steal < <(cpu_share "$a" "$b")
  echo "CPUs ${busy}% busy (${steal}% stolen by the hypervisor) in the second before the run"
}

# Whether a process still runs (a zombie waiting for us to reap it does not).
alive() { [ -d "/proc/$1" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# Kills a process tree by pid: TERM, then KILL what is left after 3 s, and
# forgets the root in STARTED_PIDS (so a reused pid is never killed later).
kill_tree() {
  local pids p i left
  pids=$(tree_pids "$@")
  if [ -n "$pids" ]; then
    kill -TERM $pids 2>/dev/null || true
    for i in $(seq 30); do
      left=""
      for p in $pids; do alive "$p" && left=1; done
      [ -z "$left" ] && break
      sleep 0.1
    done
    [ -n "$left" ] && kill -KILL $pids 2>/dev/null
  fi
  for p in "$@"; do wait "$p" 2>/dev/null; done
  forget_pids "$@"
}

# Drops pids from STARTED_PIDS once they are reaped.
forget_pids() {
  local p keep=()
  for p in "${STARTED_PIDS[@]}"; do [[ " $* " == *" $p "* ]] || keep+=("$p"); done
  STARTED_PIDS=("${keep[@]}")
}

cleanup() {
  local p
  [ ${#STARTED_PIDS[@]} -gt 0 ] && kill_tree "${STARTED_PIDS[@]}"
  for p in "${TMPDIRS[@]}"; do rm -rf "$p"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts a command in the background; records and returns its pid in BG_PID.
spawn() {
  "$@" &
  BG_PID=$!
  STARTED_PIDS+=("$BG_PID")
}

# Runs a command to its end like a foreground one, but as a recorded
# background process: bash runs a trap only once a foreground command ends,
# while "wait" returns at once on a signal, so an INT/TERM sent to the script
# alone still stops it (and the command) without delay.
fg_run() {
  local rc
  spawn "$@"
  wait "$BG_PID"; rc=$?
  forget_pids "$BG_PID"
  return $rc
}

# ---- building the peers ----

need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: run scripts/install-deps.sh bench"; }

# Rebuilds OUT/NAME when a source is newer than it (a tiny make).
stale() { local out=$1; shift; [ ! -e "$out" ] || [ -n "$(find "$@" -newer "$out" 2>/dev/null)" ]; }

# ensure_built BINARY TARGET: brings TARGET up to date in BINARY's build
# directory (configured as a release build if it is new), so a run never
# measures a binary older than the sources. A binary outside build/ is
# used as it is.
ensure_built() {
  local bin=$1 target=$2 dir
  dir=$(dirname "$bin")
  case "$bin" in "$ROOT"/build/*) ;; *) return 0 ;; esac
  need cmake
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    cmake -G Ninja -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNH_BUILD_TESTS=OFF \
      >/dev/null || die "cmake configure of $dir failed"
  fi
  cmake --build "$dir" --target "$target" >/dev/null || die "building $target in $dir failed"
}

build_peers() {
  need cc; need curl; need taskset
  mkdir -p "$OUT"
  ensure_built "$NETHTTP_HELLO" hello
  if stale "$OUT/limit_server" "$ROOT/bench/peers/limit/limit_server.c"; then
    log "building limit_server"
    cc -O2 -Wall -o "$OUT/limit_server" "$ROOT/bench/peers/limit/limit_server.c" || die "limit_server build failed"
  fi
  if stale "$OUT/idle_client" "$ROOT/bench/http/idle_client.c"; then
    log "building idle_client"
    cc -O2 -Wall -o "$OUT/idle_client" "$ROOT/bench/http/idle_client.c" || die "idle_client build failed"
  fi
  if stale "$OUT/hello_mhd" "$ROOT/bench/peers/mhd/hello_mhd.c" && pkg-config --exists libmicrohttpd; then
    log "building hello_mhd"
    cc -O2 -Wall -o "$OUT/hello_mhd" "$ROOT/bench/peers/mhd/hello_mhd.c" \
      $(pkg-config --cflags --libs libmicrohttpd) || die "hello_mhd build failed"
  fi
  if stale "$OUT/hello_go" "$ROOT/bench/peers/go/hello.go" "$ROOT/bench/peers/go/go.mod" && command -v go >/dev/null; then
    log "building hello_go"
    # No network: the module has no dependencies, GOPROXY=off makes sure of it.
    (cd "$ROOT/bench/peers/go" && GOPROXY=off GOFLAGS= GOCACHE="$OUT/gocache" \
       go build -o "$OUT/hello_go" .) || die "hello_go build failed"
  fi
}

# Whether a server can run here; if not, SKIP_REASON says why.
server_available() {
  SKIP_REASON=""
  case $1 in
    limit)   [ -x "$OUT/limit_server" ] || SKIP_REASON="limit_server not built" ;;
    nethttp) [ -x "$NETHTTP_HELLO" ] || SKIP_REASON="$NETHTTP_HELLO not built yet (make build)" ;;
    go)      [ -x "$OUT/hello_go" ] || SKIP_REASON="hello_go not built (golang-go missing? scripts/install-deps.sh bench)" ;;
    nginx)   [ -x /usr/sbin/nginx ] || SKIP_REASON="/usr/sbin/nginx missing (scripts/install-deps.sh bench)" ;;
    h2o)     command -v h2o >/dev/null || SKIP_REASON="h2o missing (scripts/install-deps.sh bench)" ;;
    mhd)     [ -x "$OUT/hello_mhd" ] || SKIP_REASON="hello_mhd not built (libmicrohttpd-dev missing? scripts/install-deps.sh bench)" ;;
    *)       SKIP_REASON="unknown server $1 (known: $ALL_SERVERS)" ;;
  esac
  [ -z "$SKIP_REASON" ]
}

# ---- one function per server: start it pinned to SERVER_CPU on port $1,
# ---- its files in SERVER_TMP, output to SERVER_TMP/out.log; sets BG_PID.

start_limit() {
  spawn taskset -c "$SERVER_CPU" "$OUT/limit_server" --addr "127.0.0.1:$1"
}

start_nethttp() {
  spawn taskset -c "$SERVER_CPU" "$NETHTTP_HELLO" --addr "127.0.0.1:$1" --threads 1
}

start_go() {
  # GOMAXPROCS=1: one thread runs Go code. The runtime's other threads
  # (sysmon, GC workers) are pinned to the same core and counted as well.
  spawn env GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$OUT/hello_go" -addr "127.0.0.1:$1"
}

# The nginx temp-file directives, all under $1/nginx-temp (nginx runs
# without root, so nothing may go to its compiled-in paths).
nginx_temp_paths() {
  local d=$1/nginx-temp
  printf '  %s_temp_path %s;\n' client_body "$d/body" proxy "$d/proxy" fastcgi "$d/fastcgi" \
    uwsgi "$d/uwsgi" scgi "$d/scgi"
}

# Starts nginx on the server core with one worker, no access log and
# nothing written outside $1 (SERVER_TMP); $2 is the rest of its http block
# (directives and the server block), which each benchmark writes itself.
spawn_nginx() {
  local t=$1
  mkdir -p "$t/nginx-temp"
  cat > "$t/nginx.conf" <<EOF
daemon off;
worker_processes 1;
worker_rlimit_nofile 20000;
pid $t/nginx.pid;
error_log $t/error.log warn;
events {
  worker_connections 16384;
}
http {
  access_log off;
$(nginx_temp_paths "$t")
$2
}
EOF
  # -e: the error log before the config is read; -p: the prefix for relative paths.
  spawn taskset -c "$SERVER_CPU" /usr/sbin/nginx -p "$t" -e "$t/error.log" -c "$t/nginx.conf"
}

start_nginx() {
  # Stock keep-alive settings (keepalive_requests 1000, keepalive_timeout
  # 75s); worker_connections (above) is raised from 512 so the idle test's
  # 10,000 fit.
  spawn_nginx "${SERVER_TMP:?}" "  default_type text/plain;
  server {
    listen 127.0.0.1:$1;
    location / {
      return 200 \"hello, world\\n\";
    }
  }"
}

start_h2o() {
  # h2o 2.2 answers with a fixed body only through mruby, so it serves the
  # 13 bytes as a static file (file.index maps "/" to index.txt; .txt is
  # text/plain). No access-log line = no access log. Started as root it
  # switches to nobody, hence the world-readable temp dir.
  local t=${SERVER_TMP:?}
  mkdir -p "$t/www"
  printf '%s' "$HELLO_BODY" > "$t/www/index.txt"
  chmod -R a+rX "$t"
  cat > "$t/h2o.conf" <<EOF
num-threads: 1
max-connections: 20000
error-log: $t/error.log
hosts:
  "127.0.0.1:$1":
    listen:
      host: 127.0.0.1
      port: $1
    paths:
      /:
        file.dir: $t/www
        file.index: [ "index.txt" ]
EOF
  spawn taskset -c "$SERVER_CPU" h2o -c "$t/h2o.conf"
}

start_mhd() {
  spawn taskset -c "$SERVER_CPU" "$OUT/hello_mhd" --addr "127.0.0.1:$1"
}

# ---- start / check / stop ----

# Checks that the server answers GET / with exactly the 13-byte body and a
# text/plain type. Returns 1 with a message in CHECK_ERR if not.
check_hello() {
  local port=$1 got code type size
  got=$(curl -s --max-time 2 -o "$SERVER_TMP/check-body" -w '%{http_code} %{size_download} %{content_type}' \
        "http://127.0.0.1:$port/" 2>/dev/null) || { CHECK_ERR="no answer"; return 1; }
  read -r code size type <<<"$got"
  if [ "$code" != 200 ] || ! printf '%s' "$HELLO_BODY" | cmp -s - "$SERVER_TMP/check-body" \
     || [ "${type%%;*}" != text/plain ]; then
    CHECK_ERR="wrong answer: status $code, $size bytes, type '$type' (want 200, 13 bytes 'hello, world\\n', text/plain)"
    return 1
  fi
}

# start_checked NAME PORT STARTER CHECK [SCHEME]: runs "STARTER PORT" and
# waits (up to 10 s) until "CHECK PORT" passes. A CHECK returns 1 with its
# reason in CHECK_ERR ("no answer" means: not up yet, keep waiting). Sets
# SERVER_PID and SERVER_TMP. Returns 1 (server stopped, message logged) if
# it does not come up right.
start_checked() {
  local name=$1 port=$2 starter=$3 check=$4 scheme=${5:-http} i
  SERVER_TMP=$(mktemp -d "/tmp/nethttp-bench-$name.XXXXXX")
  TMPDIRS+=("$SERVER_TMP")
  if curl -sk --max-time 1 -o /dev/null "$scheme://127.0.0.1:$port/" 2>/dev/null; then
    log "$name: port $port is already in use by something else"
    return 1
  fi
  "$starter" "$port" >"$SERVER_TMP/out.log" 2>&1
  SERVER_PID=$BG_PID
  for i in $(seq 100); do
    if ! alive "$SERVER_PID"; then
      log "$name: exited before answering on port $port; its output:"
      sed 's/^/    /' "$SERVER_TMP/out.log" "$SERVER_TMP/error.log" 2>/dev/null | tail -n 8 >&2
      stop_server
      return 1
    fi
    if "$check" "$port"; then return 0; fi
    [ "$CHECK_ERR" = "no answer" ] || break
    sleep 0.1
  done
  log "$name: $CHECK_ERR"
  stop_server
  return 1
}

# Starts hello-world server $1 (start_$1) on its port, checked with check_hello.
start_server() { start_checked "$1" "${PORT[$1]}" "start_$1" check_hello; }

stop_server() {
  [ -n "$SERVER_PID" ] && kill_tree "$SERVER_PID"
  [ -n "$SERVER_TMP" ] && rm -rf "$SERVER_TMP"
  SERVER_PID=""
  SERVER_TMP=""
}

# The machine, for the report.
machine_line() {
  local model
  model=$(lscpu 2>/dev/null | awk -F: '/^Model name/ {sub(/^[ \t]+/, "", $2); print $2; exit}')
  echo "${model:-unknown CPU}, $(nproc) CPUs, Linux $(uname -r)"
}
