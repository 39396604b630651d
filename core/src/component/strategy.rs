//! Strategies: decide orders from market data, through a [`StrategyContext`].

use super::IndicatorHandle;
use crate::capability::{Capabilities, Capability, PermissionDenied, Permissions};
use crate::instrument::Instrument;
use crate::market::{Bar, Quote, TradeTick};
use crate::types::{InstrumentId, Money, OrderType, Price, Qty, Side, TimeInForce, Timestamp};

/// A strategy's own order id, unique within the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientOrderId(pub u64);

/// An order a strategy wants to place.
///
/// ```
/// use tradsys_core::prelude::*;
///
/// let buy = OrderRequest::market(InstrumentId(0), Side::Buy, Qty(10));
/// assert_eq!((buy.order_type, buy.price, buy.trigger), (OrderType::Market, None, None));
///
/// let price = Price::from_units(100);
/// let offer = OrderRequest::limit(InstrumentId(0), Side::Sell, price, Qty(5), TimeInForce::Gtc);
/// assert_eq!(offer.expected_price(), Some(price));
///
/// // A stop waits off the book until a trade reaches its trigger, then trades as a market order;
/// // until then it is valued at its trigger.
/// let trigger = Price::from_units(95);
/// let stop = OrderRequest::stop(InstrumentId(0), Side::Sell, trigger, Qty(5));
/// assert_eq!((stop.order_type, stop.trigger), (OrderType::Stop, Some(trigger)));
/// assert_eq!(stop.expected_price(), Some(trigger));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderRequest {
    /// The instrument.
    pub instrument: InstrumentId,
    /// Buy or sell.
    pub side: Side,
    /// Limit, market, stop or stop-limit.
    pub order_type: OrderType,
    /// The limit price (limit and stop-limit orders only).
    pub price: Option<Price>,
    /// The trigger price (stop and stop-limit orders only).
    pub trigger: Option<Price>,
    /// Lots.
    pub qty: Qty,
    /// Time in force.
    pub tif: TimeInForce,
}

impl OrderRequest {
    /// A market order.
    #[must_use]
    pub fn market(instrument: InstrumentId, side: Side, qty: Qty) -> OrderRequest {
        OrderRequest {
            instrument,
            side,
            order_type: OrderType::Market,
            price: None,
            trigger: None,
            qty,
            tif: TimeInForce::Ioc,
        }
    }

    /// A limit order.
    #[must_use]
    pub fn limit(instrument: InstrumentId, side: Side, price: Price, qty: Qty, tif: TimeInForce) -> OrderRequest {
        OrderRequest { instrument, side, order_type: OrderType::Limit, price: Some(price), trigger: None, qty, tif }
    }

    /// A stop order: waits until a trade reaches `trigger` (at or above it for a buy, at or below
    /// for a sell), then trades as a market order. Good till cancelled while it waits.
    #[must_use]
    pub fn stop(instrument: InstrumentId, side: Side, trigger: Price, qty: Qty) -> OrderRequest {
        OrderRequest {
            instrument,
            side,
            order_type: OrderType::Stop,
            price: None,
            trigger: Some(trigger),
            qty,
            tif: TimeInForce::Gtc,
        }
    }

    /// A stop-limit order: waits until a trade reaches `trigger`, then trades as a limit order at
    /// `price` with time in force `tif`.
    #[must_use]
    pub fn stop_limit(
        instrument: InstrumentId,
        side: Side,
        trigger: Price,
        price: Price,
        qty: Qty,
        tif: TimeInForce,
    ) -> OrderRequest {
        OrderRequest {
            instrument,
            side,
            order_type: OrderType::StopLimit,
            price: Some(price),
            trigger: Some(trigger),
            qty,
            tif,
        }
    }

    /// The price the order is expected to trade at if it trades: its limit, else its trigger
    /// (`None` for a market order).
    #[must_use]
    pub fn expected_price(&self) -> Option<Price> {
        if self.order_type.has_limit() { self.price } else { self.trigger }
    }
}

/// The exits a bracket attaches to its entry: a stop-loss (a stop order) and/or a take-profit (a
/// limit order), on the other side of the entry. See [`StrategyContext::submit_bracket`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BracketExits {
    /// The stop-loss's trigger: below the entry for a long, above it for a short.
    pub stop_loss: Option<Price>,
    /// The take-profit's limit price: above the entry for a long, below it for a short.
    pub take_profit: Option<Price>,
}

