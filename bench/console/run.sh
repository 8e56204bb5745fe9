#!/usr/bin/env bash
# The console under load (issue 12): Bob holds 200 open chats (real widgets, accepted through the
# router) and has 5,000 conversations in his inbox; input to next paint in Debian's Chromium for
# typing in the composer, sending a reply, switching conversation (click and Alt+↓), a customer's
# new line arriving, and switching inbox folder, ROUNDS times each, plus the console's load time:
#
#   bash bench/console/run.sh                      # 200 open, 5,000 in the inbox, 30 rounds
#   OPEN=50 INBOX=1000 ROUNDS=10 bash bench/console/run.sh
#   PROFILE=/tmp/console.cpuprofile bash bench/console/run.sh   # also a CPU profile of the page
#   TRACE=/tmp/console-trace.json bash bench/console/run.sh     # also a trace for DevTools
#   TRACE=/tmp/t.json TRACE_CATEGORIES=devtools.timeline,viz,cc bash bench/console/run.sh
#                                       # with the display compositor's side (why frames are not drawn)
#
# It prints a table (p50 / p95 / max per action, and Chromium's Event Timing entries) and appends
# one JSON record to bench/console/results/latest.jsonl. The hub is the debug build (it serves
# the console's files from disk) unless PLUGBOARD_BIN names another. Needs node, Debian's chromium
# and the sqlite3 shell; tests/browser's node modules (playwright-core) are installed with npm ci.
set -euo pipefail
cd "$(dirname "$0")/../.."

export PLUGBOARD_BIN=${PLUGBOARD_BIN:-$PWD/target/debug/plugboard}
[ -x "$PLUGBOARD_BIN" ] || cargo build --quiet --bin plugboard
[ -d tests/browser/node_modules/playwright-core ] || (cd tests/browser && npm ci --no-audit --no-fund)
command -v sqlite3 >/dev/null || { echo "the sqlite3 shell is needed (apt-get install sqlite3)" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || true

node bench/console/console.mjs
