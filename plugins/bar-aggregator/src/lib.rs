//! `bar-aggregator`: builds time bars from trades.
//!
//! A bar covers `[start, start + interval)` with `start` a multiple of the interval since the epoch.
//! It completes when the first trade of a later interval arrives (intervals without trades make no
//! bar). Volume is the traded lots. Output: the close of the last completed bar.
//!
//! ```toml
//! [indicators.bars-1s]
//! plugin = "bar-aggregator"
//! params = { interval_ms = 1000 }
//! [session]
//! bar_source = "bars-1s"
//! ```

#![deny(unsafe_code)]

use serde::{Deserialize, Serialize};
use tradsys_core::component::{ComponentError, Indicator};
use tradsys_core::limits::MAX_INTERVAL_MS;
use tradsys_core::market::{Bar, MarketEvent};
use tradsys_core::plugin::Plugin;
use tradsys_core::types::Timestamp;

/// Aggregates trades into time bars.
#[derive(Debug)]
pub struct BarAggregator {
    interval_ns: i64,
    current: Option<Bar>,
    completed: Option<Bar>,
    last_close: Option<f64>,
}

tradsys_core::plugin_params! {
    /// Parameters of `bar-aggregator`.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Params {
        /// Bar length in milliseconds, from 1 to 30 days ([`MAX_INTERVAL_MS`]).
        /// Range: >= 1, <= 2_592_000_000
        pub interval_ms: i64,
    }
}

impl Default for Params {
    fn default() -> Params {
        Params { interval_ms: 60_000 }
    }
}

impl Plugin for BarAggregator {
    type Params = Params;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = Params::PARAM_DOCS;
    const SUMMARY: &'static str = "time bars (OHLCV) from trades";

    fn build(params: Params) -> Result<Self, ComponentError> {
        if !(1..=MAX_INTERVAL_MS).contains(&params.interval_ms) {
            return Err(ComponentError::new(format!(
                "interval_ms must be from 1 to {MAX_INTERVAL_MS} (30 days), got {}",
                params.interval_ms
            )));
        }
        Ok(BarAggregator {
            interval_ns: params.interval_ms * 1_000_000,
            current: None,
            completed: None,
            last_close: None,
        })
    }
}

impl Indicator for BarAggregator {
    fn update(&mut self, event: &MarketEvent) {
        let MarketEvent::Trade(trade) = event else { return };
        let start = Timestamp(trade.ts.0 - trade.ts.0.rem_euclid(self.interval_ns));
        match &mut self.current {
            Some(bar) if bar.ts == start => {
                bar.high = bar.high.max(trade.price);
                bar.low = bar.low.min(trade.price);
                bar.close = trade.price;
                bar.volume += trade.qty.0 as f64;
            }
            current => {
                if let Some(done) = current.take() {
                    self.last_close = Some(done.close.to_f64());
                    self.completed = Some(done);
                }
                *current = Some(Bar {
                    ts: start,
                    instrument: trade.instrument,
                    open: trade.price,
                    high: trade.price,
                    low: trade.price,
                    close: trade.price,
                    volume: trade.qty.0 as f64,
                });
            }
        }
    }

    fn output_names(&self) -> &'static [&'static str] {
        &["close"]
    }

    fn output(&self, _index: usize) -> Option<f64> {
        self.last_close
    }

    fn take_bar(&mut self) -> Option<Bar> {
        self.completed.take()
    }
}

tradsys_core::register_indicator!(BarAggregator, "bar-aggregator", "1.0.0");

#[cfg(test)]
mod tests {
    use tradsys_core::market::TradeTick;
    use tradsys_core::types::{InstrumentId, Price, Qty, Side};

    use super::*;

    fn trade(ms: i64, price: i64, qty: i64) -> MarketEvent {
        MarketEvent::Trade(TradeTick {
            ts: Timestamp(ms * 1_000_000),
            instrument: InstrumentId(0),
            price: Price::from_units(price),
            qty: Qty(qty),
            aggressor: Side::Buy,
        })
    }

    #[test]
    fn intervals_outside_one_millisecond_to_30_days_are_refused() {
        for interval_ms in [0, -1, MAX_INTERVAL_MS + 1, 1 << 62, i64::MAX] {
            let error = BarAggregator::build(Params { interval_ms }).unwrap_err();
            assert!(error.0.contains("interval_ms must be from 1 to 2592000000 (30 days)"), "{error}");
        }
        let mut bars = BarAggregator::build(Params { interval_ms: MAX_INTERVAL_MS }).unwrap();
        // Bars start inside the timestamp range for every timestamp in it.
        let (first, last) = tradsys_core::limits::timestamp_range();
        for ts in [first, last] {
            bars.update(&trade(ts.0.div_euclid(1_000_000), 100, 1));
        }
    }

    #[test]
    fn bars_complete_when_a_later_interval_starts() {
        let mut bars = BarAggregator::build(Params { interval_ms: 1000 }).unwrap();
        for event in [trade(100, 10, 1), trade(500, 12, 2), trade(900, 9, 1)] {
            bars.update(&event);
            assert_eq!(bars.take_bar(), None);
        }
        bars.update(&trade(2500, 11, 4));
        let bar = bars.take_bar().unwrap();
        assert_eq!(
            (bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume),
            (
                Timestamp(0),
                Price::from_units(10),
                Price::from_units(12),
                Price::from_units(9),
                Price::from_units(9),
                4.0
            )
        );
        assert_eq!(bars.output(0), Some(9.0));
        assert_eq!(bars.take_bar(), None);
    }
}
