//! SIGINT and SIGTERM during `run`: the first one stops the session between two events (every
//! output is then written for what was processed, and the command exits 130 or 143); a second one
//! exits at once, leaving the outputs' previous contents (unfinished outputs are only temporary
//! files, which are left behind).
//!
//! `serve` handles its signals on its own runtime (`serve::shutdown_signal`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use crate::failure::Signal;

/// Set by the first signal; read by the session at every safe point.
#[derive(Debug, Default)]
pub struct StopRequest {
    stop: AtomicBool,
    signal: AtomicU8,
}

impl StopRequest {
    /// The flag the session checks between events.
    #[must_use]
    pub fn flag(&self) -> &AtomicBool {
        &self.stop
    }

    /// The signal that asked the run to stop, if one did.
    #[must_use]
    pub fn signal(&self) -> Option<Signal> {
        match self.signal.load(Ordering::Acquire) {
            1 => Some(Signal::Interrupt),
            2 => Some(Signal::Terminate),
            _ => None,
        }
    }

    /// Asks the command to stop as `signal` would: for a front end that catches the signal
    /// itself (the Python package, where the interpreter owns SIGINT).
    pub fn request(&self, signal: Signal) {
        self.signal.store(if signal == Signal::Interrupt { 1 } else { 2 }, Ordering::Release);
        self.stop.store(true, Ordering::Release);
    }
}

/// Listens for SIGINT and SIGTERM on a thread of its own for the rest of the process (installed
/// once; later calls share it).
///
/// # Errors
/// The signal handlers cannot be installed.
pub fn listen() -> std::io::Result<Arc<StopRequest>> {
    static LISTENING: std::sync::Mutex<Option<Arc<StopRequest>>> = std::sync::Mutex::new(None);
    let mut listening = LISTENING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(request) = listening.as_ref() {
        return Ok(request.clone());
    }
    let request = install()?;
    *listening = Some(request.clone());
    Ok(request)
}

fn install() -> std::io::Result<Arc<StopRequest>> {
    let request = Arc::new(StopRequest::default());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
    // Installed here, before the session starts, so that no signal arrives unhandled.
    let mut terminate =
        runtime.block_on(async { tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) })?;
    let mut interrupt =
        runtime.block_on(async { tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) })?;
    let shared = request.clone();
    std::thread::Builder::new().name("signals".to_owned()).spawn(move || {
        runtime.block_on(async move {
            let mut first = true;
            loop {
                let signal = tokio::select! {
                    _ = interrupt.recv() => Signal::Interrupt,
                    _ = terminate.recv() => Signal::Terminate,
                };
                if !first {
                    std::process::exit(i32::from(signal.exit_code()));
                }
                first = false;
                tracing::warn!(
                    "{}: stopping at the next event and writing the outputs (again to exit at once)",
                    signal.name()
                );
                shared.request(signal);
            }
        });
    })?;
    Ok(request)
}
