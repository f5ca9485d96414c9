//! Population surviving fraction from Monte Carlo per-cell doses, with the noise bias
//! removed (`docs/kinetics.md`, "Monte Carlo noise in per-cell survival").
//!
//! A cell's dose from a finite Monte Carlo run is D̂ = D + ε with E\[ε\] = 0; survival is
//! convex in dose, so the mean of S(D̂) over cells overstates the mean of S(D) (Jensen), and
//! at high dose by orders of magnitude. This module estimates the population mean of S(D)
//! by empirical Bayes (hierarchical model, one prior per geometric class of cells):
//!
//! * Noise model: per cell and part (α, low-LET), Var(D̂ | D) = c·D, the compound-Poisson
//!   form of any energy tally (variance ∝ expected number of events). c is pooled over the
//!   class from the batch variances of the cells: c = Σ σ̂ᵢ² / Σ D̂ᵢ.
//! * Prior: the true doses of a class follow a gamma distribution whose mean and variance are
//!   those of the noisy doses with the noise variance removed (method of moments:
//!   m = mean D̂, τ² = var D̂ − c·m, floored at 10⁻⁶ m²).
//! * Each cell's survival is its posterior expectation E\[S(D) | D̂\] (exact quadrature on a
//!   grid covering the likelihood, the prior and the survival-tilted prior); S factorises into
//!   exp(−c_α D_α) · exp(−α D_L − β G D_L²), and α and low-LET posteriors are independent.
//!   The population estimate is the mean over cells; by the law of total expectation it is
//!   unbiased for the mean of S(D) under the model. A converged cell (σ ≪ τ) keeps its own
//!   dose; a cell dominated by noise is pulled to its class.
//! * Uncertainty: the posterior variance of the mean (Σ Var\[S|D̂\]/N²) and the uncertainty of
//!   the class moments (τ² ± its standard error, m ± its standard error, all classes at
//!   once), combined in quadrature; the 95 % interval is log-normal (never negative).
//!   A figure is flagged too wide to read when its interval's half-width exceeds 50 % of the
//!   value, (hi − lo) > 1.0 × value, unless hi < 0.01 (then it reads "< 0.01" whatever its
//!   width: fewer than 1 % survive, which is what a reader needs against a 90 % target).

use crate::dose_time::DoseField;
use crate::error::{KResult, KineticsError};
use crate::radiobiology::{LqParameters, Protraction};

/// Relative width of the 95 % interval above which a survival figure is flagged \[1\].
pub const MAX_READABLE_REL_WIDTH: f64 = 1.0;
/// Upper interval bound below which a survival figure is readable whatever its relative
/// width: it reads "< 0.01", fewer than 1 % survive, at 95 % confidence \[1\].
pub const NEGLIGIBLE_SURVIVAL: f64 = 1e-2;

/// Monte Carlo uncertainty of the targets of a dose field and their geometric classes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CellNoise {
    /// Relative standard uncertainty of each target's low-LET dose \[1\] (0 or NaN: exact).
    pub rel_low_let: Vec<f64>,
    /// Relative standard uncertainty of each target's α dose \[1\].
    pub rel_alpha: Vec<f64>,
    /// Geometric class of each target (targets of a class share one prior).
    pub class: Vec<u32>,
}

impl CellNoise {
    /// Noise of `n` targets, all exact, one class.
    pub fn exact(n: usize) -> Self {
        Self {
            rel_low_let: vec![0.0; n],
            rel_alpha: vec![0.0; n],
            class: vec![0; n],
        }
    }

    fn check(&self, n: usize) -> KResult<()> {
        for (what, len) in [
            (
                "relative uncertainties of the low-LET dose",
                self.rel_low_let.len(),
            ),
            ("relative uncertainties of the α dose", self.rel_alpha.len()),
            ("classes of the targets", self.class.len()),
        ] {
            if len != n {
                return Err(KineticsError::Length {
                    what: what.into(),
                    expected: n,
                    got: len,
                });
            }
        }
        Ok(())
    }
}

