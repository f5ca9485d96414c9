//! Voxel S values (VSVs) of the condensed-history electron model against ompMC (EGSnrc physics)
//! (docs/validation.md, "Voxel S values"): 177Lu electrons (β + IC + Auger, ICRP 107,
//! `RadiationSet::electrons()`) and 90Y β (`RadiationSet::beta()`), decays uniform in the
//! central voxel of a uniform box of water or ICRU four-component soft tissue
//! (`soft_tissue_icru`, ρ = 1.0), 2, 4 and 6 mm voxels. Criteria: the self voxel within 2 % and
//! the six face neighbours (class (1,0,0)) within 5 % of ompMC, or within 3σ (combined) where
//! that is wider. References: `tests/data/ompmc_vsv_<lu177e|y90b>_<2|4|6>mm_<water|tissue>.csv`
//! (scripts/ompmc_vsv_media.py, same emissions in both codes); a missing file fails its test.
//! Fast statistics always; the full set with `XFIRE_SLOW_TESTS=1`. The table:
//! `cargo test --release -p xfire-transport --test vsv -- --nocapture --test-threads 1`.

use xfire_data::materials::builtin;
use xfire_data::nuclides::{library, EmissionSampler, RadiationSet};
use xfire_phantom::{Grid, MaterialEntry, Phantom};
use xfire_physics::condensed::CondensedParams;
use xfire_physics::csda::ElectronModel;
use xfire_tally::RegionMap;
use xfire_transport::*;

mod common;
use common::{load_reference, slow};

/// One compared class: (case, class name, voxels, xfire MeV/decay per voxel, ompMC per voxel,
/// relative deviation, combined relative σ, tolerance, pass, deviation per emitted MeV).
type Row = (
    String,
    &'static str,
    usize,
    f64,
    f64,
    f64,
    f64,
    f64,
    bool,
    f64,
);

/// Runs one case and compares its self and face classes (a missing reference panics).
fn vsv_case(
    nuclide: &str,
    tag: &str,
    set: RadiationSet,
    voxel_mm: u32,
    medium: &str,
    decays: u64,
    seed: u64,
) -> Vec<Row> {
    let med = if medium == "water" {
        "water"
    } else {
        "soft_tissue_icru"
    };
    let name = format!("vsv_{tag}_{voxel_mm}mm_{medium}");
    let re = load_reference(&name);
    assert!((re.voxel_cm - 0.1 * voxel_mm as f64).abs() < 1e-9, "{name}");
    let n = re.grid;
    let grid = Grid::centred([n, n, n], [re.voxel_cm; 3]).unwrap();
    let p = Phantom::uniform(
        grid,
        MaterialEntry {
            name: med.into(),
            density_g_cm3: 1.0,
        },
        0,
    );
    let phys = PhysicsTables::for_phantom(&p, &builtin, false)
        .unwrap()
        .with_condensed(CondensedParams::default())
        .unwrap();
    let nuc = library().resolve(nuclide).unwrap();
    let sampler = EmissionSampler::new(nuc, set).unwrap();
    let c = n / 2;
    // region 0: the source voxel; 1: its six face neighbours; 2: the rest
    let of_voxel = (0..p.grid.len())
        .map(|v| {
            let d: usize = p.grid.ijk(v).iter().map(|&a| a.abs_diff(c)).sum();
            d.min(2) as u32
        })
        .collect();
    let map = RegionMap::new("vsv", of_voxel, 3).unwrap();
    let mut setup = TransportSetup::new(
        &p,
        &phys,
        Source::Voxel(p.grid.index(c, c, c)),
        Emitter::Nuclide(&sampler),
        decays,
    );
    setup.electron_model = ElectronModel::CondensedHistory;
    setup.seed = seed;
    setup.batch_size = 1000;
    let layout = phantom_layout(&p, vec![map]).unwrap();
    let m = layout.region_index("vsv").unwrap();
    let t0 = std::time::Instant::now();
    let r = run(&setup, &layout, &|_| {}).unwrap();
    let dt = t0.elapsed().as_secs_f64();
    // energy conservation per history
    assert!(r.max_history_imbalance_rel < 1e-9, "{name}");
    let (e, d) = (
        r.emitted_mev_per_decay(),
        r.deposited_mev_per_decay() + r.escaped_mev_per_decay(),
    );
    assert!((e - d).abs() < 1e-9 * e, "{name}: {e} vs {d}");
    let e_mean = sampler.mean_energy_per_decay_mev();
    println!(
        "{name}: {n}³ × {voxel_mm} mm {med}, {decays} decays in {dt:.2} s; emitted per decay: \
         xfire {e:.5} MeV (sampler mean {e_mean:.5}), ompMC sample {:.5} ({:+.2} % vs the sampler mean)",
        re.emitted,
        (re.emitted / e_mean - 1.0) * 100.0
    );
    let mut rows = Vec::new();
    for (region, cls, what, tol) in [(0, (0, 0, 0), "self", 0.02), (1, (1, 0, 0), "face", 0.05)] {
        let (nv, e_ref, s_ref) = re.class(cls).expect("class in the reference");
        let e_x = r.region_mean_mev(m, region);
        let s_x = e_x * r.region_rel_unc(m, region);
        let dev = e_x / e_ref - 1.0;
        let sig = (s_x * s_x + s_ref * s_ref).sqrt() / e_ref;
        let pass = dev.abs() <= f64::max(tol, 3.0 * sig);
        rows.push((
            name.clone(),
            what,
            nv,
            e_x / nv as f64,
            e_ref / nv as f64,
            dev,
            sig,
            tol,
            pass,
            (e_x / e) / (e_ref / re.emitted) - 1.0,
        ));
    }
    rows
}

