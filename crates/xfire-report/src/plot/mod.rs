//! Figures: each function validates plain data, then draws it twice, to `STEM.png` (bitmap,
//! text from the embedded font) and `STEM.svg`, both written atomically.

mod dvh;
mod histogram;
mod kernel;
mod panels;
mod slice;
mod survival;
mod time;
mod xy;

pub use dvh::{dose_volume_histograms, DvhCurve};
pub use histogram::{
    dose_histogram_panels, dose_histograms, DoseGroup, HistogramOptions, HistogramPanel,
};
pub use kernel::{kernel_radial_profile, radial_profile, KernelCurve, RadialQuantity};
pub use slice::{dose_slice, ColourScale, DoseSlice};
pub use survival::{survival_vs_start_day, SurvivalCurve};
pub use time::{
    cumulative_dose_vs_time, dose_rate_vs_time, time_panels, TimePanel, TimeQuantity, TimeSeries,
};

use crate::error::{ReportError, Result};
use crate::fsutil;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::PathBuf;

/// Where a figure goes: `DIR/STEM.png` and `DIR/STEM.svg`, `width_px` × `height_px` pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct FigureTarget {
    /// Output directory (created if missing).
    pub dir: PathBuf,
    /// File stem without extension; no path separators.
    pub stem: String,
    /// Width of the PNG and of the SVG canvas \[px\]; at least 300.
    pub width_px: u32,
    /// Height of the PNG and of the SVG canvas \[px\]; at least 200.
    pub height_px: u32,
}

impl FigureTarget {
    /// A 1000 × 700 px figure `DIR/STEM.{png,svg}`.
    pub fn new(dir: impl Into<PathBuf>, stem: impl Into<String>) -> Self {
        Self {
            dir: dir.into(),
            stem: stem.into(),
            width_px: 1000,
            height_px: 700,
        }
    }

    /// The same target with another size \[px\].
    pub fn with_size(mut self, width_px: u32, height_px: u32) -> Self {
        self.width_px = width_px;
        self.height_px = height_px;
        self
    }

    /// `DIR/STEM.png`.
    pub fn png_path(&self) -> PathBuf {
        self.dir.join(format!("{}.png", self.stem))
    }

    /// `DIR/STEM.svg`.
    pub fn svg_path(&self) -> PathBuf {
        self.dir.join(format!("{}.svg", self.stem))
    }

    fn validate(&self) -> Result<()> {
        let bad_stem = self.stem.is_empty()
            || self.stem.contains(['/', '\\'])
            || self.stem == "."
            || self.stem == "..";
        if bad_stem {
            return Err(ReportError::Invalid {
                what: "figure file stem".into(),
                reason: format!("'{}' must be a non-empty file name without '/'", self.stem),
            });
        }
        if self.width_px < 300
            || self.height_px < 200
            || self.width_px > 20_000
            || self.height_px > 20_000
        {
            return Err(ReportError::Invalid {
                what: format!("size of figure '{}'", self.stem),
                reason: format!(
                    "{} × {} px; width must be 300–20000 px and height 200–20000 px",
                    self.width_px, self.height_px
                ),
            });
        }
        Ok(())
    }
}

/// The two files a figure function wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFigure {
    /// The PNG file.
    pub png: PathBuf,
    /// The SVG file.
    pub svg: PathBuf,
}

/// Font sizes and spacings \[px\], scaled from the 1000 × 700 px reference layout.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Style {
    scale: f64,
}

impl Style {
    fn for_size(w: u32, h: u32) -> Self {
        let scale = (f64::from(w) / 1000.0).min(f64::from(h) / 700.0).max(0.3);
        Self { scale }
    }
    /// A length of `v` px at the reference size.
    pub(crate) fn px(&self, v: f64) -> u32 {
        (v * self.scale).round().max(1.0) as u32
    }
    pub(crate) fn pxi(&self, v: f64) -> i32 {
        self.px(v) as i32
    }
    pub(crate) fn title(&self) -> TextStyle<'static> {
        (crate::font::FAMILY, 30.0 * self.scale)
            .into_font()
            .color(&BLACK)
    }
    pub(crate) fn desc(&self) -> TextStyle<'static> {
        (crate::font::FAMILY, 25.0 * self.scale)
            .into_font()
            .color(&BLACK)
    }
    pub(crate) fn tick(&self) -> TextStyle<'static> {
        (crate::font::FAMILY, 21.0 * self.scale)
            .into_font()
            .color(&BLACK)
    }
    pub(crate) fn legend(&self) -> TextStyle<'static> {
        (crate::font::FAMILY, 19.0 * self.scale)
            .into_font()
            .color(&BLACK)
    }
}

