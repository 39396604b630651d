//! Per-strategy accounts: positions, cash, realized and unrealized PnL, commission, round trips.
//!
//! Fixed-point throughout. A position carries its signed cost basis (Σ signed lots × price, raw
//! units); reducing a position realizes PnL against the average cost, proportionally, so a partial
//! close leaves the average price of the rest unchanged. Amounts are `price × lots × lot size`.

use crate::config::CommissionConfig;
use crate::types::{InstrumentId, LotSize, Money, PRICE_SCALE, Price, Qty, Side, Timestamp};

/// A position in one instrument.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// Signed lots: positive long, negative short.
    pub qty: i64,
    /// Σ signed lots × price (raw), of the open position.
    pub cost_raw: i128,
    /// The open round trip, if any.
    trip: Option<OpenTrip>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OpenTrip {
    entry_ts: Timestamp,
    entry_bar: u64,
    side: Side,
    max_qty: i64,
    entry_notional_raw: i128,
    entry_lots: i64,
    exit_notional_raw: i128,
    exit_lots: i64,
    realized_raw: i128,
    commission: Money,
}

/// A completed round trip of a named strategy and instrument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundTrip {
    /// The strategy's id.
    pub strategy: String,
    /// The instrument's symbol.
    pub symbol: String,
    /// The trip's figures.
    pub trip: ClosedTrip,
}

/// One strategy's account.
#[derive(Clone, Debug)]
pub struct Account {
    /// Cash, after commission.
    pub cash: Money,
    /// Starting cash.
    pub initial_cash: Money,
    /// Positions by instrument index.
    pub positions: Vec<Position>,
    /// Realized PnL, before commission.
    pub realized: Money,
    /// Commission paid.
    pub commission: Money,
    /// Fills booked.
    pub fills: u64,
    /// The figures of the closed round trips (how many, how many made money, ...).
    pub trades: super::trade_stats::TradeStats,
    /// Whether a fill took cash, realized PnL or commission outside the fixed-point money range
    /// (±92,233,720,368): the figures are then unreliable, and the session halts the strategy.
    pub out_of_range: bool,
}

impl Account {
    /// An account with `initial_cash` and no positions.
    #[must_use]
    pub fn new(initial_cash: Money) -> Account {
        Account {
            cash: initial_cash,
            initial_cash,
            positions: Vec::new(),
            realized: Money::ZERO,
            commission: Money::ZERO,
            fills: 0,
            trades: super::trade_stats::TradeStats::default(),
            out_of_range: false,
        }
    }

    /// The position in an instrument.
    #[must_use]
    pub fn position(&self, instrument: InstrumentId) -> Qty {
        Qty(self.positions.get(instrument.0 as usize).map_or(0, |p| p.qty))
    }

    /// Books a fill; returns a round trip if the position went flat (or reversed).
    #[allow(clippy::too_many_arguments)]
    pub fn book_fill(
        &mut self,
        instrument: InstrumentId,
        side: Side,
        price: Price,
        qty: Qty,
        lot_size: LotSize,
        commission: Money,
        ts: Timestamp,
        bar: u64,
    ) -> Option<ClosedTrip> {
        let at = instrument.0 as usize;
        if self.positions.len() <= at {
            self.positions.resize(at + 1, Position::default());
        }
        let signed = side.sign() * qty.0;
        let p = i128::from(price.raw());
        let cash =
            i128::from(self.cash.raw()) - lot_size.money_raw(i128::from(signed) * p) - i128::from(commission.raw());
        self.cash = checked(cash, &mut self.out_of_range);
        self.commission =
            checked(i128::from(self.commission.raw()) + i128::from(commission.raw()), &mut self.out_of_range);
        self.fills += 1;
        let position = &mut self.positions[at];
        let mut closed = None;
        let mut remaining = signed;
        if position.qty != 0 && position.qty.signum() != signed.signum() {
            let closing = remaining.abs().min(position.qty.abs());
            let removed = position.cost_raw * i128::from(closing) / i128::from(position.qty.abs());
            let realized = lot_size.money_raw(i128::from(position.qty.signum()) * i128::from(closing) * p - removed);
            self.realized = checked(i128::from(self.realized.raw()) + realized, &mut self.out_of_range);
            position.cost_raw -= removed;
            position.qty += signed.signum() * closing;
            remaining -= signed.signum() * closing;
            if let Some(trip) = &mut position.trip {
                trip.realized_raw += realized;
                trip.exit_notional_raw += i128::from(closing) * p;
                trip.exit_lots += closing;
                trip.commission = trip.commission.saturating_add(commission);
            }
            if position.qty == 0 {
                position.cost_raw = 0;
                if let Some(trip) = position.trip.take() {
                    closed = Some(close_trip(trip, ts, bar, lot_size));
                }
            }
        } else if let Some(trip) = &mut position.trip {
            trip.commission = trip.commission.saturating_add(commission);
        }
        if remaining != 0 {
            let opening = position.qty == 0;
            position.cost_raw += i128::from(remaining) * p;
            position.qty += remaining;
            if opening {
                position.trip = Some(OpenTrip {
                    entry_ts: ts,
                    entry_bar: bar,
                    side: if remaining > 0 { Side::Buy } else { Side::Sell },
                    max_qty: 0,
                    entry_notional_raw: 0,
                    entry_lots: 0,
                    exit_notional_raw: 0,
                    exit_lots: 0,
                    realized_raw: 0,
                    commission: if closed.is_some() { Money::ZERO } else { commission },
                });
            }
            if let Some(trip) = &mut position.trip {
                trip.entry_notional_raw += i128::from(remaining.abs()) * p;
                trip.entry_lots += remaining.abs();
            }
        }
        if let Some(trip) = &mut position.trip {
            trip.max_qty = trip.max_qty.max(position.qty.abs());
        }
        if let Some(close) = &closed {
            self.trades.record(close);
        }
        closed
    }

