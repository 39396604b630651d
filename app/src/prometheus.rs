//! `tradsys run --metrics FILE`: per-component metrics in the Prometheus text exposition format
//! (version 0.0.4), ready for a node-exporter textfile collector or a push gateway.
//!
//! Every series carries `component` (config id), `kind`, `plugin` (name) and `version` labels.
//!
//! | metric | type | extra label | meaning |
//! |---|---|---|---|
//! | `tradsys_component_calls_total` | counter | `call` | calls into the component, per callback |
//! | `tradsys_component_errors_total` | counter | | calls that returned the component's own error |
//! | `tradsys_component_panics_total` | counter | | contained panics |
//! | `tradsys_component_denied_total` | counter | `capability` | calls refused for want of a capability |
//! | `tradsys_component_failed` | gauge | | 1 if the component ended the run failed |
//! | `tradsys_component_latency_seconds` | gauge | `quantile` (0.5, 0.99, 1) | sampled per-event call latency |
//! | `tradsys_component_latency_samples_total` | counter | | calls timed (one in 16) |
//! | `tradsys_component_allocated_bytes_total` | counter | | bytes the component's code allocated |
//! | `tradsys_component_freed_bytes_total` | counter | | bytes the component's code freed |
//! | `tradsys_component_live_bytes` | gauge | | allocated − freed |
//! | `tradsys_component_allocations_total` | counter | | allocations by the component's code |
//! | `tradsys_component_stage_seconds` | gauge | `stage` (load, init, start) | lifecycle stage durations |
//! | `tradsys_strategy_orders_total` | counter | `outcome` (submitted, filled, rejected) | strategies' orders |
//! | `tradsys_risk_checks_total` | counter | | orders a validator checked |
//! | `tradsys_risk_rejections_total` | counter | | orders a validator refused |
//! | `tradsys_indicator_updates_total` | counter | | indicator updates |
//! | `tradsys_session_events_total` | counter | | feed events processed (no component labels) |
//! | `tradsys_session_complete` | gauge | | 1 if the run reached the end of its feed |
//! | `tradsys_feed_connected` | gauge | `plugin` | a live feed: 1 if connected to its source |
//! | `tradsys_feed_reconnects_total` | counter | `plugin` | a live feed: times it reconnected |
//! | `tradsys_feed_longest_quiet_seconds` | gauge | `plugin` | a live feed: the longest wait for an event |

use std::fmt::Write as _;

use tradsys_core::session::{ComponentReport, SessionReport};

/// One metric family: its name, type and help, then its samples.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: Vec<(String, String)>,
}

impl Family {
    fn new(name: &'static str, kind: &'static str, help: &'static str) -> Family {
        Family { name, kind, help, samples: Vec::new() }
    }

    fn add(&mut self, labels: String, value: impl std::fmt::Display) {
        self.samples.push((labels, value.to_string()));
    }
}

/// Escapes a label value as the exposition format requires.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The labels every series of one component carries.
fn labels(component: &ComponentReport) -> String {
    let (plugin, version) = component.plugin.split_once('@').unwrap_or((component.plugin.as_str(), ""));
    format!(
        "component=\"{}\",kind=\"{}\",plugin=\"{}\",version=\"{}\"",
        escape(&component.id),
        component.kind.as_str(),
        escape(plugin),
        escape(version)
    )
}

fn seconds_from_micros(us: u64) -> f64 {
    us as f64 / 1e6
}

