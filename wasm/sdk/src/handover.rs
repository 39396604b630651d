//! Swaps (plugin API 1.1): what a strategy hands its successor ([`Snapshot`]) and what it gets
//! from its predecessor ([`Handover`]).
//!
//! Both travel as `key=value` lines whose values are TOML values, which is what a compiled-in
//! strategy's snapshot is made of: a module may write the same keys as a native plugin (the
//! plugin's name, then its fields) and continue from that plugin's snapshot, so a swap between a
//! native strategy and its module twin keeps its state both ways.

use std::fmt::Write as _;

/// What a strategy hands its successor: the name of the format (a plugin's name) and its keys.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    text: String,
}

impl Snapshot {
    /// An empty snapshot in the format of `plugin` (usually this module's name, or the name of
    /// the native plugin it is a twin of).
    #[must_use]
    pub fn new(plugin: &str) -> Snapshot {
        Snapshot { text: format!("plugin={plugin}\n") }
    }

    /// Adds integer `key`.
    #[must_use]
    pub fn int(self, key: &str, value: i64) -> Snapshot {
        self.with(key, &value.to_string())
    }

    /// Adds number `key`, exactly (the shortest text that reads back as the same `f64`).
    #[must_use]
    pub fn float(self, key: &str, value: f64) -> Snapshot {
        self.with(key, &float_text(value))
    }

    /// Adds a list of numbers (a pair of averages, say), each exactly.
    #[must_use]
    pub fn floats(self, key: &str, values: &[f64]) -> Snapshot {
        let items: Vec<String> = values.iter().map(|value| float_text(*value)).collect();
        self.with(key, &format!("[{}]", items.join(", ")))
    }

    /// Adds boolean `key`.
    #[must_use]
    pub fn flag(self, key: &str, value: bool) -> Snapshot {
        self.with(key, if value { "true" } else { "false" })
    }

    /// Adds text `key`.
    #[must_use]
    pub fn text(self, key: &str, value: &str) -> Snapshot {
        let mut quoted = String::from("\"");
        for c in value.chars() {
            match c {
                '"' => quoted.push_str("\\\""),
                '\\' => quoted.push_str("\\\\"),
                '\n' => quoted.push_str("\\n"),
                '\r' => quoted.push_str("\\r"),
                '\t' => quoted.push_str("\\t"),
                c if c.is_control() => {
                    let _ = write!(quoted, "\\u{:04X}", u32::from(c));
                }
                c => quoted.push(c),
            }
        }
        quoted.push('"');
        self.with(key, &quoted)
    }

    fn with(mut self, key: &str, value: &str) -> Snapshot {
        let _ = writeln!(self.text, "{key}={value}");
        self
    }

    /// The text the host reads.
    pub(crate) fn into_text(self) -> String {
        self.text
    }
}

/// A float as TOML writes it: the shortest exact text, with `nan` and `inf` spelt as TOML does.
fn float_text(value: f64) -> String {
    if value.is_nan() {
        "nan".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        // `{:?}` always has a `.` or an exponent, so TOML reads it as a float.
        format!("{value:?}")
    }
}

/// What a strategy swapped in receives: who it replaces, that one's snapshot (if it gave one) and
/// the ids of the open orders it inherits.
#[derive(Clone, Debug, PartialEq)]
pub struct Handover {
    predecessor: String,
    plugin: Option<String>,
    state: Vec<(String, String)>,
    inherited: Vec<u64>,
}

impl Handover {
    /// Reads the host's text.
    pub(crate) fn parse(text: &str) -> Result<Handover, String> {
        let mut handover =
            Handover { predecessor: String::new(), plugin: None, state: Vec::new(), inherited: Vec::new() };
        for line in text.lines().filter(|line| !line.is_empty()) {
            let (key, value) =
                line.split_once('=').ok_or_else(|| format!("handover line {line:?}: expected key=value"))?;
            match key {
                "predecessor" => value.clone_into(&mut handover.predecessor),
                "snapshot.plugin" => handover.plugin = Some(value.to_owned()),
                "inherited" => {
                    handover.inherited = list(value)
                        .ok_or_else(|| format!("handover: inherited: expected a list, got {value}"))?
                        .iter()
                        .map(|id| id.parse().map_err(|_| format!("handover: inherited: {id} is not an order id")))
                        .collect::<Result<_, _>>()?;
                }
                _ => match key.strip_prefix("snapshot.") {
                    Some(key) => handover.state.push((key.to_owned(), value.to_owned())),
                    None => return Err(format!("handover: unknown key {key}")),
                },
            }
        }
        Ok(handover)
    }

    /// The predecessor's `name@version`.
    #[must_use]
    pub fn predecessor(&self) -> &str {
        &self.predecessor
    }

    /// The format of the predecessor's snapshot (the plugin that wrote it), if it gave one.
    #[must_use]
    pub fn snapshot_plugin(&self) -> Option<&str> {
        self.plugin.as_deref()
    }

    /// The ids of the open orders this strategy inherits: from now on their updates and fills
    /// come to it, and it may cancel them.
    #[must_use]
    pub fn inherited(&self) -> &[u64] {
        &self.inherited
    }

    fn raw(&self, key: &str) -> Option<&str> {
        self.state.iter().find(|(k, _)| k == key).map(|(_, value)| value.as_str())
    }

