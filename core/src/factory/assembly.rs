//! The assembly: every component instance of a run is a slot here, with one lifecycle.
//!
//! A slot is load → init → start … stop → unload, driven in dependency order (stop in reverse). Every
//! hook, every build and every drop passes the [`boundary`] with the slot's
//! [`ComponentId`] and [`Meter`]. Per slot there is [`Assembly::stop`], [`Assembly::start`] (a stopped
//! slot starts again), [`Assembly::unload`] and [`Assembly::replace`] (a fresh instance, also for a
//! failed slot). Lazy slots are loaded on first use ([`Assembly::ensure_started`]).
//!
//! Slots are addressed by index, and an index never changes: the lifecycle order is kept apart from
//! the storage order, so a slot added later (an indicator a strategy asked for) can still start
//! before the component that needs it and stop after it.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use figment::value::Dict;

use super::derive_seed;
use super::plan::{ComponentRequest, Plan};
use crate::boundary::{self, Call, CallError, Panicked};
use crate::capability::{Capabilities, Permissions};
use crate::component::{ComponentError, ComponentId, IndicatorProvider, InitContext};
use crate::instrument::InstrumentTable;
use crate::metrics::Meter;
use crate::plugin::{ComponentDescriptor, Instance, Kind};

/// Why a component stopped working.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FailureCause {
    /// A lifecycle hook or the build returned the component's own error.
    #[error("{message}")]
    Refused {
        /// The call that refused.
        call: Call,
        /// The component's words.
        message: String,
    },
    /// The component's code panicked (contained).
    #[error("panicked in {call}: {message}")]
    Panicked {
        /// The call that panicked.
        call: Call,
        /// The panic's message.
        message: String,
    },
    /// The component returned something the plugin contract forbids (a feed's event for an
    /// instrument it never declared): a bug in it, like a panic.
    #[error("broke the plugin contract in {call}: {message}")]
    Violated {
        /// The call whose result broke the contract.
        call: Call,
        /// What was wrong.
        message: String,
    },
}

impl FailureCause {
    /// Whether the component panicked.
    #[must_use]
    pub fn is_panic(&self) -> bool {
        matches!(self, FailureCause::Panicked { .. })
    }

    /// Whether the failure is a bug in the component (it panicked or broke the plugin contract)
    /// rather than a refusal (usually of its input).
    #[must_use]
    pub fn is_bug(&self) -> bool {
        !matches!(self, FailureCause::Refused { .. })
    }

    /// The call that failed.
    #[must_use]
    pub fn call(&self) -> Call {
        match self {
            FailureCause::Refused { call, .. }
            | FailureCause::Panicked { call, .. }
            | FailureCause::Violated { call, .. } => *call,
        }
    }

    /// What happened, without the call.
    #[must_use]
    pub fn message(&self) -> &str {
        match self {
            FailureCause::Refused { message, .. }
            | FailureCause::Panicked { message, .. }
            | FailureCause::Violated { message, .. } => message,
        }
    }
}

impl From<Panicked> for FailureCause {
    fn from(panicked: Panicked) -> FailureCause {
        FailureCause::Panicked { call: panicked.call, message: panicked.message }
    }
}

/// Where a component is in its lifecycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LifecycleState {
    /// Planned but not built (a lazy component not used yet).
    Planned,
    /// Built.
    Loaded,
    /// Initialized.
    Initialized,
    /// Running.
    Started,
    /// Stopped; [`Assembly::start`] starts it again.
    Stopped,
    /// Dropped.
    Unloaded,
    /// It failed; it is not called again until [`Assembly::replace`] gives it a fresh instance.
    Failed(FailureCause),
}

impl LifecycleState {
    /// Whether the component failed.
    #[must_use]
    pub fn is_failed(&self) -> bool {
        matches!(self, LifecycleState::Failed(_))
    }
}

impl fmt::Display for LifecycleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LifecycleState::Planned => f.write_str("planned"),
            LifecycleState::Loaded => f.write_str("loaded"),
            LifecycleState::Initialized => f.write_str("initialized"),
            LifecycleState::Started => f.write_str("started"),
            LifecycleState::Stopped => f.write_str("stopped"),
            LifecycleState::Unloaded => f.write_str("unloaded"),
            LifecycleState::Failed(cause) => write!(f, "failed: {cause}"),
        }
    }
}

