//! The indicator hub: which indicator sees which events, and the cache strategies read values from.
//!
//! The hub owns no indicator: every one it updates is a slot in the session's
//! [`Assembly`], with the lifecycle, boundary and metrics of any other component. Two sources:
//! indicators configured under `[indicators.<id>]` (bound to the primary instrument) and indicators
//! strategies request during `init`. A request is checked at once (declared dependency, compiled in,
//! parameters) and answered with a handle; the session then adds one slot per distinct request
//! (plugin, parameters and instrument: the [`ComponentId`] derived from them) and starts it before
//! the strategies that use it. After each update the hub caches every output, so strategies read
//! values without touching another component.

use std::collections::BTreeMap;
use std::sync::Arc;

use figment::value::Dict;
use rustc_hash::FxHashMap;
use semver::VersionReq;

use crate::boundary::Call;
use crate::capability::Capabilities;
use crate::component::{ComponentError, ComponentId, IndicatorHandle, IndicatorProvider};
use crate::config::render_value;
use crate::factory::{Assembly, ComponentRequest, InvokeError};
use crate::market::{Bar, MarketEvent};
use crate::plugin::{ComponentDescriptor, Instance, Kind};
use crate::types::InstrumentId;

/// Outputs cached per indicator.
pub(crate) const MAX_OUTPUTS: usize = 4;

/// Which market data an indicator is fed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Input {
    /// Bars (bar mode, or bars from the session's bar source).
    Bars,
    /// Trades and quotes (order-flow mode without bars, and bar aggregators).
    Ticks,
}

impl Input {
    #[inline]
    fn takes(self, event: &MarketEvent) -> bool {
        matches!(
            (self, event),
            (Input::Bars, MarketEvent::Bar(_)) | (Input::Ticks, MarketEvent::Trade(_) | MarketEvent::Quote(_))
        )
    }
}

/// A requested indicator waiting for its slot.
#[derive(Debug)]
pub(crate) struct PendingIndicator {
    /// The hub entry it belongs to.
    pub(crate) entry: usize,
    /// What the assembly builds.
    pub(crate) request: ComponentRequest,
    /// The plugin version.
    pub(crate) descriptor: Arc<ComponentDescriptor>,
    /// The strategy that asked first (the slot starts before it).
    pub(crate) requester: String,
}

/// One indicator the hub updates.
#[derive(Debug)]
pub(crate) struct HubEntry {
    pub(crate) component: ComponentId,
    /// Its assembly slot (`None` for a request not yet given one).
    pub(crate) slot: Option<usize>,
    input: Input,
    instrument: InstrumentId,
    outputs: usize,
    /// Built on a strategy's request (rather than configured).
    requested: bool,
    /// Config ids of the strategies that read it: halted if it fails.
    pub(crate) requesters: Vec<String>,
    /// No longer updated (it failed, or nobody reads it any more).
    disabled: bool,
    /// Nobody reads it any more (its slot was unloaded); a new request brings it back.
    released: bool,
}

/// Every indicator of a session.
#[derive(Debug, Default)]
pub(crate) struct IndicatorHub {
    versions: BTreeMap<String, Arc<ComponentDescriptor>>,
    declared: BTreeMap<String, Vec<String>>,
    configured: BTreeMap<String, usize>,
    pub(crate) entries: Vec<HubEntry>,
    values: Vec<[Option<f64>; MAX_OUTPUTS]>,
    by_component: FxHashMap<ComponentId, u32>,
    by_instrument: Vec<Vec<u32>>,
    pending: Vec<PendingIndicator>,
    /// Configured lazy indicators requested during init, to prepare after it.
    pub(crate) wanted_slots: Vec<usize>,
    /// What requested indicators are fed (set once the feed's data is known).
    requested_input: Option<Input>,
    /// (requester, entry) of every request since [`checkpoint`](Self::checkpoint): what the
    /// instances of a run-time change read.
    touched: Vec<(String, u32)>,
}

impl HubCheckpoint {
    /// How many entries the hub had: later ones belong to the change.
    pub(crate) fn entries(&self) -> usize {
        self.entries
    }
}

/// The hub as it was before a run-time change, to return to if the change is refused.
#[derive(Debug)]
pub(crate) struct HubCheckpoint {
    entries: usize,
    requesters: Vec<usize>,
    versions: BTreeMap<String, Arc<ComponentDescriptor>>,
    declared: BTreeMap<String, Vec<String>>,
    wanted_slots: usize,
    /// (disabled, released) of every entry.
    flags: Vec<(bool, bool)>,
}

