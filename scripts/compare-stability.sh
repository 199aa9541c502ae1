#!/usr/bin/env bash
# Does `harness compare` stay quiet when nothing changed? Runs the same build TRIES+1 times
# and compares each run with the one before it (TRIES comparisons of two distinct runs), for
# `harness run smoke` and for a load run (`harness load --rps 50 --duration 20s` by default).
# Prints the pass counts; exits 1 if any comparison of the same build failed.
#
#   scripts/compare-stability.sh [TRIES]          # default 20
#   HARNESS=target/release/harness LOAD_ARGS="--rps 50 --duration 20s" scripts/compare-stability.sh
#   COMPARE=target/debug/harness HARNESS=target/release/harness scripts/compare-stability.sh
#   KINDS="smoke" scripts/compare-stability.sh 5   # only the smoke part
#   KINDS="slowed" scripts/compare-stability.sh    # the counter-check: a 60 % slower server
#
# `slowed` is the other half of the gate's promise: `harness load --url` against
# benches/delay_server.py answering in 50 ms, then in 80 ms (+60 %), must REGRESS (exit 1).
#
# Long (about 8 minutes for the load part at the defaults): a script, not a test.
set -euo pipefail
cd "$(dirname "$0")/.."

tries=${1:-20}
harness=${HARNESS:-}
if [ -z "$harness" ]; then
  if [ -x target/release/harness ]; then harness=target/release/harness; else harness=target/debug/harness; fi
fi
# The binary that compares (default: the one that runs), to check a change of the rules
# against runs of an already built release binary.
compare_bin=${COMPARE:-$harness}
load_args=${LOAD_ARGS:---rps 50 --duration 20s}
kinds=${KINDS:-smoke load}
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
echo "harness: $harness (compare: $compare_bin); reports in $work (removed at exit unless KEEP=1 or a run broke)"

# One run of KIND into $work/KIND-N.json. A run that fails its own checks or thresholds
# (exit 1, e.g. on a machine busy enough to miss `e2e p95 < 5s`) still wrote its report and is
# compared like any other (noted in the log); any other exit code is fatal.
run_once() {
  local kind=$1 n=$2 out="$work/$1-$2.json" code=0
  case $kind in
    smoke) "$harness" run smoke --json "$out" --report-dir "$work" --html "$work/x.html" >/dev/null 2>>"$work/runs.log" || code=$? ;;
    # shellcheck disable=SC2086 # LOAD_ARGS is a list of flags
    load) "$harness" load $load_args --quiet --json "$out" --report-dir "$work" --html "$work/x.html" >/dev/null 2>>"$work/runs.log" || code=$? ;;
  esac
  case $code in
    0) ;;
    1) echo "note: run $n of $kind failed its own checks or thresholds (exit 1); compared anyway" \
         "($(grep -o '"error_rate":[0-9.e-]*' "$out" | head -1))" ;;
    *) echo "run $n of $kind could not run (exit $code); see $work/runs.log" >&2; KEEP=1; exit 3 ;;
  esac
}

# A load of a local server answering after DELAY seconds, into $work/slowed-DELAY.json; the
# same port both times, so that the step (named after the URL) pairs.
slowed_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
slowed_run() {
  local delay=$1 port=$slowed_port
  python3 benches/delay_server.py "$port" "$delay" &
  local pid=$!
  sleep 0.5
  "$harness" load --url "http://127.0.0.1:$port/" --rps 50 --duration 10s --quiet \
    --json "$work/slowed-$delay.json" --report-dir "$work" --html "$work/x.html" >/dev/null || true
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

status=0
for kind in $kinds; do
  if [ "$kind" = slowed ]; then
    slowed_run 0.05
    slowed_run 0.08
    code=0
    "$compare_bin" compare "$work/slowed-0.05.json" "$work/slowed-0.08.json" >"$work/compare.txt" 2>&1 || code=$?
    grep -E "p95|^regressed" "$work/compare.txt" | head -8
    echo "== slowed: a 60 % slower server (50 ms → 80 ms): compare exit $code (expected 1)"
    [ "$code" -eq 1 ] || status=1
    continue
  fi
  passed=0
  run_once "$kind" 0
  for i in $(seq 1 "$tries"); do
    run_once "$kind" "$i"
    if "$compare_bin" compare "$work/$kind-$((i - 1)).json" "$work/$kind-$i.json" \
        >"$work/compare.txt" 2>&1; then
      passed=$((passed + 1))
    else
      echo "--- $kind: comparison $i (run $((i - 1)) → run $i) failed:"
      grep -E "REGRESSED|^regressed" "$work/compare.txt" || cat "$work/compare.txt"
    fi
    noise=$(grep -c "noise:" "$work/compare.txt" || true)
    echo "$kind try $i: $(tail -1 "$work/compare.txt" | head -c 200) [noise lines: $noise]"
  done
  echo "== $kind: $passed of $tries comparisons of the same build passed"
  [ "$passed" -eq "$tries" ] || status=1
done
exit "$status"
