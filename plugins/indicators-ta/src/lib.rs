//! Incremental technical indicators: `sma`, `ema`, `rsi`, `macd`, `bollinger`, `atr`, `vwap`.
//!
//! Every update is O(1) time and memory bounded by the period. Inputs: a bar's close (ATR: its high,
//! low and close; VWAP: its typical price `(h+l+c)/3` weighted by volume), or a trade's price (VWAP:
//! weighted by quantity). Outputs are `None` until warmed up.
//!
//! Conventions follow TA-Lib, so values match it from the first output on:
//! - **SMA(n)**: mean of the last n inputs; first output on input n. Summed exactly in fixed point
//!   (see [`RollingMean`]), so equal averages compare equal.
//! - **EMA(n)**: α = 2/(n+1), seeded with the SMA of the first n inputs (first output on input n).
//! - **RSI(n)**: Wilder smoothing. The first average gain/loss is the mean of the first n changes
//!   (so the first output is on input n+1); then `avg = (avg × (n−1) + x) / n`.
//!   RSI = 100 × gain / (gain + loss), which is 100 − 100/(1+RS), and 0 when both averages are 0.
//! - **MACD(fast, slow, signal)**: line = EMA(fast) − EMA(slow), both SMA-seeded, with the fast EMA
//!   started `slow − fast` inputs late so that both first output on input `slow` (TA-Lib's alignment);
//!   signal = EMA(signal) of the line, SMA-seeded; histogram = line − signal. Outputs (line, signal,
//!   histogram) first appear together on input `slow + signal − 1`.
//! - **Bollinger(n, k)**: middle = SMA(n); bands = middle ± k × population standard deviation of the
//!   window (TA-Lib's default). Outputs (middle, upper, lower).
//! - **ATR(n)**: true range TR = max(h − l, |h − prev close|, |l − prev close|), defined from the
//!   second bar; first ATR = mean of the first n TRs (so on bar n+1), then Wilder smoothing.
//! - **VWAP**: cumulative Σ price × volume / Σ volume since the start of the run.

#![deny(unsafe_code)]

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use tradsys_core::component::{ComponentError, Indicator};
use tradsys_core::limits::Period;
use tradsys_core::market::MarketEvent;
use tradsys_core::plugin::Plugin;
use tradsys_core::types::{PRICE_SCALE, Price};

/// The single input most indicators take from an event: a bar's close or a trade's price.
#[inline]
fn close_of(event: &MarketEvent) -> Option<f64> {
    price_of(event).map(Price::to_f64)
}

/// [`close_of`], as the fixed-point price (indicators that sum prices exactly take this).
#[inline]
fn price_of(event: &MarketEvent) -> Option<Price> {
    match event {
        MarketEvent::Bar(bar) => Some(bar.close),
        MarketEvent::Trade(trade) => Some(trade.price),
        _ => None,
    }
}

tradsys_core::plugin_params! {
    /// Parameters of a single-period indicator.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct PeriodParams {
        /// The look-back, in inputs (1 to 1,000,000).
        /// Range: >= 1, <= 1_000_000
        pub period: Period,
    }
}

/// SMA core: a ring buffer of the last `period` prices with an exact running sum.
///
/// The sum is kept in raw fixed-point units (`i128`), so it carries no float residue: the mean is
/// one division, `sum / (period × PRICE_SCALE)`, rounded once. Two averages that are equal as
/// numbers are therefore equal as `f64`s too (while the sum and the divisor are below 2^53, i.e.
/// `period × price` under 90 million price units), and a strategy comparing them sees a tie as a
/// tie, not as whichever side a rounding residue happened to favour.
#[derive(Clone, Debug)]
pub struct RollingMean {
    /// The window, raw prices; slot `next` holds the oldest once the window is full.
    window: Box<[i64]>,
    next: usize,
    filled: usize,
    sum: i128,
    /// `period × PRICE_SCALE`, the divisor.
    divisor: f64,
    mean: Option<f64>,
}

impl RollingMean {
    /// A window of `period` inputs (at least 1).
    #[must_use]
    pub fn new(period: usize) -> RollingMean {
        let period = period.max(1);
        RollingMean {
            window: vec![0; period].into_boxed_slice(),
            next: 0,
            filled: 0,
            sum: 0,
            divisor: period as f64 * PRICE_SCALE as f64,
            mean: None,
        }
    }

