use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use super::*;
use crate::component::{Indicator, Lifecycle, Strategy};
use crate::config::ConfigFile;
use crate::market::MarketEvent;
use crate::plugin::{Builder, Dependency, PLUGIN_API_VERSION, Plugin};

/// Builds per fixture number; each test uses its own numbers, so tests can run in parallel.
static BUILDS: [AtomicUsize; 32] = [const { AtomicUsize::new(0) }; 32];
static LOG: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());

fn log(n: usize, what: &str) {
    LOG.lock().unwrap().push((n, what.to_owned()));
}

fn log_of(ns: &[usize]) -> Vec<String> {
    LOG.lock().unwrap().iter().filter(|(n, _)| ns.contains(n)).map(|(n, what)| format!("{n}:{what}")).collect()
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ProbeParams {
    fail: String,
    period: u32,
}

#[derive(Debug)]
struct Probe<const N: usize> {
    fail: String,
}

impl<const N: usize> Plugin for Probe<N> {
    type Params = ProbeParams;
    const SUMMARY: &'static str = "test probe";
    fn build(params: ProbeParams) -> Result<Self, ComponentError> {
        BUILDS[N].fetch_add(1, Ordering::SeqCst);
        // Widen the window in which concurrent first uses could race.
        std::thread::sleep(Duration::from_millis(20));
        if params.fail == "build" {
            return Err(ComponentError::new("refused to build"));
        }
        Ok(Probe { fail: params.fail })
    }
}

impl<const N: usize> Lifecycle for Probe<N> {
    fn init(&mut self, _ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        log(N, "init");
        if self.fail == "init" { Err(ComponentError::new("init refused")) } else { Ok(()) }
    }
    fn start(&mut self) -> Result<(), ComponentError> {
        log(N, "start");
        if self.fail == "start" {
            return Err(ComponentError::new("start refused"));
        }
        if self.fail == "panic" {
            panic!("probe {N} panicked in start");
        }
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ComponentError> {
        log(N, "stop");
        Ok(())
    }
    fn unload(&mut self) {
        log(N, "unload");
    }
}

impl<const N: usize> Strategy for Probe<N> {}

impl<const N: usize> Indicator for Probe<N> {
    fn update(&mut self, _event: &MarketEvent) {}
    fn output(&self, _index: usize) -> Option<f64> {
        None
    }
}

fn probe<const N: usize>(
    kind: Kind,
    name: &'static str,
    version: &'static str,
    deps: &[Dependency],
) -> &'static ComponentDescriptor {
    Box::leak(Box::new(ComponentDescriptor {
        kind,
        name,
        version,
        api_version: PLUGIN_API_VERSION,
        crate_name: "fixture",
        summary: "probe",
        dependencies: Box::leak(deps.to_vec().into_boxed_slice()),
        capabilities: &[],
        default_params: crate::plugin::default_params::<Probe<N>>,
        check_params: crate::plugin::check_params::<Probe<N>>,
        builder: match kind {
            Kind::Indicator => Builder::Indicator(crate::plugin::builders::indicator::<Probe<N>>),
            _ => Builder::Strategy(crate::plugin::builders::strategy::<Probe<N>>),
        },
    }))
}

/// A feed descriptor every config needs (a probe registered as kind feed; never built in these tests
/// unless listed).
fn base() -> Vec<&'static ComponentDescriptor> {
    vec![probe::<0>(Kind::Feed, "null-feed", "1.0.0", &[]), probe::<0>(Kind::Matching, "fifo", "1.0.0", &[])]
}

fn config(extra: &'static str) -> (Config, ConfigLoader) {
    let text: &'static str =
        Box::leak(format!("[feed]\nplugin = \"null-feed\"\nlazy = true\n{extra}").into_boxed_str());
    let loader = ConfigLoader::load(&ConfigFile::Embedded { name: "test.toml", text }, false, &[]).unwrap();
    (loader.extract().unwrap(), loader)
}

fn plan_errors(registry: &Registry, extra: &'static str) -> Vec<String> {
    let (config, loader) = config(extra);
    plan(registry, &config, Some(&loader)).unwrap_err().iter().map(ToString::to_string).collect()
}

fn registry(extra: Vec<&'static ComponentDescriptor>) -> Registry {
    Registry::from_descriptors(base().into_iter().chain(extra)).unwrap()
}

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
            "test.toml: key strategies.trend.plugin: unknown strategy plugin \"sma-crosss\"; did you mean \"sma-cross\"? (available: sma-cross)"
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
            "test.toml: key strategies.trend.version: no version of strategy plugin \"sma-cross\" matches ^3 (available: 2.0.0, 1.0.0)"
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
        ["configuration: dependency cycle: strategy alpha@1.0.0 -> indicator beta@1.0.0 -> strategy alpha@1.0.0"]
    );
}

