//! Out-of-tree plugins, registered from this crate exactly as a firm's own crate would:
//! a scriptable strategy that records what it sees, a risk validator that panics on cue, and a
//! LIFO matching algorithm (not compiled into the binary's matching enum, so it runs through the
//! `External` escape variant).

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tradsys_core::book::LevelFills;
use tradsys_core::component::{
    ComponentError, FillReport, InitContext, OrderRequest, OrderStatus, OrderUpdate, RiskReject, RiskValidator,
    RiskView, Strategy, StrategyContext,
};
use tradsys_core::market::{Bar, Quote, TradeTick};
use tradsys_core::matching::MatchingAlgorithm;
use tradsys_core::plugin::{Capability, Plugin};
use tradsys_core::types::{InstrumentId, Price, Qty, Side, TimeInForce};

static LOG: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

/// What the probe with config id `id` recorded, in order.
#[must_use]
pub fn log_of(id: &str) -> Vec<String> {
    LOG.lock()
        .map(|log| log.iter().filter(|(who, _)| who == id).map(|(_, line)| line.clone()).collect())
        .unwrap_or_default()
}

fn record(id: &str, line: String) {
    if let Ok(mut log) = LOG.lock() {
        log.push((id.to_owned(), line));
    }
}

/// Parameters of `test-probe`: a script of `"<bar|quote|trade> <n> <buy|sell> <qty> [limit <price>]"`
/// or `"<bar|quote|trade> <n> panic"` lines, run when the n-th (0-based) event of that kind arrives.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeParams {
    /// The script.
    pub script: Vec<String>,
}

/// A strategy that acts from a script and records fills and order updates.
#[derive(Debug, Default)]
pub struct ProbeStrategy {
    id: String,
    script: Vec<String>,
    instrument: InstrumentId,
    seen: [usize; 3],
}

impl Plugin for ProbeStrategy {
    type Params = ProbeParams;
    const SUMMARY: &'static str = "test probe: acts from a script, records what it sees";
    const CAPABILITIES: &'static [Capability] = &[Capability::SubmitOrders];

    fn build(params: ProbeParams) -> Result<Self, ComponentError> {
        Ok(ProbeStrategy { script: params.script, ..ProbeStrategy::default() })
    }
}

impl ProbeStrategy {
    fn act(&mut self, kind: usize, name: &str, ctx: &mut StrategyContext<'_>) {
        let n = self.seen[kind];
        self.seen[kind] += 1;
        for line in self.script.clone() {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.first() != Some(&name) || words.get(1).and_then(|w| w.parse::<usize>().ok()) != Some(n) {
                continue;
            }
            if words.get(2) == Some(&"panic") {
                panic!("probe {} panics on {name} {n}", self.id);
            }
            let side = if words[2] == "buy" { Side::Buy } else { Side::Sell };
            let qty = Qty(words[3].parse().unwrap_or(0));
            let order = match (words.get(4), words.get(5)) {
                (Some(&"limit"), Some(price)) => {
                    let price: Price = price.parse().unwrap_or(Price::ZERO);
                    OrderRequest::limit(self.instrument, side, price, qty, TimeInForce::Gtc)
                }
                _ => OrderRequest::market(self.instrument, side, qty),
            };
            let id = ctx.submit(order);
            record(&self.id, format!("submit {} {} {}", id.0, side, qty.0));
        }
    }
}

impl Strategy for ProbeStrategy {
    fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        self.id = ctx.component().to_owned();
        self.instrument = ctx.primary_instrument().unwrap_or(InstrumentId(0));
        Ok(())
    }

    fn on_bar(&mut self, _bar: &Bar, ctx: &mut StrategyContext<'_>) {
        self.act(0, "bar", ctx);
    }

    fn on_quote(&mut self, _quote: &Quote, ctx: &mut StrategyContext<'_>) {
        self.act(1, "quote", ctx);
    }

    fn on_trade(&mut self, _trade: &TradeTick, ctx: &mut StrategyContext<'_>) {
        self.act(2, "trade", ctx);
    }

    fn on_fill(&mut self, fill: &FillReport, _ctx: &mut StrategyContext<'_>) {
        record(&self.id, format!("fill {} {} {}@{}", fill.order.0, fill.side, fill.qty.0, fill.price));
    }

    fn on_order_update(&mut self, update: &OrderUpdate, _ctx: &mut StrategyContext<'_>) {
        let status = match &update.status {
            OrderStatus::Accepted => "accepted".to_owned(),
            OrderStatus::Rejected { by, reason } => format!("rejected by {by}: {reason}"),
            OrderStatus::Cancelled => "cancelled".to_owned(),
            OrderStatus::Expired => "expired".to_owned(),
            OrderStatus::Triggered => "triggered".to_owned(),
        };
        record(&self.id, format!("update {} {status} ({} left)", update.order.0, update.remaining.0));
    }
}

/// Last in, first out within a level: deliberately unlike every compiled-in algorithm.
#[derive(Debug, Default)]
pub struct LifoMatching {
    queue: Vec<tradsys_core::book::RestingOrder>,
}

/// LIFO takes no parameters.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifoParams {}

impl Plugin for LifoMatching {
    type Params = LifoParams;
    const SUMMARY: &'static str = "test: last in, first out within a level";

    fn build(_params: LifoParams) -> Result<Self, ComponentError> {
        Ok(LifoMatching::default())
    }
}

impl MatchingAlgorithm for LifoMatching {
    fn match_level(&mut self, level: &mut LevelFills<'_>) {
        self.queue.clear();
        let mut cursor = level.head();
        while let Some(order) = cursor {
            self.queue.push(order);
            cursor = level.next(order);
        }
        for &order in self.queue.iter().rev() {
            let remaining = level.remaining(order);
            if level.fill(order, remaining) < remaining {
                break;
            }
        }
    }
}

/// Parameters of `test-fragile-risk`: how many calls of each kind succeed before one panics.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FragileParams {
    /// `check` calls that pass before one panics.
    pub checks_before_panic: u64,
    /// `review` calls that pass before one panics.
    pub reviews_before_panic: u64,
}

impl Default for FragileParams {
    fn default() -> FragileParams {
        FragileParams { checks_before_panic: u64::MAX, reviews_before_panic: u64::MAX }
    }
}

/// A validator that accepts everything until it panics, to test that the risk chain fails closed.
#[derive(Debug)]
pub struct FragileRisk {
    checks_left: u64,
    reviews_left: u64,
}

impl Plugin for FragileRisk {
    type Params = FragileParams;
    const SUMMARY: &'static str = "test: accepts orders until it panics on cue";

    fn build(params: FragileParams) -> Result<Self, ComponentError> {
        Ok(FragileRisk { checks_left: params.checks_before_panic, reviews_left: params.reviews_before_panic })
    }
}

impl RiskValidator for FragileRisk {
    fn check(&mut self, _order: &OrderRequest, _view: &RiskView<'_>) -> Result<(), RiskReject> {
        assert!(self.checks_left > 0, "fragile check gave way");
        self.checks_left -= 1;
        Ok(())
    }

    fn review(&mut self, _view: &RiskView<'_>) -> Option<RiskReject> {
        assert!(self.reviews_left > 0, "fragile review gave way");
        self.reviews_left -= 1;
        None
    }
}

tradsys_core::register_strategy!(ProbeStrategy, "test-probe", "1.0.0");
tradsys_core::register_risk!(FragileRisk, "test-fragile-risk", "1.0.0");
tradsys_core::register_matching!(LifoMatching, "test-lifo", "1.0.0");
