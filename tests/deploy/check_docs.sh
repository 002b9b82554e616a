#!/usr/bin/env bash
# docs/deploy.md shows the HAProxy and nginx configurations the deployment
# tests run: each template here, filled in with the documentation's example
# addresses, must be one of the doc's code blocks, byte for byte, and the
# instances' flags the tests use must be on the doc's command lines.
# Usage: check_docs.sh SOURCE_DIR
set -euo pipefail
src=${1:-$(dirname "$0")/../..}
. "$src/tests/deploy/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
doc=$src/docs/deploy.md
[ -f "$doc" ] || fail "$doc missing"

# The doc's example: the proxy on 10.0.0.2, one instance on each of
# 10.0.0.11 and 10.0.0.12.
PROXY_SRC=10.0.0.2
example=(FRONT_ADDR=*:80 A_ADDR=10.0.0.11:8080 B_ADDR=10.0.0.12:8080
         STATS_ADDR=127.0.0.1:8404 "PROXY_SRC=$PROXY_SRC" DIR=/run/nginx-app)
render "$deploy_dir/haproxy.cfg.in" "$work/haproxy.cfg" "${example[@]}"
render "$deploy_dir/nginx.conf.in" "$work/nginx.conf" "${example[@]}"

python3 - "$doc" "$work/haproxy.cfg" "$work/nginx.conf" "$(instance_flags)" <<'PY'
import re, sys
doc, flags = open(sys.argv[1]).read(), sys.argv[4]
def section(title):
    m = re.search(rf"^## {title}\n(.*?)(?=^## |\Z)", doc, re.S | re.M)
    if not m:
        sys.exit(f"FAIL: docs/deploy.md has no section '## {title}'")
    return re.findall(r"^```[a-z]*\n(.*?)^```$", m.group(1), re.S | re.M)
ncmd = 0
for title, name in (("HAProxy", sys.argv[2]), ("nginx", sys.argv[3])):
    blocks, want = section(title), open(name).read()
    if want not in blocks:
        sys.exit(f"FAIL: '## {title}' of docs/deploy.md has no code block equal to "
                 f"tests/deploy/{name.rsplit('/', 1)[1]}.in filled in with the example addresses:\n{want}")
    cmds = [l for b in blocks for l in b.splitlines() if l.startswith("nethttp ")]
    if not cmds or not all(flags in l for l in cmds):
        sys.exit(f"FAIL: the nethttp command lines of '## {title}' should carry: {flags}\n" + "\n".join(cmds))
    ncmd += len(cmds)
print(f"2 configurations and {ncmd} command lines match the tests'")
PY
