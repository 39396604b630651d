//! What a strategy may do in its callbacks. Each call needs the capability named in its doc; a
//! module that uses one it did not declare does not load.

use crate::init::IndicatorHandle;
use crate::types::{Bracket, NO_PRICE, NewOrder, OrderType, Price, Side, TimeInForce};

/// Output `output` of an indicator asked for in `init`, or `None` while it warms up.
/// Capability `indicators`.
#[must_use]
pub fn indicator(handle: IndicatorHandle, output: usize) -> Option<f64> {
    let output = i32::try_from(output).ok()?;
    // SAFETY: scalars only.
    let value = unsafe { crate::ffi::indicator(handle.0, output) };
    (!value.is_nan()).then_some(value)
}

/// Places a limit or market order; its id, or `None` if the host refused it at once (or it is a
/// stop, which needs [`submit_order`]). Validators check it after the callback returns; the
/// answer arrives as an order update. Capability `submit-orders`.
pub fn submit(
    instrument: u32,
    side: Side,
    order_type: OrderType,
    price: Option<Price>,
    qty: i64,
    tif: TimeInForce,
) -> Option<u64> {
    let instrument = i32::try_from(instrument).ok()?;
    if matches!(order_type, OrderType::Stop | OrderType::StopLimit) {
        // API 1.0's `submit` has no trigger: a stop goes through `submit_order`.
        return None;
    }
    let price = raw(price);
    // SAFETY: scalars only.
    let id = unsafe { crate::ffi::submit(instrument, side.code(), order_type.code(), price, qty, tif.code()) };
    u64::try_from(id).ok()
}

/// Places an order of any type, stops included; its id, or `None` if the host refused it at once.
/// Plugin API 1.1 (declare `api_version = "1.1.0"`). Capability `submit-orders`.
pub fn submit_order(order: &NewOrder) -> Option<u64> {
    let (instrument, side, kind, price, trigger, qty, tif) = scalars(order)?;
    // SAFETY: scalars only.
    let id = unsafe { crate::ffi::submit_order(instrument, side, kind, price, trigger, qty, tif) };
    u64::try_from(id).ok()
}

/// Places `entry` with exits the host places once it fills, one cancelling the other: a
/// stop-loss (a stop order at `stop_loss`) and/or a take-profit (a limit order at
/// `take_profit`), on the other side, for the lots that filled. The orders' ids, or `None` if the
/// host refused the entry at once. Plugin API 1.1. Capability `submit-orders`.
pub fn submit_bracket(entry: &NewOrder, stop_loss: Option<Price>, take_profit: Option<Price>) -> Option<Bracket> {
    let (instrument, side, kind, price, trigger, qty, tif) = scalars(entry)?;
    let mut exits = [-1_i64; 2];
    let ids = exits.as_mut_ptr();
    let (stop_loss, take_profit) = (raw(stop_loss), raw(take_profit));
    // SAFETY: scalars, and a pointer to `exits`, two `i64`s this function owns for the whole
    // call, which the host fills (and does not keep).
    let id = unsafe {
        crate::ffi::submit_bracket(instrument, side, kind, price, trigger, qty, tif, stop_loss, take_profit, ids)
    };
    let id_of = |raw: i64| u64::try_from(raw).ok();
    Some(Bracket { entry: id_of(id)?, stop_loss: id_of(exits[0]), take_profit: id_of(exits[1]) })
}

/// An order as API 1.1's imports take it: instrument, side, type, limit price, trigger, lots and
/// time in force (`NO_PRICE` for a price it has not).
type Scalars = (i32, i32, i32, i64, i64, i64, i32);

/// `order` as the imports take it; `None` for an instrument id the ABI cannot carry.
fn scalars(order: &NewOrder) -> Option<Scalars> {
    let instrument = i32::try_from(order.instrument).ok()?;
    let (side, kind, tif) = (order.side.code(), order.order_type.code(), order.tif.code());
    Some((instrument, side, kind, raw(order.price), raw(order.trigger), order.qty, tif))
}

/// A price as the host reads it.
fn raw(price: Option<Price>) -> i64 {
    price.map_or(NO_PRICE, |price| price.0)
}

/// A market order for `qty` lots. Capability `submit-orders`.
pub fn submit_market(instrument: u32, side: Side, qty: i64) -> Option<u64> {
    submit(instrument, side, OrderType::Market, None, qty, TimeInForce::Ioc)
}

/// Cancels one of this strategy's open orders; false if it is not open. Capability
/// `cancel-orders`.
pub fn cancel(order: u64) -> bool {
    let Ok(order) = i64::try_from(order) else { return false };
    // SAFETY: scalars only.
    unsafe { crate::ffi::cancel(order) == 0 }
}

/// This strategy's position in `instrument`, in lots (negative: short). Capability
/// `read-position`.
#[must_use]
pub fn position(instrument: u32) -> i64 {
    let Ok(instrument) = i32::try_from(instrument) else { return 0 };
    // SAFETY: scalars only.
    unsafe { crate::ffi::position(instrument) }
}

/// The last traded price of `instrument`, if any. Capability `market-data`.
#[must_use]
pub fn last_price(instrument: u32) -> Option<Price> {
    let instrument = i32::try_from(instrument).ok()?;
    // SAFETY: scalars only.
    let raw = unsafe { crate::ffi::last_price(instrument) };
    (raw != NO_PRICE).then_some(Price(raw))
}

/// The session's clock, nanoseconds since the Unix epoch. Capability `read-clock`.
#[must_use]
pub fn now() -> i64 {
    // SAFETY: no arguments.
    unsafe { crate::ffi::now() }
}
