//! `--report-html FILE.html`: one self-contained page that opens offline, with the run's record,
//! the strategies, every statistic, and interactive charts (zoom, pan, hover) of each symbol's
//! price with its entries and exits, the equity of each strategy beside buy & hold, the drawdown
//! and the PnL of each trade.
//!
//! The charts are drawn by TradingView's Lightweight Charts (Apache-2.0), taken from the npm
//! registry and embedded whole in every file (`app/assets/lightweight-charts/`), so the page
//! fetches nothing when it opens. Tables are plain HTML, readable without scripts. Everything but
//! the timing section is a function of the run, so identical runs write identical files.

mod chart_data;

use std::fmt::Write as _;

use serde::Serialize;
use tradsys_core::instrument::TickOrigin;
use tradsys_core::session::SessionReport;
use tradsys_core::session::stats::CurvePoint;

pub use self::chart_data::{ChartData, MAX_CANDLES, MAX_SYMBOLS, MAX_TRADES, seconds};
use self::chart_data::{PriceSeries, TradeMark};
use crate::plot::return_pct;
use crate::run::{RunRecord, StatisticsColumn, money};

/// The charting library, embedded whole (see `assets/lightweight-charts/README.md`).
const CHART_LIBRARY: &str = include_str!("../../assets/lightweight-charts/lightweight-charts.standalone.production.js");
/// The library's version, for the page's credits.
const CHART_LIBRARY_VERSION: &str = "5.2.1";
/// The page's script: builds the charts from the embedded data.
const SCRIPT: &str = include_str!("../../assets/report/report.js");
/// The page's style.
const STYLE: &str = include_str!("../../assets/report/report.css");

/// Everything the page is made of.
#[derive(Debug)]
pub struct HtmlReport<'a> {
    /// The config's name, in the title.
    pub name: &'a str,
    /// The run's record (version, seed, parameters), when the command keeps one.
    pub record: Option<&'a RunRecord>,
    /// The session's report.
    pub report: &'a SessionReport,
    /// Every statistic, a column per strategy (and the total when there are several).
    pub statistics: &'a [StatisticsColumn<'a>],
    /// Prices and trades gathered during the run.
    pub charts: &'a ChartData,
}

/// What the script draws, embedded as JSON.
#[derive(Serialize)]
struct ChartsJson<'a> {
    /// Whether bars are closer than a day apart (the time axis then shows times).
    intraday: bool,
    prices: &'a [PriceSeries],
    trades: &'a [TradeMark],
    /// Return of equity, percent of its first mark: the total first, then each strategy.
    equity: Vec<Curve<'a>>,
    /// Drawdown, percent (negative): the total first, then each strategy.
    drawdown: Vec<Curve<'a>>,
}

/// One named line of `[time, value]` points at strictly increasing whole seconds.
#[derive(Serialize)]
struct Curve<'a> {
    name: &'a str,
    points: Vec<(i64, f64)>,
}

impl Curve<'_> {
    fn new<'a>(name: &'a str, curve: &[CurvePoint], value: impl Fn(&CurvePoint) -> f64) -> Curve<'a> {
        let mut points: Vec<(i64, f64)> = Vec::with_capacity(curve.len());
        for point in curve {
            let at = (seconds(point.ts), value(point));
            match points.last_mut() {
                // Marks within one second: the chart's axis takes the last.
                Some(last) if last.0 >= at.0 => last.1 = at.1,
                _ => points.push(at),
            }
        }
        Curve { name, points }
    }
}

