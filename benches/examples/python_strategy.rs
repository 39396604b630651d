//! What a strategy written in Python costs per bar, beside the same strategy compiled in and as a
//! WebAssembly module: whole bar sessions over the same in-memory bars, sma-cross alone, the four
//! variants interleaved round after round (the machine is shared and noisy), best and median of
//! each. `python-idle` is a class whose `on_bar` does nothing: the cost of the call itself (the
//! GIL, the bar object, the lent context, the budget's arming).
//!
//! ```sh
//! cargo run --release -p tradsys-benches --example python_strategy [BARS] [ROUNDS]
//! ```

use std::time::Instant;

use tradsys::configure::load_checked;
use tradsys::run::start_session;
use tradsys_core::config::ConfigFile;
use tradsys_core::registry::Registry;
use tradsys_core::session::NoObserver;

const IDLE: &str = "class Idle:\n    def on_bar(self, bar, ctx):\n        pass\n";

fn main() {
    let mut args = std::env::args().skip(1);
    let count: u64 = args.next().map_or(200_000, |n| n.parse().expect("BARS must be a whole number"));
    let rounds: usize = args.next().map_or(5, |n| n.parse().expect("ROUNDS must be a whole number"));
    let scratch = std::env::temp_dir().join(format!("tradsys-bench-python-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let idle = scratch.join("idle.py");
    std::fs::write(&idle, IDLE).expect("idle.py");
    let module = tradsys_benches::wasm_guests().join("tradsys_wasm_sma_cross.wasm");
    let registry =
        tradsys::modules::with_modules(Registry::discover().expect("registry"), &[module]).expect("the module loads");
    let idle_strategy = format!(
        "[strategies.trend]\nplugin = \"python\"\nparams = {{ file = {:?}, class = \"Idle\" }}\n",
        idle.display().to_string()
    );
    let variants: Vec<(&str, String)> = vec![
        ("compiled-in", tradsys_benches::bar_session(count, tradsys_benches::SMA_CROSS)),
        ("webassembly", tradsys_benches::bar_session(count, tradsys_benches::WASM_SMA_CROSS)),
        ("python", tradsys_benches::bar_session(count, &tradsys_benches::python_sma_cross())),
        ("python-idle", tradsys_benches::bar_session(count, &idle_strategy)),
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    let mut trades: Vec<u64> = vec![0; variants.len()];
    for _ in 0..rounds {
        for (at, (name, text)) in variants.iter().enumerate() {
            let text: &'static str = Box::leak(text.clone().into_boxed_str());
            let checked = load_checked(&ConfigFile::Embedded { name, text }, &[], &registry).expect("config");
            let session = start_session(&checked, &registry).expect("session");
            let started = Instant::now();
            let report = session.run(&mut NoObserver).into_result().expect("run");
            times[at].push(started.elapsed().as_secs_f64());
            trades[at] = report.total.statistics.trades;
        }
    }
    let best = |at: usize| times[at].iter().copied().fold(f64::INFINITY, f64::min);
    let median = |at: usize| {
        let mut sorted = times[at].clone();
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 2]
    };
    #[allow(clippy::cast_precision_loss)]
    let per_bar = |seconds: f64| seconds * 1e9 / count as f64;
    println!("{count} bars, {rounds} rounds interleaved; ns per bar (whole session), and beside compiled-in");
    println!(
        "{:<12} {:>10} {:>10} {:>12} {:>14} {:>8}",
        "variant", "best", "median", "best ns/bar", "+ns/bar best", "trades"
    );
    for (at, (name, _)) in variants.iter().enumerate() {
        println!(
            "{name:<12} {:>8.1}ms {:>8.1}ms {:>12.0} {:>+14.0} {:>8}",
            best(at) * 1e3,
            median(at) * 1e3,
            per_bar(best(at)),
            per_bar(best(at) - best(0)),
            trades[at]
        );
    }
    assert_eq!(trades[0], trades[1], "the module trades as its compiled-in twin");
    assert_eq!(trades[0], trades[2], "the Python class trades as its compiled-in twin");
    let _ = std::fs::remove_dir_all(&scratch);
}
