#!/usr/bin/env bash
# Side-by-side benchmark of `harness load` against wrk, oha, hey (and Goose, see benches/goose).
# Method of ../shared/reference/peer-baseline.md: target pinned to CPU 0, generator to CPU 1,
# nginx (1 worker) serving a 200-byte JSON with keep-alive, 50 connections, 10 s, tools
# alternated round by round, medians printed. Generator CPU comes from /usr/bin/time (user +
# system), so "req per CPU-s" is requests divided by the generator's own CPU seconds.
#
# Usage: benches/compare.sh [rounds=8] [seconds=10]        (run from the repository root)
# Env:   ONLY="wrk oha hey harness harness-reqwest goose"  to pick tools
#        SKIP_INSTALL=1                                    to not install anything
#        HARNESS=path                                      the harness binary (target/release/harness)
#        BASE=path ONLY="... harness-base"                 another build in the same rounds (before/after)
#        PORT=18080                                        nginx's port
set -euo pipefail
ROUNDS=${1:-8}
SECS=${2:-10}
CONNS=50
PORT=${PORT:-18080}
HARNESS=${HARNESS:-${CARGO_TARGET_DIR:-target}/release/harness}
ONLY=${ONLY:-"wrk oha hey harness harness-reqwest"}
WORK=$(mktemp -d /tmp/harness-bench.XXXX)
chmod 755 "$WORK"  # nginx workers run as another user
trap 'kill $(cat "$WORK/nginx.pid" 2>/dev/null) 2>/dev/null || true' EXIT

install() {
  [ -n "${SKIP_INSTALL:-}" ] && return
  local missing=()
  command -v wrk >/dev/null || missing+=(wrk)
  command -v hey >/dev/null || missing+=(hey)
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
  [ -x /usr/bin/time ] || missing+=(time)
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
  fi
  command -v oha >/dev/null || cargo install oha --locked
  cargo build --release --quiet
  if [[ " $ONLY " == *" goose "* ]]; then
    (cd benches/goose && cargo build --release --quiet)
  fi
}

start_nginx() {
  mkdir -p "$WORK/www" "$WORK/logs"
  # Exactly 200 bytes of JSON.
  python3 -c 'p = "{\"id\":1,\"status\":\"ok\",\"pad\":\""; print(p + "x" * (200 - len(p) - 2) + "\"}", end="")' > "$WORK/www/index.json"
  cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  server {
    listen 127.0.0.1:$PORT;
    location / { root $WORK/www; default_type application/json; try_files /index.json =404; }
  }
}
CONF
  taskset -c 0 /usr/sbin/nginx -c "$WORK/nginx.conf" -p "$WORK"
  sleep 0.5
}

# run TOOL ROUND → prints "req_per_s cpu_s rss_kb"
run() {
  local tool=$1 out="$WORK/$1.$2.out" t="$WORK/$1.$2.time" url="http://127.0.0.1:$PORT/"
  local timed=(/usr/bin/time -f "%U %S %M" -o "$t" taskset -c 1)
  case $tool in
    wrk) "${timed[@]}" wrk -t1 -c$CONNS -d${SECS}s "$url" > "$out" 2>&1
         local rps; rps=$(awk '/Requests\/sec/ {print $2}' "$out") ;;
    oha) "${timed[@]}" oha -c $CONNS -z ${SECS}s --no-tui --output-format json "$url" > "$out" 2>/dev/null
         local rps; rps=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["requestsPerSec"])' "$out") ;;
    hey) "${timed[@]}" hey -c $CONNS -z ${SECS}s "$url" > "$out" 2>&1
         local rps; rps=$(awk '/Requests\/sec/ {print $2}' "$out") ;;
    harness|harness-reqwest|harness-base)
         local client=hyper bin=$HARNESS; [ "$tool" = harness-reqwest ] && client=reqwest
         [ "$tool" = harness-base ] && bin=$BASE
         "${timed[@]}" "$bin" load --url "$url" -c $CONNS -z ${SECS}s -q \
           --http-client $client --json "$WORK/$tool.$2.json" > "$out" 2>&1 || true
         local rps; rps=$(python3 -c 'import json,sys; l=json.load(open(sys.argv[1]))["load"]; print(l["completed"]/l["duration_s"])' "$WORK/$tool.$2.json") ;;
    goose) "${timed[@]}" benches/goose/target/release/goose-bench --host "http://127.0.0.1:$PORT" \
           -u $CONNS --increase-rate 1000 -t ${SECS}s -q > "$out" 2>&1 || true
         # Requests of the last per-request table over the run's seconds (ramp-up included,
         # as for the other tools).
         local rps; rps=$(awk -F'|' '/# reqs/ {grab=1; next} grab && /GET \// {n=$2; gsub(/[ ,]/, "", n); last=n; grab=0} END {print last / '"$SECS"'}' "$out") ;;
  esac
  read -r u s m < <(tail -n1 "$t")
  local reqs; reqs=$(python3 -c "print(float('$rps') * $SECS)")
  python3 -c "u,s=$u,$s; r=$reqs; print(f'{r/$SECS:.0f} {r/(u+s):.0f} {(u+s)/$SECS*100:.1f} {$m/1024:.1f}')"
}

install
start_nginx
declare -A rows
for round in $(seq 1 "$ROUNDS"); do
  for tool in $ONLY; do
    line=$(run "$tool" "$round")
    echo "round $round $tool: req/s req/CPU-s CPU% RSS-MB = $line" >&2
    rows[$tool]+="$line"$'\n'
  done
done
printf '\n| generator (CPU 1), %s connections, %ss, median of %s | req/s | req per gen CPU-s | gen CPU %% | peak RSS MB |\n|---|---|---|---|---|\n' $CONNS $SECS "$ROUNDS"
for tool in $ONLY; do
  printf '%s' "${rows[$tool]}" | python3 -c '
import statistics, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
cols = list(zip(*rows))
med = [statistics.median(c) for c in cols]
lo = [min(c) for c in cols]; hi = [max(c) for c in cols]
print(f"| {sys.argv[1]} | {med[0]:,.0f} [{lo[0]:,.0f}–{hi[0]:,.0f}] | {med[1]:,.0f} [{lo[1]:,.0f}–{hi[1]:,.0f}] | {med[2]:.1f} | {med[3]:.1f} |")' "$tool"
done
# Per round, each harness build's requests per CPU-second over oha's (when both ran).
if [[ " $ONLY " == *" oha "* ]]; then
  for tool in $ONLY; do
    [[ $tool == harness* ]] || continue
    paste -d' ' <(printf '%s' "${rows[$tool]}") <(printf '%s' "${rows[oha]}") | python3 -c '
import statistics, sys
r = [float(l.split()[1]) / float(l.split()[5]) for l in sys.stdin if l.strip()]
print(f"{sys.argv[1]} ÷ oha, req per CPU-s, per round: " + ", ".join(f"{x:.2f}" for x in r) + f" (median {statistics.median(r):.2f})")' "$tool"
  done
fi
