//! The market data model: bars, trades, top-of-book quotes and order-flow events.
//!
//! Every event carries a timestamp and an instrument. Prices are fixed-point [`Price`]s; bar volume is
//! a float because published bar files carry fractional volumes and nothing books it.

use crate::orderflow::OrderCommand;
use crate::types::{InstrumentId, Price, Qty, Side, Timestamp};

/// An OHLCV bar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bar {
    /// The bar's open time.
    pub ts: Timestamp,
    /// The instrument.
    pub instrument: InstrumentId,
    /// First price.
    pub open: Price,
    /// Highest price.
    pub high: Price,
    /// Lowest price.
    pub low: Price,
    /// Last price.
    pub close: Price,
    /// Traded volume, in the file's units.
    pub volume: f64,
}

/// A trade printed by the venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TradeTick {
    /// When it traded.
    pub ts: Timestamp,
    /// The instrument.
    pub instrument: InstrumentId,
    /// The price.
    pub price: Price,
    /// Lots traded.
    pub qty: Qty,
    /// The taker's side.
    pub aggressor: Side,
}

/// The top of the book after a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quote {
    /// When it changed.
    pub ts: Timestamp,
    /// The instrument.
    pub instrument: InstrumentId,
    /// Best bid price and quantity.
    pub bid: Option<(Price, Qty)>,
    /// Best ask price and quantity.
    pub ask: Option<(Price, Qty)>,
}

impl Quote {
    /// The mid price, if both sides are quoted (rounded down to a raw unit).
    #[must_use]
    pub fn mid(&self) -> Option<Price> {
        match (self.bid, self.ask) {
            (Some((bid, _)), Some((ask, _))) => Some(Price::from_raw(bid.raw() + (ask.raw() - bid.raw()) / 2)),
            _ => None,
        }
    }
}

/// An order-flow command (the replay format) with its time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderFlowEvent {
    /// When the command arrived.
    pub ts: Timestamp,
    /// The command.
    pub command: OrderCommand,
}

/// One market-data event, as feeds produce them and indicators consume them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MarketEvent {
    /// A bar closed.
    Bar(Bar),
    /// A trade printed.
    Trade(TradeTick),
    /// The top of book changed.
    Quote(Quote),
    /// An order-flow command arrived (to be replayed into the book).
    Order(OrderFlowEvent),
}

impl MarketEvent {
    /// The event's time.
    #[must_use]
    pub fn ts(&self) -> Timestamp {
        match self {
            MarketEvent::Bar(bar) => bar.ts,
            MarketEvent::Trade(trade) => trade.ts,
            MarketEvent::Quote(quote) => quote.ts,
            MarketEvent::Order(order) => order.ts,
        }
    }

    /// The event's instrument; `None` for a cancel or modify command without a symbol (the engine
    /// finds that order's book itself).
    #[must_use]
    pub fn instrument(&self) -> Option<InstrumentId> {
        match self {
            MarketEvent::Bar(bar) => Some(bar.instrument),
            MarketEvent::Trade(trade) => Some(trade.instrument),
            MarketEvent::Quote(quote) => Some(quote.instrument),
            MarketEvent::Order(flow) => match flow.command {
                OrderCommand::New { instrument, .. } => Some(instrument),
                OrderCommand::Cancel { instrument, .. } | OrderCommand::Modify { instrument, .. } => instrument,
            },
        }
    }
}
