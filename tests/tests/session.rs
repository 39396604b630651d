//! Sessions across crates: real plugins from the registry, a scripted probe strategy from this crate.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use semver::VersionReq;
use tradsys::configure::load_checked;
use tradsys::matching::MatchingRecipe;
use tradsys_core::config::ConfigFile;
use tradsys_core::registry::Registry;
use tradsys_core::session::portfolio::RoundTrip;
use tradsys_core::session::{SessionObserver, SessionReport};
use tradsys_core::types::{Money, Timestamp};
use tradsys_tests::probe::log_of;

#[derive(Default)]
struct Recorder {
    trips: Vec<RoundTrip>,
    equity: Vec<(Timestamp, Money)>,
}

impl SessionObserver for Recorder {
    fn equity(&mut self, ts: Timestamp, _bar: u64, total: Money, _per: &[Money], _drawdown: f64) {
        self.equity.push((ts, total));
    }
    fn round_trip(&mut self, trip: &RoundTrip) {
        self.trips.push(trip.clone());
    }
}

/// Writes a temp file; each call gets its own path, so tests running in parallel never see one
/// another's half-written files.
fn file(name: &str, text: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let unique = NEXT.fetch_add(1, Ordering::Relaxed);
    let path: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("session-{unique}-{name}"));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn run(config: String) -> (SessionReport, Recorder) {
    let registry = Registry::discover().unwrap();
    let text: &'static str = Box::leak(config.into_boxed_str());
    let checked = load_checked(&ConfigFile::Embedded { name: "test.toml", text }, &[], &registry)
        .unwrap_or_else(|errors| panic!("{}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")));
    let session = tradsys::run::start_session(&checked, &registry).unwrap();
    let mut recorder = Recorder::default();
    let report = session.run(&mut recorder).into_result().unwrap();
    (report, recorder)
}

/// Five bars whose opens are 1.1, 1.2, 1.3, 1.4, 1.5 (tick 0.1, lot 10).
fn five_bars() -> String {
    file(
        "bars.csv",
        "time,open,high,low,close,volume
2024-01-01 00:00:00,1.1,1.1,1.1,1.1,1
2024-01-01 01:00:00,1.2,1.2,1.2,1.2,1
2024-01-01 02:00:00,1.3,1.3,1.3,1.3,1
2024-01-01 03:00:00,1.4,1.4,1.4,1.4,1
2024-01-01 04:00:00,1.5,1.5,1.5,1.5,1
",
    )
}

fn bar_config(extra: &str) -> String {
    format!(
        "[instruments.T]\ntick = \"0.1\"\nlot_size = 10\n[feed]\nplugin = \"bars-csv\"\nparams = {{ path = \"{}\", symbol = \"T\" }}\n{extra}",
        five_bars()
    )
}

#[test]
fn a_market_order_decided_on_a_bar_fills_at_the_next_open() {
    let (report, recorder) = run(bar_config(
        "[strategies.p1]\nplugin = \"test-probe\"\nparams = { script = [\"bar 0 buy 5\", \"bar 2 sell 5\"] }\n",
    ));
    let log = log_of("p1");
    assert_eq!(log, ["submit 1 buy 5", "fill 1 buy 5@1.2", "submit 2 sell 5", "fill 2 sell 5@1.4"], "{log:?}");
    let trip = &recorder.trips[0].trip;
    assert_eq!(
        (trip.entry_price.to_string(), trip.exit_price.to_string(), trip.entry_bar, trip.exit_bar),
        ("1.2".into(), "1.4".into(), 1, 3)
    );
    assert_eq!(trip.pnl.to_string(), "10", "(1.4 - 1.2) x 5 lots x 10");
    assert_eq!(report.strategies[0].realized_pnl.to_string(), "10");
    assert_eq!(recorder.equity.len(), 5, "one mark per bar");
}

#[test]
fn spread_and_depth_shape_bar_mode_fills() {
    let (_, _) = run(bar_config(
        "[session]\nbars = { spread_ticks = 2, depth = 3 }\n[strategies.p2]\nplugin = \"test-probe\"\nparams = { script = [\"bar 0 buy 5\"] }\n",
    ));
    let log = log_of("p2");
    assert_eq!(
        log,
        ["submit 1 buy 5", "fill 1 buy 3@1.3", "update 1 expired (2 left)"],
        "ask at open + 1 tick, 3 lots deep: {log:?}"
    );
}

#[test]
fn a_risk_refusal_reaches_the_strategy_naming_the_validator() {
    let (report, _) = run(bar_config(
        "[risk.size]\nplugin = \"max-order-qty\"\nparams = { max_qty = 2 }\n[strategies.p3]\nplugin = \"test-probe\"\nparams = { script = [\"bar 0 buy 5\", \"bar 1 buy 2\"] }\n",
    ));
    let log = log_of("p3");
    assert_eq!(log[1], "update 1 rejected by risk:size: qty 5 > max_qty 2 (5 left)", "{log:?}");
    assert!(log.contains(&"fill 2 buy 2@1.3".to_owned()), "{log:?}");
    assert_eq!(report.risk[0].rejections, 1);
    assert_eq!(report.strategies[0].rejected, 1);
}

