//! `bars-csv`: OHLCV bars from a CSV file, as commonly published.
//!
//! What it reads without conversion (docs/bars-input.md has the whole story):
//! - **Columns** found by name, case-insensitively, under the names published files use (`Open`,
//!   `o`, `Close/Last`, `<CLOSE>`, ...); the time is the column named time, date or timestamp, else
//!   the first. A file without a header row is read as time, open, high, low, close[, volume], or
//!   as the `columns` parameter names its columns.
//! - **Timestamps** as ISO 8601 dates or date-times (`Z`, an offset, or neither for UTC), or epoch
//!   integers in seconds, milliseconds, microseconds or nanoseconds (detected from the first one's
//!   magnitude; `time_unit` overrides), or any layout a `time_format` (strftime) describes.
//! - **Prices** as decimals, optionally with a `$`; more than 8 decimal places are rounded to 8.
//!   With `adjusted = true`, the close is the `Adj Close` column and open, high and low are scaled
//!   by the same factor.
//! - **Order**: oldest first is streamed; a newest-first file is read whole and reversed (said once).
//! - **Compression**: a path ending in `.gz` is decompressed as it is read.
//!
//! When the config does not declare the instrument, its tick is inferred from the precision of the
//! first thousand bars' prices (the run's report says so); bars with prices off the tick in force
//! are counted and warned about once. A row that cannot be read, has `high < low`, or is out of
//! order is reported with its line number and skipped (`strict = true` stops the run instead); a
//! file with no usable bar at all is an error.
//!
//! ```toml
//! [feed]
//! plugin = "bars-csv"
//! params = { path = "examples/data/EURUSD-1h.csv", symbol = "EURUSD" }
//! ```

#![deny(unsafe_code)]

mod columns;
mod csv_line;
#[cfg(feature = "parquet")]
pub mod frame;
#[cfg(feature = "parquet")]
mod parquet_rows;
mod timestamp;

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader};

use serde::{Deserialize, Serialize};
use tradsys_core::component::{BadRows, ComponentError, Feed, FeedContext, FeedData, FeedError, InitContext};
use tradsys_core::instrument::{Instrument, TickOrigin};
use tradsys_core::limits::excerpt;
use tradsys_core::lines::LineReader;
use tradsys_core::market::{Bar, MarketEvent};
use tradsys_core::plugin::{Capability, Plugin};
use tradsys_core::types::{InstrumentId, PRICE_DECIMALS, ParsePriceError, Price, Timestamp, div_round};

use crate::columns::{Layout, normalize};
use crate::csv_line::CsvLine;
pub use crate::timestamp::EpochUnit;
use crate::timestamp::TimestampReader;

/// Good bars read ahead at start-up: enough to see the file's order and its prices' precision.
const AHEAD_BARS: usize = 1_000;
/// Rows read ahead at most, good or bad (a file of nothing but bad rows stays cheap to hold).
const AHEAD_ROWS: usize = 10_000;

/// Reads bars from a CSV file.
#[derive(Debug)]
pub struct BarsCsvFeed {
    params: Params,
    instrument: InstrumentId,
    tick: Price,
    rows: Rows,
    fields: CsvLine,
    parser: RowParser,
    last_ts: Option<Timestamp>,
    /// Rows skipped while reading ahead, handed to the run at the first event.
    early: Option<BadRows>,
    /// In strict mode, the first bad row met while reading ahead.
    early_error: Option<String>,
    emitted: u64,
    skipped: u64,
    first_problem: Option<String>,
    off_tick: OffTick,
    /// Bars handed over in memory instead of a file (`frame::frame_descriptor`); `path` names them.
    #[cfg(feature = "parquet")]
    frame: Option<std::sync::Arc<frame::BarFrame>>,
}

/// Bars whose prices are off the instrument's tick: how many, and the first one's line.
#[derive(Debug, Default)]
struct OffTick {
    count: u64,
    first_line: u64,
}

/// Where the next rows come from.
enum Rows {
    /// Before `init`.
    Unopened,
    /// Oldest first: streamed, after the rows read ahead.
    Streaming { source: Source, ahead: VecDeque<Row> },
    /// Newest first: read whole, served oldest first.
    Reversed { bars: std::iter::Rev<std::vec::IntoIter<(u64, Bar)>> },
}

impl std::fmt::Debug for Rows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Rows::Unopened => "Unopened",
            Rows::Streaming { .. } => "Streaming",
            Rows::Reversed { .. } => "Reversed",
        })
    }
}

/// A row: its line (CSV) or row (Parquet) number and its bar, or what is wrong with it.
type Row = (u64, Result<Bar, String>);

/// Where a file's rows come from.
enum Source {
    /// CSV lines (decompressed as read for `.gz`).
    Csv(LineReader<Box<dyn BufRead + Send>>),
    /// Parquet row groups, decoded by columns.
    #[cfg(feature = "parquet")]
    Parquet(Box<parquet_rows::ParquetRows>),
}

/// Whether `path` names a Parquet file (by its extension).
fn is_parquet(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".parquet", ".parq", ".pq"].iter().any(|extension| lower.ends_with(extension))
}

tradsys_core::plugin_params! {
    /// Parameters of `bars-csv`.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Params {
        /// The file: CSV (`.csv`, or `.csv.gz` to decompress while reading) or, in builds with the
        /// `parquet` feature, Parquet (`.parquet`).
        pub path: String,
        /// The instrument the bars belong to.
        pub symbol: String,
        /// Stop at the first bad row instead of skipping it.
        pub strict: bool,
        /// The file's columns in order (`["time", "open", "high", "low", "close", "volume",
        /// "close_time"]`), for a file without a header row or to replace its names; empty: the
        /// header's names, or time, open, high, low, close, volume when there is no header.
        pub columns: Vec<String>,
        /// The unit of integer timestamps: `auto` (from the first one's magnitude), `s`, `ms`, `us`
        /// or `ns`.
        pub time_unit: EpochUnit,
        /// A strftime format for timestamps in another layout (`"%m/%d/%Y"`, `"%d.%m.%Y %H:%M"`);
        /// empty: ISO 8601 or epoch integers. UTC unless the format has `%z`.
        pub time_format: String,
        /// Close at the adjusted close (`Adj Close`), with open, high and low scaled by the same factor
        /// (splits and dividends, as Yahoo Finance publishes them).
        pub adjusted: bool,
    }
}

