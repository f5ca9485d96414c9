//! Elastic scattering of electrons for condensed history: the screened-Rutherford (Wentzel)
//! cross section with Molière's screening parameter and an optional McKinley–Feshbach
//! (Mott) spin correction, its transport coefficients, and the *mixed* (class II) elastic
//! scheme of PENELOPE (Salvat 2015; Fernández-Varea et al. 1993).
//!
//! # Model
//!
//! With μ = (1 − cos θ)/2, the mass differential cross section is
//!
//! ```text
//! dσ/dμ = K(T) · M(μ) / (μ + A)²,   K = π r_e² (m_ec²)² / ((pc)² β²) · N_A Σ_i w_i Z_i(Z_i+1)/A_i
//! M(μ)  = 1 − β² μ + π α β Z̃ (√μ − μ)          (McKinley–Feshbach, low Z; M = 1 without spin)
//! ```
//!
//! per gram, where A is Molière's screening parameter
//! A_i = ¼ (α m_ec/(0.885 p))² Z_i^(2/3) [1.13 + 3.76 (αZ_i/β)²], combined for compounds as
//! ln A = Σ n_i Z_i(Z_i+1) ln A_i / Σ n_i Z_i(Z_i+1), and
//! Z̃ = Σ n_i Z_i²(Z_i+1) / Σ n_i Z_i(Z_i+1) (the spin factor is linear in Z, so the
//! compound average is exact for a common A). Without the spin factor the integrals have
//! closed forms (G₁ = 2A[(1+A) ln((1+A)/A) − 1] etc.); with it they are computed by
//! Gauss–Legendre quadrature in ln(μ + A) when the tables are built.
//!
//! The transport coefficients are 1/λ_l = ∫ (1 − P_l(cos θ)) dσ: 1/λ_el (l → total),
//! 1/λ₁ = 2 ∫ μ dσ and 1/λ₂ = 6 ∫ (μ − μ²) dσ.
//!
//! # Mixed scheme (exact for any step length)
//!
//! Collisions with μ > μ_c ("hard") are simulated one by one from the exact DCS, with mean
//! free path λ_h = max{λ_el, min[C₁ λ₁, C₂ T/S(T)]}. The cut μ_c is the one for which the
//! DCS above it integrates to 1/λ_h. The many soft collisions (μ < μ_c) along a path s are
//! replaced by one deflection at a random hinge whose first two moments are the exact ones,
//! ⟨μ⟩ = ½(1 − e^(−s/λ₁ˢ)) and ⟨μ²⟩ = ⟨μ⟩ − (1 − e^(−s/λ₂ˢ))/6, drawn from PENELOPE's
//! two-bar histogram. Since Legendre moments of independent deflections with random azimuth
//! multiply, the angular distribution after any path s has exactly the Goudsmit–Saunderson
//! moments ⟨P₁⟩ = e^(−s/λ₁) and ⟨P₂⟩ = e^(−s/λ₂), whatever C₁, C₂ (checked in the tests).
//! When λ_h = λ_el (low energies) the simulation is detailed: μ_c = 0 and there is no soft
//! part.

use xfire_core::constants::{
    AVOGADRO, CLASSICAL_ELECTRON_RADIUS_CM, ELECTRON_MASS_MEV, FINE_STRUCTURE,
};
use xfire_core::quadrature::{GL8_W, GL8_X};
use xfire_core::rng::Rng;
use xfire_data::materials::{element, Material};

use crate::PhysicsError;

/// Molière screening parameter A of one element of atomic number `z` for an electron of
/// kinetic energy `t_mev` \[MeV\] (dimensionless, in μ = (1 − cos θ)/2).
pub fn moliere_screening(z: f64, t_mev: f64) -> f64 {
    let tau = t_mev / ELECTRON_MASS_MEV;
    let pc2 = tau * (tau + 2.0); // (pc / m_ec²)²
    let beta2 = pc2 / ((tau + 1.0) * (tau + 1.0));
    let a = FINE_STRUCTURE / 0.885;
    0.25 * a * a / pc2
        * z.powf(2.0 / 3.0)
        * (1.13 + 3.76 * FINE_STRUCTURE * FINE_STRUCTURE * z * z / beta2)
}