#[test]
fn a_validator_that_panics_checking_fails_closed() {
    let (report, _) = run(bar_config(
        "[risk.fragile]\nplugin = \"test-fragile-risk\"\nparams = { checks_before_panic = 1 }\n\
         [strategies.f1]\nplugin = \"test-probe\"\nparams = { script = [\"bar 0 buy 1\", \"bar 1 buy 1\", \"bar 2 buy 1\"] }\n",
    ));
    let log = log_of("f1");
    assert_eq!(log[..2], ["submit 1 buy 1", "fill 1 buy 1@1.2"], "{log:?}");
    assert!(
        log[3]
            .starts_with("update 2 rejected by risk:fragile: validator failed: panicked: fragile check gave way (at "),
        "{log:?}"
    );
    assert!(
        log[5].starts_with(
            "update 3 rejected by risk:fragile: validator not running (failed: panicked in check: fragile check gave way"
        ),
        "a failed validator refuses every later order instead of letting it through: {log:?}"
    );
    assert_eq!(report.strategies[0].positions, [("T".to_owned(), 1)]);
    assert_eq!(report.risk[0].rejections, 2);
}

#[test]
fn a_validator_that_panics_reviewing_halts_the_strategies_it_watched() {
    let (report, _) = run(bar_config(
        "[risk.fragile]\nplugin = \"test-fragile-risk\"\nparams = { reviews_before_panic = 2 }\n\
         [strategies.f2]\nplugin = \"test-probe\"\nparams = { script = [\"bar 3 buy 1\"] }\n",
    ));
    let status = &report.strategies[0].status;
    assert!(
        status.starts_with("halted by risk:fragile: validator failed: panicked: fragile review gave way"),
        "{status}"
    );
    let log = log_of("f2");
    assert!(log[1].starts_with("update 1 rejected by session: strategy halted"), "{log:?}");
    assert_eq!(report.bars, 5, "the run went on");
}

#[test]
fn an_order_flow_file_without_rows_runs_to_an_empty_report() {
    // No row means no instrument: the final mark must not ask validators to review one.
    let orders = file("empty-flow.csv", "action,id,symbol,side,type,price,qty,tif,owner\n");
    let (report, _) = run(format!(
        "[feed]\nplugin = \"order-flow\"\nparams = {{ path = \"{orders}\" }}\n\
         [strategies.mm]\nplugin = \"market-maker\"\n\
         [risk.kill]\nplugin = \"kill-switch\"\nparams = {{ max_loss = \"100\" }}\n"
    ));
    assert_eq!((report.events, report.venue_trades), (0, 0));
    assert_eq!(report.strategies[0].status, "running");
}

#[test]
fn the_kill_switch_cancels_open_orders_and_refuses_new_ones() {
    let bars = file(
        "falling.csv",
        "time,open,high,low,close
2024-01-01 00:00:00,10,10,10,10
2024-01-01 01:00:00,10,10,10,10
2024-01-01 02:00:00,9,9,9,9
2024-01-01 03:00:00,8,8,8,8
2024-01-01 04:00:00,7,7,7,7
",
    );
    let (report, _) = run(format!(
        "[feed]\nplugin = \"bars-csv\"\nparams = {{ path = \"{bars}\", symbol = \"K\" }}\n\
         [risk.kill]\nplugin = \"kill-switch\"\nparams = {{ max_loss = \"5\" }}\n\
         [strategies.p4]\nplugin = \"test-probe\"\nparams = {{ script = [\"bar 0 buy 3\", \"bar 0 buy 1 limit 1\", \"bar 3 buy 1\"] }}\n"
    ));
    let log = log_of("p4");
    assert!(log.contains(&"fill 1 buy 3@10".to_owned()), "{log:?}");
    assert!(log.contains(&"update 2 cancelled (1 left)".to_owned()), "the resting limit is cancelled on halt: {log:?}");
    assert!(
        log.iter().any(|l| l.starts_with("update 3 rejected by session: strategy halted by risk:kill: loss")),
        "{log:?}"
    );
    assert!(
        report.strategies[0].status.starts_with("halted by risk:kill: loss 6 exceeds max_loss 5"),
        "{}",
        report.strategies[0].status
    );
}

