//! `[nats] publish = true` and `tradsys tail` against a real NATS server on loopback: the
//! published fills reconcile exactly with the report and the trades file; a late `tail` reads
//! everything from the start; `serve` publishes rejections with their validator and run-time
//! changes; a server that cannot be reached, or a missing URL, is refused before anything runs.

mod support;

use std::path::Path;

use serde_json::Value;
use support::nats::{NatsServer, free_port};
use support::{Server, dir, text, tradsys};

/// The EUR/USD example, its data path made absolute, with `extra` appended.
fn config(extra: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let file = std::fs::read_to_string(root.join("bars-sma-cross.toml")).unwrap();
    let data = root.join("data/EURUSD-1h.csv");
    format!("{}\n{extra}", file.replace("data/EURUSD-1h.csv", &data.display().to_string()))
}

/// A decimal string as an exact count of 10⁻⁸.
fn exact(text: &str) -> i128 {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let negative = whole.starts_with('-');
    let digits = format!("{}{:0<8}", whole.trim_start_matches('-'), fraction);
    let value: i128 = digits.parse().unwrap_or_else(|_| panic!("{text:?}"));
    if negative { -value } else { value }
}

/// The events `tradsys tail` prints for `session`, parsed.
fn tail(dir: &Path, url: &str, session: &str) -> Vec<Value> {
    let output = tradsys(dir, &["tail", "--nats", url, "--session", session]);
    assert!(output.status.success(), "tail exits 0 at the session's end: {}", text(&output.stderr));
    text(&output.stdout).lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

/// Round trips rebuilt from fills, first in first out: (side, qty, entry price, exit price).
fn round_trips(fills: &[&Value]) -> Vec<(String, i64, String, String)> {
    let mut open: std::collections::VecDeque<(i64, String)> = std::collections::VecDeque::new();
    let mut trips = Vec::new();
    for fill in fills {
        let signed = if fill["side"] == "buy" { 1 } else { -1 } * fill["qty"].as_i64().unwrap();
        let price = fill["price"].as_str().unwrap().to_owned();
        let mut left = signed;
        while left != 0 && open.front().is_some_and(|(qty, _)| qty.signum() == -left.signum()) {
            let (qty, entry) = open.pop_front().unwrap();
            let closed = qty.abs().min(left.abs());
            trips.push((if qty > 0 { "long" } else { "short" }.to_owned(), closed, entry.clone(), price.clone()));
            if closed < qty.abs() {
                open.push_front((qty - qty.signum() * closed, entry));
            }
            left += left.signum() * -closed;
        }
        if left != 0 {
            open.push_back((left, price));
        }
    }
    trips
}

#[test]
fn published_fills_reconcile_exactly_with_the_report_and_the_trades_file() {
    let scratch = dir("events-reconcile");
    let Some(server) = NatsServer::start(&scratch) else { return };
    let extra = format!("[nats]\nurl = \"{}\"\npublish = true\nsession = \"recon\"\n", server.url);
    std::fs::write(scratch.join("run.toml"), config(&extra)).unwrap();
    let run = tradsys(&scratch, &["run", "-c", "run.toml", "--trades", "trades.csv", "--report", "report.json"]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let stderr = text(&run.stderr);
    assert!(stderr.contains("publishing the session's events to tradsys.recon.>"), "{stderr}");
    // Started after the session ended: reads it all from the beginning.
    let events = tail(&scratch, &server.url, "recon");
    assert!(
        stderr.contains(&format!("{} session events stored in stream TRADSYS_SESSION_recon", events.len())),
        "{stderr}"
    );
    assert_eq!(events.first().unwrap()["type"], "started");
    assert_eq!(events.last().unwrap()["type"], "ended");
    assert_eq!(events.last().unwrap()["events"], 5000);
    for (seq, event) in events.iter().enumerate() {
        assert_eq!(event["seq"], seq, "in order, none missing");
    }
    let report: Value = serde_json::from_str(&std::fs::read_to_string(scratch.join("report.json")).unwrap()).unwrap();
    let strategy = &report["strategies"][0];
    let fills: Vec<&Value> = events.iter().filter(|e| e["type"] == "fill").collect();
    assert_eq!(fills.len() as u64, strategy["fills"].as_u64().unwrap(), "one message per fill");
    let orders = events.iter().filter(|e| e["type"] == "order").count() as u64;
    assert_eq!(orders, strategy["orders"].as_u64().unwrap(), "one message per order");
    let commission: i128 = fills.iter().map(|f| exact(f["commission"].as_str().unwrap())).sum();
    assert_eq!(commission, exact(strategy["commission"].as_str().unwrap()), "commission to the last 10⁻⁸");
    let position: i64 =
        fills.iter().map(|f| if f["side"] == "buy" { 1 } else { -1 } * f["qty"].as_i64().unwrap()).sum();
    // Positions are `[symbol, lots]` pairs.
    let reported = strategy["positions"].as_array().unwrap().iter().map(|p| p[1].as_i64().unwrap()).sum::<i64>();
    assert_eq!(position, reported, "the fills add up to the final position");
    let trades = std::fs::read_to_string(scratch.join("trades.csv")).unwrap();
    let from_file: Vec<(String, i64, String, String)> = trades
        .lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            (cells[2].to_owned(), cells[3].parse().unwrap(), cells[6].to_owned(), cells[9].to_owned())
        })
        .collect();
    assert!(from_file.len() > 100);
    let price = |text: &str| exact(text);
    let rebuilt = round_trips(&fills);
    assert_eq!(rebuilt.len(), from_file.len(), "every round trip of the file, and no other");
    for (made, filed) in rebuilt.iter().zip(&from_file) {
        assert_eq!(
            (&made.0, made.1, price(&made.2), price(&made.3)),
            (&filed.0, filed.1, price(&filed.2), price(&filed.3))
        );
    }
}

