//! `bars-csv`: OHLCV bars from a CSV file, as commonly published.
//!
//! The file has a header row. The first column is the timestamp, named or not (`,Open,High,...` is
//! fine), as a date (`2017-04-19`), a date-time (`2017-04-19 09:00:00`, `2017-04-19T09:00:00Z`,
//! optional fraction) in UTC, or an integer of epoch seconds. `Open`, `High`, `Low`, `Close` and the
//! optional `Volume` are found by name, case-insensitively. A row that cannot be read, has
//! `high < low`, or is not later than the previous row is reported with its line number and skipped
//! (`strict = true` stops the run instead). The file is streamed, never loaded whole.
//!
//! ```toml
//! [feed]
//! plugin = "bars-csv"
//! params = { path = "examples/data/EURUSD-1h.csv", symbol = "EURUSD" }
//! ```

#![deny(unsafe_code)]

mod csv_line;

use std::fs::File;
use std::io::BufReader;

use serde::{Deserialize, Serialize};
use tradsys_core::component::{ComponentError, Feed, FeedContext, FeedData, FeedError, InitContext};
use tradsys_core::limits::{TIMESTAMP_YEARS, excerpt, timestamp_range};
use tradsys_core::lines::LineReader;
use tradsys_core::market::{Bar, MarketEvent};
use tradsys_core::plugin::{Capability, Plugin};
use tradsys_core::types::{InstrumentId, Price, Timestamp};

use crate::csv_line::CsvLine;

/// Reads bars from a CSV file.
#[derive(Debug)]
pub struct BarsCsvFeed {
    params: Params,
    instrument: InstrumentId,
    reader: Option<LineReader<BufReader<File>>>,
    columns: Columns,
    fields: CsvLine,
    last_ts: Option<Timestamp>,
}

/// Parameters of `bars-csv`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The CSV file.
    pub path: String,
    /// The instrument the bars belong to.
    pub symbol: String,
    /// Stop at the first bad row instead of skipping it.
    pub strict: bool,
}

impl Default for Params {
    fn default() -> Params {
        Params { path: String::new(), symbol: "BARS".to_owned(), strict: false }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Columns {
    open: usize,
    high: usize,
    low: usize,
    close: usize,
    volume: Option<usize>,
}

impl Plugin for BarsCsvFeed {
    type Params = Params;
    const SUMMARY: &'static str = "OHLCV bars from a CSV file (first column the timestamp)";
    const CAPABILITIES: &'static [Capability] = &[Capability::ReadFiles];
    const FILE_PARAMS: &'static [&'static str] = &["path"];

    fn build(params: Params) -> Result<Self, ComponentError> {
        if params.path.is_empty() {
            return Err(ComponentError::new("parameter path is required: the CSV file of bars"));
        }
        Ok(BarsCsvFeed {
            params,
            instrument: InstrumentId(0),
            reader: None,
            columns: Columns::default(),
            fields: CsvLine::default(),
            last_ts: None,
        })
    }
}

impl Feed for BarsCsvFeed {
    fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        self.instrument = ctx.instrument(&self.params.symbol)?;
        let path = &self.params.path;
        let file = File::open(path).map_err(|e| ComponentError::new(format!("{path}: cannot open: {e}")))?;
        let mut reader = LineReader::new(BufReader::with_capacity(1 << 16, file));
        let header = match reader.next_line() {
            Err(e) => return Err(ComponentError::new(format!("{path}: cannot read the header: {e}"))),
            Ok(None) => return Err(ComponentError::new(format!("{path}: empty file; expected a header row"))),
            Ok(Some((_, Err(e)))) => return Err(ComponentError::new(format!("{path}: line 1: {e}"))),
            Ok(Some((_, Ok(header)))) => header,
        };
        self.fields.split(header).map_err(|e| ComponentError::new(format!("{path}: line 1: {e}")))?;
        let headers: Vec<&str> = self.fields.iter().collect();
        let find = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
        let need = |name: &str| {
            find(name).ok_or_else(|| {
                ComponentError::new(format!(
                    "{path}: line 1: no {name} column (header: {})",
                    excerpt(&headers.join(",")).trim_matches('"')
                ))
            })
        };
        self.columns = Columns {
            open: need("open")?,
            high: need("high")?,
            low: need("low")?,
            close: need("close")?,
            volume: find("volume"),
        };
        self.reader = Some(reader);
        Ok(())
    }

    fn data(&self) -> FeedData {
        FeedData::Bars
    }