impl IndicatorHub {
    /// A hub that resolves requests against `versions` (the plan's indicator versions), allows each
    /// component only its `declared` indicators, and knows the `configured` indicators' slots.
    pub(crate) fn new(
        versions: BTreeMap<String, Arc<ComponentDescriptor>>,
        declared: BTreeMap<String, Vec<String>>,
        configured: BTreeMap<String, usize>,
    ) -> IndicatorHub {
        IndicatorHub { versions, declared, configured, ..IndicatorHub::default() }
    }

    /// Remembers the hub's state before a run-time change.
    pub(crate) fn checkpoint(&mut self) -> HubCheckpoint {
        self.touched.clear();
        HubCheckpoint {
            entries: self.entries.len(),
            requesters: self.entries.iter().map(|e| e.requesters.len()).collect(),
            versions: self.versions.clone(),
            declared: self.declared.clone(),
            wanted_slots: self.wanted_slots.len(),
            flags: self.entries.iter().map(|e| (e.disabled, e.released)).collect(),
        }
    }

    /// Lets a run-time change's components request indicators: the new plan's versions and
    /// declarations (existing entries keep theirs).
    pub(crate) fn extend(
        &mut self,
        versions: &BTreeMap<String, Arc<ComponentDescriptor>>,
        declared: &BTreeMap<String, Vec<String>>,
    ) {
        for (name, descriptor) in versions {
            self.versions.entry(name.clone()).or_insert_with(|| descriptor.clone());
        }
        for (id, names) in declared {
            self.declared.insert(id.clone(), names.clone());
        }
    }

    /// Returns to `checkpoint`: entries, requesters and pending requests made since are forgotten.
    /// Returns the slots of released entries, which the caller unloads if a refused change had
    /// started them again.
    pub(crate) fn rollback(&mut self, checkpoint: HubCheckpoint) -> Vec<usize> {
        for entry in self.entries.drain(checkpoint.entries..) {
            self.by_component.remove(&entry.component);
        }
        self.values.truncate(checkpoint.entries);
        for handles in &mut self.by_instrument {
            handles.retain(|&h| (h as usize) < checkpoint.entries);
        }
        for ((entry, len), (disabled, released)) in
            self.entries.iter_mut().zip(checkpoint.requesters).zip(checkpoint.flags)
        {
            entry.requesters.truncate(len);
            (entry.disabled, entry.released) = (disabled, released);
        }
        self.versions = checkpoint.versions;
        self.declared = checkpoint.declared;
        self.wanted_slots.truncate(checkpoint.wanted_slots);
        self.pending.clear();
        self.entries.iter().filter(|e| e.released).filter_map(|e| e.slot).collect()
    }

    fn push(&mut self, entry: HubEntry) -> IndicatorHandle {
        let handle = self.entries.len() as u32;
        let at = entry.instrument.0 as usize;
        if self.by_instrument.len() <= at {
            self.by_instrument.resize(at + 1, Vec::new());
        }
        self.by_instrument[at].push(handle);
        self.by_component.insert(entry.component.clone(), handle);
        self.entries.push(entry);
        self.values.push([None; MAX_OUTPUTS]);
        IndicatorHandle(handle)
    }

    /// The entry of configured slot `slot` (added on first use), bound to the primary instrument.
    pub(crate) fn configured_entry(&mut self, assembly: &Assembly, slot: usize) -> IndicatorHandle {
        self.configured_entry_of(assembly.slot(slot).component().clone(), slot)
    }

    /// The entry of configured indicator `component` in `slot` (added on first use).
    fn configured_entry_of(&mut self, component: ComponentId, slot: usize) -> IndicatorHandle {
        if let Some(&handle) = self.by_component.get(&component) {
            return IndicatorHandle(handle);
        }
        self.push(HubEntry {
            component,
            slot: Some(slot),
            input: Input::Bars,
            instrument: InstrumentId(0),
            outputs: MAX_OUTPUTS,
            requested: false,
            requesters: Vec::new(),
            disabled: false,
            released: false,
        })
    }

    /// Records that strategy `requester` reads the indicator (it is halted if the indicator fails).
    fn add_requester(&mut self, handle: IndicatorHandle, requester: &str) {
        self.touched.push((requester.to_owned(), handle.0));
        let entry = &mut self.entries[handle.0 as usize];
        if !entry.requesters.iter().any(|r| r == requester) {
            entry.requesters.push(requester.to_owned());
        }
    }

