//! Time-activity curves (TACs) of the agent at its binding site, and the quantity that
//! sets their scale.
//!
//! A TAC gives the *shape* of the parent's activity at the site after one administration,
//! per unit amplitude \[Bq per Bq of amplitude\]; a [`Quantity`] turns an administration into
//! the amplitude \[Bq\]. Two shapes:
//!
//! * [`Tac::Exponentials`]: biological retention Σ_k f_k e^{−λ_k t} (fractions normalised
//!   to Σ f_k = 1, λ_k = ln 2 / T_bio,k, T = ∞ for none), physical decay applied on top.
//!   With an uptake half-time T_u (λ_u = ln 2 / T_u) the agent reaches the site from an
//!   input compartment: A(t) = amp Σ_k f_k λ_u/(λ_u − λ_k) (e^{−(λ_k+λ_p)t} −
//!   e^{−(λ_u+λ_p)t}) (the amplitude is what the site would hold at t = 0 with instant
//!   uptake); without it A(t) = amp Σ_k f_k e^{−(λ_k+λ_p)t}.
//! * [`Tac::Table`]: measured parent activity at the site (physical decay included) at
//!   times after the administration, per unit amplitude; linear (trapezoid) between points,
//!   linear from (0, 0) to the first point if that is after 0, and an exponential tail
//!   after the last point ([`Tail`]).

use crate::error::{non_negative, positive, positive_or_inf, KResult, KineticsError};

/// One exponential term of a biological retention curve.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ExpTerm {
    /// Relative weight ≥ 0 \[1\] (the terms are normalised to sum 1).
    pub fraction: f64,
    /// Biological half-time of clearance \[s\]; `f64::INFINITY` for none.
    pub half_time_s: f64,
}

/// How a tabulated TAC continues after its last point.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Tail {
    /// Physical decay only from the last point (no further biological clearance).
    Physical,
    /// Mono-exponential through the last two points (effective rate ln(A_{n−1}/A_n)/Δt),
    /// but never slower than physical decay.
    FitLastTwo,
    /// A given effective half-time \[s\] (physical + biological), > 0.
    EffectiveHalfTime(f64),
}

/// The shape of the parent's activity at its site after one administration.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Tac {
    /// Sum of exponentials with an optional uptake phase (see the module doc).
    Exponentials {
        /// The clearance terms.
        terms: Vec<ExpTerm>,
        /// Uptake half-time \[s\]; None for instant uptake.
        uptake_half_time_s: Option<f64>,
    },
    /// Tabulated points (time after administration \[s\], activity per unit amplitude \[1\])
    /// with trapezoid interpolation and an exponential tail.
    Table {
        /// (time \[s\], relative activity \[1\]), times increasing and ≥ 0, values ≥ 0.
        points: Vec<(f64, f64)>,
        /// Continuation after the last point.
        tail: Tail,
    },
}

/// A validated TAC in rates: what the source builder and closed forms use.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TacRates {
    /// (normalised fraction, λ_bio \[1/s\]) per term, and λ_u \[1/s\] (None: instant).
    Exponentials {
        terms: Vec<(f64, f64)>,
        uptake_per_s: Option<f64>,
    },
    /// Points including (0, 0) when the table starts after 0; tail effective rate \[1/s\].
    Table {
        points: Vec<(f64, f64)>,
        tail_per_s: f64,
    },
}

impl Tac {
    /// Physical decay only: the parent stays at the site (one term, no clearance).
    pub fn physical_only() -> Self {
        Tac::Exponentials {
            terms: vec![ExpTerm {
                fraction: 1.0,
                half_time_s: f64::INFINITY,
            }],
            uptake_half_time_s: None,
        }
    }

    /// Mono-exponential biological clearance with half-time `half_time_s` \[s\].
    pub fn mono(half_time_s: f64) -> Self {
        Tac::Exponentials {
            terms: vec![ExpTerm {
                fraction: 1.0,
                half_time_s,
            }],
            uptake_half_time_s: None,
        }
    }

