//! Standard pre-trade risk validators, each its own component:
//!
//! | name | refuses an order when | params |
//! |---|---|---|
//! | `max-order-qty` | its quantity exceeds `max_qty` lots | `max_qty` |
//! | `max-notional` | price × qty × lot size exceeds `max_notional` (market orders priced at the reference, else last) | `max_notional` |
//! | `max-position` | position + same-side open orders + the order would pass ±`max_position` lots | `max_position` |
//! | `price-collar` | a limit price is more than `percent` % from the reference price (bar open or mid; else last trade) | `percent` |
//! | `order-rate` | the strategy's token bucket (`rate_per_s` refill, `burst` capacity, on event time) is empty | `rate_per_s`, `burst` |
//! | `kill-switch` | the strategy has lost more than `max_loss`; it then halts the strategy (cancels its open orders, refuses new ones), also on review between events | `max_loss` |
//!
//! Every validator takes new parameters in place while the system runs (`reconfigure`);
//! `order-rate` keeps its buckets' levels across the change.
//!
//! All arithmetic that touches prices and money is fixed-point; the token bucket counts in event-time
//! nanoseconds, so runs are deterministic.

#![deny(unsafe_code)]

use serde::{Deserialize, Serialize};
use tradsys_core::capability::PermissionDenied;
use tradsys_core::component::{ComponentError, OrderRequest, Reconfigured, RiskReject, RiskValidator, RiskView};
use tradsys_core::plugin::{Capability, Dict, Plugin, rebuild_in_place};
use tradsys_core::types::{Money, OrderType, PRICE_SCALE, Price, Side};

/// A read the validator may not make refuses the order: a validator fails closed.
fn read<T>(value: Result<T, PermissionDenied>) -> Result<T, RiskReject> {
    value.map_err(|denied| RiskReject::new(denied.to_string()))
}

/// Refuses orders larger than `max_qty` lots.
#[derive(Debug)]
pub struct MaxOrderQtyRisk {
    max_qty: i64,
}

tradsys_core::plugin_params! {
    /// Parameters of `max-order-qty`.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct MaxOrderQtyParams {
        /// The largest order, in lots.
        /// Range: >= 1
        pub max_qty: i64,
    }
}

impl Default for MaxOrderQtyParams {
    fn default() -> Self {
        MaxOrderQtyParams { max_qty: 1000 }
    }
}

impl Plugin for MaxOrderQtyRisk {
    type Params = MaxOrderQtyParams;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = MaxOrderQtyParams::PARAM_DOCS;
    const SUMMARY: &'static str = "refuses orders above max_qty lots";
    fn build(params: MaxOrderQtyParams) -> Result<Self, ComponentError> {
        positive("max_qty", params.max_qty)?;
        Ok(MaxOrderQtyRisk { max_qty: params.max_qty })
    }
}

impl RiskValidator for MaxOrderQtyRisk {
    fn reconfigure(&mut self, params: &Dict) -> Result<Reconfigured, ComponentError> {
        rebuild_in_place(self, params)
    }

    fn check(&mut self, order: &OrderRequest, _view: &RiskView<'_>) -> Result<(), RiskReject> {
        if order.qty.0 > self.max_qty {
            return Err(RiskReject::new(format!("qty {} > max_qty {}", order.qty.0, self.max_qty)));
        }
        Ok(())
    }

    fn reviews(&self) -> bool {
        false
    }
}

/// Refuses orders whose notional exceeds `max_notional`.
#[derive(Debug)]
pub struct MaxNotionalRisk {
    max_notional: Money,
}

tradsys_core::plugin_params! {
    /// Parameters of `max-notional`.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct MaxNotionalParams {
        /// The largest notional, in money.
        /// Range: > 0
        pub max_notional: Money,
    }
}

impl Default for MaxNotionalParams {
    fn default() -> Self {
        MaxNotionalParams { max_notional: Money::from_raw(1_000_000 * PRICE_SCALE) }
    }
}

