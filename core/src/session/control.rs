//! Control of a running session (`tradsys serve`): commands from admin threads, applied by the
//! session thread at its safe point, the top of the event loop, between two events.
//!
//! Admin threads only send [`Command`]s through a channel and wait for the [`Reply`]; they never
//! touch the session. A [`Change`] applies atomically: every new instance is built, initialized,
//! started and handed its predecessor's state first, while the running ones keep running; only if
//! all of that succeeds are they switched in, in one go. If anything fails, the staged instances
//! are discarded, in-place reconfigurations are undone with the previous parameters, the indicator
//! hub and instrument table return to their checkpoint, and the session runs on exactly as it was.
//! (One thing cannot be undone: a component that *panics* inside `reconfigure` or `snapshot` is
//! marked failed for a `reconfigure`, as any panicking component is; a panicking `snapshot` only
//! refuses the swap.)
//!
//! # Pacing and a quiet feed
//! The session paces the feed itself: it takes the next event, and if the event is not yet due
//! (`serve.rate` events/s, or `serve.speed` × the feed's own timestamps), it waits on the command
//! channel until it is. A command that arrives while the session waits is applied at once.
//!
//! A live feed that has nothing yet answers [`FeedPoll::Pending`](crate::component::FeedPoll)
//! instead of blocking; the session then waits on its [`Waker`](crate::component::Waker), which
//! the feed rings when an event arrives and [`CommandSender::send`] rings with every command. So
//! the session waits on feed and commands together, and neither delays the other.

use std::fmt;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::time::{Duration, Instant};

use figment::value::Dict;

use super::change::{Change, OpenOrders, Step};
use super::indicators::HubProvider;
use super::risk::RiskLink;
use super::stats::EquityStats;
use super::strategies::StrategyRuntime;
use super::{Session, SessionObserver, SessionReport};
use crate::boundary::Call;
use crate::component::{ComponentId, Handover, OpenOrder, Reconfigured, StrategySnapshot};
use crate::config::{Pace, ServeConfig};
use crate::factory::{InitEnv, InvokeError, LifecycleError, LifecycleState, Replacement, StagedSlot};
use crate::market::MarketEvent;
use crate::matching::MatchingAlgorithm;
use crate::plugin::{Instance, Kind};
use crate::session::portfolio::Account;
use crate::types::OwnerId;

/// Sends a command's answer back to the admin thread that asked (whatever channel it waits on).
pub struct Reply<T>(Box<dyn FnOnce(T) + Send>);

impl<T> Reply<T> {
    /// A reply that calls `send` with the answer.
    pub fn new(send: impl FnOnce(T) + Send + 'static) -> Reply<T> {
        Reply(Box::new(send))
    }

    fn send(self, answer: T) {
        (self.0)(answer);
    }
}

impl<T> fmt::Debug for Reply<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Reply")
    }
}

/// The answer to a change: what it did, or every reason it was refused (nothing changed then).
pub type ChangeAnswer = Result<Vec<Applied>, Vec<ChangeError>>;

/// What an admin thread asks of the running session.
#[derive(Debug)]
pub enum Command {
    /// Apply a change atomically; the answer lists what changed, or every reason it did not.
    Apply {
        /// The change (boxed: commands are moved through a channel).
        change: Box<Change>,
        /// Where the answer goes.
        reply: Reply<ChangeAnswer>,
    },
    /// Stop one component (a strategy's resting orders are cancelled first).
    Stop {
        /// Which.
        component: ComponentId,
        /// Where the answer goes.
        reply: Reply<Result<Applied, ChangeError>>,
    },
    /// Start a stopped component again.
    Start {
        /// Which.
        component: ComponentId,
        /// Where the answer goes.
        reply: Reply<Result<Applied, ChangeError>>,
    },
    /// The live report (the same shape as `run`'s).
    Report {
        /// Where the answer goes.
        reply: Reply<SessionReport>,
    },
    /// How the session and its feed are doing (cheap: no report is built).
    Health {
        /// Where the answer goes.
        reply: Reply<super::SessionHealth>,
    },
    /// End the session: refuse further changes, stop components in reverse dependency order.
    Shutdown,
}

