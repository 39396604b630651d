//! What a validator may read while it checks an order: the state of the strategy that sent it.

use crate::types::{NO_PRICE, Price};

/// The strategy's position in the order's instrument. Capability `read-position`.
#[must_use]
pub fn position() -> i64 {
    // SAFETY: no arguments.
    unsafe { crate::ffi::view_position() }
}

/// The price the order is valued at (its limit, else the last price), if known. Capability
/// `market-data`.
#[must_use]
pub fn reference_price() -> Option<Price> {
    // SAFETY: no arguments.
    let raw = unsafe { crate::ffi::view_reference_price() };
    (raw != NO_PRICE).then_some(Price(raw))
}

/// The strategy's profit and loss (fixed-point money). Capability `read-portfolio`.
#[must_use]
pub fn pnl() -> i64 {
    // SAFETY: no arguments.
    unsafe { crate::ffi::view_pnl() }
}

/// The strategy's index in the session.
#[must_use]
pub fn strategy() -> u32 {
    // SAFETY: no arguments.
    u32::try_from(unsafe { crate::ffi::view_strategy() }).unwrap_or(u32::MAX)
}

/// The session's clock, nanoseconds since the Unix epoch. Capability `read-clock`.
#[must_use]
pub fn now() -> i64 {
    // SAFETY: no arguments.
    unsafe { crate::ffi::now() }
}
