//! Source components of a radiopharmaceutical: chain members × sites, with the agent's
//! time-activity curve, its regimen and the fate of daughters, as one exact compartment
//! system ([`crate::compartments`]).
//!
//! Layout (compartments in member order, so every flow goes from an earlier to a later
//! index):
//!
//! * Exponential TAC with K terms: for every radioactive member j and term k a compartment
//!   (j, bound, k) with removal λ_j + λ_bio,k: a retained daughter moves with the carrier
//!   of the parent atom it came from. With an uptake phase, a parent compartment "input"
//!   (removal λ_u + λ_p, not tallied) feeds term k at rate f_k λ_u; daughters born before
//!   uptake are not followed (they are not at the site).
//! * Tabulated TAC: per administration two helper states (value u \[Bq\], counted at rate
//!   1, and slope \[Bq/s\]), reset exactly at every table point, a parent tail compartment
//!   (removal λ_tail) after the last point, and one bound compartment per daughter with no
//!   biological clearance (a table gives no carrier rate).
//! * Released daughters: a fraction of the daughters j born at the bound site goes to a
//!   named site (a spatial distribution the transport knows: "uniform", "vessels", …) with
//!   its own clearance half-time (∞: stays); their descendants stay at that site.
//!
//! Decay into daughter j of member i at rate b_ij λ_i is split (1 − f_j) to the bound
//! compartment and f_j to the release site. A component is (member, site); its decays are
//! the sum over its compartments.

use crate::chain::{Administration, Chain};
use crate::compartments::{Compartment, Evolution, Flow, Impulse, LinearSystem, Timeline};
use crate::error::{non_negative, positive_or_inf, KResult, KineticsError};
use crate::tac::{Quantity, Tac, TacRates};

/// A site that released daughters go to.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Site {
    /// Name of the spatial distribution ("uniform", "vessels", "tumour", …); components
    /// are reported with it.
    pub name: String,
    /// Biological clearance half-time from the site \[s\]; `f64::INFINITY` to stay.
    pub clearance_half_time_s: f64,
}

/// Release of daughters from the bound site.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DaughterRelease {
    /// The daughter nuclide ("Bi-213"); None for every daughter without its own rule.
    pub daughter: Option<String>,
    /// Fraction of that daughter's atoms, born at the bound site, released \[1\].
    pub fraction: f64,
    /// Name of the destination [`Site`].
    pub to_site: String,
}

/// Everything that fixes the decays of every source component.
#[derive(Debug, Clone)]
pub struct SourceModel {
    /// The decay chain (parent first).
    pub chain: Chain,
    /// Name of the binding site's distribution ("membrane", "nucleus", "uniform in tumour").
    pub bound_site: String,
    /// Shape of the parent's activity at the bound site after one administration.
    pub tac: Tac,
    /// What sets the TAC's amplitude.
    pub quantity: Quantity,
    /// Release destinations.
    pub sites: Vec<Site>,
    /// Release rules (at most one per daughter, plus one default).
    pub releases: Vec<DaughterRelease>,
}

/// One source component: a chain member in a spatial distribution.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Component {
    /// Index of the member in the chain.
    pub member: usize,
    /// The member's nuclide name.
    pub nuclide: String,
    /// The site (distribution) name.
    pub site: String,
}

/// The solved source: components and their exact time course.
#[derive(Debug, Clone)]
pub struct SourceKinetics {
    components: Vec<Component>,
    evolution: Evolution,
    administrations: Vec<Administration>,
}

/// Adds the error of `r`, if any, to `out`.
fn keep<T>(out: &mut Vec<KineticsError>, r: KResult<T>) {
    if let Err(e) = r {
        out.push(e);
    }
}

impl SourceModel {
    /// A model with all daughters retained at the bound site.
    pub fn retained(chain: Chain, bound_site: &str, tac: Tac, quantity: Quantity) -> Self {
        Self {
            chain,
            bound_site: bound_site.to_string(),
            tac,
            quantity,
            sites: Vec::new(),
            releases: Vec::new(),
        }
    }

    /// Release fraction and destination site index (into `sites`) for daughter `name`.
    fn release_of(&self, name: &str) -> Option<(f64, usize)> {
        let rule = self
            .releases
            .iter()
            .find(|r| r.daughter.as_deref() == Some(name))
            .or_else(|| self.releases.iter().find(|r| r.daughter.is_none()))?;
        let s = self.sites.iter().position(|s| s.name == rule.to_site)?;
        Some((rule.fraction, s))
    }

