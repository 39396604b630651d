//! `sweep --nats` and `tradsys worker` against a real NATS server on loopback: the outputs are the
//! bytes `--jobs 1` writes, whatever the workers do (two of them, one killed mid-job, a server
//! restarted mid-sweep, two sweeps at once); a worker refuses what it cannot run, naming why; a
//! config that does not check on a worker is a row with the error; a signal withdraws the jobs;
//! a full jobs' stream is a clear error.

mod support;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use support::nats::NatsServer;
use support::{dir, text, tradsys, write_bars};

const FAST: &str = "strategies.trend.params.fast=5..20:5";
const SLOW: &str = "strategies.trend.params.slow=30,40,50";

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name).display().to_string()
}

/// A `tradsys worker` in the background, its log in a file.
struct Worker {
    child: Option<Child>,
    log: PathBuf,
}

impl Worker {
    /// Starts a worker on `url` in `dir` (its own working directory) with `extra` arguments,
    /// logging at info so the tests see its jobs start.
    fn start(dir: &Path, url: &str, name: &str, extra: &[&str]) -> Worker {
        std::fs::create_dir_all(dir).unwrap();
        let log = dir.join(format!("{name}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_tradsys"))
            .args(["worker", "--nats", url, "--jobs", "1"])
            .args(extra)
            .current_dir(dir)
            .env("TRADSYS_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .expect("start a worker");
        let worker = Worker { child: Some(child), log };
        worker.wait_for("taking sweep jobs", Duration::from_secs(30));
        worker
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log holds `line`.
    fn wait_for(&self, line: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.log().contains(line) {
            assert!(Instant::now() < deadline, "no {line:?} in the worker's log within {within:?}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops it with SIGTERM; returns how many jobs it says it delivered.
    fn stop(mut self) -> usize {
        let child = self.child.take().unwrap();
        signal(&child, "TERM");
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "the worker exits 0 on SIGTERM:\n{}", self.log());
        let summary = text(&output.stdout);
        let done = summary.split(": ").nth(1).and_then(|rest| rest.split(' ').next()).and_then(|n| n.parse().ok());
        done.unwrap_or_else(|| panic!("a summary line: {summary:?}"))
    }

    /// Kills it with SIGKILL: no chance to finish or put anything back.
    fn kill(mut self) {
        let mut child = self.child.take().unwrap();
        signal(&child, "KILL");
        let _ = child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status().unwrap();
    assert!(sent.success());
}

/// Runs `tradsys sweep` in `dir`.
fn sweep(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["sweep"];
    all.extend(args);
    tradsys(dir, &all)
}

/// Runs `tradsys sweep ARGS --nats URL --out OUT` in `dir` on a thread of its own.
fn sweep_in_background(dir: &Path, url: &str, args: &[&str], out: &str) -> std::thread::JoinHandle<Output> {
    let mut all: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    all.extend(["--nats".to_owned(), url.to_owned(), "--out".to_owned(), out.to_owned()]);
    let dir = dir.to_path_buf();
    std::thread::spawn(move || sweep(&dir, &all.iter().map(String::as_str).collect::<Vec<_>>()))
}

fn ok(output: &Output) -> String {
    assert!(output.status.success(), "{}\n{}", text(&output.stdout), text(&output.stderr));
    text(&output.stdout)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The grid over [`slow_config`]: eight runs.
const SLOW_GRID: [&str; 6] = [
    "-c",
    "slow.toml",
    "--grid",
    "strategies.trend.params.fast=4..10:2",
    "--grid",
    "strategies.trend.params.slow=30,40",
];

/// A config of 100,000 bars in `dir`: runs that take a while, so a worker can be caught mid-job.
fn slow_config(dir: &Path) {
    write_bars(&dir.join("bars.csv"), 100_000);
    let config = "[session]\ninitial_cash = \"100000\"\n\
                  [feed]\nplugin = \"bars-csv\"\nparams = { path = \"bars.csv\", symbol = \"XYZ\" }\n\
                  [strategies.trend]\nplugin = \"sma-cross\"\nparams = { fast = 10, slow = 30, qty = 10 }\n";
    std::fs::write(dir.join("slow.toml"), config).unwrap();
}

/// The run (`at`) of every log line of a worker that holds `what` (`job started`, `job done`).
fn jobs_logged(log: &str, what: &str) -> Vec<u64> {
    log.lines()
        .filter(|line| line.contains(what))
        .filter_map(|line| line.split_whitespace().find_map(|field| field.strip_prefix("at=")))
        .map(|at| at.parse().unwrap())
        .collect()
}

/// Runs `work` against the server's JetStream on a runtime of its own.
fn with_jetstream<T>(url: &str, work: impl AsyncFnOnce(async_nats::Client, async_nats::jetstream::Context) -> T) -> T {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let client = async_nats::connect(url).await.expect("the test connects");
        let js = async_nats::jetstream::new(client.clone());
        work(client, js).await
    })
}

/// How many jobs wait on the jobs' stream.
fn jobs_waiting(url: &str) -> u64 {
    with_jetstream(url, async |_, js| match js.get_stream("TRADSYS_SWEEP_JOBS").await {
        Ok(mut stream) => stream.info().await.map(|info| info.state.messages).unwrap_or(0),
        Err(_) => 0,
    })
}

#[test]
fn two_workers_write_the_bytes_of_jobs_1_plain_and_walk_forward() {
    let scratch = dir("nats-sweep-identical");
    let Some(server) = NatsServer::start(&scratch) else { return };
    let config = example("own-data-yahoo.toml");
    let plain = ["-c", &config, "--grid", FAST, "--grid", SLOW, "--sort-by", "return_pct"];
    let local =
        ok(&sweep(&scratch, &[&plain[..], &["--jobs", "1", "--out", "local.csv", "--heatmap", "local.svg"]].concat()));
    let walk = ["-c", &config, "--grid", FAST, "--grid", SLOW, "--walk-forward", "180d,90d"];
    let local_walk = ok(&sweep(&scratch, &[&walk[..], &["--jobs", "1", "--out", "local-walk.csv"]].concat()));

    // The workers run elsewhere: their working directory does not hold the data file.
    let (a, b) = (
        Worker::start(&scratch.join("a"), &server.url, "a", &[]),
        Worker::start(&scratch.join("b"), &server.url, "b", &[]),
    );
    let remote = ok(&sweep(
        &scratch,
        &[&plain[..], &["--nats", &server.url, "--out", "remote.csv", "--heatmap", "remote.svg"]].concat(),
    ));
    let remote_walk = ok(&sweep(&scratch, &[&walk[..], &["--nats", &server.url, "--out", "remote-walk.csv"]].concat()));
    assert_eq!(remote, local, "the table");
    assert_eq!(read(&scratch.join("remote.csv")), read(&scratch.join("local.csv")), "the results, byte for byte");
    assert_eq!(read(&scratch.join("remote.svg")), read(&scratch.join("local.svg")), "the heatmap, byte for byte");
    assert_eq!(remote_walk, local_walk, "the walk-forward table");
    assert_eq!(read(&scratch.join("remote-walk.csv")), read(&scratch.join("local-walk.csv")));
    let windows = String::from_utf8(read(&scratch.join("local-walk.csv"))).unwrap().lines().count() - 1;
    assert!(windows >= 2, "a walk-forward of several windows");
    // Each window: 12 training runs and one test run; no job was run twice.
    assert_eq!(a.stop() + b.stop(), 12 + windows * 13, "every job ran once");
    assert_eq!(jobs_waiting(&server.url), 0, "no job is left on the queue");
}

#[test]
fn a_worker_killed_mid_job_loses_nothing_and_counts_each_run_once() {
    let scratch = dir("nats-sweep-kill");
    let Some(server) = NatsServer::start(&scratch) else { return };
    slow_config(&scratch);
    ok(&sweep(&scratch, &[&SLOW_GRID[..], &["--jobs", "1", "--out", "local.csv"]].concat()));
    let doomed = Worker::start(&scratch.join("doomed"), &server.url, "doomed", &["--ack-wait", "2"]);
    let sweeping = sweep_in_background(&scratch, &server.url, &SLOW_GRID, "remote.csv");
    doomed.wait_for("job started", Duration::from_secs(60));
    let doomed_log = doomed.log.clone();
    doomed.kill();
    let log = std::fs::read_to_string(doomed_log).unwrap();
    let finished = jobs_logged(&log, "job done");
    let killed: Vec<u64> = jobs_logged(&log, "job started").into_iter().filter(|at| !finished.contains(at)).collect();
    assert_eq!(killed.len(), 1, "one job was under way when the worker was killed: {log}");
    let rescuer = Worker::start(&scratch.join("rescuer"), &server.url, "rescuer", &["--ack-wait", "2"]);
    ok(&sweeping.join().unwrap());
    assert_eq!(read(&scratch.join("remote.csv")), read(&scratch.join("local.csv")), "byte for byte, each run once");
    let rescued = jobs_logged(&rescuer.log(), "job done");
    assert!(rescued.contains(&killed[0]), "the killed worker's job {} was run again: {rescued:?}", killed[0]);
    rescuer.stop();
}

#[test]
fn two_sweeps_at_once_on_one_server_stay_apart() {
    let scratch = dir("nats-sweep-two");
    let Some(server) = NatsServer::start(&scratch) else { return };
    let config = example("own-data-yahoo.toml");
    let first = ["-c", config.as_str(), "--grid", FAST, "--grid", SLOW];
    let second = [
        "-c",
        config.as_str(),
        "--grid",
        "strategies.trend.params.fast=3,7",
        "--set",
        "strategies.trend.params.slow=25",
    ];
    ok(&sweep(&scratch, &[&first[..], &["--jobs", "1", "--out", "first-local.csv"]].concat()));
    ok(&sweep(&scratch, &[&second[..], &["--jobs", "1", "--out", "second-local.csv"]].concat()));
    let workers = [
        Worker::start(&scratch.join("a"), &server.url, "a", &[]),
        Worker::start(&scratch.join("b"), &server.url, "b", &[]),
    ];
    let (one, two) = (
        sweep_in_background(&scratch, &server.url, &first, "first.csv"),
        sweep_in_background(&scratch, &server.url, &second, "second.csv"),
    );
    ok(&one.join().unwrap());
    ok(&two.join().unwrap());
    assert_eq!(read(&scratch.join("first.csv")), read(&scratch.join("first-local.csv")));
    assert_eq!(read(&scratch.join("second.csv")), read(&scratch.join("second-local.csv")));
    let done: usize = workers.into_iter().map(Worker::stop).sum();
    assert_eq!(done, 12 + 2);
}

#[test]
fn a_worker_refuses_a_job_of_another_version_or_plugin_set_naming_what_differs() {
    let scratch = dir("nats-sweep-refuse");
    let Some(server) = NatsServer::start(&scratch) else { return };
    let worker = Worker::start(&scratch.join("w"), &server.url, "w", &[]);
    let version = env!("CARGO_PKG_VERSION");
    let job = |sweep: &str, version: &str, plugins: Value| {
        json!({
            "protocol": 1, "version": version, "sweep": sweep, "batch": 0, "at": 0, "sets": [],
            "span": { "from": null, "to": null, "trade_from": null }, "tape": "tape-00", "plugins": plugins,
        })
    };
    let reasons = with_jetstream(&server.url, async |client, js| {
        let mut refusals = client.subscribe("tradsys.sweep.refusals.>").await.unwrap();
        client.flush().await.unwrap();
        // A description for the second sweep: its config loads here, but needs what is not here.
        let spec =
            json!({ "config": { "feed": { "plugin": "synthetic" } }, "config_name": "crafted.toml", "strategies": [] });
        let bucket = js.get_object_store("tradsys-sweeps").await.expect("the worker made the bucket");
        bucket.put("sweep-plugins", &mut spec.to_string().as_bytes()).await.unwrap();
        let sent = [
            ("older", job("older", "0.0.1-old", json!([]))),
            (
                "plugins",
                job(
                    "plugins",
                    version,
                    json!([
                        { "kind": "strategy", "name": "sma-cross", "version": "99.0.0", "digest": null },
                        { "kind": "strategy", "name": "no-such", "version": "1.0.0", "digest": null },
                    ]),
                ),
            ),
        ];
        for (sweep, job) in sent {
            js.publish(format!("tradsys.sweep.jobs.{sweep}"), job.to_string().into()).await.unwrap().await.unwrap();
        }
        let mut reasons = std::collections::BTreeMap::new();
        while reasons.len() < 2 {
            let message =
                tokio::time::timeout(Duration::from_secs(30), refusals.next()).await.expect("a refusal").unwrap();
            let refusal: Value = serde_json::from_slice(&message.payload).unwrap();
            reasons.insert(message.subject.to_string(), refusal["reason"].as_str().unwrap().to_owned());
        }
        // Refused jobs go back on the queue for another worker: still there.
        let mut stream = js.get_stream("TRADSYS_SWEEP_JOBS").await.unwrap();
        assert_eq!(stream.info().await.unwrap().state.messages, 2, "refused jobs are put back, not dropped");
        reasons
    });
    assert_eq!(
        reasons["tradsys.sweep.refusals.older"],
        format!("tradsys {version} (protocol 1) here, the sweep's 0.0.1-old (protocol 1)")
    );
    let plugins = &reasons["tradsys.sweep.refusals.plugins"];
    assert!(plugins.starts_with("strategy sma-cross@99.0.0 is not in this worker (it has "), "{plugins}");
    assert!(plugins.ends_with("; strategy no-such@1.0.0 is not in this worker"), "{plugins}");
    assert!(worker.log().contains("refusing the sweep's jobs"), "{}", worker.log());
}

#[test]
fn a_config_that_does_not_check_on_its_worker_is_a_row_with_the_error() {
    let scratch = dir("nats-sweep-bad-row");
    let Some(server) = NatsServer::start(&scratch) else { return };
    // Modules from `modules/`: there (empty) beside the config, absent where the worker runs.
    std::fs::create_dir_all(scratch.join("modules")).unwrap();
    let config = std::fs::read_to_string(example("own-data-yahoo.toml"))
        .unwrap()
        .replace("path = \"data/", &format!("path = \"{}/", Path::new(&example("data")).display()));
    std::fs::write(scratch.join("modules.toml"), format!("{config}\n[security]\nplugin_dir = \"modules\"\n")).unwrap();
    ok(&sweep(&scratch, &["-c", "modules.toml", "--grid", FAST, "--jobs", "1", "--out", "local.csv"]));
    let _worker = Worker::start(&scratch.join("elsewhere"), &server.url, "w", &[]);
    let output = sweep(&scratch, &["-c", "modules.toml", "--grid", FAST, "--nats", &server.url, "--out", "remote.csv"]);
    assert_eq!(output.status.code(), Some(1), "failed runs exit 1, after the outputs: {}", text(&output.stderr));
    assert!(
        text(&output.stderr).contains("4 of 4 runs ended early or had a failed component"),
        "{}",
        text(&output.stderr)
    );
    let csv = String::from_utf8(read(&scratch.join("remote.csv"))).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4, "a row per run");
    for row in csv.lines().skip(1) {
        assert!(
            row.contains("the sweep's config does not check on this worker") && row.contains("security.plugin_dir"),
            "{row}"
        );
    }
    assert_eq!(
        csv.lines().next(),
        String::from_utf8(read(&scratch.join("local.csv"))).unwrap().lines().next(),
        "the same columns"
    );
}

#[test]
fn a_signal_cancels_the_sweep_and_withdraws_its_jobs() {
    let scratch = dir("nats-sweep-cancel");
    let Some(server) = NatsServer::start(&scratch) else { return };
    let config = example("own-data-yahoo.toml");
    // No worker: the jobs wait on the queue until the signal.
    let child = Command::new(env!("CARGO_BIN_EXE_tradsys"))
        .args(["sweep", "-c", &config, "--grid", FAST, "--grid", SLOW, "--nats", &server.url, "--out", "never.csv"])
        .current_dir(&scratch)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while jobs_waiting(&server.url) < 12 {
        assert!(Instant::now() < deadline, "the sweep's 12 jobs reach the queue");
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(&child, "INT");
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", text(&output.stderr));
    assert_eq!(jobs_waiting(&server.url), 0, "the outstanding jobs are withdrawn");
    assert!(!scratch.join("never.csv").exists(), "no output of a cancelled sweep");
    let objects = with_jetstream(&server.url, async |_, js| {
        let bucket = js.get_object_store("tradsys-sweeps").await.unwrap();
        let mut names = Vec::new();
        let mut list = bucket.list().await.unwrap();
        while let Some(Ok(info)) = list.next().await {
            names.push(info.name);
        }
        names
    });
    assert!(
        objects.iter().all(|name| name.starts_with("tape-")),
        "the description is deleted, the tape kept: {objects:?}"
    );
}

#[test]
fn a_full_jobs_stream_is_a_clear_error_and_writes_nothing() {
    let scratch = dir("nats-sweep-full");
    let Some(server) = NatsServer::start(&scratch) else { return };
    with_jetstream(&server.url, async |_, js| {
        use async_nats::jetstream::stream;
        js.create_stream(stream::Config {
            name: "TRADSYS_SWEEP_JOBS".to_owned(),
            subjects: vec!["tradsys.sweep.jobs.>".to_owned()],
            retention: stream::RetentionPolicy::WorkQueue,
            discard: stream::DiscardPolicy::New,
            max_messages: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    });
    let config = example("own-data-yahoo.toml");
    let output =
        sweep(&scratch, &["-c", &config, "--grid", FAST, "--grid", SLOW, "--nats", &server.url, "--out", "full.csv"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("the server did not take job 5 on stream TRADSYS_SWEEP_JOBS"), "{stderr}");
    assert!(stderr.contains("maximum messages exceeded"), "{stderr}");
    assert!(!scratch.join("full.csv").exists());
    assert_eq!(jobs_waiting(&server.url), 0, "the jobs it did take are withdrawn");
}

#[test]
fn the_server_restarting_mid_sweep_loses_and_duplicates_nothing() {
    let scratch = dir("nats-sweep-restart");
    let Some(server) = NatsServer::start(&scratch) else { return };
    let port = server.port();
    slow_config(&scratch);
    ok(&sweep(&scratch, &[&SLOW_GRID[..], &["--jobs", "1", "--out", "local.csv"]].concat()));
    let worker = Worker::start(&scratch.join("w"), &server.url, "w", &["--ack-wait", "3"]);
    let sweeping = sweep_in_background(&scratch, &server.url, &SLOW_GRID, "remote.csv");
    worker.wait_for("job done", Duration::from_secs(60));
    drop(server);
    std::thread::sleep(Duration::from_millis(500));
    let _restarted = NatsServer::start_on(&scratch, port).expect("the server starts again");
    ok(&sweeping.join().unwrap());
    assert_eq!(read(&scratch.join("remote.csv")), read(&scratch.join("local.csv")), "byte for byte, each run once");
    assert!(worker.log().contains("job done"));
}
