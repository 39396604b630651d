//! Fixtures of the factory's unit tests: probe plugins that log their lifecycle and fail on cue.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::plan::plan;
use crate::component::{ComponentError, Indicator, InitContext, Strategy};
use crate::config::{Config, ConfigFile, ConfigLoader, Environment};
use crate::market::MarketEvent;
use crate::plugin::{ComponentDescriptor, Dependency, Kind, NativeBuild, Plugin};
use crate::registry::Registry;

/// Builds per fixture number; each test uses its own numbers, so tests can run in parallel.
pub(super) static BUILDS: [AtomicUsize; 32] = [const { AtomicUsize::new(0) }; 32];
static LOG: Mutex<Vec<(usize, String)>> = Mutex::new(Vec::new());

fn log(n: usize, what: &str) {
    LOG.lock().unwrap().push((n, what.to_owned()));
}

pub(super) fn log_of(ns: &[usize]) -> Vec<String> {
    LOG.lock().unwrap().iter().filter(|(n, _)| ns.contains(n)).map(|(n, what)| format!("{n}:{what}")).collect()
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct ProbeParams {
    fail: String,
    period: u32,
}

#[derive(Debug)]
pub(super) struct Probe<const N: usize> {
    fail: String,
    starts: u32,
}

impl<const N: usize> Plugin for Probe<N> {
    type Params = ProbeParams;
    const SUMMARY: &'static str = "test probe";
    fn build(params: ProbeParams) -> Result<Self, ComponentError> {
        BUILDS[N].fetch_add(1, Ordering::SeqCst);
        if params.fail == "build" {
            return Err(ComponentError::new("refused to build"));
        }
        Ok(Probe { fail: params.fail, starts: 0 })
    }
}

/// The probe's lifecycle hooks, written into each kind it registers as.
macro_rules! probe_hooks {
    () => {
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
            if self.fail == "restart" && self.starts > 0 {
                return Err(ComponentError::new("start refused the second time"));
            }
            self.starts += 1;
            Ok(())
        }
        fn stop(&mut self) -> Result<(), ComponentError> {
            log(N, "stop");
            Ok(())
        }
        fn unload(&mut self) {
            log(N, "unload");
            if self.fail == "unload" {
                panic!("probe {N} panicked in unload");
            }
        }
    };
}

impl<const N: usize> Strategy for Probe<N> {
    probe_hooks!();
}

impl<const N: usize> Indicator for Probe<N> {
    probe_hooks!();

    fn update(&mut self, _event: &MarketEvent) {}
    fn output(&self, _index: usize) -> Option<f64> {
        None
    }
}

pub(super) fn probe<const N: usize>(
    kind: Kind,
    name: &'static str,
    version: &'static str,
    deps: &[Dependency],
) -> Arc<ComponentDescriptor> {
    let build = match kind {
        Kind::Indicator => NativeBuild::Indicator(crate::plugin::builders::indicator::<Probe<N>>),
        _ => NativeBuild::Strategy(crate::plugin::builders::strategy::<Probe<N>>),
    };
    let mut descriptor = ComponentDescriptor::native::<Probe<N>>(kind, name, version, "fixture", build);
    descriptor.dependencies = deps.to_vec().into();
    Arc::new(descriptor)
}

/// A feed descriptor every config needs (a probe registered as kind feed; never built in these tests
/// unless listed).
pub(super) fn base() -> Vec<Arc<ComponentDescriptor>> {
    vec![probe::<0>(Kind::Feed, "null-feed", "1.0.0", &[]), probe::<0>(Kind::Matching, "fifo", "1.0.0", &[])]
}

pub(super) fn config(extra: &'static str) -> (Config, ConfigLoader) {
    let text: &'static str =
        Box::leak(format!("[feed]\nplugin = \"null-feed\"\nlazy = true\n{extra}").into_boxed_str());
    let loader =
        ConfigLoader::load(&ConfigFile::Embedded { name: "test.toml", text }, &Environment::Ignored, &[]).unwrap();
    (loader.extract().unwrap(), loader)
}

pub(super) fn plan_errors(registry: &Registry, extra: &'static str) -> Vec<String> {
    let (config, loader) = config(extra);
    plan(registry, &config, Some(&loader)).unwrap_err().iter().map(ToString::to_string).collect()
}

pub(super) fn registry(extra: Vec<Arc<ComponentDescriptor>>) -> Registry {
    Registry::from_descriptors(base().into_iter().chain(extra)).unwrap()
}
