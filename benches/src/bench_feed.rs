//! `bench-bars`: an in-memory bar feed registered by the benches, so bar-mode throughput can be
//! measured without CSV parsing (the `bars-csv` figure is measured separately): a random walk, or
//! the bars of a CSV file read whole before the session starts (the side-by-side script's bars).

use serde::{Deserialize, Serialize};
use tradsys_core::component::{ComponentError, Feed, FeedContext, FeedData, FeedError, InitContext};
use tradsys_core::market::{Bar, MarketEvent};
use tradsys_core::plugin::Plugin;
use tradsys_core::rng::SplitMix64;
use tradsys_core::types::{InstrumentId, Price, Timestamp};

/// Random-walk bars generated on the fly.
#[derive(Debug)]
pub struct BenchBarsFeed {
    params: Params,
    /// The file's bars, when `path` is set (emitted in order instead of the walk).
    loaded: Vec<Bar>,
    rng: SplitMix64,
    instrument: InstrumentId,
    emitted: u64,
    ticks: i64,
}

/// Parameters of `bench-bars`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Bars to emit.
    pub count: u64,
    /// Symbol (tick 0.01).
    pub symbol: String,
    /// A bars CSV (`time,open,high,low,close,volume`, one header line) to emit instead of the walk,
    /// read whole at init; `count` then caps how many of its bars are emitted.
    #[serde(default)]
    pub path: Option<String>,
}

impl Default for Params {
    fn default() -> Params {
        Params { count: 1_000_000, symbol: "BENCH".to_owned(), path: None }
    }
}

impl Plugin for BenchBarsFeed {
    type Params = Params;
    const SUMMARY: &'static str = "bench: in-memory random-walk bars";
    fn build(params: Params) -> Result<Self, ComponentError> {
        Ok(BenchBarsFeed {
            params,
            loaded: Vec::new(),
            rng: SplitMix64::new(1),
            instrument: InstrumentId(0),
            emitted: 0,
            ticks: 10_000,
        })
    }
}

impl Feed for BenchBarsFeed {
    fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        self.instrument = ctx.instrument(&self.params.symbol)?;
        if let Some(path) = &self.params.path {
            self.loaded = load(path, self.instrument)?;
        }
        Ok(())
    }

    fn data(&self) -> FeedData {
        FeedData::Bars
    }

    #[inline]
    fn next_event(&mut self, _ctx: &mut FeedContext<'_>) -> Result<Option<MarketEvent>, FeedError> {
        if self.emitted == self.params.count {
            return Ok(None);
        }
        if self.params.path.is_some() {
            let bar = self.loaded.get(self.emitted as usize).copied();
            self.emitted += 1;
            return Ok(bar.map(MarketEvent::Bar));
        }
        self.emitted += 1;
        let open = self.ticks;
        let step = self.rng.below(21) as i64 - 10;
        self.ticks = (self.ticks + step).max(100);
        let close = self.ticks;
        let price = |t: i64| Price::from_raw(t * 1_000_000);
        Ok(Some(MarketEvent::Bar(Bar {
            ts: Timestamp(self.emitted as i64 * 60_000_000_000),
            instrument: self.instrument,
            open: price(open),
            high: price(open.max(close) + 2),
            low: price(open.min(close) - 2),
            close: price(close),
            volume: 100.0,
        })))
    }
}

/// The bars of the CSV at `path`, one minute apart (the time column is not read: the figure is
/// the session's, not the parser's).
fn load(path: &str, instrument: InstrumentId) -> Result<Vec<Bar>, ComponentError> {
    let text = std::fs::read_to_string(path).map_err(|e| ComponentError::new(format!("{path}: {e}")))?;
    let mut bars = Vec::new();
    for (number, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let price = |at: usize| -> Result<Price, ComponentError> {
            let field =
                fields.get(at).ok_or_else(|| ComponentError::new(format!("{path}:{}: short row", number + 1)))?;
            field.parse().map_err(|e| ComponentError::new(format!("{path}:{}: {field:?}: {e}", number + 1)))
        };
        bars.push(Bar {
            ts: Timestamp((bars.len() as i64 + 1) * 60_000_000_000),
            instrument,
            open: price(1)?,
            high: price(2)?,
            low: price(3)?,
            close: price(4)?,
            volume: 100.0,
        });
    }
    Ok(bars)
}

tradsys_core::register_feed!(BenchBarsFeed, "bench-bars", "1.0.0");
