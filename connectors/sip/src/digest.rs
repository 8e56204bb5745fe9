//! Server-side digest authentication for SIP (RFC 3261 §22, with RFC 7616 for SHA-256 as RFC 8760
//! brings it to SIP). The registrar challenges an agent's phone on REGISTER and the trunk side
//! challenges INVITEs from unlisted addresses; both come here with the `Authorization` (or
//! `Proxy-Authorization`) header value and get a verdict back.
//!
//! Nonces are stateless: each carries its issue time and an HMAC over it, so any nonce we issued
//! can be checked, and found expired, without a table of outstanding nonces. The only state is the
//! highest nonce count seen for each nonce that has authenticated a request, which refuses replays
//! (RFC 7616 §3.4.5, §5.10); it is bounded by the nonce lifetime (`purge`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{KeyInit, Mac};
use sha2::Digest as _;
use subtle::ConstantTimeEq;
use thiserror::Error;

/// The hash behind a challenge (RFC 7616 §3.3). The `-sess` variants are never offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("MD5") {
            Some(Algorithm::Md5)
        } else if s.eq_ignore_ascii_case("SHA-256") {
            Some(Algorithm::Sha256)
        } else {
            None
        }
    }

    /// The hash of `data` as lowercase hex, as every digest computation wants it.
    fn hex(self, data: &str) -> String {
        match self {
            Algorithm::Md5 => hex(&md5::Md5::digest(data.as_bytes())),
            Algorithm::Sha256 => hex(&sha2::Sha256::digest(data.as_bytes())),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
        .collect()
}

/// H(username ":" realm ":" password), RFC 7616 §3.4.2. Exposed so accounts may store this
/// instead of the password (one per algorithm).
pub fn ha1(algorithm: Algorithm, username: &str, realm: &str, password: &str) -> String {
    algorithm.hex(&format!("{username}:{realm}:{password}"))
}

/// The request-digest of RFC 7616 §3.4.1 (with qop) or RFC 2069 (without qop, RFC 3261 §22.4
/// keeps it for old clients), from HA1 and the request's method and digest-uri.
pub fn request_digest(
    algorithm: Algorithm,
    ha1: &str,
    nonce: &str,
    qop: Option<(&NonceCount, &str)>,
    method: &str,
    uri: &str,
) -> String {
    let ha2 = algorithm.hex(&format!("{method}:{uri}"));
    match qop {
        Some((nc, cnonce)) => algorithm.hex(&format!("{ha1}:{nonce}:{}:{cnonce}:auth:{ha2}", nc.text)),
        None => algorithm.hex(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

/// An `nc` parameter: exactly 8 hex digits (RFC 7616 §3.4), kept as sent because the text goes
/// into the hash, and as a number for the replay check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceCount {
    pub value: u32,
    text: String,
}

impl NonceCount {
    pub fn parse(s: &str) -> Option<Self> {
        if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(NonceCount {
            value: u32::from_str_radix(s, 16).ok()?,
            text: s.to_owned(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("not a Digest credential")]
    NotDigest,
    #[error("syntax error at byte {0}")]
    Syntax(usize),
    #[error("parameter {0} appears twice")]
    Duplicate(String),
    #[error("required parameter {0} is missing")]
    Missing(&'static str),
    #[error("nc {0:?} is not 8 hex digits")]
    BadNonceCount(String),
    #[error("algorithm {0:?} is not supported")]
    UnsupportedAlgorithm(String),
    #[error("qop {0:?} is not supported")]
    UnsupportedQop(String),
}

/// The parsed `Authorization` header value. Unknown parameters are ignored (RFC 7616 §3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: Algorithm,
    /// `qop=auth` with its nonce count and client nonce, or `None` for an RFC 2069 client.
    pub qop: Option<(NonceCount, String)>,
    pub opaque: Option<String>,
}

impl Credentials {
    /// Parses `Digest username="…", realm="…", …`: parameters in any order, values quoted (with
    /// `\` escapes) or bare tokens, any amount of linear whitespace, empty list elements skipped.
    pub fn parse(header: &str) -> Result<Self, ParseError> {
        let params = parse_params(header)?;
        let get = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        };
        let required = |name: &'static str| get(name).cloned().ok_or(ParseError::Missing(name));

        let algorithm = match get("algorithm") {
            None => Algorithm::Md5,
            Some(a) => Algorithm::parse(a).ok_or_else(|| ParseError::UnsupportedAlgorithm(a.clone()))?,
        };
        let qop = match get("qop") {
            None => None,
            Some(q) if q.eq_ignore_ascii_case("auth") => {
                let nc_text = required("nc")?;
                let nc = NonceCount::parse(&nc_text).ok_or(ParseError::BadNonceCount(nc_text))?;
                Some((nc, required("cnonce")?))
            }
            Some(q) => return Err(ParseError::UnsupportedQop(q.clone())),
        };
        Ok(Credentials {
            username: required("username")?,
            realm: required("realm")?,
            nonce: required("nonce")?,
            uri: required("uri")?,
            response: required("response")?,
            algorithm,
            qop,
            opaque: get("opaque").cloned(),
        })
    }
}

/// RFC 7230 §3.2.6 `tchar`, which covers every character of RFC 3261 §25.1 `token`.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn parse_params(header: &str) -> Result<Vec<(String, String)>, ParseError> {
    let bytes = header.as_bytes();
    let mut at = 0;
    let skip_lws = |at: &mut usize| {
        while *at < bytes.len() && is_lws(bytes[*at]) {
            *at += 1;
        }
    };
    let token = |at: &mut usize| {
        let start = *at;
        while *at < bytes.len() && is_token(bytes[*at]) {
            *at += 1;
        }
        &header[start..*at]
    };

    skip_lws(&mut at);
    if !token(&mut at).eq_ignore_ascii_case("Digest") {
        return Err(ParseError::NotDigest);
    }
    if at < bytes.len() && !is_lws(bytes[at]) {
        return Err(ParseError::NotDigest);
    }

    let mut params: Vec<(String, String)> = Vec::new();
    loop {
        skip_lws(&mut at);
        if at == bytes.len() {
            break;
        }
        if bytes[at] == b',' {
            at += 1;
            continue;
        }
        let name = token(&mut at);
        if name.is_empty() {
            return Err(ParseError::Syntax(at));
        }
        skip_lws(&mut at);
        if bytes.get(at) != Some(&b'=') {
            return Err(ParseError::Syntax(at));
        }
        at += 1;
        skip_lws(&mut at);
        let value = if bytes.get(at) == Some(&b'"') {
            at += 1;
            let mut value = Vec::new();
            loop {
                match bytes.get(at) {
                    None => return Err(ParseError::Syntax(at)),
                    Some(b'"') => {
                        at += 1;
                        break;
                    }
                    Some(b'\\') => {
                        let escaped = *bytes.get(at + 1).ok_or(ParseError::Syntax(at))?;
                        value.push(escaped);
                        at += 2;
                    }
                    Some(&b) => {
                        value.push(b);
                        at += 1;
                    }
                }
            }
            // Only an ASCII byte can follow a backslash and be dropped, so this stays UTF-8.
            String::from_utf8(value).map_err(|_| ParseError::Syntax(at))?
        } else {
            let value = token(&mut at);
            if value.is_empty() {
                return Err(ParseError::Syntax(at));
            }
            value.to_owned()
        };
        if params.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return Err(ParseError::Duplicate(name.to_owned()));
        }
        params.push((name.to_owned(), value));
        skip_lws(&mut at);
        match bytes.get(at) {
            None => break,
            Some(b',') => at += 1,
            Some(_) => return Err(ParseError::Syntax(at)),
        }
    }
    Ok(params)
}

/// Why a credential was refused. Every case is answered 401 with a new challenge; only
/// [`AuthError::Stale`] sets `stale=true` on it, so the phone retries without asking its user.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AuthError {
    #[error("the nonce was not issued by us")]
    ForeignNonce,
    #[error("the realm {0:?} is not ours")]
    WrongRealm(String),
    #[error("the response does not match")]
    WrongResponse,
    #[error("the nonce has expired but the response is right")]
    Stale,
    #[error("nonce count {nc} does not follow {last}")]
    Replay { nc: u32, last: u32 },
    #[error("qop=auth is required")]
    QopRequired,
}

/// What the account holds to check the response against.
#[derive(Debug, Clone, Copy)]
pub enum Secret<'a> {
    Password(&'a str),
    /// H(username:realm:password) for the algorithm the credential uses.
    Ha1(&'a str),
}

const NONCE_MAC_LEN: usize = 16;
const NONCE_LEN: usize = 8 + 8 + NONCE_MAC_LEN;

/// A nonce's state once it has authenticated something.
#[derive(Debug, Clone, Copy)]
struct Seen {
    issued: u64,
    last_nc: u32,
}

/// One realm's challenges and verifications.
#[derive(Debug)]
pub struct DigestAuth {
    realm: String,
    key: Vec<u8>,
    lifetime: Duration,
    seen: HashMap<String, Seen>,
}

impl DigestAuth {
    /// `key` signs the nonces: random at startup is enough (a restart only makes outstanding
    /// nonces stale). `lifetime` is how long a nonce stays good.
    pub fn new(realm: impl Into<String>, key: &[u8], lifetime: Duration) -> Self {
        DigestAuth {
            realm: realm.into(),
            key: key.to_vec(),
            lifetime,
            seen: HashMap::new(),
        }
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    fn mac(&self, data: &[u8]) -> [u8; NONCE_MAC_LEN] {
        let mut mac =
            hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(data);
        let full = mac.finalize().into_bytes();
        let mut out = [0; NONCE_MAC_LEN];
        out.copy_from_slice(&full[..NONCE_MAC_LEN]);
        out
    }

    /// A new nonce: issue time (seconds), `salt` (random, from the caller), HMAC; in hex.
    pub fn nonce(&self, now: SystemTime, salt: [u8; 8]) -> String {
        let mut raw = Vec::with_capacity(NONCE_LEN);
        raw.extend_from_slice(&unix_secs(now).to_be_bytes());
        raw.extend_from_slice(&salt);
        let mac = self.mac(&raw);
        raw.extend_from_slice(&mac);
        hex(&raw)
    }

    /// The issue time of a nonce we signed, or `None` for any other string.
    fn nonce_issued(&self, nonce: &str) -> Option<u64> {
        let raw = unhex(nonce).filter(|r| r.len() == NONCE_LEN)?;
        let (signed, mac) = raw.split_at(16);
        bool::from(self.mac(signed).ct_eq(mac))
            .then(|| u64::from_be_bytes(signed[..8].try_into().expect("8 bytes")))
    }

    /// One `WWW-Authenticate` (or `Proxy-Authenticate`) header value.
    pub fn challenge(&self, algorithm: Algorithm, nonce: &str, stale: bool) -> String {
        let mut h = format!(
            "Digest realm={}, nonce=\"{nonce}\", algorithm={}, qop=\"auth\"",
            quote(&self.realm),
            algorithm.as_str()
        );
        if stale {
            h.push_str(", stale=true");
        }
        h
    }

    /// The challenges to send, one header each: SHA-256 first as the preferred one (RFC 7616
    /// §3.7, RFC 8760 §2.4), then MD5 for phones that know nothing else; both with one nonce.
    pub fn challenges(&self, now: SystemTime, salt: [u8; 8], stale: bool) -> [String; 2] {
        let nonce = self.nonce(now, salt);
        [
            self.challenge(Algorithm::Sha256, &nonce, stale),
            self.challenge(Algorithm::Md5, &nonce, stale),
        ]
    }

    /// Checks a credential for a request with `method`, against the account's secret.
    /// The caller has looked the account up by `credentials.username`. On success the nonce
    /// count is recorded, so the same count (a replay) is refused next time.
    pub fn verify(
        &mut self,
        credentials: &Credentials,
        method: &str,
        secret: Secret<'_>,
        now: SystemTime,
    ) -> Result<(), AuthError> {
        if credentials.realm != self.realm {
            return Err(AuthError::WrongRealm(credentials.realm.clone()));
        }
        let issued = self
            .nonce_issued(&credentials.nonce)
            .ok_or(AuthError::ForeignNonce)?;
        // We always offer qop=auth; without it a captured request could be replayed freely.
        let Some((nc, cnonce)) = &credentials.qop else {
            return Err(AuthError::QopRequired);
        };

        let ha1 = match secret {
            Secret::Password(p) => ha1(credentials.algorithm, &credentials.username, &self.realm, p),
            Secret::Ha1(h) => h.to_ascii_lowercase(),
        };
        let expected = request_digest(
            credentials.algorithm,
            &ha1,
            &credentials.nonce,
            Some((nc, cnonce)),
            method,
            &credentials.uri,
        );
        let given = credentials.response.to_ascii_lowercase();
        if !bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
            return Err(AuthError::WrongResponse);
        }
        // RFC 7616 §3.3: stale only when the digest itself is right, so the phone retries with
        // a new nonce instead of asking its user for a password.
        if self.expired(issued, now) {
            return Err(AuthError::Stale);
        }
        let seen = self
            .seen
            .entry(credentials.nonce.clone())
            .or_insert(Seen { issued, last_nc: 0 });
        if nc.value <= seen.last_nc {
            return Err(AuthError::Replay {
                nc: nc.value,
                last: seen.last_nc,
            });
        }
        seen.last_nc = nc.value;
        Ok(())
    }

    fn expired(&self, issued: u64, now: SystemTime) -> bool {
        unix_secs(now) > issued.saturating_add(self.lifetime.as_secs())
    }

    /// Forgets the nonce counts of nonces that have expired; call it now and then.
    pub fn purge(&mut self, now: SystemTime) {
        let lifetime = self.lifetime.as_secs();
        let now = unix_secs(now);
        self.seen.retain(|_, s| now <= s.issued.saturating_add(lifetime));
    }

    /// How many nonces' counts are tracked (for tests and metrics).
    pub fn tracked_nonces(&self) -> usize {
        self.seen.len()
    }
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A quoted-string with `"` and `\` escaped (RFC 3261 §25.1).
fn quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            q.push('\\');
        }
        q.push(c);
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
    const RFC7616_AUTH: &str = r#"Digest username="Mufasa",
       realm="http-auth@example.org",
       uri="/dir/index.html",
       algorithm=ALG,
       nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
       nc=00000001,
       cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
       qop=auth,
       response="RESPONSE",
       opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS""#;

    #[test]
    fn rfc_vectors() {
        // (algorithm token, password, method, expected response)
        let cases = [
            ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
            (
                "SHA-256",
                "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            ),
        ];
        for (alg, response) in cases {
            let header = RFC7616_AUTH.replace("ALG", alg).replace("RESPONSE", response);
            let c = Credentials::parse(&header).unwrap();
            assert_eq!(c.algorithm.as_str(), alg);
            let ha1 = ha1(c.algorithm, &c.username, &c.realm, "Circle of Life");
            let (nc, cnonce) = c.qop.as_ref().unwrap();
            let got = request_digest(c.algorithm, &ha1, &c.nonce, Some((nc, cnonce)), "GET", &c.uri);
            assert_eq!(got, response, "{alg}");
        }
    }

    #[test]
    fn rfc2617_vector() {
        // RFC 2617 §3.5 (note the capital O in its password).
        let c = Credentials::parse(
            r#"Digest username="Mufasa", realm="testrealm@host.com",
            nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth,
            nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1",
            opaque="5ccc069c403ebaf9f0171e9517f40e41""#,
        )
        .unwrap();
        let ha1 = ha1(Algorithm::Md5, "Mufasa", "testrealm@host.com", "Circle Of Life");
        let (nc, cnonce) = c.qop.as_ref().unwrap();
        let got = request_digest(Algorithm::Md5, &ha1, &c.nonce, Some((nc, cnonce)), "GET", &c.uri);
        assert_eq!(got, c.response);
        assert_eq!(c.opaque.as_deref(), Some("5ccc069c403ebaf9f0171e9517f40e41"));
    }

    #[test]
    fn sip_register_vectors() {
        // Computed independently (Python hashlib) for a REGISTER as a SIP phone sends it:
        // user 1001, realm plugboard, password s3cret, uri sip:pbx.example.com,
        // nonce "abc", nc 0000000a (ten: a u8-decimal parser fails here), cnonce "xyz".
        let cases = [
            (Algorithm::Md5, "534368e57575d548a2a9001dd1c8e6da"),
            (
                Algorithm::Sha256,
                "f1be56c030ca5854e3850894b58c448c10f94d5476a56162e6910b9a63dd86df",
            ),
        ];
        for (alg, want) in cases {
            let ha1 = ha1(alg, "1001", "plugboard", "s3cret");
            let nc = NonceCount::parse("0000000a").unwrap();
            assert_eq!(nc.value, 10);
            let got = request_digest(
                alg,
                &ha1,
                "abc",
                Some((&nc, "xyz")),
                "REGISTER",
                "sip:pbx.example.com",
            );
            assert_eq!(got, want, "{alg:?}");
        }
        // RFC 2069 form (no qop), still computed for completeness.
        let ha1 = ha1(Algorithm::Md5, "1001", "plugboard", "s3cret");
        assert_eq!(
            request_digest(
                Algorithm::Md5,
                &ha1,
                "abc",
                None,
                "REGISTER",
                "sip:pbx.example.com"
            ),
            "faa758957e9288a71494e16717c0e4e5"
        );
    }

    #[test]
    fn parser_accepts_what_phones_send() {
        let cases: &[(&str, &str, &str, u32)] = &[
            // (header, username, uri, nc)
            (
                r#"Digest username="1001",realm="plugboard",nonce="n",uri="sip:a",response="r",algorithm=MD5,cnonce="c",qop=auth,nc=00000001"#,
                "1001",
                "sip:a",
                1,
            ),
            // Any order, tokens unquoted where allowed, extra spaces and empty list elements.
            (
                "digest   nc=0000000A , qop=\"auth\",, response=\"r\" ,uri=\"sip:b;transport=tcp\",\r\n nonce=n, realm=\"plugboard\", cnonce=c, username=u",
                "u",
                "sip:b;transport=tcp",
                10,
            ),
            // Escapes in quoted strings; an unknown parameter is ignored.
            (
                r#"Digest username="a\"b\\c", realm="plugboard", nonce="n", uri="sip:x", response="r", qop=auth, nc=ffffffff, cnonce="c", userhash=false"#,
                "a\"b\\c",
                "sip:x",
                u32::MAX,
            ),
            // Non-ASCII user names survive.
            (
                r#"Digest username="Jürgen", realm="plugboard", nonce="n", uri="sip:x", response="r", qop=auth, nc=00000002, cnonce="c""#,
                "Jürgen",
                "sip:x",
                2,
            ),
        ];
        for (header, user, uri, nc) in cases {
            let c = Credentials::parse(header).unwrap_or_else(|e| panic!("{header}: {e}"));
            assert_eq!((c.username.as_str(), c.uri.as_str()), (*user, *uri));
            assert_eq!(c.qop.as_ref().map(|q| q.0.value), Some(*nc));
        }
    }

    #[test]
    fn parser_refuses_malformed_headers() {
        let base = r#"username="u", realm="r", nonce="n", uri="sip:x", response="r""#;
        let cases: Vec<(String, ParseError)> = vec![
            (format!("Basic {base}"), ParseError::NotDigest),
            ("Digestusername=\"u\"".into(), ParseError::NotDigest),
            (String::new(), ParseError::NotDigest),
            ("Digest username=\"u".into(), ParseError::Syntax(18)),
            ("Digest username=\"u\\".into(), ParseError::Syntax(18)),
            ("Digest username".into(), ParseError::Syntax(15)),
            ("Digest =x".into(), ParseError::Syntax(7)),
            ("Digest username=".into(), ParseError::Syntax(16)),
            ("Digest username=\"u\" realm=\"r\"".into(), ParseError::Syntax(20)),
            (
                format!("Digest {base}, username=\"v\""),
                ParseError::Duplicate("username".into()),
            ),
            (
                format!("Digest {base}, USERNAME=\"v\""),
                ParseError::Duplicate("USERNAME".into()),
            ),
            (
                "Digest realm=\"r\", nonce=\"n\", uri=\"u\", response=\"r\"".into(),
                ParseError::Missing("username"),
            ),
            (
                format!("Digest {base}, qop=auth, nc=00000001"),
                ParseError::Missing("cnonce"),
            ),
            (
                format!("Digest {base}, qop=auth, cnonce=c"),
                ParseError::Missing("nc"),
            ),
            (
                format!("Digest {base}, qop=auth, nc=1, cnonce=c"),
                ParseError::BadNonceCount("1".into()),
            ),
            (
                format!("Digest {base}, qop=auth, nc=0000000g, cnonce=c"),
                ParseError::BadNonceCount("0000000g".into()),
            ),
            (
                format!("Digest {base}, qop=auth, nc=+0000001, cnonce=c"),
                ParseError::BadNonceCount("+0000001".into()),
            ),
            (
                format!("Digest {base}, algorithm=MD5-sess"),
                ParseError::UnsupportedAlgorithm("MD5-sess".into()),
            ),
            (
                format!("Digest {base}, qop=auth-int"),
                ParseError::UnsupportedQop("auth-int".into()),
            ),
        ];
        for (header, err) in cases {
            assert_eq!(Credentials::parse(&header), Err(err), "{header}");
        }
    }

    const KEY: &[u8] = b"a key for tests, 32 bytes long!!";
    const LIFETIME: Duration = Duration::from_secs(300);

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
    }

    /// What a phone sends back for a challenge: its own computation, written out.
    fn answer(alg: Algorithm, nonce: &str, nc: &str, password: &str, realm: &str) -> Credentials {
        let ha1 = ha1(alg, "1001", realm, password);
        let nc_value = NonceCount::parse(nc).unwrap();
        let response = request_digest(alg, &ha1, nonce, Some((&nc_value, "cn")), "REGISTER", "sip:pbx");
        let header = format!(
            "Digest username=\"1001\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"sip:pbx\", \
             response=\"{response}\", algorithm={}, qop=auth, nc={nc}, cnonce=\"cn\"",
            alg.as_str()
        );
        Credentials::parse(&header).unwrap()
    }

    #[test]
    fn challenge_headers_offer_sha256_first() {
        let auth = DigestAuth::new("plug\"board", KEY, LIFETIME);
        let [sha, md5] = auth.challenges(at(0), [1; 8], false);
        let nonce = auth.nonce(at(0), [1; 8]);
        assert_eq!(
            sha,
            format!(r#"Digest realm="plug\"board", nonce="{nonce}", algorithm=SHA-256, qop="auth""#)
        );
        assert!(md5.contains("algorithm=MD5") && !md5.contains("stale"), "{md5}");
        let [stale, _] = auth.challenges(at(0), [1; 8], true);
        assert!(stale.ends_with(", stale=true"), "{stale}");
        // Different salts give different nonces at the same second.
        assert_ne!(auth.nonce(at(0), [1; 8]), auth.nonce(at(0), [2; 8]));
    }

    #[test]
    fn verification_scenarios() {
        let auth = DigestAuth::new("plugboard", KEY, LIFETIME);
        let nonce = auth.nonce(at(0), [7; 8]);
        let other_key = DigestAuth::new("plugboard", b"another key", LIFETIME).nonce(at(0), [7; 8]);
        let mut tampered = nonce.clone();
        tampered.replace_range(0..2, if &nonce[0..2] == "00" { "01" } else { "00" });

        // Each row runs in order on one verifier: (what, credential, password, when, verdict).
        type Row<'a> = (&'a str, Credentials, &'a str, u64, Result<(), AuthError>);
        let rows: Vec<Row> = vec![
            (
                "md5 ok",
                answer(Algorithm::Md5, &nonce, "00000001", "pw", "plugboard"),
                "pw",
                10,
                Ok(()),
            ),
            (
                "same nc again is a replay",
                answer(Algorithm::Md5, &nonce, "00000001", "pw", "plugboard"),
                "pw",
                11,
                Err(AuthError::Replay { nc: 1, last: 1 }),
            ),
            (
                "sha-256 nc 2 ok",
                answer(Algorithm::Sha256, &nonce, "00000002", "pw", "plugboard"),
                "pw",
                12,
                Ok(()),
            ),
            (
                "skipping ahead is fine",
                answer(Algorithm::Md5, &nonce, "0000000A", "pw", "plugboard"),
                "pw",
                13,
                Ok(()),
            ),
            (
                "going back is not",
                answer(Algorithm::Md5, &nonce, "00000009", "pw", "plugboard"),
                "pw",
                14,
                Err(AuthError::Replay { nc: 9, last: 10 }),
            ),
            (
                "wrong password",
                answer(Algorithm::Md5, &nonce, "0000000b", "nope", "plugboard"),
                "pw",
                15,
                Err(AuthError::WrongResponse),
            ),
            (
                "wrong password does not advance the count",
                answer(Algorithm::Md5, &nonce, "0000000b", "pw", "plugboard"),
                "pw",
                16,
                Ok(()),
            ),
            (
                "expired nonce, right password: stale",
                answer(Algorithm::Md5, &nonce, "0000000c", "pw", "plugboard"),
                "pw",
                301,
                Err(AuthError::Stale),
            ),
            (
                "expired nonce, wrong password: not stale",
                answer(Algorithm::Md5, &nonce, "0000000c", "nope", "plugboard"),
                "pw",
                301,
                Err(AuthError::WrongResponse),
            ),
            (
                "a nonce signed by another key",
                answer(Algorithm::Md5, &other_key, "00000001", "pw", "plugboard"),
                "pw",
                20,
                Err(AuthError::ForeignNonce),
            ),
            (
                "a nonce with its time changed",
                answer(Algorithm::Md5, &tampered, "00000001", "pw", "plugboard"),
                "pw",
                20,
                Err(AuthError::ForeignNonce),
            ),
            (
                "someone else's nonce text",
                answer(
                    Algorithm::Md5,
                    "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                    "00000001",
                    "pw",
                    "plugboard",
                ),
                "pw",
                20,
                Err(AuthError::ForeignNonce),
            ),
            (
                "another realm",
                answer(Algorithm::Md5, &nonce, "00000020", "pw", "elsewhere"),
                "pw",
                20,
                Err(AuthError::WrongRealm("elsewhere".into())),
            ),
        ];
        let mut auth = auth;
        for (what, credentials, password, secs, verdict) in rows {
            assert_eq!(
                auth.verify(&credentials, "REGISTER", Secret::Password(password), at(secs)),
                verdict,
                "{what}"
            );
        }
    }

    #[test]
    fn verification_with_stored_ha1_and_rfc2069_client() {
        let mut auth = DigestAuth::new("plugboard", KEY, LIFETIME);
        let nonce = auth.nonce(at(0), [0; 8]);
        let c = answer(Algorithm::Sha256, &nonce, "00000001", "pw", "plugboard");
        let stored = ha1(Algorithm::Sha256, "1001", "plugboard", "pw").to_uppercase();
        assert_eq!(auth.verify(&c, "REGISTER", Secret::Ha1(&stored), at(1)), Ok(()));
        // The same credential for another method does not verify (HA2 covers the method).
        let c = answer(Algorithm::Sha256, &nonce, "00000002", "pw", "plugboard");
        assert_eq!(
            auth.verify(&c, "INVITE", Secret::Password("pw"), at(1)),
            Err(AuthError::WrongResponse)
        );

        let ha1 = ha1(Algorithm::Md5, "1001", "plugboard", "pw");
        let response = request_digest(Algorithm::Md5, &ha1, &nonce, None, "REGISTER", "sip:pbx");
        let header = format!(
            "Digest username=\"1001\", realm=\"plugboard\", nonce=\"{nonce}\", uri=\"sip:pbx\", response=\"{response}\""
        );
        let c = Credentials::parse(&header).unwrap();
        assert_eq!(
            auth.verify(&c, "REGISTER", Secret::Password("pw"), at(1)),
            Err(AuthError::QopRequired)
        );
    }

    #[test]
    fn purge_forgets_expired_nonces_only() {
        let mut auth = DigestAuth::new("plugboard", KEY, LIFETIME);
        let old = auth.nonce(at(0), [1; 8]);
        let new = auth.nonce(at(200), [2; 8]);
        for nonce in [&old, &new] {
            let c = answer(Algorithm::Md5, nonce, "00000001", "pw", "plugboard");
            auth.verify(&c, "REGISTER", Secret::Password("pw"), at(250))
                .unwrap();
        }
        assert_eq!(auth.tracked_nonces(), 2);
        auth.purge(at(301));
        assert_eq!(auth.tracked_nonces(), 1);
        // The surviving nonce still refuses its replay.
        let c = answer(Algorithm::Md5, &new, "00000001", "pw", "plugboard");
        assert_eq!(
            auth.verify(&c, "REGISTER", Secret::Password("pw"), at(302)),
            Err(AuthError::Replay { nc: 1, last: 1 })
        );
    }

    proptest! {
        #[test]
        fn parser_never_panics(s in "\\PC*") {
            let _ = Credentials::parse(&s);
            let _ = Credentials::parse(&format!("Digest {s}"));
        }

        #[test]
        fn parser_never_panics_on_near_valid_input(
            s in r#"Digest( |,|=|"|\\|username|nc|qop|auth|[a-z0-9]{1,4}|ü)*"#
        ) {
            let _ = Credentials::parse(&s);
        }

        #[test]
        fn quoted_values_round_trip(user in "\\PC{0,20}") {
            let header = format!(
                "Digest username={}, realm=r, nonce=n, uri=u, response=x",
                quote(&user)
            );
            prop_assert_eq!(Credentials::parse(&header).unwrap().username, user);
        }
    }
}