/// Per-component relative Monte Carlo uncertainties of the targets of a dose field, from which
/// the noise of their dose over any interval follows ([`ComponentNoise::over`]): a cohort or a
/// window gets the relative uncertainty of its own mix of components, not the all-time one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ComponentNoise {
    /// `rel_low_let[c][i]`: relative standard uncertainty of component c's low-LET dose per
    /// decay at target i \[1\] (NaN: not estimated, taken as exact).
    pub rel_low_let: Vec<Vec<f64>>,
    /// `rel_alpha[c][i]` \[1\] (empty: no α part).
    pub rel_alpha: Vec<Vec<f64>>,
    /// Geometric class of each target.
    pub class: Vec<u32>,
}

impl ComponentNoise {
    /// The noise of the targets' dose from `decays[c]` decays of each component of `field`:
    /// per part σᵢ = Σ_c N_c d_ci u_ci (linear: the components' errors are positively
    /// correlated, `docs/kinetics.md` §9), relative to Dᵢ = Σ_c N_c d_ci (0 without dose).
    pub fn over(&self, field: &DoseField, decays: &[f64]) -> KResult<CellNoise> {
        let (nc, n) = (field.n_components(), field.n_targets());
        let check = |what: &str, expected: usize, got: usize| {
            if expected == got {
                Ok(())
            } else {
                Err(KineticsError::Length {
                    what: what.into(),
                    expected,
                    got,
                })
            }
        };
        check("decays per component", nc, decays.len())?;
        check("classes of the targets", n, self.class.len())?;
        for (what, u) in [("low-LET", &self.rel_low_let), ("α", &self.rel_alpha)] {
            if !u.is_empty() {
                check(
                    &format!("components of the {what} uncertainties"),
                    nc,
                    u.len(),
                )?;
                for x in u {
                    check(&format!("targets of the {what} uncertainties"), n, x.len())?;
                }
            }
        }
        let rel = |d: &[Vec<f64>], u: &[Vec<f64>]| -> Vec<f64> {
            (0..n)
                .map(|i| {
                    let (mut dose, mut sd) = (0.0, 0.0);
                    for (c, dc) in d.iter().enumerate() {
                        let x = decays[c] * dc[i];
                        dose += x;
                        let r = u.get(c).map_or(0.0, |u| u[i]);
                        if r.is_finite() {
                            sd += x * r;
                        }
                    }
                    if dose > 0.0 {
                        sd / dose
                    } else {
                        0.0
                    }
                })
                .collect()
        };
        Ok(CellNoise {
            rel_low_let: rel(field.low_let(), &self.rel_low_let),
            rel_alpha: rel(field.alpha(), &self.rel_alpha),
            class: self.class.clone(),
        })
    }
}

/// A population surviving fraction with its Monte Carlo uncertainty.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct SurvivalEstimate {
    /// Noise-corrected mean surviving fraction \[1\].
    pub value: f64,
    /// Mean of S(D̂) over the cells, the uncorrected (biased) figure \[1\].
    pub naive: f64,
    /// Standard uncertainty of `value` \[1\].
    pub sd: f64,
    /// 95 % interval (log-normal) \[1\].
    pub interval: [f64; 2],
    /// The interval is too wide to read the figure (see the module doc).
    pub too_wide: bool,
}

impl SurvivalEstimate {
    /// A figure without Monte Carlo uncertainty.
    pub fn exact(value: f64) -> Self {
        Self::with_sd(value, value, 0.0)
    }

    /// A figure whose Monte Carlo uncertainty is not estimated (sd and interval NaN, written
    /// as null; e.g. migrating walkers on path-averaged voxel doses).
    pub fn unestimated(value: f64) -> Self {
        Self {
            value,
            naive: value,
            sd: f64::NAN,
            interval: [f64::NAN; 2],
            too_wide: false,
        }
    }

    /// A figure `value` ± `sd` with its log-normal 95 % interval and flag.
    pub fn with_sd(value: f64, naive: f64, sd: f64) -> Self {
        let interval = if value > 0.0 && sd > 0.0 {
            let s = (1.0 + (sd / value).powi(2)).ln().sqrt();
            [
                value * (-1.96 * s).exp(),
                (value * (1.96 * s).exp()).min(1.0),
            ]
        } else {
            [value, value + 1.96 * sd]
        };
        let too_wide = interval[1] - interval[0] > MAX_READABLE_REL_WIDTH * value
            && interval[1] >= NEGLIGIBLE_SURVIVAL;
        Self {
            value,
            naive,
            sd,
            interval,
            too_wide,
        }
    }
}

