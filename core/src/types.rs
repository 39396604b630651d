//! Domain types for every path that matches or books trades.
//!
//! Prices and money are fixed-point integers with [`PRICE_SCALE`] raw units per whole unit (8 decimal
//! places), so matching and booking never round. Floats appear only where a value leaves this world for
//! indicators and statistics ([`Price::to_f64`]). Quantities are whole lots ([`Qty`]); an
//! [`Instrument`](crate::instrument::Instrument) says how large a lot is and which prices are on its tick.
//!
//! ```
//! use tradsys_core::types::Price;
//! let price: Price = "101.25".parse().unwrap();
//! assert_eq!(price.raw(), 10_125_000_000);
//! assert_eq!(price.to_string(), "101.25");
//! ```

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Raw units per whole unit of a [`Price`] or [`Money`]: 8 decimal places.
pub const PRICE_SCALE: i64 = 100_000_000;
/// Number of decimal places a [`Price`] or [`Money`] can carry.
pub const PRICE_DECIMALS: u32 = 8;

/// A price as a fixed-point integer: `raw / PRICE_SCALE` currency units per unit of the instrument.
///
/// Ordered by its raw value. Parsing accepts decimal text with at most 8 decimal places and never rounds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Price(i64);

/// Money (cash, PnL, commission, notional) as a fixed-point integer with the same scale as [`Price`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(i64);

/// Units of the underlying in one lot, fixed-point with the scale of [`Price`], so that a lot can
/// be a fraction of a unit (`"0.001"` BTC) while quantities stay whole lots. Money is
/// price × lots × lot size ([`LotSize::money_raw`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LotSize(i64);

/// A quantity in whole lots of an instrument. Signed so that positions can be short.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Qty(pub i64);

/// An order's identifier, unique among the live orders of one instrument.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrderId(pub u64);

/// The account that owns an order, used for self-trade prevention. Non-zero so `Option<OwnerId>` is 4 bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct OwnerId(pub NonZeroU32);

/// An instrument's index in an [`InstrumentTable`](crate::instrument::InstrumentTable).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct InstrumentId(pub u32);

/// Nanoseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

/// The side of an order or of the aggressor in a trade.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// Bids: wants to buy.
    Buy,
    /// Offers: wants to sell.
    Sell,
}

/// How an order trades: at a limit, at any price, or only once the market reaches a trigger.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrderType {
    /// Trades at its price or better; may rest.
    Limit,
    /// Trades at any price; never rests (its remainder expires).
    Market,
    /// Waits off the book until a trade reaches its trigger (at or above it for a buy, at or
    /// below for a sell), then trades as a market order.
    Stop,
    /// Waits off the book until a trade reaches its trigger, then trades as a limit order at its
    /// price.
    StopLimit,
}

/// How long an order stays live.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeInForce {
    /// Good till cancelled: the remainder rests in the book.
    #[default]
    Gtc,
    /// Immediate or cancel: trades what it can now; the remainder expires.
    Ioc,
    /// Fill or kill: trades its whole quantity now, or nothing and expires.
    Fok,
    /// Good till crossing (post-only): rejected if it would take liquidity.
    Gtx,
}

/// Why a price could not be read from text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParsePriceError {
    /// The text is empty.
    #[error("empty price")]
    Empty,
    /// The text is not a decimal number (quoted, cut to a short excerpt).
    #[error("not a decimal number: {0}")]
    NotDecimal(String),
    /// More decimal places than [`PRICE_DECIMALS`]; rounding would change the price.
    #[error("more than 8 decimal places: {0}")]
    TooPrecise(String),
    /// The value does not fit the fixed-point range (±92,233,720,368.54775807).
    #[error("out of range (±92233720368.54775807): {0}")]
    OutOfRange(String),
}

