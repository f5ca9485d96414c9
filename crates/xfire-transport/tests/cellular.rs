//! Cellular-scale validation of the electron transport (docs/validation.md): one spherical
//! cell in water (cell radius 7 µm, nucleus radius 5 µm) with the electrons of 177Lu and
//! 161Tb (β, conversion and Auger electrons, ICRP 107) on the cell surface, uniform in the
//! cytoplasm or uniform in the nucleus; the absorbed dose to the nucleus is compared with the
//! track-structure code CELLDOSE:
//!
//! Alcocer-Ávila M.E. et al., "Radiation doses from 161Tb and 177Lu in single tumour cells
//! and micrometastases", EJNMMI Physics 7:33 (2020), single-cell nucleus doses for a total
//! electron energy of 1436 MeV (1 MeV per µm³ of the cell) released in the source region.
//!
//! xfire: D_N = (E_N / E) × 1436 MeV / m_N, with E_N the energy deposited in the nucleus per
//! decay, E the exact mean electron energy emitted per decay and m_N the mass of the
//! voxelised nucleus (water, 1 g/cm³). Condensed history with a 1 keV tracking cutoff
//! (δ-ray and bremsstrahlung thresholds 1 keV) is asserted; the CSDA straight-line model
//! (MIRDcell-like), which has no scattering, is shown to fail the same criterion.
//!
//! Fast checks always (0.25 µm voxels in a 24 µm box, 1–2 % statistics, ~6 s); the full set
//! with `XFIRE_SLOW_TESTS=1` (≤ 0.5 % statistics; also 0.5 µm voxels, a 36 µm box, and the
//! 2 keV and 10 keV cutoffs for the record; ~6 min on 2 cores). Print the tables with
//! `--nocapture`.

use xfire_data::materials::builtin;
use xfire_data::nuclides::{library, EmissionSampler, RadiationSet};
use xfire_phantom::{generate, labels, Phantom, Spec};
use xfire_physics::condensed::CondensedParams;
use xfire_physics::csda::ElectronModel;
use xfire_transport::*;

mod common;
use common::assert_balance;

fn slow() -> bool {
    std::env::var("XFIRE_SLOW_TESTS").is_ok_and(|v| v == "1")
}

/// Cell and nucleus radii [µm] of the reference.
const R_CELL_UM: f64 = 7.0;
const R_NUCLEUS_UM: f64 = 5.0;
/// Electron energy released in the source region [MeV] (1 MeV/µm³ × 4/3 π 7³ µm³).
const E_RELEASED_MEV: f64 = 1436.0;
/// J per MeV.
const J_PER_MEV: f64 = 1.602_176_634e-13;

/// CELLDOSE single-cell nucleus doses [Gy] (Alcocer-Ávila et al. 2020).
const REFERENCE: [(&str, [f64; 3]); 2] =
    [("Lu-177", [1.9, 3.0, 10.7]), ("Tb-161", [5.0, 8.3, 38.6])];
/// Source regions, in the order of [`REFERENCE`], as xfire-phantom source-map names.
const REGIONS: [(&str, &str); 3] = [
    ("surface", "tumour_membrane"),
    ("cytoplasm", "tumour_cytoplasm"),
    ("nucleus", "tumour_nucleus"),
];

/// Allowed relative deviation from CELLDOSE (on top of 3σ of xfire's statistics): see
/// `nucleus_doses_match_celldose`.
const TOLERANCE: f64 = 0.05;

/// A single cell (R_C = 7 µm, R_N = 5 µm) centred in a water cube of edge `box_um`
/// with voxels of `voxel_um`; all labels water at 1 g/cm³.
fn cell_phantom(voxel_um: f64, box_um: f64) -> Phantom {
    let text = format!(
        "sources = [\"tumour_membrane\", \"tumour_cytoplasm\", \"tumour_nucleus\"]\n\
         [grid]\nvoxel = \"{voxel_um} um\"\nsize = \"{box_um} um\"\n\
         [cluster]\ncell_radius = \"{R_CELL_UM} um\"\nnucleus_radius = \"{R_NUCLEUS_UM} um\"\n\
         [labels.medium]\nmaterial = \"water\"\ndensity = 1.0\n\
         [labels.tumour_nucleus]\nmaterial = \"water\"\ndensity = 1.0\n\
         [labels.tumour_cytoplasm]\nmaterial = \"water\"\ndensity = 1.0\n"
    );
    let spec = Spec::from_toml(&text).unwrap();
    let p = generate(&spec, &text, &|m| (m == "water").then_some(1.0))
        .unwrap()
        .phantom;
    assert_eq!(p.cells.len(), 1);
    assert!(p.density_g_cm3.iter().all(|&d| d == 1.0));
    p
}

