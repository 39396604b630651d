//! A strategy module, as a [`Strategy`].

use std::cell::RefCell;
use std::ptr::NonNull;

use tradsys_core::component::{
    ComponentError, FillReport, Handover, InitContext, OrderStatus, OrderUpdate, Strategy, StrategyContext,
    StrategySnapshot,
};
use tradsys_core::market::{Bar, Quote, TradeTick};
use wasmtime::TypedFunc;

use crate::component::Common;
use crate::guest::{Guest, fail};
use crate::host::{Frame, codes};

/// A bar, trade or quote callback's signature (shared with indicators).
pub(crate) type BarFn = TypedFunc<(i64, i32, i64, i64, i64, i64, f64), ()>;
pub(crate) type TradeFn = TypedFunc<(i64, i32, i64, i64, i32), ()>;
pub(crate) type QuoteFn = TypedFunc<(i64, i32, i64, i64, i64, i64), ()>;
/// `(order, ts, instrument, side, price, qty, commission)`.
type FillFn = TypedFunc<(i64, i64, i32, i32, i64, i64, i64), ()>;

/// The arguments of a bar callback.
pub(crate) fn bar_args(bar: &Bar) -> (i64, i32, i64, i64, i64, i64, f64) {
    (bar.ts.0, instrument(bar.instrument.0), bar.open.raw(), bar.high.raw(), bar.low.raw(), bar.close.raw(), bar.volume)
}

/// The arguments of a trade callback.
pub(crate) fn trade_args(trade: &TradeTick) -> (i64, i32, i64, i64, i32) {
    (trade.ts.0, instrument(trade.instrument.0), trade.price.raw(), trade.qty.0, codes::side(trade.aggressor))
}

/// The arguments of a quote callback (an empty side is `NO_PRICE` and 0).
pub(crate) fn quote_args(quote: &Quote) -> (i64, i32, i64, i64, i64, i64) {
    let side = |level: Option<(tradsys_core::types::Price, tradsys_core::types::Qty)>| {
        level.map_or((crate::host::NO_PRICE, 0), |(price, qty)| (price.raw(), qty.0))
    };
    let ((bid, bid_qty), (ask, ask_qty)) = (side(quote.bid), side(quote.ask));
    (quote.ts.0, instrument(quote.instrument.0), bid, bid_qty, ask, ask_qty)
}

/// An instrument id as the guest's `i32` (ids are below `MAX_INSTRUMENTS`, far under `i32::MAX`).
pub(crate) fn instrument(id: u32) -> i32 {
    i32::try_from(id).unwrap_or(i32::MAX)
}

/// The frame of an init call.
pub(crate) fn init_frame(ctx: &mut InitContext<'_>) -> Frame {
    Frame::Init(NonNull::from(ctx).cast())
}

fn strategy_frame(ctx: &mut StrategyContext<'_>) -> Frame {
    Frame::Strategy(NonNull::from(ctx).cast())
}

/// A strategy instance of a module.
pub(crate) struct WasmStrategy {
    /// In a cell because `snapshot` takes `&self` and every call into a guest needs its store
    /// mutably; the session is single-threaded, so the cell is never borrowed twice.
    guest: RefCell<Guest>,
    common: Common,
    snapshot: Option<TypedFunc<(), i64>>,
    take_over: Option<TypedFunc<(i32, i32), i32>>,
    on_bar: Option<BarFn>,
    on_trade: Option<TradeFn>,
    on_quote: Option<QuoteFn>,
    on_fill: Option<FillFn>,
    on_order_update: Option<TypedFunc<(i64, i32, i64), ()>>,
}

impl WasmStrategy {
    pub(crate) fn new(mut guest: Guest, common: Common) -> Result<WasmStrategy, String> {
        Ok(WasmStrategy {
            on_bar: guest.optional("tradsys_on_bar")?,
            on_trade: guest.optional("tradsys_on_trade")?,
            on_quote: guest.optional("tradsys_on_quote")?,
            on_fill: guest.optional("tradsys_on_fill")?,
            on_order_update: guest.optional("tradsys_on_order_update")?,
            snapshot: guest.optional("tradsys_snapshot")?,
            take_over: guest.optional("tradsys_take_over")?,
            guest: RefCell::new(guest),
            common,
        })
    }

    /// The instance (the lifecycle hooks' way in).
    fn guest_mut(&mut self) -> &mut Guest {
        self.guest.get_mut()
    }

