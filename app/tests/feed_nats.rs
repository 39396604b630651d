//! The `nats` feed against a real NATS server on loopback: a live session trades exactly what
//! the file it was published from trades; `serve` answers its API while no data arrives; bad
//! messages are bad rows, never a crash; a restarted server is reconnected to without losing the
//! session.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::nats::NatsServer;
use support::{Server, dir, text, tradsys};

fn example(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name).display().to_string()
}

/// The EUR/USD example with its `[feed]` replaced by the nats feed on `url` with `params`.
fn live_config(url: &str, params: &str) -> String {
    let file = std::fs::read_to_string(example("bars-sma-cross.toml")).unwrap();
    let mut config: String = file
        .lines()
        .filter(|line| !line.starts_with("[feed]") && !line.contains("bars-csv") && !line.contains("EURUSD-1h.csv"))
        .map(|line| format!("{line}\n"))
        .collect();
    config.push_str(&format!(
        "[feed]\nplugin = \"nats\"\nparams = {{ url = \"{url}\", subjects = [\"md.>\"]{params} }}\n"
    ));
    config
}

/// Publishes the EUR/USD example's 5,000 bars (and the end marker) to `url`.
fn publish_example(dir: &Path, url: &str) {
    let output = tradsys(dir, &["publish", "-c", &example("bars-sma-cross.toml"), "--nats", url]);
    assert!(output.status.success(), "{}", text(&output.stderr));
}

/// Publishes raw messages on `subject`.
fn publish_raw(url: &str, messages: &[(&str, Vec<u8>)]) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let client = async_nats::connect(url).await.unwrap();
        for (subject, payload) in messages {
            client.publish((*subject).to_owned(), payload.clone().into()).await.unwrap();
        }
        client.flush().await.unwrap();
    });
}

