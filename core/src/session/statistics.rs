//! The statistics of a strategy (or of the total) as the report states them, derived at the end
//! from the running sums of [`EquityStats`] and [`TradeStats`]. Every figure backtesting.py's
//! `stats` reports is here; a figure that is undefined for the run (no trades, no volatility, no
//! losing trade...) is `None`, written `null` in the JSON report and `n/a` in the summary.
//! docs/statistics.md defines each one.

use serde::Serialize;

use super::stats::EquityStats;
use super::trade_stats::TradeStats;

/// The shortest run, in days from the first mark to the last, whose figures are annualized:
/// Return (Ann.), Volatility (Ann.), CAGR, Sharpe, Sortino and Calmar of a shorter one are `n/a`
/// (it also needs one daily return, so it spans two UTC days).
pub const MIN_ANNUALIZED_DAYS: f64 = 1.0;

/// The figures of one equity series and its trades. Percentages are percent; durations are days.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Statistics {
    /// First mark (RFC 3339, UTC).
    pub start: Option<String>,
    /// Last mark.
    pub end: Option<String>,
    /// From the first mark to the last.
    pub duration_days: Option<f64>,
    /// Share of marks on a bar that a closed round trip spans, from its entry bar to its exit bar
    /// (backtesting.py's definition).
    pub exposure_time_pct: Option<f64>,
    /// Equity at the last mark.
    pub equity_final: f64,
    /// Highest equity.
    pub equity_peak: f64,
    /// Commission paid on the closed trips.
    pub commissions: f64,
    /// Final over initial equity, minus one.
    pub return_pct: f64,
    /// The primary instrument's last mark price over its first, minus one.
    pub buy_hold_return_pct: Option<f64>,
    /// Annualized from the geometric mean daily return.
    pub return_ann_pct: Option<f64>,
    /// Annualized volatility of daily returns.
    pub volatility_ann_pct: Option<f64>,
    /// Compound annual growth: (final / initial)^(1 / years) − 1, years = duration in days / days
    /// per year (backtesting.py's reckoning).
    pub cagr_pct: Option<f64>,
    /// Annualized return over annualized volatility (risk-free 0).
    pub sharpe: Option<f64>,
    /// Annualized return over annualized downside deviation.
    pub sortino: Option<f64>,
    /// Annualized return over max drawdown.
    pub calmar: Option<f64>,
    /// Jensen's alpha against buy & hold: return − beta × buy & hold return (risk-free 0).
    pub alpha_pct: Option<f64>,
    /// cov / var of per-mark log returns of equity and of the primary instrument.
    pub beta: Option<f64>,
    /// Largest fall from a running peak.
    pub max_drawdown_pct: f64,
    /// Mean depth of the drawdown episodes.
    pub avg_drawdown_pct: Option<f64>,
    /// Longest drawdown episode (peak to recovery, or to the end).
    pub max_drawdown_days: Option<f64>,
    /// Mean drawdown episode.
    pub avg_drawdown_days: Option<f64>,
    /// Closed round trips.
    pub trades: u64,
    /// Share of trips with a positive net PnL.
    pub win_rate_pct: Option<f64>,
    /// Best trip's return (net PnL over entry notional).
    pub best_trade_pct: Option<f64>,
    /// Worst trip's return.
    pub worst_trade_pct: Option<f64>,
    /// Geometric mean trip return.
    pub avg_trade_pct: Option<f64>,
    /// Longest trip.
    pub max_trade_days: Option<f64>,
    /// Mean trip.
    pub avg_trade_days: Option<f64>,
    /// Gross profit over gross loss.
    pub profit_factor: Option<f64>,
    /// Mean trip return.
    pub expectancy_pct: Option<f64>,
    /// System quality number: √trades × mean PnL / its standard deviation.
    pub sqn: Option<f64>,
    /// Kelly criterion: win rate − (1 − win rate) / (mean win / mean loss).
    pub kelly_criterion: Option<f64>,
}

