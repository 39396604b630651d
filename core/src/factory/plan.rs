//! Planning: from a config to resolved components in dependency order, with no side effects.
//!
//! [`plan`] resolves every configured component to a registered version, checks parameters without
//! building anything, resolves declared dependencies (one version per component per run: the highest
//! that meets every requirement) and orders everything so dependencies come first. It reports every
//! problem it finds, each naming the config source and key, before anything is built. Plugin code
//! run here (parameter decoding, `build` in [`check_builds`]) passes the boundary like any other call.

use std::collections::BTreeMap;

use std::path::Path;

use figment::value::{Dict, Value};
use semver::VersionReq;

use crate::boundary::{self, Call};
use crate::capability::Capabilities;
use crate::component::ComponentId;
use crate::config::{ComponentConfig, Config, ConfigError, ConfigLoader};
use crate::metrics::Meter;
use crate::plugin::Kind;
use crate::registry::{LookupError, RegisteredComponent, Registry};
use crate::resolve::dependency_order;
use crate::troubleshooting::Topic;
use crate::trust::{Admission, AdmitAll};

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
    /// The capabilities the config grants (the kind's defaults unless it lists them).
    pub granted: Capabilities,
    /// Parameters.
    pub params: Dict,
}

impl ComponentRequest {
    /// The component this request names.
    #[must_use]
    pub fn component_id(&self) -> ComponentId {
        ComponentId::new(self.kind, self.id.as_str())
    }
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

impl PlannedComponent {
    /// The indicator plugins this component may ask for at `init`: its plugin's declared
    /// dependencies and those its parameters add.
    #[must_use]
    pub fn indicator_dependencies(&self) -> Vec<String> {
        let descriptor = &self.registered.descriptor;
        let added = descriptor.added_dependencies(&self.request.component_id(), &self.request.params);
        let declared = descriptor.dependencies.iter().cloned();
        declared
            .chain(added.unwrap_or_default())
            .filter(|dependency| dependency.kind == Kind::Indicator)
            .map(|dependency| dependency.name.into_owned())
            .collect()
    }
}

impl Plan {
    /// The version chosen for `kind`/`name`, if the run may use it.
    #[must_use]
    pub fn version_of(&self, kind: Kind, name: &str) -> Option<RegisteredComponent> {
        self.versions.get(&(kind, name.to_owned())).cloned()
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
        granted: Capabilities::default_for(Kind::Matching),
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
        granted: component
            .capabilities
            .as_ref()
            .map_or(Capabilities::default_for(kind), |listed| listed.iter().copied().collect()),
        params: component.params.clone(),
    }
}

/// Resolves a config against the registry: versions, parameters, dependencies, order. Every
/// plugin is admitted; see [`plan_with`].
///
/// # Errors
/// Every problem found, each with the config source and key: unknown plugins (with suggestions),
/// unmet version requirements (with the versions available), bad parameters, missing dependencies,
/// version conflicts and dependency cycles (naming the chain).
pub fn plan(registry: &Registry, config: &Config, loader: Option<&ConfigLoader>) -> Result<Plan, Vec<ConfigError>> {
    plan_with(registry, config, loader, &AdmitAll)
}

/// [`plan`], asking `admission` about every plugin the run may use (configured, or a dependency)
/// as soon as its version is chosen, before any of its code runs (its parameters are read by its
/// own code): a plugin not admitted is an error at the key that brought it in.
///
/// # Errors
/// As [`plan`], and every plugin not admitted.
pub fn plan_with(
    registry: &Registry,
    config: &Config,
    loader: Option<&ConfigLoader>,
    admission: &dyn Admission,
) -> Result<Plan, Vec<ConfigError>> {
    plan_parts(registry, config, loader, admission, true)
}

/// [`plan_with`] for a config whose components run without a session of their own (a host's
/// strategies, run for sessions elsewhere): the same checks, but no feed is needed.
///
/// # Errors
/// As [`plan_with`], but for the missing feed.
pub fn plan_hosted(
    registry: &Registry,
    config: &Config,
    loader: Option<&ConfigLoader>,
    admission: &dyn Admission,
) -> Result<Plan, Vec<ConfigError>> {
    plan_parts(registry, config, loader, admission, false)
}

fn plan_parts(
    registry: &Registry,
    config: &Config,
    loader: Option<&ConfigLoader>,
    admission: &dyn Admission,
    needs_feed: bool,
) -> Result<Plan, Vec<ConfigError>> {
    let source_of = |key: &str| loader.map_or_else(|| "configuration".to_owned(), |l| l.source_of(key));
    let mut errors = Vec::new();
    if needs_feed && config.feed.is_none() {
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
            Ok(found) => {
                seed.entry((request.kind, request.plugin.clone())).or_default().push((
                    request.req.clone(),
                    format!("{} ({})", request.key, source_of(&request.key)),
                    request.key.clone(),
                ));
                // What this instance's parameters add (a proxy's needs); bad parameters are
                // reported by the parameter checks.
                // Read with its file parameters resolved, as the instance will be built.
                let mut params = request.params.clone();
                if let Some(loader) = loader {
                    resolve_file_params(&request.key, &mut params, &found.descriptor.file_params, loader);
                }
                let added = found.descriptor.added_dependencies(&request.component_id(), &params);
                for dep in added.unwrap_or_default() {
                    let key = format!("{}.params", request.key);
                    let found = VersionReq::parse(&dep.req)
                        .map_err(|error| format!("{} {} {}: {error}", dep.kind, dep.name, dep.req))
                        .and_then(|req| {
                            registry.find(dep.kind, &dep.name, &req).map(|_| req).map_err(|error| error.to_string())
                        });
                    match found {
                        Ok(req) => seed.entry((dep.kind, dep.name.to_string())).or_default().push((
                            req,
                            format!("{} ({})", request.key, source_of(&key)),
                            key,
                        )),
                        Err(message) => errors.push(ConfigError { source: source_of(&key), key, message }),
                    }
                }
            }
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
            match versions.iter().find(|c| reqs.iter().all(|(req, _, _)| req.matches(&c.version))) {
                Some(found) => {
                    chosen.insert((*kind, name.clone()), found.clone());
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
                                "version conflict for {kind} plugin {name:?}: no version meets every requirement ({}); available: {}; {}",
                                wanted.join("; "),
                                available.join(", "),
                                Topic::VersionConflict.see()
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
            for dep in component.descriptor.dependencies.iter() {
                let Ok(req) = VersionReq::parse(&dep.req) else { continue };
                if registry.versions(dep.kind, &dep.name).is_err() {
                    let available: Vec<&str> = registry.names(dep.kind).collect();
                    dependency_errors.insert(
                        format!("missing {kind} {name} {} {}", dep.kind, dep.name),
                        ConfigError {
                            source: "configuration".to_owned(),
                            key: dependent_key.clone(),
                            message: format!(
                                "missing dependency: {label} -> {} {} {}, which is not compiled in (available {}s: {}); {}",
                                dep.kind,
                                dep.name,
                                dep.req,
                                dep.kind,
                                crate::suggest::list_or_none(&available),
                                Topic::MissingDependency.see()
                            ),
                        },
                    );
                    continue;
                }
                next.entry((dep.kind, dep.name.to_string())).or_default().push((
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
    let mut refused = std::collections::BTreeSet::new();
    for ((kind, name), component) in &chosen {
        if let Err(error) = admission.admit(component) {
            let key = requirements
                .get(&(*kind, name.clone()))
                .and_then(|r| r.first())
                .map(|(_, _, key)| key.clone())
                .unwrap_or_default();
            errors.push(ConfigError { source: source_of(&key), key, message: error.to_string() });
            refused.insert((*kind, name.clone()));
        }
    }

    for request in &requests {
        if refused.contains(&(request.kind, request.plugin.clone())) {
            continue;
        }
        let Some(component) = chosen.get(&(request.kind, request.plugin.clone())) else { continue };
        let missing = Capabilities::of(&component.descriptor.capabilities).missing_from(request.granted);
        if !missing.is_empty() {
            let key = format!("{}.capabilities", request.key);
            let names: Vec<String> = missing.iter().map(|capability| capability.to_string()).collect();
            errors.push(ConfigError {
                source: source_of(&key),
                message: format!(
                    "{} {} needs {} {}, not granted (granted: {}); grant {} in {key}, or run another plugin; {}",
                    request.kind,
                    component.descriptor.label(),
                    if names.len() == 1 { "capability" } else { "capabilities" },
                    names.join(", "),
                    request.granted.names(),
                    if names.len() == 1 { "it" } else { "them" },
                    Topic::CapabilityNotGranted.see()
                ),
                key,
            });
        }
        if let Err(error) = component.descriptor.check(&request.component_id(), &request.params) {
            let key = match &error {
                crate::plugin::ParamError::UnknownKey { key, .. } => format!("{}.params.{key}", request.key),
                crate::plugin::ParamError::Invalid { key, .. } => format!("{}.params.{key}", request.key),
                crate::plugin::ParamError::NotATable(_) | crate::plugin::ParamError::Panicked(_) => {
                    format!("{}.params", request.key)
                }
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
                .filter_map(|dep| nodes.iter().position(|(k, n)| *k == dep.kind && *n == dep.name))
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
                message: format!("dependency cycle: {}; {}", chain.join(" -> "), Topic::DependencyCycle.see()),
            });
            vec![0; nodes.len()]
        }
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut components: Vec<PlannedComponent> = requests
        .into_iter()
        .filter_map(|mut request| {
            let registered = chosen.get(&(request.kind, request.plugin.clone()))?.clone();
            if let Some(loader) = loader {
                resolve_file_params(&request.key, &mut request.params, &registered.descriptor.file_params, loader);
            }
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

/// Makes each relative path in a file parameter relative to the directory of the config file that
/// set it (see [`Plugin::FILE_PARAMS`](crate::plugin::Plugin::FILE_PARAMS)).
fn resolve_file_params(component_key: &str, params: &mut Dict, file_params: &[&str], loader: &ConfigLoader) {
    for name in file_params {
        let key = format!("{component_key}.params.{name}");
        let Some(Value::String(tag, text)) = params.get(*name) else { continue };
        let path = Path::new(text);
        if text.is_empty() || path.is_absolute() {
            continue;
        }
        if let Some(dir) = loader.base_dir_of(&key).filter(|dir| !dir.as_os_str().is_empty()) {
            let resolved = dir.join(path).display().to_string();
            params.insert((*name).to_owned(), Value::String(*tag, resolved));
        }
    }
}

impl Plan {
    /// The input files the plan's components read, by config key (`feed.params.path`), as resolved.
    #[must_use]
    pub fn input_files(&self) -> Vec<(String, std::path::PathBuf)> {
        let mut files = Vec::new();
        for component in &self.components {
            for name in component.registered.descriptor.file_params.iter() {
                if let Some(Value::String(_, text)) = component.request.params.get(*name)
                    && !text.is_empty()
                {
                    files.push((format!("{}.params.{name}", component.request.key), text.into()));
                }
            }
        }
        files
    }
}

/// Builds (and drops) every eager component of a plan, so that a component's own consistency checks
/// (`fast < slow`) are part of checking a config. Lazy components are left unbuilt.
///
/// # Errors
/// Every component that refuses its parameters, at `<key>.params`.
pub fn check_builds(plan: &Plan, loader: Option<&ConfigLoader>) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    for component in plan.components.iter().filter(|c| !c.request.lazy) {
        let descriptor = &component.registered.descriptor;
        let id = component.request.component_id();
        let mut meter = Meter::detached();
        let built =
            boundary::contain_fallible(&id, &mut meter, Call::Build, || descriptor.build(&component.request.params));
        let message = match built {
            Ok(instance) => {
                // Dropping is plugin code too; a panic there is reported like one in build.
                match boundary::contain(&id, &mut meter, Call::Drop, move || drop(instance)) {
                    Ok(()) => continue,
                    Err(panicked) => format!("panicked while dropping a test build: {}", panicked.message),
                }
            }
            Err(boundary::CallError::Refused(error)) => error.to_string(),
            Err(boundary::CallError::Panicked(panicked)) => format!("panicked while building: {}", panicked.message),
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

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
