//! The risk chain: validators in `order`, then id, checking every strategy order, and reviewing
//! strategies after marks. It fails closed: a validator that failed refuses every later order
//! (naming itself), and one that fails while reviewing a strategy halts that strategy.

use super::strategies::{HaltReason, StrategyRuntime};
use super::{InstrumentState, Session, SessionObserver};
use crate::boundary::Call;
use crate::component::{FeedData, OrderRequest, RiskFacts, RiskReject, RiskView};
use crate::factory::{Assembly, InvokeError};
use crate::instrument::InstrumentTable;
use crate::matching::MatchingAlgorithm;
use crate::plugin::{Instance, Kind};
use crate::types::{InstrumentId, Money, Price, Qty, Side, Timestamp};

/// One validator's place in the chain.
#[derive(Debug)]
pub(super) struct RiskLink {
    pub(super) slot: usize,
    pub(super) id: String,
    pub(super) label: String,
    pub(super) order: i64,
    pub(super) rejections: u64,
    /// The validator's [`RiskValidator::reviews`](crate::component::RiskValidator::reviews), asked
    /// once when the chain is built.
    pub(super) reviews: bool,
}

impl RiskLink {
    /// The chain of the assembly's validators, in evaluation order.
    pub(super) fn chain(assembly: &mut Assembly) -> Vec<RiskLink> {
        let mut chain: Vec<RiskLink> = assembly
            .slots()
            .iter()
            .enumerate()
            // A validator removed while the system runs leaves the chain; a stopped one stays (and
            // refuses every order: the chain fails closed).
            .filter(|(_, component)| {
                component.kind() == Kind::Risk && *component.state() != crate::factory::LifecycleState::Unloaded
            })
            .map(|(slot, component)| RiskLink {
                slot,
                id: component.id().to_owned(),
                label: component.label().to_owned(),
                order: component.order(),
                rejections: 0,
                reviews: false,
            })
            .collect();
        chain.sort_by(|a, b| (a.order, &a.id).cmp(&(b.order, &b.id)));
        for link in &mut chain {
            // A validator that panics answering is failed, and so refuses every order.
            link.reviews = assembly
                .slot_mut(link.slot)
                .invoke(Call::Reviews, |instance| match instance {
                    Instance::Risk(validator) => validator.reviews(),
                    _ => false,
                })
                .unwrap_or(false);
        }
        chain
    }
}

impl<M: MatchingAlgorithm> Session<M> {
    /// Runs the chain; returns the first refusal and its link.
    pub(super) fn check_risk(&mut self, index: usize, request: &OrderRequest) -> Option<(usize, RiskReject)> {
        if self.risk_chain.is_empty() {
            return None;
        }
        self.refresh_marks();
        let Session { assembly, strategies, engine, market, mode, now, risk_chain, marks, .. } = self;
        let pnl = strategies[index].account.pnl(marks);
        let Some(facts) =
            build_facts(index, request.instrument, strategies, engine.instruments(), market, *mode, *now, pnl)
        else {
            // Unreachable (the caller checked the instrument), and refused all the same: fail closed.
            return Some((0, RiskReject::new(format!("unknown instrument id {}", request.instrument.0))));
        };
        for (link, risk) in risk_chain.iter().enumerate() {
            let slot = assembly.slot_mut(risk.slot);
            let result = slot.invoke_granted(Call::Check, |instance, permissions| match instance {
                Instance::Risk(validator) => validator.check(request, &RiskView::new(&facts, permissions)),
                _ => Ok(()),
            });
            match result {
                Ok(Ok(())) => {}
                Ok(Err(rejection)) => return Some((link, rejection)),
                // Fail closed: a validator that failed (now or earlier) refuses every order after it.
                Err(InvokeError::Panicked(panicked)) => {
                    return Some((link, RiskReject::new(format!("validator failed: panicked: {}", panicked.message))));
                }
                Err(InvokeError::NotRunning) => {
                    let state = slot.state();
                    return Some((link, RiskReject::new(format!("validator not running ({state})"))));
                }
            }
        }
        None
    }

