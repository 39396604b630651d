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
        let Some(close) = self.params.closes.get(self.at) else { return Ok(None) };
        let price: Price = close.parse().map_err(|e| FeedError(format!("{close}: {e}")))?;
        let instrument = if self.params.undeclared_at == Some(self.at) { InstrumentId(77) } else { self.instrument };
        self.at += 1;
        Ok(Some(MarketEvent::Bar(Bar {
            ts: Timestamp(self.at as i64 * 60_000_000_000),
            instrument,
            open: price,
            high: price,
            low: price,
            close: price,
            volume: 1.0,
        })))
    }
}

/// `script-strategy`: buys `qty` at market on the bars listed in `buy_on` (0-based); may read `count`.
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
}

impl Plugin for ScriptStrategy {
    type Params = StrategyParams;
    const SUMMARY: &'static str = "fixture strategy";
    const DEPENDENCIES: &'static [Dependency] = &[Dependency::indicator("count", "*")];
    const CAPABILITIES: &'static [crate::capability::Capability] =
        &[crate::capability::Capability::SubmitOrders, crate::capability::Capability::Indicators];
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
        self.bar += 1;
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
    let registry = registry();
    let matching = registry.find(Kind::Matching, "fifo", &semver::VersionReq::STAR).unwrap().descriptor;
    let source = Box::new(move || match matching.build(&Dict::new()) {
        Ok(crate::plugin::Instance::Matching(algorithm)) => Ok(algorithm),
        _ => Err("not a matching algorithm".to_owned()),
    });
    Session::new(&config, &planned, source)
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
