//! Bars from a Parquet file (the `parquet` feature): the same columns, found by the same names,
//! decoded a row group at a time into Arrow arrays, and only the columns a bar needs.
//!
//! Types as pandas, polars, pyarrow and Spark write them: times as timestamps of any unit (time
//! zone or not: Arrow stores the instant in UTC), dates, epoch integers (unit as for CSV) or text;
//! prices as floats (rounded to 8 decimals, like a CSV's printed floats), decimals (exact),
//! integers or text; volume as any number. A null is a bad row, reported with its row number.

use std::fs::File;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type,
    UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tradsys_core::limits::timestamp_range;
use tradsys_core::types::{InstrumentId, PRICE_DECIMALS, Price, Timestamp, div_round};

use crate::columns::Layout;
use crate::timestamp::{TimestampReader, out_of_range};
use crate::{BarPrices, Row, parse_price, volume_of};

/// Rows decoded at a time.
const BATCH_ROWS: usize = 8_192;

/// The rows of a Parquet file, in file order, numbered from 1.
pub(crate) struct ParquetRows {
    /// The decoded batches: a file's row groups, or a frame's batches.
    reader: Box<dyn Iterator<Item = Result<RecordBatch, arrow_schema::ArrowError>> + Send>,
    /// Where each field sits in a decoded batch (the projection keeps file order).
    layout: Layout,
    timestamps: TimestampReader,
    instrument: InstrumentId,
    /// The current batch, decoded column by column.
    batch: Batch,
    /// The next row of the batch to serve.
    next: usize,
    /// The number of the batch's first row in the file.
    first_row: u64,
}

/// One decoded batch: a vector per field (a row with a problem holds a placeholder there) and
/// the rows that cannot be bars, each with its first problem, in row order.
#[derive(Debug, Default)]
struct Batch {
    rows: usize,
    times: Vec<Timestamp>,
    open: Vec<Price>,
    high: Vec<Price>,
    low: Vec<Price>,
    close: Vec<Price>,
    adjusted: Option<Vec<Price>>,
    volumes: Option<Vec<f64>>,
    problems: Vec<(usize, String)>,
    /// The next entry of `problems` not yet served.
    next_problem: usize,
}

impl std::fmt::Debug for ParquetRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetRows").field("layout", &self.layout).field("first_row", &self.first_row).finish()
    }
}

