"""Tests of rtpstat.py: python3 -m unittest discover -s bench/sip -p 'test_*.py'"""
import os
import struct
import tempfile
import unittest

import rtpstat
from rtpstat import Packet

IP = bytes([127, 0, 0, 1])
CALLER, HUB_CALLER, HUB_AGENT, PHONE = (IP, 4000), (IP, 30000), (IP, 30002), (IP, 6000)


def call(n=100, lost_to_agent=(), lost_to_caller=(), first_seq=65530):
    """One bridged call as the loopback sees it: the caller's packets into the hub and out to
    the phone 1 ms later, the phone's echo 0.5 ms after that, relayed to the caller 2 ms later
    rewritten (SSRC 999, sequence + 1234, timestamp + 5000); hold music to the caller before."""
    pkts = [Packet(0.5 + i * 0.02, HUB_CALLER, CALLER, 0, 1000 + i, i * 160, 999, b"music")
            for i in range(10)]
    for i in range(n):
        t, seq, ts, body = 1.0 + i * 0.02, (first_seq + i) % 65536, 7000 + i * 160, b"p%d" % i
        pkts.append(Packet(t, CALLER, HUB_CALLER, 0, seq, ts, 111, body))
        if i in lost_to_agent:
            continue
        pkts.append(Packet(t + 0.001, HUB_AGENT, PHONE, 0, seq, ts, 111, body))
        pkts.append(Packet(t + 0.0015, PHONE, HUB_AGENT, 0, seq, ts, 111, body))
        if i not in lost_to_caller:
            pkts.append(Packet(t + 0.0035, HUB_CALLER, CALLER, 0, (seq + 1234) % 65536,
                               (ts + 5000) % 2**32, 999, body))
    return pkts


LEG_ICE, BROWSER = (IP, 31000), (IP, 7000)
SHIFT = 3_000_000_000


def browser_call(n=100, lost_to_browser=(), lost_to_caller=()):
    """The same call with a browser agent: the hub's "phone" is its WebRTC leg (PHONE), which
    sends each packet on to the browser over SRTP 0.5 ms later (its own SSRC and sequence
    numbers, the same timestamp, an encrypted payload), and relays the browser's echo, sent
    0.5 ms after that with its timestamp shifted by SHIFT, to the call 0.5 ms later as plain RTP
    (its own SSRC and sequence numbers, the echo's timestamp), which the hub relays to the caller
    1 ms later."""
    pkts = []
    for p in call(n, lost_to_caller=lost_to_caller):
        if p.src == PHONE:
            i = (p.ts - 7000) // 160
            if i in lost_to_browser:
                continue
            ts = (p.ts + SHIFT) % 2**32
            pkts.append(Packet(p.t + 0.0005, BROWSER, LEG_ICE, 0, 40 + i, ts, 555, b"x%d" % (i * 7)))
            pkts.append(p._replace(t=p.t + 0.001, ssrc=777, seq=9000 + i, ts=ts))
        elif p.dst == PHONE:
            pkts.append(p)
            i = (p.ts - 7000) // 160
            if i not in lost_to_browser:
                pkts.append(Packet(p.t + 0.0005, LEG_ICE, BROWSER, 0, 300 + i, p.ts, 333, b"y%d" % i))
        else:
            pkts.append(p)
    return sorted(pkts, key=lambda p: p.t)


class Percentiles(unittest.TestCase):
    def test_nearest_rank(self):
        v = list(range(1, 101))
        self.assertEqual(rtpstat.pct(v, 0.5), 50)
        self.assertEqual(rtpstat.pct(v, 0.99), 99)
        self.assertEqual(rtpstat.pct(v, 0.07), 7)
        self.assertEqual(rtpstat.pct(v, 1.0), 100)
        self.assertEqual(rtpstat.pct([3], 0.99), 3)
        self.assertTrue(rtpstat.pct([], 0.5) != rtpstat.pct([], 0.5))  # NaN


class Jitter(unittest.TestCase):
    def test_a_steady_stream_has_none(self):
        series = rtpstat.jitter_series([(i * 0.02, i * 160) for i in range(50)])
        self.assertEqual(len(series), 50)
        self.assertLess(max(series), 1e-9)

    def test_rfc3550_estimator_by_hand(self):
        # The third packet 10 ms late: transit changes by +80, then -80 samples.
        series = rtpstat.jitter_series([(0.0, 0), (0.02, 160), (0.05, 320), (0.06, 480)])
        self.assertAlmostEqual(series[2], 80 / 16 / 8)
        self.assertAlmostEqual(series[3], (5 + (80 - 5) / 16) / 8)

    def test_timestamps_wrap(self):
        series = rtpstat.jitter_series([(0.0, 2**32 - 160), (0.02, 0), (0.04, 160)])
        self.assertLess(max(series), 1e-9)


