//! `cargo xtask new-plugin`: a plugin crate that builds and passes its test at once, wired into the app.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};

const KINDS: [&str; 5] = ["strategy", "risk", "indicator", "matching", "feed"];

/// Writes `plugins/<name>/` and adds the feature, dependency and force-link lines to the app.
pub(crate) fn new_plugin(root: &Path, name: &str, kind: &str) -> Result<()> {
    if !is_kebab_case(name) {
        bail!("bad plugin name {name:?}: expected kebab-case, e.g. my-strategy");
    }
    if !KINDS.contains(&kind) {
        bail!("unknown kind {kind:?}; expected one of {}", KINDS.join(", "));
    }
    let dir = root.join("plugins").join(name);
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    let ty = type_name(name, kind);
    let krate = format!("tradsys-plugin-{name}");
    let module = krate.replace('-', "_");
    fs::create_dir_all(dir.join("src")).with_context(|| format!("creating {}", dir.display()))?;
    fs::write(dir.join("Cargo.toml"), manifest(name, kind))?;
    let body = template(kind).replace("{{TYPE}}", &ty).replace("{{NAME}}", name);
    fs::write(dir.join("src/lib.rs"), body)?;

    let app_manifest = root.join("app/Cargo.toml");
    let mut text = fs::read_to_string(&app_manifest)?;
    text = insert_after_last(
        &text,
        "optional = true }",
        &format!("{krate} = {{ path = \"../plugins/{name}\", optional = true }}"),
    )?;
    text = insert_after_last(&text, " = [\"dep:tradsys-plugin-", &format!("{name} = [\"dep:{krate}\"]"))?;
    let full_at = text.find("full = [").context("app/Cargo.toml has no `full` feature")?;
    let close = full_at + text[full_at..].find("\n]").context("unterminated `full` feature")?;
    text.insert_str(close, &format!("\n    \"{name}\","));
    fs::write(&app_manifest, text)?;

    let plugins_rs = root.join("app/src/plugins.rs");
    let text = fs::read_to_string(&plugins_rs)?;
    let text = insert_after_last(&text, "=> tradsys_plugin_", &format!("    \"{name}\" => {module},"))?;
    fs::write(&plugins_rs, text)?;

    if kind == "matching" {
        let matching_rs = root.join("app/src/matching.rs");
        let text = fs::read_to_string(&matching_rs)?;
        let variant = format!(
            "        /// The `{name}` plugin.\n        #[cfg(feature = \"{name}\")]\n        {}({module}::{ty}),",
            type_name(name, "")
        );
        let text = insert_after_last(&text, "(tradsys_plugin_", &variant)?;
        fs::write(&matching_rs, text)?;
    }
    Ok(())
}

/// Inserts `line` after the last line containing `marker`.
fn insert_after_last(text: &str, marker: &str, line: &str) -> Result<String> {
    let lines: Vec<&str> = text.lines().collect();
    let at =
        lines.iter().rposition(|l| l.contains(marker)).with_context(|| format!("no line containing {marker:?}"))?;
    let mut out: Vec<&str> = lines[..=at].to_vec();
    out.push(line);
    out.extend(&lines[at + 1..]);
    Ok(out.join("\n") + "\n")
}