/// Why a change was not applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// No such component (or a strategy that was removed).
    #[error("{component}: no such component in the running session")]
    Unknown {
        /// What was named.
        component: ComponentId,
    },
    /// The session or the component is not in a state that allows it.
    #[error("{component}: {message}")]
    Conflict {
        /// The component (or `session`).
        component: String,
        /// Why not.
        message: String,
    },
    /// A new instance failed (to build, init, start or take over), or a running one refused its new
    /// parameters.
    #[error(transparent)]
    Failed(#[from] LifecycleError),
}

/// One thing a change did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The component, or `None` for session-wide settings.
    pub component: Option<ComponentId>,
    /// What happened.
    pub action: Action,
}

/// What happened to a component in a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Added, running this plugin.
    Added(String),
    /// Removed (a strategy's orders cancelled; its position stays in the report).
    Removed,
    /// Swapped from one plugin to another (`name@version` each).
    Swapped {
        /// The old plugin.
        from: String,
        /// The new one.
        to: String,
    },
    /// New parameters taken in place, state kept.
    Reconfigured,
    /// Moved in the risk chain.
    Reordered(i64),
    /// Its lazy flag set.
    Lazy(bool),
    /// Stopped.
    Stopped,
    /// Started.
    Started,
    /// Alert budgets replaced.
    Alerts,
    /// Pacing changed.
    Pacing,
}

impl fmt::Display for Applied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(component) = &self.component {
            write!(f, "{component}: ")?;
        }
        match &self.action {
            Action::Added(plugin) => write!(f, "added ({plugin})"),
            Action::Removed => f.write_str("removed"),
            Action::Swapped { from, to } => write!(f, "swapped {from} -> {to}"),
            Action::Reconfigured => f.write_str("reconfigured in place"),
            Action::Reordered(order) => write!(f, "moved to order {order} in the risk chain"),
            Action::Lazy(lazy) => write!(f, "lazy = {lazy}"),
            Action::Stopped => f.write_str("stopped"),
            Action::Started => f.write_str("started"),
            Action::Alerts => f.write_str("alert budgets replaced"),
            Action::Pacing => f.write_str("pacing changed"),
        }
    }
}

/// The sending end of a session's command channel: every command also wakes the session if it
/// waits for a live feed. Made by [`Session::control_channel`]; clone it for every thread that
/// sends.
#[derive(Clone, Debug)]
pub struct CommandSender {
    sender: Sender<Command>,
    waker: crate::component::Waker,
}

impl CommandSender {
    /// Sends `command` and wakes the session.
    ///
    /// # Errors
    /// The session has ended; the command is handed back.
    pub fn send(&self, command: Command) -> Result<(), Command> {
        self.sender.send(command).map_err(|refused| refused.0)?;
        self.waker.wake();
        Ok(())
    }
}

impl<M: MatchingAlgorithm> Session<M> {
    /// A command channel to this session: the sender for admin threads, the inbox for
    /// [`ControlPort::new`].
    #[must_use]
    pub fn control_channel(&self) -> (CommandSender, Receiver<Command>) {
        let (sender, inbox) = std::sync::mpsc::channel();
        (CommandSender { sender, waker: self.waker.clone() }, inbox)
    }
}

/// The session end of the control channel, with the pacing and what the session measured of its
/// own changes.
#[derive(Debug)]
pub struct ControlPort {
    commands: Receiver<Command>,
    pacing: Pacing,
    /// Keep answering queries after the feed ends, until a shutdown.
    stay_after_end: bool,
    shutdown: bool,
    /// How long each change held the event loop, in nanoseconds.
    holds: hdrhistogram::Histogram<u64>,
}

