//! Strategies in another process: `tradsys host` and the `remote` strategy, against a real NATS
//! server on loopback. A remote strategy trades exactly what the same strategy trades locally; a
//! host that crashes, restarts or hangs fails that strategy alone, with its orders cancelled; the
//! host's narrower grant is enforced; `serve` swaps a local strategy for a remote one and back
//! without changing a trade.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::nats::NatsServer;
use support::{Server, dir, text, tradsys};

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name).display().to_string()
}

const INSTRUMENT: &str = "[instruments.EURUSD]\ntick = \"0.00001\"\nlot_size = 1000\n";

/// A running `tradsys host`, killed when dropped.
struct Host {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Host {
    /// Starts host `name` on `url` running `strategies` (TOML), and waits until it serves.
    fn start(dir: &Path, url: &str, name: &str, strategies: &str) -> Host {
        let config = dir.join(format!("host-{name}.toml"));
        std::fs::write(&config, format!("{INSTRUMENT}{strategies}")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_tradsys"))
            .args(["host", "--nats", url, "--name", name, "-c"])
            .arg(&config)
            .env("TRADSYS_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (sink, stderr) = (log.clone(), child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().unwrap().push_str(&(line + "\n"));
            }
        });
        let mut host = Host { child, log };
        host.wait_for("running", Duration::from_secs(60));
        host
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    fn wait_for(&mut self, line: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.log().contains(line) {
            if let Ok(Some(status)) = self.child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                panic!("the host exited ({status}) before logging {line:?}:\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "the host logged no {line:?} within {within:?}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The EUR/USD example with its strategy `trend` replaced by `remote` params `params`.
fn remote_example(params: &str) -> String {
    let file = std::fs::read_to_string(example("bars-sma-cross.toml")).unwrap();
    let file = file.replace("data/EURUSD-1h.csv", &example("data/EURUSD-1h.csv"));
    file.replace(
        "plugin = \"sma-cross\"\nversion = \"^1\"\nparams = { fast = 10, slow = 30, qty = 10 }",
        &format!("plugin = \"remote\"\nparams = {{ {params} }}"),
    )
}

const TREND: &str = "[strategies.trend]\nplugin = \"sma-cross\"\nparams = { fast = 10, slow = 30, qty = 10 }\n";

fn report(dir: &Path, name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
}

/// The strategy `id`'s entry in a report.
fn strategy<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no {id}: {report}"))
}

/// Runs the EUR/USD example with `trend` run by host `host`, and the example itself, asserting that
/// they trade the same, byte for byte; their reports.
fn remote_against_local(scratch: &Path, url: &str, host: &str) -> (Value, Value) {
    let params = format!("host = \"{host}\", indicators = [\"sma\"], url = \"{url}\"");
    std::fs::write(scratch.join("remote.toml"), remote_example(&params)).unwrap();
    let remote = tradsys(scratch, &["run", "-c", "remote.toml", "--trades", "remote.csv", "--report", "remote.json"]);
    assert!(remote.status.success(), "{}", text(&remote.stderr));
    let local = tradsys(
        scratch,
        &["run", "-c", &example("bars-sma-cross.toml"), "--trades", "local.csv", "--report", "local.json"],
    );
    assert!(local.status.success());
    let trades = std::fs::read_to_string(scratch.join("remote.csv")).unwrap();
    assert!(trades.lines().count() > 100, "the example trades: a comparison of nothing proves nothing");
    assert_eq!(trades, std::fs::read_to_string(scratch.join("local.csv")).unwrap(), "the same trades, byte for byte");
    (report(scratch, "remote.json"), report(scratch, "local.json"))
}

#[test]
fn a_remote_strategy_trades_exactly_what_the_same_strategy_trades_locally() {
    let scratch = dir("host-parity");
    let Some(nats) = NatsServer::start(&scratch) else { return };
    let mut host = Host::start(&scratch, &nats.url, "desk", TREND);
    let (remote, local) = remote_against_local(&scratch, &nats.url, "desk");
    assert_eq!(remote["total"]["statistics"], local["total"]["statistics"]);
    assert_eq!(strategy(&remote, "trend")["status"], "running", "{remote}");
    let proxy = remote["components"].as_array().unwrap().iter().find(|c| c["id"] == "trend").unwrap();
    assert_eq!(proxy["plugin"], "remote@0.1.0");
    assert!(proxy["metrics"].get("denied").is_none(), "nothing refused, here or on the host: {proxy}");
    // The session ran the proxy; the host ran sma-cross, opened once and closed at the end.
    host.wait_for("host: instance closed", Duration::from_secs(10));
    assert_eq!(host.log().matches("host: opened").count(), 1, "{}", host.log());
}

#[test]
fn a_host_runs_a_webassembly_module_as_it_runs_a_compiled_in_strategy() {
    let scratch = dir("host-module");
    let Some(nats) = NatsServer::start(&scratch) else { return };
    std::fs::create_dir_all(scratch.join("modules")).unwrap();
    std::fs::copy(support::guests::guest("tradsys_wasm_sma_cross"), scratch.join("modules/sma-cross.wasm")).unwrap();
    let module = "[security]\nplugin_dir = \"modules\"\n\n[strategies.trend]\nplugin = \"wasm-sma-cross\"\nparams = { fast = 10, slow = 30, qty = 10 }\n";
    let _host = Host::start(&scratch, &nats.url, "sandbox", module);
    remote_against_local(&scratch, &nats.url, "sandbox");
}

#[test]
fn opening_errors_name_the_host_the_strategy_and_what_is_missing() {
    let scratch = dir("host-open-errors");
    let Some(nats) = NatsServer::start(&scratch) else { return };
    let run = |params: &str| {
        std::fs::write(scratch.join("s.toml"), remote_example(&format!("{params}, url = \"{}\"", nats.url))).unwrap();
        let output = tradsys(&scratch, &["run", "-c", "s.toml"]);
        (output.status.code(), text(&output.stderr))
    };
    let (code, stderr) = run("host = \"nobody\", indicators = [\"sma\"]");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("strategies.trend") && stderr.contains("no host nobody answers"), "{stderr}");

    let _host = Host::start(&scratch, &nats.url, "desk", TREND);
    let (code, stderr) = run("host = \"desk\", strategy = \"other\", indicators = [\"sma\"]");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("host desk refused: this host runs no strategy \"other\"; it runs trend"), "{stderr}");

    let (code, stderr) = run("host = \"desk\"");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("asked for indicator \"sma\" without declaring it"), "the session must build it: {stderr}");

