//! Output files of a run (`docs/formats/results.md`): `results.h5`, `summary.json`,
//! `summary.csv`, figures and `report.md`/`report.html`. Every file is written to a temporary
//! name and renamed; the bytes depend only on the scenario (not on threads or time).

use std::path::{Path, PathBuf};

use serde_json::json;
use xfire_io::hdf5::{Attr, H5Writer, LateData};

use crate::compute::RunResult;
use crate::fmt::{fmt_dose, fmt_estimate, fmt_sig, fmt_sig_short, fmt_survival};
use crate::plan::Plan;
use crate::transport::ComponentTransport;
use crate::{io_error, Context, Result, ScenarioError};

use xfire_core::constants::DAY_S as DAY;

use xfire_kinetics::noise::{SurvivalEstimate, TOO_WIDE_LEGEND};

fn vstr(s: &str) -> Attr {
    Attr::Text(s.to_string())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    xfire_io::fsutil::write_atomic(path, bytes).map_err(io_error("write", path))
}

/// The JSON summary (plain data of [`RunResult`] plus file names).
pub fn summary_json(r: &RunResult) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(r).context("summary")?;
    v["format"] = json!("xfire-run-summary");
    v["format_version"] = json!(1);
    v["xfire_version"] = json!(env!("CARGO_PKG_VERSION"));
    v["units"] = json!("doses Gy, times s, masses g, activities Bq");
    Ok(v)
}

fn dist_cols(d: &Option<xfire_kinetics::lymphocytes::Distribution>) -> String {
    let q = |p: f64| {
        d.as_ref()
            .and_then(|d| d.quantile(p))
            .map_or(String::new(), |x| format!("{x:.6e}"))
    };
    format!("{},{},{},{},{}", q(0.05), q(0.25), q(0.5), q(0.75), q(0.95))
}

/// CSV columns value, lo95, hi95, uncorrected, too_wide of a surviving fraction.
fn survival_cols(e: Option<&SurvivalEstimate>) -> String {
    e.map_or(",,,,".into(), |e| {
        format!(
            "{:.6e},{:.6e},{:.6e},{:.6e},{}",
            e.value,
            e.interval[0],
            e.interval[1],
            e.naive,
            u8::from(e.too_wide)
        )
    })
}

/// The CSV summary: one row per label and per cell group, then the window.
pub fn summary_csv(r: &RunResult) -> String {
    let mut s = String::from("# xfire run summary: doses over all time [Gy]; per-cell quantiles p5,p25,p50,p75,p95 where the target is a cell population\n");
    s.push_str("target,mass_g,mean_gy,alpha_gy,rbe_weighted_gy,median_gy,d98_gy,d2_gy,rel_unc,cells,cell_p5_gy,cell_p25_gy,cell_p50_gy,cell_p75_gy,cell_p95_gy,surviving_fraction,surviving_fraction_lo95,surviving_fraction_hi95,surviving_fraction_uncorrected,survival_too_wide,alpha_hit_surviving_fraction,cell_rel_unc_p95\n");
    for g in [&r.tumour, &r.lymphocytes] {
        s.push_str(&format!(
            "{},,{:.6e},{:.6e},{:.6e},,,,,{},{},{},{},{:.3}\n",
            g.name,
            g.mean_gy,
            g.alpha_gy,
            g.rbe_weighted_gy,
            g.cells,
            dist_cols(&g.per_cell_gy),
            survival_cols(g.survival.as_ref()),
            g.alpha_hit_survival
                .map_or(String::new(), |x| format!("{:.6e}", x.value)),
            g.per_cell_rel_unc_p95.unwrap_or(f64::NAN)
        ));
    }
    for l in &r.labels {
        s.push_str(&format!(
            "label:{},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e},{:.6e},{:.3e},,,,,,,\n",
            l.name,
            l.mass_g,
            l.mean_gy,
            l.alpha_gy,
            l.rbe_weighted_gy,
            l.median_gy,
            l.d98_gy,
            l.d2_gy,
            l.rel_unc
        ));
    }
    s.push_str(&format!(
        "ratio tumour/lymphocyte,,{:.6},,{:.6},,,,,,,,,,,\n",
        r.tumour_to_lymphocyte_ratio[0], r.tumour_to_lymphocyte_ratio[1]
    ));
    if let Some(w) = &r.window {
        s.push_str("\n# immunotherapy window: cohorts arriving on each day\n");
        s.push_str("start_day,surviving_fraction,surviving_fraction_lo95,surviving_fraction_hi95,surviving_fraction_uncorrected,survival_too_wide,rbe_weighted_mean_gy,rbe_weighted_p50_gy,bed_mean_gy,tumour_dose_fraction_delivered\n");
        for d in &w.days {
            s.push_str(&format!(
                "{},{},{:.6e},{:.6e},{:.6e},{}\n",
                d.day,
                survival_cols(Some(&d.survival_estimate)),
                d.rbe_weighted_gy.mean,
                d.rbe_weighted_gy.quantile(0.5).unwrap_or(f64::NAN),
                d.bed_gy.mean,
                d.tumour_dose_fraction
                    .map_or(String::new(), |x| format!("{x:.6}"))
            ));
        }
        s.push_str(&format!(
            "# earliest day with surviving fraction >= {}: {}\n",
            w.survival_target,
            w.earliest_day
                .map_or("none in the scanned days".to_string(), |d| d.to_string())
        ));
    }
    s
}

