//! What each run-time change did to the running config, key by key, and the history of changes
//! `GET /config/history` lists: the answer to "who set this limit, and what was it before?".

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::configure::{CheckedConfig, effective_with_defaults};

/// Changes kept in the history; the oldest go first past it (the log keeps every one).
pub const HISTORY_LIMIT: usize = 1_000;

/// One key whose effective value changed: `risk.position.params.max_position: 100 → 50`.
/// Plugin defaults count as values, so a key set for the first time shows what it was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct KeyChange {
    /// The dotted key.
    pub key: String,
    /// Its value before, as the config file would write it; `None` when it had none (a new
    /// component's keys).
    pub before: Option<String>,
    /// Its value after; `None` when the change removed it (a removed component's keys).
    pub after: Option<String>,
}

impl fmt::Display for KeyChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let side = |value: &Option<String>, none: &'static str| value.clone().unwrap_or_else(|| none.to_owned());
        write!(f, "{}: {} → {}", self.key, side(&self.before, "(unset)"), side(&self.after, "(removed)"))
    }
}

/// The keys whose effective value differs between two checked configs, in key order. Credentials
/// are compared as they are shown, redacted.
#[must_use]
pub fn key_changes(before: &CheckedConfig, after: &CheckedConfig) -> Vec<KeyChange> {
    let values = |checked: &CheckedConfig| -> BTreeMap<String, String> {
        effective_with_defaults(&checked.loader, Some(&checked.config), Some(&checked.plan))
            .unwrap_or_default()
            .into_iter()
            .map(|(key, value, _)| (key, value))
            .collect()
    };
    let (before, after) = (values(before), values(after));
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| before.get(*key) != after.get(*key))
        .map(|key| KeyChange { key: key.clone(), before: before.get(key).cloned(), after: after.get(key).cloned() })
        .collect()
}

/// One applied change, as the history lists it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ConfigRevision {
    /// 1 for the first change after start-up, then one more each.
    pub revision: u64,
    /// What asked for it (`PATCH /config #3`, `POST /strategies/trend/swap #4`, or the watched
    /// file).
    pub source: String,
    /// The keys it changed.
    pub keys: Vec<KeyChange>,
    /// What the session did: each component reconfigured in place, rebuilt, added, removed.
    pub components: Vec<String>,
}
