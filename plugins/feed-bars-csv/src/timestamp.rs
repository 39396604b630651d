//! Reading a bar's timestamp as files publish it: ISO 8601 dates and date-times (with `Z`, an
//! offset, or neither, meaning UTC), epoch integers in seconds, milliseconds, microseconds or
//! nanoseconds, or a layout the user names with a `strftime` format.
//!
//! Calendar arithmetic is jiff's. The one hand-written part is reading the layout nearly every
//! file uses (`YYYY-MM-DD HH:MM:SS`) at fixed positions, with the day number of the last date
//! remembered: minute bars repeat a date 1,440 times, and this is the ingest hot path. A test
//! checks that path against jiff's parser on generated strings.

use jiff::civil::{Date, DateTime, Time};
use jiff::fmt::temporal::DateTimeParser;
use jiff::tz::Offset;
use serde::{Deserialize, Serialize};
use tradsys_core::limits::{TIMESTAMP_YEARS, excerpt, timestamp_range};
use tradsys_core::types::Timestamp;

/// The unit of integer (epoch) timestamps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EpochUnit {
    /// Decided from the first integer's magnitude (see [`EpochUnit::detect`]), then kept for the
    /// whole file.
    #[default]
    Auto,
    /// Seconds.
    S,
    /// Milliseconds (Binance klines, JavaScript).
    Ms,
    /// Microseconds.
    Us,
    /// Nanoseconds (pandas' `int64` datetimes).
    Ns,
}

impl EpochUnit {
    /// The unit of an epoch integer from its size: below 10^11 seconds (until the year 5138), below
    /// 10^14 milliseconds, below 10^17 microseconds, else nanoseconds. Every unit's range of
    /// plausible dates (1973 onwards) lies in its own band, so a file of recent data is never
    /// misread.
    #[must_use]
    pub fn detect(value: i64) -> EpochUnit {
        match value.unsigned_abs() {
            0..100_000_000_000 => EpochUnit::S,
            100_000_000_000..100_000_000_000_000 => EpochUnit::Ms,
            100_000_000_000_000..100_000_000_000_000_000 => EpochUnit::Us,
            _ => EpochUnit::Ns,
        }
    }

    fn nanos_per_unit(self) -> i64 {
        match self {
            EpochUnit::Auto | EpochUnit::S => 1_000_000_000,
            EpochUnit::Ms => 1_000_000,
            EpochUnit::Us => 1_000,
            EpochUnit::Ns => 1,
        }
    }

    /// The unit's name, as the parameter takes it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            EpochUnit::Auto => "auto",
            EpochUnit::S => "s",
            EpochUnit::Ms => "ms",
            EpochUnit::Us => "us",
            EpochUnit::Ns => "ns",
        }
    }
}

/// Reads the timestamps of one file; remembers the epoch unit once decided and the last date's
/// day number.
#[derive(Debug, Default)]
pub(crate) struct TimestampReader {
    unit: EpochUnit,
    format: Option<String>,
    last_day: Option<([u8; 10], i64)>,
}

static PARSER: DateTimeParser = DateTimeParser::new();

impl TimestampReader {
    /// A reader with an epoch unit (`Auto` to detect it) and an optional `strftime` format that
    /// replaces every other layout.
    #[must_use]
    pub(crate) fn new(unit: EpochUnit, format: Option<String>) -> TimestampReader {
        TimestampReader { unit, format, last_day: None }
    }

    /// The epoch unit in force: the configured one, or the detected one once an integer was read.
    #[cfg(test)]
    fn unit(&self) -> EpochUnit {
        self.unit
    }

    /// Reads `text` into nanoseconds since the epoch, in the years 1678 to 2261.
    ///
    /// # Errors
    /// Text in no accepted layout, or a time outside the years tradsys can hold, with what was
    /// expected.
    pub(crate) fn read(&mut self, text: &str) -> Result<Timestamp, String> {
        if let Some(format) = &self.format {
            return read_with_format(format, text);
        }
        if let Some(ts) = self.common_layout(text.as_bytes()) {
            return Ok(ts);
        }
        let bytes = text.as_bytes();
        // Eight digits is a basic-format date (20170419), unless a unit was configured.
        let date_like = bytes.len() == 8 && self.unit == EpochUnit::Auto;
        if !bytes.is_empty() && !date_like && bytes.iter().all(u8::is_ascii_digit) {
            return self.read_epoch(text);
        }
        read_iso(text)
    }

