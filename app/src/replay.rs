//! `tradsys replay`: an order-flow file through the matching engine, every event out as JSON lines.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, anyhow};
use figment::value::Dict;
use semver::VersionReq;
use tradsys_core::book::{BookEvent, StpPolicy};
use tradsys_core::boundary::{self, Call};
use tradsys_core::component::BadRows;
use tradsys_core::engine::MatchingEngine;
use tradsys_core::instrument::{Instrument, InstrumentTable};
use tradsys_core::lines::LineReader;
use tradsys_core::metrics::Meter;
use tradsys_core::orderflow::{OrderFlowParser, RowError};
use tradsys_core::registry::Registry;
use tradsys_core::types::{LotSize, Price, Side};

use crate::cli::ReplayArgs;
use crate::event_json::EventWriter;
use crate::failure::{BadInput, Failure, Internal};
use crate::matching::{CompiledMatching, MatchingRecipe};
use crate::output::{OutputFile, OutputRequest, check_outputs};

/// Resting orders a replay's book has room for before it grows (see where the engine is made).
const REPLAY_BOOK_CAPACITY: usize = 4096;

/// What a replay did, for the summary line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReplaySummary {
    /// Data rows read.
    pub rows: u64,
    /// Rows skipped as malformed.
    pub malformed: u64,
    /// Events written.
    pub events: u64,
    /// Trades among them.
    pub trades: u64,
}

/// Parses `SYMBOL:TICK:LOT`.
///
/// # Errors
/// Not three fields, an unreadable tick or lot, or an invalid instrument.
pub fn parse_instrument(text: &str) -> anyhow::Result<Instrument> {
    let parts: Vec<&str> = text.split(':').collect();
    let [symbol, tick, lot] = parts[..] else {
        return Err(anyhow!("--instrument {text:?}: expected SYMBOL:TICK:LOT, e.g. EURUSD:0.00001:1000"));
    };
    let tick: Price = tick.parse().with_context(|| format!("--instrument {text:?}: tick"))?;
    let lot: LotSize = lot
        .parse()
        .with_context(|| format!("--instrument {text:?}: lot must be a number of units, e.g. 1000 or 0.001"))?;
    Ok(Instrument::new(symbol, tick, lot)?)
}

/// Runs `replay`.
///
/// # Errors
/// Bad arguments or file (exit 2); I/O failures writing the output (exit 1).
pub fn replay(args: &ReplayArgs, registry: &Registry) -> Result<ReplaySummary, Failure> {
    let stp: StpPolicy = args.stp.parse().map_err(anyhow::Error::msg).bad_input()?;
    let recipe = MatchingRecipe::new(registry, &args.algo, &VersionReq::STAR, Dict::new()).bad_input()?;
    let mut instruments = InstrumentTable::default();
    for text in &args.instruments {
        instruments.declare(parse_instrument(text).bad_input()?).bad_input()?;
    }
    let input = File::open(&args.orders)
        .with_context(|| format!("cannot open the order-flow file {}", args.orders.display()))
        .bad_input()?;
    let out_path = args.out.as_deref().unwrap_or(Path::new("-"));
    check_outputs(
        &[OutputRequest { flag: "--out", path: out_path, extensions: &["jsonl", "ndjson", "json"], stdout: true }],
        &[("the order-flow file".to_owned(), args.orders.clone())],
    )?;
    let mut output = OutputFile::create(out_path).bad_input()?;
    recipe.build().bad_input()?;
    let label = recipe.label();
    // Books start small and grow with what rests in them: a file of many symbols would otherwise
    // touch (and fault in) room for tens of thousands of orders per book that it never uses.
    let mut engine =
        MatchingEngine::new(instruments, recipe.into_source(), stp).with_book_capacity(REPLAY_BOOK_CAPACITY);
    let started = Instant::now();
    // The matching algorithm runs inside every command. The whole replay is one call through the
    // boundary: a panic ends it (a book left half-updated is never matched against again) as an
    // internal error naming the algorithm, and the rows pay nothing per command.
    let summary = boundary::contain(&MatchingRecipe::component(), &mut Meter::detached(), Call::Execute, || {
        replay_stream(
            &args.orders,
            BufReader::with_capacity(1 << 20, input),
            &mut engine,
            output.writer(),
            args.book,
            args.strict,
        )
    })
    .map_err(|panicked| Failure::Internal(anyhow!("{}: replay ended: {panicked}", args.orders.display())))??;
    output.commit().internal()?;
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "replay: {} rows ({} malformed, skipped), {} events, {} trades, {:.3} s, {:.0} rows/s, matching {}",
        summary.rows,
        summary.malformed,
        summary.events,
        summary.trades,
        elapsed,
        summary.rows as f64 / elapsed.max(1e-9),
        label
    );
    Ok(summary)
}

