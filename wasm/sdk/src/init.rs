//! What a component may do in `init`: resolve instruments, ask for indicators.

/// A handle to an indicator the host keeps up to date for this component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndicatorHandle(pub(crate) i32);

/// The id of `symbol` (declared with default tick and lot if new), or of the session's primary
/// instrument when `symbol` is empty. `None` for a symbol the host refuses, or outside `init`.
#[must_use]
pub fn instrument(symbol: &str) -> Option<u32> {
    // SAFETY: the pointer and length describe `symbol`, valid for the call; the host only reads it.
    let id = unsafe { crate::ffi::instrument(symbol.as_ptr(), symbol.len()) };
    u32::try_from(id).ok()
}

/// Indicator `name` with `params` (TOML, e.g. `period = 10`) on `instrument`, built (or shared)
/// by the host. Needs the `indicators` capability.
///
/// # Errors
/// The host refused it (unknown indicator, bad parameters); the message says why.
pub fn indicator(name: &str, params: &str, instrument: u32) -> Result<IndicatorHandle, String> {
    let instrument = i32::try_from(instrument).map_err(|_| format!("instrument id {instrument} out of range"))?;
    // SAFETY: both pointer and length pairs describe live strings for the call; the host only reads them.
    let handle =
        unsafe { crate::ffi::request_indicator(name.as_ptr(), name.len(), params.as_ptr(), params.len(), instrument) };
    if handle < 0 {
        return Err(format!("the host refused indicator {name} with {params}"));
    }
    Ok(IndicatorHandle(handle))
}
