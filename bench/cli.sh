#!/usr/bin/env bash
# Measures `tokentray token NAME` for a valid token against one
# `secret-tool lookup` of a keychain entry: 50 alternate runs each, medians
# and ratio, with the agent running and without. Targets: ratio <= 0.5 with
# the agent, <= 1.2 without. Runs itself inside .ci/desktop-session (a
# private bus and keyring) unless already in one.
#   bench/cli.sh [RUNS]
# TOKENTRAY=path/to/tokentray measures that build instead of a fresh one,
# e.g. to compare with an older commit.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${TOKENTRAY_DESKTOP_SESSION:-}" ]; then
  exec .ci/desktop-session "$0" "$@"
fi
runs=${1:-50}
work=$(mktemp -d)
server_pid="" agent_pid=""
cleanup() {
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

tt=${TOKENTRAY:-$work/tokentray}
# Built as the Makefile ships it.
[ -n "${TOKENTRAY:-}" ] || CGO_ENABLED=0 go build -o "$tt" ./cmd/tokentray
go build -o "$work/fakeserver" ./bench/fakeserver
echo "tokentray binary: $(stat -c %s "$tt") bytes"

mkfifo "$work/url"
echo bench-secret | "$work/fakeserver" bench-key >"$work/url" &
server_pid=$!
read -r url <"$work/url"
echo bench-secret | "$tt" add bench --url "$url" --client-key bench-key 2>/dev/null
"$tt" token bench >/dev/null # the token is valid from here on

# now_ns sets $ns to the wall clock in nanoseconds. Bash 5's EPOCHREALTIME
# costs no process, while $(date +%s%N) would add a fork and an exec (some
# milliseconds) to every sample and push both ratios towards 1.
if [ -n "${EPOCHREALTIME:-}" ]; then
  now_ns() { ns=${EPOCHREALTIME/[.,]/}000; }
else
  now_ns() { ns=$(date +%s%N); }
fi

# median prints the median of the numbers on stdin.
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# measure runs both commands alternately and prints the medians (ms) and
# their ratio.
measure() {
  local label=$1 i t0 t1 t2
  : >"$work/tt" && : >"$work/st"
  for ((i = 0; i < runs; i++)); do
    now_ns && t0=$ns
    "$tt" token bench >/dev/null
    now_ns && t1=$ns
    secret-tool lookup service tokentray username bench/token >/dev/null
    now_ns && t2=$ns
    echo $((t1 - t0)) >>"$work/tt"
    echo $((t2 - t1)) >>"$work/st"
  done
  local a b
  a=$(median <"$work/tt") b=$(median <"$work/st")
  awk -v l="$label" -v a="$a" -v b="$b" 'BEGIN {
    printf "%-14s tokentray token %6.2f ms   secret-tool lookup %6.2f ms   ratio %.2f\n", l, a/1e6, b/1e6, a/b }'
}

measure "without agent"
"$tt" agent >"$work/agent.log" 2>&1 &
agent_pid=$!
# The socket appears once the agent listens; a fresh session has no stale one.
for _ in $(seq 200); do
  [ -S "$XDG_RUNTIME_DIR/tokentray/agent.sock" ] && break
  sleep 0.05
done
[ -S "$XDG_RUNTIME_DIR/tokentray/agent.sock" ] || { cat "$work/agent.log"; exit 1; }
measure "with agent"