fn is_kebab_case(name: &str) -> bool {
    !name.is_empty()
        && name.split('-').all(|w| {
            w.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && w.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// `my-thing` + `strategy` → `MyThingStrategy`.
fn type_name(name: &str, kind: &str) -> String {
    let camel = |s: &str| -> String {
        s.split('-')
            .map(|w| {
                let mut chars = w.chars();
                chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
            })
            .collect()
    };
    let base = camel(name);
    let suffix = match kind {
        "risk" => "Risk".to_owned(),
        "" => String::new(),
        other => camel(other),
    };
    if base.ends_with(&suffix) { base } else { base + &suffix }
}

fn manifest(name: &str, kind: &str) -> String {
    format!(
        r#"[package]
name = "tradsys-plugin-{name}"
description = "tradsys plugin: {name} ({kind})"
version.workspace = true
edition.workspace = true
rust-version.workspace = true
license.workspace = true
publish.workspace = true

[dependencies]
tradsys-core.workspace = true
serde.workspace = true

[lints]
workspace = true
"#
    )
}

fn template(kind: &str) -> &'static str {
    match kind {
        "strategy" => STRATEGY,
        "risk" => RISK,
        "indicator" => INDICATOR,
        "matching" => MATCHING,
        _ => FEED,
    }
}

const STRATEGY: &str = r#"//! `{{NAME}}`: buys `qty` lots on the first bar and holds (a starting point for a strategy).

#![deny(unsafe_code)]

use serde::{Deserialize, Serialize};
use tradsys_core::component::{ComponentError, InitContext, Lifecycle, OrderRequest, Strategy, StrategyContext};
use tradsys_core::market::Bar;
use tradsys_core::plugin::{Capability, Plugin};
use tradsys_core::types::{Qty, Side};

/// Buys once and holds.
#[derive(Debug)]
pub struct {{TYPE}} {
    qty: i64,
    bought: bool,
}

/// Parameters of `{{NAME}}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Lots to buy.
    pub qty: i64,
}

impl Default for Params {
    fn default() -> Params {
        Params { qty: 1 }
    }
}

impl Plugin for {{TYPE}} {
    type Params = Params;
    const SUMMARY: &'static str = "buys qty lots on the first bar and holds";
    const CAPABILITIES: &'static [Capability] = &[Capability::SubmitOrders];

    fn build(params: Params) -> Result<Self, ComponentError> {
        if params.qty <= 0 {
            return Err(ComponentError::new(format!("qty must be positive, got {}", params.qty)));
        }
        Ok({{TYPE}} { qty: params.qty, bought: false })
    }
}

impl Lifecycle for {{TYPE}} {
    fn init(&mut self, _ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        Ok(())
    }
}

impl Strategy for {{TYPE}} {
    fn on_bar(&mut self, bar: &Bar, ctx: &mut StrategyContext<'_>) {
        if !self.bought {
            ctx.submit(OrderRequest::market(bar.instrument, Side::Buy, Qty(self.qty)));
            self.bought = true;
        }
    }
}

tradsys_core::register_strategy!({{TYPE}}, "{{NAME}}", "0.1.0");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_a_non_positive_qty() {
        assert!({{TYPE}}::build(Params { qty: 0 }).is_err());
        assert!({{TYPE}}::build(Params::default()).is_ok());
    }
}
"#;

const RISK: &str = r#"//! `{{NAME}}`: refuses orders above `max_qty` lots (a starting point for a risk validator).

#![deny(unsafe_code)]

use serde::{Deserialize, Serialize};
use tradsys_core::component::{ComponentError, Lifecycle, OrderRequest, RiskReject, RiskValidator, RiskView};
use tradsys_core::plugin::Plugin;

/// Refuses large orders.
#[derive(Debug)]
pub struct {{TYPE}} {
    max_qty: i64,
}

/// Parameters of `{{NAME}}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The largest order allowed, in lots.
    pub max_qty: i64,
}

impl Default for Params {
    fn default() -> Params {
        Params { max_qty: 100 }
    }
}

impl Plugin for {{TYPE}} {
    type Params = Params;
    const SUMMARY: &'static str = "refuses orders above max_qty lots";

    fn build(params: Params) -> Result<Self, ComponentError> {
        Ok({{TYPE}} { max_qty: params.max_qty })
    }
}

impl Lifecycle for {{TYPE}} {}

impl RiskValidator for {{TYPE}} {
    fn check(&mut self, order: &OrderRequest, _view: &RiskView<'_>) -> Result<(), RiskReject> {
        if order.qty.0 > self.max_qty {
            return Err(RiskReject::new(format!("qty {} > max_qty {}", order.qty.0, self.max_qty)));
        }
        Ok(())
    }

    // Checks orders only: no per-mark `review`, so the session need not call it after every bar.
    fn reviews(&self) -> bool {
        false
    }
}

tradsys_core::register_risk!({{TYPE}}, "{{NAME}}", "0.1.0");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_with_defaults() {
        assert_eq!({{TYPE}}::build(Params::default()).unwrap().max_qty, 100);
    }
}
"#;

const INDICATOR: &str = r#"//! `{{NAME}}`: the last close (a starting point for an indicator).

#![deny(unsafe_code)]

use serde::{Deserialize, Serialize};
use tradsys_core::component::{ComponentError, Indicator, Lifecycle};
use tradsys_core::market::MarketEvent;
use tradsys_core::plugin::Plugin;

/// The last close seen.
#[derive(Debug, Default)]
pub struct {{TYPE}} {
    last: Option<f64>,
}

/// `{{NAME}}` takes no parameters.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl Plugin for {{TYPE}} {
    type Params = Params;
    const SUMMARY: &'static str = "the last close";

    fn build(_params: Params) -> Result<Self, ComponentError> {
        Ok({{TYPE}}::default())
    }
}

impl Lifecycle for {{TYPE}} {}

impl Indicator for {{TYPE}} {
    fn update(&mut self, event: &MarketEvent) {
        if let MarketEvent::Bar(bar) = event {
            self.last = Some(bar.close.to_f64());
        }
    }

    fn output(&self, _index: usize) -> Option<f64> {
        self.last
    }
}

tradsys_core::register_indicator!({{TYPE}}, "{{NAME}}", "0.1.0");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_empty_until_the_first_bar() {
        assert_eq!({{TYPE}}::default().output(0), None);
    }
}
"#;

