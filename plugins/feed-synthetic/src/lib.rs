//! `synthetic`: a seeded, deterministic synthetic order flow (core's generator, the same one
//! `tradsys gen orders` writes), replayed into the session's book.
//!
//! Same `seed` (by default the session's seed), same flow, byte for byte.
//!
//! ```toml
//! [feed]
//! plugin = "synthetic"
//! params = { count = 1000000, profile = "exchange-core" }
//! ```

#![deny(unsafe_code)]

use serde::{Deserialize, Serialize};
use tradsys_core::component::{ComponentError, Feed, FeedContext, FeedData, FeedError, InitContext, Lifecycle};
use tradsys_core::market::{MarketEvent, OrderFlowEvent};
use tradsys_core::orderflow::OrderCommand;
use tradsys_core::orderflow::generator::{GeneratorConfig, OrderFlowGenerator, Profile};
use tradsys_core::plugin::Plugin;
use tradsys_core::types::{InstrumentId, Timestamp};

/// Replays a generated order flow.
#[derive(Debug)]
pub struct SyntheticFeed {
    params: Params,
    generator: Option<OrderFlowGenerator>,
    /// Generator instrument id → session instrument id.
    instruments: Vec<InstrumentId>,
    rows: i64,
}

/// Parameters of `synthetic`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Commands to generate.
    pub count: u64,
    /// `exchange-core` or `multi-symbol`.
    pub profile: Profile,
    /// Symbols of the multi-symbol profile.
    pub symbols: u32,
    /// Seed; the session's seed (mixed with this component's id) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Time of the first command, nanoseconds since the epoch.
    pub start_ns: i64,
    /// Time between commands, microseconds.
    pub step_us: i64,
}

impl Default for Params {
    fn default() -> Params {
        Params { count: 100_000, profile: Profile::ExchangeCore, symbols: 16, seed: None, start_ns: 0, step_us: 1000 }
    }
}

impl Plugin for SyntheticFeed {
    type Params = Params;
    const SUMMARY: &'static str = "seeded synthetic order flow (exchange-core mix or many symbols)";

    fn build(params: Params) -> Result<Self, ComponentError> {
        if params.step_us < 0 {
            return Err(ComponentError::new(format!("step_us must not be negative, got {}", params.step_us)));
        }
        Ok(SyntheticFeed { params, generator: None, instruments: Vec::new(), rows: 0 })
    }
}

impl Lifecycle for SyntheticFeed {
    fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        let generator = OrderFlowGenerator::new(GeneratorConfig {
            profile: self.params.profile,
            count: self.params.count,
            seed: self.params.seed.unwrap_or(ctx.seed()),
            symbols: self.params.symbols,
        });
        self.instruments.clear();
        for (_, instrument) in generator.instruments().iter() {
            self.instruments.push(ctx.instrument(&instrument.symbol)?);
        }
        self.generator = Some(generator);
        Ok(())
    }
}

impl Feed for SyntheticFeed {
    fn data(&self) -> FeedData {
        FeedData::OrderFlow
    }

    fn next_event(&mut self, _ctx: &mut FeedContext<'_>) -> Result<Option<MarketEvent>, FeedError> {
        let Some(generator) = self.generator.as_mut() else {
            return Err(FeedError("synthetic: not initialized".to_owned()));
        };
        let Some(mut command) = generator.next() else { return Ok(None) };
        let map = |id: InstrumentId| self.instruments[id.0 as usize];
        match &mut command {
            OrderCommand::New { instrument, .. } => *instrument = map(*instrument),
            OrderCommand::Cancel { instrument, .. } | OrderCommand::Modify { instrument, .. } => {
                *instrument = instrument.map(map)
            }
        }
        let ts = Timestamp(self.params.start_ns + self.rows * self.params.step_us * 1000);
        self.rows += 1;
        Ok(Some(MarketEvent::Order(OrderFlowEvent { ts, command })))
    }
}

tradsys_core::register_feed!(SyntheticFeed, "synthetic", "1.0.0");

#[cfg(test)]
mod tests {
    use tradsys_core::component::BadRows;
    use tradsys_core::instrument::InstrumentTable;

    use super::*;

    fn events(seed: Option<u64>) -> Vec<MarketEvent> {
        let mut feed = SyntheticFeed::build(Params { count: 500, seed, ..Params::default() }).unwrap();
        let mut instruments = InstrumentTable::default();
        instruments.resolve("OTHER").unwrap();
        feed.init(&mut InitContext::new("feed", &mut instruments, 9)).unwrap();
        let mut bad_rows = BadRows::default();
        let mut out = Vec::new();
        while let Some(event) =
            feed.next_event(&mut FeedContext { instruments: &mut instruments, bad_rows: &mut bad_rows }).unwrap()
        {
            out.push(event);
        }
        out
    }

    #[test]
    fn deterministic_and_mapped_to_session_instruments() {
        let first = events(Some(3));
        assert_eq!(first.len(), 500);
        assert_eq!(first, events(Some(3)));
        assert_ne!(first, events(Some(4)));
        let MarketEvent::Order(OrderFlowEvent { command: OrderCommand::New { instrument, .. }, .. }) = first[0] else {
            panic!("the first command is a new order");
        };
        assert_eq!(instrument, InstrumentId(1), "XYZ comes after the pre-declared OTHER");
    }
}