    /// Check the TAC and convert it to rates, for a parent with decay constant
    /// `lambda_p_per_s` \[1/s\].
    pub(crate) fn rates(&self, lambda_p_per_s: f64) -> KResult<TacRates> {
        let ln2 = std::f64::consts::LN_2;
        match self {
            Tac::Exponentials {
                terms,
                uptake_half_time_s,
            } => {
                if terms.is_empty() {
                    return Err(KineticsError::Empty("exponential TAC terms".into()));
                }
                let mut sum = 0.0;
                for (k, t) in terms.iter().enumerate() {
                    sum += non_negative(format!("fraction of TAC term {k}"), t.fraction, "1")?;
                    positive_or_inf(
                        format!("biological half-time of TAC term {k}"),
                        t.half_time_s,
                        "s",
                    )?;
                }
                positive("sum of TAC term fractions", sum, "1")?;
                let uptake_per_s = match uptake_half_time_s {
                    Some(tu) => Some(ln2 / positive("uptake half-time", *tu, "s")?),
                    None => None,
                };
                Ok(TacRates::Exponentials {
                    terms: terms
                        .iter()
                        .map(|t| (t.fraction / sum, ln2 / t.half_time_s))
                        .collect(),
                    uptake_per_s,
                })
            }
            Tac::Table { points, tail } => {
                if points.is_empty() {
                    return Err(KineticsError::Empty("TAC table".into()));
                }
                for (k, &(t, v)) in points.iter().enumerate() {
                    non_negative(format!("time of TAC point {k}"), t, "s")?;
                    non_negative(format!("value of TAC point {k}"), v, "1")?;
                }
                for w in points.windows(2) {
                    if w[1].0 <= w[0].0 {
                        return Err(KineticsError::NotIncreasing {
                            what: "TAC table times".into(),
                            earlier: w[0].0,
                            later: w[1].0,
                        });
                    }
                }
                let mut pts = points.clone();
                if pts[0].0 > 0.0 {
                    pts.insert(0, (0.0, 0.0));
                }
                let tail_per_s = match tail {
                    Tail::Physical => lambda_p_per_s,
                    Tail::EffectiveHalfTime(t) => {
                        ln2 / positive("tail effective half-time", *t, "s")?
                    }
                    Tail::FitLastTwo => {
                        let m = pts.len();
                        if m < 2 {
                            lambda_p_per_s
                        } else {
                            let (t1, v1) = pts[m - 2];
                            let (t2, v2) = pts[m - 1];
                            if v1 > 0.0 && v2 > 0.0 {
                                ((v1 / v2).ln() / (t2 - t1)).max(lambda_p_per_s)
                            } else {
                                lambda_p_per_s
                            }
                        }
                    }
                };
                positive("TAC tail effective rate", tail_per_s, "1/s")?;
                Ok(TacRates::Table {
                    points: pts,
                    tail_per_s,
                })
            }
        }
    }

    /// Parent activity at the site at `t_s` after one administration, per unit amplitude
    /// \[1\] (closed form; 0 before the administration).
    pub fn activity(&self, lambda_p_per_s: f64, t_s: f64) -> KResult<f64> {
        if t_s < 0.0 {
            return Ok(0.0);
        }
        Ok(match self.rates(lambda_p_per_s)? {
            TacRates::Exponentials {
                terms,
                uptake_per_s,
            } => terms
                .iter()
                .map(|&(f, lb)| {
                    let le = lb + lambda_p_per_s;
                    match uptake_per_s {
                        None => f * (-le * t_s).exp(),
                        Some(lu) => {
                            // λu/(λu−λk)(e^{−(λk+λp)t} − e^{−(λu+λp)t}), stable for λu ≈ λk
                            f * lu * t_s * (-le * t_s).exp() * phi1((lu - lb) * t_s)
                        }
                    }
                })
                .sum(),
            TacRates::Table { points, tail_per_s } => {
                let last = points[points.len() - 1];
                if t_s >= last.0 {
                    last.1 * (-tail_per_s * (t_s - last.0)).exp()
                } else {
                    let k = points.partition_point(|p| p.0 <= t_s);
                    let (a, b) = (points[k - 1], points[k]);
                    a.1 + (b.1 - a.1) * (t_s - a.0) / (b.0 - a.0)
                }
            }
        })
    }

