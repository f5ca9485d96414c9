//! The condensed-history electron model in the voxel transport (docs/validation.md,
//! "Electron condensed history"): energy conservation per history, water/bone interface,
//! voxel-size and step-parameter independence, and comparison with the ompMC (EGSnrc)
//! reference point kernels in `tests/data/` (a missing reference file fails its test).
//! Fast checks always; the full set with `XFIRE_SLOW_TESTS=1`.

use xfire_data::materials::builtin;
use xfire_data::nuclides::{library, EmissionSampler, Particle, RadiationSet};
use xfire_phantom::{Grid, MaterialEntry, Phantom};
use xfire_physics::condensed::CondensedParams;
use xfire_physics::csda::ElectronModel;
use xfire_tally::TallyResult;
use xfire_transport::*;

mod common;
use common::{assert_balance, load_cubes, load_reference, slow};

fn water_phantom(n: usize, voxel_cm: f64) -> Phantom {
    medium_phantom(n, voxel_cm, "water", 1.0)
}

fn medium_phantom(n: usize, voxel_cm: f64, material: &str, density_g_cm3: f64) -> Phantom {
    let grid = Grid::centred([n, n, n], [voxel_cm; 3]).unwrap();
    Phantom::uniform(
        grid,
        MaterialEntry {
            name: material.into(),
            density_g_cm3,
        },
        0,
    )
}

/// ICRU 44 inflated lung as in the PEGS4 file of the ompMC references (`LUNG521ICRU`: its mass
/// fractions, 0.26 g/cm³; I = 75.3 eV, ICRU 37/44 lung), next to the built-ins.
const LUNG_ICRU44: &str = r#"
[materials.lung_icru44]
density_g_cm3 = 0.26
mean_excitation_ev = 75.3
composition = { H = 0.103, C = 0.105, N = 0.031, O = 0.749, Na = 0.002, P = 0.002, S = 0.003, Cl = 0.003, K = 0.002 }
source = "PEGS4 521icru medium LUNG521ICRU (ompMC 0.4.0 wheel): ICRU Report 44 lung, inflated"
"#;

/// Built-in materials and the test material `lung_icru44`.
fn resolve(name: &str) -> Option<xfire_data::materials::Material> {
    builtin(name).or_else(|| {
        xfire_data::materials::parse_user_materials_toml(LUNG_ICRU44)
            .ok()?
            .into_iter()
            .find(|m| m.name == name)
    })
}

/// Runs a point source at the grid centre with the condensed-history model.
fn run_point(
    p: &Phantom,
    emitter: Emitter,
    decays: u64,
    params: CondensedParams,
    seed: u64,
) -> TallyResult {
    run_source(p, emitter, decays, params, seed, false)
}

/// Runs a point source at the grid centre, or (`in_voxel`) decays uniform in the central voxel.
fn run_source(
    p: &Phantom,
    emitter: Emitter,
    decays: u64,
    params: CondensedParams,
    seed: u64,
    in_voxel: bool,
) -> TallyResult {
    let phys = PhysicsTables::for_phantom(p, &resolve, false)
        .unwrap()
        .with_condensed(params)
        .unwrap();
    let mut setup = TransportSetup::new(
        p,
        &phys,
        if in_voxel {
            let c = p.grid.dims().map(|d| d / 2);
            Source::Voxel(p.grid.index(c[0], c[1], c[2]))
        } else {
            Source::Point(centre(p))
        },
        emitter,
        decays,
    );
    setup.electron_model = ElectronModel::CondensedHistory;
    setup.seed = seed;
    setup.batch_size = 1000;
    let layout = phantom_layout(p, vec![]).unwrap();
    run(&setup, &layout, &|_| {}).unwrap()
}

fn centre(p: &Phantom) -> [f64; 3] {
    let c = p.grid.dims().map(|d| d / 2);
    p.grid.centre_ijk(c[0], c[1], c[2])
}

#[test]
fn energy_is_conserved_in_every_history() {
    let p = water_phantom(21, 0.01);
    let r = run_point(
        &p,
        Emitter::Mono {
            particle: Particle::Electron,
            energy_mev: 1.0,
        },
        2000,
        CondensedParams::default(),
        3,
    );
    assert_balance(&r);
    println!(
        "1 MeV e-, 21^3 x 100 um: deposited {:.5}, escaped {:.5} (photons {:.5})",
        r.deposited_mev_per_decay(),
        r.escaped_mev_per_decay(),
        r.escaped_photon_mev_per_decay()
    );
    assert!(r.escaped_photon_mev_per_decay() > 0.0);
    let lu = library().resolve("Lu-177").unwrap();
    let s = EmissionSampler::new(lu, RadiationSet::electrons()).unwrap();
    let r = run_point(
        &p,
        Emitter::Nuclide(&s),
        5000,
        CondensedParams::default(),
        4,
    );
    assert_balance(&r);
}

