//! # xfire-kinetics
//!
//! The deterministic half of xfire: everything that happens in time once the transport has
//! given dose per decay \[Gy/decay\] per source component (a chain member in a spatial
//! distribution) and target (label, cell or voxel).
//!
//! * Decay chains ([`Chain`]): the activity of every member of a chain (²²⁵Ac, ²²³Ra, ²¹²Pb
//!   with its ²¹²Bi → ²¹²Po / ²⁰⁸Tl branch, ²²⁷Th, ²¹¹At, ¹³¹I → ¹³¹ᵐXe, …) at any time, and
//!   the number of decays of every member in any interval, for one administration or a
//!   schedule — exact (below).
//! * Source kinetics ([`sources`], [`tac`], [`regimen`], [`compartments`]): the agent's
//!   time-activity curve at its binding site (sum of exponentials with an uptake phase, or
//!   tabulated points with trapezoid and exponential tail), its amplitude (administered
//!   activity × uptake fraction, Bq/g × mass, or decays per labelled cell), the regimen
//!   ("7.4 GBq every 6 weeks × 6", "55 kBq/kg every 4 weeks × 6"), and daughters retained
//!   or released to other sites (uniform, vessels, …, with a clearance half-time). All of it
//!   is one lower-triangular compartment system (member × site × carrier term) solved
//!   exactly: per component, the decay rate Ṅ_c(t) \[1/s\] and the decays in any interval.
//! * Dose over time ([`dose_time`]): Ḋ_i(t) = Σ_c d_c\[i\] Ṅ_c(t) and D_i(t0, t1) per target
//!   from plain `&[f64]` dose-per-decay arrays, α and low-LET parts separately.
//! * Radiobiology ([`radiobiology`]): exact Lea–Catcheside G for any piecewise exponential
//!   dose-rate history, BED, cycles, LQ survival with the α dose linear at an RBE; default
//!   parameters with quality grades and sources ([`radiobiology::PARAMETERS`]).
//! * Lymphocytes ([`lymphocytes`], [`walk`]): resident TILs, arriving cohorts, migrating
//!   lymphocytes (persistent random walks on an abstract grid), circulating blood
//!   (self-dose + tumour transit); dose, BED and surviving fraction per lymphocyte.
//! * Immunotherapy window ([`window`]): per candidate start day the exposure of arriving
//!   lymphocytes, the earliest day their survival reaches a target, the tumour dose already
//!   delivered by then, and the safe days between cycles.
//!
//! A scenario runner calls, in order: [`Regimen::parse`] → `administrations`;
//! [`SourceModel`] `{ chain, bound_site, tac, quantity, sites, releases }.build(&adm)` →
//! [`SourceKinetics`] (its [`SourceKinetics::components`] are the transport's source
//! components); [`dose_time::DoseField::new`] from the tallies; then
//! [`dose_time::dose_timeline`], [`lymphocytes::cohort_exposure`],
//! [`lymphocytes::resident_exposure`], [`walk::migrating_exposure`],
//! [`lymphocytes::circulating_exposure`] and [`window::immunotherapy_window`].
//! Models, formulas and parameter sources: `docs/kinetics.md`.
//!
//! ## Problem
//!
//! With members in topological order (every daughter after its parents), the numbers of
//! atoms obey dN/dt = M N with M lower triangular: M_jj = −λ_j, M_ji = b_ij λ_i (b_ij the
//! branching fraction i → j). The solution N(t) = e^{Mt} N(0) is the Bateman solution with
//! branching. The explicit Bateman sum Σ_i e^{−λ_i t}/Π_{j≠i}(λ_j − λ_i) cancels
//! catastrophically when two half-lives are close, so it is not used. Instead e^{Mt} is
//! computed by scaling and squaring arranged so that nothing is ever subtracted (every
//! entry of e^{Mt} is a sum of non-negative terms; see `expm.rs`), which gives each entry to
//! a relative error of about 1e−13 (path length × number of squarings × 2.2e−16), however
//! close the λ's (λ₂/λ₁ − 1 = 1e−12, or equal) and however stiff the chain (²¹²Po,
//! 0.3 µs, next to ²¹²Pb, 10.6 h, over 100 d).
//!
//! Cumulated decays are computed exactly, not by quadrature: each member j gets a stable
//! *decay counter* fed at rate λ_j N_j, i.e. the generator is augmented to dimension 2n and
//! the counter holds ∫λ_j N_j dt. The augmented generator has the same non-negative
//! structure, so counters are as accurate as activities.
//!
//! ## Chain types
//!
//! * [`Chain`]: members ([`Member`]: nuclide, λ \[1/s\]) and branches ([`Branch`]); built from
//!   an explicit description ([`Chain::new`]), a decay-data lookup ([`Chain::build`]), or
//!   the built-in ICRP-107 library ([`Chain::from_library`]).
//! * [`Administration`]: activity \[Bq\] of the parent given at a time \[s\].
//! * [`Propagator`]: e^{Mt} over one step, applied to any state (atoms at the end, decays
//!   during the step) — for later compartment models.
//! * [`ChainError`]: what is wrong with a chain description, naming values and units.
//!
//! ## Example
//!
//! ```
//! use xfire_kinetics::{Branch, Chain, Member};
//! let ln2 = std::f64::consts::LN_2;
//! // ²¹²Pb (10.64 h) → ²¹²Bi (60.55 min) → ²¹²Po (64.06 %, 0.299 µs) | ²⁰⁸Tl (35.94 %, 3.053 min)
//! let m = |name: &str, t_half_s: f64| Member {
//!     nuclide: name.into(),
//!     decay_constant_per_s: if t_half_s.is_finite() { ln2 / t_half_s } else { 0.0 },
//! };
//! let chain = Chain::new(
//!     vec![
//!         m("Pb-212", 10.64 * 3600.0),
//!         m("Bi-212", 60.55 * 60.0),
//!         m("Po-212", 2.99e-7),
//!         m("Tl-208", 3.053 * 60.0),
//!         m("Pb-208", f64::INFINITY),
//!     ],
//!     vec![
//!         Branch { from: 0, to: 1, fraction: 1.0 },
//!         Branch { from: 1, to: 2, fraction: 0.6406 },
//!         Branch { from: 1, to: 3, fraction: 0.3594 },
//!         Branch { from: 2, to: 4, fraction: 1.0 },
//!         Branch { from: 3, to: 4, fraction: 1.0 },
//!     ],
//! )
//! .unwrap();
//! let a = chain.activities(1e6, 86400.0); // 1 MBq of Pb-212, after 1 d [Bq]
//! assert!((a[0] / 1e6 - (-ln2 * 24.0 / 10.64).exp()).abs() < 1e-12);
//! assert!((a[2] / a[1] - 0.6406).abs() < 1e-3); // ²¹²Po follows ²¹²Bi
//! let n = chain.cumulated_decays(1e6, 0.0, 86400.0); // decays in the first day
//! assert!(n[0] > 0.0 && n[4] == 0.0);
//! ```
//!
//! ## Example: from dose per decay to the immunotherapy window
//!
//! ```
//! use xfire_kinetics::{Chain, Quantity, Regimen, SourceModel, Tac};
//! use xfire_kinetics::dose_time::{dose_total, DoseField};
//! use xfire_kinetics::window::{immunotherapy_window, WindowOptions};
//! let h = 3600.0;
//! let adm = Regimen::parse("7.4 GBq every 6 weeks x 2").unwrap().administrations(None).unwrap();
//! let model = SourceModel::retained(
//!     Chain::from_library("Lu-177").unwrap(),
//!     "membrane",
//!     Tac::mono(60.0 * h),                                      // biological T½ 60 h
//!     Quantity::AdministeredFraction { uptake_fraction: 1e-3 }, // 0.1 % in the tumour
//! );
//! let source = model.build(&adm).unwrap();
//! assert_eq!(source.components().len(), 1); // Lu-177 at "membrane" (Hf-177 is stable)
//! // dose per decay from the transport: targets 0 = tumour cells, 1 = a lymphocyte
//! let field = DoseField::low_let_only(vec![vec![2e-12, 5e-13]]).unwrap();
//! let total = dose_total(source.evolution(), &field).unwrap();
//! assert!((total.low_let[0] / total.low_let[1] - 4.0).abs() < 1e-12);
//! let lymph = DoseField::low_let_only(vec![vec![5e-13]]).unwrap();
//! let tumour = DoseField::low_let_only(vec![vec![2e-12]]).unwrap();
//! let mut opts = WindowOptions::new(72.0 * h); // cohorts reside 3 d
//! opts.start_days = (0..=20).map(f64::from).collect();
//! let w = immunotherapy_window(&source, &lymph, Some((&tumour, 0)), &opts).unwrap();
//! if let Some(day) = w.earliest_day {
//!     assert!(w.days[day as usize].surviving_fraction >= 0.9);
//! }
//! ```
//!
//! ## Invariants
//!
//! * Members are in topological order and `members()[0]` is the parent; every
//!   [`Branch`] has `from < to`. Stable end points are members with λ = 0 (zero activity
//!   and zero decays), listed as radioactivedecay lists them.
//! * All results are sums of non-negative terms: activities and decays are ≥ 0, and
//!   decays over [t0, t1] are computed from the state at t0, never as a difference of two
//!   cumulated totals.
//! * Times are in seconds, activities in Bq, decay constants in 1/s; results are linear in
//!   the administered activities (superposition).
//! * Compartment systems have the same structure (lower triangular, non-negative flows),
//!   so source components are as accurate as chains; decays are never a quadrature.
//! * Every input is validated; bad values give a [`KineticsError`] naming the value and its
//!   unit, never a panic.
//! * Nothing here runs Monte Carlo; the only random numbers (random walks, uptake
//!   heterogeneity) come from `Rng::for_stream(seed, index, STREAM_KINETICS)`.

