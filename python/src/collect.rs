//! What a session gives Python as it runs: its round trips (the columns of `--trades`), its equity
//! curve (the columns of `--equity`), its orders (one row per order, from the session's activity)
//! and the chart data of the HTML report.

use std::collections::HashMap;

use tradsys::html_report::ChartData;
use tradsys_core::component::ClientOrderId;
use tradsys_core::market::Bar;
use tradsys_core::session::portfolio::RoundTrip;
use tradsys_core::session::{Activity, SessionObserver};
use tradsys_core::types::{Money, Side, Timestamp};

use crate::columns::{Table, Values};

/// The round trips, as `--trades` writes them.
#[derive(Debug, Default)]
struct Trades {
    strategy: Vec<Option<String>>,
    symbol: Vec<Option<String>>,
    side: Vec<Option<String>>,
    qty: Vec<i64>,
    entry_time: Vec<i64>,
    entry_bar: Vec<i64>,
    entry_price: Vec<f64>,
    exit_time: Vec<i64>,
    exit_bar: Vec<i64>,
    exit_price: Vec<f64>,
    gross_pnl: Vec<f64>,
    commission: Vec<f64>,
    net_pnl: Vec<f64>,
    return_pct: Vec<f64>,
    duration_days: Vec<f64>,
}

/// The equity curve, as `--equity` writes it.
#[derive(Debug, Default)]
struct Equity {
    strategies: Vec<String>,
    time: Vec<i64>,
    bar: Vec<i64>,
    total: Vec<f64>,
    drawdown_pct: Vec<f64>,
    per_strategy: Vec<Vec<f64>>,
}

/// One order, as its activity tells it.
#[derive(Debug)]
struct Order {
    time: i64,
    strategy: String,
    id: u64,
    symbol: String,
    side: Side,
    order_type: &'static str,
    qty: i64,
    price: Option<f64>,
    trigger: Option<f64>,
    tif: &'static str,
    filled: i64,
    /// Σ price × qty of the fills, for the average.
    notional: f64,
    commission: Money,
    status: &'static str,
    rejected_by: Option<String>,
    reason: Option<String>,
    closed: Option<i64>,
}

/// The observer a Python run gives its session.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    trades: Trades,
    equity: Equity,
    orders: Vec<Order>,
    order_rows: HashMap<(String, ClientOrderId), usize>,
    /// Prices and trades for `to_html`.
    pub(crate) charts: ChartData,
}

impl SessionObserver for Collector {
    fn begin(&mut self, strategy_ids: &[String]) {
        self.equity.strategies = strategy_ids.to_vec();
        self.equity.per_strategy = vec![Vec::new(); strategy_ids.len()];
    }

    fn equity(&mut self, ts: Timestamp, bar: u64, total: Money, per_strategy: &[Money], drawdown: f64) {
        let equity = &mut self.equity;
        equity.time.push(ts.0);
        equity.bar.push(i64::try_from(bar).unwrap_or(i64::MAX));
        equity.total.push(total.to_f64());
        equity.drawdown_pct.push(drawdown * 100.0);
        // One column per strategy the run began with, as the equity file has.
        for (column, value) in equity.per_strategy.iter_mut().zip(per_strategy) {
            column.push(value.to_f64());
        }
    }

    fn round_trip(&mut self, round_trip: &RoundTrip) {
        self.charts.round_trip(round_trip);
        let trip = &round_trip.trip;
        let trades = &mut self.trades;
        trades.strategy.push(Some(round_trip.strategy.to_string()));
        trades.symbol.push(Some(round_trip.symbol.to_string()));
        trades.side.push(Some(if trip.side == Side::Buy { "long" } else { "short" }.to_owned()));
        trades.qty.push(trip.qty);
        trades.entry_time.push(trip.entry_ts.0);
        trades.entry_bar.push(i64::try_from(trip.entry_bar).unwrap_or(i64::MAX));
        trades.entry_price.push(trip.entry_price.to_f64());
        trades.exit_time.push(trip.exit_ts.0);
        trades.exit_bar.push(i64::try_from(trip.exit_bar).unwrap_or(i64::MAX));
        trades.exit_price.push(trip.exit_price.to_f64());
        trades.gross_pnl.push(trip.gross_pnl().to_f64());
        trades.commission.push(trip.commission.to_f64());
        trades.net_pnl.push(trip.pnl.to_f64());
        trades.return_pct.push(100.0 * trip.return_fraction());
        trades.duration_days.push(trip.duration_days());
    }

    fn bar(&mut self, symbol: &str, bar: &Bar) {
        self.charts.bar(symbol, bar);
    }