    /// Integer `key` of the snapshot; `Ok(None)` when it has no such key.
    ///
    /// # Errors
    /// The key holds something else.
    pub fn int(&self, key: &str) -> Result<Option<i64>, String> {
        self.raw(key).map(|text| text.parse().map_err(|_| expected(key, "an integer", text))).transpose()
    }

    /// Number `key` of the snapshot (an integer reads as a number too).
    ///
    /// # Errors
    /// The key holds something else.
    pub fn float(&self, key: &str) -> Result<Option<f64>, String> {
        self.raw(key).map(|text| number(text).ok_or_else(|| expected(key, "a number", text))).transpose()
    }

    /// A list of numbers `key` of the snapshot.
    ///
    /// # Errors
    /// The key holds something else.
    pub fn floats(&self, key: &str) -> Result<Option<Vec<f64>>, String> {
        self.raw(key)
            .map(|text| {
                list(text)
                    .and_then(|items| items.iter().map(|item| number(item)).collect::<Option<Vec<f64>>>())
                    .ok_or_else(|| expected(key, "a list of numbers", text))
            })
            .transpose()
    }

    /// Boolean `key` of the snapshot.
    ///
    /// # Errors
    /// The key holds something else.
    pub fn flag(&self, key: &str) -> Result<Option<bool>, String> {
        self.raw(key)
            .map(|text| match text {
                "true" => Ok(true),
                "false" => Ok(false),
                other => Err(expected(key, "true or false", other)),
            })
            .transpose()
    }

    /// Text `key` of the snapshot.
    ///
    /// # Errors
    /// The key holds something else.
    pub fn text(&self, key: &str) -> Result<Option<String>, String> {
        self.raw(key).map(|text| unquote(text).ok_or_else(|| expected(key, "a string", text))).transpose()
    }
}

fn expected(key: &str, what: &str, got: &str) -> String {
    format!("snapshot key {key}: expected {what}, got {got}")
}

/// A TOML number: decimal, with `_` separators, exponents, `inf` and `nan`.
fn number(text: &str) -> Option<f64> {
    let text = text.trim().replace('_', "");
    match text.as_str() {
        "nan" | "+nan" | "-nan" => Some(f64::NAN),
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        digits if digits.bytes().all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b)) => digits.parse().ok(),
        _ => None,
    }
}

/// The items of a one-line TOML list of scalars (no nested lists, no strings with commas).
fn list(text: &str) -> Option<Vec<&str>> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?.trim();
    let inner = inner.strip_suffix(',').unwrap_or(inner);
    if inner.is_empty() {
        return Some(Vec::new());
    }
    Some(inner.split(',').map(str::trim).collect())
}

/// A TOML basic string's text.
fn unquote(text: &str) -> Option<String> {
    let body = text.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'e' => out.push('\u{1b}'),
            'u' => {
                out.push(char::from_u32(u32::from_str_radix(&chars.by_ref().take(4).collect::<String>(), 16).ok()?)?)
            }
            'U' => {
                out.push(char::from_u32(u32::from_str_radix(&chars.by_ref().take(8).collect::<String>(), 16).ok()?)?)
            }
            _ => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_writes_each_value_as_toml_exactly() {
        let text = Snapshot::new("sma-cross")
            .int("fast", 10)
            .floats("previous", &[1.5, 0.1 + 0.2])
            .float("big", 1e300)
            .float("none", f64::NAN)
            .flag("long", true)
            .text("note", "say \"hi\"\n")
            .into_text();
        assert_eq!(
            text,
            "plugin=sma-cross\nfast=10\nprevious=[1.5, 0.30000000000000004]\nbig=1e300\nnone=nan\nlong=true\nnote=\"say \\\"hi\\\"\\n\"\n"
        );
    }

    #[test]
    fn a_handover_reads_what_the_host_writes() {
        let handover = Handover::parse(
            "predecessor=sma-cross@1.0.0\nsnapshot.plugin=sma-cross\nsnapshot.fast=5\nsnapshot.previous=[1.5, 2.0000000000000004]\nsnapshot.note=\"a\\tb\"\ninherited=[7, 9]\n",
        )
        .unwrap();
        assert_eq!(handover.predecessor(), "sma-cross@1.0.0");
        assert_eq!(handover.snapshot_plugin(), Some("sma-cross"));
        assert_eq!(handover.int("fast"), Ok(Some(5)));
        assert_eq!(handover.float("fast"), Ok(Some(5.0)));
        assert_eq!(handover.floats("previous"), Ok(Some(vec![1.5, 2.0000000000000004])));
        assert_eq!(handover.text("note"), Ok(Some("a\tb".to_owned())));
        assert_eq!(handover.int("slow"), Ok(None));
        assert_eq!(handover.inherited(), &[7, 9]);
        assert!(handover.int("previous").unwrap_err().contains("snapshot key previous: expected an integer"));
        assert!(handover.floats("note").unwrap_err().contains("expected a list of numbers"));
    }

    #[test]
    fn a_handover_without_a_snapshot_has_none() {
        let handover = Handover::parse("predecessor=mean-reversion@1.0.0\ninherited=[]\n").unwrap();
        assert_eq!((handover.snapshot_plugin(), handover.inherited()), (None, &[][..]));
        assert!(Handover::parse("inherited=3\n").unwrap_err().contains("expected a list"));
    }
}
