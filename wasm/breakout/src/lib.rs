//! `wasm-breakout`: a channel breakout traded with stop orders (plugin API 1.1).
//!
//! The channel is the highest high and the lowest low of the last `period` bars. Flat, it waits
//! with a buy stop at the top and a sell stop at the bottom; in a position, with a stop at the
//! other edge that closes it. The orders move with the channel: each bar cancels them and places
//! them again at the new edges. With `slippage`, they are stop-limit orders that pay at most that
//! much past the trigger (and may then not fill).

use std::collections::VecDeque;

use tradsys_wasm_guest::{Bar, NewOrder, OrderStatus, Params, Price, Side, Strategy, TimeInForce, init, strategy};

tradsys_wasm_guest::manifest!(include_bytes!("../manifest.toml"));
tradsys_wasm_guest::export_strategy!(Breakout);

struct Breakout {
    period: usize,
    qty: i64,
    symbol: String,
    slippage: Price,
    instrument: u32,
    /// The last `period` bars' highs and lows.
    channel: VecDeque<(Price, Price)>,
    /// Orders placed and not known to be done.
    working: Vec<u64>,
}

impl Breakout {
    fn stop_order(&self, side: Side, trigger: Price, qty: i64) -> NewOrder {
        if self.slippage.0 == 0 {
            return NewOrder::stop(self.instrument, side, trigger, qty);
        }
        let past = if side == Side::Buy { self.slippage.0 } else { -self.slippage.0 };
        NewOrder::stop_limit(self.instrument, side, trigger, Price(trigger.0 + past), qty, TimeInForce::Gtc)
    }

    fn place(&mut self, order: &NewOrder) {
        if let Some(id) = strategy::submit_order(order) {
            self.working.push(id);
        }
    }
}

impl Strategy for Breakout {
    fn configure(params: &Params) -> Result<Breakout, String> {
        // The host enforces the manifest's ranges; these are the units this code works in.
        let period = usize::try_from(params.int("period")?).map_err(|_| "period does not fit".to_owned())?;
        Ok(Breakout {
            period,
            qty: params.int("qty")?,
            symbol: params.text("symbol").unwrap_or_default().to_owned(),
            slippage: params.price("slippage")?,
            instrument: 0,
            channel: VecDeque::with_capacity(period),
            working: Vec::new(),
        })
    }

    fn init(&mut self) -> Result<(), String> {
        self.instrument = init::instrument(&self.symbol).ok_or_else(|| format!("unknown symbol {:?}", self.symbol))?;
        Ok(())
    }

    fn on_bar(&mut self, bar: &Bar) {
        if bar.instrument != self.instrument {
            return;
        }
        if self.channel.len() == self.period {
            self.channel.pop_front();
        }
        self.channel.push_back((bar.high, bar.low));
        if self.channel.len() < self.period {
            return;
        }
        let top = self.channel.iter().map(|(high, _)| *high).max().unwrap_or(bar.high);
        let bottom = self.channel.iter().map(|(_, low)| *low).min().unwrap_or(bar.low);
        for order in std::mem::take(&mut self.working) {
            strategy::cancel(order);
        }
        let position = strategy::position(self.instrument);
        let orders = match position {
            0 => vec![self.stop_order(Side::Buy, top, self.qty), self.stop_order(Side::Sell, bottom, self.qty)],
            long if long > 0 => vec![self.stop_order(Side::Sell, bottom, long)],
            short => vec![self.stop_order(Side::Buy, top, -short)],
        };
        for order in &orders {
            self.place(order);
        }
    }

    fn on_order_update(&mut self, order: u64, status: OrderStatus, remaining: i64) {
        let done = matches!(status, OrderStatus::Rejected | OrderStatus::Cancelled | OrderStatus::Expired);
        if done || remaining == 0 {
            self.working.retain(|id| *id != order);
        }
    }
}
