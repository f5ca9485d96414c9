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
    /// Decay constants are ln 2 / T½ with the library's half-lives (ICRP-07.NDX, 1 y =
    /// 365.25 d).
    ///
    /// Errors: [`ChainError::UnknownNuclide`] (the message lists close matches) or any
    /// error of [`Chain::build`].
    pub fn from_library(parent: &str) -> Result<Self, ChainError> {
        let lib = xfire_data::nuclides::library();
        let p = lib
            .resolve(parent)
            .map_err(|e| ChainError::UnknownNuclide(e.to_string()))?;
        Chain::build(&p.name, |name| {
            lib.get(name).map(|n| DecayInfo {
                decay_constant_per_s: n.decay_constant_per_s(),
                daughters: n
                    .daughters
                    .iter()
                    .map(|d| (d.nuclide.clone(), d.branching))
                    .collect(),
            })
        })
    }
}
