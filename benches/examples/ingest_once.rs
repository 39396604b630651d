//! One read of N bars from CSV or Parquet through `bars-csv`, for callgrind (BENCHMARKS.md,
//! "Parquet ingest"): `ingest_once csv|parquet N`. The files are written on the first call and
//! reused after, so run it once before counting; the difference between two N takes out
//! start-up.
//!
//! cargo build --release -p tradsys-benches --example ingest_once

use tradsys_benches::ingest::{read_bars, write_bars};

fn main() {
    let mut args = std::env::args().skip(1);
    let format = args.next().unwrap_or_else(|| "csv".to_owned());
    let n: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("tradsys-ingest-once-{n}"));
    let csv = dir.join(format!("bars-{n}.csv"));
    let parquet = dir.join(format!("bars-{n}.parquet"));
    if !csv.exists() || !parquet.exists() {
        let _ = write_bars(&dir, n);
    }
    let path = if format == "parquet" { parquet } else { csv };
    let bars = read_bars(&path);
    eprintln!("{format}: {bars} bars");
}
