//! Unit tests of the chain solver against closed forms and exact invariants.

use crate::*;

const LN2: f64 = std::f64::consts::LN_2;
const MIN: f64 = 60.0;
const H: f64 = 3600.0;
const D: f64 = 86400.0;
const TIMES: [f64; 8] = [MIN, H, 6.0 * H, D, 3.0 * D, 10.0 * D, 30.0 * D, 100.0 * D];

fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / b.abs()
    }
}

fn member(name: &str, lambda: f64) -> Member {
    Member {
        nuclide: name.into(),
        decay_constant_per_s: lambda,
    }
}

fn br(from: usize, to: usize, fraction: f64) -> Branch {
    Branch { from, to, fraction }
}

/// A linear chain 0 → 1 → … with the given decay constants and branching 1.
fn linear(lambdas: &[f64]) -> Chain {
    let members = lambdas
        .iter()
        .enumerate()
        .map(|(i, &l)| member(&format!("N{i}"), l))
        .collect();
    let branches = (1..lambdas.len()).map(|i| br(i - 1, i, 1.0)).collect();
    Chain::new(members, branches).unwrap()
}

/// ²¹²Pb → ²¹²Bi → ²¹²Po (64.06 %) | ²⁰⁸Tl (35.94 %) → ²⁰⁸Pb, ICRP-107 half-lives.
fn pb212() -> Chain {
    Chain::new(
        vec![
            member("Pb-212", LN2 / (10.64 * H)),
            member("Bi-212", LN2 / (60.55 * MIN)),
            member("Po-212", LN2 / 2.99e-7),
            member("Tl-208", LN2 / (3.053 * MIN)),
            member("Pb-208", 0.0),
        ],
        vec![
            br(0, 1, 1.0),
            br(1, 2, 0.6406),
            br(1, 3, 0.3594),
            br(2, 4, 1.0),
            br(3, 4, 1.0),
        ],
    )
    .unwrap()
}

/// Explicit Bateman sum for one path with distinct decay constants: atoms of the last
/// member per atom of the first, and its time integral [s].
fn bateman_path(lambdas: &[f64], fractions: &[f64], t: f64) -> (f64, f64) {
    let k = lambdas.len();
    let mut pre = 1.0;
    for i in 0..k - 1 {
        pre *= fractions[i] * lambdas[i];
    }
    let (mut n, mut integral) = (0.0, 0.0);
    for i in 0..k {
        let mut den = 1.0;
        for j in 0..k {
            if j != i {
                den *= lambdas[j] - lambdas[i];
            }
        }
        n += (-lambdas[i] * t).exp() / den;
        integral += -(-lambdas[i] * t).exp_m1() / lambdas[i] / den;
    }
    (pre * n, pre * integral)
}

#[test]
fn single_nuclide_activity_and_decays() {
    let l = LN2 / (6.647 * D);
    let c = linear(&[l]);
    for t in TIMES {
        let a = c.activities(7.4e9, t);
        assert!(rel(a[0], 7.4e9 * (-l * t).exp()) < 1e-13, "t = {t} s");
        let n = c.cumulated_decays(7.4e9, 0.0, t);
        assert!(rel(n[0], 7.4e9 * -(-l * t).exp_m1() / l) < 1e-13);
    }
    assert_eq!(c.activities(1.0, -5.0), vec![0.0]);
    assert_eq!(c.activities(2.0, 0.0), vec![2.0]);
}

