//! What a session reports: the `--report` JSON file format and the summary table's data.
//!
//! Everything outside [`SessionReport::timing`] and each component's [`ComponentMetrics::runtime`]
//! is a function of config and seed alone, so two runs of one config give byte-identical reports
//! apart from those. (`runtime` holds wall-clock figures, and memory, which a component with a
//! thread of its own allocates depending on how the threads meet.)

use std::collections::BTreeMap;

use serde::Serialize;

use super::Session;
use super::statistics::Statistics;
use super::trade_stats::TradeStats;
use crate::boundary::Call;
use crate::component::{BadRows, ComponentId, FeedData};
use crate::factory::{ComponentSlot, FailureCause, LifecycleState};
use crate::instrument::TickOrigin;
use crate::matching::MatchingAlgorithm;
use crate::metrics::LatencySummary;
use crate::plugin::Kind;
use crate::types::{InstrumentId, LotSize, Money, Price};

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
    /// Days per year used to annualize daily returns: `session.periods_per_year`, or 252 when the
    /// data has no weekends, else 365.
    pub periods_per_year: f64,
    /// Whether the run reached the end of its feed (false when a feed or matching failure, or a
    /// signal, ended it).
    pub complete: bool,
    /// Whether a signal stopped the run before its feed ended (everything before it is reported).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// The failure that ended the run early, if one did.
    pub ended_by: Option<FailureReport>,
    /// Every component that failed during the run, in lifecycle order.
    pub failures: Vec<FailureReport>,
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
    /// Every instrument the run traded or read, with the tick and lot size it used.
    pub instruments: Vec<InstrumentReport>,
    /// Rows the feed skipped.
    pub bad_rows: BadRows,
    /// A live feed's connection and silences (a file or generator has none: absent). Wall-clock
    /// figures, like `timing`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feed: Option<super::FeedStatus>,
    /// Budgets crossed, in the order they were (see `[alerts]`; latency budgets make this depend
    /// on the machine).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<super::Alert>,
    /// Wall-clock figures (the only part that differs between identical runs).
    pub timing: TimingReport,
    /// The total equity curve, downsampled to at most [`CURVE_POINTS`](super::stats::CURVE_POINTS) points
    /// (for plots; not part of the JSON report).
    #[serde(skip)]
    pub curve: Vec<super::stats::CurvePoint>,
    /// Each strategy's equity curve, downsampled the same way, by strategy id (for plots).
    #[serde(skip)]
    pub strategy_curves: Vec<(String, Vec<super::stats::CurvePoint>)>,
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
    /// Annualized Sharpe of the total equity (from daily returns; `null` when undefined).
    pub sharpe: Option<f64>,
    /// Every figure of the total equity and all strategies' trades.
    pub statistics: Statistics,
}

/// One strategy's results.
#[derive(Clone, Debug, Serialize)]
pub struct StrategyReport {
    /// Config id.
    pub id: String,
    /// `name@version`.
    pub plugin: String,
    /// `running`, `halted ...` or `failed: ...` (see [`StrategyStatus`](super::StrategyStatus)).
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
    /// Annualized Sharpe ratio (from daily returns; `null` when undefined).
    pub sharpe: Option<f64>,
    /// Every figure of the strategy's equity and trades.
    pub statistics: Statistics,
    /// Orders submitted.
    pub orders: u64,
    /// Orders refused by risk or the venue.
    pub rejected: u64,
    /// Fills booked.
    pub fills: u64,
    /// Final position per symbol (non-zero only).
    pub positions: Vec<(String, i64)>,
    /// Orders still resting at the end.
    pub open_orders: usize,
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
    /// The parameters of its current instance, as given (plugin defaults fill the rest).
    pub params: figment::value::Dict,
    /// What its calls cost and did.
    pub metrics: ComponentMetrics,
}

/// A component that failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FailureReport {
    /// Its kind.
    pub kind: Kind,
    /// Its id.
    pub id: String,
    /// `name@version`.
    pub plugin: String,
    /// The call that failed.
    pub call: &'static str,
    /// Whether it panicked (a bug in it) rather than refused.
    pub panicked: bool,
    /// What happened.
    pub message: String,
}

