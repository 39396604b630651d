//! `--grid KEY=SPEC`: the parameter values a sweep tries, and their Cartesian product.
//!
//! A SPEC is a range `FROM..TO` (step 1) or `FROM..TO:STEP`, both ends included, in integers or
//! decimals (computed exactly, in the decimals given: `0.1..0.3:0.1` is 0.1, 0.2, 0.3, never
//! 0.30000000000000004), or a list `A,B,C` of values as `--set` reads them (numbers, `true`,
//! strings). The product runs the first key slowest, so results come in the order a reader expects
//! from nested loops.

use std::fmt;

/// At most this many runs in one sweep: a typo in a step should not queue a billion runs.
pub(crate) const MAX_RUNS: usize = 1_000_000;

/// One swept key and the values it takes, each as `--set` text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Axis {
    /// The config key, e.g. `strategies.trend.params.fast`.
    pub key: String,
    /// Its values, in order, as the text after `KEY=` in `--set`.
    pub values: Vec<String>,
}

/// Why a `--grid` argument was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct GridError {
    /// The argument as given.
    pub given: String,
    /// What was wrong and what was expected.
    pub message: String,
}

impl fmt::Display for GridError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "--grid {}: {}", self.given, self.message)
    }
}

/// Config sections a sweep cannot vary: the data is read once, and trust is settled before it.
const FIXED_SECTIONS: [&str; 3] = ["feed", "instruments", "security"];

impl Axis {
    /// Parses `KEY=SPEC`.
    ///
    /// # Errors
    /// A missing `=`, an empty key, a key under `feed`, `instruments` or `security`, or a SPEC
    /// that is neither a list nor a range with a positive step.
    pub(crate) fn parse(given: &str) -> Result<Axis, GridError> {
        let bad = |message: String| GridError { given: given.to_owned(), message };
        let Some((key, spec)) = given.split_once('=') else {
            return Err(bad("expected KEY=SPEC, e.g. strategies.trend.params.fast=5..50:5".to_owned()));
        };
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(bad("expected a dotted config key before `=`".to_owned()));
        }
        if let Some(section) = FIXED_SECTIONS.iter().find(|s| key.split('.').next() == Some(**s)) {
            return Err(bad(format!(
                "[{section}] cannot vary within a sweep (the data is read once, and plugins are approved before it); run one sweep per setting"
            )));
        }
        let values = if spec.contains("..") { range(spec).map_err(bad)? } else { list(spec).map_err(bad)? };
        Ok(Axis { key: key.to_owned(), values })
    }

    /// The `--set` text of value `at`.
    #[must_use]
    pub(crate) fn set(&self, at: usize) -> String {
        format!("{}={}", self.key, self.values[at])
    }

    /// The key's last part (`fast` for `strategies.trend.params.fast`), as a column name.
    #[must_use]
    pub(crate) fn column(&self) -> &str {
        self.key.rsplit('.').next().unwrap_or(&self.key)
    }
}

/// `A,B,C`: each value as `--set` reads it.
fn list(spec: &str) -> Result<Vec<String>, String> {
    let values: Vec<String> = spec.split(',').map(|v| v.trim().to_owned()).collect();
    if values.iter().any(String::is_empty) {
        return Err(format!("empty value in the list {spec:?}; expected values separated by commas"));
    }
    Ok(values)
}

/// A decimal as an integer count of `10^-places`.
fn decimal(text: &str) -> Result<(i128, u32), String> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = format!("{whole}{fraction}");
    let places = u32::try_from(fraction.len()).map_err(|_| format!("{text:?} has too many decimals"))?;
    if places > 12 || whole.trim_start_matches('-').is_empty() && fraction.is_empty() {
        return Err(format!("{text:?} is not a number with at most 12 decimals"));
    }
    let value = digits.parse::<i128>().map_err(|_| format!("{text:?} is not a number"))?;
    Ok((value, places))
}

/// `FROM..TO` or `FROM..TO:STEP`, both ends included.
fn range(spec: &str) -> Result<Vec<String>, String> {
    let (bounds, step) = spec.split_once(':').unwrap_or((spec, "1"));
    let (from, to) = bounds.split_once("..").ok_or_else(|| format!("{spec:?}: expected FROM..TO[:STEP]"))?;
    let parts = [decimal(from)?, decimal(to)?, decimal(step)?];
    let places = parts.iter().map(|(_, places)| *places).max().unwrap_or(0);
    let [from, to, step] = parts.map(|(value, p)| value * 10_i128.pow(places - p));
    if step <= 0 {
        return Err(format!("{spec:?}: the step must be positive"));
    }
    if to < from {
        return Err(format!("{spec:?}: TO is below FROM"));
    }
    let count = (to - from) / step + 1;
    if count > MAX_RUNS as i128 {
        return Err(format!("{spec:?} gives {count} values; at most {MAX_RUNS} runs are allowed"));
    }
    Ok((0..count).map(|i| render(from + i * step, places)).collect())
}

/// `value × 10^-places` as decimal text.
fn render(value: i128, places: u32) -> String {
    if places == 0 {
        return value.to_string();
    }
    let scale = 10_i128.pow(places);
    let sign = if value < 0 { "-" } else { "" };
    let (whole, fraction) = (value.abs() / scale, value.abs() % scale);
    format!("{sign}{whole}.{fraction:0width$}", width = places as usize)
}

/// The runs of a grid: every combination of the axes' values, the first axis slowest.
#[derive(Clone, Debug)]
pub(crate) struct Grid {
    axes: Vec<Axis>,
    runs: usize,
}

