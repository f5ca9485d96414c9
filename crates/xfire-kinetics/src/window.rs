//! The immunotherapy window: for each candidate start day, the exposure of lymphocytes
//! arriving then (cohort model (b) of [`crate::lymphocytes`]), the earliest day at which
//! their surviving fraction reaches a target, and how much of the tumour's dose has been
//! delivered by then; for multi-cycle regimens, the windows between cycles.
//!
//! Days are counted from the first administration (day 0 = the first administration). A
//! cohort arriving on day d resides for τ (`residence_s`), so its dose is
//! ∫_{t_d}^{t_d+τ} Ḋ dt at every lymphocyte position, and its surviving fraction is the mean
//! over positions of the LQ survival (α dose linear with RBE, low-LET dose with its own G).
//! The tumour's dose fraction is D_tumour(0, t_d)/D_tumour(0, ∞) (absorbed dose, α + low
//! LET, of the given tumour target).

use crate::dose_time::{dose_between, dose_total, DoseField, ProtractionOptions};
use crate::error::{finite, positive, KResult, KineticsError};
use crate::lymphocytes::{cohort_exposure_noisy, Cohort, Distribution, Exposure, NoiseInput};
use crate::noise::{ComponentNoise, SurvivalEstimate};
use crate::radiobiology::{LqGrades, LqParameters};
use crate::sources::SourceKinetics;
use crate::walk::{migrating_exposure, WalkGrid, WalkParameters};

use xfire_core::constants::DAY_S;

/// What to scan and what counts as "safe".
#[derive(Debug, Clone, PartialEq)]
pub struct WindowOptions {
    /// Candidate start days after the first administration \[d\] (default 0, 1, …, 56).
    pub start_days: Vec<f64>,
    /// Residence time of an arriving cohort in the tumour \[s\].
    pub residence_s: f64,
    /// Surviving fraction to reach \[1\] (default 0.9).
    pub survival_target: f64,
    /// LQ parameters of the lymphocytes (default [`LqParameters::lymphocyte`]).
    pub lq: LqParameters,
    /// Sampling of the G factor.
    pub protraction: ProtractionOptions,
    /// Monte Carlo noise of the lymphocyte targets per component (None: doses taken as
    /// exact); each cohort gets the noise of its own interval's mix of components.
    pub noise: Option<ComponentNoise>,
    /// α-hit coefficient of the lymphocytes \[1/Gy\] ([`crate::hits`]).
    pub alpha_hit_coeff_per_gy: Option<f64>,
}

impl WindowOptions {
    /// Defaults with a residence time `residence_s` \[s\]: days 0–56 daily, target 90 %,
    /// radiosensitive-lymphocyte LQ parameters.
    pub fn new(residence_s: f64) -> Self {
        Self {
            start_days: (0..=56).map(f64::from).collect(),
            residence_s,
            survival_target: 0.9,
            lq: LqParameters::lymphocyte(),
            protraction: ProtractionOptions::default(),
            noise: None,
            alpha_hit_coeff_per_gy: None,
        }
    }
}

/// Exposure of the cohort arriving on one day.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DayExposure {
    /// Start day after the first administration \[d\].
    pub day: f64,
    /// Arrival time \[s\].
    pub arrival_s: f64,
    /// Mean surviving fraction of the cohort \[1\] (noise-corrected when the options carry
    /// the noise).
    pub surviving_fraction: f64,
    /// The surviving fraction with its Monte Carlo uncertainty, interval and flag.
    pub survival_estimate: SurvivalEstimate,
    /// Surviving fraction of the α-hit model, if its coefficient was given.
    pub alpha_hit_estimate: Option<SurvivalEstimate>,
    /// Distribution over positions of the RBE-weighted dose \[Gy\].
    pub rbe_weighted_gy: Distribution,
    /// Distribution of BED \[Gy\].
    pub bed_gy: Distribution,
    /// Distribution of the surviving fraction \[1\].
    pub survival: Distribution,
    /// Fraction of the tumour's total dose delivered before arrival \[1\] (with a tumour target).
    pub tumour_dose_fraction: Option<f64>,
}

