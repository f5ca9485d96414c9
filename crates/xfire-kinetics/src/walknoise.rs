//! Monte Carlo uncertainty of the migrating lymphocytes' survival (`docs/kinetics.md` §9).
//!
//! A walker's dose is a weighted sum of voxel doses, D̂_w = Σ_{v,c} W_wvc d̂_vc (W_wvc the decays
//! of component c while walker w was in voxel v), so its error is Σ_{v,c} W_wvc ε_vc. Model:
//! ε_vc = σ_vc Z_v with Z_v independent between voxels (σ_vc from
//! [`crate::walk::WalkGrid::dose_sd_per_decay`], which carries the allowance for correlated
//! voxels) and shared by the components and parts of a voxel (every component part is
//! transported with the same seed, so the same decay positions). Walkers that visit the same
//! voxels share its error, so the population figure is not a mean of independent cells and
//! the empirical Bayes of [`crate::noise`] (independent targets) does not apply. Instead:
//!
//! * value: the mean over walkers of S(D̂_w) − ½ tr(H_w Σ_w), the second-order removal of the
//!   noise bias (H the Hessian of S in (D_L, D_α), Σ_w the covariance of the walker's dose
//!   errors) — walkers average many voxels, so their relative noise is small and the
//!   second order suffices (it needs σ_w·|∂ln S/∂D| ≪ 1);
//! * uncertainty: the delta method on the mean, σ² = Σ_v B_v² with
//!   B_v = (1/N) Σ_w ∂S/∂D (W_wv·σ_v) — the shared voxels' covariance between walkers
//!   included.

use std::collections::HashMap;

use crate::noise::SurvivalEstimate;
use crate::radiobiology::LqParameters;
use crate::walk::WalkGrid;

/// Error weights of one path per voxel: (voxel, Σ_c W_vc σ_vc for low LET and for α) \[Gy\].
pub(crate) type PathErrors = Vec<(usize, [f64; 2])>;

/// The error weights of a path from its `visits` (component, voxel, decays).
pub(crate) fn path_errors<G: WalkGrid + ?Sized>(
    grid: &G,
    mut visits: Vec<(usize, usize, f64)>,
) -> PathErrors {
    visits.sort_by_key(|x| (x.1, x.0));
    let mut out: PathErrors = Vec::new();
    let mut i = 0;
    while i < visits.len() {
        let (c, v) = (visits[i].0, visits[i].1);
        let mut w = 0.0;
        while i < visits.len() && (visits[i].0, visits[i].1) == (c, v) {
            w += visits[i].2;
            i += 1;
        }
        let (sl, sa) = grid.dose_sd_per_decay(v, c);
        match out.last_mut() {
            Some((u, x)) if *u == v => {
                x[0] += w * sl;
                x[1] += w * sa;
            }
            _ => out.push((v, [w * sl, w * sa])),
        }
    }
    out
}

/// Variances of a path's low-LET and α doses and their covariance \[Gy²\].
pub(crate) fn path_covariance(e: &PathErrors) -> [f64; 3] {
    e.iter().fold([0.0; 3], |a, (_, x)| {
        [a[0] + x[0] * x[0], a[1] + x[1] * x[1], a[2] + x[0] * x[1]]
    })
}

/// The population survival of one model (α coefficient `a_alpha` \[1/Gy\]: α·RBE for the
/// mean-dose model, κ for the α-hit model), accumulated walker by walker.
#[derive(Debug, Clone)]
pub(crate) struct WalkerSurvival {
    a_alpha: f64,
    n: f64,
    corrected: f64,
    naive: f64,
    /// per-voxel sensitivities; summed in voxel order in `estimate` (same bytes as an
    /// ordered map, without its per-visit tree walk)
    b: HashMap<usize, f64>,
}

impl WalkerSurvival {
    /// For `n` walkers.
    pub fn new(a_alpha: f64, n: usize) -> Self {
        Self {
            a_alpha,
            n: n as f64,
            corrected: 0.0,
            naive: 0.0,
            b: HashMap::new(),
        }
    }

    /// Adds a walker with low-LET dose `d_l`, G factor `g`, α dose `d_a` \[Gy\] and path
    /// errors `e`.
    pub fn add(&mut self, (d_l, g, d_a): (f64, f64, f64), e: &PathErrors, lq: &LqParameters) {
        let two_beta_g = 2.0 * lq.alpha_per_gy / lq.alpha_beta_gy * g;
        let s = (-self.a_alpha * d_a - lq.alpha_per_gy * d_l - 0.5 * two_beta_g * d_l * d_l).exp();
        let (k_l, k_a) = (lq.alpha_per_gy + two_beta_g * d_l, self.a_alpha);
        let [vl, va, cov] = path_covariance(e);
        let trace = (k_l * k_l - two_beta_g) * vl + k_a * k_a * va + 2.0 * k_l * k_a * cov;
        self.corrected += (s - 0.5 * s * trace) / self.n;
        self.naive += s / self.n;
        for &(v, x) in e {
            *self.b.entry(v).or_insert(0.0) -= s * (k_l * x[0] + k_a * x[1]) / self.n;
        }
    }

    /// The estimate: corrected mean (at least 0), uncorrected mean, delta-method σ.
    pub fn estimate(&self) -> SurvivalEstimate {
        let mut terms: Vec<(usize, f64)> = self.b.iter().map(|(&v, &b)| (v, b)).collect();
        terms.sort_unstable_by_key(|&(v, _)| v);
        let sd = terms.iter().map(|(_, b)| b * b).sum::<f64>().sqrt();
        SurvivalEstimate::with_sd(self.corrected.max(0.0), self.naive, sd)
    }
}
