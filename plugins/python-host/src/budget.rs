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
            None => armed = dog.changed.wait(armed).unwrap_or_else(PoisonError::into_inner),
            Some(deadline) if deadline > now => {
                armed = dog.changed.wait_timeout(armed, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
            }
            Some(_) => {
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
    armed.calls.push(Call { id, thread, deadline: Instant::now() + budget, fired: false });
    drop(armed);
    dog.changed.notify_one();
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
