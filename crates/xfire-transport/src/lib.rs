//! # xfire-transport
//!
//! The hot loop: decays sampled from a source (a point, a voxel, or a phantom source map),
//! every emission of each decay tracked through the voxel phantom, energy handed to a
//! [`Scorer`](xfire_tally::Scorer); histories in fixed-size batches over rayon, batch tallies
//! reduced in batch-index order, so results are bit-identical for any thread count.
//!
//! * [`TransportSetup`]: phantom, per-material [`PhysicsTables`], [`Source`], [`Emitter`]
//!   (a nuclide's [`EmissionSampler`](xfire_data::nuclides::EmissionSampler) or a
//!   mono-energetic particle), [`Cutoffs`], electron model, seed, decays, batch size, threads.
//! * [`run`]: the standard run into a [`TallyResult`](xfire_tally::TallyResult) (energy per
//!   voxel and per region with batch statistics, energy balance); [`run_batches`]: the same
//!   loop with any scorer and reduction.
//! * Nested geometry: [`TransportSetup::nested`] runs a micro phantom nested in a macro
//!   phantom (`xfire_phantom::Nested`; [`Engine::new_nested`]); voxel indices, sources and
//!   tallies ([`nested_layout`], [`nested_region_masses_g`]) then cover both grids, micro
//!   voxels first (docs/physics.md, "Nested geometry").
//! * [`Engine`]: the prepared, read-only state; [`Engine::history`] runs one decay,
//!   [`Engine::transport_particle`] one particle (tests, debugging, `--replay-history`).
//!
//! Physics in this version:
//!
//! * α particles: straight CSDA tracks (ASTAR total stopping power); the energy left in each
//!   voxel crossed is E(R − s_in) − E(R − s_out), exact for any voxel size, so the Bragg peak
//!   is resolved at sub-µm voxels; optional Bohr range straggling (the track's range scaled
//!   by 1 + (σ_R/R)·N(0,1)); straight tracks overshoot the mean projected range by the
//!   detour (0.7 % at 5 MeV in water).
//! * Electrons and positrons: [`ElectronModel::CsdaStraightLine`](xfire_physics::csda::ElectronModel)
//!   — continuous slowing down along a straight line with the total stopping power, deposits
//!   split exactly over the voxels crossed, no scattering (used on µm grids); or
//!   `ElectronModel::CondensedHistory` — class-II condensed history (`xfire_physics::condensed`,
//!   docs/physics.md). Positrons are treated as electrons; their annihilation photons are part of the
//!   nuclide's photon emissions.
//! * Recoil nuclei: deposited at the decay site.
//! * Photons (γ, X-ray, annihilation, bremsstrahlung, fluorescence): Woodcock (delta)
//!   tracking through the grid with the interaction models of `xfire_physics::photon`
//!   (photoelectric with K fluorescence, Klein–Nishina with binding, Rayleigh, pair);
//!   secondary electrons and positrons go to the electron model above, a positron's two
//!   511 keV photons start at its creation point; photons leaving the grid are counted as
//!   escaping photon energy.
//! * Tracking cutoff: a particle stops when its residual CSDA range falls below
//!   [`Cutoffs::range_fraction_of_voxel`] × the smallest voxel edge (default 1/10), or below
//!   the range at [`Cutoffs::min_energy_mev`] (1 keV) if that is longer; the residual energy
//!   is deposited in the voxel where it stops and counted as below-cutoff energy.
//!
//! A straight track crosses voxels with one range→energy inversion per voxel and never
//! stops at a face for anything else; where the material changes the range is recomputed
//! in the new material from the current energy; density scales the mass path per voxel.
//!
//! ```
//! use xfire_data::materials::builtin;
//! use xfire_data::nuclides::Particle;
//! use xfire_phantom::{Grid, MaterialEntry, Phantom};
//! use xfire_transport::*;
//! let grid = Grid::centred([41, 41, 41], [2e-4; 3]).unwrap(); // 2 µm voxels, 82 µm box
//! let phantom = Phantom::uniform(
//!     grid,
//!     MaterialEntry { name: "water".into(), density_g_cm3: 1.0 },
//!     0,
//! );
//! let physics = PhysicsTables::for_phantom(&phantom, &builtin, true).unwrap();
//! let setup = TransportSetup::new(
//!     &phantom,
//!     &physics,
//!     Source::Point([0.0; 3]),
//!     Emitter::Mono { particle: Particle::Alpha, energy_mev: 5.0 },
//!     2000,
//! );
//! let layout = phantom_layout(&phantom, vec![]).unwrap();
//! let r = run(&setup, &layout, &|_| {}).unwrap();
//! assert_eq!(r.decays, 2000);
//! // a 5 MeV α (range 37.6 µm) cannot leave the box from its centre (41 µm to a face)
//! assert!((r.deposited_mev_per_decay() - 5.0).abs() < 1e-9);
//! assert!(r.max_history_imbalance_rel < 1e-12);
//! ```
//!
//! Invariants: the hot loop allocates nothing per step or per history (a per-worker emission
//! buffer is reused), prints nothing and never fails (inputs are validated by
//! [`Engine::new`]); every random number is a pure function of (seed, history index, stream)
//! — source position, emissions and directions from `STREAM_SOURCE`, transport (straggling)
//! from `STREAM_TRANSPORT`; every history conserves energy: emitted = deposited + escaped.

mod engine;
mod physics;
mod run;
mod setup;

pub use engine::{Engine, Workspace};
pub use physics::PhysicsTables;
pub use run::{
    nested_layout, nested_region_masses_g, phantom_layout, region_masses_g, run, run_batches,
    run_batches_until,
};
pub use setup::{Cutoffs, Emitter, PhotonSplit, Source, TransportSetup, DEFAULT_BATCH_SIZE};

/// Errors of transport set-up (the loop itself cannot fail).
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// An invalid parameter; the message names the value and its unit.
    #[error("{0}")]
    Invalid(String),
    /// Physics tables could not be built for a material.
    #[error("material {material:?}: {source}")]
    Physics {
        /// Material name.
        material: String,
        /// The physics error.
        source: xfire_physics::PhysicsError,
    },
    /// A tally layout error.
    #[error(transparent)]
    Tally(#[from] xfire_tally::TallyError),
    /// A phantom error.
    #[error(transparent)]
    Phantom(#[from] xfire_phantom::PhantomError),
}

/// Result alias of this crate.
pub type Result<T, E = TransportError> = std::result::Result<T, E>;
