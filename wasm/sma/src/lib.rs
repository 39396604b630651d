//! `sma` 1.1.0: the simple moving average of closes, as a WebAssembly indicator.
//!
//! The same arithmetic as the compiled-in `sma` 1.0.0 (a ring of the last `period` closes and a
//! running `f64` sum, added before the oldest is taken out), so the values agree to the bit and a
//! strategy trades the same whichever it is given.

use tradsys_wasm_guest::{Bar, Indicator, Params, Trade};

tradsys_wasm_guest::manifest!(include_bytes!("../manifest.toml"));
tradsys_wasm_guest::export_indicator!(Sma);

/// The longest period accepted, as the compiled-in indicator's.
const MAX_PERIOD: i64 = 1_000_000;

struct Sma {
    window: Vec<f64>,
    next: usize,
    filled: usize,
    sum: f64,
    mean: Option<f64>,
}

impl Sma {
    fn push(&mut self, x: f64) {
        let period = self.window.len();
        let oldest = std::mem::replace(&mut self.window[self.next], x);
        self.next = if self.next + 1 == period { 0 } else { self.next + 1 };
        self.sum += x;
        if self.filled == period {
            self.sum -= oldest;
        } else {
            self.filled += 1;
        }
        if self.filled == period {
            self.mean = Some(self.sum / period as f64);
        }
    }
}

impl Indicator for Sma {
    fn configure(params: &Params) -> Result<Sma, String> {
        let period = params.int("period")?;
        if !(1..=MAX_PERIOD).contains(&period) {
            return Err(format!("parameter period: expected a period from 1 to {MAX_PERIOD}, got {period}"));
        }
        let period = usize::try_from(period).map_err(|_| format!("period {period} does not fit"))?;
        Ok(Sma { window: vec![0.0; period], next: 0, filled: 0, sum: 0.0, mean: None })
    }

    fn update_bar(&mut self, bar: &Bar) {
        self.push(bar.close.to_f64());
    }

    fn update_trade(&mut self, trade: &Trade) {
        self.push(trade.price.to_f64());
    }

    fn output(&self, _index: usize) -> Option<f64> {
        self.mean
    }
}
