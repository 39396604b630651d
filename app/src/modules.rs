//! WebAssembly plugins loaded at run time: a config's `security.plugin_dir` at start-up, and (in
//! `serve`) modules uploaded or dropped into that directory while the system runs.
//!
//! Loading reads a module, computes the digest of its bytes (what an approval names), and hands it
//! to the loader compiled in for its extension (the `wasm-host` plugin), which reads its manifest
//! and compiles it; none of the module's code runs. Its code first runs when a config chooses it
//! and the session builds it, after admission.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use sha2::{Digest, Sha256};
use tradsys_core::config::{Config, ConfigError, ConfigLoader, SecurityConfig};
use tradsys_core::module::{ModuleSettings, loader_for, module_loaders};
use tradsys_core::registry::{Origin, RegisteredComponent, Registry};

use crate::failure::{BadInput as _, Failure};

/// The largest module file accepted (16 MiB): a plugin is code, not data.
pub const MAX_MODULE_BYTES: u64 = 16 << 20;

/// The extension of a module file: `.wasm`.
pub const MODULE_EXTENSION: &str = "wasm";

/// `sha256:<hex>` of `bytes`: a module's digest, as approvals name it.
#[must_use]
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256:");
    for byte in hash {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

/// The bounds on every module instance, from `[security]`.
///
/// # Errors
/// A budget or limit outside its range, at its key.
pub fn settings(security: &SecurityConfig) -> Result<ModuleSettings, (String, String)> {
    let budget = security.module_call_budget_ms;
    if !(1..=10_000).contains(&budget) {
        return Err((
            "security.module_call_budget_ms".to_owned(),
            format!("expected milliseconds from 1 to 10000, got {budget}"),
        ));
    }
    let memory = security.module_memory_mib;
    if !(1..=256).contains(&memory) {
        return Err(("security.module_memory_mib".to_owned(), format!("expected MiB from 1 to 256, got {memory}")));
    }
    Ok(ModuleSettings { call_budget: Duration::from_millis(budget), memory_limit: memory << 20 })
}

/// Reads and compiles the module at `path` (bytes given, or read from the file): its component,
/// with its origin and digest, ready to register.
///
/// # Errors
/// No loader for its extension (a binary built without `wasm-host`), an unreadable or oversized
/// file, or a module its loader refuses (no manifest, undeclared imports, not WebAssembly).
pub fn load(path: &Path, bytes: Option<&[u8]>, settings: ModuleSettings) -> anyhow::Result<RegisteredComponent> {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let loader = loader_for(extension).ok_or_else(|| {
        let known: Vec<&str> = module_loaders().map(|l| l.extension()).collect();
        if known.is_empty() {
            anyhow!(
                "{}: this binary loads no plugin modules; build it with the wasm-host plugin (cargo xtask build --plugins ...,wasm-host, or --features wasm-host)",
                path.display()
            )
        } else {
            anyhow!("{}: not a plugin module; expected a .{} file", path.display(), known.join(", ."))
        }
    })?;
    let read;
    let bytes = match bytes {
        Some(bytes) => bytes,
        None => {
            read = read_module(path)?;
            &read
        }
    };
    if bytes.len() as u64 > MAX_MODULE_BYTES {
        return Err(anyhow!("{}: {} bytes; a module may have at most {MAX_MODULE_BYTES}", path.display(), bytes.len()));
    }
    let digest = digest(bytes);
    let descriptor = loader.load(bytes, path, settings)?;
    let version = semver::Version::parse(&descriptor.version)
        .map_err(|e| anyhow!("{}: manifest version {:?}: {e}", path.display(), descriptor.version))?;
    Ok(RegisteredComponent {
        descriptor: Arc::new(descriptor),
        version,
        origin: Origin::WebAssembly { path: path.to_path_buf() },
        digest: Some(digest),
    })
}

fn read_module(path: &Path) -> anyhow::Result<Vec<u8>> {
    let size = std::fs::metadata(path).with_context(|| format!("{}: cannot read", path.display()))?.len();
    if size > MAX_MODULE_BYTES {
        return Err(anyhow!("{}: {size} bytes; a module may have at most {MAX_MODULE_BYTES}", path.display()));
    }
    std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))
}

/// Registers a loaded module.
///
/// # Errors
/// A name, version or dependency the registry refuses, or a version already registered (a
/// module's code never changes under a version: publish a new one).
pub fn register(registry: &mut Registry, module: RegisteredComponent) -> anyhow::Result<RegisteredComponent> {
    let RegisteredComponent { descriptor, origin, digest, .. } = module;
    let path = match &origin {
        Origin::WebAssembly { path } => path.display().to_string(),
        Origin::CompiledIn => String::new(),
    };
    registry.register(descriptor, origin, digest).map_err(|e| anyhow!("{path}: {e}"))
}

