//! What the HTML report's charts show, gathered while the session runs: each symbol's price as
//! candles and every round trip, both bounded so that a long run makes a file a browser still opens.

use serde::Serialize;
use tradsys_core::market::Bar;
use tradsys_core::session::portfolio::RoundTrip;
use tradsys_core::types::{Side, Timestamp};

/// Candles kept per symbol: at this many, neighbours merge in pairs (each candle then spans twice
/// the bars), so a symbol holds between half and all of it whatever the run's length.
pub const MAX_CANDLES: usize = 20_000;

/// Symbols charted; the rest are counted in the report, not drawn.
pub const MAX_SYMBOLS: usize = 8;

/// Round trips drawn (markers and the PnL chart); later ones are counted, not drawn.
pub const MAX_TRADES: usize = 10_000;

/// One candle: open time in whole seconds (what the chart's time axis takes), then OHLC.
/// Serialized as `[time, open, high, low, close]` to keep the file small.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Candle(i64, f64, f64, f64, f64);

impl Candle {
    /// Open time, whole seconds.
    pub fn time_s(&self) -> i64 {
        self.0
    }

    fn merge(&mut self, later: &Candle) {
        self.2 = self.2.max(later.2);
        self.3 = self.3.min(later.3);
        self.4 = later.4;
    }
}

/// One symbol's price, as candles of `stride` bars each (the last may hold fewer).
#[derive(Clone, Debug, Serialize)]
pub struct PriceSeries {
    /// The instrument.
    pub symbol: String,
    /// Bars per candle.
    pub stride: u64,
    /// Bars read.
    pub bars: u64,
    /// The first bar's close, the base of the buy & hold line.
    pub first_close: f64,
    /// The candles, oldest first, at strictly increasing times.
    pub candles: Vec<Candle>,
    /// Bars in the last candle.
    #[serde(skip)]
    in_last: u64,
}

impl PriceSeries {
    fn new(symbol: &str, first_close: f64) -> PriceSeries {
        PriceSeries { symbol: symbol.to_owned(), stride: 1, bars: 0, first_close, candles: Vec::new(), in_last: 0 }
    }

    fn push(&mut self, bar: &Bar) {
        self.bars += 1;
        let candle =
            Candle(seconds(bar.ts), bar.open.to_f64(), bar.high.to_f64(), bar.low.to_f64(), bar.close.to_f64());
        if let Some(last) = self.candles.last_mut() {
            // The chart's axis is in whole seconds: sub-second bars share their second's candle.
            if self.in_last < self.stride || last.time_s() >= candle.time_s() {
                last.merge(&candle);
                self.in_last += 1;
                return;
            }
        }
        if self.candles.len() == MAX_CANDLES {
            self.halve();
        }
        self.candles.push(candle);
        self.in_last = 1;
    }

    /// Merges neighbours in pairs and doubles the stride.
    fn halve(&mut self) {
        let merged: Vec<Candle> = self
            .candles
            .chunks(2)
            .map(|pair| {
                let mut candle = pair[0];
                if let Some(later) = pair.get(1) {
                    candle.merge(later);
                }
                candle
            })
            .collect();
        // The last candle is full (a new one was about to start), so the last pair is full unless
        // the count was odd, when the lone candle holds one old stride: `in_last` says so.
        self.in_last = if self.candles.len().is_multiple_of(2) { self.stride * 2 } else { self.stride };
        self.candles = merged;
        self.stride *= 2;
    }
}

/// One round trip as the charts draw it.
#[derive(Clone, Debug, Serialize)]
pub struct TradeMark {
    /// The strategy's id.
    pub strategy: String,
    /// The instrument.
    pub symbol: String,
    /// Long (entered by a buy) or short.
    pub long: bool,
    /// Lots.
    pub qty: i64,
    /// Entry time, whole seconds.
    pub entry_time: i64,
    /// Average entry price.
    pub entry_price: f64,
    /// Exit time, whole seconds.
    pub exit_time: i64,
    /// Average exit price.
    pub exit_price: f64,
    /// Net PnL (after commission), as in the trades CSV's `net_pnl`.
    pub pnl: f64,
    /// Return on the entry's notional, percent.
    pub return_pct: f64,
}

/// The price and trades of a run, bounded (see the limits above).
#[derive(Debug, Default)]
pub struct ChartData {
    /// Each charted symbol, in the order its first bar came.
    pub prices: Vec<PriceSeries>,
    /// Symbols seen beyond [`MAX_SYMBOLS`].
    pub symbols_not_charted: Vec<String>,
    /// The first [`MAX_TRADES`] round trips, in closing order.
    pub trades: Vec<TradeMark>,
    /// Round trips beyond [`MAX_TRADES`].
    pub trades_not_charted: u64,
}

