//! Alerts: per-component budgets ([`AlertsConfig`]), checked every `alerts.check_every` events and
//! when the run ends. Crossing a budget raises one alert per component and measure (a `tracing`
//! warning and an entry in the report's `alerts`), and quarantines the component when its budget
//! says so: it is stopped (a strategy's resting orders are cancelled first), so a validator then
//! refuses every order (fail closed) and an indicator's readers see no values until it restarts.
//! The feed and the matching engine have no budgets: stopping either would end the run. The feed
//! has one alert of its own, `feed_quiet_ms` (`feed_watch.rs`), which never quarantines.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Serialize;

use super::{Session, SessionObserver};
use crate::config::{AlertsConfig, Budget};
use crate::factory::LifecycleState;
use crate::matching::MatchingAlgorithm;
use crate::plugin::Kind;
use crate::types::Timestamp;

/// What a budget limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertMeasure {
    /// 99th percentile call latency, µs.
    LatencyP99Us,
    /// Errors per call.
    ErrorRate,
    /// Panics.
    Panics,
    /// Refused orders per order (strategies).
    RejectRate,
    /// Orders per second of session time, between two checks (strategies).
    OrderRate,
    /// Milliseconds of wall clock without an event from a live feed.
    QuietMs,
}

impl fmt::Display for AlertMeasure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AlertMeasure::LatencyP99Us => "latency_p99_us",
            AlertMeasure::ErrorRate => "error_rate",
            AlertMeasure::Panics => "panics",
            AlertMeasure::RejectRate => "reject_rate",
            AlertMeasure::OrderRate => "order_rate",
            AlertMeasure::QuietMs => "quiet_ms",
        })
    }
}

/// One crossed budget.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    /// The component's kind.
    pub kind: Kind,
    /// Its id.
    pub id: String,
    /// `name@version`.
    pub plugin: String,
    /// What crossed its budget.
    pub measure: AlertMeasure,
    /// The measured value.
    pub value: f64,
    /// The budget.
    pub budget: f64,
    /// Events processed when it was raised.
    pub at_event: u64,
    /// Whether the component was quarantined (stopped) for it.
    pub quarantined: bool,
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({}): {} {} over its budget {}{}",
            self.kind,
            self.id,
            self.plugin,
            self.measure,
            self.value,
            self.budget,
            if self.quarantined { "; quarantined" } else { "" }
        )
    }
}

/// The budgets and the alerts raised so far.
#[derive(Debug, Default)]
pub(super) struct AlertBook {
    pub(super) config: AlertsConfig,
    raised: BTreeSet<(Kind, String, AlertMeasure)>,
    pub(super) alerts: Vec<Alert>,
    pub(super) until_check: u64,
    /// Some budget is configured (else no event pays for the countdown).
    enabled: bool,
    /// The session time of the last check (of the first event, before any): where the order-rate
    /// window of a strategy not seen at that check starts.
    window_start: Option<Timestamp>,
    /// Per strategy slot: its order count at the last check.
    orders_at_check: BTreeMap<usize, u64>,
}

impl AlertBook {
    pub(super) fn new(config: AlertsConfig) -> AlertBook {
        let until_check = config.check_every.max(1);
        let enabled = config.all.is_some()
            || !config.strategies.is_empty()
            || !config.risk.is_empty()
            || !config.indicators.is_empty();
        AlertBook { config, until_check, enabled, ..AlertBook::default() }
    }

    /// Whether any budget is configured (no checks run otherwise).
    pub(super) fn active(&self) -> bool {
        self.enabled
    }
}

/// The measures of one component a budget judges.
struct Measured {
    calls: u64,
    errors: u64,
    panics: u64,
    latency_p99_us: Option<f64>,
    orders: u64,
    rejected: u64,
    /// Orders per second of session time since the last check (`None` when no time passed).
    order_rate: Option<f64>,
}

/// The budget's crossings for these measures: (measure, value, budget).
fn crossings(budget: &Budget, m: &Measured) -> Vec<(AlertMeasure, f64, f64)> {
    let mut out = Vec::new();
    if let (Some(limit), Some(p99)) = (budget.latency_p99_us, m.latency_p99_us)
        && m.calls >= budget.min_calls
        && p99 > limit
    {
        out.push((AlertMeasure::LatencyP99Us, p99, limit));
    }
    if let Some(limit) = budget.error_rate
        && m.calls >= budget.min_calls.max(1)
    {
        let rate = m.errors as f64 / m.calls as f64;
        if rate > limit {
            out.push((AlertMeasure::ErrorRate, rate, limit));
        }
    }
    if let Some(limit) = budget.panics
        && m.panics > limit
    {
        out.push((AlertMeasure::Panics, m.panics as f64, limit as f64));
    }
    if let Some(limit) = budget.reject_rate
        && m.orders >= budget.min_calls.max(1)
    {
        let rate = m.rejected as f64 / m.orders as f64;
        if rate > limit {
            out.push((AlertMeasure::RejectRate, rate, limit));
        }
    }
    if let (Some(limit), Some(rate)) = (budget.order_rate, m.order_rate)
        && rate > limit
    {
        out.push((AlertMeasure::OrderRate, rate, limit));
    }
    out
}

