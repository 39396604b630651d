//! `tradsys sweep` through the real binary: results that do not depend on `--jobs`, rows equal to
//! the runs they stand for, walk-forward windows equal to sweeps of their test ranges, the
//! outputs, and bad input named and refused before anything runs.

mod support;

use std::path::{Path, PathBuf};

use support::{dir, text, tradsys};

fn example(name: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    root.join("examples").join(name).display().to_string()
}

const FAST: &str = "strategies.trend.params.fast=5..20:5";
const SLOW: &str = "strategies.trend.params.slow=30,40,50";

/// Runs a sweep of the Yahoo example in `dir`; panics unless it exits 0.
fn sweep(dir: &Path, extra: &[&str]) -> String {
    let config = example("own-data-yahoo.toml");
    let mut args = vec!["sweep", "-c", &config, "--grid", FAST, "--grid", SLOW];
    args.extend(extra);
    let output = tradsys(dir, &args);
    assert!(output.status.success(), "{}\n{}", text(&output.stdout), text(&output.stderr));
    text(&output.stdout)
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The value of `column` in the CSV row whose first field is `first`.
fn cell(csv: &str, first: &str, column: &str) -> String {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = header.iter().position(|c| *c == column).unwrap_or_else(|| panic!("no column {column}"));
    let row = lines.find(|line| line.split(',').next() == Some(first)).unwrap_or_else(|| panic!("no row {first}"));
    row.split(',').nth(at).unwrap().to_owned()
}

#[test]
fn results_are_the_same_whatever_the_jobs_and_every_run_is_a_row() {
    let dir = dir("sweep-jobs");
    let one = sweep(&dir, &["--jobs", "1", "--out", "one.csv"]);
    let three = sweep(&dir, &["--jobs", "3", "--out", "three.csv"]);
    assert_eq!(one, three, "the table");
    let csv = read(dir.join("one.csv"));
    assert_eq!(csv, read(dir.join("three.csv")), "the results file, byte for byte");
    assert_eq!(csv.lines().count(), 1 + 12, "a header and one row per run");
    assert!(csv.starts_with("run,strategies.trend.params.fast,strategies.trend.params.slow,duration_days,"));
    // The first key varies slowest.
    assert_eq!(
        (cell(&csv, "4", "strategies.trend.params.fast"), cell(&csv, "4", "strategies.trend.params.slow")),
        ("10".to_owned(), "40".to_owned())
    );
    assert!(one.contains("12 runs over 520 events"), "{one}");
}

#[test]
fn a_row_holds_the_statistics_a_run_with_the_same_values_reports() {
    let dir = dir("sweep-vs-run");
    sweep(&dir, &["--out", "all.csv"]);
    let csv = read(dir.join("all.csv"));
    let config = example("own-data-yahoo.toml");
    let run = tradsys(
        &dir,
        &[
            "run",
            "-c",
            &config,
            "--set",
            "strategies.trend.params.fast=15",
            "--set",
            "strategies.trend.params.slow=50",
            "--report",
            "report.json",
            "--quiet",
        ],
    );
    assert!(run.status.success(), "{}", text(&run.stderr));
    let report: serde_json::Value = serde_json::from_str(&read(dir.join("report.json"))).unwrap();
    let statistics = &report["total"]["statistics"];
    // Run 8 is fast = 15, slow = 50.
    for stat in ["return_pct", "sharpe", "max_drawdown_pct", "trades", "sqn", "equity_final"] {
        let ours: f64 = cell(&csv, "8", stat).parse().unwrap();
        assert_eq!(ours, statistics[stat].as_f64().unwrap(), "{stat}");
    }
}

#[test]
fn the_table_ranks_by_the_sort_statistic_and_the_heatmap_is_drawn() {
    let dir = dir("sweep-rank");
    let table = sweep(&dir, &["--sort-by", "max_drawdown_pct", "--ascending", "--top", "3", "--heatmap", "map.svg"]);
    let rows: Vec<&str> = table.lines().skip(2).collect();
    assert_eq!(rows.len(), 3, "{table}");
    let drawdowns: Vec<f64> = rows.iter().map(|r| r.split_whitespace().nth(4).unwrap().parse().unwrap()).collect();
    assert!(drawdowns.windows(2).all(|w| w[0] <= w[1]), "lowest first: {drawdowns:?}");
    let svg = read(dir.join("map.svg"));
    assert!(svg.contains("<svg") && svg.matches("<rect").count() >= 12, "a cell per pair");
    assert!(svg.contains("max_drawdown_pct"), "the title names the statistic");
}

#[test]
fn from_and_to_cut_the_data() {
    let dir = dir("sweep-range");
    let table = sweep(&dir, &["--from", "2023-01-01", "--to", "2023-07-01"]);
    assert!(table.contains("over 130 events (2023-01-02T00:00:00Z to 2023-06-30T00:00:00Z)"), "{table}");
}

#[test]
fn each_walk_forward_window_picks_its_best_in_sample_run_and_trades_only_its_test_window() {
    let dir = dir("sweep-walk");
    let table = sweep(&dir, &["--walk-forward", "180d,90d", "--sort-by", "return_pct", "--out", "walk.csv"]);
    assert!(table.contains("walk-forward over 7 windows of 12 runs"), "{table}");
    let csv = read(dir.join("walk.csv"));
    assert_eq!(csv.lines().count(), 1 + 7);
    // Window 2's choice is the best run of a plain sweep over its training range.
    let (train_from, train_to) = (cell(&csv, "2", "train_from"), cell(&csv, "2", "train_to"));
    let config = example("own-data-yahoo.toml");
    let args = ["sweep", "-c", &config, "--grid", FAST, "--grid", SLOW, "--from", &train_from, "--to", &train_to];
    let args: Vec<&str> =
        args.iter().copied().chain(["--sort-by", "return_pct", "--top", "1", "--out", "train.csv"]).collect();
    let output = tradsys(&dir, &args);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let best = text(&output.stdout).lines().nth(2).unwrap().split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(best[2], cell(&csv, "2", "strategies.trend.params.fast"), "{best:?}");
    assert_eq!(best[3], cell(&csv, "2", "strategies.trend.params.slow"), "{best:?}");
    let in_sample: f64 = cell(&csv, "2", "in_sample_return_pct").parse().unwrap();
    let train = read(dir.join("train.csv"));
    assert_eq!(in_sample, cell(&train, best[1].as_str(), "return_pct").parse::<f64>().unwrap());
    // Out of sample, the run warms up on the training window and is measured on the test window.
    for window in 0..7 {
        let days: f64 = cell(&csv, &window.to_string(), "duration_days").parse().unwrap_or(0.0);
        assert!(days <= 90.0, "window {window} measured {days} days");
    }
    assert!(table.contains("out-of-sample return, compounded over the windows:"), "{table}");
}

#[cfg(feature = "parquet")]
#[test]
fn parquet_results_hold_the_same_rows_as_csv() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let dir = dir("sweep-parquet");
    sweep(&dir, &["--out", "all.parquet"]);
    sweep(&dir, &["--out", "all.csv"]);
    let reader = SerializedFileReader::new(std::fs::File::open(dir.join("all.parquet")).unwrap()).unwrap();
    let rows: Vec<parquet::record::Row> = reader.get_row_iter(None).unwrap().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 12);
    let csv = read(dir.join("all.csv"));
    let sharpe: f64 = cell(&csv, "7", "sharpe").parse().unwrap();
    let column = rows[7].get_column_iter().find(|(name, _)| *name == "sharpe").map(|(_, field)| field.clone());
    assert_eq!(column, Some(parquet::record::Field::Double(sharpe)));
}

