//! Plays the exchange-core-like flow through one FIFO book once, for callgrind instruction counts
//! of the matching hot path (the `exchange-core/fifo-enum` benchmark's work, without criterion):
//!
//! ```sh
//! cargo build --profile bench -p tradsys-benches --example book_once
//! valgrind --tool=callgrind target/release/examples/book_once 200000 1000000
//! ```
//!
//! Run it with `MEASURED = 0` too and subtract, to count the measured commands alone.

use std::hint::black_box;

use tradsys_benches::exchange_core_flow;
use tradsys_core::book::{OrderBook, StpPolicy};
use tradsys_core::instrument::Instrument;
use tradsys_core::orderflow::OrderCommand;
use tradsys_plugin_matching_fifo::FifoMatching;

fn main() {
    let mut args = std::env::args().skip(1).map(|n| n.parse::<usize>().expect("counts are whole numbers"));
    let warmup = args.next().unwrap_or(200_000);
    let measured = args.next().unwrap_or(1_000_000);
    let (warm, flow) = exchange_core_flow(warmup, measured, 7);
    let mut book = OrderBook::with_capacity(Instrument::undeclared("XYZ"), FifoMatching, StpPolicy::None, 4096);
    let mut events = Vec::with_capacity(64);
    let mut n_events = 0;
    for command in warm.iter().chain(&flow) {
        events.clear();
        match *command {
            OrderCommand::New { ref order, .. } => book.submit(order, &mut events),
            OrderCommand::Cancel { id, .. } => book.cancel(id, &mut events),
            OrderCommand::Modify { id, price, qty, .. } => book.modify(id, price, qty, &mut events),
        }
        n_events += events.len();
    }
    eprintln!("{} commands, {} events", warmup + measured, black_box(n_events));
}
