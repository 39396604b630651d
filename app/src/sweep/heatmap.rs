//! `--heatmap FILE.svg|png`: the sort statistic over the first two swept keys (plotters).
//!
//! Each cell is one pair of values of the first two keys; when more keys were swept, the cell
//! shows the best run over the others (by the sort order), so the map answers "how good can this
//! pair be". With one key the map is a single row. Runs whose statistic is undefined leave their
//! cell grey.

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use plotters::prelude::*;

/// The embedded font, as the plot uses it.
const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// The cells of a heatmap: the best value seen for each pair of the first two axes' values.
#[derive(Clone, Debug)]
pub(crate) struct Heatmap {
    x_key: String,
    x_values: Vec<String>,
    y_key: Option<String>,
    y_values: Vec<String>,
    stat: String,
    ascending: bool,
    cells: Vec<Option<f64>>,
}

impl Heatmap {
    /// An empty map over `x` (values) and optionally `y`, of statistic `stat`.
    #[must_use]
    pub(crate) fn new(x: (&str, &[String]), y: Option<(&str, &[String])>, stat: &str, ascending: bool) -> Heatmap {
        let y_values = y.map_or_else(|| vec![String::new()], |(_, values)| values.to_vec());
        Heatmap {
            x_key: x.0.to_owned(),
            x_values: x.1.to_vec(),
            y_key: y.map(|(key, _)| key.to_owned()),
            cells: vec![None; x.1.len() * y_values.len()],
            y_values,
            stat: stat.to_owned(),
            ascending,
        }
    }

    /// Records a run at `(x, y)` (value indices) with statistic `value`; keeps the better one.
    pub(crate) fn record(&mut self, x: usize, y: usize, value: Option<f64>) {
        let Some(value) = value.filter(|v| v.is_finite()) else { return };
        let cell = &mut self.cells[y * self.x_values.len() + x];
        if cell.is_none_or(|old| super::better(value, old, self.ascending)) {
            *cell = Some(value);
        }
    }

    /// Draws the map to an SVG or PNG file, chosen by extension.
    ///
    /// # Errors
    /// Another extension, or a drawing or writing failure.
    pub(crate) fn draw(&self, path: &Path, title: &str) -> Result<()> {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .map_err(|_| anyhow!("cannot load the embedded font"))?;
        let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        let size = (1000, 800);
        match extension.as_deref() {
            Some("svg") => self.paint(SVGBackend::new(path, size).into_drawing_area(), title),
            Some("png") => self.paint(BitMapBackend::new(path, size).into_drawing_area(), title),
            _ => bail!("{}: expected a .svg or .png file", path.display()),
        }
    }

    fn paint<B: DrawingBackend>(&self, root: DrawingArea<B, plotters::coord::Shift>, title: &str) -> Result<()>
    where
        B::ErrorType: 'static,
    {
        let fail = |e: DrawingAreaErrorKind<B::ErrorType>| anyhow!("{e:?}");
        root.fill(&WHITE).map_err(fail)?;
        let caption = format!("tradsys sweep: {title}: {}", self.stat);
        let (columns, rows) = (self.x_values.len(), self.y_values.len());
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 22))
            .margin(20)
            .x_label_area_size(50)
            .y_label_area_size(80)
            .build_cartesian_2d(0..columns, 0..rows)
            .map_err(fail)?;
        let x_values = &self.x_values;
        let y_values = &self.y_values;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(&self.x_key)
            .y_desc(self.y_key.as_deref().unwrap_or(""))
            .x_labels(columns.min(20))
            .y_labels(rows.min(20))
            .x_label_formatter(&|at| x_values.get(*at).cloned().unwrap_or_default())
            .y_label_formatter(&|at| y_values.get(*at).cloned().unwrap_or_default())
            .draw()
            .map_err(fail)?;
        let defined = self.cells.iter().flatten();
        let low = defined.clone().copied().fold(f64::INFINITY, f64::min);
        let high = defined.copied().fold(f64::NEG_INFINITY, f64::max);
        let show_values = columns * rows <= 400;
        for y in 0..rows {
            for x in 0..columns {
                let value = self.cells[y * columns + x];
                let colour = value.map_or(RGBColor(200, 200, 200), |v| shade(v, low, high, self.ascending));
                chart
                    .draw_series(std::iter::once(Rectangle::new([(x, y), (x + 1, y + 1)], colour.filled())))
                    .map_err(fail)?;
                if let (Some(value), true) = (value, show_values) {
                    let text = Text::new(format!("{value:.2}"), (x, y + 1), ("sans-serif", 12).into_font());
                    chart.draw_series(std::iter::once(text)).map_err(fail)?;
                }
            }
        }
        root.present().map_err(fail)?;
        Ok(())
    }
}

/// Red for the worst value, through white, to green for the best.
fn shade(value: f64, low: f64, high: f64, ascending: bool) -> RGBColor {
    let mut t = if high > low { (value - low) / (high - low) } else { 1.0 };
    if ascending {
        t = 1.0 - t;
    }
    let mix = |a: f64, b: f64, t: f64| (a + (b - a) * t).round().clamp(0.0, 255.0) as u8;
    if t < 0.5 {
        let t = t * 2.0;
        RGBColor(mix(215.0, 255.0, t), mix(48.0, 255.0, t), mix(39.0, 255.0, t))
    } else {
        let t = (t - 0.5) * 2.0;
        RGBColor(mix(255.0, 26.0, t), mix(255.0, 152.0, t), mix(255.0, 80.0, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_keeps_the_best_run_in_the_sort_order() {
        let xs = ["1".to_owned(), "2".to_owned()];
        let mut map = Heatmap::new(("fast", &xs), None, "sharpe", false);
        map.record(0, 0, Some(0.5));
        map.record(0, 0, Some(0.9));
        map.record(0, 0, Some(0.1));
        map.record(1, 0, Some(f64::NAN));
        assert_eq!(map.cells, [Some(0.9), None]);
        let mut lowest = Heatmap::new(("fast", &xs), None, "max_drawdown_pct", true);
        lowest.record(1, 0, Some(5.0));
        lowest.record(1, 0, Some(3.0));
        assert_eq!(lowest.cells, [None, Some(3.0)]);
    }

    #[test]
    fn the_best_is_green_and_the_worst_red_in_either_order() {
        assert_eq!(shade(1.0, 0.0, 1.0, false), RGBColor(26, 152, 80));
        assert_eq!(shade(0.0, 0.0, 1.0, false), RGBColor(215, 48, 39));
        assert_eq!(shade(0.0, 0.0, 1.0, true), RGBColor(26, 152, 80));
    }
}
