//! SIP messages as the rest of the crate sees them, and the ones it sends. The transport hands each
//! framed message here first: [`parse`] turns bytes into a [`SipRequest`] or [`SipResponse`] (or
//! says why not); [`ResponseBuilder`] writes answers and [`RequestBuilder`] the requests the B2BUA
//! sends. rsipstack's fork of the rsip parser does the line work (header folding, compact names);
//! its types stay inside this module.
//!
//! Also here: the header-value parsers the registrar needs (`Contact` lists, the address-of-record
//! of a `To` header), written by hand because the fork's typed `Contact` loses URI parameters of
//! IPv6 hosts and does not split several contacts in one header.

use std::fmt::Write as _;

use rsipstack::rsip;
use thiserror::Error;

use crate::registrar::ContactParam;

/// The request methods this crate tells apart. `Other` keeps any other token, so that an unknown
/// method can be answered 501 instead of being dropped (RFC 3261 §8.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    Ack,
    Bye,
    Cancel,
    Info,
    Invite,
    Message,
    Notify,
    Options,
    Prack,
    Publish,
    Refer,
    Register,
    Subscribe,
    Update,
    Other(String),
}

impl Method {
    fn from_rsip(m: &rsip::Method) -> Self {
        match m {
            rsip::Method::Ack => Method::Ack,
            rsip::Method::Bye => Method::Bye,
            rsip::Method::Cancel => Method::Cancel,
            rsip::Method::Info => Method::Info,
            rsip::Method::Invite => Method::Invite,
            rsip::Method::Message => Method::Message,
            rsip::Method::Notify => Method::Notify,
            rsip::Method::Options => Method::Options,
            rsip::Method::PRack => Method::Prack,
            rsip::Method::Publish => Method::Publish,
            rsip::Method::Refer => Method::Refer,
            rsip::Method::Register => Method::Register,
            rsip::Method::Subscribe => Method::Subscribe,
            rsip::Method::Update => Method::Update,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Info => "INFO",
            Method::Invite => "INVITE",
            Method::Message => "MESSAGE",
            Method::Notify => "NOTIFY",
            Method::Options => "OPTIONS",
            Method::Prack => "PRACK",
            Method::Publish => "PUBLISH",
            Method::Refer => "REFER",
            Method::Register => "REGISTER",
            Method::Subscribe => "SUBSCRIBE",
            Method::Update => "UPDATE",
            Method::Other(m) => m,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("not a SIP message: {0}")]
    NotSip(String),
}

/// A parsed message of either kind.
#[derive(Debug, Clone)]
pub enum SipMessage {
    Request(SipRequest),
    Response(SipResponse),
}

/// Header fields in order, under their canonical names (`Via`, not `v`).
#[derive(Debug, Clone, Default)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    fn of(headers: &rsip::Headers) -> Self {
        Headers(
            headers
                .iter()
                .map(|h| (h.name().to_owned(), h.value().trim().to_owned()))
                .collect(),
        )
    }

    /// Every value of a header, in order (canonical name, any case).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `CSeq: 1 REGISTER` as (number, method), RFC 3261 §20.16 (the number below 2**31).
    pub fn cseq(&self) -> Result<(u32, &str), InvalidRequest> {
        let value = self.get("CSeq").ok_or(InvalidRequest::Missing("CSeq"))?;
        let mut parts = value.split_whitespace();
        let number = parts
            .next()
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|n| *n < 1 << 31)
            .ok_or(InvalidRequest::BadCseq)?;
        let method = parts.next().ok_or(InvalidRequest::BadCseq)?;
        if parts.next().is_some() {
            return Err(InvalidRequest::BadCseq);
        }
        Ok((number, method))
    }

    /// A parameter of a name-addr header (`tag` of From or To, RFC 3261 §19.3).
    pub fn param(&self, header: &str, name: &str) -> Option<&str> {
        param(self.get(header)?, name)
    }
}

/// A parsed request.
#[derive(Debug, Clone)]
pub struct SipRequest {
    pub method: Method,
    pub uri: String,
    pub headers: Headers,
    pub body: Vec<u8>,
}

/// A parsed response (to a request the B2BUA sent).
#[derive(Debug, Clone)]
pub struct SipResponse {
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
}

impl SipResponse {
    /// The top Via's branch: the client transaction it answers (RFC 3261 §17.1.3).
    pub fn branch(&self) -> Option<&str> {
        via_branch(self.headers.get("Via")?)
    }

    pub fn to_tag(&self) -> Option<&str> {
        self.headers.param("To", "tag")
    }
}

/// Why a parseable request is still not one we can act on: answered 400 (RFC 3261 §21.4.1).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InvalidRequest {
    #[error("Missing {0} header")]
    Missing(&'static str),
    #[error("Bad CSeq")]
    BadCseq,
    #[error("CSeq method does not match")]
    CseqMethodMismatch,
    #[error("Bad Request-URI")]
    BadRequestUri,
    /// A name-addr header with an unterminated quoted string or no URI (RFC 3261 §20.10).
    #[error("Bad {0} header")]
    BadAddress(&'static str),
}

/// Every quoted string (RFC 3261 §25.1 `quoted-string`, with `\` escapes) is closed.
fn quotes_balanced(value: &str) -> bool {
    let (mut quoted, mut escaped) = (false, false);
    for c in value.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            _ => {}
        }
    }
    !quoted
}

