//! The lymphocyte models of the time step: resident lymphocytes and arriving cohorts with the
//! immunotherapy window, migrating walkers, circulating blood (`docs/kinetics.md`).

use xfire_kinetics::dose_time::DoseField;
use xfire_kinetics::lymphocytes::{
    circulating_exposure, cohort_exposure_noisy, Blood, Cohort, Exposure, NoiseInput, TumourTransit,
};
use xfire_kinetics::noise::SurvivalEstimate;
use xfire_kinetics::radiobiology::LqParameters;
use xfire_kinetics::walk::{migrating_exposures_noisy, WalkNoise, WalkParameters};
use xfire_kinetics::window::{immunotherapy_window, WindowOptions, WindowReport};
use xfire_kinetics::{ExpTerm, Quantity, SourceModel, Tac};
use xfire_phantom::{labels, Phantom};

use super::{select, walk_voxels, CellGroups, CellIds, ExposureSummary, PhantomWalkGrid, Step};
use crate::cellnoise::NoisyWalkGrid;
use crate::plan::GROUP_TUMOUR;
use crate::transport::{ComponentTransport, Part};
use crate::voxels::{VoxelDose, VoxelSubset};
use crate::{Context, Result, ScenarioError};

impl Step<'_> {
    /// The resident lymphocytes, the arriving cohorts and the immunotherapy window (none
    /// without lymphocyte cells): exposures into `exposures`.
    pub(super) fn resident_and_cohorts(
        &self,
        ids: &CellIds,
        groups: &CellGroups,
        exposures: &mut Vec<ExposureSummary>,
    ) -> Result<Option<WindowReport>> {
        if ids.lymph.is_empty() {
            return Ok(None);
        }
        let (ls, src, first) = (
            &self.plan.scenario.lymphocytes,
            &self.plan.source,
            self.first,
        );
        let lfield = select(&self.cf, &ids.lymph)?;
        if let Some(e) = &groups.resident {
            exposures.push(ExposureSummary::of(
                "resident",
                (first, self.end_s),
                e,
                e.survival_estimate,
            ));
        }
        for &a in &ls.arrivals_s {
            let (a0, a1) = (first + a, first + a + ls.residence_s);
            let cohort_noise = src.decays(a0, a1).context("cohort decays")?;
            let cohort_noise = groups
                .lymph_cn
                .over(&lfield, &cohort_noise)
                .context("cohort noise")?;
            let e = cohort_exposure_noisy(
                self.ev,
                &lfield,
                Cohort {
                    arrival_s: first + a,
                    residence_s: ls.residence_s,
                },
                &self.lq_l,
                self.popts,
                Some(NoiseInput {
                    cells: &cohort_noise,
                    alpha_hit_coeff_per_gy: groups.hit_l,
                }),
            )
            .context("cohort exposure")?;
            exposures.push(ExposureSummary::of(
                "cohort",
                (a0, a1),
                &e,
                e.survival_estimate,
            ));
        }
        let rb = &self.plan.scenario.radiobiology;
        let mut wo = WindowOptions::new(ls.residence_s);
        wo.start_days = rb.start_days.clone();
        wo.survival_target = rb.survival_target;
        wo.lq = self.lq_l;
        wo.noise = Some(groups.lymph_cn.clone());
        wo.alpha_hit_coeff_per_gy = groups.hit_l;
        let field = Some((&self.group_field, GROUP_TUMOUR));
        Ok(Some(
            immunotherapy_window(src, &lfield, field, &wo).context("immunotherapy window")?,
        ))
    }

    /// The migrating lymphocytes (`[lymphocytes.migrating]`), walking the per-voxel doses
    /// `vdpd`: one exposure per cohort into `exposures`.
    pub(super) fn migrating(
        &self,
        vdpd: &[[Option<&VoxelDose>; 2]],
        hit_l: Option<f64>,
        exposures: &mut Vec<ExposureSummary>,
        notes: &mut Vec<String>,
    ) -> Result<()> {
        let (s, ph) = (&self.plan.scenario, &self.plan.phantom);
        let ls = &s.lymphocytes;
        let Some(m) = &ls.migrating else {
            return Ok(());
        };
        let allowed = walk_voxels(ph);
        let entries = entry_voxels(ph, &allowed, notes);
        if entries.is_empty() {
            notes.push("migrating lymphocytes skipped: no voxel where they may walk".into());
            return Ok(());
        }
        let mut doses = vdpd.iter().flatten().flatten().peekable();
        if doses.peek().is_none() {
            return Err(ScenarioError::Check(
                "migrating lymphocytes need per-voxel doses: the tally layout keeps none".into(),
            ));
        }
        if !doses.all(|d| d.covers(Some(&allowed))) {
            return Err(ScenarioError::Check(
                "migrating lymphocytes need the dose of every voxel they may walk".into(),
            ));
        }
        let plain = PhantomWalkGrid {
            dims: ph.grid.dims(),
            voxel_cm: ph.grid.voxel_cm,
            allowed,
            entries,
            dose: vdpd,
        };
        // the walkers' interval: docs/kinetics.md §9 (not a note: compare prints notes
        // as warnings)
        let grid = NoisyWalkGrid::new(plain, self.tr, ph);
        let wp = WalkParameters {
            speed_cm_per_s: m.speed_cm_per_s,
            persistence_s: m.persistence_s,
            seed: s.transport.seed,
            ..WalkParameters::default()
        };
        // every cohort's walkers take the same paths: walked once (in parallel over the
        // walkers), doses per cohort in arrival order
        let cohorts: Vec<Cohort> = ls
            .arrivals_s
            .iter()
            .map(|&a| Cohort {
                arrival_s: self.first + a,
                residence_s: ls.residence_s,
            })
            .collect();
        let walks = if cohorts.is_empty() {
            Vec::new()
        } else {
            let noise = Some(WalkNoise {
                alpha_hit_coeff_per_gy: hit_l,
            });
            migrating_exposures_noisy(self.ev, &grid, &wp, &cohorts, m.walkers, &self.lq_l, noise)
                .context("migrating lymphocytes")?
        };
        for (c, w) in cohorts.iter().zip(&walks) {
            exposures.push(ExposureSummary::of(
                "migrating",
                (c.arrival_s, c.arrival_s + c.residence_s),
                &w.exposure,
                w.exposure.survival_estimate,
            ));
        }
        Ok(())
    }
}