    /// Every problem of the model and its administrations, not just the first: TAC,
    /// quantity, release rules, sites, administrations (for a scenario file that reports all
    /// problems at once). Empty when [`SourceModel::build`] will succeed.
    pub fn problems(&self, administrations: &[Administration]) -> Vec<KineticsError> {
        let mut out = Vec::new();
        self.administration_problems(administrations, &mut out);
        let mut seen: Vec<Option<&str>> = Vec::new();
        for r in &self.releases {
            self.release_problems(r, &mut out);
            let key = r.daughter.as_deref();
            if seen.contains(&key) {
                out.push(KineticsError::Parse {
                    what: "daughter release rules",
                    text: key.unwrap_or("all daughters").to_string(),
                    reason: "more than one rule for the same daughter".into(),
                });
            }
            seen.push(key);
        }
        for s in &self.sites {
            keep(
                &mut out,
                positive_or_inf(
                    format!("clearance half-time of site {:?}", s.name),
                    s.clearance_half_time_s,
                    "s",
                ),
            );
            if s.name == self.bound_site {
                out.push(KineticsError::Parse {
                    what: "release site",
                    text: s.name.clone(),
                    reason: "a release site must differ from the bound site".into(),
                });
            }
        }
        out
    }

    /// Problems of the TAC, the administrations (at least one; finite times, activities
    /// ≥ 0) and the quantity at the first administration.
    fn administration_problems(
        &self,
        administrations: &[Administration],
        out: &mut Vec<KineticsError>,
    ) {
        let lp = self.chain.members()[0].decay_constant_per_s;
        keep(out, self.tac.rates(lp).map(|_| 0.0));
        if administrations.is_empty() {
            out.push(KineticsError::Empty("administrations".into()));
        }
        for (k, a) in administrations.iter().enumerate() {
            keep(
                out,
                crate::error::finite(format!("time of administration {k}"), a.time_s, "s"),
            );
            keep(
                out,
                non_negative(
                    format!("activity of administration {k}"),
                    a.activity_bq,
                    "Bq",
                ),
            );
        }
        if let Some(first) = administrations.first() {
            if self.tac.rates(lp).is_ok()
                && first.activity_bq.is_finite()
                && first.activity_bq > 0.0
            {
                keep(
                    out,
                    self.quantity
                        .amplitude_bq(&self.tac, lp, first.activity_bq, first.activity_bq),
                );
            }
        }
    }

    /// Problems of one release rule: its fraction in [0, 1], a known site, a daughter of the
    /// chain.
    fn release_problems(&self, r: &DaughterRelease, out: &mut Vec<KineticsError>) {
        let what = format!(
            "release fraction of {}",
            r.daughter.as_deref().unwrap_or("all daughters")
        );
        match non_negative(what.clone(), r.fraction, "1") {
            Ok(f) if f > 1.0 => out.push(KineticsError::BadValue {
                what,
                value: f,
                unit: "1",
                expected: "in [0, 1]",
            }),
            other => keep(out, other),
        }
        if !self.sites.iter().any(|s| s.name == r.to_site) {
            let known: Vec<&str> = self.sites.iter().map(|s| s.name.as_str()).collect();
            out.push(KineticsError::Unknown {
                what: "release site",
                name: r.to_site.clone(),
                known: known.join(", "),
            });
        }
        if let Some(d) = &r.daughter {
            if self.chain.index_of(d).unwrap_or(0) == 0 {
                let members = &self.chain.members()[1..];
                let known: Vec<&str> = members.iter().map(|m| m.nuclide.as_str()).collect();
                out.push(KineticsError::Unknown {
                    what: "daughter",
                    name: d.clone(),
                    known: known.join(", "),
                });
            }
        }
    }

    /// Solve the model for a list of administrations (times \[s\], activities \[Bq\]); the
    /// first administration is the reference of the [`Quantity`].
    pub fn build(&self, administrations: &[Administration]) -> KResult<SourceKinetics> {
        if let Some(e) = self.problems(administrations).into_iter().next() {
            return Err(e);
        }
        let members = self.chain.members();
        let lp = members[0].decay_constant_per_s;
        let rates = self.tac.rates(lp)?;
        let release = self.release_rules();
        let reach = self.reachability(&release);
        let (components, comp_index) = self.components(&reach);
        let amps = self.amplitudes(administrations, lp)?;
        let mut asm = Assembly::new(members.len());
        let parent = Parent {
            lp,
            component: comp_index[0][0],
            administrations,
            amps: &amps,
        };
        let carriers = match &rates {
            TacRates::Exponentials {
                terms,
                uptake_per_s,
            } => asm.parent_exponentials(&parent, terms, *uptake_per_s),
            TacRates::Table { points, tail_per_s } => {
                asm.parent_table(&parent, points, *tail_per_s)
            }
        };
        let ln2 = std::f64::consts::LN_2;
        let site_clear: Vec<f64> = std::iter::once(0.0)
            .chain(self.sites.iter().map(|s| ln2 / s.clearance_half_time_s))
            .collect();
        // daughters, in chain order
        for (j, m) in members.iter().enumerate().skip(1) {
            if m.is_stable() {
                continue;
            }
            let lj = m.decay_constant_per_s;
            let (bound_c, site_c) =
                asm.daughter_compartments(j, lj, &reach[j], &comp_index[j], &carriers, &site_clear);
            for b in self.chain.branches().iter().filter(|b| b.to == j) {
                asm.daughter_flows(b.from, b.fraction, release[j], &bound_c, &site_c);
            }
        }
        let system = LinearSystem::new(asm.comps, &asm.flows, components.len())?;
        Ok(SourceKinetics {
            components,
            evolution: Evolution::new(system, asm.impulses)?,
            administrations: administrations.to_vec(),
        })
    }

