//! The plugins this binary links, one line each, behind the Cargo feature of the same name.
//!
//! A plugin crate that nothing names is dropped by the linker, and its registration with it. Naming
//! each enabled crate here (`use ... as _`) keeps it; `main`, the tests and the benches all link this
//! library, so they see the same set. `cargo xtask new-plugin` appends a line here.

macro_rules! plugins {
    ($($feature:literal => $krate:ident,)*) => {
        $(
            #[cfg(feature = $feature)]
            use $krate as _;
        )*

        /// The plugin features this binary was built with, in the order listed here.
        #[must_use]
        // Each push is behind its own feature, so a `vec![]` literal cannot express this.
        #[allow(clippy::vec_init_then_push)]
        pub fn enabled() -> Vec<&'static str> {
            #[allow(unused_mut)]
            let mut enabled = Vec::new();
            $(
                #[cfg(feature = $feature)]
                enabled.push($feature);
            )*
            enabled
        }

        /// Every plugin feature the workspace offers.
        pub const ALL: &[&str] = &[$($feature,)*];
    };
}

plugins! {
    "matching-fifo" => tradsys_plugin_matching_fifo,
    "matching-pro-rata" => tradsys_plugin_matching_pro_rata,
    "feed-bars-csv" => tradsys_plugin_feed_bars_csv,
    "feed-order-flow" => tradsys_plugin_feed_order_flow,
    "feed-synthetic" => tradsys_plugin_feed_synthetic,
    "feed-nats" => tradsys_plugin_feed_nats,
    "indicators-ta" => tradsys_plugin_indicators_ta,
    "bar-aggregator" => tradsys_plugin_bar_aggregator,
    "strategy-sma-cross" => tradsys_plugin_strategy_sma_cross,
    "strategy-mean-reversion" => tradsys_plugin_strategy_mean_reversion,
    "strategy-market-maker" => tradsys_plugin_strategy_market_maker,
    "risk-limits" => tradsys_plugin_risk_limits,
    "test-faulty" => tradsys_plugin_test_faulty,
    "wasm-host" => tradsys_plugin_wasm_host,
    "strategy-remote" => tradsys_plugin_strategy_remote,
    "python-host" => tradsys_plugin_python_host,
}

/// Plugin features that exist for tests only (`full` leaves them out), so the generated
/// configuration reference leaves them out too.
pub const TEST_ONLY: &[&str] = &["test-faulty"];

/// The Cargo feature of a plugin crate: `tradsys-plugin-<feature>`.
#[must_use]
pub fn feature_of_crate(crate_name: &str) -> Option<&str> {
    crate_name.strip_prefix("tradsys-plugin-")
}

include!(concat!(env!("OUT_DIR"), "/plugin_digests.rs"));

/// The digest of a compiled-in plugin crate's sources (`sha256:<hex>`), computed when this binary
/// was built (`app/build.rs`): what an approval names for it.
#[must_use]
pub fn digest_of_crate(crate_name: &str) -> Option<String> {
    PLUGIN_DIGESTS.iter().find(|(name, _)| *name == crate_name).map(|(_, digest)| (*digest).to_owned())
}
