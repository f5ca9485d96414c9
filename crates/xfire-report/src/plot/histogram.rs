//! Per-cell dose histograms of several groups on shared bins.

use super::xy::{Axis, Fill, LegendEntry, Line, XyPlot};
use super::{colour, format_number, render, FigureTarget, WrittenFigure};
use crate::error::{ReportError, Result};

/// The doses of one group of cells, e.g. tumour cells or lymphocytes.
#[derive(Debug, Clone, PartialEq)]
pub struct DoseGroup {
    /// Legend text, e.g. "tumour cells".
    pub name: String,
    /// Absorbed dose of each cell \[Gy\]; NaN, infinite and negative values are skipped (and
    /// counted in the legend).
    pub doses_gy: Vec<f64>,
}

/// How [`dose_histograms`] bins and scales.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistogramOptions {
    /// Number of bins shared by all groups (1–1000).
    pub bins: usize,
    /// Plot the fraction of each group's cells per bin (groups of different size compare);
    /// otherwise the number of cells.
    pub fraction: bool,
    /// Logarithmic bins; `None`: chosen when the positive doses span more than 3 decades.
    /// Cells with 0 Gy are then not shown, and their number is given in the legend.
    pub log_bins: Option<bool>,
}

impl Default for HistogramOptions {
    fn default() -> Self {
        Self {
            bins: 40,
            fraction: true,
            log_bins: None,
        }
    }
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
    }
}

/// Histograms of per-cell dose \[Gy\], one outlined and lightly filled step curve per group,
/// overlaid on shared bins; legend with the number of cells and the median dose; writes
/// `STEM.png` and `STEM.svg`.
///
/// Errors: no groups, a group without cells, bins outside 1–1000, no valid dose at all.
pub fn dose_histograms(
    target: &FigureTarget,
    title: &str,
    groups: &[DoseGroup],
    options: &HistogramOptions,
) -> Result<WrittenFigure> {
    let what = "dose_histograms";
    let valid = validate(what, groups, options)?;
    let edges = shared_edges(what, &valid.iter().collect::<Vec<_>>(), options)?;
    let mut plot = histogram_plot(title, groups, &valid, &edges, options)?;
    plot.corner_notes.clear(); // the legend says it
    render(target, &plot.resolve(what)?)
}

/// One panel of [`dose_histogram_panels`]: a title (e.g. the nuclide) and its groups.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramPanel {
    /// Panel title.
    pub title: String,
    /// The groups (e.g. tumour cells, lymphocytes), drawn in palette order.
    pub groups: Vec<DoseGroup>,
}

/// Per-cell dose histograms of several panels (e.g. one per nuclide) on ONE common set of
/// bins and one common y scale, so the panels compare at a glance; `columns` panels per
/// row; writes `STEM.png` and `STEM.svg`.
///
/// Errors: no panels, and those of [`dose_histograms`] for any panel.
pub fn dose_histogram_panels(
    target: &FigureTarget,
    title: &str,
    panels: &[HistogramPanel],
    options: &HistogramOptions,
    columns: usize,
) -> Result<WrittenFigure> {
    let what = "dose_histogram_panels";
    if panels.is_empty() {
        return Err(ReportError::Empty {
            what: format!("{what}: panels"),
        });
    }
    let valid: Vec<Vec<Vec<f64>>> = panels
        .iter()
        .map(|p| validate(&format!("{what}: panel '{}'", p.title), &p.groups, options))
        .collect::<Result<_>>()?;
    let all: Vec<&Vec<f64>> = valid.iter().flatten().collect();
    let edges = shared_edges(what, &all, options)?;
    let mut plots = Vec::with_capacity(panels.len());
    for (p, v) in panels.iter().zip(&valid) {
        let mut plot = histogram_plot(&p.title, &p.groups, v, &edges, options)?;
        // the group names go into one legend strip; each panel keeps its medians
        plot.no_legend = true;
        plots.push(plot);
    }
    let legend = panels[0]
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| LegendEntry::line(g.name.clone(), colour(i), false))
        .collect();
    let top = plots
        .iter()
        .filter_map(|p| p.y.range.map(|r| r.1))
        .fold(0.0, f64::max);
    let mut resolved = Vec::with_capacity(plots.len());
    for mut p in plots {
        p.y.range = Some((0.0, top));
        resolved.push(p.resolve(what)?);
    }
    render(
        target,
        &super::panels::Panels::new(title, resolved, columns, legend),
    )
}

/// The valid (finite, non-negative) doses of each group, sorted.
fn validate(what: &str, groups: &[DoseGroup], options: &HistogramOptions) -> Result<Vec<Vec<f64>>> {
    if groups.is_empty() {
        return Err(ReportError::Empty {
            what: format!("{what}: groups"),
        });
    }
    if !(1..=1000).contains(&options.bins) {
        return Err(ReportError::Invalid {
            what: "number of histogram bins".into(),
            reason: format!("{} must be between 1 and 1000", options.bins),
        });
    }
    let mut valid: Vec<Vec<f64>> = Vec::with_capacity(groups.len());
    for g in groups {
        if g.doses_gy.is_empty() {
            return Err(ReportError::Empty {
                what: format!("{what}: group '{}'", g.name),
            });
        }
        let mut v: Vec<f64> = g
            .doses_gy
            .iter()
            .copied()
            .filter(|d| d.is_finite() && *d >= 0.0)
            .collect();
        v.sort_by(f64::total_cmp);
        valid.push(v);
    }
    Ok(valid)
}

