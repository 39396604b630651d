//! Streaming performance statistics: O(1) memory in the number of bars.
//!
//! Returns are per-period simple returns of equity. Sharpe = mean / standard deviation × √(periods
//! per year), risk-free rate 0, sample standard deviation (n − 1), accumulated as sums of the
//! returns shifted by the first one (the "shifted data" method: no division per mark, and no
//! cancellation because the shift is close to the mean); periods per year come from the
//! config or are inferred from the median spacing of the first 1,000 marks (365.25-day year, so
//! hourly bars give 8,766). Max drawdown is the largest fall from a running peak, as a fraction of
//! that peak. The curve kept for plots is downsampled: once it holds [`CURVE_POINTS`] points, every
//! other point is dropped and the stride doubles, so memory stays flat however long the run.

use crate::types::{Money, Timestamp};

/// Points kept for plotting, at most.
pub const CURVE_POINTS: usize = 4096;
const SPACING_SAMPLE: usize = 1000;
const SECONDS_PER_YEAR: f64 = 365.25 * 24.0 * 3600.0;

/// A point of a downsampled equity curve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CurvePoint {
    /// The mark's time.
    pub ts: Timestamp,
    /// Equity.
    pub equity: f64,
    /// Drawdown from the running peak, as a fraction (0 at a peak).
    pub drawdown: f64,
}

/// Running statistics of one equity series.
#[derive(Clone, Debug)]
pub struct EquityStats {
    initial: f64,
    last: f64,
    peak: f64,
    max_drawdown: f64,
    n_returns: u64,
    /// The first return; later returns are accumulated relative to it.
    shift: f64,
    /// Σ (return − shift).
    sum: f64,
    /// Σ (return − shift)².
    sum_sq: f64,
    marks: u64,
    curve: Vec<CurvePoint>,
    stride: u64,
    /// Marks until the next curve point (a countdown instead of `marks % stride`).
    until_point: u64,
}

impl EquityStats {
    /// Starts a series at `initial` equity.
    #[must_use]
    pub fn new(initial: Money) -> EquityStats {
        let initial = initial.to_f64();
        EquityStats {
            initial,
            last: initial,
            peak: initial,
            max_drawdown: 0.0,
            n_returns: 0,
            shift: 0.0,
            sum: 0.0,
            sum_sq: 0.0,
            marks: 0,
            curve: Vec::new(),
            stride: 1,
            until_point: 0,
        }
    }

    /// Takes one mark; returns the drawdown at this mark.
    pub fn mark(&mut self, ts: Timestamp, equity: Money) -> f64 {
        let equity = equity.to_f64();
        if self.last != 0.0 {
            let ret = equity / self.last - 1.0;
            if self.n_returns == 0 {
                self.shift = ret;
            }
            self.n_returns += 1;
            let shifted = ret - self.shift;
            self.sum += shifted;
            self.sum_sq += shifted * shifted;
        }
        self.last = equity;
        let drawdown = if equity >= self.peak {
            self.peak = equity;
            0.0
        } else if self.peak > 0.0 {
            (self.peak - equity) / self.peak
        } else {
            0.0
        };
        self.max_drawdown = self.max_drawdown.max(drawdown);
        if self.until_point == 0 {
            if self.curve.len() == CURVE_POINTS {
                // Keep every other point (those at even multiples of the old stride) and double it.
                let mut keep = 0;
                self.curve.retain(|_| {
                    keep += 1;
                    keep % 2 == 1
                });
                self.stride *= 2;
            }
            if self.marks.is_multiple_of(self.stride) {
                self.curve.push(CurvePoint { ts, equity, drawdown });
                self.until_point = self.stride;
            } else {
                self.until_point = self.stride - self.marks % self.stride;
            }
        }
        self.until_point -= 1;
        self.marks += 1;
        drawdown
    }

    /// Adds money that is not a return (a strategy added while the system runs brings its cash):
    /// the starting, last and peak equity all grow by it, so no return or drawdown is counted.
    pub fn deposit(&mut self, amount: Money) {
        let amount = amount.to_f64();
        self.initial += amount;
        self.last += amount;
        self.peak += amount;
    }

    /// Total return as a fraction of the initial equity.
    #[must_use]
    pub fn total_return(&self) -> f64 {
        if self.initial == 0.0 { 0.0 } else { self.last / self.initial - 1.0 }
    }

    /// Largest peak-to-trough fall, as a fraction of the peak.
    #[must_use]
    pub fn max_drawdown(&self) -> f64 {
        self.max_drawdown
    }

