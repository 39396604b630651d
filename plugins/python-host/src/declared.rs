//! What a strategy class declares, read from its attributes when it is loaded: its parameters
//! (name to default), its capabilities, the indicator plugins it builds and the callbacks it has.

use std::borrow::Cow;
use std::collections::BTreeMap;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use tradsys_core::capability::{Capabilities, Capability};
use tradsys_core::plugin::{Dependency, Kind};

use crate::instance::Role;
use crate::interpreter::repr;
use crate::values::Kind as ValueKind;

/// The callbacks a strategy class may define; at least one of the event callbacks.
pub(crate) const EVENT_CALLBACKS: [&str; 5] = ["on_bar", "on_trade", "on_quote", "on_fill", "on_order_update"];

/// A class's declarations.
#[derive(Debug, Default)]
pub(crate) struct Declared {
    /// Its parameters and their defaults, in name order.
    pub(crate) params: BTreeMap<String, (ValueKind, Py<PyAny>)>,
    /// What it may do (empty when it declares nothing: every checked call is refused).
    pub(crate) capabilities: Capabilities,
    /// The indicator plugins its `init` builds.
    pub(crate) indicators: Vec<Dependency>,
    /// Which of `init`, [`EVENT_CALLBACKS`], `snapshot` and `take_over` it defines.
    pub(crate) callbacks: Callbacks,
    /// The format its snapshots are written and read in (`snapshot_format`; default
    /// `python:<Class>`): a class that writes another plugin's format (`"sma-cross"`) hands
    /// state to that plugin in a swap, and takes it over from it.
    pub(crate) snapshot_format: String,
}

/// Which callbacks a class defines (one that is absent is not called at all).
#[derive(Clone, Copy, Debug, Default)]
#[allow(clippy::struct_excessive_bools)]
pub(crate) struct Callbacks {
    pub(crate) init: bool,
    pub(crate) on_bar: bool,
    pub(crate) on_trade: bool,
    pub(crate) on_quote: bool,
    pub(crate) on_fill: bool,
    pub(crate) on_order_update: bool,
    pub(crate) snapshot: bool,
    pub(crate) take_over: bool,
    pub(crate) check: bool,
    pub(crate) review: bool,
}

impl Declared {
    /// Reads `class`'s declarations, as a class for `role`.
    ///
    /// # Errors
    /// An attribute of the wrong shape, an unknown capability or indicator spec, or the callbacks
    /// of its role missing (a strategy: every event callback; a validator: `check`), each said in
    /// words.
    pub(crate) fn read(class: &Bound<'_, PyAny>, role: Role) -> Result<Declared, String> {
        // A default of the package's `tradsys.Strategy` is marked as one: not called at all.
        let has = |name: &str| {
            class
                .getattr(name)
                .is_ok_and(|value| value.is_callable() && !value.hasattr("__tradsys_no_op__").unwrap_or(false))
        };
        let callbacks = Callbacks {
            init: has("init"),
            on_bar: has("on_bar"),
            on_trade: has("on_trade"),
            on_quote: has("on_quote"),
            on_fill: has("on_fill"),
            on_order_update: has("on_order_update"),
            snapshot: has("snapshot"),
            take_over: has("take_over"),
            check: has("check"),
            review: has("review"),
        };
        match role {
            Role::Strategy if !EVENT_CALLBACKS.iter().any(|name| has(name)) => {
                return Err(format!("defines none of the callbacks {}", EVENT_CALLBACKS.join(", ")));
            }
            Role::Validator if !callbacks.check => {
                return Err("defines no check(order, view): a risk validator's callback".to_owned());
            }
            Role::Strategy | Role::Validator => {}
        }
        let snapshot_format =
            match attribute(class, "snapshot_format") {
                None => format!(
                    "python:{}",
                    class.getattr("__name__").and_then(|name| name.extract::<String>()).unwrap_or_default()
                ),
                Some(value) => value.extract::<String>().ok().filter(|format| !format.is_empty()).ok_or_else(|| {
                    format!("snapshot_format must be a plugin's name (a string), got {}", repr(&value))
                })?,
            };
        Ok(Declared {
            snapshot_format,
            params: params(class)?,
            capabilities: capabilities(class)?,
            indicators: indicators(class)?,
            callbacks,
        })
    }
}