/// Write `results.h5`.
pub fn write_results_h5(
    path: &Path,
    plan: &Plan,
    tr: &[ComponentTransport],
    r: &RunResult,
) -> Result<()> {
    let mut b = H5Writer::new();
    write_root_attrs(&mut b, plan, r);
    write_components(&mut b, plan, tr, r)?;
    write_labels_group(&mut b, r);
    write_time_group(&mut b, r);
    write_cells_group(&mut b, plan, r);
    if !r.dose_maps.is_empty() {
        write_maps_group(&mut b, plan, tr, r);
    }
    if let Some(w) = &r.window {
        write_window_group(&mut b, w);
    }
    if let Some(np) = &plan.nested {
        crate::lesion::write_macro_group(&mut b, np, tr, r);
    }
    xfire_io::fsutil::write_atomic_with(
        path,
        |tmp| {
            b.write(tmp).map_err(|error| ScenarioError::Hdf5 {
                path: path.to_path_buf(),
                error,
            })
        },
        io_error("write", path),
    )
}

/// Shape (nz, ny, nx) and chunk shape of the voxel arrays of `results.h5`.
fn voxel_shape(plan: &Plan) -> ([u64; 3], [u64; 3]) {
    let [nz, ny, nx] = plan.phantom.grid.shape_zyx();
    let shape = [nz as u64, ny as u64, nx as u64];
    let ch = [nz.min(16) as u64, ny.min(64) as u64, nx.min(64) as u64];
    (shape, ch)
}

/// The root attributes of `results.h5`: format, units, grid, scenario, seed, model.
fn write_root_attrs(b: &mut H5Writer, plan: &Plan, r: &RunResult) {
    let g = &plan.phantom.grid;
    b.attr("format", vstr("xfire-results"));
    b.attr("format_version", Attr::I64(1));
    b.attr(
        "creator",
        vstr(&format!("xfire {}", env!("CARGO_PKG_VERSION"))),
    );
    b.attr("units", vstr("dose Gy, time s, mass g, activity Bq"));
    b.attr(
        "array_order",
        vstr("voxel arrays shaped (nz, ny, nx), x fastest"),
    );
    b.attr("voxel_size_cm", Attr::F64s(g.voxel_cm.to_vec()));
    b.attr("origin_cm", Attr::F64s(g.origin_cm.to_vec()));
    b.attr("scenario", vstr(&plan.scenario.text));
    b.attr("nuclide", vstr(&r.nuclide));
    b.attr("binding", vstr(&r.binding));
    b.attr("phantom_content_hash", Attr::U64(plan.phantom_hash));
    b.attr("seed", Attr::U64(plan.scenario.transport.seed));
    b.attr(
        "electron_model",
        vstr(plan.scenario.transport.electron_model().name()),
    );
    if plan.scenario.transport.condensed_history {
        b.attr(
            "electron_cut_mev",
            Attr::F64(plan.scenario.transport.electron_cut_mev),
        );
    }
    b.attr("end_s", Attr::F64(r.end_s));
}

