//! Writing a dose result (`docs/formats/dose.md`): `dose.nii.gz`, `tia.nii.gz`,
//! `uncertainty.nii.gz` (Monte Carlo and hybrid), `dose.dcm` (RT Dose, DICOM input),
//! `dvh.csv`, `dvh.png`/`.svg`, `summary.json`, `report.md`/`.html`. Every file is written
//! atomically.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use xfire_io::{ElementType, Volume};
use xfire_report::{
    Block, Cell, DvhCurve, FigureRef, FigureTarget, Report, RunInfo, Section, Table,
};

use crate::pipeline::{DoseRequest, DoseResult, Method, Prepared};
use crate::Result;

/// Summary format tag.
pub const SUMMARY_FORMAT: &str = "xfire-dose-summary/1";

fn write_image(dir: &Path, name: &str, values: &[f64], inp: &Prepared) -> Result<PathBuf> {
    let path = dir.join(name);
    let v = Volume {
        grid: inp.grid,
        values: values.to_vec(),
        element: ElementType::F32,
    };
    match &inp.nifti_template {
        Some(t) => xfire_io::nifti::write_nifti_like(&path, &v, t)?,
        None => xfire_io::nifti::write_nifti(&path, &v)?,
    }
    Ok(path)
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp-write");
    std::fs::write(&tmp, text)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            crate::DoseError::File {
                path: path.to_path_buf(),
                error: e,
            }
        })
}

/// The DVH table: `dose_gy` then one `volume_fraction:<name>` column per label.
pub fn dvh_csv(res: &DoseResult) -> String {
    let mut s = String::from("dose_gy");
    for l in &res.labels {
        s.push_str(&format!(",volume_fraction:{}", l.name.replace(',', "_")));
    }
    s.push('\n');
    for (k, d) in res.dvh.0.iter().enumerate() {
        s.push_str(&format!("{d:e}"));
        for c in &res.dvh.1 {
            s.push_str(&format!(",{:e}", c[k]));
        }
        s.push('\n');
    }
    s
}

/// The `summary.json` object.
pub fn summary(req: &DoseRequest, inp: &Prepared, res: &DoseResult, files: &[String]) -> Value {
    let g = &inp.grid;
    let kernel = inp.kernel.as_ref().map(|k| {
        json!({"source": k.source, "nuclide": k.nuclide, "material": k.material,
               "voxel_mm": k.voxel_cm * 10.0, "half_width_voxels": k.half,
               "self_rel_unc": k.self_rel_unc(), "decays": k.meta.get("decays"),
               "xfire_version": k.meta.get("xfire_version")})
    });
    let mc = res.mc.as_ref().map(|m| {
        json!({"decays": m.decays, "seed": req.mc.seed, "batch_size": req.mc.batch_size,
               "electron_model": "condensed-history", "electron_cut_mev": crate::mc::ELECTRON_CUT_MEV,
               "emitted_mev_per_decay": m.emitted_deposited_escaped_mev[0],
               "deposited_mev_per_decay": m.emitted_deposited_escaped_mev[1],
               "escaped_mev_per_decay": m.emitted_deposited_escaped_mev[2],
               "transport_wall_s": m.wall_s})
    });
    json!({
        "format": SUMMARY_FORMAT,
        "xfire_version": env!("CARGO_PKG_VERSION"),
        "nuclide": inp.nuclide.name,
        "half_life_s": inp.nuclide.half_life_s,
        "method": req.method,
        "quantity": req.quantity,
        "fit": if req.timepoints.is_empty() { Value::Null } else { json!(req.fit) },
        "fit_level": if req.timepoints.is_empty() { Value::Null } else { json!(req.fit_level) },
        "timepoints_h": req.timepoints.iter().map(|t| t.t_s / 3600.0).collect::<Vec<_>>(),
        "fit_diagnostics": inp.fit_diagnostics,
        "label_fits": inp.label_fits,
        "grid": {"dims": g.dims(), "voxel_mm": g.voxel_cm.map(|v| v * 10.0),
                 "origin_mm": g.origin_cm.map(|v| v * 10.0)},
        "medium": if req.ct.is_some() { "from --ct".to_string() } else { req.medium.clone() },
        "materials": inp.phantom.materials.iter().map(|m| &m.name).collect::<Vec<_>>(),
        "total_tia_bq_s": inp.tia.iter().sum::<f64>(),
        "kernel": kernel,
        "monte_carlo": mc,
        "hybrid_mc_voxels": res.hybrid_mc_voxels,
        "hybrid_density_tolerance": (req.method == Method::Hybrid).then_some(req.hybrid_density_tolerance),
        "hybrid_margin_voxels": (req.method == Method::Hybrid).then_some(req.hybrid_margin),
        "dose_wall_s": res.wall_s,
        "labels": res.labels,
        "notes": inp.notes,
        "files": files,
    })
}

