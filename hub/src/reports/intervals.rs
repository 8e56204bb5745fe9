//! The intervals a report is cut into, in the account's time zone: 15 minutes, an hour, a day or
//! a week (ISO, from Monday) of local time. Pure; the time-zone rules come from jiff's database.
//!
//! Sub-day intervals are counted from the local start of each day in real time, so the day the
//! clocks go back has 25 hours (and 100 quarter-hours, the repeated hour told apart by its UTC
//! offset) and the day they go forward has 23. Days and weeks follow the calendar.

use crate::domain::Millis;
use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, ZonedDateTime};
use serde::{Deserialize, Serialize};

/// How long each interval of a report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    #[serde(rename = "15m")]
    QuarterHour,
    Hour,
    Day,
    Week,
}

impl Granularity {
    pub fn parse(s: &str) -> Option<Granularity> {
        match s {
            "15m" => Some(Granularity::QuarterHour),
            "hour" => Some(Granularity::Hour),
            "day" => Some(Granularity::Day),
            "week" => Some(Granularity::Week),
            _ => None,
        }
    }

    /// The fixed length of a sub-day interval.
    fn step_ms(self) -> Option<Millis> {
        match self {
            Granularity::QuarterHour => Some(15 * 60_000),
            Granularity::Hour => Some(3_600_000),
            Granularity::Day | Granularity::Week => None,
        }
    }
}

/// One interval: `[start, end)` in epoch milliseconds, and its start as local time with the UTC
/// offset (`2026-10-25T02:00:00+01:00`), which names the repeated hour of a DST change apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Interval {
    pub start: Millis,
    pub end: Millis,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("unknown time zone {0:?}")]
    TimeZone(String),
    #[error("the range ends before it starts")]
    Backwards,
    #[error("a date outside the calendar jiff knows")]
    OutOfRange,
}

/// Looks up an IANA time zone name ("Europe/Berlin", "UTC").
pub fn time_zone(name: &str) -> Result<TimeZone, RangeError> {
    TimeZone::get(name).map_err(|_| RangeError::TimeZone(name.to_string()))
}

fn day_start(date: Date, tz: &TimeZone) -> Result<ZonedDateTime, RangeError> {
    date.to_zoned_datetime(tz.clone())
        .and_then(|z| z.start_of_day())
        .map_err(|_| RangeError::OutOfRange)
}

fn ms(z: &ZonedDateTime) -> Millis {
    z.timestamp().as_millisecond()
}

fn label(at: Millis, tz: &TimeZone) -> String {
    Timestamp::from_millisecond(at)
        .map(|t| {
            t.to_zoned_datetime(tz.clone())
                .strftime("%Y-%m-%dT%H:%M:%S%:z")
                .to_string()
        })
        .unwrap_or_default()
}

/// The intervals covering the local days `from` to `to`, both included, in order and without
/// gaps: the first starts at `from`'s midnight, the last ends at the midnight after `to`. Weeks
/// are cut at Mondays and clipped to the range.
pub fn intervals(
    tz: &TimeZone,
    from: Date,
    to: Date,
    granularity: Granularity,
) -> Result<Vec<Interval>, RangeError> {
    if to < from {
        return Err(RangeError::Backwards);
    }
    let next = |d: Date| d.tomorrow().map_err(|_| RangeError::OutOfRange);
    let mut out = Vec::new();
    let mut day = from;
    while day <= to {
        let start = day_start(day, tz)?;
        let after = next(day)?;
        let end = day_start(after, tz)?;
        match granularity.step_ms() {
            Some(step) => {
                let mut t = ms(&start);
                while t < ms(&end) {
                    let stop = (t + step).min(ms(&end));
                    out.push(Interval {
                        start: t,
                        end: stop,
                        label: label(t, tz),
                    });
                    t = stop;
                }
                day = after;
            }
            None => {
                // A week runs to the next Monday, or to the range's end.
                let mut last = day;
                if granularity == Granularity::Week {
                    while last < to && next(last)?.weekday() != Weekday::Monday {
                        last = next(last)?;
                    }
                }
                let stop = day_start(next(last)?, tz)?;
                out.push(Interval {
                    start: ms(&start),
                    end: ms(&stop),
                    label: label(ms(&start), tz),
                });
                day = next(last)?;
            }
        }
    }
    Ok(out)
}

