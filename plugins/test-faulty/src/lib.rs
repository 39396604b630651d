//! Faulty components of every kind, for the failure-policy tests: each panics on cue in whichever
//! callback its parameters name, so the tests can prove that every call into plugin code is
//! contained and that each kind fails the way ARCHITECTURE.md says.
//!
//! [`probe`] holds `probe-strategy`, which checks event delivery across run-time swaps.
//!
//! Never part of a shipped binary: the `test-faulty` feature of `tradsys` is in neither `default`
//! nor `full`; only the test crates turn it on.
//!
//! Every component takes `panic_in` (a callback name, as [`Call`] names it: `init`, `on_bar`,
//! `check`, `update`, `next_event`, `match_level`, ...) and `after` (how many calls of that callback
//! succeed first); a strategy's `stall_ms` makes its cue sleep that long instead of panicking. `panic_in = "params"` panics while the parameters are decoded (serde), and
//! `panic_in = "build"` in `build`.
//!
//! [`Call`]: tradsys_core::boundary::Call

#![deny(unsafe_code)]

pub mod probe;

use serde::{Deserialize, Deserializer, Serialize};
use tradsys_core::book::LevelFills;
use tradsys_core::book::NewOrder;
use tradsys_core::component::{
    ClientOrderId, ComponentError, Feed, FeedContext, FeedData, FeedError, FillReport, Indicator, IndicatorHandle,
    InitContext, OrderRequest, OrderUpdate, RiskReject, RiskValidator, RiskView, Strategy, StrategyContext,
};
use tradsys_core::market::{Bar, MarketEvent, OrderFlowEvent, Quote, TradeTick};
use tradsys_core::matching::MatchingAlgorithm;
use tradsys_core::orderflow::OrderCommand;
use tradsys_core::plugin::{Capability, Dependency, Plugin};
use tradsys_core::types::{InstrumentId, OrderId, OrderType, Price, Qty, Side, TimeInForce, Timestamp};

/// Parameters of `faulty-risk`, `faulty-indicator` and `faulty-matching`: only when to panic.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CueParams {
    /// When to panic.
    #[serde(flatten)]
    pub cue: Cue,
}

/// When to panic: in callback `panic_in`, after `after` calls of it succeeded.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Cue {
    /// The callback that panics (`params` panics decoding the parameters).
    #[serde(deserialize_with = "panic_on_params")]
    pub panic_in: String,
    /// Calls of it that succeed first.
    #[serde(default)]
    pub after: u64,
    /// On cue, sleep this many milliseconds instead of panicking (a strategy's `stall_ms`).
    #[serde(skip)]
    stall_ms: u64,
    #[serde(skip)]
    seen: u64,
    /// Set when a component takes the cue in `build`: only a component's drop panics, never a copy
    /// of its parameters.
    #[serde(skip)]
    armed: bool,
}

/// Decodes `panic_in`, panicking when it says `params`: a plugin bug in parameter code.
fn panic_on_params<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    assert!(text != "params", "faulty parameters panicked while decoding");
    Ok(text)
}

impl Cue {
    /// Panics if this is the call to fail.
    fn hit(&mut self, callback: &str) {
        if self.panic_in != callback {
            return;
        }
        self.seen += 1;
        if self.seen > self.after && self.stall_ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(self.stall_ms));
            return;
        }
        assert!(self.seen <= self.after, "faulty component panicked on cue in {callback}");
    }

    /// Panics if `build` is the call to fail; else arms the cue for the component that takes it.
    fn check_build(&mut self) {
        assert!(self.panic_in != "build", "faulty component panicked on cue in build");
        self.armed = true;
    }
}

impl Drop for Cue {
    fn drop(&mut self) {
        if self.armed && self.panic_in == "drop" && !std::thread::panicking() {
            panic!("faulty component panicked on cue in drop");
        }
    }
}