/// One `component_<i>` group per source component: decays, per-label and per-cell doses per
/// decay of each part, and the voxel dose per decay when asked for.
fn write_components<'a>(
    b: &mut H5Writer<'a>,
    plan: &Plan,
    tr: &'a [ComponentTransport],
    r: &RunResult,
) -> Result<()> {
    let (shape, ch) = voxel_shape(plan);
    // the voxel arrays are written after the rest of the file, one at a time
    let mut late = Vec::new();
    for (ci, (c, t)) in r.components.iter().zip(tr).enumerate() {
        let mut gr = b.group(&format!("component_{ci}"));
        gr.attr("nuclide", vstr(&c.nuclide));
        gr.attr("site", vstr(&c.site));
        gr.attr("total_decays", Attr::F64(c.total_decays));
        gr.attr(
            "transported_decays_low_let",
            Attr::U64(c.transported_decays[0]),
        );
        gr.attr(
            "transported_decays_alpha",
            Attr::U64(c.transported_decays[1]),
        );
        for part in [
            crate::transport::Part::LowLet,
            crate::transport::Part::Alpha,
        ] {
            let (dl, ul, dc) = part_doses(plan, t, part);
            let p = part.name();
            gr.dataset(&format!("label_dose_gy_per_decay_{p}"))
                .f64s(&dl)
                .attr("units", vstr("Gy per decay, one per label id"));
            gr.dataset(&format!("label_rel_unc_{p}")).f64s(&ul);
            gr.dataset(&format!("cell_dose_gy_per_decay_{p}"))
                .f64s(&dc)
                .attr("units", vstr("Gy per decay, one per cell id 1..N"));
            let maps = &plan.scenario.output.maps;
            let voxels = plan.layout.voxels != xfire_tally::VoxelTally::None;
            if voxels && maps.iter().any(|m| m == "dose_per_decay") {
                let data = match t.voxel_dose(part) {
                    Some(d) => Some(d.full().ok_or_else(|| {
                        ScenarioError::Check(
                            "a map of dose per decay needs the dose of every voxel".into(),
                        )
                    })?),
                    None => None,
                };
                let n = plan.phantom.grid.len();
                late.push(
                    H5Writer::late_dataset(
                        &format!("component_{ci}/voxel_dose_gy_per_decay_{p}"),
                        &shape,
                    )
                    .chunks(&ch)
                    .shuffle()
                    .deflate(1)
                    .attr("units", vstr("Gy per decay"))
                    .values(move || {
                        LateData::F32(data.map_or_else(|| vec![0f32; n], <[f32]>::to_vec))
                    }),
                );
            }
        }
        b.add(gr);
    }
    for l in late {
        b.late(l);
    }
    Ok(())
}

/// Of one part of a component: dose per decay of each label, its relative uncertainty, and
/// dose per decay of each cell 1..N (zeros when the part was not transported).
fn part_doses(
    plan: &Plan,
    t: &ComponentTransport,
    part: crate::transport::Part,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let masses_l = xfire_transport::region_masses_g(&plan.phantom, &plan.layout.regions[0]);
    let masses_c = xfire_transport::region_masses_g(&plan.phantom, &plan.layout.regions[1]);
    match t.part(part) {
        Some(x) => (
            (0..masses_l.len())
                .map(|i| xfire_tally::dose_gy(x.region_mean_mev(0, i), masses_l[i]))
                .collect::<Vec<f64>>(),
            (0..masses_l.len())
                .map(|i| x.region_rel_unc(0, i))
                .collect::<Vec<f64>>(),
            (1..masses_c.len())
                .map(|i| xfire_tally::dose_gy(x.region_mean_mev(1, i), masses_c[i]))
                .collect::<Vec<f64>>(),
        ),
        None => (
            vec![0.0; masses_l.len()],
            vec![0.0; masses_l.len()],
            vec![0.0; masses_c.len().saturating_sub(1)],
        ),
    }
}

/// The `labels` group: id, names, mass and doses of each label.
fn write_labels_group(b: &mut H5Writer, r: &RunResult) {
    let mut gl = b.group("labels");
    gl.dataset("id")
        .u32s(&r.labels.iter().map(|l| u32::from(l.id)).collect::<Vec<_>>());
    gl.attr(
        "names",
        vstr(
            &r.labels
                .iter()
                .map(|l| l.name.as_str())
                .collect::<Vec<_>>()
                .join(","),
        ),
    );
    gl.dataset("mass_g")
        .f64s(&r.labels.iter().map(|l| l.mass_g).collect::<Vec<_>>());
    gl.dataset("mean_gy")
        .f64s(&r.labels.iter().map(|l| l.mean_gy).collect::<Vec<_>>());
    gl.dataset("alpha_gy")
        .f64s(&r.labels.iter().map(|l| l.alpha_gy).collect::<Vec<_>>());
    gl.dataset("d98_gy")
        .f64s(&r.labels.iter().map(|l| l.d98_gy).collect::<Vec<_>>());
    gl.dataset("d2_gy")
        .f64s(&r.labels.iter().map(|l| l.d2_gy).collect::<Vec<_>>());
    b.add(gl);
}

