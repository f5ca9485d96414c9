//! Slow (XFIRE_SLOW_TESTS=1): the noise-corrected survival figures of ¹⁷⁷Lu and ²²⁵Ac on the
//! shipped TIL spheroid (the README's comparison, normalised to equal tumour dose) change by
//! less than their stated 95 % interval between 2·10⁴ and 2·10⁵ decays per part
//! (`docs/kinetics.md` §9, `docs/validation.md`); the ignored test is the reduced check
//! 2·10⁴ → 6·10⁴ (`cargo test --release -p xfire-scenario --test survival_convergence --
//! --ignored`). A figure passes when the value at N2 lies in the interval stated at N1, or
//! when both intervals lie below 0.01 (such figures read "< 0.01").

use xfire_kinetics::noise::{SurvivalEstimate, NEGLIGIBLE_SURVIVAL};
use xfire_scenario::compare::{compare, CompareOptions, Comparison};
use xfire_scenario::fmt::fmt_estimate;
use xfire_scenario::{Options, Scenario};

fn slow() -> bool {
    std::env::var("XFIRE_SLOW_TESTS").is_ok_and(|v| v == "1")
}

fn run(decays: u64) -> Comparison {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../phantoms/til-spheroid-lu177.toml");
    let mut s = Scenario::from_file(&path).expect("shipped scenario");
    s.transport.decays = decays;
    s.transport.max_decays = s.transport.max_decays.max(decays);
    let opts = CompareOptions {
        nuclides: vec!["Lu-177".into(), "Ac-225".into()],
        ..CompareOptions::default()
    };
    compare(&s, &opts, &Options::default()).expect("comparison")
}

/// (nuclide, figure, estimate) of every noise-corrected survival figure.
fn figures(c: &Comparison) -> Vec<(String, String, SurvivalEstimate)> {
    let mut v = Vec::new();
    for r in &c.rows {
        let mut push = |what: String, e: Option<SurvivalEstimate>| {
            if let Some(e) = e {
                if e.sd > 0.0 {
                    v.push((r.nuclide.clone(), what, e));
                }
            }
        };
        push("tumour cells".into(), r.tumour_survival);
        push(
            "tumour cells, alpha-hit".into(),
            r.tumour_alpha_hit_survival,
        );
        for e in &r.lymphocytes {
            push(format!("lymph {}", e.key()), e.survival);
            push(
                format!("lymph {}, alpha-hit", e.key()),
                e.alpha_hit_survival,
            );
        }
        push("lymph at window".into(), r.window_survival_estimate);
    }
    v
}

fn check(n1: u64, n2: u64) {
    let (a, b) = (run(n1), run(n2));
    let (fa, fb) = (figures(&a), figures(&b));
    assert_eq!(fa.len(), fb.len(), "the same figures at both decay counts");
    let mut failed = Vec::new();
    eprintln!("{:<8} {:<28} {:>34} {:>34}", "nuclide", "figure", n1, n2);
    for ((n, what, x), (_, _, y)) in fa.iter().zip(&fb) {
        let negligible = x.interval[1] < NEGLIGIBLE_SURVIVAL && y.interval[1] < NEGLIGIBLE_SURVIVAL;
        let inside = x.interval[0] <= y.value && y.value <= x.interval[1];
        let ok = inside || negligible;
        eprintln!(
            "{n:<8} {what:<28} {:>34} {:>34} {} ({:.3e} -> {:.3e})",
            fmt_estimate(x),
            fmt_estimate(y),
            if ok { "ok" } else { "CHANGED" },
            x.value,
            y.value
        );
        if !ok {
            failed.push(format!(
                "{n} {what}: {} -> {}",
                fmt_estimate(x),
                fmt_estimate(y)
            ));
        }
    }
    assert!(failed.is_empty(), "outside the stated interval: {failed:?}");
}

#[test]
fn survival_is_stable_within_its_interval_from_2e4_to_2e5_decays() {
    if !slow() {
        eprintln!("skipped (set XFIRE_SLOW_TESTS=1)");
        return;
    }
    check(20_000, 200_000);
}

#[test]
#[ignore = "reduced version of the slow check (2e4 -> 6e4 decays), about 2 min on 2 cores"]
fn survival_is_stable_within_its_interval_from_2e4_to_6e4_decays() {
    check(20_000, 60_000);
}