impl<M: MatchingAlgorithm> Session<M> {
    /// Counts one event towards the next check; checks when due.
    #[inline]
    pub(super) fn tick_alerts(&mut self, observer: &mut dyn SessionObserver) {
        if !self.alerts.enabled {
            return;
        }
        if self.alerts.window_start.is_none() {
            self.alerts.window_start = Some(self.now);
        }
        if self.alerts.until_check > 1 {
            self.alerts.until_check -= 1;
            return;
        }
        self.alerts.until_check = self.alerts.config.check_every.max(1);
        self.check_alerts(observer);
    }

    /// Judges every component against its budget; raises (and quarantines) on new crossings.
    pub(super) fn check_alerts(&mut self, observer: &mut dyn SessionObserver) {
        let window_start = self.alerts.window_start.unwrap_or(self.now);
        #[allow(clippy::cast_precision_loss)]
        let window_seconds = (self.now.0 - window_start.0) as f64 / 1e9;
        for slot_index in 0..self.assembly.slots().len() {
            let slot = self.assembly.slot(slot_index);
            let Some(budget) = self.alerts.config.budget_of(slot.kind(), slot.id()).cloned() else { continue };
            if !slot.built() {
                continue;
            }
            let snapshot = slot.meter().snapshot();
            let runtime = self.strategies.iter().position(|s| s.slot == slot_index);
            let orders = runtime.map_or(0, |i| self.strategies[i].orders);
            let before = self.alerts.orders_at_check.insert(slot_index, orders).unwrap_or(0);
            let measured = Measured {
                calls: snapshot.nonzero_calls().map(|(_, n)| n).sum(),
                errors: snapshot.errors,
                panics: snapshot.panics,
                latency_p99_us: (snapshot.latency.samples > 0).then(|| snapshot.latency.p99_ns as f64 / 1000.0),
                orders,
                rejected: runtime.map_or(0, |i| self.strategies[i].rejected),
                #[allow(clippy::cast_precision_loss)]
                order_rate: (runtime.is_some() && window_seconds > 0.0)
                    .then(|| orders.saturating_sub(before) as f64 / window_seconds),
            };
            let (kind, id, plugin) = (slot.kind(), slot.id().to_owned(), slot.label().to_owned());
            let mut quarantine = false;
            for (measure, value, limit) in crossings(&budget, &measured) {
                if !self.alerts.raised.insert((kind, id.clone(), measure)) {
                    continue;
                }
                let alert = Alert {
                    kind,
                    id: id.clone(),
                    plugin: plugin.clone(),
                    measure,
                    value,
                    budget: limit,
                    at_event: self.events,
                    quarantined: budget.quarantine,
                };
                tracing::warn!(
                    component = %slot.component(),
                    plugin = %plugin,
                    measure = %measure,
                    value,
                    budget = limit,
                    quarantine = budget.quarantine,
                    "alert: budget crossed: {measure} {value} over its budget {limit}{}",
                    if budget.quarantine { "; quarantining the component" } else { "" }
                );
                observer.activity(self.now, &super::Activity::Alert(&alert));
                self.alerts.alerts.push(alert);
                quarantine |= budget.quarantine;
            }
            if quarantine && *self.assembly.slot(slot_index).state() == LifecycleState::Started {
                if let Some(index) = runtime {
                    self.withdraw(index, observer);
                }
                if let Err(error) = self.assembly.stop(slot_index) {
                    tracing::warn!(%error, "a quarantined component failed to stop");
                }
            }
        }
        self.alerts.window_start = Some(self.now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> Budget {
        Budget {
            latency_p99_us: Some(50.0),
            error_rate: Some(0.1),
            panics: Some(0),
            reject_rate: Some(0.5),
            order_rate: Some(2.0),
            min_calls: 10,
            quarantine: false,
        }
    }

    #[test]
    fn each_measure_crosses_only_past_its_budget_and_rates_wait_for_enough_calls() {
        let quiet = Measured {
            calls: 100,
            errors: 10,
            panics: 0,
            latency_p99_us: Some(50.0),
            orders: 10,
            rejected: 5,
            order_rate: Some(2.0),
        };
        assert!(crossings(&budget(), &quiet).is_empty(), "at the budget is within it");
        let loud = Measured {
            calls: 100,
            errors: 11,
            panics: 1,
            latency_p99_us: Some(50.5),
            orders: 10,
            rejected: 6,
            order_rate: Some(2.5),
        };
        let measures: Vec<AlertMeasure> = crossings(&budget(), &loud).into_iter().map(|c| c.0).collect();
        assert_eq!(
            measures,
            [
                AlertMeasure::LatencyP99Us,
                AlertMeasure::ErrorRate,
                AlertMeasure::Panics,
                AlertMeasure::RejectRate,
                AlertMeasure::OrderRate
            ]
        );
        let early = Measured {
            calls: 9,
            errors: 9,
            panics: 0,
            latency_p99_us: Some(900.0),
            orders: 9,
            rejected: 9,
            order_rate: None,
        };
        assert!(crossings(&budget(), &early).is_empty(), "too few calls to judge a rate or a percentile");
    }
}
