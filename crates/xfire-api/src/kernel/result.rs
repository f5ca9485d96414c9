//! A computed kernel: arrays per voxel and per symmetry class, and its summary.

use std::path::PathBuf;

use serde_json::{json, Value};
use xfire_tally::kernel::SymmetryClasses;
use xfire_tally::{dose_gy, rel_uncertainty, TallyResult};

use super::KernelRequest;

/// How photons are handled (written to the summary and kernel.h5).
pub const PHOTON_NOTE: &str =
    "transported (Woodcock tracking); photons leaving the grid counted as escaping energy";

/// What the kernel was computed for, beyond the request.
#[derive(Debug, Clone)]
pub struct KernelMeta {
    /// `{"nuclide", "emissions"}` or `{"particle", "energy_mev"}`.
    pub emitter: Value,
    /// The medium's name.
    pub material: String,
    /// Its density [g/cm³].
    pub density_g_cm3: f64,
    /// Voxel edge [cm].
    pub voxel_cm: f64,
    /// Range below which a particle stops [cm].
    pub cut_cm: f64,
    /// Energy below which a particle stops [MeV].
    pub cutoff_min_energy_mev: f64,
    /// Condensed-history cutoff [MeV] (`None` for the straight-line model).
    pub condensed_cut_mev: Option<f64>,
}

/// The files written by [`Kernel::write`].
#[derive(Debug, Clone)]
pub struct KernelFiles {
    /// `kernel.h5`.
    pub h5: PathBuf,
    /// `kernel.csv`.
    pub csv: PathBuf,
    /// `kernel_profile.png` and `.svg`.
    pub profile: xfire_report::WrittenFigure,
    /// `kernel_energy_per_radius.png` and `.svg` (point source only).
    pub energy_per_radius: Option<xfire_report::WrittenFigure>,
}

/// A computed kernel. Arrays per voxel are in the order of the grid (x fastest: index
/// `(k·N + j)·N + i`, i.e. shaped (N, N, N) as (z, y, x)); the source is in voxel
/// (N/2, N/2, N/2).
pub struct Kernel {
    /// The request.
    pub request: KernelRequest,
    /// What it was computed for.
    pub meta: KernelMeta,
    /// The tallies.
    pub tally: TallyResult,
    /// The symmetry classes of the grid.
    pub classes: SymmetryClasses,
    sym: usize,
    /// Transport time [s].
    pub wall_s: f64,
    /// Worker threads used.
    pub threads: usize,
}

impl Kernel {
    pub(super) fn new(
        request: KernelRequest,
        meta: KernelMeta,
        tally: TallyResult,
        classes: SymmetryClasses,
        sym: usize,
        wall_s: f64,
        threads: usize,
    ) -> Self {
        Self {
            request,
            meta,
            tally,
            classes,
            sym,
            wall_s,
            threads,
        }
    }

    /// Voxels per axis.
    pub fn grid(&self) -> usize {
        self.request.grid
    }

    /// Mass of one voxel [g].
    pub fn voxel_mass_g(&self) -> f64 {
        self.meta.density_g_cm3 * self.meta.voxel_cm.powi(3)
    }

    /// Energy deposited per decay in each voxel [MeV].
    pub fn edep_mev_per_decay(&self) -> Vec<f64> {
        self.per_voxel(Self::edep_mev_at)
    }

    /// Absorbed dose per decay in each voxel [Gy].
    pub fn dose_gy_per_decay(&self) -> Vec<f64> {
        self.per_voxel(Self::dose_gy_at)
    }

    /// Relative standard uncertainty of each voxel's energy (batch method; 1 where nothing
    /// was scored, NaN with fewer than 2 batches).
    pub fn rel_unc(&self) -> Vec<f64> {
        self.per_voxel(Self::rel_unc_at)
    }

    /// Energy deposited per decay in voxel `v` [MeV].
    pub fn edep_mev_at(&self, v: usize) -> f64 {
        self.tally.voxel_mean_mev(v)
    }

    /// Absorbed dose per decay in voxel `v` [Gy].
    pub fn dose_gy_at(&self, v: usize) -> f64 {
        dose_gy(self.tally.voxel_mean_mev(v), self.voxel_mass_g())
    }

