#!/bin/sh
# The whole test command: install (pinned pnpm via npx), build with tsc -b, lint, run the suite.
set -eu
cd "$(dirname "$0")/.."
scripts/pnpm install --frozen-lockfile --reporter=append-only
scripts/pnpm run -s build
scripts/pnpm run -s lint
scripts/pnpm run -s test:run "$@"
