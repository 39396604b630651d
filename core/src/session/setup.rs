//! Wiring a checked plan into a session: instruments, the assembly's start-up (with the indicators
//! strategies ask for), the hub's routing, the strategies' accounts and the risk chain.
//!
//! Start-up is all or nothing: if any step fails, every component it had initialized is stopped and
//! unloaded in reverse order before the error is returned.

use std::collections::BTreeMap;

use super::indicators::{HubProvider, IndicatorHub, Input};
use super::risk::RiskLink;
use super::stats::{Calendar, EquityStats};
use super::strategies::StrategyRuntime;
use super::{Session, SessionError, SetupError};
use crate::boundary::Call;
use crate::component::{FeedData, IndicatorHandle};
use crate::config::Config;
use crate::engine::{AlgorithmSource, MatchingEngine};
use crate::factory::{Assembly, InitEnv, InvokeError, LifecycleError, LifecycleState, Plan};
use crate::instrument::{Instrument, InstrumentTable};
use crate::matching::MatchingAlgorithm;
use crate::plugin::{Instance, Kind};
use crate::session::portfolio::Account;
use crate::types::{Money, OwnerId};

/// Owner ids of strategies count down from here; replayed owners count up from 1.
pub(super) const STRATEGY_OWNER_TOP: u32 = u32::MAX;

/// What start-up found out about the running components.
struct Wiring {
    feed_slot: usize,
    matching_slot: usize,
    mode: FeedData,
    bar_source: Option<IndicatorHandle>,
}

impl<M: MatchingAlgorithm> Session<M> {
    /// Builds, initializes and starts every component of a checked plan.
    ///
    /// # Errors
    /// A bad instrument declaration, a component that fails to load, init or start, or a config the
    /// session cannot run; whatever had been initialized is stopped and unloaded first.
    pub fn new(config: &Config, plan: &Plan, algorithm_source: AlgorithmSource<M>) -> Result<Session<M>, SessionError> {
        let settings = config.session.clone();
        let mut instruments = declared_instruments(config)?;
        let mut assembly = Assembly::new(plan, settings.metrics);
        let mut hub = hub_for(plan, &assembly);
        let wiring = match wire(&mut assembly, &mut hub, &mut instruments, &settings, Stage::Start) {
            Ok(wiring) => wiring,
            Err(error) => {
                assembly.shutdown();
                return Err(error);
            }
        };
        let strategies = strategy_runtimes(&assembly, settings.initial_cash);
        let risk_chain = RiskLink::chain(&mut assembly);
        let initial_total = Money::from_raw(settings.initial_cash.raw().saturating_mul(strategies.len() as i64));
        let engine = MatchingEngine::new(instruments, algorithm_source, config.matching.stp).with_book_capacity(4096);
        Ok(Session {
            total_stats: (strategies.len() != 1).then(|| EquityStats::new(initial_total)),
            settings,
            assembly,
            engine,
            hub,
            feed_slot: wiring.feed_slot,
            matching_slot: wiring.matching_slot,
            mode: wiring.mode,
            bar_source: wiring.bar_source,
            strategies,
            reviewing: risk_chain.iter().enumerate().filter(|(_, l)| l.reviews).map(|(i, l)| (i, l.slot)).collect(),
            risk_chain,
            market: Vec::new(),
            venue_orders: rustc_hash::FxHashMap::default(),
            intents: Vec::with_capacity(16),
            pending: Vec::with_capacity(16),
            next_client: 1,
            next_liquidity: 0,
            book_events: Vec::with_capacity(64),
            trade_ticks: Vec::with_capacity(16),
            bars_scratch: Vec::with_capacity(4),
            marks: Vec::new(),
            equities: Vec::new(),
            now: crate::types::Timestamp(0),
            events: 0,
            bars: 0,
            venue_trades: 0,
            bad_rows: crate::component::BadRows::default(),
            waker: crate::component::Waker::new(),
            feed_watch: super::feed_watch::FeedWatch::default(),
            calendar: Calendar::default(),
            first_mark_price: None,
            ended: None,
            alerts: super::alerts::AlertBook::new(config.alerts.clone()),
            started: std::time::Instant::now(),
            finished: false,
            trade_from: None,
        })
    }
}

