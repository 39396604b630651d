//! Orders: strategies' queued intents become venue commands, and what the venue did is booked.
//!
//! [`Session::execute`] is the one way the session sends a command to the matching engine: the
//! command runs under the matching slot's meter (contained there, since the algorithm's
//! `match_level` runs inside it), and its events are settled into market data, fills and order
//! updates. A panic inside the engine ends the run: a book the panic left half-updated is never
//! matched against again.

use super::brackets::{BracketState, Exit};
use super::strategies::{Callback, Halt, HaltReason};
use super::{Activity, Session, SessionError, SessionObserver};
use crate::book::{BookEvent, NewOrder, OrderBook};
use crate::boundary::Call;
use crate::capability::PermissionDenied;
use crate::component::{ClientOrderId, FeedData, FillReport, OpenOrder, OrderRequest, OrderStatus, OrderUpdate};
use crate::engine::MatchingEngine;
use crate::factory::{FailureCause, InvokeError};
use crate::market::TradeTick;
use crate::matching::MatchingAlgorithm;
use crate::orderflow::OrderCommand;
use crate::session::portfolio::{RoundTrip, commission};
use crate::types::{InstrumentId, OrderId, Price, Qty, Side};

/// Venue ids of strategy orders: `STRATEGY_ORDER_BASE + client id`, far above replayed ids.
pub(super) const STRATEGY_ORDER_BASE: u64 = 1 << 62;
/// Venue ids of the bar-mode liquidity orders.
pub(super) const LIQUIDITY_ORDER_BASE: u64 = 1 << 63;
/// Rounds of callbacks an event may trigger (fill → order → fill ...) before the rest waits.
const MAX_INTENT_ROUNDS: usize = 16;

/// Whether a venue id is in the range of strategy orders.
#[inline]
pub(super) fn is_strategy_order(id: OrderId) -> bool {
    (STRATEGY_ORDER_BASE..LIQUIDITY_ORDER_BASE).contains(&id.0)
}

/// The venue id of a strategy's order.
#[inline]
pub(super) fn venue_id(client: ClientOrderId) -> OrderId {
    OrderId(STRATEGY_ORDER_BASE + client.0)
}

/// A strategy action queued during a callback, applied after it returns.
#[derive(Clone, Copy, Debug)]
pub(super) enum Intent {
    Submit {
        strategy: u32,
        client: ClientOrderId,
        request: OrderRequest,
    },
    Cancel {
        strategy: u32,
        client: ClientOrderId,
    },
    /// An entry's exits, to place once it is done; queued before the entry itself.
    Bracket {
        strategy: u32,
        entry: ClientOrderId,
        instrument: InstrumentId,
        entry_side: Side,
        stop_loss: Option<Exit>,
        take_profit: Option<Exit>,
    },
    /// An order its strategy was not allowed to submit: it is rejected by the session.
    Refuse {
        strategy: u32,
        client: ClientOrderId,
        qty: Qty,
        denied: PermissionDenied,
    },
}

impl Intent {
    /// The index of the strategy that queued it.
    pub(super) fn strategy(&self) -> u32 {
        match self {
            Intent::Submit { strategy, .. }
            | Intent::Cancel { strategy, .. }
            | Intent::Bracket { strategy, .. }
            | Intent::Refuse { strategy, .. } => *strategy,
        }
    }
}

impl<M: MatchingAlgorithm> Session<M> {
    /// Sends one command to the venue and books what it did; returns the instrument it concerned.
    ///
    /// The command runs under the matching slot's meter: a panic inside it fails the matching
    /// component and ends the run ([`SessionError::Matching`]); so does a book that cannot be opened.
    #[inline]
    pub(super) fn execute(
        &mut self,
        command: &OrderCommand,
        observer: &mut dyn SessionObserver,
    ) -> Option<InstrumentId> {
        self.on_engine(observer, |engine, events| engine.execute(command, events))
    }

