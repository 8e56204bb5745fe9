#!/usr/bin/env bash
# Email in and out, side by side with the floor in one run (see tests/src/bin/mailload.rs):
#
#   bash bench/email/run.sh               # 10,000 mails of about 10 KiB in, 1,000 out
#   MAILS=4000 REPLIES=500 bash bench/email/run.sh
#
# In: a real Dovecot (on a free loopback port, its own config) holds the mails; a plain IMAP client
# downloads them all before and after the hub takes them in (fetch, parse, thread, resolve,
# persist, route) on SQLite. Out: the hub sends new mails into the aiosmtpd sink beside a plain
# SMTP client sending as many straight to it. Needs what `bash .ci/install` installs. Records are
# appended to bench/email/results/latest.jsonl.
set -euo pipefail
cd "$(dirname "$0")/../.."

MAILS=${MAILS:-10000}
REPLIES=${REPLIES:-1000}
KB=${KB:-10}
OUT=bench/email/results/latest.jsonl
mkdir -p bench/email/results

cargo build --release --quiet --bin plugboard --bin plugboard-mailload
TARGET=${CARGO_TARGET_DIR:-target}
PLUGBOARD_BIN="$TARGET/release/plugboard" "$TARGET/release/plugboard-mailload" \
  --mails "$MAILS" --replies "$REPLIES" --kb "$KB" --json "$OUT"
