//! Components: the behaviour trait of each kind, each with the same lifecycle hooks.
//!
//! A component reaches the world only through the context handle each call is given
//! ([`InitContext`], [`StrategyContext`], [`RiskView`], [`FeedContext`]), never through globals,
//! and each handle checks the component's [capabilities](crate::capability) at that one point.

pub use feed::{BadRows, Feed, FeedContext, FeedData, FeedError, FeedHealth, FeedPoll};
pub use id::ComponentId;
pub use indicator::{Indicator, IndicatorHandle};
pub use risk::{RiskFacts, RiskReject, RiskValidator, RiskView};
pub use strategy::{
    Bracket, BracketExits, ClientOrderId, FillReport, Handover, OpenOrder, OrderRequest, OrderStatus, OrderUpdate,
    Strategy, StrategyContext, StrategyHost, StrategySnapshot,
};
pub use waker::Waker;

use figment::value::Dict;
use serde::Serialize;

use crate::capability::{Capability, Permissions};
use crate::instrument::InstrumentTable;
use crate::types::{InstrumentId, Price};

/// A component's own error: what went wrong, in its words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ComponentError(pub String);

impl ComponentError {
    /// Makes an error from a message, cut to at most 600 characters (a message that quotes its
    /// input, a path or a field, stays readable however long the input was).
    pub fn new(message: impl Into<String>) -> ComponentError {
        let message = message.into();
        match crate::limits::shorten(&message, 600) {
            std::borrow::Cow::Borrowed(_) => ComponentError(message),
            std::borrow::Cow::Owned(short) => ComponentError(short),
        }
    }
}

/// What a component did with new parameters ([`reconfigure`](Strategy::reconfigure)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reconfigured {
    /// Applied to the running instance; its state is kept.
    InPlace,
    /// Not supported in place: the session builds a fresh instance with the new parameters.
    Rebuild,
}

/// Writes the lifecycle hooks into a kind's trait, so every kind has the same four, each a no-op by
/// default (a plugin with nothing to set up writes none). The assembly drives them in this order:
///
/// 1. **load**: the instance is built from validated parameters ([`Plugin::build`](crate::plugin::Plugin::build));
/// 2. **init**: the component resolves what it needs (instruments, indicators) through [`InitContext`];
/// 3. **start**: just before the first event (again after a stop, if the slot is restarted);
/// 4. **stop**: after the last event, in reverse dependency order;
/// 5. **unload**: just before the instance is dropped.
///
/// A failing `init` or `start` marks the component failed, and the assembly stops and unloads what
/// already started.
macro_rules! lifecycle_hooks {
    () => {
        /// Resolves instruments and dependencies (after `build`, before `start`).
        ///
        /// # Errors
        /// Anything that makes the component unusable; the run does not start.
        fn init(
            &mut self,
            _ctx: &mut $crate::component::InitContext<'_>,
        ) -> Result<(), $crate::component::ComponentError> {
            Ok(())
        }

        /// Called just before the first event, and again when a stopped component is restarted.
        ///
        /// # Errors
        /// Anything that makes the component unusable; the run does not start.
        fn start(&mut self) -> Result<(), $crate::component::ComponentError> {
            Ok(())
        }

        /// Called after the last event (or when the component is stopped while the system runs).
        ///
        /// # Errors
        /// Reported, and the other components still stop.
        fn stop(&mut self) -> Result<(), $crate::component::ComponentError> {
            Ok(())
        }

        /// Called just before the instance is dropped.
        fn unload(&mut self) {}

        /// New parameters while the system runs, already checked against the plugin's `Params`
        /// (decode them with [`decode_params`](crate::plugin::decode_params)). Apply them and return
        /// [`Reconfigured::InPlace`](crate::component::Reconfigured::InPlace) to keep the instance's
        /// state (an order-rate bucket, a warm average); the default,
        /// [`Reconfigured::Rebuild`](crate::component::Reconfigured::Rebuild), has the session
        /// build a fresh instance with them and swap it in.
        ///
        /// # Errors
        /// Parameters this instance cannot take now; nothing changes and the change is refused.
        fn reconfigure(
            &mut self,
            _params: &figment::value::Dict,
        ) -> Result<$crate::component::Reconfigured, $crate::component::ComponentError> {
            Ok($crate::component::Reconfigured::Rebuild)
        }
    };
}
pub(crate) use lifecycle_hooks;

