//! Scenario-level validation (docs/validation.md, "Scenario runs (xfire-scenario)").
//! The two physics checks are slow (XFIRE_SLOW_TESTS=1); the rest run always.

use xfire_scenario::{compute, spec::Scenario, transport_all, Options, Plan};

fn slow() -> bool {
    std::env::var("XFIRE_SLOW_TESTS").is_ok_and(|v| v == "1")
}

fn run(text: &str) -> (Plan, xfire_scenario::RunResult) {
    let s = Scenario::from_text(text, None).unwrap();
    let plan = Plan::new(s).unwrap();
    let tr = transport_all(&plan, &Options::default()).unwrap();
    let r = compute(&plan, &tr).unwrap();
    (plan, r)
}

/// Uniform 177Lu in a water block much larger than the β range (2.6 mm cube; cells in the
/// central 1 mm, 0.8 mm from every face): tumour-cell and lymphocyte doses equal N × E_non-photon / M.
#[test]
fn uniform_lu177_in_a_large_block_gives_n_e_over_m() {
    if !slow() {
        eprintln!("skipped (set XFIRE_SLOW_TESTS=1)");
        return;
    }
    let text = r#"
seed = 3
[phantom.spec]
seed = 5
[phantom.spec.grid]
voxel = "25 um"
size = "2.6 mm"
[phantom.spec.tumour]
shape = "block"
size = "1 mm"
cell_radius = "50 um"
nucleus_radius = "30 um"
packing_fraction = 0.4
[phantom.spec.lymphocytes]
count = 40
radius = "40 um"
nucleus_radius = "25 um"
[agent]
nuclide = "Lu-177"
binding = "uniform"
[kinetics]
clearance = "inf"
activity_concentration = "1 MBq/g"
[regimen]
schedule = "1 MBq"
[lymphocytes]
arrivals = []
[transport]
decays = 4000000
batch_size = 10000
[output]
times = ["7 d"]
maps = []
figures = false
"#;
    let (plan, r) = run(text);
    let lib = xfire_data::nuclides::library();
    let n = lib.get("Lu-177").unwrap();
    use xfire_data::nuclides::Radiation as R;
    let e_mev: f64 = [
        R::BetaMinus,
        R::BetaPlus,
        R::Ic,
        R::Auger,
        R::Alpha,
        R::AlphaRecoil,
    ]
    .iter()
    .map(|x| n.energy_per_decay_mev(*x))
    .sum();
    let m_g: f64 = plan.phantom.voxel_masses_g().iter().sum();
    let decays = r.components[0].total_decays;
    let expected = decays * e_mev * 1.602_176_634e-13 / (m_g * 1e-3);
    let (t, l) = (r.tumour.mean_gy, r.lymphocytes.mean_gy);
    eprintln!(
        "uniform Lu-177: expected {expected:.6} Gy, tumour cells {t:.6} ({:+.3} %), lymphocytes {l:.6} ({:+.3} %), ratio {:.4}, unc {:.3} %",
        100.0 * (t / expected - 1.0),
        100.0 * (l / expected - 1.0),
        t / l,
        100.0 * r.components[0].tumour_rel_unc[0]
    );
    assert!((t / expected - 1.0).abs() < 0.01);
    assert!((l / expected - 1.0).abs() < 0.01);
    assert!((t / l - 1.0).abs() < 0.02);
}

