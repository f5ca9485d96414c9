//! Full transport (`--method mc`): energy balance, direction symmetry of neighbours, and the
//! single-cell nucleus doses of CELLDOSE (track structure; tests/data/README.md).

use std::path::Path;

use xfire_cell::mc::{physics_for, quantities, run_source, Layout, McOptions, RunSpec, TableRuns};
use xfire_cell::{csda_table, Request};
use xfire_data::nuclides::{EmissionSampler, RadiationSet};
use xfire_physics::csda::ElectronModel;
use xfire_transport::Emitter;

fn slow() -> bool {
    std::env::var("XFIRE_SLOW_TESTS").is_ok_and(|v| v == "1")
}

fn spec<'a>(
    physics: &'a xfire_transport::PhysicsTables,
    sampler: &'a EmissionSampler,
    opts: &'a McOptions,
) -> RunSpec<'a> {
    RunSpec {
        physics,
        emitter: Emitter::Nuclide(sampler),
        electron_model: ElectronModel::CondensedHistory,
        alpha_straggling: true,
        opts,
    }
}

#[test]
fn neighbours_in_every_direction_get_the_same_s_values() {
    // Lu-177, cells of 5/3 µm, four neighbours at 12 µm: along +x, +y, −z and the diagonal
    // (1,1,1)/√3 (voxelised differently); each target's S(N←CS) and S(C←CS) within 4σ of the
    // mean of the others; every decay conserves energy.
    let req = Request::new("Lu-177", 5e-4, 3e-4, vec![]).unwrap();
    let d = 12e-4;
    let s3 = d / 3f64.sqrt();
    let targets = [[d, 0.0, 0.0], [0.0, d, 0.0], [0.0, 0.0, -d], [s3, s3, s3]];
    let layout = Layout::new(&req, &targets, 0.3e-4, 4e-4).unwrap();
    let opts = McOptions::default();
    let sampler = EmissionSampler::new(&req.nuclide, RadiationSet::ALL).unwrap();
    let physics = physics_for(&req, false).unwrap();
    let sp = spec(&physics, &sampler, &opts);
    let q = quantities(&layout);
    let decays = if slow() { 200_000 } else { 20_000 };
    let t = run_source(&layout, &sp, 2, &q, 0, decays).unwrap();
    assert!(
        t.max_imbalance_rel < 1e-9,
        "energy balance {}",
        t.max_imbalance_rel
    );
    let rel = (t.emitted_mev - t.deposited_mev - t.escaped_mev).abs() / t.emitted_mev;
    assert!(rel < 1e-12, "run energy balance {rel}");
    for (what, first) in [("N", 2), ("C", 3)] {
        let vals: Vec<(f64, f64)> = (0..4).map(|k| t.mean_and_sigma(first + 2 * k)).collect();
        for (k, &(m, s)) in vals.iter().enumerate() {
            let others: Vec<_> = vals.iter().enumerate().filter(|(j, _)| *j != k).collect();
            let mo = others.iter().map(|(_, v)| v.0).sum::<f64>() / 3.0;
            let so = (others.iter().map(|(_, v)| v.1 * v.1).sum::<f64>()).sqrt() / 3.0;
            println!("{what} target {k}: {m:.4e} ± {s:.1e} (others {mo:.4e} ± {so:.1e})");
            assert!(
                (m - mo).abs() <= 4.0 * (s * s + so * so).sqrt(),
                "{what} target {k} ({:?}): {m:e} ± {s:e} vs others {mo:e} ± {so:e}",
                targets[k]
            );
        }
    }
}

/// CELLDOSE single-cell nucleus doses [Gy] for (nuclide, source) from the data file.
fn celldose(nuclide: &str, configuration: &str) -> Vec<(String, f64)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/celldose_alcocer2020.csv");
    let text = std::fs::read_to_string(&path).expect("reference file celldose_alcocer2020.csv");
    let rows: Vec<(String, f64)> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("nuclide"))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f.len() == 4 && f[0] == nuclide && f[1] == configuration)
                .then(|| (f[2].to_string(), f[3].parse().expect("dose")))
        })
        .collect();
    assert!(
        !rows.is_empty(),
        "no {nuclide} {configuration} rows in {}",
        path.display()
    );
    rows
}

