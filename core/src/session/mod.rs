//! The trading session: market data through indicators into strategies, their orders through the
//! risk chain into the matching engine, fills into per-strategy accounts.
//!
//! # Modes (chosen by what the feed produces)
//! - **Bars.** Each bar opens an auction at its open price: the venue offers liquidity at
//!   `open ± spread/2` (unlimited, or `session.bars.depth` lots per side per bar), orders the strategies
//!   decided on the previous bar reach the venue then, so a market order decided on bar `t` fills at bar
//!   `t+1`'s open. Resting limit orders the open gaps through fill at their own limit price (no price
//!   improvement). Then indicators and strategies see the bar, and positions are marked at its close.
//! - **Order flow.** Replayed orders rest and trade in the book; trades and top-of-book changes become
//!   market data (trades feed indicators and a configured bar aggregator, `session.bar_source`), and
//!   strategy orders go to the venue right after the event that caused them, trading against the
//!   replayed ones. Marks happen on each aggregated bar (or every 1,000 events without one).
//!
//! # Modules, one seam each
//! [`setup`](self) wires a plan into a session; the event loop (`event_loop.rs`) pulls feed events;
//! `bar_venue.rs` runs the bar-mode auction; `strategies.rs` calls strategies through their host;
//! `orders.rs` turns their intents into venue commands and books what the venue did; `risk.rs` runs
//! the chain; `marks.rs` marks accounts; `report.rs` reports; `indicators.rs` is the indicator hub.
//!
//! # Invariants
//! - Every strategy order, in every mode, passes the risk chain (in `order`, then id) and the matching
//!   engine; a refusal reaches the strategy as an [`OrderUpdate`](crate::component::OrderUpdate)
//!   naming `risk:<validator id>`, `venue` or `session`.
//! - Strategy actions are queued during a callback and applied between two events.
//! - Every plugin call passes [`boundary::contain`](crate::boundary::contain) through its slot in the
//!   [`Assembly`]. Failure policy per kind: a strategy fails alone (its orders are cancelled); a
//!   validator fails closed; an indicator fails and halts the strategies that use it; a feed or the
//!   matching engine ends the run, with the report marked incomplete.
//! - Memory is flat in the number of events: the feed streams, round trips stream to the observer,
//!   and statistics are running sums with a downsampled curve.

mod activity;
mod alerts;
mod bar_venue;
mod brackets;
mod buying_power;
mod change;
mod control;
mod event_loop;
mod feed_watch;
mod indicators;
mod marks;
mod orders;
pub mod portfolio;
mod report;
mod risk;
mod setup;
pub mod statistics;
pub mod stats;
mod strategies;
mod tape;
mod tape_file;
pub mod trade_stats;

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use rustc_hash::FxHashMap;

pub use activity::Activity;
pub use alerts::{Alert, AlertMeasure};
pub use change::{Change, OpenOrders, Refusal, Step};
pub use control::{Action, Applied, ChangeAnswer, ChangeError, Command, CommandSender, ControlPort, Reply};
pub use feed_watch::{FeedStatus, SessionHealth};
pub use report::{
    ChangeTimes, ComponentMetrics, ComponentReport, FailureReport, IndicatorReport, InstrumentReport, MemoryReport,
    OrderCounts, RiskReport, RuntimeFigures, SessionReport, StrategyReport, TimingReport, TotalReport,
};
pub use setup::check_setup;
pub use strategies::{HaltReason, StrategyStatus};
pub use tape::MarketTape;
pub use tape_file::TapeFormatError;

use self::indicators::IndicatorHub;
use self::orders::Intent;
use self::risk::RiskLink;
use self::stats::{Calendar, EquityStats};
use self::strategies::StrategyRuntime;
use crate::book::BookEvent;
use crate::component::{BadRows, ComponentId, FeedData, IndicatorHandle};
use crate::config::SessionConfig;
use crate::engine::MatchingEngine;
use crate::factory::{Assembly, FailureCause, LifecycleError};
use crate::market::{Bar, TradeTick};
use crate::matching::MatchingAlgorithm;
use crate::types::{Money, OrderId, Price, Qty, Timestamp};