    /// Runs `work` on one instrument's book, under the matching slot's meter like
    /// [`execute`](Self::execute), and books what it did: the bar-mode venue's auctions and stop
    /// triggers, which are not commands of an order flow.
    pub(super) fn in_book(
        &mut self,
        instrument: InstrumentId,
        observer: &mut dyn SessionObserver,
        work: impl FnOnce(&mut OrderBook<M>, &mut Vec<BookEvent>),
    ) {
        self.on_engine(observer, |engine, events| {
            let book = engine.book_mut(instrument)?;
            work(book, events);
            Some(instrument)
        });
    }

    /// Runs `work` on the engine under the matching slot's meter and settles its events.
    #[inline]
    fn on_engine(
        &mut self,
        observer: &mut dyn SessionObserver,
        work: impl FnOnce(&mut MatchingEngine<M>, &mut Vec<BookEvent>) -> Option<InstrumentId>,
    ) -> Option<InstrumentId> {
        let mut events = std::mem::take(&mut self.book_events);
        events.clear();
        let Session { assembly, engine, matching_slot, .. } = self;
        let result = assembly.slot_mut(*matching_slot).meter_call(Call::Execute, || work(engine, &mut events));
        let instrument = match result {
            Ok(instrument) => instrument,
            Err(InvokeError::Panicked(panicked)) => {
                self.end_by_matching(FailureCause::from(*panicked));
                None
            }
            // Already failed: the run is ending; nothing reaches the books any more.
            Err(InvokeError::NotRunning) => None,
        };
        if let Some(reason) = self.engine.take_fault() {
            self.end_by_matching(FailureCause::Refused { call: Call::Build, message: reason });
        }
        if let Some(instrument) = instrument {
            self.size_market(instrument);
            self.settle(instrument, &events, observer);
        }
        self.book_events = events;
        instrument
    }

    #[cold]
    fn end_by_matching(&mut self, cause: FailureCause) {
        let slot = self.assembly.slot_mut(self.matching_slot);
        slot.fail(cause.clone());
        if self.ended.is_none() {
            self.ended = Some(SessionError::Matching {
                component: slot.component().clone(),
                plugin: slot.label().to_owned(),
                cause,
            });
        }
    }

    /// Applies queued strategy actions, round after round, until none are left (bounded).
    #[inline]
    pub(super) fn drain_intents(&mut self, observer: &mut dyn SessionObserver) {
        // Most events queue nothing: check here, inlined, before paying for the call.
        if !self.intents.is_empty() {
            self.drain_queued_intents(observer);
        }
    }

    #[inline(never)]
    fn drain_queued_intents(&mut self, observer: &mut dyn SessionObserver) {
        for _ in 0..MAX_INTENT_ROUNDS {
            if self.intents.is_empty() {
                return;
            }
            let batch = std::mem::take(&mut self.intents);
            for intent in &batch {
                match *intent {
                    Intent::Submit { .. } if self.mode == FeedData::Bars => self.pending.push(*intent),
                    _ => self.apply_intent(*intent, observer),
                }
            }
            if self.intents.is_empty() {
                self.intents = batch;
                self.intents.clear();
            }
        }
        if !self.intents.is_empty() {
            tracing::warn!(
                left = self.intents.len(),
                "strategy callbacks kept producing orders; the rest waits for the next event"
            );
        }
    }

    pub(super) fn apply_intent(&mut self, intent: Intent, observer: &mut dyn SessionObserver) {
        match intent {
            Intent::Cancel { strategy, client } => {
                let open = &self.strategies[strategy as usize].open;
                let Some(instrument) = open.iter().find(|o| o.id == client).map(|o| o.instrument) else { return };
                let cancel = OrderCommand::Cancel { instrument: Some(instrument), id: venue_id(client) };
                self.execute(&cancel, observer);
                self.refresh_top(instrument);
            }
            Intent::Submit { strategy, client, request } => {
                self.submit(strategy as usize, client, request, true, observer);
            }
            Intent::Bracket { strategy, entry, instrument, entry_side, stop_loss, take_profit } => {
                self.strategies[strategy as usize].brackets.push(BracketState {
                    entry,
                    instrument,
                    exit_side: entry_side.opposite(),
                    filled: 0,
                    placed: false,
                    stop_loss,
                    take_profit,
                });
            }
            Intent::Refuse { strategy, client, qty, denied } => {
                self.strategies[strategy as usize].orders += 1;
                self.reject(strategy as usize, client, qty, "session", denied.to_string(), observer);
            }
        }
    }