    /// Release fraction and destination site index of each member (None for the parent and
    /// for daughters without a rule).
    fn release_rules(&self) -> Vec<Option<(f64, usize)>> {
        let members = self.chain.members();
        let daughters = members.iter().skip(1).map(|m| self.release_of(&m.nuclide));
        std::iter::once(None).chain(daughters).collect()
    }

    /// `reach[member][site]`: whether atoms of the member can be at the site (site 0 = bound,
    /// 1 + s = release site s).
    fn reachability(&self, release: &[Option<(f64, usize)>]) -> Vec<Vec<bool>> {
        let nsites = 1 + self.sites.len();
        let mut reach = vec![vec![false; nsites]; self.chain.members().len()];
        reach[0][0] = true;
        for b in self.chain.branches() {
            // branches are sorted by `from`, so parents are final before their daughters
            for s in 0..nsites {
                if !reach[b.from][s] {
                    continue;
                }
                if s != 0 {
                    reach[b.to][s] = true;
                    continue;
                }
                match release[b.to] {
                    Some((f, d)) => {
                        if f < 1.0 {
                            reach[b.to][0] = true;
                        }
                        if f > 0.0 {
                            reach[b.to][1 + d] = true;
                        }
                    }
                    None => reach[b.to][0] = true,
                }
            }
        }
        reach
    }

    /// The components (radioactive member × reachable site, in member then site order) and
    /// the component index of each (member, site).
    fn components(&self, reach: &[Vec<bool>]) -> (Vec<Component>, Vec<Vec<Option<usize>>>) {
        let nsites = 1 + self.sites.len();
        let members = self.chain.members();
        let mut components = Vec::new();
        let mut comp_index = vec![vec![None; nsites]; members.len()];
        for (j, m) in members.iter().enumerate() {
            if m.is_stable() {
                continue;
            }
            for s in (0..nsites).filter(|&s| reach[j][s]) {
                comp_index[j][s] = Some(components.len());
                components.push(Component {
                    member: j,
                    nuclide: m.nuclide.clone(),
                    site: if s == 0 {
                        self.bound_site.clone()
                    } else {
                        self.sites[s - 1].name.clone()
                    },
                });
            }
        }
        (components, comp_index)
    }

    /// The TAC amplitude \[Bq\] of each administration (the first is the reference).
    fn amplitudes(&self, administrations: &[Administration], lp: f64) -> KResult<Vec<f64>> {
        let reference = administrations[0].activity_bq;
        let mut amps = Vec::with_capacity(administrations.len());
        for a in administrations {
            crate::error::finite("administration time", a.time_s, "s")?;
            amps.push(
                self.quantity
                    .amplitude_bq(&self.tac, lp, a.activity_bq, reference)?,
            );
        }
        Ok(amps)
    }
}

/// The parent at the bound site: its decay constant λ_p \[1/s\], its component, and the
/// administrations with their TAC amplitudes \[Bq\].
struct Parent<'a> {
    lp: f64,
    component: Option<usize>,
    administrations: &'a [Administration],
    amps: &'a [f64],
}

impl Parent<'_> {
    /// (time \[s\], amplitude \[Bq\]) of each administration.
    fn doses(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.administrations
            .iter()
            .zip(self.amps)
            .map(|(a, &amp)| (a.time_s, amp))
    }
}

/// The compartment system [`SourceModel::build`] assembles, in the order its compartments,
/// flows and impulses are added (the order fixes the solution's bytes).
struct Assembly {
    comps: Vec<Compartment>,
    flows: Vec<Flow>,
    impulses: Vec<Impulse>,
    /// `holders[member]`: (compartment, site, carrier term, production multiplier) of every
    /// compartment holding the member's atoms (or activity).
    holders: Vec<Vec<(usize, usize, usize, f64)>>,
}

