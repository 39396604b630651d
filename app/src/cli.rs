//! The command line: `tradsys run | sweep | serve | replay | gen orders | plugins | config check | config show`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// tradsys: a trading system assembled from compiled-in plugins.
#[derive(Debug, Parser)]
#[command(name = "tradsys", about, disable_version_flag = true)]
pub struct Cli {
    /// Print the version and the compiled-in plugin set.
    #[arg(long, short = 'V', global = true)]
    pub version: bool,
    /// Log filter for stderr (tracing `EnvFilter` syntax, e.g. `info` or `tradsys_core=debug`);
    /// else `RUST_LOG`, else `warn`.
    #[arg(long, global = true, env = "TRADSYS_LOG")]
    pub log: Option<String>,
    /// Log format on stderr: `text` (coloured only on a terminal) or `json` (one object per line).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "TRADSYS_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a trading session (with no --config: the embedded default).
    Run(RunArgs),
    /// Run a session as a long-lived process managed at run time through the admin HTTP API.
    Serve(ServeArgs),
    /// Run a config over a grid of parameter values, in parallel, and rank the runs.
    Sweep(SweepArgs),
    /// Replay an order-flow file through the matching engine, writing every event as JSON lines.
    Replay(ReplayArgs),
    /// Play a configured feed onto NATS subjects (standing in for a market-data gateway).
    #[cfg(feature = "feed-nats")]
    Publish(PublishArgs),
    /// Run the jobs of distributed sweeps (`sweep --nats`) taken from a NATS server.
    Worker(WorkerArgs),
    /// Run the strategies of a config for sessions elsewhere (their `remote` strategies), over NATS.
    #[cfg(feature = "strategy-remote")]
    Host(HostArgs),
    /// Print a session's events (`[nats] publish = true`) from the first, as they are stored.
    Tail(TailArgs),
    /// Generate synthetic data.
    #[command(subcommand)]
    Gen(GenCommand),
    /// List the compiled-in components.
    Plugins(PluginsArgs),
    /// Check or show a configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage signing keys for plugin approvals.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Sign an approval of plugins: their code as this binary carries it, their capabilities.
    Approve(ApproveArgs),
    /// Verify an approval's signature and date, and its plugins against this binary's code.
    Verify(VerifyArgs),
}

/// `tradsys keys ...`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new Ed25519 key pair: NAME.key (secret) and NAME.pub (minisign's public key format).
    Generate(KeysGenerateArgs),
}

/// `tradsys keys generate`.
#[derive(Debug, Args)]
pub struct KeysGenerateArgs {
    /// The key's path without extension: writes NAME.key and NAME.pub (never overwriting).
    #[arg(long, value_name = "NAME")]
    pub out: PathBuf,
}

/// `tradsys approve`.
#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The secret key to sign with.
    #[arg(long, value_name = "NAME.key")]
    pub key: PathBuf,
    /// The approval to write (its signature goes to FILE.toml.minisig).
    #[arg(long, value_name = "FILE.toml")]
    pub out: PathBuf,
    /// A plugin to approve: `KIND:NAME@VERSION` (or `KIND:NAME` for the highest version); repeatable.
    #[arg(long = "plugin", value_name = "KIND:NAME@VERSION")]
    pub plugins: Vec<String>,
    /// Approve every plugin this binary carries (and every module given).
    #[arg(long)]
    pub all: bool,
    /// A WebAssembly plugin module to approve (a `.wasm` file, or a directory of them);
    /// repeatable.
    #[arg(long = "module", value_name = "PATH")]
    pub modules: Vec<PathBuf>,
    /// When the approval stops holding (RFC 3339, e.g. 2027-06-30T00:00:00Z).
    #[arg(long, value_name = "WHEN")]
    pub expires: Option<String>,
}

