//! Lymphocyte survival against the day immunotherapy starts.

use super::xy::{Axis, Line, Mark, RefLine, XyPlot};
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
    /// Earliest start day that meets the target \[d\], if any; drawn as a marker and dashed line.
    pub window_day: Option<f64>,
}

/// Lymphocyte survival \[%\] against immunotherapy start day \[d\], one line per curve, an
/// optional dashed target line (`target_survival` as a fraction, e.g. 0.9) and each curve's
/// earliest window day marked; writes `STEM.png` and `STEM.svg`.
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
        let label = match (c.window_day, target_survival) {
            (Some(d), _) => format!("{} (window from day {})", c.label, format_number(round1(d))),
            (None, Some(_)) => format!("{} (target not reached)", c.label),
            (None, None) => c.label.clone(),
        };
        let pct: Vec<f64> = c.survival.iter().map(|s| 100.0 * s).collect();
        plot.lines
            .push(Line::new(label, c.start_days.clone(), pct.clone(), col));
        if let Some(d) = c.window_day.filter(|d| d.is_finite()) {
            let y_mark = match target_survival {
                Some(s) => 100.0 * s,
                None => interpolate(&c.start_days, &pct, d).unwrap_or(f64::NAN),
            };
            let mut l = Line::new("", vec![d, d], vec![0.0, y_mark], col);
            l.dashed = true;
            l.width = 2;
            l.in_legend = false;
            plot.lines.push(l);
            plot.marks.push(Mark {
                x: d,
                y: y_mark,
                colour: col,
            });
        }
    }
    if let Some(s) = target_survival {
        plot.ref_lines.push(RefLine {
            horizontal: true,
            at: 100.0 * s,
            text: format!("target {} %", format_number(round1(100.0 * s))),
            colour: RGBColor(60, 60, 60),
        });
    }
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
