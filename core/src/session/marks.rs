//! Marks: accounts valued at the last prices, equity statistics, then the validators' review.

use super::stats::EquityStats;
use super::{Session, SessionObserver};
use crate::component::FeedData;
use crate::matching::MatchingAlgorithm;
use crate::types::{Money, Price};

impl<M: MatchingAlgorithm> Session<M> {
    /// The last price and lot size of every instrument, as accounts mark positions.
    pub(super) fn refresh_marks(&mut self) {
        let instruments = self.engine.instruments();
        if self.marks.len() == instruments.len() {
            // The common case: the same instruments, new prices.
            for (at, mark) in self.marks.iter_mut().enumerate() {
                mark.0 = self.market.get(at).and_then(|m| m.last);
            }
            return;
        }
        self.marks.clear();
        for (id, instrument) in instruments.iter() {
            self.marks.push((self.market.get(id.0 as usize).and_then(|m| m.last), instrument.lot_size));
        }
    }

    /// Statistics of the total equity.
    pub(super) fn total_stats(&self) -> &EquityStats {
        match &self.total_stats {
            Some(stats) => stats,
            None => &self.strategies[0].stats,
        }
    }

    /// Marks every account at the last prices, records equity, and lets validators review strategies.
    pub(super) fn mark(&mut self, observer: &mut dyn SessionObserver) {
        if self.warming_up() {
            return;
        }
        self.refresh_marks();
        self.equities.clear();
        let mut total = Money::ZERO;
        let mut drawdown = 0.0;
        let mut any_exposed = false;
        // The primary instrument's price: beta's market, and buy & hold's start.
        let primary = self.marks.first().and_then(|(price, _)| *price);
        let market = primary.map(Price::to_f64);
        // The bar index this mark closes, as fills before it booked it: a bar's fills come before
        // the venue counts the bar (bar mode), a bar's strategy orders after (order flow).
        let bar = if self.mode == FeedData::Bars { self.bars.saturating_sub(1) } else { self.bars };
        for runtime in &mut self.strategies {
            let equity = runtime.account.equity(&self.marks);
            let exposed = runtime.account.positions.iter().any(|p| p.qty != 0);
            any_exposed |= exposed;
            drawdown = runtime.stats.mark(self.now, bar, equity, exposed, market);
            self.equities.push(equity);
            total = total.saturating_add(equity);
        }
        if let Some(stats) = &mut self.total_stats {
            drawdown = stats.mark(self.now, bar, total, any_exposed, market);
        }
        self.calendar.observe(self.now);
        if self.first_mark_price.is_none() {
            self.first_mark_price = primary;
        }
        observer.equity(self.now, self.bars, total, &self.equities, drawdown);
        self.review_strategies(observer);
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::run;

    #[test]
    fn every_bar_is_marked_at_its_close() {
        let report = run(
            &["1", "2", "4"],
            "[strategies.s]\nplugin = \"script-strategy\"\nparams = { buy_on = [0] }\n[session]\ninitial_cash = \"10\"\n",
        )
        .report;
        // One lot bought at 2 (bar 1's open), marked at 4: equity 10 - 2 + 4 = 12.
        assert_eq!(report.total.final_equity.to_string(), "12");
        assert!((report.total.return_pct - 20.0).abs() < 1e-9, "{}", report.total.return_pct);
    }
}
