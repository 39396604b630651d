//! [`ComponentId`]: the one name of a component instance, used in every report, error, metric, log
//! field and lookup.

use std::fmt;
use std::sync::Arc;

use crate::plugin::Kind;

/// Names one component instance: its kind and its config id.
///
/// Configured components use the key of their config table (`strategies.trend` → `trend`; the feed
/// is `feed`, the matching algorithm `matching`). Indicators the session builds because a strategy
/// asked for one get an id derived from what they are, not from who asked first, so the id stays
/// the same whichever strategy requests it: `sma(period=10)@EURUSD`.
///
/// Cheap to clone (the id text is shared).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ComponentId {
    kind: Kind,
    id: Arc<str>,
}

impl ComponentId {
    /// The component of `kind` with config id `id`.
    pub fn new(kind: Kind, id: impl Into<Arc<str>>) -> ComponentId {
        ComponentId { kind, id: id.into() }
    }

    /// The id of an indicator built on request: plugin name, rendered parameters and symbol.
    ///
    /// `params` are `key=value` pairs in key order (as the config renders them).
    #[must_use]
    pub fn requested_indicator(plugin: &str, params: &[String], symbol: &str) -> ComponentId {
        ComponentId::new(Kind::Indicator, format!("{plugin}({})@{symbol}", params.join(",")))
    }

    /// Its kind.
    #[must_use]
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Its config id (or derived id).
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Display for ComponentId {
    /// `<kind> <id>`, e.g. `strategy trend`: the form every message uses.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.id)
    }
}

impl fmt::Debug for ComponentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ComponentId({} {})", self.kind, self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_kind_then_id() {
        assert_eq!(ComponentId::new(Kind::Strategy, "trend").to_string(), "strategy trend");
    }

    #[test]
    fn requested_indicator_ids_depend_on_what_not_who() {
        let a = ComponentId::requested_indicator("sma", &["period=10".to_owned()], "EURUSD");
        let b = ComponentId::requested_indicator("sma", &["period=10".to_owned()], "EURUSD");
        assert_eq!(a, b);
        assert_eq!(a.id(), "sma(period=10)@EURUSD");
        assert_eq!(a.kind(), Kind::Indicator);
        assert_ne!(a, ComponentId::requested_indicator("sma", &["period=20".to_owned()], "EURUSD"));
    }
}
