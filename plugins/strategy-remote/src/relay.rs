//! What crosses between the session's context and the wire during a callback: the [`View`]
//! gathered before it, the [`Intent`]s replayed after it, and the map between the strategy's
//! order ids (its own numbering, on the host) and the session's.

use std::collections::HashMap;

use tradsys_core::capability::{Capabilities, Capability};
use tradsys_core::component::{BracketExits, ClientOrderId, IndicatorHandle, StrategyContext};
use tradsys_core::types::{InstrumentId, Qty};

use crate::wire::{Intent, MAX_INDICATOR_OUTPUTS, View, WireMarket, WireOpenOrder};

/// One open instance's side of its callbacks, in the session.
#[derive(Debug)]
pub(crate) struct Relay {
    /// What both sides grant.
    granted: Capabilities,
    /// The session's handle of each indicator the strategy asked for, by its index.
    indicators: Vec<IndicatorHandle>,
    ids: IdMap,
}

/// The strategy's order ids (its own numbering, on the host) and the session's.
#[derive(Debug, Default)]
pub(crate) struct IdMap {
    to_session: HashMap<u64, ClientOrderId>,
    to_hosted: HashMap<ClientOrderId, u64>,
}

impl IdMap {
    fn insert(&mut self, hosted: u64, session: ClientOrderId) {
        self.to_session.insert(hosted, session);
        self.to_hosted.insert(session, hosted);
    }
}

impl Relay {
    /// A relay for a strategy granted `granted` (both sides' grants), reading `indicators`.
    pub(crate) fn new(granted: Capabilities, indicators: Vec<IndicatorHandle>) -> Relay {
        Relay { granted, indicators, ids: IdMap::default() }
    }

    /// The strategy's id of one of the session's order ids (`None`: an order it never knew).
    pub(crate) fn hosted_id(&self, order: ClientOrderId) -> Option<u64> {
        self.ids.to_hosted.get(&order).copied()
    }

    /// Records ids the strategy gave inherited orders: `(its id, the session's)`.
    pub(crate) fn adopt(&mut self, inherited: impl IntoIterator<Item = (u64, u64)>) {
        for (hosted, session) in inherited {
            self.ids.insert(hosted, ClientOrderId(session));
        }
    }
}

impl Relay {
    /// What the strategy may read now, through the session's checked context: only the parts
    /// both sides grant (nothing is counted here; the host counts the reads it refuses).
    pub(crate) fn gather(&self, ctx: &StrategyContext<'_>) -> View {
        let allows = |capability| self.granted.contains(capability) && ctx.allows(capability);
        let instruments = (0u32..).take_while(|id| ctx.instrument(InstrumentId(*id)).is_some());
        let mut view = View::default();
        if allows(Capability::ReadClock) {
            view.now = ctx.now().ok().map(|ts| ts.0);
        }
        if allows(Capability::ReadPosition) {
            view.positions = instruments
                .clone()
                .filter_map(|id| ctx.position(InstrumentId(id)).ok().filter(|qty| *qty != Qty(0)).map(|qty| (id, qty)))
                .collect();
            view.open_orders = ctx
                .open_orders()
                .unwrap_or_default()
                .iter()
                .filter_map(|order| self.ids.to_hosted.get(&order.id).map(|id| WireOpenOrder::of(order, *id)))
                .collect();
        }
        if allows(Capability::ReadPortfolio) {
            view.cash = ctx.cash().ok();
            view.equity = ctx.equity().ok();
        }
        if allows(Capability::Indicators) {
            view.indicators = self
                .indicators
                .iter()
                .map(|handle| {
                    let mut outputs: Vec<Option<u64>> = (0..MAX_INDICATOR_OUTPUTS)
                        .map(|output| ctx.indicator_output(*handle, output).ok().flatten().map(f64::to_bits))
                        .collect();
                    while outputs.last() == Some(&None) {
                        outputs.pop();
                    }
                    outputs
                })
                .collect();
        }
        if allows(Capability::MarketData) {
            view.markets = instruments
                .filter_map(|id| {
                    let instrument = InstrumentId(id);
                    let (bid, ask) = ctx.top_of_book(instrument).unwrap_or_default();
                    let last = ctx.last_price(instrument).ok().flatten();
                    (bid.is_some() || ask.is_some() || last.is_some()).then_some(WireMarket {
                        instrument: id,
                        bid,
                        ask,
                        last,
                    })
                })
                .collect();
        }
        view
    }

