//! The call budget: a callback still running past its budget is interrupted with `TimeoutError`,
//! raised in the strategy's thread by one watchdog thread per process.
//!
//! Python checks for such an exception between bytecodes, so a loop or a long computation in
//! Python is interrupted within the interpreter's switch interval (5 ms) after the deadline; a
//! call blocked in C code (`time.sleep`, a socket read) is interrupted when it returns to Python.

use std::ffi::c_long;
use std::sync::{Condvar, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

/// The callbacks running now, with their deadlines.
#[derive(Debug, Default)]
struct Armed {
    calls: Vec<Call>,
    next_id: u64,
    /// When the watchdog wakes next by itself: the deadline it sleeps until, or the time it last
    /// looked while it interrupts (it looks again before it sleeps); `None` while it waits for a
    /// call with no deadline to wake it. A call armed with a later deadline need not wake it, so
    /// a strategy's callbacks, one after another, do not pay a wake-up each.
    wakes_at: Option<Instant>,
}

#[derive(Debug)]
struct Call {
    id: u64,
    /// Python's id of the thread running it (`threading.get_ident()`).
    thread: c_long,
    deadline: Instant,
    fired: bool,
}

#[derive(Debug)]
struct Watchdog {
    armed: Mutex<Armed>,
    changed: Condvar,
}

static WATCHDOG: OnceLock<Watchdog> = OnceLock::new();

fn watchdog() -> &'static Watchdog {
    WATCHDOG.get_or_init(|| {
        std::thread::Builder::new()
            .name("tradsys-python-budget".to_owned())
            .spawn(watch)
            .expect("the budget watchdog thread starts");
        Watchdog { armed: Mutex::new(Armed::default()), changed: Condvar::new() }
    })
}

/// The watchdog's loop: sleeps until the earliest deadline, then interrupts what is past it.
fn watch() {
    let dog = watchdog();
    let mut armed = dog.armed.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        let now = Instant::now();
        let earliest = armed.calls.iter().filter(|call| !call.fired).map(|call| call.deadline).min();
        match earliest {
            None => {
                armed.wakes_at = None;
                armed = dog.changed.wait(armed).unwrap_or_else(PoisonError::into_inner);
            }
            Some(deadline) if deadline > now => {
                armed.wakes_at = Some(deadline);
                armed = dog.changed.wait_timeout(armed, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
            }
            Some(_) => {
                armed.wakes_at = Some(now);
                let late: Vec<(u64, c_long)> = armed
                    .calls
                    .iter()
                    .filter(|call| !call.fired && call.deadline <= now)
                    .map(|call| (call.id, call.thread))
                    .collect();
                drop(armed);
                // The GIL first, then the list again: a call that ended meanwhile is not touched
                // (it disarms holding the GIL, so it cannot end between the check and the raise).
                Python::attach(|py| {
                    let mut armed = dog.armed.lock().unwrap_or_else(PoisonError::into_inner);
                    for (id, thread) in late {
                        if let Some(call) = armed.calls.iter_mut().find(|call| call.id == id) {
                            raise_in(py, thread, true);
                            call.fired = true;
                        }
                    }
                });
                armed = dog.armed.lock().unwrap_or_else(PoisonError::into_inner);
            }
        }
    }
}

/// Raises `TimeoutError` in `thread` at its next bytecode (`raise`), or withdraws one not raised
/// yet (`!raise`).
#[allow(unsafe_code)]
fn raise_in(py: Python<'_>, thread: c_long, raise: bool) {
    let exception = if raise {
        py.get_type::<pyo3::exceptions::PyTimeoutError>().into_any().as_ptr()
    } else {
        std::ptr::null_mut()
    };
    // SAFETY: called with the GIL held (`py`), as the C API requires; the exception type object is
    // alive for the call (a builtin type, borrowed from `py`), and NULL is the documented way to
    // clear a pending exception. An id of a thread that has ended affects nothing (returns 0).
    unsafe {
        pyo3::ffi::PyThreadState_SetAsyncExc(thread, exception);
    }
}

/// A callback's budget, armed while it lives.
#[derive(Debug)]
pub(crate) struct Running {
    id: u64,
    thread: c_long,
}

/// Python's id of the current thread.
fn thread_ident(py: Python<'_>) -> PyResult<c_long> {
    thread_local! {
        static IDENT: std::cell::Cell<Option<c_long>> = const { std::cell::Cell::new(None) };
    }
    if let Some(ident) = IDENT.get() {
        return Ok(ident);
    }
    let ident: c_long = py.import("threading")?.call_method0("get_ident")?.extract()?;
    IDENT.set(Some(ident));
    Ok(ident)
}

/// Arms a budget of `budget` for the callback about to run on this thread.
pub(crate) fn arm(py: Python<'_>, budget: Duration) -> PyResult<Running> {
    let thread = thread_ident(py)?;
    let dog = watchdog();
    let mut armed = dog.armed.lock().unwrap_or_else(PoisonError::into_inner);
    armed.next_id += 1;
    let id = armed.next_id;
    let deadline = Instant::now() + budget;
    armed.calls.push(Call { id, thread, deadline, fired: false });
    let wake = armed.wakes_at.is_none_or(|wakes_at| deadline < wakes_at);
    drop(armed);
    if wake {
        dog.changed.notify_one();
    }
    Ok(Running { id, thread })
}

impl Running {
    /// Disarms the budget (with the GIL held); whether it fired, in which case an interruption
    /// still pending is withdrawn, so it cannot reach the next callback on this thread.
    pub(crate) fn disarm(self, py: Python<'_>) -> bool {
        let dog = watchdog();
        let mut armed = dog.armed.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(at) = armed.calls.iter().position(|call| call.id == self.id) else { return false };
        let call = armed.calls.swap_remove(at);
        drop(armed);
        if call.fired {
            raise_in(py, self.thread, false);
        }
        call.fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a loop that never ends by itself, under whatever budget is armed; how long it ran
    /// and the exception that ended it.
    fn endless(py: Python<'_>) -> (Duration, PyErr) {
        let started = Instant::now();
        let error = py.run(c"while True:\n    pass\n", None, None).expect_err("only an interruption ends it");
        (started.elapsed(), error)
    }

    #[test]
    fn a_short_budget_armed_while_the_watchdog_sleeps_until_a_longer_one_fires_on_time() {
        crate::interpreter::ensure_started();
        Python::attach(|py| {
            // Many calls one after another, each disarmed in time: none of them fires, and the
            // watchdog is left sleeping until the first one's deadline, two minutes away.
            for _ in 0..1_000 {
                assert!(!arm(py, Duration::from_secs(120)).unwrap().disarm(py));
            }
            // Earlier than that: it must wake the watchdog, which then sleeps until this one.
            let long = arm(py, Duration::from_secs(60)).unwrap();
            std::thread::sleep(Duration::from_millis(50));
            // Earlier again: it must wake it too, or the loop below runs for a minute.
            let short = arm(py, Duration::from_millis(100)).unwrap();
            let (ran, error) = endless(py);
            assert!(error.is_instance_of::<pyo3::exceptions::PyTimeoutError>(py), "{error}");
            assert!(ran < Duration::from_secs(20), "interrupted after {ran:?}, not at the short deadline");
            assert!(short.disarm(py), "the short budget fired");
            assert!(!long.disarm(py), "the long budget did not");
        });
    }
}
