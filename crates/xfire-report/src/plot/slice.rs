//! A 2D dose map (one slice of the voxel grid) with cell outlines and a colour bar.

use super::{format_tick, DrawCtx, Figure, Style};
use super::{render, FigureTarget, WrittenFigure};
use crate::error::{ReportError, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Colour scale of [`dose_slice`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColourScale {
    /// Linear from the lower to the upper bound.
    Linear,
    /// Logarithmic; values at or below the lower bound (zero included) get the lowest colour.
    Log,
}

/// One slice of a voxel dose map.
///
/// Pixel `(i, j)` is `values_gy[i + nx * j]`: `i` along x, `j` along y, `j = 0` at the
/// bottom (smallest y), as drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct DoseSlice<'a> {
    /// Number of voxels along x.
    pub nx: usize,
    /// Number of voxels along y.
    pub ny: usize,
    /// Value of each voxel, `nx * ny` of them [Gy, or the unit in `value_label`]; NaN is
    /// drawn light grey.
    pub values_gy: &'a [f64],
    /// Voxel size along x and y \[µm\].
    pub voxel_um: (f64, f64),
    /// Optional cell (or label) id of each voxel, same layout; a white outline is drawn
    /// wherever neighbouring voxels have different ids.
    pub outlines: Option<&'a [u32]>,
    /// Linear or logarithmic colours.
    pub scale: ColourScale,
    /// Colour range \[same unit as the values\]; `None`: from the data (log: at most 4 decades
    /// below the maximum, widened to whole decades).
    pub range: Option<(f64, f64)>,
    /// Colour-bar label with unit.
    pub value_label: String,
}

impl<'a> DoseSlice<'a> {
    /// A slice with log colours, automatic range, no outlines and the label
    /// "Absorbed dose (Gy)".
    pub fn new(nx: usize, ny: usize, values_gy: &'a [f64], voxel_um: (f64, f64)) -> Self {
        Self {
            nx,
            ny,
            values_gy,
            voxel_um,
            outlines: None,
            scale: ColourScale::Log,
            range: None,
            value_label: "Absorbed dose (Gy)".into(),
        }
    }
}

/// Viridis (matplotlib, CC0), sampled at 11 points and interpolated linearly.
const VIRIDIS: [(u8, u8, u8); 11] = [
    (68, 1, 84),
    (72, 36, 117),
    (65, 68, 135),
    (53, 95, 141),
    (42, 120, 142),
    (33, 145, 140),
    (34, 168, 132),
    (68, 191, 112),
    (122, 209, 81),
    (189, 223, 38),
    (253, 231, 37),
];

/// Viridis colour at `f` in \[0, 1\].
fn viridis(f: f64) -> (u8, u8, u8) {
    let f = if f.is_finite() {
        f.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = f * (VIRIDIS.len() - 1) as f64;
    let k = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let t = x - k as f64;
    let (a, b) = (VIRIDIS[k], VIRIDIS[k + 1]);
    let mix = |p: u8, q: u8| (f64::from(p) + t * (f64::from(q) - f64::from(p))).round() as u8;
    (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

const NAN_GREY: (u8, u8, u8) = (215, 215, 215);

struct SliceFigure<'a> {
    title: String,
    s: &'a DoseSlice<'a>,
    /// Colour range on the colour-bar axis (log10 units for a log scale).
    lo: f64,
    hi: f64,
    log: bool,
    /// Outline segments \[µm\], merged along rows/columns.
    segments: Vec<((f64, f64), (f64, f64))>,
}

impl SliceFigure<'_> {
    /// Position in \[0, 1\] of a value on the colour scale; `None` for NaN.
    fn frac(&self, v: f64) -> Option<f64> {
        if v.is_nan() {
            return None;
        }
        let t = if self.log {
            if v > 0.0 {
                v.log10()
            } else {
                f64::NEG_INFINITY
            }
        } else {
            v
        };
        Some(((t - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0))
    }
}

/// Outline segments between voxels of different id, merged into runs \[µm\].
fn outline_segments(
    nx: usize,
    ny: usize,
    ids: &[u32],
    d: (f64, f64),
) -> Vec<((f64, f64), (f64, f64))> {
    let id = |i: usize, j: usize| ids[i + nx * j];
    let mut segs = Vec::new();
    // Vertical edges between (i, j) and (i + 1, j), at x = (i + 1) dx.
    for i in 0..nx.saturating_sub(1) {
        let x = (i + 1) as f64 * d.0;
        let mut start: Option<usize> = None;
        for j in 0..=ny {
            let edge = j < ny && id(i, j) != id(i + 1, j);
            match (edge, start) {
                (true, None) => start = Some(j),
                (false, Some(j0)) => {
                    segs.push(((x, j0 as f64 * d.1), (x, j as f64 * d.1)));
                    start = None;
                }
                _ => {}
            }
        }
    }
    // Horizontal edges between (i, j) and (i, j + 1), at y = (j + 1) dy.
    for j in 0..ny.saturating_sub(1) {
        let y = (j + 1) as f64 * d.1;
        let mut start: Option<usize> = None;
        for i in 0..=nx {
            let edge = i < nx && id(i, j) != id(i, j + 1);
            match (edge, start) {
                (true, None) => start = Some(i),
                (false, Some(i0)) => {
                    segs.push(((i0 as f64 * d.0, y), (i as f64 * d.0, y)));
                    start = None;
                }
                _ => {}
            }
        }
    }
    segs
}

impl Figure for SliceFigure<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        st: &Style,
    ) -> std::result::Result<(), String> {
        let s = self.s;
        let (w_um, h_um) = (s.nx as f64 * s.voxel_um.0, s.ny as f64 * s.voxel_um.1);
        let area = root.titled(&self.title, st.title()).ctx("title")?;
        let (aw, _) = area.dim_in_pixel();
        let bar_w = st.px(175.0).min(aw / 3);
        let (main, bar) = area.split_horizontally(aw - bar_w);
        let (mw, mh) = main.dim_in_pixel();

        // Keep voxels square on screen: fit the plot box of aspect w_um : h_um.
        let (m, ylab, xlab) = (st.px(14.0), st.px(105.0), st.px(72.0));
        let avail_w = f64::from(mw.saturating_sub(ylab + 2 * m).max(10));
        let avail_h = f64::from(mh.saturating_sub(xlab + 2 * m).max(10));
        let aspect = w_um / h_um;
        let pw = avail_w.min(avail_h * aspect);
        let ph = pw / aspect;
        let ex = ((avail_w - pw) / 2.0).max(0.0) as u32;
        let ey = ((avail_h - ph) / 2.0).max(0.0) as u32;
        let mut chart = ChartBuilder::on(&main)
            .margin_left(m + ex)
            .margin_right(m + ex)
            .margin_top(m + ey)
            .margin_bottom(m + ey)
            .x_label_area_size(xlab)
            .y_label_area_size(ylab)
            .build_cartesian_2d(0.0..w_um, 0.0..h_um)
            .ctx("chart")?;
        let lin = |v: &f64| format_tick(false, *v);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .disable_y_mesh()
            .x_desc("x (µm)")
            .y_desc("y (µm)")
            .x_labels(7)
            .y_labels(7)
            .x_label_formatter(&lin)
            .y_label_formatter(&lin)
            .label_style(st.tick())
            .axis_desc_style(st.desc())
            .set_all_tick_mark_size(st.pxi(6.0))
            .draw()
            .ctx("axes")?;

        // The map as one bitmap at screen resolution (nearest voxel per screen pixel).
        let (px, py) = chart.plotting_area().dim_in_pixel();
        if px > 0 && py > 0 {
            let mut buf = Vec::with_capacity(px as usize * py as usize * 3);
            for r in 0..py {
                let y_um = h_um * (1.0 - (f64::from(r) + 0.5) / f64::from(py));
                let j = ((y_um / s.voxel_um.1) as usize).min(s.ny - 1);
                for c in 0..px {
                    let x_um = w_um * (f64::from(c) + 0.5) / f64::from(px);
                    let i = ((x_um / s.voxel_um.0) as usize).min(s.nx - 1);
                    let (rr, gg, bb) = self
                        .frac(s.values_gy[i + s.nx * j])
                        .map_or(NAN_GREY, viridis);
                    buf.extend([rr, gg, bb]);
                }
            }
            let img = BitMapElement::with_owned_buffer((0.0, h_um), (px, py), buf)
                .ok_or("bitmap buffer size")?;
            chart.draw_series(std::iter::once(img)).ctx("dose map")?;
        }
        let outline = WHITE.stroke_width(st.px(2.0).max(1));
        chart
            .draw_series(
                self.segments
                    .iter()
                    .map(|&(a, b)| PathElement::new(vec![a, b], outline)),
            )
            .ctx("cell outlines")?;
        // Frame around the map.
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![
                    (0.0, 0.0),
                    (w_um, 0.0),
                    (w_um, h_um),
                    (0.0, h_um),
                    (0.0, 0.0),
                ],
                BLACK.stroke_width(1),
            )))
            .ctx("frame")?;

        // Colour bar, aligned with the plot box.
        let (_, bh) = bar.dim_in_pixel();
        let top = m + ey;
        let bottom = m + ey + xlab;
        let mut cb = ChartBuilder::on(&bar)
            .margin_top(top)
            .margin_bottom(bottom.min(bh.saturating_sub(top + 20)))
            .margin_left(st.px(10.0))
            .margin_right(st.px(8.0))
            .right_y_label_area_size(bar_w.saturating_sub(st.px(48.0)))
            .build_cartesian_2d(0.0..1.0, self.lo..self.hi)
            .ctx("colour bar")?;
        let log = self.log;
        let fmt = move |v: &f64| format_tick(log, *v);
        let n_labels = if log {
            ((self.hi - self.lo).round() as usize + 1).clamp(2, 13)
        } else {
            7
        };
        cb.configure_mesh()
            .disable_x_mesh()
            .disable_y_mesh()
            .disable_x_axis()
            .y_desc(s.value_label.as_str())
            .y_labels(n_labels)
            .y_label_formatter(&fmt)
            .label_style(st.tick())
            .axis_desc_style(st.desc())
            .set_all_tick_mark_size(st.pxi(6.0))
            .draw()
            .ctx("colour bar axis")?;
        let steps = 128;
        let span = self.hi - self.lo;
        cb.draw_series((0..steps).map(|k| {
            let f0 = k as f64 / steps as f64;
            let f1 = (k + 1) as f64 / steps as f64;
            let (r, g, b) = viridis((f0 + f1) / 2.0);
            Rectangle::new(
                [(0.0, self.lo + f0 * span), (1.0, self.lo + f1 * span)],
                RGBColor(r, g, b).filled(),
            )
        }))
        .ctx("colour bar")?;
        cb.draw_series(std::iter::once(Rectangle::new(
            [(0.0, self.lo), (1.0, self.hi)],
            BLACK.stroke_width(1),
        )))
        .ctx("colour bar frame")?;
        Ok(())
    }
}

