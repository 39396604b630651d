//! The trust model's commands and the admission of a run's plugins: `tradsys keys generate`,
//! `tradsys approve`, `tradsys verify`, and, for `run`, `serve` and `config check`, the approvals
//! a config requires, verified before any plugin code runs.
//!
//! See docs/security.md for what is trusted and enforced where.

pub mod approval;
pub mod minisign;

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use tradsys_core::config::{Config, ConfigError, ConfigLoader};
use tradsys_core::plugin::Kind;
use tradsys_core::registry::{Origin, RegisteredComponent, Registry};
use tradsys_core::trust::{Admission, AdmitAll, Approvals};

use self::approval::{ApprovalEntry, ApprovalFile, signature_path};
use self::minisign::{PublicKey, SecretKey};
use crate::cli::{ApproveArgs, KeysGenerateArgs, VerifyArgs};
use crate::failure::{BadInput, Failure, Internal};
use crate::output::{OutputFile, OutputRequest, check_outputs};

/// What decides which plugins a config may run: every plugin, or the verified approvals when the
/// config requires them (`security.require_approval`): those its `approvals` name, and those kept
/// beside modules in its `plugin_dir` (`*.approval.toml`, each signed).
///
/// # Errors
/// Every key or approval that cannot be used, at its config key.
pub fn admission(config: &Config, loader: &ConfigLoader) -> Result<Box<dyn Admission>, Vec<ConfigError>> {
    let security = &config.security;
    if !security.require_approval {
        return Ok(Box::new(AdmitAll));
    }
    let mut errors = Vec::new();
    let mut bad = |key: &str, message: String| {
        errors.push(ConfigError { source: loader.source_of(key), key: key.to_owned(), message });
    };
    let keys = trusted_keys(config, loader, &mut bad);
    let now = jiff::Timestamp::now();
    let mut plugins = Vec::new();
    for path in &security.approvals {
        match approval::load(&relative(loader, "security.approvals", path), &keys, now) {
            Ok(listed) => plugins.extend(listed),
            Err(error) => bad("security.approvals", error.to_string()),
        }
    }
    if let Some(dir) = &security.plugin_dir {
        for path in approvals_in(&relative(loader, "security.plugin_dir", dir)) {
            match approval::load(&path, &keys, now) {
                Ok(listed) => plugins.extend(listed),
                Err(error) => bad("security.plugin_dir", error.to_string()),
            }
        }
    }
    if errors.is_empty() { Ok(Box::new(Approvals::new(plugins))) } else { Err(errors) }
}

/// `path` as the config means it: relative to the directory of the file that set `key`.
fn relative(loader: &ConfigLoader, key: &str, path: &str) -> PathBuf {
    match loader.base_dir_of(key) {
        Some(dir) if Path::new(path).is_relative() => dir.join(path),
        _ => PathBuf::from(path),
    }
}

/// The approval files kept in a plugin directory, sorted by name.
fn approvals_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.to_str().is_some_and(|p| p.ends_with(approval::BESIDE_MODULES)))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The keys a config trusts to sign approvals; each one that cannot be read is reported through
/// `bad` at `security.trusted_keys`, as is trusting none.
pub fn trusted_keys(config: &Config, loader: &ConfigLoader, bad: &mut impl FnMut(&str, String)) -> Vec<PublicKey> {
    let key = "security.trusted_keys";
    let mut keys = Vec::new();
    for text in &config.security.trusted_keys {
        let parsed = if text.starts_with("RW") && !text.contains(['/', '.']) {
            PublicKey::from_text(text).map_err(|e| e.to_string())
        } else {
            let path = relative(loader, key, text);
            std::fs::read_to_string(&path)
                .map_err(|e| format!("{}: cannot read: {e}", path.display()))
                .and_then(|text| PublicKey::from_text(&text).map_err(|e| format!("{}: {e}", path.display())))
        };
        match parsed {
            Ok(public) => keys.push(public),
            Err(message) => bad(key, format!("{message}; expected a minisign public key file or its RW… line")),
        }
    }
    if keys.is_empty() {
        bad(key, "approvals are required but no key is trusted to sign them".to_owned());
    }
    keys
}