/// Membrane-bound 211At on one tumour cell, a lymphocyte 150 µm away (> 100 µm beyond the
/// longest α range of the chain, 211Po 7.45 MeV ≈ 69 µm): the lymphocyte's α dose is 0.
#[test]
fn alpha_dose_is_zero_beyond_the_alpha_range() {
    if !slow() {
        eprintln!("skipped (set XFIRE_SLOW_TESTS=1)");
        return;
    }
    for nuclide in ["At-211", "Bi-213"] {
        let text = format!(
            r#"
seed = 4
[phantom.spec]
[phantom.spec.grid]
voxel = "2 um"
size = "340 um"
[phantom.spec.cluster]
kind = "tumour"
cell_radius = "8 um"
nucleus_radius = "5 um"
centre = ["-80 um", "0 um", "0 um"]
neighbours = [ {{ distance = "170 um", kind = "lymphocyte", cell_radius = "4 um", nucleus_radius = "3 um", direction = [1.0, 0.0, 0.0] }} ]
[agent]
nuclide = "{nuclide}"
binding = "tumour_membrane"
[kinetics]
clearance = "inf"
decays_per_labelled_cell = 1e4
[lymphocytes]
arrivals = ["0 d"]
[radiobiology]
start_days = "0..3"
[transport]
decays = 100000
[output]
times = ["1 d"]
maps = []
figures = false
"#
        );
        let (_plan, r) = run(&text);
        let tumour_alpha = r.tumour.alpha_gy;
        eprintln!(
            "{nuclide}: tumour cell alpha dose {tumour_alpha:.4e} Gy, lymphocyte alpha dose {:e} Gy, low-LET {:.4e} Gy",
            r.lymphocytes.alpha_gy,
            r.lymphocytes.mean_gy - r.lymphocytes.alpha_gy
        );
        assert!(tumour_alpha > 0.0);
        assert_eq!(r.lymphocytes.alpha_gy, 0.0);
        for c in &r.components {
            assert_eq!(c.lymphocyte_gy_per_decay[1], 0.0, "{c:?}");
        }
    }
}

#[test]
fn every_problem_is_reported_with_its_line() {
    let text = r#"seed = 1
[phantom]
generate = "no-such-file.toml"
[agent]
nuclide = "Ac-226x"
binding = "membrane"
labelled_fraction = 1.5
uptake_sigma = nan
[kinetics]
clearance = [{ fraction = 1, half_time = "-3 h" }]
decays_per_labelled_cell = 10
activity_concentration = "1 MBq/g"
[regimen]
schedule = "7.4 GBq every 6 fortnights x 6"
[transport]
decays = -5
colour = "red"
"#;
    let e = Scenario::from_text(text, None).unwrap_err();
    let xfire_scenario::ScenarioError::Invalid { problems, .. } = &e else {
        panic!("{e}")
    };
    let msg = e.to_string();
    let has = |line: usize, what: &str| {
        problems
            .iter()
            .any(|p| p.line == Some(line) && p.message.contains(what))
    };
    assert!(has(3, "no-such-file"), "{msg}");
    assert!(has(5, "unknown nuclide"), "{msg}");
    assert!(has(7, "labelled_fraction"), "{msg}");
    assert!(has(8, "uptake_sigma"), "{msg}");
    assert!(has(10, "half_time"), "{msg}");
    assert!(has(14, "regimen"), "{msg}");
    assert!(has(16, "transport.decays"), "{msg}");
    assert!(has(17, "unknown key \"transport.colour\""), "{msg}");
    assert!(msg.contains("exactly one amount"), "{msg}");
    assert!(problems.len() >= 9, "{msg}");
}

#[test]
fn uptake_fraction_needs_a_regimen_and_a_tumour_mass() {
    let text = r#"
[phantom]
generate = "x.toml"
[agent]
nuclide = "Lu-177"
binding = "membrane"
[kinetics]
uptake_fraction = 0.01
"#;
    let e = Scenario::from_text(text, None).unwrap_err().to_string();
    assert!(e.contains("needs kinetics.tumour_mass"), "{e}");
    assert!(e.contains("give [regimen]"), "{e}");
}

#[test]
fn unknown_binding_map_is_reported_after_the_phantom_is_built() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phantoms/tiny-lu177.toml"),
    )
    .unwrap()
    .replace(
        "binding = \"tumour_membrane\"",
        "binding = \"label:kidney\"",
    );
    let s = Scenario::from_text(&text, None).unwrap();
    let e = Plan::new(s).unwrap_err().to_string();
    let line = 1 + text
        .lines()
        .position(|l| l.contains("label:kidney"))
        .unwrap();
    assert!(
        e.contains(&format!("line {line}:")) && e.contains("kidney"),
        "{e}"
    );
}

