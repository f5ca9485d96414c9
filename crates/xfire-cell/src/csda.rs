//! The MIRD analytic (CSDA) method of cellular S values (Goddu et al., J Nucl Med 35:303,
//! 1994; MIRD Cellular S Values, 1997):
//!
//! S(T←S) = (1/m_T) Σ_i y_i ∫₀^{R_i} ψ_{T←S}(x) (dE/dx)_i(x) dx
//!
//! for every charged emission i (yield y_i, initial energy E_i, CSDA range R_i), where
//! (dE/dx)_i(x) is the stopping power at the energy left after a straight path x: no
//! straggling, no scattering, no δ rays. With dE = (dE/dx) dx the integral becomes
//! F(E₀) = ∫₀^{E₀} ψ(R(E₀) − R(E)) dE, the energy a particle of energy E₀ leaves in the target;
//! it is integrated in E (no end-of-range singularity), split where ψ has kinks.
//!
//! The range–energy relation is the project's: electrons (β±, IC, Auger) ICRU 37 total
//! stopping power (`xfire_physics::electron`), α particles ASTAR (`xfire_physics::alpha`),
//! through [`RangeEnergy`]. α recoil nuclei are deposited at the decay point (ψ(0)). Photons
//! are left out, as in the MIRD tables. β spectra are the ICRP-107 BET spectra with energies
//! scaled so that their mean is the RAD mean (as the transport's sampler does), integrated
//! bin by bin with Simpson's rule on F (F is evaluated at the bin edges and midpoints).

use crate::geometry::Psi;
use xfire_core::quadrature::integrate_panels;
use xfire_data::nuclides::{Nuclide, Radiation, RadiationSet};
use xfire_physics::csda::RangeEnergy;

/// Which range–energy relation carries an emission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carrier {
    /// Electron or positron.
    Electron,
    /// α particle.
    Alpha,
}

/// One discrete charged emission.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    /// The particle.
    pub carrier: Carrier,
    /// Kinetic energy [MeV].
    pub energy_mev: f64,
    /// Particles per decay.
    pub yield_per_decay: f64,
}

/// A β spectrum: piecewise-linear particles per MeV per decay on an energy grid [MeV].
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrum {
    /// Grid energies [MeV] (scaled), ascending.
    pub energy_mev: Vec<f64>,
    /// Particles per MeV per decay at the grid energies.
    pub per_mev: Vec<f64>,
}

/// The charged emissions of one nuclide that the CSDA method follows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChargedEmissions {
    /// Discrete lines (α, IC, Auger).
    pub lines: Vec<Line>,
    /// β spectra (electron carrier).
    pub spectra: Vec<Spectrum>,
    /// Energy deposited at the decay point per decay (α recoil) [MeV].
    pub local_mev: f64,
}

impl ChargedEmissions {
    /// The charged emissions of `n` among the radiation types in `set` (photons ignored).
    pub fn of(n: &Nuclide, set: RadiationSet) -> Self {
        let mut e = ChargedEmissions::default();
        for r in [Radiation::Ic, Radiation::Auger, Radiation::Alpha] {
            if !set.contains(r) {
                continue;
            }
            let carrier = if r == Radiation::Alpha {
                Carrier::Alpha
            } else {
                Carrier::Electron
            };
            for (en, y) in n.lines(r) {
                if en > 0.0 && y > 0.0 {
                    e.lines.push(Line {
                        carrier,
                        energy_mev: en,
                        yield_per_decay: y,
                    });
                }
            }
        }
        if set.contains(Radiation::AlphaRecoil) {
            e.local_mev = n.energy_per_decay_mev(Radiation::AlphaRecoil);
        }
        for (r, kind) in [
            (Radiation::BetaMinus, "beta-"),
            (Radiation::BetaPlus, "beta+"),
        ] {
            if let Some(s) = set
                .contains(r)
                .then_some(n.beta_spectrum.as_ref())
                .flatten()
                .filter(|s| s.kind == kind)
            {
                let (y, mean_rad) = (n.yield_per_decay(r), n.energy_per_decay_mev(r));
                let (count, energy) = (s.integral(), s.energy_integral_mev());
                if y > 0.0 && count > 0.0 && energy > 0.0 {
                    let scale = (mean_rad / y) / (energy / count);
                    let norm = y / count / scale;
                    e.spectra.push(Spectrum {
                        energy_mev: s.energy_mev.iter().map(|x| x * scale).collect(),
                        per_mev: s.per_mev_per_decay.iter().map(|p| p * norm).collect(),
                    });
                }
            }
        }
        e
    }