#[test]
fn serve_publishes_rejections_with_their_validator_and_run_time_changes() {
    let scratch = dir("events-serve");
    let Some(nats) = NatsServer::start(&scratch) else { return };
    // Live bars from NATS, so the session is there for the changes; orders of 10 lots against a
    // limit of 5: every order is refused by the validator `size`.
    let live = config(&format!("[nats]\nurl = \"{}\"\npublish = true\nsession = \"desk\"\n", nats.url))
        .replace("max_qty = 50", "max_qty = 5")
        .replace("plugin = \"bars-csv\"", "plugin = \"nats\"");
    let live: String = live
        .lines()
        .map(|line| {
            if line.contains("EURUSD-1h.csv") {
                format!("params = {{ url = \"{}\", subjects = [\"md.>\"], until_end = true }}\n", nats.url)
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    let server = Server::start(&scratch, &live, &["--exit-at-end"]);
    for action in ["stop", "start"] {
        let (status, body) = server.admin("POST", &format!("/components/trend/{action}"), None);
        assert_eq!(status, 200, "{action}: {body}");
    }
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/bars-sma-cross.toml");
    let published = tradsys(&scratch, &["publish", "-c", example.to_str().unwrap(), "--nats", &nats.url]);
    assert!(published.status.success(), "{}", text(&published.stderr));
    assert_eq!(server.wait(), 0, "the end marker ends the session");
    let events = tail(&scratch, &nats.url, "desk");
    let changes: Vec<&Value> = events.iter().filter(|e| e["type"] == "change").collect();
    let said: Vec<&str> = changes.iter().map(|c| c["change"].as_str().unwrap()).collect();
    assert_eq!(said, ["strategy trend: stopped", "strategy trend: started"]);
    assert_eq!(changes[0]["component"], "strategy trend");
    let rejections: Vec<&Value> = events.iter().filter(|e| e["type"] == "rejection").collect();
    let orders = events.iter().filter(|e| e["type"] == "order").count();
    assert!(
        orders > 100 && rejections.len() == orders,
        "every order refused: {orders} orders, {} rejections",
        rejections.len()
    );
    let first = rejections[0];
    assert_eq!(
        (first["by"].as_str(), first["validator"].as_str(), first["strategy"].as_str(), first["qty"].as_i64()),
        (Some("risk:size"), Some("size"), Some("trend"), Some(10))
    );
    assert!(first["reason"].as_str().unwrap().contains('5'), "{first}");
    assert!(events.iter().all(|e| e["type"] != "fill"), "nothing filled");
}

#[test]
fn an_unreachable_server_or_a_missing_url_is_refused_before_the_run() {
    let scratch = dir("events-refused");
    let url = format!("nats://127.0.0.1:{}", free_port());
    std::fs::write(scratch.join("down.toml"), config(&format!("[nats]\nurl = \"{url}\"\npublish = true\n"))).unwrap();
    let output = tradsys(&scratch, &["run", "-c", "down.toml", "--trades", "t.csv"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains(&format!("cannot connect to the NATS server at {url}")));
    assert!(!scratch.join("t.csv").exists(), "nothing ran");
    std::fs::write(scratch.join("nourl.toml"), config("[nats]\npublish = true\nsession = \"sweep\"\n")).unwrap();
    let output = tradsys(&scratch, &["run", "-c", "nourl.toml"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("key nats.url: nats.publish = true needs the server's URL"), "{stderr}");
    assert!(stderr.contains("key nats.session: \"sweep\" is the distributed sweeps' namespace"), "{stderr}");
}