/// A water/bone interface: a 0.5 MeV electron point source in water 0.3 mm from a bone
/// half-space. Invariant: the energy deposited in the water voxels plus the bone voxels plus
/// escape equals the emission for every history, and splitting bone into two materials of
/// the same composition (bone and "bone" at another density via the voxel density) gives
/// the same result as one material with per-voxel densities — a material change must
/// not bias the transport. Checked: the energy deposited in bone with the bone half-space
/// made of two identical materials (forced step breaks at every material change) equals
/// that with one material, within 3σ.
#[test]
fn water_bone_interface_has_no_step_break_artefact() {
    let n = 31;
    let h = 0.005;
    let base = water_phantom(n, h);
    let mut one = base.clone();
    let bone = one.material_or_add("bone_cortical", 1.92).unwrap();
    let mut two = one.clone();
    // a second, identical bone material (the name resolves to the same composition)
    let bone_b = {
        let k = two.materials.len();
        two.materials.push(MaterialEntry {
            name: "bone_cortical".into(),
            density_g_cm3: 1.92,
        });
        k as u8
    };
    for v in 0..base.grid.len() {
        let [i, j, k] = base.grid.ijk(v);
        if i >= n / 2 + 6 {
            one.material[v] = bone;
            one.density_g_cm3[v] = 1.92;
            two.material[v] = if (i + j + k) % 2 == 0 { bone } else { bone_b };
            two.density_g_cm3[v] = 1.92;
        }
    }
    let decays = if slow() { 400_000 } else { 60_000 };
    let em = Emitter::Mono {
        particle: Particle::Electron,
        energy_mev: 0.5,
    };
    let seed = 11;
    let mut out = Vec::new();
    for p in [&one, &two] {
        // energy in bone as one region, so that σ is the history-by-history one (a sum of
        // per-voxel variances would ignore the correlation between voxels)
        let map = xfire_tally::RegionMap::new(
            "bone",
            p.material.iter().map(|&m| u32::from(m != 0)).collect(),
            2,
        )
        .unwrap();
        let phys = PhysicsTables::for_phantom(p, &builtin, false)
            .unwrap()
            .with_condensed(CondensedParams::default())
            .unwrap();
        let mut setup = TransportSetup::new(p, &phys, Source::Point(centre(p)), em, decays);
        setup.electron_model = ElectronModel::CondensedHistory;
        setup.seed = seed;
        setup.batch_size = 1000;
        let layout = phantom_layout(p, vec![map]).unwrap();
        let m = layout.region_index("bone").unwrap();
        let r = run(&setup, &layout, &|_| {}).unwrap();
        assert_balance(&r);
        let e_bone = r.region_mean_mev(m, 1);
        out.push((e_bone, e_bone * r.region_rel_unc(m, 1)));
    }
    let (a, sa) = out[0];
    let (b, sb) = out[1];
    let z = (a - b) / (sa * sa + sb * sb).sqrt();
    println!("energy in bone: one material {a:.5} ± {sa:.5}, checkerboard of two {b:.5} ± {sb:.5} MeV ({z:+.2}σ)");
    assert!(a > 0.01);
    assert!(z.abs() < 3.0);
}

/// Voxel-size and step-parameter independence: the energy within spheres of a 1 MeV point
/// source (energy inside cubes centred on the source whose faces are voxel faces of both
/// grids) on 150 µm and 50 µm grids, and with f_E, C₁ and C₂ halved, agree within 3σ.
#[test]
fn kernel_is_independent_of_voxel_size_and_step_parameters() {
    let decays = if slow() { 100_000 } else { 10_000 };
    let em = Emitter::Mono {
        particle: Particle::Electron,
        energy_mev: 1.0,
    };
    // half-edges [cm] on the common voxel faces of the 150 µm and 50 µm centred grids
    let radii = [0.0225, 0.0525, 0.0825, 0.1425];
    let mut rows = Vec::new();
    let d = CondensedParams::default();
    let halved = CondensedParams {
        max_loss_fraction: 0.5 * d.max_loss_fraction,
        c1: 0.5 * d.c1,
        c2: 0.5 * d.c2,
        ..d
    };
    for (name, n, h, params) in [
        ("150 um", 21, 0.015, d),
        ("50 um", 63, 0.005, d),
        ("150 um, f_E, C1, C2 halved", 21, 0.015, halved),
    ] {
        let p = water_phantom(n, h);
        let r = run_point(&p, em, decays, params, 21);
        assert_balance(&r);
        let c = centre(&p);
        let mut row = Vec::new();
        for &rad in &radii {
            let (mut s, mut var) = (0.0, 0.0);
            for v in 0..p.grid.len() {
                let [i, j, k] = p.grid.ijk(v);
                let x = p.grid.centre_ijk(i, j, k);
                if (0..3).all(|a| (x[a] - c[a]).abs() < rad) {
                    let m = r.voxel_mean_mev(v);
                    s += m;
                    var += (m * r.voxel_rel_unc(v)).powi(2);
                }
            }
            row.push((s, var.sqrt()));
        }
        println!(
            "{name}: {:?}",
            row.iter()
                .map(|x| format!("{:.4}±{:.4}", x.0, x.1))
                .collect::<Vec<_>>()
        );
        rows.push(row);
    }
    for k in 1..rows.len() {
        for (a, b) in rows[0].iter().zip(&rows[k]) {
            // voxel errors are correlated within a history: inflate by 2 (conservative)
            let s = 2.0 * (a.1 * a.1 + b.1 * b.1).sqrt();
            assert!((a.0 - b.0).abs() < 3.0 * s + 1e-4, "{a:?} vs {b:?}");
        }
    }
}