/// The `time` group: dose-rate and cumulative-dose curves.
fn write_time_group(b: &mut H5Writer, r: &RunResult) {
    let c = &r.curves;
    let mut gt = b.group("time");
    gt.attr("curves", vstr(&c.names.join(",")));
    gt.dataset("times_s").f64s(&c.times_s);
    let flat = |m: &Vec<Vec<f64>>| m.iter().flatten().copied().collect::<Vec<f64>>();
    let cs = [c.names.len() as u64, c.times_s.len() as u64];
    gt.dataset("dose_rate_gy_per_s")
        .f64s(&flat(&c.rate_gy_per_s))
        .shape(&cs);
    gt.dataset("cumulative_dose_gy")
        .f64s(&flat(&c.cumulative_gy))
        .shape(&cs);
    b.add(gt);
}

/// The `cells` group: per-cell kind, uptake, doses, uncertainties, survival, doses at times.
fn write_cells_group(b: &mut H5Writer, plan: &Plan, r: &RunResult) {
    let cl = &r.cells;
    let mut gc = b.group("cells");
    gc.dataset("id").u32s(&cl.id);
    gc.dataset("kind").u16s(&cl.kind);
    gc.dataset("labelled")
        .u8s(&cl.labelled.iter().map(|&x| u8::from(x)).collect::<Vec<_>>());
    gc.dataset("uptake_weight").f64s(&cl.uptake_weight);
    gc.dataset("dose_gy").f64s(&cl.dose_gy);
    gc.dataset("alpha_dose_gy").f64s(&cl.alpha_gy);
    gc.dataset("dose_sd_gy").f64s(&cl.dose_sd_gy).attr(
        "description",
        vstr("Monte Carlo standard uncertainty of dose_gy (batch method)"),
    );
    gc.dataset("alpha_dose_sd_gy").f64s(&cl.alpha_sd_gy).attr(
        "description",
        vstr("Monte Carlo standard uncertainty of alpha_dose_gy (batch method)"),
    );
    gc.dataset("rbe_weighted_dose_gy").f64s(&cl.rbe_weighted_gy);
    gc.dataset("bed_gy").f64s(&cl.bed_gy);
    gc.dataset("surviving_fraction").f64s(&cl.survival);
    if !cl.dose_at_gy.is_empty() {
        gc.dataset("dose_at_times_gy")
            .f64s(&cl.dose_at_gy.iter().flatten().copied().collect::<Vec<_>>())
            .shape(&[cl.dose_at_gy.len() as u64, cl.id.len() as u64]);
        gc.dataset("times_s").f64s(&plan.scenario.output.times_s);
    }
    b.add(gc);
}

/// The `maps` group: cumulative dose maps and their times.
/// Each map is computed when the file is written, after the rest, one at a time.
fn write_maps_group<'a>(
    b: &mut H5Writer<'a>,
    plan: &Plan,
    tr: &'a [ComponentTransport],
    r: &'a RunResult,
) {
    let (shape, ch) = voxel_shape(plan);
    let mut gm = b.group("maps");
    gm.dataset("times_s").f64s(&r.dose_maps.times_s()).attr(
        "description",
        vstr("time of each dose_<i> map after the first administration; inf = over all time"),
    );
    b.add(gm);
    for i in 0..r.dose_maps.len() {
        b.late(
            H5Writer::late_dataset(&format!("maps/dose_{i}"), &shape)
                .chunks(&ch)
                .shuffle()
                .deflate(1)
                .attr("units", vstr("Gy (cumulative absorbed dose)"))
                .values(move || LateData::F32(r.dose_maps.map(i, tr))),
        );
    }
}

/// The `window` group: surviving fraction and doses of the cohort arriving on each day.
fn write_window_group(b: &mut H5Writer, w: &xfire_kinetics::window::WindowReport) {
    let mut gw = b.group("window");
    gw.attr("survival_target", Attr::F64(w.survival_target));
    gw.attr(
        "earliest_day",
        Attr::F64(w.earliest_day.unwrap_or(f64::NAN)),
    );
    let per_day = |f: &dyn Fn(&xfire_kinetics::window::DayExposure) -> f64| -> Vec<f64> {
        w.days.iter().map(f).collect()
    };
    gw.dataset("start_day").f64s(&per_day(&|d| d.day));
    gw.dataset("surviving_fraction")
        .f64s(&per_day(&|d| d.surviving_fraction));
    gw.dataset("surviving_fraction_lo95")
        .f64s(&per_day(&|d| d.survival_estimate.interval[0]));
    gw.dataset("surviving_fraction_hi95")
        .f64s(&per_day(&|d| d.survival_estimate.interval[1]));
    gw.dataset("surviving_fraction_uncorrected")
        .f64s(&per_day(&|d| d.survival_estimate.naive));
    gw.dataset("survival_too_wide").u8s(
        &w.days
            .iter()
            .map(|d| u8::from(d.survival_estimate.too_wide))
            .collect::<Vec<_>>(),
    );
    gw.dataset("rbe_weighted_mean_gy")
        .f64s(&per_day(&|d| d.rbe_weighted_gy.mean));
    gw.dataset("bed_mean_gy").f64s(&per_day(&|d| d.bed_gy.mean));
    gw.dataset("tumour_dose_fraction")
        .f64s(&per_day(&|d| d.tumour_dose_fraction.unwrap_or(f64::NAN)));
    b.add(gw);
}

