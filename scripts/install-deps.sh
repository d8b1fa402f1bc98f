#!/usr/bin/env bash
# Installs everything aurproxy's demo, tests and benchmarks need, idempotently:
# Deno (from the npm registry, pinned below), and from Debian nginx with the stream module,
# HAProxy, ZooKeeper (and python3-kazoo, a second client to check against), promtool (in
# the prometheus package) and python3-prometheus-client (its strict OpenMetrics parser checks
# /metrics in that format), chromium (the status page in a real browser), wrk and curl.
# Safe to run again; it only installs what is missing, found by command or file, so a
# run with everything present takes no apt call.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || need_apt+=(libnginx-mod-stream)
[ -f /usr/share/java/zookeeper.jar ] || need_apt+=(zookeeper)
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need_apt+=(haproxy)
command -v promtool >/dev/null 2>&1 || need_apt+=(prometheus)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# Debian's python3 (not a pyenv or venv one first on PATH) is the one that sees it.
[ -f /usr/lib/python3/dist-packages/kazoo/__init__.py ] || need_apt+=(python3-kazoo)
[ -f /usr/lib/python3/dist-packages/prometheus_client/__init__.py ] || need_apt+=(python3-prometheus-client)

if [ ${#need_apt[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "install-deps: apt-get install ${need_apt[*]}" >&2
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # Debian starts these as services on install, on their default ports (80, 9090);
  # aurproxy and the tests run their own instances.
  for svc in nginx haproxy prometheus; do
    if [[ " ${need_apt[*]} " == *" $svc "* ]]; then
      "${sudo_cmd[@]}" service "$svc" stop >/dev/null 2>&1 || true
    fi
  done
fi

# Pinned here rather than in a package.json: a package.json at the top makes Deno treat
# the project as an npm package and resolve `deno` in tasks to the npm wrapper.
DENO_VERSION=2.9.6
if [ ! -x node_modules/.bin/deno ] || ! node_modules/.bin/deno --version 2>/dev/null | grep -q "^deno $DENO_VERSION "; then
  echo "install-deps: npm install deno@$DENO_VERSION" >&2
  npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error "deno@$DENO_VERSION"
fi
# Fetch the npm dependencies of deno.json into Deno's cache (locked by deno.lock);
# testing/browser.ts brings puppeteer-core (the dashboard browser test), test-only.
node_modules/.bin/deno install --entrypoint main.ts testing/browser.ts >/dev/null