/// Receives what a session produces as it runs (files, progress).
pub trait SessionObserver {
    /// The run starts; strategy ids in report order.
    fn begin(&mut self, _strategy_ids: &[String]) {}
    /// Positions were marked: total and per-strategy equity, total drawdown.
    fn equity(&mut self, _ts: Timestamp, _bar: u64, _total: Money, _per_strategy: &[Money], _drawdown: f64) {}
    /// A round trip closed.
    fn round_trip(&mut self, _trip: &portfolio::RoundTrip) {}
    /// A bar of `symbol` closed: read from the feed in bar mode, aggregated from trades by
    /// `session.bar_source` in order-flow mode (for price charts).
    fn bar(&mut self, _symbol: &str, _bar: &Bar) {}
    /// Events processed so far (every 65,536).
    fn progress(&mut self, _events: u64) {}
    /// The session did something another process may follow ([`Activity`]), at session time `ts`.
    fn activity(&mut self, _ts: Timestamp, _activity: &Activity<'_>) {}
}

/// An observer that keeps nothing.
#[derive(Debug, Default)]
pub struct NoObserver;

impl SessionObserver for NoObserver {}

/// A session that could not be set up from a checked config.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// An `[instruments.<symbol>]` declaration is invalid.
    #[error("instruments.{symbol}: {message}")]
    BadInstrument {
        /// The symbol.
        symbol: String,
        /// What is wrong.
        message: String,
    },
    /// No feed is configured.
    #[error("feed: missing; a run needs a market-data feed")]
    NoFeed,
    /// No matching algorithm is planned.
    #[error("matching: missing; a run needs a matching algorithm")]
    NoMatching,
    /// `session.bar_source` names no configured indicator.
    #[error("session.bar_source: no indicator {0:?} is configured")]
    NoBarSource(String),
}

/// Why a session could not start, or why it ended early.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The config cannot make a session.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// A component failed to load, init or start (everything started is stopped and unloaded).
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    /// The feed could not go on (its own error, or a panic): the run ended early.
    #[error("{component} ({plugin}) ended the run: {cause}")]
    Feed {
        /// The feed.
        component: ComponentId,
        /// `name@version`.
        plugin: String,
        /// What happened.
        cause: FailureCause,
    },
    /// The matching engine failed during a command: the run ended early.
    #[error("{component} ({plugin}) ended the run: {cause}")]
    Matching {
        /// The matching component.
        component: ComponentId,
        /// `name@version`.
        plugin: String,
        /// What happened.
        cause: FailureCause,
    },
    /// The run was asked to stop (a signal) before its feed ended; it stopped between two events.
    #[error("interrupted before the feed ended")]
    Interrupted,
}

impl SessionError {
    /// Whether the error is a bug in some component (a panic, a broken contract) rather than bad
    /// input (a refusal).
    #[must_use]
    pub fn is_internal(&self) -> bool {
        match self {
            SessionError::Setup(_) | SessionError::Interrupted => false,
            SessionError::Lifecycle(error) => error.cause.is_bug(),
            SessionError::Feed { cause, .. } => cause.is_bug(),
            SessionError::Matching { .. } => true,
        }
    }
}

