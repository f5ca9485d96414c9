//! Dose over time: dose rate and cumulative dose per target (label, cell or voxel) from the
//! components' dose per decay and their exact decay rates.
//!
//! The transport gives, per source component c and target i, the absorbed dose per decay
//! d_c\[i\] \[Gy/decay\], split into the α-particle part and the rest (β, electrons, photons:
//! "low LET"). Then Ḋ_i(t) = Σ_c d_c\[i\] Ṅ_c(t) and D_i(t0, t1) = Σ_c d_c\[i\] N_c(t0, t1), with
//! Ṅ_c and N_c exact ([`crate::compartments::Evolution`]). The arrays are plain `&[f64]`,
//! independent of the tally crate.
//!
//! For the G factor of a target the low-LET dose rate is sampled on a grid (uniform steps
//! plus every administration and table corner, each followed by a geometric cluster of 12
//! points that resolves the fast ingrowth of short-lived daughters) and integrated exactly
//! over exponential pieces through the samples
//! ([`crate::radiobiology::pieces_from_samples`]). Because Ḋ_i = Σ_c v_c Ṅ_c is linear in the
//! components, each component's rate is interpolated once and the repair-weighted cross
//! integrals I_{cc′} of all pairs are computed once per grid
//! ([`crate::radiobiology::cross_integral`]); then G_i = 2 Σ v_c v_c′ I_{cc′} / D_i² costs
//! O(components²) per target, however many targets. The grid is doubled until G changes by
//! less than the tolerance at every target (default 1e-4; with second-order convergence the
//! error left is about a third of the last change). The dose itself is always the exact one.

use crate::compartments::{check_grid, Evolution};
use crate::error::{finite, non_negative, KResult, KineticsError};
use crate::radiobiology::Protraction;

/// Dose per decay of every component at every target, low-LET and α parts.
#[derive(Debug, Clone, PartialEq)]
pub struct DoseField {
    n_targets: usize,
    /// `low_let[c][i]` \[Gy/decay\].
    low_let: Vec<Vec<f64>>,
    /// `alpha[c][i]` \[Gy/decay\].
    alpha: Vec<Vec<f64>>,
}

/// Per-target values of a dose quantity, split into low-LET and α parts.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SplitDose {
    /// Low-LET part per target \[Gy or Gy/s\].
    pub low_let: Vec<f64>,
    /// α-particle part per target \[Gy or Gy/s\].
    pub alpha: Vec<f64>,
}

impl SplitDose {
    /// Absorbed dose (or rate), low-LET + α, per target \[Gy or Gy/s\].
    pub fn total(&self) -> Vec<f64> {
        self.low_let
            .iter()
            .zip(&self.alpha)
            .map(|(a, b)| a + b)
            .collect()
    }

    /// RBE-weighted: low-LET + RBE × α, per target \[Gy or Gy/s, RBE-weighted\].
    pub fn rbe_weighted(&self, rbe_alpha: f64) -> Vec<f64> {
        self.low_let
            .iter()
            .zip(&self.alpha)
            .map(|(a, b)| a + rbe_alpha * b)
            .collect()
    }
}

impl DoseField {
    /// A field from `low_let[c][i]` and `alpha[c][i]` \[Gy/decay\] (component c, target i);
    /// `alpha` may be empty (no α emitters). Errors: ragged arrays, negative or non-finite
    /// values.
    pub fn new(low_let: Vec<Vec<f64>>, alpha: Vec<Vec<f64>>) -> KResult<Self> {
        if low_let.is_empty() {
            return Err(KineticsError::Empty("dose per decay (components)".into()));
        }
        let n_targets = low_let[0].len();
        let alpha = if alpha.is_empty() {
            vec![vec![0.0; n_targets]; low_let.len()]
        } else {
            alpha
        };
        if alpha.len() != low_let.len() {
            return Err(KineticsError::Length {
                what: "alpha dose per decay (components)".into(),
                expected: low_let.len(),
                got: alpha.len(),
            });
        }
        for (c, (l, a)) in low_let.iter().zip(&alpha).enumerate() {
            for (what, v) in [("low-LET", l), ("alpha", a)] {
                if v.len() != n_targets {
                    return Err(KineticsError::Length {
                        what: format!("{what} dose per decay of component {c} (targets)"),
                        expected: n_targets,
                        got: v.len(),
                    });
                }
                for &x in v {
                    crate::error::non_negative_lazy(
                        || format!("{what} dose per decay of component {c}"),
                        x,
                        "Gy",
                    )?;
                }
            }
        }
        Ok(Self {
            n_targets,
            low_let,
            alpha,
        })
    }

