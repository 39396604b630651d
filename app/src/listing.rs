//! `tradsys plugins`: what this binary can run.

use std::fmt::Write as _;

use serde_json::{Value, json};
use tradsys_core::config::render_value;
use tradsys_core::plugin::Kind;
use tradsys_core::registry::{RegisteredComponent, Registry};

use crate::cli::{Format, PluginsArgs};
use crate::failure::{BadInput, Failure};
use crate::plugins::feature_of_crate;

/// Prints the compiled-in components.
///
/// # Errors
/// An unknown `--kind`.
pub fn list(args: &PluginsArgs, registry: &Registry) -> Result<String, Failure> {
    let kind: Option<Kind> =
        args.kind.as_deref().map(str::parse).transpose().map_err(anyhow::Error::msg).bad_input()?;
    let components: Vec<&RegisteredComponent> =
        registry.iter().filter(|c| kind.is_none_or(|k| c.descriptor.kind == k)).collect();
    Ok(match args.format {
        Format::Json => {
            let items: Vec<Value> = components.iter().map(|c| component_json(c)).collect();
            serde_json::to_string_pretty(&items).unwrap_or_default() + "\n"
        }
        Format::Table => table(&components),
    })
}

/// One component as JSON.
#[must_use]
pub fn component_json(component: &RegisteredComponent) -> Value {
    let d = &component.descriptor;
    json!({
        "name": d.name,
        "kind": d.kind,
        "version": component.version.to_string(),
        "api_version": d.api_version,
        "crate": d.crate_name,
        "feature": feature_of_crate(&d.crate_name),
        "origin": component.origin.describe(),
        "digest": component.digest,
        "summary": d.summary,
        "dependencies": d.dependencies.iter().map(|dep| json!({"kind": dep.kind, "name": dep.name, "req": dep.req})).collect::<Vec<_>>(),
        "capabilities": d.capabilities.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "params": d.defaults().ok().and_then(|p| serde_json::to_value(p).ok()).unwrap_or(Value::Null),
        "param_docs": d.param_docs.iter().map(|doc| (doc.name.to_string(), Value::from(doc.text()))).collect::<serde_json::Map<_, _>>(),
        "param_ranges": d.param_docs.iter().filter_map(|doc| Some((doc.name.to_string(), Value::from(doc.range_text()?)))).collect::<serde_json::Map<_, _>>(),
        "file_params": &*d.file_params,
    })
}

fn table(components: &[&RegisteredComponent]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{:<10} {:<16} {:<8} {:<6} {:<24} SUMMARY", "KIND", "NAME", "VERSION", "API", "FEATURE");
    for component in components {
        let d = &component.descriptor;
        let _ = writeln!(
            out,
            "{:<10} {:<16} {:<8} {:<6} {:<24} {}",
            d.kind.as_str(),
            d.name,
            component.version.to_string(),
            d.api_version,
            feature_of_crate(&d.crate_name).unwrap_or(&d.crate_name),
            d.summary
        );
        if !d.dependencies.is_empty() {
            let deps: Vec<String> =
                d.dependencies.iter().map(|dep| format!("{} {} {}", dep.kind, dep.name, dep.req)).collect();
            let _ = writeln!(out, "{:11}depends on: {}", "", deps.join(", "));
        }
        if !d.capabilities.is_empty() {
            let caps: Vec<&str> = d.capabilities.iter().map(|c| c.as_str()).collect();
            let _ = writeln!(out, "{:11}capabilities: {}", "", caps.join(", "));
        }
        if let Ok(params) = d.defaults()
            && !params.is_empty()
        {
            // Each parameter with its default and, where the plugin documents it, its meaning.
            let _ = writeln!(out, "{:11}params:", "");
            let settings: Vec<String> = params.iter().map(|(k, v)| format!("{k} = {}", render_value(v))).collect();
            let width = settings.iter().map(String::len).max().unwrap_or(0).min(32);
            for ((key, _), setting) in params.iter().zip(&settings) {
                match d.param_docs.iter().find(|doc| doc.name == key.as_str()) {
                    Some(doc) => {
                        let range = doc.range_text().map(|range| format!(" (range: {range})")).unwrap_or_default();
                        let _ = writeln!(out, "{:13}{setting:<width$}  {}{range}", "", doc.text());
                    }
                    None => {
                        let _ = writeln!(out, "{:13}{setting}", "");
                    }
                }
            }
        }
        let _ = writeln!(
            out,
            "{:11}origin: {}, digest {}",
            "",
            component.origin.describe(),
            component.digest.as_deref().unwrap_or("unknown")
        );
        if !d.file_params.is_empty() {
            let _ = writeln!(
                out,
                "{:11}input files: {} (relative to the config file's directory)",
                "",
                d.file_params.join(", ")
            );
        }
    }
    if components.is_empty() {
        out.push_str("(no components)\n");
    }
    out
}
