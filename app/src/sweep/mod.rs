//! `tradsys sweep`: one config run over a grid of parameter values, in parallel, ranked.
//!
//! The order of work, and why:
//! 1. Every argument and every run's config is checked before anything runs, so a bad grid value
//!    fails in a second with the run and key named, not after an hour of runs (exit 2).
//! 2. The data is read once: the base config's feed runs to its end into a [`MarketTape`], and
//!    every run replays it through a feed that stands for the configured one. `--from`/`--to`
//!    and walk-forward windows are ranges of the tape.
//! 3. The runs go to `--jobs` threads (`pool.rs`); each run is one single-threaded session, so
//!    its result does not depend on the others or on `--jobs`. Results come back in run order and
//!    are written as they come (`--out`), so memory does not grow with the number of runs; only
//!    the best `--top` and the heatmap's cells are kept.
//! 4. With `--nats`, the runs go to `tradsys worker`s instead (`gather.rs`, `worker.rs`): the
//!    same runner makes each run over the same tape, and the outcomes reach the same sink in the
//!    same order, so the outputs are the same bytes.

mod gather;
mod grid;
mod heatmap;
mod pool;
mod results;
mod walk_forward;
mod worker;

pub use worker::work;

pub(crate) use results::{RunResult, figure_names};

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::anyhow;
use tradsys_core::config::{ConfigFile, ConfigLoader, Environment};
use tradsys_core::plugin::{ComponentDescriptor, Kind};
use tradsys_core::registry::Registry;
use tradsys_core::session::{MarketTape, NoObserver};
use tradsys_core::trust::Admission;
use tradsys_core::types::Timestamp;

use gather::{Connection, Gatherer, RemoteRun};
use grid::{Axis, Grid};
use heatmap::Heatmap;
use results::ResultsFile;
use walk_forward::WalkForward;

use crate::cli::SweepArgs;
use crate::configure::{CheckedConfig, check_planned, config_failure, load_checked};
use crate::failure::{BadInput, Failure, Internal};
use crate::nats::sweep_messages::{Span, SweepSpec, plugin_needs};
use crate::output::{OutputRequest, check_outputs};
use crate::run::{config_file, inputs, record_tape, start_session};

/// At most this many runs' config errors are listed before the sweep gives up.
const MAX_LISTED_BAD_RUNS: usize = 5;

/// Runs a sweep and returns its summary table.
///
/// # Errors
/// A bad argument, config or grid value, or unusable data (exit 2); a failed output write, or runs
/// with failed components (exit 1, after every output is written).
pub fn sweep(args: &SweepArgs, registry: &Registry) -> Result<String, Failure> {
    let settings = Settings::from_args(args)?;
    // From here a signal stops the sweep at the next finished run, with nothing written.
    let stop = crate::signals::listen().internal()?;
    sweep_with(args, settings, registry, &stop)
}

/// [`sweep`], stopped by `stop` (at the next finished run, with nothing written) instead of the
/// process's signals: for a front end that handles them itself.
///
/// # Errors
/// As [`sweep`]; `Failure::Cancelled` once `stop` was requested.
pub fn sweep_until(
    args: &SweepArgs,
    registry: &Registry,
    stop: &crate::signals::StopRequest,
) -> Result<String, Failure> {
    sweep_with(args, Settings::from_args(args)?, registry, stop)
}

