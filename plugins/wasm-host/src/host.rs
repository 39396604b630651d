//! The host side of a module's calls: the functions it may import (module `tradsys`), linked only
//! for the capabilities its manifest declares, and the frame that gives them the handle of the
//! call in progress.
//!
//! # The frame
//! A host function runs inside a call into the guest, while the wrapper holds the handle that call
//! was given (`InitContext`, `StrategyContext`, `RiskView`). The wrapper puts a pointer to that
//! handle in the store's [`HostState`] just before the call and takes it out just after (a
//! [`FrameGuard`] does, on every path, a trap or a panic included); host functions reach the
//! handle only through it. See [`Frame`] for why this is sound.
//!
//! # The imports
//! Values cross as scalars: instruments as their id, sides and types as small integers ([`codes`]),
//! prices and money as raw fixed-point `i64` ([`NO_PRICE`] for none), indicator values as `f64`
//! (NaN for none). Text (symbols, names, reasons) is a pointer and length into the guest's memory.

use std::ptr::NonNull;
use std::sync::Arc;

use tradsys_core::capability::Capability;
use tradsys_core::component::{
    BracketExits, ClientOrderId, IndicatorHandle, InitContext, OrderRequest, RiskView, StrategyContext,
};
use tradsys_core::types::{InstrumentId, OrderType, Price, Qty};
use wasmtime::{Caller, Extern, Linker, ResourceLimiter, StoreLimits};

/// `i64::MIN`: no price (a market order's price, a price not known yet).
pub const NO_PRICE: i64 = i64::MIN;

/// The numbers that stand for sides, order types and times in force across the boundary.
pub mod codes {
    use tradsys_core::types::{OrderType, Side, TimeInForce};

    /// A side as the guest sees it.
    #[must_use]
    pub fn side(side: Side) -> i32 {
        match side {
            Side::Buy => 0,
            Side::Sell => 1,
        }
    }

    /// A side from the guest.
    #[must_use]
    pub fn to_side(code: i32) -> Option<Side> {
        match code {
            0 => Some(Side::Buy),
            1 => Some(Side::Sell),
            _ => None,
        }
    }

    /// An order type as the guest sees it.
    #[must_use]
    pub fn order_type(order_type: OrderType) -> i32 {
        match order_type {
            OrderType::Limit => 0,
            OrderType::Market => 1,
            OrderType::Stop => 2,
            OrderType::StopLimit => 3,
        }
    }

    /// An order type from the guest's `submit` (API 1.0), which carries no trigger price: limit
    /// and market orders only.
    #[must_use]
    pub fn to_order_type(code: i32) -> Option<OrderType> {
        match code {
            0 => Some(OrderType::Limit),
            1 => Some(OrderType::Market),
            _ => None,
        }
    }

    /// An order type from `submit_order` or `submit_bracket` (API 1.1), which carry a trigger:
    /// any type.
    #[must_use]
    pub fn to_any_order_type(code: i32) -> Option<OrderType> {
        match code {
            2 => Some(OrderType::Stop),
            3 => Some(OrderType::StopLimit),
            other => to_order_type(other),
        }
    }

    /// A time in force as the guest sees it.
    #[must_use]
    pub fn tif(tif: TimeInForce) -> i32 {
        match tif {
            TimeInForce::Gtc => 0,
            TimeInForce::Ioc => 1,
            TimeInForce::Fok => 2,
            TimeInForce::Gtx => 3,
        }
    }

    /// A time in force from the guest.
    #[must_use]
    pub fn to_tif(code: i32) -> Option<TimeInForce> {
        match code {
            0 => Some(TimeInForce::Gtc),
            1 => Some(TimeInForce::Ioc),
            2 => Some(TimeInForce::Fok),
            3 => Some(TimeInForce::Gtx),
            _ => None,
        }
    }
}

