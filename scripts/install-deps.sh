#!/usr/bin/env bash
# Installs everything aurproxy's demo, tests and benchmarks need, idempotently:
# Deno (from the npm registry, pinned in package.json), and from Debian nginx with
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

if [ ! -x node_modules/.bin/deno ]; then
  echo "install-deps: npm install (deno)" >&2
  npm install --no-audit --no-fund --loglevel=error
fi
