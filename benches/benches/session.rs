//! Session benchmarks (see BENCHMARKS.md): bar mode with sma-cross, the full risk chain, matching and
//! portfolio, fed from memory and from a CSV file; order-flow mode with the default strategies, with
//! the synthetic generator on its worker thread (the default) and on the session's thread.

use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tradsys::configure::load_checked;
use tradsys::run::start_session;
use tradsys_benches::{RISK_CHAIN, SMA_CROSS};
use tradsys_core::config::ConfigFile;
use tradsys_core::registry::Registry;
use tradsys_core::rng::SplitMix64;
use tradsys_core::session::NoObserver;

/// Per-component metrics off (`session.metrics = false`), to measure what metrics cost.
const METRICS_OFF: &[&str] = &["session.metrics=false"];

fn run_config(registry: &Registry, text: &'static str, overrides: &[&str]) -> u64 {
    let overrides: Vec<String> = overrides.iter().map(|s| (*s).to_owned()).collect();
    let checked = load_checked(&ConfigFile::Embedded { name: "bench", text }, &overrides, registry).expect("config");
    let session = start_session(&checked, registry).expect("session");
    let report = session.run(&mut NoObserver).into_result().expect("run");
    assert_eq!(report.bad_rows.count, 0, "a benchmark input must be clean: {:?}", report.bad_rows.first);
    black_box(report.events)
}

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

fn bars(c: &mut Criterion) {
    let registry = Registry::discover().expect("registry");
    let count = 1_000_000u64;
    let strategy = SMA_CROSS;
    let memory =
        leak(format!("[feed]\nplugin = \"bench-bars\"\nparams = {{ count = {count} }}\n{strategy}{RISK_CHAIN}"));
    let path = std::env::temp_dir().join("tradsys-bench-bars-1m.csv");
    {
        let mut out = BufWriter::new(std::fs::File::create(&path).expect("temp file"));
        writeln!(out, ",Open,High,Low,Close,Volume").expect("write");
        let mut rng = SplitMix64::new(3);
        let mut ticks: i64 = 100_000;
        for minute in 0..count as i64 {
            let open = ticks;
            ticks = (ticks + rng.below(21) as i64 - 10).max(1000);
            // Epoch seconds, one bar a minute from 2000-01-01.
            let date = 946_684_800 + minute * 60;
            let p = |t: i64| format!("{}.{:05}", t / 100_000, t % 100_000);
            writeln!(
                out,
                "{date},{},{},{},{},{}",
                p(open),
                p(open.max(ticks) + 3),
                p(open.min(ticks) - 3),
                p(ticks),
                100 + minute % 50
            )
            .expect("write");
        }
        out.flush().expect("flush");
    }
    let csv = leak(format!(
        "[instruments.EURUSD]\ntick = \"0.00001\"\nlot_size = 1000\n[feed]\nplugin = \"bars-csv\"\nparams = {{ path = \"{}\", symbol = \"EURUSD\" }}\n{strategy}{RISK_CHAIN}",
        path.display()
    ));
    let mut group = c.benchmark_group("session-bars");
    group.throughput(Throughput::Elements(count));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("sma-cross-full-chain-memory-feed", |b| b.iter(|| run_config(&registry, memory, &[])));
    group.bench_function("sma-cross-full-chain-memory-feed-metrics-off", |b| {
        b.iter(|| run_config(&registry, memory, METRICS_OFF));
    });
    group.bench_function("sma-cross-full-chain-csv-feed", |b| b.iter(|| run_config(&registry, csv, &[])));
    group.finish();
}

fn order_flow(c: &mut Criterion) {
    let registry = Registry::discover().expect("registry");
    let text = leak(tradsys::run::DEFAULT_CONFIG.to_owned());
    let mut group = c.benchmark_group("session-order-flow");
    group.throughput(Throughput::Elements(1_000_000));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("default-config-1m-events", |b| b.iter(|| run_config(&registry, text, &[])));
    group.bench_function("default-config-1m-events-metrics-off", |b| {
        b.iter(|| run_config(&registry, text, METRICS_OFF))
    });
    // The same flow generated on the session's thread: everything single-threaded.
    let inline = leak(text.replace("step_us = 1000 }", "step_us = 1000, thread = false }"));
    assert_ne!(inline, text, "the default feed line changed; update this benchmark");
    group
        .bench_function("default-config-1m-events-generator-inline", |b| b.iter(|| run_config(&registry, inline, &[])));
    group.finish();
}

criterion_group!(benches, bars, order_flow);
criterion_main!(benches);
