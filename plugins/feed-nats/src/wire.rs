//! The market-data wire format: one JSON object per NATS message, one message per market event,
//! on a subject per instrument and kind (docs/distributed.md, "Market data"). `tradsys publish`
//! writes it and the `nats` feed reads it; it lives here, with the feed, which owns its protocol.
//!
//! JSON rather than a compact binary: a gateway in any language can write it, `nats sub` shows it
//! as it is, and prices travel as exact decimal strings (the fixed-point `Price`'s own text), so
//! nothing is lost to floating point. Each message carries the publisher's sequence number: NATS
//! keeps the order of one publisher's messages on a subject, not across subjects, so a consumer
//! that needs one order over several subjects restores it from `seq`.

use serde::{Deserialize, Serialize};
use tradsys_core::instrument::Instrument;
use tradsys_core::market::MarketEvent;
use tradsys_core::orderflow::OrderCommand;
use tradsys_core::types::{InstrumentId, OrderType, Price, Qty, Side, TimeInForce};

/// One market event on the wire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WireEvent {
    /// The publisher's count of messages before this one: their order across subjects.
    pub seq: u64,
    /// Nanoseconds since the Unix epoch, UTC.
    pub ts: i64,
    /// The instrument's symbol; absent only on a cancel or modify that names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub body: WireBody,
}

/// What a [`WireEvent`] says, by its `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum WireBody {
    /// A bar closed.
    Bar {
        /// Opening price.
        open: Price,
        /// Highest price.
        high: Price,
        /// Lowest price.
        low: Price,
        /// Closing price.
        close: Price,
        /// Volume traded.
        volume: f64,
    },
    /// A trade printed.
    Trade {
        /// Its price.
        price: Price,
        /// Its quantity, in lots.
        qty: Qty,
        /// The side that took liquidity.
        aggressor: Side,
    },
    /// The top of book changed; a side without a level is absent.
    Quote {
        /// Best bid price and size.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bid: Option<(Price, Qty)>,
        /// Best ask price and size.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ask: Option<(Price, Qty)>,
    },
    /// A new order in the order flow.
    New {
        /// The order's id.
        id: u64,
        /// Buy or sell.
        side: Side,
        /// Limit, market, stop or stop-limit.
        order_type: OrderType,
        /// The limit price, where the type has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        price: Option<Price>,
        /// The trigger price of a stop or stop-limit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        trigger: Option<Price>,
        /// Quantity, in lots.
        qty: Qty,
        /// Time in force.
        tif: TimeInForce,
        /// The owning account, for self-trade prevention.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<u32>,
    },
    /// Cancel a resting order.
    Cancel {
        /// The order's id.
        id: u64,
    },
    /// The publisher has sent everything: a feed with `until_end = true` ends here.
    End,
    /// Change a resting order's price and/or open quantity.
    Modify {
        /// The order's id.
        id: u64,
        /// The new price, if changed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        price: Option<Price>,
        /// The new open quantity, if changed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        qty: Option<Qty>,
    },
}

/// The subject an event goes to: `PREFIX.SYMBOL.KIND`. A `.` in a symbol (a subject's token
/// separator) is written `_`; the message's `symbol` field is the symbol as it is. Order-flow
/// commands that name no instrument go to `PREFIX._.orders`.
#[must_use]
pub fn subject(prefix: &str, symbol: Option<&str>, event: &MarketEvent) -> String {
    let kind = match event {
        MarketEvent::Bar(_) => "bars",
        MarketEvent::Trade(_) => "trades",
        MarketEvent::Quote(_) => "quotes",
        MarketEvent::Order(_) => "orders",
    };
    let token = symbol.map_or_else(|| "_".to_owned(), |symbol| symbol.replace('.', "_"));
    format!("{prefix}.{token}.{kind}")
}

/// The subject of the end marker: `PREFIX._.end`.
#[must_use]
pub fn end_subject(prefix: &str) -> String {
    format!("{prefix}._.end")
}

/// Checks a subject prefix: tokens of letters, digits, `-` and `_`, separated by single dots.
///
/// # Errors
/// What is wrong with it.
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    let good =
        |token: &str| !token.is_empty() && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if prefix.split('.').all(good) {
        Ok(())
    } else {
        Err(format!(
            "{prefix:?}: expected dot-separated tokens of letters, digits, '-' and '_' (such as md or desk1.md)"
        ))
    }
}