    /// Charged energy emitted per decay [MeV] (lines + spectra + local).
    pub fn energy_per_decay_mev(&self) -> f64 {
        let lines: f64 = self
            .lines
            .iter()
            .map(|l| l.energy_mev * l.yield_per_decay)
            .sum();
        let spectra: f64 = self
            .spectra
            .iter()
            .map(|s| spectrum_integral(s, |e| e))
            .sum();
        lines + spectra + self.local_mev
    }

    /// Whether nothing is emitted.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.spectra.is_empty() && self.local_mev == 0.0
    }
}

/// ∫ N(E) g(E) dE over a piecewise-linear spectrum, Simpson's rule on each bin.
fn spectrum_integral(s: &Spectrum, g: impl Fn(f64) -> f64) -> f64 {
    let mut sum = 0.0;
    let mut g_lo = s.energy_mev.first().map_or(0.0, |&e| g(e));
    for (e, n) in s.energy_mev.windows(2).zip(s.per_mev.windows(2)) {
        let (a, b) = (e[0], e[1]);
        if b <= a {
            continue;
        }
        let g_hi = g(b);
        let g_mid = g(0.5 * (a + b));
        let n_mid = 0.5 * (n[0] + n[1]);
        sum += (b - a) / 6.0 * (n[0] * g_lo + 4.0 * n_mid * g_mid + n[1] * g_hi);
        g_lo = g_hi;
    }
    sum
}

/// Cole's experimental electron energy-loss relation in unit-density water (Cole, Radiat. Res.
/// 38:7, 1969), the one of the MIRD cellular tables (Goddu et al. 1994, 1997):
/// dE/dX = 3.316 (X + 0.007)^−0.435 + 0.0055 X^0.33 keV/µm at residual range X [µm], so
/// E(X) = (3.316/0.565)[(X + 0.007)^0.565 − 0.007^0.565] + (0.0055/1.33) X^1.33 keV.
/// Mass units assume 1 g/cm³ (1 g/cm² = 10⁴ µm); the range is the exact inverse (bisection).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ColeElectron;

impl ColeElectron {
    /// Kinetic energy [keV] of an electron with residual range `x_um` [µm].
    pub fn energy_kev(x_um: f64) -> f64 {
        if x_um <= 0.0 {
            return 0.0;
        }
        3.316 / 0.565 * ((x_um + 0.007).powf(0.565) - 0.007f64.powf(0.565))
            + 0.0055 / 1.33 * x_um.powf(1.33)
    }
}

impl RangeEnergy for ColeElectron {
    fn energy_at_range(&self, r_g_cm2: f64) -> f64 {
        Self::energy_kev(r_g_cm2 * 1e4) * 1e-3
    }

    fn range_g_cm2(&self, e_mev: f64) -> f64 {
        if e_mev <= 0.0 {
            return 0.0;
        }
        let want = e_mev * 1e3;
        let mut hi = 1.0; // µm
        while Self::energy_kev(hi) < want {
            hi *= 2.0;
        }
        let mut lo = 0.0;
        for _ in 0..80 {
            let mid = 0.5 * (lo + hi);
            if Self::energy_kev(mid) < want {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi) * 1e-4
    }
}

/// Range–energy relations of the medium: electrons and α particles, with its density.
pub struct Medium<'a> {
    /// Electron range–energy relation (mass units).
    pub electron: &'a dyn RangeEnergy,
    /// α range–energy relation (mass units), if α emissions are followed.
    pub alpha: Option<&'a dyn RangeEnergy>,
    /// Density [g/cm³].
    pub density_g_cm3: f64,
}

/// Energy [MeV] a particle of initial energy `e0` leaves in the target described by `psi`,
/// moving straight with range–energy relation `re` in a medium of density `rho`.
pub fn energy_in_target(psi: &Psi, re: &dyn RangeEnergy, rho: f64, e0: f64) -> f64 {
    if e0 <= 0.0 {
        return 0.0;
    }
    let r0 = re.range_g_cm2(e0);
    // energies at which the particle crosses a kink of ψ
    let mut kinks = psi.kinks();
    kinks.push(psi.max_distance_cm());
    let e_kinks: Vec<f64> = kinks
        .iter()
        .filter(|&&x| x * rho < r0)
        .map(|&x| re.energy_at_range(r0 - x * rho))
        .collect();
    let e_lo = re.energy_at_range((r0 - psi.max_distance_cm() * rho).max(0.0));
    integrate_panels(
        |e| psi.eval((r0 - re.range_g_cm2(e)).max(0.0) / rho),
        e_lo,
        e0,
        &e_kinks,
        2,
    )
}

