//! Buying power: the session refuses an order that could take a strategy's exposure past its
//! equity × `session.leverage` (1 by default: cash only), before the risk chain sees it.
//!
//! Exposure is counted at its worst: per instrument, the larger of the position if every resting
//! buy fills and the position if every resting sell fills, in lots, × price × lot size. An order
//! that does not raise its instrument's worst case (a sell against a long, a cancel-and-replace)
//! always passes, so a strategy can always reduce risk. Other instruments are valued at their
//! last price; the order's own at its limit price, a stop at its trigger, or a market order at
//! the price it will meet (in bar mode the bar's open, where it fills; in order-flow mode the opposite best quote,
//! else the last trade). An order with no price to value it by passes.

use super::Session;
use super::portfolio::money;
use crate::component::OrderRequest;
use crate::matching::MatchingAlgorithm;
use crate::types::{LotSize, Money, Price, Side};

/// One instrument's side of the worst case: position and resting orders, in lots.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Holding {
    /// Signed position.
    pub(super) position: i64,
    /// Lots of resting buys.
    pub(super) buys: i64,
    /// Lots of resting sells.
    pub(super) sells: i64,
}

impl Holding {
    /// Worst-case exposure in lots.
    fn worst_lots(self) -> i128 {
        let position = i128::from(self.position);
        (position + i128::from(self.buys)).abs().max((position - i128::from(self.sells)).abs())
    }

    /// Worst-case exposure in raw money at `price`.
    fn worst(self, price: Price, lot: LotSize) -> i128 {
        lot.money_raw(self.worst_lots() * i128::from(price.raw()))
    }

    /// The holding with `qty` more lots resting on `side`.
    fn with(self, side: Side, qty: i64) -> Holding {
        match side {
            Side::Buy => Holding { buys: self.buys + qty, ..self },
            Side::Sell => Holding { sells: self.sells + qty, ..self },
        }
    }
}

/// Why an order is refused, or `None` when buying power covers it. `others` is the worst-case
/// exposure of the strategy's other instruments (raw money); `holding` its holding of the order's
/// instrument.
pub(super) fn refusal(
    equity: Money,
    leverage: Price,
    others: i128,
    holding: Holding,
    order: (Side, i64, Price, LotSize),
) -> Option<String> {
    let (side, qty, price, lot) = order;
    let before = holding.worst(price, lot);
    let after = holding.with(side, qty).worst(price, lot);
    if after <= before {
        return None;
    }
    let limit = i128::from(equity.raw()) * i128::from(leverage.raw()) / i128::from(crate::types::PRICE_SCALE);
    let needed = others + after;
    if needed <= limit {
        return None;
    }
    Some(format!(
        "insufficient buying power: exposure would be {} ({} for this order at {price}), above equity {equity} × leverage {leverage} = {}",
        money(needed),
        money(after - before),
        money(limit.max(0))
    ))
}