/// The end of the immunotherapy window: the last day of the run of safe start days that
/// begins on the earliest safe day, and whether that is the last scanned day (the window is
/// still open there); None without a window.
pub fn window_end(w: &xfire_kinetics::window::WindowReport) -> Option<(f64, bool)> {
    let start = w.earliest_day?;
    let end = w
        .cycles
        .iter()
        .flat_map(|c| &c.safe_runs_days)
        .find(|run| run.0 == start)
        .map(|run| run.1)?;
    let last = w.days.last().map(|d| d.day);
    Some((end, Some(end) == last))
}

/// The window in words: "opens on day 16, closes after day 38".
fn window_words(w: &xfire_kinetics::window::WindowReport) -> String {
    let target = fmt_sig_short(100.0 * w.survival_target);
    match (w.earliest_day, window_end(w)) {
        (Some(a), Some((b, true))) => format!(
            "lymphocytes arriving from day {} survive >= {target} % (still on day {}, the last scanned)",
            fmt_sig_short(a),
            fmt_sig_short(b)
        ),
        (Some(a), Some((b, false))) => format!(
            "opens on day {} and closes after day {} (arriving lymphocytes survive >= {target} % on these days)",
            fmt_sig_short(a),
            fmt_sig_short(b)
        ),
        (Some(a), None) => format!(
            "lymphocytes arriving from day {} survive >= {target} %",
            fmt_sig_short(a)
        ),
        (None, _) => format!("no scanned day reaches {target} % lymphocyte survival"),
    }
}

/// Figures drawn so far and notes on those that could not be drawn.
struct Figures<'a> {
    dir: &'a Path,
    figs: Vec<xfire_report::FigureRef>,
    notes: Vec<String>,
}

impl Figures<'_> {
    /// Record the figure `stem` when it was drawn, a note when it was not.
    fn add(
        &mut self,
        stem: &str,
        caption: &str,
        res: std::result::Result<xfire_report::WrittenFigure, xfire_report::ReportError>,
    ) {
        match res {
            Ok(_) => self.figs.push(xfire_report::FigureRef {
                stem: stem.into(),
                caption: caption.into(),
            }),
            Err(e) => self.notes.push(format!("figure {stem} not drawn: {e}")),
        }
    }

    /// Where to draw the figure `stem`.
    fn target(&self, stem: &str) -> xfire_report::FigureTarget {
        xfire_report::FigureTarget::new(self.dir, stem)
    }
}

/// Figures and report.md/html through `xfire-report`; returns the file stems written and
/// any figure that could not be drawn (as notes).
pub fn write_figures(
    dir: &Path,
    plan: &Plan,
    tr: &[ComponentTransport],
    r: &RunResult,
) -> Vec<String> {
    let mut f = Figures {
        dir,
        figs: Vec::new(),
        notes: Vec::new(),
    };
    time_figures(&mut f, r);
    if let Some(w) = &r.window {
        survival_figure(&mut f, w);
    }
    cell_dose_figure(&mut f, r);
    if let Some(total) = r.dose_maps.total_map(tr) {
        dose_slice_figure(&mut f, plan, &total);
    }
    if let Some(np) = &plan.nested {
        macro_slice_figure(&mut f, np, tr, r);
    }
    let report = run_report(plan, r, results_blocks(r), &f.figs);
    if let Err(e) = xfire_report::write_report(dir, &report) {
        f.notes.push(format!("report not written: {e}"));
    }
    f.notes
}

/// Dose rate and cumulative dose of the tumour cells and resident lymphocytes over time.
fn time_figures(f: &mut Figures, r: &RunResult) {
    use xfire_report::*;
    let c = &r.curves;
    let series = |vals: &Vec<Vec<f64>>, scale: f64| -> Vec<TimeSeries> {
        c.names
            .iter()
            .zip(vals)
            .take(2)
            .enumerate()
            .map(|(i, (n, v))| {
                let s = TimeSeries::from_seconds(
                    if i == 1 {
                        "resident lymphocytes"
                    } else {
                        n.as_str()
                    },
                    &c.times_s,
                    v.iter().map(|x| x * scale).collect(),
                );
                if i == 1 {
                    s.dashed()
                } else {
                    s
                }
            })
            .collect()
    };
    f.add(
        "dose_rate",
        "Mean absorbed dose rate of the tumour cells (solid) and of the resident lymphocytes (dashed), whole treatment, log scale.",
        dose_rate_vs_time(
            &f.target("dose_rate"),
            &format!("{}: dose rate, tumour cells vs lymphocytes", r.nuclide),
            &series(&c.rate_gy_per_s, 3600.0),
        ),
    );
    f.add(
        "cumulative_dose",
        "Cumulative mean absorbed dose of the tumour cells (solid) and of the resident lymphocytes (dashed), whole treatment.",
        cumulative_dose_vs_time(
            &f.target("cumulative_dose"),
            &format!("{}: cumulative dose, tumour cells vs lymphocytes", r.nuclide),
            &series(&c.cumulative_gy, 1.0),
        ),
    );
}

