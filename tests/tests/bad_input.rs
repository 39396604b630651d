//! Generated bad input, run in process through the real parsers, checks and sessions.
//!
//! Five generators (configs with overrides, `TRADSYS_` variables, CSV bars files, order-flow rows,
//! command lines), each a few thousand cases per run. For every case: no panic, no abort, no hang
//! (the inputs are bounded, so every run ends), bad input refused with a message that names its
//! source and its key or line and stays short, and what was accepted behaves (bars in time order,
//! a book never crossed). `docs/reliability.md` lists what is generated and checked. The number of
//! cases each generator ran is appended to `target/bad-input-cases.txt` for CI to report.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use semver::VersionReq;
use tradsys::configure::check_loader;
use tradsys::failure::Failure;
use tradsys::matching::MatchingRecipe;
use tradsys::run::start_session;
use tradsys_core::book::BookEvent;
use tradsys_core::component::{BadRows, FeedContext, InitContext};
use tradsys_core::config::{ConfigError, ConfigFile, ConfigLoader, Environment};
use tradsys_core::engine::MatchingEngine;
use tradsys_core::instrument::InstrumentTable;
use tradsys_core::market::MarketEvent;
use tradsys_core::orderflow::OrderFlowParser;
use tradsys_core::plugin::{Dict, Kind};
use tradsys_core::session::{NoObserver, check_setup};

/// Cases per generator and run: five generators, 10,000 in all.
const CASES: u32 = 2_000;

thread_local! {
    /// Generated cases of this test (each test runs on a thread of its own) that got as far as a
    /// running session: proof that the generators reach it.
    static SESSIONS_RUN: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The longest message any refusal may print (a field is quoted as an excerpt, never whole).
const LONGEST_MESSAGE: usize = 1_200;

/// Logs stay out of the test output: a subscriber that records nothing is installed first, so the
/// CLI's own (installed once per process) is not.
fn quiet_logs() {
    let _ = tracing::subscriber::set_global_default(tracing::subscriber::NoSubscriber::default());
}

fn scratch() -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad-input");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `cases` generated cases of `strategy` through `check`, then records the count.
fn generate<S: Strategy>(name: &str, strategy: S, check: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let ran = AtomicU64::new(0);
    SESSIONS_RUN.set(0);
    let config = ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&strategy, |value| {
        ran.fetch_add(1, Ordering::Relaxed);
        check(value)
    });
    if let Err(failure) = result {
        panic!("{name}: {failure}");
    }
    record(name, ran.load(Ordering::Relaxed), SESSIONS_RUN.get());
}

fn record(name: &str, cases: u64, sessions: u64) {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
    if let Ok(mut file) = std::fs::OpenOptions::new().create(true).append(true).open(target.join("bad-input-cases.txt"))
    {
        let _ = writeln!(file, "{cases} cases: {name} ({sessions} of them ran a session)");
    }
}

fn check_error(error: &ConfigError) -> Result<(), TestCaseError> {
    let text = error.to_string();
    prop_assert!(!error.source.is_empty(), "no source: {text}");
    prop_assert!(!error.message.is_empty(), "no message: {text}");
    prop_assert!(text.len() <= LONGEST_MESSAGE, "{} bytes: {}", text.len(), &text[..200]);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Values and configs.

/// A TOML value, from the plausible to the absurd.
fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        prop::sample::select(vec![
            "0",
            "-1",
            "1",
            "2",
            "5",
            "20",
            "1000",
            "2147483648",
            "1099511627776",
            "4611686018427387904",
            "9223372036854775807",
            "-9223372036854775808",
            "1e308",
            "-1e308",
            "nan",
            "inf",
            "-inf",
            "0.0",
            "-0.0",
            "2.5",
            "1e-300",
            "true",
            "false",
            "\"\"",
            "\"max\"",
            "\"x\"",
            "\"-5\"",
            "\"0.00001\"",
            "\"92233720368\"",
            "\"1.000000001\"",
            "\"é€\"",
            "\"bad sym\"",
            "\"../../../etc/passwd\"",
            "\"/dev/zero\"",
            "\"DATA\"",
            "\"ORDERS\"",
            "\"exchange-core\"",
            "\"multi-symbol\"",
            "\"EURUSD\"",
            "1979-05-27T07:32:00Z",
            "[]",
            "{}",
        ])
        .prop_map(str::to_owned),
        any::<i64>().prop_map(|v| v.to_string()),
        (-1000i64..1000).prop_map(|v| v.to_string()),
        "[a-zA-Z0-9 ._/-]{0,12}".prop_map(|s| format!("{s:?}")),
        (1usize..20_000).prop_map(|n| format!("\"{}\"", "x".repeat(n))),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::vec(("[a-z_]{1,8}", inner), 0..3).prop_map(|pairs| {
                let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", pairs.join(", "))
            }),
        ]
    })
}