/// A sweep of `args`, read into `settings`, stopped by `stop`.
fn sweep_with(
    args: &SweepArgs,
    settings: Settings,
    registry: &Registry,
    stop: &crate::signals::StopRequest,
) -> Result<String, Failure> {
    let (file, name) = config_file(args.config.as_deref());
    let base = load_checked(&file, &args.overrides, registry).map_err(|errors| config_failure(&errors))?;
    let requests: Vec<OutputRequest<'_>> =
        [("--out", &args.out, &["csv", "parquet"][..]), ("--heatmap", &args.heatmap, &["svg", "png"][..])]
            .into_iter()
            .filter_map(|(flag, path, extensions)| {
                Some(OutputRequest { flag, path: path.as_deref()?, extensions, stdout: false })
            })
            .collect();
    check_outputs(&requests, &inputs(args.config.as_deref(), &base))?;
    let admission = crate::trust::admission(&base.config, &base.loader).map_err(|errors| config_failure(&errors))?;
    let strategies = results::strategy_columns(&base.config);
    if let Some((id, _)) = settings.sort_by.split_once('.')
        && !strategies.iter().any(|s| s == id)
    {
        return Err(Failure::BadInput(anyhow!(
            "--sort-by {}: {}",
            settings.sort_by,
            if strategies.is_empty() {
                "the config has one strategy, whose figures are the total's; sort by the statistic alone".to_owned()
            } else {
                format!("no strategy {id:?} in the config; expected one of {}", strategies.join(", "))
            }
        )));
    }
    let runner = Runner {
        file,
        overrides: args.overrides.clone(),
        environment: Environment::Process,
        registry: base.registry.clone(),
        admission,
        strategies,
    };
    // The server is reached first: an unreachable one fails at once, not after the data is read.
    let connection = args.nats_args().map(|nats| Connection::open(&nats)).transpose()?;
    let runs = runner.check_every_run(&settings.grid, settings.jobs, args.skip_invalid)?;
    let tape = record(&base, registry, &settings)?;
    let executor = match connection {
        None => Executor::Local { jobs: settings.jobs },
        Some(connection) => {
            let spec = SweepSpec {
                config: base.loader.figment().extract().internal()?,
                config_name: name.clone(),
                strategies: runner.strategies.clone(),
            };
            let gatherer = Gatherer::start(connection, &spec, plugin_needs(&base.plan), &tape)?;
            Executor::Remote(Box::new(std::sync::Mutex::new(gatherer)))
        }
    };
    let feed = base
        .plan
        .components
        .iter()
        .find(|c| c.request.kind == Kind::Feed)
        .map(|c| Arc::clone(&c.registered.descriptor))
        .ok_or_else(|| Failure::BadInput(anyhow!("the config has no [feed]")))?;
    let started = Instant::now();
    let sweep =
        Sweep { runner: &runner, executor: &executor, settings: &settings, args, feed, name: &name, runs: &runs, stop };
    let (table, runs, failed) = match settings.walk_forward {
        None => sweep.plain(&tape)?,
        Some(walk) => sweep.walk_forward(&tape, walk)?,
    };
    let seconds = started.elapsed().as_secs_f64();
    if !args.quiet {
        // Timing goes to stderr: stdout stays the same from run to run.
        let on = match &executor {
            Executor::Local { jobs } => format!("{jobs} jobs"),
            Executor::Remote(_) => "NATS workers".to_owned(),
        };
        eprintln!("{runs} runs in {seconds:.2} s on {on}: {:.1} runs/s", runs as f64 / seconds.max(1e-9));
    }
    if failed > 0 && !base.config.session.tolerate_failures {
        print!("{table}");
        return Err(Failure::Internal(anyhow!(
            "{failed} of {runs} runs ended early or had a failed component (their `error` column says why); every output was written (set session.tolerate_failures = true to exit 0)"
        )));
    }
    Ok(table)
}

/// The sweep's arguments, checked.
#[derive(Debug)]
struct Settings {
    grid: Grid,
    jobs: usize,
    sort_by: String,
    ascending: bool,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
    walk_forward: Option<WalkForward>,
}

impl Settings {
    /// Checks every argument, listing every problem at once.
    fn from_args(args: &SweepArgs) -> Result<Settings, Failure> {
        let mut problems = Vec::new();
        let mut axes = Vec::new();
        for given in &args.grid {
            match Axis::parse(given) {
                Ok(axis) => axes.push(axis),
                Err(error) => problems.push(error.to_string()),
            }
        }
        let grid = match Grid::new(axes) {
            Ok(grid) => Some(grid),
            Err(problem) => {
                if problems.is_empty() {
                    problems.push(problem);
                }
                None
            }
        };
        // A statistic of the total, or `ID.STAT` of a strategy (the id is checked against the
        // config once it is read).
        let names = figure_names();
        let stat = args.sort_by.split_once('.').map_or(args.sort_by.as_str(), |(_, stat)| stat);
        if !names.contains(&stat) {
            problems.push(format!(
                "--sort-by {}: not a statistic{}; expected one of {} (or ID.STAT for strategy ID's)",
                args.sort_by,
                tradsys_core::suggest::did_you_mean(stat, names.iter().copied()),
                names.join(", ")
            ));
        }
        let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
        if jobs == 0 || jobs > 1024 {
            problems.push(format!("--jobs {jobs}: expected 1 to 1024 runs at once"));
        }
        let mut time = |flag: &str, given: &Option<String>| match given.as_deref().map(parse_time).transpose() {
            Ok(time) => time,
            Err(problem) => {
                problems.push(format!("{flag} {}: {problem}", given.as_deref().unwrap_or_default()));
                None
            }
        };
        let (from, to) = (time("--from", &args.from), time("--to", &args.to));
        if let (Some(from), Some(to)) = (from, to)
            && to <= from
        {
            problems.push("--to must be later than --from".to_owned());
        }
        let walk_forward = match args.walk_forward.as_deref().map(WalkForward::parse).transpose() {
            Ok(walk) => walk,
            Err(problem) => {
                problems.push(problem);
                None
            }
        };
        match grid {
            Some(grid) if problems.is_empty() => Ok(Settings {
                grid,
                jobs,
                sort_by: args.sort_by.clone(),
                ascending: args.ascending,
                from,
                to,
                walk_forward,
            }),
            _ => Err(Failure::BadInput(anyhow!(problems.join("\n")))),
        }
    }
}

