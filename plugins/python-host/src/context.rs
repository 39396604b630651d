//! The contexts a Python strategy is given: `Setup` in `init`, `Context` in every other callback.
//!
//! Each method is the Rust context's method of the same name, called on the session's own handle
//! for the duration of the callback: capability checks, buying power and the risk chain apply
//! exactly as for a compiled-in strategy. The handle is lent to this thread while the callback runs
//! ([`lend_strategy`], [`lend_setup`]); a context kept past its callback, or used from another
//! thread, raises `RuntimeError` instead of reaching a handle that is gone.

use std::cell::Cell;
use std::ptr::NonNull;
use std::thread::LocalKey;

use pyo3::exceptions::{PyPermissionError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use tradsys_core::capability::{Capabilities, Capability, PermissionDenied};
use tradsys_core::component::{
    BracketExits, ClientOrderId, IndicatorHandle, InitContext, OrderRequest, RiskView, StrategyContext,
};
use tradsys_core::types::{InstrumentId, Price, Qty, Side, TimeInForce};

use crate::values::to_toml;

/// A handle lent to the Python code running on this thread, if any.
type Lent<T> = Cell<Option<NonNull<T>>>;

thread_local! {
    static STRATEGY: Lent<StrategyContext<'static>> = const { Cell::new(None) };
    static SETUP: Lent<InitContext<'static>> = const { Cell::new(None) };
    static VIEW: Lent<RiskView<'static>> = const { Cell::new(None) };
}

/// Puts a slot back as it was when dropped (after the callback, on unwind too).
struct Restore<T: 'static> {
    slot: &'static LocalKey<Lent<T>>,
    previous: Option<NonNull<T>>,
}

impl<T: 'static> Drop for Restore<T> {
    fn drop(&mut self) {
        self.slot.set(self.previous);
    }
}

/// Runs `call` with `ctx` lent to this thread's Python code.
pub(crate) fn lend_strategy<R>(ctx: &mut StrategyContext<'_>, call: impl FnOnce() -> R) -> R {
    let pointer = NonNull::from(ctx).cast::<StrategyContext<'static>>();
    let _restore = Restore { slot: &STRATEGY, previous: STRATEGY.replace(Some(pointer)) };
    call()
}

/// Runs `call` with `ctx` lent to this thread's Python code.
pub(crate) fn lend_setup<R>(ctx: &mut InitContext<'_>, call: impl FnOnce() -> R) -> R {
    let pointer = NonNull::from(ctx).cast::<InitContext<'static>>();
    let _restore = Restore { slot: &SETUP, previous: SETUP.replace(Some(pointer)) };
    call()
}

/// Runs `call` with `view` lent to this thread's Python code (read only).
pub(crate) fn lend_view<R>(view: &RiskView<'_>, call: impl FnOnce() -> R) -> R {
    let pointer = NonNull::from(view).cast::<RiskView<'static>>();
    let _restore = Restore { slot: &VIEW, previous: VIEW.replace(Some(pointer)) };
    call()
}

/// Uses the view lent to this thread, shared: it was lent as `&RiskView`, so it is only read.
#[allow(unsafe_code)]
fn view<R>(use_it: impl FnOnce(&RiskView<'_>) -> PyResult<R>) -> PyResult<R> {
    let Some(pointer) = VIEW.get() else {
        return Err(PyRuntimeError::new_err(
            "this RiskView is usable only during the check it was given to, on the session's thread",
        ));
    };
    // SAFETY: as in `borrow`: `pointer` was made from a `&RiskView` by `lend_view` on this thread,
    // whose `Restore` clears the slot before that borrow ends, so the referent is alive while we
    // are inside `call` on this thread; only a shared reference is made, as was lent, and the
    // `'static` is not exposed (the closure takes the view for any lifetime).
    let view = unsafe { &*pointer.as_ptr() };
    use_it(view)
}

/// Uses the handle lent to this thread, which is taken out of its slot meanwhile: a call that
/// reached Python again and came back here would find the slot empty, never a second `&mut`.
#[allow(unsafe_code)]
fn borrow<T: 'static, R>(
    slot: &'static LocalKey<Lent<T>>,
    what: &str,
    use_it: impl FnOnce(&mut T) -> PyResult<R>,
) -> PyResult<R> {
    let Some(pointer) = slot.take() else {
        return Err(PyRuntimeError::new_err(format!(
            "this {what} is usable only during the callback it was given to, on the session's thread"
        )));
    };
    let _restore = Restore { slot, previous: Some(pointer) };
    // SAFETY: `pointer` was made from a `&mut` by `lend_strategy`/`lend_setup` on this thread,
    // whose `Restore` empties the slot again before that borrow ends (at the end of `call`, on
    // unwind too), so the referent is alive here: we are inside `call`, on the same thread (the
    // slot is thread-local). No other reference to it is used meanwhile: the lender is blocked in
    // `call`, and the slot is empty while this reference lives, so no nested `borrow` can make a
    // second one. The `'static` in `T` is never exposed: callers' closures take the context for
    // any lifetime (`&mut StrategyContext<'_>`), so nothing borrowed from it outlives this call.
    let handle = unsafe { &mut *pointer.as_ptr() };
    use_it(handle)
}

