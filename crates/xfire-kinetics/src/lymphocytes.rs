//! Lymphocyte exposure models on a dose-rate field given per target position (cell or voxel)
//! as dose per decay of each component, with the components' exact decay rates:
//!
//! * (a) resident tumour-infiltrating lymphocytes ([`resident_exposure`]): at fixed
//!   positions from the first administration on;
//! * (b) arriving cohorts ([`cohort_exposure`]): lymphocytes entering at t_in and residing
//!   τ, dose ∫_{t_in}^{t_in+τ} Ḋ dt per position, summarised as a distribution;
//! * (c) migrating lymphocytes: [`crate::walk`];
//! * (d) circulating blood ([`circulating_exposure`]): self-dose from activity in the blood
//!   plus the cross-dose while transiting the tumour's vessels.
//!
//! Every exposure carries, per position, the dose split into α and low-LET parts, the
//! low-LET G factor, BED = RBE·D_α + D_β (1 + G D_β/(α/β)) and the LQ surviving fraction;
//! the surviving fraction of the population is the mean over positions.
//!
//! **Blood self-dose** (MIRD schema with absorbed fraction 1 for non-penetrating
//! radiation, as in the EANM blood-dosimetry SOP: Lassmann M, Hänscheid H, Chiesa C et al.,
//! EANM Dosimetry Committee SOP I: blood and bone-marrow dosimetry in differentiated thyroid
//! cancer therapy, Eur J Nucl Med Mol Imaging 2008;35:1405–1412, whose ¹³¹I coefficient
//! 108 Gy·ml/(GBq·h) is the same formula; grade C, not re-read here):
//! D_blood = Σ_j Ñ_j E_np,j / m_blood, Ñ_j the decays of member j in the blood \[1\], E_np,j
//! its non-penetrating energy per decay \[J\] (β⁻, β⁺ kinetic, conversion and Auger electrons;
//! α separately), m_blood the blood mass \[kg\]. The whole-body photon term of the SOP is not
//! included (no verified ¹⁷⁷Lu analogue; refdata biology-numbers.md §3b). For ¹⁷⁷Lu this gives
//! 85.3 Gy·ml/(GBq·h) at unit density (biology-numbers.md §3b, derived).
//! **Cross-dose from the tumour**: a circulating lymphocyte spends a fraction f of its time
//! in the tumour's vessels (for well-mixed blood: tumour vascular blood volume / total blood
//! volume) and receives f × the vessel voxels' dose rate there.

use crate::compartments::Evolution;
use crate::dose_time::{
    dose_timeline, protraction_between_sources, DoseField, DoseTimeline, ProtractionOptions,
    SourceField, SplitDose, TargetProtraction,
};
use crate::error::{non_negative, positive, KResult, KineticsError};
use crate::noise::{population_survivals, CellNoise, SurvivalEstimate};
use crate::radiobiology::{surviving_fraction, LqParameters, Protraction};
use crate::sources::SourceKinetics;
use xfire_data::nuclides::Recoil;

/// Default quantile levels of exposure summaries \[1\].
pub const DEFAULT_QUANTILES: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// J per MeV.
const J_PER_MEV: f64 = 1.602_176_634e-13;

/// Quantiles of `values` at levels `probs` in \[0, 1\] (linear interpolation between order
/// statistics, "type 7"). Errors: empty values, NaN values, levels outside \[0, 1\].
pub fn quantiles(values: &[f64], probs: &[f64]) -> KResult<Vec<f64>> {
    if values.is_empty() {
        return Err(KineticsError::Empty("values for quantiles".into()));
    }
    let mut v = values.to_vec();
    for &x in &v {
        if x.is_nan() {
            return Err(KineticsError::BadValue {
                what: "value for quantiles".into(),
                value: x,
                unit: "1",
                expected: "not NaN",
            });
        }
    }
    v.sort_by(f64::total_cmp);
    probs
        .iter()
        .map(|&p| {
            if !(0.0..=1.0).contains(&p) {
                return Err(KineticsError::BadValue {
                    what: "quantile level".into(),
                    value: p,
                    unit: "1",
                    expected: "in [0, 1]",
                });
            }
            let h = p * (v.len() - 1) as f64;
            let lo = h.floor() as usize;
            let hi = (lo + 1).min(v.len() - 1);
            Ok(v[lo] + (h - lo as f64) * (v[hi] - v[lo]))
        })
        .collect()
}