    /// A field with low-LET dose only (`per_component[c][i]` \[Gy/decay\]).
    pub fn low_let_only(per_component: Vec<Vec<f64>>) -> KResult<Self> {
        Self::new(per_component, Vec::new())
    }

    /// Number of targets.
    pub fn n_targets(&self) -> usize {
        self.n_targets
    }

    /// Number of components.
    pub fn n_components(&self) -> usize {
        self.low_let.len()
    }

    /// Low-LET dose per decay `[c][i]` \[Gy/decay\].
    pub fn low_let(&self) -> &[Vec<f64>] {
        &self.low_let
    }

    /// α dose per decay `[c][i]` \[Gy/decay\].
    pub fn alpha(&self) -> &[Vec<f64>] {
        &self.alpha
    }

    /// Σ_c d_c\[i\] x_c per target, for per-component values x (decays, or rates).
    pub fn combine(&self, per_component: &[f64]) -> KResult<SplitDose> {
        if per_component.len() != self.n_components() {
            return Err(KineticsError::Length {
                what: "per-component values for the dose field".into(),
                expected: self.n_components(),
                got: per_component.len(),
            });
        }
        let mut out = SplitDose {
            low_let: vec![0.0; self.n_targets],
            alpha: vec![0.0; self.n_targets],
        };
        for (c, &x) in per_component.iter().enumerate() {
            if x == 0.0 {
                continue;
            }
            for i in 0..self.n_targets {
                out.low_let[i] += self.low_let[c][i] * x;
                out.alpha[i] += self.alpha[c][i] * x;
            }
        }
        Ok(out)
    }

    fn check(&self, ev: &Evolution) -> KResult<()> {
        if ev.n_components() != self.n_components() {
            return Err(KineticsError::Length {
                what: "components of the dose field vs the source kinetics".into(),
                expected: ev.n_components(),
                got: self.n_components(),
            });
        }
        Ok(())
    }
}

/// Dose rate per target at `t_s` \[Gy/s\].
pub fn dose_rate_at(ev: &Evolution, field: &DoseField, t_s: f64) -> KResult<SplitDose> {
    field.check(ev)?;
    field.combine(&ev.decay_rates(t_s)?)
}

/// Dose per target in \[t0_s, t1_s\] \[Gy\], exact.
pub fn dose_between(ev: &Evolution, field: &DoseField, t0_s: f64, t1_s: f64) -> KResult<SplitDose> {
    field.check(ev)?;
    field.combine(&ev.decays(t0_s, t1_s)?)
}

/// Dose per target over all time \[Gy\].
pub fn dose_total(ev: &Evolution, field: &DoseField) -> KResult<SplitDose> {
    field.check(ev)?;
    field.combine(&ev.total_decays())
}

/// Dose rate and cumulative dose per target on a time grid.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DoseTimeline {
    /// Grid times \[s\].
    pub times_s: Vec<f64>,
    /// Dose rate per target at each time \[Gy/s\].
    pub rate: Vec<SplitDose>,
    /// Dose per target from the first administration to each time \[Gy\].
    pub cumulative: Vec<SplitDose>,
}