impl Plugin for MaxNotionalRisk {
    type Params = MaxNotionalParams;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = MaxNotionalParams::PARAM_DOCS;
    const SUMMARY: &'static str = "refuses orders whose notional exceeds max_notional";
    const CAPABILITIES: &'static [Capability] = &[Capability::MarketData];
    fn build(params: MaxNotionalParams) -> Result<Self, ComponentError> {
        positive("max_notional", params.max_notional.raw())?;
        Ok(MaxNotionalRisk { max_notional: params.max_notional })
    }
}

impl RiskValidator for MaxNotionalRisk {
    fn reconfigure(&mut self, params: &Dict) -> Result<Reconfigured, ComponentError> {
        rebuild_in_place(self, params)
    }

    fn check(&mut self, order: &OrderRequest, view: &RiskView<'_>) -> Result<(), RiskReject> {
        // A limit or stop is valued where it would trade: its limit, else its trigger.
        let price = match order.order_type {
            OrderType::Market => read(view.reference_price())?.or(read(view.last_price())?),
            OrderType::Limit | OrderType::Stop | OrderType::StopLimit => order.expected_price(),
        };
        let Some(price) = price else {
            return Err(RiskReject::new("no price to value the order at (no reference or last price yet)"));
        };
        match Money::notional(price, order.qty, view.instrument().lot_size) {
            Some(notional) if notional <= self.max_notional => Ok(()),
            Some(notional) => Err(RiskReject::new(format!("notional {notional} > max_notional {}", self.max_notional))),
            None => Err(RiskReject::new("notional overflows")),
        }
    }

    fn reviews(&self) -> bool {
        false
    }
}

/// Refuses orders that could take the position past ±`max_position` lots.
#[derive(Debug)]
pub struct MaxPositionRisk {
    max_position: i64,
}

tradsys_core::plugin_params! {
    /// Parameters of `max-position`.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct MaxPositionParams {
        /// The largest position, long or short, in lots.
        /// Range: >= 1
        pub max_position: i64,
    }
}

impl Default for MaxPositionParams {
    fn default() -> Self {
        MaxPositionParams { max_position: 100 }
    }
}

impl Plugin for MaxPositionRisk {
    type Params = MaxPositionParams;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = MaxPositionParams::PARAM_DOCS;
    const SUMMARY: &'static str = "refuses orders that could take the position past max_position lots";
    const CAPABILITIES: &'static [Capability] = &[Capability::ReadPosition];
    fn build(params: MaxPositionParams) -> Result<Self, ComponentError> {
        positive("max_position", params.max_position)?;
        Ok(MaxPositionRisk { max_position: params.max_position })
    }
}

impl RiskValidator for MaxPositionRisk {
    fn reconfigure(&mut self, params: &Dict) -> Result<Reconfigured, ComponentError> {
        rebuild_in_place(self, params)
    }

    fn check(&mut self, order: &OrderRequest, view: &RiskView<'_>) -> Result<(), RiskReject> {
        let position = read(view.position())?.0;
        let (open_buy, open_sell) = read(view.open_orders())?;
        let worst = match order.side {
            Side::Buy => position + open_buy.0 + order.qty.0,
            Side::Sell => position - open_sell.0 - order.qty.0,
        };
        if worst.abs() > self.max_position {
            return Err(RiskReject::new(format!(
                "position could reach {worst} (position {}, open {} {}, order {}), beyond ±{}",
                position,
                order.side,
                if order.side == Side::Buy { open_buy.0 } else { open_sell.0 },
                order.qty.0,
                self.max_position
            )));
        }
        Ok(())
    }

    fn reviews(&self) -> bool {
        false
    }
}

/// Refuses limit prices too far from the reference price.
#[derive(Debug)]
pub struct PriceCollarRisk {
    percent: Price,
}

tradsys_core::plugin_params! {
    /// Parameters of `price-collar`.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct PriceCollarParams {
        /// Largest distance from the reference, in percent (decimal, e.g. `5` or `0.5`).
        /// Range: > 0
        pub percent: Price,
    }
}