class Directions(unittest.TestCase):
    def test_both_directions_of_a_call(self):
        calls, d = rtpstat.analyse(call(lost_to_agent={50}, lost_to_caller={70}))
        self.assertEqual(calls, 1)
        to_agent, to_caller = d["caller → agent"], d["agent → caller"]
        self.assertEqual((to_agent.into, to_agent.relayed, to_agent.lost), (100, 99, 1))
        for ms in to_agent.delay:
            self.assertAlmostEqual(ms, 1.0, places=6)
        # The packet lost on the way to the phone was never echoed: 99 came back into the hub.
        self.assertEqual((to_caller.into, to_caller.relayed, to_caller.lost), (99, 98, 1))
        for ms in to_caller.delay:
            self.assertAlmostEqual(ms, 2.0, places=6)
        # Constant delays: nothing added (the lost packets' gaps are in and out alike).
        self.assertLess(max(abs(a) for a in to_agent.added + to_caller.added), 1e-6)
        self.assertEqual(len(to_agent.jitter_in), 99 - rtpstat.SETTLE)

    def test_jitter_the_hub_adds_shows(self):
        pkts = call()
        # Every other packet to the phone leaves 4 ms later than the rest.
        late = [p._replace(t=p.t + 0.004 * (p.seq % 2)) if p.src == HUB_AGENT else p for p in pkts]
        _, d = rtpstat.analyse(late)
        added = d["caller → agent"].added
        self.assertGreater(rtpstat.pct(added, 0.5), 1.0)
        self.assertLess(abs(rtpstat.pct(d["caller → agent"].jitter_in, 0.99)), 1e-6)

    def test_a_browser_agents_call_is_followed_through_its_webrtc_leg(self):
        calls, d = rtpstat.analyse(browser_call(lost_to_browser={30}, lost_to_caller={70}))
        self.assertEqual(calls, 1)
        to_agent, to_caller = d["caller → agent"], d["agent → caller"]
        # Lost between the leg and the browser: counted, since the browser is the far end.
        self.assertEqual((to_agent.into, to_agent.relayed, to_agent.lost), (100, 99, 1))
        for ms in to_agent.delay:
            self.assertAlmostEqual(ms, 1.5, places=6)
        self.assertEqual((to_caller.into, to_caller.relayed, to_caller.lost), (99, 98, 1))
        for ms in to_caller.delay:
            self.assertAlmostEqual(ms, 1.5, places=6)
        self.assertLess(max(abs(a) for a in to_agent.added + to_caller.added), 1e-6)

    def test_the_greeting_before_the_agent_is_heard_is_not_loss(self):
        # The hub's greeting goes to the caller for the first 30 echoes (one of its packets
        # happens to carry the same silence as the echo it stands in for), then the relay starts.
        pkts = []
        for p in call():
            i = (p.ts - 5000 - 7000) // 160
            if p.src == HUB_CALLER and p.ssrc == 999 and p.payload != b"music" and 0 <= i < 30:
                p = p._replace(payload=b"p10" if i == 10 else b"greeting")
            pkts.append(p)
        _, d = rtpstat.analyse(pkts)
        to_caller = d["agent → caller"]
        self.assertEqual((to_caller.into, to_caller.relayed, to_caller.lost), (70, 70, 0))

    def test_the_shift_without_payloads_falls_back_to_the_first_packets(self):
        pkts = [p._replace(payload=b"") for p in call()]
        _, d = rtpstat.analyse(pkts)
        self.assertEqual(d["agent → caller"].relayed, 100)
        self.assertEqual(rtpstat.shift([], []), None)


class Capture(unittest.TestCase):
    def test_reads_a_pcap(self):
        rtp = struct.pack(">BBHII", 0x80, 0, 65535, 123456, 0xDEADBEEF) + b"\xff" * 4
        udp = struct.pack(">HHHH", 4000, 30000, 8 + len(rtp), 0) + rtp
        ip = bytes([0x45, 0]) + struct.pack(">H", 20 + len(udp)) + bytes(5) + bytes([17]) + bytes(2) + IP + IP
        frame = bytes(12) + b"\x08\x00" + ip + udp
        with tempfile.NamedTemporaryFile(suffix=".pcap", delete=False) as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 96, 1))
            f.write(struct.pack("<IIII", 10, 250000, len(frame), len(frame)) + frame)
            f.write(struct.pack("<IIII", 10, 260000, 20, 20) + frame[:20])  # not RTP: skipped
        try:
            got = list(rtpstat.packets(f.name))
        finally:
            os.unlink(f.name)
        self.assertEqual(got, [Packet(10.25, (IP, 4000), (IP, 30000), 0, 65535, 123456, 0xDEADBEEF, b"\xff" * 4)])


if __name__ == "__main__":
    unittest.main()
