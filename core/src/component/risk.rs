//! Risk validators: pre-trade checks run as an ordered chain on every strategy order.

use super::OrderRequest;
use crate::capability::{Capability, PermissionDenied, Permissions};
use crate::instrument::Instrument;
use crate::types::{Money, Price, Qty, Timestamp};

/// Why a validator refused an order. `halt` asks the session to stop the strategy: cancel its open
/// orders and refuse its new ones (kill switch).
///
/// ```
/// use tradsys_core::prelude::*;
///
/// assert!(!RiskReject::new("qty 12 > max_qty 10").halt);
/// // A kill switch halts the strategy: its orders are cancelled and new ones refused.
/// assert!(RiskReject::halt("loss 5000 exceeds max_loss 4000").halt);
/// ```
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

/// What a validator sees of the strategy and market when it checks an order, read through methods
/// that check the validator's capabilities (see [`capability`](crate::capability)): a read it was
/// not granted returns [`PermissionDenied`], is counted in its metrics and logged.
#[derive(Clone, Copy, Debug)]
pub struct RiskView<'a> {
    facts: &'a RiskFacts<'a>,
    permissions: &'a Permissions,
}

/// The facts behind a [`RiskView`], filled in by the session (or a test) once per order.
#[derive(Clone, Copy, Debug)]
pub struct RiskFacts<'a> {
    /// The strategy's index in the session (stable for the run).
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

impl<'a> RiskView<'a> {
    /// Counts `times` reads refused elsewhere on the validator's behalf (a host that checks its
    /// guest's own declaration before the view's grant; see [`Permissions::record_denied`]).
    pub fn record_denied(&self, capability: Capability, times: u32) {
        self.permissions.record_denied(capability, times);
    }

    /// The view of `facts` for a validator with `permissions`.
    #[must_use]
    pub fn new(facts: &'a RiskFacts<'a>, permissions: &'a Permissions) -> RiskView<'a> {
        RiskView { facts, permissions }
    }

    /// The strategy's index in the session (stable for the run), for per-strategy state. Which
    /// strategy is checked is the validator's own business: no capability.
    #[must_use]
    pub fn strategy(&self) -> u32 {
        self.facts.strategy
    }

    /// The strategy's config id (no capability).
    #[must_use]
    pub fn strategy_id(&self) -> &str {
        self.facts.strategy_id
    }

    /// The order's instrument (reference data: no capability).
    #[must_use]
    pub fn instrument(&self) -> &Instrument {
        self.facts.instrument
    }

    /// The current (event) time. Needs `read-clock`.
    ///
    /// # Errors
    /// Not granted.
    pub fn now(&self) -> Result<Timestamp, PermissionDenied> {
        self.permissions.check(Capability::ReadClock)?;
        Ok(self.facts.now)
    }

    /// The strategy's position in the order's instrument. Needs `read-position`.
    ///
    /// # Errors
    /// Not granted.
    pub fn position(&self) -> Result<Qty, PermissionDenied> {
        self.permissions.check(Capability::ReadPosition)?;
        Ok(self.facts.position)
    }

    /// Open quantity of the strategy's resting (buy, sell) orders in the order's instrument. Needs
    /// `read-position`.
    ///
    /// # Errors
    /// Not granted.
    pub fn open_orders(&self) -> Result<(Qty, Qty), PermissionDenied> {
        self.permissions.check(Capability::ReadPosition)?;
        Ok((self.facts.open_buy, self.facts.open_sell))
    }

    /// The last trade price of the order's instrument. Needs `market-data`.
    ///
    /// # Errors
    /// Not granted.
    pub fn last_price(&self) -> Result<Option<Price>, PermissionDenied> {
        self.permissions.check(Capability::MarketData)?;
        Ok(self.facts.last_price)
    }

    /// The reference price: the current bar's open in bar mode, the mid in order-flow mode. Needs
    /// `market-data`.
    ///
    /// # Errors
    /// Not granted.
    pub fn reference_price(&self) -> Result<Option<Price>, PermissionDenied> {
        self.permissions.check(Capability::MarketData)?;
        Ok(self.facts.reference_price)
    }

    /// The strategy's PnL so far: realized + unrealized − commission. Needs `read-portfolio`.
    ///
    /// # Errors
    /// Not granted.
    pub fn pnl(&self) -> Result<Money, PermissionDenied> {
        self.permissions.check(Capability::ReadPortfolio)?;
        Ok(self.facts.pnl)
    }
}

/// A pre-trade check. The session runs the configured validators in order; the first refusal wins
/// and is reported to the strategy with the validator's id and reason.
///
/// ```
/// use tradsys_core::prelude::*;
/// use tradsys_core::testing::risk_facts;
///
/// /// Refuses an order that would take the position past 10 lots, long or short.
/// struct Cap;
///
/// impl RiskValidator for Cap {
///     fn check(&mut self, order: &OrderRequest, view: &RiskView<'_>) -> Result<(), RiskReject> {
///         // Without `read-position` it cannot tell, so it refuses (fails closed).
///         let position = view.position().map_err(|denied| RiskReject::new(denied.to_string()))?;
///         let signed = if order.side == Side::Buy { order.qty.0 } else { -order.qty.0 };
///         if (position.0 + signed).abs() > 10 {
///             return Err(RiskReject::new(format!("position would pass 10 lots")));
///         }
///         Ok(())
///     }
///
///     fn reviews(&self) -> bool {
///         false
///     }
/// }
///
/// let instrument = Instrument::undeclared("T");
/// let facts = risk_facts(&instrument, 8, Price::from_units(100));
/// let all = Permissions::all();
/// let buy = |qty| OrderRequest::market(InstrumentId(0), Side::Buy, Qty(qty));
/// assert_eq!(Cap.check(&buy(2), &RiskView::new(&facts, &all)), Ok(()));
/// assert!(Cap.check(&buy(3), &RiskView::new(&facts, &all)).is_err());
/// let none = Permissions::new(Capabilities::NONE);
/// assert!(Cap.check(&buy(1), &RiskView::new(&facts, &none)).is_err(), "fails closed");
/// ```
pub trait RiskValidator: Send {
    super::lifecycle_hooks!();

    /// Checks one order. A read the validator may not make ([`PermissionDenied`]) should refuse
    /// the order: a validator fails closed.
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
