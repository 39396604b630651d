//! Fixtures of the session's unit tests: a scripted bar feed, a scripted strategy, an indicator, a
//! validator and FIFO matching, registered in a registry of their own, and a session built from a
//! config text the way `tradsys run` builds one.

use figment::value::Dict;
use serde::{Deserialize, Serialize};

use super::{RunOutcome, Session, SessionError};
use crate::book::LevelFills;
use crate::component::{
    ComponentError, Feed, FeedContext, FeedData, FeedError, Indicator, IndicatorHandle, InitContext, OrderRequest,
    RiskReject, RiskValidator, RiskView, Strategy, StrategyContext,
};
use crate::config::{ConfigFile, ConfigLoader, Environment};
use crate::factory::plan;
use crate::market::{Bar, MarketEvent};
use crate::matching::MatchingAlgorithm;
use crate::plugin::{ComponentDescriptor, Dependency, Kind, NativeBuild, Plugin, builders};
use crate::registry::Registry;
use crate::types::{InstrumentId, Price, Qty, Side, Timestamp};

/// `script-feed`: one bar per close price, a minute apart, for symbol `T`.
#[derive(Debug, Default)]
pub(super) struct ScriptFeed {
    params: FeedParams,
    instrument: InstrumentId,
    at: usize,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct FeedParams {
    /// Prices of the bars (open = high = low = close).
    closes: Vec<String>,
    /// Bars as `"OPEN HIGH LOW CLOSE"`, after the `closes`.
    bars: Vec<String>,
    /// Emit the bar at this index for an instrument id nobody declared.
    undeclared_at: Option<usize>,
}

impl Plugin for ScriptFeed {
    type Params = FeedParams;
    const SUMMARY: &'static str = "fixture feed";
    fn build(params: FeedParams) -> Result<Self, ComponentError> {
        Ok(ScriptFeed { params, ..ScriptFeed::default() })
    }
}

impl Feed for ScriptFeed {
    fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        self.instrument = ctx.instrument("T")?;
        Ok(())
    }

    fn data(&self) -> FeedData {
        FeedData::Bars
    }

    fn next_event(&mut self, _ctx: &mut FeedContext<'_>) -> Result<Option<MarketEvent>, FeedError> {
        let text = match self.params.closes.get(self.at) {
            Some(close) => [close.as_str(); 4].join(" "),
            None => match self.params.bars.get(self.at - self.params.closes.len()) {
                Some(bar) => bar.clone(),
                None => return Ok(None),
            },
        };
        let prices: Vec<Price> = text
            .split_whitespace()
            .map(|p| p.parse().map_err(|e| FeedError(format!("{p}: {e}"))))
            .collect::<Result<_, _>>()?;
        let [open, high, low, close] = prices[..] else { return Err(FeedError(format!("not a bar: {text}"))) };
        let instrument = if self.params.undeclared_at == Some(self.at) { InstrumentId(77) } else { self.instrument };
        self.at += 1;
        Ok(Some(MarketEvent::Bar(Bar {
            ts: Timestamp(self.at as i64 * 60_000_000_000),
            instrument,
            open,
            high,
            low,
            close,
            volume: 1.0,
        })))
    }
}

