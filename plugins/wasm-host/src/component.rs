//! A loaded module as a component: its descriptor, built from the manifest, and its builder,
//! which instantiates the compiled module for each instance.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tradsys_core::component::ComponentError;
use tradsys_core::module::{ModuleError, ModuleLoader, ModuleSettings};
use tradsys_core::plugin::{
    BuildError, Builder, ComponentDescriptor, Dependency, Dict, Instance, Kind, LoadedComponent, ParamError,
};
use wasmtime::{InstancePre, Module, Store, StoreLimitsBuilder};

use crate::guest::Guest;
use crate::host::{HostState, capability_of_import, linker};
use crate::manifest::Manifest;
use crate::{abi, engine, indicator, manifest, params, risk, strategy};

/// Loads `.wasm` modules (registered with core's module loaders).
#[derive(Debug)]
pub struct WasmLoader;

tradsys_core::register_module_loader!(&WasmLoader);

impl ModuleLoader for WasmLoader {
    fn extension(&self) -> &'static str {
        "wasm"
    }

    fn load(&self, bytes: &[u8], path: &Path, settings: ModuleSettings) -> Result<ComponentDescriptor, ModuleError> {
        let error = |message: String| ModuleError { path: path.display().to_string(), message };
        let manifest = manifest::read(bytes).map_err(error)?;
        let engine = engine::engine().map_err(error)?;
        let module =
            Module::new(engine, bytes).map_err(|e| error(format!("is not a valid WebAssembly module: {e:#}")))?;
        check_imports(&module, &manifest).map_err(error)?;
        abi::check_exports(&module, manifest.kind).map_err(error)?;
        params::defaults(&manifest.params).map_err(|e| error(e.to_string()))?;
        let pre = linker(engine, &manifest.capabilities)
            .and_then(|linker| linker.instantiate_pre(&module))
            .map_err(|e| error(format!("cannot be linked: {e:#}")))?;
        let file =
            path.file_name().map_or_else(|| path.display().to_string(), |name| name.to_string_lossy().into_owned());
        let component = WasmComponent {
            label: Arc::from(format!("{}@{}", manifest.name, manifest.version)),
            kind: manifest.kind,
            pre,
            params: manifest.params.clone(),
            outputs: indicator::intern(&output_names(&manifest)),
            budget: settings.call_budget,
            memory_limit: settings.memory_limit.min(engine::MAX_MEMORY),
        };
        Ok(descriptor(manifest, file, component))
    }
}

/// An indicator's output names: its manifest's, or the one output `value`.
fn output_names(manifest: &Manifest) -> Vec<String> {
    if manifest.outputs.is_empty() { vec!["value".to_owned()] } else { manifest.outputs.clone() }
}

/// Refuses imports from anywhere but `tradsys`, unknown functions, and functions of a capability
/// the manifest does not declare (the linker would refuse them too, later and less clearly).
fn check_imports(module: &Module, manifest: &Manifest) -> Result<(), String> {
    for import in module.imports() {
        if import.module() != "tradsys" {
            return Err(format!(
                "imports {}.{}; a tradsys module may import only from `tradsys` (no WASI, no other host)",
                import.module(),
                import.name()
            ));
        }
        if let Some(capability) = capability_of_import(import.name())
            && !manifest.capabilities.contains(&capability)
        {
            return Err(format!(
                "imports tradsys.{}, which needs capability {capability}, not declared in its manifest",
                import.name()
            ));
        }
        if !crate::host::IMPORTS.contains(&import.name()) {
            return Err(format!("imports tradsys.{}, which the host does not provide", import.name()));
        }
    }
    Ok(())
}

fn descriptor(manifest: Manifest, file: String, component: WasmComponent) -> ComponentDescriptor {
    let dependencies = manifest
        .dependencies
        .into_iter()
        .map(|dependency| Dependency {
            kind: dependency.kind,
            name: Cow::Owned(dependency.name),
            req: Cow::Owned(dependency.req),
        })
        .collect::<Vec<_>>();
    ComponentDescriptor {
        kind: manifest.kind,
        name: Cow::Owned(manifest.name),
        version: Cow::Owned(manifest.version),
        api_version: Cow::Owned(manifest.api_version),
        crate_name: Cow::Owned(file),
        summary: Cow::Owned(manifest.summary),
        dependencies: Cow::Owned(dependencies),
        capabilities: Cow::Owned(manifest.capabilities),
        file_params: Cow::Borrowed(&[]),
        // A module's manifest carries parameter names and defaults, not their meanings.
        param_docs: Cow::Borrowed(&[]),
        builder: Builder::Loaded(Arc::new(component)),
    }
}

/// A compiled, linked module and what bounds its instances.
pub(crate) struct WasmComponent {
    label: Arc<str>,
    kind: Kind,
    pre: InstancePre<HostState>,
    params: toml::Table,
    outputs: &'static [&'static str],
    budget: Duration,
    memory_limit: u64,
}

impl std::fmt::Debug for WasmComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmComponent")
            .field("label", &self.label)
            .field("kind", &self.kind)
            .field("budget", &self.budget)
            .field("memory_limit", &self.memory_limit)
            .finish_non_exhaustive()
    }
}

impl LoadedComponent for WasmComponent {
    fn default_params(&self) -> Result<Dict, ParamError> {
        params::defaults(&self.params)
    }

    fn check_params(&self, given: &Dict) -> Result<(), ParamError> {
        params::merge(&self.params, given).map(drop)
    }

