//! A tape's binary form: how a [`MarketTape`] travels to another process or machine.
//!
//! A distributed sweep reads its data once and sends the tape to every worker, which must replay
//! exactly the events the local sweep would. So the form is exact, not approximate: prices,
//! quantities and lot sizes as their raw fixed-point integers, volumes as the bits of their
//! `f64`, instruments with the origin of their tick (a replayed feed declares them as the
//! recorded one did). It is little-endian, fixed-width and versioned:
//!
//! ```text
//! "TSTAPE" u16 version (1)  u8 mode (0 bars, 1 order flow)
//! u32 instruments, each: u16 length, symbol (UTF-8), i64 tick, i64 lot size, u8 tick origin
//! u64 events, each: u8 kind, i64 time, then the kind's fields (see `write_event`)
//! ```
//!
//! Only the tape's window is written. Reading checks everything (tags, instrument ids, lengths,
//! trailing bytes) and names the byte offset of the first problem: a file from elsewhere is input,
//! not trusted.

use super::tape::MarketTape;
use crate::book::NewOrder;
use crate::component::FeedData;
use crate::instrument::{Instrument, TickOrigin};
use crate::market::{Bar, MarketEvent, OrderFlowEvent, Quote, TradeTick};
use crate::orderflow::OrderCommand;
use crate::types::{InstrumentId, LotSize, OrderId, OrderType, OwnerId, Price, Qty, Side, TimeInForce, Timestamp};

/// The first bytes of every tape file.
const MAGIC: &[u8; 6] = b"TSTAPE";
/// The version this build writes and reads.
const VERSION: u16 = 1;
/// The fewest bytes an event takes (a cancel without instrument: kind, time, command, flags, id).
const SMALLEST_EVENT: usize = 1 + 8 + 1 + 1 + 8;

/// Why bytes are not a tape this build can read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a readable tape: {problem} at byte {offset}")]
pub struct TapeFormatError {
    /// Where the problem is.
    pub offset: usize,
    /// What is wrong there.
    pub problem: String,
}

impl MarketTape {
    /// The window's events and the tape's instruments in the binary form described in this
    /// module's docs; [`MarketTape::from_bytes`] reads them back to an equal tape.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(32 + self.len() * 48);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.push(match self.mode() {
            FeedData::Bars => 0,
            FeedData::OrderFlow => 1,
        });
        put_u32(&mut out, u32::try_from(self.instruments().len()).unwrap_or(u32::MAX));
        for instrument in self.instruments() {
            let symbol = instrument.symbol.as_bytes();
            out.extend_from_slice(&u16::try_from(symbol.len()).unwrap_or(u16::MAX).to_le_bytes());
            out.extend_from_slice(&symbol[..symbol.len().min(usize::from(u16::MAX))]);
            put_i64(&mut out, instrument.tick.raw());
            put_i64(&mut out, instrument.lot_size.raw());
            out.push(match instrument.tick_origin {
                TickOrigin::Declared => 0,
                TickOrigin::Assumed => 1,
                TickOrigin::Inferred => 2,
            });
        }
        out.extend_from_slice(&(self.len() as u64).to_le_bytes());
        for event in self.events() {
            write_event(&mut out, event);
        }
        out
    }

    /// Reads a tape written by [`MarketTape::to_bytes`].
    ///
    /// # Errors
    /// The bytes are truncated, from another version, or hold a value no tape can (an unknown
    /// kind, an instrument id past the table, a symbol that is not UTF-8, trailing bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<MarketTape, TapeFormatError> {
        let mut reader = Reader { bytes, at: 0 };
        if reader.take(MAGIC.len())? != MAGIC {
            return Err(reader.problem_at(0, "it does not start with TSTAPE"));
        }
        let version = u16::from_le_bytes(reader.array()?);
        if version != VERSION {
            return Err(reader.problem_at(6, format!("version {version}; this build reads version {VERSION}")));
        }
        let mode = match reader.u8()? {
            0 => FeedData::Bars,
            1 => FeedData::OrderFlow,
            other => return Err(reader.problem(format!("feed mode {other}"))),
        };
        let count = reader.u32()? as usize;
        // Each instrument takes at least 19 bytes: no count may claim more than the bytes hold.
        reader.expect_room(count, 19)?;
        let mut instruments = Vec::with_capacity(count);
        for _ in 0..count {
            let length = usize::from(u16::from_le_bytes(reader.array()?));
            let start = reader.at;
            let symbol = match std::str::from_utf8(reader.take(length)?) {
                Ok(symbol) => symbol.to_owned(),
                Err(_) => return Err(reader.problem_at(start, "a symbol that is not UTF-8")),
            };
            let tick = Price::from_raw(reader.i64()?);
            let lot_size = LotSize::from_raw(reader.i64()?);
            let tick_origin = match reader.u8()? {
                0 => TickOrigin::Declared,
                1 => TickOrigin::Assumed,
                2 => TickOrigin::Inferred,
                other => return Err(reader.problem(format!("tick origin {other}"))),
            };
            instruments.push(Instrument { symbol, tick, lot_size, tick_origin });
        }
        let count = usize::try_from(reader.u64()?).unwrap_or(usize::MAX);
        reader.expect_room(count, SMALLEST_EVENT)?;
        let mut events = Vec::with_capacity(count);
        for _ in 0..count {
            events.push(reader.event(instruments.len())?);
        }
        if reader.at != bytes.len() {
            return Err(reader.problem(format!("{} bytes after the last event", bytes.len() - reader.at)));
        }
        Ok(MarketTape::from_parts(mode, instruments, events))
    }
}

