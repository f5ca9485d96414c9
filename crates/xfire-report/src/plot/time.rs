//! Dose rate and cumulative dose against time.

use super::xy::{pin_common_ranges, Axis, LegendEntry, Line, XyPlot};
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
    /// Draw dashed (e.g. lymphocytes beside solid tumour cells).
    pub dashed: bool,
}

impl TimeSeries {
    /// A series from times in days.
    pub fn new(label: impl Into<String>, times_d: Vec<f64>, values: Vec<f64>) -> Self {
        Self {
            label: label.into(),
            times_d,
            values,
            dashed: false,
        }
    }

    /// The same series drawn dashed.
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
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
        let mut line = Line::new(
            s.label.clone(),
            s.times_d.clone(),
            s.values.clone(),
            colour(i),
        );
        line.dashed = s.dashed;
        plot.lines.push(line);
    }
    Ok(plot)
}

/// One panel of [`time_panels`]: a title (e.g. the nuclide) and its series (e.g. tumour
/// cells solid, lymphocytes dashed).
#[derive(Debug, Clone, PartialEq)]
pub struct TimePanel {
    /// Panel title.
    pub title: String,
    /// Series, coloured in palette order; every panel should list the same series.
    pub series: Vec<TimeSeries>,
}

/// What [`time_panels`] plots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeQuantity {
    /// Dose rate \[Gy/h\], log axis (at most 6 decades below the largest value).
    DoseRate,
    /// Cumulative absorbed dose \[Gy\], linear axis from zero.
    CumulativeDose,
}

/// Small multiples against time: one panel per entry (e.g. per nuclide), each with its
/// series; time on a log axis in hours (so hours-long and weeks-long kinetics both show),
/// axes common to all panels, one legend strip (from the first panel's series);
/// `columns` panels per row; writes `STEM.png` and `STEM.svg`.
///
/// Errors: no panels, a series without points, unequal lengths, nothing positive to draw.
pub fn time_panels(
    target: &FigureTarget,
    title: &str,
    panels: &[TimePanel],
    quantity: TimeQuantity,
    columns: usize,
) -> Result<WrittenFigure> {
    let what = "time_panels";
    if panels.is_empty() {
        return Err(ReportError::Empty {
            what: format!("{what}: panels"),
        });
    }
    let mut plots = Vec::with_capacity(panels.len());
    for p in panels {
        let y = match quantity {
            TimeQuantity::DoseRate => Axis::log("Dose rate (Gy/h)", 6.0),
            TimeQuantity::CumulativeDose => {
                let mut y = Axis::linear("Cumulative dose (Gy)");
                y.include_zero = true;
                y
            }
        };
        let hours: Vec<TimeSeries> = p
            .series
            .iter()
            .map(|s| TimeSeries {
                times_d: s.times_d.iter().map(|t| 24.0 * t).collect(),
                ..s.clone()
            })
            .collect();
        let mut plot = time_plot(&format!("{what}: panel '{}'", p.title), &p.title, &hours, y)?;
        plot.x = Axis::log("Time after administration (h)", 12.0);
        plot.no_legend = true;
        plots.push(plot);
    }
    pin_common_ranges(&mut plots, what)?;
    let legend = panels[0]
        .series
        .iter()
        .enumerate()
        .map(|(i, s)| LegendEntry::line(s.label.clone(), colour(i), s.dashed))
        .collect();
    let resolved = plots
        .into_iter()
        .map(|p| p.resolve(what))
        .collect::<Result<Vec<_>>>()?;
    render(
        target,
        &super::panels::Panels::new(title, resolved, columns, legend),
    )
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
