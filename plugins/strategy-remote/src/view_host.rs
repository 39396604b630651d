//! The host side of a callback: a [`StrategyHost`] that answers the strategy's reads from the
//! [`View`] the session sent and records its orders and cancels as [`Intent`]s to send back.
//!
//! The strategy acts through a real [`StrategyContext`](tradsys_core::component::StrategyContext)
//! over this host, so its calls are checked here against the grant both sides agreed on at open;
//! the session checks the intents again when it replays them.

use tradsys_core::capability::{Capability, PermissionDenied, Permissions};
use tradsys_core::component::{
    Bracket, BracketExits, ClientOrderId, IndicatorHandle, OpenOrder, OrderRequest, StrategyHost,
};
use tradsys_core::instrument::{Instrument, InstrumentTable};
use tradsys_core::types::{InstrumentId, Money, Price, Qty, Timestamp};

use crate::wire::{Intent, View};

/// One instance's side of its callbacks.
#[derive(Debug)]
pub struct ViewHost {
    permissions: Permissions,
    instruments: InstrumentTable,
    /// The strategy's next order id (its own numbering; the session maps it to its ids).
    next_id: u64,
    view: View,
    open_orders: Vec<OpenOrder>,
    intents: Vec<Intent>,
}

impl ViewHost {
    /// A host for a strategy granted `permissions`, over the session's `instruments`.
    #[must_use]
    pub fn new(permissions: Permissions, instruments: InstrumentTable) -> ViewHost {
        ViewHost {
            permissions,
            instruments,
            next_id: 1,
            view: View::default(),
            open_orders: Vec::new(),
            intents: Vec::new(),
        }
    }

    /// Sets what the next callback reads.
    pub fn load(&mut self, view: View) {
        self.open_orders = view.open_orders.iter().copied().map(OpenOrder::from).collect();
        self.view = view;
    }

    /// Takes what the callback did: its intents, and the reads refused, counted (a refused
    /// `submit` is an intent instead, which the session refuses in turn).
    pub fn take(&mut self) -> (Vec<Intent>, Vec<(Capability, u32)>) {
        let denied = self.permissions.take_denied().filter(|(capability, _)| *capability != Capability::SubmitOrders);
        let denied = denied.collect();
        (std::mem::take(&mut self.intents), denied)
    }

    /// A fresh id for an inherited order (a take-over).
    pub fn adopt(&mut self) -> ClientOrderId {
        self.next()
    }

    fn next(&mut self) -> ClientOrderId {
        self.next_id += 1;
        ClientOrderId(self.next_id - 1)
    }
}

impl StrategyHost for ViewHost {
    fn permissions(&self) -> &Permissions {
        &self.permissions
    }

    fn now(&self) -> Timestamp {
        Timestamp(self.view.now.unwrap_or_default())
    }

    fn submit(&mut self, order: OrderRequest) -> ClientOrderId {
        let id = self.next();
        self.intents.push(Intent::Submit { id: id.0, order: order.into() });
        id
    }

    fn refuse(&mut self, order: OrderRequest, _denied: PermissionDenied) -> ClientOrderId {
        let id = self.next();
        self.intents.push(Intent::Refused { id: id.0, order: order.into() });
        id
    }

    fn submit_bracket(&mut self, entry: OrderRequest, exits: BracketExits) -> Bracket {
        // The session numbers a bracket entry, stop-loss, take-profit, in that order; so do we.
        let entry_id = self.next();
        let stop_loss = exits.stop_loss.map(|_| self.next());
        let take_profit = exits.take_profit.map(|_| self.next());
        let bracket = Bracket { entry: entry_id, stop_loss, take_profit };
        self.intents.push(Intent::bracket(bracket, entry, exits));
        bracket
    }

    fn cancel(&mut self, id: ClientOrderId) {
        self.intents.push(Intent::Cancel { id: id.0 });
    }

    fn position(&self, instrument: InstrumentId) -> Qty {
        self.view.positions.iter().find(|(id, _)| *id == instrument.0).map_or(Qty(0), |(_, qty)| *qty)
    }

    fn open_orders(&self) -> &[OpenOrder] {
        &self.open_orders
    }

    fn cash(&self) -> Money {
        self.view.cash.unwrap_or(Money::ZERO)
    }

    fn equity(&self) -> Money {
        self.view.equity.unwrap_or(Money::ZERO)
    }

    fn indicator(&self, handle: IndicatorHandle, output: usize) -> Option<f64> {
        let outputs = self.view.indicators.get(handle.0 as usize)?;
        outputs.get(output).copied().flatten().map(f64::from_bits)
    }

    fn top_of_book(&self, instrument: InstrumentId) -> (Option<Price>, Option<Price>) {
        self.market(instrument).map_or((None, None), |m| (m.bid, m.ask))
    }

    fn last_price(&self, instrument: InstrumentId) -> Option<Price> {
        self.market(instrument).and_then(|m| m.last)
    }

    fn instrument(&self, instrument: InstrumentId) -> Option<&Instrument> {
        self.instruments.try_get(instrument)
    }
}

impl ViewHost {
    fn market(&self, instrument: InstrumentId) -> Option<&crate::wire::WireMarket> {
        self.view.markets.iter().find(|m| m.instrument == instrument.0)
    }
}

#[cfg(test)]
mod tests {
    use tradsys_core::capability::Capabilities;
    use tradsys_core::component::StrategyContext;
    use tradsys_core::types::Side;

    use super::*;

    #[test]
    fn reads_come_from_the_view_and_orders_become_intents_in_order() {
        let mut host = ViewHost::new(Permissions::all(), InstrumentTable::default());
        host.load(View { positions: vec![(0, Qty(3))], cash: Some(Money::from_raw(5)), ..View::default() });
        let order = OrderRequest::market(InstrumentId(0), Side::Sell, Qty(3));
        let mut ctx = StrategyContext::new(&mut host);
        assert_eq!(ctx.position(InstrumentId(0)), Ok(Qty(3)));
        assert_eq!(ctx.position(InstrumentId(1)), Ok(Qty(0)));
        assert_eq!(ctx.cash(), Ok(Money::from_raw(5)));
        let first = ctx.submit(order);
        let exits = BracketExits { stop_loss: Some(Price::from_units(1)), take_profit: None };
        let bracket = ctx.submit_bracket(order, exits);
        ctx.cancel(first).unwrap();
        assert_eq!(
            (first.0, bracket.entry.0, bracket.stop_loss.map(|id| id.0), bracket.take_profit),
            (1, 2, Some(3), None)
        );
        let (intents, denied) = host.take();
        assert!(denied.is_empty());
        assert!(matches!(
            intents[..],
            [Intent::Submit { id: 1, .. }, Intent::Bracket { entry: 2, .. }, Intent::Cancel { id: 1 }]
        ));
    }

    #[test]
    fn refused_reads_are_counted_and_a_refused_order_is_an_intent() {
        let permissions = Permissions::new(Capabilities::of(&[Capability::Indicators]));
        let mut host = ViewHost::new(permissions, InstrumentTable::default());
        let mut ctx = StrategyContext::new(&mut host);
        assert!(ctx.position(InstrumentId(0)).is_err() && ctx.cash().is_err() && ctx.cash().is_err());
        ctx.submit(OrderRequest::market(InstrumentId(0), Side::Buy, Qty(1)));
        let (intents, denied) = host.take();
        assert!(matches!(intents[..], [Intent::Refused { id: 1, .. }]));
        assert_eq!(denied, [(Capability::ReadPosition, 1), (Capability::ReadPortfolio, 2)]);
    }
}