impl Default for PriceCollarParams {
    fn default() -> Self {
        PriceCollarParams { percent: Price::from_units(5) }
    }
}

impl Plugin for PriceCollarRisk {
    type Params = PriceCollarParams;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = PriceCollarParams::PARAM_DOCS;
    const SUMMARY: &'static str = "refuses limit prices more than percent % from the reference price";
    const CAPABILITIES: &'static [Capability] = &[Capability::MarketData];
    fn build(params: PriceCollarParams) -> Result<Self, ComponentError> {
        positive("percent", params.percent.raw())?;
        Ok(PriceCollarRisk { percent: params.percent })
    }
}

impl RiskValidator for PriceCollarRisk {
    fn reconfigure(&mut self, params: &Dict) -> Result<Reconfigured, ComponentError> {
        rebuild_in_place(self, params)
    }

    fn check(&mut self, order: &OrderRequest, view: &RiskView<'_>) -> Result<(), RiskReject> {
        let reference = read(view.reference_price())?.or(read(view.last_price())?);
        let (Some(price), Some(reference)) = (order.price, reference) else {
            return Ok(());
        };
        // |price − reference| / reference ≤ percent / 100, cross-multiplied in integers.
        let distance = i128::from((price.raw() - reference.raw()).abs()) * 100 * i128::from(PRICE_SCALE);
        let allowed = i128::from(self.percent.raw()) * i128::from(reference.raw());
        if distance > allowed {
            return Err(RiskReject::new(format!(
                "limit {price} is more than {}% from the reference {reference}",
                self.percent
            )));
        }
        Ok(())
    }

    fn reviews(&self) -> bool {
        false
    }
}

/// A token bucket per strategy.
#[derive(Debug)]
pub struct OrderRateRisk {
    refill_ns_per_token: i64,
    burst: i64,
    /// Per strategy index: (tokens × refill_ns_per_token, last time seen).
    buckets: Vec<Option<(i64, i64)>>,
}

tradsys_core::plugin_params! {
    /// Parameters of `order-rate`.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct OrderRateParams {
        /// Tokens added per second of event time.
        /// Range: > 0
        pub rate_per_s: f64,
        /// Bucket capacity (and starting tokens).
        /// Range: >= 1
        pub burst: i64,
    }
}

impl Default for OrderRateParams {
    fn default() -> Self {
        OrderRateParams { rate_per_s: 100.0, burst: 100 }
    }
}

impl Plugin for OrderRateRisk {
    type Params = OrderRateParams;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = OrderRateParams::PARAM_DOCS;
    const SUMMARY: &'static str = "token-bucket order rate limit per strategy, on event time";
    const CAPABILITIES: &'static [Capability] = &[Capability::ReadClock];
    fn build(params: OrderRateParams) -> Result<Self, ComponentError> {
        if !(params.rate_per_s.is_finite() && params.rate_per_s > 0.0) {
            return Err(ComponentError::new(format!("rate_per_s must be positive, got {}", params.rate_per_s)));
        }
        positive("burst", params.burst)?;
        let refill_ns_per_token = ((1e9 / params.rate_per_s).round() as i64).max(1);
        Ok(OrderRateRisk { refill_ns_per_token, burst: params.burst, buckets: Vec::new() })
    }
}

impl RiskValidator for OrderRateRisk {
    /// New limits in place; each strategy's bucket keeps its level (capped at the new burst) and
    /// its clock, so a new limit does not hand out a fresh burst.
    fn reconfigure(&mut self, params: &Dict) -> Result<Reconfigured, ComponentError> {
        let buckets = std::mem::take(&mut self.buckets);
        let result = rebuild_in_place(self, params);
        let full = self.burst.saturating_mul(self.refill_ns_per_token);
        self.buckets = buckets.into_iter().map(|b| b.map(|(level, last)| (level.min(full), last))).collect();
        result
    }

