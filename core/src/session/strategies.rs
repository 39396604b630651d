//! Strategies in a session: their runtime state, their typed status, the host they act through, and
//! the one place a strategy is called ([`Session::call_strategy`]).

use std::fmt;

use super::brackets::Exit;
use super::indicators::IndicatorHub;
use super::orders::Intent;
use super::portfolio::Account;
use super::stats::EquityStats;
use super::{InstrumentState, Session, SessionObserver};
use crate::boundary::Call;
use crate::capability::{PermissionDenied, Permissions};
use crate::component::{
    Bracket, BracketExits, ClientOrderId, ComponentId, FillReport, IndicatorHandle, OpenOrder, OrderRequest,
    OrderUpdate, StrategyContext, StrategyHost,
};
use crate::factory::{FailureCause, InvokeError, LifecycleState};
use crate::instrument::{Instrument, InstrumentTable};
use crate::market::{Bar, Quote, TradeTick};
use crate::matching::MatchingAlgorithm;
use crate::plugin::Instance;
use crate::types::{InstrumentId, Money, OwnerId, Price, Qty, Timestamp};

/// Why the session stopped a strategy's trading while it still runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HaltReason {
    /// A validator refused with `halt` (a kill switch), or failed while reviewing the strategy.
    Risk {
        /// The validator's config id.
        validator: String,
        /// Its reason.
        reason: String,
    },
    /// An indicator the strategy reads failed.
    IndicatorFailed {
        /// The indicator.
        indicator: ComponentId,
        /// Why it failed.
        cause: FailureCause,
    },
    /// A fill took the strategy's account outside the fixed-point money range: its figures from
    /// then on are not exact, so it trades no more.
    MoneyRange,
}

impl fmt::Display for HaltReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HaltReason::Risk { validator, reason } => write!(f, "halted by risk:{validator}: {reason}"),
            HaltReason::IndicatorFailed { indicator, cause } => write!(f, "halted: {indicator} failed: {cause}"),
            HaltReason::MoneyRange => write!(
                f,
                "halted: a fill took its account outside the money range (±92,233,720,368); its figures from then on are not exact"
            ),
        }
    }
}

/// Where a strategy stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StrategyStatus {
    /// Trading.
    Running,
    /// Still called, but its orders are refused and its resting orders were cancelled.
    Halted(HaltReason),
    /// Its code failed; it is not called again and its orders were cancelled.
    Failed(FailureCause),
    /// Stopped while the system runs (by an operator or an alert's quarantine); its orders were
    /// cancelled, and it is called again once started.
    Stopped,
    /// Removed while the system runs; its orders were cancelled and its position stays.
    Removed,
}

impl fmt::Display for StrategyStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StrategyStatus::Running => f.write_str("running"),
            StrategyStatus::Halted(reason) => reason.fmt(f),
            StrategyStatus::Failed(cause) => write!(f, "failed: {cause}"),
            StrategyStatus::Stopped => f.write_str("stopped"),
            StrategyStatus::Removed => f.write_str("removed"),
        }
    }
}

/// A strategy's halt: why, and the refusal each of its later orders gets. The refusal is written
/// once, here: a halted strategy may go on sending orders on every event, and formatting the
/// reason for each of them cost about 1,400 instructions an order (4% of the order-flow
/// benchmark's session thread, whose market maker halts early and keeps quoting).
#[derive(Debug)]
pub(super) struct Halt {
    pub(super) reason: HaltReason,
    pub(super) refusal: String,
}

impl Halt {
    pub(super) fn new(reason: HaltReason) -> Halt {
        let refusal = format!("strategy {reason}");
        Halt { reason, refusal }
    }
}

/// A strategy's state in the session, kept outside its instance (so a new instance continues it).
#[derive(Debug)]
pub(super) struct StrategyRuntime {
    pub(super) slot: usize,
    pub(super) id: String,
    pub(super) label: String,
    pub(super) owner: OwnerId,
    pub(super) account: Account,
    pub(super) open: Vec<OpenOrder>,
    /// Brackets whose entry or exits still work.
    pub(super) brackets: Vec<super::brackets::BracketState>,
    pub(super) halted: Option<Halt>,
    pub(super) stats: EquityStats,
    pub(super) orders: u64,
    pub(super) rejected: u64,
    /// Removed while the system runs (its slot is unloaded; its account stays in the report).
    pub(super) removed: bool,
}

