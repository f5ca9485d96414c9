//! # xfire-cell
//!
//! Cellular S values: mean absorbed dose to a target region of a cell per decay in a source
//! compartment of the same cell or of a neighbour, in Gy/(Bq·s), as in the MIRD cellular
//! tables (Goddu et al., *MIRD Cellular S Values*, 1997) and MIRDcell.
//!
//! * [`geometry`]: the cell (sphere with a concentric nucleus), its compartments and the
//!   geometric reduction factor ψ_{T←S}(x), computed by closed forms and deterministic
//!   quadrature.
//! * [`csda`]: the MIRD analytic method (straight tracks, continuous slowing down with the
//!   project's stopping powers, no straggling).
//! * [`mc`]: full transport (`xfire-transport`: α, condensed-history electrons, photons) on a
//!   fine voxel grid holding the source cell and given neighbours: scorer and runs.
//! * [`averaged`]: the `--method mc` table: every neighbour distance from the same decays,
//!   scored on exact spheres averaged over directions.
//! * [`cluster`], [`cells`]: the dose to a target cell from a lattice or a list of labelled
//!   cells around it.
//! * [`table`]: rows, CSV and JSON.
//!
//! ```
//! use xfire_cell::{csda_table, Request};
//! let req = Request::new("I-125", 5e-4, 3e-4, vec![10e-4]).unwrap();
//! let rows = csda_table(&req).unwrap();
//! assert_eq!(rows.len(), 2); // self row + 10 µm
//! assert!(rows[0].s_gy_per_bq_s[0] > rows[1].s_gy_per_bq_s[0]);
//! ```
//!
//! Invariants: internal units cm, MeV, g; S values in Gy/(Bq·s); the medium is homogeneous
//! (cell, nucleus and surroundings are all the chosen material, as in the MIRD model).

pub mod averaged;
pub mod cells;
pub mod cluster;
pub mod csda;
pub mod geometry;
pub mod mc;
pub mod table;

use geometry::CellGeometry;
use xfire_core::constants::MEV_PER_G_TO_GY;
use xfire_data::materials::Material;
use xfire_data::nuclides::{Nuclide, RadiationSet};
use xfire_physics::alpha::AlphaStopping;
use xfire_physics::electron::ElectronStopping;

pub use table::{Metadata, Row, COLUMNS};

