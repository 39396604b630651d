//! Runs one benchmark session once, for instruction counts under callgrind (which, unlike wall
//! time, does not move with machine noise):
//!
//! ```sh
//! cargo build --release -p tradsys-benches --example session_once
//! valgrind --tool=callgrind target/release/examples/session_once bars 100000
//! valgrind --tool=callgrind target/release/examples/session_once flow 100000
//! valgrind --tool=callgrind target/release/examples/session_once sma-native 100000
//! valgrind --tool=callgrind target/release/examples/session_once sma-wasm 100000
//! valgrind --tool=callgrind target/release/examples/session_once sma-python 100000
//! target/release/examples/session_once csv-memory 1000000 bars.csv
//! ```
//!
//! `csv-memory` runs the `bars` session on the bars of a CSV file read into memory first (the
//! side-by-side script's bars; `benches/side-by-side.sh`).
//!
//! `sma-native` and `sma-wasm` run sma-cross alone on in-memory bars, compiled in and as the
//! WebAssembly module `wasm-sma-cross` (built from `wasm/`, loaded before the count starts to
//! matter: compare the two at two counts to take the loading out); `sma-python` runs it written in
//! Python (`examples/python/sma_cross.py`).

use tradsys::configure::load_checked;
use tradsys::run::start_session;
use tradsys_benches::RISK_CHAIN;
use tradsys_core::config::ConfigFile;
use tradsys_core::registry::Registry;
use tradsys_core::session::NoObserver;

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "bars".to_owned());
    let count: u64 = args.next().map_or(100_000, |n| n.parse().expect("COUNT must be a whole number"));
    let text = match mode.as_str() {
        "bars" => format!(
            "[feed]\nplugin = \"bench-bars\"\nparams = {{ count = {count} }}\n{}{RISK_CHAIN}",
            tradsys_benches::SMA_CROSS
        ),
        "flow" => tradsys::run::DEFAULT_CONFIG.replace("count = 1000000", &format!("count = {count}")),
        "sma-native" => tradsys_benches::bar_session(count, tradsys_benches::SMA_CROSS),
        "sma-wasm" => tradsys_benches::bar_session(count, tradsys_benches::WASM_SMA_CROSS),
        "sma-python" => tradsys_benches::bar_session(count, &tradsys_benches::python_sma_cross()),
        "csv-memory" => {
            let path = args.next().expect("csv-memory needs a CSV path after the count");
            format!(
                "[feed]\nplugin = \"bench-bars\"\nparams = {{ count = {count}, path = {path:?} }}\n{}{RISK_CHAIN}",
                tradsys_benches::SMA_CROSS_1020
            )
        }
        other => panic!("mode must be bars, flow, sma-native, sma-wasm, sma-python or csv-memory, not {other}"),
    };
    let mut registry = Registry::discover().expect("registry");
    if mode == "sma-wasm" {
        let module = tradsys_benches::wasm_guests().join("tradsys_wasm_sma_cross.wasm");
        registry = tradsys::modules::with_modules(registry, &[module]).expect("module");
    }
    let text: &'static str = Box::leak(text.into_boxed_str());
    // A third argument `metrics-off` runs without per-component metrics, for the overhead figure.
    let overrides: Vec<String> =
        args.next().filter(|a| a == "metrics-off").map(|_| "session.metrics=false".to_owned()).into_iter().collect();
    let checked =
        load_checked(&ConfigFile::Embedded { name: "session_once", text }, &overrides, &registry).expect("config");
    let report = start_session(&checked, &registry).expect("session").run(&mut NoObserver).into_result().expect("run");
    let seconds = report.timing.elapsed_s;
    eprintln!("{} events, {:.2}M events/s, {seconds:.6} s", report.events, report.events as f64 / seconds / 1e6);
}
