//! Validation of the transport engine (docs/validation.md, "Transport engine").
//! Fast checks always; the full set with `XFIRE_SLOW_TESTS=1`.

use xfire_core::rng::Rng;
use xfire_data::materials::builtin;
use xfire_data::nuclides::{library, EmissionSampler, Particle, RadiationSet};
use xfire_phantom::{Grid, MaterialEntry, Phantom, SourceMap};
use xfire_physics::csda::ElectronModel;
use xfire_tally::{RegionMap, Scorer, TallyResult};
use xfire_transport::*;

mod common;
use common::assert_balance;

fn slow() -> bool {
    std::env::var("XFIRE_SLOW_TESTS").is_ok_and(|v| v == "1")
}

fn water_phantom(dims: [usize; 3], voxel_cm: f64) -> Phantom {
    let grid = Grid::centred(dims, [voxel_cm; 3]).unwrap();
    Phantom::uniform(
        grid,
        MaterialEntry {
            name: "water".into(),
            density_g_cm3: 1.0,
        },
        0,
    )
}

/// Records the deposit profile of single tracks.
#[derive(Default)]
struct Profile {
    edep: Vec<f64>,
    cutoff_voxel: Option<usize>,
    emitted: f64,
    escaped: f64,
}

impl Scorer for Profile {
    fn begin_history(&mut self, e: f64, _site: usize) {
        self.emitted = e;
    }
    fn deposit(&mut self, v: usize, e: f64) {
        self.edep[v] += e;
    }
    fn deposit_local(&mut self, v: usize, e: f64, below_cutoff: bool) {
        self.edep[v] += e;
        if below_cutoff {
            self.cutoff_voxel = Some(v);
        }
    }
    fn escape(&mut self, e: f64) {
        self.escaped += e;
    }
    fn photon_escape(&mut self, e: f64) {
        self.escaped += e;
    }
    fn end_history(&mut self) {}
}

/// One α of `e_mev` along +x through a row of 0.5 µm water voxels.
/// Returns (stop depth [µm], Bragg-peak voxel, peak deposit [MeV], deposit profile).
fn alpha_row(e_mev: f64) -> (f64, usize, f64, Vec<f64>) {
    let h = 0.5e-4;
    let n = 200;
    let grid = Grid::new([n, 1, 1], [h; 3], [0.0; 3]).unwrap();
    let p = Phantom::uniform(
        grid,
        MaterialEntry {
            name: "water".into(),
            density_g_cm3: 1.0,
        },
        0,
    );
    let phys = PhysicsTables::for_phantom(&p, &builtin, true).unwrap();
    let setup = TransportSetup::new(
        &p,
        &phys,
        Source::Point([1e-12, 0.5 * h, 0.5 * h]),
        Emitter::Mono {
            particle: Particle::Alpha,
            energy_mev: e_mev,
        },
        1,
    );
    let eng = Engine::new(&setup).unwrap();
    let mut prof = Profile {
        edep: vec![0.0; n],
        ..Profile::default()
    };
    let mut rng = Rng::for_stream(1, 0, 2);
    prof.begin_history(e_mev, 0);
    eng.transport_particle(
        Particle::Alpha,
        e_mev,
        [0.0, 0.5 * h, 0.5 * h],
        [1.0, 0.0, 0.0],
        0,
        &mut rng,
        &mut prof,
    );
    let total: f64 = prof.edep.iter().sum();
    assert!((total - e_mev).abs() < 1e-9 * e_mev, "{total} vs {e_mev}");
    assert_eq!(prof.escaped, 0.0);
    let last = prof.edep.iter().rposition(|&e| e > 0.0).unwrap();
    assert_eq!(prof.cutoff_voxel, Some(last));
    // depth where the track stops: entry of the last voxel + residual range there, less the
    // cutoff residual range (≤ h/10)
    let e_in: f64 = e_mev - prof.edep[..last].iter().sum::<f64>();
    let a = &phys.alpha[0];
    let stop_um = (last as f64 * h + a.csda_range_g_cm2(e_in)) * 1e4;
    assert!(stop_um >= last as f64 * h * 1e4 && stop_um <= (last as f64 + 1.1) * h * 1e4);
    let (peak, &emax) = prof
        .edep
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap();
    (stop_um, peak, emax, prof.edep)
}