/// Compares xfire's condensed-history point kernel with an ompMC reference: energy within
/// voxelised spheres (voxel centres within r) for r ≤ 0.9 X90 (X90: the radius holding 90 %
/// of the reference's deposited energy) within 2 % (or 3σ), and per symmetry class of voxels
/// holding ≥ 0.1 % of the energy within 3 % (or 3σ). Returns the failed checks.
fn compare_with_ompmc(
    name: &str,
    emitter: Emitter,
    decays: u64,
    params: CondensedParams,
) -> Vec<String> {
    compare_with_ompmc_within(name, emitter, decays, params, f64::INFINITY)
}

/// As [`compare_with_ompmc`], but only voxel classes whose centre lies within
/// `class_limit_x90` × X90 of the source count towards the class criterion (the others are
/// printed).
fn compare_with_ompmc_within(
    name: &str,
    emitter: Emitter,
    decays: u64,
    params: CondensedParams,
    class_limit_x90: f64,
) -> Vec<String> {
    let re = load_reference(name);
    let p = medium_phantom(re.grid, re.voxel_cm, &re.material, re.density_g_cm3);
    let t0 = std::time::Instant::now();
    let r = run_point(&p, emitter, decays, params, 2026);
    let dt = t0.elapsed().as_secs_f64();
    println!(
        "{name}: {decays} decays in {dt:.2} s ({:.0} decays/s incl. table set-up, {} threads)",
        decays as f64 / dt,
        rayon::current_num_threads()
    );
    assert_balance(&r);
    let c = (re.grid / 2) as i64;
    // xfire classes
    let mut mine = std::collections::HashMap::<(i64, i64, i64), (f64, f64)>::new();
    for v in 0..p.grid.len() {
        let [i, j, k] = p.grid.ijk(v);
        let mut a = [
            (i as i64 - c).abs(),
            (j as i64 - c).abs(),
            (k as i64 - c).abs(),
        ];
        a.sort_unstable_by(|x, y| y.cmp(x));
        let m = r.voxel_mean_mev(v);
        let e = mine.entry((a[0], a[1], a[2])).or_insert((0.0, 0.0));
        e.0 += m;
        e.1 += (m * r.voxel_rel_unc(v)).powi(2);
    }
    let total_ref: f64 = re.classes.iter().map(|c| c.4).sum();
    // cumulative energy within radius
    let mut radii: Vec<i64> = re
        .classes
        .iter()
        .map(|c| c.0 * c.0 + c.1 * c.1 + c.2 * c.2)
        .collect();
    radii.sort_unstable();
    radii.dedup();
    let mut x90 = 0;
    let cum = |r2: i64, use_ref: bool| -> (f64, f64) {
        let (mut s, mut v) = (0.0, 0.0);
        for cl in &re.classes {
            if cl.0 * cl.0 + cl.1 * cl.1 + cl.2 * cl.2 <= r2 {
                if use_ref {
                    s += cl.4;
                    v += cl.5 * cl.5;
                } else {
                    let m = mine[&(cl.0, cl.1, cl.2)];
                    s += m.0;
                    v += m.1;
                }
            }
        }
        (s, v.sqrt())
    };
    for &r2 in &radii {
        if cum(r2, true).0 >= 0.9 * total_ref {
            x90 = r2;
            break;
        }
    }
    let x90_vox = (x90 as f64).sqrt();
    let mut worst_sphere: f64 = 0.0;
    let mut fails = Vec::new();
    println!("{name}: emitted {:.5} MeV, ref deposited {total_ref:.5}, xfire deposited {:.5}; X90 = {:.3} mm", re.emitted, r.deposited_mev_per_decay(), x90_vox * re.voxel_cm * 10.0);
    // The criterion is applied against the reference value with the statistical σ only;
    // ompMC's own grid dependence is reported beside it, not added to σ.
    let sys = reference_grid_systematic(name, re.voxel_cm);
    let sys_note = match sys {
        Some(s) => format!("reference systematic {:.2} %", s * 100.0),
        None => "no ompMC grid study for this case".to_string(),
    };
    println!("  {sys_note} (ompMC's grid dependence; reported, not in σ)");
    for frac in [0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9] {
        let rv = (frac * x90_vox).max(0.0);
        let r2 = (rv * rv).floor() as i64;
        let (a, sa) = cum(r2, false);
        let (b, sb) = cum(r2, true);
        let dev = a / b - 1.0;
        let sig = (sa * sa + sb * sb).sqrt() / b;
        println!(
            "  r = {frac:.2} X90 ({:.4} mm): xfire {a:.5e} ompMC {b:.5e}  {:+.2} % (σ {:.2} %)",
            rv * re.voxel_cm * 10.0,
            dev * 100.0,
            sig * 100.0
        );
        if dev.abs() > 0.02_f64.max(3.0 * sig) {
            let what = format!(
                "sphere {frac} X90: {:+.2} % (σ {:.2} %; {sys_note})",
                dev * 100.0,
                sig * 100.0
            );
            if SPHERES_REPORTED.contains(&name) {
                println!("    outside 2 %/3σ: REPORTED, not asserted (see SPHERES_REPORTED)");
            } else {
                fails.push(what);
            }
        }
        worst_sphere = worst_sphere.max(dev.abs());
    }
    // radial shells (voxel-centre radius in whole voxels) for the record
    let mut shells = vec![(0.0, 0.0); 2 * re.grid];
    for cl in &re.classes {
        let rr = ((cl.0 * cl.0 + cl.1 * cl.1 + cl.2 * cl.2) as f64)
            .sqrt()
            .round() as usize;
        shells[rr].0 += mine[&(cl.0, cl.1, cl.2)].0;
        shells[rr].1 += cl.4;
    }
    let line: Vec<String> = shells
        .iter()
        .enumerate()
        .filter(|(_, s)| s.1 > 1e-3 * total_ref)
        .map(|(i, s)| format!("{i}:{:+.1}%", (s.0 / s.1 - 1.0) * 100.0))
        .collect();
    println!(
        "  shells (radius in voxels: xfire/ompMC − 1): {}",
        line.join(" ")
    );
    let mut worst_voxel: f64 = 0.0;
    let (mut n_cl, mut n_out) = (0, 0);
    let (mut n_beyond, mut out_beyond) = (0, 0);
    for cl in &re.classes {
        if cl.4 < 1e-3 * total_ref {
            continue;
        }
        let m = mine[&(cl.0, cl.1, cl.2)];
        let dev = m.0 / cl.4 - 1.0;
        let sig = (m.1 + cl.5 * cl.5).sqrt() / cl.4;
        let outside = dev.abs() > 0.03_f64.max(3.0 * sig);
        let r_vox = ((cl.0 * cl.0 + cl.1 * cl.1 + cl.2 * cl.2) as f64).sqrt();
        if r_vox > class_limit_x90 * x90_vox {
            n_beyond += 1;
            out_beyond += usize::from(outside);
            continue;
        }
        n_cl += 1;
        if outside {
            n_out += 1;
            if n_out <= 5 {
                println!(
                    "  class ({},{},{}): xfire {:.4e} ompMC {:.4e} {:+.2} % (σ {:.2} %)",
                    cl.0,
                    cl.1,
                    cl.2,
                    m.0,
                    cl.4,
                    dev * 100.0,
                    sig * 100.0
                );
            }
        }
        worst_voxel = worst_voxel.max(dev.abs());
    }
    println!("  voxel classes with >= 0.1 % of the energy: {n_cl}, outside 3 %/3σ: {n_out}; worst |dev| {:.2} %", worst_voxel * 100.0);
    if n_beyond > 0 {
        println!(
            "  classes beyond {class_limit_x90} X90 (not counted): {n_beyond}, outside 3 %/3σ: {out_beyond}"
        );
    }
    // 3σ tests: at most as many classes outside as chance allows (0.27 % each) at 99.9 %
    if n_out > chance_outliers(n_cl) {
        let what = format!("{n_out} of {n_cl} voxel classes outside 3 % / 3σ");
        if CLASSES_REPORTED.contains(&name) {
            println!("  {what}: REPORTED, not asserted (see CLASSES_REPORTED)");
        } else {
            fails.push(what);
        }
    }
    println!("  worst sphere |dev| {:.2} %", worst_sphere * 100.0);
    fails.into_iter().map(|f| format!("{name}: {f}")).collect()
}

