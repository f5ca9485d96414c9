//! Emission-scheme comparison (`xfire compare`, `docs/formats/comparison.md`): the same
//! scenario — phantom, binding site, kinetics shape, regimen, daughter rules, lymphocyte and
//! radiobiology models — run with each of several nuclides, normalised to equal mean tumour
//! absorbed dose, equal administered activity or equal parent decays, and set side by side.
//!
//! For each nuclide the scenario is cloned with `agent.nuclide` replaced (each nuclide keeps
//! its own half-life and chain; daughter rules naming a nuclide that is not in its chain are
//! dropped with a note), the plan is rebuilt on the same phantom (moved, never regenerated),
//! every component is transported once (the on-disk cache of [`crate::transport`] and an
//! in-memory table share a chain member that appears for several nuclides, e.g. Bi-213 in
//! the Ac-225 chain and alone), and the time step ([`crate::compute`]) runs once with the
//! administered amount already scaled: doses are linear in activity, so the scale factor is
//! known from the dose per decay and the decays before the time step runs, and survival,
//! BED and the immunotherapy window are computed at the normalised amount.
//!
//! Two quantities are computed here rather than by the run:
//!
//! * **Cross-fire fraction** of a cell population: the fraction of the absorbed energy in
//!   its voxels that comes from decays outside the cell the voxel belongs to,
//!   1 − E_self / E_total, over all components weighted by their decays. The transport
//!   scores E_self in the same pass as everything else: the scorer is told each decay's
//!   voxel and adds the deposits landing in that voxel's cell per cell group
//!   ([`xfire_tally::SelfCellLayout`], the plan's layout).
//! * **Dose-rate half-time** in the tumour: the time from the peak of the tumour-cell mean
//!   dose rate after the first administration to the moment it has fallen to half the peak
//!   (before the second administration; `None` if it does not fall that far by then).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use xfire_kinetics::noise::SurvivalEstimate;
use xfire_kinetics::regimen::Amount;
use xfire_phantom::Phantom;
use xfire_transport::PhysicsTables;

use crate::compute::{compute, walk_voxels};
use crate::plan::Plan;
use crate::spec::{AmountSpec, Scenario};
use crate::transport::{transport_part, ComponentTransport, Options, Part, PartTransport};
use crate::{Context, Result, ScenarioError};

mod nuclide;
mod report;
mod table;

pub use nuclide::crossfire_fraction;
use table::fmt_day;

pub use report::{write_outputs, write_report, Invocation};
pub use table::{comparison_csv, comparison_json, normalisation_text, text_table};

use xfire_core::constants::DAY_S as DAY;

/// The seven nuclides compared by default.
pub const DEFAULT_NUCLIDES: [&str; 7] = [
    "Lu-177", "Tb-161", "Ac-225", "Bi-213", "At-211", "Pb-212", "Ra-223",
];

/// What is held equal across the nuclides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Normalise {
    /// Equal mean absorbed dose to the tumour cells over the whole treatment (that of the
    /// reference nuclide at the scenario's amount).
    TumourDose,
    /// Equal administered activity (the scenario's regimen and uptake as written; needs an
    /// amount given as an activity: `uptake_fraction` or `activity_concentration`).
    Activity,
    /// Equal decays of the parent nuclide in the phantom over the whole treatment (that of
    /// the reference nuclide at the scenario's amount).
    Decays,
}

impl Normalise {
    /// Name on the command line and in files ("tumour-dose", "activity", "decays").
    pub fn name(self) -> &'static str {
        match self {
            Normalise::TumourDose => "tumour-dose",
            Normalise::Activity => "activity",
            Normalise::Decays => "decays",
        }
    }

    /// Read a name written by [`Normalise::name`].
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "tumour-dose" | "tumor-dose" | "dose" => Ok(Normalise::TumourDose),
            "activity" => Ok(Normalise::Activity),
            "decays" => Ok(Normalise::Decays),
            other => Err(format!(
                "normalisation {other:?}: expected tumour-dose, activity or decays"
            )),
        }
    }
}

/// Something that happened during a comparison, for progress output.
#[derive(Debug, Clone)]
pub enum Event {
    /// Work on nuclide `index` (0-based) of `total` starts.
    Nuclide {
        /// Index in the list.
        index: usize,
        /// Number of nuclides.
        total: usize,
        /// Its name.
        nuclide: String,
    },
    /// A step of the current nuclide (detail for `-v`).
    Step(String),
    /// A warning (printed once; also recorded in the comparison).
    Warning(String),
}

/// Event callback.
pub type EventFn = Arc<dyn Fn(&Event) + Send + Sync>;

/// What to compare and how.
#[derive(Clone)]
pub struct CompareOptions {
    /// Nuclides ("Lu-177", "177Lu", …), at least one; duplicates are an error.
    pub nuclides: Vec<String>,
    /// What is held equal.
    pub normalise: Normalise,
    /// The reference nuclide (its amount is the scenario's); None: the first of the list.
    pub reference: Option<String>,
    /// Write each nuclide's full run output (results.h5, summary, figures) under
    /// `DIR/NUCLIDE/`.
    pub full_output: Option<PathBuf>,
    /// Progress events.
    pub events: Option<EventFn>,
    /// Transport a nuclide whose survival figures are flagged too uncertain again with
    /// twice the decays, until none is or `transport.max_decays` is reached
    /// (`xfire compare --converge`; [`flagged_figures`]).
    pub converge: bool,
}