    /// Strategy `requester` was swapped or removed: it no longer reads the entries its new instance
    /// did not request in this change. A requested indicator nobody reads any more stops being
    /// updated; its slot is returned, for the caller to unload.
    pub(crate) fn release(&mut self, requester: &str) -> Vec<usize> {
        let mut unread = Vec::new();
        for (at, entry) in self.entries.iter_mut().enumerate() {
            let kept = self.touched.iter().any(|(r, h)| r == requester && *h as usize == at);
            if kept || !entry.requesters.iter().any(|r| r == requester) {
                continue;
            }
            entry.requesters.retain(|r| r != requester);
            if entry.requested && entry.requesters.is_empty() && !entry.disabled {
                entry.disabled = true;
                entry.released = true;
                self.values[at] = [None; MAX_OUTPUTS];
                unread.extend(entry.slot);
            }
        }
        unread
    }

    /// Requested indicators waiting for a slot; the caller adds one each and [`adopt`](Self::adopt)s it.
    pub(crate) fn take_pending(&mut self) -> Vec<PendingIndicator> {
        std::mem::take(&mut self.pending)
    }

    /// Binds a requested entry to its new slot.
    pub(crate) fn adopt(&mut self, entry: usize, slot: usize) {
        self.entries[entry].slot = Some(slot);
    }

    /// Sets what each indicator is fed, once the feed's kind of data is known: requested ones get
    /// `requested`, configured ones `configured`.
    pub(crate) fn set_inputs(&mut self, requested: Input, configured: Input) {
        self.requested_input = Some(requested);
        for entry in &mut self.entries {
            entry.input = if entry.requested { requested } else { configured };
        }
    }

    /// Feeds one entry ticks whatever the mode (the session's bar source).
    pub(crate) fn set_input(&mut self, handle: IndicatorHandle, input: Input) {
        self.entries[handle.0 as usize].input = input;
    }

    /// Asks every started indicator how many outputs it has (through the boundary).
    ///
    /// # Errors
    /// The entries whose indicator panicked answering (now failed).
    pub(crate) fn bind_outputs(&mut self, assembly: &mut Assembly, from: usize) -> Vec<usize> {
        let mut failed = Vec::new();
        for (at, entry) in self.entries.iter_mut().enumerate().skip(from) {
            let Some(slot) = entry.slot else { continue };
            let answer = assembly.slot_mut(slot).invoke(Call::OutputNames, |instance| match instance {
                Instance::Indicator(indicator) => indicator.output_names().len(),
                _ => 1,
            });
            match answer {
                Ok(count) => entry.outputs = count.clamp(1, MAX_OUTPUTS),
                Err(InvokeError::Panicked(_)) => {
                    entry.disabled = true;
                    failed.push(at);
                }
                Err(InvokeError::NotRunning) => {}
            }
        }
        failed
    }

    /// Feeds an event to every indicator of its instrument; collects bars they complete into `bars`
    /// and the entries whose indicator panicked into `failed` (they are not updated again).
    #[inline]
    pub(crate) fn update(
        &mut self,
        assembly: &mut Assembly,
        instrument: InstrumentId,
        event: &MarketEvent,
        bars: &mut Vec<Bar>,
        failed: &mut Vec<usize>,
    ) {
        let Some(handles) = self.by_instrument.get(instrument.0 as usize) else { return };
        for &handle in handles {
            let entry = &mut self.entries[handle as usize];
            if entry.disabled || !entry.input.takes(event) {
                continue;
            }
            let Some(slot) = entry.slot else { continue };
            let values = &mut self.values[handle as usize];
            let outputs = entry.outputs;
            let result = assembly.slot_mut(slot).invoke(Call::Update, |instance| {
                let Instance::Indicator(indicator) = instance else { return };
                indicator.update(event);
                for (index, value) in values.iter_mut().enumerate().take(outputs) {
                    *value = indicator.output(index);
                }
                while let Some(bar) = indicator.take_bar() {
                    bars.push(bar);
                }
            });
            match result {
                Ok(()) => {}
                // Stopped (by an operator, or an alert's quarantine): skipped until restarted.
                Err(InvokeError::NotRunning) => *values = [None; MAX_OUTPUTS],
                Err(InvokeError::Panicked(_)) => {
                    entry.disabled = true;
                    *values = [None; MAX_OUTPUTS];
                    failed.push(handle as usize);
                }
            }
        }
    }

    /// An indicator's cached output.
    #[inline]
    pub(crate) fn value(&self, handle: IndicatorHandle, output: usize) -> Option<f64> {
        self.values.get(handle.0 as usize).and_then(|v| v.get(output).copied().flatten())
    }

    /// Last values of every indicator, for the report: (component, values).
    pub(crate) fn last_values(&self) -> Vec<(&ComponentId, Vec<Option<f64>>)> {
        self.entries
            .iter()
            .zip(&self.values)
            .map(|(e, v)| (&e.component, v[..e.outputs.min(MAX_OUTPUTS)].to_vec()))
            .collect()
    }
}