impl ParquetRows {
    /// Opens `path` and finds its columns: by `columns` (the file's columns in order, renamed) when
    /// given, else by the file's own names.
    ///
    /// # Errors
    /// A file that is not Parquet, lacks a column, or has a column of a type a bar cannot use.
    pub(crate) fn open(
        path: &str,
        columns: &[String],
        adjusted: bool,
        timestamps: TimestampReader,
        instrument: InstrumentId,
    ) -> Result<ParquetRows, String> {
        let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
        let builder =
            ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| format!("not a readable Parquet file: {e}"))?;
        let schema = builder.schema().clone();
        let file_layout = layout_of(&schema, columns, adjusted)?;
        let used = file_layout.used();
        // Decoding only the used columns; in the batch they keep the file's order.
        let mask = ProjectionMask::roots(builder.parquet_schema(), used.iter().copied());
        let position = |at: usize| used.iter().position(|&u| u == at).unwrap_or(0);
        let layout = Layout {
            time: position(file_layout.time),
            open: position(file_layout.open),
            high: position(file_layout.high),
            low: position(file_layout.low),
            close: position(file_layout.close),
            adj_close: file_layout.adj_close.map(position),
            volume: file_layout.volume.map(position),
        };
        let reader = builder
            .with_projection(mask)
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| format!("cannot read: {e}"))?;
        Ok(ParquetRows::over(Box::new(reader), layout, timestamps, instrument))
    }

    /// Rows decoded from `reader`'s batches, laid out as `layout` says.
    fn over(
        reader: Box<dyn Iterator<Item = Result<RecordBatch, arrow_schema::ArrowError>> + Send>,
        layout: Layout,
        timestamps: TimestampReader,
        instrument: InstrumentId,
    ) -> ParquetRows {
        ParquetRows { reader, layout, timestamps, instrument, batch: Batch::default(), next: 0, first_row: 1 }
    }

    /// Rows of batches already in memory (a frame), found by the same names and checked the same
    /// way as a file's; every batch has the first one's schema.
    ///
    /// # Errors
    /// No batch, a batch of another schema, a missing column or one of a type a bar cannot use.
    pub(crate) fn from_batches(
        batches: Vec<RecordBatch>,
        columns: &[String],
        adjusted: bool,
        timestamps: TimestampReader,
        instrument: InstrumentId,
    ) -> Result<ParquetRows, String> {
        let schema = batches.first().ok_or("no rows")?.schema();
        if let Some(other) = batches.iter().position(|batch| batch.schema() != schema) {
            return Err(format!("batch {other} has other columns than the first"));
        }
        let layout = layout_of(&schema, columns, adjusted)?;
        Ok(ParquetRows::over(Box::new(batches.into_iter().map(Ok)), layout, timestamps, instrument))
    }

    /// The next row, `None` at the end of the file.
    ///
    /// # Errors
    /// A row group that cannot be decoded (a corrupt file).
    pub(crate) fn next_row(&mut self) -> Result<Option<Row>, String> {
        while self.next == self.batch.rows {
            let Some(decoded) = self.reader.next() else { return Ok(None) };
            self.first_row += self.batch.rows as u64;
            let decoded = decoded.map_err(|e| format!("rows from {}: cannot decode: {e}", self.first_row))?;
            self.decode(&decoded);
        }
        let at = self.next;
        self.next += 1;
        let number = self.first_row + at as u64;
        let batch = &mut self.batch;
        if let Some((row, _)) = batch.problems.get(batch.next_problem)
            && *row == at
        {
            let problem = std::mem::take(&mut batch.problems[batch.next_problem].1);
            batch.next_problem += 1;
            return Ok(Some((number, Err(problem))));
        }
        let prices = BarPrices {
            open: batch.open[at],
            high: batch.high[at],
            low: batch.low[at],
            close: batch.close[at],
            adjusted_close: batch.adjusted.as_ref().map(|adjusted| adjusted[at]),
        };
        let volume = batch.volumes.as_ref().map_or(0.0, |volumes| volumes[at]);
        Ok(Some((number, prices.bar(batch.times[at], self.instrument, volume))))
    }

    fn decode(&mut self, decoded: &RecordBatch) {
        let layout = self.layout;
        let column = |at: usize| decoded.column(at);
        let batch = &mut self.batch;
        batch.rows = decoded.num_rows();
        batch.next_problem = 0;
        self.next = 0;
        let problems = &mut batch.problems;
        problems.clear();
        times(column(layout.time), &mut self.timestamps, &mut batch.times, problems);
        for (at, name, values) in [
            (layout.open, "open", &mut batch.open),
            (layout.high, "high", &mut batch.high),
            (layout.low, "low", &mut batch.low),
            (layout.close, "close", &mut batch.close),
        ] {
            prices(column(at), name, values, problems);
        }
        match layout.adj_close {
            Some(at) => prices(column(at), "adjusted close", batch.adjusted.get_or_insert_default(), problems),
            None => batch.adjusted = None,
        }
        match layout.volume {
            Some(at) => volumes(column(at), batch.volumes.get_or_insert_default(), problems),
            None => batch.volumes = None,
        }
        // Each row's first problem, in the order of the columns above.
        problems.sort_by_key(|(row, _)| *row);
        problems.dedup_by_key(|(row, _)| *row);
    }
}