#[test]
fn kinetics_changes_reuse_the_transport_and_scale_exactly() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phantoms/tiny-lu177.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        cache_dir: Some(dir.path().to_path_buf()),
        ..Options::default()
    };
    let plan1 = Plan::new(Scenario::from_text(&text, None).unwrap()).unwrap();
    let tr1 = transport_all(&plan1, &opts).unwrap();
    assert!(tr1.iter().flat_map(|c| &c.parts).all(|p| !p.from_cache));
    let r1 = compute(&plan1, &tr1).unwrap();
    // twice the decays per cell, other regimen: transport from the cache, dose × 2 per cycle
    let text2 = text
        .replace(
            "decays_per_labelled_cell = 1e5",
            "decays_per_labelled_cell = 2e5",
        )
        .replace("x 2\"", "x 3\"");
    let plan2 = Plan::new(Scenario::from_text(&text2, None).unwrap()).unwrap();
    let tr2 = transport_all(&plan2, &opts).unwrap();
    assert!(tr2.iter().flat_map(|c| &c.parts).all(|p| p.from_cache));
    assert_eq!(tr1[0].parts[0].tally, tr2[0].parts[0].tally);
    let r2 = compute(&plan2, &tr2).unwrap();
    let ratio = r2.tumour.mean_gy / r1.tumour.mean_gy;
    assert!((ratio - 3.0).abs() < 1e-9, "{ratio}");
}

/// `[transport] recoil`: the transported α part and the blood self-dose hold the same α
/// energy per decay, with recoils (`local`) or without (`exclude`). 211At and its daughter
/// 211Po (one 7.45 MeV α per decay, recoil 0.14 MeV) on one cell.
#[test]
fn alpha_part_and_blood_self_dose_treat_recoils_the_same() {
    use xfire_data::nuclides::{library, Radiation, Recoil};
    use xfire_kinetics::lymphocytes::non_penetrating_energy;
    let mut alpha_per_decay = std::collections::BTreeMap::new();
    for recoil in ["local", "exclude"] {
        let text = format!(
            r#"
seed = 4
[phantom.spec]
[phantom.spec.grid]
voxel = "4 um"
size = "80 um"
[phantom.spec.cluster]
kind = "tumour"
cell_radius = "8 um"
nucleus_radius = "5 um"
[agent]
nuclide = "At-211"
binding = "tumour_membrane"
[kinetics]
clearance = "inf"
decays_per_labelled_cell = 1e4
[transport]
decays = 20000
recoil = "{recoil}"
[output]
times = ["1 d"]
maps = []
figures = false
"#
        );
        let plan = Plan::new(Scenario::from_text(&text, None).unwrap()).unwrap();
        let r = plan.scenario.transport.recoil;
        assert_eq!(r.name(), recoil);
        let tr = transport_all(&plan, &Options::default()).unwrap();
        for c in &tr {
            let Some(p) = c
                .parts
                .iter()
                .find(|p| p.part == xfire_scenario::Part::Alpha)
            else {
                continue;
            };
            let t = &p.tally;
            let e = t.emitted_mev_per_decay();
            let b = &t.balance.emitted;
            let sd = e * xfire_tally::rel_uncertainty(b.sum, b.sum2, t.decays, t.batches);
            let blood = non_penetrating_energy(&c.nuclide, r).unwrap().alpha_mev;
            eprintln!("{} recoil {recoil}: α part emits {e:.5} ± {sd:.5} MeV/decay, blood self-dose counts {blood:.5}", c.nuclide);
            assert!(
                (e - blood).abs() < 4.0 * sd + 1e-12,
                "{}: {e} vs {blood}",
                c.nuclide
            );
            alpha_per_decay.insert((c.nuclide.clone(), recoil), blood);
        }
    }
    // the two choices differ by the recoil energy (211Po: 0.14 MeV per decay)
    let po = library().resolve("Po-211").unwrap();
    let rec = po.energy_per_decay_mev(Radiation::AlphaRecoil);
    assert!(rec > 0.1, "{rec}");
    let d = alpha_per_decay[&("Po-211".to_string(), "local")]
        - alpha_per_decay[&("Po-211".to_string(), "exclude")];
    assert!((d - rec).abs() < 1e-12, "{d} vs {rec}");
    assert_eq!(Recoil::default(), Recoil::Local);
}