/// A component failed a lifecycle stage.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{component} ({label}) failed in {stage}: {cause}", stage = cause.call())]
pub struct LifecycleError {
    /// The component.
    pub component: ComponentId,
    /// `name@version`.
    pub label: String,
    /// What went wrong, in which call.
    pub cause: FailureCause,
}

/// A slot operation that does not apply to the slot's state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{component}: cannot {operation} a component that is {state}")]
pub struct StateError {
    /// The component.
    pub component: ComponentId,
    /// What was asked.
    pub operation: &'static str,
    /// Its state.
    pub state: String,
}

/// Why a slot operation failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    /// A lifecycle stage failed.
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
    /// The operation does not apply in the slot's state.
    #[error(transparent)]
    State(#[from] StateError),
}

/// Time spent in each lifecycle stage of the current instance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StageTimes {
    /// Building.
    pub load: Option<Duration>,
    /// `init`.
    pub init: Option<Duration>,
    /// `start`.
    pub start: Option<Duration>,
}

/// Why a call into a slot's instance did not run to completion. Small on purpose (it is returned
/// by every call on the hot path): the slot itself says more ([`ComponentSlot::state`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// The slot has no running instance (never built, failed or unloaded).
    #[error("the component is not running")]
    NotRunning,
    /// The call panicked; the slot is now failed.
    #[error(transparent)]
    Panicked(Box<Panicked>),
}

/// One component instance under the assembly's management.
#[derive(Debug)]
pub struct ComponentSlot {
    component: ComponentId,
    label: String,
    lazy: bool,
    order: i64,
    descriptor: Arc<ComponentDescriptor>,
    params: Dict,
    state: LifecycleState,
    /// `state` is `Initialized` or `Started`: the instance may be called. Kept beside the state
    /// (set only through `set_state`) because every call checks it.
    runnable: bool,
    instance: Option<Instance>,
    times: StageTimes,
    meter: Meter,
    /// What the instance may do through its handles: what its plugin declared (a component whose
    /// declaration the config does not grant never gets this far).
    permissions: Permissions,
    /// Capabilities a denial was already logged for (one warning each).
    warned: Capabilities,
}

impl ComponentSlot {
    /// The component's id.
    #[must_use]
    pub fn component(&self) -> &ComponentId {
        &self.component
    }

    /// Its config id.
    #[must_use]
    pub fn id(&self) -> &str {
        self.component.id()
    }

    /// Its kind.
    #[must_use]
    pub fn kind(&self) -> Kind {
        self.component.kind()
    }

    /// `name@version` of the plugin it runs.
    #[must_use]
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Whether it is built on first use only.
    #[must_use]
    pub fn lazy(&self) -> bool {
        self.lazy
    }

    /// Its risk-chain position.
    #[must_use]
    pub fn order(&self) -> i64 {
        self.order
    }

    /// The lifecycle state.
    #[must_use]
    pub fn state(&self) -> &LifecycleState {
        &self.state
    }

    /// Whether an instance was ever built in this slot.
    #[must_use]
    pub fn built(&self) -> bool {
        self.instance.is_some() || self.times.load.is_some()
    }

    /// Stage timings of the current instance.
    #[must_use]
    pub fn times(&self) -> StageTimes {
        self.times
    }

    /// The descriptor of the plugin it runs.
    #[must_use]
    pub fn descriptor(&self) -> &Arc<ComponentDescriptor> {
        &self.descriptor
    }

    /// The parameters of the current instance.
    #[must_use]
    pub fn params(&self) -> &Dict {
        &self.params
    }

    /// The slot's metrics.
    #[must_use]
    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// Calls the slot's instance through the boundary, metered as `call`. A panic marks the slot
    /// failed.
    ///
    /// # Errors
    /// No running instance (not built, failed or unloaded), or the call panicked.
    #[inline]
    pub fn invoke<R>(&mut self, call: Call, body: impl FnOnce(&mut Instance) -> R) -> Result<R, InvokeError> {
        let runnable = self.runnable;
        let Some(instance) = self.instance.as_mut().filter(|_| runnable) else {
            return Err(InvokeError::NotRunning);
        };
        match boundary::contain(&self.component, &mut self.meter, call, || body(instance)) {
            Ok(value) => Ok(value),
            Err(panicked) => Err(self.panicked(panicked)),
        }
    }

