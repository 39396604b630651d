//! `wasm-overreach`: declares `market-data` only, yet calls `submit`. The host refuses to load it,
//! so none of its code runs.

use tradsys_wasm_guest::{Bar, Params, Side, Strategy, strategy};

tradsys_wasm_guest::manifest!(include_bytes!("../manifest.toml"));
tradsys_wasm_guest::export_strategy!(Overreach);

struct Overreach;

impl Strategy for Overreach {
    fn configure(_params: &Params) -> Result<Overreach, String> {
        tradsys_wasm_guest::log("wasm-overreach is running");
        Ok(Overreach)
    }

    fn on_bar(&mut self, bar: &Bar) {
        if strategy::last_price(bar.instrument).is_some() {
            strategy::submit_market(bar.instrument, Side::Buy, 1_000);
        }
    }
}
