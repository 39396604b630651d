//! What crosses the boundary in a swap (plugin API 1.1): a module's snapshot, and the handover a
//! module's `take_over` reads. Both are `key=value` lines, each value a TOML value (`10`, `1.5`,
//! `"text"`, `[1.5, 2.5]`, `true`), so the guest SDK reads and writes them without a TOML parser
//! and a module's snapshot is the same [`StrategySnapshot`] a native strategy gives: a module can
//! write `sma-cross`'s format and a native `sma-cross` continue from it, and back.
//!
//! A snapshot: `plugin=NAME` first, then one line per top-level key of the state. A handover:
//! `predecessor=NAME@VERSION`, then `snapshot.plugin=NAME` and `snapshot.KEY=VALUE` lines when the
//! predecessor gave one, then `inherited=[ID, ...]` (the ids of the open orders the module inherits,
//! which it may cancel and whose updates and fills it receives from then on).

use std::fmt::Write as _;

use figment::value::Value;
use tradsys_core::component::{Handover, StrategySnapshot};
use tradsys_core::plugin::Dict;

/// The longest snapshot a module may give.
pub const MAX_SNAPSHOT: usize = 64 * 1024;

/// The handover as the guest reads it.
///
/// # Errors
/// A snapshot value that has no TOML form (a null inside a list, say).
pub fn to_text(handover: &Handover<'_>) -> Result<String, String> {
    let mut text = format!("predecessor={}\n", handover.predecessor);
    if let Some(snapshot) = handover.snapshot {
        let _ = writeln!(text, "snapshot.plugin={}", snapshot.plugin);
        // An absent optional (`None`) is left out: the guest reads a missing key as none.
        for (key, value) in snapshot.state.iter().filter(|(_, value)| !matches!(value, Value::Empty(..))) {
            let value = toml::Value::try_from(value)
                .map_err(|e| format!("the predecessor's snapshot key {key} has no TOML form: {e}"))?;
            let _ = writeln!(text, "snapshot.{key}={value}");
        }
    }
    let ids: Vec<String> = handover.inherited.iter().map(|order| order.id.0.to_string()).collect();
    let _ = writeln!(text, "inherited=[{}]", ids.join(", "));
    Ok(text)
}

/// A module's snapshot from its text.
///
/// # Errors
/// No `plugin=` first line, a line without `=`, a key given twice, or a value that is not TOML.
pub fn snapshot_from_text(text: &str) -> Result<StrategySnapshot, String> {
    let mut lines = text.lines().filter(|line| !line.trim().is_empty());
    let plugin = lines
        .next()
        .and_then(|line| line.strip_prefix("plugin="))
        .filter(|name| !name.is_empty())
        .ok_or("a snapshot starts with a plugin=NAME line")?;
    let mut document = String::new();
    let mut seen = std::collections::BTreeSet::new();
    for line in lines {
        let (key, value) = line.split_once('=').ok_or_else(|| format!("snapshot line {line:?}: expected key=value"))?;
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
            return Err(format!("snapshot key {key:?}: expected letters, digits, _ or -"));
        }
        if !seen.insert(key) {
            return Err(format!("snapshot key {key} given twice"));
        }
        let _ = writeln!(document, "{key} = {value}");
    }
    let state: Dict = toml::from_str(&document).map_err(|e| format!("snapshot: {}", e.message()))?;
    Ok(StrategySnapshot { plugin: plugin.to_owned(), state })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_round_trips_through_the_handover_text() {
        let snapshot =
            snapshot_from_text("plugin=sma-cross\nfast=10\nslow=30\nprevious=[1.5, 2.0000000000000004]\n").unwrap();
        assert_eq!(snapshot.plugin, "sma-cross");
        let handover = Handover { predecessor: "wasm-sma-cross@1.1.0", snapshot: Some(&snapshot), inherited: &[] };
        let text = to_text(&handover).unwrap();
        assert!(text.starts_with("predecessor=wasm-sma-cross@1.1.0\nsnapshot.plugin=sma-cross\n"), "{text}");
        assert!(text.contains("snapshot.previous=[1.5, 2.0000000000000004]\n"), "floats exactly: {text}");
        assert!(text.ends_with("inherited=[]\n"), "{text}");
        // The handover's snapshot lines read back as the same snapshot.
        let back: String = std::iter::once("plugin=sma-cross".to_owned())
            .chain(
                text.lines()
                    .filter_map(|l| l.strip_prefix("snapshot."))
                    .filter(|l| !l.starts_with("plugin="))
                    .map(str::to_owned),
            )
            .collect::<Vec<_>>()
            .join("\n");
        assert_eq!(snapshot_from_text(&back).unwrap(), snapshot);
    }

    #[test]
    fn a_native_snapshot_without_averages_and_inherited_orders_reach_the_guest() {
        use tradsys_core::component::{ClientOrderId, OpenOrder};
        use tradsys_core::types::{InstrumentId, Price, Qty, Side};

        #[derive(serde::Serialize)]
        struct Memory {
            fast: u32,
            previous: Option<(f64, f64)>,
        }
        let snapshot = StrategySnapshot::new("sma-cross", &Memory { fast: 5, previous: None }).unwrap();
        let exit = |id| OpenOrder {
            id: ClientOrderId(id),
            instrument: InstrumentId(0),
            side: Side::Sell,
            price: Price::from_units(98),
            trigger: Some(Price::from_units(98)),
            remaining: Qty(1),
        };
        let inherited = [exit(7), exit(9)];
        let handover = Handover { predecessor: "sma-cross@1.0.0", snapshot: Some(&snapshot), inherited: &inherited };
        let text = to_text(&handover).unwrap();
        assert_eq!(
            text, "predecessor=sma-cross@1.0.0\nsnapshot.plugin=sma-cross\nsnapshot.fast=5\ninherited=[7, 9]\n",
            "a None is left out, not refused"
        );
    }

    #[test]
    fn a_malformed_snapshot_is_refused_naming_what_is_wrong() {
        for (text, expected) in [
            ("fast=1\n", "starts with a plugin=NAME line"),
            ("plugin=x\nfast\n", "expected key=value"),
            ("plugin=x\na b=1\n", "expected letters, digits"),
            ("plugin=x\nfast=1\nfast=2\n", "given twice"),
            ("plugin=x\nfast=[1,\n", "snapshot:"),
        ] {
            let error = snapshot_from_text(text).unwrap_err();
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }
}