/// ASTAR (refdata astar_alpha_water_liquid.csv, quick_reference_derived.csv): CSDA range
/// [µm], detour factor, Bragg-peak energy 0.70–0.75 MeV with residual CSDA range 4.70 µm
/// and S_el = 226.2 keV/µm.
#[test]
fn alpha_range_and_bragg_peak_at_half_micron_voxels() {
    for (e, csda_um, detour) in [
        (5.0, 37.59, 0.9931),
        (5.86705, 47.99, 0.9940), // 211At main line
        (8.37658, 84.50, 0.9966), // 213Po
    ] {
        let (stop_um, peak, emax, _) = alpha_row(e);
        let projected = csda_um * detour;
        let dev = stop_um / projected - 1.0;
        println!("alpha {e} MeV: stop {stop_um:.3} um, ASTAR CSDA x detour {projected:.3} um ({:+.2} %), peak voxel {peak}, peak {:.1} keV/um", dev * 100.0, emax / 0.5 * 1e3);
        assert!(
            dev.abs() < 0.01,
            "{e} MeV: stops at {stop_um} um vs {projected} um"
        );
        let expected_peak = ((csda_um - 4.70) / 0.5).floor() as i64;
        assert!(
            (peak as i64 - expected_peak).abs() <= 1,
            "{e} MeV: Bragg peak in voxel {peak}, expected {expected_peak}"
        );
        // peak deposit ≈ 0.5 µm × 226.2 keV/µm (+ 0.4 % nuclear stopping)
        let peak_kev_um = emax / 0.5 * 1e3;
        assert!((peak_kev_um / 227.0 - 1.0).abs() < 0.01, "{peak_kev_um}");
    }
}

