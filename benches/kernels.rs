//! Micro-benchmarks of the hot parts: voxel traversal, stopping-power and range look-ups,
//! multiple-scattering (condensed-history step) sampling, emission sampling.
//! `cargo bench -p xfire-bench --bench kernels`; results in `docs/perf.md`.
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use xfire_bench::{directions, log_energies, water_phantom};
use xfire_core::rng::Rng;
use xfire_data::materials::builtin;
use xfire_data::nuclides::{library, EmissionSampler, RadiationSet};
use xfire_physics::alpha::AlphaStopping;
use xfire_physics::condensed::{CondensedParams, CondensedTables};
use xfire_physics::electron::ElectronStopping;
use xfire_physics::msc;

const N_RAYS: usize = 256;
const N_LOOKUPS: usize = 1024;

/// Rays from the centre of an 81³ grid to its edge (40.5 voxels, ~50–70 voxels crossed).
fn traversal(c: &mut Criterion) {
    let mut g = c.benchmark_group("traversal");
    for (name, voxel_cm) in [("81^3_50um", 5e-3), ("81^3_1um", 1e-4)] {
        let phantom = water_phantom(81, voxel_cm);
        let grid = phantom.grid;
        let dirs = directions(N_RAYS, 7);
        let dist = 40.0 * voxel_cm;
        let voxels: usize = dirs
            .iter()
            .map(|d| grid.traverse([0.0; 3], *d, dist).count())
            .sum();
        // throughput in voxels crossed: the number that matters per track
        g.throughput(Throughput::Elements(voxels as u64));
        g.bench_function(format!("voxels_{name}"), |b| {
            b.iter(|| {
                let mut s = 0.0;
                for d in &dirs {
                    for st in grid.traverse(black_box([0.0; 3]), *d, dist) {
                        s += st.length_cm;
                    }
                }
                s
            })
        });
    }
    g.finish();
}

/// Table look-ups in water: electron stopping power, range R(E) and its inverse E(R);
/// α range and inverse (the two calls per voxel of a straight CSDA track).
fn tables(c: &mut Criterion) {
    let water = builtin("water").expect("water");
    let el = ElectronStopping::new(&water).expect("electron tables");
    let al = AlphaStopping::new(&water).expect("alpha tables");
    let ee = log_energies(N_LOOKUPS, 1e-3, 2.0);
    let ea = log_energies(N_LOOKUPS, 1e-3, 8.0);
    let re: Vec<f64> = ee.iter().map(|&e| el.csda_range_g_cm2(e)).collect();
    let ra: Vec<f64> = ea.iter().map(|&e| al.csda_range_g_cm2(e)).collect();
    let mut g = c.benchmark_group("tables");
    g.throughput(Throughput::Elements(N_LOOKUPS as u64));
    g.bench_function("electron_stopping_power", |b| {
        b.iter(|| {
            ee.iter()
                .map(|&e| el.total_stopping_power(black_box(e)))
                .sum::<f64>()
        })
    });
    g.bench_function("electron_range", |b| {
        b.iter(|| {
            ee.iter()
                .map(|&e| el.csda_range_g_cm2(black_box(e)))
                .sum::<f64>()
        })
    });
    g.bench_function("electron_energy_from_range", |b| {
        b.iter(|| {
            re.iter()
                .map(|&r| el.energy_from_range(black_box(r)))
                .sum::<f64>()
        })
    });
    g.bench_function("alpha_range", |b| {
        b.iter(|| {
            ea.iter()
                .map(|&e| al.csda_range_g_cm2(black_box(e)))
                .sum::<f64>()
        })
    });
    g.bench_function("alpha_energy_from_range", |b| {
        b.iter(|| {
            ra.iter()
                .map(|&r| al.energy_from_range(black_box(r)))
                .sum::<f64>()
        })
    });
    g.finish();
}

/// Condensed-history sampling in water: a whole step plan (hard-event distance, soft
/// energy loss with straggling, hinge angle from the soft elastic moments) at energies
/// from 10 keV to 2 MeV, the soft-angle sampler alone, and the direction rotation.
fn msc_sampling(c: &mut Criterion) {
    let water = builtin("water").expect("water");
    let ch = CondensedTables::new(&water, CondensedParams::default()).expect("condensed tables");
    let ee = log_energies(N_LOOKUPS, 0.011, 2.0);
    let mut g = c.benchmark_group("msc");
    g.throughput(Throughput::Elements(N_LOOKUPS as u64));
    g.bench_function("condensed_plan_step", |b| {
        let mut rng = Rng::for_stream(3, 0, 0);
        b.iter(|| {
            ee.iter()
                .map(|&e| ch.plan_step(black_box(e), &mut rng).hinge_cos)
                .sum::<f64>()
        })
    });
    g.bench_function("soft_mu", |b| {
        let mut rng = Rng::for_stream(4, 0, 0);
        b.iter(|| {
            (0..N_LOOKUPS)
                .map(|_| msc::sample_soft_mu(black_box(0.05), black_box(0.01), &mut rng))
                .sum::<f64>()
        })
    });
    g.bench_function("rotate", |b| {
        let dirs = directions(N_LOOKUPS, 5);
        b.iter(|| {
            dirs.iter()
                .map(|&d| msc::rotate(black_box(d), 0.9, 1.0)[2])
                .sum::<f64>()
        })
    });
    g.finish();
}

/// All emissions of one decay drawn from the ICRP-107 sampler (the per-history source cost).
fn emissions(c: &mut Criterion) {
    let mut g = c.benchmark_group("emissions");
    const DECAYS: u64 = 1000;
    g.throughput(Throughput::Elements(DECAYS));
    for name in ["Lu-177", "Ac-225"] {
        let nuc = library().resolve(name).expect("nuclide");
        let s = EmissionSampler::new(nuc, RadiationSet::ALL).expect("sampler");
        g.bench_function(format!("sample_{name}_all"), |b| {
            let mut rng = Rng::for_stream(9, 0, 0);
            let mut out = Vec::with_capacity(64);
            b.iter(|| {
                let mut n = 0;
                for _ in 0..DECAYS {
                    s.sample(&mut rng, &mut out);
                    n += out.len();
                }
                n
            })
        });
    }
    g.finish();
}

criterion_group!(benches, traversal, tables, msc_sampling, emissions);
criterion_main!(benches);
