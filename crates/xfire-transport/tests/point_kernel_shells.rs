//! Mono-energetic electron point kernels in water against the shell-scored EGSnrc (EDKnrc)
//! kernels of Mainegra-Hing, Rogers & Kawrakow (Med. Phys. 32 (2005) 685), committed in
//! `tests/data/edknrc_dpk_water.csv` with source and licence (docs/validation.md, "Point
//! kernels against EDKnrc"). Criterion (issue 17): the cumulative energy fraction within r,
//! F(r) = E(< r)/E0, within 1.5 % of EDKnrc's for r ≥ 0.2 r0 (r0 the CSDA range), 0.1 and
//! 1 MeV; in CI at reduced statistics (1.5 % + 3σ), with `XFIRE_SLOW_TESTS=1` at full.
//!
//! Energy is scored by radius, not by voxel: [`ShellScorer`] splits each voxel's deposits over
//! the spherical shells of width 0.05 r0 around the source in proportion to the voxel volume
//! in each shell (8³ sub-points), on a grid of r0/40 voxels, so the shell edges do not snap to
//! voxel centres; the statistics are per history (F(r) of every decay, so correlations between
//! shells are in σ).

use xfire_data::materials::builtin;
use xfire_data::nuclides::Particle;
use xfire_phantom::{Grid, MaterialEntry, Phantom};
use xfire_physics::condensed::CondensedParams;
use xfire_physics::csda::ElectronModel;
use xfire_physics::electron::ElectronStopping;
use xfire_tally::Scorer;
use xfire_transport::{run_batches, Emitter, PhysicsTables, Source, TransportSetup};

mod common;
use common::{read_data, slow};

/// Shells of width 0.05 r0 up to 1.2 r0 (the reference's), plus one for everything beyond.
const N_SHELLS: usize = 24;
const SHELL_WIDTH_R0: f64 = 0.05;

/// Voxel → (shell, volume fraction) lists for spherical shells of width `w_cm` around `c`.
struct ShellMap {
    first: Vec<u32>,
    entries: Vec<(u16, f64)>,
}

impl ShellMap {
    fn new(grid: &Grid, c: [f64; 3], w_cm: f64) -> Self {
        let h = grid.voxel_cm;
        let shell = |r: f64| ((r / w_cm) as usize).min(N_SHELLS) as u16;
        let (mut first, mut entries) = (Vec::with_capacity(grid.len() + 1), Vec::new());
        const M: usize = 8;
        for v in 0..grid.len() {
            first.push(entries.len() as u32);
            let lo = grid.corner(v);
            let (mut near, mut far) = (0.0_f64, 0.0_f64);
            for a in 0..3 {
                let (d0, d1) = (lo[a] - c[a], lo[a] + h[a] - c[a]);
                let n = if d0 > 0.0 {
                    d0
                } else if d1 < 0.0 {
                    -d1
                } else {
                    0.0
                };
                near += n * n;
                far += d0.abs().max(d1.abs()).powi(2);
            }
            let (s0, s1) = (shell(near.sqrt()), shell(far.sqrt()));
            if s0 == s1 {
                entries.push((s0, 1.0));
                continue;
            }
            let mut count = [0u32; N_SHELLS + 1];
            for i in 0..M * M * M {
                let f = [i % M, (i / M) % M, i / (M * M)].map(|x| (x as f64 + 0.5) / M as f64);
                let r2: f64 = (0..3).map(|a| (lo[a] + f[a] * h[a] - c[a]).powi(2)).sum();
                count[shell(r2.sqrt()) as usize] += 1;
            }
            for (s, &n) in count.iter().enumerate().filter(|(_, &n)| n > 0) {
                entries.push((s as u16, n as f64 / (M * M * M) as f64));
            }
        }
        first.push(entries.len() as u32);
        Self { first, entries }
    }

    fn of(&self, v: usize) -> &[(u16, f64)] {
        &self.entries[self.first[v] as usize..self.first[v + 1] as usize]
    }
}

/// Per history: energy in each shell; per batch: Σ and Σ² over histories of the cumulative
/// energy within each shell's outer radius.
struct ShellScorer<'a> {
    map: &'a ShellMap,
    history: [f64; N_SHELLS + 1],
    sum: [f64; N_SHELLS],
    sum2: [f64; N_SHELLS],
    n: u64,
}

impl Scorer for ShellScorer<'_> {
    fn begin_history(&mut self, _: f64, _: usize) {}
    fn deposit(&mut self, voxel: usize, e_mev: f64) {
        for &(s, w) in self.map.of(voxel) {
            self.history[s as usize] += w * e_mev;
        }
    }
    fn deposit_local(&mut self, voxel: usize, e_mev: f64, _: bool) {
        self.deposit(voxel, e_mev);
    }
    fn escape(&mut self, _: f64) {}
    fn photon_escape(&mut self, _: f64) {}
    fn end_history(&mut self) {
        let mut c = 0.0;
        for k in 0..N_SHELLS {
            c += self.history[k];
            self.sum[k] += c;
            self.sum2[k] += c * c;
        }
        self.history = [0.0; N_SHELLS + 1];
        self.n += 1;
    }
}

/// F(r_k) and its σ for r_k = 0.05 (k + 1) r0, k = 0..23: `decays` electrons of `e_mev`
/// from a point in water on a grid of r0/`per_r0` voxels.
fn cumulative_fractions(e_mev: f64, cut_mev: f64, per_r0: f64, decays: u64) -> Vec<(f64, f64)> {
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
    let map = ShellMap::new(&p.grid, c, SHELL_WIDTH_R0 * r0);
    let phys = PhysicsTables::for_phantom(&p, &builtin, false)
        .unwrap()
        .with_condensed(CondensedParams::with_cut(cut_mev))
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
    let (mut s, mut s2, mut nn) = ([0.0; N_SHELLS], [0.0; N_SHELLS], 0u64);
    run_batches(
        &setup,
        || ShellScorer {
            map: &map,
            history: [0.0; N_SHELLS + 1],
            sum: [0.0; N_SHELLS],
            sum2: [0.0; N_SHELLS],
            n: 0,
        },
        |sc| {
            let out = (sc.sum, sc.sum2, sc.n);
            (sc.sum, sc.sum2, sc.n) = ([0.0; N_SHELLS], [0.0; N_SHELLS], 0);
            out
        },
        |(a, b, k)| {
            for i in 0..N_SHELLS {
                s[i] += a[i];
                s2[i] += b[i];
            }
            nn += k;
        },
        &|_| {},
    )
    .unwrap();
    assert_eq!(nn, decays);
    let nf = nn as f64;
    (0..N_SHELLS)
        .map(|k| {
            let m = s[k] / nf;
            let var = (s2[k] / nf - m * m).max(0.0) / nf;
            (m / e_mev, var.sqrt() / e_mev)
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
        let f = cumulative_fractions(e, cut, 40.0, n);
        println!("{name}: {n} decays in {:.1} s", t0.elapsed().as_secs_f64());
        fails.extend(compare(name, &f, &reference(col), sig));
    }
    assert!(fails.is_empty(), "{fails:?}");
}
