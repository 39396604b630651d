//! The one boundary every call into plugin code passes: [`contain`].
//!
//! It knows which component is called ([`ComponentId`]) and for what ([`Call`]), contains a panic
//! (turning it into a typed [`Panicked`] error that names the component), and records the call in
//! the component's [`Meter`]: calls per callback, errors, panics, sampled latency, and the bytes the
//! component's code allocates while it runs.
//!
//! The one deliberate exception is [`MatchingAlgorithm::match_level`](crate::matching::MatchingAlgorithm),
//! which runs inside the book's matching loop on the hot path; its panics are contained one level
//! up, around the whole engine command (see ARCHITECTURE.md, "Containment").
//!
//! A contained panic is logged through `tracing` with the component named. The process's panic hook
//! is wrapped (once, on first use) so that panics inside `contain` print nothing of their own: no
//! raw "thread 'main' panicked" text reaches stderr for a panic that was contained. Panics anywhere
//! else still reach the previous hook unchanged.

use std::cell::RefCell;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;

use crate::component::ComponentId;
use crate::metrics::Meter;

/// What a plugin is called for: the label of every call count and latency figure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Call {
    /// Reading the plugin's default parameters.
    DefaultParams,
    /// Checking parameters (serde decoding into the plugin's `Params`).
    CheckParams,
    /// Building an instance.
    Build,
    /// The `init` hook.
    Init,
    /// The `start` hook.
    Start,
    /// The `stop` hook.
    Stop,
    /// The `unload` hook.
    Unload,
    /// Dropping the instance.
    Drop,
    /// `Feed::data`.
    Data,
    /// `Feed::poll_event` (whose default asks `Feed::next_event`).
    NextEvent,
    /// `Strategy::on_bar`.
    OnBar,
    /// `Strategy::on_trade`.
    OnTrade,
    /// `Strategy::on_quote`.
    OnQuote,
    /// `Strategy::on_fill`.
    OnFill,
    /// `Strategy::on_order_update`.
    OnOrderUpdate,
    /// `RiskValidator::reviews`.
    Reviews,
    /// `RiskValidator::check`.
    Check,
    /// `RiskValidator::review`.
    Review,
    /// `Indicator::output_names`.
    OutputNames,
    /// `Indicator::update` (with reading its outputs and completed bars).
    Update,
    /// One matching-engine command (the algorithm's `match_level` runs inside it).
    Execute,
    /// `reconfigure`: new parameters applied in place while the system runs.
    Reconfigure,
    /// `Strategy::snapshot`: the state a strategy hands its successor in a swap.
    Snapshot,
    /// `Strategy::take_over`: a successor receives its predecessor's state and open orders.
    TakeOver,
    /// `Feed::health`: how a live feed's source is doing.
    Health,
}

impl Call {
    /// Every call, in the order metrics list them.
    pub const ALL: [Call; 25] = [
        Call::DefaultParams,
        Call::CheckParams,
        Call::Build,
        Call::Init,
        Call::Start,
        Call::Stop,
        Call::Unload,
        Call::Drop,
        Call::Data,
        Call::NextEvent,
        Call::OnBar,
        Call::OnTrade,
        Call::OnQuote,
        Call::OnFill,
        Call::OnOrderUpdate,
        Call::Reviews,
        Call::Check,
        Call::Review,
        Call::OutputNames,
        Call::Update,
        Call::Execute,
        Call::Reconfigure,
        Call::Snapshot,
        Call::TakeOver,
        Call::Health,
    ];

    /// The number of calls ([`Call::ALL`]'s length).
    pub const COUNT: usize = Call::ALL.len();

    /// The call's name in metrics and logs (snake case, as Prometheus labels are written).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Call::DefaultParams => "default_params",
            Call::CheckParams => "check_params",
            Call::Build => "build",
            Call::Init => "init",
            Call::Start => "start",
            Call::Stop => "stop",
            Call::Unload => "unload",
            Call::Drop => "drop",
            Call::Data => "data",
            Call::NextEvent => "next_event",
            Call::OnBar => "on_bar",
            Call::OnTrade => "on_trade",
            Call::OnQuote => "on_quote",
            Call::OnFill => "on_fill",
            Call::OnOrderUpdate => "on_order_update",
            Call::Reviews => "reviews",
            Call::Check => "check",
            Call::Review => "review",
            Call::OutputNames => "output_names",
            Call::Update => "update",
            Call::Execute => "execute",
            Call::Reconfigure => "reconfigure",
            Call::Snapshot => "snapshot",
            Call::TakeOver => "take_over",
            Call::Health => "health",
        }
    }

    /// Whether the call belongs to the lifecycle (always timed; the per-event calls are sampled).
    #[must_use]
    pub const fn is_lifecycle(self) -> bool {
        matches!(
            self,
            Call::DefaultParams
                | Call::CheckParams
                | Call::Build
                | Call::Init
                | Call::Start
                | Call::Stop
                | Call::Unload
                | Call::Drop
                | Call::Reconfigure
                | Call::Snapshot
                | Call::TakeOver
        )
    }

    /// Its index in [`Call::ALL`].
    #[must_use]
    pub const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A plugin call panicked; the panic was contained.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{component} panicked in {call}: {message}")]
