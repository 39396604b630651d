//! The `tradsys` binary's library: CLI, force-linked plugins, the compiled-in matching enum, and the
//! commands. `main.rs`, the integration tests and the benches all link this library, so they all see
//! the same plugin set.
//!
//! | feature | plugin | default |
//! |---|---|---|
//! | `matching-fifo` | price-time matching (`fifo`) | yes |
//! | `matching-pro-rata` | pro-rata matching (`pro-rata`) | yes |
//! | `feed-bars-csv` | OHLCV bars from CSV (`bars-csv`) | yes |
//! | `feed-order-flow` | order-flow file replay (`order-flow`) | yes |
//! | `feed-synthetic` | seeded synthetic order flow (`synthetic`) | yes |
//! | `indicators-ta` | `sma`, `ema`, `rsi`, `macd`, `bollinger`, `atr`, `vwap` | yes |
//! | `bar-aggregator` | time bars from trades (`bar-aggregator`) | yes |
//! | `strategy-sma-cross` | `sma-cross` | yes |
//! | `strategy-mean-reversion` | `mean-reversion` | yes |
//! | `strategy-market-maker` | `market-maker` | yes |
//! | `risk-limits` | `max-order-qty`, `max-notional`, `max-position`, `price-collar`, `order-rate`, `kill-switch` | yes |
//!
//! `full` enables every plugin in the workspace; `cargo xtask build --plugins a,b` builds any subset.

#![deny(unsafe_code)]

pub mod alloc_meter;
pub mod cli;
pub mod configure;
pub mod event_json;
pub mod failure;
pub mod generate;
#[cfg(feature = "strategy-remote")]
pub mod host;
pub mod html_report;
pub mod listing;
pub mod matching;
pub mod modules;
pub mod nats;
pub mod output;
pub mod plot;
pub mod plugins;
pub mod prometheus;
#[cfg(feature = "feed-nats")]
pub mod publish;
pub mod reference;
pub mod replay;
pub mod run;
pub mod serve;
pub mod signals;
pub mod sweep;
pub mod tail;
pub mod trust;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use tradsys_core::registry::Registry;

use crate::cli::{Cli, Command, ConfigCommand, GenCommand, KeysCommand, LogFormat};
use crate::failure::Failure;

/// The version line and the compiled-in plugin set, as `--version` prints them.
#[must_use]
pub fn version_text() -> String {
    let enabled = plugins::enabled();
    format!(
        "tradsys {}\nplugin API {}\nplugins: {}\n",
        env!("CARGO_PKG_VERSION"),
        tradsys_core::plugin::PLUGIN_API_VERSION,
        tradsys_core::suggest::list_or_none(&enabled)
    )
}

/// Discovers the registry; a refused registration is an internal error naming every problem.
///
/// # Errors
/// Duplicate, malformed or incompatible registrations.
pub fn registry() -> Result<Registry, Failure> {
    Registry::discover_with(plugins::digest_of_crate).map_err(|errors| {
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        Failure::Internal(anyhow::anyhow!("plugin registry refused registrations:\n{}", text.join("\n")))
    })
}

/// Runs the CLI with these arguments, writing to the process's stdout and stderr; returns the exit
/// code.
pub fn main_with_args(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    run_cli(args, &mut std::io::stdout().lock(), &mut std::io::stderr())
}

/// Runs the CLI with these arguments, writing its results to `out` and its messages to `err` (logs
/// still go to the process's stderr); returns the exit code. Tests drive the whole CLI through it.
pub fn run_cli(
    args: impl IntoIterator<Item = std::ffi::OsString>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> ExitCode {
    let cli = match Cli::command().try_get_matches_from(args).and_then(|matches| Cli::from_arg_matches(&matches)) {
        Ok(cli) => cli,
        Err(error) => {
            let text = error.render().to_string();
            if error.use_stderr() {
                let _ = err.write_all(text.as_bytes());
                return ExitCode::from(2);
            }
            let _ = out.write_all(text.as_bytes());
            return ExitCode::SUCCESS;
        }
    };
    if let Err(failure) = init_tracing(cli.log.as_deref(), cli.log_format) {
        let _ = writeln!(err, "error: {failure}");
        return failure.exit_code();
    }
    if cli.version {
        let _ = out.write_all(version_text().as_bytes());
        return ExitCode::SUCCESS;
    }
    match dispatch(cli.command) {
        Ok(output) => {
            if out.write_all(output.as_bytes()).and_then(|()| out.flush()).is_err() {
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            match cli.log_format {
                // For machines, the failure is one more JSON line on stderr.
                LogFormat::Json => tracing::error!(error = %failure, "the command failed"),
                LogFormat::Text => {
                    let _ = writeln!(err, "error: {failure}");
                }
            }
            failure.exit_code()
        }
    }
}

fn dispatch(command: Option<Command>) -> Result<String, Failure> {
    let Some(command) = command else {
        return Ok(Cli::command().render_help().to_string());
    };
    match command {
        Command::Run(args) => run::run(&args, &registry()?),
        Command::Sweep(args) => sweep::sweep(&args, &registry()?),
        Command::Serve(args) => serve::serve(&args, registry()?),
        Command::Replay(args) => replay::replay(&args, &registry()?).map(|_| String::new()),
        #[cfg(feature = "feed-nats")]
        Command::Publish(args) => publish::publish(&args, &registry()?),
        Command::Worker(args) => sweep::work(&args, &registry()?),
        #[cfg(feature = "strategy-remote")]
        Command::Host(args) => host::host(&args, &registry()?),
        Command::Tail(args) => tail::tail(&args),
        Command::Gen(GenCommand::Orders(args)) => generate::orders(&args).map(|()| String::new()),
        Command::Plugins(args) => listing::list(&args, &modules::with_modules(registry()?, &args.modules)?),
        Command::Config(ConfigCommand::Check(args)) => configure::check(&args.file, &args.overrides, &registry()?),
        Command::Config(ConfigCommand::Show(args)) => configure::show(&args.file, &args.overrides, &registry()?),
        Command::Config(ConfigCommand::Default) => Ok(run::DEFAULT_CONFIG.to_owned()),
        Command::Config(ConfigCommand::Schema(args)) => {
            reference::schema(&args, &modules::with_modules(registry()?, &args.modules)?)
        }
        Command::Keys(KeysCommand::Generate(args)) => trust::generate_keys(&args),
        Command::Approve(args) => trust::approve(&args, &modules::with_modules(registry()?, &args.modules)?),
        Command::Verify(args) => trust::verify(&args, &modules::with_modules(registry()?, &args.modules)?),
    }
}

/// Logs to stderr: the filter from `--log` / `TRADSYS_LOG`, else `RUST_LOG`, else `warn`; colour
/// only on a terminal.
fn init_tracing(given: Option<&str>, format: LogFormat) -> Result<(), Failure> {
    let (filter, source) = match (given, std::env::var("RUST_LOG")) {
        (Some(filter), _) => (filter.to_owned(), "--log"),
        (None, Ok(filter)) => (filter, "RUST_LOG"),
        (None, Err(_)) => ("warn".to_owned(), "the default"),
    };
    let filter = tracing_subscriber::EnvFilter::try_new(&filter).map_err(|error| {
        Failure::BadInput(anyhow::anyhow!(
            "{source}: {:?} is not a log filter ({error}); expected e.g. warn, info or tradsys_core=debug",
            tradsys_core::limits::shorten(&filter, 80)
        ))
    })?;
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    Ok(())
}