impl ChartData {
    /// Adds a closed bar of `symbol`.
    pub fn bar(&mut self, symbol: &str, bar: &Bar) {
        if let Some(series) = self.prices.iter_mut().find(|series| series.symbol == symbol) {
            series.push(bar);
        } else if self.prices.len() < MAX_SYMBOLS {
            let mut series = PriceSeries::new(symbol, bar.close.to_f64());
            series.push(bar);
            self.prices.push(series);
        } else if !self.symbols_not_charted.iter().any(|s| s == symbol) {
            self.symbols_not_charted.push(symbol.to_owned());
        }
    }

    /// Adds a closed round trip.
    pub fn round_trip(&mut self, round_trip: &RoundTrip) {
        if self.trades.len() == MAX_TRADES {
            self.trades_not_charted += 1;
            return;
        }
        let trip = &round_trip.trip;
        self.trades.push(TradeMark {
            strategy: round_trip.strategy.clone(),
            symbol: round_trip.symbol.clone(),
            long: trip.side == Side::Buy,
            qty: trip.qty,
            entry_time: seconds(trip.entry_ts),
            entry_price: trip.entry_price.to_f64(),
            exit_time: seconds(trip.exit_ts),
            exit_price: trip.exit_price.to_f64(),
            pnl: trip.pnl.to_f64(),
            return_pct: 100.0 * trip.return_fraction(),
        });
    }
}

/// Whole seconds since the epoch, rounded down (the chart's time unit).
pub fn seconds(ts: Timestamp) -> i64 {
    ts.0.div_euclid(1_000_000_000)
}

#[cfg(test)]
mod tests {
    use tradsys_core::types::{InstrumentId, Price};

    use super::*;

    fn bar(minute: i64, open: i64, high: i64, low: i64, close: i64) -> Bar {
        Bar {
            ts: Timestamp(minute * 60_000_000_000),
            instrument: InstrumentId(0),
            open: Price::from_units(open),
            high: Price::from_units(high),
            low: Price::from_units(low),
            close: Price::from_units(close),
            volume: 1.0,
        }
    }

    #[test]
    fn candles_stay_bounded_and_keep_every_bar_high_and_low() {
        let mut data = ChartData::default();
        let bars = 3 * MAX_CANDLES as i64 + 7;
        for minute in 0..bars {
            data.bar("X", &bar(minute, 100 + minute, 200 + minute, 50 - minute, 150 + minute));
        }
        let series = &data.prices[0];
        assert_eq!(series.bars, bars as u64);
        assert!(series.candles.len() <= MAX_CANDLES && series.candles.len() > MAX_CANDLES / 2);
        assert_eq!(series.stride, 4);
        assert!(series.candles.windows(2).all(|w| w[0].0 < w[1].0));
        // The first candle is the first four bars.
        assert_eq!(series.candles[0], Candle(0, 100.0, 203.0, 47.0, 153.0));
        assert_eq!(series.candles.last().map(|c| c.4), Some((150 + bars - 1) as f64));
        // Every candle but the last spans exactly `stride` minutes.
        assert!(series.candles.windows(2).all(|w| w[1].0 - w[0].0 == 4 * 60));
    }

    #[test]
    fn sub_second_bars_share_a_candle() {
        let mut data = ChartData::default();
        let mut early = bar(1, 10, 12, 9, 11);
        data.bar("X", &early);
        early.ts = Timestamp(early.ts.0 + 500_000_000);
        early.high = Price::from_units(20);
        data.bar("X", &early);
        assert_eq!(data.prices[0].candles.len(), 1);
        assert_eq!(data.prices[0].candles[0].2, Price::from_units(20).to_f64());
    }

    #[test]
    fn symbols_beyond_the_limit_are_named_not_charted() {
        let mut data = ChartData::default();
        for n in 0..MAX_SYMBOLS + 2 {
            data.bar(&format!("S{n}"), &bar(0, 1, 1, 1, 1));
            data.bar(&format!("S{n}"), &bar(1, 1, 1, 1, 1));
        }
        assert_eq!(data.prices.len(), MAX_SYMBOLS);
        assert_eq!(data.symbols_not_charted, [format!("S{MAX_SYMBOLS}"), format!("S{}", MAX_SYMBOLS + 1)]);
    }
}
