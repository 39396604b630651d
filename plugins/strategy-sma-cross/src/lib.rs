//! `sma-cross`: trend following on a fast/slow simple-moving-average crossover.
//!
//! A cross up is `fast < slow` on the previous bar and `fast > slow` on this one: close any short
//! and go long `qty`. A cross down is the mirror. Market orders, so in bar mode a signal on bar `t`
//! fills at bar `t+1`'s open. Needs the `sma` indicator, which it builds through its context.
//!
//! With `stop_loss` and/or `take_profit` (distances from the signal bar's close), each entry is a
//! bracket: the session places the exits once the entry fills, one cancelling the other. On the
//! next cross the strategy cancels the exits still working, closes what is left of the position
//! and enters again, so the exits always cover exactly the position they were placed for.
//!
//! Swapped while the system runs, it hands its successor the last pair of averages, which an
//! `sma-cross` with the same periods continues from.
//!
//! ```toml
//! [strategies.trend]
//! plugin = "sma-cross"
//! params = { fast = 10, slow = 30, qty = 1, stop_loss = 2.5 }
//! ```

#![deny(unsafe_code)]

use serde::{Deserialize, Serialize};
use tradsys_core::component::{
    BracketExits, ClientOrderId, ComponentError, Handover, IndicatorHandle, InitContext, OrderRequest, Strategy,
    StrategyContext, StrategySnapshot,
};
use tradsys_core::limits::Period;
use tradsys_core::market::Bar;
use tradsys_core::plugin::{Capability, Dependency, Plugin};
use tradsys_core::types::{InstrumentId, Price, Qty, Side};

/// Fast/slow SMA crossover.
#[derive(Debug)]
pub struct SmaCrossStrategy {
    params: Params,
    instrument: InstrumentId,
    fast: Option<IndicatorHandle>,
    slow: Option<IndicatorHandle>,
    previous: Option<(f64, f64)>,
    /// The exits of the last bracket, cancelled on the next cross (a cancel of an exit already
    /// done is ignored by the session).
    exits: Vec<ClientOrderId>,
}

tradsys_core::plugin_params! {
    /// Parameters of `sma-cross`.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Params {
        /// Fast SMA period, in bars (1 to 1,000,000).
        /// Range: >= 1, <= 1_000_000
        pub fast: Period,
        /// Slow SMA period, in bars (1 to 1,000,000), longer than the fast one.
        /// Range: >= 1, <= 1_000_000
        pub slow: Period,
        /// Position size in lots.
        /// Range: >= 1
        pub qty: i64,
        /// The instrument; the session's primary one when empty.
        pub symbol: String,
        /// Stop-loss distance from the signal bar's close (below it for a long, above for a
        /// short), in price units; 0 for no stop-loss.
        /// Range: >= 0
        pub stop_loss: Price,
        /// Take-profit distance from the signal bar's close (above it for a long, below for a
        /// short), in price units; 0 for no take-profit.
        /// Range: >= 0
        pub take_profit: Price,
    }
}

impl Default for Params {
    fn default() -> Params {
        Params {
            fast: Period::of(10),
            slow: Period::of(30),
            qty: 1,
            symbol: String::new(),
            stop_loss: Price::ZERO,
            take_profit: Price::ZERO,
        }
    }
}

impl Params {
    /// Whether entries carry exits.
    fn brackets(&self) -> bool {
        self.stop_loss > Price::ZERO || self.take_profit > Price::ZERO
    }
}

#[derive(Serialize)]
struct SmaParams {
    period: Period,
}

impl Plugin for SmaCrossStrategy {
    type Params = Params;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = Params::PARAM_DOCS;
    const SUMMARY: &'static str = "long on a fast-over-slow SMA cross, short on the reverse";
    const DEPENDENCIES: &'static [Dependency] = &[Dependency::indicator("sma", "^1")];
    // Cancelling is for brackets' exits only; it comes last, so a refusal for a missing
    // capability names submit-orders, which every configuration needs, first.
    const CAPABILITIES: &'static [Capability] =
        &[Capability::Indicators, Capability::ReadPosition, Capability::SubmitOrders, Capability::CancelOrders];

    fn build(params: Params) -> Result<Self, ComponentError> {
        if params.fast >= params.slow {
            return Err(ComponentError::new(format!(
                "need fast < slow, got fast = {} and slow = {}",
                params.fast, params.slow
            )));
        }
        if params.qty <= 0 {
            return Err(ComponentError::new(format!("qty must be positive, got {}", params.qty)));
        }
        for (key, distance) in [("stop_loss", params.stop_loss), ("take_profit", params.take_profit)] {
            if distance < Price::ZERO {
                return Err(ComponentError::new(format!(
                    "{key} must be 0 (none) or a positive distance, got {distance}"
                )));
            }
        }
        Ok(SmaCrossStrategy {
            params,
            instrument: InstrumentId(0),
            fast: None,
            slow: None,
            previous: None,
            exits: Vec::new(),
        })
    }
}

