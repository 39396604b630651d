//! `remote`: a strategy that runs in another process, a `tradsys host`, reached over NATS.
//!
//! The session sees an ordinary strategy. Its callbacks are requests to the host, each carrying
//! the event and a view of what the strategy may read; the orders and cancels the strategy makes
//! come back and go through the session's own handles, so capabilities, buying power and the risk
//! chain apply to them unchanged. A host that crashes, is restarted or does not answer within the
//! call budget fails this strategy alone, with its orders cancelled, as a panic does a local one.
//! `serve` can swap a local strategy for a remote one and back; the snapshot and the open orders
//! travel both ways.
//!
//! ```toml
//! [strategies.trend]
//! plugin = "remote"
//! params = { host = "desk-a", strategy = "trend", url = "nats://127.0.0.1:4222", budget_ms = 250 }
//! ```
//!
//! The host side (what `tradsys host` runs) is [`hosting`]; the protocol is [`wire`]
//! (docs/distributed.md, "Strategies in another process").

#![deny(unsafe_code)]

pub mod hosting;
mod link;
mod proxy;
mod relay;
pub mod view_host;
pub mod wire;

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use tradsys_core::component::ComponentError;

use tradsys_core::plugin::{Capability, Dependency, Kind, Plugin};

pub use link::Endpoint;
pub use proxy::RemoteStrategy;

tradsys_core::plugin_params! {
    /// Parameters of `remote`.
    #[derive(Clone, Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Params {
        /// The host's name, as given to `tradsys host --name` (whose default is `default`).
        pub host: String,
        /// The strategy's id in the host's config; empty: this component's own id.
        pub strategy: String,
        /// The indicator plugins the hosted strategy asks for at `init` (`sma`, or `sma@^1` with
        /// a version requirement): this session builds them, so it must have them.
        pub indicators: Vec<String>,
        /// The NATS server both sides use.
        pub url: String,
        /// The longest one callback may take, round trip included, in milliseconds; past it the
        /// strategy fails.
        /// Range: >= 1, <= 60_000
        pub budget_ms: u64,
        /// The longest opening, starting, stopping, a snapshot or a take-over may take, in
        /// milliseconds.
        /// Range: >= 1, <= 600_000
        pub setup_timeout_ms: u64,
        /// How long the host keeps the instance without word from this session (keep-alives
        /// are sent every third of it), in milliseconds.
        /// Range: >= 1_000, <= 86_400_000
        pub lease_ms: u64,
        /// The name of an environment variable holding the server's token (empty: no token).
        pub token_env: String,
        /// A credentials file (`.creds`) the server requires (empty: none).
        pub creds: String,
    }
}

impl Default for Params {
    fn default() -> Params {
        Params {
            host: "default".to_owned(),
            strategy: String::new(),
            indicators: Vec::new(),
            url: "nats://127.0.0.1:4222".to_owned(),
            budget_ms: 1_000,
            setup_timeout_ms: 10_000,
            lease_ms: 15_000,
            token_env: String::new(),
            creds: String::new(),
        }
    }
}

impl Plugin for RemoteStrategy {
    type Params = Params;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = Params::PARAM_DOCS;
    const SUMMARY: &'static str = "a strategy run by a `tradsys host` in another process, over NATS";
    // Whatever a strategy may use, as the session enforces what a plugin declares: the hosted
    // strategy gets the part of it that its own plugin declares on the host, checked on both
    // sides on every call.
    const CAPABILITIES: &'static [Capability] = &Capability::FOR_STRATEGIES;

    fn build(params: Params) -> Result<Self, ComponentError> {
        if !wire::is_host_name(&params.host) {
            return Err(ComponentError::new(format!(
                "host must be the name a `tradsys host --name` serves (letters, digits, '-' and '_'), got {}",
                tradsys_core::limits::excerpt(&params.host)
            )));
        }
        if !params.url.starts_with("nats://") && !params.url.starts_with("tls://") {
            return Err(ComponentError::new(format!(
                "url must be nats://host:port or tls://host:port, got {}",
                tradsys_core::limits::excerpt(&params.url)
            )));
        }
        let bounded = [
            ("budget_ms", params.budget_ms, 1, 60_000),
            ("setup_timeout_ms", params.setup_timeout_ms, 1, 600_000),
            ("lease_ms", params.lease_ms, 1_000, 86_400_000),
        ];
        for (key, value, low, high) in bounded {
            if !(low..=high).contains(&value) {
                return Err(ComponentError::new(format!("{key} must be {low} to {high}, got {value}")));
            }
        }
        for indicator in &params.indicators {
            let (name, req) = split_requirement(indicator);
            if !tradsys_core::registry::is_kebab_case(name) || semver::VersionReq::parse(req).is_err() {
                return Err(ComponentError::new(format!(
                    "indicators: expected an indicator plugin's name, or name@requirement (sma, sma@^1), got {}",
                    tradsys_core::limits::excerpt(indicator)
                )));
            }
        }
        Ok(RemoteStrategy::new(params))
    }

    fn dependencies_of(params: &Params) -> Vec<Dependency> {
        params
            .indicators
            .iter()
            .map(|indicator| {
                let (name, req) = split_requirement(indicator);
                Dependency { kind: Kind::Indicator, name: Cow::Owned(name.to_owned()), req: Cow::Owned(req.to_owned()) }
            })
            .collect()
    }
}

/// `name@requirement` as its two halves; any version without a requirement.
fn split_requirement(indicator: &str) -> (&str, &str) {
    indicator.split_once('@').unwrap_or((indicator, "*"))
}

tradsys_core::register_strategy!(RemoteStrategy, "remote", "0.1.0");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_checked_when_built() {
        let params = |host: &str, url: &str, budget_ms| Params {
            host: host.to_owned(),
            url: url.to_owned(),
            budget_ms,
            ..Params::default()
        };
        assert!(RemoteStrategy::build(params("desk-a", "nats://127.0.0.1:4222", 250)).is_ok());
        let error = |p| RemoteStrategy::build(p).unwrap_err().to_string();
        assert!(error(params("", "nats://x:1", 250)).starts_with("host must be the name"));
        assert!(
            error(params("desk.a", "nats://x:1", 250)).contains("got \"desk.a\""),
            "{}",
            error(params("desk.a", "nats://x:1", 250))
        );
        assert!(error(params("d", "http://x:1", 250)).starts_with("url must be nats://"));
        assert_eq!(error(params("d", "nats://x:1", 0)), "budget_ms must be 1 to 60000, got 0");
        let indicators = |list: &[&str]| Params {
            indicators: list.iter().map(|s| (*s).to_owned()).collect(),
            ..params("d", "nats://x:1", 250)
        };
        assert!(error(indicators(&["sma@not-a-req"])).starts_with("indicators: expected"));
        assert!(error(indicators(&["Bad Name"])).starts_with("indicators: expected"));
        let needs = RemoteStrategy::dependencies_of(&indicators(&["sma", "ema@^1"]));
        let needs: Vec<(&str, &str)> = needs.iter().map(|d| (&*d.name, &*d.req)).collect();
        assert_eq!(needs, [("sma", "*"), ("ema", "^1")]);
    }
}