impl Default for Params {
    fn default() -> Params {
        Params {
            path: String::new(),
            symbol: "BARS".to_owned(),
            strict: false,
            columns: Vec::new(),
            time_unit: EpochUnit::Auto,
            time_format: String::new(),
            adjusted: false,
        }
    }
}

impl Plugin for BarsCsvFeed {
    type Params = Params;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = Params::PARAM_DOCS;
    const SUMMARY: &'static str = "OHLCV bars from a CSV (header or not, ISO or epoch times, .gz) or Parquet file";
    const CAPABILITIES: &'static [Capability] = &[Capability::ReadFiles];
    const FILE_PARAMS: &'static [&'static str] = &["path"];

    fn build(params: Params) -> Result<Self, ComponentError> {
        if params.path.is_empty() {
            return Err(ComponentError::new("parameter path is required: the CSV file of bars"));
        }
        let format = (!params.time_format.is_empty()).then(|| params.time_format.clone());
        let parser = RowParser {
            layout: Layout::positional(6),
            timestamps: TimestampReader::new(params.time_unit, format),
            instrument: InstrumentId(0),
        };
        Ok(BarsCsvFeed {
            params,
            instrument: InstrumentId(0),
            tick: Instrument::DEFAULT_TICK,
            rows: Rows::Unopened,
            fields: CsvLine::default(),
            parser,
            last_ts: None,
            early: None,
            early_error: None,
            emitted: 0,
            skipped: 0,
            first_problem: None,
            off_tick: OffTick::default(),
            #[cfg(feature = "parquet")]
            frame: None,
        })
    }
}

impl Feed for BarsCsvFeed {
    fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        self.instrument = ctx.instrument(&self.params.symbol)?;
        self.parser.instrument = self.instrument;
        let path = self.params.path.clone();
        let mut ahead = VecDeque::new();
        let mut reader = if let Some(source) = self.open_frame()? {
            source
        } else if is_parquet(&path) {
            self.open_parquet(&path)?
        } else {
            let mut reader = open(&path)?;
            if let Some(first_row) = self.read_header(&path, &mut reader)? {
                ahead.push_back(first_row);
            }
            Source::Csv(reader)
        };
        let mut good = ahead.iter().filter(|(_, row)| row.is_ok()).count();
        let mut whole_file = false;
        while good < AHEAD_BARS && ahead.len() < AHEAD_ROWS {
            let Some(row) = self.next_row(&path, &mut reader)? else {
                whole_file = true;
                break;
            };
            good += usize::from(row.1.is_ok());
            ahead.push_back(row);
        }
        if good == 0 && whole_file {
            // Refused before the run starts: nothing in the file can be traded.
            return Err(ComponentError::new(match ahead.front() {
                Some((line, Err(problem))) => format!(
                    "{path}: no usable bars: all {} rows are bad; the first, {} {line}: {problem}",
                    ahead.len(),
                    self.position_word()
                ),
                _ => format!("{path}: no usable bars: {}", self.no_rows()),
            }));
        }
        // Newest first when more neighbouring bars go back in time than forward (one row out of
        // place in an oldest-first file does not turn it around).
        let times: Vec<Timestamp> = ahead.iter().filter_map(|(_, row)| row.as_ref().ok()).map(|bar| bar.ts).collect();
        let backwards = times.windows(2).filter(|pair| pair[1] < pair[0]).count();
        let newest_first = 2 * backwards > times.len().saturating_sub(1);
        let precision = if newest_first {
            let bars = self.read_reversed(&path, ahead, reader)?;
            let precision = bars.iter().map(|(_, bar)| bar_decimals(bar)).max();
            tracing::info!(path = %path, bars = bars.len(), "the file is newest first: read whole and reversed");
            self.rows = Rows::Reversed { bars: bars.into_iter().rev() };
            precision
        } else {
            let precision = ahead.iter().filter_map(|(_, row)| row.as_ref().ok()).map(bar_decimals).max();
            self.rows = Rows::Streaming { source: reader, ahead };
            precision
        };
        self.tick = match precision {
            Some(places) => {
                ctx.instrument_quoted_in(&self.params.symbol, Price::from_raw(10_i64.pow(PRICE_DECIMALS - places)))?.1
            }
            None => ctx.instruments().get(self.instrument).tick,
        };
        let instrument = ctx.instruments().get(self.instrument);
        if instrument.tick_origin == TickOrigin::Inferred {
            tracing::info!(
                symbol = %instrument.symbol,
                tick = %self.tick,
                "no tick declared: inferred from the data's prices (declare [instruments.{}] tick to set it)",
                instrument.symbol
            );
        }
        Ok(())
    }

    fn data(&self) -> FeedData {
        FeedData::Bars
    }

    fn next_event(&mut self, ctx: &mut FeedContext<'_>) -> Result<Option<MarketEvent>, FeedError> {
        if let Some(early) = self.early.take() {
            self.skipped += early.count;
            if self.first_problem.is_none() {
                self.first_problem = early.first.first().cloned();
            }
            ctx.skip_rows(early);
        }
        if let Some(error) = self.early_error.take() {
            return Err(FeedError(error));
        }
        let path = &self.params.path;
        loop {
            let (line, parsed) = match &mut self.rows {
                Rows::Unopened => return Err(FeedError("bars-csv: not initialized".to_owned())),
                Rows::Reversed { bars } => match bars.next() {
                    Some((line, bar)) => (line, Ok(bar)),
                    None => return self.finish(),
                },
                Rows::Streaming { source, ahead } => match ahead.pop_front() {
                    Some(row) => row,
                    None => {
                        match next_row(&mut self.fields, &mut self.parser, source)
                            .map_err(|e| FeedError(format!("{path}: {e}")))?
                        {
                            Some(row) => row,
                            None => return self.finish(),
                        }
                    }
                },
            };
            let problem = match parsed {
                Ok(bar) if self.last_ts.is_some_and(|last| bar.ts <= last) => {
                    format!("timestamp {} is not after the previous row's; expected rows in time order", bar.ts)
                }
                Ok(bar) => {
                    self.last_ts = Some(bar.ts);
                    self.emitted += 1;
                    if ![bar.open, bar.high, bar.low, bar.close].iter().all(|p| p.is_on_tick(self.tick)) {
                        if self.off_tick.count == 0 {
                            self.off_tick.first_line = line;
                        }
                        self.off_tick.count += 1;
                    }
                    return Ok(Some(MarketEvent::Bar(bar)));
                }
                Err(problem) => problem,
            };
            let message = format!("{path}: {} {line}: {problem}", self.position_word());
            if self.params.strict {
                return Err(FeedError(message));
            }
            self.skipped += 1;
            if self.first_problem.is_none() {
                self.first_problem = Some(message.clone());
            }
            ctx.skip_row(message);
        }
    }
}

