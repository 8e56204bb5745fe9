#!/usr/bin/env bash
# The wallboard under load: 1,000 agent consoles changing state (Available and Break, open loop)
# while 20 supervisors watch /ws/supervisor, on one hub (SQLite), per rate of state changes:
#
#   bash bench/wallboard/run.sh                  # rates 100 250 500
#   RATES="250" SECS=10 bash bench/wallboard/run.sh
#
# Per rate it prints plugboard-wallload's table row: changes due, sent, confirmed and in the hub's
# own presence log; boards per second each supervisor got; how many (change, supervisor) pairs
# were seen and how many missed; latency from the change's due time to the first board showing it
# (p50 / p99 / max); hub CPU and memory. Raw records are appended to
# bench/wallboard/results/latest.jsonl.
set -euo pipefail
cd "$(dirname "$0")/../.."

RATES=${RATES:-"100 250 500"}
SECS=${SECS:-20}
AGENTS=${AGENTS:-1000}
SUPERVISORS=${SUPERVISORS:-20}
OUT=bench/wallboard/results/latest.jsonl
mkdir -p bench/wallboard/results

cargo build --release --quiet --bin plugboard --bin plugboard-wallload
export PLUGBOARD_BIN="$PWD/target/release/plugboard"
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"

echo "# $(date -u +%F) $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $AGENTS agents, $SUPERVISORS supervisors, $SECS s a run"
for rate in $RATES; do
  target/release/plugboard-wallload --agents "$AGENTS" --supervisors "$SUPERVISORS" --rate "$rate" \
    --seconds "$SECS" --json "$OUT"
done