    /// Parent decays at the site from the administration to ∞, per unit amplitude \[s\]
    /// (closed form: Σ f_k/(λ_k+λ_p), with uptake Σ f_k λ_u/((λ_k+λ_p)(λ_u+λ_p)); trapezoid
    /// sum + A_last/λ_tail for a table).
    pub fn total_per_amplitude_s(&self, lambda_p_per_s: f64) -> KResult<f64> {
        Ok(match self.rates(lambda_p_per_s)? {
            TacRates::Exponentials {
                terms,
                uptake_per_s,
            } => terms
                .iter()
                .map(|&(f, lb)| {
                    let le = lb + lambda_p_per_s;
                    match uptake_per_s {
                        None => f / le,
                        Some(lu) => f * lu / (le * (lu + lambda_p_per_s)),
                    }
                })
                .sum(),
            TacRates::Table { points, tail_per_s } => {
                let trap: f64 = points
                    .windows(2)
                    .map(|w| 0.5 * (w[0].1 + w[1].1) * (w[1].0 - w[0].0))
                    .sum();
                trap + points[points.len() - 1].1 / tail_per_s
            }
        })
    }
}

/// (1 − e^{−x})/x, = 1 at x = 0, accurate for all x.
pub(crate) fn phi1(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        -(-x).exp_m1() / x
    }
}

/// What sets the amplitude of the TAC for one administration.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Quantity {
    /// Amplitude = administered activity × `uptake_fraction` (fraction of the administered
    /// activity at the site, at the amplitude's reference: t = 0 with instant uptake).
    AdministeredFraction {
        /// Tumour uptake fraction \[1\], in \[0, 1\].
        uptake_fraction: f64,
    },
    /// Amplitude = `bq_per_g` × `mass_g` for the reference administration (the first of the
    /// regimen); other administrations scale with their activity.
    Concentration {
        /// Activity concentration at the site \[Bq/g\].
        bq_per_g: f64,
        /// Mass of the tumour (site) \[g\].
        mass_g: f64,
    },
    /// The parent's decays at the site, from the reference administration to ∞, are
    /// `decays_per_cell` × `labelled_cells`; other administrations scale with activity.
    DecaysPerLabelledCell {
        /// Cumulated decays of the parent per labelled cell \[1\].
        decays_per_cell: f64,
        /// Number of labelled cells (the dose per decay refers to all of them) \[1\].
        labelled_cells: f64,
    },
}