impl BarsCsvFeed {
    /// How rows are numbered in messages: CSV lines, Parquet rows.
    fn position_word(&self) -> &'static str {
        if self.by_rows() { "row" } else { "line" }
    }

    /// What an empty file is said to hold.
    fn no_rows(&self) -> &'static str {
        if self.by_rows() { "the file has no rows" } else { "the file has a header and no rows" }
    }

    /// Whether the bars come by rows (Parquet, a frame) rather than by lines.
    fn by_rows(&self) -> bool {
        #[cfg(feature = "parquet")]
        if self.frame.is_some() {
            return true;
        }
        is_parquet(&self.params.path)
    }

    /// The rows of the frame handed over in memory, if this feed reads one.
    #[cfg(feature = "parquet")]
    fn open_frame(&mut self) -> Result<Option<Source>, ComponentError> {
        let Some(frame) = self.frame.clone() else { return Ok(None) };
        let timestamps = std::mem::take(&mut self.parser.timestamps);
        let rows = parquet_rows::ParquetRows::from_batches(
            frame.batches().to_vec(),
            &self.params.columns,
            self.params.adjusted,
            timestamps,
            self.instrument,
        )
        .map_err(|e| ComponentError::new(format!("{}: {e}", frame.name())))?;
        Ok(Some(Source::Parquet(Box::new(rows))))
    }

    /// This build reads no frames.
    #[cfg(not(feature = "parquet"))]
    #[allow(clippy::unnecessary_wraps, clippy::unused_self)]
    fn open_frame(&mut self) -> Result<Option<Source>, ComponentError> {
        Ok(None)
    }

    /// Opens a Parquet file and finds its columns.
    #[cfg(feature = "parquet")]
    fn open_parquet(&mut self, path: &str) -> Result<Source, ComponentError> {
        let timestamps = std::mem::take(&mut self.parser.timestamps);
        let rows = parquet_rows::ParquetRows::open(
            path,
            &self.params.columns,
            self.params.adjusted,
            timestamps,
            self.instrument,
        )
        .map_err(|e| ComponentError::new(format!("{path}: {e}")))?;
        Ok(Source::Parquet(Box::new(rows)))
    }

    /// This build reads no Parquet.
    #[cfg(not(feature = "parquet"))]
    fn open_parquet(&mut self, path: &str) -> Result<Source, ComponentError> {
        Err(ComponentError::new(format!(
            "{path}: this build reads no Parquet files; build tradsys with the parquet feature (cargo build -p tradsys --features parquet), or convert the file to CSV"
        )))
    }

    /// Reads the first line: a header (returns `None`) or, in a file without one, the first row.
    fn read_header(
        &mut self,
        path: &str,
        reader: &mut LineReader<Box<dyn BufRead + Send>>,
    ) -> Result<Option<Row>, ComponentError> {
        let (line, text) = loop {
            match reader.next_line() {
                Err(e) => return Err(ComponentError::new(format!("{path}: cannot read the first line: {e}"))),
                Ok(None) => return Err(ComponentError::new(format!("{path}: empty file; expected bars"))),
                Ok(Some((line, Err(e)))) => return Err(ComponentError::new(format!("{path}: line {line}: {e}"))),
                Ok(Some((_, Ok(text)))) if text.trim_ascii().is_empty() => {}
                Ok(Some((line, Ok(text)))) => break (line, text.trim_start_matches('\u{feff}').to_owned()),
            }
        };
        self.fields.split(&text).map_err(|e| ComponentError::new(format!("{path}: line {line}: {e}")))?;
        let names: Vec<String> = self.fields.iter().map(str::to_owned).collect();
        let adjusted = self.params.adjusted;
        if !self.params.columns.is_empty() {
            self.parser.layout = Layout::from_names(&self.params.columns, adjusted)
                .map_err(|e| ComponentError::new(format!("parameter columns: {e}")))?;
            // With named columns, the first line is a header only if it is not a bar.
            return Ok(self.parser.parse(&self.fields).ok().map(|bar| (line, Ok(bar))));
        }
        match Layout::from_names(&names, adjusted) {
            Ok(layout) => {
                self.parser.layout = layout;
                Ok(None)
            }
            Err(missing) => {
                self.parser.layout = Layout::positional(names.len());
                match self.parser.parse(&self.fields) {
                    Ok(bar) if !adjusted => {
                        tracing::info!(
                            path = %path,
                            "no header row: columns read as time, open, high, low, close, volume (the columns parameter names them otherwise)"
                        );
                        Ok(Some((line, Ok(bar))))
                    }
                    _ => Err(ComponentError::new(format!(
                        "{path}: line {line}: {missing} (header: {}); for a file without a header row, name its columns with the columns parameter",
                        excerpt(&names.iter().map(|n| normalize(n)).collect::<Vec<_>>().join(",")).trim_matches('"')
                    ))),
                }
            }
        }
    }

    fn next_row(&mut self, path: &str, reader: &mut Source) -> Result<Option<Row>, ComponentError> {
        next_row(&mut self.fields, &mut self.parser, reader).map_err(|e| ComponentError::new(format!("{path}: {e}")))
    }

    /// Reads a newest-first file whole (the rows read ahead, then the rest), keeping the rows that
    /// go back in time; the others are skipped as bad rows, reported at the first event.
    fn read_reversed(
        &mut self,
        path: &str,
        ahead: VecDeque<Row>,
        mut reader: Source,
    ) -> Result<Vec<(u64, Bar)>, ComponentError> {
        let mut bars: Vec<(u64, Bar)> = Vec::new();
        let mut early = BadRows::default();
        let mut rows = ahead.into_iter();
        loop {
            let (line, parsed) = match rows.next() {
                Some(row) => row,
                None => match self.next_row(path, &mut reader)? {
                    Some(row) => row,
                    None => break,
                },
            };
            let problem = match parsed {
                Ok(bar) if bars.last().is_some_and(|(_, last)| bar.ts >= last.ts) => format!(
                    "timestamp {} is not before the previous row's; expected a newest-first file in time order",
                    bar.ts
                ),
                Ok(bar) => {
                    bars.push((line, bar));
                    continue;
                }
                Err(problem) => problem,
            };
            let message = format!("{path}: {} {line}: {problem}", self.position_word());
            if self.params.strict {
                self.early_error = Some(message);
                break;
            }
            early.record(message);
        }
        self.early = Some(early);
        Ok(bars)
    }

    /// The end of the file: an error when not one bar was usable; a warning for off-tick bars.
    fn finish(&mut self) -> Result<Option<MarketEvent>, FeedError> {
        let path = &self.params.path;
        if self.emitted == 0 {
            return Err(FeedError(match &self.first_problem {
                Some(first) => {
                    format!("{path}: no usable bars: all {} rows were skipped; the first: {first}", self.skipped)
                }
                None => format!("{path}: no usable bars: {}", self.no_rows()),
            }));
        }
        if self.off_tick.count > 0 {
            tracing::warn!(
                "{path}: {} of {} bars have prices off the tick {} of {} (the first at {} {}); the venue does not fill at such prices: declare [instruments.{}] tick to match the data",
                self.off_tick.count,
                self.emitted,
                self.tick,
                self.params.symbol,
                self.position_word(),
                self.off_tick.first_line,
                self.params.symbol
            );
            self.off_tick.count = 0;
        }
        Ok(None)
    }
}

