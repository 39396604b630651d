//! `tradsys publish` against a real NATS server on loopback: what a subscriber receives is the
//! configured feed, event for event and in order; bad arguments and an unreachable server are
//! refused with exit 2; a signal stops between events with what was published flushed.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use support::nats::{NatsServer, free_port};
use support::{dir, text, tradsys};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples").join(name)
}

/// Subscribes to `subjects` on `url`, runs `publish` (which must publish `expected` messages,
/// or fewer if it is stopped), and returns the messages received as (subject, JSON) in arrival
/// order, with the publisher's exit status and output.
fn receive_while(
    url: &str,
    subjects: &str,
    expected: usize,
    publish: impl FnOnce() -> std::process::Output + Send + 'static,
) -> (Vec<(String, Value)>, std::process::Output) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let client = async_nats::connect(url).await.expect("the test's subscriber connects");
        let mut subscriber = client.subscribe(subjects.to_owned()).await.unwrap();
        client.flush().await.unwrap();
        let publisher = tokio::task::spawn_blocking(publish);
        let mut received = Vec::new();
        // Everything a publisher flushed has reached the server; it arrives well within a quiet
        // second after the publisher ends.
        while received.len() < expected {
            match tokio::time::timeout(Duration::from_secs(1), subscriber.next()).await {
                Ok(Some(message)) => {
                    let json: Value = serde_json::from_slice(&message.payload).expect("a JSON message");
                    received.push((message.subject.to_string(), json));
                }
                Ok(None) => break,
                Err(_) if publisher.is_finished() => break,
                Err(_) => {}
            }
        }
        (received, publisher.await.unwrap())
    })
}

/// Parses a CSV price as the wire's decimal strings are compared: exactly, as text of a decimal.
fn decimal(text: &str) -> f64 {
    text.parse().unwrap_or_else(|_| panic!("{text:?} is not a number"))
}