/// The candidate days between one administration and the next.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CycleWindow {
    /// Index of the administration (0-based).
    pub cycle: usize,
    /// Day of the administration \[d\].
    pub administration_day: f64,
    /// Day of the next administration \[d\] (None after the last).
    pub next_administration_day: Option<f64>,
    /// Maximal runs (first day, last day) of consecutive candidate days in this cycle whose
    /// cohorts reach the survival target \[d\].
    pub safe_runs_days: Vec<(f64, f64)>,
}

/// Result of the scan.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WindowReport {
    /// One entry per candidate day.
    pub days: Vec<DayExposure>,
    /// The survival target used \[1\].
    pub survival_target: f64,
    /// Earliest candidate day whose cohort reaches the target \[d\].
    pub earliest_day: Option<f64>,
    /// Fraction of the tumour's total dose delivered by the earliest day \[1\].
    pub tumour_dose_fraction_at_earliest: Option<f64>,
    /// Windows per cycle.
    pub cycles: Vec<CycleWindow>,
    /// Quality grades of the LQ parameters used.
    pub grades: LqGrades,
}

/// Scan the candidate days. `lymphocytes` is the dose per decay at the lymphocyte positions;
/// `tumour` optionally the dose field and target index of the tumour (for the fraction of
/// its dose already delivered).
pub fn immunotherapy_window(
    source: &SourceKinetics,
    lymphocytes: &DoseField,
    tumour: Option<(&DoseField, usize)>,
    opts: &WindowOptions,
) -> KResult<WindowReport> {
    scan(source, tumour, opts, |cohort| {
        let noise = match &opts.noise {
            Some(cn) => {
                let end = cohort.arrival_s + cohort.residence_s;
                Some(cn.over(lymphocytes, &source.decays(cohort.arrival_s, end)?)?)
            }
            None => None,
        };
        cohort_exposure_noisy(
            source.evolution(),
            lymphocytes,
            cohort,
            &opts.lq,
            opts.protraction,
            noise.as_ref().map(|cells| NoiseInput {
                cells,
                alpha_hit_coeff_per_gy: opts.alpha_hit_coeff_per_gy,
            }),
        )
    })
}

/// As [`immunotherapy_window`] with migrating lymphocytes (model (c)): on each candidate day
/// `n_walkers` walkers enter `grid` and walk for the residence time; the distributions are
/// over walkers.
pub fn immunotherapy_window_migrating<G: WalkGrid + ?Sized>(
    source: &SourceKinetics,
    grid: &G,
    walk: &WalkParameters,
    n_walkers: usize,
    tumour: Option<(&DoseField, usize)>,
    opts: &WindowOptions,
) -> KResult<WindowReport> {
    scan(source, tumour, opts, |cohort| {
        Ok(
            migrating_exposure(source.evolution(), grid, walk, cohort, n_walkers, &opts.lq)?
                .exposure,
        )
    })
}

