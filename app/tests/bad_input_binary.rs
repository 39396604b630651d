//! Bad input against the real binary, as a careless or hostile user gives it: generated command
//! lines, signals in the middle of a run, endless lines under a memory limit, outputs aimed at the
//! inputs. Bounded: a fixed number of cases, each with a deadline. The in-process generators in
//! `tests/tests/bad_input.rs` run thousands more through the same code.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tradsys_core::rng::SplitMix64;

/// Generated command lines per run.
const COMMAND_LINES: usize = 150;

fn scratch(name: &str) -> support::Scratch {
    support::Scratch::new(&format!("tradsys-bad-binary-{}-{name}", std::process::id()))
}

fn tradsys() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tradsys"));
    command.env_remove("TRADSYS_LOG").env_remove("RUST_LOG").stdin(Stdio::null());
    command
}

/// Waits for `child` at most `deadline`; kills it and fails the test past that (a hang).
fn finish(mut child: Child, deadline: Duration, what: &str) -> Output {
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!("{what} hung for {deadline:?}: {}", String::from_utf8_lossy(&output.stderr));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn bars_file(dir: &Path, rows: usize) -> PathBuf {
    let path = dir.join("bars.csv");
    let mut text = String::from("time,open,high,low,close,volume\n");
    for i in 0..rows {
        let price = 100.0 + (i % 50) as f64 / 10.0;
        text.push_str(&format!(
            "{},{price:.2},{:.2},{:.2},{price:.2},5\n",
            1_600_000_000 + i * 60,
            price + 1.0,
            price - 1.0
        ));
    }
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn generated_command_lines_never_crash_hang_or_fail_internally() {
    let dir = scratch("cli");
    let bars = bars_file(&dir, 200);
    let config = dir.join("run.toml");
    std::fs::write(
        &config,
        "[session]\nmax_events = 100\n[feed]\nplugin = \"bars-csv\"\nparams = { path = \"bars.csv\", symbol = \"X\" }\n[strategies.t]\nplugin = \"sma-cross\"\nparams = { fast = 2, slow = 4 }\n",
    )
    .unwrap();
    let words: &[&str] = &[
        "run",
        "config",
        "check",
        "show",
        "replay",
        "gen",
        "orders",
        "plugins",
        "serve",
        "--config",
        "--set",
        "--report",
        "--trades",
        "--equity",
        "--metrics",
        "--plot",
        "--orders",
        "--out",
        "--count",
        "--symbols",
        "--profile",
        "--kind",
        "--format",
        "--log",
        "--log-format",
        "--strict",
        "--book",
        "--quiet",
        "--verbose",
        "--version",
        "--help",
        "-",
        "CONFIG",
        "BARS",
        "DIR",
        "OUT.json",
        "OUT.csv",
        "OUT.png",
        "OUT.prom",
        "x.txt",
        "/nonexistent/a.csv",
        "session.max_events=20",
        "session.seed=[[[[[[",
        "a.b.c=1",
        "feed.params.path=/dev/null",
        "0",
        "-1",
        "7",
        "4294967296",
        "json",
        "table",
        "multi-symbol",
        "strategy",
        "\u{0}",
        "é",
        "",
    ];
    let mut rng = SplitMix64::new(20261202);
    let mut codes = std::collections::BTreeMap::new();
    for case in 0..COMMAND_LINES {
        let mut args: Vec<String> = Vec::new();
        for _ in 0..rng.below(7) {
            let word = words[rng.below(words.len() as u64) as usize];
            let word = match word {
                "CONFIG" => config.display().to_string(),
                "BARS" => bars.display().to_string(),
                "DIR" => dir.display().to_string(),
                out if out.starts_with("OUT.") => dir.join(format!("{case}-{out}")).display().to_string(),
                other => other.to_owned(),
            };
            // An argument cannot hold a NUL; the generator's NUL stands for a control character.
            args.push(word.replace('\u{0}', "\u{1}"));
        }
        // `serve` and the embedded default `run` would run on: bound them.
        if args.iter().any(|a| a == "serve")
            || (args.iter().any(|a| a == "run") && !args.contains(&"--config".to_owned()))
        {
            args.push("--set".to_owned());
            args.push("session.max_events=100".to_owned());
        }
        if args.iter().any(|a| a == "serve") {
            args.push("--exit-at-end".to_owned());
            args.push("--listen".to_owned());
            args.push("127.0.0.1:0".to_owned());
        }
        let child =
            tradsys().args(&args).current_dir(&dir).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let output = finish(child, Duration::from_secs(60), &format!("tradsys {args:?}"));
        let code = output.status.code();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(matches!(code, Some(0 | 2)), "tradsys {args:?} exited {code:?} (0 or 2 expected):\n{stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"), "tradsys {args:?}:\n{stderr}");
        assert!(stderr.len() < 20_000, "tradsys {args:?} wrote {} bytes to stderr", stderr.len());
        *codes.entry(code).or_insert(0) += 1;
    }
    // Neither all refused nor all accepted: the generator reaches both sides.
    assert!(codes.len() == 2, "{codes:?}");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().contains(".partial"))
        .collect();
    assert!(leftovers.is_empty(), "temporary outputs left behind: {leftovers:?}");
}

/// Every line of a CSV output has the header's number of fields and ends in a line break.
fn assert_whole_csv(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'), "{} ends mid-row", path.display());
    let mut lines = text.lines();
    let fields = lines.next().unwrap().split(',').count();
    for line in lines {
        assert_eq!(line.split(',').count(), fields, "{}: {line}", path.display());
    }
}

