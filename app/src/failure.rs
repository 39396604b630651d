//! How commands fail, and the exit code each failure maps to.
//!
//! Exit codes: 0 success, 2 bad input (config, files, arguments), 1 internal error, 130 and 143 a
//! run stopped by SIGINT or SIGTERM (128 + the signal's number, as shells report it).

use std::fmt;
use std::process::ExitCode;

/// A failed command: bad input (exit 2) or an internal error (exit 1).
#[derive(Debug)]
pub enum Failure {
    /// The user's input is wrong; the message says where and what was expected.
    BadInput(anyhow::Error),
    /// Something inside tradsys went wrong.
    Internal(anyhow::Error),
    /// A signal stopped the command; what it had done is written.
    Interrupted(Signal),
    /// A signal stopped the command before its end, and its outputs were left unwritten (a sweep:
    /// a file of half the runs would look like a whole one).
    Cancelled(Signal),
}

/// A signal that stops a command between two events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Signal {
    /// The signal's name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    /// The exit code a process stopped by it reports: 128 + its number.
    #[must_use]
    pub const fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }
}

impl Failure {
    /// The process exit code.
    #[must_use]
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Failure::BadInput(_) => ExitCode::from(2),
            Failure::Internal(_) => ExitCode::from(1),
            Failure::Interrupted(signal) | Failure::Cancelled(signal) => ExitCode::from(signal.exit_code()),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::BadInput(error) | Failure::Internal(error) => write!(f, "{error:#}"),
            Failure::Interrupted(signal) => write!(
                f,
                "stopped by {}: every output was written for the events processed, the report marked incomplete",
                signal.name()
            ),
            Failure::Cancelled(signal) => {
                write!(f, "stopped by {} before the end: no output was written", signal.name())
            }
        }
    }
}

/// Marks errors as bad input.
pub trait BadInput<T> {
    /// Turns the error into [`Failure::BadInput`].
    ///
    /// # Errors
    /// When `self` is an error.
    fn bad_input(self) -> Result<T, Failure>;
}

impl<T, E: Into<anyhow::Error>> BadInput<T> for Result<T, E> {
    fn bad_input(self) -> Result<T, Failure> {
        self.map_err(|error| Failure::BadInput(error.into()))
    }
}

/// Marks errors as internal.
pub trait Internal<T> {
    /// Turns the error into [`Failure::Internal`].
    ///
    /// # Errors
    /// When `self` is an error.
    fn internal(self) -> Result<T, Failure>;
}

impl<T, E: Into<anyhow::Error>> Internal<T> for Result<T, E> {
    fn internal(self) -> Result<T, Failure> {
        self.map_err(|error| Failure::Internal(error.into()))
    }
}