/// Waits until `log()` holds `line`.
fn wait_for_log(log: impl Fn() -> String, line: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while !log().contains(line) {
        assert!(Instant::now() < deadline, "no {line:?} within {within:?}:\n{}", log());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_live_session_trades_exactly_what_the_file_it_was_published_from_trades() {
    let scratch = dir("feed-nats-parity");
    let Some(server) = NatsServer::start(&scratch) else { return };
    std::fs::write(scratch.join("live.toml"), live_config(&server.url, ", until_end = true")).unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_tradsys"))
        .args(["run", "-c", "live.toml", "--trades", "live.csv", "--report", "live.json"])
        .current_dir(&scratch)
        .env("TRADSYS_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(scratch.join("live.log")).unwrap())
        .spawn()
        .unwrap();
    wait_for_log(
        || std::fs::read_to_string(scratch.join("live.log")).unwrap_or_default(),
        "feed nats: subscribed",
        Duration::from_secs(60),
    );
    publish_example(&scratch, &server.url);
    let live = run.wait_with_output().unwrap();
    assert!(
        live.status.success(),
        "the end marker ends the run: {}",
        std::fs::read_to_string(scratch.join("live.log")).unwrap()
    );
    let file = tradsys(
        &scratch,
        &["run", "-c", &example("bars-sma-cross.toml"), "--trades", "file.csv", "--report", "file.json"],
    );
    assert!(file.status.success());
    let trades = std::fs::read_to_string(scratch.join("live.csv")).unwrap();
    assert!(trades.lines().count() > 100, "the example trades");
    assert_eq!(trades, std::fs::read_to_string(scratch.join("file.csv")).unwrap(), "the same trades, byte for byte");
    let report =
        |name: &str| -> Value { serde_json::from_str(&std::fs::read_to_string(scratch.join(name)).unwrap()).unwrap() };
    let (live, file) = (report("live.json"), report("file.json"));
    assert_eq!(live["total"]["statistics"], file["total"]["statistics"]);
    assert_eq!((live["events"].as_u64(), live["bad_rows"]["count"].as_u64()), (Some(5000), Some(0)));
}

#[test]
fn serve_answers_while_no_data_arrives_and_bad_messages_are_bad_rows() {
    let scratch = dir("feed-nats-serve");
    let Some(nats) = NatsServer::start(&scratch) else { return };
    let server = Server::start(&scratch, &live_config(&nats.url, ", max_message_bytes = 1024"), &[]);
    wait_for_log(|| server.log.lock().unwrap().clone(), "feed nats: subscribed", Duration::from_secs(30));
    // No data yet: the session waits on feed and commands together, so the API answers.
    assert_eq!(server.get_within("/report")["events"], 0);
    let feed = server.get_within("/components/feed");
    assert_eq!(feed["plugin"], "nats@0.1.0", "{feed}");
    publish_raw(
        &nats.url,
        &[
            ("md.EURUSD.bars", b"not json".to_vec()),
            ("md.EURUSD.bars", vec![b' '; 2048]),
            ("md.EURUSD.orders", br#"{"seq":0,"ts":1,"symbol":"EURUSD","type":"cancel","id":7}"#.to_vec()),
            ("md._.trades", br#"{"seq":1,"ts":1,"type":"trade","price":"1.1","qty":1,"aggressor":"buy"}"#.to_vec()),
        ],
    );
    publish_example(&scratch, &nats.url);
    let report = server.wait_for_events(5000);
    let bad = &report["bad_rows"];
    assert_eq!(bad["count"], 4, "{bad}");
    let first: Vec<&str> = bad["first"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    assert!(first[0].starts_with("nats md.EURUSD.bars: message 1: not a market-data message"), "{first:?}");
    assert!(first[1].contains("message 2: 2048 bytes, over max_message_bytes 1024"), "{first:?}");
    assert!(first[2].contains("message 3: an order-flow message on a feed of data = \"bars\""), "{first:?}");
    assert_eq!(first[3], "nats md._.trades: message 4: no symbol");
    assert!(report["strategies"][0]["fills"].as_u64().unwrap() > 100, "it traded what came");
    let (status, _) = server.terminate();
    assert_eq!(status, 0);
}

#[test]
fn a_restarted_server_is_reconnected_to_and_the_session_goes_on() {
    let scratch = dir("feed-nats-restart");
    let Some(nats) = NatsServer::start(&scratch) else { return };
    let port = nats.port();
    let server = Server::start(&scratch, &live_config(&nats.url, ""), &[]);
    wait_for_log(|| server.log.lock().unwrap().clone(), "feed nats: subscribed", Duration::from_secs(30));
    publish_example(&scratch, &nats.url);
    server.wait_for_events(5000);
    let (status, health) = server.get_status_within("/health");
    assert_eq!(
        (status, &health["status"], &health["feed"]["connected"]),
        (200, &json!("ok"), &json!(true)),
        "{health}"
    );
    drop(nats);
    wait_for_log(|| server.log.lock().unwrap().clone(), "feed nats: disconnected", Duration::from_secs(30));
    assert_eq!(server.get_within("/report")["events"], 5000, "the session is still there while the server is down");
    let (status, health) = server.get_status_within("/health");
    assert_eq!((status, &health["status"]), (503, &json!("degraded")), "{health}");
    assert_eq!(health["feed"]["connected"], false);
    let _nats = NatsServer::start_on(&scratch, port).expect("the server starts again");
    wait_for_log(|| server.log.lock().unwrap().clone(), "feed nats: connected", Duration::from_secs(60));
    // Core NATS keeps nothing: until the client has subscribed again, messages are not delivered.
    // Probe with single bars until one arrives, then publish the file again.
    let url = format!("nats://127.0.0.1:{port}");
    let probe = br#"{"seq":0,"ts":1518012000000000000,"symbol":"EURUSD","type":"bar","open":"1.2","high":"1.2","low":"1.2","close":"1.2","volume":1}"#;
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.get_within("/report")["events"].as_u64() == Some(5000) {
        assert!(Instant::now() < deadline, "the feed receives again after the restart");
        publish_raw(&url, &[("md.EURUSD.bars", probe.to_vec())]);
        std::thread::sleep(Duration::from_millis(100));
    }
    let before = server.get_within("/report")["events"].as_u64().unwrap();
    publish_example(&scratch, &url);
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.get_within("/report")["events"].as_u64().unwrap() < before + 5000 {
        assert!(Instant::now() < deadline, "the second publication arrives whole");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, health) = server.get_status_within("/health");
    assert_eq!(
        (status, &health["feed"]["reconnects"], &health["feed"]["connected"]),
        (200, &json!(1), &json!(true)),
        "{health}"
    );
    let (_, metrics) = server.get("/metrics");
    assert!(metrics.contains("tradsys_feed_reconnects_total{plugin=\"nats@0.1.0\"} 1"), "{metrics}");
    assert!(metrics.contains("tradsys_feed_connected{plugin=\"nats@0.1.0\"} 1"), "{metrics}");
    let (status, _) = server.terminate();
    assert_eq!(status, 0);
}

#[test]
fn a_silent_feed_raises_its_alert_once_and_health_says_degraded() {
    let scratch = dir("feed-nats-quiet");
    let Some(nats) = NatsServer::start(&scratch) else { return };
    let config = format!("{}\n[alerts]\nfeed_quiet_ms = 200\n", live_config(&nats.url, ""));
    let server = Server::start(&scratch, &config, &[]);
    wait_for_log(
        || server.log.lock().unwrap().clone(),
        "alert: the feed has delivered nothing",
        Duration::from_secs(30),
    );
    let alerts = server.get_within("/alerts");
    let alerts = alerts.as_array().unwrap();
    assert_eq!(alerts.len(), 1, "once per silence: {alerts:?}");
    assert_eq!(
        (&alerts[0]["kind"], &alerts[0]["measure"], &alerts[0]["budget"]),
        (&json!("feed"), &json!("quiet_ms"), &json!(200.0))
    );
    assert!(alerts[0]["value"].as_f64().unwrap() >= 200.0);
    let (status, health) = server.get_status_within("/health");
    assert_eq!(
        (status, &health["status"], &health["feed"]["connected"]),
        (503, &json!("degraded"), &json!(true)),
        "{health}"
    );
    assert!(health["feed"]["quiet_ms"].as_u64().unwrap() >= 200, "{health}");
    let (status, _) = server.terminate();
    assert_eq!(status, 2, "no data ever came: the run read no usable data");
}