/// Opens the file, decompressing a `.gz` one as it is read.
fn open(path: &str) -> Result<LineReader<Box<dyn BufRead + Send>>, ComponentError> {
    let file = File::open(path).map_err(|e| ComponentError::new(format!("{path}: cannot open: {e}")))?;
    let input: Box<dyn BufRead + Send> = if path.ends_with(".gz") {
        Box::new(BufReader::with_capacity(1 << 16, flate2::read::MultiGzDecoder::new(file)))
    } else {
        Box::new(BufReader::with_capacity(1 << 16, file))
    };
    Ok(LineReader::new(input))
}

/// The next non-empty row of the file, parsed; `None` at its end.
///
/// # Errors
/// The file cannot be read (an I/O error, a corrupt Parquet row group).
fn next_row(fields: &mut CsvLine, parser: &mut RowParser, source: &mut Source) -> Result<Option<Row>, String> {
    let reader = match source {
        Source::Csv(reader) => reader,
        #[cfg(feature = "parquet")]
        Source::Parquet(rows) => return rows.next_row(),
    };
    loop {
        let Some((line, text)) = reader.next_line().map_err(|e| e.to_string())? else { return Ok(None) };
        let parsed = match text {
            Ok(text) if text.trim_ascii().is_empty() => continue,
            Ok(text) => fields.split(text).and_then(|()| parser.parse(fields)),
            Err(error) => Err(error.to_string()),
        };
        return Ok(Some((line, parsed)));
    }
}

/// Turns a row's fields into a bar, by the file's layout.
#[derive(Debug)]
struct RowParser {
    layout: Layout,
    timestamps: TimestampReader,
    instrument: InstrumentId,
}

impl RowParser {
    fn parse(&mut self, fields: &CsvLine) -> Result<Bar, String> {
        let layout = self.layout;
        let field = |at: usize, name: &str| fields.get(at).ok_or_else(|| format!("missing {name} field"));
        let price = |at: usize, name: &str| -> Result<Price, String> {
            parse_price(field(at, name)?).map_err(|e| format!("{name}: {e}"))
        };
        let ts = self.timestamps.read(field(layout.time, "timestamp")?.trim_ascii())?;
        let prices = BarPrices {
            open: price(layout.open, "open")?,
            high: price(layout.high, "high")?,
            low: price(layout.low, "low")?,
            close: price(layout.close, "close")?,
            adjusted_close: layout.adj_close.map(|at| price(at, "adjusted close")).transpose()?,
        };
        let volume = match layout.volume {
            Some(at) => {
                let text = field(at, "volume")?;
                let volume = text.trim_ascii().parse::<f64>().ok();
                volume_of(volume).map_err(|e| format!("volume {}: {e}", excerpt(text)))?
            }
            None => 0.0,
        };
        prices.bar(ts, self.instrument, volume)
    }
}

/// A row's prices as the file wrote them, before adjustment.
#[derive(Clone, Copy, Debug)]
struct BarPrices {
    open: Price,
    high: Price,
    low: Price,
    close: Price,
    /// The adjusted close, when `adjusted = true`.
    adjusted_close: Option<Price>,
}

impl BarPrices {
    /// The bar: adjusted when asked (open, high and low scaled by the adjusted close's factor), and
    /// checked (`low <= open, close <= high`).
    fn bar(self, ts: Timestamp, instrument: InstrumentId, volume: f64) -> Result<Bar, String> {
        let BarPrices { mut open, mut high, mut low, mut close, adjusted_close } = self;
        if let Some(adjusted) = adjusted_close {
            if close.raw() <= 0 {
                return Err(format!("close {close}: expected a positive close to adjust by"));
            }
            // Scaled prices keep the row's own precision, so an inferred tick stays the file's.
            let places = [open, high, low, close, adjusted].iter().map(|p| decimals(p.raw())).max().unwrap_or(0);
            let unit = 10_i64.pow(PRICE_DECIMALS - places);
            let scale = |p: Price| Price::from_raw(scaled(p.raw(), adjusted.raw(), close.raw(), unit));
            (open, high, low, close) = (scale(open), scale(high), scale(low), adjusted);
        }
        if high < low || open > high || open < low || close > high || close < low {
            return Err(format!(
                "inconsistent bar: open {open} high {high} low {low} close {close}; expected low <= open, close <= high"
            ));
        }
        Ok(Bar { ts, instrument, open, high, low, close, volume })
    }
}

