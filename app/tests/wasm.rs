//! WebAssembly plugins through the real binary: a module strategy trades exactly as its
//! compiled-in twin; a runaway, trapping, greedy or overreaching module is stopped alone; only an
//! approved module's code ever runs; and `serve` takes modules while the system runs.
//!
//! The guests are the crates in `wasm/`, built by the tests (see `support::guests`).

#![cfg(feature = "wasm-host")]

mod support;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::guests::guest;
use support::{Server, TOKEN, dir, text, tradsys, write_bars};
// The swap test builds plugins in this process: name the app library, which names the plugin
// crates, or the linker drops their registrations.
use tradsys as _;

/// The line the faulty guest logs when it is configured: proof that module code ran.
const RAN: &str = "module code is running";

fn data() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/EURUSD-1h.csv").display().to_string()
}

/// A scratch directory with the guests named, under `modules/`.
fn with_modules(name: &str, guests: &[(&str, &str)]) -> support::Scratch {
    let dir = dir(&format!("wasm-{name}"));
    std::fs::create_dir_all(dir.join("modules")).unwrap();
    for (crate_name, file) in guests {
        std::fs::copy(guest(crate_name), dir.join("modules").join(file)).unwrap();
    }
    dir
}

/// The EUR/USD bar session with `strategies`, and `extra` config.
fn config(dir: &Path, name: &str, strategies: &str, extra: &str) -> String {
    let text = format!(
        "[session]\nseed = 1\ninitial_cash = \"100000\"\ncommission = {{ percent = \"0.002\" }}\nbars = {{ spread_ticks = 2 }}\n\
         [instruments.EURUSD]\ntick = \"0.00001\"\nlot_size = 1000\n\
         [feed]\nplugin = \"bars-csv\"\nparams = {{ path = {:?}, symbol = \"EURUSD\" }}\n{strategies}{extra}",
        data()
    );
    std::fs::write(dir.join(name), text).unwrap();
    name.to_owned()
}

const MODULES: &str = "[security]\nplugin_dir = \"modules\"\n";

fn strategy(id: &str, plugin: &str, params: &str) -> String {
    format!("[strategies.{id}]\nplugin = \"{plugin}\"\nparams = {{ {params} }}\n")
}

/// The trades file's rows of strategy `id`, without the column naming it.
fn trades_of(path: &Path, id: &str) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|line| line.strip_prefix(&format!("{id},")).map(ToOwned::to_owned))
        .collect()
}