    /// Unrealized PnL at the given marks (instrument index → mark price and lot size).
    #[must_use]
    pub fn unrealized(&self, marks: &[(Option<Price>, LotSize)]) -> Money {
        let mut total: i128 = 0;
        for (at, position) in self.positions.iter().enumerate() {
            if position.qty == 0 {
                continue;
            }
            let Some(&(Some(mark), lot)) = marks.get(at) else { continue };
            total += lot.money_raw(i128::from(position.qty) * i128::from(mark.raw()) - position.cost_raw);
        }
        money(total)
    }

    /// Equity: cash plus the marked value of every position.
    #[must_use]
    pub fn equity(&self, marks: &[(Option<Price>, LotSize)]) -> Money {
        self.equity_with(|at| match marks.get(at) {
            Some(&(Some(mark), lot)) => Some((mark, lot)),
            _ => None,
        })
    }

    /// Equity with each instrument (by index) marked by `mark`: its price and lot size, or
    /// `None` to leave it out.
    #[must_use]
    pub fn equity_with(&self, mark: impl Fn(usize) -> Option<(Price, LotSize)>) -> Money {
        let mut total = i128::from(self.cash.raw());
        for (at, position) in self.positions.iter().enumerate() {
            if position.qty != 0
                && let Some((price, lot)) = mark(at)
            {
                total += lot.money_raw(i128::from(position.qty) * i128::from(price.raw()));
            }
        }
        money(total)
    }

    /// Profit so far: equity marked at `marks` less the initial cash (realized + unrealized − commission).
    #[must_use]
    pub fn pnl(&self, marks: &[(Option<Price>, LotSize)]) -> Money {
        self.equity(marks).saturating_sub(self.initial_cash)
    }
}

/// A round trip from flat to flat (a reversal closes one and opens the next).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClosedTrip {
    /// Long (`Buy`) or short (`Sell`).
    pub side: Side,
    /// The largest position held, in lots.
    pub qty: i64,
    /// When the position opened.
    pub entry_ts: Timestamp,
    /// The bar index it opened on.
    pub entry_bar: u64,
    /// Volume-weighted entry price.
    pub entry_price: Price,
    /// When it went flat.
    pub exit_ts: Timestamp,
    /// The bar index it closed on.
    pub exit_bar: u64,
    /// Volume-weighted exit price.
    pub exit_price: Price,
    /// Realized PnL net of the trip's commission.
    pub pnl: Money,
    /// Commission charged on the trip's fills.
    pub commission: Money,
    /// Units per lot of the instrument (for the trip's notional).
    pub lot_size: LotSize,
}

impl ClosedTrip {
    /// PnL before commission.
    #[must_use]
    pub fn gross_pnl(&self) -> Money {
        self.pnl.saturating_add(self.commission)
    }

    /// Net PnL over the entry notional (entry price × largest position × lot size), as a fraction;
    /// 0 for a trip with no notional.
    #[must_use]
    pub fn return_fraction(&self) -> f64 {
        let notional = self.entry_price.to_f64() * self.qty as f64 * self.lot_size.to_f64();
        if notional > 0.0 { self.pnl.to_f64() / notional } else { 0.0 }
    }

    /// From entry to exit, in days.
    #[must_use]
    pub fn duration_days(&self) -> f64 {
        (self.exit_ts.0 - self.entry_ts.0) as f64 / 86_400e9
    }
}

