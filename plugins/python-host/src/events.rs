//! The events a Python strategy's callbacks receive: read-only objects whose prices and money are
//! floats (the session's fixed-point values divided by 10⁸, exact to the eighth decimal) and
//! whose times are integers, nanoseconds since the Unix epoch (UTC).

use pyo3::prelude::*;
use tradsys_core::component::{FillReport, OrderRequest, OrderStatus, OrderUpdate};
use tradsys_core::market::{Bar, Quote, TradeTick};

/// An OHLCV bar.
#[pyclass(frozen, get_all, name = "Bar", module = "tradsys")]
#[derive(Debug)]
pub(crate) struct PyBar {
    /// Open time, nanoseconds since the epoch.
    ts: i64,
    /// Instrument id.
    instrument: u32,
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
}

impl PyBar {
    pub(crate) fn of(bar: &Bar) -> PyBar {
        PyBar {
            ts: bar.ts.0,
            instrument: bar.instrument.0,
            open: bar.open.to_f64(),
            high: bar.high.to_f64(),
            low: bar.low.to_f64(),
            close: bar.close.to_f64(),
            volume: bar.volume,
        }
    }
}

#[pymethods]
impl PyBar {
    fn __repr__(&self) -> String {
        format!(
            "Bar(ts={}, instrument={}, open={}, high={}, low={}, close={}, volume={})",
            self.ts, self.instrument, self.open, self.high, self.low, self.close, self.volume
        )
    }
}

/// A trade on the venue.
#[pyclass(frozen, get_all, name = "Trade", module = "tradsys")]
#[derive(Debug)]
pub(crate) struct PyTrade {
    ts: i64,
    instrument: u32,
    price: f64,
    qty: i64,
    /// `"buy"` or `"sell"`: the side that took liquidity.
    aggressor: &'static str,
}

impl PyTrade {
    pub(crate) fn of(trade: &TradeTick) -> PyTrade {
        PyTrade {
            ts: trade.ts.0,
            instrument: trade.instrument.0,
            price: trade.price.to_f64(),
            qty: trade.qty.0,
            aggressor: trade.aggressor.as_str(),
        }
    }
}

/// A change of the best bid or ask.
#[pyclass(frozen, get_all, name = "Quote", module = "tradsys")]
#[derive(Debug)]
pub(crate) struct PyQuote {
    ts: i64,
    instrument: u32,
    /// `(price, qty)` or `None`.
    bid: Option<(f64, i64)>,
    /// `(price, qty)` or `None`.
    ask: Option<(f64, i64)>,
}

impl PyQuote {
    pub(crate) fn of(quote: &Quote) -> PyQuote {
        let level = |level: Option<(tradsys_core::types::Price, tradsys_core::types::Qty)>| {
            level.map(|(price, qty)| (price.to_f64(), qty.0))
        };
        PyQuote { ts: quote.ts.0, instrument: quote.instrument.0, bid: level(quote.bid), ask: level(quote.ask) }
    }
}

/// A fill of one of the strategy's orders.
#[pyclass(frozen, get_all, name = "Fill", module = "tradsys")]
#[derive(Debug)]
pub(crate) struct PyFill {
    /// The order's id, as `submit` returned it.
    order: u64,
    ts: i64,
    instrument: u32,
    /// `"buy"` or `"sell"`.
    side: &'static str,
    price: f64,
    qty: i64,
    commission: f64,
}

impl PyFill {
    pub(crate) fn of(fill: &FillReport) -> PyFill {
        PyFill {
            order: fill.order.0,
            ts: fill.ts.0,
            instrument: fill.instrument.0,
            side: fill.side.as_str(),
            price: fill.price.to_f64(),
            qty: fill.qty.0,
            commission: fill.commission.to_f64(),
        }
    }
}

/// A change of one of the strategy's orders.
#[pyclass(frozen, get_all, name = "OrderUpdate", module = "tradsys")]
#[derive(Debug)]
pub(crate) struct PyOrderUpdate {
    order: u64,
    /// `accepted`, `rejected`, `cancelled`, `expired` or `triggered`.
    status: &'static str,
    /// Who refused it (`risk:<validator>` or `venue`), for a rejection.
    rejected_by: Option<String>,
    /// Why, for a rejection.
    reason: Option<String>,
    /// Its open quantity after the change.
    remaining: i64,
}

impl PyOrderUpdate {
    pub(crate) fn of(update: &OrderUpdate) -> PyOrderUpdate {
        let (status, rejected_by, reason) = match &update.status {
            OrderStatus::Accepted => ("accepted", None, None),
            OrderStatus::Rejected { by, reason } => ("rejected", Some(by.clone()), Some(reason.clone())),
            OrderStatus::Cancelled => ("cancelled", None, None),
            OrderStatus::Expired => ("expired", None, None),
            OrderStatus::Triggered => ("triggered", None, None),
        };
        PyOrderUpdate { order: update.order.0, status, rejected_by, reason, remaining: update.remaining.0 }
    }
}

/// An order a validator checks.
#[pyclass(frozen, get_all, name = "Order", module = "tradsys")]
#[derive(Debug)]
pub(crate) struct PyOrder {
    instrument: u32,
    /// `"buy"` or `"sell"`.
    side: &'static str,
    /// `market`, `limit`, `stop` or `stop-limit` (`order.type` in Python).
    #[pyo3(name = "type")]
    order_type: &'static str,
    /// The limit price, if any.
    price: Option<f64>,
    /// The stop trigger, if any.
    trigger: Option<f64>,
    qty: i64,
    /// `gtc`, `ioc`, `fok` or `gtx`.
    tif: &'static str,
}

impl PyOrder {
    pub(crate) fn of(order: &OrderRequest) -> PyOrder {
        PyOrder {
            instrument: order.instrument.0,
            side: order.side.as_str(),
            order_type: order.order_type.as_str(),
            price: order.price.map(tradsys_core::types::Price::to_f64),
            trigger: order.trigger.map(tradsys_core::types::Price::to_f64),
            qty: order.qty.0,
            tif: order.tif.as_str(),
        }
    }
}