    /// Replays the strategy's intents through the session's context, narrowed to the agreed
    /// grant, and counts the reads the host refused.
    pub(crate) fn replay(&mut self, intents: Vec<Intent>, denied: &[(Capability, u32)], ctx: &mut StrategyContext<'_>) {
        let mut ctx = ctx.narrowed(self.granted);
        for intent in intents {
            match intent {
                Intent::Submit { id, order } => {
                    let session = ctx.submit(order.into());
                    self.ids.insert(id, session);
                }
                // Refused on the host for want of `submit-orders`: refused here too, so the
                // strategy sees the rejection and the session counts the denial.
                Intent::Refused { id, order } => {
                    let session = ctx.narrowed(Capabilities::NONE).submit(order.into());
                    self.ids.insert(id, session);
                }
                Intent::Bracket { entry, stop_loss, take_profit, order, stop_loss_price, take_profit_price } => {
                    let exits = BracketExits { stop_loss: stop_loss_price, take_profit: take_profit_price };
                    let bracket = ctx.submit_bracket(order.into(), exits);
                    self.ids.insert(entry, bracket.entry);
                    for (hosted, session) in [(stop_loss, bracket.stop_loss), (take_profit, bracket.take_profit)] {
                        if let (Some(hosted), Some(session)) = (hosted, session) {
                            self.ids.insert(hosted, session);
                        }
                    }
                }
                Intent::Cancel { id } => match self.ids.to_session.get(&id) {
                    Some(session) => {
                        let _ = ctx.cancel(*session);
                    }
                    None => {
                        tracing::debug!(id, "remote strategy: a cancel of an order it never had")
                    }
                },
            }
        }
        for (capability, times) in denied {
            ctx.record_denied(*capability, *times);
        }
    }
}

#[cfg(test)]
mod tests {
    use tradsys_core::component::{OpenOrder, OrderRequest};
    use tradsys_core::testing::TestHost;
    use tradsys_core::types::{Price, Side};

    use super::*;
    use crate::wire::WireOrder;

    fn market(qty: i64) -> WireOrder {
        OrderRequest::market(InstrumentId(0), Side::Buy, Qty(qty)).into()
    }

    #[test]
    fn a_view_holds_only_what_both_sides_grant_and_names_orders_by_the_strategys_ids() {
        let mut host = TestHost::new();
        host.positions.insert(InstrumentId(0), Qty(4));
        host.last.insert(InstrumentId(0), Price::from_units(7));
        host.indicators.insert((IndicatorHandle(3), 1), 0.25);
        let order = OpenOrder {
            id: ClientOrderId(70),
            instrument: InstrumentId(0),
            side: Side::Buy,
            price: Price::from_units(6),
            trigger: None,
            remaining: Qty(1),
        };
        host.open = vec![order];
        let mut relay =
            Relay::new(Capabilities::of(&[Capability::ReadPosition, Capability::Indicators]), vec![IndicatorHandle(3)]);
        relay.adopt([(2, 70)]);
        let view = relay.gather(&host.context());
        assert_eq!(view.positions, [(0, Qty(4))]);
        assert_eq!(view.open_orders, [WireOpenOrder::of(&order, 2)], "the strategy's id, not the session's");
        assert_eq!(view.indicators, [vec![None, Some(0.25f64.to_bits())]], "outputs up to the last known one");
        assert!(view.markets.is_empty() && view.cash.is_none() && view.now.is_none(), "not granted: not sent");
        assert!(!host.permissions.any_denied(), "gathering counts nothing");

        // Granted by the host but not by the session: not sent either.
        host.permissions = tradsys_core::capability::Permissions::new(Capabilities::of(&[Capability::ReadPortfolio]));
        let relay = Relay::new(Capabilities::of(&[Capability::ReadPosition, Capability::ReadPortfolio]), Vec::new());
        let view = relay.gather(&host.context());
        assert!(view.positions.is_empty() && view.cash == Some(host.cash), "{view:?}");
    }

    #[test]
    fn intents_replay_through_the_session_narrowed_to_the_shared_grant() {
        let mut host = TestHost::new();
        let granted = Capabilities::of(&[Capability::SubmitOrders, Capability::CancelOrders]);
        let mut relay = Relay::new(granted, Vec::new());
        let exits = (Some(Price::from_units(1)), None);
        let intents = vec![
            Intent::Submit { id: 1, order: market(1) },
            Intent::Refused { id: 2, order: market(2) },
            Intent::Bracket {
                entry: 3,
                stop_loss: Some(4),
                take_profit: None,
                order: market(3),
                stop_loss_price: exits.0,
                take_profit_price: exits.1,
            },
            Intent::Cancel { id: 1 },
            Intent::Cancel { id: 99 },
        ];
        relay.replay(intents, &[(Capability::ReadPosition, 3)], &mut host.context());
        let submitted: Vec<ClientOrderId> = host.submitted.iter().map(|(id, _)| *id).collect();
        assert_eq!(submitted.len(), 1);
        assert_eq!(host.refused.len(), 1, "refused on the host: refused here too, so the strategy sees it");
        assert_eq!(host.brackets.len(), 1);
        assert_eq!(host.cancelled, [submitted[0]], "a cancel names the session's id; one of an unknown id is dropped");
        let bracket = host.brackets[0].0;
        assert_eq!(relay.hosted_id(bracket.entry), Some(3));
        assert_eq!(relay.hosted_id(bracket.stop_loss.unwrap()), Some(4));
        let denied: Vec<(Capability, u32)> = host.permissions.take_denied().collect();
        assert_eq!(denied, [(Capability::SubmitOrders, 1), (Capability::ReadPosition, 3)]);

        // A host that sends an order its grant does not cover is refused by the session itself.
        let mut relay = Relay::new(Capabilities::of(&[Capability::CancelOrders]), Vec::new());
        relay.replay(vec![Intent::Submit { id: 5, order: market(1) }], &[], &mut host.context());
        assert_eq!((host.submitted.len(), host.refused.len()), (1, 2));
    }
}
