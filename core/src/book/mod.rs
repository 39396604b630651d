//! The limit order book of one instrument, generic over its matching algorithm.
//!
//! # Layout
//! Resting orders live in a slab (`Vec` plus free list) and are found by id through one `FxHashMap`.
//! Each price level is an intrusive doubly linked list through that slab, in time priority. Each side
//! keeps a ladder (`ladder.rs`): the levels themselves, inline in an array indexed by tick, with an
//! occupancy bitmap. An order keeps its level's tick, so from an order to its level is one
//! subtraction; finding, creating and removing a level are O(1) wherever it is in the book, and the
//! next-best level is a bit scan away. Prices are compared as ticks inside the book (the tick size is
//! positive, so the order is the same). Nothing here allocates once the slab, map and ladders have
//! grown to the book's working size.
//!
//! # Semantics
//! - Price-level priority is always best price first; *within* a level the [`MatchingAlgorithm`] decides
//!   who fills (FIFO, pro-rata, ...). Every trade is at the maker's price.
//! - Time in force: `gtc` rests; `ioc` and market remainders expire; `fok` trades its whole quantity or
//!   nothing (then expires); `gtx` (post-only) is rejected if it would take liquidity.
//! - Modify: a quantity decrease at the same price keeps time priority; a price change or a quantity
//!   increase re-queues the order at the tail of its (new) level, and a new price that crosses trades as
//!   an aggressor first. A `gtx` order whose new price would cross is rejected and left as it was.
//! - Self-trade prevention ([`StpPolicy`]) is checked per level, before the level is matched: the taker
//!   and any resting order of the same owner at that level never trade. `cancel-taker` cancels the
//!   taker's remainder (fills at better levels stand); `cancel-maker` cancels those resting orders and
//!   matches on; `cancel-both` does both.
//! - Stop and stop-limit orders wait off the book (`stops.rs`) until a trade prints at or beyond
//!   their trigger (at or above for a buy, at or below for a sell); then they trade as a market or
//!   limit order would, as the taker, after the command that printed the trade ([`BookEvent::Triggered`]
//!   first). The trades they make can trigger more. A stop whose trigger the last trade already
//!   reached triggers on arrival; before the book's first trade, no stop triggers. A print from
//!   outside the book (a bar's range) triggers them through [`OrderBook::trigger_stops`]. A waiting
//!   stop may be cancelled or change its quantity, not its prices.
//! - [`OrderBook::auction`] trades an incoming order at its own price rather than the makers': how a
//!   bar's open fills the orders it gaps through.
//! - A rejected command ([`RejectReason`]) leaves the book exactly as it was.

mod event;
mod ladder;
mod level;
mod stops;
mod tick_divider;

use std::mem::size_of;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

pub use event::{BookEvent, LevelSummary, NewOrder, RejectReason, Trade};
use ladder::Ladder;
pub use ladder::MAX_SPAN_TICKS;
use level::{Fill, Level, NIL, OrderSlot};
pub use level::{LevelFills, RestingOrder};
use stops::StopQueue;
pub use stops::reached as stop_reached;
use tick_divider::TickDivider;

use crate::instrument::Instrument;
use crate::matching::MatchingAlgorithm;
use crate::types::{OrderId, OrderType, OwnerId, Price, Qty, Side, TimeInForce};

/// What happens when an incoming order would trade with a resting order of the same owner.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StpPolicy {
    /// Self-trades are allowed.
    #[default]
    None,
    /// The incoming order's remainder is cancelled.
    CancelTaker,
    /// The resting orders of the same owner are cancelled and matching goes on.
    CancelMaker,
    /// Both are cancelled.
    CancelBoth,
}

impl StpPolicy {
    /// Every policy, in the order the docs list them.
    pub const ALL: [StpPolicy; 4] =
        [StpPolicy::None, StpPolicy::CancelTaker, StpPolicy::CancelMaker, StpPolicy::CancelBoth];
}

