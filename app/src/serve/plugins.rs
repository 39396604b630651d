//! The registry `serve` plans against, grown while the system runs: modules uploaded through
//! `POST /plugins`, and modules dropped into the config's `security.plugin_dir` (watched).
//!
//! Adding a module registers a new component version; it runs only when a change (`POST
//! /strategies`, a swap, a config edit) chooses it, and that change is checked, admission
//! included, like any other. A registered version is never replaced: new code is a new version.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tradsys_core::module::ModuleSettings;
use tradsys_core::registry::{RegisteredComponent, Registry};
use tradsys_core::trust::{Admission as _, Approvals};

use super::problem::Problem;
use crate::modules::{MODULE_EXTENSION, digest, is_module_file, is_registered, load, module_files, register};
use crate::output::OutputFile;
use crate::trust::approval::{BESIDE_MODULES as APPROVAL_EXTENSION, signature_path};
use crate::trust::minisign::PublicKey;

/// Events on one file closer than this are one write.
const SETTLE: Duration = Duration::from_millis(200);

/// The shared registry, where uploaded modules are kept, and the keys their approvals must be
/// signed with.
#[derive(Clone, Debug)]
pub struct LiveRegistry {
    registry: Arc<RwLock<Registry>>,
    settings: ModuleSettings,
    dir: Option<PathBuf>,
    /// `Some` when the config requires approval: an upload must come with an approval signed by
    /// one of these keys.
    trusted: Option<Arc<Vec<PublicKey>>>,
}

/// An approval sent with a module: the approval file's text and its minisign signature.
#[derive(Debug)]
pub struct SentApproval {
    /// The approval (TOML, as `tradsys approve` writes it).
    pub text: String,
    /// Its signature (the `.minisig` file's text).
    pub signature: String,
}

impl LiveRegistry {
    /// `registry` as it starts; uploads are saved in `dir` when there is one, and need an
    /// approval signed by one of `trusted` when that is `Some`.
    #[must_use]
    pub fn new(
        registry: Registry,
        settings: ModuleSettings,
        dir: Option<PathBuf>,
        trusted: Option<Vec<PublicKey>>,
    ) -> LiveRegistry {
        LiveRegistry { registry: Arc::new(RwLock::new(registry)), settings, dir, trusted: trusted.map(Arc::new) }
    }

    /// The registry as it is now (a copy; descriptors are shared).
    #[must_use]
    pub fn snapshot(&self) -> Registry {
        self.registry.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Loads and registers an uploaded module, saved (whole, or not at all) as `file` in the
    /// plugin directory when there is one (`<name>-<version>.wasm` when `file` is absent). When
    /// approval is required, `approval` must be signed by a trusted key and list this module's
    /// exact code with its capabilities; it is kept beside the module (`<file>.approval.toml`),
    /// where admission finds it.
    ///
    /// # Errors
    /// 400 for a bad file name, 422 for a module that does not load, 403 for a missing or
    /// insufficient approval, 409 for a version already registered or a file name already taken,
    /// 500 when the files cannot be written (nothing is registered then).
    pub fn upload(
        &self,
        file: Option<&str>,
        bytes: &[u8],
        approval: Option<SentApproval>,
    ) -> Result<(RegisteredComponent, Option<PathBuf>), Problem> {
        if let Some(file) = file {
            let plain = Path::new(file).file_name().is_some_and(|name| name == file);
            if !plain || !is_module_file(Path::new(file)) {
                return Err(Problem::invalid(
                    format!("file={file:?}: expected a plain, not hidden, file name ending in .{MODULE_EXTENSION}"),
                    vec![],
                ));
            }
        }
        let provisional = PathBuf::from(file.unwrap_or("upload.wasm"));
        let module = load(&provisional, Some(bytes), self.settings)
            .map_err(|error| Problem::unusable(format!("the module does not load: {error:#}"), vec![]))?;
        let name = file.map_or_else(
            || format!("{}-{}.{MODULE_EXTENSION}", module.descriptor.name, module.version),
            ToOwned::to_owned,
        );
        let saved = self.dir.as_ref().map(|dir| dir.join(&name));
        let mut descriptor = (*module.descriptor).clone();
        descriptor.crate_name = name.clone().into();
        let module = RegisteredComponent {
            descriptor: Arc::new(descriptor),
            origin: tradsys_core::registry::Origin::WebAssembly {
                path: saved.clone().unwrap_or_else(|| name.clone().into()),
            },
            ..module
        };
        let mut registry = self.registry.write().unwrap_or_else(PoisonError::into_inner);
        if registry
            .versions(module.descriptor.kind, &module.descriptor.name)
            .is_ok_and(|versions| versions.iter().any(|c| c.version == module.version))
        {
            return Err(Problem::conflict(
                format!(
                    "{} {} is registered already; new code is a new version",
                    module.descriptor.kind,
                    module.descriptor.label()
                ),
                vec![],
            ));
        }
        if let Some(path) = saved.as_ref().filter(|path| path.exists()) {
            return Err(Problem::conflict(
                format!(
                    "{} exists in the plugin directory already; send the module under another file name",
                    path.display()
                ),
                vec![],
            ));
        }
        let approval = match &self.trusted {
            None => None,
            Some(keys) => Some(self.approve(&module, approval, keys)?),
        };
        let registered =
            register(&mut registry, module).map_err(|error| Problem::unusable(format!("{error:#}"), vec![]))?;
        if let Some(path) = &saved
            && let Err(error) = keep(path, bytes, approval.as_ref())
        {
            // Saving failed: the upload leaves nothing behind, registered or on disk.
            let descriptor = &registered.descriptor;
            registry.unregister(descriptor.kind, &descriptor.name, &registered.version);
            return Err(Problem::internal(format!("cannot save the module: {error:#}; nothing was registered")));
        }
        tracing::info!(plugin = %registered.descriptor.label(), digest = registered.digest.as_deref().unwrap_or(""),
            "WebAssembly plugin uploaded");
        Ok((registered, saved))
    }

    /// Checks the approval sent with a module: signed by a trusted key, in date, and listing this
    /// module's code with no fewer capabilities than it declares.
    fn approve(
        &self,
        module: &RegisteredComponent,
        approval: Option<SentApproval>,
        keys: &[PublicKey],
    ) -> Result<SentApproval, Problem> {
        let Some(approval) = approval else {
            return Err(Problem::forbidden(
                "this system requires approval: send the module as JSON with its approval and signature",
                vec!["{\"module\": \"<base64>\", \"approval\": \"<approval.toml>\", \"signature\": \"<approval.toml.minisig>\"}".to_owned()],
            ));
        };
        if self.dir.is_none() {
            return Err(Problem::conflict(
                "an approved upload is kept beside its module, and this config has no security.plugin_dir",
                vec![],
            ));
        }
        let plugins = crate::trust::approval::verify(
            Path::new("the approval sent"),
            approval.text.as_bytes(),
            &approval.signature,
            keys,
            jiff::Timestamp::now(),
        )
        .map_err(|error| Problem::forbidden(error.to_string(), vec![]))?;
        Approvals::new(plugins).admit(module).map_err(|error| Problem::forbidden(error.to_string(), vec![]))?;
        Ok(approval)
    }

    /// Loads a module dropped into the plugin directory, unless it is registered already (same
    /// bytes). A module that does not load is logged and left out.
    fn pick_up(&self, path: &Path) {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::debug!(file = %path.display(), %error, "module file not readable (yet)");
                return;
            }
        };
        let digest = digest(&bytes);
        if is_registered(&self.registry.read().unwrap_or_else(PoisonError::into_inner), &digest) {
            return;
        }
        // Compiled without the lock: reads of the registry do not wait for the compiler.
        let loaded = load(path, Some(&bytes), self.settings);
        let mut registry = self.registry.write().unwrap_or_else(PoisonError::into_inner);
        if is_registered(&registry, &digest) {
            return;
        }
        match loaded.and_then(|module| register(&mut registry, module)) {
            Ok(registered) => tracing::info!(plugin = %registered.descriptor.label(), file = %path.display(),
                digest = registered.digest.as_deref().unwrap_or(""), "WebAssembly plugin loaded from the plugin directory"),
            Err(error) => tracing::warn!(file = %path.display(), "module not loaded: {error:#}"),
        }
    }
}