impl Assembly {
    fn new(members: usize) -> Self {
        Assembly {
            comps: Vec::new(),
            flows: Vec::new(),
            impulses: Vec::new(),
            holders: vec![Vec::new(); members],
        }
    }

    /// Adds a compartment; returns its index.
    fn add(
        &mut self,
        component: Option<usize>,
        count_rate_per_s: f64,
        removal_per_s: f64,
    ) -> usize {
        self.comps.push(Compartment {
            component,
            count_rate_per_s,
            removal_per_s,
        });
        self.comps.len() - 1
    }

    fn flow(&mut self, from: usize, to: usize, rate_per_s: f64) {
        self.flows.push(Flow {
            from,
            to,
            rate_per_s,
        });
    }

    fn impulse(&mut self, time_s: f64, reset: Vec<usize>, delta: Vec<(usize, f64)>) {
        self.impulses.push(Impulse {
            time_s,
            reset,
            delta,
        });
    }

    /// The parent of an exponential TAC: one bound compartment per term (fed by an input
    /// compartment at rate f_k λ_u with an uptake phase, else by the administrations);
    /// returns the carrier clearance rate of each term \[1/s\].
    fn parent_exponentials(
        &mut self,
        p: &Parent,
        terms: &[(f64, f64)],
        uptake_per_s: Option<f64>,
    ) -> Vec<f64> {
        let lp = p.lp;
        let input = uptake_per_s.map(|lu| self.add(None, lp, lu + lp));
        for (k, &(f, lb)) in terms.iter().enumerate() {
            let c = self.add(p.component, lp, lp + lb);
            self.holders[0].push((c, 0, k, lp));
            match (input, uptake_per_s) {
                (Some(i), Some(lu)) => self.flow(i, c, f * lu),
                _ => {
                    for (t, amp) in p.doses() {
                        self.impulse(t, vec![], vec![(c, amp * f / lp)]);
                    }
                }
            }
        }
        if let Some(i) = input {
            for (t, amp) in p.doses() {
                self.impulse(t, vec![], vec![(i, amp / lp)]);
            }
        }
        terms.iter().map(|t| t.1).collect()
    }

    /// The parent of a tabulated TAC: per administration a slope and a value state reset at
    /// every table point, then a tail compartment after the last point; one carrier term
    /// with no clearance.
    fn parent_table(&mut self, p: &Parent, points: &[(f64, f64)], tail_per_s: f64) -> Vec<f64> {
        let m = points.len();
        for (t0, amp) in p.doses() {
            // helper states of this administration: slope [Bq/s], then value [Bq]
            let slope = self.add(None, 0.0, 0.0);
            let value = self.add(p.component, 1.0, 0.0);
            self.holders[0].push((value, 0, 0, 1.0));
            self.flow(slope, value, 1.0);
            for i in 0..m {
                let (t, v) = points[i];
                let mut delta = vec![];
                if i + 1 < m {
                    let (t2, v2) = points[i + 1];
                    delta.push((value, amp * v));
                    delta.push((slope, amp * (v2 - v) / (t2 - t)));
                }
                self.impulse(t0 + t, vec![slope, value], delta);
            }
        }
        let tail = self.add(p.component, p.lp, tail_per_s);
        self.holders[0].push((tail, 0, 0, p.lp));
        let (tl, vl) = points[m - 1];
        for (t0, amp) in p.doses() {
            self.impulse(t0 + tl, vec![], vec![(tail, amp * vl / p.lp)]);
        }
        vec![0.0]
    }

    /// The compartments of radioactive daughter `j` (decay constant `lj`): one per carrier
    /// term at the bound site, one per release site it reaches; returns their indices
    /// (bound by term, release by site).
    fn daughter_compartments(
        &mut self,
        j: usize,
        lj: f64,
        reach: &[bool],
        comp_index: &[Option<usize>],
        carriers: &[f64],
        site_clear: &[f64],
    ) -> (Vec<Option<usize>>, Vec<Option<usize>>) {
        let mut bound_c = vec![None; carriers.len()];
        if reach[0] {
            for (k, &lb) in carriers.iter().enumerate() {
                let c = self.add(comp_index[0], lj, lj + lb);
                bound_c[k] = Some(c);
                self.holders[j].push((c, 0, k, lj));
            }
        }
        let mut site_c = vec![None; reach.len()];
        for s in 1..reach.len() {
            if reach[s] {
                let c = self.add(comp_index[s], lj, lj + site_clear[s]);
                site_c[s] = Some(c);
                self.holders[j].push((c, s, 0, lj));
            }
        }
        (bound_c, site_c)
    }

