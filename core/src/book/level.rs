//! One price level's orders, in time priority, as a matching algorithm sees them.
//!
//! The book keeps each level as an intrusive doubly linked list through its order slab, so that adding
//! at the tail, cancelling from the middle and filling from the head are all O(1) with no allocation.
//! A matching algorithm never touches that list; it gets a [`LevelFills`] and calls
//! [`LevelFills::fill`], which the book turns into trades after the algorithm returns.

use crate::types::{OrderId, OwnerId, Price, Qty, Side, TimeInForce};

/// Marks "no slot": end of a list, or a free slot's level.
pub(crate) const NIL: u32 = u32::MAX;

/// A resting order in the book's slab.
///
/// It keeps its level's tick, not its price: the tick finds the level in its side's ladder with
/// one subtraction, and the price is `tick × tick size` when one is needed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OrderSlot {
    pub(crate) id: OrderId,
    /// `price / tick`: where the order rests in its side's ladder.
    pub(crate) tick: i64,
    pub(crate) remaining: Qty,
    pub(crate) owner: Option<OwnerId>,
    pub(crate) prev: u32,
    pub(crate) next: u32,
    pub(crate) side: Side,
    pub(crate) tif: TimeInForce,
    /// Whether the slot is in a level's list (false: free, or taken out while it trades).
    pub(crate) linked: bool,
}

/// A price level: totals and the ends of its time-priority list. It lives inline in its side's
/// ladder, at its tick; its price is the tick's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Level {
    pub(crate) total: Qty,
    pub(crate) count: u32,
    /// The earliest order, [`NIL`] while the level has none.
    pub(crate) head: u32,
    /// The latest order, [`NIL`] while the level has none.
    pub(crate) tail: u32,
}

impl Level {
    /// A level with no orders: what every tick of a ladder holds until an order rests there.
    pub(crate) const EMPTY: Level = Level { total: Qty(0), count: 0, head: NIL, tail: NIL };
}

/// An allocation an algorithm made: `qty` lots from the order in `slot`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fill {
    pub(crate) slot: u32,
    pub(crate) qty: Qty,
}

/// A handle on one resting order of the level being matched, valid during one `match_level` call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RestingOrder(u32);

/// The level being matched, handed to [`MatchingAlgorithm::match_level`](crate::matching::MatchingAlgorithm::match_level).
///
/// The algorithm walks the orders in time priority ([`head`](Self::head), [`next`](Self::next)) and
/// allocates quantity with [`fill`](Self::fill) until [`budget`](Self::budget) is zero or the level is
/// exhausted. `fill` clamps to what the order and the budget allow, so no algorithm can over-fill.
#[derive(Debug)]
pub struct LevelFills<'a> {
    pub(crate) orders: &'a mut [OrderSlot],
    pub(crate) level: &'a mut Level,
    pub(crate) fills: &'a mut Vec<Fill>,
    pub(crate) budget: Qty,
    pub(crate) price: Price,
}

impl LevelFills<'_> {
    /// The level's price.
    #[must_use]
    #[inline]
    pub fn price(&self) -> Price {
        self.price
    }

    /// The incoming quantity not yet allocated.
    #[must_use]
    #[inline]
    pub fn budget(&self) -> Qty {
        self.budget
    }

    /// The open quantity still resting at the level.
    #[must_use]
    #[inline]
    pub fn total_qty(&self) -> Qty {
        self.level.total
    }

    /// The number of orders at the level (including ones filled during this call).
    #[must_use]
    #[inline]
    pub fn order_count(&self) -> u32 {
        self.level.count
    }

    /// The earliest order at the level.
    #[must_use]
    #[inline]
    pub fn head(&self) -> Option<RestingOrder> {
        (self.level.head != NIL).then_some(RestingOrder(self.level.head))
    }

    /// The order after `order` in time priority.
    #[must_use]
    #[inline]
    pub fn next(&self, order: RestingOrder) -> Option<RestingOrder> {
        let next = self.orders[order.0 as usize].next;
        (next != NIL).then_some(RestingOrder(next))
    }

    /// The order's open quantity.
    #[must_use]
    #[inline]
    pub fn remaining(&self, order: RestingOrder) -> Qty {
        self.orders[order.0 as usize].remaining
    }

    /// Allocates up to `qty` lots of the incoming order to `order`; returns the lots actually allocated,
    /// clamped to the order's open quantity and to the budget.
    #[inline]
    pub fn fill(&mut self, order: RestingOrder, qty: Qty) -> Qty {
        let slot = &mut self.orders[order.0 as usize];
        let take = qty.0.min(slot.remaining.0).min(self.budget.0);
        if take <= 0 {
            return Qty(0);
        }
        slot.remaining.0 -= take;
        self.level.total.0 -= take;
        self.budget.0 -= take;
        self.fills.push(Fill { slot: order.0, qty: Qty(take) });
        Qty(take)
    }

    /// Allocates what is left of the budget in time priority.
    ///
    /// The book calls this after an algorithm that left quantity unallocated while the level still had
    /// some, so that every algorithm honours the contract "a level fills `min(budget, total)`".
    pub fn fill_rest_in_time_priority(&mut self) {
        let mut cursor = self.head();
        while let Some(order) = cursor {
            if self.budget.0 == 0 {
                break;
            }
            let remaining = self.remaining(order);
            self.fill(order, remaining);
            cursor = self.next(order);
        }
    }
}
