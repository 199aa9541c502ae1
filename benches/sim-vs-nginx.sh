#!/usr/bin/env bash
# The Evolution simulator's sendText against nginx serving a static JSON, on one core each, in
# one run (issue 13's simulator row: goal >= 0.5x nginx with logging on).
#
#   benches/sim-vs-nginx.sh [rounds=5] [seconds=10]            (from the repository root)
#
# Per round, in turn: nginx (1 worker, keep-alive, access log off) serving a file that is a
# copy of the simulator's own sendText answer (same size and shape), then `harness mock
# evolution` with its default logging (RUST_LOG unset: INFO, one line of request totals per
# second on standard error, written to a file), each started fresh, pinned to core 0
# (taskset -c 0); wrk -t1 -c50 on core 1 drives it for SECONDS after a 1 s warm-up (the
# simulator POSTs sendText, nginx GETs its file). Printed per round and as medians
# [min-max]: req/s, and requests per server CPU-second (requests / the server's utime +
# stime over the run, /proc/PID/stat; nginx: its worker's), which is the rate with a whole
# core and so less sensitive to other processes on the core. The load average is printed
# before and after.
#
# Env: BINS="label=path ..." compares several harness builds in the same run, alternating
#      (default: "harness=target/release/harness", built first); CONNS (50); PORT (18080).
# Needs wrk and nginx (`apt-get install -y wrk nginx-light`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
SECS=${2:-10}
CONNS=${CONNS:-50}
PORT=${PORT:-18080}
if [[ -z ${BINS:-} ]]; then
  cargo build --release --quiet
  BINS="harness=${CARGO_TARGET_DIR:-target}/release/harness"
fi
WORK=$(mktemp -d /tmp/sim-vs-nginx.XXXX)
chmod 755 "$WORK" # nginx's worker runs as another user
server_pid=
stop() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
  if [[ -f $WORK/nginx.pid ]]; then
    kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
    for _ in $(seq 50); do [[ -f $WORK/nginx.pid ]] || break; sleep 0.1; done
  fi
}
trap 'stop; rm -rf "$WORK"' EXIT

send_body='{"number":"5511988887777","text":"Su cita con cardiología está confirmada para mañana a las 10:00."}'
printf 'wrk.method = "POST"\nwrk.headers["apikey"] = "BENCHTOKEN"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = %s\n' \
  "'$send_body'" >"$WORK/send.lua"

up() { for _ in $(seq 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "server did not start: $1" >&2; exit 3; }
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.3f", ($14 + $15) / hz}' "/proc/$1/stat"; }

start_harness() { # BIN: the simulator, default logging, stderr to a file
  env -u RUST_LOG taskset -c 0 "$1" mock evolution --port "$PORT" \
    --api-key BENCHKEY --instance bench:BENCHTOKEN >"$WORK/sim.out" 2>"$WORK/sim.err" &
  server_pid=$!
  up "http://127.0.0.1:$PORT/__harness/health"
  measured_pid=$server_pid
  url=http://127.0.0.1:$PORT/message/sendText/bench
  script=(-s "$WORK/send.lua")
}

start_nginx() {
  # As benches/compare.sh's nginx (1 worker, no access log, long keep-alive), serving send.json.
  cat >"$WORK/nginx.conf" <<CONF
worker_processes 1; daemon on; pid $WORK/nginx.pid; error_log $WORK/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000000; keepalive_timeout 120s;
  server { listen 127.0.0.1:$PORT;
    location / { root $WORK/www; default_type application/json; try_files /send.json =404; } } }
CONF
  taskset -c 0 /usr/sbin/nginx -c "$WORK/nginx.conf" -p "$WORK" 2>/dev/null
  up "http://127.0.0.1:$PORT/"
  # The one worker process (the master only accepts signals).
  measured_pid=$(pgrep -P "$(cat "$WORK/nginx.pid")" | head -n1)
  url=http://127.0.0.1:$PORT/
  script=()
}

# nginx's file: the simulator's own answer to the benchmark's request.
mkdir -p "$WORK/www"
first_bin=${BINS%% *}
start_harness "${first_bin#*=}"
curl -fs -X POST -H 'apikey: BENCHTOKEN' -H 'Content-Type: application/json' \
  --data-binary "$send_body" "$url" >"$WORK/www/send.json"
stop
echo "sendText answer served by nginx: $(wc -c <"$WORK/www/send.json") bytes"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

tools=(nginx)
for b in $BINS; do tools+=("${b%%=*}"); done
declare -A rows
for round in $(seq "$ROUNDS"); do
  for tool in "${tools[@]}"; do
    if [[ $tool == nginx ]]; then
      start_nginx
    else
      for b in $BINS; do [[ ${b%%=*} == "$tool" ]] && start_harness "${b#*=}"; done
    fi
    taskset -c 1 wrk -t1 -c8 -d1s "${script[@]}" "$url" >/dev/null
    c0=$(cpu_of "$measured_pid")
    out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECS}s" "${script[@]}" "$url")
    c1=$(cpu_of "$measured_pid")
    rss=$(awk '/RssAnon/ {print $2}' "/proc/$measured_pid/status")
    if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then
      echo "round $round $tool: errors:" >&2; grep -E 'Non-2xx|Socket errors' <<<"$out" >&2
    fi
    stop
    line=$(awk -v c0="$c0" -v c1="$c1" -v rss="$rss" '
      /requests in/ {n = $1} /Requests\/sec/ {r = $2}
      END {printf "%.0f %.0f %.1f %.1f", r, n / (c1 - c0), (c1 - c0) / '"$SECS"' * 100, rss / 1024}' <<<"$out")
    echo "round $round $tool: req/s req/CPU-s CPU% RssAnon-MB = $line (load $(cut -d' ' -f1 /proc/loadavg))" >&2
    rows[$tool]+="$line"$'\n'
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
for tool in "${tools[@]}"; do printf '%s' "${rows[$tool]}" >"$WORK/rows.$tool"; done
# Medians [min-max] per server, then each build against the nginx run just before it.
python3 - "$WORK" "$CONNS" "$SECS" "$ROUNDS" "${tools[@]}" <<'PY'
import statistics, sys
work, conns, secs, rounds, tools = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
data = {t: [list(map(float, l.split())) for l in open(f"{work}/rows.{t}") if l.strip()] for t in tools}
print(f"\n| server (core 0), wrk -t1 -c{conns} (core 1), {secs}s, median of {rounds} [min–max] "
      "| req/s | req per server CPU-s | server CPU % | RssAnon MB |\n|---|---|---|---|---|")
for t in tools:
    c = list(zip(*data[t]))
    m = [statistics.median(x) for x in c]
    span = lambda i: f"{m[i]:,.0f} [{min(c[i]):,.0f}–{max(c[i]):,.0f}]"
    print(f"| {t} | {span(0)} | {span(1)} | {m[2]:.0f} | {m[3]:.1f} |")
for t in tools[1:]:
    for i, what in ((0, "req/s"), (1, "req per CPU-s")):
        r = [b[i] / a[i] for a, b in zip(data["nginx"], data[t])]
        print(f"{t} / nginx, {what}, per round: " + ", ".join(f"{x:.2f}" for x in r)
              + f" (median {statistics.median(r):.2f})")
PY