impl FailureReport {
    /// The report of `component` failing with `cause`.
    #[must_use]
    pub fn new(component: &ComponentId, plugin: &str, cause: &FailureCause) -> FailureReport {
        FailureReport {
            kind: component.kind(),
            id: component.id().to_owned(),
            plugin: plugin.to_owned(),
            call: cause.call().as_str(),
            panicked: cause.is_panic(),
            message: match cause {
                FailureCause::Violated { message, .. } => format!("broke the plugin contract: {message}"),
                other => other.message().to_owned(),
            },
        }
    }
}

impl std::fmt::Display for FailureReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let how = if self.panicked { "panicked in" } else { "failed in" };
        write!(f, "{} {} ({}) {how} {}: {}", self.kind, self.id, self.plugin, self.call, self.message)
    }
}

/// Orders of a strategy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OrderCounts {
    /// Submitted.
    pub submitted: u64,
    /// Fills booked.
    pub filled: u64,
    /// Refused by risk, the venue or the session.
    pub rejected: u64,
}

/// One component's metrics (see [`crate::metrics`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ComponentMetrics {
    /// Calls per callback (only those made).
    pub calls: BTreeMap<&'static str, u64>,
    /// Calls that returned the component's own error.
    pub errors: u64,
    /// Contained panics.
    pub panics: u64,
    /// Calls refused for want of a capability, by capability (only those refused).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub denied: BTreeMap<&'static str, u64>,
    /// Strategies: orders submitted, filled, rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orders: Option<OrderCounts>,
    /// Validators: orders checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<u64>,
    /// Validators: orders refused (and strategies halted by review).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejections: Option<u64>,
    /// Indicators: updates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updates: Option<u64>,
    /// Figures that vary between identical runs: lifecycle and call times, memory.
    pub runtime: RuntimeFigures,
}

/// Memory attributed to a component's code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MemoryReport {
    /// Bytes allocated.
    pub allocated_bytes: u64,
    /// Bytes freed.
    pub freed_bytes: u64,
    /// Allocated minus freed.
    pub live_bytes: u64,
    /// Allocations.
    pub allocations: u64,
}

/// A component's figures that depend on the machine and on thread timing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RuntimeFigures {
    /// Building, µs.
    pub load_us: Option<u64>,
    /// `init`, µs.
    pub init_us: Option<u64>,
    /// `start`, µs.
    pub start_us: Option<u64>,
    /// Per-event calls timed (one in [`LATENCY_SAMPLE_EVERY`](crate::metrics::LATENCY_SAMPLE_EVERY)).
    pub latency_samples: u64,
    /// Median latency, ns.
    pub latency_p50_ns: u64,
    /// 99th percentile latency, ns.
    pub latency_p99_ns: u64,
    /// Longest latency, ns.
    pub latency_max_ns: u64,
    /// Bytes and allocations of the component's own code.
    pub memory: MemoryReport,
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

/// An instrument as the run used it.
#[derive(Clone, Debug, Serialize)]
pub struct InstrumentReport {
    /// Symbol.
    pub symbol: String,
    /// Price increment.
    pub tick: Price,
    /// Units per lot.
    pub lot_size: LotSize,
    /// Where the tick came from: `declared`, `assumed` (the 0.01 default) or `inferred` (from the
    /// precision of the data's prices).
    pub tick_origin: TickOrigin,
}

impl InstrumentReport {
    fn new(instrument: &crate::instrument::Instrument) -> InstrumentReport {
        InstrumentReport {
            symbol: instrument.symbol.clone(),
            tick: instrument.tick,
            lot_size: instrument.lot_size,
            tick_origin: instrument.tick_origin,
        }
    }
}

/// Wall-clock figures.
#[derive(Clone, Debug, Serialize)]
pub struct TimingReport {
    /// Seconds in the event loop.
    pub elapsed_s: f64,
    /// Events per second.
    pub events_per_s: f64,
    /// `serve` only: how long run-time changes held the event loop.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<ChangeTimes>,
}

/// How long run-time changes (and stops and starts) held the event loop, in microseconds.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ChangeTimes {
    /// Changes applied or refused.
    pub count: u64,
    /// Median hold.
    pub p50_us: f64,
    /// 99th percentile hold.
    pub p99_us: f64,
    /// Longest hold.
    pub max_us: f64,
}

