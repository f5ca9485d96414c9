//! # xfire-tally
//!
//! What the transport's events become: energy per voxel and per region (label, cell, or any
//! other voxel → region map) per decay, with batch statistics, the energy balance of every
//! history, and the conversion to absorbed dose per decay [Gy].
//!
//! * [`Scorer`]: the event sink the hot loop calls (`begin_history`, `deposit`,
//!   `deposit_local` (flagged when below the cutoff), `escape`, `photon_escape`, `end_history`). The transport is
//!   generic over it; scoring never changes the transport.
//! * [`BatchScorer`]: the standard scorer, one per worker, reused across batches: a dense
//!   per-voxel energy array with a list of the voxels touched in the current batch, so
//!   finishing a batch costs O(touched voxels), not O(voxels).
//! * [`BatchTally`]: one finished batch as plain sparse data (voxel and region energies,
//!   energy-balance sums).
//! * [`TallyResult`]: the run's tally as plain, mergeable data: per voxel and per region the
//!   sum over batches of the batch energy and of its square (divided by the batch size),
//!   the number of decays and batches, and the energy balance (emitted, deposited, escaped,
//!   photons leaving the grid, below the tracking cutoff).
//! * [`RegionMap`]: a voxel → region map (labels, cells, kernel symmetry classes, …).
//! * [`matrix`]: source → target dose matrices from several results.
//! * [`kernel`]: symmetry classes of a cubic kernel grid around its centre voxel.
//! * [`shells`]: energy in spherical shells around a point source (radial dose point
//!   kernels).
//!
//! ```
//! use xfire_tally::{BatchScorer, RegionMap, Scorer, TallyLayout, TallyResult};
//! let layout = TallyLayout::new(4, vec![RegionMap::new("label", vec![0, 0, 1, 1], 2).unwrap()]).unwrap();
//! let mut result = TallyResult::new(&layout);
//! let mut scorer = BatchScorer::new(&layout);
//! for batch in 0..3 {
//!     for _ in 0..10 {
//!         scorer.begin_history(1.0, 0);
//!         scorer.deposit(2, 0.25);
//!         scorer.deposit(3, 0.5);
//!         scorer.escape(0.25);
//!         scorer.end_history();
//!     }
//!     result.absorb(&scorer.finish_batch());
//! }
//! assert_eq!(result.decays, 30);
//! assert!((result.voxel_mean_mev(3) - 0.5).abs() < 1e-12);
//! assert!((result.region_mean_mev(0, 1) - 0.75).abs() < 1e-12);
//! assert!(result.max_history_imbalance_rel < 1e-12);
//! ```
//!
//! Invariants: energies in MeV; a [`TallyResult`] depends only on the sequence of batches
//! absorbed (absorb them in batch-index order for identical bytes with any thread count);
//! every deposit is also counted in the energy balance, so for each history
//! emitted = deposited + escaped + photons escaped (recorded as
//! [`TallyResult::max_history_imbalance_rel`]).
//!
//! Statistics: with batch energies E_b of n_b histories, N = Σ n_b, K batches,
//! `sum = Σ E_b` and `sum2 = Σ E_b²/n_b`; the per-history variance is estimated as
//! (sum2 − sum²/N)/(K − 1) and the variance of the mean per decay is that over N
//! (unbiased for unequal batch sizes too).

pub mod events;
pub mod exact;
pub mod kernel;
pub mod matrix;
mod result;
mod scorer;
pub mod shells;

pub use events::{EventLayout, EventSpectrum};
pub use exact::{ExactTally, FileError};
pub use result::{
    dose_gy, mean_covariance, rel_uncertainty, BatchStat, EnergyBalance, RegionTally, SelfCellMean,
    SelfCellTally, TallyResult,
};
pub use scorer::{
    BatchScorer, BatchTally, RegionIndex, RegionMap, Scorer, SelfCellLayout, TallyLayout,
    VoxelTally,
};

/// Errors of tally construction.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TallyError {
    /// A region map or result does not fit the layout.
    #[error("{0}")]
    Layout(String),
}

/// Result alias of this crate.
pub type Result<T, E = TallyError> = std::result::Result<T, E>;
