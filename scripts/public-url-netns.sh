#!/usr/bin/env bash
# An app in another network namespace runs e2e-booking against the harness through
# --public-url (issue 20): the app cannot reach the harness's loopback, only the address of a
# veth pair, so every media URL and link it follows must name that address. The simulator
# binds 0.0.0.0 (reached by the harness through 127.0.0.1): without --public-url the Meta
# media URL names 127.0.0.1, which the app cannot fetch, and the run must fail.
#
#   sudo scripts/public-url-netns.sh [target/debug/harness]
#
# Needs root (ip netns). Creates the namespace `harness-app-$$` and a veth pair 10.231.0.1 (this
# side) ↔ 10.231.0.2 (the app's), removed on exit. Exit 0 when both providers pass.
set -euo pipefail

HARNESS=${1:-target/debug/harness}
HARNESS=$(realpath "$HARNESS")
NS=harness-app-$$
HOST_IP=10.231.0.1
APP_IP=10.231.0.2
SIM_PORT=18081
APP_PORT=18080
APP_PID=

if [ "$(id -u)" != 0 ]; then
  echo "needs root (ip netns)" >&2
  exit 2
fi

cleanup() {
  [ -n "$APP_PID" ] && kill "$APP_PID" 2>/dev/null && wait "$APP_PID" 2>/dev/null
  ip netns del "$NS" 2>/dev/null || true
  ip link del "veth-h$$" 2>/dev/null || true
}
trap cleanup EXIT

ip netns add "$NS"
ip link add "veth-h$$" type veth peer name "veth-a$$"
ip link set "veth-a$$" netns "$NS"
ip addr add "$HOST_IP/30" dev "veth-h$$"
ip link set "veth-h$$" up
ip netns exec "$NS" ip addr add "$APP_IP/30" dev "veth-a$$"
ip netns exec "$NS" ip link set "veth-a$$" up
ip netns exec "$NS" ip link set lo up

# The app cannot reach the harness's loopback: only the veth address.
if ip netns exec "$NS" bash -c "echo > /dev/tcp/127.0.0.1/$SIM_PORT" 2>/dev/null; then
  echo "the namespace reaches the host's loopback: not isolated" >&2
  exit 3
fi

export HARNESS_EVOLUTION_API_KEY=netns-key HARNESS_META_TOKEN=EAAHnetns
export HARNESS_META_APP_SECRET=netns-secret HARNESS_META_VERIFY_TOKEN=netns-verify
status=0
for provider in evolution meta; do
  ip netns exec "$NS" "$HARNESS" app --provider "$provider" --bind "$APP_IP" --port "$APP_PORT" \
    --provider-url "http://$HOST_IP:$SIM_PORT" >/dev/null 2>&1 &
  APP_PID=$!
  for _ in $(seq 50); do
    bash -c "echo > /dev/tcp/$APP_IP/$APP_PORT" 2>/dev/null && break
    sleep 0.1
  done
  out=$(mktemp -d)
  run=("$HARNESS" run e2e-booking --provider "$provider" --sim-port "$SIM_PORT" --bind 0.0.0.0
    --app-url "http://$APP_IP:$APP_PORT" --json "$out/r.json" -q)
  if "${run[@]}" --public-url "http://$HOST_IP:$SIM_PORT" >"$out/log" 2>&1; then
    echo "$provider: passed with the app in namespace $NS"
  else
    cat "$out/log" >&2
    echo "$provider: FAILED" >&2
    status=1
  fi
  if [ "$provider" = meta ] && "${run[@]}" >/dev/null 2>&1; then
    echo "meta: passed WITHOUT --public-url: the media URL did not depend on it" >&2
    status=1
  elif [ "$provider" = meta ]; then
    echo "meta: without --public-url the app cannot fetch the media (as expected)"
  fi
  rm -rf "$out"
  kill "$APP_PID" && wait "$APP_PID" 2>/dev/null || true
  APP_PID=
done
exit $status
