//! Pro-rata matching: within a price level, the incoming quantity is shared in proportion to resting size.
//!
//! # The rule, exactly
//! Let `Q` be the incoming quantity still to fill at this level and `L` the level's resting total.
//! 1. If `Q >= L`, every order at the level fills completely.
//! 2. With `top_order_priority`, the earliest order first fills `min(Q, its size)`; the rest of `Q`
//!    is shared among the other orders as below (their total is the new `L`).
//! 3. Each order `i` of size `q_i` gets `floor(Q × q_i / L)` lots.
//! 4. The remainder `R = Q − Σ floor(...)` (always fewer lots than there are orders) is handed out one
//!    lot per order in time priority, skipping none, until it is gone.
//!
//! So allocations sum to `Q`, and each order's allocation is within one lot of its exact proportion
//! `Q × q_i / L`. Quantities are whole lots, so "rounded down to lots" is the floor above.
//!
//! ```toml
//! [matching]
//! plugin = "pro-rata"
//! params = { top_order_priority = true }
//! ```

#![deny(unsafe_code)]

use serde::{Deserialize, Serialize};
use tradsys_core::book::{LevelFills, RestingOrder};
use tradsys_core::component::ComponentError;
use tradsys_core::matching::MatchingAlgorithm;
use tradsys_core::plugin::Plugin;
use tradsys_core::types::Qty;

/// Pro-rata allocation with optional top-order priority.
#[derive(Clone, Debug, Default)]
pub struct ProRataMatching {
    top_order_priority: bool,
    /// Per-order allocations of the level being matched; reused, so steady state does not allocate.
    scratch: Vec<(RestingOrder, i64)>,
}

tradsys_core::plugin_params! {
    /// Pro-rata parameters.
    #[derive(Clone, Debug, Default, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ProRataParams {
        /// The earliest order at a level fills first, before the pro-rata share.
        pub top_order_priority: bool,
    }
}

impl ProRataMatching {
    /// Makes the algorithm.
    #[must_use]
    pub fn new(top_order_priority: bool) -> ProRataMatching {
        ProRataMatching { top_order_priority, scratch: Vec::with_capacity(64) }
    }
}

impl Plugin for ProRataMatching {
    type Params = ProRataParams;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = ProRataParams::PARAM_DOCS;
    const SUMMARY: &'static str = "pro-rata by resting size, remainder in time priority; optional top-order priority";

    fn build(params: ProRataParams) -> Result<Self, ComponentError> {
        Ok(ProRataMatching::new(params.top_order_priority))
    }
}

impl MatchingAlgorithm for ProRataMatching {
    fn match_level(&mut self, level: &mut LevelFills<'_>) {
        let mut to_fill = level.budget().0;
        if to_fill >= level.total_qty().0 {
            level.fill_rest_in_time_priority();
            return;
        }
        let mut first = level.head();
        if self.top_order_priority
            && let Some(top) = first
        {
            let remaining = level.remaining(top);
            to_fill -= level.fill(top, remaining).0;
            if to_fill == 0 {
                return;
            }
            first = level.next(top);
        }
        self.scratch.clear();
        let mut pool = 0i64;
        let mut cursor = first;
        while let Some(order) = cursor {
            pool += level.remaining(order).0;
            cursor = level.next(order);
        }
        let mut allocated = 0i64;
        let mut cursor = first;
        while let Some(order) = cursor {
            let share = (i128::from(to_fill) * i128::from(level.remaining(order).0) / i128::from(pool)) as i64;
            self.scratch.push((order, share));
            allocated += share;
            cursor = level.next(order);
        }
        let mut leftover = to_fill - allocated;
        for (order, share) in &mut self.scratch {
            if leftover == 0 {
                break;
            }
            if *share < level.remaining(*order).0 {
                *share += 1;
                leftover -= 1;
            }
        }
        for &(order, share) in &self.scratch {
            if share > 0 {
                level.fill(order, Qty(share));
            }
        }
    }
}

tradsys_core::register_matching!(ProRataMatching, "pro-rata", "1.0.0");

#[cfg(test)]
mod tests {
    use tradsys_core::book::{BookEvent, NewOrder, OrderBook, StpPolicy};
    use tradsys_core::instrument::Instrument;
    use tradsys_core::types::{OrderId, OrderType, Price, Side, TimeInForce};

    use super::*;

    fn fills(top_order_priority: bool, resting: &[i64], incoming: i64) -> Vec<i64> {
        let mut book =
            OrderBook::new(Instrument::undeclared("T"), ProRataMatching::new(top_order_priority), StpPolicy::None);
        let mut events = Vec::new();
        let order = |id: u64, side, qty| NewOrder {
            id: OrderId(id),
            side,
            order_type: OrderType::Limit,
            price: Some(Price::from_units(10)),
            trigger: None,
            qty: Qty(qty),
            tif: TimeInForce::Gtc,
            owner: None,
        };
        for (i, qty) in resting.iter().enumerate() {
            book.submit(&order(i as u64 + 1, Side::Sell, *qty), &mut events);
        }
        events.clear();
        book.submit(&order(99, Side::Buy, incoming), &mut events);
        let mut out = vec![0; resting.len()];
        for event in &events {
            if let BookEvent::Trade(t) = event {
                out[t.maker.0 as usize - 1] += t.qty.0;
            }
        }
        out
    }

    #[test]
    fn shares_in_proportion_with_the_remainder_in_time_priority() {
        // 10 of 100: exact shares 1.0, 3.0, 6.0.
        assert_eq!(fills(false, &[10, 30, 60], 10), [1, 3, 6]);
        // 7 of 30 over three equal orders: 2 each, one lot left goes to the earliest.
        assert_eq!(fills(false, &[10, 10, 10], 7), [3, 2, 2]);
        // 1 lot over many: the earliest gets it.
        assert_eq!(fills(false, &[5, 5, 5, 5], 1), [1, 0, 0, 0]);
    }

    #[test]
    fn top_order_priority_fills_the_earliest_first() {
        assert_eq!(fills(true, &[4, 10, 30], 12), [4, 2, 6]);
        assert_eq!(fills(true, &[20, 10, 30], 12), [12, 0, 0]);
    }

    #[test]
    fn a_taker_larger_than_the_level_fills_everyone() {
        assert_eq!(fills(false, &[3, 4], 10), [3, 4]);
    }
}
