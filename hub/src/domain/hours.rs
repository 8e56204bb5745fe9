//! Business hours: when a queue takes contacts. A caller outside them (or, when the queue says
//! so, while nobody who could take the call is signed in) hears the closed message and may leave
//! a voicemail instead of waiting in a queue nobody will answer (see `crate::telephony`).
//!
//! Pure: the hours and an instant in, open or closed out. Spans are wall-clock times in the
//! queue's own time zone, so "09:00-18:00" stays 09:00-18:00 across a DST change; a span that ends
//! before it starts runs past midnight into the next day ("22:00-06:00"), and a holiday closes
//! its whole local date.

use super::Millis;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// A queue's opening hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// IANA time zone the spans are read in, e.g. `Asia/Shanghai`.
    pub time_zone: String,
    /// The spans each weekday is open, `mon` … `sun` → `["09:00-12:30", "13:30-18:00"]`; a day not
    /// listed is closed, `"00:00-24:00"` is the whole day.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub open: BTreeMap<Day, Vec<Span>>,
    /// Local dates closed all day (`2026-10-01`).
    #[serde(default, deserialize_with = "dates")]
    #[schema(value_type = Vec<String>)]
    pub holidays: Vec<Date>,
    /// Also closed while nobody with the queue's skills is signed in (available, busy or on a
    /// break): a caller would otherwise wait for an agent who is not coming.
    #[serde(default)]
    pub closed_when_unstaffed: bool,
}

/// A weekday as the hours name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    fn of(weekday: Weekday) -> Day {
        match weekday {
            Weekday::Monday => Day::Mon,
            Weekday::Tuesday => Day::Tue,
            Weekday::Wednesday => Day::Wed,
            Weekday::Thursday => Day::Thu,
            Weekday::Friday => Day::Fri,
            Weekday::Saturday => Day::Sat,
            Weekday::Sunday => Day::Sun,
        }
    }
}

/// From `from` to `to`, minutes after local midnight; `to` may be 1440 (`24:00`), and `to <=
/// from` means the span runs into the next day. Written `"HH:MM-HH:MM"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub from: u16,
    pub to: u16,
}

const DAY: u16 = 24 * 60;

impl Span {
    fn overnight(self) -> bool {
        self.to <= self.from
    }
}

impl std::str::FromStr for Span {
    type Err = String;

    fn from_str(s: &str) -> Result<Span, String> {
        let bad = || format!("{s:?} is not a span of hours like \"09:00-18:00\"");
        let (from, to) = s.split_once('-').ok_or_else(bad)?;
        let minutes = |t: &str| -> Option<u16> {
            let (h, m) = t.trim().split_once(':')?;
            if h.is_empty() || h.len() > 2 || m.len() != 2 {
                return None;
            }
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (h < 24 && m < 60 || h == 24 && m == 0).then_some(h * 60 + m)
        };
        let (from, to) = (minutes(from).ok_or_else(bad)?, minutes(to).ok_or_else(bad)?);
        if from == DAY {
            return Err(format!("{s:?} starts at 24:00; start the next day at 00:00"));
        }
        if from == to {
            return Err(format!("{s:?} is empty; \"00:00-24:00\" is the whole day"));
        }
        Ok(Span { from, to })
    }
}

impl std::fmt::Display for Span {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{}-{}", hm(self.from), hm(self.to))
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// Dates as `YYYY-MM-DD`, a bad one named in the error.
fn dates<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Date>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|s| {
            s.parse()
                .map_err(|_| serde::de::Error::custom(format!("{s:?} is not a date like \"2026-10-01\"")))
        })
        .collect()
}

impl BusinessHours {
    /// What an admin must fix before the hours are kept: a time zone nobody knows.
    pub fn check(&self) -> Result<(), String> {
        TimeZone::get(&self.time_zone).map(|_| ()).map_err(|_| {
            format!(
                "{:?} is not an IANA time zone like \"Asia/Shanghai\"",
                self.time_zone
            )
        })
    }

