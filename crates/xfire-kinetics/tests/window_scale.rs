//! A realistic-size immunotherapy-window scan: ²²⁵Ac with 30 % of daughters released to a
//! uniform site, 6 cycles, 1000 lymphocyte positions with α and low-LET dose per decay,
//! 57 start days (prints the time; 0.3 s in a release build).

use std::time::Instant;

use xfire_kinetics::dose_time::DoseField;
use xfire_kinetics::window::{immunotherapy_window, WindowOptions};
use xfire_kinetics::{Chain, DaughterRelease, Quantity, Regimen, Site, SourceModel, Tac};

#[test]
fn ac225_window_scan_1000_positions() {
    let h = 3600.0;
    let mut m = SourceModel::retained(
        Chain::from_library("Ac-225").unwrap(),
        "membrane",
        Tac::mono(100.0 * h),
        Quantity::AdministeredFraction {
            uptake_fraction: 2e-2,
        },
    );
    m.sites.push(Site {
        name: "uniform".into(),
        clearance_half_time_s: 10.0 * h,
    });
    m.releases.push(DaughterRelease {
        daughter: None,
        fraction: 0.3,
        to_site: "uniform".into(),
    });
    let adm = Regimen::parse("8 MBq every 8 weeks x 6")
        .unwrap()
        .administrations(None)
        .unwrap();
    let t = Instant::now();
    let k = m.build(&adm).unwrap();
    let nc = k.components().len();
    let np = 1000;
    // deterministic pseudo-random dose per decay, α larger near "labelled" positions
    let mut low = vec![vec![0.0; np]; nc];
    let mut alpha = vec![vec![0.0; np]; nc];
    for c in 0..nc {
        for p in 0..np {
            let u = ((p * 7919 + c * 104729) % 1000) as f64 / 1000.0;
            low[c][p] = 1e-13 * (0.5 + u);
            alpha[c][p] = if p % 10 == 0 { 1e-11 * u } else { 0.0 };
        }
    }
    let f = DoseField::new(low, alpha).unwrap();
    let opts = WindowOptions::new(72.0 * h);
    let r = immunotherapy_window(&k, &f, None, &opts).unwrap();
    let secs = t.elapsed().as_secs_f64();
    eprintln!(
        "Ac-225 window: {nc} components, {np} positions, {} days in {secs:.2} s; earliest {:?}; \
         cycles with safe days {}",
        r.days.len(),
        r.earliest_day,
        r.cycles
            .iter()
            .filter(|c| !c.safe_runs_days.is_empty())
            .count()
    );
    assert_eq!(r.days.len(), 57);
    // early cohorts are hit, later ones are safe, and the second cycle (day 56) is not
    let e = r.earliest_day.expect("a safe day within 8 weeks");
    assert!(e > 0.0 && e < 56.0, "{e}");
    assert!(r.days[0].surviving_fraction < 0.9);
    assert!(r.days[56].surviving_fraction < 0.9);
    for d in &r.days {
        assert!(d.surviving_fraction > 0.0 && d.surviving_fraction <= 1.0);
    }
}
