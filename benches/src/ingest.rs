//! The bars of the ingest benchmarks, written once as CSV and as Parquet (the same bars, in the
//! layouts and types pandas writes), and a reader that drives `bars-csv` over either file as a
//! session does: build, init, then every event.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, TimestampMicrosecondArray};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use tradsys_core::component::{BadRows, Feed, FeedContext, InitContext};
use tradsys_core::instrument::InstrumentTable;
use tradsys_core::market::MarketEvent;
use tradsys_core::plugin::Plugin;
use tradsys_plugin_feed_bars_csv::{BarsCsvFeed, Params};

/// `n` one-minute EUR/USD-like bars (a seeded walk, 5-decimal prices) from 2017-04-19, written to
/// `dir` as `bars-N.csv` (`Date,Open,High,Low,Close,Volume`, as pandas' `to_csv` writes a
/// DatetimeIndex) and `bars-N.parquet` (pandas' `to_parquet`: float64 prices, int64 volume, the
/// index as a `timestamp[us]` column, snappy pages).
///
/// # Panics
/// The files cannot be written.
#[must_use]
pub fn write_bars(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).expect("bench dir");
    let start_us = 1_492_560_000_000_000_i64;
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 21) as i64 - 10
    };
    let mut price = 107_000_i64;
    let mut columns: [Vec<f64>; 4] = Default::default();
    let (mut times, mut volumes) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut csv = String::from("Date,Open,High,Low,Close,Volume\n");
    for at in 0..n {
        let open = price;
        let close = (open + next()).max(1_000);
        let high = open.max(close) + next().abs();
        let low = (open.min(close) - next().abs()).max(1);
        price = close;
        let ts = start_us + at as i64 * 60_000_000;
        let volume = 100 + next().abs() * 10;
        let text = |v: i64| format!("{}.{:05}", v / 100_000, v % 100_000);
        let date = tradsys_core::types::Timestamp(ts * 1_000).to_string();
        csv.push_str(&format!(
            "{} {},{},{},{},{},{volume}\n",
            &date[..10],
            &date[11..19],
            text(open),
            text(high),
            text(low),
            text(close)
        ));
        for (column, value) in columns.iter_mut().zip([open, high, low, close]) {
            column.push(value as f64 / 100_000.0);
        }
        times.push(ts);
        volumes.push(volume);
    }
    let csv_path = dir.join(format!("bars-{n}.csv"));
    std::fs::write(&csv_path, csv).expect("write csv");
    let [open, high, low, close] = columns;
    let array = |values: Vec<f64>| -> ArrayRef { Arc::new(Float64Array::from(values)) };
    let batch = RecordBatch::try_from_iter([
        ("Open", array(open)),
        ("High", array(high)),
        ("Low", array(low)),
        ("Close", array(close)),
        ("Volume", Arc::new(Int64Array::from(volumes)) as ArrayRef),
        ("Date", Arc::new(TimestampMicrosecondArray::from(times)) as ArrayRef),
    ])
    .expect("batch");
    let parquet_path = dir.join(format!("bars-{n}.parquet"));
    let file = std::fs::File::create(&parquet_path).expect("create parquet");
    let properties = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(properties)).expect("writer");
    writer.write(&batch).expect("write parquet");
    writer.close().expect("close parquet");
    (csv_path, parquet_path)
}

/// Reads every bar of `path` through `bars-csv`; returns how many.
///
/// # Panics
/// The file cannot be read.
#[must_use]
pub fn read_bars(path: &Path) -> u64 {
    let mut instruments = InstrumentTable::default();
    let params = Params { path: path.display().to_string(), symbol: "EURUSD".to_owned(), ..Params::default() };
    let mut feed = BarsCsvFeed::build(params).expect("build");
    feed.init(&mut InitContext::new("feed", &mut instruments, 1)).expect("init");
    let mut bad = BadRows::default();
    let mut bars = 0;
    while let Some(event) = feed.next_event(&mut FeedContext::new(&mut instruments, &mut bad)).expect("read") {
        if let MarketEvent::Bar(bar) = event {
            std::hint::black_box(bar);
            bars += 1;
        }
    }
    assert_eq!(bad.count, 0, "{:?}", bad.first);
    bars
}