/// `tradsys verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The approval file (its signature is FILE.toml.minisig).
    #[arg(long, value_name = "FILE.toml")]
    pub approval: PathBuf,
    /// A trusted public key (minisign format); repeatable.
    #[arg(long, value_name = "KEY.pub", required = true)]
    pub trusted: Vec<PathBuf>,
    /// A WebAssembly plugin module to load first (a `.wasm` file, or a directory of them);
    /// repeatable.
    #[arg(long = "module", value_name = "PATH")]
    pub modules: Vec<PathBuf>,
}

/// `tradsys run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The session config (TOML); the embedded default when absent.
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Override a config value: `--set strategies.trend.params.fast=5` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// The files to write.
    #[command(flatten)]
    pub outputs: OutputArgs,
    /// Add per-component metrics (calls, errors, latency, memory) to the summary.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Print no summary table.
    #[arg(long)]
    pub quiet: bool,
}

/// How to reach a NATS server: every command that talks to one takes these.
#[derive(Debug, Args)]
pub struct NatsArgs {
    /// The server's URL (`nats://HOST:PORT`, `tls://...`; several separated by commas).
    #[arg(long = "nats", env = "TRADSYS_NATS_URL", value_name = "URL")]
    pub url: String,
    /// A token the server requires.
    #[arg(long = "nats-token", env = "TRADSYS_NATS_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A credentials file (JWT and NKey seed, `.creds`) the server requires.
    #[arg(long = "nats-creds", env = "TRADSYS_NATS_CREDS", value_name = "FILE")]
    pub creds: Option<PathBuf>,
}

/// `tradsys publish`.
#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The config whose `[feed]` is played (its other sections are checked, not run); the embedded
    /// default when absent.
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Override a config value: `--set feed.params.count=1000` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// The server.
    #[command(flatten)]
    pub nats: NatsArgs,
    /// The subjects' first tokens: events go to `PREFIX.SYMBOL.bars|trades|quotes|orders`.
    #[arg(long, value_name = "PREFIX", default_value = "md")]
    pub prefix: String,
    /// Publish this many events per second (as fast as the connection takes them when neither
    /// --rate nor --speed is given).
    #[arg(long, value_name = "EVENTS_PER_SECOND", conflicts_with = "speed")]
    pub rate: Option<f64>,
    /// Publish on the data's own clock, this many times faster (1 = real time).
    #[arg(long, value_name = "FACTOR")]
    pub speed: Option<f64>,
}

/// `tradsys tail`.
#[derive(Debug, Args)]
pub struct TailArgs {
    /// The server.
    #[command(flatten)]
    pub nats: NatsArgs,
    /// The session's id (`[nats] session`, or the one `run` or `serve` printed).
    #[arg(long, value_name = "ID")]
    pub session: String,
    /// Keep following after the session's `ended` event (a session id reused by later runs).
    #[arg(long)]
    pub follow: bool,
}

/// `tradsys worker`.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// The server.
    #[command(flatten)]
    pub nats: NatsArgs,
    /// Runs at once; the machine's cores by default.
    #[arg(long, short = 'j', value_name = "N")]
    pub jobs: Option<usize>,
    /// Seconds without word from a worker after which its job goes to another (the workers share
    /// one consumer: the last worker to start sets it). A running job tells the server it is alive
    /// every third of it.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub ack_wait: u64,
}

/// `tradsys host`.
#[derive(Debug, Args)]
pub struct HostArgs {
    /// The config whose `[strategies]` this host runs (checked whole, as `config check` does; its
    /// other sections are not run).
    #[arg(long, short = 'c')]
    pub config: PathBuf,
    /// Override a config value: `--set strategies.trend.params.fast=5` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// The server.
    #[command(flatten)]
    pub nats: NatsArgs,
    /// The name sessions reach this host by (a `remote` strategy's `host`): its subjects are
    /// `tradsys.host.NAME.>`.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub name: String,
}