    let (code, stderr) = run("host = \"desk\", indicators = [\"no-such-indicator\"]");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("strategies.trend.params") && stderr.contains("no-such-indicator"), "{stderr}");

    // The host's own bad input: a name that is not one subject token, a config with nothing to run.
    let bad_name = tradsys(&scratch, &["host", "--nats", &nats.url, "--name", "a.b", "-c", "host-desk.toml"]);
    assert_eq!(bad_name.status.code(), Some(2));
    assert!(text(&bad_name.stderr).contains("--name \"a.b\": expected"), "{}", text(&bad_name.stderr));
    std::fs::write(scratch.join("empty.toml"), INSTRUMENT).unwrap();
    let empty = tradsys(&scratch, &["host", "--nats", &nats.url, "-c", "empty.toml"]);
    assert_eq!(empty.status.code(), Some(2));
    assert!(text(&empty.stderr).contains("empty.toml: no [strategies] to host"), "{}", text(&empty.stderr));
    let unreachable = tradsys(&scratch, &["host", "--nats", "nats://127.0.0.1:1", "-c", "host-desk.toml"]);
    assert_eq!(unreachable.status.code(), Some(2));
    assert!(text(&unreachable.stderr).contains("nats://127.0.0.1:1"), "{}", text(&unreachable.stderr));
}

/// The status of a failed strategy (`failed: <what happened>`).
fn failure(strategy: &Value) -> &str {
    let status = strategy["status"].as_str().unwrap_or_default();
    assert!(status.starts_with("failed: "), "{strategy}");
    status
}