#[test]
fn a_module_strategy_trades_exactly_as_its_compiled_in_twin() {
    let dir = with_modules("twin", &[("tradsys_wasm_sma_cross", "sma-cross.wasm")]);
    // Plain entries, then brackets (plugin API 1.1): a stop-loss 20 pips and a take-profit 40
    // pips from the signal bar's close, cancelled on the next cross.
    let brackets = "fast = 10, slow = 30, qty = 10, stop_loss = 0.002, take_profit = 0.004";
    let mut trades = Vec::new();
    for (name, params) in [("plain", "fast = 10, slow = 30, qty = 10"), ("brackets", brackets)] {
        let native = config(&dir, &format!("{name}-native.toml"), &strategy("trend", "sma-cross", params), "");
        let module =
            config(&dir, &format!("{name}-module.toml"), &strategy("trend", "wasm-sma-cross", params), MODULES);
        for config in [&native, &module] {
            let out = tradsys(&dir, &["run", "--config", config, "--quiet", "--trades", &format!("{config}.csv")]);
            assert!(out.status.success(), "{config}: {}", text(&out.stderr));
        }
        let native = std::fs::read(dir.join(format!("{native}.csv"))).unwrap();
        assert!(
            native.iter().filter(|b| **b == b'\n').count() > 100,
            "{name}: the strategy trades: a comparison of nothing proves nothing"
        );
        let module = std::fs::read(dir.join(format!("{module}.csv"))).unwrap();
        assert!(native == module, "{name}: the module's trades differ from sma-cross's");
        trades.push(String::from_utf8(native).unwrap());
    }
    // The exits did work: trips end at the stop-loss or take-profit price, not only at a cross.
    assert_ne!(trades[0], trades[1], "brackets change the trades");
    let exit_prices = exits_at_bracket_prices(&trades[1]);
    assert!(exit_prices > 10, "{exit_prices} trips closed by an exit:\n{}", trades[1]);
    // The listing says where each comes from, with the module's digest.
    let out = tradsys(&dir, &["plugins", "--module", "modules", "--kind", "strategy", "--format", "json"]);
    let listing: Value = serde_json::from_slice(&out.stdout).unwrap();
    let module = listing.as_array().unwrap().iter().find(|p| p["name"] == "wasm-sma-cross").expect("listed");
    assert_eq!(module["origin"], "wasm:modules/sma-cross.wasm");
    assert!(module["digest"].as_str().unwrap().starts_with("sha256:"), "{module}");
    // Its manifest gives its parameters' meanings and ranges (plugin API 1.1): the twin's, word
    // for word.
    let native = listing.as_array().unwrap().iter().find(|p| p["name"] == "sma-cross").expect("listed");
    assert_eq!(module["param_docs"], native["param_docs"]);
    assert_eq!(module["param_ranges"], native["param_ranges"]);
    assert_eq!(module["param_ranges"]["fast"], ">= 1, <= 1_000_000", "{module}");
    // And the configuration reference describes the module beside the compiled-in plugins.
    let out = tradsys(&dir, &["config", "schema", "--module", "modules"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let reference = text(&out.stdout);
    let entry = reference.split("\n#### ").find(|entry| entry.starts_with("wasm-sma-cross 1.0.0")).expect("described");
    assert!(entry.contains("- module: `wasm:modules/sma-cross.wasm`"), "{entry}");
    let stop_loss = entry.lines().find(|line| line.starts_with("| `stop_loss`")).expect("a stop_loss row");
    assert!(stop_loss.contains("Stop-loss distance from the signal bar's close"), "{stop_loss}");
    assert!(stop_loss.contains(">= 0"), "{stop_loss}");
    // A bad value is refused by the range the manifest documents, before any module code runs.
    let bad = config(&dir, "bad.toml", &strategy("trend", "wasm-sma-cross", "qty = 0"), MODULES);
    let out = tradsys(&dir, &["config", "check", &bad]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("0 is outside the range >= 1"), "{}", text(&out.stderr));
}

/// How many trips of a trades CSV exit 20 pips below or 40 pips above a long's entry (or the
/// mirror for a short): what the bracketed twin's exits give, within a pip of slippage.
fn exits_at_bracket_prices(csv: &str) -> usize {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|c| *c == name).unwrap_or_else(|| panic!("no {name}: {header:?}"));
    let (side, entry, exit) = (column("side"), column("entry_price"), column("exit_price"));
    lines
        .filter(|line| {
            let row: Vec<&str> = line.split(',').collect();
            let (entry, exit): (f64, f64) = (row[entry].parse().unwrap(), row[exit].parse().unwrap());
            let gain = if row[side] == "long" { exit - entry } else { entry - exit };
            [-0.002, 0.004].iter().any(|target| (gain - target).abs() < 0.0003)
        })
        .count()
}

/// A swap between `sma-cross` and its module keeps the last pair of averages either way: the
/// module reads the native snapshot and writes one the native plugin reads back, and neither
/// continues from averages of other periods.
#[test]
fn a_swap_between_sma_cross_and_its_module_keeps_the_averages_both_ways() {
    use tradsys_core::component::{Handover, Strategy, StrategySnapshot};
    use tradsys_core::plugin::{ComponentDescriptor, Instance, Kind};

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Memory {
        fast: u32,
        slow: u32,
        previous: Option<(f64, f64)>,
    }
    let registry = tradsys_core::registry::Registry::discover().unwrap();
    let native = registry.find(Kind::Strategy, "sma-cross", &"^1".parse().unwrap()).unwrap().descriptor;
    let build = |descriptor: Option<&ComponentDescriptor>, fast: u32| -> Box<dyn Strategy> {
        let instance = match descriptor {
            Some(descriptor) => {
                let mut params = descriptor.defaults().unwrap();
                params.insert("fast".into(), fast.into());
                descriptor.build(&params).unwrap()
            }
            None => module_instance("tradsys_wasm_sma_cross", &[("fast", fast.into())]),
        };
        let Instance::Strategy(strategy) = instance else { panic!("a strategy") };
        strategy
    };
    let (native, module) = (Some(&*native), None);
    let memory = |snapshot: &StrategySnapshot| snapshot.read::<Memory>("sma-cross").unwrap().expect("sma-cross format");
    let handover = |snapshot| Handover { predecessor: "x@1.0.0", snapshot: Some(snapshot), inherited: &[] };

    // A native instance that has seen a bar (its averages, exactly as floats come).
    let averages = (1.0987654321012345, 1.1000000000000003);
    let seen = json!({ "fast": 10, "slow": 30, "previous": [averages.0, averages.1] });
    let seen = StrategySnapshot::new("sma-cross", &seen).unwrap();
    let mut first = build(native, 10);
    first.take_over(&handover(&seen)).unwrap();
    let from_native = first.snapshot().expect("sma-cross gives a snapshot");
    assert_eq!(memory(&from_native).previous, Some(averages));

    // Native to module, and the module's snapshot back to native: the same averages, bit for bit.
    let mut twin = build(module, 10);
    twin.take_over(&handover(&from_native)).unwrap();
    let from_module = twin.snapshot().expect("the module gives a snapshot");
    assert_eq!(from_module.plugin, "sma-cross");
    assert_eq!(memory(&from_module), memory(&from_native));
    let mut back = build(native, 10);
    back.take_over(&handover(&from_module)).unwrap();
    assert_eq!(memory(&back.snapshot().unwrap()), memory(&from_native));

    // Other periods' averages mean nothing: neither side continues from them.
    let mut other_module = build(module, 5);
    other_module.take_over(&handover(&from_native)).unwrap();
    assert_eq!(memory(&other_module.snapshot().unwrap()).previous, None);
    let mut other_native = build(native, 5);
    other_native.take_over(&handover(&from_module)).unwrap();
    assert_eq!(memory(&other_native.snapshot().unwrap()).previous, None);
}

/// An instance of guest `crate_name`, built from its module with `params` over its defaults.
fn module_instance(crate_name: &str, params: &[(&str, figment::value::Value)]) -> tradsys_core::plugin::Instance {
    let path = guest(crate_name);
    let loader = tradsys_core::module::loader_for("wasm").expect("wasm-host registers a loader");
    let descriptor = loader.load(&std::fs::read(&path).unwrap(), &path, Default::default()).unwrap();
    let mut given = descriptor.defaults().unwrap();
    for (key, value) in params {
        given.insert((*key).to_owned(), value.clone());
    }
    descriptor.build(&given).unwrap_or_else(|e| panic!("{crate_name}: {e}"))
}

/// A module places stop and stop-limit orders (plugin API 1.1): the orders it asks for, and a
/// run in which the venue triggers them.
#[test]
fn a_module_enters_and_protects_with_stop_and_stop_limit_orders() {
    use tradsys_core::component::InitContext;
    use tradsys_core::plugin::Instance;
    use tradsys_core::testing::{TestHost, bar};
    use tradsys_core::types::{OrderType, Price, Qty, Side, TimeInForce};

    let price = |text: &str| -> Price { text.parse().unwrap() };
    let bars = [("1.10", "1.12", "1.09"), ("1.11", "1.13", "1.10"), ("1.12", "1.125", "1.095")];
    for (slippage, order_type) in [("0", OrderType::Stop), ("0.005", OrderType::StopLimit)] {
        let params = [("period", 3.into()), ("qty", 2.into()), ("slippage", slippage.parse::<f64>().unwrap().into())];
        let Instance::Strategy(mut breakout) = module_instance("tradsys_wasm_breakout", &params) else { panic!() };
        let mut host = TestHost::new();
        breakout.init(&mut InitContext::new("b", &mut host.instruments, 1)).unwrap();
        for (minute, (close, high, low)) in bars.iter().enumerate() {
            let mut bar = bar(minute as i64, close);
            (bar.high, bar.low) = (price(high), price(low));
            breakout.on_bar(&bar, &mut host.context());
        }
        // Flat after three bars: a buy stop at the channel's top, a sell stop at its bottom.
        let placed: Vec<_> =
            host.submitted.iter().map(|(_, o)| (o.side, o.order_type, o.trigger, o.price, o.qty, o.tif)).collect();
        let limit = |trigger: &str, past: i64| {
            (order_type == OrderType::StopLimit)
                .then(|| Price::from_raw(price(trigger).raw() + past * price(slippage).raw()))
        };
        assert_eq!(
            placed,
            [
                (Side::Buy, order_type, Some(price("1.13")), limit("1.13", 1), Qty(2), TimeInForce::Gtc),
                (Side::Sell, order_type, Some(price("1.09")), limit("1.09", -1), Qty(2), TimeInForce::Gtc),
            ],
            "slippage {slippage}"
        );
        // Long on the next bar: both cancelled, one protective sell stop at the new bottom.
        host.positions.insert(tradsys_core::types::InstrumentId(0), Qty(2));
        let mut next = bar(3, "1.14");
        (next.high, next.low) = (price("1.15"), price("1.13"));
        breakout.on_bar(&next, &mut host.context());
        let first: Vec<_> = host.submitted[..2].iter().map(|(id, _)| *id).collect();
        assert_eq!(host.cancelled, first);
        let (_, protect) = host.submitted.last().unwrap();
        assert_eq!((host.submitted.len(), protect.side, protect.trigger), (3, Side::Sell, Some(price("1.095"))));
    }

    // In a run, the venue triggers them: the strategy enters only through its stops.
    let dir = with_modules("stops", &[("tradsys_wasm_breakout", "breakout.wasm")]);
    for (name, slippage) in [("stop", "0"), ("stop-limit", "0.0005")] {
        let params = format!("period = 20, qty = 10, slippage = {slippage}");
        let config = config(&dir, &format!("{name}.toml"), &strategy("b", "wasm-breakout", &params), MODULES);
        let out = tradsys(&dir, &["run", "--config", &config, "--quiet", "--trades", &format!("{name}.csv")]);
        assert!(out.status.success(), "{name}: {}", text(&out.stderr));
        let trips = trades_of(&dir.join(format!("{name}.csv")), "b").len();
        assert!(trips > 20, "{name}: {trips} round trips: the stops were not triggered");
    }
}

/// An indicator module takes quotes through the SDK's `update_quote`.
#[test]
fn a_module_indicator_takes_quotes() {
    use tradsys_core::market::{MarketEvent, Quote};
    use tradsys_core::plugin::Instance;
    use tradsys_core::types::{InstrumentId, Price, Qty, Timestamp};

    let Instance::Indicator(mut spread) = module_instance("tradsys_wasm_spread", &[]) else { panic!() };
    let price = |text: &str| -> Price { text.parse().unwrap() };
    let quote = |bid: Option<&str>, ask: Option<&str>| {
        MarketEvent::Quote(Quote {
            ts: Timestamp(0),
            instrument: InstrumentId(0),
            bid: bid.map(|p| (price(p), Qty(5))),
            ask: ask.map(|p| (price(p), Qty(7))),
        })
    };
    assert_eq!(spread.output_names(), ["spread", "mid"]);
    assert_eq!((spread.output(0), spread.output(1)), (None, None), "nothing quoted yet");
    spread.update(&quote(Some("1.1000"), Some("1.1004")));
    let (width, mid) = (spread.output(0).unwrap(), spread.output(1).unwrap());
    assert!((width - 0.0004).abs() < 1e-12 && (mid - 1.1002).abs() < 1e-12, "{width} {mid}");
    spread.update(&quote(Some("1.1000"), None));
    assert_eq!(spread.output(0), None, "one side empty");
    // A bar says nothing about the book.
    spread.update(&quote(Some("2"), Some("3")));
    spread.update(&MarketEvent::Bar(tradsys_core::testing::bar(0, "9")));
    assert_eq!(spread.output(0), Some(1.0));
}

#[test]
fn a_module_indicator_and_validator_stand_in_for_their_compiled_in_twins() {
    // `sma` 1.1.0 as a module outranks the compiled-in sma 1.0.0 for sma-cross's `sma ^1`, and
    // wasm-kill-switch is kill-switch: the same trades, halted at the same point for the same loss.
    let dir =
        with_modules("stand-in", &[("tradsys_wasm_sma", "sma.wasm"), ("tradsys_wasm_kill_switch", "kill-switch.wasm")]);
    let trend = strategy("trend", "sma-cross", "fast = 10, slow = 30, qty = 10");
    let guard = |plugin: &str| format!("[risk.stop]\nplugin = \"{plugin}\"\nparams = {{ max_loss = 800 }}\n");
    let native = config(&dir, "native.toml", &format!("{trend}{}", guard("kill-switch")), "");
    let module = config(&dir, "module.toml", &format!("{trend}{}", guard("wasm-kill-switch")), MODULES);
    let mut reports = Vec::new();
    for (config, name) in [(&native, "native"), (&module, "module")] {
        let (trades, report) = (format!("{name}.csv"), format!("{name}.json"));
        let out =
            tradsys(&dir, &["run", "--config", config, "--trades", &trades, "--report", &report, "--log", "info"]);
        assert!(out.status.success(), "{config}: {}", text(&out.stderr));
        reports.push((
            serde_json::from_slice::<Value>(&std::fs::read(dir.join(&report)).unwrap()).unwrap(),
            text(&out.stderr),
        ));
    }
    let [(native, _), (module, log)] = &reports[..] else { unreachable!() };
    let plugins = |report: &Value| -> Vec<String> {
        report["components"].as_array().unwrap().iter().map(|c| c["plugin"].as_str().unwrap().to_owned()).collect()
    };
    assert!(plugins(module).contains(&"sma@1.1.0".to_owned()), "the module sma was chosen: {:?}", plugins(module));
    assert!(!plugins(module).contains(&"sma@1.0.0".to_owned()), "{:?}", plugins(module));
    assert!(plugins(module).contains(&"wasm-kill-switch@1.0.0".to_owned()), "{:?}", plugins(module));
    let status = native["strategies"][0]["status"].as_str().unwrap();
    assert!(status.starts_with("halted by risk:stop: loss"), "the limit is reached mid-run: {status}");
    assert!(native["strategies"][0]["trades"].as_u64().unwrap() > 50, "trades before the halt: {native}");
    assert_eq!(module["strategies"][0]["status"].as_str().unwrap(), status);
    assert!(
        std::fs::read(dir.join("native.csv")).unwrap() == std::fs::read(dir.join("module.csv")).unwrap(),
        "the modules' trades differ from the compiled-in plugins'"
    );
    // Its lifecycle hooks ran, in order.
    let (armed, disarmed) = (log.find("wasm-kill-switch armed"), log.find("wasm-kill-switch disarmed"));
    assert!(armed.is_some() && disarmed.is_some() && armed < disarmed, "start and stop hooks: {log}");
}

#[test]
fn a_runaway_trapping_or_greedy_module_fails_alone_and_the_run_goes_on() {
    let dir = with_modules("faults", &[("tradsys_wasm_faulty", "faulty.wasm")]);
    let other = strategy("other", "sma-cross", "fast = 10, slow = 30, qty = 10");
    let solo = config(&dir, "solo.toml", &other, "");
    assert!(tradsys(&dir, &["run", "--config", &solo, "--quiet", "--trades", "solo.csv"]).status.success());
    let expected = trades_of(&dir.join("solo.csv"), "other");
    assert!(expected.len() > 100);
    for (fault, why) in [
        ("loop", "interrupted: ran past its call budget of 10ms (in on_bar)"),
        ("trap", "trapped: wasm trap: wasm `unreachable` instruction executed (in on_bar)"),
        ("grow", "stopped: grew its memory past the limit of 67108864 bytes (in on_bar)"),
        ("recurse", "trapped: wasm trap: call stack exhausted (in on_bar)"),
    ] {
        let faulty = strategy("bad", "wasm-faulty", &format!("fault = \"{fault}\", on_bar = 50"));
        let name = config(&dir, &format!("{fault}.toml"), &format!("{other}{faulty}"), MODULES);
        let trades = format!("{fault}.csv");
        let out = tradsys(&dir, &["run", "--config", &name, "--trades", &trades, "--report", "report.json"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{fault}: a component failure is reported as such: {stderr}");
        assert!(stderr.contains(&format!("WebAssembly plugin wasm-faulty@1.0.0 {why}")), "{fault}: {stderr}");
        let report: Value = serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
        let failures = report["failures"].to_string();
        assert!(failures.contains("bad") && failures.contains(why), "{fault}: {failures}");
        // The other strategy never noticed.
        assert_eq!(trades_of(&dir.join(&trades), "other"), expected, "{fault}: the other strategy's trades changed");
    }
}

#[test]
fn a_module_reaching_past_its_declared_capabilities_is_refused_before_it_runs() {
    let dir = with_modules("overreach", &[("tradsys_wasm_overreach", "overreach.wasm")]);
    let name = config(&dir, "run.toml", &strategy("s", "sma-cross", ""), MODULES);
    let out = tradsys(&dir, &["run", "--config", &name, "--quiet", "--log", "info"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("key security.plugin_dir: modules/overreach.wasm: imports tradsys.submit, which needs capability submit-orders, not declared in its manifest"),
        "{stderr}"
    );
    assert!(!stderr.contains("wasm-overreach is running"), "none of its code ran: {stderr}");
}

/// The compiled-in plugins of the approval runs.
const COMPILED: [&str; 2] = ["feed:bars-csv", "matching:fifo"];

fn approve(dir: &Path, key: &str, out: &str, expires: &str, module: bool) -> Output {
    let mut args = vec!["approve", "--key", key, "--out", out, "--expires", expires];
    for plugin in COMPILED {
        args.extend(["--plugin", plugin]);
    }
    if module {
        args.extend(["--module", "modules/faulty.wasm"]);
    }
    tradsys(dir, &args)
}

#[test]
fn only_an_approved_module_runs_and_changed_code_or_a_bad_approval_runs_nothing() {
    let dir = with_modules("approval", &[("tradsys_wasm_faulty", "faulty.wasm")]);
    assert!(tradsys(&dir, &["keys", "generate", "--out", "team"]).status.success());
    assert!(tradsys(&dir, &["keys", "generate", "--out", "stranger"]).status.success());
    let security = |approval: &str| {
        format!(
            "[security]\nplugin_dir = \"modules\"\nrequire_approval = true\ntrusted_keys = [\"team.pub\"]\napprovals = [\"{approval}\"]\n"
        )
    };
    let run = |approval: &str| {
        let name = config(&dir, "run.toml", &strategy("s", "wasm-faulty", ""), &security(approval));
        let out = tradsys(&dir, &["run", "--config", &name, "--quiet", "--log", "info"]);
        (out.status.code(), text(&out.stderr))
    };
    assert!(approve(&dir, "team.key", "compiled.toml", "2099-01-01T00:00:00Z", false).status.success());
    assert!(approve(&dir, "team.key", "all.toml", "2099-01-01T00:00:00Z", true).status.success());
    assert!(approve(&dir, "stranger.key", "foreign.toml", "2099-01-01T00:00:00Z", true).status.success());
    assert!(approve(&dir, "team.key", "expired.toml", "2020-01-01T00:00:00Z", true).status.success());

    let (code, stderr) = run("compiled.toml");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("key strategies.s: strategy wasm-faulty@1.0.0 is not approved: no approval lists it"),
        "{stderr}"
    );
    assert!(!stderr.contains(RAN), "an unapproved module never runs: {stderr}");

    let (code, stderr) = run("all.toml");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains(RAN), "the approved module runs: {stderr}");

    let (code, stderr) = run("foreign.toml");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("which is not trusted"), "{stderr}");
    assert!(!stderr.contains(RAN), "{stderr}");

    let (code, stderr) = run("expired.toml");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("expired on 2020-01-01T00:00:00Z"), "{stderr}");
    assert!(!stderr.contains(RAN), "{stderr}");

    // The module changes after approval: one more custom section, same manifest, other code.
    let path = dir.join("modules/faulty.wasm");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&[0, 6, 5, b'e', b'x', b't', b'r', b'a']);
    std::fs::write(&path, bytes).unwrap();
    let (code, stderr) = run("all.toml");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("strategy wasm-faulty@1.0.0 is not approved: its code has digest sha256:"), "{stderr}");
    assert!(!stderr.contains(RAN), "changed code never runs: {stderr}");
}

