//! The condensed-history electron model in the voxel transport (docs/validation.md,
//! "Electron condensed history"): energy conservation per history, water/bone interface,
//! voxel-size and step-parameter independence, and comparison with the ompMC (EGSnrc)
//! reference point kernels in `tests/data/` when present.
//! Fast checks always; the full set with `XFIRE_SLOW_TESTS=1`.

use xfire_data::materials::builtin;
use xfire_data::nuclides::{library, EmissionSampler, Particle, RadiationSet};
use xfire_phantom::{Grid, MaterialEntry, Phantom};
use xfire_physics::condensed::CondensedParams;
use xfire_physics::csda::ElectronModel;
use xfire_tally::TallyResult;
use xfire_transport::*;

fn slow() -> bool {
    std::env::var("XFIRE_SLOW_TESTS").is_ok_and(|v| v == "1")
}

fn water_phantom(n: usize, voxel_cm: f64) -> Phantom {
    let grid = Grid::centred([n, n, n], [voxel_cm; 3]).unwrap();
    Phantom::uniform(
        grid,
        MaterialEntry {
            name: "water".into(),
            density_g_cm3: 1.0,
        },
        0,
    )
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
    let phys = PhysicsTables::for_phantom(p, &builtin, false)
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

fn assert_balance(r: &TallyResult) {
    assert!(
        r.max_history_imbalance_rel < 1e-9,
        "{}",
        r.max_history_imbalance_rel
    );
    let e = r.emitted_mev_per_decay();
    let d = r.deposited_mev_per_decay() + r.escaped_mev_per_decay();
    assert!((e - d).abs() < 1e-9 * e, "{e} vs {d}");
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
    let decays = if slow() { 200_000 } else { 20_000 };
    let em = Emitter::Mono {
        particle: Particle::Electron,
        energy_mev: 0.5,
    };
    let mut out = Vec::new();
    for p in [&one, &two] {
        let r = run_point(p, em, decays, CondensedParams::default(), 11);
        assert_balance(&r);
        let (mut e_bone, mut var) = (0.0, 0.0);
        for v in 0..p.grid.len() {
            if p.material[v] != 0 {
                let m = r.voxel_mean_mev(v);
                e_bone += m;
                var += (m * r.voxel_rel_unc(v)).powi(2);
            }
        }
        out.push((e_bone, var.sqrt()));
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

/// An ompMC reference kernel reduced to symmetry classes (scripts/ompmc_reference.py).
struct Reference {
    voxel_cm: f64,
    grid: usize,
    emitted: f64,
    /// (i, j, k, n voxels, class energy [MeV/decay], its σ)
    classes: Vec<(i64, i64, i64, usize, f64, f64)>,
}

fn load_reference(name: &str) -> Option<Reference> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/data/ompmc_{name}.csv"));
    let text = std::fs::read_to_string(&path).ok()?;
    let mut r = Reference {
        voxel_cm: 0.0,
        grid: 0,
        emitted: 0.0,
        classes: Vec::new(),
    };
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("# ") {
            let mut it = h.split_whitespace();
            match (it.next(), it.next()) {
                (Some("voxel_cm"), Some(v)) => r.voxel_cm = v.parse().ok()?,
                (Some("grid"), Some(v)) => r.grid = v.parse().ok()?,
                (Some("emitted_MeV_per_decay"), Some(v)) => r.emitted = v.parse().ok()?,
                _ => {}
            }
            continue;
        }
        if line.starts_with('i') {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        if f.len() == 6 {
            r.classes.push((
                f[0].parse().ok()?,
                f[1].parse().ok()?,
                f[2].parse().ok()?,
                f[3].parse().ok()?,
                f[4].parse().ok()?,
                f[5].parse().ok()?,
            ));
        }
    }
    Some(r)
}

/// Compares xfire's condensed-history point kernel with an ompMC reference: energy within
/// voxelised spheres (voxel centres within r) for r ≤ 0.9 X90 (X90: the radius holding 90 %
/// of the reference's deposited energy) within 2 % (or 3σ), and per symmetry class of voxels
/// holding ≥ 0.1 % of the energy within 3 % (or 3σ). Returns the failed checks.
fn compare_with_ompmc(name: &str, emitter: Emitter, decays: u64) -> Option<Vec<String>> {
    let Some(re) = load_reference(name) else {
        println!("{name}: no reference file tests/data/ompmc_{name}.csv, skipped");
        return None;
    };
    let p = water_phantom(re.grid, re.voxel_cm);
    let params = CondensedParams {
        straggling: std::env::var("XF_STRAG").map_or(true, |v| v == "1"),
        spin: std::env::var("XF_SPIN").map_or(true, |v| v == "1"),
        ..CondensedParams::default()
    };
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
            fails.push(format!("sphere {frac} X90: {:+.2} %", dev * 100.0));
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
    for cl in &re.classes {
        if cl.4 < 1e-3 * total_ref {
            continue;
        }
        let m = mine[&(cl.0, cl.1, cl.2)];
        let dev = m.0 / cl.4 - 1.0;
        let sig = (m.1 + cl.5 * cl.5).sqrt() / cl.4;
        n_cl += 1;
        if dev.abs() > 0.03_f64.max(3.0 * sig) {
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
    // 3σ tests: allow 1 % of the classes outside (expected ~0.3 % by chance)
    if n_out as f64 > (0.01 * n_cl as f64).max(1.0) {
        fails.push(format!("{n_out} of {n_cl} voxel classes outside 3 % / 3σ"));
    }
    println!("  worst sphere |dev| {:.2} %", worst_sphere * 100.0);
    Some(fails.into_iter().map(|f| format!("{name}: {f}")).collect())
}

fn mono(e: f64) -> Emitter<'static> {
    Emitter::Mono {
        particle: Particle::Electron,
        energy_mev: e,
    }
}

/// Fails at present (docs/validation.md): xfire's kernels are 2–5 % too concentrated
/// within 0.2–0.9 X90 at 0.1–1 MeV (elastic scattering stronger than EGSnrc's).
/// Diagnostics: `XF_STRAG=0` / `XF_SPIN=0` switch straggling / spin correction off,
/// `XF_ONLY=e500` runs one case.
#[test]
#[ignore = "known deviation from the ompMC reference, see docs/validation.md"]
fn point_kernels_match_ompmc_mono_energetic() {
    let decays = if slow() { 400_000 } else { 40_000 };
    let mut fails = Vec::new();
    for (name, e) in [("e050", 0.05), ("e100", 0.1), ("e500", 0.5), ("e1000", 1.0)] {
        if std::env::var("XF_ONLY").is_ok_and(|o| o != name) {
            continue;
        }
        fails.extend(compare_with_ompmc(name, mono(e), decays).unwrap_or_default());
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
    let fails = compare_with_ompmc("lu177e", Emitter::Nuclide(&s), decays).unwrap_or_default();
    assert!(fails.is_empty(), "{fails:?}");
}

/// 161Tb electrons (81³ × 50 µm) and 90Y β (41³ × 0.5 mm). Fails at present: spheres of
/// 161Tb pass (< 1 %) but tail voxel classes are low; 90Y spheres are up to 2.2 % high at
/// 0.5–0.7 X90 (the same too-concentrated kernels as the mono-energetic cases; see
/// docs/validation.md).
#[test]
#[ignore = "known deviation from the ompMC reference, see docs/validation.md"]
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
        fails.extend(compare_with_ompmc(name, Emitter::Nuclide(&s), decays).unwrap_or_default());
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
        let Some(re) = load_reference(name) else {
            println!("{name}: no reference, skipped");
            continue;
        };
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
