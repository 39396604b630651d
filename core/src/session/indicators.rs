//! The indicator hub: every indicator of a session, updated per event of its instrument.
//!
//! Two sources: indicators configured under `[indicators.<id>]` (owned by the factory's assembly,
//! bound to the primary instrument) and indicators strategies request during `init` (built here
//! through the registry, one shared instance per plugin, parameters and instrument). A strategy may
//! only request indicators it declared as dependencies. After each update the hub caches every
//! output, so strategies read values without touching other components.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use figment::value::{Dict, Value};
use rustc_hash::FxHashMap;

use crate::boundary;
use crate::component::{ComponentError, Indicator, IndicatorHandle, IndicatorProvider, InitContext};
use crate::config::render_value;
use crate::factory::{Assembly, LifecycleState};
use crate::instrument::InstrumentTable;
use crate::market::{Bar, MarketEvent};
use crate::plugin::{ComponentDescriptor, Instance};
use crate::types::InstrumentId;

/// Outputs cached per indicator.
pub(crate) const MAX_OUTPUTS: usize = 4;

enum Source {
    /// Built by the hub for a strategy.
    Owned { instance: Option<Box<dyn Indicator>> },
    /// A configured indicator living in the assembly.
    Configured { slot: usize },
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Owned { instance } => write!(f, "Owned(built: {})", instance.is_some()),
            Source::Configured { slot } => write!(f, "Configured(slot {slot})"),
        }
    }
}

/// Which market data an indicator is fed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Input {
    /// Bars (bar mode, or bars from the session's bar source).
    Bars,
    /// Trades and quotes (order-flow mode without bars, and bar aggregators).
    Ticks,
}

impl Input {
    fn takes(self, event: &MarketEvent) -> bool {
        matches!(
            (self, event),
            (Input::Bars, MarketEvent::Bar(_)) | (Input::Ticks, MarketEvent::Trade(_) | MarketEvent::Quote(_))
        )
    }
}

/// One indicator the hub updates.
#[derive(Debug)]
pub(crate) struct HubEntry {
    source: Source,
    input: Input,
    pub(crate) instrument: InstrumentId,
    pub(crate) label: String,
    pub(crate) id: String,
    pub(crate) outputs: usize,
    pub(crate) state: LifecycleState,
    pub(crate) init_time: Option<Duration>,
    /// Owned entries not initialized yet.
    pending: Option<Dict>,
}

/// Every indicator of a session.
#[derive(Debug, Default)]
pub(crate) struct IndicatorHub {
    versions: BTreeMap<String, &'static ComponentDescriptor>,
    declared: BTreeMap<String, Vec<&'static str>>,
    configured: BTreeMap<String, usize>,
    pub(crate) entries: Vec<HubEntry>,
    values: Vec<[Option<f64>; MAX_OUTPUTS]>,
    by_key: FxHashMap<String, u32>,
    by_instrument: Vec<Vec<u32>>,
    /// Configured lazy indicators requested during init, to start after it.
    pub(crate) wanted_slots: Vec<usize>,
    /// Hub entries of configured indicators, by assembly slot (resolves provisional handles).
    configured_entries: FxHashMap<usize, u32>,
    /// What strategy-requested indicators are fed: bars when the session has bars, else ticks.
    requested_input: Option<Input>,
}

impl IndicatorHub {
    pub(crate) fn new(
        versions: BTreeMap<String, &'static ComponentDescriptor>,
        declared: BTreeMap<String, Vec<&'static str>>,
        configured: BTreeMap<String, usize>,
    ) -> IndicatorHub {
        IndicatorHub { versions, declared, configured, ..IndicatorHub::default() }
    }

    /// Sets what strategy-requested indicators are fed, once the feed's kind of data is known.
    pub(crate) fn set_requested_input(&mut self, input: Input) {
        for entry in &mut self.entries {
            if matches!(entry.source, Source::Owned { .. }) {
                entry.input = input;
            }
        }
        self.requested_input = Some(input);
    }

