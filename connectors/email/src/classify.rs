//! Is this mail from a machine? Called by `parse` on a mail's top-level headers; its answer goes
//! to the hub as `Inbound::automated`, which keeps such mail on the timeline but never routes it as
//! new work and never answers it, so an auto-reply cannot start a loop. Pure: no IO.

/// Why a mail with these headers was sent by a machine, naming the rule (`"auto-submitted:
/// auto-replied"`), or `None` for a mail a person wrote. `headers` are the top-level header
/// fields as `(name, value)`, in any case, values unfolded or not.
pub fn automated<'a>(headers: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<String> {
    let mut reasons: Vec<(u8, String)> = Vec::new();
    for (name, value) in headers {
        let value = unfold(value);
        let value = value.trim();
        let lower = value.to_ascii_lowercase();
        let name = name.trim().to_ascii_lowercase();
        let found = match name.as_str() {
            // RFC 3834 §5: anything but "no" was not sent by a person.
            "auto-submitted" if first_token(&lower) != "no" => {
                Some((0, format!("auto-submitted: {}", first_token(&lower))))
            }
            // RFC 6522: delivery status notifications and other reports.
            "content-type" if lower.starts_with("multipart/report") => {
                Some((1, "content-type: multipart/report".to_owned()))
            }
            "from" => from_local_part(&lower)
                .filter(|local| matches!(*local, "mailer-daemon" | "postmaster"))
                .map(|local| (2, format!("from: {local}"))),
            // RFC 5321 §4.5.5: bounces and other notifications go out with a null reverse path.
            "return-path" if lower.trim_matches(|c: char| c.is_whitespace()) == "<>" => {
                Some((3, "return-path: <>".to_owned()))
            }
            "precedence" if matches!(first_token(&lower), "bulk" | "list" | "junk") => {
                Some((4, format!("precedence: {}", first_token(&lower))))
            }
            // RFC 2919, RFC 2369.
            "list-id" => Some((5, "list-id".to_owned())),
            "list-unsubscribe" => Some((6, "list-unsubscribe".to_owned())),
            "x-autoreply" | "x-autorespond" if !matches!(first_token(&lower), "no" | "false") => {
                Some((7, name.clone()))
            }
            // Outlook's out-of-office replies; also what bulk senders set to keep auto-replies off.
            "x-auto-response-suppress" => lower
                .split(|c: char| c == ',' || c.is_whitespace())
                .find(|t| matches!(*t, "all" | "oof"))
                .map(|t| (8, format!("x-auto-response-suppress: {t}"))),
            _ => None,
        };
        reasons.extend(found);
    }
    reasons
        .into_iter()
        .min_by_key(|(rank, _)| *rank)
        .map(|(_, reason)| reason)
}

/// RFC 5322 §2.2.3: a folded header is the same header with the line breaks taken out.
fn unfold(value: &str) -> String {
    value.replace("\r\n", "").replace('\n', "")
}

/// The keyword before any parameter (`auto-replied; owner-email=...`).
fn first_token(value: &str) -> &str {
    value.split([';', ' ', '\t']).next().unwrap_or("").trim()
}

/// The local part of the one address in a From field: the one in angle brackets if there is one,
/// else the whole field.
fn from_local_part(from: &str) -> Option<&str> {
    let address = match (from.rfind('<'), from.rfind('>')) {
        (Some(open), Some(close)) if open < close => &from[open + 1..close],
        _ => from,
    };
    let (local, _) = address.trim().rsplit_once('@')?;
    Some(local.trim().trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_as_a_table() {
        type Headers<'a> = &'a [(&'a str, &'a str)];
        let table: &[(Headers, Option<&str>)] = &[
            // A person's mail.
            (
                &[("From", "Alice <alice@example.com>"), ("Subject", "Help")],
                None,
            ),
            (&[("Auto-Submitted", "no")], None),
            (&[("Auto-Submitted", "No")], None),
            (
                &[("Auto-Submitted", "auto-replied")],
                Some("auto-submitted: auto-replied"),
            ),
            (
                &[("auto-submitted", "auto-generated; owner-email=\"x@example.com\"")],
                Some("auto-submitted: auto-generated"),
            ),
            (&[("Precedence", "bulk")], Some("precedence: bulk")),
            (&[("Precedence", "list")], Some("precedence: list")),
            (&[("Precedence", "JUNK")], Some("precedence: junk")),
            (&[("Precedence", "first-class")], None),
            (
                &[("List-Id", "Support <support.lists.example.com>")],
                Some("list-id"),
            ),
            (
                &[("List-Unsubscribe", "<mailto:leave@example.com>")],
                Some("list-unsubscribe"),
            ),
            (&[("Return-Path", "<>")], Some("return-path: <>")),
            (&[("Return-Path", " < > ")], None),
            (&[("Return-Path", "<bounce@example.com>")], None),
            (
                &[("From", "Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>")],
                Some("from: mailer-daemon"),
            ),
            (&[("From", "postmaster@example.com")], Some("from: postmaster")),
            (
                &[("From", "\"Postmaster\" <PostMaster@example.com>")],
                Some("from: postmaster"),
            ),
            // Only the address counts, not the display name.
            (&[("From", "\"mailer-daemon@x\" <alice@example.com>")], None),
            (
                &[(
                    "Content-Type",
                    "multipart/report; report-type=delivery-status;\r\n\tboundary=\"b\"",
                )],
                Some("content-type: multipart/report"),
            ),
            (&[("Content-Type", "multipart/mixed; boundary=x")], None),
            (&[("X-Autoreply", "yes")], Some("x-autoreply")),
            (&[("X-Autorespond", "Out of office")], Some("x-autorespond")),
            (&[("X-Autoreply", "no")], None),
            (
                &[("X-Auto-Response-Suppress", "All")],
                Some("x-auto-response-suppress: all"),
            ),
            (
                &[("X-Auto-Response-Suppress", "DR, RN, NRN, OOF, AutoReply")],
                Some("x-auto-response-suppress: oof"),
            ),
            (&[("X-Auto-Response-Suppress", "RN, NRN")], None),
            // Several rules: the strongest names the reason.
            (
                &[
                    ("X-Auto-Response-Suppress", "All"),
                    ("Precedence", "bulk"),
                    ("Auto-Submitted", "auto-replied"),
                ],
                Some("auto-submitted: auto-replied"),
            ),
            (
                &[
                    ("Return-Path", "<>"),
                    ("From", "MAILER-DAEMON@example.com"),
                    ("Content-Type", "multipart/report; report-type=delivery-status"),
                ],
                Some("content-type: multipart/report"),
            ),
        ];
        for (headers, expected) in table {
            assert_eq!(
                automated(headers.iter().copied()).as_deref(),
                *expected,
                "{headers:?}"
            );
        }
    }
}