    /// The flows of decays of member `from` (branching `fraction`) into a daughter: from the
    /// bound site split (1 − f) to its bound compartment of the same carrier term and f to
    /// its release site (`release`: f and the site), from a release site to the same site.
    fn daughter_flows(
        &mut self,
        from: usize,
        fraction: f64,
        release: Option<(f64, usize)>,
        bound_c: &[Option<usize>],
        site_c: &[Option<usize>],
    ) {
        for h in 0..self.holders[from].len() {
            let (c, s, k, mult) = self.holders[from][h];
            let rate = fraction * mult;
            if s != 0 {
                if let Some(to) = site_c[s] {
                    self.flow(c, to, rate);
                }
                continue;
            }
            let (f, d) = match release {
                Some((f, d)) => (f, Some(1 + d)),
                None => (0.0, None),
            };
            if f < 1.0 {
                if let Some(to) = bound_c[k] {
                    self.flow(c, to, rate * (1.0 - f));
                }
            }
            if let (true, Some(d)) = (f > 0.0, d) {
                if let Some(to) = site_c[d] {
                    self.flow(c, to, rate * f);
                }
            }
        }
    }
}

impl SourceKinetics {
    /// The components (member, site), in the order of every per-component output.
    pub fn components(&self) -> &[Component] {
        &self.components
    }

    /// Index of the component (nuclide, site), if present.
    pub fn component_index(&self, nuclide: &str, site: &str) -> Option<usize> {
        self.components
            .iter()
            .position(|c| c.nuclide == nuclide && c.site == site)
    }

    /// The administrations the model was solved for.
    pub fn administrations(&self) -> &[Administration] {
        &self.administrations
    }

    /// The underlying exact evolution.
    pub fn evolution(&self) -> &Evolution {
        &self.evolution
    }

    /// Decay rate Ṅ_c(t) of every component at `t_s` \[1/s\].
    pub fn decay_rates(&self, t_s: f64) -> KResult<Vec<f64>> {
        self.evolution.decay_rates(t_s)
    }

    /// Decays of every component in \[t0_s, t1_s\] \[1\], exact.
    pub fn decays(&self, t0_s: f64, t1_s: f64) -> KResult<Vec<f64>> {
        self.evolution.decays(t0_s, t1_s)
    }

    /// Decays of every component over all time \[1\].
    pub fn total_decays(&self) -> Vec<f64> {
        self.evolution.total_decays()
    }

    /// Rates and decays on an increasing time grid \[s\].
    pub fn timeline(&self, times_s: &[f64]) -> KResult<Timeline> {
        self.evolution.timeline(times_s)
    }
}

