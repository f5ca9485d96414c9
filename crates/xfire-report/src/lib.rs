//! Figures and reports for xfire runs.
//!
//! The `xfire run`, `xfire compare` and `xfire kernel` commands hand this crate plain data
//! (times, doses, survival fractions, a dose-map slice, a kernel profile) and get back PNG
//! and SVG figures and a `report.md` / `report.html` pair. Nothing here knows about
//! transport, phantoms or kinetics.
//!
//! **Figures** ([`dose_rate_vs_time`], [`cumulative_dose_vs_time`],
//! [`survival_vs_start_day`], [`dose_histograms`], [`dose_slice`],
//! [`kernel_radial_profile`]) each take a [`FigureTarget`] (directory, file stem, size, 1000 ×
//! 700 px by default), a title and the data, validate the data, and write `STEM.png` and
//! `STEM.svg`. Axes carry quantity and unit; log axes are labelled in decades and skip zero,
//! negative and NaN values (a line breaks there) instead of failing; input with nothing to
//! draw gives a [`ReportError`] naming the figure and the reason.
//!
//! **Reports** ([`report`]): a [`Report`] (title, [`RunInfo`], sections of text, lists,
//! tables and figure references) becomes `report.md` (figures linked) and `report.html`
//! (figures embedded as base64 PNG, one self-contained file), both from the same structure.
//!
//! To look at every figure and a sample report, run
//! `cargo run -p xfire-report --example report_demo` (writes `target/report-demo/`).
//!
//! Invariants:
//! - Text is drawn with DejaVu Sans embedded in the binary (`assets/`, Bitstream Vera
//!   licence) through plotters' pure-Rust `ab_glyph` renderer: no system fonts, no
//!   fontconfig/freetype, no `-dev` package.
//! - Every file is written atomically (temporary name in the same directory, then rename).
//! - Bad data never panics; it is an error or, for single non-finite points, skipped.
//!
//! ```no_run
//! use xfire_report::{dose_rate_vs_time, write_report, Block, FigureRef, FigureTarget, Report,
//!                    RunInfo, Section, Table, Cell, TimeSeries};
//! # fn main() -> Result<(), xfire_report::ReportError> {
//! let dir = std::path::Path::new("out");
//! let t: Vec<f64> = (0..=100).map(|i| 0.2 * f64::from(i)).collect();
//! let tumour = TimeSeries::new("tumour cells", t.clone(),
//!     t.iter().map(|d| 0.5 * (-d * std::f64::consts::LN_2 / 6.647).exp()).collect());
//! dose_rate_vs_time(&FigureTarget::new(dir, "dose_rate"), "177Lu: dose rate", &[tumour])?;
//! let report = Report {
//!     title: "xfire run: spheroid, 177Lu".into(),
//!     run: RunInfo { xfire_version: "0.1.0".into(), seed: Some(42), decays: Some(1_000_000),
//!                    wall_time_s: Some(12.5), command_line: Some("xfire run s.toml".into()),
//!                    extra: vec![] },
//!     sections: vec![Section { heading: "Dose".into(), blocks: vec![
//!         Block::Table(Table { caption: None, header: vec!["target".into(), "dose (Gy)".into()],
//!                              rows: vec![vec![Cell::from("tumour"), Cell::NumSigma(12.31, 0.04)]] }),
//!         Block::Figure(FigureRef { stem: "dose_rate".into(), caption: "Mean dose rate.".into() }),
//!     ]}],
//! };
//! write_report(dir, &report)?;
//! # Ok(()) }
//! ```

mod error;
mod font;
mod fsutil;
mod plot;
pub mod report;

pub use error::{ReportError, Result};
pub use plot::{
    cumulative_dose_vs_time, dose_histogram_panels, dose_histograms, dose_rate_vs_time, dose_slice,
    dose_volume_histograms, format_number, kernel_radial_profile, radial_profile,
    survival_vs_start_day, time_panels, ColourScale, DoseGroup, DoseSlice, DvhCurve, FigureTarget,
    HistogramOptions, HistogramPanel, KernelCurve, RadialQuantity, SurvivalCurve, TimePanel,
    TimeQuantity, TimeSeries, WrittenFigure,
};
pub use report::{
    write_report, Block, Cell, FigureRef, Report, ReportFiles, RunInfo, Section, Table,
};