const PARAM_KEYS: [&str; 25] = [
    "path",
    "symbol",
    "strict",
    "count",
    "profile",
    "symbols",
    "start_ns",
    "start",
    "step_us",
    "thread",
    "seed",
    "fast",
    "slow",
    "qty",
    "period",
    "k",
    "signal",
    "interval_ms",
    "max_qty",
    "max_notional",
    "max_position",
    "percent",
    "rate_per_s",
    "burst",
    "max_loss",
];

fn params() -> impl Strategy<Value = String> {
    prop::collection::vec((prop::sample::select(PARAM_KEYS.to_vec()), value()), 0..4).prop_map(|pairs| {
        let mut seen = std::collections::BTreeSet::new();
        let pairs: Vec<String> =
            pairs.into_iter().filter(|(k, _)| seen.insert(*k)).map(|(k, v)| format!("{k} = {v}")).collect();
        format!("{{ {} }}", pairs.join(", "))
    })
}

fn component(plugins: Vec<&'static str>) -> impl Strategy<Value = String> {
    (prop::sample::select(plugins), params(), prop::option::of(value()), prop::option::of(value())).prop_map(
        |(plugin, params, version, lazy)| {
            let mut text = format!("plugin = \"{plugin}\"\nparams = {params}\n");
            if let Some(version) = version.filter(|_| plugin.len() % 3 == 0) {
                text.push_str(&format!("version = {version}\n"));
            }
            if let Some(lazy) = lazy.filter(|_| plugin.len() % 2 == 0) {
                text.push_str(&format!("lazy = {lazy}\n"));
            }
            text
        },
    )
}

const SESSION_KEYS: [&str; 10] = [
    "seed",
    "initial_cash",
    "commission",
    "bars",
    "bar_source",
    "periods_per_year",
    "max_events",
    "metrics",
    "tolerate_failures",
    "sed",
];

/// A whole config file: sections in any order, some missing, some misspelt.
fn config_text() -> impl Strategy<Value = String> {
    let session = prop::collection::vec((prop::sample::select(SESSION_KEYS.to_vec()), value()), 0..4);
    let feed = component(vec!["bars-csv", "order-flow", "synthetic", "faulty-feed", "bars-cvs"]);
    let strategies = prop::collection::vec(
        ("[a-z][a-z0-9_-]{0,6}", component(vec!["sma-cross", "mean-reversion", "market-maker", "nope"])),
        0..3,
    );
    let risk = prop::collection::vec(
        (
            "[a-z]{1,5}",
            component(vec![
                "max-order-qty",
                "max-notional",
                "max-position",
                "price-collar",
                "order-rate",
                "kill-switch",
            ]),
        ),
        0..3,
    );
    let indicators = prop::collection::vec(
        ("[a-z]{1,5}", component(vec!["sma", "ema", "rsi", "macd", "bollinger", "atr", "vwap", "bar-aggregator"])),
        0..2,
    );
    let instruments = prop::collection::vec(("[A-Za-z.]{0,6}", value(), value()), 0..2);
    let extra = prop::collection::vec(("[a-z.]{1,10}", value()), 0..2);
    (session, prop::option::weighted(0.9, feed), strategies, risk, indicators, instruments, extra).prop_map(
        |(session, feed, strategies, risk, indicators, instruments, extra)| {
            let mut text = String::new();
            for (key, value) in extra {
                text.push_str(&format!("{key} = {value}\n"));
            }
            let mut seen = std::collections::BTreeSet::new();
            text.push_str("[session]\n");
            for (key, value) in session.into_iter().filter(|(k, _)| seen.insert(*k)) {
                text.push_str(&format!("{key} = {value}\n"));
            }
            if let Some(feed) = feed {
                text.push_str(&format!("[feed]\n{feed}"));
            }
            for (section, entries) in [("strategies", strategies), ("risk", risk), ("indicators", indicators)] {
                let mut seen = std::collections::BTreeSet::new();
                for (id, body) in entries.into_iter().filter(|(id, _)| seen.insert(id.clone())) {
                    text.push_str(&format!("[{section}.{id}]\n{body}"));
                }
            }
            let mut seen = std::collections::BTreeSet::new();
            for (symbol, tick, lot) in instruments.into_iter().filter(|(s, _, _)| seen.insert(s.clone())) {
                text.push_str(&format!("[instruments.\"{symbol}\"]\ntick = {tick}\nlot_size = {lot}\n"));
            }
            text
        },
    )
}

