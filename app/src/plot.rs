//! `--plot FILE.svg|png`: total equity and drawdown, one above the other (plotters).

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use plotters::coord::Shift;
use plotters::prelude::*;
use tradsys_core::session::stats::CurvePoint;

/// DejaVu Sans (see `assets/DejaVuSans.LICENSE`), so PNG labels render without system fonts.
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// Draws the equity curve and its drawdown to an SVG or PNG file, chosen by extension.
///
/// # Errors
/// An extension other than `svg` or `png`, or a drawing/writing failure.
pub fn equity_and_drawdown(path: &Path, curve: &[CurvePoint]) -> Result<()> {
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    // Text is laid out with this font for both backends; registering again is harmless.
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| anyhow!("cannot load the embedded font"))?;
    match extension.as_deref() {
        Some("svg") => draw(SVGBackend::new(path, (1200, 800)).into_drawing_area(), curve),
        Some("png") => draw(BitMapBackend::new(path, (1200, 800)).into_drawing_area(), curve),
        _ => bail!("{}: expected a .svg or .png file", path.display()),
    }
}

fn draw<B: DrawingBackend>(root: DrawingArea<B, Shift>, curve: &[CurvePoint]) -> Result<()>
where
    B::ErrorType: 'static,
{
    let fail = |e: DrawingAreaErrorKind<B::ErrorType>| anyhow!("{e:?}");
    root.fill(&WHITE).map_err(fail)?;
    let (top, bottom) = root.split_vertically(520);
    let days = |p: &CurvePoint| (p.ts.0 - curve.first().map_or(0, |f| f.ts.0)) as f64 / 86_400e9;
    let x_max = curve.last().map_or(1.0, days).max(1e-9);
    let (low, high) = curve.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.equity), hi.max(p.equity)));
    let (low, high) = if curve.is_empty() { (0.0, 1.0) } else { (low, high) };
    let pad = ((high - low) * 0.05).max(high.abs() * 1e-6).max(1e-9);
    let mut equity = ChartBuilder::on(&top)
        .caption("Total equity", ("sans-serif", 24))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(90)
        .build_cartesian_2d(0.0..x_max, (low - pad)..(high + pad))
        .map_err(fail)?;
    equity.configure_mesh().x_desc("days since start").y_desc("equity").draw().map_err(fail)?;
    equity.draw_series(LineSeries::new(curve.iter().map(|p| (days(p), p.equity)), &BLUE)).map_err(fail)?;
    let deepest = curve.iter().map(|p| p.drawdown * 100.0).fold(0.0, f64::max).max(1e-6);
    let mut drawdown = ChartBuilder::on(&bottom)
        .caption("Drawdown (%)", ("sans-serif", 24))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(90)
        .build_cartesian_2d(0.0..x_max, -deepest * 1.05..0.0)
        .map_err(fail)?;
    drawdown.configure_mesh().x_desc("days since start").y_desc("drawdown %").draw().map_err(fail)?;
    drawdown
        .draw_series(
            AreaSeries::new(curve.iter().map(|p| (days(p), -p.drawdown * 100.0)), 0.0, RED.mix(0.3)).border_style(RED),
        )
        .map_err(fail)?;
    root.present().map_err(fail)?;
    Ok(())
}