/// RFC 3261 §25.1 `token`.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
}

/// Parses one whole message (the transport has framed it). A request line whose method the fork
/// does not know is parsed with a stand-in method and the original token kept, so the request still
/// reaches the 501 answer.
pub fn parse(bytes: &[u8]) -> Result<SipMessage, ParseError> {
    let not_sip = |e: &dyn std::fmt::Display| ParseError::NotSip(e.to_string());
    let line_end = bytes
        .windows(2)
        .position(|w| w == b"\r\n")
        .ok_or_else(|| not_sip(&"no CRLF"))?;
    let start = std::str::from_utf8(&bytes[..line_end]).map_err(|e| not_sip(&e))?;
    // RFC 3261 §25.1: header values are TEXT-UTF8, which holds no control octet but HTAB; a NUL
    // inside one is how values get cut short differently by two parsers.
    let head_end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(bytes.len());
    if bytes[..head_end]
        .iter()
        .any(|&b| b.is_ascii_control() && !matches!(b, b'\t' | b'\r' | b'\n'))
    {
        return Err(not_sip(&"control octet in the header"));
    }
    if let Some(status) = start.strip_prefix("SIP/2.0 ") {
        let status = status
            .get(..3)
            .and_then(|s| s.parse::<u16>().ok())
            .filter(|s| (100..700).contains(s))
            .ok_or_else(|| not_sip(&"bad status code"))?;
        let rsip::SipMessage::Response(response) =
            rsip::SipMessage::try_from(bytes).map_err(|e| not_sip(&e))?
        else {
            return Err(not_sip(&"not a response"));
        };
        return Ok(SipMessage::Response(SipResponse {
            status,
            headers: Headers::of(&response.headers),
            body: response.body,
        }));
    }
    let token = start.split(' ').next().unwrap_or("");
    if !is_token(token) {
        return Err(not_sip(&"bad method token"));
    }
    let known = token.parse::<rsip::Method>().is_ok();
    let parsed = if known {
        rsip::SipMessage::try_from(bytes)
    } else {
        let mut patched = b"OPTIONS".to_vec();
        patched.extend_from_slice(&bytes[token.len()..]);
        rsip::SipMessage::try_from(patched.as_slice())
    }
    .map_err(|e| not_sip(&e))?;
    let rsip::SipMessage::Request(request) = parsed else {
        return Err(not_sip(&"not a request"));
    };
    // The fork reads any version as 2.0; the request line is the authority (RFC 3261 §7.1).
    if request.version != rsip::Version::V2 || !start.ends_with(" SIP/2.0") {
        return Err(not_sip(&"not SIP/2.0"));
    }
    let mut body = request.body;
    // §18.3: on a datagram, a Content-Length past the end is a broken message; octets after it
    // are not part of this one. The fork does not check either.
    if let Some(length) = request
        .headers
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case("Content-Length"))
        .map(|h| h.value().trim().to_owned())
    {
        let length: usize = length.parse().map_err(|_| not_sip(&"bad Content-Length"))?;
        if length > body.len() {
            return Err(not_sip(&"Content-Length is larger than the body"));
        }
        body.truncate(length);
    }
    let method = if known {
        Method::from_rsip(&request.method)
    } else {
        Method::Other(token.to_owned())
    };
    // The Request-URI as sent (the fork re-renders it): exactly method, URI and version,
    // separated by single spaces (RFC 3261 §7.1).
    let parts: Vec<&str> = start.split(' ').collect();
    let [_, uri, _] = parts.as_slice() else {
        return Err(not_sip(&"bad request line"));
    };
    Ok(SipMessage::Request(SipRequest {
        method,
        uri: (*uri).to_owned(),
        headers: Headers::of(&request.headers),
        body,
    }))
}

