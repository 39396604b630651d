//! The functions a module exports, by kind, with their signatures: checked when the module is
//! loaded (before any of its code runs), looked up when an instance is built.
//!
//! Every module exports `memory`, `tradsys_alloc(len) -> ptr` (room for the host to write text
//! into) and `tradsys_configure(ptr, len) -> status` (its parameters as `key=value` lines; a
//! non-zero status refuses them, with the reason given through `tradsys.reason`). The lifecycle
//! hooks `tradsys_init`, `tradsys_start` and `tradsys_stop` (each `() -> status`) are optional, as
//! are the callbacks a component does not need.

use wasmtime::{ExternType, Module};

use tradsys_core::plugin::Kind;

/// Whether an export must be there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// Every module of the kind exports it.
    Required,
    /// Used if exported.
    Optional,
}

/// One export: its name, its signature as wasmtime prints it, and whether it is required.
pub type Export = (&'static str, &'static str, Presence);

const COMMON: &[Export] = &[
    ("tradsys_alloc", "(i32) -> (i32)", Presence::Required),
    ("tradsys_configure", "(i32 i32) -> (i32)", Presence::Required),
    ("tradsys_init", "() -> (i32)", Presence::Optional),
    ("tradsys_start", "() -> (i32)", Presence::Optional),
    ("tradsys_stop", "() -> (i32)", Presence::Optional),
];

/// `(ts, instrument, open, high, low, close, volume)`.
const BAR: &str = "(i64 i32 i64 i64 i64 i64 f64) -> ()";
/// `(ts, instrument, price, qty, aggressor side)`.
const TRADE: &str = "(i64 i32 i64 i64 i32) -> ()";
/// `(ts, instrument, bid, bid qty, ask, ask qty)`; an empty side is `NO_PRICE` and 0.
const QUOTE: &str = "(i64 i32 i64 i64 i64 i64) -> ()";

const STRATEGY: &[Export] = &[
    ("tradsys_on_bar", BAR, Presence::Optional),
    ("tradsys_on_trade", TRADE, Presence::Optional),
    ("tradsys_on_quote", QUOTE, Presence::Optional),
    // (order, ts, instrument, side, price, qty, commission)
    ("tradsys_on_fill", "(i64 i64 i32 i32 i64 i64 i64) -> ()", Presence::Optional),
    // (order, status: 0 accepted, 1 rejected, 2 cancelled, 3 expired, 4 triggered, remaining)
    ("tradsys_on_order_update", "(i64 i32 i64) -> ()", Presence::Optional),
    // API 1.1. () -> the snapshot's text as (address << 32 | length) in the guest's memory, or -1
    // for none: `plugin=NAME` then `key=VALUE` lines, each VALUE a TOML value.
    ("tradsys_snapshot", "() -> (i64)", Presence::Optional),
    // API 1.1. (handover text written through tradsys_alloc) -> 0 continue, 1 refuse the swap
    ("tradsys_take_over", "(i32 i32) -> (i32)", Presence::Optional),
];

const RISK: &[Export] = &[
    // (instrument, side, order type, price, qty, time in force) -> 0 accept, 1 refuse, 2 refuse and halt
    ("tradsys_check", "(i32 i32 i32 i64 i64 i32) -> (i32)", Presence::Required),
    // () -> 0 fine, 2 halt the strategy
    ("tradsys_review", "() -> (i32)", Presence::Optional),
];

const INDICATOR: &[Export] = &[
    ("tradsys_update_bar", BAR, Presence::Optional),
    ("tradsys_update_trade", TRADE, Presence::Optional),
    ("tradsys_update_quote", QUOTE, Presence::Optional),
    // (output index) -> value, NaN while warming up
    ("tradsys_output", "(i32) -> (f64)", Presence::Required),
];

/// The exports a module of `kind` may have.
pub(crate) fn exports_of(kind: Kind) -> impl Iterator<Item = &'static Export> {
    let own: &[Export] = match kind {
        Kind::Strategy => STRATEGY,
        Kind::Risk => RISK,
        Kind::Indicator => INDICATOR,
        _ => &[],
    };
    COMMON.iter().chain(own)
}

/// The first problem with `module`'s exports for `kind`: a required one missing, or one with the
/// wrong signature.
///
/// # Errors
/// What is wrong, naming the export and the signature expected.
pub fn check_exports(module: &Module, kind: Kind) -> Result<(), String> {
    match module.get_export("memory") {
        Some(ExternType::Memory(_)) => {}
        _ => return Err("exports no `memory`".to_owned()),
    }
    for (name, expected, presence) in exports_of(kind) {
        match module.get_export(name) {
            None if *presence == Presence::Required => {
                return Err(format!("exports no `{name}`, which every {kind} module must, with signature {expected}"));
            }
            None => {}
            Some(ExternType::Func(func)) => {
                let found = signature(&func);
                if found != *expected {
                    return Err(format!("export `{name}` has signature {found}; expected {expected}"));
                }
            }
            Some(_) => return Err(format!("export `{name}` is not a function; expected {expected}")),
        }
    }
    if kind == Kind::Indicator
        && !["tradsys_update_bar", "tradsys_update_trade", "tradsys_update_quote"]
            .iter()
            .any(|name| module.get_export(name).is_some())
    {
        return Err("an indicator module must export at least one of tradsys_update_bar, tradsys_update_trade, tradsys_update_quote".to_owned());
    }
    Ok(())
}

/// A function type as `(i64 i32) -> (i32)`.
fn signature(func: &wasmtime::FuncType) -> String {
    let join =
        |types: &mut dyn Iterator<Item = wasmtime::ValType>| types.map(|t| t.to_string()).collect::<Vec<_>>().join(" ");
    format!("({}) -> ({})", join(&mut func.params()), join(&mut func.results()))
}
