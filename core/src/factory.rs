//! The component factory: from a config to running components, in dependency order.
//!
//! [`plan`] resolves every configured component to a registered version, checks parameters without
//! building anything, resolves declared dependencies (one version per component per run: the highest
//! that meets every requirement) and orders everything so dependencies come first. It reports every
//! problem it finds, each naming the config source and key, before anything is built.
//!
//! [`Assembly`] then drives the lifecycle: load (build) → init → start, in order; stop in reverse;
//! unload. A failing init or start marks that component `failed`, stops and unloads what already
//! started, and reports which component failed and why. Lazy components are built on first use,
//! exactly once even under concurrent first use (`once_cell`). Every transition is a `tracing` event
//! carrying `name@version` and its duration, and passes the panic-containing [`boundary`](crate::boundary).

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use figment::value::Dict;
use once_cell::sync::OnceCell;
use semver::VersionReq;

use crate::boundary;
use crate::component::{ComponentError, IndicatorProvider, InitContext};
use crate::config::{ComponentConfig, Config, ConfigError, ConfigLoader};
use crate::instrument::InstrumentTable;
use crate::plugin::{BuildError, ComponentDescriptor, Instance, Kind};
use crate::registry::{LookupError, RegisteredComponent, Registry};
use crate::resolve::dependency_order;

/// A component the config asks for, before lookup.
#[derive(Clone, Debug, PartialEq)]
pub struct ComponentRequest {
    /// The config id (`feed`, `matching`, or the table key).
    pub id: String,
    /// Its kind.
    pub kind: Kind,
    /// Its config key path, e.g. `strategies.trend`.
    pub key: String,
    /// The plugin's name.
    pub plugin: String,
    /// The version requirement.
    pub req: VersionReq,
    /// Built on first use?
    pub lazy: bool,
    /// Risk-chain position.
    pub order: i64,
    /// Parameters.
    pub params: Dict,
}

/// A request resolved to a registered version.
#[derive(Clone, Debug)]
pub struct PlannedComponent {
    /// What the config asked for.
    pub request: ComponentRequest,
    /// The version that will run.
    pub registered: RegisteredComponent,
}

/// Every configured component, resolved and in dependency order.
#[derive(Debug, Default)]
pub struct Plan {
    /// Configured components; each comes after the components its plugin depends on.
    pub components: Vec<PlannedComponent>,
    /// The version chosen for each plugin the run may use, dependencies included.
    pub versions: BTreeMap<(Kind, String), RegisteredComponent>,
}

impl Plan {
    /// The version chosen for `kind`/`name`, if the run may use it.
    #[must_use]
    pub fn version_of(&self, kind: Kind, name: &str) -> Option<RegisteredComponent> {
        self.versions.get(&(kind, name.to_owned())).copied()
    }
}

/// Lists the components a config asks for (the feed first, if configured).
#[must_use]
pub fn requests(config: &Config) -> Vec<ComponentRequest> {
    let mut out = Vec::new();
    if let Some(feed) = &config.feed {
        out.push(request(Kind::Feed, "feed", "feed", feed));
    }
    out.push(ComponentRequest {
        id: "matching".to_owned(),
        kind: Kind::Matching,
        key: "matching".to_owned(),
        plugin: config.matching.plugin.clone(),
        req: config.matching.version.clone(),
        lazy: false,
        order: 0,
        params: config.matching.params.clone(),
    });
    for (section, kind, map) in [
        ("indicators", Kind::Indicator, &config.indicators),
        ("risk", Kind::Risk, &config.risk),
        ("strategies", Kind::Strategy, &config.strategies),
    ] {
        for (id, component) in map {
            out.push(request(kind, id, &format!("{section}.{id}"), component));
        }
    }
    out
}

fn request(kind: Kind, id: &str, key: &str, component: &ComponentConfig) -> ComponentRequest {
    ComponentRequest {
        id: id.to_owned(),
        kind,
        key: key.to_owned(),
        plugin: component.plugin.clone().unwrap_or_else(|| id.to_owned()),
        req: component.version.clone(),
        lazy: component.lazy.unwrap_or(kind.lazy_by_default()),
        order: component.order.unwrap_or(0),
        params: component.params.clone(),
    }
}

