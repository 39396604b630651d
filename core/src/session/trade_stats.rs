//! Running figures of a strategy's closed round trips: O(1) memory in the number of trades.
//!
//! A trip's return is its net PnL (after its commission) over its entry notional (entry price ×
//! largest position × lot size). docs/statistics.md defines each figure the report derives.

use super::portfolio::ClosedTrip;
use super::stats::Moments;

/// What the closed round trips add up to.
#[derive(Clone, Debug, Default)]
pub struct TradeStats {
    /// Net PnL per trip: how many trips, their mean and deviation (SQN).
    pnl: Moments,
    winners: u64,
    losers: u64,
    gross_profit: f64,
    gross_loss: f64,
    /// Σ of the winning and of the losing trips' returns (backtesting.py's profit factor).
    positive_returns: f64,
    negative_returns: f64,
    commission: f64,
    best: f64,
    worst: f64,
    sum_return: f64,
    /// Σ ln(1 + return), for the geometric average trade; `None` once a trip lost 100% or more.
    sum_ln_return: Option<f64>,
    sum_days: f64,
    max_days: f64,
}

impl TradeStats {
    /// Adds a closed trip.
    pub fn record(&mut self, trip: &ClosedTrip) {
        let pnl = trip.pnl.to_f64();
        let ret = trip.return_fraction();
        let days = trip.duration_days();
        if self.pnl.count() == 0 {
            self.best = ret;
            self.worst = ret;
            self.sum_ln_return = Some(0.0);
        }
        self.pnl.push(pnl);
        self.winners += u64::from(pnl > 0.0);
        if pnl > 0.0 {
            self.gross_profit += pnl;
        } else if pnl < 0.0 {
            self.gross_loss -= pnl;
            self.losers += 1;
        }
        if ret > 0.0 {
            self.positive_returns += ret;
        } else {
            self.negative_returns -= ret;
        }
        self.commission += trip.commission.to_f64();
        self.best = self.best.max(ret);
        self.worst = self.worst.min(ret);
        self.sum_return += ret;
        self.sum_ln_return = self.sum_ln_return.and_then(|sum| (ret > -1.0).then(|| sum + ret.ln_1p()));
        self.sum_days += days;
        self.max_days = self.max_days.max(days);
    }

    /// Adds another strategy's trips (for the total).
    pub fn merge(&mut self, other: &TradeStats) {
        if other.count() == 0 {
            return;
        }
        if self.count() == 0 {
            *self = other.clone();
            return;
        }
        self.pnl.merge(&other.pnl);
        self.winners += other.winners;
        self.losers += other.losers;
        self.gross_profit += other.gross_profit;
        self.gross_loss += other.gross_loss;
        self.positive_returns += other.positive_returns;
        self.negative_returns += other.negative_returns;
        self.commission += other.commission;
        self.best = self.best.max(other.best);
        self.worst = self.worst.min(other.worst);
        self.sum_return += other.sum_return;
        self.sum_ln_return = self.sum_ln_return.zip(other.sum_ln_return).map(|(a, b)| a + b);
        self.sum_days += other.sum_days;
        self.max_days = self.max_days.max(other.max_days);
    }