impl ControlPort {
    /// A port reading `commands`, pacing the feed as `serve` says; with `stay_after_end`, the
    /// session answers queries after its feed ends until it is shut down.
    ///
    /// # Panics
    /// Never: the histogram's bounds are constants.
    #[must_use]
    pub fn new(commands: Receiver<Command>, serve: &ServeConfig, stay_after_end: bool) -> ControlPort {
        ControlPort {
            commands,
            pacing: Pacing::new(serve),
            stay_after_end,
            shutdown: false,
            holds: hdrhistogram::Histogram::new_with_bounds(1, 60_000_000_000, 3).expect("valid histogram bounds"),
        }
    }

    /// Whether a shutdown was asked.
    pub(super) fn shutdown_asked(&self) -> bool {
        self.shutdown
    }

    /// How long changes held the event loop: (count, p50, p99, max) in microseconds.
    #[must_use]
    pub fn hold_times_us(&self) -> (u64, f64, f64, f64) {
        let us = |ns: u64| ns as f64 / 1000.0;
        let h = &self.holds;
        (h.len(), us(h.value_at_quantile(0.5)), us(h.value_at_quantile(0.99)), us(h.max()))
    }
}

/// When each event is due against the wall clock.
#[derive(Debug)]
struct Pacing {
    rate: Pace,
    speed: Pace,
    /// (wall clock, feed time in ns, events) at the first paced event.
    origin: Option<(Instant, i64, u64)>,
}

impl Pacing {
    fn new(serve: &ServeConfig) -> Pacing {
        Pacing { rate: serve.rate, speed: serve.speed, origin: None }
    }

    fn set(&mut self, serve: &ServeConfig) {
        *self = Pacing::new(serve);
    }

    /// The instant `event` (the session's `events`-th) is due, or `None` to go at once.
    fn due(&mut self, event: &MarketEvent, events: u64) -> Option<Instant> {
        if self.rate == Pace::Max && self.speed == Pace::Max {
            return None;
        }
        let ts = event.ts().0;
        let (wall, first_ts, first_event) = *self.origin.get_or_insert((Instant::now(), ts, events));
        // A pace so slow that the next event is more than a century away waits a century: commands
        // are still applied meanwhile, and nothing overflows.
        const CENTURY: Duration = Duration::from_secs(100 * 365 * 86_400);
        let wait = |seconds: f64| Duration::try_from_secs_f64(seconds).map_or(CENTURY, |wait| wait.min(CENTURY));
        let mut after = Duration::ZERO;
        if let Pace::Every(rate) = self.rate {
            after = after.max(wait(events.saturating_sub(first_event) as f64 / rate));
        }
        if let Pace::Every(speed) = self.speed {
            let feed_ns = ts.saturating_sub(first_ts).max(0) as f64;
            after = after.max(wait(feed_ns / 1e9 / speed));
        }
        Some(wall.checked_add(after).unwrap_or(wall))
    }
}

/// One new instance waiting to be switched in.
struct Staged {
    instance: StagedSlot,
    target: Target,
}

enum Target {
    /// Replaces the instance of this slot.
    Replace(usize),
    /// A new strategy or validator (or one re-added into its old, unloaded slot).
    Add(Option<usize>),
    /// A requested indicator for hub entry `entry`, started before the strategy with this id.
    Indicator { entry: usize, requester: String },
}

impl<M: MatchingAlgorithm> Session<M> {
    /// Runs like [`run`](Session::run), taking commands from `port` at the safe point and pacing the
    /// feed as the port says; after the feed ends it keeps answering queries (changes are then
    /// refused) until a [`Command::Shutdown`] if the port says to stay.
    pub fn serve(mut self, port: &mut ControlPort, observer: &mut dyn SessionObserver) -> super::RunOutcome {
        if self.total_stats.is_none() {
            // Strategies may be added while the system runs: keep the total's own statistics.
            self.total_stats = Some(self.strategies[0].stats.clone());
        }
        self.run_with(super::Control::Port(port), observer)
    }

    /// At the safe point: applies every waiting command. Returns `false` once a shutdown was asked.
    pub(super) fn poll_commands(&mut self, port: &mut ControlPort, observer: &mut dyn SessionObserver) -> bool {
        loop {
            match port.commands.try_recv() {
                Ok(command) => self.handle(port, command, observer, false),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return !port.shutdown,
            }
        }
    }