/// Dose rate and cumulative dose per target on an increasing grid `times_s` \[s\] (one forward
/// march, exact).
pub fn dose_timeline(ev: &Evolution, field: &DoseField, times_s: &[f64]) -> KResult<DoseTimeline> {
    field.check(ev)?;
    let tl = ev.timeline(times_s)?;
    let mut rate = Vec::with_capacity(times_s.len());
    let mut cumulative = Vec::with_capacity(times_s.len());
    for (r, c) in tl.rates.iter().zip(&tl.cumulative) {
        rate.push(field.combine(r)?);
        cumulative.push(field.combine(c)?);
    }
    Ok(DoseTimeline {
        times_s: times_s.to_vec(),
        rate,
        cumulative,
    })
}

/// The time \[s\] after which less than `fraction` of all decays (summed over components)
/// remain: the end of the "whole treatment" for dose totals and G factors.
pub fn settle_time_s(ev: &Evolution, fraction: f64) -> KResult<f64> {
    let f = non_negative("remaining fraction", fraction, "1")?;
    let (Some(first), Some(last)) = (ev.first_time_s(), ev.last_time_s()) else {
        return Err(KineticsError::Empty("administrations of the source".into()));
    };
    let total: f64 = ev.total_decays().iter().sum();
    if total <= 0.0 {
        return Ok(last);
    }
    let mut dt = 3600.0;
    for _ in 0..80 {
        let t = last + dt;
        let done: f64 = ev.decays(first, t)?.iter().sum();
        if total - done <= f * total {
            return Ok(t);
        }
        dt *= 2.0;
    }
    Ok(last + dt)
}

/// The peak of a target's dose rate after the first administration and how fast it falls
/// ([`rate_peak`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatePeak {
    /// Peak dose rate \[Gy/s\].
    pub rate_gy_per_s: f64,
    /// Time of the peak after the first administration \[s\].
    pub time_s: f64,
    /// Time from the peak to half the peak \[s\]; `None` if the rate does not fall that far
    /// before the next administration (or the end of the treatment).
    pub half_time_s: Option<f64>,
}

/// The dose-rate peak of target `target` after the first administration, searched up to the
/// next administration (`administrations_s`: their times \[s\]) or the end of the
/// treatment: a 400-point log grid from 1 s, refined by golden-section search, and the
/// half-peak time by bisection.
pub fn rate_peak(
    ev: &Evolution,
    field: &DoseField,
    target: usize,
    administrations_s: &[f64],
) -> KResult<RatePeak> {
    let first = ev.first_time_s().unwrap_or(0.0);
    let end = settle_time_s(ev, 1e-4)?;
    let horizon = administrations_s
        .iter()
        .copied()
        .find(|&t| t > first)
        .unwrap_or(end)
        .min(end.max(first + 1.0));
    let span = (horizon - first).max(1.0);
    let total = |r: &SplitDose| r.low_let[target] + r.alpha[target];
    let rate = |tau: f64| -> KResult<f64> { Ok(total(&dose_rate_at(ev, field, first + tau)?)) };
    // log grid from 1 s to the horizon (just before it)
    let n = 400;
    let hi = (span * (1.0 - 1e-9)).ln();
    let taus: Vec<f64> = (0..=n)
        .map(|i| (hi * f64::from(i) / f64::from(n)).exp())
        .collect();
    let abs: Vec<f64> = taus.iter().map(|t| first + t).collect();
    let rates: Vec<f64> = dose_timeline(ev, field, &abs)?
        .rate
        .iter()
        .map(total)
        .collect();
    let (mut ip, mut peak) = (0usize, rates[0]);
    for (i, &r) in rates.iter().enumerate() {
        if r > peak {
            ip = i;
            peak = r;
        }
    }
    // refine the peak by golden-section search on the bracketing grid points
    let (mut a, mut b) = (
        taus[ip.saturating_sub(1)],
        taus[(ip + 1).min(taus.len() - 1)],
    );
    let g = 0.5 * (5f64.sqrt() - 1.0);
    for _ in 0..60 {
        let c = b - g * (b - a);
        let d = a + g * (b - a);
        if rate(c)? >= rate(d)? {
            b = d;
        } else {
            a = c;
        }
    }
    let tp = 0.5 * (a + b);
    let rp = rate(tp)?;
    let (time_s, peak) = if rp >= peak {
        (tp, rp)
    } else {
        (taus[ip], peak)
    };
    let mut out = RatePeak {
        rate_gy_per_s: peak.max(0.0),
        time_s,
        half_time_s: None,
    };
    if peak <= 0.0 {
        return Ok(out);
    }
    let half = 0.5 * peak;
    let Some(j) = (0..taus.len()).find(|&j| taus[j] > time_s && rates[j] <= half) else {
        return Ok(out);
    };
    let (mut a, mut b) = (taus[j - 1].max(time_s), taus[j]);
    for _ in 0..80 {
        let m = 0.5 * (a + b);
        if rate(m)? > half {
            a = m;
        } else {
            b = m;
        }
    }
    out.half_time_s = Some(0.5 * (a + b) - time_s);
    Ok(out)
}

