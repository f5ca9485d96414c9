//! Radial dose point kernels (`xfire kernel --source radial`): a point isotropic source in a
//! homogeneous medium, energy scored in concentric spherical shells at exact radii
//! (`xfire_tally::shells`), dose per decay per shell with its relative uncertainty.
//!
//! The shells come in zones, `"3mm:50,60mm:57"`: each zone `R:n` is `n` shells of equal width
//! from the previous zone's outer radius (0 for the first) to `R`. Each zone is its own
//! transport run of all the decays on its own cubic grid: voxel edge half the zone's shell
//! width, reaching [`GRID_MARGIN`] beyond `R` (so particles scattered back from beyond `R`
//! are counted), source at the centre of the centre voxel; the run keeps only its zone's
//! shells. Fine shells near the source (α tracks, electrons) and coarse ones far out
//! (photons) thus cost one grid each, not one grid fine everywhere.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use xfire_tally::dose_gy;
use xfire_tally::shells::{ShellBins, ShellMap, ShellSums};

use super::{ElectronModelChoice, EmitterSpec, KernelPlan, KernelRequest, SourceKind};
use crate::{ApiError, Result};

/// The library's shells: 50 of 6 µm to 0.3 mm (α tracks), 45 of 60 µm to 3 mm (electrons),
/// 45 of 0.2 mm to 12 mm (β tails), 40 of 1.2 mm to 60 mm (photons).
pub const DEFAULT_SHELLS: &str = "0.3mm:50,3mm:45,12mm:45,60mm:40";

/// Innermost shell width [cm] from which the `auto` electron cutoff is 10 keV (CSDA range
/// 2.5 µm, half the width) in every zone; narrower first shells get 1 keV.
pub const AUTO_CUT_MIN_SHELL_CM: f64 = 5e-4;

/// Each zone's grid reaches this fraction beyond its outer radius.
pub const GRID_MARGIN: f64 = 0.25;

/// A radial kernel to compute (quantities with units are text, as in [`KernelRequest`]).
#[derive(Debug, Clone, PartialEq)]
pub struct RadialRequest {
    /// What emits.
    pub emitter: EmitterSpec,
    /// Medium: a built-in material or one from `materials_file`.
    pub material: String,
    /// TOML file with user materials.
    pub materials_file: Option<PathBuf>,
    /// The shell zones, `"R1:n1,R2:n2,…"` (radii with their unit, increasing).
    pub shells: String,
    /// Decays (histories) per zone, at least 1.
    pub decays: u64,
    /// Master random seed (every zone's run uses it).
    pub seed: u64,
    /// Worker threads (0: all cores); results do not depend on it.
    pub threads: usize,
    /// Histories per batch.
    pub batch_size: u64,
    /// Sample α range straggling (Bohr).
    pub alpha_straggling: bool,
    /// Electron transport model.
    pub electron_model: ElectronModelChoice,
    /// Condensed-history cutoff with its unit or "auto": 10 keV in every zone when the
    /// innermost shell is at least [`AUTO_CUT_MIN_SHELL_CM`] wide, else 1 keV.
    pub electron_cut: String,
}

fn shells_error(text: &str, why: String) -> ApiError {
    ApiError::Arg {
        arg: "shells",
        detail: format!(
            " {text:?}: {why} (expected zones \"R:n,…\", e.g. \"{DEFAULT_SHELLS}\": n shells \
             of equal width out to radius R, R increasing)"
        ),
    }
}