    /// Like [`invoke`](Self::invoke), handing the body the permissions the component's handles
    /// check. Calls they refused are counted in the meter and logged, once per capability.
    ///
    /// # Errors
    /// No running instance, or the call panicked (the slot is then failed).
    #[inline]
    pub fn invoke_granted<R>(
        &mut self,
        call: Call,
        body: impl FnOnce(&mut Instance, &Permissions) -> R,
    ) -> Result<R, InvokeError> {
        let runnable = self.runnable;
        let Some(instance) = self.instance.as_mut().filter(|_| runnable) else {
            return Err(InvokeError::NotRunning);
        };
        let permissions = &self.permissions;
        let result = boundary::contain(&self.component, &mut self.meter, call, || body(instance, permissions));
        if self.permissions.any_denied() {
            self.record_denials(call);
        }
        match result {
            Ok(value) => Ok(value),
            Err(panicked) => Err(self.panicked(panicked)),
        }
    }

    /// Moves refused calls into the meter; the first refusal of each capability is a warning.
    #[cold]
    #[inline(never)]
    fn record_denials(&mut self, call: Call) {
        for (capability, count) in self.permissions.take_denied() {
            self.meter.count_denied(capability, count);
            if !self.warned.contains(capability) {
                self.warned = self.warned.iter().chain([capability]).collect();
                tracing::warn!(
                    component = %self.component,
                    plugin = %self.label,
                    %capability,
                    call = call.as_str(),
                    help = %crate::troubleshooting::Topic::CallRefused.see(),
                    "permission denied: the component used a capability it was not granted (further denials are only counted)"
                );
            }
        }
    }

    /// The permissions of the component's handles.
    #[must_use]
    pub fn permissions(&self) -> &Permissions {
        &self.permissions
    }

    /// Like [`invoke`](Self::invoke), for a call whose panic must not change the running system
    /// (a strategy's `snapshot` during a swap that is then refused): the panic is contained and
    /// counted, and the slot stays as it was.
    ///
    /// # Errors
    /// No running instance, or the call panicked.
    pub fn inspect<R>(&mut self, call: Call, body: impl FnOnce(&mut Instance) -> R) -> Result<R, InvokeError> {
        let runnable = self.runnable;
        let Some(instance) = self.instance.as_mut().filter(|_| runnable) else {
            return Err(InvokeError::NotRunning);
        };
        boundary::contain(&self.component, &mut self.meter, call, || body(instance))
            .map_err(|panicked| InvokeError::Panicked(Box::new(panicked)))
    }

    /// Runs session code that is not a call into this component (the matching engine's command)
    /// under the slot's meter, for containment and measurement: see
    /// [`boundary`] on why matching is contained at the command.
    ///
    /// # Errors
    /// The slot is failed, or the body panicked (the slot is then failed).
    #[inline]
    pub fn meter_call<R>(&mut self, call: Call, body: impl FnOnce() -> R) -> Result<R, InvokeError> {
        if self.state.is_failed() {
            return Err(InvokeError::NotRunning);
        }
        boundary::contain(&self.component, &mut self.meter, call, body).map_err(|panicked| self.panicked(panicked))
    }

    /// Counts a refusal by the component (a call that returned its own error).
    pub fn count_error(&mut self) {
        self.meter.count_error();
    }

    #[cold]
    fn panicked(&mut self, panicked: Panicked) -> InvokeError {
        self.fail(FailureCause::from(panicked.clone()));
        InvokeError::Panicked(Box::new(panicked))
    }

    fn set_state(&mut self, state: LifecycleState) {
        self.runnable = matches!(state, LifecycleState::Started | LifecycleState::Initialized);
        self.state = state;
    }

    /// Marks the component failed: it is not called again until replaced.
    pub fn fail(&mut self, cause: FailureCause) {
        if self.state.is_failed() {
            return;
        }
        // A failure in setting a component up or stopping it is returned to whoever asked (start-up,
        // a change, shutdown), who reports it once; one while the system runs is logged here.
        match cause.call() {
            Call::DefaultParams
            | Call::CheckParams
            | Call::Build
            | Call::Init
            | Call::Start
            | Call::Data
            | Call::OutputNames
            | Call::Stop => {
                tracing::debug!(component = %self.component, plugin = %self.label, %cause, "component failed");
            }
            _ => tracing::error!(component = %self.component, plugin = %self.label, %cause, "component failed"),
        }
        self.set_state(LifecycleState::Failed(cause));
    }

