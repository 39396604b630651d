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
use std::io::{BufRead, BufReader};

use serde::{Deserialize, Serialize};
use tradsys_core::component::{ComponentError, Feed, FeedContext, FeedData, FeedError, InitContext};
use tradsys_core::market::{MarketEvent, OrderFlowEvent};
use tradsys_core::orderflow::OrderFlowParser;
use tradsys_core::plugin::{Capability, Plugin};
use tradsys_core::types::Timestamp;

/// Replays an order-flow CSV file.
#[derive(Debug)]
pub struct OrderFlowFeed {
    params: Params,
    reader: Option<BufReader<File>>,
    parser: Option<OrderFlowParser>,
    line: String,
    line_no: u64,
    rows: i64,
}

/// Parameters of `order-flow`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The order-flow CSV file.
    pub path: String,
    /// Time of the first row without a `ts`, nanoseconds since the epoch.
    pub start_ns: i64,
    /// Time between rows without a `ts`, microseconds.
    pub step_us: i64,
    /// Stop at the first malformed row instead of skipping it.
    pub strict: bool,
}

impl Default for Params {
    fn default() -> Params {
        Params { path: String::new(), start_ns: 0, step_us: 1000, strict: false }
    }
}

impl Plugin for OrderFlowFeed {
    type Params = Params;
    const SUMMARY: &'static str =
        "replays an order-flow CSV file (action,id,symbol,side,type,price,qty,tif,owner[,ts])";
    const CAPABILITIES: &'static [Capability] = &[Capability::ReadFiles];

    fn build(params: Params) -> Result<Self, ComponentError> {
        if params.path.is_empty() {
            return Err(ComponentError::new("parameter path is required: the order-flow CSV file"));
        }
        if params.step_us < 0 {
            return Err(ComponentError::new(format!("step_us must not be negative, got {}", params.step_us)));
        }
        Ok(OrderFlowFeed { params, reader: None, parser: None, line: String::new(), line_no: 0, rows: 0 })
    }
}

impl Feed for OrderFlowFeed {
    fn init(&mut self, _ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        let path = &self.params.path;
        let file = File::open(path).map_err(|e| ComponentError::new(format!("{path}: cannot open: {e}")))?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        self.line.clear();
        reader.read_line(&mut self.line).map_err(|e| ComponentError::new(format!("{path}: {e}")))?;
        let parser =
            OrderFlowParser::from_header(&self.line).map_err(|e| ComponentError::new(format!("{path}: {e}")))?;
        self.line_no = 1;
        self.parser = Some(parser);
        self.reader = Some(reader);
        Ok(())
    }

    fn data(&self) -> FeedData {
        FeedData::OrderFlow
    }

    fn next_event(&mut self, ctx: &mut FeedContext<'_>) -> Result<Option<MarketEvent>, FeedError> {
        let (Some(reader), Some(parser)) = (self.reader.as_mut(), self.parser.as_mut()) else {
            return Err(FeedError("order-flow: not initialized".to_owned()));
        };
        loop {
            self.line.clear();
            let read = reader.read_line(&mut self.line).map_err(|e| FeedError(format!("{}: {e}", self.params.path)))?;
            if read == 0 {
                return Ok(None);
            }
            self.line_no += 1;
            if self.line.trim().is_empty() {
                continue;
            }
            match parser.parse(&self.line, self.line_no, ctx.instruments) {
                Ok(row) => {
                    let ts = row.ts.unwrap_or(Timestamp(self.params.start_ns + self.rows * self.params.step_us * 1000));
                    self.rows += 1;
                    return Ok(Some(MarketEvent::Order(OrderFlowEvent { ts, command: row.command })));
                }
                Err(error) => {
                    let message = format!("{}: {error}", self.params.path);
                    if self.params.strict {
                        return Err(FeedError(message));
                    }
                    ctx.bad_rows.record(message);
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
            let mut ctx = FeedContext { instruments: &mut instruments, bad_rows: &mut bad_rows };
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
