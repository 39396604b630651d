//! Configuration: which components run, at which versions, with which parameters.
//!
//! Layers, later ones winning key by key (figment):
//! 1. built-in defaults ([`Config::default`]: session settings and `matching = fifo`, no components);
//! 2. a TOML file (or the binary's embedded default when no file is given);
//! 3. `TRADSYS_` environment variables, nesting with `__`: `TRADSYS_SESSION__SEED=7`;
//! 4. `--set key=value` on the command line, repeatable: `--set strategies.sma.params.fast=5`.
//!
//! Unknown keys are errors at every level. Extraction goes section by section and component by
//! component so that `config check` lists every error, and each error names the layer it came from
//! (file path, environment variable, `--set`) and the key path.
//!
//! ```toml
//! [feed]
//! plugin = "bars-csv"
//! params = { path = "bars.csv", symbol = "EURUSD" }
//!
//! [strategies.trend]
//! plugin = "sma-cross"
//! version = "^1"
//! params = { fast = 10, slow = 30, qty = 1 }
//!
//! [risk.size]
//! plugin = "max-order-qty"
//! order = 1
//! params = { max_qty = 10 }
//! ```

mod reference;
mod values;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider, Source};
use semver::VersionReq;
use serde::{Deserialize, Serialize};

use crate::book::StpPolicy;
use crate::instrument::InstrumentSpec;
use crate::limits::{MAX_KEY_DEPTH, MAX_VALUE_DEPTH};
use crate::suggest::did_you_mean;
use crate::types::{Money, Price, Qty};

pub use reference::{SectionDoc, sections};
pub use values::{MAX_SPREAD_TICKS, check_values};

crate::plugin_params! {
    /// The whole configuration of a run.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Config {
        /// Session settings: seed, cash, commission, venue.
        #[serde(default)]
        pub session: SessionConfig,
        /// The market-data source (required to run).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub feed: Option<ComponentConfig>,
        /// The matching algorithm and self-trade prevention.
        #[serde(default)]
        pub matching: MatchingConfig,
        /// Instrument declarations by symbol.
        #[serde(default)]
        pub instruments: BTreeMap<String, InstrumentSpec>,
        /// Indicator instances by id (lazy by default).
        #[serde(default)]
        pub indicators: BTreeMap<String, ComponentConfig>,
        /// Risk validators by id; the chain runs in ascending `order`, then id.
        #[serde(default)]
        pub risk: BTreeMap<String, ComponentConfig>,
        /// Strategies by id.
        #[serde(default)]
        pub strategies: BTreeMap<String, ComponentConfig>,
        /// Per-component budgets whose crossing raises an alert (and can quarantine the component).
        #[serde(default, skip_serializing_if = "AlertsConfig::is_empty")]
        pub alerts: AlertsConfig,
        /// `tradsys serve`: how fast the feed is replayed.
        #[serde(default, skip_serializing_if = "ServeConfig::is_default")]
        pub serve: ServeConfig,
        /// `tradsys serve`: the admin API.
        #[serde(default, skip_serializing_if = "AdminConfig::is_default")]
        pub admin: AdminConfig,
        /// Which plugins may run: signed approvals and the keys trusted to sign them.
        #[serde(default, skip_serializing_if = "SecurityConfig::is_default")]
        pub security: SecurityConfig,
        /// `run` and `serve`: publishing the session's events to a NATS server.
        #[serde(default, skip_serializing_if = "NatsConfig::is_default")]
        pub nats: NatsConfig,
    }
}

crate::plugin_params! {
    /// `[nats]`: the NATS server `run` and `serve` publish the session's events to.
    ///
    /// ```toml
    /// [nats]
    /// url = "nats://127.0.0.1:4222"   # or TRADSYS_NATS__URL; a token from TRADSYS_NATS_TOKEN
    /// publish = true                   # orders, fills, rejections, halts, alerts, changes
    /// session = "desk1-eurusd"         # subjects tradsys.desk1-eurusd.>; generated when absent
    /// ```
    #[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct NatsConfig {
        /// The server's URL (`nats://HOST:PORT`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub url: Option<String>,
        /// Publish every order, fill, rejection, strategy halt or failure, alert and run-time
        /// change to `tradsys.<session>.*`, kept in a JetStream stream of the session's own.
        #[serde(default)]
        pub publish: bool,
        /// The session's id in subjects and the stream's name (lowercase letters, digits, `-`,
        /// `_`); a new one per run when absent (printed at the start).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub session: Option<String>,
    }
}

impl NatsConfig {
    fn is_default(&self) -> bool {
        *self == NatsConfig::default()
    }
}

crate::plugin_params! {
    /// `[security]`: with `require_approval`, only plugins listed in an approval signed by a trusted key
    /// run (compiled-in or loaded), with no more than the capabilities approved for them.
    ///
    /// ```toml
    /// [security]
    /// require_approval = true
    /// trusted_keys = ["keys/risk-team.pub"]        # minisign public key files, or the key line itself
    /// approvals = ["approvals/2026-12.toml"]      # each beside its signature, `<file>.minisig`
    /// plugin_dir = "modules"                       # WebAssembly plugins to load (serve: and watch)
    /// module_call_budget_ms = 10                   # a module call running longer fails the component
    /// module_memory_mib = 64                       # the most memory one module instance may use
    /// ```
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct SecurityConfig {
        /// Run only approved plugins.
        #[serde(default)]
        pub require_approval: bool,
        /// Public keys whose approvals are trusted: paths to minisign `.pub` files (relative to the
        /// config file's directory) or the base64 key line itself.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub trusted_keys: Vec<String>,
        /// Approval files (relative to the config file's directory), each signed in `<file>.minisig`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pub approvals: Vec<String>,
        /// Directory of WebAssembly plugins to load at start-up (relative to the config file's
        /// directory); `serve` also loads modules dropped into it while it runs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub plugin_dir: Option<String>,
        /// The longest one call into a WebAssembly plugin may run, in milliseconds, before it is
        /// interrupted and the component fails.
        /// Range: >= 1, <= 10_000
        #[serde(default = "default_module_call_budget_ms")]
        pub module_call_budget_ms: u64,
        /// The most memory one WebAssembly plugin instance may use, in MiB.
        /// Range: >= 1, <= 256
        #[serde(default = "default_module_memory_mib")]
        pub module_memory_mib: u64,
    }
}