/// One transport run and its nucleus dose.
struct Case {
    /// Nucleus dose for 1436 MeV released [Gy].
    dose_gy: f64,
    /// Its relative standard uncertainty.
    rel_unc: f64,
    /// Wall time [s].
    secs: f64,
}

/// Condensed-history parameters with tracking cutoff and δ-ray / bremsstrahlung thresholds
/// `cut_kev` (1 keV for the validation: the default 10 keV has a 2.5 µm residual range).
fn params(cut_kev: f64) -> CondensedParams {
    let p = CondensedParams::with_cut(1e-3 * cut_kev);
    p.validate().unwrap();
    p
}

fn run_case(
    p: &Phantom,
    phys: &PhysicsTables,
    s: &EmissionSampler,
    source: &str,
    model: ElectronModel,
    decays: u64,
    seed: u64,
) -> Case {
    let map = p.source_map(source).unwrap();
    let mut setup = TransportSetup::new(p, phys, Source::Map(map), Emitter::Nuclide(s), decays);
    setup.electron_model = model;
    setup.seed = seed;
    setup.batch_size = (decays / 50).clamp(100, 10_000);
    let layout = phantom_layout(p, vec![]).unwrap();
    let t0 = std::time::Instant::now();
    let r = run(&setup, &layout, &|_| {}).unwrap();
    let secs = t0.elapsed().as_secs_f64();
    assert_balance(&r);
    let nuc = labels::TUMOUR_NUCLEUS as usize;
    let m_n: f64 = (0..p.grid.len())
        .filter(|&v| p.label[v] == labels::TUMOUR_NUCLEUS)
        .map(|v| p.voxel_mass_g(v))
        .sum();
    let e_n = r.region_mean_mev(0, nuc);
    // the emitted energy per decay: the sampler's exact mean (the sample mean agrees)
    let e = s.mean_energy_per_decay_mev();
    let sample = r.emitted_mev_per_decay();
    assert!((sample / e - 1.0).abs() < 0.1, "{sample} vs {e}");
    let dose_gy = e_n / e * E_RELEASED_MEV * J_PER_MEV / (m_n * 1e-3);
    Case {
        dose_gy,
        rel_unc: r.region_rel_unc(0, nuc),
        secs,
    }
}

/// One row of the table: condensed history and CSDA for one nuclide and source region.
struct Row {
    label: String,
    reference: f64,
    ch: Case,
    csda: Option<Case>,
}

fn print_rows(title: &str, rows: &[Row]) {
    println!("\n{title}");
    println!(
        "{:<34} {:>7} {:>10} {:>7} {:>8} {:>8} {:>8} {:>7} {:>7}",
        "case", "ref Gy", "CH Gy", "σ %", "CH/ref-1", "CSDA Gy", "CSDA/ref", "CH s", "CSDA s"
    );
    for r in rows {
        let (cd, cdr, cds) = match &r.csda {
            Some(c) => (
                format!("{:.3}", c.dose_gy),
                format!("{:+.1}%", (c.dose_gy / r.reference - 1.0) * 100.0),
                format!("{:.1}", c.secs),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:<34} {:>7.1} {:>10.3} {:>7.2} {:>8} {:>8} {:>8} {:>7.1} {:>7}",
            r.label,
            r.reference,
            r.ch.dose_gy,
            r.ch.rel_unc * 100.0,
            format!("{:+.1}%", (r.ch.dose_gy / r.reference - 1.0) * 100.0),
            cd,
            cdr,
            r.ch.secs,
            cds
        );
    }
}

/// Runs every nuclide × source region on one phantom; `decays(nuclide, region)`.
fn run_grid(
    cut_kev: f64,
    voxel_um: f64,
    box_um: f64,
    nuclides: &[&str],
    with_csda: bool,
    decays: &dyn Fn(&str, usize) -> u64,
) -> Vec<Row> {
    let p = cell_phantom(voxel_um, box_um);
    let phys = PhysicsTables::for_phantom(&p, &builtin, false)
        .unwrap()
        .with_condensed(params(cut_kev))
        .unwrap();
    let mut rows = Vec::new();
    for (k, &(nuc, refs)) in REFERENCE.iter().enumerate() {
        if !nuclides.contains(&nuc) {
            continue;
        }
        let s = EmissionSampler::new(library().resolve(nuc).unwrap(), RadiationSet::electrons())
            .unwrap();
        for (i, &(what, map)) in REGIONS.iter().enumerate() {
            let n = decays(nuc, i);
            let seed = 100 + 10 * k as u64 + i as u64;
            let ch = run_case(&p, &phys, &s, map, ElectronModel::CondensedHistory, n, seed);
            let csda = with_csda
                .then(|| run_case(&p, &phys, &s, map, ElectronModel::CsdaStraightLine, n, seed));
            rows.push(Row {
                label: format!("{nuc} {what} ({voxel_um}/{box_um} um, {cut_kev} keV)"),
                reference: refs[i],
                ch,
                csda,
            });
        }
    }
    rows
}