/// Mean, extremes and quantiles of a per-position quantity.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Distribution {
    /// Mean \[unit of the quantity\].
    pub mean: f64,
    /// Minimum.
    pub min: f64,
    /// Maximum.
    pub max: f64,
    /// (level \[1\], value) pairs.
    pub quantiles: Vec<(f64, f64)>,
}

impl Distribution {
    /// Summary of `values` at [`DEFAULT_QUANTILES`].
    pub fn of(values: &[f64]) -> KResult<Self> {
        let q = quantiles(values, &DEFAULT_QUANTILES)?;
        Ok(Self {
            mean: values.iter().sum::<f64>() / values.len() as f64,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            quantiles: DEFAULT_QUANTILES.iter().copied().zip(q).collect(),
        })
    }

    /// The value at quantile level `p` if it is one of the stored levels.
    pub fn quantile(&self, p: f64) -> Option<f64> {
        self.quantiles
            .iter()
            .find(|(l, _)| (l - p).abs() < 1e-12)
            .map(|x| x.1)
    }
}

/// Exposure of lymphocytes at a set of positions.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Exposure {
    /// Absorbed dose per position, α and low-LET \[Gy\].
    pub dose: SplitDose,
    /// Low-LET dose and G factor per position.
    pub low_let: Vec<Protraction>,
    /// RBE-weighted dose RBE·D_α + D_β per position \[Gy\].
    pub rbe_weighted_gy: Vec<f64>,
    /// BED = RBE·D_α + D_β (1 + G D_β/(α/β)) per position \[Gy\] (with Monte Carlo noise:
    /// D_β² replaced by its unbiased estimate D̂_β² − σ²).
    pub bed_gy: Vec<f64>,
    /// LQ surviving fraction per position \[1\] (with Monte Carlo noise: the posterior
    /// expectation of [`crate::noise`]).
    pub survival: Vec<f64>,
    /// Mean surviving fraction over positions: the fraction of the lymphocytes surviving \[1\]
    /// (= `survival_estimate.value`).
    pub surviving_fraction: f64,
    /// The surviving fraction with its Monte Carlo uncertainty, interval and flag.
    pub survival_estimate: SurvivalEstimate,
    /// The surviving fraction of the α-hit model ([`crate::hits`]), when its single-hit
    /// spectrum was given.
    pub alpha_hit_estimate: Option<SurvivalEstimate>,
    /// Distribution of the RBE-weighted dose \[Gy\].
    pub rbe_weighted_summary: Distribution,
    /// Distribution of BED \[Gy\].
    pub bed_summary: Distribution,
    /// Distribution of the surviving fraction \[1\].
    pub survival_summary: Distribution,
}

/// Monte Carlo noise of the targets and the α-hit coefficient, for the noise-corrected
/// survival ([`crate::noise`]).
#[derive(Debug, Clone, Copy)]
pub struct NoiseInput<'a> {
    /// Relative uncertainties and classes of the targets.
    pub cells: &'a CellNoise,
    /// α-hit coefficient (1 − E\[e^{−α_α z₁}\])/z̄_F \[1/Gy\] ([`crate::hits`]), if known.
    pub alpha_hit_coeff_per_gy: Option<f64>,
}

impl Exposure {
    /// Exposure from per-position doses and G factors, for LQ parameters `lq` (doses taken as
    /// exact).
    pub fn from_protraction(tp: TargetProtraction, lq: &LqParameters) -> KResult<Self> {
        Self::from_protraction_noisy(tp, lq, None)
    }

