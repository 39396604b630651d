//! Shared set-up of the criterion benchmarks: pre-generated order flows and books built the way
//! the binary builds them.

#![deny(unsafe_code)]

pub mod ingest;

use tradsys_core::instrument::InstrumentTable;
use tradsys_core::orderflow::OrderCommand;
use tradsys_core::orderflow::generator::{GeneratorConfig, OrderFlowGenerator, Profile};

/// Commands of the exchange-core-like single-symbol flow, split into a warm-up prefix (fills the
/// book to its steady ~1,000 resting orders) and the measured rest.
#[must_use]
pub fn exchange_core_flow(warmup: usize, measured: usize, seed: u64) -> (Vec<OrderCommand>, Vec<OrderCommand>) {
    let all: Vec<OrderCommand> = OrderFlowGenerator::new(GeneratorConfig {
        profile: Profile::ExchangeCore,
        count: (warmup + measured) as u64,
        seed,
        symbols: 1,
    })
    .expect("one symbol")
    .collect();
    let measured_part = all[warmup..].to_vec();
    let mut warm = all;
    warm.truncate(warmup);
    (warm, measured_part)
}

/// The multi-symbol flow (16 books, about 200 resting orders each), split like
/// [`exchange_core_flow`], with the instruments it trades.
#[must_use]
pub fn multi_symbol_flow(
    warmup: usize,
    measured: usize,
    seed: u64,
) -> (InstrumentTable, Vec<OrderCommand>, Vec<OrderCommand>) {
    let generator = OrderFlowGenerator::new(GeneratorConfig {
        profile: Profile::MultiSymbol,
        count: (warmup + measured) as u64,
        seed,
        symbols: 16,
    })
    .expect("sixteen symbols");
    let instruments = generator.instruments().clone();
    let mut all: Vec<OrderCommand> = generator.collect();
    let measured_part = all.split_off(warmup);
    (instruments, all, measured_part)
}

pub mod bench_feed;

/// The strategy of the bar-mode benchmarks: SMA cross 10/30 (two SMAs through the indicator hub).
pub const SMA_CROSS: &str = "[strategies.trend]\nplugin = \"sma-cross\"\nparams = { fast = 10, slow = 30, qty = 5 }\n";

/// The side-by-side comparison's strategy: SMA cross 10/20, one lot (vectorbt runs the same).
pub const SMA_CROSS_1020: &str =
    "[strategies.trend]\nplugin = \"sma-cross\"\nparams = { fast = 10, slow = 20, qty = 1 }\n";

/// The full risk chain of the bar-mode benchmarks, loose enough that it never refuses.
pub const RISK_CHAIN: &str = r#"
[risk.kill]
plugin = "kill-switch"
order = 1
params = { max_loss = "1000000" }
[risk.size]
plugin = "max-order-qty"
order = 2
params = { max_qty = 100 }
[risk.notional]
plugin = "max-notional"
order = 3
params = { max_notional = "100000000" }
[risk.position]
plugin = "max-position"
order = 4
params = { max_position = 100 }
[risk.collar]
plugin = "price-collar"
order = 5
params = { percent = "50" }
[risk.rate]
plugin = "order-rate"
order = 6
params = { rate_per_s = 1000, burst = 1000 }
"#;

/// The directory of the WebAssembly guests in `wasm/`, built for `wasm32-unknown-unknown` into
/// `target/wasm-guests` (the tests build there too, so a benchmark after the tests builds nothing).
///
/// # Panics
/// The guests do not build (`rustup target add wasm32-unknown-unknown`).
#[must_use]
pub fn wasm_guests() -> std::path::PathBuf {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target_dir = workspace.join("target/wasm-guests");
    let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["build", "--release", "--quiet", "--target", "wasm32-unknown-unknown", "--manifest-path"])
        .arg(workspace.join("wasm/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir)
        .status()
        .expect("run cargo");
    assert!(status.success(), "the guests in wasm/ do not build: `rustup target add wasm32-unknown-unknown`?");
    target_dir.join("wasm32-unknown-unknown/release")
}

/// A bar session of `count` in-memory bars running `strategy` (a `[strategies.*]` table).
#[must_use]
pub fn bar_session(count: u64, strategy: &str) -> String {
    format!("[feed]\nplugin = \"bench-bars\"\nparams = {{ count = {count} }}\n{strategy}")
}

/// `SMA_CROSS`, written in Python (`examples/python/sma_cross.py`: the same logic, the same trades).
pub fn python_sma_cross() -> String {
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/python/sma_cross.py");
    format!(
        "[strategies.trend]\nplugin = \"python\"\nparams = {{ file = {:?}, class = \"SmaCross\", args = {{ fast = 10, slow = 30, qty = 5 }} }}\n",
        file.display().to_string()
    )
}

/// `SMA_CROSS`, as the WebAssembly module `wasm-sma-cross` (the same logic, built from `wasm/sma-cross`).
pub const WASM_SMA_CROSS: &str =
    "[strategies.trend]\nplugin = \"wasm-sma-cross\"\nparams = { fast = 10, slow = 30, qty = 5 }\n";
