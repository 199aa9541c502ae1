#!/usr/bin/env bash
# Runs scenarios N times on each provider and reports how many runs passed: the hunt for
# flaky scenarios (a race shows as a pass count below N). Exit 0 when every run passed.
#
#   scripts/repeat.sh [-n N] [-p "evolution meta"] [-b path/to/harness] SCENARIO...
#
# Each run writes its reports under $REPEAT_DIR (default: a temporary folder, printed);
# the failed runs' JSON reports are kept there for reading. Runs one at a time.
set -u
n=20
providers="evolution meta"
bin="${HARNESS_BIN:-target/release/harness}"
while getopts "n:p:b:" opt; do
  case "$opt" in
    n) n="$OPTARG" ;;
    p) providers="$OPTARG" ;;
    b) bin="$OPTARG" ;;
    *) echo "usage: $0 [-n N] [-p \"evolution meta\"] [-b harness] SCENARIO..." >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
if [ "$#" -eq 0 ]; then
  echo "usage: $0 [-n N] [-p \"evolution meta\"] [-b harness] SCENARIO..." >&2
  exit 2
fi
if [ ! -x "$bin" ]; then
  echo "no harness binary at $bin (cargo build --release, or -b PATH)" >&2
  exit 2
fi
dir="${REPEAT_DIR:-$(mktemp -d -t harness-repeat.XXXXXX)}"
mkdir -p "$dir"
echo "reports under $dir"
all_passed=0
for scenario in "$@"; do
  for provider in $providers; do
    passed=0
    codes=""
    for i in $(seq 1 "$n"); do
      out="$dir/${scenario//\//-}-$provider-$i"  # a built-in name may hold a slash
      "$bin" run "$scenario" --provider "$provider" --json "$out.json" >"$out.log" 2>&1
      code=$?
      if [ "$code" -eq 0 ]; then
        passed=$((passed + 1))
        rm -f "$out.log" "$out.json" "$out.html"
      else
        codes="$codes run$i:exit$code"
      fi
    done
    echo "$scenario $provider: $passed/$n passed${codes:+ (failed:$codes)}"
    [ "$passed" -eq "$n" ] || all_passed=1
  done
done
exit "$all_passed"