impl std::fmt::Debug for CompareOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompareOptions")
            .field("nuclides", &self.nuclides)
            .field("normalise", &self.normalise)
            .field("reference", &self.reference)
            .field("full_output", &self.full_output)
            .field("converge", &self.converge)
            .finish()
    }
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            nuclides: DEFAULT_NUCLIDES.iter().map(|s| s.to_string()).collect(),
            normalise: Normalise::TumourDose,
            reference: None,
            full_output: None,
            events: None,
            converge: false,
        }
    }
}

/// Lymphocyte exposure of one model and interval, at the normalised amount.
#[derive(Debug, Clone, Serialize)]
pub struct ExposureRow {
    /// "resident", "cohort", "migrating" or "circulating" (blood).
    pub model: String,
    /// Start of the exposure after the first administration \[d\].
    pub from_day: f64,
    /// End of the exposure \[d\] (resident: the end of the treatment, when less than 10⁻⁴ of
    /// the decays remain; cohort and migrating: arrival + residence).
    pub to_day: f64,
    /// Mean absorbed (physical) dose \[Gy\]: resident, the mass-weighted mean over the
    /// lymphocyte voxels (the denominator of the tumour-to-lymphocyte ratio); other models,
    /// the mean over positions or walkers.
    pub mean_gy: f64,
    /// Mean RBE-weighted dose, low LET + RBE_α × α \[Gy\].
    pub rbe_weighted_gy: f64,
    /// Mean surviving fraction \[1\] (Monte Carlo noise removed, `docs/kinetics.md`).
    pub surviving_fraction: f64,
    /// The surviving fraction with its uncertainty, 95 % interval, uncorrected value and
    /// too-wide flag.
    pub survival: Option<SurvivalEstimate>,
    /// Surviving fraction of the α-hit model, where available.
    pub alpha_hit_survival: Option<SurvivalEstimate>,
}

impl ExposureRow {
    /// Column key: "resident", "cohort_d7", "migrating_d14", "blood".
    pub fn key(&self) -> String {
        match self.model.as_str() {
            "resident" => "resident".into(),
            "circulating" => "blood".into(),
            m => format!("{m}_d{}", fmt_day(self.from_day)),
        }
    }
}

/// A value with its relative or absolute one-σ uncertainty.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct WithSigma {
    /// Value.
    pub value: f64,
    /// One-σ uncertainty (same unit).
    pub sigma: f64,
}

/// One source component of a nuclide as transported.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentRow {
    /// Chain member.
    pub nuclide: String,
    /// Site.
    pub site: String,
    /// Decays in the phantom over the whole treatment, normalised \[1\].
    pub total_decays: f64,
    /// Decays transported (low-LET part, α part) \[1\].
    pub transported_decays: [u64; 2],
    /// Relative standard uncertainty of the tumour-cell dose per decay (low-LET, α) \[1\].
    pub tumour_rel_unc: [f64; 2],
    /// Every part read from the cache or from an earlier nuclide of this comparison.
    pub reused: bool,
}

