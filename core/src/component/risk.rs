//! Risk validators: pre-trade checks run as an ordered chain on every strategy order.

use super::OrderRequest;
use crate::instrument::Instrument;
use crate::types::{Money, Price, Qty, Timestamp};

/// Why a validator refused an order. `halt` asks the session to stop the strategy: cancel its open
/// orders and refuse its new ones (kill switch).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiskReject {
    /// What was wrong, with the numbers.
    pub reason: String,
    /// Whether the strategy must be halted.
    pub halt: bool,
}

impl RiskReject {
    /// A refusal of this order only.
    pub fn new(reason: impl Into<String>) -> RiskReject {
        RiskReject { reason: reason.into(), halt: false }
    }

    /// A refusal that halts the strategy.
    pub fn halt(reason: impl Into<String>) -> RiskReject {
        RiskReject { reason: reason.into(), halt: true }
    }
}

/// What a validator sees of the strategy and market when it checks an order.
#[derive(Clone, Copy, Debug)]
pub struct RiskView<'a> {
    /// The strategy's index in the session (stable for the run), for per-strategy state.
    pub strategy: u32,
    /// The strategy's config id.
    pub strategy_id: &'a str,
    /// The current time.
    pub now: Timestamp,
    /// The order's instrument.
    pub instrument: &'a Instrument,
    /// The strategy's position in that instrument.
    pub position: Qty,
    /// Open quantity of the strategy's resting buy orders in that instrument.
    pub open_buy: Qty,
    /// Open quantity of the strategy's resting sell orders in that instrument.
    pub open_sell: Qty,
    /// The last trade price of the instrument, if any.
    pub last_price: Option<Price>,
    /// The reference price: the current bar's open in bar mode, the mid in order-flow mode.
    pub reference_price: Option<Price>,
    /// The strategy's PnL so far: realized + unrealized − commission.
    pub pnl: Money,
}

/// A pre-trade check. The session runs the configured validators in order; the first refusal wins
/// and is reported to the strategy with the validator's id and reason.
pub trait RiskValidator: Send {
    super::lifecycle_hooks!();

    /// Checks one order.
    ///
    /// # Errors
    /// The order is refused.
    fn check(&mut self, order: &OrderRequest, view: &RiskView<'_>) -> Result<(), RiskReject>;

    /// Reviews a strategy between events (after each mark-to-market); a `halt` refusal stops it.
    fn review(&mut self, _view: &RiskView<'_>) -> Option<RiskReject> {
        None
    }

    /// Whether [`review`](RiskValidator::review) is worth calling. The session asks once, when the
    /// chain is built, and then calls `review` after every mark only on validators that answered
    /// true: a validator that checks orders only returns false and costs nothing per bar. The
    /// default is true, so overriding `review` alone is always honoured.
    fn reviews(&self) -> bool {
        true
    }
}