/// Writes one event: its kind and time, then the kind's fields. Optional fields follow a byte of
/// presence flags.
fn write_event(out: &mut Vec<u8>, event: &MarketEvent) {
    match event {
        MarketEvent::Bar(bar) => {
            out.push(0);
            put_i64(out, bar.ts.0);
            put_u32(out, bar.instrument.0);
            for price in [bar.open, bar.high, bar.low, bar.close] {
                put_i64(out, price.raw());
            }
            out.extend_from_slice(&bar.volume.to_bits().to_le_bytes());
        }
        MarketEvent::Trade(trade) => {
            out.push(1);
            put_i64(out, trade.ts.0);
            put_u32(out, trade.instrument.0);
            put_i64(out, trade.price.raw());
            put_i64(out, trade.qty.0);
            out.push(side_code(trade.aggressor));
        }
        MarketEvent::Quote(quote) => {
            out.push(2);
            put_i64(out, quote.ts.0);
            put_u32(out, quote.instrument.0);
            out.push(u8::from(quote.bid.is_some()) | u8::from(quote.ask.is_some()) << 1);
            for (price, qty) in [quote.bid, quote.ask].into_iter().flatten() {
                put_i64(out, price.raw());
                put_i64(out, qty.0);
            }
        }
        MarketEvent::Order(flow) => {
            out.push(3);
            put_i64(out, flow.ts.0);
            write_command(out, &flow.command);
        }
    }
}

fn write_command(out: &mut Vec<u8>, command: &OrderCommand) {
    match command {
        OrderCommand::New { instrument, order } => {
            out.push(0);
            put_u32(out, instrument.0);
            out.extend_from_slice(&order.id.0.to_le_bytes());
            out.push(side_code(order.side));
            out.push(match order.order_type {
                OrderType::Limit => 0,
                OrderType::Market => 1,
                OrderType::Stop => 2,
                OrderType::StopLimit => 3,
            });
            out.push(match order.tif {
                TimeInForce::Gtc => 0,
                TimeInForce::Ioc => 1,
                TimeInForce::Fok => 2,
                TimeInForce::Gtx => 3,
            });
            out.push(
                u8::from(order.price.is_some())
                    | u8::from(order.trigger.is_some()) << 1
                    | u8::from(order.owner.is_some()) << 2,
            );
            put_i64(out, order.qty.0);
            for price in [order.price, order.trigger].into_iter().flatten() {
                put_i64(out, price.raw());
            }
            if let Some(owner) = order.owner {
                put_u32(out, owner.0.get());
            }
        }
        OrderCommand::Cancel { instrument, id } => {
            out.push(1);
            out.push(u8::from(instrument.is_some()));
            out.extend_from_slice(&id.0.to_le_bytes());
            if let Some(instrument) = instrument {
                put_u32(out, instrument.0);
            }
        }
        OrderCommand::Modify { instrument, id, price, qty } => {
            out.push(2);
            out.push(u8::from(instrument.is_some()) | u8::from(price.is_some()) << 1 | u8::from(qty.is_some()) << 2);
            out.extend_from_slice(&id.0.to_le_bytes());
            if let Some(instrument) = instrument {
                put_u32(out, instrument.0);
            }
            if let Some(price) = price {
                put_i64(out, price.raw());
            }
            if let Some(qty) = qty {
                put_i64(out, qty.0);
            }
        }
    }
}