    /// Takes a price; returns the mean once the window is full.
    #[inline]
    pub fn push(&mut self, price: Price) -> Option<f64> {
        let x = price.raw();
        let period = self.window.len();
        let oldest = std::mem::replace(&mut self.window[self.next], x);
        self.next = if self.next + 1 == period { 0 } else { self.next + 1 };
        self.sum += i128::from(x);
        if self.filled == period {
            self.sum -= i128::from(oldest);
        } else {
            self.filled += 1;
        }
        if self.filled == period {
            // Through i64 when it fits (always, for real prices): i128 to f64 is a library call,
            // kept out of line so that it is not computed speculatively on every update.
            let sum = i64::try_from(self.sum).map_or_else(|_| wide_to_f64(self.sum), |sum| sum as f64);
            self.mean = Some(sum / self.divisor);
        }
        self.mean
    }

    /// The mean of a full window.
    #[inline]
    #[must_use]
    pub fn value(&self) -> Option<f64> {
        self.mean
    }
}

/// `sum` as the nearest `f64` (a sum beyond `i64`: out of the hot path).
#[cold]
#[inline(never)]
fn wide_to_f64(sum: i128) -> f64 {
    sum as f64
}

/// EMA core, SMA-seeded.
#[derive(Clone, Debug)]
pub struct Ema {
    period: usize,
    alpha: f64,
    seen: usize,
    seed_sum: f64,
    value: Option<f64>,
}

impl Ema {
    /// An EMA of `period`.
    #[must_use]
    pub fn new(period: usize) -> Ema {
        Ema { period, alpha: 2.0 / (period as f64 + 1.0), seen: 0, seed_sum: 0.0, value: None }
    }

    /// Takes an input; returns the EMA once seeded.
    pub fn push(&mut self, x: f64) -> Option<f64> {
        self.seen += 1;
        match self.value {
            Some(previous) => self.value = Some(previous + self.alpha * (x - previous)),
            None => {
                self.seed_sum += x;
                if self.seen == self.period {
                    self.value = Some(self.seed_sum / self.period as f64);
                }
            }
        }
        self.value
    }
}

/// Wilder's smoothing, seeded with the mean of the first n inputs.
#[derive(Clone, Debug)]
struct Wilder {
    period: usize,
    seen: usize,
    seed_sum: f64,
    value: Option<f64>,
}

impl Wilder {
    fn new(period: usize) -> Wilder {
        Wilder { period, seen: 0, seed_sum: 0.0, value: None }
    }

    fn push(&mut self, x: f64) -> Option<f64> {
        self.seen += 1;
        let n = self.period as f64;
        match self.value {
            Some(previous) => self.value = Some((previous * (n - 1.0) + x) / n),
            None => {
                self.seed_sum += x;
                if self.seen == self.period {
                    self.value = Some(self.seed_sum / n);
                }
            }
        }
        self.value
    }
}

/// Simple moving average of closes.
#[derive(Debug)]
pub struct SmaIndicator {
    mean: RollingMean,
}

impl Default for PeriodParams {
    fn default() -> PeriodParams {
        PeriodParams { period: Period::of(14) }
    }
}

impl Plugin for SmaIndicator {
    type Params = PeriodParams;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = PeriodParams::PARAM_DOCS;
    const SUMMARY: &'static str = "simple moving average of closes";
    fn build(params: PeriodParams) -> Result<Self, ComponentError> {
        Ok(SmaIndicator { mean: RollingMean::new(params.period.get()) })
    }
}

impl Indicator for SmaIndicator {
    #[inline]
    fn update(&mut self, event: &MarketEvent) {
        if let Some(price) = price_of(event) {
            self.mean.push(price);
        }
    }
    #[inline]
    fn output(&self, _index: usize) -> Option<f64> {
        self.mean.value()
    }
}

/// Exponential moving average of closes (SMA-seeded).
#[derive(Debug)]
pub struct EmaIndicator {
    ema: Ema,
}

impl Plugin for EmaIndicator {
    type Params = PeriodParams;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = PeriodParams::PARAM_DOCS;
    const SUMMARY: &'static str = "exponential moving average of closes, SMA-seeded (TA-Lib)";
    fn build(params: PeriodParams) -> Result<Self, ComponentError> {
        Ok(EmaIndicator { ema: Ema::new(params.period.get()) })
    }
}

impl Indicator for EmaIndicator {
    fn update(&mut self, event: &MarketEvent) {
        if let Some(x) = close_of(event) {
            self.ema.push(x);
        }
    }
    fn output(&self, _index: usize) -> Option<f64> {
        self.ema.value
    }
}

/// Relative strength index with Wilder smoothing.
#[derive(Debug)]
pub struct RsiIndicator {
    previous: Option<f64>,
    gains: Wilder,
    losses: Wilder,
    value: Option<f64>,
}