    /// Waits until `event` is due, applying commands that arrive meanwhile. Returns `false` once a
    /// shutdown was asked.
    pub(super) fn wait_until_due(
        &mut self,
        port: &mut ControlPort,
        event: &MarketEvent,
        observer: &mut dyn SessionObserver,
    ) -> bool {
        let Some(due) = port.pacing.due(event, self.events) else { return !port.shutdown };
        while !port.shutdown {
            let now = Instant::now();
            if now >= due {
                break;
            }
            match port.commands.recv_timeout(due - now) {
                Ok(command) => self.handle(port, command, observer, false),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => std::thread::sleep(due - now),
            }
        }
        !port.shutdown
    }

    /// After the feed ended: answers queries (and refuses changes) until a shutdown.
    pub(super) fn linger(&mut self, port: &mut ControlPort, observer: &mut dyn SessionObserver) {
        if !port.stay_after_end {
            return;
        }
        tracing::info!(events = self.events, "the feed has ended; serving the final report until shut down");
        while !port.shutdown {
            match port.commands.recv() {
                Ok(command) => self.handle(port, command, observer, true),
                Err(_) => return,
            }
        }
    }

    fn handle(&mut self, port: &mut ControlPort, command: Command, observer: &mut dyn SessionObserver, ended: bool) {
        let started = Instant::now();
        let refuse = |component: String| ChangeError::Conflict {
            component,
            message: if ended {
                "the feed has ended; the session only answers queries now".to_owned()
            } else {
                "the session is shutting down".to_owned()
            },
        };
        let closed = ended || port.shutdown;
        match command {
            Command::Report { reply } => {
                self.refresh_marks();
                let mut report = self.report(self.started.elapsed().as_secs_f64());
                report.timing.changes = Some(port.hold_times_us().into());
                report.feed = self.live_feed_status();
                reply.send(report);
                return;
            }
            Command::Health { reply } => {
                reply.send(self.health());
                return;
            }
            Command::Shutdown => {
                port.shutdown = true;
                return;
            }
            Command::Apply { reply, .. } if closed => reply.send(Err(vec![refuse("session".to_owned())])),
            Command::Stop { component, reply } | Command::Start { component, reply } if closed => {
                reply.send(Err(refuse(component.to_string())));
            }
            Command::Apply { change, reply } => {
                let serve = change.serve.clone();
                let result = self.apply_change(*change, observer);
                if let (Ok(_), Some(serve)) = (&result, serve) {
                    port.pacing.set(&serve);
                }
                for applied in result.iter().flatten() {
                    observer.activity(self.now, &super::Activity::Changed(applied));
                }
                reply.send(result);
            }
            Command::Stop { component, reply } => {
                let result = self.stop_component(&component, observer);
                if let Ok(applied) = &result {
                    observer.activity(self.now, &super::Activity::Changed(applied));
                }
                reply.send(result);
            }
            Command::Start { component, reply } => {
                let result = self.start_component(&component);
                if let Ok(applied) = &result {
                    observer.activity(self.now, &super::Activity::Changed(applied));
                }
                reply.send(result);
            }
        }
        let held = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let _ = port.holds.record(held.max(1));
    }

    /// The slot of a live component (a removed strategy is not).
    fn live_slot(&self, component: &ComponentId) -> Result<usize, ChangeError> {
        let slot = self
            .assembly
            .find(component.kind(), component.id())
            .ok_or_else(|| ChangeError::Unknown { component: component.clone() })?;
        if component.kind() == Kind::Strategy && self.strategies.iter().any(|s| s.slot == slot && s.removed) {
            return Err(ChangeError::Unknown { component: component.clone() });
        }
        Ok(slot)
    }

