//! The time step: from dose per decay per component (transport) and the exact decays of
//! every component (kinetics) to doses over time per label and per cell, lymphocyte
//! exposure, radiobiology and the immunotherapy window. Deterministic, serial.

use serde::Serialize;
use xfire_kinetics::dose_time::{
    dose_between, dose_timeline, dose_total, settle_time_s, DoseField, ProtractionOptions,
};
use xfire_kinetics::lymphocytes::{resident_exposure_noisy, Distribution, Exposure, NoiseInput};
use xfire_kinetics::noise::{CellNoise, ComponentNoise, SurvivalEstimate};
use xfire_kinetics::radiobiology::{Grade, LqParameters};
use xfire_kinetics::walk::WalkGrid;
use xfire_kinetics::window::WindowReport;
use xfire_kinetics::{Evolution, SplitDose};
use xfire_phantom::{labels, CellKind, Phantom};
use xfire_tally::dose_gy;
use xfire_transport::region_masses_g;

use crate::cellnoise::{
    alpha_hit_coefficient, component_noise, geometric_classes, hit_summary, CellUncertainty,
};
use crate::plan::{Plan, GROUP_LYMPHOCYTE, GROUP_MAP, GROUP_TUMOUR};
use crate::transport::{ComponentTransport, Part};
use crate::voxels::{VoxelDose, VoxelSubset};
use crate::{Context, Result, ScenarioError};

use xfire_core::constants::DAY_S as DAY;

mod lymphocytes;

/// One source component: its decays and its dose per decay at the tumour cells.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentSummary {
    /// Nuclide.
    pub nuclide: String,
    /// Site (source distribution).
    pub site: String,
    /// Decays in the phantom over all time \[1\].
    pub total_decays: f64,
    /// Decays transported (low-LET part, α part) \[1\].
    pub transported_decays: [u64; 2],
    /// Dose per decay to the tumour cells (low-LET, α) \[Gy\].
    pub tumour_gy_per_decay: [f64; 2],
    /// Relative standard uncertainty of the tumour-cell dose per decay (low-LET, α) \[1\].
    pub tumour_rel_unc: [f64; 2],
    /// Dose per decay to the lymphocytes (low-LET, α) \[Gy\].
    pub lymphocyte_gy_per_decay: [f64; 2],
    /// Whether every part came from the cache (not written to files: outputs do not
    /// depend on the cache).
    #[serde(skip)]
    pub from_cache: bool,
}

/// Total dose of one label (over all time).
#[derive(Debug, Clone, Serialize)]
pub struct LabelSummary {
    /// Label id.
    pub id: u16,
    /// Label name.
    pub name: String,
    /// Mass \[g\].
    pub mass_g: f64,
    /// Mean absorbed dose \[Gy\].
    pub mean_gy: f64,
    /// α part of the mean \[Gy\].
    pub alpha_gy: f64,
    /// RBE-weighted mean (low-LET + RBE × α, tumour RBE) \[Gy\].
    pub rbe_weighted_gy: f64,
    /// Median voxel dose \[Gy\].
    pub median_gy: f64,
    /// D98: dose exceeded in 98 % of the voxels \[Gy\].
    pub d98_gy: f64,
    /// D2: dose exceeded in 2 % of the voxels \[Gy\].
    pub d2_gy: f64,
    /// Relative standard uncertainty of the mean (combined over components) \[1\].
    pub rel_unc: f64,
}

/// Dose, BED and survival of a population of cells (tumour cells or lymphocytes).
#[derive(Debug, Clone, Serialize)]
pub struct CellGroupSummary {
    /// "tumour cells" or "lymphocytes".
    pub name: String,
    /// Number of cells.
    pub cells: usize,
    /// Mass-weighted mean absorbed dose of the group's voxels \[Gy\].
    pub mean_gy: f64,
    /// α part \[Gy\].
    pub alpha_gy: f64,
    /// RBE-weighted mean \[Gy\].
    pub rbe_weighted_gy: f64,
    /// Per-cell absorbed dose distribution \[Gy\] (None without cells).
    pub per_cell_gy: Option<Distribution>,
    /// Per-cell RBE-weighted dose \[Gy\].
    pub per_cell_rbe_weighted_gy: Option<Distribution>,
    /// Per-cell BED \[Gy\].
    pub per_cell_bed_gy: Option<Distribution>,
    /// Mean surviving fraction over the cells \[1\] (Monte Carlo noise removed,
    /// `docs/kinetics.md`).
    pub surviving_fraction: Option<f64>,
    /// The surviving fraction with its uncertainty, 95 % interval, uncorrected value and
    /// too-wide flag.
    pub survival: Option<SurvivalEstimate>,
    /// Surviving fraction of the α-hit model (α emitters with a tallied single-hit spectrum).
    pub alpha_hit_survival: Option<SurvivalEstimate>,
    /// 95th percentile over the cells of the relative standard uncertainty of the per-cell
    /// absorbed dose \[1\].
    pub per_cell_rel_unc_p95: Option<f64>,
}

/// Exposure of a set of lymphocytes over an interval.
#[derive(Debug, Clone, Serialize)]
pub struct ExposureSummary {
    /// Model ("cohort", "migrating", "circulating", "resident").
    pub model: String,
    /// Start of exposure \[s\].
    pub from_s: f64,
    /// End of exposure \[s\].
    pub to_s: f64,
    /// Number of lymphocytes (positions, walkers).
    pub lymphocytes: usize,
    /// Mean surviving fraction \[1\] (Monte Carlo noise removed where the model has it).
    pub surviving_fraction: f64,
    /// The surviving fraction with its uncertainty, interval, uncorrected value and flag.
    pub survival: SurvivalEstimate,
    /// Surviving fraction of the α-hit model, where available.
    pub alpha_hit_survival: Option<SurvivalEstimate>,
    /// Mean absorbed dose \[Gy\].
    pub mean_gy: f64,
    /// RBE-weighted dose distribution \[Gy\].
    pub rbe_weighted_gy: Distribution,
    /// BED distribution \[Gy\].
    pub bed_gy: Distribution,
}