/// Finds a bar's columns in `schema`: by `columns` (the columns in order, renamed) when given,
/// else by the schema's own names; checks each used column's type.
fn layout_of(schema: &arrow_schema::Schema, columns: &[String], adjusted: bool) -> Result<Layout, String> {
    let names: Vec<String> = if columns.is_empty() {
        schema.fields().iter().map(|field| field.name().clone()).collect()
    } else {
        columns.to_vec()
    };
    let layout = Layout::from_names(&names, adjusted).map_err(|missing| {
        let shown: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        format!("{missing} (columns: {}); name them with the columns parameter", shown.join(", "))
    })?;
    for at in layout.used() {
        let field = schema.fields().get(at).ok_or_else(|| {
            format!("the columns parameter names {} columns; there are {}", names.len(), schema.fields().len())
        })?;
        check_type(field.name(), field.data_type(), at == layout.time)?;
    }
    Ok(layout)
}

impl Layout {
    /// The columns the layout reads, in file order.
    fn used(&self) -> Vec<usize> {
        let mut used: Vec<usize> =
            [Some(self.time), Some(self.open), Some(self.high), Some(self.low), Some(self.close)]
                .into_iter()
                .chain([self.adj_close, self.volume])
                .flatten()
                .collect();
        used.sort_unstable();
        used.dedup();
        used
    }
}

/// Refuses, before any row is read, a column whose type cannot hold what it must.
fn check_type(name: &str, data_type: &DataType, time: bool) -> Result<(), String> {
    let numeric = data_type.is_integer() || data_type.is_floating() || matches!(data_type, DataType::Decimal128(..));
    let text = matches!(data_type, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    let temporal = matches!(data_type, DataType::Timestamp(..) | DataType::Date32 | DataType::Date64);
    let fits = if time { temporal || text || data_type.is_integer() } else { numeric || text };
    if fits {
        Ok(())
    } else if time {
        Err(format!(
            "column {name}: type {data_type}; expected a timestamp, a date, epoch integers or text for the time"
        ))
    } else {
        Err(format!("column {name}: type {data_type}; expected a number, a decimal or text"))
    }
}

fn missing() -> String {
    "missing (null)".to_owned()
}

/// Fills `out` from a column with `convert`, one value per row; a row that is null or that
/// `convert` refuses gets `placeholder` and a problem (prefixed with `name` when given).
fn fill<T: Copy, V>(
    values: impl Iterator<Item = Option<V>>,
    out: &mut Vec<T>,
    problems: &mut Vec<(usize, String)>,
    name: &str,
    placeholder: T,
    mut convert: impl FnMut(V) -> Result<T, String>,
) {
    out.clear();
    for (row, value) in values.enumerate() {
        let converted = value.ok_or_else(missing).and_then(&mut convert);
        out.push(converted.unwrap_or_else(|problem| {
            problems.push((row, if name.is_empty() { problem } else { format!("{name}: {problem}") }));
            placeholder
        }));
    }
}

/// [`fill`] from a primitive column, straight from its values when it has no nulls (the common
/// case, and a loop the compiler vectorizes).
fn fill_primitive<A: ArrowPrimitiveType, T: Copy>(
    array: &ArrayRef,
    out: &mut Vec<T>,
    problems: &mut Vec<(usize, String)>,
    name: &str,
    placeholder: T,
    convert: impl FnMut(A::Native) -> Result<T, String>,
) {
    let array = array.as_primitive::<A>();
    if array.null_count() == 0 {
        fill(array.values().iter().copied().map(Some), out, problems, name, placeholder, convert);
    } else {
        fill(array.iter(), out, problems, name, placeholder, convert);
    }
}

/// Each row's time.
fn times(
    array: &ArrayRef,
    reader: &mut TimestampReader,
    out: &mut Vec<Timestamp>,
    problems: &mut Vec<(usize, String)>,
) {
    let (first, last) = timestamp_range();
    let scaled = |nanos: i64| {
        move |value: i64| match value.checked_mul(nanos) {
            Some(ns) if (first.0..=last.0).contains(&ns) => Ok(Timestamp(ns)),
            _ => Err(out_of_range(&format!("{value} (in units of {nanos} ns)"))),
        }
    };
    let zero = Timestamp(0);
    match array.data_type() {
        DataType::Timestamp(TimeUnit::Second, _) => {
            fill_primitive::<TimestampSecondType, _>(array, out, problems, "", zero, scaled(1_000_000_000));
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            fill_primitive::<TimestampMillisecondType, _>(array, out, problems, "", zero, scaled(1_000_000));
        }
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            fill_primitive::<TimestampMicrosecondType, _>(array, out, problems, "", zero, scaled(1_000));
        }
        DataType::Timestamp(TimeUnit::Nanosecond, _) => {
            fill_primitive::<TimestampNanosecondType, _>(array, out, problems, "", zero, scaled(1));
        }
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().iter().map(|d| d.map(i64::from));
            fill(days, out, problems, "", zero, scaled(86_400_000_000_000));
        }
        DataType::Date64 => fill_primitive::<Date64Type, _>(array, out, problems, "", zero, scaled(1_000_000)),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            fill(text_values(array).into_iter(), out, problems, "", zero, |text| reader.read(text.trim()));
        }
        _ => fill(integers(array).into_iter(), out, problems, "", zero, |value| reader.epoch(value)),
    }
}

