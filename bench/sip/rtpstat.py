#!/usr/bin/env python3
"""Loss, forwarding delay and jitter of the RTP the hub relays, both ways, from a loopback capture.

Part of the SIP call benchmark (plugboard-callload --media 1 --capture FILE, tcpdump -i lo). Each
call has two legs anchored on the hub, and each packet is seen on the loopback as it enters the
hub and as it leaves:

- caller -> agent: the caller's packet to the hub's caller-leg port, then the same packet (same
  SSRC and sequence number) from the hub's agent-leg port to the desk phone;
- agent -> caller: the desk phone echoes what it hears (sipp -rtp_echo) to the hub's agent-leg
  port, and the hub relays it to the caller rewritten into the caller's one continuous stream
  (its own SSRC, sequence numbers and timestamps shifted by a constant). Which input packet an
  output packet is comes from the payload (unchanged by the relay): the shift most pairs of
  identical payloads agree on.

A browser agent's call has one more hop each way: the hub's "phone" is its own WebRTC leg, which
sends each packet on to the browser over SRTP and gets the browser's echo back the same way
(plugboard-callload --device browser). SRTP leaves the RTP header in the clear and the leg keeps
each packet's RTP timestamp both ways. The benchmark's browser echoes with the timestamp shifted
by a constant of its own (sipp's callers share one clock, so unshifted timestamps would not tell
calls apart), so the SRTP flow a call's echo came in on is the one whose timestamps the leg's
plain copies carry, and its reverse is the flow to that browser. A packet is then followed
through the leg by its timestamp: caller -> hub -> (leg) -> browser, and browser -> (leg) -> hub
-> caller. The figures are the hub's whole way, WebRTC leg included.

Which flow is which is read from the packets themselves: for every caller packet seen twice, the
first copy is caller -> hub and the second hub -> phone, so the hub's two ports and both peers of
each call are known, and the other direction is the reverse flows. An echo packet is relayed
when the caller's stream has its payload at the shifted sequence number (the hub plays its
greeting to the caller before the agent is heard; the benchmark's caller says that same greeting,
so the shift is the one most packets agree on, and calls must outlast the greeting). Per
direction, over the span from the first of 5 packets relayed in a row (silence in the greeting
can look relayed) to the last packet the hub relayed: packets in, relayed, lost (went in, never came
out); forwarding delay (out - in); the RFC 3550 A.8 interarrival jitter estimate of the stream
going in and of the stream coming out at every packet (the first 16 packets of a stream, while
the 1/16-gain estimator settles, are left out), and the jitter the hub added at each packet (the
out estimate minus the in estimate at the same packet). Each as p50 / p99 / max over all packets
of all calls.

usage: rtpstat.py capture.pcap [LABEL]   (LABEL starts each row, e.g. "--rate 10")
"""
import math
import struct
import sys
from collections import Counter, defaultdict, namedtuple

# src and dst are (ip bytes, port); payload is what the capture kept of the RTP payload.
Packet = namedtuple("Packet", "t src dst pt seq ts ssrc payload")

PCMU = 0
CLOCK = 8000
SETTLE = 16
RUN = 5


def packets(path):
    """Every RTP-looking UDP/IPv4 packet of a pcap file, in capture order."""
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
            if len(udp) < 8:
                continue
            sport, dport = struct.unpack(">HH", udp[:4])
            rtp = udp[8:]
            if len(rtp) < 12 or rtp[0] >> 6 != 2:
                continue
            pt = rtp[1] & 0x7F
            seq, ts, ssrc = struct.unpack(">HII", rtp[2:12])
            cc = rtp[0] & 0x0F
            payload = bytes(rtp[12 + 4 * cc:])
            yield Packet(t, (bytes(ip[12:16]), sport), (bytes(ip[16:20]), dport), pt, seq, ts, ssrc, payload)


def jitter_series(arrivals):
    """RFC 3550 A.8: the interarrival jitter estimate in ms after each packet, for
    (arrival time s, RTP timestamp) pairs in order of arrival."""
    j, prev, out = 0.0, None, []
    for t, ts in arrivals:
        if prev is not None:
            transit_change = (t - prev[0]) * CLOCK - ((ts - prev[1] + 2**31) % 2**32 - 2**31)
            j += (abs(transit_change) - j) / 16
        out.append(j * 1000 / CLOCK)
        prev = (t, ts)
    return out