impl ExposureSummary {
    /// The summary of `e` with its survival figure `survival` (the noise-corrected estimate
    /// of `e`, or one made for the model).
    fn of(
        model: &str,
        (from_s, to_s): (f64, f64),
        e: &Exposure,
        survival: SurvivalEstimate,
    ) -> Self {
        let tot = e.dose.total();
        Self {
            model: model.into(),
            from_s,
            to_s,
            lymphocytes: tot.len(),
            surviving_fraction: survival.value,
            survival,
            alpha_hit_survival: e.alpha_hit_estimate,
            mean_gy: tot.iter().sum::<f64>() / tot.len().max(1) as f64,
            rbe_weighted_gy: e.rbe_weighted_summary.clone(),
            bed_gy: e.bed_summary.clone(),
        }
    }
}

/// Cumulative dose of the tumour cells and lymphocytes at one reporting time.
#[derive(Debug, Clone, Serialize)]
pub struct AtTime {
    /// Time after the first administration \[s\].
    pub time_s: f64,
    /// Tumour-cell mean dose \[Gy\].
    pub tumour_gy: f64,
    /// Lymphocyte mean dose \[Gy\].
    pub lymphocyte_gy: f64,
    /// Fraction of the tumour's total dose delivered \[1\].
    pub tumour_fraction_delivered: f64,
    /// Per-cell tumour dose distribution \[Gy\].
    pub tumour_per_cell_gy: Option<Distribution>,
    /// Per-cell lymphocyte dose distribution \[Gy\].
    pub lymphocyte_per_cell_gy: Option<Distribution>,
}

/// One radiobiology parameter as used, with its grade.
#[derive(Debug, Clone, Serialize)]
pub struct ParameterUsed {
    /// Name ("lymphocyte.alpha").
    pub name: String,
    /// Value.
    pub value: f64,
    /// Unit.
    pub unit: String,
    /// Grade of the default ("A", "B", "C") or "scenario" when set in the file.
    pub grade: String,
}

/// Dose rate and cumulative dose on a time grid.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Curves {
    /// Times \[s\].
    pub times_s: Vec<f64>,
    /// Names of the curves: "tumour cells", "lymphocytes", then every label.
    pub names: Vec<String>,
    /// Dose rate `rate[curve][time]` \[Gy/s\] (absorbed, α + low LET).
    pub rate_gy_per_s: Vec<Vec<f64>>,
    /// Cumulative dose `cumulative[curve][time]` \[Gy\].
    pub cumulative_gy: Vec<Vec<f64>>,
}

/// Per-cell results (resident cells over the whole treatment).
#[derive(Debug, Clone, Default)]
pub struct CellTable {
    /// Cell ids.
    pub id: Vec<u32>,
    /// Cell kind (0 tumour, 1 lymphocyte, …).
    pub kind: Vec<u16>,
    /// Labelled (carries the agent).
    pub labelled: Vec<bool>,
    /// Uptake weight (0 if not labelled).
    pub uptake_weight: Vec<f64>,
    /// Absorbed dose \[Gy\].
    pub dose_gy: Vec<f64>,
    /// α part \[Gy\].
    pub alpha_gy: Vec<f64>,
    /// Monte Carlo standard uncertainty of the absorbed dose (batch method) \[Gy\].
    pub dose_sd_gy: Vec<f64>,
    /// Monte Carlo standard uncertainty of the α part \[Gy\].
    pub alpha_sd_gy: Vec<f64>,
    /// RBE-weighted dose \[Gy\].
    pub rbe_weighted_gy: Vec<f64>,
    /// BED \[Gy\] (noise-corrected quadratic term).
    pub bed_gy: Vec<f64>,
    /// Surviving fraction \[1\] (posterior expectation, `docs/kinetics.md`).
    pub survival: Vec<f64>,
    /// Absorbed dose at each reporting time `dose_at[t][cell]` \[Gy\].
    pub dose_at_gy: Vec<Vec<f64>>,
}

/// Single-hit statistics of one chain member's α particles in one target type.
#[derive(Debug, Clone, Serialize)]
pub struct SingleHitMember {
    /// Chain member.
    pub nuclide: String,
    /// Frequency-mean single-event specific energy z̄_F \[Gy\].
    pub frequency_mean_z_gy: f64,
    /// Single events tallied \[1\].
    pub events: f64,
}

/// The α-hit model of one target type.
#[derive(Debug, Clone, Serialize)]
pub struct SingleHitSummary {
    /// "tumour cells" or "lymphocytes".
    pub target: String,
    /// κ = (1 − T(α_α))/z̄_F, mixed over the chain by α-dose share \[1/Gy\].
    pub coefficient_per_gy: f64,
    /// α·RBE, the mean-dose model's coefficient \[1/Gy\].
    pub alpha_rbe_per_gy: f64,
    /// Per chain member with α events.
    pub members: Vec<SingleHitMember>,
}