/// Renders a report's metrics as Prometheus text.
#[must_use]
pub fn render(report: &SessionReport) -> String {
    let mut calls = Family::new("tradsys_component_calls_total", "counter", "Calls into a component, per callback.");
    let mut errors =
        Family::new("tradsys_component_errors_total", "counter", "Calls that returned the component's own error.");
    let mut panics = Family::new("tradsys_component_panics_total", "counter", "Panics contained at the boundary.");
    let mut denied = Family::new(
        "tradsys_component_denied_total",
        "counter",
        "Calls a component made without the capability they need, refused.",
    );
    let mut failed = Family::new("tradsys_component_failed", "gauge", "1 if the component ended the run failed.");
    let mut latency =
        Family::new("tradsys_component_latency_seconds", "gauge", "Sampled latency of per-event calls, by quantile.");
    let mut samples = Family::new("tradsys_component_latency_samples_total", "counter", "Per-event calls timed.");
    let mut allocated =
        Family::new("tradsys_component_allocated_bytes_total", "counter", "Bytes allocated by the component's code.");
    let mut freed =
        Family::new("tradsys_component_freed_bytes_total", "counter", "Bytes freed by the component's code.");
    let mut live = Family::new("tradsys_component_live_bytes", "gauge", "Bytes allocated minus bytes freed.");
    let mut allocations =
        Family::new("tradsys_component_allocations_total", "counter", "Allocations by the component's code.");
    let mut stages = Family::new("tradsys_component_stage_seconds", "gauge", "Lifecycle stage durations.");
    let mut orders = Family::new("tradsys_strategy_orders_total", "counter", "Strategy orders, by outcome.");
    let mut checks = Family::new("tradsys_risk_checks_total", "counter", "Orders a validator checked.");
    let mut rejections = Family::new("tradsys_risk_rejections_total", "counter", "Orders a validator refused.");
    let mut updates = Family::new("tradsys_indicator_updates_total", "counter", "Indicator updates.");
    for component in &report.components {
        let base = labels(component);
        let m = &component.metrics;
        for (call, n) in &m.calls {
            calls.add(format!("{base},call=\"{call}\""), n);
        }
        errors.add(base.clone(), m.errors);
        panics.add(base.clone(), m.panics);
        for (capability, n) in &m.denied {
            denied.add(format!("{base},capability=\"{capability}\""), n);
        }
        let has_failed = report.failures.iter().any(|f| f.kind == component.kind && f.id == component.id);
        failed.add(base.clone(), u8::from(has_failed));
        if m.runtime.latency_samples > 0 {
            for (quantile, ns) in
                [("0.5", m.runtime.latency_p50_ns), ("0.99", m.runtime.latency_p99_ns), ("1", m.runtime.latency_max_ns)]
            {
                latency.add(format!("{base},quantile=\"{quantile}\""), ns as f64 / 1e9);
            }
        }
        samples.add(base.clone(), m.runtime.latency_samples);
        allocated.add(base.clone(), m.runtime.memory.allocated_bytes);
        freed.add(base.clone(), m.runtime.memory.freed_bytes);
        live.add(base.clone(), m.runtime.memory.live_bytes);
        allocations.add(base.clone(), m.runtime.memory.allocations);
        for (stage, us) in [("load", m.runtime.load_us), ("init", m.runtime.init_us), ("start", m.runtime.start_us)] {
            if let Some(us) = us {
                stages.add(format!("{base},stage=\"{stage}\""), seconds_from_micros(us));
            }
        }
        if let Some(counts) = m.orders {
            for (outcome, n) in
                [("submitted", counts.submitted), ("filled", counts.filled), ("rejected", counts.rejected)]
            {
                orders.add(format!("{base},outcome=\"{outcome}\""), n);
            }
        }
        if let Some(n) = m.checks {
            checks.add(base.clone(), n);
        }
        if let Some(n) = m.rejections {
            rejections.add(base.clone(), n);
        }
        if let Some(n) = m.updates {
            updates.add(base, n);
        }
    }
    let mut events = Family::new("tradsys_session_events_total", "counter", "Feed events processed.");
    events.add(String::new(), report.events);
    let mut complete = Family::new("tradsys_session_complete", "gauge", "1 if the run reached the end of its feed.");
    complete.add(String::new(), u8::from(report.complete));
    let mut alerts = Family::new("tradsys_alerts_total", "counter", "Budgets crossed, per component and measure.");
    for alert in &report.alerts {
        let labels = format!(
            "component=\"{}\",kind=\"{}\",measure=\"{}\"",
            escape(&alert.id),
            alert.kind.as_str(),
            alert.measure
        );
        alerts.add(labels, 1);
    }
    let mut connected = Family::new("tradsys_feed_connected", "gauge", "A live feed: 1 if connected to its source.");
    let mut reconnects = Family::new("tradsys_feed_reconnects_total", "counter", "A live feed: times it reconnected.");
    let mut quiet =
        Family::new("tradsys_feed_longest_quiet_seconds", "gauge", "A live feed: the longest wait for an event.");
    if let Some(feed) = &report.feed {
        let label = format!("plugin=\"{}\"", escape(&feed.plugin));
        connected.add(label.clone(), u8::from(feed.connected == Some(true)));
        reconnects.add(label.clone(), feed.reconnects);
        quiet.add(label, feed.longest_quiet_ms as f64 / 1000.0);
    }
    let mut holds =
        Family::new("tradsys_change_hold_seconds", "gauge", "How long run-time changes held the event loop.");
    if let Some(changes) = &report.timing.changes {
        for (quantile, us) in [("0.5", changes.p50_us), ("0.99", changes.p99_us), ("1", changes.max_us)] {
            holds.add(format!("quantile=\"{quantile}\""), us / 1e6);
        }
    }
    let mut out = String::new();
    for family in [
        calls,
        errors,
        panics,
        denied,
        failed,
        latency,
        samples,
        allocated,
        freed,
        live,
        allocations,
        stages,
        orders,
        checks,
        rejections,
        updates,
        events,
        complete,
        alerts,
        connected,
        reconnects,
        quiet,
        holds,
    ] {
        if family.samples.is_empty() {
            continue;
        }
        let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
        let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind);
        for (labels, value) in &family.samples {
            if labels.is_empty() {
                let _ = writeln!(out, "{} {value}", family.name);
            } else {
                let _ = writeln!(out, "{}{{{labels}}} {value}", family.name);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