#[test]
fn strategy_orders_trade_against_replayed_orders() {
    let orders = file(
        "flow.csv",
        "action,id,symbol,side,type,price,qty,tif,owner
new,1,F,sell,limit,100.5,10,gtc,a
new,2,F,buy,limit,99.5,10,gtc,b
new,3,F,sell,limit,100.4,1,ioc,c
",
    );
    let (report, _) = run(format!(
        "[feed]\nplugin = \"order-flow\"\nparams = {{ path = \"{orders}\" }}\n[strategies.p5]\nplugin = \"test-probe\"\nparams = {{ script = [\"quote 1 buy 3\"] }}\n"
    ));
    let log = log_of("p5");
    assert_eq!(log, ["submit 1 buy 3", "fill 1 buy 3@100.5"], "{log:?}");
    assert_eq!(report.strategies[0].positions, [("F".to_owned(), 3)]);
    assert_eq!(report.venue_trades, 1);
}

#[test]
fn a_panicking_strategy_fails_alone() {
    let (report, _) = run(bar_config(
        "[strategies.bad]\nplugin = \"test-probe\"\nparams = { script = [\"bar 1 panic\"] }\n\
         [strategies.good]\nplugin = \"test-probe\"\nparams = { script = [\"bar 3 buy 1\"] }\n",
    ));
    let bad = report.strategies.iter().find(|s| s.id == "bad").unwrap();
    assert!(bad.status.starts_with("failed: panicked in on_bar: probe bad panics on bar 1"), "{}", bad.status);
    assert_eq!(log_of("good"), ["submit 1 buy 1", "fill 1 buy 1@1.5"]);
    assert_eq!(report.bars, 5, "the run went on");
}

#[test]
fn an_unused_lazy_indicator_is_never_built_and_requested_ones_are() {
    let (report, _) = run(bar_config(
        "[indicators.unused]\nplugin = \"rsi\"\n[strategies.trend]\nplugin = \"sma-cross\"\nparams = { fast = 2, slow = 3 }\n",
    ));
    let unused = report.components.iter().find(|c| c.id == "unused").unwrap();
    assert!(unused.lazy && !unused.initialized, "{unused:?}");
    // Requested indicators are components like any other, named by what they are.
    let sma = report.components.iter().find(|c| c.id == "sma(period=2)@T").unwrap();
    assert!(sma.initialized && sma.state == "stopped", "{sma:?}");
    assert_eq!(sma.metrics.updates, Some(5), "one update per bar");
}

#[test]
fn the_default_session_repeats_exactly() {
    let default = tradsys::run::DEFAULT_CONFIG.replace("count = 1000000", "count = 30000");
    let (first, first_record) = run(default.clone());
    let (second, second_record) = run(default);
    let strip = |report: &SessionReport| {
        let mut value = serde_json::to_value(report).unwrap();
        let components = value["components"].as_array().unwrap().len();
        assert_eq!(tradsys::run::without_varying_parts(&mut value), 1 + components);
        value
    };
    assert_eq!(strip(&first), strip(&second));
    assert_eq!(first_record.equity, second_record.equity);
    assert_eq!(first_record.trips, second_record.trips);
    assert!(first.venue_trades > 100 && first.bars >= 29, "{} trades, {} bars", first.venue_trades, first.bars);
}

#[test]
fn an_out_of_tree_algorithm_runs_through_the_escape_variant() {
    let registry = Registry::discover().unwrap();
    let recipe = MatchingRecipe::new(&registry, "test-lifo", &VersionReq::STAR, Default::default()).unwrap();
    assert_eq!(recipe.build().unwrap().variant_name(), "External");
    // The probe's sell rests behind replayed order 1 at the same price; the buy takes 5 lots. FIFO
    // fills order 1 (first in), LIFO the probe's (last in).
    let orders = file(
        "lifo.csv",
        "action,id,symbol,side,type,price,qty,tif,owner
new,1,L,sell,limit,10,5,gtc,a
new,2,L,buy,limit,10,5,gtc,b
",
    );
    let run_with = |algorithm: &str, probe: &str| {
        run(format!(
            "[feed]\nplugin = \"order-flow\"\nparams = {{ path = \"{orders}\" }}\n[matching]\nplugin = \"{algorithm}\"\n\
             [strategies.{probe}]\nplugin = \"test-probe\"\nparams = {{ script = [\"quote 0 sell 5 limit 10\"] }}\n"
        ))
        .0
    };
    let lifo = run_with("test-lifo", "lifo1");
    assert_eq!(lifo.venue_trades, 1);
    assert_eq!(log_of("lifo1"), ["submit 1 sell 5", "fill 1 sell 5@10"], "LIFO fills the last maker in");
    let matching = lifo.components.iter().find(|c| c.id == "matching").unwrap();
    assert_eq!(matching.plugin, "test-lifo@1.0.0");
    let fifo = run_with("fifo", "fifo1");
    assert_eq!(fifo.venue_trades, 1);
    assert_eq!(log_of("fifo1"), ["submit 1 sell 5"], "FIFO fills the first maker in, not the probe");
}
