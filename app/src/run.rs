//! `tradsys run`: a trading session from a config (or the embedded default), with its report,
//! round-trip trades, equity curve and plot.

use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use serde::Serialize;
use tradsys_core::config::{Config, ConfigError, ConfigFile, ConfigLoader, check_values};
use tradsys_core::factory::Plan;
use tradsys_core::instrument::TickOrigin;
use tradsys_core::market::Bar;
use tradsys_core::plugin::Kind;
use tradsys_core::registry::Registry;
use tradsys_core::session::portfolio::RoundTrip;
use tradsys_core::session::{MarketTape, RunOutcome, Session, SessionError, SessionObserver, SessionReport};
use tradsys_core::types::{Money, Timestamp};

use crate::cli::{OutputArgs, RunArgs};
use crate::configure::{CheckedConfig, config_failure, load_checked, setup_failure};
use crate::failure::{BadInput, Failure, Internal};
use crate::html_report::ChartData;
use crate::matching::{CompiledMatching, MatchingRecipe};
use crate::output::{OutputFile, OutputRequest, check_outputs};

/// The config `tradsys run` uses without `--config`.
pub const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// Checks what only a session cares about: every value core gives a meaning to
/// ([`check_values`]) and the bar source, which must name a configured bar aggregator.
#[must_use]
pub fn check_session(config: &Config, plan: &Plan, loader: &ConfigLoader) -> Vec<ConfigError> {
    let mut errors = check_values(config, loader);
    let mut nats_problem = |key: &str, message: String| {
        errors.push(ConfigError { source: loader.source_of(key), key: key.to_owned(), message });
    };
    if config.nats.publish && config.nats.url.is_none() {
        nats_problem("nats.url", "nats.publish = true needs the server's URL (nats://HOST:PORT)".to_owned());
    }
    if let Some(id) = &config.nats.session
        && let Err(problem) = crate::nats::session_events::check_session_id(id)
    {
        nats_problem("nats.session", problem);
    }
    if let Some(id) = &config.session.bar_source {
        let found = plan.components.iter().find(|c| c.request.kind == Kind::Indicator && c.request.id == *id);
        let key = "session.bar_source".to_owned();
        match found {
            None => {
                let ids: Vec<&str> = config.indicators.keys().map(String::as_str).collect();
                errors.push(ConfigError {
                    source: loader.source_of(&key),
                    message: format!(
                        "no indicator {id:?} is configured{}; expected the id of an [indicators.<id>] bar aggregator (configured: {})",
                        tradsys_core::suggest::did_you_mean(id, ids.iter().copied()),
                        tradsys_core::suggest::list_or_none(&ids)
                    ),
                    key,
                });
            }
            Some(component) if component.registered.descriptor.name != "bar-aggregator" => errors.push(ConfigError {
                source: loader.source_of(&key),
                message: format!(
                    "indicator {id:?} is a {}, not a bar-aggregator",
                    component.registered.descriptor.label()
                ),
                key,
            }),
            Some(_) => {}
        }
    }
    errors
}

/// Runs a session and returns the summary table.
///
/// # Errors
/// A bad config or input file (exit 2), a failed output write or an internal error (exit 1), a
/// signal (exit 130 or 143, after writing every output).
pub fn run(args: &RunArgs, registry: &Registry) -> Result<String, Failure> {
    let (file, name) = config_file(args.config.as_deref());
    let checked = load_checked(&file, &args.overrides, registry).map_err(|errors| config_failure(&errors))?;
    let tolerate_failures = checked.config.session.tolerate_failures;
    let outputs = Outputs::open(&args.outputs, true, &inputs(args.config.as_deref(), &checked))?
        .describing(RunRecord::new(&name, &checked));
    let stop = crate::signals::listen().internal()?;
    let mut outputs = outputs.publishing(&checked.config.nats, "run", &name)?;
    let session = start_session(&checked, registry)?;
    let outcome = session.run_until(stop.flag(), &mut outputs.observer);
    let summary = Summary { command: "run", name: &name, quiet: args.quiet, verbose: args.verbose, tolerate_failures };
    let table = outputs.finish(outcome, &summary)?;
    match stop.signal() {
        Some(signal) => {
            print!("{table}");
            Err(Failure::Interrupted(signal))
        }
        None => Ok(table),
    }
}