/// `params = {"name": default, ...}`.
fn params(class: &Bound<'_, PyAny>) -> Result<BTreeMap<String, (ValueKind, Py<PyAny>)>, String> {
    let Some(value) = attribute(class, "params") else { return Ok(BTreeMap::new()) };
    let dict = value
        .cast::<PyDict>()
        .map_err(|_| format!("params must be a dict of parameter names to defaults, got {}", repr(&value)))?;
    let mut params = BTreeMap::new();
    for (name, default) in dict.iter() {
        let name: String =
            name.extract().map_err(|_| format!("params: a parameter's name must be a string, got {}", repr(&name)))?;
        let kind = ValueKind::of(&default).ok_or_else(|| {
            format!("params.{name}: a default must be a bool, int, float, str, list or dict, got {}", repr(&default))
        })?;
        params.insert(name, (kind, default.unbind()));
    }
    Ok(params)
}

/// `capabilities = ["submit-orders", ...]`.
fn capabilities(class: &Bound<'_, PyAny>) -> Result<Capabilities, String> {
    let mut declared = Vec::new();
    for item in strings(class, "capabilities")? {
        declared.push(item.parse::<Capability>().map_err(|error| format!("capabilities: {error}"))?);
    }
    Ok(Capabilities::of(&declared))
}

/// `indicators = ["sma", "ema@^1"]`.
fn indicators(class: &Bound<'_, PyAny>) -> Result<Vec<Dependency>, String> {
    strings(class, "indicators")?
        .into_iter()
        .map(|item| {
            let (name, req) = item.split_once('@').unwrap_or((&item, "*"));
            if !tradsys_core::registry::is_kebab_case(name) || semver::VersionReq::parse(req).is_err() {
                return Err(format!(
                    "indicators: expected an indicator plugin's name, or name@requirement (sma, sma@^1), got {item:?}"
                ));
            }
            Ok(Dependency { kind: Kind::Indicator, name: Cow::Owned(name.to_owned()), req: Cow::Owned(req.to_owned()) })
        })
        .collect()
}

/// A class attribute that is a list (or tuple) of strings; absent is empty.
fn strings(class: &Bound<'_, PyAny>, name: &str) -> Result<Vec<String>, String> {
    let Some(value) = attribute(class, name) else { return Ok(Vec::new()) };
    let shape = || format!("{name} must be a list of strings, got {}", repr(&value));
    if !value.is_instance_of::<PyList>() && !value.is_instance_of::<PyTuple>() {
        return Err(shape());
    }
    value.extract::<Vec<String>>().map_err(|_| shape())
}

/// A class attribute, `None` when absent or `None`.
fn attribute<'py>(class: &Bound<'py, PyAny>, name: &str) -> Option<Bound<'py, PyAny>> {
    class.getattr(name).ok().filter(|value| !value.is_none())
}

/// The class's parameters with the config's `args` applied: each must be declared and of the
/// declared type (an integer is accepted for a float).
///
/// # Errors
/// An undeclared name (with the closest declared one) or a value of another type.
pub(crate) fn apply_args<'py>(
    py: Python<'py>,
    declared: &Declared,
    label: &str,
    args: &BTreeMap<String, toml::Value>,
) -> Result<Bound<'py, PyDict>, String> {
    let dict = PyDict::new(py);
    for (name, (_, default)) in &declared.params {
        dict.set_item(name, default.bind(py)).map_err(|error| error.to_string())?;
    }
    for (name, value) in args {
        let Some((kind, default)) = declared.params.get(name) else {
            let names: Vec<&str> = declared.params.keys().map(String::as_str).collect();
            let hint = tradsys_core::suggest::did_you_mean(name, names.iter().copied());
            let listed = tradsys_core::suggest::list_or_none(&names);
            return Err(format!("args.{name}: {label} declares no parameter {name}{hint}; it declares {listed}"));
        };
        let converted = kind.accept(py, value).ok_or_else(|| {
            format!(
                "args.{name}: {label} declares {name} as {} (default {}), got {}",
                kind.describe(),
                repr(default.bind(py)),
                describe_toml(value)
            )
        })?;
        dict.set_item(name, converted).map_err(|error| error.to_string())?;
    }
    Ok(dict)
}

/// A config value for a message: its type and text.
fn describe_toml(value: &toml::Value) -> String {
    format!("{} {value}", value.type_str())
}
