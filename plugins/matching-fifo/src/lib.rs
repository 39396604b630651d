//! Price-time (FIFO) matching: within a price level, the earliest order fills first, fully, then the next.
//!
//! ```toml
//! [matching]
//! plugin = "fifo"
//! ```

#![deny(unsafe_code)]

use serde::{Deserialize, Serialize};
use tradsys_core::book::LevelFills;
use tradsys_core::component::ComponentError;
use tradsys_core::matching::MatchingAlgorithm;
use tradsys_core::plugin::Plugin;

/// Price-time priority: fills a level's orders in arrival order.
#[derive(Clone, Copy, Debug, Default)]
pub struct FifoMatching;

/// FIFO matching takes no parameters.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FifoParams {}

impl Plugin for FifoMatching {
    type Params = FifoParams;
    const SUMMARY: &'static str = "price-time priority: the earliest order at a level fills first";

    fn build(_params: FifoParams) -> Result<Self, ComponentError> {
        Ok(FifoMatching)
    }
}

impl MatchingAlgorithm for FifoMatching {
    #[inline]
    fn match_level(&mut self, level: &mut LevelFills<'_>) {
        let mut cursor = level.head();
        while let Some(order) = cursor {
            let remaining = level.remaining(order);
            if level.fill(order, remaining) < remaining {
                break;
            }
            cursor = level.next(order);
        }
    }
}

tradsys_core::register_matching!(FifoMatching, "fifo", "1.0.0");

#[cfg(test)]
mod tests {
    use tradsys_core::book::{BookEvent, NewOrder, OrderBook, StpPolicy};
    use tradsys_core::instrument::Instrument;
    use tradsys_core::types::{OrderId, OrderType, Price, Qty, Side, TimeInForce};

    use super::*;

    fn order(id: u64, side: Side, price: i64, qty: i64) -> NewOrder {
        NewOrder {
            id: OrderId(id),
            side,
            order_type: OrderType::Limit,
            price: Some(Price::from_units(price)),
            trigger: None,
            qty: Qty(qty),
            tif: TimeInForce::Gtc,
            owner: None,
        }
    }

    #[test]
    fn fills_in_arrival_order_and_stops_when_the_taker_is_done() {
        let mut book = OrderBook::new(Instrument::undeclared("T"), FifoMatching, StpPolicy::None);
        let mut events = Vec::new();
        for id in 1..=3 {
            book.submit(&order(id, Side::Sell, 10, 4), &mut events);
        }
        events.clear();
        book.submit(&order(9, Side::Buy, 10, 6), &mut events);
        let fills: Vec<(u64, i64)> = events
            .iter()
            .filter_map(|e| match e {
                BookEvent::Trade(t) => Some((t.maker.0, t.qty.0)),
                _ => None,
            })
            .collect();
        assert_eq!(fills, [(1, 4), (2, 2)]);
        assert_eq!(book.order(OrderId(2)).unwrap().remaining, Qty(2));
        assert_eq!(book.order(OrderId(3)).unwrap().remaining, Qty(4));
    }
}