/// Whether `path` names a module file: a `.wasm` that is not hidden (a file being written, such as
/// an upload's temporary sibling, is hidden until it is renamed into place).
#[must_use]
pub fn is_module_file(path: &Path) -> bool {
    let hidden = path.file_name().is_some_and(|name| name.to_string_lossy().starts_with('.'));
    !hidden && path.extension().is_some_and(|e| e == MODULE_EXTENSION)
}

/// The module files of `dir`, sorted by name (so loading is deterministic).
///
/// # Errors
/// The directory cannot be read.
pub fn module_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot read the plugin directory", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && is_module_file(path))
        .collect();
    files.sort();
    Ok(files)
}

/// Whether `registry` holds the module with `digest` already.
#[must_use]
pub fn is_registered(registry: &Registry, digest: &str) -> bool {
    registry.iter().any(|c| matches!(c.origin, Origin::WebAssembly { .. }) && c.digest.as_deref() == Some(digest))
}

/// The registry a config runs with: `registry` plus the modules of its `security.plugin_dir` not
/// registered yet (a module already there, same bytes, is kept as it is).
///
/// # Errors
/// Every module that cannot be loaded or registered, at `security.plugin_dir`.
pub fn registry_for(config: &Config, loader: &ConfigLoader, registry: &Registry) -> Result<Registry, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let mut bad = |key: &str, message: String| {
        errors.push(ConfigError { source: loader.source_of(key), key: key.to_owned(), message });
    };
    let settings = match settings(&config.security) {
        Ok(settings) => settings,
        Err((key, message)) => {
            bad(&key, message);
            return Err(errors);
        }
    };
    let mut registry = registry.clone();
    let Some(dir) = &config.security.plugin_dir else { return Ok(registry) };
    let key = "security.plugin_dir";
    let dir = match loader.base_dir_of(key) {
        Some(base) if Path::new(dir).is_relative() => base.join(dir),
        _ => PathBuf::from(dir),
    };
    let files = match module_files(&dir) {
        Ok(files) => files,
        Err(error) => {
            bad(key, format!("{error:#}"));
            return Err(errors);
        }
    };
    for file in files {
        let loaded = read_module(&file).and_then(|bytes| {
            if is_registered(&registry, &digest(&bytes)) {
                return Ok(None);
            }
            load(&file, Some(&bytes), settings).map(Some)
        });
        match loaded.and_then(|module| module.map(|module| register(&mut registry, module)).transpose()) {
            Ok(Some(registered)) => tracing::info!(
                plugin = %registered.descriptor.label(),
                kind = %registered.descriptor.kind,
                digest = registered.digest.as_deref().unwrap_or(""),
                "loaded WebAssembly plugin {}",
                file.display()
            ),
            Ok(None) => {}
            Err(error) => bad(key, format!("{error:#}")),
        }
    }
    if errors.is_empty() { Ok(registry) } else { Err(errors) }
}

/// `registry` with the modules at `paths` (files, or directories of them) loaded with the default
/// bounds: what `plugins`, `approve` and `verify` see with `--module`.
///
/// # Errors
/// A module that cannot be loaded or registered (bad input).
pub fn with_modules(mut registry: Registry, paths: &[PathBuf]) -> Result<Registry, Failure> {
    let settings = ModuleSettings::default();
    for path in paths {
        let files = if path.is_dir() { module_files(path).bad_input()? } else { vec![path.clone()] };
        for file in files {
            let module = load(&file, None, settings).map_err(|e| anyhow!("--module {e:#}")).bad_input()?;
            register(&mut registry, module).map_err(|e| anyhow!("--module {e:#}")).bad_input()?;
        }
    }
    Ok(registry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_and_other_files_are_not_modules() {
        assert!(is_module_file(Path::new("modules/sma-cross.wasm")));
        // An upload's temporary sibling, while it is written.
        assert!(!is_module_file(Path::new("modules/.sma-cross.123.partial.wasm")));
        assert!(!is_module_file(Path::new("modules/sma-cross.approval.toml")));
    }

    #[test]
    fn a_digest_is_the_sha256_of_the_bytes() {
        assert_eq!(digest(b"abc"), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn budgets_and_limits_out_of_range_name_their_key() {
        let mut security = SecurityConfig::default();
        assert_eq!(settings(&security).unwrap().call_budget, Duration::from_millis(10));
        security.module_call_budget_ms = 0;
        assert_eq!(settings(&security).unwrap_err().0, "security.module_call_budget_ms");
        security.module_call_budget_ms = 5;
        security.module_memory_mib = 1024;
        assert_eq!(settings(&security).unwrap_err().0, "security.module_memory_mib");
    }
}