    /// The error of this slot failing with `cause`.
    #[must_use]
    pub fn lifecycle_error(&self, cause: FailureCause) -> LifecycleError {
        LifecycleError { component: self.component.clone(), label: self.label.clone(), cause }
    }

    fn state_error(&self, operation: &'static str) -> StateError {
        StateError { component: self.component.clone(), operation, state: self.state.to_string() }
    }

    /// Runs one lifecycle hook through the boundary.
    fn hook(
        &mut self,
        call: Call,
        body: impl FnOnce(&mut Instance) -> Result<(), ComponentError>,
    ) -> Result<(), FailureCause> {
        let Some(instance) = self.instance.as_mut() else { return Ok(()) };
        boundary::contain_fallible(&self.component, &mut self.meter, call, || body(instance))
            .map_err(|error| cause_of(call, error))
    }

    /// Drops the instance (if any) through the boundary, after its `unload` hook.
    fn drop_instance(&mut self) {
        let Some(mut instance) = self.instance.take() else { return };
        // A panicking unload is contained (and logged); the instance is dropped either way.
        let _ = boundary::contain(&self.component, &mut self.meter, Call::Unload, || instance.unload());
        let _ = boundary::contain(&self.component, &mut self.meter, Call::Drop, move || drop(instance));
        tracing::debug!(component = %self.component, plugin = %self.label, "unloaded");
    }

    fn trace(&self, call: Call, elapsed: Duration) {
        tracing::info!(
            component = %self.component,
            plugin = %self.label,
            stage = call.as_str(),
            duration_us = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            "lifecycle"
        );
    }
}

fn cause_of<E: fmt::Display>(call: Call, error: CallError<E>) -> FailureCause {
    match error {
        CallError::Refused(error) => {
            FailureCause::Refused { call, message: crate::limits::shorten(&error.to_string(), 600).into_owned() }
        }
        CallError::Panicked(panicked) => FailureCause::from(panicked),
    }
}

/// What components may use while they initialize.
pub struct InitEnv<'a> {
    /// Instruments, to resolve symbols.
    pub instruments: &'a mut InstrumentTable,
    /// The indicator provider (the session), if any.
    pub indicators: Option<&'a mut dyn IndicatorProvider>,
    /// The run's seed.
    pub seed: u64,
}

impl fmt::Debug for InitEnv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InitEnv").field("seed", &self.seed).finish()
    }
}

/// A fresh instance for a slot: which plugin version, with which parameters.
#[derive(Clone, Debug)]
pub struct Replacement {
    /// The plugin version to build.
    pub descriptor: Arc<ComponentDescriptor>,
    /// Its parameters.
    pub params: Dict,
}

/// An instance built, initialized and started outside the assembly, waiting to be installed in a
/// slot ([`Assembly::install`]) or added as one ([`Assembly::insert`]). Dropping it without either
/// is a bug: [`discard`](Self::discard) it.
#[derive(Debug)]
pub struct StagedSlot {
    slot: ComponentSlot,
}

impl StagedSlot {
    /// The staged instance's slot (its id, plugin, meter).
    #[must_use]
    pub fn slot(&self) -> &ComponentSlot {
        &self.slot
    }

    /// Calls the staged instance through the boundary (a successor's `take_over`).
    ///
    /// # Errors
    /// It is not running, or the call panicked (it is then failed).
    pub fn invoke<R>(&mut self, call: Call, body: impl FnOnce(&mut Instance) -> R) -> Result<R, InvokeError> {
        self.slot.invoke(call, body)
    }

    /// Stops and unloads the staged instance: a change it belonged to was refused.
    pub fn discard(mut self) {
        if self.slot.state == LifecycleState::Started {
            let _ = stop(&mut self.slot);
        }
        self.slot.drop_instance();
        tracing::debug!(component = %self.slot.component, "staged instance discarded");
    }
}

/// The components of a run and their lifecycle.
#[derive(Debug, Default)]
pub struct Assembly {
    slots: Vec<ComponentSlot>,
    /// Slot indices in lifecycle order: start walks it forwards, stop backwards.
    order: Vec<usize>,
    metrics: bool,
}