    /// As [`Exposure::from_protraction`], with the doses' Monte Carlo noise removed from
    /// survival and BED when `noise` is given ([`crate::noise`]).
    pub fn from_protraction_noisy(
        tp: TargetProtraction,
        lq: &LqParameters,
        noise: Option<NoiseInput<'_>>,
    ) -> KResult<Self> {
        lq.validate()?;
        let n = tp.low_let.len();
        let mut rbe_w = Vec::with_capacity(n);
        let mut bed = Vec::with_capacity(n);
        let mut surv = Vec::with_capacity(n);
        for i in 0..n {
            let (da, p) = (tp.dose.alpha[i], tp.low_let[i]);
            let var_l = noise.map_or(0.0, |x| {
                let r = x.cells.rel_low_let.get(i).copied().unwrap_or(0.0);
                if r.is_finite() {
                    (r * p.dose_gy).powi(2)
                } else {
                    0.0
                }
            });
            rbe_w.push(lq.rbe_alpha * da + p.dose_gy);
            bed.push(
                lq.rbe_alpha * da
                    + p.dose_gy
                    + p.g * (p.dose_gy * p.dose_gy - var_l) / lq.alpha_beta_gy,
            );
            surv.push(surviving_fraction(da, p, lq));
        }
        let mut estimate = SurvivalEstimate::exact(surv.iter().sum::<f64>() / n.max(1) as f64);
        let mut alpha_hit = None;
        if let (Some(x), true) = (noise, n > 0) {
            let mut coeffs = vec![lq.alpha_per_gy * lq.rbe_alpha];
            coeffs.extend(x.alpha_hit_coeff_per_gy);
            let mut pop = population_survivals(&tp.dose.alpha, &tp.low_let, lq, x.cells, &coeffs)?;
            alpha_hit = pop.get(1).map(|p| p.estimate);
            let mean_dose = pop.swap_remove(0);
            estimate = mean_dose.estimate;
            surv = mean_dose.per_cell;
        }
        Ok(Self {
            surviving_fraction: estimate.value,
            survival_estimate: estimate,
            alpha_hit_estimate: alpha_hit,
            rbe_weighted_summary: Distribution::of(&rbe_w)?,
            bed_summary: Distribution::of(&bed)?,
            survival_summary: Distribution::of(&surv)?,
            dose: tp.dose,
            low_let: tp.low_let,
            rbe_weighted_gy: rbe_w,
            bed_gy: bed,
            survival: surv,
        })
    }
}

/// Lymphocytes entering at `arrival_s` and residing `residence_s`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cohort {
    /// Arrival time \[s\] (same clock as the administrations).
    pub arrival_s: f64,
    /// Residence time in the tumour \[s\] (> 0).
    pub residence_s: f64,
}

/// (b) Exposure of a cohort at every target position of `field` (one lymphocyte per
/// position): dose in \[t_in, t_in + τ\] (exact), G over that interval, BED and survival.
pub fn cohort_exposure(
    ev: &Evolution,
    field: &DoseField,
    cohort: Cohort,
    lq: &LqParameters,
    opts: ProtractionOptions,
) -> KResult<Exposure> {
    cohort_exposure_noisy(ev, field, cohort, lq, opts, None)
}

/// As [`cohort_exposure`], with the Monte Carlo noise of the field's targets removed from
/// survival and BED ([`crate::noise`]) when `noise` is given.
pub fn cohort_exposure_noisy(
    ev: &Evolution,
    field: &DoseField,
    cohort: Cohort,
    lq: &LqParameters,
    opts: ProtractionOptions,
    noise: Option<NoiseInput<'_>>,
) -> KResult<Exposure> {
    crate::error::finite("cohort arrival time", cohort.arrival_s, "s")?;
    positive("cohort residence time", cohort.residence_s, "s")?;
    let tp = protraction_between_sources(
        &[SourceField {
            evolution: ev,
            field,
            weight: 1.0,
        }],
        cohort.arrival_s,
        cohort.arrival_s + cohort.residence_s,
        lq.repair_half_time_s,
        opts,
    )?;
    Exposure::from_protraction_noisy(tp, lq, noise)
}

