//! Transport across a micrometre grid nested in a millimetre grid (docs/validation.md,
//! "Nested grids"): energy balance per history across both grids, the same energy in fixed
//! regions as one fine grid for 1 MeV electrons crossing the interface many times, and the
//! Fano test (uniform activity per gram, two densities: every micro voxel's dose N·E/M, face
//! layers included).

use xfire_data::materials::builtin;
use xfire_data::nuclides::{library, EmissionSampler, Particle, RadiationSet};
use xfire_phantom::{
    BoxSource, Geometry, Grid, MaterialEntry, Nested, Phantom, SourceBox, SourceMap,
};
use xfire_physics::condensed::CondensedParams;
use xfire_physics::csda::ElectronModel;
use xfire_tally::{RegionMap, TallyResult};
use xfire_transport::*;

mod common;
use common::{assert_balance, slow};

fn uniform(grid: Grid, material: &str, density: f64) -> Phantom {
    let mut p = Phantom::uniform(
        grid,
        MaterialEntry {
            name: material.into(),
            density_g_cm3: density,
        },
        0,
    );
    p.density_g_cm3.fill(density as f32);
    p
}

/// Activity proportional to the mass each voxel owns (uniform per gram over both grids).
fn per_gram(n: &Nested) -> SourceMap {
    SourceMap {
        name: "per_gram".into(),
        method: "voxel mass".into(),
        weight: (0..n.len()).map(|v| n.voxel_mass_g(v) as f32).collect(),
    }
}

fn condensed(p: &Phantom, alpha: bool) -> PhysicsTables {
    PhysicsTables::for_phantom(p, &builtin, alpha)
        .unwrap()
        .with_condensed(CondensedParams::default())
        .unwrap()
}

/// A 120 µm micro box (6 µm voxels: water with a bone cube) cutting the voxels of a
/// 1.5 mm macro grid of soft tissue (100 µm voxels), both ways off the macro faces.
fn mixed_nested() -> Nested {
    let mut micro = uniform(
        Grid::new([20, 20, 20], [6e-4; 3], [-0.0037, -0.0051, -0.0044]).unwrap(),
        "water",
        1.0,
    );
    let bone = micro.material_or_add("bone_cortical", 1.92).unwrap();
    for k in 5..9 {
        for j in 5..9 {
            for i in 5..9 {
                let v = micro.grid.index(i, j, k);
                micro.material[v] = bone;
                micro.density_g_cm3[v] = 1.92;
            }
        }
    }
    let outer = uniform(
        Grid::centred([15, 15, 15], [0.01; 3]).unwrap(),
        "soft_tissue_icru",
        1.03,
    );
    Nested::new(micro, outer).unwrap()
}

fn run_nested(setup: &TransportSetup, n: &Nested, extra: Vec<RegionMap>) -> TallyResult {
    let layout = nested_layout(n, extra).unwrap();
    run(setup, &layout, &|_| {}).unwrap()
}

/// Energy balance per history to 1e-9 across both grids: 177Lu (all radiations, both electron
/// models), every member of the 225Ac chain (α, recoils, β, photons) and 131I.
#[test]
fn energy_is_conserved_across_both_grids() {
    let n = mixed_nested();
    let phys = condensed(&n.micro, true);
    let map = per_gram(&n);
    let lib = library();
    let mut cases: Vec<(&str, u64)> = vec![("Lu-177", 2000), ("I-131", 2000)];
    for m in [
        "Ac-225", "Fr-221", "At-217", "Bi-213", "Po-213", "Tl-209", "Pb-209",
    ] {
        cases.push((m, 300));
    }
    for (name, decays) in cases {
        let s = EmissionSampler::new(lib.resolve(name).unwrap(), RadiationSet::ALL).unwrap();
        let mut setup =
            TransportSetup::nested(&n, &phys, Source::Map(&map), Emitter::Nuclide(&s), decays);
        setup.electron_model = ElectronModel::CondensedHistory;
        setup.alpha_straggling = true;
        setup.seed = 11;
        let r = run_nested(&setup, &n, vec![]);
        assert_balance(&r);
        println!("{name}: max imbalance {:.1e}", r.max_history_imbalance_rel);
        let micro: f64 = r.voxel_sum[..n.grid.n_micro()].iter().sum();
        let outer: f64 = r.voxel_sum[n.grid.n_micro()..].iter().sum();
        assert!(micro > 0.0 && outer > 0.0, "{name}: {micro} {outer}");
        if name == "Lu-177" {
            setup.electron_model = ElectronModel::CsdaStraightLine;
            assert_balance(&run_nested(&setup, &n, vec![]));
        }
    }
}

