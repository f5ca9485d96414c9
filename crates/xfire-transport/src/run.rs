//! Batches over rayon with deterministic, batch-ordered reduction.

use std::sync::Mutex;

use rayon::prelude::*;
use xfire_phantom::{Geometry, Nested, Phantom};
use xfire_tally::{BatchScorer, RegionMap, Scorer, TallyLayout, TallyResult};

use crate::engine::{Engine, Workspace};
use crate::setup::TransportSetup;
use crate::{Result, TransportError};

/// Batches handed to the pool at a time, per thread (more smooths load imbalance; the
/// result does not depend on it).
const BATCHES_PER_THREAD_PER_ROUND: usize = 4;

/// A worker's scorer and workspace, returned to the pool when rayon drops it.
struct Pooled<'p, S> {
    item: Option<(S, Workspace)>,
    pool: &'p Mutex<Vec<(S, Workspace)>>,
}

impl<S> Drop for Pooled<'_, S> {
    fn drop(&mut self) {
        if let Some(it) = self.item.take() {
            if let Ok(mut p) = self.pool.lock() {
                p.push(it);
            }
        }
    }
}

/// Runs `setup` with any scorer: `make` creates a worker's scorer (called about once per
/// thread), `finish` ends a batch and returns its data (and must reset the scorer),
/// `reduce` receives the batches in batch-index order on the calling thread, and
/// `progress` the number of decays done after each round.
pub fn run_batches<S, T, Mk, Fin, Red>(
    setup: &TransportSetup,
    make: Mk,
    finish: Fin,
    reduce: Red,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<()>
where
    S: Scorer + Send,
    T: Send,
    Mk: Fn() -> S + Sync,
    Fin: Fn(&mut S) -> T + Sync,
    Red: FnMut(T),
{
    run_batches_until(setup, make, finish, reduce, progress, &|| false).map(|_| ())
}

/// [`run_batches`] that asks `stop` before each round of batches (never inside one) and
/// returns early when it answers true: the batches reduced so far are a prefix
/// `0..k` of the run (k a multiple of the round size, or all). Returns whether it stopped
/// early. Used to end at a batch boundary on Ctrl-C and keep the work in a checkpoint.
pub fn run_batches_until<S, T, Mk, Fin, Red>(
    setup: &TransportSetup,
    make: Mk,
    finish: Fin,
    reduce: Red,
    progress: &(dyn Fn(u64) + Sync),
    stop: &dyn Fn() -> bool,
) -> Result<bool>
where
    S: Scorer + Send,
    T: Send,
    Mk: Fn() -> S + Sync,
    Fin: Fn(&mut S) -> T + Sync,
    Red: FnMut(T),
{
    match setup.nested {
        None => drive(Engine::new(setup)?, make, finish, reduce, progress, stop),
        Some(_) => drive(
            Engine::new_nested(setup)?,
            make,
            finish,
            reduce,
            progress,
            stop,
        ),
    }
}

/// The batch loop of [`run_batches_until`] on a prepared engine (any geometry).
fn drive<G, S, T, Mk, Fin, Red>(
    engine: Engine<'_, G>,
    make: Mk,
    finish: Fin,
    mut reduce: Red,
    progress: &(dyn Fn(u64) + Sync),
    stop: &dyn Fn() -> bool,
) -> Result<bool>
where
    G: Geometry,
    S: Scorer + Send,
    T: Send,
    Mk: Fn() -> S + Sync,
    Fin: Fn(&mut S) -> T + Sync,
    Red: FnMut(T),
{
    let setup = *engine.setup();
    let thread_pool = if setup.threads > 0 {
        Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(setup.threads)
                .build()
                .map_err(|e| {
                    TransportError::Invalid(format!("cannot start {} threads: {e}", setup.threads))
                })?,
        )
    } else {
        None
    };
    let threads = thread_pool
        .as_ref()
        .map_or_else(rayon::current_num_threads, |p| p.current_num_threads());
    let decays = setup.decays;
    let bs = setup.batch_size;
    let n_batches = decays.div_ceil(bs);
    let round = (threads * BATCHES_PER_THREAD_PER_ROUND) as u64;
    let pool: Mutex<Vec<(S, Workspace)>> = Mutex::new(Vec::new());
    let run_round = |b0: u64, b1: u64| -> Vec<T> {
        (b0..b1)
            .into_par_iter()
            .map_init(
                || Pooled {
                    item: Some(
                        pool.lock()
                            .ok()
                            .and_then(|mut p| p.pop())
                            .unwrap_or_else(|| (make(), Workspace::new())),
                    ),
                    pool: &pool,
                },
                |w, b| {
                    let (scorer, ws) = w.item.as_mut().expect("worker state present");
                    let h0 = b * bs;
                    let h1 = ((b + 1) * bs).min(decays);
                    for h in h0..h1 {
                        engine.history(setup.first_history + h, scorer, ws);
                    }
                    finish(scorer)
                },
            )
            .collect()
    };
    let mut b0 = 0;
    while b0 < n_batches {
        if stop() {
            return Ok(true);
        }
        let b1 = (b0 + round).min(n_batches);
        let outs = match &thread_pool {
            Some(p) => p.install(|| run_round(b0, b1)),
            None => run_round(b0, b1),
        };
        for t in outs {
            reduce(t);
        }
        progress((b1 * bs).min(decays));
        b0 = b1;
    }
    Ok(false)
}