/// The handle of the call in progress, as a pointer the wrapper set and will clear.
///
/// # Soundness
/// A `Frame` pointer is dereferenced only by host functions, which wasmtime runs synchronously on
/// the calling thread *inside* the one call into the guest that the wrapper makes while the frame
/// is set. For the whole of that call the wrapper holds the handle by `&mut` (or `&` for a
/// `RiskView`) and does nothing else with it, so the host function's reference is the only live
/// one, and the handle (and everything it borrows) outlives the call. The lifetime parameter is
/// erased to `'static` in the pointer type only; no reference with it escapes a host function. The
/// guard clears the frame when the call returns, traps or unwinds, so no later host call can see a
/// dangling pointer: outside a call every host function finds `Frame::None` and refuses.
#[derive(Debug, Default)]
pub enum Frame {
    /// No call in progress (or one that gives no handle).
    #[default]
    None,
    /// A component's `init`.
    Init(NonNull<InitContext<'static>>),
    /// A strategy callback.
    Strategy(NonNull<StrategyContext<'static>>),
    /// A validator's check or review.
    Risk(NonNull<RiskView<'static>>),
}

// SAFETY: the pointers are only ever dereferenced on the thread that set them, within the call
// (see `Frame`); a `HostState` moves between threads only between calls, with `Frame::None`.
#[allow(unsafe_code)]
unsafe impl Send for Frame {}

/// What a module's store holds.
#[derive(Debug)]
pub struct HostState {
    /// The memory limit.
    pub limits: GrowthLimits,
    /// The handle of the call in progress.
    pub frame: Frame,
    /// A reason the guest gave (a validator's refusal, an init error).
    pub reason: Option<String>,
    /// The component's label (`name@version`), which its log lines carry.
    pub label: Arc<str>,
}

impl HostState {
    /// A fresh state for component `label`, bounded by `limits`.
    #[must_use]
    pub fn new(limits: StoreLimits, label: Arc<str>) -> HostState {
        HostState { limits: GrowthLimits { limits, memory_refused: false }, frame: Frame::None, reason: None, label }
    }
}

/// wasmtime's store limits, remembering whether they refused a memory growth: a refusal traps, and
/// the trap is told apart from the guest's own by this flag rather than by its message.
#[derive(Debug)]
pub struct GrowthLimits {
    limits: StoreLimits,
    memory_refused: bool,
}

impl GrowthLimits {
    /// Whether a memory growth past the limit was refused (and trapped).
    #[must_use]
    pub fn memory_refused(&self) -> bool {
        self.memory_refused
    }
}

impl ResourceLimiter for GrowthLimits {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let decision = self.limits.memory_growing(current, desired, maximum);
        self.memory_refused |= !matches!(decision, Ok(true));
        decision
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.memory_refused = true;
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// Clears the frame when dropped (after the call, whatever way it ended).
#[derive(Debug)]
pub struct FrameGuard<'s>(pub &'s mut wasmtime::Store<HostState>);

impl Drop for FrameGuard<'_> {
    fn drop(&mut self) {
        self.0.data_mut().frame = Frame::None;
    }
}

/// Text `len` bytes at `ptr` of the guest's memory, if it is there and UTF-8 (at most 4 KiB).
fn guest_text(caller: &mut Caller<'_, HostState>, ptr: i32, len: i32) -> Option<String> {
    let memory = match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => memory,
        _ => return None,
    };
    let (start, len) = (usize::try_from(ptr).ok()?, usize::try_from(len).ok()?.min(4096));
    let bytes = memory.data(&caller).get(start..start.checked_add(len)?)?;
    std::str::from_utf8(bytes).ok().map(str::to_owned)
}

/// The strategy context of the call in progress, if any.
fn strategy<'c>(caller: &'c mut Caller<'_, HostState>) -> Option<&'c mut StrategyContext<'static>> {
    match caller.data_mut().frame {
        // SAFETY: see `Frame`: set by the wrapper for the duration of this call only.
        #[allow(unsafe_code)]
        Frame::Strategy(mut context) => Some(unsafe { context.as_mut() }),
        _ => None,
    }
}

