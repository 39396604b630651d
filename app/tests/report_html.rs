//! `--report-html` opened in a real headless Chromium: the page loads from the file alone, runs
//! with no script error, and draws every chart (the page counts the pixels each chart's series
//! painted; see app/assets/report/report.js).
//!
//! Chromium comes from Debian's packages (`.ci/run` installs it). Without it the tests say so and
//! pass on a developer's machine; under `CI=true` they fail.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::{dir, text, tradsys};

/// The browser, or `None` (after saying why) where a developer has none.
fn chromium() -> Option<PathBuf> {
    let candidates = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .into_iter()
        .chain(["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].map(PathBuf::from));
    let found = candidates.into_iter().find(|path| path.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the HTML report's browser test needs Chromium: apt-get install chromium (or set CHROMIUM)"
        );
        eprintln!("skipped: no Chromium (apt-get install chromium, or set CHROMIUM=/path/to/chrome)");
    }
    found
}

/// What the page's DOM says once its scripts have run: the body's `data-status`, its
/// `data-drawn` pixel counts per chart, and the error box's text.
struct Loaded {
    status: String,
    drawn: Value,
    errors: String,
}

/// Opens `page` in headless Chromium with the network cut off, lets its scripts run for up to
/// 10 s of virtual time, and reads the DOM.
fn open(browser: &Path, page: &Path, profile: &Path) -> Loaded {
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            // Nothing may be fetched: every request to a network address fails.
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--window-size=1280,2000",
            "--virtual-time-budget=10000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("start chromium");
    assert!(output.status.success(), "chromium failed: {}", text(&output.stderr));
    let dom = text(&output.stdout);
    let body = dom.split("<body").nth(1).and_then(|rest| rest.split('>').next()).unwrap_or_default().to_owned();
    let attribute = |name: &str| {
        body.split(&format!("{name}=\"")).nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_default().to_owned()
    };
    let drawn = attribute("data-drawn").replace("&quot;", "\"");
    let errors = dom
        .split("id=\"errors\"")
        .nth(1)
        .and_then(|rest| rest.split("</div>").next())
        .map(|rest| rest.split_once('>').map_or("", |(_, text)| text).to_owned())
        .unwrap_or_default();
    Loaded { status: attribute("data-status"), drawn: serde_json::from_str(&drawn).unwrap_or(Value::Null), errors }
}

fn example(name: &str) -> String {
    format!("{}/../examples/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `config` writing the HTML report to `page` (in `dir`).
fn report(dir: &Path, config: &str, page: &str) -> String {
    let out = tradsys(dir, &["run", "--config", &example(config), "--report-html", page, "--quiet"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::read_to_string(dir.join(page)).unwrap()
}

#[test]
fn the_report_opens_offline_and_draws_every_chart() {
    let Some(browser) = chromium() else { return };
    let scratch = dir("html-report");
    let html = report(&scratch, "own-data-yahoo.toml", "report.html");
    // Self-contained: no script, style or image comes from elsewhere.
    for external in ["<script src", "<link", "<img", "<iframe", "@import", "url(http", "url(//"] {
        assert!(!html.contains(external), "the page loads something from elsewhere: {external}");
    }
    // The tables are there without scripts.
    for heading in ["<h2>Statistics</h2>", "Sharpe Ratio", "Buy &amp; Hold Return [%]", "sma-cross@1.0.0", "ACME"] {
        assert!(html.contains(heading), "missing {heading}");
    }
    let loaded = open(&browser, &scratch.join("report.html"), &scratch.join("profile"));
    assert_eq!(loaded.status, "drawn", "script errors: {}", loaded.errors);
    assert!(loaded.errors.is_empty(), "{}", loaded.errors);
    for chart in ["price ACME", "equity", "drawdown", "trades"] {
        let pixels = loaded.drawn[chart].as_u64().unwrap_or(0);
        assert!(pixels > 500, "chart {chart} drew {pixels} pixels of its series: {}", loaded.drawn);
    }
}

#[test]
fn several_strategies_and_order_flow_runs_are_charted() {
    let Some(browser) = chromium() else { return };
    let scratch = dir("html-report-more");
    // Three strategies: a statistics column each and the total's, an equity line each.
    let html = report(&scratch, "risk-heavy.toml", "strategies.html");
    assert!(html.contains("<th>fade</th><th>slow</th><th>trend</th><th>total</th>"), "statistics columns");
    let loaded = open(&browser, &scratch.join("strategies.html"), &scratch.join("profile"));
    assert_eq!(loaded.status, "drawn", "script errors: {}", loaded.errors);
    for chart in ["price EURUSD", "equity", "drawdown", "trades"] {
        assert!(loaded.drawn[chart].as_u64().unwrap_or(0) > 500, "{chart}: {}", loaded.drawn);
    }
    // Order flow: the price is the bars `session.bar_source` aggregates from the venue's trades.
    report(&scratch, "order-flow-market-maker.toml", "flow.html");
    let loaded = open(&browser, &scratch.join("flow.html"), &scratch.join("profile"));
    assert_eq!(loaded.status, "drawn", "script errors: {}", loaded.errors);
    let price = loaded.drawn.as_object().and_then(|charts| charts.iter().find(|(name, _)| name.starts_with("price ")));
    assert!(price.and_then(|(_, pixels)| pixels.as_u64()).unwrap_or(0) > 500, "{}", loaded.drawn);
}

#[test]
fn a_broken_page_is_caught_by_the_browser_test() {
    // The check above must be able to fail: corrupt the embedded data and the page reports it.
    let Some(browser) = chromium() else { return };
    let scratch = dir("html-report-broken");
    let html = report(&scratch, "own-data-yahoo.toml", "report.html");
    let broken = html.replacen(
        "<script id=\"report-data\" type=\"application/json\">{",
        "<script id=\"report-data\" type=\"application/json\">{,",
        1,
    );
    assert_ne!(broken, html);
    std::fs::write(scratch.join("broken.html"), broken).unwrap();
    let loaded = open(&browser, &scratch.join("broken.html"), &scratch.join("profile"));
    assert_eq!(loaded.status, "error");
    assert!(loaded.errors.contains("Script error"), "{}", loaded.errors);
}

#[test]
fn identical_runs_write_identical_pages_but_for_the_timing() {
    let scratch = dir("html-report-determinism");
    let without_timing = |page: String| {
        let (before, after) = page.split_once("<p class=\"note\" id=\"timing\">").unwrap();
        format!("{before}{}", after.split_once("</p>").unwrap().1)
    };
    let first = without_timing(report(&scratch, "bars-sma-cross.toml", "a.html"));
    let second = without_timing(report(&scratch, "bars-sma-cross.toml", "b.html"));
    assert!(first == second, "two runs of one config wrote different pages");
}

#[test]
fn a_report_path_with_another_extension_is_refused_before_the_run() {
    let scratch = dir("html-report-extension");
    let out = tradsys(&scratch, &["run", "--report-html", "report.pdf", "--quiet"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--report-html report.pdf: expected a file ending in .html or .htm"));
    assert!(!scratch.join("report.pdf").exists());
}