impl SipRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The checks of RFC 3261 §8.1.1 / §8.2 that every request must pass before anything else.
    pub fn validate(&self) -> Result<(), InvalidRequest> {
        for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
            if self.header(name).is_none_or(|v| v.is_empty()) {
                return Err(InvalidRequest::Missing(name));
            }
        }
        let (_, method) = self.cseq()?;
        if !method.eq_ignore_ascii_case(self.method.as_str()) {
            return Err(InvalidRequest::CseqMethodMismatch);
        }
        // RFC 3261 §25.1: `scheme ":" ...`, no brackets, no whitespace (a Request-URI is never a
        // name-addr, RFC 4475 §3.1.2.4).
        let scheme = self.uri.split(':').next().unwrap_or("");
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !scheme_ok || !self.uri.contains(':') || self.uri.contains(['<', '>', ' ', '\t']) {
            return Err(InvalidRequest::BadRequestUri);
        }
        for name in ["From", "To", "Contact"] {
            for value in self.headers.all(name) {
                if !quotes_balanced(value) || (name != "Contact" && !addr_uri(value).contains(':')) {
                    return Err(InvalidRequest::BadAddress(name));
                }
            }
        }
        Ok(())
    }

    pub fn cseq(&self) -> Result<(u32, &str), InvalidRequest> {
        self.headers.cseq()
    }

    pub fn call_id(&self) -> &str {
        self.header("Call-ID").unwrap_or("")
    }

    /// The top Via's `branch` parameter and sent-by, the server transaction key parts of RFC 3261
    /// §17.2.3.
    pub fn top_via(&self) -> Option<(&str, Option<&str>)> {
        let via = self.header("Via")?;
        // Several Vias may share one header line; the first is the top one.
        let top = via.split(',').next()?.trim();
        let sent_by = top
            .split(';')
            .next()?
            .split_whitespace()
            .nth(1)
            .unwrap_or_default();
        Some((sent_by, via_branch(top)))
    }

    /// The `tag` parameter of the From header (RFC 3261 §19.3).
    pub fn from_tag(&self) -> Option<&str> {
        self.headers.param("From", "tag")
    }

    pub fn to_tag(&self) -> Option<&str> {
        self.headers.param("To", "tag")
    }
}

/// The `branch` parameter of the first Via in a header value.
fn via_branch(via: &str) -> Option<&str> {
    let top = via.split(',').next()?.trim();
    top.split(';')
        .skip(1)
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("branch"))
        .map(|(_, v)| v.trim())
}

/// A name-addr (`"Bob" <sip:bob@x>;tag=1`) or addr-spec (`sip:bob@x;tag=1`) header value cut
/// into its URI and the header parameters after it (RFC 3261 §20, §25.1). Quote-aware: a display
/// name or a parameter value in quotes may hold `<`, `>`, `;` or `,` (RFC 5626's
/// `+sip.instance="<urn:uuid:...>"` does), and none of them ends anything.
fn split_addr(value: &str) -> (&str, &str) {
    let value = value.trim();
    // A name-addr: the URI is between the first `<` outside quotes and the `>` after it (a URI
    // holds neither unescaped, RFC 3261 §25.1).
    if let Some(open) = outside_quotes(value)
        .find(|&(_, c)| c == '<' || c == ';')
        .filter(|&(_, c)| c == '<')
    {
        let start = open.0 + 1;
        return match value[start..].find('>') {
            Some(len) => (value[start..start + len].trim(), &value[start + len + 1..]),
            None => (value[start..].trim(), ""),
        };
    }
    // An addr-spec: without brackets, parameters belong to the header, not the URI (§20.10).
    match value.find(';') {
        Some(i) => (value[..i].trim(), &value[i..]),
        None => (value, ""),
    }
}

/// The characters of `value` that are outside quoted strings (with `\` escapes), with their
/// byte offsets.
fn outside_quotes(value: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let (mut quoted, mut escaped) = (false, false);
    value.char_indices().filter(move |&(_, c)| {
        if escaped {
            escaped = false;
            return false;
        }
        match c {
            '\\' if quoted => {
                escaped = true;
                false
            }
            '"' => {
                quoted = !quoted;
                false
            }
            _ => !quoted,
        }
    })
}

/// The `;name=value` parameters of a header (what [`split_addr`] leaves after the URI), split on
/// semicolons outside quotes; values keep their quotes.
fn params(rest: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    let mut cuts: Vec<usize> = outside_quotes(rest)
        .filter(|&(_, c)| c == ';')
        .map(|(i, _)| i)
        .collect();
    cuts.push(rest.len());
    let mut from = 0;
    cuts.into_iter()
        .map(move |to| {
            let part = &rest[from..to];
            from = (to + 1).min(rest.len());
            part
        })
        .filter(|p| !p.trim().is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (p.trim(), None),
        })
}

/// The parameters after a name-addr or addr-spec header value (`<uri>;a=b;c`), RFC 3261 §20.
fn header_params(value: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    params(split_addr(value).1)
}

/// A parameter of a name-addr or addr-spec header value: `param("<sip:a@b>;tag=1", "tag")`.
pub fn param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    header_params(value)
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v)
}

/// The URI of a name-addr (`"Bob" <sip:bob@x>;tag=1`) or addr-spec (`sip:bob@x;tag=1`) value:
/// without brackets, parameters belong to the header, not the URI (RFC 3261 §20.10).
pub fn addr_uri(value: &str) -> &str {
    split_addr(value).0
}

/// The address-of-record of a REGISTER's To header in canonical form (RFC 3261 §10.3 step 5):
/// `scheme:user@host`, display name, port, parameters and headers dropped, scheme and host in
/// lower case. `None` when the URI has no user part or is not sip/sips.
pub fn address_of_record(to: &str) -> Option<String> {
    let uri = addr_uri(to);
    let (scheme, rest) = uri.split_once(':')?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "sip" && scheme != "sips" {
        return None;
    }
    let rest = rest.split([';', '?']).next()?;
    let (user, hostport) = rest.rsplit_once('@')?;
    let user = user.split(':').next()?; // a password in the userinfo is not part of the AOR
    let host = if hostport.starts_with('[') {
        hostport.split_inclusive(']').next()?
    } else {
        hostport.split(':').next()?
    };
    if user.is_empty() || host.is_empty() {
        return None;
    }
    Some(format!("{scheme}:{user}@{}", host.to_ascii_lowercase()))
}

