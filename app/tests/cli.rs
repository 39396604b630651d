//! Binary-level tests: the real `tradsys` binary, its output, files and exit codes.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn tradsys(args: &[&str]) -> Output {
    tradsys_with_env(args, &[])
}

fn tradsys_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tradsys"));
    command.args(args).current_dir(workspace()).env_remove("TRADSYS_LOG");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run tradsys")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn temp(name: &str) -> PathBuf {
    // Cargo's scratch directory for integration tests: reused run after run, gone with `cargo clean`.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn write_config(name: &str, body: &str) -> PathBuf {
    let path = temp(name);
    std::fs::write(&path, body).unwrap();
    path
}

#[test]
fn plugins_json_lists_exactly_the_enabled_plugin_set() {
    let out = tradsys(&["plugins", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = listing.as_array().unwrap();
    let mut features: BTreeSet<String> = items.iter().map(|c| c["feature"].as_str().unwrap().to_owned()).collect();
    // A plugin may register a module loader (wasm-host: `.wasm` modules) instead of components.
    features.extend(
        tradsys_core::module::module_loader_registrations()
            .filter_map(|r| tradsys::plugins::feature_of_crate(r.crate_name))
            .map(str::to_owned),
    );
    let enabled: BTreeSet<String> = tradsys::plugins::enabled().into_iter().map(str::to_owned).collect();
    assert_eq!(features, enabled, "every enabled plugin registers, and nothing else does");
    let sma = items.iter().find(|c| c["name"] == "sma-cross").unwrap();
    assert_eq!(sma["kind"], "strategy");
    assert_eq!(sma["version"], "1.0.0");
    assert_eq!(sma["api_version"], "1.1.0");
    assert_eq!(sma["crate"], "tradsys-plugin-strategy-sma-cross");
    assert_eq!(sma["dependencies"][0]["name"], "sma");
    assert_eq!(sma["params"]["slow"], 30);
    assert!(sma["capabilities"].as_array().unwrap().iter().any(|c| c == "submit-orders"));
    // Every parameter of every built-in, user-facing plugin says what it means.
    for item in items.iter().filter(|c| c["feature"] != "test-faulty") {
        for key in item["params"].as_object().map(|p| p.keys().collect::<Vec<_>>()).unwrap_or_default() {
            let doc = item["param_docs"][key].as_str().unwrap_or_default();
            assert!(doc.len() > 10, "{} parameter {key} has no meaning: {item}", item["name"]);
        }
    }
}

#[test]
fn plugins_shows_each_parameter_with_its_default_and_meaning() {
    let out = tradsys(&["plugins", "--kind", "strategy"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let line = table.lines().find(|l| l.trim_start().starts_with("slow = 30")).unwrap_or_default();
    assert!(line.contains("Slow SMA period"), "{table}");
}

#[test]
fn plugins_filters_by_kind_and_refuses_unknown_kinds() {
    let out = tradsys(&["plugins", "--kind", "matching"]);
    assert!(out.status.success());
    let table = text(&out.stdout);
    assert!(table.contains("fifo") && table.contains("pro-rata") && !table.contains("sma-cross"), "{table}");
    let out = tradsys(&["plugins", "--kind", "strategi"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown kind \"strategi\"; did you mean \"strategy\"?"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn version_prints_the_plugin_set() {
    let out = tradsys(&["--version"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("tradsys 0.1.0\n"), "{stdout}");
    assert!(stdout.contains("plugins: matching-fifo, matching-pro-rata,"), "{stdout}");
}

/// Every config under examples/, by name without `.toml`.
fn examples() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| entry.unwrap().file_name().to_str()?.strip_suffix(".toml").map(str::to_owned))
        .collect();
    names.sort();
    assert!(names.len() >= 5, "{names:?}");
    names
}

#[test]
fn every_example_config_checks_clean() {
    for example in examples() {
        let out = tradsys(&["config", "check", &format!("examples/{example}.toml")]);
        assert_eq!(out.status.code(), Some(0), "{example}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains(": ok"), "{}", text(&out.stdout));
    }
}

#[test]
fn bad_configs_exit_2_naming_file_key_and_expectation() {
    let path = write_config(
        "bad.toml",
        r#"[feed]
plugin = "bars-csv"
params = { path = "x.csv", symbool = "X" }

[strategies.trend]
plugin = "sma-crosss"

[strategies.other]
plugin = "sma-cross"
version = "^7"

[strategies.third]
plugin = "mean-reversion"
params = { qty = "lots" }

[risk.size]
plugin = "max-order-qty"
orderr = 1
"#,
    );
    let out = tradsys(&["config", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    let file = path.display().to_string();
    for expected in [
        format!("{file}: key risk.size.orderr: unknown key; did you mean \"order\"?"),
        "error in the configuration".to_owned(),
    ] {
        assert!(stderr.contains(&expected), "missing {expected:?} in:\n{stderr}");
    }
    // Structural errors stop before plugin lookup; fix that one and the rest all show at once.
    let fixed = std::fs::read_to_string(&path).unwrap().replace("orderr", "order");
    std::fs::write(&path, fixed).unwrap();
    let out = tradsys(&["config", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    for expected in [
        format!(
            "{file}: key strategies.trend.plugin: unknown strategy plugin \"sma-crosss\"; did you mean \"sma-cross\"?"
        ),
        format!(
            "{file}: key strategies.other.version: no version of strategy plugin \"sma-cross\" matches ^7 (available: 1.0.0); see docs/troubleshooting.md#version-not-found"
        ),
        "sma-cross); see docs/troubleshooting.md#plugin-not-in-the-registry".to_owned(),
        format!(
            "{file}: key feed.params.symbool: feed bars-csv@1.0.0: unknown parameter \"symbool\"; did you mean \"symbol\"?"
        ),
        format!("{file}: key strategies.third.params.qty: strategy mean-reversion@1.0.0: parameter qty: invalid type"),
        "4 errors in the configuration".to_owned(),
    ] {
        assert!(stderr.contains(&expected), "missing {expected:?} in:\n{stderr}");
    }
}

#[test]
fn env_and_set_layers_are_named_in_errors_and_shown_as_sources() {
    let out = tradsys_with_env(
        &["config", "check", "examples/bars-sma-cross.toml"],
        &[("TRADSYS_SESSION__SEED", "not-a-number")],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("environment variable TRADSYS_SESSION__SEED: key session.seed: invalid type"), "{stderr}");

    let out = tradsys(&["config", "check", "examples/bars-sma-cross.toml", "--set", "strategies.trend.params.fast=50"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("need fast < slow"), "{}", text(&out.stderr));

    let out = tradsys_with_env(
        &["config", "show", "examples/bars-sma-cross.toml", "--set", "session.seed=9"],
        &[("TRADSYS_SESSION__INITIAL_CASH", "5000")],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&out.stdout);
    let line = |key: &str| shown.lines().find(|l| l.starts_with(&format!("{key} ="))).unwrap_or_default().to_owned();
    assert!(line("session.seed").ends_with("# --set session.seed=9"), "{shown}");
    assert!(line("session.initial_cash").ends_with("# environment variable TRADSYS_SESSION__INITIAL_CASH"), "{shown}");
    assert!(line("strategies.trend.params.fast").ends_with("# examples/bars-sma-cross.toml"), "{shown}");
    assert!(line("matching.plugin").ends_with("# built-in defaults"), "{shown}");
}

#[test]
fn missing_and_malformed_files_are_bad_input() {
    let out = tradsys(&["config", "check", "no/such/file.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no/such/file.toml: cannot read the config file"), "{}", text(&out.stderr));
    let path = write_config("broken.toml", "[session\nseed = 1\n");
    let out = tradsys(&["config", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("line 1"), "{}", text(&out.stderr));
    let out = tradsys(&["replay", "--orders", "no/such.csv"]);
    assert_eq!(out.status.code(), Some(2));
    let out = tradsys(&["replay", "--orders", "examples/data/orders-sample.csv", "--algo", "fifoo"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("did you mean \"fifo\""), "{}", text(&out.stderr));
    let out = tradsys(&["bogus-command"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn gen_and_replay_are_deterministic_byte_for_byte() {
    let orders = temp("gen.csv");
    let generate =
        |seed: &str| tradsys(&["gen", "orders", "--count", "5000", "--seed", seed, "--out", orders.to_str().unwrap()]);
    assert!(generate("11").status.success());
    let first = std::fs::read(&orders).unwrap();
    assert!(generate("11").status.success());
    assert_eq!(first, std::fs::read(&orders).unwrap());
    let events = |name: &str| {
        let out = temp(name);
        let run = tradsys(&["replay", "--orders", orders.to_str().unwrap(), "--book", "--out", out.to_str().unwrap()]);
        assert!(run.status.success(), "{}", text(&run.stderr));
        assert!(text(&run.stderr).contains("replay: 5000 rows (0 malformed"), "{}", text(&run.stderr));
        std::fs::read(out).unwrap()
    };
    let (a, b) = (events("a.jsonl"), events("b.jsonl"));
    assert_eq!(a, b, "replay output differs between runs");
    let text = String::from_utf8(a).unwrap();
    for line in text.lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(event["event"].is_string());
    }
    assert!(text.lines().last().unwrap().starts_with("{\"event\":\"book\",\"symbol\":\"XYZ\",\"bids\":[[\""));
}

#[test]
fn malformed_rows_are_reported_with_line_numbers_and_strict_aborts() {
    let orders = write_config(
        "bad-rows.csv",
        "action,id,symbol,side,type,price,qty,tif,owner\nnew,1,X,buy,limit,10,5,gtc,\nnew,2,X,sideways,limit,10,5,gtc,\nnew,3,X,sell,limit,10,2,gtc,\n",
    );
    let out = tradsys(&["replay", "--orders", orders.to_str().unwrap()]);
    assert!(out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("1 bad input rows skipped: ")
            && stderr.contains("line 3: side must be buy or sell, got \"sideways\""),
        "{stderr}"
    );
    assert!(stderr.contains("replay: 3 rows (1 malformed, skipped)"), "{stderr}");
    let stdout = text(&out.stdout);
    assert!(
        stdout
            .contains(r#"{"event":"trade","symbol":"X","price":"10","qty":2,"maker":1,"taker":3,"aggressor":"sell"}"#),
        "{stdout}"
    );
    let out = tradsys(&["replay", "--orders", orders.to_str().unwrap(), "--strict"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("replay: stopped at line 3") && stderr.contains("(--strict)"), "{stderr}");
}

#[test]
fn run_writes_reports_that_repeat_byte_for_byte() {
    let run = |tag: &str| {
        let (report, trades, equity, plot) = (
            temp(&format!("{tag}.json")),
            temp(&format!("{tag}-trades.csv")),
            temp(&format!("{tag}-equity.csv")),
            temp(&format!("{tag}.svg")),
        );
        let out = tradsys(&[
            "run",
            "--config",
            "examples/bars-sma-cross.toml",
            "--report",
            report.to_str().unwrap(),
            "--trades",
            trades.to_str().unwrap(),
            "--equity",
            equity.to_str().unwrap(),
            "--plot",
            plot.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let mut report: serde_json::Value = serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap();
        // Exactly the parts documented to vary are removed (the timing and one runtime section
        // per component); everything else must repeat.
        let components = report["components"].as_array().unwrap().len();
        assert!(components >= 4, "{report}");
        assert_eq!(tradsys::run::without_varying_parts(&mut report), 1 + components);
        (
            report,
            std::fs::read(trades).unwrap(),
            std::fs::read(equity).unwrap(),
            std::fs::read_to_string(plot).unwrap(),
            text(&out.stdout),
        )
    };
    let first = run("one");
    let second = run("two");
    assert_eq!(first.0, second.0, "reports differ outside their documented varying parts");
    assert_eq!(first.1, second.1, "trades differ");
    assert_eq!(first.2, second.2, "equity differs");
    let report = &first.0;
    assert_eq!(report["mode"], "bars");
    assert_eq!(report["bars"], 5000);
    assert_eq!(report["strategies"][0]["id"], "trend");
    assert!(report["strategies"][0]["trades"].as_u64().unwrap() > 10);
    let trades = String::from_utf8(first.1).unwrap();
    assert!(trades.starts_with("strategy,symbol,side,qty,entry_time,entry_bar,entry_price,exit_time,exit_bar,exit_price,gross_pnl,commission,net_pnl,return_pct,duration_days\ntrend,EURUSD,"));
    // The CSV and the report agree: every trip's gross PnL sums to the realized PnL (sma-cross
    // reverses, so every realized fill closes a trip), net = gross − commission on each row, and
    // the statistics count the rows.
    let rows: Vec<Vec<&str>> = trades.lines().skip(1).map(|line| line.split(',').collect()).collect();
    let decimal = |text: &str| -> i128 { (text.parse::<f64>().unwrap() * 1e8).round() as i128 };
    let gross: i128 = rows.iter().map(|row| decimal(row[10])).sum();
    assert_eq!(gross, decimal(report["strategies"][0]["realized_pnl"].as_str().unwrap()));
    assert!(rows.iter().all(|row| decimal(row[10]) - decimal(row[11]) == decimal(row[12])), "net = gross - commission");
    assert_eq!(rows.len() as u64, report["strategies"][0]["statistics"]["trades"].as_u64().unwrap());
    let best = rows.iter().map(|row| row[13].parse::<f64>().unwrap()).fold(f64::MIN, f64::max);
    let reported = report["strategies"][0]["statistics"]["best_trade_pct"].as_f64().unwrap();
    assert!((best - reported).abs() < 1e-6, "{best} vs {reported}");
    let equity = String::from_utf8(first.2).unwrap();
    assert_eq!(equity.lines().count(), 5001, "a header and one mark per bar");
    assert!(first.3.starts_with("<svg") && first.3.contains("Return of equity"), "the plot is an SVG with its caption");
    assert!(
        first.3.contains("tradsys run: examples/bars-sma-cross.toml") && first.3.contains("\n2017-04-19\n"),
        "titled, dated"
    );
    let summary = &first.4;
    assert!(summary.contains("(bar mode): 5000 events, 5000 bars"), "{summary}");
    assert!(summary.contains("trend        sma-cross@1.0.0"), "{summary}");
    assert!(summary.contains("risk chain, in order:") && summary.contains("max-order-qty@1.0.0"), "{summary}");
}

#[test]
fn every_example_runs() {
    for example in examples() {
        let mode = if example.starts_with("order-flow") { "order-flow mode" } else { "bar mode" };
        let out = tradsys(&["run", "--config", &format!("examples/{example}.toml")]);
        assert!(out.status.success(), "{example}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains(mode), "{}", text(&out.stdout));
    }
    let out = tradsys(&["run", "--config", "examples/risk-heavy.toml"]);
    let summary = text(&out.stdout);
    assert!(summary.contains("halted by risk:kill: loss"), "{summary}");
}

/// The "bring your own data" examples: published layouts read as they are, with trades, and the
/// guessed tick said in the summary and recorded in the report.
#[test]
fn own_data_examples_trade_and_say_which_tick_was_inferred() {
    for (example, bars, tick) in [
        ("own-data-yahoo", 520, "ACME 0.000001"),
        ("own-data-binance", 1500, "BTCUSDT 0.01"),
        ("own-data-parquet", 520, "ACME 0.000001"),
    ] {
        let report_path = temp(&format!("{example}.json"));
        let out = tradsys(&[
            "run",
            "--config",
            &format!("examples/{example}.toml"),
            "--report",
            report_path.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{example}: {}", text(&out.stderr));
        let summary = text(&out.stdout);
        assert!(summary.contains(&format!("{bars} events, {bars} bars")), "{summary}");
        assert!(
            summary.contains(&format!("tick inferred from the data's prices (no [instruments] entry): {tick}")),
            "{summary}"
        );
        assert!(!summary.contains("bad input rows"), "{summary}");
        let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
        assert!(report["strategies"][0]["trades"].as_u64().unwrap() > 5, "{example} trades");
        let instrument = &report["instruments"][0];
        assert_eq!(instrument["tick_origin"], "inferred");
        assert_eq!(
            format!("{} {}", instrument["symbol"].as_str().unwrap(), instrument["tick"].as_str().unwrap()),
            tick
        );
    }
}

/// A fractional lot (0.001 BTC) scales every amount of a trade by exactly that: the same trades,
/// with gross PnL and commission a thousandth of those of a one-unit lot.
#[test]
fn a_fractional_lot_size_scales_money_not_quantities() {
    let trades = |lot: &str| {
        let set = format!("instruments.BTCUSDT.lot_size={lot}");
        let csv = trades_of("own-data-binance", &format!("lot-{lot}"), &["--set", &set]);
        csv.lines().skip(1).map(|l| l.split(',').map(str::to_owned).collect()).collect::<Vec<Vec<String>>>()
    };
    let whole = trades("1");
    let milli = trades("\"0.001\"");
    assert!(whole.len() > 5);
    assert_eq!(whole.len(), milli.len());
    let number = |text: &str| text.parse::<f64>().unwrap();
    for (w, m) in whole.iter().zip(&milli) {
        // strategy, symbol, side, qty, entry and exit times and prices: identical.
        assert_eq!(w[..10], m[..10]);
        // gross_pnl and commission: a thousandth, to the 8th decimal.
        for column in [10, 11] {
            assert!((number(&w[column]) / 1000.0 - number(&m[column])).abs() < 1.5e-8, "{w:?} {m:?}");
        }
    }
    // The effective config shows the lot size as given.
    let out = tradsys(&[
        "config",
        "show",
        "examples/own-data-binance.toml",
        "--set",
        "instruments.BTCUSDT.lot_size=\"0.001\"",
    ]);
    assert!(text(&out.stdout).contains("instruments.BTCUSDT.lot_size = \"0.001\""), "{}", text(&out.stdout));
}

/// pandas' Parquet of the Yahoo CSV gives the same trades, to the byte.
#[test]
fn a_parquet_file_trades_exactly_like_its_csv() {
    let csv = trades_of("own-data-yahoo", "csv", &[]);
    assert!(csv.lines().count() > 5, "{csv}");
    assert_eq!(trades_of("own-data-parquet", "parquet", &[]), csv);
}

/// The trades CSV of a run of `examples/{example}.toml` with `args` added (`name` keeps the
/// file apart from other runs').
fn trades_of(example: &str, name: &str, args: &[&str]) -> String {
    let path = temp(&format!("{example}-{name}-trades.csv"));
    let config = format!("examples/{example}.toml");
    let mut all = vec!["run", "--config", &config, "--trades", path.to_str().unwrap(), "--quiet"];
    all.extend_from_slice(args);
    let out = tradsys(&all);
    assert!(out.status.success(), "{example} {args:?}: {}", text(&out.stderr));
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn config_default_prints_the_embedded_config_and_show_fills_in_plugin_defaults() {
    let out = tradsys(&["config", "default"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let embedded = std::fs::read_to_string(workspace().join("app/src/default.toml")).unwrap();
    assert_eq!(text(&out.stdout), embedded);
    let out = tradsys(&["config", "show", "examples/own-data-yahoo.toml"]);
    let shown = text(&out.stdout);
    let line = |key: &str| shown.lines().find(|l| l.starts_with(&format!("{key} "))).unwrap_or_default().to_owned();
    assert!(
        line("feed.params.time_unit").contains("= \"auto\"")
            && line("feed.params.time_unit").ends_with("# default of bars-csv@1.0.0"),
        "{shown}"
    );
    assert!(line("feed.params.adjusted").ends_with("# examples/own-data-yahoo.toml"), "{shown}");
    let out = tradsys(&["config", "show", "examples/bars-sma-cross.toml", "--set", "instruments.GBPUSD.tick=0.0001"]);
    let shown = text(&out.stdout);
    assert!(
        shown.lines().any(|l| l.starts_with("instruments.GBPUSD.lot_size = 1 ") && l.ends_with("# built-in default")),
        "{shown}"
    );
}

#[test]
fn a_bars_file_with_no_usable_bar_exits_2_naming_it() {
    let data = temp("header-only.csv");
    std::fs::write(&data, "time,open,high,low,close\n").unwrap();
    let config = write_config(
        "header-only.toml",
        &format!(
            "[feed]\nplugin = \"bars-csv\"\nparams = {{ path = \"{}\" }}\n[strategies.t]\nplugin = \"sma-cross\"\n",
            data.display()
        ),
    );
    let out = tradsys(&["run", "--config", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("header-only.csv: no usable bars: the file has a header and no rows"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_embedded_default_runs_without_a_config() {
    let out = tradsys(&["run", "--set", "feed.params.count=20000"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stdout);
    assert!(summary.contains("embedded default config (order-flow mode): 20000 events"), "{summary}");
    for strategy in ["market-maker@1.0.0", "sma-cross@1.0.0"] {
        assert!(summary.contains(strategy), "{summary}");
    }
    for validator in ["kill-switch", "max-order-qty", "max-notional", "max-position", "price-collar", "order-rate"] {
        assert!(summary.contains(validator), "{validator} missing from the chain:\n{summary}");
    }
}

#[test]
fn an_unwritable_output_is_bad_input_found_before_the_run() {
    for (flag, file) in [("--report", "out.json"), ("--metrics", "out.prom"), ("--plot", "out.png")] {
        let path = format!("/nonexistent-dir/{file}");
        let out = tradsys(&["run", "--set", "feed.params.count=1000", flag, &path]);
        assert_eq!(out.status.code(), Some(2), "{flag}: {}", text(&out.stderr));
        let expected = format!("{flag} {path}: the directory /nonexistent-dir cannot be used");
        assert!(text(&out.stderr).contains(&expected), "{}", text(&out.stderr));
        assert!(out.stdout.is_empty(), "{flag}: nothing ran");
    }
}

#[test]
fn run_input_errors_exit_2() {
    let out = tradsys(&["run", "--config", "examples/bars-sma-cross.toml", "--set", "feed.params.path=missing.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("missing.csv: cannot open"), "{}", text(&out.stderr));
    let out = tradsys(&["run", "--set", "session.bar_source=bars-1m"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr)
            .contains("key session.bar_source: no indicator \"bars-1m\" is configured; did you mean \"bars-1s\"?"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn every_example_reports_metrics_for_every_component_in_json_and_prometheus() {
    let configs =
        ["examples/bars-sma-cross.toml", "examples/order-flow-market-maker.toml", "examples/risk-heavy.toml", ""];
    for (at, config) in configs.into_iter().enumerate() {
        let report_path = temp(&format!("metrics-{at}.json"));
        let prom_path = temp(&format!("metrics-{at}.prom"));
        let mut args = vec!["run", "--report", report_path.to_str().unwrap(), "--metrics", prom_path.to_str().unwrap()];
        if config.is_empty() {
            args.extend(["--set", "feed.params.count=20000"]);
        } else {
            args.extend(["--config", config]);
        }
        let out = tradsys(&args);
        assert!(out.status.success(), "{config}: {}", text(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
        let prom = std::fs::read_to_string(&prom_path).unwrap();
        let components = report["components"].as_array().unwrap();
        assert!(components.len() >= 3, "{config}: {components:?}");
        for component in components {
            let id = component["id"].as_str().unwrap();
            let metrics = &component["metrics"];
            let calls: u64 = metrics["calls"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum();
            if component["initialized"] == true {
                assert!(calls > 0, "{config}: {id} ran but shows no calls: {metrics}");
                let series = format!("tradsys_component_calls_total{{component=\"{}\"", id.replace('"', "\\\""));
                assert!(prom.contains(&series), "{config}: {id} missing from the Prometheus file");
            }
            assert!(metrics["runtime"]["memory"]["allocated_bytes"].is_u64(), "{config}: {id}");
        }
        // The feed ran and was called once per event, plus once for the end.
        let feed = components.iter().find(|c| c["kind"] == "feed").unwrap();
        assert_eq!(
            feed["metrics"]["calls"]["next_event"].as_u64(),
            report["events"].as_u64().map(|n| n + 1),
            "{config}"
        );
        for line in prom.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{config}: bad sample {line:?}");
            assert!(series.starts_with("tradsys_"), "{config}: {line:?}");
        }
        assert!(prom.contains("# TYPE tradsys_component_calls_total counter"));
        assert!(prom.contains("tradsys_session_complete 1"), "{config}");
    }
}

/// The faulty test plugins are in this binary only when the tests crate's `test-faulty` feature is
/// unified into the build, as `cargo test --workspace` (the README's test command) does.
fn require_faulty_plugins() {
    let out = tradsys(&["plugins", "--kind", "strategy"]);
    assert!(
        text(&out.stdout).contains("faulty-strategy"),
        "this test needs the test-faulty plugins: run it with `cargo test --workspace`, or add `--features test-faulty`"
    );
}

#[test]
fn a_component_failing_during_a_run_exits_1_naming_it_with_every_output_written() {
    require_faulty_plugins();
    let config = write_config(
        "faulty.toml",
        "[feed]\nplugin = \"faulty-feed\"\nparams = { count = 20 }\n\
         [strategies.bad]\nplugin = \"faulty-strategy\"\nparams = { panic_in = \"on_bar\", after = 5 }\n\
         [strategies.good]\nplugin = \"faulty-strategy\"\n",
    );
    let report_path = temp("faulty-report.json");
    let prom_path = temp("faulty.prom");
    let trades_path = temp("faulty-trades.csv");
    let args = [
        "run",
        "--config",
        config.to_str().unwrap(),
        "--report",
        report_path.to_str().unwrap(),
        "--metrics",
        prom_path.to_str().unwrap(),
        "--trades",
        trades_path.to_str().unwrap(),
    ];
    let out = tradsys(&args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "error: strategy bad (faulty-strategy@1.0.0) panicked in on_bar: faulty component panicked on cue"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("thread 'main' panicked"), "a contained panic prints no raw panic text: {stderr}");
    assert!(text(&out.stdout).contains("failures:\n  strategy bad"), "the summary lists it: {}", text(&out.stdout));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
    assert_eq!(report["failures"][0]["id"], "bad");
    assert_eq!(report["complete"], true);
    let prom = std::fs::read_to_string(&prom_path).unwrap();
    let labels =
        |id: &str| format!("{{component=\"{id}\",kind=\"strategy\",plugin=\"faulty-strategy\",version=\"1.0.0\"}}");
    assert!(prom.contains(&format!("tradsys_component_panics_total{} 1", labels("bad"))), "{prom}");
    assert!(prom.contains(&format!("tradsys_component_failed{} 1", labels("bad"))), "{prom}");
    assert!(prom.contains(&format!("tradsys_component_failed{} 0", labels("good"))), "{prom}");
    assert!(trades_path.exists());

    let tolerated = tradsys(&[&args[..], &["--set", "session.tolerate_failures=true"]].concat());
    assert!(tolerated.status.success(), "{}", text(&tolerated.stderr));
}

#[test]
fn a_feed_or_matching_failure_ends_the_run_incomplete() {
    require_faulty_plugins();
    for (body, code, named) in [
        (
            "[feed]\nplugin = \"faulty-feed\"\nparams = { count = 20, panic_in = \"next_event\", after = 4 }\n",
            1,
            "feed feed (faulty-feed@1.0.0) ended the run: panicked in next_event",
        ),
        (
            "[feed]\nplugin = \"faulty-feed\"\nparams = { count = 20, error_after = 4 }\n",
            2,
            "feed feed (faulty-feed@1.0.0) ended the run: faulty feed: the source went away",
        ),
        (
            "[feed]\nplugin = \"faulty-feed\"\nparams = { count = 20, mode = \"order-flow\" }\n[matching]\nplugin = \"faulty-matching\"\nparams = { panic_in = \"match_level\" }\n",
            1,
            "matching matching (faulty-matching@1.0.0) ended the run: panicked in execute",
        ),
    ] {
        let config = write_config("ended.toml", body);
        let report_path = temp("ended.json");
        let out = tradsys(&["run", "--config", config.to_str().unwrap(), "--report", report_path.to_str().unwrap()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{stderr}");
        assert!(stderr.contains(named), "{stderr}");
        assert!(!stderr.contains("thread 'main' panicked"), "{stderr}");
        assert!(text(&out.stdout).contains("INCOMPLETE: the run ended early"), "{}", text(&out.stdout));
        let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();
        assert_eq!(report["complete"], false);
    }
}

#[test]
fn meaningless_alert_budgets_and_pacing_are_config_errors_naming_the_key() {
    let config = write_config(
        "alerts.toml",
        "[feed]\nplugin = \"bars-csv\"\nparams = { path = \"examples/data/EURUSD-1h.csv\", symbol = \"EURUSD\" }\n\
         [serve]\nspeed = -2\n\
         [alerts]\ncheck_every = 0\n[alerts.strategies.trend]\nreject_rate = 1.5\nlatency_p99_us = -1.0\n",
    );
    let out = tradsys(&["config", "check", config.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("key serve.speed: -2 is not positive"), "{stderr}");
    // Structure first: the budgets are judged once the whole config parses.
    let config = write_config(
        "alerts2.toml",
        "[feed]\nplugin = \"bars-csv\"\nparams = { path = \"examples/data/EURUSD-1h.csv\", symbol = \"EURUSD\" }\n\
         [alerts]\ncheck_every = 0\n[alerts.strategies.trend]\nreject_rate = 1.5\nlatency_p99_us = -1.0\n",
    );
    let stderr = text(&tradsys(&["config", "check", config.to_str().unwrap()]).stderr);
    for key in ["alerts.check_every", "alerts.strategies.trend.reject_rate", "alerts.strategies.trend.latency_p99_us"] {
        assert!(stderr.contains(&format!("key {key}:")), "{key}: {stderr}");
    }
}
