//! `mean-reversion`: fades moves outside Bollinger bands.
//!
//! Flat and the close below the lower band: buy `qty`. Flat and above the upper band: sell `qty`.
//! Long and the close back at or above the middle band (or short and at or below it): close. Market
//! orders. Needs the `bollinger` indicator, which it builds through its context.
//!
//! ```toml
//! [strategies.fade]
//! plugin = "mean-reversion"
//! params = { period = 20, k = 2.0, qty = 1 }
//! ```

#![deny(unsafe_code)]

use serde::{Deserialize, Serialize};
use tradsys_core::component::{ComponentError, IndicatorHandle, InitContext, OrderRequest, Strategy, StrategyContext};
use tradsys_core::limits::Period;
use tradsys_core::market::Bar;
use tradsys_core::plugin::{Capability, Dependency, Plugin};
use tradsys_core::types::{InstrumentId, Qty, Side};

/// Bollinger-band mean reversion.
#[derive(Debug)]
pub struct MeanReversionStrategy {
    params: Params,
    instrument: InstrumentId,
    bands: Option<IndicatorHandle>,
}

tradsys_core::plugin_params! {
    /// Parameters of `mean-reversion`.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Params {
        /// Band window, in bars (1 to 1,000,000).
        /// Range: >= 1, <= 1_000_000
        pub period: Period,
        /// Band width, in standard deviations (positive).
        /// Range: > 0
        pub k: f64,
        /// Position size in lots.
        /// Range: >= 1
        pub qty: i64,
        /// The instrument; the session's primary one when empty.
        pub symbol: String,
    }
}

impl Default for Params {
    fn default() -> Params {
        Params { period: Period::of(20), k: 2.0, qty: 1, symbol: String::new() }
    }
}

#[derive(Serialize)]
struct BandParams {
    period: Period,
    k: f64,
}

impl Plugin for MeanReversionStrategy {
    type Params = Params;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = Params::PARAM_DOCS;
    const SUMMARY: &'static str = "enters at a Bollinger band, exits at the middle";
    const DEPENDENCIES: &'static [Dependency] = &[Dependency::indicator("bollinger", "^1")];
    const CAPABILITIES: &'static [Capability] =
        &[Capability::Indicators, Capability::ReadPosition, Capability::SubmitOrders];

    fn build(params: Params) -> Result<Self, ComponentError> {
        if params.qty <= 0 {
            return Err(ComponentError::new(format!("qty must be positive, got {}", params.qty)));
        }
        if !(params.k.is_finite() && params.k > 0.0) {
            return Err(ComponentError::new(format!(
                "k must be a positive number of standard deviations, got {}",
                params.k
            )));
        }
        Ok(MeanReversionStrategy { params, instrument: InstrumentId(0), bands: None })
    }
}

impl Strategy for MeanReversionStrategy {
    fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        self.instrument = ctx.instrument_or_primary(&self.params.symbol)?;
        let params = BandParams { period: self.params.period, k: self.params.k };
        self.bands = Some(ctx.indicator(self.instrument, "bollinger", params)?);
        Ok(())
    }

    fn on_bar(&mut self, bar: &Bar, ctx: &mut StrategyContext<'_>) {
        if bar.instrument != self.instrument {
            return;
        }
        let Some(bands) = self.bands else { return };
        let (Ok(Some(middle)), Ok(Some(upper)), Ok(Some(lower))) =
            (ctx.indicator_output(bands, 0), ctx.indicator_output(bands, 1), ctx.indicator_output(bands, 2))
        else {
            return;
        };
        let close = bar.close.to_f64();
        let Ok(position) = ctx.position(self.instrument) else { return };
        let position = position.0;
        let order = match position.signum() {
            0 if close < lower => Some((Side::Buy, self.params.qty)),
            0 if close > upper => Some((Side::Sell, self.params.qty)),
            1 if close >= middle => Some((Side::Sell, position)),
            -1 if close <= middle => Some((Side::Buy, -position)),
            _ => None,
        };
        if let Some((side, qty)) = order {
            ctx.submit(OrderRequest::market(self.instrument, side, Qty(qty)));
        }
    }
}

tradsys_core::register_strategy!(MeanReversionStrategy, "mean-reversion", "1.0.0");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_non_positive_qty_or_band_width() {
        assert!(MeanReversionStrategy::build(Params { qty: 0, ..Params::default() }).is_err());
        for k in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(MeanReversionStrategy::build(Params { k, ..Params::default() }).is_err(), "{k}");
        }
        let period =
            tradsys_core::plugin::decode_params::<MeanReversionStrategy>(&tradsys_core::testing::params("period = 0"));
        assert!(period.unwrap_err().to_string().contains("parameter period: expected a period from 1"));
        assert!(MeanReversionStrategy::build(Params::default()).is_ok());
    }
}