/// The zones of `text` ("3mm:50,60mm:57"), contiguous from radius 0.
pub fn parse_shells(text: &str) -> Result<Vec<ShellBins>> {
    let mut zones: Vec<ShellBins> = Vec::new();
    for part in text.split(',') {
        let (r, n) = part
            .split_once(':')
            .ok_or_else(|| shells_error(text, format!("zone {part:?} has no ':'")))?;
        let r_cm = xfire_core::units::parse_length_cm(r.trim())
            .map_err(|e| shells_error(text, e.to_string()))?;
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| shells_error(text, format!("shell count {n:?} is not a whole number")))?;
        let r_in = zones.last().map_or(0.0, |z| z.r_out_cm());
        let zone = ShellBins::new(r_in, r_cm, n).map_err(|_| {
            shells_error(
                text,
                format!("zone {part:?}: need 1 to 10000 shells out to a radius beyond {r_in} cm, got {n} to {r_cm} cm"),
            )
        })?;
        zones.push(zone);
    }
    Ok(zones)
}

/// Voxel edge [cm] and voxels per axis of a zone's grid.
pub fn zone_grid(z: &ShellBins) -> (f64, usize) {
    let h = z.width_cm / 2.0;
    let half = ((1.0 + GRID_MARGIN) * z.r_out_cm() / h - 1e-9).ceil() as usize;
    (h, 2 * half + 1)
}

/// What one zone's run gave.
#[derive(Debug, Clone)]
pub struct ZoneRun {
    /// Its shells.
    pub bins: ShellBins,
    /// Its grid's voxel edge [cm].
    pub voxel_cm: f64,
    /// Voxels per axis.
    pub grid: usize,
    /// Condensed-history cutoff [MeV] (`None`: straight-line electrons).
    pub condensed_cut_mev: Option<f64>,
    /// The run's sums.
    pub sums: ShellSums,
    /// Transport time [s].
    pub wall_s: f64,
}

impl ZoneRun {
    /// Energy per decay [MeV]: emitted, inside the zone, in its shells, beyond it (in the
    /// grid), escaped from the grid.
    pub fn balance(&self) -> [f64; 5] {
        let s = &self.sums;
        let n = s.decays.max(1) as f64;
        let b = |k: usize| s.bin_mev(k).0;
        let shells: f64 = (1..=self.bins.n).map(b).sum();
        [
            s.emitted / n,
            b(0),
            shells,
            b(self.bins.n + 1),
            s.escaped / n,
        ]
    }
}

/// A checked radial request: one kernel plan per zone.
pub struct RadialPlan {
    req: RadialRequest,
    zones: Vec<(ShellBins, KernelPlan)>,
}

impl RadialPlan {
    /// Checks `req` (errors name the bad value) and plans every zone's run.
    pub fn new(req: &RadialRequest) -> Result<Self> {
        let bins = parse_shells(&req.shells)?;
        let cut = match req.electron_cut.as_str() {
            "auto" if bins[0].width_cm >= AUTO_CUT_MIN_SHELL_CM => "10 keV",
            "auto" => "1 keV",
            c => c,
        };
        let mut zones = Vec::with_capacity(bins.len());
        for z in bins {
            let (h, n) = zone_grid(&z);
            if n > 1001 {
                return Err(shells_error(
                    &req.shells,
                    format!(
                        "the zone out to {} mm needs a grid of {n} voxels per axis (at most 1001): \
                         use wider shells or a smaller radius",
                        10.0 * z.r_out_cm()
                    ),
                ));
            }
            zones.push((z, KernelPlan::new(&zone_request(req, cut, h, n))?));
        }
        Ok(Self {
            req: req.clone(),
            zones,
        })
    }

    /// The request.
    pub fn request(&self) -> &RadialRequest {
        &self.req
    }

    /// Number of zones (each a run of all the decays).
    pub fn zone_count(&self) -> usize {
        self.zones.len()
    }