#[test]
fn bad_input_is_named_and_nothing_runs() {
    let dir = dir("sweep-bad");
    let config = example("own-data-yahoo.toml");
    let bad = |args: &[&str]| {
        let mut all = vec!["sweep", "-c", &config];
        all.extend(args);
        let output = tradsys(&dir, &all);
        assert_eq!(output.status.code(), Some(2), "{}", text(&output.stdout));
        text(&output.stderr)
    };
    let message = bad(&["--grid", "strategies.trend.params.fast=20..5", "--out", "x.csv"]);
    assert!(message.contains("TO is below FROM"), "{message}");
    let message = bad(&["--grid", FAST, "--sort-by", "sharp"]);
    assert!(message.contains("did you mean \"sharpe\""), "{message}");
    let message = bad(&["--grid", "strategies.trend.params.fast=10,60", "--out", "x.csv"]);
    assert!(message.contains("run 1 (strategies.trend.params.fast=60)"), "{message}");
    assert!(message.contains("1 of 2 runs have a bad configuration; nothing was run"), "{message}");
    assert!(message.contains("--skip-invalid leaves such runs out"), "{message}");
    let message = bad(&["--grid", FAST, "--from", "2030-01-01"]);
    assert!(message.contains("no data to sweep between --from and --to"), "{message}");
    let message = bad(&["--grid", "feed.params.path=a.csv,b.csv"]);
    assert!(message.contains("[feed] cannot vary"), "{message}");
    let message = bad(&["--grid", FAST, "--walk-forward", "10y,1y"]);
    assert!(message.contains("shorter than one training window"), "{message}");
    assert!(!dir.join("x.csv").exists(), "no output is left behind");
}

