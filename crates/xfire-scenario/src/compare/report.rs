//! The comparison's figures and `report.md` / `report.html`, and `write_outputs` (CSV, JSON,
//! figures, report).
//!
//! Figures (each PNG + SVG, `docs/formats/comparison.md`): lymphocyte survival vs
//! immunotherapy start day with each window's start and end; tumour-cell and lymphocyte dose
//! rate (first cycle) and cumulative dose (whole treatment), one panel per nuclide on common
//! axes; per-cell dose histograms of every nuclide on one common dose axis; the reference
//! nuclide's central dose slice.

use std::path::{Path, PathBuf};

use super::table::{
    comparison_csv, comparison_json, normalisation_text, survival_legend, table_lines,
};
use super::{Comparison, NuclideRow};
use crate::fmt::{fmt_sig, fmt_sig_short};
use crate::{io_error, Context, Result};
use xfire_report as rp;

/// Panels per row in the per-nuclide figures.
const COLUMNS: usize = 4;

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    xfire_io::fsutil::write_atomic(path, bytes).map_err(io_error("write", path))
}

/// Facts about the invocation for the report.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// The command line.
    pub command_line: Option<String>,
    /// Wall time of the whole command \[s\].
    pub wall_s: Option<f64>,
    /// Worker threads.
    pub threads: Option<usize>,
}

/// Size of a panel figure for `n` panels \[px\].
fn panel_size(n: usize) -> (u32, u32) {
    let rows = n.div_ceil(COLUMNS).max(1) as u32;
    (1400, 150 + 520 * rows)
}

/// Collects the figures drawn and notes on those that could not be.
#[derive(Default)]
struct Figures {
    refs: Vec<rp::FigureRef>,
    notes: Vec<String>,
}

impl Figures {
    fn add(
        &mut self,
        stem: &str,
        caption: String,
        r: std::result::Result<rp::WrittenFigure, rp::ReportError>,
    ) {
        match r {
            Ok(_) => self.refs.push(rp::FigureRef {
                stem: stem.into(),
                caption,
            }),
            Err(e) => self.notes.push(format!("figure {stem} not drawn: {e}")),
        }
    }
}

fn survival_figure(dir: &Path, c: &Comparison, figs: &mut Figures) {
    let curves: Vec<rp::SurvivalCurve> = c
        .rows
        .iter()
        .filter(|r| !r.curves.survival.0.is_empty())
        .map(|r| rp::SurvivalCurve {
            label: r.nuclide.clone(),
            start_days: r.curves.survival.0.clone(),
            survival: r.curves.survival.1.clone(),
            window_day: r.window_day,
            window_end_day: r.window_end_day.filter(|_| !r.window_open_at_scan_end),
        })
        .collect();
    if curves.is_empty() {
        return;
    }
    let target = c.rows[0].survival_target;
    figs.add(
        "survival_vs_start_day",
        format!(
            "Mean surviving fraction of a lymphocyte cohort arriving on each day after the first administration and staying {} d at the TIL positions (cohort model); dashed: the {} % target; filled circles: the window opens (first safe start day); open squares: the window closes (last safe day before the cohort's stay would overlap the next administration). Normalised to {}.",
            fmt_sig_short(c.residence_d),
            fmt_sig_short(100.0 * target),
            normalisation_text(c)
        ),
        rp::survival_vs_start_day(
            &rp::FigureTarget::new(dir, "survival_vs_start_day").with_size(1200, 700),
            "Lymphocyte survival vs immunotherapy start day",
            &curves,
            Some(target),
        ),
    );
}

/// Tumour cells (solid) and resident lymphocytes (dashed) of one nuclide.
fn two_series(times_d: &[f64], values: &[Vec<f64>; 2]) -> Vec<rp::TimeSeries> {
    vec![
        rp::TimeSeries::new("tumour cells", times_d.to_vec(), values[0].clone()),
        rp::TimeSeries::new("resident lymphocytes", times_d.to_vec(), values[1].clone()).dashed(),
    ]
}