/// The lifecycle hooks of a faulty component, each panicking on cue; written inside its kind's impl.
macro_rules! lifecycle_on_cue {
    () => {
        fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
            self.cue.hit("init");
            self.on_init(ctx)
        }
        fn start(&mut self) -> Result<(), ComponentError> {
            self.cue.hit("start");
            Ok(())
        }
        fn stop(&mut self) -> Result<(), ComponentError> {
            self.cue.hit("stop");
            Ok(())
        }
        fn unload(&mut self) {
            self.cue.hit("unload");
        }
    };
}

/// Parameters of `faulty-strategy`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct StrategyParams {
    /// When to panic.
    #[serde(flatten)]
    pub cue: Cue,
    /// If not empty, requests `faulty-indicator` panicking in this callback.
    #[serde(default)]
    pub indicator_panic_in: String,
    /// Keep resting limits instead of cancelling them on the next event.
    #[serde(default)]
    pub keep_resting: bool,
    /// On cue, sleep this many milliseconds instead of panicking (a strategy that hangs).
    #[serde(default)]
    pub stall_ms: u64,
}

/// On every bar or quote: cancels its resting orders, buys 1 at market and rests a far buy limit, so
/// every strategy callback is called (fills, cancels, quotes, trades).
#[derive(Debug, Default)]
pub struct FaultyStrategy {
    cue: Cue,
    indicator_panic_in: String,
    keep_resting: bool,
    instrument: InstrumentId,
    indicator: Option<IndicatorHandle>,
}

impl Plugin for FaultyStrategy {
    type Params = StrategyParams;
    const SUMMARY: &'static str = "test: trades on every event, panics on cue";
    const DEPENDENCIES: &'static [Dependency] = &[Dependency::indicator("faulty-indicator", "^1")];
    const CAPABILITIES: &'static [Capability] =
        &[Capability::Indicators, Capability::ReadPosition, Capability::SubmitOrders, Capability::CancelOrders];

    fn build(mut params: StrategyParams) -> Result<Self, ComponentError> {
        params.cue.check_build();
        params.cue.stall_ms = params.stall_ms;
        Ok(FaultyStrategy {
            cue: params.cue,
            indicator_panic_in: params.indicator_panic_in,
            keep_resting: params.keep_resting,
            ..FaultyStrategy::default()
        })
    }
}

impl FaultyStrategy {
    fn on_init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        self.instrument = ctx.instrument_or_primary("")?;
        if !self.indicator_panic_in.is_empty() {
            let params = CueParams { cue: Cue { panic_in: self.indicator_panic_in.clone(), ..Cue::default() } };
            self.indicator = Some(ctx.indicator(self.instrument, "faulty-indicator", params)?);
        }
        Ok(())
    }

    fn trade(&mut self, ctx: &mut StrategyContext<'_>) {
        if !self.keep_resting {
            let resting: Vec<ClientOrderId> = ctx.open_orders().unwrap_or_default().iter().map(|o| o.id).collect();
            for id in resting {
                let _ = ctx.cancel(id);
            }
        }
        let Some(tick) = ctx.instrument(self.instrument).map(|i| i.tick) else { return };
        ctx.submit(OrderRequest::market(self.instrument, Side::Buy, Qty(1)));
        ctx.submit(OrderRequest::limit(self.instrument, Side::Buy, tick, Qty(1), TimeInForce::Gtc));
    }
}

impl Strategy for FaultyStrategy {
    lifecycle_on_cue!();

    fn on_bar(&mut self, _bar: &Bar, ctx: &mut StrategyContext<'_>) {
        self.cue.hit("on_bar");
        if let Some(handle) = self.indicator {
            let _ = ctx.indicator(handle);
        }
        self.trade(ctx);
    }
    fn on_trade(&mut self, _trade: &TradeTick, _ctx: &mut StrategyContext<'_>) {
        self.cue.hit("on_trade");
    }
    fn on_quote(&mut self, _quote: &Quote, ctx: &mut StrategyContext<'_>) {
        self.cue.hit("on_quote");
        self.trade(ctx);
    }
    fn on_fill(&mut self, _fill: &FillReport, _ctx: &mut StrategyContext<'_>) {
        self.cue.hit("on_fill");
    }
    fn on_order_update(&mut self, _update: &OrderUpdate, _ctx: &mut StrategyContext<'_>) {
        self.cue.hit("on_order_update");
    }
}

