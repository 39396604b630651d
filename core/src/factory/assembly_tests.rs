//! The lifecycle: order, rollback, per-slot stop/start/unload/replace, containment.

use std::sync::atomic::Ordering;

use super::*;
use crate::factory::fixtures::{BUILDS, config, log_of, probe, registry};
use crate::factory::plan::plan;
use crate::plugin::Dependency;

fn assembly_for(registry: &crate::registry::Registry, extra: &'static str) -> Assembly {
    let (config, loader) = config(extra);
    Assembly::new(&plan(registry, &config, Some(&loader)).unwrap(), true)
}

fn start(assembly: &mut Assembly) -> Result<(), LifecycleError> {
    let mut instruments = InstrumentTable::default();
    assembly.start_eager(&mut InitEnv { instruments: &mut instruments, indicators: None, seed: 1 })
}

fn with_env<R>(body: impl FnOnce(&mut InitEnv<'_>) -> R) -> R {
    let mut instruments = InstrumentTable::default();
    body(&mut InitEnv { instruments: &mut instruments, indicators: None, seed: 1 })
}

fn params(text: &str) -> Dict {
    let mut dict = Dict::new();
    dict.insert("fail".to_owned(), text.into());
    dict
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
    assert!(assembly.shutdown().is_empty());
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
    assert_eq!(error.to_string(), "strategy b (bad@1.0.0) failed in start: start refused");
    let log = log_of(&[12, 13, 14]);
    assert_eq!(log[..4], ["14:init", "13:init", "12:init", "14:start"], "depth, then kind, then id");
    assert!(log.contains(&"14:stop".to_owned()), "what started is stopped: {log:?}");
    assert!(!log.contains(&"12:start".to_owned()), "nothing after the failure starts: {log:?}");
    assert!(!log.contains(&"13:stop".to_owned()), "the failed component is not stopped: {log:?}");
    for id in ["12", "13", "14"] {
        assert!(log.contains(&format!("{id}:unload")), "everything initialized is unloaded: {log:?}");
    }
    let state = |id: &str| assembly.slot(assembly.find(Kind::Strategy, id).unwrap()).state().clone();
    assert_eq!(
        state("b"),
        LifecycleState::Failed(FailureCause::Refused { call: Call::Start, message: "start refused".to_owned() })
    );
}

#[test]
fn failing_init_unloads_what_was_initialized_in_reverse() {
    let registry = registry(vec![
        probe::<20>(Kind::Risk, "first", "1.0.0", &[]),
        probe::<21>(Kind::Strategy, "second", "1.0.0", &[]),
    ]);
    let mut assembly = assembly_for(
        &registry,
        "[risk.r]\nplugin = \"first\"\n[strategies.s]\nplugin = \"second\"\nparams = { fail = \"init\" }\n",
    );
    let error = start(&mut assembly).unwrap_err();
    assert!(matches!(error.cause, FailureCause::Refused { call: Call::Init, .. }), "{error}");
    assert_eq!(log_of(&[20, 21]), ["20:init", "21:init", "21:unload", "20:unload"]);
    let risk = assembly.slot(assembly.find(Kind::Risk, "r").unwrap());
    assert_eq!(*risk.state(), LifecycleState::Unloaded);
}

#[test]
fn panicking_start_is_contained_and_reported() {
    let registry = registry(vec![probe::<15>(Kind::Strategy, "boom", "1.0.0", &[])]);
    let mut assembly = assembly_for(&registry, "[strategies.x]\nplugin = \"boom\"\nparams = { fail = \"panic\" }\n");
    let error = start(&mut assembly).unwrap_err();
    assert!(error.cause.is_panic());
    assert_eq!(error.cause.call(), Call::Start);
    assert!(
        error
            .to_string()
            .starts_with("strategy x (boom@1.0.0) failed in start: panicked in start: probe 15 panicked in start"),
        "{error}"
    );
    let slot = assembly.slot(assembly.find(Kind::Strategy, "x").unwrap());
    assert_eq!(slot.meter().snapshot().panics, 1);
}

#[test]
fn an_unused_lazy_component_is_never_built() {
    let registry = registry(vec![probe::<16>(Kind::Indicator, "zeta", "1.0.0", &[])]);
    let mut assembly = assembly_for(&registry, "[indicators.z]\nplugin = \"zeta\"\n");
    start(&mut assembly).unwrap();
    assembly.shutdown();
    assert_eq!(BUILDS[16].load(Ordering::SeqCst), 0);
    let slot = assembly.slot(assembly.find(Kind::Indicator, "z").unwrap());
    assert!(slot.lazy() && !slot.built());
    assert_eq!(*slot.state(), LifecycleState::Planned);
}

#[test]
fn a_lazy_component_starts_on_first_use_exactly_once() {
    let registry = registry(vec![probe::<17>(Kind::Indicator, "zeta", "1.0.0", &[])]);
    let mut assembly = assembly_for(&registry, "[indicators.z]\nplugin = \"zeta\"\n");
    start(&mut assembly).unwrap();
    let index = assembly.find(Kind::Indicator, "z").unwrap();
    with_env(|env| {
        assembly.ensure_started(index, env).unwrap();
        assembly.ensure_started(index, env).unwrap();
    });
    assert_eq!(BUILDS[17].load(Ordering::SeqCst), 1);
    assert_eq!(*assembly.slot(index).state(), LifecycleState::Started);
    assert_eq!(log_of(&[17]), ["17:init", "17:start"]);
}

#[test]
fn a_stopped_slot_starts_again_and_ensure_started_restarts_it() {
    let registry = registry(vec![probe::<22>(Kind::Strategy, "s", "1.0.0", &[])]);
    let mut assembly = assembly_for(&registry, "[strategies.s]\nplugin = \"s\"\n");
    start(&mut assembly).unwrap();
    let index = assembly.find(Kind::Strategy, "s").unwrap();
    assembly.stop(index).unwrap();
    assert_eq!(*assembly.slot(index).state(), LifecycleState::Stopped);
    assert!(matches!(assembly.stop(index), Err(SlotError::State(_))), "stopping twice is refused");
    assembly.start(index).unwrap();
    assembly.stop(index).unwrap();
    with_env(|env| assembly.ensure_started(index, env)).unwrap();
    assert_eq!(*assembly.slot(index).state(), LifecycleState::Started);
    assert_eq!(log_of(&[22]), ["22:init", "22:start", "22:stop", "22:start", "22:stop", "22:start"]);
}

#[test]
fn unload_stops_first_and_a_panicking_unload_is_contained() {
    let registry = registry(vec![probe::<23>(Kind::Strategy, "s", "1.0.0", &[])]);
    let mut assembly = assembly_for(&registry, "[strategies.s]\nplugin = \"s\"\nparams = { fail = \"unload\" }\n");
    start(&mut assembly).unwrap();
    let index = assembly.find(Kind::Strategy, "s").unwrap();
    assembly.unload(index).unwrap();
    assert_eq!(*assembly.slot(index).state(), LifecycleState::Unloaded);
    assert_eq!(log_of(&[23]), ["23:init", "23:start", "23:stop", "23:unload"]);
    assert_eq!(assembly.slot(index).meter().snapshot().panics, 1);
    let snapshot = assembly.slot(index).meter().snapshot();
    assert_eq!(snapshot.calls_of(Call::Drop), 1, "the instance was dropped through the boundary");
}

#[test]
fn replace_swaps_in_a_fresh_started_instance_and_keeps_the_meter() {
    let registry = registry(vec![probe::<24>(Kind::Strategy, "s", "1.0.0", &[])]);
    let mut assembly = assembly_for(&registry, "[strategies.s]\nplugin = \"s\"\n");
    start(&mut assembly).unwrap();
    let index = assembly.find(Kind::Strategy, "s").unwrap();
    let descriptor = assembly.slot(index).descriptor().clone();
    with_env(|env| assembly.replace(index, Replacement { descriptor: descriptor.clone(), params: Dict::new() }, env))
        .unwrap();
    assert_eq!(*assembly.slot(index).state(), LifecycleState::Started);
    assert_eq!(BUILDS[24].load(Ordering::SeqCst), 2);
    // The new instance starts before the old one stops: no moment without a running instance.
    assert_eq!(log_of(&[24]), ["24:init", "24:start", "24:init", "24:start", "24:stop", "24:unload"]);
    assert_eq!(assembly.slot(index).meter().snapshot().calls_of(Call::Build), 2);
}

#[test]
fn a_failed_replacement_leaves_the_slot_exactly_as_it_was() {
    let registry = registry(vec![probe::<25>(Kind::Strategy, "s", "1.0.0", &[])]);
    let mut assembly = assembly_for(&registry, "[strategies.s]\nplugin = \"s\"\n");
    start(&mut assembly).unwrap();
    let index = assembly.find(Kind::Strategy, "s").unwrap();
    let descriptor = assembly.slot(index).descriptor().clone();
    let before = assembly.slot(index).meter().snapshot();
    for fail in ["build", "init", "start", "panic"] {
        let replacement = Replacement { descriptor: descriptor.clone(), params: params(fail) };
        let Err(SlotError::Lifecycle(error)) = with_env(|env| assembly.replace(index, replacement, env)) else {
            panic!("a failed {fail} must be a lifecycle error");
        };
        assert_eq!(error.component.id(), "s", "{error}");
        assert_eq!(*assembly.slot(index).state(), LifecycleState::Started, "after a failed {fail}");
        assert!(assembly.slot(index).params().is_empty(), "the old parameters stay");
    }
    assert_eq!(assembly.slot(index).meter().snapshot(), before, "the slot's figures are untouched");
    assembly.stop(index).unwrap();
}

#[test]
fn a_failed_slot_can_be_replaced() {
    let registry = registry(vec![probe::<26>(Kind::Strategy, "s", "1.0.0", &[])]);
    let mut assembly = assembly_for(&registry, "[strategies.s]\nplugin = \"s\"\n");
    start(&mut assembly).unwrap();
    let index = assembly.find(Kind::Strategy, "s").unwrap();
    let panicked = assembly.slot_mut(index).invoke(Call::OnBar, |_| panic!("on cue"));
    assert!(matches!(panicked, Err(InvokeError::Panicked(_))));
    assert!(assembly.slot(index).state().is_failed());
    assert!(matches!(assembly.slot_mut(index).invoke(Call::OnBar, |_| ()), Err(InvokeError::NotRunning)));
    let descriptor = assembly.slot(index).descriptor().clone();
    with_env(|env| assembly.replace(index, Replacement { descriptor: descriptor.clone(), params: Dict::new() }, env))
        .unwrap();
    assert_eq!(*assembly.slot(index).state(), LifecycleState::Started);
    assert!(assembly.slot_mut(index).invoke(Call::OnBar, |_| 1).is_ok());
}

#[test]
fn a_matching_slot_or_a_plugin_of_another_kind_is_refused_as_a_replacement() {
    let registry = registry(vec![probe::<29>(Kind::Strategy, "s", "1.0.0", &[])]);
    let mut assembly = assembly_for(&registry, "[strategies.s]\nplugin = \"s\"\n");
    start(&mut assembly).unwrap();
    let strategy = assembly.find(Kind::Strategy, "s").unwrap();
    let matching = assembly.find(Kind::Matching, "matching").unwrap();
    let fifo = assembly.slot(matching).descriptor();
    let as_strategy = Replacement { descriptor: fifo.clone(), params: Dict::new() };
    assert!(matches!(with_env(|env| assembly.replace(strategy, as_strategy.clone(), env)), Err(SlotError::State(_))));
    assert!(matches!(with_env(|env| assembly.replace(matching, as_strategy, env)), Err(SlotError::State(_))));
    assert_eq!(*assembly.slot(strategy).state(), LifecycleState::Started);
}

#[test]
fn a_slot_added_before_another_starts_before_it_and_stops_after_it() {
    let registry = registry(vec![
        probe::<27>(Kind::Strategy, "s", "1.0.0", &[]),
        probe::<28>(Kind::Indicator, "late", "1.0.0", &[]),
    ]);
    let (config, loader) = config("[strategies.s]\nplugin = \"s\"\n[indicators.z]\nplugin = \"late\"\n");
    let planned = plan(&registry, &config, Some(&loader)).unwrap();
    let mut assembly = Assembly::new(&planned, false);
    let strategy = assembly.find(Kind::Strategy, "s").unwrap();
    let late = planned.components.iter().find(|c| c.request.id == "z").unwrap();
    let mut request = late.request.clone();
    request.id = "late(for=s)".to_owned();
    request.lazy = false;
    let added = assembly.add_before(&request, late.registered.descriptor.clone(), strategy);
    let order = assembly.lifecycle_order();
    let position = |index| order.iter().position(|&i| i == index).unwrap();
    assert!(position(added) < position(strategy));
    start(&mut assembly).unwrap();
    assembly.shutdown();
    assert_eq!(
        log_of(&[27, 28]),
        ["28:init", "27:init", "28:start", "27:start", "27:stop", "28:stop", "27:unload", "28:unload"]
    );
}
