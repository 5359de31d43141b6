#!/bin/sh
# npm run bench [-- options]: install and build like scripts/test.sh, then run the benchmarks (bench/README.md).
# Not part of npm test. Needs dnsperf, dnsmasq 2.90 and knotd: installed with apt-get when missing (as root).
set -eu
cd "$(dirname "$0")/.."
scripts/pnpm install --frozen-lockfile --reporter=append-only
scripts/pnpm run -s build
scripts/pnpm exec tsc -b bench
exec node bench/dist/main.js "$@"
