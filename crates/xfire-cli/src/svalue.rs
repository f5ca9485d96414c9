//! `xfire svalue`: cellular S values (MIRD cellular method or full transport) for one
//! nuclide and cell geometry. The computation lives in `xfire-cell`; output formats:
//! `docs/formats/svalue.md`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use serde_json::{json, Value};
use xfire_cell::averaged::{coarse_voxel, mc_table};
use xfire_cell::cells::CellList;
use xfire_cell::cluster::{cluster_dose, Cluster, ClusterSpec};
use xfire_cell::mc::McOptions;
use xfire_cell::table::{column_name, to_csv, to_json, um, Metadata};
use xfire_cell::{csda_table, ElectronEnergyLoss, Request, Row, COLUMNS};
use xfire_core::units::parse_length_cm;

use crate::kernel::Emissions;

/// How the S values are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// Full transport: α, condensed-history electrons, photons on a fine voxel grid.
    Mc,
    /// The MIRD analytic method: straight tracks, continuous slowing down, no straggling.
    Csda,
}

/// Electron range–energy relation of the CSDA method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EnergyLoss {
    /// ICRU 37 total stopping power of the medium (the project's tables).
    Icru37,
    /// Cole's experimental relation in water (MIRD cellular tables).
    Cole,
}

/// Arguments of `xfire svalue`.
#[derive(Debug, clap::Args)]
#[command(
    about = "Cellular S values (Gy/(Bq s)) of a nuclide: nucleus and cell targets, sources in the nucleus, cytoplasm, cell surface or whole cell, of the same cell and of neighbours",
    after_help = "Examples:\n  xfire svalue --nuclide I-125 --cell-radius 5um --nucleus-radius 3um --method csda --distance 10um,20um,50um\n  \
xfire svalue --nuclide Lu-177 --cell-radius 7um --nucleus-radius 5um --distance 14um --decays 20000 --out lu177-cell --json\n\n\
Columns: S_N_from_N, S_N_from_Cy, S_N_from_CS, S_C_from_C, S_C_from_CS (target N nucleus / C cell; \
source N, Cy cytoplasm, CS cell surface, C whole cell), each with _rel_unc. Formats: docs/formats/svalue.md."
)]
pub struct Args {
    /// Radionuclide (any spelling: Lu-177, 177Lu, lu177).
    #[arg(long)]
    pub nuclide: String,
    /// Cell radius with its unit, e.g. 5um.
    #[arg(long, value_name = "LEN")]
    pub cell_radius: String,
    /// Nucleus radius with its unit, e.g. 3um (at most the cell radius).
    #[arg(long, value_name = "LEN")]
    pub nucleus_radius: String,
    /// Which emissions of the nuclide are followed.
    #[arg(long, value_enum, default_value = "all")]
    pub emissions: Emissions,
    /// mc: full transport; csda: the MIRD analytic method (photons left out).
    #[arg(long, value_enum, default_value = "mc")]
    pub method: Method,
    /// Electron range–energy relation of --method csda: icru37 (the project's stopping powers)
    /// or cole (Cole 1969, as in the MIRD cellular tables; water only).
    #[arg(long, value_enum, default_value = "icru37")]
    pub energy_loss: EnergyLoss,
    /// Centre-to-centre distances of neighbour cells, comma-separated with units
    /// (each at least two cell radii), e.g. 10um,20um,50um.
    #[arg(long, value_name = "LIST")]
    pub distance: Option<String>,
    /// Cluster around the source cell: LATTICE:SHELLS with LATTICE sc (simple cubic) or fcc,
    /// touching cells, e.g. fcc:2; or a CSV file of cell centres x_um,y_um,z_um[,activity]
    /// whose first cell is the target (docs/formats/cells.md). Adds the rows of the neighbour
    /// distances and the dose to the central (target) cell from every labelled cell (self,
    /// cross, total).
    #[arg(long, value_name = "LATTICE:SHELLS|FILE.csv")]
    pub cluster: Option<String>,
    /// Fraction of the cluster's neighbours that carry activity (the central cell always does).
    #[arg(
        long,
        value_name = "FRACTION",
        default_value_t = 1.0,
        requires = "cluster"
    )]
    pub labelled_fraction: f64,
    /// Decays per source compartment and row (mc).
    #[arg(long, value_name = "N", default_value_t = 20_000)]
    pub decays: u64,
    /// Run more decays until every S value of a run has this relative uncertainty (mc),
    /// e.g. 0.01; at most --max-decays.
    #[arg(long, value_name = "FRACTION")]
    pub target_uncertainty: Option<f64>,
    /// Most decays per source compartment and row with --target-uncertainty.
    #[arg(long, value_name = "N", default_value_t = 10_000_000)]
    pub max_decays: u64,
    /// Voxel edge of the transport grid with its unit (mc; default nucleus radius / 10).
    #[arg(long, value_name = "LEN")]
    pub voxel: Option<String>,
    /// Medium around the cells on every side of the grid with its unit (mc; default the
    /// cell radius).
    #[arg(long, value_name = "LEN")]
    pub margin: Option<String>,
    /// Medium of cell, nucleus and surroundings (a built-in material).
    #[arg(long, default_value = "water")]
    pub material: String,
    /// Master random seed (mc).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Worker threads (0: all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Print the result as JSON ({"rows": [...], ...metadata}).
    #[arg(long)]
    pub json: bool,
    /// Output directory for svalues.csv, svalues.json and the plot of S against distance.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace the results of another run in --out.
    #[arg(long)]
    pub force: bool,
}

