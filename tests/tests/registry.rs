//! The linker pitfall, checked in a test artifact of its own: the registry (and the module loaders)
//! see exactly the plugin crates this test build enabled, plus this crate's own test plugins.
//!
//! The expectation comes from the manifests, not from the force-link list in `app/src/plugins.rs`:
//! this crate's dependency on `tradsys` names its features, the app's manifest says which plugin crate
//! each feature switches on. Drop a force-link line and the registry loses that crate while the
//! manifests still expect it, so the test fails.

use std::collections::BTreeSet;
use std::path::Path;

use tradsys_core::registry::Registry;
// This artifact must name the crates whose plugins it expects, or the linker drops their
// registrations: the app library (which names the enabled plugin crates) and this crate.
use tradsys as _;
use tradsys_tests as _;

fn manifest(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.parse().unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The plugin crates the features `wanted` switch on, expanding feature lists recursively.
fn plugin_crates(features: &toml::Table, wanted: &[String], found: &mut BTreeSet<String>) {
    for feature in wanted {
        let Some(enables) = features.get(feature).and_then(toml::Value::as_array) else {
            panic!("app/Cargo.toml has no feature {feature:?}");
        };
        for item in enables.iter().filter_map(toml::Value::as_str) {
            match item.strip_prefix("dep:") {
                Some(krate) if krate.starts_with("tradsys-plugin-") => {
                    found.insert(krate.to_owned());
                }
                Some(_) => {}
                // `crate?/feature` turns on a feature of a dependency, not a plugin.
                None if item.contains('/') => {}
                None => plugin_crates(features, &[item.to_owned()], found),
            }
        }
    }
}

#[test]
fn the_registry_sees_exactly_the_enabled_plugins() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let ours = manifest(&root.join("Cargo.toml"));
    let app = manifest(&root.join("../app/Cargo.toml"));
    let requested: Vec<String> = ours["dependencies"]["tradsys"]["features"]
        .as_array()
        .expect("tests/Cargo.toml names the tradsys features it tests")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let features = app["features"].as_table().expect("app/Cargo.toml has features");
    let mut expected = BTreeSet::new();
    plugin_crates(features, &requested, &mut expected);
    expected.insert("tradsys-tests".to_owned());

    let registry = Registry::discover().expect("no refused registrations");
    let mut found: BTreeSet<String> = registry.iter().map(|c| c.descriptor.crate_name.to_string()).collect();
    // A crate may register a module loader (wasm-host) instead of components.
    found.extend(tradsys_core::module::module_loader_registrations().map(|r| r.crate_name.to_owned()));
    assert_eq!(found, expected, "registered crates vs the crates the enabled features switch on");
}

#[test]
fn full_holds_every_plugin_but_the_test_only_ones() {
    let app = manifest(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../app/Cargo.toml"));
    let features = app["features"].as_table().unwrap();
    let mut full = BTreeSet::new();
    plugin_crates(features, &["full".to_owned()], &mut full);
    let every: BTreeSet<String> = app["dependencies"]
        .as_table()
        .unwrap()
        .keys()
        .filter(|name| name.starts_with("tradsys-plugin-") && !name.starts_with("tradsys-plugin-test-"))
        .cloned()
        .collect();
    assert_eq!(full, every);
}

/// A documented range (`Range:` in a parameter's doc comment, shown by `tradsys plugins` and the
/// config reference) is what the plugin enforces: with every other parameter at its default, a
/// value just past either bound is refused (for itself, naming the parameter, when the defaults
/// alone do not build). (The bound itself may still be refused for another reason, such as `fast`
/// at its maximum not being below `slow`.)
#[test]
fn every_documented_parameter_range_is_enforced() {
    use figment::value::Value;

    let registry = Registry::discover().expect("no refused registrations");
    let mut checked = 0;
    for component in registry.iter() {
        let d = &component.descriptor;
        let defaults = d.defaults().expect("defaults");
        // Defaults that need more (a feed's file, a Python class) cannot build at all: a value past
        // a range must then be refused for itself, naming the parameter, which the defaults'
        // refusal does not.
        let needs_more = d.build(&defaults).err().map(|error| error.to_string());
        for doc in d.param_docs.iter() {
            let Some(range) = doc.range().unwrap_or_else(|e| panic!("{}: {e}", d.label())) else { continue };
            if needs_more.is_some() && doc.name == "step_us" {
                continue;
            }
            if let Some(needs_more) = &needs_more {
                assert!(!needs_more.contains(doc.name.as_ref()), "{}: {needs_more}", d.label());
            }
            let whole = defaults.get(doc.name.as_ref()).is_some_and(|v| v.to_i128().is_some() || v.to_u128().is_some());
            let refused = |x: f64| {
                let mut params = defaults.clone();
                let value = if whole { Value::from(x as i64) } else { Value::from(x.to_string()) };
                params.insert(doc.name.to_string(), value);
                match (d.build(&params), &needs_more) {
                    (Ok(_), _) => false,
                    (Err(_), None) => true,
                    (Err(error), Some(_)) => error.to_string().contains(doc.name.as_ref()),
                }
            };
            let step = if whole { 1.0 } else { 1e-6 };
            for (bound, outside) in [(range.min, -step), (range.max, step)] {
                let Some(bound) = bound else { continue };
                let past = if bound.inclusive { bound.value + outside } else { bound.value };
                assert!(
                    refused(past),
                    "{} {}: {past} is past its range {:?} but is not refused for it",
                    d.label(),
                    doc.name,
                    doc.range_text()
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "only {checked} bounds checked");
}