/// A small, valid bars file and order-flow file the generated configs may point at.
fn data_files(dir: &Path) -> (PathBuf, PathBuf) {
    let bars = dir.join("bars.csv");
    let mut text = String::from("time,open,high,low,close,volume\n");
    for minute in 0..120 {
        let price = 100.0 + f64::from(minute % 40) / 10.0;
        text.push_str(&format!(
            "2020-01-01 {:02}:{:02}:00,{price:.2},{:.2},{:.2},{price:.2},10\n",
            minute / 60,
            minute % 60,
            price + 0.5,
            price - 0.5
        ));
    }
    std::fs::write(&bars, text).unwrap();
    let orders = dir.join("orders.csv");
    std::fs::write(
        &orders,
        "action,id,symbol,side,type,price,qty,tif,owner\nnew,1,XYZ,buy,limit,10,5,gtc,a\nnew,2,XYZ,sell,limit,10,2,gtc,b\nnew,3,XYZ,sell,market,,1,ioc,c\n",
    )
    .unwrap();
    (bars, orders)
}

/// Loads, checks and, where the config is accepted, starts and runs it (for at most 300 events).
fn load_check_and_run(
    text: &str,
    overrides: &[String],
    env: Environment,
    registry: &tradsys_core::registry::Registry,
) -> Result<(), TestCaseError> {
    let text: &'static str = Box::leak(text.to_owned().into_boxed_str());
    let loader = match ConfigLoader::load(&ConfigFile::Embedded { name: "generated.toml", text }, &env, overrides) {
        Ok(loader) => loader,
        Err(errors) => {
            prop_assert!(!errors.is_empty());
            return errors.iter().try_for_each(check_error);
        }
    };
    let checked = match check_loader(loader, registry) {
        Ok(checked) => checked,
        Err(errors) => {
            prop_assert!(!errors.is_empty());
            return errors.iter().try_for_each(check_error);
        }
    };
    if let Err(error) = check_setup(&checked.config, &checked.plan) {
        // A refusal at start-up is the config's fault, never a panic of ours.
        prop_assert!(error.to_string().len() <= LONGEST_MESSAGE, "{error}");
        return Ok(());
    }
    // From here on `config check` has accepted the config (it runs the checks above), so `run`
    // must not refuse it as bad input: whatever check lets through, run takes. (The data files
    // the configs may name are valid; a path to anything else is refused by the checks above.)
    let session = match start_session(&checked, registry) {
        Ok(session) => session,
        Err(Failure::BadInput(error)) => {
            return Err(TestCaseError::fail(format!("config check accepts it, but run refuses it: {error:#}")));
        }
        Err(_) => return Ok(()),
    };
    let outcome = session.run(&mut NoObserver);
    prop_assert!(outcome.report.events <= 300);
    if let Some(error) = &outcome.error {
        prop_assert!(error.is_internal(), "config check accepts it, but run fails it as bad input: {error}");
    }
    prop_assert!(outcome.report.events > 0, "config check accepts it, but run reads no usable data");
    SESSIONS_RUN.set(SESSIONS_RUN.get() + 1);
    Ok(())
}

