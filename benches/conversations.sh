#!/usr/bin/env bash
# Conversations per second of the embedded default: `harness load volume --rps RATE` (WhatsApp
# booking conversations, 2 injects and 2 awaits each, against the Evolution simulator and the
# reference app started in the same process), pinned to CPUS with taskset. Per round it prints
# the conversations delivered per second (completed without a failed step, per second of
# schedule), the end-to-end p99 (inject → reply, over the `await` steps), the iteration p99
# (from the intended start), the arrivals dropped (the in-flight cap, `max_in_flight: 1000` in
# the scenario, refused them: counted apart, not failed), the failed conversations, the
# process's peak RSS (`/usr/bin/time` max resident), its CPU seconds and CPU milliseconds per
# conversation completed (what the rate follows on a shared machine); then medians with
# [min–max] over the rounds, and the load average before and after.
#
# Keep RATE × DURATION under ~30,000: the scenario's calendar (5 clinics × 4 specialties ×
# 2 doctors × 14 slots × 60 days) runs out of slots after ~33,000 bookings, and then the app
# (rightly) offers no availability, which fails conversations for a reason that is not speed.
#
# HARNESS_BINARY may list several binaries separated by commas (e.g. main's and this branch's):
# they run alternately, round by round, and each gets its own medians.
#
#   benches/conversations.sh [RATE] [DURATION] [ROUNDS] [CPUS] [HARNESS_BINARY[,BINARY…]]
#   benches/conversations.sh 2000 10s 3 0,1    # the goal: 2,000/s, e2e p99 < 50 ms
#   benches/conversations.sh 5000 5s 3 0,1     # overloaded: peak RSS < 200 MB
#   benches/conversations.sh 2000 10s 3 0,1 /tmp/harness-main,target/release/harness
set -euo pipefail
rate=${1:-2000}
duration=${2:-10s}
rounds=${3:-3}
cpus=${4:-0}
IFS=, read -r -a bins <<<"${5:-target/release/harness}"
for bin in "${bins[@]}"; do
  [ -x "$bin" ] || cargo build --release --quiet
done
dir=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$dir"' EXIT
echo "harness load volume --rps $rate -z $duration, taskset -c $cpus, $rounds round(s) of ${bins[*]}; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %9s %9s %9s %9s %9s %9s %7s %8s %8s %9s\n' round conv/s completed abandoned e2e_p99 iter_p99 dropped failed rss_mb cpu_s cpu_ms/conv
for r in $(seq "$rounds"); do
for b in "${!bins[@]}"; do
  bin=${bins[$b]} run=$b.$r
  set +e
  taskset -c "$cpus" /usr/bin/time -o "$dir/time.$run" -f '%M %U %S' \
    "$bin" load volume --rps "$rate" -z "$duration" --allow-dropped -q \
    --json "$dir/load.$run.json" >"$dir/out.$run" 2>&1
  code=$?
  set -e
  if [ ! -s "$dir/load.$run.json" ]; then
    echo "round $r of $bin: no report (exit $code)"; cat "$dir/out.$run"; exit 3
  fi
  python3 - "$dir/load.$run.json" "$dir/time.$run" "$r${bins[1]:+/$b}" "$code" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
rss_kib, user, system = open(sys.argv[2]).read().split()[-3:]
load = rep["load"]
e2e = (rep.get("e2e") or {}).get("latency_ms") or {}
it = load.get("latency_ms") or {}
secs = load["duration_s"] or 1
delivered = (load["completed"] - load["failed"]) / secs
row = dict(conv=delivered, completed=load["completed"], abandoned=load["abandoned"],
           e2e_p99=e2e.get("p99"), iter_p99=it.get("p99"),
           dropped=load["dropped"], failed=load["failed"], rss=int(rss_kib) / 1024,
           cpu=float(user) + float(system), exit=int(sys.argv[4]))
# CPU per conversation: on a shared machine the rate follows the CPU share the process got.
row["cpu_ms"] = row["cpu"] * 1000 / max(load["completed"], 1)
print(f'{sys.argv[3]:<8} {row["conv"]:9.1f} {row["completed"]:9d} {row["abandoned"]:9d} '
      f'{row["e2e_p99"] or 0:9.2f} {row["iter_p99"] or 0:9.2f} {row["dropped"]:9d} '
      f'{row["failed"]:7d} {row["rss"]:8.1f} {row["cpu"]:8.2f} {row["cpu_ms"]:9.3f}   exit {row["exit"]}')
open(sys.argv[1] + ".row", "w").write(json.dumps(row))
PY
done
done
for b in "${!bins[@]}"; do
[ -z "${bins[1]:-}" ] || echo "${bins[$b]} (/$b):"
python3 - "$dir" "$rounds" "$b" <<'PY'
import json, statistics, sys
rows = [json.load(open(f"{sys.argv[1]}/load.{sys.argv[3]}.{r}.json.row")) for r in range(1, int(sys.argv[2]) + 1)]
def show(key, fmt):
    vals = [r[key] or 0 for r in rows]
    med = statistics.median(vals)
    med = round(med) if fmt == "d" else med  # the mean of the middle two for an even count
    return f"{format(med, fmt)} [{format(min(vals), fmt)}–{format(max(vals), fmt)}]"
print("median [range]: conv/s", show("conv", ".1f"), " completed", show("completed", "d"), " e2e p99 ms", show("e2e_p99", ".2f"),
      " iteration p99 ms", show("iter_p99", ".2f"), " dropped", show("dropped", "d"),
      " failed", show("failed", "d"), " peak RSS MB", show("rss", ".1f"), " CPU s", show("cpu", ".2f"),
      " CPU ms per conversation", show("cpu_ms", ".3f"))
PY
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
