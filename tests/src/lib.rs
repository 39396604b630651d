//! Shared helpers of the cross-crate tests: a naive reference matcher and random order flows.
//!
//! [`ReferenceBook`] is written to be obviously correct, not fast: resting orders sit in one `Vec` in
//! arrival order, and every match rescans it for the best price, then the earliest arrival. The
//! differential test requires the real FIFO engine to produce the identical event stream.

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
}

impl ReferenceBook {
    /// An empty book with this tick.
    #[must_use]
    pub fn new(tick: Price) -> ReferenceBook {
        ReferenceBook { tick, resting: Vec::new(), next_seq: 0 }
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
        match (order.order_type, order.price) {
            (OrderType::Limit, None) => return reject(events, RejectReason::MissingPrice),
            (OrderType::Limit, Some(price)) => {
                if let Some(reason) = self.price_error(price) {
                    return reject(events, reason);
                }
            }
            (OrderType::Market, Some(_)) => return reject(events, RejectReason::PriceOnMarket),
            (OrderType::Market, None) if order.tif == TimeInForce::Gtx => {
                return reject(events, RejectReason::PostOnlyMarket);
            }
            (OrderType::Market, None) => {}
        }
        if self.resting.iter().any(|o| o.id == order.id) {
            return reject(events, RejectReason::DuplicateId);
        }
        let limit = if order.order_type == OrderType::Limit { order.price } else { None };
        if order.tif == TimeInForce::Gtx && limit.is_some_and(|p| self.crosses(order.side, p)) {
            return reject(events, RejectReason::PostOnlyWouldTake);
        }
        events.push(BookEvent::Accepted { id: order.id });
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

    /// Cancels a resting order.
    pub fn cancel(&mut self, id: OrderId, events: &mut Vec<BookEvent>) {
        match self.resting.iter().position(|o| o.id == id) {
            Some(at) => {
                let order = self.resting.remove(at);
                events.push(BookEvent::Cancelled { id, remaining: Qty(order.qty) });
            }
            None => events.push(BookEvent::Rejected { id, reason: RejectReason::UnknownId }),
        }
    }

    /// Modifies a resting order.
    pub fn modify(&mut self, id: OrderId, price: Option<Price>, qty: Option<Qty>, events: &mut Vec<BookEvent>) {
        let Some(at) = self.resting.iter().position(|o| o.id == id) else {
            return events.push(BookEvent::Rejected { id, reason: RejectReason::UnknownId });
        };
        let reject = |events: &mut Vec<BookEvent>, reason| events.push(BookEvent::Rejected { id, reason });
        if price.is_none() && qty.is_none() {
            return reject(events, RejectReason::NothingToModify);
        }
        if qty.is_some_and(|q| q.0 <= 0) {
            return reject(events, RejectReason::QtyNotPositive);
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
            Op::New(NewOrder { id: OrderId(id), side, order_type, price, qty: Qty(qty), tif, owner: None })
        })
}

/// A random single-instrument order flow: mostly adds, with cancels and modifies of likely-live ids,
/// and a sprinkling of invalid commands.
pub fn order_flow(max_len: usize) -> impl Strategy<Value = Vec<Op>> {
    let op = prop_oneof![
        10 => new_order_strategy(),
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