/// The screened-Rutherford transport coefficient G₁ = 1 − ⟨cos θ⟩ per collision for
/// screening `a` (closed form, no spin factor).
pub fn wentzel_g1(a: f64) -> f64 {
    2.0 * a * ((1.0 + a) * ((1.0 + a) / a).ln() - 1.0)
}

/// The screened-Rutherford G₂ = 1 − ⟨P₂(cos θ)⟩ per collision for screening `a`.
pub fn wentzel_g2(a: f64) -> f64 {
    6.0 * a * (1.0 + a) * ((1.0 + 2.0 * a) * ((1.0 + a) / a).ln() - 2.0)
}

/// Material constants of the elastic cross section.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElasticMaterial {
    /// N_A Σ_i w_i Z_i(Z_i+1)/A_i [1/g].
    pub zz1_per_g: f64,
    /// Weights for the compound screening: Σ n_i Z_i(Z_i+1) ln(Z_i^(2/3)) etc. are folded
    /// into these per-element entries (up to 16 elements).
    elements: [(f64, f64); 16],
    n_elements: usize,
    /// Z̃ = Σ n_i Z_i²(Z_i+1) / Σ n_i Z_i(Z_i+1), the spin-correction charge.
    pub z_spin: f64,
    /// Σ n_i Z_i / Σ n_i Z_i(Z_i+1): the share of the atomic electrons in the Z(Z+1)
    /// scattering strength.
    pub electron_share: f64,
}

impl ElasticMaterial {
    /// Constants of `material` (at most 16 elements).
    pub fn new(material: &Material) -> Result<ElasticMaterial, PhysicsError> {
        let mut elements = [(0.0, 0.0); 16];
        let mut n = 0;
        let mut sum = 0.0;
        let mut sum_z = 0.0;
        let mut sum_e = 0.0;
        for &(z, w) in &material.composition {
            let el = element(z).ok_or(PhysicsError::UnsupportedElement {
                material: material.name.clone(),
                z,
            })?;
            if n == elements.len() {
                return Err(PhysicsError::InvalidMaterial(format!(
                    "material {:?}: more than 16 elements",
                    material.name
                )));
            }
            let zf = z as f64;
            let weight = w / el.atomic_mass_g_mol * zf * (zf + 1.0);
            elements[n] = (zf, weight);
            n += 1;
            sum += weight;
            sum_z += weight * zf;
            sum_e += w / el.atomic_mass_g_mol * zf;
        }
        if sum.is_nan() || sum <= 0.0 {
            return Err(PhysicsError::InvalidMaterial(format!(
                "material {:?}: empty composition",
                material.name
            )));
        }
        for e in elements.iter_mut().take(n) {
            e.1 /= sum;
        }
        Ok(ElasticMaterial {
            zz1_per_g: AVOGADRO * sum,
            elements,
            n_elements: n,
            z_spin: sum_z / sum,
            electron_share: sum_e / sum,
        })
    }

    /// Compound screening parameter A at `t_mev` \[MeV\].
    pub fn screening(&self, t_mev: f64) -> f64 {
        self.elements[..self.n_elements]
            .iter()
            .map(|&(z, w)| w * moliere_screening(z, t_mev).ln())
            .sum::<f64>()
            .exp()
    }

    /// K(T) [cm²/g]: the DCS prefactor, dσ/dμ = K M(μ)/(μ+A)².
    pub fn prefactor(&self, t_mev: f64) -> f64 {
        let tau = t_mev / ELECTRON_MASS_MEV;
        let pc2 = tau * (tau + 2.0);
        let beta2 = pc2 / ((tau + 1.0) * (tau + 1.0));
        std::f64::consts::PI * CLASSICAL_ELECTRON_RADIUS_CM * CLASSICAL_ELECTRON_RADIUS_CM
            / (pc2 * beta2)
            * self.zz1_per_g
    }
}