impl Strategy for SmaCrossStrategy {
    fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        self.instrument = ctx.instrument_or_primary(&self.params.symbol)?;
        self.fast = Some(ctx.indicator(self.instrument, "sma", SmaParams { period: self.params.fast })?);
        self.slow = Some(ctx.indicator(self.instrument, "sma", SmaParams { period: self.params.slow })?);
        Ok(())
    }

    #[inline]
    fn on_bar(&mut self, bar: &Bar, ctx: &mut StrategyContext<'_>) {
        if bar.instrument != self.instrument {
            return;
        }
        let (Some(fast), Some(slow)) = (self.fast, self.slow) else { return };
        let (Ok(Some(fast)), Ok(Some(slow))) = (ctx.indicator(fast), ctx.indicator(slow)) else { return };
        if let Some((previous_fast, previous_slow)) = self.previous.replace((fast, slow)) {
            let target = if previous_fast < previous_slow && fast > slow {
                self.params.qty
            } else if previous_fast > previous_slow && fast < slow {
                -self.params.qty
            } else {
                return;
            };
            let Ok(position) = ctx.position(self.instrument) else { return };
            if self.params.brackets() {
                self.enter_with_exits(target, position.0, bar, ctx);
                return;
            }
            let change = target - position.0;
            if change != 0 {
                self.cancel_exits(ctx);
                ctx.submit(OrderRequest::market(self.instrument, side_of(change), Qty(change.abs())));
            }
        }
    }

    /// Hands a successor the last pair of averages, so a cross on the next bar is still seen.
    fn snapshot(&self) -> Option<StrategySnapshot> {
        let memory = Memory { fast: self.params.fast, slow: self.params.slow, previous: self.previous };
        StrategySnapshot::new(NAME, &memory).ok()
    }

    /// Continues from an `sma-cross` predecessor with the same periods (other periods' averages
    /// mean nothing here); the position carries over in the account whatever this does.
    fn take_over(&mut self, handover: &Handover<'_>) -> Result<(), ComponentError> {
        // The orders it inherits are a predecessor's exits (its market orders do not rest): the
        // next cross cancels them as it would its own.
        self.exits = handover.inherited.iter().map(|order| order.id).collect();
        let Some(snapshot) = handover.snapshot else { return Ok(()) };
        if let Some(memory) = snapshot.read::<Memory>(NAME)?
            && (memory.fast, memory.slow) == (self.params.fast, self.params.slow)
        {
            self.previous = memory.previous;
        }
        Ok(())
    }
}

impl SmaCrossStrategy {
    /// Goes to `target` lots through a bracket: cancels the last exits, closes what is left of
    /// `position` at market, and enters `target` with exits at the configured distances from the
    /// signal bar's close. Nothing happens when already at `target`: its exits still work.
    fn enter_with_exits(&mut self, target: i64, position: i64, bar: &Bar, ctx: &mut StrategyContext<'_>) {
        if position == target {
            return;
        }
        self.cancel_exits(ctx);
        if position != 0 {
            ctx.submit(OrderRequest::market(self.instrument, side_of(-position), Qty(position.abs())));
        }
        let side = side_of(target);
        let distance = |d: Price| (d > Price::ZERO).then_some(d);
        let away = |d: Price, sign: i64| Price::from_raw(bar.close.raw().saturating_add(sign * d.raw()));
        let sign = if side == Side::Buy { 1 } else { -1 };
        let exits = BracketExits {
            stop_loss: distance(self.params.stop_loss).map(|d| away(d, -sign)),
            take_profit: distance(self.params.take_profit).map(|d| away(d, sign)),
        };
        let bracket = ctx.submit_bracket(OrderRequest::market(self.instrument, side, Qty(target.abs())), exits);
        self.exits.extend(bracket.stop_loss.into_iter().chain(bracket.take_profit));
    }

    /// Cancels the exits of the last bracket (or those inherited in a swap).
    fn cancel_exits(&mut self, ctx: &mut StrategyContext<'_>) {
        for exit in self.exits.drain(..) {
            // Granted (declared, and the grant checked at build); a refusal leaves nothing to undo.
            let _ = ctx.cancel(exit);
        }
    }
}

/// The side that moves a position by `change` lots.
fn side_of(change: i64) -> Side {
    if change > 0 { Side::Buy } else { Side::Sell }
}

/// The plugin's name (as registered below), which tags its snapshots.
const NAME: &str = "sma-cross";

/// What an instance hands its successor.
#[derive(Debug, Serialize, Deserialize)]
struct Memory {
    fast: Period,
    slow: Period,
    previous: Option<(f64, f64)>,
}

tradsys_core::register_strategy!(SmaCrossStrategy, "sma-cross", "1.0.0");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_inconsistent_periods_and_sizes() {
        let params =
            |fast, slow, qty| Params { fast: Period::of(fast), slow: Period::of(slow), qty, ..Params::default() };
        assert!(SmaCrossStrategy::build(params(30, 10, 1)).is_err());
        assert!(SmaCrossStrategy::build(params(10, 10, 1)).is_err());
        assert!(SmaCrossStrategy::build(params(5, 10, 0)).is_err());
        assert!(SmaCrossStrategy::build(params(5, 10, 1)).is_ok());
        let negative = Params { stop_loss: "-0.5".parse().unwrap(), ..params(5, 10, 1) };
        let refused = SmaCrossStrategy::build(negative).unwrap_err().to_string();
        assert!(refused.contains("stop_loss must be 0 (none) or a positive distance, got -0.5"), "{refused}");
    }

    #[test]
    fn a_successor_with_the_same_periods_continues_from_the_last_averages_and_another_does_not() {
        let params = |fast, slow| Params { fast: Period::of(fast), slow: Period::of(slow), ..Params::default() };
        let mut old = SmaCrossStrategy::build(params(5, 10)).unwrap();
        old.previous = Some((1.5, 2.5));
        let snapshot = old.snapshot().expect("sma-cross hands its state on");
        let handover = Handover { predecessor: "sma-cross@1.0.0", snapshot: Some(&snapshot), inherited: &[] };
        let mut same = SmaCrossStrategy::build(params(5, 10)).unwrap();
        same.take_over(&handover).unwrap();
        assert_eq!(same.previous, Some((1.5, 2.5)));
        let mut other = SmaCrossStrategy::build(params(3, 10)).unwrap();
        other.take_over(&handover).unwrap();
        assert_eq!(other.previous, None, "averages of other periods are not continued");
    }
}