impl WireEvent {
    /// The event `event`, the `seq`th published, whose instruments are `instruments`.
    #[must_use]
    pub fn new(seq: u64, event: &MarketEvent, instruments: &[Instrument]) -> WireEvent {
        let symbol = |id: InstrumentId| instruments.get(id.0 as usize).map(|i| i.symbol.clone());
        let (symbol, body) = match event {
            MarketEvent::Bar(bar) => (
                symbol(bar.instrument),
                WireBody::Bar { open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: bar.volume },
            ),
            MarketEvent::Trade(trade) => (
                symbol(trade.instrument),
                WireBody::Trade { price: trade.price, qty: trade.qty, aggressor: trade.aggressor },
            ),
            MarketEvent::Quote(quote) => (symbol(quote.instrument), WireBody::Quote { bid: quote.bid, ask: quote.ask }),
            MarketEvent::Order(flow) => match flow.command {
                OrderCommand::New { instrument, order } => (
                    symbol(instrument),
                    WireBody::New {
                        id: order.id.0,
                        side: order.side,
                        order_type: order.order_type,
                        price: order.price,
                        trigger: order.trigger,
                        qty: order.qty,
                        tif: order.tif,
                        owner: order.owner.map(|owner| owner.0.get()),
                    },
                ),
                OrderCommand::Cancel { instrument, id } => (instrument.and_then(symbol), WireBody::Cancel { id: id.0 }),
                OrderCommand::Modify { instrument, id, price, qty } => {
                    (instrument.and_then(symbol), WireBody::Modify { id: id.0, price, qty })
                }
            },
        };
        WireEvent { seq, ts: event.ts().0, symbol, body }
    }

    /// The end marker, after `seq` messages, at the last event's time `ts`.
    #[must_use]
    pub fn end(seq: u64, ts: i64) -> WireEvent {
        WireEvent { seq, ts, symbol: None, body: WireBody::End }
    }

    /// The market event this message stands for, with its symbol resolved by `instrument`;
    /// `None` for the end marker.
    ///
    /// # Errors
    /// A message that names no symbol where its type needs one, or a symbol `instrument`
    /// refuses, or an owner of 0.
    pub fn to_event(
        &self,
        instrument: &mut dyn FnMut(&str) -> Result<InstrumentId, String>,
    ) -> Result<Option<MarketEvent>, String> {
        use tradsys_core::book::NewOrder;
        use tradsys_core::market::{Bar, OrderFlowEvent, Quote, TradeTick};
        use tradsys_core::types::{OrderId, OwnerId, Timestamp};
        let ts = Timestamp(self.ts);
        let mut named = || match self.symbol.as_deref() {
            Some(symbol) => instrument(symbol),
            None => Err("no symbol".to_owned()),
        };
        let flow = |command| Ok(Some(MarketEvent::Order(OrderFlowEvent { ts, command })));
        match &self.body {
            WireBody::End => Ok(None),
            &WireBody::Bar { open, high, low, close, volume } => {
                Ok(Some(MarketEvent::Bar(Bar { ts, instrument: named()?, open, high, low, close, volume })))
            }
            &WireBody::Trade { price, qty, aggressor } => {
                Ok(Some(MarketEvent::Trade(TradeTick { ts, instrument: named()?, price, qty, aggressor })))
            }
            &WireBody::Quote { bid, ask } => Ok(Some(MarketEvent::Quote(Quote { ts, instrument: named()?, bid, ask }))),
            &WireBody::New { id, side, order_type, price, trigger, qty, tif, owner } => {
                let owner = match owner {
                    None => None,
                    Some(raw) => Some(std::num::NonZeroU32::new(raw).map(OwnerId).ok_or("owner 0: owners start at 1")?),
                };
                let order = NewOrder { id: OrderId(id), side, order_type, price, trigger, qty, tif, owner };
                flow(OrderCommand::New { instrument: named()?, order })
            }
            &WireBody::Cancel { id } => {
                let instrument = self.symbol.as_deref().map(&mut *instrument).transpose()?;
                flow(OrderCommand::Cancel { instrument, id: OrderId(id) })
            }
            &WireBody::Modify { id, price, qty } => {
                let instrument = self.symbol.as_deref().map(&mut *instrument).transpose()?;
                flow(OrderCommand::Modify { instrument, id: OrderId(id), price, qty })
            }
        }
    }

    /// The message's bytes.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        // Every field is a number, a decimal string, a symbol or a fixed name: this cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tradsys_core::book::NewOrder;
    use tradsys_core::market::{Bar, OrderFlowEvent, Quote};
    use tradsys_core::types::{OrderId, Timestamp};

    fn instruments() -> Vec<Instrument> {
        ["EURUSD", "BRK.B"]
            .into_iter()
            .map(|symbol| Instrument {
                symbol: symbol.to_owned(),
                tick: "0.00001".parse().unwrap(),
                lot_size: "1".parse().unwrap(),
                tick_origin: Default::default(),
            })
            .collect()
    }

    fn price(text: &str) -> Price {
        text.parse().unwrap()
    }