impl std::str::FromStr for StpPolicy {
    type Err = String;
    fn from_str(text: &str) -> Result<StpPolicy, String> {
        match text {
            "none" => Ok(StpPolicy::None),
            "cancel-taker" => Ok(StpPolicy::CancelTaker),
            "cancel-maker" => Ok(StpPolicy::CancelMaker),
            "cancel-both" => Ok(StpPolicy::CancelBoth),
            other => Err(format!(
                "unknown self-trade prevention policy {other:?}; expected none, cancel-taker, cancel-maker or cancel-both"
            )),
        }
    }
}

/// A resting order as seen from outside the book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestingOrderInfo {
    /// The order's id.
    pub id: OrderId,
    /// Its side.
    pub side: Side,
    /// Its price.
    pub price: Price,
    /// Its open quantity.
    pub remaining: Qty,
    /// Its owner.
    pub owner: Option<OwnerId>,
}

/// How matching an incoming quantity ended.
#[derive(Clone, Copy, Debug)]
struct MatchOutcome {
    remaining: Qty,
    taker_cancelled: bool,
}

/// The order book of one instrument. See the [module docs](self) for layout and semantics.
#[derive(Debug)]
pub struct OrderBook<M> {
    instrument: Instrument,
    algorithm: M,
    stp: StpPolicy,
    /// Prices to ticks by the same tick size, with no division.
    ticks: TickDivider,
    orders: Vec<OrderSlot>,
    free_orders: Vec<u32>,
    index: FxHashMap<OrderId, u32>,
    bids: Ladder,
    asks: Ladder,
    fills: Vec<Fill>,
    stops: StopQueue,
    last_trade: Option<Price>,
}

impl<M: MatchingAlgorithm> OrderBook<M> {
    /// Makes an empty book.
    #[must_use]
    pub fn new(instrument: Instrument, algorithm: M, stp: StpPolicy) -> OrderBook<M> {
        Self::with_capacity(instrument, algorithm, stp, 1024)
    }

    /// Makes an empty book with room for `orders` resting orders before it allocates.
    #[must_use]
    pub fn with_capacity(instrument: Instrument, algorithm: M, stp: StpPolicy, orders: usize) -> OrderBook<M> {
        let mut index = FxHashMap::default();
        index.reserve(orders);
        OrderBook {
            ticks: TickDivider::new(instrument.tick.raw()),
            instrument,
            algorithm,
            stp,
            orders: Vec::with_capacity(orders),
            free_orders: Vec::with_capacity(orders),
            index,
            bids: Ladder::new(Side::Buy),
            asks: Ladder::new(Side::Sell),
            fills: Vec::with_capacity(64),
            stops: StopQueue::default(),
            last_trade: None,
        }
    }

    /// The instrument this book trades.
    #[must_use]
    pub fn instrument(&self) -> &Instrument {
        &self.instrument
    }

    /// The matching algorithm.
    #[must_use]
    pub fn algorithm(&self) -> &M {
        &self.algorithm
    }

    /// The self-trade prevention policy.
    #[must_use]
    pub fn stp(&self) -> StpPolicy {
        self.stp
    }

    /// Submits a new order, appending its effects to `events`.
    #[inline]
    pub fn submit(&mut self, order: &NewOrder, events: &mut Vec<BookEvent>) {
        let tick = match self.validate_new(order) {
            Ok(tick) => tick,
            Err(reason) => return reject(events, order.id, reason),
        };
        events.push(BookEvent::Accepted { id: order.id });
        if order.order_type.is_stop() {
            return self.arm_stop(order, events);
        }
        self.enter(order, tick, events);
        self.fire_stops(events);
    }

