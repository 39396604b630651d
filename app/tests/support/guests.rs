//! The WebAssembly guests in `wasm/`, built once per test process for `wasm32-unknown-unknown`
//! into their own target directory (so the build never waits on the workspace's lock).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The path of guest module `crate_name` (e.g. `tradsys_wasm_sma_cross`), building every guest
/// first if this process has not.
///
/// # Panics
/// The guests do not build: most likely the target is missing (`rustup target add
/// wasm32-unknown-unknown`, which `.ci/run` does).
pub fn guest(crate_name: &str) -> PathBuf {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = BUILT.get_or_init(build).as_ref().unwrap_or_else(|error| panic!("{error}"));
    let path = dir.join(format!("{crate_name}.wasm"));
    assert!(path.is_file(), "no guest module {}", path.display());
    path
}

fn build() -> Result<PathBuf, String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target_dir = workspace.join("target/wasm-guests");
    if let Err(first) = cargo_build(&workspace, &target_dir) {
        // A fresh toolchain lacks the target: add it (what `.ci/run` does) and try once more.
        let added = Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]).output();
        if !added.is_ok_and(|out| out.status.success()) {
            return Err(first);
        }
        cargo_build(&workspace, &target_dir)?;
    }
    Ok(target_dir.join("wasm32-unknown-unknown/release"))
}

fn cargo_build(workspace: &Path, target_dir: &Path) -> Result<(), String> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(["build", "--release", "--quiet", "--target", "wasm32-unknown-unknown", "--manifest-path"])
        .arg(workspace.join("wasm/Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .map_err(|error| format!("cannot run cargo to build the WebAssembly guests: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "the WebAssembly guests in wasm/ do not build (is the target installed? `rustup target add wasm32-unknown-unknown`):\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}
