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
//! # Invariants
//! - Every strategy order, in every mode, passes the risk chain (in `order`, then id) and the matching
//!   engine; a refusal reaches the strategy as an [`OrderUpdate`] naming `risk:<validator id>` or `venue`.
//! - Strategy actions are queued during a callback and applied between two events.
//! - Every plugin call passes [`boundary::contain`](crate::boundary::contain): a panicking strategy,
//!   validator or indicator is marked failed and never called again; the run goes on.
//! - Memory is flat in the number of events: the feed streams, round trips stream to the observer,
//!   and statistics are running sums with a downsampled curve.

mod indicators;
pub mod portfolio;
mod report;
pub mod stats;

use std::collections::BTreeMap;
use std::time::Instant;

use rustc_hash::FxHashMap;

pub use report::{
    ComponentReport, IndicatorReport, RiskReport, SessionReport, StrategyReport, TimingReport, TotalReport,
};

use self::indicators::{HubProvider, IndicatorHub, Input};
use self::portfolio::{Account, RoundTrip, commission};
use self::stats::{EquityStats, SpacingSample};
use crate::book::{BookEvent, NewOrder};
use crate::boundary;
use crate::component::{
    BadRows, ClientOrderId, FeedContext, FeedData, FillReport, IndicatorHandle, OpenOrder, OrderRequest, OrderStatus,
    OrderUpdate, RiskReject, RiskView, Strategy, StrategyContext, StrategyHost,
};
use crate::config::{Config, SessionConfig};
use crate::engine::{AlgorithmSource, MatchingEngine};
use crate::factory::{Assembly, InitEnv, LifecycleError, LifecycleState, Plan};
use crate::instrument::{Instrument, InstrumentTable};
use crate::market::{Bar, MarketEvent, OrderFlowEvent, Quote, TradeTick};
use crate::matching::MatchingAlgorithm;
use crate::orderflow::OrderCommand;
use crate::plugin::{Instance, Kind};
use crate::types::{InstrumentId, Money, OrderId, OrderType, OwnerId, Price, Qty, Side, TimeInForce, Timestamp};

/// Venue ids of strategy orders: `STRATEGY_ORDER_BASE + client id`, far above replayed ids.
const STRATEGY_ORDER_BASE: u64 = 1 << 62;
/// Venue ids of the bar-mode liquidity orders.
const LIQUIDITY_ORDER_BASE: u64 = 1 << 63;

/// Whether a venue id is in the range of strategy orders.
#[inline]
fn is_strategy_order(id: OrderId) -> bool {
    (STRATEGY_ORDER_BASE..LIQUIDITY_ORDER_BASE).contains(&id.0)
}
/// "Unlimited" bar-mode depth, in lots.
const UNLIMITED_DEPTH: i64 = 1 << 50;
/// Rounds of callbacks an event may trigger (fill → order → fill ...) before the rest waits.
const MAX_INTENT_ROUNDS: usize = 16;
/// Order-flow mode without a bar source marks every this many events.
const MARK_EVERY_EVENTS: u64 = 1000;
/// Owner ids of strategies count down from here; replayed owners count up from 1.
const STRATEGY_OWNER_TOP: u32 = u32::MAX;

/// Receives what a session produces as it runs (files, progress).
pub trait SessionObserver {
    /// The run starts; strategy ids in report order.
    fn begin(&mut self, _strategy_ids: &[String]) {}
    /// Positions were marked: total and per-strategy equity, total drawdown.
    fn equity(&mut self, _ts: Timestamp, _bar: u64, _total: Money, _per_strategy: &[Money], _drawdown: f64) {}
    /// A round trip closed.
    fn round_trip(&mut self, _trip: &RoundTrip) {}
    /// Events processed so far (every 65,536).
    fn progress(&mut self, _events: u64) {}
}

/// An observer that keeps nothing.
#[derive(Debug, Default)]
pub struct NoObserver;

impl SessionObserver for NoObserver {}

/// Why a session could not run.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// A component failed to load, init or start.
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    /// The feed could not go on.
    #[error("feed: {0}")]
    Feed(String),
    /// The session could not be assembled.
    #[error("{0}")]
    Setup(String),
}

#[derive(Clone, Copy, Debug)]
enum Intent {
    Submit { strategy: u32, client: ClientOrderId, request: OrderRequest },
    Cancel { strategy: u32, client: ClientOrderId },
}

#[derive(Debug)]
struct StrategyRuntime {
    slot: usize,
    id: String,
    label: String,
    owner: OwnerId,
    account: Account,
    open: Vec<OpenOrder>,
    halted: Option<String>,
    stats: EquityStats,
    orders: u64,
    rejected: u64,
}