/// Accepts every order and reviews every mark, until it panics on cue.
#[derive(Debug, Default)]
pub struct FaultyRisk {
    cue: Cue,
}

impl Plugin for FaultyRisk {
    type Params = CueParams;
    const SUMMARY: &'static str = "test: accepts everything, panics on cue";

    fn build(mut params: CueParams) -> Result<Self, ComponentError> {
        params.cue.check_build();
        Ok(FaultyRisk { cue: params.cue })
    }
}

impl FaultyRisk {
    fn on_init(&mut self, _ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        Ok(())
    }
}

impl RiskValidator for FaultyRisk {
    lifecycle_on_cue!();

    fn check(&mut self, _order: &OrderRequest, _view: &RiskView<'_>) -> Result<(), RiskReject> {
        self.cue.hit("check");
        Ok(())
    }
    fn review(&mut self, _view: &RiskView<'_>) -> Option<RiskReject> {
        self.cue.hit("review");
        None
    }
    fn reviews(&self) -> bool {
        assert!(self.cue.panic_in != "reviews", "faulty component panicked on cue in reviews");
        true
    }
}

/// Counts the events it sees, until it panics on cue.
#[derive(Debug, Default)]
pub struct FaultyIndicator {
    cue: Cue,
    count: f64,
}

impl Plugin for FaultyIndicator {
    type Params = CueParams;
    const SUMMARY: &'static str = "test: counts events, panics on cue";

    fn build(mut params: CueParams) -> Result<Self, ComponentError> {
        params.cue.check_build();
        Ok(FaultyIndicator { cue: params.cue, count: 0.0 })
    }
}

impl FaultyIndicator {
    fn on_init(&mut self, _ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        Ok(())
    }
}

impl Indicator for FaultyIndicator {
    lifecycle_on_cue!();

    fn update(&mut self, _event: &MarketEvent) {
        self.cue.hit("update");
        self.count += 1.0;
    }
    fn output_names(&self) -> &'static [&'static str] {
        assert!(self.cue.panic_in != "output_names", "faulty component panicked on cue in output_names");
        &["count"]
    }
    fn output(&self, _index: usize) -> Option<f64> {
        Some(self.count)
    }
}

/// Parameters of `faulty-feed`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FeedParams {
    /// When to panic.
    #[serde(flatten)]
    pub cue: Cue,
    /// Events to produce.
    pub count: u64,
    /// `bars`, or `order-flow`: a resting sell then a market buy per step (quotes and trades).
    pub mode: String,
    /// Emit an event for an instrument it never declared after this many events.
    pub undeclared_after: Option<u64>,
    /// Return an error (not a panic) after this many events.
    pub error_after: Option<u64>,
}

impl Default for FeedParams {
    fn default() -> FeedParams {
        FeedParams {
            cue: Cue::default(),
            count: 20,
            mode: "bars".to_owned(),
            undeclared_after: None,
            error_after: None,
        }
    }
}

/// A deterministic feed of rising bars or a small crossing order flow, faulty on cue.
#[derive(Debug, Default)]
pub struct FaultyFeed {
    cue: Cue,
    params: FeedParams,
    instrument: InstrumentId,
    emitted: u64,
}

impl Plugin for FaultyFeed {
    type Params = FeedParams;
    const SUMMARY: &'static str = "test: rising bars or a crossing flow, faulty on cue";

