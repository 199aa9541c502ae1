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
# A smoke, not a hunt: a debug build without a sanitizer compiles in a fraction of the time
# (the crate denies `unsafe` but for one audited call: a panic is what there is to find); the long runs of
# fuzz/README.md use `-O` with AddressSanitizer.
flags=(--dev --sanitizer none)
cargo +nightly fuzz build "${flags[@]}"
log=$(mktemp)
for target in $(cargo +nightly fuzz list); do
  echo "fuzz: $target for ${seconds}s"
  if ! cargo +nightly fuzz run "${flags[@]}" "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 >"$log" 2>&1; then
    cat "$log"
    echo "fuzz: $target found a failure (the input is in fuzz/artifacts/$target/)"
    exit 1
  fi
  grep -E "^Done|#[0-9]+.*(DONE|cov)" "$log" | tail -1
done
