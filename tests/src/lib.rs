//! Shared helpers of the cross-crate tests: a naive reference matcher and random order flows.
//!
//! [`ReferenceBook`] is written to be obviously correct, not fast: resting orders sit in one `Vec` in
//! arrival order, and every match rescans it for the best price, then the earliest arrival. The
//! differential test requires the real FIFO engine to produce the identical event stream. Stop
//! orders wait in another `Vec` in arrival order; after every trade the whole list is rescanned
//! for the next one the last trade reached.

#![deny(unsafe_code)]

use proptest::prelude::*;
use tradsys_core::book::{BookEvent, NewOrder, RejectReason, Trade};
use tradsys_core::types::{OrderId, OrderType, OwnerId, Price, Qty, Side, TimeInForce};

/// One resting order of the reference book.
#[derive(Clone, Copy, Debug)]
struct RefOrder {
    id: OrderId,
    side: Side,
    price: Price,
    qty: i64,
    owner: Option<OwnerId>,
    tif: TimeInForce,
    seq: u64,
}

/// A price-time order book as simple as it can be (no self-trade prevention).
#[derive(Debug)]
pub struct ReferenceBook {
    tick: Price,
    resting: Vec<RefOrder>,
    next_seq: u64,
    /// Stop orders waiting for their trigger, in arrival order.
    stops: Vec<NewOrder>,
    last: Option<Price>,
}

/// Whether a trade at `price` reaches the trigger of a stop on `side`.
fn reached(side: Side, trigger: Price, price: Price) -> bool {
    match side {
        Side::Buy => price >= trigger,
        Side::Sell => price <= trigger,
    }
}

impl ReferenceBook {
    /// An empty book with this tick.
    #[must_use]
    pub fn new(tick: Price) -> ReferenceBook {
        ReferenceBook { tick, resting: Vec::new(), next_seq: 0, stops: Vec::new(), last: None }
    }

    /// The next stop the last trade reached: per side the nearest trigger (the lowest buy, the
    /// highest sell), then the earliest arrival; between the two sides, the earlier arrival.
    fn next_triggered(&self) -> Option<usize> {
        let last = self.last?;
        let best = |side: Side| {
            self.stops
                .iter()
                .enumerate()
                .filter(|(_, o)| o.side == side && reached(side, o.trigger.unwrap(), last))
                .min_by_key(|(at, o)| {
                    let trigger = o.trigger.unwrap().raw();
                    (if side == Side::Buy { trigger } else { -trigger }, *at)
                })
                .map(|(at, _)| at)
        };
        match (best(Side::Buy), best(Side::Sell)) {
            (Some(buy), Some(sell)) => Some(buy.min(sell)),
            (one, other) => one.or(other),
        }
    }

    /// Triggers stops until none is reached.
    fn fire(&mut self, events: &mut Vec<BookEvent>) {
        while let Some(at) = self.next_triggered() {
            let order = self.stops.remove(at);
            events.push(BookEvent::Triggered { id: order.id });
            self.enter(&order, events);
        }
    }

    fn price_error(&self, price: Price) -> Option<RejectReason> {
        if price.raw() <= 0 {
            return Some(RejectReason::PriceNotPositive);
        }
        if price.raw() % self.tick.raw() != 0 {
            return Some(RejectReason::PriceOffTick);
        }
        None
    }

    fn crosses(&self, side: Side, price: Price) -> bool {
        self.resting.iter().any(|o| {
            o.side != side
                && match side {
                    Side::Buy => price >= o.price,
                    Side::Sell => price <= o.price,
                }
        })
    }

    fn can_trade_with(side: Side, limit: Option<Price>, maker_price: Price) -> bool {
        match (side, limit) {
            (_, None) => true,
            (Side::Buy, Some(limit)) => maker_price <= limit,
            (Side::Sell, Some(limit)) => maker_price >= limit,
        }
    }