    /// Trades an accepted order (a new one, or a stop just triggered) and rests what is left.
    #[inline]
    fn enter(&mut self, order: &NewOrder, tick: i64, events: &mut Vec<BookEvent>) {
        // A limit order's limit is its tick (a validated price); market and stop orders have none.
        let limit = (order.order_type.has_limit() && order.price.is_some()).then_some(tick);
        if order.tif == TimeInForce::Fok && self.available(order.side, limit, order.owner, order.qty) < order.qty {
            events.push(BookEvent::Expired { id: order.id, remaining: order.qty });
            return;
        }
        let outcome = self.match_incoming(order.id, order.side, limit, order.qty, order.owner, events);
        if outcome.taker_cancelled || outcome.remaining.0 == 0 {
            return;
        }
        match (limit, order.tif) {
            // A triggered stop-limit was checked before the ladder moved: it may no longer fit.
            (Some(_), TimeInForce::Gtc)
                if order.order_type == OrderType::StopLimit && !self.ladder(order.side).can_hold(tick) =>
            {
                events.push(BookEvent::Expired { id: order.id, remaining: outcome.remaining });
            }
            (Some(_), TimeInForce::Gtc | TimeInForce::Gtx) => {
                let slot = OrderSlot {
                    id: order.id,
                    tick,
                    remaining: outcome.remaining,
                    owner: order.owner,
                    prev: NIL,
                    next: NIL,
                    side: order.side,
                    tif: order.tif,
                    linked: false,
                };
                let slot_idx = match self.free_orders.pop() {
                    Some(free) => {
                        self.orders[free as usize] = slot;
                        free
                    }
                    None => {
                        self.orders.push(slot);
                        (self.orders.len() - 1) as u32
                    }
                };
                self.attach(slot_idx, tick);
                self.index.insert(order.id, slot_idx);
            }
            _ => events.push(BookEvent::Expired { id: order.id, remaining: outcome.remaining }),
        }
    }

    /// A stop order just accepted: it triggers now if the last trade reached it, else it waits.
    fn arm_stop(&mut self, order: &NewOrder, events: &mut Vec<BookEvent>) {
        let trigger = order.trigger.unwrap_or(Price::ZERO);
        if self.last_trade.is_some_and(|last| stops::reached(order.side, trigger, last)) {
            events.push(BookEvent::Triggered { id: order.id });
            self.enter(order, self.tick_of(order), events);
            self.fire_stops(events);
        } else {
            self.stops.insert(*order);
        }
    }

    /// The tick index of a validated order's limit price (0 without one): what `enter` rests it at.
    fn tick_of(&self, order: &NewOrder) -> i64 {
        order.price.map_or(0, |price| price.raw() / self.instrument.tick.raw())
    }

    /// Triggers the waiting stops the last trade reached, and those their own trades reach.
    #[inline]
    fn fire_stops(&mut self, events: &mut Vec<BookEvent>) {
        if !self.stops.is_empty() {
            self.fire_waiting_stops(None, events);
        }
    }

    #[inline(never)]
    fn fire_waiting_stops(&mut self, only: Option<Side>, events: &mut Vec<BookEvent>) {
        while let Some(last) = self.last_trade
            && let Some(order) = self.stops.pop_triggered(last, only)
        {
            events.push(BookEvent::Triggered { id: order.id });
            self.enter(&order, self.tick_of(&order), events);
        }
    }

    /// A trade printed at `price` outside this book (a bar's range, in bar mode): the waiting stops
    /// on `side` it reaches trigger and trade against the book as it stands, in trigger order, and
    /// the last trade price becomes `price`. Stops on the other side wait for the next trade.
    pub fn trigger_stops(&mut self, side: Side, price: Price, events: &mut Vec<BookEvent>) {
        self.last_trade = Some(price);
        if !self.stops.is_empty() {
            self.fire_waiting_stops(Some(side), events);
        }
    }

    /// Trades an incoming limit order as an auction at its own price: it takes every resting order
    /// on the other side at its price or better, best level first, and each trade prints at the
    /// order's price, not the maker's. The remainder expires whatever the order's time in force.
    /// This is how a bar's open fills the orders it gaps through: at the open, where the market
    /// was, not at their better limits. Stops the trades reach trigger after it.
    pub fn auction(&mut self, order: &NewOrder, events: &mut Vec<BookEvent>) {
        let Some(price) = order.price.filter(|_| order.order_type == OrderType::Limit) else {
            return reject(events, order.id, RejectReason::MissingPrice);
        };
        let tick = match self.validate_new(order) {
            Ok(tick) => tick,
            Err(reason) => return reject(events, order.id, reason),
        };
        events.push(BookEvent::Accepted { id: order.id });
        let mut outcome = MatchOutcome { remaining: order.qty, taker_cancelled: false };
        if self.crosses(order.side, tick) {
            outcome =
                self.match_crossing(order.id, order.side, Some(tick), order.qty, order.owner, Some(price), events);
        }
        if !outcome.taker_cancelled && outcome.remaining.0 > 0 {
            events.push(BookEvent::Expired { id: order.id, remaining: outcome.remaining });
        }
        self.fire_stops(events);
    }

