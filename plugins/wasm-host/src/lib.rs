//! `wasm-host`: strategies, risk validators and indicators loaded at run time from WebAssembly
//! modules, each in its own sandbox.
//!
//! A module is a plain core WebAssembly module (`wasm32-unknown-unknown`; no WASI) that carries
//! its manifest in a custom section ([`manifest`]), imports only what the host provides under
//! `tradsys` ([`host`]) and exports the functions of its kind ([`abi`]). The guest SDK in
//! `wasm/sdk` writes all three for a Rust author.
//!
//! # What confines a module
//! - **Memory**: its own linear memory, at most the configured limit; growing past it traps.
//! - **Time**: every call has a wall-time budget (epoch interruption); a call past it traps.
//! - **Reach**: it can call only the host functions of the capabilities its manifest declares
//!   (the others are not linked, so a module importing one does not load), and those act through
//!   the same handles, with the same permission checks, as a native plugin's.
//! - **Faults**: a trap, a timeout or an out-of-memory stop ends the call; the instance is
//!   poisoned and the boundary fails the component, as it does a native plugin that panics (a
//!   strategy's orders are cancelled). Nothing of the host is touched.
//!
//! This crate registers one module loader (for `.wasm`); the binary loads modules through core's
//! [`module`](tradsys_core::module) interface, after admission when approval is required.

pub mod abi;
mod component;
pub mod engine;
mod guest;
pub mod handover;
pub mod host;
mod indicator;
pub mod manifest;
pub mod params;
mod risk;
mod strategy;

pub use component::WasmLoader;
pub use guest::GuestFault;
