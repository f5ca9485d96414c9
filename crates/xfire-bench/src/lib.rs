//! # xfire-bench
//!
//! Shared set-up for the criterion benchmarks in the top-level `benches/` folder
//! (`cargo bench -p xfire-bench`): water phantoms, the benchmark cases and a runner that
//! pushes histories through [`xfire_transport::Engine`] into a batch scorer exactly as
//! `xfire_transport::run` does, one thread. Results and the side-by-side comparison with
//! the EGSnrc-based peer ompMC are in `docs/perf.md`.

use xfire_core::rng::Rng;
use xfire_data::materials::builtin;
use xfire_phantom::{Grid, MaterialEntry, Phantom};
use xfire_tally::{BatchScorer, TallyLayout};
use xfire_transport::{phantom_layout, Engine, PhysicsTables, TransportSetup, Workspace};

/// A homogeneous water cube of `n`³ voxels of edge `voxel_cm` [cm], centred on the origin.
pub fn water_phantom(n: usize, voxel_cm: f64) -> Phantom {
    let grid = Grid::centred([n; 3], [voxel_cm; 3]).expect("valid benchmark grid");
    Phantom::uniform(
        grid,
        MaterialEntry {
            name: "water".into(),
            density_g_cm3: 1.0,
        },
        0,
    )
}

/// Physics tables for `phantom` (built-in materials), with α tables when `with_alpha`.
pub fn physics_for(phantom: &Phantom, with_alpha: bool) -> PhysicsTables {
    PhysicsTables::for_phantom(phantom, &builtin, with_alpha).expect("physics tables")
}

/// `n` energies [MeV] spaced logarithmically from `lo` to `hi`.
pub fn log_energies(n: usize, lo: f64, hi: f64) -> Vec<f64> {
    let step = (hi / lo).ln() / (n.max(2) - 1) as f64;
    (0..n).map(|i| lo * (step * i as f64).exp()).collect()
}

/// `n` isotropic unit vectors drawn from a fixed stream (the same for every run).
pub fn directions(n: usize, seed: u64) -> Vec<[f64; 3]> {
    let mut rng = Rng::for_stream(seed, 0, 0);
    (0..n).map(|_| rng.isotropic()).collect()
}

/// Histories pushed through one [`Engine`] into one [`BatchScorer`], batch by batch, on the
/// calling thread: the inner loop of `xfire_transport::run` without the thread pool.
pub struct HistoryRunner<'a> {
    engine: Engine<'a>,
    layout: &'a TallyLayout,
    ws: Workspace,
    next: u64,
}

impl<'a> HistoryRunner<'a> {
    /// Prepares `setup` (validated by [`Engine::new`]) scoring into `layout`.
    pub fn new(setup: &TransportSetup<'a>, layout: &'a TallyLayout) -> Self {
        Self {
            engine: Engine::new(setup).expect("valid benchmark setup"),
            layout,
            ws: Workspace::new(),
            next: 0,
        }
    }

    /// Runs the next `n` histories (new history indices every call, so the random numbers
    /// differ) into a fresh batch and returns the energy deposited in it [MeV].
    pub fn run_batch(&mut self, scorer: &mut BatchScorer<'a>, n: u64) -> f64 {
        for h in self.next..self.next + n {
            self.engine.history(h, scorer, &mut self.ws);
        }
        self.next += n;
        let b = scorer.finish_batch();
        b.deposited_mev
    }

    /// A scorer over this runner's layout.
    pub fn scorer(&self) -> BatchScorer<'a> {
        BatchScorer::new(self.layout)
    }
}

/// The tally layout of `phantom` with no extra regions.
pub fn layout_for(phantom: &Phantom) -> TallyLayout {
    phantom_layout(phantom, vec![]).expect("tally layout")
}