#[test]
fn two_members_near_degenerate() {
    // λ2/λ1 − 1 = 1e-12: N2 = N1(0) λ1 t e^{−λ1 t} · (−expm1(−x)/x), x = (λ2 − λ1) t
    let l1 = LN2 / (10.0 * D);
    let l2 = l1 * (1.0 + 1e-12);
    let c = linear(&[l1, l2]);
    let mut worst: f64 = 0.0;
    for t in TIMES {
        let p = c.propagator(t);
        let n2 = p.atoms(&[1.0, 0.0])[1];
        let x = (l2 - l1) * t;
        let exact = l1 * t * (-l1 * t).exp() * (-(-x).exp_m1() / x);
        worst = worst.max(rel(n2, exact));
        // naive Bateman loses ~1e-4 here; the solver must not
        let naive = l1 / (l2 - l1) * ((-l1 * t).exp() - (-l2 * t).exp());
        assert!(
            rel(naive, exact) > 1e-8 || t < H,
            "naive is not bad at t = {t}?"
        );
    }
    eprintln!("near-degenerate (1e-12): max rel diff {worst:.1e}");
    assert!(worst < 1e-12, "near-degenerate: max rel diff {worst:e}");
    // exactly equal constants
    let c = linear(&[l1, l1]);
    for t in TIMES {
        let n2 = c.propagator(t).atoms(&[1.0, 0.0])[1];
        assert!(rel(n2, l1 * t * (-l1 * t).exp()) < 1e-12);
    }
}

#[test]
fn five_equal_constants_give_poisson_terms() {
    // all λ equal: N_k(t) = (λt)^k/k! e^{−λt}, decays_k = λ∫N_k = P(Poisson(λt) > k)
    let l = 1e-4;
    let c = linear(&[l; 5]);
    for lt in [0.01, 0.5, 1.0, 7.0, 30.0, 80.0] {
        let t = lt / l;
        let p = c.propagator(t);
        let atoms = p.atoms(&[1.0, 0.0, 0.0, 0.0, 0.0]);
        let decays = p.decays(&[1.0, 0.0, 0.0, 0.0, 0.0]);
        let mut fact = 1.0;
        for (k, (&nk, &dk)) in atoms.iter().zip(&decays).enumerate() {
            if k > 0 {
                fact *= k as f64;
            }
            let pk = lt.powi(k as i32) / fact * (-lt).exp();
            assert!(rel(nk, pk) < 1e-12, "λt = {lt}, k = {k}: {nk} vs {pk}");
            // P(X > k) computed without cancellation for small λt: Σ_{m>k} p_m
            let tail: f64 = (k + 1..k + 200)
                .map(|m| {
                    let mut f = 1.0;
                    for q in 1..=m {
                        f *= lt / q as f64;
                    }
                    f * (-lt).exp()
                })
                .sum();
            assert!(rel(dk, tail) < 1e-11, "λt = {lt}, k = {k}: {dk} vs {tail}");
        }
    }
}

#[test]
fn stiff_pb212_chain_matches_explicit_bateman() {
    // λ(Po-212)/λ(Pb-212) = 1.3e11: compare activities [Bq] and decays per path
    let c = pb212();
    let l: Vec<f64> = c.members().iter().map(|m| m.decay_constant_per_s).collect();
    let a0 = 1e6;
    let n0 = a0 / l[0];
    let mut worst: f64 = 0.0;
    for t in TIMES {
        let a = c.activities(a0, t);
        let n = c.cumulated_decays(a0, 0.0, t);
        let paths: [(usize, Vec<usize>, Vec<f64>); 4] = [
            (0, vec![0], vec![]),
            (1, vec![0, 1], vec![1.0]),
            (2, vec![0, 1, 2], vec![1.0, 0.6406]),
            (3, vec![0, 1, 3], vec![1.0, 0.3594]),
        ];
        for (j, path, f) in paths {
            let lp: Vec<f64> = path.iter().map(|&i| l[i]).collect();
            let (atoms, integral) = bateman_path(&lp, &f, t);
            let (ea, en) = (l[j] * n0 * atoms, l[j] * n0 * integral);
            worst = worst.max(rel(a[j], ea)).max(rel(n[j], en));
            assert!(rel(a[j], ea) < 1e-10, "{j} at {t} s: {} vs {ea}", a[j]);
            assert!(rel(n[j], en) < 1e-10, "{j} at {t} s: {} vs {en}", n[j]);
        }
        assert_eq!(a[4], 0.0);
        assert_eq!(n[4], 0.0);
    }
    eprintln!("stiff Pb-212 chain vs explicit Bateman: max rel diff {worst:.1e}");
    assert!(worst < 1e-10);
}