impl Default for SecurityConfig {
    fn default() -> SecurityConfig {
        SecurityConfig {
            require_approval: false,
            trusted_keys: Vec::new(),
            approvals: Vec::new(),
            plugin_dir: None,
            module_call_budget_ms: default_module_call_budget_ms(),
            module_memory_mib: default_module_memory_mib(),
        }
    }
}

fn default_module_call_budget_ms() -> u64 {
    10
}

fn default_module_memory_mib() -> u64 {
    64
}

impl SecurityConfig {
    fn is_default(&self) -> bool {
        *self == SecurityConfig::default()
    }
}

crate::plugin_params! {
    /// Budgets per component; a component without its own budget uses `all`'s, if set.
    ///
    /// ```toml
    /// [alerts]
    /// check_every = 10000          # events between two checks
    /// [alerts.all]
    /// panics = 0
    /// [alerts.strategies.trend]
    /// latency_p99_us = 50.0
    /// reject_rate = 0.5
    /// order_rate = 5.0             # orders per second of session time, between two checks
    /// quarantine = true            # stop it and cancel its orders when a budget is crossed
    /// ```
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct AlertsConfig {
        /// Events between two checks of every budget (checks also run when a run ends).
        /// Range: >= 1
        #[serde(default = "default_check_every")]
        pub check_every: u64,
        /// The budget of every component without one of its own.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub all: Option<Budget>,
        /// Budgets of strategies, by id.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        pub strategies: BTreeMap<String, Budget>,
        /// Budgets of risk validators, by id.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        pub risk: BTreeMap<String, Budget>,
        /// Budgets of indicators, by id (requested ones by their derived id).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        pub indicators: BTreeMap<String, Budget>,
        /// Raise an alert (once per silence) when a live feed has delivered nothing for this
        /// many milliseconds of wall clock; `/health` then says `degraded`.
        /// Range: >= 1
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub feed_quiet_ms: Option<u64>,
    }
}

impl Default for AlertsConfig {
    fn default() -> AlertsConfig {
        AlertsConfig {
            check_every: default_check_every(),
            all: None,
            strategies: BTreeMap::new(),
            risk: BTreeMap::new(),
            indicators: BTreeMap::new(),
            feed_quiet_ms: None,
        }
    }
}

impl AlertsConfig {
    fn is_empty(&self) -> bool {
        *self == AlertsConfig::default()
    }

    /// The budget that applies to a component of `kind` with config id `id`, if any.
    #[must_use]
    pub fn budget_of(&self, kind: crate::plugin::Kind, id: &str) -> Option<&Budget> {
        let own = match kind {
            crate::plugin::Kind::Strategy => self.strategies.get(id),
            crate::plugin::Kind::Risk => self.risk.get(id),
            crate::plugin::Kind::Indicator => self.indicators.get(id),
            crate::plugin::Kind::Feed | crate::plugin::Kind::Matching => None,
        };
        own.or(self.all.as_ref())
    }
}

fn default_check_every() -> u64 {
    10_000
}

crate::plugin_params! {
    /// What one component may cost or do before an alert is raised. Every limit is optional; rates
    /// are judged once the component has made `min_calls` calls.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Budget {
        /// The 99th percentile of the component's call latency, in microseconds.
        /// Range: > 0
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub latency_p99_us: Option<f64>,
        /// Errors (its own refusals and panics) per call, a fraction.
        /// Range: >= 0, <= 1
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub error_rate: Option<f64>,
        /// Panics allowed before an alert (0: the first panic alerts).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub panics: Option<u64>,
        /// Strategies: refused orders per order submitted, a fraction.
        /// Range: >= 0, <= 1
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub reject_rate: Option<f64>,
        /// Strategies: orders submitted per second of the session's clock (market time in a
        /// backtest), measured over the window between two checks.
        /// Range: > 0
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub order_rate: Option<f64>,
        /// Calls (orders, for `reject_rate`) before a rate is judged.
        #[serde(default = "default_min_calls")]
        pub min_calls: u64,
        /// Stop the component (strategies: and cancel its orders) when a budget is crossed.
        #[serde(default)]
        pub quarantine: bool,
    }
}

fn default_min_calls() -> u64 {
    100
}

/// A replay speed: as fast as possible, or a positive factor / rate.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Pace {
    /// As fast as the session runs.
    #[default]
    Max,
    /// A positive number: a factor of the feed's own time (`speed`) or events per second (`rate`).
    Every(f64),
}

impl Serialize for Pace {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Pace::Max => serializer.serialize_str("max"),
            Pace::Every(value) => serializer.serialize_f64(*value),
        }
    }
}

impl<'de> Deserialize<'de> for Pace {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Pace, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            Number(f64),
            Text(String),
        }
        let expected = "\"max\" or a positive number";
        match Given::deserialize(deserializer)? {
            Given::Text(text) if text == "max" => Ok(Pace::Max),
            Given::Number(value) if value.is_finite() && value > 0.0 => Ok(Pace::Every(value)),
            Given::Number(value) => {
                Err(serde::de::Error::custom(format!("{value} is not positive; expected {expected}")))
            }
            Given::Text(text) => Err(serde::de::Error::custom(format!("{text:?}: expected {expected}"))),
        }
    }
}

crate::plugin_params! {
    /// `tradsys serve`: pacing of the feed against the wall clock (`run` ignores it).
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ServeConfig {
        /// Events per second (e.g. the synthetic feed at a live rate), or `"max"`.
        #[serde(default)]
        pub rate: Pace,
        /// Replay factor of the feed's own timestamps (1.0 = real time), or `"max"`.
        #[serde(default)]
        pub speed: Pace,
    }
}

