//! `wasm-faulty`: buys one lot on the first bar, then misbehaves on bar `on_bar` as `fault` says.
//! The tests run it to prove that a runaway loop, a trap, an allocation bomb and a stack overflow
//! stop this component only.

use tradsys_wasm_guest::{Bar, Params, Side, Strategy, strategy};

tradsys_wasm_guest::manifest!(include_bytes!("../manifest.toml"));
tradsys_wasm_guest::export_strategy!(Faulty);

struct Faulty {
    fault: String,
    on_bar: i64,
    bars: i64,
    hoard: Vec<Vec<u8>>,
}

impl Strategy for Faulty {
    fn configure(params: &Params) -> Result<Faulty, String> {
        let fault = params.text("fault").unwrap_or("none").to_owned();
        if !["none", "loop", "trap", "grow", "recurse"].contains(&fault.as_str()) {
            return Err(format!("parameter fault: expected none, loop, trap, grow or recurse, got {fault}"));
        }
        if params.flag("announce")? {
            tradsys_wasm_guest::log("wasm-faulty configured: module code is running");
        }
        Ok(Faulty { fault, on_bar: params.int("on_bar")?, bars: 0, hoard: Vec::new() })
    }

    fn on_bar(&mut self, bar: &Bar) {
        self.bars += 1;
        if self.bars == 1 {
            strategy::submit_market(bar.instrument, Side::Buy, 1);
        }
        if self.bars != self.on_bar {
            return;
        }
        match self.fault.as_str() {
            "loop" => spin(),
            "trap" => panic!("wasm-faulty trapped on cue"),
            // Reserves 8 MiB at a time without touching it: only the memory limit stops it.
            "grow" => loop {
                let mut chunk = Vec::with_capacity(8 << 20);
                chunk.push(1);
                self.hoard.push(chunk);
            },
            "recurse" => {
                std::hint::black_box(depth(u64::MAX));
            }
            _ => {}
        }
    }
}

/// Never returns (the host's time budget interrupts it).
fn spin() {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

/// Recurses until the stack runs out.
fn depth(n: u64) -> u64 {
    if n == 0 { 0 } else { 1 + std::hint::black_box(depth(std::hint::black_box(n - 1))) }
}
