# bench/h2/lib.sh — the HTTP/2 servers of bench/h2/run.sh (sourced after
# bench/http/lib.sh, whose process, CPU and start/stop helpers it uses).
#
# Every server answers "GET /" with the 13 bytes "hello, world\n" as
# text/plain, one thread / worker pinned to core SERVER_CPU, in two modes:
#   h2c  HTTP/2 over cleartext TCP, prior knowledge (no Upgrade)
#   tls  HTTP/2 over TLS, chosen by ALPN "h2"
#
#   nethttp  h2c: NETHTTP_HELLO --h2c; tls: NETHTTP_HELLO --tls-cert --tls-key
#            (ALPN offers h2 once the server speaks it)
#   nginx    worker_processes 1, `listen ... http2` (nginx 1.22 has no
#            `http2 on;`), `listen ... ssl http2` for tls, return 200
#   h2o      num-threads 1, the 13 bytes as a static file; cleartext
#            listeners take prior-knowledge HTTP/2 as they are
#   go       bench/peers/go/hello.go over TLS (ListenAndServeTLS turns
#            HTTP/2 on); Go's standard library has no h2c server, so no
#            h2c row

declare -A H2_PORT=(
  [h2c/nethttp]=18290 [h2c/nginx]=18291 [h2c/h2o]=18292
  [tls/nethttp]=18293 [tls/nginx]=18294 [tls/h2o]=18295 [tls/go]=18296
  [client/h2o]=18297 [client/nginx]=18298)
declare -A H2_LABEL=([nethttp]="nethttp" [nginx]="nginx" [h2o]="h2o" [go]="Go net/http")

# Whether server $2 can run in mode $1 here; if not, SKIP_REASON says why.
h2_server_available() {
  local mode=$1 name=$2
  SKIP_REASON=""
  case $name in
    nethttp) [ -x "$NETHTTP_HELLO" ] || SKIP_REASON="$NETHTTP_HELLO not built" ;;
    nginx)   [ -x /usr/sbin/nginx ] || SKIP_REASON="/usr/sbin/nginx missing (scripts/install-deps.sh bench)" ;;
    h2o)     command -v h2o >/dev/null || SKIP_REASON="h2o missing (scripts/install-deps.sh bench)" ;;
    go)      if [ "$mode" = h2c ]; then SKIP_REASON="Go's standard library serves HTTP/2 only over TLS"
             elif [ ! -x "$OUT/hello_go" ]; then SKIP_REASON="hello_go not built (golang-go missing? scripts/install-deps.sh bench)"; fi ;;
    *)       SKIP_REASON="unknown server $name (known: nethttp nginx h2o go)" ;;
  esac
  [ -z "$SKIP_REASON" ]
}

# ---- starters: "start_h2_MODE_NAME PORT", files in SERVER_TMP, set BG_PID ----

start_h2_h2c_nethttp() {
  spawn taskset -c "$SERVER_CPU" "$NETHTTP_HELLO" --addr "127.0.0.1:$1" --threads 1 --h2c
}

start_h2_tls_nethttp() {
  spawn taskset -c "$SERVER_CPU" "$NETHTTP_HELLO" --addr "127.0.0.1:$1" --threads 1 \
    --tls-cert "$CERT" --tls-key "$KEY"
}

# keepalive_requests also caps the requests of an HTTP/2 connection since
# nginx 1.19.7 (GOAWAY after 1000): raised so that no server closes a
# connection during a run.
nginx_h2_conf() { # nginx_h2_conf LISTEN_PARAMS EXTRA
  printf '  default_type text/plain;\n  keepalive_requests 100000000;\n'
  printf '  server {\n    listen %s;\n    %s\n' "$1" "$2"
  printf '    location / {\n      return 200 "hello, world\\n";\n    }\n  }\n'
}

start_h2_h2c_nginx() {
  spawn_nginx "${SERVER_TMP:?}" "$(nginx_h2_conf "127.0.0.1:$1 http2" "")"
}

start_h2_tls_nginx() {
  spawn_nginx "${SERVER_TMP:?}" "$(nginx_h2_conf "127.0.0.1:$1 ssl http2" \
    "ssl_certificate $CERT; ssl_certificate_key $KEY; ssl_protocols TLSv1.3;")"
}

# h2o: as bench/http's (static 13-byte index.txt, one thread, no access
# log); started as root it drops to nobody after reading its config and
# the key, hence the world-readable temp dir for the served file. $2: the
# listen block's extra lines (ssl).
h2o_h2_conf() {
  local t=${SERVER_TMP:?} port=$1
  mkdir -p "$t/www"
  printf '%s' "$HELLO_BODY" > "$t/www/index.txt"
  chmod -R a+rX "$t"
  cat > "$t/h2o.conf" <<EOF
num-threads: 1
max-connections: 20000
error-log: $t/error.log
file.etag: OFF
hosts:
  "127.0.0.1:$port":
    listen:
      host: 127.0.0.1
      port: $port
$2
    paths:
      /:
        file.dir: $t/www
        file.index: [ "index.txt" ]
EOF
}

