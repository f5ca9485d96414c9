//! Whole histories through the transport engine (one thread): one α history at 1 µm voxels,
//! 177Lu histories at 50 µm and at 2 µm voxels, and a 177Lu voxel-S-value history at
//! 4.42 mm voxels, with the engine's default CSDA straight-line electron model and (the
//! `_condensed` cases, 177Lu β+IC+Auger) with the condensed-history model at its default
//! parameters.
//! `cargo bench -p xfire-bench --bench histories`; results in `docs/perf.md`.
#![allow(missing_docs)] // criterion_group! generates an undocumented pub fn

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use xfire_bench::{layout_for, physics_for, water_phantom, HistoryRunner};
use xfire_data::nuclides::{library, EmissionSampler, Particle, RadiationSet};
use xfire_physics::condensed::CondensedParams;
use xfire_physics::csda::ElectronModel;
use xfire_transport::{Emitter, Source, TransportSetup};

/// Histories per measured iteration (one tally batch).
const BATCH: u64 = 200;

struct Case {
    name: &'static str,
    grid: usize,
    voxel_cm: f64,
    /// `None`: a 5.87 MeV α (211At's main line); `Some(set)`: 177Lu with these emissions.
    lu177: Option<RadiationSet>,
    voxel_source: bool,
    /// Condensed-history electrons instead of CSDA straight lines.
    condensed: bool,
}

fn cases() -> [Case; 6] {
    [
        Case {
            name: "alpha_5.87MeV_point_81^3_1um",
            grid: 81,
            voxel_cm: 1e-4,
            lu177: None,
            voxel_source: false,
            condensed: false,
        },
        Case {
            name: "Lu177_all_point_81^3_50um",
            grid: 81,
            voxel_cm: 5e-3,
            lu177: Some(RadiationSet::ALL),
            voxel_source: false,
            condensed: false,
        },
        Case {
            name: "Lu177_all_point_161^3_2um",
            grid: 161,
            voxel_cm: 2e-4,
            lu177: Some(RadiationSet::ALL),
            voxel_source: false,
            condensed: false,
        },
        Case {
            name: "Lu177_all_voxel_15^3_4.42mm",
            grid: 15,
            voxel_cm: 0.442,
            lu177: Some(RadiationSet::ALL),
            voxel_source: true,
            condensed: false,
        },
        Case {
            name: "Lu177_electrons_point_81^3_50um_condensed",
            grid: 81,
            voxel_cm: 5e-3,
            lu177: Some(RadiationSet::electrons()),
            voxel_source: false,
            condensed: true,
        },
        Case {
            name: "Lu177_electrons_voxel_15^3_4.42mm_condensed",
            grid: 15,
            voxel_cm: 0.442,
            lu177: Some(RadiationSet::electrons()),
            voxel_source: true,
            condensed: true,
        },
    ]
}

fn histories(c: &mut Criterion) {
    let lu = library().resolve("Lu-177").expect("Lu-177");
    let mut g = c.benchmark_group("history");
    g.throughput(Throughput::Elements(BATCH));
    g.sample_size(20);
    for case in &cases() {
        let phantom = water_phantom(case.grid, case.voxel_cm);
        let mut physics = physics_for(&phantom, case.lu177.is_none());
        if case.condensed {
            physics = physics
                .with_condensed(CondensedParams::default())
                .expect("condensed tables");
        }
        let layout = layout_for(&phantom);
        let sampler = case
            .lu177
            .map(|set| EmissionSampler::new(lu, set).expect("sampler"));
        let emitter = match &sampler {
            Some(s) => Emitter::Nuclide(s),
            None => Emitter::Mono {
                particle: Particle::Alpha,
                energy_mev: 5.87,
            },
        };
        let n = case.grid / 2;
        let centre = phantom.grid.index(n, n, n);
        let source = if case.voxel_source {
            Source::Voxel(centre)
        } else {
            Source::Point(phantom.grid.centre(centre))
        };
        let mut setup = TransportSetup::new(&phantom, &physics, source, emitter, u64::MAX / 2);
        if case.condensed {
            setup.electron_model = ElectronModel::CondensedHistory;
        }
        let mut runner = HistoryRunner::new(&setup, &layout);
        let mut scorer = runner.scorer();
        g.bench_function(case.name, |b| {
            b.iter(|| runner.run_batch(&mut scorer, BATCH))
        });
    }
    g.finish();
}

criterion_group!(benches, histories);
criterion_main!(benches);