/// Everything a run produced (plain data).
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// Scenario description.
    pub description: Option<String>,
    /// Parent nuclide.
    pub nuclide: String,
    /// Binding site.
    pub binding: String,
    /// Administrations (time \[s\], activity \[Bq\]).
    pub administrations: Vec<(f64, f64)>,
    /// Labelled tumour cells / all tumour cells.
    pub labelled_cells: [usize; 2],
    /// Mass of the phantom's tumour \[g\].
    pub tumour_mass_g: f64,
    /// End of the treatment used for totals and resident exposure (< 1e-4 of the decays left) \[s\].
    pub end_s: f64,
    /// Source components.
    pub components: Vec<ComponentSummary>,
    /// Per label, over all time.
    pub labels: Vec<LabelSummary>,
    /// Tumour cells and lymphocytes (resident), over all time.
    pub tumour: CellGroupSummary,
    /// Lymphocytes of the phantom (resident TILs), over all time.
    pub lymphocytes: CellGroupSummary,
    /// Tumour / lymphocyte mean dose: absorbed and RBE-weighted.
    pub tumour_to_lymphocyte_ratio: [f64; 2],
    /// At the reporting times.
    pub at_times: Vec<AtTime>,
    /// Arriving cohorts, migrating walkers and circulating lymphocytes.
    pub exposures: Vec<ExposureSummary>,
    /// The immunotherapy window.
    pub window: Option<WindowReport>,
    /// Radiobiology parameters used, with grades.
    pub parameters: Vec<ParameterUsed>,
    /// Notes (models skipped and why, approximations).
    pub notes: Vec<String>,
    /// The α-hit model per target type (α emitters only; `docs/kinetics.md` §9).
    pub single_hit: Vec<SingleHitSummary>,
    /// Wall time of each phase of the time step, labelled by the phase that *ended* \[s\]
    /// (diagnostics; not written to files).
    #[serde(skip)]
    pub phases: Vec<(String, f64)>,
    /// Dose curves.
    #[serde(skip)]
    pub curves: Curves,
    /// Per-cell table.
    #[serde(skip)]
    pub cells: CellTable,
    /// Cumulative absorbed dose maps at the reporting times, then over all time \[Gy\]
    /// (empty when the layout keeps no per-voxel tallies).
    #[serde(skip)]
    pub dose_maps: DoseMaps,
}

/// The cumulative absorbed dose maps of a run, as the decays of every component up to each
/// reporting time and over all time: [`DoseMaps::map`] sums a map from the transport's
/// per-voxel doses when it is needed (written, drawn), so no map is kept in memory.
#[derive(Debug, Clone, Default)]
pub struct DoseMaps {
    /// Per reporting time \[s\], the decays of every component in \[first, first + t\].
    pub at: Vec<(f64, Vec<f64>)>,
    /// The decays of every component over all time; None without per-voxel tallies (then
    /// there are no maps).
    pub total: Option<Vec<f64>>,
    /// Voxels of a map (the phantom's).
    pub voxels: usize,
}

impl DoseMaps {
    /// Number of maps (reporting times, then the total); 0 without per-voxel tallies.
    pub fn len(&self) -> usize {
        self.total.as_ref().map_or(0, |_| self.at.len() + 1)
    }

    /// No maps (the layout keeps no per-voxel tallies).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Time of every map \[s\]: the reporting times, then infinity for the total.
    pub fn times_s(&self) -> Vec<f64> {
        let mut t: Vec<f64> = self.at.iter().map(|a| a.0).collect();
        t.push(f64::INFINITY);
        t.truncate(self.len());
        t
    }

    /// Map `i` (in [`DoseMaps::times_s`] order; `len() - 1` is the total) per voxel \[Gy\],
    /// from the transport `tr` of the run.
    pub fn map(&self, i: usize, tr: &[ComponentTransport]) -> Vec<f32> {
        let decays = match self.at.get(i) {
            Some((_, d)) => d,
            None => self.total.as_ref().expect("a map index below len()"),
        };
        let vdpd = voxel_doses(tr);
        let full = full_doses(&vdpd).expect("maps are made from the doses of every voxel");
        dose_map(&full, decays, self.voxels)
    }

    /// The total map over all time \[Gy\], if there are maps.
    pub fn total_map(&self, tr: &[ComponentTransport]) -> Option<Vec<f32>> {
        (!self.is_empty()).then(|| self.map(self.len() - 1, tr))
    }

    /// Drops the maps.
    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

/// Per-voxel dose per decay of every component, `[low LET, α]` (None: the part is not
/// emitted or not tallied per voxel), borrowed from the transport.
fn voxel_doses(tr: &[ComponentTransport]) -> Vec<[Option<&VoxelDose>; 2]> {
    tr.iter()
        .map(|t| [t.voxel_dose(Part::LowLet), t.voxel_dose(Part::Alpha)])
        .collect()
}

/// The doses `vdpd` as slices over every voxel, if there are per-voxel doses and each keeps
/// every voxel (what maps and label dose quantiles need).
fn full_doses<'a>(vdpd: &[[Option<&'a VoxelDose>; 2]]) -> Option<Vec<[Option<&'a [f32]>; 2]>> {
    let some = vdpd.iter().flatten().any(Option::is_some);
    let full = vdpd
        .iter()
        .map(|pair| match pair.map(|d| d.map(VoxelDose::full)) {
            [Some(None), _] | [_, Some(None)] => None,
            [l, a] => Some([l.flatten(), a.flatten()]),
        })
        .collect::<Option<Vec<_>>>()?;
    some.then_some(full)
}

/// The voxels the migrating lymphocytes may walk: every voxel but the medium and necrosis.
pub fn walk_voxels(ph: &Phantom) -> VoxelSubset {
    VoxelSubset::new(ph.grid.len(), |v| {
        let l = ph.label[v];
        l != labels::MEDIUM && l != labels::NECROSIS
    })
}

/// Absorbed dose per voxel \[Gy\] of `decays[c]` decays of every component c, from the
/// per-decay maps `vdpd` of `nv` voxels (summed in `f64`, in component and part order).
fn dose_map(vdpd: &[[Option<&[f32]>; 2]], decays: &[f64], nv: usize) -> Vec<f32> {
    let mut m = vec![0f64; nv];
    for (ci, pair) in vdpd.iter().enumerate() {
        let n = decays[ci];
        for p in pair.iter().flatten() {
            for (a, &d) in m.iter_mut().zip(*p) {
                *a += f64::from(d) * n;
            }
        }
    }
    m.into_iter().map(|x| x as f32).collect()
}