impl Assembly {
    /// Takes a plan's components, in its order; nothing is built yet. `metrics` enables the meters.
    #[must_use]
    pub fn new(plan: &Plan, metrics: bool) -> Assembly {
        let mut assembly = Assembly { metrics, ..Assembly::default() };
        for component in &plan.components {
            assembly.add(&component.request, component.registered.descriptor.clone());
        }
        assembly
    }

    /// Adds a component at the end of the lifecycle order (built later, or on first use if lazy);
    /// returns its index.
    pub fn add(&mut self, request: &ComponentRequest, descriptor: Arc<ComponentDescriptor>) -> usize {
        let index = self.push(request, descriptor);
        self.order.push(index);
        index
    }

    /// Adds a component that slot `before` needs: it starts before that slot and stops after it.
    pub fn add_before(
        &mut self,
        request: &ComponentRequest,
        descriptor: Arc<ComponentDescriptor>,
        before: usize,
    ) -> usize {
        let index = self.push(request, descriptor);
        let at = self.order.iter().position(|&i| i == before).unwrap_or(self.order.len());
        self.order.insert(at, index);
        index
    }

    fn push(&mut self, request: &ComponentRequest, descriptor: Arc<ComponentDescriptor>) -> usize {
        let permissions = Permissions::new(Capabilities::of(&descriptor.capabilities));
        self.slots.push(ComponentSlot {
            component: request.component_id(),
            label: descriptor.label(),
            lazy: request.lazy,
            order: request.order,
            descriptor,
            params: request.params.clone(),
            state: LifecycleState::Planned,
            runnable: false,
            instance: None,
            times: StageTimes::default(),
            meter: Meter::new(self.metrics),
            permissions,
            warned: Capabilities::NONE,
        });
        self.slots.len() - 1
    }

    /// The slots, by index.
    #[must_use]
    pub fn slots(&self) -> &[ComponentSlot] {
        &self.slots
    }

    /// Slot indices in lifecycle (start) order.
    #[must_use]
    pub fn lifecycle_order(&self) -> &[usize] {
        &self.order
    }

    /// A slot.
    #[must_use]
    pub fn slot(&self, index: usize) -> &ComponentSlot {
        &self.slots[index]
    }

    /// A slot, mutably (to call its instance through [`ComponentSlot::invoke`]).
    #[inline]
    pub fn slot_mut(&mut self, index: usize) -> &mut ComponentSlot {
        &mut self.slots[index]
    }

    /// The index of the component with this kind and id.
    #[must_use]
    pub fn find(&self, kind: Kind, id: &str) -> Option<usize> {
        self.slots.iter().position(|s| s.kind() == kind && s.id() == id)
    }

    /// Loads, initializes and starts every non-lazy component, in lifecycle order.
    ///
    /// # Errors
    /// The first component that fails; everything it had initialized is stopped and unloaded.
    pub fn start_eager(&mut self, env: &mut InitEnv<'_>) -> Result<(), LifecycleError> {
        self.init_eager(env)?;
        self.start_initialized()
    }

    /// Loads and initializes every non-lazy component, in lifecycle order.
    ///
    /// # Errors
    /// The first component that fails; everything initialized is unloaded.
    pub fn init_eager(&mut self, env: &mut InitEnv<'_>) -> Result<(), LifecycleError> {
        for at in 0..self.order.len() {
            let index = self.order[at];
            if self.slots[index].lazy {
                continue;
            }
            if let Err(error) = self.prepare(index, env) {
                self.shutdown();
                return Err(error);
            }
        }
        Ok(())
    }

    /// Starts every initialized component, in lifecycle order.
    ///
    /// # Errors
    /// The first component that fails; everything is then stopped (reverse order) and unloaded.
    pub fn start_initialized(&mut self) -> Result<(), LifecycleError> {
        for at in 0..self.order.len() {
            let index = self.order[at];
            if self.slots[index].state == LifecycleState::Initialized
                && let Err(error) = self.start_stage(index)
            {
                self.shutdown();
                return Err(error);
            }
        }
        Ok(())
    }

