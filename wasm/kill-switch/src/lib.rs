//! `wasm-kill-switch`: the compiled-in `kill-switch` validator, written against the guest SDK.
//!
//! It checks every order and reviews the strategy after every mark: once the strategy's loss
//! passes `max_loss`, it halts it. Its `start` and `stop` hooks log, so a run shows them called.

use tradsys_wasm_guest::{Order, PRICE_SCALE, Params, RiskValidator, Verdict, risk};

tradsys_wasm_guest::manifest!(include_bytes!("../manifest.toml"));
tradsys_wasm_guest::export_risk!(KillSwitch, reviews);

struct KillSwitch {
    /// The loss limit, raw fixed-point money.
    max_loss: i64,
}

impl KillSwitch {
    fn breached(&self) -> Option<String> {
        let pnl = risk::pnl();
        (pnl < -self.max_loss).then(|| {
            let units = |raw: i64| raw as f64 / PRICE_SCALE as f64;
            format!("loss {} exceeds max_loss {}", units(-pnl), units(self.max_loss))
        })
    }
}

impl RiskValidator for KillSwitch {
    fn configure(params: &Params) -> Result<KillSwitch, String> {
        let max_loss = params.int("max_loss")?;
        if max_loss <= 0 {
            return Err(format!("max_loss must be positive, got {max_loss}"));
        }
        let max_loss = max_loss.checked_mul(PRICE_SCALE).ok_or_else(|| format!("max_loss {max_loss} is too large"))?;
        Ok(KillSwitch { max_loss })
    }

    fn start(&mut self) -> Result<(), String> {
        tradsys_wasm_guest::log("wasm-kill-switch armed");
        Ok(())
    }

    fn stop(&mut self) -> Result<(), String> {
        tradsys_wasm_guest::log("wasm-kill-switch disarmed");
        Ok(())
    }

    fn check(&mut self, _order: &Order) -> Verdict {
        self.breached().map_or(Verdict::Accept, Verdict::Halt)
    }

    fn review(&mut self) -> Result<(), String> {
        self.breached().map_or(Ok(()), Err)
    }
}