/// Runs the cases of one nuclide in both media and all voxel sizes, prints the table and
/// fails on any class outside its criterion.
fn check(nuclide: &str, tag: &str, set: RadiationSet, decays: [(u32, u64, u64); 3]) {
    let mut rows = Vec::new();
    let mut seed = 100;
    for medium in ["water", "tissue"] {
        for &(mm, fast, slow_n) in &decays {
            seed += 1;
            let n = if slow() { slow_n } else { fast };
            rows.extend(vsv_case(nuclide, tag, set, mm, medium, n, seed));
        }
    }
    println!("energy per decay per voxel [MeV], class mean; σ: xfire and ompMC combined; tol: max(criterion, 3σ); \
         dev/E: deviation of the energy per emitted MeV (information, not tested)");
    println!(
        "{:<24} {:<5} {:>2} {:>12} {:>12} {:>8} {:>7} {:>5}  {:<6} {:>8}",
        "case", "class", "n", "xfire", "ompMC", "dev %", "σ %", "tol %", "result", "dev/E %"
    );
    for r in &rows {
        println!(
            "{:<24} {:<5} {:>2} {:>12.5e} {:>12.5e} {:>+8.2} {:>7.2} {:>5.1}  {:<6} {:>+8.2}",
            r.0,
            r.1,
            r.2,
            r.3,
            r.4,
            r.5 * 100.0,
            r.6 * 100.0,
            f64::max(r.7, 3.0 * r.6) * 100.0,
            if r.8 { "pass" } else { "FAIL" },
            r.9 * 100.0
        );
    }
    let fails: Vec<String> = rows
        .iter()
        .filter(|r| !r.8)
        .map(|r| {
            format!(
                "{} {}: {:+.2} % (σ {:.2} %)",
                r.0,
                r.1,
                r.5 * 100.0,
                r.6 * 100.0
            )
        })
        .collect();
    assert!(fails.is_empty(), "{fails:?}");
}

/// 177Lu electrons (β + IC + Auger): 7³ × 2 mm, 7³ × 4 mm, 5³ × 6 mm, water and soft tissue.
#[test]
fn lu177_electron_voxel_s_values_match_ompmc() {
    check(
        "Lu-177",
        "lu177e",
        RadiationSet::electrons(),
        [
            (2, 150_000, 2_000_000),
            (4, 150_000, 2_000_000),
            (6, 150_000, 2_000_000),
        ],
    );
}

/// 90Y β: 15³ × 2 mm, 9³ × 4 mm, 7³ × 6 mm, water and soft tissue.
#[test]
fn y90_beta_voxel_s_values_match_ompmc() {
    check(
        "Y-90",
        "y90b",
        RadiationSet::beta(),
        [
            (2, 60_000, 1_000_000),
            (4, 60_000, 1_000_000),
            (6, 60_000, 1_000_000),
        ],
    );
}
