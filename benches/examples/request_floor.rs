//! The floor under a remote strategy's callback: one core NATS request and its reply on loopback,
//! made the way the `remote` strategy makes them (a plain thread blocking on a runtime with one
//! worker) and answered the way a host answers (a dispatcher task handing each request to a thread
//! of its own, which publishes the reply), with payloads of a callback's size.
//!
//! ```text
//! cargo run --release -p tradsys-benches --example request_floor -- NATS_URL COUNT
//! ```
//!
//! Prints the percentiles of the round trip, with the hand-off to a thread (as a host does) and
//! without it (the reply published from the dispatcher task), so the difference is what the
//! host's thread per instance costs.

use std::time::{Duration, Instant};

use futures_util::StreamExt;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, count] = args.as_slice() else {
        eprintln!("usage: request_floor NATS_URL COUNT");
        std::process::exit(2);
    };
    let count: usize = count.parse().expect("COUNT is a number");
    let server = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let responder = server.block_on(async_nats::connect(url.as_str())).expect("connect");
    let handle = server.handle().clone();
    server.spawn(answer(responder.clone(), handle, "floor.threaded", true));
    server.spawn(answer(responder, server.handle().clone(), "floor.inline", false));
    let requests = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let client = requests.block_on(async_nats::connect(url.as_str())).expect("connect");
    std::thread::sleep(Duration::from_millis(200));
    // A callback's request (an event and a view) and reply (an order), roughly.
    let payload = vec![b'x'; 420];
    for subject in ["floor.threaded", "floor.inline"] {
        let mut times: Vec<Duration> = Vec::with_capacity(count);
        for at in 0..count + count / 10 {
            let started = Instant::now();
            requests.block_on(client.request(subject, payload.clone().into())).expect("a reply");
            if at >= count / 10 {
                times.push(started.elapsed());
            }
        }
        times.sort();
        let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)].as_secs_f64() * 1e6;
        println!(
            "{subject:15} {count} requests: p50 {:.1} us, p90 {:.1} us, p99 {:.1} us, mean {:.1} us",
            at(0.5),
            at(0.9),
            at(0.99),
            times.iter().map(Duration::as_secs_f64).sum::<f64>() / times.len() as f64 * 1e6
        );
    }
}

/// Answers every request on `subject` with 200 bytes, from a thread of its own when `threaded`.
async fn answer(client: async_nats::Client, handle: tokio::runtime::Handle, subject: &str, threaded: bool) {
    let mut requests = client.subscribe(subject.to_owned()).await.expect("subscribe");
    let (inbox, work) = std::sync::mpsc::channel::<async_nats::Subject>();
    if threaded {
        let (client, handle) = (client.clone(), handle.clone());
        std::thread::spawn(move || {
            while let Ok(reply) = work.recv() {
                handle.block_on(client.publish(reply, vec![b'y'; 200].into())).expect("publish");
            }
        });
    }
    while let Some(request) = requests.next().await {
        let Some(reply) = request.reply else { continue };
        if threaded {
            inbox.send(reply).expect("the thread runs");
        } else {
            client.publish(reply, vec![b'y'; 200].into()).await.expect("publish");
        }
    }
}