    /// Loads and initializes one component if it is not yet (a no-op past `Initialized`).
    ///
    /// # Errors
    /// Building or `init` failed; the slot is then failed.
    pub fn prepare(&mut self, index: usize, env: &mut InitEnv<'_>) -> Result<(), LifecycleError> {
        if let LifecycleState::Failed(cause) = &self.slots[index].state {
            return Err(self.slots[index].lifecycle_error(cause.clone()));
        }
        if matches!(self.slots[index].state, LifecycleState::Planned | LifecycleState::Unloaded) {
            self.load_stage(index)?;
        }
        if self.slots[index].state == LifecycleState::Loaded {
            self.init_stage(index, env)?;
        }
        Ok(())
    }

    /// Brings a component to `Started`: loads and initializes a lazy one on first use, starts an
    /// initialized or stopped one; a no-op once started.
    ///
    /// # Errors
    /// A stage failed (the slot is then failed), or the slot had failed before.
    pub fn ensure_started(&mut self, index: usize, env: &mut InitEnv<'_>) -> Result<(), LifecycleError> {
        self.prepare(index, env)?;
        match self.slots[index].state {
            LifecycleState::Initialized | LifecycleState::Stopped => self.start_stage(index),
            _ => Ok(()),
        }
    }

    /// Starts one initialized or stopped component.
    ///
    /// # Errors
    /// It is in another state, or its `start` failed (it is then failed).
    pub fn start(&mut self, index: usize) -> Result<(), SlotError> {
        match self.slots[index].state {
            LifecycleState::Initialized | LifecycleState::Stopped => Ok(self.start_stage(index)?),
            _ => Err(self.slots[index].state_error("start").into()),
        }
    }

    /// Stops one started component.
    ///
    /// # Errors
    /// It is not started, or its `stop` failed (it is then failed).
    pub fn stop(&mut self, index: usize) -> Result<(), SlotError> {
        if self.slots[index].state != LifecycleState::Started {
            return Err(self.slots[index].state_error("stop").into());
        }
        Ok(self.stop_stage(index)?)
    }

    /// Unloads one component: stops it if started, then runs `unload` and drops the instance.
    /// A failed slot is unloaded too (its instance is dropped; it stays failed).
    ///
    /// # Errors
    /// Its `stop` failed; it is unloaded all the same.
    pub fn unload(&mut self, index: usize) -> Result<(), LifecycleError> {
        let stopped = if self.slots[index].state == LifecycleState::Started { self.stop_stage(index) } else { Ok(()) };
        let slot = &mut self.slots[index];
        slot.drop_instance();
        if !slot.state.is_failed() {
            slot.set_state(LifecycleState::Unloaded);
        }
        stopped
    }

    /// Replaces a slot's instance with a freshly built one, brought to `Started`:
    /// [`stage_replacement`](Self::stage_replacement), then [`install`](Self::install).
    ///
    /// If any stage of the new instance fails, it is dropped and the slot is left exactly as it was.
    /// A failed slot can be replaced.
    ///
    /// # Errors
    /// The slot holds a matching algorithm, or the new instance failed to build, init or start.
    pub fn replace(&mut self, index: usize, replacement: Replacement, env: &mut InitEnv<'_>) -> Result<(), SlotError> {
        let staged = self.stage_replacement(index, replacement, env)?;
        self.install(index, staged);
        Ok(())
    }

    /// Builds, initializes and starts a new instance for slot `index`, outside the assembly: nothing
    /// in the assembly changes until it is [`install`](Self::install)ed, and a
    /// [`discard`](StagedSlot::discard)ed one leaves no trace.
    ///
    /// A matching algorithm cannot be replaced: every order book owns an algorithm instance of its
    /// own (built for it by the engine), so a new instance in the slot would change nothing.
    ///
    /// # Errors
    /// The slot holds a matching algorithm or another kind, or the new instance failed.
    pub fn stage_replacement(
        &self,
        index: usize,
        replacement: Replacement,
        env: &mut InitEnv<'_>,
    ) -> Result<StagedSlot, SlotError> {
        let slot = &self.slots[index];
        if slot.kind() == Kind::Matching || replacement.descriptor.kind != slot.kind() {
            return Err(slot.state_error("replace (with this plugin)").into());
        }
        Ok(self.stage_slot(slot.component.clone(), slot.lazy, slot.order, replacement, env)?)
    }