#[test]
fn straggling_spreads_ranges_by_bohr_sigma() {
    // 5 MeV α along a row of 0.1 µm voxels; the last voxel hit measures each track's range
    let h = 0.1e-4;
    let grid = Grid::new([450, 1, 1], [h; 3], [0.0; 3]).unwrap();
    let row = Phantom::uniform(
        grid,
        MaterialEntry {
            name: "water".into(),
            density_g_cm3: 1.0,
        },
        0,
    );
    let phys = PhysicsTables::for_phantom(&row, &builtin, true).unwrap();
    let mut setup = TransportSetup::new(
        &row,
        &phys,
        Source::Point([1e-9, 0.5 * h, 0.5 * h]),
        Emitter::Mono {
            particle: Particle::Alpha,
            energy_mev: 5.0,
        },
        1,
    );
    setup.alpha_straggling = true;
    let eng = Engine::new(&setup).unwrap();
    let a = &phys.alpha[0];
    // tracks stop with the cutoff residual range left: max(h/10, R(1 keV))
    let r_cut = (0.1 * h).max(a.csda_range_g_cm2(1e-3));
    let r0 = a.csda_range_g_cm2(5.0) - r_cut;
    let sig = a.range_straggling_g_cm2(5.0);
    let n = 4000;
    let mut ranges = Vec::with_capacity(n);
    for i in 0..n as u64 {
        let mut prof = Profile {
            edep: vec![0.0; 450],
            ..Profile::default()
        };
        let mut rng = Rng::for_stream(7, i, 2);
        eng.transport_particle(
            Particle::Alpha,
            5.0,
            [0.0, 0.5 * h, 0.5 * h],
            [1.0, 0.0, 0.0],
            0,
            &mut rng,
            &mut prof,
        );
        let total: f64 = prof.edep.iter().sum();
        assert!((total - 5.0).abs() < 1e-9);
        let last = prof.edep.iter().rposition(|&e| e > 0.0).unwrap();
        ranges.push((last as f64 + 0.5) * h);
    }
    let m = ranges.iter().sum::<f64>() / n as f64;
    let sd = (ranges.iter().map(|r| (r - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    // voxel quantisation adds h²/12 to the variance
    let expected = (sig * sig + h * h / 12.0).sqrt();
    println!(
        "straggling: sd {:.4} um, expected {:.4} um; mean {:.4} um vs R - cutoff residual {:.4} um",
        sd * 1e4,
        expected * 1e4,
        m * 1e4,
        r0 * 1e4
    );
    // the sd of a sample sd is sd/sqrt(2n) = 1.1 %: 10 % is > 8 σ; the mean within 4 σ
    assert!((sd / expected - 1.0).abs() < 0.1, "sd {sd} vs {expected}");
    assert!(
        (m - r0).abs() < 4.0 * expected / (n as f64).sqrt(),
        "{m} vs {r0}"
    );
}

/// Uniform source (one decay weight per voxel), dose in the central block `margin` voxels
/// inside the box against (expected energy per decay − bremsstrahlung photons escaping the
/// box) × the block's share of the decays / its mass. Returns (relative deviation, relative σ
/// of the dose, escaped photon energy per decay [MeV]).
fn central_fraction_check(
    phantom: &Phantom,
    phys: &PhysicsTables,
    (emitter, model): (Emitter, ElectronModel),
    margin: usize,
    decays: u64,
    expected_mev_per_decay_total: f64,
) -> (f64, f64, f64) {
    let g = phantom.grid;
    let n = g.nx;
    let mut of_voxel = vec![0u32; g.len()];
    let mut n_central = 0usize;
    for (v, r) in of_voxel.iter_mut().enumerate() {
        let [i, j, k] = g.ijk(v);
        if [i, j, k].iter().all(|&c| c >= margin && c < n - margin) {
            *r = 1;
            n_central += 1;
        }
    }
    let map = SourceMap {
        name: "uniform".into(),
        method: "1 per voxel".into(),
        weight: vec![1.0; g.len()],
    };
    let layout = phantom_layout(
        phantom,
        vec![RegionMap::new("central", of_voxel, 2).unwrap()],
    )
    .unwrap();
    let mut setup = TransportSetup::new(phantom, phys, Source::Map(&map), emitter, decays);
    setup.seed = 2026;
    setup.electron_model = model;
    let r = run(&setup, &layout, &|_| {}).unwrap();
    assert!(r.max_history_imbalance_rel < 1e-9);
    let m = layout.region_index("central").unwrap();
    let masses = region_masses_g(phantom, &layout.regions[m]);
    let dose = r.region_dose_gy(m, 1, masses[1]);
    let escaped = r.escaped_photon_mev_per_decay();
    let expected = xfire_tally::dose_gy(
        (expected_mev_per_decay_total - escaped) * n_central as f64 / g.len() as f64,
        masses[1],
    );
    (dose / expected - 1.0, r.region_rel_unc(m, 1), escaped)
}

/// Infinite-medium check: uniform source in a box whose margin exceeds the particle range;
/// the central block receives (non-escaping emitted energy) × (its share of decays).
#[test]
fn infinite_medium_alpha_5mev() {
    // 10 µm voxels, 21³ box, margin 4 voxels = 40 µm > 37.6 µm
    let p = water_phantom([21, 21, 21], 10e-4);
    let phys = PhysicsTables::for_phantom(&p, &builtin, true).unwrap();
    let decays = if slow() { 4_000_000 } else { 400_000 };
    let (dev, unc, _) = central_fraction_check(
        &p,
        &phys,
        (
            Emitter::Mono {
                particle: Particle::Alpha,
                energy_mev: 5.0,
            },
            ElectronModel::CsdaStraightLine,
        ),
        4,
        decays,
        5.0,
    );
    println!(
        "infinite medium, 5 MeV alpha, {decays} decays: deviation {:+.3} %, rel. unc. {:.3} %",
        dev * 100.0,
        unc * 100.0
    );
    assert!(
        dev.abs() < 0.005_f64.max(4.0 * unc),
        "deviation {dev}, σ {unc}"
    );
    if slow() {
        assert!(dev.abs() < 0.005 && unc < 0.0015);
    }
}

#[test]
fn infinite_medium_lu177_electrons() {
    // 177Lu electrons (β, IC, Auger): 0.5 mm voxels, 15³ box, margin 5 voxels = 2.5 mm
    // > the 1.8 mm CSDA range of the 498 keV β endpoint
    let lu = library().resolve("Lu-177").unwrap();
    let sampler = EmissionSampler::new(lu, RadiationSet::electrons()).unwrap();
    let charged = sampler.clone();
    let p = water_phantom([15, 15, 15], 0.05);
    let phys = PhysicsTables::for_phantom(&p, &builtin, false).unwrap();
    let decays = if slow() { 20_000_000 } else { 1_000_000 };
    let (dev, unc, _) = central_fraction_check(
        &p,
        &phys,
        (Emitter::Nuclide(&sampler), ElectronModel::CsdaStraightLine),
        5,
        decays,
        charged.mean_energy_per_decay_mev(),
    );
    println!(
        "infinite medium, 177Lu, {decays} decays: deviation {:+.3} %, rel. unc. {:.3} %",
        dev * 100.0,
        unc * 100.0
    );
    assert!(
        dev.abs() < 0.005_f64.max(4.0 * unc),
        "deviation {dev}, σ {unc}"
    );
    if slow() {
        assert!(dev.abs() < 0.005 && unc < 0.0015);
    }
}

/// The same check with condensed-history electrons (multiple scattering, Møller and
/// bremsstrahlung events, straggling): 177Lu electrons uniform in a 25³ box of 0.5 mm water
/// voxels; the central 17³ block (margin 2 mm > the 1.8 mm CSDA range of the 498 keV β
/// endpoint) is in charged-particle equilibrium, so its dose is N·(Ē − escaping brems)/M
/// within 4σ (σ: the run's statistical uncertainty of the block dose).
#[test]
fn infinite_medium_lu177_electrons_condensed_history() {
    let lu = library().resolve("Lu-177").unwrap();
    let sampler = EmissionSampler::new(lu, RadiationSet::electrons()).unwrap();
    let p = water_phantom([25, 25, 25], 0.05);
    let phys = PhysicsTables::for_phantom(&p, &builtin, false)
        .unwrap()
        .with_condensed(xfire_physics::condensed::CondensedParams::default())
        .unwrap();
    let decays = if slow() { 4_000_000 } else { 200_000 };
    let t0 = std::time::Instant::now();
    let (dev, unc, escaped) = central_fraction_check(
        &p,
        &phys,
        (Emitter::Nuclide(&sampler), ElectronModel::CondensedHistory),
        4,
        decays,
        sampler.mean_energy_per_decay_mev(),
    );
    println!(
        "infinite medium, 177Lu, condensed history, {decays} decays in {:.1} s: deviation {:+.3} %, \
         rel. unc. {:.3} %, escaped brems {:.2e} MeV/decay",
        t0.elapsed().as_secs_f64(),
        dev * 100.0,
        unc * 100.0,
        escaped
    );
    assert!(dev.abs() < 4.0 * unc, "deviation {dev}, σ {unc}");
    assert!(unc < 0.01, "σ {unc}");
}

fn two_material_phantom() -> Phantom {
    // water with a bone slab and a lung slab, 20 µm voxels, 25³
    let mut p = water_phantom([25, 25, 25], 20e-4);
    let bone = p.material_or_add("bone_cortical", 1.92).unwrap();
    let lung = p.material_or_add("lung", 0.26).unwrap();
    for v in 0..p.grid.len() {
        let [i, _, _] = p.grid.ijk(v);
        if (14..17).contains(&i) {
            p.material[v] = bone;
            p.density_g_cm3[v] = 1.92;
        } else if i >= 20 {
            p.material[v] = lung;
            p.density_g_cm3[v] = 0.26;
        }
    }
    p
}

fn nuclide_run(
    p: &Phantom,
    name: &str,
    set: RadiationSet,
    decays: u64,
    threads: usize,
) -> TallyResult {
    let n = library().resolve(name).unwrap();
    let sampler = EmissionSampler::new(n, set).unwrap();
    let phys = PhysicsTables::for_phantom(p, &builtin, true).unwrap();
    let c = p.grid.dims().map(|d| d / 2);
    let mut setup = TransportSetup::new(
        p,
        &phys,
        Source::Voxel(p.grid.index(c[0], c[1], c[2])),
        Emitter::Nuclide(&sampler),
        decays,
    );
    setup.threads = threads;
    setup.batch_size = 500;
    setup.seed = 99;
    setup.alpha_straggling = true;
    let layout = phantom_layout(p, vec![]).unwrap();
    run(&setup, &layout, &|_| {}).unwrap()
}

#[test]
fn energy_is_conserved_in_every_history() {
    let p = two_material_phantom();
    for (name, set) in [
        ("Lu-177", RadiationSet::ALL),
        ("Ac-225", RadiationSet::ALL),
        ("Bi-213", RadiationSet::ALL),
        ("At-211", RadiationSet::ALL),
    ] {
        let r = nuclide_run(&p, name, set, 20_000, 0);
        println!(
            "{name}: emitted {:.5} MeV, deposited {:.5}, escaped {:.5} (photons {:.5}), below cutoff {:.3e}, max history imbalance {:.2e}",
            r.emitted_mev_per_decay(),
            r.deposited_mev_per_decay(),
            r.escaped_mev_per_decay(),
            r.escaped_photon_mev_per_decay(),
            r.below_cutoff_mev_per_decay(),
            r.max_history_imbalance_rel
        );
        assert_balance(&r);
        assert!(r.escaped_photon_mev_per_decay() > 0.0);
    }
}

#[test]
fn alpha_kernels_at_1um_conserve_energy() {
    let n = if slow() { 81 } else { 41 };
    let p = water_phantom([n, n, n], 1e-4);
    let decays = if slow() { 200_000 } else { 20_000 };
    for name in ["Bi-213", "At-211"] {
        let r = nuclide_run(&p, name, RadiationSet::alpha(), decays, 0);
        println!("{name} --emissions alpha, 1 um, {n}^3: emitted {:.5} MeV/decay, deposited {:.5}, escaped {:.5}, max imbalance {:.1e}", r.emitted_mev_per_decay(), r.deposited_mev_per_decay(), r.escaped_mev_per_decay(), r.max_history_imbalance_rel);
        assert_balance(&r);
    }
}

#[test]
fn identical_bytes_with_1_and_2_threads() {
    let p = two_material_phantom();
    let a = nuclide_run(&p, "Ac-225", RadiationSet::ALL, 7_321, 1);
    let b = nuclide_run(&p, "Ac-225", RadiationSet::ALL, 7_321, 2);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(a.decays, b.decays);
    assert_eq!(a.batches, 15);
    assert_eq!(bits(&a.voxel_sum), bits(&b.voxel_sum));
    assert_eq!(bits(&a.voxel_sum2), bits(&b.voxel_sum2));
    for (x, y) in a.regions.iter().zip(&b.regions) {
        assert_eq!(bits(&x.sum), bits(&y.sum));
        assert_eq!(bits(&x.sum2), bits(&y.sum2));
    }
    assert_eq!(a.balance, b.balance);
    assert!(a.deposited_mev_per_decay() > 0.0);
}

#[test]
fn bad_input_gives_clear_errors() {
    let p = water_phantom([5, 5, 5], 1e-3);
    let phys = PhysicsTables::for_phantom(&p, &builtin, false).unwrap();
    let mono = Emitter::Mono {
        particle: Particle::Electron,
        energy_mev: 0.1,
    };
    let err = |s: TransportSetup| Engine::new(&s).unwrap_err().to_string();
    let s = TransportSetup::new(&p, &phys, Source::Point([0.0; 3]), mono, 0);
    assert!(err(s).contains("decays must be at least 1"));
    let s = TransportSetup::new(&p, &phys, Source::Point([1.0, 0.0, 0.0]), mono, 10);
    assert!(err(s).contains("outside the grid"));
    let s = TransportSetup::new(&p, &phys, Source::Voxel(125), mono, 10);
    assert!(err(s).contains("outside the grid"));
    let alpha = Emitter::Mono {
        particle: Particle::Alpha,
        energy_mev: 5.0,
    };
    let s = TransportSetup::new(&p, &phys, Source::Voxel(0), alpha, 10);
    assert!(err(s).contains("without alpha"));
    let neg = Emitter::Mono {
        particle: Particle::Electron,
        energy_mev: -1.0,
    };
    let s = TransportSetup::new(&p, &phys, Source::Voxel(0), neg, 10);
    assert!(err(s).contains("-1 MeV"));
    let mut s = TransportSetup::new(&p, &phys, Source::Voxel(0), mono, 10);
    s.batch_size = 0;
    assert!(err(s).contains("batch size"));
    let empty = SourceMap {
        name: "none".into(),
        method: String::new(),
        weight: vec![0.0; 125],
    };
    let s = TransportSetup::new(&p, &phys, Source::Map(&empty), mono, 10);
    assert!(err(s).contains("none"));
}

/// A generated cell cluster with a nucleus source: label and cell tallies add up to the
/// deposited energy, decays start in tumour nuclei, and the source → label / cell dose
/// matrices use the region masses.
#[test]
fn cell_cluster_label_and_cell_tallies() {
    let text = r#"
[grid]
voxel = "1 um"
size = "40 um"
[cluster]
cell_radius = "7 um"
nucleus_radius = "5 um"
"#;
    let spec = xfire_phantom::Spec::from_toml(text).unwrap();
    let g = xfire_phantom::generate(&spec, text, &|m| builtin(m).map(|x| x.density_g_cm3)).unwrap();
    let p = g.phantom;
    let map = p.source_map("tumour_nucleus").unwrap();
    let phys = PhysicsTables::for_phantom(&p, &builtin, true).unwrap();
    let at = library().resolve("At-211").unwrap();
    let sampler = EmissionSampler::new(at, RadiationSet::ALL).unwrap();
    let setup = TransportSetup::new(
        &p,
        &phys,
        Source::Map(map),
        Emitter::Nuclide(&sampler),
        5000,
    );
    let layout = phantom_layout(&p, vec![]).unwrap();
    let r = run(&setup, &layout, &|_| {}).unwrap();
    assert_balance(&r);
    let label = layout.region_index("label").unwrap();
    let cell = layout.region_index("cell").unwrap();
    let dep = r.deposited_mev_per_decay();
    let cells_total: f64 = (0..layout.regions[cell].n_regions)
        .map(|c| r.region_mean_mev(cell, c))
        .sum();
    assert!((cells_total / dep - 1.0).abs() < 1e-12);
    // every voxel's energy is in its label and cell
    let mut by_label = vec![0.0; layout.regions[label].n_regions];
    for (v, &l) in p.label.iter().enumerate() {
        by_label[l as usize] += r.voxel_mean_mev(v);
    }
    for (l, e) in by_label.iter().enumerate() {
        assert!((r.region_mean_mev(label, l) - e).abs() <= 1e-9 * dep);
    }
    // nucleus self-dose, estimate: 41.8 % of decays emit a 5.87 MeV α whose mean path to the
    // surface of a uniform source sphere (r = 5 µm) is 3r/4 = 3.75 µm at ≈ 79 keV/µm, plus its
    // 0.113 MeV recoil: 0.418 × (0.296 + 0.113) = 0.171 MeV, plus a few keV of electrons
    // (the voxelised nucleus is not exactly a sphere: 15 % tolerance)
    let nuc = xfire_phantom::labels::TUMOUR_NUCLEUS as usize;
    let e_nuc = r.region_mean_mev(label, nuc);
    println!(
        "At-211 in the nucleus of one cell: {e_nuc:.4} MeV/decay (estimate 0.171 + electrons)"
    );
    assert!((e_nuc / 0.175 - 1.0).abs() < 0.15, "{e_nuc}");
    let masses = region_masses_g(&p, &layout.regions[label]);
    let m = xfire_tally::matrix::dose_matrix(&[("nucleus", &r)], "label", &masses).unwrap();
    let d = r.region_mean_mev(label, nuc) / masses[nuc] * 1.602176634e-10;
    assert!((m.dose_gy_per_decay[nuc] / d - 1.0).abs() < 1e-12);
    let cm = region_masses_g(&p, &layout.regions[cell]);
    assert!((cm.iter().sum::<f64>() - p.voxel_masses_g().iter().sum::<f64>()).abs() < 1e-15);
}
