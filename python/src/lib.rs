//! `tradsys._native`: the native half of the `tradsys` Python package (python/tradsys wraps it).
//!
//! It runs the same sessions and sweeps as the `tradsys` binary, through the same library
//! functions (config layers, checks, plugins, outputs), and hands results to Python as columns
//! that the Python half turns into DataFrames without a copy per value. The GIL is released while
//! a session or sweep runs; the calling thread waits for it and checks for Ctrl-C, which stops
//! the run between two events.
//!
//! Python strategies (plugin `python`) run here too: the interpreter is the one that imported
//! this module, and the session thread takes the GIL for each of their callbacks.

#![deny(unsafe_code)]

mod collect;
mod columns;
mod errors;
mod frame;
mod session;
mod sweep;
mod waiting;

use pyo3::prelude::*;

use crate::errors::{ConfigError, InputError, RunError, failure_to_py};

/// The plugins compiled into this package, as `tradsys plugins --format json` lists them.
#[pyfunction]
fn plugins_json() -> PyResult<String> {
    let registry = tradsys::registry().map_err(failure_to_py)?;
    match cli(&["plugins", "--format", "json"])? {
        tradsys::cli::Command::Plugins(args) => tradsys::listing::list(&args, &registry).map_err(failure_to_py),
        _ => unreachable!("parsed as the plugins command"),
    }
}

/// The JSON Schema of config files, as `tradsys config schema --format json-schema` writes it.
#[pyfunction]
fn config_schema_json() -> PyResult<String> {
    let registry = tradsys::registry().map_err(failure_to_py)?;
    match cli(&["config", "schema", "--format", "json-schema"])? {
        tradsys::cli::Command::Config(tradsys::cli::ConfigCommand::Schema(args)) => {
            tradsys::reference::schema(&args, &registry).map_err(failure_to_py)
        }
        _ => unreachable!("parsed as the config schema command"),
    }
}

/// The version line, as `tradsys --version` prints it.
#[pyfunction]
fn version_text() -> String {
    tradsys::version_text()
}

/// `tradsys ARGS...` parsed as the binary parses it; a refusal is `InputError` with clap's message.
pub(crate) fn cli(args: &[&str]) -> PyResult<tradsys::cli::Command> {
    use clap::Parser;
    let parsed = tradsys::cli::Cli::try_parse_from(std::iter::once("tradsys").chain(args.iter().copied()))
        .map_err(|error| InputError::new_err(error.render().to_string().trim_end().to_owned()))?;
    parsed.command.ok_or_else(|| InputError::new_err("no command"))
}

/// The module.
#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add("ConfigError", py.get_type::<ConfigError>())?;
    module.add("InputError", py.get_type::<InputError>())?;
    module.add("RunError", py.get_type::<RunError>())?;
    module.add_class::<session::RunOutput>()?;
    module.add_function(wrap_pyfunction!(session::run, module)?)?;
    module.add_function(wrap_pyfunction!(sweep::sweep, module)?)?;
    module.add_function(wrap_pyfunction!(plugins_json, module)?)?;
    module.add_function(wrap_pyfunction!(config_schema_json, module)?)?;
    module.add_function(wrap_pyfunction!(version_text, module)?)?;
    Ok(())
}