impl Statistics {
    /// The figures of `equity` and `trades`; `buy_hold` is the primary instrument's return (a
    /// fraction), `days_per_year` the annualization (252 or 365).
    #[must_use]
    pub fn new(equity: &EquityStats, trades: &TradeStats, buy_hold: Option<f64>, days_per_year: f64) -> Statistics {
        let pct = |fraction: f64| finite(100.0 * fraction);
        let daily = equity.daily();
        let span = equity.span();
        let drawdowns = equity.drawdowns();
        let duration_days = span.map(|(first, last)| (last.0 - first.0) as f64 / 86_400e9);
        // Annualizing needs a day's return at least: a shorter run has no annualized figure
        // (raising a 16-minute return to the power of a year says nothing).
        let annualizable = duration_days.is_some_and(|days| days >= MIN_ANNUALIZED_DAYS) && daily.days > 0;
        let annual = daily.annual_return(days_per_year).filter(|_| annualizable);
        let volatility = daily.annual_volatility(days_per_year).filter(|_| annualizable);
        let max_drawdown = equity.max_drawdown();
        let return_pct = 100.0 * equity.total_return();
        let growth = equity.final_equity() / equity.initial_equity();
        let cagr = duration_days
            .filter(|_| annualizable)
            .map(|days| days / days_per_year)
            .filter(|years| *years > 0.0 && growth > 0.0)
            .and_then(|years| pct(growth.powf(1.0 / years) - 1.0));
        let beta = equity.beta().and_then(finite);
        Statistics {
            start: span.map(|(first, _)| first.to_string()),
            end: span.map(|(_, last)| last.to_string()),
            duration_days,
            exposure_time_pct: equity.exposure().and_then(pct),
            equity_final: equity.final_equity(),
            equity_peak: equity.peak_equity(),
            commissions: trades.commission(),
            return_pct,
            buy_hold_return_pct: buy_hold.and_then(pct),
            return_ann_pct: annual.and_then(pct),
            volatility_ann_pct: volatility.and_then(pct),
            cagr_pct: cagr,
            sharpe: daily.sharpe(days_per_year).filter(|_| annualizable),
            sortino: daily.sortino(days_per_year).filter(|_| annualizable),
            calmar: annual.filter(|_| max_drawdown > 0.0).and_then(|annual| finite(annual / max_drawdown)),
            alpha_pct: beta.zip(buy_hold).and_then(|(beta, buy_hold)| finite(return_pct - beta * 100.0 * buy_hold)),
            beta,
            max_drawdown_pct: 100.0 * max_drawdown,
            avg_drawdown_pct: drawdowns.and_then(|d| pct(d.average)),
            max_drawdown_days: drawdowns.map(|d| d.longest_days),
            avg_drawdown_days: drawdowns.map(|d| d.average_days),
            trades: trades.count(),
            win_rate_pct: trades.win_rate().and_then(pct),
            best_trade_pct: trades.best_worst().and_then(|(best, _)| pct(best)),
            worst_trade_pct: trades.best_worst().and_then(|(_, worst)| pct(worst)),
            avg_trade_pct: trades.average_return().and_then(pct),
            max_trade_days: trades.durations().map(|(longest, _)| longest),
            avg_trade_days: trades.durations().map(|(_, average)| average),
            profit_factor: trades.profit_factor().and_then(finite),
            expectancy_pct: trades.expectancy().and_then(pct),
            sqn: trades.sqn().and_then(finite),
            kelly_criterion: trades.kelly().and_then(finite),
        }
    }

    /// Each numeric figure under its field name (the report's JSON key), in backtesting.py's
    /// order: one row of a sweep's results. `None` where undefined.
    #[must_use]
    pub fn figures(&self) -> [(&'static str, Option<f64>); 30] {
        [
            ("duration_days", self.duration_days),
            ("exposure_time_pct", self.exposure_time_pct),
            ("equity_final", Some(self.equity_final)),
            ("equity_peak", Some(self.equity_peak)),
            ("commissions", Some(self.commissions)),
            ("return_pct", Some(self.return_pct)),
            ("buy_hold_return_pct", self.buy_hold_return_pct),
            ("return_ann_pct", self.return_ann_pct),
            ("volatility_ann_pct", self.volatility_ann_pct),
            ("cagr_pct", self.cagr_pct),
            ("sharpe", self.sharpe),
            ("sortino", self.sortino),
            ("calmar", self.calmar),
            ("alpha_pct", self.alpha_pct),
            ("beta", self.beta),
            ("max_drawdown_pct", Some(self.max_drawdown_pct)),
            ("avg_drawdown_pct", self.avg_drawdown_pct),
            ("max_drawdown_days", self.max_drawdown_days),
            ("avg_drawdown_days", self.avg_drawdown_days),
            ("trades", Some(self.trades as f64)),
            ("win_rate_pct", self.win_rate_pct),
            ("best_trade_pct", self.best_trade_pct),
            ("worst_trade_pct", self.worst_trade_pct),
            ("avg_trade_pct", self.avg_trade_pct),
            ("max_trade_days", self.max_trade_days),
            ("avg_trade_days", self.avg_trade_days),
            ("profit_factor", self.profit_factor),
            ("expectancy_pct", self.expectancy_pct),
            ("sqn", self.sqn),
            ("kelly_criterion", self.kelly_criterion),
        ]
    }

    /// Each figure with its label, in backtesting.py's order, as the summary prints them (`n/a`
    /// where undefined).
    #[must_use]
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        let number =
            |value: Option<f64>, places: usize| value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.places$}"));
        let text = |value: &Option<String>| value.clone().unwrap_or_else(|| "n/a".to_owned());
        vec![
            ("Start", text(&self.start)),
            ("End", text(&self.end)),
            ("Duration [days]", number(self.duration_days, 1)),
            ("Exposure Time [%]", number(self.exposure_time_pct, 2)),
            ("Equity Final", number(Some(self.equity_final), 2)),
            ("Equity Peak", number(Some(self.equity_peak), 2)),
            ("Commissions", number(Some(self.commissions), 2)),
            ("Return [%]", number(Some(self.return_pct), 3)),
            ("Buy & Hold Return [%]", number(self.buy_hold_return_pct, 3)),
            ("Return (Ann.) [%]", number(self.return_ann_pct, 3)),
            ("Volatility (Ann.) [%]", number(self.volatility_ann_pct, 3)),
            ("CAGR [%]", number(self.cagr_pct, 3)),
            ("Sharpe Ratio", number(self.sharpe, 3)),
            ("Sortino Ratio", number(self.sortino, 3)),
            ("Calmar Ratio", number(self.calmar, 3)),
            ("Alpha [%]", number(self.alpha_pct, 3)),
            ("Beta", number(self.beta, 3)),
            ("Max. Drawdown [%]", number(Some(-self.max_drawdown_pct), 3)),
            ("Avg. Drawdown [%]", number(self.avg_drawdown_pct.map(|v| -v), 3)),
            ("Max. Drawdown Duration [days]", number(self.max_drawdown_days, 1)),
            ("Avg. Drawdown Duration [days]", number(self.avg_drawdown_days, 1)),
            ("# Trades", self.trades.to_string()),
            ("Win Rate [%]", number(self.win_rate_pct, 2)),
            ("Best Trade [%]", number(self.best_trade_pct, 3)),
            ("Worst Trade [%]", number(self.worst_trade_pct, 3)),
            ("Avg. Trade [%]", number(self.avg_trade_pct, 3)),
            ("Max. Trade Duration [days]", number(self.max_trade_days, 1)),
            ("Avg. Trade Duration [days]", number(self.avg_trade_days, 1)),
            ("Profit Factor", number(self.profit_factor, 3)),
            ("Expectancy [%]", number(self.expectancy_pct, 3)),
            ("SQN", number(self.sqn, 3)),
            ("Kelly Criterion", number(self.kelly_criterion, 4)),
        ]
    }
}

