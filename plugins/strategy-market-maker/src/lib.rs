//! `market-maker`: quotes both sides around the mid, skewed against its inventory.
//!
//! Reference price: the top-of-book mid when neither best price is one of its own quotes, else the
//! last trade (so it does not chase its own quotes). Quotes are post-only limit orders
//! (`gtx`) of `qty` lots at `reference ∓ half_spread_ticks + skew`, where
//! `skew = −skew_ticks_per_lot × position` ticks: a long inventory lowers both quotes to sell more
//! readily. At `max_position` it stops bidding (at `−max_position` it stops offering). It re-quotes a
//! side only when its target moved by `requote_ticks` or more. Its orders rest in the book; in bar mode
//! it quotes around each bar's close.
//!
//! ```toml
//! [strategies.mm]
//! plugin = "market-maker"
//! params = { qty = 5, half_spread_ticks = 3, max_position = 50 }
//! ```

#![deny(unsafe_code)]

use serde::{Deserialize, Serialize};
use tradsys_core::component::{
    ClientOrderId, ComponentError, InitContext, OrderRequest, OrderStatus, OrderUpdate, Strategy, StrategyContext,
};
use tradsys_core::market::{Bar, Quote};
use tradsys_core::plugin::{Capability, Plugin};
use tradsys_core::types::{InstrumentId, Price, Qty, Side, TimeInForce};

/// Two-sided quoting with an inventory skew and a position limit.
#[derive(Debug)]
pub struct MarketMakerStrategy {
    params: Params,
    instrument: InstrumentId,
    bid: Option<(ClientOrderId, Price)>,
    ask: Option<(ClientOrderId, Price)>,
}

tradsys_core::plugin_params! {
    /// Parameters of `market-maker`.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Params {
        /// Lots per quote.
        /// Range: >= 1
        pub qty: i64,
        /// Ticks from the reference price to each quote.
        /// Range: >= 1
        pub half_spread_ticks: i64,
        /// Ticks both quotes move per lot of inventory (against the inventory).
        /// Range: >= 0
        pub skew_ticks_per_lot: f64,
        /// Largest position, long or short, in lots.
        /// Range: >= 1
        pub max_position: i64,
        /// Re-quote a side when its target moved by this many ticks.
        /// Range: >= 1
        pub requote_ticks: i64,
        /// The instrument; the session's primary one when empty.
        pub symbol: String,
    }
}

impl Default for Params {
    fn default() -> Params {
        Params {
            qty: 5,
            half_spread_ticks: 3,
            skew_ticks_per_lot: 0.1,
            max_position: 50,
            requote_ticks: 2,
            symbol: String::new(),
        }
    }
}

impl Plugin for MarketMakerStrategy {
    type Params = Params;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = Params::PARAM_DOCS;
    const SUMMARY: &'static str = "two-sided post-only quotes around the mid with inventory skew and a position limit";
    const CAPABILITIES: &'static [Capability] =
        &[Capability::MarketData, Capability::ReadPosition, Capability::SubmitOrders, Capability::CancelOrders];

    fn build(params: Params) -> Result<Self, ComponentError> {
        if params.qty <= 0 || params.max_position <= 0 || params.half_spread_ticks < 1 || params.requote_ticks < 1 {
            return Err(ComponentError::new(format!(
                "need qty, max_position, half_spread_ticks and requote_ticks >= 1; got {}, {}, {}, {}",
                params.qty, params.max_position, params.half_spread_ticks, params.requote_ticks
            )));
        }
        if !params.skew_ticks_per_lot.is_finite() || params.skew_ticks_per_lot < 0.0 {
            return Err(ComponentError::new(format!(
                "skew_ticks_per_lot must be >= 0, got {}",
                params.skew_ticks_per_lot
            )));
        }
        Ok(MarketMakerStrategy { params, instrument: InstrumentId(0), bid: None, ask: None })
    }
}

