//! The failure policy, proven with the faulty plugins of `test-faulty`: one component of every kind
//! panics on cue in each of its callbacks, and the process never aborts.
//!
//! | kind | panics during the run | panics at start-up |
//! |---|---|---|
//! | strategy | fails alone: its orders are cancelled, the others run on | the session does not start |
//! | risk | fails closed: later orders are refused, a failed review halts the strategy | as above |
//! | indicator | fails; the strategies reading it are halted with the reason | as above |
//! | feed | ends the run; the report is marked incomplete | as above |
//! | matching | ends the run; the report is marked incomplete | as above |

use tradsys::configure::load_checked;
use tradsys_core::config::ConfigFile;
use tradsys_core::registry::Registry;
use tradsys_core::session::{AlertMeasure, RunOutcome, SessionError, SessionReport, StrategyReport};

fn checked(config: &str) -> tradsys::configure::CheckedConfig {
    let registry = Registry::discover().unwrap();
    let text: &'static str = Box::leak(config.to_owned().into_boxed_str());
    load_checked(&ConfigFile::Embedded { name: "faults.toml", text }, &[], &registry)
        .unwrap_or_else(|errors| panic!("{}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")))
}

/// Starts and runs a session; a start-up failure is returned as the error text.
fn run(config: &str) -> Result<RunOutcome, String> {
    let registry = Registry::discover().unwrap();
    let session = tradsys::run::start_session(&checked(config), &registry).map_err(|f| f.to_string())?;
    Ok(session.run(&mut tradsys_core::session::NoObserver))
}

fn bars_feed() -> String {
    "[feed]\nplugin = \"faulty-feed\"\nparams = { count = 20 }\n".to_owned()
}

fn flow_feed() -> String {
    "[feed]\nplugin = \"faulty-feed\"\nparams = { count = 40, mode = \"order-flow\" }\n".to_owned()
}

fn strategy(report: &SessionReport, id: &str) -> StrategyReport {
    report.strategies.iter().find(|s| s.id == id).unwrap().clone()
}

#[test]
fn a_strategy_that_panics_in_any_callback_fails_alone() {
    for (call, feed) in [
        ("on_bar", bars_feed()),
        ("on_fill", bars_feed()),
        ("on_order_update", bars_feed()),
        ("on_trade", flow_feed()),
        ("on_quote", flow_feed()),
    ] {
        // Order updates come from its own cancels; in every other case it keeps orders resting, to
        // show they are cancelled when it fails.
        let keep = call != "on_order_update";
        let outcome = run(&format!(
            "{feed}[strategies.bad]\nplugin = \"faulty-strategy\"\nparams = {{ panic_in = \"{call}\", after = 3, keep_resting = {keep} }}\n\
             [strategies.good]\nplugin = \"faulty-strategy\"\nparams = {{ keep_resting = true }}\n"
        ))
        .unwrap();
        assert!(outcome.error.is_none(), "{call}: {:?}", outcome.error);
        let report = outcome.report;
        assert!(report.complete, "{call}");
        let bad = strategy(&report, "bad");
        assert!(
            bad.status.starts_with(&format!("failed: panicked in {call}: faulty component panicked on cue")),
            "{call}: {}",
            bad.status
        );
        assert_eq!(bad.open_orders, 0, "{call}: a failed strategy's resting orders are cancelled");
        let good = strategy(&report, "good");
        assert_eq!(good.status, "running", "{call}");
        assert!(
            good.orders > bad.orders && good.open_orders > 0,
            "{call}: the others run on ({} vs {})",
            good.orders,
            bad.orders
        );
        assert_eq!(report.failures.len(), 1, "{call}: {:?}", report.failures);
        let failure = &report.failures[0];
        assert_eq!((failure.id.as_str(), failure.call, failure.panicked), ("bad", call, true), "{call}");
        let metrics = &report.components.iter().find(|c| c.id == "bad").unwrap().metrics;
        assert_eq!(metrics.panics, 1, "{call}");
        assert_eq!(metrics.calls[call], 4, "{call}: three calls succeed, the fourth panics, none follow");
    }
}

