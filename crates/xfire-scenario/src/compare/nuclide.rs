//! One nuclide's row of the comparison: the scale factor of the normalisation, the tumour
//! dose uncertainty, the cross-fire fractions from the run's self-cell tallies, the tumour
//! dose-rate peak, the curves of the figures and the reference nuclide's dose slice.

use xfire_data::nuclides::library;
use xfire_kinetics::dose_time::{dose_timeline, dose_total, rate_peak, DoseField};
use xfire_phantom::CellKind;
use xfire_tally::SelfCellMean;
use xfire_transport::region_masses_g;

use super::{
    ComponentRow, ExposureRow, Normalise, NuclideCurves, NuclideRow, SliceData, Warnings,
    WindowRun, WithSigma, DAY,
};
use crate::compute::RunResult;
use crate::plan::{Plan, GROUP_LYMPHOCYTE, GROUP_MAP, GROUP_TUMOUR};
use crate::transport::ComponentTransport;
use crate::{Context, Result, ScenarioError};

/// What one nuclide's row is made from besides the time step's result.
pub(super) struct Step<'a> {
    /// The nuclide.
    pub name: &'a str,
    /// Its chain.
    pub chain: &'a xfire_kinetics::Chain,
    /// The scale factor of the normalisation.
    pub scale: f64,
    /// The plan at the normalised amount.
    pub plan: &'a Plan,
    /// The transported components.
    pub tr: &'a [ComponentTransport],
    /// Per component: every part reused from an earlier nuclide or the cache.
    pub reused: &'a [bool],
    /// Wall time of its transport \[s\].
    pub transport_wall_s: f64,
}

/// The scale factor of `name`'s amount under `normalise`; `target` is the equal quantity,
/// set by the first (reference) nuclide.
pub(super) fn scale_factor(
    normalise: Normalise,
    name: &str,
    plan: &Plan,
    tr: &[ComponentTransport],
    target: &mut Option<f64>,
) -> Result<f64> {
    let d1 = tumour_dose_gy(plan, tr)?;
    let p1 = parent_decays(plan);
    let k = match normalise {
        Normalise::Activity => 1.0,
        Normalise::TumourDose => {
            if d1.is_nan() || d1 <= 0.0 {
                return Err(ScenarioError::Check(format!(
                    "{name}: no dose to the tumour cells, so it cannot be normalised to equal tumour dose"
                )));
            }
            let t = *target.get_or_insert(d1);
            t / d1
        }
        Normalise::Decays => {
            if p1.is_nan() || p1 <= 0.0 {
                return Err(ScenarioError::Check(format!(
                    "{name}: no parent decays in the phantom"
                )));
            }
            let t = *target.get_or_insert(p1);
            t / p1
        }
    };
    if normalise == Normalise::Activity {
        target.get_or_insert(
            plan.source
                .administrations()
                .first()
                .map_or(0.0, |a| a.activity_bq),
        );
    }
    Ok(k)
}

/// The central slice (z) of the whole treatment's dose map, with the cell of every voxel;
/// `None` when the run kept no per-voxel doses.
pub(super) fn dose_slice(
    name: &str,
    plan: &Plan,
    r: &RunResult,
    tr: &[ComponentTransport],
) -> Option<SliceData> {
    let total = r.dose_maps.total_map(tr)?;
    let g = &plan.phantom.grid;
    let kz = g.nz / 2;
    let idx: Vec<usize> = (0..g.ny)
        .flat_map(|j| (0..g.nx).map(move |ii| (ii, j)))
        .map(|(ii, j)| g.index(ii, j, kz))
        .collect();
    Some(SliceData {
        nuclide: name.to_string(),
        nx: g.nx,
        ny: g.ny,
        voxel_um: (g.voxel_cm[0] * 1e4, g.voxel_cm[1] * 1e4),
        dose_gy: idx.iter().map(|&v| f64::from(total[v])).collect(),
        cell_id: idx.iter().map(|&v| plan.phantom.cell_id[v]).collect(),
    })
}

/// Combined relative uncertainty of the tumour dose: Σ over component parts of (dose share ×
/// relative uncertainty) in quadrature.
fn tumour_rel_unc(r: &RunResult) -> f64 {
    let (mut dsum, mut var) = (0.0, 0.0);
    for cs in &r.components {
        for pi in 0..2 {
            let d = cs.total_decays * cs.tumour_gy_per_decay[pi];
            let u = cs.tumour_rel_unc[pi];
            dsum += d;
            if cs.transported_decays[pi] > 0 && u.is_finite() {
                var += (d * u).powi(2);
            }
        }
    }
    if dsum > 0.0 {
        var.sqrt() / dsum
    } else {
        f64::NAN
    }
}