/// What every fixed-point type shares: its raw `i64` and a float for indicators and statistics;
/// decimal text (shortest exact, `101.25`) for `Display`, `FromStr` and `Debug` (`Price(101.25)`);
/// and serde as a decimal string out, a decimal string or a plain number in (config files write
/// `"101.25"`, `1000` or `0.5`).
macro_rules! fixed_point {
    ($ty:ident) => {
        impl $ty {
            /// Makes a value from raw fixed-point units ([`PRICE_SCALE`] per whole unit).
            #[must_use]
            pub const fn from_raw(raw: i64) -> $ty {
                $ty(raw)
            }

            /// Returns the raw fixed-point units.
            #[must_use]
            pub const fn raw(self) -> i64 {
                self.0
            }

            /// Returns the value as a float, for indicators and statistics only.
            #[must_use]
            pub fn to_f64(self) -> f64 {
                self.0 as f64 / PRICE_SCALE as f64
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt_fixed(self.0, f)
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($ty), "({})"), self)
            }
        }

        impl FromStr for $ty {
            type Err = ParsePriceError;
            fn from_str(text: &str) -> Result<$ty, ParsePriceError> {
                parse_fixed(trimmed(text)).map($ty)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$ty, D::Error> {
                deserializer.deserialize_any(FixedVisitor).map($ty)
            }
        }
    };
}

fixed_point!(Price);
fixed_point!(Money);
fixed_point!(LotSize);

impl Price {
    /// The zero price.
    pub const ZERO: Price = Price(0);

    /// Makes a price from whole units, e.g. `Price::from_units(100)` is 100.0.
    ///
    /// ```
    /// use tradsys_core::prelude::*;
    ///
    /// assert_eq!(Price::from_units(100), "100".parse().unwrap());
    /// assert_eq!(Price::from_units(100).to_string(), "100");
    /// ```
    #[must_use]
    pub const fn from_units(units: i64) -> Price {
        Price(units * PRICE_SCALE)
    }

    /// Rounds a float to the nearest multiple of `tick`, for strategies that compute prices.
    ///
    /// Returns `None` for a non-finite or out-of-range value or a non-positive tick.
    ///
    /// ```
    /// use tradsys_core::prelude::*;
    ///
    /// let tick: Price = "0.0001".parse().unwrap();
    /// // A signal computed in floats becomes an order price on the tick.
    /// assert_eq!(Price::from_f64_on_tick(1.10263, tick), Some("1.1026".parse().unwrap()));
    /// assert_eq!(Price::from_f64_on_tick(f64::NAN, tick), None);
    /// ```
    #[must_use]
    pub fn from_f64_on_tick(value: f64, tick: Price) -> Option<Price> {
        if !value.is_finite() || tick.0 <= 0 {
            return None;
        }
        let ticks = (value * PRICE_SCALE as f64 / tick.0 as f64).round();
        if ticks.abs() > (i64::MAX / tick.0) as f64 {
            return None;
        }
        Some(Price(ticks as i64 * tick.0))
    }

    /// Adds a number of ticks, or `None` on overflow.
    ///
    /// ```
    /// use tradsys_core::prelude::*;
    ///
    /// let (mid, tick): (Price, Price) = ("1.1025".parse().unwrap(), "0.0001".parse().unwrap());
    /// assert_eq!(mid.offset_ticks(-3, tick), Some("1.1022".parse().unwrap()));
    /// assert_eq!(Price::from_raw(i64::MAX).offset_ticks(1, tick), None, "overflow is refused, not wrapped");
    /// ```
    #[must_use]
    pub fn offset_ticks(self, ticks: i64, tick: Price) -> Option<Price> {
        ticks.checked_mul(tick.0).and_then(|delta| self.0.checked_add(delta)).map(Price)
    }

    /// Whether the price is a whole multiple of `tick`.
    #[must_use]
    pub fn is_on_tick(self, tick: Price) -> bool {
        tick.0 > 0 && self.0 % tick.0 == 0
    }
}

impl Money {
    /// No money.
    pub const ZERO: Money = Money(0);

    /// Makes an amount from a float, rounded to the nearest raw unit (for configured amounts only).
    #[must_use]
    pub fn from_f64(value: f64) -> Money {
        Money((value * PRICE_SCALE as f64).round() as i64)
    }

    /// The notional of `qty` lots of `lot_size` units at `price`, or `None` on overflow.
    #[must_use]
    pub fn notional(price: Price, qty: Qty, lot_size: LotSize) -> Option<Money> {
        let raw = lot_size.money_raw(i128::from(price.0) * i128::from(qty.0));
        i64::try_from(raw).ok().map(Money)
    }

    /// Adds two amounts, saturating at the range ends (amounts that large are already meaningless).
    #[must_use]
    pub fn saturating_add(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }

    /// Subtracts two amounts, saturating at the range ends.
    #[must_use]
    pub fn saturating_sub(self, other: Money) -> Money {
        Money(self.0.saturating_sub(other.0))
    }
}

