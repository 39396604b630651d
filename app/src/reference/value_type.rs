//! What a key's value is in a config file, read from the Rust type its struct declares: the
//! reference names it for people and turns it into JSON Schema for editors.

use figment::value::Value;
use serde_json::{Value as Json, json};
use tradsys_core::book::StpPolicy;
use tradsys_core::plugin::{Capability, Range};

/// A config value's type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ValueType {
    /// A whole number; `unsigned` when the Rust type cannot be negative.
    Integer {
        /// Whether negative numbers are refused by the type itself.
        unsigned: bool,
    },
    /// A floating-point number.
    Number,
    /// A fixed-point decimal (money, prices, lot sizes): a string such as `"0.01"`, or a number.
    Decimal,
    /// `true` or `false`.
    Boolean,
    /// Text.
    Text,
    /// A semver requirement such as `"^1"`.
    VersionReq,
    /// One of a fixed set of words.
    Choice(Vec<&'static str>),
    /// `"max"` or a positive number.
    Pace,
    /// An array of values of one type.
    Array(Box<ValueType>),
    /// A table (a plugin's `params`, or keys the user chooses).
    Table,
    /// Any value: a type this reference does not know, whose plugin checks it.
    Any,
}

/// The type of a key declared as `rust` (from `stringify!`), its default helping where the Rust
/// type is the plugin's own. Returns the type and whether the key may be left out with no default
/// (`Option<...>`).
pub(crate) fn of(rust: &str, default: Option<&Value>) -> (ValueType, bool) {
    let rust: String = rust.chars().filter(|c| !c.is_whitespace()).collect();
    match generic(&rust, "Option") {
        Some(inner) => (named(inner, None), true),
        None => (named(&rust, default), false),
    }
}

fn generic<'a>(rust: &'a str, name: &str) -> Option<&'a str> {
    rust.strip_prefix(name)?.strip_prefix('<')?.strip_suffix('>')
}

fn named(rust: &str, default: Option<&Value>) -> ValueType {
    if let Some(inner) = generic(rust, "Vec") {
        let element = match default {
            Some(Value::Array(_, items)) => items.first(),
            _ => None,
        };
        return ValueType::Array(Box::new(named(inner, element)));
    }
    if rust.starts_with("BTreeMap<") || rust == "Dict" {
        return ValueType::Table;
    }
    match rust.rsplit("::").next().unwrap_or(rust) {
        "u8" | "u16" | "u32" | "u64" | "usize" | "Period" => ValueType::Integer { unsigned: true },
        "i8" | "i16" | "i32" | "i64" | "isize" | "Qty" => ValueType::Integer { unsigned: false },
        "f32" | "f64" => ValueType::Number,
        "Money" | "Price" | "LotSize" => ValueType::Decimal,
        "bool" => ValueType::Boolean,
        "String" | "PathBuf" | "Arc<str>" => ValueType::Text,
        "VersionReq" => ValueType::VersionReq,
        "Pace" => ValueType::Pace,
        "StpPolicy" => ValueType::Choice(StpPolicy::ALL.iter().map(|policy| stp_name(*policy)).collect()),
        "Capability" => ValueType::Choice(Capability::ALL.iter().map(|c| c.as_str()).collect()),
        _ => default.map_or(ValueType::Any, of_value),
    }
}

fn stp_name(policy: StpPolicy) -> &'static str {
    match policy {
        StpPolicy::None => "none",
        StpPolicy::CancelTaker => "cancel-taker",
        StpPolicy::CancelMaker => "cancel-maker",
        StpPolicy::CancelBoth => "cancel-both",
    }
}

/// The type a default value shows, for the plugins' own types (an enum reads as text).
fn of_value(value: &Value) -> ValueType {
    match value {
        Value::String(..) | Value::Char(..) => ValueType::Text,
        Value::Bool(..) => ValueType::Boolean,
        Value::Num(_, number) if number.to_f64().is_some_and(|x| x.fract() != 0.0) => ValueType::Number,
        Value::Num(..) => ValueType::Integer { unsigned: false },
        Value::Array(_, items) => ValueType::Array(Box::new(items.first().map_or(ValueType::Any, of_value))),
        Value::Dict(..) => ValueType::Table,
        Value::Empty(..) => ValueType::Any,
    }
}

