//! Dose by Monte Carlo: the phantom made from the CT (materials and densities per voxel,
//! [`crate::hu`]) with the time-integrated activity as source map, every emission of the
//! nuclide transported by `xfire-transport` (condensed-history electrons with a 10 keV cut,
//! Woodcock photons), as `xfire kernel` does for the kernels.
//!
//! The tally is energy per decay per voxel with batch statistics; the dose is that times the
//! number of decays (Σ TIA) over the voxel mass. Results are bit-identical for any thread
//! count (`xfire-transport`).

use std::time::Instant;

use xfire_data::nuclides::{EmissionSampler, Nuclide, RadiationSet};
use xfire_phantom::{Phantom, SourceMap};
use xfire_tally::{BatchScorer, RegionMap, TallyResult};
use xfire_transport::{
    phantom_layout, run_batches_until, Cutoffs, Emitter, PhysicsTables, Source, TransportSetup,
};

use crate::{invalid, DoseError, Result};

/// Condensed-history electron cut for millimetre voxels \[MeV\] (as `xfire kernel --electron-cut
/// auto` for voxels of 25 µm and more).
pub const ELECTRON_CUT_MEV: f64 = 0.01;

/// Monte Carlo settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct McOptions {
    /// Decays (histories).
    pub decays: u64,
    /// Master seed.
    pub seed: u64,
    /// Threads (0: all).
    pub threads: usize,
    /// Histories per batch.
    pub batch_size: u64,
}

impl Default for McOptions {
    fn default() -> Self {
        Self {
            decays: 1_000_000,
            seed: 1,
            threads: 0,
            batch_size: 10_000,
        }
    }
}

/// A Monte Carlo dose.
#[derive(Debug, Clone, PartialEq)]
pub struct McDose {
    /// Dose per voxel \[Gy\].
    pub dose_gy: Vec<f64>,
    /// Relative standard uncertainty per voxel (1 where nothing was scored).
    pub rel_unc: Vec<f64>,
    /// Mean dose per region of `regions` \[Gy\] and its relative uncertainty.
    pub region_dose: Vec<(f64, f64)>,
    /// Decays simulated.
    pub decays: u64,
    /// Energy emitted, deposited in the grid and escaping, per decay \[MeV\].
    pub emitted_deposited_escaped_mev: [f64; 3],
    /// Transport wall time \[s\].
    pub wall_s: f64,
}

/// Run the Monte Carlo dose of `tia` \[Bq·s per voxel\] in `phantom`; `regions` (one region
/// id per voxel, e.g. label ids) gets region mean doses with batch uncertainties.
/// `progress` is told the decays done after each round of batches; `stop` is asked before
/// each round (both on the calling thread), and when it answers true the run ends with
/// [`DoseError::Interrupted`].
pub fn mc_dose(
    phantom: &Phantom,
    tia: &[f64],
    nuclide: &Nuclide,
    regions: &[u32],
    opts: &McOptions,
    progress: &(dyn Fn(u64) + Sync),
    stop: &dyn Fn() -> bool,
) -> Result<McDose> {
    let total: f64 = tia.iter().sum();
    if !(total > 0.0) {
        return Err(invalid(
            "the time-integrated activity is zero everywhere: nothing to transport",
        ));
    }
    if opts.decays < 2 * opts.batch_size.max(1) {
        return Err(invalid(format!(
            "--decays {} is too few: at least 2 batches of {} are needed for uncertainties",
            opts.decays, opts.batch_size
        )));
    }
    let map = SourceMap {
        name: "tia".into(),
        method: "time-integrated activity".into(),
        weight: tia.iter().map(|&x| x as f32).collect(),
    };
    let sampler = EmissionSampler::new(nuclide, RadiationSet::ALL)
        .map_err(|e| invalid(format!("nuclide {}: {e}", nuclide.name)))?;
    let with_alpha = !nuclide.alpha.is_empty();
    let physics = PhysicsTables::for_phantom(phantom, &xfire_data::materials::builtin, with_alpha)?
        .with_condensed(xfire_physics::condensed::CondensedParams::with_cut(
            ELECTRON_CUT_MEV,
        ))?;
    let n_regions = regions.iter().copied().max().unwrap_or(0) as usize + 1;
    let roi = RegionMap::new("roi", regions.to_vec(), n_regions)
        .map_err(xfire_transport::TransportError::from)?;
    let layout = phantom_layout(phantom, vec![roi])?;
    let mut setup = TransportSetup::new(
        phantom,
        &physics,
        Source::Map(&map),
        Emitter::Nuclide(&sampler),
        opts.decays,
    );
    setup.seed = opts.seed;
    setup.threads = opts.threads;
    setup.batch_size = opts.batch_size;
    setup.cutoffs = Cutoffs::default();
    setup.electron_model = xfire_physics::csda::ElectronModel::CondensedHistory;
    let t0 = Instant::now();
    let mut r = TallyResult::new(&layout);
    let stopped = run_batches_until(
        &setup,
        || BatchScorer::new(&layout),
        |s| s.finish_batch(),
        |b| r.absorb(&b),
        progress,
        stop,
    )?;
    if stopped {
        return Err(DoseError::Interrupted {
            done: r.decays,
            total: opts.decays,
        });
    }
    let wall_s = t0.elapsed().as_secs_f64();
    let masses = phantom.voxel_masses_g();
    let n = tia.len();
    let dose_gy = (0..n)
        .map(|v| r.voxel_dose_gy(v, masses[v]) * total)
        .collect();
    let rel_unc = (0..n).map(|v| r.voxel_rel_unc(v)).collect();
    let roi_index = layout
        .region_index("roi")
        .ok_or_else(|| invalid("internal: region map 'roi' missing"))?;
    let mut region_mass = vec![0.0; n_regions];
    for (v, &l) in regions.iter().enumerate() {
        region_mass[l as usize] += masses[v];
    }
    let region_dose = (0..n_regions)
        .map(|l| {
            (
                r.region_dose_gy(roi_index, l, region_mass[l]) * total,
                r.region_rel_unc(roi_index, l),
            )
        })
        .collect();
    Ok(McDose {
        dose_gy,
        rel_unc,
        region_dose,
        decays: r.decays,
        emitted_deposited_escaped_mev: [
            r.emitted_mev_per_decay(),
            r.deposited_mev_per_decay(),
            r.escaped_mev_per_decay(),
        ],
        wall_s,
    })
}
