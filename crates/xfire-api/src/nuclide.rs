//! The ICRP-107 radionuclide library as records (`xfire nuclide show --json`,
//! `docs/formats/nuclide.md`).

use std::collections::BTreeMap;

use serde::Serialize;
use xfire_data::nuclides::{library, Nuclide, Radiation};

use crate::Result;

/// One radionuclide (`xfire nuclide show --json`).
#[derive(Debug, Clone, Serialize)]
pub struct NuclideRecord {
    /// Name as in ICRP 107 ("Lu-177").
    pub name: String,
    /// Half-life [s].
    pub half_life_s: f64,
    /// Half-life as tabulated ("6.647 d").
    pub half_life: String,
    /// Decay modes ("B-").
    pub decay_modes: String,
    /// Daughters with their branching fractions.
    pub daughters: Vec<Daughter>,
    /// Energy emitted per decay by radiation type [MeV].
    pub energy_per_decay_mev: BTreeMap<&'static str, f64>,
    /// Particles per decay by radiation type.
    pub yield_per_decay: BTreeMap<&'static str, f64>,
    /// Number of discrete lines by radiation type.
    pub lines: BTreeMap<&'static str, usize>,
    /// Largest β endpoint energy [MeV], if any.
    pub beta_endpoint_mev: Option<f64>,
    /// Points of the tabulated β spectrum.
    pub beta_spectrum_points: usize,
    /// The data's source.
    pub source: String,
}

/// A daughter of a radionuclide.
#[derive(Debug, Clone, Serialize)]
pub struct Daughter {
    /// Its name.
    pub nuclide: String,
    /// Branching fraction.
    pub branching: f64,
    /// Not in the library (stable).
    pub stable: bool,
}

/// The record of `n`.
pub fn record(n: &Nuclide) -> NuclideRecord {
    let lib = library();
    NuclideRecord {
        name: n.name.clone(),
        half_life_s: n.half_life_s,
        half_life: format!("{} {}", n.half_life_text, n.half_life_unit),
        decay_modes: n.decay_modes.clone(),
        daughters: n
            .daughters
            .iter()
            .map(|d| Daughter {
                nuclide: d.nuclide.clone(),
                branching: d.branching,
                stable: lib.get(&d.nuclide).is_none(),
            })
            .collect(),
        energy_per_decay_mev: Radiation::ALL
            .iter()
            .map(|r| (r.key(), n.energy_per_decay_mev(*r)))
            .collect(),
        yield_per_decay: Radiation::ALL
            .iter()
            .map(|r| (r.key(), n.yield_per_decay(*r)))
            .collect(),
        lines: Radiation::ALL
            .iter()
            .map(|r| (r.key(), n.lines(*r).len()))
            .collect(),
        beta_endpoint_mev: n.beta_endpoint_mev(),
        beta_spectrum_points: n.beta_spectrum.as_ref().map_or(0, |s| s.energy_mev.len()),
        source: lib.source().to_string(),
    }
}

/// The record of the nuclide named `name` (any spelling: Lu-177, 177Lu, lu177).
pub fn show(name: &str) -> Result<NuclideRecord> {
    Ok(record(library().resolve(name)?))
}

/// One row of `xfire nuclide list --json` (fields in alphabetical order, as written).
#[derive(Debug, Clone, Serialize)]
pub struct ListEntry {
    /// Decay modes.
    pub decay_modes: String,
    /// Half-life [s].
    pub half_life_s: f64,
    /// Name.
    pub name: String,
}

/// Every nuclide of the library, in its order.
pub fn list() -> Vec<ListEntry> {
    library()
        .nuclides()
        .map(|n| ListEntry {
            decay_modes: n.decay_modes.clone(),
            half_life_s: n.half_life_s,
            name: n.name.clone(),
        })
        .collect()
}