    fn check(&mut self, _order: &OrderRequest, view: &RiskView<'_>) -> Result<(), RiskReject> {
        let at = view.strategy() as usize;
        if self.buckets.len() <= at {
            self.buckets.resize(at + 1, None);
        }
        let full = self.burst.saturating_mul(self.refill_ns_per_token);
        let now = read(view.now())?.0;
        let (level, last) = self.buckets[at].unwrap_or((full, now));
        let level = level.saturating_add(now.saturating_sub(last).max(0)).min(full);
        if level < self.refill_ns_per_token {
            self.buckets[at] = Some((level, now));
            return Err(RiskReject::new(format!(
                "order rate above {:.3}/s (burst {})",
                1e9 / self.refill_ns_per_token as f64,
                self.burst
            )));
        }
        self.buckets[at] = Some((level - self.refill_ns_per_token, now));
        Ok(())
    }

    fn reviews(&self) -> bool {
        false
    }
}

/// Halts a strategy whose loss passes `max_loss`.
#[derive(Debug)]
pub struct KillSwitchRisk {
    max_loss: Money,
}

tradsys_core::plugin_params! {
    /// Parameters of `kill-switch`.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct KillSwitchParams {
        /// The loss (positive money) at which the strategy is halted.
        /// Range: > 0
        pub max_loss: Money,
    }
}

impl Default for KillSwitchParams {
    fn default() -> Self {
        KillSwitchParams { max_loss: Money::from_raw(10_000 * PRICE_SCALE) }
    }
}

impl Plugin for KillSwitchRisk {
    type Params = KillSwitchParams;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = KillSwitchParams::PARAM_DOCS;
    const SUMMARY: &'static str = "halts a strategy (cancels its orders, refuses new ones) past max_loss";
    const CAPABILITIES: &'static [Capability] = &[Capability::ReadPortfolio];
    fn build(params: KillSwitchParams) -> Result<Self, ComponentError> {
        positive("max_loss", params.max_loss.raw())?;
        Ok(KillSwitchRisk { max_loss: params.max_loss })
    }
}

impl KillSwitchRisk {
    /// A halt past `max_loss`; without `read-portfolio` it cannot watch the strategy, so it halts it.
    fn verdict(&self, view: &RiskView<'_>) -> Option<RiskReject> {
        let pnl = match view.pnl() {
            Ok(pnl) => pnl,
            Err(denied) => return Some(RiskReject::halt(denied.to_string())),
        };
        (pnl.raw() < -self.max_loss.raw()).then(|| {
            RiskReject::halt(format!("loss {} exceeds max_loss {}", Money::from_raw(-pnl.raw()), self.max_loss))
        })
    }
}

impl RiskValidator for KillSwitchRisk {
    fn reconfigure(&mut self, params: &Dict) -> Result<Reconfigured, ComponentError> {
        rebuild_in_place(self, params)
    }

    fn check(&mut self, _order: &OrderRequest, view: &RiskView<'_>) -> Result<(), RiskReject> {
        self.verdict(view).map_or(Ok(()), Err)
    }

    fn review(&mut self, view: &RiskView<'_>) -> Option<RiskReject> {
        self.verdict(view)
    }
}

fn positive(name: &str, value: i64) -> Result<(), ComponentError> {
    if value > 0 { Ok(()) } else { Err(ComponentError::new(format!("{name} must be positive, got {value}"))) }
}

tradsys_core::register_risk!(MaxOrderQtyRisk, "max-order-qty", "1.0.0");
tradsys_core::register_risk!(MaxNotionalRisk, "max-notional", "1.0.0");
tradsys_core::register_risk!(MaxPositionRisk, "max-position", "1.0.0");
tradsys_core::register_risk!(PriceCollarRisk, "price-collar", "1.0.0");
tradsys_core::register_risk!(OrderRateRisk, "order-rate", "1.0.0");
tradsys_core::register_risk!(KillSwitchRisk, "kill-switch", "1.0.0");

#[cfg(test)]
mod tests {
    use tradsys_core::capability::Permissions;
    use tradsys_core::component::RiskFacts;
    use tradsys_core::instrument::Instrument;
    use tradsys_core::types::{InstrumentId, Qty, Timestamp};

