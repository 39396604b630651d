//! Capabilities, across crates: every built-in plugin uses only what it declares, and a config that
//! grants a component less than it declares is refused before anything starts.

use std::collections::BTreeSet;
use std::path::Path;

use tradsys::configure::load_checked;
use tradsys_core::capability::{Capabilities, Capability};
use tradsys_core::config::ConfigFile;
use tradsys_core::plugin::Kind;
use tradsys_core::registry::Registry;
use tradsys_core::session::{NoObserver, SessionReport};

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Runs a config file (at most `max_events` events) with every component granted exactly what its
/// plugin declares: a call it did not declare would show as a denial.
fn run_granting_only_declared(path: &Path, max_events: u64) -> SessionReport {
    let registry = Registry::discover().unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    // Each component's grant is rewritten to the declaration of the plugin it names.
    let mut document: toml::Table = toml::from_str(&text).unwrap();
    for section in ["strategies", "risk", "indicators"] {
        let Some(toml::Value::Table(entries)) = document.get_mut(section) else { continue };
        for (id, entry) in entries.iter_mut() {
            let toml::Value::Table(entry) = entry else { continue };
            let plugin = entry.get("plugin").and_then(toml::Value::as_str).unwrap_or(id).to_owned();
            let kind = match section {
                "strategies" => Kind::Strategy,
                "risk" => Kind::Risk,
                _ => Kind::Indicator,
            };
            let descriptor = registry.find(kind, &plugin, &semver::VersionReq::STAR).unwrap().descriptor;
            let declared: Vec<toml::Value> =
                descriptor.capabilities.iter().map(|c| toml::Value::String(c.as_str().to_owned())).collect();
            entry.insert("capabilities".to_owned(), toml::Value::Array(declared));
        }
    }
    let session = document.entry("session").or_insert_with(|| toml::Value::Table(toml::Table::new()));
    session.as_table_mut().unwrap().insert("max_events".to_owned(), toml::Value::Integer(max_events as i64));
    // Paths in the examples are relative to their directory.
    let text = toml::to_string(&document)
        .unwrap()
        .replace("path = \"data/", &format!("path = \"{}/examples/data/", workspace().display()))
        .replace("file = \"python/", &format!("file = \"{}/examples/python/", workspace().display()));
    let text: &'static str = Box::leak(text.into_boxed_str());
    let checked = load_checked(&ConfigFile::Embedded { name: "example", text }, &[], &registry)
        .unwrap_or_else(|errors| panic!("{}: {errors:?}", path.display()));
    let session = tradsys::run::start_session(&checked, &registry).unwrap();
    session.run(&mut NoObserver).into_result().unwrap()
}

#[test]
fn every_built_in_plugin_uses_only_the_capabilities_it_declares() {
    let configs = [
        workspace().join("examples/bars-sma-cross.toml"),
        workspace().join("examples/bars-python-sma-cross.toml"),
        workspace().join("examples/order-flow-market-maker.toml"),
        workspace().join("examples/risk-heavy.toml"),
        workspace().join("examples/own-data-yahoo.toml"),
        workspace().join("examples/own-data-binance.toml"),
        workspace().join("examples/own-data-parquet.toml"),
        workspace().join("app/src/default.toml"),
    ];
    let mut covered = BTreeSet::new();
    for config in &configs {
        let report = run_granting_only_declared(config, 200_000);
        for component in &report.components {
            assert!(
                component.metrics.denied.is_empty(),
                "{}: {} {} used capabilities it does not declare: {:?}",
                config.display(),
                component.kind,
                component.plugin,
                component.metrics.denied
            );
            let calls: u64 = component.metrics.calls.values().sum();
            if calls > 3 {
                covered.insert((component.kind, component.plugin.split('@').next().unwrap().to_owned()));
            }
        }
    }
    // Every strategy and validator compiled in (but the test-only ones) ran in one of the configs.
    let registry = Registry::discover().unwrap();
    for component in registry.iter() {
        let d = &component.descriptor;
        // `remote` needs a NATS server and a `tradsys host`: app/tests/host_nats.rs runs it and
        // checks it is refused nothing (it declares every capability a strategy may use).
        let needs_a_host = d.name == "remote";
        if matches!(d.kind, Kind::Strategy | Kind::Risk) && !d.crate_name.contains("test-faulty") && !needs_a_host {
            assert!(covered.contains(&(d.kind, d.name.to_string())), "{} {} is not exercised", d.kind, d.name);
        }
    }
}

#[test]
fn a_component_granted_less_than_its_plugin_declares_does_not_start_and_is_named() {
    let registry = Registry::discover().unwrap();
    let text = format!(
        "[feed]\nplugin = \"bars-csv\"\nparams = {{ path = \"{}/examples/data/EURUSD-1h.csv\", symbol = \"EURUSD\" }}\n\
         [strategies.trend]\nplugin = \"sma-cross\"\ncapabilities = [\"indicators\", \"read-position\"]\n\
         [risk.rate]\nplugin = \"order-rate\"\ncapabilities = []\n",
        workspace().display()
    );
    let text: &'static str = Box::leak(text.into_boxed_str());
    let errors = load_checked(&ConfigFile::Embedded { name: "grants.toml", text }, &[], &registry).unwrap_err();
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors.iter().any(|e| e.starts_with(
            "grants.toml: key strategies.trend.capabilities: strategy sma-cross@1.0.0 needs capabilities submit-orders, cancel-orders, not granted (granted: indicators, read-position); grant them in strategies.trend.capabilities"
        )),
        "{errors:#?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("key risk.rate.capabilities: risk order-rate@1.0.0 needs capability read-clock")),
        "{errors:#?}"
    );
    // Unknown capability names are refused like any unknown value.
    let text = "[strategies.trend]\nplugin = \"sma-cross\"\ncapabilities = [\"submit-order\"]\n";
    let errors = load_checked(&ConfigFile::Embedded { name: "typo.toml", text }, &[], &registry).unwrap_err();
    assert!(errors[0].to_string().contains("submit-order"), "{}", errors[0]);
    // The defaults of each kind are what its plugins need.
    assert!(Capabilities::default_for(Kind::Strategy).contains(Capability::SubmitOrders));
}
