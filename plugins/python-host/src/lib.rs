//! `python`: strategies and risk validators written in Python, loaded at run time from a `.py`
//! file or an importable module, run by an embedded CPython (3.9 or later, through its stable ABI).
//!
//! The class is named in config; its declarations (parameters with their defaults, capabilities,
//! indicators) are read from its attributes, and its callbacks get a context with the methods of
//! a Rust strategy's [`StrategyContext`](tradsys_core::component::StrategyContext), each checked
//! against what the class declares *and* what this instance is granted, on every call:
//!
//! ```toml
//! [strategies.trend]
//! plugin = "python"
//! params = { file = "strategies/sma_cross.py", class = "SmaCross", args = { fast = 10, slow = 30, qty = 10 } }
//! ```
//!
//! ```python
//! class SmaCross:
//!     params = {"fast": 10, "slow": 30, "qty": 1}          # declared, with defaults and types
//!     capabilities = ["indicators", "read-position", "submit-orders"]
//!     indicators = ["sma"]                                  # indicator plugins it builds
//!
//!     def init(self, ctx):
//!         self.fast = ctx.indicator("sma", period=self.params["fast"])
//!         ...
//!     def on_bar(self, bar, ctx):
//!         ...
//! ```
//!
//! A validator's class defines `check(order, view)` instead, returning `None` or the reason it
//! refuses the order, and reads through a view checked the same way.
//!
//! A Python exception, a callback past its budget (`budget_ms`) or a callback returning something
//! it should not fails this component alone, through the session's boundary, with the traceback
//! in the log and the report. docs/python.md is the guide.

#![deny(unsafe_code)]

mod budget;
mod context;
mod declared;
mod events;
mod instance;
mod interpreter;
mod strategy;
mod validator;
mod values;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tradsys_core::component::ComponentError;
use tradsys_core::plugin::{Capability, Dependency, Plugin};

pub use strategy::PythonStrategy;
pub use validator::PythonValidator;

tradsys_core::plugin_params! {
    /// Parameters of `python`.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Params {
        /// The `.py` file that defines the class, relative to the config file (or give `module`).
        pub file: String,
        /// The importable module that defines the class (`my_strategies.breakout`), found on
        /// `sys.path` and `path` (or give `file`).
        pub module: String,
        /// The strategy class's name in that file or module.
        pub class: String,
        /// Directories put in front of `sys.path` before the class is imported (relative to the
        /// working directory); a file's own directory is always there.
        pub path: Vec<String>,
        /// The class's own parameters, checked against the ones it declares (`params = {...}`,
        /// name to default; the default's type is the parameter's type).
        pub args: BTreeMap<String, toml::Value>,
        /// The longest one callback may run, in milliseconds; past it the callback is interrupted
        /// with `TimeoutError` and the strategy fails. A call blocked in C code (`time.sleep`, a
        /// socket) is interrupted when it returns to Python.
        /// Range: >= 1, <= 600_000
        pub budget_ms: u64,
    }
}

impl Default for Params {
    fn default() -> Params {
        Params {
            file: String::new(),
            module: String::new(),
            class: String::new(),
            path: Vec::new(),
            args: BTreeMap::new(),
            budget_ms: 1_000,
        }
    }
}

impl Params {
    /// Where the class comes from.
    pub(crate) fn source(&self) -> Result<interpreter::Source<'_>, ComponentError> {
        match (self.file.is_empty(), self.module.is_empty()) {
            (false, true) => Ok(interpreter::Source::File(&self.file)),
            (true, false) => Ok(interpreter::Source::Module(&self.module)),
            (true, true) => Err(ComponentError::new(
                "give file (a .py file, relative to the config) or module (an importable module) with class",
            )),
            (false, false) => Err(ComponentError::new("give file or module, not both")),
        }
    }
}

impl Plugin for PythonStrategy {
    type Params = Params;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = Params::PARAM_DOCS;
    const SUMMARY: &'static str = "a strategy written in Python, loaded at run time from a file or module";
    // Whatever a strategy may use: the class declares the part it needs, and every call is checked
    // against that declaration and this instance's grant together.
    const CAPABILITIES: &'static [Capability] = &Capability::FOR_STRATEGIES;
    const FILE_PARAMS: &'static [&'static str] = &["file"];

    fn build(params: Params) -> Result<Self, ComponentError> {
        check_budget(&params)?;
        PythonStrategy::load(&params)
    }

    /// The indicator plugins the class lists in `indicators`: the session builds them, so the plan
    /// must admit them. A class that does not load declares none here; `build` reports why.
    fn dependencies_of(params: &Params) -> Vec<Dependency> {
        params
            .source()
            .and_then(|source| interpreter::load_class(&source, &params.class, &params.path, instance::Role::Strategy))
            .map(|class| class.declared.indicators.clone())
            .unwrap_or_default()
    }
}

impl Plugin for PythonValidator {
    type Params = Params;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = Params::PARAM_DOCS;
    const SUMMARY: &'static str = "a risk validator written in Python, loaded at run time from a file or module";
    // What a validator may read, as for `python` strategies: the class declares its part.
    const CAPABILITIES: &'static [Capability] =
        &[Capability::MarketData, Capability::ReadPosition, Capability::ReadPortfolio, Capability::ReadClock];
    const FILE_PARAMS: &'static [&'static str] = &["file"];

    fn build(params: Params) -> Result<Self, ComponentError> {
        check_budget(&params)?;
        PythonValidator::load(&params)
    }
}

/// Refuses a `budget_ms` outside its range.
fn check_budget(params: &Params) -> Result<(), ComponentError> {
    if (1..=600_000).contains(&params.budget_ms) {
        return Ok(());
    }
    Err(ComponentError::new(format!("budget_ms must be 1 to 600000, got {}", params.budget_ms)))
}

tradsys_core::register_strategy!(PythonStrategy, "python", "0.1.0");
tradsys_core::register_risk!(PythonValidator, "python", "0.1.0");