/// A float as a price: rounded half away from zero to 8 decimals, as a CSV's printed float is.
fn float_price(value: f64) -> Result<Price, String> {
    let scaled = value * 1e8;
    // Finite and inside `i64` (the bound is exact as an `f64`: 2^63).
    if scaled.abs() < 9_223_372_036_854_775_808.0 {
        // Adding ±0.5 and truncating rounds half away from zero without a call into libm.
        Ok(Price::from_raw((scaled + 0.5_f64.copysign(scaled)) as i64))
    } else {
        Err(format!("{value}: expected a finite price"))
    }
}

/// Each row's price, in tradsys's fixed point.
fn prices(array: &ArrayRef, name: &str, out: &mut Vec<Price>, problems: &mut Vec<(usize, String)>) {
    let zero = Price::ZERO;
    match array.data_type() {
        DataType::Float64 => fill_primitive::<Float64Type, _>(array, out, problems, name, zero, float_price),
        DataType::Float32 => {
            // A float32 holds about 7 significant digits: its shortest decimal is what was meant.
            let values = array
                .as_primitive::<Float32Type>()
                .iter()
                .map(|v| v.map(|v| v.to_string().parse::<f64>().unwrap_or(f64::from(v))));
            fill(values, out, problems, name, zero, float_price);
        }
        DataType::Decimal128(_, scale) => {
            let scale = i32::from(*scale);
            fill(array.as_primitive::<Decimal128Type>().iter(), out, problems, name, zero, |value| {
                decimal(value, scale)
            });
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            fill(text_values(array).into_iter(), out, problems, name, zero, |text| {
                parse_price(text).map_err(|e| e.to_string())
            });
        }
        _ => fill(integers(array).into_iter(), out, problems, name, zero, |value| {
            value
                .checked_mul(10_i64.pow(PRICE_DECIMALS))
                .map(Price::from_raw)
                .ok_or_else(|| format!("{value}: out of range"))
        }),
    }
}

/// A decimal of `scale` places as a price, rounded half away from zero past 8 places.
fn decimal(value: i128, scale: i32) -> Result<Price, String> {
    let places = PRICE_DECIMALS as i32;
    let raw = if scale <= places {
        10_i128.checked_pow((places - scale) as u32).and_then(|factor| value.checked_mul(factor))
    } else {
        10_i128.checked_pow((scale - places) as u32).map(|divisor| div_round(value, divisor))
    };
    raw.and_then(|raw| i64::try_from(raw).ok())
        .map(Price::from_raw)
        .ok_or_else(|| format!("decimal {value} (scale {scale}): out of range"))
}