    /// Cancels a resting order or a waiting stop.
    #[inline]
    pub fn cancel(&mut self, id: OrderId, events: &mut Vec<BookEvent>) {
        let Some(slot) = self.index.remove(&id) else {
            if let Some(stop) = self.stops.remove(id) {
                return events.push(BookEvent::Cancelled { id, remaining: stop.qty });
            }
            return reject(events, id, RejectReason::UnknownId);
        };
        let remaining = self.orders[slot as usize].remaining;
        self.remove_resting(slot);
        events.push(BookEvent::Cancelled { id, remaining });
    }

    /// Modifies a resting order's price and/or open quantity (see the [module docs](self) for
    /// priority), or a waiting stop's quantity.
    #[inline]
    pub fn modify(&mut self, id: OrderId, price: Option<Price>, qty: Option<Qty>, events: &mut Vec<BookEvent>) {
        let Some(&slot) = self.index.get(&id) else {
            return self.modify_stop(id, price, qty, events);
        };
        let new_tick = match self.validate_modify(price, qty) {
            Ok(tick) => tick,
            Err(reason) => return reject(events, id, reason),
        };
        let current = self.orders[slot as usize];
        let new_tick = new_tick.unwrap_or(current.tick);
        let new_price = price.unwrap_or(self.price_of(current.tick));
        let new_qty = qty.unwrap_or(current.remaining);
        if new_tick == current.tick && new_qty <= current.remaining {
            let level = self.ladder_mut(current.side).level_mut(current.tick);
            level.total.0 -= current.remaining.0 - new_qty.0;
            self.orders[slot as usize].remaining = new_qty;
            events.push(BookEvent::Modified { id, price: new_price, qty: new_qty });
            return;
        }
        if current.tif == TimeInForce::Gtx && self.crosses(current.side, new_tick) {
            return reject(events, id, RejectReason::PostOnlyWouldTake);
        }
        if !self.ladder(current.side).can_hold(new_tick) {
            return reject(events, id, RejectReason::PriceOutOfRange);
        }
        // The order keeps its slot and index entry: detached while it matches, re-attached at the tail
        // of its new level if anything is left.
        self.detach(slot);
        events.push(BookEvent::Modified { id, price: new_price, qty: new_qty });
        let outcome = self.match_incoming(id, current.side, Some(new_tick), new_qty, current.owner, events);
        if !outcome.taker_cancelled && outcome.remaining.0 > 0 {
            self.orders[slot as usize].remaining = outcome.remaining;
            self.attach(slot, new_tick);
        } else {
            self.index.remove(&id);
            self.free_orders.push(slot);
        }
        self.fire_stops(events);
    }

    /// Modifies a waiting stop: its quantity only (its prices decide when and how it trades).
    #[cold]
    fn modify_stop(&mut self, id: OrderId, price: Option<Price>, qty: Option<Qty>, events: &mut Vec<BookEvent>) {
        let Some(stop) = self.stops.get(id).copied() else {
            return reject(events, id, RejectReason::UnknownId);
        };
        if let Err(reason) = self.validate_modify(price, qty) {
            return reject(events, id, reason);
        }
        let Some(qty) = qty.filter(|_| price.is_none()) else {
            return reject(events, id, RejectReason::StopNotTriggered);
        };
        self.stops.set_qty(id, qty);
        events.push(BookEvent::Modified { id, price: stop.working_price().unwrap_or(Price::ZERO), qty });
    }

    /// The best bid level, if any.
    #[must_use]
    pub fn best_bid(&self) -> Option<LevelSummary> {
        self.bids.best_tick().map(|tick| self.summary(Side::Buy, tick))
    }

    /// The best ask level, if any.
    #[must_use]
    pub fn best_ask(&self) -> Option<LevelSummary> {
        self.asks.best_tick().map(|tick| self.summary(Side::Sell, tick))
    }

