//! Reading bars: the same 200,000 bars from CSV and from Parquet through `bars-csv` (BENCHMARKS.md,
//! "Parquet ingest"; the target is Parquet at least 3× faster than CSV).

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tradsys_benches::ingest::{read_bars, write_bars};

fn ingest(c: &mut Criterion) {
    const BARS: usize = 200_000;
    let dir = std::env::temp_dir().join(format!("tradsys-bench-ingest-{}", std::process::id()));
    let (csv, parquet) = write_bars(&dir, BARS);
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(BARS as u64)).sample_size(20).measurement_time(Duration::from_secs(8));
    group.bench_function("csv", |b| b.iter(|| read_bars(&csv)));
    group.bench_function("parquet", |b| b.iter(|| read_bars(&parquet)));
    group.finish();
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(benches, ingest);
criterion_main!(benches);