pub struct Panicked {
    /// The component whose code panicked.
    pub component: ComponentId,
    /// What it was called for.
    pub call: Call,
    /// The panic's message, with its source location when known.
    pub message: String,
}

/// A fallible plugin call failed: the component refused (its own error), or it panicked.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CallError<E> {
    /// The component returned an error.
    #[error("{0}")]
    Refused(E),
    /// The component panicked.
    #[error(transparent)]
    Panicked(Panicked),
}

thread_local! {
    /// Where the last contained panic happened, left by the hook for `contain` to report.
    static LAST_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Wraps the process's panic hook (once): quiet inside [`contain`], unchanged elsewhere. Every
/// [`Meter`] installs it when it is made, so no call through the boundary pays for the check.
pub(crate) fn install_quiet_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if crate::metrics::memory::inside_contained_call() {
                let location = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
                LAST_LOCATION.with(|last| *last.borrow_mut() = location);
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs one call into plugin code for `component`: contains a panic and records the call in `meter`.
///
/// Every call into plugin code passes here (ARCHITECTURE.md names the one exception). With the meter
/// enabled it counts the call, samples its latency and attributes the bytes the call allocates to
/// the component; with it disabled only panics are counted.
///
/// # Errors
/// The call panicked: the panic is logged (naming the component) and returned as [`Panicked`].
#[inline]
pub fn contain<R>(
    component: &ComponentId,
    meter: &mut Meter,
    call: Call,
    body: impl FnOnce() -> R,
) -> Result<R, Panicked> {
    // One thread-local swap marks the call as contained (for the panic hook) and points the
    // allocator's counts at the component.
    let previous = crate::metrics::memory::enter(meter.account());
    let started = meter.enter(call);
    // AssertUnwindSafe: after a panic the component is marked failed and is not called again until
    // it is replaced by a fresh instance, so no caller observes the state the panic left behind.
    let result = catch_unwind(AssertUnwindSafe(body));
    crate::metrics::memory::leave(previous);
    meter.exit(started, result.is_err());
    result.map_err(|payload| {
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panicked with a non-text payload".to_owned());
        let message = match LAST_LOCATION.with(|last| last.borrow_mut().take()) {
            Some(location) => format!("{text} (at {location})"),
            None => text,
        };
        tracing::error!(component = %component, call = call.as_str(), %message, "contained a panic");
        Panicked { component: component.clone(), call, message }
    })
}

/// [`contain`] for a call that returns `Result`: a refusal is counted as the component's error.
///
/// # Errors
/// The component refused ([`CallError::Refused`]) or panicked ([`CallError::Panicked`]).
#[inline]
pub fn contain_fallible<T, E>(
    component: &ComponentId,
    meter: &mut Meter,
    call: Call,
    body: impl FnOnce() -> Result<T, E>,
) -> Result<T, CallError<E>> {
    match contain(component, meter, call, body) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => {
            meter.count_error();
            Err(CallError::Refused(error))
        }
        Err(panicked) => Err(CallError::Panicked(panicked)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::Kind;

    fn id() -> ComponentId {
        ComponentId::new(Kind::Strategy, "s")
    }

    #[test]
    fn panics_become_typed_errors_naming_component_and_call() {
        let mut meter = Meter::new(true);
        assert_eq!(contain(&id(), &mut meter, Call::OnBar, || 5), Ok(5));
        let error = contain(&id(), &mut meter, Call::OnFill, || -> i32 { panic!("boom {}", 1) }).unwrap_err();
        assert_eq!(error.component, id());
        assert_eq!(error.call, Call::OnFill);
        assert!(error.message.starts_with("boom 1 (at core/src/boundary.rs:"), "{}", error.message);
        assert_eq!(error.to_string().split(':').next(), Some("strategy s panicked in on_fill"));
        let snapshot = meter.snapshot();
        assert_eq!(snapshot.calls_of(Call::OnBar), 1);
        assert_eq!(snapshot.calls_of(Call::OnFill), 1);
        assert_eq!(snapshot.panics, 1);
        assert_eq!(snapshot.errors, 0);
    }

    #[test]
    fn refusals_count_as_errors_panics_do_not() {
        let mut meter = Meter::new(true);
        let refused = contain_fallible(&id(), &mut meter, Call::Init, || Err::<(), _>("no"));
        assert_eq!(refused, Err(CallError::Refused("no")));
        assert!(matches!(
            contain_fallible(&id(), &mut meter, Call::Start, || -> Result<(), &str> { panic!("x") }),
            Err(CallError::Panicked(_))
        ));
        let snapshot = meter.snapshot();
        assert_eq!((snapshot.errors, snapshot.panics), (1, 1));
    }

    #[test]
    fn a_disabled_meter_still_counts_panics_but_no_calls() {
        let mut meter = Meter::new(false);
        let _ = contain(&id(), &mut meter, Call::OnBar, || ());
        let _ = contain(&id(), &mut meter, Call::OnBar, || panic!("x"));
        let snapshot = meter.snapshot();
        assert_eq!(snapshot.calls_of(Call::OnBar), 0);
        assert_eq!(snapshot.panics, 1);
    }

    #[test]
    fn call_indices_follow_the_list() {
        for (at, call) in Call::ALL.iter().enumerate() {
            assert_eq!(call.index(), at, "{call}");
        }
    }
}