/// A time from `--from`/`--to`: a date (midnight UTC) or an RFC 3339 time.
fn parse_time(text: &str) -> Result<Timestamp, String> {
    let instant = match text.parse::<jiff::civil::Date>() {
        Ok(date) => date.to_zoned(jiff::tz::TimeZone::UTC).map(|zoned| zoned.timestamp()),
        Err(_) => text.parse::<jiff::Timestamp>(),
    };
    let instant = instant.map_err(|_| "expected a date (2020-01-31) or an RFC 3339 time (2020-01-31T14:30:00Z)")?;
    i64::try_from(instant.as_nanosecond()).map(Timestamp).map_err(|_| "out of range".to_owned())
}

/// Reads the base config's data once, cut to `--from`/`--to`.
fn record(base: &CheckedConfig, registry: &Registry, settings: &Settings) -> Result<MarketTape, Failure> {
    let tape = record_tape(base, registry)?.window(settings.from, settings.to);
    if tape.is_empty() {
        return Err(Failure::BadInput(anyhow!(
            "no data to sweep{}",
            if settings.from.is_some() || settings.to.is_some() { " between --from and --to" } else { "" }
        )));
    }
    Ok(tape)
}

/// What every run shares: the config file, the overrides, and the registry and admission the base
/// config settled.
struct Runner {
    file: ConfigFile,
    overrides: Vec<String>,
    /// Where the environment layer comes from: the process's here, none on a worker (the sweep's
    /// environment is part of the config it sends).
    environment: Environment,
    registry: Registry,
    admission: Box<dyn Admission>,
    /// The strategies with columns of their own ([`results::strategy_columns`]).
    strategies: Vec<String>,
}

impl Runner {
    /// Run `run`'s config: the base config with the grid point's values on top.
    fn checked(&self, sets: &[String]) -> Result<CheckedConfig, Vec<tradsys_core::config::ConfigError>> {
        let overrides: Vec<String> = self.overrides.iter().chain(sets).cloned().collect();
        let loader = ConfigLoader::load(&self.file, &self.environment, &overrides)?;
        let config = loader.extract()?;
        check_planned(loader, config, self.registry.clone(), &*self.admission)
    }

    /// Checks the config of every run before any runs; returns the runs to make. A bad one fails
    /// the sweep, listing the first few, unless `skip_invalid` leaves them out (not all of them).
    fn check_every_run(&self, grid: &Grid, jobs: usize, skip_invalid: bool) -> Result<Vec<usize>, Failure> {
        let mut text = String::new();
        let mut bad = 0;
        let mut valid = Vec::new();
        // Checking builds every component once: on the sweep's threads too.
        pool::run_ordered(
            jobs,
            grid.runs(),
            |run| self.checked(&grid.sets(run)).err(),
            |run, errors| {
                let Some(errors) = errors else {
                    valid.push(run);
                    return true;
                };
                bad += 1;
                if bad <= MAX_LISTED_BAD_RUNS {
                    let _ = writeln!(text, "run {run} ({}):", grid.sets(run).join(" "));
                    for error in errors {
                        let _ = writeln!(text, "  {error}");
                    }
                }
                true
            },
        );
        if bad == 0 || (skip_invalid && !valid.is_empty()) {
            return Ok(valid);
        }
        let hint = if skip_invalid { "" } else { " (--skip-invalid leaves such runs out)" };
        let _ = write!(text, "{bad} of {} runs have a bad configuration; nothing was run{hint}", grid.runs());
        Err(Failure::BadInput(anyhow!(text)))
    }