const MATCHING: &str = r#"//! `{{NAME}}`: time priority within a level (a starting point for a matching algorithm).

#![deny(unsafe_code)]

use serde::{Deserialize, Serialize};
use tradsys_core::book::LevelFills;
use tradsys_core::component::ComponentError;
use tradsys_core::matching::MatchingAlgorithm;
use tradsys_core::plugin::Plugin;

/// Fills a level's orders in arrival order.
#[derive(Debug, Default)]
pub struct {{TYPE}};

/// `{{NAME}}` takes no parameters.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {}

impl Plugin for {{TYPE}} {
    type Params = Params;
    const SUMMARY: &'static str = "time priority within a level";

    fn build(_params: Params) -> Result<Self, ComponentError> {
        Ok({{TYPE}})
    }
}

impl MatchingAlgorithm for {{TYPE}} {
    fn match_level(&mut self, level: &mut LevelFills<'_>) {
        level.fill_rest_in_time_priority();
    }
}

tradsys_core::register_matching!({{TYPE}}, "{{NAME}}", "0.1.0");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds() {
        assert!({{TYPE}}::build(Params::default()).is_ok());
    }
}
"#;

const FEED: &str = r#"//! `{{NAME}}`: `count` flat bars at `price` (a starting point for a feed).

#![deny(unsafe_code)]

use serde::{Deserialize, Serialize};
use tradsys_core::component::{ComponentError, Feed, FeedContext, FeedData, FeedError, InitContext, Lifecycle};
use tradsys_core::market::{Bar, MarketEvent};
use tradsys_core::plugin::Plugin;
use tradsys_core::types::{InstrumentId, Price, Timestamp};

/// Emits flat bars.
#[derive(Debug)]
pub struct {{TYPE}} {
    params: Params,
    instrument: InstrumentId,
    emitted: u64,
}

/// Parameters of `{{NAME}}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The symbol.
    pub symbol: String,
    /// Bars to emit.
    pub count: u64,
    /// Their price.
    pub price: Price,
}

impl Default for Params {
    fn default() -> Params {
        Params { symbol: "FLAT".to_owned(), count: 10, price: Price::from_units(100) }
    }
}

impl Plugin for {{TYPE}} {
    type Params = Params;
    const SUMMARY: &'static str = "count flat bars at price";

    fn build(params: Params) -> Result<Self, ComponentError> {
        Ok({{TYPE}} { params, instrument: InstrumentId(0), emitted: 0 })
    }
}

impl Lifecycle for {{TYPE}} {
    fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        self.instrument = ctx.instrument(&self.params.symbol)?;
        Ok(())
    }
}

impl Feed for {{TYPE}} {
    fn data(&self) -> FeedData {
        FeedData::Bars
    }

    fn next_event(&mut self, _ctx: &mut FeedContext<'_>) -> Result<Option<MarketEvent>, FeedError> {
        if self.emitted == self.params.count {
            return Ok(None);
        }
        self.emitted += 1;
        let price = self.params.price;
        Ok(Some(MarketEvent::Bar(Bar {
            ts: Timestamp(self.emitted as i64 * 60_000_000_000),
            instrument: self.instrument,
            open: price,
            high: price,
            low: price,
            close: price,
            volume: 0.0,
        })))
    }
}

tradsys_core::register_feed!({{TYPE}}, "{{NAME}}", "0.1.0");

#[cfg(test)]
mod tests {
    use tradsys_core::component::BadRows;
    use tradsys_core::instrument::InstrumentTable;

    use super::*;

    #[test]
    fn emits_count_bars_then_ends() {
        let mut feed = {{TYPE}}::build(Params { count: 2, ..Params::default() }).unwrap();
        let mut instruments = InstrumentTable::default();
        let mut bad_rows = BadRows::default();
        let mut ctx = FeedContext { instruments: &mut instruments, bad_rows: &mut bad_rows };
        assert!(feed.next_event(&mut ctx).unwrap().is_some());
        assert!(feed.next_event(&mut ctx).unwrap().is_some());
        assert!(feed.next_event(&mut ctx).unwrap().is_none());
    }
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_take_the_kind_suffix_once() {
        assert_eq!(type_name("buy-hold", "strategy"), "BuyHoldStrategy");
        assert_eq!(type_name("max-loss-risk", "risk"), "MaxLossRisk");
        assert_eq!(type_name("my-fifo", ""), "MyFifo");
    }

    #[test]
    fn inserts_after_the_last_marker() {
        let text = "a\nx1\nb\nx2\nc\n";
        assert_eq!(insert_after_last(text, "x", "new").unwrap(), "a\nx1\nb\nx2\nnew\nc\n");
        assert!(insert_after_last(text, "zzz", "new").is_err());
    }
}