/// `numerator / denominator` rounded half away from zero (`denominator` positive): how every
/// fixed-point rescaling rounds, so that `-x` rounds to `-(x rounded)`.
#[must_use]
pub fn div_round(numerator: i128, denominator: i128) -> i128 {
    let half = denominator / 2;
    if numerator >= 0 { (numerator + half) / denominator } else { (numerator - half) / denominator }
}

impl LotSize {
    /// One unit per lot.
    pub const ONE: LotSize = LotSize(PRICE_SCALE);

    /// `units` whole units per lot.
    #[must_use]
    pub const fn from_units(units: i64) -> LotSize {
        LotSize(units.saturating_mul(PRICE_SCALE))
    }

    /// Converts raw price × lots (a price's raw units times a count of lots) into raw money:
    /// exact for a whole-unit lot size, else rounded half away from zero to a raw unit (10⁻⁸).
    #[must_use]
    pub fn money_raw(self, price_times_lots: i128) -> i128 {
        let scale = i128::from(PRICE_SCALE);
        let lot = i128::from(self.0);
        if lot % scale == 0 {
            return price_times_lots * (lot / scale);
        }
        div_round(price_times_lots * lot, scale)
    }
}

impl Side {
    /// The other side.
    #[must_use]
    pub const fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }

    /// `+1` for buys and `-1` for sells: the sign of the position change.
    #[must_use]
    pub const fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }

    /// The lower-case name used in files: `buy` or `sell`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

impl TimeInForce {
    /// The lower-case name used in files.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            TimeInForce::Gtc => "gtc",
            TimeInForce::Ioc => "ioc",
            TimeInForce::Fok => "fok",
            TimeInForce::Gtx => "gtx",
        }
    }
}

impl OrderType {
    /// The lower-case name used in files.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            OrderType::Limit => "limit",
            OrderType::Market => "market",
            OrderType::Stop => "stop",
            OrderType::StopLimit => "stop-limit",
        }
    }

    /// Whether the order waits for a trigger before it trades.
    #[must_use]
    pub const fn is_stop(self) -> bool {
        matches!(self, OrderType::Stop | OrderType::StopLimit)
    }

    /// Whether the order carries a limit price (once triggered, for a stop-limit).
    #[must_use]
    pub const fn has_limit(self) -> bool {
        matches!(self, OrderType::Limit | OrderType::StopLimit)
    }
}

impl OwnerId {
    /// Makes an owner id from a non-zero integer, or `None` for zero.
    #[must_use]
    pub fn new(raw: u32) -> Option<OwnerId> {
        NonZeroU32::new(raw).map(OwnerId)
    }
}

// The fraction is read and written as one eight-byte word, which is exactly `PRICE_DECIMALS` digits.
const _: () = assert!(PRICE_DECIMALS == 8, "parse_fixed and write_fixed take the fraction as one 8-byte word");

/// Eight ASCII `'0'` bytes as one word: the fraction's places before any digit is put in.
const ASCII_ZEROS: u64 = u64::from_le_bytes([b'0'; 8]);

