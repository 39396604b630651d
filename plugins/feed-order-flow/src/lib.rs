//! `order-flow`: replays an order-flow file (the `replay` format) into the session's book.
//!
//! Rows carry their time in an optional `ts` column (nanoseconds since the epoch); a file without it
//! gets `start + row × step_us` microseconds. Malformed rows are reported with their line number and
//! skipped (`strict = true` stops the run instead). The file is streamed.
//!
//! ```toml
//! [feed]
//! plugin = "order-flow"
//! params = { path = "examples/data/orders-sample.csv" }
//! ```

#![deny(unsafe_code)]

use std::fs::File;
use std::io::BufReader;

use serde::{Deserialize, Serialize};
use tradsys_core::component::{ComponentError, Feed, FeedContext, FeedData, FeedError, InitContext};
use tradsys_core::limits::{TIMESTAMP_YEARS, timestamp_range};
use tradsys_core::lines::LineReader;
use tradsys_core::market::{MarketEvent, OrderFlowEvent};
use tradsys_core::orderflow::{OrderFlowParser, RowError};
use tradsys_core::plugin::{Capability, Plugin};
use tradsys_core::types::Timestamp;

/// Replays an order-flow CSV file.
#[derive(Debug)]
pub struct OrderFlowFeed {
    params: Params,
    reader: Option<LineReader<BufReader<File>>>,
    parser: Option<OrderFlowParser>,
    rows: i64,
}

tradsys_core::plugin_params! {
    /// Parameters of `order-flow`.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Params {
        /// The order-flow CSV file.
        pub path: String,
        /// Time of the first row without a `ts`, nanoseconds since the epoch (years 1678 to 2261).
        pub start_ns: i64,
        /// Time between rows without a `ts`, microseconds (0 or more).
        /// Range: >= 0
        pub step_us: i64,
        /// Stop at the first malformed row instead of skipping it.
        pub strict: bool,
    }
}

impl Default for Params {
    fn default() -> Params {
        Params { path: String::new(), start_ns: 0, step_us: 1000, strict: false }
    }
}

impl Plugin for OrderFlowFeed {
    type Params = Params;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = Params::PARAM_DOCS;
    const SUMMARY: &'static str =
        "replays an order-flow CSV file (action,id,symbol,side,type,price,qty,tif,owner[,ts])";
    const CAPABILITIES: &'static [Capability] = &[Capability::ReadFiles];
    const FILE_PARAMS: &'static [&'static str] = &["path"];

    fn build(params: Params) -> Result<Self, ComponentError> {
        if params.path.is_empty() {
            return Err(ComponentError::new("parameter path is required: the order-flow CSV file"));
        }
        if params.step_us < 0 || params.step_us.checked_mul(1000).is_none() {
            return Err(ComponentError::new(format!(
                "step_us must be from 0 to {}, got {}",
                i64::MAX / 1000,
                params.step_us
            )));
        }
        let (first, last) = timestamp_range();
        if !(first.0..=last.0).contains(&params.start_ns) {
            return Err(ComponentError::new(format!(
                "start_ns {} is outside the years {} to {}",
                params.start_ns, TIMESTAMP_YEARS.0, TIMESTAMP_YEARS.1
            )));
        }
        Ok(OrderFlowFeed { params, reader: None, parser: None, rows: 0 })
    }
}

impl OrderFlowFeed {
    /// The time of the next row without a `ts`: `start + rows × step`, if it is in the timestamp
    /// range (it never wraps).
    fn stepped_time(&self) -> Result<Timestamp, FeedError> {
        let last = timestamp_range().1;
        self.rows
            .checked_mul(self.params.step_us * 1000)
            .and_then(|offset| self.params.start_ns.checked_add(offset))
            .filter(|ns| *ns <= last.0)
            .map(Timestamp)
            .ok_or_else(|| {
                FeedError(format!(
                    "{}: row {}: start_ns + rows × step_us leaves the timestamp range (years {} to {}); lower step_us or give rows a ts",
                    self.params.path,
                    self.rows + 1,
                    TIMESTAMP_YEARS.0,
                    TIMESTAMP_YEARS.1
                ))
            })
    }
}

impl Feed for OrderFlowFeed {
    fn init(&mut self, _ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        let path = &self.params.path;
        let file = File::open(path).map_err(|e| ComponentError::new(format!("{path}: cannot open: {e}")))?;
        let mut reader = LineReader::new(BufReader::with_capacity(1 << 20, file));
        let header = match reader.next_line().map_err(|e| ComponentError::new(format!("{path}: {e}")))? {
            None => return Err(ComponentError::new(format!("{path}: empty file; expected a header row"))),
            Some((_, Err(error))) => return Err(ComponentError::new(format!("{path}: line 1: {error}"))),
            Some((_, Ok(header))) => header,
        };
        let parser = OrderFlowParser::from_header(header).map_err(|e| ComponentError::new(format!("{path}: {e}")))?;
        self.parser = Some(parser);
        self.reader = Some(reader);
        Ok(())
    }

    fn data(&self) -> FeedData {
        FeedData::OrderFlow
    }