/// Runs every check a session makes before its first event, and starts nothing: every eager
/// component is built and initialized (feeds open their files and read their headers, strategies
/// resolve their instruments and ask for their indicators), then stopped and unloaded. `config
/// check` runs this, so that a config it accepts is one `run` accepts.
///
/// # Errors
/// As [`Session::new`].
pub fn check_setup(config: &Config, plan: &Plan) -> Result<(), SessionError> {
    let mut instruments = declared_instruments(config)?;
    let mut assembly = Assembly::new(plan, false);
    let mut hub = hub_for(plan, &assembly);
    let result = wire(&mut assembly, &mut hub, &mut instruments, &config.session, Stage::Initialize);
    assembly.shutdown();
    result.map(drop)
}

/// The instruments the config declares.
fn declared_instruments(config: &Config) -> Result<InstrumentTable, SessionError> {
    let mut instruments = InstrumentTable::default();
    for (symbol, spec) in &config.instruments {
        let bad = |e: crate::instrument::InstrumentError| SetupError::BadInstrument {
            symbol: symbol.clone(),
            message: e.to_string(),
        };
        instruments.declare(Instrument::new(symbol, spec.tick, spec.lot_size).map_err(bad)?).map_err(bad)?;
    }
    Ok(instruments)
}

/// How far start-up goes: [`check_setup`] stops once everything is initialized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Initialize,
    Start,
}

/// The hub of a plan: the indicator versions it chose, what each component declared, where the
/// configured indicators are.
fn hub_for(plan: &Plan, assembly: &Assembly) -> IndicatorHub {
    let versions = plan
        .versions
        .iter()
        .filter(|((kind, _), _)| *kind == Kind::Indicator)
        .map(|((_, name), c)| (name.clone(), c.descriptor.clone()))
        .collect();
    let declared = plan.components.iter().map(|c| (c.request.id.clone(), c.indicator_dependencies())).collect();
    let configured: BTreeMap<String, usize> = assembly
        .slots()
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind() == Kind::Indicator)
        .map(|(i, s)| (s.id().to_owned(), i))
        .collect();
    IndicatorHub::new(versions, declared, configured)
}

/// Starts the assembly and routes the indicators; on error the caller shuts the assembly down.
fn wire(
    assembly: &mut Assembly,
    hub: &mut IndicatorHub,
    instruments: &mut InstrumentTable,
    settings: &crate::config::SessionConfig,
    stage: Stage,
) -> Result<Wiring, SessionError> {
    let seed = settings.seed;
    {
        let mut provider = HubProvider { hub: &mut *hub };
        let mut env = InitEnv { instruments: &mut *instruments, indicators: Some(&mut provider), seed };
        assembly.init_eager(&mut env)?;
    }
    // Each distinct requested indicator becomes a slot that starts before its first requester.
    for pending in hub.take_pending() {
        let before = assembly.find(Kind::Strategy, &pending.requester).or_else(|| {
            assembly.slots().iter().position(|s| s.id() == pending.requester && s.kind() != Kind::Indicator)
        });
        let slot = match before {
            Some(before) => assembly.add_before(&pending.request, pending.descriptor, before),
            None => assembly.add(&pending.request, pending.descriptor),
        };
        hub.adopt(pending.entry, slot);
        assembly.prepare(slot, &mut InitEnv { instruments: &mut *instruments, indicators: None, seed })?;
    }
    let feed_slot = assembly.find(Kind::Feed, "feed").ok_or(SetupError::NoFeed)?;
    let matching_slot = assembly.find(Kind::Matching, "matching").ok_or(SetupError::NoMatching)?;
    let mut required = vec![feed_slot, matching_slot];
    required.append(&mut hub.wanted_slots);
    if let Some(id) = &settings.bar_source {
        required.push(assembly.find(Kind::Indicator, id).ok_or_else(|| SetupError::NoBarSource(id.clone()))?);
    }
    for slot in required {
        assembly.prepare(slot, &mut InitEnv { instruments: &mut *instruments, indicators: None, seed })?;
    }
    let mode = match assembly.slot_mut(feed_slot).invoke(Call::Data, |instance| match instance {
        Instance::Feed(feed) => feed.data(),
        _ => FeedData::Bars,
    }) {
        Ok(mode) => mode,
        Err(error) => return Err(failure_of(assembly, feed_slot, Some(&error)).into()),
    };
    if stage == Stage::Initialize {
        return Ok(Wiring { feed_slot, matching_slot, mode, bar_source: None });
    }
    assembly.start_initialized()?;
    for slot in 0..assembly.slots().len() {
        let component = assembly.slot(slot);
        if component.kind() == Kind::Indicator && *component.state() == LifecycleState::Started {
            hub.configured_entry(assembly, slot);
        }
    }
    // Strategies' indicators see bars whenever the session has bars; configured ones see the feed's data.
    let session_has_bars = mode == FeedData::Bars || settings.bar_source.is_some();
    hub.set_inputs(
        if session_has_bars { Input::Bars } else { Input::Ticks },
        if mode == FeedData::Bars { Input::Bars } else { Input::Ticks },
    );
    let bar_source = match &settings.bar_source {
        Some(id) => {
            let slot = assembly.find(Kind::Indicator, id).ok_or_else(|| SetupError::NoBarSource(id.clone()))?;
            let handle = hub.configured_entry(assembly, slot);
            hub.set_input(handle, Input::Ticks);
            Some(handle)
        }
        None => None,
    };
    if let Some(&failed) = hub.bind_outputs(assembly, 0).first() {
        let slot = hub.entries[failed].slot.unwrap_or(feed_slot);
        return Err(failure_of(assembly, slot, None).into());
    }
    Ok(Wiring { feed_slot, matching_slot, mode, bar_source })
}