/// Bin edges shared by all `valid` dose sets (log bins over whole decades, or linear from 0).
fn shared_edges(what: &str, valid: &[&Vec<f64>], options: &HistogramOptions) -> Result<Vec<f64>> {
    let all = valid.iter().flat_map(|v| v.iter().copied());
    let max = all.clone().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return Err(ReportError::NothingPlottable {
            what: what.into(),
            reason: "no cell has a finite, non-negative dose".into(),
        });
    }
    let min_pos = all.filter(|d| *d > 0.0).fold(f64::INFINITY, f64::min);
    let log = options
        .log_bins
        .unwrap_or(min_pos.is_finite() && max / min_pos > 1e3);
    if log && !min_pos.is_finite() {
        return Err(ReportError::NothingPlottable {
            what: what.into(),
            reason: "logarithmic bins asked for, but no cell has a positive dose".into(),
        });
    }
    let n = options.bins;
    Ok(if log {
        // at most 6 decades below the largest dose: cells below are counted with the first bin
        let (a, mut b) = (min_pos.log10().floor(), max.log10().ceil());
        let a = a.max(b - 6.0);
        if b <= a {
            b = a + 1.0;
        }
        (0..=n)
            .map(|i| 10f64.powf(a + (b - a) * i as f64 / n as f64))
            .collect()
    } else {
        let hi = if max > 0.0 { max * 1.0001 } else { 1.0 };
        (0..=n).map(|i| hi * i as f64 / n as f64).collect()
    })
}

/// The step curves of `groups` on `edges`, labelled with the number of cells and the median.
fn histogram_plot(
    title: &str,
    groups: &[DoseGroup],
    valid: &[Vec<f64>],
    edges: &[f64],
    options: &HistogramOptions,
) -> Result<XyPlot> {
    let n = edges.len() - 1;
    let log = edges[0] > 0.0;
    let x = if log {
        let mut ax = Axis::log("Absorbed dose per cell (Gy)", 12.0);
        ax.range = Some((edges[0], edges[n]));
        ax
    } else {
        let mut ax = Axis::linear("Absorbed dose per cell (Gy)");
        ax.range = Some((0.0, edges[n]));
        ax
    };
    let mut y = Axis::linear(if options.fraction {
        "Fraction of cells per bin"
    } else {
        "Number of cells per bin"
    });
    y.include_zero = true;
    let mut plot = XyPlot::new(title, x, y);
    for (gi, (g, v)) in groups.iter().zip(valid).enumerate() {
        let mut counts = vec![0usize; n];
        let mut zeros = 0usize;
        for &d in v {
            if log && d <= 0.0 {
                zeros += 1;
                continue;
            }
            // Bin by binary search on the shared edges; the top edge belongs to the last bin,
            // doses below the first edge to the first bin.
            let k = edges
                .partition_point(|e| *e <= d)
                .saturating_sub(1)
                .min(n - 1);
            counts[k] += 1;
        }
        let scale = if options.fraction && !v.is_empty() {
            1.0 / v.len() as f64
        } else {
            1.0
        };
        let mut xs = vec![edges[0]];
        let mut ys = vec![0.0];
        for k in 0..n {
            let c = counts[k] as f64 * scale;
            xs.extend([edges[k], edges[k + 1]]);
            ys.extend([c, c]);
        }
        xs.push(edges[n]);
        ys.push(0.0);
        let skipped = g.doses_gy.len() - v.len();
        let mut label = format!("{} (n = {}, ", g.name, v.len());
        let mut note = String::new();
        if !v.is_empty() {
            note = format!("median {} Gy", format_number(sig3(median(v))));
            label += &note;
        }
        if zeros > 0 {
            label += &format!(", {zeros} at 0 Gy not shown");
            note += &format!(" ({zeros} at 0 Gy)");
        }
        plot.corner_notes.push((note, colour(gi)));
        if skipped > 0 {
            label += &format!(", {skipped} invalid skipped");
        }
        label.push(')');
        let col = colour(gi);
        plot.fills.push(Fill {
            points: xs.iter().copied().zip(ys.iter().copied()).collect(),
            colour: col,
            alpha: 0.22,
        });
        let mut line = Line::new(label, xs, ys, col);
        line.width = 2;
        plot.lines.push(line);
    }
    // Even a single group gets a legend entry: it carries n and the median.
    plot.legend_always = true;
    // Headroom above the tallest bin for the legend (one row per group).
    let y_max = plot
        .lines
        .iter()
        .flat_map(|l| l.ys.iter().copied())
        .fold(0.0, f64::max);
    let top = if y_max > 0.0 { y_max } else { 1.0 };
    plot.y.range = Some((0.0, top * (1.1 + 0.12 * groups.len() as f64)));
    Ok(plot)
}

fn sig3(v: f64) -> f64 {
    format!("{v:.2e}").parse().unwrap_or(v)
}