    fn build(mut params: FeedParams) -> Result<Self, ComponentError> {
        params.cue.check_build();
        if params.mode != "bars" && params.mode != "order-flow" {
            return Err(ComponentError::new(format!("mode must be bars or order-flow, got {:?}", params.mode)));
        }
        let cue = std::mem::take(&mut params.cue);
        Ok(FaultyFeed { cue, params, ..FaultyFeed::default() })
    }
}

impl FaultyFeed {
    fn on_init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        self.instrument = ctx.instrument("FLT")?;
        Ok(())
    }
}

impl Feed for FaultyFeed {
    lifecycle_on_cue!();

    fn data(&self) -> FeedData {
        assert!(self.cue.panic_in != "data", "faulty component panicked on cue in data");
        if self.params.mode == "bars" { FeedData::Bars } else { FeedData::OrderFlow }
    }

    fn next_event(&mut self, _ctx: &mut FeedContext<'_>) -> Result<Option<MarketEvent>, FeedError> {
        self.cue.hit("next_event");
        let step = self.emitted;
        if step >= self.params.count {
            return Ok(None);
        }
        if self.params.error_after == Some(step) {
            return Err(FeedError("faulty feed: the source went away".to_owned()));
        }
        self.emitted += 1;
        let instrument = if self.params.undeclared_after == Some(step) { InstrumentId(9_999) } else { self.instrument };
        let ts = Timestamp(1_700_000_000_000_000_000 + step as i64 * 60_000_000_000);
        if self.params.mode == "bars" {
            let price = Price::from_units(100 + step as i64);
            return Ok(Some(MarketEvent::Bar(Bar {
                ts,
                instrument,
                open: price,
                high: price,
                low: price,
                close: price,
                volume: 1.0,
            })));
        }
        // Order flow: even steps rest a sell at 100, odd steps take it with a market buy.
        let id = OrderId(step + 1);
        let order = if step.is_multiple_of(2) {
            NewOrder {
                id,
                side: Side::Sell,
                order_type: OrderType::Limit,
                price: Some(Price::from_units(100)),
                trigger: None,
                qty: Qty(3),
                tif: TimeInForce::Gtc,
                owner: None,
            }
        } else {
            NewOrder {
                id,
                side: Side::Buy,
                order_type: OrderType::Market,
                price: None,
                trigger: None,
                qty: Qty(1),
                tif: TimeInForce::Ioc,
                owner: None,
            }
        };
        Ok(Some(MarketEvent::Order(OrderFlowEvent { ts, command: OrderCommand::New { instrument, order } })))
    }
}

/// Price-time matching, faulty on cue.
#[derive(Debug, Default)]
pub struct FaultyMatching {
    cue: Cue,
}

impl Plugin for FaultyMatching {
    type Params = CueParams;
    const SUMMARY: &'static str = "test: price-time matching, panics on cue";

    fn build(mut params: CueParams) -> Result<Self, ComponentError> {
        params.cue.check_build();
        Ok(FaultyMatching { cue: params.cue })
    }
}

impl MatchingAlgorithm for FaultyMatching {
    fn match_level(&mut self, level: &mut LevelFills<'_>) {
        self.cue.hit("match_level");
        level.fill_rest_in_time_priority();
    }
}

tradsys_core::register_strategy!(FaultyStrategy, "faulty-strategy", "1.0.0");
tradsys_core::register_risk!(FaultyRisk, "faulty-risk", "1.0.0");
tradsys_core::register_indicator!(FaultyIndicator, "faulty-indicator", "1.0.0");
tradsys_core::register_feed!(FaultyFeed, "faulty-feed", "1.0.0");
tradsys_core::register_matching!(FaultyMatching, "faulty-matching", "1.0.0");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cue_panics_only_in_its_callback_after_its_count() {
        let mut cue = Cue { panic_in: "on_bar".to_owned(), after: 2, ..Cue::default() };
        cue.hit("on_fill");
        cue.hit("on_bar");
        cue.hit("on_bar");
        let third = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cue.hit("on_bar")));
        assert!(third.is_err());
        cue.panic_in.clear();
    }
}