/// The curves of the figures: tumour and lymphocyte dose rate after the first
/// administration, cumulative dose over the whole treatment, cell doses, and survival by
/// start day.
fn curves(plan: &Plan, r: &RunResult, field: &DoseField) -> Result<NuclideCurves> {
    let ev_ = plan.source.evolution();
    let first = ev_.first_time_s().unwrap_or(0.0);
    let adm = plan.source.administrations();
    let horizon = adm
        .iter()
        .map(|a| a.time_s)
        .find(|&t| t > first)
        .unwrap_or_else(|| r.end_s.max(first + DAY))
        - first;
    let mut taus: Vec<f64> = (0..=600).map(|j| horizon * f64::from(j) / 600.0).collect();
    taus.extend((0..120).map(|j| 60.0 * (horizon / 60.0).powf(f64::from(j) / 120.0)));
    taus.retain(|&t| t < horizon);
    taus.sort_by(f64::total_cmp);
    taus.dedup();
    let abs: Vec<f64> = taus.iter().map(|t| first + t).collect();
    let tl = dose_timeline(ev_, field, &abs).context("dose-rate curve")?;
    let rate_of = |g: usize| -> Vec<f64> {
        tl.rate
            .iter()
            .map(|x| 3600.0 * (x.low_let[g] + x.alpha[g]))
            .collect()
    };
    let rate_curves = [rate_of(GROUP_TUMOUR), rate_of(GROUP_LYMPHOCYTE)];
    // cumulative dose over the whole treatment: uniform and logarithmic from 1 min, so
    // hours-long and months-long kinetics both resolve on a log time axis
    let span = (r.end_s - first).max(DAY);
    let mut cum_taus: Vec<f64> = (0..=1200).map(|j| span * f64::from(j) / 1200.0).collect();
    cum_taus.extend((0..=200).map(|j| 60.0 * (span / 60.0).powf(f64::from(j) / 200.0)));
    cum_taus.sort_by(f64::total_cmp);
    cum_taus.dedup();
    let ctl = dose_timeline(
        ev_,
        field,
        &cum_taus.iter().map(|t| first + t).collect::<Vec<_>>(),
    )
    .context("cumulative-dose curve")?;
    let cum_of = |g: usize| -> Vec<f64> {
        ctl.cumulative
            .iter()
            .map(|x| x.low_let[g] + x.alpha[g])
            .collect()
    };
    let pick = |kind: u16| -> Vec<f64> {
        r.cells
            .kind
            .iter()
            .zip(&r.cells.dose_gy)
            .filter(|(kk, _)| **kk == kind)
            .map(|(_, d)| *d)
            .collect()
    };
    let survival = match &r.window {
        Some(w) => (
            w.days.iter().map(|d| d.day).collect(),
            w.days.iter().map(|d| d.surviving_fraction).collect(),
        ),
        None => (vec![], vec![]),
    };
    Ok(NuclideCurves {
        survival,
        rate: (taus.iter().map(|t| t / DAY).collect(), rate_curves),
        cumulative: (
            cum_taus.iter().map(|t| t / DAY).collect(),
            [cum_of(GROUP_TUMOUR), cum_of(GROUP_LYMPHOCYTE)],
        ),
        cell_doses: (pick(CellKind::TUMOUR.0), pick(CellKind::LYMPHOCYTE.0)),
    })
}

/// The safe runs of start days of every cycle.
fn window_runs(r: &RunResult) -> Vec<WindowRun> {
    r.window.as_ref().map_or(Vec::new(), |w| {
        w.cycles
            .iter()
            .flat_map(|c| {
                c.safe_runs_days.iter().map(|&(a, b)| WindowRun {
                    cycle: c.cycle,
                    from_day: a,
                    to_day: b,
                })
            })
            .collect()
    })
}