/// Parses a fixed-point decimal with at most `PRICE_DECIMALS` places into raw units, without rounding.
///
/// Errors come in the order of the grammar: text that is not a decimal (`[+-]digits[.digits]`) is
/// `NotDecimal` wherever the offending byte sits, then a non-zero digit past the eighth place is
/// `TooPrecise`, then a value past the `i64` range is `OutOfRange`.
///
/// Prices are read by the million from bar files, so the fraction is not read digit by digit: its
/// first eight places, padded with `'0'` on the right, are one little-endian word, checked and
/// converted in a handful of word operations ([`eight_digits`]); that word's value is already the
/// fraction in raw units. The whole part saturates instead of checking each step: anything that
/// saturated fails the final range check all the same.
fn parse_fixed(text: &str) -> Result<i64, ParsePriceError> {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err(ParsePriceError::Empty);
    }
    let (negative, digits) = match bytes[0] {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    let not_decimal = || ParsePriceError::NotDecimal(crate::limits::excerpt(text));
    let mut whole: i64 = 0;
    let mut at = 0;
    while let Some(&byte) = digits.get(at) {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        whole = whole.saturating_mul(10).saturating_add(i64::from(digit));
        at += 1;
    }
    let fraction = match digits.get(at) {
        None => &digits[at..],
        Some(b'.') => &digits[at + 1..],
        Some(_) => return Err(not_decimal()),
    };
    if at == 0 && fraction.is_empty() {
        return Err(not_decimal());
    }
    let (places, beyond) = fraction.split_at(fraction.len().min(PRICE_DECIMALS as usize));
    let word = match <[u8; PRICE_DECIMALS as usize]>::try_from(places) {
        Ok(eight) => u64::from_le_bytes(eight),
        // Fewer places: byte by byte into a word of '0's (a copy of a few bytes of unknown
        // length would be a call to `memcpy`).
        Err(_) => places
            .iter()
            .enumerate()
            .fold(ASCII_ZEROS, |word, (at, &byte)| word & !(0xFF << (8 * at)) | u64::from(byte) << (8 * at)),
    };
    let frac_raw = eight_digits(word).ok_or_else(not_decimal)?;
    if !beyond.iter().all(u8::is_ascii_digit) {
        return Err(not_decimal());
    }
    if beyond.iter().any(|&b| b != b'0') {
        return Err(ParsePriceError::TooPrecise(crate::limits::excerpt(text)));
    }
    let raw = whole
        .checked_mul(PRICE_SCALE)
        .and_then(|w| w.checked_add(frac_raw))
        .ok_or_else(|| ParsePriceError::OutOfRange(crate::limits::excerpt(text)))?;
    Ok(if negative { -raw } else { raw })
}

/// The value of eight ASCII digits loaded as a little-endian word (the first digit the most
/// significant), or `None` if any byte is not a digit.
///
/// The check: a digit byte is `0x30..=0x39`, so its high nibble is 3 and adding 6 leaves it 3
/// (0x3A and up carry into 4). Only a byte of `0xFA` or more carries into its neighbour, and such
/// a byte fails the check itself. The value: after subtracting `'0'` from every byte, adjacent
/// digits are paired (`×10 + next`), then the four pairs are weighted by 10⁶, 10⁴, 10² and 1 with
/// two multiplications whose useful sums land in the word's upper half.
#[inline]
fn eight_digits(word: u64) -> Option<i64> {
    const NIBBLES: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    let high = word & NIBBLES;
    let carried = (word.wrapping_add(0x0606_0606_0606_0606) & NIBBLES) >> 4;
    if high | carried != 0x3333_3333_3333_3333 {
        return None;
    }
    let digits = word - ASCII_ZEROS;
    // Byte 2k now holds digit 2k × 10 + digit 2k+1 (the odd bytes hold garbage, masked below).
    let pairs = digits.wrapping_mul(10).wrapping_add(digits >> 8);
    const PAIR: u64 = 0x0000_00FF_0000_00FF;
    // Pairs 0 and 2 (bytes 0 and 4) times 10^6 and 10^2; pairs 1 and 3 (bytes 2 and 6) times 10^4
    // and 1: the total lands in the upper 32 bits.
    let value = ((pairs & PAIR).wrapping_mul(100 + (1_000_000 << 32))
        + ((pairs >> 16) & PAIR).wrapping_mul(1 + (10_000 << 32)))
        >> 32;
    Some(value as i64)
}

/// Writes raw fixed-point units as the shortest exact decimal text: `10125000000` is `101.25`.
fn fmt_fixed(raw: i64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let mut buf = [0u8; 32];
    let len = write_fixed(raw, &mut buf);
    // The buffer holds only ASCII digits, '-' and '.'.
    f.write_str(std::str::from_utf8(&buf[..len]).unwrap_or("?"))
}

