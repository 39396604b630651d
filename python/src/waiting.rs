//! Running work on a thread of its own while the calling Python thread waits without the GIL and
//! checks for Ctrl-C every 50 ms: a `KeyboardInterrupt` asks the work to stop (between two events,
//! or after the runs in flight), and is raised once it has.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use pyo3::prelude::*;
use tradsys::failure::Signal;
use tradsys::signals::StopRequest;

/// How often the waiting thread looks for a signal.
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// Runs `work(stop)` on a scoped thread; returns its result, or the `KeyboardInterrupt` if one
/// arrived meanwhile (after the work stopped).
///
/// # Errors
/// Ctrl-C during the work, or a panic in it (`RunError`).
pub(crate) fn run_interruptibly<R: Send>(py: Python<'_>, work: impl FnOnce(&StopRequest) -> R + Send) -> PyResult<R> {
    let stop = StopRequest::default();
    let done = (Mutex::new(false), Condvar::new());
    let mut interrupt = None;
    let result = std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            let result = work(&stop);
            *done.0.lock().unwrap_or_else(PoisonError::into_inner) = true;
            done.1.notify_all();
            result
        });
        loop {
            let finished = py.detach(|| {
                let guard = done.0.lock().unwrap_or_else(PoisonError::into_inner);
                let (guard, _) = done
                    .1
                    .wait_timeout_while(guard, SIGNAL_CHECK, |done| !*done)
                    .unwrap_or_else(PoisonError::into_inner);
                *guard
            });
            if finished || worker.is_finished() {
                break;
            }
            if interrupt.is_none()
                && let Err(error) = py.check_signals()
            {
                stop.request(Signal::Interrupt);
                interrupt = Some(error);
            }
        }
        py.detach(|| worker.join())
    });
    if let Some(interrupt) = interrupt {
        return Err(interrupt);
    }
    result.map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
            .unwrap_or_else(|| "a panic".to_owned());
        crate::errors::RunError::new_err(format!("internal error: {message}"))
    })
}
