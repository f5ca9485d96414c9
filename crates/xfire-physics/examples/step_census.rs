//! Where the condensed-history steps of an electron come from (not a test): primaries of a
//! given energy tracked in infinite water with the step model of
//! `xfire_physics::condensed` alone (no voxels: in one material voxel faces end no step),
//! each planned step counted by how it ends — continuous-loss limit, absorption, or a
//! hard-event candidate resolved as elastic, Møller, bremsstrahlung or null (thinning).
//! δ rays are counted apart (their own steps, tracked the same way). Steps at energies
//! whose CSDA range is below `rr_um` [µm] are counted apart too: the engine's range
//! rejection ends many of those tracks early in voxels of twice that size.
//!
//! ```text
//! cargo run --release -p xfire-physics --example step_census -- \
//!     [energy_MeV=0.5] [primaries=20000] [rr_um=25] [scheme=mixed|long] [f_E=0.1]
//! ```

use xfire_core::rng::Rng;
use xfire_data::materials::builtin;
use xfire_physics::condensed::{
    CondensedParams, CondensedTables, ElasticScheme, ElectronState, Secondary, StepEnd,
};

/// Counts: soft limit, absorbed, elastic, Møller, brems, null, steps below the
/// range-rejection energy.
#[derive(Default)]
struct Census {
    n: [u64; 7],
}

const NAMES: [&str; 7] = [
    "energy-loss limit",
    "absorbed (cutoff)",
    "hard elastic",
    "Møller (δ ray)",
    "bremsstrahlung",
    "null (thinning)",
    "of which at E < E_rr",
];

fn track(t: &CondensedTables, e0: f64, e_rr: f64, rng: &mut Rng, c: &mut Census, d: &mut Census) {
    let mut el = ElectronState {
        e_mev: e0,
        dir: [0.0, 0.0, 1.0],
    };
    loop {
        if t.is_absorbed(el.e_mev) {
            return;
        }
        let plan = t.plan_step(el.e_mev, rng);
        if el.e_mev < e_rr {
            c.n[6] += 1;
        }
        el.e_mev -= plan.loss1_mev + plan.loss2_mev;
        match plan.end {
            StepEnd::Soft => c.n[0] += 1,
            StepEnd::Absorbed => {
                c.n[1] += 1;
                return;
            }
            StepEnd::Hard => {
                if t.is_absorbed(el.e_mev) {
                    c.n[1] += 1;
                    return;
                }
                let before = el.dir;
                match t.interact(&mut el, plan.sigma_max, rng) {
                    Some(Secondary::Electron(s)) => {
                        c.n[3] += 1;
                        track(t, s.e_mev, e_rr, rng, d, &mut Census::default());
                    }
                    Some(Secondary::Photon { .. }) => c.n[4] += 1,
                    None if el.dir != before => c.n[2] += 1,
                    None => c.n[5] += 1,
                }
            }
        }
    }
}

fn main() {
    let arg = |i: usize, d: &str| std::env::args().nth(i).unwrap_or_else(|| d.to_string());
    let e0: f64 = arg(1, "0.5").parse().expect("energy");
    let n: u64 = arg(2, "20000").parse().expect("primaries");
    let rr_um: f64 = arg(3, "25").parse().expect("rr_um");
    let scheme = match arg(4, "mixed").as_str() {
        "long" => ElasticScheme::LongStep,
        _ => ElasticScheme::Mixed,
    };
    let params = CondensedParams {
        elastic: scheme,
        max_loss_fraction: arg(5, "0.1").parse().expect("f_E"),
        ..CondensedParams::default()
    };
    let t = CondensedTables::new(&builtin("water").expect("water"), params).expect("tables");
    // energy whose CSDA range is rr_um (bisection)
    let (mut lo, mut hi) = (1e-3, 1.0);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if t.csda_range(mid) < rr_um * 1e-4 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let (mut c, mut d) = (Census::default(), Census::default());
    for h in 0..n {
        let mut rng = Rng::for_stream(7, h, 0);
        track(&t, e0, lo, &mut rng, &mut c, &mut d);
    }
    let total = |x: &Census| x.n[..6].iter().sum::<u64>() as f64 / n as f64;
    println!(
        "{e0} MeV water, {scheme:?}, f_E {}: E_rr = {:.1} keV; steps per primary {:.2} \
         (primary) + {:.2} (δ rays)",
        params.max_loss_fraction,
        lo * 1e3,
        total(&c),
        total(&d)
    );
    for (k, name) in NAMES.iter().enumerate() {
        println!(
            "  {name:24} {:8.2} {:8.2}",
            c.n[k] as f64 / n as f64,
            d.n[k] as f64 / n as f64
        );
    }
}
