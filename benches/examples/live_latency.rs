//! End-to-end latency on loopback: a bar published to NATS → the `nats` feed → the session → the
//! fill it causes, published back by `[nats] publish` → received here.
//!
//! ```text
//! cargo run --release -p tradsys-benches --example live_latency -- NATS_URL TRADSYS_BIN RATE COUNT
//! ```
//!
//! Each bar's time is the wall clock when it is sent, and a fill's `ts` is the session time of the
//! bar that filled it (in bar mode an order fills at the next bar's open), so a fill received at
//! wall time `t` was `t - ts` in flight: publish, feed thread, session, publisher thread, server,
//! back. The bars alternate so that an SMA(2)/SMA(4) cross trades every few bars. Bars go out in
//! bursts of a millisecond's worth (`RATE / 1000`), which is how a paced publisher meets its rate;
//! a bar waits in its burst for at most a millisecond, and that is part of what is measured.
//! Prints the latency percentiles, the fills and whether the session saw every bar.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;

fn wall_ns() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_nanos()).expect("in range")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, bin, rate, count] = args.as_slice() else {
        eprintln!("usage: live_latency NATS_URL TRADSYS_BIN RATE COUNT");
        std::process::exit(2);
    };
    let rate: u64 = rate.parse().expect("RATE: events per second");
    let count: u64 = count.parse().expect("COUNT: bars");
    let session = format!("latency-{rate}-{}", std::process::id());
    let dir = std::env::temp_dir().join(&session);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let config = format!(
        "[session]\ninitial_cash = \"100000000\"\n[instruments.LAT]\ntick = \"0.01\"\n\
         [feed]\nplugin = \"nats\"\nparams = {{ url = \"{url}\", subjects = [\"lat.>\"], until_end = true, buffer = 1000000, quiet_warn_ms = 0 }}\n\
         [strategies.trend]\nplugin = \"sma-cross\"\nparams = {{ fast = 2, slow = 4, qty = 1 }}\n\
         [nats]\nurl = \"{url}\"\npublish = true\nsession = \"{session}\"\n"
    );
    std::fs::write(dir.join("latency.toml"), config).expect("the config");
    let mut run = Command::new(bin)
        .args(["run", "-c", "latency.toml", "--quiet", "--report", "report.json"])
        .current_dir(&dir)
        .env("TRADSYS_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start tradsys run");
    let stderr = run.stderr.take().expect("stderr");
    let (subscribed_tx, subscribed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("feed nats: subscribed") {
                let _ = subscribed_tx.send(());
            }
        }
    });
    subscribed.recv_timeout(Duration::from_secs(60)).expect("the session subscribes");

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (latencies, fills) = runtime.block_on(async {
        let client = async_nats::connect(url.as_str()).await.expect("connect");
        let mut fills = client.subscribe(format!("tradsys.{session}.fills.>")).await.expect("subscribe");
        client.flush().await.expect("flush");
        let collector = tokio::spawn(async move {
            let mut histogram = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).expect("bounds");
            let mut received = 0_u64;
            while let Ok(Some(message)) = tokio::time::timeout(Duration::from_secs(5), fills.next()).await {
                let now = wall_ns();
                let fill: serde_json::Value = serde_json::from_slice(&message.payload).expect("a fill");
                let sent = fill["ts"].as_i64().expect("ts");
                histogram.record(u64::try_from((now - sent).max(1)).unwrap_or(1)).expect("in bounds");
                received += 1;
            }
            (histogram, received)
        });
        let per_burst = (rate / 1000).max(1);
        let started = Instant::now();
        let mut last = 0_i64;
        for seq in 0..count {
            if seq % per_burst == 0 {
                let due = started + Duration::from_nanos(seq * 1_000_000_000 / rate);
                tokio::time::sleep_until(due.into()).await;
            }
            let ts = wall_ns().max(last + 1);
            last = ts;
            let close = if (seq / 3) % 2 == 0 { "101.00" } else { "99.00" };
            let bar = format!(
                r#"{{"seq":{seq},"ts":{ts},"symbol":"LAT","type":"bar","open":"{close}","high":"101.5","low":"98.5","close":"{close}","volume":1}}"#
            );
            client.publish("lat.LAT.bars", bar.into()).await.expect("publish");
        }
        let sent_for = started.elapsed();
        client.publish("lat._.end", format!(r#"{{"seq":{count},"ts":{last},"type":"end"}}"#).into()).await.expect("end");
        client.flush().await.expect("flush");
        eprintln!("published {count} bars in {:.2} s ({:.0}/s)", sent_for.as_secs_f64(), count as f64 / sent_for.as_secs_f64());
        collector.await.expect("the collector")
    });
    let status = run.wait().expect("the run ends");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).expect("the report")).expect("JSON");
    let seen = report["events"].as_u64().unwrap_or(0);
    let us = |q: f64| latencies.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "rate {rate}/s, {count} bars: session saw {seen} ({}), {fills} fills; latency p50 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs, max {:.0} µs; run {}",
        if seen == count { "none lost" } else { "LOST SOME" },
        us(0.5),
        us(0.99),
        us(0.999),
        latencies.max() as f64 / 1000.0,
        if status.success() { "ok" } else { "failed" }
    );
    let _ = std::fs::remove_dir_all(&dir);
}
