#!/usr/bin/env bash
# Is a watch's memory flat? Runs `harness watch smoke --every 1s` for DURATION (default 30m)
# against the embedded default and prints its resident memory (VmRSS) every INTERVAL
# (default 60s). The target: flat over 30 minutes (docs/benchmarks.md).
#   scripts/watch-rss.sh [DURATION] [INTERVAL] [HARNESS_BINARY]
set -euo pipefail
duration=${1:-30m}
interval=${2:-60}
bin=${3:-target/release/harness}
dir=$(mktemp -d)
"$bin" watch smoke --every 1s --for "$duration" -q --report-dir "$dir" >"$dir/out.txt" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true' EXIT
start=$(date +%s)
echo "elapsed_s rss_kib"
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  [ -n "$rss" ] && echo "$(( $(date +%s) - start )) $rss"
  sleep "$interval"
done
wait "$pid" || true
grep '^watch:' "$dir/out.txt" || tail -3 "$dir/out.txt"
rm -rf "$dir"
