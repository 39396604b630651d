//! A module's manifest: the `tradsys-manifest` custom section, TOML, read without running any of
//! the module's code.
//!
//! ```toml
//! api_version = "1.1.0"
//! kind = "strategy"                  # strategy, risk or indicator
//! name = "wasm-sma-cross"
//! version = "1.0.0"
//! summary = "long on a fast-over-slow SMA cross"
//! capabilities = ["indicators", "read-position", "submit-orders"]
//! dependencies = [{ kind = "indicator", name = "sma", req = "^1" }]
//! outputs = ["value"]                # indicators: the names of their outputs
//!
//! [params]                           # every parameter, with its default
//! fast = 10
//!
//! [param_docs]                       # API 1.1: what each parameter means (optional), as a
//! fast = "Fast SMA period, in bars.\nRange: >= 1"   # native plugin's doc comment: a Range: line is enforced
//! ```

use serde::Deserialize;
use tradsys_core::capability::Capability;
use tradsys_core::plugin::Kind;

/// The custom section holding the manifest.
pub const SECTION: &str = "tradsys-manifest";

/// A module's manifest.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The plugin API the module was built against.
    pub api_version: String,
    /// What it is.
    pub kind: Kind,
    /// Its name (kebab-case).
    pub name: String,
    /// Its version (semver).
    pub version: String,
    /// One line saying what it does.
    #[serde(default)]
    pub summary: String,
    /// What it needs through its handles.
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// The components it needs.
    #[serde(default)]
    pub dependencies: Vec<ManifestDependency>,
    /// Indicators: their outputs' names (one, `value`, when absent).
    #[serde(default)]
    pub outputs: Vec<String>,
    /// Every parameter, with its default.
    #[serde(default)]
    pub params: toml::Table,
    /// What parameters mean (plugin API 1.1): the text `tradsys plugins` and the reference show,
    /// written as a native parameter's doc comment (a `Range:` line states, and the host
    /// enforces, the values it takes).
    #[serde(default)]
    pub param_docs: std::collections::BTreeMap<String, String>,
}

/// The plugin API that brought snapshots, stops and brackets, and parameter meanings to modules.
pub const API_1_1: semver::Version = semver::Version::new(1, 1, 0);

impl Manifest {
    /// Whether the module was built against plugin API 1.1 or later.
    #[must_use]
    pub fn speaks_1_1(&self) -> bool {
        semver::Version::parse(&self.api_version).is_ok_and(|api| api >= API_1_1)
    }
}

/// One dependency in a manifest.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestDependency {
    /// Its kind.
    pub kind: Kind,
    /// Its name.
    pub name: String,
    /// A semver requirement.
    pub req: String,
}

/// Reads the manifest of a module's bytes.
///
/// # Errors
/// Not a WebAssembly module, no manifest section, or a manifest that does not parse.
pub fn read(bytes: &[u8]) -> Result<Manifest, String> {
    let section = custom_section(bytes, SECTION)?
        .ok_or_else(|| format!("no `{SECTION}` custom section: every tradsys module carries its manifest"))?;
    let text = std::str::from_utf8(section).map_err(|_| format!("the `{SECTION}` section is not UTF-8"))?;
    let manifest: Manifest = toml::from_str(text).map_err(|e| format!("manifest: {}", e.message()))?;
    if !matches!(manifest.kind, Kind::Strategy | Kind::Risk | Kind::Indicator) {
        return Err(format!(
            "manifest: kind {} cannot be a module; expected strategy, risk or indicator",
            manifest.kind
        ));
    }
    if let Some(key) = manifest.param_docs.keys().find(|key| !manifest.params.contains_key(*key)) {
        return Err(format!("manifest: param_docs.{key} documents no parameter of [params]"));
    }
    if !manifest.param_docs.is_empty() && !manifest.speaks_1_1() {
        return Err(format!(
            "manifest: param_docs is new in plugin API {API_1_1}; declare api_version = \"{API_1_1}\" (the SDK of this tradsys builds for it)"
        ));
    }
    Ok(manifest)
}