    /// Runs the zones in turn; `progress` gets the decays done over all zones.
    pub fn run(
        self,
        progress: &(dyn Fn(u64) + Sync),
        stop: &dyn Fn() -> bool,
    ) -> Result<RadialKernel> {
        let mut runs = Vec::with_capacity(self.zones.len());
        let first = &self.zones[0].1;
        let (material, density) = (
            first.material().name.clone(),
            first.material().density_g_cm3,
        );
        let emitter = first.emitter_meta().clone();
        for (i, (bins, plan)) in self.zones.iter().enumerate() {
            let (h, n) = zone_grid(bins);
            let map = ShellMap::new(n, h, *bins)?;
            let done = i as u64 * self.req.decays;
            let (sums, wall_s) = plan.run_shells(&map, &|d| progress(done + d), stop)?;
            runs.push(ZoneRun {
                bins: *bins,
                voxel_cm: h,
                grid: n,
                condensed_cut_mev: plan.condensed_cut_mev(),
                sums,
                wall_s,
            });
        }
        Ok(RadialKernel {
            request: self.req,
            material,
            density_g_cm3: density,
            emitter,
            zones: runs,
        })
    }
}

/// The kernel request of one zone's run.
fn zone_request(req: &RadialRequest, cut: &str, voxel_cm: f64, grid: usize) -> KernelRequest {
    KernelRequest {
        emitter: req.emitter.clone(),
        material: req.material.clone(),
        materials_file: req.materials_file.clone(),
        voxel: format!("{voxel_cm:e} cm"),
        grid,
        source: SourceKind::Point,
        decays: req.decays,
        seed: req.seed,
        threads: req.threads,
        batch_size: req.batch_size,
        alpha_straggling: req.alpha_straggling,
        electron_model: req.electron_model,
        electron_cut: cut.to_string(),
    }
}

/// One shell of a radial kernel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RadialShell {
    /// Inner radius [cm].
    pub r_in_cm: f64,
    /// Outer radius [cm].
    pub r_out_cm: f64,
    /// Energy deposited in the shell per decay [MeV].
    pub edep_mev: f64,
    /// Mean absorbed dose in the shell per decay [Gy].
    pub dose_gy: f64,
    /// Relative standard uncertainty (per-history variance; 1 where nothing was scored).
    pub rel_unc: f64,
}

/// A computed radial kernel.
pub struct RadialKernel {
    /// The request.
    pub request: RadialRequest,
    /// The medium's name.
    pub material: String,
    /// Its density [g/cm³].
    pub density_g_cm3: f64,
    /// `{"nuclide", "emissions"}` or `{"particle", "energy_mev"}`.
    pub emitter: Value,
    /// The zones' runs, innermost first.
    pub zones: Vec<ZoneRun>,
}

impl RadialKernel {
    /// Every shell, innermost first.
    pub fn shells(&self) -> Vec<RadialShell> {
        let mut out = Vec::new();
        for z in &self.zones {
            for k in 0..z.bins.n {
                let (e, sd) = z.sums.bin_mev(k + 1);
                let (r_in_cm, r_out_cm) = z.bins.edges_cm(k);
                out.push(RadialShell {
                    r_in_cm,
                    r_out_cm,
                    edep_mev: e,
                    dose_gy: dose_gy(e, z.bins.mass_g(k, self.density_g_cm3)),
                    rel_unc: if e > 0.0 { sd / e } else { 1.0 },
                });
            }
        }
        out
    }

    /// Energy per decay [MeV]: emitted, in the shells (all zones), beyond the last shell,
    /// escaped (the last three sum to the first within the zones' statistics).
    pub fn balance(&self) -> [f64; 4] {
        let shells: f64 = self.zones.iter().map(|z| z.balance()[2]).sum();
        let last = self.zones.last().map(ZoneRun::balance).unwrap_or_default();
        [last[0], shells, last[3], last[4]]
    }

