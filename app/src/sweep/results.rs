//! A sweep's results: one row per run (its parameter values, every statistic, and the error that
//! ended it early, if one did), written to CSV or Parquet as the runs finish, in run order.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use tradsys_core::session::statistics::Statistics;

use crate::output::OutputFile;

/// The statistics' column names, in backtesting.py's order.
#[must_use]
pub(crate) fn figure_names() -> Vec<&'static str> {
    zero_statistics().figures().iter().map(|(name, _)| *name).collect()
}

/// Statistics of nothing, for their names.
fn zero_statistics() -> Statistics {
    use tradsys_core::session::stats::EquityStats;
    use tradsys_core::session::trade_stats::TradeStats;
    let equity = EquityStats::new(tradsys_core::types::Money::from_raw(1));
    Statistics::new(&equity, &TradeStats::default(), None, 252.0)
}

/// The strategies that get columns of their own: every strategy of a config with two or more
/// (with one, its figures are the total's). Their columns follow the total's, a strategy at a
/// time, named `ID.STAT` (`trend.return_pct`).
#[must_use]
pub(crate) fn strategy_columns(config: &tradsys_core::config::Config) -> Vec<String> {
    if config.strategies.len() < 2 { Vec::new() } else { config.strategies.keys().cloned().collect() }
}

/// The per-strategy column names for `strategies`, in file order.
fn strategy_figure_names(strategies: &[String]) -> Vec<String> {
    strategies.iter().flat_map(|id| figure_names().into_iter().map(move |name| format!("{id}.{name}"))).collect()
}

/// What one run gave: its statistics (total over its strategies, then each strategy's when the
/// sweep has [`strategy_columns`]), or why it ended early.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RunResult {
    /// Each statistic of the total under its name, `None` where undefined.
    pub figures: Vec<(&'static str, Option<f64>)>,
    /// Each strategy's statistics, in the order of the sweep's strategy columns: its id and its
    /// figures in the total's order (all `None` for a strategy the run did not report).
    pub strategies: Vec<(String, Vec<Option<f64>>)>,
    /// Why the run ended early or had a failed component (its figures cover what it did).
    pub error: Option<String>,
}

impl RunResult {
    /// A run's result from its report: the total's statistics, and those of each of `strategies`.
    #[must_use]
    pub(crate) fn new(
        report: &tradsys_core::session::SessionReport,
        strategies: &[String],
        error: Option<String>,
    ) -> RunResult {
        let per_strategy = strategies
            .iter()
            .map(|id| {
                let figures = match report.strategies.iter().find(|s| s.id == *id) {
                    Some(strategy) => strategy.statistics.figures().iter().map(|(_, value)| *value).collect(),
                    None => vec![None; figure_names().len()],
                };
                (id.clone(), figures)
            })
            .collect();
        RunResult { figures: report.total.statistics.figures().to_vec(), strategies: per_strategy, error }
    }

    /// The result of a run that could not be made, for `error`: every figure undefined.
    #[must_use]
    pub(crate) fn failed(error: String, strategies: &[String]) -> RunResult {
        let figures = figure_names().into_iter().map(|name| (name, None)).collect();
        let per_strategy = strategies.iter().map(|id| (id.clone(), vec![None; figure_names().len()])).collect();
        RunResult { figures, strategies: per_strategy, error: Some(error) }
    }

    /// The value of statistic `name` (`STAT` for the total, `ID.STAT` for a strategy's), if
    /// defined.
    #[must_use]
    pub(crate) fn figure(&self, name: &str) -> Option<f64> {
        if let Some(found) = self.figures.iter().find(|(n, _)| *n == name) {
            return found.1;
        }
        let (id, stat) = name.split_once('.')?;
        let at = figure_names().iter().position(|n| *n == stat)?;
        self.strategies.iter().find(|(s, _)| s == id).and_then(|(_, figures)| figures.get(at).copied().flatten())
    }