fn length(flag: &str, text: &str) -> anyhow::Result<f64> {
    parse_length_cm(text).map_err(|e| anyhow::anyhow!("--{flag}: {e}"))
}

impl Args {
    /// The validated request and cluster (every bad value refused here, before any output is
    /// written); the cluster's neighbour distances are added to the rows.
    pub fn request(&self) -> anyhow::Result<(Request, Option<ClusterSpec>)> {
        let rc = length("cell-radius", &self.cell_radius)?;
        let rn = length("nucleus-radius", &self.nucleus_radius)?;
        let mut distances = Vec::new();
        for part in self.distance.iter().flat_map(|d| d.split(',')) {
            if !part.trim().is_empty() {
                distances.push(length("distance", part.trim())?);
            }
        }
        let mut req = Request::new(&self.nuclide, rc, rn, distances)?;
        req.material = xfire_api::material::find_material(&self.material, None)?;
        req.radiations = xfire_api::kernel::Emissions::from(self.emissions).set();
        req.electron_energy_loss = match (self.energy_loss, self.method) {
            (EnergyLoss::Icru37, _) => ElectronEnergyLoss::Icru37,
            (EnergyLoss::Cole, Method::Csda) => ElectronEnergyLoss::Cole,
            (EnergyLoss::Cole, Method::Mc) => {
                bail!(
                    "--energy-loss cole applies to --method csda (transport uses its own physics)"
                )
            }
        };
        let cluster = self.cluster(rc)?;
        for g in cluster.iter().flat_map(|c| c.groups(rc)) {
            let d = g.distance_cm;
            if !req.distances_cm.iter().any(|x| (x - d).abs() <= 1e-9 * d) {
                req.distances_cm.push(d);
            }
        }
        req.check()?;
        Ok((req, cluster))
    }

    /// The cluster: a lattice `sc:N` / `fcc:N`, or a CSV file of cell centres (a path ending
    /// in .csv, or any existing file).
    fn cluster(&self, rc: f64) -> anyhow::Result<Option<ClusterSpec>> {
        let Some(text) = self.cluster.as_deref() else {
            return Ok(None);
        };
        let path = Path::new(text);
        if !(text.to_ascii_lowercase().ends_with(".csv") || path.is_file()) {
            let lattice = Cluster::parse(text, self.labelled_fraction)?;
            return Ok(Some(ClusterSpec::Lattice(lattice)));
        }
        if self.labelled_fraction != 1.0 {
            bail!(
                "--labelled-fraction applies to lattice clusters (sc:N, fcc:N); give each cell's \
                 relative activity in the activity column of {text}"
            );
        }
        let body = std::fs::read_to_string(path)
            .with_context(|| format!("--cluster: cannot read the cells file {text}"))?;
        Ok(Some(ClusterSpec::Cells(CellList::parse(text, &body, rc)?)))
    }

    fn mc_options(&self) -> anyhow::Result<McOptions> {
        if self.decays < 2 {
            bail!("--decays must be at least 2, got {}", self.decays);
        }
        let opt_len = |flag: &str, t: &Option<String>| -> anyhow::Result<Option<f64>> {
            t.as_deref().map(|t| length(flag, t)).transpose()
        };
        Ok(McOptions {
            voxel_cm: opt_len("voxel", &self.voxel)?,
            margin_cm: opt_len("margin", &self.margin)?,
            decays: self.decays,
            target_rel_unc: self.target_uncertainty,
            max_decays: self.max_decays.max(self.decays),
            seed: self.seed,
            threads: self.threads,
        })
    }

    fn identity(&self) -> String {
        crate::outdir::identity("svalue", &[&format!("{self:?}")])
    }
}