    /// Appends up to `max_levels` levels of one side to `out`, best first.
    pub fn depth(&self, side: Side, max_levels: usize, out: &mut Vec<LevelSummary>) {
        out.extend(self.ladder(side).ticks_from_best().take(max_levels).map(|tick| self.summary(side, tick)));
    }

    /// Whether an order with this id is resting.
    #[must_use]
    pub fn contains(&self, id: OrderId) -> bool {
        self.index.contains_key(&id)
    }

    /// A stop order still waiting for its trigger, if this id is one.
    #[must_use]
    pub fn waiting_stop(&self, id: OrderId) -> Option<&NewOrder> {
        self.stops.get(id)
    }

    /// The stop orders waiting for their triggers: buys, then sells, each in the order they would
    /// trigger.
    pub fn waiting_stops(&self) -> impl Iterator<Item = &NewOrder> {
        self.stops.iter()
    }

    /// The number of stop orders waiting for their triggers (not counted by [`len`](Self::len)).
    #[must_use]
    pub fn stop_count(&self) -> usize {
        self.stops.len()
    }

    /// The price of the last trade this book made or was told of ([`trigger_stops`](Self::trigger_stops)).
    #[must_use]
    pub fn last_trade(&self) -> Option<Price> {
        self.last_trade
    }

    /// A resting order, if live.
    #[must_use]
    pub fn order(&self, id: OrderId) -> Option<RestingOrderInfo> {
        self.index.get(&id).map(|&slot| {
            let order = &self.orders[slot as usize];
            RestingOrderInfo {
                id: order.id,
                side: order.side,
                price: self.price_of(order.tick),
                remaining: order.remaining,
                owner: order.owner,
            }
        })
    }

    /// The resting orders of one level, in time priority (for tests and snapshots; allocates).
    #[must_use]
    pub fn level_orders(&self, side: Side, price: Price) -> Vec<RestingOrderInfo> {
        let Some(level) = self.validate_price(price).ok().and_then(|tick| self.ladder(side).get(tick)) else {
            return Vec::new();
        };
        self.orders_of(level).filter_map(|order| self.order(order.id)).collect()
    }

    /// The number of resting orders (waiting stops are not resting: see [`stop_count`](Self::stop_count)).
    #[must_use]
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether nothing rests.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The number of price levels on each side: `(bids, asks)`.
    #[must_use]
    pub fn level_count(&self) -> (usize, usize) {
        (self.bids.len(), self.asks.len())
    }

    #[inline]
    fn ladder(&self, side: Side) -> &Ladder {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    #[inline]
    fn ladder_mut(&mut self, side: Side) -> &mut Ladder {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// Heap bytes the book holds now (capacities, not lengths): for memory reports.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        // hashbrown stores one control byte per bucket beside each entry.
        let index_bytes = self.index.capacity() * (size_of::<(OrderId, u32)>() + 1);
        self.orders.capacity() * size_of::<OrderSlot>()
            + self.free_orders.capacity() * size_of::<u32>()
            + index_bytes
            + self.bids.heap_bytes()
            + self.asks.heap_bytes()
            + self.fills.capacity() * size_of::<Fill>()
            + self.stops.heap_bytes()
    }

    /// Bytes the book needs per resting order, beyond what levels and ladders take: slab slot + index entry.
    #[must_use]
    pub fn bytes_per_order_slot() -> usize {
        size_of::<OrderSlot>() + size_of::<(OrderId, u32)>() + 1
    }

    fn summary(&self, side: Side, tick: i64) -> LevelSummary {
        let level = self.ladder(side).level(tick);
        LevelSummary { price: self.price_of(tick), qty: level.total, orders: level.count }
    }

    /// The price of a level at `tick`.
    #[inline]
    fn price_of(&self, tick: i64) -> Price {
        Price::from_raw(tick * self.instrument.tick.raw())
    }

    /// A level's orders, in time priority.
    fn orders_of<'a>(&'a self, level: &Level) -> impl Iterator<Item = &'a OrderSlot> + 'a {
        let first = (level.head != NIL).then_some(level.head);
        std::iter::successors(first.map(|slot| &self.orders[slot as usize]), move |order| {
            (order.next != NIL).then(|| &self.orders[order.next as usize])
        })
    }

