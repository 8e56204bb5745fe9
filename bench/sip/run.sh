#!/usr/bin/env bash
# The SIP call benchmark, side by side in one run (docs/benchmarks.md): for each rate, the same
# sipp caller (caller_waits.xml) and sipp desk phone (phone_hangs_up.xml) first through Kamailio
# as a stateful proxy, then through Plugboard (plugboard-callload: queue, offer, ring, bridge,
# the phone hangs up, wrap-up). Prints one table row per run.
#
# What counts, on both sides: a call an agent answered. Through Kamailio that is a caller whose
# INVITE got the desk phone's 200 and then its BYE (a proxy never hangs up by itself); through
# Plugboard, a call the hub's own records show accepted by an agent and ended with talk time (the
# hub also hangs up on callers it could not queue, so a BYE alone proves nothing). Each call
# dials from its own number (an -inf file) and sipp logs its INVITE's time: "dialled → answered"
# starts there. sipp is never capped in calls in flight (-l is the whole run), so every rate is
# offered in full; the row says how many INVITEs went out, at what rate, and how far sipp itself
# fell behind.
#
#   cargo build --release --bin plugboard --bin plugboard-callload
#   bash bench/sip/run.sh 100 200 400 800 1600 3200
#
# NODES=2 adds, after each rate's single SQLite hub, one node and then two nodes as one site on
# PostgreSQL and Redis (PLUGBOARD_TEST_POSTGRES, PLUGBOARD_TEST_REDIS) behind Kamailio configured
# as deploy/kamailio.cfg, phones registering and calls arriving through it.
# CALLERS="udp tcp tls" runs Plugboard once per transport of the carrier's calls (plugboard-callload
# --caller; TLS through socat, as sipp has no TLS), to set the TLS call-setup rate beside UDP's.
# ONLY=kamailio or ONLY=plugboard runs one side; SECONDS_PER_RATE, TALK_MS, AGENTS tune a run;
# JSON=FILE makes plugboard-callload append its figures there. The binaries are taken from
# $CARGO_TARGET_DIR/release (target/release by default). Needs sipp (sip-tester) and kamailio:
# installed with apt-get when missing and run as root, otherwise the script says what to install.
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
command -v sipp >/dev/null || missing+=(sip-tester)
command -v kamailio >/dev/null || missing+=(kamailio)
case " ${CALLERS:-} " in *" tls "*) command -v socat >/dev/null || missing+=(socat) ;; esac
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${missing[*]}" >&2
    apt-get install -y "${missing[@]}" >/dev/null || { apt-get update >/dev/null && apt-get install -y "${missing[@]}" >/dev/null; }
  else
    echo "missing ${missing[*]}: apt-get install ${missing[*]}" >&2; exit 1
  fi
fi
bin=${CARGO_TARGET_DIR:-target}/release
for b in plugboard plugboard-callload; do
  [ -x "$bin/$b" ] || { echo "missing $bin/$b; build first: cargo build --release --bin plugboard --bin plugboard-callload"; exit 1; }
done

seconds=${SECONDS_PER_RATE:-10}
talk_ms=${TALK_MS:-200}
agents=${AGENTS:-200}
scenarios=$PWD/connectors/sip/tests/sipp
work=$(mktemp -d)
# Each hub's data directory (and its recordings) stays until the end: see plugboard-callload.
export TMPDIR=$work
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

kamailio_run() {
  local rate=$1 port=15060 phone=15062 caller=15064 calls=$(($1 * seconds))
  sed -e "s/@PORT@/$port/" -e "s/@PHONE@/$phone/" -e "s/@CALLER@/$caller/" \
    bench/sip/kamailio.cfg.in > "$work/kamailio.cfg"
  kamailio -f "$work/kamailio.cfg" -DD -E -m 1024 -M 32 -Y "$work" -P "$work/kamailio.pid" >"$work/kamailio.log" 2>&1 &
  kamailio_pid=$!
  sipp 127.0.0.1:$port -sf "$scenarios/phone_hangs_up.xml" -i 127.0.0.1 -p $phone -d "$talk_ms" \
    -nostdin >/dev/null 2>&1 &
  phone_pid=$!
  sleep 1
  "$bin/plugboard-callload" --injection-file "$work/calls.csv" --rate "$rate" --seconds "$seconds"
  rm -f "$work/caller.log"
  local before start
  before=$(cpu_of "$kamailio_pid")
  start=$(date +%s.%N)
  (cd "$work" && sipp 127.0.0.1:$port -sf "$scenarios/caller_waits.xml" -inf calls.csv \
    -trace_logs -log_file caller.log -i 127.0.0.1 -p $caller -s 100 -nostdin \
    -r "$rate" -m "$calls" -l "$calls" -recv_timeout 30s -timeout $((seconds * 3 + 30))s \
    -timeout_error -trace_err -error_file caller.err >caller.out 2>&1) || true
  local elapsed after rss cells answered
  elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { print e - s }')
  after=$(cpu_of "$kamailio_pid")
  rss=$(for p in "$kamailio_pid" $(pgrep -P "$kamailio_pid"); do grep VmRSS "/proc/$p/status" 2>/dev/null | awk '{print $2}'; done | awk '{s+=$1} END {printf "%.0f", s/1024}')
  cells=$("$bin/plugboard-callload" --summarise-log "$work/caller.log" --rate "$rate" --seconds "$seconds")
  answered=$(awk -F'|' '{ gsub(/ /, "", $3); print $3 }' <<< "$cells")
  printf '| Kamailio, %s calls/s × %s s, %s ms talk %s %.0f %% of one core, %.2f ms per answered call | %s MiB (all processes) |\n' \
    "$rate" "$seconds" "$talk_ms" "$cells" \
    "$(awk -v a="$after" -v b="$before" -v e="$elapsed" 'BEGIN { print (a - b) / e * 100 }')" \
    "$(awk -v a="$after" -v b="$before" -v n="$answered" 'BEGIN { print (a - b) * 1000 / (n > 0 ? n : 1) }')" "$rss"
  grep -h -m3 -E "Aborting|Unexpected|timeout" "$work/caller.err" 2>/dev/null | sed 's/^/    kamailio run: /' >&2 || true
  kill "$phone_pid" 2>/dev/null || true; wait "$phone_pid" 2>/dev/null || true
  pkill -P "$kamailio_pid" 2>/dev/null || true; kill "$kamailio_pid" 2>/dev/null || true; wait "$kamailio_pid" 2>/dev/null || true
  kamailio_pid= phone_pid=
}

only=${ONLY:-both}
json=()
[ -n "${JSON:-}" ] && json=(--json "$JSON")
rates=("$@")
[ ${#rates[@]} -gt 0 ] || rates=(100 200)
for rate in "${rates[@]}"; do
  [ "$only" = plugboard ] || kamailio_run "$rate"
  [ "$only" = kamailio ] && continue
  sites=()
  for caller in ${CALLERS:-udp}; do sites+=("--nodes 1 --caller $caller"); done
  [ -n "${NODES:-}" ] && sites+=("--shared 1" "--nodes $NODES")
  for site in "${sites[@]}"; do
    # shellcheck disable=SC2086 # $site is several words on purpose
    PLUGBOARD_BIN=$bin/plugboard "$bin/plugboard-callload" "${json[@]}" $site \
      --agents "$agents" --rate "$rate" --seconds "$seconds" --talk-ms "$talk_ms" 2>"$work/callload.err" | sed 's/^| /| Plugboard, /' \
      || { echo "plugboard-callload failed:" >&2; tail -20 "$work/callload.err" >&2; }
  done
done
