//! Cumulative dose–volume histograms.

use super::xy::{Axis, Line, XyPlot};
use super::{check_lengths, colour, render, FigureTarget, WrittenFigure};
use crate::error::{ReportError, Result};

/// One cumulative DVH: the fraction of a region's volume receiving at least each dose.
#[derive(Debug, Clone, PartialEq)]
pub struct DvhCurve {
    /// Legend text (the region's name).
    pub label: String,
    /// Dose axis \[Gy\], increasing.
    pub dose_gy: Vec<f64>,
    /// Fraction of the volume with dose ≥ each point (0..=1).
    pub volume_fraction: Vec<f64>,
}

/// Cumulative DVHs of several regions on one linear plot (volume in %, dose in Gy); writes
/// `STEM.png` and `STEM.svg`.
///
/// Errors: no curves, a curve without points, unequal lengths.
pub fn dose_volume_histograms(
    target: &FigureTarget,
    title: &str,
    curves: &[DvhCurve],
) -> Result<WrittenFigure> {
    let what = "dose_volume_histograms";
    if curves.is_empty() {
        return Err(ReportError::Empty {
            what: format!("{what}: curves"),
        });
    }
    let mut x = Axis::linear("Absorbed dose (Gy)");
    x.include_zero = true;
    x.pad = false;
    let mut y = Axis::linear("Volume receiving at least this dose (%)");
    y.range = Some((0.0, 100.0));
    let mut plot = XyPlot::new(title, x, y);
    for (k, c) in curves.iter().enumerate() {
        let name = format!("{what}: curve '{}'", c.label);
        check_lengths(
            &name,
            "dose_gy",
            c.dose_gy.len(),
            "volume_fraction",
            c.volume_fraction.len(),
        )?;
        if c.dose_gy.is_empty() {
            return Err(ReportError::Empty { what: name });
        }
        let v: Vec<f64> = c.volume_fraction.iter().map(|f| 100.0 * f).collect();
        plot.lines
            .push(Line::new(c.label.clone(), c.dose_gy.clone(), v, colour(k)));
    }
    plot.legend_always = true;
    render(target, &plot.resolve(what)?)
}