    /// Buying power and the risk chain, then the venue. In bar mode, an order a strategy decided
    /// meets the venue's quote at the open (`at_open`); a bracket's exits are placed without it.
    pub(super) fn submit(
        &mut self,
        index: usize,
        client: ClientOrderId,
        request: OrderRequest,
        at_open: bool,
        observer: &mut dyn SessionObserver,
    ) {
        self.strategies[index].orders += 1;
        if let Some(spec) = self.engine.instruments().try_get(request.instrument) {
            let activity = Activity::Order {
                strategy: &self.strategies[index].id,
                order: client,
                symbol: &spec.symbol,
                request: &request,
            };
            observer.activity(self.now, &activity);
        }
        if self.assembly.slot(self.strategies[index].slot).state().is_failed() {
            self.reject(index, client, request.qty, "session", "strategy failed".to_owned(), observer);
            return;
        }
        if let Some(halt) = &self.strategies[index].halted {
            let reason = halt.refusal.clone();
            self.reject(index, client, request.qty, "session", reason, observer);
            return;
        }
        if let Some(from) = self.trade_from.filter(|_| self.warming_up()) {
            let reason = format!("warming up: trading starts at {from}");
            self.reject(index, client, request.qty, "session", reason, observer);
            return;
        }
        if self.engine.instruments().try_get(request.instrument).is_none() {
            let reason = format!("unknown instrument id {}", request.instrument.0);
            self.reject(index, client, request.qty, "venue", reason, observer);
            return;
        }
        self.size_market(request.instrument);
        if let Some(reason) = self.buying_power_refusal(index, &request) {
            self.reject(index, client, request.qty, "session", reason, observer);
            return;
        }
        if let Some((link, rejection)) = self.check_risk(index, &request) {
            let validator = self.risk_chain[link].id.clone();
            self.risk_chain[link].rejections += 1;
            self.reject(index, client, request.qty, &format!("risk:{validator}"), rejection.reason.clone(), observer);
            if rejection.halt {
                self.halt(index, HaltReason::Risk { validator, reason: rejection.reason }, observer);
            }
            return;
        }
        let venue = venue_id(client);
        let order = NewOrder {
            id: venue,
            side: request.side,
            order_type: request.order_type,
            price: request.price,
            trigger: request.trigger,
            qty: request.qty,
            tif: request.tif,
            owner: Some(self.strategies[index].owner),
        };
        self.venue_orders.insert(venue, (index as u32, client));
        let instrument = request.instrument;
        if self.mode == FeedData::Bars && at_open {
            let side = request.side.opposite();
            self.with_liquidity(instrument, side, observer, |session, observer| {
                session.execute_strategy_order(instrument, &order, observer);
            });
        } else {
            self.execute_strategy_order(instrument, &order, observer);
            // The top of book moves, but quotes follow feed events only: a strategy's own order is not
            // echoed back as a quote (that would let strategies drive each other in loops).
            self.refresh_top(instrument);
            self.deliver_market_data(instrument, None, observer);
        }
    }

    /// Sends a strategy's order to the venue. It is listed among the strategy's open orders while
    /// the venue works on it, so that its fills and triggers find it; afterwards it stays listed
    /// only if it rests or waits for its trigger, as the book has it then.
    fn execute_strategy_order(
        &mut self,
        instrument: InstrumentId,
        order: &NewOrder,
        observer: &mut dyn SessionObserver,
    ) {
        let Some(&(index, client)) = self.venue_orders.get(&order.id) else { return };
        let index = index as usize;
        self.strategies[index].open.push(OpenOrder {
            id: client,
            instrument,
            side: order.side,
            price: order.working_price().unwrap_or(Price::ZERO),
            trigger: order.trigger,
            remaining: order.qty,
        });
        self.execute(&OrderCommand::New { instrument, order: *order }, observer);
        let book = self.engine.book(instrument);
        let live = match (book.and_then(|b| b.order(order.id)), book.and_then(|b| b.waiting_stop(order.id))) {
            (Some(resting), _) => Some((resting.price, None, resting.remaining)),
            (None, Some(stop)) => Some((stop.working_price().unwrap_or(Price::ZERO), stop.trigger, stop.qty)),
            (None, None) => None,
        };
        let open = &mut self.strategies[index].open;
        match (live, open.iter_mut().find(|o| o.id == client)) {
            (Some((price, trigger, remaining)), Some(listed)) => {
                (listed.price, listed.trigger, listed.remaining) = (price, trigger, remaining);
            }
            (Some(_), None) => {}
            (None, _) => {
                open.retain(|o| o.id != client);
                self.venue_orders.remove(&order.id);
            }
        }
    }