    /// Builds, initializes and starts a new component outside the assembly, to
    /// [`insert`](Self::insert) later.
    ///
    /// # Errors
    /// The new instance failed to build, init or start.
    pub fn stage_new(
        &self,
        request: &ComponentRequest,
        descriptor: Arc<ComponentDescriptor>,
        env: &mut InitEnv<'_>,
    ) -> Result<StagedSlot, LifecycleError> {
        let replacement = Replacement { descriptor, params: request.params.clone() };
        self.stage_slot(request.component_id(), request.lazy, request.order, replacement, env)
    }

    fn stage_slot(
        &self,
        component: ComponentId,
        lazy: bool,
        order: i64,
        replacement: Replacement,
        env: &mut InitEnv<'_>,
    ) -> Result<StagedSlot, LifecycleError> {
        let permissions = Permissions::new(Capabilities::of(&replacement.descriptor.capabilities));
        let mut fresh = ComponentSlot {
            component,
            label: replacement.descriptor.label(),
            lazy,
            order,
            descriptor: replacement.descriptor,
            params: replacement.params,
            state: LifecycleState::Planned,
            runnable: false,
            instance: None,
            times: StageTimes::default(),
            // The new instance is metered apart until it is installed, so a failed attempt leaves
            // the slot's figures as they were.
            meter: Meter::new(self.metrics),
            permissions,
            warned: Capabilities::NONE,
        };
        let staged = load(&mut fresh).and_then(|()| init(&mut fresh, env)).and_then(|()| start(&mut fresh));
        match staged {
            Ok(()) => Ok(StagedSlot { slot: fresh }),
            Err(cause) => {
                fresh.drop_instance();
                Err(fresh.lifecycle_error(cause))
            }
        }
    }

    /// Puts a staged instance into slot `index`: the old instance is stopped, unloaded and dropped
    /// (a failure to stop is logged; it goes all the same), and the slot keeps one meter across
    /// instances, so its figures describe the component.
    pub fn install(&mut self, index: usize, staged: StagedSlot) {
        let mut fresh = staged.slot;
        let old = &mut self.slots[index];
        if old.state == LifecycleState::Started
            && let Err(cause) = stop(old)
        {
            tracing::warn!(component = %old.component, %cause, "the replaced instance failed to stop");
        }
        old.drop_instance();
        tracing::info!(component = %old.component, from = %old.label, to = %fresh.label, "replaced");
        let mut meter = std::mem::replace(&mut old.meter, Meter::new(false));
        meter.absorb(&fresh.meter);
        fresh.meter = meter;
        *old = fresh;
    }

    /// Adds a staged component (already started): before slot `before` in the lifecycle order
    /// (it then stops after it), or at the end; returns its index.
    pub fn insert(&mut self, staged: StagedSlot, before: Option<usize>) -> usize {
        self.slots.push(staged.slot);
        let index = self.slots.len() - 1;
        let at = before.and_then(|b| self.order.iter().position(|&i| i == b)).unwrap_or(self.order.len());
        self.order.insert(at, index);
        tracing::info!(component = %self.slots[index].component, plugin = %self.slots[index].label, "added");
        index
    }

    /// Changes whether a slot is built on first use (meaningful until it is first built).
    pub fn set_lazy(&mut self, index: usize, lazy: bool) {
        self.slots[index].lazy = lazy;
    }

    /// Changes a slot's risk-chain position.
    pub fn set_order(&mut self, index: usize, order: i64) {
        self.slots[index].order = order;
    }

    /// Records parameters a running instance took in place ([`Instance::reconfigure`]).
    pub fn set_params(&mut self, index: usize, params: Dict) {
        self.slots[index].params = params;
    }

    /// Stops every started component in reverse lifecycle order; returns the failures (the rest
    /// still stop).
    pub fn stop_all(&mut self) -> Vec<LifecycleError> {
        let mut errors = Vec::new();
        for at in (0..self.order.len()).rev() {
            let index = self.order[at];
            if self.slots[index].state == LifecycleState::Started
                && let Err(error) = self.stop_stage(index)
            {
                errors.push(error);
            }
        }
        errors
    }

    /// Unloads (drops) every built component in reverse lifecycle order.
    pub fn unload_all(&mut self) {
        for at in (0..self.order.len()).rev() {
            let slot = &mut self.slots[self.order[at]];
            if slot.instance.is_some() {
                slot.drop_instance();
                if !slot.state.is_failed() {
                    slot.set_state(LifecycleState::Unloaded);
                }
            }
        }
    }