impl From<(u64, f64, f64, f64)> for ChangeTimes {
    fn from((count, p50_us, p99_us, max_us): (u64, f64, f64, f64)) -> ChangeTimes {
        ChangeTimes { count, p50_us, p99_us, max_us }
    }
}

fn micros(duration: Option<std::time::Duration>) -> Option<u64> {
    duration.map(|d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// The metrics of one slot; the session adds the kind-specific counts.
fn slot_metrics(slot: &ComponentSlot) -> ComponentMetrics {
    let snapshot = slot.meter().snapshot();
    let times = slot.times();
    let LatencySummary { samples, p50_ns, p99_ns, max_ns } = snapshot.latency;
    ComponentMetrics {
        calls: snapshot.nonzero_calls().map(|(call, n)| (call.as_str(), n)).collect(),
        errors: snapshot.errors,
        panics: snapshot.panics,
        denied: snapshot.nonzero_denied().map(|(capability, n)| (capability.as_str(), n)).collect(),
        orders: None,
        checks: (slot.kind() == Kind::Risk).then(|| snapshot.calls_of(Call::Check)),
        rejections: None,
        updates: (slot.kind() == Kind::Indicator).then(|| snapshot.calls_of(Call::Update)),
        runtime: RuntimeFigures {
            load_us: micros(times.load),
            init_us: micros(times.init),
            start_us: micros(times.start),
            latency_samples: samples,
            latency_p50_ns: p50_ns,
            latency_p99_ns: p99_ns,
            latency_max_ns: max_ns,
            memory: MemoryReport {
                allocated_bytes: snapshot.memory.allocated_bytes,
                freed_bytes: snapshot.memory.freed_bytes,
                live_bytes: snapshot.memory.live_bytes(),
                allocations: snapshot.memory.allocations,
            },
        },
    }
}

impl<M: MatchingAlgorithm> Session<M> {
    pub(super) fn report(&self, elapsed: f64) -> SessionReport {
        let periods_per_year = self.settings.periods_per_year.unwrap_or_else(|| self.calendar.days_per_year());
        let marks = &self.marks;
        let buy_hold = match (self.first_mark_price, marks.first().and_then(|(price, _)| *price)) {
            (Some(first), Some(last)) if first.raw() > 0 => Some(last.to_f64() / first.to_f64() - 1.0),
            _ => None,
        };
        let instruments = self.engine.instruments();
        let strategies: Vec<StrategyReport> = self
            .strategies
            .iter()
            .enumerate()
            .map(|(index, s)| {
                let account = &s.account;
                let unrealized = account.unrealized(marks);
                let net = account.realized.saturating_add(unrealized).saturating_sub(account.commission);
                let positions = account
                    .positions
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.qty != 0)
                    .filter_map(|(at, p)| Some((instruments.try_get(InstrumentId(at as u32))?.symbol.clone(), p.qty)))
                    .collect();
                let statistics = Statistics::new(&s.stats, &account.trades, buy_hold, periods_per_year);
                StrategyReport {
                    id: s.id.clone(),
                    plugin: s.label.clone(),
                    status: self.strategy_status(index).to_string(),
                    trades: statistics.trades,
                    win_rate_pct: statistics.win_rate_pct.unwrap_or(0.0),
                    realized_pnl: account.realized,
                    unrealized_pnl: unrealized,
                    commission: account.commission,
                    net_pnl: net,
                    return_pct: 100.0 * net.to_f64() / account.initial_cash.to_f64().max(f64::MIN_POSITIVE),
                    max_drawdown_pct: statistics.max_drawdown_pct,
                    sharpe: statistics.sharpe,
                    statistics,
                    orders: s.orders,
                    rejected: s.rejected,
                    fills: account.fills,
                    positions,
                    open_orders: s.open.len(),
                }
            })
            .collect();
        let initial_total =
            Money::from_raw(self.settings.initial_cash.raw().saturating_mul(self.strategies.len() as i64));
        let final_total =
            self.strategies.iter().fold(Money::ZERO, |sum, s| sum.saturating_add(s.account.equity(marks)));
        let components = self.component_reports();
        let failures: Vec<FailureReport> = self
            .assembly
            .lifecycle_order()
            .iter()
            .map(|&index| self.assembly.slot(index))
            .filter_map(|slot| match slot.state() {
                LifecycleState::Failed(cause) => Some(FailureReport::new(slot.component(), slot.label(), cause)),
                _ => None,
            })
            .collect();
        let ended_by = self.ended.as_ref().and_then(|error| match error {
            super::SessionError::Feed { component, plugin, cause }
            | super::SessionError::Matching { component, plugin, cause } => {
                Some(FailureReport::new(component, plugin, cause))
            }
            _ => None,
        });
        let all_trades = self.strategies.iter().fold(TradeStats::default(), |mut all, s| {
            all.merge(&s.account.trades);
            all
        });
        let total_statistics = Statistics::new(self.total_stats(), &all_trades, buy_hold, periods_per_year);
        let labels: BTreeMap<&ComponentId, &str> =
            self.assembly.slots().iter().map(|slot| (slot.component(), slot.label())).collect();
        SessionReport {
            mode: self.mode,
            events: self.events,
            bars: self.bars,
            venue_trades: self.venue_trades,
            periods_per_year,
            complete: self.ended.is_none(),
            interrupted: matches!(self.ended, Some(super::SessionError::Interrupted)),
            ended_by,
            failures,
            total: TotalReport {
                initial_equity: initial_total,
                final_equity: final_total,
                return_pct: total_statistics.return_pct,
                max_drawdown_pct: total_statistics.max_drawdown_pct,
                sharpe: total_statistics.sharpe,
                statistics: total_statistics,
            },
            strategies,
            risk: self
                .risk_chain
                .iter()
                .map(|l| RiskReport {
                    id: l.id.clone(),
                    plugin: l.label.clone(),
                    order: l.order,
                    rejections: l.rejections,
                })
                .collect(),
            components,
            indicators: self
                .hub
                .last_values()
                .into_iter()
                .map(|(component, values)| IndicatorReport {
                    id: component.id().to_owned(),
                    plugin: labels.get(component).copied().unwrap_or_default().to_owned(),
                    values,
                })
                .collect(),
            instruments: instruments.iter().map(|(_, instrument)| InstrumentReport::new(instrument)).collect(),
            bad_rows: self.bad_rows.clone(),
            feed: None,
            alerts: self.alerts.alerts.clone(),
            timing: TimingReport {
                elapsed_s: elapsed,
                events_per_s: self.events as f64 / elapsed.max(1e-9),
                changes: None,
            },
            curve: self.total_stats().curve().to_vec(),
            strategy_curves: self.strategies.iter().map(|s| (s.id.clone(), s.stats.curve().to_vec())).collect(),
        }
    }

    /// Every component in lifecycle order, with its metrics.
    fn component_reports(&self) -> Vec<ComponentReport> {
        self.assembly
            .lifecycle_order()
            .iter()
            .map(|&index| {
                let slot = self.assembly.slot(index);
                let mut metrics = slot_metrics(slot);
                match slot.kind() {
                    Kind::Strategy => {
                        if let Some(s) = self.strategies.iter().find(|s| s.slot == index) {
                            metrics.orders = Some(OrderCounts {
                                submitted: s.orders,
                                filled: s.account.fills,
                                rejected: s.rejected,
                            });
                        }
                    }
                    Kind::Risk => {
                        metrics.rejections = self.risk_chain.iter().find(|l| l.slot == index).map(|l| l.rejections);
                    }
                    Kind::Indicator | Kind::Feed | Kind::Matching => {}
                }
                ComponentReport {
                    id: slot.id().to_owned(),
                    kind: slot.kind(),
                    plugin: slot.label().to_owned(),
                    lazy: slot.lazy(),
                    initialized: slot.built(),
                    state: slot.state().to_string(),
                    params: slot.params().clone(),
                    metrics,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_reports_say_who_failed_where_and_how() {
        let component = ComponentId::new(Kind::Feed, "feed");
        let cause = FailureCause::Panicked { call: Call::NextEvent, message: "boom".to_owned() };
        let report = FailureReport::new(&component, "bars-csv@1.0.0", &cause);
        assert_eq!(report.to_string(), "feed feed (bars-csv@1.0.0) panicked in next_event: boom");
        assert!(report.panicked);
        let refused = FailureCause::Refused { call: Call::NextEvent, message: "cannot read x".to_owned() };
        assert_eq!(
            FailureReport::new(&component, "bars-csv@1.0.0", &refused).to_string(),
            "feed feed (bars-csv@1.0.0) failed in next_event: cannot read x"
        );
    }
}