/// The phantom as the migrating lymphocytes' walk grid: voxels and entries of its own, dose
/// per decay borrowed from the transport (`[low LET, α]` per component, None: zero), which
/// keeps (at least) the dose of every voxel of `allowed`.
struct PhantomWalkGrid<'a> {
    dims: [usize; 3],
    voxel_cm: [f64; 3],
    allowed: VoxelSubset,
    entries: Vec<usize>,
    dose: &'a [[Option<&'a VoxelDose>; 2]],
}

impl WalkGrid for PhantomWalkGrid<'_> {
    fn dims(&self) -> [usize; 3] {
        self.dims
    }
    fn voxel_size_cm(&self) -> [f64; 3] {
        self.voxel_cm
    }
    fn allowed(&self, voxel: usize) -> bool {
        self.allowed.contains(voxel)
    }
    fn entry_voxels(&self) -> &[usize] {
        &self.entries
    }
    fn n_components(&self) -> usize {
        self.dose.len()
    }
    fn dose_per_decay(&self, voxel: usize, component: usize) -> (f64, f64) {
        let at = |d: Option<&VoxelDose>| {
            d.map_or(0.0, |d| {
                f64::from(d.at(voxel).expect("the doses keep every voxel of the walk"))
            })
        };
        let [low, alpha] = self.dose[component];
        (at(low), at(alpha))
    }
}

fn grade(g: Grade) -> String {
    format!("{g:?}")
}

fn params(plan: &Plan) -> Vec<ParameterUsed> {
    let rb = &plan.scenario.radiobiology;
    let mut v = Vec::new();
    for (who, p) in [("tumour", &rb.tumour), ("lymphocyte", &rb.lymphocyte)] {
        let g = |key: &str, gr: Grade| {
            if rb
                .overridden
                .iter()
                .any(|o| o == &format!("{who}.{key}") || o == key)
            {
                "scenario".to_string()
            } else {
                grade(gr)
            }
        };
        v.push(ParameterUsed {
            name: format!("{who}.alpha"),
            value: p.alpha_per_gy,
            unit: "1/Gy".into(),
            grade: g("alpha", p.grades.alpha),
        });
        v.push(ParameterUsed {
            name: format!("{who}.alpha_beta"),
            value: p.alpha_beta_gy,
            unit: "Gy".into(),
            grade: g("alpha_beta", p.grades.alpha_beta),
        });
        v.push(ParameterUsed {
            name: format!("{who}.repair_half_time"),
            value: p.repair_half_time_s / 3600.0,
            unit: "h".into(),
            grade: g("repair_half_time", p.grades.repair_half_time),
        });
        v.push(ParameterUsed {
            name: format!("{who}.rbe_alpha"),
            value: p.rbe_alpha,
            unit: "1".into(),
            grade: g("rbe_alpha", p.grades.rbe_alpha),
        });
    }
    v
}

/// Dose per decay per target for one region map: `[part][component][region]` \[Gy\].
pub(crate) fn region_field(
    tr: &[ComponentTransport],
    map: usize,
    masses: &[f64],
) -> [Vec<Vec<f64>>; 2] {
    let mut out = [Vec::new(), Vec::new()];
    for c in tr {
        for (pi, part) in [Part::LowLet, Part::Alpha].into_iter().enumerate() {
            let v = match c.part(part) {
                Some(t) => (0..masses.len())
                    .map(|r| {
                        if masses[r] > 0.0 {
                            dose_gy(t.region_mean_mev(map, r), masses[r])
                        } else {
                            0.0
                        }
                    })
                    .collect(),
                None => vec![0.0; masses.len()],
            };
            out[pi].push(v);
        }
    }
    out
}

fn select(field: &[Vec<Vec<f64>>; 2], idx: &[usize]) -> Result<DoseField> {
    let pick = |f: &Vec<Vec<f64>>| -> Vec<Vec<f64>> {
        f.iter()
            .map(|c| idx.iter().map(|&i| c[i]).collect())
            .collect()
    };
    DoseField::new(pick(&field[0]), pick(&field[1])).context("dose field")
}

