//! The limits tradsys enforces on what it reads: one place, so that the checks, their messages and
//! the limits table in `docs/config.md` agree.
//!
//! Every size that reaches an allocation (a look-back period, a number of symbols, a line of a
//! file) and every quantity that reaches fixed-point arithmetic (a timestamp, an amount of money, a
//! lot size) is checked against these limits where it enters, with a message naming the key or line
//! and the limit, before anything is allocated or computed. Nothing past these limits is clamped,
//! wrapped or saturated silently.
//!
//! ```
//! use tradsys_core::limits::{Period, excerpt};
//! let period: Period = serde_json::from_str("20").unwrap();
//! assert_eq!(period.get(), 20);
//! assert!(serde_json::from_str::<Period>("1099511627776").is_err());
//! assert_eq!(excerpt(&"x".repeat(100)), format!("\"{}\"… (100 bytes)", "x".repeat(40)));
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::types::{Money, PRICE_SCALE, Timestamp};

/// The longest look-back window (indicator and strategy periods), in inputs: windows are allocated
/// up front, so this bounds the memory one indicator takes (8 MB of `f64`).
pub const MAX_PERIOD: u32 = 1_000_000;

/// The most instruments one run or replay may name: every instrument gets a book and market state.
pub const MAX_INSTRUMENTS: usize = 1_024;

/// The largest order, in lots: quantities at a price level and in a position are sums of orders,
/// and stay far inside `i64` with orders this large.
pub const MAX_ORDER_QTY: i64 = 1_000_000_000;

/// The most distinct owners (self-trade prevention accounts) one order-flow file may name.
pub const MAX_OWNERS: usize = 1 << 16;

/// The longest line of an input file (CSV bars, order flow), in bytes. A longer line is reported
/// with its number and skipped (or fatal in strict mode) without being held in memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Characters of a field quoted in a message: a bad field is named, never echoed whole.
pub const QUOTED_FIELD_CHARS: usize = 40;

/// The deepest dotted key (`a.b.c` is 3) a `--set` override or a `TRADSYS_` variable may name.
pub const MAX_KEY_DEPTH: usize = 16;

/// The deepest nesting of arrays and tables in a value given by `--set`, a `TRADSYS_` variable or a
/// config file.
pub const MAX_VALUE_DEPTH: usize = 32;

/// The longest bar interval (`bar-aggregator`'s `interval_ms`): 30 days, in milliseconds. (Longer
/// calendar bars are not fixed-length; and a bar's start, a multiple of the interval, then stays
/// inside the timestamp range for every timestamp in it.)
pub const MAX_INTERVAL_MS: i64 = 30 * 86_400_000;

/// The largest combined starting cash of a run's strategies, in whole units: 10 billion, leaving the
/// fixed-point range (±92,233,720,368) room for what they make and lose, alone and in total.
pub const MAX_INITIAL_CASH_UNITS: i64 = 10_000_000_000;

/// The largest lot size of an instrument, in units of the underlying.
pub const MAX_LOT_SIZE: i64 = 1_000_000_000;

/// The earliest and latest year a timestamp may fall in: nanoseconds since the epoch in an `i64`
/// reach from 1677-09-21 to 2262-04-11; whole years inside that range are accepted.
pub const TIMESTAMP_YEARS: (i64, i64) = (1678, 2261);

/// The largest combined starting cash, as money.
#[must_use]
pub const fn max_initial_cash() -> Money {
    Money::from_raw(MAX_INITIAL_CASH_UNITS * PRICE_SCALE)
}

/// The first and last instant of [`TIMESTAMP_YEARS`], as timestamps.
#[must_use]
pub const fn timestamp_range() -> (Timestamp, Timestamp) {
    // 1678-01-01T00:00:00Z and 2262-01-01T00:00:00Z − 1 ns, in nanoseconds since the epoch.
    (Timestamp(-9_214_560_000_000_000_000), Timestamp(9_214_646_400_000_000_000 - 1))
}

/// A look-back window length: a whole number from 1 to [`MAX_PERIOD`], checked where it is read.
///
/// Plugins take their periods as this type, so an absurd period is a parameter error naming its key
/// (`parameter slow: expected a period from 1 to 1000000, got 1099511627776`), never an allocation
/// that aborts the process.
///
/// ```
/// use tradsys_core::limits::Period;
///
/// assert_eq!(Period::new(20).map(Period::get), Some(20));
/// assert_eq!(Period::new(0), None, "a look-back of nothing");
/// // Read from a config, an out-of-range period is an error naming the range, not an allocation.
/// let read: Result<Period, _> = serde_json::from_str("0");
/// assert!(read.unwrap_err().to_string().contains("from 1 to 1000000"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Period(u32);

