//! `cargo xtask new-plugin`: a plugin crate that builds, passes its tests and runs at once, wired
//! into the app.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};
use toml_edit::{Array, DocumentMut, InlineTable, Item, Value};

const KINDS: [&str; 5] = ["strategy", "risk", "indicator", "matching", "feed"];

/// Writes `plugins/<name>/` (the crate and an `example.toml` that runs it) and wires the plugin into
/// the app: dependency and feature in `app/Cargo.toml` (edited as TOML, in `default` and `full` so a
/// plain `cargo run -p tradsys` contains it), the force-link line, and for matching the enum variant.
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

    // Everything is prepared before anything is written, so a refusal leaves the tree untouched.
    let app_manifest = root.join("app/Cargo.toml");
    let manifest_text = wire_manifest(&fs::read_to_string(&app_manifest)?, name, &krate)
        .with_context(|| format!("editing {}", app_manifest.display()))?;
    let plugins_rs = root.join("app/src/plugins.rs");
    let plugins_text = insert_after_last(
        &fs::read_to_string(&plugins_rs)?,
        "=> tradsys_plugin_",
        &format!("    \"{name}\" => {module},"),
    )?;
    let matching = if kind == "matching" {
        let matching_rs = root.join("app/src/matching.rs");
        let variant = format!(
            "        /// The `{name}` plugin.\n        #[cfg(feature = \"{name}\")]\n        {}({module}::{ty}),",
            type_name(name, "")
        );
        Some((
            matching_rs.clone(),
            insert_after_last(&fs::read_to_string(&matching_rs)?, "(tradsys_plugin_", &variant)?,
        ))
    } else {
        None
    };

    fs::create_dir_all(dir.join("src")).with_context(|| format!("creating {}", dir.display()))?;
    fs::write(dir.join("Cargo.toml"), manifest(name, kind))?;
    let body = template(kind).replace("{{TYPE}}", &ty).replace("{{NAME}}", name);
    fs::write(dir.join("src/lib.rs"), body)?;
    fs::write(dir.join("example.toml"), example_config(name, kind))?;
    fs::write(&app_manifest, manifest_text)?;
    fs::write(&plugins_rs, plugins_text)?;
    if let Some((path, text)) = matching {
        fs::write(path, text)?;
    }
    Ok(())
}

/// Adds the optional dependency and the feature, and lists the feature in `default` and `full`.
fn wire_manifest(text: &str, name: &str, krate: &str) -> Result<String> {
    let mut doc: DocumentMut = text.parse().context("app/Cargo.toml is not valid TOML")?;
    let dependencies = doc["dependencies"].as_table_mut().context("no [dependencies] table")?;
    if dependencies.contains_key(krate) {
        bail!("app/Cargo.toml already depends on {krate}");
    }
    let mut dependency = InlineTable::new();
    dependency.insert("path", format!("../plugins/{name}").into());
    dependency.insert("optional", true.into());
    dependencies.insert(krate, Item::Value(Value::InlineTable(dependency)));
    let features = doc["features"].as_table_mut().context("no [features] table")?;
    if features.contains_key(name) {
        bail!("app/Cargo.toml already has a feature {name:?}");
    }
    let mut enables = Array::new();
    enables.push(format!("dep:{krate}"));
    features.insert(name, Item::Value(Value::Array(enables)));
    for set in ["default", "full"] {
        let list =
            features.get_mut(set).and_then(Item::as_array_mut).with_context(|| format!("no `{set}` feature list"))?;
        // One feature a line, like the rest of the list.
        let multiline =
            list.iter().any(|item| item.decor().prefix().and_then(|p| p.as_str()).is_some_and(|p| p.contains('\n')));
        list.push(name);
        if multiline && let Some(item) = list.iter_mut().last() {
            item.decor_mut().set_prefix("\n    ");
            list.set_trailing("\n");
            list.set_trailing_comma(true);
        }
    }
    Ok(doc.to_string())
}

