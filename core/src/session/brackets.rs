//! Brackets: exits the session places for an entry once it is done, one-cancels-the-other.
//!
//! A strategy submits an entry with [`BracketExits`](crate::component::BracketExits); the session
//! keeps a [`BracketState`] beside the strategy's orders. While the entry fills, the state counts
//! the lots. When the entry is done (filled, or cancelled, expired or rejected), the exits are
//! placed for the lots that filled, straight to the venue (not at the next bar's open: in bar mode
//! they take part in the rest of the bar), or reported cancelled if nothing filled. Each lot one
//! exit fills is taken off the other; the other is cancelled when nothing is left of it.

use super::strategies::Callback;
use super::{Session, SessionObserver};
use crate::component::{ClientOrderId, OrderRequest, OrderStatus, OrderUpdate};
use crate::matching::MatchingAlgorithm;
use crate::orderflow::OrderCommand;
use crate::types::{InstrumentId, Price, Qty, Side, TimeInForce};

/// One exit of a bracket: its id, its price, the lots it filled, and whether it still works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Exit {
    pub(super) id: ClientOrderId,
    pub(super) price: Price,
    filled: i64,
    live: bool,
}

impl Exit {
    pub(super) fn new(id: ClientOrderId, price: Price) -> Exit {
        Exit { id, price, filled: 0, live: true }
    }
}

/// Which exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leg {
    StopLoss,
    TakeProfit,
}

/// A bracket of one strategy: its entry, the lots filled so far, and its exits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct BracketState {
    pub(super) entry: ClientOrderId,
    pub(super) instrument: InstrumentId,
    /// The exits' side: the other side of the entry.
    pub(super) exit_side: Side,
    pub(super) filled: i64,
    /// Whether the entry is done and the exits were placed.
    pub(super) placed: bool,
    pub(super) stop_loss: Option<Exit>,
    pub(super) take_profit: Option<Exit>,
}

impl BracketState {
    fn exit(&self, leg: Leg) -> Option<Exit> {
        match leg {
            Leg::StopLoss => self.stop_loss,
            Leg::TakeProfit => self.take_profit,
        }
    }

    fn exit_mut(&mut self, leg: Leg) -> &mut Option<Exit> {
        match leg {
            Leg::StopLoss => &mut self.stop_loss,
            Leg::TakeProfit => &mut self.take_profit,
        }
    }

    /// Which exit `id` is, if it is one of this bracket's placed exits.
    fn leg_of(&self, id: ClientOrderId) -> Option<Leg> {
        if !self.placed {
            return None;
        }
        [Leg::StopLoss, Leg::TakeProfit].into_iter().find(|&leg| self.exit(leg).is_some_and(|e| e.id == id))
    }

    /// Whether nothing of it works any more.
    fn finished(&self) -> bool {
        self.placed && !self.stop_loss.is_some_and(|e| e.live) && !self.take_profit.is_some_and(|e| e.live)
    }
}

fn other(leg: Leg) -> Leg {
    match leg {
        Leg::StopLoss => Leg::TakeProfit,
        Leg::TakeProfit => Leg::StopLoss,
    }
}

impl<M: MatchingAlgorithm> Session<M> {
    /// An order of strategy `index` filled `qty` lots: an entry counts them, an exit takes them off
    /// its sibling.
    pub(super) fn bracket_fill(
        &mut self,
        index: usize,
        client: ClientOrderId,
        qty: Qty,
        observer: &mut dyn SessionObserver,
    ) {
        let brackets = &mut self.strategies[index].brackets;
        if brackets.is_empty() {
            return;
        }
        if let Some(bracket) = brackets.iter_mut().find(|b| b.entry == client) {
            bracket.filled += qty.0;
            return;
        }
        let Some((at, leg)) = brackets.iter().enumerate().find_map(|(at, b)| Some((at, b.leg_of(client)?))) else {
            return;
        };
        if let Some(exit) = brackets[at].exit_mut(leg) {
            exit.filled += qty.0;
        }
        let bracket = brackets[at];
        let Some(sibling) = bracket.exit(other(leg)).filter(|e| e.live) else { return };
        let Some(open) = self.strategies[index].open.iter_mut().find(|o| o.id == sibling.id) else { return };
        let left = open.remaining.0 - qty.0;
        let venue = super::orders::venue_id(sibling.id);
        let instrument = Some(bracket.instrument);
        if left > 0 {
            open.remaining = Qty(left);
            self.execute(&OrderCommand::Modify { instrument, id: venue, price: None, qty: Some(Qty(left)) }, observer);
        } else {
            self.execute(&OrderCommand::Cancel { instrument, id: venue }, observer);
        }
    }

    /// An order of strategy `index` is done (filled, cancelled, expired or rejected): an entry's
    /// exits are placed or dropped; an exit stops working, and the bracket ends with its last.
    pub(super) fn bracket_done(&mut self, index: usize, client: ClientOrderId, observer: &mut dyn SessionObserver) {
        let brackets = &mut self.strategies[index].brackets;
        if brackets.is_empty() {
            return;
        }
        if let Some(at) = brackets.iter().position(|b| b.entry == client && !b.placed) {
            brackets[at].placed = true;
            let bracket = brackets[at];
            if bracket.filled > 0 {
                self.place_exits(index, &bracket, observer);
            } else {
                for exit in [bracket.stop_loss, bracket.take_profit].into_iter().flatten() {
                    let update = OrderUpdate { order: exit.id, status: OrderStatus::Cancelled, remaining: Qty(0) };
                    self.call_strategy(index, Callback::Update(&update), observer);
                }
            }
        } else if let Some((at, leg)) = brackets.iter().enumerate().find_map(|(at, b)| Some((at, b.leg_of(client)?)))
            && let Some(exit) = brackets[at].exit_mut(leg)
        {
            exit.live = false;
        }
        self.strategies[index].brackets.retain(|b| !b.finished());
    }

    /// Places a done entry's exits for the lots it filled. The stop-loss goes first; if it
    /// triggers and fills at once (the market is already past it), the take-profit is placed for
    /// what is left, or reported cancelled when nothing is.
    fn place_exits(&mut self, index: usize, bracket: &BracketState, observer: &mut dyn SessionObserver) {
        let entry = bracket.entry;
        if let Some(exit) = bracket.stop_loss {
            let request = OrderRequest::stop(bracket.instrument, bracket.exit_side, exit.price, Qty(bracket.filled));
            self.submit(index, exit.id, request, false, observer);
        }
        let Some(exit) = bracket.take_profit else { return };
        let stopped = self.strategies[index]
            .brackets
            .iter()
            .find(|b| b.entry == entry)
            .and_then(|b| b.stop_loss)
            .map_or(0, |e| e.filled);
        let left = bracket.filled - stopped;
        if left > 0 {
            let request =
                OrderRequest::limit(bracket.instrument, bracket.exit_side, exit.price, Qty(left), TimeInForce::Gtc);
            self.submit(index, exit.id, request, false, observer);
        } else {
            if let Some(b) = self.strategies[index].brackets.iter_mut().find(|b| b.entry == entry)
                && let Some(take) = b.take_profit.as_mut()
            {
                take.live = false;
            }
            let update = OrderUpdate { order: exit.id, status: OrderStatus::Cancelled, remaining: Qty(0) };
            self.call_strategy(index, Callback::Update(&update), observer);
        }
    }
}
