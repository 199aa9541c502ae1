#!/usr/bin/env bash
# Seeds each fuzz target's corpus (fuzz/corpus/TARGET, not in git) from the repository's own
# files: scenarios, targets, fault profiles, fixtures, reports and expressions from the docs.
set -euo pipefail
cd "$(dirname "$0")/.."
c=fuzz/corpus
mkdir -p "$c"/{scenario_parse,expressions,template_render,evolution_validate,meta_validate,app_webhooks,report_read}
n=0
copy() { # copy FILE into corpus DIR under a stable name
  cp "$1" "$c/$2/seed-$(sha1sum "$1" | cut -c1-16)"; n=$((n + 1))
}
for f in scenarios/*.yaml scenarios/examples/*.yaml mocks/**/*.yaml deploy/**/*.yaml; do
  [ -f "$f" ] && copy "$f" scenario_parse
done 2>/dev/null || true
shopt -s globstar nullglob
for f in tests/fixtures/**/*.json tests/sim_*/**/*.json; do
  copy "$f" evolution_validate
  copy "$f" meta_validate
  copy "$f" app_webhooks
  copy "$f" report_read
done
# JSON examples of the docs (request bodies, webhooks, report excerpts).
python3 - "$c" <<'PY'
import pathlib, re, sys, hashlib
c = pathlib.Path(sys.argv[1])
for doc in pathlib.Path("docs").glob("*.md"):
    for block in re.findall(r"```json\n(.*?)```", doc.read_text(), re.S):
        name = "seed-doc-" + hashlib.sha1(block.encode()).hexdigest()[:16]
        for target in ("evolution_validate", "meta_validate", "app_webhooks", "report_read"):
            (c / target / name).write_text(block)
PY
# A real report, when the debug binary is built (after `cargo test`).
if [ -x target/debug/harness ]; then
  target/debug/harness run smoke --json "$c/report_read/seed-smoke.json" \
    --report-dir "$(mktemp -d)" >/dev/null 2>&1 || true
fi
i=0
for e in "p95 < 300ms" "error_rate < 1%" "dropped_rate <= 0.5%" "e2e.p99 < 5s" "rate > 40/s" \
  "1m:10/s, 5m:100/s, 30s:0" "250/s" "down for 20s" "p95 > 2s for 5m" "memory > 500MB for 10m" \
  "30s" "1.5h" "500us" "checks > 99%" "{{ name }}" "{{ provider.url }}/x?n={{ n + 1 }}" \
  "{% for i in range(3) %}{{ i }}{% endfor %}" "\${HOME}/x" "{{ name | upper }}"; do
  printf '%s' "$e" > "$c/expressions/seed-expr-$i"
  printf '%s' "$e" > "$c/template_render/seed-expr-$i"
  i=$((i + 1))
done
echo "seeded $n files and $i expressions into $c"