/// The hub as components see it during `init`.
#[derive(Debug)]
pub(crate) struct HubProvider<'a> {
    pub(crate) hub: &'a mut IndicatorHub,
}

impl IndicatorProvider for HubProvider<'_> {
    fn request(
        &mut self,
        requester: &str,
        instrument: InstrumentId,
        symbol: &str,
        name: &str,
        params: Dict,
    ) -> Result<IndicatorHandle, ComponentError> {
        let hub = &mut *self.hub;
        let declared = hub.declared.get(requester).map(Vec::as_slice).unwrap_or_default();
        if !declared.iter().any(|d| d == name) {
            return Err(ComponentError::new(format!(
                "{requester} asked for indicator {name:?} without declaring it as a dependency (declared: {})",
                crate::suggest::list_or_none(declared)
            )));
        }
        let Some(descriptor) = hub.versions.get(name).cloned() else {
            return Err(ComponentError::new(format!("indicator {name:?} is not compiled in")));
        };
        let rendered: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", render_value(v))).collect();
        let component = ComponentId::requested_indicator(name, &rendered, symbol);
        if let Some(&handle) = hub.by_component.get(&component) {
            hub.add_requester(IndicatorHandle(handle), requester);
            let entry = &mut hub.entries[handle as usize];
            if entry.released {
                // Read again: its slot is built and started anew (warming up from scratch).
                (entry.released, entry.disabled) = (false, false);
                hub.wanted_slots.extend(entry.slot);
            }
            return Ok(IndicatorHandle(handle));
        }
        descriptor
            .check(&component, &params)
            .map_err(|error| ComponentError::new(format!("indicator {}: {error}", descriptor.label())))?;
        // A requested indicator is granted what its kind is by default.
        let granted = Capabilities::default_for(Kind::Indicator);
        let missing = Capabilities::of(&descriptor.capabilities).missing_from(granted);
        if !missing.is_empty() {
            return Err(ComponentError::new(format!(
                "indicator {} needs {}, which a requested indicator is not granted",
                descriptor.label(),
                missing.names()
            )));
        }
        let version = descriptor.version.clone();
        let request = ComponentRequest {
            id: component.id().to_owned(),
            kind: Kind::Indicator,
            key: format!("strategies.{requester}"),
            plugin: name.to_owned(),
            req: VersionReq::parse(&format!("={version}")).unwrap_or(VersionReq::STAR),
            lazy: false,
            order: 0,
            granted,
            params,
        };
        let first = hub.entries.len() as u32;
        hub.touched.push((requester.to_owned(), first));
        let handle = hub.push(HubEntry {
            component,
            slot: None,
            input: hub.requested_input.unwrap_or(Input::Bars),
            instrument,
            outputs: MAX_OUTPUTS,
            requested: true,
            requesters: vec![requester.to_owned()],
            disabled: false,
            released: false,
        });
        hub.pending.push(PendingIndicator {
            entry: handle.0 as usize,
            request,
            descriptor,
            requester: requester.to_owned(),
        });
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
        let handle = self.hub.configured_entry_of(ComponentId::new(Kind::Indicator, id), slot);
        self.hub.add_requester(handle, requester);
        // A lazy indicator is prepared by the session right after init.
        self.hub.wanted_slots.push(slot);
        Ok(handle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::Bar;
    use crate::types::{Price, Timestamp};

    fn bar() -> MarketEvent {
        let p = Price::from_units(1);
        MarketEvent::Bar(Bar {
            ts: Timestamp(0),
            instrument: InstrumentId(0),
            open: p,
            high: p,
            low: p,
            close: p,
            volume: 0.0,
        })
    }

    #[test]
    fn inputs_route_bars_and_ticks() {
        assert!(Input::Bars.takes(&bar()));
        assert!(!Input::Ticks.takes(&bar()));
    }

    #[test]
    fn undeclared_requests_are_refused_naming_what_was_declared() {
        let mut hub = IndicatorHub::new(
            BTreeMap::new(),
            BTreeMap::from([("s".to_owned(), vec!["ema".to_owned()])]),
            BTreeMap::new(),
        );
        let mut provider = HubProvider { hub: &mut hub };
        let error = provider.request("s", InstrumentId(0), "T", "sma", Dict::new()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "s asked for indicator \"sma\" without declaring it as a dependency (declared: ema)"
        );
        let error = provider.configured("s", "fast").unwrap_err();
        assert!(error.to_string().contains("which is not configured"), "{error}");
    }
}