#[derive(Debug)]
struct RiskLink {
    slot: usize,
    id: String,
    label: String,
    order: i64,
    rejections: u64,
    /// The validator's [`RiskValidator::reviews`], asked once when the chain is built.
    reviews: bool,
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

/// A callback to deliver to strategies.
#[derive(Clone, Copy, Debug)]
enum Callback<'e> {
    Bar(&'e Bar),
    Trade(&'e TradeTick),
    Quote(&'e Quote),
    Fill(&'e FillReport),
    Update(&'e OrderUpdate),
}

/// A session, generic over the matching algorithm so the venue's hot path is monomorphized.
pub struct Session<M: MatchingAlgorithm> {
    settings: SessionConfig,
    assembly: Assembly,
    engine: MatchingEngine<M>,
    hub: IndicatorHub,
    feed_slot: usize,
    mode: FeedData,
    bar_source: Option<IndicatorHandle>,
    strategies: Vec<StrategyRuntime>,
    risk_chain: Vec<RiskLink>,
    /// (link, slot) of the validators whose `review` runs after every mark.
    reviewing: Vec<(usize, usize)>,
    market: Vec<InstrumentState>,
    venue_orders: FxHashMap<OrderId, (u32, ClientOrderId)>,
    intents: Vec<Intent>,
    pending: Vec<Intent>,
    next_client: u64,
    next_liquidity: u64,
    book_events: Vec<BookEvent>,
    trade_ticks: Vec<TradeTick>,
    bars_scratch: Vec<Bar>,
    marks: Vec<(Option<Price>, i64)>,
    equities: Vec<Money>,
    now: Timestamp,
    events: u64,
    bars: u64,
    venue_trades: u64,
    bad_rows: BadRows,
    /// The total's statistics; `None` with exactly one strategy, whose own statistics are the total's.
    total_stats: Option<EquityStats>,
    spacing: SpacingSample,
}

impl<M: MatchingAlgorithm> std::fmt::Debug for Session<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("mode", &self.mode).field("events", &self.events).finish()
    }
}

impl<M: MatchingAlgorithm> Session<M> {
    /// Builds, initializes and starts every component of a checked plan.
    ///
    /// # Errors
    /// A bad instrument declaration, a component that fails to load, init or start (everything
    /// already started is stopped), or a config the session cannot run (no feed).
    pub fn new(config: &Config, plan: &Plan, algorithm_source: AlgorithmSource<M>) -> Result<Session<M>, SessionError> {
        let settings = config.session.clone();
        let mut instruments = InstrumentTable::default();
        for (symbol, spec) in &config.instruments {
            let instrument = Instrument::new(symbol, spec.tick, spec.lot_size)
                .map_err(|e| SessionError::Setup(format!("instruments.{symbol}: {e}")))?;
            instruments.declare(instrument);
        }
        let mut assembly = Assembly::new(plan);
        let versions: BTreeMap<String, _> = plan
            .versions
            .iter()
            .filter(|((kind, _), _)| *kind == Kind::Indicator)
            .map(|((_, name), c)| (name.clone(), c.descriptor))
            .collect();
        let declared: BTreeMap<String, Vec<&'static str>> = plan
            .components
            .iter()
            .map(|c| {
                let deps =
                    c.registered.descriptor.dependencies.iter().filter(|d| d.kind == Kind::Indicator).map(|d| d.name);
                (c.request.id.clone(), deps.collect())
            })
            .collect();
        let configured: BTreeMap<String, usize> = assembly
            .slots()
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind == Kind::Indicator)
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        let seed = settings.seed;
        let mut hub = IndicatorHub::new(versions, declared, configured);
        {
            let mut provider = HubProvider { hub: &mut hub };
            let mut env = InitEnv { instruments: &mut instruments, indicators: Some(&mut provider), seed };
            assembly.init_eager(&mut env)?;
        }
        let feed_slot =
            assembly.find(Kind::Feed, "feed").ok_or_else(|| SessionError::Setup("no feed configured".to_owned()))?;
        let mode = match assembly.slot_mut(feed_slot).instance_mut() {
            Some(Instance::Feed(feed)) => feed.data(),
            _ => return Err(SessionError::Setup("the feed did not initialize".to_owned())),
        };
        // Strategies' indicators see bars whenever the session has bars; configured ones see the feed's data.
        let session_has_bars = mode == FeedData::Bars || settings.bar_source.is_some();
        hub.set_requested_input(if session_has_bars { Input::Bars } else { Input::Ticks });
        let configured_input = if mode == FeedData::Bars { Input::Bars } else { Input::Ticks };
        let primary = InstrumentId(0);
        let mut wanted = std::mem::take(&mut hub.wanted_slots);
        if let Some(id) = &settings.bar_source {
            let slot = assembly
                .find(Kind::Indicator, id)
                .ok_or_else(|| SessionError::Setup(format!("session.bar_source: no indicator {id:?} is configured")))?;
            wanted.push(slot);
        }
        for &slot in &wanted {
            let mut env = InitEnv { instruments: &mut instruments, indicators: None, seed };
            if let Err(error) = assembly.ensure_started(slot, &mut env) {
                assembly.stop_all();
                assembly.unload_all();
                return Err(error.into());
            }
        }
        if let Err(error) = hub.start_requested(&mut instruments, seed) {
            assembly.stop_all();
            assembly.unload_all();
            return Err(SessionError::Setup(error));
        }
        assembly.start_initialized()?;
        for slot in 0..assembly.slots().len() {
            let component = &assembly.slots()[slot];
            if component.kind == Kind::Indicator && component.built() && *component.state() == LifecycleState::Started {
                hub.add_configured(&assembly, slot, primary, configured_input);
            }
        }
        let bar_source = settings
            .bar_source
            .as_ref()
            .and_then(|id| assembly.find(Kind::Indicator, id))
            .map(|slot| hub.add_configured(&assembly, slot, primary, Input::Ticks));
        // Strategies in id order (the report's order); each gets its own owner id for self-trade prevention.
        let slots = assembly.slots();
        let mut strategy_slots: Vec<usize> =
            (0..slots.len()).filter(|&slot| slots[slot].kind == Kind::Strategy).collect();
        strategy_slots.sort_by(|&a, &b| slots[a].id.cmp(&slots[b].id));
        let strategies: Vec<StrategyRuntime> = strategy_slots
            .iter()
            .enumerate()
            .map(|(index, &slot)| StrategyRuntime {
                slot,
                id: slots[slot].id.clone(),
                label: slots[slot].label.clone(),
                owner: OwnerId::new(STRATEGY_OWNER_TOP - index as u32).expect("fewer than u32::MAX strategies"),
                account: Account::new(settings.initial_cash),
                open: Vec::new(),
                halted: None,
                stats: EquityStats::new(settings.initial_cash),
                orders: 0,
                rejected: 0,
            })
            .collect();
        let mut risk_chain: Vec<RiskLink> = slots
            .iter()
            .enumerate()
            .filter(|(_, component)| component.kind == Kind::Risk)
            .map(|(slot, component)| RiskLink {
                slot,
                id: component.id.clone(),
                label: component.label.clone(),
                order: component.order,
                rejections: 0,
                reviews: false,
            })
            .collect();
        risk_chain.sort_by(|a, b| (a.order, &a.id).cmp(&(b.order, &b.id)));
        for link in &mut risk_chain {
            if let Some(Instance::Risk(validator)) = assembly.slot_mut(link.slot).instance_mut() {
                // A validator that panics answering is treated as reviewing: `review` then contains it.
                link.reviews = boundary::contain(|| validator.reviews()).unwrap_or(true);
            }
        }
        let initial_total = Money::from_raw(settings.initial_cash.raw().saturating_mul(strategies.len() as i64));
        let engine = MatchingEngine::new(instruments, algorithm_source, config.matching.stp).with_book_capacity(4096);
        Ok(Session {
            total_stats: (strategies.len() != 1).then(|| EquityStats::new(initial_total)),
            settings,
            assembly,
            engine,
            hub,
            feed_slot,
            mode,
            bar_source,
            strategies,
            reviewing: risk_chain.iter().enumerate().filter(|(_, l)| l.reviews).map(|(i, l)| (i, l.slot)).collect(),
            risk_chain,
            market: Vec::new(),
            venue_orders: FxHashMap::default(),
            intents: Vec::with_capacity(16),
            pending: Vec::with_capacity(16),
            next_client: 1,
            next_liquidity: 0,
            book_events: Vec::with_capacity(64),
            trade_ticks: Vec::with_capacity(16),
            bars_scratch: Vec::with_capacity(4),
            marks: Vec::new(),
            equities: Vec::new(),
            now: Timestamp(0),
            events: 0,
            bars: 0,
            venue_trades: 0,
            bad_rows: BadRows::default(),
            spacing: SpacingSample::default(),
        })
    }

    /// What the feed produces.
    #[must_use]
    pub fn mode(&self) -> FeedData {
        self.mode
    }

    /// Runs the feed to its end, stops every component and reports.
    ///
    /// # Errors
    /// The feed failed; components are stopped and unloaded all the same.
    pub fn run(mut self, observer: &mut dyn SessionObserver) -> Result<SessionReport, SessionError> {
        let ids: Vec<String> = self.strategies.iter().map(|s| s.id.clone()).collect();
        observer.begin(&ids);
        let started = Instant::now();
        let result = self.event_loop(observer);
        let elapsed = started.elapsed().as_secs_f64();
        self.hub.stop_owned();
        for error in self.assembly.stop_all() {
            tracing::error!(%error, "component failed to stop");
        }
        self.refresh_marks();
        let report = self.report(elapsed);
        self.assembly.unload_all();
        result.map(|()| report)
    }

    fn event_loop(&mut self, observer: &mut dyn SessionObserver) -> Result<(), SessionError> {
        let span = tracing::info_span!("session", mode = ?self.mode);
        let _entered = span.enter();
        let mut last_mark_events = 0;
        loop {
            if self.settings.max_events.is_some_and(|max| self.events >= max) {
                break;
            }
            let Some(event) = self.next_feed_event()? else { break };
            self.events += 1;
            let instrument = match &event {
                MarketEvent::Bar(bar) => bar.instrument,
                MarketEvent::Trade(trade) => trade.instrument,
                MarketEvent::Quote(quote) => quote.instrument,
                MarketEvent::Order(_) => InstrumentId(0),
            };
            self.size_market(instrument);
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
        }
        if self.total_stats().marks() == 0 || (self.mode == FeedData::OrderFlow && self.events != last_mark_events) {
            self.mark(observer);
        }
        observer.progress(self.events);
        Ok(())
    }

    fn next_feed_event(&mut self) -> Result<Option<MarketEvent>, SessionError> {
        let Session { assembly, engine, bad_rows, feed_slot, .. } = self;
        let Some(Instance::Feed(feed)) = assembly.slot_mut(*feed_slot).instance_mut() else {
            return Err(SessionError::Feed("the feed is not running".to_owned()));
        };
        let mut ctx = FeedContext { instruments: engine.instruments_mut(), bad_rows };
        match boundary::contain(|| feed.next_event(&mut ctx)) {
            Ok(Ok(event)) => Ok(event),
            Ok(Err(error)) => Err(SessionError::Feed(error.0)),
            Err(panic) => {
                assembly.slot_mut(*feed_slot).fail(format!("panicked: {panic}"));
                Err(SessionError::Feed(format!("the feed panicked: {panic}")))
            }
        }
    }

    fn size_market(&mut self, instrument: InstrumentId) {
        let needed = (instrument.0 as usize + 1).max(self.engine.instruments().len());
        if self.market.len() < needed {
            self.market.resize(needed, InstrumentState::default());
        }
    }

    /// Bar mode: open auction, queued orders, then the bar closes.
    fn on_bar(&mut self, bar: &Bar, observer: &mut dyn SessionObserver) {
        self.now = bar.ts;
        let at = bar.instrument.0 as usize;
        let depth = self.settings.bars.depth.map_or(UNLIMITED_DEPTH, |d| d.0.max(0));
        let state = &mut self.market[at];
        state.bar_open = Some(bar.open);
        state.last = Some(bar.open);
        state.depth_left = (depth, depth);
        // Resting strategy orders the open gaps through.
        let has_resting = |strategies: &[StrategyRuntime], side: Side| {
            strategies.iter().any(|s| s.open.iter().any(|o| o.instrument == bar.instrument && o.side == side))
        };
        if has_resting(&self.strategies, Side::Buy) {
            self.with_liquidity(bar.instrument, Side::Sell, observer, |_, _| {});
        }
        if has_resting(&self.strategies, Side::Sell) {
            self.with_liquidity(bar.instrument, Side::Buy, observer, |_, _| {});
        }
        let pending = std::mem::take(&mut self.pending);
        for intent in &pending {
            self.apply_intent(*intent, observer);
        }
        self.pending = pending;
        self.pending.clear();
        self.drain_intents(observer);
        self.market[at].last = Some(bar.close);
        self.bars_scratch.clear();
        self.hub.update(&mut self.assembly, bar.instrument, &MarketEvent::Bar(*bar), &mut self.bars_scratch);
        self.deliver(Callback::Bar(bar), observer);
        self.drain_intents(observer);
        self.bars += 1;
        self.mark(observer);
    }

    /// Order-flow mode: replay one command, then deliver what it caused.
    fn on_order_flow(&mut self, flow: &OrderFlowEvent, observer: &mut dyn SessionObserver) {
        self.now = flow.ts;
        let mut events = std::mem::take(&mut self.book_events);
        events.clear();
        let instrument = self.engine.execute(&flow.command, &mut events);
        if let OrderCommand::New { order, .. } = &flow.command
            && order.id.0 >= STRATEGY_ORDER_BASE
        {
            tracing::warn!(id = order.id.0, "replayed order id in the range reserved for strategy orders");
        }
        if let Some(instrument) = instrument {
            self.size_market(instrument);
            self.settle(instrument, &events, observer);
            self.book_events = events;
            let quote = self.refresh_top(instrument);
            self.deliver_market_data(instrument, quote, observer);
        } else {
            self.book_events = events;
        }
        self.drain_intents(observer);
    }

    /// Sends trades (and a quote change) of `instrument` to indicators and strategies.
    #[inline]
    fn deliver_market_data(
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
            self.bars_scratch.clear();
            self.hub.update(&mut self.assembly, instrument, &MarketEvent::Trade(*tick), &mut self.bars_scratch);
            self.deliver(Callback::Trade(tick), observer);
            let bars = std::mem::take(&mut self.bars_scratch);
            for bar in &bars {
                self.bars += 1;
                let mut more = Vec::new();
                self.hub.update(&mut self.assembly, instrument, &MarketEvent::Bar(*bar), &mut more);
                self.deliver(Callback::Bar(bar), observer);
                if self.bar_source.is_some() {
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

    /// Updates the top of book after a command; returns a quote if it changed.
    fn refresh_top(&mut self, instrument: InstrumentId) -> Option<Quote> {
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

    /// Calls every running strategy with one callback.
    fn deliver(&mut self, callback: Callback<'_>, observer: &mut dyn SessionObserver) {
        for index in 0..self.strategies.len() {
            self.call_strategy(index, callback, observer);
        }
    }

    fn call_strategy(&mut self, index: usize, callback: Callback<'_>, observer: &mut dyn SessionObserver) {
        let Session { assembly, strategies, hub, market, engine, intents, next_client, now, .. } = self;
        let runtime = &strategies[index];
        if runtime.halted.as_deref().is_some_and(|reason| reason.starts_with("failed")) {
            return;
        }
        let slot = runtime.slot;
        let Some(Instance::Strategy(strategy)) = assembly.slot_mut(slot).instance_mut() else { return };
        let mut host = Host {
            now: *now,
            strategy: index as u32,
            runtime,
            intents,
            next_client,
            hub,
            market,
            instruments: engine.instruments(),
        };
        let strategy: &mut dyn Strategy = strategy.as_mut();
        let result = boundary::contain(|| {
            let mut ctx = StrategyContext::new(&mut host);
            match callback {
                Callback::Bar(bar) => strategy.on_bar(bar, &mut ctx),
                Callback::Trade(trade) => strategy.on_trade(trade, &mut ctx),
                Callback::Quote(quote) => strategy.on_quote(quote, &mut ctx),
                Callback::Fill(fill) => strategy.on_fill(fill, &mut ctx),
                Callback::Update(update) => strategy.on_order_update(update, &mut ctx),
            }
        });
        if let Err(panic) = result {
            let reason = format!("failed: panicked: {panic}");
            assembly.slot_mut(slot).fail(format!("panicked: {panic}"));
            self.intents.retain(|intent| !matches!(intent, Intent::Submit { strategy, .. } | Intent::Cancel { strategy, .. } if *strategy == index as u32));
            self.halt(index, reason, observer);
        }
    }

    /// Applies queued strategy actions, round after round, until none are left (bounded).
    #[inline]
    fn drain_intents(&mut self, observer: &mut dyn SessionObserver) {
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

    fn apply_intent(&mut self, intent: Intent, observer: &mut dyn SessionObserver) {
        match intent {
            Intent::Cancel { strategy, client } => {
                let venue = OrderId(STRATEGY_ORDER_BASE + client.0);
                let Some(instrument) =
                    self.strategies[strategy as usize].open.iter().find(|o| o.id == client).map(|o| o.instrument)
                else {
                    return;
                };
                let mut events = std::mem::take(&mut self.book_events);
                events.clear();
                self.engine.execute(&OrderCommand::Cancel { instrument: Some(instrument), id: venue }, &mut events);
                self.settle(instrument, &events, observer);
                self.book_events = events;
                self.refresh_top(instrument);
            }
            Intent::Submit { strategy, client, request } => self.submit(strategy as usize, client, request, observer),
        }
    }

    /// Risk chain, then the venue.
    fn submit(
        &mut self,
        index: usize,
        client: ClientOrderId,
        request: OrderRequest,
        observer: &mut dyn SessionObserver,
    ) {
        self.strategies[index].orders += 1;
        if let Some(reason) = &self.strategies[index].halted {
            let update = OrderUpdate {
                order: client,
                status: OrderStatus::Rejected {
                    by: "session".to_owned(),
                    reason: format!("strategy halted: {reason}"),
                },
                remaining: request.qty,
            };
            self.strategies[index].rejected += 1;
            self.call_strategy(index, Callback::Update(&update), observer);
            return;
        }
        if request.instrument.0 as usize >= self.engine.instruments().len() {
            self.reject(
                index,
                client,
                request.qty,
                "venue",
                format!("unknown instrument id {}", request.instrument.0),
                observer,
            );
            return;
        }
        self.size_market(request.instrument);
        if let Some((link, rejection)) = self.check_risk(index, &request) {
            let by = format!("risk:{}", self.risk_chain[link].id);
            self.risk_chain[link].rejections += 1;
            self.reject(index, client, request.qty, &by, rejection.reason.clone(), observer);
            if rejection.halt {
                self.halt(index, format!("halted by {by}: {}", rejection.reason), observer);
            }
            return;
        }
        let venue = OrderId(STRATEGY_ORDER_BASE + client.0);
        let order = NewOrder {
            id: venue,
            side: request.side,
            order_type: request.order_type,
            price: request.price,
            qty: request.qty,
            tif: request.tif,
            owner: Some(self.strategies[index].owner),
        };
        self.venue_orders.insert(venue, (index as u32, client));
        let instrument = request.instrument;
        if self.mode == FeedData::Bars {
            let side = request.side.opposite();
            self.with_liquidity(instrument, side, observer, |session, observer| {
                session.execute_strategy_order(instrument, &order, observer)
            });
        } else {
            self.execute_strategy_order(instrument, &order, observer);
            // The top of book moves, but quotes follow feed events only: a strategy's own order is not
            // echoed back as a quote (that would let strategies drive each other in loops).
            self.refresh_top(instrument);
            self.deliver_market_data(instrument, None, observer);
        }
    }

    fn execute_strategy_order(
        &mut self,
        instrument: InstrumentId,
        order: &NewOrder,
        observer: &mut dyn SessionObserver,
    ) {
        let mut events = std::mem::take(&mut self.book_events);
        events.clear();
        self.engine.execute(&OrderCommand::New { instrument, order: *order }, &mut events);
        let mapping = self.venue_orders.get(&order.id).copied();
        self.settle(instrument, &events, observer);
        self.book_events = events;
        // Settled first: the order's own fills and expiry reached the strategy; now it rests or is done.
        match (self.engine.book(instrument).and_then(|b| b.order(order.id)), mapping) {
            (Some(resting), Some((index, client))) => self.strategies[index as usize].open.push(OpenOrder {
                id: client,
                instrument,
                side: resting.side,
                price: resting.price,
                remaining: resting.remaining,
            }),
            _ => {
                self.venue_orders.remove(&order.id);
            }
        }
    }

    /// Bar mode: puts venue liquidity on `side` at the open (± half spread), runs `then`, removes it.
    fn with_liquidity(
        &mut self,
        instrument: InstrumentId,
        side: Side,
        observer: &mut dyn SessionObserver,
        then: impl FnOnce(&mut Session<M>, &mut dyn SessionObserver),
    ) {
        let at = instrument.0 as usize;
        let state = self.market[at];
        let Some(open) = state.bar_open else {
            then(self, observer);
            return;
        };
        let tick = self.engine.instruments().get(instrument).tick;
        let spread = self.settings.bars.spread_ticks.max(0);
        let bid = open.offset_ticks(-(spread / 2), tick).unwrap_or(open);
        let price = match side {
            Side::Buy => bid,
            Side::Sell => bid.offset_ticks(spread, tick).unwrap_or(open),
        };
        let depth = match side {
            Side::Buy => state.depth_left.0,
            Side::Sell => state.depth_left.1,
        };
        if depth <= 0 || !price.is_on_tick(tick) || price.raw() <= 0 {
            then(self, observer);
            return;
        }
        self.next_liquidity += 1;
        let id = OrderId(LIQUIDITY_ORDER_BASE + self.next_liquidity);
        let order = NewOrder {
            id,
            side,
            order_type: OrderType::Limit,
            price: Some(price),
            qty: Qty(depth),
            tif: TimeInForce::Gtc,
            owner: None,
        };
        let mut events = std::mem::take(&mut self.book_events);
        events.clear();
        self.engine.execute(&OrderCommand::New { instrument, order }, &mut events);
        self.settle(instrument, &events, observer);
        self.book_events = events;
        then(self, observer);
        let left = self.engine.book(instrument).and_then(|b| b.order(id)).map_or(0, |o| o.remaining.0);
        let used = depth - left;
        let state = &mut self.market[at];
        match side {
            Side::Buy => state.depth_left.0 -= used,
            Side::Sell => state.depth_left.1 -= used,
        }
        if left > 0 {
            let mut events = std::mem::take(&mut self.book_events);
            events.clear();
            self.engine.execute(&OrderCommand::Cancel { instrument: Some(instrument), id }, &mut events);
            self.book_events = events;
        }
    }

    /// Books what a command did: trades (market data and fills), and strategy order updates.
    fn settle(&mut self, instrument: InstrumentId, events: &[BookEvent], observer: &mut dyn SessionObserver) {
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
                    if let Some(&(index, client)) = self.strategy_order(trade.maker) {
                        self.fill(
                            index as usize,
                            client,
                            trade.maker,
                            instrument,
                            trade.aggressor.opposite(),
                            trade.price,
                            trade.qty,
                            observer,
                        );
                    }
                    if let Some(&(index, client)) = self.strategy_order(trade.taker) {
                        self.fill(
                            index as usize,
                            client,
                            trade.taker,
                            instrument,
                            trade.aggressor,
                            trade.price,
                            trade.qty,
                            observer,
                        );
                    }
                }
                BookEvent::Rejected { id, reason } => {
                    if let Some((index, client)) = self.remove_strategy_order(id) {
                        let qty = self.strategies[index as usize]
                            .open
                            .iter()
                            .find(|o| o.id == client)
                            .map_or(Qty(0), |o| o.remaining);
                        self.reject(index as usize, client, qty, "venue", reason.as_str().to_owned(), observer);
                    }
                }
                BookEvent::Cancelled { id, remaining } | BookEvent::Expired { id, remaining } => {
                    if let Some((index, client)) = self.remove_strategy_order(id) {
                        let open = &mut self.strategies[index as usize].open;
                        open.retain(|o| o.id != client);
                        let status = if matches!(event, BookEvent::Cancelled { .. }) {
                            OrderStatus::Cancelled
                        } else {
                            OrderStatus::Expired
                        };
                        let update = OrderUpdate { order: client, status, remaining };
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
        let lot_size = self.engine.instruments().get(instrument).lot_size;
        let fee = commission(&self.settings.commission, price, qty, lot_size);
        let runtime = &mut self.strategies[index];
        if let Some(trip) = runtime.account.book_fill(instrument, side, price, qty, lot_size, fee, self.now, self.bars)
        {
            observer.round_trip(&RoundTrip {
                strategy: runtime.id.clone(),
                symbol: self.engine.instruments().get(instrument).symbol.clone(),
                trip,
            });
        }
        if let Some(open) = runtime.open.iter_mut().find(|o| o.id == client) {
            open.remaining.0 -= qty.0;
        }
        // A resting order that filled completely is done; a new order's mapping is settled by its submitter.
        let done = runtime.open.iter().find(|o| o.id == client).is_some_and(|o| o.remaining.0 <= 0);
        if done {
            runtime.open.retain(|o| o.id != client);
            self.venue_orders.remove(&venue);
        }
        let report = FillReport { order: client, ts: self.now, instrument, side, price, qty, commission: fee };
        self.call_strategy(index, Callback::Fill(&report), observer);
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
        let update =
            OrderUpdate { order: client, status: OrderStatus::Rejected { by: by.to_owned(), reason }, remaining: qty };
        self.call_strategy(index, Callback::Update(&update), observer);
    }

    /// Stops a strategy: cancels its resting orders; its new orders are refused from now on.
    fn halt(&mut self, index: usize, reason: String, observer: &mut dyn SessionObserver) {
        if self.strategies[index].halted.is_some() {
            return;
        }
        tracing::warn!(strategy = %self.strategies[index].id, %reason, "strategy halted");
        self.strategies[index].halted = Some(reason);
        let open: Vec<OpenOrder> = self.strategies[index].open.clone();
        for order in open {
            let mut events = std::mem::take(&mut self.book_events);
            events.clear();
            let id = OrderId(STRATEGY_ORDER_BASE + order.id.0);
            self.engine.execute(&OrderCommand::Cancel { instrument: Some(order.instrument), id }, &mut events);
            self.settle(order.instrument, &events, observer);
            self.book_events = events;
        }
    }

    /// Runs the chain; returns the first refusal and its link.
    fn check_risk(&mut self, index: usize, request: &OrderRequest) -> Option<(usize, RiskReject)> {
        if self.risk_chain.is_empty() {
            return None;
        }
        self.refresh_marks();
        let Session { assembly, strategies, engine, market, mode, now, risk_chain, marks, .. } = self;
        let pnl = strategies[index].account.pnl(marks);
        let view = build_view(index, request.instrument, strategies, engine.instruments(), market, *mode, *now, pnl);
        for (link, risk) in risk_chain.iter().enumerate() {
            let slot = assembly.slot_mut(risk.slot);
            let result = match slot.instance_mut() {
                Some(Instance::Risk(validator)) => boundary::contain(|| validator.check(request, &view)),
                // Fail closed: a validator that failed earlier refuses every order after it.
                _ => return Some((link, RiskReject::new(format!("validator not running ({})", slot.state())))),
            };
            match result {
                Ok(Ok(())) => {}
                Ok(Err(rejection)) => return Some((link, rejection)),
                Err(panic) => {
                    slot.fail(format!("panicked: {panic}"));
                    return Some((link, RiskReject::new(format!("validator failed: panicked: {panic}"))));
                }
            }
        }
        None
    }

    /// The last price and lot size of every instrument, as accounts mark positions.
    fn refresh_marks(&mut self) {
        let instruments = self.engine.instruments();
        if self.marks.len() == instruments.len() {
            // The common case: the same instruments, new prices.
            for (at, mark) in self.marks.iter_mut().enumerate() {
                mark.0 = self.market.get(at).and_then(|m| m.last);
            }
            return;
        }
        self.marks.clear();
        for (id, instrument) in instruments.iter() {
            self.marks.push((self.market.get(id.0 as usize).and_then(|m| m.last), instrument.lot_size));
        }
    }

    /// Statistics of the total equity.
    fn total_stats(&self) -> &EquityStats {
        match &self.total_stats {
            Some(stats) => stats,
            None => &self.strategies[0].stats,
        }
    }

    /// Marks every account at the last prices, records equity, and lets validators review strategies.
    fn mark(&mut self, observer: &mut dyn SessionObserver) {
        self.refresh_marks();
        self.equities.clear();
        let mut total = Money::ZERO;
        let mut drawdown = 0.0;
        for runtime in &mut self.strategies {
            let equity = runtime.account.equity(&self.marks);
            drawdown = runtime.stats.mark(self.now, equity);
            self.equities.push(equity);
            total = total.saturating_add(equity);
        }
        if let Some(stats) = &mut self.total_stats {
            drawdown = stats.mark(self.now, total);
        }
        self.spacing.observe(self.now);
        observer.equity(self.now, self.bars, total, &self.equities, drawdown);
        // Nothing to review without validators that review, or before any instrument exists (an
        // order-flow file with no rows): no position can have been taken.
        if self.reviewing.is_empty() || self.engine.instruments().is_empty() {
            return;
        }
        for index in 0..self.strategies.len() {
            if self.strategies[index].halted.is_some() {
                continue;
            }
            let verdict = {
                let Session { assembly, strategies, engine, market, mode, now, reviewing, equities, .. } = self;
                let pnl = equities[index].saturating_sub(strategies[index].account.initial_cash);
                let view =
                    build_view(index, InstrumentId(0), strategies, engine.instruments(), market, *mode, *now, pnl);
                reviewing.iter().find_map(|&(link, slot)| {
                    let component = assembly.slot_mut(slot);
                    let validator = match component.instance_mut() {
                        Some(Instance::Risk(validator)) => validator,
                        _ => return None,
                    };
                    match boundary::contain(|| validator.review(&view)) {
                        Ok(verdict) => verdict.filter(|r| r.halt).map(|r| (link, r)),
                        Err(panic) => {
                            // Fail closed: the strategy it could no longer watch stops trading.
                            component.fail(format!("panicked: {panic}"));
                            Some((link, RiskReject::halt(format!("validator failed: panicked: {panic}"))))
                        }
                    }
                })
            };
            if let Some((link, rejection)) = verdict {
                let by = format!("risk:{}", self.risk_chain[link].id);
                self.risk_chain[link].rejections += 1;
                self.halt(index, format!("halted by {by}: {}", rejection.reason), observer);
            }
        }
    }

    fn report(&self, elapsed: f64) -> SessionReport {
        let periods_per_year = self.settings.periods_per_year.unwrap_or_else(|| self.spacing.periods_per_year());
        let marks = &self.marks;
        let strategies: Vec<StrategyReport> = self
            .strategies
            .iter()
            .map(|s| {
                let account = &s.account;
                let unrealized = account.unrealized(marks);
                let net = account.realized.saturating_add(unrealized).saturating_sub(account.commission);
                let positions = account
                    .positions
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.qty != 0)
                    .map(|(at, p)| (self.engine.instruments().get(InstrumentId(at as u32)).symbol.clone(), p.qty))
                    .collect();
                let status = match (&s.halted, self.assembly.slots()[s.slot].state()) {
                    (_, LifecycleState::Failed(reason)) => format!("failed: {reason}"),
                    (Some(reason), _) => reason.clone(),
                    (None, _) => "running".to_owned(),
                };
                StrategyReport {
                    id: s.id.clone(),
                    plugin: s.label.clone(),
                    status,
                    trades: account.round_trips,
                    win_rate_pct: if account.round_trips == 0 {
                        0.0
                    } else {
                        100.0 * account.winners as f64 / account.round_trips as f64
                    },
                    realized_pnl: account.realized,
                    unrealized_pnl: unrealized,
                    commission: account.commission,
                    net_pnl: net,
                    return_pct: 100.0 * net.to_f64() / account.initial_cash.to_f64().max(f64::MIN_POSITIVE),
                    max_drawdown_pct: 100.0 * s.stats.max_drawdown(),
                    sharpe: s.stats.sharpe(periods_per_year),
                    orders: s.orders,
                    rejected: s.rejected,
                    fills: account.fills,
                    positions,
                }
            })
            .collect();
        let initial_total =
            Money::from_raw(self.settings.initial_cash.raw().saturating_mul(self.strategies.len() as i64));
        let final_total =
            self.strategies.iter().fold(Money::ZERO, |sum, s| sum.saturating_add(s.account.equity(marks)));
        let mut components: Vec<ComponentReport> = self
            .assembly
            .slots()
            .iter()
            .map(|slot| ComponentReport {
                id: slot.id.clone(),
                kind: slot.kind,
                plugin: slot.label.clone(),
                lazy: slot.lazy,
                initialized: slot.built(),
                state: slot.state().to_string(),
            })
            .collect();
        let mut init_us: Vec<(String, Option<u64>)> = self
            .assembly
            .slots()
            .iter()
            .map(|s| (s.id.clone(), s.times().init.map(|d| d.as_micros() as u64)))
            .collect();
        for entry in &self.hub.entries {
            if components.iter().any(|c| c.id == entry.id) {
                continue;
            }
            components.push(ComponentReport {
                id: entry.id.clone(),
                kind: Kind::Indicator,
                plugin: entry.label.clone(),
                lazy: true,
                initialized: entry.init_time.is_some(),
                state: entry.state.to_string(),
            });
            init_us.push((entry.id.clone(), entry.init_time.map(|d| d.as_micros() as u64)));
        }
        SessionReport {
            mode: self.mode,
            events: self.events,
            bars: self.bars,
            venue_trades: self.venue_trades,
            periods_per_year,
            total: TotalReport {
                initial_equity: initial_total,
                final_equity: final_total,
                return_pct: 100.0 * self.total_stats().total_return(),
                max_drawdown_pct: 100.0 * self.total_stats().max_drawdown(),
                sharpe: self.total_stats().sharpe(periods_per_year),
            },
            strategies,
            risk: self
                .risk_chain
                .iter()
                .map(|l| RiskReport {
                    id: l.id.clone(),
                    plugin: l.label.clone(),
                    order: l.order,
                    rejections: l.rejections,
                })
                .collect(),
            components,
            indicators: self
                .hub
                .last_values()
                .into_iter()
                .map(|(id, plugin, values)| IndicatorReport { id, plugin, values })
                .collect(),
            bad_rows: self.bad_rows.clone(),
            timing: TimingReport { elapsed_s: elapsed, events_per_s: self.events as f64 / elapsed.max(1e-9), init_us },
            curve: self.total_stats().curve().to_vec(),
        }
    }
}

/// What validators see of strategy `index` and `instrument`, which must exist.
#[allow(clippy::too_many_arguments)]
#[inline]
fn build_view<'a>(
    index: usize,
    instrument: InstrumentId,
    strategies: &'a [StrategyRuntime],
    instruments: &'a InstrumentTable,
    market: &[InstrumentState],
    mode: FeedData,
    now: Timestamp,
    pnl: Money,
) -> RiskView<'a> {
    let runtime = &strategies[index];
    let state = market.get(instrument.0 as usize);
    let (open_buy, open_sell) =
        runtime.open.iter().filter(|o| o.instrument == instrument).fold((0, 0), |(b, s), o| match o.side {
            Side::Buy => (b + o.remaining.0, s),
            Side::Sell => (b, s + o.remaining.0),
        });
    let last_price = state.and_then(|s| s.last);
    let reference = state.and_then(|state| match mode {
        FeedData::Bars => state.bar_open,
        FeedData::OrderFlow => match (state.bid, state.ask) {
            (Some((bid, _)), Some((ask, _))) => Some(Price::from_raw(bid.raw() + (ask.raw() - bid.raw()) / 2)),
            _ => state.last,
        },
    });
    RiskView {
        strategy: index as u32,
        strategy_id: &runtime.id,
        now,
        instrument: instruments.get(instrument),
        position: runtime.account.position(instrument),
        open_buy: Qty(open_buy),
        open_sell: Qty(open_sell),
        last_price,
        reference_price: reference,
        pnl,
    }
}

/// The session as one strategy sees it during a callback.
struct Host<'a> {
    now: Timestamp,
    strategy: u32,
    runtime: &'a StrategyRuntime,
    intents: &'a mut Vec<Intent>,
    next_client: &'a mut u64,
    hub: &'a IndicatorHub,
    market: &'a [InstrumentState],
    instruments: &'a InstrumentTable,
}

impl StrategyHost for Host<'_> {
    fn now(&self) -> Timestamp {
        self.now
    }

    fn submit(&mut self, order: OrderRequest) -> ClientOrderId {
        let client = ClientOrderId(*self.next_client);
        *self.next_client += 1;
        self.intents.push(Intent::Submit { strategy: self.strategy, client, request: order });
        client
    }

    fn cancel(&mut self, id: ClientOrderId) {
        self.intents.push(Intent::Cancel { strategy: self.strategy, client: id });
    }

    fn position(&self, instrument: InstrumentId) -> Qty {
        self.runtime.account.position(instrument)
    }

    fn open_orders(&self) -> &[OpenOrder] {
        &self.runtime.open
    }

    fn indicator(&self, handle: IndicatorHandle, output: usize) -> Option<f64> {
        self.hub.value(handle, output)
    }

    fn top_of_book(&self, instrument: InstrumentId) -> (Option<Price>, Option<Price>) {
        self.market.get(instrument.0 as usize).map_or((None, None), |m| (m.bid.map(|b| b.0), m.ask.map(|a| a.0)))
    }

    fn last_price(&self, instrument: InstrumentId) -> Option<Price> {
        self.market.get(instrument.0 as usize).and_then(|m| m.last)
    }

    fn instrument(&self, instrument: InstrumentId) -> &Instrument {
        self.instruments.get(instrument)
    }
}
