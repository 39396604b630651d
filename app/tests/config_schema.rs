//! `tradsys config schema`: the committed reference is what the binary generates, and the JSON
//! Schema agrees with `tradsys config check` on real and broken configs.

mod support;

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Format, Toml};
use serde_json::Value;
use support::{dir, text, tradsys};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn generated(format: &str) -> String {
    let output = tradsys(&workspace(), &["config", "schema", "--format", format]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    text(&output.stdout)
}

#[test]
fn the_committed_reference_is_what_the_binary_generates() {
    for (format, file) in [("markdown", "docs/config-reference.md"), ("json-schema", "docs/config.schema.json")] {
        let committed = std::fs::read_to_string(workspace().join(file)).unwrap_or_default();
        assert!(
            committed == generated(format),
            "{file} differs from what the binary generates; regenerate it with\n  \
             cargo run -p tradsys --features full -- config schema --format {format} > {file}"
        );
    }
}

#[test]
fn the_reference_names_every_section_and_documented_parameter() {
    let markdown = generated("markdown");
    for needle in [
        "### `[session]`",
        "### `[strategies.<id>]`",
        "### `[alerts.risk.<id>]`",
        "### `[security]`",
        "#### sma-cross 1.0.0",
        "| `slow` | integer | `30` | >= 1, <= 1_000_000 | Slow SMA period",
        "| `leverage` | decimal | `\"1\"` | > 0, <= 1000 |",
        "#### max-order-qty 1.0.0",
    ] {
        assert!(markdown.contains(needle), "missing {needle:?}");
    }
    assert!(!markdown.contains("faulty"), "test-only plugins are left out");
}

/// The config file at `path`, as JSON.
fn config_json(path: &Path) -> Value {
    Figment::from(Toml::file_exact(path)).extract().unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn every_shipped_config_validates_against_the_schema() {
    let schema: Value = serde_json::from_str(&generated("json-schema")).unwrap();
    let root = workspace();
    let mut configs: Vec<PathBuf> = vec![root.join("app/src/default.toml")];
    for folder in ["examples", "plugins"] {
        for entry in walk(&root.join(folder)) {
            if entry.extension().is_some_and(|ext| ext == "toml")
                && !entry.ends_with("Cargo.toml")
                && std::fs::read_to_string(&entry).is_ok_and(|body| body.contains("[feed]"))
            {
                configs.push(entry);
            }
        }
    }
    assert!(configs.len() >= 7, "{configs:?}");
    for config in &configs {
        let errors = validate(&schema, &schema, &config_json(config), "");
        assert!(errors.is_empty(), "{}: {errors:?}", config.display());
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found.sort();
    found
}

#[test]
fn the_schema_and_config_check_refuse_the_same_mistakes() {
    let schema: Value = serde_json::from_str(&generated("json-schema")).unwrap();
    let scratch = dir("config-schema");
    let base = "[feed]\nplugin = \"synthetic\"\nparams = { count = 10 }\n";
    // Each case: a config, the key path the schema blames.
    let cases = [
        ("[session]\nseeed = 1\n", "/session"),
        ("[session]\nseed = \"x\"\n", "/session/seed"),
        ("[session]\nleverage = 2000\n", "/session/leverage"),
        ("[session.commission]\npercent = 100\n", "/session/commission/percent"),
        ("[matching]\nstp = \"cancel-all\"\n", "/matching/stp"),
        ("[strategies.t]\nplugin = \"sma-cross\"\nparams = { fast = 0 }\n", "/strategies/t/params/fast"),
        ("[strategies.t]\nplugin = \"sma-cross\"\nparams = { fats = 5 }\n", "/strategies/t/params"),
        ("[risk.r]\nplugin = \"max-order-qty\"\nparams = { max_qty = 0 }\n", "/risk/r/params/max_qty"),
        ("[alerts.all]\nerror_rate = 1.5\n", "/alerts/all/error_rate"),
        ("[security]\nmodule_memory_mib = 0\n", "/security/module_memory_mib"),
    ];
    for (i, (extra, blamed)) in cases.iter().enumerate() {
        let path = scratch.join(format!("bad-{i}.toml"));
        std::fs::write(&path, format!("{base}{extra}")).unwrap();
        let errors = validate(&schema, &schema, &config_json(&path), "");
        assert!(errors.iter().any(|error| error.starts_with(blamed)), "{extra}: the schema said {errors:?}");
        let check = tradsys(&scratch, &["config", "check", path.to_str().unwrap()]);
        assert_eq!(check.status.code(), Some(2), "{extra}: config check accepted it: {}", text(&check.stdout));
    }
    // And the base itself is good for both.
    let good = scratch.join("good.toml");
    std::fs::write(&good, base).unwrap();
    assert_eq!(validate(&schema, &schema, &config_json(&good), ""), Vec::<String>::new());
    assert!(tradsys(&scratch, &["config", "check", good.to_str().unwrap()]).status.success());
}

/// A validator for the part of JSON Schema the generated schema uses (type, properties,
/// additionalProperties, enum, const, bounds, items, allOf, anyOf, if/then, required, local
/// `$ref`); `pattern` is not checked. Returns one line per error, starting with its path.
fn validate(root: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if let Some(reference) = schema["$ref"].as_str() {
        let target = reference.strip_prefix("#/").unwrap().split('/').fold(root, |node, part| &node[part]);
        return validate(root, target, value, at);
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let is = |ty: &str| match ty {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "boolean" => value.is_boolean(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            _ => false,
        };
        if !types.iter().any(|ty| is(ty)) {
            errors.push(format!("{at}: {value} is not {types:?}"));
            return errors;
        }
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {options:?}"));
    }
    if let Some(expected) = schema.get("const")
        && expected != value
    {
        errors.push(format!("{at}: {value} is not {expected}"));
    }
    if let Some(number) = value.as_f64() {
        let bounds = [
            ("minimum", number >= schema["minimum"].as_f64().unwrap_or(f64::MIN)),
            ("exclusiveMinimum", number > schema["exclusiveMinimum"].as_f64().unwrap_or(f64::MIN)),
            ("maximum", number <= schema["maximum"].as_f64().unwrap_or(f64::MAX)),
            ("exclusiveMaximum", number < schema["exclusiveMaximum"].as_f64().unwrap_or(f64::MAX)),
        ];
        for (bound, within) in bounds {
            if !within {
                errors.push(format!("{at}: {number} is outside {bound} {}", schema[bound]));
            }
        }
    }
    if let Value::Object(object) = value {
        for key in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !object.contains_key(key) {
                errors.push(format!("{at}: {key} is required"));
            }
        }
        for (key, item) in object {
            let path = format!("{at}/{key}");
            match (schema["properties"].get(key), schema.get("additionalProperties")) {
                (Some(property), _) => errors.extend(validate(root, property, item, &path)),
                (None, Some(Value::Bool(false))) => errors.push(format!("{at}: unknown key {key}")),
                (None, Some(additional)) if additional.is_object() => {
                    errors.extend(validate(root, additional, item, &path));
                }
                _ => {}
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            errors.extend(validate(root, item_schema, item, &format!("{at}/{i}")));
        }
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        errors.extend(validate(root, part, value, at));
    }
    if let Some(options) = schema["anyOf"].as_array()
        && !options.iter().any(|option| validate(root, option, value, at).is_empty())
    {
        errors.push(format!("{at}: {value} matches none of anyOf"));
    }
    if let (Some(condition), Some(then)) = (schema.get("if"), schema.get("then"))
        && validate(root, condition, value, at).is_empty()
    {
        errors.extend(validate(root, then, value, at));
    }
    errors
}