/// Cubic shell (L∞ distance from the origin in units of `w`, rounded) of every voxel centre.
fn shells(centres: impl Iterator<Item = [f64; 3]>, w: f64, n: usize) -> RegionMap {
    let of: Vec<u32> = centres
        .map(|c| {
            let d = c[0].abs().max(c[1].abs()).max(c[2].abs());
            (((d + 0.5 * w) / w).floor() as usize).min(n - 1) as u32
        })
        .collect();
    RegionMap::new("shell", of, n).unwrap()
}

fn prepare(mut s: TransportSetup<'_>) -> TransportSetup<'_> {
    s.electron_model = ElectronModel::CondensedHistory;
    s.seed = 5;
    s.batch_size = 100;
    s
}

/// 1 MeV electrons from a point inside a 500 µm micro box of 50 µm voxels nested in a water
/// grid of 500 µm voxels deposit the same energy in cubic shells (unions of macro voxels) as
/// in one grid of 50 µm water voxels (3σ), crossing the interface many times.
#[test]
fn electrons_crossing_the_interface_match_one_fine_grid() {
    let h = 0.05;
    let micro = uniform(
        Grid::new([10, 10, 10], [0.005; 3], [-0.025; 3]).unwrap(),
        "water",
        1.0,
    );
    let outer = uniform(Grid::centred([9, 9, 9], [h; 3]).unwrap(), "water", 1.0);
    let n = Nested::new(micro, outer).unwrap();
    let fine = uniform(
        Grid::centred([90, 90, 90], [0.005; 3]).unwrap(),
        "water",
        1.0,
    );
    let phys = condensed(&fine, false);
    let e = Emitter::Mono {
        particle: Particle::Electron,
        energy_mev: 1.0,
    };
    let point = Source::Point([0.0011, 0.0007, -0.0013]);
    let decays = 3000;
    let nest_setup = prepare(TransportSetup::nested(&n, &phys, point, e, decays));
    let g = &n.grid;
    let centres = (0..g.n_voxels()).map(|v| {
        if v < g.n_micro() {
            g.micro().centre(v)
        } else {
            g.outer().centre(v - g.n_micro())
        }
    });
    let a = run_nested(&nest_setup, &n, vec![shells(centres, h, 5)]);
    assert_balance(&a);
    let fine_setup = prepare(TransportSetup::new(&fine, &phys, point, e, decays));
    let layout = phantom_layout(
        &fine,
        vec![shells(
            (0..fine.grid.len()).map(|v| fine.grid.centre(v)),
            h,
            5,
        )],
    )
    .unwrap();
    let b = run(&fine_setup, &layout, &|_| {}).unwrap();
    for k in 0..5 {
        let (ea, eb) = (a.region_mean_mev(2, k), b.region_mean_mev(2, k));
        let sa = ea * a.region_rel_unc(2, k);
        let sb = eb * b.region_rel_unc(2, k);
        let z = (ea - eb) / (sa * sa + sb * sb).sqrt();
        println!("shell {k}: nested {ea:.5} ± {sa:.5}, fine {eb:.5} ± {sb:.5} MeV (z {z:.2})");
        assert!(z.abs() < 3.0, "shell {k}: z = {z}");
    }
    let (ea, eb) = (a.escaped_mev_per_decay(), b.escaped_mev_per_decay());
    println!("escaped: nested {ea:.5}, fine {eb:.5} MeV");
    assert!((ea - eb).abs() < 0.02, "{ea} vs {eb}");
}

/// The electron reach cut (macro electrons that cannot reach the micro box deposit their
/// energy on the spot) leaves the micro tallies as they are: 177Lu electrons uniform per
/// gram within 0.7 mm of a 200 µm micro box in a 3.1 mm water grid, micro energy outside
/// and inside its central 100 µm with and without the cut within 3σ, energy conserved
/// either way.
#[test]
fn the_electron_reach_cut_leaves_the_micro_tallies_unchanged() {
    let micro = uniform(
        Grid::new([10, 10, 10], [0.002; 3], [-0.0093, -0.0107, -0.0101]).unwrap(),
        "water",
        1.0,
    );
    let outer = uniform(
        Grid::centred([31, 31, 31], [0.01; 3]).unwrap(),
        "water",
        1.0,
    );
    let n = Nested::new(micro, outer).unwrap();
    let phys = condensed(&n.micro, false);
    // activity per gram within 0.7 mm of the centre (L∞): decays beyond every 177Lu β range
    // add nothing to compare
    let mut map = per_gram(&n);
    for v in n.grid.n_micro()..n.len() {
        let c = n.grid.outer().centre(v - n.grid.n_micro());
        if c.iter().any(|x| x.abs() > 0.07) {
            map.weight[v] = 0.0;
        }
    }
    let lu = EmissionSampler::new(
        library().resolve("Lu-177").unwrap(),
        RadiationSet::electrons(),
    )
    .unwrap();
    let g = &n.grid;
    let centre = |v: usize| {
        let c = g.micro().centre(v);
        u32::from(v < g.n_micro() && c.iter().all(|x| x.abs() < 0.005)) + u32::from(v < g.n_micro())
    };
    let zones = RegionMap::new("zone", (0..g.n_voxels()).map(centre).collect(), 3).unwrap();
    let run_with = |cut: bool| {
        let mut s = prepare(TransportSetup::nested(
            &n,
            &phys,
            Source::Map(&map),
            Emitter::Nuclide(&lu),
            if slow() { 1_000_000 } else { 100_000 },
        ));
        s.batch_size = 1000;
        s.electron_reach_cut = cut;
        let r = run_nested(&s, &n, vec![zones.clone()]);
        assert_balance(&r);
        r
    };
    let (on, off) = (run_with(true), run_with(false));
    // zone 1: the micro box outside its centre; zone 2: its central 100 µm
    for k in [1, 2] {
        let (a, b) = (on.region_mean_mev(2, k), off.region_mean_mev(2, k));
        let (sa, sb) = (a * on.region_rel_unc(2, k), b * off.region_rel_unc(2, k));
        let z = (a - b) / (sa * sa + sb * sb).sqrt();
        println!("zone {k}: cut {a:.4e} ± {sa:.1e}, no cut {b:.4e} ± {sb:.1e} MeV (z {z:.2})");
        assert!(z.abs() < 3.0, "zone {k}: z = {z}");
        assert!(sa < [0.0, 0.06, 0.15][k] * a, "zone {k}: σ {sa} of {a}");
    }
}

/// The Fano geometry of the two tests below: a 150 µm micro box of water at 1.0 g/cm³
/// (10 µm voxels) off-centre in a 450 µm macro grid of water at 1.2 g/cm³ (50 µm voxels),
/// the box cutting macro voxels and covering the central one.
fn fano_geometry() -> Nested {
    let micro = uniform(
        Grid::new([15, 15, 15], [0.001; 3], [-0.0077, -0.0069, -0.0081]).unwrap(),
        "water",
        1.0,
    );
    let outer = uniform(Grid::centred([9, 9, 9], [0.005; 3]).unwrap(), "water", 1.2);
    Nested::new(micro, outer).unwrap()
}

/// The Fano test across the interface: 100 keV electrons emitted uniformly per gram in a
/// 150 µm micro box of water at 1.0 g/cm³ (10 µm voxels) and the 450 µm macro grid of water
/// at 1.2 g/cm³ (50 µm voxels) around it, the box cutting macro voxels and covering the
/// central one. Every point of the box is farther than the electron range (143 µm at
/// 1 g/cm³) from the edge of the source, so the dose everywhere in the box is E/M (mass of
/// the whole source): checked for the face layer of micro voxels (where interface errors
/// show), the interior, and the whole box, each within 3σ and 3 % (slow: 1 %).
#[test]
fn fano_test_dose_is_uniform_across_the_interface() {
    let n = fano_geometry();
    let phys = condensed(&n.micro, false);
    let map = per_gram(&n);
    let e0 = 0.1;
    let e = Emitter::Mono {
        particle: Particle::Electron,
        energy_mev: e0,
    };
    // fast: 10^5 decays (σ ≈ 1.4 % on the box); slow: 2·10^6 (σ ≈ 0.3 %)
    let (decays, tol) = if slow() {
        (2_000_000, 0.01)
    } else {
        (100_000, 0.03)
    };
    let mut setup = TransportSetup::nested(&n, &phys, Source::Map(&map), e, decays);
    setup.electron_model = ElectronModel::CondensedHistory;
    setup.seed = 7;
    // regions: 0 macro, 1 face layer of the micro box, 2 its interior
    let of: Vec<u32> = (0..n.len())
        .map(|v| {
            if v >= n.grid.n_micro() {
                return 0;
            }
            let ijk = n.micro.grid.ijk(v);
            if ijk.iter().any(|&c| c == 0 || c == 14) {
                1
            } else {
                2
            }
        })
        .collect();
    let layers = RegionMap::new("layer", of, 3).unwrap();
    let masses = nested_region_masses_g(&n, &layers);
    let total: f64 = masses.iter().sum();
    let r = run_nested(&setup, &n, vec![layers]);
    assert_balance(&r);
    let expect = e0 / total; // MeV per gram per decay
    let check = |what: &str, mean: f64, rel: f64, mass: f64| {
        let d = mean / mass;
        let z = (d - expect) / (d * rel);
        println!(
            "{what}: {:.5} MeV/g per decay vs E/M {:.5} ({:+.2} %, z {z:.2})",
            d,
            expect,
            100.0 * (d / expect - 1.0)
        );
        assert!(z.abs() < 3.0 && (d / expect - 1.0).abs() < tol, "{what}");
    };
    check(
        "face layer",
        r.region_mean_mev(2, 1),
        r.region_rel_unc(2, 1),
        masses[1],
    );
    check(
        "interior",
        r.region_mean_mev(2, 2),
        r.region_rel_unc(2, 2),
        masses[2],
    );
    let box_e: f64 = r.region_mean_mev(2, 1) + r.region_mean_mev(2, 2);
    let rel = (r.region_rel_unc(2, 1).powi(2) * r.region_mean_mev(2, 1).powi(2)
        + r.region_rel_unc(2, 2).powi(2) * r.region_mean_mev(2, 2).powi(2))
    .sqrt()
        / box_e;
    check("micro box", box_e, rel, masses[1] + masses[2]);
}

/// A [`Source::Boxes`] finer than the voxels: the Fano geometry above, its micro voxels by
/// weight and every macro voxel's owned space as pieces (the six slabs around the micro box
/// where it cuts a voxel), each cut in eight, with weight per unit mass. Uniform per gram as
/// the voxel map, so the dose of the micro box is E/M within 3σ and 3 %.
#[test]
fn a_box_source_finer_than_the_voxels_keeps_the_fano_dose() {
    let n = fano_geometry();
    let phys = condensed(&n.micro, false);
    let nm = n.grid.n_micro();
    let mut src = BoxSource {
        name: "pieces".into(),
        voxel_weight: per_gram(&n).weight,
        boxes: Vec::new(),
    };
    src.voxel_weight[nm..].fill(0.0);
    for v in 0..n.outer.grid.len() {
        for (lo, hi) in n.grid.owned_boxes(v) {
            let mid: Vec<f64> = (0..3).map(|a| 0.5 * (lo[a] + hi[a])).collect();
            for o in 0..8 {
                let (mut l, mut h) = (lo, hi);
                for a in 0..3 {
                    if o >> a & 1 == 0 {
                        h[a] = mid[a];
                    } else {
                        l[a] = mid[a];
                    }
                }
                let b = SourceBox {
                    lo: l,
                    hi: h,
                    voxel: nm + v,
                    weight: 0.0,
                };
                let w = b.volume_cm3() * n.density_g_cm3[nm + v] as f64;
                src.boxes.push(SourceBox { weight: w, ..b });
            }
        }
    }
    let total_mass: f64 = (0..n.len()).map(|v| n.voxel_mass_g(v)).sum();
    assert!((src.total_weight() / total_mass - 1.0).abs() < 1e-6);
    let e0 = 0.1;
    let e = Emitter::Mono {
        particle: Particle::Electron,
        energy_mev: e0,
    };
    let mut setup = TransportSetup::nested(&n, &phys, Source::Boxes(&src), e, 100_000);
    setup.electron_model = ElectronModel::CondensedHistory;
    setup.seed = 11;
    let of: Vec<u32> = (0..n.len()).map(|v| (v < nm) as u32).collect();
    let in_box = RegionMap::new("box", of, 2).unwrap();
    let masses = nested_region_masses_g(&n, &in_box);
    let r = run_nested(&setup, &n, vec![in_box]);
    assert_balance(&r);
    let d = r.region_mean_mev(2, 1) / masses[1];
    let expect = e0 / total_mass;
    let z = (d / expect - 1.0) / r.region_rel_unc(2, 1);
    println!(
        "box source: micro box {:+.2} % vs E/M (z {z:.2})",
        100.0 * (d / expect - 1.0)
    );
    assert!(z.abs() < 3.0 && (d / expect - 1.0).abs() < 0.03);
}

/// Set-up errors: a nested setup through `Engine::new`, a source weight on the macro voxel
/// the micro box covers, a source map of the micro grid's length only.
#[test]
fn nested_setup_errors_name_the_problem() {
    let micro = uniform(
        Grid::new([10, 10, 10], [0.001; 3], [-0.005; 3]).unwrap(),
        "water",
        1.0,
    );
    let outer = uniform(Grid::centred([3, 3, 3], [0.01; 3]).unwrap(), "water", 1.0);
    let n = Nested::new(micro, outer).unwrap();
    let phys = condensed(&n.micro, false);
    let e = Emitter::Mono {
        particle: Particle::Electron,
        energy_mev: 0.1,
    };
    let s = TransportSetup::nested(&n, &phys, Source::Point([0.0; 3]), e, 10);
    let msg = Engine::new(&s).unwrap_err().to_string();
    assert!(msg.contains("Engine::new_nested"), "{msg}");
    Engine::new_nested(&s).unwrap();
    // the micro box is the central macro voxel exactly: that voxel owns no space
    let mut map = per_gram(&n);
    assert_eq!(map.weight[1000 + 13], 0.0);
    let s = TransportSetup::nested(&n, &phys, Source::Map(&map), e, 10);
    Engine::new_nested(&s).unwrap();
    map.weight[1000 + 13] = 1.0;
    let s = TransportSetup::nested(&n, &phys, Source::Map(&map), e, 10);
    let msg = Engine::new_nested(&s).unwrap_err().to_string();
    assert!(
        msg.contains("weight at voxel 1013, which the micro grid covers"),
        "{msg}"
    );
    let short = SourceMap {
        name: "micro_only".into(),
        method: String::new(),
        weight: vec![1.0; 1000],
    };
    let s = TransportSetup::nested(&n, &phys, Source::Map(&short), e, 10);
    let msg = Engine::new_nested(&s).unwrap_err().to_string();
    assert!(msg.contains("1000 weights for 1027 voxels"), "{msg}");
    // box sources: a box in its voxel's space is accepted; one reaching into the micro box
    // or beyond its voxel is refused, naming it
    let b = |lo: [f64; 3], hi: [f64; 3], voxel: usize| BoxSource {
        name: "b".into(),
        voxel_weight: Vec::new(),
        boxes: vec![SourceBox {
            lo,
            hi,
            voxel,
            weight: 1.0,
        }],
    };
    // macro voxel 1000 + 12 spans x in [-0.015, -0.005], y, z in [-0.005, 0.005]
    let good = b([-0.015, -0.005, -0.005], [-0.005, 0.005, 0.005], 1012);
    let s = TransportSetup::nested(&n, &phys, Source::Boxes(&good), e, 10);
    Engine::new_nested(&s).unwrap();
    for bad in [
        b([-0.015, -0.005, -0.005], [-0.004, 0.005, 0.005], 1012),
        b([-0.016, -0.005, -0.005], [-0.006, 0.005, 0.005], 1012),
    ] {
        let s = TransportSetup::nested(&n, &phys, Source::Boxes(&bad), e, 10);
        let msg = Engine::new_nested(&s).unwrap_err().to_string();
        assert!(msg.contains("box 0") && msg.contains("voxel 1012"), "{msg}");
    }
    // a setup whose phantom is not the nested micro phantom
    let other = n.micro.clone();
    let mut s = TransportSetup::new(&other, &phys, Source::Point([0.0; 3]), e, 10);
    s.nested = Some(&n);
    let msg = Engine::new_nested(&s).unwrap_err().to_string();
    assert!(msg.contains("nested micro phantom"), "{msg}");
}
