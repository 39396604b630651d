//! The event loop: pull the next feed event, dispatch it (bar auction, replayed command, trade or
//! quote), mark, report progress. The top of the loop is the safe point between two events, where
//! every scratch buffer is empty and a run-time change can apply.
//!
//! The feed is called through its slot; an event naming an instrument the feed never declared is
//! the feed's bug and ends the run like its failure does (the report is then marked incomplete).

use super::strategies::{Callback, HaltReason};
use super::{Session, SessionError, SessionObserver};
use crate::boundary::Call;
use crate::component::{FeedContext, FeedData, FeedPoll};
use crate::factory::{FailureCause, InvokeError};
use crate::market::{MarketEvent, OrderFlowEvent, Quote};
use crate::matching::MatchingAlgorithm;
use crate::orderflow::OrderCommand;
use crate::plugin::Instance;
use crate::types::InstrumentId;

/// What the event loop asks between two events: whether to go on (and, for `serve`, the commands
/// to apply and the pacing to wait for). `()` always goes on and compiles to nothing.
pub(super) trait Gate {
    /// At the top of the loop; `false` ends the run.
    fn safe_point<M: MatchingAlgorithm>(
        &mut self,
        session: &mut Session<M>,
        observer: &mut dyn SessionObserver,
    ) -> bool;
    /// Before `event` is dispatched; `false` ends the run.
    fn due<M: MatchingAlgorithm>(
        &mut self,
        session: &mut Session<M>,
        event: &MarketEvent,
        observer: &mut dyn SessionObserver,
    ) -> bool;
    /// The feed has nothing yet: wait until it or a command wakes the session (or a while
    /// passes), then go back to the safe point; `false` ends the run.
    fn idle<M: MatchingAlgorithm>(&mut self, session: &mut Session<M>) -> bool {
        session.waker.wait(IDLE_WAIT);
        true
    }
}

/// The longest the session waits for a pending feed before it looks again at its safe point
/// (a stop flag, alerts): a ring of its waker ends the wait at once.
const IDLE_WAIT: std::time::Duration = std::time::Duration::from_millis(100);

impl Gate for () {
    #[inline(always)]
    fn safe_point<M: MatchingAlgorithm>(&mut self, _: &mut Session<M>, _: &mut dyn SessionObserver) -> bool {
        true
    }
    #[inline(always)]
    fn due<M: MatchingAlgorithm>(&mut self, _: &mut Session<M>, _: &MarketEvent, _: &mut dyn SessionObserver) -> bool {
        true
    }
}

impl Gate for super::ControlPort {
    #[inline]
    fn safe_point<M: MatchingAlgorithm>(
        &mut self,
        session: &mut Session<M>,
        observer: &mut dyn SessionObserver,
    ) -> bool {
        session.poll_commands(self, observer)
    }
    #[inline]
    fn due<M: MatchingAlgorithm>(
        &mut self,
        session: &mut Session<M>,
        event: &MarketEvent,
        observer: &mut dyn SessionObserver,
    ) -> bool {
        session.wait_until_due(self, event, observer)
    }
    /// Waits on the waker, which the feed and every command ring: a command is applied as soon
    /// as it arrives, at the safe point the wait returns to.
    fn idle<M: MatchingAlgorithm>(&mut self, session: &mut Session<M>) -> bool {
        session.waker.wait(IDLE_WAIT);
        !self.shutdown_asked()
    }
}

/// A flag that stops the run at the next safe point once set (by a signal handler).
pub(super) struct StopFlag<'a>(pub(super) &'a std::sync::atomic::AtomicBool);

impl Gate for StopFlag<'_> {
    #[inline(always)]
    fn safe_point<M: MatchingAlgorithm>(&mut self, session: &mut Session<M>, _: &mut dyn SessionObserver) -> bool {
        if self.0.load(std::sync::atomic::Ordering::Relaxed) {
            session.ended = Some(SessionError::Interrupted);
            return false;
        }
        true
    }
    #[inline(always)]
    fn due<M: MatchingAlgorithm>(&mut self, _: &mut Session<M>, _: &MarketEvent, _: &mut dyn SessionObserver) -> bool {
        true
    }
}

/// Order-flow mode without a bar source marks every this many events.
const MARK_EVERY_EVENTS: u64 = 1000;