    /// Every figure in column order: the total's, then each strategy's.
    fn values(&self) -> impl Iterator<Item = Option<f64>> + '_ {
        self.figures.iter().map(|(_, value)| *value).chain(self.strategies.iter().flat_map(|(_, f)| f.iter().copied()))
    }
}

/// Where the rows go.
pub(crate) enum ResultsFile {
    /// Comma-separated values, one line per row.
    Csv(OutputFile),
    /// Apache Parquet, one row group per `PARQUET_ROWS` rows.
    #[cfg(feature = "parquet")]
    Parquet(Box<parquet_rows::ParquetRows>),
}

impl std::fmt::Debug for ResultsFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResultsFile::Csv(_) => f.write_str("ResultsFile::Csv"),
            #[cfg(feature = "parquet")]
            ResultsFile::Parquet(_) => f.write_str("ResultsFile::Parquet"),
        }
    }
}

/// Rows per Parquet row group: memory stays bounded however many runs a sweep has.
#[cfg(feature = "parquet")]
pub(crate) const PARQUET_ROWS: usize = 4096;

impl ResultsFile {
    /// Opens `path` (`.csv`, or `.parquet` in a binary built with the `parquet` feature) for
    /// rows with these leading `columns` (the run and its parameters) before the statistics, and
    /// after the total's, each of `strategies`' (see [`strategy_columns`]).
    ///
    /// # Errors
    /// Another extension, or the file cannot be created.
    pub(crate) fn create(path: &Path, columns: &[String], strategies: &[String]) -> Result<ResultsFile> {
        let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("csv") => {
                let mut file = OutputFile::create(path)?;
                let per_strategy = strategy_figure_names(strategies);
                let mut header: Vec<&str> = columns.iter().map(String::as_str).collect();
                header.extend(figure_names());
                header.extend(per_strategy.iter().map(String::as_str));
                header.push("error");
                let header: Vec<String> = header.iter().map(|c| csv_field(c)).collect();
                writeln!(file.writer(), "{}", header.join(","))?;
                Ok(ResultsFile::Csv(file))
            }
            #[cfg(feature = "parquet")]
            Some("parquet") => {
                Ok(ResultsFile::Parquet(Box::new(parquet_rows::ParquetRows::create(path, columns, strategies)?)))
            }
            #[cfg(not(feature = "parquet"))]
            Some("parquet") => {
                bail!(
                    "{}: this binary was built without Parquet support (feature `parquet`); write .csv",
                    path.display()
                )
            }
            _ => bail!("{}: expected a .csv or .parquet file", path.display()),
        }
    }

    /// Appends one row: the leading values (as text), then the run's figures and error.
    ///
    /// # Errors
    /// A write failure.
    pub(crate) fn write(&mut self, leading: &[String], result: &RunResult) -> Result<()> {
        match self {
            ResultsFile::Csv(file) => {
                let mut line = String::new();
                for value in leading {
                    let _ = write!(line, "{},", csv_field(value));
                }
                for value in result.values() {
                    if let Some(value) = value {
                        let _ = write!(line, "{value}");
                    }
                    line.push(',');
                }
                line.push_str(&csv_field(result.error.as_deref().unwrap_or("")));
                writeln!(file.writer(), "{line}").context("writing the results")
            }
            #[cfg(feature = "parquet")]
            ResultsFile::Parquet(rows) => rows.write(leading, result),
        }
    }

    /// Writes what is buffered and puts the file in place.
    ///
    /// # Errors
    /// A write, sync or rename failure.
    pub(crate) fn commit(self) -> Result<()> {
        match self {
            ResultsFile::Csv(file) => file.commit(),
            #[cfg(feature = "parquet")]
            ResultsFile::Parquet(rows) => rows.commit(),
        }
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}

#[cfg(feature = "parquet")]
mod parquet_rows {
    //! Parquet rows: the leading columns as text, every statistic as a nullable float, the error
    //! as nullable text.

    use std::fs::File;
    use std::path::Path;
    use std::sync::Arc;

    use anyhow::{Context, Result};
    use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    use super::{PARQUET_ROWS, RunResult, figure_names, strategy_figure_names};
    use crate::output::OutputFile;