thread_local! {
    /// What `script-strategy` saw of its orders, one line each, on this test's thread.
    static ORDER_LOG: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Takes what `script-strategy` logged of its orders since the last call: `BAR: fill #ID SIDE
/// QTY@PRICE` and `BAR: #ID STATUS`, where BAR counts the bars it had seen when it happened.
pub(super) fn take_order_log() -> Vec<String> {
    ORDER_LOG.with(|log| std::mem::take(&mut *log.borrow_mut()))
}

fn log_order(line: String) {
    ORDER_LOG.with(|log| log.borrow_mut().push(line));
}

/// One order of `script-strategy`'s `orders`: `BAR SIDE market QTY`, `BAR SIDE limit PRICE QTY`,
/// `BAR SIDE stop TRIGGER QTY`, `BAR SIDE stop-limit TRIGGER PRICE QTY`, any of them followed by
/// `sl=PRICE` and/or `tp=PRICE` to make it a bracket; or `BAR cancel ID`.
fn scripted_order(spec: &str, instrument: InstrumentId, ctx: &mut StrategyContext<'_>) {
    let words: Vec<&str> = spec.split_whitespace().collect();
    if words[1] == "cancel" {
        ctx.cancel(crate::component::ClientOrderId(words[2].parse().unwrap())).unwrap();
        return;
    }
    let side = if words[1] == "buy" { Side::Buy } else { Side::Sell };
    let price = |at: usize| -> Price { words[at].parse().unwrap() };
    let qty = |at: usize| Qty(words[at].parse().unwrap());
    let (request, rest) = match words[2] {
        "market" => (OrderRequest::market(instrument, side, qty(3)), 4),
        "limit" => (OrderRequest::limit(instrument, side, price(3), qty(4), crate::types::TimeInForce::Gtc), 5),
        "stop" => (OrderRequest::stop(instrument, side, price(3), qty(4)), 5),
        "stop-limit" => {
            (OrderRequest::stop_limit(instrument, side, price(3), price(4), qty(5), crate::types::TimeInForce::Gtc), 6)
        }
        other => panic!("unknown order type {other}"),
    };
    let mut exits = crate::component::BracketExits::default();
    for word in &words[rest..] {
        match word.split_once('=') {
            Some(("sl", p)) => exits.stop_loss = Some(p.parse().unwrap()),
            Some(("tp", p)) => exits.take_profit = Some(p.parse().unwrap()),
            _ => panic!("unknown order word {word}"),
        }
    }
    if exits == crate::component::BracketExits::default() {
        ctx.submit(request);
    } else {
        ctx.submit_bracket(request, exits);
    }
}

/// `script-strategy`: buys `qty` at market on the bars listed in `buy_on` (0-based), sends the
/// `orders` on their bars and logs what happens to them; may read `count`.
#[derive(Debug, Default)]
pub(super) struct ScriptStrategy {
    params: StrategyParams,
    bar: usize,
    count: Option<IndicatorHandle>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct StrategyParams {
    buy_on: Vec<usize>,
    qty: i64,
    /// Ask for the `count` indicator during init.
    use_count: bool,
    /// Refuse in init.
    fail_init: bool,
    /// Read its position on every bar (a capability it does not declare).
    read_position: bool,
    /// Orders to send, see [`scripted_order`].
    orders: Vec<String>,
}

impl Plugin for ScriptStrategy {
    type Params = StrategyParams;
    const SUMMARY: &'static str = "fixture strategy";
    const DEPENDENCIES: &'static [Dependency] = &[Dependency::indicator("count", "*")];
    const CAPABILITIES: &'static [crate::capability::Capability] = &[
        crate::capability::Capability::SubmitOrders,
        crate::capability::Capability::CancelOrders,
        crate::capability::Capability::Indicators,
    ];
    fn build(params: StrategyParams) -> Result<Self, ComponentError> {
        Ok(ScriptStrategy { params, ..ScriptStrategy::default() })
    }
}

impl Strategy for ScriptStrategy {
    fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        if self.params.fail_init {
            return Err(ComponentError::new("refused on cue"));
        }
        if self.params.use_count {
            self.count = Some(ctx.indicator(InstrumentId(0), "count", Dict::new())?);
        }
        Ok(())
    }

    fn on_bar(&mut self, bar: &Bar, ctx: &mut StrategyContext<'_>) {
        if self.params.read_position {
            assert!(ctx.position(bar.instrument).is_err(), "read-position is not declared, so not granted");
        }
        if self.params.buy_on.contains(&self.bar) {
            ctx.submit(OrderRequest::market(bar.instrument, Side::Buy, Qty(self.params.qty.max(1))));
        }
        let bar_index = self.bar.to_string();
        for spec in self.params.orders.iter().filter(|o| o.split_whitespace().next() == Some(&bar_index)) {
            scripted_order(spec, bar.instrument, ctx);
        }
        self.bar += 1;
    }

    fn on_fill(&mut self, fill: &crate::component::FillReport, _ctx: &mut StrategyContext<'_>) {
        log_order(format!("{}: fill #{} {} {}@{}", self.bar, fill.order.0, fill.side, fill.qty, fill.price));
    }

    fn on_order_update(&mut self, update: &crate::component::OrderUpdate, _ctx: &mut StrategyContext<'_>) {
        use crate::component::OrderStatus;
        let status = match &update.status {
            OrderStatus::Accepted => "accepted".to_owned(),
            OrderStatus::Triggered => "triggered".to_owned(),
            OrderStatus::Cancelled => format!("cancelled {}", update.remaining),
            OrderStatus::Expired => format!("expired {}", update.remaining),
            OrderStatus::Rejected { by, reason } => format!("rejected by {by}: {reason}"),
        };
        log_order(format!("{}: #{} {status}", self.bar, update.order.0));
    }
}

/// `count`: how many bars it saw.
#[derive(Debug, Default)]
pub(super) struct CountIndicator {
    seen: f64,
}

impl Plugin for CountIndicator {
    type Params = Dict;
    const SUMMARY: &'static str = "fixture indicator";
    fn build(_params: Dict) -> Result<Self, ComponentError> {
        Ok(CountIndicator::default())
    }
}

impl Indicator for CountIndicator {
    fn update(&mut self, _event: &MarketEvent) {
        self.seen += 1.0;
    }
    fn output(&self, _index: usize) -> Option<f64> {
        Some(self.seen)
    }
}