/// The ids a bracket's orders will carry, known when it is submitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bracket {
    /// The entry order.
    pub entry: ClientOrderId,
    /// The stop-loss, if one was asked for.
    pub stop_loss: Option<ClientOrderId>,
    /// The take-profit, if one was asked for.
    pub take_profit: Option<ClientOrderId>,
}

/// A fill of one of the strategy's orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FillReport {
    /// The order.
    pub order: ClientOrderId,
    /// When.
    pub ts: Timestamp,
    /// The instrument.
    pub instrument: InstrumentId,
    /// The order's side.
    pub side: Side,
    /// The trade price.
    pub price: Price,
    /// Lots filled.
    pub qty: Qty,
    /// Commission charged.
    pub commission: Money,
}

/// What happened to an order, other than fills.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OrderStatus {
    /// The venue accepted it.
    Accepted,
    /// A risk validator or the venue refused it.
    Rejected {
        /// `risk:<validator id>` or `venue`.
        by: String,
        /// Why.
        reason: String,
    },
    /// It was cancelled (by the strategy, a kill switch or self-trade prevention).
    Cancelled,
    /// Its remainder expired.
    Expired,
    /// A stop order's trigger was reached: it now trades as a market (stop) or limit (stop-limit)
    /// order; fills or a rest follow.
    Triggered,
}

/// An order status change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderUpdate {
    /// The order.
    pub order: ClientOrderId,
    /// Its new status.
    pub status: OrderStatus,
    /// Its open quantity after the change.
    pub remaining: Qty,
}

/// One of the strategy's resting orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenOrder {
    /// The order.
    pub id: ClientOrderId,
    /// Its instrument.
    pub instrument: InstrumentId,
    /// Its side.
    pub side: Side,
    /// Its limit price; for a stop order, its trigger (where it is expected to trade).
    pub price: Price,
    /// The trigger of a stop or stop-limit order still waiting for it; `None` once triggered and
    /// for other orders.
    pub trigger: Option<Price>,
    /// Its open quantity.
    pub remaining: Qty,
}

/// What the session offers a strategy; [`StrategyContext`] is the strategy's view of it, which
/// checks the strategy's capabilities before each call reaches the host.
pub trait StrategyHost {
    /// What the strategy may do (the context checks it before every call reaches the host).
    fn permissions(&self) -> &Permissions;
    /// The current time.
    fn now(&self) -> Timestamp;
    /// Queues an order; it reaches the risk chain and venue after the callback returns.
    fn submit(&mut self, order: OrderRequest) -> ClientOrderId;
    /// An order refused before it was queued (the strategy may not submit): it gets an id and,
    /// after the callback, an [`OrderUpdate`] rejecting it, by `session`, with the denial.
    fn refuse(&mut self, order: OrderRequest, denied: PermissionDenied) -> ClientOrderId;
    /// Queues an entry order with exits the session places once it has filled (see
    /// [`StrategyContext::submit_bracket`]).
    fn submit_bracket(&mut self, entry: OrderRequest, exits: BracketExits) -> Bracket;
    /// Queues a cancel of one of the strategy's orders.
    fn cancel(&mut self, id: ClientOrderId);
    /// The strategy's position in an instrument.
    fn position(&self, instrument: InstrumentId) -> Qty;
    /// The strategy's resting orders.
    fn open_orders(&self) -> &[OpenOrder];
    /// The strategy's cash: its starting cash, less what it paid for positions and commission,
    /// plus what it received.
    fn cash(&self) -> Money;
    /// The strategy's equity: cash plus its positions at the last prices.
    fn equity(&self) -> Money;
    /// An indicator output.
    fn indicator(&self, handle: IndicatorHandle, output: usize) -> Option<f64>;
    /// Best bid and ask of an instrument.
    fn top_of_book(&self, instrument: InstrumentId) -> (Option<Price>, Option<Price>);
    /// The last trade price of an instrument.
    fn last_price(&self, instrument: InstrumentId) -> Option<Price>;
    /// An instrument's definition, `None` for an unknown id.
    fn instrument(&self, instrument: InstrumentId) -> Option<&Instrument>;
}