/// The comparison row of one nuclide (all doses at the normalised amount).
#[derive(Debug, Clone, Serialize)]
pub struct NuclideRow {
    /// Nuclide (canonical name).
    pub nuclide: String,
    /// Half-life of the parent \[s\].
    pub half_life_s: f64,
    /// Some chain member emits α particles.
    pub alpha_emitter: bool,
    /// Factor applied to the scenario's administered amount \[1\].
    pub scale: f64,
    /// Activity per administration after scaling \[Bq\] (the scenario's regimen × scale).
    pub activity_per_administration_bq: f64,
    /// Number of administrations.
    pub administrations: usize,
    /// Decays of the parent in the phantom over the whole treatment \[1\].
    pub parent_decays: f64,
    /// Decays of all chain members in the phantom over the whole treatment \[1\].
    pub chain_decays: f64,
    /// Mean absorbed dose to the tumour cells \[Gy\].
    pub tumour_gy: f64,
    /// Its relative standard uncertainty from the transport (all component parts) \[1\].
    pub tumour_rel_unc: f64,
    /// α part of it \[Gy\].
    pub tumour_alpha_gy: f64,
    /// RBE-weighted tumour-cell dose (low LET + RBE × α) \[Gy\].
    pub tumour_rbe_weighted_gy: f64,
    /// Mean surviving fraction of the tumour cells \[1\].
    pub tumour_surviving_fraction: Option<f64>,
    /// The same with its uncertainty, interval, uncorrected value and flag.
    pub tumour_survival: Option<SurvivalEstimate>,
    /// Tumour-cell surviving fraction of the α-hit model, where available.
    pub tumour_alpha_hit_survival: Option<SurvivalEstimate>,
    /// 95th percentile of the per-cell relative dose uncertainty: tumour cells, lymphocytes
    /// \[1\].
    pub cell_rel_unc_p95: [Option<f64>; 2],
    /// Lymphocyte exposures: resident TILs over the whole treatment, cohorts arriving on the
    /// chosen days, migrating lymphocytes, blood.
    pub lymphocytes: Vec<ExposureRow>,
    /// Tumour / resident-lymphocyte mean dose: absorbed, RBE-weighted \[1\].
    pub tumour_to_lymphocyte: [f64; 2],
    /// Cross-fire fraction of the tumour-cell dose \[1\] (None: not computed).
    pub crossfire_tumour: Option<WithSigma>,
    /// Cross-fire fraction of the resident-lymphocyte dose \[1\].
    pub crossfire_lymphocyte: Option<WithSigma>,
    /// Peak tumour-cell dose rate after the first administration \[Gy/h\].
    pub peak_dose_rate_gy_per_h: f64,
    /// Time of that peak after the first administration \[h\].
    pub peak_time_h: f64,
    /// Dose-rate half-time in the tumour: peak to half the peak \[h\].
    pub dose_rate_half_time_h: Option<f64>,
    /// Survival target of the window \[1\].
    pub survival_target: f64,
    /// Earliest candidate start day whose arriving lymphocytes reach the target \[d\].
    pub window_day: Option<f64>,
    /// Surviving fraction of the lymphocytes arriving on that day \[1\].
    pub window_survival: Option<f64>,
    /// The same with its uncertainty, interval, uncorrected value and flag.
    pub window_survival_estimate: Option<SurvivalEstimate>,
    /// Fraction of the tumour dose delivered by that day \[1\].
    pub window_tumour_dose_fraction: Option<f64>,
    /// Last candidate day of the run of safe days that starts on `window_day`: the window
    /// closes after it (the next day's cohort overlaps the next administration, or the
    /// scan ends) \[d\].
    pub window_end_day: Option<f64>,
    /// The window is still open on the last scanned start day (`window_end_day` is that day,
    /// not a closing day).
    pub window_open_at_scan_end: bool,
    /// Every run of safe start days, per cycle (first day, last day) \[d\].
    pub windows: Vec<WindowRun>,
    /// Source components.
    pub components: Vec<ComponentRow>,
    /// Wall time of this nuclide's transport (0 when reused) \[s\].
    pub transport_wall_s: f64,
    /// Wall time of its time step and cross-fire tally \[s\].
    pub other_wall_s: f64,
    /// Notes of the run.
    pub notes: Vec<String>,
    /// Data for the figures (not written to JSON).
    #[serde(skip)]
    pub curves: NuclideCurves,
}

/// A run of consecutive safe start days within one cycle.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WindowRun {
    /// Cycle (0-based administration index).
    pub cycle: usize,
    /// First safe start day \[d\].
    pub from_day: f64,
    /// Last safe start day \[d\].
    pub to_day: f64,
}

/// Curves of one nuclide for the figures.
#[derive(Debug, Clone, Default)]
pub struct NuclideCurves {
    /// Candidate start days \[d\] and lymphocyte survival \[1\].
    pub survival: (Vec<f64>, Vec<f64>),
    /// Times after the first administration \[d\] (first cycle) and mean dose rate \[Gy/h\]
    /// of the tumour cells and of the resident lymphocytes.
    pub rate: (Vec<f64>, [Vec<f64>; 2]),
    /// Times after the first administration \[d\] (whole treatment) and cumulative mean dose
    /// \[Gy\] of the tumour cells and of the resident lymphocytes.
    pub cumulative: (Vec<f64>, [Vec<f64>; 2]),
    /// Per-cell absorbed dose of the tumour cells and lymphocytes \[Gy\].
    pub cell_doses: (Vec<f64>, Vec<f64>),
}

/// Central z slice of the total dose map of the reference nuclide.
#[derive(Debug, Clone)]
pub struct SliceData {
    /// Nuclide.
    pub nuclide: String,
    /// Voxels along x and y.
    pub nx: usize,
    /// Voxels along y.
    pub ny: usize,
    /// Voxel size along x and y \[µm\].
    pub voxel_um: (f64, f64),
    /// Total absorbed dose per voxel, x fastest \[Gy\].
    pub dose_gy: Vec<f64>,
    /// Cell id per voxel (outlines).
    pub cell_id: Vec<u32>,
}

/// The comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Scenario description.
    pub description: Option<String>,
    /// Scenario file.
    pub scenario: Option<String>,
    /// The nuclide of the scenario file.
    pub scenario_nuclide: String,
    /// Binding site.
    pub binding: String,
    /// What is held equal.
    pub normalise: Normalise,
    /// Reference nuclide.
    pub reference: String,
    /// The equal quantity: tumour dose \[Gy\], activity per administration \[Bq\] or parent
    /// decays \[1\].
    pub normalised_value: f64,
    /// Master seed.
    pub seed: u64,
    /// Residence time of arriving cohorts and migrating lymphocytes \[d\].
    pub residence_d: f64,
    /// Radiobiology parameters used (the same for every nuclide), with their grades.
    pub parameters: Vec<crate::compute::ParameterUsed>,
    /// One row per nuclide, in the order asked.
    pub rows: Vec<NuclideRow>,
    /// Warnings (each once).
    pub warnings: Vec<String>,
    /// Wall time of the comparison \[s\].
    pub wall_s: f64,
    /// Central slice of the reference nuclide's dose map.
    #[serde(skip)]
    pub slice: Option<SliceData>,
}