impl ServeConfig {
    fn is_default(&self) -> bool {
        *self == ServeConfig::default()
    }
}

crate::plugin_params! {
    /// `tradsys serve`: the admin API's address and credentials.
    #[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct AdminConfig {
        /// The bearer token required on mutating calls (on every call off loopback); also read from
        /// `TRADSYS_ADMIN_TOKEN`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub token: Option<String>,
        /// The address to listen on; `--listen` wins. Default `127.0.0.1:7878`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub listen: Option<String>,
    }
}

impl AdminConfig {
    fn is_default(&self) -> bool {
        *self == AdminConfig::default()
    }
}

impl fmt::Debug for AdminConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The token never reaches a log line.
        f.debug_struct("AdminConfig")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("listen", &self.listen)
            .finish()
    }
}

crate::plugin_params! {
    /// One configured component.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ComponentConfig {
        /// The plugin's name; defaults to the table's key (`[strategies.sma-cross]`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub plugin: Option<String>,
        /// A semver requirement; the highest matching version runs.
        #[serde(default = "any_version")]
        pub version: VersionReq,
        /// Build on first use instead of at startup; the default depends on the kind (indicators: lazy).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub lazy: Option<bool>,
        /// Position in the risk chain (risk validators only), ascending.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub order: Option<i64>,
        /// The capabilities granted to this instance; the defaults of its kind when absent
        /// ([`Capabilities::default_for`](crate::capability::Capabilities::default_for)). A plugin that
        /// declares a capability not granted here does not start.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub capabilities: Option<Vec<crate::capability::Capability>>,
        /// The plugin's parameters.
        #[serde(default)]
        pub params: Dict,
    }
}

crate::plugin_params! {
    /// The matching algorithm of the venue.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct MatchingConfig {
        /// The matching plugin's name.
        #[serde(default = "default_matching")]
        pub plugin: String,
        /// A semver requirement.
        #[serde(default = "any_version")]
        pub version: VersionReq,
        /// Self-trade prevention: none, cancel-taker, cancel-maker or cancel-both.
        #[serde(default)]
        pub stp: StpPolicy,
        /// The plugin's parameters.
        #[serde(default)]
        pub params: Dict,
    }
}

crate::plugin_params! {
    /// Session settings.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct SessionConfig {
        /// Seed of every random choice in the run (synthetic feeds, component seeds).
        pub seed: u64,
        /// Starting cash of each strategy; the strategies' combined starting cash is at most
        /// 10,000,000,000.
        /// Range: > 0
        pub initial_cash: Money,
        /// Commission charged on each fill.
        pub commission: CommissionConfig,
        /// How many times its equity a strategy's worst-case exposure may reach (1: cash only; 2:
        /// margin for twice the equity). An order past it is refused by the session.
        /// Range: > 0, <= 1000
        #[serde(default = "one")]
        pub leverage: Price,
        /// The venue in bar mode.
        pub bars: BarVenueConfig,
        /// Order-flow mode: the id of the indicator (a bar aggregator) whose bars reach strategies' `on_bar`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub bar_source: Option<String>,
        /// Days per year for annualizing daily returns (Sharpe, Sortino, annual return and volatility);
        /// by default 252 when the data has no weekends, else 365.
        /// Range: > 0
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub periods_per_year: Option<f64>,
        /// Stop after this many events (whole feed when absent).
        /// Range: >= 1
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub max_events: Option<u64>,
        /// Per-component metrics (calls, latency, memory); off measures the session without them.
        #[serde(default = "enabled")]
        pub metrics: bool,
        /// Whether a strategy, validator or indicator failing during the run still lets the run succeed
        /// (exit 0). The failure is in the report either way; feed and matching failures always fail.
        #[serde(default)]
        pub tolerate_failures: bool,
    }
}

fn enabled() -> bool {
    true
}

fn one() -> Price {
    Price::from_units(1)
}

crate::plugin_params! {
    /// Commission per fill: `per_lot` × lots + `percent` % of notional.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct CommissionConfig {
        /// Money per lot traded.
        /// Range: >= 0
        #[serde(default)]
        pub per_lot: Money,
        /// Percent of notional, as a decimal (`0.01` is one basis point).
        /// Range: >= 0, < 100
        #[serde(default)]
        pub percent: Price,
    }
}

crate::plugin_params! {
    /// Liquidity the venue offers at each bar's open in bar mode.
    #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct BarVenueConfig {
        /// Lots offered on each side; unlimited when absent.
        /// Range: >= 1, <= 1_000_000_000
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub depth: Option<Qty>,
        /// Ticks between bid and ask (split around the open: bid = open − spread/2, ask = bid + spread).
        /// Range: >= 0, <= 100_000
        #[serde(default)]
        pub spread_ticks: i64,
    }
}

impl Default for SessionConfig {
    fn default() -> SessionConfig {
        SessionConfig {
            seed: 42,
            initial_cash: Money::from_raw(1_000_000 * crate::types::PRICE_SCALE),
            commission: CommissionConfig::default(),
            leverage: one(),
            bars: BarVenueConfig::default(),
            bar_source: None,
            periods_per_year: None,
            max_events: None,
            metrics: true,
            tolerate_failures: false,
        }
    }
}

impl Default for MatchingConfig {
    fn default() -> MatchingConfig {
        MatchingConfig { plugin: default_matching(), version: any_version(), stp: StpPolicy::None, params: Dict::new() }
    }
}

fn any_version() -> VersionReq {
    VersionReq::STAR
}

fn default_matching() -> String {
    "fifo".to_owned()
}

/// Prefix of the environment layer's variables.
pub const ENV_PREFIX: &str = "TRADSYS_";

