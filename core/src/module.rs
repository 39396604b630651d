//! Plugins that arrive at run time, as modules (WebAssembly): the loader a plugin crate provides,
//! and the settings that bound what a loaded module may take.
//!
//! Core names no loader. A plugin crate (the WebAssembly host, `plugins/wasm-host`) registers one
//! with [`register_module_loader!`](crate::register_module_loader); the binary asks
//! [`module_loaders`] for the loader of a file's extension, computes the module's digest itself,
//! and registers the [`ComponentDescriptor`] the loader returns, whose builder carries the compiled
//! module. Reading a module's manifest and compiling it run none of its code; its code first runs
//! when an instance is built, after admission.

use std::path::Path;
use std::time::Duration;

use crate::plugin::ComponentDescriptor;

/// What bounds one loaded module's instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModuleSettings {
    /// The longest one call into the module may run before it is interrupted (a trap that fails
    /// the component).
    pub call_budget: Duration,
    /// The most linear memory one instance may grow to, in bytes.
    pub memory_limit: u64,
}

impl Default for ModuleSettings {
    fn default() -> ModuleSettings {
        ModuleSettings { call_budget: Duration::from_millis(10), memory_limit: 64 << 20 }
    }
}

/// Why a module could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ModuleError {
    /// The module's file.
    pub path: String,
    /// What was wrong.
    pub message: String,
}

/// Turns a module's bytes into a component descriptor.
pub trait ModuleLoader: Sync {
    /// The file extension it loads (`wasm`).
    fn extension(&self) -> &'static str;

    /// Reads the module's manifest and compiles it, running none of its code.
    ///
    /// # Errors
    /// Not a module, a missing or bad manifest, a plugin API this core does not speak.
    fn load(&self, bytes: &[u8], path: &Path, settings: ModuleSettings) -> Result<ComponentDescriptor, ModuleError>;
}

/// A loader, as submitted to `inventory`.
#[derive(Debug)]
pub struct ModuleLoaderRegistration {
    /// The loader.
    pub loader: &'static dyn ModuleLoader,
    /// The crate that registered it (what the linker must keep).
    pub crate_name: &'static str,
}

impl std::fmt::Debug for dyn ModuleLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ModuleLoader(.{})", self.extension())
    }
}

inventory::collect!(ModuleLoaderRegistration);

/// The loaders compiled into this binary.
pub fn module_loaders() -> impl Iterator<Item = &'static dyn ModuleLoader> {
    module_loader_registrations().map(|registration| registration.loader)
}

/// The loader registrations compiled into this binary, with the crates that made them.
pub fn module_loader_registrations() -> impl Iterator<Item = &'static ModuleLoaderRegistration> {
    inventory::iter::<ModuleLoaderRegistration>.into_iter()
}

/// The loader of files with `extension`, if one is compiled in.
#[must_use]
pub fn loader_for(extension: &str) -> Option<&'static dyn ModuleLoader> {
    module_loaders().find(|loader| loader.extension() == extension)
}

/// Registers a module loader: `register_module_loader!(&WasmLoader);`
#[macro_export]
macro_rules! register_module_loader {
    ($loader:expr) => {
        $crate::inventory::submit! {
            $crate::module::ModuleLoaderRegistration { loader: $loader, crate_name: env!("CARGO_PKG_NAME") }
        }
    };
}
