//! # xfire-physics
//!
//! Per-particle physics for the transport engine. This first part holds the continuous
//! slowing-down physics: how much energy a charged particle loses per unit path and how far
//! it goes.
//!
//! * [`electron::ElectronStopping`]: electron collision (Bethe–Rohrlich–Carlson with the full
//!   Sternheimer density effect, ICRU Report 37 = ESTAR's method), restricted collision L_Δ,
//!   radiative and total mass stopping powers, CSDA range R(T) and its inverse T(R), for any
//!   material of `xfire_data::materials`.
//! * [`alpha::AlphaStopping`]: α electronic + nuclear stopping powers from NIST ASTAR
//!   (ICRU Report 49) tables, Bragg mixtures of them for other tissues, CSDA range R(E), its
//!   inverse E(R), detour factor / projected range and Bohr range straggling.
//! * [`alpha::AlphaTrack`]: the straight-track CSDA step model, E after a path s =
//!   E(R(E₀) − s), with exact per-segment deposits.
//! * [`tables::MaterialTables`]: both sets of tables for one material, built once.
//! * [`inverse::TabulatedRangeEnergy`]: R(E) exact with E(R) tabulated on a uniform grid
//!   in R (cubic Hermite, no libm call per look-up), for the α transport loop.
//! * [`table::RangeTable`]: the power-law (log–log) stopping-power table with the range
//!   integrated exactly on it.
//! * [`photon::PhotonTables`]: photon attenuation coefficients by process (NIST XCOM) and the
//!   interaction samplers (Klein–Nishina with binding, Rayleigh, photoelectric with K
//!   fluorescence, pair); [`photon::Majorant`] for Woodcock tracking.
//!
//! ```
//! use xfire_data::materials::builtin;
//! use xfire_physics::{alpha::AlphaStopping, electron::ElectronStopping};
//! let water = builtin("water").unwrap();
//! let e = ElectronStopping::new(&water).unwrap();
//! assert!((e.csda_range_g_cm2(1.0) - 0.4367).abs() < 0.002); // ESTAR: 0.4367 g/cm²
//! let a = AlphaStopping::new(&water).unwrap();
//! assert!((a.csda_range_g_cm2(5.0) * 1e4 - 37.59).abs() < 0.1); // ASTAR: 37.59 µm
//! ```
//!
//! Invariants: units are MeV, cm, g; tables hold *mass* quantities (MeV cm²/g, g/cm²) and
//! linear ones are mass × voxel density (the density effect's own dependence on density is
//! neglected). Tables are built once per material and are read-only afterwards; look-ups
//! never fail or allocate (energies outside the tables are extrapolated, documented per
//! function). `energy_from_range(range(E)) == E` to rounding. No I/O: the NIST data are
//! embedded (`data/`, provenance in `data/README.md`).

pub mod alpha;
pub mod brems;
pub mod condensed;
pub mod csda;
mod data;
pub mod electron;
pub mod inverse;
pub mod moller;
pub mod msc;
pub mod photon;
pub mod table;
pub mod tables;

use thiserror::Error;

/// Errors of table construction.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PhysicsError {
    /// The material definition is invalid (the message names the material and value).
    #[error("{0}")]
    InvalidMaterial(String),
    /// An element without ESTAR shell data.
    #[error("material {material:?}: no stopping-power data for element Z = {z}")]
    UnsupportedElement {
        /// Material name.
        material: String,
        /// Atomic number.
        z: u32,
    },
    /// The Sternheimer oscillator model has no solution for this I.
    #[error("material {material:?}: density-effect model has no solution for I = {mean_excitation_ev} eV")]
    DensityEffect {
        /// Material name.
        material: String,
        /// Mean excitation energy \[eV\].
        mean_excitation_ev: f64,
    },
    /// A restricted-stopping-power cut that is not finite and positive.
    #[error("energy cut must be finite and positive, got {cut_mev} MeV")]
    InvalidCut {
        /// The cut \[MeV\].
        cut_mev: f64,
    },
    /// No ASTAR compound mixture approximates the material for α stopping.
    #[error(
        "material {material:?}: no alpha stopping-power data; the closest mixture of ASTAR \
         tissue-like compounds misses an elemental mass fraction by {mismatch:.3} \
         (limit 0.02). Alpha tables exist for tissue-, bone-, plastic- and air-like materials"
    )]
    NoAlphaData {
        /// Material name.
        material: String,
        /// Largest elemental mass-fraction mismatch of the best mixture.
        mismatch: f64,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, PhysicsError>;