#[test]
fn single_cell_nucleus_doses_match_celldose() {
    // R_C 7 µm, R_N 5 µm, electrons only; D = S × 1436 MeV / (electron energy per decay).
    // Criterion as in xfire-transport's cellular test: |D − D_ref| ≤ 5 % + 3σ.
    let nuclides: &[&str] = if slow() {
        &["Lu-177", "Tb-161"]
    } else {
        &["Tb-161"]
    };
    for &name in nuclides {
        let mut req = Request::new(name, 7e-4, 5e-4, vec![]).unwrap();
        req.radiations = RadiationSet::electrons();
        let sampler = EmissionSampler::new(&req.nuclide, req.radiations).unwrap();
        let opts = McOptions {
            decays: if slow() { 100_000 } else { 6_000 },
            voxel_cm: Some(0.25e-4),
            ..Default::default()
        };
        let physics = physics_for(&req, false).unwrap();
        let layout = Layout::new(&req, &[], 0.25e-4, 5e-4).unwrap();
        let runs = TableRuns::of_layout(&layout, &spec(&physics, &sampler, &opts)).unwrap();
        let row = runs.row(0, None);
        let csda = csda_table(&req).unwrap();
        let decays_per_run = 1436.0 / sampler.mean_energy_per_decay_mev();
        for (src, want) in celldose(name, "single") {
            let col = match src.as_str() {
                "N" => 0,
                "Cy" => 1,
                "CS" => 2,
                _ => continue,
            };
            let d = row.s_gy_per_bq_s[col] * decays_per_run;
            let sigma = d * row.rel_unc[col];
            let dc = csda[0].s_gy_per_bq_s[col] * decays_per_run;
            println!(
                "{name} N<-{src}: mc {d:.3} Gy ± {:.2} % ({:+.1} %), csda {dc:.3} Gy ({:+.1} %), CELLDOSE {want}",
                100.0 * row.rel_unc[col],
                100.0 * (d / want - 1.0),
                100.0 * (dc / want - 1.0)
            );
            assert!(
                (d - want).abs() <= 0.05 * want + 3.0 * sigma,
                "{name} N<-{src}: {d} Gy ± {sigma} vs CELLDOSE {want}"
            );
        }
    }
}