/// Options of the G-factor sampling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProtractionOptions {
    /// Initial number of uniform steps.
    pub initial_steps: usize,
    /// Maximum number of uniform steps.
    pub max_steps: usize,
    /// Relative change of G between two grids at which sampling stops \[1\].
    pub tolerance: f64,
}

impl Default for ProtractionOptions {
    fn default() -> Self {
        Self {
            initial_steps: 128,
            max_steps: 1 << 15,
            tolerance: 1e-4,
        }
    }
}

/// Dose and protraction of every target in an interval.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TargetProtraction {
    /// Exact dose per target in the interval \[Gy\].
    pub dose: SplitDose,
    /// Low-LET G factor per target \[1\] (dose in it: the exact low-LET dose).
    pub low_let: Vec<Protraction>,
    /// Number of uniform steps of the final grid.
    pub steps: usize,
    /// Largest relative change of G over the targets at the last doubling \[1\] (≥ the
    /// tolerance only if `max_steps` was reached first).
    pub g_change: f64,
}

/// One source's contribution to a set of targets: its kinetics, its dose per decay at the
/// targets, and a weight \[1\] (e.g. the fraction of time a circulating lymphocyte spends in
/// the tumour's vessels).
#[derive(Debug, Clone, Copy)]
pub struct SourceField<'a> {
    /// The source's exact time course.
    pub evolution: &'a Evolution,
    /// Its dose per decay at the targets.
    pub field: &'a DoseField,
    /// Weight applied to its dose \[1\].
    pub weight: f64,
}