/// A volume as read (`None`: not a number), checked to be a non-negative number.
fn volume_of(volume: Option<f64>) -> Result<f64, &'static str> {
    volume.filter(|v| v.is_finite() && *v >= 0.0).ok_or("expected a non-negative number")
}

/// `value × numerator / denominator`, rounded half away from zero to a multiple of `unit` (the
/// denominator and unit are positive; every price fits an `i64`, the products an `i128`).
fn scaled(value: i64, numerator: i64, denominator: i64, unit: i64) -> i64 {
    let rounded = div_round(i128::from(value) * i128::from(numerator), i128::from(denominator) * i128::from(unit));
    i64::try_from(rounded * i128::from(unit)).unwrap_or(if rounded > 0 { i64::MAX } else { i64::MIN })
}

/// A price as files write it: a decimal, optionally after a `$`; more than 8 decimal places are
/// rounded (half away from zero) to 8, as float-printing tools write them.
fn parse_price(text: &str) -> Result<Price, ParsePriceError> {
    let text = text.trim_ascii();
    let text = text.strip_prefix('$').unwrap_or(text);
    match text.parse::<Price>() {
        Err(ParsePriceError::TooPrecise(_)) => {
            let point = text.find('.').unwrap_or(text.len());
            let kept = &text[..point + 1 + PRICE_DECIMALS as usize];
            let truncated: Price = kept.parse()?;
            let next_digit = text.as_bytes()[point + 1 + PRICE_DECIMALS as usize];
            if next_digit >= b'5' {
                let step = if text.starts_with('-') { -1 } else { 1 };
                return Ok(Price::from_raw(truncated.raw().saturating_add(step)));
            }
            Ok(truncated)
        }
        parsed => parsed,
    }
}

/// Decimal places a bar's prices use (0 to 8).
fn bar_decimals(bar: &Bar) -> u32 {
    [bar.open, bar.high, bar.low, bar.close].into_iter().map(|p| decimals(p.raw())).max().unwrap_or(0)
}

/// Decimal places of a fixed-point raw value (0 to 8).
fn decimals(raw: i64) -> u32 {
    let mut raw = raw.unsigned_abs();
    if raw == 0 {
        return 0;
    }
    let mut places = PRICE_DECIMALS;
    while places > 0 && raw.is_multiple_of(10) {
        raw /= 10;
        places -= 1;
    }
    places
}

tradsys_core::register_feed!(BarsCsvFeed, "bars-csv", "1.0.0");

#[cfg(test)]
mod tests {
    use std::io::Write;

    use tradsys_core::component::BadRows;
    use tradsys_core::instrument::InstrumentTable;

    use super::*;

