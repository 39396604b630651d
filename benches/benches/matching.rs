//! Matching-engine benchmarks (see BENCHMARKS.md for figures and targets):
//! (a) exchange-core-like flow: throughput, plus per-operation latency percentiles (HDR histogram);
//! (b) dispatch cost: direct concrete type vs the compiled-in enum vs `Box<dyn>` vs the escape variant;
//! (c) bytes per resting order;
//! (d) `replay` of a 1M-row file end to end (parse + match + write).

use std::hint::black_box;
use std::io::{BufReader, BufWriter, Write};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use figment::value::Dict;
use hdrhistogram::Histogram;
use semver::VersionReq;
use tradsys::matching::{CompiledMatching, MatchingRecipe};
use tradsys_benches::{exchange_core_flow, multi_symbol_flow};
use tradsys_core::book::{BookEvent, OrderBook, StpPolicy};
use tradsys_core::engine::MatchingEngine;
use tradsys_core::instrument::{Instrument, InstrumentTable};
use tradsys_core::matching::{BoxedMatching, MatchingAlgorithm};
use tradsys_core::orderflow::generator::{GeneratorConfig, OrderFlowGenerator, Profile};
use tradsys_core::orderflow::{HEADER, OrderCommand, write_command};
use tradsys_core::registry::Registry;
use tradsys_plugin_matching_fifo::FifoMatching;

const WARMUP: usize = 200_000;
const MEASURED: usize = 1_000_000;

fn recipe(name: &str) -> MatchingRecipe {
    let registry = Registry::discover().expect("registry");
    MatchingRecipe::new(&registry, name, &VersionReq::STAR, Dict::new()).expect("matching plugin")
}

/// Plays commands straight into one book (single-symbol flow: no engine lookup).
#[inline]
fn play<M: MatchingAlgorithm>(
    book: &mut OrderBook<M>,
    commands: &[OrderCommand],
    events: &mut Vec<BookEvent>,
) -> usize {
    let mut n_events = 0;
    for command in commands {
        events.clear();
        match *command {
            OrderCommand::New { ref order, .. } => book.submit(order, events),
            OrderCommand::Cancel { id, .. } => book.cancel(id, events),
            OrderCommand::Modify { id, price, qty, .. } => book.modify(id, price, qty, events),
        }
        n_events += events.len();
    }
    n_events
}

fn warmed<M: MatchingAlgorithm>(algorithm: M, warmup: &[OrderCommand]) -> OrderBook<M> {
    let mut book = OrderBook::with_capacity(Instrument::undeclared("XYZ"), algorithm, StpPolicy::None, 4096);
    play(&mut book, warmup, &mut Vec::with_capacity(64));
    book
}

/// Runs the measured flow on a fresh warmed book per iteration batch.
fn bench_flow<M: MatchingAlgorithm>(
    c: &mut Criterion,
    group: &str,
    name: &str,
    make: impl Fn() -> M,
    warmup: &[OrderCommand],
    measured: &[OrderCommand],
) {
    let mut group = c.benchmark_group(group);
    group.throughput(Throughput::Elements(measured.len() as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut events = Vec::with_capacity(64);
            for _ in 0..iters {
                let mut book = warmed(make(), warmup);
                let started = Instant::now();
                black_box(play(&mut book, measured, &mut events));
                total += started.elapsed();
            }
            total
        });
    });
    group.finish();
}

fn exchange_core(c: &mut Criterion) {
    let (warmup, measured) = exchange_core_flow(WARMUP, MEASURED, 7);
    let fifo = recipe("fifo");
    bench_flow(c, "exchange-core", "fifo-enum", || fifo.build().expect("fifo"), &warmup, &measured);
    let pro_rata = recipe("pro-rata");
    bench_flow(c, "exchange-core", "pro-rata-enum", || pro_rata.build().expect("pro-rata"), &warmup, &measured);

    // Latency percentiles per operation. Each op is timed with Instant (about 20 ns of its own cost on
    // this machine, included in the figures), over three passes of the measured flow.
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3).expect("histogram");
    let mut events = Vec::with_capacity(64);
    for _ in 0..3 {
        let mut book = warmed(fifo.build().expect("fifo"), &warmup);
        for command in &measured {
            let started = Instant::now();
            events.clear();
            match *command {
                OrderCommand::New { ref order, .. } => book.submit(order, &mut events),
                OrderCommand::Cancel { id, .. } => book.cancel(id, &mut events),
                OrderCommand::Modify { id, price, qty, .. } => book.modify(id, price, qty, &mut events),
            }
            let nanos = started.elapsed().as_nanos() as u64;
            histogram.record(nanos.max(1)).expect("record");
        }
        black_box(&events);
    }
    println!(
        "exchange-core/fifo-enum latency ns (incl. timer): mean {:.1} p50 {} p99 {} p99.9 {} p99.99 {} max {}",
        histogram.mean(),
        histogram.value_at_quantile(0.50),
        histogram.value_at_quantile(0.99),
        histogram.value_at_quantile(0.999),
        histogram.value_at_quantile(0.9999),
        histogram.max()
    );
    let timer = {
        let mut h = Histogram::<u64>::new_with_bounds(1, 10_000_000, 3).expect("histogram");
        for _ in 0..1_000_000 {
            let started = Instant::now();
            h.record((started.elapsed().as_nanos() as u64).max(1)).expect("record");
        }
        h
    };
    println!(
        "timer alone ns: mean {:.1} p50 {} p99 {}",
        timer.mean(),
        timer.value_at_quantile(0.5),
        timer.value_at_quantile(0.99)
    );

    let book = warmed(fifo.build().expect("fifo"), &warmup);
    let (bids, asks) = book.level_count();
    println!(
        "book after warm-up: {} resting orders over {} levels; heap {} bytes = {:.1} bytes per resting order; slot + index entry {} bytes",
        book.len(),
        bids + asks,
        book.heap_bytes(),
        book.heap_bytes() as f64 / book.len() as f64,
        OrderBook::<FifoMatching>::bytes_per_order_slot()
    );
}