    /// Checks a new order; returns its price's tick (0 for market and stop orders).
    fn validate_new(&self, order: &NewOrder) -> Result<i64, RejectReason> {
        if order.qty.0 <= 0 {
            return Err(RejectReason::QtyNotPositive);
        }
        if order.qty.0 > crate::limits::MAX_ORDER_QTY {
            return Err(RejectReason::QtyTooLarge);
        }
        let tick = match (order.order_type, order.price) {
            (OrderType::Limit | OrderType::StopLimit, None) => return Err(RejectReason::MissingPrice),
            (OrderType::Limit | OrderType::StopLimit, Some(price)) => self.validate_price(price)?,
            (OrderType::Market | OrderType::Stop, Some(_)) => return Err(RejectReason::PriceOnMarket),
            (OrderType::Market, None) if order.tif == TimeInForce::Gtx => return Err(RejectReason::PostOnlyMarket),
            (OrderType::Market | OrderType::Stop, None) => 0,
        };
        match (order.order_type.is_stop(), order.trigger) {
            (false, None) => {}
            (false, Some(_)) => return Err(RejectReason::TriggerOnNonStop),
            (true, None) => return Err(RejectReason::MissingTrigger),
            (true, Some(_)) if order.tif == TimeInForce::Gtx => return Err(RejectReason::PostOnlyStop),
            (true, Some(trigger)) => {
                self.validate_price(trigger)?;
            }
        }
        if self.index.contains_key(&order.id) || self.stops.contains(order.id) {
            return Err(RejectReason::DuplicateId);
        }
        // A post-only order with a price is a limit order here (stops were refused above): `tick` is
        // its price's.
        if order.tif == TimeInForce::Gtx && order.price.is_some() && self.crosses(order.side, tick) {
            return Err(RejectReason::PostOnlyWouldTake);
        }
        if let (OrderType::Limit, TimeInForce::Gtc | TimeInForce::Gtx) = (order.order_type, order.tif)
            && !self.ladder(order.side).can_hold(tick)
        {
            return Err(RejectReason::PriceOutOfRange);
        }
        Ok(tick)
    }

    /// Checks a modify; returns the new price's tick, if a price is given.
    fn validate_modify(&self, price: Option<Price>, qty: Option<Qty>) -> Result<Option<i64>, RejectReason> {
        if price.is_none() && qty.is_none() {
            return Err(RejectReason::NothingToModify);
        }
        if let Some(qty) = qty {
            if qty.0 <= 0 {
                return Err(RejectReason::QtyNotPositive);
            }
            if qty.0 > crate::limits::MAX_ORDER_QTY {
                return Err(RejectReason::QtyTooLarge);
            }
        }
        price.map(|price| self.validate_price(price)).transpose()
    }

    /// Checks a price; returns its tick index.
    #[inline]
    fn validate_price(&self, price: Price) -> Result<i64, RejectReason> {
        if price.raw() <= 0 {
            return Err(RejectReason::PriceNotPositive);
        }
        self.ticks.ticks(price.raw()).ok_or(RejectReason::PriceOffTick)
    }

    /// Whether an order on `side` at `tick` would take liquidity.
    #[inline]
    fn crosses(&self, side: Side, tick: i64) -> bool {
        match side {
            Side::Buy => self.asks.best_tick().is_some_and(|ask| tick >= ask),
            Side::Sell => self.bids.best_tick().is_some_and(|bid| tick <= bid),
        }
    }

    /// The quantity an order could take now, stopping early once `wanted` is reached: for FOK.
    fn available(&self, side: Side, limit: Option<i64>, owner: Option<OwnerId>, wanted: Qty) -> Qty {
        let ladder = self.ladder(side.opposite());
        let stp_owner = if self.stp == StpPolicy::None { None } else { owner };
        let mut total = 0i64;
        for tick in ladder.ticks_from_best() {
            if !limit_allows(side, limit, tick) {
                break;
            }
            let level = ladder.level(tick);
            let mut level_qty = level.total.0;
            if let Some(owner) = stp_owner {
                let own_qty = self.own_qty_at(level, owner);
                if own_qty > 0 && self.stp != StpPolicy::CancelMaker {
                    break;
                }
                level_qty -= own_qty;
            }
            total += level_qty;
            if total >= wanted.0 {
                break;
            }
        }
        Qty(total)
    }