impl Plugin for RsiIndicator {
    type Params = PeriodParams;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = PeriodParams::PARAM_DOCS;
    const SUMMARY: &'static str = "relative strength index, Wilder smoothing (TA-Lib)";
    fn build(params: PeriodParams) -> Result<Self, ComponentError> {
        let n = params.period.get();
        Ok(RsiIndicator { previous: None, gains: Wilder::new(n), losses: Wilder::new(n), value: None })
    }
}

impl Indicator for RsiIndicator {
    fn update(&mut self, event: &MarketEvent) {
        let Some(x) = close_of(event) else { return };
        if let Some(previous) = self.previous.replace(x) {
            let change = x - previous;
            let gain = self.gains.push(change.max(0.0));
            let loss = self.losses.push((-change).max(0.0));
            if let (Some(gain), Some(loss)) = (gain, loss) {
                self.value = Some(if gain + loss == 0.0 { 0.0 } else { 100.0 * gain / (gain + loss) });
            }
        }
    }
    fn output(&self, _index: usize) -> Option<f64> {
        self.value
    }
}

tradsys_core::plugin_params! {
    /// MACD parameters.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct MacdParams {
        /// Fast EMA period.
        /// Range: >= 1, <= 1_000_000
        pub fast: Period,
        /// Slow EMA period.
        /// Range: >= 1, <= 1_000_000
        pub slow: Period,
        /// Signal EMA period.
        /// Range: >= 1, <= 1_000_000
        pub signal: Period,
    }
}

impl Default for MacdParams {
    fn default() -> MacdParams {
        MacdParams { fast: Period::of(12), slow: Period::of(26), signal: Period::of(9) }
    }
}

/// MACD line, signal and histogram.
#[derive(Debug)]
pub struct MacdIndicator {
    skip_fast: usize,
    seen: usize,
    fast: Ema,
    slow: Ema,
    signal: Ema,
    outputs: [Option<f64>; 3],
}

impl Plugin for MacdIndicator {
    type Params = MacdParams;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = MacdParams::PARAM_DOCS;
    const SUMMARY: &'static str = "MACD line, signal and histogram (TA-Lib alignment)";
    fn build(params: MacdParams) -> Result<Self, ComponentError> {
        let (fast, slow, signal) = (params.fast.get(), params.slow.get(), params.signal.get());
        if fast >= slow {
            return Err(ComponentError::new(format!("fast ({fast}) must be less than slow ({slow})")));
        }
        Ok(MacdIndicator {
            skip_fast: slow - fast,
            seen: 0,
            fast: Ema::new(fast),
            slow: Ema::new(slow),
            signal: Ema::new(signal),
            outputs: [None; 3],
        })
    }
}

impl Indicator for MacdIndicator {
    fn update(&mut self, event: &MarketEvent) {
        let Some(x) = close_of(event) else { return };
        self.seen += 1;
        let fast = if self.seen > self.skip_fast { self.fast.push(x) } else { None };
        let slow = self.slow.push(x);
        if let (Some(fast), Some(slow)) = (fast, slow) {
            let line = fast - slow;
            if let Some(signal) = self.signal.push(line) {
                self.outputs = [Some(line), Some(signal), Some(line - signal)];
            }
        }
    }
    fn output_names(&self) -> &'static [&'static str] {
        &["line", "signal", "histogram"]
    }
    fn output(&self, index: usize) -> Option<f64> {
        self.outputs.get(index).copied().flatten()
    }
}

tradsys_core::plugin_params! {
    /// Bollinger parameters.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct BollingerParams {
        /// Window length.
        /// Range: >= 1, <= 1_000_000
        pub period: Period,
        /// Band width in standard deviations.
        /// Range: > 0
        pub k: f64,
    }
}

impl Default for BollingerParams {
    fn default() -> BollingerParams {
        BollingerParams { period: Period::of(20), k: 2.0 }
    }
}

/// Bollinger bands: middle, upper, lower.
#[derive(Debug)]
pub struct BollingerIndicator {
    period: usize,
    k: f64,
    window: VecDeque<f64>,
    /// Sums of `x − shift` and its square; the shift (first input) keeps the variance precise.
    shift: Option<f64>,
    sum: f64,
    sum_sq: f64,
}

impl Plugin for BollingerIndicator {
    type Params = BollingerParams;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = BollingerParams::PARAM_DOCS;
    const SUMMARY: &'static str = "Bollinger bands: SMA ± k population standard deviations";
    fn build(params: BollingerParams) -> Result<Self, ComponentError> {
        if !(params.k.is_finite() && params.k > 0.0) {
            return Err(ComponentError::new(format!("k must be a positive number, got {}", params.k)));
        }
        let period = params.period.get();
        Ok(BollingerIndicator {
            period,
            k: params.k,
            window: VecDeque::with_capacity(period + 1),
            shift: None,
            sum: 0.0,
            sum_sq: 0.0,
        })
    }
}