/// Errors of S-value requests; messages name the value and its unit.
#[derive(Debug, thiserror::Error)]
pub enum CellError {
    /// A bad input value.
    #[error("{0}")]
    Invalid(String),
    /// Unknown nuclide.
    #[error(transparent)]
    Nuclide(#[from] xfire_data::nuclides::NuclideError),
    /// Stopping-power tables could not be built for the material.
    #[error(transparent)]
    Physics(#[from] xfire_physics::PhysicsError),
    /// Transport set-up failed.
    #[error(transparent)]
    Transport(#[from] xfire_transport::TransportError),
}

/// Result alias of this crate.
pub type Result<T, E = CellError> = std::result::Result<T, E>;

/// An S-value request: nuclide, cell geometry, distances, medium and emissions.
#[derive(Debug, Clone)]
pub struct Request {
    /// The nuclide.
    pub nuclide: Nuclide,
    /// Cell and nucleus radii.
    pub geometry: CellGeometry,
    /// Centre-to-centre distances of neighbour cells [cm], each ≥ 2 R_C.
    pub distances_cm: Vec<f64>,
    /// The medium (cell, nucleus and surroundings).
    pub material: Material,
    /// Radiation types followed.
    pub radiations: RadiationSet,
    /// Electron range–energy relation of the CSDA method.
    pub electron_energy_loss: ElectronEnergyLoss,
}

/// The electron range–energy relation of the CSDA method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ElectronEnergyLoss {
    /// The project's ICRU 37 total stopping power of the medium (default).
    #[default]
    Icru37,
    /// Cole's experimental relation in unit-density water, as in the MIRD cellular tables
    /// ([`csda::ColeElectron`]); water only.
    Cole,
}

impl Request {
    /// A request in water with every radiation type; checks the values (see [`Request::check`]).
    pub fn new(
        nuclide: &str,
        cell_radius_cm: f64,
        nucleus_radius_cm: f64,
        distances_cm: Vec<f64>,
    ) -> Result<Self> {
        let nuclide = xfire_data::nuclides::library().resolve(nuclide)?.clone();
        let material = xfire_data::materials::builtin("water")
            .ok_or_else(|| CellError::Invalid("built-in material water missing".into()))?;
        let r = Request {
            nuclide,
            geometry: CellGeometry {
                cell_radius_cm,
                nucleus_radius_cm,
            },
            distances_cm,
            material,
            radiations: RadiationSet::ALL,
            electron_energy_loss: ElectronEnergyLoss::Icru37,
        };
        r.check()?;
        Ok(r)
    }

    /// Checks radii (finite, positive, nucleus ≤ cell) and distances (≥ two cell radii).
    pub fn check(&self) -> Result<()> {
        let (rc, rn) = (
            self.geometry.cell_radius_cm,
            self.geometry.nucleus_radius_cm,
        );
        let um = |cm: f64| format!("{} µm", table::um(cm));
        if !(rc.is_finite() && rc > 0.0) {
            return Err(CellError::Invalid(format!(
                "cell radius {} must be positive",
                um(rc)
            )));
        }
        if !(rn.is_finite() && rn > 0.0) {
            return Err(CellError::Invalid(format!(
                "nucleus radius {} must be positive",
                um(rn)
            )));
        }
        if rn > rc {
            return Err(CellError::Invalid(format!(
                "nucleus radius {} is larger than the cell radius {}",
                um(rn),
                um(rc)
            )));
        }
        for &d in &self.distances_cm {
            if !(d.is_finite() && d >= 2.0 * rc * (1.0 - 1e-12)) {
                return Err(CellError::Invalid(format!(
                    "distance {} is smaller than two cell radii ({}): neighbouring cells would overlap",
                    um(d),
                    um(2.0 * rc)
                )));
            }
        }
        if !(self.material.density_g_cm3.is_finite() && self.material.density_g_cm3 > 0.0) {
            return Err(CellError::Invalid(format!(
                "material {:?}: density {} g/cm³ must be positive",
                self.material.name, self.material.density_g_cm3
            )));
        }
        Ok(())
    }

    /// Mass of a target [g].
    pub fn target_mass_g(&self, t: geometry::Target) -> f64 {
        self.material.density_g_cm3 * self.geometry.target_volume_cm3(t)
    }

    /// The row distances: None (self) then each neighbour distance.
    pub fn row_distances(&self) -> Vec<Option<f64>> {
        std::iter::once(None)
            .chain(self.distances_cm.iter().map(|&d| Some(d)))
            .collect()
    }
}

/// Runs `f` with the range–energy relations of `req`'s medium for the CSDA method: the
/// electron relation chosen by `req.electron_energy_loss` and, when `with_alpha`, ASTAR α.
fn with_medium<T>(
    req: &Request,
    with_alpha: bool,
    f: impl FnOnce(&csda::Medium) -> T,
) -> Result<T> {
    let icru = ElectronStopping::new(&req.material)?;
    let cole = csda::ColeElectron;
    let electron: &dyn xfire_physics::csda::RangeEnergy = match req.electron_energy_loss {
        ElectronEnergyLoss::Icru37 => &icru,
        ElectronEnergyLoss::Cole => {
            if req.material.name != "water" || req.material.density_g_cm3 != 1.0 {
                return Err(CellError::Invalid(format!(
                    "Cole's electron energy loss is for water at 1 g/cm³, not {:?} at {} g/cm³",
                    req.material.name, req.material.density_g_cm3
                )));
            }
            &cole
        }
    };
    let alpha = if with_alpha {
        Some(AlphaStopping::new(&req.material)?)
    } else {
        None
    };
    let medium = csda::Medium {
        electron,
        alpha: alpha
            .as_ref()
            .map(|a| a as &dyn xfire_physics::csda::RangeEnergy),
        density_g_cm3: req.material.density_g_cm3,
    };
    Ok(f(&medium))
}

/// S value [Gy per emission] by the MIRD analytic method of one mono-energetic particle
/// (`energy_mev`, electron or α) emitted uniformly in `source`, to `target` of the same cell
/// (`distance_cm` 0) or of a neighbour at `distance_cm` — the quantity of the MIRD tables for
/// mono-energetic emitters (Goddu et al. 1994, 1997). `req` gives geometry, medium and the
/// electron range–energy relation; its nuclide is not used.
pub fn csda_mono(
    req: &Request,
    carrier: csda::Carrier,
    energy_mev: f64,
    target: geometry::Target,
    source: geometry::Source,
    distance_cm: f64,
) -> Result<f64> {
    req.check()?;
    if !(energy_mev.is_finite() && energy_mev > 0.0) {
        return Err(CellError::Invalid(format!(
            "particle energy {energy_mev} MeV must be positive"
        )));
    }
    let em = csda::ChargedEmissions {
        lines: vec![csda::Line {
            carrier,
            energy_mev,
            yield_per_decay: 1.0,
        }],
        ..Default::default()
    };
    let psi = req.geometry.psi(target, source, distance_cm);
    let e = with_medium(req, carrier == csda::Carrier::Alpha, |m| {
        csda::energy_per_decay(&psi, &em, m)
    })?;
    Ok(e * MEV_PER_G_TO_GY / req.target_mass_g(target))
}

/// The S-value table by the MIRD analytic CSDA method (uncertainties 0).
pub fn csda_table(req: &Request) -> Result<Vec<Row>> {
    req.check()?;
    let em = csda::ChargedEmissions::of(&req.nuclide, req.radiations);
    if em.is_empty() {
        return Err(CellError::Invalid(format!(
            "{} emits no charged particles of the requested kinds: the CSDA method follows \
             only electrons and alpha particles (use --method mc for photons)",
            req.nuclide.name
        )));
    }
    let with_alpha = em.lines.iter().any(|l| l.carrier == csda::Carrier::Alpha);
    with_medium(req, with_alpha, |medium| {
        req.row_distances()
            .into_iter()
            .map(|d| {
                let mut s = [0.0; 5];
                for (k, (t, src)) in COLUMNS.iter().enumerate() {
                    let psi = req.geometry.psi(*t, *src, d.unwrap_or(0.0));
                    let e = csda::energy_per_decay(&psi, &em, medium);
                    s[k] = e * MEV_PER_G_TO_GY / req.target_mass_g(*t);
                }
                Row {
                    distance_cm: d,
                    s_gy_per_bq_s: s,
                    rel_unc: [0.0; 5],
                }
            })
            .collect()
    })
}