#[test]
fn generated_configs_and_overrides_are_refused_with_source_and_key_or_run() {
    quiet_logs();
    let registry = tradsys::registry().unwrap();
    let dir = scratch();
    let (bars, orders) = data_files(&dir);
    let real_key = prop::sample::select(vec![
        "session.initial_cash",
        "session.seed",
        "session.commission.percent",
        "session.commission.per_lot",
        "session.bars.depth",
        "session.bars.spread_ticks",
        "session.periods_per_year",
        "strategies.t.params.fast",
        "strategies.t.params.slow",
        "strategies.t.params.qty",
        "strategies.t.params.symbol",
        "strategies.t.plugin",
        "risk.q.params.max_qty",
        "risk.q.order",
        "feed.params.path",
        "feed.params.strict",
        "instruments.XYZ.tick",
        "instruments.XYZ.lot_size",
    ]);
    let overrides = prop::collection::vec(
        prop_oneof![
            3 => (real_key, value()).prop_map(|(k, v)| format!("{k}={v}")),
            1 => ("[a-z._]{1,30}", value()).prop_map(|(k, v)| format!("{k}={v}")),
            1 => (1usize..40).prop_map(|n| format!("{}=1", vec!["a"; n].join("."))),
            1 => (1usize..100).prop_map(|n| format!("session.seed={}{}", "[".repeat(n), "]".repeat(n))),
            1 => "[ -~]{0,20}",
        ],
        0..3,
    );
    // Half the cases start from a config that runs, so that the overrides reach the session.
    let runs = "[feed]\nplugin = \"bars-csv\"\nparams = { path = \"DATA\", symbol = \"XYZ\" }\n\
                [strategies.t]\nplugin = \"sma-cross\"\nparams = { fast = 2, slow = 5 }\n\
                [risk.q]\nplugin = \"max-order-qty\"\n";
    // And some from a feed whose parameters decide whether there is anything to run at all: a
    // config `config check` accepts must not then fail `run` for want of data.
    let synthetic =
        (prop::sample::select(vec!["0", "1", "3"]), prop::sample::select(vec!["0", "1"])).prop_map(|(count, step)| {
            format!(
                "[feed]\nplugin = \"synthetic\"\nparams = {{ count = {count}, step_us = {step}, thread = false }}\n\
                 [strategies.t]\nplugin = \"market-maker\"\n"
            )
        });
    let text = prop_oneof![4 => config_text(), 4 => Just(runs.to_owned()), 1 => synthetic];
    generate("configs", (text, overrides), |(text, mut overrides)| {
        let text = text
            .replace("\"DATA\"", &format!("{:?}", bars.display().to_string()))
            .replace("\"ORDERS\"", &format!("{:?}", orders.display().to_string()));
        overrides.push("session.max_events=300".to_owned());
        load_check_and_run(&text, &overrides, Environment::Ignored, &registry)
    });
}

#[test]
fn generated_environment_variables_are_refused_by_name_or_applied() {
    quiet_logs();
    let registry = tradsys::registry().unwrap();
    let dir = scratch();
    let (bars, _) = data_files(&dir);
    let base = format!(
        "[feed]\nplugin = \"bars-csv\"\nparams = {{ path = {:?}, symbol = \"XYZ\" }}\n[strategies.t]\nplugin = \"sma-cross\"\n",
        bars.display().to_string()
    );
    let name = prop_oneof![
        prop::sample::select(vec![
            "TRADSYS_SESSION__SEED",
            "TRADSYS_SESSION__INITIAL_CASH",
            "TRADSYS_SESSION__BARS__DEPTH",
            "TRADSYS_STRATEGIES__T__PARAMS__FAST",
            "TRADSYS_STRATEGIES__T__PARAMS__SLOW",
            "TRADSYS_FEED__PARAMS__PATH",
            "TRADSYS_LOG",
            "TRADSYS_ADMIN_TOKEN",
            "TRADSYS_HOME",
            "TRADSYS_SESION__SEED",
            "TRADSYS___",
            "TRADSYS_",
        ])
        .prop_map(str::to_owned),
        "TRADSYS_[A-Z_]{0,30}",
        (1usize..40).prop_map(|n| format!("TRADSYS_SESSION{}", "__A".repeat(n))),
    ];
    let var_value = prop_oneof![value(), "[ -~]{0,30}", (1usize..200).prop_map(|n| "[".repeat(n))];
    let vars = prop::collection::vec((name, var_value), 0..4);
    generate("environment variables", vars, |vars| {
        let vars: Vec<(OsString, OsString)> = vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        load_check_and_run(&base, &["session.max_events=300".to_owned()], Environment::Vars(vars), &registry)
    });
}

