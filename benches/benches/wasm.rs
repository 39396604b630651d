//! The WebAssembly tier's costs (see BENCHMARKS.md): a strategy callback in a module against its
//! compiled-in twin (whole bar sessions, the same work but for the strategy), building an
//! instance from the pool, loading (digest, manifest, compile) a module, and verifying an
//! approval.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tradsys::configure::load_checked;
use tradsys::run::start_session;
use tradsys_benches::{SMA_CROSS, WASM_SMA_CROSS, bar_session, wasm_guests};
use tradsys_core::config::ConfigFile;
use tradsys_core::module::ModuleSettings;
use tradsys_core::plugin::Builder;
use tradsys_core::registry::Registry;
use tradsys_core::session::NoObserver;

fn run(registry: &Registry, text: &'static str) -> u64 {
    let checked = load_checked(&ConfigFile::Embedded { name: "bench", text }, &[], registry).expect("config");
    let session = start_session(&checked, registry).expect("session");
    black_box(session.run(&mut NoObserver).into_result().expect("run").events)
}

fn modules_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tradsys-bench-wasm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::copy(wasm_guests().join("tradsys_wasm_sma_cross.wasm"), dir.join("sma-cross.wasm")).expect("copy");
    dir
}

fn callbacks(c: &mut Criterion) {
    // The module is loaded (compiled) once, here, as a running system does at start-up; the
    // sessions below measure only what running it costs.
    let registry =
        tradsys::modules::with_modules(Registry::discover().expect("registry"), &[modules_dir()]).expect("module");
    let count = 200_000u64;
    let native: &'static str = Box::leak(bar_session(count, SMA_CROSS).into_boxed_str());
    let module: &'static str = Box::leak(bar_session(count, WASM_SMA_CROSS).into_boxed_str());
    let mut group = c.benchmark_group("wasm-strategy");
    group.throughput(Throughput::Elements(count));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("sma-cross-compiled-in", |b| b.iter(|| run(&registry, native)));
    group.bench_function("sma-cross-webassembly", |b| b.iter(|| run(&registry, module)));
    group.finish();
}

fn lifecycle(c: &mut Criterion) {
    let path = modules_dir().join("sma-cross.wasm");
    let bytes = std::fs::read(&path).expect("module");
    let mut group = c.benchmark_group("wasm-module");
    group.bench_function("load-digest-manifest-compile", |b| {
        b.iter(|| tradsys::modules::load(&path, Some(&bytes), ModuleSettings::default()).expect("load"));
    });
    let module = tradsys::modules::load(&path, Some(&bytes), ModuleSettings::default()).expect("load");
    let Builder::Loaded(loaded) = &module.descriptor.builder else { panic!("a module's builder is loaded") };
    let params = module.descriptor.defaults().expect("defaults");
    group.bench_function("instantiate-and-configure", |b| b.iter(|| black_box(loaded.build(&params).expect("build"))));
    group.bench_function("digest", |b| b.iter(|| black_box(tradsys::modules::digest(&bytes))));
    let key = tradsys::trust::minisign::SecretKey::from_random([7; 32], [1; 8]);
    let approval = format!(
        "[[plugins]]\nkind = \"strategy\"\nname = \"wasm-sma-cross\"\nversion = \"1.0.0\"\ndigest = \"{}\"\ncapabilities = [\"indicators\", \"read-position\", \"submit-orders\"]\n",
        tradsys::modules::digest(&bytes)
    );
    let signature = key.sign(approval.as_bytes(), "file:approval.toml");
    let keys = [key.public()];
    group.bench_function("verify-approval", |b| {
        b.iter(|| {
            tradsys::trust::approval::verify(
                Path::new("approval.toml"),
                approval.as_bytes(),
                &signature,
                &keys,
                jiff_now(),
            )
            .expect("verified")
        });
    });
    group.finish();
}

/// The verification's "now" (a fixed instant: the approval has no expiry, so any will do).
fn jiff_now() -> jiff::Timestamp {
    jiff::Timestamp::UNIX_EPOCH
}

criterion_group!(benches, callbacks, lifecycle);
criterion_main!(benches);