fn finite(value: f64) -> Option<f64> {
    value.is_finite().then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Money, Timestamp};

    #[test]
    fn a_run_without_trades_or_moves_says_n_a_where_a_figure_is_undefined() {
        let mut equity = EquityStats::new(Money::from_f64(100.0));
        equity.mark(Timestamp(0), 0, Money::from_f64(100.0), false, None);
        let stats = Statistics::new(&equity, &TradeStats::default(), None, 252.0);
        let rows = stats.rows();
        let value = |label: &str| rows.iter().find(|(l, _)| *l == label).unwrap().1.clone();
        assert_eq!(value("Start"), "1970-01-01T00:00:00Z");
        for undefined in [
            "Sharpe Ratio",
            "Sortino Ratio",
            "Calmar Ratio",
            "Win Rate [%]",
            "SQN",
            "Buy & Hold Return [%]",
            "Beta",
            "CAGR [%]",
            "Kelly Criterion",
        ] {
            assert_eq!(value(undefined), "n/a", "{undefined}");
        }
        assert_eq!((value("# Trades"), value("Return [%]")), ("0".to_owned(), "0.000".to_owned()));
        let json = serde_json::to_value(&stats).unwrap();
        assert!(json["sharpe"].is_null() && json["profit_factor"].is_null());
        assert_eq!(json["trades"], 0);
        assert_eq!(rows.len(), 32, "backtesting.py's figures, less its strategy, curve and trade lists");
    }

    #[test]
    fn a_run_shorter_than_a_day_has_no_annualized_figure() {
        // 16 minutes across midnight: one daily return, a loss, and a drawdown.
        let mut equity = EquityStats::new(Money::from_f64(100.0));
        let minute = 60_000_000_000;
        let midnight = 86_400_000_000_000;
        for (bar, (at, value)) in [(-8, 100.0), (-1, 101.0), (1, 99.0), (8, 99.5)].into_iter().enumerate() {
            equity.mark(Timestamp(midnight + at * minute), bar as u64, Money::from_f64(value), false, None);
        }
        assert_eq!(equity.daily().days, 1);
        let stats = Statistics::new(&equity, &TradeStats::default(), None, 252.0);
        let rows = stats.rows();
        let value = |label: &str| rows.iter().find(|(l, _)| *l == label).unwrap().1.clone();
        for annualized in
            ["Return (Ann.) [%]", "Volatility (Ann.) [%]", "CAGR [%]", "Sharpe Ratio", "Sortino Ratio", "Calmar Ratio"]
        {
            assert_eq!(value(annualized), "n/a", "{annualized}");
        }
        assert_eq!(value("Return [%]"), "-0.500");
        // The same moves over two days are annualized.
        let mut long = EquityStats::new(Money::from_f64(100.0));
        for (bar, (at, value)) in [(0, 100.0), (1, 101.0), (2, 99.0)].into_iter().enumerate() {
            long.mark(Timestamp(at * midnight), bar as u64, Money::from_f64(value), false, None);
        }
        let long = Statistics::new(&long, &TradeStats::default(), None, 252.0);
        assert!(long.return_ann_pct.is_some() && long.cagr_pct.is_some() && long.calmar.is_some(), "{long:?}");
    }
}
