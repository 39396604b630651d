//! The shape of a config file for its generated reference (`tradsys config schema`): every
//! section, what it is for, the keys it takes and their defaults.
//!
//! Only the tree is written here (which struct reads which table). The keys, their Rust types,
//! what they mean and their ranges come from the structs' doc comments through
//! [`plugin_params!`](crate::plugin_params), and the defaults from the code, so a key added to a
//! section is in the reference at once; a test fails when a table-valued key has no section.

use figment::value::{Dict, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{
    AdminConfig, AlertsConfig, BarVenueConfig, Budget, CommissionConfig, ComponentConfig, Config, MatchingConfig,
    NatsConfig, SecurityConfig, ServeConfig, SessionConfig,
};
use crate::instrument::InstrumentSpec;
use crate::plugin::{Kind, ParamDoc};

/// One table of a config file.
#[derive(Clone, Debug)]
pub struct SectionDoc {
    /// Its key path, a `<name>` part standing for any key the user chooses
    /// (`strategies.<id>`, `instruments.<SYMBOL>`).
    pub path: &'static str,
    /// What it is for: the doc comment of the key that holds it.
    pub doc: String,
    /// Its keys.
    pub keys: &'static [ParamDoc],
    /// The default of each key that has one (absent: no default, or a default said in its doc).
    pub defaults: Dict,
    /// The kind of plugin it configures, whose `params` depend on the `plugin` chosen.
    pub component: Option<Kind>,
}

impl SectionDoc {
    /// Whether the section is a map whose keys the user chooses (`strategies.<id>`).
    #[must_use]
    pub fn is_keyed(&self) -> bool {
        self.path.ends_with('>')
    }
}

/// Every section of a config file, parents before their children, in the order of the file's
/// reference.
#[must_use]
pub fn sections() -> Vec<SectionDoc> {
    let top = Config::PARAM_DOCS;
    let component_defaults = empty_table_defaults::<ComponentConfig>;
    vec![
        section("session", doc_of(top, "session"), SessionConfig::PARAM_DOCS, defaults_of(&SessionConfig::default())),
        section(
            "session.commission",
            doc_of(SessionConfig::PARAM_DOCS, "commission"),
            CommissionConfig::PARAM_DOCS,
            defaults_of(&CommissionConfig::default()),
        ),
        section(
            "session.bars",
            doc_of(SessionConfig::PARAM_DOCS, "bars"),
            BarVenueConfig::PARAM_DOCS,
            defaults_of(&BarVenueConfig::default()),
        ),
        SectionDoc {
            component: Some(Kind::Feed),
            ..section("feed", doc_of(top, "feed"), ComponentConfig::PARAM_DOCS, component_defaults())
        },
        SectionDoc {
            component: Some(Kind::Matching),
            ..section(
                "matching",
                doc_of(top, "matching"),
                MatchingConfig::PARAM_DOCS,
                defaults_of(&MatchingConfig::default()),
            )
        },
        section(
            "instruments.<SYMBOL>",
            doc_of(top, "instruments"),
            InstrumentSpec::PARAM_DOCS,
            empty_table_defaults::<InstrumentSpec>(),
        ),
        SectionDoc {
            component: Some(Kind::Indicator),
            ..section("indicators.<id>", doc_of(top, "indicators"), ComponentConfig::PARAM_DOCS, component_defaults())
        },
        SectionDoc {
            component: Some(Kind::Risk),
            ..section("risk.<id>", doc_of(top, "risk"), ComponentConfig::PARAM_DOCS, component_defaults())
        },
        SectionDoc {
            component: Some(Kind::Strategy),
            ..section("strategies.<id>", doc_of(top, "strategies"), ComponentConfig::PARAM_DOCS, component_defaults())
        },
        section("alerts", doc_of(top, "alerts"), AlertsConfig::PARAM_DOCS, defaults_of(&AlertsConfig::default())),
        budget("alerts.all", doc_of(AlertsConfig::PARAM_DOCS, "all")),
        budget("alerts.strategies.<id>", doc_of(AlertsConfig::PARAM_DOCS, "strategies")),
        budget("alerts.risk.<id>", doc_of(AlertsConfig::PARAM_DOCS, "risk")),
        budget("alerts.indicators.<id>", doc_of(AlertsConfig::PARAM_DOCS, "indicators")),
        section("serve", doc_of(top, "serve"), ServeConfig::PARAM_DOCS, defaults_of(&ServeConfig::default())),
        section("admin", doc_of(top, "admin"), AdminConfig::PARAM_DOCS, defaults_of(&AdminConfig::default())),
        section(
            "security",
            doc_of(top, "security"),
            SecurityConfig::PARAM_DOCS,
            defaults_of(&SecurityConfig::default()),
        ),
        section("nats", doc_of(top, "nats"), NatsConfig::PARAM_DOCS, defaults_of(&NatsConfig::default())),
    ]
}

fn section(path: &'static str, doc: String, keys: &'static [ParamDoc], defaults: Dict) -> SectionDoc {
    SectionDoc { path, doc, keys, defaults, component: None }
}

fn budget(path: &'static str, doc: String) -> SectionDoc {
    section(path, doc, Budget::PARAM_DOCS, empty_table_defaults::<Budget>())
}

/// The defaults of a table with nothing written in it, as the config reads one (for tables whose
/// defaults are per key, with no `Default` of their own).
fn empty_table_defaults<T: DeserializeOwned + Serialize>() -> Dict {
    Value::from(Dict::new()).deserialize::<T>().map(|table| defaults_of(&table)).unwrap_or_default()
}

fn doc_of(keys: &[ParamDoc], name: &str) -> String {
    keys.iter().find(|key| key.name == name).map(ParamDoc::text).unwrap_or_default()
}

fn defaults_of(value: &impl Serialize) -> Dict {
    match Value::serialize(value) {
        Ok(Value::Dict(_, dict)) => dict,
        _ => Dict::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::sections;

    /// The Rust types that are tables of their own in a config file.
    const TABLE_TYPES: &[&str] = &[
        "SessionConfig",
        "CommissionConfig",
        "BarVenueConfig",
        "ComponentConfig",
        "MatchingConfig",
        "InstrumentSpec",
        "AlertsConfig",
        "Budget",
        "ServeConfig",
        "AdminConfig",
        "SecurityConfig",
        "NatsConfig",
    ];

    #[test]
    fn every_table_valued_key_has_its_section_and_every_section_is_reached() {
        let sections = sections();
        let paths: Vec<&str> = sections.iter().map(|s| s.path).collect();
        let mut reached = Vec::new();
        // The top level is `Config` itself.
        let top = [(String::new(), super::Config::PARAM_DOCS)];
        let nested = sections.iter().map(|s| (format!("{}.", s.path), s.keys));
        for (prefix, keys) in top.into_iter().chain(nested) {
            for key in keys {
                if !TABLE_TYPES.iter().any(|ty| key.ty.contains(ty)) {
                    continue;
                }
                let keyed = key.ty.starts_with("BTreeMap");
                let path = paths
                    .iter()
                    .find(|path| {
                        path.strip_prefix(prefix.as_str()).and_then(|rest| rest.strip_prefix(&*key.name)).is_some_and(
                            |rest| {
                                if keyed { rest.starts_with(".<") && !rest[1..].contains('.') } else { rest.is_empty() }
                            },
                        )
                    })
                    .unwrap_or_else(|| panic!("{prefix}{} ({}) has no section", key.name, key.ty));
                reached.push(*path);
            }
        }
        for path in &paths {
            assert!(reached.contains(path), "section {path} is not the table of any key");
        }
        for section in &sections {
            assert!(!section.doc.is_empty(), "section {} says nothing of itself", section.path);
            for key in section.keys {
                assert!(!key.text().is_empty(), "{}.{} has no doc comment", section.path, key.name);
                key.range().unwrap_or_else(|error| panic!("{}: {error}", section.path));
            }
        }
    }

    #[test]
    fn defaults_are_the_code_s_own() {
        let sections = sections();
        let find = |path: &str, key: &str| {
            let section = sections.iter().find(|s| s.path == path).unwrap();
            section.defaults.get(key).map(crate::config::render_value)
        };
        assert_eq!(find("session", "seed").as_deref(), Some("42"));
        assert_eq!(find("security", "module_memory_mib").as_deref(), Some("64"));
        assert_eq!(find("alerts.all", "min_calls").as_deref(), Some("100"));
        assert_eq!(find("strategies.<id>", "version").as_deref(), Some("\"*\""));
        assert_eq!(find("matching", "plugin").as_deref(), Some("\"fifo\""));
        assert_eq!(find("session", "max_events"), None);
    }
}