/// Resolves a config against the registry: versions, parameters, dependencies, order.
///
/// # Errors
/// Every problem found, each with the config source and key: unknown plugins (with suggestions),
/// unmet version requirements (with the versions available), bad parameters, missing dependencies,
/// version conflicts and dependency cycles (naming the chain).
pub fn plan(registry: &Registry, config: &Config, loader: Option<&ConfigLoader>) -> Result<Plan, Vec<ConfigError>> {
    let source_of = |key: &str| loader.map_or_else(|| "configuration".to_owned(), |l| l.source_of(key));
    let mut errors = Vec::new();
    if config.feed.is_none() {
        errors.push(ConfigError {
            source: "configuration".to_owned(),
            key: "feed".to_owned(),
            message: "missing; a run needs a market-data feed, e.g. [feed] plugin = \"bars-csv\"".to_owned(),
        });
    }
    let requests = requests(config);
    for request in &requests {
        if request.order != 0 && request.kind != Kind::Risk {
            let key = format!("{}.order", request.key);
            errors.push(ConfigError {
                source: source_of(&key),
                key,
                message: "only risk validators take an order (their position in the chain)".to_owned(),
            });
        }
    }

    // Requirements per plugin: from the config, then from the dependencies of the versions chosen.
    /// A requirement and who made it: (requirement, description for messages, config key to blame).
    type Requirements = BTreeMap<(Kind, String), Vec<(VersionReq, String, String)>>;
    let mut seed: Requirements = BTreeMap::new();
    for request in &requests {
        match registry.find(request.kind, &request.plugin, &request.req) {
            Ok(_) => seed.entry((request.kind, request.plugin.clone())).or_default().push((
                request.req.clone(),
                format!("{} ({})", request.key, source_of(&request.key)),
                request.key.clone(),
            )),
            Err(error @ LookupError::Unknown { .. }) => {
                let key = if config_has_plugin_key(request) {
                    format!("{}.plugin", request.key)
                } else {
                    request.key.clone()
                };
                errors.push(ConfigError { source: source_of(&key), key, message: error.to_string() });
            }
            Err(error) => {
                let key = format!("{}.version", request.key);
                errors.push(ConfigError { source: source_of(&key), key, message: error.to_string() });
            }
        }
    }
    let mut requirements = seed.clone();
    let mut chosen: BTreeMap<(Kind, String), RegisteredComponent> = BTreeMap::new();
    let mut dependency_errors: BTreeMap<String, ConfigError> = BTreeMap::new();
    for _round in 0..64 {
        chosen.clear();
        for ((kind, name), reqs) in &requirements {
            let Ok(versions) = registry.versions(*kind, name) else { continue };
            match versions.iter().find(|c| reqs.iter().all(|(req, _, _)| req.matches(c.version))) {
                Some(found) => {
                    chosen.insert((*kind, name.clone()), *found);
                }
                None => {
                    let wanted: Vec<String> = reqs.iter().map(|(req, by, _)| format!("{req} by {by}")).collect();
                    let available: Vec<String> = versions.iter().map(|c| c.version.to_string()).collect();
                    dependency_errors.insert(
                        format!("conflict {kind} {name}"),
                        ConfigError {
                            source: "configuration".to_owned(),
                            key: reqs.first().map(|(_, _, key)| key.clone()).unwrap_or_default(),
                            message: format!(
                                "version conflict for {kind} plugin {name:?}: no version meets every requirement ({}); available: {}",
                                wanted.join("; "),
                                available.join(", ")
                            ),
                        },
                    );
                }
            }
        }
        let mut next = seed.clone();
        for ((kind, name), component) in &chosen {
            let label = format!("{kind} {}", component.descriptor.label());
            // Blame the config key that brought this plugin in (its first requirement's).
            let dependent_key = requirements
                .get(&(*kind, name.clone()))
                .and_then(|r| r.first())
                .map(|(_, _, key)| key.clone())
                .unwrap_or_default();
            for dep in component.descriptor.dependencies {
                let Ok(req) = VersionReq::parse(dep.req) else { continue };
                if registry.versions(dep.kind, dep.name).is_err() {
                    let available: Vec<&str> = registry.names(dep.kind).collect();
                    dependency_errors.insert(
                        format!("missing {kind} {name} {} {}", dep.kind, dep.name),
                        ConfigError {
                            source: "configuration".to_owned(),
                            key: dependent_key.clone(),
                            message: format!(
                                "missing dependency: {label} -> {} {} {}, which is not compiled in (available {}s: {})",
                                dep.kind,
                                dep.name,
                                dep.req,
                                dep.kind,
                                crate::suggest::list_or_none(&available)
                            ),
                        },
                    );
                    continue;
                }
                next.entry((dep.kind, dep.name.to_owned())).or_default().push((
                    req,
                    label.clone(),
                    dependent_key.clone(),
                ));
            }
        }
        if next == requirements {
            break;
        }
        requirements = next;
    }
    errors.extend(dependency_errors.into_values());

    for request in &requests {
        let Some(component) = chosen.get(&(request.kind, request.plugin.clone())) else { continue };
        if let Err(error) = (component.descriptor.check_params)(&request.params) {
            let key = match &error {
                crate::plugin::ParamError::UnknownKey { key, .. } => format!("{}.params.{key}", request.key),
                crate::plugin::ParamError::Invalid { key, .. } => format!("{}.params.{key}", request.key),
                crate::plugin::ParamError::NotATable(_) => format!("{}.params", request.key),
            };
            let message = format!("{} {}: {error}", request.kind, component.descriptor.label());
            errors.push(ConfigError { source: source_of(&key), key, message });
        }
    }

    // Dependency order over the chosen plugins.
    let nodes: Vec<(Kind, String)> = chosen.keys().cloned().collect();
    let deps: Vec<Vec<usize>> = nodes
        .iter()
        .map(|key| {
            chosen[key]
                .descriptor
                .dependencies
                .iter()
                .filter_map(|dep| nodes.iter().position(|(k, n)| *k == dep.kind && n == dep.name))
                .collect()
        })
        .collect();
    // A node's depth: 0 without dependencies, else one more than its deepest dependency. Components
    // start by depth, then kind (feed, matching, indicator, risk, strategy), then id.
    let depth = match dependency_order(&deps) {
        Ok(order) => {
            let mut depth = vec![0usize; nodes.len()];
            for node in order {
                depth[node] = deps[node].iter().map(|&dep| depth[dep] + 1).max().unwrap_or(0);
            }
            depth
        }
        Err(cycle) => {
            let chain: Vec<String> = cycle
                .iter()
                .map(|&node| format!("{} {}", nodes[node].0, chosen[&nodes[node]].descriptor.label()))
                .collect();
            errors.push(ConfigError {
                source: "configuration".to_owned(),
                key: String::new(),
                message: format!("dependency cycle: {}", chain.join(" -> ")),
            });
            vec![0; nodes.len()]
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut components: Vec<PlannedComponent> = requests
        .into_iter()
        .filter_map(|request| {
            let registered = *chosen.get(&(request.kind, request.plugin.clone()))?;
            Some(PlannedComponent { request, registered })
        })
        .collect();
    let node_rank = |c: &PlannedComponent| {
        nodes.iter().position(|(k, n)| *k == c.request.kind && *n == c.request.plugin).map_or(0, |at| depth[at])
    };
    let kind_rank = |kind: Kind| Kind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
    components.sort_by(|a, b| {
        (node_rank(a), kind_rank(a.request.kind), &a.request.id).cmp(&(
            node_rank(b),
            kind_rank(b.request.kind),
            &b.request.id,
        ))
    });
    Ok(Plan { components, versions: chosen })
}

/// Builds (and drops) every eager component of a plan, so that a component's own consistency checks
/// (`fast < slow`) are part of checking a config. Lazy components are left unbuilt.
///
/// # Errors
/// Every component that refuses its parameters, at `<key>.params`.
pub fn check_builds(plan: &Plan, loader: Option<&ConfigLoader>) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    for component in plan.components.iter().filter(|c| !c.request.lazy) {
        let descriptor = component.registered.descriptor;
        let built = boundary::contain(|| descriptor.build(&component.request.params));
        let message = match built {
            Ok(Ok(_instance)) => continue,
            Ok(Err(error)) => error.to_string(),
            Err(panic) => format!("panicked while building: {panic}"),
        };
        let key = format!("{}.params", component.request.key);
        errors.push(ConfigError {
            source: loader.map_or_else(|| "configuration".to_owned(), |l| l.source_of(&key)),
            key,
            message: format!("{} {}: {message}", component.request.kind, descriptor.label()),
        });
    }
    errors
}

fn config_has_plugin_key(request: &ComponentRequest) -> bool {
    request.kind == Kind::Matching || request.kind == Kind::Feed || request.plugin != request.id
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
    /// Stopped.
    Stopped,
    /// Dropped.
    Unloaded,
    /// A lifecycle hook failed (or panicked); the component is not called again.
    Failed(String),
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
            LifecycleState::Failed(reason) => write!(f, "failed: {reason}"),
        }
    }
}