/// Where the migrating lymphocytes enter: the vessel voxels they may walk (`allowed`), or
/// without any, the rim — allowed voxels with a neighbour that is not allowed or outside the
/// grid (noted in `notes`).
fn entry_voxels(ph: &Phantom, allowed: &VoxelSubset, notes: &mut Vec<String>) -> Vec<usize> {
    let mut entries: Vec<usize> = (0..ph.grid.len())
        .filter(|&v| ph.label[v] == labels::VESSEL && allowed.contains(v))
        .collect();
    if entries.is_empty() {
        let g = &ph.grid;
        for v in allowed.voxels() {
            let [i, j, kk] = g.ijk(v);
            let nb = [
                (i > 0).then(|| g.index(i - 1, j, kk)),
                (i + 1 < g.nx).then(|| g.index(i + 1, j, kk)),
                (j > 0).then(|| g.index(i, j - 1, kk)),
                (j + 1 < g.ny).then(|| g.index(i, j + 1, kk)),
                (kk > 0).then(|| g.index(i, j, kk - 1)),
                (kk + 1 < g.nz).then(|| g.index(i, j, kk + 1)),
            ];
            if nb.iter().any(|n| n.is_none_or(|n| !allowed.contains(n))) {
                entries.push(v);
            }
        }
        notes.push("migrating lymphocytes enter at the tumour rim (no vessel voxels)".into());
    }
    entries
}