/// The config file `--config` names, or the embedded default, with its name for titles.
#[must_use]
pub fn config_file(path: Option<&Path>) -> (ConfigFile, String) {
    match path {
        Some(path) => (ConfigFile::Path(path.to_owned()), path.display().to_string()),
        None => (
            ConfigFile::Embedded { name: "embedded default config", text: DEFAULT_CONFIG },
            "embedded default config".to_owned(),
        ),
    }
}

/// The files a run reads, which no output may overwrite: the config and every input file its
/// components name.
#[must_use]
pub fn inputs(config: Option<&Path>, checked: &CheckedConfig) -> Vec<(String, PathBuf)> {
    let mut inputs: Vec<(String, PathBuf)> =
        config.map(|path| ("the config".to_owned(), path.to_owned())).into_iter().collect();
    for (key, path) in checked.plan.input_files() {
        inputs.push((format!("the input file of {key}"), path));
    }
    inputs
}

/// How a finished session is summed up on stdout.
#[derive(Debug)]
pub struct Summary<'a> {
    /// The command in the title line (`run`, `serve`).
    pub command: &'a str,
    /// The config's name in the title line.
    pub name: &'a str,
    /// Print no table.
    pub quiet: bool,
    /// Add each component's metrics.
    pub verbose: bool,
    /// Component failures still exit 0 (`session.tolerate_failures`).
    pub tolerate_failures: bool,
}

/// The outputs a session can write, as requests to check.
fn requests(args: &OutputArgs) -> Vec<OutputRequest<'_>> {
    let given = [
        ("--report", &args.report, &["json"][..], true),
        ("--trades", &args.trades, &["csv"][..], true),
        ("--equity", &args.equity, &["csv"][..], true),
        ("--metrics", &args.metrics, &["prom", "txt"][..], true),
        ("--report-html", &args.report_html, &["html", "htm"][..], false),
        ("--plot", &args.plot, &["svg", "png"][..], false),
    ];
    given
        .into_iter()
        .filter_map(|(flag, path, extensions, stdout)| {
            Some(OutputRequest { flag, path: path.as_deref()?, extensions, stdout })
        })
        .collect()
}

/// What a report records of the run that made it, so it can be reproduced: the version, the
/// config, the seed and every component's effective parameters (defaults filled in).
#[derive(Debug, Serialize)]
pub struct RunRecord {
    /// `tradsys` version.
    pub tradsys_version: &'static str,
    /// The config file's name (or the embedded default's).
    pub config_name: String,
    /// The seed of every random choice.
    pub seed: u64,
    /// Each component: kind, id, plugin and the parameters it ran with.
    pub components: Vec<ComponentRecord>,
    /// The merged config (every layer).
    pub config: Config,
}

/// One component as it ran.
#[derive(Debug, Serialize)]
pub struct ComponentRecord {
    /// Its kind.
    pub kind: &'static str,
    /// Its config id.
    pub id: String,
    /// `name@version`.
    pub plugin: String,
    /// Its parameters: the plugin's defaults overlaid with the config's.
    pub params: figment::value::Dict,
}

impl RunRecord {
    /// The record of a run of `checked`, named `name`.
    #[must_use]
    pub fn new(name: &str, checked: &CheckedConfig) -> RunRecord {
        let components = checked
            .plan
            .components
            .iter()
            .map(|planned| {
                let mut params = planned.registered.descriptor.defaults().unwrap_or_default();
                params.extend(planned.request.params.clone());
                ComponentRecord {
                    kind: planned.request.kind.as_str(),
                    id: planned.request.id.clone(),
                    plugin: planned.registered.descriptor.label(),
                    params,
                }
            })
            .collect();
        RunRecord {
            tradsys_version: env!("CARGO_PKG_VERSION"),
            config_name: name.to_owned(),
            seed: checked.config.session.seed,
            components,
            config: checked.config.clone(),
        }
    }
}

