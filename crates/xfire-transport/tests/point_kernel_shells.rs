//! Mono-energetic electron point kernels in water against the shell-scored EGSnrc (EDKnrc)
//! kernels of Mainegra-Hing, Rogers & Kawrakow (Med. Phys. 32 (2005) 685), committed in
//! `tests/data/edknrc_dpk_water.csv` with source and licence (docs/validation.md, "Point
//! kernels against EDKnrc"). Criterion (issue 17): the cumulative energy fraction within r,
//! F(r) = E(< r)/E0, within 1.5 % of EDKnrc's for r ≥ 0.2 r0 (r0 the CSDA range), 0.1 and
//! 1 MeV; in CI at reduced statistics (1.5 % + 3σ), with `XFIRE_SLOW_TESTS=1` at full.
//!
//! Energy is scored by radius, not by voxel, with the scorer of the radial kernels
//! (`xfire_tally::shells`, `xfire kernel --source radial`): each voxel's deposits are split
//! over the spherical shells of width 0.05 r0 around the source in proportion to the voxel
//! volume in each shell (8³ sub-points), on a grid of r0/40 voxels, so the shell edges do not
//! snap to voxel centres; the statistics are per history (F(r) of every decay, so
//! correlations between shells are in σ).

use xfire_data::materials::builtin;
use xfire_data::nuclides::Particle;
use xfire_phantom::{Grid, MaterialEntry, Phantom};
use xfire_physics::condensed::{CondensedParams, ElasticScheme};
use xfire_physics::csda::ElectronModel;
use xfire_physics::electron::ElectronStopping;
use xfire_tally::shells::{ShellBins, ShellMap, ShellScorer, ShellSums};
use xfire_transport::{run_batches, Emitter, PhysicsTables, Source, TransportSetup};

mod common;
use common::{read_data, slow};

/// Shells of width 0.05 r0 up to 1.2 r0 (the reference's); energy beyond goes to the
/// scorer's "beyond" bin.
const N_SHELLS: usize = 24;
const SHELL_WIDTH_R0: f64 = 0.05;

/// F(r_k) and its σ for r_k = 0.05 (k + 1) r0, k = 0..23: `decays` electrons of `e_mev`
/// from a point in water on a grid of r0/`per_r0` voxels.
fn cumulative_fractions(
    e_mev: f64,
    params: CondensedParams,
    per_r0: f64,
    decays: u64,
) -> Vec<(f64, f64)> {
    let r0 = ElectronStopping::new(&builtin("water").unwrap())
        .unwrap()
        .csda_range_g_cm2(e_mev);
    let h = r0 / per_r0;
    let n = 2 * ((1.3 * per_r0).ceil() as usize) + 1; // 1.3 r0 from the centre to each face
    let grid = Grid::centred([n; 3], [h; 3]).unwrap();
    let p = Phantom::uniform(
        grid,
        MaterialEntry {
            name: "water".into(),
            density_g_cm3: 1.0,
        },
        0,
    );
    let c = p.grid.centre_ijk(n / 2, n / 2, n / 2);
    let bins = ShellBins::new(0.0, N_SHELLS as f64 * SHELL_WIDTH_R0 * r0, N_SHELLS).unwrap();
    let map = ShellMap::new(n, h, bins).unwrap();
    let phys = PhysicsTables::for_phantom(&p, &builtin, false)
        .unwrap()
        .with_condensed(params)
        .unwrap();
    let mut setup = TransportSetup::new(
        &p,
        &phys,
        Source::Point(c),
        Emitter::Mono {
            particle: Particle::Electron,
            energy_mev: e_mev,
        },
        decays,
    );
    setup.electron_model = ElectronModel::CondensedHistory;
    setup.seed = 2005;
    let mut sums = ShellSums::new(&bins);
    run_batches(
        &setup,
        || ShellScorer::new(&map),
        |sc| sc.finish_batch(),
        |b| sums.absorb(&b),
        &|_| {},
    )
    .unwrap();
    assert_eq!(sums.decays, decays);
    (0..N_SHELLS)
        .map(|k| {
            let (m, sd) = sums.cumulative_mev(k);
            (m / e_mev, sd / e_mev)
        })
        .collect()
}

/// EDKnrc's F at the outer edge of each shell (Σ kernel × 0.05), column `col` (1: 0.1 MeV,
/// 2: 1 MeV) of the committed table.
fn reference(col: usize) -> Vec<f64> {
    let (_, rows) = read_data("edknrc_dpk_water.csv", 3); // panics if missing or malformed
    assert_eq!(
        rows.len(),
        N_SHELLS,
        "edknrc_dpk_water.csv: 24 shells expected"
    );
    let mut c = 0.0;
    rows.iter()
        .map(|r| {
            c += SHELL_WIDTH_R0 * r[col];
            c
        })
        .collect()
}

