#!/usr/bin/env bash
# Scenario mode against Locust (FastHttpUser), and quick mode for scale: requests per second of
# generator CPU. One iteration = POST /login → capture $.token → GET /me with `Bearer` → a
# JSONPath check (benches/scenario/login.yaml, benches/scenario/locustfile.py). nginx (1 worker,
# `return 200` with a JSON body, keep-alive) pinned to CPU 0, the generator to CPU 1, 50 users
# in a closed loop, tools alternated round by round, medians and ranges printed with the load
# average. Generator CPU is user + system from /usr/bin/time.
#
# Usage: benches/scenario.sh [rounds=3] [seconds=10]       (from the repository root)
# Env:   ONLY="harness locust quick"   to pick tools;   SKIP_INSTALL=1 to install nothing
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
SECS=${2:-10}
USERS=50
PORT=${PORT:-18090}
ONLY=${ONLY:-"harness locust quick"}
VENV=${LOCUST_VENV:-$HOME/.cache/harness-bench/locust}
BIN=${CARGO_TARGET_DIR:-target}/release/harness
WORK=$(mktemp -d /tmp/harness-scenario.XXXX)
chmod 755 "$WORK"
trap 'kill $(cat "$WORK/nginx.pid" 2>/dev/null) 2>/dev/null || true' EXIT

install() {
  [ -n "${SKIP_INSTALL:-}" ] && return
  if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light time
  fi
  if [[ " $ONLY " == *" locust "* ]] && [ ! -x "$VENV/bin/locust" ]; then
    python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "locust>=2.30,<3"
  fi
  cargo build --release --quiet
}

start_nginx() {
  mkdir -p "$WORK/logs"
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
  default_type application/json;
  server {
    listen 127.0.0.1:$PORT;
    location = /login { return 200 '{"token":"0123456789abcdef0123456789abcdef"}'; }
    location = /me {
      if (\$http_authorization != "Bearer 0123456789abcdef0123456789abcdef") { return 401; }
      return 200 '{"id":1,"name":"bench"}';
    }
  }
}
CONF
  taskset -c 0 /usr/sbin/nginx -c "$WORK/nginx.conf" -p "$WORK"
  sleep 0.5
}

# run TOOL ROUND → prints "req_per_s req_per_cpu_s cpu_pct"
run() {
  local tool=$1 out="$WORK/$1.$2.out" t="$WORK/$1.$2.time" url="http://127.0.0.1:$PORT"
  local timed=(/usr/bin/time -f "%U %S" -o "$t" taskset -c 1) reqs
  case $tool in
    harness)
      "${timed[@]}" "$BIN" load benches/scenario/login.yaml --app-url "$url" --users $USERS \
        -z ${SECS}s -q --json "$WORK/h.$2.json" > "$out" 2>&1 || true
      reqs=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["totals"]["failures"] == 0, r["totals"]; print(r["totals"]["requests"])' "$WORK/h.$2.json") ;;
    quick)
      "${timed[@]}" "$BIN" load --url "$url/me" -H "Authorization: Bearer 0123456789abcdef0123456789abcdef" \
        -c $USERS -z ${SECS}s -q --json "$WORK/q.$2.json" > "$out" 2>&1 || true
      reqs=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["requests"])' "$WORK/q.$2.json") ;;
    locust)
      "${timed[@]}" "$VENV/bin/locust" -f benches/scenario/locustfile.py --headless -u $USERS \
        -r $USERS -t ${SECS}s --host "$url" --only-summary --csv "$WORK/l.$2" > "$out" 2>&1 || true
      reqs=$(python3 -c 'import csv,sys
rows=[r for r in csv.DictReader(open(sys.argv[1])) if r["Name"]=="Aggregated"]
assert int(rows[0]["Failure Count"]) == 0, rows
print(rows[0]["Request Count"])' "$WORK/l.$2_stats.csv") ;;
  esac
  read -r u s < <(tail -n1 "$t")
  python3 -c "u,s,r=$u,$s,$reqs; print(f'{r/$SECS:.0f} {r/(u+s):.0f} {(u+s)/$SECS*100:.1f}')"
}

install
start_nginx
declare -A rows
for round in $(seq 1 "$ROUNDS"); do
  for tool in $ONLY; do
    line=$(run "$tool" "$round")
    echo "round $round $tool: req/s req/CPU-s CPU% = $line (load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    rows[$tool]+="$line"$'\n'
  done
done
printf '\n| generator (CPU 1), %s users, %ss, median [range] of %s | req/s | req per gen CPU-s | gen CPU %% |\n|---|---|---|---|\n' $USERS $SECS "$ROUNDS"
for tool in $ONLY; do
  printf '%s' "${rows[$tool]}" | python3 -c '
import statistics, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
cols = list(zip(*rows))
med = [statistics.median(c) for c in cols]
lo = [min(c) for c in cols]; hi = [max(c) for c in cols]
print(f"| {sys.argv[1]} | {med[0]:,.0f} [{lo[0]:,.0f}–{hi[0]:,.0f}] | {med[1]:,.0f} [{lo[1]:,.0f}–{hi[1]:,.0f}] | {med[2]:.1f} |")' "$tool"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