fn side_code(side: Side) -> u8 {
    match side {
        Side::Buy => 0,
        Side::Sell => 1,
    }
}

fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put_i64(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// Reads fields in order, keeping the offset for messages.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn problem(&self, problem: impl Into<String>) -> TapeFormatError {
        TapeFormatError { offset: self.at.saturating_sub(1), problem: problem.into() }
    }

    fn problem_at(&self, offset: usize, problem: impl Into<String>) -> TapeFormatError {
        TapeFormatError { offset, problem: problem.into() }
    }

    fn take(&mut self, length: usize) -> Result<&[u8], TapeFormatError> {
        let end = self.at.checked_add(length).filter(|end| *end <= self.bytes.len());
        let end = end.ok_or_else(|| self.problem_at(self.at, "it ends early"))?;
        let taken = &self.bytes[self.at..end];
        self.at = end;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], TapeFormatError> {
        let mut array = [0; N];
        array.copy_from_slice(self.take(N)?);
        Ok(array)
    }

    /// Fails unless `count` items of at least `size` bytes each can still follow.
    fn expect_room(&self, count: usize, size: usize) -> Result<(), TapeFormatError> {
        let left = self.bytes.len() - self.at;
        if count.checked_mul(size).is_none_or(|needed| needed > left) {
            return Err(self.problem_at(self.at, format!("a count of {count} that the {left} bytes left cannot hold")));
        }
        Ok(())
    }

    fn u8(&mut self) -> Result<u8, TapeFormatError> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, TapeFormatError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, TapeFormatError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, TapeFormatError> {
        Ok(i64::from_le_bytes(self.array()?))
    }

    fn instrument(&mut self, instruments: usize) -> Result<InstrumentId, TapeFormatError> {
        let id = self.u32()?;
        if id as usize >= instruments {
            return Err(self.problem_at(self.at - 4, format!("instrument {id} of a table of {instruments}")));
        }
        Ok(InstrumentId(id))
    }

    fn side(&mut self) -> Result<Side, TapeFormatError> {
        match self.u8()? {
            0 => Ok(Side::Buy),
            1 => Ok(Side::Sell),
            other => Err(self.problem(format!("side {other}"))),
        }
    }

    /// Reads `flags`'s bit `bit`'s optional field with `read`.
    fn optional<T>(
        &mut self,
        flags: u8,
        bit: u8,
        read: impl FnOnce(&mut Self) -> Result<T, TapeFormatError>,
    ) -> Result<Option<T>, TapeFormatError> {
        if flags & (1 << bit) == 0 { Ok(None) } else { read(self).map(Some) }
    }

    fn flags(&mut self, allowed: u8) -> Result<u8, TapeFormatError> {
        let flags = self.u8()?;
        if flags & !allowed != 0 {
            return Err(self.problem(format!("flags {flags:#04x}")));
        }
        Ok(flags)
    }

    fn event(&mut self, instruments: usize) -> Result<MarketEvent, TapeFormatError> {
        let kind = self.u8()?;
        let ts = Timestamp(self.i64()?);
        Ok(match kind {
            0 => {
                let instrument = self.instrument(instruments)?;
                let mut prices = [Price::ZERO; 4];
                for price in &mut prices {
                    *price = Price::from_raw(self.i64()?);
                }
                let [open, high, low, close] = prices;
                let volume = f64::from_bits(self.u64()?);
                MarketEvent::Bar(Bar { ts, instrument, open, high, low, close, volume })
            }
            1 => {
                let instrument = self.instrument(instruments)?;
                let price = Price::from_raw(self.i64()?);
                let qty = Qty(self.i64()?);
                let aggressor = self.side()?;
                MarketEvent::Trade(TradeTick { ts, instrument, price, qty, aggressor })
            }
            2 => {
                let instrument = self.instrument(instruments)?;
                let flags = self.flags(0b11)?;
                let level = |reader: &mut Self| Ok((Price::from_raw(reader.i64()?), Qty(reader.i64()?)));
                let bid = self.optional(flags, 0, level)?;
                let ask = self.optional(flags, 1, level)?;
                MarketEvent::Quote(Quote { ts, instrument, bid, ask })
            }
            3 => MarketEvent::Order(OrderFlowEvent { ts, command: self.command(instruments)? }),
            other => return Err(self.problem_at(self.at - 9, format!("event kind {other}"))),
        })
    }

    fn command(&mut self, instruments: usize) -> Result<OrderCommand, TapeFormatError> {
        let price = |reader: &mut Self| reader.i64().map(Price::from_raw);
        match self.u8()? {
            0 => {
                let instrument = self.instrument(instruments)?;
                let id = OrderId(self.u64()?);
                let side = self.side()?;
                let order_type = match self.u8()? {
                    0 => OrderType::Limit,
                    1 => OrderType::Market,
                    2 => OrderType::Stop,
                    3 => OrderType::StopLimit,
                    other => return Err(self.problem(format!("order type {other}"))),
                };
                let tif = match self.u8()? {
                    0 => TimeInForce::Gtc,
                    1 => TimeInForce::Ioc,
                    2 => TimeInForce::Fok,
                    3 => TimeInForce::Gtx,
                    other => return Err(self.problem(format!("time in force {other}"))),
                };
                let flags = self.flags(0b111)?;
                let qty = Qty(self.i64()?);
                let limit = self.optional(flags, 0, price)?;
                let trigger = self.optional(flags, 1, price)?;
                let owner = self.optional(flags, 2, |reader| {
                    let raw = reader.u32()?;
                    std::num::NonZeroU32::new(raw)
                        .map(OwnerId)
                        .ok_or_else(|| reader.problem_at(reader.at - 4, "owner 0"))
                })?;
                let order = NewOrder { id, side, order_type, price: limit, trigger, qty, tif, owner };
                Ok(OrderCommand::New { instrument, order })
            }
            1 => {
                let flags = self.flags(0b1)?;
                let id = OrderId(self.u64()?);
                let instrument = self.optional(flags, 0, |reader| reader.instrument(instruments))?;
                Ok(OrderCommand::Cancel { instrument, id })
            }
            2 => {
                let flags = self.flags(0b111)?;
                let id = OrderId(self.u64()?);
                let instrument = self.optional(flags, 0, |reader| reader.instrument(instruments))?;
                let new_price = self.optional(flags, 1, price)?;
                let qty = self.optional(flags, 2, |reader| reader.i64().map(Qty))?;
                Ok(OrderCommand::Modify { instrument, id, price: new_price, qty })
            }
            other => Err(self.problem(format!("order command {other}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instrument(symbol: &str, tick: i64, origin: TickOrigin) -> Instrument {
        Instrument {
            symbol: symbol.to_owned(),
            tick: Price::from_raw(tick),
            lot_size: LotSize::ONE,
            tick_origin: origin,
        }
    }

    /// A tape with an event of every kind and every optional field both present and absent.
    fn every_kind() -> MarketTape {
        let ts = Timestamp;
        let (x, y) = (InstrumentId(0), InstrumentId(1));
        let p = Price::from_raw;
        let new = |id, order_type, price, trigger, owner: Option<u32>| OrderCommand::New {
            instrument: y,
            order: NewOrder {
                id: OrderId(id),
                side: Side::Sell,
                order_type,
                price,
                trigger,
                qty: Qty(7),
                tif: TimeInForce::Fok,
                owner: owner.and_then(std::num::NonZeroU32::new).map(OwnerId),
            },
        };
        let events = vec![
            MarketEvent::Bar(Bar {
                ts: ts(1),
                instrument: x,
                open: p(1),
                high: p(3),
                low: p(-2),
                close: p(2),
                volume: 0.1 + 0.2,
            }),
            MarketEvent::Bar(Bar {
                ts: ts(2),
                instrument: y,
                open: p(1),
                high: p(1),
                low: p(1),
                close: p(1),
                volume: f64::NAN,
            }),
            MarketEvent::Trade(TradeTick {
                ts: ts(3),
                instrument: y,
                price: p(i64::MAX),
                qty: Qty(-4),
                aggressor: Side::Buy,
            }),
            MarketEvent::Quote(Quote { ts: ts(4), instrument: x, bid: Some((p(9), Qty(1))), ask: None }),
            MarketEvent::Quote(Quote { ts: ts(5), instrument: x, bid: None, ask: Some((p(11), Qty(2))) }),
            MarketEvent::Order(OrderFlowEvent {
                ts: ts(6),
                command: new(1, OrderType::StopLimit, Some(p(5)), Some(p(6)), Some(3)),
            }),
            MarketEvent::Order(OrderFlowEvent { ts: ts(7), command: new(2, OrderType::Market, None, None, None) }),
            MarketEvent::Order(OrderFlowEvent {
                ts: ts(8),
                command: OrderCommand::Cancel { instrument: None, id: OrderId(1) },
            }),
            MarketEvent::Order(OrderFlowEvent {
                ts: ts(9),
                command: OrderCommand::Cancel { instrument: Some(x), id: OrderId(u64::MAX) },
            }),
            MarketEvent::Order(OrderFlowEvent {
                ts: ts(10),
                command: OrderCommand::Modify { instrument: Some(y), id: OrderId(2), price: None, qty: Some(Qty(3)) },
            }),
            MarketEvent::Order(OrderFlowEvent {
                ts: ts(11),
                command: OrderCommand::Modify { instrument: None, id: OrderId(2), price: Some(p(4)), qty: None },
            }),
        ];
        let instruments =
            vec![instrument("EURUSD", 1000, TickOrigin::Inferred), instrument("é/Ü", 1, TickOrigin::Declared)];
        MarketTape::from_parts(FeedData::OrderFlow, instruments, events)
    }

    /// Events compared by their bits: NaN volumes must come back as the same NaN.
    fn same(a: &MarketTape, b: &MarketTape) -> bool {
        let bits = |tape: &MarketTape| {
            tape.events()
                .iter()
                .map(|event| match event {
                    MarketEvent::Bar(bar) => format!("{bar:?} {}", bar.volume.to_bits()),
                    other => format!("{other:?}"),
                })
                .collect::<Vec<_>>()
        };
        a.mode() == b.mode() && a.instruments() == b.instruments() && bits(a) == bits(b)
    }

    #[test]
    fn every_kind_of_event_reads_back_exactly() {
        let tape = every_kind();
        let bytes = tape.to_bytes();
        let read = MarketTape::from_bytes(&bytes).unwrap();
        assert!(same(&tape, &read), "{:?}\n{:?}", tape.events(), read.events());
        assert_eq!(read.instruments()[0].tick_origin, TickOrigin::Inferred, "the tick's origin travels");
        assert_eq!(read.to_bytes(), bytes, "writing what was read gives the same bytes");
    }

    #[test]
    fn only_the_window_is_written() {
        let tape = every_kind();
        let window = tape.window(Some(Timestamp(3)), Some(Timestamp(5)));
        let read = MarketTape::from_bytes(&window.to_bytes()).unwrap();
        assert_eq!(read.len(), 2);
        assert_eq!(read.span(), Some((Timestamp(3), Timestamp(4))));
        assert_eq!(read.instruments().len(), 2, "the instruments are the tape's, whatever the window");
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = every_kind().to_bytes();
        for length in 0..bytes.len() {
            let error = MarketTape::from_bytes(&bytes[..length]).unwrap_err();
            assert!(error.offset <= length, "{length}: {error}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(MarketTape::from_bytes(&longer).unwrap_err().problem, "1 bytes after the last event");
    }

    #[test]
    fn bad_values_are_named_with_their_offset() {
        let bytes = every_kind().to_bytes();
        let with = |offset: usize, value: u8| {
            let mut bad = bytes.clone();
            bad[offset] = value;
            MarketTape::from_bytes(&bad).unwrap_err().to_string()
        };
        assert_eq!(with(0, b'X'), "not a readable tape: it does not start with TSTAPE at byte 0");
        assert_eq!(with(6, 2), "not a readable tape: version 2; this build reads version 1 at byte 6");
        assert_eq!(with(8, 7), "not a readable tape: feed mode 7 at byte 8");
        // The first event follows the header (9), the count (4), the two instruments (2+6+17 and
        // 2+5+17; "é/Ü" is five bytes) and the event count (8).
        let first_event = 9 + 4 + 25 + 24 + 8;
        assert_eq!(with(first_event, 9), format!("not a readable tape: event kind 9 at byte {first_event}"));
        assert_eq!(
            with(first_event + 9, 5),
            format!("not a readable tape: instrument 5 of a table of 2 at byte {}", first_event + 9)
        );
        let mut huge = bytes[..9].to_vec();
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(MarketTape::from_bytes(&huge).unwrap_err().problem.contains("cannot hold"), "no allocation on a claim");
    }
}
