#!/usr/bin/env bash
# Chat messages through the hub beside the durable websocket floor (../shared/bench/ws-floor), in
# one run, at the same rates, with the same number of conversations, on the same two cores:
#
#   bash bench/chat/run.sh                 # rates 4000 8000 10000
#   RATES="4000" SECS=10 bash bench/chat/run.sh
#
# The floor is a plain relay that group-commits each message to SQLite before its ack; it runs
# with --sync full, as the hub does (an fsync per commit: what was acked survives a power cut).
# Per rate it prints the floor's RESULT line and the hub's table row, then the ratio of server
# CPU per delivered message (the issue's target: the hub at most twice the floor). Raw records are
# appended to bench/chat/results/latest.jsonl (one JSON object per run of either).
set -euo pipefail
cd "$(dirname "$0")/../.."

RATES=${RATES:-"4000 8000 10000"}
SECS=${SECS:-20}
PAIRS=${PAIRS:-2000}
AGENTS=${AGENTS:-200}
PORT=${PORT:-9311}
FLOOR=${FLOOR:-../shared/bench/ws-floor}
WORK=$(mktemp -d /tmp/plugboard-chat-bench.XXXXXX)
OUT=bench/chat/results/latest.jsonl
mkdir -p bench/chat/results

cargo build --release --quiet --bin plugboard --bin plugboard-load
CARGO_TARGET_DIR="$PWD/target/ws-floor" cargo build --release --quiet --manifest-path "$FLOOR/Cargo.toml"
SRV=target/ws-floor/release/ws-floor-server
LOAD=target/ws-floor/release/ws-floor-load
export PLUGBOARD_BIN="$PWD/target/release/plugboard"
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"

echo "# $(date -u +%F) $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), $PAIRS conversations, $SECS s a run"
for rate in $RATES; do
  rm -f "$WORK"/floor.db*
  "$SRV" --mode durable --sync full --port "$PORT" --db "$WORK/floor.db" --read-buf 4096 2> "$WORK/floor.log" &
  srv=$!
  for _ in $(seq 100); do grep -q listening "$WORK/floor.log" && break; sleep 0.05; done
  floor=$(timeout -k 5 $((SECS + 150)) "$LOAD" --pairs "$PAIRS" --rate "$rate" --secs "$SECS" --port "$PORT" \
            --server-pid "$srv" --label "floor-$rate" 2> "$WORK/floor-load.log" | grep '^RESULT ' | sed 's/^RESULT //' || true)
  kill -TERM "$srv" 2>/dev/null || true; wait "$srv" 2>/dev/null || true
  echo "floor $rate/s: $floor"
  [ -n "$floor" ] && echo "$floor" >> "$OUT"

  hub=$(timeout -k 5 $((SECS + 300)) target/release/plugboard-load --widgets "$PAIRS" --agents "$AGENTS" \
          --rate "$rate" --seconds "$SECS" --json "$WORK/hub.jsonl" 2> "$WORK/hub-load.log" | grep '^|' || true)
  echo "hub   $rate/s: $hub"
  tail -n1 "$WORK/hub.jsonl" >> "$OUT" 2>/dev/null || true
  python3 - "$floor" "$(tail -n1 "$WORK/hub.jsonl" 2>/dev/null)" <<'PY'
import json, sys
try:
    f, h = json.loads(sys.argv[1]), json.loads(sys.argv[2])
except Exception:
    print("ratio: a run failed; logs in the work directory"); sys.exit()
fu, hu = f.get("server_cpu_us_per_msg"), h.get("hub_cpu_us_per_msg")
print(f"ratio: hub {hu:.0f} µs/msg vs floor {fu:.0f} µs/msg = {hu / fu:.2f}x; "
      f"p99 hub {h['latency_p99_us'] / 1000:.1f} ms vs floor {f.get('lat_p99_ms')} ms")
PY
done
echo "logs: $WORK"