/// The comparison's row of `s.name` from its time step `r`; the tumour-dose uncertainty
/// above the target and the run's notes go to `warnings`. `t_other`: when the work after
/// the transport began.
pub(super) fn row(
    s: &Step<'_>,
    r: &RunResult,
    warnings: &mut Warnings<'_>,
    t_other: std::time::Instant,
) -> Result<NuclideRow> {
    let (name, plan) = (s.name, s.plan);
    // cross-fire: the self-cell tallies of the transport
    let totals = plan.source.total_decays();
    let crossfire = [GROUP_TUMOUR, GROUP_LYMPHOCYTE]
        .map(|g| crossfire_fraction(&self_cell_parts(s.tr, &totals, g)));
    let field = group_field(plan, s.tr)?;
    let adm_times: Vec<f64> = plan
        .source
        .administrations()
        .iter()
        .map(|a| a.time_s)
        .collect();
    let peak = rate_peak(plan.source.evolution(), &field, GROUP_TUMOUR, &adm_times)
        .context("tumour dose-rate peak")?;
    let curves = curves(plan, r, &field)?;
    let tumour_rel_unc = tumour_rel_unc(r);
    if let Some(target_u) = plan.scenario.transport.target_uncertainty {
        if tumour_rel_unc > target_u {
            warnings.add(format!(
                "{name}: tumour-cell dose uncertainty {:.2} % (all components), above the target {:.2} %: raise --max-decays",
                100.0 * tumour_rel_unc,
                100.0 * target_u
            ));
        }
    }
    for n in &r.notes {
        warnings.add(n.clone());
    }
    let window = r.window.as_ref();
    let window_end = window.and_then(crate::output::window_end);
    let window_survival_estimate = window.and_then(|w| {
        w.earliest_day.and_then(|d| {
            w.days
                .iter()
                .find(|x| x.day == d)
                .map(|x| x.survival_estimate)
        })
    });
    let components = r
        .components
        .iter()
        .zip(s.reused)
        .map(|(c, &ru)| ComponentRow {
            nuclide: c.nuclide.clone(),
            site: c.site.clone(),
            total_decays: c.total_decays,
            transported_decays: c.transported_decays,
            tumour_rel_unc: c.tumour_rel_unc,
            reused: ru,
        })
        .collect();
    Ok(NuclideRow {
        nuclide: name.to_string(),
        half_life_s: s.chain.members()[0].half_life_s(),
        alpha_emitter: alpha_emitter(s.chain),
        scale: s.scale,
        activity_per_administration_bq: r.administrations.first().map_or(0.0, |a| a.1),
        administrations: r.administrations.len(),
        parent_decays: parent_decays(plan),
        chain_decays: plan.source.total_decays().iter().sum(),
        tumour_gy: r.tumour.mean_gy,
        tumour_rel_unc,
        tumour_alpha_gy: r.tumour.alpha_gy,
        tumour_rbe_weighted_gy: r.tumour.rbe_weighted_gy,
        tumour_surviving_fraction: r.tumour.surviving_fraction,
        tumour_survival: r.tumour.survival,
        tumour_alpha_hit_survival: r.tumour.alpha_hit_survival,
        cell_rel_unc_p95: [
            r.tumour.per_cell_rel_unc_p95,
            r.lymphocytes.per_cell_rel_unc_p95,
        ],
        lymphocytes: exposure_rows(r),
        tumour_to_lymphocyte: r.tumour_to_lymphocyte_ratio,
        crossfire_tumour: crossfire[0],
        crossfire_lymphocyte: crossfire[1],
        peak_dose_rate_gy_per_h: peak.rate_gy_per_s * 3600.0,
        peak_time_h: peak.time_s / 3600.0,
        dose_rate_half_time_h: peak.half_time_s.map(|h| h / 3600.0),
        survival_target: window.map_or(plan.scenario.radiobiology.survival_target, |w| {
            w.survival_target
        }),
        window_day: window.and_then(|w| w.earliest_day),
        window_survival: window_survival_estimate.map(|e| e.value),
        window_survival_estimate,
        window_tumour_dose_fraction: window.and_then(|w| w.tumour_dose_fraction_at_earliest),
        window_end_day: window_end.map(|e| e.0),
        window_open_at_scan_end: window_end.is_some_and(|e| e.1),
        windows: window_runs(r),
        components,
        transport_wall_s: s.transport_wall_s,
        other_wall_s: t_other.elapsed().as_secs_f64(),
        notes: r.notes.clone(),
        curves,
    })
}

