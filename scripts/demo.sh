#!/usr/bin/env bash
# The local demo: installs what it needs (idempotent), then runs scripts/demo.ts —
# ZooKeeper, Aurora-style backends, nginx managed by aurproxy, on 127.0.0.1 only.
# `--once` runs the scripted part and exits; otherwise it keeps running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
exec node_modules/.bin/deno run --allow-all scripts/demo.ts "$@"