/// The parts of a report file that vary between two runs of the same config and seed, as JSON
/// pointers (`*` for every element of a list): wall-clock times and memory, which depend on the
/// machine. Everything else repeats byte for byte; ARCHITECTURE.md and docs/outputs.md state the
/// same, and a test compares two reports with exactly these removed.
pub const VARYING_REPORT_PARTS: [&str; 2] = ["/timing", "/components/*/metrics/runtime"];

/// `report` (a report file's JSON) without its [`VARYING_REPORT_PARTS`]; returns how many parts
/// were removed (a report has `timing` and one `runtime` per component).
pub fn without_varying_parts(report: &mut serde_json::Value) -> usize {
    fn remove(value: &mut serde_json::Value, path: &[&str]) -> usize {
        match path {
            [] => 0,
            ["*", rest @ ..] => value.as_array_mut().map_or(0, |items| items.iter_mut().map(|v| remove(v, rest)).sum()),
            [last] => value.as_object_mut().and_then(|object| object.remove(*last)).map_or(0, |_| 1),
            [key, rest @ ..] => value.get_mut(*key).map_or(0, |inner| remove(inner, rest)),
        }
    }
    VARYING_REPORT_PARTS.iter().map(|pointer| remove(report, &pointer.split('/').skip(1).collect::<Vec<_>>())).sum()
}

/// The report file's JSON (as `--report` writes it, without its final newline): the run's record,
/// then the session's report.
///
/// # Errors
/// A value JSON cannot hold (a bug).
pub fn report_json(record: Option<&RunRecord>, report: &SessionReport) -> serde_json::Result<String> {
    serde_json::to_string_pretty(&ReportFile { run: record, report })
}

/// The report file: the run's record, then the session's report.
#[derive(Serialize)]
struct ReportFile<'a> {
    run: Option<&'a RunRecord>,
    #[serde(flatten)]
    report: &'a SessionReport,
}

/// The files a session writes, checked and opened before it starts (see [`crate::output`]).
#[derive(Debug)]
pub struct Outputs {
    /// Writes round trips and the equity curve as they happen.
    pub observer: FileObserver,
    record: Option<RunRecord>,
    report: Option<OutputFile>,
    metrics: Option<OutputFile>,
    plot: Option<OutputFile>,
    html: Option<OutputFile>,
    /// An output goes to standard output, so the summary table goes to standard error.
    table_to_stderr: bool,
}

impl Outputs {
    /// Checks every output named in `args` (against `inputs`, which they may not overwrite), then
    /// opens them; `progress` shows a spinner on a terminal.
    ///
    /// # Errors
    /// Every output that cannot be written, as bad input.
    pub fn open(args: &OutputArgs, progress: bool, inputs: &[(String, PathBuf)]) -> Result<Outputs, Failure> {
        let requests = requests(args);
        check_outputs(&requests, inputs)?;
        let open = |path: &Option<PathBuf>| path.as_deref().map(OutputFile::create).transpose().bad_input();
        let html = open(&args.report_html)?;
        Ok(Outputs {
            observer: FileObserver::new(open(&args.trades)?, open(&args.equity)?, html.is_some(), progress),
            record: None,
            report: open(&args.report)?,
            metrics: open(&args.metrics)?,
            plot: open(&args.plot)?,
            html,
            table_to_stderr: requests.iter().any(|request| request.path.as_os_str() == "-"),
        })
    }

    /// Publishes the session's events as `[nats]` says (nothing unless `publish = true`); says
    /// where on standard error.
    ///
    /// # Errors
    /// The server cannot be reached (exit 2) or has no JetStream (exit 1).
    pub fn publishing(
        mut self,
        nats: &tradsys_core::config::NatsConfig,
        command: &str,
        name: &str,
    ) -> Result<Outputs, Failure> {
        self.observer.events = crate::nats::session_events::EventPublisher::start(nats, name)?;
        if let Some(events) = &self.observer.events {
            eprintln!(
                "tradsys {command}: publishing the session's events to tradsys.{}.> on {} (`tradsys tail --nats {} --session {}`)",
                events.session(),
                events.url(),
                events.url(),
                events.session()
            );
        }
        Ok(self)
    }

    /// Records `record` in the report.
    #[must_use]
    pub fn describing(mut self, record: RunRecord) -> Outputs {
        self.record = Some(record);
        self
    }