/// Fraction of the scattering by atomic electrons (the "+1" of Z(Z+1)) that a class-II
/// simulation already produces explicitly, through the deflection of the primary in hard
/// Møller collisions with energy transfer above `cut_mev`, for an electron of `t_mev` \[MeV\]
/// and screening `a`: the ratio of the hard-Møller angular moment g_M to the screened-Rutherford
/// one g_R = (1 + 2A) ln(1 + 1/A) − 2, capped at 1 (Kawrakow, Med. Phys. 27 (2000) 485; EGSnrc
/// PIRS-701 §2.4; formula as in EGSnrc's spin initialisation, ompMC `initSpinData`). 0 when no hard collision is possible
/// (T ≤ 2 W_cc).
///
/// The elastic cross section must be scaled by 1 − f · Σn_iZ_i / Σn_iZ_i(Z_i+1), otherwise
/// the hard inelastic deflections are counted twice (once in Z(Z+1), once in the Møller event).
pub fn hard_moller_scattering_fraction(t_mev: f64, cut_mev: f64, a: f64) -> f64 {
    let tau = t_mev / ELECTRON_MASS_MEV;
    let tc = cut_mev / ELECTRON_MASS_MEV;
    if tau <= 2.0 * tc {
        return 0.0;
    }
    let g_r = (1.0 + 2.0 * a) * (1.0 + 1.0 / a).ln() - 2.0;
    let r = (tau + 2.0) / (tau + 1.0);
    let g_m = (0.5 * tau / tc).ln() + (1.0 + r * r) * (2.0 * (tau - tc + 2.0) / (tau + 4.0)).ln()
        - 0.25
            * (tau + 2.0)
            * (tau + 2.0 + 2.0 * (2.0 * tau + 1.0) / ((tau + 1.0) * (tau + 1.0)))
            * ((tau + 4.0) * (tau - tc) / tau / (tau - tc + 2.0)).ln()
        + 0.5
            * (tau - 2.0 * tc)
            * (tau + 2.0)
            * (1.0 / (tau - tc) - 1.0 / ((tau + 1.0) * (tau + 1.0)));
    if g_m < g_r {
        (g_m / g_r).max(0.0)
    } else {
        1.0
    }
}

/// Spin factor M(μ) = 1 − β²μ + c(√μ − μ) of the DCS; `c` = π α β Z̃ (0 and β² = 0 without
/// spin correction).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpinFactor {
    /// β² (0 when the spin correction is off).
    pub beta2: f64,
    /// π α β Z̃ (0 when the spin correction is off).
    pub c: f64,
}

impl SpinFactor {
    /// The factor at `t_mev` \[MeV\] for spin charge `z_spin`; identity if `!on`.
    pub fn new(t_mev: f64, z_spin: f64, on: bool) -> SpinFactor {
        if !on {
            return SpinFactor { beta2: 0.0, c: 0.0 };
        }
        let tau = t_mev / ELECTRON_MASS_MEV;
        let beta2 = tau * (tau + 2.0) / ((tau + 1.0) * (tau + 1.0));
        SpinFactor {
            beta2,
            c: std::f64::consts::PI * FINE_STRUCTURE * beta2.sqrt() * z_spin,
        }
    }

    /// M(μ).
    #[inline]
    pub fn eval(&self, mu: f64) -> f64 {
        1.0 - self.beta2 * mu + self.c * (mu.sqrt() - mu)
    }

    /// An upper bound of M on [0, 1].
    #[inline]
    pub fn max(&self) -> f64 {
        1.0 + 0.25 * self.c.max(0.0)
    }
}