#[test]
fn a_validator_that_panics_checking_fails_closed() {
    let report = run(&format!(
        "{}[risk.r]\nplugin = \"faulty-risk\"\nparams = {{ panic_in = \"check\", after = 4 }}\n\
         [strategies.s]\nplugin = \"faulty-strategy\"\n",
        bars_feed()
    ))
    .unwrap()
    .report;
    let s = strategy(&report, "s");
    assert_eq!(s.status, "running", "the strategy runs on");
    assert!(s.fills <= 4, "no order passes the chain after the validator failed: {} fills", s.fills);
    assert_eq!(s.rejected, s.orders - 4, "every order after the failure is refused");
    assert_eq!(report.failures[0].call, "check");
}

#[test]
fn a_validator_that_panics_reviewing_halts_the_strategy_it_reviewed() {
    let report = run(&format!(
        "{}[risk.r]\nplugin = \"faulty-risk\"\nparams = {{ panic_in = \"review\", after = 2 }}\n\
         [strategies.s]\nplugin = \"faulty-strategy\"\n",
        bars_feed()
    ))
    .unwrap()
    .report;
    assert!(
        strategy(&report, "s").status.starts_with("halted by risk:r: validator failed: panicked: faulty component")
    );
    assert_eq!(report.bars, 20, "the run went on");
}

#[test]
fn a_validator_that_panics_saying_whether_it_reviews_refuses_everything() {
    let report = run(&format!(
        "{}[risk.r]\nplugin = \"faulty-risk\"\nparams = {{ panic_in = \"reviews\" }}\n[strategies.s]\nplugin = \"faulty-strategy\"\n",
        bars_feed()
    ))
    .unwrap()
    .report;
    let s = strategy(&report, "s");
    assert_eq!((s.fills, s.rejected), (0, s.orders));
    assert_eq!(report.failures[0].call, "reviews");
}

#[test]
fn an_indicator_that_panics_halts_the_strategies_reading_it() {
    let report = run(&format!(
        "{}[strategies.reader]\nplugin = \"faulty-strategy\"\nparams = {{ indicator_panic_in = \"update\", keep_resting = true }}\n\
         [strategies.other]\nplugin = \"faulty-strategy\"\n",
        bars_feed()
    ))
    .unwrap()
    .report;
    let indicator = "faulty-indicator(after=0,panic_in=\"update\")@FLT";
    let reader = strategy(&report, "reader");
    assert!(
        reader.status.starts_with(&format!("halted: indicator {indicator} failed: panicked in update")),
        "{}",
        reader.status
    );
    assert_eq!(reader.open_orders, 0, "a halted strategy's orders are cancelled");
    assert_eq!(strategy(&report, "other").status, "running");
    let component = report.components.iter().find(|c| c.id == indicator).unwrap();
    assert!(component.state.starts_with("failed: panicked in update"), "{}", component.state);
    assert_eq!(report.failures.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(), [indicator]);
}

#[test]
fn a_configured_indicator_that_panics_fails_alone() {
    let report = run(&format!(
        "{}[indicators.count]\nplugin = \"faulty-indicator\"\nlazy = false\nparams = {{ panic_in = \"update\", after = 5 }}\n\
         [strategies.s]\nplugin = \"faulty-strategy\"\n",
        bars_feed()
    ))
    .unwrap()
    .report;
    assert_eq!(strategy(&report, "s").status, "running");
    let count = report.components.iter().find(|c| c.id == "count").unwrap();
    assert_eq!(count.metrics.updates, Some(6), "five updates, then the one that panicked; none after");
    assert_eq!(report.indicators.iter().find(|i| i.id == "count").unwrap().values, [None], "no stale value");
}