    /// Stops and unloads everything, in reverse lifecycle order; returns the stop failures.
    pub fn shutdown(&mut self) -> Vec<LifecycleError> {
        let errors = self.stop_all();
        self.unload_all();
        errors
    }

    fn load_stage(&mut self, index: usize) -> Result<(), LifecycleError> {
        let slot = &mut self.slots[index];
        load(slot).map_err(|cause| slot.lifecycle_error(cause))
    }

    fn init_stage(&mut self, index: usize, env: &mut InitEnv<'_>) -> Result<(), LifecycleError> {
        let slot = &mut self.slots[index];
        init(slot, env).map_err(|cause| slot.lifecycle_error(cause))
    }

    fn start_stage(&mut self, index: usize) -> Result<(), LifecycleError> {
        let slot = &mut self.slots[index];
        start(slot).map_err(|cause| slot.lifecycle_error(cause))
    }

    fn stop_stage(&mut self, index: usize) -> Result<(), LifecycleError> {
        let slot = &mut self.slots[index];
        stop(slot).map_err(|cause| slot.lifecycle_error(cause))
    }
}

/// Builds the slot's instance (state `Loaded`), or fails the slot.
fn load(slot: &mut ComponentSlot) -> Result<(), FailureCause> {
    let descriptor = slot.descriptor.clone();
    let params = &slot.params;
    let started = Instant::now();
    let built = boundary::contain_fallible(&slot.component, &mut slot.meter, Call::Build, || descriptor.build(params));
    let elapsed = started.elapsed();
    slot.times = StageTimes { load: Some(elapsed), ..StageTimes::default() };
    slot.trace(Call::Build, elapsed);
    match built {
        Ok(instance) => {
            slot.instance = Some(instance);
            slot.set_state(LifecycleState::Loaded);
            Ok(())
        }
        Err(error) => {
            let cause = cause_of(Call::Build, error);
            slot.fail(cause.clone());
            Err(cause)
        }
    }
}

/// Runs `init` (state `Initialized`), or fails the slot.
fn init(slot: &mut ComponentSlot, env: &mut InitEnv<'_>) -> Result<(), FailureCause> {
    let seed = derive_seed(env.seed, slot.component.id());
    let id = slot.component.clone();
    let permissions = slot.permissions.clone();
    let started = Instant::now();
    let result = slot.hook(Call::Init, |instance| {
        let mut ctx = InitContext::new(id.id(), env.instruments, seed).with_permissions(&permissions);
        if let Some(provider) = env.indicators.as_deref_mut() {
            ctx = ctx.with_indicators(provider);
        }
        instance.init(&mut ctx)
    });
    // A refused call in init fails it with a message naming the capability; it is counted too.
    for (capability, count) in permissions.take_denied() {
        slot.meter.count_denied(capability, count);
    }
    let elapsed = started.elapsed();
    slot.times.init = Some(elapsed);
    slot.trace(Call::Init, elapsed);
    settle(slot, result, LifecycleState::Initialized)
}

/// Runs `start` (state `Started`), or fails the slot.
fn start(slot: &mut ComponentSlot) -> Result<(), FailureCause> {
    let started = Instant::now();
    let result = slot.hook(Call::Start, Instance::start);
    let elapsed = started.elapsed();
    slot.times.start = Some(elapsed);
    slot.trace(Call::Start, elapsed);
    settle(slot, result, LifecycleState::Started)
}

/// Runs `stop` (state `Stopped`), or fails the slot.
fn stop(slot: &mut ComponentSlot) -> Result<(), FailureCause> {
    let started = Instant::now();
    let result = slot.hook(Call::Stop, Instance::stop);
    slot.trace(Call::Stop, started.elapsed());
    settle(slot, result, LifecycleState::Stopped)
}

fn settle(
    slot: &mut ComponentSlot,
    result: Result<(), FailureCause>,
    next: LifecycleState,
) -> Result<(), FailureCause> {
    match result {
        Ok(()) => {
            slot.set_state(next);
            Ok(())
        }
        Err(cause) => {
            slot.fail(cause.clone());
            Err(cause)
        }
    }
}

#[cfg(test)]
#[path = "assembly_tests.rs"]
mod tests;
