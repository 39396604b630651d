//! Test helpers for plugin authors: drive a strategy, validator or indicator without a session.
//!
//! A plugin's unit tests should assert what the plugin does with market data, not only that it
//! builds. [`TestHost`] stands in for the session behind a [`StrategyContext`]: it records the orders
//! a strategy submits and cancels, and answers its questions (positions, prices, indicator values)
//! from fields the test sets. [`TestIndicators`] stands in for the session at `init` (it records
//! the indicators a component asks for). [`bar`] makes a bar, [`risk_facts`] what a validator
//! sees, and [`params`] a parameter table as a config file would write it (to test how `Params`
//! decode).
//!
//! ```
//! use tradsys_core::prelude::*;
//! use tradsys_core::testing::{TestHost, bar};
//!
//! struct BuyEveryBar;
//! impl Strategy for BuyEveryBar {
//!     fn on_bar(&mut self, bar: &Bar, ctx: &mut StrategyContext<'_>) {
//!         ctx.submit(OrderRequest::market(bar.instrument, Side::Buy, Qty(1)));
//!     }
//! }
//!
//! let mut host = TestHost::new();
//! BuyEveryBar.on_bar(&bar(0, "1.10"), &mut host.context());
//! assert_eq!(host.submitted.len(), 1);
//! ```

use std::collections::BTreeMap;

use crate::capability::{PermissionDenied, Permissions};
use crate::component::{
    Bracket, BracketExits, ClientOrderId, ComponentError, IndicatorHandle, IndicatorProvider, OpenOrder, OrderRequest,
    RiskFacts, StrategyContext, StrategyHost,
};
use crate::instrument::{Instrument, InstrumentTable};
use crate::market::Bar;
use crate::types::{InstrumentId, Money, Price, Qty, Timestamp};

/// A stand-in for the session, for one strategy under test.
#[derive(Debug)]
pub struct TestHost {
    /// The time strategies see.
    pub now: Timestamp,
    /// Instruments; `T` (tick 0.01, lot 1) is declared as id 0.
    pub instruments: InstrumentTable,
    /// Orders submitted, in order, with the ids they were given.
    pub submitted: Vec<(ClientOrderId, OrderRequest)>,
    /// Brackets submitted, in order: their ids, entry order and exits (the entry is not also in
    /// `submitted`).
    pub brackets: Vec<(Bracket, OrderRequest, BracketExits)>,
    /// Cancels asked for, in order.
    pub cancelled: Vec<ClientOrderId>,
    /// Positions by instrument.
    pub positions: BTreeMap<InstrumentId, Qty>,
    /// The strategy's resting orders, as the test wants it to see them.
    pub open: Vec<OpenOrder>,
    /// Indicator outputs by handle and output index.
    pub indicators: BTreeMap<(IndicatorHandle, usize), f64>,
    /// Last prices by instrument.
    pub last: BTreeMap<InstrumentId, Price>,
    /// The strategy's cash (1,000,000 unless the test sets it).
    pub cash: Money,
    /// The strategy's equity (1,000,000 unless the test sets it).
    pub equity: Money,
    /// Orders refused because the strategy may not submit, with the denial.
    pub refused: Vec<(ClientOrderId, OrderRequest, PermissionDenied)>,
    /// What the strategy may do (everything, unless the test restricts it); its refused calls are
    /// counted here.
    pub permissions: Permissions,
    next_id: u64,
}

impl Default for TestHost {
    fn default() -> TestHost {
        TestHost::new()
    }
}

impl TestHost {
    /// A host with instrument `T` (id 0) and nothing else.
    #[must_use]
    pub fn new() -> TestHost {
        let mut instruments = InstrumentTable::default();
        instruments.declare(Instrument::undeclared("T")).expect("an empty table takes an instrument");
        TestHost {
            now: Timestamp(0),
            instruments,
            submitted: Vec::new(),
            brackets: Vec::new(),
            cancelled: Vec::new(),
            positions: BTreeMap::new(),
            open: Vec::new(),
            cash: Money::from_raw(1_000_000 * crate::types::PRICE_SCALE),
            equity: Money::from_raw(1_000_000 * crate::types::PRICE_SCALE),
            indicators: BTreeMap::new(),
            last: BTreeMap::new(),
            refused: Vec::new(),
            permissions: Permissions::all(),
            next_id: 1,
        }
    }

    /// The context a strategy callback takes.
    pub fn context(&mut self) -> StrategyContext<'_> {
        StrategyContext::new(self)
    }
}

impl StrategyHost for TestHost {
    fn permissions(&self) -> &Permissions {
        &self.permissions
    }

    fn refuse(&mut self, order: OrderRequest, denied: PermissionDenied) -> ClientOrderId {
        let id = ClientOrderId(self.next_id);
        self.next_id += 1;
        self.refused.push((id, order, denied));
        id
    }

    fn now(&self) -> Timestamp {
        self.now
    }

    fn submit(&mut self, order: OrderRequest) -> ClientOrderId {
        let id = ClientOrderId(self.next_id);
        self.next_id += 1;
        self.submitted.push((id, order));
        id
    }

    fn submit_bracket(&mut self, entry: OrderRequest, exits: BracketExits) -> Bracket {
        let mut next = || {
            self.next_id += 1;
            ClientOrderId(self.next_id - 1)
        };
        let entry_id = next();
        let stop_loss = exits.stop_loss.map(|_| next());
        let take_profit = exits.take_profit.map(|_| next());
        let bracket = Bracket { entry: entry_id, stop_loss, take_profit };
        self.brackets.push((bracket, entry, exits));
        bracket
    }