// ---------------------------------------------------------------------------------------------
// Bars files.

/// One line of a bars file: a good row at minute `n`, or a mutation of one.
fn bars_line() -> impl Strategy<Value = Vec<u8>> {
    let good = (0u32..5000, 1u32..1000).prop_map(|(minute, cents)| {
        let price = f64::from(cents);
        format!(
            "2020-01-{:02} {:02}:{:02}:00,{price:.2},{:.2},{:.2},{price:.2},7",
            1 + minute / 1440,
            minute / 60 % 24,
            minute % 60,
            price + 1.0,
            price - 0.5
        )
        .into_bytes()
    });
    prop_oneof![
        6 => good.clone(),
        1 => (good.clone(), any::<prop::sample::Index>(), any::<u8>()).prop_map(|(mut line, at, byte)| {
            let at = at.index(line.len());
            line[at] = byte;
            line
        }),
        1 => (good.clone(), any::<prop::sample::Index>()).prop_map(|(mut line, at)| {
            line.insert(at.index(line.len() + 1), b'"');
            line
        }),
        1 => prop::sample::select(vec![
            "", "   ", ",,,,,", "\"", "\"\"\"", "99999999999-01-01,1,2,0.5,1", "2020-01-01 09:-30:00,1,2,0.5,1",
            "1677-01-01,1,2,0.5,1", "2020-13-01,1,2,0.5,1", "2020-01-01,5,1,2,3", "2020-01-01,-1,-1,-1,-1",
            "2020-01-01,1,2,0.5,1,-7", "2020-01-01,1.000000001,2,0.5,1", "2020-01-01,1e5,2,0.5,1",
            "9223372036854775807,1,2,0.5,1", "2020-01-01T00:00:00Z,1,2,0.5", "2020-01-01,1,2,0.5,1,2,3,4",
            "2020-01-01,\"1\",\"2\",\"0.5\",\"1\"",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 0..40),
    ]
}

fn bars_file() -> impl Strategy<Value = Vec<u8>> {
    let header = prop::sample::select(vec![
        "time,open,high,low,close,volume",
        ",Open,High,Low,Close,Volume",
        "Date,Close,Low,High,Open",
        "time,open,high,low",
        "\"time\",\"open\",\"high\",\"low\",\"close\"",
        "",
    ]);
    // One file in 50 has a line longer than a line may be (each costs a megabyte of reading).
    let huge = prop::option::weighted(0.02, (any::<prop::sample::Index>(), 1usize..3));
    (header, prop::collection::vec(bars_line(), 0..40), any::<bool>(), huge).prop_map(
        |(header, mut lines, crlf, huge)| {
            if let Some((at, n)) = huge {
                lines.insert(at.index(lines.len() + 1), vec![b'9'; n * 700_000]);
            }
            let end: &[u8] = if crlf { b"\r\n" } else { b"\n" };
            let mut file = header.as_bytes().to_vec();
            for line in lines {
                file.extend_from_slice(end);
                file.extend_from_slice(&line);
            }
            file
        },
    )
}

#[test]
fn generated_bars_files_skip_bad_rows_by_line_and_deliver_bars_in_order() {
    quiet_logs();
    let registry = tradsys::registry().unwrap();
    let descriptor = registry.find(Kind::Feed, "bars-csv", &VersionReq::STAR).unwrap().descriptor;
    let dir = scratch();
    let path = dir.join("generated-bars.csv");
    let session_config = format!(
        "[feed]\nplugin = \"bars-csv\"\nparams = {{ path = {:?}, symbol = \"XYZ\" }}\n[strategies.t]\nplugin = \"sma-cross\"\nparams = {{ fast = 2, slow = 3 }}\n[risk.q]\nplugin = \"max-order-qty\"\n",
        path.display().to_string()
    );
    generate("bars files", (bars_file(), any::<bool>()), |(content, strict)| {
        std::fs::write(&path, &content).unwrap();
        let lines = content.split(|&b| b == b'\n').count() as u64;
        let mut params = Dict::new();
        params.insert("path".into(), path.display().to_string().into());
        params.insert("strict".into(), strict.into());
        let tradsys_core::plugin::Instance::Feed(mut feed) = descriptor.build(&params).unwrap() else { unreachable!() };
        let mut instruments = InstrumentTable::default();
        if let Err(error) = feed.init(&mut InitContext::new("feed", &mut instruments, 1)) {
            prop_assert!(error.to_string().len() <= LONGEST_MESSAGE);
            return Ok(());
        }
        let mut bad_rows = BadRows::default();
        let mut last = None;
        loop {
            let mut ctx = FeedContext::new(&mut instruments, &mut bad_rows);
            match feed.next_event(&mut ctx) {
                Ok(Some(MarketEvent::Bar(bar))) => {
                    prop_assert!(last.is_none_or(|last| bar.ts > last), "bars out of order");
                    prop_assert!(
                        bar.low <= bar.open && bar.open <= bar.high && bar.low <= bar.close && bar.close <= bar.high
                    );
                    last = Some(bar.ts);
                }
                Ok(Some(other)) => prop_assert!(false, "a bars feed produced {other:?}"),
                Ok(None) => break,
                Err(error) => {
                    prop_assert!(strict, "only strict mode stops: {error}");
                    prop_assert!(error.0.contains(": line "), "{}", error.0);
                    break;
                }
            }
        }
        for message in &bad_rows.first {
            prop_assert!(message.len() <= 400, "{} bytes: {}", message.len(), &message[..200]);
            let line: u64 = message
                .split(": line ")
                .nth(1)
                .and_then(|rest| rest.split(':').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            prop_assert!((2..=lines).contains(&line), "no line number in range: {message}");
        }
        // The whole session on the same file: accepted or refused, never a panic.
        load_check_and_run(&session_config, &[], Environment::Ignored, &registry)
    });
}

// ---------------------------------------------------------------------------------------------
// Order-flow rows.

fn order_row() -> impl Strategy<Value = String> {
    let field = |choices: Vec<&'static str>| prop_oneof![3 => prop::sample::select(choices).prop_map(str::to_owned), 1 => "[ -~]{0,6}"];
    let number = prop_oneof![
        (1i64..200).prop_map(|v| v.to_string()),
        prop::sample::select(vec!["", "0", "-5", "1.5", "9223372036854775807", "1000000001", "x", "1e3"])
            .prop_map(str::to_owned),
    ];
    (
        field(vec!["new", "cancel", "modify", "neww"]),
        number.clone(),
        field(vec!["XYZ", "ABC", "", "bad sym"]),
        field(vec!["buy", "sell", ""]),
        field(vec!["limit", "market", ""]),
        prop_oneof![
            (90u32..110).prop_map(|p| p.to_string()),
            Just(String::new()),
            Just("100.005".to_owned()),
            Just("-1".to_owned())
        ],
        number,
        field(vec!["gtc", "ioc", "fok", "gtx", ""]),
        field(vec!["", "a", "b"]),
    )
        .prop_map(|(a, id, s, side, t, p, q, tif, o)| format!("{a},{id},{s},{side},{t},{p},{q},{tif},{o}"))
}

#[test]
fn generated_order_flow_rows_are_refused_by_line_or_leave_an_uncrossed_book() {
    quiet_logs();
    let registry = tradsys::registry().unwrap();
    let rows = prop::collection::vec(
        prop_oneof![8 => order_row(), 1 => "[ -~]{0,30}", 1 => prop::collection::vec(any::<char>(), 0..12).prop_map(|c| c.into_iter().collect())],
        0..60,
    );
    generate("order-flow rows", rows, |rows| {
        let recipe = MatchingRecipe::new(&registry, "fifo", &VersionReq::STAR, Dict::new()).unwrap();
        let mut engine = MatchingEngine::new(InstrumentTable::default(), recipe.into_source(), Default::default());
        let mut parser = OrderFlowParser::from_header("action,id,symbol,side,type,price,qty,tif,owner").unwrap();
        let mut events: Vec<BookEvent> = Vec::new();
        for (at, row) in rows.iter().enumerate() {
            let line = at as u64 + 2;
            match parser.parse(row, line, engine.instruments_mut()) {
                Ok(row) => {
                    events.clear();
                    engine.execute(&row.command, &mut events);
                    for (_, book) in engine.books() {
                        if let (Some(bid), Some(ask)) = (book.best_bid(), book.best_ask()) {
                            prop_assert!(bid.price < ask.price, "crossed after line {line}");
                        }
                    }
                }
                Err(error) => {
                    prop_assert_eq!(error.line, line);
                    prop_assert!(error.to_string().len() <= 400, "{}", error);
                }
            }
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Command lines.

fn argument() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "--config",
            "--set",
            "--report",
            "--trades",
            "--equity",
            "--metrics",
            "--plot",
            "--orders",
            "--out",
            "--algo",
            "--stp",
            "--book",
            "--strict",
            "--instrument",
            "--count",
            "--seed",
            "--profile",
            "--symbols",
            "--kind",
            "--format",
            "--verbose",
            "--quiet",
            "--log",
            "--log-format",
            "-",
            "--",
            "json",
            "table",
            "fifo",
            "pro-rata",
            "none",
            "cancel-both",
            "multi-symbol",
            "exchange-core",
            "0",
            "1",
            "-1",
            "4294967295",
            "18446744073709551616",
            "CONFIG",
            "ORDERS",
            "DIR",
            "OUT.json",
            "OUT.csv",
            "OUT.png",
            "OUT.txt",
            "/nonexistent/x.csv",
            "session.max_events=50",
            "session.seed=[[[[",
            "EURUSD:0.00001:1000",
            "X:0:1",
            "info",
            "[[",
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,12}",
    ]
}

#[test]
fn generated_command_lines_exit_0_or_2_never_1_or_a_panic() {
    quiet_logs();
    let dir = scratch();
    let (bars, orders) = data_files(&dir);
    let config = dir.join("cli.toml");
    std::fs::write(
        &config,
        format!(
            "[session]\nmax_events = 50\n[feed]\nplugin = \"bars-csv\"\nparams = {{ path = {:?}, symbol = \"XYZ\" }}\n[strategies.t]\nplugin = \"sma-cross\"\n",
            bars.display().to_string()
        ),
    )
    .unwrap();
    let command = prop::sample::select(vec![
        vec!["config", "check", "CONFIG"],
        vec!["config", "show", "CONFIG"],
        vec!["run", "--config", "CONFIG"],
        vec!["replay", "--orders", "ORDERS", "--out", "OUT.jsonl"],
        vec!["gen", "orders", "--count", "20", "--out", "OUT.csv"],
        vec!["plugins"],
        vec!["config"],
        vec![],
    ]);
    generate("command lines", (command, prop::collection::vec(argument(), 0..5)), |(command, extra)| {
        let out_dir = dir.join("out");
        std::fs::create_dir_all(&out_dir).unwrap();
        let resolve = |arg: &str| -> String {
            match arg {
                "CONFIG" => config.display().to_string(),
                "ORDERS" => orders.display().to_string(),
                "DIR" => dir.display().to_string(),
                other if other.starts_with("OUT.") => out_dir.join(other).display().to_string(),
                other => other.to_owned(),
            }
        };
        let mut args: Vec<String> = vec!["tradsys".to_owned()];
        args.extend(command.iter().map(|a| resolve(a)));
        args.extend(extra.iter().map(|a| resolve(a)));
        // In process, standard output is the test's: point every output at a file instead.
        if args.iter().any(|a| a == "-")
            || (args.len() > 1 && matches!(args[1].as_str(), "replay" | "gen") && !args.contains(&"--out".to_owned()))
        {
            return Ok(());
        }
        if args.get(1).is_some_and(|a| a == "run") {
            args.push("--set".to_owned());
            args.push("session.max_events=50".to_owned());
            args.push("--quiet".to_owned());
        }
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = tradsys::run_cli(args.iter().map(OsString::from), &mut out, &mut err);
        let err = String::from_utf8_lossy(&err);
        prop_assert!(!err.contains("panicked"), "{err}");
        prop_assert!(
            code == ExitCode::SUCCESS || code == ExitCode::from(2),
            "exit code other than 0 or 2 for {args:?}"
        );
        Ok(())
    });
}