/// The scenario with its administered amount multiplied by `k`.
pub fn scaled_scenario(s: &Scenario, k: f64) -> Scenario {
    let mut s = s.clone();
    match &mut s.amount {
        AmountSpec::DecaysPerLabelledCell(d) => *d *= k,
        AmountSpec::BqPerGram(c) => *c *= k,
        AmountSpec::UptakeFraction { .. } => {
            s.regimen.amount = match s.regimen.amount {
                Amount::Activity(a) => Amount::Activity(a * k),
                Amount::PerBodyMass(a) => Amount::PerBodyMass(a * k),
            }
        }
    }
    s
}

/// The scenario with `nuclide` as the agent's nuclide; daughter rules naming a nuclide that
/// is not a daughter of `nuclide` are dropped (returned as notes).
pub fn with_nuclide(s: &Scenario, nuclide: &str) -> Result<(Scenario, Vec<String>)> {
    let chain =
        xfire_kinetics::Chain::from_library(nuclide).context(format!("nuclide {nuclide}"))?;
    let name = chain.members()[0].nuclide.clone();
    let mut s = s.clone();
    s.agent.nuclide = name.clone();
    let mut notes = Vec::new();
    s.daughters.retain(|d| match &d.daughter {
        None => true,
        Some(x) => {
            let keep = chain.index_of(x).unwrap_or(0) > 0;
            if !keep {
                notes.push(format!(
                    "{name}: the daughter rule for {x} does not apply ({x} is not in its chain)"
                ));
            }
            keep
        }
    });
    Ok((s, notes))
}

struct Memo {
    parts: HashMap<(String, String, &'static str), PartTransport>,
}

/// Transport the components of `plan`, reusing parts transported for an earlier nuclide
/// (kept only while a later nuclide's chain contains that member).
fn transport_components(
    plan: &Plan,
    physics: &PhysicsTables,
    memo: &mut Memo,
    later: &[xfire_kinetics::Chain],
    opts: &Options,
) -> Result<(Vec<ComponentTransport>, f64, Vec<bool>)> {
    let mut out = Vec::new();
    let mut wall = 0.0;
    let mut reused = Vec::new();
    for c in plan.source.components() {
        let mut parts = Vec::new();
        let mut all_reused = true;
        for part in [Part::LowLet, Part::Alpha] {
            let key = (c.nuclide.clone(), c.site.clone(), part.name());
            let voxels = plan.layout.voxels != xfire_tally::VoxelTally::None;
            let need = plan.dose_voxels.as_deref();
            // a part kept for an earlier nuclide, unless this one needs per-voxel doses the
            // kept part does not have (then it is transported again and replaces it)
            if let Some(p) = memo
                .parts
                .get(&key)
                .filter(|p| !voxels || p.voxel_dose.as_ref().is_some_and(|d| d.covers(need)))
            {
                let mut p = p.clone();
                p.from_cache = true;
                if !voxels {
                    p.voxel_dose = None;
                }
                parts.push(p);
                continue;
            }
            if let Some(p) = transport_part(plan, physics, &c.nuclide, &c.site, part, opts)? {
                wall += p.wall_s;
                all_reused &= p.from_cache;
                if later.iter().any(|ch| ch.index_of(&c.nuclide).is_some()) {
                    memo.parts.insert(key, p.clone());
                }
                parts.push(p);
            }
        }
        reused.push(all_reused);
        out.push(ComponentTransport {
            nuclide: c.nuclide.clone(),
            site: c.site.clone(),
            parts,
        });
    }
    // forget parts no later nuclide needs
    memo.parts
        .retain(|(n, _, _), _| later.iter().any(|ch| ch.index_of(n).is_some()));
    Ok((out, wall, reused))
}

/// The nuclides of a comparison, resolved: chains in the order asked, their parent names,
/// and the index of the reference nuclide.
struct Nuclides {
    chains: Vec<xfire_kinetics::Chain>,
    names: Vec<String>,
    reference: usize,
}

/// Resolves `opts`' nuclides and reference against the library (every bad name at once) and
/// checks the normalisation against `base`'s amount.
fn resolve_nuclides(base: &Scenario, opts: &CompareOptions) -> Result<Nuclides> {
    if opts.nuclides.is_empty() {
        return Err(ScenarioError::Check("compare: no nuclides given".into()));
    }
    let mut chains = Vec::new();
    let mut bad = Vec::new();
    for n in &opts.nuclides {
        match xfire_kinetics::Chain::from_library(n) {
            Ok(c) => chains.push(c),
            Err(e) => bad.push(format!("{n}: {e}")),
        }
    }
    if !bad.is_empty() {
        return Err(ScenarioError::Check(format!(
            "unknown nuclide(s): {}",
            bad.join("; ")
        )));
    }
    let names: Vec<String> = chains
        .iter()
        .map(|c| c.members()[0].nuclide.clone())
        .collect();
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(ScenarioError::Check(format!("nuclide {n} is listed twice")));
        }
    }
    let reference = match &opts.reference {
        None => names[0].clone(),
        Some(r) => {
            let c =
                xfire_kinetics::Chain::from_library(r).context(format!("reference nuclide {r}"))?;
            let n = c.members()[0].nuclide.clone();
            if !names.contains(&n) {
                return Err(ScenarioError::Check(format!(
                    "the reference nuclide {n} is not among the compared nuclides"
                )));
            }
            n
        }
    };
    if opts.normalise == Normalise::Activity
        && matches!(base.amount, AmountSpec::DecaysPerLabelledCell(_))
    {
        return Err(ScenarioError::Check(
            "--normalise activity needs the scenario's amount as an activity \
             (kinetics.uptake_fraction or kinetics.activity_concentration), not decays_per_labelled_cell".into(),
        ));
    }
    let reference = names.iter().position(|n| *n == reference).expect("present");
    Ok(Nuclides {
        chains,
        names,
        reference,
    })
}