/// The user part of a SIP URI or name-addr (`sip:+15551234@host;user=phone` → `+15551234`).
pub fn uri_user(value: &str) -> Option<&str> {
    let uri = addr_uri(value);
    let (_, rest) = uri.split_once(':')?;
    let (user, _) = rest.split_once('@')?;
    let user = user.split([';', ':']).next()?;
    (!user.is_empty()).then_some(user)
}

/// The display name of a name-addr (`"Ann Lee" <sip:...>`), unquoted.
pub fn display_name(value: &str) -> Option<&str> {
    let (name, _) = value.split_once('<')?;
    let name = name.trim().trim_matches('"').trim();
    (!name.is_empty()).then_some(name)
}

/// Where to send requests for a SIP URI whose host is an IP literal (`sip:1001@127.0.0.1:5062`);
/// the default port is 5060, 5061 over TLS. Host names are not resolved.
pub fn uri_socket(value: &str) -> Option<std::net::SocketAddr> {
    let uri = addr_uri(value);
    let (scheme, rest) = uri.split_once(':')?;
    if !scheme.eq_ignore_ascii_case("sip") && !scheme.eq_ignore_ascii_case("sips") {
        return None;
    }
    let rest = rest.split([';', '?']).next()?;
    let hostport = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
    if let Ok(addr) = hostport.parse() {
        return Some(addr);
    }
    // RFC 3261 §19.1.2: 5061 by default over TLS, 5060 otherwise.
    let port = if uri_transport(value) == crate::service::Transport::Tls {
        5061
    } else {
        5060
    };
    let host = hostport.trim_start_matches('[').trim_end_matches(']');
    host.parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| std::net::SocketAddr::new(ip, port))
}

/// The transport a SIP URI asks for (RFC 3261 §19.1.1): TLS for a `sips:` URI (§19.1) or
/// `transport=tls`, TCP for `transport=tcp`, UDP when none, or one we do not speak.
pub fn uri_transport(value: &str) -> crate::service::Transport {
    use crate::service::Transport;
    let uri = addr_uri(value);
    if uri.get(..5).is_some_and(|s| s.eq_ignore_ascii_case("sips:")) {
        return Transport::Tls;
    }
    let named = uri
        .split('?')
        .next()
        .unwrap_or(uri)
        .split(';')
        .skip(1)
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("transport"))
        .map(|(_, v)| v.trim().to_ascii_lowercase());
    match named.as_deref() {
        Some("tcp") => Transport::Tcp,
        Some("tls") => Transport::Tls,
        _ => Transport::Udp,
    }
}

/// The user part of a canonical AOR.
pub fn aor_user(aor: &str) -> &str {
    aor.split_once(':')
        .and_then(|(_, r)| r.rsplit_once('@'))
        .map_or("", |(u, _)| u)
}

/// Splits a header value on commas that are outside quotes and angle brackets (RFC 3261 §7.3.1).
pub fn split_list(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut bracket, mut escaped, mut start) = (false, false, false, 0);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => bracket = true,
            '>' if !quoted => bracket = false,
            ',' if !quoted && !bracket => {
                out.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(value[start..].trim());
    out.retain(|s| !s.is_empty());
    out
}

/// Why a Contact list cannot be used (answered 400).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContactError {
    #[error("Bad Contact expires")]
    BadExpires,
    #[error("Bad Contact q")]
    BadQ,
}

/// Every Contact of a request, across headers and comma lists (RFC 3261 §20.10), as the
/// registrar takes them: `<uri>` (or `*`) with its `expires` and `q` parameters, and every other
/// parameter as received (`+sip.instance`, `reg-id`, `+sip.ice`...), for the 200 OK to list
/// intact (RFC 5626 §6, RFC 5627 §3.3).
pub fn contacts(request: &SipRequest) -> Result<Vec<ContactParam>, ContactError> {
    let mut out = Vec::new();
    for value in request.headers.all("Contact") {
        for contact in split_list(value) {
            if contact == "*" {
                out.push(ContactParam {
                    uri: "*".into(),
                    ..ContactParam::default()
                });
                continue;
            }
            let (uri, rest) = split_addr(contact);
            let mut parsed = ContactParam {
                uri: format!("<{uri}>"),
                ..ContactParam::default()
            };
            let (mut instance, mut reg_id) = (None, None);
            for (k, v) in params(rest) {
                if k.eq_ignore_ascii_case("expires") {
                    // RFC 3261 §10.2.1.1: a huge value counts as the largest we would give anyway.
                    let v = v.ok_or(ContactError::BadExpires)?;
                    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                        return Err(ContactError::BadExpires);
                    }
                    parsed.expires = Some(v.parse::<u32>().unwrap_or(u32::MAX));
                    continue;
                }
                if k.eq_ignore_ascii_case("q") {
                    parsed.q = Some(parse_q(v.ok_or(ContactError::BadQ)?).ok_or(ContactError::BadQ)?);
                    continue;
                }
                if k.eq_ignore_ascii_case("+sip.instance") {
                    instance = v.map(|v| v.trim_matches('"').trim_matches(['<', '>']).to_owned());
                } else if k.eq_ignore_ascii_case("reg-id") {
                    reg_id = v.map(str::to_owned);
                }
                parsed.params.push(';');
                parsed.params.push_str(k);
                if let Some(v) = v {
                    parsed.params.push('=');
                    parsed.params.push_str(v);
                }
            }
            // RFC 5626 §6: one device's flow is its instance and reg-id, whatever address it
            // registers from this time.
            parsed.reg_id = instance.is_some() && reg_id.is_some();
            parsed.instance = instance.map(|i| match reg_id {
                Some(r) => format!("{i};reg-id={r}"),
                None => i,
            });
            out.push(parsed);
        }
    }
    Ok(out)
}