#[test]
fn missing_feed_and_misplaced_order_are_errors() {
    let registry = registry(vec![probe::<8>(Kind::Strategy, "alpha", "1.0.0", &[])]);
    let loader = ConfigLoader::load(
        &ConfigFile::Embedded { name: "t.toml", text: "[strategies.a]\nplugin = \"alpha\"\norder = 2\n" },
        false,
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

fn assembly_for(registry: &Registry, extra: &'static str) -> Assembly {
    let (config, loader) = config(extra);
    Assembly::new(&plan(registry, &config, Some(&loader)).unwrap())
}

fn start(assembly: &mut Assembly) -> Result<(), LifecycleError> {
    let mut instruments = InstrumentTable::default();
    assembly.start_eager(&mut InitEnv { instruments: &mut instruments, indicators: None, seed: 1 })
}

#[test]
fn lifecycle_runs_in_dependency_order_and_stops_in_reverse() {
    let registry = registry(vec![
        probe::<10>(Kind::Strategy, "alpha", "1.0.0", &[Dependency::indicator("zeta", "^1")]),
        probe::<11>(Kind::Indicator, "zeta", "1.0.0", &[]),
    ]);
    let mut assembly = assembly_for(
        &registry,
        "[strategies.a]\nplugin = \"alpha\"\n[indicators.z]\nplugin = \"zeta\"\nlazy = false\n",
    );
    start(&mut assembly).unwrap();
    assert!(assembly.stop_all().is_empty());
    assembly.unload_all();
    assert_eq!(
        log_of(&[10, 11]),
        ["11:init", "10:init", "11:start", "10:start", "10:stop", "11:stop", "10:unload", "11:unload"]
    );
}

#[test]
fn failing_start_rolls_back_and_names_the_component() {
    let registry = registry(vec![
        probe::<12>(Kind::Strategy, "good", "1.0.0", &[Dependency::on(Kind::Strategy, "bad", "*")]),
        probe::<13>(Kind::Strategy, "bad", "1.0.0", &[]),
        probe::<14>(Kind::Risk, "earlier", "1.0.0", &[]),
    ]);
    let mut assembly = assembly_for(
        &registry,
        "[risk.r]\nplugin = \"earlier\"\n[strategies.b]\nplugin = \"bad\"\nparams = { fail = \"start\" }\n[strategies.g]\nplugin = \"good\"\n",
    );
    let error = start(&mut assembly).unwrap_err();
    assert_eq!(error.to_string(), "strategy b (bad@1.0.0) failed to start: start refused");
    let log = log_of(&[12, 13, 14]);
    assert_eq!(log[..4], ["14:init", "13:init", "12:init", "14:start"], "depth, then kind, then id");
    assert!(log.contains(&"14:stop".to_owned()), "what started is stopped: {log:?}");
    assert!(!log.contains(&"12:start".to_owned()), "nothing after the failure starts: {log:?}");
    assert!(!log.contains(&"13:stop".to_owned()), "the failed component is not stopped: {log:?}");
    let state = |id: &str| assembly.slots()[assembly.find(Kind::Strategy, id).unwrap()].state().clone();
    assert_eq!(state("b"), LifecycleState::Failed("start refused".to_owned()));
}

#[test]
fn panicking_start_is_contained_and_reported() {
    let registry = registry(vec![probe::<15>(Kind::Strategy, "boom", "1.0.0", &[])]);
    let mut assembly = assembly_for(&registry, "[strategies.x]\nplugin = \"boom\"\nparams = { fail = \"panic\" }\n");
    let error = start(&mut assembly).unwrap_err();
    assert_eq!(error.stage, Stage::Start);
    assert_eq!(error.reason, "panicked: probe 15 panicked in start");
}

#[test]
fn an_unused_lazy_component_is_never_built() {
    let registry = registry(vec![probe::<16>(Kind::Indicator, "zeta", "1.0.0", &[])]);
    let mut assembly = assembly_for(&registry, "[indicators.z]\nplugin = \"zeta\"\n");
    start(&mut assembly).unwrap();
    assembly.stop_all();
    assembly.unload_all();
    assert_eq!(BUILDS[16].load(Ordering::SeqCst), 0);
    let slot = &assembly.slots()[assembly.find(Kind::Indicator, "z").unwrap()];
    assert!(slot.lazy && !slot.built());
    assert_eq!(*slot.state(), LifecycleState::Planned);
}

#[test]
fn a_lazy_component_starts_on_first_use() {
    let registry = registry(vec![probe::<17>(Kind::Indicator, "zeta", "1.0.0", &[])]);
    let mut assembly = assembly_for(&registry, "[indicators.z]\nplugin = \"zeta\"\n");
    start(&mut assembly).unwrap();
    let index = assembly.find(Kind::Indicator, "z").unwrap();
    let mut instruments = InstrumentTable::default();
    let mut env = InitEnv { instruments: &mut instruments, indicators: None, seed: 1 };
    assembly.ensure_started(index, &mut env).unwrap();
    assembly.ensure_started(index, &mut env).unwrap();
    assert_eq!(BUILDS[17].load(Ordering::SeqCst), 1);
    assert_eq!(*assembly.slots()[index].state(), LifecycleState::Started);
    assert_eq!(log_of(&[17]), ["17:init", "17:start"]);
}

#[test]
fn concurrent_first_use_builds_exactly_once() {
    let registry = registry(vec![probe::<18>(Kind::Indicator, "zeta", "1.0.0", &[])]);
    let assembly = assembly_for(&registry, "[indicators.z]\nplugin = \"zeta\"\n");
    let index = assembly.find(Kind::Indicator, "z").unwrap();
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| assert!(assembly.get_or_load(index).is_ok()));
        }
    });
    assert_eq!(BUILDS[18].load(Ordering::SeqCst), 1);
}

#[test]
fn seeds_differ_per_component_and_repeat_per_run() {
    assert_eq!(derive_seed(42, "a"), derive_seed(42, "a"));
    assert_ne!(derive_seed(42, "a"), derive_seed(42, "b"));
    assert_ne!(derive_seed(42, "a"), derive_seed(43, "a"));
}
