//! The bar-mode venue: how a bar fills the strategies' orders. docs/orders.md states the rules
//! for users; this is where they are kept.
//!
//! 1. **The open.** Resting limit orders the open gaps through fill at the open (± half the
//!    spread), not at their better limits ([`OrderBook::auction`]); waiting stops the open reached
//!    trigger and fill there too. Then the orders strategies decided on the previous bar reach the
//!    venue, which offers liquidity at `open ± spread/2`: market orders fill there, limit orders
//!    that cross it fill there, and the rest rest.
//! 2. **The bar's range.** The price then walks `open → the extreme nearer the open (the low on a
//!    tie) → the other extreme → close`, and every order it passes fills *at its own price*: a buy
//!    limit when the price comes down to it, a sell limit when it goes up to it; a stop triggers
//!    when the price reaches its trigger and fills there (a stop-limit then trades as a limit).
//!    Orders placed during the walk (a bracket's exits once its entry fills) take part in the rest
//!    of it.
//! 3. **The close** updates indicators and calls the strategies; what they decide waits for the
//!    next bar's open.
//!
//! The venue offers `session.bars.depth` lots per side per bar in all (unlimited by default).

use super::orders::LIQUIDITY_ORDER_BASE;
use super::strategies::{Callback, StrategyRuntime};
use super::{Session, SessionObserver};
use crate::book::{NewOrder, OrderBook, stop_reached};
use crate::component::OpenOrder;
use crate::market::{Bar, MarketEvent};
use crate::matching::MatchingAlgorithm;
use crate::orderflow::OrderCommand;
use crate::types::{InstrumentId, OrderId, OrderType, Price, Qty, Side, TimeInForce};

/// "Unlimited" bar-mode depth, in lots: the largest order the book takes, far more than any order
/// a strategy may send.
const UNLIMITED_DEPTH: i64 = crate::limits::MAX_ORDER_QTY;

/// The prices a bar is taken to pass through, in order: open, the extreme nearer the open (the
/// low on a tie), the other extreme, close.
#[must_use]
pub(super) fn bar_path(bar: &Bar) -> [Price; 4] {
    let low_first = bar.open.raw() - bar.low.raw() <= bar.high.raw() - bar.open.raw();
    if low_first { [bar.open, bar.low, bar.high, bar.close] } else { [bar.open, bar.high, bar.low, bar.close] }
}

/// Which way the price moves along one leg of a bar's path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leg {
    Up,
    Down,
}

impl Leg {
    /// Whether `order` waits to be filled by a move this way: a sell limit or a buy stop going up,
    /// a buy limit or a sell stop going down. Returns the price it fills or triggers at.
    fn price_of(self, order: &OpenOrder) -> Option<Price> {
        match (self, order.side, order.trigger) {
            (Leg::Up, Side::Sell, None) | (Leg::Down, Side::Buy, None) => Some(order.price),
            (Leg::Up, Side::Buy, Some(trigger)) | (Leg::Down, Side::Sell, Some(trigger)) => Some(trigger),
            _ => None,
        }
    }

    /// Whether `price` lies ahead on this leg, from `from` (included when `inclusive`) to `to`.
    fn ahead(self, price: Price, from: Price, to: Price, inclusive: bool) -> bool {
        let (near, far) = match self {
            Leg::Up => (price.raw() - from.raw(), to.raw() - price.raw()),
            Leg::Down => (from.raw() - price.raw(), price.raw() - to.raw()),
        };
        (near > 0 || (inclusive && near == 0)) && far >= 0
    }
}

