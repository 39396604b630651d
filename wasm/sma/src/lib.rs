//! `sma` 1.1.0: the simple moving average of closes, as a WebAssembly indicator.
//!
//! The same arithmetic as the compiled-in `sma` 1.0.0 (a ring of the last `period` closes and an
//! exact running sum of their raw fixed-point values, divided once by `period × PRICE_SCALE`), so
//! the values agree to the bit and a strategy trades the same whichever it is given.

use tradsys_wasm_guest::{Bar, Indicator, PRICE_SCALE, Params, Price, Trade};

tradsys_wasm_guest::manifest!(include_bytes!("../manifest.toml"));
tradsys_wasm_guest::export_indicator!(Sma);

/// The longest period accepted, as the compiled-in indicator's.
const MAX_PERIOD: i64 = 1_000_000;

struct Sma {
    window: Vec<i64>,
    next: usize,
    filled: usize,
    sum: i128,
    divisor: f64,
    mean: Option<f64>,
}

impl Sma {
    fn push(&mut self, price: Price) {
        let period = self.window.len();
        let oldest = std::mem::replace(&mut self.window[self.next], price.0);
        self.next = if self.next + 1 == period { 0 } else { self.next + 1 };
        self.sum += i128::from(price.0);
        if self.filled == period {
            self.sum -= i128::from(oldest);
        } else {
            self.filled += 1;
        }
        if self.filled == period {
            let sum = i64::try_from(self.sum).map_or_else(|_| wide_to_f64(self.sum), |sum| sum as f64);
            self.mean = Some(sum / self.divisor);
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
        let divisor = period as f64 * PRICE_SCALE as f64;
        Ok(Sma { window: vec![0; period], next: 0, filled: 0, sum: 0, divisor, mean: None })
    }

    fn update_bar(&mut self, bar: &Bar) {
        self.push(bar.close);
    }

    fn update_trade(&mut self, trade: &Trade) {
        self.push(trade.price);
    }

    fn output(&self, _index: usize) -> Option<f64> {
        self.mean
    }
}

/// `sum` as the nearest `f64` (a sum beyond `i64`: out of the hot path).
#[cold]
#[inline(never)]
fn wide_to_f64(sum: i128) -> f64 {
    sum as f64
}
