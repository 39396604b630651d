//! Shared set-up of the criterion benchmarks: pre-generated order flows and books built the way
//! the binary builds them.

#![deny(unsafe_code)]

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

pub mod bench_feed;

/// The strategy of the bar-mode benchmarks: SMA cross 10/30 (two SMAs through the indicator hub).
pub const SMA_CROSS: &str = "[strategies.trend]\nplugin = \"sma-cross\"\nparams = { fast = 10, slow = 30, qty = 5 }\n";

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