#[test]
fn sigint_and_sigterm_stop_a_run_between_events_and_every_output_is_whole() {
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let dir = scratch(&format!("signal-{signal}"));
        let child = tradsys()
            .args(["run", "--set", "feed.params.count=200000000", "--report", "report.json", "--trades", "trades.csv"])
            .args(["--equity", "equity.csv", "--metrics", "metrics.prom", "--plot", "plot.svg", "--quiet"])
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Well into the run: the equity curve is being written.
        let started = Instant::now();
        while std::fs::read_dir(&dir).unwrap().count() < 5 || started.elapsed() < Duration::from_millis(700) {
            assert!(started.elapsed() < Duration::from_secs(30), "the run did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().unwrap().success()
        );
        let output = finish(child, Duration::from_secs(60), "the interrupted run");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "SIG{signal}:\n{stderr}");
        assert!(stderr.contains(&format!("stopped by SIG{signal}")), "{stderr}");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
        assert_eq!((report["complete"].as_bool(), report["interrupted"].as_bool()), (Some(false), Some(true)));
        let events = report["events"].as_u64().unwrap();
        assert!(events > 0 && events < 200_000_000, "{events}");
        assert_whole_csv(&dir.join("trades.csv"));
        assert_whole_csv(&dir.join("equity.csv"));
        assert!(std::fs::read_to_string(dir.join("plot.svg")).unwrap().trim_end().ends_with("</svg>"));
        assert!(std::fs::read_to_string(dir.join("metrics.prom")).unwrap().contains("tradsys_component_calls_total"));
        let names: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(names.iter().all(|name| !name.contains(".partial")), "{names:?}");
    }
}

#[test]
fn an_endless_line_is_refused_by_line_number_within_a_memory_limit() {
    let dir = scratch("endless");
    // 1 GiB of zeros and no line break, taking no disk (a sparse file).
    let zeros = dir.join("zeros.csv");
    std::fs::File::create(&zeros).unwrap().set_len(1 << 30).unwrap();
    let config = dir.join("zeros.toml");
    for (plugin, expected) in [
        ("bars-csv", "line 1: the line is 1073741824 bytes long"),
        ("order-flow", "line 1: the line is 1073741824 bytes long"),
    ] {
        std::fs::write(&config, format!("[feed]\nplugin = \"{plugin}\"\nparams = {{ path = \"zeros.csv\" }}\n"))
            .unwrap();
        // 300 MB of address space in all (the binary, its libraries and threads included): the
        // reader keeps at most one 1 MiB line.
        let script = format!("ulimit -v 300000; exec {} run --config zeros.toml", env!("CARGO_BIN_EXE_tradsys"));
        let child = Command::new("sh")
            .args(["-c", &script])
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let output = finish(child, Duration::from_secs(120), plugin);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{plugin}:\n{stderr}");
        assert!(stderr.contains(expected), "{plugin}:\n{stderr}");
    }
    let script =
        format!("ulimit -v 300000; exec {} replay --orders zeros.csv --out out.jsonl", env!("CARGO_BIN_EXE_tradsys"));
    let child = Command::new("sh")
        .args(["-c", &script])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let output = finish(child, Duration::from_secs(120), "replay");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 1: the line is 1073741824 bytes long"), "{stderr}");
    assert!(!dir.join("out.jsonl").exists(), "a refused replay writes nothing");
}

#[test]
fn an_output_never_overwrites_an_input_and_dash_is_standard_output() {
    let dir = scratch("outputs");
    let bars = bars_file(&dir, 100);
    let config = dir.join("run.toml");
    std::fs::write(&config, "[feed]\nplugin = \"bars-csv\"\nparams = { path = \"bars.csv\", symbol = \"X\" }\n[strategies.t]\nplugin = \"sma-cross\"\nparams = { fast = 2, slow = 4 }\n").unwrap();
    let before = (std::fs::read(&bars).unwrap(), std::fs::read(&config).unwrap());
    for (flag, path, says) in [
        ("--equity", "bars.csv", "is the input file of feed.params.path"),
        ("--trades", "./bars.csv", "is the input file of feed.params.path"),
        ("--report", "run.toml", "expected a file ending in .json"),
        ("--plot", "plot.gif", "expected a file ending in .svg or .png"),
        ("--plot", "-", "cannot go to standard output"),
    ] {
        let output = tradsys().args(["run", "--config", "run.toml", flag, path]).current_dir(&dir).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flag} {path}: {stderr}");
        assert!(stderr.contains(says), "{flag} {path}: {stderr}");
    }
    std::fs::rename(&config, dir.join("run.json")).unwrap();
    let output =
        tradsys().args(["run", "--config", "run.json", "--report", "run.json"]).current_dir(&dir).output().unwrap();
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("is the config"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::rename(dir.join("run.json"), &config).unwrap();
    assert_eq!((std::fs::read(&bars).unwrap(), std::fs::read(&config).unwrap()), before, "the inputs are untouched");
    // `-` writes the report to standard output; the summary table goes to standard error.
    let mut child = tradsys()
        .args(["run", "--config", "run.toml", "--report", "-"])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    let output = finish(child, Duration::from_secs(60), "run --report -");
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["complete"], true);
    assert!(String::from_utf8_lossy(&output.stderr).contains("tradsys run: run.toml"));
}