impl MarketMakerStrategy {
    fn requote(&mut self, reference: Price, ctx: &mut StrategyContext<'_>) {
        // Forget quotes that are no longer resting (filled, cancelled, refused).
        let Ok(open) = ctx.open_orders() else { return };
        let resting = |quote: Option<(ClientOrderId, Price)>| quote.filter(|(id, _)| open.iter().any(|o| o.id == *id));
        self.bid = resting(self.bid);
        self.ask = resting(self.ask);
        let Some(tick) = ctx.instrument(self.instrument).map(|i| i.tick) else { return };
        let Ok(position) = ctx.position(self.instrument) else { return };
        let position = position.0;
        let skew = -(self.params.skew_ticks_per_lot * position as f64).round() as i64;
        let target = |offset: i64| reference.offset_ticks(offset + skew, tick).filter(|p| p.raw() > 0);
        let bid = if position < self.params.max_position { target(-self.params.half_spread_ticks) } else { None };
        let ask = if position > -self.params.max_position { target(self.params.half_spread_ticks) } else { None };
        self.bid = self.place(Side::Buy, self.bid, bid, tick, ctx);
        self.ask = self.place(Side::Sell, self.ask, ask, tick, ctx);
    }

    fn place(
        &self,
        side: Side,
        current: Option<(ClientOrderId, Price)>,
        target: Option<Price>,
        tick: Price,
        ctx: &mut StrategyContext<'_>,
    ) -> Option<(ClientOrderId, Price)> {
        let moved =
            |price: Price, target: Price| (price.raw() - target.raw()).abs() / tick.raw() >= self.params.requote_ticks;
        match (current, target) {
            (Some((id, price)), Some(target)) if moved(price, target) => {
                // Without cancel-orders the old quote keeps resting; it is not doubled.
                if ctx.cancel(id).is_err() {
                    return current;
                }
                Some((ctx.submit(self.quote(side, target)), target))
            }
            (Some(current), Some(_)) => Some(current),
            (Some((id, _)), None) => match ctx.cancel(id) {
                Ok(()) => None,
                Err(_) => current,
            },
            (None, Some(target)) => Some((ctx.submit(self.quote(side, target)), target)),
            (None, None) => None,
        }
    }

    fn quote(&self, side: Side, price: Price) -> OrderRequest {
        OrderRequest::limit(self.instrument, side, price, Qty(self.params.qty), TimeInForce::Gtx)
    }
}

impl Strategy for MarketMakerStrategy {
    fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        self.instrument = ctx.instrument_or_primary(&self.params.symbol)?;
        Ok(())
    }

    fn on_quote(&mut self, quote: &Quote, ctx: &mut StrategyContext<'_>) {
        if quote.instrument != self.instrument {
            return;
        }
        let own = |level: Option<(Price, Qty)>, mine: Option<(ClientOrderId, Price)>| matches!((level, mine), (Some((price, _)), Some((_, own))) if price == own);
        let reference = if own(quote.bid, self.bid) || own(quote.ask, self.ask) { None } else { quote.mid() };
        if let Some(reference) = reference.or_else(|| ctx.last_price(self.instrument).ok().flatten()) {
            self.requote(reference, ctx);
        }
    }

    fn on_bar(&mut self, bar: &Bar, ctx: &mut StrategyContext<'_>) {
        if bar.instrument == self.instrument {
            self.requote(bar.close, ctx);
        }
    }

    fn on_order_update(&mut self, update: &OrderUpdate, _ctx: &mut StrategyContext<'_>) {
        if matches!(update.status, OrderStatus::Accepted) {
            return;
        }
        if self.bid.is_some_and(|(id, _)| id == update.order) {
            self.bid = None;
        }
        if self.ask.is_some_and(|(id, _)| id == update.order) {
            self.ask = None;
        }
    }
}

tradsys_core::register_strategy!(MarketMakerStrategy, "market-maker", "1.0.0");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_unusable_parameters() {
        assert!(MarketMakerStrategy::build(Params { qty: 0, ..Params::default() }).is_err());
        assert!(MarketMakerStrategy::build(Params { half_spread_ticks: 0, ..Params::default() }).is_err());
        assert!(MarketMakerStrategy::build(Params { skew_ticks_per_lot: -1.0, ..Params::default() }).is_err());
        assert!(MarketMakerStrategy::build(Params::default()).is_ok());
    }
}
