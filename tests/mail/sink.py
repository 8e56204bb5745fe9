#!/usr/bin/env python3
"""The SMTP server the email tests send to: aiosmtpd keeping every mail it accepts in a maildir,
unaltered but for two headers in front that record the envelope (X-Envelope-From, X-Envelope-To).

It refuses some recipients the way real servers do, so the tests see both kinds of failure:
  reject...@  550 (permanent: no such user)
  later...@   451 (transient: try again later)

    python3 tests/mail/sink.py --port 2525 --maildir /tmp/sink [--tls-cert C --tls-key K]

With a certificate it offers STARTTLS and requires it before MAIL FROM (RFC 3207).
"""

import argparse
import asyncio
import mailbox
import signal
import ssl

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, maildir):
        self.box = mailbox.Maildir(maildir, create=True)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table"
        if local.startswith("later"):
            return f"451 4.3.0 <{address}>: Temporary lookup failure, try again later"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        head = (
            f"X-Envelope-From: {envelope.mail_from}\r\n"
            f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        self.box.add(head + envelope.original_content)
        return "250 2.0.0 OK: queued"


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()
    sink = Sink(args.maildir)
    tls = None
    if args.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="sink.test", tls_context=tls, require_starttls=tls is not None),
        args.host,
        args.port,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"listening on {args.host}:{args.port}", flush=True)
    await stop.wait()
    server.close()
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