fn close_trip(trip: OpenTrip, ts: Timestamp, bar: u64, lot_size: LotSize) -> ClosedTrip {
    let average =
        |notional: i128, lots: i64| Price::from_raw(if lots == 0 { 0 } else { (notional / i128::from(lots)) as i64 });
    ClosedTrip {
        side: trip.side,
        qty: trip.max_qty,
        entry_ts: trip.entry_ts,
        entry_bar: trip.entry_bar,
        entry_price: average(trip.entry_notional_raw, trip.entry_lots),
        exit_ts: ts,
        exit_bar: bar,
        exit_price: average(trip.exit_notional_raw, trip.exit_lots),
        pnl: money(trip.realized_raw).saturating_sub(trip.commission),
        commission: trip.commission,
        lot_size,
    }
}

/// `raw` as money; outside the range it is clamped and `out_of_range` set (an account's
/// [`Account::out_of_range`]), so that nothing saturates silently.
fn checked(raw: i128, out_of_range: &mut bool) -> Money {
    match i64::try_from(raw) {
        Ok(raw) => Money::from_raw(raw),
        Err(_) => {
            *out_of_range = true;
            money(raw)
        }
    }
}

/// Converts raw price × lots (× lot size) to money, saturating (amounts beyond ±9e10 are meaningless).
pub(super) fn money(raw: i128) -> Money {
    Money::from_raw(raw.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

/// Commission of one fill: `per_lot × lots + percent% × notional`, rounded down to a raw unit.
#[must_use]
pub fn commission(config: &CommissionConfig, price: Price, qty: Qty, lot_size: LotSize) -> Money {
    let notional = lot_size.money_raw(i128::from(price.raw()) * i128::from(qty.0.abs()));
    let percent = notional * i128::from(config.percent.raw()) / (100 * i128::from(PRICE_SCALE));
    let per_lot = i128::from(config.per_lot.raw()) * i128::from(qty.0.abs());
    money(percent + per_lot)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Price {
        text.parse().unwrap()
    }

    fn fill(account: &mut Account, side: Side, price: &str, qty: i64) -> Option<ClosedTrip> {
        account.book_fill(InstrumentId(0), side, p(price), Qty(qty), LotSize::ONE, Money::ZERO, Timestamp(0), 0)
    }

    #[test]
    fn long_round_trip_realizes_against_average_cost() {
        let mut account = Account::new(Money::from_raw(1000 * PRICE_SCALE));
        assert!(fill(&mut account, Side::Buy, "10", 2).is_none());
        assert!(fill(&mut account, Side::Buy, "13", 1).is_none());
        // Average cost 11; sell 1 at 15 realizes 4, leaving 2 at average 11.
        assert!(fill(&mut account, Side::Sell, "15", 1).is_none());
        assert_eq!(account.realized.to_string(), "4");
        assert_eq!(account.unrealized(&[(Some(p("12")), LotSize::ONE)]).to_string(), "2");
        let trip = fill(&mut account, Side::Sell, "9", 2).unwrap();
        assert_eq!(trip.side, Side::Buy);
        assert_eq!(account.realized.to_string(), "0");
        assert_eq!(trip.qty, 3);
        assert_eq!(trip.entry_price.to_string(), "11");
        assert_eq!(trip.exit_price.to_string(), "11");
        assert_eq!(trip.pnl.to_string(), "0");
        assert_eq!(account.cash.to_string(), "1000");
    }

    #[test]
    fn a_fill_that_leaves_the_money_range_marks_the_account_instead_of_saturating_silently() {
        let mut account = Account::new(Money::from_raw(1000 * PRICE_SCALE));
        fill(&mut account, Side::Buy, "1000", 1_000_000);
        assert!(!account.out_of_range, "a billion of notional fits");
        fill(&mut account, Side::Buy, "100000", 1_000_000);
        assert!(account.out_of_range, "100 billion more does not");
    }

    #[test]
    fn short_and_reversal_close_one_trip_and_open_the_next() {
        let mut account = Account::new(Money::ZERO);
        fill(&mut account, Side::Sell, "20", 2);
        let trip = fill(&mut account, Side::Buy, "18", 5).unwrap();
        assert_eq!(trip.side, Side::Sell);
        assert_eq!(trip.pnl.to_string(), "4");
        assert_eq!(account.position(InstrumentId(0)), Qty(3));
        assert_eq!(account.unrealized(&[(Some(p("19")), LotSize::ONE)]).to_string(), "3");
        assert_eq!(account.equity(&[(Some(p("19")), LotSize::ONE)]).raw(), account.cash.raw() + 57 * PRICE_SCALE);
        assert_eq!((account.trades.count(), account.trades.winners()), (1, 1));
    }

    #[test]
    fn commission_per_lot_and_percent_of_notional() {
        let config = CommissionConfig { per_lot: "0.5".parse().unwrap(), percent: "0.1".parse().unwrap() };
        // 0.5 × 4 + 0.1% × (25 × 4 × 10) = 2 + 1.
        assert_eq!(commission(&config, p("25"), Qty(4), LotSize::from_units(10)).to_string(), "3");
    }
}
