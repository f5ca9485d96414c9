//! Møller (e⁻e⁻) scattering above an energy-transfer threshold W_cc: the total cross section
//! per gram, sampling of the energy transfer and the two-body emission angles.
//!
//! With ε = W/T ∈ [W_cc/T, ½] (the δ ray is the less energetic of the two outgoing
//! electrons), τ = T/m_ec², γ = τ + 1 and g = (2γ − 1)/γ² (ICRU 37; Geant4
//! `G4MollerBhabhaModel`):
//!
//! ```text
//! dσ/dε = 2π r_e² m_ec² n_e / (β² T) · [ 1/ε² + 1/(1−ε)² + (τ/γ)² − g/(ε(1−ε)) ]
//! ```
//!
//! Binding is neglected: the primary keeps T − W and the δ ray gets W, so energy is
//! conserved exactly.

use xfire_core::constants::ELECTRON_MASS_MEV;
use xfire_core::rng::Rng;

use crate::electron::two_pi_re2_mc2_na;

/// Møller mass cross section Σ [cm²/g] for energy transfers W ≥ `wcc_mev` \[MeV\] of an
/// electron of kinetic energy `t_mev` \[MeV\] in a material of ⟨Z/A⟩ `z_over_a` [mol/g];
/// 0 when T ≤ 2 W_cc.
pub fn moller_cross_section(t_mev: f64, wcc_mev: f64, z_over_a: f64) -> f64 {
    if t_mev <= 2.0 * wcc_mev {
        return 0.0;
    }
    let tau = t_mev / ELECTRON_MASS_MEV;
    let gamma = tau + 1.0;
    let beta2 = tau * (tau + 2.0) / (gamma * gamma);
    let g = (2.0 * gamma - 1.0) / (gamma * gamma);
    let x1 = wcc_mev / t_mev;
    let x2 = 0.5;
    let r = tau / gamma;
    let bracket = (x2 - x1) * (r * r + 1.0 / (x1 * x2) + 1.0 / ((1.0 - x1) * (1.0 - x2)))
        - g * (x2 * (1.0 - x1) / (x1 * (1.0 - x2))).ln();
    two_pi_re2_mc2_na() * z_over_a / (beta2 * t_mev) * bracket
}

/// Restricted second moment of soft Møller losses, ∫₀^W_cc W² dσ [MeV² cm²/g] to leading
/// order in W_cc/T (Bohr): 2π r_e² m_ec² N_A ⟨Z/A⟩ W_cc / β², with W_cc clamped to T/2.
pub fn soft_collision_straggling(t_mev: f64, wcc_mev: f64, z_over_a: f64) -> f64 {
    let tau = t_mev / ELECTRON_MASS_MEV;
    let gamma = tau + 1.0;
    let beta2 = tau * (tau + 2.0) / (gamma * gamma);
    let w = wcc_mev.min(0.5 * t_mev);
    two_pi_re2_mc2_na() * z_over_a / beta2 * w
}

/// Samples the energy transfer W \[MeV\] ∈ [W_cc, T/2] of a Møller collision (needs T > 2 W_cc).
pub fn sample_moller_transfer(t_mev: f64, wcc_mev: f64, rng: &mut Rng) -> f64 {
    let tau = t_mev / ELECTRON_MASS_MEV;
    let gamma = tau + 1.0;
    let g = (2.0 * gamma - 1.0) / (gamma * gamma);
    let r2 = (tau / gamma) * (tau / gamma);
    let x1 = wcc_mev / t_mev;
    let x2 = 0.5;
    // ε²·bracket is largest at ε = ½
    let fmax = 2.0 + 0.25 * r2 - g;
    loop {
        let xi = rng.uniform();
        let eps = x1 * x2 / (x1 * (1.0 - xi) + x2 * xi);
        let u = eps / (1.0 - eps);
        let f = 1.0 + u * u + eps * eps * r2 - g * u;
        if rng.uniform() * fmax <= f {
            return eps * t_mev;
        }
    }
}

/// cos θ of an electron of kinetic energy `w_mev` \[MeV\] emitted in a collision in which a
/// free electron at rest is hit by one of kinetic energy `t_mev` \[MeV\] (two-body
/// kinematics: cos²θ = W(T + 2m_ec²)/(T(W + 2m_ec²))). For the scattered primary pass
/// W = T − W_δ.
#[inline]
pub fn binary_cos_theta(t_mev: f64, w_mev: f64) -> f64 {
    let m2 = 2.0 * ELECTRON_MASS_MEV;
    (w_mev * (t_mev + m2) / (t_mev * (w_mev + m2)))
        .clamp(0.0, 1.0)
        .sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use xfire_data::materials::builtin;

    #[test]
    fn water_cross_section_matches_physics_guide() {
        let za = builtin("water").unwrap().z_over_a();
        let s1 = moller_cross_section(0.1, 0.01, za);
        let s2 = moller_cross_section(1.0, 0.01, za);
        println!("Σ(100 keV) = {s1:.4}, Σ(1 MeV) = {s2:.4} cm²/g");
        assert!((s1 / 19.17 - 1.0).abs() < 1e-3);
        assert!((s2 / 9.30 - 1.0).abs() < 1e-3);
        assert_eq!(moller_cross_section(0.02, 0.01, za), 0.0);
    }

    /// The sampled mean transfer equals ∫ W dσ / Σ, and ∫ W dσ equals the difference of the
    /// restricted stopping powers L(T/2) − L(W_cc) (the hard part of the collision loss).
    #[test]
    fn sampled_transfers_reproduce_the_hard_stopping_power() {
        let water = builtin("water").unwrap();
        let za = water.z_over_a();
        let es = crate::electron::ElectronStopping::new(&water).unwrap();
        let mut rng = Rng::for_stream(3, 0, 0);
        for t in [0.05, 0.3, 1.0] {
            let wcc = 0.01;
            let n = 200_000;
            let (mut s, mut s2) = (0.0, 0.0);
            for _ in 0..n {
                let w = sample_moller_transfer(t, wcc, &mut rng);
                assert!(w >= wcc * (1.0 - 1e-12) && w <= 0.5 * t * (1.0 + 1e-12));
                s += w;
                s2 += w * w;
            }
            let nf = n as f64;
            let mean = s / nf;
            let sd = ((s2 / nf - mean * mean) / nf).sqrt();
            let hard =
                es.collision_stopping_power(t) - es.restricted_collision_stopping_power(t, wcc);
            let expect = hard / moller_cross_section(t, wcc, za);
            println!("T = {t}: <W> = {mean:.6} ± {sd:.1e}, expected {expect:.6}");
            assert!((mean - expect).abs() < 4.0 * sd, "{mean} {expect} {sd}");
        }
    }

    #[test]
    fn binary_angles_are_forward_and_consistent() {
        // momentum conservation along the axis: p cosθ_δ + p' cosθ' = p₀
        let pc = |t: f64| (t * (t + 2.0 * ELECTRON_MASS_MEV)).sqrt();
        for (t, w) in [(1.0, 0.1), (0.2, 0.09), (0.05, 0.011)] {
            let c1 = binary_cos_theta(t, w);
            let c2 = binary_cos_theta(t, t - w);
            let lhs = pc(w) * c1 + pc(t - w) * c2;
            assert!((lhs / pc(t) - 1.0).abs() < 1e-12);
            // transverse momenta balance
            let s1 = (1.0 - c1 * c1).sqrt() * pc(w);
            let s2 = (1.0 - c2 * c2).sqrt() * pc(t - w);
            assert!((s1 - s2).abs() < 1e-12);
        }
    }
}
