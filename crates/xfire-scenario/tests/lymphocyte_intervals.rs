//! Intervals of the circulating and migrating lymphocytes' survival (`docs/kinetics.md` §9):
//! the circulating figure's standard uncertainty (delta method on the tumour-transit dose;
//! the blood self-dose is analytic) against the spread of the figure over independent
//! transport seeds; migrating walkers and circulating blood carry an interval.

use std::path::Path;

use xfire_scenario::{compute, transport_all, Options, Plan, RunResult, Scenario};

/// The tiny scenario with capillaries (vessel voxels for the transit dose), circulating
/// lymphocytes that spend 4 % of their time in them, and migrating walkers; `seed` as the
/// transport seed.
fn run(seed: u64) -> RunResult {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phantoms/tiny-lu177.toml");
    let text = std::fs::read_to_string(&p).expect("tiny scenario");
    let edits = [
        (
            "packing_fraction = 0.5\n",
            "packing_fraction = 0.5\n[phantom.spec.tumour.capillaries]\nradius = \"4 um\"\nspacing = \"24 um\"\n",
        ),
        (
            "arrivals = [\"0 d\", \"7 d\"]\n",
            "arrivals = [\"0 d\", \"7 d\"]\n[lymphocytes.circulating]\nblood_fraction = 1e-4\n\
             blood_half_times = [\"10.8 h\"]\nblood_mass = \"5 kg\"\ntumour_transit_fraction = 0.04\n\
             until = \"20 d\"\n[lymphocytes.migrating]\nwalkers = 20\nspeed = \"5 um/min\"\n\
             persistence = \"3 min\"\n",
        ),
        // every cell labelled alike: the seed changes only the transport (and the walks)
        ("labelled_fraction = 0.8", "labelled_fraction = 1.0"),
        ("uptake_sigma = 0.3", "uptake_sigma = 0.0"),
        ("batch_size = 500", &format!("batch_size = 500\nseed = {seed}")),
    ];
    let mut text = text;
    for (old, new) in edits {
        assert!(text.contains(old), "tiny-lu177.toml changed: {old:?}");
        text = text.replace(old, new);
    }
    let s = Scenario::from_text(&text, Some(&p)).expect("scenario");
    let plan = Plan::new(s).expect("plan");
    let tr = transport_all(&plan, &Options::default()).expect("transport");
    compute(&plan, &tr).expect("compute")
}

#[test]
fn circulating_interval_matches_the_spread_over_seeds_and_walkers_have_one() {
    let runs: Vec<RunResult> = (1..=8).map(run).collect();
    let mut values = Vec::new();
    let mut sd2 = 0.0;
    for r in &runs {
        let c = r
            .exposures
            .iter()
            .find(|e| e.model == "circulating")
            .expect("circulating exposure");
        assert!(
            !r.notes.iter().any(|n| n.contains("no vessel voxels")),
            "{:?}",
            r.notes
        );
        assert!(c.survival.sd > 0.0 && c.survival.interval[0] < c.survival.value);
        values.push(c.survival.value);
        sd2 += c.survival.sd.powi(2) / runs.len() as f64;
        for m in r.exposures.iter().filter(|e| e.model == "migrating") {
            let e = &m.survival;
            assert!(
                e.sd.is_finite() && e.interval.iter().all(|x| x.is_finite()),
                "{e:?}"
            );
        }
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let spread = (values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let ratio = spread / sd2.sqrt();
    eprintln!(
        "circulating survival over 8 seeds: mean {mean:.5}, spread {spread:.3e}, stated sd {:.3e}, ratio {ratio:.2}",
        sd2.sqrt()
    );
    // 99 % range of the sample SD of 8 normal values over the true SD: √(χ²₇/7) in [0.38, 1.70]
    assert!((0.38..=1.70).contains(&ratio), "ratio {ratio}");
}
