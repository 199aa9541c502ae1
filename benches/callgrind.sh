#!/usr/bin/env bash
# Regression guard on instruction counts, not wall time: runs the fixed workloads of
# examples/cost.rs (parse four built-in scenarios, frozen in benches/callgrind/; scenario
# iterations against an in-process app; template sends to the in-process Meta simulator) under
# `valgrind --tool=callgrind`, counting only inside `cost::measured*`, and compares each count
# with its budget in benches/callgrind-budget.txt. Counts repeat to well under 1 % on a busy
# machine, so the check does not depend on the load of the machine. The example is the debug build `cargo test`
# already made (no release build in CI): the counts are a debug build's, meant for spotting a
# change that adds per-request work, not for comparing with other tools.
#
#   benches/callgrind.sh            check against the budget (exit 1 over budget + tolerance)
#   benches/callgrind.sh --update   write the measured counts as the new budget
#
# Env: CALLGRIND_TOLERANCE (percent over budget allowed, default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
budget_file=benches/callgrind-budget.txt
tolerance=${CALLGRIND_TOLERANCE:-10}
command -v valgrind >/dev/null || { echo "callgrind guard: valgrind is not installed" >&2; exit 3; }
cargo build --quiet --example cost
bin=${CARGO_TARGET_DIR:-target}/debug/examples/cost
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

count() {
  valgrind --tool=callgrind --callgrind-out-file="$work/$1.out" \
    --toggle-collect='*cost::measured*' "$bin" "$1" >/dev/null 2>"$work/$1.log" || {
      cat "$work/$1.log" >&2; echo "callgrind guard: workload $1 failed" >&2; exit 3; }
  awk '/^summary:/ {print $2}' "$work/$1.out"
}

status=0
new=()
for w in parse scenario send; do
  n=$(count "$w")
  new+=("$w $n")
  budget=$(awk -v w="$w" '$1 == w {print $2}' "$budget_file" 2>/dev/null || true)
  if [[ -z $budget ]]; then
    printf '%-9s %13s instructions (no budget)\n' "$w" "$n"
    continue
  fi
  verdict=$(awk -v n="$n" -v b="$budget" -v t="$tolerance" 'BEGIN {
    r = (n - b) / b * 100
    if (r > t) printf "OVER BUDGET (%+.1f %%, tolerance %d %%)", r, t
    else if (r < -t) printf "ok (%+.1f %%: well under budget, consider --update)", r
    else printf "ok (%+.1f %%)", r }')
  printf '%-9s %13s instructions, budget %13s: %s\n' "$w" "$n" "$budget" "$verdict"
  [[ $verdict == OVER* ]] && status=1
done
if [[ ${1:-} == --update ]]; then
  { echo "# workload instructions (benches/callgrind.sh --update; debug build of examples/cost.rs)"
    printf '%s\n' "${new[@]}"; } >"$budget_file"
  echo "budget written to $budget_file"
  exit 0
fi
exit $status