fn grid(sources: &[SourceField<'_>], t0: f64, t1: f64, n: usize) -> Vec<f64> {
    let h = (t1 - t0) / n as f64;
    let mut g: Vec<f64> = (0..=n).map(|k| t0 + h * k as f64).collect();
    g[n] = t1;
    // every impulse in [t0, t1) is a corner, followed by a geometric cluster of points
    // (h/2, h/4, …, h/2¹²) that resolves fast ingrowth of short-lived daughters
    for s in sources {
        for imp in s.evolution.impulses() {
            if imp.time_s >= t0 && imp.time_s < t1 {
                g.push(imp.time_s);
                let mut d = h;
                for _ in 0..12 {
                    d *= 0.5;
                    g.push(imp.time_s + d);
                }
            }
        }
    }
    g.retain(|&t| t >= t0 && t <= t1);
    g.sort_by(f64::total_cmp);
    g.dedup();
    g
}

/// G of every target on the grid `times`: each component's decay rate is interpolated by
/// exponential pieces, the repair-weighted cross integrals I_{cc′} of all component pairs are
/// computed once, and per target G = 2 Σ v_c v_c′ I_{cc′} / (Σ v_c D_c)² with v_c = weight ×
/// low-LET dose per decay.
fn g_on_grid(
    sources: &[SourceField<'_>],
    n_targets: usize,
    times: &[f64],
    repair_half_time_s: f64,
) -> KResult<Vec<f64>> {
    let mu = std::f64::consts::LN_2
        / crate::error::positive("repair half-time", repair_half_time_s, "s")?;
    // (source, component, pieces, dose per unit dose-per-decay)
    let mut comps: Vec<(usize, usize, Vec<crate::radiobiology::DoseRatePiece>, f64)> = Vec::new();
    for (si, s) in sources.iter().enumerate() {
        let tl = s.evolution.timeline(times)?;
        for c in 0..s.evolution.n_components() {
            if s.weight == 0.0 || s.field.low_let[c].iter().all(|&d| d == 0.0) {
                continue;
            }
            let m = times.len() - 1;
            let start: Vec<f64> = tl.rates[..m].iter().map(|x| x[c].max(0.0)).collect();
            let end: Vec<f64> = tl.rates_before[1..].iter().map(|x| x[c].max(0.0)).collect();
            if start.iter().chain(&end).all(|&x| x == 0.0) {
                continue;
            }
            let p = crate::radiobiology::pieces_between(times, &start, &end)?;
            let d = crate::radiobiology::pieces_dose(&p);
            comps.push((si, c, p, d));
        }
    }
    let m = comps.len();
    let mut kernel = vec![0.0; m * m];
    for a in 0..m {
        for b in 0..m {
            kernel[a * m + b] = crate::radiobiology::cross_integral(&comps[a].2, &comps[b].2, mu)?;
        }
    }
    let mut out = Vec::with_capacity(n_targets);
    let mut v = vec![0.0; m];
    for i in 0..n_targets {
        let mut dose = 0.0;
        for (a, (si, c, _, d)) in comps.iter().enumerate() {
            let s = &sources[*si];
            v[a] = s.weight * s.field.low_let[*c][i];
            dose += v[a] * d;
        }
        if dose <= 0.0 {
            out.push(0.0);
            continue;
        }
        let mut integral = 0.0;
        for a in 0..m {
            if v[a] == 0.0 {
                continue;
            }
            let row = &kernel[a * m..(a + 1) * m];
            integral += v[a] * row.iter().zip(&v).map(|(k, w)| k * w).sum::<f64>();
        }
        // a dose so small that its square underflows (a short-lived source long after it
        // decayed, e.g. 213Bi on day 20) gives 0/0: G·D² is 0 there either way
        let g = 2.0 * integral / (dose * dose);
        out.push(if g.is_finite() { g } else { 0.0 });
    }
    Ok(out)
}

/// Dose and low-LET G factor of every target over \[t0_s, t1_s\] \[s\], for repair
/// half-time `repair_half_time_s` \[s\] (see the module doc for the sampling).
pub fn protraction_between(
    ev: &Evolution,
    field: &DoseField,
    t0_s: f64,
    t1_s: f64,
    repair_half_time_s: f64,
    opts: ProtractionOptions,
) -> KResult<TargetProtraction> {
    protraction_between_sources(
        &[SourceField {
            evolution: ev,
            field,
            weight: 1.0,
        }],
        t0_s,
        t1_s,
        repair_half_time_s,
        opts,
    )
}

/// As [`protraction_between`] for the weighted sum of several sources over the same targets
/// (e.g. blood self-dose plus cross-dose from the tumour); cross terms between the sources'
/// dose rates are in G.
pub fn protraction_between_sources(
    sources: &[SourceField<'_>],
    t0_s: f64,
    t1_s: f64,
    repair_half_time_s: f64,
    opts: ProtractionOptions,
) -> KResult<TargetProtraction> {
    let Some(first) = sources.first() else {
        return Err(KineticsError::Empty("sources".into()));
    };
    let nt = first.field.n_targets();
    let mut dose = SplitDose {
        low_let: vec![0.0; nt],
        alpha: vec![0.0; nt],
    };
    for s in sources {
        s.field.check(s.evolution)?;
        if s.field.n_targets() != nt {
            return Err(KineticsError::Length {
                what: "targets of a source's dose field".into(),
                expected: nt,
                got: s.field.n_targets(),
            });
        }
        non_negative("source weight", s.weight, "1")?;
        let d = dose_between(s.evolution, s.field, t0_s, t1_s)?;
        for i in 0..nt {
            dose.low_let[i] += s.weight * d.low_let[i];
            dose.alpha[i] += s.weight * d.alpha[i];
        }
    }
    finite("interval start", t0_s, "s")?;
    finite("interval end", t1_s, "s")?;
    check_grid(&[t0_s, t1_s])?;
    let mut n = opts.initial_steps.max(2);
    let mut g = g_on_grid(
        sources,
        nt,
        &grid(sources, t0_s, t1_s, n),
        repair_half_time_s,
    )?;
    let mut change = f64::INFINITY;
    while n < opts.max_steps {
        n *= 2;
        let next = g_on_grid(
            sources,
            nt,
            &grid(sources, t0_s, t1_s, n),
            repair_half_time_s,
        )?;
        change = g
            .iter()
            .zip(&next)
            .map(|(a, b)| if *b > 0.0 { (a - b).abs() / b } else { 0.0 })
            .fold(0.0, f64::max);
        g = next;
        if change < opts.tolerance {
            break;
        }
    }
    let low_let = dose
        .low_let
        .iter()
        .zip(&g)
        .map(|(&d, &g)| Protraction { dose_gy: d, g })
        .collect();
    Ok(TargetProtraction {
        dose,
        low_let,
        steps: n,
        g_change: change,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{Administration, Chain};
    use crate::radiobiology::{bed, pieces_from_samples, protraction, DoseRatePiece};
    use crate::sources::SourceModel;
    use crate::tac::{Quantity, Tac};

    const LN2: f64 = std::f64::consts::LN_2;
    const H: f64 = 3600.0;

    fn rel(a: f64, b: f64) -> f64 {
        if a == b {
            0.0
        } else {
            (a - b).abs() / b.abs()
        }
    }

    fn lu177(t_bio_h: f64) -> crate::SourceKinetics {
        SourceModel::retained(
            Chain::from_library("Lu-177").unwrap(),
            "cells",
            Tac::mono(t_bio_h * H),
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
    fn dose_rate_and_cumulative_dose_closed_form() {
        let k = lu177(50.0);
        let lp = Chain::from_library("Lu-177").unwrap().members()[0].decay_constant_per_s;
        let le = lp + LN2 / (50.0 * H);
        // two targets: 1e-9 and 3e-10 Gy per decay
        let f = DoseField::low_let_only(vec![vec![1e-9, 3e-10]]).unwrap();
        let ev = k.evolution();
        let times: Vec<f64> = (0..50).map(|i| i as f64 * 6.0 * H).collect();
        let tl = dose_timeline(ev, &f, &times).unwrap();
        let mut worst: f64 = 0.0;
        for (k, &t) in times.iter().enumerate() {
            let cum = 1e6 * -(-le * t).exp_m1() / le;
            let rate = 1e6 * (-le * t).exp();
            for (i, d) in [1e-9, 3e-10].iter().enumerate() {
                if t > 0.0 {
                    worst = worst.max(rel(tl.cumulative[k].low_let[i], d * cum));
                }
                worst = worst.max(rel(tl.rate[k].low_let[i], d * rate));
            }
            let r = dose_rate_at(ev, &f, t).unwrap();
            worst = worst.max(rel(r.low_let[1], 3e-10 * rate));
        }
        let tot = dose_total(ev, &f).unwrap();
        worst = worst.max(rel(tot.low_let[0], 1e-9 * 1e6 / le));
        eprintln!("dose over time vs closed form: max rel {worst:.1e}");
        assert!(worst < 1e-11);
        // the field must match the components
        let bad = DoseField::low_let_only(vec![vec![1.0], vec![1.0]]).unwrap();
        assert!(dose_rate_at(ev, &bad, 0.0).is_err());
        assert!(DoseField::low_let_only(vec![vec![1.0], vec![1.0, 2.0]]).is_err());
        assert!(DoseField::low_let_only(vec![vec![-1.0]]).is_err());
        assert!(DoseField::low_let_only(vec![vec![f64::NAN]]).is_err());
    }

    /// A source taken up at once and cleared mono-exponentially: the rate peaks at the start
    /// and halves after ln 2 / λ_eff.
    #[test]
    fn rate_peak_of_a_mono_exponential_source() {
        let k = lu177(50.0);
        let lp = Chain::from_library("Lu-177").unwrap().members()[0].decay_constant_per_s;
        let le = lp + LN2 / (50.0 * H);
        let f = DoseField::low_let_only(vec![vec![1e-9, 3e-10]]).unwrap();
        let p = rate_peak(k.evolution(), &f, 1, &[0.0]).unwrap();
        assert!(p.time_s <= 2.0, "peak at {} s", p.time_s);
        assert!(rel(p.rate_gy_per_s, 3e-10 * 1e6 * (-le * p.time_s).exp()) < 1e-9);
        let half = p.half_time_s.unwrap();
        assert!(rel(half, LN2 / le) < 1e-6, "{half} vs {}", LN2 / le);
    }

    #[test]
    fn g_factor_is_finite_long_after_a_short_lived_source_decayed() {
        // ²¹³Bi (46 min) 20 days on: doses < 1e-154 Gy whose squares underflow (was 0/0)
        let k = SourceModel::retained(
            Chain::from_library("Bi-213").unwrap(),
            "cells",
            Tac::mono(1000.0 * H),
            Quantity::AdministeredFraction {
                uptake_fraction: 1.0,
            },
        )
        .build(&[Administration {
            time_s: 0.0,
            activity_bq: 1e6,
        }])
        .unwrap();
        let ev = k.evolution();
        // only the parent contributes at this target
        let mut per = vec![vec![0.0]; ev.n_components()];
        per[0][0] = 1e-9;
        let f = DoseField::low_let_only(per).unwrap();
        let (t0, t1) = (20.0 * 24.0 * H, 23.0 * 24.0 * H);
        let p =
            protraction_between(ev, &f, t0, t1, 1.5 * H, ProtractionOptions::default()).unwrap();
        let pr = p.low_let[0];
        assert!(pr.dose_gy >= 0.0 && pr.dose_gy < 1e-154, "{}", pr.dose_gy);
        assert!(pr.g.is_finite(), "G = {}", pr.g);
    }

    #[test]
    fn g_factor_of_a_mono_exponential_source_matches_closed_form() {
        // T_eff = 40 h: pick T_bio so that λp + λb = ln2/40 h
        let lp = Chain::from_library("Lu-177").unwrap().members()[0].decay_constant_per_s;
        let le = LN2 / (40.0 * H);
        let tb = LN2 / (le - lp) / H;
        let k = lu177(tb);
        let ev = k.evolution();
        let end = settle_time_s(ev, 1e-9).unwrap();
        let f = DoseField::low_let_only(vec![vec![10.0 / 1e6 * le]]).unwrap(); // D(∞) = 10 Gy
        let p =
            protraction_between(ev, &f, 0.0, end, 1.5 * H, ProtractionOptions::default()).unwrap();
        let mu = LN2 / (1.5 * H);
        let pr = p.low_let[0];
        eprintln!(
            "source G: {:.6} vs {:.6} (steps {}, change {:.1e}), BED {:.4} Gy",
            pr.g,
            le / (le + mu),
            p.steps,
            p.g_change,
            bed(pr.dose_gy, pr.g, 10.0)
        );
        assert!(rel(pr.g, le / (le + mu)) < 1e-6);
        assert!((bed(pr.dose_gy, pr.g, 10.0) - 10.361).abs() < 1e-3);
        assert!(end > 40.0 * 30.0 * H && end < 40.0 * 60.0 * H);
    }

    #[test]
    fn component_kernel_g_matches_direct_sampling_of_each_target() {
        // ²¹²Pb chain, 20 % of daughters released to a site cleared in 2 h: components with
        // different time courses; targets weight them differently
        let mut m = SourceModel::retained(
            Chain::from_library("Pb-212").unwrap(),
            "cells",
            Tac::mono(20.0 * H),
            Quantity::AdministeredFraction {
                uptake_fraction: 1.0,
            },
        );
        m.sites.push(crate::sources::Site {
            name: "free".into(),
            clearance_half_time_s: 2.0 * H,
        });
        m.releases.push(crate::sources::DaughterRelease {
            daughter: None,
            fraction: 0.2,
            to_site: "free".into(),
        });
        let k = m
            .build(&[Administration {
                time_s: 0.0,
                activity_bq: 1e6,
            }])
            .unwrap();
        let nc = k.components().len();
        let low: Vec<Vec<f64>> = (0..nc)
            .map(|c| {
                (0..5)
                    .map(|i| 1e-12 * ((c * 3 + i * 7) % 5) as f64)
                    .collect()
            })
            .collect();
        let f = DoseField::low_let_only(low.clone()).unwrap();
        let (t0, t1) = (0.0, 2.0 * 86400.0);
        let p = protraction_between(
            k.evolution(),
            &f,
            t0,
            t1,
            1.5 * H,
            ProtractionOptions::default(),
        )
        .unwrap();
        // direct: sample each target's total dose rate on a fine grid with the same clusters
        let src = [SourceField {
            evolution: k.evolution(),
            field: &f,
            weight: 1.0,
        }];
        let times = grid(&src, t0, t1, 1 << 14);
        let tl = k.timeline(&times).unwrap();
        let mut worst: f64 = 0.0;
        for i in 0..5 {
            let r: Vec<f64> = tl
                .rates
                .iter()
                .map(|x| x.iter().zip(&low).map(|(n, d)| n * d[i]).sum::<f64>())
                .collect();
            let direct = crate::radiobiology::protraction(
                &pieces_from_samples(&times, &r).unwrap(),
                1.5 * H,
            )
            .unwrap();
            if direct.dose_gy > 0.0 {
                worst = worst.max(rel(p.low_let[i].g, direct.g));
                assert!(rel(direct.dose_gy, p.dose.low_let[i]) < 1e-6);
            }
        }
        eprintln!(
            "component-kernel G vs direct per-target sampling: max rel {worst:.1e} ({} steps)",
            p.steps
        );
        assert!(worst < 3e-4, "{worst:e}");
    }

    #[test]
    fn administration_inside_the_interval_is_a_jump_not_a_ramp() {
        // two administrations at 0 and 30 h; [0, 100 h] contains the jump. Exact history:
        // R e^{−λt} on [0, 30 h], then (R e^{−λ·30 h} + R) e^{−λτ}: two exponential pieces
        let lp = Chain::from_library("Lu-177").unwrap().members()[0].decay_constant_per_s;
        let le = LN2 / (40.0 * H);
        let k = SourceModel::retained(
            Chain::from_library("Lu-177").unwrap(),
            "cells",
            Tac::mono(LN2 / (le - lp)),
            Quantity::AdministeredFraction {
                uptake_fraction: 1.0,
            },
        )
        .build(&[
            Administration {
                time_s: 0.0,
                activity_bq: 1e6,
            },
            Administration {
                time_s: 30.0 * H,
                activity_bq: 1e6,
            },
        ])
        .unwrap();
        let d = 1e-10;
        let f = DoseField::low_let_only(vec![vec![d]]).unwrap();
        let r = d * 1e6;
        let exact = protraction(
            &[
                DoseRatePiece {
                    duration_s: 30.0 * H,
                    rate0_gy_per_s: r,
                    decay_per_s: le,
                },
                DoseRatePiece {
                    duration_s: 70.0 * H,
                    rate0_gy_per_s: r * (1.0 + (-le * 30.0 * H).exp()),
                    decay_per_s: le,
                },
            ],
            1.5 * H,
        )
        .unwrap();
        let p = protraction_between(
            k.evolution(),
            &f,
            0.0,
            100.0 * H,
            1.5 * H,
            ProtractionOptions::default(),
        )
        .unwrap();
        let e = rel(p.low_let[0].g, exact.g);
        eprintln!(
            "G with an administration inside the interval: rel diff {e:.1e} ({} steps)",
            p.steps
        );
        assert!(e < 1e-10, "{e:e}");
        assert!(rel(p.dose.low_let[0], exact.dose_gy) < 1e-12);
    }
}