/// Per-cell uptake weights for lognormal heterogeneity with log-standard deviation
/// `sigma` \[1\]: w_i = exp(σ z_i), z_i standard normal from
/// `Rng::for_stream(seed, i, STREAM_KINETICS)` (cell i's weight depends on i alone), then
/// scaled so the weights' mean is exactly 1 (the tumour's total decays are unchanged). The
/// transport samples decays of a labelled cell in proportion to its weight.
pub fn lognormal_uptake_weights(n_cells: usize, sigma: f64, seed: u64) -> KResult<Vec<f64>> {
    non_negative("uptake heterogeneity sigma", sigma, "1")?;
    if n_cells == 0 {
        return Err(KineticsError::Empty("labelled cells".into()));
    }
    let mut w: Vec<f64> = (0..n_cells)
        .map(|i| {
            let mut r =
                xfire_core::rng::Rng::for_stream(seed, i as u64, xfire_core::rng::STREAM_KINETICS);
            (sigma * r.normal()).exp()
        })
        .collect();
    let mean = w.iter().sum::<f64>() / n_cells as f64;
    w.iter_mut().for_each(|x| *x /= mean);
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{Branch, Member};
    use crate::tac::{ExpTerm, Tail};

    const LN2: f64 = std::f64::consts::LN_2;
    const H: f64 = 3600.0;
    const D: f64 = 86400.0;

    fn rel(a: f64, b: f64) -> f64 {
        if a == b {
            0.0
        } else {
            (a - b).abs() / b.abs()
        }
    }

    fn once(a: f64) -> Vec<Administration> {
        vec![Administration {
            time_s: 0.0,
            activity_bq: a,
        }]
    }

    fn frac(f: f64) -> Quantity {
        Quantity::AdministeredFraction { uptake_fraction: f }
    }

    /// ∫_{t0}^{t1} e^{−k t} dt
    fn int_exp(k: f64, t0: f64, t1: f64) -> f64 {
        (-k * t0).exp() * -(-k * (t1 - t0)).exp_m1() / k
    }

    #[test]
    fn mono_and_bi_exponential_cumulated_activity_vs_closed_form() {
        let chain = Chain::from_library("Lu-177").unwrap();
        let lp = chain.members()[0].decay_constant_per_s;
        let (a0, u) = (7.4e9, 0.05);
        let intervals = [
            (0.0, H),
            (0.0, D),
            (2.0 * H, 3.0 * D),
            (D, 30.0 * D),
            (0.0, 400.0 * D),
        ];
        let mut worst: f64 = 0.0;
        // mono-exponential, T_bio = 60 h
        let lb = LN2 / (60.0 * H);
        let k = SourceModel::retained(chain.clone(), "membrane", Tac::mono(60.0 * H), frac(u))
            .build(&once(a0))
            .unwrap();
        let c = k.component_index("Lu-177", "membrane").unwrap();
        for (t0, t1) in intervals {
            let exact = a0 * u * int_exp(lb + lp, t0, t1);
            worst = worst.max(rel(k.decays(t0, t1).unwrap()[c], exact));
        }
        worst = worst.max(rel(k.total_decays()[c], a0 * u / (lb + lp)));
        for t in [0.0, H, 10.0 * D] {
            let exact = a0 * u * (-(lb + lp) * t).exp();
            worst = worst.max(rel(k.decay_rates(t).unwrap()[c], exact));
        }
        // bi-exponential 0.3 at 2 h, 0.7 at 80 h
        let tac = Tac::Exponentials {
            terms: vec![
                ExpTerm {
                    fraction: 0.3,
                    half_time_s: 2.0 * H,
                },
                ExpTerm {
                    fraction: 0.7,
                    half_time_s: 80.0 * H,
                },
            ],
            uptake_half_time_s: None,
        };
        let k = SourceModel::retained(chain.clone(), "membrane", tac, frac(u))
            .build(&once(a0))
            .unwrap();
        let (l1, l2) = (LN2 / (2.0 * H) + lp, LN2 / (80.0 * H) + lp);
        for (t0, t1) in intervals {
            let exact = a0 * u * (0.3 * int_exp(l1, t0, t1) + 0.7 * int_exp(l2, t0, t1));
            worst = worst.max(rel(k.decays(t0, t1).unwrap()[c], exact));
        }
        worst = worst.max(rel(k.total_decays()[c], a0 * u * (0.3 / l1 + 0.7 / l2)));
        // uptake (T_u = 3 h) and washout (T_e = 50 h): c(1/λe − 1/λu) with physical decay
        let (lu, le) = (LN2 / (3.0 * H), LN2 / (50.0 * H));
        let tac = Tac::Exponentials {
            terms: vec![ExpTerm {
                fraction: 1.0,
                half_time_s: 50.0 * H,
            }],
            uptake_half_time_s: Some(3.0 * H),
        };
        let k = SourceModel::retained(chain, "membrane", tac, frac(u))
            .build(&once(a0))
            .unwrap();
        let cc = a0 * u * lu / (lu - le);
        for (t0, t1) in intervals {
            let exact = cc * (int_exp(le + lp, t0, t1) - int_exp(lu + lp, t0, t1));
            worst = worst.max(rel(k.decays(t0, t1).unwrap()[c], exact));
        }
        worst = worst.max(rel(
            k.total_decays()[c],
            cc * (1.0 / (le + lp) - 1.0 / (lu + lp)),
        ));
        eprintln!(
            "mono/bi-exponential/uptake cumulated activity vs closed form: max rel {worst:.1e}"
        );
        assert!(worst < 1e-9, "{worst:e}");
    }

    #[test]
    fn retained_chain_matches_chain_solver() {
        // physical decay only, daughters retained: the same as the radioactivedecay-validated
        // chain solver, for a two-administration schedule
        let chain = Chain::from_library("Ac-225").unwrap();
        let adm = vec![
            Administration {
                time_s: 0.0,
                activity_bq: 8e6,
            },
            Administration {
                time_s: 8.0 * 7.0 * D,
                activity_bq: 8e6,
            },
        ];
        let k = SourceModel::retained(chain.clone(), "cells", Tac::physical_only(), frac(1.0))
            .build(&adm)
            .unwrap();
        let mut worst: f64 = 0.0;
        for (t0, t1) in [
            (0.0, H),
            (H, 10.0 * D),
            (5.0 * D, 60.0 * D),
            (0.0, 300.0 * D),
        ] {
            let ours = k.decays(t0, t1).unwrap();
            let refs = chain.schedule_cumulated_decays(&adm, t0, t1);
            for c in k.components() {
                let r = refs[c.member];
                if r > 1e-12 * refs[0] {
                    worst = worst.max(rel(
                        ours[k.component_index(&c.nuclide, "cells").unwrap()],
                        r,
                    ));
                }
            }
            let rates = k.decay_rates(t1).unwrap();
            let ra = chain.schedule_activities(&adm, t1);
            for (ci, c) in k.components().iter().enumerate() {
                if ra[c.member] > 1e-12 * ra[0] {
                    worst = worst.max(rel(rates[ci], ra[c.member]));
                }
            }
        }
        eprintln!("retained Ac-225 chain vs chain solver: max rel {worst:.1e}");
        assert!(worst < 1e-10, "{worst:e}");
    }

    #[test]
    fn released_daughters_conserve_decays_and_clear() {
        let chain = Chain::from_library("Ac-225").unwrap();
        let mut m = SourceModel::retained(chain.clone(), "cells", Tac::physical_only(), frac(1.0));
        m.sites.push(Site {
            name: "uniform".into(),
            clearance_half_time_s: f64::INFINITY,
        });
        m.releases.push(DaughterRelease {
            daughter: None,
            fraction: 0.4,
            to_site: "uniform".into(),
        });
        let k = m.build(&once(1e6)).unwrap();
        let refs = chain.cumulated_decays(1e6, 0.0, 20.0 * D);
        let ours = k.decays(0.0, 20.0 * D).unwrap();
        let mut sum = vec![0.0; chain.len()];
        for (c, x) in k.components().iter().zip(&ours) {
            sum[c.member] += x;
        }
        let mut worst: f64 = 0.0;
        for (a, b) in sum.iter().zip(&refs) {
            if *b > 0.0 {
                worst = worst.max(rel(*a, *b));
            }
        }
        assert!(worst < 1e-10, "{worst:e}");
        // first daughter Fr-221: 40 % of it at the uniform site
        let fr = k.component_index("Fr-221", "uniform").unwrap();
        let j = chain.index_of("Fr-221").unwrap();
        assert!(rel(ours[fr], 0.4 * refs[j]) < 1e-10);

        // P → D, 100 % of D released to a site with clearance κ: D decays = λd N0/(λd+κ)
        let (lp, ld, kap) = (LN2 / (10.0 * D), LN2 / (46.0 * 60.0), LN2 / (20.0 * 60.0));
        let mem = |n: &str, l: f64| Member {
            nuclide: n.into(),
            decay_constant_per_s: l,
        };
        let ch = Chain::new(
            vec![mem("P", lp), mem("D", ld)],
            vec![Branch {
                from: 0,
                to: 1,
                fraction: 1.0,
            }],
        )
        .unwrap();
        let mut m = SourceModel::retained(ch, "cells", Tac::physical_only(), frac(1.0));
        m.sites.push(Site {
            name: "cleared".into(),
            clearance_half_time_s: 20.0 * 60.0,
        });
        m.releases.push(DaughterRelease {
            daughter: Some("D".into()),
            fraction: 1.0,
            to_site: "cleared".into(),
        });
        let k = m.build(&once(lp)).unwrap(); // N0 = 1 atom
        assert_eq!(k.components().len(), 2); // D is never at the bound site
        let dd = k.total_decays()[k.component_index("D", "cleared").unwrap()];
        assert!(rel(dd, ld / (ld + kap)) < 1e-12, "{dd}");
        let t = 5.0 * D;
        let nd = lp * ((-lp * t).exp() - (-(ld + kap) * t).exp()) / (ld + kap - lp);
        let r = k.decay_rates(t).unwrap()[1];
        assert!(rel(r, ld * nd) < 1e-12);
    }

    #[test]
    fn tabulated_tac_trapezoid_tail_and_daughters() {
        let (lp, ld) = (LN2 / (6.0 * D), LN2 / (2.0 * H));
        let mem = |n: &str, l: f64| Member {
            nuclide: n.into(),
            decay_constant_per_s: l,
        };
        let ch = Chain::new(
            vec![mem("P", lp), mem("D", ld), mem("S", 0.0)],
            vec![
                Branch {
                    from: 0,
                    to: 1,
                    fraction: 0.6,
                },
                Branch {
                    from: 1,
                    to: 2,
                    fraction: 1.0,
                },
            ],
        )
        .unwrap();
        let pts = vec![
            (2.0 * H, 0.02),
            (24.0 * H, 0.05),
            (72.0 * H, 0.03),
            (168.0 * H, 0.01),
        ];
        let tac = Tac::Table {
            points: pts.clone(),
            tail: Tail::FitLastTwo,
        };
        let adm = vec![
            Administration {
                time_s: 0.0,
                activity_bq: 1e9,
            },
            Administration {
                time_s: 4.0 * D,
                activity_bq: 1e9,
            },
        ];
        let k = SourceModel::retained(ch, "site", tac.clone(), frac(1.0))
            .build(&adm)
            .unwrap();
        let p = k.component_index("P", "site").unwrap();
        let dcomp = k.component_index("D", "site").unwrap();
        // parent decays in [0, 30 h]: trapezoid pieces of the first administration
        let a = |t: f64| tac.activity(lp, t).unwrap() * 1e9;
        let exact = 0.5 * a(2.0 * H) * 2.0 * H
            + 0.5 * (a(2.0 * H) + a(24.0 * H)) * 22.0 * H
            + 0.5 * (a(24.0 * H) + a(30.0 * H)) * 6.0 * H;
        let ours = k.decays(0.0, 30.0 * H).unwrap()[p];
        assert!(rel(ours, exact) < 1e-12, "{ours} vs {exact}");
        // rate at 100 h: both administrations (100 h and 4 h after them)
        let r = k.decay_rates(100.0 * H).unwrap()[p];
        assert!(rel(r, a(100.0 * H) + a(4.0 * H)) < 1e-12);
        // total parent decays = 2 × (trapezoid + tail); daughter total = 0.6 × parent total
        let per = tac.total_per_amplitude_s(lp).unwrap() * 1e9;
        let tot = k.total_decays();
        let mut worst = rel(tot[p], 2.0 * per);
        worst = worst.max(rel(tot[dcomp], 0.6 * tot[p]));
        eprintln!("tabulated TAC totals: max rel {worst:.1e}");
        assert!(worst < 1e-10, "{worst:e}");
        // in the tail the daughter (2 h) is in transient equilibrium: 0.6 λd/(λd − λtail)
        let rd = k.decay_rates(400.0 * H).unwrap();
        let kt = (3.0_f64).ln() / (96.0 * H);
        let eq = rel(rd[dcomp], 0.6 * ld / (ld - kt) * rd[p]);
        assert!(eq < 1e-9, "{eq:e}");
    }

    #[test]
    fn lognormal_weights() {
        let w = lognormal_uptake_weights(20000, 0.5, 7).unwrap();
        let mean = w.iter().sum::<f64>() / w.len() as f64;
        assert!((mean - 1.0).abs() < 1e-12);
        let logs: Vec<f64> = w.iter().map(|x| x.ln()).collect();
        let m = logs.iter().sum::<f64>() / logs.len() as f64;
        let sd =
            (logs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (logs.len() - 1) as f64).sqrt();
        // sd of the sample sd ≈ σ/√(2n) = 0.0025
        assert!((sd - 0.5).abs() < 0.01, "{sd}");
        assert_eq!(w[17], lognormal_uptake_weights(20000, 0.5, 7).unwrap()[17]);
        assert_eq!(lognormal_uptake_weights(3, 0.0, 1).unwrap(), vec![1.0; 3]);
        assert!(lognormal_uptake_weights(0, 0.5, 1).is_err());
        assert!(lognormal_uptake_weights(3, -0.5, 1).is_err());
    }

    #[test]
    fn decays_per_cell_and_bad_models() {
        let chain = Chain::from_library("Lu-177").unwrap();
        let q = Quantity::DecaysPerLabelledCell {
            decays_per_cell: 500.0,
            labelled_cells: 2000.0,
        };
        let k = SourceModel::retained(chain.clone(), "nucleus", Tac::mono(3.0 * D), q)
            .build(&once(7.4e9))
            .unwrap();
        assert!(rel(k.total_decays()[0], 1e6) < 1e-10);
        let mut m = SourceModel::retained(chain, "nucleus", Tac::mono(3.0 * D), q);
        assert!(m.build(&[]).is_err());
        m.releases.push(DaughterRelease {
            daughter: None,
            fraction: 0.5,
            to_site: "nowhere".into(),
        });
        let e = m.build(&once(1.0)).unwrap_err().to_string();
        assert!(e.contains("nowhere"), "{e}");
        // all problems at once
        m.tac = Tac::mono(-1.0);
        m.releases.push(DaughterRelease {
            daughter: None,
            fraction: 1.5,
            to_site: "nowhere".into(),
        });
        m.sites.push(Site {
            name: "nucleus".into(),
            clearance_half_time_s: 0.0,
        });
        let p = m.problems(&[Administration {
            time_s: f64::NAN,
            activity_bq: -1.0,
        }]);
        let text: Vec<String> = p.iter().map(|e| e.to_string()).collect();
        // TAC, time, activity, fraction, 2 × unknown site, duplicate rule, clearance, bound site
        assert_eq!(p.len(), 9, "{text:#?}");
    }
}
