//! Stop orders waiting off the book for their trigger.
//!
//! A buy stop triggers when a trade prints at or above its trigger, a sell stop at or below. Each
//! side is a `Vec` kept sorted so that the next order to trigger is at its end (buys by trigger
//! descending, sells ascending; among equal triggers the earlier arrival nearer the end), so the
//! check after a trade is one comparison per side and popping is O(1). Inserting and cancelling
//! shift the vector: stops are few beside resting orders, and a trade must stay cheap.
//!
//! When both sides hold triggered orders at once (at a book's first print, or after a print from
//! outside that triggered one side only; otherwise a stop already reached triggers on arrival),
//! the earlier arrival goes first.

use std::mem::size_of;

use super::NewOrder;
use crate::types::{OrderId, Price, Qty, Side};

/// A stop order and its arrival number (for time priority among equal triggers).
#[derive(Clone, Copy, Debug)]
struct WaitingStop {
    order: NewOrder,
    seq: u64,
}

impl WaitingStop {
    fn trigger(&self) -> Price {
        self.order.trigger.unwrap_or(Price::ZERO)
    }
}

/// The waiting stops of one book.
#[derive(Debug, Default)]
pub(super) struct StopQueue {
    buys: Vec<WaitingStop>,
    sells: Vec<WaitingStop>,
    next_seq: u64,
}

/// Whether a print at `price` reaches the trigger of a stop on `side`: at or above it for a buy,
/// at or below it for a sell.
#[inline]
#[must_use]
pub fn reached(side: Side, trigger: Price, price: Price) -> bool {
    match side {
        Side::Buy => price >= trigger,
        Side::Sell => price <= trigger,
    }
}

