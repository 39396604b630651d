//! The running configuration of `serve`, and every run-time change expressed as the config the
//! system should run next: checked whole (as `config check` does), then turned into a
//! [`Change`] for the session. Nothing here touches the session; the caller sends the change and,
//! once the session applied it, [`commit`](LiveConfig::commit)s the new config.

use std::path::PathBuf;

use figment::value::{Dict, Value};
use semver::VersionReq;
use serde::Deserialize;
use tradsys_core::component::ComponentId;
use tradsys_core::config::{ConfigFile, ConfigLoader, Environment};
use tradsys_core::plugin::Kind;
use tradsys_core::registry::Registry;
use tradsys_core::session::{Change, OpenOrders};

use super::history::{ConfigRevision, HISTORY_LIMIT, KeyChange, key_changes};
use super::problem::Problem;
use crate::configure::{CheckedConfig, check_loader};

/// The config the session runs, with the layers it came from.
#[derive(Debug)]
pub struct LiveConfig {
    file: PathBuf,
    overrides: Vec<String>,
    checked: CheckedConfig,
    /// Changes made so far (names their layers).
    revisions: u64,
    /// The latest applied changes, oldest first (at most [`HISTORY_LIMIT`]).
    history: std::collections::VecDeque<ConfigRevision>,
}

/// A checked next config and the change that gets there.
#[derive(Debug)]
pub struct Candidate {
    checked: CheckedConfig,
    /// What asked for it.
    source: String,
    /// The keys whose effective value it changes.
    pub keys: Vec<KeyChange>,
    /// What the session must do.
    pub change: Change,
}

/// `POST /strategies/{id}/swap`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SwapRequest {
    /// The plugin to run (another, or the same for a fresh instance).
    pub plugin: String,
    /// A semver requirement; the highest matching version runs (default `*`).
    #[serde(default)]
    pub version: Option<String>,
    /// Its parameters (plugin defaults fill the rest).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// `keep` (default): resting orders carry over to the new instance; `cancel`: cancelled first.
    #[serde(default)]
    pub open_orders: OpenOrdersChoice,
}

/// What happens to a swapped strategy's resting orders.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OpenOrdersChoice {
    /// They carry over; the new instance is told about them.
    #[default]
    Keep,
    /// They are cancelled before the switch.
    Cancel,
}

/// `POST /strategies`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddRequest {
    /// The new strategy's id (lower-case letters, digits, `-`, `_`).
    pub id: String,
    /// The plugin.
    pub plugin: String,
    /// A semver requirement (default `*`).
    #[serde(default)]
    pub version: Option<String>,
    /// Its parameters.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: serde_json::Map<String, serde_json::Value>,
}

impl LiveConfig {
    /// The config `serve` started with.
    #[must_use]
    pub fn new(file: PathBuf, overrides: Vec<String>, checked: CheckedConfig) -> LiveConfig {
        LiveConfig { file, overrides, checked, revisions: 0, history: std::collections::VecDeque::new() }
    }

    /// The running config.
    #[must_use]
    pub fn checked(&self) -> &CheckedConfig {
        &self.checked
    }

    /// `PATCH /config`: `patch` (a partial config in the file's schema) merged over the running
    /// config; `null` for `strategies.<id>` or `risk.<id>` removes that component.
    ///
    /// # Errors
    /// Not a table, a misplaced `null`, any config error (400), a key that cannot change (409).
    pub fn patch(&self, patch: serde_json::Value, registry: &Registry) -> Result<Candidate, Problem> {
        let serde_json::Value::Object(mut top) = patch else {
            return Err(Problem::invalid("the patch must be a JSON object in the config file's schema", vec![]));
        };
        let mut replaced = Vec::new();
        for section in ["strategies", "risk"] {
            if let Some(serde_json::Value::Object(entries)) = top.get_mut(section) {
                let removed: Vec<String> =
                    entries.iter().filter(|(_, v)| v.is_null()).map(|(k, _)| k.clone()).collect();
                for id in removed {
                    entries.remove(&id);
                    replaced.push(format!("{section}.{id}"));
                }
            }
        }
        let mut nulls = Vec::new();
        find_nulls(&serde_json::Value::Object(top.clone()), &mut String::new(), &mut nulls);
        if !nulls.is_empty() {
            let details = nulls.iter().map(|key| format!("key {key}: null")).collect();
            return Err(Problem::invalid(
                "null only removes a whole strategy or validator (strategies.<id> or risk.<id>)",
                details,
            ));
        }
        let data = to_dict(serde_json::Value::Object(top))?;
        self.candidate(&format!("PATCH /config #{}", self.revisions + 1), data, &replaced, registry, None)
    }

    /// `POST /strategies/{id}/swap`.
    ///
    /// # Errors
    /// No such strategy (404), a bad plugin, version or parameters (400).
    pub fn swap(&self, id: &str, request: SwapRequest, registry: &Registry) -> Result<Candidate, Problem> {
        let Some(running) = self.checked.config.strategies.get(id) else {
            return Err(Problem::unknown(format!("no strategy {id:?} is running")));
        };
        let mut table = component_table(&request.plugin, request.version.as_deref(), request.params)?;
        if let Some(lazy) = running.lazy {
            table.insert("lazy".to_owned(), Value::from(lazy));
        }
        let data = section_with("strategies", id, table);
        let source = format!("POST /strategies/{id}/swap #{}", self.revisions + 1);
        let open_orders = match request.open_orders {
            OpenOrdersChoice::Keep => OpenOrders::Keep,
            OpenOrdersChoice::Cancel => OpenOrders::Cancel,
        };
        let swapped = ComponentId::new(Kind::Strategy, id);
        self.candidate(&source, data, &[format!("strategies.{id}")], registry, Some((swapped, open_orders)))
    }