fn strategy<R>(use_it: impl FnOnce(&mut StrategyContext<'_>) -> PyResult<R>) -> PyResult<R> {
    borrow(&STRATEGY, "Context", |ctx| use_it(ctx))
}

fn setup<R>(use_it: impl FnOnce(&mut InitContext<'_>) -> PyResult<R>) -> PyResult<R> {
    borrow(&SETUP, "Setup", |ctx| use_it(ctx))
}

fn denied(denied: PermissionDenied) -> PyErr {
    PyPermissionError::new_err(denied.to_string())
}

fn side_of(side: &str) -> PyResult<Side> {
    match side {
        "buy" => Ok(Side::Buy),
        "sell" => Ok(Side::Sell),
        other => Err(PyValueError::new_err(format!("side must be \"buy\" or \"sell\", got {other:?}"))),
    }
}

fn tif_of(tif: &str) -> PyResult<TimeInForce> {
    match tif {
        "gtc" => Ok(TimeInForce::Gtc),
        "ioc" => Ok(TimeInForce::Ioc),
        "fok" => Ok(TimeInForce::Fok),
        "gtx" => Ok(TimeInForce::Gtx),
        other => Err(PyValueError::new_err(format!("tif must be \"gtc\", \"ioc\", \"fok\" or \"gtx\", got {other:?}"))),
    }
}

fn qty_of(qty: i64) -> PyResult<Qty> {
    if qty <= 0 {
        return Err(PyValueError::new_err(format!("qty must be a positive number of lots, got {qty}")));
    }
    Ok(Qty(qty))
}

/// A price from Python: a float or int is rounded to the instrument's tick; a `str` or
/// `decimal.Decimal` is read exactly.
fn price_of(ctx: &StrategyContext<'_>, instrument: u32, value: &Bound<'_, PyAny>, what: &str) -> PyResult<Price> {
    let Some(spec) = ctx.instrument(InstrumentId(instrument)) else {
        return Err(PyValueError::new_err(format!("no instrument {instrument} in this session")));
    };
    let is_exact =
        value.is_instance_of::<pyo3::types::PyString>() || value.get_type().name().is_ok_and(|name| name == "Decimal");
    if is_exact {
        let text = value.str()?.to_string();
        return text
            .parse::<Price>()
            .map_err(|error| PyValueError::new_err(format!("{what}: {text:?} is not a price: {error}")));
    }
    let float: f64 =
        value.extract().map_err(|_| PyValueError::new_err(format!("{what} must be a float, int, str or Decimal")))?;
    Price::from_f64_on_tick(float, spec.tick)
        .ok_or_else(|| PyValueError::new_err(format!("{what}: {float} is not a price (not finite, or out of range)")))
}

/// An indicator the strategy built in `init`: pass it to `ctx.indicator`.
#[pyclass(frozen, name = "Indicator", module = "tradsys")]
#[derive(Debug)]
pub(crate) struct PyIndicator {
    handle: IndicatorHandle,
    name: String,
}

#[pymethods]
impl PyIndicator {
    fn __repr__(&self) -> String {
        format!("Indicator({}, handle={})", self.name, self.handle.0)
    }
}

/// What `init` is given: instruments, indicators, the seed.
#[pyclass(frozen, name = "Setup", module = "tradsys")]
#[derive(Debug)]
pub(crate) struct PySetup {
    /// What the class declares: an indicator it did not declare `indicators` for is refused.
    declared: Capabilities,
}

impl PySetup {
    pub(crate) fn new(declared: Capabilities) -> PySetup {
        PySetup { declared }
    }
}

#[pymethods]
impl PySetup {
    /// This component's id in the config.
    fn component(&self) -> PyResult<String> {
        setup(|ctx| Ok(ctx.component().to_owned()))
    }

    /// The session's seed, for strategies that draw random numbers.
    fn seed(&self) -> PyResult<u64> {
        setup(|ctx| Ok(ctx.seed()))
    }

    /// The id of instrument `symbol` (declared or implied by the feed).
    fn instrument(&self, symbol: &str) -> PyResult<u32> {
        setup(|ctx| ctx.instrument(symbol).map(|id| id.0).map_err(|error| PyValueError::new_err(error.to_string())))
    }

    /// The id of `symbol`, or of the feed's first instrument when `symbol` is empty.
    #[pyo3(signature = (symbol = ""))]
    fn instrument_or_primary(&self, symbol: &str) -> PyResult<u32> {
        setup(|ctx| {
            ctx.instrument_or_primary(symbol).map(|id| id.0).map_err(|error| PyValueError::new_err(error.to_string()))
        })
    }

    /// Builds (or shares) indicator `name` with `params`, on `instrument` (default: the primary
    /// one), and returns its handle.
    #[pyo3(signature = (name, instrument = None, **params))]
    fn indicator(
        &self,
        name: &str,
        instrument: Option<u32>,
        params: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyIndicator> {
        if !self.declared.contains(Capability::Indicators) {
            return Err(denied(PermissionDenied(Capability::Indicators)));
        }
        let mut table = toml::Table::new();
        if let Some(params) = params {
            for (key, value) in params.iter() {
                let key: String = key.extract()?;
                let converted = to_toml(&value).ok_or_else(|| {
                    PyValueError::new_err(format!(
                        "indicator {name}: parameter {key} must be a bool, int, float, str, list or dict"
                    ))
                })?;
                table.insert(key, converted);
            }
        }
        setup(|ctx| {
            let instrument = match instrument {
                Some(id) => InstrumentId(id),
                None => ctx.instrument_or_primary("").map_err(|error| PyValueError::new_err(error.to_string()))?,
            };
            let handle =
                ctx.indicator(instrument, name, &table).map_err(|error| PyValueError::new_err(error.to_string()))?;
            Ok(PyIndicator { handle, name: name.to_owned() })
        })
    }

    /// The handle of an indicator instance the config declares (`[indicators.<id>]`).
    fn configured_indicator(&self, id: &str) -> PyResult<PyIndicator> {
        if !self.declared.contains(Capability::Indicators) {
            return Err(denied(PermissionDenied(Capability::Indicators)));
        }
        setup(|ctx| {
            let handle = ctx.configured_indicator(id).map_err(|error| PyValueError::new_err(error.to_string()))?;
            Ok(PyIndicator { handle, name: id.to_owned() })
        })
    }
}

/// What a validator's `check` and `review` are given: the Rust `RiskView`'s methods, each checked
/// against what the class declares (a refusal counted, as the view counts its own), then against
/// the instance's grant by the view itself. Prices and money are floats.
#[pyclass(frozen, name = "RiskView", module = "tradsys")]
#[derive(Debug)]
pub(crate) struct PyRiskView {
    declared: Capabilities,
}

impl PyRiskView {
    pub(crate) fn new(declared: Capabilities) -> PyRiskView {
        PyRiskView { declared }
    }

    fn read<R>(
        &self,
        capability: Capability,
        read: impl FnOnce(&RiskView<'_>) -> Result<R, PermissionDenied>,
    ) -> PyResult<R> {
        view(|view| {
            if !self.declared.contains(capability) {
                view.record_denied(capability, 1);
                return Err(denied(PermissionDenied(capability)));
            }
            read(view).map_err(denied)
        })
    }
}

#[pymethods]
impl PyRiskView {
    /// The checked strategy's config id.
    fn strategy_id(&self) -> PyResult<String> {
        view(|view| Ok(view.strategy_id().to_owned()))
    }

    /// The order's instrument: `{"symbol", "tick", "lot_size"}`.
    fn instrument<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        view(|view| instrument_dict(py, view.instrument()))
    }

    /// The current (event) time, nanoseconds since the epoch (`read-clock`).
    fn now(&self) -> PyResult<i64> {
        self.read(Capability::ReadClock, |view| view.now().map(|ts| ts.0))
    }

    /// The strategy's position in the order's instrument, in lots (`read-position`).
    fn position(&self) -> PyResult<i64> {
        self.read(Capability::ReadPosition, |view| view.position().map(|qty| qty.0))
    }

    /// `(buy, sell)`: the open quantities of the strategy's resting orders there (`read-position`).
    fn open_orders(&self) -> PyResult<(i64, i64)> {
        self.read(Capability::ReadPosition, |view| view.open_orders().map(|(buy, sell)| (buy.0, sell.0)))
    }

    /// The instrument's last price (`market-data`).
    fn last_price(&self) -> PyResult<Option<f64>> {
        self.read(Capability::MarketData, |view| view.last_price().map(|price| price.map(Price::to_f64)))
    }

    /// The price the order is valued at: its limit, else the last price (`market-data`).
    fn reference_price(&self) -> PyResult<Option<f64>> {
        self.read(Capability::MarketData, |view| view.reference_price().map(|price| price.map(Price::to_f64)))
    }

    /// The strategy's PnL (`read-portfolio`).
    fn pnl(&self) -> PyResult<f64> {
        self.read(Capability::ReadPortfolio, |view| view.pnl().map(|money| money.to_f64()))
    }
}

/// An instrument as the dict Python sees.
fn instrument_dict<'py>(py: Python<'py>, spec: &tradsys_core::instrument::Instrument) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("symbol", &spec.symbol)?;
    dict.set_item("tick", spec.tick.to_f64())?;
    dict.set_item("lot_size", spec.lot_size.to_f64())?;
    Ok(dict)
}

/// What every other callback is given: the Rust `StrategyContext`'s methods. Prices and money
/// are floats; order prices may be floats (rounded to the instrument's tick) or exact `str` /
/// `Decimal`; quantities are whole lots; sides are `"buy"` / `"sell"`.
#[pyclass(frozen, name = "Context", module = "tradsys")]
#[derive(Debug)]
pub(crate) struct PyContext;

#[pymethods]
impl PyContext {
    /// The current event time, nanoseconds since the epoch (`read-clock`).
    fn now(&self) -> PyResult<i64> {
        strategy(|ctx| ctx.now().map(|ts| ts.0).map_err(denied))
    }

    /// The strategy's position in `instrument`, in lots, signed (`read-position`).
    fn position(&self, instrument: u32) -> PyResult<i64> {
        strategy(|ctx| ctx.position(InstrumentId(instrument)).map(|qty| qty.0).map_err(denied))
    }

    /// Cash (`read-portfolio`).
    fn cash(&self) -> PyResult<f64> {
        strategy(|ctx| ctx.cash().map(|money| money.to_f64()).map_err(denied))
    }

    /// Equity: cash plus positions at the last price (`read-portfolio`).
    fn equity(&self) -> PyResult<f64> {
        strategy(|ctx| ctx.equity().map(|money| money.to_f64()).map_err(denied))
    }

    /// The strategy's resting orders, as dicts (`read-position`).
    fn open_orders<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        strategy(|ctx| {
            let orders = ctx.open_orders().map_err(denied)?;
            orders.iter().map(|order| crate::strategy::order_dict(py, order)).collect()
        })
    }

    /// The value of an indicator built in `init` (output `output` of a multi-output one), or
    /// `None` while it warms up (`indicators`).
    #[pyo3(signature = (indicator, output = 0))]
    fn indicator(&self, indicator: &PyIndicator, output: usize) -> PyResult<Option<f64>> {
        strategy(|ctx| ctx.indicator_output(indicator.handle, output).map_err(denied))
    }

    /// `(bid, ask)` of `instrument`, either `None` (`market-data`).
    fn top_of_book(&self, instrument: u32) -> PyResult<(Option<f64>, Option<f64>)> {
        strategy(|ctx| {
            let (bid, ask) = ctx.top_of_book(InstrumentId(instrument)).map_err(denied)?;
            Ok((bid.map(Price::to_f64), ask.map(Price::to_f64)))
        })
    }

    /// The last trade or close of `instrument` (`market-data`).
    fn last_price(&self, instrument: u32) -> PyResult<Option<f64>> {
        strategy(|ctx| Ok(ctx.last_price(InstrumentId(instrument)).map_err(denied)?.map(Price::to_f64)))
    }

    /// `{"symbol", "tick", "lot_size"}` of `instrument`, or `None` for an id the session never issued.
    fn instrument<'py>(&self, py: Python<'py>, instrument: u32) -> PyResult<Option<Bound<'py, PyDict>>> {
        strategy(|ctx| ctx.instrument(InstrumentId(instrument)).map(|spec| instrument_dict(py, spec)).transpose())
    }

    /// Submits a market order; returns its id (`submit-orders`: refused, it is rejected and the
    /// strategy sees the rejection).
    fn market(&self, instrument: u32, side: &str, qty: i64) -> PyResult<u64> {
        let order = OrderRequest::market(InstrumentId(instrument), side_of(side)?, qty_of(qty)?);
        strategy(|ctx| Ok(ctx.submit(order).0))
    }

    /// Submits a limit order; returns its id.
    #[pyo3(signature = (instrument, side, price, qty, tif = "gtc"))]
    fn limit(&self, instrument: u32, side: &str, price: &Bound<'_, PyAny>, qty: i64, tif: &str) -> PyResult<u64> {
        let (side, qty, tif) = (side_of(side)?, qty_of(qty)?, tif_of(tif)?);
        strategy(|ctx| {
            let price = price_of(ctx, instrument, price, "price")?;
            Ok(ctx.submit(OrderRequest::limit(InstrumentId(instrument), side, price, qty, tif)).0)
        })
    }

    /// Submits a stop order (a market order once `trigger` trades); returns its id.
    fn stop(&self, instrument: u32, side: &str, trigger: &Bound<'_, PyAny>, qty: i64) -> PyResult<u64> {
        let (side, qty) = (side_of(side)?, qty_of(qty)?);
        strategy(|ctx| {
            let trigger = price_of(ctx, instrument, trigger, "trigger")?;
            Ok(ctx.submit(OrderRequest::stop(InstrumentId(instrument), side, trigger, qty)).0)
        })
    }

    /// Submits a stop-limit order; returns its id.
    #[pyo3(signature = (instrument, side, trigger, price, qty, tif = "gtc"))]
    fn stop_limit(
        &self,
        instrument: u32,
        side: &str,
        trigger: &Bound<'_, PyAny>,
        price: &Bound<'_, PyAny>,
        qty: i64,
        tif: &str,
    ) -> PyResult<u64> {
        let (side, qty, tif) = (side_of(side)?, qty_of(qty)?, tif_of(tif)?);
        strategy(|ctx| {
            let trigger = price_of(ctx, instrument, trigger, "trigger")?;
            let price = price_of(ctx, instrument, price, "price")?;
            Ok(ctx.submit(OrderRequest::stop_limit(InstrumentId(instrument), side, trigger, price, qty, tif)).0)
        })
    }

    /// Submits an entry (market, or limit at `price`) with a stop-loss trigger and/or a
    /// take-profit limit, placed once it fills, one cancelling the other. Returns
    /// `(entry, stop_loss, take_profit)` ids.
    #[pyo3(signature = (instrument, side, qty, stop_loss = None, take_profit = None, price = None))]
    fn bracket(
        &self,
        instrument: u32,
        side: &str,
        qty: i64,
        stop_loss: Option<&Bound<'_, PyAny>>,
        take_profit: Option<&Bound<'_, PyAny>>,
        price: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(u64, Option<u64>, Option<u64>)> {
        let (side, qty) = (side_of(side)?, qty_of(qty)?);
        strategy(|ctx| {
            let id = InstrumentId(instrument);
            let entry = match price {
                Some(price) => {
                    OrderRequest::limit(id, side, price_of(ctx, instrument, price, "price")?, qty, TimeInForce::Gtc)
                }
                None => OrderRequest::market(id, side, qty),
            };
            let exits = BracketExits {
                stop_loss: stop_loss.map(|p| price_of(ctx, instrument, p, "stop_loss")).transpose()?,
                take_profit: take_profit.map(|p| price_of(ctx, instrument, p, "take_profit")).transpose()?,
            };
            let bracket = ctx.submit_bracket(entry, exits);
            Ok((bracket.entry.0, bracket.stop_loss.map(|id| id.0), bracket.take_profit.map(|id| id.0)))
        })
    }

    /// Cancels one of the strategy's orders (`cancel-orders`).
    fn cancel(&self, order: u64) -> PyResult<()> {
        strategy(|ctx| ctx.cancel(ClientOrderId(order)).map_err(denied))
    }

    /// Cancels every resting order of the strategy (`cancel-orders`).
    fn cancel_all(&self) -> PyResult<()> {
        strategy(|ctx| ctx.cancel_all().map_err(denied))
    }
}