    fn activity(&mut self, ts: Timestamp, activity: &Activity<'_>) {
        match *activity {
            Activity::Order { strategy, order, symbol, request } => {
                self.order_rows.insert((strategy.to_owned(), order), self.orders.len());
                self.orders.push(Order {
                    time: ts.0,
                    strategy: strategy.to_owned(),
                    id: order.0,
                    symbol: symbol.to_owned(),
                    side: request.side,
                    order_type: request.order_type.as_str(),
                    qty: request.qty.0,
                    price: request.price.map(tradsys_core::types::Price::to_f64),
                    trigger: request.trigger.map(tradsys_core::types::Price::to_f64),
                    tif: request.tif.as_str(),
                    filled: 0,
                    notional: 0.0,
                    commission: Money::ZERO,
                    status: "open",
                    rejected_by: None,
                    reason: None,
                    closed: None,
                });
            }
            Activity::Fill { strategy, fill, .. } => {
                if let Some(row) = self.row(strategy, fill.order) {
                    row.filled += fill.qty.0;
                    #[allow(clippy::cast_precision_loss)]
                    let qty = fill.qty.0 as f64;
                    row.notional += fill.price.to_f64() * qty;
                    row.commission = row.commission.saturating_add(fill.commission);
                    if row.filled >= row.qty {
                        row.status = "filled";
                        row.closed = Some(ts.0);
                    } else {
                        row.status = "partially filled";
                    }
                }
            }
            Activity::Rejected { strategy, order, by, reason, .. } => {
                if let Some(row) = self.row(strategy, order) {
                    row.status = "rejected";
                    row.rejected_by = Some(by.to_owned());
                    row.reason = Some(reason.to_owned());
                    row.closed = Some(ts.0);
                }
            }
            Activity::Ended { strategy, order, cancelled, .. } => {
                if let Some(row) = self.row(strategy, order) {
                    row.status = if cancelled { "cancelled" } else { "expired" };
                    row.closed = Some(ts.0);
                }
            }
            Activity::Halted { .. } | Activity::Failed { .. } | Activity::Alert(_) | Activity::Changed(_) => {}
        }
    }
}

impl Collector {
    fn row(&mut self, strategy: &str, order: ClientOrderId) -> Option<&mut Order> {
        let at = *self.order_rows.get(&(strategy.to_owned(), order))?;
        self.orders.get_mut(at)
    }

    /// The round trips' table: the columns of `--trades`, in its order.
    pub(crate) fn trades(&mut self) -> Table {
        let t = std::mem::take(&mut self.trades);
        Table {
            columns: vec![
                ("strategy".to_owned(), Values::Text(t.strategy)),
                ("symbol".to_owned(), Values::Text(t.symbol)),
                ("side".to_owned(), Values::Text(t.side)),
                ("qty".to_owned(), Values::Int(t.qty)),
                ("entry_time".to_owned(), Values::Time(t.entry_time)),
                ("entry_bar".to_owned(), Values::Int(t.entry_bar)),
                ("entry_price".to_owned(), Values::Float(t.entry_price)),
                ("exit_time".to_owned(), Values::Time(t.exit_time)),
                ("exit_bar".to_owned(), Values::Int(t.exit_bar)),
                ("exit_price".to_owned(), Values::Float(t.exit_price)),
                ("gross_pnl".to_owned(), Values::Float(t.gross_pnl)),
                ("commission".to_owned(), Values::Float(t.commission)),
                ("net_pnl".to_owned(), Values::Float(t.net_pnl)),
                ("return_pct".to_owned(), Values::Float(t.return_pct)),
                ("duration_days".to_owned(), Values::Float(t.duration_days)),
            ],
        }
    }

    /// The equity curve's table: the columns of `--equity`, in its order.
    pub(crate) fn equity(&mut self) -> Table {
        let e = std::mem::take(&mut self.equity);
        let mut columns = vec![
            ("time".to_owned(), Values::Time(e.time)),
            ("bar".to_owned(), Values::Int(e.bar)),
            ("total_equity".to_owned(), Values::Float(e.total)),
            ("drawdown_pct".to_owned(), Values::Float(e.drawdown_pct)),
        ];
        for (name, values) in e.strategies.into_iter().zip(e.per_strategy) {
            columns.push((name, Values::Float(values)));
        }
        Table { columns }
    }

    /// One row per order, in submission order.
    pub(crate) fn orders(&mut self) -> Table {
        let orders = std::mem::take(&mut self.orders);
        let text = |f: &dyn Fn(&Order) -> Option<String>| Values::Text(orders.iter().map(f).collect());
        let float = |f: &dyn Fn(&Order) -> f64| Values::Float(orders.iter().map(f).collect());
        #[allow(clippy::cast_precision_loss)]
        let average = |o: &Order| if o.filled > 0 { o.notional / o.filled as f64 } else { f64::NAN };
        Table {
            columns: vec![
                ("time".to_owned(), Values::Time(orders.iter().map(|o| o.time).collect())),
                ("strategy".to_owned(), text(&|o| Some(o.strategy.clone()))),
                (
                    "order".to_owned(),
                    Values::Int(orders.iter().map(|o| i64::try_from(o.id).unwrap_or(i64::MAX)).collect()),
                ),
                ("symbol".to_owned(), text(&|o| Some(o.symbol.clone()))),
                ("side".to_owned(), text(&|o| Some(o.side.as_str().to_owned()))),
                ("type".to_owned(), text(&|o| Some(o.order_type.to_owned()))),
                ("qty".to_owned(), Values::Int(orders.iter().map(|o| o.qty).collect())),
                ("price".to_owned(), float(&|o| o.price.unwrap_or(f64::NAN))),
                ("trigger".to_owned(), float(&|o| o.trigger.unwrap_or(f64::NAN))),
                ("tif".to_owned(), text(&|o| Some(o.tif.to_owned()))),
                ("status".to_owned(), text(&|o| Some(o.status.to_owned()))),
                ("filled".to_owned(), Values::Int(orders.iter().map(|o| o.filled).collect())),
                ("avg_fill_price".to_owned(), float(&average)),
                ("commission".to_owned(), float(&|o| o.commission.to_f64())),
                ("rejected_by".to_owned(), text(&|o| o.rejected_by.clone())),
                ("reason".to_owned(), text(&|o| o.reason.clone())),
                // Still open at the end: NaT (the minimum, which the Python half reads as missing).
                ("closed_time".to_owned(), Values::Time(orders.iter().map(|o| o.closed.unwrap_or(i64::MIN)).collect())),
            ],
        }
    }
}
