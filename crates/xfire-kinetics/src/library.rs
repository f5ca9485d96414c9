//! Chains from the built-in ICRP-107 nuclide library (`xfire-data`).

use crate::chain::{Chain, DecayInfo};
use crate::ChainError;

impl Chain {
    /// The decay chain of `parent` from the built-in ICRP-107 library. `parent` may be
    /// spelled as the library accepts it ("Ac-225", "225Ac", "ac225").
    ///
    /// Every nuclide reachable from the parent is a member, long-lived ones included
    /// (²⁰⁷Bi, 32.9 y, behind ²¹¹At). A daughter that the library does not hold is a
    /// stable end point (λ = 0), listed with zero activity, as radioactivedecay lists it.
    /// Decay constants are ln 2 / T½ with the library's half-lives (ICRP-07.NDX). Half-lives
    /// given in years (²⁰⁷Bi, ⁹⁹Tc, ¹⁴⁵Pm) are converted with the tropical year of
    /// 365.2422 d, as radioactivedecay does, so chains match that reference to 1e-6; use
    /// [`Chain::from_library_with_year`] for ICRP's 365.25 d (a 2.1e-5 relative change of
    /// those members' λ).
    ///
    /// Errors: [`ChainError::UnknownNuclide`] (the message lists close matches) or any
    /// error of [`Chain::build`].
    pub fn from_library(parent: &str) -> Result<Self, ChainError> {
        Self::from_library_with_year(parent, xfire_data::nuclides::TROPICAL_YEAR_DAYS)
    }

    /// As [`Chain::from_library`], converting half-lives given in years with `year_days`
    /// days per year.
    pub fn from_library_with_year(parent: &str, year_days: f64) -> Result<Self, ChainError> {
        let lib = xfire_data::nuclides::library();
        let p = lib
            .resolve(parent)
            .map_err(|e| ChainError::UnknownNuclide(e.to_string()))?;
        Chain::build(&p.name, |name| {
            lib.get(name).map(|n| DecayInfo {
                decay_constant_per_s: std::f64::consts::LN_2 / n.half_life_s_with_year(year_days),
                daughters: n
                    .daughters
                    .iter()
                    .map(|d| (d.nuclide.clone(), d.branching))
                    .collect(),
            })
        })
    }
}
