#!/usr/bin/env bash
# Messaging webhooks: WhatsApp deliveries into the hub on SQLite beside the floor (a bare axum
# server that only checks the signature), in one run per rate (see tests/src/bin/hookload.rs):
#
#   bash bench/webhooks/run.sh              # rates 1000 2000 5000
#   RATES="2000" SECS=5 bash bench/webhooks/run.sh
#
# Records are appended to bench/webhooks/results/latest.jsonl (one object per server and rate).
set -euo pipefail
cd "$(dirname "$0")/../.."

RATES=${RATES:-"1000 2000 5000"}
SECS=${SECS:-8}
CUSTOMERS=${CUSTOMERS:-2000}
OUT=bench/webhooks/results/latest.jsonl
mkdir -p bench/webhooks/results

cargo build --release --quiet --bin plugboard --bin plugboard-hookload --bin plugboard-hookfloor
TARGET=${CARGO_TARGET_DIR:-target}
for rate in $RATES; do
  PLUGBOARD_BIN="$TARGET/release/plugboard" "$TARGET/release/plugboard-hookload" \
    --rate "$rate" --seconds "$SECS" --customers "$CUSTOMERS" --json "$OUT"
done