/// Surviving fraction of a lymphocyte cohort against its arrival day, with the window.
fn survival_figure(f: &mut Figures, w: &xfire_kinetics::window::WindowReport) {
    use xfire_report::*;
    let end = window_end(w);
    let curve = SurvivalCurve {
        label: "cohorts".into(),
        start_days: w.days.iter().map(|d| d.day).collect(),
        survival: w.days.iter().map(|d| d.surviving_fraction).collect(),
        window_day: w.earliest_day,
        window_end_day: end.filter(|e| !e.1).map(|e| e.0),
    };
    f.add(
        "survival_vs_start_day",
        "Mean surviving fraction of a lymphocyte cohort arriving on each day and staying the residence time (cohort model); filled circle: the window opens; open square: it closes (the next cohort's stay would overlap the next administration).",
        survival_vs_start_day(
            &f.target("survival_vs_start_day").with_size(1200, 700),
            "Lymphocyte survival vs start day",
            &[curve],
            Some(w.survival_target),
        ),
    );
}

/// Histograms of the per-cell dose of the tumour cells and of the lymphocytes.
fn cell_dose_figure(f: &mut Figures, r: &RunResult) {
    use xfire_report::*;
    let cl = &r.cells;
    let pick = |kind: u16| -> Vec<f64> {
        cl.kind
            .iter()
            .zip(&cl.dose_gy)
            .filter(|(k, _)| **k == kind)
            .map(|(_, d)| *d)
            .collect()
    };
    let groups: Vec<DoseGroup> = [(0u16, "tumour cells"), (1u16, "lymphocytes")]
        .iter()
        .map(|(k, n)| DoseGroup {
            name: (*n).into(),
            doses_gy: pick(*k),
        })
        .filter(|g| !g.doses_gy.is_empty())
        .collect();
    if !groups.is_empty() {
        f.add(
            "cell_dose_histogram",
            "Per-cell absorbed dose over the whole treatment.",
            dose_histograms(
                &f.target("cell_dose_histogram"),
                "Per-cell dose",
                &groups,
                &HistogramOptions::default(),
            ),
        );
    }
}

/// The total dose `total` in the central slice of the phantom, cells outlined.
fn dose_slice_figure(f: &mut Figures, plan: &Plan, total: &[f32]) {
    use xfire_report::*;
    let g = &plan.phantom.grid;
    let k = g.nz / 2;
    let sl: Vec<f64> = (0..g.ny)
        .flat_map(|j| (0..g.nx).map(move |i| (i, j)))
        .map(|(i, j)| f64::from(total[g.index(i, j, k)]))
        .collect();
    let lab: Vec<u32> = (0..g.ny)
        .flat_map(|j| (0..g.nx).map(move |i| (i, j)))
        .map(|(i, j)| plan.phantom.cell_id[g.index(i, j, k)])
        .collect();
    let mut ds = DoseSlice::new(g.nx, g.ny, &sl, (g.voxel_cm[0] * 1e4, g.voxel_cm[1] * 1e4));
    ds.outlines = Some(&lab);
    f.add(
        "dose_slice",
        "Total absorbed dose in the central slice, with label outlines.",
        dose_slice(
            &f.target("dose_slice"),
            "Total dose, central slice [Gy]",
            &ds,
        ),
    );
}

/// The lesion scale of a nested run: macro-voxel dose in the slice through the micro phantom.
fn macro_slice_figure(
    f: &mut Figures,
    np: &crate::lesion::NestedPlan,
    tr: &[ComponentTransport],
    r: &RunResult,
) {
    use xfire_report::*;
    let dose = crate::lesion::macro_dose_gy(np, tr, r);
    let (nx, ny, sl, lab) = crate::lesion::macro_slice(np, &dose);
    let h = np.nested.grid.outer().voxel_cm;
    let mut ds = DoseSlice::new(nx, ny, &sl, (h[0] * 1e4, h[1] * 1e4));
    ds.outlines = Some(&lab);
    f.add(
        "macro_dose_slice",
        "The lesion scale: total absorbed dose of the macro voxels in the slice through the \
         micro phantom (grey: the voxels it covers), with the lesion and body outlined.",
        dose_slice(
            &f.target("macro_dose_slice"),
            "Total dose, lesion and body, slice through the micro phantom [Gy]",
            &ds,
        ),
    );
}