/// The handle a strategy acts through: orders, positions, indicators, market state.
///
/// Each call needs a capability (see [`capability`](crate::capability)); a call the strategy was
/// not granted returns [`PermissionDenied`] (a [`submit`](Self::submit) becomes a rejection the
/// strategy sees), is counted in its metrics and logged. Orders are queued and applied between two
/// events, after the callback returns.
///
/// ```
/// use tradsys_core::prelude::*;
/// use tradsys_core::testing::TestHost;
///
/// let mut host = TestHost::new();
/// host.positions.insert(InstrumentId(0), Qty(3));
/// let close = OrderRequest::market(InstrumentId(0), Side::Sell, Qty(3));
/// let mut ctx = host.context();
/// assert_eq!(ctx.position(InstrumentId(0)), Ok(Qty(3)));
/// let id = ctx.submit(close);
/// assert_eq!(host.submitted, [(id, close)]);
///
/// // Granted only `submit-orders`, the same strategy cannot read its position: the call is
/// // refused and counted, and never reaches the session.
/// host.permissions = Permissions::new(Capabilities::of(&[Capability::SubmitOrders]));
/// assert!(host.context().position(InstrumentId(0)).is_err());
/// ```
pub struct StrategyContext<'a> {
    host: &'a mut dyn StrategyHost,
    /// The host's allowed set, copied so that an allowed call costs a bit test.
    allowed: Capabilities,
}

impl std::fmt::Debug for StrategyContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StrategyContext").field("allowed", &self.allowed).finish()
    }
}

impl<'a> StrategyContext<'a> {
    /// Wraps the session's host for one callback, checked against its permissions.
    pub fn new(host: &'a mut dyn StrategyHost) -> StrategyContext<'a> {
        let allowed = host.permissions().allowed();
        StrategyContext { host, allowed }
    }

    #[inline]
    fn check(&self, capability: Capability) -> Result<(), PermissionDenied> {
        if self.allowed.contains(capability) {
            return Ok(());
        }
        self.host.permissions().deny(capability)
    }

    /// Whether a call needing `capability` would be allowed (nothing is counted): for a proxy that
    /// gathers in advance only what its strategy may read.
    #[must_use]
    pub fn allows(&self, capability: Capability) -> bool {
        self.allowed.contains(capability)
    }

    /// What this context allows.
    #[must_use]
    pub fn allowed(&self) -> Capabilities {
        self.allowed
    }

    /// This context, allowed only what both it and `capabilities` allow: for a proxy whose
    /// strategy runs elsewhere under a narrower grant, so that the orders it sends back are
    /// checked here against that grant too. Denials count in the component's metrics as usual.
    ///
    /// ```
    /// use tradsys_core::prelude::*;
    /// use tradsys_core::testing::TestHost;
    ///
    /// let mut host = TestHost::new();
    /// let mut ctx = host.context();
    /// let mut narrow = ctx.narrowed(Capabilities::of(&[Capability::ReadPosition]));
    /// assert!(narrow.position(InstrumentId(0)).is_ok());
    /// narrow.submit(OrderRequest::market(InstrumentId(0), Side::Buy, Qty(1)));
    /// assert!(host.submitted.is_empty() && host.refused.len() == 1, "refused: not granted here");
    /// ```
    pub fn narrowed(&mut self, capabilities: Capabilities) -> StrategyContext<'_> {
        StrategyContext { host: &mut *self.host, allowed: self.allowed.intersection(capabilities) }
    }

    /// Counts `times` calls refused elsewhere on the strategy's behalf (see
    /// [`Permissions::record_denied`]).
    pub fn record_denied(&self, capability: Capability, times: u32) {
        self.host.permissions().record_denied(capability, times);
    }

    /// The current (event) time. Needs `read-clock`.
    ///
    /// # Errors
    /// Not granted.
    pub fn now(&self) -> Result<Timestamp, PermissionDenied> {
        self.check(Capability::ReadClock)?;
        Ok(self.host.now())
    }

    /// Queues an order. Needs `submit-orders`: without it the order is refused, and the strategy
    /// sees the rejection (`by session`) after the callback, like any other.
    pub fn submit(&mut self, order: OrderRequest) -> ClientOrderId {
        match self.check(Capability::SubmitOrders) {
            Ok(()) => self.host.submit(order),
            Err(denied) => self.host.refuse(order, denied),
        }
    }

