//! A loaded module as a component: its descriptor, built from the manifest, and its builder,
//! which instantiates the compiled module for each instance.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tradsys_core::component::ComponentError;
use tradsys_core::module::{ModuleError, ModuleLoader, ModuleSettings};
use tradsys_core::plugin::{
    BuildError, Builder, ComponentDescriptor, Dependency, Dict, Instance, Kind, LoadedComponent, ParamDoc, ParamError,
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
        check_api_1_1(&module, &manifest).map_err(error)?;
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
            param_docs: param_docs(&manifest).map_err(error)?,
            outputs: indicator::intern(&output_names(&manifest)),
            budget: settings.call_budget,
            memory_limit: settings.memory_limit.min(engine::MAX_MEMORY),
        };
        Ok(descriptor(manifest, file, component))
    }
}

/// The imports and exports plugin API 1.1 brought: a module that uses one must say it was built
/// for 1.1, so that a host of 1.0 refuses it by its version instead of by a missing function.
const API_1_1_IMPORTS: &[&str] = &["submit_order", "submit_bracket"];
const API_1_1_EXPORTS: &[&str] = &["tradsys_snapshot", "tradsys_take_over"];

/// Refuses a module that uses what plugin API 1.1 added but declares an older API, naming what
/// and how to rebuild.
fn check_api_1_1(module: &Module, manifest: &Manifest) -> Result<(), String> {
    if manifest.speaks_1_1() {
        return Ok(());
    }
    let imported = module.imports().map(|import| import.name()).find(|name| API_1_1_IMPORTS.contains(name));
    let exported = module.exports().map(|export| export.name()).find(|name| API_1_1_EXPORTS.contains(name));
    match imported.or(exported) {
        None => Ok(()),
        Some(name) => Err(format!(
            "uses `{name}`, new in plugin API {api}, but its manifest says api_version = {:?}; declare api_version = \"{api}\" and rebuild",
            manifest.api_version,
            api = manifest::API_1_1
        )),
    }
}

/// A module's parameter meanings, as native plugins give theirs: the type from the default, the
/// text from `param_docs` (empty without one).
///
/// # Errors
/// A `Range:` line that does not read, or that the parameter's default falls outside.
fn param_docs(manifest: &Manifest) -> Result<Vec<ParamDoc>, String> {
    let mut docs = Vec::new();
    for (name, default) in &manifest.params {
        let text = manifest.param_docs.get(name).cloned().unwrap_or_default();
        let ty = Cow::Borrowed(params::type_name_of_default(default));
        let doc = ParamDoc { name: Cow::Owned(name.clone()), ty, doc: Cow::Owned(text) };
        let range = doc.range().map_err(|e| format!("manifest: {e}"))?;
        let value = match default {
            toml::Value::Integer(i) => Some(*i as f64),
            toml::Value::Float(f) => Some(*f),
            _ => None,
        };
        if let (Some(range), Some(value)) = (range, value)
            && !range.contains(value)
        {
            return Err(format!(
                "manifest: parameter {name}'s default {default} is outside its Range: {}",
                doc.range_text().unwrap_or_default()
            ));
        }
        docs.push(doc);
    }
    Ok(docs)
}

/// Refuses a numeric value outside its documented range.
fn check_ranges(docs: &[ParamDoc], merged: &[(String, String)]) -> Result<(), ParamError> {
    for doc in docs {
        let Ok(Some(range)) = doc.range() else { continue };
        let Some(value) = merged.iter().find(|(key, _)| *key == doc.name).and_then(|(_, v)| v.parse::<f64>().ok())
        else {
            continue;
        };
        if !range.contains(value) {
            return Err(ParamError::Invalid {
                key: doc.name.to_string(),
                message: format!("{value} is outside the range {}", doc.range_text().unwrap_or_default()),
            });
        }
    }
    Ok(())
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
        param_docs: Cow::Owned(component.param_docs.clone()),
        builder: Builder::Loaded(Arc::new(component)),
    }
}

