//! The compartment system of `SourceModel` (physical decay only, all daughters retained, and
//! daughters split between two sites) vs radioactivedecay 0.6.1 (`rd_refs`, high precision),
//! for every reference chain and schedule. Requirement 1e-6; held here to 1e-9.

mod rd_refs;

use rd_refs::{ChainRef, CHAINS, SCHEDULES};
use xfire_kinetics::{
    Administration, Chain, DaughterRelease, DecayInfo, Quantity, Site, SourceKinetics, SourceModel,
    Tac,
};

const TOL: f64 = 1e-9;
const FLOOR: f64 = 1e-12;

fn chain_of(r: &ChainRef) -> Chain {
    Chain::build(r.parent, |name| {
        let (_, l, d) = r.members.iter().find(|m| m.0 == name)?;
        if *l == 0.0 {
            return None;
        }
        Some(DecayInfo {
            decay_constant_per_s: *l,
            daughters: d.iter().map(|(n, b)| (n.to_string(), *b)).collect(),
        })
    })
    .unwrap()
}

/// Per member: sum over the member's components (all sites).
fn per_member(k: &SourceKinetics, n_members: usize, per_component: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; n_members];
    for (c, x) in k.components().iter().zip(per_component) {
        out[c.member] += x;
    }
    out
}

fn worst(ours: &[f64], refs: &[f64]) -> f64 {
    let parent = refs[0];
    let mut w: f64 = 0.0;
    for (&o, &r) in ours.iter().zip(refs) {
        if r > FLOOR * parent {
            w = w.max((o - r).abs() / r);
        }
    }
    w
}

fn models(chain: &Chain) -> Vec<SourceModel> {
    let q = Quantity::AdministeredFraction {
        uptake_fraction: 1.0,
    };
    let retained = SourceModel::retained(chain.clone(), "cells", Tac::physical_only(), q);
    let mut split = retained.clone();
    split.sites.push(Site {
        name: "uniform".into(),
        clearance_half_time_s: f64::INFINITY,
    });
    split.releases.push(DaughterRelease {
        daughter: None,
        fraction: 0.3,
        to_site: "uniform".into(),
    });
    vec![retained, split]
}

#[test]
fn source_components_match_radioactivedecay() {
    let mut all: f64 = 0.0;
    for r in CHAINS {
        let chain = chain_of(r);
        for m in models(&chain) {
            let k = m
                .build(&[Administration {
                    time_s: 0.0,
                    activity_bq: 1.0,
                }])
                .unwrap();
            let mut w: f64 = 0.0;
            for (i, &t) in r.times_s.iter().enumerate() {
                let a = per_member(&k, chain.len(), &k.decay_rates(t).unwrap());
                let n = per_member(&k, chain.len(), &k.decays(0.0, t).unwrap());
                w = w
                    .max(worst(&a, r.activity_bq[i]))
                    .max(worst(&n, r.cumulated[i]));
            }
            eprintln!(
                "{:8} ({} sites): max rel diff {w:.1e}",
                r.parent,
                1 + m.sites.len()
            );
            assert!(w < TOL, "{}: {w:e}", r.parent);
            all = all.max(w);
        }
    }
    for s in SCHEDULES {
        let r = CHAINS.iter().find(|r| r.parent == s.parent).unwrap();
        let chain = chain_of(r);
        let adm: Vec<Administration> = s
            .administrations
            .iter()
            .map(|&(time_s, activity_bq)| Administration {
                time_s,
                activity_bq,
            })
            .collect();
        for m in models(&chain) {
            let k = m.build(&adm).unwrap();
            let mut w: f64 = 0.0;
            for (i, &t) in s.times_s.iter().enumerate() {
                let a = per_member(&k, chain.len(), &k.decay_rates(t).unwrap());
                let n = per_member(&k, chain.len(), &k.decays(0.0, t).unwrap());
                w = w
                    .max(worst(&a, s.activity_bq[i]))
                    .max(worst(&n, s.cumulated[i]));
            }
            eprintln!(
                "{} schedule ({} sites): max rel diff {w:.1e}",
                s.parent,
                1 + m.sites.len()
            );
            assert!(w < TOL, "{} schedule: {w:e}", s.parent);
            all = all.max(w);
        }
    }
    eprintln!("compartments vs radioactivedecay: max rel diff {all:.1e}");
}