    /// Writes every output of a finished session (even when a component failed or the run was
    /// interrupted: the report says so) and returns the summary table, or the failure to exit with.
    ///
    /// # Errors
    /// The run ended early or a component failed (unless tolerated), or an output failed to write.
    pub fn finish(mut self, outcome: RunOutcome, summary: &Summary<'_>) -> Result<String, Failure> {
        let events = self.observer.events.take();
        let charts = self.observer.finish().internal()?;
        let report = outcome.report;
        // The session's events are complete once it has ended; a message the server did not
        // store fails the command after the other outputs are written.
        let published = events.map(|events| {
            let last = report.curve.last().map_or(Timestamp(0), |point| point.ts);
            events.finish(last, report.events, report.complete)
        });
        if let Some(mut file) = self.report {
            let contents = report_json(self.record.as_ref(), &report).context("writing the report").internal()?;
            file.writer().write_all(contents.as_bytes()).internal()?;
            writeln!(file.writer()).internal()?;
            file.commit().internal()?;
        }
        if let Some(mut file) = self.metrics {
            file.writer().write_all(crate::prometheus::render(&report).as_bytes()).internal()?;
            file.commit().internal()?;
        }
        if let Some(file) = self.plot {
            if let Some(path) = file.temporary_path() {
                crate::plot::equity_and_drawdown(path, summary.name, &report.curve, &report.strategy_curves)
                    .context("plotting the equity curve")
                    .internal()?;
            }
            file.commit().internal()?;
        }
        if let Some(mut file) = self.html {
            let columns = statistics_columns(&report);
            let page = crate::html_report::HtmlReport {
                name: summary.name,
                record: self.record.as_ref(),
                report: &report,
                statistics: &columns,
                charts: &charts.unwrap_or_default(),
            }
            .render()
            .context("writing the HTML report")
            .internal()?;
            file.writer().write_all(page.as_bytes()).internal()?;
            file.commit().internal()?;
        }
        let table = if summary.quiet {
            String::new()
        } else {
            self::summary(summary.command, summary.name, &report, summary.verbose)
        };
        let table = if self.table_to_stderr {
            eprint!("{table}");
            String::new()
        } else {
            table
        };
        match published {
            Some(Ok(line)) => eprintln!("{line}"),
            Some(Err(failure)) => {
                print_now(&table);
                return Err(failure);
            }
            None => {}
        }
        match failure_of(outcome.error, &report, summary.tolerate_failures) {
            Some(failure) => {
                print_now(&table);
                Err(failure)
            }
            None => Ok(table),
        }
    }
}

/// Why a finished session counts as failed, as the command exits: the session's own error (a feed
/// or matching failure: bad input, or internal for a panic), no usable data (bad input), or a
/// failed component unless `tolerate_failures` (internal). An interrupted session has not failed:
/// its outputs stand for what it processed.
#[must_use]
pub fn failure_of(error: Option<SessionError>, report: &SessionReport, tolerate_failures: bool) -> Option<Failure> {
    if let Some(error) = error {
        return (error != SessionError::Interrupted).then(|| session_failure(error));
    }
    if report.events == 0 {
        let skipped = match report.bad_rows.first.first() {
            Some(first) => format!("{} bad rows skipped, the first: {first}", report.bad_rows.count),
            None => "the feed had no rows".to_owned(),
        };
        return Some(Failure::BadInput(anyhow!("the run read no usable data: {skipped}")));
    }
    let first = report.failures.first().filter(|_| !tolerate_failures)?;
    Some(Failure::Internal(anyhow!(
        "{first}{}; the run went on without it, and its outputs are whole (set session.tolerate_failures = true to accept component failures)",
        match report.failures.len() {
            1 => String::new(),
            n => format!(" (and {} more component failures, listed in the summary and report)", n - 1),
        }
    )))
}

/// Prints the summary before a failing exit (the caller prints only the error then).
fn print_now(table: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(table.as_bytes()).and_then(|()| stdout.flush());
}

