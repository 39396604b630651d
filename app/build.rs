//! Computes, at build time, the digest of every plugin crate the binary may link: SHA-256 over its
//! `Cargo.toml` and every file under its `src/`, in path order. The binary embeds them
//! (`plugin_digests.rs` in `OUT_DIR`, read by `app/src/plugins.rs`), so an approval can name the
//! exact source a compiled-in plugin was built from.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn main() {
    python_rpath();
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let manifest = manifest_dir.join("Cargo.toml");
    println!("cargo:rerun-if-changed={}", manifest.display());
    let text = std::fs::read_to_string(&manifest).expect("app/Cargo.toml is readable");
    let document: toml::Table = toml::from_str(&text).expect("app/Cargo.toml is TOML");
    let mut digests = Vec::new();
    if let Some(toml::Value::Table(dependencies)) = document.get("dependencies") {
        for (name, spec) in dependencies {
            let Some(path) = spec.get("path").and_then(toml::Value::as_str) else { continue };
            if !name.starts_with("tradsys-plugin-") {
                continue;
            }
            digests.push((name.clone(), digest_of_crate(&manifest_dir.join(path))));
        }
    }
    let mut out = String::from("/// `(crate name, sha256:<hex>)` of every plugin crate `app/Cargo.toml` names.\n");
    out.push_str("pub(crate) const PLUGIN_DIGESTS: &[(&str, &str)] = &[\n");
    for (name, digest) in &digests {
        let _ = writeln!(out, "    ({name:?}, {digest:?}),");
    }
    out.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out_dir.join("plugin_digests.rs"), out).expect("OUT_DIR is writable");
}

/// A binary embedding Python (the `python-host` feature) finds the interpreter's shared library
/// where the plugin's build script found it (plugins/python-host/build.rs says why).
fn python_rpath() {
    println!("cargo:rerun-if-env-changed=DEP_TRADSYS_PYTHON_LIBDIR");
    if let Some(dir) = std::env::var_os("DEP_TRADSYS_PYTHON_LIBDIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.to_string_lossy());
    }
}

/// `sha256:<hex>` of a crate: its manifest, then each source file as `path NUL length NUL bytes`.
fn digest_of_crate(dir: &Path) -> String {
    let mut files = vec![dir.join("Cargo.toml")];
    collect(&dir.join("src"), &mut files);
    files.sort();
    let mut hasher = Sha256::new();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let bytes = std::fs::read(file).unwrap_or_default();
        let relative = file.strip_prefix(dir).unwrap_or(file).to_string_lossy().replace('\\', "/");
        hasher.update(relative.as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update([0]);
        hasher.update(&bytes);
    }
    let mut hex = String::from("sha256:");
    for byte in hasher.finalize() {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}