    /// Runs one configuration over the tape `feed` replays, trading from `trade_from` on when given
    /// (the events before it warm the components up).
    fn run(
        &self,
        sets: &[String],
        feed: &Arc<ComponentDescriptor>,
        trade_from: Option<Timestamp>,
    ) -> Result<RunResult, Failure> {
        let mut checked = self.checked(sets).map_err(|errors| config_failure(&errors))?;
        for component in checked.plan.components.iter_mut().filter(|c| c.request.kind == Kind::Feed) {
            component.registered.descriptor = Arc::clone(feed);
        }
        let mut session = start_session(&checked, &self.registry)?;
        if let Some(from) = trade_from {
            session.warm_up_until(from);
        }
        let outcome = session.run(&mut NoObserver);
        let error = outcome
            .error
            .map(|error| error.to_string())
            .or_else(|| outcome.report.failures.first().map(|failure| failure.to_string()));
        Ok(RunResult::new(&outcome.report, &self.strategies, error))
    }
}

/// Where a sweep's runs are made.
enum Executor {
    /// On this machine's threads.
    Local {
        /// Runs at once.
        jobs: usize,
    },
    /// On `tradsys worker`s, through a NATS server.
    Remote(Box<std::sync::Mutex<Gatherer>>),
}

/// One run to make: a grid run over a span of the tape.
#[derive(Clone, Copy, Debug)]
struct Request {
    /// The grid run.
    run: usize,
    /// The span of the tape it replays.
    span: Span,
}

/// One sweep under way.
struct Sweep<'a> {
    runner: &'a Runner,
    executor: &'a Executor,
    settings: &'a Settings,
    args: &'a SweepArgs,
    /// The configured feed's descriptor, which each tape's stands for.
    feed: Arc<ComponentDescriptor>,
    name: &'a str,
    /// The grid's runs to make, in order (all of them unless `--skip-invalid` left some out).
    runs: &'a [usize],
    /// Set by SIGINT or SIGTERM: no run starts after it, and no output is put in place.
    stop: &'a crate::signals::StopRequest,
}

/// The best runs so far, by the sort statistic; ties go to the earlier run.
struct Ranking {
    keep: usize,
    ascending: bool,
    stat: String,
    best: Vec<(usize, RunResult)>,
}

impl Ranking {
    fn new(keep: usize, stat: &str, ascending: bool) -> Ranking {
        Ranking { keep, ascending, stat: stat.to_owned(), best: Vec::new() }
    }

    /// Whether `a` ranks before `b` (undefined values last).
    fn before(&self, a: Option<f64>, b: Option<f64>) -> bool {
        match (a.filter(|v| v.is_finite()), b.filter(|v| v.is_finite())) {
            (Some(a), Some(b)) => better(a, b, self.ascending),
            (Some(_), None) => true,
            _ => false,
        }
    }

    /// Offers run `run`; runs come in order, so an equal value never displaces an earlier run.
    fn offer(&mut self, run: usize, result: &RunResult) {
        let value = result.figure(&self.stat);
        let at = self.best.iter().position(|(_, kept)| self.before(value, kept.figure(&self.stat)));
        let at = at.unwrap_or(self.best.len());
        if at < self.keep {
            self.best.insert(at, (run, result.clone()));
            self.best.truncate(self.keep);
        }
    }
}

/// Whether `a` is better than `b` in the sort order: higher, or lower with `--ascending`.
fn better(a: f64, b: f64, ascending: bool) -> bool {
    if ascending { a < b } else { a > b }
}

/// The figures printed for each ranked run, beside the sort statistic.
const SHOWN: [&str; 5] = ["return_pct", "sharpe", "max_drawdown_pct", "win_rate_pct", "trades"];

