//! Capabilities: what a component may do through the handles it is given.
//!
//! Every plugin declares what it needs ([`Plugin::CAPABILITIES`](crate::plugin::Plugin::CAPABILITIES));
//! the config grants capabilities per component instance (`capabilities = [...]`, else the
//! [defaults of its kind](Capabilities::default_for)). A component whose needs are not all granted
//! does not start. A running component may use exactly what it declared: each handle
//! ([`InitContext`](crate::component::InitContext), [`StrategyContext`](crate::component::StrategyContext),
//! [`RiskView`](crate::component::RiskView)) checks the capability of every call, and an ungranted
//! call returns [`PermissionDenied`] (a `submit` becomes a rejection the strategy sees), is counted
//! in the component's metrics and logged once per capability.
//!
//! A compiled-in plugin is native code: the handles are the only way the platform *offers* it the
//! world, but nothing stops its own code from opening files or threads around them. `read-files`
//! and `spawn-threads` are declarations checked against the grant, not enforced at run time.
//! Enforced isolation is the WebAssembly tier's: a module reaches the world only through the host
//! functions its grant links.
//!
//! ```
//! use tradsys_core::capability::{Capabilities, Capability};
//! use tradsys_core::plugin::Kind;
//! let strategy = Capabilities::default_for(Kind::Strategy);
//! assert!(strategy.contains(Capability::SubmitOrders));
//! assert!(!Capabilities::default_for(Kind::Risk).contains(Capability::SubmitOrders));
//! assert_eq!("cancel-orders".parse::<Capability>().unwrap(), Capability::CancelOrders);
//! ```

use std::cell::Cell;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::plugin::Kind;
use crate::suggest::did_you_mean;

/// One thing a component may do through its handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// Read market data: last prices, top of book, reference prices, instrument definitions.
    MarketData,
    /// Build indicators at init and read their values.
    Indicators,
    /// Submit orders.
    SubmitOrders,
    /// Cancel its own orders.
    CancelOrders,
    /// Read its own positions and resting orders (a validator: the checked strategy's).
    ReadPosition,
    /// Read PnL, cash and equity (a validator: the checked strategy's).
    ReadPortfolio,
    /// Read the current event time.
    ReadClock,
    /// Read files from the local file system (declared; native code is not confined).
    ReadFiles,
    /// Run work on threads of its own (declared; native code is not confined).
    SpawnThreads,
    /// Connect to network services, such as a NATS server (declared; native code is not confined).
    Network,
}

impl Capability {
    /// Every capability, in the order listings use.
    pub const ALL: [Capability; 10] = [
        Capability::MarketData,
        Capability::Indicators,
        Capability::SubmitOrders,
        Capability::CancelOrders,
        Capability::ReadPosition,
        Capability::ReadPortfolio,
        Capability::ReadClock,
        Capability::ReadFiles,
        Capability::SpawnThreads,
        Capability::Network,
    ];

    /// Everything a strategy may do through its context: what strategies are granted by
    /// default, and what a proxy that stands for any strategy (`remote`) declares.
    pub const FOR_STRATEGIES: [Capability; 7] = [
        Capability::MarketData,
        Capability::Indicators,
        Capability::SubmitOrders,
        Capability::CancelOrders,
        Capability::ReadPosition,
        Capability::ReadPortfolio,
        Capability::ReadClock,
    ];

    /// The capability's name in configs, listings and messages.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Capability::MarketData => "market-data",
            Capability::Indicators => "indicators",
            Capability::SubmitOrders => "submit-orders",
            Capability::CancelOrders => "cancel-orders",
            Capability::ReadPosition => "read-position",
            Capability::ReadPortfolio => "read-portfolio",
            Capability::ReadClock => "read-clock",
            Capability::ReadFiles => "read-files",
            Capability::SpawnThreads => "spawn-threads",
            Capability::Network => "network",
        }
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Capability {
    type Err = String;
    fn from_str(text: &str) -> Result<Capability, String> {
        Capability::ALL.into_iter().find(|c| c.as_str() == text).ok_or_else(|| {
            let names = Capability::ALL.map(Capability::as_str);
            format!(
                "unknown capability {}{}; expected one of {}",
                crate::limits::excerpt(text),
                did_you_mean(text, names),
                names.join(", ")
            )
        })
    }
}