/// A hosted `faulty-strategy` (trades on every bar, keeps its resting limits) with `cue`.
fn faulty(id: &str, cue: &str) -> String {
    format!("[strategies.{id}]\nplugin = \"faulty-strategy\"\nparams = {{ keep_resting = true{cue} }}\n")
}

#[test]
fn a_host_that_panics_or_hangs_past_the_budget_fails_that_strategy_alone() {
    let scratch = dir("host-faults");
    let Some(nats) = NatsServer::start(&scratch) else { return };
    let strategies = [
        faulty("panics", ", panic_in = \"on_bar\", after = 20"),
        faulty("hangs", ", panic_in = \"on_bar\", after = 20, stall_ms = 3000"),
    ];
    let _host = Host::start(&scratch, &nats.url, "desk", &strategies.concat());
    let remote = |id: &str| {
        format!(
            "[strategies.{id}]\nplugin = \"remote\"\nparams = {{ host = \"desk\", url = \"{}\", budget_ms = 300 }}\n",
            nats.url
        )
    };
    let config = format!(
        "{}{}{}",
        std::fs::read_to_string(example("bars-sma-cross.toml"))
            .unwrap()
            .replace("data/EURUSD-1h.csv", &example("data/EURUSD-1h.csv")),
        remote("panics"),
        remote("hangs")
    );
    std::fs::write(scratch.join("faults.toml"), config).unwrap();
    let run = tradsys(
        &scratch,
        &["run", "-c", "faults.toml", "--report", "faults.json", "--set", "session.tolerate_failures=true"],
    );
    assert!(run.status.success(), "the run goes on without them: {}", text(&run.stderr));
    let report = report(&scratch, "faults.json");
    let panics = strategy(&report, "panics");
    let status = failure(panics);
    assert!(
        status.contains("faulty component panicked on cue in on_bar"),
        "the host's panic reaches the session: {status}"
    );
    let hangs = strategy(&report, "hangs");
    assert!(failure(hangs).contains("host desk did not answer on_bar within 300 ms"), "{hangs}");
    for failed in [panics, hangs] {
        assert_eq!(failed["open_orders"], 0, "its resting limits were cancelled: {failed}");
    }
    assert_eq!(strategy(&report, "trend")["status"], "running", "the local strategy is untouched");
}

