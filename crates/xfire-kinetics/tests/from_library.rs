//! Chains from the built-in ICRP-107 library (xfire-data) vs radioactivedecay 0.6.1.
//!
//! Both use the ICRP-107 half-lives and branching fractions, and `Chain::from_library`
//! converts half-lives in years with radioactivedecay's 365.2422 d. So structure, branching
//! and decay constants must be identical, and activities and cumulated decays must match
//! radioactivedecay to the 1e-6 requirement for every chain, those with year-scale members
//! (Bi-207 behind At-211, Tc-99 behind Tc-99m) included.

mod rd_refs;

use rd_refs::CHAINS;
use xfire_kinetics::{Chain, ChainError};

fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / b.abs()
    }
}

#[test]
fn library_chains_match_radioactivedecay() {
    let lib = xfire_data::nuclides::library();
    let mut compared = 0;
    for r in CHAINS {
        if lib.get(r.parent).is_none() {
            continue; // not in the built-in library (e.g. Pb-210, Ra-224)
        }
        let c = Chain::from_library(r.parent).unwrap();
        let names: Vec<&str> = c.members().iter().map(|m| m.nuclide.as_str()).collect();
        let theirs: Vec<&str> = r.members.iter().map(|m| m.0).collect();
        assert_eq!(names, theirs, "members of {}", r.parent);
        for (m, (name, l_rd, daughters)) in c.members().iter().zip(r.members) {
            let l = m.decay_constant_per_s;
            if *l_rd == 0.0 {
                assert_eq!(l, 0.0, "{name} stable in radioactivedecay");
                continue;
            }
            assert!(rel(l, *l_rd) < 1e-12, "{name}: {l} vs {l_rd} 1/s");
            let i = c.index_of(name).unwrap();
            for (d, b) in daughters.iter() {
                let j = c.index_of(d).unwrap();
                let ours = c
                    .branches()
                    .iter()
                    .find(|x| x.from == i && x.to == j)
                    .map(|x| x.fraction);
                assert_eq!(ours, Some(*b), "{name} -> {d}");
            }
        }
        let mut worst: f64 = 0.0;
        for (k, &t) in r.times_s.iter().enumerate() {
            let a = c.activities(1.0, t);
            let n = c.cumulated_decays(1.0, 0.0, t);
            let (pa, pn) = (r.activity_bq[k][0], r.cumulated[k][0]);
            for j in 0..c.len() {
                let (ra, rn) = (r.activity_bq[k][j], r.cumulated[k][j]);
                if ra > 1e-12 * pa {
                    worst = worst.max(rel(a[j], ra));
                    assert!(rel(a[j], ra) < 1e-6, "{} {}: {} vs {ra}", r.parent, j, a[j]);
                }
                if rn > 1e-12 * pn {
                    worst = worst.max(rel(n[j], rn));
                    assert!(rel(n[j], rn) < 1e-6, "{} {}: {} vs {rn}", r.parent, j, n[j]);
                }
            }
        }
        eprintln!(
            "library chain {}: max rel diff vs radioactivedecay {worst:.1e}",
            r.parent
        );
        compared += 1;
    }
    assert!(compared >= 4, "only {compared} library chains compared");
}

#[test]
fn library_lookup_accepts_spellings_and_reports_unknown() {
    let a = Chain::from_library("225Ac").unwrap();
    assert_eq!(a.members()[0].nuclide, "Ac-225");
    let x = Chain::from_library("xe131m").unwrap();
    assert_eq!(x.members()[0].nuclide, "Xe-131m");
    assert!(matches!(
        Chain::from_library("Zz-999"),
        Err(ChainError::UnknownNuclide(_))
    ));
}

#[test]
fn every_library_nuclide_has_a_valid_chain() {
    // all ~40 library nuclides: the chain builds, is topologically ordered, and its
    // activities and decays are finite and non-negative
    for n in xfire_data::nuclides::library().nuclides() {
        let c = Chain::from_library(&n.name).unwrap();
        assert!(c.branches().iter().all(|b| b.from < b.to));
        for t in [60.0, 86400.0, 8.64e6] {
            let a = c.activities(1.0, t);
            let d = c.cumulated_decays(1.0, 0.0, t);
            assert!(
                a.iter().chain(&d).all(|x| x.is_finite() && *x >= 0.0),
                "{}",
                n.name
            );
        }
    }
}