/// A set of capabilities.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Capabilities(u16);

impl Capabilities {
    /// No capability.
    pub const NONE: Capabilities = Capabilities(0);
    /// Every capability.
    pub const ALL: Capabilities = Capabilities::of(&Capability::ALL);

    /// The set of `capabilities`.
    #[must_use]
    pub const fn of(capabilities: &[Capability]) -> Capabilities {
        let mut bits = 0;
        let mut at = 0;
        while at < capabilities.len() {
            bits |= capabilities[at].bit();
            at += 1;
        }
        Capabilities(bits)
    }

    /// What a component of `kind` is granted when its config says nothing: what components of
    /// that kind are for, and no more.
    #[must_use]
    pub const fn default_for(kind: Kind) -> Capabilities {
        use Capability::{MarketData, Network, ReadClock, ReadFiles, ReadPortfolio, ReadPosition, SpawnThreads};
        match kind {
            Kind::Strategy => Capabilities::of(&Capability::FOR_STRATEGIES),
            Kind::Risk => Capabilities::of(&[MarketData, ReadPosition, ReadPortfolio, ReadClock]),
            Kind::Indicator => Capabilities::of(&[MarketData, ReadClock]),
            // A feed's data comes from files or from the network.
            Kind::Feed => Capabilities::of(&[ReadFiles, SpawnThreads, Network]),
            Kind::Matching => Capabilities::NONE,
        }
    }

    /// Whether `capability` is in the set.
    #[inline]
    #[must_use]
    pub const fn contains(self, capability: Capability) -> bool {
        self.0 & capability.bit() != 0
    }

    /// The capabilities of `self` missing from `other`.
    #[must_use]
    pub const fn missing_from(self, other: Capabilities) -> Capabilities {
        Capabilities(self.0 & !other.0)
    }

    /// The capabilities in both sets.
    #[must_use]
    pub const fn intersection(self, other: Capabilities) -> Capabilities {
        Capabilities(self.0 & other.0)
    }

    /// Whether the set is empty.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The capabilities in the set, in [`Capability::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL.into_iter().filter(move |c| self.contains(*c))
    }

    /// The names, comma-separated, or `none`.
    #[must_use]
    pub fn names(self) -> String {
        let names: Vec<&str> = self.iter().map(Capability::as_str).collect();
        crate::suggest::list_or_none(&names)
    }
}

impl fmt::Debug for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl FromIterator<Capability> for Capabilities {
    fn from_iter<I: IntoIterator<Item = Capability>>(items: I) -> Capabilities {
        Capabilities(items.into_iter().fold(0, |bits, c| bits | c.bit()))
    }
}

/// A call a component was not granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("permission denied: capability {0} is not granted")]
pub struct PermissionDenied(pub Capability);

/// What a component may do, and the calls it was refused: the checking half of every handle.
///
/// The session keeps one per component; the handles of one call share it by reference (`Cell`s,
/// so a read-only handle can count too), and the session moves the counts into the component's
/// metrics after the call.
///
/// ```
/// use tradsys_core::prelude::*;
///
/// let risk = Permissions::new(Capabilities::default_for(Kind::Risk));
/// assert!(risk.check(Capability::ReadPosition).is_ok());
/// let denied = risk.check(Capability::SubmitOrders).unwrap_err();
/// assert!(denied.to_string().contains("submit-orders"), "{denied}");
/// ```
#[derive(Debug, Default)]
pub struct Permissions {
    allowed: Capabilities,
    denied: [Cell<u32>; Capability::ALL.len()],
}

