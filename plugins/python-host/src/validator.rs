//! [`PythonValidator`]: one instance of a Python risk validator class. `check(order, view)` returns
//! `None` to pass the order or a reason (a `str`) to reject it; `review(view)`, if defined, returns
//! a reason to halt the strategy, or `None`. Anything else, an exception or an overrun fails the
//! validator through the boundary, as a panic does a compiled-in one.

use pyo3::prelude::*;
use pyo3::types::PyString;
use tradsys_core::component::{ComponentError, InitContext, OrderRequest, RiskReject, RiskValidator, RiskView};

use crate::Params;
use crate::context::{PyRiskView, lend_view};
use crate::events::PyOrder;
use crate::instance::{ClassInstance, Role, fail};
use crate::interpreter::repr;

/// One instance of a Python risk validator class.
#[derive(Debug)]
pub struct PythonValidator {
    instance: ClassInstance,
    /// The view every call gets (one object, reused).
    view: Py<PyRiskView>,
}

impl PythonValidator {
    /// Loads the class `params.class` names, checks `params.args` and makes an instance.
    ///
    /// # Errors
    /// As for a strategy; a class without `check` is refused.
    pub(crate) fn load(params: &Params) -> Result<PythonValidator, ComponentError> {
        let instance = ClassInstance::load(params, Role::Validator)?;
        let view = Python::attach(|py| Py::new(py, PyRiskView::new(instance.class.declared.capabilities)))
            .map_err(|error| ComponentError::new(error.to_string()))?;
        Ok(PythonValidator { instance, view })
    }

    /// Calls `method(args..., view)` under the budget; `Some(reason)` for a `str`, `None` for
    /// `None`, and a failure (for the boundary) for anything else.
    fn ask(&self, method: &str, order: Option<&OrderRequest>, view: &RiskView<'_>) -> Option<String> {
        let instance = &self.instance;
        let outcome = Python::attach(|py| {
            let result = instance.timed(py, || {
                let view_object = self.view.bind(py);
                lend_view(view, || match order {
                    Some(order) => {
                        let order = Bound::new(py, PyOrder::of(order))?;
                        instance.object.bind(py).call_method1(method, (order, view_object))
                    }
                    None => instance.object.bind(py).call_method1(method, (view_object,)),
                })
            });
            let value = instance.outcome(py, method, result)?;
            if value.is_none() {
                return Ok(None);
            }
            match value.cast::<PyString>() {
                Ok(reason) => Ok(Some(reason.to_string())),
                Err(_) => Err(format!(
                    "{}.{method} returned {}; it returns None to pass or a reason (str) to refuse",
                    instance.class.label,
                    repr(&value)
                )),
            }
        });
        outcome.unwrap_or_else(|message| fail(message))
    }
}

impl RiskValidator for PythonValidator {
    fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        self.instance.init(ctx)
    }

    fn check(&mut self, order: &OrderRequest, view: &RiskView<'_>) -> Result<(), RiskReject> {
        match self.ask("check", Some(order), view) {
            Some(reason) => Err(RiskReject::new(reason)),
            None => Ok(()),
        }
    }

    fn review(&mut self, view: &RiskView<'_>) -> Option<RiskReject> {
        self.ask("review", None, view).map(RiskReject::halt)
    }

    fn reviews(&self) -> bool {
        self.instance.class.declared.callbacks.review
    }
}

#[cfg(test)]
impl PythonValidator {
    /// What using the view an instance kept (`self.view`) after its call raises, for tests.
    pub(crate) fn probe_view(&self) -> String {
        Python::attach(|py| {
            match self.instance.object.bind(py).getattr("view").and_then(|view| view.call_method0("position")) {
                Ok(value) => format!("reached: {value}"),
                Err(error) => error.to_string(),
            }
        })
    }
}