    /// Calls a callback; a fault fails the component (see [`fail`]).
    fn callback<P: wasmtime::WasmParams>(
        guest: &mut Guest,
        func: &TypedFunc<P, ()>,
        ctx: &mut StrategyContext<'_>,
        args: P,
        name: &str,
    ) {
        if let Err(fault) = guest.call(func, strategy_frame(ctx), args) {
            fail(&guest.label(), name, &fault);
        }
    }
}

impl Strategy for WasmStrategy {
    crate::component::lifecycle_hooks!();

    fn on_bar(&mut self, bar: &Bar, ctx: &mut StrategyContext<'_>) {
        if let Some(func) = &self.on_bar {
            Self::callback(self.guest.get_mut(), func, ctx, bar_args(bar), "on_bar");
        }
    }

    fn on_trade(&mut self, trade: &TradeTick, ctx: &mut StrategyContext<'_>) {
        if let Some(func) = &self.on_trade {
            Self::callback(self.guest.get_mut(), func, ctx, trade_args(trade), "on_trade");
        }
    }

    fn on_quote(&mut self, quote: &Quote, ctx: &mut StrategyContext<'_>) {
        if let Some(func) = &self.on_quote {
            Self::callback(self.guest.get_mut(), func, ctx, quote_args(quote), "on_quote");
        }
    }

    fn on_fill(&mut self, fill: &FillReport, ctx: &mut StrategyContext<'_>) {
        if let Some(func) = &self.on_fill {
            let order = i64::try_from(fill.order.0).unwrap_or(i64::MAX);
            let args = (
                order,
                fill.ts.0,
                instrument(fill.instrument.0),
                codes::side(fill.side),
                fill.price.raw(),
                fill.qty.0,
                fill.commission.raw(),
            );
            Self::callback(self.guest.get_mut(), func, ctx, args, "on_fill");
        }
    }

    /// The guest's snapshot (API 1.1's `tradsys_snapshot`): `None` without the export or when it
    /// gives none. A fault or a malformed snapshot fails the component, as a native panic would.
    fn snapshot(&self) -> Option<StrategySnapshot> {
        let func = self.snapshot.as_ref()?;
        let mut guest = self.guest.borrow_mut();
        let label = guest.label();
        let packed = guest.call(func, Frame::None, ()).unwrap_or_else(|fault| fail(&label, "snapshot", &fault));
        if packed < 0 {
            return None;
        }
        // The address in the high half, the length in the low half (both wasm32 `u32`s).
        let (ptr, len) = ((packed >> 32) as i32, (packed & 0xffff_ffff) as i32);
        let parsed = guest
            .read(ptr, len, crate::handover::MAX_SNAPSHOT)
            .and_then(|bytes| String::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned()))
            .and_then(|text| crate::handover::snapshot_from_text(&text));
        match parsed {
            Ok(snapshot) => Some(snapshot),
            Err(error) => panic!("WebAssembly plugin {label} gave a bad snapshot: {error} (in snapshot)"),
        }
    }

    fn take_over(&mut self, handover: &Handover<'_>) -> Result<(), ComponentError> {
        let Some(func) = self.take_over.clone() else { return Ok(()) };
        let guest = self.guest.get_mut();
        let label = guest.label();
        let failed = |message: String| ComponentError::new(format!("{label}: {message}"));
        let text = crate::handover::to_text(handover).map_err(failed)?;
        let (ptr, len) = guest.write(&self.common.alloc, text.as_bytes()).map_err(|fault| failed(fault.to_string()))?;
        let status =
            guest.call(&func, Frame::None, (ptr, len)).map_err(|fault| failed(format!("{fault} (in take_over)")))?;
        crate::component::status_to_result(guest, status, "refused to take over").map_err(failed)
    }

    fn on_order_update(&mut self, update: &OrderUpdate, ctx: &mut StrategyContext<'_>) {
        if let Some(func) = &self.on_order_update {
            let status = match update.status {
                OrderStatus::Accepted => 0,
                OrderStatus::Rejected { .. } => 1,
                OrderStatus::Cancelled => 2,
                OrderStatus::Expired => 3,
                OrderStatus::Triggered => 4,
            };
            let order = i64::try_from(update.order.0).unwrap_or(i64::MAX);
            Self::callback(self.guest.get_mut(), func, ctx, (order, status, update.remaining.0), "on_order_update");
        }
    }
}

impl std::fmt::Debug for WasmStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmStrategy").field("guest", &self.guest).finish_non_exhaustive()
    }
}
