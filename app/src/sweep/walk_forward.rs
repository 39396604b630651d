//! `--walk-forward TRAIN,TEST`: rolling in-sample / out-of-sample windows.
//!
//! The data's time range is cut into windows that roll forward by TEST: window k trains on
//! `[start + k·TEST, start + k·TEST + TRAIN)` and tests on the TEST that follows. The sweep picks
//! the best parameters of each training window (by `--sort-by`) and runs them on its test window
//! only, so every reported figure is out of sample. A test window cut short by the end of the
//! data is kept if it holds any data.

use tradsys_core::types::Timestamp;

const NANOS_PER_HOUR: i64 = 3_600_000_000_000;

/// Window lengths, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WalkForward {
    /// The training (in-sample) length.
    pub train: i64,
    /// The test (out-of-sample) length, and the step between windows.
    pub test: i64,
}

/// One window's time ranges, each `[from, to)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    /// The training range.
    pub train: (Timestamp, Timestamp),
    /// The test range.
    pub test: (Timestamp, Timestamp),
}

/// A length such as `90d`: hours (`h`), days (`d`), weeks (`w`) or years of 365 days (`y`).
fn length(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let unit_at = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (count, unit) = text.split_at(unit_at);
    let hours = match unit {
        "h" => 1,
        "d" => 24,
        "w" => 7 * 24,
        "y" => 365 * 24,
        _ => return Err(format!("{text:?}: expected a whole number and a unit: h, d, w or y (e.g. 365d)")),
    };
    let count: i64 = count.parse().map_err(|_| format!("{text:?}: expected a whole number before the unit"))?;
    if count <= 0 {
        return Err(format!("{text:?}: the length must be positive"));
    }
    count.checked_mul(hours * NANOS_PER_HOUR).ok_or_else(|| format!("{text:?} is too long"))
}

impl WalkForward {
    /// Parses `TRAIN,TEST`, e.g. `365d,90d`.
    ///
    /// # Errors
    /// Not two lengths, or a length that is not a positive count of h, d, w or y.
    pub(crate) fn parse(text: &str) -> Result<WalkForward, String> {
        let bad = |message: String| format!("--walk-forward {text}: {message}");
        let Some((train, test)) = text.split_once(',') else {
            return Err(bad("expected TRAIN,TEST, e.g. 365d,90d".to_owned()));
        };
        Ok(WalkForward { train: length(train).map_err(bad)?, test: length(test).map_err(bad)? })
    }

    /// The windows over data from `first` to `last` (both event times, included).
    #[must_use]
    pub(crate) fn windows(&self, first: Timestamp, last: Timestamp) -> Vec<Window> {
        let mut windows = Vec::new();
        let mut start = first.0;
        loop {
            let train_end = start.saturating_add(self.train);
            if train_end > last.0 {
                break;
            }
            let test_end = train_end.saturating_add(self.test);
            windows.push(Window {
                train: (Timestamp(start), Timestamp(train_end)),
                test: (Timestamp(train_end), Timestamp(test_end)),
            });
            start = start.saturating_add(self.test);
        }
        windows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 24 * NANOS_PER_HOUR;

    #[test]
    fn lengths_take_a_unit() {
        assert_eq!(WalkForward::parse("2d,1d"), Ok(WalkForward { train: 2 * DAY, test: DAY }));
        assert_eq!(WalkForward::parse("1y,4w").unwrap().train, 365 * DAY);
        assert_eq!(WalkForward::parse("12h,6h").unwrap().test, DAY / 4);
        for bad in ["2d", "2x,1d", "0d,1d", "d,1d", "2d,-1d"] {
            assert!(WalkForward::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_roll_by_the_test_length_and_stop_when_training_runs_past_the_data() {
        let spec = WalkForward { train: 4 * DAY, test: 2 * DAY };
        let windows = spec.windows(Timestamp(0), Timestamp(9 * DAY));
        let starts: Vec<(i64, i64)> = windows.iter().map(|w| (w.train.0.0 / DAY, w.test.0.0 / DAY)).collect();
        assert_eq!(starts, [(0, 4), (2, 6), (4, 8)]);
        assert_eq!(windows[2].test, (Timestamp(8 * DAY), Timestamp(10 * DAY)), "the last test window may run past");
        assert!(spec.windows(Timestamp(0), Timestamp(3 * DAY)).is_empty(), "less data than one training window");
    }
}