    /// Queues an entry order with a stop-loss and/or take-profit attached. Needs `submit-orders`
    /// (without it the entry is refused like [`submit`](Self::submit), and no exits are made).
    ///
    /// Once the entry is done (filled, or cancelled or expired after part of it filled), the
    /// session places the exits for the quantity that filled: a stop order at `stop_loss` and a
    /// good-till-cancelled limit at `take_profit`, both on the other side. They are one-cancels-
    /// the-other: each lot one of them fills is taken off the other, and the other is cancelled
    /// when nothing is left of it. In bar mode they take part in the rest of the bar the entry
    /// filled in. If the entry never fills, the exits are reported cancelled. The exits pass the
    /// risk chain like any order; each id gets its own updates. docs/orders.md#brackets has the
    /// rules in full.
    ///
    /// ```
    /// use tradsys_core::prelude::*;
    /// use tradsys_core::testing::{TestHost, bar};
    ///
    /// let mut host = TestHost::new();
    /// let bar = bar(0, "100");
    /// let entry = OrderRequest::market(bar.instrument, Side::Buy, Qty(10));
    /// let exits = BracketExits { stop_loss: Some("98".parse()?), take_profit: Some("105".parse()?) };
    /// let bracket = host.context().submit_bracket(entry, exits);
    /// assert!(bracket.stop_loss.is_some() && bracket.take_profit.is_some());
    /// assert_eq!(host.brackets.len(), 1);
    /// # Ok::<(), tradsys_core::types::ParsePriceError>(())
    /// ```
    pub fn submit_bracket(&mut self, entry: OrderRequest, exits: BracketExits) -> Bracket {
        match self.check(Capability::SubmitOrders) {
            Ok(()) => self.host.submit_bracket(entry, exits),
            Err(denied) => Bracket { entry: self.host.refuse(entry, denied), stop_loss: None, take_profit: None },
        }
    }

    /// Queues a cancel of one of the strategy's orders. Needs `cancel-orders`.
    ///
    /// # Errors
    /// Not granted.
    pub fn cancel(&mut self, id: ClientOrderId) -> Result<(), PermissionDenied> {
        self.check(Capability::CancelOrders)?;
        self.host.cancel(id);
        Ok(())
    }

    /// Queues a cancel of every resting order of the strategy. Needs `cancel-orders`.
    ///
    /// # Errors
    /// Not granted.
    pub fn cancel_all(&mut self) -> Result<(), PermissionDenied> {
        self.check(Capability::CancelOrders)?;
        let ids: Vec<ClientOrderId> = self.host.open_orders().iter().map(|o| o.id).collect();
        for id in ids {
            self.host.cancel(id);
        }
        Ok(())
    }

    /// The strategy's position in an instrument. Needs `read-position`.
    ///
    /// # Errors
    /// Not granted.
    pub fn position(&self, instrument: InstrumentId) -> Result<Qty, PermissionDenied> {
        self.check(Capability::ReadPosition)?;
        Ok(self.host.position(instrument))
    }

    /// The strategy's cash (starting cash, less what positions and commission cost it, plus what
    /// it received). Needs `read-portfolio`.
    ///
    /// # Errors
    /// Not granted.
    pub fn cash(&self) -> Result<Money, PermissionDenied> {
        self.check(Capability::ReadPortfolio)?;
        Ok(self.host.cash())
    }

    /// The strategy's equity: its cash plus its positions at the last prices (in bar mode, during
    /// `on_bar`, this bar's close). Buying power is equity × `session.leverage`, less the
    /// exposure of positions and resting orders. Needs `read-portfolio`.
    ///
    /// # Errors
    /// Not granted.
    pub fn equity(&self) -> Result<Money, PermissionDenied> {
        self.check(Capability::ReadPortfolio)?;
        Ok(self.host.equity())
    }

    /// The strategy's resting orders. Needs `read-position`.
    ///
    /// # Errors
    /// Not granted.
    pub fn open_orders(&self) -> Result<&[OpenOrder], PermissionDenied> {
        self.check(Capability::ReadPosition)?;
        Ok(self.host.open_orders())
    }

    /// An indicator's primary output (`None` until it is warmed up). Needs `indicators`.
    ///
    /// # Errors
    /// Not granted.
    #[inline]
    pub fn indicator(&self, handle: IndicatorHandle) -> Result<Option<f64>, PermissionDenied> {
        self.indicator_output(handle, 0)
    }

    /// An indicator's output `index`. Needs `indicators`.
    ///
    /// # Errors
    /// Not granted.
    #[inline]
    pub fn indicator_output(&self, handle: IndicatorHandle, index: usize) -> Result<Option<f64>, PermissionDenied> {
        self.check(Capability::Indicators)?;
        Ok(self.host.indicator(handle, index))
    }

