//! The entry point for plugin authors: `use tradsys_core::prelude::*;` brings in every trait a
//! plugin implements, the context handles it acts through, the market-data and order types it
//! handles, the fixed-point numbers, the lifecycle types (reconfiguration, swap handover), and the
//! registration and parameter macros.
//!
//! Where to go from here:
//! - the kinds' traits, each with an example: [`Strategy`], [`RiskValidator`], [`Indicator`],
//!   [`MatchingAlgorithm`], [`Feed`]; and [`Plugin`], which every plugin implements;
//! - the handles a plugin acts through: [`InitContext`] at `init`, [`StrategyContext`],
//!   [`RiskView`], [`FeedContext`], each checking [`Capability`]s;
//! - [`crate::testing`], to drive a plugin in its unit tests without a session;
//! - the guides in `docs/plugins/` of the repository: one worked example per kind, from
//!   `cargo xtask new-plugin` to a run.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use tradsys_core::prelude::*;
//!
//! /// Buys one lot on every bar.
//! #[derive(Debug, Default)]
//! pub struct Eager;
//!
//! /// `eager` takes no parameters.
//! #[derive(Debug, Default, Serialize, Deserialize)]
//! pub struct NoParams {}
//!
//! impl Plugin for Eager {
//!     type Params = NoParams;
//!     const SUMMARY: &'static str = "buys one lot on every bar";
//!     const CAPABILITIES: &'static [Capability] = &[Capability::SubmitOrders];
//!     fn build(_params: NoParams) -> Result<Self, ComponentError> {
//!         Ok(Eager)
//!     }
//! }
//! impl Strategy for Eager {
//!     fn on_bar(&mut self, bar: &Bar, ctx: &mut StrategyContext<'_>) {
//!         ctx.submit(OrderRequest::market(bar.instrument, Side::Buy, Qty(1)));
//!     }
//! }
//! register_strategy!(Eager, "eager", "0.1.0");
//! ```

pub use crate::book::LevelFills;
pub use crate::capability::{Capabilities, PermissionDenied, Permissions};
pub use crate::component::{
    BadRows, Bracket, BracketExits, ClientOrderId, ComponentError, ComponentId, Feed, FeedContext, FeedData, FeedError,
    FeedPoll, FillReport, Handover, Indicator, IndicatorHandle, InitContext, OpenOrder, OrderRequest, OrderStatus,
    OrderUpdate, Reconfigured, RiskFacts, RiskReject, RiskValidator, RiskView, Strategy, StrategyContext,
    StrategySnapshot,
};
pub use crate::instrument::Instrument;
pub use crate::limits::Period;
pub use crate::market::{Bar, MarketEvent, OrderFlowEvent, Quote, TradeTick};
pub use crate::matching::MatchingAlgorithm;
pub use crate::plugin::{Capability, Dependency, Dict, Kind, ParamDoc, Plugin, decode_params};
pub use crate::types::{InstrumentId, Money, OrderType, Price, Qty, Side, TimeInForce, Timestamp};
pub use crate::{
    plugin_params, register_feed, register_indicator, register_matching, register_risk, register_strategy,
};

#[cfg(test)]
mod tests {
    #[test]
    fn the_doc_example_registers_a_plugin_with_listable_defaults() {
        // The example's shape, checked the way the registry and `tradsys plugins` use it.
        #[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
        struct NoParams {}
        #[derive(Debug)]
        struct Eager;
        impl super::Plugin for Eager {
            type Params = NoParams;
            const SUMMARY: &'static str = "test";
            fn build(_params: NoParams) -> Result<Self, super::ComponentError> {
                Ok(Eager)
            }
        }
        assert!(crate::plugin::default_params::<Eager>().unwrap().is_empty());
    }
}