/// The largest number k of `n` independent 3σ checks that chance puts outside (p = 0.0027
/// each) with P(more than k) < 10⁻³ (binomial): 1 for n < 18, 2 up to 71, 3 up to 160, 4 up
/// to 275. A fixed-seed test then fails by chance once in a thousand physics changes, not
/// once in twenty-five as with "1 % of the classes" at n ≈ 115.
fn chance_outliers(n: usize) -> usize {
    let p = 0.0027_f64;
    let (mut term, mut cdf) = ((1.0 - p).powi(n as i32), 0.0);
    for k in 0..=n {
        cdf += term;
        if 1.0 - cdf < 1e-3 {
            return k;
        }
        term *= (n - k) as f64 / (k + 1) as f64 * p / (1.0 - p);
    }
    n
}

#[test]
fn chance_outliers_is_the_binomial_quantile() {
    assert_eq!(chance_outliers(1), 1);
    assert_eq!(chance_outliers(17), 1);
    assert_eq!(chance_outliers(24), 2);
    assert_eq!(chance_outliers(115), 3);
    assert_eq!(chance_outliers(228), 4);
}

/// Cases whose sphere comparison (2 % or 3σ, against the reference value) is reported, not
/// asserted, with the reason. e200_bone (21³ × 30 µm): on this grid ompMC's own energy in the
/// central 90 µm cube is 1.74 % below its value on a 90 µm grid (`ompmc_cubes_e200_bone.csv`),
/// the size of the 2 % tolerance, as for the fine-grid mono-energetic kernels that are not run
/// as checks; at 8·10⁵ decays xfire lies +0.9 … +2.2 % above ompMC's spheres (+2.15 %, +2.22 %
/// at 0.3 and 0.5 X90) and 3 of 24 inner classes +3.4 … +3.7 % above, while on ompMC's 90 µm
/// grid the same cube agrees to +0.01 % (`cube_energies_match_ompmc_grid_study`, which is the
/// asserted bone check). Its classes are in [`CLASSES_REPORTED`].
const SPHERES_REPORTED: [&str; 1] = ["e200_bone"];

