//! Streaming performance statistics: O(1) memory in the number of bars.
//!
//! Equity is marked at every bar (order-flow mode: every 1,000 events). From the marks, kept as
//! running sums only:
//! - **Daily returns**, as backtesting.py computes them: the last equity of each UTC day against the
//!   last of the day before. Annualized figures come from them with `D` days a year (252 when the
//!   data has no weekends, else 365; [`Calendar`]): return `(1 + g)^D − 1` from the geometric mean
//!   `g`; volatility `√((s² + (1 + g)²)^D − (1 + g)^(2D))` from the sample variance `s²`; Sharpe =
//!   return / volatility (risk-free 0); Sortino = return / (√mean(min(r, 0)²) · √D); Calmar = return
//!   / max drawdown. Sums are shifted by the first return (no cancellation on long, quiet series).
//! - **Drawdowns**: the largest fall from a running peak as a fraction of it, and each episode (from
//!   a peak to the mark that regains it, or to the last mark) with its depth and duration.
//! - **Exposure**: backtesting.py's `Exposure Time [%]`: the share of marks that fall on a bar from
//!   some closed round trip's entry bar to its exit bar, both included (`TripExposure`). A trip
//!   still open at the end is not a trade, so the marks only it covers do not count.
//!
//! docs/statistics.md defines every figure. The curve kept for plots is downsampled: once it holds
//! [`CURVE_POINTS`] points, every other point is dropped and the stride doubles, so memory stays
//! flat however long the run.

use crate::types::{Money, Timestamp};

/// Points kept for plotting, at most.
pub const CURVE_POINTS: usize = 4096;
const NANOS_PER_DAY: i64 = 86_400_000_000_000;

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
    first_ts: Option<Timestamp>,
    last_ts: Timestamp,
    daily: DailyReturns,
    episodes: DrawdownEpisodes,
    exposure: TripExposure,
    beta: BetaSums,
    /// Equity as a return index: it moves by each mark's return against the last equity,
    /// deposits included in that base (see [`Self::deposit`]), so that daily returns and beta
    /// never count a deposit as a gain (1.0 at the first mark).
    index: f64,
    marks: u64,
    curve: Vec<CurvePoint>,
    stride: u64,
    /// Marks until the next curve point (a countdown instead of `marks % stride`).
    until_point: u64,
}

/// Running count, mean and sample variance of a series, kept as sums of the values shifted by the
/// first one (no cancellation when the values sit far from zero, as on a long quiet series).
#[derive(Clone, Debug, Default)]
pub(super) struct Moments {
    n: u64,
    shift: f64,
    sum: f64,
    sum_sq: f64,
}

impl Moments {
    /// Adds a value.
    pub(super) fn push(&mut self, value: f64) {
        if self.n == 0 {
            self.shift = value;
        }
        self.n += 1;
        let shifted = value - self.shift;
        self.sum += shifted;
        self.sum_sq += shifted * shifted;
    }

    /// Adds another series' values: Σ(x − a) = Σ(x − b) + n(b − a), re-shifted onto this shift.
    pub(super) fn merge(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = other.clone();
            return;
        }
        let delta = other.shift - self.shift;
        let n = other.n as f64;
        self.sum_sq += other.sum_sq + 2.0 * delta * other.sum + n * delta * delta;
        self.sum += other.sum + n * delta;
        self.n += other.n;
    }

    /// Values added.
    pub(super) fn count(&self) -> u64 {
        self.n
    }

    /// Their mean; `None` without any.
    pub(super) fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.shift + self.sum / self.n as f64)
    }

    /// Their sample variance (n − 1); `None` with fewer than two.
    pub(super) fn sample_variance(&self) -> Option<f64> {
        let n = self.n as f64;
        (self.n >= 2).then(|| ((self.sum_sq - self.sum * self.sum / n) / (n - 1.0)).max(0.0))
    }
}