/// (∫ M/(μ+A)², ∫ μ M/(μ+A)², ∫ μ² M/(μ+A)²) over [lo, hi] ⊂ [0, 1], by composite
/// Gauss–Legendre quadrature in x = ln(μ + A).
pub fn dcs_moments(a: f64, spin: SpinFactor, lo: f64, hi: f64) -> [f64; 3] {
    if hi <= lo {
        return [0.0; 3];
    }
    let x0 = (lo + a).ln();
    let x1 = (hi + a).ln();
    let panels = 48;
    let h = (x1 - x0) / panels as f64;
    let mut out = [0.0; 3];
    for p in 0..panels {
        let xm = x0 + (p as f64 + 0.5) * h;
        for k in 0..8 {
            let x = xm + 0.5 * h * GL8_X[k];
            let ex = x.exp();
            let mu = (ex - a).max(0.0);
            let f = 0.5 * h * GL8_W[k] * spin.eval(mu) / ex;
            out[0] += f;
            out[1] += f * mu;
            out[2] += f * mu * mu;
        }
    }
    out
}

/// Samples μ ∈ [μ_c, 1] from the Wentzel DCS A(1+A)/(μ+A)² restricted to that interval, with
/// the spin factor applied by rejection.
#[inline]
pub fn sample_hard_mu(a: f64, mu_c: f64, spin: SpinFactor, rng: &mut Rng) -> f64 {
    let u0 = 1.0 / (mu_c + a);
    let u1 = 1.0 / (1.0 + a);
    let mmax = spin.max();
    loop {
        let mu = (1.0 / (u0 - rng.uniform() * (u0 - u1)) - a).clamp(mu_c, 1.0);
        if spin.c == 0.0 && spin.beta2 == 0.0 {
            return mu;
        }
        if rng.uniform() * mmax <= spin.eval(mu) {
            return mu;
        }
    }
}

/// Samples the soft deflection μ with given first and second moments ⟨μ⟩, ⟨μ²⟩ from the
/// two-bar histogram (PENELOPE): μ ~ U(0, μ₀) with probability p, else U(μ₀, 1).
#[inline]
pub fn sample_soft_mu(mean: f64, mean_sq: f64, rng: &mut Rng) -> f64 {
    if mean <= 0.0 {
        return 0.0;
    }
    let mu0 = ((2.0 * mean - 3.0 * mean_sq) / (1.0 - 2.0 * mean)).clamp(0.0, 1.0);
    let p = (1.0 - 2.0 * mean + mu0).clamp(0.0, 1.0);
    let r = rng.uniform();
    if r < p {
        mu0 * (r / p)
    } else {
        mu0 + (1.0 - mu0) * ((r - p) / (1.0 - p))
    }
}

/// μ of the composite deflection of a path at fixed energy in the mixed model: one soft
/// deflection with moments `mean`, `mean_sq` ([`sample_soft_mu`]) and a Poisson number, of
/// mean `n_hard`, of hard deflections from [`sample_hard_mu`] (`a`, `mu_c`, `spin`), each
/// with a uniform azimuth, composed in order. Legendre moments of independent deflections
/// with random azimuth multiply, so ⟨P_l⟩ of the result is the product of the soft and the
/// hard parts' ⟨P_l⟩: for l = 1, 2 the exact Goudsmit–Saunderson e^(−s/λ_l).
#[inline]
pub fn sample_composite_mu(
    mean: f64,
    mean_sq: f64,
    n_hard: f64,
    a: f64,
    mu_c: f64,
    spin: SpinFactor,
    rng: &mut Rng,
) -> f64 {
    let mu_soft = sample_soft_mu(mean, mean_sq, rng);
    // Poisson by products of uniforms (Knuth): n is the number of factors above e^(−ν)
    let floor = (-n_hard).exp();
    let mut prod = rng.uniform();
    if prod <= floor {
        return mu_soft;
    }
    // direction in the frame of the incoming one; only its polar angle is kept
    let mut d = [0.0, 0.0, 1.0];
    if mu_soft > 0.0 {
        let (c, s) = random_azimuth(rng);
        d = rotate_cs(d, 1.0 - 2.0 * mu_soft, c, s);
    }
    while prod > floor {
        let mu = sample_hard_mu(a, mu_c, spin, rng);
        let (c, s) = random_azimuth(rng);
        d = rotate_cs(d, 1.0 - 2.0 * mu, c, s);
        prod *= rng.uniform();
    }
    // 1 − cos θ without cancellation: (x² + y²)/(1 + z) for z > 0
    let one_minus = if d[2] > 0.0 {
        (d[0] * d[0] + d[1] * d[1]) / (1.0 + d[2])
    } else {
        1.0 - d[2]
    };
    (0.5 * one_minus).clamp(0.0, 1.0)
}