    /// Annualized Sharpe ratio, or 0 with fewer than two returns or no variance.
    #[must_use]
    pub fn sharpe(&self, periods_per_year: f64) -> f64 {
        if self.n_returns < 2 {
            return 0.0;
        }
        let n = self.n_returns as f64;
        let mean = self.shift + self.sum / n;
        let variance = ((self.sum_sq - self.sum * self.sum / n) / (n - 1.0)).max(0.0);
        let std = variance.sqrt();
        if std == 0.0 { 0.0 } else { mean / std * periods_per_year.sqrt() }
    }

    /// The downsampled curve.
    #[must_use]
    pub fn curve(&self) -> &[CurvePoint] {
        &self.curve
    }

    /// Marks taken.
    #[must_use]
    pub fn marks(&self) -> u64 {
        self.marks
    }
}

/// Infers periods per year from the spacing of the first marks.
#[derive(Clone, Debug, Default)]
pub struct SpacingSample {
    last: Option<Timestamp>,
    gaps: Vec<i64>,
}

impl SpacingSample {
    /// Takes a mark's time.
    pub fn observe(&mut self, ts: Timestamp) {
        if self.gaps.len() < SPACING_SAMPLE {
            if let Some(last) = self.last
                && ts.0 > last.0
            {
                self.gaps.push(ts.0 - last.0);
            }
            self.last = Some(ts);
        }
    }

    /// Periods per year from the median gap (0 if unknown).
    #[must_use]
    pub fn periods_per_year(&self) -> f64 {
        if self.gaps.is_empty() {
            return 0.0;
        }
        let mut gaps = self.gaps.clone();
        gaps.sort_unstable();
        let median_seconds = gaps[gaps.len() / 2] as f64 / 1e9;
        SECONDS_PER_YEAR / median_seconds
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(v: f64) -> Money {
        Money::from_f64(v)
    }

    #[test]
    fn drawdown_return_and_sharpe_match_hand_computed_values() {
        let mut stats = EquityStats::new(money(100.0));
        for (i, equity) in [110.0, 99.0, 121.0].iter().enumerate() {
            stats.mark(Timestamp(i as i64), money(*equity));
        }
        assert!((stats.total_return() - 0.21).abs() < 1e-12);
        assert!((stats.max_drawdown() - 0.1).abs() < 1e-12);
        // Returns 0.1, -0.1, 0.2222...: mean 0.074074, sample sd 0.162636.
        let returns = [0.1, -0.1, 121.0 / 99.0 - 1.0];
        let mean = returns.iter().sum::<f64>() / 3.0;
        let sd = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
        assert!((stats.sharpe(252.0) - mean / sd * 252f64.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn shifted_sums_agree_with_a_two_pass_computation_on_a_long_series() {
        // A steady drift with small noise: the case where naive sums of squares cancel badly.
        let mut rng = crate::rng::SplitMix64::new(9);
        let mut stats = EquityStats::new(money(1_000_000.0));
        let mut equities = vec![money(1_000_000.0).to_f64()];
        for i in 0..100_000 {
            let noise = (rng.below(1000) as f64 - 500.0) * 1e-9;
            let equity = money(equities[equities.len() - 1] * (1.0 + 1e-4 + noise));
            stats.mark(Timestamp(i), equity);
            equities.push(equity.to_f64());
        }
        let returns: Vec<f64> = equities.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
        let n = returns.len() as f64;
        let mean = returns.iter().sum::<f64>() / n;
        let sd = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let expected = mean / sd * 252f64.sqrt();
        assert!((stats.sharpe(252.0) / expected - 1.0).abs() < 1e-9, "{} vs {expected}", stats.sharpe(252.0));
    }

    #[test]
    fn curve_memory_stays_flat() {
        let mut stats = EquityStats::new(money(1.0));
        for i in 0..1_000_000 {
            stats.mark(Timestamp(i), money(1.0 + (i % 7) as f64));
        }
        assert!(stats.curve().len() <= CURVE_POINTS);
        assert!(stats.curve().len() >= CURVE_POINTS / 2);
        assert!(stats.curve().windows(2).all(|w| w[0].ts < w[1].ts));
    }

    #[test]
    fn hourly_spacing_gives_8766_periods() {
        let mut sample = SpacingSample::default();
        for hour in 0..100 {
            sample.observe(Timestamp(hour * 3_600_000_000_000));
        }
        assert!((sample.periods_per_year() - 8766.0).abs() < 1e-6);
    }
}