    fn next_event(&mut self, ctx: &mut FeedContext<'_>) -> Result<Option<MarketEvent>, FeedError> {
        loop {
            let (Some(reader), Some(parser)) = (self.reader.as_mut(), self.parser.as_mut()) else {
                return Err(FeedError("order-flow: not initialized".to_owned()));
            };
            let path = &self.params.path;
            let parsed = match reader.next_line().map_err(|e| FeedError(format!("{path}: {e}")))? {
                None => return Ok(None),
                Some((_, Ok(text))) if text.trim().is_empty() => continue,
                Some((line, Ok(text))) => parser.parse(text, line, ctx.instruments_mut()),
                Some((line, Err(error))) => Err(RowError { line, message: error.to_string() }),
            };
            match parsed {
                Ok(row) => {
                    let ts = match row.ts {
                        Some(ts) => ts,
                        None => self.stepped_time()?,
                    };
                    self.rows += 1;
                    return Ok(Some(MarketEvent::Order(OrderFlowEvent { ts, command: row.command })));
                }
                Err(error) => {
                    let message = format!("{path}: {error}");
                    if self.params.strict {
                        return Err(FeedError(message));
                    }
                    ctx.skip_row(message);
                }
            }
        }
    }
}

tradsys_core::register_feed!(OrderFlowFeed, "order-flow", "1.0.0");

#[cfg(test)]
mod tests {
    use tradsys_core::component::BadRows;
    use tradsys_core::instrument::InstrumentTable;

    use super::*;

    /// Every event time and the outcome of reading `content` with `params` (path filled in).
    fn read(name: &str, content: &[u8], params: Params) -> (Vec<i64>, BadRows, Option<String>) {
        let path = std::env::temp_dir().join(format!("order-flow-feed-test-{name}.csv"));
        std::fs::write(&path, content).unwrap();
        let mut feed = OrderFlowFeed::build(Params { path: path.display().to_string(), ..params }).unwrap();
        let mut instruments = InstrumentTable::default();
        feed.init(&mut InitContext::new("feed", &mut instruments, 1)).unwrap();
        let mut bad_rows = BadRows::default();
        let mut times = Vec::new();
        let error = loop {
            let mut ctx = FeedContext::new(&mut instruments, &mut bad_rows);
            match feed.next_event(&mut ctx) {
                Ok(Some(MarketEvent::Order(flow))) => times.push(flow.ts.0),
                Ok(_) => break None,
                Err(error) => break Some(error.0),
            }
        };
        (times, bad_rows, error)
    }

    const HEADER: &str = "action,id,symbol,side,type,price,qty,tif,owner\n";

    #[test]
    fn an_endless_line_and_invalid_utf8_are_bad_rows_with_their_numbers() {
        let mut content = HEADER.as_bytes().to_vec();
        content.extend(std::iter::repeat_n(b'9', 3 << 20));
        content.extend_from_slice(b"\nnew,1,X,buy,limit,1,5,gtc,\xff\nnew,2,X,buy,limit,1,5,gtc,\n");
        let (times, bad, error) = read("bad-lines", &content, Params::default());
        assert_eq!((times.len(), error), (1, None));
        assert_eq!(bad.count, 2);
        assert!(
            bad.first[0].ends_with("line 2: the line is 3145728 bytes long; lines of at most 1048576 bytes are read"),
            "{}",
            bad.first[0]
        );
        assert!(bad.first[1].ends_with("line 3: not UTF-8 text (invalid byte at column 27)"), "{}", bad.first[1]);
    }

    #[test]
    fn stepped_times_never_wrap_and_bad_starts_are_refused_when_built() {
        let rows =
            format!("{HEADER}new,1,X,buy,limit,1,5,gtc,\nnew,2,X,buy,limit,1,5,gtc,\nnew,3,X,buy,limit,1,5,gtc,\n");
        let params = Params { start_ns: 9_100_000_000_000_000_000, step_us: 100_000_000_000_000, ..Params::default() };
        let (times, _, error) = read("wrap", rows.as_bytes(), params);
        assert_eq!(times, [9_100_000_000_000_000_000, 9_200_000_000_000_000_000]);
        assert!(error.unwrap().contains("row 3: start_ns + rows × step_us leaves the timestamp range"));
        for params in
            [Params { start_ns: i64::MAX, ..Params::default() }, Params { step_us: i64::MAX, ..Params::default() }]
        {
            assert!(OrderFlowFeed::build(Params { path: "x.csv".into(), ..params }).is_err());
        }
    }

    #[test]
    fn rows_become_timed_order_events_and_bad_rows_are_skipped() {
        let path = std::env::temp_dir().join("order-flow-feed-test.csv");
        std::fs::write(&path, "action,id,symbol,side,type,price,qty,tif,owner\nnew,1,X,buy,limit,1,5,gtc,\nnew,2,X,up,limit,1,5,gtc,\ncancel,1,X,,,,,,\n").unwrap();
        let mut feed =
            OrderFlowFeed::build(Params { path: path.display().to_string(), step_us: 10, ..Params::default() })
                .unwrap();
        let mut instruments = InstrumentTable::default();
        feed.init(&mut InitContext::new("feed", &mut instruments, 1)).unwrap();
        let mut bad_rows = BadRows::default();
        let mut times = Vec::new();
        loop {
            let mut ctx = FeedContext::new(&mut instruments, &mut bad_rows);
            match feed.next_event(&mut ctx).unwrap() {
                Some(MarketEvent::Order(flow)) => times.push(flow.ts.0),
                _ => break,
            }
        }
        assert_eq!(times, [0, 10_000]);
        assert_eq!(bad_rows.count, 1);
        assert!(bad_rows.first[0].ends_with("line 3: side must be buy or sell, got \"up\""), "{}", bad_rows.first[0]);
    }
}