    fn stop_component(
        &mut self,
        component: &ComponentId,
        observer: &mut dyn SessionObserver,
    ) -> Result<Applied, ChangeError> {
        let slot = self.live_slot(component)?;
        if matches!(component.kind(), Kind::Feed | Kind::Matching) {
            return Err(ChangeError::Conflict {
                component: component.to_string(),
                message: "the feed and the matching engine run as long as the session; shut the session down instead"
                    .to_owned(),
            });
        }
        if *self.assembly.slot(slot).state() != LifecycleState::Started {
            let state = self.assembly.slot(slot).state().to_string();
            return Err(ChangeError::Conflict {
                component: component.to_string(),
                message: format!("cannot stop: it is {state}"),
            });
        }
        if let Some(index) = self.strategies.iter().position(|s| s.slot == slot) {
            self.withdraw(index, observer);
        }
        self.assembly
            .stop(slot)
            .map_err(|error| ChangeError::Conflict { component: component.to_string(), message: error.to_string() })?;
        Ok(Applied { component: Some(component.clone()), action: Action::Stopped })
    }

    fn start_component(&mut self, component: &ComponentId) -> Result<Applied, ChangeError> {
        let slot = self.live_slot(component)?;
        self.assembly
            .start(slot)
            .map_err(|error| ChangeError::Conflict { component: component.to_string(), message: error.to_string() })?;
        Ok(Applied { component: Some(component.clone()), action: Action::Started })
    }

    /// Cancels a strategy's resting orders, then drops whatever it queued that the venue has not
    /// seen (an order waiting for the next open, or one its callbacks for those cancellations
    /// queued): it is stopping, going, or handing over with nothing open.
    pub(super) fn withdraw(&mut self, index: usize, observer: &mut dyn SessionObserver) {
        self.cancel_open_orders(index, observer);
        self.drop_intents_of(index);
    }

    /// Drops what a strategy queued but the venue has not seen.
    fn drop_intents_of(&mut self, index: usize) {
        let me = index as u32;
        self.intents.retain(|intent| intent.strategy() != me);
        self.pending.retain(|intent| intent.strategy() != me);
    }