fn report(req: &DoseRequest, inp: &Prepared, res: &DoseResult) -> Report {
    let mut header = vec![
        "label",
        "mass (g)",
        "TIA (Bq·s)",
        "mean (Gy)",
        "D2 (Gy)",
        "D50 (Gy)",
        "D90 (Gy)",
        "D98 (Gy)",
    ];
    let mc = req.method == Method::Mc;
    if mc {
        header.push("mean rel. unc.");
    }
    let rows = res
        .labels
        .iter()
        .map(|l| {
            let mut r: Vec<Cell> = vec![
                Cell::Text(format!("{} ({})", l.name, l.id)),
                l.mass_g.into(),
                l.tia_bq_s.into(),
                l.mean_gy.into(),
                l.d2_gy.into(),
                l.d50_gy.into(),
                l.d90_gy.into(),
                l.d98_gy.into(),
            ];
            if mc {
                r.push(l.mean_rel_unc.unwrap_or(f64::NAN).into());
            }
            r
        })
        .collect();
    let mut blocks = vec![
        Block::Text(format!(
            "{} dose of {} by {:?} on {}×{}×{} voxels of {:.3} mm.",
            if req.method == Method::Vsv {
                "Voxel S-value"
            } else {
                "Monte Carlo / hybrid"
            },
            inp.nuclide.name,
            req.method,
            inp.grid.nx,
            inp.grid.ny,
            inp.grid.nz,
            inp.grid.voxel_cm[0] * 10.0
        )),
        Block::Table(Table {
            caption: Some("Dose per label".into()),
            header: header.into_iter().map(String::from).collect(),
            rows,
        }),
        Block::Figure(FigureRef {
            stem: "dvh".into(),
            caption: "Cumulative dose–volume histograms".into(),
        }),
    ];
    if !inp.notes.is_empty() {
        blocks.push(Block::List(inp.notes.clone()));
    }
    Report {
        title: format!("xfire dose: {}", inp.nuclide.name),
        run: RunInfo {
            xfire_version: env!("CARGO_PKG_VERSION").into(),
            seed: res.mc.as_ref().map(|_| req.mc.seed),
            decays: res.mc.as_ref().map(|m| m.decays),
            wall_time_s: Some(res.wall_s),
            command_line: None,
            extra: vec![],
        },
        sections: vec![Section {
            heading: "Dose".into(),
            blocks,
        }],
    }
}

/// Write every output of `res` into `dir` (which must exist); returns the file names.
pub fn write_all(
    dir: &Path,
    req: &DoseRequest,
    inp: &Prepared,
    res: &DoseResult,
) -> Result<Vec<String>> {
    let mut files = vec!["dose.nii.gz".to_string(), "tia.nii.gz".to_string()];
    write_image(dir, "dose.nii.gz", &res.dose_gy, inp)?;
    write_image(dir, "tia.nii.gz", &inp.tia, inp)?;
    if let Some(u) = &res.rel_unc {
        write_image(dir, "uncertainty.nii.gz", u, inp)?;
        files.push("uncertainty.nii.gz".into());
    }
    if let Some(r) = &inp.dicom_reference {
        let description = format!("xfire dose {:?} {}", req.method, inp.nuclide.name);
        xfire_io::dicom::write_rt_dose(
            &dir.join("dose.dcm"),
            &inp.grid,
            &res.dose_gy,
            r,
            &description,
            env!("CARGO_PKG_VERSION"),
        )?;
        files.push("dose.dcm".into());
    }
    write_text(&dir.join("dvh.csv"), &dvh_csv(res))?;
    let curves: Vec<DvhCurve> = res
        .labels
        .iter()
        .zip(&res.dvh.1)
        .map(|(l, c)| DvhCurve {
            label: l.name.clone(),
            dose_gy: res.dvh.0.clone(),
            volume_fraction: c.clone(),
        })
        .collect();
    xfire_report::dose_volume_histograms(
        &FigureTarget::new(dir, "dvh"),
        &format!("Dose–volume histograms, {}", inp.nuclide.name),
        &curves,
    )?;
    xfire_report::write_report(dir, &report(req, inp, res))?;
    files.extend(
        [
            "dvh.csv",
            "dvh.png",
            "dvh.svg",
            "report.md",
            "report.html",
            "summary.json",
        ]
        .map(String::from),
    );
    let s = summary(req, inp, res, &files);
    write_text(
        &dir.join("summary.json"),
        &(serde_json::to_string_pretty(&s).unwrap_or_default() + "\n"),
    )?;
    Ok(files)
}