impl Period {
    /// A period, if `value` is from 1 to [`MAX_PERIOD`].
    #[must_use]
    pub const fn new(value: u32) -> Option<Period> {
        if value >= 1 && value <= MAX_PERIOD { Some(Period(value)) } else { None }
    }

    /// A period from a literal, for defaults: `Period::of(20)`.
    ///
    /// # Panics
    /// If `value` is outside 1 to [`MAX_PERIOD`] (a literal in the plugin's own code, so a bug that
    /// shows at once, at compile time when used in a constant).
    #[must_use]
    pub const fn of(value: u32) -> Period {
        match Period::new(value) {
            Some(period) => period,
            None => panic!("a period must be from 1 to MAX_PERIOD"),
        }
    }

    /// The period, as a length.
    #[must_use]
    pub const fn get(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Period, D::Error> {
        struct PeriodVisitor;
        impl serde::de::Visitor<'_> for PeriodVisitor {
            type Value = Period;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a period from 1 to {MAX_PERIOD}")
            }
            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Period, E> {
                u32::try_from(value).ok().and_then(Period::new).ok_or_else(|| out_of_range(value))
            }
            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Period, E> {
                u32::try_from(value).ok().and_then(Period::new).ok_or_else(|| out_of_range(value))
            }
            fn visit_i128<E: serde::de::Error>(self, value: i128) -> Result<Period, E> {
                u32::try_from(value).ok().and_then(Period::new).ok_or_else(|| out_of_range(value))
            }
            fn visit_u128<E: serde::de::Error>(self, value: u128) -> Result<Period, E> {
                u32::try_from(value).ok().and_then(Period::new).ok_or_else(|| out_of_range(value))
            }
        }
        fn out_of_range<E: serde::de::Error>(value: impl fmt::Display) -> E {
            E::custom(format!("expected a period from 1 to {MAX_PERIOD}, got {value}"))
        }
        deserializer.deserialize_any(PeriodVisitor)
    }
}

/// A field quoted for a message: at most [`QUOTED_FIELD_CHARS`] characters, with its length in bytes
/// when it was cut, so a 100 MB field is named in 60 bytes.
#[must_use]
pub fn excerpt(text: &str) -> String {
    match text.char_indices().nth(QUOTED_FIELD_CHARS) {
        None => format!("{text:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &text[..cut], text.len()),
    }
}

/// `text` cut to at most `chars` characters, with `…` where it was cut: for names built from input
/// (a `--set` argument, a variable's name) that messages repeat.
#[must_use]
pub fn shorten(text: &str, chars: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(chars) {
        None => std::borrow::Cow::Borrowed(text),
        Some((cut, _)) => std::borrow::Cow::Owned(format!("{}…", &text[..cut])),
    }
}

/// Bytes quoted for a message, as [`excerpt`] does for text; invalid UTF-8 is shown lossily.
#[must_use]
pub fn excerpt_bytes(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(QUOTED_FIELD_CHARS * 4)];
    let text = String::from_utf8_lossy(head);
    match text.char_indices().nth(QUOTED_FIELD_CHARS) {
        None if head.len() == bytes.len() => format!("{text:?}"),
        None => format!("{text:?}… ({} bytes)", bytes.len()),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &text[..cut], bytes.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_outside_the_range_are_refused_with_the_limit() {
        for bad in ["0", "-1", "1000001", "1099511627776", "4611686018427387904", "\"ten\"", "2.5"] {
            let error = serde_json::from_str::<Period>(bad).unwrap_err().to_string();
            assert!(error.contains("period from 1 to 1000000"), "{bad}: {error}");
        }
        assert_eq!(serde_json::from_str::<Period>("1000000").unwrap().get(), 1_000_000);
        assert_eq!(Period::new(0), None);
    }

    #[test]
    fn excerpts_cut_long_fields_and_say_how_long_they_were() {
        assert_eq!(excerpt("abc"), "\"abc\"");
        let long = "é".repeat(1_000_000);
        let quoted = excerpt(&long);
        assert!(quoted.len() < 120 && quoted.ends_with("… (2000000 bytes)"), "{quoted}");
        assert_eq!(excerpt_bytes(b"ab\xffc"), "\"ab\u{fffd}c\"");
        assert!(excerpt_bytes(&[b'z'; 10_000]).ends_with("… (10000 bytes)"));
    }

    #[test]
    fn the_timestamp_range_is_whole_years_inside_i64_nanoseconds() {
        let (first, last) = timestamp_range();
        assert_eq!(first.to_string(), "1678-01-01T00:00:00Z");
        assert_eq!(last.to_string(), "2261-12-31T23:59:59.999999999Z");
    }
}