    use super::*;

    /// A view of strategy 0 with every read allowed (leaked: a test's few bytes).
    fn view<'a>(instrument: &'a Instrument, position: i64, pnl: i64, now: i64) -> RiskView<'a> {
        let facts = Box::leak(Box::new(facts(instrument, position, pnl, now)));
        RiskView::new(facts, Box::leak(Box::new(Permissions::all())))
    }

    fn facts<'a>(instrument: &'a Instrument, position: i64, pnl: i64, now: i64) -> RiskFacts<'a> {
        RiskFacts {
            strategy: 0,
            strategy_id: "s",
            now: Timestamp(now),
            instrument,
            position: Qty(position),
            open_buy: Qty(2),
            open_sell: Qty(0),
            last_price: Some(Price::from_units(100)),
            reference_price: Some(Price::from_units(100)),
            pnl: Money::from_raw(pnl * PRICE_SCALE),
        }
    }

    fn limit(side: Side, price: &str, qty: i64) -> OrderRequest {
        OrderRequest::limit(
            InstrumentId(0),
            side,
            price.parse().unwrap(),
            Qty(qty),
            tradsys_core::types::TimeInForce::Gtc,
        )
    }

    #[test]
    fn qty_notional_and_position_limits() {
        let instrument =
            Instrument::new("X", "0.01".parse().unwrap(), tradsys_core::types::LotSize::from_units(10)).unwrap();
        let v = view(&instrument, 5, 0, 0);
        let mut qty = MaxOrderQtyRisk::build(MaxOrderQtyParams { max_qty: 3 }).unwrap();
        assert!(qty.check(&limit(Side::Buy, "100", 3), &v).is_ok());
        assert_eq!(qty.check(&limit(Side::Buy, "100", 4), &v).unwrap_err().reason, "qty 4 > max_qty 3");
        let mut notional = MaxNotionalRisk::build(MaxNotionalParams { max_notional: "3000".parse().unwrap() }).unwrap();
        assert!(notional.check(&limit(Side::Buy, "100", 3), &v).is_ok());
        assert_eq!(
            notional.check(&limit(Side::Buy, "100.01", 3), &v).unwrap_err().reason,
            "notional 3000.3 > max_notional 3000"
        );
        let market = OrderRequest::market(InstrumentId(0), Side::Sell, Qty(4));
        assert!(notional.check(&market, &v).is_err(), "market orders are valued at the reference");
        let mut position = MaxPositionRisk::build(MaxPositionParams { max_position: 10 }).unwrap();
        assert!(position.check(&limit(Side::Buy, "100", 3), &v).is_ok());
        assert!(
            position.check(&limit(Side::Buy, "100", 4), &v).unwrap_err().reason.starts_with("position could reach 11")
        );
        assert!(position.check(&limit(Side::Sell, "100", 15), &v).is_ok());
        assert!(position.check(&limit(Side::Sell, "100", 16), &v).is_err());
    }

    #[test]
    fn collar_is_exact_at_the_boundary() {
        let instrument = Instrument::undeclared("X");
        let v = view(&instrument, 0, 0, 0);
        let mut collar = PriceCollarRisk::build(PriceCollarParams { percent: "5".parse().unwrap() }).unwrap();
        assert!(collar.check(&limit(Side::Buy, "105", 1), &v).is_ok());
        assert!(collar.check(&limit(Side::Buy, "95", 1), &v).is_ok());
        assert!(collar.check(&limit(Side::Buy, "105.01", 1), &v).is_err());
        assert!(collar.check(&OrderRequest::market(InstrumentId(0), Side::Buy, Qty(1)), &v).is_ok());
    }

    #[test]
    fn token_bucket_refills_on_event_time() {
        let instrument = Instrument::undeclared("X");
        let mut rate = OrderRateRisk::build(OrderRateParams { rate_per_s: 2.0, burst: 2 }).unwrap();
        let order = limit(Side::Buy, "100", 1);
        assert!(rate.check(&order, &view(&instrument, 0, 0, 0)).is_ok());
        assert!(rate.check(&order, &view(&instrument, 0, 0, 0)).is_ok());
        assert!(rate.check(&order, &view(&instrument, 0, 0, 0)).is_err());
        assert!(rate.check(&order, &view(&instrument, 0, 0, 400_000_000)).is_err());
        assert!(rate.check(&order, &view(&instrument, 0, 0, 500_000_000)).is_ok());
    }

    #[test]
    fn kill_switch_halts_past_max_loss() {
        let instrument = Instrument::undeclared("X");
        let mut kill = KillSwitchRisk::build(KillSwitchParams { max_loss: "100".parse().unwrap() }).unwrap();
        assert!(kill.check(&limit(Side::Buy, "100", 1), &view(&instrument, 0, -100, 0)).is_ok());
        let halt = kill.review(&view(&instrument, 0, -101, 0)).unwrap();
        assert!(halt.halt);
        assert_eq!(halt.reason, "loss 101 exceeds max_loss 100");
    }

    #[test]
    fn a_read_a_validator_was_not_granted_refuses_the_order_and_is_counted() {
        let instrument = Instrument::undeclared("X");
        let facts = facts(&instrument, 5, -500, 0);
        let nothing = Permissions::new(tradsys_core::capability::Capabilities::NONE);
        let blind = RiskView::new(&facts, &nothing);
        let mut position = MaxPositionRisk::build(MaxPositionParams { max_position: 10 }).unwrap();
        let refused = position.check(&limit(Side::Buy, "100", 1), &blind).unwrap_err();
        assert_eq!(refused.reason, "permission denied: capability read-position is not granted");
        let mut kill = KillSwitchRisk::build(KillSwitchParams { max_loss: "100".parse().unwrap() }).unwrap();
        assert!(kill.review(&blind).unwrap().halt, "a kill switch that cannot see the PnL halts the strategy");
        let denied: Vec<_> = nothing.take_denied().collect();
        assert_eq!(
            denied,
            [
                (tradsys_core::capability::Capability::ReadPosition, 1),
                (tradsys_core::capability::Capability::ReadPortfolio, 1)
            ]
        );
    }

    #[test]
    fn non_positive_limits_are_refused() {
        assert!(MaxOrderQtyRisk::build(MaxOrderQtyParams { max_qty: 0 }).is_err());
        assert!(OrderRateRisk::build(OrderRateParams { rate_per_s: 0.0, burst: 1 }).is_err());
    }

    #[test]
    fn new_rate_limits_keep_the_buckets_so_a_change_hands_out_no_fresh_burst() {
        let instrument = Instrument::new("T", Price::from_units(1), tradsys_core::types::LotSize::ONE).unwrap();
        let order = limit(Side::Buy, "100", 1);
        let mut rate = OrderRateRisk::build(OrderRateParams { rate_per_s: 1.0, burst: 2 }).unwrap();
        assert!(rate.check(&order, &view(&instrument, 0, 0, 0)).is_ok());
        assert!(rate.check(&order, &view(&instrument, 0, 0, 0)).is_ok());
        assert!(rate.check(&order, &view(&instrument, 0, 0, 0)).is_err(), "the burst of 2 is spent");
        let params = tradsys_core::plugin::default_params::<OrderRateRisk>().map(|mut p| {
            p.insert("burst".to_owned(), 10.into());
            p
        });
        assert_eq!(rate.reconfigure(&params.unwrap()), Ok(Reconfigured::InPlace));
        assert!(rate.check(&order, &view(&instrument, 0, 0, 0)).is_err(), "a bigger burst does not refill the bucket");
        let bad = Dict::from([("burst".to_owned(), 0.into())]);
        assert!(rate.reconfigure(&bad).is_err());
        assert_eq!(rate.burst, 10, "a refused change leaves the limits as they were");
        assert!(KillSwitchRisk::build(KillSwitchParams { max_loss: Money::ZERO }).is_err());
    }
}