/// `TRADSYS_` variables that belong to the program, not to the config: the log filter (`--log`),
/// the log format (`--log-format`) and the admin token (read by `serve` itself, so it never shows
/// in `config show`). A config variable always starts with a section (`TRADSYS_SESSION__SEED`), so
/// the two namespaces cannot collide.
pub const PROGRAM_VARIABLES: [&str; 3] = ["TRADSYS_LOG", "TRADSYS_LOG_FORMAT", "TRADSYS_ADMIN_TOKEN"];

/// Where the environment layer's variables come from.
#[derive(Clone, Debug, Default)]
pub enum Environment {
    /// No environment layer.
    #[default]
    Ignored,
    /// The process environment.
    Process,
    /// These variables (tests, and anything that must not read the process environment).
    Vars(Vec<(std::ffi::OsString, std::ffi::OsString)>),
}

/// Nesting separator in environment variable names: `TRADSYS_SESSION__SEED` is `session.seed`.
pub const ENV_SEPARATOR: &str = "__";

const SECTIONS: [&str; 12] = [
    "nats",
    "session",
    "feed",
    "matching",
    "instruments",
    "indicators",
    "risk",
    "strategies",
    "alerts",
    "serve",
    "admin",
    "security",
];

/// One configuration problem: where it came from, which key, what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The layer: a file path, an environment variable, `--set key=value`, or `built-in defaults`.
    pub source: String,
    /// The key path, e.g. `strategies.trend.params.fast`; empty for a whole-file problem.
    pub key: String,
    /// What was wrong and what was expected.
    pub message: String,
}

/// A message is shown whole up to this many characters; longer ones (a value quoted by a parser,
/// however large it was) are cut.
const SHOWN_MESSAGE_CHARS: usize = 600;

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = crate::limits::shorten(&self.message, SHOWN_MESSAGE_CHARS);
        if self.key.is_empty() {
            write!(f, "{}: {message}", self.source)
        } else {
            write!(f, "{}: key {}: {message}", self.source, crate::limits::shorten(&self.key, 200))
        }
    }
}

impl std::error::Error for ConfigError {}

/// Where the file layer comes from.
#[derive(Clone, Debug)]
pub enum ConfigFile {
    /// A TOML file on disk.
    Path(PathBuf),
    /// A TOML text compiled into the binary, with a name for messages.
    Embedded {
        /// Named in messages, e.g. `embedded default config`.
        name: &'static str,
        /// The TOML text.
        text: &'static str,
    },
    /// Config data already read and merged elsewhere (a distributed sweep's base config, sent by
    /// the machine that started it), with a name for messages. Relative paths in it resolve
    /// against the working directory, as no file holds them.
    Merged {
        /// Named in messages, e.g. `sweep 1a2b's config`.
        name: String,
        /// The merged values.
        data: Dict,
    },
    /// No file layer.
    None,
}

/// A named layer of plain data (defaults, a parsed file, one `--set`, one run-time patch).
#[derive(Clone)]
struct Layer {
    metadata: Metadata,
    data: Dict,
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        self.metadata.clone()
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.data.clone()))
    }
}

/// The merged layers of a configuration, able to say where each value came from.
#[derive(Clone)]
pub struct ConfigLoader {
    /// Defaults and the file, below the environment.
    below_env: Vec<Layer>,
    /// The `TRADSYS_` variables, read once when the config was loaded.
    env: Option<Layer>,
    /// `--set` overrides and run-time patches, above the environment, in order.
    above_env: Vec<Layer>,
    figment: Figment,
}

impl fmt::Debug for ConfigLoader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigLoader").field("layers", &(self.below_env.len() + self.above_env.len())).finish()
    }
}

