//! `spread`: the top of the book's spread (ask − bid) and mid-price, from quotes.
//!
//! Both are `None` while either side of the book is empty. It takes quotes only
//! (`export_indicator!(Spread, quotes)`): bars and trades say nothing about the book.

use tradsys_wasm_guest::{Indicator, PRICE_SCALE, Params, Quote};

tradsys_wasm_guest::manifest!(include_bytes!("../manifest.toml"));
tradsys_wasm_guest::export_indicator!(Spread, quotes);

struct Spread {
    /// The last two-sided top of the book, raw fixed-point.
    top: Option<(i64, i64)>,
}

impl Indicator for Spread {
    fn configure(_params: &Params) -> Result<Spread, String> {
        Ok(Spread { top: None })
    }

    fn update_quote(&mut self, quote: &Quote) {
        self.top = match (quote.bid, quote.ask) {
            (Some((bid, _)), Some((ask, _))) => Some((bid.0, ask.0)),
            _ => None,
        };
    }

    fn output(&self, index: usize) -> Option<f64> {
        let (bid, ask) = self.top?;
        let scale = PRICE_SCALE as f64;
        match index {
            0 => Some((ask - bid) as f64 / scale),
            1 => Some((i128::from(bid) + i128::from(ask)) as f64 / 2.0 / scale),
            _ => None,
        }
    }
}
