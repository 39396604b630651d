//! `--plot FILE.svg|png`: the return of equity (the total, and each strategy when there are
//! several, all as percent of their own start so that they share an axis) above the total's
//! drawdown, against dates, titled with the config's name (plotters).

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use plotters::coord::Shift;
use plotters::prelude::*;
use tradsys_core::session::stats::CurvePoint;
use tradsys_core::types::Timestamp;

/// DejaVu Sans (see `assets/DejaVuSans.LICENSE`), so PNG labels render without system fonts.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Draws the equity curves and the total's drawdown to an SVG or PNG file, chosen by extension.
/// `title` names the run (the config); `strategies` are each strategy's curve, drawn beside the
/// total when there are several.
///
/// # Errors
/// An extension other than `svg` or `png`, or a drawing/writing failure.
pub fn equity_and_drawdown(
    path: &Path,
    title: &str,
    total: &[CurvePoint],
    strategies: &[(String, Vec<CurvePoint>)],
) -> Result<()> {
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    // Text is laid out with this font for both backends; registering again is harmless.
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| anyhow!("cannot load the embedded font"))?;
    let plot = Plot { title, total, strategies: if strategies.len() > 1 { strategies } else { &[] } };
    match extension.as_deref() {
        Some("svg") => plot.draw(SVGBackend::new(path, (1200, 800)).into_drawing_area()),
        Some("png") => plot.draw(BitMapBackend::new(path, (1200, 800)).into_drawing_area()),
        _ => bail!("{}: expected a .svg or .png file", path.display()),
    }
}

struct Plot<'a> {
    title: &'a str,
    total: &'a [CurvePoint],
    strategies: &'a [(String, Vec<CurvePoint>)],
}

impl Plot<'_> {
    fn draw<B: DrawingBackend>(&self, root: DrawingArea<B, Shift>) -> Result<()>
    where
        B::ErrorType: 'static,
    {
        let fail = |e: DrawingAreaErrorKind<B::ErrorType>| anyhow!("{e:?}");
        root.fill(&WHITE).map_err(fail)?;
        let root = root.titled(&format!("tradsys run: {}", self.title), ("sans-serif", 22)).map_err(fail)?;
        let (top, bottom) = root.split_vertically(480);
        let start = self.total.first().map_or(0, |p| p.ts.0);
        let end = self.total.last().map_or(start, |p| p.ts.0);
        // x is in days since the first mark (f64 keeps plotters' ranges simple); labels are dates.
        let days = |p: &CurvePoint| (p.ts.0 - start) as f64 / 86_400e9;
        let x_max = ((end - start) as f64 / 86_400e9).max(1e-9);
        let label = date_label(start, end - start);
        let returns = |curve: &[CurvePoint]| -> Vec<(f64, f64)> {
            let percent = return_pct(curve);
            curve.iter().map(|p| (days(p), percent(p))).collect()
        };
        let total = returns(self.total);
        let strategies: Vec<(&str, Vec<(f64, f64)>)> =
            self.strategies.iter().map(|(id, curve)| (id.as_str(), returns(curve))).collect();
        let all = total.iter().chain(strategies.iter().flat_map(|(_, points)| points));
        let (low, high) = all.fold((f64::MAX, f64::MIN), |(lo, hi), &(_, y)| (lo.min(y), hi.max(y)));
        let (low, high) = if total.is_empty() { (0.0, 1.0) } else { (low, high) };
        let pad = ((high - low) * 0.05).max(1e-6);
        let mut equity = ChartBuilder::on(&top)
            .caption("Return of equity (%)", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(90)
            .build_cartesian_2d(0.0..x_max, (low - pad)..(high + pad))
            .map_err(fail)?;
        equity.configure_mesh().x_label_formatter(&label).x_labels(8).y_desc("return %").draw().map_err(fail)?;
        equity
            .draw_series(LineSeries::new(total, BLACK.stroke_width(2)))
            .map_err(fail)?
            .label("total")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK.stroke_width(2)));
        for (at, (id, points)) in strategies.into_iter().enumerate() {
            let color = Palette99::pick(at).to_rgba();
            equity
                .draw_series(LineSeries::new(points, color))
                .map_err(fail)?
                .label(id)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], color));
        }
        if !self.strategies.is_empty() {
            equity
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(fail)?;
        }
        let deepest = self.total.iter().map(|p| p.drawdown * 100.0).fold(0.0, f64::max).max(1e-6);
        let mut drawdown = ChartBuilder::on(&bottom)
            .caption("Drawdown of the total (%)", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(90)
            .build_cartesian_2d(0.0..x_max, -deepest * 1.05..0.0)
            .map_err(fail)?;
        drawdown.configure_mesh().x_label_formatter(&label).x_labels(8).y_desc("drawdown %").draw().map_err(fail)?;
        drawdown
            .draw_series(
                AreaSeries::new(self.total.iter().map(|p| (days(p), -p.drawdown * 100.0)), 0.0, RED.mix(0.3))
                    .border_style(RED),
            )
            .map_err(fail)?;
        root.present().map_err(fail)?;
        Ok(())
    }
}

/// A point's equity as percent return on the curve's first mark (a zero first mark counts as 1,
/// so a curve that starts at nothing still plots).
pub fn return_pct(curve: &[CurvePoint]) -> impl Fn(&CurvePoint) -> f64 + use<> {
    let base = curve.first().map_or(1.0, |p| p.equity);
    let base = if base == 0.0 { 1.0 } else { base };
    move |p: &CurvePoint| (p.equity / base - 1.0) * 100.0
}

/// Labels for x (days since `start`): dates, with the time of day when the run spans under three
/// days.
fn date_label(start: i64, span: i64) -> impl Fn(&f64) -> String {
    let with_time = span < 3 * 86_400_000_000_000;
    move |days: &f64| {
        let text = Timestamp(start + (days * 86_400e9) as i64).to_string();
        // RFC 3339: `YYYY-MM-DDTHH:MM:SS...Z`.
        if with_time {
            text.get(..16).unwrap_or(&text).replace('T', " ")
        } else {
            text.get(..10).unwrap_or(&text).to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_dates_or_date_times_by_span() {
        let start = Timestamp(1_492_592_400_000_000_000).0; // 2017-04-19 09:00
        assert_eq!(date_label(start, 100 * 86_400_000_000_000)(&1.0), "2017-04-20");
        assert_eq!(date_label(start, 86_400_000_000_000)(&0.25), "2017-04-19 15:00");
    }
}
