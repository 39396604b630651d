//! Write tradsys plugins as WebAssembly modules: strategies, risk validators and indicators that a
//! running tradsys loads at run time and runs in a sandbox.
//!
//! A plugin crate is a `cdylib` built for `wasm32-unknown-unknown`. It
//! 1. embeds its manifest with [`manifest!`] (kind, name, version, capabilities, parameters);
//! 2. implements [`Strategy`], [`RiskValidator`] or [`Indicator`] for its type;
//! 3. exports it with [`export_strategy!`], [`export_risk!`] or [`export_indicator!`].
//!
//! The manifest's `api_version` says which plugin API the module speaks. `"1.1.0"` brought stop
//! and stop-limit orders ([`strategy::submit_order`]), brackets ([`strategy::submit_bracket`]),
//! swaps that keep state (`export_strategy!(Type, snapshots)`) and parameter meanings
//! (`[param_docs]`); a module that uses any of them must declare it, and a module of `"1.0.0"`
//! that uses none still loads.
//!
//! ```ignore
//! tradsys_wasm_guest::manifest!(include_bytes!("../manifest.toml"));
//! tradsys_wasm_guest::export_strategy!(MyStrategy);
//! ```
//!
//! Everything the plugin does outside its own memory goes through the functions here, which call
//! the host's imports (module `tradsys`). The host links only the imports of the capabilities the
//! manifest declares: a module that calls [`strategy::submit`] without `submit-orders` in its
//! manifest is refused when it is loaded, before any of its code runs.
//!
//! Prices and money are fixed-point, [`PRICE_SCALE`] raw units per whole unit, exactly as the
//! host books them; indicator values are `f64`.

#![deny(missing_docs)]

mod export;
mod ffi;
mod handover;
pub mod init;
mod params;
pub mod risk;
pub mod strategy;
mod types;

pub use handover::{Handover, Snapshot};
pub use params::Params;
pub use types::{
    Bar, Bracket, Fill, NewOrder, Order, OrderStatus, OrderType, Price, Quote, Side, TimeInForce, Trade, Verdict,
};

/// Raw units per whole unit of a [`Price`] (8 decimal places), as in the host.
pub const PRICE_SCALE: i64 = 100_000_000;

/// Writes a line to the host's log (target `wasm`, tagged with this component).
pub fn log(text: &str) {
    // SAFETY: the pointer and length describe `text`, valid for the call; the host only reads it.
    unsafe { ffi::log(text.as_ptr(), text.len()) }
}

/// Gives the host the reason for what the current call returns (a refused order, a failed
/// start): the text it reports.
pub fn reason(text: &str) {
    // SAFETY: as in `log`.
    unsafe { ffi::reason(text.as_ptr(), text.len()) }
}

/// A strategy: callbacks on market data and on its own orders. Each has a no-op default.
pub trait Strategy: Sized + 'static {
    /// Builds the strategy from its parameters (every key of the manifest's `[params]`, with the
    /// config's values). An `Err` refuses them; the host reports the message.
    ///
    /// # Errors
    /// Parameters this strategy cannot run with.
    fn configure(params: &Params) -> Result<Self, String>;
    /// Resolves instruments and asks for indicators ([`init`]).
    ///
    /// # Errors
    /// Anything that makes the strategy unusable; the run does not start.
    fn init(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// The component starts (after `init`, and again after an operator's stop).
    ///
    /// # Errors
    /// It cannot start; the component fails.
    fn start(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// The component stops (an operator's stop, a swap away, the end of the run).
    ///
    /// # Errors
    /// It did not stop cleanly; the host reports it.
    fn stop(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// A bar closed.
    fn on_bar(&mut self, _bar: &Bar) {}
    /// A trade printed.
    fn on_trade(&mut self, _trade: &Trade) {}
    /// The top of the book changed.
    fn on_quote(&mut self, _quote: &Quote) {}
    /// One of this strategy's orders filled (partly).
    fn on_fill(&mut self, _fill: &Fill) {}
    /// One of this strategy's orders was accepted, rejected, cancelled or expired.
    fn on_order_update(&mut self, _order: u64, _status: OrderStatus, _remaining: i64) {}
    /// What a successor swapped in while the system runs receives; `None` hands nothing on.
    /// Called only when exported with `export_strategy!(Type, snapshots)` (plugin API 1.1).
    fn snapshot(&self) -> Option<Snapshot> {
        None
    }
    /// Continues from a predecessor, before this instance starts: its snapshot (which may be a
    /// compiled-in plugin's) and the open orders inherited. Called only when exported with
    /// `export_strategy!(Type, snapshots)` (plugin API 1.1).
    ///
    /// # Errors
    /// This strategy cannot continue from it: the swap is refused and the predecessor keeps
    /// running.
    fn take_over(&mut self, _handover: &Handover) -> Result<(), String> {
        Ok(())
    }
}

/// A risk validator: checks every order of the strategies it guards.
pub trait RiskValidator: Sized + 'static {
    /// Builds the validator from its parameters.
    ///
    /// # Errors
    /// Parameters it cannot run with.
    fn configure(params: &Params) -> Result<Self, String>;
    /// Resolves instruments ([`init`]).
    ///
    /// # Errors
    /// Anything that makes the validator unusable.
    fn init(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// The component starts (after `init`, and again after an operator's stop).
    ///
    /// # Errors
    /// It cannot start; the component fails.
    fn start(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// The component stops (an operator's stop, a swap away, the end of the run).
    ///
    /// # Errors
    /// It did not stop cleanly; the host reports it.
    fn stop(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// Checks one order; read the strategy's state through [`risk`].
    fn check(&mut self, order: &Order) -> Verdict;
    /// Reviews the guarded strategy after prices move, without an order (a drawdown limit, say).
    /// Called only when exported with `export_risk!(Type, reviews)`: a call after every mark has
    /// a cost.
    ///
    /// # Errors
    /// The strategy must halt, for this reason: its orders are cancelled and it takes no more.
    fn review(&mut self) -> Result<(), String> {
        Ok(())
    }
}

/// An indicator: takes market data, gives one or more values (the manifest's `outputs`).
pub trait Indicator: Sized + 'static {
    /// Builds the indicator from its parameters.
    ///
    /// # Errors
    /// Parameters it cannot run with.
    fn configure(params: &Params) -> Result<Self, String>;
    /// Resolves what it needs at start-up ([`init`]).
    ///
    /// # Errors
    /// Anything that makes the indicator unusable.
    fn init(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// The component starts (after `init`, and again after an operator's stop).
    ///
    /// # Errors
    /// It cannot start; the component fails.
    fn start(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// The component stops (an operator's stop, a swap away, the end of the run).
    ///
    /// # Errors
    /// It did not stop cleanly; the host reports it.
    fn stop(&mut self) -> Result<(), String> {
        Ok(())
    }
    /// Takes one bar.
    fn update_bar(&mut self, _bar: &Bar) {}
    /// Takes one trade.
    fn update_trade(&mut self, _trade: &Trade) {}
    /// Takes a change of the top of the book. Called only when exported with
    /// `export_indicator!(Type, quotes)`: order flows carry many quotes, and each call costs.
    fn update_quote(&mut self, _quote: &Quote) {}
    /// Output `index`, or `None` while warming up.
    fn output(&self, index: usize) -> Option<f64>;
}

#[doc(hidden)]
pub mod __private {
    pub use crate::export::*;
}
