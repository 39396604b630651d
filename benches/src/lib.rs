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
    .collect();
    let measured_part = all[warmup..].to_vec();
    let mut warm = all;
    warm.truncate(warmup);
    (warm, measured_part)
}

pub mod bench_feed;