/// Running sums of daily returns.
#[derive(Clone, Debug, Default)]
struct DailyReturns {
    /// The end (exclusive) of the day being marked; `None` before the first mark.
    day_end: Option<i64>,
    /// The last equity of that day.
    day_close: f64,
    /// The last equity of the day before, once there was one.
    prev_close: Option<f64>,
    /// The returns' count, mean and variance.
    returns: Moments,
    /// Σ ln(1 + r), for the geometric mean.
    sum_ln: f64,
    /// Whether a day lost everything or more (the geometric mean is then taken as 0, as
    /// backtesting.py does).
    ruined: bool,
    /// Σ min(r, 0)², for the downside deviation.
    sum_down_sq: f64,
}

impl DailyReturns {
    fn mark(&mut self, ts: Timestamp, equity: f64) {
        if self.day_end.is_none_or(|end| ts.0 >= end) {
            if self.day_end.is_some() {
                self.close_day();
            }
            self.day_end = Some((ts.0.div_euclid(NANOS_PER_DAY) + 1).saturating_mul(NANOS_PER_DAY));
        }
        self.day_close = equity;
    }

    /// The day being marked is over: its return against the day before joins the sums.
    fn close_day(&mut self) {
        if let Some(prev) = self.prev_close
            && prev != 0.0
        {
            let ret = self.day_close / prev - 1.0;
            self.returns.push(ret);
            if ret > -1.0 {
                self.sum_ln += ret.ln_1p();
            } else {
                self.ruined = true;
            }
            self.sum_down_sq += ret.min(0.0).powi(2);
        }
        self.prev_close = Some(self.day_close);
    }

    /// The figures so far, the day being marked included.
    fn summary(&self) -> DailySummary {
        let mut all = self.clone();
        if all.day_end.is_some() {
            all.close_day();
        }
        let days = all.returns.count();
        let n = days as f64;
        // Over n + 1 days: the first day, which has no return, counts as a day of 0 (as
        // backtesting.py's geometric mean fills pandas' leading NaN with 0).
        let geometric_mean = if days == 0 || all.ruined { 0.0 } else { (all.sum_ln / (n + 1.0)).exp_m1() };
        let downside = (days >= 1).then(|| (all.sum_down_sq / n).sqrt());
        DailySummary { days, geometric_mean, variance: all.returns.sample_variance(), downside }
    }
}

/// What the daily returns say.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DailySummary {
    /// Daily returns counted (days marked − 1).
    pub days: u64,
    /// Geometric mean daily return, the first day counting as 0 (0 with none, or after a day that
    /// lost everything).
    pub geometric_mean: f64,
    /// Sample variance (n − 1); `None` with fewer than two returns.
    pub variance: Option<f64>,
    /// √mean(min(r, 0)²); `None` with no return.
    pub downside: Option<f64>,
}

impl DailySummary {
    /// Annualized return, as a fraction.
    #[must_use]
    pub fn annual_return(&self, days_per_year: f64) -> Option<f64> {
        (self.days > 0).then(|| (1.0 + self.geometric_mean).powf(days_per_year) - 1.0)
    }

    /// Annualized volatility, as a fraction (backtesting.py's formula for compounded returns).
    #[must_use]
    pub fn annual_volatility(&self, days_per_year: f64) -> Option<f64> {
        let variance = self.variance?;
        let growth = 1.0 + self.geometric_mean;
        let value = (variance + growth * growth).powf(days_per_year) - growth.powf(2.0 * days_per_year);
        value.is_finite().then(|| value.max(0.0).sqrt())
    }

    /// Sharpe ratio (risk-free 0); `None` without volatility.
    #[must_use]
    pub fn sharpe(&self, days_per_year: f64) -> Option<f64> {
        ratio(self.annual_return(days_per_year)?, self.annual_volatility(days_per_year)?)
    }

    /// Sortino ratio (target 0); `None` without a losing day.
    #[must_use]
    pub fn sortino(&self, days_per_year: f64) -> Option<f64> {
        ratio(self.annual_return(days_per_year)?, self.downside? * days_per_year.sqrt())
    }
}