    fn push(&mut self, entry: HubEntry) -> IndicatorHandle {
        let handle = self.entries.len() as u32;
        let at = entry.instrument.0 as usize;
        if self.by_instrument.len() <= at {
            self.by_instrument.resize(at + 1, Vec::new());
        }
        self.by_instrument[at].push(handle);
        self.entries.push(entry);
        self.values.push([None; MAX_OUTPUTS]);
        IndicatorHandle(handle)
    }

    /// Adds a configured indicator (already started by the assembly) to the update set.
    pub(crate) fn add_configured(
        &mut self,
        assembly: &Assembly,
        slot: usize,
        instrument: InstrumentId,
        input: Input,
    ) -> IndicatorHandle {
        if let Some(at) =
            self.entries.iter().position(|e| matches!(e.source, Source::Configured { slot: s } if s == slot))
        {
            return IndicatorHandle(at as u32);
        }
        let component = &assembly.slots()[slot];
        self.configured_entries.insert(slot, self.entries.len() as u32);
        self.push(HubEntry {
            source: Source::Configured { slot },
            input,
            instrument,
            label: component.label.clone(),
            id: component.id.clone(),
            outputs: MAX_OUTPUTS,
            state: component.state().clone(),
            init_time: component.times().init,
            pending: None,
        })
    }

    /// Initializes and starts the indicators strategies requested.
    pub(crate) fn start_requested(&mut self, instruments: &mut InstrumentTable, seed: u64) -> Result<(), String> {
        for entry in &mut self.entries {
            let Some(_params) = entry.pending.take() else { continue };
            let Source::Owned { instance: Some(instance) } = &mut entry.source else { continue };
            let started = Instant::now();
            let id = entry.id.clone();
            let result = boundary::contain(|| {
                let mut ctx = InitContext::new(&id, instruments, crate::factory::derive_seed(seed, &id));
                instance.init(&mut ctx).and_then(|()| instance.start())
            });
            entry.init_time = Some(started.elapsed());
            tracing::info!(component = %entry.label, id = %entry.id, stage = "init+start", "lifecycle");
            match result {
                Ok(Ok(())) => {
                    entry.outputs = instance.output_names().len().clamp(1, MAX_OUTPUTS);
                    entry.state = LifecycleState::Started;
                }
                Ok(Err(error)) => {
                    return Err(format!("indicator {} ({}) failed to start: {error}", entry.id, entry.label));
                }
                Err(panic) => {
                    return Err(format!("indicator {} ({}) panicked starting: {panic}", entry.id, entry.label));
                }
            }
        }
        Ok(())
    }

    /// Stops and unloads the indicators the hub owns.
    pub(crate) fn stop_owned(&mut self) {
        for entry in &mut self.entries {
            if let Source::Owned { instance } = &mut entry.source
                && let Some(mut indicator) = instance.take()
            {
                if entry.state == LifecycleState::Started {
                    let _ = boundary::contain(|| indicator.stop());
                    entry.state = LifecycleState::Stopped;
                }
                let _ = boundary::contain(|| indicator.unload());
                entry.state = LifecycleState::Unloaded;
            }
        }
    }

    /// Feeds an event to every indicator of its instrument; collects bars they complete into `bars`.
    #[inline]
    pub(crate) fn update(
        &mut self,
        assembly: &mut Assembly,
        instrument: InstrumentId,
        event: &MarketEvent,
        bars: &mut Vec<Bar>,
    ) {
        let Some(handles) = self.by_instrument.get(instrument.0 as usize) else { return };
        for &handle in handles {
            let entry = &mut self.entries[handle as usize];
            if !entry.input.takes(event) {
                continue;
            }
            let indicator: &mut dyn Indicator = match &mut entry.source {
                Source::Owned { instance: Some(instance) } => instance.as_mut(),
                Source::Owned { instance: None } => continue,
                Source::Configured { slot } => match assembly.slot_mut(*slot).instance_mut() {
                    Some(Instance::Indicator(indicator)) => indicator.as_mut(),
                    _ => continue,
                },
            };
            let values = &mut self.values[handle as usize];
            let outputs = entry.outputs;
            let result = boundary::contain(|| {
                indicator.update(event);
                for (index, value) in values.iter_mut().enumerate().take(outputs) {
                    *value = indicator.output(index);
                }
                while let Some(bar) = indicator.take_bar() {
                    bars.push(bar);
                }
            });
            if let Err(panic) = result {
                entry.state = LifecycleState::Failed(format!("panicked: {panic}"));
                tracing::error!(component = %entry.label, %panic, "indicator failed; no longer updated");
                entry.source = Source::Owned { instance: None };
                *values = [None; MAX_OUTPUTS];
            }
        }
    }