/// Each row's volume, a non-negative number.
fn volumes(array: &ArrayRef, out: &mut Vec<f64>, problems: &mut Vec<(usize, String)>) {
    let check = |value: f64| volume_of(Some(value)).map_err(str::to_owned);
    match array.data_type() {
        DataType::Float64 => fill_primitive::<Float64Type, _>(array, out, problems, "volume", 0.0, check),
        DataType::Float32 => {
            let values = array.as_primitive::<Float32Type>().iter().map(|v| v.map(f64::from));
            fill(values, out, problems, "volume", 0.0, check);
        }
        DataType::Decimal128(_, scale) => {
            let divisor = 10f64.powi(i32::from(*scale));
            let values = array.as_primitive::<Decimal128Type>().iter().map(|v| v.map(|v| v as f64 / divisor));
            fill(values, out, problems, "volume", 0.0, check);
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            fill(text_values(array).into_iter(), out, problems, "volume", 0.0, |text| {
                check(text.trim().parse().map_err(|_| format!("{text:?}: expected a non-negative number"))?)
            });
        }
        _ => fill(integers(array).into_iter(), out, problems, "volume", 0.0, |v| check(v as f64)),
    }
}

/// An integer column's values (every integer type; `None` for nulls and for a `u64` past `i64`).
fn integers(array: &ArrayRef) -> Vec<Option<i64>> {
    fn widen<T: arrow_array::ArrowPrimitiveType>(array: &ArrayRef) -> Vec<Option<i64>>
    where
        T::Native: TryInto<i64>,
    {
        array.as_primitive::<T>().iter().map(|v| v.and_then(|v| v.try_into().ok())).collect()
    }
    match array.data_type() {
        DataType::Int8 => widen::<Int8Type>(array),
        DataType::Int16 => widen::<Int16Type>(array),
        DataType::Int32 => widen::<Int32Type>(array),
        DataType::Int64 => {
            let array = array.as_primitive::<Int64Type>();
            if array.null_count() == 0 {
                array.values().iter().map(|&v| Some(v)).collect()
            } else {
                array.iter().collect()
            }
        }
        DataType::UInt8 => widen::<UInt8Type>(array),
        DataType::UInt16 => widen::<UInt16Type>(array),
        DataType::UInt32 => widen::<UInt32Type>(array),
        DataType::UInt64 => widen::<UInt64Type>(array),
        // `check_type` let nothing else through.
        _ => vec![None; array.len()],
    }
}

/// A text column's values.
fn text_values(array: &ArrayRef) -> Vec<Option<&str>> {
    match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().collect(),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().collect(),
        DataType::Utf8View => array.as_string_view().iter().collect(),
        _ => vec![None; array.len()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_round_to_eight_decimals_half_away_from_zero() {
        assert_eq!(float_price(1.07219), Ok(Price::from_raw(107_219_000)));
        assert_eq!(float_price(-1.07219), Ok(Price::from_raw(-107_219_000)));
        assert_eq!(float_price(0.000_000_016), Ok(Price::from_raw(2)));
        assert_eq!(float_price(0.000_000_004_9), Ok(Price::from_raw(0)));
        assert!(float_price(f64::NAN).is_err());
        assert!(float_price(1e12).is_err());
    }

    #[test]
    fn decimals_scale_exactly_and_round_past_eight_places() {
        assert_eq!(decimal(12_345, 2), Ok(Price::from_raw(12_345_000_000)));
        assert_eq!(decimal(123_456_789_015, 10), Ok(Price::from_raw(1_234_567_890)));
        assert_eq!(decimal(-123_456_789_015, 10), Ok(Price::from_raw(-1_234_567_890)));
        assert!(decimal(i128::MAX, 0).is_err());
    }
}
