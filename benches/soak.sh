#!/usr/bin/env bash
# Soak: `harness mock evolution` and the reference app (`harness app`), each in its own process,
# under a steady mixed load for DURATION (default 30m): booking conversations (injects, sends,
# awaits) at RATE iterations/s, faults switched on for a minute and off for a minute in turn
# (mocks/faults/evolution-flaky.yaml), plus a plain GET load on the simulator. Every INTERVAL
# it prints the resident memory (KiB; VmRSS, and RssAnon: heap and stacks, without the binary's
# own pages) and open file descriptors of both processes; at the end,
# the load's p99 per 5-minute window from its JSON report.
# The conversation is benches/soak-returning.yaml: 5,000 returning customers book a slot and
# cancel it, so the app's calendar and the simulator's contacts reach a steady state; at the
# default 20/s every bounded store (journal, kept messages, contacts, the app's remembered
# replies) is full by minute 9. `volume` (a new customer each time, each booking a slot of its
# own) grows the calendar until its ~33,000 slots are taken: the app's data, not a leak.
#   benches/soak.sh [DURATION] [RATE] [INTERVAL] [HARNESS_BINARY] [SCENARIO]
set -euo pipefail
duration=${1:-30m}
rate=${2:-20}
interval=${3:-60}
bin=${4:-target/release/harness}
scenario=${5:-benches/soak-returning.yaml}
dir=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
sim_port=$(free_port)
app_port=$(free_port)
key=SOAK-KEY
export HARNESS_EVOLUTION_API_KEY=$key
instances=()
for name in clinica-centro clinica-norte clinica-sur clinica-este clinica-oeste; do
  instances+=(--instance "$name:${name^^}-TOKEN")
done
# HEAPTRACK=DIR records both processes with heaptrack (DIR/mock.*.zst, DIR/app.*.zst) to find
# what grows; RSS and file descriptors are then those of the recorded processes.
traced() { # NAME COMMAND…: runs COMMAND, under heaptrack when HEAPTRACK is set
  local name=$1; shift
  if [[ -n ${HEAPTRACK:-} ]]; then heaptrack -o "$HEAPTRACK/$name" "$@"; else exec "$@"; fi
}
pid_of() { # PID: the process that runs the harness (heaptrack's child when recording)
  if [[ -n ${HEAPTRACK:-} ]]; then
    local child=""
    for _ in $(seq 50); do
      child=$(pgrep -f -n "^$bin $2" || true)
      [[ -n $child ]] && break
      sleep 0.1
    done
    echo "$child"
  else echo "$1"; fi
}
traced mock "$bin" mock evolution --port "$sim_port" "${instances[@]}" \
  --webhook-url "http://127.0.0.1:$app_port/api/whatsapp/webhook" >"$dir/mock.log" 2>&1 &
mock=$(pid_of $! mock)
traced app "$bin" app --provider evolution --provider-url "http://127.0.0.1:$sim_port" --port "$app_port" \
  >"$dir/app.log" 2>&1 &
app=$(pid_of $! app)
trap 'kill $mock $app $load $toggler 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
sleep 2
cat >"$dir/harness.yaml" <<YAML
targets:
  soak:
    provider: evolution
    mode: simulated
    provider_url: http://127.0.0.1:$sim_port
    app_url: http://127.0.0.1:$app_port
    api_key: \${HARNESS_EVOLUTION_API_KEY}
    instance: clinica-centro
YAML
"$bin" load "$scenario" --target soak --config "$dir/harness.yaml" --rps "$rate" -z "$duration" \
  --allow-dropped --json "$dir/load.json" --report-dir "$dir" -q >"$dir/load.log" 2>&1 &
load=$!
# Faults on for a minute, off for a minute; a light GET load beside.
(
  faults=$(python3 -c 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))' \
    mocks/faults/evolution-flaky.yaml 2>/dev/null || echo '{"rules":[{"endpoint":"/message/*","latency":{"kind":"fixed","value":"200ms"}}]}')
  on=1
  while kill -0 $load 2>/dev/null; do
    if [ $on = 1 ]; then body=$faults; else body='{"rules":[]}'; fi
    curl -s -o /dev/null -X POST -H 'content-type: application/json' -d "$body" \
      "http://127.0.0.1:$sim_port/__harness/faults" || true
    on=$((1 - on))
    for _ in $(seq 60); do curl -s -o /dev/null "http://127.0.0.1:$sim_port/" || true; sleep 1; done
  done
) &
toggler=$!
start=$(date +%s)
echo "elapsed_s mock_rss_kib mock_anon_kib mock_fds app_rss_kib app_anon_kib app_fds"
while kill -0 $load 2>/dev/null; do
  row="$(( $(date +%s) - start ))"
  for pid in $mock $app; do
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo -)
    anon=$(awk '/^RssAnon/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo -)
    fds=$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)
    row="$row $rss $anon $fds"
  done
  echo "$row"
  sleep "$interval"
done
wait $load || true
tail -3 "$dir/load.log"
python3 - "$dir/load.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
pts = r.get("load", {}).get("time_series", [])
print("window p99_ms (from the per-second points)")
for i in range(0, len(pts), 300):
    w = [p.get("p99_ms") or 0 for p in pts[i:i + 300]]
    print(f"{i // 60:>4} min {max(w) if w else 0:.1f}")
print("iterations", r["totals"]["iterations"], "failed", r["totals"]["failed_iterations"])
PY