    /// Submits a new order.
    pub fn submit(&mut self, order: &NewOrder, events: &mut Vec<BookEvent>) {
        let reject = |events: &mut Vec<BookEvent>, reason| events.push(BookEvent::Rejected { id: order.id, reason });
        if order.qty.0 <= 0 {
            return reject(events, RejectReason::QtyNotPositive);
        }
        let stop = matches!(order.order_type, OrderType::Stop | OrderType::StopLimit);
        let limited = matches!(order.order_type, OrderType::Limit | OrderType::StopLimit);
        match (limited, order.price) {
            (true, None) => return reject(events, RejectReason::MissingPrice),
            (true, Some(price)) => {
                if let Some(reason) = self.price_error(price) {
                    return reject(events, reason);
                }
            }
            (false, Some(_)) => return reject(events, RejectReason::PriceOnMarket),
            (false, None) if !stop && order.tif == TimeInForce::Gtx => {
                return reject(events, RejectReason::PostOnlyMarket);
            }
            (false, None) => {}
        }
        match (stop, order.trigger) {
            (false, None) => {}
            (false, Some(_)) => return reject(events, RejectReason::TriggerOnNonStop),
            (true, None) => return reject(events, RejectReason::MissingTrigger),
            (true, Some(_)) if order.tif == TimeInForce::Gtx => return reject(events, RejectReason::PostOnlyStop),
            (true, Some(trigger)) => {
                if let Some(reason) = self.price_error(trigger) {
                    return reject(events, reason);
                }
            }
        }
        if self.resting.iter().any(|o| o.id == order.id) || self.stops.iter().any(|o| o.id == order.id) {
            return reject(events, RejectReason::DuplicateId);
        }
        let limit = if order.order_type == OrderType::Limit { order.price } else { None };
        if order.tif == TimeInForce::Gtx && limit.is_some_and(|p| self.crosses(order.side, p)) {
            return reject(events, RejectReason::PostOnlyWouldTake);
        }
        events.push(BookEvent::Accepted { id: order.id });
        if stop {
            if self.last.is_some_and(|last| reached(order.side, order.trigger.unwrap(), last)) {
                events.push(BookEvent::Triggered { id: order.id });
                self.enter(order, events);
            } else {
                self.stops.push(*order);
            }
        } else {
            self.enter(order, events);
        }
        self.fire(events);
    }

    /// Trades an accepted order (or a triggered stop) and rests what is left.
    fn enter(&mut self, order: &NewOrder, events: &mut Vec<BookEvent>) {
        let limited = matches!(order.order_type, OrderType::Limit | OrderType::StopLimit);
        let limit = if limited { order.price } else { None };
        if order.tif == TimeInForce::Fok {
            let available: i64 = self
                .resting
                .iter()
                .filter(|o| o.side != order.side && Self::can_trade_with(order.side, limit, o.price))
                .map(|o| o.qty)
                .sum();
            if available < order.qty.0 {
                events.push(BookEvent::Expired { id: order.id, remaining: order.qty });
                return;
            }
        }
        let remaining = self.take(order.id, order.side, limit, order.qty.0, order.owner, events);
        if remaining == 0 {
            return;
        }
        match (limit, order.tif) {
            (Some(price), TimeInForce::Gtc | TimeInForce::Gtx) => {
                self.rest(order.id, order.side, price, remaining, order.owner, order.tif);
            }
            _ => events.push(BookEvent::Expired { id: order.id, remaining: Qty(remaining) }),
        }
    }

    /// Cancels a resting order or a waiting stop.
    pub fn cancel(&mut self, id: OrderId, events: &mut Vec<BookEvent>) {
        if let Some(at) = self.resting.iter().position(|o| o.id == id) {
            let order = self.resting.remove(at);
            events.push(BookEvent::Cancelled { id, remaining: Qty(order.qty) });
        } else if let Some(at) = self.stops.iter().position(|o| o.id == id) {
            let order = self.stops.remove(at);
            events.push(BookEvent::Cancelled { id, remaining: order.qty });
        } else {
            events.push(BookEvent::Rejected { id, reason: RejectReason::UnknownId });
        }
    }