/// Computes the table; returns rows and metadata.
pub fn compute(args: &Args) -> anyhow::Result<(Vec<Row>, Metadata, Value)> {
    let (req, cluster) = args.request()?;
    let t0 = Instant::now();
    let (rows, method, model, mc) = match args.method {
        Method::Csda => (
            csda_table(&req)?,
            "csda",
            format!(
                "MIRD analytic method: straight tracks, continuous slowing down (electrons {}, \
                 alpha ASTAR), no straggling, no delta rays; alpha recoils local; photons left out",
                match req.electron_energy_loss {
                    ElectronEnergyLoss::Icru37 => "ICRU 37",
                    ElectronEnergyLoss::Cole => "Cole 1969",
                }
            ),
            None,
        ),
        Method::Mc => {
            let o = args.mc_options()?;
            let (rows, runs) = mc_table(&req, &o)?;
            let h = o.voxel_for(&req.geometry);
            let m = o.margin_for(&req.geometry);
            let d_max = req.distances_cm.iter().copied().fold(0.0, f64::max);
            let model = format!(
                "full transport: alpha with range straggling, condensed-history electrons \
                 (1 keV cut), photons; source cell on {} um voxels nested in {} um voxels \
                 reaching {} um beyond the farthest neighbour (particles leaving the grid are \
                 not followed); neighbours: exact spheres averaged over directions, every \
                 distance from the same decays",
                um(h),
                um(coarse_voxel(&req, h, d_max, m)),
                um(m)
            );
            let decays = [0, 1, 2].map(|k| runs.tallies[k].decays);
            let decays: Vec<[u64; 3]> = rows.iter().map(|_| decays).collect();
            let imb = runs
                .tallies
                .iter()
                .map(|t| t.max_imbalance_rel)
                .fold(0.0, f64::max);
            (
                rows,
                "mc",
                model,
                Some((
                    o,
                    h,
                    json!({"decays_per_row_N_Cy_CS": decays, "max_history_imbalance_rel": imb}),
                )),
            )
        }
    };
    let meta = Metadata {
        nuclide: req.nuclide.name.clone(),
        method: method.into(),
        cell_radius_um: um(req.geometry.cell_radius_cm),
        nucleus_radius_um: um(req.geometry.nucleus_radius_cm),
        material: req.material.name.clone(),
        density_g_cm3: req.material.density_g_cm3,
        emissions: req
            .radiations
            .types()
            .iter()
            .map(|r| r.key().to_string())
            .collect(),
        units: "Gy/(Bq s)".into(),
        model,
        decays: mc.as_ref().map(|(o, _, _)| o.decays),
        voxel_um: mc.as_ref().map(|(_, h, _)| um(*h)),
        seed: mc.as_ref().map(|(o, _, _)| o.seed),
    };
    let cluster = match &cluster {
        Some(c) => cluster_json(args, c, req.geometry.cell_radius_cm, &rows)?,
        None => Value::Null,
    };
    let extra = json!({
        "wall_s": t0.elapsed().as_secs_f64(),
        "mc": mc.map(|(_, _, v)| v),
        "cluster": cluster,
    });
    Ok((rows, meta, extra))
}