    /// Relative standard uncertainty of voxel `v`'s energy (as [`Kernel::rel_unc`]).
    pub fn rel_unc_at(&self, v: usize) -> f64 {
        self.tally.voxel_rel_unc(v)
    }

    fn per_voxel(&self, at: fn(&Self, usize) -> f64) -> Vec<f64> {
        (0..self.tally.voxel_sum.len())
            .map(|v| at(self, v))
            .collect()
    }

    /// Per symmetry class (`classes.offsets`): energy per decay in one voxel [MeV], dose per
    /// decay [Gy], relative uncertainty.
    pub fn class_values(&self) -> Vec<(f64, f64, f64)> {
        let (r, sym, mass_g) = (&self.tally, self.sym, self.voxel_mass_g());
        let t = &r.regions[sym];
        self.classes
            .counts
            .iter()
            .enumerate()
            .map(|(c, &count)| {
                let e = r.region_mean_mev(sym, c) / count as f64;
                let u = rel_uncertainty(t.sum[c], t.sum2[c], r.decays, r.batches);
                (e, dose_gy(e, mass_g), u)
            })
            .collect()
    }

    /// Index of the centre (source) voxel.
    pub fn centre_voxel(&self) -> usize {
        let c = self.request.grid / 2;
        (c * self.request.grid + c) * self.request.grid + c
    }

    /// The summary of `docs/formats/kernel.md` (`files` only when given).
    pub fn summary(&self, files: Option<&KernelFiles>) -> Value {
        let (r, req, m) = (&self.tally, &self.request, &self.meta);
        let centre = self.centre_voxel();
        let mut summary = json!({
            "format": "xfire-kernel-summary/1",
            "electron_model": req.electron_model().name(),
            "electrons_transported": req.transports_electrons(),
            "condensed_cut_mev": m.condensed_cut_mev,
            "photons": PHOTON_NOTE,
            "material": m.material,
            "density_g_cm3": m.density_g_cm3,
            "voxel_cm": m.voxel_cm,
            "grid": req.grid,
            "source": req.source.name(),
            "cutoff_range_cm": m.cut_cm,
            "cutoff_min_energy_mev": m.cutoff_min_energy_mev,
            "seed": req.seed,
            "decays": r.decays,
            "batches": r.batches,
            "emitted_mev_per_decay": r.emitted_mev_per_decay(),
            "deposited_mev_per_decay": r.deposited_mev_per_decay(),
            "escaped_mev_per_decay": r.escaped_mev_per_decay(),
            "escaped_photon_mev_per_decay": r.escaped_photon_mev_per_decay(),
            "below_cutoff_mev_per_decay": r.below_cutoff_mev_per_decay(),
            "max_history_imbalance_rel": r.max_history_imbalance_rel,
            "centre_voxel_dose_gy_per_decay": r.voxel_dose_gy(centre, self.voxel_mass_g()),
            "centre_voxel_rel_unc": nan_to_null(r.voxel_rel_unc(centre)),
            "threads": self.threads,
            "wall_s": self.wall_s,
            "decays_per_s": r.decays as f64 / self.wall_s.max(1e-9),
        });
        let Value::Object(s) = &mut summary else {
            return summary;
        };
        if let Some(f) = files {
            s.insert("files".into(), files_json(f));
        }
        if let Value::Object(e) = &m.emitter {
            for (k, v) in e {
                s.insert(k.clone(), v.clone());
            }
        }
        summary
    }
}

fn files_json(f: &KernelFiles) -> Value {
    json!({
        "h5": f.h5.display().to_string(),
        "csv": f.csv.display().to_string(),
        "profile_png": f.profile.png.display().to_string(),
        "profile_svg": f.profile.svg.display().to_string(),
        "energy_per_radius_png": f.energy_per_radius.as_ref().map(|f| f.png.display().to_string()),
    })
}

fn nan_to_null(x: f64) -> Value {
    if x.is_finite() {
        json!(x)
    } else {
        Value::Null
    }
}