/// Cases whose voxel-class count (outside 3 %/3σ beyond [`chance_outliers`]) is reported, not
/// asserted, with the reason. y90b (41³ × 0.5 mm): at full statistics (4·10⁵ decays) 3 of 158
/// classes lie outside, +4.2 % and +5.2 % at 1.6–2 mm (xfire above ompMC near the source) and
/// −15.7 % at 5.4 mm (below, at the track ends): the pattern of ompMC's own voxel-size
/// dependence, 1.06 % in the central cube on this grid (`ompmc_cubes_y90b.csv`); on ompMC's
/// coarse grid xfire agrees within 0.4 % (`cube_energies_match_ompmc_grid_study`). The
/// spheres stay asserted. e200_bone: see [`SPHERES_REPORTED`].
const CLASSES_REPORTED: [&str; 2] = ["y90b", "e200_bone"];

/// Cases with an ompMC grid-convergence study (`tests/data/ompmc_cubes_<name>.csv`,
/// scripts/ompmc_grid_study.py and scripts/ompmc_media_kernels.py).
const GRID_STUDIES: [&str; 10] = [
    "e100",
    "e500",
    "e1000",
    "lu177e",
    "y90b",
    "e2000_water",
    "e200_bone",
    "e1000_lung",
    "lu177e_lung",
    "i131e_water",
];

/// The reference's systematic relative uncertainty on the grid of voxel edge `voxel_cm`: how
/// much ompMC's energy in the innermost cube of its grid study changes between the coarsest
/// grid and this one (docs/validation.md "Reference artefact"); `None` when the case has no
/// grid study or the study does not cover this grid. Reported beside the criterion, never
/// added to σ.
fn reference_grid_systematic(name: &str, voxel_cm: f64) -> Option<f64> {
    if !GRID_STUDIES.contains(&name) {
        return None;
    }
    let rows = load_cubes(name);
    let (_, coarse) = rows.iter().find(|r| r.2 == 0).map(|r| (r.0, r.4))?;
    let here = rows
        .iter()
        .find(|r| r.2 == 0 && (r.0 / voxel_cm - 1.0).abs() < 1e-6)
        .map(|r| r.4)?;
    Some((here / coarse - 1.0).abs())
}

/// EGSnrc's model with AE = 10 keV: no straggling of the sub-threshold (continuous) loss.
fn like_egsnrc() -> CondensedParams {
    CondensedParams {
        straggling: false,
        ..CondensedParams::default()
    }
}

fn mono(e: f64) -> Emitter<'static> {
    Emitter::Mono {
        particle: Particle::Electron,
        energy_mev: e,
    }
}

/// 50 keV electrons against ompMC on its reference grid (41³ × 3 µm), like with like: EGSnrc
/// with AE = 10 keV has no straggling of the sub-threshold loss, so xfire runs without it here
/// (the default model has it; its effect on the track ends is checked against an explicit
/// 1 keV-cutoff simulation in `soft_straggling_reproduces_explicit_low_cutoff_simulation`).
#[test]
fn point_kernel_matches_ompmc_50_kev() {
    let decays = if slow() { 400_000 } else { 40_000 };
    let fails = compare_with_ompmc("e050", mono(0.05), decays, like_egsnrc());
    assert!(fails.is_empty(), "{fails:?}");
}

/// 100 keV, 500 keV and 1 MeV against ompMC on 41³ grids of 10 µm, 0.1 mm and 0.25 mm. Not a
/// valid check at the 2 % level: on these grids ompMC's own kernel depends on its voxel size
/// (energy in a fixed cube 2.2–3 % lower than on a grid 9× coarser, where xfire and ompMC agree
/// within 0.3 %; `cube_energies_match_ompmc_grid_study`, docs/validation.md "Reference
/// artefact"). Kept to print the comparison:
/// `cargo test --release -p xfire-transport --test condensed -- --ignored --nocapture`.
#[test]
#[ignore = "reference artefact: ompMC's kernel depends on its voxel size here (see cube_energies_match_ompmc_grid_study)"]
fn point_kernels_match_ompmc_fine_grids_100_kev_to_1_mev() {
    let decays = if slow() { 400_000 } else { 40_000 };
    let mut fails = Vec::new();
    for (name, e) in [("e100", 0.1), ("e500", 0.5), ("e1000", 1.0)] {
        fails.extend(compare_with_ompmc(
            name,
            mono(e),
            decays,
            CondensedParams::default(),
        ));
    }
    assert!(fails.is_empty(), "{fails:?}");
}

/// 177Lu electrons (β + IC + Auger, ICRP 107), 81³ × 50 µm: energy within spheres within 2 %
/// and voxel classes within 3 % / 3σ of ompMC.
#[test]
fn point_kernel_matches_ompmc_lu177_electrons() {
    let lu = library().resolve("Lu-177").unwrap();
    let s = EmissionSampler::new(lu, RadiationSet::electrons()).unwrap();
    let decays = if slow() { 2_000_000 } else { 100_000 };
    let fails = compare_with_ompmc(
        "lu177e",
        Emitter::Nuclide(&s),
        decays,
        CondensedParams::default(),
    );
    assert!(fails.is_empty(), "{fails:?}");
}