/// Bars `from..to` of the EUR/USD example as a CSV file of their own.
fn slice(dir: &Path, name: &str, from: usize, to: usize) -> String {
    let file = std::fs::read_to_string(example("data/EURUSD-1h.csv")).unwrap();
    let mut lines = file.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.skip(from).take(to - from).collect();
    std::fs::write(dir.join(name), format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    name.to_owned()
}

/// Publishes a CSV of EUR/USD bars onto `url`.
fn publish(dir: &Path, url: &str, csv: &str) {
    let config =
        format!("{INSTRUMENT}[feed]\nplugin = \"bars-csv\"\nparams = {{ path = \"{csv}\", symbol = \"EURUSD\" }}\n");
    std::fs::write(dir.join("publish.toml"), config).unwrap();
    let output = tradsys(dir, &["publish", "-c", "publish.toml", "--nats", url]);
    assert!(output.status.success(), "{}", text(&output.stderr));
}

/// `serve` fed from `md.>` on `url`, running `strategies`.
fn live(url: &str, strategies: &str) -> String {
    let example = std::fs::read_to_string(example("bars-sma-cross.toml")).unwrap();
    let session: String = example.split("[feed]").next().unwrap().to_owned();
    format!(
        "{session}[feed]\nplugin = \"nats\"\nparams = {{ url = \"{url}\", subjects = [\"md.>\"] }}\n\n[risk.size]\nplugin = \"max-order-qty\"\nparams = {{ max_qty = 50 }}\n{strategies}"
    )
}

#[test]
fn a_host_that_crashes_or_restarts_fails_its_strategies_and_nothing_else() {
    let scratch = dir("host-crash");
    let Some(nats) = NatsServer::start(&scratch) else { return };
    let crashes =
        Host::start(&scratch, &nats.url, "crashes", &format!("{}{}", faulty("gone", ""), faulty("rescued", "")));
    let restarts = Host::start(&scratch, &nats.url, "restarts", &faulty("again", ""));
    let remote = |id: &str, host: &str| {
        format!("[strategies.{id}]\nplugin = \"remote\"\nparams = {{ host = \"{host}\", url = \"{}\" }}\n", nats.url)
    };
    let strategies =
        format!("{TREND}{}{}{}", remote("gone", "crashes"), remote("again", "restarts"), remote("rescued", "crashes"));
    let server = Server::start(&scratch, &live(&nats.url, &strategies), &[]);
    publish(&scratch, &nats.url, &slice(&scratch, "first.csv", 0, 50));
    let report = server.wait_for_events(50);
    for id in ["gone", "again"] {
        let running = strategy(&report, id);
        assert_eq!(running["status"], "running", "{running}");
        assert!(running["open_orders"].as_u64() > Some(10), "it rests a limit on every bar: {running}");
    }
    crashes.kill();
    restarts.kill();
    let _restarted = Host::start(&scratch, &nats.url, "restarts", &faulty("again", ""));
    // A strategy whose host is lost can still be swapped for a local one (it starts afresh).
    let local = json!({"plugin": "faulty-strategy", "params": {"keep_resting": true}, "open_orders": "cancel"});
    let (status, body) = server.admin("POST", "/strategies/rescued/swap", Some(&local));
    assert_eq!(status, 200, "{body}");
    publish(&scratch, &nats.url, &slice(&scratch, "second.csv", 50, 100));
    let report = server.wait_for_events(100);
    let gone = strategy(&report, "gone");
    assert!(failure(gone).contains("no host crashes answers"), "{gone}");
    let again = strategy(&report, "again");
    assert!(failure(again).contains("this host has no instance"), "{again}");
    for failed in [gone, again] {
        assert_eq!(failed["open_orders"], 0, "its orders were cancelled: {failed}");
    }
    assert_eq!(strategy(&report, "trend")["status"], "running", "the session and its local strategy go on");
    assert_eq!(strategy(&report, "rescued")["status"], "running", "swapped in when its host was lost");
    assert!(server.logged("its successor gets no snapshot"));
    assert_eq!(server.json("/health")["status"], "ok");
}

#[test]
fn serve_swaps_a_local_strategy_for_a_remote_one_and_back_without_changing_a_trade() {
    let scratch = dir("host-swap");
    let Some(nats) = NatsServer::start(&scratch) else { return };
    let mut host = Host::start(&scratch, &nats.url, "desk", TREND);
    let server = Server::start(&scratch, &live(&nats.url, TREND), &["--trades", "swapped.csv"]);
    let parts = [(0, 1500), (1500, 3500), (3500, 5000)];
    let swaps = [
        json!({"plugin": "remote", "params": {"host": "desk", "indicators": ["sma"], "url": nats.url}}),
        json!({"plugin": "sma-cross", "params": {"fast": 10, "slow": 30, "qty": 10}}),
    ];
    for (at, (from, to)) in parts.into_iter().enumerate() {
        publish(&scratch, &nats.url, &slice(&scratch, &format!("part{at}.csv"), from, to));
        server.wait_for_events(to as u64);
        if let Some(swap) = swaps.get(at) {
            let (status, body) = server.admin("POST", "/strategies/trend/swap", Some(swap));
            assert_eq!(status, 200, "{body}");
            let plugin = server.component("trend")["plugin"].as_str().unwrap_or_default().to_owned();
            assert!(plugin.starts_with(swap["plugin"].as_str().unwrap()), "{plugin}");
        }
    }
    host.wait_for("host: instance closed", Duration::from_secs(10));
    let (code, _) = server.terminate();
    assert_eq!(code, 0);
    let file = tradsys(&scratch, &["run", "-c", &example("bars-sma-cross.toml"), "--trades", "file.csv"]);
    assert!(file.status.success());
    let swapped = std::fs::read_to_string(scratch.join("swapped.csv")).unwrap();
    assert!(swapped.lines().count() > 100);
    assert_eq!(
        swapped,
        std::fs::read_to_string(scratch.join("file.csv")).unwrap(),
        "local, then remote (from the local one's snapshot), then local again trades as one local run"
    );
}