fn time_figures(dir: &Path, c: &Comparison, figs: &mut Figures) {
    let (w, h) = panel_size(c.rows.len());
    let rate: Vec<rp::TimePanel> = c
        .rows
        .iter()
        .map(|r| rp::TimePanel {
            title: r.nuclide.clone(),
            series: two_series(&r.curves.rate.0, &r.curves.rate.1),
        })
        .collect();
    figs.add(
        "dose_rate",
        format!(
            "Mean absorbed dose rate of the tumour cells (solid) and of the resident lymphocytes (dashed) after the first administration, until the second; one panel per nuclide, common axes, time on a log scale. At the normalised amount ({}): the gap between the two lines is the tumour-to-lymphocyte dose-rate ratio.",
            normalisation_text(c)
        ),
        rp::time_panels(
            &rp::FigureTarget::new(dir, "dose_rate").with_size(w, h),
            "Dose rate: tumour cells vs lymphocytes, first administration",
            &rate,
            rp::TimeQuantity::DoseRate,
            COLUMNS,
        ),
    );
    let cum: Vec<rp::TimePanel> = c
        .rows
        .iter()
        .map(|r| rp::TimePanel {
            title: r.nuclide.clone(),
            series: two_series(&r.curves.cumulative.0, &r.curves.cumulative.1),
        })
        .collect();
    figs.add(
        "cumulative_dose",
        format!(
            "Cumulative mean absorbed dose of the tumour cells (solid) and of the resident lymphocytes (dashed) over the whole treatment; one panel per nuclide, common axes, time on a log scale (each step is an administration). Normalised to {}.",
            normalisation_text(c)
        ),
        rp::time_panels(
            &rp::FigureTarget::new(dir, "cumulative_dose").with_size(w, h),
            "Cumulative dose: tumour cells vs lymphocytes, whole treatment",
            &cum,
            rp::TimeQuantity::CumulativeDose,
            COLUMNS,
        ),
    );
}

fn histogram_figure(dir: &Path, c: &Comparison, figs: &mut Figures) {
    let panels: Vec<rp::HistogramPanel> = c
        .rows
        .iter()
        .map(|r| rp::HistogramPanel {
            title: r.nuclide.clone(),
            groups: [
                ("tumour cells", &r.curves.cell_doses.0),
                ("lymphocytes", &r.curves.cell_doses.1),
            ]
            .into_iter()
            .filter(|(_, d)| !d.is_empty())
            .map(|(n, d)| rp::DoseGroup {
                name: n.into(),
                doses_gy: d.clone(),
            })
            .collect(),
        })
        .filter(|p| !p.groups.is_empty())
        .collect();
    if panels.is_empty() {
        return;
    }
    let (w, h) = panel_size(panels.len());
    figs.add(
        "cell_dose_histograms",
        "Absorbed dose of each tumour cell and each resident lymphocyte over the whole treatment (fraction of the cells per bin), one panel per nuclide on one common dose axis and scale. Wide distributions with a low tail mean uneven irradiation (α emitters); the legend gives each group's median.".into(),
        rp::dose_histogram_panels(
            &rp::FigureTarget::new(dir, "cell_dose_histograms").with_size(w, h),
            "Per-cell absorbed dose, whole treatment",
            &panels,
            &rp::HistogramOptions::default(),
            COLUMNS,
        ),
    );
}

fn slice_figure(dir: &Path, c: &Comparison, figs: &mut Figures) {
    let Some(s) = &c.slice else { return };
    let mut ds = rp::DoseSlice::new(s.nx, s.ny, &s.dose_gy, s.voxel_um);
    ds.outlines = Some(&s.cell_id);
    // two decades below the 99.5th percentile: cell-scale contrast, noise in the medium
    // drawn dark
    let mut v: Vec<f64> = s
        .dose_gy
        .iter()
        .copied()
        .filter(|x| *x > 0.0 && x.is_finite())
        .collect();
    v.sort_by(f64::total_cmp);
    if let Some(&hi) = v.get(((v.len() as f64 - 1.0) * 0.995) as usize) {
        if hi > 0.0 {
            ds.range = Some((hi / 100.0, hi));
        }
    }
    figs.add(
        "dose_slice",
        format!(
            "{}: total absorbed dose in the central z slice, with cell outlines.",
            s.nuclide
        ),
        rp::dose_slice(
            &rp::FigureTarget::new(dir, "dose_slice"),
            &format!("Total dose, central slice, {}", s.nuclide),
            &ds,
        ),
    );
}

/// The side-by-side table for the report: section headings as heading rows.
fn main_table(c: &Comparison) -> rp::Table {
    let mut header = vec!["quantity".to_string()];
    header.extend(c.rows.iter().map(|r| r.nuclide.clone()));
    let n = c.rows.len();
    let lines = table_lines(c);
    let legend = survival_legend(&lines).replace('\n', " ");
    let rows = lines
        .into_iter()
        .map(|l| match l.values {
            None => {
                let mut row = vec![rp::Cell::Section(l.label)];
                row.extend(std::iter::repeat_n(rp::Cell::from(""), n));
                row
            }
            Some(values) => {
                let mut row = vec![rp::Cell::from(l.label.trim_start())];
                row.extend(values.into_iter().map(rp::Cell::Value));
                row
            }
        })
        .collect();
    rp::Table {
        caption: Some(format!(
            "Side by side, normalised to {}. Each section names its time frame. Doses are absorbed (physical) unless called RBE-weighted; 3 significant figures, <1e-6 below 10⁻⁶ (full precision in comparison.csv and comparison.json). {}",
            normalisation_text(c),
            legend.trim_end()
        )),
        header,
        rows,
    }
}

