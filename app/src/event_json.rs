//! Engine events as JSON lines, the `replay` output format (see `docs/replay-format.md`).
//!
//! Written by hand rather than through serde: this is the replay hot path, and every field is an
//! integer, a fixed-point price (written as a JSON string of its decimal), a symbol (checked to be
//! `[A-Za-z0-9._/-]`, so it needs no escaping) or a fixed reason text.

use std::io::{self, Write};

use tradsys_core::book::{BookEvent, LevelSummary};
use tradsys_core::types::{Price, write_fixed};

/// Writes events as JSON lines.
pub struct EventWriter<W: Write> {
    out: W,
    ints: itoa::Buffer,
    price: [u8; 32],
}

impl<W: Write> std::fmt::Debug for EventWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventWriter")
    }
}

impl<W: Write> EventWriter<W> {
    /// Wraps a writer (buffer it: each event is several small writes).
    pub fn new(out: W) -> EventWriter<W> {
        EventWriter { out, ints: itoa::Buffer::new(), price: [0; 32] }
    }

    /// Writes one engine event of `symbol`.
    ///
    /// # Errors
    /// The writer's I/O errors.
    #[inline]
    pub fn event(&mut self, symbol: &str, event: &BookEvent) -> io::Result<()> {
        match *event {
            BookEvent::Accepted { id } => {
                self.raw(b"{\"event\":\"accepted\",\"id\":")?;
                self.int(id.0)?;
            }
            BookEvent::Rejected { id, reason } => {
                self.raw(b"{\"event\":\"rejected\",\"id\":")?;
                self.int(id.0)?;
                self.raw(b",\"reason\":\"")?;
                self.raw(reason.as_str().as_bytes())?;
                self.raw(b"\"")?;
            }
            BookEvent::Trade(trade) => {
                self.raw(b"{\"event\":\"trade\",\"symbol\":\"")?;
                self.raw(symbol.as_bytes())?;
                self.raw(b"\",\"price\":")?;
                self.price(trade.price)?;
                self.raw(b",\"qty\":")?;
                self.int(trade.qty.0)?;
                self.raw(b",\"maker\":")?;
                self.int(trade.maker.0)?;
                self.raw(b",\"taker\":")?;
                self.int(trade.taker.0)?;
                self.raw(b",\"aggressor\":\"")?;
                self.raw(trade.aggressor.as_str().as_bytes())?;
                self.raw(b"\"")?;
            }
            BookEvent::Triggered { id } => {
                self.raw(b"{\"event\":\"triggered\",\"id\":")?;
                self.int(id.0)?;
            }
            BookEvent::Cancelled { id, remaining } => {
                self.raw(b"{\"event\":\"cancelled\",\"id\":")?;
                self.int(id.0)?;
                self.raw(b",\"remaining\":")?;
                self.int(remaining.0)?;
            }
            BookEvent::Expired { id, remaining } => {
                self.raw(b"{\"event\":\"expired\",\"id\":")?;
                self.int(id.0)?;
                self.raw(b",\"remaining\":")?;
                self.int(remaining.0)?;
            }
            BookEvent::Modified { id, price, qty } => {
                self.raw(b"{\"event\":\"modified\",\"id\":")?;
                self.int(id.0)?;
                self.raw(b",\"price\":")?;
                self.price(price)?;
                self.raw(b",\"qty\":")?;
                self.int(qty.0)?;
            }
        }
        self.raw(b"}\n")
    }

    /// Writes a book snapshot: levels best first, each `[price, qty, orders]`.
    ///
    /// # Errors
    /// The writer's I/O errors.
    pub fn book(&mut self, symbol: &str, bids: &[LevelSummary], asks: &[LevelSummary]) -> io::Result<()> {
        self.raw(b"{\"event\":\"book\",\"symbol\":\"")?;
        self.raw(symbol.as_bytes())?;
        self.raw(b"\",\"bids\":")?;
        self.levels(bids)?;
        self.raw(b",\"asks\":")?;
        self.levels(asks)?;
        self.raw(b"}\n")
    }

    /// Flushes and returns the writer.
    ///
    /// # Errors
    /// The writer's I/O errors.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    fn levels(&mut self, levels: &[LevelSummary]) -> io::Result<()> {
        self.raw(b"[")?;
        for (at, level) in levels.iter().enumerate() {
            if at > 0 {
                self.raw(b",")?;
            }
            self.raw(b"[")?;
            self.price(level.price)?;
            self.raw(b",")?;
            self.int(level.qty.0)?;
            self.raw(b",")?;
            self.int(level.orders)?;
            self.raw(b"]")?;
        }
        self.raw(b"]")
    }

    #[inline]
    fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    #[inline]
    fn int(&mut self, value: impl itoa::Integer) -> io::Result<()> {
        let text = self.ints.format(value);
        self.out.write_all(text.as_bytes())
    }

    #[inline]
    fn price(&mut self, price: Price) -> io::Result<()> {
        let len = write_fixed(price.raw(), &mut self.price);
        self.out.write_all(b"\"")?;
        self.out.write_all(&self.price[..len])?;
        self.out.write_all(b"\"")
    }
}

#[cfg(test)]
mod tests {
    use tradsys_core::book::{RejectReason, Trade};
    use tradsys_core::types::{OrderId, Qty, Side};

    use super::*;

    #[test]
    fn events_are_valid_json_in_the_documented_shape() {
        let mut writer = EventWriter::new(Vec::new());
        let price: Price = "101.25".parse().unwrap();
        let events = [
            BookEvent::Accepted { id: OrderId(1) },
            BookEvent::Rejected { id: OrderId(2), reason: RejectReason::PriceOffTick },
            BookEvent::Trade(Trade {
                price,
                qty: Qty(5),
                maker: OrderId(12),
                taker: OrderId(17),
                aggressor: Side::Buy,
                maker_owner: None,
                taker_owner: None,
            }),
            BookEvent::Cancelled { id: OrderId(3), remaining: Qty(4) },
            BookEvent::Expired { id: OrderId(4), remaining: Qty(1) },
            BookEvent::Modified { id: OrderId(5), price, qty: Qty(2) },
        ];
        for event in &events {
            writer.event("XYZ", event).unwrap();
        }
        writer.book("XYZ", &[LevelSummary { price, qty: Qty(3), orders: 2 }], &[]).unwrap();
        let text = String::from_utf8(writer.finish().unwrap()).unwrap();
        let expected = r#"{"event":"accepted","id":1}
{"event":"rejected","id":2,"reason":"price is not a multiple of the tick"}
{"event":"trade","symbol":"XYZ","price":"101.25","qty":5,"maker":12,"taker":17,"aggressor":"buy"}
{"event":"cancelled","id":3,"remaining":4}
{"event":"expired","id":4,"remaining":1}
{"event":"modified","id":5,"price":"101.25","qty":2}
{"event":"book","symbol":"XYZ","bids":[["101.25",3,2]],"asks":[]}
"#;
        assert_eq!(text, expected);
        for line in text.lines() {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
    }
}
