//! `bench-bars`: an in-memory random-walk bar feed registered by the benches, so bar-mode throughput
//! can be measured without CSV parsing (the `bars-csv` figure is measured separately).

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
}

impl Default for Params {
    fn default() -> Params {
        Params { count: 1_000_000, symbol: "BENCH".to_owned() }
    }
}

impl Plugin for BenchBarsFeed {
    type Params = Params;
    const SUMMARY: &'static str = "bench: in-memory random-walk bars";
    fn build(params: Params) -> Result<Self, ComponentError> {
        Ok(BenchBarsFeed { params, rng: SplitMix64::new(1), instrument: InstrumentId(0), emitted: 0, ticks: 10_000 })
    }
}

impl Feed for BenchBarsFeed {
    fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        self.instrument = ctx.instrument(&self.params.symbol)?;
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

tradsys_core::register_feed!(BenchBarsFeed, "bench-bars", "1.0.0");
