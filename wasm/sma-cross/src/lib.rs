//! `wasm-sma-cross`: the compiled-in `sma-cross` strategy, written against the guest SDK.
//!
//! A cross up is `fast < slow` on the previous bar and `fast > slow` on this one: close any short
//! and go long `qty`; a cross down is the mirror. Market orders. The averages come from the host's
//! `sma` indicator, so on the same data it trades exactly as `sma-cross` does, brackets included
//! (`stop_loss`, `take_profit`). Its snapshot is `sma-cross`'s, so a swap between the two keeps
//! the last pair of averages either way.

use tradsys_wasm_guest::init::{self, IndicatorHandle};
use tradsys_wasm_guest::{Bar, Handover, NewOrder, Params, Price, Side, Snapshot, Strategy, strategy};

tradsys_wasm_guest::manifest!(include_bytes!("../manifest.toml"));
tradsys_wasm_guest::export_strategy!(SmaCross, snapshots);

/// The longest period accepted, as the compiled-in strategy's.
const MAX_PERIOD: i64 = 1_000_000;

/// The snapshot format: the compiled-in plugin's name and keys.
const FORMAT: &str = "sma-cross";

struct SmaCross {
    fast_period: i64,
    slow_period: i64,
    qty: i64,
    symbol: String,
    stop_loss: Price,
    take_profit: Price,
    instrument: u32,
    averages: Option<(IndicatorHandle, IndicatorHandle)>,
    previous: Option<(f64, f64)>,
    /// The last bracket's exits (or those inherited), cancelled on the next cross.
    exits: Vec<u64>,
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
        let (stop_loss, take_profit) = (params.price("stop_loss")?, params.price("take_profit")?);
        for (key, distance) in [("stop_loss", stop_loss), ("take_profit", take_profit)] {
            if distance.0 < 0 {
                return Err(format!("{key} must be 0 (none) or a positive distance, got {}", distance.to_f64()));
            }
        }
        let symbol = params.text("symbol").unwrap_or_default().to_owned();
        Ok(SmaCross {
            fast_period: fast,
            slow_period: slow,
            qty,
            symbol,
            stop_loss,
            take_profit,
            instrument: 0,
            averages: None,
            previous: None,
            exits: Vec::new(),
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
            let position = strategy::position(self.instrument);
            if self.stop_loss.0 > 0 || self.take_profit.0 > 0 {
                self.enter_with_exits(target, position, bar);
                return;
            }
            let change = target - position;
            if change != 0 {
                self.cancel_exits();
                strategy::submit_market(self.instrument, side_of(change), change.abs());
            }
        }
    }

    fn snapshot(&self) -> Option<Snapshot> {
        let snapshot = Snapshot::new(FORMAT).int("fast", self.fast_period).int("slow", self.slow_period);
        Some(match self.previous {
            Some((fast, slow)) => snapshot.floats("previous", &[fast, slow]),
            None => snapshot,
        })
    }

    fn take_over(&mut self, handover: &Handover) -> Result<(), String> {
        self.exits = handover.inherited().to_vec();
        if handover.snapshot_plugin() != Some(FORMAT) {
            return Ok(());
        }
        let same = handover.int("fast")? == Some(self.fast_period) && handover.int("slow")? == Some(self.slow_period);
        if same {
            self.previous = match handover.floats("previous")?.as_deref() {
                Some(&[fast, slow]) => Some((fast, slow)),
                Some(other) => {
                    return Err(format!("snapshot key previous: expected two averages, got {}", other.len()));
                }
                None => None,
            };
        }
        Ok(())
    }
}

impl SmaCross {
    /// As the native twin: cancel the last exits, close what is left, enter `target` through a
    /// bracket priced from the signal bar's close.
    fn enter_with_exits(&mut self, target: i64, position: i64, bar: &Bar) {
        if position == target {
            return;
        }
        self.cancel_exits();
        if position != 0 {
            strategy::submit_market(self.instrument, side_of(-position), position.abs());
        }
        let side = side_of(target);
        let sign = if side == Side::Buy { 1 } else { -1 };
        let away =
            |distance: Price, sign: i64| (distance.0 > 0).then(|| Price(bar.close.0.saturating_add(sign * distance.0)));
        let entry = NewOrder::market(self.instrument, side, target.abs());
        if let Some(bracket) =
            strategy::submit_bracket(&entry, away(self.stop_loss, -sign), away(self.take_profit, sign))
        {
            self.exits.extend(bracket.stop_loss.into_iter().chain(bracket.take_profit));
        }
    }

    fn cancel_exits(&mut self) {
        for exit in self.exits.drain(..) {
            strategy::cancel(exit);
        }
    }
}

/// The side that moves a position by `change` lots.
fn side_of(change: i64) -> Side {
    if change > 0 { Side::Buy } else { Side::Sell }
}
