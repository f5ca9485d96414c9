//! The shared engine for line charts: axes (linear, or log10 drawn on a linear axis with
//! decade labels), clipping, lines, filled polygons, reference lines, markers and a legend.

use super::{format_tick, DrawCtx, Figure, Style};
use crate::error::{ReportError, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

/// One axis of an [`XyPlot`].
#[derive(Debug, Clone)]
pub(crate) struct Axis {
    /// Quantity and unit, e.g. "Time after administration (d)".
    pub label: String,
    /// Logarithmic axis; non-positive values are skipped.
    pub log: bool,
    /// Fixed range in data units; `None`: from the data.
    pub range: Option<(f64, f64)>,
    /// Stretch an automatic linear range to include zero.
    pub include_zero: bool,
    /// Pad an automatic linear range by 5 % at the ends not pinned at zero.
    pub pad: bool,
    /// On a log axis, show at most this many decades below the maximum.
    pub max_decades: f64,
}

impl Axis {
    pub fn linear(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            log: false,
            range: None,
            include_zero: false,
            pad: true,
            max_decades: 12.0,
        }
    }
    pub fn log(label: impl Into<String>, max_decades: f64) -> Self {
        Self {
            log: true,
            max_decades,
            ..Self::linear(label)
        }
    }
    /// The value on the drawn (linear) axis: log10 on a log axis; `None` when not drawable.
    pub fn t(&self, v: f64) -> Option<f64> {
        if !v.is_finite() {
            None
        } else if self.log {
            (v > 0.0).then(|| v.log10())
        } else {
            Some(v)
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub label: String,
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
    pub colour: RGBColor,
    pub dashed: bool,
    pub width: u32,
    pub markers: bool,
    /// Whether the line enters the legend.
    pub in_legend: bool,
}

impl Line {
    pub fn new(label: impl Into<String>, xs: Vec<f64>, ys: Vec<f64>, colour: RGBColor) -> Self {
        Self {
            label: label.into(),
            xs,
            ys,
            colour,
            dashed: false,
            width: 3,
            markers: false,
            in_legend: true,
        }
    }
}

/// A filled polygon in data units (clamped to the axes).
#[derive(Debug, Clone)]
pub(crate) struct Fill {
    pub points: Vec<(f64, f64)>,
    pub colour: RGBColor,
    pub alpha: f64,
}

/// A dashed reference line across the plot with a text label.
#[derive(Debug, Clone)]
pub(crate) struct RefLine {
    pub horizontal: bool,
    pub at: f64,
    pub text: String,
    pub colour: RGBColor,
}

/// Shape of a [`Mark`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MarkShape {
    /// Filled circle with a black outline.
    Circle,
    /// Open square (white fill, coloured outline).
    Square,
}

/// A marker at a point.
#[derive(Debug, Clone)]
pub(crate) struct Mark {
    pub x: f64,
    pub y: f64,
    pub colour: RGBColor,
    pub shape: MarkShape,
}

/// An entry of a legend drawn beside the plot: a line sample (solid or dashed) or a marker,
/// and its text.
#[derive(Debug, Clone)]
pub(crate) struct LegendEntry {
    pub text: String,
    pub colour: RGBColor,
    pub dashed: bool,
    /// Draw this marker instead of a line sample.
    pub mark: Option<MarkShape>,
}

impl LegendEntry {
    pub fn line(text: impl Into<String>, colour: RGBColor, dashed: bool) -> Self {
        Self {
            text: text.into(),
            colour,
            dashed,
            mark: None,
        }
    }
    pub fn mark(text: impl Into<String>, colour: RGBColor, shape: MarkShape) -> Self {
        Self {
            text: text.into(),
            colour,
            dashed: false,
            mark: Some(shape),
        }
    }
}

/// Width \[px\] of a legend column holding `entries` in the style `st`.
pub(crate) fn legend_width(entries: &[LegendEntry], st: &Style) -> u32 {
    let font = st.legend().font;
    let text_w = entries
        .iter()
        .map(|e| font.box_size(&e.text).map(|b| b.0).unwrap_or(0))
        .max()
        .unwrap_or(0);
    text_w + st.px(44.0) + st.px(30.0)
}

/// Draws `entries` top-down in `area` (a column beside a plot, or a strip above panels
/// when `columns` > 1).
pub(crate) fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    st: &Style,
    top: i32,
    columns: usize,
) -> std::result::Result<(), String> {
    let (w, _) = area.dim_in_pixel();
    let row_h = st.pxi(30.0);
    let columns = columns.max(1);
    let col_w = (w as i32) / columns as i32;
    let sample = st.pxi(34.0);
    for (k, e) in entries.iter().enumerate() {
        let (col, row) = ((k % columns) as i32, (k / columns) as i32);
        let x0 = st.pxi(8.0) + col * col_w;
        let y = top + row * row_h + row_h / 2;
        let style = e.colour.stroke_width(st.px(3.0));
        match e.mark {
            Some(shape) => draw_mark_px(area, (x0 + sample / 2, y), shape, e.colour, st)?,
            None if e.dashed => {
                for (a, b) in [(0, sample / 3), (2 * sample / 3, sample)] {
                    area.draw(&PathElement::new(vec![(x0 + a, y), (x0 + b, y)], style))
                        .ctx("legend")?;
                }
            }
            None => area
                .draw(&PathElement::new(vec![(x0, y), (x0 + sample, y)], style))
                .ctx("legend")?,
        }
        area.draw(&Text::new(
            e.text.clone(),
            (x0 + sample + st.pxi(10.0), y - st.pxi(10.0)),
            st.legend(),
        ))
        .ctx("legend")?;
    }
    Ok(())
}