    /// Books what a command did: trades (market data and fills), and strategy order updates.
    pub(super) fn settle(
        &mut self,
        instrument: InstrumentId,
        events: &[BookEvent],
        observer: &mut dyn SessionObserver,
    ) {
        for event in events {
            match *event {
                BookEvent::Trade(trade) => {
                    self.venue_trades += 1;
                    // Fills against bar-mode venue liquidity are not market data: the bar already is.
                    let is_liquidity = |id: OrderId| id.0 >= LIQUIDITY_ORDER_BASE;
                    if !is_liquidity(trade.maker) && !is_liquidity(trade.taker) {
                        self.market[instrument.0 as usize].last = Some(trade.price);
                        if self.mode == FeedData::OrderFlow {
                            self.trade_ticks.push(TradeTick {
                                ts: self.now,
                                instrument,
                                price: trade.price,
                                qty: trade.qty,
                                aggressor: trade.aggressor,
                            });
                        }
                    }
                    for (id, side) in [(trade.maker, trade.aggressor.opposite()), (trade.taker, trade.aggressor)] {
                        if let Some(&(index, client)) = self.strategy_order(id) {
                            self.fill(index as usize, client, id, instrument, side, trade.price, trade.qty, observer);
                        }
                    }
                }
                BookEvent::Rejected { id, reason } => {
                    if let Some((index, client)) = self.remove_strategy_order(id) {
                        let open = &mut self.strategies[index as usize].open;
                        let qty = open.iter().find(|o| o.id == client).map_or(Qty(0), |o| o.remaining);
                        open.retain(|o| o.id != client);
                        self.reject(index as usize, client, qty, "venue", reason.as_str().to_owned(), observer);
                    }
                }
                BookEvent::Cancelled { id, remaining } | BookEvent::Expired { id, remaining } => {
                    if let Some((index, client)) = self.remove_strategy_order(id) {
                        self.strategies[index as usize].open.retain(|o| o.id != client);
                        let cancelled = matches!(event, BookEvent::Cancelled { .. });
                        let strategy = &self.strategies[index as usize].id;
                        observer.activity(self.now, &Activity::Ended { strategy, order: client, cancelled, remaining });
                        let status = if cancelled { OrderStatus::Cancelled } else { OrderStatus::Expired };
                        let update = OrderUpdate { order: client, status, remaining };
                        self.call_strategy(index as usize, Callback::Update(&update), observer);
                        self.bracket_done(index as usize, client, observer);
                    }
                }
                BookEvent::Triggered { id } => {
                    if let Some(&(index, client)) = self.strategy_order(id) {
                        let open = self.strategies[index as usize].open.iter_mut().find(|o| o.id == client);
                        let remaining = open.map_or(Qty(0), |o| {
                            o.trigger = None;
                            o.remaining
                        });
                        let update = OrderUpdate { order: client, status: OrderStatus::Triggered, remaining };
                        self.call_strategy(index as usize, Callback::Update(&update), observer);
                    }
                }
                BookEvent::Accepted { .. } | BookEvent::Modified { .. } => {}
            }
        }
    }

    /// The strategy and client id of a venue order, if a strategy sent it. Replayed and liquidity
    /// orders are told apart by their id range, without a lookup: most trades involve only them.
    #[inline]
    fn strategy_order(&self, id: OrderId) -> Option<&(u32, ClientOrderId)> {
        if is_strategy_order(id) { self.venue_orders.get(&id) } else { None }
    }

    /// Forgets a strategy order that is done; `None` for any other order.
    #[inline]
    fn remove_strategy_order(&mut self, id: OrderId) -> Option<(u32, ClientOrderId)> {
        if is_strategy_order(id) { self.venue_orders.remove(&id) } else { None }
    }