fn components_table(c: &Comparison) -> rp::Table {
    let unc = |n: u64, u: f64| {
        if n > 0 {
            format!("{:.2} %", 100.0 * u)
        } else {
            "-".into()
        }
    };
    let mut rows = Vec::new();
    for r in &c.rows {
        for cr in &r.components {
            rows.push(vec![
                rp::Cell::from(r.nuclide.as_str()),
                rp::Cell::from(cr.nuclide.as_str()),
                rp::Cell::from(cr.site.as_str()),
                rp::Cell::Value(fmt_sig(cr.total_decays)),
                rp::Cell::Value(format!(
                    "{} / {}",
                    cr.transported_decays[0], cr.transported_decays[1]
                )),
                rp::Cell::Value(format!(
                    "{} / {}",
                    unc(cr.transported_decays[0], cr.tumour_rel_unc[0]),
                    unc(cr.transported_decays[1], cr.tumour_rel_unc[1])
                )),
                rp::Cell::from(if cr.reused { "yes" } else { "no" }),
            ]);
        }
    }
    rp::Table {
        caption: Some("Source components (chain member × site): decays over the treatment at the normalised amount, decays transported and the tumour-cell dose uncertainty per part (low LET / α).".into()),
        header: vec![
            "nuclide".into(),
            "member".into(),
            "site".into(),
            "decays".into(),
            "transported (low LET / α)".into(),
            "tumour σ (low LET / α)".into(),
            "reused".into(),
        ],
        rows,
    }
}

fn highlights(c: &Comparison) -> Vec<String> {
    let opt = |v: Option<f64>| v.unwrap_or(f64::NAN);
    let best = c
        .rows
        .iter()
        .filter(|r| r.tumour_to_lymphocyte[1].is_finite())
        .max_by(|a, b| a.tumour_to_lymphocyte[1].total_cmp(&b.tumour_to_lymphocyte[1]));
    let earliest = c
        .rows
        .iter()
        .filter(|r| r.window_day.is_some())
        .min_by(|a, b| opt(a.window_day).total_cmp(&opt(b.window_day)));
    let mut v = Vec::new();
    if let Some(b) = best {
        v.push(format!(
            "Highest tumour-to-resident-lymphocyte RBE-weighted dose ratio: {} ({}).",
            b.nuclide,
            fmt_sig(b.tumour_to_lymphocyte[1])
        ));
    }
    if let Some(e) = earliest {
        v.push(format!(
            "Earliest immunotherapy window: {} ({}).",
            e.nuclide,
            window_text(e)
        ));
    }
    v
}

/// "days 16–38", "days 16–≥56", "none".
fn window_text(r: &NuclideRow) -> String {
    use super::table::fmt_day;
    match (r.window_day, r.window_end_day) {
        (Some(a), Some(b)) if r.window_open_at_scan_end => {
            format!(
                "opens day {}, still open on day {}, the last scanned",
                fmt_day(a),
                fmt_day(b)
            )
        }
        (Some(a), Some(b)) => format!("opens day {}, closes after day {}", fmt_day(a), fmt_day(b)),
        (Some(a), None) => format!("opens day {}", fmt_day(a)),
        _ => "none".into(),
    }
}

fn definitions() -> rp::Block {
    rp::Block::List(vec![
        "Tumour dose: mass-weighted mean absorbed dose of the tumour-cell voxels over the whole treatment; RBE-weighted: low-LET + RBE_α × α part.".into(),
        "Resident lymphocytes: mass-weighted mean over the lymphocyte voxels of the phantom (the denominator of the tumour-to-lymphocyte ratio), whole treatment; cohorts: mean over the TIL positions of the dose between arrival and arrival + residence; migrating: mean over random walkers; blood: circulating lymphocytes.".into(),
        "Cross-fire fraction: fraction of the absorbed energy in a population's voxels that comes from decays outside the cell each voxel belongs to (1 − self/total), from a self-cell transport of the same decays; ± one σ from the batch spread.".into(),
        "Dose-rate half-time: time from the peak of the tumour-cell mean dose rate after the first administration to when it has fallen to half the peak (before the second administration).".into(),
        "Immunotherapy window: opens on the earliest candidate start day whose arriving lymphocyte cohort reaches the survival target (LQ with dose-rate protraction), closes after the last day of that run of safe days.".into(),
    ])
}

