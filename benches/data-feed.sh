#!/usr/bin/env bash
# A `data:` feeder at volume: a ROWS-row CSV (default 1,000,000) feeds `harness load` with
# `select: unique` across 4 shards (4 processes); every request's path is logged by a sink
# (nginx with an access log of paths, else benches/delay_server.py; PYTHON_SINK=1 forces the
# latter), so a row taken twice shows as a repeated line. The same load without
# `data:` (the URL from `seq()`) gives the memory baseline; each process's peak RSS is
# measured with /usr/bin/time -f %M (docs/benchmarks.md has the figures).
#   benches/data-feed.sh [RATE] [DURATION] [ROWS] [HARNESS_BINARY]
# RATE is the total of the 4 shards (it/s). The defaults take up to 60,000 rows (2000/s for
# 30 s; arrivals the machine cannot start are dropped, --allow-dropped); RATE × DURATION = ROWS
# takes every row. No simulator starts: --provider-url/--app-url point at the sink.
set -euo pipefail
rate=${1:-2000}
duration=${2:-30s}
rows=${3:-1000000}
bin=$(realpath "${4:-target/release/harness}")
here=$(cd "$(dirname "$0")" && pwd)
dir=$(mktemp -d)
trap 'kill "$sink_pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
cd "$dir"
awk -v n="$rows" 'BEGIN { print "id,phone,name"; for (i = 0; i < n; i++) printf "%d,5511%09d,\"Customer %d, Jr\"\n", i, 900000000 + i, i }' >customers.csv
echo "customers.csv: $rows rows, $(du -h customers.csv | cut -f1)"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [[ -x /usr/sbin/nginx && -z ${PYTHON_SINK:-} ]]; then
  # nginx (1 worker) logs each request's path: the Python sink cannot take more than ~1,000
  # requests a second, so taking all of a million rows needs this one.
  chmod 755 "$dir"
  cat >nginx.conf <<CONF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log;
events { worker_connections 4096; }
http {
  log_format path '\$request_uri';
  access_log $dir/paths.log path buffer=256k flush=1s;
  keepalive_requests 100000000;
  server { listen 127.0.0.1:$port; location / { return 200 'ok'; } }
}
CONF
  /usr/sbin/nginx -c "$dir/nginx.conf" -p "$dir" &
else
  python3 "$here/delay_server.py" "$port" 0 0 paths.log &
fi
sink_pid=$!
sink="http://127.0.0.1:$port"
sleep 1
step='    checks: { status: 200 }'
cat >fed.yaml <<YAML
name: fed
data: { file: customers.csv, select: unique }
steps:
  - name: customer
    http: { url: "http://127.0.0.1:$port/row/{{ row.id }}/{{ row.phone }}" }
$step
YAML
cat >plain.yaml <<YAML
name: plain
steps:
  - name: customer
    http: { url: "http://127.0.0.1:$port/seq/{{ seq() }}/{{ phone() }}" }
$step
YAML
shards() { # scenario: runs the 4 shards together, prints each one's peak RSS (KiB)
  start=$(date -u -d '+3 seconds' +%Y-%m-%dT%H:%M:%SZ)
  for i in 1 2 3 4; do
    /usr/bin/time -f %M -o "rss-$1-$i" "$bin" load "$1.yaml" --rps "$rate" -z "$duration" \
      --shard "$i/4" --start-at "$start" --json "$1-$i.json" -q --allow-dropped \
      --provider-url "$sink" --app-url "$sink" >"out-$1-$i" 2>&1 &
  done
  wait_all=0
  for job in $(jobs -p | grep -v "^$sink_pid\$"); do wait "$job" || wait_all=$?; done
  [ "$wait_all" = 0 ] || { cat out-"$1"-*; exit 1; }
  echo "$1: peak RSS per shard (KiB): $(cat rss-"$1"-* | tr '\n' ' ')"
}
shards plain
shards fed
sleep 2 # nginx flushes its access log every second
fed=$(grep -c '^/row/' paths.log)
distinct=$(grep '^/row/' paths.log | sort -u | wc -l)
iterations=$(python3 -c 'import json, sys; print(sum(json.load(open(f))["load"]["iterations"] for f in sys.argv[1:]))' fed-?.json)
echo "fed: $iterations iterations reported, $fed requests seen, $distinct distinct rows, $((fed - distinct)) taken twice"
python3 - "$dir" <<'PY'
import sys
d = sys.argv[1]
peak = lambda s: [int(open(f"{d}/rss-{s}-{i}").read().split()[-1]) for i in range(1, 5)]
plain, fed = peak("plain"), peak("fed")
print(f"peak RSS: without data max {max(plain) / 1024:.1f} MiB, with data max {max(fed) / 1024:.1f} MiB, "
      f"difference {(max(fed) - max(plain)) / 1024:.1f} MiB (limit 50 MiB)")
PY
[ "$fed" = "$distinct" ] && [ "$fed" = "$iterations" ]
