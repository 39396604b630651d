//! Strategies and validators written in Python (plugin `python`) in the standard binary: the
//! Python SMA cross and max-order-qty trade what the compiled-in ones do, and `serve` adds, swaps and removes Python strategies
//! while trading, a Python exception failing that strategy alone.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Server, dir, tradsys};

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name).display().to_string()
}

#[test]
fn the_python_sma_cross_and_validator_trade_byte_for_byte_what_the_compiled_in_ones_trade() {
    let scratch = dir("python-parity");
    for (config, out) in [("bars-sma-cross.toml", "native"), ("bars-python-sma-cross.toml", "python")] {
        let args = ["run", "-c", &example(config), "--trades", &format!("{out}-trades.csv"), "--equity"];
        let run = tradsys(&scratch, &[&args[..], &[&format!("{out}-equity.csv"), "--quiet"]].concat());
        assert!(run.status.success(), "{config}: {}", support::text(&run.stderr));
    }
    for file in ["trades", "equity"] {
        let native = std::fs::read_to_string(scratch.join(format!("native-{file}.csv"))).unwrap();
        let python = std::fs::read_to_string(scratch.join(format!("python-{file}.csv"))).unwrap();
        assert!(native.lines().count() > 100, "{file}: {native}");
        assert_eq!(python, native, "{file} differ");
    }
}

/// The EUR/USD example, paced for `serve`, its bars file named by absolute path.
fn paced_example(rate: u32) -> String {
    let text = std::fs::read_to_string(example("bars-sma-cross.toml")).unwrap();
    let data = Path::new(&example("data")).canonicalize().unwrap();
    format!("[serve]\nrate = {rate}\n{}", text.replace("path = \"data/", &format!("path = \"{}/", data.display())))
}

/// Waits until the session has taken at least `events` events.
fn wait_past(server: &Server, events: u64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while server.get_within("/report")["events"].as_u64().unwrap_or(0) < events {
        assert!(Instant::now() < deadline, "the session did not reach {events} events");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn serve_swaps_sma_cross_for_its_python_twin_and_back_without_changing_a_trade() {
    let scratch = dir("python-swap");
    let server = Server::start(&scratch, &paced_example(2_000), &["--exit-at-end", "--trades", "swapped.csv"]);
    let python = json!({"plugin": "python", "params": {
        "file": example("python/sma_cross.py"), "class": "SmaCross", "args": {"fast": 10, "slow": 30, "qty": 10}}});
    let native = json!({"plugin": "sma-cross", "params": {"fast": 10, "slow": 30, "qty": 10}});
    for (at, swap) in [(1_500, &python), (3_500, &native)] {
        wait_past(&server, at);
        let (status, body) = server.admin("POST", "/strategies/trend/swap", Some(swap));
        assert_eq!(status, 200, "{body}");
        let plugin = server.component("trend")["plugin"].as_str().unwrap_or_default().to_owned();
        assert!(plugin.starts_with(swap["plugin"].as_str().unwrap()), "{plugin}");
    }
    assert_eq!(server.wait(), 0);
    let local = tradsys(&scratch, &["run", "-c", &example("bars-sma-cross.toml"), "--trades", "local.csv", "--quiet"]);
    assert!(local.status.success());
    let swapped = std::fs::read_to_string(scratch.join("swapped.csv")).unwrap();
    assert!(swapped.lines().count() > 100);
    assert_eq!(
        swapped,
        std::fs::read_to_string(scratch.join("local.csv")).unwrap(),
        "sma-cross, then the Python SmaCross (from its snapshot), then sma-cross again trades as one run"
    );
}

const FLAKY: &str = "\
class Flaky:
    capabilities = ['submit-orders', 'read-position']
    params = {'fail_at': 0}

    def on_bar(self, bar, ctx):
        self.bars = getattr(self, 'bars', 0) + 1
        if self.bars == self.params['fail_at']:
            raise KeyError('bar ' + str(self.bars))
        if self.bars % 50 == 0 and ctx.position(bar.instrument) == 0:
            ctx.market(bar.instrument, 'buy', 1)
";

#[test]
fn serve_adds_swaps_and_removes_python_strategies_and_a_python_exception_fails_only_its_own() {
    let scratch = dir("python-serve");
    std::fs::write(scratch.join("flaky.py"), FLAKY).unwrap();
    let server = Server::start(&scratch, &paced_example(1_000), &[]);
    let flaky = |fail_at: u64| json!({"id": "py", "plugin": "python", "params": {"file": "flaky.py", "class": "Flaky", "args": {"fail_at": fail_at}}});
    wait_past(&server, 200);
    let (status, body) = server.admin("POST", "/strategies", Some(&flaky(30)));
    assert_eq!(status, 200, "{body}");
    // Its 30th bar raises: the strategy fails with its traceback; trend and the session go on.
    let deadline = Instant::now() + Duration::from_secs(60);
    let failed = loop {
        let component: Value = server.component("py");
        if component["state"].as_str().is_some_and(|state| state.starts_with("failed: panicked in on_bar")) {
            break component;
        }
        assert!(Instant::now() < deadline, "py did not fail: {component}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let message = failed.to_string();
    assert!(message.contains("flaky.py:Flaky.on_bar raised Traceback"), "{message}");
    assert!(message.contains("KeyError: 'bar 30'"), "{message}");
    assert!(server.logged("KeyError: 'bar 30'"), "the traceback is in the log");
    assert_eq!(server.component("trend")["state"], "started");
    let before = server.get_within("/report")["events"].as_u64().unwrap();
    wait_past(&server, before + 50);

    // A bad swap changes nothing; a good one replaces the failed instance in its slot.
    let mut bad = flaky(0);
    bad.as_object_mut().unwrap().remove("id");
    bad["params"]["args"] = json!({"fail_at": "never"});
    let (status, body) = server.admin("POST", "/strategies/py/swap", Some(&bad));
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("declares fail_at as an integer"), "{body}");
    assert!(server.component("py")["state"].as_str().unwrap().starts_with("failed"), "the failed instance stays");
    let mut good = flaky(0);
    good.as_object_mut().unwrap().remove("id");
    let (status, body) = server.admin("POST", "/strategies/py/swap", Some(&good));
    assert_eq!(status, 200, "{body}");
    assert_eq!(server.component("py")["state"], "started");
    let before = server.get_within("/report")["events"].as_u64().unwrap();
    wait_past(&server, before + 120);
    let calls = &server.component("py")["metrics"]["calls"];
    assert!(calls["on_bar"].as_u64().unwrap_or(0) >= 100, "{calls}");

    let (status, body) = server.admin("DELETE", "/strategies/py?open_orders=cancel", None);
    assert_eq!(status, 200, "{body}");
    let report = server.json("/report");
    let py = report["strategies"].as_array().unwrap().iter().find(|s| s["id"] == "py").unwrap().clone();
    assert_eq!(py["status"], "removed", "{py}");
    let (status, _) = server.admin("DELETE", "/strategies/py", None);
    assert_eq!(status, 404, "removed already");
    let (code, _) = server.terminate();
    assert_eq!(code, 0);
}