#[test]
fn decays_balance_atoms_exactly() {
    // for every member: decays in [0,t] + atoms at t = atoms fed in [0,t] (+ atoms at 0)
    let c = pb212();
    for t in TIMES {
        let p = c.propagator(t);
        let n0 = [3.0e9, 1.0e7, 0.0, 2.0e3, 5.0];
        let atoms = p.atoms(&n0);
        let decays = p.decays(&n0);
        for j in 0..c.len() {
            let fed: f64 = c
                .branches()
                .iter()
                .filter(|b| b.to == j)
                .map(|b| b.fraction * decays[b.from])
                .sum::<f64>()
                + n0[j];
            assert!(
                (decays[j] + atoms[j] - fed).abs() <= 1e-12 * fed,
                "member {j} at {t} s: {} + {} vs {fed}",
                decays[j],
                atoms[j]
            );
        }
        // total atoms conserved (branching sums to 1 everywhere)
        let total: f64 = atoms.iter().sum();
        assert!(rel(total, n0.iter().sum()) < 1e-13);
    }
}

#[test]
fn steps_compose_and_intervals_add() {
    let c = pb212();
    let (t1, t2) = (5.5 * H, 2.25 * D);
    let n0 = c.propagator(0.0).atoms(&[1e10, 0.0, 0.0, 0.0, 0.0]);
    let direct = c.propagator(t1 + t2).atoms(&n0);
    let stepped = c.propagator(t2).atoms(&c.propagator(t1).atoms(&n0));
    for (a, b) in direct.iter().zip(&stepped) {
        assert!(rel(*a, *b) < 1e-12);
    }
    let whole = c.cumulated_decays(1e6, 0.0, t1 + t2);
    let first = c.cumulated_decays(1e6, 0.0, t1);
    let second = c.cumulated_decays(1e6, t1, t1 + t2);
    for j in 0..4 {
        assert!(rel(first[j] + second[j], whole[j]) < 1e-12);
    }
    let reversed = c.cumulated_decays(1e6, t1 + t2, t1);
    for j in 0..5 {
        assert_eq!(reversed[j], -second[j]);
    }
    // before the administration nothing decays
    assert!(c
        .cumulated_decays(1e6, -10.0, 0.0)
        .iter()
        .all(|&x| x == 0.0));
    assert_eq!(c.cumulated_decays(1e6, -10.0, 60.0), first_n(&c, 60.0));
}

fn first_n(c: &Chain, t: f64) -> Vec<f64> {
    c.cumulated_decays(1e6, 0.0, t)
}

#[test]
fn schedule_is_superposition() {
    let c = pb212();
    let adm = [
        Administration {
            time_s: 0.0,
            activity_bq: 5.0,
        },
        Administration {
            time_s: 6.0 * H,
            activity_bq: 1.0,
        },
        Administration {
            time_s: D,
            activity_bq: 3.0,
        },
    ];
    for t in [2.0 * H, 12.0 * H, 3.0 * D] {
        let a = c.schedule_activities(&adm, t);
        let n = c.schedule_cumulated_decays(&adm, H, t);
        let mut ea = [0.0; 5];
        let mut en = [0.0; 5];
        for x in &adm {
            for (e, v) in ea.iter_mut().zip(c.activities(x.activity_bq, t - x.time_s)) {
                *e += v;
            }
            let v = c.cumulated_decays(x.activity_bq, H - x.time_s, t - x.time_s);
            for (e, v) in en.iter_mut().zip(v) {
                // an administration after H only counts from its own time
                *e += v;
            }
        }
        for j in 0..4 {
            assert!(rel(a[j], ea[j]) < 1e-13);
            assert!(
                rel(n[j], en[j]) < 1e-12,
                "{j} at {t}: {} vs {}",
                n[j],
                en[j]
            );
        }
    }
}