/// A paced bar session under `serve`, with an empty plugin directory.
fn serving(name: &str) -> (support::Scratch, Server) {
    let dir = with_modules(name, &[]);
    write_bars(&dir.join("bars.csv"), 20_000);
    let config = "[serve]\nrate = 500\n\
         [feed]\nplugin = \"bars-csv\"\nparams = { path = \"bars.csv\", symbol = \"XYZ\" }\n\
         [strategies.trend]\nplugin = \"sma-cross\"\nparams = { fast = 5, slow = 20, qty = 2 }\n\
         [security]\nplugin_dir = \"modules\"\n";
    let server = Server::start(&dir, config, &[]);
    (dir, server)
}

#[test]
fn serve_takes_modules_uploaded_or_dropped_in_while_the_system_runs() {
    let (dir, server) = serving("serve");
    let module = std::fs::read(guest("tradsys_wasm_sma_cross")).unwrap();

    let (status, body) = server.send_bytes("/plugins", &module, None);
    assert_eq!(status, 401, "uploading code is a change: {body}");
    let (status, body) = server.send_bytes("/plugins?file=junk.wasm", b"not a module", Some(TOKEN));
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().unwrap().contains("not a WebAssembly module"), "{body}");
    let (status, body) = server.send_bytes("/plugins?file=../up.wasm", &module, Some(TOKEN));
    assert_eq!(status, 400, "{body}");
    assert!(!dir.join("modules/junk.wasm").exists(), "a refused module is not kept");

    let (status, body) = server.send_bytes("/plugins", &module, Some(TOKEN));
    assert_eq!(status, 201, "{body}");
    assert_eq!((body["name"].as_str(), body["kind"].as_str()), (Some("wasm-sma-cross"), Some("strategy")));
    assert!(dir.join("modules/wasm-sma-cross-1.0.0.wasm").is_file(), "kept for the next start: {body}");
    let (status, body) = server.send_bytes("/plugins", &module, Some(TOKEN));
    assert_eq!(status, 409, "a version's code never changes: {body}");
    let faulty = std::fs::read(guest("tradsys_wasm_faulty")).unwrap();
    let (status, body) = server.send_bytes("/plugins?file=wasm-sma-cross-1.0.0.wasm", &faulty, Some(TOKEN));
    assert_eq!(status, 409, "a kept module is never overwritten: {body}");
    assert!(body["error"].as_str().unwrap().contains("exists in the plugin directory already"), "{body}");
    assert!(!server.json("/plugins").as_array().unwrap().iter().any(|p| p["name"] == "wasm-faulty"), "nor registered");
    assert_eq!(std::fs::read(dir.join("modules/wasm-sma-cross-1.0.0.wasm")).unwrap(), module);

    // It runs only when a change chooses it, checked like any other.
    let add = json!({ "id": "w", "plugin": "wasm-sma-cross", "params": { "fast": 5, "slow": 20, "qty": 1 } });
    let (status, body) = server.admin("POST", "/strategies", Some(&add));
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.component("w")["state"], "started");
    let bad = json!({ "id": "v", "plugin": "wasm-sma-cross", "params": { "fast": 30, "slow": 20 } });
    let (status, body) = server.admin("POST", "/strategies", Some(&bad));
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("need fast < slow, got fast = 30 and slow = 20"), "{body}");
    // And it is hot-swapped in, as a compiled-in plugin is.
    let swap = json!({ "plugin": "wasm-sma-cross", "params": { "fast": 5, "slow": 20, "qty": 2 } });
    let (status, body) = server.admin("POST", "/strategies/trend/swap", Some(&swap));
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.component("trend")["plugin"], "wasm-sma-cross@1.0.0");

    // A module dropped into the directory is picked up.
    std::fs::copy(guest("tradsys_wasm_faulty"), dir.join("modules/faulty.wasm")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.json("/plugins").as_array().unwrap().iter().any(|p| p["name"] == "wasm-faulty") {
        assert!(Instant::now() < deadline, "the dropped module was not loaded: {}", server.log.lock().unwrap());
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, _) = server.terminate();
    assert_eq!(code, 0);
}