/// A dose map slice in viridis colours (log or linear), square voxels, white cell outlines
/// and a labelled colour bar; axes in µm. Writes `STEM.png` and `STEM.svg`.
///
/// Errors: an empty grid, `values_gy` or `outlines` not of length `nx * ny`, a voxel size
/// that is not positive, an invalid range, or no finite (log: positive) value.
pub fn dose_slice(
    target: &FigureTarget,
    title: &str,
    slice: &DoseSlice<'_>,
) -> Result<WrittenFigure> {
    let what = "dose_slice";
    if slice.nx == 0 || slice.ny == 0 {
        return Err(ReportError::Empty {
            what: format!("{what}: grid of {} × {} voxels", slice.nx, slice.ny),
        });
    }
    let n = slice
        .nx
        .checked_mul(slice.ny)
        .ok_or_else(|| ReportError::Invalid {
            what: format!("{what}: grid size"),
            reason: format!("{} × {} voxels overflows", slice.nx, slice.ny),
        })?;
    super::check_lengths(what, "nx × ny", n, "values_gy", slice.values_gy.len())?;
    if let Some(ids) = slice.outlines {
        super::check_lengths(what, "nx × ny", n, "outlines", ids.len())?;
    }
    let (dx, dy) = slice.voxel_um;
    if !(dx.is_finite() && dy.is_finite() && dx > 0.0 && dy > 0.0) {
        return Err(ReportError::Invalid {
            what: format!("{what}: voxel size"),
            reason: format!("({dx}, {dy}) µm must be positive and finite"),
        });
    }
    let log = slice.scale == ColourScale::Log;
    let finite = slice.values_gy.iter().copied().filter(|v| v.is_finite());
    let max = finite.clone().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = match slice.range {
        Some((a, b)) => {
            let ok = a.is_finite() && b.is_finite() && b > a && (!log || a > 0.0);
            if !ok {
                return Err(ReportError::Invalid {
                    what: format!("{what}: colour range"),
                    reason: format!(
                        "[{a}, {b}] must be increasing{}",
                        if log { " and positive (log scale)" } else { "" }
                    ),
                });
            }
            if log {
                (a.log10(), b.log10())
            } else {
                (a, b)
            }
        }
        None if log => {
            if max.is_nan() || max <= 0.0 {
                return Err(ReportError::NothingPlottable {
                    what: what.into(),
                    reason: "no voxel has a positive finite value (log colour scale)".into(),
                });
            }
            let min_pos = finite.filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
            let t_hi = max.log10();
            let t_lo = min_pos.log10().max(t_hi - 4.0);
            let (a, mut b) = (t_lo.floor(), t_hi.ceil());
            if b <= a {
                b = a + 1.0;
            }
            (a, b)
        }
        None => {
            if !max.is_finite() {
                return Err(ReportError::NothingPlottable {
                    what: what.into(),
                    reason: "every voxel is NaN or infinite".into(),
                });
            }
            let min = finite.fold(f64::INFINITY, f64::min).min(0.0);
            if max > min {
                (min, max)
            } else {
                (min, min + 1.0)
            }
        }
    };
    let segments = slice
        .outlines
        .map(|ids| outline_segments(slice.nx, slice.ny, ids, slice.voxel_um))
        .unwrap_or_default();
    let fig = SliceFigure {
        title: title.into(),
        s: slice,
        lo,
        hi,
        log,
        segments,
    };
    render(target, &fig)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outlines_follow_id_changes_and_merge_runs() {
        // 3 × 2 grid, a cell of id 1 in the left column.
        let ids = [1, 0, 0, 1, 0, 0];
        let segs = outline_segments(3, 2, &ids, (2.0, 2.0));
        assert_eq!(segs, vec![((2.0, 0.0), (2.0, 4.0))]);
    }

    #[test]
    fn viridis_ends() {
        assert_eq!(viridis(0.0), VIRIDIS[0]);
        assert_eq!(viridis(1.0), VIRIDIS[10]);
        assert_eq!(viridis(f64::NAN), VIRIDIS[0]);
    }
}
