//! What a session does, as it does it: the orders, fills, rejections, ends of orders, strategy
//! halts and failures, alerts and run-time changes, for an observer that follows the session from
//! outside (`[nats] publish` sends each to other processes).
//!
//! Each is handed to [`SessionObserver::activity`](super::SessionObserver::activity) with the
//! session time, in the order the session did it, on the session's thread, from borrowed data: an
//! observer that keeps nothing (the default) costs a call that does nothing.

use super::{Alert, Applied, HaltReason};
use crate::component::{ClientOrderId, FillReport, OrderRequest};
use crate::types::Qty;

/// One thing the session did.
#[derive(Clone, Copy, Debug)]
pub enum Activity<'a> {
    /// A strategy sent an order; buying power, the risk chain and the venue come next.
    Order {
        /// The strategy's config id.
        strategy: &'a str,
        /// The order's id, as the strategy knows it.
        order: ClientOrderId,
        /// The instrument's symbol.
        symbol: &'a str,
        /// What the strategy asked for.
        request: &'a OrderRequest,
    },
    /// A strategy's order (partly) filled.
    Fill {
        /// The strategy's config id.
        strategy: &'a str,
        /// The instrument's symbol.
        symbol: &'a str,
        /// The fill, as the strategy was told of it.
        fill: &'a FillReport,
    },
    /// A strategy's order was refused.
    Rejected {
        /// The strategy's config id.
        strategy: &'a str,
        /// The order.
        order: ClientOrderId,
        /// The quantity refused.
        qty: Qty,
        /// `session`, `venue` or `risk:<validator id>`.
        by: &'a str,
        /// Why.
        reason: &'a str,
    },
    /// A strategy's order left the book unfilled: cancelled, or its remainder expired.
    Ended {
        /// The strategy's config id.
        strategy: &'a str,
        /// The order.
        order: ClientOrderId,
        /// Whether it was cancelled (else it expired).
        cancelled: bool,
        /// What was left unfilled.
        remaining: Qty,
    },
    /// The session stopped a strategy's trading (a kill switch, a failed indicator).
    Halted {
        /// The strategy's config id.
        strategy: &'a str,
        /// Why.
        reason: &'a HaltReason,
    },
    /// A strategy failed (it panicked or broke its contract): its orders are being cancelled.
    Failed {
        /// The strategy's config id.
        strategy: &'a str,
    },
    /// A component crossed an alert budget.
    Alert(&'a Alert),
    /// A run-time change did this.
    Changed(&'a Applied),
}