    /// Modifies a resting order, or a waiting stop's quantity.
    pub fn modify(&mut self, id: OrderId, price: Option<Price>, qty: Option<Qty>, events: &mut Vec<BookEvent>) {
        let reject = |events: &mut Vec<BookEvent>, reason| events.push(BookEvent::Rejected { id, reason });
        let waiting = self.stops.iter().position(|o| o.id == id);
        let Some(at) = self.resting.iter().position(|o| o.id == id) else {
            let Some(stop_at) = waiting else { return reject(events, RejectReason::UnknownId) };
            if let Some(reason) = Self::modify_error(price, qty).or_else(|| price.and_then(|p| self.price_error(p))) {
                return reject(events, reason);
            }
            let (None, Some(qty)) = (price, qty) else { return reject(events, RejectReason::StopNotTriggered) };
            let stop = &mut self.stops[stop_at];
            stop.qty = qty;
            let shown = stop.price.or(stop.trigger).unwrap();
            return events.push(BookEvent::Modified { id, price: shown, qty });
        };
        if let Some(reason) = Self::modify_error(price, qty) {
            return reject(events, reason);
        }
        if let Some(reason) = price.and_then(|p| self.price_error(p)) {
            return reject(events, reason);
        }
        let current = self.resting[at];
        let new_price = price.unwrap_or(current.price);
        let new_qty = qty.map_or(current.qty, |q| q.0);
        if new_price == current.price && new_qty <= current.qty {
            self.resting[at].qty = new_qty;
            events.push(BookEvent::Modified { id, price: new_price, qty: Qty(new_qty) });
            return;
        }
        if current.tif == TimeInForce::Gtx && self.crosses(current.side, new_price) {
            return reject(events, RejectReason::PostOnlyWouldTake);
        }
        self.resting.remove(at);
        events.push(BookEvent::Modified { id, price: new_price, qty: Qty(new_qty) });
        let remaining = self.take(id, current.side, Some(new_price), new_qty, current.owner, events);
        if remaining > 0 {
            self.rest(id, current.side, new_price, remaining, current.owner, current.tif);
        }
        self.fire(events);
    }

    fn modify_error(price: Option<Price>, qty: Option<Qty>) -> Option<RejectReason> {
        if price.is_none() && qty.is_none() {
            return Some(RejectReason::NothingToModify);
        }
        qty.is_some_and(|q| q.0 <= 0).then_some(RejectReason::QtyNotPositive)
    }

    /// Matches against the best price, then the earliest arrival, one maker at a time.
    fn take(
        &mut self,
        taker: OrderId,
        side: Side,
        limit: Option<Price>,
        mut qty: i64,
        owner: Option<OwnerId>,
        events: &mut Vec<BookEvent>,
    ) -> i64 {
        while qty > 0 {
            let best = self
                .resting
                .iter()
                .enumerate()
                .filter(|(_, o)| o.side != side && Self::can_trade_with(side, limit, o.price))
                .min_by_key(|(_, o)| (if side == Side::Buy { o.price.raw() } else { -o.price.raw() }, o.seq))
                .map(|(at, _)| at);
            let Some(at) = best else { break };
            let maker = self.resting[at];
            let traded = qty.min(maker.qty);
            events.push(BookEvent::Trade(Trade {
                price: maker.price,
                qty: Qty(traded),
                maker: maker.id,
                taker,
                aggressor: side,
                maker_owner: maker.owner,
                taker_owner: owner,
            }));
            qty -= traded;
            self.last = Some(maker.price);
            if traded == maker.qty {
                self.resting.remove(at);
            } else {
                self.resting[at].qty -= traded;
            }
        }
        qty
    }

    fn rest(&mut self, id: OrderId, side: Side, price: Price, qty: i64, owner: Option<OwnerId>, tif: TimeInForce) {
        self.resting.push(RefOrder { id, side, price, qty, owner, tif, seq: self.next_seq });
        self.next_seq += 1;
    }
}

/// One step of a random order flow against a single book.
#[derive(Clone, Copy, Debug)]
pub enum Op {
    /// A new order.
    New(NewOrder),
    /// A cancel.
    Cancel(OrderId),
    /// A modify.
    Modify(OrderId, Option<Price>, Option<Qty>),
}

/// Tick of the random flows' instrument (0.01, the undeclared default).
pub const TICK_RAW: i64 = 1_000_000;