impl StopQueue {
    /// Whether no stop waits.
    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.buys.is_empty() && self.sells.is_empty()
    }

    /// The number of waiting stops.
    pub(super) fn len(&self) -> usize {
        self.buys.len() + self.sells.len()
    }

    /// Adds a stop order (its `trigger` must be set).
    pub(super) fn insert(&mut self, order: NewOrder) {
        let entry = WaitingStop { order, seq: self.next_seq };
        self.next_seq += 1;
        let trigger = entry.trigger();
        // The new order is the latest arrival: it goes before older orders of the same trigger.
        match order.side {
            Side::Buy => {
                let at = self.buys.partition_point(|e| e.trigger() > trigger);
                self.buys.insert(at, entry);
            }
            Side::Sell => {
                let at = self.sells.partition_point(|e| e.trigger() < trigger);
                self.sells.insert(at, entry);
            }
        }
    }

    fn position(&self, id: OrderId) -> Option<(Side, usize)> {
        let find = |list: &[WaitingStop]| list.iter().position(|e| e.order.id == id);
        find(&self.buys).map(|at| (Side::Buy, at)).or_else(|| find(&self.sells).map(|at| (Side::Sell, at)))
    }

    fn list_mut(&mut self, side: Side) -> &mut Vec<WaitingStop> {
        match side {
            Side::Buy => &mut self.buys,
            Side::Sell => &mut self.sells,
        }
    }

    /// Whether a stop with this id waits.
    pub(super) fn contains(&self, id: OrderId) -> bool {
        !self.is_empty() && self.position(id).is_some()
    }

    /// A waiting stop, by id.
    pub(super) fn get(&self, id: OrderId) -> Option<&NewOrder> {
        let (side, at) = self.position(id)?;
        let list = match side {
            Side::Buy => &self.buys,
            Side::Sell => &self.sells,
        };
        Some(&list[at].order)
    }

    /// Takes a waiting stop out (cancel).
    pub(super) fn remove(&mut self, id: OrderId) -> Option<NewOrder> {
        let (side, at) = self.position(id)?;
        Some(self.list_mut(side).remove(at).order)
    }

    /// Sets a waiting stop's quantity; `false` if no stop has this id. Its priority is unchanged.
    pub(super) fn set_qty(&mut self, id: OrderId, qty: Qty) -> bool {
        let Some((side, at)) = self.position(id) else { return false };
        self.list_mut(side)[at].order.qty = qty;
        true
    }

    /// Takes the next stop a print at `price` reaches, if any, on `only` that side or on either.
    pub(super) fn pop_triggered(&mut self, price: Price, only: Option<Side>) -> Option<NewOrder> {
        fn ready(list: &[WaitingStop], side: Side, price: Price, only: Option<Side>) -> Option<&WaitingStop> {
            let next = list.last().filter(|_| only.is_none_or(|s| s == side))?;
            reached(side, next.trigger(), price).then_some(next)
        }
        let side = match (ready(&self.buys, Side::Buy, price, only), ready(&self.sells, Side::Sell, price, only)) {
            (Some(buy), Some(sell)) => {
                if buy.seq < sell.seq {
                    Side::Buy
                } else {
                    Side::Sell
                }
            }
            (Some(_), None) => Side::Buy,
            (None, Some(_)) => Side::Sell,
            (None, None) => return None,
        };
        self.list_mut(side).pop().map(|e| e.order)
    }

    /// The waiting stops: buys in trigger order, then sells in trigger order.
    pub(super) fn iter(&self) -> impl Iterator<Item = &NewOrder> {
        self.buys.iter().rev().chain(self.sells.iter().rev()).map(|e| &e.order)
    }

    /// Heap bytes held (capacities).
    pub(super) fn heap_bytes(&self) -> usize {
        (self.buys.capacity() + self.sells.capacity()) * size_of::<WaitingStop>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{OrderType, TimeInForce};

    fn stop(id: u64, side: Side, trigger: &str) -> NewOrder {
        NewOrder {
            id: OrderId(id),
            side,
            order_type: OrderType::Stop,
            price: None,
            trigger: Some(trigger.parse().unwrap()),
            qty: Qty(1),
            tif: TimeInForce::Gtc,
            owner: None,
        }
    }

    fn drain(queue: &mut StopQueue, price: &str, only: Option<Side>) -> Vec<u64> {
        let price = price.parse().unwrap();
        std::iter::from_fn(|| queue.pop_triggered(price, only)).map(|o| o.id.0).collect()
    }

    #[test]
    fn buys_trigger_lowest_first_and_ties_by_arrival() {
        let mut queue = StopQueue::default();
        for (id, trigger) in [(1, "102"), (2, "101"), (3, "102"), (4, "105")] {
            queue.insert(stop(id, Side::Buy, trigger));
        }
        assert!(drain(&mut queue, "100.99", None).is_empty());
        assert_eq!(drain(&mut queue, "102", None), [2, 1, 3]);
        assert_eq!(queue.len(), 1);
    }

    #[test]
    fn sells_trigger_highest_first() {
        let mut queue = StopQueue::default();
        for (id, trigger) in [(1, "98"), (2, "99"), (3, "97")] {
            queue.insert(stop(id, Side::Sell, trigger));
        }
        assert_eq!(drain(&mut queue, "98", None), [2, 1]);
        assert_eq!(queue.iter().map(|o| o.id.0).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn both_sides_reached_go_by_arrival_and_a_side_filter_holds_the_other() {
        let mut queue = StopQueue::default();
        queue.insert(stop(1, Side::Sell, "101"));
        queue.insert(stop(2, Side::Buy, "99"));
        queue.insert(stop(3, Side::Sell, "100"));
        assert_eq!(drain(&mut queue, "100", Some(Side::Buy)), [2]);
        let mut again = StopQueue::default();
        again.insert(stop(1, Side::Sell, "101"));
        again.insert(stop(2, Side::Buy, "99"));
        again.insert(stop(3, Side::Sell, "100"));
        // Sell 1 (first to arrive) and buy 2 are both at the ends; 1 goes first. Sells go best
        // trigger first, so 1 (101) before 3 (100).
        assert_eq!(drain(&mut again, "100", None), [1, 2, 3]);
    }

    #[test]
    fn remove_and_set_qty_find_either_side() {
        let mut queue = StopQueue::default();
        queue.insert(stop(1, Side::Sell, "98"));
        queue.insert(stop(2, Side::Buy, "102"));
        assert!(queue.set_qty(OrderId(2), Qty(5)));
        assert_eq!(queue.get(OrderId(2)).map(|o| o.qty), Some(Qty(5)));
        assert_eq!(queue.remove(OrderId(1)).map(|o| o.id), Some(OrderId(1)));
        assert!(!queue.contains(OrderId(1)));
        assert!(!queue.set_qty(OrderId(9), Qty(1)));
    }
}
