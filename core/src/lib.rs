//! tradsys core: the plugin model, registry, component factory, order book and session engine.
//!
//! Everything a plugin needs is here, and core never names a plugin. The pieces, in data-flow order:
//!
//! - [`plugin`] and [`registry`]: components register a descriptor with one macro; the registry checks
//!   and indexes them by kind, name and semver version.
//! - [`config`] and [`factory`]: a layered config selects components by name and version requirement;
//!   the factory resolves dependencies, validates parameters and drives the lifecycle.
//! - [`book`], [`matching`] and [`engine`]: the order book, generic over a matching algorithm so the hot
//!   path is monomorphized; [`compiled_matching!`] writes the binary's closed enum of algorithms.
//! - [`orderflow`] and [`market`]: the order-flow file format, its generator, and market-data events.
//! - [`component`]: the behaviour traits of each kind and the context handles they act through.
//!
//! Plugin authors start at [`prelude`] (everything a plugin imports) and [`testing`] (driving a
//! component in a unit test without a session).
//!
//! Money and prices are fixed-point integers ([`types::Price`], [`types::Money`]) on every path that
//! matches or books trades.

#![deny(unsafe_code)]

pub mod book;
pub mod boundary;
pub mod capability;
pub mod component;
pub mod config;
pub mod engine;
pub mod factory;
pub mod instrument;
pub mod limits;
pub mod lines;
pub mod market;
pub mod matching;
pub mod metrics;
pub mod module;
pub mod orderflow;
pub mod plugin;
pub mod prelude;
pub mod registry;
pub mod resolve;
pub mod rng;
pub mod session;
pub mod suggest;
pub mod testing;
pub mod troubleshooting;
pub mod trust;
pub mod types;

#[cfg(test)]
pub(crate) mod test_support;

#[doc(hidden)]
pub use inventory;
