//! Indicators (market-data processors): incremental values derived from market data.

use crate::market::{Bar, MarketEvent};

/// A handle on an indicator a component asked for at init; read its value through the component's context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IndicatorHandle(pub u32);

/// An incremental market-data processor: O(1) work per update, values readable after each update.
///
/// The session routes each event of the indicator's instrument to [`update`](Self::update); an indicator
/// ignores event kinds it does not use. Outputs are `None` until warmed up.
pub trait Indicator: Send {
    super::lifecycle_hooks!();

    /// Takes one market event.
    fn update(&mut self, event: &MarketEvent);

    /// The names of the outputs, e.g. `["line", "signal", "histogram"]`; the first is the primary one.
    fn output_names(&self) -> &'static [&'static str] {
        &["value"]
    }

    /// Output `index` (in [`output_names`](Self::output_names) order), or `None` while warming up.
    fn output(&self, index: usize) -> Option<f64>;

    /// A bar this processor completed since the last call (bar aggregators only).
    fn take_bar(&mut self) -> Option<Bar> {
        None
    }
}