#[test]
fn under_required_approval_serve_takes_only_a_module_sent_with_its_signed_approval() {
    let dir = with_modules("serve-approved", &[]);
    write_bars(&dir.join("bars.csv"), 20_000);
    std::fs::copy(guest("tradsys_wasm_sma_cross"), dir.join("sma-cross.wasm")).unwrap();
    assert!(tradsys(&dir, &["keys", "generate", "--out", "team"]).status.success());
    let compiled = [
        "--plugin",
        "feed:bars-csv",
        "--plugin",
        "matching:fifo",
        "--plugin",
        "strategy:sma-cross",
        "--plugin",
        "indicator:sma",
    ];
    let mut args = vec!["approve", "--key", "team.key", "--out", "compiled.toml"];
    args.extend(compiled);
    assert!(tradsys(&dir, &args).status.success());
    let out = tradsys(&dir, &["approve", "--key", "team.key", "--out", "module.toml", "--module", "sma-cross.wasm"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let config = "[serve]\nrate = 500\n\
         [feed]\nplugin = \"bars-csv\"\nparams = { path = \"bars.csv\", symbol = \"XYZ\" }\n\
         [strategies.trend]\nplugin = \"sma-cross\"\nparams = { fast = 5, slow = 20, qty = 2 }\n\
         [security]\nplugin_dir = \"modules\"\nrequire_approval = true\ntrusted_keys = [\"team.pub\"]\napprovals = [\"compiled.toml\"]\n";
    let server = Server::start(&dir, config, &[]);
    let module = std::fs::read(dir.join("sma-cross.wasm")).unwrap();
    let encoded = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &module);
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();

    let (status, body) = server.send_bytes("/plugins", &module, Some(TOKEN));
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("requires approval"), "{body}");
    // An approval that does not list it.
    let other =
        json!({ "module": encoded, "approval": read("compiled.toml"), "signature": read("compiled.toml.minisig") });
    let (status, body) = server.admin("POST", "/plugins", Some(&other));
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("strategy wasm-sma-cross@1.0.0 is not approved: no approval lists it"),
        "{body}"
    );
    // Its approval, changed after signing.
    let forged = json!({ "module": encoded, "approval": read("module.toml").replace("submit-orders", "cancel-orders\", \"submit-orders"), "signature": read("module.toml.minisig") });
    let (status, body) = server.admin("POST", "/plugins", Some(&forged));
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("the signature does not match"), "{body}");
    assert!(!server.json("/plugins").as_array().unwrap().iter().any(|p| p["name"] == "wasm-sma-cross"));

    let sent = json!({ "module": encoded, "approval": read("module.toml"), "signature": read("module.toml.minisig") });
    let (status, body) = server.admin("POST", "/plugins", Some(&sent));
    assert_eq!(status, 201, "{body}");
    assert!(dir.join("modules/wasm-sma-cross-1.0.0.approval.toml.minisig").is_file(), "the approval is kept beside it");
    let add = json!({ "id": "w", "plugin": "wasm-sma-cross", "params": { "fast": 5, "slow": 20, "qty": 1 } });
    let (status, body) = server.admin("POST", "/strategies", Some(&add));
    assert_eq!(status, 200, "admitted by the approval kept beside it: {body}");
    assert_eq!(server.component("w")["state"], "started");
    assert_eq!(server.terminate().0, 0);
}