impl Quantity {
    /// Amplitude \[Bq\] for an administration of `activity_bq` \[Bq\], the reference
    /// (first) administration being `reference_bq` \[Bq\].
    pub fn amplitude_bq(
        &self,
        tac: &Tac,
        lambda_p_per_s: f64,
        activity_bq: f64,
        reference_bq: f64,
    ) -> KResult<f64> {
        non_negative("administered activity", activity_bq, "Bq")?;
        let scale = || -> KResult<f64> {
            Ok(activity_bq / positive("reference administered activity", reference_bq, "Bq")?)
        };
        match *self {
            Quantity::AdministeredFraction { uptake_fraction } => {
                let f = non_negative("tumour uptake fraction", uptake_fraction, "1")?;
                if f > 1.0 {
                    return Err(KineticsError::BadValue {
                        what: "tumour uptake fraction".into(),
                        value: f,
                        unit: "1",
                        expected: "in [0, 1]",
                    });
                }
                Ok(activity_bq * f)
            }
            Quantity::Concentration { bq_per_g, mass_g } => {
                Ok(non_negative("activity concentration", bq_per_g, "Bq/g")?
                    * positive("tumour mass", mass_g, "g")?
                    * scale()?)
            }
            Quantity::DecaysPerLabelledCell {
                decays_per_cell,
                labelled_cells,
            } => {
                let n = non_negative("decays per labelled cell", decays_per_cell, "1")?
                    * non_negative("number of labelled cells", labelled_cells, "1")?;
                Ok(n / tac.total_per_amplitude_s(lambda_p_per_s)? * scale()?)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const LN2: f64 = std::f64::consts::LN_2;
    const H: f64 = 3600.0;

    #[test]
    fn closed_forms_and_table() {
        let lp = LN2 / (6.647 * 24.0 * H);
        let tac = Tac::mono(40.0 * H);
        let lb = LN2 / (40.0 * H);
        assert!((tac.total_per_amplitude_s(lp).unwrap() * (lb + lp) - 1.0).abs() < 1e-15);
        assert!(
            (tac.activity(lp, 10.0 * H).unwrap() - (-(lb + lp) * 10.0 * H).exp()).abs() < 1e-15
        );
        // uptake equal to clearance: limit λu t e^{−(λ+λp)t}
        let t = Tac::Exponentials {
            terms: vec![ExpTerm {
                fraction: 2.0,
                half_time_s: 10.0 * H,
            }],
            uptake_half_time_s: Some(10.0 * H),
        };
        let l = LN2 / (10.0 * H);
        let a = t.activity(lp, 5.0 * H).unwrap();
        assert!((a - l * 5.0 * H * (-(l + lp) * 5.0 * H).exp()).abs() < 1e-14);
        // table: trapezoid + physical tail; A(0)=0 prepended
        let tab = Tac::Table {
            points: vec![(H, 1.0), (3.0 * H, 0.5)],
            tail: Tail::Physical,
        };
        let tot = tab.total_per_amplitude_s(lp).unwrap();
        let exact = 0.5 * H + 0.75 * 2.0 * H + 0.5 / lp;
        assert!((tot / exact - 1.0).abs() < 1e-15);
        assert_eq!(tab.activity(lp, 2.0 * H).unwrap(), 0.75);
        assert_eq!(tab.activity(lp, 0.5 * H).unwrap(), 0.5);
        let fit = Tac::Table {
            points: vec![(H, 1.0), (3.0 * H, 0.5)],
            tail: Tail::FitLastTwo,
        };
        assert!((fit.activity(lp, 5.0 * H).unwrap() - 0.25).abs() < 1e-15);
    }

    #[test]
    fn bad_tacs_and_quantities_are_rejected() {
        let lp = 1e-6;
        assert!(Tac::Exponentials {
            terms: vec![],
            uptake_half_time_s: None
        }
        .rates(lp)
        .is_err());
        assert!(Tac::mono(-1.0).rates(lp).is_err());
        assert!(Tac::mono(f64::NAN).rates(lp).is_err());
        assert!(Tac::Table {
            points: vec![(2.0, 1.0), (1.0, 1.0)],
            tail: Tail::Physical
        }
        .rates(lp)
        .is_err());
        assert!(Tac::Table {
            points: vec![],
            tail: Tail::Physical
        }
        .rates(lp)
        .is_err());
        let q = Quantity::AdministeredFraction {
            uptake_fraction: 1.5,
        };
        assert!(q.amplitude_bq(&Tac::mono(1.0), lp, 1.0, 1.0).is_err());
        let q = Quantity::DecaysPerLabelledCell {
            decays_per_cell: 100.0,
            labelled_cells: 10.0,
        };
        let amp = q.amplitude_bq(&Tac::physical_only(), lp, 2.0, 1.0).unwrap();
        assert!((amp / lp / 2000.0 - 1.0).abs() < 1e-15);
        assert!(q
            .amplitude_bq(&Tac::physical_only(), lp, -2.0, 1.0)
            .is_err());
    }
}