/// A lifecycle stage, for errors and traces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Building the instance.
    Load,
    /// `init`.
    Init,
    /// `start`.
    Start,
    /// `stop`.
    Stop,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Load => "load",
            Stage::Init => "init",
            Stage::Start => "start",
            Stage::Stop => "stop",
        }
    }
}

/// A component failed a lifecycle stage.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {id} ({label}) failed to {stage}: {reason}", stage = stage.as_str())]
pub struct LifecycleError {
    /// Its kind.
    pub kind: Kind,
    /// Its config id.
    pub id: String,
    /// `name@version`.
    pub label: String,
    /// The stage that failed.
    pub stage: Stage,
    /// Why.
    pub reason: String,
}

/// Time spent in each lifecycle stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StageTimes {
    /// Building.
    pub load: Option<Duration>,
    /// `init`.
    pub init: Option<Duration>,
    /// `start`.
    pub start: Option<Duration>,
}

/// One component under the factory's management.
#[derive(Debug)]
pub struct ComponentSlot {
    /// Config id.
    pub id: String,
    /// Kind.
    pub kind: Kind,
    /// `name@version`.
    pub label: String,
    /// Built on first use?
    pub lazy: bool,
    /// Risk-chain position.
    pub order: i64,
    descriptor: &'static ComponentDescriptor,
    params: Dict,
    state: LifecycleState,
    instance: OnceCell<Instance>,
    times: StageTimes,
}