/// Physics tables for `base`'s phantom; with `[phantom.lesion]`, for the nested micro
/// phantom (the lesion's materials added).
fn comparison_physics(base: &Scenario, phantom: &Phantom) -> Result<PhysicsTables> {
    match &base.lesion {
        Some(l) => {
            let n = crate::lesion::nest(l, phantom.clone(), "<scenario>")?;
            crate::transport::physics_tables(&n.micro, &base.transport)
        }
        None => crate::transport::physics_tables(phantom, &base.transport),
    }
}

/// Warnings of a comparison, each once, reported as they come.
struct Warnings<'a> {
    list: Vec<String>,
    ev: &'a dyn Fn(Event),
}

impl Warnings<'_> {
    fn add(&mut self, w: String) {
        if !self.list.contains(&w) {
            (self.ev)(Event::Warning(w.clone()));
            self.list.push(w);
        }
    }
}

/// Run the comparison. `base` is the scenario as read; `topts` the transport options
/// (threads, cache, progress).
pub fn compare(base: &Scenario, opts: &CompareOptions, topts: &Options) -> Result<Comparison> {
    let start = std::time::Instant::now();
    let ev = |e: Event| {
        if let Some(f) = &opts.events {
            f(&e);
        }
    };
    let nuc = resolve_nuclides(base, opts)?;
    let names = &nuc.names;
    // order: the reference first (its amount sets the target), results in the order asked
    let mut order: Vec<usize> = vec![nuc.reference];
    order.extend((0..names.len()).filter(|&i| i != nuc.reference));

    // the cache keeps region tallies only (unless every nuclide's full output is written):
    // per-voxel sums of every chain member would be most of the disk a comparison uses
    let mut topts = topts.clone();
    topts.cache_regions_only |= opts.full_output.is_none();
    let (phantom, phantom_notes) = crate::plan::load_phantom(base)?;
    let physics = comparison_physics(base, &phantom)?;
    let mut run = Run {
        base,
        opts,
        topts: &topts,
        nuc: &nuc,
        physics,
        phantom: Some(phantom),
        phantom_notes,
        memo: Memo {
            parts: HashMap::new(),
        },
        target: None,
        walk: None,
        slice: None,
        parameters: Vec::new(),
    };
    let mut rows: Vec<Option<NuclideRow>> = vec![None; names.len()];
    let mut warnings = Warnings {
        list: Vec::new(),
        ev: &ev,
    };
    for (step, &i) in order.iter().enumerate() {
        ev(Event::Nuclide {
            index: step,
            total: names.len(),
            nuclide: names[i].clone(),
        });
        rows[i] = Some(run.nuclide(i, &order[step + 1..], &mut warnings)?);
    }
    Ok(Comparison {
        description: base.description.clone(),
        scenario: base.path.as_ref().map(|p| p.display().to_string()),
        scenario_nuclide: base.agent.nuclide.clone(),
        binding: base.agent.binding.clone(),
        normalise: opts.normalise,
        reference: names[nuc.reference].clone(),
        normalised_value: run.target.unwrap_or(f64::NAN),
        seed: base.transport.seed,
        residence_d: base.lymphocytes.residence_s / DAY,
        parameters: run.parameters,
        rows: rows
            .into_iter()
            .map(|r| r.expect("every nuclide ran"))
            .collect(),
        warnings: warnings.list,
        wall_s: start.elapsed().as_secs_f64(),
        slice: run.slice,
    })
}

/// What a comparison carries from one nuclide to the next: the phantom (handed from plan
/// to plan), the physics, the parts transported for later chains, the normalisation target,
/// and what the reference nuclide leaves (dose slice, radiobiology parameters).
struct Run<'a> {
    base: &'a Scenario,
    opts: &'a CompareOptions,
    topts: &'a Options,
    nuc: &'a Nuclides,
    physics: PhysicsTables,
    phantom: Option<Phantom>,
    phantom_notes: Vec<String>,
    memo: Memo,
    target: Option<f64>,
    /// The voxels the migrating lymphocytes may walk (the same phantom for every nuclide).
    walk: Option<Arc<crate::voxels::VoxelSubset>>,
    slice: Option<SliceData>,
    parameters: Vec<crate::compute::ParameterUsed>,
}

/// The survival figures of `row` flagged too uncertain to read
/// ([`SurvivalEstimate::too_wide`]): tumour cells, every lymphocyte model, the window (mean
/// dose and α-hit models).
pub fn flagged_figures(row: &NuclideRow) -> usize {
    let mut all = vec![
        row.tumour_survival,
        row.tumour_alpha_hit_survival,
        row.window_survival_estimate,
    ];
    for e in &row.lymphocytes {
        all.extend([e.survival, e.alpha_hit_survival]);
    }
    all.iter().flatten().filter(|e| e.too_wide).count()
}

/// One nuclide's transport and time step at the normalised amount.
struct Attempt {
    row: NuclideRow,
    r: crate::compute::RunResult,
    plan: Plan,
    tr: Vec<ComponentTransport>,
}