    /// An indicator's cached output.
    #[inline]
    pub(crate) fn value(&self, handle: IndicatorHandle, output: usize) -> Option<f64> {
        let at = match provisional_slot(handle) {
            Some(slot) => *self.configured_entries.get(&slot)?,
            None => handle.0,
        };
        self.values.get(at as usize).and_then(|v| v.get(output).copied().flatten())
    }

    /// Last values of every indicator, for the report: (id, label, values).
    pub(crate) fn last_values(&self) -> Vec<(String, String, Vec<Option<f64>>)> {
        self.entries
            .iter()
            .zip(&self.values)
            .map(|(e, v)| (e.id.clone(), e.label.clone(), v[..e.outputs.min(MAX_OUTPUTS)].to_vec()))
            .collect()
    }
}

/// The hub as strategies see it during `init`.
#[derive(Debug)]
pub(crate) struct HubProvider<'a> {
    pub(crate) hub: &'a mut IndicatorHub,
}

impl IndicatorProvider for HubProvider<'_> {
    fn request(
        &mut self,
        requester: &str,
        instrument: InstrumentId,
        name: &str,
        params: Dict,
    ) -> Result<IndicatorHandle, ComponentError> {
        let hub = &mut *self.hub;
        let declared = hub.declared.get(requester).map(Vec::as_slice).unwrap_or_default();
        if !declared.contains(&name) {
            return Err(ComponentError::new(format!(
                "{requester} asked for indicator {name:?} without declaring it as a dependency (declared: {})",
                crate::suggest::list_or_none(declared)
            )));
        }
        let Some(descriptor) = hub.versions.get(name).copied() else {
            return Err(ComponentError::new(format!("indicator {name:?} is not compiled in")));
        };
        let key = format!("{}|{}|{}", descriptor.label(), instrument.0, render_value(&Value::from(params.clone())));
        if let Some(&handle) = hub.by_key.get(&key) {
            return Ok(IndicatorHandle(handle));
        }
        let instance = match descriptor.build(&params) {
            Ok(Instance::Indicator(instance)) => instance,
            Ok(_) => return Err(ComponentError::new(format!("{} is not an indicator", descriptor.label()))),
            Err(error) => return Err(ComponentError::new(format!("indicator {}: {error}", descriptor.label()))),
        };
        let rendered: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", render_value(v))).collect();
        let handle = hub.push(HubEntry {
            source: Source::Owned { instance: Some(instance) },
            input: hub.requested_input.unwrap_or(Input::Bars),
            instrument,
            label: descriptor.label(),
            id: format!("{requester}/{name}({})", rendered.join(",")),
            outputs: MAX_OUTPUTS,
            state: LifecycleState::Loaded,
            init_time: None,
            pending: Some(params),
        });
        hub.by_key.insert(key, handle.0);
        Ok(handle)
    }

    fn configured(&mut self, requester: &str, id: &str) -> Result<IndicatorHandle, ComponentError> {
        let Some(&slot) = self.hub.configured.get(id) else {
            let known: Vec<&str> = self.hub.configured.keys().map(String::as_str).collect();
            return Err(ComponentError::new(format!(
                "{requester} asked for configured indicator {id:?}, which is not configured{} (configured: {})",
                crate::suggest::did_you_mean(id, known.iter().copied()),
                crate::suggest::list_or_none(&known)
            )));
        };
        // The entry is added (and a lazy indicator started) by the session right after init.
        self.hub.wanted_slots.push(slot);
        Ok(IndicatorHandle(u32::MAX - slot as u32))
    }
}

/// Handles of configured indicators requested during init are provisional (`u32::MAX - slot`); the
/// session maps them to hub entries once those exist.
pub(crate) fn provisional_slot(handle: IndicatorHandle) -> Option<usize> {
    (handle.0 > u32::MAX / 2).then(|| (u32::MAX - handle.0) as usize)
}