/// Compares F(r) for r = 0.2 … 1.1 r0; returns the failures.
fn compare(name: &str, f: &[(f64, f64)], re: &[f64], stat_sigmas: f64) -> Vec<String> {
    let mut fails = Vec::new();
    let mut worst = 0.0_f64;
    for k in 3..22 {
        let (x, sd) = f[k];
        let dev = x / re[k] - 1.0;
        let sig = sd / re[k];
        worst = worst.max(dev.abs());
        println!(
            "{name}: F({:.2} r0) xfire {x:.5} ± {sd:.5}, EDKnrc {:.5}: {:+.2} % (σ {:.2} %)",
            SHELL_WIDTH_R0 * (k + 1) as f64,
            re[k],
            100.0 * dev,
            100.0 * sig
        );
        if dev.abs() > 0.015 + stat_sigmas * sig {
            fails.push(format!(
                "{name}: F({:.2} r0) {:+.2} % (σ {:.2} %)",
                SHELL_WIDTH_R0 * (k + 1) as f64,
                100.0 * dev,
                100.0 * sig
            ));
        }
    }
    println!(
        "{name}: worst |F/F_EDKnrc − 1| for r ≥ 0.2 r0: {:.2} %",
        100.0 * worst
    );
    fails
}

/// 0.1 MeV (cutoff 1 keV, as EDKnrc's) and 1 MeV (10 keV, as EDKnrc's) electrons.
#[test]
fn point_kernels_match_edknrc_shell_kernels() {
    let (n_lo, n_hi) = if slow() {
        (1_000_000, 400_000)
    } else {
        (60_000, 30_000)
    };
    let sig = if slow() { 0.0 } else { 3.0 };
    let mut fails = Vec::new();
    for (name, e, cut, col, n) in [
        ("0.1 MeV", 0.1, 0.001, 1, n_lo),
        ("1 MeV", 1.0, 0.01, 2, n_hi),
    ] {
        let t0 = std::time::Instant::now();
        let f = cumulative_fractions(e, CondensedParams::with_cut(cut), 40.0, n);
        println!("{name}: {n} decays in {:.1} s", t0.elapsed().as_secs_f64());
        fails.extend(compare(name, &f, &reference(col), sig));
    }
    assert!(fails.is_empty(), "{fails:?}");
}

/// The long-step elastic scheme (`ElasticScheme::LongStep`) at f_E = 0.25 and at half that
/// against the same EDKnrc kernels and criterion, and step-size convergence: F(r) at f_E and
/// f_E/2 agree within 1 % + 3σ (the measured difference is the scheme's step-size bias,
/// ≈ 0.4–0.6 % at 0.1 and 1 MeV; docs/physics.md, "Long steps").
#[test]
fn long_step_kernels_match_edknrc_and_converge_in_step_size() {
    let (n_lo, n_hi) = if slow() {
        (1_000_000, 400_000)
    } else {
        (60_000, 30_000)
    };
    let sig = if slow() { 0.0 } else { 3.0 };
    let mut fails = Vec::new();
    for (name, e, cut, col, n) in [
        ("0.1 MeV", 0.1, 0.001, 1, n_lo),
        ("1 MeV", 1.0, 0.01, 2, n_hi),
    ] {
        let mut f = Vec::new();
        for fe in [LONG_STEP_LOSS_FRACTION, 0.5 * LONG_STEP_LOSS_FRACTION] {
            let params = CondensedParams {
                elastic: ElasticScheme::LongStep,
                max_loss_fraction: fe,
                ..CondensedParams::with_cut(cut)
            };
            let t0 = std::time::Instant::now();
            let fr = cumulative_fractions(e, params, 40.0, n);
            println!(
                "{name}, long steps f_E = {fe}: {n} decays in {:.1} s",
                t0.elapsed().as_secs_f64()
            );
            let tag = format!("{name} long f_E={fe}");
            fails.extend(compare(&tag, &fr, &reference(col), sig));
            f.push(fr);
        }
        let mut worst = 0.0_f64;
        for (&(a, sa), &(b, sb)) in f[0][3..22].iter().zip(&f[1][3..22]) {
            let dev = a / b - 1.0;
            let sd = (sa * sa + sb * sb).sqrt() / b;
            worst = worst.max(dev.abs());
            if dev.abs() > 0.01 + 3.0 * sd {
                fails.push(format!(
                    "{name}: F(f_E)/F(f_E/2) − 1 = {dev:+.4} (σ {sd:.4})"
                ));
            }
        }
        println!(
            "{name}: worst |F(f_E)/F(f_E/2) − 1| = {:.2} %",
            100.0 * worst
        );
    }
    assert!(fails.is_empty(), "{fails:?}");
}

/// The energy-loss fraction the long-step scheme is validated at.
const LONG_STEP_LOSS_FRACTION: f64 = 0.25;