/// Builds, initializes and starts the session of a checked config, on the compiled-in matching enum.
///
/// # Errors
/// The matching plugin refuses its parameters, or a component fails to start (bad input unless it panicked).
pub fn start_session(checked: &CheckedConfig, registry: &Registry) -> Result<Session<CompiledMatching>, Failure> {
    let matching = &checked.config.matching;
    let recipe =
        MatchingRecipe::new(registry, &matching.plugin, &matching.version, matching.params.clone()).bad_input()?;
    recipe.build().map_err(|error| {
        if error.is_internal() { Failure::Internal(error.into()) } else { Failure::BadInput(error.into()) }
    })?;
    Session::new(&checked.config, &checked.plan, recipe.into_source()).map_err(|error| setup_failure(error, checked))
}

/// Reads the config's feed to its end into a tape (for `sweep` and `publish`): a feed's refusal
/// is bad input, a feed's panic internal.
///
/// # Errors
/// The session cannot start, or the feed failed while reading.
pub fn record_tape(checked: &CheckedConfig, registry: &Registry) -> Result<MarketTape, Failure> {
    start_session(checked, registry)?.record_tape().map_err(|error| {
        let internal = error.is_internal();
        let error = anyhow::Error::new(error).context("reading the data");
        if internal { Failure::Internal(error) } else { Failure::BadInput(error) }
    })
}

/// A component's refusal is the user's input (a missing file, a bad symbol); a panic is a bug.
fn session_failure(error: SessionError) -> Failure {
    let internal = error.is_internal();
    let error = anyhow::Error::new(error);
    if internal { Failure::Internal(error) } else { Failure::BadInput(error) }
}

/// Writes round trips and the equity curve as they happen, and shows progress on a terminal.
#[derive(Debug)]
pub struct FileObserver {
    trades: Option<OutputFile>,
    equity: Option<OutputFile>,
    progress: Option<indicatif::ProgressBar>,
    error: Option<anyhow::Error>,
    columns: usize,
    /// Prices and trades for the HTML report, when one is written.
    charts: Option<ChartData>,
    /// The session's events out, with `[nats] publish = true`.
    events: Option<crate::nats::session_events::EventPublisher>,
}

impl FileObserver {
    fn new(trades: Option<OutputFile>, equity: Option<OutputFile>, charts: bool, progress: bool) -> FileObserver {
        let progress = (progress && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {elapsed} {pos} events ({per_sec})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar
        });
        let charts = charts.then(ChartData::default);
        FileObserver { trades, equity, progress, error: None, columns: 0, charts, events: None }
    }

    /// Keeps the first write error (the run goes on; [`finish`](Self::finish) reports it).
    fn keep(error: &mut Option<anyhow::Error>, result: std::io::Result<()>, what: &str) {
        if let Err(failure) = result
            && error.is_none()
        {
            *error = Some(anyhow!("writing the {what}: {failure}"));
        }
    }

    /// Commits the trades and equity files and hands over the chart data, if kept.
    fn finish(mut self) -> anyhow::Result<Option<ChartData>> {
        if let Some(bar) = self.progress.take() {
            bar.finish_and_clear();
        }
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        for file in self.trades.take().into_iter().chain(self.equity.take()) {
            file.commit()?;
        }
        Ok(self.charts.take())
    }
}

impl SessionObserver for FileObserver {
    fn begin(&mut self, strategy_ids: &[String]) {
        self.columns = strategy_ids.len();
        if let Some(file) = &mut self.trades {
            let result = writeln!(
                file.writer(),
                "strategy,symbol,side,qty,entry_time,entry_bar,entry_price,exit_time,exit_bar,exit_price,gross_pnl,commission,net_pnl,return_pct,duration_days"
            );
            Self::keep(&mut self.error, result, "trades");
        }
        if let Some(file) = &mut self.equity {
            let result = writeln!(file.writer(), "time,bar,total_equity,drawdown_pct,{}", strategy_ids.join(","));
            Self::keep(&mut self.error, result, "equity curve");
        }
    }