impl Step<'_> {
    /// The circulating lymphocytes (`[lymphocytes.circulating]`): blood self-dose and the
    /// tumour transit, with the transit dose's Monte Carlo uncertainty, into `exposures`.
    pub(super) fn circulating(
        &self,
        exposures: &mut Vec<ExposureSummary>,
        notes: &mut Vec<String>,
    ) -> Result<()> {
        let s = &self.plan.scenario;
        let Some(c) = &s.lymphocytes.circulating else {
            return Ok(());
        };
        let (src, first) = (&self.plan.source, self.first);
        let blood = self.blood_kinetics(c)?;
        let vessel = labels::VESSEL as usize;
        let has_vessel = vessel < self.label_masses.len() && self.label_masses[vessel] > 0.0;
        let transit = (c.tumour_transit_fraction > 0.0 && has_vessel).then_some(TumourTransit {
            evolution: self.ev,
            field: &self.label_field,
            vessel_target: vessel,
            fraction_of_time: c.tumour_transit_fraction,
        });
        if c.tumour_transit_fraction > 0.0 && transit.is_none() {
            notes.push("circulating lymphocytes: the phantom has no vessel voxels, so the tumour transit dose is left out".into());
        }
        let e = circulating_exposure(
            Blood {
                kinetics: &blood,
                site: "blood",
                mass_g: c.blood_mass_g,
                recoil: s.transport.recoil,
            },
            transit,
            first,
            first + c.until_s,
            &self.lq_l,
            self.popts,
        )
        .context("circulating lymphocytes")?;
        let sd = match transit {
            Some(t) => {
                let d = src
                    .decays(first, first + c.until_s)
                    .context("transit decays")?;
                transit_sd(
                    self.tr,
                    &self.label_field,
                    t.vessel_target,
                    &d,
                    t.fraction_of_time,
                )
            }
            None => [0.0; 2],
        };
        let survival = circulating_estimate(&e, sd, &self.lq_l);
        exposures.push(ExposureSummary::of(
            "circulating",
            (first, first + c.until_s),
            &e,
            survival,
        ));
        Ok(())
    }

    /// The kinetics of the agent in blood: the parent's chain, retained with the clearance
    /// of `c`, as a fraction of every administration.
    fn blood_kinetics(
        &self,
        c: &crate::spec::CirculatingSpec,
    ) -> Result<xfire_kinetics::SourceKinetics> {
        let nuclide = &self.plan.scenario.agent.nuclide;
        let chain = xfire_kinetics::Chain::from_library(nuclide)
            .context(format!("cannot read chain {nuclide:?}"))?;
        let terms: Vec<ExpTerm> = c.clearance.clone();
        let blood_model = SourceModel::retained(
            chain,
            "blood",
            Tac::Exponentials {
                terms,
                uptake_half_time_s: None,
            },
            Quantity::AdministeredFraction {
                uptake_fraction: c.blood_fraction,
            },
        );
        blood_model
            .build(self.plan.source.administrations())
            .context("blood kinetics")
    }
}
/// Standard uncertainty of the circulating lymphocytes' tumour-transit dose, (low LET, α)
/// \[Gy\]: `fraction` × Σ_c N_c d_c u_c at the vessel label (`label_field` target `vessel`,
/// `decays[c]` of component c over the exposure, u_c the relative uncertainty of the
/// label's energy per decay; components added linearly as in `cellnoise`). The blood
/// self-dose is analytic and adds nothing.
fn transit_sd(
    tr: &[ComponentTransport],
    label_field: &DoseField,
    vessel: usize,
    decays: &[f64],
    fraction: f64,
) -> [f64; 2] {
    let mut sd = [0.0; 2];
    let fields = [label_field.low_let(), label_field.alpha()];
    for (c, t) in tr.iter().enumerate() {
        for (pi, part) in [Part::LowLet, Part::Alpha].into_iter().enumerate() {
            let Some(x) = t.part(part) else { continue };
            let u = x.region_rel_unc(0, vessel);
            let d = fields[pi].get(c).map_or(0.0, |f| f[vessel]);
            if u.is_finite() {
                sd[pi] += fraction * decays[c] * d * u;
            }
        }
    }
    sd
}

/// The circulating lymphocytes' survival (one target) with the Monte Carlo uncertainty of
/// its transit dose `sd` = (low LET, α) \[Gy\] by the delta method: σ_S = S·(α·RBE·σ_α +
/// (α + 2βG·D_L)·σ_L) (the parts' errors added linearly, as correlated). The noise bias of
/// S is second order in σ/D and is not removed.
fn circulating_estimate(e: &Exposure, sd: [f64; 2], lq: &LqParameters) -> SurvivalEstimate {
    let (Some(&s), Some(p)) = (e.survival.first(), e.low_let.first()) else {
        return SurvivalEstimate::unestimated(e.surviving_fraction);
    };
    let beta = lq.alpha_per_gy / lq.alpha_beta_gy;
    let slope_l = lq.alpha_per_gy + 2.0 * beta * p.g * p.dose_gy;
    let sd_s = s * (lq.alpha_per_gy * lq.rbe_alpha * sd[1] + slope_l * sd[0]);
    if sd_s > 0.0 {
        SurvivalEstimate::with_sd(s, s, sd_s)
    } else {
        SurvivalEstimate::exact(s)
    }
}