    fn read_epoch(&mut self, text: &str) -> Result<Timestamp, String> {
        let value: i64 = text.parse().map_err(|_| out_of_range(text))?;
        self.epoch(value)
    }

    /// Reads an epoch integer in the unit in force (detected from this one's magnitude if none is
    /// yet), in the years tradsys holds.
    ///
    /// # Errors
    /// A time outside those years.
    pub(crate) fn epoch(&mut self, value: i64) -> Result<Timestamp, String> {
        let text = || value.to_string();
        if self.unit == EpochUnit::Auto {
            self.unit = EpochUnit::detect(value);
            tracing::info!(unit = self.unit.name(), first = value, "epoch timestamps: unit detected from magnitude");
        }
        let nanos = value.checked_mul(self.unit.nanos_per_unit()).ok_or_else(|| out_of_range(&text()))?;
        in_range(Timestamp(nanos), &text())
    }

    /// `YYYY-MM-DD HH:MM:SS` (or `T` between, or `Z` after) at fixed positions; `None` for
    /// anything else or anything out of range, which the general parser then reads or refuses.
    #[inline]
    fn common_layout(&mut self, text: &[u8]) -> Option<Timestamp> {
        let text = match text {
            [rest @ .., b'Z'] => rest,
            _ => text,
        };
        let &[ref date @ .., b' ' | b'T', h0, h1, b':', n0, n1, b':', s0, s1] = text else {
            return None;
        };
        let date: [u8; 10] = date.try_into().ok()?;
        let two = |a: u8, b: u8| -> Option<i64> {
            let (a, b) = (a.wrapping_sub(b'0'), b.wrapping_sub(b'0'));
            (a <= 9 && b <= 9).then(|| i64::from(a * 10 + b))
        };
        let (hour, minute, second) = (two(h0, h1)?, two(n0, n1)?, two(s0, s1)?);
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        // A leap second is read as the second before it, as jiff reads it.
        let second = second.min(59);
        let day = match self.last_day {
            Some((last, day)) if last == date => day,
            _ => {
                let day = unix_day(&date)?;
                self.last_day = Some((date, day));
                day
            }
        };
        Some(Timestamp((day * 86_400 + (hour * 60 + minute) * 60 + second) * 1_000_000_000))
    }
}

/// The day number (days since 1970-01-01) of a `YYYY-MM-DD` date in the years tradsys holds.
fn unix_day(date: &[u8; 10]) -> Option<i64> {
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = *date else { return None };
    let digits = [y0, y1, y2, y3, m0, m1, d0, d1];
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let number = |digits: &[u8]| digits.iter().fold(0_i16, |value, &b| value * 10 + i16::from(b - b'0'));
    let (year, month, day) = (number(&[y0, y1, y2, y3]), number(&[m0, m1]), number(&[d0, d1]));
    if !(TIMESTAMP_YEARS.0..=TIMESTAMP_YEARS.1).contains(&i64::from(year)) {
        return None;
    }
    let date = Date::new(year, i8::try_from(month).ok()?, i8::try_from(day).ok()?).ok()?;
    let midnight = Offset::UTC.to_timestamp(date.to_datetime(Time::midnight())).ok()?;
    Some(midnight.as_second().div_euclid(86_400))
}

/// ISO 8601 / RFC 3339 through jiff: a date, or a date and time (`T` or a space between, optional
/// fraction), with `Z`, a numeric offset, or nothing (UTC).
fn read_iso(text: &str) -> Result<Timestamp, String> {
    let pieces = PARSER.parse_pieces(text).map_err(|_| expected(text))?;
    let time = pieces.time().unwrap_or(Time::midnight());
    let offset = match pieces.to_numeric_offset() {
        Some(offset) => offset,
        None if pieces.time_zone_annotation().is_some() => {
            return Err(format!(
                "timestamp {}: a time zone name without an offset; expected `Z` or an offset such as `+02:00`",
                excerpt(text)
            ));
        }
        None => Offset::UTC,
    };
    to_timestamp(offset, pieces.date().to_datetime(time), text)
}

