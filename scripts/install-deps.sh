#!/usr/bin/env bash
# Installs everything aurproxy's demo, tests and benchmarks need, idempotently:
# Deno (from the npm registry, pinned below), and from Debian nginx with
# the stream module, ZooKeeper and wrk. Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need_apt+=(nginx)
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || need_apt+=(libnginx-mod-stream)
[ -f /usr/share/java/zookeeper.jar ] || need_apt+=(zookeeper)
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)

if [ ${#need_apt[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "install-deps: apt-get install ${need_apt[*]}" >&2
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # Debian starts nginx as a service on install; aurproxy runs its own instances.
  if [[ " ${need_apt[*]} " == *" nginx "* ]]; then
    "${sudo_cmd[@]}" service nginx stop >/dev/null 2>&1 || true
  fi
fi

# Pinned here rather than in a package.json: a package.json at the top makes Deno treat
# the project as an npm package and resolve `deno` in tasks to the npm wrapper.
DENO_VERSION=2.9.6
if [ ! -x node_modules/.bin/deno ] || ! node_modules/.bin/deno --version 2>/dev/null | grep -q "^deno $DENO_VERSION "; then
  echo "install-deps: npm install deno@$DENO_VERSION" >&2
  npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error "deno@$DENO_VERSION"
fi
# Fetch the npm dependencies of deno.json into Deno's cache (locked by deno.lock).
node_modules/.bin/deno install --entrypoint main.ts >/dev/null