/// The payload of the first custom section named `name`, walking the module's sections without
/// decoding anything else.
///
/// # Errors
/// The bytes are not a WebAssembly module.
pub fn custom_section<'a>(bytes: &'a [u8], name: &str) -> Result<Option<&'a [u8]>, String> {
    let not_wasm = || "not a WebAssembly module".to_owned();
    let body = bytes.strip_prefix(b"\0asm\x01\0\0\0").ok_or_else(not_wasm)?;
    let mut at = 0;
    while at < body.len() {
        let id = body[at];
        at += 1;
        let (size, read) = leb128(&body[at..]).ok_or_else(not_wasm)?;
        at += read;
        let end = at.checked_add(size).filter(|end| *end <= body.len()).ok_or_else(not_wasm)?;
        if id == 0 {
            let (length, read) = leb128(&body[at..end]).ok_or_else(not_wasm)?;
            let name_end = (at + read).checked_add(length).filter(|e| *e <= end).ok_or_else(not_wasm)?;
            if &body[at + read..name_end] == name.as_bytes() {
                return Ok(Some(&body[name_end..end]));
            }
        }
        at = end;
    }
    Ok(None)
}

/// An unsigned LEB128 number (at most 32 bits, as section sizes are) and the bytes it took.
fn leb128(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut value: u64 = 0;
    for (at, byte) in bytes.iter().take(5).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * at);
        if byte & 0x80 == 0 {
            return Some((usize::try_from(value).ok()?, at + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A module with one custom section `name` holding `payload` (and nothing else).
    pub(crate) fn module_with_section(name: &str, payload: &[u8]) -> Vec<u8> {
        let mut section = vec![u8::try_from(name.len()).unwrap()];
        section.extend_from_slice(name.as_bytes());
        section.extend_from_slice(payload);
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        bytes.push(0);
        let mut size = section.len();
        loop {
            let byte = (size & 0x7f) as u8;
            size >>= 7;
            bytes.push(if size == 0 { byte } else { byte | 0x80 });
            if size == 0 {
                break;
            }
        }
        bytes.extend_from_slice(&section);
        bytes
    }

    #[test]
    fn the_manifest_is_read_from_its_custom_section() {
        let text = "api_version = \"1.0.0\"\nkind = \"strategy\"\nname = \"s\"\nversion = \"1.0.0\"\ncapabilities = [\"submit-orders\"]\n[params]\nqty = 1\n";
        let manifest = read(&module_with_section(SECTION, text.as_bytes())).unwrap();
        assert_eq!((manifest.kind, manifest.name.as_str()), (Kind::Strategy, "s"));
        assert_eq!(manifest.capabilities, [Capability::SubmitOrders]);
        assert_eq!(manifest.params["qty"].as_integer(), Some(1));
    }

    #[test]
    fn a_module_without_a_manifest_or_not_a_module_is_refused() {
        assert!(read(&module_with_section("other", b"x")).unwrap_err().contains("no `tradsys-manifest`"));
        assert_eq!(read(b"hello").unwrap_err(), "not a WebAssembly module");
        let truncated = &module_with_section(SECTION, b"kind = 1")[..12];
        assert_eq!(read(truncated).unwrap_err(), "not a WebAssembly module");
        let feed = "api_version = \"1.0.0\"\nkind = \"feed\"\nname = \"f\"\nversion = \"1.0.0\"\n";
        assert!(read(&module_with_section(SECTION, feed.as_bytes())).unwrap_err().contains("cannot be a module"));
    }

    #[test]
    fn parameter_meanings_need_api_1_1_and_a_parameter_to_describe() {
        let head =
            |api: &str| format!("api_version = \"{api}\"\nkind = \"strategy\"\nname = \"s\"\nversion = \"1.0.0\"\n");
        let docs = "[params]\nqty = 1\n[param_docs]\nqty = \"Lots.\"\n";
        let read_text = |text: String| read(&module_with_section(SECTION, text.as_bytes()));
        assert_eq!(read_text(format!("{}{docs}", head("1.1.0"))).unwrap().param_docs["qty"], "Lots.");
        let old = read_text(format!("{}{docs}", head("1.0.0"))).unwrap_err();
        assert!(old.contains("param_docs is new in plugin API 1.1.0; declare api_version = \"1.1.0\""), "{old}");
        let stray =
            read_text(format!("{}[params]\nqty = 1\n[param_docs]\nqyt = \"Lots.\"\n", head("1.1.0"))).unwrap_err();
        assert_eq!(stray, "manifest: param_docs.qyt documents no parameter of [params]");
    }
}
