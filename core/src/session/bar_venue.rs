//! The bar-mode venue: each bar opens an auction at its open price, where the venue offers
//! liquidity (`open ± spread/2`, `session.bars.depth` lots per side per bar or unlimited) to the
//! orders strategies decided on the previous bar and to resting orders the open gaps through.

use super::orders::LIQUIDITY_ORDER_BASE;
use super::strategies::{Callback, StrategyRuntime};
use super::{Session, SessionObserver};
use crate::book::NewOrder;
use crate::market::{Bar, MarketEvent};
use crate::matching::MatchingAlgorithm;
use crate::orderflow::OrderCommand;
use crate::types::{InstrumentId, OrderId, OrderType, Qty, Side, TimeInForce};

/// "Unlimited" bar-mode depth, in lots: the largest order the book takes, far more than any order
/// a strategy may send.
const UNLIMITED_DEPTH: i64 = crate::limits::MAX_ORDER_QTY;

impl<M: MatchingAlgorithm> Session<M> {
    /// Bar mode: open auction, queued orders, then the bar closes.
    pub(super) fn on_bar(&mut self, bar: &Bar, observer: &mut dyn SessionObserver) {
        self.now = bar.ts;
        let at = bar.instrument.0 as usize;
        let depth = self.settings.bars.depth.map_or(UNLIMITED_DEPTH, |d| d.0.max(0));
        let state = &mut self.market[at];
        state.bar_open = Some(bar.open);
        state.last = Some(bar.open);
        state.depth_left = (depth, depth);
        // Resting strategy orders the open gaps through.
        let has_resting = |strategies: &[StrategyRuntime], side: Side| {
            strategies.iter().any(|s| s.open.iter().any(|o| o.instrument == bar.instrument && o.side == side))
        };
        if has_resting(&self.strategies, Side::Buy) {
            self.with_liquidity(bar.instrument, Side::Sell, observer, |_, _| {});
        }
        if has_resting(&self.strategies, Side::Sell) {
            self.with_liquidity(bar.instrument, Side::Buy, observer, |_, _| {});
        }
        let pending = std::mem::take(&mut self.pending);
        for intent in &pending {
            self.apply_intent(*intent, observer);
        }
        self.pending = pending;
        self.pending.clear();
        self.drain_intents(observer);
        self.market[at].last = Some(bar.close);
        self.update_indicators(bar.instrument, &MarketEvent::Bar(*bar), observer);
        self.deliver(Callback::Bar(bar), observer);
        self.drain_intents(observer);
        self.bars += 1;
        if let Some(spec) = self.engine.instruments().try_get(bar.instrument) {
            observer.bar(&spec.symbol, bar);
        }
        self.mark(observer);
    }

    /// Bar mode: puts venue liquidity on `side` at the open (± half spread), runs `then`, removes it.
    pub(super) fn with_liquidity(
        &mut self,
        instrument: InstrumentId,
        side: Side,
        observer: &mut dyn SessionObserver,
        then: impl FnOnce(&mut Session<M>, &mut dyn SessionObserver),
    ) {
        let at = instrument.0 as usize;
        let state = self.market[at];
        let (Some(open), Some(spec)) = (state.bar_open, self.engine.instruments().try_get(instrument)) else {
            then(self, observer);
            return;
        };
        let tick = spec.tick;
        let spread = self.settings.bars.spread_ticks.max(0);
        let bid = open.offset_ticks(-(spread / 2), tick).unwrap_or(open);
        let price = match side {
            Side::Buy => bid,
            Side::Sell => bid.offset_ticks(spread, tick).unwrap_or(open),
        };
        let depth = match side {
            Side::Buy => state.depth_left.0,
            Side::Sell => state.depth_left.1,
        };
        if depth <= 0 || !price.is_on_tick(tick) || price.raw() <= 0 {
            then(self, observer);
            return;
        }
        self.next_liquidity += 1;
        let id = OrderId(LIQUIDITY_ORDER_BASE + self.next_liquidity);
        let order = NewOrder {
            id,
            side,
            order_type: OrderType::Limit,
            price: Some(price),
            qty: Qty(depth),
            tif: TimeInForce::Gtc,
            owner: None,
        };
        self.execute(&OrderCommand::New { instrument, order }, observer);
        then(self, observer);
        let left = self.engine.book(instrument).and_then(|b| b.order(id)).map_or(0, |o| o.remaining.0);
        let used = depth - left;
        let state = &mut self.market[at];
        match side {
            Side::Buy => state.depth_left.0 -= used,
            Side::Sell => state.depth_left.1 -= used,
        }
        if left > 0 {
            self.execute(&OrderCommand::Cancel { instrument: Some(instrument), id }, observer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::run;

    #[test]
    fn a_market_order_decided_on_a_bar_fills_at_the_next_open() {
        let report = run(
            &["1.0", "1.5", "2.0"],
            "[strategies.s]\nplugin = \"script-strategy\"\nparams = { buy_on = [0], qty = 2 }\n",
        )
        .report;
        let s = &report.strategies[0];
        assert_eq!((s.fills, s.positions.clone()), (1, vec![("T".to_owned(), 2)]));
        // Bought 2 at 1.5 (bar 1's open), marked at 2.0.
        assert_eq!(s.unrealized_pnl.to_string(), "1");
    }

    #[test]
    fn an_order_decided_on_the_last_bar_never_fills() {
        let report =
            run(&["1.0", "1.5"], "[strategies.s]\nplugin = \"script-strategy\"\nparams = { buy_on = [1] }\n").report;
        assert_eq!(report.strategies[0].fills, 0);
    }
}