/// (a) Resident lymphocytes at every target position, exposed from the first
/// administration until `until_s` \[s\].
pub fn resident_exposure(
    ev: &Evolution,
    field: &DoseField,
    until_s: f64,
    lq: &LqParameters,
    opts: ProtractionOptions,
) -> KResult<Exposure> {
    resident_exposure_noisy(ev, field, until_s, lq, opts, None)
}

/// As [`resident_exposure`], with the Monte Carlo noise of the field's targets removed
/// ([`crate::noise`]) when `noise` is given.
pub fn resident_exposure_noisy(
    ev: &Evolution,
    field: &DoseField,
    until_s: f64,
    lq: &LqParameters,
    opts: ProtractionOptions,
    noise: Option<NoiseInput<'_>>,
) -> KResult<Exposure> {
    let Some(first) = ev.first_time_s() else {
        return Err(KineticsError::Empty("administrations of the source".into()));
    };
    if until_s <= first {
        return Err(KineticsError::BadValue {
            what: "end of resident exposure".into(),
            value: until_s,
            unit: "s",
            expected: "after the first administration",
        });
    }
    cohort_exposure_noisy(
        ev,
        field,
        Cohort {
            arrival_s: first,
            residence_s: until_s - first,
        },
        lq,
        opts,
        noise,
    )
}

/// (a) Dose rate and cumulative dose of resident lymphocytes on a time grid \[s\].
pub fn resident_dose_timeline(
    ev: &Evolution,
    field: &DoseField,
    times_s: &[f64],
) -> KResult<DoseTimeline> {
    dose_timeline(ev, field, times_s)
}

/// Energy per decay deposited locally in blood \[MeV\].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LocalEnergy {
    /// β⁻, β⁺ (kinetic), conversion and Auger electrons \[MeV\].
    pub low_let_mev: f64,
    /// α particles, and their recoil nuclei unless excluded \[MeV\].
    pub alpha_mev: f64,
}

/// Non-penetrating energy per decay of `nuclide` from the ICRP-107 library \[MeV\]; the α
/// part holds the radiations of `recoil.alpha_set()`, as the transported α part does.
pub fn non_penetrating_energy(nuclide: &str, recoil: Recoil) -> KResult<LocalEnergy> {
    use xfire_data::nuclides::Radiation as R;
    let lib = xfire_data::nuclides::library();
    let n = lib.resolve(nuclide).map_err(|e| KineticsError::Unknown {
        what: "nuclide",
        name: nuclide.to_string(),
        known: e.to_string(),
    })?;
    Ok(LocalEnergy {
        low_let_mev: [R::BetaMinus, R::BetaPlus, R::Ic, R::Auger]
            .iter()
            .map(|r| n.energy_per_decay_mev(*r))
            .sum(),
        alpha_mev: recoil
            .alpha_set()
            .types()
            .iter()
            .map(|r| n.energy_per_decay_mev(*r))
            .sum(),
    })
}

/// Blood self-dose per decay as a one-target dose field \[Gy/decay\]: components of `blood`
/// at `blood_site` deposit their non-penetrating energy (α recoils as `recoil` says) in
/// `blood_mass_g` \[g\]; other components contribute nothing.
pub fn blood_self_dose_field(
    blood: &SourceKinetics,
    blood_site: &str,
    blood_mass_g: f64,
    recoil: Recoil,
) -> KResult<DoseField> {
    let m_kg = positive("blood mass", blood_mass_g, "g")? * 1e-3;
    let mut low = Vec::new();
    let mut alpha = Vec::new();
    for c in blood.components() {
        let (l, a) = if c.site == blood_site {
            let e = non_penetrating_energy(&c.nuclide, recoil)?;
            (
                e.low_let_mev * J_PER_MEV / m_kg,
                e.alpha_mev * J_PER_MEV / m_kg,
            )
        } else {
            (0.0, 0.0)
        };
        low.push(vec![l]);
        alpha.push(vec![a]);
    }
    DoseField::new(low, alpha)
}

