//! Finds the shared library of the CPython that pyo3 links (the one `PYO3_PYTHON`, an active
//! virtual environment or `python3` on `PATH` names) and passes its directory on: as an rpath for
//! this crate's own test binaries, and as `DEP_TRADSYS_PYTHON_LIBDIR` for the crates that link
//! this one (`app`, `tests`, `benches`), whose build scripts add the same rpath to their binaries.
//! Without it a binary embedding Python starts only with `LD_LIBRARY_PATH` set whenever the
//! interpreter lives outside the system's library directories (pyenv, a custom prefix).
//!
//! An extension module (the `tradsys` wheel, built by maturin with `PYO3_BUILD_EXTENSION_MODULE`
//! set) does not link libpython at all: the interpreter that imports it provides the symbols.

fn main() {
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");
    println!("cargo:rerun-if-env-changed=PYO3_BUILD_EXTENSION_MODULE");
    let config = pyo3_build_config::get();
    if std::env::var_os("PYO3_BUILD_EXTENSION_MODULE").is_some() {
        return;
    }
    if let Some(dir) = config.lib_dir() {
        println!("cargo:libdir={dir}");
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
