#!/usr/bin/env python3
"""Writes the committed seed corpus (fuzz/corpus/TARGET/) from the test fixtures and the protocol
examples: each target starts from inputs that reach deep into what it reads. Run from fuzz/."""
import hashlib
import hmac
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def write(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def files(folder, ext):
    d = os.path.join(ROOT, folder)
    for n in sorted(os.listdir(d)):
        if n.endswith(ext):
            with open(os.path.join(d, n), "rb") as f:
                yield f.read()


OFFER = ("v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n"
         "m=audio 30000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n")
SRTP_OFFER = ("v=0\r\no=- 2 2 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n"
              "m=audio 30000 RTP/SAVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
              "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n")
HOLD = OFFER.replace("a=sendrecv", "a=sendonly")


def sip(method, uri, extra="", body="", cseq=1, branch="z9hG4bK1", call="c1@198.51.100.7"):
    return (f"{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7:5060;branch={branch}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:+15551234567@198.51.100.7>;tag=a1\r\n"
            f"To: <{uri}>\r\nCall-ID: {call}\r\nCSeq: {cseq} {method}\r\n"
            f"Contact: <sip:caller@198.51.100.7:5060>\r\n{extra}"
            f"Content-Length: {len(body.encode())}\r\n\r\n{body}")


invite = sip("INVITE", "sip:100@127.0.0.1", "Content-Type: application/sdp\r\n", OFFER)
ivr = sip("INVITE", "sip:200@127.0.0.1", "Content-Type: application/sdp\r\n", OFFER, call="c2")
register = sip("REGISTER", "sip:127.0.0.1", "Expires: 3600\r\n").replace("sip:127.0.0.1>", "sip:1001@127.0.0.1>")
options = sip("OPTIONS", "sip:127.0.0.1")
ack = sip("ACK", "sip:100@127.0.0.1", cseq=1)
bye = sip("BYE", "sip:caller@127.0.0.1", cseq=2, branch="z9hG4bK2")
cancel = sip("CANCEL", "sip:100@127.0.0.1", branch="z9hG4bK1")
compact = ("INVITE sip:100@127.0.0.1 SIP/2.0\r\nv: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKc\r\n"
           "f: <sip:a@b>;tag=1\r\nt: <sip:100@127.0.0.1>\r\ni: compact@x\r\nCSeq: 1 INVITE\r\n"
           "m: <sip:a@198.51.100.7>\r\nc: application/sdp\r\nl: " + str(len(OFFER)) + "\r\n\r\n" + OFFER)
response = ("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx\r\n"
            "From: <sip:hub@127.0.0.1>;tag=h\r\nTo: <sip:1001@127.0.0.1>;tag=p\r\nCall-ID: leg@127.0.0.1\r\n"
            "CSeq: 1 INVITE\r\nContact: <sip:1001@127.0.0.1:5062>\r\nContent-Type: application/sdp\r\n"
            f"Content-Length: {len(OFFER)}\r\n\r\n{OFFER}")
# First byte: bits 0-1 the transport (0, 1 UDP; 2 TCP; 3 TLS), bit 2 from the trunk.
for m in [invite, ivr, register, options, compact, response, cancel]:
    write("sip_message", b"\x00" + m.encode())
    write("sip_message", b"\x04" + m.encode())
write("sip_message", b"\x06" + (invite + ack + bye).encode())
write("sip_message", b"\x07" + ("\r\n\r\n" + ivr + ack).encode())
write("sip_message", b"\x06" + (invite + cancel).encode())
write("sip_message", b"\x07" + sip("INVITE", "sip:100@127.0.0.1", "Content-Type: application/sdp\r\n", SRTP_OFFER).encode())

for o in [OFFER, SRTP_OFFER, HOLD,
          "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8\r\n",
          "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\nm=audio 0 RTP/AVP 0\r\n"]:
    write("sdp", o)


def rtp(pt, seq, ts, ssrc, payload, marker=False, csrcs=(), ext=None, pad=0):
    b0 = 0x80 | (0x20 if pad else 0) | (0x10 if ext is not None else 0) | len(csrcs)
    out = bytes([b0, (0x80 if marker else 0) | pt]) + struct.pack(">HII", seq, ts, ssrc)
    for c in csrcs:
        out += struct.pack(">I", c)
    if ext is not None:
        out += struct.pack(">HH", 0xBEDE, len(ext) // 4) + ext
    out += payload
    if pad:
        out += b"\x00" * (pad - 1) + bytes([pad])
    return out


def packets(ps, key=0):
    out = bytes([key])
    for p in ps:
        out += bytes([len(p)]) + p
    return out


audio = [rtp(0, i, 160 * i, 0x1111, b"\xff" * 160) for i in range(4)]
agent = [rtp(8, i, 160 * i, 0x2222, b"\xd5" * 160, marker=True) for i in range(3)]
write("rtp", packets(audio))
write("rtp", packets(audio[:2] + agent + audio[2:]))
write("rtp", packets([rtp(0, 9, 99, 3, b"\x7f" * 40, csrcs=(1, 2), ext=b"\x10\x01\x02\x03", pad=4)]))
write("rtp", packets([rtp(101, 1, 8000, 5, bytes([5, 0x0a, 0, 160]))]))
write("rtp", packets([bytes([0x81, 200, 0, 6]) + b"\x00" * 24]))  # an RTCP sender report
write("rtp", packets(audio[:2], key=1))


def dtmf(ts, event, end, duration, volume=10):
    return struct.pack(">I", ts) + bytes([4, event, (0x80 if end else 0) | volume]) + struct.pack(">H", duration)


write("dtmf", dtmf(1000, 1, False, 160) + dtmf(1000, 1, False, 320) + dtmf(1000, 1, True, 480) * 3)
write("dtmf", dtmf(1000, 5, False, 160) + dtmf(2000, 11, False, 160) + dtmf(2000, 11, True, 320))
write("dtmf", dtmf(0, 16, True, 800) + dtmf(4294967295, 10, True, 65535))

for mail in files("connectors/email/tests/mails", ".eml"):
    write("mime", mail)

for body in files("connectors/im/tests/payloads/telegram", ".json"):
    write("telegram", body)
for body in files("connectors/im/tests/payloads/whatsapp", ".json"):
    write("whatsapp", body)
for body in files("connectors/im/tests/payloads/wechat", ".xml"):
    # 0: plaintext push; 1: sealed in safe mode; 2: the Encrypt text itself.
    write("wechat", b"\x00" + body)
    write("wechat", b"\x01" + body)
write("wechat", b"\x02" + b"not base64 at all")

for body in files("connectors/im/tests/payloads/sms", ".form"):
    # 0: the body, signed by the target.
    write("sms", b"\x00" + body)
sms_text = next(files("connectors/im/tests/payloads/sms", "inbound_sms.form"))
# 1: query, header, body; an empty header is signed by the target over the URL with the query.
write("sms", b"\x01" + b"foo=1&bar=2\n\n" + sms_text)
write("sms", b"\x01" + b"\n0/KCTR6DLpKmkAf8muzZqo1nDgQ=\n" + sms_text)

WEBHOOK_SECRET = b"fuzz-webhook-secret"  # and the time, as in fuzz_targets/webhook.rs
WEBHOOK_T = 1718035200


def webhook_v1(t, body):
    return hmac.new(WEBHOOK_SECRET, str(t).encode() + b"." + body, hashlib.sha256).hexdigest()


for body in files("connectors/im/tests/payloads/webhook", ".json"):
    # 0: the skew (a signed byte, times 5 s), then the body, signed by the target.
    write("webhook", b"\x00\x00" + body)
webhook_text = next(files("connectors/im/tests/payloads/webhook", "text.json"))
write("webhook", b"\x00" + bytes([61]) + webhook_text)  # 305 s late: stale
# 1: the header as sent (a secret being changed: two v1, one right), then the body.
header = f"t={WEBHOOK_T},v1={'0' * 64},v1={webhook_v1(WEBHOOK_T, webhook_text)}"
write("webhook", b"\x01" + header.encode() + b"\n" + webhook_text)

agent_frames = [
    '{"type":"auth","token":"abc"}',
    '{"type":"state.set","state":"available"}',
    '{"type":"state.set","state":"away","reason":"lunch"}',
    '{"type":"offer.accept","interaction_id":"0190c8a4-7c1e-7000-8000-000000000001"}',
    '{"type":"message","interaction_id":"0190c8a4-7c1e-7000-8000-000000000001","client_id":"c1","body":"Hello"}',
    '{"type":"typing","interaction_id":"0190c8a4-7c1e-7000-8000-000000000001","typing":true}',
    '{"type":"interaction.transfer","interaction_id":"0190c8a4-7c1e-7000-8000-000000000001","queue_id":"0190c8a4-7c1e-7000-8000-000000000002"}',
    '{"type":"wrap_up","interaction_id":"0190c8a4-7c1e-7000-8000-000000000001","disposition":"resolved","note":"ok"}',
    '{"type":"note.add","customer_id":"0190c8a4-7c1e-7000-8000-000000000003","body":"VIP"}',
    '{"type":"conversations.watch","on":true}',
]
widget_frames = [
    '{"type":"hello","queue":"Support"}',
    '{"type":"hello","token":"t0k3n","after":3}',
    '{"type":"start","name":"Maria","email":"maria@example.com","phone":"+34 600 000 000","message":"Hi","client_id":"w1"}',
    '{"type":"start","name":"Ann","email":"ann@example.com","identity":{"user_id":"42","hash":"00ff"}}',
    '{"type":"start","name":"Off","email":"","offline":true,"message":"call me"}',
    '{"type":"message","client_id":"w2","body":"still there?"}',
    '{"type":"typing","typing":false}',
    '{"type":"leave"}',
]
for f in agent_frames:
    write("ws_frames", b"\x00" + f.encode())
for f in widget_frames:
    write("ws_frames", b"\x01" + f.encode())

bodies = [
    (0, '{"email":"sam@example.com","password":"plugboard-demo"}'),
    (1, '{"name":"Maria Garcia","tier":"gold","tags":["vip"," spain "]}'),
    (2, '{"name":"Support","required_skills":[{"skill":"english","min_level":2}],"priority":1,"offer_timeout_secs":20}'),
    (3, '{"email":"dana@example.com","name":"Dana","password":"correct horse","role":"supervisor","locale":"zh-CN","skills":{"english":3},"capacity":{"voice":1,"chat":2,"email":3,"messaging":2}}'),
    (4, '[{"when":{"type":"region","regions":["ES","MX"]},"agents":[{"agent_id":"0190c8a4-7c1e-7000-8000-000000000004","weight":2}]},'
        '{"when":{"type":"always"},"agents":[{"agent_id":"0190c8a4-7c1e-7000-8000-000000000005"}]}]'),
]
for route, body in bodies:
    write("rest_bodies", bytes([route]) + body.encode())