/// 32 + 8 random bytes from the operating system, for a new key.
fn random_bytes() -> anyhow::Result<([u8; 32], [u8; 8])> {
    let mut bytes = [0u8; 40];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut source| source.read_exact(&mut bytes))
        .context("reading /dev/urandom for a new key")?;
    let (seed, id) = bytes.split_at(32);
    Ok((seed.try_into()?, id.try_into()?))
}

/// `tradsys keys generate`: a new key pair, `NAME.key` (secret, readable by its owner only) and
/// `NAME.pub` (minisign's public key format).
///
/// # Errors
/// Either file exists already, or cannot be written.
pub fn generate_keys(args: &KeysGenerateArgs) -> Result<String, Failure> {
    let secret_path = args.out.with_extension("key");
    let public_path = args.out.with_extension("pub");
    for path in [&secret_path, &public_path] {
        if path.exists() {
            return Err(Failure::BadInput(anyhow!("{}: exists already; a key is never overwritten", path.display())));
        }
    }
    let (seed, id) = random_bytes().internal()?;
    let secret = SecretKey::from_random(seed, id);
    write_private(&secret_path, &secret.to_text()).bad_input()?;
    std::fs::write(&public_path, secret.public().to_text())
        .with_context(|| format!("cannot write {}", public_path.display()))
        .bad_input()?;
    Ok(format!(
        "key {}: secret {} (keep it private), public {}\n",
        secret.id,
        secret_path.display(),
        public_path.display()
    ))
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))
}

/// `tradsys approve`: an approval of the named plugins (their code as this binary carries it, with
/// the capabilities they declare), signed with a secret key.
///
/// # Errors
/// An unreadable key, an unknown or digest-less plugin, an unwritable output.
pub fn approve(args: &ApproveArgs, registry: &Registry) -> Result<String, Failure> {
    let key_text = std::fs::read_to_string(&args.key)
        .with_context(|| format!("--key {}: cannot read", args.key.display()))
        .bad_input()?;
    let key = SecretKey::from_text(&key_text).map_err(|e| anyhow!("--key {}: {e}", args.key.display())).bad_input()?;
    if let Some(expires) = &args.expires {
        expires
            .parse::<jiff::Timestamp>()
            .map_err(|e| anyhow!("--expires {expires:?}: expected RFC 3339, e.g. 2027-06-30T00:00:00Z ({e})"))
            .bad_input()?;
    }
    let mut chosen: Vec<&RegisteredComponent> = Vec::new();
    if args.all {
        chosen.extend(registry.iter());
    } else {
        // The modules given with --module (the only ones this registry has).
        chosen.extend(registry.iter().filter(|c| matches!(c.origin, Origin::WebAssembly { .. })));
    }
    for wanted in &args.plugins {
        let found = find_plugin(registry, wanted).bad_input()?;
        if !chosen.iter().any(|c| std::ptr::eq(*c, found)) {
            chosen.push(found);
        }
    }
    if chosen.is_empty() {
        return Err(Failure::BadInput(anyhow!(
            "nothing to approve: name plugins with --plugin KIND:NAME@VERSION or --module PATH, or give --all"
        )));
    }
    let mut plugins = Vec::new();
    for component in chosen {
        let d = &component.descriptor;
        let digest = component
            .digest
            .clone()
            .ok_or_else(|| anyhow!("{} {}: this binary carries no digest of its code", d.kind, d.label()))
            .bad_input()?;
        plugins.push(ApprovalEntry {
            kind: d.kind,
            name: d.name.to_string(),
            version: component.version.clone(),
            digest,
            capabilities: d.capabilities.to_vec(),
        });
    }
    let file = ApprovalFile { expires: args.expires.clone(), plugins };
    let text = format!(
        "# tradsys plugin approval: only the plugins below, with exactly this code and no more than these\n# capabilities, may run where this approval is required. Signature: {}.minisig\n{}",
        args.out.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        toml::to_string(&file).internal()?
    );
    let signature_out = signature_path(&args.out);
    check_outputs(
        &[
            OutputRequest { flag: "--out", path: &args.out, extensions: &["toml"], stdout: false },
            OutputRequest { flag: "--out", path: &signature_out, extensions: &["minisig"], stdout: false },
        ],
        &[("the key".to_owned(), args.key.clone())],
    )?;
    let name = args.out.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let comment = format!("timestamp:{} file:{name}", jiff::Timestamp::now().as_second());
    let signature = key.sign(text.as_bytes(), &comment);
    let mut approval = OutputFile::create(&args.out).bad_input()?;
    let mut sig = OutputFile::create(&signature_out).bad_input()?;
    std::io::Write::write_all(approval.writer(), text.as_bytes()).internal()?;
    std::io::Write::write_all(sig.writer(), signature.as_bytes()).internal()?;
    approval.commit().internal()?;
    sig.commit().internal()?;
    Ok(format!(
        "{} approved {} plugin{} with key {}; signature {}\n",
        args.out.display(),
        file.plugins.len(),
        if file.plugins.len() == 1 { "" } else { "s" },
        key.id,
        signature_out.display()
    ))
}

