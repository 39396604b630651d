//! `tradsys host`: runs the strategies of a config for sessions elsewhere, whose `remote`
//! strategies reach it over NATS by its name.
//!
//! The config is checked whole, as for `config check` (modules, approvals and capabilities
//! included); only its `[strategies]` run here, each instance on a thread of its own for the
//! session that opened it (`tradsys_plugin_strategy_remote::hosting`). SIGINT or SIGTERM stops
//! the host: its instances are stopped and unloaded, and their sessions fail those strategies.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::anyhow;
use tradsys_core::registry::Registry;
use tradsys_plugin_strategy_remote::hosting::{self, Catalogue};
use tradsys_plugin_strategy_remote::wire;

use crate::cli::HostArgs;
use crate::failure::{Failure, Internal};

/// Serves until a signal; returns a summary line.
///
/// # Errors
/// A bad name, a config that does not check, no strategies, or an unreachable server (exit 2).
pub fn host(args: &HostArgs, registry: &Registry) -> Result<String, Failure> {
    if !wire::is_host_name(&args.name) {
        return Err(Failure::BadInput(anyhow!(
            "--name {}: expected 1 to 64 letters, digits, '-' or '_' (one NATS subject token)",
            tradsys_core::limits::excerpt(&args.name)
        )));
    }
    let (file, title) = crate::run::config_file(Some(&args.config));
    let plan = crate::configure::load_hosted(&file, &args.overrides, registry)
        .map_err(|errors| crate::configure::config_failure(&errors))?;
    let catalogue = Catalogue::from_plan(&plan);
    if catalogue.is_empty() {
        return Err(Failure::BadInput(anyhow!("{title}: no [strategies] to host")));
    }
    if let Some(remote) = plan
        .components
        .iter()
        .find(|c| c.request.kind == tradsys_core::plugin::Kind::Strategy && c.request.plugin == "remote")
    {
        return Err(Failure::BadInput(anyhow!(
            "{title}: {}: a host cannot run a `remote` strategy (it would call another host); run its plugin here",
            remote.request.key
        )));
    }
    let ids: Vec<&str> = catalogue.ids().collect();
    let summary = ids.join(", ");
    let stop = crate::signals::listen().internal()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("host")
        .enable_all()
        .build()
        .internal()?;
    let served = runtime.block_on(async {
        let client = crate::nats::connect(&args.nats, &format!("tradsys host {}", args.name)).await?;
        eprintln!(
            "tradsys host {}: running {summary} for sessions on {} (subjects {})",
            args.name,
            args.nats.url,
            wire::host_subjects(&args.name)
        );
        let stopped = async {
            while !stop.flag().load(Ordering::Acquire) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        let served = hosting::serve(client.clone(), &args.name, Arc::new(catalogue), stopped)
            .await
            .map_err(|error| Failure::BadInput(anyhow!("{}: {error}", args.nats.url)))?;
        // The last replies, if the server is still there (it may be stopping too).
        let _ = tokio::time::timeout(Duration::from_secs(2), client.flush()).await;
        Ok::<_, Failure>(served)
    })?;
    Ok(format!(
        "tradsys host {}: {} instances asked for, {} dropped when their lease ran out\n",
        args.name, served.opened, served.expired
    ))
}
