//! `tradsys serve`: a session on its own thread, managed while it runs through the admin HTTP API
//! (and the config file, with `--watch`).
//!
//! Threads: the session thread runs the event loop and applies commands at its safe point; tokio
//! runs the API and waits for SIGINT/SIGTERM; `--watch` adds one thread reading file events. On a
//! signal, changes are refused, the session stops its components in reverse dependency order, and
//! the outputs named on the command line are written whole; the exit code is then `run`'s.

pub mod api;
pub mod history;
pub mod live;
pub mod plugins;
pub mod problem;
pub mod watch;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::anyhow;
use tradsys_core::config::ConfigFile;
use tradsys_core::registry::Registry;
use tradsys_core::session::{Command, ControlPort};

use crate::cli::ServeArgs;
use crate::configure::{config_failure, load_checked};
use crate::failure::{BadInput, Failure, Internal};
use crate::run::{Outputs, RunRecord, Summary, inputs, start_session};

/// Where the admin API listens when neither `--listen` nor `admin.listen` says.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

/// The variable holding the admin token (it wins over `admin.token`).
pub const TOKEN_VARIABLE: &str = "TRADSYS_ADMIN_TOKEN";

/// Runs `serve` until a signal (or the feed's end, with `--exit-at-end`); returns the summary.
///
/// # Errors
/// A bad config, address or output (exit 2), or what `run` would fail with.
pub fn serve(args: &ServeArgs, registry: Registry) -> Result<String, Failure> {
    let checked = load_checked(&ConfigFile::Path(args.config.clone()), &args.overrides, &registry)
        .map_err(|errors| config_failure(&errors))?;
    let (listen, listen_source) = match (&args.listen, &checked.config.admin.listen) {
        (Some(listen), _) => (listen.clone(), "--listen"),
        (None, Some(listen)) => (listen.clone(), "admin.listen"),
        (None, None) => (DEFAULT_LISTEN.to_owned(), "the default address"),
    };
    let address: SocketAddr = listen.parse().map_err(|error| {
        Failure::BadInput(anyhow!("{listen_source}: {listen:?} is not an address like 127.0.0.1:7878: {error}"))
    })?;
    let token = std::env::var(TOKEN_VARIABLE)
        .ok()
        .or(checked.config.admin.token.clone())
        .filter(|token| !token.trim().is_empty());
    let off_loopback = !address.ip().is_loopback();
    if off_loopback && token.is_none() {
        return Err(Failure::BadInput(anyhow!(
            "{listen_source}: refusing to serve the admin API on {address}, off loopback, without a token; set admin.token or {TOKEN_VARIABLE}"
        )));
    }
    // The address is taken before anything starts: a busy port is bad input found first.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("admin-api")
        .enable_all()
        .build()
        .internal()?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(address))
        .map_err(|error| Failure::BadInput(anyhow!("{listen_source}: cannot listen on {address}: {error}")))?;
    let tolerate_failures = checked.config.session.tolerate_failures;
    // The report records the config serve started with, not the changes applied while it ran.
    let mut outputs = Outputs::open(&args.outputs, false, &inputs(Some(&args.config), &checked))?
        .describing(RunRecord::new(&args.config.display().to_string(), &checked))
        .publishing(&checked.config.nats, "serve", &args.config.display().to_string())?;
    let session = start_session(&checked, &checked.registry)?;
    let plugin_dir = checked.config.security.plugin_dir.as_ref().map(|dir| {
        match checked.loader.base_dir_of("security.plugin_dir") {
            Some(base) if std::path::Path::new(dir).is_relative() => base.join(dir),
            _ => std::path::PathBuf::from(dir),
        }
    });
    let settings = crate::modules::settings(&checked.config.security)
        .map_err(|(key, message)| Failure::BadInput(anyhow!("{key}: {message}")))?;
    let trusted = checked.config.security.require_approval.then(|| {
        crate::trust::trusted_keys(&checked.config, &checked.loader, &mut |key, message| {
            tracing::warn!(key, "{message}");
        })
    });
    let registry = plugins::LiveRegistry::new(checked.registry.clone(), settings, plugin_dir, trusted);
    let _plugin_watcher = plugins::watch(registry.clone())
        .map_err(|error| Failure::BadInput(anyhow!("security.plugin_dir: cannot watch: {error}")))?;
    let (commands, inbox) = session.control_channel();
    let mut port = ControlPort::new(inbox, &checked.config.serve, !args.exit_at_end);
    let live =
        Arc::new(tokio::sync::Mutex::new(live::LiveConfig::new(args.config.clone(), args.overrides.clone(), checked)));
    let bound = listener.local_addr().internal()?;
    let _watcher = if args.watch {
        Some(watch::watch(&args.config, live.clone(), commands.clone(), registry.clone()).bad_input()?)
    } else {
        None
    };
    let api = api::Api::new(commands.clone(), token, off_loopback, live, registry);
    let (ended_tx, ended) = tokio::sync::oneshot::channel::<()>();
    let session_thread = std::thread::Builder::new()
        .name("session".to_owned())
        .spawn(move || {
            let outcome = session.serve(&mut port, &mut outputs.observer);
            let _ = ended_tx.send(());
            (outcome, outputs)
        })
        .internal()?;
    eprintln!("tradsys serve: admin API on http://{bound} (session running)");
    tracing::info!(%bound, "admin API listening");
    runtime.block_on(async {
        let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
        let server = axum::serve(listener, api::router(api.clone())).with_graceful_shutdown(async {
            let _ = server_stopped.await;
        });
        let server = tokio::spawn(async move { server.await });
        let mut ended = ended;
        let signalled = tokio::select! {
            () = shutdown_signal() => true,
            _ = &mut ended => false,
        };
        if signalled {
            tracing::info!("signal received: refusing changes, stopping the session");
            api.close();
            let _ = commands.send(Command::Shutdown);
            let _ = ended.await;
        }
        let _ = stop_server.send(());
        let _ = server.await;
    });
    let (outcome, outputs) =
        session_thread.join().map_err(|_| Failure::Internal(anyhow!("the session thread panicked")))?;
    let name = args.config.display().to_string();
    outputs.finish(
        outcome,
        &Summary { command: "serve", name: &name, quiet: args.quiet, verbose: false, tolerate_failures },
    )
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; SIGINT still stops the session");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