/// The criterion: |D − D_ref| ≤ 5 % D_ref + 3σ. `Some(message)` when `case` fails it.
fn outside_criterion(label: &str, reference: f64, case: &Case) -> Option<String> {
    let dev = case.dose_gy / reference - 1.0;
    let allowed = TOLERANCE + 3.0 * case.rel_unc * case.dose_gy / reference;
    (dev.abs() > allowed).then(|| {
        format!(
            "{label}: {:.3} Gy vs {reference} Gy ({:+.1} %, allowed ±{:.1} %)",
            case.dose_gy,
            dev * 100.0,
            allowed * 100.0
        )
    })
}

/// Checks each condensed-history nucleus dose against CELLDOSE ([`outside_criterion`]).
/// Returns the failures.
fn check(rows: &[Row]) -> Vec<String> {
    rows.iter()
        .filter_map(|r| outside_criterion(&r.label, r.reference, &r.ch))
        .collect()
}

/// Decays per nuclide and source region of the fast runs (~1.5 % statistics).
fn fast_decays(nuclide: &str, region: usize) -> u64 {
    match (nuclide, region) {
        ("Lu-177", 2) => 20_000,
        ("Lu-177", _) => 40_000,
        (_, 2) => 10_000,
        _ => 20_000,
    }
}

/// The geometry: voxelised cell and nucleus volumes, and the source maps, close to the spheres.
#[test]
fn cell_phantom_matches_the_reference_geometry() {
    for h in [0.25, 0.5] {
        let p = cell_phantom(h, 20.0);
        let v_um3 = p.grid.voxel_volume_cm3() * 1e12;
        let count = |l| p.label.iter().filter(|&&x| x == l).count() as f64 * v_um3;
        let vn = count(labels::TUMOUR_NUCLEUS);
        let vc = count(labels::TUMOUR_CYTOPLASM) + vn;
        let sphere = |r: f64| 4.0 / 3.0 * std::f64::consts::PI * r.powi(3);
        println!(
            "{h} um voxels: nucleus {vn:.1} um3 (sphere {:.1}), cell {vc:.1} um3 (sphere {:.1}); membrane map: {}",
            sphere(R_NUCLEUS_UM),
            sphere(R_CELL_UM),
            p.source_map("tumour_membrane").unwrap().method
        );
        assert!((vn / sphere(R_NUCLEUS_UM) - 1.0).abs() < 0.02);
        assert!((vc / sphere(R_CELL_UM) - 1.0).abs() < 0.02);
        // the membrane source lies within one voxel diagonal of the sphere r = R_C
        let m = p.source_map("tumour_membrane").unwrap();
        let c = p.cells.cells[0].centre_cm;
        let mut w_sum = 0.0;
        let mut r_mean = 0.0;
        for (v, &w) in m.weight.iter().enumerate() {
            if w > 0.0 {
                let [i, j, k] = p.grid.ijk(v);
                let x = p.grid.centre_ijk(i, j, k);
                let r = ((0..3).map(|a| (x[a] - c[a]).powi(2)).sum::<f64>()).sqrt() * 1e4;
                assert!((r - R_CELL_UM).abs() < h * 3f64.sqrt(), "{r}");
                w_sum += w as f64;
                r_mean += w as f64 * r;
            }
        }
        r_mean /= w_sum;
        println!("  membrane source: weighted mean voxel-centre radius {r_mean:.3} um");
        assert!((r_mean - R_CELL_UM).abs() < 0.25 * h);
    }
}