/// A marker in pixel coordinates of `area`.
fn draw_mark_px<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    at: (i32, i32),
    shape: MarkShape,
    colour: RGBColor,
    st: &Style,
) -> std::result::Result<(), String> {
    let r = st.pxi(8.0);
    match shape {
        MarkShape::Circle => {
            area.draw(&Circle::new(at, r, colour.filled()))
                .ctx("marker")?;
            area.draw(&Circle::new(at, r, BLACK.stroke_width(1)))
                .ctx("marker")
        }
        MarkShape::Square => {
            let r = r - 1;
            let rect = [(at.0 - r, at.1 - r), (at.0 + r, at.1 + r)];
            area.draw(&Rectangle::new(rect, WHITE.filled()))
                .ctx("marker")?;
            area.draw(&Rectangle::new(rect, colour.stroke_width(st.px(3.0))))
                .ctx("marker")
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct XyPlot {
    pub title: String,
    pub x: Axis,
    pub y: Axis,
    pub lines: Vec<Line>,
    pub fills: Vec<Fill>,
    pub ref_lines: Vec<RefLine>,
    pub marks: Vec<Mark>,
    /// Legend corner; `None`: the corner that hides the fewest line points.
    pub legend_pos: Option<SeriesLabelPosition>,
    /// Draw the legend even for a single line (when its label carries information).
    pub legend_always: bool,
    /// Draw the legend in a column right of the plot (never over the data); with
    /// `extra_legend` entries after those of the lines.
    pub legend_outside: bool,
    /// Legend entries that are not lines (markers, reference lines), for an outside legend.
    pub extra_legend: Vec<LegendEntry>,
    /// No legend at all (panels of a figure with a common legend).
    pub no_legend: bool,
    /// Short coloured lines of text in the upper-left corner of the plot area (e.g. the
    /// medians of a histogram panel whose legend is shared).
    pub corner_notes: Vec<(String, RGBColor)>,
}

/// Axis range on the drawn axis (log10 units on a log axis).
fn auto_range(axis: &Axis, values: &[f64], what: &str) -> Result<(f64, f64)> {
    if let Some((a, b)) = axis.range {
        let (ta, tb) = match (axis.t(a), axis.t(b)) {
            (Some(ta), Some(tb)) if tb > ta => (ta, tb),
            _ => {
                return Err(ReportError::Invalid {
                    what: format!("{what}: axis range of '{}'", axis.label),
                    reason: format!(
                        "[{a}, {b}] must be increasing{}",
                        if axis.log { " and positive" } else { "" }
                    ),
                })
            }
        };
        return Ok((ta, tb));
    }
    let ts: Vec<f64> = values.iter().filter_map(|&v| axis.t(v)).collect();
    if ts.is_empty() {
        return Err(ReportError::NothingPlottable {
            what: what.into(),
            reason: format!(
                "every value on the axis '{}' is NaN or infinite{}",
                axis.label,
                if axis.log {
                    " or not positive (log axis)"
                } else {
                    ""
                }
            ),
        });
    }
    let mut lo = ts.iter().copied().fold(f64::INFINITY, f64::min);
    let mut hi = ts.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if axis.log {
        lo = lo.max(hi - axis.max_decades);
        let (mut a, mut b) = (lo.floor(), hi.ceil());
        if b - a < 1.0 {
            b = a + 1.0;
            if (hi - b).abs() < 1e-12 {
                a -= 1.0;
            }
        }
        return Ok((a, b));
    }
    if axis.include_zero {
        lo = lo.min(0.0);
        hi = hi.max(0.0);
    }
    let span = hi - lo;
    if span <= 0.0 {
        let d = if hi == 0.0 { 1.0 } else { 0.1 * hi.abs() };
        return Ok((lo - d, hi + d));
    }
    if axis.pad {
        if !(axis.include_zero && lo == 0.0) {
            lo -= 0.05 * span;
        }
        if !(axis.include_zero && hi == 0.0) {
            hi += 0.05 * span;
        }
    }
    Ok((lo, hi))
}

type Pt = (f64, f64);
/// A clipped segment: start, end, whether the start moved, whether the end moved.
type Clipped = (Pt, Pt, bool, bool);

/// Liang–Barsky: the part of segment p→q inside the box, with flags "start moved", "end moved".
fn clip(p: (f64, f64), q: (f64, f64), xr: (f64, f64), yr: (f64, f64)) -> Option<Clipped> {
    let (dx, dy) = (q.0 - p.0, q.1 - p.1);
    let mut t0 = 0.0f64;
    let mut t1 = 1.0f64;
    for (pk, qk) in [
        (-dx, p.0 - xr.0),
        (dx, xr.1 - p.0),
        (-dy, p.1 - yr.0),
        (dy, yr.1 - p.1),
    ] {
        if pk == 0.0 {
            if qk < 0.0 {
                return None;
            }
        } else {
            let r = qk / pk;
            if pk < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    let a = (p.0 + t0 * dx, p.1 + t0 * dy);
    let b = (p.0 + t1 * dx, p.1 + t1 * dy);
    Some((a, b, t0 > 0.0, t1 < 1.0))
}

/// Splits a line (drawn-axis units, `None` = gap) into visible polylines and isolated points.
fn visible_parts(
    pts: &[Option<(f64, f64)>],
    xr: (f64, f64),
    yr: (f64, f64),
) -> (Vec<Vec<Pt>>, Vec<Pt>) {
    let inside = |p: (f64, f64)| p.0 >= xr.0 && p.0 <= xr.1 && p.1 >= yr.0 && p.1 <= yr.1;
    let mut polys: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut isolated = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    for (k, p) in pts.iter().enumerate() {
        let Some(p) = *p else {
            if current.len() > 1 {
                polys.push(std::mem::take(&mut current));
            }
            current.clear();
            continue;
        };
        let prev = if k > 0 { pts[k - 1] } else { None };
        let next = pts.get(k + 1).copied().flatten();
        if prev.is_none() && next.is_none() && inside(p) {
            isolated.push(p);
        }
        let Some(q) = next else { continue };
        match clip(p, q, xr, yr) {
            Some((a, b, a_moved, b_moved)) => {
                if a_moved || current.is_empty() {
                    if current.len() > 1 {
                        polys.push(std::mem::take(&mut current));
                    }
                    current = vec![a];
                }
                current.push(b);
                if b_moved {
                    polys.push(std::mem::take(&mut current));
                }
            }
            None => {
                if current.len() > 1 {
                    polys.push(std::mem::take(&mut current));
                }
                current.clear();
            }
        }
    }
    if current.len() > 1 {
        polys.push(current);
    }
    (polys, isolated)
}

/// Splits a polyline (drawn-axis units; `px` pixels per unit along x and y) at vertices
/// where it turns by more than 120°: a thick bitmap line joins segments with an unlimited
/// miter, so a sawtooth (a dose rate jumping up at each administration) would draw a spike
/// far outside the plot, through the title.
fn split_sharp_turns(poly: Vec<Pt>, px: (f64, f64)) -> Vec<Vec<Pt>> {
    let mut out = Vec::new();
    let mut cur: Vec<Pt> = Vec::with_capacity(poly.len());
    for (i, &p) in poly.iter().enumerate() {
        cur.push(p);
        if i == 0 || i + 1 == poly.len() {
            continue;
        }
        let (a, b) = (poly[i - 1], poly[i + 1]);
        let d1 = ((p.0 - a.0) * px.0, (p.1 - a.1) * px.1);
        let d2 = ((b.0 - p.0) * px.0, (b.1 - p.1) * px.1);
        let n = d1.0.hypot(d1.1) * d2.0.hypot(d2.1);
        if n > 0.0 && (d1.0 * d2.0 + d1.1 * d2.1) / n < -0.5 {
            out.push(std::mem::take(&mut cur));
            cur.push(p);
        }
    }
    if cur.len() > 1 {
        out.push(cur);
    }
    out
}

impl XyPlot {
    pub fn new(title: impl Into<String>, x: Axis, y: Axis) -> Self {
        Self {
            title: title.into(),
            x,
            y,
            lines: Vec::new(),
            fills: Vec::new(),
            ref_lines: Vec::new(),
            marks: Vec::new(),
            legend_pos: None,
            legend_always: false,
            legend_outside: false,
            extra_legend: Vec::new(),
            no_legend: false,
            corner_notes: Vec::new(),
        }
    }

    /// The legend entries of the lines (in order) and the extra entries.
    fn legend_entries(&self) -> Vec<LegendEntry> {
        self.lines
            .iter()
            .filter(|l| l.in_legend)
            .map(|l| LegendEntry::line(l.label.clone(), l.colour, l.dashed))
            .chain(self.extra_legend.iter().cloned())
            .collect()
    }

    /// Computes the axis ranges; fails when nothing can be drawn.
    pub fn resolve(self, what: &str) -> Result<ResolvedXy> {
        let mut xs: Vec<f64> = Vec::new();
        let mut ys: Vec<f64> = Vec::new();
        for l in &self.lines {
            for (&x, &y) in l.xs.iter().zip(&l.ys) {
                if self.x.t(x).is_some() && self.y.t(y).is_some() {
                    xs.push(x);
                    ys.push(y);
                }
            }
        }
        if xs.is_empty() {
            let reason = format!(
                "every point is NaN or infinite{}",
                if self.x.log || self.y.log {
                    ", or not positive on a log axis"
                } else {
                    ""
                }
            );
            return Err(ReportError::NothingPlottable {
                what: what.into(),
                reason,
            });
        }
        for r in &self.ref_lines {
            if r.horizontal {
                ys.push(r.at);
            } else {
                xs.push(r.at);
            }
        }
        let xr = auto_range(&self.x, &xs, what)?;
        let yr = auto_range(&self.y, &ys, what)?;
        Ok(ResolvedXy { plot: self, xr, yr })
    }
}

/// Pins both axes of every plot to the union of their automatic ranges (common scales for
/// panels); axes with a fixed range keep it.
pub(crate) fn pin_common_ranges(plots: &mut [XyPlot], what: &str) -> Result<()> {
    let (mut xs, mut ys) = (Vec::new(), Vec::new());
    for p in plots.iter() {
        for l in &p.lines {
            for (&x, &y) in l.xs.iter().zip(&l.ys) {
                if p.x.t(x).is_some() && p.y.t(y).is_some() {
                    xs.push(x);
                    ys.push(y);
                }
            }
        }
    }
    let Some(first) = plots.first() else {
        return Ok(());
    };
    let untransform = |ax: &Axis, r: (f64, f64)| {
        if ax.log {
            (10f64.powf(r.0), 10f64.powf(r.1))
        } else {
            r
        }
    };
    let xr = untransform(&first.x, auto_range(&first.x, &xs, what)?);
    let yr = untransform(&first.y, auto_range(&first.y, &ys, what)?);
    for p in plots.iter_mut() {
        p.x.range.get_or_insert(xr);
        p.y.range.get_or_insert(yr);
    }
    Ok(())
}

/// An [`XyPlot`] with its ranges on the drawn axes.
pub(crate) struct ResolvedXy {
    plot: XyPlot,
    xr: (f64, f64),
    yr: (f64, f64),
}

impl ResolvedXy {
    /// The legend position whose box covers the fewest points of the drawn lines (sampled
    /// along each segment), reference lines and their labels, and markers.
    fn best_legend_corner(&self, st: &Style, plot_px: (u32, u32)) -> SeriesLabelPosition {
        let candidates = self.legend_candidates(st, plot_px);
        let (xr, yr) = (self.xr, self.yr);
        let mut counts = [0usize; 8];
        self.for_each_obstacle(st, plot_px, |q: Pt, weight: usize| {
            let fx = (q.0 - xr.0) / (xr.1 - xr.0);
            let fy = (q.1 - yr.0) / (yr.1 - yr.0);
            for (k, (_, bx, by)) in candidates.iter().enumerate() {
                if fx >= bx.0 && fx <= bx.1 && fy >= by.0 && fy <= by.1 {
                    counts[k] += weight;
                }
            }
        });
        let best = (0..candidates.len())
            .min_by_key(|&k| (counts[k], k))
            .unwrap_or(0);
        candidates[best].0.clone()
    }

    /// Candidate legend boxes in fractions of the plot area (x to the right, y up), in order
    /// of preference, sized for the legend's entries.
    fn legend_candidates(&self, st: &Style, plot_px: (u32, u32)) -> [LegendBox; 8] {
        let font = st.legend().font;
        let labels: Vec<&Line> = self.plot.lines.iter().filter(|l| l.in_legend).collect();
        let text_w = labels
            .iter()
            .map(|l| font.box_size(&l.label).map(|b| b.0).unwrap_or(0))
            .max()
            .unwrap_or(0);
        let box_w = f64::from(text_w + st.px(44.0) + 3 * st.px(12.0));
        let box_h =
            labels.len() as f64 * 1.6 * 19.0 * st.px(1.0) as f64 + f64::from(3 * st.px(12.0));
        let fw = (box_w / f64::from(plot_px.0.max(1))).min(1.0);
        let fh = (box_h / f64::from(plot_px.1.max(1))).min(1.0);
        use SeriesLabelPosition as P;
        let xs = [(1.0 - fw, 1.0), (0.0, fw), (0.5 - fw / 2.0, 0.5 + fw / 2.0)];
        let ys = [(1.0 - fh, 1.0), (0.0, fh), (0.5 - fh / 2.0, 0.5 + fh / 2.0)];
        [
            (P::UpperRight, xs[0], ys[0]),
            (P::UpperLeft, xs[1], ys[0]),
            (P::LowerRight, xs[0], ys[1]),
            (P::LowerLeft, xs[1], ys[1]),
            (P::MiddleRight, xs[0], ys[2]),
            (P::MiddleLeft, xs[1], ys[2]),
            (P::UpperMiddle, xs[2], ys[0]),
            (P::LowerMiddle, xs[2], ys[1]),
        ]
    }

    /// Calls `count(point, weight)` for what a legend box should not cover: points sampled
    /// along the visible parts of every line (weight 1), along reference lines (1) and their
    /// labels (3), and the marks (20).
    fn for_each_obstacle(&self, st: &Style, plot_px: (u32, u32), mut count: impl FnMut(Pt, usize)) {
        let (p, xr, yr) = (&self.plot, self.xr, self.yr);
        let sample = |a: Pt, b: Pt, n: u32| {
            (0..=n).map(move |k| {
                let f = f64::from(k) / f64::from(n);
                (a.0 + f * (b.0 - a.0), a.1 + f * (b.1 - a.1))
            })
        };
        for line in &p.lines {
            let pts: Vec<Option<Pt>> = line
                .xs
                .iter()
                .zip(&line.ys)
                .map(|(&x, &y)| Some((p.x.t(x)?, p.y.t(y)?)))
                .collect();
            let (polys, isolated) = visible_parts(&pts, xr, yr);
            for poly in &polys {
                for w in poly.windows(2) {
                    // About 300 samples per plot width, so long straight segments count fully.
                    let len = ((w[1].0 - w[0].0) / (xr.1 - xr.0))
                        .hypot((w[1].1 - w[0].1) / (yr.1 - yr.0));
                    let n = (len * 300.0).ceil().clamp(1.0, 1000.0) as u32;
                    sample(w[0], w[1], n).for_each(|q| count(q, 1));
                }
            }
            isolated.into_iter().for_each(|q| count(q, 1));
        }
        let font = st.legend().font;
        for r in &p.ref_lines {
            let t = if r.horizontal {
                p.y.t(r.at)
            } else {
                p.x.t(r.at)
            };
            let Some(t) = t else { continue };
            let (a, b) = if r.horizontal {
                ((xr.0, t), (xr.1, t))
            } else {
                ((t, yr.0), (t, yr.1))
            };
            sample(a, b, 300).for_each(|q| count(q, 1));
            if r.horizontal && !r.text.is_empty() {
                // The label sits above the left end of the line.
                let w = font.box_size(&r.text).map(|b| b.0).unwrap_or(0);
                let dx = f64::from(w + st.px(10.0)) / f64::from(plot_px.0.max(1)) * (xr.1 - xr.0);
                let dy = f64::from(st.px(28.0)) / f64::from(plot_px.1.max(1)) * (yr.1 - yr.0);
                sample((xr.0, t + dy), (xr.0 + dx, t + dy), 20).for_each(|q| count(q, 3));
            }
        }
        for m in &p.marks {
            if let (Some(x), Some(y)) = (p.x.t(m.x), p.y.t(m.y)) {
                count((x, y), 20);
            }
        }
    }
}

/// A candidate legend position with its box: x and y extents in fractions of the plot area.
type LegendBox = (SeriesLabelPosition, (f64, f64), (f64, f64));

fn label_count(axis: &Axis, r: (f64, f64)) -> usize {
    if axis.log {
        ((r.1 - r.0).round() as usize + 1).clamp(2, 13)
    } else {
        9
    }
}

impl Figure for ResolvedXy {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        st: &Style,
    ) -> std::result::Result<(), String> {
        let p = &self.plot;
        if p.legend_outside && !p.no_legend {
            let entries = p.legend_entries();
            let (w, _) = root.dim_in_pixel();
            let lw = legend_width(&entries, st).min(w / 2);
            let (left, right) = root.split_horizontally(w - lw);
            self.draw_chart(&left, st)?;
            // below the title, level with the top of the plot area
            return draw_legend(&right, &entries, st, st.pxi(70.0), 1);
        }
        self.draw_chart(root, st)
    }
}

/// The chart of an [`XyPlot`]: data coordinates on both (possibly log10) axes.
type Chart<'a, DB> = ChartContext<
    'a,
    DB,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;
type Drawn = std::result::Result<(), String>;

impl ResolvedXy {
    /// Axes, grids, filled areas, reference lines, lines, markers, notes and the legend
    /// inside the plot area, in that order (later ones on top).
    fn draw_chart<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>, st: &Style) -> Drawn {
        let p = &self.plot;
        let (xr, yr) = (self.xr, self.yr);
        let mut chart = ChartBuilder::on(root)
            .caption(&p.title, st.title())
            .margin(st.px(18.0))
            .margin_right(st.px(36.0))
            .x_label_area_size(st.px(70.0))
            .y_label_area_size(st.px(115.0))
            .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
            .ctx("chart")?;
        self.draw_axes(&mut chart, st)?;
        self.draw_minor_grid(&mut chart)?;
        self.draw_fills(&mut chart)?;
        self.draw_ref_lines(&mut chart, st)?;
        let plot_px = chart.plotting_area().dim_in_pixel();
        let inside_legend = !p.legend_outside && !p.no_legend;
        let legend_pos = match &p.legend_pos {
            Some(pos) => pos.clone(),
            None => self.best_legend_corner(st, plot_px),
        };
        for line in &p.lines {
            self.draw_line(&mut chart, st, line, plot_px, inside_legend)?;
        }
        self.draw_marks(&mut chart, st)?;
        self.draw_corner_notes(&chart, st)?;
        let n_legend = p.lines.iter().filter(|l| l.in_legend).count();
        if inside_legend && (n_legend > 1 || (n_legend == 1 && p.legend_always)) {
            chart
                .configure_series_labels()
                .position(legend_pos)
                .margin(st.px(12.0))
                .legend_area_size(st.px(44.0))
                .label_font(st.legend())
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.4))
                .draw()
                .ctx("legend")?;
        }
        Ok(())
    }

    /// Axes, tick labels (decades on log axes) and the major grid.
    fn draw_axes<DB: DrawingBackend>(&self, chart: &mut Chart<DB>, st: &Style) -> Drawn {
        let p = &self.plot;
        let xlog = p.x.log;
        let ylog = p.y.log;
        let x_fmt = move |v: &f64| format_tick(xlog, *v);
        let y_fmt = move |v: &f64| format_tick(ylog, *v);
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(p.x.label.as_str())
            .y_desc(p.y.label.as_str())
            .x_labels(label_count(&p.x, self.xr))
            .y_labels(label_count(&p.y, self.yr))
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style(st.tick())
            .axis_desc_style(st.desc())
            .bold_line_style(BLACK.mix(0.15))
            .axis_style(BLACK.stroke_width(1))
            .x_label_offset(0)
            .set_all_tick_mark_size(st.pxi(6.0));
        if xlog || ylog {
            mesh.light_line_style(TRANSPARENT);
        } else {
            mesh.light_line_style(BLACK.mix(0.05));
        }
        mesh.draw().ctx("axes")
    }

    /// Minor decade grid (2…9 × 10ᵏ) on log axes of moderate span.
    fn draw_minor_grid<DB: DrawingBackend>(&self, chart: &mut Chart<DB>) -> Drawn {
        let (xr, yr) = (self.xr, self.yr);
        let minor = BLACK.mix(0.06);
        for (log, r, vertical) in [(self.plot.x.log, xr, true), (self.plot.y.log, yr, false)] {
            if !log || r.1 - r.0 > 5.0 {
                continue;
            }
            let mut k = r.0.floor();
            while k < r.1 {
                for m in 2..10 {
                    let t = k + f64::from(m).log10();
                    if t > r.0 && t < r.1 {
                        let seg = if vertical {
                            vec![(t, yr.0), (t, yr.1)]
                        } else {
                            vec![(xr.0, t), (xr.1, t)]
                        };
                        chart
                            .draw_series(std::iter::once(PathElement::new(seg, minor)))
                            .ctx("minor grid")?;
                    }
                }
                k += 1.0;
            }
        }
        Ok(())
    }

    /// The filled areas, clamped to the plot area (points below a log axis at its bottom).
    fn draw_fills<DB: DrawingBackend>(&self, chart: &mut Chart<DB>) -> Drawn {
        let (p, xr, yr) = (&self.plot, self.xr, self.yr);
        let clamp = |v: f64, r: (f64, f64)| v.clamp(r.0, r.1);
        for f in &p.fills {
            let pts: Vec<(f64, f64)> = f
                .points
                .iter()
                .filter_map(|&(x, y)| {
                    let tx = p.x.t(x)?;
                    let ty = p.y.t(y).unwrap_or(yr.0);
                    Some((clamp(tx, xr), clamp(ty, yr)))
                })
                .collect();
            if pts.len() > 2 {
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        pts,
                        f.colour.mix(f.alpha).filled(),
                    )))
                    .ctx("filled area")?;
            }
        }
        Ok(())
    }

    /// The dashed reference lines inside the ranges, with their labels.
    fn draw_ref_lines<DB: DrawingBackend>(&self, chart: &mut Chart<DB>, st: &Style) -> Drawn {
        let (p, xr, yr) = (&self.plot, self.xr, self.yr);
        for r in &p.ref_lines {
            let (t, range) = if r.horizontal {
                (p.y.t(r.at), yr)
            } else {
                (p.x.t(r.at), xr)
            };
            let Some(t) = t.filter(|t| *t >= range.0 && *t <= range.1) else {
                continue;
            };
            let seg = if r.horizontal {
                vec![(xr.0, t), (xr.1, t)]
            } else {
                vec![(t, yr.0), (t, yr.1)]
            };
            chart
                .draw_series(DashedLineSeries::new(
                    seg,
                    st.px(10.0),
                    st.px(7.0),
                    r.colour.stroke_width(2),
                ))
                .ctx("reference line")?;
            if !r.text.is_empty() {
                let anchor = if r.horizontal { (xr.0, t) } else { (t, yr.1) };
                let off = if r.horizontal {
                    (st.pxi(8.0), -st.pxi(26.0))
                } else {
                    (st.pxi(6.0), st.pxi(6.0))
                };
                let text = EmptyElement::at(anchor)
                    + Text::new(r.text.clone(), off, st.legend().color(&r.colour));
                chart
                    .draw_series(std::iter::once(text))
                    .ctx("reference label")?;
            }
        }
        Ok(())
    }

    /// One line: its visible parts (split at gaps, the plot border and sharp turns), solid
    /// or dashed, its legend entry on the first part, and its markers (every visible point,
    /// or the isolated ones).
    fn draw_line<'a, DB: DrawingBackend + 'a>(
        &self,
        chart: &mut Chart<'a, DB>,
        st: &Style,
        line: &Line,
        (pw, ph): (u32, u32),
        inside_legend: bool,
    ) -> Drawn {
        let (p, xr, yr) = (&self.plot, self.xr, self.yr);
        let pts: Vec<Option<(f64, f64)>> = line
            .xs
            .iter()
            .zip(&line.ys)
            .map(|(&x, &y)| Some((p.x.t(x)?, p.y.t(y)?)))
            .collect();
        let (polys, isolated) = visible_parts(&pts, xr, yr);
        let style = line
            .colour
            .stroke_width(st.px(f64::from(line.width)).max(1));
        let mut labelled = false;
        let dash = (st.px(12.0), st.px(8.0));
        let px = (
            f64::from(pw) / (xr.1 - xr.0).max(f64::MIN_POSITIVE),
            f64::from(ph) / (yr.1 - yr.0).max(f64::MIN_POSITIVE),
        );
        let mut parts: Vec<Vec<(f64, f64)>> = polys
            .into_iter()
            .flat_map(|p| split_sharp_turns(p, px))
            .collect();
        if parts.is_empty() {
            parts.push(Vec::new());
        }
        for poly in parts {
            let anno = if line.dashed {
                chart
                    .draw_series(DashedLineSeries::new(poly, dash.0, dash.1, style))
                    .ctx("line")?
            } else {
                chart
                    .draw_series(LineSeries::new(poly, style))
                    .ctx("line")?
            };
            if inside_legend && line.in_legend && !labelled {
                labelled = true;
                let dashed = line.dashed;
                let w = st.pxi(34.0);
                anno.label(line.label.clone()).legend(move |(x, y)| {
                    let (a, b) = if dashed { (w / 3, 2 * w / 3) } else { (w, w) };
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (a, 0)], style)
                        + PathElement::new(vec![(b, 0), (w, 0)], style)
                });
            }
        }
        let marker_pts: Vec<(f64, f64)> = if line.markers {
            pts.iter()
                .flatten()
                .copied()
                .filter(|q| q.0 >= xr.0 && q.0 <= xr.1 && q.1 >= yr.0 && q.1 <= yr.1)
                .collect()
        } else {
            isolated
        };
        let r = st.px(4.5);
        chart
            .draw_series(
                marker_pts
                    .into_iter()
                    .map(|q| Circle::new(q, r, line.colour.filled())),
            )
            .ctx("markers")?;
        Ok(())
    }

    /// The single marks inside the ranges: filled circles or open squares.
    fn draw_marks<DB: DrawingBackend>(&self, chart: &mut Chart<DB>, st: &Style) -> Drawn {
        let (p, xr, yr) = (&self.plot, self.xr, self.yr);
        for m in &p.marks {
            let (Some(tx), Some(ty)) = (p.x.t(m.x), p.y.t(m.y)) else {
                continue;
            };
            if tx < xr.0 || tx > xr.1 || ty < yr.0 || ty > yr.1 {
                continue;
            }
            let r = st.pxi(8.0);
            match m.shape {
                MarkShape::Circle => {
                    let el = EmptyElement::at((tx, ty))
                        + Circle::new((0, 0), r, m.colour.filled())
                        + Circle::new((0, 0), r, BLACK.stroke_width(1));
                    chart.draw_series(std::iter::once(el)).ctx("marker")?;
                }
                MarkShape::Square => {
                    let q = r - 1;
                    let el = EmptyElement::at((tx, ty))
                        + Rectangle::new([(-q, -q), (q, q)], WHITE.filled())
                        + Rectangle::new([(-q, -q), (q, q)], m.colour.stroke_width(st.px(3.0)));
                    chart.draw_series(std::iter::once(el)).ctx("marker")?;
                }
            }
        }
        Ok(())
    }

    /// The notes in the upper left corner of the plot area, one per row.
    fn draw_corner_notes<DB: DrawingBackend>(&self, chart: &Chart<DB>, st: &Style) -> Drawn {
        let area = chart.plotting_area().strip_coord_spec();
        for (k, (text, col)) in self.plot.corner_notes.iter().enumerate() {
            let y = st.pxi(8.0) + k as i32 * st.pxi(24.0);
            area.draw(&Text::new(
                text.clone(),
                (st.pxi(10.0), y),
                st.legend().color(col),
            ))
            .ctx("note")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_keeps_inside_and_cuts_at_the_border() {
        let r = (0.0, 1.0);
        let (a, b, am, bm) = clip((0.5, 0.5), (1.5, 0.5), r, r).unwrap();
        assert_eq!((a, b, am, bm), ((0.5, 0.5), (1.0, 0.5), false, true));
        assert!(clip((2.0, 2.0), (3.0, 3.0), r, r).is_none());
    }

    #[test]
    fn gaps_split_lines() {
        let pts = vec![
            Some((0.1, 0.1)),
            Some((0.2, 0.2)),
            None,
            Some((0.3, 0.3)),
            Some((0.4, 0.4)),
            None,
            Some((0.5, 0.5)),
        ];
        let (polys, iso) = visible_parts(&pts, (0.0, 1.0), (0.0, 1.0));
        assert_eq!(polys.len(), 2);
        assert_eq!(iso, vec![(0.5, 0.5)]);
    }

    #[test]
    fn sharp_turns_split_the_line_gentle_ones_do_not() {
        // a sawtooth: down slowly, jump up, down again; both corners of the jump are sharp
        let saw = vec![(0.0, 1.0), (0.5, 0.5), (1.0, 0.0), (1.0, 1.0), (1.5, 0.5)];
        let parts = split_sharp_turns(saw, (100.0, 100.0));
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert_eq!(parts[1], vec![(1.0, 0.0), (1.0, 1.0)]);
        // nearly vertical jump of one pixel in x: still split
        let jump = vec![(0.0, 1.0), (0.2, 0.0), (0.21, 1.0), (1.0, 0.2)];
        assert_eq!(split_sharp_turns(jump, (100.0, 100.0)).len(), 3);
        // a smooth curve (turns below 120°) stays whole
        let arc: Vec<Pt> = (0..20)
            .map(|i| {
                let a = f64::from(i) * 0.1;
                (a.cos(), a.sin())
            })
            .collect();
        assert_eq!(split_sharp_turns(arc, (100.0, 100.0)).len(), 1);
    }

    #[test]
    fn log_range_snaps_to_decades_and_limits_span() {
        let ax = Axis::log("y", 3.0);
        assert_eq!(
            auto_range(&ax, &[1e-9, 0.02, 5.0, 0.0, f64::NAN], "t").unwrap(),
            (-3.0, 1.0)
        );
        assert!(auto_range(&ax, &[0.0, -1.0], "t").is_err());
    }
}