fn quantile_sorted(s: &[f64], p: f64) -> f64 {
    if s.is_empty() {
        return f64::NAN;
    }
    let h = (s.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    s[lo] + (h - lo as f64) * (s[hi] - s[lo])
}

/// The time step of a run: everything after the transport. One function per phase; the
/// phases share the plan, the transport, the kinetics and the dose per decay of every target
/// through [`Step`].
pub fn compute(plan: &Plan, tr: &[ComponentTransport]) -> Result<RunResult> {
    check_components(plan, tr)?;
    let mut phases: Vec<(String, f64)> = Vec::new();
    let mut t0 = std::time::Instant::now();

    phase(
        &mut phases,
        &mut t0,
        "targets: label regions, groups, cells",
    );
    let st = Step::new(plan, tr)?;
    let components = st.component_summaries();

    phase(&mut phases, &mut t0, "voxel dose per decay and total map");
    // voxel dose per decay (borrowed from the transport; None for a part the nuclide does
    // not emit or a layout without per-voxel tallies) and the total map
    let vdpd = voxel_doses(tr);
    let full = full_doses(&vdpd);
    let has_maps = full.is_some();
    let total_map = full.map_or(Vec::new(), |f| dose_map(&f, &st.totals, st.voxels()));

    phase(&mut phases, &mut t0, "labels");
    let labels = st.label_summaries(&total_map)?;
    drop(total_map); // per-voxel array not needed past the labels

    phase(&mut phases, &mut t0, "cells");
    let ids = CellIds::of(plan);
    let mut groups = st.cell_groups(&ids)?;
    let mut notes = st.cell_notes(&ids, &groups);

    phase(&mut phases, &mut t0, "reporting times");
    let (at_times, dose_maps) = st.reporting_times(&ids, has_maps, &mut groups)?;

    phase(&mut phases, &mut t0, "curves");
    let curves = st.curves(&labels)?;

    phase(&mut phases, &mut t0, "lymphocyte models");
    let mut exposures = Vec::new();
    let window = st.resident_and_cohorts(&ids, &groups, &mut exposures)?;
    st.migrating(&vdpd, groups.hit_l, &mut exposures, &mut notes)?;
    st.circulating(&mut exposures, &mut notes)?;

    phase(&mut phases, &mut t0, "end");
    let s = &plan.scenario;
    let ratio = groups.tumour_to_lymphocyte_ratio();
    Ok(RunResult {
        phases,
        description: s.description.clone(),
        nuclide: s.agent.nuclide.clone(),
        binding: s.agent.binding.clone(),
        administrations: plan
            .source
            .administrations()
            .iter()
            .map(|a| (a.time_s, a.activity_bq))
            .collect(),
        labelled_cells: [plan.labelled_cells.len(), ids.tumour.len()],
        tumour_mass_g: plan.tumour_mass_g,
        end_s: st.end_s,
        components,
        labels,
        tumour: groups.tumour,
        lymphocytes: groups.lymphocytes,
        tumour_to_lymphocyte_ratio: ratio,
        at_times,
        exposures,
        window,
        parameters: params(plan),
        notes,
        single_hit: groups.single_hit,
        curves,
        cells: groups.table,
        dose_maps,
    })
}

/// The transport `tr` must hold the plan's source components, in order.
fn check_components(plan: &Plan, tr: &[ComponentTransport]) -> Result<()> {
    let comps = plan.source.components();
    if tr.len() != comps.len()
        || tr
            .iter()
            .zip(comps)
            .any(|(t, c)| t.nuclide != c.nuclide || t.site != c.site)
    {
        return Err(ScenarioError::Check(
            "transport results do not match the plan's source components".into(),
        ));
    }
    Ok(())
}

/// What the phases of the time step share: the plan, the transport, the kinetics, and the
/// dose per decay of every target (`[part][component][region]` per region map, and the
/// label and group maps as dose fields).
struct Step<'a> {
    plan: &'a Plan,
    tr: &'a [ComponentTransport],
    ev: &'a Evolution,
    /// Decays of every component over all time.
    totals: Vec<f64>,
    /// The first administration \[s\].
    first: f64,
    /// End of the treatment (< 1e-4 of the decays left) \[s\].
    end_s: f64,
    /// Radiobiology of the tumour cells and of the lymphocytes.
    lq_t: LqParameters,
    lq_l: LqParameters,
    popts: ProtractionOptions,
    label_masses: Vec<f64>,
    /// Dose per decay per label, cell and group.
    lf: [Vec<Vec<f64>>; 2],
    cf: [Vec<Vec<f64>>; 2],
    gf: [Vec<Vec<f64>>; 2],
    label_field: DoseField,
    group_field: DoseField,
}

/// The cells of the phantom by kind (cell ids = cell region indices), and which are labelled
/// with what uptake weight (indexed by cell id).
struct CellIds {
    tumour: Vec<usize>,
    lymph: Vec<usize>,
    labelled: Vec<bool>,
    weight: Vec<f64>,
}

impl CellIds {
    fn of(plan: &Plan) -> Self {
        let ph = &plan.phantom;
        let of_kind = |kind: CellKind| -> Vec<usize> {
            ph.cells
                .cells
                .iter()
                .filter(|c| c.kind == kind)
                .map(|c| c.id as usize)
                .collect()
        };
        let n_cells = ph.cells.len();
        let mut labelled = vec![false; n_cells + 1];
        let mut weight = vec![0.0; n_cells + 1];
        for (id, w) in plan.labelled_cells.iter().zip(&plan.cell_weights) {
            labelled[*id as usize] = true;
            weight[*id as usize] = *w;
        }
        Self {
            tumour: of_kind(CellKind::TUMOUR),
            lymph: of_kind(CellKind::LYMPHOCYTE),
            labelled,
            weight,
        }
    }
}

/// The cell phase's results: the two groups over all time with their resident exposures,
/// the per-cell table, the α-hit model, and what the lymphocyte models take from it.
struct CellGroups {
    tumour: CellGroupSummary,
    lymphocytes: CellGroupSummary,
    /// The resident lymphocytes' exposure (None without lymphocyte cells).
    resident: Option<Exposure>,
    table: CellTable,
    single_hit: Vec<SingleHitSummary>,
    /// The lymphocytes' α-hit coefficient and per-component noise (cohorts, window).
    hit_l: Option<f64>,
    lymph_cn: ComponentNoise,
}

impl CellGroups {
    /// Tumour / lymphocyte mean dose: absorbed and RBE-weighted (NaN without lymphocyte dose).
    fn tumour_to_lymphocyte_ratio(&self) -> [f64; 2] {
        let (t, l) = (&self.tumour, &self.lymphocytes);
        [
            if l.mean_gy > 0.0 {
                t.mean_gy / l.mean_gy
            } else {
                f64::NAN
            },
            if l.rbe_weighted_gy > 0.0 {
                t.rbe_weighted_gy / l.rbe_weighted_gy
            } else {
                f64::NAN
            },
        ]
    }
}

/// One group of cells whose resident exposure is computed.
struct GroupTarget<'a> {
    idx: &'a [usize],
    lq: &'a LqParameters,
    name: &'a str,
    /// Its region in the group map.
    group: usize,
    noise: &'a CellNoise,
    hit: Option<f64>,
}

