//! `sweep`: `tradsys sweep` with the arguments the Python half builds, its results written to a
//! CSV file the Python half reads back as a DataFrame (the same columns, by the same writer, whole
//! or absent), stopped by Ctrl-C after the runs in flight.

use pyo3::prelude::*;

use crate::errors::failure_to_py;
use crate::waiting::run_interruptibly;

/// Runs `tradsys sweep ARGS...`; returns its summary table.
///
/// # Errors
/// As the CLI: `InputError` (exit 2), `RunError` (exit 1), `KeyboardInterrupt` (nothing written).
#[pyfunction]
pub(crate) fn sweep(py: Python<'_>, args: Vec<String>) -> PyResult<String> {
    let mut argv: Vec<&str> = vec!["sweep"];
    argv.extend(args.iter().map(String::as_str));
    let tradsys::cli::Command::Sweep(args) = crate::cli(&argv)? else { unreachable!("parsed as the sweep command") };
    let registry = tradsys::registry().map_err(failure_to_py)?;
    run_interruptibly(py, move |stop| tradsys::sweep::sweep_until(&args, &registry, stop))?.map_err(failure_to_py)
}