/// Energy [MeV] deposited in the target per decay by all of `em`.
pub fn energy_per_decay(psi: &Psi, em: &ChargedEmissions, medium: &Medium) -> f64 {
    let rho = medium.density_g_cm3;
    let mut sum = em.local_mev * psi.eval(0.0);
    for l in &em.lines {
        let re = match l.carrier {
            Carrier::Electron => medium.electron,
            Carrier::Alpha => match medium.alpha {
                Some(a) => a,
                None => continue,
            },
        };
        sum += l.yield_per_decay * energy_in_target(psi, re, rho, l.energy_mev);
    }
    for s in &em.spectra {
        sum += spectrum_integral(s, |e| energy_in_target(psi, medium.electron, rho, e));
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::{CellGeometry, Source, Target};

    /// A particle with constant stopping power `s` [MeV cm²/g]: R(E) = E/s.
    struct ConstantLet(f64);
    impl RangeEnergy for ConstantLet {
        fn range_g_cm2(&self, e: f64) -> f64 {
            e.max(0.0) / self.0
        }
        fn energy_at_range(&self, r: f64) -> f64 {
            r.max(0.0) * self.0
        }
    }

    #[test]
    fn constant_let_self_absorbed_fraction_is_the_closed_form() {
        // uniform ball of radius r, straight tracks of range R ≤ 2r with constant LET:
        // φ = (1/R)∫₀^R ψ(x)dx = 1 − 3R/(8r) + R³/(64r³)
        let g = CellGeometry {
            cell_radius_cm: 5e-4,
            nucleus_radius_cm: 3e-4,
        };
        let psi = g.psi(Target::Cell, Source::Cell, 0.0);
        let r = 5e-4;
        for big_r in [1e-5, 2e-4, 5e-4, 9e-4] {
            let s = 100.0; // MeV cm²/g
            let e0 = big_r * s; // density 1
            let phi = energy_in_target(&psi, &ConstantLet(s), 1.0, e0) / e0;
            let want = 1.0 - 3.0 * big_r / (8.0 * r) + big_r.powi(3) / (64.0 * r.powi(3));
            assert!((phi - want).abs() < 1e-12, "R={big_r}: {phi} vs {want}");
        }
    }

    #[test]
    fn cole_relation_inverts_and_follows_its_stopping_power() {
        let c = ColeElectron;
        for e in [1e-4, 1e-3, 0.01, 0.1, 1.0] {
            let r = c.range_g_cm2(e);
            assert!((c.energy_at_range(r) / e - 1.0).abs() < 1e-12, "{e}");
        }
        // dE/dX by finite difference at X = 1 µm: 3.316·1.007^−0.435 + 0.0055 = 3.3051 keV/µm
        let h = 1e-6;
        let d = (ColeElectron::energy_kev(1.0 + h) - ColeElectron::energy_kev(1.0 - h)) / (2.0 * h);
        assert!((d - (3.316 * 1.007f64.powf(-0.435) + 0.0055)).abs() < 1e-6);
        // within 10 % of the ICRU 37 CSDA range between 10 and 100 keV (2.5 µm and 143 µm)
        let w = xfire_data::materials::builtin("water").unwrap();
        let icru = xfire_physics::electron::ElectronStopping::new(&w).unwrap();
        for e in [0.01, 0.03, 0.1] {
            let ratio = c.range_g_cm2(e) / icru.csda_range_g_cm2(e);
            assert!((ratio - 1.0).abs() < 0.1, "{e} MeV: Cole/ICRU 37 = {ratio}");
        }
    }

    #[test]
    fn simpson_is_exact_for_linear_spectra_and_quadratic_weights() {
        let s = Spectrum {
            energy_mev: vec![0.0, 0.5, 1.0],
            per_mev: vec![1.0, 2.0, 0.0],
        };
        // N = 1 + 2E on [0, ½], 4 − 4E on [½, 1]: ∫ N E dE = 5/24 + 1/3 = 13/24
        let want = 13.0 / 24.0;
        assert!((spectrum_integral(&s, |e| e) - want).abs() < 1e-15);
    }
}
