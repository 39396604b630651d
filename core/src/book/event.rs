//! What an order book reports: one [`BookEvent`] per effect of a command, in engine order.

use crate::types::{OrderId, OrderType, OwnerId, Price, Qty, Side, TimeInForce};

/// A new order as the book receives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewOrder {
    /// The order's id; must not be live in the same book.
    pub id: OrderId,
    /// Buy or sell.
    pub side: Side,
    /// Limit, market, stop or stop-limit.
    pub order_type: OrderType,
    /// The limit price; required for limit and stop-limit orders, absent for market and stop orders.
    pub price: Option<Price>,
    /// The trigger price; required for stop and stop-limit orders, absent for the others.
    pub trigger: Option<Price>,
    /// Quantity in lots; must be positive.
    pub qty: Qty,
    /// Time in force.
    pub tif: TimeInForce,
    /// The owner, for self-trade prevention.
    pub owner: Option<OwnerId>,
}

impl NewOrder {
    /// Where the order is expected to trade: its limit price, else (a stop) its trigger; `None`
    /// for a market order. What the book shows of a waiting stop, and the price a strategy's open
    /// order carries.
    #[must_use]
    pub fn working_price(&self) -> Option<Price> {
        self.price.or(self.trigger)
    }
}

/// A trade between a resting order (maker) and an incoming one (taker), at the maker's price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trade {
    /// The maker's price.
    pub price: Price,
    /// Lots traded.
    pub qty: Qty,
    /// The resting order.
    pub maker: OrderId,
    /// The incoming order.
    pub taker: OrderId,
    /// The taker's side.
    pub aggressor: Side,
    /// The maker's owner.
    pub maker_owner: Option<OwnerId>,
    /// The taker's owner.
    pub taker_owner: Option<OwnerId>,
}

/// Why the book refused a command. The book is left untouched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Quantity is zero or negative.
    QtyNotPositive,
    /// Quantity is above [`MAX_ORDER_QTY`](crate::limits::MAX_ORDER_QTY) lots (sums of such
    /// quantities at a level or in a position could otherwise overflow).
    QtyTooLarge,
    /// Price is zero or negative.
    PriceNotPositive,
    /// Price is not a multiple of the instrument's tick.
    PriceOffTick,
    /// A limit order without a price.
    MissingPrice,
    /// A market order that names a price.
    PriceOnMarket,
    /// A market order marked post-only (gtx).
    PostOnlyMarket,
    /// A stop or stop-limit order without a trigger price.
    MissingTrigger,
    /// A limit or market order that names a trigger price.
    TriggerOnNonStop,
    /// A stop or stop-limit order marked post-only (gtx): once triggered it is meant to trade.
    PostOnlyStop,
    /// A modify that changes the price of a stop order still waiting for its trigger.
    StopNotTriggered,
    /// An order id that is already live in this book.
    DuplicateId,
    /// Cancel or modify of an id that is not live.
    UnknownId,
    /// A modify that gives neither a price nor a quantity.
    NothingToModify,
    /// A post-only order (or modify) that would take liquidity.
    PostOnlyWouldTake,
    /// A price so far from the side's resting prices that the side would span more than
    /// [`MAX_SPAN_TICKS`](crate::book::MAX_SPAN_TICKS) ticks.
    PriceOutOfRange,
    /// An instrument id the engine's instrument table never issued.
    UnknownInstrument,
    /// The instrument's book could not be opened (its matching algorithm failed to build).
    NoBook,
}

impl RejectReason {
    /// The reason as text, as written to event files.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            RejectReason::QtyNotPositive => "quantity must be positive",
            RejectReason::QtyTooLarge => "quantity above the largest order (1000000000 lots)",
            RejectReason::PriceNotPositive => "price must be positive",
            RejectReason::PriceOffTick => "price is not a multiple of the tick",
            RejectReason::MissingPrice => "limit order without a price",
            RejectReason::PriceOnMarket => "market order with a price",
            RejectReason::PostOnlyMarket => "post-only market order",
            RejectReason::MissingTrigger => "stop order without a trigger price",
            RejectReason::TriggerOnNonStop => "trigger price on an order that is not a stop",
            RejectReason::PostOnlyStop => "post-only stop order",
            RejectReason::StopNotTriggered => "a stop order waiting for its trigger can change its quantity only",
            RejectReason::DuplicateId => "duplicate live order id",
            RejectReason::UnknownId => "unknown order id",
            RejectReason::NothingToModify => "modify gives neither price nor quantity",
            RejectReason::PostOnlyWouldTake => "post-only order would take liquidity",
            RejectReason::PriceOutOfRange => "price too far from the resting prices of its side",
            RejectReason::UnknownInstrument => "unknown instrument",
            RejectReason::NoBook => "the instrument's book could not be opened",
        }
    }
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One effect of a command on a book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookEvent {
    /// A new order passed validation.
    Accepted {
        /// The order.
        id: OrderId,
    },
    /// A command was refused; nothing changed.
    Rejected {
        /// The order the command named.
        id: OrderId,
        /// Why.
        reason: RejectReason,
    },
    /// Two orders traded.
    Trade(Trade),
    /// A stop order's trigger was reached: it left the waiting stops and now trades as a market
    /// (stop) or limit (stop-limit) order; its trades, rest or expiry follow.
    Triggered {
        /// The order.
        id: OrderId,
    },
    /// An order left the book by cancel or by self-trade prevention.
    Cancelled {
        /// The order.
        id: OrderId,
        /// Its quantity still open when it left.
        remaining: Qty,
    },
    /// An order's unfilled remainder expired (IOC, FOK, market).
    Expired {
        /// The order.
        id: OrderId,
        /// The quantity that expired.
        remaining: Qty,
    },
    /// A resting order took a new price and/or quantity.
    Modified {
        /// The order.
        id: OrderId,
        /// Its price now.
        price: Price,
        /// Its open quantity now.
        qty: Qty,
    },
}

/// One price level as seen from outside: price, total open quantity, number of orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LevelSummary {
    /// The level's price.
    pub price: Price,
    /// Open quantity at the level.
    pub qty: Qty,
    /// Orders at the level.
    pub orders: u32,
}
