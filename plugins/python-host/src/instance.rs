//! One instance of a Python class, whatever it plays (a strategy, a risk validator): made from the
//! config's parameters, started in `init` under its declared capabilities, and called under its
//! budget, each call's outcome judged the same way.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use tradsys_core::component::{ComponentError, InitContext};

use crate::context::{PySetup, lend_setup};
use crate::interpreter::{LoadedClass, describe, load_class, repr};
use crate::{Params, budget};

/// What a class is loaded to be: each needs its own callbacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Role {
    /// A strategy: at least one of the event callbacks.
    Strategy,
    /// A risk validator: `check`.
    Validator,
}

/// An instance of a loaded class.
#[derive(Debug)]
pub(crate) struct ClassInstance {
    pub(crate) class: Arc<LoadedClass>,
    /// The instance, with `params` set to the checked parameters.
    pub(crate) object: Py<PyAny>,
    /// The context `init` gets.
    setup: Py<PySetup>,
    pub(crate) budget: Duration,
}

impl ClassInstance {
    /// Loads the class `params` names for `role`, checks `params.args` against what it declares
    /// and makes an instance.
    ///
    /// # Errors
    /// The class does not load or declare what it should, an argument is undeclared or of the
    /// wrong type, or the constructor raised.
    pub(crate) fn load(params: &Params, role: Role) -> Result<ClassInstance, ComponentError> {
        let class = load_class(&params.source()?, &params.class, &params.path, role)?;
        Python::attach(|py| {
            let args = crate::declared::apply_args(py, &class.declared, &class.label, &params.args)
                .map_err(ComponentError::new)?;
            let object = class.class.bind(py).call0().map_err(|error| {
                ComponentError::new(format!("{}: creating an instance raised {}", class.label, describe(py, &error)))
            })?;
            object.setattr("params", args).map_err(|error| {
                ComponentError::new(format!("{}: setting its params raised {}", class.label, describe(py, &error)))
            })?;
            let setup = Py::new(py, PySetup::new(class.declared.capabilities))
                .map_err(|error| ComponentError::new(error.to_string()))?;
            Ok(ClassInstance {
                object: object.unbind(),
                setup,
                budget: Duration::from_millis(params.budget_ms),
                class: Arc::clone(&class),
            })
        })
    }

    /// Refuses an instance granted less than its class declares, then calls its `init(ctx)`, if
    /// it has one.
    ///
    /// # Errors
    /// A capability declared but not granted, or `init` failed (its traceback).
    pub(crate) fn init(&self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        let missing = self.class.declared.capabilities.missing_from(ctx.allowed());
        if !missing.is_empty() {
            return Err(ComponentError::new(format!(
                "{} declares {}, which this instance is not granted (capabilities = [...] in its config grants them)",
                self.class.label,
                missing.names()
            )));
        }
        if !self.class.declared.callbacks.init {
            return Ok(());
        }
        Python::attach(|py| {
            let result = self
                .timed(py, || lend_setup(ctx, || self.object.bind(py).call_method1("init", (self.setup.bind(py),))));
            self.outcome(py, "init", result)
                .and_then(|value| self.expect_none("init", &value))
                .map_err(ComponentError::new)
        })
    }

    /// Runs `call` under the budget: its result, and whether the budget ran out.
    pub(crate) fn timed<'py>(
        &self,
        py: Python<'py>,
        call: impl FnOnce() -> PyResult<Bound<'py, PyAny>>,
    ) -> (PyResult<Bound<'py, PyAny>>, bool) {
        match budget::arm(py, self.budget) {
            Ok(running) => {
                let result = call();
                (result, running.disarm(py))
            }
            Err(error) => (Err(error), false),
        }
    }

    /// The value a call returned, or its failure in words (an exception, an overrun).
    pub(crate) fn outcome<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        (result, overran): (PyResult<Bound<'py, PyAny>>, bool),
    ) -> Result<Bound<'py, PyAny>, String> {
        let label = &self.class.label;
        result.map_err(|error| {
            if overran {
                format!(
                    "{label}.{method} ran past its budget of {} ms and was interrupted (budget_ms sets it):\n{}",
                    self.budget.as_millis(),
                    describe(py, &error)
                )
            } else {
                format!("{label}.{method} raised {}", describe(py, &error))
            }
        })
    }

    /// `Ok` for `None`, else what the method should have returned.
    pub(crate) fn expect_none(&self, method: &str, value: &Bound<'_, PyAny>) -> Result<(), String> {
        if value.is_none() {
            return Ok(());
        }
        Err(format!("{}.{method} returned {}; callbacks return None", self.class.label, repr(value)))
    }
}

/// Fails the callback with `message` (the traceback): an unwind the boundary contains, without
/// the panic hook, whose Rust source location would say nothing about the Python code.
pub(crate) fn fail(message: String) -> ! {
    std::panic::resume_unwind(Box::new(message))
}
