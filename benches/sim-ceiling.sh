#!/usr/bin/env bash
# Ceiling of a simulator's send endpoint on one core, and its memory after 10k and 1M requests.
#
#   benches/sim-ceiling.sh [evolution|meta|openai|payments|http]       (default: evolution)
#
# Builds the release binary, pins the simulator to core 0 and wrk to core 1 (taskset), drives
# sendText (Evolution) or /messages (Meta) with keep-alive connections, and reports req/s and
# the simulator's RSS (VmRSS, and RssAnon) after ~10k requests and after >= 1M requests. Needs wrk
# (`apt-get install -y wrk`). Request logging is off (RUST_LOG=warn): with it on, the terminal
# is the bottleneck. No webhook URL is set, so no webhooks are sent (this measures the API).
# Meta runs with --no-limits: with the real limits, one recipient is answered 131056 after 45
# sends and the number 130429 above 80 messages/s, which would measure the error path.
# The dependency simulators (docs/dependencies.md): openai answers a chat completion by rule
# (tests/sdk_openai/rules.yaml), payments creates a payment (no notification URL: the API
# alone; its store keeps the newest 10,000), http a stubbed PMS booking
# (mocks/dependencies/pms.yaml, a JSONPath matcher and a templated body).
set -euo pipefail
cd "$(dirname "$0")/.."
provider=${1:-evolution}
port=${PORT:-18080}
conns=${CONNS:-64}
threads=${THREADS:-2}
target_total=${TOTAL:-1000000}

# BIN=path/to/harness compares another build (e.g. an earlier commit's) with the same
# workload; without it, the release build of this checkout.
if [[ -z ${BIN:-} ]]; then
  cargo build --release --quiet
fi
bin=${BIN:-./target/release/harness}
lua=$(mktemp --suffix .lua)
trap 'rm -f "$lua"; [[ -n ${sim_pid:-} ]] && kill "$sim_pid" 2>/dev/null || true' EXIT

case $provider in
  evolution)
    RUST_LOG=warn taskset -c 0 "$bin" mock evolution --port "$port" \
      --api-key BENCHKEY --instance bench:BENCHTOKEN >/dev/null &
    sim_pid=$!
    path=/message/sendText/bench
    cat >"$lua" <<'LUA'
wrk.method = "POST"
wrk.headers["apikey"] = "BENCHTOKEN"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"number":"5511988887777","text":"Su cita con cardiología está confirmada para mañana a las 10:00."}'
LUA
    ;;
  meta)
    RUST_LOG=warn taskset -c 0 "$bin" mock meta --port "$port" --no-limits \
      --token BENCHTOKEN --phone-number-id 106540352242922 >/dev/null &
    sim_pid=$!
    path=/v21.0/106540352242922/messages
    cat >"$lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer BENCHTOKEN"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"messaging_product":"whatsapp","to":"5511988887777","type":"template","template":{"name":"hello_world","language":{"code":"en_US"}}}'
LUA
    ;;
  openai)
    RUST_LOG=warn taskset -c 0 "$bin" mock openai --port "$port" \
      --api-key BENCHKEY --rules tests/sdk_openai/rules.yaml >/dev/null &
    sim_pid=$!
    path=/v1/chat/completions
    cat >"$lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer BENCHKEY"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Eres el asistente de Clínica Sol"},{"role":"user","content":"Hola"}]}'
LUA
    ;;
  payments)
    RUST_LOG=warn taskset -c 0 "$bin" mock payments --port "$port" \
      --token BENCHTOKEN >/dev/null &
    sim_pid=$!
    path=/v1/payments
    cat >"$lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer BENCHTOKEN"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"transaction_amount":5000,"external_reference":"B-42","description":"Consulta","payer":{"email":"ana@example.com"}}'
LUA
    ;;
  http)
    RUST_LOG=warn taskset -c 0 "$bin" mock http --port "$port" \
      --stubs mocks/dependencies/pms.yaml >/dev/null &
    sim_pid=$!
    path=/bookings
    cat >"$lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"source":"whatsapp","name":"Ana","date":"2026-12-07","time":"10:00"}'
LUA
    ;;
  *) echo "usage: $0 [evolution|meta|openai|payments|http]" >&2; exit 2 ;;
esac

url="http://127.0.0.1:$port$path"
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/__harness/health" >/dev/null && break; sleep 0.1; done
# VmRSS, and its anonymous part (heap and stacks; the rest is the binary's pages, which grow
# with the size of the build, not with what the simulator keeps).
rss() { awk '/VmRSS/ {r=$2} /RssAnon/ {a=$2} END {print r " kB (anonymous " a " kB)"}' "/proc/$sim_pid/status"; }
requests() { awk '/requests in/ {print $1}'; }
status() { grep -E 'Requests/sec|Non-2xx|Socket errors' || true; }
# CPU seconds used by the simulator so far (utime + stime). Requests per CPU-second is the
# rate it would sustain with a whole core: a load-independent estimate of the ceiling when
# other processes share the core.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$sim_pid/stat"; }

echo "simulator: $provider (pid $sim_pid, core 0); wrk: core 1, $threads threads, $conns connections"
echo "RSS at start: $(rss)"
out=$(taskset -c 1 wrk -t1 -c8 -d1s -s "$lua" "$url")
total=$(requests <<<"$out")
echo "after $total requests (warm-up): RSS $(rss)"

cpu0=$(cpu)
out=$(taskset -c 1 wrk -t"$threads" -c"$conns" -d20s -s "$lua" "$url")
cpu1=$(cpu)
echo "$out" | status
measured=$(requests <<<"$out")
total=$((total + measured))
echo "after $total requests (journal full): RSS $(rss)"
echo "simulator CPU: $(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN {printf "%.2f", b - a}') s for $measured requests:" \
  "$(awk -v a="$cpu0" -v b="$cpu1" -v n="$measured" 'BEGIN {printf "%.0f", n / (b - a)}') requests per CPU-second"
while (( total < target_total )); do
  out=$(taskset -c 1 wrk -t"$threads" -c"$conns" -d10s -s "$lua" "$url")
  total=$((total + $(requests <<<"$out")))
done
echo "after $total requests: RSS $(rss)"
curl -fs "http://127.0.0.1:$port/__harness/health"; echo