fn price_strategy() -> impl Strategy<Value = Price> {
    prop_oneof![
        20 => (9_990i64..=10_010).prop_map(|ticks| Price::from_raw(ticks * TICK_RAW)),
        1 => (-2i64..=2).prop_map(|ticks| Price::from_raw(ticks * TICK_RAW)),
        1 => (9_990i64..=10_010).prop_map(|ticks| Price::from_raw(ticks * TICK_RAW + TICK_RAW / 2)),
    ]
}

fn new_order_strategy() -> impl Strategy<Value = Op> {
    (
        0u64..60,
        prop_oneof![Just(Side::Buy), Just(Side::Sell)],
        prop_oneof![12 => Just(OrderType::Limit), 1 => Just(OrderType::Market)],
        prop_oneof![8 => price_strategy().prop_map(Some), 1 => Just(None)],
        prop_oneof![20 => 1i64..30, 1 => -1i64..=0],
        prop_oneof![
            8 => Just(TimeInForce::Gtc),
            2 => Just(TimeInForce::Ioc),
            2 => Just(TimeInForce::Fok),
            2 => Just(TimeInForce::Gtx)
        ],
    )
        .prop_map(|(id, side, order_type, price, qty, tif)| {
            // Market orders mostly come without a price; a priced one is a deliberate reject case.
            let price = if order_type == OrderType::Market && id % 4 != 0 { None } else { price };
            Op::New(NewOrder {
                id: OrderId(id),
                side,
                order_type,
                price,
                trigger: None,
                qty: Qty(qty),
                tif,
                owner: None,
            })
        })
}

/// New orders of every type: stops and stop-limits with triggers around the prices, and a few
/// with a trigger missing or out of place.
fn new_order_with_stops_strategy() -> impl Strategy<Value = Op> {
    (
        new_order_strategy(),
        prop_oneof![4 => Just(OrderType::Limit), 1 => Just(OrderType::Market), 3 => Just(OrderType::Stop), 3 => Just(OrderType::StopLimit)],
        prop_oneof![10 => price_strategy().prop_map(Some), 1 => Just(None)],
    )
        .prop_map(|(op, order_type, trigger)| {
            let Op::New(mut order) = op else { return op };
            order.order_type = order_type;
            let stop = matches!(order_type, OrderType::Stop | OrderType::StopLimit);
            // A trigger on a limit or market order, or none on a stop, only now and then.
            order.trigger = if stop || order.id.0 % 7 == 0 { trigger } else { None };
            if order_type == OrderType::Stop && order.id.0 % 5 != 0 {
                order.price = None;
            }
            if order_type == OrderType::StopLimit && order.price.is_none() && order.id.0 % 5 != 0 {
                order.price = trigger;
            }
            Op::New(order)
        })
}

/// A random single-instrument order flow: mostly adds, with cancels and modifies of likely-live ids,
/// and a sprinkling of invalid commands.
pub fn order_flow(max_len: usize) -> impl Strategy<Value = Vec<Op>> {
    flow_of(new_order_strategy().boxed(), max_len)
}

/// As [`order_flow`], with stop and stop-limit orders among the new ones.
pub fn order_flow_with_stops(max_len: usize) -> impl Strategy<Value = Vec<Op>> {
    flow_of(new_order_with_stops_strategy().boxed(), max_len)
}

fn flow_of(new_order: BoxedStrategy<Op>, max_len: usize) -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        10 => new_order,
        2 => (0u64..60).prop_map(|id| Op::Cancel(OrderId(id))),
        3 => (
            0u64..60,
            prop_oneof![2 => price_strategy().prop_map(Some), 1 => Just(None)],
            prop_oneof![2 => (1i64..30).prop_map(|q| Some(Qty(q))), 1 => Just(None), 1 => Just(Some(Qty(0)))]
        )
            .prop_map(|(id, price, qty)| Op::Modify(OrderId(id), price, qty)),
    ];
    proptest::collection::vec(op, 1..max_len)
}

/// Owners for self-trade prevention flows: one of four, or none.
pub fn with_owners(ops: Vec<Op>, owners: &[u8]) -> Vec<Op> {
    ops.into_iter()
        .zip(owners.iter().cycle())
        .map(|(op, owner)| match op {
            Op::New(mut order) => {
                order.owner = OwnerId::new(u32::from(*owner % 5));
                Op::New(order)
            }
            other => other,
        })
        .collect()
}

pub mod probe;