/// The results section of the report: the whole-treatment table and the window in words.
fn results_blocks(r: &RunResult) -> Vec<xfire_report::Block> {
    use xfire_report::*;
    let mut rows = vec![];
    for (g, name) in [
        (&r.tumour, "tumour cells"),
        (&r.lymphocytes, "resident lymphocytes (TILs)"),
    ] {
        rows.push(vec![
            Cell::from(name),
            Cell::Value(fmt_dose(g.mean_gy)),
            Cell::Value(fmt_dose(g.alpha_gy)),
            Cell::Value(fmt_dose(g.rbe_weighted_gy)),
            Cell::Value(g.survival.map_or_else(
                || g.surviving_fraction.map_or("-".into(), fmt_survival),
                |x| fmt_estimate(&x),
            )),
            Cell::Value(
                g.alpha_hit_survival
                    .map_or("-".into(), |x| fmt_estimate(&x)),
            ),
        ]);
    }
    let flagged = [&r.tumour, &r.lymphocytes]
        .iter()
        .filter_map(|g| g.survival)
        .chain(r.exposures.iter().map(|e| e.survival))
        .any(|e| e.too_wide);
    let mut blocks = vec![Block::Table(Table {
        caption: Some(format!(
            "Whole treatment (first administration until < 10⁻⁴ of the decays remain); \
             mass-weighted mean over the cells' voxels; 3 significant figures (full precision \
             in summary.json). Surviving fractions: Monte Carlo noise of the per-cell doses \
             removed, [95 % interval] (docs/kinetics.md §9); the α-hit model beside it for α \
             emitters. {}",
            if flagged { TOO_WIDE_LEGEND } else { "" }
        )),
        header: vec![
            "target".into(),
            "absorbed dose (Gy)".into(),
            "α part (Gy)".into(),
            "RBE-weighted dose (Gy)".into(),
            "mean surviving fraction [95 % interval]".into(),
            "α-hit model surviving fraction".into(),
        ],
        rows,
    })];
    if let Some(w) = &r.window {
        blocks.push(Block::Text(format!(
            "Immunotherapy window: {}; tumour dose delivered by the opening day: {}.",
            window_words(w),
            w.tumour_dose_fraction_at_earliest
                .map_or("-".into(), |f| format!("{:.1} %", 100.0 * f))
        )));
    }
    blocks
}

/// The run report: run information, how to read it, the results `blocks` and the figures.
fn run_report(
    plan: &Plan,
    r: &RunResult,
    blocks: Vec<xfire_report::Block>,
    figs: &[xfire_report::FigureRef],
) -> xfire_report::Report {
    use xfire_report::*;
    let mut fig_blocks = Vec::new();
    for f in figs {
        fig_blocks.push(Block::Figure(f.clone()));
    }
    let residence_d = plan.scenario.lymphocytes.residence_s / DAY;
    let target = r
        .window
        .as_ref()
        .map_or(plan.scenario.radiobiology.survival_target, |w| {
            w.survival_target
        });
    Report {
        title: format!(
            "xfire run: {} ({})",
            r.description.clone().unwrap_or_default(),
            r.nuclide
        ),
        run: RunInfo {
            xfire_version: env!("CARGO_PKG_VERSION").into(),
            seed: Some(plan.scenario.transport.seed),
            decays: r
                .components
                .first()
                .map(|c| c.transported_decays[0].max(c.transported_decays[1])),
            wall_time_s: None,
            command_line: None,
            extra: vec![],
        },
        sections: vec![
            Section {
                heading: "How to read this".into(),
                blocks: vec![Block::List(crate::explain::how_to_read(
                    &r.parameters,
                    residence_d,
                    target,
                ))],
            },
            Section {
                heading: "Results".into(),
                blocks,
            },
            Section {
                heading: "Figures".into(),
                blocks: fig_blocks,
            },
        ],
    }
}