#[test]
fn skip_invalid_leaves_out_the_runs_a_plugin_refuses() {
    let dir = dir("sweep-skip");
    let config = example("own-data-yahoo.toml");
    let args =
        ["sweep", "-c", &config, "--grid", "strategies.trend.params.fast=10,60,20", "--skip-invalid", "--out", "x.csv"];
    let output = tradsys(&dir, &args);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let table = text(&output.stdout);
    assert!(table.contains(": 2 runs over") && table.contains("1 runs left out"), "{table}");
    let csv = read(dir.join("x.csv"));
    let runs: Vec<&str> = csv.lines().skip(1).map(|line| line.split(',').next().unwrap()).collect();
    assert_eq!(runs, ["0", "2"], "rows keep their grid run numbers");
}

#[test]
fn a_signal_stops_the_sweep_and_leaves_no_output() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let dir = dir("sweep-signal");
    let config = example("own-data-yahoo.toml");
    // Thousands of runs: far longer than the wait below.
    let child = Command::new(env!("CARGO_BIN_EXE_tradsys"))
        .args(["sweep", "-c", &config, "--grid", "strategies.trend.params.fast=2..29"])
        .args(["--grid", "strategies.trend.params.slow=30..129", "--jobs", "2", "--out", "x.csv", "--quiet"])
        .current_dir(&*dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let started = Instant::now();
    let output = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(60), "the sweep stopped at the next finished run");
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopped by SIGINT before the end: no output was written"), "{stderr}");
    let names: Vec<String> =
        std::fs::read_dir(&*dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.is_empty(), "no results file, whole or partial: {names:?}");
}

#[test]
fn a_config_with_several_strategies_gives_each_its_own_columns() {
    let dir = dir("sweep-strategies");
    let config = example("own-data-yahoo.toml");
    let second = ["--set", "strategies.slow.plugin=sma-cross", "--set", "strategies.slow.params.fast=20"];
    let mut args = vec!["sweep", "-c", &config, "--grid", "strategies.trend.params.fast=5,10"];
    args.extend(second);
    args.extend(["--out", "both.csv", "--sort-by", "slow.return_pct"]);
    let output = tradsys(&dir, &args);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("ranked by slow.return_pct"), "{}", text(&output.stdout));
    let csv = read(dir.join("both.csv"));
    let header = csv.lines().next().unwrap();
    // The total's 30 figures, then 30 a strategy, in id order, then the error.
    assert_eq!(header.split(',').count(), 3 + 30 * 3);
    assert!(
        header.contains(",kelly_criterion,slow.duration_days,") && header.ends_with(",trend.kelly_criterion,error")
    );
    let mut run =
        vec!["run", "-c", &config, "--set", "strategies.trend.params.fast=10", "--report", "r.json", "--quiet"];
    run.extend(second);
    let ran = tradsys(&dir, &run);
    assert!(ran.status.success(), "{}", text(&ran.stderr));
    let report: serde_json::Value = serde_json::from_str(&read(dir.join("r.json"))).unwrap();
    for strategy in report["strategies"].as_array().unwrap() {
        let id = strategy["id"].as_str().unwrap();
        for stat in ["return_pct", "trades", "equity_final"] {
            let ours: f64 = cell(&csv, "1", &format!("{id}.{stat}")).parse().unwrap();
            assert_eq!(ours, strategy["statistics"][stat].as_f64().unwrap(), "{id}.{stat}");
        }
    }
    let total: f64 = cell(&csv, "1", "return_pct").parse().unwrap();
    assert_eq!(total, report["total"]["statistics"]["return_pct"].as_f64().unwrap());
    // A strategy the config does not have is named.
    let mut bad =
        vec!["sweep", "-c", &config, "--grid", "strategies.trend.params.fast=5,10", "--sort-by", "fast.sharpe"];
    bad.extend(second);
    let refused = tradsys(&dir, &bad);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        text(&refused.stderr).contains(r#"no strategy "fast" in the config; expected one of slow, trend"#),
        "{}",
        text(&refused.stderr)
    );
}