    /// Best bid and ask. Needs `market-data`.
    ///
    /// # Errors
    /// Not granted.
    pub fn top_of_book(&self, instrument: InstrumentId) -> Result<(Option<Price>, Option<Price>), PermissionDenied> {
        self.check(Capability::MarketData)?;
        Ok(self.host.top_of_book(instrument))
    }

    /// The last trade price. Needs `market-data`.
    ///
    /// # Errors
    /// Not granted.
    pub fn last_price(&self, instrument: InstrumentId) -> Result<Option<Price>, PermissionDenied> {
        self.check(Capability::MarketData)?;
        Ok(self.host.last_price(instrument))
    }

    /// An instrument's definition (tick, lot size), `None` for an id the session never issued.
    /// Reference data every strategy needs to price an order: no capability.
    #[must_use]
    pub fn instrument(&self, instrument: InstrumentId) -> Option<&Instrument> {
        self.host.instrument(instrument)
    }
}

/// Decides orders from market data. Every callback has a no-op default.
///
/// ```
/// use tradsys_core::prelude::*;
/// use tradsys_core::testing::{TestHost, bar};
///
/// /// Buys one lot the first time a bar closes above 1.20.
/// struct Breakout {
///     done: bool,
/// }
///
/// impl Strategy for Breakout {
///     fn on_bar(&mut self, bar: &Bar, ctx: &mut StrategyContext<'_>) {
///         if !self.done && bar.close > "1.20".parse::<Price>().unwrap() {
///             ctx.submit(OrderRequest::market(bar.instrument, Side::Buy, Qty(1)));
///             self.done = true;
///         }
///     }
/// }
///
/// let mut strategy = Breakout { done: false };
/// let mut host = TestHost::new();
/// for (minute, close) in [(0, "1.10"), (1, "1.25"), (2, "1.30")] {
///     strategy.on_bar(&bar(minute, close), &mut host.context());
/// }
/// assert_eq!(host.submitted.len(), 1, "once, on the bar at 1.25");
/// ```
pub trait Strategy: Send {
    super::lifecycle_hooks!();

