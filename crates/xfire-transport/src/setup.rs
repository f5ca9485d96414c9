//! What a transport run is asked to do.

use crate::physics::PhysicsTables;
use xfire_data::nuclides::{EmissionSampler, Particle};
use xfire_phantom::{BoxSource, Grid, Nested, Phantom, SourceMap};
use xfire_physics::csda::ElectronModel;

/// Where decays happen.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// Every decay at this point [cm] (must lie inside the grid).
    Point([f64; 3]),
    /// Decays uniform inside the voxel with this flat index.
    Voxel(usize),
    /// Decays distributed by a source map: voxel by weight, uniform inside it.
    Map(&'a SourceMap),
    /// Decays distributed finer than the voxels: voxels and boxes by weight, uniform inside
    /// the one drawn.
    Boxes(&'a BoxSource),
}

/// What each decay emits.
#[derive(Debug, Clone, Copy)]
pub enum Emitter<'a> {
    /// All emissions of one decay drawn from a nuclide's sampler.
    Nuclide(&'a EmissionSampler),
    /// One particle of fixed kinetic energy per decay [MeV].
    Mono {
        /// The particle.
        particle: Particle,
        /// Kinetic energy [MeV].
        energy_mev: f64,
    },
}

/// Tracking cutoffs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cutoffs {
    /// A particle stops when its residual CSDA range [cm] falls below this fraction of the
    /// smallest voxel edge (default 0.1).
    pub range_fraction_of_voxel: f64,
    /// ... or below the residual range of this energy [MeV] if that is longer (default
    /// 1 keV: the cutoff energy is never below it).
    pub min_energy_mev: f64,
}

impl Default for Cutoffs {
    fn default() -> Self {
        Self {
            range_fraction_of_voxel: 0.1,
            min_energy_mev: 1.0e-3,
        }
    }
}

impl Cutoffs {
    /// The residual-range cutoff length [cm] on `grid`.
    pub fn cut_length_cm(&self, grid: &Grid) -> f64 {
        let h = grid.voxel_cm[0].min(grid.voxel_cm[1]).min(grid.voxel_cm[2]);
        self.range_fraction_of_voxel * h
    }
}

/// Photon splitting at a box (an unbiased variance reduction for a small scoring region far
/// from most sources, e.g. the micro box of a nested lesion): a photon of weight 1 whose
/// flight crosses into the box from outside is moved to its entry point and replaced by
/// `copies` photons of weight 1/`copies`, each transported on from there (secondaries
/// inherit the weight; photons of weight < 1 are not split again). The expected score is
/// that of analogue transport (flights are memoryless, copies independent), the energy of
/// every history is conserved exactly, and a box entry now yields `copies` chances of an
/// interaction in it. Only scorers that take weights ([`xfire_tally::Scorer::set_weight`])
/// see split photons; with any other scorer the transport stays analogue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhotonSplit {
    /// Lower corner of the box \[cm\].
    pub lo_cm: [f64; 3],
    /// Upper corner of the box \[cm\].
    pub hi_cm: [f64; 3],
    /// Copies per entering photon (≥ 1; 1 is analogue transport).
    pub copies: u32,
}

impl PhotonSplit {
    /// Whether `p` lies inside the box (faces included).
    #[inline]
    pub fn contains(&self, p: [f64; 3]) -> bool {
        (0..3).all(|a| p[a] >= self.lo_cm[a] && p[a] <= self.hi_cm[a])
    }

    /// The distance along the unit vector `dir` from `p` (outside the box) to where the ray
    /// enters the box, if it does (slab method).
    #[inline]
    pub fn entry_cm(&self, p: [f64; 3], dir: [f64; 3]) -> Option<f64> {
        let (mut t0, mut t1) = (0.0_f64, f64::INFINITY);
        for a in 0..3 {
            if dir[a] == 0.0 {
                if p[a] < self.lo_cm[a] || p[a] > self.hi_cm[a] {
                    return None;
                }
                continue;
            }
            let inv = 1.0 / dir[a];
            let (mut ta, mut tb) = ((self.lo_cm[a] - p[a]) * inv, (self.hi_cm[a] - p[a]) * inv);
            if ta > tb {
                std::mem::swap(&mut ta, &mut tb);
            }
            t0 = t0.max(ta);
            t1 = t1.min(tb);
        }
        (t0 <= t1).then_some(t0)
    }
}

