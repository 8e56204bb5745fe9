#!/usr/bin/env python3
"""Loss and added jitter of the RTP the hub relays, from a loopback capture (tcpdump -i lo).

Part of the SIP call benchmark (plugboard-callload --media 1 --capture FILE). Every caller's
packet crosses the loopback twice: caller -> hub, then hub -> the agent's phone, unchanged (same
SSRC and sequence number); the phone's echo is a third copy. For each packet of each relayed
stream: lost if the hub never sent it on, else its forwarding delay. Per stream, the RFC 3550
interarrival jitter on the way in and on the way out; the added jitter is the difference.

usage: rtpstat.py capture.pcap
"""
import struct
import sys
from collections import defaultdict


def packets(path):
    with open(path, "rb") as f:
        header = f.read(24)
        magic, = struct.unpack("<I", header[:4])
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        nanos = magic in (0xA1B23C4D, 0x4D3CB2A1)
        linktype, = struct.unpack(endian + "I", header[20:24])
        offset = {1: 14, 113: 16, 276: 20}.get(linktype)
        if offset is None:
            sys.exit(f"unsupported link type {linktype}")
        while True:
            record = f.read(16)
            if len(record) < 16:
                return
            sec, frac, incl, _ = struct.unpack(endian + "IIII", record)
            data = f.read(incl)
            t = sec + frac / (1e9 if nanos else 1e6)
            ip = data[offset:]
            if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
                continue
            ihl = (ip[0] & 0x0F) * 4
            udp = ip[ihl:]
            sport, dport = struct.unpack(">HH", udp[:4])
            rtp = udp[8:]
            if len(rtp) < 12 or rtp[0] >> 6 != 2:
                continue
            pt = rtp[1] & 0x7F
            seq, ts, ssrc = struct.unpack(">HII", rtp[2:12])
            yield t, sport, dport, pt, seq, ts, ssrc


def jitter(arrivals):
    """RFC 3550 A.8 interarrival jitter in ms, for (arrival s, RTP timestamp) in send order."""
    j, prev = 0.0, None
    for t, ts in arrivals:
        if prev is not None:
            d = (t - prev[0]) * 8000 - (ts - prev[1])
            j += (abs(d) - j) / 16
        prev = (t, ts)
    return j / 8.0


def pct(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(p * (len(values) - 1) + 0.5))]


def main():
    seen = defaultdict(list)
    for t, sport, dport, pt, seq, ts, ssrc in packets(sys.argv[1]):
        if pt == 0:
            seen[(ssrc, seq)].append((t, ts))
    streams = defaultdict(lambda: ([], []))
    # Per stream, the sequence numbers between its first and last relayed packet: before the
    # bridge the caller talks over the music (nothing to relay), after a hang-up the leg is gone.
    window = {}
    for (ssrc, seq), copies in seen.items():
        if len(copies) >= 2:
            lo, hi = window.get(ssrc, (seq, seq))
            window[ssrc] = (min(lo, seq), max(hi, seq))
    lost = delays = 0
    delay_values = []
    for (ssrc, seq), copies in seen.items():
        if ssrc not in window or not window[ssrc][0] <= seq <= window[ssrc][1]:
            continue  # music (ours), rewritten echo, or outside the bridge
        copies.sort()
        streams[ssrc][0].append((seq, copies[0]))
        if len(copies) < 2:
            lost += 1
            continue
        streams[ssrc][1].append((seq, copies[1]))
        delay_values.append((copies[1][0] - copies[0][0]) * 1000)
        delays += 1
    added = []
    for ins, outs in streams.values():
        ins.sort()
        outs.sort()
        if len(outs) < 50:
            continue
        j_in = jitter([x for _, x in ins])
        j_out = jitter([x for _, x in outs])
        added.append(j_out - j_in)
    total = lost + delays
    print(f"relayed streams {len(streams)}, packets {total}, lost {lost} ({lost / max(total, 1) * 100:.3f} %)")
    print(f"forwarding delay ms: p50 {pct(delay_values, 0.5):.3f}, p99 {pct(delay_values, 0.99):.3f}, max {max(delay_values or [0]):.3f}")
    print(f"added jitter ms (RFC 3550, out - in, per stream): p50 {pct(added, 0.5):.3f}, p99 {pct(added, 0.99):.3f}, max {max(added or [0]):.3f}")


if __name__ == "__main__":
    main()