impl ConfigLoader {
    /// Merges defaults, `file`, `TRADSYS_` environment variables (from `env`) and `overrides`
    /// (`key=value`, value read as TOML-like: numbers, booleans, arrays, else a string).
    ///
    /// # Errors
    /// An unreadable or malformed file, a malformed override or config variable; every such problem
    /// is listed.
    pub fn load(file: &ConfigFile, env: &Environment, overrides: &[String]) -> Result<ConfigLoader, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let defaults = match Value::serialize(Config::default()) {
            Ok(Value::Dict(_, dict)) => dict,
            _ => Dict::new(),
        };
        let mut below_env = vec![Layer { metadata: Metadata::named("built-in defaults"), data: defaults }];
        match file {
            ConfigFile::Path(path) => match read_toml_file(path) {
                Ok(layer) => below_env.push(layer),
                Err(error) => errors.push(error),
            },
            ConfigFile::Embedded { name, text } => match parse_toml(text, Metadata::named(*name)) {
                Ok(layer) => below_env.push(layer),
                Err(error) => errors.push(error),
            },
            ConfigFile::Merged { name, data } => {
                below_env.push(Layer { metadata: Metadata::named(name.clone()), data: data.clone() });
            }
            ConfigFile::None => {}
        }
        let env = match env {
            Environment::Ignored => None,
            Environment::Process => Some(env_layer(std::env::vars_os(), &mut errors)),
            Environment::Vars(vars) => Some(env_layer(vars.iter().cloned(), &mut errors)),
        };
        let mut above_env = Vec::new();
        for text in overrides {
            match parse_override(text) {
                Ok(layer) => above_env.push(layer),
                Err(error) => errors.push(error),
            }
        }
        if errors.is_empty() { Ok(ConfigLoader::assemble(below_env, env, above_env)) } else { Err(errors) }
    }

    fn assemble(below_env: Vec<Layer>, env: Option<Layer>, above_env: Vec<Layer>) -> ConfigLoader {
        let mut figment = Figment::new();
        for layer in below_env.iter().chain(&env).chain(&above_env) {
            figment = figment.merge(layer.clone());
        }
        ConfigLoader { below_env, env, above_env, figment }
    }

    /// These layers plus `patch` on top, named `source` in messages and in
    /// [`effective`](Self::effective). Each dotted path in `replaced` (a component table such as
    /// `strategies.trend`) is first taken out of every earlier file, `--set` and patch layer, so the
    /// patch replaces it whole (or, absent from `patch`, removes it) instead of merging into it.
    #[must_use]
    pub fn patched(&self, source: &str, patch: Dict, replaced: &[String]) -> ConfigLoader {
        let strip = |layers: &[Layer]| -> Vec<Layer> {
            layers
                .iter()
                .map(|layer| {
                    let mut layer = layer.clone();
                    for path in replaced {
                        remove_path(&mut layer.data, path);
                    }
                    layer
                })
                .collect()
        };
        let mut above_env = strip(&self.above_env);
        above_env.push(Layer { metadata: Metadata::named(source.to_owned()), data: patch });
        let env = self.env.as_ref().map(|env| strip(std::slice::from_ref(env)).remove(0));
        ConfigLoader::assemble(strip(&self.below_env), env, above_env)
    }

    /// The merged figment.
    #[must_use]
    pub fn figment(&self) -> &Figment {
        &self.figment
    }

    /// Extracts the whole config, listing every structural error (unknown keys, wrong types).
    ///
    /// # Errors
    /// Every problem found, each naming its layer and key.
    pub fn extract(&self) -> Result<Config, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let top: Dict = match self.figment.extract() {
            Ok(top) => top,
            Err(error) => return Err(self.convert(error)),
        };
        for key in top.keys() {
            if !SECTIONS.contains(&key.as_str()) {
                errors.push(ConfigError {
                    source: self.source_of(key),
                    key: key.clone(),
                    message: format!(
                        "unknown section{}; expected one of: {}",
                        did_you_mean(key, SECTIONS),
                        SECTIONS.join(", ")
                    ),
                });
            }
        }
        let mut config = Config::default();
        if top.contains_key("session") {
            self.section("session", &mut errors, |v| config.session = v);
        }
        if top.contains_key("feed") {
            self.section("feed", &mut errors, |v| config.feed = Some(v));
        }
        if top.contains_key("matching") {
            self.section("matching", &mut errors, |v| config.matching = v);
        }
        if top.contains_key("alerts") {
            self.section("alerts", &mut errors, |v| config.alerts = v);
        }
        if top.contains_key("serve") {
            self.section("serve", &mut errors, |v| config.serve = v);
        }
        if top.contains_key("admin") {
            self.section("admin", &mut errors, |v| config.admin = v);
        }
        if top.contains_key("security") {
            self.section("security", &mut errors, |v| config.security = v);
        }
        if top.contains_key("nats") {
            self.section("nats", &mut errors, |v| config.nats = v);
        }
        for (name, mut map) in [
            ("instruments", None),
            ("indicators", Some(&mut config.indicators)),
            ("risk", Some(&mut config.risk)),
            ("strategies", Some(&mut config.strategies)),
        ] {
            let Some(entries) = top.get(name) else { continue };
            let Some(entries) = entries.as_dict() else {
                errors.push(ConfigError {
                    source: self.source_of(name),
                    key: name.to_owned(),
                    message: format!("expected a table of {name} by id"),
                });
                continue;
            };
            for id in entries.keys() {
                let key = format!("{name}.{id}");
                match map {
                    None => self.section::<InstrumentSpec>(&key, &mut errors, |v| {
                        config.instruments.insert(id.clone(), v);
                    }),
                    Some(ref mut map) => {
                        if !is_valid_id(id) {
                            errors.push(ConfigError {
                                source: self.source_of(&key),
                                key: key.clone(),
                                message: format!("bad id {id:?}: expected lower-case letters, digits, '-' or '_'"),
                            });
                            continue;
                        }
                        self.section::<ComponentConfig>(&key, &mut errors, |v| {
                            map.insert(id.clone(), v);
                        });
                    }
                }
            }
        }
        if errors.is_empty() { Ok(config) } else { Err(errors) }
    }

    fn section<T: serde::de::DeserializeOwned>(&self, key: &str, errors: &mut Vec<ConfigError>, put: impl FnOnce(T)) {
        match self.figment.extract_inner::<T>(key) {
            Ok(value) => put(value),
            Err(error) => {
                // figment appends the section's path after the inner one; put it first.
                let prefix: Vec<String> = key.split('.').map(str::to_owned).collect();
                let errors_fixed = error.into_iter().map(|mut error| {
                    if error.path.ends_with(&prefix) {
                        let inner = error.path.len() - prefix.len();
                        error.path.rotate_right(prefix.len());
                        debug_assert_eq!(error.path.len(), inner + prefix.len());
                    }
                    error
                });
                for error in errors_fixed {
                    errors.extend(self.convert(error));
                }
            }
        }
    }

    /// Names the layer that supplied `key` (a dotted path), for messages.
    #[must_use]
    pub fn source_of(&self, key: &str) -> String {
        let mut path: Vec<&str> = key.split('.').collect();
        while !path.is_empty() {
            if let Some(metadata) = self.figment.find_metadata(&path.join(".")) {
                return describe_source(metadata, &path);
            }
            path.pop();
        }
        "configuration".to_owned()
    }

    /// The directory of the config file that set `key` (a dotted path), if a file set it: where a
    /// relative path in that value is resolved. `None` for every other layer (`--set`, `TRADSYS_`
    /// variables, run-time patches, the embedded default), whose paths are relative to the working
    /// directory.
    #[must_use]
    pub fn base_dir_of(&self, key: &str) -> Option<PathBuf> {
        let metadata = self.figment.find_metadata(key)?;
        match &metadata.source {
            Some(Source::File(file)) => Some(file.parent().map(Path::to_path_buf).unwrap_or_default()),
            _ => None,
        }
    }

    /// Every leaf value of the merged config with the layer it came from, in key order.
    ///
    /// # Errors
    /// The merged config does not form a table.
    pub fn effective(&self) -> Result<Vec<(String, String, String)>, Vec<ConfigError>> {
        let top: Dict = self.figment.extract().map_err(|error| self.convert(error))?;
        let mut rows = Vec::new();
        flatten(&mut String::new(), &top, &mut |key, value| {
            // Credentials are shown as set, never their value.
            let shown = if key == "admin.token" { "\"<redacted>\"".to_owned() } else { render_value(value) };
            rows.push((key.to_owned(), shown, self.source_of(key)));
        });
        Ok(rows)
    }

    fn convert(&self, error: figment::Error) -> Vec<ConfigError> {
        error
            .into_iter()
            .map(|error| {
                let mut key = error.path.join(".");
                let message = match &error.kind {
                    figment::error::Kind::UnknownField(field, expected) => {
                        if error.path.last() != Some(field) {
                            key = if key.is_empty() { field.clone() } else { format!("{key}.{field}") };
                        }
                        format!(
                            "unknown key{}; expected one of: {}",
                            did_you_mean(field, expected.iter().copied()),
                            expected.join(", ")
                        )
                    }
                    figment::error::Kind::MissingField(field) => {
                        key = if key.is_empty() { field.to_string() } else { format!("{key}.{field}") };
                        "missing; this key is required".to_owned()
                    }
                    other => other.to_string(),
                };
                let source = match &error.metadata {
                    Some(metadata) => {
                        describe_source(metadata, &error.path.iter().map(String::as_str).collect::<Vec<_>>())
                    }
                    None => self.source_of(&key),
                };
                ConfigError { source, key, message }
            })
            .collect()
    }
}