/// `tradsys sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The session config (TOML) every run starts from; the embedded default when absent.
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Override a config value in every run: `--set session.leverage=2` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// A swept key and its values: `KEY=FROM..TO[:STEP]` (both ends included) or `KEY=A,B,C`;
    /// repeatable, and the runs are every combination (the first key varies slowest).
    #[arg(long = "grid", value_name = "KEY=SPEC", required = true)]
    pub grid: Vec<String>,
    /// Runs at once; the machine's cores by default. The results are the same whatever it is.
    #[arg(long, short = 'j', value_name = "N", conflicts_with = "nats")]
    pub jobs: Option<usize>,
    /// Make the runs on `tradsys worker`s through this NATS server instead of here
    /// (`nats://HOST:PORT`); the outputs are the same bytes.
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
    /// A token the server requires (with --nats).
    #[arg(long = "nats-token", env = "TRADSYS_NATS_TOKEN", value_name = "TOKEN", hide_env_values = true)]
    pub nats_token: Option<String>,
    /// A credentials file the server requires (with --nats).
    #[arg(long = "nats-creds", env = "TRADSYS_NATS_CREDS", value_name = "FILE")]
    pub nats_creds: Option<PathBuf>,
    /// Write one row per run (its parameters and every statistic), in run order.
    #[arg(long, value_name = "FILE.csv|FILE.parquet")]
    pub out: Option<PathBuf>,
    /// Draw the sort statistic over the first two swept keys.
    #[arg(long, value_name = "FILE.svg|FILE.png")]
    pub heatmap: Option<PathBuf>,
    /// The statistic that ranks the runs (a column of --out, e.g. sharpe, return_pct, sqn).
    #[arg(long, value_name = "STAT", default_value = "sharpe")]
    pub sort_by: String,
    /// Rank the lowest value first (for max_drawdown_pct, volatility_ann_pct, ...).
    #[arg(long)]
    pub ascending: bool,
    /// How many of the best runs to print.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
    /// Use the data from this time on: a date (2020-01-01, UTC) or an RFC 3339 time.
    #[arg(long, value_name = "WHEN")]
    pub from: Option<String>,
    /// Use the data before this time (same forms as --from).
    #[arg(long, value_name = "WHEN")]
    pub to: Option<String>,
    /// Walk forward: pick the best runs on each TRAIN window and report them on the TEST window
    /// that follows, rolling by TEST (lengths in h, d, w or y, e.g. 365d,90d).
    #[arg(long, value_name = "TRAIN,TEST")]
    pub walk_forward: Option<String>,
    /// Leave out the runs whose configuration is refused (a `fast` above `slow`, say) instead of
    /// failing the sweep; the summary says how many.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Print no table.
    #[arg(long)]
    pub quiet: bool,
}

impl SweepArgs {
    /// The server to make the runs through, if `--nats` names one.
    #[must_use]
    pub fn nats_args(&self) -> Option<NatsArgs> {
        let url = self.nats.clone()?;
        Some(NatsArgs { url, token: self.nats_token.clone(), creds: self.nats_creds.clone() })
    }
}

/// `tradsys serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The session config (TOML).
    #[arg(long, short = 'c')]
    pub config: PathBuf,
    /// Override a config value (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Where the admin API listens (default: `admin.listen`, else 127.0.0.1:7878).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Re-read the config file when it changes, applying it as `PATCH /config` would.
    #[arg(long)]
    pub watch: bool,
    /// Exit when the feed ends instead of serving the final report until stopped.
    #[arg(long)]
    pub exit_at_end: bool,
    /// The files to write when the session ends.
    #[command(flatten)]
    pub outputs: OutputArgs,
    /// Print no summary table at the end.
    #[arg(long)]
    pub quiet: bool,
}

