//! This crate's test and bench binaries link the Python strategy host (through `tradsys/full`):
//! they find the interpreter's shared library where the plugin's build script found it
//! (plugins/python-host/build.rs says why).

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TRADSYS_PYTHON_LIBDIR");
    if let Some(dir) = std::env::var_os("DEP_TRADSYS_PYTHON_LIBDIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.to_string_lossy());
    }
}