#[test]
fn build_orders_topologically_and_lists_stable_end_points() {
    // A → B (0.3), A → C (0.7), C → B, B → D(stable)
    let lookup = |name: &str| -> Option<DecayInfo> {
        let (l, d): (f64, Vec<(&str, f64)>) = match name {
            "A" => (1e-3, vec![("B", 0.3), ("C", 0.7)]),
            "B" => (2e-3, vec![("D", 1.0)]),
            "C" => (5e-2, vec![("B", 1.0), ("E", 0.0)]),
            _ => return None,
        };
        Some(DecayInfo {
            decay_constant_per_s: l,
            daughters: d.into_iter().map(|(n, b)| (n.to_string(), b)).collect(),
        })
    };
    let c = Chain::build("A", lookup).unwrap();
    let names: Vec<&str> = c.members().iter().map(|m| m.nuclide.as_str()).collect();
    assert_eq!(names, ["A", "C", "B", "D"]);
    assert!(c.members()[3].is_stable());
    assert_eq!(c.index_of("B"), Some(2));
    assert!(c.branches().iter().all(|b| b.from < b.to));
    assert!(matches!(
        Chain::build("D", lookup),
        Err(ChainError::StableParent { .. })
    ));
    // a cycle is refused
    let cyc = |name: &str| -> Option<DecayInfo> {
        let d = match name {
            "X" => "Y",
            "Y" => "Z",
            "Z" => "Y",
            _ => return None,
        };
        Some(DecayInfo {
            decay_constant_per_s: 1.0,
            daughters: vec![(d.to_string(), 1.0)],
        })
    };
    assert!(matches!(
        Chain::build("X", cyc),
        Err(ChainError::Cycle { .. })
    ));
}

#[test]
fn invalid_descriptions_are_refused_with_values() {
    let m = |n: &str, l: f64| member(n, l);
    assert_eq!(Chain::new(vec![], vec![]).unwrap_err(), ChainError::Empty);
    let e = Chain::new(vec![m("A", -1.0)], vec![]).unwrap_err();
    assert!(e.to_string().contains("-1 1/s"), "{e}");
    assert!(matches!(
        Chain::new(vec![m("A", 0.0)], vec![]),
        Err(ChainError::StableParent { .. })
    ));
    assert!(matches!(
        Chain::new(vec![m("A", 1.0), m("A", 2.0)], vec![]),
        Err(ChainError::DuplicateMember { .. })
    ));
    let two = || vec![m("A", 1.0), m("B", 2.0)];
    assert!(matches!(
        Chain::new(two(), vec![br(1, 0, 1.0)]),
        Err(ChainError::BranchOrder { .. })
    ));
    assert!(matches!(
        Chain::new(two(), vec![br(0, 2, 1.0)]),
        Err(ChainError::BranchIndex { .. })
    ));
    let e = Chain::new(two(), vec![br(0, 1, 1.5)]).unwrap_err();
    assert!(e.to_string().contains("1.5"), "{e}");
    assert!(matches!(
        Chain::new(two(), vec![br(0, 1, 0.6), br(0, 1, 0.6)]),
        Err(ChainError::BranchingSum { .. })
    ));
    assert!(matches!(
        Chain::new(
            vec![m("A", 1.0), m("B", 0.0), m("C", 1.0)],
            vec![br(1, 2, 1.0)]
        ),
        Err(ChainError::StableWithDaughter { .. })
    ));
    // duplicate branches add up
    let c = Chain::new(two(), vec![br(0, 1, 0.25), br(0, 1, 0.5)]).unwrap();
    assert_eq!(c.branches().len(), 1);
    assert_eq!(c.branches()[0].fraction, 0.75);
}