    /// Lets the reviewing validators review every trading strategy; a `halt` or a failure halts it.
    pub(super) fn review_strategies(&mut self, observer: &mut dyn SessionObserver) {
        // Nothing to review without validators that review, or before any instrument exists (an
        // order-flow file with no rows): no position can have been taken.
        if self.reviewing.is_empty() || self.engine.instruments().is_empty() {
            return;
        }
        for index in 0..self.strategies.len() {
            if self.strategies[index].halted.is_some() {
                continue;
            }
            let verdict = {
                let Session { assembly, strategies, engine, market, mode, now, reviewing, equities, .. } = self;
                let pnl = equities[index].saturating_sub(strategies[index].account.initial_cash);
                let Some(facts) =
                    build_facts(index, InstrumentId(0), strategies, engine.instruments(), market, *mode, *now, pnl)
                else {
                    continue;
                };
                reviewing.iter().find_map(|&(link, slot)| {
                    let result =
                        assembly.slot_mut(slot).invoke_granted(Call::Review, |instance, permissions| match instance {
                            Instance::Risk(validator) => validator.review(&RiskView::new(&facts, permissions)),
                            _ => None,
                        });
                    match result {
                        Ok(verdict) => verdict.filter(|r| r.halt).map(|r| (link, r)),
                        // Fail closed: the strategy it could no longer watch stops trading.
                        Err(InvokeError::Panicked(panicked)) => {
                            Some((link, RiskReject::halt(format!("validator failed: panicked: {}", panicked.message))))
                        }
                        Err(InvokeError::NotRunning) => None,
                    }
                })
            };
            if let Some((link, rejection)) = verdict {
                self.risk_chain[link].rejections += 1;
                let validator = self.risk_chain[link].id.clone();
                self.halt(index, HaltReason::Risk { validator, reason: rejection.reason }, observer);
            }
        }
    }
}

/// What validators see of strategy `index` and `instrument`; `None` for an unknown instrument.
#[allow(clippy::too_many_arguments)]
#[inline]
fn build_facts<'a>(
    index: usize,
    instrument: InstrumentId,
    strategies: &'a [StrategyRuntime],
    instruments: &'a InstrumentTable,
    market: &[InstrumentState],
    mode: FeedData,
    now: Timestamp,
    pnl: Money,
) -> Option<RiskFacts<'a>> {
    let runtime = &strategies[index];
    let state = market.get(instrument.0 as usize);
    let (open_buy, open_sell) =
        runtime.open.iter().filter(|o| o.instrument == instrument).fold((0, 0), |(b, s), o| match o.side {
            Side::Buy => (b + o.remaining.0, s),
            Side::Sell => (b, s + o.remaining.0),
        });
    let last_price = state.and_then(|s| s.last);
    let reference = state.and_then(|state| match mode {
        FeedData::Bars => state.bar_open,
        FeedData::OrderFlow => match (state.bid, state.ask) {
            (Some((bid, _)), Some((ask, _))) => Some(Price::from_raw(bid.raw() + (ask.raw() - bid.raw()) / 2)),
            _ => state.last,
        },
    });
    Some(RiskFacts {
        strategy: index as u32,
        strategy_id: &runtime.id,
        now,
        instrument: instruments.try_get(instrument)?,
        position: runtime.account.position(instrument),
        open_buy: Qty(open_buy),
        open_sell: Qty(open_sell),
        last_price,
        reference_price: reference,
        pnl,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::run;

    #[test]
    fn a_refusal_is_counted_for_the_validator_and_the_strategy() {
        let report = run(
            &["1", "1", "1"],
            "[risk.small]\nplugin = \"max-qty\"\nparams = { max = 1 }\n\
             [strategies.s]\nplugin = \"script-strategy\"\nparams = { buy_on = [0, 1], qty = 2 }\n",
        )
        .report;
        assert_eq!(report.risk[0].rejections, 2);
        let s = &report.strategies[0];
        assert_eq!((s.orders, s.rejected, s.fills), (2, 2, 0));
        let small = report.components.iter().find(|c| c.id == "small").unwrap();
        assert_eq!((small.metrics.checks, small.metrics.rejections), (Some(2), Some(2)));
    }
}
