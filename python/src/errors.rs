//! The exceptions the package raises, and how a command's failure becomes one: bad input (a
//! config, a data file, a DataFrame, a component's refusal) is `InputError` (`ConfigError` for
//! the config itself, with every error found), a failure inside tradsys or a component is
//! `RunError`, a Ctrl-C is `KeyboardInterrupt`: the CLI's exit codes 2, 1 and 130.

use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tradsys::failure::Failure;

pyo3::create_exception!(
    tradsys,
    InputError,
    PyValueError,
    "Bad input: a data file, a DataFrame, a grid, or a component that refused its parameters (the CLI's exit 2)."
);
pyo3::create_exception!(
    tradsys,
    ConfigError,
    InputError,
    "A config that does not check; `errors` lists each problem as a dict of source, key and message."
);
pyo3::create_exception!(
    tradsys,
    RunError,
    PyRuntimeError,
    "A failure inside tradsys or one of its components during a run (the CLI's exit 1)."
);

/// A command's failure as the exception Python sees.
pub(crate) fn failure_to_py(failure: Failure) -> PyErr {
    match failure {
        Failure::BadInput(error) => InputError::new_err(format!("{error:#}")),
        Failure::Internal(error) => RunError::new_err(format!("{error:#}")),
        Failure::Interrupted(_) | Failure::Cancelled(_) => {
            PyKeyboardInterrupt::new_err("stopped by Ctrl-C between two events")
        }
    }
}

/// Config errors as a `ConfigError` whose `errors` holds each one.
pub(crate) fn config_error(py: Python<'_>, errors: &[tradsys_core::config::ConfigError]) -> PyErr {
    let text = match tradsys::configure::config_failure(errors) {
        Failure::BadInput(error) => format!("{error:#}"),
        other => format!("{other:?}"),
    };
    let exception = ConfigError::new_err(text);
    let listed: PyResult<Vec<Bound<'_, PyDict>>> = errors
        .iter()
        .map(|error| {
            let dict = PyDict::new(py);
            dict.set_item("source", &error.source)?;
            dict.set_item("key", &error.key)?;
            dict.set_item("message", &error.message)?;
            Ok(dict)
        })
        .collect();
    match listed.and_then(|listed| exception.value(py).setattr("errors", listed)) {
        Ok(()) => exception,
        Err(error) => error,
    }
}