/// Writes raw fixed-point units as the shortest exact decimal text into `out`, returning its length.
///
/// Allocation-free, for writers on hot paths (replay output). `out` must hold 32 bytes.
///
/// Digits are written two at a time from a table of the hundred pairs, and the fraction's eight
/// places as one word whose trailing `'0'` bytes are found with one bit scan: a replay writes two
/// or three prices an event.
pub fn write_fixed(raw: i64, out: &mut [u8; 32]) -> usize {
    let mut len = 0;
    if raw < 0 {
        out[0] = b'-';
        len = 1;
    }
    let magnitude = raw.unsigned_abs();
    let scale = PRICE_SCALE as u64;
    let (mut whole, frac) = (magnitude / scale, (magnitude % scale) as u32);
    // The whole part, right-aligned in `digits`, from its last pair of digits to its first.
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    while whole >= 100 {
        at -= 2;
        digits[at..at + 2].copy_from_slice(digit_pair((whole % 100) as u32));
        whole /= 100;
    }
    if whole >= 10 {
        at -= 2;
        digits[at..at + 2].copy_from_slice(digit_pair(whole as u32));
    } else {
        at -= 1;
        digits[at] = b'0' + whole as u8;
    }
    let whole_len = digits.len() - at;
    out[len..len + whole_len].copy_from_slice(&digits[at..]);
    len += whole_len;
    if frac != 0 {
        out[len] = b'.';
        len += 1;
        let (high, low) = (frac / 10_000, frac % 10_000);
        let mut places = [0u8; PRICE_DECIMALS as usize];
        for (at, pair) in [high / 100, high % 100, low / 100, low % 100].into_iter().enumerate() {
            places[2 * at..2 * at + 2].copy_from_slice(digit_pair(pair));
        }
        // Bytes that are not '0' are non-zero after the XOR; the last of them (the highest byte of
        // the little-endian word) is the last place kept. `frac != 0`, so there is one.
        let not_zeros = u64::from_le_bytes(places) ^ ASCII_ZEROS;
        let kept = (63 - not_zeros.leading_zeros() as usize) / 8 + 1;
        out[len..len + kept].copy_from_slice(&places[..kept]);
        len += kept;
    }
    len
}

/// The two decimal digits of `pair` (below 100).
#[inline]
fn digit_pair(pair: u32) -> &'static [u8] {
    const PAIRS: &[u8; 200] = b"00010203040506070809101112131415161718192021222324252627282930313233343536373839\
40414243444546474849505152535455565758596061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";
    &PAIRS[2 * pair as usize..2 * pair as usize + 2]
}