/// Replays rows from `input` into `engine`, writing events to `output`. The matching algorithm runs
/// here: callers contain the whole call (as [`replay`] does).
///
/// # Errors
/// A bad header, a malformed row with `strict`, or an I/O error.
pub fn replay_stream(
    name: &Path,
    input: impl BufRead,
    engine: &mut MatchingEngine<CompiledMatching>,
    output: impl Write,
    book: bool,
    strict: bool,
) -> Result<ReplaySummary, Failure> {
    let mut lines = LineReader::new(input);
    let read_error = |error: std::io::Error| Failure::BadInput(anyhow!("reading {}: {error}", name.display()));
    let header = match lines.next_line().map_err(read_error)? {
        None => return Err(Failure::BadInput(anyhow!("{}: empty file; expected a header row", name.display()))),
        Some((_, Err(error))) => return Err(Failure::BadInput(anyhow!("{}: line 1: {error}", name.display()))),
        Some((_, Ok(header))) => header,
    };
    let mut parser =
        OrderFlowParser::from_header(header).map_err(|e| anyhow!("{}: {e}", name.display())).bad_input()?;
    let mut writer = EventWriter::new(output);
    let mut events: Vec<BookEvent> = Vec::with_capacity(64);
    let mut summary = ReplaySummary::default();
    let mut malformed = BadRows::default();
    loop {
        let row = match lines.next_line().map_err(read_error)? {
            None => break,
            Some((_, Ok(text))) if text.trim().is_empty() => continue,
            Some((line, Ok(text))) => {
                summary.rows += 1;
                parser.parse(text, line, engine.instruments_mut())
            }
            Some((line, Err(error))) => {
                summary.rows += 1;
                Err(RowError { line, message: error.to_string() })
            }
        };
        let row = match row {
            Ok(row) => row,
            Err(error) => {
                summary.malformed += 1;
                if strict {
                    let _ = writer.finish();
                    eprintln!(
                        "replay: stopped at line {} after {} rows ({} events, {} trades) (--strict)",
                        error.line, summary.rows, summary.events, summary.trades
                    );
                    return Err(Failure::BadInput(anyhow!("{}: {error} (--strict)", name.display())));
                }
                malformed.record(format!("{}: {error}", name.display()));
                continue;
            }
        };
        events.clear();
        let instrument = engine.execute(&row.command, &mut events);
        if let Some(fault) = engine.take_fault() {
            let matching = MatchingRecipe::component();
            return Err(Failure::Internal(anyhow!(
                "{}: line {}: {matching}: {fault}",
                name.display(),
                lines.line_number()
            )));
        }
        let symbol = instrument.and_then(|id| engine.instruments().try_get(id)).map_or("", |i| i.symbol.as_str());
        for event in &events {
            if matches!(event, BookEvent::Trade(_)) {
                summary.trades += 1;
            }
            writer.event(symbol, event).with_context(|| "writing events").internal()?;
        }
        summary.events += events.len() as u64;
    }
    malformed.summarize();
    if book {
        let (mut bids, mut asks) = (Vec::new(), Vec::new());
        let ids: Vec<_> = engine.books().map(|(id, _)| id).collect();
        for id in ids {
            bids.clear();
            asks.clear();
            let Some(book) = engine.book(id) else { continue };
            book.depth(Side::Buy, usize::MAX, &mut bids);
            book.depth(Side::Sell, usize::MAX, &mut asks);
            let symbol = book.instrument().symbol.clone();
            writer.book(&symbol, &bids, &asks).with_context(|| "writing the book").internal()?;
            summary.events += 1;
        }
    }
    writer.finish().with_context(|| "writing events").internal()?;
    if summary.rows == summary.malformed {
        return Err(Failure::BadInput(anyhow!(
            "{}: no usable order rows ({} rows, all malformed); expected rows after the header",
            name.display(),
            summary.rows
        )));
    }
    Ok(summary)
}
