//! `run`: one session, as `tradsys run` makes it (config layers, checks, plugins, the compiled-in
//! matching enum), with the results kept in memory for Python instead of written to files.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyList;
use tradsys::html_report::{ChartData, HtmlReport};
use tradsys::run::{RunRecord, config_file, start_session, statistics_columns};
use tradsys_core::plugin::Kind;
use tradsys_core::session::SessionReport;
use tradsys_plugin_feed_bars_csv::frame::frame_descriptor;

use crate::collect::Collector;
use crate::columns::Table;
use crate::errors::{InputError, RunError, config_error, failure_to_py};
use crate::frame::{PyColumn, bar_frame};
use crate::waiting::run_interruptibly;

/// The error of a failure that is not bad input.
fn failure_message(failure: tradsys::failure::Failure) -> anyhow::Error {
    match failure {
        tradsys::failure::Failure::BadInput(error) | tradsys::failure::Failure::Internal(error) => error,
        tradsys::failure::Failure::Interrupted(_) | tradsys::failure::Failure::Cancelled(_) => {
            anyhow::anyhow!("interrupted")
        }
    }
}

/// What messages call bars handed over in memory.
const FRAME_NAME: &str = "DataFrame";

/// A finished run: its tables, its report, and what the HTML report and the plot are drawn from.
#[pyclass(frozen, module = "tradsys._native")]
#[derive(Debug)]
pub(crate) struct RunOutput {
    name: String,
    record: RunRecord,
    report: SessionReport,
    charts: ChartData,
    trades: Table,
    equity: Table,
    orders: Table,
    /// Why the run counts as failed, as the CLI would exit: `("input" | "run", message)`.
    failure: Option<(&'static str, String)>,
}

#[pymethods]
impl RunOutput {
    /// The round trips, as columns.
    fn trades<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.trades.to_python(py)
    }

    /// The equity curve, as columns.
    fn equity<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.equity.to_python(py)
    }

    /// The orders, as columns.
    fn orders<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        self.orders.to_python(py)
    }

    /// The report, as `--report` writes it.
    fn report_json(&self) -> PyResult<String> {
        tradsys::run::report_json(Some(&self.record), &self.report)
            .map_err(|error| RunError::new_err(error.to_string()))
    }

    /// `("input" | "run", message)` when the run failed as the CLI would exit 2 or 1.
    fn failure(&self) -> Option<(&'static str, String)> {
        self.failure.clone()
    }

    /// Writes the HTML report (`--report-html`) to `path`.
    fn write_html(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        let columns = statistics_columns(&self.report);
        let page = HtmlReport {
            name: &self.name,
            record: Some(&self.record),
            report: &self.report,
            statistics: &columns,
            charts: &self.charts,
        }
        .render()
        .map_err(|error| RunError::new_err(error.to_string()))?;
        py.detach(|| write_whole(&path, page.as_bytes()))
    }

    /// Draws the equity curve and drawdown (`--plot`) to an `.svg` or `.png` file.
    fn write_plot(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| {
            let temporary = temporary_sibling(&path);
            tradsys::plot::equity_and_drawdown(
                &temporary,
                &self.name,
                &self.report.curve,
                &self.report.strategy_curves,
            )
            .map_err(|error| InputError::new_err(format!("{}: {error:#}", path.display())))?;
            std::fs::rename(&temporary, &path)
                .map_err(|error| InputError::new_err(format!("{}: {error}", path.display())))
        })
    }
}

/// A file's whole contents, or nothing: written beside it, then renamed over it.
fn write_whole(path: &std::path::Path, contents: &[u8]) -> PyResult<()> {
    let temporary = temporary_sibling(path);
    std::fs::write(&temporary, contents).and_then(|()| std::fs::rename(&temporary, path)).map_err(|error| {
        let _ = std::fs::remove_file(&temporary);
        InputError::new_err(format!("{}: {error}", path.display()))
    })
}

fn temporary_sibling(path: &std::path::Path) -> PathBuf {
    let name = path.file_name().map_or_else(|| "output".into(), |name| name.to_string_lossy().into_owned());
    let extension = path.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.partial{extension}", std::process::id()))
}

/// Runs the config at `config` (the embedded default when `None`) with `overrides` (`key=value`,
/// as `--set`), reading `frame` (a DataFrame's columns) instead of the feed's file when given.
///
/// # Errors
/// `ConfigError`, `InputError`, `RunError` or `KeyboardInterrupt`, as the CLI exits 2, 1 or 130;
/// a run that ended with failed components is returned, with its failure, for the caller to raise.
#[pyfunction]
#[pyo3(signature = (config = None, overrides = Vec::new(), frame = None))]
pub(crate) fn run(
    py: Python<'_>,
    config: Option<PathBuf>,
    mut overrides: Vec<String>,
    frame: Option<Vec<PyColumn<'_>>>,
) -> PyResult<RunOutput> {
    let registry = tradsys::registry().map_err(failure_to_py)?;
    let (file, name) = config_file(config.as_deref());
    let frame = frame.map(|columns| bar_frame(FRAME_NAME, &columns)).transpose()?;
    if frame.is_some() {
        // The frame stands for a bars-csv feed's file: its other parameters still apply.
        overrides.push("feed.plugin=\"bars-csv\"".to_owned());
        overrides.push(format!("feed.params.path={FRAME_NAME:?}"));
    }
    let mut checked =
        tradsys::configure::load_checked(&file, &overrides, &registry).map_err(|errors| config_error(py, &errors))?;
    if let Some(frame) = frame {
        let frame = Arc::new(frame);
        for component in checked.plan.components.iter_mut().filter(|c| c.request.kind == Kind::Feed) {
            component.registered.descriptor = frame_descriptor(&component.registered.descriptor, Arc::clone(&frame));
        }
    }
    let record = RunRecord::new(&name, &checked);
    let tolerate_failures = checked.config.session.tolerate_failures;
    // Components are built and started here, with the GIL held: a Python strategy's `init` runs now.
    let session = start_session(&checked, &registry).map_err(failure_to_py)?;
    let (outcome, mut collector) = run_interruptibly(py, move |stop| {
        let mut collector = Collector::default();
        let outcome = session.run_until(stop.flag(), &mut collector);
        (outcome, collector)
    })?;
    let report = outcome.report;
    let failure = tradsys::run::failure_of(outcome.error, &report, tolerate_failures).map(|failure| match failure {
        tradsys::failure::Failure::BadInput(error) => ("input", format!("{error:#}")),
        other => ("run", format!("{:#}", failure_message(other))),
    });
    Ok(RunOutput {
        name,
        record,
        trades: collector.trades(),
        equity: collector.equity(),
        orders: collector.orders(),
        charts: std::mem::take(&mut collector.charts),
        report,
        failure,
    })
}