/// A compiled, linked module and what bounds its instances.
pub(crate) struct WasmComponent {
    label: Arc<str>,
    kind: Kind,
    pre: InstancePre<HostState>,
    params: toml::Table,
    param_docs: Vec<ParamDoc>,
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
        check_ranges(&self.param_docs, &params::merge(&self.params, given)?)
    }

    fn build(&self, given: &Dict) -> Result<Instance, BuildError> {
        let merged = params::merge(&self.params, given)?;
        check_ranges(&self.param_docs, &merged)?;
        let text = params::to_text(&merged);
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
/// into each kind's trait impl; the type has `fn guest_mut(&mut self) -> &mut Guest` and
/// `common: Common`.
macro_rules! lifecycle_hooks {
    () => {
        fn init(
            &mut self,
            ctx: &mut tradsys_core::component::InitContext<'_>,
        ) -> Result<(), tradsys_core::component::ComponentError> {
            let frame = crate::strategy::init_frame(ctx);
            let hook = self.common.init.clone();
            crate::component::lifecycle(self.guest_mut(), hook.as_ref(), "init", frame)
        }

        fn start(&mut self) -> Result<(), tradsys_core::component::ComponentError> {
            let hook = self.common.start.clone();
            crate::component::lifecycle(self.guest_mut(), hook.as_ref(), "start", crate::host::Frame::None)
        }

        fn stop(&mut self) -> Result<(), tradsys_core::component::ComponentError> {
            let hook = self.common.stop.clone();
            crate::component::lifecycle(self.guest_mut(), hook.as_ref(), "stop", crate::host::Frame::None)
        }
    };
}
pub(crate) use lifecycle_hooks;

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(api: &str, params: &str, docs: &str) -> Manifest {
        let text = format!(
            "api_version = \"{api}\"\nkind = \"strategy\"\nname = \"s\"\nversion = \"1.0.0\"\n[params]\n{params}\n[param_docs]\n{docs}\n"
        );
        toml::from_str(&text).unwrap()
    }

    /// A section of a module: its id, then its payload's length and the payload.
    fn section(id: u8, payload: &[u8]) -> Vec<u8> {
        let mut bytes = vec![id, u8::try_from(payload.len()).unwrap()];
        bytes.extend_from_slice(payload);
        bytes
    }

    fn name(text: &str) -> Vec<u8> {
        let mut bytes = vec![u8::try_from(text.len()).unwrap()];
        bytes.extend_from_slice(text.as_bytes());
        bytes
    }

    /// A module importing `tradsys.submit_order` (API 1.1), or exporting `tradsys_snapshot`.
    fn module_using_1_1(import: bool) -> Module {
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        if import {
            // (i32 i32 i32 i64 i64 i64 i32) -> (i64)
            bytes.extend(section(1, &[1, 0x60, 7, 0x7f, 0x7f, 0x7f, 0x7e, 0x7e, 0x7e, 0x7f, 1, 0x7e]));
            let import = [vec![1], name("tradsys"), name("submit_order"), vec![0, 0]].concat();
            bytes.extend(section(2, &import));
        } else {
            bytes.extend(section(1, &[1, 0x60, 0, 1, 0x7e])); // () -> (i64)
            bytes.extend(section(3, &[1, 0]));
            bytes.extend(section(7, &[vec![1], name("tradsys_snapshot"), vec![0, 0]].concat()));
            bytes.extend(section(10, &[1, 4, 0, 0x42, 0, 0x0b])); // i64.const 0
        }
        Module::new(crate::engine::engine().unwrap(), &bytes).unwrap()
    }

    #[test]
    fn a_module_of_api_1_0_using_what_1_1_brought_is_refused_saying_how_to_rebuild() {
        for (import, what) in [(true, "submit_order"), (false, "tradsys_snapshot")] {
            let module = module_using_1_1(import);
            let refused = check_api_1_1(&module, &manifest("1.0.0", "", "")).unwrap_err();
            assert_eq!(
                refused,
                format!(
                    "uses `{what}`, new in plugin API 1.1.0, but its manifest says api_version = \"1.0.0\"; declare api_version = \"1.1.0\" and rebuild"
                )
            );
            assert_eq!(check_api_1_1(&module, &manifest("1.1.0", "", "")), Ok(()));
        }
    }

    #[test]
    fn parameter_meanings_come_from_the_manifest_and_their_ranges_are_enforced() {
        let manifest = manifest("1.1.0", "qty = 1\nedge = 0.5\nname = \"\"", "qty = \"Lots.\\nRange: >= 1\"");
        let docs = param_docs(&manifest).unwrap();
        let shown: Vec<(&str, &str, &str)> =
            docs.iter().map(|d| (d.name.as_ref(), d.ty.as_ref(), d.doc.as_ref())).collect();
        assert_eq!(shown, [("edge", "f64", ""), ("name", "String", ""), ("qty", "i64", "Lots.\nRange: >= 1")]);
        let merged = |qty: &str| vec![("qty".to_owned(), qty.to_owned())];
        assert_eq!(check_ranges(&docs, &merged("1")).map_err(|e| e.to_string()), Ok(()));
        let refused = check_ranges(&docs, &merged("0")).unwrap_err().to_string();
        assert!(refused.contains("qty") && refused.contains("0 is outside the range >= 1"), "{refused}");
        let outside = crate::component::tests::manifest("1.1.0", "qty = 0", "qty = \"Lots.\\nRange: >= 1\"");
        assert!(param_docs(&outside).unwrap_err().contains("parameter qty's default 0 is outside its Range: >= 1"));
    }
}