    fn own_qty_at(&self, level: &Level, owner: OwnerId) -> i64 {
        self.orders_of(level).filter(|order| order.owner == Some(owner)).map(|order| order.remaining.0).sum()
    }

    /// Matches an incoming quantity against the opposite side, best level first.
    #[inline]
    fn match_incoming(
        &mut self,
        taker: OrderId,
        side: Side,
        limit: Option<i64>,
        qty: Qty,
        owner: Option<OwnerId>,
        events: &mut Vec<BookEvent>,
    ) -> MatchOutcome {
        // Most limit orders and moves do not reach the other side: decide that here, inlined, and
        // skip the call (the matching loop would stop at its first check all the same).
        if let Some(tick) = limit
            && !self.crosses(side, tick)
        {
            return MatchOutcome { remaining: qty, taker_cancelled: false };
        }
        self.match_crossing(taker, side, limit, qty, owner, None, events)
    }

    /// [`match_incoming`](Self::match_incoming) for an order that may trade (`limit` is its limit's
    /// tick); every trade prints at `print` when given ([`auction`](Self::auction)), else at the
    /// maker's price.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn match_crossing(
        &mut self,
        taker: OrderId,
        side: Side,
        limit: Option<i64>,
        qty: Qty,
        owner: Option<OwnerId>,
        print: Option<Price>,
        events: &mut Vec<BookEvent>,
    ) -> MatchOutcome {
        let mut remaining = qty;
        let makers = side.opposite();
        let stp_owner = if self.stp == StpPolicy::None { None } else { owner };
        while remaining.0 > 0 {
            let Some(tick) = self.ladder(makers).best_tick() else { break };
            if !limit_allows(side, limit, tick) {
                break;
            }
            if let Some(owner) = stp_owner {
                let cancel_taker = self.prevent_self_trade(makers, tick, owner, events);
                let emptied = self.ladder(makers).level(tick).count == 0;
                if emptied {
                    self.ladder_mut(makers).remove(tick);
                }
                if cancel_taker {
                    events.push(BookEvent::Cancelled { id: taker, remaining });
                    return MatchOutcome { remaining, taker_cancelled: true };
                }
                if emptied {
                    continue;
                }
            }
            let level_price = self.price_of(tick);
            self.fills.clear();
            let ladder = match makers {
                Side::Buy => &mut self.bids,
                Side::Sell => &mut self.asks,
            };
            let mut level_fills = LevelFills {
                orders: &mut self.orders,
                level: ladder.level_mut(tick),
                fills: &mut self.fills,
                budget: remaining,
                price: level_price,
            };
            self.algorithm.match_level(&mut level_fills);
            if level_fills.budget.0 > 0 && level_fills.level.total.0 > 0 {
                level_fills.fill_rest_in_time_priority();
            }
            remaining = level_fills.budget;
            self.settle_fills(taker, side, owner, print.unwrap_or(level_price), events);
            if self.ladder(makers).level(tick).count == 0 {
                self.ladder_mut(makers).remove(tick);
            }
        }
        MatchOutcome { remaining, taker_cancelled: false }
    }

    /// Turns the algorithm's allocations into trades and removes makers that filled completely.
    #[inline]
    fn settle_fills(
        &mut self,
        taker: OrderId,
        aggressor: Side,
        taker_owner: Option<OwnerId>,
        price: Price,
        events: &mut Vec<BookEvent>,
    ) {
        for fill_idx in 0..self.fills.len() {
            let fill = self.fills[fill_idx];
            let maker = self.orders[fill.slot as usize];
            events.push(BookEvent::Trade(Trade {
                price,
                qty: fill.qty,
                maker: maker.id,
                taker,
                aggressor,
                maker_owner: maker.owner,
                taker_owner,
            }));
            if maker.remaining.0 == 0 && maker.linked {
                self.index.remove(&maker.id);
                self.unlink(fill.slot);
            }
        }
        if !self.fills.is_empty() {
            self.last_trade = Some(price);
        }
    }

    /// Applies self-trade prevention at one level; returns whether the taker must be cancelled.
    #[cold]
    #[inline(never)]
    fn prevent_self_trade(&mut self, side: Side, tick: i64, owner: OwnerId, events: &mut Vec<BookEvent>) -> bool {
        let mut found = false;
        let level = self.ladder(side).level(tick);
        let mut cursor = level.head;
        while cursor != NIL {
            let order = self.orders[cursor as usize];
            if order.owner == Some(owner) {
                found = true;
                if self.stp == StpPolicy::CancelTaker {
                    break;
                }
                self.index.remove(&order.id);
                self.unlink(cursor);
                events.push(BookEvent::Cancelled { id: order.id, remaining: order.remaining });
            }
            cursor = order.next;
        }
        found && self.stp != StpPolicy::CancelMaker
    }

    /// Links a detached slot at the tail of the level at `tick` (creating the level if needed).
    ///
    /// This, `detach` and `unlink_only` are forced inline: left to the compiler they were calls out
    /// of `modify`, and their prologues and epilogues were a seventh of a command's instructions.
    #[inline(always)]
    fn attach(&mut self, slot_idx: u32, tick: i64) {
        let (side, qty) = {
            let order = &self.orders[slot_idx as usize];
            (order.side, order.remaining)
        };
        // The ladder and the slab are separate fields: the level stays borrowed while the slab changes.
        let ladder = match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let level = ladder.level_or_insert(tick);
        let tail = level.tail;
        if tail == NIL {
            level.head = slot_idx;
        } else {
            self.orders[tail as usize].next = slot_idx;
        }
        level.tail = slot_idx;
        level.count += 1;
        level.total.0 += qty.0;
        let order = &mut self.orders[slot_idx as usize];
        order.prev = tail;
        order.next = NIL;
        order.tick = tick;
        order.linked = true;
    }

    /// Removes a resting order (already gone from the index) and its level if it empties.
    #[inline]
    fn remove_resting(&mut self, slot: u32) {
        self.detach(slot);
        self.free_orders.push(slot);
    }

    /// Takes a slot out of its level (removing the level if it empties) without freeing the slot.
    #[inline(always)]
    fn detach(&mut self, slot: u32) {
        let (side, tick) = {
            let order = &self.orders[slot as usize];
            (order.side, order.tick)
        };
        if self.unlink_only(slot) {
            self.ladder_mut(side).remove(tick);
        }
    }

    /// Unlinks a slot from its level's list and frees it; the level stays even if empty.
    #[inline]
    fn unlink(&mut self, slot: u32) {
        self.unlink_only(slot);
        self.free_orders.push(slot);
    }

    /// Unlinks a slot from its level's list, the slot not freed; returns whether the level is now
    /// empty (it stays in the ladder: the caller removes it or matches on).
    #[inline(always)]
    fn unlink_only(&mut self, slot: u32) -> bool {
        let order = self.orders[slot as usize];
        debug_assert!(order.linked, "unlinking a slot that is in no level");
        let ladder = match order.side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        };
        let level = ladder.level_mut(order.tick);
        if order.prev == NIL {
            level.head = order.next;
        } else {
            self.orders[order.prev as usize].next = order.next;
        }
        if order.next == NIL {
            level.tail = order.prev;
        } else {
            self.orders[order.next as usize].prev = order.prev;
        }
        level.count -= 1;
        level.total.0 -= order.remaining.0;
        self.orders[slot as usize].linked = false;
        level.count == 0
    }
}

/// Whether an aggressor on `side` with a limit at tick `limit` may trade at a level at `tick`.
#[inline]
fn limit_allows(side: Side, limit: Option<i64>, tick: i64) -> bool {
    match (side, limit) {
        (_, None) => true,
        (Side::Buy, Some(limit)) => tick <= limit,
        (Side::Sell, Some(limit)) => tick >= limit,
    }
}

#[cold]
#[inline(never)]
fn reject(events: &mut Vec<BookEvent>, id: OrderId, reason: RejectReason) {
    events.push(BookEvent::Rejected { id, reason });
}

#[cfg(test)]
mod tests;