/// A figure that can draw itself on any plotters backend.
pub(crate) trait Figure {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        st: &Style,
    ) -> std::result::Result<(), String>;
}

/// Converts plotters errors into a message.
pub(crate) trait DrawCtx<T> {
    fn ctx(self, what: &str) -> std::result::Result<T, String>;
}

impl<T, E: std::fmt::Display> DrawCtx<T> for std::result::Result<T, E> {
    fn ctx(self, what: &str) -> std::result::Result<T, String> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

/// Draws `fig` to PNG and SVG, each through a temporary file and a rename.
pub(crate) fn render(target: &FigureTarget, fig: &impl Figure) -> Result<WrittenFigure> {
    target.validate()?;
    crate::font::ensure_registered()?;
    fsutil::ensure_dir(&target.dir)?;
    let st = Style::for_size(target.width_px, target.height_px);
    let size = (target.width_px, target.height_px);
    let draw_err = |message: String| ReportError::Draw {
        figure: target.stem.clone(),
        message,
    };

    let png = target.png_path();
    fsutil::write_atomic_with_extension(&png, |tmp| {
        let root = BitMapBackend::new(tmp, size).into_drawing_area();
        let drawn = (|| {
            root.fill(&WHITE).ctx("background")?;
            fig.draw(&root, &st)?;
            root.present().ctx("PNG encoding")
        })();
        drawn.map_err(draw_err)
    })?;

    let svg_path = target.svg_path();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        let drawn = (|| {
            root.fill(&WHITE).ctx("background")?;
            fig.draw(&root, &st)?;
            root.present().ctx("SVG output")
        })();
        drawn.map_err(draw_err)?;
    }
    fsutil::write_atomic(&svg_path, svg.as_bytes())?;
    Ok(WrittenFigure { png, svg: svg_path })
}

/// Colour-blind-safe line colours (Okabe & Ito 2008), black last.
pub(crate) const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(110, 110, 110),
    RGBColor(0, 0, 0),
];

/// The `i`-th palette colour (cycling).
pub(crate) fn colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Rounds to `sig` significant digits.
fn round_sig(v: f64, sig: usize) -> f64 {
    format!("{:.*e}", sig.saturating_sub(1), v)
        .parse()
        .unwrap_or(v)
}

/// Unicode superscript digits of an integer, e.g. -3 → "⁻³".
pub(crate) fn superscript(n: i32) -> String {
    n.to_string()
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            _ => '⁹',
        })
        .collect()
}

/// A compact number for tick labels and legends: `0.25`, `1200`, `3×10⁻⁵`, `10⁶`.
pub fn format_number(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if (1e-3..1e5).contains(&a) {
        return format!("{}", round_sig(v, 6));
    }
    let mut e = a.log10().floor() as i32;
    let mut m = round_sig(v / 10f64.powi(e), 4);
    if m.abs() >= 10.0 {
        m /= 10.0;
        e += 1;
    }
    let sign = if m < 0.0 { "−" } else { "" };
    if (m.abs() - 1.0).abs() < 1e-12 {
        format!("{sign}10{}", superscript(e))
    } else {
        format!("{}×10{}", round_sig(m, 4), superscript(e))
    }
}

/// Tick label of an axis value; on a log axis `t` is log10 of the value.
pub(crate) fn format_tick(log: bool, t: f64) -> String {
    if !log {
        // Linear ticks may carry float noise (0.30000000000000004).
        return format_number(round_sig(t, 10));
    }
    let k = t.round();
    if (t - k).abs() < 1e-6 {
        match k as i32 {
            0 => "1".into(),
            1 => "10".into(),
            k => format!("10{}", superscript(k)),
        }
    } else {
        format_number(round_sig(10f64.powf(t), 3))
    }
}

/// Checks that a figure's data arrays are parallel.
pub(crate) fn check_lengths(
    what: &str,
    a_name: &'static str,
    a: usize,
    b_name: &'static str,
    b: usize,
) -> Result<()> {
    if a == b {
        Ok(())
    } else {
        Err(ReportError::LengthMismatch {
            what: what.into(),
            a_name,
            a_len: a,
            b_name,
            b_len: b,
        })
    }
}