/// A config that runs the new plugin at once, on the data the repository ships.
fn example_config(name: &str, kind: &str) -> String {
    let bars = "[instruments.EURUSD]\ntick = \"0.00001\"\nlot_size = 1000\n\n[feed]\nplugin = \"bars-csv\"\nparams = { path = \"../../examples/data/EURUSD-1h.csv\", symbol = \"EURUSD\" }\n";
    let trend = "\n[strategies.trend]\nplugin = \"sma-cross\"\nparams = { fast = 10, slow = 30 }\n";
    let body = match kind {
        "strategy" => format!("{bars}\n[strategies.{name}]\nplugin = \"{name}\"\n"),
        "risk" => format!("{bars}{trend}\n[risk.{name}]\nplugin = \"{name}\"\n"),
        "indicator" => format!("{bars}{trend}\n[indicators.{name}]\nplugin = \"{name}\"\nlazy = false\n"),
        "matching" => format!(
            "[feed]\nplugin = \"synthetic\"\nparams = {{ count = 20000 }}\n\n[matching]\nplugin = \"{name}\"\n\n[strategies.mm]\nplugin = \"market-maker\"\n"
        ),
        _ => format!(
            "[feed]\nplugin = \"{name}\"\n\n[strategies.trend]\nplugin = \"sma-cross\"\nparams = {{ fast = 2, slow = 3 }}\n"
        ),
    };
    format!(
        "# Runs the `{name}` {kind} plugin: cargo run -p tradsys -- run --config plugins/{name}/example.toml --verbose\n\n{body}"
    )
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
//!
//! Run it: `cargo run -p tradsys -- run --config plugins/{{NAME}}/example.toml --verbose`.

#![deny(unsafe_code)]

use serde::{Deserialize, Serialize};
use tradsys_core::prelude::*;

/// Buys once and holds.
#[derive(Debug)]
pub struct {{TYPE}} {
    qty: i64,
    bought: bool,
}

tradsys_core::plugin_params! {
    /// Parameters of `{{NAME}}`; `Default` is the documented defaults.
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Params {
        /// Lots to buy.
        pub qty: i64,
    }
}

impl Default for Params {
    fn default() -> Params {
        Params { qty: 1 }
    }
}

impl Plugin for {{TYPE}} {
    type Params = Params;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = Params::PARAM_DOCS;
    const SUMMARY: &'static str = "buys qty lots on the first bar and holds";
    const CAPABILITIES: &'static [Capability] = &[Capability::SubmitOrders];

    fn build(params: Params) -> Result<Self, ComponentError> {
        if params.qty <= 0 {
            return Err(ComponentError::new(format!("qty must be positive, got {}", params.qty)));
        }
        Ok({{TYPE}} { qty: params.qty, bought: false })
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
    use tradsys_core::testing::{TestHost, bar};

    use super::*;

    #[test]
    fn buys_qty_at_market_on_the_first_bar_only() {
        let mut strategy = {{TYPE}}::build(Params { qty: 3 }).unwrap();
        let mut host = TestHost::new();
        strategy.on_bar(&bar(0, "1.10"), &mut host.context());
        strategy.on_bar(&bar(1, "1.20"), &mut host.context());
        let orders: Vec<OrderRequest> = host.submitted.iter().map(|(_, order)| *order).collect();
        assert_eq!(orders, [OrderRequest::market(InstrumentId(0), Side::Buy, Qty(3))]);
    }

    #[test]
    fn without_submit_orders_the_order_is_refused_and_counted() {
        let mut strategy = {{TYPE}}::build(Params { qty: 3 }).unwrap();
        let mut host = TestHost::new();
        host.permissions = tradsys_core::capability::Permissions::new(tradsys_core::capability::Capabilities::NONE);
        strategy.on_bar(&bar(0, "1.10"), &mut host.context());
        assert!(host.submitted.is_empty());
        assert_eq!(host.refused.len(), 1, "the strategy sees a rejection");
    }

    #[test]
    fn refuses_a_quantity_that_is_not_positive() {
        let error = {{TYPE}}::build(Params { qty: 0 }).unwrap_err();
        assert_eq!(error.to_string(), "qty must be positive, got 0");
    }
}
"#;

const RISK: &str = r#"//! `{{NAME}}`: refuses orders above `max_qty` lots (a starting point for a risk validator).
//!
//! Run it: `cargo run -p tradsys -- run --config plugins/{{NAME}}/example.toml --verbose`.

#![deny(unsafe_code)]

use serde::{Deserialize, Serialize};
use tradsys_core::prelude::*;

/// Refuses large orders.
#[derive(Debug)]
pub struct {{TYPE}} {
    max_qty: i64,
}

tradsys_core::plugin_params! {
    /// Parameters of `{{NAME}}`; `Default` is the documented defaults.
    #[derive(Debug, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Params {
        /// The largest order allowed, in lots.
        pub max_qty: i64,
    }
}

impl Default for Params {
    fn default() -> Params {
        Params { max_qty: 100 }
    }
}

impl Plugin for {{TYPE}} {
    type Params = Params;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = Params::PARAM_DOCS;
    const SUMMARY: &'static str = "refuses orders above max_qty lots";

    fn build(params: Params) -> Result<Self, ComponentError> {
        if params.max_qty <= 0 {
            return Err(ComponentError::new(format!("max_qty must be positive, got {}", params.max_qty)));
        }
        Ok({{TYPE}} { max_qty: params.max_qty })
    }
}

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
    use tradsys_core::capability::Permissions;
    use tradsys_core::testing::risk_facts;

    use super::*;

    #[test]
    fn refuses_orders_above_the_limit_and_passes_the_rest() {
        let mut risk = {{TYPE}}::build(Params { max_qty: 5 }).unwrap();
        let instrument = Instrument::undeclared("T");
        let facts = risk_facts(&instrument, 0, Price::from_units(1));
        let permissions = Permissions::all();
        let view = RiskView::new(&facts, &permissions);
        let order = |qty| OrderRequest::market(InstrumentId(0), Side::Buy, Qty(qty));
        assert_eq!(risk.check(&order(5), &view), Ok(()));
        assert_eq!(risk.check(&order(6), &view), Err(RiskReject::new("qty 6 > max_qty 5")));
        assert!(!risk.reviews(), "an order-only validator costs nothing per bar");
    }
}
"#;