impl<'a> Step<'a> {
    /// Targets: masses and dose per decay of the label regions, cells and groups.
    fn new(plan: &'a Plan, tr: &'a [ComponentTransport]) -> Result<Self> {
        let ph = &plan.phantom;
        let src = &plan.source;
        let ev = src.evolution();
        let rb = &plan.scenario.radiobiology;
        let label_masses = region_masses_g(ph, &plan.layout.regions[0]);
        let cell_masses = region_masses_g(ph, &plan.layout.regions[1]);
        let group_masses = region_masses_g(ph, &plan.layout.regions[GROUP_MAP]);
        let lf = region_field(tr, 0, &label_masses);
        let cf = region_field(tr, 1, &cell_masses);
        let gf = region_field(tr, GROUP_MAP, &group_masses);
        let label_field =
            DoseField::new(lf[0].clone(), lf[1].clone()).context("label dose field")?;
        let group_field =
            DoseField::new(gf[0].clone(), gf[1].clone()).context("group dose field")?;
        let end_s = settle_time_s(ev, 1e-4).context("end of treatment")?;
        Ok(Self {
            plan,
            tr,
            ev,
            totals: src.total_decays(),
            first: ev.first_time_s().unwrap_or(0.0),
            end_s,
            lq_t: rb.tumour,
            lq_l: rb.lymphocyte,
            popts: ProtractionOptions::default(),
            label_masses,
            lf,
            cf,
            gf,
            label_field,
            group_field,
        })
    }

    /// Voxels of the phantom.
    fn voxels(&self) -> usize {
        self.plan.phantom.grid.len()
    }

    /// Per source component: its decays and its dose per decay at the cell groups.
    fn component_summaries(&self) -> Vec<ComponentSummary> {
        let gf = &self.gf;
        let comps = self.plan.source.components();
        let mut components = Vec::new();
        for (ci, (c, t)) in comps.iter().zip(self.tr).enumerate() {
            let unc = |p: Part| {
                t.part(p)
                    .map_or(0.0, |x| x.region_rel_unc(GROUP_MAP, GROUP_TUMOUR))
            };
            let dec = |p: Part| t.part(p).map_or(0, |x| x.decays);
            components.push(ComponentSummary {
                nuclide: c.nuclide.clone(),
                site: c.site.clone(),
                total_decays: self.totals[ci],
                transported_decays: [dec(Part::LowLet), dec(Part::Alpha)],
                tumour_gy_per_decay: [gf[0][ci][GROUP_TUMOUR], gf[1][ci][GROUP_TUMOUR]],
                tumour_rel_unc: [unc(Part::LowLet), unc(Part::Alpha)],
                lymphocyte_gy_per_decay: [gf[0][ci][GROUP_LYMPHOCYTE], gf[1][ci][GROUP_LYMPHOCYTE]],
                from_cache: t.parts.iter().all(|p| p.from_cache),
            });
        }
        components
    }

    /// Per label over all time: mean, α and RBE-weighted dose, the quantiles of its voxels'
    /// doses in `total_map` (empty: NaN) and the combined uncertainty.
    fn label_summaries(&self, total_map: &[f32]) -> Result<Vec<LabelSummary>> {
        let ph = &self.plan.phantom;
        let n_labels = self.label_masses.len();
        let ltot = dose_total(self.ev, &self.label_field).context("label doses")?;
        let mut per_label: Vec<Vec<f64>> = vec![Vec::new(); n_labels];
        for ((v, &l), &d) in ph.label.iter().enumerate().zip(total_map) {
            if (l as usize) < n_labels && ph.voxel_mass_g(v) > 0.0 {
                per_label[l as usize].push(f64::from(d));
            }
        }
        let mut label_summaries = Vec::new();
        for (id, name) in ph.labels.entries() {
            let i = *id as usize;
            if i >= n_labels || self.label_masses[i] <= 0.0 {
                continue;
            }
            let vals = &mut per_label[i];
            vals.sort_by(f64::total_cmp);
            let mean = ltot.low_let[i] + ltot.alpha[i];
            let var = self.label_variance(i);
            label_summaries.push(LabelSummary {
                id: *id,
                name: name.clone(),
                mass_g: self.label_masses[i],
                mean_gy: mean,
                alpha_gy: ltot.alpha[i],
                rbe_weighted_gy: ltot.low_let[i] + self.lq_t.rbe_alpha * ltot.alpha[i],
                median_gy: quantile_sorted(vals, 0.5),
                d98_gy: quantile_sorted(vals, 0.02),
                d2_gy: quantile_sorted(vals, 0.98),
                rel_unc: if mean > 0.0 { var.sqrt() / mean } else { 0.0 },
            });
        }
        Ok(label_summaries)
    }

    /// Combined variance of label `i`'s dose over all time: Σ_c (N_c d_c u_c)² over
    /// components and parts \[Gy²\].
    fn label_variance(&self, i: usize) -> f64 {
        let mut var = 0.0;
        for (ci, t) in self.tr.iter().enumerate() {
            for (pi, part) in [Part::LowLet, Part::Alpha].into_iter().enumerate() {
                if let Some(x) = t.part(part) {
                    let u = x.region_rel_unc(0, i);
                    let d = self.lf[pi][ci][i] * self.totals[ci];
                    if u.is_finite() {
                        var += (d * u).powi(2);
                    }
                }
            }
        }
        var
    }

    /// Cells: the tumour cells and the lymphocytes over all time with their noise, the
    /// α-hit model, the resident exposures and the per-cell table.
    fn cell_groups(&self, ids: &CellIds) -> Result<CellGroups> {
        let (tr, ph) = (self.tr, &self.plan.phantom);
        let gtot = dose_total(self.ev, &self.group_field).context("group doses")?;
        let cu = CellUncertainty::new(tr, &self.cf, &self.totals);
        let tumour_classes = geometric_classes(ph, &ids.tumour, &ids.labelled);
        let tumour_noise = cu.noise_of(&ids.tumour, tumour_classes);
        let lymph_classes = geometric_classes(ph, &ids.lymph, &ids.labelled);
        let lymph_noise = cu.noise_of(&ids.lymph, lymph_classes.clone());
        // cohorts and the window: the noise of their own interval's mix of components
        let lymph_cn = component_noise(tr, &ids.lymph, lymph_classes);
        let hit_t = self.hit_coefficient(GROUP_TUMOUR, 0, &self.lq_t);
        let hit_l = self.hit_coefficient(GROUP_LYMPHOCYTE, 1, &self.lq_l);
        let single_hit = self.single_hit_summaries([hit_t, hit_l]);
        let (tumour, te) = self.group_exposure(
            &gtot,
            &cu,
            GroupTarget {
                idx: &ids.tumour,
                lq: &self.lq_t,
                name: "tumour cells",
                group: GROUP_TUMOUR,
                noise: &tumour_noise,
                hit: hit_t,
            },
        )?;
        let (lymphocytes, le) = self.group_exposure(
            &gtot,
            &cu,
            GroupTarget {
                idx: &ids.lymph,
                lq: &self.lq_l,
                name: "lymphocytes",
                group: GROUP_LYMPHOCYTE,
                noise: &lymph_noise,
                hit: hit_l,
            },
        )?;
        let table = self.cell_table(ids, &cu, [&te, &le]);
        Ok(CellGroups {
            tumour,
            lymphocytes,
            resident: le,
            table,
            single_hit,
            hit_l,
            lymph_cn,
        })
    }