/// Nucleus doses of 177Lu and 161Tb electrons from a single cell (surface, cytoplasm,
/// nucleus sources) within 5 % (+ 3σ) of the track-structure code CELLDOSE.
///
/// Why 5 %: it is what the condensed-history model achieves (−1.2 … −4.3 % at ≤ 0.5 %
/// statistics, docs/validation.md), and it rejects the straight-line CSDA model, which has no
/// scattering (−5.2 … −12.7 %; `celldose_criterion_rejects_the_straight_line_model`). The
/// expected differences: CELLDOSE follows every interaction down to ~10 eV, xfire a condensed history
/// stopped at 1 keV (whose residual range, ~0.05 µm in water, is 1/100 of the nucleus
/// radius, so the cutoff itself moves < 1 % of the energy across the nucleus boundary);
/// the cross sections (low-energy stopping powers below ~10 keV differ by 5–10 % between
/// track-structure models and Bethe-based tables, and the condensed-history model has no
/// sub-keV transport), the emission data of the low-energy Auger and conversion electrons,
/// the voxelised spheres (volumes within 1 % at 0.25–0.5 µm) and the surface source smeared
/// over one voxel layer each add a few per cent; the reference is given to two digits (up to
/// ±2.6 % rounding for 1.9 Gy). The 10 keV default cutoff (2.5 µm residual range) fails the
/// cytoplasm sources (about −10 %).
#[test]
fn nucleus_doses_match_celldose() {
    let mut fails = Vec::new();
    let t0 = std::time::Instant::now();
    if slow() {
        // ≤ 0.5 % statistics: the surface and cytoplasm sources put < 1 % of their energy in
        // the nucleus, so they need more decays than the nucleus source (~2.5 %)
        let n = |_: &str, i: usize| if i == 2 { 200_000 } else { 400_000 };
        let rows = run_grid(1.0, 0.25, 24.0, &["Lu-177", "Tb-161"], true, &n);
        print_rows(
            "0.25 um voxels, 24 um box (condensed history 1 keV cutoff; CSDA)",
            &rows,
        );
        fails.extend(check(&rows));
        let rows = run_grid(1.0, 0.5, 24.0, &["Lu-177", "Tb-161"], true, &n);
        print_rows("voxel size: 0.5 um voxels, 24 um box", &rows);
        fails.extend(check(&rows));
        let rows = run_grid(1.0, 0.25, 36.0, &["Lu-177", "Tb-161"], false, &n);
        print_rows("box size: 0.25 um voxels, 36 um box", &rows);
        fails.extend(check(&rows));
        // the cutoff, for the record only (not asserted: 1 keV is the validated setting)
        for cut in [2.0, 10.0] {
            let rows = run_grid(cut, 0.25, 24.0, &["Lu-177", "Tb-161"], false, &n);
            print_rows(&format!("cutoff {cut} keV (not asserted)"), &rows);
        }
    } else {
        // ~1.5 % statistics in a few seconds on 2 cores (CSDA: the next test)
        let rows = run_grid(1.0, 0.25, 24.0, &["Lu-177", "Tb-161"], false, &fast_decays);
        print_rows(
            "fast: 0.25 um voxels, 24 um box (condensed history 1 keV cutoff)",
            &rows,
        );
        fails.extend(check(&rows));
    }
    println!("total {:.1} s", t0.elapsed().as_secs_f64());
    assert!(fails.is_empty(), "{fails:#?}");
}

/// The CELLDOSE criterion discriminates: the straight-line CSDA model (no scattering, no δ
/// rays) on the same cases and statistics as the fast condensed-history check fails it
/// (measured −5 … −13 %, docs/validation.md).
#[test]
fn celldose_criterion_rejects_the_straight_line_model() {
    let p = cell_phantom(0.25, 24.0);
    let phys = PhysicsTables::for_phantom(&p, &builtin, false).unwrap();
    let mut fails = Vec::new();
    let mut n_cases = 0;
    for (k, &(nuc, refs)) in REFERENCE.iter().enumerate() {
        let s = EmissionSampler::new(library().resolve(nuc).unwrap(), RadiationSet::electrons())
            .unwrap();
        for (i, &(what, map)) in REGIONS.iter().enumerate() {
            let seed = 100 + 10 * k as u64 + i as u64;
            let n = fast_decays(nuc, i);
            let c = run_case(&p, &phys, &s, map, ElectronModel::CsdaStraightLine, n, seed);
            println!(
                "CSDA {nuc} {what}: {:.3} Gy vs CELLDOSE {} Gy ({:+.1} %, σ {:.1} %)",
                c.dose_gy,
                refs[i],
                (c.dose_gy / refs[i] - 1.0) * 100.0,
                c.rel_unc * 100.0
            );
            n_cases += 1;
            fails.extend(outside_criterion(&format!("{nuc} {what}"), refs[i], &c));
        }
    }
    println!(
        "CSDA outside the criterion: {} of {n_cases}: {fails:#?}",
        fails.len()
    );
    assert!(
        !fails.is_empty(),
        "the straight-line model passes the CELLDOSE criterion: it does not discriminate"
    );
}
