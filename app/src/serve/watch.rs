//! `serve --watch`: the config file re-read when it changes (debounced), checked and applied as
//! `PATCH /config` would be. An invalid edit is logged with every error and changes nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::channel;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tradsys_core::session::{Command, CommandSender, Reply};

use super::live::LiveConfig;
use super::plugins::LiveRegistry;

/// Events closer than this are one edit (editors write in several steps).
const DEBOUNCE: Duration = Duration::from_millis(250);

/// Starts watching `file`; the watcher lives as long as the returned value.
///
/// # Errors
/// The file's directory cannot be watched.
pub fn watch(
    file: &Path,
    live: Arc<tokio::sync::Mutex<LiveConfig>>,
    commands: CommandSender,
    registry: LiveRegistry,
) -> notify::Result<notify::RecommendedWatcher> {
    let (events_tx, events) = channel();
    let mut watcher = notify::recommended_watcher(events_tx)?;
    // The directory, not the file: editors replace a file by renaming a new one over it.
    let directory = file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    watcher.watch(&directory, RecursiveMode::NonRecursive)?;
    let name = file.file_name().map(ToOwned::to_owned);
    let file: PathBuf = file.to_path_buf();
    std::thread::Builder::new()
        .name("config-watch".to_owned())
        .spawn(move || {
            let concerns_file = |event: &notify::Result<notify::Event>| {
                event
                    .as_ref()
                    .is_ok_and(|e| !e.kind.is_access() && e.paths.iter().any(|p| p.file_name() == name.as_deref()))
            };
            while let Ok(event) = events.recv() {
                if !concerns_file(&event) {
                    continue;
                }
                while events.recv_timeout(DEBOUNCE).is_ok() {}
                reload(&file, &live, &commands, &registry);
            }
        })
        .map_err(|error| notify::Error::generic(&error.to_string()))?;
    Ok(watcher)
}

fn reload(file: &Path, live: &tokio::sync::Mutex<LiveConfig>, commands: &CommandSender, registry: &LiveRegistry) {
    let mut live = live.blocking_lock();
    let candidate = match live.reload(&registry.snapshot()) {
        Ok(candidate) => candidate,
        Err(problem) => {
            tracing::error!(file = %file.display(), error = %problem.error, details = ?problem.details,
                "the edited config was not applied; the running system is unchanged");
            return;
        }
    };
    if candidate.change.is_empty() && candidate.keys.is_empty() {
        tracing::info!(file = %file.display(), "config file changed; nothing to apply");
        live.commit(candidate, Vec::new());
        return;
    }
    let (tx, rx) = channel();
    let change = Box::new(candidate.change.clone());
    let reply = Reply::new(move |answer| {
        let _ = tx.send(answer);
    });
    if commands.send(Command::Apply { change, reply }).is_err() {
        return;
    }
    match rx.recv() {
        Ok(Ok(applied)) => {
            tracing::info!(file = %file.display(), "config file applied");
            live.commit(candidate, applied.iter().map(ToString::to_string).collect());
        }
        Ok(Err(errors)) => {
            let details: Vec<String> = errors.iter().map(ToString::to_string).collect();
            tracing::error!(file = %file.display(), ?details, "the edited config was refused; the running system is unchanged");
        }
        Err(_) => {}
    }
}