#[test]
fn a_feed_that_panics_ends_the_run_with_an_incomplete_report() {
    for (params, call, internal) in [
        ("panic_in = \"next_event\", after = 7", "next_event", true),
        ("error_after = 7", "next_event", false),
        ("undeclared_after = 7", "next_event", true),
    ] {
        let outcome = run(&format!(
            "[feed]\nplugin = \"faulty-feed\"\nparams = {{ count = 20, {params} }}\n[strategies.s]\nplugin = \"faulty-strategy\"\n"
        ))
        .unwrap();
        let error = outcome.error.expect(params);
        assert!(matches!(error, SessionError::Feed { .. }), "{params}: {error}");
        assert_eq!(
            error.is_internal(),
            internal,
            "{params}: a panic or a broken contract is a bug, a refusal is input"
        );
        assert!(!outcome.report.complete, "{params}");
        assert_eq!(outcome.report.events, 7, "{params}: the events before the failure were processed");
        let ended = outcome.report.ended_by.expect(params);
        assert_eq!((ended.id.as_str(), ended.call), ("feed", call), "{params}");
        if params.starts_with("undeclared") {
            assert!(ended.message.contains("instrument id 9999, which it never declared"), "{}", ended.message);
        }
    }
}

#[test]
fn a_matching_algorithm_that_panics_ends_the_run_with_an_incomplete_report() {
    let outcome = run(&format!(
        "{}[matching]\nplugin = \"faulty-matching\"\nparams = {{ panic_in = \"match_level\", after = 3 }}\n[strategies.s]\nplugin = \"faulty-strategy\"\n",
        flow_feed()
    ))
    .unwrap();
    let error = outcome.error.expect("the run ends");
    assert!(matches!(error, SessionError::Matching { .. }) && error.is_internal(), "{error}");
    assert!(
        error.to_string().contains("panicked in execute: faulty component panicked on cue in match_level"),
        "{error}"
    );
    assert!(!outcome.report.complete);
    assert!(outcome.report.events < 40, "no command reached the broken book after the panic");
}

#[test]
fn a_panic_in_any_start_up_call_stops_the_session_from_starting_and_names_the_component() {
    let cases: Vec<(String, &str)> = vec![
        (
            format!(
                "{}[strategies.s]\nplugin = \"faulty-strategy\"\nparams = {{ panic_in = \"init\" }}\n",
                bars_feed()
            ),
            "strategy s (faulty-strategy@1.0.0) failed in init",
        ),
        (
            format!(
                "{}[strategies.s]\nplugin = \"faulty-strategy\"\nparams = {{ panic_in = \"start\" }}\n",
                bars_feed()
            ),
            "strategy s (faulty-strategy@1.0.0) failed in start",
        ),
        (
            format!(
                "{}[strategies.s]\nplugin = \"faulty-strategy\"\nparams = {{ indicator_panic_in = \"build\" }}\n",
                bars_feed()
            ),
            "(faulty-indicator@1.0.0) failed in build",
        ),
        (
            format!("{}[risk.r]\nplugin = \"faulty-risk\"\nparams = {{ panic_in = \"start\" }}\n", bars_feed()),
            "risk r (faulty-risk@1.0.0) failed in start",
        ),
        (
            format!(
                "{}[indicators.i]\nplugin = \"faulty-indicator\"\nlazy = false\nparams = {{ panic_in = \"init\" }}\n",
                bars_feed()
            ),
            "indicator i (faulty-indicator@1.0.0) failed in init",
        ),
        (
            format!(
                "{}[strategies.s]\nplugin = \"faulty-strategy\"\nparams = {{ indicator_panic_in = \"output_names\" }}\n",
                bars_feed()
            ),
            "failed in output_names",
        ),
        (
            format!(
                "{}[strategies.s]\nplugin = \"faulty-strategy\"\nparams = {{ indicator_panic_in = \"start\" }}\n",
                bars_feed()
            ),
            "(faulty-indicator@1.0.0) failed in start",
        ),
        (
            "[feed]\nplugin = \"faulty-feed\"\nparams = { panic_in = \"data\" }\n".to_owned(),
            "feed feed (faulty-feed@1.0.0) failed in data",
        ),
        (
            "[feed]\nplugin = \"faulty-feed\"\nparams = { panic_in = \"init\" }\n".to_owned(),
            "feed feed (faulty-feed@1.0.0) failed in init",
        ),
    ];
    for (config, expected) in cases {
        let error = run(&config).map(|_| ()).unwrap_err();
        assert!(error.contains(expected), "expected {expected:?} in: {error}");
        assert!(error.contains("faulty component panicked on cue"), "{error}");
    }
}