impl ComponentSlot {
    /// The lifecycle state.
    #[must_use]
    pub fn state(&self) -> &LifecycleState {
        &self.state
    }

    /// Whether the instance was ever built.
    #[must_use]
    pub fn built(&self) -> bool {
        self.instance.get().is_some() || self.times.load.is_some()
    }

    /// Stage timings.
    #[must_use]
    pub fn times(&self) -> StageTimes {
        self.times
    }

    /// The descriptor.
    #[must_use]
    pub fn descriptor(&self) -> &'static ComponentDescriptor {
        self.descriptor
    }

    /// The instance, if built and not failed.
    pub fn instance_mut(&mut self) -> Option<&mut Instance> {
        if matches!(self.state, LifecycleState::Failed(_)) {
            return None;
        }
        self.instance.get_mut()
    }

    /// Takes the instance out (the session owns matching algorithms itself).
    pub fn take_instance(&mut self) -> Option<Instance> {
        self.instance.take()
    }

    /// Marks the component failed: it is not called again.
    pub fn fail(&mut self, reason: String) {
        tracing::error!(component = %self.label, id = %self.id, %reason, "component failed");
        self.state = LifecycleState::Failed(reason);
    }

    fn error(&self, stage: Stage, reason: String) -> LifecycleError {
        LifecycleError { kind: self.kind, id: self.id.clone(), label: self.label.clone(), stage, reason }
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

/// The components of a run and their lifecycle.
#[derive(Debug, Default)]
pub struct Assembly {
    slots: Vec<ComponentSlot>,
}

impl Assembly {
    /// Takes a plan's components, in its order; nothing is built yet.
    #[must_use]
    pub fn new(plan: &Plan) -> Assembly {
        let mut assembly = Assembly::default();
        for component in &plan.components {
            assembly.add(&component.request, component.registered.descriptor);
        }
        assembly
    }

    /// Adds a component (built later, or on first use if lazy); returns its index.
    pub fn add(&mut self, request: &ComponentRequest, descriptor: &'static ComponentDescriptor) -> usize {
        self.slots.push(ComponentSlot {
            id: request.id.clone(),
            kind: request.kind,
            label: descriptor.label(),
            lazy: request.lazy,
            order: request.order,
            descriptor,
            params: request.params.clone(),
            state: LifecycleState::Planned,
            instance: OnceCell::new(),
            times: StageTimes::default(),
        });
        self.slots.len() - 1
    }

    /// The components, in dependency order.
    #[must_use]
    pub fn slots(&self) -> &[ComponentSlot] {
        &self.slots
    }

    /// A component, mutably.
    pub fn slot_mut(&mut self, index: usize) -> &mut ComponentSlot {
        &mut self.slots[index]
    }

    /// The index of the component with this kind and id.
    #[must_use]
    pub fn find(&self, kind: Kind, id: &str) -> Option<usize> {
        self.slots.iter().position(|s| s.kind == kind && s.id == id)
    }

    /// Loads, initializes and starts every non-lazy component, in dependency order.
    ///
    /// # Errors
    /// The first component that fails; everything started before it is stopped and unloaded.
    pub fn start_eager(&mut self, env: &mut InitEnv<'_>) -> Result<(), LifecycleError> {
        self.init_eager(env)?;
        self.start_initialized()
    }

    /// Loads and initializes every non-lazy component, in dependency order.
    ///
    /// # Errors
    /// The first component that fails; everything loaded is unloaded.
    pub fn init_eager(&mut self, env: &mut InitEnv<'_>) -> Result<(), LifecycleError> {
        for index in 0..self.slots.len() {
            if self.slots[index].lazy {
                continue;
            }
            if let Err(error) = self.load(index).and_then(|()| self.init(index, env)) {
                self.rollback();
                return Err(error);
            }
        }
        Ok(())
    }

    /// Starts every initialized component, in dependency order.
    ///
    /// # Errors
    /// The first component that fails; everything started before it is stopped, and all unloaded.
    pub fn start_initialized(&mut self) -> Result<(), LifecycleError> {
        for index in 0..self.slots.len() {
            if let Err(error) = self.start(index) {
                self.rollback();
                return Err(error);
            }
        }
        Ok(())
    }

    /// Loads, initializes and starts a lazy component on first use; a no-op once started.
    ///
    /// # Errors
    /// The component fails a stage (it is then marked failed).
    pub fn ensure_started(&mut self, index: usize, env: &mut InitEnv<'_>) -> Result<(), LifecycleError> {
        match &self.slots[index].state {
            LifecycleState::Started => return Ok(()),
            LifecycleState::Failed(reason) => return Err(self.slots[index].error(Stage::Start, reason.clone())),
            _ => {}
        }
        self.load(index)?;
        self.init(index, env)?;
        self.start(index)
    }

    /// Builds a component if it is not built yet, safely from many threads: exactly one builds.
    ///
    /// # Errors
    /// Building failed.
    pub fn get_or_load(&self, index: usize) -> Result<&Instance, LifecycleError> {
        let slot = &self.slots[index];
        slot.instance.get_or_try_init(|| build(slot)).map_err(|reason| slot.error(Stage::Load, reason))
    }

    fn load(&mut self, index: usize) -> Result<(), LifecycleError> {
        let slot = &mut self.slots[index];
        if slot.instance.get().is_some() {
            if slot.state == LifecycleState::Planned {
                slot.state = LifecycleState::Loaded;
            }
            return Ok(());
        }
        let started = Instant::now();
        let built = build(slot);
        let elapsed = started.elapsed();
        slot.times.load = Some(elapsed);
        trace_transition(slot, Stage::Load, elapsed);
        match built {
            Ok(instance) => {
                let _ = slot.instance.set(instance);
                slot.state = LifecycleState::Loaded;
                Ok(())
            }
            Err(reason) => {
                slot.fail(reason.clone());
                Err(slot.error(Stage::Load, reason))
            }
        }
    }

    fn init(&mut self, index: usize, env: &mut InitEnv<'_>) -> Result<(), LifecycleError> {
        let slot = &mut self.slots[index];
        if slot.state != LifecycleState::Loaded {
            return Ok(());
        }
        let seed = derive_seed(env.seed, &slot.id);
        let started = Instant::now();
        let result = {
            let mut ctx = InitContext::new(&slot.id, env.instruments, seed);
            if let Some(provider) = env.indicators.as_deref_mut() {
                ctx = ctx.with_indicators(provider);
            }
            match slot.instance.get_mut().and_then(Instance::lifecycle) {
                Some(hooks) => flatten(boundary::contain(|| hooks.init(&mut ctx))),
                None => Ok(()),
            }
        };
        let elapsed = started.elapsed();
        slot.times.init = Some(elapsed);
        trace_transition(slot, Stage::Init, elapsed);
        self.settle(index, result, Stage::Init, LifecycleState::Initialized)
    }

    fn start(&mut self, index: usize) -> Result<(), LifecycleError> {
        let slot = &mut self.slots[index];
        if slot.state != LifecycleState::Initialized {
            return Ok(());
        }
        let started = Instant::now();
        let result = match slot.instance.get_mut().and_then(Instance::lifecycle) {
            Some(hooks) => flatten(boundary::contain(|| hooks.start())),
            None => Ok(()),
        };
        let elapsed = started.elapsed();
        slot.times.start = Some(elapsed);
        trace_transition(slot, Stage::Start, elapsed);
        self.settle(index, result, Stage::Start, LifecycleState::Started)
    }

    fn settle(
        &mut self,
        index: usize,
        result: Result<(), String>,
        stage: Stage,
        next: LifecycleState,
    ) -> Result<(), LifecycleError> {
        let slot = &mut self.slots[index];
        match result {
            Ok(()) => {
                slot.state = next;
                Ok(())
            }
            Err(reason) => {
                slot.fail(reason.clone());
                Err(slot.error(stage, reason))
            }
        }
    }

    /// Stops every started component in reverse order; returns the failures (the rest still stop).
    pub fn stop_all(&mut self) -> Vec<LifecycleError> {
        let mut errors = Vec::new();
        for slot in self.slots.iter_mut().rev() {
            if slot.state != LifecycleState::Started {
                continue;
            }
            let started = Instant::now();
            let result = match slot.instance.get_mut().and_then(Instance::lifecycle) {
                Some(hooks) => flatten(boundary::contain(|| hooks.stop())),
                None => Ok(()),
            };
            trace_transition(slot, Stage::Stop, started.elapsed());
            match result {
                Ok(()) => slot.state = LifecycleState::Stopped,
                Err(reason) => {
                    slot.fail(reason.clone());
                    errors.push(slot.error(Stage::Stop, reason));
                }
            }
        }
        errors
    }

    /// Unloads (drops) every built component in reverse order.
    pub fn unload_all(&mut self) {
        for slot in self.slots.iter_mut().rev() {
            if let Some(mut instance) = slot.instance.take() {
                if let Some(hooks) = instance.lifecycle() {
                    // A panicking unload is contained; the instance is dropped either way.
                    let _ = boundary::contain(|| hooks.unload());
                }
                tracing::debug!(component = %slot.label, id = %slot.id, "unloaded");
                if !matches!(slot.state, LifecycleState::Failed(_)) {
                    slot.state = LifecycleState::Unloaded;
                }
            }
        }
    }

    fn rollback(&mut self) {
        let _ = self.stop_all();
        self.unload_all();
    }
}

fn build(slot: &ComponentSlot) -> Result<Instance, String> {
    let descriptor = slot.descriptor;
    let params = &slot.params;
    match boundary::contain(|| descriptor.build(params)) {
        Ok(Ok(instance)) => Ok(instance),
        Ok(Err(BuildError::Params(error))) => Err(error.to_string()),
        Ok(Err(BuildError::Component(error))) => Err(error.to_string()),
        Err(panic) => Err(format!("panicked: {panic}")),
    }
}

fn flatten(result: Result<Result<(), ComponentError>, String>) -> Result<(), String> {
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(panic) => Err(format!("panicked: {panic}")),
    }
}

fn trace_transition(slot: &ComponentSlot, stage: Stage, elapsed: Duration) {
    tracing::info!(
        component = %slot.label,
        id = %slot.id,
        kind = %slot.kind,
        stage = stage.as_str(),
        duration_us = elapsed.as_micros() as u64,
        "lifecycle"
    );
}

/// A component's own seed: the run's seed mixed with a hash of its id, so components draw
/// independent streams and a new component does not shift the others'.
#[must_use]
pub fn derive_seed(seed: u64, id: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in id.bytes() {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    crate::rng::SplitMix64::new(seed ^ hash).next_u64()
}

#[cfg(test)]
mod tests;