/// Runs `setup` into a [`TallyResult`] over `layout` (see [`phantom_layout`]).
pub fn run(
    setup: &TransportSetup,
    layout: &TallyLayout,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<TallyResult> {
    if layout.n_voxels != setup.n_voxels() {
        return Err(TransportError::Invalid(format!(
            "tally layout has {} voxels, the phantom {}",
            layout.n_voxels,
            setup.n_voxels()
        )));
    }
    let mut result = TallyResult::new(layout);
    run_batches(
        setup,
        || BatchScorer::new(layout),
        |s| s.finish_batch(),
        |b| result.absorb(&b),
        progress,
    )?;
    Ok(result)
}

/// The standard tally layout of a phantom: region map `"label"` (one region per label id,
/// 0..=max id) and `"cell"` (region 0 = no cell, then one per cell id), then `extra`.
pub fn phantom_layout(phantom: &Phantom, extra: Vec<RegionMap>) -> Result<TallyLayout> {
    let n_labels = phantom.labels.max_id() as usize + 1;
    let n_labels = n_labels.max(
        phantom
            .label
            .iter()
            .map(|&l| l as usize + 1)
            .max()
            .unwrap_or(1),
    );
    let n = phantom.grid.len();
    let mut maps = vec![
        RegionMap::from_fn("label", n, n_labels, |v| u32::from(phantom.label[v]))?,
        RegionMap::from_fn("cell", n, phantom.cells.len() + 1, |v| phantom.cell_id[v])?,
    ];
    maps.extend(extra);
    Ok(TallyLayout::new(phantom.grid.len(), maps)?)
}

/// Mass of each region of `map` in `phantom` [g] (Σ voxel masses).
pub fn region_masses_g(phantom: &Phantom, map: &RegionMap) -> Vec<f64> {
    let mut m = vec![0.0; map.n_regions];
    for (v, r) in map.of_voxel.iter().enumerate() {
        m[r as usize] += phantom.voxel_mass_g(v);
    }
    m
}

/// The standard tally layout of a nested phantom over both grids (micro voxels first):
/// region map `"label"` (the shared label table; macro voxels carry their lesion/body labels)
/// and `"cell"` (macro voxels in region 0), then `extra`.
pub fn nested_layout(nested: &Nested, extra: Vec<RegionMap>) -> Result<TallyLayout> {
    let labels = nested.labels();
    let n_labels = (nested.micro.labels.max_id() as usize + 1)
        .max(labels.iter().map(|&l| l as usize + 1).max().unwrap_or(1));
    let cells = &nested.micro.cell_id;
    let cell = |v: usize| cells.get(v).copied().unwrap_or(0);
    let mut maps = vec![
        RegionMap::from_fn("label", labels.len(), n_labels, |v| u32::from(labels[v]))?,
        RegionMap::from_fn("cell", nested.len(), nested.micro.cells.len() + 1, cell)?,
    ];
    maps.extend(extra);
    Ok(TallyLayout::new(nested.len(), maps)?)
}

/// Mass of each region of `map` (over both grids) in `nested` [g]: macro voxels the micro box
/// cuts count their part outside it.
pub fn nested_region_masses_g(nested: &Nested, map: &RegionMap) -> Vec<f64> {
    let mut m = vec![0.0; map.n_regions];
    for (v, r) in map.of_voxel.iter().enumerate() {
        m[r as usize] += nested.voxel_mass_g(v);
    }
    m
}