impl ValueType {
    /// The type as the Markdown reference names it.
    pub(crate) fn describe(&self) -> String {
        match self {
            ValueType::Integer { .. } => "integer".to_owned(),
            ValueType::Number => "number".to_owned(),
            ValueType::Decimal => "decimal".to_owned(),
            ValueType::Boolean => "boolean".to_owned(),
            ValueType::Text => "string".to_owned(),
            ValueType::VersionReq => "semver requirement".to_owned(),
            ValueType::Choice(words) => words.iter().map(|word| format!("`{word}`")).collect::<Vec<_>>().join(" \\| "),
            ValueType::Pace => "`\"max\"` or number".to_owned(),
            ValueType::Array(element) => format!("array of {}", element.describe()),
            ValueType::Table => "table".to_owned(),
            ValueType::Any => "any".to_owned(),
        }
    }

    /// The type as JSON Schema, with the documented range where there is one.
    pub(crate) fn schema(&self, range: Option<&Range>) -> Json {
        let mut schema = match self {
            ValueType::Integer { unsigned: true } => json!({"type": "integer", "minimum": 0}),
            ValueType::Integer { unsigned: false } => json!({"type": "integer"}),
            ValueType::Number => json!({"type": "number"}),
            // A decimal is written as a string (exact) or a number; the range binds the number.
            ValueType::Decimal => json!({"type": ["string", "number"], "pattern": "^-?[0-9]+(\\.[0-9]+)?$"}),
            ValueType::Boolean => json!({"type": "boolean"}),
            ValueType::Text | ValueType::VersionReq => json!({"type": "string"}),
            ValueType::Choice(words) => json!({"enum": words}),
            ValueType::Pace => json!({"anyOf": [{"const": "max"}, {"type": "number", "exclusiveMinimum": 0}]}),
            ValueType::Array(element) => json!({"type": "array", "items": element.schema(None)}),
            ValueType::Table => json!({"type": "object"}),
            ValueType::Any => json!({}),
        };
        if let (Some(range), Json::Object(object)) = (range, &mut schema) {
            if let Some(min) = range.min {
                // The documented bound replaces the type's own (an unsigned type's 0).
                object.remove("minimum");
                let key = if min.inclusive { "minimum" } else { "exclusiveMinimum" };
                object.insert(key.to_owned(), number(min.value));
            }
            if let Some(max) = range.max {
                let key = if max.inclusive { "maximum" } else { "exclusiveMaximum" };
                object.insert(key.to_owned(), number(max.value));
            }
        }
        schema
    }
}

/// A bound as JSON: an integer when it is whole, so that `1` is not written `1.0`.
fn number(value: f64) -> Json {
    if value.fract() == 0.0 && value.abs() < 9.0e15 {
        // In range and whole: the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        Json::from(value as i64)
    } else {
        Json::from(value)
    }
}

#[cfg(test)]
mod tests {
    use super::{ValueType, of};

    #[test]
    fn rust_types_read_as_config_types() {
        let cases: &[(&str, ValueType, bool)] = &[
            ("u64", ValueType::Integer { unsigned: true }, false),
            ("Option < u64 >", ValueType::Integer { unsigned: true }, true),
            ("Period", ValueType::Integer { unsigned: true }, false),
            ("i64", ValueType::Integer { unsigned: false }, false),
            ("Option<Price>", ValueType::Decimal, true),
            ("crate::types::Money", ValueType::Decimal, false),
            ("Vec<String>", ValueType::Array(Box::new(ValueType::Text)), false),
            ("Option<Vec<crate::capability::Capability>>", ValueType::Array(Box::new(ValueType::Choice(vec![]))), true),
            ("BTreeMap<String, Budget>", ValueType::Table, false),
            ("Profile", ValueType::Any, false),
        ];
        for (rust, expected, optional) in cases {
            let (found, found_optional) = of(rust, None);
            let same = match (&found, expected) {
                (ValueType::Array(a), ValueType::Array(b)) => {
                    std::mem::discriminant(&**a) == std::mem::discriminant(&**b)
                }
                _ => found == *expected,
            };
            assert!(same, "{rust}: {found:?}");
            assert_eq!(found_optional, *optional, "{rust}");
        }
        let default = figment::value::Value::from("auto");
        assert_eq!(of("EpochUnit", Some(&default)).0, ValueType::Text);
    }

    #[test]
    fn ranges_become_bounds() {
        let doc = tradsys_core::plugin::ParamDoc {
            name: "p".into(),
            ty: "i64".into(),
            doc: "Lots.\nRange: > 0, <= 1000\n".into(),
        };
        let range = doc.range().unwrap();
        let schema = ValueType::Integer { unsigned: true }.schema(range.as_ref());
        assert_eq!(schema, serde_json::json!({"type": "integer", "exclusiveMinimum": 0, "maximum": 1000}));
    }
}
