//! `tradsys config check` and `config show`, and loading a config for `run`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::anyhow;
use tradsys_core::config::{Config, ConfigError, ConfigFile, ConfigLoader, Environment};
use tradsys_core::factory::{Plan, check_builds, plan};
use tradsys_core::registry::Registry;

use crate::failure::Failure;

/// A config that passed every check, ready to run.
#[derive(Debug)]
pub struct CheckedConfig {
    /// The merged layers (to name sources).
    pub loader: ConfigLoader,
    /// The config.
    pub config: Config,
    /// The resolved components.
    pub plan: Plan,
}

/// Loads and checks a config whole; returns every error found.
///
/// # Errors
/// Every problem found, each naming its source and key.
pub fn load_checked(
    file: &ConfigFile,
    overrides: &[String],
    registry: &Registry,
) -> Result<CheckedConfig, Vec<ConfigError>> {
    check_loader(ConfigLoader::load(file, &Environment::Process, overrides)?, registry)
}

/// Checks merged config layers whole, as `config check` does; returns every error found.
///
/// # Errors
/// Every problem found, each naming its source and key.
pub fn check_loader(loader: ConfigLoader, registry: &Registry) -> Result<CheckedConfig, Vec<ConfigError>> {
    let config = loader.extract()?;
    let mut errors = Vec::new();
    let planned = match plan(registry, &config, Some(&loader)) {
        Ok(planned) => Some(planned),
        Err(found) => {
            errors.extend(found);
            None
        }
    };
    if let Some(planned) = &planned {
        errors.extend(check_builds(planned, Some(&loader)));
        errors.extend(crate::run::check_session(&config, planned, &loader));
    }
    match planned {
        Some(plan) if errors.is_empty() => Ok(CheckedConfig { loader, config, plan }),
        _ => Err(errors),
    }
}

/// Renders a list of config errors as one failure (exit 2).
#[must_use]
pub fn config_failure(errors: &[ConfigError]) -> Failure {
    let mut text = String::new();
    for error in errors {
        let _ = writeln!(text, "{error}");
    }
    let _ = write!(text, "{} error{} in the configuration", errors.len(), if errors.len() == 1 { "" } else { "s" });
    Failure::BadInput(anyhow!(text))
}

/// `config check FILE`: validates the config whole.
///
/// # Errors
/// Every problem, as bad input.
pub fn check(path: &Path, overrides: &[String], registry: &Registry) -> Result<String, Failure> {
    let checked =
        load_checked(&ConfigFile::Path(path.to_path_buf()), overrides, registry).map_err(|e| config_failure(&e))?;
    let components: Vec<String> = checked
        .plan
        .components
        .iter()
        .map(|c| format!("{} {} = {}", c.request.kind, c.request.id, c.registered.descriptor.label()))
        .collect();
    Ok(format!("{}: ok\n  {}\n", path.display(), components.join("\n  ")))
}

/// `config show FILE`: the effective merged config with each value's source.
///
/// # Errors
/// An unreadable or malformed config, as bad input.
pub fn show(path: &Path, overrides: &[String]) -> Result<String, Failure> {
    let loader = ConfigLoader::load(&ConfigFile::Path(path.to_path_buf()), &Environment::Process, overrides)
        .map_err(|e| config_failure(&e))?;
    let rows = loader.effective().map_err(|e| config_failure(&e))?;
    let width = rows.iter().map(|(k, v, _)| k.len() + v.len() + 3).max().unwrap_or(0);
    let mut out = String::new();
    for (key, value, source) in rows {
        let assignment = format!("{key} = {value}");
        let _ = writeln!(out, "{assignment:<width$}  # {source}");
    }
    Ok(out)
}