/// A callback to deliver to strategies.
#[derive(Clone, Copy, Debug)]
pub(super) enum Callback<'e> {
    Bar(&'e Bar),
    Trade(&'e TradeTick),
    Quote(&'e Quote),
    Fill(&'e FillReport),
    Update(&'e OrderUpdate),
}

impl Callback<'_> {
    fn call(self) -> Call {
        match self {
            Callback::Bar(_) => Call::OnBar,
            Callback::Trade(_) => Call::OnTrade,
            Callback::Quote(_) => Call::OnQuote,
            Callback::Fill(_) => Call::OnFill,
            Callback::Update(_) => Call::OnOrderUpdate,
        }
    }
}

impl<M: MatchingAlgorithm> Session<M> {
    /// A strategy's status, from its runtime and its slot.
    pub(super) fn strategy_status(&self, index: usize) -> StrategyStatus {
        let runtime = &self.strategies[index];
        match (self.assembly.slot(runtime.slot).state(), &runtime.halted) {
            (LifecycleState::Failed(cause), _) => StrategyStatus::Failed(cause.clone()),
            _ if runtime.removed => StrategyStatus::Removed,
            // Every component stops when the run ends: only a stop while it ran is a status.
            (LifecycleState::Stopped, _) if !self.finished => StrategyStatus::Stopped,
            (_, Some(halt)) => StrategyStatus::Halted(halt.reason.clone()),
            (_, None) => StrategyStatus::Running,
        }
    }

    /// Calls every running strategy with one callback.
    pub(super) fn deliver(&mut self, callback: Callback<'_>, observer: &mut dyn SessionObserver) {
        for index in 0..self.strategies.len() {
            self.call_strategy(index, callback, observer);
        }
    }

    /// Calls one strategy through its slot. A panic fails it: its queued actions are dropped and its
    /// resting orders cancelled; the other strategies run on.
    pub(super) fn call_strategy(&mut self, index: usize, callback: Callback<'_>, observer: &mut dyn SessionObserver) {
        let Session { assembly, strategies, hub, market, engine, intents, next_client, now, .. } = self;
        let runtime = &strategies[index];
        let instruments = engine.instruments();
        let result = assembly.slot_mut(runtime.slot).invoke_granted(callback.call(), |instance, permissions| {
            let Instance::Strategy(strategy) = instance else { return };
            let mut host = Host {
                now: *now,
                strategy: index as u32,
                runtime,
                intents,
                next_client,
                hub,
                market,
                instruments,
                permissions,
            };
            let mut ctx = StrategyContext::new(&mut host);
            match callback {
                Callback::Bar(bar) => strategy.on_bar(bar, &mut ctx),
                Callback::Trade(trade) => strategy.on_trade(trade, &mut ctx),
                Callback::Quote(quote) => strategy.on_quote(quote, &mut ctx),
                Callback::Fill(fill) => strategy.on_fill(fill, &mut ctx),
                Callback::Update(update) => strategy.on_order_update(update, &mut ctx),
            }
        });
        if let Err(InvokeError::Panicked(_)) = result {
            // Nothing it queued reaches the venue, now or at the next bar's open.
            let me = index as u32;
            observer.activity(self.now, &super::Activity::Failed { strategy: &self.strategies[index].id });
            self.intents.retain(|intent| intent.strategy() != me);
            self.pending.retain(|intent| intent.strategy() != me);
            self.cancel_open_orders(index, observer);
        }
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
    permissions: &'a Permissions,
}

impl StrategyHost for Host<'_> {
    fn permissions(&self) -> &Permissions {
        self.permissions
    }

    fn now(&self) -> Timestamp {
        self.now
    }

    fn submit(&mut self, order: OrderRequest) -> ClientOrderId {
        let client = ClientOrderId(*self.next_client);
        *self.next_client += 1;
        self.intents.push(Intent::Submit { strategy: self.strategy, client, request: order });
        client
    }

    fn refuse(&mut self, order: OrderRequest, denied: PermissionDenied) -> ClientOrderId {
        let client = ClientOrderId(*self.next_client);
        *self.next_client += 1;
        self.intents.push(Intent::Refuse { strategy: self.strategy, client, qty: order.qty, denied });
        client
    }

    fn submit_bracket(&mut self, entry: OrderRequest, exits: BracketExits) -> Bracket {
        let mut next = || {
            *self.next_client += 1;
            ClientOrderId(*self.next_client - 1)
        };
        let client = next();
        let stop_loss = exits.stop_loss.map(|price| Exit::new(next(), price));
        let take_profit = exits.take_profit.map(|price| Exit::new(next(), price));
        // Registered before the entry is applied, so that none of its fills goes uncounted.
        self.intents.push(Intent::Bracket {
            strategy: self.strategy,
            entry: client,
            instrument: entry.instrument,
            entry_side: entry.side,
            stop_loss,
            take_profit,
        });
        self.intents.push(Intent::Submit { strategy: self.strategy, client, request: entry });
        Bracket { entry: client, stop_loss: stop_loss.map(|e| e.id), take_profit: take_profit.map(|e| e.id) }
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

    fn cash(&self) -> Money {
        self.runtime.account.cash
    }

    fn equity(&self) -> Money {
        self.runtime.account.equity_with(|at| {
            let last = self.market.get(at)?.last?;
            Some((last, self.instruments.try_get(InstrumentId(at as u32))?.lot_size))
        })
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

    fn instrument(&self, instrument: InstrumentId) -> Option<&Instrument> {
        self.instruments.try_get(instrument)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::Kind;

    #[test]
    fn statuses_say_who_stopped_the_strategy_and_why() {
        assert_eq!(StrategyStatus::Running.to_string(), "running");
        let risk = HaltReason::Risk { validator: "kill".to_owned(), reason: "loss 5 over 3".to_owned() };
        assert_eq!(StrategyStatus::Halted(risk).to_string(), "halted by risk:kill: loss 5 over 3");
        let indicator = HaltReason::IndicatorFailed {
            indicator: ComponentId::new(Kind::Indicator, "sma(period=3)@T"),
            cause: FailureCause::Panicked { call: Call::Update, message: "boom".to_owned() },
        };
        assert_eq!(
            StrategyStatus::Halted(indicator).to_string(),
            "halted: indicator sma(period=3)@T failed: panicked in update: boom"
        );
        let failed = StrategyStatus::Failed(FailureCause::Panicked { call: Call::OnBar, message: "x".to_owned() });
        assert_eq!(failed.to_string(), "failed: panicked in on_bar: x");
    }

    #[test]
    fn a_call_the_strategy_did_not_declare_is_refused_counted_and_never_reaches_the_session() {
        let report = super::super::fixtures::run(
            &["1", "1", "1"],
            "[strategies.s]\nplugin = \"script-strategy\"\nparams = { read_position = true }\n",
        )
        .report;
        let s = report.components.iter().find(|c| c.id == "s").unwrap();
        assert_eq!(s.metrics.denied.get("read-position"), Some(&3), "{:?}", s.metrics.denied);
        assert_eq!(report.strategies[0].status, "running", "a denial is not a failure");
    }
}