    /// Whether the queue is open at `at`. Hours whose time zone cannot be read (not kept by
    /// `check`) count as open: a caller is queued rather than turned away by a typo.
    pub fn open_at(&self, at: Millis) -> bool {
        let Ok(tz) = TimeZone::get(&self.time_zone) else {
            return true;
        };
        let Ok(now) = jiff::Timestamp::from_millisecond(at) else {
            return true;
        };
        let local = now.to_zoned_datetime(tz).datetime();
        let today = local.date();
        if self.holidays.contains(&today) {
            return false;
        }
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        let spans = |date: Date| self.open.get(&Day::of(date.weekday())).into_iter().flatten();
        let from_today = spans(today).any(|s| minute >= s.from && (s.overnight() || minute < s.to));
        // Yesterday's overnight spans run into today's early hours (unless yesterday was a
        // holiday: its whole date was closed, so nothing of it opened).
        let from_yesterday = today.yesterday().is_ok_and(|yesterday| {
            !self.holidays.contains(&yesterday) && spans(yesterday).any(|s| s.overnight() && minute < s.to)
        });
        from_today || from_yesterday
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Millis {
        s.parse::<jiff::Timestamp>().unwrap().as_millisecond()
    }

    fn hours(json: serde_json::Value) -> BusinessHours {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn open_or_closed_by_the_local_clock() {
        // Shanghai is UTC+8 all year; Monday 2026-11-30.
        let h = hours(serde_json::json!({
            "time_zone": "Asia/Shanghai",
            "open": {"mon": ["09:00-12:30", "13:30-18:00"], "sat": ["22:00-02:00"], "sun": ["00:00-24:00"]},
            "holidays": ["2026-12-25"],
        }));
        h.check().unwrap();
        let table = [
            ("2026-11-30T00:59:59Z", false, "Mon 08:59 local: not yet"),
            ("2026-11-30T01:00:00Z", true, "Mon 09:00: opens"),
            ("2026-11-30T04:29:00Z", true, "Mon 12:29"),
            (
                "2026-11-30T04:30:00Z",
                false,
                "Mon 12:30: lunch (the end is not included)",
            ),
            ("2026-11-30T05:30:00Z", true, "Mon 13:30: back"),
            ("2026-11-30T10:00:00Z", false, "Mon 18:00: closed"),
            ("2026-12-01T02:00:00Z", false, "Tue: not listed, closed"),
            (
                "2026-12-05T14:00:00Z",
                true,
                "Sat 22:00: the overnight span starts",
            ),
            (
                "2026-12-05T17:59:00Z",
                true,
                "Sun 01:59: the Saturday span runs on (and Sunday is open)",
            ),
            ("2026-12-06T15:59:00Z", true, "Sun 23:59: the whole day"),
            ("2026-12-06T16:00:00Z", false, "Mon 00:00: Sunday is over"),
            ("2026-12-25T02:00:00Z", false, "Fri 10:00 on a holiday"),
        ];
        for (instant, open, why) in table {
            assert_eq!(h.open_at(at(instant)), open, "{instant}: {why}");
        }
    }

    #[test]
    fn an_overnight_span_ends_with_its_own_night_and_a_holiday_closes_its_date() {
        let h = hours(serde_json::json!({
            "time_zone": "UTC",
            "open": {"fri": ["20:00-04:00"]},
            "holidays": ["2026-12-04"],
        }));
        // Friday 2026-12-04 is a holiday: its night never opens.
        assert!(!h.open_at(at("2026-12-04T21:00:00Z")));
        assert!(!h.open_at(at("2026-12-05T01:00:00Z")));
        // The next Friday's does, until 04:00 on Saturday.
        assert!(h.open_at(at("2026-12-11T21:00:00Z")));
        assert!(h.open_at(at("2026-12-12T03:59:00Z")));
        assert!(!h.open_at(at("2026-12-12T04:00:00Z")));
    }

    #[test]
    fn hours_follow_the_wall_clock_across_a_dst_change() {
        // New York: EDT (UTC-4) until 2026-11-01 02:00, then EST (UTC-5).
        let h = hours(serde_json::json!({
            "time_zone": "America/New_York",
            "open": {"fri": ["09:00-17:00"], "mon": ["09:00-17:00"]},
        }));
        assert!(h.open_at(at("2026-10-30T13:00:00Z")), "Fri 09:00 EDT");
        assert!(!h.open_at(at("2026-11-02T13:30:00Z")), "Mon 08:30 EST");
        assert!(h.open_at(at("2026-11-02T14:00:00Z")), "Mon 09:00 EST");
    }

    #[test]
    fn bad_hours_are_refused_with_what_is_wrong() {
        let refused = |json: serde_json::Value| -> String {
            match serde_json::from_value::<BusinessHours>(json) {
                Err(e) => e.to_string(),
                Ok(h) => h.check().unwrap_err(),
            }
        };
        let base = |open: serde_json::Value| serde_json::json!({"time_zone": "UTC", "open": open});
        for (json, says) in [
            (base(serde_json::json!({"mon": ["9-17"]})), "like \"09:00-18:00\""),
            (
                base(serde_json::json!({"mon": ["09:00-25:00"]})),
                "like \"09:00-18:00\"",
            ),
            (
                base(serde_json::json!({"mon": ["09:60-10:00"]})),
                "like \"09:00-18:00\"",
            ),
            (base(serde_json::json!({"mon": ["10:00-10:00"]})), "is empty"),
            (
                base(serde_json::json!({"mon": ["24:00-06:00"]})),
                "starts at 24:00",
            ),
            (
                base(serde_json::json!({"monday": ["09:00-17:00"]})),
                "unknown variant",
            ),
            (serde_json::json!({"time_zone": "Mars/Olympus"}), "IANA time zone"),
            (
                serde_json::json!({"time_zone": "UTC", "holidays": ["2026-13-01"]}),
                "2026-13-01",
            ),
            (
                serde_json::json!({"time_zone": "UTC", "opens": {}}),
                "unknown field",
            ),
        ] {
            let error = refused(json.clone());
            assert!(error.contains(says), "{json}: {error}");
        }
    }

    #[test]
    fn spans_are_written_as_they_are_read() {
        for s in ["09:00-18:00", "22:00-02:00", "00:00-24:00"] {
            assert_eq!(s.parse::<Span>().unwrap().to_string(), s);
        }
        let h = hours(serde_json::json!({"time_zone": "UTC", "open": {"sun": ["08:05-09:10"]}}));
        let again: BusinessHours = serde_json::from_str(&serde_json::to_string(&h).unwrap()).unwrap();
        assert_eq!(again, h);
    }
}