mod feed;
mod id;
mod indicator;
mod risk;
mod strategy;
mod waker;

/// Builds indicators on behalf of a component during `init` (implemented by the session).
pub trait IndicatorProvider {
    /// Builds (or shares) an indicator `name` with `params`, bound to `instrument` (whose symbol is
    /// `symbol`).
    ///
    /// # Errors
    /// Unknown indicator, bad parameters, or an indicator the requester did not declare.
    fn request(
        &mut self,
        requester: &str,
        instrument: InstrumentId,
        symbol: &str,
        name: &str,
        params: Dict,
    ) -> Result<IndicatorHandle, ComponentError>;

    /// The handle of a configured indicator instance, by its config id.
    ///
    /// # Errors
    /// No indicator with that id is configured.
    fn configured(&mut self, requester: &str, id: &str) -> Result<IndicatorHandle, ComponentError>;
}

/// What a component may use while it initializes. Building indicators needs the `indicators`
/// capability; resolving instruments and reading the seed need none.
pub struct InitContext<'a> {
    component: &'a str,
    instruments: &'a mut InstrumentTable,
    seed: u64,
    indicators: Option<&'a mut dyn IndicatorProvider>,
    /// `None`: unchecked (a test's context); the session always sets the component's.
    permissions: Option<&'a Permissions>,
}

impl std::fmt::Debug for InitContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InitContext").field("component", &self.component).field("seed", &self.seed).finish()
    }
}

