//! Dose rate and cumulative dose against time.

use super::xy::{Axis, Line, XyPlot};
use super::{check_lengths, colour, render, FigureTarget, WrittenFigure};
use crate::error::{ReportError, Result};

/// One curve against time, e.g. the mean dose rate to one label.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeSeries {
    /// Legend text, e.g. "tumour cells" or "lymphocytes (177Lu)".
    pub label: String,
    /// Times after administration \[d\], in increasing order.
    pub times_d: Vec<f64>,
    /// Values at those times: dose rate \[Gy/h\] for [`dose_rate_vs_time`], cumulative dose
    /// \[Gy\] for [`cumulative_dose_vs_time`]. NaN, infinite (and on the log axis zero or
    /// negative) values are skipped and break the line.
    pub values: Vec<f64>,
}

impl TimeSeries {
    /// A series from times in days.
    pub fn new(label: impl Into<String>, times_d: Vec<f64>, values: Vec<f64>) -> Self {
        Self {
            label: label.into(),
            times_d,
            values,
        }
    }

    /// A series from times in seconds (converted to days, 1 d = 86 400 s).
    pub fn from_seconds(label: impl Into<String>, times_s: &[f64], values: Vec<f64>) -> Self {
        Self::new(
            label,
            times_s.iter().map(|t| t / 86_400.0).collect(),
            values,
        )
    }
}

fn time_plot(what: &str, title: &str, series: &[TimeSeries], y: Axis) -> Result<XyPlot> {
    if series.is_empty() {
        return Err(ReportError::Empty {
            what: format!("{what}: series"),
        });
    }
    let mut plot = XyPlot::new(title, Axis::linear("Time after administration (d)"), y);
    plot.x.pad = false;
    plot.x.include_zero = true;
    for (i, s) in series.iter().enumerate() {
        let name = format!("{what}: series '{}'", s.label);
        check_lengths(&name, "times_d", s.times_d.len(), "values", s.values.len())?;
        if s.times_d.is_empty() {
            return Err(ReportError::Empty { what: name });
        }
        plot.lines.push(Line::new(
            s.label.clone(),
            s.times_d.clone(),
            s.values.clone(),
            colour(i),
        ));
    }
    Ok(plot)
}

/// Dose rate \[Gy/h\] against time \[d\], log y axis (at most 6 decades below the maximum), one
/// line per series; writes `STEM.png` and `STEM.svg`.
///
/// Errors: no series, a series without points, unequal lengths, or no positive finite value.
pub fn dose_rate_vs_time(
    target: &FigureTarget,
    title: &str,
    series: &[TimeSeries],
) -> Result<WrittenFigure> {
    let what = "dose_rate_vs_time";
    let plot = time_plot(what, title, series, Axis::log("Dose rate (Gy/h)", 6.0))?;
    render(target, &plot.resolve(what)?)
}

/// Cumulative absorbed dose \[Gy\] against time \[d\], linear axes from zero, one line per series;
/// writes `STEM.png` and `STEM.svg`.
///
/// Errors: no series, a series without points, unequal lengths, or no finite value.
pub fn cumulative_dose_vs_time(
    target: &FigureTarget,
    title: &str,
    series: &[TimeSeries],
) -> Result<WrittenFigure> {
    let what = "cumulative_dose_vs_time";
    let mut y = Axis::linear("Cumulative absorbed dose (Gy)");
    y.include_zero = true;
    let plot = time_plot(what, title, series, y)?;
    render(target, &plot.resolve(what)?)
}