def pct(values, p):
    """Nearest-rank percentile (p in 0..1) of a list; NaN when empty."""
    if not values:
        return float("nan")
    values = sorted(values)
    rank = math.ceil(round(p * len(values), 9))
    return values[max(1, min(len(values), rank)) - 1]


class Direction:
    def __init__(self):
        self.into = 0       # packets into the hub, inside the relayed span
        self.relayed = 0
        self.lost = 0
        self.delay = []     # ms
        self.jitter_in = []
        self.jitter_out = []
        self.added = []

    def add(self, ins, match):
        """`ins`: one call's packets into the hub in arrival order; `match`: in packet -> its out
        packet or None."""
        pairs = [(p, match(p)) for p in ins]
        relayed = [i for i, (_, q) in enumerate(pairs) if q is not None]
        if not relayed:
            return
        # The relay starts with the first of RUN packets relayed in a row: before it the caller
        # hears the hub's greeting, and a packet of silence there can look like a relayed one.
        ok = [q is not None for _, q in pairs]
        start = next((i for i in relayed if all(ok[i:i + RUN])), relayed[0])
        span = pairs[start:relayed[-1] + 1]
        self.into += len(span)
        done = [(p, q) for p, q in span if q is not None]
        self.relayed += len(done)
        self.lost += len(span) - len(done)
        self.delay += [(q.t - p.t) * 1000 for p, q in done]
        j_in = jitter_series([(p.t, p.ts) for p, _ in done])
        by_out = sorted(range(len(done)), key=lambda i: done[i][1].t)
        j_out_sorted = jitter_series([(done[i][1].t, done[i][1].ts) for i in by_out])
        j_out = [0.0] * len(done)
        for rank, i in enumerate(by_out):
            j_out[i] = j_out_sorted[rank]
        self.jitter_in += j_in[SETTLE:]
        self.jitter_out += j_out_sorted[SETTLE:]
        self.added += [j_out[i] - j_in[i] for i in range(SETTLE, len(done))]


def shift(ins, outs):
    """The constant the hub added to the sequence numbers of the echo it relayed: the one most
    (in, out) pairs with the same payload agree on, out after in by less than a second; else
    the first out packet is the first in packet."""
    by_payload = defaultdict(list)
    for p in ins:
        if p.payload:
            by_payload[p.payload].append(p)
    votes = Counter()
    for q in outs:
        for p in by_payload.get(q.payload, ()):
            if 0 <= q.t - p.t < 1.0:
                votes[(q.seq - p.seq) % 65536] += 1
    if votes:
        return votes.most_common(1)[0][0]
    return (outs[0].seq - ins[0].seq) % 65536 if ins and outs else None


def first_by_ts(flow):
    """A flow's packets by RTP timestamp, the first of each."""
    out = {}
    for q in flow:
        out.setdefault(q.ts, q)
    return out


def after(q, p):
    """`q` if it left after `p` came in (within 5 s), else None."""
    return q if q is not None and 0 <= q.t - p.t < 5.0 else None


def srtp_index(flows, in_calls):
    """The flows no call's plain legs explain (the WebRTC legs' SRTP, whose headers are in the
    clear), as RTP timestamp -> [(flow, packet)]."""
    index = defaultdict(list)
    for key, flow in flows.items():
        if key not in in_calls:
            for q in flow:
                index[q.ts].append((key, q))
    return index


def browser_flows(echo, srtp):
    """A WebRTC leg's two SRTP flows, (to the browser, from it), found by the browser's echo: the
    leg relays it to the call with the timestamps it came with, which the benchmark's browser
    shifted by a constant of that call's own. The flow that carried most of `echo`'s timestamps
    within 50 ms before it is the one from the browser; None for a desk phone's call."""
    votes = Counter()
    for q in echo:
        for key, r in srtp.get(q.ts, ()):
            if 0 <= q.t - r.t < 0.05:
                votes[key] += 1
    if not votes:
        return None
    key, n = votes.most_common(1)[0]
    return ((key[1], key[0]), key) if n * 2 >= len(echo) else None