/// The lifecycle error of a slot whose start-up call failed: its failure, or why it was not running.
fn failure_of(assembly: &Assembly, slot: usize, error: Option<&InvokeError>) -> LifecycleError {
    let component = assembly.slot(slot);
    let cause = match (component.state(), error) {
        (LifecycleState::Failed(cause), _) => cause.clone(),
        (_, Some(InvokeError::Panicked(panicked))) => (**panicked).clone().into(),
        (state, _) => {
            crate::factory::FailureCause::Refused { call: Call::Start, message: format!("not running ({state})") }
        }
    };
    LifecycleError { component: component.component().clone(), label: component.label().to_owned(), cause }
}

/// Strategies in id order (the report's order); each gets its own owner id for self-trade prevention.
fn strategy_runtimes(assembly: &Assembly, initial_cash: Money) -> Vec<StrategyRuntime> {
    let slots = assembly.slots();
    let mut strategy_slots: Vec<usize> =
        (0..slots.len()).filter(|&slot| slots[slot].kind() == Kind::Strategy).collect();
    strategy_slots.sort_by(|&a, &b| slots[a].id().cmp(slots[b].id()));
    strategy_slots
        .iter()
        .enumerate()
        .map(|(index, &slot)| StrategyRuntime {
            slot,
            id: slots[slot].id().to_owned(),
            label: slots[slot].label().to_owned(),
            owner: OwnerId::new(STRATEGY_OWNER_TOP - index as u32).expect("fewer than u32::MAX strategies"),
            account: Account::new(initial_cash),
            open: Vec::new(),
            brackets: Vec::new(),
            halted: None,
            stats: EquityStats::new(initial_cash),
            orders: 0,
            rejected: 0,
            removed: false,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::session;
    use super::*;

    #[test]
    fn a_requested_indicator_is_a_slot_that_starts_before_its_requester() {
        let session =
            session(&["1"], "[strategies.s]\nplugin = \"script-strategy\"\nparams = { use_count = true }\n").unwrap();
        let assembly = session.assembly();
        let position = |id: &str| {
            let slot = assembly.slots().iter().position(|s| s.id() == id).unwrap();
            assembly.lifecycle_order().iter().position(|&i| i == slot).unwrap()
        };
        assert!(position("count()@T") < position("s"));
        let indicator = assembly.slot(assembly.find(Kind::Indicator, "count()@T").unwrap());
        assert_eq!(*indicator.state(), LifecycleState::Started);
    }

    #[test]
    fn a_bad_instrument_declaration_is_a_setup_error_naming_it() {
        let error = session(&["1"], "[instruments.T]\ntick = \"0\"\n").unwrap_err();
        assert!(
            matches!(&error, SessionError::Setup(SetupError::BadInstrument { symbol, .. }) if symbol == "T"),
            "{error}"
        );
        assert!(!error.is_internal());
    }

    #[test]
    fn a_component_refusing_to_initialize_is_a_lifecycle_error_naming_it() {
        let error = session(&["1"], "[strategies.s]\nplugin = \"script-strategy\"\nparams = { fail_init = true }\n")
            .unwrap_err();
        let SessionError::Lifecycle(error) = &error else { panic!("{error}") };
        assert_eq!(error.to_string(), "strategy s (script-strategy@1.0.0) failed in init: refused on cue");
        assert!(!error.cause.is_panic());
    }
}