    #[allow(clippy::too_many_arguments)]
    fn fill(
        &mut self,
        index: usize,
        client: ClientOrderId,
        venue: OrderId,
        instrument: InstrumentId,
        side: Side,
        price: Price,
        qty: Qty,
        observer: &mut dyn SessionObserver,
    ) {
        let Some(spec) = self.engine.instruments().try_get(instrument) else { return };
        let lot_size = spec.lot_size;
        let fee = commission(&self.settings.commission, price, qty, lot_size);
        let runtime = &mut self.strategies[index];
        if let Some(trip) = runtime.account.book_fill(instrument, side, price, qty, lot_size, fee, self.now, self.bars)
        {
            runtime.stats.trip_closed(trip.entry_bar);
            if let Some(total) = &mut self.total_stats {
                total.trip_closed(trip.entry_bar);
            }
            observer.round_trip(&RoundTrip { strategy: runtime.id.clone(), symbol: spec.symbol.clone(), trip });
        }
        if runtime.account.out_of_range && runtime.halted.is_none() {
            self.halt(index, HaltReason::MoneyRange, observer);
        }
        let runtime = &mut self.strategies[index];
        if let Some(open) = runtime.open.iter_mut().find(|o| o.id == client) {
            open.remaining.0 -= qty.0;
        }
        let done = runtime.open.iter().find(|o| o.id == client).is_some_and(|o| o.remaining.0 <= 0);
        if done {
            runtime.open.retain(|o| o.id != client);
            self.venue_orders.remove(&venue);
        }
        let report = FillReport { order: client, ts: self.now, instrument, side, price, qty, commission: fee };
        let symbol = &self.engine.instruments().get(instrument).symbol;
        observer.activity(self.now, &Activity::Fill { strategy: &self.strategies[index].id, symbol, fill: &report });
        self.call_strategy(index, Callback::Fill(&report), observer);
        self.bracket_fill(index, client, qty, observer);
        if done {
            self.bracket_done(index, client, observer);
        }
    }

    fn reject(
        &mut self,
        index: usize,
        client: ClientOrderId,
        qty: Qty,
        by: &str,
        reason: String,
        observer: &mut dyn SessionObserver,
    ) {
        self.strategies[index].rejected += 1;
        tracing::debug!(strategy = %self.strategies[index].id, by, %reason, "order rejected");
        let strategy = &self.strategies[index].id;
        observer.activity(self.now, &Activity::Rejected { strategy, order: client, qty, by, reason: &reason });
        let update =
            OrderUpdate { order: client, status: OrderStatus::Rejected { by: by.to_owned(), reason }, remaining: qty };
        self.call_strategy(index, Callback::Update(&update), observer);
        self.bracket_done(index, client, observer);
    }

    /// Stops a strategy's trading: cancels its resting orders; its new orders are refused from now on.
    pub(super) fn halt(&mut self, index: usize, reason: HaltReason, observer: &mut dyn SessionObserver) {
        if self.strategies[index].halted.is_some() {
            return;
        }
        tracing::warn!(strategy = %self.strategies[index].id, %reason, "strategy halted");
        observer.activity(self.now, &Activity::Halted { strategy: &self.strategies[index].id, reason: &reason });
        self.strategies[index].halted = Some(Halt::new(reason));
        self.cancel_open_orders(index, observer);
    }

    /// Cancels every resting order of a strategy (it halted or failed).
    pub(super) fn cancel_open_orders(&mut self, index: usize, observer: &mut dyn SessionObserver) {
        let open: Vec<OpenOrder> = self.strategies[index].open.clone();
        for order in open {
            self.execute(
                &OrderCommand::Cancel { instrument: Some(order.instrument), id: venue_id(order.id) },
                observer,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategy_liquidity_and_replayed_ids_do_not_overlap() {
        assert!(is_strategy_order(venue_id(ClientOrderId(1))));
        assert!(!is_strategy_order(OrderId(42)));
        assert!(!is_strategy_order(OrderId(LIQUIDITY_ORDER_BASE + 1)));
        assert!(is_strategy_order(OrderId(LIQUIDITY_ORDER_BASE - 1)));
    }
}
