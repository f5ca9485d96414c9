//! Radial profile of a dose point kernel.

use super::xy::{Axis, Fill, Line, XyPlot};
use super::{check_lengths, colour, render, FigureTarget, WrittenFigure};
use crate::error::{ReportError, Result};

/// One radial dose profile: a computed kernel (with its uncertainty) or a reference curve.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelCurve {
    /// Legend text, e.g. "xfire 177Lu" or "reference (Graves 2019)".
    pub label: String,
    /// Distance from the point source \[mm\] (shell midpoints).
    pub r_mm: Vec<f64>,
    /// Absorbed dose per decay at that distance \[Gy per decay\]; zero and NaN values are
    /// skipped on the log axis. With [`RadialQuantity::EnergyPerRadius`] in
    /// [`radial_profile`]: energy deposited per unit radius per decay \[MeV/µm per decay\].
    pub gy_per_decay: Vec<f64>,
    /// One standard uncertainty of each value (same unit), drawn as a ±1σ band.
    pub sigma_gy_per_decay: Option<Vec<f64>>,
    /// Draw as a dashed reference curve (no band).
    pub reference: bool,
}

/// What a radial profile shows, and from where the distance is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RadialQuantity {
    /// Mean absorbed dose per decay in spherical shells around a point source \[Gy\] (log y).
    DosePerDecay,
    /// The same around the centre of a uniformly emitting source voxel \[Gy\] (log y).
    DosePerDecayVoxelSource,
    /// Cellular S values against the centre-to-centre distance of the target cell from the
    /// source cell \[Gy/(Bq·s) = Gy per decay\] (log y).
    CellSValue,
    /// Energy deposited per unit radius, dE/dr, around a point source \[MeV/µm per decay\]
    /// (linear y from zero): for a charged particle it peaks where the particle stops (the
    /// Bragg peak), while the dose, dE/dr ÷ 4πr²ρ, falls with r.
    EnergyPerRadius,
}

/// Dose per decay \[Gy\] against distance from a point source (µm below 0.5 mm, else mm), log
/// y axis (at most 8 decades), log x axis when `log_r`; computed curves solid with ±1σ bands,
/// reference curves dashed; writes `STEM.png` and `STEM.svg`.
///
/// Errors: no curves, a curve without points, unequal lengths.
pub fn kernel_radial_profile(
    target: &FigureTarget,
    title: &str,
    curves: &[KernelCurve],
    log_r: bool,
) -> Result<WrittenFigure> {
    radial_profile(target, title, curves, log_r, RadialQuantity::DosePerDecay)
}

/// As [`kernel_radial_profile`], for the quantity `quantity` (axis labels follow it).
pub fn radial_profile(
    target: &FigureTarget,
    title: &str,
    curves: &[KernelCurve],
    log_r: bool,
    quantity: RadialQuantity,
) -> Result<WrittenFigure> {
    let what = "kernel_radial_profile";
    if curves.is_empty() {
        return Err(ReportError::Empty {
            what: format!("{what}: curves"),
        });
    }
    for c in curves {
        let name = format!("{what}: curve '{}'", c.label);
        check_lengths(
            &name,
            "r_mm",
            c.r_mm.len(),
            "gy_per_decay",
            c.gy_per_decay.len(),
        )?;
        if let Some(s) = &c.sigma_gy_per_decay {
            check_lengths(&name, "r_mm", c.r_mm.len(), "sigma_gy_per_decay", s.len())?;
        }
        if c.r_mm.is_empty() {
            return Err(ReportError::Empty { what: name });
        }
    }
    let r_max = curves
        .iter()
        .flat_map(|c| &c.r_mm)
        .copied()
        .filter(|r| r.is_finite())
        .fold(0.0, f64::max);
    let what_x = match quantity {
        RadialQuantity::DosePerDecayVoxelSource => "Distance from the source-voxel centre",
        RadialQuantity::CellSValue => "Centre-to-centre distance of the target cell",
        _ => "Distance from the point source",
    };
    let (factor, x_label) = if r_max < 0.5 {
        (1000.0, format!("{what_x} (µm)"))
    } else {
        (1.0, format!("{what_x} (mm)"))
    };
    let x = if log_r {
        Axis::log(x_label, 12.0)
    } else {
        Axis::linear(x_label)
    };
    let y = match quantity {
        RadialQuantity::EnergyPerRadius => {
            let mut y = Axis::linear("dE/dr (MeV/µm per decay)");
            y.include_zero = true;
            y
        }
        RadialQuantity::CellSValue => Axis::log("S value (Gy/(Bq s) = Gy per decay)", 8.0),
        _ => Axis::log("Absorbed dose per decay (Gy)", 8.0),
    };
    let mut plot = XyPlot::new(title, x, y);
    if !log_r {
        plot.x.include_zero = true;
        plot.x.pad = false;
    }
    let mut computed = 0;
    for c in curves {
        let r: Vec<f64> = c.r_mm.iter().map(|r| r * factor).collect();
        let col = if c.reference {
            super::PALETTE[7]
        } else {
            colour(computed)
        };
        if !c.reference {
            computed += 1;
        }
        if let (Some(s), false) = (&c.sigma_gy_per_decay, c.reference) {
            let keep: Vec<usize> = (0..r.len())
                .filter(|&k| {
                    r[k].is_finite()
                        && c.gy_per_decay[k].is_finite()
                        && c.gy_per_decay[k] > 0.0
                        && s[k].is_finite()
                })
                .collect();
            if keep.len() > 1 {
                let mut pts: Vec<(f64, f64)> = keep
                    .iter()
                    .map(|&k| (r[k], c.gy_per_decay[k] + s[k]))
                    .collect();
                // Lower edge: a non-positive value is clamped to the bottom of the axis.
                pts.extend(
                    keep.iter()
                        .rev()
                        .map(|&k| (r[k], (c.gy_per_decay[k] - s[k]).max(0.0))),
                );
                plot.fills.push(Fill {
                    points: pts,
                    colour: col,
                    alpha: 0.25,
                });
            }
        }
        let mut line = Line::new(
            if c.sigma_gy_per_decay.is_some() && !c.reference {
                format!("{} (band: ±1σ)", c.label)
            } else {
                c.label.clone()
            },
            r,
            c.gy_per_decay.clone(),
            col,
        );
        line.dashed = c.reference;
        line.width = if c.reference { 2 } else { 3 };
        plot.lines.push(line);
    }
    // A single curve's label still says what the band is.
    plot.legend_always = !plot.fills.is_empty();
    render(target, &plot.resolve(what)?)
}