/// The risk view of the call in progress, if any.
fn view<'c>(caller: &'c Caller<'_, HostState>) -> Option<&'c RiskView<'static>> {
    match caller.data().frame {
        // SAFETY: see `Frame`: set by the wrapper for the duration of this call only.
        #[allow(unsafe_code)]
        Frame::Risk(view) => Some(unsafe { view.as_ref() }),
        _ => None,
    }
}

/// The init context of the call in progress, if any.
fn init<'c>(caller: &'c mut Caller<'_, HostState>) -> Option<&'c mut InitContext<'static>> {
    match caller.data_mut().frame {
        // SAFETY: see `Frame`: set by the wrapper for the duration of this call only.
        #[allow(unsafe_code)]
        Frame::Init(mut context) => Some(unsafe { context.as_mut() }),
        _ => None,
    }
}

fn price_to_guest(price: Option<Price>) -> i64 {
    price.map_or(NO_PRICE, Price::raw)
}

fn price_from_guest(raw: i64) -> Option<Price> {
    (raw != NO_PRICE).then(|| Price::from_raw(raw))
}

/// An order of any type from the guest's scalars (API 1.1): the limit price only for the types
/// that have one, the trigger only for stops. `None` for an unknown side, type or time in force.
#[allow(clippy::too_many_arguments)]
fn order_from_guest(
    instrument: i32,
    side: i32,
    order_type: i32,
    price: i64,
    trigger: i64,
    qty: i64,
    tif: i32,
) -> Option<OrderRequest> {
    let (side, order_type, tif) = (codes::to_side(side)?, codes::to_any_order_type(order_type)?, codes::to_tif(tif)?);
    Some(OrderRequest {
        instrument: InstrumentId(u32::try_from(instrument).unwrap_or(u32::MAX)),
        side,
        order_type,
        price: price_from_guest(price).filter(|_| order_type.has_limit()),
        trigger: price_from_guest(trigger).filter(|_| matches!(order_type, OrderType::Stop | OrderType::StopLimit)),
        qty: Qty(qty),
        tif,
    })
}

/// Writes `values` (little-endian `i64`s) at `ptr` of the guest's memory; false if they do not fit.
fn write_guest_i64s(caller: &mut Caller<'_, HostState>, ptr: i32, values: &[i64]) -> bool {
    let Some(Extern::Memory(memory)) = caller.get_export("memory") else { return false };
    let Ok(start) = usize::try_from(ptr) else { return false };
    let bytes: Vec<u8> = values.iter().flat_map(|value| value.to_le_bytes()).collect();
    memory.write(caller, start, &bytes).is_ok()
}

fn id_to_guest(id: Option<ClientOrderId>) -> i64 {
    id.and_then(|id| i64::try_from(id.0).ok()).unwrap_or(-1)
}

