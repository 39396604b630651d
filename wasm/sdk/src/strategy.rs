//! What a strategy may do in its callbacks. Each call needs the capability named in its doc; a
//! module that uses one it did not declare does not load.

use crate::init::IndicatorHandle;
use crate::types::{NO_PRICE, OrderType, Price, Side, TimeInForce};

/// Output `output` of an indicator asked for in `init`, or `None` while it warms up.
/// Capability `indicators`.
#[must_use]
pub fn indicator(handle: IndicatorHandle, output: usize) -> Option<f64> {
    let output = i32::try_from(output).ok()?;
    // SAFETY: scalars only.
    let value = unsafe { crate::ffi::indicator(handle.0, output) };
    (!value.is_nan()).then_some(value)
}

/// Places an order; its id, or `None` if the host refused it at once. Validators check it after
/// the callback returns; the answer arrives as an order update. Capability `submit-orders`.
pub fn submit(
    instrument: u32,
    side: Side,
    order_type: OrderType,
    price: Option<Price>,
    qty: i64,
    tif: TimeInForce,
) -> Option<u64> {
    let instrument = i32::try_from(instrument).ok()?;
    let order_type = match order_type {
        OrderType::Limit => 0,
        OrderType::Market => 1,
    };
    let price = price.map_or(NO_PRICE, |price| price.0);
    // SAFETY: scalars only.
    let id = unsafe { crate::ffi::submit(instrument, side.code(), order_type, price, qty, tif.code()) };
    u64::try_from(id).ok()
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