/// `qvalue` of RFC 3261 §25.1 (`0`, `0.5`, `1.000`) in thousandths.
fn parse_q(v: &str) -> Option<u16> {
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_value = format!("{frac:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(frac_value),
        "1" if frac_value == 0 => Some(1000),
        _ => None,
    }
}

/// The `Expires` header as a number (RFC 3261 §20.19); `Err` for anything else.
pub fn expires(request: &SipRequest) -> Result<Option<u32>, ContactError> {
    match request.header("Expires") {
        None => Ok(None),
        Some(v) if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(Some(v.parse::<u32>().unwrap_or(u32::MAX)))
        }
        Some(_) => Err(ContactError::BadExpires),
    }
}

/// A response to one request, written by hand: Via, From, To, Call-ID and CSeq copied from the
/// request (RFC 3261 §8.2.6.2), a To tag added when the request had none.
#[derive(Debug, Clone)]
pub struct ResponseBuilder {
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
    body: Option<Body>,
}

/// A message body with its type (RFC 3261 §20.15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

impl Body {
    pub fn sdp(text: &str) -> Self {
        Body {
            content_type: "application/sdp",
            bytes: text.as_bytes().to_vec(),
        }
    }
}

/// Writes the end of a message: the body's headers, then the body (or an empty one).
fn finish(out: &mut String, body: Option<&Body>) -> Vec<u8> {
    match body {
        Some(body) => {
            let _ = write!(
                out,
                "Content-Type: {}\r\nContent-Length: {}\r\n\r\n",
                body.content_type,
                body.bytes.len()
            );
            let mut bytes = std::mem::take(out).into_bytes();
            bytes.extend_from_slice(&body.bytes);
            bytes
        }
        None => {
            out.push_str("Content-Length: 0\r\n\r\n");
            std::mem::take(out).into_bytes()
        }
    }
}

/// A request the B2BUA sends, header by header in the order given.
#[derive(Debug, Clone)]
pub struct RequestBuilder {
    method: Method,
    uri: String,
    headers: Vec<(String, String)>,
    body: Option<Body>,
}