    /// A bar of the strategy's instrument closed.
    fn on_bar(&mut self, _bar: &Bar, _ctx: &mut StrategyContext<'_>) {}
    /// A trade printed.
    fn on_trade(&mut self, _trade: &TradeTick, _ctx: &mut StrategyContext<'_>) {}
    /// The top of book changed.
    fn on_quote(&mut self, _quote: &Quote, _ctx: &mut StrategyContext<'_>) {}
    /// One of the strategy's orders filled (partly).
    fn on_fill(&mut self, _fill: &FillReport, _ctx: &mut StrategyContext<'_>) {}
    /// One of the strategy's orders was accepted, rejected, cancelled or expired.
    fn on_order_update(&mut self, _update: &OrderUpdate, _ctx: &mut StrategyContext<'_>) {}

    /// The state this instance hands a successor when it is swapped out while the system runs;
    /// `None` (the default) hands nothing. Called between two events, after the successor started.
    fn snapshot(&self) -> Option<StrategySnapshot> {
        None
    }

    /// Takes over from a predecessor that was swapped out: its snapshot (if it gave one; use it
    /// only if its `plugin` is one you understand) and the open orders this instance inherits.
    /// Called between two events, after `start` and before the first callback. The account,
    /// positions and order ids carry over whatever this does.
    ///
    /// # Errors
    /// A snapshot this instance cannot continue from; the swap is refused and the predecessor
    /// keeps running.
    fn take_over(&mut self, _handover: &Handover<'_>) -> Result<(), super::ComponentError> {
        Ok(())
    }
}

/// A strategy's state, handed from an instance to its successor in a swap.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tradsys_core::prelude::*;
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Memory {
///     last_signal: f64,
/// }
///
/// let snapshot = StrategySnapshot::new("my-strategy", &Memory { last_signal: 0.5 }).unwrap();
/// assert_eq!(snapshot.read::<Memory>("my-strategy").unwrap(), Some(Memory { last_signal: 0.5 }));
/// // Another plugin's snapshot reads as nothing: its format is not this one's.
/// assert_eq!(snapshot.read::<Memory>("other-strategy").unwrap(), None);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct StrategySnapshot {
    /// The plugin that wrote it (its name), so a successor knows the format.
    pub plugin: String,
    /// The state, as plain data.
    pub state: figment::value::Dict,
}

impl StrategySnapshot {
    /// A snapshot of `state` (any serializable value that forms a table) written by `plugin`.
    ///
    /// # Errors
    /// `state` does not serialize to a table.
    pub fn new(plugin: &str, state: &impl serde::Serialize) -> Result<StrategySnapshot, super::ComponentError> {
        match figment::value::Value::serialize(state) {
            Ok(figment::value::Value::Dict(_, state)) => Ok(StrategySnapshot { plugin: plugin.to_owned(), state }),
            _ => Err(super::ComponentError::new(format!("{plugin}: a snapshot must serialize to a table"))),
        }
    }

    /// The state read back as `T`, if this snapshot was written by `plugin`.
    ///
    /// # Errors
    /// It was written by `plugin` but does not decode as `T`.
    pub fn read<T: serde::de::DeserializeOwned>(&self, plugin: &str) -> Result<Option<T>, super::ComponentError> {
        if self.plugin != plugin {
            return Ok(None);
        }
        let value = figment::value::Value::from(self.state.clone());
        value.deserialize().map(Some).map_err(|e| super::ComponentError::new(format!("snapshot of {plugin}: {e}")))
    }
}

/// What a strategy swapped in while the system runs receives from its predecessor.
#[derive(Clone, Copy, Debug)]
pub struct Handover<'a> {
    /// The predecessor's `name@version`.
    pub predecessor: &'a str,
    /// The predecessor's snapshot, if it gave one.
    pub snapshot: Option<&'a StrategySnapshot>,
    /// The open orders the new instance inherits (empty when the swap cancelled them).
    pub inherited: &'a [OpenOrder],
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::Capabilities;
    use crate::testing::TestHost;

    #[test]
    fn each_call_needs_its_capability_and_a_refused_submit_becomes_a_rejection() {
        let mut host = TestHost::new();
        host.permissions = Permissions::new(Capabilities::of(&[Capability::ReadClock]));
        let order = OrderRequest::market(InstrumentId(0), Side::Buy, Qty(1));
        let mut ctx = StrategyContext::new(&mut host);
        assert!(ctx.now().is_ok());
        let denied = |capability| Some(PermissionDenied(capability));
        assert_eq!(ctx.position(InstrumentId(0)).err(), denied(Capability::ReadPosition));
        assert_eq!(ctx.open_orders().err(), denied(Capability::ReadPosition));
        assert_eq!(ctx.indicator(IndicatorHandle(0)).err(), denied(Capability::Indicators));
        assert_eq!(ctx.last_price(InstrumentId(0)).err(), denied(Capability::MarketData));
        assert_eq!(ctx.top_of_book(InstrumentId(0)).err(), denied(Capability::MarketData));
        assert_eq!(ctx.cancel(ClientOrderId(1)).err(), denied(Capability::CancelOrders));
        assert_eq!(ctx.cancel_all().err(), denied(Capability::CancelOrders));
        assert_eq!(ctx.cash().err(), denied(Capability::ReadPortfolio));
        assert_eq!(ctx.equity().err(), denied(Capability::ReadPortfolio));
        let id = ctx.submit(order);
        assert!(host.submitted.is_empty(), "a refused order is never queued");
        assert_eq!(host.refused, [(id, order, PermissionDenied(Capability::SubmitOrders))]);
        let counted: Vec<(Capability, u32)> = host.permissions.take_denied().collect();
        assert_eq!(
            counted,
            [
                (Capability::MarketData, 2),
                (Capability::Indicators, 1),
                (Capability::SubmitOrders, 1),
                (Capability::CancelOrders, 2),
                (Capability::ReadPosition, 2),
                (Capability::ReadPortfolio, 2)
            ]
        );
    }

    #[test]
    fn granted_calls_reach_the_host() {
        let mut host = TestHost::new();
        host.positions.insert(InstrumentId(0), Qty(4));
        host.cash = Money::from_raw(7);
        let mut ctx = StrategyContext::new(&mut host);
        assert_eq!(ctx.position(InstrumentId(0)), Ok(Qty(4)));
        assert_eq!(ctx.cash(), Ok(Money::from_raw(7)));
        ctx.submit(OrderRequest::market(InstrumentId(0), Side::Sell, Qty(4)));
        assert_eq!(host.submitted.len(), 1);
        assert!(!host.permissions.any_denied());
    }
}