/// The cluster summary: neighbour groups, and per column self, cross, total, self fraction, σ.
fn cluster_json(args: &Args, c: &ClusterSpec, rc: f64, rows: &[Row]) -> anyhow::Result<Value> {
    let d = cluster_dose(c, rc, rows)?;
    let (total, frac) = (d.total(), d.self_fraction());
    let mut cols = serde_json::Map::new();
    for (k, (t, s)) in COLUMNS.iter().enumerate() {
        cols.insert(
            column_name(*t, *s),
            json!({"self": d.self_s[k], "cross": d.cross_s[k], "total": total[k],
                   "self_fraction": frac[k], "total_sigma": d.sigma[k]}),
        );
    }
    let shells: Vec<Value> = c
        .groups(rc)
        .iter()
        .map(|g| json!({"distance_um": um(g.distance_cm), "cells": g.cells, "weight": g.weight}))
        .collect();
    let (lattice, labelled, file) = match c {
        ClusterSpec::Lattice(l) => (args.cluster.clone(), json!(l.labelled_fraction), None),
        ClusterSpec::Cells(_) => (None, Value::Null, args.cluster.clone()),
    };
    Ok(json!({
        "lattice": lattice,
        "cells_file": file,
        "target_weight": c.self_weight(),
        "labelled_fraction": labelled,
        "shells": shells,
        "central_cell": cols,
    }))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    xfire_scenario::shard::write_atomic(path, bytes)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn plot(dir: &Path, rows: &[Row], meta: &Metadata) -> anyhow::Result<()> {
    let far: Vec<&Row> = rows.iter().filter(|r| r.distance_cm.is_some()).collect();
    if far.is_empty() {
        return Ok(());
    }
    let curves: Vec<xfire_report::KernelCurve> = COLUMNS
        .iter()
        .enumerate()
        .map(|(k, (t, s))| xfire_report::KernelCurve {
            label: column_name(*t, *s),
            r_mm: far
                .iter()
                .map(|r| r.distance_cm.unwrap_or(0.0) * 10.0)
                .collect(),
            gy_per_decay: far.iter().map(|r| r.s_gy_per_bq_s[k]).collect(),
            sigma_gy_per_decay: Some(
                far.iter()
                    .map(|r| r.s_gy_per_bq_s[k] * r.rel_unc[k].min(1e3))
                    .collect(),
            ),
            reference: false,
        })
        .collect();
    let title = format!(
        "{} cellular S values (R_C {} um, R_N {} um, {}) vs centre distance",
        meta.nuclide, meta.cell_radius_um, meta.nucleus_radius_um, meta.method
    );
    let target = xfire_report::FigureTarget::new(dir, "svalues_vs_distance");
    xfire_report::radial_profile(
        &target,
        &title,
        &curves,
        false,
        xfire_report::RadialQuantity::CellSValue,
    )?;
    Ok(())
}

fn print_table(rows: &[Row], meta: &Metadata) {
    println!(
        "{} cellular S values [Gy/(Bq s)], R_C {} um, R_N {} um, {} in {} ({})",
        meta.nuclide,
        meta.cell_radius_um,
        meta.nucleus_radius_um,
        meta.method,
        meta.material,
        meta.emissions.join(", ")
    );
    let mut head = format!("{:>12}", "distance_um");
    for (t, s) in COLUMNS {
        head.push_str(&format!(" {:>20}", column_name(t, s)));
    }
    println!("{head}");
    for r in rows {
        let d = r
            .distance_cm
            .map_or("self".to_string(), |d| um(d).to_string());
        let mut line = format!("{d:>12}");
        for k in 0..5 {
            let u = if r.rel_unc[k].is_infinite() {
                " (no hit)".to_string()
            } else if r.rel_unc[k] > 0.0 {
                format!(" ±{:.1}%", 100.0 * r.rel_unc[k].min(9.99))
            } else {
                String::new()
            };
            line.push_str(&format!(
                " {:>20}",
                format!("{:.3e}{u}", r.s_gy_per_bq_s[k])
            ));
        }
        println!("{line}");
    }
}

fn print_cluster(c: &Value) {
    if c.is_null() {
        return;
    }
    let shells: Vec<String> = c["shells"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| format!("{} at {} um", s["cells"], s["distance_um"]))
        .collect();
    match c["cells_file"].as_str() {
        Some(f) => println!(
            "cluster of the cells in {f} (target: its first cell, activity {}): {}; dose to the \
             target cell per unit cumulated activity of a cell of activity 1:",
            c["target_weight"],
            shells.join(", ")
        ),
        None => println!(
            "cluster {} (labelled fraction {}): {}; dose to the central cell per decay in each labelled cell:",
            c["lattice"].as_str().unwrap_or(""),
            c["labelled_fraction"],
            shells.join(", ")
        ),
    }
    for (t, s) in COLUMNS {
        let v = &c["central_cell"][column_name(t, s)];
        let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
        println!(
            "  {:>12}: self {:.3e} + cross {:.3e} = {:.3e} Gy/(Bq s) (self {:.0} %)",
            column_name(t, s),
            f("self"),
            f("cross"),
            f("total"),
            100.0 * f("self_fraction")
        );
    }
}

/// Entry point of the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (rows, meta, extra) = compute(&args)?;
    let mut doc = to_json(&rows, &meta);
    if let (Value::Object(d), Value::Object(e)) = (&mut doc, extra) {
        d.insert("format".into(), json!("xfire-svalue/1"));
        d.extend(e);
    }
    if let Some(dir) = &args.out {
        let out = crate::outdir::prepare(dir, "svalue", &args.identity(), args.force, false)?;
        let written = (|| -> anyhow::Result<()> {
            write_atomic(&dir.join("svalues.csv"), to_csv(&rows).as_bytes())?;
            write_atomic(
                &dir.join("svalues.json"),
                serde_json::to_string_pretty(&doc)?.as_bytes(),
            )?;
            plot(dir, &rows, &meta)
        })();
        if let Err(e) = written {
            out.discard_if_empty();
            return Err(e);
        }
        out.finish()?;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print_table(&rows, &meta);
        print_cluster(&doc["cluster"]);
    }
    Ok(())
}