impl Sweep<'_> {
    fn progress(&self, total: usize) -> Option<indicatif::ProgressBar> {
        (!self.args.quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} runs {elapsed} (eta {eta})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        })
    }

    /// Makes `requests` over `tape` and calls `sink(at, result)` for each in request order, as
    /// [`pool::run_ordered`] does, wherever they run; `sink` returning `false` stops.
    fn run_ordered(
        &self,
        tape: &MarketTape,
        requests: &[Request],
        sink: impl FnMut(usize, Result<RunResult, Failure>) -> bool,
    ) -> Result<(), Failure> {
        let grid = &self.settings.grid;
        match self.executor {
            Executor::Local { jobs } => {
                let run = |at: usize| {
                    let Request { run, span } = requests[at];
                    let window = tape.window(span.from.map(Timestamp), span.to.map(Timestamp));
                    self.runner.run(
                        &grid.sets(run),
                        &window.feed_descriptor(&self.feed),
                        span.trade_from.map(Timestamp),
                    )
                };
                pool::run_ordered(*jobs, requests.len(), run, sink);
                Ok(())
            }
            Executor::Remote(gatherer) => {
                let runs: Vec<RemoteRun> = requests
                    .iter()
                    .map(|request| RemoteRun { sets: grid.sets(request.run), span: request.span })
                    .collect();
                gatherer.lock().unwrap_or_else(std::sync::PoisonError::into_inner).run_ordered(&runs, self.stop, sink)
            }
        }
    }

    fn results_file(&self, columns: &[String]) -> Result<Option<ResultsFile>, Failure> {
        let strategies = &self.runner.strategies;
        self.args.out.as_deref().map(|path| ResultsFile::create(path, columns, strategies)).transpose().bad_input()
    }

    /// Every run over the whole tape; returns the table, the runs and how many failed.
    fn plain(&self, tape: &MarketTape) -> Result<(String, usize, usize), Failure> {
        let grid = &self.settings.grid;
        let axes = grid.axes();
        let mut columns = vec!["run".to_owned()];
        columns.extend(axes.iter().map(|axis| axis.key.clone()));
        let mut out = self.results_file(&columns)?;
        let mut heatmap = self.args.heatmap.as_ref().map(|_| {
            let y = axes.get(1).map(|axis| (axis.key.as_str(), axis.values.as_slice()));
            Heatmap::new((&axes[0].key, &axes[0].values), y, &self.settings.sort_by, self.settings.ascending)
        });
        let mut ranking = Ranking::new(self.args.top, &self.settings.sort_by, self.settings.ascending);
        let progress = self.progress(self.runs.len());
        let (mut failed, mut stopped) = (0, None);
        let requests: Vec<Request> = self.runs.iter().map(|&run| Request { run, span: Span::default() }).collect();
        self.run_ordered(tape, &requests, |at, result| {
            let run = self.runs[at];
            if let Some(signal) = self.stop.signal() {
                stopped = Some(Failure::Cancelled(signal));
                return false;
            }
            let result = match result {
                Ok(result) => result,
                Err(failure) => {
                    stopped = Some(failure);
                    return false;
                }
            };
            failed += usize::from(result.error.is_some());
            let mut leading = vec![run.to_string()];
            leading.extend(grid.values(run).into_iter().map(str::to_owned));
            if let Some(out) = out.as_mut()
                && let Err(error) = out.write(&leading, &result)
            {
                stopped = Some(Failure::Internal(error));
                return false;
            }
            if let Some(map) = heatmap.as_mut() {
                let point = grid.point(run);
                map.record(point[0], point.get(1).copied().unwrap_or(0), result.figure(&self.settings.sort_by));
            }
            ranking.offer(run, &result);
            if let Some(bar) = &progress {
                bar.inc(1);
            }
            true
        })?;
        if let Some(bar) = progress {
            bar.finish_and_clear();
        }
        if let Some(failure) = stopped {
            return Err(failure);
        }
        self.finish_outputs(out, heatmap)?;
        let mut table = String::new();
        let span = tape.span().map(|(first, last)| format!(" ({first} to {last})")).unwrap_or_default();
        let _ = writeln!(
            table,
            "tradsys sweep: {}: {} runs over {} events{span}, ranked by {} ({})",
            self.name,
            self.runs.len(),
            tape.len(),
            self.settings.sort_by,
            if self.settings.ascending { "lowest first" } else { "highest first" }
        );
        let mut header = vec!["rank".to_owned(), "run".to_owned()];
        header.extend(axes.iter().map(|axis| axis.column().to_owned()));
        header.push(self.settings.sort_by.clone());
        header.extend(SHOWN.iter().filter(|s| **s != self.settings.sort_by).map(|s| (*s).to_owned()));
        let rows: Vec<Vec<String>> = ranking
            .best
            .iter()
            .enumerate()
            .map(|(rank, (run, result))| {
                let mut row = vec![(rank + 1).to_string(), run.to_string()];
                row.extend(grid.values(*run).into_iter().map(str::to_owned));
                row.extend(header[2 + axes.len()..].iter().map(|stat| figure(stat, result)));
                row
            })
            .collect();
        if !self.args.quiet {
            table.push_str(&aligned(&header, &rows));
        }
        if failed > 0 {
            let _ =
                writeln!(table, "{failed} runs ended early or had a failed component; see the error column of --out");
        }
        self.note_skipped(&mut table);
        Ok((table, self.runs.len(), failed))
    }

    /// Walk-forward: the best run of each training window, reported on its test window.
    fn walk_forward(&self, tape: &MarketTape, walk: WalkForward) -> Result<(String, usize, usize), Failure> {
        let grid = &self.settings.grid;
        let (first, last) = tape.span().ok_or_else(|| Failure::BadInput(anyhow!("no data to sweep")))?;
        let windows = walk.windows(first, last);
        if windows.is_empty() {
            return Err(Failure::BadInput(anyhow!(
                "--walk-forward: the data ({first} to {last}) is shorter than one training window"
            )));
        }
        let stat = &self.settings.sort_by;
        let mut columns: Vec<String> =
            ["window", "train_from", "train_to", "test_from", "test_to"].iter().map(|c| (*c).to_owned()).collect();
        columns.extend(grid.axes().iter().map(|axis| axis.key.clone()));
        columns.push(format!("in_sample_{stat}"));
        let mut out = self.results_file(&columns)?;
        let progress = self.progress(windows.len() * (self.runs.len() + 1));
        let mut rows = Vec::new();
        let (mut runs, mut failed) = (0, 0);
        let mut compounded = 1.0;
        for (index, window) in windows.iter().enumerate() {
            let train = Span { from: Some(window.train.0.0), to: Some(window.train.1.0), trade_from: None };
            let mut ranking = Ranking::new(1, stat, self.settings.ascending);
            let mut stopped = None;
            let requests: Vec<Request> = self.runs.iter().map(|&run| Request { run, span: train }).collect();
            self.run_ordered(tape, &requests, |at, result| match result {
                _ if self.stop.signal().is_some() => {
                    stopped = self.stop.signal().map(Failure::Cancelled);
                    false
                }
                Ok(result) => {
                    let run = self.runs[at];
                    if result.error.is_none() {
                        ranking.offer(run, &result);
                    }
                    if let Some(bar) = &progress {
                        bar.inc(1);
                    }
                    true
                }
                Err(failure) => {
                    stopped = Some(failure);
                    false
                }
            })?;
            if let Some(failure) = stopped {
                return Err(failure);
            }
            runs += self.runs.len() + 1;
            let Some((best, in_sample)) = ranking.best.into_iter().next().filter(|(_, r)| r.figure(stat).is_some())
            else {
                return Err(Failure::BadInput(anyhow!(
                    "--walk-forward: window {index} (training {} to {}) has no run with a defined {stat}; widen the windows or sort by another statistic",
                    window.train.0,
                    window.train.1
                )));
            };
            // The test run warms up on the training window, then trades the test window only.
            let test =
                Span { from: Some(window.train.0.0), to: Some(window.test.1.0), trade_from: Some(window.test.0.0) };
            let mut tested = None;
            self.run_ordered(tape, &[Request { run: best, span: test }], |_, result| {
                tested = Some(result);
                true
            })?;
            let result = match tested {
                Some(result) => result?,
                None => {
                    return Err(self.stop.signal().map_or_else(
                        || Failure::Internal(anyhow!("the test run gave no result")),
                        Failure::Cancelled,
                    ));
                }
            };
            if let Some(bar) = &progress {
                bar.inc(1);
            }
            failed += usize::from(result.error.is_some());
            let return_pct = result.figure("return_pct").unwrap_or(0.0);
            compounded *= 1.0 + return_pct / 100.0;
            let mut leading = vec![
                index.to_string(),
                window.train.0.to_string(),
                window.train.1.to_string(),
                window.test.0.to_string(),
                window.test.1.to_string(),
            ];
            leading.extend(grid.values(best).into_iter().map(str::to_owned));
            leading.push(in_sample.figure(stat).map_or_else(String::new, |v| v.to_string()));
            if let Some(out) = out.as_mut() {
                out.write(&leading, &result).map_err(Failure::Internal)?;
            }
            let mut row = vec![index.to_string(), window.test.0.to_string()];
            row.extend(grid.values(best).into_iter().map(str::to_owned));
            row.push(number(in_sample.figure(stat)));
            row.push(figure(stat, &result));
            row.extend(["return_pct", "trades"].iter().filter(|s| **s != stat).map(|s| figure(s, &result)));
            rows.push(row);
        }
        if let Some(bar) = progress {
            bar.finish_and_clear();
        }
        self.finish_outputs(out, None)?;
        let mut table = String::new();
        let _ = writeln!(
            table,
            "tradsys sweep: {}: walk-forward over {} windows of {} runs, best by {stat} in sample, reported out of sample",
            self.name,
            windows.len(),
            self.runs.len()
        );
        let mut header = vec!["window".to_owned(), "test_from".to_owned()];
        header.extend(grid.axes().iter().map(|axis| axis.column().to_owned()));
        header.extend([format!("in_{stat}"), format!("out_{stat}")]);
        header.extend(["return_pct", "trades"].iter().filter(|s| **s != stat).map(|s| format!("out_{s}")));
        if !self.args.quiet {
            table.push_str(&aligned(&header, &rows));
        }
        let _ =
            writeln!(table, "out-of-sample return, compounded over the windows: {:.2}%", 100.0 * (compounded - 1.0));
        self.note_skipped(&mut table);
        Ok((table, runs, failed))
    }

    /// Says how many runs `--skip-invalid` left out.
    fn note_skipped(&self, table: &mut String) {
        let skipped = self.settings.grid.runs() - self.runs.len();
        if skipped > 0 {
            let _ = writeln!(table, "{skipped} runs left out: their configuration was refused (--skip-invalid)");
        }
    }

    fn finish_outputs(&self, out: Option<ResultsFile>, heatmap: Option<Heatmap>) -> Result<(), Failure> {
        if let Some(out) = out {
            out.commit().map_err(Failure::Internal)?;
        }
        if let (Some(map), Some(path)) = (heatmap, &self.args.heatmap) {
            let file = crate::output::OutputFile::create(path).map_err(Failure::Internal)?;
            let temporary: PathBuf = file.temporary_path().map(PathBuf::from).unwrap_or_else(|| path.clone());
            map.draw(&temporary, self.name).map_err(Failure::Internal)?;
            file.commit().map_err(Failure::Internal)?;
        }
        Ok(())
    }
}

