#!/usr/bin/env bash
# Rate accuracy, latency accuracy and memory of `harness load` (method: docs/benchmarks.md).
#  1. rate: nginx on CPU 0, `harness load --url … --rps R -z 10s` on CPU 1, R = 100, 1000, 10000;
#     achieved = iterations started / scheduling seconds, and completed / seconds.
#  2. latency: benches/delay_server.py (answers after 50 ms) on CPU 0; harness at 200 req/s
#     vs wrk closed loop over 10 connections (≈ 200 req/s); p50 of both.
#  3. memory: harness at 1000 req/s for MEM_SECS (default 600) against nginx; peak RSS from
#     /usr/bin/time, and RSS sampled every 10 s from /proc to show whether it is flat.
# Usage: benches/accuracy.sh  (after benches/compare.sh has installed the tools)
set -euo pipefail
SECS=${SECS:-10}
MEM_SECS=${MEM_SECS:-600}
PORT=18080
DPORT=18081
WORK=$(mktemp -d /tmp/harness-acc.XXXX)
chmod 755 "$WORK"  # nginx workers run as another user
cleanup() { kill $(cat "$WORK/nginx.pid" 2>/dev/null) ${DPID:-} 2>/dev/null || true; }
trap cleanup EXIT
cargo build --release --quiet
H=target/release/harness

mkdir -p "$WORK/www" "$WORK/logs"
python3 -c 'p = "{\"id\":1,\"status\":\"ok\",\"pad\":\""; print(p + "x" * (200 - len(p) - 2) + "\"}", end="")' > "$WORK/www/index.json"
cat > "$WORK/nginx.conf" <<CONF
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/logs/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000000;
  server { listen 127.0.0.1:$PORT; location / { root $WORK/www; default_type application/json; try_files /index.json =404; } } }
CONF
taskset -c 0 /usr/sbin/nginx -c "$WORK/nginx.conf" -p "$WORK"
sleep 0.5

field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

echo "## rate accuracy (nginx, ${SECS}s)"
for r in 100 1000 10000; do
  taskset -c 1 $H load --url "http://127.0.0.1:$PORT/" --rps $r -z ${SECS}s -q --json "$WORK/rate-$r.json" > /dev/null || true
  field "$WORK/rate-$r.json" "f\"target {d['load']['target_rps']:.0f}: started {d['load']['achieved_rps']:.2f}/s ({(d['load']['achieved_rps']/d['load']['target_rps']-1)*100:+.2f} %), completed {d['load']['completed']/d['load']['duration_s']:.2f}/s, dropped {d['load']['dropped']}, p50 {d['load']['latency_ms']['p50']} ms, p99 {d['load']['latency_ms']['p99']} ms\""
done

echo "## latency accuracy (50 ms server, 200 req/s, ${SECS}s)"
taskset -c 0 python3 benches/delay_server.py $DPORT 0.05 & DPID=$!
sleep 0.5
taskset -c 1 wrk -t1 -c10 -d${SECS}s --latency "http://127.0.0.1:$DPORT/" | grep -E "Requests/sec|50%|99%"
taskset -c 1 $H load --url "http://127.0.0.1:$DPORT/" --rps 200 -z ${SECS}s -q --json "$WORK/lat.json" > /dev/null || true
field "$WORK/lat.json" "f\"harness: achieved {d['load']['achieved_rps']:.1f}/s, p50 {d['load']['latency_ms']['p50']} ms, p99 {d['load']['latency_ms']['p99']} ms (service p50 {d['load']['service_ms']['p50']} ms)\""
kill $DPID; DPID=
echo "## past capacity: a server answering one request at a time in 50 ms (20/s), asked 30/s"
taskset -c 0 python3 benches/delay_server.py $DPORT 0.05 1 & DPID=$!
sleep 0.5
taskset -c 1 wrk -t1 -c10 -d${SECS}s --latency "http://127.0.0.1:$DPORT/" | grep -E "Requests/sec|50%|99%"
taskset -c 1 $H load --url "http://127.0.0.1:$DPORT/" --rps 30 -z ${SECS}s -q --json "$WORK/over.json" > /dev/null || true
field "$WORK/over.json" "f\"harness: started {d['load']['achieved_rps']:.1f}/s, p50 {d['load']['latency_ms']['p50']} ms, p99 {d['load']['latency_ms']['p99']} ms, peak in flight {d['load']['peak_in_flight']}; per second p50: {[p['p50_ms'] for p in d['load']['time_series']]}\""
kill $DPID; DPID=

echo "## memory (1000 req/s, ${MEM_SECS}s)"
/usr/bin/time -f "%M" -o "$WORK/mem.time" taskset -c 1 $H load --url "http://127.0.0.1:$PORT/" --rps 1000 -z ${MEM_SECS}s -q --json "$WORK/mem.json" > /dev/null &
TPID=$!
sleep 1
PID=$(pgrep -P "$TPID" || true)
while kill -0 "$PID" 2>/dev/null; do
  awk '/VmRSS/ {printf "%s MB ", $2/1024}' /proc/$PID/status 2>/dev/null || true
  sleep 10
done
wait
echo
echo "peak RSS $(( $(cat "$WORK/mem.time") / 1024 )) MB"
