//! A module's parameters: checked against its manifest's defaults (same keys, same types), and
//! handed to the guest as `key=value` lines, which the guest SDK reads without a parser of its own.
//!
//! Values are integers, floats, booleans and single-line strings, as the defaults are.

use figment::value::{Num, Value};
use tradsys_core::plugin::{Dict, ParamError};

/// The type of one parameter, as its default has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Type {
    Integer,
    Float,
    Bool,
    Text,
}

/// The Rust type a parameter with default `value` reads as (what a native plugin's parameter
/// documentation gives as its type): `i64`, `f64`, `bool` or `String`.
pub fn type_name_of_default(value: &toml::Value) -> &'static str {
    match type_of_default(value) {
        Some(Type::Integer) => "i64",
        Some(Type::Float) => "f64",
        Some(Type::Bool) => "bool",
        Some(Type::Text) | None => "String",
    }
}

fn type_of_default(value: &toml::Value) -> Option<Type> {
    Some(match value {
        toml::Value::Integer(_) => Type::Integer,
        toml::Value::Float(_) => Type::Float,
        toml::Value::Boolean(_) => Type::Bool,
        toml::Value::String(text) if !text.contains(['\n', '\r']) => Type::Text,
        _ => return None,
    })
}

/// The defaults, as a table the config's parameters merge into.
///
/// # Errors
/// A default that is not an integer, float, boolean or single-line string.
pub fn defaults(params: &toml::Table) -> Result<Dict, ParamError> {
    let mut dict = Dict::new();
    for (key, value) in params {
        let converted = match value {
            toml::Value::Integer(i) => Value::from(*i),
            toml::Value::Float(f) => Value::from(*f),
            toml::Value::Boolean(b) => Value::from(*b),
            toml::Value::String(s) if type_of_default(value).is_some() => Value::from(s.clone()),
            _ => {
                return Err(ParamError::NotATable(format!(
                    "manifest parameter {key}: expected an integer, float, boolean or single-line string"
                )));
            }
        };
        dict.insert(key.clone(), converted);
    }
    Ok(dict)
}

/// The defaults overridden by `given`, checked: no unknown key, each value of its default's type.
///
/// # Errors
/// The first unknown key or ill-typed value.
pub fn merge(defaults: &toml::Table, given: &Dict) -> Result<Vec<(String, String)>, ParamError> {
    let mut merged: Vec<(String, String)> = Vec::new();
    for (key, default) in defaults {
        let Some(kind) = type_of_default(default) else {
            return Err(ParamError::NotATable(format!("manifest parameter {key} has an unusable default")));
        };
        let rendered = match given.get(key) {
            None => render_default(default),
            Some(value) => render(key, kind, value)?,
        };
        merged.push((key.clone(), rendered));
    }
    if let Some(key) = given.keys().find(|k| !defaults.contains_key(*k)) {
        let expected: Vec<&str> = defaults.keys().map(String::as_str).collect();
        return Err(ParamError::UnknownKey {
            key: key.clone(),
            suggestion: tradsys_core::suggest::did_you_mean(key, expected.iter().copied()),
            expected: tradsys_core::suggest::list_or_none(&expected),
        });
    }
    Ok(merged)
}

fn render_default(value: &toml::Value) -> String {
    match value {
        toml::Value::String(text) => text.clone(),
        toml::Value::Float(f) => format!("{f:?}"),
        other => other.to_string(),
    }
}

fn render(key: &str, kind: Type, value: &Value) -> Result<String, ParamError> {
    let invalid = |expected: &str| ParamError::Invalid {
        key: key.to_owned(),
        message: format!("expected {expected}, got {}", tradsys_core::config::render_value(value)),
    };
    match (kind, value) {
        (Type::Integer, Value::Num(_, num)) => {
            integer(*num).map(|i| i.to_string()).ok_or_else(|| invalid("an integer"))
        }
        (Type::Float, Value::Num(_, num)) => Ok(format!("{:?}", float(*num))),
        (Type::Bool, Value::Bool(_, b)) => Ok(b.to_string()),
        (Type::Text, Value::String(_, text)) if !text.contains(['\n', '\r']) => Ok(text.clone()),
        (Type::Integer, _) => Err(invalid("an integer")),
        (Type::Float, _) => Err(invalid("a number")),
        (Type::Bool, _) => Err(invalid("true or false")),
        (Type::Text, _) => Err(invalid("a single-line string")),
    }
}

/// An integer that fits an `i64` (a float with no fraction counts: JSON bodies may carry `5.0`).
fn integer(num: Num) -> Option<i64> {
    match num {
        Num::U8(n) => Some(i64::from(n)),
        Num::U16(n) => Some(i64::from(n)),
        Num::U32(n) => Some(i64::from(n)),
        Num::U64(n) => i64::try_from(n).ok(),
        Num::U128(n) => i64::try_from(n).ok(),
        Num::USize(n) => i64::try_from(n).ok(),
        Num::I8(n) => Some(i64::from(n)),
        Num::I16(n) => Some(i64::from(n)),
        Num::I32(n) => Some(i64::from(n)),
        Num::I64(n) => Some(n),
        Num::I128(n) => i64::try_from(n).ok(),
        Num::ISize(n) => i64::try_from(n).ok(),
        Num::F32(f) => integer(Num::F64(f64::from(f))),
        // The range check keeps the cast exact: every integral f64 inside it is an i64.
        #[allow(clippy::cast_possible_truncation)]
        Num::F64(f) => (f.fract() == 0.0 && f.abs() < 9.0e18).then_some(f as i64),
    }
}

/// Any number, as a float.
#[allow(clippy::cast_precision_loss)]
fn float(num: Num) -> f64 {
    match num {
        Num::F32(f) => f64::from(f),
        Num::F64(f) => f,
        Num::U128(n) => n as f64,
        Num::I128(n) => n as f64,
        other => integer(other).map_or(f64::NAN, |n| n as f64),
    }
}

/// The guest's text: one `key=value` line per parameter.
#[must_use]
pub fn to_text(merged: &[(String, String)]) -> String {
    let mut text = String::new();
    for (key, value) in merged {
        text.push_str(key);
        text.push('=');
        text.push_str(value);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults_table() -> toml::Table {
        toml::from_str("fast = 10\nk = 2.0\nsymbol = \"\"\nstrict = false\n").unwrap()
    }

    #[test]
    fn given_values_override_defaults_checked_by_type() {
        let mut given = Dict::new();
        given.insert("fast".to_owned(), Value::from(5));
        given.insert("k".to_owned(), Value::from(3));
        let merged = merge(&defaults_table(), &given).unwrap();
        assert_eq!(to_text(&merged), "fast=5\nk=3.0\nstrict=false\nsymbol=\n");
        given.insert("fast".to_owned(), Value::from(5_u64));
        assert_eq!(to_text(&merge(&defaults_table(), &given).unwrap()), "fast=5\nk=3.0\nstrict=false\nsymbol=\n");
        given.insert("fast".to_owned(), Value::from(2.5));
        assert!(
            merge(&defaults_table(), &given)
                .unwrap_err()
                .to_string()
                .contains("parameter fast: expected an integer, got 2.5")
        );
        given.insert("fast".to_owned(), Value::from("five"));
        assert!(
            merge(&defaults_table(), &given).unwrap_err().to_string().contains("parameter fast: expected an integer")
        );
        let mut unknown = Dict::new();
        unknown.insert("fats".to_owned(), Value::from(1));
        assert!(merge(&defaults_table(), &unknown).unwrap_err().to_string().contains("did you mean \"fast\"?"));
    }
}