impl Grid {
    /// The product of `axes`.
    ///
    /// # Errors
    /// No axis, the same key twice, or more than [`MAX_RUNS`] runs.
    pub(crate) fn new(axes: Vec<Axis>) -> Result<Grid, String> {
        if axes.is_empty() {
            return Err(
                "no --grid given; expected at least one, e.g. --grid strategies.trend.params.fast=5..50:5".to_owned()
            );
        }
        for (at, axis) in axes.iter().enumerate() {
            if axes[..at].iter().any(|a| a.key == axis.key) {
                return Err(format!("--grid {} is given twice; give each key once, with all its values", axis.key));
            }
        }
        let runs = axes.iter().try_fold(1_usize, |runs, axis| runs.checked_mul(axis.values.len()));
        match runs {
            Some(runs) if runs <= MAX_RUNS => Ok(Grid { axes, runs }),
            _ => Err(format!("the grid has more than {MAX_RUNS} runs; narrow a range or raise its step")),
        }
    }

    /// The axes, in the order given.
    #[must_use]
    pub(crate) fn axes(&self) -> &[Axis] {
        &self.axes
    }

    /// How many runs.
    #[must_use]
    pub(crate) fn runs(&self) -> usize {
        self.runs
    }

    /// Run `run`'s index into each axis's values.
    #[must_use]
    pub(crate) fn point(&self, mut run: usize) -> Vec<usize> {
        let mut point = vec![0; self.axes.len()];
        for (slot, axis) in point.iter_mut().zip(&self.axes).rev() {
            *slot = run % axis.values.len();
            run /= axis.values.len();
        }
        point
    }

    /// Run `run`'s `--set` texts.
    #[must_use]
    pub(crate) fn sets(&self, run: usize) -> Vec<String> {
        self.point(run).iter().zip(&self.axes).map(|(&at, axis)| axis.set(at)).collect()
    }

    /// Run `run`'s values, one per axis.
    #[must_use]
    pub(crate) fn values(&self, run: usize) -> Vec<&str> {
        self.point(run).iter().zip(&self.axes).map(|(&at, axis)| axis.values[at].as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(given: &str) -> Vec<String> {
        Axis::parse(given).unwrap().values
    }

    #[test]
    fn ranges_include_both_ends_and_decimals_stay_exact() {
        assert_eq!(values("a.fast=5..20:5"), ["5", "10", "15", "20"]);
        assert_eq!(values("a.fast=1..3"), ["1", "2", "3"]);
        assert_eq!(values("a.x=0.1..0.3:0.1"), ["0.1", "0.2", "0.3"]);
        assert_eq!(values("a.x=1..2:0.25"), ["1.00", "1.25", "1.50", "1.75", "2.00"]);
        assert_eq!(values("a.x=-2..2:2"), ["-2", "0", "2"]);
        assert_eq!(values("a.x=5..12:5"), ["5", "10"], "the last step that fits");
    }

    #[test]
    fn lists_keep_their_values_as_set_reads_them() {
        assert_eq!(values("a.kind=\"ema\",\"sma\""), ["\"ema\"", "\"sma\""]);
        assert_eq!(values("a.on=true, false"), ["true", "false"]);
        assert_eq!(Axis::parse("strategies.t.params.fast=7").unwrap().set(0), "strategies.t.params.fast=7");
    }

    #[test]
    fn bad_specs_say_what_was_expected() {
        let message = |given: &str| Axis::parse(given).unwrap_err().to_string();
        assert!(message("fast").contains("expected KEY=SPEC"), "{}", message("fast"));
        assert!(message("a.x=5..1").contains("TO is below FROM"));
        assert!(message("a.x=1..5:0").contains("step must be positive"));
        assert!(message("a.x=1..5:-1").contains("step must be positive"));
        assert!(message("a.x=1..x").contains("not a number"));
        assert!(message("a.x=1,,2").contains("empty value"));
        assert!(message("feed.params.path=a,b").contains("[feed] cannot vary"));
        assert!(message("instruments.T.tick=0.1,0.2").contains("[instruments] cannot vary"));
        assert!(message("a.x=1..2000000").contains("at most 1000000 runs"));
    }

    #[test]
    fn the_product_runs_the_first_axis_slowest() {
        let grid =
            Grid::new(vec![Axis::parse("s.fast=1..2").unwrap(), Axis::parse("s.slow=10,20,30").unwrap()]).unwrap();
        assert_eq!(grid.runs(), 6);
        let all: Vec<Vec<&str>> = (0..6).map(|run| grid.values(run)).collect();
        assert_eq!(all, [["1", "10"], ["1", "20"], ["1", "30"], ["2", "10"], ["2", "20"], ["2", "30"]]);
        assert_eq!(grid.sets(4), ["s.fast=2", "s.slow=20"]);
        assert_eq!(grid.axes()[1].column(), "slow");
    }

    #[test]
    fn a_grid_needs_an_axis_each_key_once_and_a_bounded_product() {
        assert!(Grid::new(Vec::new()).unwrap_err().contains("no --grid"));
        let twice = vec![Axis::parse("s.a=1,2").unwrap(), Axis::parse("s.a=3").unwrap()];
        assert!(Grid::new(twice).unwrap_err().contains("given twice"));
        let huge = vec![Axis::parse("s.a=1..1000").unwrap(), Axis::parse("s.b=1..1001").unwrap()];
        assert!(Grid::new(huge).unwrap_err().contains("more than 1000000 runs"));
    }
}
