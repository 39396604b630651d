//! `wasm-sma-cross`: the compiled-in `sma-cross` strategy, written against the guest SDK.
//!
//! A cross up is `fast < slow` on the previous bar and `fast > slow` on this one: close any short
//! and go long `qty`; a cross down is the mirror. Market orders. The averages come from the host's
//! `sma` indicator, so on the same data it trades exactly as `sma-cross` does.

use tradsys_wasm_guest::init::{self, IndicatorHandle};
use tradsys_wasm_guest::{Bar, Params, Side, Strategy, strategy};

tradsys_wasm_guest::manifest!(include_bytes!("../manifest.toml"));
tradsys_wasm_guest::export_strategy!(SmaCross);

/// The longest period accepted, as the compiled-in strategy's.
const MAX_PERIOD: i64 = 1_000_000;

struct SmaCross {
    fast_period: i64,
    slow_period: i64,
    qty: i64,
    symbol: String,
    instrument: u32,
    averages: Option<(IndicatorHandle, IndicatorHandle)>,
    previous: Option<(f64, f64)>,
}

impl Strategy for SmaCross {
    fn configure(params: &Params) -> Result<SmaCross, String> {
        let (fast, slow, qty) = (params.int("fast")?, params.int("slow")?, params.int("qty")?);
        for (key, period) in [("fast", fast), ("slow", slow)] {
            if !(1..=MAX_PERIOD).contains(&period) {
                return Err(format!("parameter {key}: expected a period from 1 to {MAX_PERIOD}, got {period}"));
            }
        }
        if fast >= slow {
            return Err(format!("need fast < slow, got fast = {fast} and slow = {slow}"));
        }
        if qty <= 0 {
            return Err(format!("qty must be positive, got {qty}"));
        }
        let symbol = params.text("symbol").unwrap_or_default().to_owned();
        Ok(SmaCross {
            fast_period: fast,
            slow_period: slow,
            qty,
            symbol,
            instrument: 0,
            averages: None,
            previous: None,
        })
    }

    fn init(&mut self) -> Result<(), String> {
        self.instrument = init::instrument(&self.symbol).ok_or_else(|| format!("unknown symbol {:?}", self.symbol))?;
        let fast = init::indicator("sma", &format!("period = {}", self.fast_period), self.instrument)?;
        let slow = init::indicator("sma", &format!("period = {}", self.slow_period), self.instrument)?;
        self.averages = Some((fast, slow));
        Ok(())
    }

    fn on_bar(&mut self, bar: &Bar) {
        if bar.instrument != self.instrument {
            return;
        }
        let Some((fast, slow)) = self.averages else { return };
        let (Some(fast), Some(slow)) = (strategy::indicator(fast, 0), strategy::indicator(slow, 0)) else { return };
        if let Some((previous_fast, previous_slow)) = self.previous.replace((fast, slow)) {
            let target = if previous_fast < previous_slow && fast > slow {
                self.qty
            } else if previous_fast > previous_slow && fast < slow {
                -self.qty
            } else {
                return;
            };
            let change = target - strategy::position(self.instrument);
            if change != 0 {
                let side = if change > 0 { Side::Buy } else { Side::Sell };
                strategy::submit_market(self.instrument, side, change.abs());
            }
        }
    }
}
