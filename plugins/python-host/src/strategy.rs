//! [`PythonStrategy`]: one instance of a Python strategy class, seen by the session as any other
//! strategy. Each callback takes the GIL, arms the call budget, lends the session's context to
//! the Python code and calls the method; an exception, a budget overrun or a value other than
//! `None` is a panic with the traceback, which the session's boundary turns into this strategy's
//! failure alone.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use tradsys_core::component::{
    ComponentError, FillReport, Handover, InitContext, OpenOrder, OrderUpdate, Strategy, StrategyContext,
    StrategySnapshot,
};
use tradsys_core::market::{Bar, Quote, TradeTick};

use crate::Params;
use crate::context::{PyContext, lend_strategy};
use crate::events::{PyBar, PyFill, PyOrderUpdate, PyQuote, PyTrade};
use crate::instance::{ClassInstance, Role, fail};
use crate::interpreter::{describe, repr};

/// One instance of a Python strategy class.
#[derive(Debug)]
pub struct PythonStrategy {
    instance: ClassInstance,
    /// The context every event callback gets (one object, reused).
    context: Py<PyContext>,
}

impl PythonStrategy {
    /// Loads the class `params.class` names, checks `params.args` against what it declares and
    /// makes an instance.
    ///
    /// # Errors
    /// The class does not load or declare what it should, an argument is undeclared or of the
    /// wrong type, or the constructor raised.
    pub(crate) fn load(params: &Params) -> Result<PythonStrategy, ComponentError> {
        let instance = ClassInstance::load(params, Role::Strategy)?;
        let context =
            Python::attach(|py| Py::new(py, PyContext)).map_err(|error| ComponentError::new(error.to_string()))?;
        Ok(PythonStrategy { instance, context })
    }

    /// Calls `method(event, ctx)` under the budget, with `ctx` narrowed to what the class
    /// declares; panics (for the boundary) on an exception, an overrun or a returned value.
    fn call(
        &self,
        method: &str,
        ctx: &mut StrategyContext<'_>,
        event: impl for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyAny>>,
    ) {
        let instance = &self.instance;
        let mut narrowed = ctx.narrowed(instance.class.declared.capabilities);
        let outcome = Python::attach(|py| {
            let event = event(py).map_err(|error| error.to_string())?;
            let result = instance.timed(py, || {
                lend_strategy(&mut narrowed, || {
                    instance.object.bind(py).call_method1(method, (event, self.context.bind(py)))
                })
            });
            instance.outcome(py, method, result).and_then(|value| instance.expect_none(method, &value))
        });
        if let Err(message) = outcome {
            fail(message);
        }
    }
}

#[cfg(test)]
impl PythonStrategy {
    /// `repr` of a Python expression over the instance (`self`), for tests.
    pub(crate) fn probe(&self, expression: &str) -> String {
        Python::attach(|py| {
            let locals = PyDict::new(py);
            locals.set_item("self", self.instance.object.bind(py)).unwrap();
            let code = std::ffi::CString::new(expression).unwrap();
            let value = py.eval(&code, None, Some(&locals)).unwrap_or_else(|error| panic!("{}", describe(py, &error)));
            value.repr().unwrap().to_string()
        })
    }
}

/// An open order as the dict Python sees: `id`, `instrument`, `side`, `price`, `trigger`, `remaining`.
pub(crate) fn order_dict<'py>(py: Python<'py>, order: &OpenOrder) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("id", order.id.0)?;
    dict.set_item("instrument", order.instrument.0)?;
    dict.set_item("side", order.side.as_str())?;
    dict.set_item("price", order.price.to_f64())?;
    dict.set_item("trigger", order.trigger.map(tradsys_core::types::Price::to_f64))?;
    dict.set_item("remaining", order.remaining.0)?;
    Ok(dict)
}