    fn equity(&mut self, ts: Timestamp, bar: u64, total: Money, per_strategy: &[Money], drawdown: f64) {
        if let Some(file) = &mut self.equity {
            let out = file.writer();
            let mut result = write!(out, "{ts},{bar},{total},{:.6}", drawdown * 100.0);
            // One column per strategy the run began with; one added while `serve` runs counts in
            // the total only, so every row has the header's columns.
            for equity in per_strategy.iter().take(self.columns) {
                result = result.and_then(|()| write!(out, ",{equity}"));
            }
            let result = result.and_then(|()| writeln!(out));
            Self::keep(&mut self.error, result, "equity curve");
        }
    }

    fn bar(&mut self, symbol: &str, bar: &Bar) {
        if let Some(charts) = &mut self.charts {
            charts.bar(symbol, bar);
        }
    }

    fn activity(&mut self, ts: Timestamp, activity: &tradsys_core::session::Activity<'_>) {
        if let Some(events) = &mut self.events {
            events.activity(ts, activity);
        }
    }

    fn round_trip(&mut self, round_trip: &RoundTrip) {
        if let Some(charts) = &mut self.charts {
            charts.round_trip(round_trip);
        }
        if let Some(file) = &mut self.trades {
            let trip = &round_trip.trip;
            let result = writeln!(
                file.writer(),
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{:.6},{:.6}",
                round_trip.strategy,
                round_trip.symbol,
                if trip.side == tradsys_core::types::Side::Buy { "long" } else { "short" },
                trip.qty,
                trip.entry_ts,
                trip.entry_bar,
                trip.entry_price,
                trip.exit_ts,
                trip.exit_bar,
                trip.exit_price,
                trip.gross_pnl(),
                trip.commission,
                trip.pnl,
                100.0 * trip.return_fraction(),
                trip.duration_days()
            );
            Self::keep(&mut self.error, result, "trades");
        }
    }

    fn progress(&mut self, events: u64) {
        if let Some(bar) = &self.progress {
            bar.set_position(events);
        }
    }
}

/// The summary printed at the end of a run: the strategies, every statistic, the risk chain;
/// `verbose` adds each component's lifecycle and metrics.
#[must_use]
pub fn summary(command: &str, name: &str, report: &SessionReport, verbose: bool) -> String {
    let mut out = String::new();
    let mode = match report.mode {
        tradsys_core::component::FeedData::Bars => "bar mode",
        tradsys_core::component::FeedData::OrderFlow => "order-flow mode",
    };
    let _ = writeln!(
        out,
        "tradsys {command}: {name} ({mode}): {} events, {} bars, {} venue trades in {:.3} s ({:.0} events/s)",
        report.events, report.bars, report.venue_trades, report.timing.elapsed_s, report.timing.events_per_s
    );
    if let Some(ended) = &report.ended_by {
        let _ = writeln!(out, "INCOMPLETE: the run ended early: {ended}");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<12} {:<22} {:>6} {:>6} {:>14} {:>14} {:>12} {:>8} {:>7} {:>7}  status",
        "strategy", "plugin", "trades", "win%", "realized", "unrealized", "commission", "return%", "maxDD%", "sharpe"
    );
    for s in &report.strategies {
        let _ = writeln!(
            out,
            "{:<12} {:<22} {:>6} {:>6.1} {:>14} {:>14} {:>12} {:>8.3} {:>7.3} {:>7}  {}",
            s.id,
            s.plugin,
            s.trades,
            s.win_rate_pct,
            money(s.realized_pnl),
            money(s.unrealized_pnl),
            money(s.commission),
            s.return_pct,
            s.max_drawdown_pct,
            ratio(s.sharpe),
            s.status
        );
    }
    let t = &report.total;
    let _ = writeln!(
        out,
        "{:<12} equity {} -> {}: return {:.3}%, max drawdown {:.3}%, Sharpe {} ({:.0} days/year)",
        "total",
        money(t.initial_equity),
        money(t.final_equity),
        t.return_pct,
        t.max_drawdown_pct,
        ratio(t.sharpe),
        report.periods_per_year
    );
    statistics_table(&mut out, report);
    let _ = writeln!(out);
    let _ = writeln!(out, "risk chain, in order:");
    for r in &report.risk {
        let _ = writeln!(out, "  {:>3}. {:<12} {:<22} {:>8} rejections", r.order, r.id, r.plugin, r.rejections);
    }
    if report.risk.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    if verbose {
        components_table(&mut out, report);
    }
    if !report.failures.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "failures:");
        for failure in &report.failures {
            let _ = writeln!(out, "  {failure}");
        }
    }
    let inferred: Vec<String> = report
        .instruments
        .iter()
        .filter(|i| i.tick_origin == TickOrigin::Inferred)
        .map(|i| format!("{} {}", i.symbol, i.tick))
        .collect();
    if !inferred.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "tick inferred from the data's prices (no [instruments] entry): {}", inferred.join(", "));
    }
    if report.bad_rows.count > 0 {
        let _ = writeln!(out);
        let _ = writeln!(out, "{} bad input rows skipped; first:", report.bad_rows.count);
        for message in report.bad_rows.first.iter().take(5) {
            let _ = writeln!(out, "  {message}");
        }
    }
    out
}