impl Run<'_> {
    /// The row of nuclide `i` (`later`: the nuclides still to run) at the scenario's decays;
    /// with `opts.converge`, while a survival figure of the row is flagged
    /// ([`flagged_figures`]) and the decays are below `transport.max_decays`, again from the
    /// start with twice the decays (at most the cap). The decision reads only the row, whose
    /// bytes do not depend on the thread count. A run again takes no part from the memo and
    /// gives none to it, so the other nuclides' transports are those without `converge`; the
    /// reference nuclide sets the normalisation again. Only the last run's warnings are kept.
    fn nuclide(
        &mut self,
        i: usize,
        later: &[usize],
        warnings: &mut Warnings<'_>,
    ) -> Result<NuclideRow> {
        let (first, max) = (self.base.transport.decays, self.base.transport.max_decays);
        let mut decays = first;
        loop {
            let mut quiet = Warnings {
                list: Vec::new(),
                ev: &|_| {},
            };
            let ev = warnings.ev;
            let a = if decays == first {
                self.attempt(i, (later, decays), ev, &mut quiet)?
            } else {
                let shared = std::mem::take(&mut self.memo.parts);
                let a = self.attempt(i, (later, decays), ev, &mut quiet);
                self.memo.parts = shared;
                a?
            };
            let flagged = flagged_figures(&a.row);
            if !(self.opts.converge && flagged > 0 && decays < max) {
                for w in quiet.list {
                    warnings.add(w);
                }
                return self.finish(i, a, warnings);
            }
            let next = decays.saturating_mul(2).min(max);
            (warnings.ev)(Event::Step(format!(
                "{}: {flagged} survival figure(s) too uncertain at {decays} decays: transported \
                 again with {next} (--converge)",
                self.nuc.names[i]
            )));
            if i == self.nuc.reference {
                self.target = None;
            }
            self.phantom = Some(a.plan.phantom);
            decays = next;
        }
    }

    /// Nuclide `i` at `decays` decays per part: its plan, its components transported (parts
    /// shared with other chains through the memo), the time step at the normalised amount.
    fn attempt(
        &mut self,
        i: usize,
        (later, decays): (&[usize], u64),
        ev: &dyn Fn(Event),
        warnings: &mut Warnings<'_>,
    ) -> Result<Attempt> {
        let nuc = self.nuc;
        let name = &nuc.names[i];
        let (scen, plan) = self.transport_plan(i, decays, warnings)?;
        let later: Vec<xfire_kinetics::Chain> =
            later.iter().map(|&j| nuc.chains[j].clone()).collect();
        ev(Event::Step(format!(
            "{name}: {} component(s): {}",
            plan.source.components().len(),
            plan.source
                .components()
                .iter()
                .map(|c| format!("{} @ {}", c.nuclide, c.site))
                .collect::<Vec<_>>()
                .join(", ")
        )));
        let (tr, tr_wall, reused) =
            transport_components(&plan, &self.physics, &mut self.memo, &later, self.topts)?;
        for n in tr
            .iter()
            .flat_map(|c| &c.parts)
            .filter_map(|p| p.cache_note.clone())
        {
            warnings.add(n);
        }
        let t_other = std::time::Instant::now();
        let k = nuclide::scale_factor(self.opts.normalise, name, &plan, &tr, &mut self.target)?;
        // the plan at the normalised amount (same phantom, same components); the rest of
        // the transport's plan (site maps, tally layout) is dropped here
        let (ph, pn) = plan.into_phantom();
        let plan = Plan::with_phantom(scaled_scenario(&scen, k), ph, pn)?;
        ev(Event::Step(format!("{name}: time step (scale {k:.6e})")));
        let r = compute(&plan, &tr)?;
        let step = nuclide::Step {
            name,
            chain: &nuc.chains[i],
            scale: k,
            plan: &plan,
            tr: &tr,
            reused: &reused,
            transport_wall_s: tr_wall,
        };
        let row = nuclide::row(&step, &r, warnings, t_other)?;
        Ok(Attempt { row, r, plan, tr })
    }

    /// What the last run of nuclide `i` leaves: its full output, the reference's dose slice,
    /// the radiobiology parameters; the large arrays freed and the phantom handed back.
    fn finish(
        &mut self,
        i: usize,
        mut a: Attempt,
        warnings: &mut Warnings<'_>,
    ) -> Result<NuclideRow> {
        let name = &self.nuc.names[i];
        if let Some(full) = &self.opts.full_output {
            let (_, notes) = crate::output::write_all(&full.join(name), &a.plan, &a.tr, &a.r)?;
            for n in notes {
                warnings.add(format!("{name}: {n}"));
            }
        }
        if i == self.nuc.reference {
            self.slice = nuclide::dose_slice(name, &a.plan, &a.r, &a.tr);
        }
        // free the large arrays before the next nuclide
        a.r.dose_maps.clear();
        drop(a.tr);
        if self.parameters.is_empty() {
            self.parameters = a.r.parameters.clone();
        }
        self.phantom = Some(a.plan.phantom);
        Ok(a.row)
    }

    /// The scenario of nuclide `i` and its plan for the transport, on the comparison's
    /// phantom; per-voxel doses only where the answer needs them: every voxel for the
    /// reference nuclide's dose slice and full output, the voxels the migrating lymphocytes
    /// may walk otherwise.
    fn transport_plan(
        &mut self,
        i: usize,
        decays: u64,
        warnings: &mut Warnings<'_>,
    ) -> Result<(Scenario, Plan)> {
        let (mut scen, dropped) = with_nuclide(self.base, &self.nuc.names[i])?;
        scen.transport.decays = decays;
        for n in dropped {
            warnings.add(n);
        }
        let ph = self.phantom.take().expect("phantom present");
        let mut plan = Plan::with_phantom(scen.clone(), ph, self.phantom_notes.clone())?;
        if i != self.nuc.reference && self.opts.full_output.is_none() {
            if scen.lymphocytes.migrating.is_some() {
                let w = self
                    .walk
                    .get_or_insert_with(|| Arc::new(walk_voxels(&plan.phantom)));
                plan.dose_voxels = Some(w.clone());
            } else {
                plan.layout.voxels = xfire_tally::VoxelTally::None;
            }
        }
        Ok((scen, plan))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{GROUP_LYMPHOCYTE, GROUP_MAP, GROUP_TUMOUR};
    use std::path::Path;
    use xfire_data::nuclides::{library, EmissionSampler};
    use xfire_tally::Scorer;
    use xfire_tally::SelfCellMean;
    use xfire_transport::{Emitter, Engine, Source, TransportSetup, Workspace};

    fn tiny() -> Scenario {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phantoms/tiny-lu177.toml");
        Scenario::from_file(&p).expect("tiny scenario")
    }

    /// Every recoil nucleus is deposited on the spot, in the decay's voxel: the site the
    /// engine gives `begin_history` must be that voxel, history by history (this is what
    /// attributes a deposit to the decay's own cell).
    #[test]
    fn the_decay_site_is_the_engines_decay_voxel() {
        struct Check {
            site: usize,
            seen: usize,
            bad: usize,
        }
        impl Scorer for Check {
            fn begin_history(&mut self, _: f64, site: usize) {
                self.site = site;
            }
            fn deposit(&mut self, _: usize, _: f64) {}
            fn deposit_local(&mut self, v: usize, _: f64, below_cutoff: bool) {
                if !below_cutoff {
                    self.seen += 1;
                    self.bad += usize::from(v != self.site);
                }
            }
            fn escape(&mut self, _: f64) {}
            fn photon_escape(&mut self, _: f64) {}
            fn end_history(&mut self) {}
        }
        let (s, _) = with_nuclide(&tiny(), "At-211").unwrap();
        let plan = Plan::new(s).unwrap();
        let physics =
            PhysicsTables::for_phantom(&plan.phantom, &xfire_data::materials::builtin, true)
                .unwrap();
        let nuc = library().resolve("At-211").unwrap();
        let sampler =
            EmissionSampler::new(nuc, Part::Alpha.set(plan.scenario.transport.recoil)).unwrap();
        let site = &plan.sites[0];
        let mut setup = TransportSetup::new(
            &plan.phantom,
            &physics,
            Source::Map(&site.map),
            Emitter::Nuclide(&sampler),
            300,
        );
        setup.seed = 99;
        let engine = Engine::new(&setup).unwrap();
        let mut ws = Workspace::new();
        let mut c = Check {
            site: usize::MAX,
            seen: 0,
            bad: 0,
        };
        let mut sites = std::collections::HashSet::new();
        for h in 0..300 {
            engine.history(h, &mut c, &mut ws);
            sites.insert(c.site);
        }
        // At-211 emits an α (and its recoil) in 42 % of its decays
        assert!(
            c.seen > 90 && c.seen < 170,
            "{} recoils in 300 decays",
            c.seen
        );
        assert_eq!(c.bad, 0);
        assert!(sites.len() > 100, "{} sites", sites.len());
    }

    /// Energy in the decay's own cell, per group, summed history by history.
    struct OwnCell<'a> {
        plan: &'a Plan,
        cell: u32,
        sums: [f64; 3],
    }

    impl Scorer for OwnCell<'_> {
        fn begin_history(&mut self, _: f64, site: usize) {
            self.cell = self.plan.phantom.cell_id[site];
        }
        fn deposit(&mut self, v: usize, e: f64) {
            if self.cell != 0 && self.plan.phantom.cell_id[v] == self.cell {
                self.sums[self.plan.layout.regions[GROUP_MAP].of_voxel.get(v) as usize] += e;
            }
        }
        fn deposit_local(&mut self, v: usize, e: f64, _: bool) {
            self.deposit(v, e);
        }
        fn escape(&mut self, _: f64) {}
        fn photon_escape(&mut self, _: f64) {}
        fn end_history(&mut self) {}
    }

    /// The run's self-cell tally (scored in its one pass) is the own-cell energy of the same
    /// decays summed directly from the engine's histories; it is a fraction of the group's
    /// energy, and it does not depend on the thread count.
    #[test]
    fn the_runs_self_cell_tally_is_the_own_cell_energy_of_its_decays() {
        let mut s = tiny();
        s.transport.decays = 1000;
        s.transport.batch_size = 100;
        s.transport.target_uncertainty = None;
        let plan = Plan::new(s).unwrap();
        let physics =
            crate::transport::physics_tables(&plan.phantom, &plan.scenario.transport).unwrap();
        let site = plan.sites[0].name.clone();
        let run = |threads: usize| {
            let opts = Options {
                threads,
                ..Options::default()
            };
            transport_part(&plan, &physics, "Lu-177", &site, Part::LowLet, &opts)
                .unwrap()
                .unwrap()
        };
        let (a, b) = (run(1), run(2));
        assert_eq!(a.tally.self_cell, b.tally.self_cell);
        let m = a.tally.self_cell_mean(GROUP_TUMOUR).unwrap();
        // the reference: the same histories through the engine, own-cell deposits summed
        let nuc = library().resolve("Lu-177").unwrap();
        let t = &plan.scenario.transport;
        let sampler = EmissionSampler::new(nuc, Part::LowLet.set(t.recoil)).unwrap();
        let map = &plan.site(&site).unwrap().map;
        let mut setup = TransportSetup::new(
            &plan.phantom,
            &physics,
            Source::Map(map),
            Emitter::Nuclide(&sampler),
            1000,
        );
        setup.seed = t.seed;
        setup.electron_model = t.electron_model();
        let engine = Engine::new(&setup).unwrap();
        let mut own = OwnCell {
            plan: &plan,
            cell: 0,
            sums: [0.0; 3],
        };
        let mut ws = Workspace::new();
        for h in 0..1000 {
            engine.history(h, &mut own, &mut ws);
        }
        let want = own.sums[GROUP_TUMOUR] / 1000.0;
        assert!(
            (m.self_mev - want).abs() <= 1e-9 * want,
            "{} vs {want}",
            m.self_mev
        );
        assert!(m.self_mev > 0.0 && m.self_mev < m.total_mev);
        assert!(m.var_self > 0.0 && m.cov > 0.0);
        // unlabelled lymphocytes: no self dose
        let l = a.tally.self_cell_mean(GROUP_LYMPHOCYTE).unwrap();
        assert_eq!((l.self_mev, own.sums[GROUP_LYMPHOCYTE]), (0.0, 0.0));
        let cf = crossfire_fraction(&[(m, 1.0)]).unwrap();
        assert!(cf.value > 0.0 && cf.value < 1.0 && cf.sigma > 0.0 && cf.sigma < 0.1);
    }

    #[test]
    fn crossfire_fraction_weights_components_by_decays() {
        let part = |s: f64, t: f64| SelfCellMean {
            self_mev: s,
            total_mev: t,
            ..SelfCellMean::default()
        };
        // component 1: all self; component 2: all cross, with 3× the decays and equal
        // energy per decay: cross-fire 3/4
        let f = crossfire_fraction(&[(part(0.5, 0.5), 1.0), (part(0.0, 0.5), 3.0)]).unwrap();
        assert!((f.value - 0.75).abs() < 1e-12);
        assert!(crossfire_fraction(&[(part(0.0, 0.0), 1.0)]).is_none());
    }

    /// `converge`: a nuclide with a flagged survival figure is transported again with twice
    /// the decays; its row is then byte for byte the row of a plain run at those decays,
    /// and the run at half of them had a flag.
    #[test]
    fn converge_reruns_a_flagged_nuclide_at_twice_the_decays() {
        let mut s = tiny();
        s.transport.decays = 200;
        s.transport.batch_size = 100;
        s.transport.max_decays = 800;
        let plain = |d: u64| {
            let mut s = s.clone();
            s.transport.decays = d;
            let opts = CompareOptions {
                nuclides: vec!["Lu-177".into()],
                ..CompareOptions::default()
            };
            compare(&s, &opts, &Options::default()).unwrap()
        };
        let opts = CompareOptions {
            nuclides: vec!["Lu-177".into()],
            converge: true,
            ..CompareOptions::default()
        };
        let c = compare(&s, &opts, &Options::default()).unwrap();
        let d = c.rows[0].components[0].transported_decays[0];
        assert!(d > 200, "the tiny case at 200 decays has a flagged figure");
        assert!(flagged_figures(&plain(d / 2).rows[0]) > 0);
        assert!(flagged_figures(&c.rows[0]) == 0 || d == 800);
        assert_eq!(comparison_csv(&c), comparison_csv(&plain(d)));
    }

    #[test]
    fn scaling_and_nuclide_swap() {
        let s = tiny();
        let AmountSpec::DecaysPerLabelledCell(d) = s.amount else {
            panic!("tiny gives decays")
        };
        let k = scaled_scenario(&s, 0.25);
        assert_eq!(k.amount, AmountSpec::DecaysPerLabelledCell(0.25 * d));
        let mut u = s.clone();
        u.amount = AmountSpec::UptakeFraction {
            fraction: 0.5,
            tumour_mass_g: 10.0,
        };
        let k = scaled_scenario(&u, 2.0);
        assert_eq!(
            k.amount, u.amount,
            "the fraction stays, the activity scales"
        );
        assert_eq!(
            k.regimen.activity_bq(None).unwrap(),
            2.0 * u.regimen.activity_bq(None).unwrap()
        );
        let (a, notes) = with_nuclide(&s, "225Ac").unwrap();
        assert_eq!(a.agent.nuclide, "Ac-225");
        assert!(notes.is_empty());
        assert_eq!(Normalise::parse("tumour_dose"), Ok(Normalise::TumourDose));
        assert!(Normalise::parse("dose-rate").is_err());
    }
}