/// First and second moments of the soft deflection after a path of `s_g_cm2` [g/cm²] with
/// soft coefficients `t1` = ∫₀^μc μ dσ and `t2` = ∫₀^μc μ² dσ [cm²/g].
#[inline]
pub fn soft_moments(t1: f64, t2: f64, s_g_cm2: f64) -> (f64, f64) {
    let inv_l1 = 2.0 * t1;
    let inv_l2 = 6.0 * (t1 - t2);
    let mean = -0.5 * (-s_g_cm2 * inv_l1).exp_m1();
    let mean_sq = mean + (-s_g_cm2 * inv_l2).exp_m1() / 6.0;
    (mean, mean_sq.max(0.0))
}

/// Rotates the unit vector `dir` by polar angle θ (given as `cos_theta`) and azimuth `phi`
/// \[rad\] about itself; returns the new unit vector.
#[inline]
pub fn rotate(dir: [f64; 3], cos_theta: f64, phi: f64) -> [f64; 3] {
    let (sin_p, cos_p) = phi.sin_cos();
    rotate_cs(dir, cos_theta, cos_p, sin_p)
}

/// [`rotate`] with the azimuth given as its cosine and sine.
#[inline]
pub fn rotate_cs(dir: [f64; 3], cos_theta: f64, cos_p: f64, sin_p: f64) -> [f64; 3] {
    let cos_t = cos_theta.clamp(-1.0, 1.0);
    let sin_t = (1.0 - cos_t * cos_t).max(0.0).sqrt();
    let [u, v, w] = dir;
    let rho2 = u * u + v * v;
    let out = if rho2 > 1e-20 {
        let rho = rho2.sqrt();
        let a = sin_t / rho;
        [
            u * cos_t + a * (u * w * cos_p - v * sin_p),
            v * cos_t + a * (v * w * cos_p + u * sin_p),
            w * cos_t - sin_t * cos_p * rho,
        ]
    } else {
        let sgn = if w >= 0.0 { 1.0 } else { -1.0 };
        [sin_t * cos_p, sin_t * sin_p, sgn * cos_t]
    };
    let n = (out[0] * out[0] + out[1] * out[1] + out[2] * out[2]).sqrt();
    [out[0] / n, out[1] / n, out[2] / n]
}