#[test]
fn panics_while_stopping_unloading_or_dropping_are_contained() {
    for call in ["stop", "unload", "drop"] {
        // `config check` builds and drops eager components, so a drop panic there is a config error
        // (see below); an indicator built on request is dropped only at the end of the run.
        let eager = if call == "drop" { "" } else { call };
        let outcome = run(&format!(
            "{}[strategies.s]\nplugin = \"faulty-strategy\"\nparams = {{ panic_in = \"{eager}\", indicator_panic_in = \"{call}\" }}\n\
             [risk.r]\nplugin = \"faulty-risk\"\nparams = {{ panic_in = \"{eager}\" }}\n",
            bars_feed()
        ))
        .unwrap();
        assert!(outcome.error.is_none() && outcome.report.complete, "{call}");
        if call == "stop" {
            let failed: Vec<&str> = outcome.report.failures.iter().map(|f| f.id.as_str()).collect();
            assert_eq!(
                failed,
                ["r", "faulty-indicator(after=0,panic_in=\"stop\")@FLT", "s"],
                "a failed stop is recorded"
            );
        }
    }
}

#[test]
fn a_plugin_whose_parameter_or_build_code_panics_is_a_config_error_naming_it() {
    let registry = Registry::discover().unwrap();
    for (cue, expected) in [
        ("params", "the plugin panicked reading its parameters: faulty parameters panicked while decoding"),
        ("build", "panicked while building: faulty component panicked on cue in build"),
        ("drop", "panicked while dropping a test build: faulty component panicked on cue in drop"),
    ] {
        let text: &'static str = Box::leak(
            format!("[feed]\nplugin = \"faulty-feed\"\n[strategies.s]\nplugin = \"faulty-strategy\"\nparams = {{ panic_in = \"{cue}\" }}\n")
                .into_boxed_str(),
        );
        let errors = load_checked(&ConfigFile::Embedded { name: "faults.toml", text }, &[], &registry).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(text.iter().any(|e| e.contains("key strategies.s.params") && e.contains(expected)), "{text:#?}");
    }
    let text = "[feed]\nplugin = \"faulty-feed\"\n[matching]\nplugin = \"faulty-matching\"\nparams = { panic_in = \"build\" }\n";
    let errors = load_checked(&ConfigFile::Embedded { name: "faults.toml", text }, &[], &registry).unwrap_err();
    assert!(
        errors[0].to_string().contains("key matching.params: matching faulty-matching@1.0.0: panicked while building"),
        "{}",
        errors[0]
    );
}

#[test]
fn an_order_rate_budget_quarantines_a_runaway_strategy_and_not_a_calm_one() {
    // faulty-strategy sends two orders per one-minute bar: 1/30 of an order per second.
    let config = |limit: f64| {
        format!(
            "{}[strategies.busy]\nplugin = \"faulty-strategy\"\n[strategies.other]\nplugin = \"faulty-strategy\"\n\
             [alerts]\ncheck_every = 5\n[alerts.strategies.busy]\norder_rate = {limit}\nquarantine = true\n",
            bars_feed()
        )
    };
    let report = run(&config(0.05)).unwrap().report;
    assert!(report.alerts.is_empty(), "{:?}", report.alerts);
    assert_eq!(strategy(&report, "busy").orders, strategy(&report, "other").orders);

    let report = run(&config(0.02)).unwrap().report;
    assert_eq!(report.alerts.len(), 1, "{:?}", report.alerts);
    let alert = &report.alerts[0];
    assert_eq!((alert.id.as_str(), alert.measure, alert.quarantined), ("busy", AlertMeasure::OrderRate, true));
    // The check after the fifth event sees the orders of the first four bars (the fifth bar's are
    // still intents) over the four minutes since the first event.
    assert_eq!(alert.at_event, 5);
    assert!((alert.value - 8.0 / 240.0).abs() < 1e-12, "{}", alert.value);
    let (busy, other) = (strategy(&report, "busy"), strategy(&report, "other"));
    assert_eq!((busy.orders, busy.open_orders), (8, 0), "stopped at the check, its resting orders cancelled");
    // Two orders per bar; the last bar's are never sent (no bar follows to fill them).
    assert_eq!(other.orders, 38, "the other strategy ran on");
}