/// The index of the interval holding `at`, if any (`intervals` sorted and without gaps).
pub fn find(intervals: &[Interval], at: Millis) -> Option<usize> {
    let i = intervals.partition_point(|iv| iv.end <= at);
    intervals.get(i).filter(|iv| iv.start <= at).map(|_| i)
}

/// The local date `at` falls on.
pub fn local_date(at: Millis, tz: &TimeZone) -> Option<Date> {
    Timestamp::from_millisecond(at)
        .ok()
        .map(|t| t.to_zoned_datetime(tz.clone()).date())
}

/// `date` moved by `days`.
pub fn add_days(date: Date, days: i64) -> Option<Date> {
    date.checked_add(days.days()).ok()
}

/// For each interval of `target`, the intervals of `history` at the same local time on the same
/// weekday in each of the `weeks` weeks before it (indexes into `history`, the nearest week
/// first): what a forecast of that interval averages. Matched by local start time, so a forecast
/// follows the clock across a DST change; a time a day lacks (the hour the clocks skip) is simply
/// not found for that week, and of an hour a day has twice the first is taken.
pub fn same_time_weeks_before(target: &[Interval], history: &[Interval], weeks: u32) -> Vec<Vec<usize>> {
    fn local(label: &str) -> Option<(Date, &str)> {
        Some((label.get(..10)?.parse().ok()?, label.get(11..19)?))
    }
    let mut at: std::collections::HashMap<(Date, &str), usize> = std::collections::HashMap::new();
    for (n, iv) in history.iter().enumerate() {
        if let Some(key) = local(&iv.label) {
            at.entry(key).or_insert(n);
        }
    }
    target
        .iter()
        .map(|iv| {
            let Some((date, time)) = local(&iv.label) else {
                return Vec::new();
            };
            (1..=i64::from(weeks))
                .filter_map(|k| add_days(date, -7 * k))
                .filter_map(|day| at.get(&(day, time)).copied())
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    /// A forecast for Monday 2 November 2026 (Berlin, the week after the clocks went back)
    /// from the three Mondays before, by the hour: each hour finds the same hour of each Monday,
    /// nearest first, though 26 October's hours are an hour later in UTC than 12 October's.
    #[test]
    fn a_forecast_interval_is_the_same_local_time_on_the_same_weekday_of_the_weeks_before() {
        let tz = berlin();
        let target = intervals(&tz, date(2026, 11, 2), date(2026, 11, 2), Granularity::Hour).unwrap();
        let history = intervals(&tz, date(2026, 10, 12), date(2026, 10, 26), Granularity::Hour).unwrap();
        let found = same_time_weeks_before(&target, &history, 3);
        assert_eq!(found.len(), 24);
        for (hour, indexes) in found.iter().enumerate() {
            let labels: Vec<&str> = indexes.iter().map(|&n| &history[n].label[..19]).collect();
            let at = |d: u8| format!("2026-10-{d}T{hour:02}:00:00");
            assert_eq!(labels, [at(26), at(19), at(12)], "hour {hour}");
        }
        assert_ne!(
            history[found[9][0]].start - history[found[9][2]].start,
            14 * 86_400_000,
            "the same local hour, not the same UTC hour"
        );
        // Fewer weeks of history than asked: only those there are.
        let found = same_time_weeks_before(&target, &history, 5);
        assert!(found.iter().all(|weeks| weeks.len() == 3));
        // 5 April 2026 from the Sundays before: 29 March has no 02:00 (the clocks skipped it).
        let sunday = intervals(&tz, date(2026, 4, 5), date(2026, 4, 5), Granularity::QuarterHour).unwrap();
        let before = intervals(
            &tz,
            date(2026, 3, 22),
            date(2026, 3, 29),
            Granularity::QuarterHour,
        )
        .unwrap();
        let found = same_time_weeks_before(&sunday, &before, 2);
        assert_eq!(found[8].len(), 1, "02:00 only on 22 March");
        assert_eq!(&before[found[8][0]].label[..16], "2026-03-22T02:00");
        assert_eq!(found[12].len(), 2, "03:00 on both Sundays");
    }

    fn berlin() -> TimeZone {
        time_zone("Europe/Berlin").unwrap()
    }

    #[test]
    fn a_day_has_96_quarter_hours_except_on_dst_days() {
        let tz = berlin();
        let count = |d: Date, g| intervals(&tz, d, d, g).unwrap().len();
        assert_eq!(count(date(2026, 6, 1), Granularity::QuarterHour), 96);
        // 29 March 2026: 02:00 CET becomes 03:00 CEST.
        assert_eq!(count(date(2026, 3, 29), Granularity::QuarterHour), 92);
        assert_eq!(count(date(2026, 3, 29), Granularity::Hour), 23);
        // 25 October 2026: 03:00 CEST becomes 02:00 CET; the hour from 02:00 comes twice.
        let autumn = intervals(&tz, date(2026, 10, 25), date(2026, 10, 25), Granularity::Hour).unwrap();
        assert_eq!(autumn.len(), 25);
        let labels: Vec<&str> = autumn[1..4].iter().map(|i| i.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "2026-10-25T01:00:00+02:00",
                "2026-10-25T02:00:00+02:00",
                "2026-10-25T02:00:00+01:00"
            ]
        );
        assert_eq!(count(date(2026, 10, 25), Granularity::Day), 1);
        let day = &intervals(&tz, date(2026, 10, 25), date(2026, 10, 25), Granularity::Day).unwrap()[0];
        assert_eq!(day.end - day.start, 25 * 3_600_000);
    }

    #[test]
    fn weeks_start_on_monday_and_are_clipped_to_the_range() {
        let tz = TimeZone::UTC;
        // Thursday 1 October to Tuesday 13 October 2026.
        let weeks = intervals(&tz, date(2026, 10, 1), date(2026, 10, 13), Granularity::Week).unwrap();
        let labels: Vec<&str> = weeks.iter().map(|i| &i.label[..10]).collect();
        assert_eq!(labels, ["2026-10-01", "2026-10-05", "2026-10-12"]);
        assert_eq!(weeks[0].end - weeks[0].start, 4 * 86_400_000);
        assert_eq!(weeks[2].end - weeks[2].start, 2 * 86_400_000);
    }

    #[test]
    fn intervals_tile_the_range_and_find_locates_their_edges() {
        let tz = berlin();
        for g in [
            Granularity::QuarterHour,
            Granularity::Hour,
            Granularity::Day,
            Granularity::Week,
        ] {
            let all = intervals(&tz, date(2026, 10, 20), date(2026, 11, 3), g).unwrap();
            for pair in all.windows(2) {
                assert_eq!(pair[0].end, pair[1].start, "{g:?}");
            }
            for (n, iv) in all.iter().enumerate() {
                assert_eq!(find(&all, iv.start), Some(n));
                assert_eq!(find(&all, iv.end - 1), Some(n));
            }
            assert_eq!(find(&all, all[0].start - 1), None);
            assert_eq!(find(&all, all.last().unwrap().end), None);
        }
        assert_eq!(
            intervals(&tz, date(2026, 2, 2), date(2026, 2, 1), Granularity::Day),
            Err(RangeError::Backwards)
        );
        assert!(matches!(time_zone("Mars/Olympus"), Err(RangeError::TimeZone(_))));
    }
}
