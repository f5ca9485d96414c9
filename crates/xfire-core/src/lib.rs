//! # xfire-core
//!
//! The vocabulary every other xfire crate shares and nothing else:
//!
//! * [`units`]: parsing of quantities written by people ("500 keV", "5 µm", "6.647 d",
//!   "7.4 GBq") into the internal units **MeV, cm, s, Bq**, with errors that name the text
//!   and what was expected.
//! * [`constants`]: physical constants (CODATA 2018) in internal units.
//! * [`sampling`]: Walker/Vose alias tables for discrete distributions.
//! * [`quadrature`]: Gauss–Legendre rule and composite integration split at kinks.
//! * [`rng`]: random-number streams that are a pure function of (seed, history, stream), so
//!   results are identical for any thread count or shard split.
//!
//! Invariant: this crate depends on no other xfire crate and does no I/O.
//!
//! ```
//! use xfire_core::units::{parse_energy_mev, parse_length_cm};
//! assert_eq!(parse_energy_mev("500 keV").unwrap(), 0.5);
//! assert!((parse_length_cm("5 µm").unwrap() - 5e-4).abs() < 1e-15);
//! ```

pub mod constants;
pub mod fsutil;
pub mod hash;
pub mod quadrature;
pub mod rng;
pub mod sampling;
pub mod units;

pub use units::UnitError;