/// Cross-fire fraction of a cell group from its self-cell tallies per component part
/// `(mean, weight)`, weight = decays of the component over the treatment: 1 − Σ w·self /
/// Σ w·total; None without energy. σ by the delta method on the ratio, with the self–total
/// covariance of each part (they come from the same histories).
pub fn crossfire_fraction(parts: &[(SelfCellMean, f64)]) -> Option<WithSigma> {
    let (mut s, mut t, mut vs, mut vt, mut cst) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (p, w) in parts {
        s += w * p.self_mev;
        t += w * p.total_mev;
        vs += w * w * p.var_self;
        vt += w * w * p.var_total;
        cst += w * w * p.cov;
    }
    if t <= 0.0 {
        return None;
    }
    let r = s / t;
    let var_r = ((vs - 2.0 * r * cst + r * r * vt) / (t * t)).max(0.0);
    Some(WithSigma {
        value: 1.0 - r,
        sigma: var_r.sqrt(),
    })
}

/// The self-cell tallies of group `g` of every transported part with its component's
/// decays over the treatment (`totals`, in component order).
fn self_cell_parts(
    tr: &[ComponentTransport],
    totals: &[f64],
    g: usize,
) -> Vec<(SelfCellMean, f64)> {
    tr.iter()
        .zip(totals)
        .flat_map(|(c, &w)| {
            c.parts
                .iter()
                .filter_map(move |p| p.tally.self_cell_mean(g).map(|m| (m, w)))
        })
        .collect()
}

/// Dose per decay of every component to the "group" regions (other, tumour cells,
/// lymphocytes), as the time step computes it.
fn group_field(plan: &Plan, tr: &[ComponentTransport]) -> Result<DoseField> {
    let masses = region_masses_g(&plan.phantom, &plan.layout.regions[GROUP_MAP]);
    let [low, alpha] = crate::compute::region_field(tr, GROUP_MAP, &masses);
    DoseField::new(low, alpha).context("group dose field")
}

/// Mean tumour-cell absorbed dose over the whole treatment \[Gy\], as the time step computes it.
fn tumour_dose_gy(plan: &Plan, tr: &[ComponentTransport]) -> Result<f64> {
    let f = group_field(plan, tr)?;
    let d = dose_total(plan.source.evolution(), &f).context("tumour dose")?;
    Ok(d.low_let[GROUP_TUMOUR] + d.alpha[GROUP_TUMOUR])
}

/// Decays of the parent (member 0) over the whole treatment \[1\].
fn parent_decays(plan: &Plan) -> f64 {
    let tot = plan.source.total_decays();
    plan.source
        .components()
        .iter()
        .zip(&tot)
        .filter(|(c, _)| c.member == 0)
        .map(|(_, d)| d)
        .sum()
}

fn alpha_emitter(chain: &xfire_kinetics::Chain) -> bool {
    chain.members().iter().any(|m| {
        !m.is_stable()
            && library()
                .resolve(&m.nuclide)
                .is_ok_and(|n| !n.alpha.is_empty())
    })
}

/// The lymphocyte rows: resident from the lymphocyte group summary (mass-weighted mean over
/// the lymphocyte voxels, integrated to the end of all decays: the same number as the
/// run's "lymphocytes" line and the ratio's denominator), then the other models.
fn exposure_rows(r: &RunResult) -> Vec<ExposureRow> {
    let mut v = Vec::new();
    if r.lymphocytes.cells > 0 {
        v.push(ExposureRow {
            model: "resident".into(),
            from_day: 0.0,
            to_day: r.end_s / DAY,
            mean_gy: r.lymphocytes.mean_gy,
            rbe_weighted_gy: r.lymphocytes.rbe_weighted_gy,
            surviving_fraction: r.lymphocytes.surviving_fraction.unwrap_or(f64::NAN),
            survival: r.lymphocytes.survival,
            alpha_hit_survival: r.lymphocytes.alpha_hit_survival,
        });
    }
    let first = r.administrations.first().map_or(0.0, |a| a.0);
    for e in r.exposures.iter().filter(|e| e.model != "resident") {
        v.push(ExposureRow {
            model: e.model.clone(),
            from_day: (e.from_s - first) / DAY,
            to_day: (e.to_s - first) / DAY,
            mean_gy: e.mean_gy,
            rbe_weighted_gy: e.rbe_weighted_gy.mean,
            surviving_fraction: e.surviving_fraction,
            survival: Some(e.survival),
            alpha_hit_survival: e.alpha_hit_survival,
        });
    }
    v
}
