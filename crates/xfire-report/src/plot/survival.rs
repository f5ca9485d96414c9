//! Lymphocyte survival against the day immunotherapy starts.

use super::xy::{Axis, LegendEntry, Line, Mark, MarkShape, RefLine, XyPlot};
use super::{check_lengths, colour, format_number, render, FigureTarget, WrittenFigure};
use crate::error::{ReportError, Result};
use plotters::prelude::*;

/// Survival of the lymphocytes that arrive on each candidate start day, for one nuclide or
/// scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct SurvivalCurve {
    /// Legend text, e.g. "177Lu" or "225Ac".
    pub label: String,
    /// Candidate immunotherapy start days \[d after administration\], in increasing order.
    pub start_days: Vec<f64>,
    /// Surviving fraction of lymphocytes for each start day \[fraction, 0–1\]; NaN is skipped.
    pub survival: Vec<f64>,
    /// Earliest start day that meets the target \[d\] (the window opens), if any; drawn as a
    /// filled circle on the target line.
    pub window_day: Option<f64>,
    /// Last start day of that run of safe days \[d\] (the window closes after it), if known;
    /// drawn as an open square on the target line.
    pub window_end_day: Option<f64>,
}

/// Lymphocyte survival \[%\] against immunotherapy start day \[d\], one line per curve, an
/// optional dashed target line (`target_survival` as a fraction, e.g. 0.9), each curve's
/// window start (filled circle) and end (open square) on it, and the legend beside the plot
/// (never over the curves); writes `STEM.png` and `STEM.svg`.
///
/// Errors: no curves, a curve without points, unequal lengths, survival outside \[0, 1\], a
/// target outside (0, 1].
pub fn survival_vs_start_day(
    target: &FigureTarget,
    title: &str,
    curves: &[SurvivalCurve],
    target_survival: Option<f64>,
) -> Result<WrittenFigure> {
    let what = "survival_vs_start_day";
    if curves.is_empty() {
        return Err(ReportError::Empty {
            what: format!("{what}: curves"),
        });
    }
    if let Some(s) = target_survival {
        if !(s > 0.0 && s <= 1.0) {
            return Err(ReportError::Invalid {
                what: "target survival".into(),
                reason: format!("{s} must be a fraction in (0, 1], e.g. 0.9 for 90 %"),
            });
        }
    }
    let mut y = Axis::linear("Lymphocyte survival (%)");
    y.range = Some((-2.0, 104.0));
    let mut plot = XyPlot::new(
        title,
        Axis::linear("Immunotherapy start (d after administration)"),
        y,
    );
    plot.x.include_zero = true;
    plot.x.pad = false;
    for (i, c) in curves.iter().enumerate() {
        let name = format!("{what}: curve '{}'", c.label);
        check_lengths(
            &name,
            "start_days",
            c.start_days.len(),
            "survival",
            c.survival.len(),
        )?;
        if c.start_days.is_empty() {
            return Err(ReportError::Empty { what: name });
        }
        if let Some(bad) = c
            .survival
            .iter()
            .find(|s| s.is_finite() && !(0.0..=1.0).contains(*s))
        {
            return Err(ReportError::Invalid {
                what: format!("survival in {name}"),
                reason: format!("{bad} is not a fraction in [0, 1]"),
            });
        }
        let col = colour(i);
        let label = match (c.window_day, c.window_end_day, target_survival) {
            (Some(d), Some(e), _) => format!(
                "{}: window d {}–{}",
                c.label,
                format_number(round1(d)),
                format_number(round1(e))
            ),
            (Some(d), None, _) => {
                format!("{}: window from d {}", c.label, format_number(round1(d)))
            }
            (None, _, Some(_)) => format!("{}: target not reached", c.label),
            (None, _, None) => c.label.clone(),
        };
        let pct: Vec<f64> = c.survival.iter().map(|s| 100.0 * s).collect();
        let at = |d: f64| match target_survival {
            Some(s) => 100.0 * s,
            None => interpolate(&c.start_days, &pct, d).unwrap_or(f64::NAN),
        };
        plot.lines
            .push(Line::new(label, c.start_days.clone(), pct.clone(), col));
        for (day, shape) in [
            (c.window_day, MarkShape::Circle),
            (c.window_end_day, MarkShape::Square),
        ] {
            if let Some(d) = day.filter(|d| d.is_finite()) {
                plot.marks.push(Mark {
                    x: d,
                    y: at(d),
                    colour: col,
                    shape,
                });
            }
        }
    }
    let grey = RGBColor(60, 60, 60);
    if let Some(s) = target_survival {
        // the label goes into the legend, not over the markers
        plot.ref_lines.push(RefLine {
            horizontal: true,
            at: 100.0 * s,
            text: String::new(),
            colour: grey,
        });
        plot.extra_legend.push(LegendEntry::line(
            format!("target {} %", format_number(round1(100.0 * s))),
            grey,
            true,
        ));
    }
    if curves.iter().any(|c| c.window_day.is_some()) {
        plot.extra_legend
            .push(LegendEntry::mark("window opens", grey, MarkShape::Circle));
    }
    if curves.iter().any(|c| c.window_end_day.is_some()) {
        plot.extra_legend
            .push(LegendEntry::mark("window closes", grey, MarkShape::Square));
    }
    plot.legend_outside = true;
    render(target, &plot.resolve(what)?)
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Linear interpolation of (xs, ys) at x, where xs is sorted.
fn interpolate(xs: &[f64], ys: &[f64], x: f64) -> Option<f64> {
    xs.windows(2).zip(ys.windows(2)).find_map(|(w, v)| {
        (w[0] <= x && x <= w[1] && w[1] > w[0])
            .then(|| v[0] + (v[1] - v[0]) * (x - w[0]) / (w[1] - w[0]))
    })
}