/// The tumour as seen by circulating lymphocytes: its kinetics, its dose field and the
/// target index of the vessel voxels, and the fraction of time spent there.
#[derive(Debug, Clone, Copy)]
pub struct TumourTransit<'a> {
    /// The tumour source's kinetics.
    pub evolution: &'a Evolution,
    /// Dose per decay of the tumour's components at its targets.
    pub field: &'a DoseField,
    /// Target index of the (mean over) tumour vessel voxels.
    pub vessel_target: usize,
    /// Fraction of time a circulating lymphocyte spends in the tumour's vessels \[1\].
    pub fraction_of_time: f64,
}

/// Activity in the blood: its kinetics, the site name of its blood components and the
/// blood mass.
#[derive(Debug, Clone, Copy)]
pub struct Blood<'a> {
    /// Kinetics of the activity in the blood (e.g. a bi-exponential blood TAC).
    pub kinetics: &'a SourceKinetics,
    /// Site name of the components that are in the blood.
    pub site: &'a str,
    /// Blood mass \[g\] (volume \[ml\] × 1.06 g/ml).
    pub mass_g: f64,
    /// α recoils: local (in the α dose) or excluded, as in the transport.
    pub recoil: Recoil,
}

/// (d) Exposure of circulating blood lymphocytes in \[t0_s, t1_s\] \[s\]: blood self-dose of
/// `blood`, plus the tumour transit cross-dose; one target.
pub fn circulating_exposure(
    blood: Blood<'_>,
    tumour: Option<TumourTransit<'_>>,
    t0_s: f64,
    t1_s: f64,
    lq: &LqParameters,
    opts: ProtractionOptions,
) -> KResult<Exposure> {
    let (recoil, blood_site, blood_mass_g) = (blood.recoil, blood.site, blood.mass_g);
    let blood = blood.kinetics;
    let self_field = blood_self_dose_field(blood, blood_site, blood_mass_g, recoil)?;
    let mut sources = vec![SourceField {
        evolution: blood.evolution(),
        field: &self_field,
        weight: 1.0,
    }];
    let vessel_field;
    if let Some(t) = tumour {
        let f = non_negative(
            "fraction of time in tumour vessels",
            t.fraction_of_time,
            "1",
        )?;
        if f > 1.0 || t.vessel_target >= t.field.n_targets() {
            return Err(KineticsError::BadValue {
                what: format!(
                    "tumour transit (fraction {f}, vessel target {} of {})",
                    t.vessel_target,
                    t.field.n_targets()
                ),
                value: f,
                unit: "1",
                expected: "a fraction in [0, 1] and a valid vessel target",
            });
        }
        vessel_field = DoseField::new(
            t.field
                .low_let()
                .iter()
                .map(|d| vec![d[t.vessel_target]])
                .collect(),
            t.field
                .alpha()
                .iter()
                .map(|d| vec![d[t.vessel_target]])
                .collect(),
        )?;
        sources.push(SourceField {
            evolution: t.evolution,
            field: &vessel_field,
            weight: f,
        });
    }
    let tp = protraction_between_sources(&sources, t0_s, t1_s, lq.repair_half_time_s, opts)?;
    Exposure::from_protraction(tp, lq)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{Administration, Chain};
    use crate::sources::SourceModel;
    use crate::tac::{ExpTerm, Quantity, Tac};

    const LN2: f64 = std::f64::consts::LN_2;
    const H: f64 = 3600.0;
    const D: f64 = 86400.0;

    fn rel(a: f64, b: f64) -> f64 {
        if a == b {
            0.0
        } else {
            (a - b).abs() / b.abs()
        }
    }

    #[test]
    fn quantiles_type7() {
        let v = [5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(
            quantiles(&v, &[0.0, 0.5, 1.0, 0.25]).unwrap(),
            vec![1.0, 3.0, 5.0, 2.0]
        );
        assert_eq!(quantiles(&[1.0, 2.0], &[0.5]).unwrap(), vec![1.5]);
        assert!(quantiles(&[], &[0.5]).is_err());
        assert!(quantiles(&[1.0], &[1.5]).is_err());
        assert!(quantiles(&[f64::NAN], &[0.5]).is_err());
        let d = Distribution::of(&v).unwrap();
        assert_eq!((d.mean, d.min, d.max), (3.0, 1.0, 5.0));
        assert_eq!(d.quantile(0.5), Some(3.0));
    }

    fn lu(t_eff_h: f64) -> SourceKinetics {
        let ch = Chain::from_library("Lu-177").unwrap();
        let lp = ch.members()[0].decay_constant_per_s;
        let tb = LN2 / (LN2 / (t_eff_h * H) - lp);
        SourceModel::retained(
            ch,
            "cells",
            Tac::mono(tb),
            Quantity::AdministeredFraction {
                uptake_fraction: 1.0,
            },
        )
        .build(&[Administration {
            time_s: 0.0,
            activity_bq: 1e6,
        }])
        .unwrap()
    }

    #[test]
    fn cohort_dose_is_the_interval_integral_and_survival_closed_form() {
        let k = lu(40.0);
        let le = LN2 / (40.0 * H);
        // positions with dose per decay 0, 1, 2, 3 × 1e-11 Gy (about 0.3–1 Gy)
        let f = DoseField::low_let_only(vec![vec![0.0, 1e-11, 2e-11, 3e-11]]).unwrap();
        let lq = LqParameters::lymphocyte();
        let c = Cohort {
            arrival_s: 3.0 * D,
            residence_s: 2.0 * D,
        };
        let e = cohort_exposure(k.evolution(), &f, c, &lq, ProtractionOptions::default()).unwrap();
        let n = 1e6 * (-le * 3.0 * D).exp() * -(-le * 2.0 * D).exp_m1() / le;
        // G of a truncated exponential Ḋ₀e^{−λt} on [0, T]: closed form via the recursion of
        // one exponential piece (exact), independent of the sampling
        let piece = crate::radiobiology::DoseRatePiece {
            duration_s: 2.0 * D,
            rate0_gy_per_s: 1.0,
            decay_per_s: le,
        };
        let g = crate::radiobiology::protraction(&[piece], lq.repair_half_time_s)
            .unwrap()
            .g;
        let mut worst: f64 = 0.0;
        for i in 1..4 {
            let d = i as f64 * 1e-11 * n;
            worst = worst.max(rel(e.dose.low_let[i], d));
            worst = worst.max(rel(e.low_let[i].g, g));
            let beta = lq.alpha_per_gy / lq.alpha_beta_gy;
            worst = worst.max(rel(
                e.survival[i],
                (-lq.alpha_per_gy * d - beta * g * d * d).exp(),
            ));
        }
        eprintln!("cohort dose/G/survival vs closed form: max rel {worst:.1e}");
        assert!(worst < 1e-9);
        assert_eq!(e.survival[0], 1.0);
        assert!(rel(e.surviving_fraction, e.survival.iter().sum::<f64>() / 4.0) < 1e-15);
        // resident from t = 0 to 3 d + cohort from 3 d for 2 d = resident to 5 d (dose)
        let r3 = resident_exposure(
            k.evolution(),
            &f,
            3.0 * D,
            &lq,
            ProtractionOptions::default(),
        )
        .unwrap();
        let r5 = resident_exposure(
            k.evolution(),
            &f,
            5.0 * D,
            &lq,
            ProtractionOptions::default(),
        )
        .unwrap();
        assert!(rel(r3.dose.low_let[3] + e.dose.low_let[3], r5.dose.low_let[3]) < 1e-12);
        assert!(r5.survival[3] < r3.survival[3]);
        assert!(cohort_exposure(
            k.evolution(),
            &f,
            Cohort {
                arrival_s: 0.0,
                residence_s: 0.0
            },
            &lq,
            ProtractionOptions::default()
        )
        .is_err());
    }

    #[test]
    fn blood_self_dose_coefficient_lu177() {
        // 1 GBq·h in 1 ml (1 g): k = 85.3 Gy (biology-numbers.md §3b, derived)
        let ch = Chain::from_library("Lu-177").unwrap();
        let lp = ch.members()[0].decay_constant_per_s;
        let k = SourceModel::retained(
            ch,
            "blood",
            Tac::Exponentials {
                terms: vec![ExpTerm {
                    fraction: 1.0,
                    half_time_s: 10.8 * H,
                }],
                uptake_half_time_s: None,
            },
            Quantity::AdministeredFraction {
                uptake_fraction: 1.0,
            },
        )
        .build(&[Administration {
            time_s: 0.0,
            activity_bq: 1e9,
        }])
        .unwrap();
        let f = blood_self_dose_field(&k, "blood", 1.0, Recoil::Local).unwrap();
        let n_tot = k.total_decays()[0];
        let gbq_h = n_tot / 1e9 / 3600.0;
        let d = f.low_let()[0][0] * n_tot;
        let coeff = d / gbq_h;
        eprintln!("Lu-177 blood self-dose coefficient: {coeff:.2} Gy ml/(GBq h) (ref 85.3)");
        assert!((coeff - 85.3).abs() < 0.1);
        assert_eq!(f.alpha()[0][0], 0.0);
        let _ = lp;
        // exposure: self-dose only, then with tumour transit at 2 % of the time
        let lq = LqParameters::lymphocyte();
        let e = circulating_exposure(
            Blood {
                kinetics: &k,
                site: "blood",
                mass_g: 5000.0,
                recoil: Recoil::Local,
            },
            None,
            0.0,
            30.0 * D,
            &lq,
            ProtractionOptions::default(),
        )
        .unwrap();
        let exact = f.low_let()[0][0] / 5000.0 * k.decays(0.0, 30.0 * D).unwrap()[0];
        assert!(rel(e.dose.low_let[0], exact) < 1e-12);
        let tum = lu(60.0);
        let tf = DoseField::low_let_only(vec![vec![5e-9, 2e-9]]).unwrap();
        let tr = TumourTransit {
            evolution: tum.evolution(),
            field: &tf,
            vessel_target: 1,
            fraction_of_time: 0.02,
        };
        let e2 = circulating_exposure(
            Blood {
                kinetics: &k,
                site: "blood",
                mass_g: 5000.0,
                recoil: Recoil::Local,
            },
            Some(tr),
            0.0,
            30.0 * D,
            &lq,
            ProtractionOptions::default(),
        )
        .unwrap();
        let cross = 0.02 * 2e-9 * tum.decays(0.0, 30.0 * D).unwrap()[0];
        assert!(rel(e2.dose.low_let[0], exact + cross) < 1e-12);
        let bad = TumourTransit {
            vessel_target: 2,
            ..tr
        };
        assert!(circulating_exposure(
            Blood {
                kinetics: &k,
                site: "blood",
                mass_g: 5000.0,
                recoil: Recoil::Local,
            },
            Some(bad),
            0.0,
            D,
            &lq,
            ProtractionOptions::default()
        )
        .is_err());
        // α emitters: alpha energy separately (Ac-225 ≈ 5.8 MeV α per decay), recoil
        // (≈ 0.1 MeV) in it only when local
        let e = non_penetrating_energy("Ac-225", Recoil::Exclude).unwrap();
        assert!(e.alpha_mev > 5.7 && e.alpha_mev < 5.95, "{}", e.alpha_mev);
        let l = non_penetrating_energy("Ac-225", Recoil::Local).unwrap();
        let ac = xfire_data::nuclides::library().resolve("Ac-225").unwrap();
        let rec = ac.energy_per_decay_mev(xfire_data::nuclides::Radiation::AlphaRecoil);
        assert!(rec > 0.08 && rec < 0.15, "{rec}");
        assert!((l.alpha_mev - e.alpha_mev - rec).abs() < 1e-12);
        assert_eq!(l.low_let_mev, e.low_let_mev);
        assert!(non_penetrating_energy("Xx-999", Recoil::Local).is_err());
    }
}