    /// The α-hit coefficient of target `class` (0 tumour cells, 1 lymphocytes) at region
    /// `group` of the group map (None: no α events).
    fn hit_coefficient(&self, group: usize, class: usize, lq: &LqParameters) -> Option<f64> {
        let a: Vec<f64> = self.gf[1].iter().map(|c| c[group]).collect();
        alpha_hit_coefficient(
            self.tr,
            &a,
            &self.totals,
            class,
            lq.alpha_per_gy * lq.rbe_alpha,
        )
    }

    /// The α-hit model of the tumour cells and the lymphocytes (`hit`: their coefficients).
    fn single_hit_summaries(&self, hit: [Option<f64>; 2]) -> Vec<SingleHitSummary> {
        let mut single_hit = Vec::new();
        for (who, class, k, lq) in [
            ("tumour cells", 0, hit[0], &self.lq_t),
            ("lymphocytes", 1, hit[1], &self.lq_l),
        ] {
            if let Some(k) = k {
                single_hit.push(SingleHitSummary {
                    target: who.into(),
                    coefficient_per_gy: k,
                    alpha_rbe_per_gy: lq.alpha_per_gy * lq.rbe_alpha,
                    members: hit_summary(self.tr, class)
                        .into_iter()
                        .map(|(nuclide, z, events)| SingleHitMember {
                            nuclide,
                            frequency_mean_z_gy: z,
                            events,
                        })
                        .collect(),
                });
            }
        }
        single_hit
    }

    /// Group `g` over all time (`gtot`: the group doses) and, if it has cells, their
    /// resident exposure.
    fn group_exposure(
        &self,
        gtot: &SplitDose,
        cu: &CellUncertainty,
        g: GroupTarget,
    ) -> Result<(CellGroupSummary, Option<Exposure>)> {
        let (group, lq, name) = (g.group, g.lq, g.name);
        let mean = gtot.low_let[group] + gtot.alpha[group];
        let mut sum = CellGroupSummary {
            name: name.into(),
            cells: g.idx.len(),
            mean_gy: mean,
            alpha_gy: gtot.alpha[group],
            rbe_weighted_gy: gtot.low_let[group] + lq.rbe_alpha * gtot.alpha[group],
            per_cell_gy: None,
            per_cell_rbe_weighted_gy: None,
            per_cell_bed_gy: None,
            surviving_fraction: None,
            survival: None,
            alpha_hit_survival: None,
            per_cell_rel_unc_p95: cu.rel_p95(g.idx),
        };
        if g.idx.is_empty() {
            return Ok((sum, None));
        }
        let f = select(&self.cf, g.idx)?;
        let e = resident_exposure_noisy(
            self.ev,
            &f,
            self.end_s.max(self.first + 1.0),
            lq,
            self.popts,
            Some(NoiseInput {
                cells: g.noise,
                alpha_hit_coeff_per_gy: g.hit,
            }),
        )
        .context(format!("{name}: resident exposure"))?;
        sum.per_cell_gy = Some(Distribution::of(&e.dose.total()).context("distribution")?);
        sum.per_cell_rbe_weighted_gy = Some(e.rbe_weighted_summary.clone());
        sum.per_cell_bed_gy = Some(e.bed_summary.clone());
        sum.surviving_fraction = Some(e.surviving_fraction);
        sum.survival = Some(e.survival_estimate);
        sum.alpha_hit_survival = e.alpha_hit_estimate;
        Ok((sum, Some(e)))
    }

    /// The per-cell table: the tumour cells, then the lymphocytes, of the groups with a
    /// resident exposure `resident` (tumour, lymphocytes).
    fn cell_table(
        &self,
        ids: &CellIds,
        cu: &CellUncertainty,
        resident: [&Option<Exposure>; 2],
    ) -> CellTable {
        let ph = &self.plan.phantom;
        let mut cells = CellTable::default();
        for (idx, e) in [(&ids.tumour, resident[0]), (&ids.lymph, resident[1])] {
            let Some(e) = e else { continue };
            let tot = e.dose.total();
            for (j, &i) in idx.iter().enumerate() {
                let c = &ph.cells.cells[i - 1];
                cells.id.push(c.id);
                cells.kind.push(c.kind.0);
                cells.labelled.push(ids.labelled[i]);
                cells.uptake_weight.push(ids.weight[i]);
                cells.dose_gy.push(tot[j]);
                cells.alpha_gy.push(e.dose.alpha[j]);
                cells.dose_sd_gy.push(cu.total_sd(i));
                cells.alpha_sd_gy.push(cu.sd[1][i]);
                cells.rbe_weighted_gy.push(e.rbe_weighted_gy[j]);
                cells.bed_gy.push(e.bed_gy[j]);
                cells.survival.push(e.survival[j]);
            }
        }
        cells
    }

