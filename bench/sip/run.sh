#!/usr/bin/env bash
# The SIP call benchmark, side by side in one run (docs/benchmarks.md): for each rate, the same
# sipp caller (caller_waits.xml) and sipp desk phone (phone_hangs_up.xml) first through Kamailio
# as a stateful proxy, then through Plugboard (plugboard-callload: queue, offer, ring, bridge,
# the phone hangs up, wrap-up). Prints one table row per run; a call succeeds only when the
# caller got the far end's BYE. Needs sipp (sip-tester), kamailio and a release build:
#   cargo build --release --bin plugboard --bin plugboard-callload
#   bash bench/sip/run.sh 100 200 400 800 1600 3200
# ONLY=kamailio or ONLY=plugboard runs one side; SECONDS_PER_RATE, TALK_MS, AGENTS tune a run.
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in sipp kamailio; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install sip-tester kamailio)"; exit 1; }
done
[ -x target/release/plugboard-callload ] || { echo "build first: cargo build --release --bin plugboard --bin plugboard-callload"; exit 1; }

seconds=${SECONDS_PER_RATE:-10}
talk_ms=${TALK_MS:-200}
agents=${AGENTS:-200}
scenarios=connectors/sip/tests/sipp
work=$(mktemp -d)
cleanup() {
  if [ -n "${kamailio_pid:-}" ]; then pkill -P "$kamailio_pid" || true; kill "$kamailio_pid" || true; fi 2>/dev/null
  if [ -n "${phone_pid:-}" ]; then kill "$phone_pid" || true; fi 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# CPU seconds of a process and its children so far (utime + stime of each).
cpu_of() {
  local total=0 pid
  for pid in "$1" $(pgrep -P "$1"); do
    total=$(awk -v t="$total" '{ print t + ($14 + $15) / 100 }' "/proc/$pid/stat" 2>/dev/null || echo "$total")
  done
  echo "$total"
}

# The last cumulative figure of a sipp statistics line.
count() { grep "$1" "$2" | tail -1 | awk -F'|' '{ gsub(/ /, "", $3); print $3 }'; }

kamailio_run() {
  local rate=$1 port=15060 phone=15062 caller=15064
  sed -e "s/@PORT@/$port/" -e "s/@PHONE@/$phone/" -e "s/@CALLER@/$caller/" \
    bench/sip/kamailio.cfg.in > "$work/kamailio.cfg"
  kamailio -f "$work/kamailio.cfg" -DD -E -m 1024 -M 32 -Y "$work" -P "$work/kamailio.pid" 2>"$work/kamailio.log" &
  kamailio_pid=$!
  sipp 127.0.0.1:$port -sf $scenarios/phone_hangs_up.xml -i 127.0.0.1 -p $phone -d "$talk_ms" \
    -nostdin >/dev/null 2>&1 &
  phone_pid=$!
  sleep 1
  local before calls=$((rate * seconds))
  before=$(cpu_of "$kamailio_pid")
  local start=$SECONDS
  sipp 127.0.0.1:$port -sf $scenarios/caller_waits.xml -i 127.0.0.1 -p $caller -s 100 -nostdin \
    -r "$rate" -m "$calls" -l $((agents * 4)) -recv_timeout 30s -timeout $((seconds * 3 + 30))s \
    -timeout_error -trace_err -error_file "$work/caller.err" >"$work/caller.out" 2>&1 || true
  local elapsed=$((SECONDS - start)) after
  after=$(cpu_of "$kamailio_pid")
  local rss
  rss=$(for p in "$kamailio_pid" $(pgrep -P "$kamailio_pid"); do grep VmRSS "/proc/$p/status" 2>/dev/null | awk '{print $2}'; done | awk '{s+=$1} END {printf "%.0f", s/1024}')
  local ok failed
  ok=$(count "Successful call" "$work/caller.out")
  failed=$(count "Failed call" "$work/caller.out")
  printf '| Kamailio | %s calls/s × %s s | %s ok, %s failed of %s | %s calls/s completed | CPU %.0f %% of one core | RSS %s MiB (all processes) |\n' \
    "$rate" "$seconds" "$ok" "$failed" "$calls" "$(( ok / (elapsed > 0 ? elapsed : 1) ))" \
    "$(awk -v a="$after" -v b="$before" -v e="$elapsed" 'BEGIN { print (a - b) / (e > 0 ? e : 1) * 100 }')" "$rss"
  grep -h -m3 -E "Aborting|Unexpected|timeout" "$work/caller.err" 2>/dev/null | sed 's/^/    kamailio run: /' >&2 || true
  kill "$phone_pid" 2>/dev/null || true; wait "$phone_pid" 2>/dev/null || true
  pkill -P "$kamailio_pid" 2>/dev/null || true; kill "$kamailio_pid" 2>/dev/null || true; wait "$kamailio_pid" 2>/dev/null || true
  kamailio_pid= phone_pid=
}

only=${ONLY:-both}
for rate in "${@:-100 200}"; do
  [ "$only" = plugboard ] || kamailio_run "$rate"
  [ "$only" = kamailio ] && continue
  PLUGBOARD_BIN=target/release/plugboard target/release/plugboard-callload \
    --agents "$agents" --rate "$rate" --seconds "$seconds" --talk-ms "$talk_ms" 2>"$work/callload.err" | sed 's/^| /| Plugboard | /'
done
