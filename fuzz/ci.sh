#!/usr/bin/env bash
# The bounded fuzz run of `.ci/run`: every target for SECONDS (default 10) from the seeded
# corpus. Needs the nightly toolchain (cargo-fuzz's sanitizers); without it, says so and exits 0.
#   fuzz/ci.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz: skipped — no nightly toolchain here (rustup toolchain install nightly to run it)"
  exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo +nightly install cargo-fuzz --version 0.13.2 --locked --quiet
fi
bash fuzz/seed.sh
cargo +nightly fuzz build -O
log=$(mktemp)
for target in $(cargo +nightly fuzz list); do
  echo "fuzz: $target for ${seconds}s"
  if ! cargo +nightly fuzz run -O "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 >"$log" 2>&1; then
    cat "$log"
    echo "fuzz: $target found a failure (the input is in fuzz/artifacts/$target/)"
    exit 1
  fi
  grep -E "^Done|#[0-9]+.*(DONE|cov)" "$log" | tail -1
done