/// 161Tb electrons (81³ × 50 µm) and 90Y β (41³ × 0.5 mm): energy within spheres within 2 %
/// and voxel classes within 3 % / 3σ of ompMC (90Y classes reported, not asserted:
/// [`CLASSES_REPORTED`]).
#[test]
fn point_kernels_match_ompmc_tb161_electrons_and_y90_beta() {
    let mut fails = Vec::new();
    for (name, nuc, set, fast, slow_n) in [
        (
            "tb161e",
            "Tb-161",
            RadiationSet::electrons(),
            100_000,
            2_000_000,
        ),
        ("y90b", "Y-90", RadiationSet::beta(), 20_000, 400_000),
    ] {
        let n = library().resolve(nuc).unwrap();
        let s = EmissionSampler::new(n, set).unwrap();
        let decays = if slow() { slow_n } else { fast };
        fails.extend(compare_with_ompmc(
            name,
            Emitter::Nuclide(&s),
            decays,
            CondensedParams::default(),
        ));
    }
    assert!(fails.is_empty(), "{fails:?}");
}

/// Cases outside the issue's list, against ompMC on grids of voxel ≈ X90/10 (where ompMC's own
/// voxel-size dependence is still about 1 % near the source): 2 MeV electrons in water, 200 keV electrons
/// in ICRP cortical bone (1.85 g/cm³), 1 MeV electrons and 177Lu electrons in inflated ICRU-44
/// lung (0.26 g/cm³), 131I electrons (β + IC + Auger) in water. Spheres within 2 % (or 3σ,
/// statistical) of the reference value up to 0.9 X90 as for the listed kernels; voxel classes
/// within 3 %/3σ up to 0.7 X90 (e200_bone reported, not asserted: [`SPHERES_REPORTED`]). Beyond, at the
/// track ends, ompMC's kernel depends most on its voxel size (2 MeV, shells at 8–11 mm:
/// xfire/ompMC − 1 = −0.8 % on a 3 mm grid, −2.6 … −3.5 % on 2 mm, −5 … −11 % on 1 mm; the
/// central cube moves by 0.9–1.7 %, `ompmc_cubes_<case>.csv`, printed beside the result as
/// the reference systematic, not added to σ). References: `scripts/ompmc_media_kernels.py`.
#[test]
fn point_kernels_match_ompmc_in_bone_lung_and_at_2_mev() {
    let lu = EmissionSampler::new(
        library().resolve("Lu-177").unwrap(),
        RadiationSet::electrons(),
    )
    .unwrap();
    let i131 = EmissionSampler::new(
        library().resolve("I-131").unwrap(),
        RadiationSet::electrons(),
    )
    .unwrap();
    let mut fails = Vec::new();
    for (name, emitter, fast, slow_n) in [
        ("e2000_water", mono(2.0), 10_000, 400_000),
        ("e200_bone", mono(0.2), 20_000, 800_000),
        ("e1000_lung", mono(1.0), 10_000, 400_000),
        ("lu177e_lung", Emitter::Nuclide(&lu), 40_000, 1_500_000),
        ("i131e_water", Emitter::Nuclide(&i131), 40_000, 1_500_000),
    ] {
        let decays = if slow() { slow_n } else { fast };
        fails.extend(compare_with_ompmc_within(
            name,
            emitter,
            decays,
            CondensedParams::default(),
            0.7,
        ));
    }
    assert!(fails.is_empty(), "{fails:?}");
}

/// Voxel S values (decays uniform in the central 4 mm voxel of water): self voxel within
/// 2 % and face neighbours within 5 % of ompMC (or 3σ).
#[test]
fn voxel_s_values_match_ompmc() {
    let mut fails = Vec::new();
    for (name, nuc, set) in [
        ("vsv_lu177e_4mm", "Lu-177", RadiationSet::electrons()),
        ("vsv_y90b_4mm", "Y-90", RadiationSet::beta()),
    ] {
        let re = load_reference(name);
        let n = library().resolve(nuc).unwrap();
        let s = EmissionSampler::new(n, set).unwrap();
        let decays = if slow() { 1_000_000 } else { 50_000 };
        let p = water_phantom(re.grid, re.voxel_cm);
        let r = run_source(
            &p,
            Emitter::Nuclide(&s),
            decays,
            CondensedParams::default(),
            7,
            true,
        );
        assert_balance(&r);
        let c = re.grid / 2;
        for (cls, tol, what) in [((0, 0, 0), 0.02_f64, "self"), ((1, 0, 0), 0.05, "face")] {
            let refc = re.classes.iter().find(|x| (x.0, x.1, x.2) == cls).unwrap();
            let (mut e, mut v) = (0.0, 0.0);
            for vox in 0..p.grid.len() {
                let [i, j, k] = p.grid.ijk(vox);
                let mut a = [
                    (i as i64 - c as i64).abs(),
                    (j as i64 - c as i64).abs(),
                    (k as i64 - c as i64).abs(),
                ];
                a.sort_unstable_by(|x, y| y.cmp(x));
                if (a[0], a[1], a[2]) == cls {
                    let m = r.voxel_mean_mev(vox);
                    e += m;
                    v += (m * r.voxel_rel_unc(vox)).powi(2);
                }
            }
            let dev = e / refc.4 - 1.0;
            let sig = (v + refc.5 * refc.5).sqrt() / refc.4;
            println!(
                "{name} {what} ({} voxels): xfire {:.5e} ompMC {:.5e} MeV/decay  {:+.2} % (σ {:.2} %)",
                refc.3,
                e / refc.3 as f64,
                refc.4 / refc.3 as f64,
                dev * 100.0,
                sig * 100.0
            );
            if dev.abs() > tol.max(3.0 * sig) {
                fails.push(format!("{name} {what}: {:+.2} %", dev * 100.0));
            }
        }
    }
    assert!(fails.is_empty(), "{fails:?}");
}