/// Default number of histories per batch.
pub const DEFAULT_BATCH_SIZE: u64 = 1000;

/// A transport run: what, where, how many, and how.
#[derive(Debug, Clone, Copy)]
pub struct TransportSetup<'a> {
    /// The phantom (validated by [`crate::Engine::new`]); of a nested run, `&nested.micro`.
    pub phantom: &'a Phantom,
    /// A micro phantom nested in a macro phantom (run by [`crate::Engine::new_nested`]):
    /// sources, tallies and voxel indices then cover both grids (micro voxels first).
    pub nested: Option<&'a Nested>,
    /// Physics tables, one per phantom material.
    pub physics: &'a PhysicsTables,
    /// Decay positions.
    pub source: Source<'a>,
    /// Emissions per decay.
    pub emitter: Emitter<'a>,
    /// Tracking cutoffs.
    pub cutoffs: Cutoffs,
    /// Electron transport model.
    pub electron_model: ElectronModel,
    /// Sample α range straggling (Bohr) per track.
    pub alpha_straggling: bool,
    /// Master seed.
    pub seed: u64,
    /// Index of the first history (0 for a whole run; a shard starts elsewhere).
    pub first_history: u64,
    /// Number of decays (histories).
    pub decays: u64,
    /// Histories per batch (fixed, independent of the thread count).
    pub batch_size: u64,
    /// Worker threads (0: the current rayon pool).
    pub threads: usize,
    /// Photon splitting at a box ([`PhotonSplit`]); `None`: analogue photon transport.
    pub photon_split: Option<PhotonSplit>,
    /// Nested runs: an electron in the macro grid whose CSDA range (largest over the
    /// materials, at the macro grid's smallest density) is shorter than its distance to the
    /// micro box (and to any vacuum of the macro grid) deposits its energy where it is: it
    /// cannot reach the micro box, so the micro tallies are unchanged but for its
    /// bremsstrahlung; the macro map loses the spread of that energy over its range. Only for
    /// runs whose answer is scored in the micro box (a lesion's micro phantom), not where
    /// targets lie in the macro grid (S values of neighbour cells). Default off; ignored for
    /// a single grid.
    pub electron_reach_cut: bool,
}

impl<'a> TransportSetup<'a> {
    /// A setup with defaults (as [`TransportSetup::new`]) over `nested`: its micro phantom is
    /// `phantom`, sources and tallies index both grids.
    pub fn nested(
        nested: &'a Nested,
        physics: &'a PhysicsTables,
        source: Source<'a>,
        emitter: Emitter<'a>,
        decays: u64,
    ) -> Self {
        let mut s = Self::new(&nested.micro, physics, source, emitter, decays);
        s.nested = Some(nested);
        s
    }

    /// Number of voxels of the run's index space (both grids when nested).
    pub fn n_voxels(&self) -> usize {
        self.nested.map_or(self.phantom.grid.len(), |n| n.len())
    }

    /// A setup with defaults: default cutoffs, CSDA straight-line electrons, no straggling,
    /// seed 1, batches of [`DEFAULT_BATCH_SIZE`], the current rayon pool.
    pub fn new(
        phantom: &'a Phantom,
        physics: &'a PhysicsTables,
        source: Source<'a>,
        emitter: Emitter<'a>,
        decays: u64,
    ) -> Self {
        Self {
            phantom,
            nested: None,
            physics,
            source,
            emitter,
            cutoffs: Cutoffs::default(),
            electron_model: ElectronModel::CsdaStraightLine,
            alpha_straggling: false,
            seed: 1,
            first_history: 0,
            decays,
            batch_size: DEFAULT_BATCH_SIZE,
            threads: 0,
            photon_split: None,
            electron_reach_cut: false,
        }
    }
}
