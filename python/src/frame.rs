//! A DataFrame's columns, as the Python half hands them over, made into the Arrow batches the
//! `bars-csv` feed reads in place of a file (`tradsys_plugin_feed_bars_csv::frame`): the columns
//! keep their names, so the same names are recognized as in a CSV header or a Parquet file.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampNanosecondArray};
use arrow_schema::{Field, Schema};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use tradsys_plugin_feed_bars_csv::frame::BarFrame;

use crate::errors::InputError;

/// Rows per batch: the feed decodes a batch at a time, so memory beyond the columns stays bounded.
const BATCH_ROWS: usize = 8_192;

/// One column from Python: its name, its kind (`float`, `int`, `time`: little-endian bytes;
/// `text`: a list of `str` or `None`) and its data.
pub(crate) type PyColumn<'py> = (String, String, Bound<'py, PyAny>);

/// The frame of `columns`, named `name` in messages.
///
/// # Errors
/// An unknown kind, data that is not what its kind says, or columns of different lengths.
pub(crate) fn bar_frame(name: &str, columns: &[PyColumn<'_>]) -> PyResult<BarFrame> {
    let mut fields = Vec::with_capacity(columns.len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len());
    for (column, kind, data) in columns {
        let array: ArrayRef = match kind.as_str() {
            "float" => Arc::new(Float64Array::from(words(column, data)?.map(f64::from_le_bytes).collect::<Vec<_>>())),
            "int" => Arc::new(Int64Array::from(words(column, data)?.map(i64::from_le_bytes).collect::<Vec<_>>())),
            "time" => Arc::new(
                TimestampNanosecondArray::from(words(column, data)?.map(i64::from_le_bytes).collect::<Vec<_>>())
                    .with_timezone("UTC"),
            ),
            "text" => {
                let values: Vec<Option<String>> = data
                    .extract()
                    .map_err(|_| InputError::new_err(format!("{name}: column {column:?}: expected text values")))?;
                Arc::new(StringArray::from(values))
            }
            other => return Err(InputError::new_err(format!("{name}: column {column:?}: unknown kind {other:?}"))),
        };
        if let Some(first) = arrays.first()
            && first.len() != array.len()
        {
            return Err(InputError::new_err(format!(
                "{name}: column {column:?} has {} rows, the first column {}",
                array.len(),
                first.len()
            )));
        }
        fields.push(Field::new(column.as_str(), array.data_type().clone(), true));
        arrays.push(array);
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)
        .map_err(|error| InputError::new_err(format!("{name}: {error}")))?;
    let rows = batch.num_rows();
    let batches = (0..rows).step_by(BATCH_ROWS).map(|at| batch.slice(at, BATCH_ROWS.min(rows - at))).collect();
    Ok(BarFrame::new(name, batches))
}

/// The 8-byte words of a bytes column.
fn words<'a>(column: &str, data: &'a Bound<'_, PyAny>) -> PyResult<impl Iterator<Item = [u8; 8]> + 'a> {
    let bytes = data
        .cast::<PyBytes>()
        .map_err(|_| InputError::new_err(format!("column {column:?}: expected bytes")))?
        .as_bytes();
    if bytes.len() % 8 != 0 {
        return Err(InputError::new_err(format!(
            "column {column:?}: {} bytes is not a whole number of values",
            bytes.len()
        )));
    }
    Ok(bytes.chunks_exact(8).map(|word| <[u8; 8]>::try_from(word).unwrap_or_default()))
}
