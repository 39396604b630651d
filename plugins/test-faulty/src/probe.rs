//! `probe-strategy`: proves, under run-time swaps, that every bar reached exactly one instance and
//! that the fills an instance was told about add up to the position the session books.
//!
//! Bars must come `step_s` seconds apart. Each instance checks every bar against the last one seen
//! (its own, or its predecessor's, handed over in a snapshot): a gap or a repeat panics, which
//! fails the strategy and shows in the report. It tracks its position from `on_fill` and panics
//! if that ever differs from the session's. Every `flip_every` bars it trades to alternate between
//! `qty` long and flat, so fills happen across swaps.

use serde::{Deserialize, Serialize};
use tradsys_core::component::{
    ComponentError, FillReport, Handover, InitContext, OrderRequest, Strategy, StrategyContext, StrategySnapshot,
};
use tradsys_core::market::Bar;
use tradsys_core::plugin::{Capability, Plugin};
use tradsys_core::types::{InstrumentId, Qty, Side};

const NAME: &str = "probe-strategy";

/// Parameters of `probe-strategy`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeParams {
    /// Seconds between two bars.
    pub step_s: i64,
    /// Bars between two trades.
    pub flip_every: u64,
    /// Lots when long.
    pub qty: i64,
}

impl Default for ProbeParams {
    fn default() -> Self {
        ProbeParams { step_s: 60, flip_every: 10, qty: 1 }
    }
}

/// What one instance hands the next.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Memory {
    /// Nanosecond time of the last bar seen.
    last_ts: Option<i64>,
    /// Bars seen by every instance so far.
    seen: u64,
    /// The position the fills told about add up to.
    position: i64,
}

/// See the module docs.
#[derive(Debug)]
pub struct ProbeStrategy {
    params: ProbeParams,
    instrument: InstrumentId,
    memory: Memory,
}

impl Plugin for ProbeStrategy {
    type Params = ProbeParams;
    const SUMMARY: &'static str = "test: checks each bar arrives exactly once across swaps";
    const CAPABILITIES: &'static [Capability] = &[Capability::ReadPosition, Capability::SubmitOrders];

    fn build(params: ProbeParams) -> Result<Self, ComponentError> {
        if params.step_s <= 0 || params.flip_every == 0 || params.qty <= 0 {
            return Err(ComponentError::new("step_s, flip_every and qty must be positive"));
        }
        Ok(ProbeStrategy { params, instrument: InstrumentId(0), memory: Memory::default() })
    }
}

impl Strategy for ProbeStrategy {
    fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        self.instrument = ctx.instrument_or_primary("")?;
        Ok(())
    }

    fn on_bar(&mut self, bar: &Bar, ctx: &mut StrategyContext<'_>) {
        let step = self.params.step_s * 1_000_000_000;
        if let Some(last) = self.memory.last_ts {
            assert!(bar.ts.0 - last == step, "probe: bar at {} after {last}: a bar was skipped or repeated", bar.ts.0);
        }
        self.memory.last_ts = Some(bar.ts.0);
        self.memory.seen += 1;
        let booked = ctx.position(self.instrument).expect("probe: read-position is declared").0;
        assert!(
            booked == self.memory.position,
            "probe: fills add up to {}, the session books {booked}",
            self.memory.position
        );
        if self.memory.seen.is_multiple_of(self.params.flip_every) {
            let long = (self.memory.seen / self.params.flip_every).is_multiple_of(2);
            let change = if long { self.params.qty } else { 0 } - booked;
            if change != 0 {
                let side = if change > 0 { Side::Buy } else { Side::Sell };
                ctx.submit(OrderRequest::market(self.instrument, side, Qty(change.abs())));
            }
        }
    }

    fn on_fill(&mut self, fill: &FillReport, _ctx: &mut StrategyContext<'_>) {
        self.memory.position += match fill.side {
            Side::Buy => fill.qty.0,
            Side::Sell => -fill.qty.0,
        };
    }

    fn snapshot(&self) -> Option<StrategySnapshot> {
        StrategySnapshot::new(NAME, &self.memory).ok()
    }

    fn take_over(&mut self, handover: &Handover<'_>) -> Result<(), ComponentError> {
        match handover.snapshot.map(|s| s.read::<Memory>(NAME)).transpose()?.flatten() {
            Some(memory) => self.memory = memory,
            None => return Err(ComponentError::new("probe-strategy continues only from a probe-strategy")),
        }
        Ok(())
    }
}

tradsys_core::register_strategy!(ProbeStrategy, "probe-strategy", "1.0.0");