/// `numerator / denominator`, `None` when the denominator is 0 or the result not finite.
fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    let value = numerator / denominator;
    (denominator != 0.0 && value.is_finite()).then_some(value)
}

/// Sums of per-mark log returns of equity (x) and of the market (y), shifted by the first pair.
#[derive(Clone, Debug, Default)]
struct BetaSums {
    last: Option<(f64, f64)>,
    n: u64,
    shift: (f64, f64),
    sum_x: f64,
    sum_y: f64,
    sum_xy: f64,
    sum_yy: f64,
}

impl BetaSums {
    fn mark(&mut self, equity: f64, market: Option<f64>) {
        let Some(market) = market.filter(|m| *m > 0.0) else { return };
        if let Some((last_equity, last_market)) = self.last
            && last_equity > 0.0
            && equity > 0.0
        {
            // The logarithms are most of what statistics cost per bar: skipped when nothing moved.
            let log_return = |now: f64, before: f64| if now == before { 0.0 } else { (now / before).ln() };
            let (x, y) = (log_return(equity, last_equity), log_return(market, last_market));
            if self.n == 0 {
                self.shift = (x, y);
            }
            self.n += 1;
            let (x, y) = (x - self.shift.0, y - self.shift.1);
            self.sum_x += x;
            self.sum_y += y;
            self.sum_xy += x * y;
            self.sum_yy += y * y;
        }
        self.last = Some((equity, market));
    }

    fn beta(&self) -> Option<f64> {
        if self.n < 2 {
            return None;
        }
        let n = self.n as f64;
        let covariance = self.sum_xy - self.sum_x * self.sum_y / n;
        let variance = self.sum_yy - self.sum_y * self.sum_y / n;
        ratio(covariance, variance)
    }
}

/// Drawdown episodes: from a peak to the mark that regains it.
#[derive(Clone, Debug, Default)]
struct DrawdownEpisodes {
    /// When the current peak was set.
    peak_ts: Timestamp,
    /// The depth of the episode under way, if one is.
    open_depth: Option<f64>,
    /// Marks in the episode under way.
    open_marks: u64,
    count: u64,
    sum_depth: f64,
    sum_nanos: f64,
    max_nanos: i64,
}

impl DrawdownEpisodes {
    fn mark(&mut self, ts: Timestamp, drawdown: f64) {
        if drawdown > 0.0 {
            self.open_depth = Some(self.open_depth.unwrap_or(0.0).max(drawdown));
            self.open_marks += 1;
            return;
        }
        self.open_marks = 0;
        if let Some(depth) = self.open_depth.take() {
            self.close(depth, ts.0 - self.peak_ts.0);
        }
        self.peak_ts = ts;
    }

    fn close(&mut self, depth: f64, nanos: i64) {
        self.count += 1;
        self.sum_depth += depth;
        self.sum_nanos += nanos as f64;
        self.max_nanos = self.max_nanos.max(nanos);
    }

    /// (average depth, average duration in days, longest duration in days), the episode under
    /// way (ending at `last`) included unless it is only the last mark (as backtesting.py
    /// counts); `None` without any drawdown.
    fn summary(&self, last: Timestamp) -> Option<(f64, f64, f64)> {
        let mut all = self.clone();
        if let Some(depth) = all.open_depth.filter(|_| all.open_marks > 1) {
            all.close(depth, last.0 - all.peak_ts.0);
        }
        let n = all.count as f64;
        let day = NANOS_PER_DAY as f64;
        (all.count > 0).then(|| (all.sum_depth / n, all.sum_nanos / n / day, all.max_nanos as f64 / day))
    }
}