/// Names a layer: the file path, the environment variable, or the layer's name.
fn describe_source(metadata: &Metadata, path: &[&str]) -> String {
    match &metadata.source {
        Some(Source::File(file)) => file.display().to_string(),
        _ if metadata.name.contains("environment") => {
            let parts: Vec<String> = path.iter().map(|part| part.to_uppercase()).collect();
            format!("environment variable {ENV_PREFIX}{}", parts.join(ENV_SEPARATOR))
        }
        _ => metadata.name.to_string(),
    }
}

fn read_toml_file(path: &Path) -> Result<Layer, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
        source: path.display().to_string(),
        key: String::new(),
        message: format!("cannot read the config file: {error}"),
    })?;
    parse_toml(&text, Metadata::from("TOML file", Source::File(path.to_path_buf())))
}

fn parse_toml(text: &str, metadata: Metadata) -> Result<Layer, ConfigError> {
    let source = describe_source(&metadata, &[]);
    let data = Toml::string(text).data().map_err(|error| ConfigError {
        source: source.clone(),
        key: String::new(),
        message: toml_error_message(&error.kind.to_string()),
    })?;
    Ok(Layer { metadata, data: data.into_values().next().unwrap_or_default() })
}

/// A TOML parse error without its source excerpt (which quotes the whole offending line, however
/// long): `TOML parse error at line 2, column 87: recursion limit exceeded`.
fn toml_error_message(text: &str) -> String {
    let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty());
    let position = lines.next().unwrap_or("TOML parse error");
    // The excerpt's lines are `N | text` and `| ^`; the rest says what went wrong.
    let what: Vec<&str> = lines.filter(|line| !line.contains('|')).collect();
    if what.is_empty() { position.to_owned() } else { format!("{position}: {}", what.join("; ")) }
}

/// The deepest nesting of arrays and tables in a value's text, outside quoted strings.
fn nesting_depth(text: &str) -> usize {
    let (mut depth, mut deepest, mut quote) = (0usize, 0usize, None);
    for byte in text.bytes() {
        match (quote, byte) {
            (Some(open), b) if b == open => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(byte),
            (None, b'[' | b'{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (None, b']' | b'}') => depth = depth.saturating_sub(1),
            (None, _) => {}
        }
    }
    deepest
}

/// Reads one value given as text (`--set`, a `TRADSYS_` variable) the way TOML would, after
/// checking its nesting, so that no value can exhaust the parser's stack.
fn parse_value(text: &str) -> Result<Value, String> {
    let depth = nesting_depth(text);
    if depth > MAX_VALUE_DEPTH {
        return Err(format!("value nests {depth} arrays or tables deep; at most {MAX_VALUE_DEPTH} are accepted"));
    }
    Ok(text.trim().parse().unwrap_or_else(|never| match never {}))
}

/// A table holding `value` at the path `parts`.
fn nest(parts: &[String], value: Value) -> Dict {
    let mut data = Dict::new();
    let (last, parents) = parts.split_last().expect("a key has at least one part");
    let mut leaf = Dict::new();
    leaf.insert(last.clone(), value);
    let mut inner = leaf;
    for part in parents.iter().rev() {
        let mut outer = Dict::new();
        outer.insert(part.clone(), Value::from(inner));
        inner = outer;
    }
    data.extend(inner);
    data
}

fn parse_override(text: &str) -> Result<Layer, ConfigError> {
    let source = format!("--set {}", crate::limits::shorten(text, 2 * crate::limits::QUOTED_FIELD_CHARS));
    let bad = |message: String| ConfigError { source: source.clone(), key: String::new(), message };
    let Some((key, value)) = text.split_once('=') else {
        return Err(bad("expected key=value".to_owned()));
    };
    let key = key.trim();
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(bad(format!("bad key {}: expected a dotted path like session.seed", crate::limits::excerpt(key))));
    }
    let parts: Vec<String> = key.split('.').map(str::to_owned).collect();
    if parts.len() > MAX_KEY_DEPTH {
        return Err(bad(format!("key has {} parts; at most {MAX_KEY_DEPTH} are accepted", parts.len())));
    }
    let value = parse_value(value).map_err(|message| ConfigError { key: key.to_owned(), ..bad(message) })?;
    Ok(Layer { metadata: Metadata::named(source.clone()), data: nest(&parts, value) })
}