/// A layout named by a `strftime` format (`%m/%d/%Y`, `%d.%m.%Y %H:%M`); UTC unless it has `%z`.
fn read_with_format(format: &str, text: &str) -> Result<Timestamp, String> {
    let parsed = jiff::fmt::strtime::parse(format, text)
        .map_err(|e| format!("timestamp {}: does not match time_format {format:?}: {e}", excerpt(text)))?;
    if parsed.offset().is_some() {
        let ts = parsed.to_timestamp().map_err(|e| format!("timestamp {}: {e}", excerpt(text)))?;
        return in_range(Timestamp(i64::try_from(ts.as_nanosecond()).map_err(|_| out_of_range(text))?), text);
    }
    let datetime = match parsed.to_datetime() {
        Ok(datetime) => datetime,
        // A date-only format has no time: midnight.
        Err(_) => parsed
            .to_date()
            .map_err(|e| format!("timestamp {}: time_format {format:?}: {e}", excerpt(text)))?
            .to_datetime(Time::midnight()),
    };
    to_timestamp(Offset::UTC, datetime, text)
}

fn to_timestamp(offset: Offset, datetime: DateTime, text: &str) -> Result<Timestamp, String> {
    let ts = offset.to_timestamp(datetime).map_err(|_| out_of_range(text))?;
    let nanos = i64::try_from(ts.as_nanosecond()).map_err(|_| out_of_range(text))?;
    in_range(Timestamp(nanos), text)
}

fn in_range(ts: Timestamp, text: &str) -> Result<Timestamp, String> {
    let (first, last) = timestamp_range();
    if (first.0..=last.0).contains(&ts.0) { Ok(ts) } else { Err(out_of_range(text)) }
}

/// A timestamp outside the years tradsys holds; `text` is how the file wrote it.
pub(crate) fn out_of_range(text: &str) -> String {
    format!("timestamp {}: outside the years {} to {}", excerpt(text), TIMESTAMP_YEARS.0, TIMESTAMP_YEARS.1)
}