    /// `POST /strategies`.
    ///
    /// # Errors
    /// The id is taken (409), or a bad id, plugin, version or parameters (400).
    pub fn add(&self, request: AddRequest, registry: &Registry) -> Result<Candidate, Problem> {
        if self.checked.config.strategies.contains_key(&request.id) {
            return Err(Problem::conflict(format!("strategy {:?} already runs; swap it instead", request.id), vec![]));
        }
        let table = component_table(&request.plugin, request.version.as_deref(), request.params)?;
        let data = section_with("strategies", &request.id, table);
        let source = format!("POST /strategies #{}", self.revisions + 1);
        self.candidate(&source, data, &[], registry, None)
    }

    /// `DELETE /strategies/{id}`.
    ///
    /// # Errors
    /// No such strategy (404).
    pub fn remove(&self, id: &str, registry: &Registry) -> Result<Candidate, Problem> {
        if !self.checked.config.strategies.contains_key(id) {
            return Err(Problem::unknown(format!("no strategy {id:?} is running")));
        }
        let source = format!("DELETE /strategies/{id} #{}", self.revisions + 1);
        self.candidate(&source, Dict::new(), &[format!("strategies.{id}")], registry, None)
    }

    /// `--watch`: the file re-read, with the environment and `--set` overrides, as the whole
    /// running config (earlier API changes give way to the file).
    ///
    /// # Errors
    /// An unreadable file or any config error (400), a key that cannot change (409).
    pub fn reload(&self, registry: &Registry) -> Result<Candidate, Problem> {
        let loader = ConfigLoader::load(&ConfigFile::Path(self.file.clone()), &Environment::Process, &self.overrides)
            .map_err(|errors| Problem::config(&errors))?;
        let source = format!("{} (watched) #{}", self.file.display(), self.revisions + 1);
        self.check(source, loader, registry, None)
    }

    fn candidate(
        &self,
        source: &str,
        data: Dict,
        replaced: &[String],
        registry: &Registry,
        swap: Option<(ComponentId, OpenOrders)>,
    ) -> Result<Candidate, Problem> {
        let loader = self.checked.loader.patched(source, data, replaced);
        self.check(source.to_owned(), loader, registry, swap)
    }

    fn check(
        &self,
        source: String,
        loader: ConfigLoader,
        registry: &Registry,
        swap: Option<(ComponentId, OpenOrders)>,
    ) -> Result<Candidate, Problem> {
        let checked = check_loader(loader, registry).map_err(|errors| Problem::config(&errors))?;
        let mut change = Change::between(&self.checked.config, &checked.config, &checked.plan).map_err(|refusals| {
            Problem::conflict(
                "the change touches keys a running session cannot change; nothing was changed",
                refusals.iter().map(ToString::to_string).collect(),
            )
        })?;
        if let Some((component, open_orders)) = swap {
            change = change.forcing_swap(&component, &checked.plan, open_orders);
        }
        let keys = key_changes(&self.checked, &checked);
        Ok(Candidate { checked, source, keys, change })
    }

    /// Makes a candidate the running config, once the session applied its change (`components`:
    /// what the session did, a line each); records it in the history and the log, and returns
    /// the record (a change that changed nothing is not kept).
    pub fn commit(&mut self, candidate: Candidate, components: Vec<String>) -> ConfigRevision {
        self.checked = candidate.checked;
        self.revisions += 1;
        let revision =
            ConfigRevision { revision: self.revisions, source: candidate.source, keys: candidate.keys, components };
        for key in &revision.keys {
            tracing::info!(revision = revision.revision, source = %revision.source, "config changed: {key}");
        }
        for line in &revision.components {
            tracing::info!(revision = revision.revision, source = %revision.source, "component changed: {line}");
        }
        if !(revision.keys.is_empty() && revision.components.is_empty()) {
            if self.history.len() == HISTORY_LIMIT {
                self.history.pop_front();
            }
            self.history.push_back(revision.clone());
        }
        revision
    }

    /// The applied changes, oldest first (the latest [`HISTORY_LIMIT`]).
    #[must_use]
    pub fn history(&self) -> Vec<ConfigRevision> {
        self.history.iter().cloned().collect()
    }
}

/// `{plugin, version, params}` as a config table.
fn component_table(
    plugin: &str,
    version: Option<&str>,
    params: serde_json::Map<String, serde_json::Value>,
) -> Result<Dict, Problem> {
    let mut table = Dict::new();
    table.insert("plugin".to_owned(), Value::from(plugin.to_owned()));
    if let Some(version) = version {
        VersionReq::parse(version).map_err(|error| {
            Problem::invalid(format!("version {version:?} is not a semver requirement: {error}"), vec![])
        })?;
        table.insert("version".to_owned(), Value::from(version.to_owned()));
    }
    table.insert("params".to_owned(), Value::from(to_dict(serde_json::Value::Object(params))?));
    Ok(table)
}

fn section_with(section: &str, id: &str, table: Dict) -> Dict {
    let mut entries = Dict::new();
    entries.insert(id.to_owned(), Value::from(table));
    let mut data = Dict::new();
    data.insert(section.to_owned(), Value::from(entries));
    data
}

fn to_dict(json: serde_json::Value) -> Result<Dict, Problem> {
    serde_json::from_value::<Dict>(json)
        .map_err(|error| Problem::invalid(format!("the body does not form a config table: {error}"), vec![]))
}

fn find_nulls(value: &serde_json::Value, path: &mut String, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Null => out.push(path.clone()),
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                find_nulls(inner, path, out);
                path.truncate(len);
            }
        }
        serde_json::Value::Array(items) => {
            for (at, inner) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{at}]"));
                find_nulls(inner, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}
