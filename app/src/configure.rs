//! `tradsys config check` and `config show`, and loading a config for `run`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::anyhow;
use tradsys_core::config::{Config, ConfigError, ConfigFile, ConfigLoader, Environment, render_value};
use tradsys_core::factory::{Plan, check_builds, plan, plan_with};
use tradsys_core::registry::Registry;
use tradsys_core::session::{SessionError, SetupError, check_setup};

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
    /// The registry it was planned against: the binary's plugins and the modules of its
    /// `security.plugin_dir`.
    pub registry: Registry,
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
    let registry = crate::modules::registry_for(&config, &loader, registry)?;
    let admission = crate::trust::admission(&config, &loader)?;
    check_planned(loader, config, registry, &*admission)
}

/// Plans and checks a config against a registry and admission already settled (a sweep's runs
/// share its base config's): everything [`check_loader`] checks but the modules and approvals.
///
/// # Errors
/// Every problem found, each naming its source and key.
pub fn check_planned(
    loader: ConfigLoader,
    config: Config,
    registry: Registry,
    admission: &dyn tradsys_core::trust::Admission,
) -> Result<CheckedConfig, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let planned = match plan_with(&registry, &config, Some(&loader), admission) {
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
        Some(plan) if errors.is_empty() => Ok(CheckedConfig { loader, config, plan, registry }),
        _ => Err(errors),
    }
}

/// Loads and checks a host's config (`tradsys host`): its modules, approvals, plan and builds,
/// as [`load_checked`] does, but not a session of its own (it needs no feed). Returns the plan.
///
/// # Errors
/// Every problem found, each naming its source and key.
pub fn load_hosted(file: &ConfigFile, overrides: &[String], registry: &Registry) -> Result<Plan, Vec<ConfigError>> {
    let loader = ConfigLoader::load(file, &Environment::Process, overrides)?;
    let config = loader.extract()?;
    let registry = crate::modules::registry_for(&config, &loader, registry)?;
    let admission = crate::trust::admission(&config, &loader)?;
    let plan = tradsys_core::factory::plan_hosted(&registry, &config, Some(&loader), &*admission)?;
    let errors = check_builds(&plan, Some(&loader));
    if errors.is_empty() { Ok(plan) } else { Err(errors) }
}

/// A session that could not start, as the failure to exit with (bad input unless a component
/// panicked or broke the plugin contract). The message names the config source and key of the
/// component or instrument at fault, as config errors do.
#[must_use]
pub fn setup_failure(error: SessionError, checked: &CheckedConfig) -> Failure {
    let internal = error.is_internal();
    let key = match &error {
        SessionError::Lifecycle(failure) => checked
            .plan
            .components
            .iter()
            .find(|c| c.request.component_id() == failure.component)
            .map(|c| c.request.key.clone()),
        SessionError::Setup(SetupError::BadInstrument { symbol, .. }) => Some(format!("instruments.{symbol}")),
        SessionError::Setup(SetupError::NoBarSource(_)) => Some("session.bar_source".to_owned()),
        _ => None,
    };
    let error = match key {
        Some(key) => anyhow::Error::new(error).context(format!("{}: key {key}", checked.loader.source_of(&key))),
        None => anyhow::Error::new(error),
    };
    if internal { Failure::Internal(error) } else { Failure::BadInput(error) }
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
    check_setup(&checked.config, &checked.plan).map_err(|error| setup_failure(error, &checked))?;
    let components: Vec<String> = checked
        .plan
        .components
        .iter()
        .map(|c| format!("{} {} = {}", c.request.kind, c.request.id, c.registered.descriptor.label()))
        .collect();
    Ok(format!("{}: ok\n  {}\n", path.display(), components.join("\n  ")))
}

/// Every leaf value of the merged config with its source, as `config show` lists them, in key
/// order: the layers' values, each planned component's parameters that the config leaves to
/// the plugin (with the plugin's default), and each declared instrument's tick and lot size.
///
/// # Errors
/// The merged config does not form a table.
pub fn effective_with_defaults(
    loader: &ConfigLoader,
    config: Option<&Config>,
    plan: Option<&Plan>,
) -> Result<Vec<(String, String, String)>, Vec<ConfigError>> {
    let mut rows = loader.effective()?;
    for planned in plan.iter().flat_map(|plan| &plan.components) {
        let defaults = planned.registered.descriptor.defaults().unwrap_or_default();
        for (name, value) in defaults {
            let key = format!("{}.params.{name}", planned.request.key);
            if !rows.iter().any(|(k, _, _)| *k == key || k.starts_with(&format!("{key}."))) {
                let source = format!("default of {}", planned.registered.descriptor.label());
                rows.push((key, render_value(&value), source));
            }
        }
    }
    for (symbol, spec) in config.iter().flat_map(|config| &config.instruments) {
        for (field, value) in
            [("tick", format!("{:?}", spec.tick.to_string())), ("lot_size", spec.lot_size.to_string())]
        {
            let key = format!("instruments.{symbol}.{field}");
            if !rows.iter().any(|(k, _, _)| *k == key) {
                rows.push((key, value, "built-in default".to_owned()));
            }
        }
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(rows)
}

/// `config show FILE`: the effective merged config with each value's source; input file paths as
/// resolved against the config file's directory (when the config plans).
///
/// # Errors
/// An unreadable or malformed config, as bad input.
pub fn show(path: &Path, overrides: &[String], registry: &Registry) -> Result<String, Failure> {
    let loader = ConfigLoader::load(&ConfigFile::Path(path.to_path_buf()), &Environment::Process, overrides)
        .map_err(|e| config_failure(&e))?;
    let config = loader.extract().ok();
    let resolved = config.as_ref().and_then(|config| plan(registry, config, Some(&loader)).ok());
    let mut rows =
        effective_with_defaults(&loader, config.as_ref(), resolved.as_ref()).map_err(|e| config_failure(&e))?;
    for (key, file) in resolved.iter().flat_map(Plan::input_files) {
        if let Some(row) = rows.iter_mut().find(|(k, _, _)| *k == key) {
            let shown = format!("{:?}", file.display().to_string());
            if row.1 != shown {
                row.2 = format!("{} (resolved from {})", row.2, row.1);
                row.1 = shown;
            }
        }
    }
    let width = rows.iter().map(|(k, v, _)| k.len() + v.len() + 3).max().unwrap_or(0);
    let mut out = String::new();
    for (key, value, source) in rows {
        let assignment = format!("{key} = {value}");
        let _ = writeln!(out, "{assignment:<width$}  # {source}");
    }
    Ok(out)
}
