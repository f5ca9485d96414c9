//! CSDA range and stopping power of an electron or α particle in a material
//! (`xfire range --json`, `docs/formats/range.md`).

use std::path::Path;

use serde_json::{json, Value};
use xfire_physics::alpha::{AlphaSource, AlphaStopping};
use xfire_physics::electron::ElectronStopping;

use crate::{ApiError, Result};

/// The particle whose range is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeParticle {
    /// Electron: ESTAR method (ICRU Report 37).
    Electron,
    /// α particle: ASTAR tables (ICRU Report 49).
    Alpha,
}

/// The JSON object of `xfire range --json` for `particle` of kinetic energy `energy` (text
/// with its unit) in `material` (built in or from `materials_file`).
pub fn compute(
    particle: RangeParticle,
    energy: &str,
    material: &str,
    materials_file: Option<&Path>,
) -> Result<Value> {
    let text = energy;
    let e = xfire_core::units::parse_energy_mev(text)?;
    let material = crate::material::find_material(material, materials_file)?;
    let rho = material.density_g_cm3;
    match particle {
        RangeParticle::Electron => {
            let s = ElectronStopping::new(&material)?;
            if !(e >= s.min_energy_mev() && e <= s.max_energy_mev()) {
                return Err(ApiError::Invalid(format!(
                    "electron energy must be between 1 keV and 1000 MeV, got {e} MeV ({text:?})"
                )));
            }
            let r = s.csda_range_g_cm2(e);
            let r_cm = r / rho;
            Ok(json!({
                "particle": "electron",
                "material": material.name,
                "density_g_cm3": rho,
                "energy_mev": e,
                "csda_range_g_cm2": r,
                "csda_range_cm": r_cm,
                "csda_range_um": r_cm * 1e4,
                "stopping_power_mev_cm2_g": s.total_stopping_power(e),
                "collision_stopping_power_mev_cm2_g": s.collision_stopping_power(e),
                "radiative_stopping_power_mev_cm2_g": s.radiative_stopping_power(e),
                "linear_stopping_power_kev_um": s.total_stopping_power(e) * rho * 0.1,
                "density_effect_delta": s.density_effect(e),
                "radiation_yield": s.radiation_yield(e),
                "method": "ICRU Report 37 (ESTAR): Bethe-Rohrlich-Carlson collision stopping power with full Sternheimer density effect; Seltzer-Berger radiative stopping power",
            }))
        }
        RangeParticle::Alpha => {
            let s = AlphaStopping::new(&material)?;
            if !(e >= s.min_energy_mev() && e <= s.max_energy_mev()) {
                return Err(ApiError::Invalid(format!(
                    "alpha energy must be between 1 keV and 1000 MeV, got {e} MeV ({text:?})"
                )));
            }
            let r = s.csda_range_g_cm2(e);
            let p = s.projected_range_g_cm2(e);
            let source = match s.source() {
                AlphaSource::Astar { table } => format!("ASTAR (ICRU Report 49) table {table}"),
                AlphaSource::BraggMixture {
                    components,
                    mismatch,
                } => format!(
                    "Bragg mixture of ASTAR (ICRU Report 49) tables: {} (composition mismatch {:.4})",
                    components
                        .iter()
                        .map(|(n, w)| format!("{w:.4} {n}"))
                        .collect::<Vec<_>>()
                        .join(" + "),
                    mismatch
                ),
            };
            Ok(json!({
                "particle": "alpha",
                "material": material.name,
                "density_g_cm3": rho,
                "energy_mev": e,
                "csda_range_g_cm2": r,
                "csda_range_cm": r / rho,
                "csda_range_um": r / rho * 1e4,
                "projected_range_cm": p / rho,
                "projected_range_um": p / rho * 1e4,
                "detour_factor": s.detour_factor(e),
                "range_straggling_um": s.range_straggling_g_cm2(e) / rho * 1e4,
                "stopping_power_mev_cm2_g": s.total_stopping_power(e),
                "electronic_stopping_power_mev_cm2_g": s.electronic_stopping_power(e),
                "nuclear_stopping_power_mev_cm2_g": s.nuclear_stopping_power(e),
                "let_kev_um": s.electronic_stopping_power(e) * rho * 0.1,
                "method": source,
            }))
        }
    }
}