/// `KIND:NAME@VERSION` (or `KIND:NAME`, the highest version) in the registry.
fn find_plugin<'a>(registry: &'a Registry, text: &str) -> anyhow::Result<&'a RegisteredComponent> {
    let bad = || anyhow!("--plugin {text:?}: expected KIND:NAME@VERSION, e.g. strategy:sma-cross@1.0.0");
    let (kind, rest) = text.split_once(':').ok_or_else(bad)?;
    let kind: Kind = kind.parse().map_err(|e: String| anyhow!("--plugin {text:?}: {e}"))?;
    let (name, version) = match rest.split_once('@') {
        Some((name, version)) => (name, Some(version)),
        None => (rest, None),
    };
    let versions = registry.versions(kind, name).map_err(|e| anyhow!("--plugin {text:?}: {e}"))?;
    match version {
        None => versions.first().ok_or_else(bad),
        Some(version) => versions
            .iter()
            .find(|c| c.version.to_string() == version)
            .ok_or_else(|| anyhow!("--plugin {text:?}: no version {version} (available: {})", list_versions(versions))),
    }
}

fn list_versions(versions: &[RegisteredComponent]) -> String {
    versions.iter().map(|c| c.version.to_string()).collect::<Vec<_>>().join(", ")
}

/// `tradsys verify`: checks an approval's signature and date, and each plugin it lists against
/// the code this binary carries.
///
/// # Errors
/// A signature or date that does not hold, or a listed plugin whose code here differs (exit 2).
pub fn verify(args: &VerifyArgs, registry: &Registry) -> Result<String, Failure> {
    let mut keys = Vec::new();
    for path in &args.trusted {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--trusted {}: cannot read", path.display()))
            .bad_input()?;
        keys.push(PublicKey::from_text(&text).map_err(|e| anyhow!("--trusted {}: {e}", path.display())).bad_input()?);
    }
    let plugins = approval::load(&args.approval, &keys, jiff::Timestamp::now()).bad_input()?;
    let mut out = String::new();
    let mut mismatches = 0;
    let _ = writeln!(out, "{}: signature and date hold; {} plugins listed", args.approval.display(), plugins.len());
    for plugin in &plugins {
        let here = registry
            .versions(plugin.kind, &plugin.name)
            .ok()
            .and_then(|versions| versions.iter().find(|c| c.version == plugin.version).map(|c| c.digest.clone()));
        let status = match here {
            None => "not in this binary".to_owned(),
            Some(Some(digest)) if digest == plugin.digest => "ok: this binary's code is the approved code".to_owned(),
            Some(digest) => {
                mismatches += 1;
                format!("DIFFERS: this binary's code has digest {}", digest.as_deref().unwrap_or("unknown"))
            }
        };
        let _ = writeln!(
            out,
            "  {} {}@{} [{}]: {status}",
            plugin.kind,
            plugin.name,
            plugin.version,
            plugin.capabilities.names()
        );
    }
    if mismatches > 0 {
        print!("{out}");
        return Err(Failure::BadInput(anyhow!(
            "{}: {mismatches} listed plugin{} differ from the code in this binary",
            args.approval.display(),
            if mismatches == 1 { "" } else { "s" }
        )));
    }
    Ok(out)
}