    /// A Parquet results file being written: rows are buffered by column and written a row group
    /// at a time, to the output's temporary file.
    pub(crate) struct ParquetRows {
        output: OutputFile,
        writer: ArrowWriter<File>,
        schema: Arc<Schema>,
        leading: Vec<Vec<String>>,
        figures: Vec<Vec<Option<f64>>>,
        errors: Vec<Option<String>>,
    }

    impl ParquetRows {
        pub(crate) fn create(path: &Path, columns: &[String], strategies: &[String]) -> Result<ParquetRows> {
            let output = OutputFile::create(path)?;
            let temporary = output.temporary_path().context("Parquet results cannot go to standard output")?;
            let file = File::create(temporary).with_context(|| format!("cannot create {}", path.display()))?;
            let mut fields: Vec<Field> = columns.iter().map(|c| Field::new(c, DataType::Utf8, false)).collect();
            let per_strategy = strategy_figure_names(strategies);
            fields.extend(figure_names().into_iter().map(|name| Field::new(name, DataType::Float64, true)));
            fields.extend(per_strategy.iter().map(|name| Field::new(name, DataType::Float64, true)));
            fields.push(Field::new("error", DataType::Utf8, true));
            let schema = Arc::new(Schema::new(fields));
            let properties = WriterProperties::builder().set_max_row_group_row_count(Some(PARQUET_ROWS)).build();
            let writer = ArrowWriter::try_new(file, Arc::clone(&schema), Some(properties))?;
            let figures = figure_names().len() + per_strategy.len();
            Ok(ParquetRows {
                output,
                writer,
                schema,
                leading: vec![Vec::new(); columns.len()],
                figures: vec![Vec::new(); figures],
                errors: Vec::new(),
            })
        }

        pub(crate) fn write(&mut self, leading: &[String], result: &RunResult) -> Result<()> {
            for (column, value) in self.leading.iter_mut().zip(leading) {
                column.push(value.clone());
            }
            for (column, value) in self.figures.iter_mut().zip(result.values()) {
                column.push(value);
            }
            self.errors.push(result.error.clone());
            if self.errors.len() >= PARQUET_ROWS {
                self.flush()?;
            }
            Ok(())
        }

        fn flush(&mut self) -> Result<()> {
            if self.errors.is_empty() {
                return Ok(());
            }
            let mut columns: Vec<ArrayRef> = Vec::new();
            for column in &mut self.leading {
                columns.push(Arc::new(StringArray::from(std::mem::take(column))));
            }
            for column in &mut self.figures {
                columns.push(Arc::new(Float64Array::from(std::mem::take(column))));
            }
            columns.push(Arc::new(StringArray::from(std::mem::take(&mut self.errors))));
            let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns)?;
            self.writer.write(&batch).context("writing the results")?;
            Ok(())
        }

        pub(crate) fn commit(mut self) -> Result<()> {
            self.flush()?;
            self.writer.close().context("writing the results")?;
            self.output.commit()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_statistic_has_a_column_and_fields_are_quoted_when_needed() {
        let names = figure_names();
        assert_eq!(names.len(), 30);
        assert_eq!((names[0], names[5], names[29]), ("duration_days", "return_pct", "kelly_criterion"));
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
    }

    #[test]
    fn a_strategy_figure_is_found_by_id_and_name() {
        let names = figure_names();
        let mut trend = vec![None; names.len()];
        trend[names.iter().position(|n| *n == "return_pct").unwrap()] = Some(4.0);
        let result = RunResult {
            figures: vec![("return_pct", Some(1.5))],
            strategies: vec![("trend".to_owned(), trend), ("mm".to_owned(), vec![None; names.len()])],
            error: None,
        };
        assert_eq!(result.figure("return_pct"), Some(1.5));
        assert_eq!(result.figure("trend.return_pct"), Some(4.0));
        assert_eq!((result.figure("mm.return_pct"), result.figure("nope.return_pct")), (None, None));
        assert_eq!(strategy_figure_names(&["a".to_owned()])[5], "a.return_pct");
    }
}