impl Clone for Permissions {
    fn clone(&self) -> Permissions {
        Permissions { allowed: self.allowed, denied: std::array::from_fn(|at| Cell::new(self.denied[at].get())) }
    }
}

impl Permissions {
    /// A component that may use `allowed`.
    #[must_use]
    pub fn new(allowed: Capabilities) -> Permissions {
        Permissions { allowed, denied: Default::default() }
    }

    /// Everything allowed (test handles, and the session's own use of a handle).
    #[must_use]
    pub fn all() -> Permissions {
        Permissions::new(Capabilities::ALL)
    }

    /// What the component may use.
    #[must_use]
    pub fn allowed(&self) -> Capabilities {
        self.allowed
    }

    /// Checks one call: `Ok` if `capability` is allowed, else the denial (counted).
    ///
    /// # Errors
    /// The capability is not allowed.
    #[inline]
    pub fn check(&self, capability: Capability) -> Result<(), PermissionDenied> {
        if self.allowed.contains(capability) {
            return Ok(());
        }
        self.deny(capability)
    }

    /// Refuses one call (counted), whatever the allowed set says: for a handle narrowed to less
    /// than the component's own grant.
    #[cold]
    #[inline(never)]
    pub(crate) fn deny(&self, capability: Capability) -> Result<(), PermissionDenied> {
        self.record_denied(capability, 1);
        Err(PermissionDenied(capability))
    }

    /// Counts `times` calls refused elsewhere on the component's behalf (a strategy run in another
    /// process, whose calls are checked there against this grant), so its metrics show them.
    pub fn record_denied(&self, capability: Capability, times: u32) {
        let count = &self.denied[capability as usize];
        count.set(count.get().saturating_add(times));
    }

    /// The calls refused since the last [`take_denied`](Self::take_denied), by capability.
    pub fn take_denied(&self) -> impl Iterator<Item = (Capability, u32)> + '_ {
        Capability::ALL.into_iter().filter_map(|c| {
            let count = self.denied[c as usize].take();
            (count > 0).then_some((c, count))
        })
    }

    /// Whether any call was refused since the last [`take_denied`](Self::take_denied).
    #[inline]
    #[must_use]
    pub fn any_denied(&self) -> bool {
        self.denied.iter().any(|c| c.get() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused_with_a_suggestion() {
        for capability in Capability::ALL {
            assert_eq!(capability.as_str().parse::<Capability>().unwrap(), capability);
        }
        let error = "submit-order".parse::<Capability>().unwrap_err();
        assert!(error.contains("did you mean \"submit-orders\"?"), "{error}");
    }

    #[test]
    fn a_denied_call_is_counted_and_an_allowed_one_is_not() {
        let permissions = Permissions::new(Capabilities::of(&[Capability::MarketData]));
        assert!(permissions.check(Capability::MarketData).is_ok());
        assert_eq!(permissions.check(Capability::SubmitOrders), Err(PermissionDenied(Capability::SubmitOrders)));
        assert_eq!(permissions.check(Capability::SubmitOrders), Err(PermissionDenied(Capability::SubmitOrders)));
        assert!(permissions.any_denied());
        assert_eq!(permissions.take_denied().collect::<Vec<_>>(), [(Capability::SubmitOrders, 2)]);
        assert!(!permissions.any_denied(), "taken");
    }

    #[test]
    fn sets_compare_and_list_their_members() {
        let needs = Capabilities::of(&[Capability::SubmitOrders, Capability::ReadClock]);
        let granted = Capabilities::default_for(Kind::Risk);
        assert_eq!(needs.missing_from(granted), Capabilities::of(&[Capability::SubmitOrders]));
        assert_eq!(needs.names(), "submit-orders, read-clock");
        assert_eq!(Capabilities::NONE.names(), "none");
    }
}
