//! Indicators (market-data processors): incremental values derived from market data.

use crate::market::{Bar, MarketEvent};

/// A handle on an indicator a component asked for at init; read its value through the component's context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IndicatorHandle(pub u32);

/// An incremental market-data processor: O(1) work per update, values readable after each update.
///
/// The session routes each event of the indicator's instrument to [`update`](Self::update); an indicator
/// ignores event kinds it does not use. Outputs are `None` until warmed up.
///
/// ```
/// use tradsys_core::prelude::*;
/// use tradsys_core::testing::bar;
///
/// /// The highest close so far.
/// #[derive(Default)]
/// struct HighestClose(Option<f64>);
///
/// impl Indicator for HighestClose {
///     fn update(&mut self, event: &MarketEvent) {
///         // Other events (trades, quotes) do not move it.
///         if let MarketEvent::Bar(bar) = event {
///             let close = bar.close.to_f64();
///             self.0 = Some(self.0.map_or(close, |high| high.max(close)));
///         }
///     }
///
///     fn output(&self, _index: usize) -> Option<f64> {
///         self.0
///     }
/// }
///
/// let mut high = HighestClose::default();
/// assert_eq!(high.output(0), None, "nothing seen yet");
/// for (minute, close) in [(0, "1.10"), (1, "1.30"), (2, "1.20")] {
///     high.update(&MarketEvent::Bar(bar(minute, close)));
/// }
/// assert_eq!(high.output(0), Some(1.3));
/// assert_eq!(high.output_names(), ["value"]);
/// ```
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
