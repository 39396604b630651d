//! What a session reports: the `--report` JSON file format and the summary table's data.
//!
//! Everything outside [`SessionReport::timing`] is a function of config and seed alone, so two runs
//! of one config give byte-identical reports apart from that section.

use serde::Serialize;

use crate::component::{BadRows, FeedData};
use crate::plugin::Kind;
use crate::types::Money;

/// The whole report of a run.
#[derive(Clone, Debug, Serialize)]
pub struct SessionReport {
    /// Bars or order flow.
    pub mode: FeedData,
    /// Market-data events read from the feed.
    pub events: u64,
    /// Bars processed (bar mode) or aggregated (order-flow mode).
    pub bars: u64,
    /// Trades printed by the venue.
    pub venue_trades: u64,
    /// Periods per year used for Sharpe.
    pub periods_per_year: f64,
    /// Sum over strategies.
    pub total: TotalReport,
    /// Per strategy, in config order.
    pub strategies: Vec<StrategyReport>,
    /// The risk chain, in evaluation order.
    pub risk: Vec<RiskReport>,
    /// Every component, in start order.
    pub components: Vec<ComponentReport>,
    /// Last value of every indicator.
    pub indicators: Vec<IndicatorReport>,
    /// Rows the feed skipped.
    pub bad_rows: BadRows,
    /// Wall-clock figures (the only part that differs between identical runs).
    pub timing: TimingReport,
    /// The total equity curve, downsampled to at most [`CURVE_POINTS`](super::stats::CURVE_POINTS) points
    /// (for plots; not part of the JSON report).
    #[serde(skip)]
    pub curve: Vec<super::stats::CurvePoint>,
}

/// The sum over all strategies.
#[derive(Clone, Debug, Serialize)]
pub struct TotalReport {
    /// Starting equity.
    pub initial_equity: Money,
    /// Final equity.
    pub final_equity: Money,
    /// Return as a percentage of the starting equity.
    pub return_pct: f64,
    /// Largest drawdown of the total equity, percent.
    pub max_drawdown_pct: f64,
    /// Annualized Sharpe of the total equity.
    pub sharpe: f64,
}

/// One strategy's results.
#[derive(Clone, Debug, Serialize)]
pub struct StrategyReport {
    /// Config id.
    pub id: String,
    /// `name@version`.
    pub plugin: String,
    /// `running`, `halted: ...` or `failed: ...`.
    pub status: String,
    /// Round trips closed.
    pub trades: u64,
    /// Share of round trips with positive net PnL, percent.
    pub win_rate_pct: f64,
    /// Realized PnL before commission.
    pub realized_pnl: Money,
    /// Unrealized PnL at the last marks.
    pub unrealized_pnl: Money,
    /// Commission paid.
    pub commission: Money,
    /// Realized + unrealized − commission.
    pub net_pnl: Money,
    /// Net PnL as a percentage of starting cash.
    pub return_pct: f64,
    /// Largest drawdown of the strategy's equity, percent.
    pub max_drawdown_pct: f64,
    /// Annualized Sharpe ratio.
    pub sharpe: f64,
    /// Orders submitted.
    pub orders: u64,
    /// Orders refused by risk or the venue.
    pub rejected: u64,
    /// Fills booked.
    pub fills: u64,
    /// Final position per symbol (non-zero only).
    pub positions: Vec<(String, i64)>,
}

/// One risk validator's results.
#[derive(Clone, Debug, Serialize)]
pub struct RiskReport {
    /// Config id.
    pub id: String,
    /// `name@version`.
    pub plugin: String,
    /// Chain position.
    pub order: i64,
    /// Orders it refused.
    pub rejections: u64,
}

/// One component's lifecycle.
#[derive(Clone, Debug, Serialize)]
pub struct ComponentReport {
    /// Config id (requested indicators: `strategy/name(params)`).
    pub id: String,
    /// Kind.
    pub kind: Kind,
    /// `name@version`.
    pub plugin: String,
    /// Built on first use only.
    pub lazy: bool,
    /// Whether it was ever built.
    pub initialized: bool,
    /// Its state at the end of the run.
    pub state: String,
}

/// An indicator's last outputs.
#[derive(Clone, Debug, Serialize)]
pub struct IndicatorReport {
    /// Id.
    pub id: String,
    /// `name@version`.
    pub plugin: String,
    /// Outputs, `null` while warming up.
    pub values: Vec<Option<f64>>,
}

/// Wall-clock figures.
#[derive(Clone, Debug, Serialize)]
pub struct TimingReport {
    /// Seconds in the event loop.
    pub elapsed_s: f64,
    /// Events per second.
    pub events_per_s: f64,
    /// Per component: id and microseconds spent in init (absent if never initialized).
    pub init_us: Vec<(String, Option<u64>)>,
}