const INDICATOR: &str = r#"//! `{{NAME}}`: the last close (a starting point for an indicator).
//!
//! Run it: `cargo run -p tradsys -- run --config plugins/{{NAME}}/example.toml --verbose`.

#![deny(unsafe_code)]

use serde::{Deserialize, Serialize};
use tradsys_core::prelude::*;

/// The last close seen.
#[derive(Debug, Default)]
pub struct {{TYPE}} {
    last: Option<f64>,
}

tradsys_core::plugin_params! {
    /// `{{NAME}}` takes no parameters.
    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Params {}
}

impl Plugin for {{TYPE}} {
    type Params = Params;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = Params::PARAM_DOCS;
    const SUMMARY: &'static str = "the last close";

    fn build(_params: Params) -> Result<Self, ComponentError> {
        Ok({{TYPE}}::default())
    }
}

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
    use tradsys_core::testing::bar;

    use super::*;

    #[test]
    fn follows_the_last_close_and_is_empty_before_the_first_bar() {
        let mut indicator = {{TYPE}}::build(Params::default()).unwrap();
        assert_eq!(indicator.output(0), None);
        indicator.update(&MarketEvent::Bar(bar(0, "1.10")));
        indicator.update(&MarketEvent::Bar(bar(1, "1.25")));
        assert_eq!(indicator.output(0), Some(1.25));
    }
}
"#;

const MATCHING: &str = r#"//! `{{NAME}}`: time priority within a level (a starting point for a matching algorithm).
//!
//! Run it: `cargo run -p tradsys -- run --config plugins/{{NAME}}/example.toml --verbose`.

#![deny(unsafe_code)]

use serde::{Deserialize, Serialize};
use tradsys_core::prelude::*;

/// Fills a level's orders in arrival order.
#[derive(Debug, Default)]
pub struct {{TYPE}};

tradsys_core::plugin_params! {
    /// `{{NAME}}` takes no parameters.
    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Params {}
}

impl Plugin for {{TYPE}} {
    type Params = Params;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = Params::PARAM_DOCS;
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
    use tradsys_core::book::{BookEvent, NewOrder, OrderBook, StpPolicy};
    use tradsys_core::types::OrderId;

    use super::*;

    fn limit(id: u64, side: Side, qty: i64) -> NewOrder {
        let price = Some(Price::from_units(10));
        NewOrder { id: OrderId(id), side, order_type: OrderType::Limit, price, trigger: None, qty: Qty(qty), tif: TimeInForce::Gtc, owner: None }
    }