#[test]
fn a_csv_feed_arrives_bar_for_bar_in_order_with_exact_prices() {
    let scratch = dir("nats-publish-csv");
    let Some(server) = NatsServer::start(&scratch) else { return };
    let config = example("bars-sma-cross.toml");
    let url = server.url.clone();
    let scratch_path = scratch.to_path_buf();
    let (received, output) = receive_while(&server.url, "md.>", 5000, move || {
        tradsys(&scratch_path, &["publish", "--config", config.to_str().unwrap(), "--nats", &url])
    });
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("5000 events on 1 subjects (md.*)"), "{}", text(&output.stdout));
    let csv = std::fs::read_to_string(example("data/EURUSD-1h.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|line| line.split(',').collect()).collect();
    assert_eq!(received.len(), rows.len(), "every bar is published once");
    for (seq, ((subject, message), row)) in received.iter().zip(&rows).enumerate() {
        assert_eq!(subject, "md.EURUSD.bars");
        assert_eq!(message["seq"], seq, "in feed order: {message}");
        assert_eq!(message["type"], "bar");
        assert_eq!(message["symbol"], "EURUSD");
        let time = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", row[0]).unwrap();
        let ns = time.to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp().as_nanosecond();
        assert_eq!(message["ts"].as_i64().map(i128::from), Some(ns), "row {seq}");
        for (field, column) in [("open", 1), ("high", 2), ("low", 3), ("close", 4)] {
            let sent = message[field].as_str().unwrap_or_else(|| panic!("{field} is a decimal string: {message}"));
            assert_eq!(decimal(sent), decimal(row[column]), "row {seq} {field}");
        }
        assert_eq!(message["volume"].as_f64(), Some(decimal(row[5])), "row {seq}");
    }
}

#[test]
fn order_flow_keeps_every_command_with_its_action_and_id() {
    let scratch = dir("nats-publish-orders");
    let Some(server) = NatsServer::start(&scratch) else { return };
    let config = example("order-flow-market-maker.toml");
    let csv = std::fs::read_to_string(example("data/orders-sample.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|line| line.split(',').collect()).collect();
    let (url, scratch_path) = (server.url.clone(), scratch.to_path_buf());
    let (received, output) = receive_while(&server.url, "desk.md.>", rows.len(), move || {
        tradsys(&scratch_path, &["publish", "-c", config.to_str().unwrap(), "--nats", &url, "--prefix", "desk.md"])
    });
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(received.len(), rows.len());
    for (seq, ((subject, message), row)) in received.iter().zip(&rows).enumerate() {
        assert_eq!(message["seq"], seq);
        assert_eq!(message["type"], row[0], "row {seq}: {message}");
        assert_eq!(message["id"].as_u64(), row[1].parse().ok(), "row {seq}");
        assert!(subject.starts_with("desk.md.") && subject.ends_with(".orders"), "{subject}");
        if row[0] == "new" {
            assert_eq!(message["side"], row[3]);
            assert_eq!(decimal(message["price"].as_str().unwrap()), decimal(row[5]), "row {seq}");
            assert_eq!(message["qty"].as_i64(), row[6].parse().ok(), "row {seq}");
            assert_eq!(subject, &format!("desk.md.{}.orders", row[2]));
        }
    }
}

#[test]
fn an_unreachable_server_is_bad_input_naming_its_url() {
    let scratch = dir("nats-unreachable");
    let url = format!("nats://127.0.0.1:{}", free_port());
    let output = tradsys(&scratch, &["publish", "--nats", &url]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(stderr.contains(&format!("cannot connect to the NATS server at {url}")), "{stderr}");
    assert!(stderr.contains("nats-server -js"), "the message says how to start one: {stderr}");
    let output = tradsys(&scratch, &["publish", "--nats", "nats://[::1"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("nats://[::1"), "{}", text(&output.stderr));
}

#[test]
fn a_bad_pace_or_prefix_is_refused_before_connecting() {
    let scratch = dir("nats-bad-args");
    let url = format!("nats://127.0.0.1:{}", free_port());
    let output = tradsys(&scratch, &["publish", "--nats", &url, "--rate", "0", "--prefix", "md.>"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("--rate 0: expected a positive number"), "{stderr}");
    assert!(stderr.contains("--prefix \"md.>\": expected dot-separated tokens"), "{stderr}");
    assert!(!stderr.contains("cannot connect"), "arguments are checked first: {stderr}");
    let output = tradsys(&scratch, &["publish", "--nats", &url, "--speed=-1"]);
    assert!(text(&output.stderr).contains("--speed -1: expected a positive number"), "{}", text(&output.stderr));
}

#[test]
fn a_signal_stops_between_events_and_what_was_published_arrives() {
    let scratch = dir("nats-publish-signal");
    let Some(server) = NatsServer::start(&scratch) else { return };
    let config = example("bars-sma-cross.toml");
    let (url, scratch_path) = (server.url.clone(), scratch.to_path_buf());
    let (received, output) = receive_while(&server.url, "md.>", 5000, move || {
        // 50 events/s: 5,000 would take 100 s; the signal comes after about one.
        let child = Command::new(env!("CARGO_BIN_EXE_tradsys"))
            .args(["publish", "--config", config.to_str().unwrap(), "--nats", &url, "--rate", "50"])
            .current_dir(&scratch_path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let killed = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
        assert!(killed.success());
        child.wait_with_output().unwrap()
    });
    assert_eq!(output.status.code(), Some(130), "{}", text(&output.stderr));
    assert!(!received.is_empty() && received.len() < 5000, "{} received", received.len());
    for (seq, (_, message)) in received.iter().enumerate() {
        assert_eq!(message["seq"], seq, "the published events are the feed's first, with no gap");
    }
}

/// The tests' own server support: a server that finds its port taken is not mistaken for ready
/// because another test's server answers on that port (two parallel tests can draw the same free
/// port); `start` then goes to another port.
#[test]
fn a_server_whose_port_is_taken_is_not_ready_on_another_servers_answer() {
    let scratch = dir("nats-port-taken");
    let Some(first) = NatsServer::start(&scratch.join("first")) else { return };
    let port = first.port();
    let second = std::panic::catch_unwind(|| NatsServer::start_on(&scratch.join("second"), port));
    let message = second.err().and_then(|panic| panic.downcast::<String>().ok()).expect("start_on panics");
    assert!(message.contains(&format!("nats-server on port {port} exited")), "{message}");
    let third = NatsServer::start(&scratch.join("third")).expect("a server");
    assert_ne!(third.port(), port);
}
