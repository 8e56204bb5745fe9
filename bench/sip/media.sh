#!/usr/bin/env bash
# The media benchmark, desk phones and browsers side by side in one run (docs/benchmarks.md): for
# each rate, the same sipp caller (caller_talks.xml, PCMU both ways) into the same hub twice: once
# answered by sipp desk phones that echo what they hear (-rtp_echo), once by agents whose device is
# the browser, each call's audio a WebRTC leg (DTLS-SRTP, ICE) to a str0m peer in
# plugboard-callload that echoes the same way. Calls last 20 s, one every 1/rate s for 30 s, so
# rate × 20 are bridged at once, recorded. tcpdump captures the loopback and rtpstat.py follows
# every packet through the hub: lost, forwarding delay, added jitter, both ways. The hub's CPU
# per call is in plugboard-callload's row.
#
#   cargo build --release --bin plugboard --bin plugboard-callload
#   bash bench/sip/media.sh 5 10
#
# JSON=FILE makes plugboard-callload append its figures there; TALK_MS and SECONDS_PER_RATE tune a
# run; CAPTURES is where the captures are written (/dev/shm). Needs sipp and tcpdump (apt-get install sip-tester tcpdump), and root for the capture.
set -euo pipefail
cd "$(dirname "$0")/../.."

for tool in sipp tcpdump; do
  command -v "$tool" >/dev/null || { echo "missing $tool: apt-get install sip-tester tcpdump" >&2; exit 1; }
done
bin=${CARGO_TARGET_DIR:-target}/release
for b in plugboard plugboard-callload; do
  [ -x "$bin/$b" ] || { echo "missing $bin/$b; build first: cargo build --release --bin plugboard --bin plugboard-callload"; exit 1; }
done
talk_ms=${TALK_MS:-20000}
seconds=${SECONDS_PER_RATE:-30}
work=$(mktemp -d)
# The captures go to memory where there is some: written to disk, tcpdump dropped packets at
# 200 calls (counted as lost).
captures=${CAPTURES:-/dev/shm}
[ -d "$captures" ] || captures=$work
# Each hub's data directory (and its recordings) stays until the end: see plugboard-callload.
export TMPDIR=$work
trap 'rm -rf "$work"' EXIT
json=()
[ -z "${JSON:-}" ] || json=(--json "$JSON")

for rate in "$@"; do
  agents=$(( rate * (talk_ms / 1000 + 2) + 20 ))
  for device in desk browser; do
    capture=$captures/plugboard-media-$device-$rate.pcap
    echo "== $device, $rate calls/s, $agents agents" >&2
    PLUGBOARD_BIN=$bin/plugboard "$bin/plugboard-callload" --agents "$agents" --rate "$rate" \
      --seconds "$seconds" --talk-ms "$talk_ms" --media 1 --device "$device" --capture "$capture" "${json[@]}"
    python3 bench/sip/rtpstat.py "$capture" "$device, --rate $rate"
    rm -f "$capture"
  done
done