impl<M: MatchingAlgorithm> Session<M> {
    /// Bar mode: the open, queued orders, the bar's range, then the bar closes.
    pub(super) fn on_bar(&mut self, bar: &Bar, observer: &mut dyn SessionObserver) {
        self.now = bar.ts;
        let at = bar.instrument.0 as usize;
        let depth = self.settings.bars.depth.map_or(UNLIMITED_DEPTH, |d| d.0.max(0));
        let state = &mut self.market[at];
        state.bar_open = Some(bar.open);
        state.last = Some(bar.open);
        state.depth_left = (depth, depth);
        // Most bars meet no strategy order on the instrument: one look decides it, and the
        // auction and the walk are skipped (this runs on every bar).
        if self.has_orders(bar.instrument) || !self.pending.is_empty() {
            self.open_auction(bar.instrument, bar.open, observer);
        }
        let pending = std::mem::take(&mut self.pending);
        for intent in &pending {
            self.apply_intent(*intent, observer);
        }
        self.pending = pending;
        self.pending.clear();
        self.drain_intents(observer);
        if self.has_orders(bar.instrument) {
            let path = bar_path(bar);
            for leg in path.windows(2) {
                self.walk(bar.instrument, leg[0], leg[1], observer);
            }
        }
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

    /// Whether any strategy has an order on `instrument` (resting or waiting for a trigger).
    #[inline]
    fn has_orders(&self, instrument: InstrumentId) -> bool {
        self.strategies.iter().any(|s| s.open.iter().any(|o| o.instrument == instrument))
    }

    /// The strategies' orders on `instrument` (resting or waiting for a trigger).
    fn orders_on(strategies: &[StrategyRuntime], instrument: InstrumentId) -> impl Iterator<Item = &OpenOrder> {
        strategies.iter().flat_map(|s| s.open.iter()).filter(move |o| o.instrument == instrument)
    }

    /// The open: limits it gaps through fill at the open's quote, stops it reached trigger there.
    fn open_auction(&mut self, instrument: InstrumentId, open: Price, observer: &mut dyn SessionObserver) {
        let Some((bid, ask)) = self.open_quotes(instrument) else { return };
        let gapped = |strategies: &[StrategyRuntime], side: Side| {
            Self::orders_on(strategies, instrument).any(|o| {
                o.trigger.is_none()
                    && o.side == side
                    && match side {
                        Side::Buy => o.price >= ask,
                        Side::Sell => o.price <= bid,
                    }
            })
        };
        if gapped(&self.strategies, Side::Buy) {
            self.venue_auction(instrument, Side::Sell, ask, observer);
        }
        if gapped(&self.strategies, Side::Sell) {
            self.venue_auction(instrument, Side::Buy, bid, observer);
        }
        let reached = |strategies: &[StrategyRuntime], side: Side| {
            Self::orders_on(strategies, instrument)
                .any(|o| o.side == side && o.trigger.is_some_and(|trigger| stop_reached(side, trigger, open)))
        };
        let (buys, sells) = (reached(&self.strategies, Side::Buy), reached(&self.strategies, Side::Sell));
        for (side, reached, quote) in [(Side::Buy, buys, ask), (Side::Sell, sells, bid)] {
            // With the venue's depth used up, a stop waits rather than trigger into nothing.
            if reached && self.depth_left(instrument, side.opposite()) > 0 {
                self.with_liquidity_at(instrument, side.opposite(), quote, observer, |session, observer| {
                    session.in_book(instrument, observer, |book, events| book.trigger_stops(side, open, events));
                });
            }
        }
        // Nothing triggered, but orders arriving now compare against the open.
        if !buys && !sells {
            self.in_book(instrument, observer, |book, events| book.trigger_stops(Side::Buy, open, events));
        }
    }

    /// One leg of the bar's path: every strategy order the price passes fills (or triggers) at its
    /// own price, nearest first, until the leg ends at `to`.
    fn walk(&mut self, instrument: InstrumentId, from: Price, to: Price, observer: &mut dyn SessionObserver) {
        let leg = match to.cmp(&from) {
            std::cmp::Ordering::Greater => Leg::Up,
            std::cmp::Ordering::Less => Leg::Down,
            std::cmp::Ordering::Equal => return,
        };
        let mut cursor = from;
        let mut inclusive = true;
        loop {
            let next = Self::orders_on(&self.strategies, instrument)
                .filter_map(|o| leg.price_of(o))
                .filter(|&price| leg.ahead(price, cursor, to, inclusive));
            let next = match leg {
                Leg::Up => next.min(),
                Leg::Down => next.max(),
            };
            let Some(price) = next else { break };
            self.touch(instrument, leg, price, observer);
            cursor = price;
            inclusive = false;
        }
    }

    /// The price reaches `price` on a leg: stops there trigger and fill there against the venue,
    /// then the venue takes the limits there.
    fn touch(&mut self, instrument: InstrumentId, leg: Leg, price: Price, observer: &mut dyn SessionObserver) {
        // Going down, sell stops trigger and buy limits fill; going up, the other way round.
        let (stops, limits) = match leg {
            Leg::Down => (Side::Sell, Side::Buy),
            Leg::Up => (Side::Buy, Side::Sell),
        };
        let has = |strategies: &[StrategyRuntime], side: Side, stop: bool| {
            Self::orders_on(strategies, instrument)
                .any(|o| o.side == side && o.trigger.is_some() == stop && leg.price_of(o) == Some(price))
        };
        if has(&self.strategies, stops, true) && self.depth_left(instrument, limits) > 0 {
            self.with_liquidity_at(instrument, limits, price, observer, |session, observer| {
                session.in_book(instrument, observer, |book, events| book.trigger_stops(stops, price, events));
            });
        }
        if has(&self.strategies, limits, false) {
            self.with_liquidity_at(instrument, stops, price, observer, |_, _| {});
        }
    }

    /// The venue's quotes at the open: `open ± spread/2`, on the instrument's tick.
    fn open_quotes(&self, instrument: InstrumentId) -> Option<(Price, Price)> {
        let open = self.market[instrument.0 as usize].bar_open?;
        let tick = self.engine.instruments().try_get(instrument)?.tick;
        let spread = self.settings.bars.spread_ticks.max(0);
        let bid = open.offset_ticks(-(spread / 2), tick).unwrap_or(open);
        let ask = bid.offset_ticks(spread, tick).unwrap_or(open);
        Some((bid, ask))
    }

    /// The venue lots left on `side` this bar.
    fn depth_left(&self, instrument: InstrumentId, side: Side) -> i64 {
        let state = &self.market[instrument.0 as usize];
        match side {
            Side::Buy => state.depth_left.0,
            Side::Sell => state.depth_left.1,
        }
    }

    /// Counts `used` venue lots on `side` this bar.
    fn use_depth(&mut self, instrument: InstrumentId, side: Side, used: i64) {
        let state = &mut self.market[instrument.0 as usize];
        match side {
            Side::Buy => state.depth_left.0 -= used,
            Side::Sell => state.depth_left.1 -= used,
        }
    }

    /// A venue order on `side` at `price` for what is left of the bar's depth, if it is a price the
    /// book takes.
    fn venue_order(&mut self, instrument: InstrumentId, side: Side, price: Price) -> Option<NewOrder> {
        let tick = self.engine.instruments().try_get(instrument)?.tick;
        let depth = self.depth_left(instrument, side);
        if depth <= 0 || !price.is_on_tick(tick) || price.raw() <= 0 {
            return None;
        }
        self.next_liquidity += 1;
        Some(NewOrder {
            id: OrderId(LIQUIDITY_ORDER_BASE + self.next_liquidity),
            side,
            order_type: OrderType::Limit,
            price: Some(price),
            trigger: None,
            qty: Qty(depth),
            tif: TimeInForce::Gtc,
            owner: None,
        })
    }

    /// The open gapped through resting orders on the other side of `side`: the venue trades them
    /// all at `price`.
    fn venue_auction(
        &mut self,
        instrument: InstrumentId,
        side: Side,
        price: Price,
        observer: &mut dyn SessionObserver,
    ) {
        let Some(order) = self.venue_order(instrument, side, price) else { return };
        let mut used = 0;
        self.in_book(instrument, observer, |book: &mut OrderBook<M>, events| {
            let from = events.len();
            book.auction(&order, events);
            used = events[from..]
                .iter()
                .filter_map(|e| match e {
                    crate::book::BookEvent::Trade(t) if t.taker == order.id => Some(t.qty.0),
                    _ => None,
                })
                .sum();
        });
        self.use_depth(instrument, side, used);
    }

    /// Bar mode: puts venue liquidity on `side` at the open (± half spread), runs `then`, removes it.
    pub(super) fn with_liquidity(
        &mut self,
        instrument: InstrumentId,
        side: Side,
        observer: &mut dyn SessionObserver,
        then: impl FnOnce(&mut Session<M>, &mut dyn SessionObserver),
    ) {
        match self.open_quotes(instrument) {
            Some((bid, ask)) => {
                let price = if side == Side::Buy { bid } else { ask };
                self.with_liquidity_at(instrument, side, price, observer, then);
            }
            None => then(self, observer),
        }
    }

    /// Bar mode: puts venue liquidity on `side` at `price` (trading at once with strategy orders
    /// it crosses), runs `then`, removes what is left of it.
    fn with_liquidity_at(
        &mut self,
        instrument: InstrumentId,
        side: Side,
        price: Price,
        observer: &mut dyn SessionObserver,
        then: impl FnOnce(&mut Session<M>, &mut dyn SessionObserver),
    ) {
        let Some(order) = self.venue_order(instrument, side, price) else {
            then(self, observer);
            return;
        };
        self.execute(&OrderCommand::New { instrument, order }, observer);
        then(self, observer);
        let left = self.engine.book(instrument).and_then(|b| b.order(order.id)).map_or(0, |o| o.remaining.0);
        self.use_depth(instrument, side, order.qty.0 - left);
        if left > 0 {
            self.execute(&OrderCommand::Cancel { instrument: Some(instrument), id: order.id }, observer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{run, session_with_feed, take_order_log};
    use super::*;

    /// Runs `script-strategy` with `orders` over bars `"O H L C"` (plus `extra` config) and
    /// returns what it logged of its orders.
    fn run_bars(bars: &[&str], orders: &[&str], extra: &str) -> Vec<String> {
        let quote = |list: &[&str]| list.iter().map(|b| format!("\"{b}\"")).collect::<Vec<_>>().join(", ");
        let strategy = format!(
            "[strategies.s]\nplugin = \"script-strategy\"\nparams = {{ orders = [{}] }}\n{extra}",
            quote(orders)
        );
        take_order_log();
        let session = session_with_feed(&[], &format!(", bars = [{}]", quote(bars)), &strategy);
        session.expect("the fixture session starts").run(&mut crate::session::NoObserver);
        take_order_log()
    }

    fn bar(ohlc: &str) -> Bar {
        let p: Vec<Price> = ohlc.split_whitespace().map(|p| p.parse().unwrap()).collect();
        Bar {
            ts: crate::types::Timestamp(0),
            instrument: InstrumentId(0),
            open: p[0],
            high: p[1],
            low: p[2],
            close: p[3],
            volume: 0.0,
        }
    }

    #[test]
    fn the_path_visits_the_extreme_nearer_the_open_first_and_the_low_on_a_tie() {
        let path = |ohlc| bar_path(&bar(ohlc)).map(|p| p.to_string());
        assert_eq!(path("100 100.5 98 99"), ["100", "100.5", "98", "99"]);
        assert_eq!(path("100 103 99 102"), ["100", "99", "103", "102"]);
        assert_eq!(path("100 101 99 100"), ["100", "99", "101", "100"]);
    }

    #[test]
    fn a_resting_buy_limit_fills_at_its_price_when_the_bar_comes_down_to_it() {
        let log = run_bars(&["100 100 100 100", "100 100.5 98 99"], &["0 buy limit 98.5 1"], "");
        assert_eq!(log, ["1: fill #1 buy 1@98.5"]);
    }

    #[test]
    fn a_limit_the_bar_does_not_reach_keeps_resting() {
        let log = run_bars(&["100 100 100 100", "100 101 98.6 99"], &["0 buy limit 98.5 1"], "");
        assert!(log.is_empty(), "{log:?}");
    }

    #[test]
    fn a_resting_limit_the_open_gaps_through_fills_at_the_open() {
        let bars = ["100 100 100 100", "100 101 99.5 100", "97 98 96 97"];
        let log = run_bars(&bars, &["0 buy limit 99 1"], "");
        assert_eq!(log, ["2: fill #1 buy 1@97"]);
        let log = run_bars(&bars, &["0 buy limit 99 1"], "[session.bars]\nspread_ticks = 2\n");
        assert_eq!(log, ["2: fill #1 buy 1@97.01"], "the open's ask is open + half the spread");
    }

    #[test]
    fn a_buy_stop_triggers_when_the_high_reaches_it_and_fills_at_its_trigger() {
        let bars = ["100 100 100 100", "100 100.5 99 100", "100 102 99.5 101"];
        let log = run_bars(&bars, &["0 buy stop 101 1"], "");
        assert_eq!(log, ["2: #1 triggered", "2: fill #1 buy 1@101"]);
    }

    #[test]
    fn a_stop_the_open_gaps_through_fills_at_the_open() {
        let bars = ["100 100 100 100", "100 100.5 99 100", "103 104 102 103"];
        let log = run_bars(&bars, &["0 buy stop 101 1"], "");
        assert_eq!(log, ["2: #1 triggered", "2: fill #1 buy 1@103"]);
    }

    #[test]
    fn a_triggered_sell_stop_limit_fills_at_the_trigger_or_rests_at_a_limit_above_it() {
        // Path 100 → 99 → 102 → 101: triggered at 99 on the way down.
        let bars = ["100 100 100 100", "100 102 99 101"];
        let log = run_bars(&bars, &["0 sell stop-limit 99 98.5 1"], "");
        assert_eq!(log, ["1: #1 triggered", "1: fill #1 sell 1@99"], "a limit below the trigger is marketable there");
        let log = run_bars(&bars, &["0 sell stop-limit 99 99.5 1"], "");
        assert_eq!(log, ["1: #1 triggered", "1: fill #1 sell 1@99.5"], "rests at 99.5, reached on the way back up");
    }

    #[test]
    fn a_bracket_stops_out_on_the_way_down_and_cancels_its_take_profit() {
        // Entry at the open (100); path 100 → 97 → 104: the stop-loss at 98 comes first.
        let log = run_bars(&["100 100 100 100", "100 104 97 102"], &["0 buy market 1 sl=98 tp=103"], "");
        assert_eq!(log, ["1: fill #1 buy 1@100", "1: #2 triggered", "1: fill #2 sell 1@98", "1: #3 cancelled 1"]);
    }

    #[test]
    fn a_bracket_takes_profit_on_the_way_up_and_cancels_its_stop_loss() {
        // Path 100 → 103.5 → 96: the take-profit at 103 comes first.
        let log = run_bars(&["100 100 100 100", "100 103.5 96 102"], &["0 buy market 1 sl=98 tp=103"], "");
        assert_eq!(log, ["1: fill #1 buy 1@100", "1: fill #3 sell 1@103", "1: #2 cancelled 1"]);
    }

    #[test]
    fn a_bracket_whose_entry_never_fills_reports_its_exits_cancelled() {
        let bars = ["100 100 100 100", "100 101 99 100", "100 101 99 100"];
        let log = run_bars(&bars, &["0 buy limit 90 1 sl=85 tp=95", "1 cancel 1"], "");
        assert_eq!(log, ["2: #1 cancelled 1", "2: #2 cancelled 0", "2: #3 cancelled 0"]);
    }

    #[test]
    fn a_warm_up_refuses_orders_and_marks_nothing_before_its_end() {
        let strategy = "[strategies.s]\nplugin = \"script-strategy\"\nparams = { orders = [\"0 buy market 1\", \"2 buy market 1\"] }\n";
        let bars = ", bars = [\"100 100 100 100\", \"101 101 101 101\", \"102 102 102 102\", \"103 103 103 103\"]";
        take_order_log();
        let mut session = session_with_feed(&[], bars, strategy).unwrap();
        // Bar k opens at k + 1 minutes: bar 2 is the first to trade.
        let until = crate::types::Timestamp(3 * 60_000_000_000);
        session.warm_up_until(until);
        let report = session.run(&mut crate::session::NoObserver).report;
        let log = take_order_log();
        assert_eq!(log.len(), 2, "{log:?}");
        assert!(log[0].starts_with("1: #1 rejected by session: warming up: trading starts at"), "{log:?}");
        assert_eq!(log[1], "3: fill #2 buy 1@103");
        assert_eq!(report.total.statistics.start.as_deref(), Some(until.to_string().as_str()));
    }

    #[test]
    fn the_venue_depth_limits_intrabar_fills_too() {
        let bars = ["100 100 100 100", "100 100.5 98 99"];
        let log = run_bars(&bars, &["0 buy limit 98.5 3"], "[session.bars]\ndepth = 2\n");
        assert_eq!(log, ["1: fill #1 buy 2@98.5"]);
    }

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