    fn next_event(&mut self, ctx: &mut FeedContext<'_>) -> Result<Option<MarketEvent>, FeedError> {
        let path = &self.params.path;
        let Some(reader) = self.reader.as_mut() else {
            return Err(FeedError("bars-csv: not initialized".to_owned()));
        };
        loop {
            let Some((line, text)) = reader.next_line().map_err(|e| FeedError(format!("{path}: {e}")))? else {
                return Ok(None);
            };
            let parsed = match text {
                Ok(text) if text.trim().is_empty() => continue,
                Ok(text) => {
                    self.fields.split(text).and_then(|()| parse_bar(&self.fields, self.columns, self.instrument))
                }
                Err(error) => Err(error.to_string()),
            };
            let problem = match parsed {
                Ok(bar) if self.last_ts.is_some_and(|last| bar.ts <= last) => format!(
                    "timestamp {} is not after the previous row's; expected rows in time order",
                    excerpt(self.fields.get(0).unwrap_or(""))
                ),
                Ok(bar) => {
                    self.last_ts = Some(bar.ts);
                    return Ok(Some(MarketEvent::Bar(bar)));
                }
                Err(problem) => problem,
            };
            let message = format!("{path}: line {line}: {problem}");
            if self.params.strict {
                return Err(FeedError(message));
            }
            ctx.skip_row(message);
        }
    }
}

fn parse_bar(fields: &CsvLine, columns: Columns, instrument: InstrumentId) -> Result<Bar, String> {
    let field = |at: usize, name: &str| fields.get(at).ok_or_else(|| format!("missing {name} field"));
    let price = |at: usize, name: &str| -> Result<Price, String> {
        let text = field(at, name)?;
        text.parse::<Price>().map_err(|e| format!("{name}: {e}"))
    };
    let ts = parse_timestamp(field(0, "timestamp")?)?;
    let (open, high, low, close) = (
        price(columns.open, "open")?,
        price(columns.high, "high")?,
        price(columns.low, "low")?,
        price(columns.close, "close")?,
    );
    if high < low || open > high || open < low || close > high || close < low {
        return Err(format!(
            "inconsistent bar: open {open} high {high} low {low} close {close}; expected low <= open, close <= high"
        ));
    }
    let volume = match columns.volume {
        Some(at) => {
            let text = field(at, "volume")?;
            text.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("volume {}: expected a non-negative number", excerpt(text)))?
        }
        None => 0.0,
    };
    Ok(Bar { ts, instrument, open, high, low, close, volume })
}

/// Reads a UTC date, date-time or epoch-seconds timestamp into nanoseconds since the epoch.
///
/// Every field is plain digits (no sign), every value is range-checked, and the result must fall in
/// the years 1678 to 2261 (nanoseconds in an `i64`): nothing wraps.
///
/// # Errors
/// Any other text, with what was expected.
pub fn parse_timestamp(text: &str) -> Result<Timestamp, String> {
    match common_layout(text.as_bytes()) {
        Some(ts) => Ok(ts),
        None => parse_any_timestamp(text),
    }
}