/// xfire's energy per decay [MeV] and its σ in the centred cubes of half-width `half_cm`
/// in `medium` (xfire material, density g/cm³) (one region map per cube, so the uncertainty
/// is the history-by-history one).
fn cube_energies(
    emitter: Emitter,
    medium: (&str, f64),
    (voxel_cm, n): (f64, usize),
    half_cm: &[f64],
    decays: u64,
) -> Vec<(f64, f64)> {
    let p = medium_phantom(n, voxel_cm, medium.0, medium.1);
    let c = n / 2;
    let mut maps = Vec::new();
    for (i, h) in half_cm.iter().enumerate() {
        let k = (h / voxel_cm - 0.5).round() as usize;
        let of_voxel = (0..p.grid.len())
            .map(|v| {
                let ijk = p.grid.ijk(v);
                u32::from(ijk.iter().all(|&a| a.abs_diff(c) <= k))
            })
            .collect();
        maps.push(xfire_tally::RegionMap::new(&format!("cube{i}"), of_voxel, 2).unwrap());
    }
    let phys = PhysicsTables::for_phantom(&p, &resolve, false)
        .unwrap()
        .with_condensed(CondensedParams::default())
        .unwrap();
    let mut setup = TransportSetup::new(&p, &phys, Source::Point(centre(&p)), emitter, decays);
    setup.electron_model = ElectronModel::CondensedHistory;
    setup.seed = 31;
    setup.batch_size = 1000;
    let layout = phantom_layout(&p, maps).unwrap();
    let first = layout.region_index("cube0").unwrap();
    let r = run(&setup, &layout, &|_| {}).unwrap();
    assert_balance(&r);
    (0..half_cm.len())
        .map(|i| {
            let e = r.region_mean_mev(first + i, 1);
            (e, e * r.region_rel_unc(first + i, 1))
        })
        .collect()
}

/// The ompMC grid-convergence study (scripts/ompmc_grid_study.py, docs/validation.md
/// "Reference artefact"; 100 keV, 500 keV, 1 MeV, 177Lu electrons, 90Y β): energy in centred
/// cubes with common faces on three grids (voxel
/// edges H, H/3, H/9). Checks (a) xfire's cube energies do not depend on the grid (4σ + 0.2 %),
/// (b) on the coarsest grid, where ompMC's electrons cross the fewest voxel faces, xfire
/// agrees with ompMC within 2 % (or 3σ). ompMC's own grid dependence is printed: it is the
/// reason the fine-grid mono-energetic comparison above is not a valid check at ≥ 0.5 MeV.
#[test]
fn cube_energies_match_ompmc_grid_study() {
    let lu = library().resolve("Lu-177").unwrap();
    let lu_s = EmissionSampler::new(lu, RadiationSet::electrons()).unwrap();
    let y = library().resolve("Y-90").unwrap();
    let y_s = EmissionSampler::new(y, RadiationSet::beta()).unwrap();
    let mut fails = Vec::new();
    const WATER: (&str, f64) = ("water", 1.0);
    for (name, emitter, medium, fast, slow_n) in [
        ("e100", mono(0.1), WATER, 20_000, 200_000),
        ("e500", mono(0.5), WATER, 20_000, 200_000),
        ("e1000", mono(1.0), WATER, 20_000, 200_000),
        ("lu177e", Emitter::Nuclide(&lu_s), WATER, 40_000, 400_000),
        ("y90b", Emitter::Nuclide(&y_s), WATER, 20_000, 200_000),
        // the asserted check of e200_bone (see SPHERES_REPORTED)
        (
            "e200_bone",
            mono(0.2),
            ("bone_cortical", 1.85),
            20_000,
            200_000,
        ),
    ] {
        let rows = load_cubes(name);
        let decays = if slow() { slow_n } else { fast };
        let mut grids: Vec<(f64, usize)> = rows.iter().map(|r| (r.0, r.1)).collect();
        grids.dedup();
        let halves: Vec<f64> = rows
            .iter()
            .filter(|r| r.1 == grids[0].1)
            .map(|r| r.3)
            .collect();
        let mut mine: Vec<Vec<(f64, f64)>> = Vec::new();
        println!("{name}: cube energy [MeV/decay], xfire vs ompMC on three grids");
        for &(vox, n) in &grids {
            let hs: Vec<f64> = halves
                .iter()
                .copied()
                .filter(|h| (h / vox - 0.5).round() as usize <= n / 2)
                .collect();
            let x = cube_energies(emitter, medium, (vox, n), &hs, decays);
            let mut line = format!("  voxel {:.4} mm:", vox * 10.0);
            for (i, &(e, s)) in x.iter().enumerate() {
                let o = rows
                    .iter()
                    .find(|r| r.1 == n && r.2 == i)
                    .expect("cube row");
                let dev = e / o.4 - 1.0;
                let sig = (s * s + o.5 * o.5).sqrt() / o.4;
                line += &format!(
                    "  [{:.3} mm] xfire {e:.5} ompMC {:.5} {:+.2} % (σ {:.2} %)",
                    o.3 * 10.0,
                    o.4,
                    dev * 100.0,
                    sig * 100.0
                );
                if n == grids[0].1 && dev.abs() > 0.02_f64.max(3.0 * sig) {
                    fails.push(format!(
                        "{name} coarse grid cube {i}: {:+.2} % (σ {:.2} %)",
                        dev * 100.0,
                        sig * 100.0
                    ));
                }
            }
            println!("{line}");
            mine.push(x);
        }
        // xfire is grid-independent
        for i in 0..halves.len() {
            let vals: Vec<(f64, f64)> = mine.iter().filter_map(|m| m.get(i).copied()).collect();
            for w in vals.windows(2) {
                let (a, b) = (w[0], w[1]);
                let d = (a.0 - b.0).abs();
                if d > 4.0 * (a.1 * a.1 + b.1 * b.1).sqrt() + 0.002 * a.0 {
                    fails.push(format!(
                        "{name} cube {i}: xfire differs between grids: {:.5} vs {:.5}",
                        a.0, b.0
                    ));
                }
            }
        }
    }
    assert!(fails.is_empty(), "{fails:?}");
}