start_h2_h2c_h2o() {
  h2o_h2_conf "$1" ""
  spawn taskset -c "$SERVER_CPU" h2o -c "$SERVER_TMP/h2o.conf"
}

start_h2_tls_h2o() {
  h2o_h2_conf "$1" "      ssl:
        certificate-file: $CERT
        key-file: $KEY"
  spawn taskset -c "$SERVER_CPU" h2o -c "$SERVER_TMP/h2o.conf"
}

start_h2_tls_go() {
  # GOMAXPROCS=1: one thread runs Go code; the runtime's helpers are on the
  # same core and counted too.
  spawn env GOMAXPROCS=1 taskset -c "$SERVER_CPU" "$OUT/hello_go" -addr "127.0.0.1:$1" \
    -tls-cert "$CERT" -tls-key "$KEY"
}

# The client benchmark's server: the same h2c servers on their own port.
start_h2_client_h2o() { start_h2_h2c_h2o "$@"; }
start_h2_client_nginx() { start_h2_h2c_nginx "$@"; }

# ---- checks: the 13-byte hello, answered over HTTP/2 ----

# What a curl exit status means here, for the table.
curl_why() {
  case $1 in
    8) echo ": unparsable reply" ;; 16) echo ": HTTP/2 error" ;; 28) echo ": timed out" ;;
    35) echo ": TLS handshake failed" ;; 52) echo ": empty reply" ;; 56) echo ": connection reset" ;;
    92) echo ": HTTP/2 stream error" ;;
  esac
}

# check_h2 URL CURL_FLAGS...: 200, HTTP/2, exactly the body, text/plain.
check_h2() {
  local url=$1 got rc code ver type size; shift
  got=$(curl -s --max-time 2 "$@" -o "$SERVER_TMP/check-body" \
        -w '%{http_code} %{http_version} %{size_download} %{content_type}' "$url" 2>/dev/null)
  rc=$?
  read -r code ver size type <<<"$got"
  # 7: nothing listens yet; anything else: it listens but did not speak
  # HTTP/2 as asked (1.1 answer to a preface, no h2 in ALPN...).
  case $rc in
    0) ;;
    7) CHECK_ERR="no answer"; return 1 ;;
    *) CHECK_ERR="no HTTP/2 answer (curl exit $rc$(curl_why "$rc"))"; return 1 ;;
  esac
  if [ "$ver" != 2 ]; then
    CHECK_ERR="answered over HTTP/$ver, not HTTP/2"; return 1
  fi
  if [ "$code" != 200 ] || ! printf '%s' "$HELLO_BODY" | cmp -s - "$SERVER_TMP/check-body" \
     || [ "${type%%;*}" != text/plain ]; then
    CHECK_ERR="wrong answer: status $code, $size bytes, type '$type' (want 200, 13 bytes 'hello, world\\n', text/plain)"
    return 1
  fi
}
check_h2_h2c() { check_h2 "http://127.0.0.1:$1/" --http2-prior-knowledge; }
check_h2_tls() { check_h2 "https://127.0.0.1:$1/" -k --http2; }
check_h2_client() { check_h2_h2c "$@"; }

# start_h2_server MODE NAME: started and checked, or 1 with the reason in
# START_ERR (the server stopped again).
start_h2_server() {
  local mode=$1 name=$2 scheme=http errf=$RESULTS/start.$1.$2.log rc
  [ "$mode" = tls ] && scheme=https
  START_ERR=""
  start_checked "$name" "${H2_PORT[$mode/$name]}" "start_h2_${mode}_$name" "check_h2_$mode" "$scheme" 2>"$errf"
  rc=$?
  cat "$errf" >&2
  # The reason for the table: the message and the first line of the output.
  [ $rc = 0 ] || START_ERR=$(sed "s/^ *//; 1s/^$name: //" "$errf" | head -n 2 | paste -sd' ' | cut -c1-160)
  return $rc
}

# The TLS protocol, cipher and ALPN a server agrees to with OpenSSL's
# default offer plus ALPN h2, e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384, ALPN h2".
tls_line() {
  openssl s_client -connect "127.0.0.1:$1" -alpn h2 </dev/null 2>&1 | awk '
    /^New, / { sub(/^New, /, ""); sub(/, Cipher is /, " "); t = $0 }
    /^ALPN protocol: / { a = $3 }
    END { printf "%s, ALPN %s", (t == "" ? "no TLS" : t), (a == "" ? "none" : a) }'
}

# The names of the response headers a server sends to GET / (besides
# :status), lower case, in its order: "server date content-type ...".
header_names() { # header_names MODE PORT
  local url flags=(--http2-prior-knowledge)
  url="http://127.0.0.1:$2/"
  [ "$1" = tls ] && { url="https://127.0.0.1:$2/"; flags=(-k --http2); }
  curl -s --max-time 2 "${flags[@]}" -D - -o /dev/null "$url" 2>/dev/null \
    | awk -F: 'NR > 1 && NF > 1 { printf "%s%s", (n++ ? ", " : ""), tolower($1) }'
}
