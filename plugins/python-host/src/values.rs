//! Values crossing between config (TOML) and Python: a class's parameters, and the parameters a
//! class passes to the indicators it builds.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// The type of a declared parameter, as its default shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    Int,
    Float,
    Str,
    List,
    Dict,
}

impl Kind {
    /// The kind of a default value, if it is one a config can give.
    pub(crate) fn of(value: &Bound<'_, PyAny>) -> Option<Kind> {
        // `bool` is a subclass of `int` in Python: ask it first.
        if value.is_instance_of::<PyBool>() {
            Some(Kind::Bool)
        } else if value.is_instance_of::<PyInt>() {
            Some(Kind::Int)
        } else if value.is_instance_of::<PyFloat>() {
            Some(Kind::Float)
        } else if value.is_instance_of::<PyString>() {
            Some(Kind::Str)
        } else if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
            Some(Kind::List)
        } else if value.is_instance_of::<PyDict>() {
            Some(Kind::Dict)
        } else {
            None
        }
    }

    /// The kind in a message.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Kind::Bool => "a boolean",
            Kind::Int => "an integer",
            Kind::Float => "a float",
            Kind::Str => "a string",
            Kind::List => "a list",
            Kind::Dict => "a table",
        }
    }

    /// `value` as a Python value of this kind, if it is one (an integer is a float's too).
    pub(crate) fn accept<'py>(self, py: Python<'py>, value: &toml::Value) -> Option<Bound<'py, PyAny>> {
        let fits = matches!(
            (self, value),
            (Kind::Bool, toml::Value::Boolean(_))
                | (Kind::Int, toml::Value::Integer(_))
                | (Kind::Float, toml::Value::Float(_) | toml::Value::Integer(_))
                | (Kind::Str, toml::Value::String(_))
                | (Kind::List, toml::Value::Array(_))
                | (Kind::Dict, toml::Value::Table(_))
        );
        if !fits {
            return None;
        }
        if let (Kind::Float, toml::Value::Integer(integer)) = (self, value) {
            #[allow(clippy::cast_precision_loss)]
            return Some(PyFloat::new(py, *integer as f64).into_any());
        }
        from_toml(py, value).ok()
    }
}

/// A TOML value as Python's: tables as dicts, arrays as lists, datetimes as their text.
pub(crate) fn from_toml<'py>(py: Python<'py>, value: &toml::Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        toml::Value::String(text) => PyString::new(py, text).into_any(),
        toml::Value::Integer(integer) => integer.into_pyobject(py)?.into_any(),
        toml::Value::Float(float) => PyFloat::new(py, *float).into_any(),
        toml::Value::Boolean(flag) => PyBool::new(py, *flag).to_owned().into_any(),
        toml::Value::Datetime(datetime) => PyString::new(py, &datetime.to_string()).into_any(),
        toml::Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(from_toml(py, item)?)?;
            }
            list.into_any()
        }
        toml::Value::Table(table) => {
            let dict = PyDict::new(py);
            for (key, item) in table {
                dict.set_item(key, from_toml(py, item)?)?;
            }
            dict.into_any()
        }
    })
}

/// A Python value as TOML's, for parameters handed to Rust (an indicator's): `None` if it is not
/// a bool, int, float, str, list, tuple or dict with string keys.
pub(crate) fn to_toml(value: &Bound<'_, PyAny>) -> Option<toml::Value> {
    Some(match Kind::of(value)? {
        Kind::Bool => toml::Value::Boolean(value.extract().ok()?),
        Kind::Int => toml::Value::Integer(value.extract().ok()?),
        Kind::Float => toml::Value::Float(value.extract().ok()?),
        Kind::Str => toml::Value::String(value.extract().ok()?),
        Kind::List => {
            let mut items = Vec::new();
            for item in value.try_iter().ok()? {
                items.push(to_toml(&item.ok()?)?);
            }
            toml::Value::Array(items)
        }
        Kind::Dict => {
            let mut table = toml::Table::new();
            for (key, item) in value.cast::<PyDict>().ok()?.iter() {
                table.insert(key.extract().ok()?, to_toml(&item)?);
            }
            toml::Value::Table(table)
        }
    })
}