/// Saves an uploaded module at `path` and, when there is one, its approval beside it
/// (`<stem>.approval.toml` and its signature): all of them, or (on an error) none.
fn keep(path: &Path, module: &[u8], approval: Option<&SentApproval>) -> anyhow::Result<()> {
    let mut written: Vec<PathBuf> = Vec::new();
    let mut files: Vec<(PathBuf, &[u8])> = Vec::new();
    if let Some(approval) = approval {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let beside = path.with_file_name(format!("{stem}{APPROVAL_EXTENSION}"));
        files.push((signature_path(&beside), approval.signature.as_bytes()));
        files.push((beside, approval.text.as_bytes()));
    }
    // The module last: the directory watcher may pick it up at once, and admission then finds
    // its approval there already.
    files.push((path.to_owned(), module));
    for (file, bytes) in files {
        // Each file whole or not at all, as every output is (a hidden temporary sibling, renamed).
        let saved = OutputFile::create(&file).and_then(|mut output| {
            output.writer().write_all(bytes)?;
            output.commit()
        });
        if let Err(error) = saved {
            for done in written {
                let _ = std::fs::remove_file(done);
            }
            return Err(error);
        }
        written.push(file);
    }
    Ok(())
}

/// Watches the plugin directory: every `.wasm` file that appears or changes is loaded (once its
/// writes settle). The watcher lives as long as the returned value.
///
/// # Errors
/// The directory cannot be watched.
pub fn watch(live: LiveRegistry) -> notify::Result<Option<notify::RecommendedWatcher>> {
    let Some(dir) = live.dir.clone() else { return Ok(None) };
    let (events_tx, events) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(events_tx)?;
    watcher.watch(&dir, RecursiveMode::NonRecursive)?;
    let watching = live.clone();
    std::thread::Builder::new()
        .name("plugin-dir-watch".to_owned())
        .spawn(move || {
            let modules = |event: notify::Result<notify::Event>| -> Vec<PathBuf> {
                event.map_or_else(
                    |_| Vec::new(),
                    |event| {
                        if event.kind.is_access() || event.kind.is_remove() {
                            return Vec::new();
                        }
                        event.paths.into_iter().filter(|p| is_module_file(p)).collect()
                    },
                )
            };
            while let Ok(event) = events.recv() {
                let mut changed = modules(event);
                if changed.is_empty() {
                    continue;
                }
                while let Ok(more) = events.recv_timeout(SETTLE) {
                    changed.extend(modules(more));
                }
                changed.sort();
                changed.dedup();
                for path in changed {
                    watching.pick_up(&path);
                }
            }
        })
        .map_err(|error| notify::Error::generic(&error.to_string()))?;
    // Modules already there when serve started were loaded with the config; any written between
    // that and this watch starting are picked up now.
    if let Ok(files) = module_files(&dir) {
        for file in files {
            live.pick_up(&file);
        }
    }
    Ok(Some(watcher))
}