    /// Applies a change atomically (see the module docs).
    fn apply_change(&mut self, change: Change, observer: &mut dyn SessionObserver) -> ChangeAnswer {
        let mut errors = Vec::new();
        let mut targets = Vec::with_capacity(change.steps.len());
        for step in &change.steps {
            let component = step.component();
            let found = match step {
                Step::Add { .. } => match self.assembly.find(component.kind(), component.id()) {
                    Some(slot) if *self.assembly.slot(slot).state() == LifecycleState::Unloaded => Ok(Some(slot)),
                    Some(_) => Err(ChangeError::Conflict {
                        component: component.to_string(),
                        message: "already running".to_owned(),
                    }),
                    None => Ok(None),
                },
                _ => self.live_slot(&component).map(Some),
            };
            match found {
                Ok(slot) => targets.push(slot),
                Err(error) => errors.push(error),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let checkpoint = self.hub.checkpoint();
        let instruments = self.engine.instruments().len();
        self.hub.extend(&change.indicator_versions, &change.declared);

        // Parameters in place first: an instance that cannot take them is swapped instead.
        let mut reconfigured: Vec<(usize, Dict)> = Vec::new();
        let mut swaps: Vec<(usize, Replacement)> = Vec::new();
        for (step, &slot) in change.steps.iter().zip(&targets) {
            let slot = slot.unwrap_or_default();
            match step {
                Step::Reconfigure { replacement, .. } => {
                    let params = &replacement.params;
                    let answer =
                        self.assembly.slot_mut(slot).invoke(Call::Reconfigure, |instance| instance.reconfigure(params));
                    match answer {
                        Ok(Ok(Reconfigured::InPlace)) => {
                            reconfigured.push((slot, self.assembly.slot(slot).params().clone()));
                        }
                        Ok(Ok(Reconfigured::Rebuild)) | Err(InvokeError::NotRunning) => {
                            swaps.push((slot, replacement.clone()));
                        }
                        Ok(Err(refusal)) => {
                            let component = self.assembly.slot_mut(slot);
                            component.count_error();
                            errors.push(ChangeError::Failed(component.lifecycle_error(
                                crate::factory::FailureCause::Refused {
                                    call: Call::Reconfigure,
                                    message: refusal.to_string(),
                                },
                            )));
                        }
                        Err(InvokeError::Panicked(panicked)) => errors
                            .push(ChangeError::Failed(self.assembly.slot(slot).lifecycle_error((*panicked).into()))),
                    }
                }
                Step::Swap { replacement, .. } => swaps.push((slot, replacement.clone())),
                _ => {}
            }
        }

        // Build, initialize and start every new instance beside the running ones.
        let mut staged: Vec<Staged> = Vec::new();
        let seed = self.settings.seed;
        {
            let Session { assembly, engine, hub, .. } = self;
            let mut provider = HubProvider { hub };
            let mut env = InitEnv { instruments: engine.instruments_mut(), indicators: Some(&mut provider), seed };
            for (slot, replacement) in &swaps {
                match assembly.stage_replacement(*slot, replacement.clone(), &mut env) {
                    Ok(instance) => staged.push(Staged { instance, target: Target::Replace(*slot) }),
                    Err(error) => errors.push(match error {
                        crate::factory::SlotError::Lifecycle(error) => ChangeError::Failed(error),
                        crate::factory::SlotError::State(error) => {
                            ChangeError::Conflict { component: error.component.to_string(), message: error.to_string() }
                        }
                    }),
                }
            }
            for (step, &slot) in change.steps.iter().zip(&targets) {
                if let Step::Add { request, descriptor } = step {
                    match assembly.stage_new(request, descriptor.clone(), &mut env) {
                        Ok(instance) => staged.push(Staged { instance, target: Target::Add(slot) }),
                        Err(error) => errors.push(ChangeError::Failed(error)),
                    }
                }
            }
        }
        for pending in self.hub.take_pending() {
            let mut env = InitEnv { instruments: self.engine.instruments_mut(), indicators: None, seed };
            match self.assembly.stage_new(&pending.request, pending.descriptor, &mut env) {
                Ok(instance) => staged.push(Staged {
                    instance,
                    target: Target::Indicator { entry: pending.entry, requester: pending.requester },
                }),
                Err(error) => errors.push(ChangeError::Failed(error)),
            }
        }
        for slot in std::mem::take(&mut self.hub.wanted_slots) {
            // A lazy configured indicator a new strategy reads: built now, as at start-up.
            let mut env = InitEnv { instruments: self.engine.instruments_mut(), indicators: None, seed };
            if let Err(error) = self.assembly.ensure_started(slot, &mut env) {
                errors.push(ChangeError::Failed(error));
            }
        }

        // Successors take over from their predecessors: state and inherited orders.
        if errors.is_empty() {
            for staged_one in &mut staged {
                let Target::Replace(slot) = staged_one.target else { continue };
                let Some(index) = self.strategies.iter().position(|s| s.slot == slot) else { continue };
                if let Err(error) = self.hand_over(index, change.open_orders, &mut staged_one.instance) {
                    errors.push(error);
                }
            }
        }

        if !errors.is_empty() {
            for staged_one in staged {
                staged_one.instance.discard();
            }
            for (slot, params) in reconfigured {
                let _ =
                    self.assembly.slot_mut(slot).invoke(Call::Reconfigure, |instance| instance.reconfigure(&params));
            }
            for released in self.hub.rollback(checkpoint) {
                if *self.assembly.slot(released).state() != LifecycleState::Unloaded {
                    let _ = self.assembly.unload(released);
                }
            }
            self.engine.instruments_mut().truncate(instruments);
            tracing::warn!(errors = errors.len(), "a run-time change was refused; nothing changed");
            return Err(errors);
        }
        Ok(self.commit(change, &targets, staged, reconfigured, checkpoint.entries(), observer))
    }

    /// The predecessor's snapshot and orders, handed to the staged successor of strategy `index`.
    fn hand_over(
        &mut self,
        index: usize,
        open_orders: OpenOrders,
        successor: &mut StagedSlot,
    ) -> Result<(), ChangeError> {
        let slot = self.strategies[index].slot;
        let predecessor = self.assembly.slot(slot).label().to_owned();
        let snapshot: Option<StrategySnapshot> =
            match self.assembly.slot_mut(slot).inspect(Call::Snapshot, |instance| match instance {
                Instance::Strategy(strategy) => strategy.snapshot(),
                _ => None,
            }) {
                Ok(snapshot) => snapshot,
                Err(InvokeError::NotRunning) => None,
                Err(InvokeError::Panicked(panicked)) => {
                    return Err(ChangeError::Conflict {
                        component: self.strategies[index].id.clone(),
                        message: format!("its snapshot panicked, so the swap was refused: {}", panicked.message),
                    });
                }
            };
        let inherited: Vec<OpenOrder> = match open_orders {
            OpenOrders::Keep => self.strategies[index].open.clone(),
            OpenOrders::Cancel => Vec::new(),
        };
        let handover = Handover { predecessor: &predecessor, snapshot: snapshot.as_ref(), inherited: &inherited };
        let answer = successor.invoke(Call::TakeOver, |instance| match instance {
            Instance::Strategy(strategy) => strategy.take_over(&handover),
            _ => Ok(()),
        });
        let cause = match answer {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(refusal)) => crate::factory::FailureCause::Refused { call: Call::TakeOver, message: refusal.0 },
            Err(InvokeError::Panicked(panicked)) => (*panicked).into(),
            Err(InvokeError::NotRunning) => return Ok(()),
        };
        Err(ChangeError::Failed(successor.slot().lifecycle_error(cause)))
    }

    /// Switches every staged instance in (nothing here can fail).
    fn commit(
        &mut self,
        change: Change,
        targets: &[Option<usize>],
        staged: Vec<Staged>,
        reconfigured: Vec<(usize, Dict)>,
        first_new_entry: usize,
        observer: &mut dyn SessionObserver,
    ) -> Vec<Applied> {
        let mut applied = Vec::new();
        let component_of = |session: &Session<M>, slot: usize| Some(session.assembly.slot(slot).component().clone());
        for (slot, _) in &reconfigured {
            let new_params = change
                .steps
                .iter()
                .zip(targets)
                .find_map(|(step, target)| match step {
                    Step::Reconfigure { replacement, .. } if *target == Some(*slot) => Some(replacement.params.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            self.assembly.set_params(*slot, new_params);
            applied.push(Applied { component: component_of(self, *slot), action: Action::Reconfigured });
        }
        for (step, target) in change.steps.iter().zip(targets) {
            let Some(slot) = *target else { continue };
            match step {
                Step::Remove { .. } => {
                    if let Some(index) = self.strategies.iter().position(|s| s.slot == slot) {
                        self.withdraw(index, observer);
                        self.strategies[index].removed = true;
                        self.release_indicators(slot);
                    }
                    if let Err(error) = self.assembly.unload(slot) {
                        tracing::warn!(%error, "a removed component failed to stop");
                    }
                    applied.push(Applied { component: component_of(self, slot), action: Action::Removed });
                }
                Step::Reorder { order, .. } => {
                    self.assembly.set_order(slot, *order);
                    applied.push(Applied { component: component_of(self, slot), action: Action::Reordered(*order) });
                }
                Step::SetLazy { lazy, .. } => {
                    self.assembly.set_lazy(slot, *lazy);
                    applied.push(Applied { component: component_of(self, slot), action: Action::Lazy(*lazy) });
                }
                _ => {}
            }
        }
        let mut indicators = Vec::new();
        for staged_one in staged {
            match staged_one.target {
                Target::Replace(slot) => {
                    let from = self.assembly.slot(slot).label().to_owned();
                    let to = staged_one.instance.slot().label().to_owned();
                    if let Some(index) = self.strategies.iter().position(|s| s.slot == slot) {
                        if change.open_orders == OpenOrders::Cancel {
                            self.withdraw(index, observer);
                        }
                        self.strategies[index].label.clone_from(&to);
                    }
                    // A stopped component (by an operator or an alert) stays stopped with its new
                    // instance: a new version or new parameters do not lift a quarantine.
                    let was_stopped = *self.assembly.slot(slot).state() == LifecycleState::Stopped;
                    self.assembly.install(slot, staged_one.instance);
                    if was_stopped && let Err(error) = self.assembly.stop(slot) {
                        tracing::warn!(%error, "a replacement of a stopped component failed to stop");
                    }
                    self.release_indicators(slot);
                    applied.push(Applied { component: component_of(self, slot), action: Action::Swapped { from, to } });
                }
                Target::Add(reused) => {
                    let label = staged_one.instance.slot().label().to_owned();
                    let slot = match reused {
                        Some(slot) => {
                            self.assembly.install(slot, staged_one.instance);
                            slot
                        }
                        None => self.assembly.insert(staged_one.instance, None),
                    };
                    if self.assembly.slot(slot).kind() == Kind::Strategy {
                        self.adopt_strategy(slot);
                    }
                    applied.push(Applied { component: component_of(self, slot), action: Action::Added(label) });
                }
                Target::Indicator { entry, requester } => indicators.push((staged_one.instance, entry, requester)),
            }
        }
        for (instance, entry, requester) in indicators {
            let before = self.assembly.find(Kind::Strategy, &requester);
            let slot = self.assembly.insert(instance, before);
            self.hub.adopt(entry, slot);
        }
        for failed in self.hub.bind_outputs(&mut self.assembly, first_new_entry) {
            tracing::warn!(entry = failed, "a new indicator failed answering its outputs");
        }
        let mut rejections = std::collections::BTreeMap::new();
        for link in &self.risk_chain {
            rejections.insert(link.id.clone(), link.rejections);
        }
        self.risk_chain = RiskLink::chain(&mut self.assembly);
        for link in &mut self.risk_chain {
            link.rejections = rejections.get(&link.id).copied().unwrap_or(0);
        }
        self.reviewing =
            self.risk_chain.iter().enumerate().filter(|(_, l)| l.reviews).map(|(i, l)| (i, l.slot)).collect();
        if let Some(alerts) = change.alerts {
            self.alerts = super::alerts::AlertBook::new(alerts);
            applied.push(Applied { component: None, action: Action::Alerts });
        }
        if change.serve.is_some() {
            applied.push(Applied { component: None, action: Action::Pacing });
        }
        for line in &applied {
            tracing::info!(change = %line, "applied");
        }
        applied
    }

    /// Unloads the requested indicators that strategy slot `slot` read and its new instance (if any)
    /// does not: nobody reads them any more.
    fn release_indicators(&mut self, slot: usize) {
        if self.assembly.slot(slot).kind() != Kind::Strategy {
            return;
        }
        let id = self.assembly.slot(slot).id().to_owned();
        for unread in self.hub.release(&id) {
            if let Err(error) = self.assembly.unload(unread) {
                tracing::warn!(%error, "an indicator nobody reads failed to stop");
            }
        }
    }

    /// A strategy added while the system runs: a runtime with its own account (an id re-added
    /// continues its old account).
    fn adopt_strategy(&mut self, slot: usize) {
        if let Some(runtime) = self.strategies.iter_mut().find(|s| s.slot == slot) {
            runtime.removed = false;
            runtime.label = self.assembly.slot(slot).label().to_owned();
            return;
        }
        let index = self.strategies.len();
        let cash = self.settings.initial_cash;
        let component = self.assembly.slot(slot);
        self.strategies.push(StrategyRuntime {
            slot,
            id: component.id().to_owned(),
            label: component.label().to_owned(),
            owner: OwnerId::new(super::setup::STRATEGY_OWNER_TOP - index as u32)
                .expect("fewer than u32::MAX strategies"),
            account: Account::new(cash),
            open: Vec::new(),
            brackets: Vec::new(),
            halted: None,
            stats: EquityStats::new(cash),
            orders: 0,
            rejected: 0,
            removed: false,
        });
        if let Some(total) = &mut self.total_stats {
            total.deposit(cash);
        }
    }
}

#[cfg(test)]
#[path = "control_tests.rs"]
mod tests;