impl<M: MatchingAlgorithm> Session<M> {
    /// Runs the feed to its end. `gate` is `()` for `run` (compiled away) or the [`ControlPort`]
    /// of `serve`, asked at the safe point and before each paced event.
    ///
    /// [`ControlPort`]: super::ControlPort
    pub(super) fn event_loop<G: Gate>(&mut self, gate: &mut G, observer: &mut dyn SessionObserver) {
        let span = tracing::info_span!("session", mode = ?self.mode);
        let _entered = span.enter();
        let mut last_mark_events = 0;
        loop {
            if self.ended.is_some() || self.settings.max_events.is_some_and(|max| self.events >= max) {
                break;
            }
            // The safe point: every scratch buffer is empty; run-time changes apply here only.
            if !gate.safe_point(self, observer) {
                break;
            }
            let event = match self.poll_feed() {
                FeedPoll::Ready(event) => {
                    self.feed_watch.delivered();
                    event
                }
                FeedPoll::Pending => {
                    self.feed_watch.pending();
                    if !gate.idle(self) {
                        break;
                    }
                    self.check_feed_quiet(observer);
                    continue;
                }
                FeedPoll::Ended => break,
            };
            if !gate.due(self, &event, observer) {
                break;
            }
            self.events += 1;
            self.size_market(event.instrument().unwrap_or(InstrumentId(0)));
            match event {
                MarketEvent::Bar(bar) => self.on_bar(&bar, observer),
                MarketEvent::Order(flow) => self.on_order_flow(&flow, observer),
                MarketEvent::Trade(trade) => {
                    self.now = trade.ts;
                    self.market[trade.instrument.0 as usize].last = Some(trade.price);
                    self.trade_ticks.push(trade);
                    self.deliver_market_data(trade.instrument, None, observer);
                    self.drain_intents(observer);
                }
                MarketEvent::Quote(quote) => {
                    self.now = quote.ts;
                    self.deliver(Callback::Quote(&quote), observer);
                    self.drain_intents(observer);
                }
            }
            if self.mode == FeedData::OrderFlow
                && self.bar_source.is_none()
                && self.events - last_mark_events >= MARK_EVERY_EVENTS
            {
                last_mark_events = self.events;
                self.mark(observer);
            }
            if self.events.is_multiple_of(65_536) {
                observer.progress(self.events);
            }
            self.tick_alerts(observer);
        }
        if self.total_stats().marks() == 0 || (self.mode == FeedData::OrderFlow && self.events != last_mark_events) {
            self.mark(observer);
        }
        observer.progress(self.events);
    }

    /// The feed's next event, or `Pending` (a live feed has nothing yet); `Ended` at its end or
    /// when it failed (the run then ends, see `ended`).
    pub(super) fn poll_feed(&mut self) -> FeedPoll {
        let Session { assembly, engine, bad_rows, feed_slot, waker, .. } = self;
        let slot = assembly.slot_mut(*feed_slot);
        let result = slot.invoke(Call::NextEvent, |instance| match instance {
            Instance::Feed(feed) => {
                feed.poll_event(&mut FeedContext::new(engine.instruments_mut(), bad_rows).waking(waker))
            }
            _ => Ok(FeedPoll::Ended),
        });
        let cause = match result {
            Ok(Ok(FeedPoll::Ready(event))) => match self.undeclared_instrument(&event) {
                None => return FeedPoll::Ready(event),
                Some(id) => FailureCause::Violated {
                    call: Call::NextEvent,
                    message: format!("emitted an event for instrument id {id}, which it never declared"),
                },
            },
            Ok(Ok(poll @ (FeedPoll::Pending | FeedPoll::Ended))) => return poll,
            Ok(Err(error)) => {
                slot.count_error();
                FailureCause::Refused {
                    call: Call::NextEvent,
                    message: crate::limits::shorten(&error.0, 600).into_owned(),
                }
            }
            Err(InvokeError::Panicked(panicked)) => (*panicked).into(),
            Err(InvokeError::NotRunning) => {
                let state = slot.state();
                FailureCause::Refused { call: Call::NextEvent, message: format!("not running ({state})") }
            }
        };
        let slot = self.assembly.slot_mut(self.feed_slot);
        slot.fail(cause.clone());
        self.ended =
            Some(SessionError::Feed { component: slot.component().clone(), plugin: slot.label().to_owned(), cause });
        FeedPoll::Ended
    }

    /// The instrument id of an event that the instrument table never issued, if any.
    #[inline]
    fn undeclared_instrument(&self, event: &MarketEvent) -> Option<u32> {
        let instrument = event.instrument()?;
        (instrument.0 as usize >= self.engine.instruments().len()).then_some(instrument.0)
    }

    pub(super) fn size_market(&mut self, instrument: InstrumentId) {
        let needed = (instrument.0 as usize + 1).max(self.engine.instruments().len());
        if self.market.len() < needed {
            self.market.resize(needed, super::InstrumentState::default());
        }
    }

    /// Order-flow mode: replay one command, then deliver what it caused.
    fn on_order_flow(&mut self, flow: &OrderFlowEvent, observer: &mut dyn SessionObserver) {
        self.now = flow.ts;
        if let OrderCommand::New { order, .. } = &flow.command
            && order.id.0 >= super::orders::STRATEGY_ORDER_BASE
        {
            tracing::warn!(id = order.id.0, "replayed order id in the range reserved for strategy orders");
        }
        if let Some(instrument) = self.execute(&flow.command, observer) {
            let quote = self.refresh_top(instrument);
            self.deliver_market_data(instrument, quote, observer);
        }
        self.drain_intents(observer);
    }