    #[test]
    fn a_bar_is_json_with_exact_decimal_prices_and_reads_back_the_same() {
        let bar = MarketEvent::Bar(Bar {
            ts: Timestamp(1_700_000_000_000_000_000),
            instrument: InstrumentId(0),
            open: price("1.07123"),
            high: price("1.07201"),
            low: price("1.07001"),
            close: price("1.07150"),
            volume: 1234.5,
        });
        let wire = WireEvent::new(7, &bar, &instruments());
        let text = String::from_utf8(wire.to_json()).unwrap();
        assert_eq!(
            text,
            r#"{"seq":7,"ts":1700000000000000000,"symbol":"EURUSD","type":"bar","open":"1.07123","high":"1.07201","low":"1.07001","close":"1.0715","volume":1234.5}"#
        );
        assert_eq!(serde_json::from_str::<WireEvent>(&text).unwrap(), wire);
        assert_eq!(subject("md", wire.symbol.as_deref(), &bar), "md.EURUSD.bars");
    }

    #[test]
    fn order_flow_and_quotes_keep_every_field_and_dots_leave_the_subject_token() {
        let order = NewOrder {
            id: OrderId(42),
            side: Side::Sell,
            order_type: OrderType::StopLimit,
            price: Some(price("101.5")),
            trigger: Some(price("101.75")),
            qty: Qty(3),
            tif: TimeInForce::Ioc,
            owner: std::num::NonZeroU32::new(9).map(tradsys_core::types::OwnerId),
        };
        let events = [
            MarketEvent::Order(OrderFlowEvent {
                ts: Timestamp(5),
                command: OrderCommand::New { instrument: InstrumentId(1), order },
            }),
            MarketEvent::Order(OrderFlowEvent {
                ts: Timestamp(6),
                command: OrderCommand::Modify { instrument: None, id: OrderId(42), price: None, qty: Some(Qty(1)) },
            }),
            MarketEvent::Quote(Quote {
                ts: Timestamp(7),
                instrument: InstrumentId(1),
                bid: Some((price("101"), Qty(10))),
                ask: None,
            }),
        ];
        let wires: Vec<WireEvent> =
            events.iter().enumerate().map(|(seq, e)| WireEvent::new(seq as u64, e, &instruments())).collect();
        for wire in &wires {
            let back: WireEvent = serde_json::from_slice(&wire.to_json()).unwrap();
            assert_eq!(&back, wire);
        }
        let text = String::from_utf8(wires[0].to_json()).unwrap();
        assert!(text.contains(r#""type":"new","id":42,"side":"sell","order_type":"stop-limit","price":"101.5","trigger":"101.75","qty":3,"tif":"ioc","owner":9"#), "{text}");
        assert_eq!(subject("md", wires[0].symbol.as_deref(), &events[0]), "md.BRK_B.orders");
        assert_eq!(wires[0].symbol.as_deref(), Some("BRK.B"));
        assert_eq!(subject("md", wires[1].symbol.as_deref(), &events[1]), "md._.orders");
        assert!(!String::from_utf8(wires[2].to_json()).unwrap().contains("ask"));
    }

    #[test]
    fn a_message_reads_back_to_the_event_it_was_made_of() {
        let bar = MarketEvent::Bar(Bar {
            ts: Timestamp(60),
            instrument: InstrumentId(1),
            open: price("1.5"),
            high: price("2"),
            low: price("1"),
            close: price("1.25"),
            volume: 0.1 + 0.2,
        });
        let cancel = MarketEvent::Order(OrderFlowEvent {
            ts: Timestamp(61),
            command: OrderCommand::Cancel { instrument: None, id: OrderId(9) },
        });
        let mut resolve = |symbol: &str| match symbol {
            "EURUSD" => Ok(InstrumentId(0)),
            "BRK.B" => Ok(InstrumentId(1)),
            other => Err(format!("unknown {other}")),
        };
        for event in [bar, cancel] {
            let wire: WireEvent = serde_json::from_slice(&WireEvent::new(0, &event, &instruments()).to_json()).unwrap();
            assert_eq!(wire.to_event(&mut resolve).unwrap(), Some(event));
        }
        assert_eq!(WireEvent::end(3, 61).to_event(&mut resolve).unwrap(), None);
        let nameless: WireEvent =
            serde_json::from_str(r#"{"seq":0,"ts":1,"type":"trade","price":"1","qty":1,"aggressor":"buy"}"#).unwrap();
        assert_eq!(nameless.to_event(&mut resolve).unwrap_err(), "no symbol");
        let owner0: WireEvent = serde_json::from_str(r#"{"seq":0,"ts":1,"symbol":"EURUSD","type":"new","id":1,"side":"buy","order_type":"market","qty":1,"tif":"ioc","owner":0}"#).unwrap();
        assert!(owner0.to_event(&mut resolve).unwrap_err().starts_with("owner 0"));
        assert_eq!(String::from_utf8(WireEvent::end(3, 61).to_json()).unwrap(), r#"{"seq":3,"ts":61,"type":"end"}"#);
    }

    #[test]
    fn prefixes_are_subject_tokens() {
        assert!(check_prefix("md").is_ok());
        assert!(check_prefix("desk-1.md_v2").is_ok());
        for bad in ["", "md.", "md..x", "md.*", "md >", "md.>"] {
            assert!(check_prefix(bad).is_err(), "{bad:?}");
        }
    }
}
