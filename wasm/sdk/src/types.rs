//! What crosses the boundary, as the guest sees it.
//!
//! These mirror the host's market types (`tradsys_core::market`) instead of reusing them: a guest
//! builds against this crate alone, without the host's dependencies, and the contract between the
//! two is the ABI's plain integers and floats, not a shared Rust type.

/// A fixed-point price: `raw / PRICE_SCALE` units, as the host books it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Price(pub i64);

impl Price {
    /// The price as a float (for arithmetic with indicator values).
    #[must_use]
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / crate::PRICE_SCALE as f64
    }
}

/// The raw value standing for "no price".
pub(crate) const NO_PRICE: i64 = i64::MIN;

/// Which way an order or trade goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Buying.
    Buy,
    /// Selling.
    Sell,
}

impl Side {
    pub(crate) fn code(self) -> i32 {
        match self {
            Side::Buy => 0,
            Side::Sell => 1,
        }
    }

    pub(crate) fn from_code(code: i32) -> Side {
        if code == 1 { Side::Sell } else { Side::Buy }
    }
}

/// How an order prices itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderType {
    /// At a price or better.
    Limit,
    /// At any price.
    Market,
    /// A market order once the price reaches its trigger (plugin API 1.1).
    Stop,
    /// A limit order once the price reaches its trigger (plugin API 1.1).
    StopLimit,
}

impl OrderType {
    pub(crate) fn code(self) -> i32 {
        match self {
            OrderType::Limit => 0,
            OrderType::Market => 1,
            OrderType::Stop => 2,
            OrderType::StopLimit => 3,
        }
    }

    pub(crate) fn from_code(code: i32) -> OrderType {
        match code {
            1 => OrderType::Market,
            2 => OrderType::Stop,
            3 => OrderType::StopLimit,
            _ => OrderType::Limit,
        }
    }
}

/// An order a strategy places with [`strategy::submit_order`](crate::strategy::submit_order) or
/// [`strategy::submit_bracket`](crate::strategy::submit_bracket) (plugin API 1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewOrder {
    /// The instrument's id.
    pub instrument: u32,
    /// Its side.
    pub side: Side,
    /// How it prices itself.
    pub order_type: OrderType,
    /// The limit price of a limit or stop-limit order.
    pub price: Option<Price>,
    /// The trigger of a stop or stop-limit order.
    pub trigger: Option<Price>,
    /// Lots.
    pub qty: i64,
    /// How long it rests.
    pub tif: TimeInForce,
}

impl NewOrder {
    /// A market order (immediate or cancel), as the host's `OrderRequest::market`.
    #[must_use]
    pub fn market(instrument: u32, side: Side, qty: i64) -> NewOrder {
        NewOrder {
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
    pub fn limit(instrument: u32, side: Side, price: Price, qty: i64, tif: TimeInForce) -> NewOrder {
        NewOrder { instrument, side, order_type: OrderType::Limit, price: Some(price), trigger: None, qty, tif }
    }

    /// A stop order (good till cancelled): a market order once the price reaches `trigger`.
    #[must_use]
    pub fn stop(instrument: u32, side: Side, trigger: Price, qty: i64) -> NewOrder {
        NewOrder {
            instrument,
            side,
            order_type: OrderType::Stop,
            price: None,
            trigger: Some(trigger),
            qty,
            tif: TimeInForce::Gtc,
        }
    }

    /// A stop-limit order: a limit order at `price` once the price reaches `trigger`.
    #[must_use]
    pub fn stop_limit(
        instrument: u32,
        side: Side,
        trigger: Price,
        price: Price,
        qty: i64,
        tif: TimeInForce,
    ) -> NewOrder {
        NewOrder {
            instrument,
            side,
            order_type: OrderType::StopLimit,
            price: Some(price),
            trigger: Some(trigger),
            qty,
            tif,
        }
    }
}

/// The ids of a bracket's orders (plugin API 1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bracket {
    /// The entry.
    pub entry: u64,
    /// The stop-loss, if one was asked for.
    pub stop_loss: Option<u64>,
    /// The take-profit, if one was asked for.
    pub take_profit: Option<u64>,
}

/// How long an order rests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeInForce {
    /// Until cancelled.
    Gtc,
    /// Immediate or cancel.
    Ioc,
    /// Fill or kill.
    Fok,
    /// Post only.
    Gtx,
}

impl TimeInForce {
    pub(crate) fn code(self) -> i32 {
        match self {
            TimeInForce::Gtc => 0,
            TimeInForce::Ioc => 1,
            TimeInForce::Fok => 2,
            TimeInForce::Gtx => 3,
        }
    }

    pub(crate) fn from_code(code: i32) -> TimeInForce {
        match code {
            1 => TimeInForce::Ioc,
            2 => TimeInForce::Fok,
            3 => TimeInForce::Gtx,
            _ => TimeInForce::Gtc,
        }
    }
}

/// A bar of one instrument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bar {
    /// Open time, nanoseconds since the Unix epoch.
    pub ts: i64,
    /// The instrument's id.
    pub instrument: u32,
    /// First price.
    pub open: Price,
    /// Highest price.
    pub high: Price,
    /// Lowest price.
    pub low: Price,
    /// Last price.
    pub close: Price,
    /// Volume.
    pub volume: f64,
}

/// A trade print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trade {
    /// When, nanoseconds since the Unix epoch.
    pub ts: i64,
    /// The instrument's id.
    pub instrument: u32,
    /// The price.
    pub price: Price,
    /// Lots.
    pub qty: i64,
    /// The taker's side.
    pub aggressor: Side,
}

/// The top of the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quote {
    /// When, nanoseconds since the Unix epoch.
    pub ts: i64,
    /// The instrument's id.
    pub instrument: u32,
    /// Best bid and its lots.
    pub bid: Option<(Price, i64)>,
    /// Best ask and its lots.
    pub ask: Option<(Price, i64)>,
}

/// A fill of one of the strategy's orders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fill {
    /// The order's id.
    pub order: u64,
    /// When.
    pub ts: i64,
    /// The instrument's id.
    pub instrument: u32,
    /// The order's side.
    pub side: Side,
    /// The price.
    pub price: Price,
    /// Lots filled.
    pub qty: i64,
    /// Commission charged (fixed-point money).
    pub commission: i64,
}

/// What happened to an order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderStatus {
    /// The venue accepted it.
    Accepted,
    /// A validator or the venue refused it.
    Rejected,
    /// It was cancelled.
    Cancelled,
    /// Its remainder expired.
    Expired,
    /// A stop order's trigger was reached; it now trades.
    Triggered,
}

impl OrderStatus {
    pub(crate) fn from_code(code: i32) -> OrderStatus {
        match code {
            0 => OrderStatus::Accepted,
            1 => OrderStatus::Rejected,
            2 => OrderStatus::Cancelled,
            4 => OrderStatus::Triggered,
            _ => OrderStatus::Expired,
        }
    }
}

/// An order a validator checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Order {
    /// The instrument's id.
    pub instrument: u32,
    /// Its side.
    pub side: Side,
    /// How it prices itself.
    pub order_type: OrderType,
    /// Its limit price (none for a market or stop order; a stop's trigger is not given).
    pub price: Option<Price>,
    /// Lots.
    pub qty: i64,
    /// How long it rests.
    pub tif: TimeInForce,
}

/// A validator's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The order may go.
    Accept,
    /// The order is refused, for this reason.
    Refuse(String),
    /// The order is refused and the strategy halted (its orders cancelled, its new ones refused).
    Halt(String),
}