    /// Sends trades (and a quote change) of `instrument` to indicators and strategies.
    #[inline]
    pub(super) fn deliver_market_data(
        &mut self,
        instrument: InstrumentId,
        quote: Option<Quote>,
        observer: &mut dyn SessionObserver,
    ) {
        // Most commands neither trade nor move the top of book.
        if !self.trade_ticks.is_empty() || quote.is_some() {
            self.deliver_new_market_data(instrument, quote, observer);
        }
    }

    #[inline(never)]
    fn deliver_new_market_data(
        &mut self,
        instrument: InstrumentId,
        quote: Option<Quote>,
        observer: &mut dyn SessionObserver,
    ) {
        let ticks = std::mem::take(&mut self.trade_ticks);
        for tick in &ticks {
            self.update_indicators(instrument, &MarketEvent::Trade(*tick), observer);
            self.deliver(Callback::Trade(tick), observer);
            let bars = std::mem::take(&mut self.bars_scratch);
            for bar in &bars {
                self.bars += 1;
                self.update_indicators(instrument, &MarketEvent::Bar(*bar), observer);
                self.deliver(Callback::Bar(bar), observer);
                if self.bar_source.is_some() {
                    if let Some(spec) = self.engine.instruments().try_get(instrument) {
                        observer.bar(&spec.symbol, bar);
                    }
                    self.mark(observer);
                }
            }
            self.bars_scratch = bars;
        }
        self.trade_ticks = ticks;
        self.trade_ticks.clear();
        if let Some(quote) = quote {
            self.deliver(Callback::Quote(&quote), observer);
        }
    }

    /// Updates the indicators of `instrument` with one event; bars they complete land in
    /// `bars_scratch`. An indicator that fails halts the strategies that read it.
    #[inline]
    pub(super) fn update_indicators(
        &mut self,
        instrument: InstrumentId,
        event: &MarketEvent,
        observer: &mut dyn SessionObserver,
    ) {
        self.bars_scratch.clear();
        let mut failed = Vec::new();
        self.hub.update(&mut self.assembly, instrument, event, &mut self.bars_scratch, &mut failed);
        if !failed.is_empty() {
            self.indicators_failed(&failed, observer);
        }
    }

    #[cold]
    fn indicators_failed(&mut self, entries: &[usize], observer: &mut dyn SessionObserver) {
        for &entry in entries {
            let hub_entry = &self.hub.entries[entry];
            let Some(slot) = hub_entry.slot else { continue };
            let cause = match self.assembly.slot(slot).state() {
                crate::factory::LifecycleState::Failed(cause) => cause.clone(),
                _ => continue,
            };
            let indicator = hub_entry.component.clone();
            let requesters = hub_entry.requesters.clone();
            for requester in requesters {
                if let Some(index) = self.strategies.iter().position(|s| s.id == requester) {
                    let reason = HaltReason::IndicatorFailed { indicator: indicator.clone(), cause: cause.clone() };
                    self.halt(index, reason, observer);
                }
            }
        }
    }

    /// Updates the top of book after a command; returns a quote if it changed.
    pub(super) fn refresh_top(&mut self, instrument: InstrumentId) -> Option<Quote> {
        let book = self.engine.book(instrument)?;
        let bid = book.best_bid().map(|l| (l.price, l.qty));
        let ask = book.best_ask().map(|l| (l.price, l.qty));
        let state = &mut self.market[instrument.0 as usize];
        if state.bid == bid && state.ask == ask {
            return None;
        }
        state.bid = bid;
        state.ask = ask;
        Some(Quote { ts: self.now, instrument, bid, ask })
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{run, session_with_feed};
    use super::*;

    #[test]
    fn an_event_for_an_undeclared_instrument_ends_the_run_naming_the_feed() {
        let session = session_with_feed(&["1", "2", "3"], ", undeclared_at = 1", "").unwrap();
        let outcome = session.run(&mut super::super::NoObserver);
        let error = outcome.error.expect("the run ends");
        assert!(matches!(error, SessionError::Feed { .. }) && error.is_internal(), "a feed bug: {error}");
        assert!(error.to_string().contains("instrument id 77, which it never declared"), "{error}");
        assert_eq!(outcome.report.events, 1, "the event before it was processed, none after");
        assert!(!outcome.report.complete);
    }

    #[test]
    fn every_feed_event_is_one_next_event_call_plus_the_end() {
        let outcome = run(&["1", "2", "3"], "");
        assert!(outcome.report.complete);
        let feed = outcome.report.components.iter().find(|c| c.id == "feed").unwrap();
        assert_eq!(feed.metrics.calls["next_event"], 4);
        assert_eq!(outcome.report.events, 3);
    }
}