/// A population's surviving fraction and the per-target posterior expectations.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationSurvival {
    /// The population figure.
    pub estimate: SurvivalEstimate,
    /// E\[S(D) | D̂\] per target \[1\].
    pub per_cell: Vec<f64>,
}

/// The legend of the " !" mark that tables put after a [`SurvivalEstimate::too_wide`] figure.
pub const TOO_WIDE_LEGEND: &str = "! = 95 % interval too wide to read (half-width > 50 % of \
     the value, upper bound >= 0.01): not converged, rerun with more decays (transport.decays)";

/// Class moments of one part: mean m, true variance τ², noise coefficient c (Var = c·D).
#[derive(Debug, Clone, Copy)]
struct Hyper {
    m: f64,
    tau2: f64,
    c: f64,
    se_m: f64,
    se_tau2: f64,
}

impl Hyper {
    fn of(x: &[f64], var: &[f64]) -> Self {
        let n = x.len() as f64;
        let m = x.iter().sum::<f64>() / n;
        let c = if m > 0.0 {
            var.iter().sum::<f64>() / (n * m)
        } else {
            0.0
        };
        let v = if x.len() > 1 {
            x.iter().map(|a| (a - m).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        // standard error of the sample variance from the fourth central moment (heavy-tailed
        // noise of cells with few events: the Gaussian √(2/(n−1))·v understates it)
        let m4 = x.iter().map(|a| (a - m).powi(4)).sum::<f64>() / n;
        let se_v = if x.len() > 1 {
            ((m4 - v * v * (n - 3.0) / (n - 1.0)).max(2.0 * v * v) / n).sqrt()
        } else {
            0.0
        };
        let floor = 1e-6 * m * m;
        Self {
            m,
            tau2: (v - c * m).max(floor),
            c,
            se_m: (v / n).sqrt(),
            se_tau2: se_v,
        }
    }

    fn shifted(self, dm: f64, dtau: f64) -> Self {
        let floor = 1e-6 * self.m * self.m;
        Self {
            m: (self.m + dm * self.se_m).max(0.0),
            tau2: (self.tau2 + dtau * self.se_tau2).max(floor),
            ..self
        }
    }
}

fn log_sum_exp(v: &[f64]) -> f64 {
    let mx = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !mx.is_finite() {
        return mx;
    }
    mx + v.iter().map(|x| (x - mx).exp()).sum::<f64>().ln()
}

/// Posterior expectations (E\[f\], E\[f²\]) of f(D) = exp(−a D − b D²) for a cell with noisy
/// dose `x` under the class prior `h` (see the module doc).
fn posterior_expect(h: &Hyper, x: f64, a: f64, b: f64) -> (f64, f64) {
    let f = |d: f64| -a * d - b * d * d;
    if h.m <= 0.0 {
        let e = f(x.max(0.0)).exp();
        return (e, e * e);
    }
    if h.c <= 0.0 {
        let e = f(x).exp();
        return (e, e * e);
    }
    // Gaussian approximation of the posterior, for the grid and for converged cells
    let v0 = h.c * x.max(h.m).max(1e-300);
    let prec = 1.0 / v0 + 1.0 / h.tau2;
    let mu = (x / v0 + h.m / h.tau2) / prec;
    let s2 = 1.0 / prec;
    let slope = a + 2.0 * b * mu.max(0.0);
    if v0 < 1e-4 * h.tau2 && slope * s2.sqrt() < 0.05 {
        let one = |k: f64| {
            let (ak, bk) = (k * a, k * b);
            let q = 1.0 + 2.0 * bk * s2;
            ((ak * ak * s2 / 2.0 - ak * mu - bk * mu * mu) / q).exp() / q.sqrt()
        };
        return (one(1.0), one(2.0));
    }
    let (k, theta) = (h.m * h.m / h.tau2, h.tau2 / h.m);
    let s = s2.sqrt();
    // three segments: the likelihood-dominated posterior, the prior, the survival-tilted prior
    let th_t = 1.0 / (1.0 / theta + a + 2.0 * b * h.m);
    let segs = [
        (mu - 12.0 * s, mu + 12.0 * s),
        (h.m - 12.0 * h.tau2.sqrt(), h.m + 14.0 * h.tau2.sqrt()),
        (
            k * th_t - 12.0 * k.sqrt() * th_t,
            k * th_t + 14.0 * k.sqrt() * th_t,
        ),
    ];
    const P: usize = 24;
    let mut grid = [0.0; 3 * P];
    for (j, (lo, hi)) in segs.iter().enumerate() {
        let (lo, hi) = (lo.max(0.0), hi.max(lo.max(0.0) + 1e-300));
        for i in 0..P {
            grid[j * P + i] = lo + (hi - lo) * (i as f64 + 0.5) / P as f64;
        }
    }
    grid.sort_by(f64::total_cmp);
    let (mut lp, mut l1, mut l2) = ([0.0; 3 * P], [0.0; 3 * P], [0.0; 3 * P]);
    for (i, &d) in grid.iter().enumerate() {
        // trapezoid weight of the (sorted, non-uniform) node
        let left = if i > 0 { grid[i - 1] } else { d };
        let right = if i + 1 < grid.len() { grid[i + 1] } else { d };
        let w = 0.5 * (right - left);
        let d = d.max(1e-300);
        let p = if w > 0.0 {
            w.ln() + (k - 1.0) * d.ln()
                - d / theta
                - (x - d).powi(2) / (2.0 * h.c * d)
                - 0.5 * d.ln()
        } else {
            f64::NEG_INFINITY
        };
        lp[i] = p;
        l1[i] = p + f(d);
        l2[i] = p + 2.0 * f(d);
    }
    let z = log_sum_exp(&lp);
    if !z.is_finite() {
        let e = f(x.max(0.0)).exp();
        return (e, e * e);
    }
    ((log_sum_exp(&l1) - z).exp(), (log_sum_exp(&l2) - z).exp())
}

/// Per part: (noisy dose, estimated noise variance) per target.
struct PartData {
    x: Vec<f64>,
    var: Vec<f64>,
}

fn part_data(x: &[f64], rel: &[f64]) -> PartData {
    let var = x
        .iter()
        .zip(rel)
        .map(|(d, r)| if r.is_finite() { (r * d).powi(2) } else { 0.0 })
        .collect();
    PartData { x: x.to_vec(), var }
}

/// Class index of every target (classes numbered in sorted order) and the targets of each.
fn groups(class: &[u32]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut keys: Vec<u32> = class.to_vec();
    keys.sort_unstable();
    keys.dedup();
    let of: Vec<usize> = class
        .iter()
        .map(|c| keys.binary_search(c).unwrap_or(0))
        .collect();
    let mut members = vec![Vec::new(); keys.len()];
    for (i, &g) in of.iter().enumerate() {
        members[g].push(i);
    }
    (of, members)
}

/// Population surviving fraction of targets with α dose `alpha_gy` and low-LET dose and G
/// `low`, LQ parameters `lq`, α dose coefficient `alpha_coeff_per_gy` (α·RBE for the
/// mean-dose model, the α-hit coefficient of [`crate::hits`] for the hit model) and the
/// targets' Monte Carlo noise (module doc).
pub fn population_survival(
    alpha_gy: &[f64],
    low: &[Protraction],
    lq: &LqParameters,
    noise: &CellNoise,
    alpha_coeff_per_gy: f64,
) -> KResult<PopulationSurvival> {
    let mut v = population_survivals(alpha_gy, low, lq, noise, &[alpha_coeff_per_gy])?;
    Ok(v.remove(0))
}

/// As [`population_survival`] for several α dose coefficients at once (the low-LET
/// posteriors are shared). Cells are evaluated in parallel and summed in target order, so
/// the result does not depend on the thread count.
pub fn population_survivals(
    alpha_gy: &[f64],
    low: &[Protraction],
    lq: &LqParameters,
    noise: &CellNoise,
    alpha_coeffs_per_gy: &[f64],
) -> KResult<Vec<PopulationSurvival>> {
    use rayon::prelude::*;
    let n = low.len();
    if n == 0 {
        return Err(KineticsError::Empty(
            "targets for the surviving fraction".into(),
        ));
    }
    noise.check(n)?;
    if alpha_gy.len() != n {
        return Err(KineticsError::Length {
            what: "α doses".into(),
            expected: n,
            got: alpha_gy.len(),
        });
    }
    let beta = lq.alpha_per_gy / lq.alpha_beta_gy;
    let low_x: Vec<f64> = low.iter().map(|p| p.dose_gy).collect();
    let parts = [
        part_data(alpha_gy, &noise.rel_alpha),
        part_data(&low_x, &noise.rel_low_let),
    ];
    let (of, members) = groups(&noise.class);
    let hyper: Vec<[Hyper; 2]> = members
        .iter()
        .map(|g| {
            [0, 1].map(|p| {
                let x: Vec<f64> = g.iter().map(|&i| parts[p].x[i]).collect();
                let v: Vec<f64> = g.iter().map(|&i| parts[p].var[i]).collect();
                Hyper::of(&x, &v)
            })
        })
        .collect();
    // per cell and coefficient (E[S|D̂], E[S²|D̂]) with the class moments moved by (dm, dτ)
    let eval = |dm: f64, dtau: f64| -> Vec<Vec<(f64, f64)>> {
        (0..n)
            .into_par_iter()
            .map(|i| {
                let h = &hyper[of[i]];
                let hl = h[1].shifted(dm, dtau);
                let (el, el2) =
                    posterior_expect(&hl, parts[1].x[i], lq.alpha_per_gy, beta * low[i].g);
                let ha = h[0].shifted(dm, dtau);
                alpha_coeffs_per_gy
                    .iter()
                    .map(|&a| {
                        let (ea, ea2) = posterior_expect(&ha, parts[0].x[i], a, 0.0);
                        (ea * el, ea2 * el2)
                    })
                    .collect()
            })
            .collect()
    };
    let mean = |cells: &[Vec<(f64, f64)>], j: usize| -> (f64, f64) {
        let (mut sum, mut var) = (0.0, 0.0);
        for c in cells {
            let (e, e2) = c[j];
            sum += e;
            var += (e2 - e * e).max(0.0);
        }
        (sum / n as f64, var / (n * n) as f64)
    };
    let base = eval(0.0, 0.0);
    let noisy = hyper.iter().flatten().any(|h| h.c > 0.0);
    let moved: Vec<Vec<Vec<(f64, f64)>>> = if noisy {
        [(0.0, 1.0), (0.0, -1.0), (1.0, 0.0), (-1.0, 0.0)]
            .iter()
            .map(|&(dm, dt)| eval(dm, dt))
            .collect()
    } else {
        Vec::new()
    };
    Ok(alpha_coeffs_per_gy
        .iter()
        .enumerate()
        .map(|(j, &a)| {
            let naive = (0..n)
                .map(|i| {
                    let l = low[i].dose_gy;
                    (-a * alpha_gy[i] - lq.alpha_per_gy * l - beta * low[i].g * l * l).exp()
                })
                .sum::<f64>()
                / n as f64;
            let (value, var_post) = mean(&base, j);
            let var_hyp = if moved.is_empty() {
                0.0
            } else {
                let m: Vec<f64> = moved.iter().map(|c| mean(c, j).0).collect();
                ((m[0] - m[1]) / 2.0).powi(2) + ((m[2] - m[3]) / 2.0).powi(2)
            };
            PopulationSurvival {
                estimate: SurvivalEstimate::with_sd(value, naive, (var_post + var_hyp).sqrt()),
                per_cell: base.iter().map(|c| c[j].0).collect(),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64* uniform in (0, 1).
    struct Rand(u64);
    impl Rand {
        fn u(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            ((self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }
        fn normal(&mut self) -> f64 {
            (-2.0 * self.u().ln()).sqrt() * (std::f64::consts::TAU * self.u()).cos()
        }
        fn poisson(&mut self, mean: f64) -> f64 {
            if mean > 50.0 {
                return (mean + mean.sqrt() * self.normal()).round().max(0.0);
            }
            let (l, mut k, mut p) = ((-mean).exp(), 0.0, 1.0);
            loop {
                p *= self.u();
                if p <= l {
                    return k;
                }
                k += 1.0;
            }
        }
        /// Gamma(shape k ≥ 1, scale 1) by Marsaglia–Tsang.
        fn gamma(&mut self, k: f64) -> f64 {
            let d = k - 1.0 / 3.0;
            let c = 1.0 / (9.0 * d).sqrt();
            loop {
                let z = self.normal();
                let v = (1.0 + c * z).powi(3);
                if v > 0.0 && self.u().ln() < 0.5 * z * z + d - d * v + d * v.ln() {
                    return d * v;
                }
            }
        }
    }

    fn lq() -> LqParameters {
        LqParameters::lymphocyte()
    }

    /// True doses of two classes (gamma distributed), tallied by a Monte Carlo that deposits
    /// `w` Gy per event (Poisson number of events): the corrected population survival is
    /// unbiased within its stated uncertainty, the naive mean is biased by many σ.
    #[test]
    fn noise_leaves_corrected_survival_unbiased_naive_biased() {
        // moderate dose, ~10–20 events per cell; high dose (S ~ 10⁻³), ~8–12 events per cell
        unbiased_case([(1.0, 0.3), (2.5, 0.2)], 0.12);
        unbiased_case([(4.0, 0.25), (6.0, 0.2)], 0.5);
    }

    fn unbiased_case(classes: [(f64, f64); 2], w: f64) {
        let mut r = Rand(0x9e37_79b9_7f4a_7c15);
        let p = lq();
        let (n, reps) = (400, 40);
        let (mut sum_err, mut sum_naive_err, mut sum_sd2) = (0.0, 0.0, 0.0);
        let mut covered = 0;
        for _ in 0..reps {
            let mut truth = Vec::new();
            let mut x = Vec::new();
            let mut rel = Vec::new();
            let mut class = Vec::new();
            for i in 0..n {
                let (mean, cv) = classes[i % 2];
                let k = 1.0 / (cv * cv);
                let d = r.gamma(k) * mean / k;
                let events = r.poisson(d / w);
                let xd = events * w;
                truth.push((-p.alpha_per_gy * d).exp());
                x.push(xd);
                // batch estimate of the noise: Var = w·D̂ (Poisson), relative sd √(w/D̂)
                rel.push(if xd > 0.0 { (w / xd).sqrt() } else { 0.0 });
                class.push((i % 2) as u32);
            }
            let low: Vec<Protraction> = x
                .iter()
                .map(|&d| Protraction { dose_gy: d, g: 0.0 })
                .collect();
            let noise = CellNoise {
                rel_low_let: rel,
                rel_alpha: vec![0.0; n],
                class,
            };
            let e = population_survival(&vec![0.0; n], &low, &p, &noise, 0.0)
                .unwrap()
                .estimate;
            let t = truth.iter().sum::<f64>() / n as f64;
            sum_err += e.value - t;
            sum_naive_err += e.naive - t;
            sum_sd2 += e.sd * e.sd;
            if e.interval[0] <= t && t <= e.interval[1] {
                covered += 1;
            }
        }
        let bias = sum_err / reps as f64;
        let naive_bias = sum_naive_err / reps as f64;
        let sd_mean = (sum_sd2 / reps as f64).sqrt() / (reps as f64).sqrt();
        eprintln!(
            "classes {classes:?}, {w} Gy per event: corrected bias {bias:.2e}, naive bias \
             {naive_bias:.2e}, σ of the mean {sd_mean:.2e}, coverage {covered}/{reps}"
        );
        assert!(
            bias.abs() < 3.0 * sd_mean,
            "corrected bias {bias} vs σ {sd_mean}"
        );
        assert!(
            naive_bias > 10.0 * sd_mean,
            "naive bias {naive_bias} vs σ {sd_mean}"
        );
        assert!(
            covered >= reps * 8 / 10,
            "95 % interval covered {covered}/{reps}"
        );
    }

    #[test]
    fn exact_doses_give_plain_lq_and_interval_flags() {
        let p = lq();
        let low = [
            Protraction {
                dose_gy: 1.0,
                g: 0.5,
            },
            Protraction {
                dose_gy: 2.0,
                g: 0.5,
            },
        ];
        let e = population_survival(&[0.1, 0.0], &low, &p, &CellNoise::exact(2), 2.0)
            .unwrap()
            .estimate;
        let beta = p.alpha_per_gy / p.alpha_beta_gy;
        let s = |a: f64, d: f64| (-2.0 * a - p.alpha_per_gy * d - beta * 0.5 * d * d).exp();
        let want = (s(0.1, 1.0) + s(0.0, 2.0)) / 2.0;
        assert!((e.value - want).abs() < 1e-14 * want);
        assert_eq!((e.naive, e.sd, e.too_wide), (e.value, 0.0, false));
        assert!(SurvivalEstimate::with_sd(0.2, 0.2, 0.2).too_wide);
        assert!(!SurvivalEstimate::with_sd(0.2, 0.2, 0.04).too_wide);
        assert!(!SurvivalEstimate::with_sd(1e-7, 1e-7, 1e-6).too_wide);
        assert!(SurvivalEstimate::with_sd(0.005, 0.005, 0.005).too_wide);
        let bad = CellNoise::exact(3);
        assert!(population_survival(&[0.0, 0.0], &low, &p, &bad, 2.0).is_err());
    }

    /// Converged cells (tiny noise) keep their own dose: the posterior expectation equals
    /// S(D̂) to first order in the noise.
    #[test]
    fn converged_cells_keep_their_dose() {
        let h = Hyper::of(&[1.0, 2.0, 3.0], &[1e-8, 2e-8, 3e-8]);
        let (e, _) = posterior_expect(&h, 2.0, 1.0, 0.1);
        let want = (-2.0f64 - 0.4).exp();
        assert!((e - want).abs() < 1e-6 * want, "{e} vs {want}");
        // a noise-dominated cell is pulled to its class
        let h = Hyper::of(&[0.0, 4.0, 2.0, 2.0], &[0.0, 40.0, 20.0, 20.0]);
        let (e, _) = posterior_expect(&h, 4.0, 1.0, 0.0);
        assert!(e > (-4.0f64).exp() * 2.0, "{e}");
    }

    /// The noise of an interval: components added linearly, weighted by their dose in the
    /// interval; one component keeps its relative uncertainty whatever the decays.
    #[test]
    fn component_noise_follows_the_intervals_mix() {
        let field = DoseField::new(
            vec![vec![1.0, 2.0], vec![3.0, 0.0]],
            vec![vec![0.5, 0.0], vec![0.0, 0.0]],
        )
        .unwrap();
        let cn = ComponentNoise {
            rel_low_let: vec![vec![0.1, 0.2], vec![0.4, f64::NAN]],
            rel_alpha: vec![vec![0.3, 0.0], vec![0.0, 0.0]],
            class: vec![0, 1],
        };
        let x = cn.over(&field, &[2.0, 1.0]).unwrap();
        // target 0: (2·1·0.1 + 1·3·0.4)/(2·1 + 1·3) = 1.4/5; target 1: component 1 gives nothing
        assert!((x.rel_low_let[0] - 0.28).abs() < 1e-15);
        assert!((x.rel_low_let[1] - 0.2).abs() < 1e-15);
        assert_eq!(x.rel_alpha, vec![0.3, 0.0]);
        assert_eq!(x.class, vec![0, 1]);
        let y = cn.over(&field, &[5.0, 0.0]).unwrap();
        assert!((y.rel_low_let[0] - 0.1).abs() < 1e-15);
        assert!(cn.over(&field, &[1.0]).is_err());
        let short = ComponentNoise {
            class: vec![0],
            ..cn.clone()
        };
        assert!(short.over(&field, &[1.0, 1.0]).is_err());
    }
}
