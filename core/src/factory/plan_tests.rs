//! Planning: versions, parameters, dependencies and order, every error with its source and key.

use super::*;
use crate::config::{ConfigFile, Environment};
use crate::factory::fixtures::{config, plan_errors, probe, registry};
use crate::plugin::Dependency;

#[test]
fn dependencies_come_before_their_dependents() {
    let registry = registry(vec![
        probe::<1>(Kind::Strategy, "alpha", "1.0.0", &[Dependency::indicator("zeta", "^1")]),
        probe::<1>(Kind::Indicator, "zeta", "1.2.0", &[]),
    ]);
    let (config, loader) = config("[strategies.a]\nplugin = \"alpha\"\n[indicators.z]\nplugin = \"zeta\"\n");
    let plan = plan(&registry, &config, Some(&loader)).unwrap();
    let ids: Vec<&str> = plan.components.iter().map(|c| c.request.id.as_str()).collect();
    let at = |id: &str| ids.iter().position(|i| *i == id).unwrap();
    assert!(at("z") < at("a"), "{ids:?}");
    assert_eq!(plan.version_of(Kind::Indicator, "zeta").unwrap().version.to_string(), "1.2.0");
}

#[test]
fn dependencies_not_configured_are_still_resolved() {
    let registry = registry(vec![
        probe::<2>(Kind::Strategy, "alpha", "1.0.0", &[Dependency::indicator("zeta", "^1")]),
        probe::<2>(Kind::Indicator, "zeta", "1.0.0", &[]),
        probe::<2>(Kind::Indicator, "zeta", "2.0.0", &[]),
    ]);
    let (config, loader) = config("[strategies.a]\nplugin = \"alpha\"\n");
    let plan = plan(&registry, &config, Some(&loader)).unwrap();
    assert_eq!(plan.version_of(Kind::Indicator, "zeta").unwrap().version.to_string(), "1.0.0", "^1 rules out 2.0.0");
}

#[test]
fn unknown_plugin_is_named_with_a_suggestion_and_its_source() {
    let registry = registry(vec![probe::<3>(Kind::Strategy, "sma-cross", "1.0.0", &[])]);
    let errors = plan_errors(&registry, "[strategies.trend]\nplugin = \"sma-crosss\"\n");
    assert_eq!(
        errors,
        [
            "test.toml: key strategies.trend.plugin: unknown strategy plugin \"sma-crosss\"; did you mean \"sma-cross\"? (available: sma-cross); see docs/troubleshooting.md#plugin-not-in-the-registry"
        ]
    );
}

#[test]
fn unmet_version_lists_the_versions_available() {
    let registry = registry(vec![
        probe::<3>(Kind::Strategy, "sma-cross", "1.0.0", &[]),
        probe::<3>(Kind::Strategy, "sma-cross", "2.0.0", &[]),
    ]);
    let errors = plan_errors(&registry, "[strategies.trend]\nplugin = \"sma-cross\"\nversion = \"^3\"\n");
    assert_eq!(
        errors,
        [
            "test.toml: key strategies.trend.version: no version of strategy plugin \"sma-cross\" matches ^3 (available: 2.0.0, 1.0.0); see docs/troubleshooting.md#version-not-found"
        ]
    );
}

#[test]
fn bad_parameters_name_the_key_path() {
    let registry = registry(vec![probe::<4>(Kind::Strategy, "alpha", "1.0.0", &[])]);
    let errors = plan_errors(
        &registry,
        "[strategies.a]\nplugin = \"alpha\"\nparams = { perod = 3 }\n[strategies.b]\nplugin = \"alpha\"\nparams = { period = \"x\" }\n",
    );
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].starts_with("test.toml: key strategies.a.params.perod: strategy alpha@1.0.0: unknown parameter \"perod\"; did you mean \"period\"?"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].starts_with(
            "test.toml: key strategies.b.params.period: strategy alpha@1.0.0: parameter period: invalid type"
        ),
        "{}",
        errors[1]
    );
}

#[test]
fn missing_dependency_names_the_chain() {
    let registry = registry(vec![probe::<5>(Kind::Strategy, "alpha", "1.0.0", &[Dependency::indicator("sma", "^1")])]);
    let errors = plan_errors(&registry, "[strategies.a]\nplugin = \"alpha\"\n");
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].contains("missing dependency: strategy alpha@1.0.0 -> indicator sma ^1, which is not compiled in"),
        "{}",
        errors[0]
    );
}

#[test]
fn version_conflict_lists_every_requirement() {
    let registry = registry(vec![
        probe::<6>(Kind::Strategy, "alpha", "1.0.0", &[Dependency::indicator("zeta", "^1")]),
        probe::<6>(Kind::Indicator, "zeta", "1.0.0", &[]),
        probe::<6>(Kind::Indicator, "zeta", "2.0.0", &[]),
    ]);
    let errors = plan_errors(
        &registry,
        "[strategies.a]\nplugin = \"alpha\"\n[indicators.z]\nplugin = \"zeta\"\nversion = \"^2\"\n",
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("version conflict for indicator plugin \"zeta\""), "{}", errors[0]);
    assert!(
        errors[0].contains("^2 by indicators.z") && errors[0].contains("^1 by strategy alpha@1.0.0"),
        "{}",
        errors[0]
    );
}

#[test]
fn dependency_cycle_names_the_chain() {
    let registry = registry(vec![
        probe::<7>(Kind::Strategy, "alpha", "1.0.0", &[Dependency::indicator("beta", "*")]),
        probe::<7>(Kind::Indicator, "beta", "1.0.0", &[Dependency::on(Kind::Strategy, "alpha", "*")]),
    ]);
    let errors = plan_errors(&registry, "[strategies.a]\nplugin = \"alpha\"\n");
    assert_eq!(
        errors,
        [
            "configuration: dependency cycle: strategy alpha@1.0.0 -> indicator beta@1.0.0 -> strategy alpha@1.0.0; see docs/troubleshooting.md#dependency-cycle"
        ]
    );
}

#[test]
fn missing_feed_and_misplaced_order_are_errors() {
    let registry = registry(vec![probe::<8>(Kind::Strategy, "alpha", "1.0.0", &[])]);
    let loader = ConfigLoader::load(
        &ConfigFile::Embedded { name: "t.toml", text: "[strategies.a]\nplugin = \"alpha\"\norder = 2\n" },
        &Environment::Ignored,
        &[],
    )
    .unwrap();
    let errors: Vec<String> = plan(&registry, &loader.extract().unwrap(), Some(&loader))
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(errors[0].contains("key feed: missing"), "{}", errors[0]);
    assert!(errors[1].contains("key strategies.a.order: only risk validators"), "{}", errors[1]);
}
