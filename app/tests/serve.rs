//! `tradsys serve` tested as operators use it: the real binary, its admin API over HTTP on loopback
//! with a real client (ureq), signals, files and exit codes.

mod support;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Server, TOKEN, dir, write_bars};

/// A bar session paced so it is still running while the test talks to it.
fn paced_config(rate: u32) -> String {
    format!(
        "[serve]\nrate = {rate}\n\
         [feed]\nplugin = \"bars-csv\"\nparams = {{ path = \"bars.csv\", symbol = \"XYZ\" }}\n\
         [strategies.trend]\nplugin = \"sma-cross\"\nparams = {{ fast = 5, slow = 20, qty = 2 }}\n\
         [risk.size]\nplugin = \"max-order-qty\"\nparams = {{ max_qty = 10 }}\n\
         [risk.rate]\nplugin = \"order-rate\"\norder = 2\nparams = {{ rate_per_s = 100.0, burst = 10 }}\n"
    )
}

fn changed(body: &Value) -> Vec<String> {
    body["changed"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

#[test]
fn every_endpoint_answers_and_every_change_applies_between_events() {
    let dir = dir("endpoints");
    write_bars(&dir.join("bars.csv"), 20_000);
    let server = Server::start(&dir, &paced_config(500), &["--report", "report.json", "--trades", "trades.csv"]);

    assert_eq!(server.json("/health")["status"], "ok");
    let plugins = server.json("/plugins");
    assert!(plugins.as_array().unwrap().iter().any(|p| p["name"] == "mean-reversion"), "{plugins}");
    let components = server.json("/components");
    assert!(components.as_array().unwrap().iter().any(|c| c["id"] == "trend" && c["state"] == "started"));
    let trend = server.component("trend");
    assert_eq!((trend["lazy"].as_bool(), trend["initialized"].as_bool()), (Some(false), Some(true)));
    assert_eq!(trend["params"]["fast"], 5);
    assert!(trend["metrics"]["calls"]["init"] == 1, "{trend}");
    let (status, metrics) = server.get("/metrics");
    assert_eq!(status, 200);
    assert!(metrics.contains("tradsys_component_calls_total{component=\"trend\""), "{metrics}");
    assert!(server.json("/report")["strategies"][0]["id"] == "trend");
    let config = server.json("/config");
    let row = config.as_array().unwrap().iter().find(|r| r["key"] == "risk.size.params.max_qty").unwrap().clone();
    assert_eq!(row["value"], "10");
    assert!(row["source"].as_str().unwrap().ends_with("config.toml"), "{row}");
    assert_eq!(server.json("/alerts"), json!([]));
    let openapi = server.json("/openapi.json");
    assert!(openapi["paths"]["/strategies/{id}/swap"]["post"].is_object(), "{openapi}");

    // A change without the token is refused and changes nothing.
    let swap = json!({"plugin": "mean-reversion", "params": {"period": 20, "k": 2.0, "qty": 1}});
    let before = (server.json("/config"), server.component("trend")["plugin"].clone());
    let (status, body) = server.send("POST", "/strategies/trend/swap", Some(&swap), None);
    assert_eq!(status, 401, "{body}");
    assert!(body["error"].as_str().unwrap().contains("bearer token"), "{body}");
    let (status, _) = server.send("POST", "/strategies/trend/swap", Some(&swap), Some("wrong"));
    assert_eq!(status, 401);
    assert_eq!((server.json("/config"), server.component("trend")["plugin"].clone()), before);

    // A swap to another plugin: the new instance runs in the same slot, with the account kept.
    let (status, body) = server.admin("POST", "/strategies/trend/swap", Some(&swap));
    assert_eq!(status, 200, "{body}");
    assert_eq!(changed(&body), ["strategy trend: swapped sma-cross@1.0.0 -> mean-reversion@1.0.0"]);
    let trend = server.component("trend");
    assert_eq!(trend["plugin"], "mean-reversion@1.0.0");
    assert_eq!(trend["metrics"]["calls"]["take_over"], 1, "{trend}");

    // A risk limit changed in place by PATCH; the config says where the value came from.
    let (status, body) =
        server.admin("PATCH", "/config", Some(&json!({"risk": {"size": {"params": {"max_qty": 50}}}})));
    assert_eq!(status, 200, "{body}");
    assert_eq!(changed(&body), ["risk size: reconfigured in place"]);
    assert_eq!(body["keys"], json!(["risk.size.params.max_qty: 10 → 50"]), "key by key: {body}");
    assert_eq!(body["revision"], 2);
    assert_eq!(server.component("size")["params"]["max_qty"], 50);
    // The history lists both changes, each with its keys and what the session did.
    let history = server.json("/config/history");
    assert_eq!(
        history[1],
        json!({"revision": 2, "source": "PATCH /config #2",
               "keys": [{"key": "risk.size.params.max_qty", "before": "10", "after": "50"}],
               "components": ["risk size: reconfigured in place"]})
    );
    let swapped = history[0]["keys"].as_array().unwrap();
    assert!(
        swapped.contains(
            &json!({"key": "strategies.trend.plugin", "before": "\"sma-cross\"", "after": "\"mean-reversion\""})
        ),
        "{history}"
    );
    assert!(server.logged("config changed: risk.size.params.max_qty: 10 → 50"));
    let config = server.json("/config");
    let row = config.as_array().unwrap().iter().find(|r| r["key"] == "risk.size.params.max_qty").unwrap().clone();
    assert_eq!((row["value"].as_str(), row["source"].as_str()), (Some("50"), Some("PATCH /config #2")));

    // Invalid patches and swaps change nothing and list every error.
    let before = (server.json("/config"), server.json("/components").as_array().unwrap().len());
    let bad = json!({"risk": {"size": {"params": {"max_qty": "lots"}}, "rate": {"params": {"burst": "many"}}}});
    let (status, body) = server.admin("PATCH", "/config", Some(&bad));
    assert_eq!(status, 400, "{body}");
    let details = body["details"].as_array().unwrap();
    assert_eq!(details.len(), 2, "{body}");
    assert!(details.iter().any(|d| d.as_str().unwrap().contains("key risk.size.params")), "{body}");
    let (status, body) = server.admin("PATCH", "/config", Some(&json!({"feed": {"params": {"path": "other.csv"}}})));
    assert_eq!(status, 409, "{body}");
    assert!(body["details"][0].as_str().unwrap().contains("key feed.params.path"), "{body}");
    let (status, body) = server.admin("POST", "/strategies/trend/swap", Some(&json!({"plugin": "no-such"})));
    assert_eq!(status, 400, "{body}");
    assert!(body["details"][0].as_str().unwrap().contains("no-such"), "{body}");
    let (status, body) =
        server.admin("POST", "/strategies/trend/swap", Some(&json!({"plugin": "sma-cross", "bogus": 1})));
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("unknown field `bogus`"), "{body}");
    let (status, body) = server.admin("POST", "/strategies/nope/swap", Some(&swap));
    assert_eq!(status, 404, "{body}");
    let (status, body) = server.admin("PATCH", "/config", Some(&json!({"pad": "x".repeat(70_000)})));
    assert_eq!(status, 413, "{body}");
    assert!(body["error"].is_string(), "413 is JSON too: {body}");
    assert_eq!((server.json("/config"), server.json("/components").as_array().unwrap().len()), before);
    assert_eq!(server.component("trend")["plugin"], "mean-reversion@1.0.0");

    // Add, stop, start and remove a strategy while the system runs.
    let add = json!({"id": "fast", "plugin": "sma-cross", "params": {"fast": 3, "slow": 8, "qty": 1}});
    let (status, body) = server.admin("POST", "/strategies", Some(&add));
    assert_eq!(status, 200, "{body}");
    assert!(changed(&body).contains(&"strategy fast: added (sma-cross@1.0.0)".to_owned()), "{body}");
    assert!(server.json("/components").as_array().unwrap().iter().any(|c| c["id"] == "sma(period=3)@XYZ"));
    let (status, body) = server.admin("POST", "/strategies", Some(&add));
    assert_eq!(status, 409, "{body}");
    let (status, body) = server.admin("POST", "/components/fast/stop", None);
    assert_eq!((status, changed(&body)), (200, vec!["strategy fast: stopped".to_owned()]));
    assert_eq!(server.component("fast")["state"], "stopped");
    let (status, _) = server.admin("POST", "/components/fast/stop", None);
    assert_eq!(status, 409, "a stopped component cannot stop again");
    let (status, _) = server.admin("POST", "/components/feed/stop", None);
    assert_eq!(status, 409, "the feed runs as long as the session");
    let (status, _) = server.admin("POST", "/components/fast/start", None);
    assert_eq!(status, 200);
    // New parameters for a stopped validator (rebuilt: it is not running to take them in place)
    // leave it stopped.
    assert_eq!(server.admin("POST", "/components/size/stop", None).0, 200);
    let (status, body) =
        server.admin("PATCH", "/config", Some(&json!({"risk": {"size": {"params": {"max_qty": 60}}}})));
    assert_eq!(
        (status, changed(&body)),
        (200, vec!["risk size: swapped max-order-qty@1.0.0 -> max-order-qty@1.0.0".to_owned()])
    );
    let size = server.component("size");
    assert_eq!((size["state"].as_str(), size["params"]["max_qty"].as_i64()), (Some("stopped"), Some(60)));
    assert_eq!(server.admin("POST", "/components/size/start", None).0, 200);
    let (status, body) = server.admin("DELETE", "/strategies/fast?open_orders=cancel", None);
    assert_eq!(status, 200, "{body}");
    let report = server.json("/report");
    let fast = report["strategies"].as_array().unwrap().iter().find(|s| s["id"] == "fast").unwrap().clone();
    assert_eq!(fast["status"], "removed", "a removed strategy stays in the report: {fast}");
    let (status, _) = server.admin("DELETE", "/strategies/fast", None);
    assert_eq!(status, 404);
    let (status, body) = server.get("/no-such-endpoint");
    assert_eq!(status, 404, "{body}");

    // SIGTERM: changes are refused, components stop, outputs are written whole, exit 0.
    let (code, stdout) = server.terminate();
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.starts_with("tradsys serve: "), "{stdout}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert!(report["timing"]["changes"]["count"].as_u64().unwrap() >= 5, "{}", report["timing"]);
    assert!(report["components"].as_array().unwrap().iter().all(|c| c["state"] != "started"));
    let trades = std::fs::read_to_string(dir.join("trades.csv")).unwrap();
    assert!(trades.starts_with("strategy,symbol,side"), "{trades}");
}

#[test]
fn eight_concurrent_clients_read_and_change_while_the_session_runs() {
    let dir = dir("concurrent");
    write_bars(&dir.join("bars.csv"), 50_000);
    let server = Arc::new(Server::start(&dir, &paced_config(2000), &[]));
    let workers: Vec<_> = (0..8)
        .map(|worker| {
            let server = server.clone();
            std::thread::spawn(move || {
                for round in 0..20 {
                    let limit = 10 + worker * 100 + round;
                    let patch = json!({"risk": {"size": {"params": {"max_qty": limit}}}});
                    let (status, body) = server.admin("PATCH", "/config", Some(&patch));
                    assert_eq!(status, 200, "{body}");
                    for path in ["/components", "/report", "/metrics", "/config"] {
                        assert_eq!(server.get(path).0, 200, "{path}");
                    }
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("a client failed");
    }
    // Every patch applied whole, one at a time: the running limit is one of the values sent, and
    // the config and the component agree on it.
    let config = server.json("/config");
    let row = config.as_array().unwrap().iter().find(|r| r["key"] == "risk.size.params.max_qty").unwrap().clone();
    let running = server.component("size")["params"]["max_qty"].as_i64().unwrap();
    assert_eq!(row["value"].as_str().unwrap(), running.to_string());
    assert_eq!(row["source"].as_str().unwrap(), "PATCH /config #160");
    let server = Arc::try_unwrap(server).ok().expect("the clients are done");
    assert_eq!(server.terminate().0, 0);
}

#[test]
fn watch_logs_a_bad_edit_changes_nothing_then_applies_a_good_one() {
    let dir = dir("watch");
    write_bars(&dir.join("bars.csv"), 50_000);
    let config = paced_config(500);
    let server = Server::start(&dir, &config, &["--watch"]);
    let limit = |server: &Server| server.component("size")["params"]["max_qty"].as_i64().unwrap();
    assert_eq!(limit(&server), 10);
    std::fs::write(dir.join("config.toml"), config.replace("max_qty = 10", "max_qty = -5")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.log.lock().unwrap().contains("the edited config was not applied") {
        assert!(Instant::now() < deadline, "no error logged: {}", server.log.lock().unwrap());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(server.logged("max_qty must be positive"), "{}", server.log.lock().unwrap());
    assert_eq!(limit(&server), 10, "a bad edit changes nothing");
    std::fs::write(dir.join("config.toml"), config.replace("max_qty = 10", "max_qty = 25")).unwrap();
    while limit(&server) != 25 {
        assert!(Instant::now() < deadline, "the good edit was not applied: {}", server.log.lock().unwrap());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(server.logged("risk size: reconfigured in place"));
    assert!(server.logged("config changed: risk.size.params.max_qty: 10 → 25"));
    let history = server.json("/config/history");
    assert_eq!(history.as_array().unwrap().len(), 1, "the bad edit is not in the history: {history}");
    assert_eq!(history[0]["keys"][0]["after"], "25");
    assert_eq!(server.terminate().0, 0);
}

#[test]
fn an_address_off_loopback_without_a_token_is_refused_at_start_up() {
    let dir = dir("loopback");
    write_bars(&dir.join("bars.csv"), 10);
    std::fs::write(dir.join("config.toml"), paced_config(10)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tradsys"))
        .args(["serve", "--config", "config.toml", "--listen", "0.0.0.0:0"])
        .current_dir(&dir)
        .env_remove("TRADSYS_ADMIN_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--listen: refusing to serve the admin API on 0.0.0.0:0"), "{stderr}");
}

#[test]
fn exit_at_end_stops_when_the_feed_ends_and_writes_the_outputs() {
    let dir = dir("exit-at-end");
    write_bars(&dir.join("bars.csv"), 500);
    let server = Server::start(&dir, &paced_config(100_000), &["--exit-at-end", "--report", "report.json"]);
    assert_eq!(server.wait(), 0);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!((report["events"].as_u64(), report["complete"].as_bool()), (Some(500), Some(true)));
}

/// The faulty test plugins (the probe) are in the binary only when `cargo test --workspace` unifies
/// the tests crate's `test-faulty` feature into it.
fn require_probe() {
    let out = Command::new(env!("CARGO_BIN_EXE_tradsys")).args(["plugins", "--kind", "strategy"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("probe-strategy"),
        "this test needs the test-faulty plugins: run it with `cargo test --workspace`, or add `--features test-faulty`"
    );
}

#[test]
fn a_thousand_swaps_during_a_million_event_run_lose_no_event_and_reconcile_every_fill() {
    require_probe();
    let dir = dir("stress");
    let bars = 1_000_000;
    write_bars(&dir.join("bars.csv"), bars);
    // Paced at 40,000 events/s so that the run surely outlasts the 1,000 swaps (at `max` it
    // ended first once the bars parser got faster); between two events the session is as busy.
    let config = "[serve]\nrate = 40000\n\
                  [feed]\nplugin = \"bars-csv\"\nparams = { path = \"bars.csv\", symbol = \"XYZ\" }\n\
                  [strategies.probe]\nplugin = \"probe-strategy\"\nparams = { step_s = 60, flip_every = 10 }\n";
    let server = Server::start(&dir, config, &[]);
    for swap in 0..1000 {
        let body = json!({"plugin": "probe-strategy", "params": {"step_s": 60, "flip_every": 7 + swap % 5}});
        let (status, answer) = server.admin("POST", "/strategies/probe/swap", Some(&body));
        assert_eq!(status, 200, "swap {swap}: {answer}");
    }
    let report = loop {
        let report = server.json("/report");
        if report["events"].as_u64() == Some(bars) {
            break report;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (status, answer) = server.admin("POST", "/strategies/probe/swap", Some(&json!({"plugin": "probe-strategy"})));
    assert_eq!(status, 409, "the feed ended: changes are refused: {answer}");
    let probe = &report["strategies"][0];
    assert_eq!(probe["status"], "running", "the probe never saw a gap, a repeat or a fill mismatch: {probe}");
    let component = report["components"].as_array().unwrap().iter().find(|c| c["id"] == "probe").unwrap().clone();
    let calls = &component["metrics"]["calls"];
    assert_eq!(calls["on_bar"].as_u64(), Some(bars), "every bar reached exactly one instance: {calls}");
    assert_eq!((calls["take_over"].as_u64(), calls["snapshot"].as_u64()), (Some(1000), Some(1000)), "{calls}");
    assert!(probe["fills"].as_u64().unwrap() > 10_000, "{probe}");
    assert_eq!(calls["on_fill"], probe["fills"], "every fill reached the instance of its time");
    let changes = &report["timing"]["changes"];
    assert!(changes["count"].as_u64().unwrap() >= 1000, "{changes}");
    assert_eq!(server.terminate().0, 0);
}

#[test]
fn a_swap_whose_new_instance_fails_leaves_the_old_one_running_untouched() {
    require_probe();
    let dir = dir("failing-swap");
    write_bars(&dir.join("bars.csv"), 50_000);
    let server = Server::start(&dir, &paced_config(500), &[]);
    let before = (server.json("/config"), server.component("trend"));
    // A build that panics is found by the config check (400); init and start only by the session.
    for (cue, status, says) in [
        ("init", 422, "panicked in init"),
        ("start", 422, "panicked in start"),
        ("build", 400, "panicked while building"),
    ] {
        let body = json!({"plugin": "faulty-strategy", "params": {"panic_in": cue}});
        let (got, answer) = server.admin("POST", "/strategies/trend/swap", Some(&body));
        assert_eq!(got, status, "{cue}: {answer}");
        assert!(answer["details"][0].as_str().unwrap().contains(says), "{answer}");
    }
    let after = (server.json("/config"), server.component("trend"));
    assert_eq!(after.0, before.0, "the config is as it was");
    assert_eq!((after.1["plugin"].clone(), after.1["state"].clone()), (json!("sma-cross@1.0.0"), json!("started")));
    assert_eq!(after.1["metrics"]["panics"], 0, "the failed instances' figures are not the slot's");
    assert_eq!(server.terminate().0, 0);
}

#[test]
fn a_crossed_budget_raises_an_alert_and_quarantines_the_strategy() {
    let dir = dir("alerts");
    write_bars(&dir.join("bars.csv"), 50_000);
    let config = paced_config(5000).replace("qty = 2", "qty = 20")
        + "[alerts]\ncheck_every = 50\n[alerts.strategies.trend]\nreject_rate = 0.5\nmin_calls = 3\nquarantine = true\n";
    let server = Server::start(&dir, &config, &[]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let alerts = loop {
        let alerts = server.json("/alerts");
        if !alerts.as_array().unwrap().is_empty() {
            break alerts;
        }
        assert!(Instant::now() < deadline, "no alert: {}", server.json("/report")["strategies"]);
        std::thread::sleep(Duration::from_millis(50));
    };
    let alert = &alerts[0];
    assert_eq!((alert["id"].as_str(), alert["measure"].as_str()), (Some("trend"), Some("reject_rate")), "{alert}");
    assert_eq!((alert["value"].as_f64(), alert["quarantined"].as_bool()), (Some(1.0), Some(true)));
    assert_eq!(server.component("trend")["state"], "stopped", "quarantined");
    assert!(server.logged("alert: budget crossed"));
    let (status, metrics) = server.get("/metrics");
    assert_eq!(status, 200);
    assert!(metrics.contains("tradsys_alerts_total"), "{metrics}");
    assert_eq!(server.terminate().0, 0);
}

#[test]
fn a_quiet_feed_never_stalls_a_command() {
    let dir = dir("quiet");
    write_bars(&dir.join("bars.csv"), 100);
    // One event every 1,000 seconds: after the first bar the session waits a long time for the next.
    let server = Server::start(&dir, &paced_config(500).replace("rate = 500", "rate = 0.001"), &[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.json("/report")["events"].as_u64() != Some(1) {
        assert!(Instant::now() < deadline, "the first bar never arrived");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Reads and a change are answered while the next event is far away (were the session asleep
    // until it is due, each would wait 1,000 s and the client's timeout would fail the test).
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let url = format!("{}/config", server.base);
    let patch = json!({"risk": {"size": {"params": {"max_qty": 7}}}}).to_string();
    let mut response = agent
        .patch(&url)
        .header("Authorization", &format!("Bearer {TOKEN}"))
        .header("Content-Type", "application/json")
        .send(patch)
        .expect("the change is answered while the feed is quiet");
    assert_eq!(response.status().as_u16(), 200, "{}", response.body_mut().read_to_string().unwrap_or_default());
    let mut response = agent.get(&format!("{}/components/size", server.base)).call().expect("a read is answered");
    let size: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(size["params"]["max_qty"], 7);
    assert_eq!(server.json("/report")["events"].as_u64(), Some(1), "still waiting for the second bar");
    assert_eq!(server.terminate().0, 0);
}