    /// The notes of the cell phase: per-cell uncertainty above the target, no lymphocytes.
    fn cell_notes(&self, ids: &CellIds, groups: &CellGroups) -> Vec<String> {
        let mut notes = Vec::new();
        let t = &self.plan.scenario.transport;
        if let Some(target) = t.target_cell_uncertainty {
            for g in [&groups.tumour, &groups.lymphocytes] {
                notes.extend(cell_target_note(g, target, self.tr, t.max_decays));
            }
        }
        if ids.lymph.is_empty() {
            notes.push("the phantom has no lymphocyte cells: resident, cohort and window models need lymphocyte positions and were skipped".into());
        }
        notes
    }

    /// Reporting times: doses of the groups and cells delivered up to each (the cells' into
    /// `groups.table`), and the decays of the dose maps (`has_maps`: per-voxel doses of every
    /// voxel are kept).
    fn reporting_times(
        &self,
        ids: &CellIds,
        has_maps: bool,
        groups: &mut CellGroups,
    ) -> Result<(Vec<AtTime>, DoseMaps)> {
        let (s, ev, first) = (&self.plan.scenario, self.ev, self.first);
        let order: Vec<usize> = ids.tumour.iter().chain(&ids.lymph).copied().collect();
        let all_cells_field = select(&self.cf, &order)?;
        let mut at_times = Vec::new();
        let mut dose_maps = DoseMaps {
            voxels: self.voxels(),
            ..DoseMaps::default()
        };
        let tum_total = groups.tumour.mean_gy;
        for &t in &s.output.times_s {
            let g =
                dose_between(ev, &self.group_field, first, first + t).context("dose at time")?;
            let c = dose_between(ev, &all_cells_field, first, first + t)
                .context("cell dose at time")?
                .total();
            let (ct, cl) = c.split_at(ids.tumour.len());
            let tg = g.low_let[GROUP_TUMOUR] + g.alpha[GROUP_TUMOUR];
            at_times.push(AtTime {
                time_s: t,
                tumour_gy: tg,
                lymphocyte_gy: g.low_let[GROUP_LYMPHOCYTE] + g.alpha[GROUP_LYMPHOCYTE],
                tumour_fraction_delivered: if tum_total > 0.0 { tg / tum_total } else { 0.0 },
                tumour_per_cell_gy: Distribution::of(ct).ok(),
                lymphocyte_per_cell_gy: Distribution::of(cl).ok(),
            });
            if !groups.table.id.is_empty() {
                groups.table.dose_at_gy.push(c);
            }
            if has_maps && s.output.maps.iter().any(|m| m == "dose") {
                let d = self
                    .plan
                    .source
                    .decays(first, first + t)
                    .context("decays at time")?;
                dose_maps.at.push((t, d));
            }
        }
        dose_maps.total = has_maps.then(|| self.totals.clone());
        Ok((at_times, dose_maps))
    }

    /// Curves: dose rate and cumulative dose of the cell groups and of every label of
    /// `labels`, at 601 times from the first administration to the end and at the
    /// reporting times.
    fn curves(&self, labels: &[LabelSummary]) -> Result<Curves> {
        let (first, end_s) = (self.first, self.end_s);
        let mut times: Vec<f64> = (0..=600)
            .map(|i| first + (end_s - first) * f64::from(i) / 600.0)
            .collect();
        times.extend(
            self.plan
                .scenario
                .output
                .times_s
                .iter()
                .map(|t| first + t)
                .filter(|&t| t < end_s),
        );
        times.sort_by(f64::total_cmp);
        times.dedup();
        let gl =
            dose_timeline(self.ev, &self.group_field, &times).context("group dose timeline")?;
        let ll =
            dose_timeline(self.ev, &self.label_field, &times).context("label dose timeline")?;
        let mut names = vec!["tumour cells".to_string(), "lymphocytes".to_string()];
        names.extend(labels.iter().map(|l| l.name.clone()));
        let mut rate = vec![Vec::new(); names.len()];
        let mut cum = vec![Vec::new(); names.len()];
        for ti in 0..times.len() {
            let (gr, gc) = (gl.rate[ti].total(), gl.cumulative[ti].total());
            rate[0].push(gr[GROUP_TUMOUR]);
            rate[1].push(gr[GROUP_LYMPHOCYTE]);
            cum[0].push(gc[GROUP_TUMOUR]);
            cum[1].push(gc[GROUP_LYMPHOCYTE]);
            let (lr, lc) = (ll.rate[ti].total(), ll.cumulative[ti].total());
            for (j, l) in labels.iter().enumerate() {
                rate[2 + j].push(lr[l.id as usize]);
                cum[2 + j].push(lc[l.id as usize]);
            }
        }
        Ok(Curves {
            times_s: times,
            names,
            rate_gy_per_s: rate,
            cumulative_gy: cum,
        })
    }
}

/// A note when the per-cell uncertainty of group `g` (all parts and components together)
/// is above `transport.target_cell_uncertainty` = `target`, saying why.
fn cell_target_note(
    g: &CellGroupSummary,
    target: f64,
    tr: &[ComponentTransport],
    max_decays: u64,
) -> Option<String> {
    let u = g.per_cell_rel_unc_p95.filter(|&u| u > target)?;
    let capped = tr
        .iter()
        .flat_map(|c| &c.parts)
        .any(|p| p.tally.decays >= max_decays);
    let why = if capped {
        format!("a part stopped at transport.max_decays = {max_decays}; raise it")
    } else {
        "each part met it, but their least certain 5 % of cells are not the same cells".into()
    };
    Some(format!(
        "{}: 95th percentile of the per-cell dose uncertainty {:.1} %, above \
         transport.target_cell_uncertainty = {:.1} % ({why})",
        g.name,
        100.0 * u,
        100.0 * target
    ))
}

#[allow(dead_code)]
fn days(s: f64) -> f64 {
    s / DAY
}

fn phase(p: &mut Vec<(String, f64)>, t0: &mut std::time::Instant, next: &str) {
    p.push((format!("before {next}"), t0.elapsed().as_secs_f64()));
    *t0 = std::time::Instant::now();
}