/// The figures and `report.md` / `report.html`; returns notes on figures that could not be
/// drawn.
pub fn write_report(
    dir: &Path,
    c: &Comparison,
    scenario_text: &str,
    inv: &Invocation,
) -> Result<Vec<String>> {
    let mut figs = Figures::default();
    survival_figure(dir, c, &mut figs);
    time_figures(dir, c, &mut figs);
    histogram_figure(dir, c, &mut figs);
    slice_figure(dir, c, &mut figs);

    let target = c.rows.first().map_or(0.9, |r| r.survival_target);
    let mut summary = vec![rp::Block::Text(format!(
        "Scenario: {} — the agent bound to {}, the same phantom, binding, kinetics shape, regimen, daughter rules, lymphocyte and radiobiology models for every nuclide (each with its own half-life and chain). Normalised to {}.",
        c.description.as_deref().unwrap_or("(no description)"),
        c.binding,
        normalisation_text(c)
    ))];
    summary.push(rp::Block::Table(main_table(c)));
    let hl = highlights(c);
    if !hl.is_empty() {
        summary.push(rp::Block::List(hl));
    }
    let mut fig_blocks: Vec<rp::Block> = figs.refs.iter().cloned().map(rp::Block::Figure).collect();
    if fig_blocks.is_empty() {
        fig_blocks.push(rp::Block::Text("No figure could be drawn.".into()));
    }
    let mut sections = vec![
        rp::Section {
            heading: "How to read this".into(),
            blocks: vec![rp::Block::List(crate::explain::how_to_read(
                &c.parameters,
                c.residence_d,
                target,
            ))],
        },
        rp::Section {
            heading: "Comparison".into(),
            blocks: summary,
        },
        rp::Section {
            heading: "Figures".into(),
            blocks: fig_blocks,
        },
        rp::Section {
            heading: "Definitions".into(),
            blocks: vec![definitions()],
        },
        rp::Section {
            heading: "Source components".into(),
            blocks: vec![rp::Block::Table(components_table(c))],
        },
    ];
    if !c.warnings.is_empty() {
        sections.push(rp::Section {
            heading: "Warnings and notes".into(),
            blocks: vec![rp::Block::List(c.warnings.clone())],
        });
    }
    sections.push(rp::Section {
        heading: "Scenario file".into(),
        blocks: vec![rp::Block::Code(scenario_text.to_string())],
    });
    let mut extra = vec![
        (
            "nuclides".to_string(),
            c.rows
                .iter()
                .map(|r| r.nuclide.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ("normalisation".to_string(), c.normalise.name().to_string()),
        ("reference nuclide".to_string(), c.reference.clone()),
    ];
    if let Some(s) = &c.scenario {
        extra.insert(0, ("scenario".to_string(), s.clone()));
    }
    if let Some(t) = inv.threads {
        extra.push(("threads".into(), t.to_string()));
    }
    let report = rp::Report {
        title: format!(
            "xfire compare: {}",
            c.description.as_deref().unwrap_or("scenario")
        ),
        run: rp::RunInfo {
            xfire_version: env!("CARGO_PKG_VERSION").into(),
            seed: Some(c.seed),
            decays: None,
            wall_time_s: Some(inv.wall_s.unwrap_or(c.wall_s)),
            command_line: inv.command_line.clone(),
            extra,
        },
        sections,
    };
    rp::write_report(dir, &report).context("report")?;
    Ok(figs.notes)
}

/// Write `comparison.csv`, `comparison.json`, the figures and `report.md`/`report.html`
/// into `dir`; returns the data files written and notes on figures not drawn.
pub fn write_outputs(
    dir: &Path,
    c: &Comparison,
    scenario_text: &str,
    inv: &Invocation,
) -> Result<(Vec<PathBuf>, Vec<String>)> {
    std::fs::create_dir_all(dir).map_err(io_error("create", dir))?;
    let csv = dir.join("comparison.csv");
    write_atomic(&csv, comparison_csv(c).as_bytes())?;
    let json = dir.join("comparison.json");
    let text = serde_json::to_string_pretty(&comparison_json(c)?).context("comparison.json")?;
    write_atomic(&json, text.as_bytes())?;
    let notes = write_report(dir, c, scenario_text, inv)?;
    Ok((
        vec![csv, json, dir.join("report.md"), dir.join("report.html")],
        notes,
    ))
}