impl<'a> InitContext<'a> {
    /// A context for the component with config id `component`.
    pub fn new(component: &'a str, instruments: &'a mut InstrumentTable, seed: u64) -> InitContext<'a> {
        InitContext { component, instruments, seed, indicators: None, permissions: None }
    }

    /// Checks the component's calls against `permissions`.
    #[must_use]
    pub fn with_permissions(mut self, permissions: &'a Permissions) -> InitContext<'a> {
        self.permissions = Some(permissions);
        self
    }

    fn check(&self, capability: Capability) -> Result<(), ComponentError> {
        match self.permissions {
            Some(permissions) => permissions
                .check(capability)
                .map_err(|denied| ComponentError::new(format!("{}: {denied}", self.component))),
            None => Ok(()),
        }
    }

    /// Lets the component build indicators through `provider`.
    #[must_use]
    pub fn with_indicators(mut self, provider: &'a mut dyn IndicatorProvider) -> InitContext<'a> {
        self.indicators = Some(provider);
        self
    }

    /// What the component may use (everything in an unchecked test context).
    #[must_use]
    pub fn allowed(&self) -> crate::capability::Capabilities {
        self.permissions.map_or(crate::capability::Capabilities::ALL, Permissions::allowed)
    }

    /// The component's config id.
    #[must_use]
    pub fn component(&self) -> &str {
        self.component
    }

    /// A seed for the component's own randomness, derived from the run's seed and the component's id.
    #[must_use]
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Resolves a symbol, declaring it with default tick and lot if it is new.
    ///
    /// # Errors
    /// A symbol with characters outside `[A-Za-z0-9._/-]`.
    pub fn instrument(&mut self, symbol: &str) -> Result<InstrumentId, ComponentError> {
        self.instruments.resolve(symbol).map_err(|error| ComponentError::new(error.to_string()))
    }

    /// Resolves `symbol` for data whose prices are quoted to `tick`: an instrument the config
    /// declared keeps its tick, one nobody declared takes `tick` (and the run's report says it was
    /// inferred). Returns the id and the tick in force.
    ///
    /// # Errors
    /// A symbol with characters outside `[A-Za-z0-9._/-]`.
    pub fn instrument_quoted_in(&mut self, symbol: &str, tick: Price) -> Result<(InstrumentId, Price), ComponentError> {
        let id = self.instrument(symbol)?;
        let tick = self.instruments.infer_tick(id, tick).unwrap_or(tick);
        Ok((id, tick))
    }

    /// Resolves `symbol`, or the primary instrument when `symbol` is empty (the usual strategy
    /// parameter convention).
    ///
    /// # Errors
    /// A symbol with characters outside `[A-Za-z0-9._/-]`.
    pub fn instrument_or_primary(&mut self, symbol: &str) -> Result<InstrumentId, ComponentError> {
        if symbol.is_empty() {
            Ok(self.primary_instrument().unwrap_or(InstrumentId(0)))
        } else {
            self.instrument(symbol)
        }
    }

    /// The instruments known so far.
    #[must_use]
    pub fn instruments(&self) -> &InstrumentTable {
        self.instruments
    }

    /// The first instrument declared (the session's primary one), if any.
    #[must_use]
    pub fn primary_instrument(&self) -> Option<InstrumentId> {
        (!self.instruments.is_empty()).then_some(InstrumentId(0))
    }

    /// Builds (or shares) indicator `name` with `params`, bound to `instrument`.
    ///
    /// # Errors
    /// No indicator provider here, unknown indicator, or bad parameters.
    pub fn indicator(
        &mut self,
        instrument: InstrumentId,
        name: &str,
        params: impl Serialize,
    ) -> Result<IndicatorHandle, ComponentError> {
        self.check(Capability::Indicators)?;
        let params = match figment::value::Value::serialize(params) {
            Ok(figment::value::Value::Dict(_, dict)) => dict,
            Ok(_) | Err(_) => {
                return Err(ComponentError::new(format!("parameters for indicator {name} must be a table")));
            }
        };
        let component = self.component;
        let Some(symbol) = self.instruments.try_get(instrument).map(|i| i.symbol.clone()) else {
            return Err(ComponentError::new(format!(
                "{component}: indicator {name} asked for unknown instrument id {}",
                instrument.0
            )));
        };
        self.provider()?.request(component, instrument, &symbol, name, params)
    }

    /// The handle of a configured indicator instance, by its config id.
    ///
    /// # Errors
    /// No indicator provider here, or no indicator with that id.
    pub fn configured_indicator(&mut self, id: &str) -> Result<IndicatorHandle, ComponentError> {
        self.check(Capability::Indicators)?;
        let component = self.component;
        self.provider()?.configured(component, id)
    }

    fn provider(&mut self) -> Result<&mut dyn IndicatorProvider, ComponentError> {
        match self.indicators.as_deref_mut() {
            Some(provider) => Ok(provider),
            None => Err(ComponentError::new(format!("{}: indicators are not available here", self.component))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::Capabilities;

    #[test]
    fn building_an_indicator_at_init_needs_the_indicators_capability() {
        let mut instruments = InstrumentTable::default();
        let id = instruments.resolve("T").unwrap();
        let permissions = Permissions::new(Capabilities::NONE);
        let mut ctx = InitContext::new("s", &mut instruments, 1).with_permissions(&permissions);
        let error = ctx.indicator(id, "sma", Dict::new()).unwrap_err();
        assert_eq!(error.to_string(), "s: permission denied: capability indicators is not granted");
        assert_eq!(ctx.configured_indicator("x").unwrap_err().to_string(), error.to_string());
        assert!(ctx.instrument("U").is_ok(), "resolving instruments needs no capability");
        assert_eq!(permissions.take_denied().collect::<Vec<_>>(), [(Capability::Indicators, 2)]);
    }
}
