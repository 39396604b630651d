//! Plays a generated order flow through the matching hot path once, for callgrind instruction
//! counts without criterion: the exchange-core flow through one FIFO book (the
//! `exchange-core/fifo-enum` benchmark's work), or with `multi` first, the multi-symbol flow
//! through the engine's 16 books (`multi-symbol/fifo-enum-16-books`).
//!
//! ```sh
//! cargo build --profile bench -p tradsys-benches --example book_once
//! valgrind --tool=callgrind target/release/examples/book_once 200000 1000000
//! valgrind --tool=callgrind target/release/examples/book_once multi 200000 1000000
//! ```
//!
//! Run it with `MEASURED = 0` too and subtract, to count the measured commands alone. The flow is
//! generated before it is played (the generator keeps a shadow book of its own), so count only the
//! playing with `--toggle-collect='*book_once::play*'`.

use std::hint::black_box;

use tradsys_benches::{exchange_core_flow, multi_symbol_flow};
use tradsys_core::book::{BookEvent, OrderBook, StpPolicy};
use tradsys_core::engine::MatchingEngine;
use tradsys_core::instrument::Instrument;
use tradsys_core::orderflow::OrderCommand;
use tradsys_plugin_matching_fifo::FifoMatching;

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let multi = args.next_if(|first| first == "multi").is_some();
    let mut counts = args.map(|n| n.parse::<usize>().expect("counts are whole numbers"));
    let warmup = counts.next().unwrap_or(200_000);
    let measured = counts.next().unwrap_or(1_000_000);
    let n_events = if multi {
        let (instruments, warm, flow) = multi_symbol_flow(warmup, measured, 7);
        let mut engine =
            MatchingEngine::new(instruments, Box::new(|| Ok(FifoMatching)), StpPolicy::None).with_book_capacity(4096);
        play(&warm, &flow, |command, events| {
            engine.execute(command, events);
        })
    } else {
        let (warm, flow) = exchange_core_flow(warmup, measured, 7);
        let mut book = OrderBook::with_capacity(Instrument::undeclared("XYZ"), FifoMatching, StpPolicy::None, 4096);
        play(&warm, &flow, |command, events| match *command {
            OrderCommand::New { ref order, .. } => book.submit(order, events),
            OrderCommand::Cancel { id, .. } => book.cancel(id, events),
            OrderCommand::Modify { id, price, qty, .. } => book.modify(id, price, qty, events),
        })
    };
    eprintln!("{} commands, {} events", warmup + measured, black_box(n_events));
}

/// Plays the warm-up, then the measured commands, timed (to stderr); returns the number of events
/// they made.
#[inline(never)]
fn play(
    warm: &[OrderCommand],
    flow: &[OrderCommand],
    mut execute: impl FnMut(&OrderCommand, &mut Vec<BookEvent>),
) -> usize {
    let mut events = Vec::with_capacity(64);
    let mut n_events = 0;
    // Two plain loops, not one closure called twice: a closure here is `book_once::play::{{closure}}`,
    // which also matches the toggle pattern, and entering it would turn the counting off.
    for command in warm {
        events.clear();
        execute(command, &mut events);
        n_events += events.len();
    }
    let started = std::time::Instant::now();
    for command in flow {
        events.clear();
        execute(command, &mut events);
        n_events += events.len();
    }
    let elapsed = started.elapsed();
    eprintln!(
        "measured: {} commands in {:.1} ms, {:.2}M commands/s",
        flow.len(),
        elapsed.as_secs_f64() * 1e3,
        flow.len() as f64 / elapsed.as_secs_f64() / 1e6
    );
    n_events
}