/// Write every output file into `dir`; returns their paths.
pub fn write_all(
    dir: &Path,
    plan: &Plan,
    tr: &[ComponentTransport],
    r: &RunResult,
) -> Result<(Vec<PathBuf>, Vec<String>)> {
    std::fs::create_dir_all(dir).map_err(io_error("create", dir))?;
    let mut files = Vec::new();
    let h5 = dir.join("results.h5");
    write_results_h5(&h5, plan, tr, r)?;
    files.push(h5);
    let j = dir.join("summary.json");
    let v = summary_json(r)?;
    write_atomic(
        &j,
        serde_json::to_string_pretty(&v)
            .context("summary.json")?
            .as_bytes(),
    )?;
    files.push(j);
    let c = dir.join("summary.csv");
    write_atomic(&c, summary_csv(r).as_bytes())?;
    files.push(c);
    let notes = if plan.scenario.output.figures {
        write_figures(dir, plan, tr, r)
    } else {
        vec![]
    };
    Ok((files, notes))
}

/// A short table for the terminal (3 significant figures; full precision in summary.json).
pub fn short_table(r: &RunResult) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "{} bound to {}; {} administration(s); labelled cells {} of {}\n",
        r.nuclide,
        r.binding,
        r.administrations.len(),
        r.labelled_cells[0],
        r.labelled_cells[1]
    ));
    s.push_str(&format!(
        "whole treatment (day 0-{}): absorbed dose, α part, RBE-weighted dose, per-cell dose uncertainty (95th percentile), mean surviving fraction\n",
        fmt_sig_short(r.end_s / DAY)
    ));
    s.push_str(&format!(
        "{:<28} {:>10} {:>10} {:>14} {:>9}  {}\n",
        "target", "dose (Gy)", "alpha (Gy)", "RBE-wtd (Gy)", "cell u95", "survival [95 % interval]"
    ));
    for (g, name) in [
        (&r.tumour, "tumour cells"),
        (&r.lymphocytes, "resident lymphocytes (TILs)"),
    ] {
        s.push_str(&format!(
            "{:<28} {:>10} {:>10} {:>14} {:>9}  {}{}\n",
            name,
            fmt_dose(g.mean_gy),
            fmt_dose(g.alpha_gy),
            fmt_dose(g.rbe_weighted_gy),
            g.per_cell_rel_unc_p95
                .map_or("-".into(), |u| format!("{:.0} %", 100.0 * u)),
            g.survival.map_or_else(
                || g.surviving_fraction.map_or("-".into(), fmt_survival),
                |x| fmt_estimate(&x)
            ),
            g.alpha_hit_survival.map_or(String::new(), |x| format!(
                "; α-hit model {}",
                fmt_estimate(&x)
            ))
        ));
    }
    s.push_str(&format!(
        "tumour/lymphocyte dose ratio: {} (absorbed), {} (RBE-weighted)\n",
        fmt_sig(r.tumour_to_lymphocyte_ratio[0]),
        fmt_sig(r.tumour_to_lymphocyte_ratio[1])
    ));
    for a in &r.at_times {
        s.push_str(&format!(
            "  by day {:>6}: tumour {} Gy ({:.1} % of total), resident lymphocytes {} Gy\n",
            fmt_sig_short(a.time_s / DAY),
            fmt_dose(a.tumour_gy),
            100.0 * a.tumour_fraction_delivered,
            fmt_dose(a.lymphocyte_gy)
        ));
    }
    // the resident TILs are the line above; the other models over their own intervals
    for e in r.exposures.iter().filter(|e| e.model != "resident") {
        s.push_str(&format!(
            "  {:<11} day {:>5}-{:<6} mean dose {} Gy, mean survival {}{}\n",
            e.model,
            fmt_sig_short(e.from_s / DAY),
            fmt_sig_short(e.to_s / DAY),
            fmt_dose(e.mean_gy),
            fmt_estimate(&e.survival),
            e.alpha_hit_survival.map_or(String::new(), |x| format!(
                "; α-hit model {}",
                fmt_estimate(&x)
            ))
        ));
    }
    let flagged = [&r.tumour, &r.lymphocytes]
        .iter()
        .filter_map(|g| g.survival)
        .chain(r.exposures.iter().map(|e| e.survival))
        .chain(
            r.window
                .iter()
                .flat_map(|w| w.days.iter().map(|d| d.survival_estimate)),
        )
        .any(|e| e.too_wide);
    s.push_str("survival: noise-corrected mean over cells (docs/kinetics.md); cell u95 = 95th percentile of the per-cell relative dose uncertainty\n");
    if flagged {
        s.push_str(&format!("{TOO_WIDE_LEGEND}\n"));
    }
    if let Some(w) = &r.window {
        s.push_str(&format!(
            "immunotherapy window: {}; tumour dose delivered by the opening day {}\n",
            window_words(w),
            w.tumour_dose_fraction_at_earliest
                .map_or("-".into(), |f| format!("{:.1} %", 100.0 * f))
        ));
    }
    for n in &r.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    s
}