/// Energy-loss straggling of the sub-threshold (continuous) loss is physics that EGSnrc with
/// AE = 10 keV leaves out. Check of the model: the default 10 keV model (straggling on) puts
/// the same energy in the outer shells of a 100 keV point kernel (the track ends, beyond
/// 0.7 X90) as an explicit simulation with a 1 keV cutoff, whose continuous loss is tiny,
/// within 7 % per shell; without straggling the outer shells differ by up to −76 %. Shells of one voxel (10 µm) on the e100 grid.
#[test]
fn soft_straggling_reproduces_explicit_low_cutoff_simulation() {
    let decays = if slow() { 400_000 } else { 60_000 };
    let p = water_phantom(41, 0.001);
    let shells = |params: CondensedParams, seed: u64| -> Vec<(f64, f64)> {
        let c = 20usize;
        let of_voxel = (0..p.grid.len())
            .map(|v| {
                let [i, j, k] = p.grid.ijk(v);
                let d2 = [i, j, k]
                    .iter()
                    .map(|&a| (a as f64 - c as f64).powi(2))
                    .sum::<f64>();
                (d2.sqrt().round() as u32).min(30)
            })
            .collect();
        let map = xfire_tally::RegionMap::new("shell", of_voxel, 31).unwrap();
        let phys = PhysicsTables::for_phantom(&p, &builtin, false)
            .unwrap()
            .with_condensed(params)
            .unwrap();
        let mut setup =
            TransportSetup::new(&p, &phys, Source::Point(centre(&p)), mono(0.1), decays);
        setup.electron_model = ElectronModel::CondensedHistory;
        setup.seed = seed;
        setup.batch_size = 1000;
        let layout = phantom_layout(&p, vec![map]).unwrap();
        let m = layout.region_index("shell").unwrap();
        let r = run(&setup, &layout, &|_| {}).unwrap();
        assert_balance(&r);
        (0..31)
            .map(|s| {
                let e = r.region_mean_mev(m, s);
                (e, e * r.region_rel_unc(m, s))
            })
            .collect()
    };
    let default = shells(CondensedParams::default(), 41);
    let explicit = shells(CondensedParams::with_cut(0.001), 42);
    let no_strag = shells(like_egsnrc(), 43);
    // X90 of the explicit simulation
    let total: f64 = explicit.iter().map(|x| x.0).sum();
    let mut acc = 0.0;
    let mut x90 = 0;
    for (i, s) in explicit.iter().enumerate() {
        acc += s.0;
        if acc >= 0.9 * total {
            x90 = i;
            break;
        }
    }
    // shells from 0.7 X90 outwards holding ≥ 0.5 % of the energy: default within 7 % (or 3σ)
    // of the explicit simulation (PENELOPE's artificial loss distributions are exact in mean
    // and variance only: measured ≤ 5.1 % at the track end with 4·10⁵ decays); without
    // straggling at least one shell is not (measured −23 % and −76 %)
    let (mut bad_default, mut bad_nostrag, mut n) = (Vec::new(), 0, 0);
    for i in (x90 * 7 / 10)..31 {
        let (e, s) = explicit[i];
        if e < 5e-3 * total {
            continue;
        }
        let dev = |x: (f64, f64)| {
            let d = x.0 / e - 1.0;
            let sig = (x.1 * x.1 + s * s).sqrt() / e;
            (d, sig, d.abs() > 0.07_f64.max(3.0 * sig))
        };
        let (dd, sd, fd) = dev(default[i]);
        let (dn, sn, fnos) = dev(no_strag[i]);
        println!(
            "shell {i} ({:.0} µm, {:.2} % of the energy): default {:+.1} % (σ {:.1} %), no straggling {:+.1} % (σ {:.1} %)",
            i as f64 * 10.0,
            e / total * 100.0,
            dd * 100.0,
            sd * 100.0,
            dn * 100.0,
            sn * 100.0
        );
        if fd {
            bad_default.push(format!("shell {i}: {:+.1} %", dd * 100.0));
        }
        bad_nostrag += usize::from(fnos);
        n += 1;
    }
    assert!(n >= 4, "too few shells");
    assert!(
        bad_default.is_empty(),
        "default vs explicit 1 keV: {bad_default:?}"
    );
    assert!(bad_nostrag > 0, "straggling made no difference");
}