#[test]
fn cluster_nucleus_doses_match_celldose() {
    // CELLDOSE Table 3: central cell of 19 touching cells (R_C 7, R_N 5 µm; 6 first and 12
    // second neighbours, read as a simple cubic lattice: sc:2 at 14 and 19.8 µm), every cell
    // labelled, 1436 MeV of electron energy per cell; dose to the central nucleus.
    let nuclides: &[&str] = if slow() {
        &["Lu-177", "Tb-161"]
    } else {
        &["Tb-161"]
    };
    let lattice = xfire_cell::cluster::Cluster::parse("sc:2", 1.0).unwrap();
    let cluster = xfire_cell::cluster::ClusterSpec::Lattice(lattice);
    for &name in nuclides {
        let shells = lattice.shells(7e-4);
        let mut req = Request::new(name, 7e-4, 5e-4, shells.iter().map(|s| s.0).collect()).unwrap();
        req.radiations = RadiationSet::electrons();
        let sampler = EmissionSampler::new(&req.nuclide, req.radiations).unwrap();
        let opts = McOptions {
            decays: if slow() { 50_000 } else { 4_000 },
            voxel_cm: Some(if slow() { 0.25e-4 } else { 0.5e-4 }),
            ..Default::default()
        };
        let (rows, _) = xfire_cell::averaged::mc_table(&req, &opts).unwrap();
        let csda_rows = csda_table(&req).unwrap();
        let per_run = 1436.0 / sampler.mean_energy_per_decay_mev();
        let (vn, vc) = (5f64.powi(3), 7f64.powi(3));
        // column mixes: CS, Cy, N, and C = (V_N·N + V_Cy·Cy)/V_C of the nucleus target
        let mix = |src: &str| -> Vec<(usize, f64)> {
            match src {
                "N" => vec![(0, 1.0)],
                "Cy" => vec![(1, 1.0)],
                "CS" => vec![(2, 1.0)],
                _ => vec![(0, vn / vc), (1, (vc - vn) / vc)],
            }
        };
        for (src, want) in celldose(name, "cluster") {
            let m = mix(&src);
            let total = |rows: &[xfire_cell::Row]| {
                let d = xfire_cell::cluster::cluster_dose(&cluster, 7e-4, rows).unwrap();
                let t = d.total();
                let v: f64 = m.iter().map(|&(k, w)| w * t[k]).sum();
                let s2: f64 = m.iter().map(|&(k, w)| (w * d.sigma[k]).powi(2)).sum();
                (v * per_run, s2.sqrt() * per_run)
            };
            let (d, sigma) = total(&rows);
            let (dc, _) = total(&csda_rows);
            println!(
                "{name} cluster N<-{src}: mc {d:.3} Gy ± {:.2} % ({:+.1} %), csda {dc:.3} Gy ({:+.1} %), CELLDOSE {want}",
                100.0 * sigma / d,
                100.0 * (d / want - 1.0),
                100.0 * (dc / want - 1.0)
            );
            assert!(
                (d - want).abs() <= 0.05 * want + 3.0 * sigma,
                "{name} cluster N<-{src}: {d} Gy ± {sigma} vs CELLDOSE {want}"
            );
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let req = Request::new("Lu-177", 5e-4, 3e-4, vec![]).unwrap();
    let ring = [
        [10e-4, 0.0, 0.0],
        [-5e-4, 8.660254e-4, 0.0],
        [-5e-4, -8.660254e-4, 0.0],
    ];
    let layout = Layout::new(&req, &ring, 0.5e-4, 2e-4).unwrap();
    let sampler = EmissionSampler::new(&req.nuclide, RadiationSet::ALL).unwrap();
    let physics = physics_for(&req, false).unwrap();
    let q = quantities(&layout);
    let run = |threads: usize| {
        let opts = McOptions {
            threads,
            ..Default::default()
        };
        run_source(&layout, &spec(&physics, &sampler, &opts), 0, &q, 0, 3_500).unwrap()
    };
    let (one, two) = (run(1), run(2));
    assert_eq!(one, two);
    assert_eq!(one.decays, 3_500);
    // the table (nested grid, all distances from the same decays) likewise
    let req = Request::new("Lu-177", 5e-4, 3e-4, vec![10e-4, 30e-4]).unwrap();
    let table = |threads: usize| {
        let opts = McOptions {
            threads,
            decays: 1_500,
            voxel_cm: Some(0.5e-4),
            ..Default::default()
        };
        xfire_cell::averaged::mc_table(&req, &opts).unwrap().0
    };
    assert_eq!(table(1), table(2));
}

#[test]
fn target_uncertainty_runs_until_every_s_value_reaches_it() {
    // 211At α lines only, self row: 200 decays first, then as many as the 3 % target needs
    let mut req = Request::new("At-211", 5e-4, 3e-4, vec![]).unwrap();
    req.radiations = RadiationSet::alpha();
    let opts = McOptions {
        decays: 200,
        target_rel_unc: Some(0.03),
        voxel_cm: Some(0.5e-4),
        ..Default::default()
    };
    let (rows, runs) = xfire_cell::averaged::mc_table(&req, &opts).unwrap();
    for (k, u) in rows[0].rel_unc.iter().enumerate() {
        assert!(*u <= 0.03, "column {k}: {u}");
    }
    assert!(runs.tallies.iter().all(|t| t.decays > 200));
}

#[test]
fn averaged_exact_spheres_match_explicit_neighbour_cells() {
    // The table's estimator (every direction, exact spheres, all distances from the same
    // decays) against voxelised neighbour cells on a ring around the source cell (177Lu, all
    // emissions, cells of 5/3 µm, neighbours at 12 and 20 µm): each S value within 4σ + 2 %
    // (voxelised against exact target spheres).
    let req = Request::new("Lu-177", 5e-4, 3e-4, vec![12e-4, 20e-4]).unwrap();
    let decays = if slow() { 200_000 } else { 20_000 };
    let opts = McOptions {
        decays,
        ..Default::default()
    };
    let (rows, runs) = xfire_cell::averaged::mc_table(&req, &opts).unwrap();
    assert!(runs.tallies.iter().all(|t| t.max_imbalance_rel < 1e-9));
    let sampler = EmissionSampler::new(&req.nuclide, RadiationSet::ALL).unwrap();
    let physics = physics_for(&req, false).unwrap();
    for (i, d) in [12e-4, 20e-4].into_iter().enumerate() {
        let k = (std::f64::consts::PI / (5e-4f64 / d).asin()).floor() as usize;
        let ring: Vec<[f64; 3]> = (0..k)
            .map(|j| {
                let a = 2.0 * std::f64::consts::PI * j as f64 / k as f64;
                [d * a.cos(), d * a.sin(), 0.0]
            })
            .collect();
        let layout = Layout::new(&req, &ring, 0.3e-4, 5e-4).unwrap();
        let cells = TableRuns::of_layout(&layout, &spec(&physics, &sampler, &opts)).unwrap();
        let want = cells.row(0, Some(d));
        let got = &rows[i + 1];
        for c in 0..5 {
            let (a, b) = (got.s_gy_per_bq_s[c], want.s_gy_per_bq_s[c]);
            let sigma = ((a * got.rel_unc[c]).powi(2) + (b * want.rel_unc[c]).powi(2)).sqrt();
            println!(
                "{} µm column {c}: averaged {a:.4e} ± {:.2} %, {k} cells {b:.4e} ± {:.2} % ({:+.2} %, {:.1}σ)",
                d * 1e4,
                100.0 * got.rel_unc[c],
                100.0 * want.rel_unc[c],
                100.0 * (a / b - 1.0),
                (a - b) / sigma
            );
            assert!((a - b).abs() <= 4.0 * sigma + 0.02 * b, "{d} column {c}");
        }
    }
}

#[test]
fn the_coarse_grid_holds_the_fine_grid_for_any_voxel() {
    use xfire_cell::averaged::{coarse_voxel, AveragedLayout};
    for distances in [vec![], vec![10e-4], vec![10e-4, 100e-4]] {
        let req = Request::new("Lu-177", 5e-4, 3e-4, distances.clone()).unwrap();
        for h in [0.2e-4, 0.3e-4, 1.2e-4, 1.4e-4, 1.5e-4, 2.3e-4] {
            let margin = 5e-4;
            let d_max = distances.iter().copied().fold(0.0, f64::max);
            let coarse = coarse_voxel(&req, h, d_max, margin);
            assert!(coarse >= h && coarse >= 1.5e-4);
            let l = AveragedLayout::new(&req, h, margin, coarse)
                .unwrap_or_else(|e| panic!("voxel {h}, distances {distances:?}: {e}"));
            assert_eq!(l.weights.n_quantities, 2 + 2 * distances.len());
        }
    }
}