impl HtmlReport<'_> {
    /// The page.
    ///
    /// # Errors
    /// The chart data cannot be serialized (a bug).
    pub fn render(&self) -> serde_json::Result<String> {
        let report = self.report;
        let mut equity = vec![Curve::new("total", &report.curve, return_pct(&report.curve))];
        let mut drawdown = vec![Curve::new("total", &report.curve, |p| -p.drawdown * 100.0)];
        if report.strategy_curves.len() > 1 {
            for (id, curve) in &report.strategy_curves {
                equity.push(Curve::new(id, curve, return_pct(curve)));
                drawdown.push(Curve::new(id, curve, |p| -p.drawdown * 100.0));
            }
        }
        let intraday = self
            .charts
            .prices
            .iter()
            .any(|series| series.candles.windows(2).any(|w| w[1].time_s() - w[0].time_s() < 86_400));
        let charts =
            ChartsJson { intraday, prices: &self.charts.prices, trades: &self.charts.trades, equity, drawdown };
        // `<` only occurs inside JSON strings, where `\u003c` means the same; no `</script>` can
        // then end the data block early.
        let json = serde_json::to_string(&charts)?.replace('<', "\\u003c");

        let mut page = String::with_capacity(CHART_LIBRARY.len() + json.len() + 32_768);
        let title = format!("tradsys report: {}", self.name);
        let _ = write!(
            page,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta name=\"generator\" content=\"tradsys {}\">\n<title>{}</title>\n<style>\n{STYLE}</style>\n\
             <script>\n{}</script>\n</head>\n<body data-status=\"loading\">\n",
            env!("CARGO_PKG_VERSION"),
            escape(&title),
            ERROR_CATCHER
        );
        let _ = writeln!(page, "<h1>{}</h1>", escape(&title));
        page.push_str("<div id=\"errors\" hidden></div>\n");
        self.overview(&mut page);
        self.strategies(&mut page);
        self.chart_sections(&mut page);
        self.statistics(&mut page);
        self.run_record(&mut page);
        self.instruments(&mut page);
        self.timing(&mut page);
        let _ = write!(
            page,
            "<footer>Charts drawn by <a href=\"https://www.tradingview.com/lightweight-charts/\">TradingView \
             Lightweight Charts</a>&trade; {CHART_LIBRARY_VERSION} (Apache License 2.0), embedded in this file.</footer>\n\
             <script id=\"report-data\" type=\"application/json\">{json}</script>\n\
             <script>\n{CHART_LIBRARY}\n</script>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n"
        );
        Ok(page)
    }

    fn overview(&self, page: &mut String) {
        let report = self.report;
        let mode = match report.mode {
            tradsys_core::component::FeedData::Bars => "bar mode",
            tradsys_core::component::FeedData::OrderFlow => "order-flow mode",
        };
        let mut facts = vec![format!(
            "{mode}: {} events, {} bars, {} venue trades",
            report.events, report.bars, report.venue_trades
        )];
        let first = self.charts.prices.iter().filter_map(|s| s.candles.first()).map(|c| c.time_s()).min();
        let last = self.charts.prices.iter().filter_map(|s| s.candles.last()).map(|c| c.time_s()).max();
        if let (Some(first), Some(last)) = (first, last) {
            facts.push(format!("data from {} to {}", date_time(first), date_time(last)));
        }
        if let Some(record) = self.record {
            facts.push(format!("tradsys {}, seed {}", record.tradsys_version, record.seed));
        }
        facts.push(format!("returns annualized over {} days a year", report.periods_per_year));
        let _ = writeln!(page, "<p class=\"facts\">{}</p>", escape(&facts.join(" · ")));
        if let Some(ended) = &report.ended_by {
            let _ = writeln!(
                page,
                "<p class=\"warning\">Incomplete: the run ended early: {}</p>",
                escape(&ended.to_string())
            );
        }
        for failure in &report.failures {
            let _ = writeln!(page, "<p class=\"warning\">Failed: {}</p>", escape(&failure.to_string()));
        }
    }

    fn strategies(&self, page: &mut String) {
        page.push_str(
            "<h2>Strategies</h2>\n<table class=\"numbers strategies\">\n<tr><th>strategy</th><th>plugin</th><th>trades</th>\
             <th>win %</th><th>realized</th><th>unrealized</th><th>commission</th><th>net PnL</th><th>return %</th>\
             <th>max drawdown %</th><th>Sharpe</th><th>status</th></tr>\n",
        );
        for s in &self.report.strategies {
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{:.3}</td><td>{:.3}</td><td>{}</td><td>{}</td></tr>",
                escape(&s.id),
                escape(&s.plugin),
                s.trades,
                s.win_rate_pct,
                money(s.realized_pnl),
                money(s.unrealized_pnl),
                money(s.commission),
                money(s.net_pnl),
                s.return_pct,
                s.max_drawdown_pct,
                s.sharpe.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2}")),
                escape(&s.status)
            );
        }
        page.push_str("</table>\n");
    }

    fn chart_sections(&self, page: &mut String) {
        let charts = self.charts;
        page.push_str("<h2>Price</h2>\n");
        if charts.prices.is_empty() {
            page.push_str("<p>No bars were read, so there is no price to chart.</p>\n");
        }
        for (at, series) in charts.prices.iter().enumerate() {
            let spans = if series.stride > 1 {
                format!(" (each candle spans {} bars of the {} read)", series.stride, series.bars)
            } else {
                String::new()
            };
            let _ = writeln!(
                page,
                "<h3>{}{}</h3>\n<div class=\"legend\" id=\"legend-price-{at}\"></div>\
                 <div class=\"chart tall\" id=\"chart-price-{at}\" data-chart=\"price {}\"></div>",
                escape(&series.symbol),
                escape(&spans),
                escape(&series.symbol)
            );
        }
        if !charts.symbols_not_charted.is_empty() {
            let _ = writeln!(
                page,
                "<p>Not charted (only the first {MAX_SYMBOLS} symbols are): {}.</p>",
                escape(&charts.symbols_not_charted.join(", "))
            );
        }
        page.push_str(
            "<h2>Equity</h2>\n<p class=\"note\">Return of equity, percent of its first mark, beside buy &amp; hold of \
             the first symbol.</p>\n<div class=\"legend\" id=\"legend-equity\"></div>\
             <div class=\"chart\" id=\"chart-equity\" data-chart=\"equity\"></div>\n\
             <h2>Drawdown</h2>\n<div class=\"legend\" id=\"legend-drawdown\"></div>\
             <div class=\"chart short\" id=\"chart-drawdown\" data-chart=\"drawdown\"></div>\n\
             <h2>PnL per trade</h2>\n",
        );
        if charts.trades.is_empty() {
            page.push_str("<p>No round trip closed.</p>\n");
        } else {
            page.push_str(
                "<p class=\"note\">Net PnL of each round trip, in closing order.</p>\n<div class=\"legend\" \
                 id=\"legend-trades\"></div><div class=\"chart short\" id=\"chart-trades\" data-chart=\"trades\"></div>\n",
            );
        }
        if charts.trades_not_charted > 0 {
            let _ = writeln!(
                page,
                "<p>{} later round trips are not charted (only the first {MAX_TRADES} are); the trades CSV has them all.</p>",
                charts.trades_not_charted
            );
        }
    }

    fn statistics(&self, page: &mut String) {
        let Some(first) = self.statistics.first() else { return };
        page.push_str("<h2>Statistics</h2>\n<table class=\"numbers\">\n<tr><th></th>");
        for column in self.statistics {
            let _ = write!(page, "<th>{}</th>", escape(column.name));
        }
        page.push_str("</tr>\n");
        for (at, (label, _)) in first.rows.iter().enumerate() {
            let _ = write!(page, "<tr><td>{}</td>", escape(label));
            for column in self.statistics {
                let _ = write!(page, "<td>{}</td>", escape(&column.rows[at].1));
            }
            page.push_str("</tr>\n");
        }
        page.push_str("</table>\n<p class=\"note\">Every figure is defined in docs/statistics.md.</p>\n");
    }

    fn run_record(&self, page: &mut String) {
        let Some(record) = self.record else { return };
        page.push_str("<h2>Components and parameters</h2>\n<table>\n<tr><th>kind</th><th>id</th><th>plugin</th><th>parameters</th></tr>\n");
        for component in &record.components {
            let params: Vec<String> = component
                .params
                .iter()
                .map(|(key, value)| format!("{key} = {}", serde_json::to_string(value).unwrap_or_default()))
                .collect();
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                component.kind,
                escape(&component.id),
                escape(&component.plugin),
                escape(&params.join(", "))
            );
        }
        page.push_str("</table>\n");
    }

    fn instruments(&self, page: &mut String) {
        page.push_str(
            "<h2>Instruments</h2>\n<table>\n<tr><th>symbol</th><th>tick</th><th>lot size</th><th>tick from</th></tr>\n",
        );
        for instrument in &self.report.instruments {
            let _ = writeln!(
                page,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&instrument.symbol),
                instrument.tick,
                instrument.lot_size,
                match instrument.tick_origin {
                    TickOrigin::Declared => "declared",
                    TickOrigin::Assumed => "assumed (the default)",
                    TickOrigin::Inferred => "inferred from the data's prices",
                }
            );
        }
        page.push_str("</table>\n");
    }

    /// The one section that differs between identical runs.
    fn timing(&self, page: &mut String) {
        let timing = &self.report.timing;
        let _ = writeln!(
            page,
            "<h2>Timing</h2>\n<p class=\"note\" id=\"timing\">{:.3} s in the event loop, {:.0} events/s (this machine, this run).</p>",
            timing.elapsed_s, timing.events_per_s
        );
    }
}