/// The environment layer: every `TRADSYS_<SECTION>[__<KEY>...]` variable, keys lower-cased.
/// Program variables ([`PROGRAM_VARIABLES`]) are skipped; another `TRADSYS_` variable that names
/// no section is an error if it looks like a config key (it has `__`), else a warning.
fn env_layer(
    vars: impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
    errors: &mut Vec<ConfigError>,
) -> Layer {
    let mut data = Dict::new();
    let mut vars: Vec<(std::ffi::OsString, std::ffi::OsString)> =
        vars.filter(|(name, _)| name.as_encoded_bytes().starts_with(ENV_PREFIX.as_bytes())).collect();
    vars.sort();
    for (name, value) in vars {
        let shown = crate::limits::shorten(&name.to_string_lossy(), 2 * crate::limits::QUOTED_FIELD_CHARS).into_owned();
        let mut bad = |key: String, message: String| {
            errors.push(ConfigError { source: format!("environment variable {shown}"), key, message });
        };
        let Some(name) = name.to_str() else {
            bad(String::new(), "the name is not UTF-8".to_owned());
            continue;
        };
        if PROGRAM_VARIABLES.contains(&name) {
            continue;
        }
        let parts: Vec<String> = name[ENV_PREFIX.len()..].split(ENV_SEPARATOR).map(str::to_lowercase).collect();
        if !SECTIONS.contains(&parts[0].as_str()) {
            if parts.len() > 1 {
                bad(
                    parts.join("."),
                    format!(
                        "unknown section {:?}{}; config variables are {ENV_PREFIX}<SECTION>__<KEY>, sections: {}",
                        parts[0],
                        did_you_mean(&parts[0], SECTIONS),
                        SECTIONS.join(", ")
                    ),
                );
            } else {
                tracing::warn!(
                    variable = name,
                    "ignored: neither a config variable ({ENV_PREFIX}<SECTION>__<KEY>) nor one of tradsys's own ({})",
                    PROGRAM_VARIABLES.join(", ")
                );
            }
            continue;
        }
        if parts.iter().any(String::is_empty) || parts.len() > MAX_KEY_DEPTH {
            bad(
                String::new(),
                format!("expected {ENV_PREFIX}<SECTION>__<KEY>... with at most {MAX_KEY_DEPTH} non-empty parts"),
            );
            continue;
        }
        let Some(value) = value.to_str() else {
            bad(parts.join("."), "the value is not UTF-8".to_owned());
            continue;
        };
        match parse_value(value) {
            Ok(value) => merge_into(&mut data, nest(&parts, value)),
            Err(message) => bad(parts.join("."), message),
        }
    }
    Layer { metadata: Metadata::named("environment variables"), data }
}

/// Merges `from` into `into`, tables key by key (later values win).
fn merge_into(into: &mut Dict, from: Dict) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(Value::Dict(_, existing)), Value::Dict(_, inner)) => merge_into(existing, inner),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

/// Removes a dotted path (`strategies.trend`) from a table, if present.
fn remove_path(data: &mut Dict, path: &str) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut cursor = data;
    for part in parts {
        match cursor.get_mut(part) {
            Some(Value::Dict(_, inner)) => cursor = inner,
            _ => return,
        }
    }
    cursor.remove(last);
}