impl<M: MatchingAlgorithm> Session<M> {
    /// Why strategy `index` may not send `request` for want of buying power, if it may not.
    pub(super) fn buying_power_refusal(&self, index: usize, request: &OrderRequest) -> Option<String> {
        let at = request.instrument.0 as usize;
        let state = self.market.get(at).copied().unwrap_or_default();
        let opposite = match request.side {
            Side::Buy => state.ask,
            Side::Sell => state.bid,
        };
        let market_price = match self.mode {
            // Bar mode: a queued order reaches the venue at the next bar's open, where this runs.
            crate::component::FeedData::Bars => state.bar_open,
            crate::component::FeedData::OrderFlow => opposite.map(|(price, _)| price),
        };
        let price = request.expected_price().or(market_price).or(state.last)?;
        let runtime = &self.strategies[index];
        let instruments = self.engine.instruments();
        let holding = |instrument: usize| {
            let id = crate::types::InstrumentId(instrument as u32);
            let mut holding = Holding { position: runtime.account.position(id).0, ..Holding::default() };
            for order in runtime.open.iter().filter(|o| o.instrument == id) {
                holding = holding.with(order.side, order.remaining.0);
            }
            holding
        };
        let mut others = 0_i128;
        for (instrument, market) in self.market.iter().enumerate() {
            let Some(spec) = instruments.try_get(crate::types::InstrumentId(instrument as u32)) else { continue };
            if instrument == at {
                continue;
            }
            if let Some(mark) = market.last {
                others += holding(instrument).worst(mark, spec.lot_size);
            }
        }
        let lot = instruments.try_get(request.instrument)?.lot_size;
        let equity = runtime.account.equity(&self.marks);
        refusal(equity, self.settings.leverage, others, holding(at), (request.side, request.qty.0, price, lot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(n: i64) -> Money {
        Money::from_raw(n * crate::types::PRICE_SCALE)
    }

    const ONE: Price = Price::from_units(1);

    /// Hand-worked cases: equity 100,000, price 100, one unit a lot.
    #[test]
    fn orders_within_equity_times_leverage_pass_and_the_rest_are_refused() {
        let price = Price::from_units(100);
        let flat = Holding::default();
        let order = |side, qty| (side, qty, price, LotSize::ONE);
        // 1,000 lots × 100 = 100,000: exactly the equity.
        assert_eq!(refusal(units(100_000), ONE, 0, flat, order(Side::Buy, 1_000)), None);
        let refused = refusal(units(100_000), ONE, 0, flat, order(Side::Buy, 1_001)).unwrap_or_default();
        assert_eq!(
            refused,
            "insufficient buying power: exposure would be 100100 (100100 for this order at 100), above equity 100000 × leverage 1 = 100000"
        );
        // Twice the leverage, twice the lots; shorts count like longs.
        assert_eq!(refusal(units(100_000), Price::from_units(2), 0, flat, order(Side::Sell, 2_000)), None);
        assert!(refusal(units(100_000), ONE, 0, flat, order(Side::Sell, 1_001)).is_some());
        // Other instruments' exposure uses up buying power.
        assert!(refusal(units(100_000), ONE, 50_000 * 100_000_000, flat, order(Side::Buy, 501)).is_some());
    }

    #[test]
    fn an_order_that_reduces_the_worst_case_always_passes() {
        let price = Price::from_units(100);
        let long = Holding { position: 5_000, buys: 0, sells: 0 };
        // Far past buying power already, but selling reduces it.
        assert_eq!(refusal(units(1_000), ONE, 0, long, (Side::Sell, 5_000, price, LotSize::ONE)), None);
        // Reversing past flat raises the worst case only by what goes past the current position.
        assert_eq!(refusal(units(1_000), ONE, 0, long, (Side::Sell, 10_000, price, LotSize::ONE)), None);
        assert!(refusal(units(1_000), ONE, 0, long, (Side::Sell, 10_001, price, LotSize::ONE)).is_some());
        // Resting orders count at their worst: a bid and an ask of 10 around a flat position is
        // an exposure of 10, not 20.
        let quoting = Holding { position: 0, buys: 10, sells: 0 };
        assert_eq!(quoting.with(Side::Sell, 10).worst_lots(), 10);
    }

    /// The case, in a session: 100,000 lots on 100,000 of cash at a price of 100 is
    /// refused by the session (the strategy sees the rejection); 1,000 lots pass, and so do
    /// 2,000 with leverage 2.
    #[test]
    fn a_session_refuses_orders_past_buying_power() {
        let closes = ["100", "100", "100"];
        let run = |qty: i64, leverage: &str| {
            let extra = format!(
                "[session]\ninitial_cash = \"100000\"\nleverage = \"{leverage}\"\n\
                 [strategies.s]\nplugin = \"script-strategy\"\nparams = {{ buy_on = [0], qty = {qty} }}\n"
            );
            let report = super::super::fixtures::run(&closes, &extra).report;
            let s = &report.strategies[0];
            (s.fills, s.rejected)
        };
        assert_eq!(run(100_000, "1"), (0, 1));
        assert_eq!(run(1_000, "1"), (1, 0));
        assert_eq!(run(1_001, "1"), (0, 1));
        assert_eq!(run(2_000, "2"), (1, 0));
    }

    #[test]
    fn fractional_lots_scale_the_exposure() {
        let milli: LotSize = "0.001".parse().unwrap();
        let price = Price::from_units(40_000);
        // 2,500 lots of 0.001 BTC at 40,000 is 100,000.
        assert_eq!(refusal(units(100_000), ONE, 0, Holding::default(), (Side::Buy, 2_500, price, milli)), None);
        assert!(refusal(units(100_000), ONE, 0, Holding::default(), (Side::Buy, 2_501, price, milli)).is_some());
    }
}