mod chain;
pub mod compartments;
pub mod dose_time;
pub mod error;
mod expm;
pub mod hits;
mod library;
pub mod lymphocytes;
pub mod noise;
pub mod radiobiology;
pub mod regimen;
pub mod sources;
pub mod tac;
pub mod walk;
mod walknoise;
pub mod window;

pub use chain::{Administration, Branch, Chain, DecayInfo, Member, Propagator};
pub use compartments::{Evolution, Timeline};
pub use error::KineticsError;
pub use regimen::{Amount, Regimen};
pub use sources::{
    lognormal_uptake_weights, Component, DaughterRelease, Site, SourceKinetics, SourceModel,
};
pub use tac::{ExpTerm, Quantity, Tac, Tail};

pub use dose_time::{DoseField, DoseTimeline, ProtractionOptions, SplitDose};
pub use lymphocytes::{Blood, Cohort, Distribution, Exposure, TumourTransit};
pub use radiobiology::{DoseRatePiece, Grade, LqParameters, Protraction};
pub use walk::{VoxelWalkGrid, WalkGrid, WalkParameters};
pub use window::{WindowOptions, WindowReport};

use thiserror::Error;

/// What is wrong with a decay-chain description.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ChainError {
    /// No members.
    #[error("a decay chain needs at least one member (its parent)")]
    Empty,
    /// Two members share a name.
    #[error("member {nuclide:?} appears twice in the chain")]
    DuplicateMember {
        /// The repeated name.
        nuclide: String,
    },
    /// A decay constant is negative, NaN or infinite.
    #[error("member {nuclide:?}: decay constant must be finite and >= 0 1/s, got {value} 1/s")]
    BadDecayConstant {
        /// The member.
        nuclide: String,
        /// The offending decay constant \[1/s\].
        value: f64,
    },
    /// The parent does not decay.
    #[error("the parent {nuclide:?} is stable (or has no decay data): it has no decay chain")]
    StableParent {
        /// The parent.
        nuclide: String,
    },
    /// A branch index is outside the member list.
    #[error("branch {from} -> {to} refers to a member outside 0..{len}")]
    BranchIndex {
        /// Index of the decaying member.
        from: usize,
        /// Index of the daughter.
        to: usize,
        /// Number of members.
        len: usize,
    },
    /// A daughter is listed before its parent.
    #[error(
        "branch {from:?} -> {to:?}: the daughter must come after the member that decays into \
         it (members in topological order)"
    )]
    BranchOrder {
        /// The decaying member.
        from: String,
        /// The daughter.
        to: String,
    },
    /// A branching fraction is outside (0, 1].
    #[error("branching fraction {from:?} -> {to:?} must be in (0, 1], got {value}")]
    BadBranching {
        /// The decaying member.
        from: String,
        /// The daughter.
        to: String,
        /// The offending fraction \[1\].
        value: f64,
    },
    /// The branching fractions of one member add up to more than 1.
    #[error("branching fractions of {nuclide:?} sum to {sum}, more than 1")]
    BranchingSum {
        /// The decaying member.
        nuclide: String,
        /// The sum of its branching fractions \[1\].
        sum: f64,
    },
    /// A stable member has a daughter.
    #[error("{nuclide:?} is stable (decay constant 0 1/s) but has daughter {daughter:?}")]
    StableWithDaughter {
        /// The stable member.
        nuclide: String,
        /// Its daughter.
        daughter: String,
    },
    /// The decay data form a cycle.
    #[error("the decay data form a cycle through {nuclides:?}")]
    Cycle {
        /// Nuclides on or behind the cycle.
        nuclides: Vec<String>,
    },
    /// The nuclide library does not know the parent.
    #[error("{0}")]
    UnknownNuclide(String),
}

/// Result alias of this crate.
pub type Result<T, E = ChainError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests;