/// The multi-symbol flow through the engine the binary uses (16 books, opened on first use and
/// sized as `tradsys replay` sizes them), FIFO through the compiled-in enum.
fn multi_symbol(c: &mut Criterion) {
    let (instruments, warmup, measured) = multi_symbol_flow(WARMUP, MEASURED, 7);
    let fifo = recipe("fifo");
    let engine = || {
        let source = fifo.clone();
        let mut engine = MatchingEngine::new(
            instruments.clone(),
            Box::new(move || source.build().map_err(|e| e.to_string())),
            StpPolicy::None,
        )
        .with_book_capacity(4096);
        let mut events = Vec::with_capacity(64);
        for command in &warmup {
            events.clear();
            engine.execute(command, &mut events);
        }
        engine
    };
    let mut group = c.benchmark_group("multi-symbol");
    group.throughput(Throughput::Elements(measured.len() as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("fifo-enum-16-books", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut events = Vec::with_capacity(64);
            for _ in 0..iters {
                let mut engine = engine();
                let started = Instant::now();
                let mut n_events = 0;
                for command in &measured {
                    events.clear();
                    engine.execute(command, &mut events);
                    n_events += events.len();
                }
                total += started.elapsed();
                black_box(n_events);
            }
            total
        });
    });
    group.finish();
}

fn dispatch(c: &mut Criterion) {
    let (warmup, measured) = exchange_core_flow(WARMUP, MEASURED, 11);
    let fifo = recipe("fifo");
    bench_flow(c, "dispatch", "direct-concrete", || FifoMatching, &warmup, &measured);
    bench_flow(c, "dispatch", "enum-static", || fifo.build().expect("fifo"), &warmup, &measured);
    bench_flow(c, "dispatch", "box-dyn", || -> BoxedMatching { fifo.build_boxed().expect("fifo") }, &warmup, &measured);
    bench_flow(
        c,
        "dispatch",
        "enum-escape-variant",
        || CompiledMatching::External(fifo.build_boxed().expect("fifo")),
        &warmup,
        &measured,
    );
}

fn replay(c: &mut Criterion) {
    let rows = 1_000_000u64;
    let path = std::env::temp_dir().join("tradsys-bench-replay-1m.csv");
    {
        let generator = OrderFlowGenerator::new(GeneratorConfig {
            profile: Profile::ExchangeCore,
            count: rows,
            seed: 5,
            symbols: 1,
        })
        .expect("one symbol");
        let instruments = generator.instruments().clone();
        let mut out = BufWriter::new(std::fs::File::create(&path).expect("temp file"));
        writeln!(out, "{HEADER}").expect("write");
        for command in generator {
            write_command(&mut out, &command, &instruments).expect("write");
        }
        out.flush().expect("flush");
    }
    let fifo = recipe("fifo");
    let mut group = c.benchmark_group("replay");
    group.throughput(Throughput::Elements(rows));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("1m-rows-parse-match-write", |b| {
        b.iter(|| {
            let source = fifo.clone();
            let mut engine = MatchingEngine::new(
                InstrumentTable::default(),
                Box::new(move || Ok(source.build().expect("fifo"))),
                StpPolicy::None,
            )
            .with_book_capacity(4096); // as `tradsys replay` sizes its books
            let input = BufReader::with_capacity(1 << 20, std::fs::File::open(&path).expect("open"));
            let output = BufWriter::with_capacity(1 << 20, std::io::sink());
            let summary =
                tradsys::replay::replay_stream(&path, input, &mut engine, output, false, false).expect("replay");
            black_box(summary)
        });
    });
    group.finish();
    let _ = std::fs::remove_file(&path);
}

criterion_group!(benches, exchange_core, multi_symbol, dispatch, replay);
criterion_main!(benches);