/// [`parse_timestamp`] without the fast path for the common layout.
fn parse_any_timestamp(text: &str) -> Result<Timestamp, String> {
    let bad = || {
        format!(
            "timestamp {}: expected YYYY-MM-DD, YYYY-MM-DD HH:MM[:SS[.fff]][Z] or epoch seconds, in the years {} to {}",
            excerpt(text),
            TIMESTAMP_YEARS.0,
            TIMESTAMP_YEARS.1
        )
    };
    let digits = |field: &str| -> Result<i64, String> {
        if field.is_empty() || field.len() > 18 || !field.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        field.parse().map_err(|_| bad())
    };
    let (first, last) = timestamp_range();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && text.len() != 8 {
        let nanos = digits(text)?.checked_mul(1_000_000_000).ok_or_else(bad)?;
        return if (first.0..=last.0).contains(&nanos) { Ok(Timestamp(nanos)) } else { Err(bad()) };
    }
    let text_utc = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = match text_utc.find(['T', ' ']) {
        Some(at) => (&text_utc[..at], Some(&text_utc[at + 1..])),
        None => (text_utc, None),
    };
    let mut parts = date.split('-');
    let (Some(y), Some(m), Some(d), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let (year, month, day) = (digits(y)?, digits(m)?, digits(d)?);
    if !(TIMESTAMP_YEARS.0..=TIMESTAMP_YEARS.1).contains(&year)
        || !(1..=12).contains(&month)
        || day == 0
        || day > i64::from(days_in_month(year, month as u32))
    {
        return Err(bad());
    }
    // Inside the year range every step below fits an i64 (|nanos| < 9.22e18).
    let mut nanos = days_from_civil(year, month as u32, day as u32) * 86_400 * 1_000_000_000;
    if let Some(time) = time {
        let (clock, fraction) = match time.split_once('.') {
            Some((clock, fraction)) => (clock, Some(fraction)),
            None => (time, None),
        };
        let mut fields = clock.split(':');
        let (Some(hour), Some(minute), second, None) = (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(bad());
        };
        if [Some(hour), Some(minute), second].into_iter().flatten().any(|field| field.is_empty() || field.len() > 2) {
            return Err(bad());
        }
        let hour = digits(hour)?;
        let minute = digits(minute)?;
        let second = second.map_or(Ok(0), digits)?;
        if hour > 23 || minute > 59 || second > 60 {
            return Err(bad());
        }
        nanos += ((hour * 60 + minute) * 60 + second) * 1_000_000_000;
        if let Some(fraction) = fraction {
            if fraction.len() > 9 {
                return Err(bad());
            }
            nanos += digits(fraction)? * 10_i64.pow(9 - fraction.len() as u32);
        }
    }
    Ok(Timestamp(nanos))
}

/// The layout almost every file uses, `YYYY-MM-DD HH:MM:SS` (or `T` between, or a `Z` after),
/// read at fixed positions; `None` for anything else or anything out of range, which the general
/// parser then reads or refuses with its message.
#[inline]
fn common_layout(text: &[u8]) -> Option<Timestamp> {
    let text = match text {
        [rest @ .., b'Z'] => rest,
        _ => text,
    };
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1, b' ' | b'T', h0, h1, b':', n0, n1, b':', s0, s1] = *text else {
        return None;
    };
    let number = |digits: &[u8]| -> Option<i64> {
        digits.iter().try_fold(0_i64, |value, &byte| {
            let digit = byte.wrapping_sub(b'0');
            (digit <= 9).then_some(value * 10 + i64::from(digit))
        })
    };
    let (year, month, day) = (number(&[y0, y1, y2, y3])?, number(&[m0, m1])?, number(&[d0, d1])?);
    let (hour, minute, second) = (number(&[h0, h1])?, number(&[n0, n1])?, number(&[s0, s1])?);
    let valid = (TIMESTAMP_YEARS.0..=TIMESTAMP_YEARS.1).contains(&year)
        && (1..=12).contains(&month)
        && day >= 1
        && day <= i64::from(days_in_month(year, month as u32))
        && hour <= 23
        && minute <= 59
        && second <= 60;
    valid.then(|| {
        let days = days_from_civil(year, month as u32, day as u32);
        Timestamp((days * 86_400 + (hour * 60 + minute) * 60 + second) * 1_000_000_000)
    })
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

tradsys_core::register_feed!(BarsCsvFeed, "bars-csv", "1.0.0");

#[cfg(test)]
mod tests {
    use tradsys_core::component::BadRows;
    use tradsys_core::instrument::InstrumentTable;

    use super::*;

    #[test]
    fn the_common_layout_fast_path_reads_exactly_what_the_general_parser_reads() {
        let mut rng = tradsys_core::rng::SplitMix64::new(11);
        let mut pick = |choices: &[&str]| choices[rng.below(choices.len() as u64) as usize].to_owned();
        for _ in 0..20_000 {
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
            let general = parse_any_timestamp(&text);
            match common_layout(text.as_bytes()) {
                Some(fast) => assert_eq!(general, Ok(fast), "{text}"),
                None => {
                    // Only shapes other than the common one are left to the general parser.
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
                        "{text}: the general parser reads it ({general:?}), the fast path does not"
                    );
                }
            }
        }
    }

    #[test]
    fn timestamps_in_common_shapes() {
        assert_eq!(parse_timestamp("1970-01-02").unwrap(), Timestamp(86_400_000_000_000));
        assert_eq!(parse_timestamp("2017-04-19 09:00:00").unwrap(), Timestamp(1_492_592_400_000_000_000));
        assert_eq!(parse_timestamp("2017-04-19T09:00:00Z").unwrap(), Timestamp(1_492_592_400_000_000_000));
        assert_eq!(parse_timestamp("2017-04-19T09:00:00.5").unwrap(), Timestamp(1_492_592_400_500_000_000));
        assert_eq!(parse_timestamp("1492592400").unwrap(), Timestamp(1_492_592_400_000_000_000));
        assert_eq!(parse_timestamp("2000-02-29").unwrap().0 / 86_400_000_000_000, 11_016);
        for bad in [
            "",
            "2017-13-01",
            "2017-02-30",
            "yesterday",
            "2017-04-19 25:00",
            "2017-04-19 09:00:00.1234567890",
            "2017-04-19 09:-30:00",
            "2017-04-19 09:+3:00",
            "2017-+4-19",
            "99999999999-01-01",
            "1677-12-31",
            "2262-01-01",
            "9999999999999",
            "99999999999999999999999",
            "2017-04-19 009:00:00",
        ] {
            let error = parse_timestamp(bad).unwrap_err();
            assert!(error.contains("in the years 1678 to 2261"), "{bad}: {error}");
        }
        assert_eq!(parse_timestamp("1678-01-01").unwrap(), tradsys_core::limits::timestamp_range().0);
        assert_eq!(
            parse_timestamp("2261-12-31 23:59:59.999999999").unwrap(),
            tradsys_core::limits::timestamp_range().1
        );
    }

    fn read_all(text: &str, strict: bool) -> (Vec<Bar>, BadRows, Option<String>) {
        let path = std::env::temp_dir().join(format!("bars-csv-test-{}-{strict}.csv", text.len()));
        std::fs::write(&path, text).unwrap();
        let mut feed =
            BarsCsvFeed::build(Params { path: path.display().to_string(), symbol: "EURUSD".into(), strict }).unwrap();
        let mut instruments = InstrumentTable::default();
        feed.init(&mut InitContext::new("feed", &mut instruments, 1)).unwrap();
        let mut bad_rows = BadRows::default();
        let mut bars = Vec::new();
        let mut error = None;
        loop {
            let mut ctx = FeedContext::new(&mut instruments, &mut bad_rows);
            match feed.next_event(&mut ctx) {
                Ok(Some(MarketEvent::Bar(bar))) => bars.push(bar),
                Ok(_) => break,
                Err(e) => {
                    error = Some(e.0);
                    break;
                }
            }
        }
        (bars, bad_rows, error)
    }

    #[test]
    fn reads_published_files_and_reports_bad_rows_by_line() {
        let text = ",Open,High,Low,Close,Volume
2017-04-19 09:00:00,1.0716,1.0722,1.07083,1.07219,1413
2017-04-19 10:00:00,1.07214,1.07296,1.07214,oops,1241
2017-04-19 11:00:00,1.0726,1.0720,1.0730,1.0725,10
2017-04-19 08:30:00,1.0726,1.0730,1.0720,1.0725,10
2017-04-19 12:00:00,1.0726,1.0730,1.0720,1.0725,10
";
        let (bars, bad, error) = read_all(text, false);
        assert_eq!(error, None);
        assert_eq!(bars.len(), 2);
        assert_eq!(bars[0].close.to_string(), "1.07219");
        assert_eq!(bars[0].volume, 1413.0);
        assert_eq!(bad.count, 3);
        assert!(bad.first[0].contains("line 3: close: not a decimal number: \"oops\""), "{}", bad.first[0]);
        assert!(bad.first[1].contains("line 4: inconsistent bar"), "{}", bad.first[1]);
        assert!(bad.first[2].contains("line 5: timestamp \"2017-04-19 08:30:00\" is not after"), "{}", bad.first[2]);
        let (_, _, error) = read_all(text, true);
        assert!(error.unwrap().contains("line 3"));
    }

    #[test]
    fn a_stray_quote_or_an_endless_field_is_one_bad_row_and_the_rest_is_read() {
        let text = format!(
            "date,open,high,low,close\n\"2020-01-01,1,2,0.5,1.5\n2020-01-02,1,2,0.5,{}\n2020-01-03,1,2,0.5,1.5\n\"2020-01-04\",\"1\",2,0.5,1.5\n",
            "9".repeat(2 << 20)
        );
        let (bars, bad, error) = read_all(&text, false);
        assert_eq!((bars.len(), error), (2, None), "{:?}", bad.first);
        assert_eq!(bad.count, 2);
        assert!(
            bad.first[0].ends_with("line 2: field 1 opens a quote that does not close on this line"),
            "{}",
            bad.first[0]
        );
        assert!(bad.first[1].contains("line 3: the line is 2097171 bytes long"), "{}", bad.first[1]);
        assert!(bad.first.iter().all(|m| m.len() < 200), "messages quote excerpts only");
    }

    #[test]
    fn columns_are_matched_case_insensitively_and_volume_is_optional() {
        let (bars, _, _) = read_all("date,CLOSE,low,HIGH,open\n2020-01-01,2,1,3,1.5\n", false);
        assert_eq!(bars.len(), 1);
        assert_eq!(
            (bars[0].open.to_string(), bars[0].close.to_string(), bars[0].volume),
            ("1.5".into(), "2".into(), 0.0)
        );
    }

    #[test]
    fn a_missing_column_is_named() {
        let path = std::env::temp_dir().join("bars-csv-missing-col.csv");
        std::fs::write(&path, "date,open,high,low\n").unwrap();
        let mut feed = BarsCsvFeed::build(Params { path: path.display().to_string(), ..Params::default() }).unwrap();
        let mut instruments = InstrumentTable::default();
        let error = feed.init(&mut InitContext::new("feed", &mut instruments, 1)).unwrap_err();
        assert!(error.0.ends_with("line 1: no close column (header: date,open,high,low)"), "{}", error.0);
    }
}