/// `max-qty`: refuses orders above `max` lots.
#[derive(Debug, Default)]
pub(super) struct MaxQty {
    max: i64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct MaxQtyParams {
    max: i64,
}

impl Plugin for MaxQty {
    type Params = MaxQtyParams;
    const SUMMARY: &'static str = "fixture validator";
    fn build(params: MaxQtyParams) -> Result<Self, ComponentError> {
        Ok(MaxQty { max: params.max })
    }
}

impl RiskValidator for MaxQty {
    fn reconfigure(&mut self, params: &Dict) -> Result<crate::component::Reconfigured, ComponentError> {
        crate::plugin::rebuild_in_place(self, params)
    }
    fn check(&mut self, order: &OrderRequest, _view: &RiskView<'_>) -> Result<(), RiskReject> {
        if order.qty.0 > self.max { Err(RiskReject::new(format!("{} > {}", order.qty.0, self.max))) } else { Ok(()) }
    }
    fn reviews(&self) -> bool {
        false
    }
}

/// `fifo`: time priority.
#[derive(Debug, Default)]
pub(super) struct Fifo;

impl Plugin for Fifo {
    type Params = Dict;
    const SUMMARY: &'static str = "fixture matching";
    fn build(_params: Dict) -> Result<Self, ComponentError> {
        Ok(Fifo)
    }
}

impl MatchingAlgorithm for Fifo {
    fn match_level(&mut self, level: &mut LevelFills<'_>) {
        level.fill_rest_in_time_priority();
    }
}

fn descriptor<P: Plugin>(kind: Kind, name: &'static str, build: NativeBuild) -> std::sync::Arc<ComponentDescriptor> {
    std::sync::Arc::new(ComponentDescriptor::native::<P>(kind, name, "1.0.0", "session-fixture", build))
}

fn registry() -> Registry {
    Registry::from_descriptors([
        descriptor::<ScriptFeed>(Kind::Feed, "script-feed", NativeBuild::Feed(builders::feed::<ScriptFeed>)),
        descriptor::<ScriptStrategy>(
            Kind::Strategy,
            "script-strategy",
            NativeBuild::Strategy(builders::strategy::<ScriptStrategy>),
        ),
        descriptor::<CountIndicator>(
            Kind::Indicator,
            "count",
            NativeBuild::Indicator(builders::indicator::<CountIndicator>),
        ),
        descriptor::<MaxQty>(Kind::Risk, "max-qty", NativeBuild::Risk(builders::risk::<MaxQty>)),
        descriptor::<Fifo>(Kind::Matching, "fifo", NativeBuild::Matching(builders::matching::<Fifo>)),
    ])
    .expect("fixtures register cleanly")
}

/// A session from a config text over the fixtures (a feed of `closes` is prepended).
pub(super) fn session(
    closes: &[&str],
    extra: &str,
) -> Result<Session<Box<dyn crate::matching::DynMatching>>, SessionError> {
    session_with_feed(closes, "", extra)
}

/// As [`session`], with more feed parameters (`feed_params`, e.g. `, undeclared_at = 1`).
pub(super) fn session_with_feed(
    closes: &[&str],
    feed_params: &str,
    extra: &str,
) -> Result<Session<Box<dyn crate::matching::DynMatching>>, SessionError> {
    let closes: Vec<String> = closes.iter().map(|c| format!("\"{c}\"")).collect();
    let text = format!(
        "[feed]\nplugin = \"script-feed\"\nparams = {{ closes = [{}]{feed_params} }}\n{extra}",
        closes.join(", ")
    );
    let (config, planned) = planned(&text);
    session_from_plan(&config, &planned)
}

/// A session of a planned fixture config, on the fixtures' FIFO matching.
pub(super) fn session_from_plan(
    config: &crate::config::Config,
    planned: &crate::factory::Plan,
) -> Result<Session<Box<dyn crate::matching::DynMatching>>, SessionError> {
    let registry = registry();
    let matching = registry.find(Kind::Matching, "fifo", &semver::VersionReq::STAR).unwrap().descriptor;
    let source = Box::new(move || match matching.build(&Dict::new()) {
        Ok(crate::plugin::Instance::Matching(algorithm)) => Ok(algorithm),
        _ => Err("not a matching algorithm".to_owned()),
    });
    Session::new(config, planned, source)
}

/// The config and plan of a config text over the fixtures.
pub(super) fn planned(text: &str) -> (crate::config::Config, crate::factory::Plan) {
    let text: &'static str = Box::leak(text.to_owned().into_boxed_str());
    let loader =
        ConfigLoader::load(&ConfigFile::Embedded { name: "fixture.toml", text }, &Environment::Ignored, &[]).unwrap();
    let config = loader.extract().unwrap();
    let planned = plan(&registry(), &config, Some(&loader)).unwrap_or_else(|e| panic!("{e:?}"));
    (config, planned)
}

/// Runs a session over `closes` with `extra` config.
pub(super) fn run(closes: &[&str], extra: &str) -> RunOutcome {
    session(closes, extra).expect("the fixture session starts").run(&mut super::NoObserver)
}