impl Strategy for PythonStrategy {
    fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        self.instance.init(ctx)
    }

    fn on_bar(&mut self, bar: &Bar, ctx: &mut StrategyContext<'_>) {
        if self.instance.class.declared.callbacks.on_bar {
            self.call("on_bar", ctx, |py| Ok(Bound::new(py, PyBar::of(bar))?.into_any()));
        }
    }

    fn on_trade(&mut self, trade: &TradeTick, ctx: &mut StrategyContext<'_>) {
        if self.instance.class.declared.callbacks.on_trade {
            self.call("on_trade", ctx, |py| Ok(Bound::new(py, PyTrade::of(trade))?.into_any()));
        }
    }

    fn on_quote(&mut self, quote: &Quote, ctx: &mut StrategyContext<'_>) {
        if self.instance.class.declared.callbacks.on_quote {
            self.call("on_quote", ctx, |py| Ok(Bound::new(py, PyQuote::of(quote))?.into_any()));
        }
    }

    fn on_fill(&mut self, fill: &FillReport, ctx: &mut StrategyContext<'_>) {
        if self.instance.class.declared.callbacks.on_fill {
            self.call("on_fill", ctx, |py| Ok(Bound::new(py, PyFill::of(fill))?.into_any()));
        }
    }

    fn on_order_update(&mut self, update: &OrderUpdate, ctx: &mut StrategyContext<'_>) {
        if self.instance.class.declared.callbacks.on_order_update {
            self.call("on_order_update", ctx, |py| Ok(Bound::new(py, PyOrderUpdate::of(update))?.into_any()));
        }
    }

    /// The class's `snapshot()`, which returns a dict `json.dumps` takes, or `None`; written in its
    /// `snapshot_format`.
    fn snapshot(&self) -> Option<StrategySnapshot> {
        if !self.instance.class.declared.callbacks.snapshot {
            return None;
        }
        let label = &self.instance.class.label;
        let state = Python::attach(|py| -> Result<Option<serde_json::Value>, String> {
            let value = self
                .instance
                .object
                .bind(py)
                .call_method0("snapshot")
                .map_err(|error| format!("{label}.snapshot raised {}", describe(py, &error)))?;
            if value.is_none() {
                return Ok(None);
            }
            let text: String = py
                .import("json")
                .and_then(|json| json.call_method1("dumps", (&value,)))
                .and_then(|text| text.extract())
                .map_err(|error| {
                    format!("{label}.snapshot returned {}, which json.dumps refuses: {error}", repr(&value))
                })?;
            serde_json::from_str(&text).map(Some).map_err(|error| format!("{label}.snapshot: {error}"))
        });
        match state {
            Ok(state) => state
                .and_then(|state| StrategySnapshot::new(&self.instance.class.declared.snapshot_format, &state).ok()),
            Err(message) => fail(message),
        }
    }

    /// The class's `take_over(state, orders)`: the predecessor's snapshot (if it is in this class's
    /// `snapshot_format`, else `None`) and the open orders this instance inherits, as dicts.
    fn take_over(&mut self, handover: &Handover<'_>) -> Result<(), ComponentError> {
        if !self.instance.class.declared.callbacks.take_over {
            return Ok(());
        }
        let state: Option<serde_json::Value> = match handover.snapshot {
            Some(snapshot) => snapshot.read(&self.instance.class.declared.snapshot_format)?,
            None => None,
        };
        let label = &self.instance.class.label;
        Python::attach(|py| {
            let failed =
                |error: PyErr| ComponentError::new(format!("{label}.take_over raised {}", describe(py, &error)));
            let state = match state {
                Some(state) => py
                    .import("json")
                    .and_then(|json| json.call_method1("loads", (state.to_string(),)))
                    .map_err(failed)?,
                None => py.None().into_bound(py),
            };
            let orders: Vec<Bound<'_, PyDict>> = handover
                .inherited
                .iter()
                .map(|order| order_dict(py, order))
                .collect::<PyResult<_>>()
                .map_err(failed)?;
            let result =
                self.instance.timed(py, || self.instance.object.bind(py).call_method1("take_over", (state, orders)));
            self.instance
                .outcome(py, "take_over", result)
                .and_then(|value| self.instance.expect_none("take_over", &value))
                .map_err(ComponentError::new)
        })
    }
}