/// The drawdown figures of a series.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DrawdownSummary {
    /// Mean depth of the episodes, as a fraction.
    pub average: f64,
    /// Mean duration of the episodes, in days.
    pub average_days: f64,
    /// Longest episode, in days.
    pub longest_days: f64,
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
            first_ts: None,
            last_ts: Timestamp(0),
            daily: DailyReturns::default(),
            episodes: DrawdownEpisodes::default(),
            exposure: TripExposure::default(),
            beta: BetaSums::default(),
            index: 1.0,
            marks: 0,
            curve: Vec::new(),
            stride: 1,
            until_point: 0,
        }
    }

    /// Takes one mark at the end of bar `bar` (`exposed`: a position was open; `market`: the
    /// primary instrument's price, for beta); returns the drawdown at this mark.
    pub fn mark(&mut self, ts: Timestamp, bar: u64, equity: Money, exposed: bool, market: Option<f64>) -> f64 {
        let equity = equity.to_f64();
        if self.marks > 0 && self.last != 0.0 {
            self.index *= equity / self.last;
        }
        self.beta.mark(self.index, market);
        if self.first_ts.is_none() {
            // The starting equity is the first peak, as of the first mark.
            self.first_ts = Some(ts);
            self.episodes.peak_ts = ts;
        }
        self.last_ts = ts;
        self.last = equity;
        self.exposure.mark(bar, exposed);
        self.daily.mark(ts, self.index);
        let drawdown = if equity >= self.peak {
            self.peak = equity;
            0.0
        } else if self.peak > 0.0 {
            (self.peak - equity) / self.peak
        } else {
            0.0
        };
        self.max_drawdown = self.max_drawdown.max(drawdown);
        self.episodes.mark(ts, drawdown);
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

    /// The drawdown episodes; `None` when equity never fell.
    #[must_use]
    pub fn drawdowns(&self) -> Option<DrawdownSummary> {
        let (average, average_days, longest_days) = self.episodes.summary(self.last_ts)?;
        Some(DrawdownSummary { average, average_days, longest_days })
    }

    /// The daily returns so far.
    #[must_use]
    pub fn daily(&self) -> DailySummary {
        self.daily.summary()
    }

    /// The last equity.
    #[must_use]
    pub fn final_equity(&self) -> f64 {
        self.last
    }

    /// The highest equity.
    #[must_use]
    pub fn peak_equity(&self) -> f64 {
        self.peak
    }

    /// The first and last mark's times, once marked.
    #[must_use]
    pub fn span(&self) -> Option<(Timestamp, Timestamp)> {
        Some((self.first_ts?, self.last_ts))
    }

    /// Beta against the primary instrument: cov(equity, market) / var(market) of per-mark log
    /// returns; `None` with fewer than two pairs or a market that never moved.
    #[must_use]
    pub fn beta(&self) -> Option<f64> {
        self.beta.beta()
    }

    /// The starting equity.
    #[must_use]
    pub fn initial_equity(&self) -> f64 {
        self.initial
    }

    /// A round trip that opened on bar `entry_bar` closed (on the bar being traded, which the next
    /// mark closes): the marks from its entry to that mark count as exposed.
    pub fn trip_closed(&mut self, entry_bar: u64) {
        self.exposure.trip_closed(entry_bar);
    }

    /// backtesting.py's exposure time: the share of marks on a bar that some closed round trip
    /// spans, from its entry bar to its exit bar, as a fraction.
    #[must_use]
    pub fn exposure(&self) -> Option<f64> {
        (self.marks > 0).then(|| self.exposure.covered() as f64 / self.marks as f64)
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

/// The marks that closed round trips cover, counted as they happen, the way backtesting.py
/// counts them afterwards (every bar from a trade's entry bar to its exit bar, both included).
///
/// A mark with a position open is *pending*: it counts once a trip that spans it closes. Every
/// mark a closing trip spans from its entry on is open (its position was), so closing confirms
/// the pending marks from its entry bar on, and the next mark, which closes its exit bar, counts
/// at once. (Bar mode marks once a bar. Order-flow mode marks every 1,000 events, bars or not:
/// there a closing trip confirms the marks since its entry bar began, and counts one mark for its
/// exit.)
/// What is still pending at the end is covered only by trips that never closed. Once the
/// position is flat every trip is closed and nothing is pending, so the pending runs are as few
/// as the trips open at once (one, for one instrument).
#[derive(Clone, Debug, Default)]
struct TripExposure {
    /// Marks confirmed covered.
    covered: u64,
    /// Marks with a position open that no closed trip spans yet, oldest first.
    pending: Vec<PendingRun>,
    /// The earliest entry bar of the trips closed since the last mark.
    closed_from: Option<u64>,
}

/// Consecutive pending marks: one a bar from `first` to `last`, or all of them on one bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PendingRun {
    first: u64,
    last: u64,
    marks: u64,
}

impl PendingRun {
    /// Whether the run holds exactly one mark per bar.
    fn one_a_bar(&self) -> bool {
        self.marks == self.last - self.first + 1
    }

    /// The run's marks on bars from `from` on.
    fn marks_from(&self, from: u64) -> u64 {
        if from <= self.first {
            self.marks
        } else if from > self.last {
            0
        } else {
            // `first < from <= last`: a run over several bars, one mark each.
            self.last - from + 1
        }
    }
}

impl TripExposure {
    fn trip_closed(&mut self, entry_bar: u64) {
        self.closed_from = Some(self.closed_from.map_or(entry_bar, |from| from.min(entry_bar)));
    }

    #[inline]
    fn mark(&mut self, bar: u64, exposed: bool) {
        if let Some(from) = self.closed_from.take() {
            // The mark closing the exit bar.
            self.covered += self.confirm_from(from) + 1;
        } else if exposed {
            match self.pending.last_mut() {
                Some(run) if run.one_a_bar() && bar == run.last + 1 => {
                    run.last = bar;
                    run.marks += 1;
                }
                Some(run) if run.first == bar && run.last == bar => run.marks += 1,
                _ => self.pending.push(PendingRun { first: bar, last: bar, marks: 1 }),
            }
        }
    }

    /// Takes the pending marks on bars from `from` on out of pending; returns how many.
    fn confirm_from(&mut self, from: u64) -> u64 {
        let mut confirmed = 0;
        while let Some(run) = self.pending.last_mut() {
            let marks = run.marks_from(from);
            confirmed += marks;
            if marks == run.marks {
                self.pending.pop();
            } else {
                if marks > 0 {
                    run.last = from - 1;
                    run.marks -= marks;
                }
                break;
            }
        }
        confirmed
    }

    /// Marks covered, counting a trip that closed after the last mark.
    fn covered(&self) -> u64 {
        let Some(from) = self.closed_from else { return self.covered };
        self.covered + self.pending.iter().map(|run| run.marks_from(from)).sum::<u64>()
    }
}

/// The data's calendar, from the mark times: whether it trades at weekends.
#[derive(Clone, Debug, Default)]
pub struct Calendar {
    marks: u64,
    weekend_marks: u64,
}

impl Calendar {
    /// Takes a mark's time.
    #[inline]
    pub fn observe(&mut self, ts: Timestamp) {
        self.marks += 1;
        // 1970-01-01 was a Thursday: (day + 3) mod 7 is 0 on Mondays, 5 and 6 at weekends.
        let weekday = (ts.0.div_euclid(NANOS_PER_DAY) + 3).rem_euclid(7);
        self.weekend_marks += u64::from(weekday >= 5);
    }

    /// Days per year for annualizing: 365 when more than 60% of the weekend's share of a week
    /// (2/7) of the marks fall on Saturdays and Sundays, else 252 (backtesting.py's rule).
    #[must_use]
    pub fn days_per_year(&self) -> f64 {
        let weekend_share = if self.marks == 0 { 0.0 } else { self.weekend_marks as f64 / self.marks as f64 };
        if weekend_share > 2.0 / 7.0 * 0.6 { 365.0 } else { 252.0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(v: f64) -> Money {
        Money::from_f64(v)
    }

    const DAY: i64 = NANOS_PER_DAY;

    /// Marks `equities` one a day from a Monday, at 17:00, each after a 09:00 mark at the day
    /// before's value (flat, without a position), so only a day's last mark moves its return.
    fn daily(equities: &[f64]) -> EquityStats {
        let monday = 4 * DAY; // 1970-01-05
        let mut stats = EquityStats::new(money(equities[0]));
        let mut before = equities[0];
        for (day, equity) in equities.iter().enumerate() {
            let at = monday + day as i64 * DAY;
            let bar = 2 * day as u64;
            stats.mark(Timestamp(at + 9 * DAY / 24), bar, money(before), false, None);
            stats.mark(Timestamp(at + 17 * DAY / 24), bar + 1, money(*equity), true, None);
            before = *equity;
        }
        stats
    }

    #[test]
    fn daily_figures_match_a_two_pass_computation_of_backtesting_py_formulas() {
        let equities = [100.0, 110.0, 99.0, 121.0, 118.0, 125.0];
        let stats = daily(&equities);
        let returns: Vec<f64> = equities.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
        let n = returns.len() as f64;
        // backtesting.py's geometric mean counts the first day (no return) as 0: n + 1 days.
        let g = (returns.iter().map(|r| (1.0 + r).ln()).sum::<f64>() / (n + 1.0)).exp() - 1.0;
        let mean = returns.iter().sum::<f64>() / n;
        let var = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let d = 252.0;
        let annual = (1.0 + g).powf(d) - 1.0;
        let vol = ((var + (1.0 + g).powi(2)).powf(d) - (1.0 + g).powf(2.0 * d)).sqrt();
        let downside = (returns.iter().map(|r| r.min(0.0).powi(2)).sum::<f64>() / n).sqrt() * d.sqrt();
        let summary = stats.daily();
        assert_eq!(summary.days, 5);
        let close = |a: Option<f64>, b: f64| (a.unwrap() / b - 1.0).abs() < 1e-9;
        assert!(close(summary.annual_return(d), annual));
        assert!(close(summary.annual_volatility(d), vol));
        assert!(close(summary.sharpe(d), annual / vol));
        assert!(close(summary.sortino(d), annual / downside));
        assert!((stats.total_return() - 0.25).abs() < 1e-12);
        assert_eq!(stats.exposure(), Some(0.0), "a position was open at every other mark, but no trip closed");
    }

    #[test]
    fn a_day_ending_at_the_epoch_is_one_day() {
        // 1969-12-31 ends exactly at 0 ns: its marks are one day, not one day each.
        let mut stats = EquityStats::new(money(100.0));
        for (bar, (ts, equity)) in
            [(-3 * DAY, 100.0), (-2 * DAY, 101.0), (-DAY / 2, 50.0), (-DAY / 4, 102.0), (DAY / 2, 103.0)]
                .into_iter()
                .enumerate()
        {
            stats.mark(Timestamp(ts), bar as u64, money(equity), false, None);
        }
        // Three day-to-day returns: 101/100, 102/101 (the day's last mark), 103/102.
        assert_eq!(stats.daily().days, 3);
    }

    #[test]
    fn undefined_figures_are_none() {
        let flat = daily(&[100.0, 100.0, 100.0]);
        assert_eq!(flat.daily().sharpe(252.0), None, "no volatility");
        assert_eq!(flat.daily().sortino(252.0), None, "no losing day");
        assert_eq!(flat.drawdowns(), None);
        let one_day = daily(&[100.0]);
        assert_eq!((one_day.daily().days, one_day.daily().annual_return(252.0)), (0, None));
        assert_eq!(EquityStats::new(money(1.0)).exposure(), None);
    }

    #[test]
    fn drawdown_episodes_have_depths_and_durations() {
        // Peak 110 (last at it: day 2's 09:00 mark), 99 at day 2's close, regained on day 3
        // (121); the peak last seen at day 4's 09:00, then 118 and 120: still under at the end.
        let stats = daily(&[100.0, 110.0, 99.0, 121.0, 118.0, 120.0]);
        assert!((stats.max_drawdown() - 0.1).abs() < 1e-12);
        let drawdowns = stats.drawdowns().unwrap();
        let (first, second) = (0.1, 3.0 / 121.0);
        assert!((drawdowns.average - (first + second) / 2.0).abs() < 1e-12, "{drawdowns:?}");
        // Each from a 09:00 mark to a 17:00 mark a day later: 32 hours.
        assert!((drawdowns.longest_days - 32.0 / 24.0).abs() < 1e-12, "{drawdowns:?}");
        assert!((drawdowns.average_days - 32.0 / 24.0).abs() < 1e-12, "{drawdowns:?}");
    }

    #[test]
    fn a_deposit_is_not_a_return() {
        let mut with = EquityStats::new(money(100.0));
        let mut without = EquityStats::new(money(100.0));
        for (day, equity) in [100.0, 101.0, 99.0, 103.0].into_iter().enumerate() {
            let ts = Timestamp(4 * DAY + day as i64 * DAY);
            if day == 2 {
                with.deposit(money(50.0));
            }
            let extra = if day >= 2 { 50.0 } else { 0.0 };
            with.mark(ts, day as u64, money(equity + extra), true, Some(10.0 + day as f64));
            without.mark(ts, day as u64, money(equity), true, Some(10.0 + day as f64));
        }
        assert_eq!(with.daily().days, without.daily().days);
        // Day 2 is measured against day 1 plus the deposit: 149 / 151, never 149 / 101.
        let expected = ((1.01f64.ln() + (149.0f64 / 151.0).ln() + (153.0f64 / 149.0).ln()) / 4.0).exp_m1();
        assert!((with.daily().geometric_mean - expected).abs() < 1e-12, "{:?}", with.daily());
        assert!((with.total_return() - (153.0 / 150.0 - 1.0)).abs() < 1e-12);
        // Beta: equity log returns 0.01.., ln(149/151), ln(153/149) against a rising market.
        let market: Vec<f64> = (1..4).map(|d| ((10.0 + d as f64) / (9.0 + d as f64)).ln()).collect();
        let equity = [(101.0f64 / 100.0).ln(), (149.0f64 / 151.0).ln(), (153.0f64 / 149.0).ln()];
        let (mx, me) = (market.iter().sum::<f64>() / 3.0, equity.iter().sum::<f64>() / 3.0);
        let cov: f64 = market.iter().zip(&equity).map(|(m, e)| (m - mx) * (e - me)).sum();
        let var: f64 = market.iter().map(|m| (m - mx).powi(2)).sum();
        assert!((with.beta().unwrap() - cov / var).abs() < 1e-9, "{:?} vs {}", with.beta(), cov / var);
    }

    #[test]
    fn a_day_that_loses_everything_makes_the_geometric_mean_zero() {
        let stats = daily(&[100.0, 0.0, 50.0]);
        assert_eq!(stats.daily().geometric_mean, 0.0);
    }

    #[test]
    fn shifted_sums_agree_with_a_two_pass_computation_on_a_long_series() {
        // A steady drift with small noise: the case where naive sums of squares cancel badly.
        let mut rng = crate::rng::SplitMix64::new(9);
        let mut equities = vec![1_000_000.0];
        for _ in 0..20_000 {
            let noise = (rng.below(1000) as f64 - 500.0) * 1e-9;
            let equity = money(equities[equities.len() - 1] * (1.0 + 1e-4 + noise)).to_f64();
            equities.push(equity);
        }
        let stats = daily(&equities);
        let returns: Vec<f64> = equities.windows(2).map(|w| w[1] / w[0] - 1.0).collect();
        let n = returns.len() as f64;
        let mean = returns.iter().sum::<f64>() / n;
        let var = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0);
        assert!((stats.daily().variance.unwrap() / var - 1.0).abs() < 1e-6, "{:?} vs {var}", stats.daily().variance);
    }

    #[test]
    fn curve_memory_stays_flat() {
        let mut stats = EquityStats::new(money(1.0));
        for i in 0..1_000_000 {
            stats.mark(Timestamp(i), i as u64, money(1.0 + (i % 7) as f64), false, None);
        }
        assert!(stats.curve().len() <= CURVE_POINTS);
        assert!(stats.curve().len() >= CURVE_POINTS / 2);
        assert!(stats.curve().windows(2).all(|w| w[0].ts < w[1].ts));
    }

    #[test]
    fn weekends_in_the_data_mean_365_days_a_year() {
        let mut weekdays = Calendar::default();
        let mut every_day = Calendar::default();
        for day in 0..70 {
            let ts = Timestamp((4 + day) * DAY + DAY / 2); // from Monday 1970-01-05
            every_day.observe(ts);
            if day % 7 < 5 {
                weekdays.observe(ts);
            }
        }
        assert_eq!((weekdays.days_per_year(), every_day.days_per_year()), (252.0, 365.0));
    }

    /// Drives `TripExposure` over one mark a bar for `bars` bars, with `trips` as (instrument,
    /// entry bar, exit bar or `None` for still open), and returns the covered marks.
    fn tracked(bars: u64, trips: &[(usize, u64, Option<u64>)]) -> u64 {
        let mut exposure = TripExposure::default();
        for bar in 0..bars {
            for &(_, entry, exit) in trips {
                if exit == Some(bar) {
                    exposure.trip_closed(entry);
                }
            }
            // Open at this bar's close: entered by it, and not out by it.
            let open = trips.iter().any(|&(_, entry, exit)| entry <= bar && exit.is_none_or(|exit| bar < exit));
            exposure.mark(bar, open);
        }
        exposure.covered()
    }

    /// backtesting.py's `have_position[EntryBar:ExitBar + 1] = 1` over the closed trips.
    fn naive(bars: u64, trips: &[(usize, u64, Option<u64>)]) -> u64 {
        let mut have_position = vec![false; bars as usize];
        for &(_, entry, exit) in trips {
            if let Some(exit) = exit {
                have_position[entry as usize..=exit as usize].fill(true);
            }
        }
        have_position.iter().filter(|held| **held).count() as u64
    }

    #[test]
    fn exposure_counts_entry_to_exit_bars_of_closed_trips_only() {
        // A trip from bar 2 to bar 5 covers 2, 3, 4 and 5 (exit bar included); one still open
        // from bar 7 covers nothing; a same-bar trip covers its bar.
        let trips = [(0, 2, Some(5)), (0, 7, None), (1, 9, Some(9))];
        assert_eq!((tracked(12, &trips), naive(12, &trips)), (5, 5));
        // A reversal: the exit bar of one is the entry bar of the next, counted once.
        let reversal = [(0, 1, Some(4)), (0, 4, Some(6))];
        assert_eq!((tracked(8, &reversal), naive(8, &reversal)), (6, 6));
        // A trip closing after the last mark still confirms the marks since its entry.
        let mut exposure = TripExposure::default();
        exposure.mark(0, true);
        exposure.mark(1, true);
        exposure.trip_closed(1);
        assert_eq!(exposure.covered(), 1);
    }

    proptest::proptest! {
        /// Trips over three instruments, each a sequence of flat-to-flat trips (the next may enter
        /// on the bar the last one left), the last maybe still open: the running count equals
        /// backtesting.py's count over the whole list.
        #[test]
        fn exposure_equals_backtesting_py_over_any_trips(
            steps in proptest::collection::vec((0usize..3, 0u64..4, 0u64..6, proptest::bool::weighted(0.9)), 0..40),
        ) {
            let bars = 80;
            let mut next_free = [0u64; 3];
            let mut trips = Vec::new();
            for (instrument, gap, length, closes) in steps {
                if next_free[instrument] == u64::MAX {
                    continue; // its last trip never closes
                }
                let entry = next_free[instrument] + gap;
                let exit = entry + length;
                if exit >= bars {
                    continue;
                }
                if closes {
                    trips.push((instrument, entry, Some(exit)));
                    next_free[instrument] = exit;
                } else {
                    trips.push((instrument, entry, None));
                    next_free[instrument] = u64::MAX;
                }
            }
            proptest::prop_assert_eq!(tracked(bars, &trips), naive(bars, &trips));
        }
    }
}