/// The files a session writes.
#[derive(Debug, Default, Args)]
pub struct OutputArgs {
    /// Write the full report as JSON.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
    /// Write round-trip trades as CSV.
    #[arg(long, value_name = "FILE.csv")]
    pub trades: Option<PathBuf>,
    /// Write the equity curve as CSV.
    #[arg(long, value_name = "FILE.csv")]
    pub equity: Option<PathBuf>,
    /// Write an interactive HTML report (one self-contained file that opens offline): statistics,
    /// price with entries and exits, equity beside buy & hold, drawdown, PnL per trade.
    #[arg(long, value_name = "FILE.html")]
    pub report_html: Option<PathBuf>,
    /// Plot equity and drawdown (SVG or PNG by extension).
    #[arg(long, value_name = "FILE.svg|png")]
    pub plot: Option<PathBuf>,
    /// Write per-component metrics in the Prometheus text exposition format.
    #[arg(long, value_name = "FILE.prom")]
    pub metrics: Option<PathBuf>,
}

/// `tradsys replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The order-flow CSV file (`action,id,symbol,side,type,price,qty,tif,owner`).
    #[arg(long)]
    pub orders: PathBuf,
    /// The matching algorithm.
    #[arg(long, default_value = "fifo")]
    pub algo: String,
    /// Self-trade prevention: none, cancel-taker, cancel-maker, cancel-both.
    #[arg(long, default_value = "none")]
    pub stp: String,
    /// Write events here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// End with a snapshot of each book.
    #[arg(long)]
    pub book: bool,
    /// Abort (exit 2) at the first malformed row instead of skipping it.
    #[arg(long)]
    pub strict: bool,
    /// Declare an instrument: `SYMBOL:TICK:LOT`, e.g. `EURUSD:0.00001:1000` (repeatable).
    #[arg(long = "instrument", value_name = "SYMBOL:TICK:LOT")]
    pub instruments: Vec<String>,
}

/// `tradsys gen ...`.
#[derive(Debug, Subcommand)]
pub enum GenCommand {
    /// Write a deterministic synthetic order flow in the replay format.
    Orders(GenOrdersArgs),
}

/// `tradsys gen orders`.
#[derive(Debug, Args)]
pub struct GenOrdersArgs {
    /// Number of rows.
    #[arg(long)]
    pub count: u64,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// `exchange-core` (one symbol, the exchange-core benchmark mix) or `multi-symbol`.
    #[arg(long, default_value = "exchange-core")]
    pub profile: String,
    /// Symbols for the multi-symbol profile.
    #[arg(long, default_value_t = 16)]
    pub symbols: u32,
    /// Write here instead of stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `tradsys plugins`.
#[derive(Debug, Args)]
pub struct PluginsArgs {
    /// Only this kind: feed, matching, indicator, risk, strategy.
    #[arg(long)]
    pub kind: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// A WebAssembly plugin module to load first (a `.wasm` file, or a directory of them);
    /// repeatable.
    #[arg(long = "module", value_name = "PATH")]
    pub modules: Vec<PathBuf>,
}

/// Listing formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned text.
    Table,
    /// One JSON array.
    Json,
}

/// `tradsys config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate a config whole: list every error, start nothing.
    Check(ConfigArgs),
    /// Print the effective merged config and where each value came from.
    Show(ConfigArgs),
    /// Print the config `tradsys run` uses without `--config` (a starting point for your own).
    Default,
    /// Print the configuration reference generated from this binary: every section, component,
    /// parameter, type, default, range and meaning.
    Schema(SchemaArgs),
}

/// `tradsys config schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// `markdown` for people (docs/config-reference.md), `json-schema` for editors
    /// (docs/config.schema.json).
    #[arg(long, value_enum, default_value_t = SchemaFormat::Markdown)]
    pub format: SchemaFormat,
    /// A WebAssembly plugin module to describe too (a `.wasm` file, or a directory of them);
    /// repeatable. Its parameters' meanings come from its manifest's `param_docs`.
    #[arg(long = "module", value_name = "PATH")]
    pub modules: Vec<PathBuf>,
}

/// Formats of the configuration reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SchemaFormat {
    /// Markdown tables.
    Markdown,
    /// JSON Schema (draft 2020-12).
    JsonSchema,
}

/// A config file and overrides.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The config file (TOML).
    pub file: PathBuf,
    /// Override a value: `--set key=value` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}
