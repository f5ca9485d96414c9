//! The continuous-slowing-down (CSDA) interface the transport steps charged particles with,
//! and the electron transport model choice.
//!
//! * [`RangeEnergy`]: R(E) and its exact inverse E(R) of one material (mass units), for
//!   electrons ([`ElectronStopping`]) and α particles ([`AlphaStopping`]). A straight
//!   sub-step of mass path s from energy E ends at E(R(E) − s); deposits of consecutive
//!   sub-steps telescope, so energy is conserved to rounding whatever the step sizes.
//! * [`ElectronModel`]: how electrons move. Only [`ElectronModel::CsdaStraightLine`] exists
//!   for now: no angular deflection, no energy-loss straggling, no δ rays or bremsstrahlung
//!   photons; the whole track is one straight line of length R_CSDA(T) (total stopping
//!   power). It overestimates penetration (the mean projected range of an electron is well
//!   below its CSDA range) and is a placeholder for class-II condensed history
//!   (`physics.md` section 4), which will be another variant with its own step and
//!   deflection; the transport asks the model for the next straight sub-step and the
//!   deflection after it, so the swap is local.

use crate::alpha::AlphaStopping;
use crate::electron::ElectronStopping;

/// Range–energy relation of one material (mass units).
pub trait RangeEnergy {
    /// CSDA range R(E) [g/cm²] at kinetic energy `e_mev` [MeV]; 0 for E ≤ 0.
    fn range_g_cm2(&self, e_mev: f64) -> f64;
    /// Kinetic energy [MeV] whose CSDA range is `r_g_cm2` [g/cm²]; 0 for r ≤ 0.
    fn energy_at_range(&self, r_g_cm2: f64) -> f64;
}

impl<T: RangeEnergy + ?Sized> RangeEnergy for &T {
    #[inline]
    fn range_g_cm2(&self, e_mev: f64) -> f64 {
        (**self).range_g_cm2(e_mev)
    }
    #[inline]
    fn energy_at_range(&self, r_g_cm2: f64) -> f64 {
        (**self).energy_at_range(r_g_cm2)
    }
}

impl RangeEnergy for ElectronStopping {
    #[inline]
    fn range_g_cm2(&self, e_mev: f64) -> f64 {
        self.csda_range_g_cm2(e_mev)
    }
    #[inline]
    fn energy_at_range(&self, r_g_cm2: f64) -> f64 {
        self.energy_from_range(r_g_cm2)
    }
}

impl RangeEnergy for AlphaStopping {
    #[inline]
    fn range_g_cm2(&self, e_mev: f64) -> f64 {
        self.csda_range_g_cm2(e_mev)
    }
    #[inline]
    fn energy_at_range(&self, r_g_cm2: f64) -> f64 {
        self.energy_from_range(r_g_cm2)
    }
}

/// The electron transport model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ElectronModel {
    /// Continuous slowing down along a straight line with the total (collision + radiative)
    /// stopping power; radiative losses are deposited locally along the track.
    #[default]
    CsdaStraightLine,
    /// Class-II condensed history (`crate::condensed`): restricted continuous loss with
    /// straggling, Møller δ rays and bremsstrahlung photons above thresholds, mixed elastic
    /// scattering (screened Rutherford with spin correction) with a random hinge.
    CondensedHistory,
}

impl ElectronModel {
    /// The name written in outputs (`"csda-straight-line"`).
    pub fn name(self) -> &'static str {
        match self {
            ElectronModel::CsdaStraightLine => "csda-straight-line",
            ElectronModel::CondensedHistory => "condensed-history",
        }
    }

    /// One-line description for documentation and outputs.
    pub fn description(self) -> &'static str {
        match self {
            ElectronModel::CsdaStraightLine => {
                "continuous slowing down along a straight line (CSDA, total stopping power, \
                 ICRU 37); no multiple scattering, no straggling, no delta rays or \
                 bremsstrahlung photons: a placeholder until condensed history"
            }
            ElectronModel::CondensedHistory => {
                "class-II condensed history: restricted collision loss (ICRU 37) with \
                 straggling, Moller delta rays and bremsstrahlung photons above the cutoffs, \
                 screened-Rutherford elastic scattering with spin correction in PENELOPE's \
                 mixed scheme with a random hinge (docs/physics.md)"
            }
        }
    }

    /// Longest straight sub-step [g/cm²] the model allows from energy `e_mev` [MeV] before
    /// it changes the direction: infinite for the straight-line model.
    #[inline]
    pub fn max_substep_g_cm2(self, _stopping: &ElectronStopping, _e_mev: f64) -> f64 {
        match self {
            ElectronModel::CsdaStraightLine => f64::INFINITY,
            // the condensed-history step is planned by `condensed::CondensedTables`
            ElectronModel::CondensedHistory => f64::INFINITY,
        }
    }

    /// Whether the model ever changes an electron's direction (false for the straight line,
    /// so the transport walks each electron in one straight pass).
    #[inline]
    pub fn deflects(self) -> bool {
        match self {
            ElectronModel::CsdaStraightLine => false,
            ElectronModel::CondensedHistory => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xfire_data::materials::builtin;

    #[test]
    fn range_energy_round_trips_for_both_particles() {
        let w = builtin("water").unwrap();
        let e = ElectronStopping::new(&w).unwrap();
        let a = AlphaStopping::new(&w).unwrap();
        for t in [0.002, 0.05, 0.5, 2.0] {
            let r = RangeEnergy::range_g_cm2(&e, t);
            assert!((e.energy_at_range(r) / t - 1.0).abs() < 1e-10);
        }
        for t in [0.1, 1.0, 5.0, 8.4] {
            let r = RangeEnergy::range_g_cm2(&a, t);
            assert!((a.energy_at_range(r) / t - 1.0).abs() < 1e-10);
        }
        assert_eq!(ElectronModel::default().name(), "csda-straight-line");
        assert!(!ElectronModel::CsdaStraightLine.deflects());
        assert!(ElectronModel::CsdaStraightLine
            .max_substep_g_cm2(&e, 1.0)
            .is_infinite());
    }
}