def analyse(pkts):
    """Per direction, the figures over every call found in the packets."""
    pcmu = sorted((p for p in pkts if p.pt == PCMU), key=lambda p: p.t)
    flows = defaultdict(list)
    copies = defaultdict(list)
    for p in pcmu:
        flows[(p.src, p.dst)].append(p)
        copies[(p.ssrc, p.seq, p.ts)].append(p)
    # A caller's packet seen twice: caller -> hub, then hub -> phone. Each call's flows are the
    # pair most of its packets agree on (sipp gives some calls the same SSRC, so the key is the
    # whole of SSRC, sequence number and timestamp).
    votes = Counter()
    for cs in copies.values():
        if len(cs) >= 2:
            votes[((cs[0].src, cs[0].dst), (cs[1].src, cs[1].dst))] += 1
    calls = {}
    for (into, out), n in votes.items():
        if n > calls.get(into, (None, 0))[1]:
            calls[into] = (out, n)
    to_agent, to_caller = Direction(), Direction()
    in_calls = set()
    for (caller, hub_caller), ((hub_agent, phone), _) in calls.items():
        in_calls.update([(caller, hub_caller), (hub_caller, caller), (hub_agent, phone), (phone, hub_agent)])
    srtp = srtp_index(flows, in_calls)
    for (caller, hub_caller), ((hub_agent, phone), _) in calls.items():
        ins, outs = flows[(caller, hub_caller)], flows[(hub_agent, phone)]
        first_out = {}
        for q in outs:
            first_out.setdefault((q.ssrc, q.seq, q.ts), q)
        # A browser agent: the phone is the hub's own WebRTC leg, which sends each packet on to
        # the browser over SRTP and gets the browser's echo back the same way.
        browser = browser_flows(flows.get((phone, hub_agent), []), srtp)

        def forwarded(p, first_out=first_out):
            q = first_out.get((p.ssrc, p.seq, p.ts))
            return q if q is not None and q.t >= p.t else None

        if browser is None:
            to_agent.add(ins, forwarded)
        else:
            to_browser = first_by_ts(flows[browser[0]])
            to_agent.add(ins, lambda p, b=to_browser: after(b.get(p.ts), p))
        # The other way: the phone's echo in, the caller's stream out once bridged (before the
        # first packet to the phone the hub was playing its own music to the caller).
        bridged = outs[0].t if outs else float("inf")
        echo = flows.get((phone, hub_agent), [])
        back = [q for q in flows.get((hub_caller, caller), []) if q.t >= bridged]
        k = shift(echo, back)
        if k is None:
            continue
        by_seq = {}
        for q in back:
            by_seq.setdefault(q.seq, q)

        # The relay leaves payloads as they are: a packet of the caller's stream with another
        # payload is something else the hub played (a greeting the agent was held back for).
        def returned(p, by_seq=by_seq, k=k):
            q = by_seq.get((p.seq + k) % 65536)
            return after(q, p) if q is not None and q.payload == p.payload else None

        if browser is None:
            to_caller.add(echo, returned)
        else:
            # The browser's echo into the leg, the leg's plain copy (same timestamp) to the call,
            # and that copy's way on to the caller.
            from_leg = first_by_ts(echo)

            def relayed(p, from_leg=from_leg, returned=returned):
                copy = after(from_leg.get(p.ts), p)
                return copy and after(returned(copy), p)

            to_caller.add(flows[browser[1]], relayed)
    return len(calls), {"caller → agent": to_agent, "agent → caller": to_caller}


def spread(values):
    return f"{pct(values, 0.5):.3f} / {pct(values, 0.99):.3f} / {max(values, default=float('nan')):.3f}"


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.strip().splitlines()[-1])
    label = f"{sys.argv[2]}, " if len(sys.argv) == 3 else ""
    calls, directions = analyse(packets(sys.argv[1]))
    print(f"calls found in the capture: {calls}")
    print("| run, direction | packets into the hub | relayed | lost | forwarding delay p50 / p99 / max ms "
          "| jitter in p50 / p99 / max ms | jitter out p50 / p99 / max ms | added jitter p50 / p99 / max ms |")
    print("|---|---|---|---|---|---|---|---|")
    for name, d in directions.items():
        lost = f"{d.lost} ({d.lost / max(d.into, 1) * 100:.3f} %)"
        print(f"| {label}{name} | {d.into:,} | {d.relayed:,} | {lost} | {spread(d.delay)} | {spread(d.jitter_in)} "
              f"| {spread(d.jitter_out)} | {spread(d.added)} |")


if __name__ == "__main__":
    main()