/// `text` without surrounding whitespace; as `str::trim`, but without decoding a character when
/// both ends are plain ASCII (every number a file holds), which is most of the cost of a price.
#[inline]
fn trimmed(text: &str) -> &str {
    match (text.as_bytes().first(), text.as_bytes().last()) {
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => text,
        _ => text.trim(),
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Qty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// ISO 8601 in UTC: `2017-04-19T09:00:00Z`, with a fraction only when there is one.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.rem_euclid(1_000_000_000);
        let seconds = self.0.div_euclid(1_000_000_000);
        let (days, secs_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            secs_of_day / 3600,
            secs_of_day / 60 % 60,
            secs_of_day % 60
        )?;
        if nanos != 0 {
            let text = format!("{nanos:09}");
            write!(f, ".{}", text.trim_end_matches('0'))?;
        }
        f.write_str("Z")
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Reads a fixed-point value from a decimal string or a number.
struct FixedVisitor;

impl serde::de::Visitor<'_> for FixedVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal number with at most 8 decimal places, e.g. \"101.25\"")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<i64, E> {
        parse_fixed(text.trim()).map_err(E::custom)
    }

    fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<i64, E> {
        value.checked_mul(PRICE_SCALE).ok_or_else(|| E::custom("out of range"))
    }

    fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<i64, E> {
        i64::try_from(value).ok().and_then(|v| v.checked_mul(PRICE_SCALE)).ok_or_else(|| E::custom("out of range"))
    }

    fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<i64, E> {
        // A float from a config file goes through its shortest decimal text, so 0.1 reads as 0.1.
        parse_fixed(&value.to_string()).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What the reference says of a text: its raw value, or which error (by variant).
    #[derive(Debug, PartialEq)]
    enum Parsed {
        Raw(i64),
        Empty,
        NotDecimal,
        TooPrecise,
        OutOfRange,
    }

    impl From<Result<i64, ParsePriceError>> for Parsed {
        fn from(result: Result<i64, ParsePriceError>) -> Parsed {
            match result {
                Ok(raw) => Parsed::Raw(raw),
                Err(ParsePriceError::Empty) => Parsed::Empty,
                Err(ParsePriceError::NotDecimal(_)) => Parsed::NotDecimal,
                Err(ParsePriceError::TooPrecise(_)) => Parsed::TooPrecise,
                Err(ParsePriceError::OutOfRange(_)) => Parsed::OutOfRange,
            }
        }
    }

    /// The obvious parse, in `i128` and string operations: the reference for the fast one, errors
    /// in the grammar's order (not a decimal, then too precise, then out of range).
    fn reference_parse(text: &str) -> Parsed {
        if text.is_empty() {
            return Parsed::Empty;
        }
        let (negative, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
        if (whole.is_empty() && frac.is_empty()) || !(whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())) {
            return Parsed::NotDecimal;
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > PRICE_DECIMALS as usize {
            return Parsed::TooPrecise;
        }
        let whole: i128 = if whole.is_empty() { 0 } else { whole.parse().unwrap_or(i128::MAX / 2) };
        let frac: i128 = format!("{frac:0<8}").parse().expect("eight digits");
        let raw = whole.saturating_mul(i128::from(PRICE_SCALE)).saturating_add(frac);
        match i64::try_from(raw) {
            Ok(raw) => Parsed::Raw(if negative { -raw } else { raw }),
            Err(_) => Parsed::OutOfRange,
        }
    }

    proptest! {
        #[test]
        fn parsing_agrees_with_the_reference(text in "[-+]?[0-9]{0,21}(\\.[0-9]{0,11})?[0-9x.:/ \u{e9}]?[0-9]{0,2}") {
            prop_assert_eq!(Parsed::from(parse_fixed(&text)), reference_parse(&text), "{:?}", text);
        }

        #[test]
        fn any_fraction_of_up_to_eight_places_is_read_exactly(whole in 0u64..100_000, frac in 0u64..100_000_000, places in 0usize..=8) {
            let digits = format!("{frac:08}");
            let text = format!("{whole}.{}", &digits[..places]);
            let expected = whole as i64 * PRICE_SCALE + format!("{:0<8}", &digits[..places]).parse::<i64>().unwrap();
            prop_assert_eq!(parse_fixed(&text), Ok(expected), "{}", text);
        }

        #[test]
        fn writing_agrees_with_the_reference(
            raw in prop_oneof![any::<i64>(), -1_000_000_000_000i64..1_000_000_000_000, Just(i64::MIN), Just(i64::MAX)],
        ) {
            let (whole, frac) = (raw.unsigned_abs() / PRICE_SCALE as u64, raw.unsigned_abs() % PRICE_SCALE as u64);
            let sign = if raw < 0 { "-" } else { "" };
            let places = format!("{frac:08}");
            let reference = match places.trim_end_matches('0') {
                "" => format!("{sign}{whole}"),
                kept => format!("{sign}{whole}.{kept}"),
            };
            let mut out = [0u8; 32];
            let len = write_fixed(raw, &mut out);
            prop_assert_eq!(std::str::from_utf8(&out[..len]).unwrap(), reference);
        }

        #[test]
        fn any_raw_value_round_trips_through_its_shortest_text(raw in any::<i64>().prop_filter("i64::MIN has no positive counterpart", |r| *r != i64::MIN)) {
            let text = Price::from_raw(raw).to_string();
            prop_assert_eq!(text.parse::<Price>().unwrap().raw(), raw);
            prop_assert!(!text.contains('.') || !text.ends_with('0'), "not shortest: {}", text);
        }
    }

    #[test]
    fn price_round_trips_through_text() {
        for text in ["101.25", "0.00001", "-3.5", "100", "0.00000001", "92233720368"] {
            let price: Price = text.parse().unwrap();
            assert_eq!(price.to_string(), text);
        }
        assert_eq!("1.50".parse::<Price>().unwrap().to_string(), "1.5");
        assert_eq!("+2.000000000".parse::<Price>().unwrap().to_string(), "2");
    }

    #[test]
    fn price_parse_rejects_bad_text_without_rounding() {
        assert_eq!("".parse::<Price>(), Err(ParsePriceError::Empty));
        assert!(matches!("1.2.3".parse::<Price>(), Err(ParsePriceError::NotDecimal(_))));
        assert!(matches!("abc".parse::<Price>(), Err(ParsePriceError::NotDecimal(_))));
        assert!(matches!(".".parse::<Price>(), Err(ParsePriceError::NotDecimal(_))));
        assert!(matches!("1.000000001".parse::<Price>(), Err(ParsePriceError::TooPrecise(_))));
        // Not a decimal comes first, wherever the junk is: a ninth place does not make it a
        // rounding question.
        assert!(matches!("1.123456789x".parse::<Price>(), Err(ParsePriceError::NotDecimal(_))));
        assert!(matches!("1.1234x".parse::<Price>(), Err(ParsePriceError::NotDecimal(_))));
        assert!(matches!("1.12345678\u{e9}".parse::<Price>(), Err(ParsePriceError::NotDecimal(_))));
        assert!(matches!("99999999999999".parse::<Price>(), Err(ParsePriceError::OutOfRange(_))));
        let huge = "9".repeat(10_000_000);
        let message = huge.parse::<Price>().unwrap_err().to_string();
        assert!(
            message.len() < 120 && message.ends_with("(10000000 bytes)"),
            "a field is never echoed whole: {message}"
        );
    }

    #[test]
    fn tick_checks_and_rounding() {
        let tick: Price = "0.01".parse().unwrap();
        assert!("101.25".parse::<Price>().unwrap().is_on_tick(tick));
        assert!(!"101.255".parse::<Price>().unwrap().is_on_tick(tick));
        assert_eq!(Price::from_f64_on_tick(101.254_9, tick).unwrap().to_string(), "101.25");
        assert_eq!(Price::from_f64_on_tick(f64::NAN, tick), None);
        let price = "1".parse::<Price>().unwrap();
        assert_eq!(price.offset_ticks(-3, tick).unwrap().to_string(), "0.97");
    }

    #[test]
    fn timestamps_print_as_utc_iso_8601() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp(1_492_592_400_000_000_000).to_string(), "2017-04-19T09:00:00Z");
        assert_eq!(Timestamp(951_782_400_500_000_000).to_string(), "2000-02-29T00:00:00.5Z");
        assert_eq!(Timestamp(-1_000_000_000).to_string(), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn notional_is_exact_and_checked() {
        let price: Price = "1.07219".parse().unwrap();
        let notional = Money::notional(price, Qty(3), LotSize::from_units(100_000)).unwrap();
        assert_eq!(notional.to_string(), "321657");
        assert_eq!(Money::notional(Price::from_raw(i64::MAX), Qty(2), LotSize::ONE), None);
    }

    #[test]
    fn prices_deserialize_from_strings_and_numbers() {
        #[derive(Deserialize)]
        struct Holder {
            a: Price,
            b: Price,
            c: Money,
        }
        let holder: Holder =
            figment::Figment::from(figment::providers::Serialized::defaults(figment::value::Dict::from([
                ("a".to_owned(), figment::value::Value::from("1.25")),
                ("b".to_owned(), figment::value::Value::from(3)),
                ("c".to_owned(), figment::value::Value::from(0.1)),
            ])))
            .extract()
            .unwrap();
        assert_eq!(holder.a.to_string(), "1.25");
        assert_eq!(holder.b.to_string(), "3");
        assert_eq!(holder.c.to_string(), "0.1");
    }

    #[test]
    fn lot_sizes_turn_price_times_lots_into_money() {
        // Whole units: exact.
        assert_eq!(LotSize::from_units(1000).money_raw(107_219_000 * 3), 107_219_000 * 3 * 1000);
        // 0.001 BTC per lot at 42475.23: 42.47523 per lot.
        let milli: LotSize = "0.001".parse().unwrap();
        assert_eq!(milli.money_raw(4_247_523_000_000), 4_247_523_000);
        // Rounded half away from zero past 8 decimals: 0.00000015 × 0.1 = 0.000000015.
        let tenth: LotSize = "0.1".parse().unwrap();
        assert_eq!(tenth.money_raw(15), 2);
        assert_eq!(tenth.money_raw(-15), -2);
        assert_eq!(Money::notional(Price::from_units(42_475), Qty(2), milli), Some("84.95".parse().unwrap()));
    }

    #[test]
    fn lot_sizes_read_numbers_and_decimal_strings() {
        #[derive(Deserialize)]
        struct Spec {
            lot_size: LotSize,
        }
        let read = |text: &str| serde_json::from_str::<Spec>(text).map(|s| s.lot_size.to_string());
        assert_eq!(read(r#"{"lot_size": 1000}"#).unwrap(), "1000");
        assert_eq!(read(r#"{"lot_size": "0.001"}"#).unwrap(), "0.001");
        assert_eq!(read(r#"{"lot_size": 0.5}"#).unwrap(), "0.5");
        assert!(read(r#"{"lot_size": "0.000000001"}"#).is_err());
    }
}