/// Statistic `stat` of `result` as the table prints it (a count without decimals).
fn figure(stat: &str, result: &RunResult) -> String {
    match (stat, result.figure(stat)) {
        ("trades", Some(count)) => format!("{count:.0}"),
        (_, value) => number(value),
    }
}

/// A figure as the table prints it.
fn number(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2}"))
}

/// Rows under a header, columns padded to their widest cell.
fn aligned(header: &[String], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(String::len).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.len());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(cell, width)| format!("{cell:>width$}")).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut text = line(header);
    for row in rows {
        text.push_str(&line(row));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(sharpe: Option<f64>) -> RunResult {
        RunResult { figures: vec![("sharpe", sharpe)], strategies: Vec::new(), error: None }
    }

    #[test]
    fn the_ranking_keeps_the_best_and_the_earlier_of_equals() {
        let mut ranking = Ranking::new(2, "sharpe", false);
        for (run, sharpe) in [(0, Some(1.0)), (1, None), (2, Some(2.0)), (3, Some(1.0)), (4, Some(f64::NAN))] {
            ranking.offer(run, &result(sharpe));
        }
        let runs: Vec<usize> = ranking.best.iter().map(|(run, _)| *run).collect();
        assert_eq!(runs, [2, 0]);
        let mut lowest = Ranking::new(3, "sharpe", true);
        for (run, sharpe) in [(0, Some(1.0)), (1, None), (2, Some(-1.0))] {
            lowest.offer(run, &result(sharpe));
        }
        let runs: Vec<usize> = lowest.best.iter().map(|(run, _)| *run).collect();
        assert_eq!(runs, [2, 0, 1], "undefined last");
    }

    #[test]
    fn times_are_dates_or_rfc3339() {
        assert_eq!(parse_time("1970-01-02"), Ok(Timestamp(86_400_000_000_000)));
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Ok(Timestamp(1_000_000_000)));
        assert!(parse_time("yesterday").is_err());
    }
}
