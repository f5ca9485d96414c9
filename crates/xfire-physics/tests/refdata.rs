//! Validation against the reference tables in `tests/data/` (provenance in
//! `tests/data/README.md`): NIST ESTAR electrons and NIST ASTAR α particles in liquid water.
//! A missing or empty table fails the test. Worst deviations are printed
//! (`cargo test -p xfire-physics --test refdata -- --nocapture`) and recorded in
//! `docs/validation.md`.

use std::path::PathBuf;

use xfire_data::materials::builtin;
use xfire_physics::alpha::AlphaStopping;
use xfire_physics::electron::ElectronStopping;

/// A model quantity as a function of energy [MeV].
type Model<'a> = &'a dyn Fn(f64) -> f64;

/// Rows of `tests/data/<file>` as (header → column index, numeric rows; non-numeric cells
/// NaN). Panics when the file is missing or has fewer than `min_rows` rows.
fn read_csv(file: &str, min_rows: usize) -> (Vec<String>, Vec<Vec<f64>>) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reference table {} unreadable: {e}", path.display()));
    let mut lines = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let rows = lines
        .map(|l| {
            l.split(',')
                .map(|c| c.trim().parse::<f64>().unwrap_or(f64::NAN))
                .collect()
        })
        .collect::<Vec<Vec<f64>>>();
    assert!(
        rows.len() >= min_rows,
        "{}: {} rows, expected at least {min_rows}",
        path.display(),
        rows.len()
    );
    (header, rows)
}

fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("column {name} missing"))
}

/// Worst relative deviation of `f(E)` from column `name` over rows with E in [lo, hi]
/// (panics when no row lies in the range or a reference value is not a number).
fn worst(
    header: &[String],
    rows: &[Vec<f64>],
    name: &str,
    lo: f64,
    hi: f64,
    f: impl Fn(f64) -> f64,
) -> (f64, f64) {
    let (ie, ic) = (0, col(header, name));
    let mut w = (0.0f64, 0.0);
    let mut n = 0;
    for r in rows {
        let e = r[ie];
        if e < lo * (1.0 - 1e-9) || e > hi * (1.0 + 1e-9) {
            continue;
        }
        n += 1;
        assert!(r[ic].is_finite(), "{name} at {e} MeV: not a number");
        let d = f(e) / r[ic] - 1.0;
        if d.abs() > w.0.abs() {
            w = (d, e);
        }
    }
    assert!(n > 0, "{name}: no reference row in [{lo}, {hi}] MeV");
    w
}

#[test]
fn electrons_in_water_match_estar() {
    // ESTAR grid 1 keV - 20 MeV: 69 rows
    let (h, rows) = read_csv("estar_electron_water_liquid.csv", 69);
    let w = ElectronStopping::new(&builtin("water").unwrap()).unwrap();
    let checks: [(&str, f64, Model); 4] = [
        ("collision_stopping_power_MeV_cm2_g", 0.01, &|e| {
            w.collision_stopping_power(e)
        }),
        ("total_stopping_power_MeV_cm2_g", 0.01, &|e| {
            w.total_stopping_power(e)
        }),
        ("csda_range_g_cm2", 0.01, &|e| w.csda_range_g_cm2(e)),
        ("radiative_stopping_power_MeV_cm2_g", 0.01, &|e| {
            w.radiative_stopping_power(e)
        }),
    ];
    for (name, tol, f) in checks {
        let (d, e) = worst(&h, &rows, name, 0.01, 10.0, f);
        println!(
            "ESTAR water {name}, 10 keV-10 MeV: worst {:+.4} % at {e} MeV",
            d * 100.0
        );
        assert!(d.abs() < tol, "{name}: {d} at {e} MeV");
        // 1 keV - 20 MeV, for the record (ESTAR itself is poor below 10 keV)
        let (d, e) = worst(&h, &rows, name, 0.001, 20.0, f);
        println!(
            "ESTAR water {name}, 1 keV-20 MeV: worst {:+.4} % at {e} MeV",
            d * 100.0
        );
        assert!(d.abs() < 0.02, "{name}: {d} at {e} MeV");
    }
    // density effect: absolute difference
    let ic = col(&h, "density_effect_delta");
    let mut worst_delta = 0.0f64;
    let mut n = 0;
    for r in &rows {
        if r[0] >= 0.01 && r[0] <= 20.0 {
            n += 1;
            worst_delta = worst_delta.max((w.density_effect(r[0]) - r[ic]).abs());
        }
    }
    assert!(n > 50, "only {n} δ rows");
    println!("ESTAR water density effect δ, 10 keV-20 MeV: worst |Δδ| = {worst_delta:.5}");
    assert!(worst_delta < 0.01);
    let (d, e) = worst(&h, &rows, "radiation_yield", 0.01, 10.0, |e| {
        w.radiation_yield(e)
    });
    println!(
        "ESTAR water radiation yield, 10 keV-10 MeV: worst {:+.4} % at {e} MeV",
        d * 100.0
    );
    assert!(d.abs() < 0.01);
}

#[test]
fn alphas_in_water_match_astar() {
    // ASTAR grid 0.2 - 10 MeV: 41 rows
    let (h, rows) = read_csv("astar_alpha_water_liquid.csv", 41);
    let a = AlphaStopping::new(&builtin("water").unwrap()).unwrap();
    let checks: [(&str, Model); 5] = [
        ("electronic_stopping_power_MeV_cm2_g", &|e| {
            a.electronic_stopping_power(e)
        }),
        ("nuclear_stopping_power_MeV_cm2_g", &|e| {
            a.nuclear_stopping_power(e)
        }),
        ("total_stopping_power_MeV_cm2_g", &|e| {
            a.total_stopping_power(e)
        }),
        ("csda_range_g_cm2", &|e| a.csda_range_g_cm2(e)),
        ("projected_range_um_water", &|e| {
            a.projected_range_g_cm2(e) * 1e4
        }),
    ];
    for (name, f) in checks {
        let (d, e) = worst(&h, &rows, name, 0.5, 10.0, f);
        println!(
            "ASTAR water {name}, 0.5-10 MeV: worst {:+.4} % at {e} MeV",
            d * 100.0
        );
        assert!(d.abs() < 0.02, "{name}: {d} at {e} MeV");
        let (d, e) = worst(&h, &rows, name, 0.2, 10.0, f);
        println!(
            "ASTAR water {name}, 0.2-10 MeV: worst {:+.4} % at {e} MeV",
            d * 100.0
        );
        assert!(d.abs() < 0.02, "{name}: {d} at {e} MeV");
    }
}
