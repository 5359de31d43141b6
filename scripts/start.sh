#!/bin/sh
# Starts the whole Pod locally: install (pinned pnpm via npx), build, then run the local Pod launcher.
set -eu
cd "$(dirname "$0")/.."
scripts/pnpm install --frozen-lockfile --reporter=append-only
scripts/pnpm run -s build
exec node scripts/local-pod.mjs "$@"
