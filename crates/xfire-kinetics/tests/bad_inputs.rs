//! Bad input gives errors naming the value, never a panic: NaN, infinities, negative times
//! and activities, empty tables, across the public kinetics API.

use xfire_kinetics::dose_time::{
    dose_between, dose_rate_at, dose_timeline, protraction_between, DoseField, ProtractionOptions,
};
use xfire_kinetics::lymphocytes::{cohort_exposure, quantiles, Cohort};
use xfire_kinetics::radiobiology::{protraction, DoseRatePiece, LqParameters};
use xfire_kinetics::window::{immunotherapy_window, WindowOptions};
use xfire_kinetics::{Administration, Chain, ExpTerm, Quantity, Regimen, SourceModel, Tac, Tail};

fn model(tac: Tac, q: Quantity) -> SourceModel {
    SourceModel::retained(Chain::from_library("Lu-177").unwrap(), "cells", tac, q)
}

fn adm(t: f64, a: f64) -> Vec<Administration> {
    vec![Administration {
        time_s: t,
        activity_bq: a,
    }]
}

#[test]
fn bad_inputs_are_errors() {
    let q = Quantity::AdministeredFraction {
        uptake_fraction: 0.1,
    };
    let bad = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0];
    for &x in &bad {
        let m = model(Tac::physical_only(), q);
        let e = m.build(&adm(0.0, x)).unwrap_err().to_string();
        assert!(e.contains("Bq"), "{e}");
        if !(x == -1.0) {
            assert!(m.build(&adm(x, 1.0)).is_err());
        }
        assert!(model(Tac::mono(x), q).build(&adm(0.0, 1.0)).is_err() || x == f64::INFINITY);
        let t = Tac::Exponentials {
            terms: vec![ExpTerm {
                fraction: x,
                half_time_s: 3600.0,
            }],
            uptake_half_time_s: None,
        };
        assert!(model(t, q).build(&adm(0.0, 1.0)).is_err());
        let t = Tac::Table {
            points: vec![(0.0, 1.0), (3600.0, x)],
            tail: Tail::Physical,
        };
        assert!(model(t, q).build(&adm(0.0, 1.0)).is_err());
        let t = Tac::Table {
            points: vec![(0.0, 1.0), (3600.0, 0.5)],
            tail: Tail::EffectiveHalfTime(x),
        };
        assert!(model(t, q).build(&adm(0.0, 1.0)).is_err());
        let qb = Quantity::Concentration {
            bq_per_g: x,
            mass_g: 1.0,
        };
        assert!(model(Tac::physical_only(), qb)
            .build(&adm(0.0, 1.0))
            .is_err());
    }
    let empty = Tac::Table {
        points: vec![],
        tail: Tail::Physical,
    };
    assert!(model(empty, q).build(&adm(0.0, 1.0)).is_err());

    let k = model(Tac::mono(3600.0 * 50.0), q)
        .build(&adm(0.0, 1e9))
        .unwrap();
    let f = DoseField::low_let_only(vec![vec![1e-12, 2e-12]]).unwrap();
    for &x in &[f64::NAN, f64::INFINITY] {
        assert!(k.decay_rates(x).is_err());
        assert!(k.decays(0.0, x).is_err());
        assert!(dose_rate_at(k.evolution(), &f, x).is_err());
        assert!(dose_between(k.evolution(), &f, x, 1.0).is_err());
        assert!(dose_timeline(k.evolution(), &f, &[0.0, x]).is_err());
        assert!(protraction_between(
            k.evolution(),
            &f,
            0.0,
            x,
            5400.0,
            ProtractionOptions::default()
        )
        .is_err());
        assert!(protraction_between(
            k.evolution(),
            &f,
            0.0,
            1e5,
            x,
            ProtractionOptions::default()
        )
        .is_err());
        let lq = LqParameters::lymphocyte();
        let c = Cohort {
            arrival_s: x,
            residence_s: 3600.0,
        };
        assert!(cohort_exposure(k.evolution(), &f, c, &lq, ProtractionOptions::default()).is_err());
        let c = Cohort {
            arrival_s: 0.0,
            residence_s: x,
        };
        assert!(cohort_exposure(k.evolution(), &f, c, &lq, ProtractionOptions::default()).is_err());
        let bad_lq = LqParameters {
            alpha_beta_gy: x,
            ..lq
        };
        assert!(
            cohort_exposure(
                k.evolution(),
                &f,
                Cohort {
                    arrival_s: 0.0,
                    residence_s: 10.0
                },
                &bad_lq,
                ProtractionOptions::default()
            )
            .is_err()
                || x == f64::INFINITY
        );
        assert!(protraction(&[DoseRatePiece::constant(x, 1.0)], 5400.0).is_err());
        assert!(quantiles(&[1.0, x], &[0.5]).is_ok() || x.is_nan());
        let mut o = WindowOptions::new(x);
        assert!(immunotherapy_window(&k, &f, None, &o).is_err());
        o = WindowOptions::new(3600.0);
        o.start_days = vec![0.0, x];
        assert!(immunotherapy_window(&k, &f, None, &o).is_err());
    }
    assert!(dose_timeline(k.evolution(), &f, &[2.0, 1.0]).is_err());
    assert!(DoseField::low_let_only(vec![vec![1.0, f64::INFINITY]]).is_err());
    assert!(DoseField::low_let_only(vec![]).is_err());
    assert!(immunotherapy_window(&k, &f, Some((&f, 5)), &WindowOptions::new(3600.0)).is_err());
    for t in [
        "",
        "GBq",
        "7.4",
        "x 6",
        "7.4 GBq every",
        "55 kBq/kg every 4 weeks x 6 x 2",
    ] {
        assert!(Regimen::parse(t).is_err(), "{t:?}");
    }
}