    fn cancel(&mut self, id: ClientOrderId) {
        self.cancelled.push(id);
    }

    fn position(&self, instrument: InstrumentId) -> Qty {
        self.positions.get(&instrument).copied().unwrap_or(Qty(0))
    }

    fn open_orders(&self) -> &[OpenOrder] {
        &self.open
    }

    fn cash(&self) -> Money {
        self.cash
    }

    fn equity(&self) -> Money {
        self.equity
    }

    fn indicator(&self, handle: IndicatorHandle, output: usize) -> Option<f64> {
        self.indicators.get(&(handle, output)).copied()
    }

    fn top_of_book(&self, _instrument: InstrumentId) -> (Option<Price>, Option<Price>) {
        (None, None)
    }

    fn last_price(&self, instrument: InstrumentId) -> Option<Price> {
        self.last.get(&instrument).copied()
    }

    fn instrument(&self, instrument: InstrumentId) -> Option<&Instrument> {
        self.instruments.try_get(instrument)
    }
}

/// A stand-in for the session's indicator provider at `init`: it records what a component asks
/// for and hands out handles `0, 1, 2, ...` in order, whose values the test then sets in
/// [`TestHost::indicators`].
///
/// ```
/// use tradsys_core::prelude::*;
/// use tradsys_core::testing::{TestHost, TestIndicators};
///
/// let mut host = TestHost::new();
/// let mut indicators = TestIndicators::default();
/// let mut ctx = InitContext::new("trend", &mut host.instruments, 7).with_indicators(&mut indicators);
/// let instrument = ctx.instrument_or_primary("").unwrap();
/// #[derive(serde::Serialize)]
/// struct Period {
///     period: u32,
/// }
/// let handle = ctx.indicator(instrument, "sma", Period { period: 20 }).unwrap();
/// assert_eq!(indicators.requested[0].name, "sma");
/// assert_eq!(indicators.requested[0].params["period"].to_u128(), Some(20));
/// host.indicators.insert((handle, 0), 1.25);
/// assert_eq!(host.context().indicator(handle), Ok(Some(1.25)));
/// ```
#[derive(Debug, Default)]
pub struct TestIndicators {
    /// What was asked for, in order; the handle of request `i` is `IndicatorHandle(i)`.
    pub requested: Vec<IndicatorRequest>,
}

/// One indicator a component asked for at `init`.
#[derive(Clone, Debug, PartialEq)]
pub struct IndicatorRequest {
    /// The indicator plugin's name (or, for a configured instance, its config id).
    pub name: String,
    /// The instrument it is bound to (`None` for a configured instance).
    pub instrument: Option<InstrumentId>,
    /// Its parameters as the component wrote them.
    pub params: crate::plugin::Dict,
}

impl IndicatorProvider for TestIndicators {
    fn request(
        &mut self,
        _requester: &str,
        instrument: InstrumentId,
        _symbol: &str,
        name: &str,
        params: crate::plugin::Dict,
    ) -> Result<IndicatorHandle, ComponentError> {
        self.requested.push(IndicatorRequest { name: name.to_owned(), instrument: Some(instrument), params });
        self.handle()
    }

    fn configured(&mut self, _requester: &str, id: &str) -> Result<IndicatorHandle, ComponentError> {
        self.requested.push(IndicatorRequest { name: id.to_owned(), instrument: None, params: Default::default() });
        self.handle()
    }
}

impl TestIndicators {
    fn handle(&self) -> Result<IndicatorHandle, ComponentError> {
        u32::try_from(self.requested.len() - 1)
            .map(IndicatorHandle)
            .map_err(|_| ComponentError::new("too many indicators for a test"))
    }
}

/// A flat bar of instrument 0 at minute `minute`, all four prices `price` (a decimal, e.g. `"1.10"`).
///
/// # Panics
/// `price` is not a decimal (a test's own typo).
#[must_use]
pub fn bar(minute: i64, price: &str) -> Bar {
    let price: Price = price.parse().unwrap_or_else(|e| panic!("bad test price {price:?}: {e}"));
    Bar {
        ts: Timestamp(minute * 60_000_000_000),
        instrument: InstrumentId(0),
        open: price,
        high: price,
        low: price,
        close: price,
        volume: 1.0,
    }
}

/// What a validator sees of strategy 0 holding `position` lots of `instrument`, with no resting
/// orders, at reference price `price`: the facts, for [`RiskView::new`](crate::component::RiskView::new) with the permissions the
/// test gives (`&Permissions::all()`, or a restricted set).
#[must_use]
pub fn risk_facts(instrument: &Instrument, position: i64, price: Price) -> RiskFacts<'_> {
    RiskFacts {
        strategy: 0,
        strategy_id: "test",
        now: Timestamp(0),
        instrument,
        position: Qty(position),
        open_buy: Qty(0),
        open_sell: Qty(0),
        last_price: Some(price),
        reference_price: Some(price),
        pnl: Money::ZERO,
    }
}

/// Parameters as a config file writes them (`"period = 0"`), for testing how a plugin's `Params`
/// decode with [`decode_params`](crate::plugin::decode_params).
///
/// # Panics
/// If `toml` is not a TOML table (a typo in the test itself).
#[must_use]
pub fn params(toml: &str) -> crate::plugin::Dict {
    use figment::Provider;
    use figment::providers::Format;
    let data = figment::providers::Toml::string(toml).data().unwrap_or_else(|error| panic!("bad test TOML: {error}"));
    data.into_values().next().unwrap_or_default()
}
