#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs (idempotent), checks
# formatting, lint, types and import direction (scripts/check_imports.ts), runs every JSDoc
# example (`deno test --doc`), builds the single-file bundle the tests run, then runs every
# test against real nginx and ZooKeeper processes started by the tests themselves.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="$PWD/node_modules/.bin:$PATH"
export NO_COLOR=1 RUST_BACKTRACE=0

echo "== deno fmt --check / lint / check / import direction"
deno fmt --check
deno lint
deno check main.ts mod.ts bench/ scripts/ examples/ tests/ testing/
deno task check:imports

echo "== doc examples (every JSDoc example type-checks and runs)"
deno test --doc --allow-all --quiet lib/ mod.ts main.ts

echo "== bundle"
deno task bundle

echo "== tests"
deno test --allow-all "$@" tests/