/// A ratio for the table: two decimals, or `n/a` where it is undefined.
fn ratio(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2}"))
}

/// One column of the statistics table: a strategy's figures, or the total's.
#[derive(Debug)]
pub struct StatisticsColumn<'a> {
    /// The strategy's id, or `total`.
    pub name: &'a str,
    /// Each figure's label and value as shown (`n/a` where undefined), in docs/statistics.md's order.
    pub rows: Vec<(&'static str, String)>,
}

/// Every statistic (docs/statistics.md), a column per strategy and one for the total when there
/// are several.
#[must_use]
pub fn statistics_columns(report: &SessionReport) -> Vec<StatisticsColumn<'_>> {
    let mut columns: Vec<StatisticsColumn<'_>> =
        report.strategies.iter().map(|s| StatisticsColumn { name: &s.id, rows: s.statistics.rows() }).collect();
    if report.strategies.len() > 1 {
        columns.push(StatisticsColumn { name: "total", rows: report.total.statistics.rows() });
    }
    columns
}

/// The statistics as a text table, under the summary.
fn statistics_table(out: &mut String, report: &SessionReport) {
    let columns = statistics_columns(report);
    let Some(first) = columns.first() else { return };
    let _ = writeln!(out);
    let mut header = format!("{:<30}", "statistics");
    for column in &columns {
        header.push_str(&format!(" {:>24}", column.name));
    }
    let _ = writeln!(out, "{}", header.trim_end());
    for (at, (label, _)) in first.rows.iter().enumerate() {
        let mut line = format!("{label:<30}");
        for column in &columns {
            line.push_str(&format!(" {:>24}", column.rows[at].1));
        }
        let _ = writeln!(out, "{line}");
    }
}

/// Each component's lifecycle, calls and metrics (`--verbose`).
fn components_table(out: &mut String, report: &SessionReport) {
    let _ = writeln!(out);
    let _ = writeln!(out, "components:");
    for c in &report.components {
        let init =
            c.metrics.runtime.init_us.map_or_else(|| "never initialized".to_owned(), |us| format!("init {us} µs"));
        let calls: u64 = c.metrics.calls.values().sum();
        let _ = writeln!(
            out,
            "  {:<10} {:<34} {:<22} {:<5} {:<12} {:>10} calls  {}",
            c.kind.as_str(),
            c.id,
            c.plugin,
            if c.lazy { "lazy" } else { "" },
            c.state,
            calls,
            init
        );
        let m = &c.metrics;
        let per_call: Vec<String> = m.calls.iter().map(|(call, n)| format!("{call}={n}")).collect();
        let _ = writeln!(
            out,
            "      calls: {}; errors {}, panics {}; latency p50 {} ns, p99 {} ns, max {} ns ({} samples); memory {} B allocated, {} B live ({} allocations)",
            if per_call.is_empty() { "none".to_owned() } else { per_call.join(" ") },
            m.errors,
            m.panics,
            m.runtime.latency_p50_ns,
            m.runtime.latency_p99_ns,
            m.runtime.latency_max_ns,
            m.runtime.latency_samples,
            m.runtime.memory.allocated_bytes,
            m.runtime.memory.live_bytes,
            m.runtime.memory.allocations
        );
    }
}

/// Money rounded to cents for the table (the files keep every digit).
pub(crate) fn money(amount: Money) -> String {
    format!("{:.2}", amount.to_f64())
}