    fn build(&self, given: &Dict) -> Result<Instance, BuildError> {
        let text = params::to_text(&params::merge(&self.params, given)?);
        let refused =
            |message: String| BuildError::Component(ComponentError::new(format!("{}: {message}", self.label)));
        let mut guest = self.instantiate().map_err(refused)?;
        let common = Common::resolve(&mut guest).map_err(refused)?;
        common.configure(&mut guest, &text).map_err(refused)?;
        Ok(match self.kind {
            Kind::Strategy => {
                Instance::Strategy(Box::new(strategy::WasmStrategy::new(guest, common).map_err(refused)?))
            }
            Kind::Risk => Instance::Risk(Box::new(risk::WasmRisk::new(guest, common).map_err(refused)?)),
            _ => Instance::Indicator(Box::new(
                indicator::WasmIndicator::new(guest, common, self.outputs).map_err(refused)?,
            )),
        })
    }
}

impl WasmComponent {
    /// A fresh instance: its own store, memory limit and (for its start function) time budget.
    fn instantiate(&self) -> Result<Guest, String> {
        let limit = usize::try_from(self.memory_limit).unwrap_or(usize::MAX);
        let limits = StoreLimitsBuilder::new()
            .memory_size(limit)
            .instances(1)
            .memories(1)
            .tables(1)
            .trap_on_grow_failure(true)
            .build();
        let mut store = Store::new(self.pre.module().engine(), HostState::new(limits, Arc::clone(&self.label)));
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(engine::budget_ticks(self.budget));
        let instance = self.pre.instantiate(&mut store).map_err(|e| format!("failed to start: {e:#}"))?;
        let memory = instance.get_memory(&mut store, "memory").ok_or("exports no `memory`")?;
        Ok(Guest::new(store, instance, memory, self.budget, self.memory_limit))
    }
}

/// The exports every module has.
pub(crate) struct Common {
    /// `tradsys_alloc`.
    pub(crate) alloc: wasmtime::TypedFunc<i32, i32>,
    configure: wasmtime::TypedFunc<(i32, i32), i32>,
    /// `tradsys_init`, if exported.
    pub(crate) init: Option<wasmtime::TypedFunc<(), i32>>,
    /// `tradsys_start`, if exported.
    pub(crate) start: Option<wasmtime::TypedFunc<(), i32>>,
    /// `tradsys_stop`, if exported.
    pub(crate) stop: Option<wasmtime::TypedFunc<(), i32>>,
}

impl Common {
    fn resolve(guest: &mut Guest) -> Result<Common, String> {
        Ok(Common {
            alloc: guest.required("tradsys_alloc")?,
            configure: guest.required("tradsys_configure")?,
            init: guest.optional("tradsys_init")?,
            start: guest.optional("tradsys_start")?,
            stop: guest.optional("tradsys_stop")?,
        })
    }

    /// Hands the instance its parameters; it may refuse them.
    fn configure(&self, guest: &mut Guest, text: &str) -> Result<(), String> {
        let (ptr, len) = guest.write(&self.alloc, text.as_bytes()).map_err(|fault| fault.to_string())?;
        let status = guest
            .call(&self.configure, crate::host::Frame::None, (ptr, len))
            .map_err(|fault| format!("{fault} (in configure)"))?;
        status_to_result(guest, status, "refused its parameters")
    }
}

/// A lifecycle status: 0 is success; anything else fails with the reason the guest gave.
pub(crate) fn status_to_result(guest: &mut Guest, status: i32, what: &str) -> Result<(), String> {
    if status == 0 {
        return Ok(());
    }
    let reason = guest.take_reason().unwrap_or_else(|| format!("status {status}"));
    Err(format!("{what}: {reason}"))
}

/// Calls an optional lifecycle hook (no frame), as a component error.
pub(crate) fn lifecycle(
    guest: &mut Guest,
    hook: Option<&wasmtime::TypedFunc<(), i32>>,
    name: &str,
    frame: crate::host::Frame,
) -> Result<(), ComponentError> {
    let Some(hook) = hook else { return Ok(()) };
    let label = guest.label();
    let status =
        guest.call(hook, frame, ()).map_err(|fault| ComponentError::new(format!("{label} {fault} (in {name})")))?;
    status_to_result(guest, status, &format!("{name} failed"))
        .map_err(|message| ComponentError::new(format!("{label}: {message}")))
}

impl std::fmt::Debug for Common {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Common").finish_non_exhaustive()
    }
}

/// The lifecycle hooks of a module component (`init` with the init frame, `start`, `stop`), written
/// into each kind's trait impl; the type has `guest: Guest` and `common: Common`.
macro_rules! lifecycle_hooks {
    () => {
        fn init(
            &mut self,
            ctx: &mut tradsys_core::component::InitContext<'_>,
        ) -> Result<(), tradsys_core::component::ComponentError> {
            let frame = crate::strategy::init_frame(ctx);
            crate::component::lifecycle(&mut self.guest, self.common.init.as_ref(), "init", frame)
        }

        fn start(&mut self) -> Result<(), tradsys_core::component::ComponentError> {
            let frame = crate::host::Frame::None;
            crate::component::lifecycle(&mut self.guest, self.common.start.as_ref(), "start", frame)
        }

        fn stop(&mut self) -> Result<(), tradsys_core::component::ComponentError> {
            let frame = crate::host::Frame::None;
            crate::component::lifecycle(&mut self.guest, self.common.stop.as_ref(), "stop", frame)
        }
    };
}
pub(crate) use lifecycle_hooks;
