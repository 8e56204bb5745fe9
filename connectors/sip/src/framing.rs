//! Message framing for stream transports (RFC 3261 §18.3). A TCP connection's bytes arrive here
//! before [`crate::message::parse`]: [`next_message`] says how long the first whole message in the
//! buffer is, or that more data is needed, or that the stream cannot be framed and the connection
//! must be closed. Pure: the server owns the buffer and the socket.

use thiserror::Error;

/// Headers longer than this without an end are treated as an attack, not a slow peer.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// A body longer than this is refused (nothing we serve carries more than an SDP).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The whole message, header and body together: no larger than the largest datagram we read,
/// so a stream cannot hand the parser more than UDP could.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FramingError {
    #[error("header section longer than {MAX_HEADER_BYTES} bytes")]
    HeadersTooLong,
    #[error("no Content-Length on a stream transport")]
    MissingContentLength,
    #[error("bad Content-Length")]
    BadContentLength,
    #[error("message longer than {MAX_MESSAGE_BYTES} bytes")]
    MessageTooLong,
}

/// What the front of the buffer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Keep-alive CRLFs (RFC 5626 §3.5.1) to drop before anything else: this many bytes.
    KeepAlive(usize),
    /// A whole message occupies `buf[skip..skip + len]`; consume `skip + len`.
    Message {
        skip: usize,
        len: usize,
    },
    NeedMore,
}

/// Finds the first message in `buf`. Its length is the header section plus `Content-Length`,
/// which a stream transport MUST send (RFC 3261 §18.3, §20.14).
pub fn next_message(buf: &[u8]) -> Result<Frame, FramingError> {
    let skip = buf.iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
    if skip > 0 && skip == buf.len() {
        return Ok(Frame::KeepAlive(skip));
    }
    let rest = &buf[skip..];
    let Some(end) = rest.windows(4).position(|w| w == b"\r\n\r\n") else {
        return if rest.len() > MAX_HEADER_BYTES {
            Err(FramingError::HeadersTooLong)
        } else {
            Ok(Frame::NeedMore)
        };
    };
    if end > MAX_HEADER_BYTES {
        return Err(FramingError::HeadersTooLong);
    }
    let head = &rest[..end];
    let mut length = None;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line[..colon].trim_ascii();
        if name.eq_ignore_ascii_case(b"Content-Length") || name.eq_ignore_ascii_case(b"l") {
            let value = std::str::from_utf8(line[colon + 1..].trim_ascii())
                .ok()
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<usize>().ok())
                .filter(|&n| n <= MAX_BODY_BYTES)
                .ok_or(FramingError::BadContentLength)?;
            if length.is_some_and(|l| l != value) {
                return Err(FramingError::BadContentLength);
            }
            length = Some(value);
        }
    }
    let body = length.ok_or(FramingError::MissingContentLength)?;
    let len = end + 4 + body;
    if len > MAX_MESSAGE_BYTES {
        return Err(FramingError::MessageTooLong);
    }
    if rest.len() < len {
        return Ok(Frame::NeedMore);
    }
    Ok(Frame::Message { skip, len })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "OPTIONS sip:x SIP/2.0\r\nCall-ID: a\r\nContent-Length: 0\r\n\r\n";
    const B: &str = "MESSAGE sip:x SIP/2.0\r\nl: 5\r\n\r\nhello";

    #[test]
    fn framing_table() {
        let two = format!("{A}{B}");
        let cases: Vec<(String, Result<Frame, FramingError>)> = vec![
            (String::new(), Ok(Frame::NeedMore)),
            ("\r\n\r\n".into(), Ok(Frame::KeepAlive(4))),
            (A[..20].into(), Ok(Frame::NeedMore)),
            (
                A.into(),
                Ok(Frame::Message {
                    skip: 0,
                    len: A.len(),
                }),
            ),
            (
                format!("\r\n{A}"),
                Ok(Frame::Message {
                    skip: 2,
                    len: A.len(),
                }),
            ),
            (
                two.clone(),
                Ok(Frame::Message {
                    skip: 0,
                    len: A.len(),
                }),
            ),
            (B[..B.len() - 1].into(), Ok(Frame::NeedMore)),
            (
                B.into(),
                Ok(Frame::Message {
                    skip: 0,
                    len: B.len(),
                }),
            ),
            (
                "OPTIONS sip:x SIP/2.0\r\nCall-ID: a\r\n\r\n".into(),
                Err(FramingError::MissingContentLength),
            ),
            (
                "OPTIONS sip:x SIP/2.0\r\nContent-Length: -1\r\n\r\n".into(),
                Err(FramingError::BadContentLength),
            ),
            (
                "OPTIONS sip:x SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab".into(),
                Err(FramingError::BadContentLength),
            ),
            (
                format!("OPTIONS sip:x SIP/2.0\r\nl: {}\r\n\r\n", MAX_BODY_BYTES + 1),
                Err(FramingError::BadContentLength),
            ),
            (
                "x".repeat(MAX_HEADER_BYTES + 1),
                Err(FramingError::HeadersTooLong),
            ),
            // Header and body each under their limit, together over the message's: refused as
            // soon as the header says so, before the body is read (a 72 KiB torture message).
            (
                format!(
                    "OPTIONS sip:x SIP/2.0\r\nX-Pad: {}\r\nl: {MAX_BODY_BYTES}\r\n\r\n",
                    "p".repeat(8 * 1024)
                ),
                Err(FramingError::MessageTooLong),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(next_message(input.as_bytes()), want, "{input:?}");
        }
        // The second message follows once the first is consumed.
        assert_eq!(
            next_message(&two.as_bytes()[A.len()..]),
            Ok(Frame::Message {
                skip: 0,
                len: B.len()
            })
        );
    }
}