/// Shows a script error on the page and marks the body, before anything else runs.
const ERROR_CATCHER: &str = "window.addEventListener('error', function (event) {\n\
    var box = document.getElementById('errors');\n\
    document.body.dataset.status = 'error';\n\
    if (box) { box.hidden = false; box.textContent += 'Script error: ' + event.message + '\\n'; }\n\
});\n";

/// `text` with HTML's special characters escaped, for element text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `YYYY-MM-DD HH:MM` (UTC), or the date alone at midnight.
fn date_time(seconds: i64) -> String {
    let text = tradsys_core::types::Timestamp(seconds * 1_000_000_000).to_string();
    let text = text.get(..16).unwrap_or(&text).replace('T', " ");
    text.strip_suffix(" 00:00").map_or(text.clone(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
    }

    #[test]
    fn dates_drop_midnight() {
        assert_eq!(date_time(1_492_560_000), "2017-04-19");
        assert_eq!(date_time(1_492_592_400), "2017-04-19 09:00");
    }

    #[test]
    fn curves_keep_one_point_per_second() {
        let point = |ns: i64, equity: f64| CurvePoint { ts: tradsys_core::types::Timestamp(ns), equity, drawdown: 0.0 };
        let curve = [point(1_000_000_000, 1.0), point(1_500_000_000, 2.0), point(3_000_000_000, 3.0)];
        let line = Curve::new("x", &curve, |p| p.equity);
        assert_eq!(line.points, [(1, 2.0), (3, 3.0)]);
    }

    #[test]
    fn the_library_cannot_end_its_script_block() {
        assert!(!CHART_LIBRARY.contains("</script"));
        assert!(!SCRIPT.contains("</script"));
    }
}
