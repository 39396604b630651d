//! The one boundary every plugin call passes: panics are contained here and turned into errors.
//!
//! The factory's lifecycle calls and the session's per-event calls go through [`contain`], so a
//! panicking plugin fails alone (the session stops calling it and reports it) instead of taking the
//! process down. This is also where per-component metrics will be taken.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs a plugin call, turning a panic into `Err` with the panic's message.
///
/// # Errors
/// The call panicked.
#[inline]
pub fn contain<R>(call: impl FnOnce() -> R) -> Result<R, String> {
    // AssertUnwindSafe: after a panic the component is marked failed and never called again, so no
    // caller observes the state the panic left behind.
    catch_unwind(AssertUnwindSafe(call)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panicked with a non-text payload".to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_become_errors_with_their_message() {
        assert_eq!(contain(|| 5), Ok(5));
        assert_eq!(contain(|| -> i32 { panic!("boom {}", 1) }), Err("boom 1".to_owned()));
        assert_eq!(contain(|| -> i32 { panic!("static") }), Err("static".to_owned()));
    }
}