impl RequestBuilder {
    pub fn new(method: Method, uri: impl Into<String>) -> Self {
        RequestBuilder {
            method,
            uri: uri.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub fn body(mut self, body: Option<Body>) -> Self {
        self.body = body;
        self
    }

    pub fn build(&self) -> Vec<u8> {
        let mut out = format!("{} {} SIP/2.0\r\n", self.method.as_str(), self.uri);
        for (name, value) in &self.headers {
            let _ = write!(out, "{name}: {value}\r\n");
        }
        out.push_str("Max-Forwards: 70\r\nUser-Agent: Plugboard\r\n");
        finish(&mut out, self.body.as_ref())
    }
}

impl ResponseBuilder {
    pub fn new(status: u16, reason: impl Into<String>) -> Self {
        ResponseBuilder {
            status,
            reason: reason.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn body(mut self, body: Body) -> Self {
        self.body = Some(body);
        self
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// The wire form, answering `request`. `to_tag` is used only if the To header has no tag.
    pub fn build(&self, request: &SipRequest, to_tag: &str) -> Vec<u8> {
        let mut out = format!("SIP/2.0 {} {}\r\n", self.status, self.reason);
        for via in request.headers.all("Via") {
            let _ = write!(out, "Via: {via}\r\n");
        }
        for name in ["From", "To", "Call-ID", "CSeq"] {
            let Some(value) = request.header(name) else {
                continue;
            };
            let _ = write!(out, "{name}: {value}");
            let has_tag = || header_params(value).any(|(k, _)| k.eq_ignore_ascii_case("tag"));
            // RFC 3261 §8.2.6.2: a UAS adds a tag to the To of a response, except 100 Trying.
            if name == "To" && self.status > 100 && !has_tag() {
                let _ = write!(out, ";tag={to_tag}");
            }
            out.push_str("\r\n");
        }
        for (name, value) in &self.headers {
            let _ = write!(out, "{name}: {value}\r\n");
        }
        out.push_str("Server: Plugboard\r\n");
        finish(&mut out, self.body.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(text: &str) -> SipRequest {
        match parse(text.replace('\n', "\r\n").as_bytes()).unwrap() {
            SipMessage::Request(r) => r,
            SipMessage::Response(_) => panic!("a response"),
        }
    }

    const OPTIONS: &str = "OPTIONS sip:pbx.example.com SIP/2.0\n\
        v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\n\
        f: <sip:a@example.com>;tag=x\n\
        t: <sip:pbx.example.com>\n\
        i: abc\n\
        CSeq: 7 OPTIONS\n\
        l: 0\n\n";

    #[test]
    fn parses_compact_headers_and_unknown_methods() {
        let r = req(OPTIONS);
        assert_eq!(r.method, Method::Options);
        assert_eq!(r.call_id(), "abc");
        assert_eq!(r.cseq(), Ok((7, "OPTIONS")));
        assert_eq!(r.top_via(), Some(("192.0.2.1:5060", Some("z9hG4bK1"))));
        assert_eq!(r.from_tag(), Some("x"));
        assert_eq!(r.validate(), Ok(()));

        let r = req(&OPTIONS.replace("OPTIONS", "FROB"));
        assert_eq!(r.method, Method::Other("FROB".into()));
        assert_eq!(r.validate(), Ok(()));
    }

    #[test]
    fn refuses_what_is_not_a_request() {
        let cases: &[(&[u8], bool)] = &[
            (b"\x00\x01garbage", false),
            (b"hello world\r\n\r\n", false),
            (b"SIP/2.0 200 OK\r\nCSeq: 1 OPTIONS\r\n\r\n", true),
            (b"SIP/2.0 2x0 OK\r\nCSeq: 1 OPTIONS\r\n\r\n", false),
            (b"OPTIONS sip:x SIP/3.0\r\n\r\n", false),
            (b"OPT(IONS sip:x SIP/2.0\r\n\r\n", false),
        ];
        for (bytes, response) in cases {
            let got = parse(bytes);
            assert_eq!(matches!(got, Ok(SipMessage::Response(_))), *response, "{bytes:?}");
            assert!(got.is_err() || *response, "{bytes:?}");
        }
    }

    #[test]
    fn what_rfc_4475_says_to_refuse() {
        let with = |edit: &dyn Fn(&str) -> String| parse(edit(OPTIONS).replace('\n', "\r\n").as_bytes());
        // Content-Length past the end, negative, or not a number: broken on a datagram.
        for cl in ["l: 9999\n\nshort", "l: -999\n\n", "l: ten\n\n"] {
            assert!(with(&|m| m.replace("l: 0\n\n", cl)).is_err(), "{cl}");
        }
        // Octets after the body are not part of the message.
        let Ok(SipMessage::Request(r)) = with(&|m| m.replace("l: 0\n\n", "l: 2\n\nokJUNK")) else {
            panic!("not parsed");
        };
        assert_eq!(r.body, b"ok");
        // A NUL (or any control octet but HTAB) inside a header value.
        for value in ["<sip:a@example.com>;tag=x\0y", "<sip:a@exa\u{1}mple.com>;tag=x"] {
            assert!(
                with(&|m| m.replace("<sip:a@example.com>;tag=x", value)).is_err(),
                "{value:?}"
            );
        }
        assert!(
            with(&|m| m.replace("f: <sip:a", "f:\t<sip:a")).is_ok(),
            "HTAB is fine"
        );
        // Other versions, spaces in the Request-URI: not ours to parse.
        assert!(with(&|m| m.replace(" SIP/2.0\n", " SIP/7.0\n")).is_err());
        assert!(with(&|m| m.replace("sip:pbx.example.com SIP", "sip:pbx.example.com;a=b c SIP")).is_err());
        // Parseable, but invalid: answered 400.
        let cases = [
            (
                OPTIONS.replace("OPTIONS sip:pbx.example.com", "OPTIONS <sip:pbx.example.com>"),
                InvalidRequest::BadRequestUri,
            ),
            (
                OPTIONS.replace("f: <sip:a@example.com>", "f: \"Bob <sip:a@example.com>"),
                InvalidRequest::BadAddress("From"),
            ),
            (
                OPTIONS.replace("t: <sip:pbx.example.com>", "t: \"pbx\""),
                InvalidRequest::BadAddress("To"),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(req(&text).validate(), Err(want), "{text}");
        }
        // An escaped quote inside a display name is fine.
        let fine = OPTIONS.replace(
            "f: <sip:a@example.com>",
            "f: \"Ann \\\"A\\\" Lee\" <sip:a@example.com>",
        );
        assert_eq!(req(&fine).validate(), Ok(()));
    }

    #[test]
    fn responses_and_bodies() {
        let text = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKab\r\n\
                    From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\
                    Content-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n";
        let Ok(SipMessage::Response(r)) = parse(text.as_bytes()) else {
            panic!("not parsed");
        };
        assert_eq!(
            (r.status, r.branch(), r.to_tag()),
            (200, Some("z9hG4bKab"), Some("2"))
        );
        assert_eq!(r.headers.cseq(), Ok((1, "INVITE")));
        assert_eq!(r.body, b"v=0\n");
    }

    #[test]
    fn uri_parts() {
        assert_eq!(
            uri_user("\"Ann\" <sip:+15551234@pbx;user=phone>;tag=1"),
            Some("+15551234")
        );
        assert_eq!(uri_user("<sip:pbx>"), None);
        assert_eq!(display_name("\"Ann Lee\" <sip:a@b>"), Some("Ann Lee"));
        assert_eq!(display_name("<sip:a@b>"), None);
        let cases = [
            ("<sip:1001@127.0.0.1:5062;transport=udp>", Some("127.0.0.1:5062")),
            ("sip:1001@127.0.0.1", Some("127.0.0.1:5060")),
            ("<sip:a@[::1]:5070>", Some("[::1]:5070")),
            ("<sip:a@phone.example.com>", None),
            ("<tel:+1555>", None),
            ("<sips:1001@192.0.2.4>", Some("192.0.2.4:5061")),
            ("<sip:1001@192.0.2.4;transport=tls>", Some("192.0.2.4:5061")),
            ("<sips:1001@192.0.2.4:5071>", Some("192.0.2.4:5071")),
        ];
        for (uri, want) in cases {
            assert_eq!(uri_socket(uri), want.map(|w| w.parse().unwrap()), "{uri}");
        }
    }

    #[test]
    fn uri_transports() {
        use crate::service::Transport::{Tcp, Tls, Udp};
        let cases = [
            ("<sip:1001@127.0.0.1:5062;transport=tcp>", Tcp),
            ("<sip:1001@127.0.0.1:5062;lr;Transport=TCP>;expires=60", Tcp),
            // Without brackets the parameter is the header's, not the URI's (RFC 3261 §20.10).
            ("sip:1001@127.0.0.1;transport=tcp", Udp),
            ("<sip:1001@127.0.0.1:5062;transport=udp>", Udp),
            ("<sip:1001@127.0.0.1:5062>;transport=tcp", Udp),
            ("<sip:1001@127.0.0.1:5062;transport=sctp>", Udp),
            ("<sip:1001@127.0.0.1:5062;transport=TLS>", Tls),
            ("<sips:1001@127.0.0.1:5062>", Tls),
            ("SIPS:1001@127.0.0.1", Tls),
        ];
        for (uri, want) in cases {
            assert_eq!(uri_transport(uri), want, "{uri}");
        }
    }

    #[test]
    fn requests_are_written_with_their_body() {
        let bytes = RequestBuilder::new(Method::Invite, "sip:1001@127.0.0.1:5062")
            .header("Call-ID", "c")
            .body(Some(Body::sdp("v=0\r\n")))
            .build();
        let Ok(SipMessage::Request(r)) = parse(&bytes) else {
            panic!("not parsed back");
        };
        assert_eq!((&r.method, r.header("Call-ID")), (&Method::Invite, Some("c")));
        assert_eq!(r.body, b"v=0\r\n");
    }

    #[test]
    fn validation_table() {
        let cases = [
            (
                "v: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\n",
                InvalidRequest::Missing("Via"),
            ),
            ("i: abc\n", InvalidRequest::Missing("Call-ID")),
            ("CSeq: 7 OPTIONS\n", InvalidRequest::Missing("CSeq")),
            ("t: <sip:pbx.example.com>\n", InvalidRequest::Missing("To")),
        ];
        for (line, want) in cases {
            let r = req(&OPTIONS.replace(line, ""));
            assert_eq!(r.validate(), Err(want), "{line}");
        }
        let cseq = |v: &str| req(&OPTIONS.replace("7 OPTIONS", v)).validate();
        assert_eq!(cseq("7 INVITE"), Err(InvalidRequest::CseqMethodMismatch));
        assert_eq!(cseq("x OPTIONS"), Err(InvalidRequest::BadCseq));
        assert_eq!(cseq("2147483648 OPTIONS"), Err(InvalidRequest::BadCseq));
        assert_eq!(cseq("7"), Err(InvalidRequest::BadCseq));
    }

    #[test]
    fn address_of_record_table() {
        let cases = [
            ("<sip:1001@PBX.example.com>", Some("sip:1001@pbx.example.com")),
            (
                "\"Desk\" <sip:1001@pbx.example.com:5070;transport=tcp>;tag=9",
                Some("sip:1001@pbx.example.com"),
            ),
            ("sip:1001@127.0.0.1:5060;tag=9", Some("sip:1001@127.0.0.1")),
            ("<sips:ann:pw@[2001:db8::1]:5061>", Some("sips:ann@[2001:db8::1]")),
            ("<sip:pbx.example.com>", None),
            ("<tel:+15551234>", None),
            ("garbage", None),
        ];
        for (to, want) in cases {
            assert_eq!(address_of_record(to).as_deref(), want, "{to}");
        }
        assert_eq!(aor_user("sip:1001@pbx"), "1001");
    }

    #[test]
    fn contact_lists() {
        let r = req(&OPTIONS.replace(
            "l: 0\n",
            "m: \"A, B\" <sip:1001@192.0.2.20;transport=tcp>;expires=60;q=0.5, sip:1001@[2001:db8::2]:5062;expires=99999999999\n\
             Contact: *\nl: 0\n",
        ));
        let got = contacts(&r).unwrap();
        let want = [
            ("<sip:1001@192.0.2.20;transport=tcp>", Some(60), Some(500)),
            ("<sip:1001@[2001:db8::2]:5062>", Some(u32::MAX), None),
            ("*", None, None),
        ];
        assert_eq!(got.len(), want.len());
        for (c, (uri, expires, q)) in got.iter().zip(want) {
            assert_eq!((c.uri.as_str(), c.expires, c.q), (uri, expires, q));
        }
        for bad in ["<sip:a@b>;expires=soon", "<sip:a@b>;q=2", "<sip:a@b>;q=0.5555"] {
            let r = req(&OPTIONS.replace("l: 0\n", &format!("Contact: {bad}\nl: 0\n")));
            assert!(contacts(&r).is_err(), "{bad}");
        }
    }

    /// What real phones put in their Contacts (Linphone, Zoiper, Bria, Yealink): RFC 5626's
    /// instance in a quoted string holding `<` and `>`, `reg-id`, feature tags with and without
    /// values, quoted strings holding `;` and `,`, and `expires` per contact.
    #[test]
    fn contacts_as_real_phones_send_them() {
        let linphone = "<sip:1001@192.0.2.20:40001;transport=tcp>;+sip.instance=\"<urn:uuid:9b2e-11>\";reg-id=1;+sip.ice;expires=600";
        let quoted = "\"Desk; 2, left\" <sip:1001@192.0.2.21>;+sip.instance=\"<urn:uuid:x;y>\";expires=120;q=0.7;+org.linphone.specs=\"groupchat,lime\"";
        let r = req(&OPTIONS.replace(
            "l: 0\n",
            &format!("Contact: {linphone}\nm: {quoted}, <sip:1001@[2001:db8::2]:5062;transport=tcp>;expires=60\nl: 0\n"),
        ));
        let got = contacts(&r).unwrap();
        let want = [
            ContactParam {
                uri: "<sip:1001@192.0.2.20:40001;transport=tcp>".into(),
                expires: Some(600),
                q: None,
                params: ";+sip.instance=\"<urn:uuid:9b2e-11>\";reg-id=1;+sip.ice".into(),
                instance: Some("urn:uuid:9b2e-11;reg-id=1".into()),
                reg_id: true,
            },
            ContactParam {
                uri: "<sip:1001@192.0.2.21>".into(),
                expires: Some(120),
                q: Some(700),
                params: ";+sip.instance=\"<urn:uuid:x;y>\";+org.linphone.specs=\"groupchat,lime\"".into(),
                instance: Some("urn:uuid:x;y".into()),
                reg_id: false,
            },
            ContactParam {
                uri: "<sip:1001@[2001:db8::2]:5062;transport=tcp>".into(),
                expires: Some(60),
                ..ContactParam::default()
            },
        ];
        assert_eq!(got, want);
        // The parts of name-addrs, quote-aware.
        let cases = [
            (linphone, "sip:1001@192.0.2.20:40001;transport=tcp", Some("600")),
            (quoted, "sip:1001@192.0.2.21", Some("120")),
            ("sip:1001@192.0.2.1;expires=5", "sip:1001@192.0.2.1", Some("5")),
            ("\"a>b\" <sip:x@y>;expires=7", "sip:x@y", Some("7")),
        ];
        for (value, uri, expires) in cases {
            assert_eq!(addr_uri(value), uri, "{value}");
            let got = header_params(value)
                .find(|(k, _)| *k == "expires")
                .and_then(|(_, v)| v);
            assert_eq!(got, expires, "{value}");
        }
    }

    #[test]
    fn q_values() {
        let cases = [
            ("0", Some(0)),
            ("1", Some(1000)),
            ("0.25", Some(250)),
            ("1.000", Some(1000)),
            ("1.5", None),
            ("0.", Some(0)),
            ("x", None),
        ];
        for (v, want) in cases {
            assert_eq!(parse_q(v), want, "{v}");
        }
    }

    #[test]
    fn response_copies_dialog_headers_and_tags_to() {
        let r = req(OPTIONS);
        let bytes = ResponseBuilder::new(200, "OK")
            .header("Allow", "OPTIONS")
            .build(&r, "T1");
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(
            text,
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1\r\n\
             From: <sip:a@example.com>;tag=x\r\nTo: <sip:pbx.example.com>;tag=T1\r\n\
             Call-ID: abc\r\nCSeq: 7 OPTIONS\r\nAllow: OPTIONS\r\n\
             Server: Plugboard\r\nContent-Length: 0\r\n\r\n"
        );
        let tagged = req(&OPTIONS.replace("t: <sip:pbx.example.com>", "t: <sip:pbx.example.com>;tag=old"));
        let text = String::from_utf8(ResponseBuilder::new(200, "OK").build(&tagged, "T1")).unwrap();
        assert!(text.contains("To: <sip:pbx.example.com>;tag=old\r\n"), "{text}");
    }
}