/// Instance ids: lower-case letters, digits, `-` and `_`, starting with a letter or digit.
#[must_use]
pub fn is_valid_id(id: &str) -> bool {
    id.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn flatten(prefix: &mut String, dict: &Dict, visit: &mut dyn FnMut(&str, &Value)) {
    for (key, value) in dict {
        let len = prefix.len();
        if !prefix.is_empty() {
            prefix.push('.');
        }
        prefix.push_str(key);
        match value {
            Value::Dict(_, inner) if !inner.is_empty() => flatten(prefix, inner, visit),
            other => visit(prefix, other),
        }
        prefix.truncate(len);
    }
}

/// Renders a value the way TOML would write it.
#[must_use]
pub fn render_value(value: &Value) -> String {
    match value {
        Value::String(_, text) => format!("{text:?}"),
        Value::Char(_, c) => format!("{:?}", c.to_string()),
        Value::Bool(_, b) => b.to_string(),
        Value::Num(_, num) => num
            .to_u128()
            .map(|u| u.to_string())
            .or_else(|| num.to_i128().map(|i| i.to_string()))
            .or_else(|| num.to_f64().map(|f| f.to_string()))
            .unwrap_or_else(|| "?".to_owned()),
        Value::Empty(..) => "\"\"".to_owned(),
        Value::Dict(_, dict) => {
            let parts: Vec<String> = dict.iter().map(|(k, v)| format!("{k} = {}", render_value(v))).collect();
            format!("{{ {} }}", parts.join(", "))
        }
        Value::Array(_, items) => format!("[{}]", items.iter().map(render_value).collect::<Vec<_>>().join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &'static str, overrides: &[&str]) -> Result<ConfigLoader, Vec<ConfigError>> {
        let overrides: Vec<String> = overrides.iter().map(|s| (*s).to_owned()).collect();
        ConfigLoader::load(&ConfigFile::Embedded { name: "test.toml", text }, &Environment::Ignored, &overrides)
    }

    fn errors(text: &'static str) -> Vec<String> {
        load(text, &[]).and_then(|loader| loader.extract()).unwrap_err().iter().map(ToString::to_string).collect()
    }

    #[test]
    fn layers_merge_with_later_layers_winning() {
        let loader = load(
            "[session]\nseed = 7\n[strategies.trend]\nplugin = \"sma-cross\"\nparams = { fast = 3 }\n",
            &["strategies.trend.params.fast=5", "session.initial_cash=1000"],
        )
        .unwrap();
        let config = loader.extract().unwrap();
        assert_eq!(config.session.seed, 7);
        assert_eq!(config.session.initial_cash.to_string(), "1000");
        assert_eq!(render_value(&config.strategies["trend"].params["fast"]), "5");
        assert_eq!(config.matching.plugin, "fifo", "built-in default");
        assert_eq!(loader.source_of("session.seed"), "test.toml");
        assert_eq!(loader.source_of("strategies.trend.params.fast"), "--set strategies.trend.params.fast=5");
        assert_eq!(loader.source_of("matching.plugin"), "built-in defaults");
    }

    #[test]
    fn every_error_is_listed_with_source_and_key() {
        let found = errors(
            "[sesion]\n[session]\nseeed = 1\n[strategies.a]\nplugin = 3\n[strategies.b]\nparms = {}\n[matching]\nstp = \"never\"\n",
        );
        assert_eq!(found.len(), 5, "{found:#?}");
        assert!(
            found[0].starts_with("test.toml: key sesion: unknown section; did you mean \"session\"?"),
            "{}",
            found[0]
        );
        assert!(
            found[1].starts_with("test.toml: key session.seeed: unknown key; did you mean \"seed\"?"),
            "{}",
            found[1]
        );
        assert!(found[2].contains("key matching.stp: "), "{}", found[2]);
        assert!(found[3].starts_with("test.toml: key strategies.a.plugin: invalid type"), "{}", found[3]);
        assert!(
            found[4].starts_with("test.toml: key strategies.b.parms: unknown key; did you mean \"params\"?"),
            "{}",
            found[4]
        );
    }

    #[test]
    fn malformed_toml_and_overrides_are_reported() {
        let error = load("[session\n", &[]).unwrap_err();
        assert_eq!(error[0].source, "test.toml");
        assert!(error[0].message.contains("line 1"), "{}", error[0].message);
        let error = load("", &["nokey", "a..b=1"]).unwrap_err();
        assert_eq!(error.len(), 2);
        assert_eq!(error[0].to_string(), "--set nokey: expected key=value");
        assert!(error[1].message.starts_with("bad key \"a..b\""));
    }

    #[test]
    fn bad_ids_and_missing_file_are_errors() {
        assert!(errors("[strategies.\"Bad.Id\"]\nplugin = \"x\"\n")[0].contains("bad id \"Bad.Id\""));
        let missing = ConfigLoader::load(&ConfigFile::Path("/nonexistent/x.toml".into()), &Environment::Ignored, &[])
            .unwrap_err();
        assert!(missing[0].to_string().starts_with("/nonexistent/x.toml: cannot read the config file"));
    }

    #[test]
    fn effective_config_names_each_values_source() {
        let loader = load("[session]\nseed = 9\n", &["session.max_events=10"]).unwrap();
        let rows = loader.effective().unwrap();
        let find = |key: &str| rows.iter().find(|r| r.0 == key).cloned().unwrap();
        assert_eq!(find("session.seed"), ("session.seed".into(), "9".into(), "test.toml".into()));
        assert_eq!(find("session.max_events").2, "--set session.max_events=10");
        assert_eq!(find("matching.plugin").2, "built-in defaults");
    }

    fn env_errors(vars: &[(&str, &str)]) -> Result<ConfigLoader, Vec<ConfigError>> {
        let vars = vars.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        ConfigLoader::load(&ConfigFile::Embedded { name: "test.toml", text: "" }, &Environment::Vars(vars), &[])
    }

    #[test]
    fn deep_keys_and_values_are_refused_before_they_are_parsed() {
        let deep_key = format!("{}=1", vec!["a"; 20_000].join("."));
        let deep_value = format!("session.seed={}{}", "[".repeat(100_000), "]".repeat(100_000));
        let deep_table = format!("session.seed={}1{}", "{a = ".repeat(50_000), "}".repeat(50_000));
        let errors = load("", &[&deep_key, &deep_value, &deep_table]).unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].message.contains("key has 20000 parts; at most 16"), "{}", errors[0]);
        assert!(errors[0].source.len() < 100, "the source is shortened: {}", errors[0].source);
        assert!(errors[1].message.contains("nests 100000 arrays or tables deep; at most 32"), "{}", errors[1]);
        assert!(errors[2].message.contains("nests 50000 arrays or tables deep"), "{}", errors[2]);
        // Brackets inside a quoted string are text, not nesting.
        let quoted = format!("strategies.a.params.symbol=\"{}\"", "[".repeat(100));
        assert!(load("", &[&quoted]).is_ok());
        let errors = env_errors(&[
            ("TRADSYS_SESSION__SEED", &"[".repeat(10_000)),
            ("TRADSYS_A__B__C__D__E__F__G__H__I__J__K__L__M__N__O__P__Q", "1"),
        ])
        .unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().any(|e| e.message.contains("nests 10000 arrays")), "{errors:?}");
    }

    #[test]
    fn program_variables_and_config_variables_do_not_collide() {
        let loader = env_errors(&[
            ("TRADSYS_LOG", "debug"),
            ("TRADSYS_LOG_FORMAT", "json"),
            ("TRADSYS_ADMIN_TOKEN", "s3cret"),
            ("TRADSYS_HOME", "/opt/tradsys"),
            ("TRADSYS_SESSION__SEED", "7"),
            ("OTHER", "x"),
        ])
        .unwrap();
        let config = loader.extract().unwrap();
        assert_eq!(config.session.seed, 7);
        assert_eq!(config.admin.token, None, "the token is serve's own variable, not the config's");
        assert_eq!(loader.source_of("session.seed"), "environment variable TRADSYS_SESSION__SEED");
        let errors = env_errors(&[("TRADSYS_SESION__SEED", "7")]).unwrap_err();
        assert_eq!(errors[0].source, "environment variable TRADSYS_SESION__SEED");
        assert!(errors[0].message.contains("unknown section \"sesion\"; did you mean \"session\"?"), "{}", errors[0]);
    }

    #[test]
    fn a_toml_error_names_the_position_without_quoting_the_line() {
        let text: &'static str =
            Box::leak(format!("[session]\nseed = {}{}\n", "[".repeat(100_000), "]".repeat(100_000)).into_boxed_str());
        let error = load(text, &[]).unwrap_err();
        assert!(error[0].message.starts_with("TOML parse error at line 2, column"), "{}", error[0].message);
        assert!(error[0].message.ends_with("recursion limit exceeded"), "{}", error[0].message);
        assert!(error[0].message.len() < 120, "{}", error[0].message);
    }
}