    /// What reading a file gave: its bars, the rows skipped, the error that ended it, and the
    /// instrument as the feed left it.
    struct Read {
        bars: Vec<Bar>,
        bad: BadRows,
        error: Option<String>,
        instrument: Instrument,
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("bars-csv-test-{name}"))
    }

    fn read_file(path: &std::path::Path, params: Params, instruments: &mut InstrumentTable) -> Result<Read, String> {
        let params = Params { path: path.display().to_string(), symbol: "EURUSD".into(), ..params };
        let mut feed = BarsCsvFeed::build(params).map_err(|e| e.0)?;
        feed.init(&mut InitContext::new("feed", instruments, 1)).map_err(|e| e.0)?;
        let mut bad = BadRows::default();
        let mut bars = Vec::new();
        let mut error = None;
        loop {
            let mut ctx = FeedContext::new(instruments, &mut bad);
            match feed.next_event(&mut ctx) {
                Ok(Some(MarketEvent::Bar(bar))) => bars.push(bar),
                Ok(_) => break,
                Err(e) => {
                    error = Some(e.0);
                    break;
                }
            }
        }
        let instrument = instruments.get(instruments.find("EURUSD").unwrap()).clone();
        Ok(Read { bars, bad, error, instrument })
    }

    fn read_with(name: &str, text: &str, params: Params) -> Result<Read, String> {
        let path = scratch(&format!("{name}.csv"));
        std::fs::write(&path, text).unwrap();
        read_file(&path, params, &mut InstrumentTable::default())
    }

    fn read_all(text: &str, strict: bool) -> (Vec<Bar>, BadRows, Option<String>) {
        let read =
            read_with(&format!("{}-{strict}", text.len()), text, Params { strict, ..Params::default() }).unwrap();
        (read.bars, read.bad, read.error)
    }

    fn closes(bars: &[Bar]) -> Vec<String> {
        bars.iter().map(|bar| bar.close.to_string()).collect()
    }

    #[test]
    fn reads_published_files_and_reports_bad_rows_by_line() {
        let text = ",Open,High,Low,Close,Volume
2017-04-19 09:00:00,1.0716,1.0722,1.07083,1.07219,1413
2017-04-19 10:00:00,1.07214,1.07296,1.07214,oops,1241
2017-04-19 11:00:00,1.0726,1.0720,1.0730,1.0725,10
2017-04-19 08:30:00,1.0726,1.0730,1.0720,1.0725,10
2017-04-19 12:00:00,1.0726,1.0730,1.0720,1.0725,10
";
        let (bars, bad, error) = read_all(text, false);
        assert_eq!(error, None);
        assert_eq!(bars.len(), 2);
        assert_eq!(bars[0].close.to_string(), "1.07219");
        assert_eq!(bars[0].volume, 1413.0);
        assert_eq!(bad.count, 3);
        assert!(bad.first[0].contains("line 3: close: not a decimal number: \"oops\""), "{}", bad.first[0]);
        assert!(bad.first[1].contains("line 4: inconsistent bar"), "{}", bad.first[1]);
        assert!(bad.first[2].contains("line 5: timestamp 2017-04-19T08:30:00Z is not after"), "{}", bad.first[2]);
        let (_, _, error) = read_all(text, true);
        assert!(error.unwrap().contains("line 3"));
    }

    #[test]
    fn a_stray_quote_or_an_endless_field_is_one_bad_row_and_the_rest_is_read() {
        let text = format!(
            "date,open,high,low,close\n\"2020-01-01,1,2,0.5,1.5\n2020-01-02,1,2,0.5,{}\n2020-01-03,1,2,0.5,1.5\n\"2020-01-04\",\"1\",2,0.5,1.5\n",
            "9".repeat(2 << 20)
        );
        let (bars, bad, error) = read_all(&text, false);
        assert_eq!((bars.len(), error), (2, None), "{:?}", bad.first);
        assert_eq!(bad.count, 2);
        assert!(
            bad.first[0].ends_with("line 2: field 1 opens a quote that does not close on this line"),
            "{}",
            bad.first[0]
        );
        assert!(bad.first[1].contains("line 3: the line is 2097171 bytes long"), "{}", bad.first[1]);
        assert!(bad.first.iter().all(|m| m.len() < 200), "messages quote excerpts only");
    }

    #[test]
    fn columns_are_matched_case_insensitively_and_volume_is_optional() {
        let (bars, _, _) = read_all("date,CLOSE,low,HIGH,open\n2020-01-01,2,1,3,1.5\n", false);
        assert_eq!(bars.len(), 1);
        assert_eq!(
            (bars[0].open.to_string(), bars[0].close.to_string(), bars[0].volume),
            ("1.5".into(), "2".into(), 0.0)
        );
    }

    #[test]
    fn a_missing_column_is_named() {
        let error =
            read_with("missing-col", "date,open,high,low\n2020-01-01,1,2,0.5\n", Params::default()).err().unwrap();
        assert!(error.ends_with("line 1: no close column (header: date,open,high,low); for a file without a header row, name its columns with the columns parameter"), "{error}");
        let error = read_with(
            "bad-columns",
            "1,2,3\n",
            Params { columns: vec!["time".into(), "open".into()], ..Params::default() },
        )
        .err()
        .unwrap();
        assert_eq!(error, "parameter columns: no high column");
    }

    #[test]
    fn a_binance_kline_file_without_header_in_epoch_milliseconds() {
        let text = "1502942400000,4261.48000000,4313.62000000,4261.32000000,4308.83000000,47.18100900,1502945999999,202366.13839304,171,35.16050300,150952.47794304,7887.63551305\n\
                    1502946000000,4308.83000000,4330.29000000,4291.37000000,4315.32000000,23.23491600,1502949599999,100304.82356749,102,21.44807100,92608.27972836,7887.63551305\n";
        let read = read_with("binance", text, Params::default()).unwrap();
        assert_eq!((read.bad.count, read.error), (0, None), "{:?}", read.bad.first);
        assert_eq!(read.bars.len(), 2);
        assert_eq!(read.bars[0].ts, Timestamp(1_502_942_400_000_000_000));
        assert_eq!(closes(&read.bars), ["4308.83", "4315.32"]);
        assert_eq!(read.bars[0].volume, 47.181009);
        // The same with the columns named, the header row skipped because it is not a bar.
        let named = format!("open_time,o,h,l,c,v,close_time,q,n,tb,tq,i\n{text}");
        let columns = ["open_time", "open", "high", "low", "close", "volume", "close_time"].map(String::from).to_vec();
        let read = read_with("binance-named", &named, Params { columns, ..Params::default() }).unwrap();
        assert_eq!(closes(&read.bars), ["4308.83", "4315.32"]);
    }

    #[test]
    fn a_newest_first_nasdaq_file_with_dollars_is_reversed() {
        let text = "Date,Close/Last,Volume,Open,High,Low\n\
                    01/05/2024,$181.18,62379660,$181.99,$182.76,$180.17\n\
                    01/04/2024,$181.91,71983570,$182.15,$183.0872,$180.88\n\
                    01/04/2024,$181.91,71983570,$182.15,$183.0872,$180.88\n\
                    01/03/2024,$184.25,58414460,$184.22,$185.88,$183.43\n";
        let params = Params { time_format: "%m/%d/%Y".into(), ..Params::default() };
        let read = read_with("nasdaq", text, params).unwrap();
        assert_eq!(closes(&read.bars), ["184.25", "181.91", "181.18"], "oldest first");
        assert_eq!(read.bad.count, 1);
        assert!(
            read.bad.first[0].contains("line 4: timestamp") && read.bad.first[0].contains("newest-first"),
            "{}",
            read.bad.first[0]
        );
        assert_eq!(read.instrument.tick.to_string(), "0.0001", "the finest price (183.0872) sets the tick");
        assert_eq!(read.instrument.tick_origin, TickOrigin::Inferred);
    }

    #[test]
    fn pandas_offsets_and_a_yahoo_adjusted_close() {
        let text = "Date,Open,High,Low,Close,Adj Close,Volume\n\
                    2023-01-03 00:00:00+00:00,130.279999,130.899994,124.169998,125.070000,123.632530,112117500\n\
                    2023-01-04 00:00:00+00:00,126.889999,128.660004,125.080002,126.360001,124.907700,89113600\n";
        let plain = read_with("yahoo", text, Params::default()).unwrap();
        assert_eq!(closes(&plain.bars), ["125.07", "126.360001"]);
        assert_eq!(plain.bars[1].ts.0 - plain.bars[0].ts.0, 86_400_000_000_000);
        assert_eq!(plain.instrument.tick.to_string(), "0.000001");
        let adjusted = read_with("yahoo-adj", text, Params { adjusted: true, ..Params::default() }).unwrap();
        let bar = adjusted.bars[0];
        assert_eq!(bar.close.to_string(), "123.63253");
        // open × adj / close = 130.279999 × 123.632530 / 125.07 = 128.782648794..., kept to the
        // row's six decimals
        assert_eq!(bar.open.to_string(), "128.782649");
        assert_eq!(adjusted.instrument.tick.to_string(), "0.000001");
        assert!(bar.low <= bar.close && bar.close <= bar.high);
    }

    #[test]
    fn a_declared_tick_stays_and_off_tick_bars_are_still_read() {
        let mut instruments = InstrumentTable::default();
        instruments
            .declare(Instrument::new("EURUSD", "0.01".parse().unwrap(), tradsys_core::types::LotSize::ONE).unwrap())
            .unwrap();
        let path = scratch("declared.csv");
        std::fs::write(&path, "time,open,high,low,close\n2020-01-01,1.001,1.002,1.0,1.001\n").unwrap();
        let read = read_file(&path, Params::default(), &mut instruments).unwrap();
        assert_eq!((read.bars.len(), read.instrument.tick.to_string()), (1, "0.01".to_owned()));
        assert_eq!(read.instrument.tick_origin, TickOrigin::Declared);
    }

    #[test]
    fn a_gzip_file_reads_like_the_plain_one() {
        let text = "time,open,high,low,close\n2020-01-01,1,2,0.5,1.5\n2020-01-02,1.5,2,1,1.75\n";
        let path = scratch("bars.csv.gz");
        let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        gz.finish().unwrap();
        let read = read_file(&path, Params::default(), &mut InstrumentTable::default()).unwrap();
        assert_eq!(closes(&read.bars), ["1.5", "1.75"]);
        assert_eq!(read.instrument.tick.to_string(), "0.01");
    }

    #[test]
    fn a_file_without_one_usable_bar_is_an_error_naming_the_first_problem() {
        let error = read_with(
            "all-bad",
            "time,open,high,low,close\n2020-01-01,1,2,0.5,x\n2020-01-02,1,2,0.5,y\n",
            Params::default(),
        )
        .err()
        .unwrap();
        assert!(
            error
                .ends_with("no usable bars: all 2 rows are bad; the first, line 2: close: not a decimal number: \"x\""),
            "{error}"
        );
        let error = read_with("header-only", "time,open,high,low,close\n", Params::default()).err().unwrap();
        assert!(error.ends_with("no usable bars: the file has a header and no rows"), "{error}");
        // Beyond what is read ahead, the end of the file says it.
        let mut text = "time,open,high,low,close\n".to_owned();
        for day in 0..=AHEAD_ROWS {
            text.push_str(&format!("{},1,2,0.5,x\n", 86_400 * (day + 1)));
        }
        let read = read_with("many-bad", &text, Params::default()).unwrap();
        let error = read.error.unwrap();
        assert!(
            error.contains("no usable bars: all 10001 rows were skipped; the first:")
                && error.contains("line 2: close"),
            "{error}"
        );
        let error = read_with("empty", "", Params::default()).err().unwrap();
        assert!(error.ends_with("empty file; expected bars"), "{error}");
    }

    #[test]
    fn prices_are_read_as_files_write_them() {
        assert_eq!(parse_price(" $12.5 ").unwrap().to_string(), "12.5");
        assert_eq!(parse_price("151.60000610351562").unwrap().to_string(), "151.6000061");
        assert_eq!(parse_price("0.123456785").unwrap().to_string(), "0.12345679");
        assert_eq!(parse_price("-0.123456785").unwrap().to_string(), "-0.12345679");
        assert_eq!(parse_price("0.123456784999").unwrap().to_string(), "0.12345678");
        assert!(parse_price("$").is_err() && parse_price("12..5").is_err());
        // Junk after a ninth place is not a price to round: the row is bad.
        assert!(matches!(parse_price("0.123456789x"), Err(ParsePriceError::NotDecimal(_))));
        assert_eq!((decimals(0), decimals(100_000_000), decimals(123_450_000), decimals(1)), (0, 0, 4, 8));
        assert_eq!(scaled(13_027_999_900, 12_363_253_000, 12_507_000_000, 1), 12_878_264_879);
        assert_eq!(scaled(13_027_999_900, 12_363_253_000, 12_507_000_000, 100), 12_878_264_900);
        assert_eq!(scaled(-13_027_999_900, 12_363_253_000, 12_507_000_000, 100), -12_878_264_900);
    }

    /// Parquet files, written here with arrow-rs's writer in the types pandas, polars and Spark use.
    #[cfg(feature = "parquet")]
    mod parquet_files {
        use std::sync::Arc;

        use arrow_array::{
            ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray,
            TimestampMicrosecondArray,
        };

        use super::*;

        fn write(name: &str, columns: Vec<(&str, ArrayRef)>) -> std::path::PathBuf {
            let path = scratch(&format!("{name}.parquet"));
            let batch = RecordBatch::try_from_iter(columns).unwrap();
            let file = std::fs::File::create(&path).unwrap();
            let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
            writer.write(&batch).unwrap();
            writer.close().unwrap();
            path
        }

        fn read_parquet(path: &std::path::Path, params: Params) -> Result<Read, String> {
            read_file(path, params, &mut InstrumentTable::default())
        }

        fn floats(values: &[f64]) -> ArrayRef {
            Arc::new(Float64Array::from(values.to_vec()))
        }

        #[test]
        fn a_pandas_file_gives_the_bars_its_csv_gives() {
            // pandas' to_parquet of a DatetimeIndex named Date: timestamp[us] after the prices.
            let hour = 3_600_000_000_i64;
            let start = 1_492_592_400_000_000_i64;
            let path = write(
                "pandas",
                vec![
                    ("Open", floats(&[1.0716, 1.07214, 1.0726])),
                    ("High", floats(&[1.0722, 1.07296, 1.073])),
                    ("Low", floats(&[1.07083, 1.07214, 1.072])),
                    ("Close", floats(&[1.07219, 1.07255, 1.0725])),
                    ("Volume", Arc::new(Int64Array::from(vec![1413, 1241, 10]))),
                    (
                        "Date",
                        Arc::new(
                            TimestampMicrosecondArray::from(vec![start, start + hour, start + 2 * hour])
                                .with_timezone("UTC"),
                        ),
                    ),
                ],
            );
            let parquet = read_parquet(&path, Params::default()).unwrap();
            let csv = read_with(
                "pandas-twin",
                "Date,Open,High,Low,Close,Volume
2017-04-19 09:00:00,1.0716,1.0722,1.07083,1.07219,1413
2017-04-19 10:00:00,1.07214,1.07296,1.07214,1.07255,1241
2017-04-19 11:00:00,1.0726,1.073,1.072,1.0725,10
",
                Params::default(),
            )
            .unwrap();
            assert_eq!(parquet.error, None);
            assert_eq!(parquet.bars, csv.bars);
            assert_eq!(parquet.bars.len(), 3);
            // The tick is inferred from the floats' decimals as from the CSV's text.
            assert_eq!(parquet.instrument.tick, csv.instrument.tick);
            assert_eq!(parquet.instrument.tick.to_string(), "0.00001");
        }

        #[test]
        fn dates_decimals_text_and_epoch_integers_are_read() {
            let decimals = |values: &[i128]| -> ArrayRef {
                Arc::new(Decimal128Array::from(values.to_vec()).with_precision_and_scale(18, 4).unwrap())
            };
            let path = write(
                "dates-decimals",
                vec![
                    ("date", Arc::new(Date32Array::from(vec![17_275, 17_276]))),
                    ("open", decimals(&[10_716, 10_721])),
                    ("high", decimals(&[10_722, 10_729])),
                    ("low", decimals(&[10_708, 10_721])),
                    ("close", decimals(&[10_721, 10_725])),
                ],
            );
            let read = read_parquet(&path, Params::default()).unwrap();
            assert_eq!(read.error, None);
            assert_eq!(read.bars[0].ts.to_string(), "2017-04-19T00:00:00Z");
            assert_eq!(closes(&read.bars), ["1.0721", "1.0725"]);

            // Binance klines as polars writes them: epoch milliseconds, prices as text.
            let text = |values: &[&str]| -> ArrayRef { Arc::new(StringArray::from(values.to_vec())) };
            let path = write(
                "klines",
                vec![
                    ("open_time", Arc::new(Int64Array::from(vec![1_704_067_200_000, 1_704_070_800_000]))),
                    ("open", text(&["42283.58", "42475.23"])),
                    ("high", text(&["42554.57", "42775.00"])),
                    ("low", text(&["42261.02", "42431.65"])),
                    ("close", text(&["42475.23", "42613.56"])),
                    ("volume", floats(&[1271.68, 1196.37])),
                ],
            );
            let read = read_parquet(&path, Params::default()).unwrap();
            assert_eq!(read.error, None);
            assert_eq!(read.bars[1].ts.to_string(), "2024-01-01T01:00:00Z");
            assert_eq!(closes(&read.bars), ["42475.23", "42613.56"]);
            assert!((read.bars[0].volume - 1271.68).abs() < 1e-9);
        }

        #[test]
        fn nulls_and_bad_bars_are_skipped_by_row_number() {
            let path = write(
                "nulls",
                vec![
                    (
                        "time",
                        Arc::new(Int64Array::from(vec![
                            Some(1_704_067_200),
                            Some(1_704_067_260),
                            None,
                            Some(1_704_067_380),
                        ])),
                    ),
                    ("open", floats(&[1.0, 1.0, 1.0, 1.0])),
                    ("high", floats(&[2.0, 2.0, 2.0, 0.5])),
                    ("low", floats(&[0.5, 0.5, 0.5, 0.25])),
                    ("close", Arc::new(Float64Array::from(vec![Some(1.5), None, Some(1.5), Some(0.4)]))),
                ],
            );
            let read = read_parquet(&path, Params::default()).unwrap();
            assert_eq!(read.bars.len(), 1);
            assert_eq!(read.bad.count, 3);
            let shown = path.display();
            assert_eq!(read.bad.first[0], format!("{shown}: row 2: close: missing (null)"));
            assert_eq!(read.bad.first[1], format!("{shown}: row 3: missing (null)"));
            assert!(
                read.bad.first[2].starts_with(&format!("{shown}: row 4: inconsistent bar")),
                "{:?}",
                read.bad.first
            );
        }

        #[test]
        fn a_newest_first_file_is_reversed() {
            let path = write(
                "newest-first",
                vec![
                    ("time", Arc::new(Int64Array::from(vec![1_704_067_320, 1_704_067_260, 1_704_067_200]))),
                    ("open", floats(&[3.0, 2.0, 1.0])),
                    ("high", floats(&[3.0, 2.0, 1.0])),
                    ("low", floats(&[3.0, 2.0, 1.0])),
                    ("close", floats(&[3.0, 2.0, 1.0])),
                ],
            );
            let read = read_parquet(&path, Params::default()).unwrap();
            assert_eq!(closes(&read.bars), ["1", "2", "3"]);
        }

        #[test]
        fn missing_columns_and_unusable_types_are_refused_before_the_run() {
            let path = write("no-close", vec![("time", Arc::new(Int64Array::from(vec![1]))), ("open", floats(&[1.0]))]);
            let error = read_parquet(&path, Params::default()).err().unwrap_or_default();
            assert!(
                error.contains("no high column (columns: time, open); name them with the columns parameter"),
                "{error}"
            );
            let path = write(
                "bool-time",
                vec![
                    ("time", Arc::new(BooleanArray::from(vec![true]))),
                    ("open", floats(&[1.0])),
                    ("high", floats(&[1.0])),
                    ("low", floats(&[1.0])),
                    ("close", floats(&[1.0])),
                ],
            );
            let error = read_parquet(&path, Params::default()).err().unwrap_or_default();
            assert!(
                error.contains("column time: type Boolean; expected a timestamp, a date, epoch integers or text"),
                "{error}"
            );
            let path = scratch("not-parquet.parquet");
            std::fs::write(&path, "time,open\n").unwrap();
            let error = read_parquet(&path, Params::default()).err().unwrap_or_default();
            assert!(error.contains("not a readable Parquet file"), "{error}");
        }
    }
}
