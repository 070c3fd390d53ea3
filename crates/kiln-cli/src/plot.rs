//! Drawing a report [`Figure`] as an SVG with plotters.

use std::path::Path;

use kiln_core::experiment::Scale;
use kiln_core::{Figure, KilnError};
use plotters::prelude::*;

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

fn plot_err(path: &Path, e: impl std::fmt::Display) -> KilnError {
    KilnError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// The points of a figure that can be drawn on its axes (finite; positive on a log axis).
fn drawable(fig: &Figure) -> Vec<Vec<(f64, f64)>> {
    fig.series
        .iter()
        .map(|s| {
            s.x.iter()
                .zip(&s.y)
                .map(|(&x, &y)| (x, y))
                .filter(|(x, y)| {
                    x.is_finite() && y.is_finite() && (fig.y_scale == Scale::Linear || *y > 0.0)
                })
                .collect()
        })
        .collect()
}

fn padded(lo: f64, hi: f64, log: bool) -> (f64, f64) {
    if log {
        return (lo / 1.5, hi * 1.5);
    }
    if (hi - lo).abs() < 1e-300 {
        return (lo - 1.0, hi + 1.0);
    }
    let pad = 0.05 * (hi - lo);
    (lo - pad, hi + pad)
}

/// Writes `fig` to `path` as an 800x500 SVG. Series with one point are drawn as markers.
pub fn draw_svg(fig: &Figure, path: &Path) -> Result<(), KilnError> {
    let points = drawable(fig);
    let all: Vec<(f64, f64)> = points.iter().flatten().copied().collect();
    if all.is_empty() {
        return Err(KilnError::Empty(format!(
            "figure `{}` has no drawable points",
            fig.name
        )));
    }
    let (xmin, xmax) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.0), b.max(p.0))
        });
    let (ymin, ymax) = all
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| {
            (a.min(p.1), b.max(p.1))
        });
    let log = fig.y_scale == Scale::Log;
    let (x0, x1) = padded(xmin, xmax, false);
    let (y0, y1) = padded(ymin, ymax, log);

    let root = SVGBackend::new(path, (800, 500)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| plot_err(path, e))?;
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(&fig.title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(75);

    macro_rules! finish {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(fig.x_label.as_str())
                .y_desc(fig.y_label.as_str())
                .draw()
                .map_err(|e| plot_err(path, e))?;
            for (i, (series, pts)) in fig.series.iter().zip(&points).enumerate() {
                let color = COLORS[i % COLORS.len()];
                let anno = if pts.len() == 1 {
                    chart
                        .draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))
                        .map_err(|e| plot_err(path, e))?
                } else {
                    chart
                        .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
                        .map_err(|e| plot_err(path, e))?
                };
                anno.label(series.label.as_str()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(|e| plot_err(path, e))?;
        }};
    }
    if log {
        finish!(
            builder
                .build_cartesian_2d(x0..x1, (y0..y1).log_scale())
                .map_err(|e| plot_err(path, e))?
        );
    } else {
        finish!(
            builder
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(|e| plot_err(path, e))?
        );
    }
    root.present().map_err(|e| plot_err(path, e))?;
    Ok(())
}