/// A linker with the functions of `capabilities` (and those every module may use), no others: a
/// module importing a function it did not declare the capability for fails to instantiate.
///
/// # Errors
/// A wasmtime definition error (a bug here).
pub fn linker(engine: &wasmtime::Engine, capabilities: &[Capability]) -> wasmtime::Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    let has = |c: Capability| capabilities.contains(&c);
    // Every module: logging, reasons, instruments at init.
    linker.func_wrap("tradsys", "log", |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| {
        if let Some(text) = guest_text(&mut caller, ptr, len) {
            tracing::info!(target: "wasm", component = %caller.data().label, "{text}");
        }
    })?;
    linker.func_wrap("tradsys", "reason", |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| {
        let text = guest_text(&mut caller, ptr, len);
        caller.data_mut().reason = text;
    })?;
    linker.func_wrap("tradsys", "instrument", |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| -> i32 {
        let symbol = guest_text(&mut caller, ptr, len);
        let Some(context) = init(&mut caller) else { return -1 };
        let resolved = match symbol.as_deref() {
            Some("") | None => context.instrument_or_primary(""),
            Some(symbol) => context.instrument(symbol),
        };
        resolved.map_or(-1, |id| id.0 as i32)
    })?;
    if has(Capability::Indicators) {
        linker.func_wrap(
            "tradsys",
            "request_indicator",
            |mut caller: Caller<'_, HostState>,
             name_ptr: i32,
             name_len: i32,
             params_ptr: i32,
             params_len: i32,
             instrument: i32|
             -> i32 {
                let (Some(name), Some(params)) =
                    (guest_text(&mut caller, name_ptr, name_len), guest_text(&mut caller, params_ptr, params_len))
                else {
                    return -1;
                };
                let Ok(params) = toml::from_str::<toml::Table>(&params) else { return -1 };
                let Some(context) = init(&mut caller) else { return -1 };
                let instrument = InstrumentId(u32::try_from(instrument).unwrap_or(u32::MAX));
                match context.indicator(instrument, &name, params) {
                    Ok(handle) => handle.0 as i32,
                    Err(error) => {
                        caller.data_mut().reason = Some(error.to_string());
                        -1
                    }
                }
            },
        )?;
        linker.func_wrap(
            "tradsys",
            "indicator",
            |mut caller: Caller<'_, HostState>, handle: i32, output: i32| -> f64 {
                let (Ok(handle), Ok(output)) = (u32::try_from(handle), usize::try_from(output)) else {
                    return f64::NAN;
                };
                strategy(&mut caller)
                    .and_then(|context| context.indicator_output(IndicatorHandle(handle), output).ok().flatten())
                    .unwrap_or(f64::NAN)
            },
        )?;
    }
    if has(Capability::SubmitOrders) {
        linker.func_wrap(
            "tradsys",
            "submit",
            |mut caller: Caller<'_, HostState>,
             instrument: i32,
             side: i32,
             order_type: i32,
             price: i64,
             qty: i64,
             tif: i32|
             -> i64 {
                // API 1.0 carries no trigger: limit and market orders only.
                let order = codes::to_order_type(order_type)
                    .and_then(|_| order_from_guest(instrument, side, order_type, price, NO_PRICE, qty, tif));
                let Some(order) = order else { return -1 };
                strategy(&mut caller).map_or(-1, |context| id_to_guest(Some(context.submit(order))))
            },
        )?;
        // API 1.1: any order type, with its trigger.
        linker.func_wrap(
            "tradsys",
            "submit_order",
            |mut caller: Caller<'_, HostState>,
             instrument: i32,
             side: i32,
             order_type: i32,
             price: i64,
             trigger: i64,
             qty: i64,
             tif: i32|
             -> i64 {
                let Some(order) = order_from_guest(instrument, side, order_type, price, trigger, qty, tif) else {
                    return -1;
                };
                strategy(&mut caller).map_or(-1, |context| id_to_guest(Some(context.submit(order))))
            },
        )?;
        // API 1.1: an entry with a stop-loss and/or take-profit (NO_PRICE for none); the exits'
        // ids (-1 for none) are written as two i64s at `ids_ptr`.
        linker.func_wrap(
            "tradsys",
            "submit_bracket",
            |mut caller: Caller<'_, HostState>,
             instrument: i32,
             side: i32,
             order_type: i32,
             price: i64,
             trigger: i64,
             qty: i64,
             tif: i32,
             stop_loss: i64,
             take_profit: i64,
             ids_ptr: i32|
             -> i64 {
                let Some(entry) = order_from_guest(instrument, side, order_type, price, trigger, qty, tif) else {
                    return -1;
                };
                let exits =
                    BracketExits { stop_loss: price_from_guest(stop_loss), take_profit: price_from_guest(take_profit) };
                let Some(bracket) = strategy(&mut caller).map(|context| context.submit_bracket(entry, exits)) else {
                    return -1;
                };
                let exits = [id_to_guest(bracket.stop_loss), id_to_guest(bracket.take_profit)];
                if !write_guest_i64s(&mut caller, ids_ptr, &exits) {
                    return -1;
                }
                id_to_guest(Some(bracket.entry))
            },
        )?;
    }
    if has(Capability::CancelOrders) {
        linker.func_wrap("tradsys", "cancel", |mut caller: Caller<'_, HostState>, order: i64| -> i32 {
            let Ok(order) = u64::try_from(order) else { return -1 };
            match strategy(&mut caller).map(|context| context.cancel(ClientOrderId(order))) {
                Some(Ok(())) => 0,
                _ => -1,
            }
        })?;
    }
    if has(Capability::ReadPosition) {
        linker.func_wrap("tradsys", "position", |mut caller: Caller<'_, HostState>, instrument: i32| -> i64 {
            let instrument = InstrumentId(u32::try_from(instrument).unwrap_or(u32::MAX));
            strategy(&mut caller).and_then(|context| context.position(instrument).ok()).map_or(0, |qty| qty.0)
        })?;
        linker.func_wrap("tradsys", "view_position", |caller: Caller<'_, HostState>| -> i64 {
            view(&caller).and_then(|view| view.position().ok()).map_or(0, |qty| qty.0)
        })?;
    }
    if has(Capability::MarketData) {
        linker.func_wrap("tradsys", "last_price", |mut caller: Caller<'_, HostState>, instrument: i32| -> i64 {
            let instrument = InstrumentId(u32::try_from(instrument).unwrap_or(u32::MAX));
            price_to_guest(strategy(&mut caller).and_then(|context| context.last_price(instrument).ok().flatten()))
        })?;
        linker.func_wrap("tradsys", "view_reference_price", |caller: Caller<'_, HostState>| -> i64 {
            price_to_guest(view(&caller).and_then(|view| view.reference_price().ok().flatten()))
        })?;
    }
    if has(Capability::ReadPortfolio) {
        linker.func_wrap("tradsys", "view_pnl", |caller: Caller<'_, HostState>| -> i64 {
            view(&caller).and_then(|view| view.pnl().ok()).map_or(0, |pnl| pnl.raw())
        })?;
    }
    if has(Capability::ReadClock) {
        linker.func_wrap("tradsys", "now", |mut caller: Caller<'_, HostState>| -> i64 {
            if let Some(view) = view(&caller) {
                return view.now().map_or(0, |ts| ts.0);
            }
            strategy(&mut caller).and_then(|context| context.now().ok()).map_or(0, |ts| ts.0)
        })?;
    }
    linker.func_wrap("tradsys", "view_strategy", |caller: Caller<'_, HostState>| -> i32 {
        view(&caller).map_or(-1, |view| view.strategy() as i32)
    })?;
    Ok(linker)
}

/// Every function the host provides (module `tradsys`), whatever the capabilities.
pub const IMPORTS: &[&str] = &[
    "log",
    "reason",
    "instrument",
    "request_indicator",
    "indicator",
    "submit",
    "submit_order",
    "submit_bracket",
    "cancel",
    "position",
    "view_position",
    "last_price",
    "view_reference_price",
    "view_pnl",
    "now",
    "view_strategy",
];

/// The capability a `tradsys` import needs, for the message when a module imports one it did not
/// declare.
#[must_use]
pub fn capability_of_import(name: &str) -> Option<Capability> {
    Some(match name {
        "request_indicator" | "indicator" => Capability::Indicators,
        "submit" | "submit_order" | "submit_bracket" => Capability::SubmitOrders,
        "cancel" => Capability::CancelOrders,
        "position" | "view_position" => Capability::ReadPosition,
        "last_price" | "view_reference_price" => Capability::MarketData,
        "view_pnl" => Capability::ReadPortfolio,
        "now" => Capability::ReadClock,
        _ => return None,
    })
}