impl BollingerIndicator {
    fn stats(&self) -> Option<(f64, f64)> {
        if self.window.len() != self.period {
            return None;
        }
        let n = self.period as f64;
        let shift = self.shift.unwrap_or(0.0);
        let mean_shifted = self.sum / n;
        let variance = (self.sum_sq / n - mean_shifted * mean_shifted).max(0.0);
        Some((mean_shifted + shift, variance.sqrt()))
    }
}

impl Indicator for BollingerIndicator {
    fn update(&mut self, event: &MarketEvent) {
        let Some(x) = close_of(event) else { return };
        let shift = *self.shift.get_or_insert(x);
        let d = x - shift;
        self.window.push_back(d);
        self.sum += d;
        self.sum_sq += d * d;
        if self.window.len() > self.period {
            let old = self.window.pop_front().unwrap_or(0.0);
            self.sum -= old;
            self.sum_sq -= old * old;
        }
    }
    fn output_names(&self) -> &'static [&'static str] {
        &["middle", "upper", "lower"]
    }
    fn output(&self, index: usize) -> Option<f64> {
        let (mean, sd) = self.stats()?;
        match index {
            0 => Some(mean),
            1 => Some(mean + self.k * sd),
            2 => Some(mean - self.k * sd),
            _ => None,
        }
    }
}

/// Average true range with Wilder smoothing.
#[derive(Debug)]
pub struct AtrIndicator {
    previous_close: Option<f64>,
    smoothing: Wilder,
}

impl Plugin for AtrIndicator {
    type Params = PeriodParams;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = PeriodParams::PARAM_DOCS;
    const SUMMARY: &'static str = "average true range, Wilder smoothing (TA-Lib)";
    fn build(params: PeriodParams) -> Result<Self, ComponentError> {
        Ok(AtrIndicator { previous_close: None, smoothing: Wilder::new(params.period.get()) })
    }
}

impl Indicator for AtrIndicator {
    fn update(&mut self, event: &MarketEvent) {
        let MarketEvent::Bar(bar) = event else { return };
        let (high, low, close) = (bar.high.to_f64(), bar.low.to_f64(), bar.close.to_f64());
        if let Some(previous) = self.previous_close {
            let range = (high - low).max((high - previous).abs()).max((low - previous).abs());
            self.smoothing.push(range);
        }
        self.previous_close = Some(close);
    }
    fn output(&self, _index: usize) -> Option<f64> {
        self.smoothing.value
    }
}

/// VWAP takes no parameters.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VwapParams {}

/// Cumulative volume-weighted average price.
#[derive(Debug, Default)]
pub struct VwapIndicator {
    value_sum: f64,
    volume_sum: f64,
}

impl Plugin for VwapIndicator {
    type Params = VwapParams;
    const SUMMARY: &'static str = "cumulative volume-weighted average price";
    fn build(_params: VwapParams) -> Result<Self, ComponentError> {
        Ok(VwapIndicator::default())
    }
}

impl Indicator for VwapIndicator {
    fn update(&mut self, event: &MarketEvent) {
        let (price, volume) = match event {
            MarketEvent::Bar(bar) => ((bar.high.to_f64() + bar.low.to_f64() + bar.close.to_f64()) / 3.0, bar.volume),
            MarketEvent::Trade(trade) => (trade.price.to_f64(), trade.qty.0 as f64),
            _ => return,
        };
        self.value_sum += price * volume;
        self.volume_sum += volume;
    }
    fn output(&self, _index: usize) -> Option<f64> {
        (self.volume_sum > 0.0).then(|| self.value_sum / self.volume_sum)
    }
}

tradsys_core::register_indicator!(SmaIndicator, "sma", "1.0.0");
tradsys_core::register_indicator!(EmaIndicator, "ema", "1.0.0");
tradsys_core::register_indicator!(RsiIndicator, "rsi", "1.0.0");
tradsys_core::register_indicator!(MacdIndicator, "macd", "1.0.0");
tradsys_core::register_indicator!(BollingerIndicator, "bollinger", "1.0.0");
tradsys_core::register_indicator!(AtrIndicator, "atr", "1.0.0");
tradsys_core::register_indicator!(VwapIndicator, "vwap", "1.0.0");

#[cfg(test)]
mod tests;