/// What controls a run between two events.
enum Control<'a> {
    /// Nothing: the feed runs to its end (`run`).
    None,
    /// A flag that stops the run when set (`run` with signal handling).
    Stop(&'a AtomicBool),
    /// Commands from admin threads (`serve`).
    Port(&'a mut ControlPort),
}

/// What a finished run produced: its report and, if it ended early, why.
#[derive(Debug)]
pub struct RunOutcome {
    /// The report (marked incomplete when the run ended early).
    pub report: SessionReport,
    /// Why the run ended before its feed did, if it did.
    pub error: Option<SessionError>,
}

impl RunOutcome {
    /// The report if the run reached the end of its feed, else why it did not.
    ///
    /// # Errors
    /// The feed or the matching engine ended the run early.
    pub fn into_result(self) -> Result<SessionReport, SessionError> {
        match self.error {
            None => Ok(self.report),
            Some(error) => Err(error),
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct InstrumentState {
    last: Option<Price>,
    bid: Option<(Price, Qty)>,
    ask: Option<(Price, Qty)>,
    bar_open: Option<Price>,
    /// Bar mode: liquidity left this bar, (bid side, ask side).
    depth_left: (i64, i64),
}

/// A session, generic over the matching algorithm so the venue's hot path is monomorphized.
pub struct Session<M: MatchingAlgorithm> {
    settings: SessionConfig,
    assembly: Assembly,
    engine: MatchingEngine<M>,
    hub: IndicatorHub,
    feed_slot: usize,
    matching_slot: usize,
    mode: FeedData,
    bar_source: Option<IndicatorHandle>,
    strategies: Vec<StrategyRuntime>,
    risk_chain: Vec<RiskLink>,
    /// (link, slot) of the validators whose `review` runs after every mark.
    reviewing: Vec<(usize, usize)>,
    market: Vec<InstrumentState>,
    venue_orders: FxHashMap<OrderId, (u32, crate::component::ClientOrderId)>,
    intents: Vec<Intent>,
    pending: Vec<Intent>,
    next_client: u64,
    next_liquidity: u64,
    book_events: Vec<BookEvent>,
    trade_ticks: Vec<TradeTick>,
    bars_scratch: Vec<Bar>,
    marks: Vec<(Option<Price>, crate::types::LotSize)>,
    equities: Vec<Money>,
    now: Timestamp,
    events: u64,
    bars: u64,
    venue_trades: u64,
    bad_rows: BadRows,
    /// What the feed and the command senders ring when the session waits for either.
    waker: crate::component::Waker,
    /// The feed's silences.
    feed_watch: feed_watch::FeedWatch,
    /// The total's statistics; `None` with exactly one strategy, whose own statistics are the total's.
    total_stats: Option<EquityStats>,
    /// Whether the data trades at weekends (252 or 365 days a year for annualizing).
    calendar: Calendar,
    /// The primary instrument's price at the first mark, for buy & hold.
    first_mark_price: Option<Price>,
    /// Why the run is ending early (a feed or matching failure), once it is.
    ended: Option<SessionError>,
    /// Alert budgets and the alerts raised.
    alerts: alerts::AlertBook,
    /// When the event loop started (the report's elapsed time).
    started: Instant,
    /// The run is over and its components were stopped.
    finished: bool,
    /// Before this time the session only warms up: see [`Session::warm_up_until`].
    trade_from: Option<crate::types::Timestamp>,
}

impl<M: MatchingAlgorithm> std::fmt::Debug for Session<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("mode", &self.mode).field("events", &self.events).finish()
    }
}

/// A session moves to a thread of its own (`serve`): everything it holds must be `Send`.
const _: fn() = || {
    fn assert_send<T: Send>() {}
    assert_send::<Session<Box<dyn crate::matching::DynMatching>>>();
};

impl<M: MatchingAlgorithm> Session<M> {
    /// What the feed produces.
    #[must_use]
    pub fn mode(&self) -> FeedData {
        self.mode
    }

    /// The components of the session.
    #[must_use]
    pub fn assembly(&self) -> &Assembly {
        &self.assembly
    }

    /// Makes the events before `until` a warm-up: indicators and strategies see them, but the
    /// session refuses every order (the strategy sees a rejection by `session`) and marks no
    /// equity, so the report's figures start at `until`. Walk-forward runs warm up on their
    /// training window, so that long indicators are ready when the test window starts.
    pub fn warm_up_until(&mut self, until: crate::types::Timestamp) {
        self.trade_from = Some(until);
    }

    /// Whether the session is still warming up.
    #[inline]
    fn warming_up(&self) -> bool {
        self.trade_from.is_some_and(|from| self.now < from)
    }

    /// Runs the feed to its end (or until a feed or matching failure ends the run), stops every
    /// component in reverse dependency order, unloads them, and reports.
    pub fn run(self, observer: &mut dyn SessionObserver) -> RunOutcome {
        self.run_with(Control::None, observer)
    }

    /// Runs like [`run`](Self::run), but stops between two events once `stop` is set (a signal
    /// handler sets it): the components are stopped as at the end of the feed, and the report,
    /// complete for the events processed, is marked incomplete ([`SessionError::Interrupted`]).
    pub fn run_until(self, stop: &AtomicBool, observer: &mut dyn SessionObserver) -> RunOutcome {
        self.run_with(Control::Stop(stop), observer)
    }

    fn run_with(mut self, control: Control<'_>, observer: &mut dyn SessionObserver) -> RunOutcome {
        let ids: Vec<String> = self.strategies.iter().map(|s| s.id.clone()).collect();
        observer.begin(&ids);
        self.started = Instant::now();
        let mut control = match control {
            Control::Port(port) => {
                self.event_loop(port, observer);
                Some(port)
            }
            Control::Stop(stop) => {
                self.event_loop(&mut event_loop::StopFlag(stop), observer);
                None
            }
            Control::None => {
                self.event_loop(&mut (), observer);
                None
            }
        };
        let elapsed = self.started.elapsed().as_secs_f64();
        self.bad_rows.summarize();
        if self.alerts.active() {
            self.check_alerts(observer);
        }
        if let Some(port) = control.as_deref_mut() {
            self.linger(port, observer);
        }
        let feed = self.live_feed_status();
        for error in self.assembly.stop_all() {
            tracing::error!(%error, "component failed to stop");
        }
        self.finished = true;
        self.refresh_marks();
        let mut report = self.report(elapsed);
        report.feed = feed;
        if let Some(port) = control {
            report.timing.changes = Some(port.hold_times_us().into());
        }
        self.assembly.unload_all();
        RunOutcome { report, error: self.ended.take() }
    }
}

#[cfg(test)]
mod fixtures;

#[cfg(test)]
mod tests {
    use super::fixtures::run;
    use super::*;

    #[test]
    fn a_complete_run_is_a_report_and_an_ended_one_its_error() {
        assert!(run(&["1"], "").into_result().is_ok());
        let ended = run(&["1", "x"], "").into_result().unwrap_err();
        assert!(matches!(ended, SessionError::Feed { .. }), "{ended}");
    }

    #[test]
    fn a_stop_flag_ends_the_run_between_two_events_with_an_incomplete_report() {
        use super::fixtures::session;
        let stop = AtomicBool::new(false);
        let outcome = session(&["1", "2", "3"], "").unwrap().run_until(&stop, &mut NoObserver);
        assert!(outcome.error.is_none() && outcome.report.complete && !outcome.report.interrupted);
        assert_eq!(outcome.report.events, 3);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let outcome = session(&["1", "2", "3"], "").unwrap().run_until(&stop, &mut NoObserver);
        assert_eq!(outcome.error, Some(SessionError::Interrupted));
        assert!(!outcome.report.complete && outcome.report.interrupted);
        assert_eq!(outcome.report.events, 0);
        assert!(!SessionError::Interrupted.is_internal());
    }

    #[test]
    fn only_panics_are_internal_errors() {
        let component = ComponentId::new(crate::plugin::Kind::Feed, "feed");
        let feed = |cause| SessionError::Feed { component: component.clone(), plugin: "f@1".to_owned(), cause };
        use crate::boundary::Call;
        assert!(feed(FailureCause::Panicked { call: Call::NextEvent, message: String::new() }).is_internal());
        assert!(!feed(FailureCause::Refused { call: Call::NextEvent, message: String::new() }).is_internal());
        assert!(!SessionError::Setup(SetupError::NoFeed).is_internal());
    }
}