/// A uniformly distributed azimuth as (cos φ, sin φ), without trigonometric functions: a
/// point (x, y) uniform in the unit disk (rejection from the square, 1.27 tries on average)
/// has a uniform polar angle α, and φ = 2α has cos φ = (x² − y²)/r², sin φ = 2xy/r².
#[inline]
pub fn random_azimuth(rng: &mut Rng) -> (f64, f64) {
    loop {
        let x = 2.0 * rng.uniform() - 1.0;
        let y = 2.0 * rng.uniform() - 1.0;
        let r2 = x * x + y * y;
        if r2 <= 1.0 && r2 > 1e-200 {
            return ((x * x - y * y) / r2, 2.0 * x * y / r2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xfire_data::materials::builtin;

    #[test]
    fn quadrature_matches_closed_forms() {
        for a in [1e-7, 1e-5, 1e-3, 0.1] {
            let m = dcs_moments(a, SpinFactor { beta2: 0.0, c: 0.0 }, 0.0, 1.0);
            let i0 = 1.0 / (a * (1.0 + a));
            assert!((m[0] / i0 - 1.0).abs() < 1e-10, "{a}: {} {}", m[0], i0);
            let g1 = 2.0 * m[1] / m[0];
            let g2 = 6.0 * (m[1] - m[2]) / m[0];
            assert!((g1 / wentzel_g1(a) - 1.0).abs() < 1e-8, "{a}");
            assert!(
                (g2 / wentzel_g2(a) - 1.0).abs() < 1e-7,
                "{a}: {g2} {}",
                wentzel_g2(a)
            );
        }
    }

    /// Molière-screened Rutherford mean free paths of water (no spin factor), values from an
    /// independent evaluation of the formulas above (scripts-free: Python one-liner in
    /// `docs/physics.md`). physics.md §4 quotes values about 8 % lower (0.049, 0.32, 0.94 µm;
    /// 2.1 µm, 123 µm, 4.7 mm); the cause of that difference is not known.
    #[test]
    fn water_mean_free_paths() {
        let w = ElasticMaterial::new(&builtin("water").unwrap()).unwrap();
        for (t, lel, l1) in [
            (0.01, 0.05501e-4, 2.3367e-4),
            (0.1, 0.35086e-4, 132.88e-4),
            (1.0, 1.01017e-4, 0.51129),
        ] {
            let a = w.screening(t);
            let k = w.prefactor(t);
            let sig = k / (a * (1.0 + a));
            let lambda_el = 1.0 / sig;
            let lambda_1 = lambda_el / wentzel_g1(a);
            println!(
                "T = {t} MeV: A = {a:.3e}, λ_el = {:.4} µm, λ₁ = {:.4} µm",
                lambda_el * 1e4,
                lambda_1 * 1e4
            );
            assert!((lambda_el / lel - 1.0).abs() < 1e-3);
            assert!((lambda_1 / l1 - 1.0).abs() < 1e-3);
        }
    }

    /// The closed form g_M of `hard_moller_scattering_fraction` is ∫ μ_p(1 − μ_p) dσ_Møller
    /// over W ∈ [W_cc, T/2], with μ_p the primary's deflection from binary kinematics, in units
    /// of the e–e Rutherford prefactor π r_e² (m_ec²)²/(p²β²) (the same normalisation as the
    /// screened-Rutherford g_R). Checked by quadrature; and the fraction is 0 below 2 W_cc,
    /// grows with T and stays below 1.
    #[test]
    fn hard_moller_fraction_matches_quadrature() {
        let m = ELECTRON_MASS_MEV;
        for (t_mev, cut) in [
            (0.05, 0.01),
            (0.1, 0.01),
            (0.5, 0.01),
            (1.0, 0.01),
            (2.0, 0.001),
        ] {
            let (t, wc) = (t_mev / m, cut / m);
            let p2 = t * (t + 2.0);
            let b2 = p2 / ((t + 1.0) * (t + 1.0));
            let (g, r) = ((2.0 * t + 1.0) / ((t + 1.0) * (t + 1.0)), t / (t + 1.0));
            let n = 200_000;
            let (lo, hi) = (wc.ln(), (0.5 * t).ln());
            let mut acc = 0.0;
            for i in 0..n {
                let w = (lo + (hi - lo) * (i as f64 + 0.5) / n as f64).exp();
                let e = w / t;
                // Møller dσ/dW in units of π r_e²: 2/(β² T²) [1/ε² + 1/(1−ε)² + r² − g/(ε(1−ε))]
                let dsdw = 2.0 / (b2 * t * t)
                    * (1.0 / (e * e) + 1.0 / ((1.0 - e) * (1.0 - e)) + r * r - g / (e * (1.0 - e)));
                let c2 = (t - w) * (t + 2.0) / (t * (t - w + 2.0));
                let mu = 0.5 * (1.0 - c2.sqrt());
                acc += mu * (1.0 - mu) * dsdw * w * (hi - lo) / n as f64;
            }
            let g_m_num = acc * p2 * b2;
            // recover g_M from the fraction with a tiny screening (g_R large, no cap)
            let a: f64 = 1e-30;
            let g_r = (1.0 + 2.0 * a) * (1.0 + 1.0 / a).ln() - 2.0;
            let g_m = hard_moller_scattering_fraction(t_mev, cut, a) * g_r;
            assert!(
                (g_m / g_m_num - 1.0).abs() < 1e-6,
                "{t_mev}: {g_m} vs {g_m_num}"
            );
        }
        let w = ElasticMaterial::new(&builtin("water").unwrap()).unwrap();
        assert_eq!(
            hard_moller_scattering_fraction(0.019, 0.01, w.screening(0.019)),
            0.0
        );
        let mut last = 0.0;
        for t in [0.03, 0.1, 0.3, 1.0, 3.0] {
            let f = hard_moller_scattering_fraction(t, 0.01, w.screening(t));
            assert!(f > last && f < 1.0, "{t}: {f}");
            last = f;
        }
        // water: Σn Z / Σn Z(Z+1) = 10/76
        assert!((w.electron_share - 10.0 / 76.0).abs() < 1e-3);
    }

    #[test]
    fn rotation_keeps_angle() {
        let mut rng = Rng::for_stream(1, 2, 3);
        for _ in 0..1000 {
            let d = rng.isotropic();
            let c = 2.0 * rng.uniform() - 1.0;
            let n = rotate(d, c, 6.0 * rng.uniform());
            let dot = d[0] * n[0] + d[1] * n[1] + d[2] * n[2];
            assert!((dot - c).abs() < 1e-9);
        }
        let n = rotate([0.0, 0.0, -1.0], 0.5, 0.3);
        assert!((n[2] + 0.5).abs() < 1e-12);
    }

    /// cos φ and sin φ of `random_azimuth` lie on the unit circle and have the moments of a
    /// uniform angle: ⟨cos⟩ = ⟨sin⟩ = ⟨cos sin⟩ = 0, ⟨cos²⟩ = ½, ⟨cos 2φ⟩ = ⟨cos 3φ⟩ = 0 (4σ).
    #[test]
    fn random_azimuth_is_uniform() {
        let mut rng = Rng::for_stream(3, 1, 4);
        let n = 400_000;
        let mut m = [0.0f64; 5];
        for _ in 0..n {
            let (c, s) = random_azimuth(&mut rng);
            assert!((c * c + s * s - 1.0).abs() < 1e-12);
            m[0] += c;
            m[1] += s;
            m[2] += c * s;
            m[3] += c * c - 0.5;
            m[4] += c * (4.0 * c * c - 3.0); // cos 3φ
        }
        let sd = (0.5 / n as f64).sqrt();
        for (k, v) in m.iter().enumerate() {
            assert!(
                (v / n as f64).abs() < 4.0 * sd,
                "moment {k}: {}",
                v / n as f64
            );
        }
    }

    #[test]
    fn soft_two_bar_histogram_has_exact_moments() {
        let mut rng = Rng::for_stream(7, 0, 0);
        for (t1, t2, s) in [(1.0, 0.01, 0.01), (10.0, 0.3, 0.05), (3.0, 0.5, 0.2)] {
            let (m1, m2) = soft_moments(t1, t2, s);
            let n = 400_000;
            let (mut a1, mut a2, mut a4) = (0.0, 0.0, 0.0);
            for _ in 0..n {
                let mu = sample_soft_mu(m1, m2, &mut rng);
                a1 += mu;
                a2 += mu * mu;
                a4 += mu * mu * mu * mu;
            }
            let nf = n as f64;
            let (e1, e2) = (a1 / nf, a2 / nf);
            let s1 = ((e2 - e1 * e1) / nf).sqrt();
            let s2 = ((a4 / nf - e2 * e2) / nf).sqrt();
            assert!((e1 - m1).abs() < 4.0 * s1, "{e1} {m1} {s1}");
            assert!((e2 - m2).abs() < 4.0 * s2, "{e2} {m2} {s2}");
        }
    }
}
