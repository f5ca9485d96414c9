//! # xfire-data
//!
//! Immutable physics data, built into the binary (no download at run time):
//!
//! * [`nuclides`]: ICRP Publication 107 radionuclide data — half-lives, decay modes with
//!   daughters and branching, every emission line, tabulated β spectra — and the emission
//!   sampler that draws all emissions of one decay.
//! * [`materials`]: element table and material definitions (built-in NIST/ICRU materials, user TOML).
//!
//! Invariant: this crate knows nothing of geometry or tallies. Every shipped table has a
//! provenance note beside it (`data/*.md`).

pub mod materials;
pub mod nuclides;
