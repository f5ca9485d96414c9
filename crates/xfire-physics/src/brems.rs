//! Approximate class-II bremsstrahlung (physics.md §5): photons of energy k ≥ W_cr are
//! emitted discretely, softer ones are part of the continuous loss.
//!
//! The shape of the spectrum is approximated as flat in k dσ/dk (dσ/dk ∝ 1/k) and
//! normalised so that ∫₀ᵀ k dσ/dk dk equals the radiative stopping power S_rad(T) of
//! `ElectronStopping` (ESTAR, Seltzer–Berger). Then
//!
//! * the discrete cross section is Σ_brem = S_rad ln(T/W_cr)/T \[cm²/g\],
//! * the restricted (continuous) radiative stopping power is S_rad W_cr/T,
//! * its straggling contribution is ∫₀^W_cr k² dσ = S_rad W_cr²/(2T),
//! * photon energies are k = W_cr (T/W_cr)^ξ.
//!
//! The mean radiative energy loss is exactly ESTAR's; only the photon spectrum shape is
//! approximate, which affects where the ≤ 0.4 % radiative share of a β emitter's energy
//! lands. The photon is emitted at the fixed angle θ = m_ec²/E (E the total electron energy),
//! as in DPM; the electron is not deflected.

use xfire_core::constants::ELECTRON_MASS_MEV;
use xfire_core::rng::Rng;

/// Discrete bremsstrahlung cross section [cm²/g] for photons k ≥ `wcr_mev` \[MeV\] from an
/// electron of kinetic energy `t_mev` \[MeV\] with radiative stopping power `s_rad`
/// [MeV cm²/g].
#[inline]
pub fn brems_cross_section(t_mev: f64, wcr_mev: f64, s_rad: f64) -> f64 {
    if t_mev <= wcr_mev {
        0.0
    } else {
        s_rad * (t_mev / wcr_mev).ln() / t_mev
    }
}

/// Restricted (k < W_cr) radiative stopping power [MeV cm²/g].
#[inline]
pub fn brems_restricted_stopping(t_mev: f64, wcr_mev: f64, s_rad: f64) -> f64 {
    if t_mev <= wcr_mev {
        s_rad
    } else {
        s_rad * wcr_mev / t_mev
    }
}

/// ∫₀^min(W_cr,T) k² dσ/dk dk [MeV² cm²/g], the straggling of the continuous radiative loss.
#[inline]
pub fn brems_soft_straggling(t_mev: f64, wcr_mev: f64, s_rad: f64) -> f64 {
    let w = wcr_mev.min(t_mev);
    s_rad * w * w / (2.0 * t_mev)
}

/// Samples a photon energy k \[MeV\] ∈ [W_cr, T].
#[inline]
pub fn sample_photon_energy(t_mev: f64, wcr_mev: f64, rng: &mut Rng) -> f64 {
    (wcr_mev * (t_mev / wcr_mev).powf(rng.uniform())).min(t_mev)
}

/// cos θ of the photon relative to the electron direction (θ = m_ec²/E, E = T + m_ec²).
#[inline]
pub fn photon_cos_theta(t_mev: f64) -> f64 {
    (ELECTRON_MASS_MEV / (t_mev + ELECTRON_MASS_MEV)).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_radiative_loss_is_exact() {
        // restricted + Σ·⟨k⟩ = S_rad
        let (t, wcr, srad) = (1.0, 0.01, 0.0128);
        let sigma = brems_cross_section(t, wcr, srad);
        let mean_k = (t - wcr) / (t / wcr).ln(); // mean of the 1/k density on [wcr, t]
        let total = brems_restricted_stopping(t, wcr, srad) + sigma * mean_k;
        assert!((total / srad - 1.0).abs() < 1e-12);
        let mut rng = Rng::for_stream(1, 1, 1);
        let n = 200_000;
        let mut s = 0.0;
        let mut s2 = 0.0;
        for _ in 0..n {
            let k = sample_photon_energy(t, wcr, &mut rng);
            assert!((wcr..=t).contains(&k));
            s += k;
            s2 += k * k;
        }
        let m = s / n as f64;
        let sd = ((s2 / n as f64 - m * m) / n as f64).sqrt();
        assert!((m - mean_k).abs() < 4.0 * sd);
    }
}