fn expected(text: &str) -> String {
    format!(
        "timestamp {}: expected a date (2017-04-19), a date-time (2017-04-19 09:00:00, optional \
         fraction, `Z` or an offset such as +02:00), or epoch seconds, milliseconds, microseconds \
         or nanoseconds; set the time_format parameter for other layouts",
        excerpt(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Timestamp, String> {
        TimestampReader::default().read(text)
    }

    const APRIL_19_9AM: i64 = 1_492_592_400_000_000_000;

    #[test]
    fn iso_dates_and_times_with_and_without_offsets() {
        assert_eq!(read("1970-01-02"), Ok(Timestamp(86_400_000_000_000)));
        assert_eq!(read("20170419"), read("2017-04-19"));
        for text in [
            "2017-04-19 09:00:00",
            "2017-04-19T09:00:00",
            "2017-04-19T09:00:00Z",
            "2017-04-19 09:00:00+00:00",
            "2017-04-19T11:00:00+02:00",
            "2017-04-19T04:00:00-05:00",
            "2017-04-19 09:00",
        ] {
            assert_eq!(read(text), Ok(Timestamp(APRIL_19_9AM)), "{text}");
        }
        assert_eq!(read("2017-04-19T09:00:00.5"), Ok(Timestamp(APRIL_19_9AM + 500_000_000)));
        assert_eq!(read("2017-04-19 09:00:00.123456789+00:00"), Ok(Timestamp(APRIL_19_9AM + 123_456_789)));
        assert_eq!(read("2000-02-29").unwrap().0 / 86_400_000_000_000, 11_016);
    }

    #[test]
    fn epoch_units_are_detected_once_from_the_first_integer() {
        for (text, unit) in [
            ("1492592400", EpochUnit::S),
            ("1492592400000", EpochUnit::Ms),
            ("1492592400000000", EpochUnit::Us),
            ("1492592400000000000", EpochUnit::Ns),
        ] {
            let mut reader = TimestampReader::default();
            assert_eq!(reader.read(text), Ok(Timestamp(APRIL_19_9AM)), "{text}");
            assert_eq!(reader.unit(), unit);
        }
        // Once detected, the unit stays: a later small value is not re-read as seconds.
        let mut reader = TimestampReader::default();
        reader.read("1492592400000").unwrap();
        assert_eq!(reader.read("1000"), Ok(Timestamp(1_000_000_000)));
        // Configured, it is never guessed.
        let mut reader = TimestampReader::new(EpochUnit::Ms, None);
        assert_eq!(reader.read("86400000"), Ok(Timestamp(86_400_000_000_000)));
    }

    #[test]
    fn a_strftime_format_reads_other_layouts() {
        let mut us = TimestampReader::new(EpochUnit::Auto, Some("%m/%d/%Y".to_owned()));
        assert_eq!(us.read("04/19/2017"), read("2017-04-19"));
        assert!(us.read("2017-04-19").unwrap_err().contains("does not match time_format"));
        let mut zoned = TimestampReader::new(EpochUnit::Auto, Some("%d.%m.%Y %H:%M %z".to_owned()));
        assert_eq!(zoned.read("19.04.2017 11:00 +0200"), Ok(Timestamp(APRIL_19_9AM)));
    }

    #[test]
    fn bad_timestamps_say_what_was_expected() {
        for bad in [
            "",
            "2017-13-01",
            "2017-02-30",
            "yesterday",
            "2017-04-19 25:00",
            "2017-04-19 09:-30:00",
            "2017-+4-19",
            "04/19/2017",
            "2017-04-19T09:00:00[America/New_York]",
        ] {
            let error = read(bad).unwrap_err();
            assert!(error.starts_with("timestamp "), "{bad}: {error}");
        }
        for out in ["1677-12-31", "2262-04-12", "99999999999999999999", "-1"] {
            assert!(read(out).is_err(), "{out}");
        }
        assert!(read("9223372036854775807").unwrap_err().contains("outside the years"));
    }

    #[test]
    fn the_common_layout_fast_path_reads_exactly_what_jiff_reads() {
        let mut rng = tradsys_core::rng::SplitMix64::new(11);
        let mut pick = |choices: &[&str]| choices[rng.below(choices.len() as u64) as usize].to_owned();
        let mut fast_reads = 0;
        let mut shared = TimestampReader::default();
        for round in 0..20_000 {
            let text = format!(
                "{}-{}-{}{}{}:{}:{}{}",
                pick(&["2017", "1677", "1678", "2261", "2262", "2000", "1900", "20x7"]),
                pick(&["01", "02", "12", "13", "00", "1"]),
                pick(&["01", "28", "29", "30", "31", "00", "32"]),
                pick(&[" ", "T", "_"]),
                pick(&["00", "23", "24", "09"]),
                pick(&["00", "59", "60"]),
                pick(&["00", "59", "60", "61", ".5"]),
                pick(&["", "Z", "ZZ", " "]),
            );
            let general = read_iso(&text);
            // A fresh reader per string half the time, a shared one (its day remembered) otherwise.
            let fast = if round % 2 == 0 {
                TimestampReader::default().common_layout(text.as_bytes())
            } else {
                shared.common_layout(text.as_bytes())
            };
            match fast {
                Some(fast) => {
                    fast_reads += 1;
                    assert_eq!(general, Ok(fast), "{text}");
                }
                None => {
                    let body = text.strip_suffix('Z').unwrap_or(&text).as_bytes();
                    let common = body.len() == 19
                        && body.iter().enumerate().all(|(at, &b)| match at {
                            4 | 7 => b == b'-',
                            10 => b == b' ' || b == b'T',
                            13 | 16 => b == b':',
                            _ => b.is_ascii_digit(),
                        });
                    assert!(
                        !(common && general.is_ok()),
                        "{text}: jiff reads it ({general:?}), the fast path does not"
                    );
                }
            }
        }
        assert!(fast_reads > 200, "the generator exercises the fast path ({fast_reads})");
    }

    #[test]
    fn the_remembered_day_never_leaks_into_another_date() {
        let mut reader = TimestampReader::default();
        let first = reader.read("2017-04-19 23:59:00").unwrap();
        let next = reader.read("2017-04-20 00:00:00").unwrap();
        assert_eq!(next.0 - first.0, 60_000_000_000);
        assert_eq!(reader.read("2017-04-19 00:00:00"), read("2017-04-19"));
    }
}