    /// Closed round trips.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.pnl.count()
    }

    /// Trips with a positive net PnL.
    #[must_use]
    pub fn winners(&self) -> u64 {
        self.winners
    }

    /// Share of trips with a positive net PnL, as a fraction.
    #[must_use]
    pub fn win_rate(&self) -> Option<f64> {
        self.per_trade(self.winners as f64)
    }

    /// The best and the worst trip's return, as fractions.
    #[must_use]
    pub fn best_worst(&self) -> Option<(f64, f64)> {
        (self.count() > 0).then_some((self.best, self.worst))
    }

    /// The geometric average trip return, as a fraction (`None` without trips, or after a trip
    /// that lost its whole notional).
    #[must_use]
    pub fn average_return(&self) -> Option<f64> {
        Some((self.per_trade(self.sum_ln_return?)?).exp_m1())
    }

    /// The arithmetic mean trip return, as a fraction (backtesting.py's expectancy).
    #[must_use]
    pub fn expectancy(&self) -> Option<f64> {
        self.per_trade(self.sum_return)
    }

    /// The longest and the average trip, in days.
    #[must_use]
    pub fn durations(&self) -> Option<(f64, f64)> {
        Some((self.max_days, self.per_trade(self.sum_days)?))
    }

    /// The winning trips' returns summed over the losing trips' (as backtesting.py defines it);
    /// `None` without a losing trip.
    #[must_use]
    pub fn profit_factor(&self) -> Option<f64> {
        (self.count() > 0 && self.negative_returns > 0.0).then(|| self.positive_returns / self.negative_returns)
    }

    /// Kelly criterion: win rate − (1 − win rate) / (mean winning PnL / mean losing PnL); `None`
    /// without both a winning and a losing trip.
    #[must_use]
    pub fn kelly(&self) -> Option<f64> {
        if self.winners == 0 || self.losers == 0 {
            return None;
        }
        let win_rate = self.win_rate()?;
        let payoff = (self.gross_profit / self.winners as f64) / (self.gross_loss / self.losers as f64);
        Some(win_rate - (1.0 - win_rate) / payoff)
    }

    /// Commission paid on the closed trips.
    #[must_use]
    pub fn commission(&self) -> f64 {
        self.commission
    }

    /// System quality number: √n × mean PnL / standard deviation of PnL; `None` with fewer than
    /// two trips or no spread.
    #[must_use]
    pub fn sqn(&self) -> Option<f64> {
        let sd = self.pnl.sample_variance()?.sqrt();
        let n = self.count() as f64;
        (sd > 0.0).then(|| n.sqrt() * self.pnl.mean().unwrap_or(0.0) / sd)
    }

    fn per_trade(&self, total: f64) -> Option<f64> {
        let count = self.count();
        (count > 0).then(|| total / count as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Money, Price, Side, Timestamp};

    fn trip(entry: &str, pnl: &str, qty: i64, days: i64, lot_size: i64) -> ClosedTrip {
        ClosedTrip {
            side: Side::Buy,
            qty,
            entry_ts: Timestamp(0),
            entry_bar: 0,
            entry_price: entry.parse::<Price>().unwrap(),
            exit_ts: Timestamp(days * 86_400_000_000_000),
            exit_bar: 1,
            exit_price: entry.parse::<Price>().unwrap(),
            pnl: pnl.parse::<Money>().unwrap(),
            commission: Money::ZERO,
            lot_size: crate::types::LotSize::from_units(lot_size),
        }
    }

    #[test]
    fn figures_match_hand_computed_values() {
        let mut stats = TradeStats::default();
        // Notionals 1,000 each (100 × 10 lots × 1): returns +10%, −5%, +2%.
        for (pnl, days) in [("100", 2), ("-50", 1), ("20", 3)] {
            stats.record(&trip("100", pnl, 10, days, 1));
        }
        assert_eq!(stats.count(), 3);
        assert!((stats.win_rate().unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(stats.best_worst(), Some((0.1, -0.05)));
        let geometric = (1.1f64 * 0.95 * 1.02).powf(1.0 / 3.0) - 1.0;
        assert!((stats.average_return().unwrap() - geometric).abs() < 1e-12);
        assert!((stats.expectancy().unwrap() - 0.07 / 3.0).abs() < 1e-12);
        assert_eq!(stats.durations(), Some((3.0, 2.0)));
        assert!((stats.profit_factor().unwrap() - 0.12 / 0.05).abs() < 1e-12);
        // Win rate 2/3, mean win 60, mean loss 50.
        assert!((stats.kelly().unwrap() - (2.0 / 3.0 - (1.0 / 3.0) / (60.0 / 50.0))).abs() < 1e-12);
        let mean = 70.0 / 3.0;
        let sd = ([100.0, -50.0, 20.0].iter().map(|p: &f64| (p - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
        assert!((stats.sqn().unwrap() - 3f64.sqrt() * mean / sd).abs() < 1e-9);
    }

    #[test]
    fn merging_equals_recording_everything_in_one() {
        let trips = [("100", "37", 3), ("80", "-12", 5), ("120", "55", 1), ("95", "-40", 2), ("101", "3", 7)];
        let (mut one, mut left, mut right) = (TradeStats::default(), TradeStats::default(), TradeStats::default());
        for (at, (entry, pnl, qty)) in trips.iter().enumerate() {
            let trip = trip(entry, pnl, *qty, at as i64, 10);
            one.record(&trip);
            if at < 2 { left.record(&trip) } else { right.record(&trip) }
        }
        left.merge(&right);
        assert_eq!((left.count(), left.win_rate(), left.best_worst()), (one.count(), one.win_rate(), one.best_worst()));
        assert!((left.sqn().unwrap() - one.sqn().unwrap()).abs() < 1e-9);
        assert!((left.average_return().unwrap() - one.average_return().unwrap()).abs() < 1e-12);
    }

    #[test]
    fn undefined_figures_are_none() {
        let none = TradeStats::default();
        assert_eq!(
            (none.win_rate(), none.profit_factor(), none.sqn(), none.average_return()),
            (None, None, None, None)
        );
        let mut winners = TradeStats::default();
        winners.record(&trip("100", "5", 1, 1, 1));
        assert_eq!(winners.profit_factor(), None, "no losing trip");
        assert_eq!(winners.sqn(), None, "one trip");
    }
}