    #[test]
    fn the_first_order_in_at_a_level_fills_first() {
        let mut book = OrderBook::new(Instrument::undeclared("T"), {{TYPE}}, StpPolicy::None);
        let mut events = Vec::new();
        book.submit(&limit(1, Side::Sell, 5), &mut events);
        book.submit(&limit(2, Side::Sell, 5), &mut events);
        events.clear();
        book.submit(&limit(3, Side::Buy, 7), &mut events);
        let makers: Vec<(u64, i64)> = events
            .iter()
            .filter_map(|e| match e {
                BookEvent::Trade(trade) => Some((trade.maker.0, trade.qty.0)),
                _ => None,
            })
            .collect();
        assert_eq!(makers, [(1, 5), (2, 2)]);
    }
}
"#;

const FEED: &str = r#"//! `{{NAME}}`: `count` flat bars at `price` (a starting point for a feed).
//!
//! Run it: `cargo run -p tradsys -- run --config plugins/{{NAME}}/example.toml --verbose`.

#![deny(unsafe_code)]

use serde::{Deserialize, Serialize};
use tradsys_core::prelude::*;

/// Emits flat bars, one a minute.
#[derive(Debug)]
pub struct {{TYPE}} {
    params: Params,
    instrument: InstrumentId,
    emitted: u64,
}

tradsys_core::plugin_params! {
    /// Parameters of `{{NAME}}`; `Default` is the documented defaults.
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
}

impl Default for Params {
    fn default() -> Params {
        Params { symbol: "FLAT".to_owned(), count: 10, price: Price::from_units(100) }
    }
}

impl Plugin for {{TYPE}} {
    type Params = Params;
    const PARAM_DOCS: &'static [tradsys_core::plugin::ParamDoc] = Params::PARAM_DOCS;
    const SUMMARY: &'static str = "count flat bars at price";

    fn build(params: Params) -> Result<Self, ComponentError> {
        Ok({{TYPE}} { params, instrument: InstrumentId(0), emitted: 0 })
    }
}

impl Feed for {{TYPE}} {
    fn init(&mut self, ctx: &mut InitContext<'_>) -> Result<(), ComponentError> {
        self.instrument = ctx.instrument(&self.params.symbol)?;
        Ok(())
    }

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
    use tradsys_core::instrument::InstrumentTable;

    use super::*;

    #[test]
    fn emits_count_bars_of_its_symbol_in_time_order_then_ends() {
        let mut feed = {{TYPE}}::build(Params { count: 2, ..Params::default() }).unwrap();
        let mut instruments = InstrumentTable::default();
        instruments.resolve("OTHER").unwrap();
        feed.init(&mut InitContext::new("feed", &mut instruments, 0)).unwrap();
        let mut bad_rows = BadRows::default();
        let mut ctx = FeedContext::new(&mut instruments, &mut bad_rows);
        let mut times = Vec::new();
        while let Some(event) = feed.next_event(&mut ctx).unwrap() {
            let MarketEvent::Bar(bar) = event else { panic!("a bar feed emits bars") };
            assert_eq!((bar.instrument, bar.close), (InstrumentId(1), Price::from_units(100)));
            times.push(bar.ts);
        }
        assert_eq!(times.len(), 2);
        assert!(times[0] < times[1]);
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
    fn a_new_feature_goes_on_a_line_of_its_own_in_default_and_full() {
        let manifest = "[dependencies]\n\n[features]\ndefault = [\n    \"a\",\n]\nfull = [\"a\"]\na = []\n";
        let wired = wire_manifest(manifest, "new-one", "tradsys-plugin-new-one").unwrap();
        assert!(wired.contains("default = [\n    \"a\",\n    \"new-one\",\n]"), "{wired}");
        assert!(wired.contains("full = [\"a\", \"new-one\"]"), "a one-line list stays on one line: {wired}");
        assert!(wired.contains("new-one = [\"dep:tradsys-plugin-new-one\"]"), "{wired}");
        assert!(wire_manifest(&wired, "new-one", "tradsys-plugin-new-one").is_err(), "wired twice");
    }

    #[test]
    fn inserts_after_the_last_marker() {
        let text = "a\nx1\nb\nx2\nc\n";
        assert_eq!(insert_after_last(text, "x", "new").unwrap(), "a\nx1\nb\nx2\nnew\nc\n");
        assert!(insert_after_last(text, "zzz", "new").is_err());
    }
}