    /// The JSON summary (`docs/formats/kernel.md`, radial kernels).
    pub fn summary(&self, csv: Option<&Path>) -> Value {
        let req = &self.request;
        let [emitted, shells, beyond, escaped] = self.balance();
        let zones: Vec<Value> = self.zones.iter().map(zone_json).collect();
        let first = self.shells().first().copied();
        let mut s = json!({
            "format": "xfire-radial-kernel-summary/1",
            "source": "radial",
            "material": self.material,
            "density_g_cm3": self.density_g_cm3,
            "shells": req.shells,
            "electron_model": req.electron_model.model().name(),
            "photons": "transported (Woodcock tracking); photons leaving a zone's grid counted as escaping energy",
            "seed": req.seed,
            "decays": req.decays,
            "batch_size": req.batch_size,
            "emitted_mev_per_decay": emitted,
            "shells_mev_per_decay": shells,
            "beyond_mev_per_decay": beyond,
            "escaped_mev_per_decay": escaped,
            "first_shell_dose_gy_per_decay": first.map(|f| f.dose_gy),
            "first_shell_rel_unc": first.map(|f| f.rel_unc),
            "zones": zones,
            "wall_s": self.zones.iter().map(|z| z.wall_s).sum::<f64>(),
        });
        if let (Value::Object(o), Value::Object(e)) = (&mut s, &self.emitter) {
            o.extend(e.clone());
            if let Some(p) = csv {
                o.insert("files".into(), json!({"csv": p.display().to_string()}));
            }
        }
        s
    }

    /// Writes `radial.csv` into `dir` (which must exist); returns its path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf> {
        let path = dir.join("radial.csv");
        let mut out =
            String::from("r_in_mm,r_out_mm,edep_mev_per_decay,dose_gy_per_decay,rel_unc\n");
        for s in self.shells() {
            out.push_str(&format!(
                "{},{},{:.9e},{:.9e},{:.6e}\n",
                fmt_mm(s.r_in_cm),
                fmt_mm(s.r_out_cm),
                s.edep_mev,
                s.dose_gy,
                s.rel_unc
            ));
        }
        xfire_io::fsutil::write_atomic(&path, out.as_bytes()).map_err(|source| ApiError::File {
            verb: "write",
            path: path.display().to_string(),
            source,
        })?;
        Ok(path)
    }
}

/// A radius [cm] in mm, rounded to 1e-9 mm (shell edges are sums of widths).
fn fmt_mm(r_cm: f64) -> String {
    let mm = (10.0 * r_cm * 1e9).round() / 1e9;
    format!("{mm}")
}

fn zone_json(z: &ZoneRun) -> Value {
    let [emitted, inside, shells, beyond, escaped] = z.balance();
    json!({
        "r_in_mm": 10.0 * z.bins.r_in_cm,
        "r_out_mm": 10.0 * z.bins.r_out_cm(),
        "shells": z.bins.n,
        "voxel_mm": 10.0 * z.voxel_cm,
        "grid": z.grid,
        "condensed_cut_mev": z.condensed_cut_mev,
        "decays": z.sums.decays,
        "emitted_mev_per_decay": emitted,
        "inside_mev_per_decay": inside,
        "shells_mev_per_decay": shells,
        "beyond_mev_per_decay": beyond,
        "escaped_mev_per_decay": escaped,
        "wall_s": z.wall_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shells_parse_and_grids() {
        let z = parse_shells(DEFAULT_SHELLS).unwrap();
        assert_eq!(z.len(), 4);
        assert!((z[0].width_cm - 0.0006).abs() < 1e-12);
        assert!((z[1].r_in_cm - 0.03).abs() < 1e-12);
        assert!((z[1].width_cm - 0.006).abs() < 1e-12);
        assert!((z[3].width_cm - 0.12).abs() < 1e-12);
        let (h, n) = zone_grid(&z[1]);
        assert!((h - 0.003).abs() < 1e-15 && n == 251, "{h} {n}");
        let grids: Vec<usize> = z.iter().map(|z| zone_grid(z).1).collect();
        assert_eq!(grids, [251, 251, 301, 251]);
        for bad in ["3mm", "3mm:x", "3mm:0", "3mm:5,2mm:5", "3 parsecs:5", ""] {
            let e = parse_shells(bad).unwrap_err().to_string();
            assert!(e.starts_with("--shells"), "{bad}: {e}");
        }
    }
}