fn scan(
    source: &SourceKinetics,
    tumour: Option<(&DoseField, usize)>,
    opts: &WindowOptions,
    mut exposure: impl FnMut(Cohort) -> KResult<Exposure>,
) -> KResult<WindowReport> {
    let ev = source.evolution();
    positive("cohort residence time", opts.residence_s, "s")?;
    let target = opts.survival_target;
    if !(target > 0.0 && target <= 1.0) {
        return Err(KineticsError::BadValue {
            what: "survival target".into(),
            value: target,
            unit: "1",
            expected: "in (0, 1]",
        });
    }
    if opts.start_days.is_empty() {
        return Err(KineticsError::Empty("candidate start days".into()));
    }
    for &d in &opts.start_days {
        finite("candidate start day", d, "d")?;
    }
    crate::compartments::check_grid(&opts.start_days)?;
    let Some(t_first) = ev.first_time_s() else {
        return Err(KineticsError::Empty("administrations of the source".into()));
    };
    let tumour_total = match tumour {
        Some((f, i)) => {
            if i >= f.n_targets() {
                return Err(KineticsError::Index {
                    what: "tumour target".into(),
                    index: i,
                    len: f.n_targets(),
                });
            }
            Some(dose_total(ev, f)?.total()[i])
        }
        None => None,
    };
    let mut days = Vec::with_capacity(opts.start_days.len());
    for &day in &opts.start_days {
        let arrival_s = t_first + day * DAY_S;
        let e = exposure(Cohort {
            arrival_s,
            residence_s: opts.residence_s,
        })?;
        let tumour_dose_fraction = match (tumour, tumour_total) {
            (Some((f, i)), Some(tot)) if tot > 0.0 => {
                let d = if arrival_s > t_first {
                    dose_between(ev, f, t_first, arrival_s)?.total()[i]
                } else {
                    0.0
                };
                Some(d / tot)
            }
            (Some(_), Some(_)) => Some(0.0),
            _ => None,
        };
        days.push(DayExposure {
            day,
            arrival_s,
            surviving_fraction: e.surviving_fraction,
            survival_estimate: e.survival_estimate,
            alpha_hit_estimate: e.alpha_hit_estimate,
            rbe_weighted_gy: e.rbe_weighted_summary,
            bed_gy: e.bed_summary,
            survival: e.survival_summary,
            tumour_dose_fraction,
        });
    }
    let safe = |d: &DayExposure| d.surviving_fraction >= target;
    let earliest = days.iter().find(|d| safe(d));
    let mut admin_days: Vec<f64> = Vec::new();
    for a in source.administrations() {
        let d = (a.time_s - t_first) / DAY_S;
        if !matches!(admin_days.last(), Some(&l) if d <= l + 1e-9) {
            admin_days.push(d);
        }
    }
    let cycles = admin_days
        .iter()
        .enumerate()
        .map(|(k, &a)| {
            let next = admin_days.get(k + 1).copied();
            let mut runs: Vec<(f64, f64)> = Vec::new();
            let mut open = false;
            for d in days
                .iter()
                .filter(|d| d.day >= a && next.into_iter().all(|n| d.day < n))
            {
                if safe(d) {
                    if open {
                        if let Some(r) = runs.last_mut() {
                            r.1 = d.day;
                        }
                    } else {
                        runs.push((d.day, d.day));
                        open = true;
                    }
                } else {
                    open = false;
                }
            }
            CycleWindow {
                cycle: k,
                administration_day: a,
                next_administration_day: next,
                safe_runs_days: runs,
            }
        })
        .collect();
    Ok(WindowReport {
        earliest_day: earliest.map(|d| d.day),
        tumour_dose_fraction_at_earliest: earliest.and_then(|d| d.tumour_dose_fraction),
        survival_target: target,
        cycles,
        grades: opts.lq.grades,
        days,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{Administration, Chain};
    use crate::radiobiology::{protraction, DoseRatePiece};
    use crate::sources::SourceModel;
    use crate::tac::{Quantity, Tac};

    const LN2: f64 = std::f64::consts::LN_2;
    const H: f64 = 3600.0;

    fn source(admins: &[f64]) -> (crate::SourceKinetics, f64) {
        let ch = Chain::from_library("Lu-177").unwrap();
        let lp = ch.members()[0].decay_constant_per_s;
        let le = LN2 / (50.0 * H);
        let k = SourceModel::retained(
            ch,
            "cells",
            Tac::mono(LN2 / (le - lp)),
            Quantity::AdministeredFraction {
                uptake_fraction: 1.0,
            },
        )
        .build(
            &admins
                .iter()
                .map(|&t| Administration {
                    time_s: t,
                    activity_bq: 1e9,
                })
                .collect::<Vec<_>>(),
        )
        .unwrap();
        (k, le)
    }

    #[test]
    fn earliest_day_matches_closed_form() {
        let (k, le) = source(&[0.0]);
        let tau = 3.0 * DAY_S;
        // one lymphocyte position (plus a far one with no dose); tumour target 0
        let dpd = 4e-14; // Gy per decay: cohort on day 0 gets ≈ 4e-14 × 1e9/le × (1 − e^{−λτ})
        let lymph = DoseField::low_let_only(vec![vec![dpd]]).unwrap();
        let tum = DoseField::low_let_only(vec![vec![1e-12]]).unwrap();
        let opts = WindowOptions::new(tau);
        let r = immunotherapy_window(&k, &lymph, Some((&tum, 0)), &opts).unwrap();
        // closed form: D(d) = D0 e^{−λ d}, G constant (shape of e^{−λt} on [0, τ])
        let lq = opts.lq;
        let g = protraction(
            &[DoseRatePiece {
                duration_s: tau,
                rate0_gy_per_s: 1.0,
                decay_per_s: le,
            }],
            lq.repair_half_time_s,
        )
        .unwrap()
        .g;
        let beta = lq.alpha_per_gy / lq.alpha_beta_gy;
        // α D + β G D² = −ln 0.9
        let c = -(0.9_f64).ln();
        let dstar = (-lq.alpha_per_gy + (lq.alpha_per_gy.powi(2) + 4.0 * beta * g * c).sqrt())
            / (2.0 * beta * g);
        let d0 = dpd * 1e9 / le * -(-le * tau).exp_m1();
        let day_star = (d0 / dstar).ln() / (le * DAY_S);
        let expected = day_star.ceil();
        eprintln!(
            "window: D0 {d0:.3} Gy, D* {dstar:.4} Gy, exact day {day_star:.3}, earliest {:?}, tumour fraction {:?}",
            r.earliest_day, r.tumour_dose_fraction_at_earliest
        );
        assert_eq!(r.earliest_day, Some(expected));
        let f = r.tumour_dose_fraction_at_earliest.unwrap();
        assert!((f - -(-le * expected * DAY_S).exp_m1()).abs() < 1e-10);
        // survival increases day by day after a single administration
        for w in r.days.windows(2) {
            assert!(w[1].surviving_fraction >= w[0].surviving_fraction);
        }
        assert_eq!(r.cycles.len(), 1);
        assert_eq!(r.cycles[0].safe_runs_days, vec![(expected, 56.0)]);
        assert_eq!(r.grades.alpha_beta, crate::radiobiology::Grade::C);
    }

    #[test]
    fn migrating_window_in_a_uniform_field_equals_the_cohort_window() {
        let (k, _) = source(&[0.0]);
        let dpd = 4e-14;
        let n = 4;
        let grid = crate::walk::VoxelWalkGrid::new(
            [n; 3],
            [1e-3; 3],
            vec![true; n * n * n],
            vec![0],
            vec![vec![dpd; n * n * n]],
            vec![],
        )
        .unwrap();
        let mut opts = WindowOptions::new(DAY_S);
        opts.start_days = (0..=20).map(f64::from).collect();
        let lymph = DoseField::low_let_only(vec![vec![dpd]]).unwrap();
        let a = immunotherapy_window(&k, &lymph, None, &opts).unwrap();
        let walk = WalkParameters {
            step_s: Some(600.0),
            ..WalkParameters::default()
        };
        let b = immunotherapy_window_migrating(&k, &grid, &walk, 3, None, &opts).unwrap();
        assert_eq!(a.earliest_day, b.earliest_day);
        for (x, y) in a.days.iter().zip(&b.days) {
            assert!((x.rbe_weighted_gy.mean / y.rbe_weighted_gy.mean - 1.0).abs() < 1e-10);
            // G from 10-min constant steps vs converged exponential sampling
            assert!((x.surviving_fraction - y.surviving_fraction).abs() < 1e-4);
        }
    }

    #[test]
    fn windows_between_cycles() {
        let (k, _) = source(&[0.0, 21.0 * DAY_S]);
        let lymph = DoseField::low_let_only(vec![vec![4e-14, 1e-14]]).unwrap();
        let opts = WindowOptions::new(3.0 * DAY_S);
        let r = immunotherapy_window(&k, &lymph, None, &opts).unwrap();
        assert_eq!(r.cycles.len(), 2);
        let c0 = &r.cycles[0].safe_runs_days;
        let c1 = &r.cycles[1].safe_runs_days;
        assert_eq!(r.cycles[1].administration_day, 21.0);
        assert!(!c0.is_empty() && !c1.is_empty());
        // the second cycle adds the tail of the first: its window opens no earlier
        assert!(c1[0].0 - 21.0 >= c0[0].0);
        // a cohort arriving just before the next administration overlaps it: not safe
        assert!(c0.last().unwrap().1 < 20.0);
        assert!(r.tumour_dose_fraction_at_earliest.is_none());
        let mut bad = opts.clone();
        bad.survival_target = 1.5;
        assert!(immunotherapy_window(&k, &lymph, None, &bad).is_err());
        bad = opts.clone();
        bad.start_days = vec![];
        assert!(immunotherapy_window(&k, &lymph, None, &bad).is_err());
    }
}
