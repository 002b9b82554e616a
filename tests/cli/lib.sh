# Shared by the command-line tests (sourced, not run).

# serving_port LOG: waits up to 5 s for the server's JSON "serving" log
# line and prints the port it chose; prints nothing if it never comes.
serving_port() {
  local log=$1
  for _ in $(seq 100); do grep -q '"msg":"serving"' "$log" 2>/dev/null && break; sleep 0.05; done
  sed -n 's/.*"msg":"serving","addr":"127.0.0.1:\([0-9]*\)".*/\1/p' "$log" | head -1
}
