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
//!   1 − E_self / E_total, over all components weighted by their decays. The run's tallies
//!   do not know where a decay happened, so a separate "self-cell" transport of
//!   [`CompareOptions::crossfire_decays`] decays per component part (the same seed and
//!   history indices as the run, so the same decays) records, for every deposit, whether it
//!   lands in the cell its decay came from.
//! * **Dose-rate half-time** in the tumour: the time from the peak of the tumour-cell mean
//!   dose rate after the first administration to the moment it has fallen to half the peak
//!   (before the second administration; `None` if it does not fall that far by then).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use xfire_data::nuclides::{library, EmissionSampler};
use xfire_kinetics::dose_time::{
    dose_rate_at, dose_timeline, dose_total, settle_time_s, DoseField,
};
use xfire_kinetics::noise::SurvivalEstimate;
use xfire_kinetics::regimen::Amount;
use xfire_phantom::{AliasSampler, CellKind, Phantom};
use xfire_tally::{dose_gy, Scorer};
use xfire_transport::{
    region_masses_g, Emitter, Engine, PhysicsTables, Source, TransportSetup, Workspace,
};

use crate::compute::{compute, walk_voxels, RunResult};
use crate::plan::{Plan, GROUP_LYMPHOCYTE, GROUP_MAP, GROUP_TUMOUR};
use crate::spec::{AmountSpec, Scenario};
use crate::transport::{
    cache_key, transport_part, ComponentTransport, Options, Part, PartTransport,
};
use crate::{Result, ScenarioError};

mod report;
mod table;

pub use report::{write_outputs, write_report, Invocation};
pub use table::{comparison_csv, comparison_json, normalisation_text, text_table};

use xfire_core::constants::DAY_S as DAY;

/// The seven nuclides compared by default.
pub const DEFAULT_NUCLIDES: [&str; 7] = [
    "Lu-177", "Tb-161", "Ac-225", "Bi-213", "At-211", "Pb-212", "Ra-223",
];

fn failed(what: impl std::fmt::Display) -> ScenarioError {
    ScenarioError::Failed(what.to_string())
}

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
    /// Decays of the self-cell transport per component part for the cross-fire fraction
    /// (0: no cross-fire fraction) \[1\].
    pub crossfire_decays: u64,
    /// Write each nuclide's full run output (results.h5, summary, figures) under
    /// `DIR/NUCLIDE/`.
    pub full_output: Option<PathBuf>,
    /// Progress events.
    pub events: Option<EventFn>,
}

impl std::fmt::Debug for CompareOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompareOptions")
            .field("nuclides", &self.nuclides)
            .field("normalise", &self.normalise)
            .field("reference", &self.reference)
            .field("crossfire_decays", &self.crossfire_decays)
            .field("full_output", &self.full_output)
            .finish()
    }
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            nuclides: DEFAULT_NUCLIDES.iter().map(|s| s.to_string()).collect(),
            normalise: Normalise::TumourDose,
            reference: None,
            crossfire_decays: 20_000,
            full_output: None,
            events: None,
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

fn fmt_day(d: f64) -> String {
    if (d - d.round()).abs() < 1e-9 {
        format!("{}", d.round() as i64)
    } else {
        format!("{d:.2}")
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
    /// Decays of the self-cell transport per component part \[1\].
    pub crossfire_decays: u64,
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

/// Self-cell tally of one component part: absorbed energy in the tumour-cell and
/// lymphocyte voxels, all and from decays in the same cell.
#[derive(Debug, Clone, Copy, Default, Serialize, serde::Deserialize)]
pub struct SelfCell {
    /// Decays \[1\].
    pub decays: u64,
    /// Energy from decays in the same cell: tumour cells, lymphocytes \[MeV\].
    pub self_mev: [f64; 2],
    /// All energy: tumour cells, lymphocytes \[MeV\].
    pub total_mev: [f64; 2],
    /// Batch sums for the uncertainty: Σ s², Σ t², Σ s t over batches, per group \[MeV²\].
    pub s2: [f64; 2],
    /// Σ t² per group \[MeV²\].
    pub t2: [f64; 2],
    /// Σ s t per group \[MeV²\].
    pub st: [f64; 2],
    /// Number of batches \[1\].
    pub batches: u64,
}

/// Per-batch (self, total) energy of the two groups \[MeV\].
type BatchSums = ([f64; 2], [f64; 2]);

struct SelfScorer<'a> {
    group: &'a xfire_tally::RegionIndex,
    cell: &'a [u32],
    src: u32,
    self_mev: [f64; 2],
    total_mev: [f64; 2],
}

impl SelfScorer<'_> {
    #[inline]
    fn add(&mut self, v: usize, e: f64) {
        let g = self.group.get(v) as usize;
        let gi = if g == GROUP_TUMOUR {
            0
        } else if g == GROUP_LYMPHOCYTE {
            1
        } else {
            return;
        };
        self.total_mev[gi] += e;
        if self.src != 0 && self.cell[v] == self.src {
            self.self_mev[gi] += e;
        }
    }
}

impl Scorer for SelfScorer<'_> {
    fn begin_history(&mut self, _emitted_mev: f64) {}
    fn deposit(&mut self, voxel: usize, e_mev: f64) {
        self.add(voxel, e_mev);
    }
    fn deposit_local(&mut self, voxel: usize, e_mev: f64, _below_cutoff: bool) {
        self.add(voxel, e_mev);
    }
    fn escape(&mut self, _e_mev: f64) {}
    fn photon_escape(&mut self, _e_mev: f64) {}
    fn end_history(&mut self) {}
}

/// The voxel of history `history`'s decay, drawn as the transport engine draws it: the
/// first draws of the history's source stream pick a voxel of the source map by weight.
pub fn source_voxel(
    alias: &AliasSampler,
    grid: &xfire_phantom::Grid,
    seed: u64,
    history: u64,
) -> usize {
    let mut rng = xfire_core::rng::Rng::for_stream(seed, history, xfire_core::rng::STREAM_SOURCE);
    alias.sample_position(grid, &mut rng).1
}

/// The self-cell tally of `nuclide` (part `part`) decaying by `map` on `plan`'s phantom:
/// histories 0..`decays` with the scenario's seed and batch size, so the decays are those of
/// the run. The decay's voxel is drawn exactly as the engine draws it (the first draws of the
/// history's source stream), and every deposit is checked against the decay's cell.
/// Threads: `threads` (0: available parallelism); the result does not depend on them.
pub fn self_cell_tally(
    plan: &Plan,
    physics: &PhysicsTables,
    nuclide: &str,
    site: &str,
    part: Part,
    decays: u64,
    threads: usize,
) -> Result<Option<SelfCell>> {
    let nuc = library()
        .resolve(nuclide)
        .map_err(|e| failed(format!("nuclide {nuclide}: {e}")))?;
    let Ok(sampler) = EmissionSampler::new(nuc, part.set(plan.scenario.transport.recoil)) else {
        return Ok(None);
    };
    let sm = plan
        .site(site)
        .ok_or_else(|| failed(format!("no source map for site {site:?}")))?;
    let t = &plan.scenario.transport;
    let mut setup = TransportSetup::new(
        &plan.phantom,
        physics,
        Source::Map(&sm.map),
        Emitter::Nuclide(&sampler),
        decays,
    );
    setup.seed = t.seed;
    setup.batch_size = t.batch_size.max(1);
    setup.electron_model = t.electron_model();
    let engine = Engine::new(&setup).map_err(|e| failed(format!("self-cell tally: {e}")))?;
    let alias =
        AliasSampler::new(&sm.map.weight).map_err(|e| failed(format!("source map {site}: {e}")))?;
    let grid = &plan.phantom.grid;
    let group = &plan.layout.regions[GROUP_MAP].of_voxel;
    let cell = &plan.phantom.cell_id;
    let bs = setup.batch_size;
    let n_batches = decays.div_ceil(bs) as usize;
    let threads = if threads > 0 {
        threads
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
    .clamp(1, n_batches.max(1));
    let seed = t.seed;
    let run_batch = |b: usize, ws: &mut Workspace| -> ([f64; 2], [f64; 2]) {
        let mut sc = SelfScorer {
            group,
            cell,
            src: 0,
            self_mev: [0.0; 2],
            total_mev: [0.0; 2],
        };
        let h0 = b as u64 * bs;
        let h1 = (h0 + bs).min(decays);
        for h in h0..h1 {
            sc.src = cell[source_voxel(&alias, grid, seed, h)];
            engine.history(h, &mut sc, ws);
        }
        (sc.self_mev, sc.total_mev)
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done: Vec<Vec<(usize, BatchSums)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut ws = Workspace::new();
                    let mut mine = Vec::new();
                    loop {
                        let b = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if b >= n_batches {
                            break;
                        }
                        mine.push((b, run_batch(b, &mut ws)));
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    // reduce in batch order: the result does not depend on the thread count
    let mut per_batch: Vec<BatchSums> = vec![([0.0; 2], [0.0; 2]); n_batches];
    let mut seen = 0usize;
    for (b, r) in done.into_iter().flatten() {
        per_batch[b] = r;
        seen += 1;
    }
    if seen != n_batches {
        return Err(failed(format!(
            "self-cell tally of {nuclide} @ {site}: a worker thread failed"
        )));
    }
    let mut out = SelfCell {
        decays,
        batches: n_batches as u64,
        ..SelfCell::default()
    };
    for (s, t) in &per_batch {
        for g in 0..2 {
            out.self_mev[g] += s[g];
            out.total_mev[g] += t[g];
            out.s2[g] += s[g] * s[g];
            out.t2[g] += t[g] * t[g];
            out.st[g] += s[g] * t[g];
        }
    }
    Ok(Some(out))
}

/// Cross-fire fraction of group `g` (0 tumour cells, 1 lymphocytes) from self-cell tallies
/// `(tally, weight)`, weight = decays of the component over the treatment; None without
/// energy. σ from the batch spread (delta method on the ratio).
pub fn crossfire_fraction(parts: &[(SelfCell, f64)], g: usize) -> Option<WithSigma> {
    let (mut s, mut t, mut vs, mut vt, mut cst) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (p, w) in parts {
        if p.decays == 0 {
            continue;
        }
        let k = w / p.decays as f64;
        s += k * p.self_mev[g];
        t += k * p.total_mev[g];
        let nb = p.batches as f64;
        if nb > 1.0 {
            // variance of a sum of nb batch values: nb/(nb-1) Σ (x - x̄)²
            let var = |x2: f64, x: f64, y: f64| (x2 - x * y / nb) * nb / (nb - 1.0);
            vs += k * k * var(p.s2[g], p.self_mev[g], p.self_mev[g]);
            vt += k * k * var(p.t2[g], p.total_mev[g], p.total_mev[g]);
            cst += k * k * var(p.st[g], p.self_mev[g], p.total_mev[g]);
        }
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

/// Dose per decay of every component to the "group" regions (other, tumour cells,
/// lymphocytes), as the time step computes it.
fn group_field(plan: &Plan, tr: &[ComponentTransport]) -> Result<DoseField> {
    let masses = region_masses_g(&plan.phantom, &plan.layout.regions[GROUP_MAP]);
    let mut out = [Vec::new(), Vec::new()];
    for c in tr {
        for (pi, part) in [Part::LowLet, Part::Alpha].into_iter().enumerate() {
            let v: Vec<f64> = match c.part(part) {
                Some(t) => (0..masses.len())
                    .map(|r| {
                        if masses[r] > 0.0 {
                            dose_gy(t.region_mean_mev(GROUP_MAP, r), masses[r])
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
    let [low, alpha] = out;
    DoseField::new(low, alpha).map_err(|e| failed(format!("group dose field: {e}")))
}

/// Mean tumour-cell absorbed dose over the whole treatment \[Gy\], as the time step computes it.
fn tumour_dose_gy(plan: &Plan, tr: &[ComponentTransport]) -> Result<f64> {
    let f = group_field(plan, tr)?;
    let d =
        dose_total(plan.source.evolution(), &f).map_err(|e| failed(format!("tumour dose: {e}")))?;
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
    let chain = xfire_kinetics::Chain::from_library(nuclide)
        .map_err(|e| failed(format!("nuclide {nuclide}: {e}")))?;
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

fn alpha_emitter(chain: &xfire_kinetics::Chain) -> bool {
    chain.members().iter().any(|m| {
        !m.is_stable()
            && library()
                .resolve(&m.nuclide)
                .is_ok_and(|n| !n.alpha.is_empty())
    })
}

/// Tumour-cell dose rate: peak after the first administration \[Gy/s\], its time after the
/// first administration \[s\], and the time from the peak to half the peak \[s\].
fn dose_rate_half_time(plan: &Plan, field: &DoseField) -> Result<(f64, f64, Option<f64>)> {
    let src = &plan.source;
    let ev = src.evolution();
    let adm = src.administrations();
    let first = ev.first_time_s().unwrap_or(0.0);
    let end = settle_time_s(ev, 1e-4).map_err(|e| failed(format!("end of treatment: {e}")))?;
    let horizon = adm
        .iter()
        .map(|a| a.time_s)
        .find(|&t| t > first)
        .unwrap_or(end)
        .min(end.max(first + 1.0));
    let span = (horizon - first).max(1.0);
    let rate = |tau: f64| -> Result<f64> {
        let r =
            dose_rate_at(ev, field, first + tau).map_err(|e| failed(format!("dose rate: {e}")))?;
        Ok(r.low_let[GROUP_TUMOUR] + r.alpha[GROUP_TUMOUR])
    };
    // log grid from 1 s to the horizon (just before it)
    let n = 400;
    let lo = 1.0f64.ln();
    let hi = (span * (1.0 - 1e-9)).ln();
    let taus: Vec<f64> = (0..=n)
        .map(|i| (lo + (hi - lo) * f64::from(i) / f64::from(n)).exp())
        .collect();
    let tl = dose_timeline(
        ev,
        field,
        &taus.iter().map(|t| first + t).collect::<Vec<_>>(),
    )
    .map_err(|e| failed(format!("dose rate timeline: {e}")))?;
    let rates: Vec<f64> = tl
        .rate
        .iter()
        .map(|r| r.low_let[GROUP_TUMOUR] + r.alpha[GROUP_TUMOUR])
        .collect();
    let (mut ip, mut peak) = (0usize, rates[0]);
    for (i, &r) in rates.iter().enumerate() {
        if r > peak {
            ip = i;
            peak = r;
        }
    }
    // refine the peak by golden-section search on the bracketing grid points
    let (mut a, mut b) = (
        taus[ip.saturating_sub(1)],
        taus[(ip + 1).min(taus.len() - 1)],
    );
    let g = 0.5 * (5f64.sqrt() - 1.0);
    for _ in 0..60 {
        let c = b - g * (b - a);
        let d = a + g * (b - a);
        if rate(c)? >= rate(d)? {
            b = d;
        } else {
            a = c;
        }
    }
    let tp = 0.5 * (a + b);
    let rp = rate(tp)?;
    let (tp, peak) = if rp >= peak {
        (tp, rp)
    } else {
        (taus[ip], peak)
    };
    if peak <= 0.0 {
        return Ok((0.0, tp, None));
    }
    let half = 0.5 * peak;
    let Some(j) = (0..taus.len()).find(|&j| taus[j] > tp && rates[j] <= half) else {
        return Ok((peak, tp, None));
    };
    let (mut a, mut b) = (taus[j - 1].max(tp), taus[j]);
    for _ in 0..80 {
        let m = 0.5 * (a + b);
        if rate(m)? > half {
            a = m;
        } else {
            b = m;
        }
    }
    Ok((peak, tp, Some(0.5 * (a + b) - tp)))
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

fn selfcell_cached(
    plan: &Plan,
    physics: &PhysicsTables,
    nuclide: &str,
    site: &str,
    part: Part,
    decays: u64,
    opts: &Options,
) -> Result<Option<SelfCell>> {
    let file = match &opts.cache_dir {
        Some(d) => {
            let nuc = library()
                .resolve(nuclide)
                .map_err(|e| failed(format!("nuclide {nuclide}: {e}")))?;
            let Ok(sampler) = EmissionSampler::new(nuc, part.set(plan.scenario.transport.recoil))
            else {
                return Ok(None);
            };
            let sm = plan
                .site(site)
                .ok_or_else(|| failed(format!("no source map for site {site:?}")))?;
            let mut setup = TransportSetup::new(
                &plan.phantom,
                physics,
                Source::Map(&sm.map),
                Emitter::Nuclide(&sampler),
                decays,
            );
            setup.electron_model = plan.scenario.transport.electron_model();
            let key = cache_key(plan, nuclide, site, part, &setup);
            let clean = |s: &str| -> String {
                s.chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '-' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect()
            };
            Some(d.join(format!(
                "{}_{}_{}_{key}_selfcell{decays}.json",
                clean(nuclide),
                clean(site),
                part.name()
            )))
        }
        None => None,
    };
    if let Some(f) = &file {
        if let Ok(text) = std::fs::read_to_string(f) {
            if let Ok(s) = serde_json::from_str::<SelfCell>(&text) {
                if s.decays == decays {
                    return Ok(Some(s));
                }
            }
        }
    }
    let r = self_cell_tally(plan, physics, nuclide, site, part, decays, opts.threads)?;
    if let (Some(f), Some(s)) = (&file, &r) {
        if let Some(d) = f.parent() {
            let _ = std::fs::create_dir_all(d);
        }
        let text = serde_json::to_string(s).map_err(|e| failed(e.to_string()))?;
        let _ = xfire_io::fsutil::write_atomic(f, text.as_bytes()); // a cache: best effort
    }
    Ok(r)
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

/// Run the comparison. `base` is the scenario as read; `topts` the transport options
/// (threads, cache, progress).
pub fn compare(base: &Scenario, opts: &CompareOptions, topts: &Options) -> Result<Comparison> {
    let start = std::time::Instant::now();
    let ev = |e: Event| {
        if let Some(f) = &opts.events {
            f(&e);
        }
    };
    if opts.nuclides.is_empty() {
        return Err(failed("compare: no nuclides given"));
    }
    // resolve names and chains up front: every bad name at once
    let mut chains = Vec::new();
    let mut bad = Vec::new();
    for n in &opts.nuclides {
        match xfire_kinetics::Chain::from_library(n) {
            Ok(c) => chains.push(c),
            Err(e) => bad.push(format!("{n}: {e}")),
        }
    }
    if !bad.is_empty() {
        return Err(failed(format!("unknown nuclide(s): {}", bad.join("; "))));
    }
    let names: Vec<String> = chains
        .iter()
        .map(|c| c.members()[0].nuclide.clone())
        .collect();
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(failed(format!("nuclide {n} is listed twice")));
        }
    }
    let reference = match &opts.reference {
        None => names[0].clone(),
        Some(r) => {
            let c = xfire_kinetics::Chain::from_library(r)
                .map_err(|e| failed(format!("reference nuclide {r}: {e}")))?;
            let n = c.members()[0].nuclide.clone();
            if !names.contains(&n) {
                return Err(failed(format!(
                    "the reference nuclide {n} is not among the compared nuclides"
                )));
            }
            n
        }
    };
    if opts.normalise == Normalise::Activity
        && matches!(base.amount, AmountSpec::DecaysPerLabelledCell(_))
    {
        return Err(failed(
            "--normalise activity needs the scenario's amount as an activity \
             (kinetics.uptake_fraction or kinetics.activity_concentration), not decays_per_labelled_cell",
        ));
    }
    // order: the reference first (its amount sets the target), results in the order asked
    let ref_idx = names.iter().position(|n| *n == reference).expect("present");
    let mut order: Vec<usize> = vec![ref_idx];
    order.extend((0..names.len()).filter(|&i| i != ref_idx));

    // the cache keeps region tallies only (unless every nuclide's full output is written):
    // per-voxel sums of every chain member would be most of the disk a comparison uses
    let mut topts = topts.clone();
    topts.cache_regions_only |= opts.full_output.is_none();
    let topts = &topts;
    let (phantom, phantom_notes) = crate::plan::load_phantom(base)?;
    // with [phantom.lesion], tables for the nested micro phantom (the lesion's materials added)
    let physics = match &base.lesion {
        Some(l) => {
            let n = crate::lesion::nest(l, phantom.clone(), "<scenario>")?;
            crate::transport::physics_tables(&n.micro, &base.transport)?
        }
        None => crate::transport::physics_tables(&phantom, &base.transport)?,
    };
    let mut phantom: Option<Phantom> = Some(phantom);
    let mut memo = Memo {
        parts: HashMap::new(),
    };
    let mut target: Option<f64> = None;
    let mut rows: Vec<Option<NuclideRow>> = vec![None; names.len()];
    let mut warnings: Vec<String> = Vec::new();
    let warn = |w: String, warnings: &mut Vec<String>| {
        if !warnings.contains(&w) {
            ev(Event::Warning(w.clone()));
            warnings.push(w);
        }
    };
    let mut slice = None;
    let mut parameters = Vec::new();
    // the voxels the migrating lymphocytes may walk (the same phantom for every nuclide)
    let mut walk = None;
    for (step, &i) in order.iter().enumerate() {
        let name = &names[i];
        ev(Event::Nuclide {
            index: step,
            total: names.len(),
            nuclide: name.clone(),
        });
        let (scen, dropped) = with_nuclide(base, name)?;
        for n in dropped {
            warn(n, &mut warnings);
        }
        let ph = phantom.take().expect("phantom present");
        let mut plan = Plan::with_phantom(scen.clone(), ph, phantom_notes.clone())?;
        // per-voxel doses only where the answer needs them: every voxel for the reference
        // nuclide's dose slice and full output, the voxels the migrating lymphocytes may
        // walk otherwise
        if i != ref_idx && opts.full_output.is_none() {
            if scen.lymphocytes.migrating.is_some() {
                let w = walk.get_or_insert_with(|| Arc::new(walk_voxels(&plan.phantom)));
                plan.dose_voxels = Some(w.clone());
            } else {
                plan.layout.voxels = xfire_tally::VoxelTally::None;
            }
        }
        let later: Vec<xfire_kinetics::Chain> = order[step + 1..]
            .iter()
            .map(|&j| chains[j].clone())
            .collect();
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
            transport_components(&plan, &physics, &mut memo, &later, topts)?;
        for n in tr
            .iter()
            .flat_map(|c| &c.parts)
            .filter_map(|p| p.cache_note.clone())
        {
            warn(n, &mut warnings);
        }
        let t_other = std::time::Instant::now();
        // the scale factor
        let d1 = tumour_dose_gy(&plan, &tr)?;
        let p1 = parent_decays(&plan);
        let k = match opts.normalise {
            Normalise::Activity => 1.0,
            Normalise::TumourDose => {
                if d1.is_nan() || d1 <= 0.0 {
                    return Err(failed(format!(
                        "{name}: no dose to the tumour cells, so it cannot be normalised to equal tumour dose"
                    )));
                }
                let t = *target.get_or_insert(d1);
                t / d1
            }
            Normalise::Decays => {
                if p1.is_nan() || p1 <= 0.0 {
                    return Err(failed(format!("{name}: no parent decays in the phantom")));
                }
                let t = *target.get_or_insert(p1);
                t / p1
            }
        };
        if opts.normalise == Normalise::Activity {
            target.get_or_insert(
                plan.source
                    .administrations()
                    .first()
                    .map_or(0.0, |a| a.activity_bq),
            );
        }
        // the plan at the normalised amount (same phantom, same components); the rest of
        // the transport's plan (site maps, tally layout) is dropped here
        let (ph, pn) = plan.into_phantom();
        let plan = Plan::with_phantom(scaled_scenario(&scen, k), ph, pn)?;
        ev(Event::Step(format!("{name}: time step (scale {k:.6e})")));
        let mut r = compute(&plan, &tr)?;
        // cross-fire: self-cell tallies
        let mut cf_parts: Vec<(SelfCell, f64)> = Vec::new();
        if opts.crossfire_decays > 0 {
            ev(Event::Step(format!(
                "{name}: self-cell tally ({} decays per part)",
                opts.crossfire_decays
            )));
            let totals = plan.source.total_decays();
            for (ci, c) in plan.source.components().iter().enumerate() {
                for part in [Part::LowLet, Part::Alpha] {
                    if let Some(s) = selfcell_cached(
                        &plan,
                        &physics,
                        &c.nuclide,
                        &c.site,
                        part,
                        opts.crossfire_decays,
                        topts,
                    )? {
                        cf_parts.push((s, totals[ci]));
                    }
                }
            }
        }
        let field = group_field(&plan, &tr)?;
        let (peak, tpeak, half) = dose_rate_half_time(&plan, &field)?;
        // curves for figures
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
        let tl = dose_timeline(ev_, &field, &abs)
            .map_err(|e| failed(format!("dose-rate curve: {e}")))?;
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
            &field,
            &cum_taus.iter().map(|t| first + t).collect::<Vec<_>>(),
        )
        .map_err(|e| failed(format!("cumulative-dose curve: {e}")))?;
        let cum_of = |g: usize| -> Vec<f64> {
            ctl.cumulative
                .iter()
                .map(|x| x.low_let[g] + x.alpha[g])
                .collect()
        };
        let cum = (
            cum_taus.iter().map(|t| t / DAY).collect(),
            [cum_of(GROUP_TUMOUR), cum_of(GROUP_LYMPHOCYTE)],
        );
        let pick = |kind: u16| -> Vec<f64> {
            r.cells
                .kind
                .iter()
                .zip(&r.cells.dose_gy)
                .filter(|(kk, _)| **kk == kind)
                .map(|(_, d)| *d)
                .collect()
        };
        let cell_doses = (pick(CellKind::TUMOUR.0), pick(CellKind::LYMPHOCYTE.0));
        let (surv, window) = match &r.window {
            Some(w) => (
                (
                    w.days.iter().map(|d| d.day).collect(),
                    w.days.iter().map(|d| d.surviving_fraction).collect(),
                ),
                Some(w),
            ),
            None => ((vec![], vec![]), None),
        };
        if let Some(full) = &opts.full_output {
            let dir = full.join(name);
            let (_, notes) = crate::output::write_all(&dir, &plan, &tr, &r)?;
            for n in notes {
                warn(format!("{name}: {n}"), &mut warnings);
            }
        }
        if i == ref_idx {
            if let Some(total) = r.dose_maps.total_map(&tr) {
                let g = &plan.phantom.grid;
                let kz = g.nz / 2;
                let idx: Vec<usize> = (0..g.ny)
                    .flat_map(|j| (0..g.nx).map(move |ii| (ii, j)))
                    .map(|(ii, j)| g.index(ii, j, kz))
                    .collect();
                slice = Some(SliceData {
                    nuclide: name.clone(),
                    nx: g.nx,
                    ny: g.ny,
                    voxel_um: (g.voxel_cm[0] * 1e4, g.voxel_cm[1] * 1e4),
                    dose_gy: idx.iter().map(|&v| f64::from(total[v])).collect(),
                    cell_id: idx.iter().map(|&v| plan.phantom.cell_id[v]).collect(),
                });
            }
        }
        // combined relative uncertainty of the tumour dose: Σ over component parts of
        // (dose share × relative uncertainty) in quadrature
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
        let tumour_rel_unc = if dsum > 0.0 {
            var.sqrt() / dsum
        } else {
            f64::NAN
        };
        if let Some(target_u) = plan.scenario.transport.target_uncertainty {
            if tumour_rel_unc > target_u {
                warn(
                    format!(
                        "{name}: tumour-cell dose uncertainty {:.2} % (all components), above the target {:.2} %: raise --max-decays",
                        100.0 * tumour_rel_unc,
                        100.0 * target_u
                    ),
                    &mut warnings,
                );
            }
        }
        for n in &r.notes {
            warn(n.clone(), &mut warnings);
        }
        let windows: Vec<WindowRun> = window.map_or(Vec::new(), |w| {
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
        });
        let window_day = window.and_then(|w| w.earliest_day);
        let window_end = window.and_then(crate::output::window_end);
        let window_survival_estimate = window.and_then(|w| {
            w.earliest_day.and_then(|d| {
                w.days
                    .iter()
                    .find(|x| x.day == d)
                    .map(|x| x.survival_estimate)
            })
        });
        let window_survival = window_survival_estimate.map(|e| e.value);
        let components = r
            .components
            .iter()
            .zip(&reused)
            .map(|(c, &ru)| ComponentRow {
                nuclide: c.nuclide.clone(),
                site: c.site.clone(),
                total_decays: c.total_decays,
                transported_decays: c.transported_decays,
                tumour_rel_unc: c.tumour_rel_unc,
                reused: ru,
            })
            .collect();
        let row = NuclideRow {
            nuclide: name.clone(),
            half_life_s: chains[i].members()[0].half_life_s(),
            alpha_emitter: alpha_emitter(&chains[i]),
            scale: k,
            activity_per_administration_bq: r.administrations.first().map_or(0.0, |a| a.1),
            administrations: r.administrations.len(),
            parent_decays: parent_decays(&plan),
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
            lymphocytes: exposure_rows(&r),
            tumour_to_lymphocyte: r.tumour_to_lymphocyte_ratio,
            crossfire_tumour: crossfire_fraction(&cf_parts, 0),
            crossfire_lymphocyte: crossfire_fraction(&cf_parts, 1),
            peak_dose_rate_gy_per_h: peak * 3600.0,
            peak_time_h: tpeak / 3600.0,
            dose_rate_half_time_h: half.map(|h| h / 3600.0),
            survival_target: window.map_or(plan.scenario.radiobiology.survival_target, |w| {
                w.survival_target
            }),
            window_day,
            window_survival,
            window_survival_estimate,
            window_tumour_dose_fraction: window.and_then(|w| w.tumour_dose_fraction_at_earliest),
            window_end_day: window_end.map(|e| e.0),
            window_open_at_scan_end: window_end.is_some_and(|e| e.1),
            windows,
            components,
            transport_wall_s: tr_wall,
            other_wall_s: t_other.elapsed().as_secs_f64(),
            notes: r.notes.clone(),
            curves: NuclideCurves {
                survival: surv,
                rate: (taus.iter().map(|t| t / DAY).collect(), rate_curves),
                cumulative: cum,
                cell_doses,
            },
        };
        // free the large arrays before the next nuclide
        r.dose_maps.clear();
        drop(tr);
        rows[i] = Some(row);
        if parameters.is_empty() {
            parameters = r.parameters.clone();
        }
        phantom = Some(plan.phantom);
    }
    Ok(Comparison {
        description: base.description.clone(),
        scenario: base.path.as_ref().map(|p| p.display().to_string()),
        scenario_nuclide: base.agent.nuclide.clone(),
        binding: base.agent.binding.clone(),
        normalise: opts.normalise,
        reference,
        normalised_value: target.unwrap_or(f64::NAN),
        seed: base.transport.seed,
        crossfire_decays: opts.crossfire_decays,
        residence_d: base.lymphocytes.residence_s / DAY,
        parameters,
        rows: rows
            .into_iter()
            .map(|r| r.expect("every nuclide ran"))
            .collect(),
        warnings,
        wall_s: start.elapsed().as_secs_f64(),
        slice,
    })
}

/// Thin a curve for drawing: Ramer–Douglas–Peucker in plot coordinates (x scaled to 1000
/// units over its range, y to 600 units over its range, or 100 units per decade over the 6
/// decades below the maximum with `log_y`), keeping every point that deviates by more than
/// `tol` units from the simplified line. Fewer, longer segments draw as clean lines.
pub fn thin_curve(xs: &[f64], ys: &[f64], log_y: bool, tol: f64) -> (Vec<f64>, Vec<f64>) {
    let n = xs.len().min(ys.len());
    if n <= 2 {
        return (xs[..n].to_vec(), ys[..n].to_vec());
    }
    let fin = |v: &&f64| v.is_finite();
    let x0 = xs[..n]
        .iter()
        .filter(fin)
        .fold(f64::INFINITY, |a, &v| a.min(v));
    let x1 = xs[..n]
        .iter()
        .filter(fin)
        .fold(f64::NEG_INFINITY, |a, &v| a.max(v));
    let ymax = ys[..n]
        .iter()
        .filter(fin)
        .fold(f64::NEG_INFINITY, |a, &v| a.max(v));
    let ymin = ys[..n]
        .iter()
        .filter(fin)
        .fold(f64::INFINITY, |a, &v| a.min(v));
    let sx = if x1 > x0 { 1000.0 / (x1 - x0) } else { 1.0 };
    let floor = ymax * 1e-6;
    let ty = |y: f64| -> f64 {
        if log_y {
            if y > floor && floor > 0.0 {
                (y / floor).log10() * 100.0
            } else {
                0.0
            }
        } else if ymax > ymin {
            (y - ymin) * 600.0 / (ymax - ymin)
        } else {
            0.0
        }
    };
    let pts: Vec<(f64, f64)> = (0..n).map(|i| ((xs[i] - x0) * sx, ty(ys[i]))).collect();
    if pts.iter().any(|p| !p.0.is_finite() || !p.1.is_finite()) {
        return (xs[..n].to_vec(), ys[..n].to_vec());
    }
    let mut keep = vec![false; n];
    keep[0] = true;
    keep[n - 1] = true;
    let mut stack = vec![(0usize, n - 1)];
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let (pa, pb) = (pts[a], pts[b]);
        let (dx, dy) = (pb.0 - pa.0, pb.1 - pa.1);
        let len = (dx * dx + dy * dy).sqrt();
        let (mut best, mut bi) = (-1.0, a);
        for (i, p) in pts.iter().enumerate().take(b).skip(a + 1) {
            let d = if len > 0.0 {
                ((p.0 - pa.0) * dy - (p.1 - pa.1) * dx).abs() / len
            } else {
                ((p.0 - pa.0).powi(2) + (p.1 - pa.1).powi(2)).sqrt()
            };
            if d > best {
                best = d;
                bi = i;
            }
        }
        if best > tol {
            keep[bi] = true;
            stack.push((a, bi));
            stack.push((bi, b));
        }
    }
    (0..n).filter(|&i| keep[i]).map(|i| (xs[i], ys[i])).unzip()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn tiny() -> Scenario {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phantoms/tiny-lu177.toml");
        Scenario::from_file(&p).expect("tiny scenario")
    }

    /// Every recoil nucleus is deposited on the spot, in the decay's voxel: the voxel that
    /// [`source_voxel`] computes must be the one the engine deposits recoils in, history by
    /// history (this is what attributes a deposit to the decay's own cell).
    #[test]
    fn source_voxel_is_the_engines_decay_voxel() {
        struct Check {
            want: usize,
            seen: usize,
            bad: usize,
        }
        impl Scorer for Check {
            fn begin_history(&mut self, _: f64) {}
            fn deposit(&mut self, _: usize, _: f64) {}
            fn deposit_local(&mut self, v: usize, _: f64, below_cutoff: bool) {
                if !below_cutoff {
                    self.seen += 1;
                    self.bad += usize::from(v != self.want);
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
        let alias = AliasSampler::new(&site.map.weight).unwrap();
        let mut ws = Workspace::new();
        let mut c = Check {
            want: 0,
            seen: 0,
            bad: 0,
        };
        for h in 0..300 {
            c.want = source_voxel(&alias, &plan.phantom.grid, 99, h);
            engine.history(h, &mut c, &mut ws);
        }
        // At-211 emits an α (and its recoil) in 42 % of its decays
        assert!(
            c.seen > 90 && c.seen < 170,
            "{} recoils in 300 decays",
            c.seen
        );
        assert_eq!(c.bad, 0);
    }

    /// The self-cell tally's total tumour-cell energy is the run's tally of the same decays;
    /// the self part is a fraction of it; the result is independent of the thread count.
    #[test]
    fn self_cell_tally_matches_the_run_and_threads() {
        let mut s = tiny();
        s.transport.decays = 1000;
        s.transport.batch_size = 100;
        s.transport.target_uncertainty = None;
        let plan = Plan::new(s).unwrap();
        let physics =
            crate::transport::physics_tables(&plan.phantom, &plan.scenario.transport).unwrap();
        let site = plan.sites[0].name.clone();
        let a = self_cell_tally(&plan, &physics, "Lu-177", &site, Part::LowLet, 1000, 1)
            .unwrap()
            .unwrap();
        let b = self_cell_tally(&plan, &physics, "Lu-177", &site, Part::LowLet, 1000, 2)
            .unwrap()
            .unwrap();
        assert_eq!(a.self_mev, b.self_mev);
        assert_eq!(a.total_mev, b.total_mev);
        assert_eq!(a.batches, 10);
        let run = transport_part(
            &plan,
            &physics,
            "Lu-177",
            &site,
            Part::LowLet,
            &Options::default(),
        )
        .unwrap()
        .unwrap();
        let e_run = run.tally.region_mean_mev(GROUP_MAP, GROUP_TUMOUR) * run.tally.decays as f64;
        assert!(
            (a.total_mev[0] - e_run).abs() <= 1e-9 * e_run,
            "{} vs {e_run}",
            a.total_mev[0]
        );
        assert!(a.self_mev[0] > 0.0 && a.self_mev[0] < a.total_mev[0]);
        // unlabelled lymphocytes: no self dose
        assert_eq!(a.self_mev[1], 0.0);
        let cf = crossfire_fraction(&[(a, 1.0)], 0).unwrap();
        assert!(cf.value > 0.0 && cf.value < 1.0 && cf.sigma > 0.0 && cf.sigma < 0.1);
    }

    #[test]
    fn crossfire_fraction_weights_components_by_decays() {
        let part = |s: f64, t: f64| SelfCell {
            decays: 10,
            self_mev: [s, 0.0],
            total_mev: [t, 0.0],
            batches: 1,
            ..SelfCell::default()
        };
        // component 1: all self; component 2: all cross, with 3× the decays and equal
        // energy per decay: cross-fire 3/4
        let f = crossfire_fraction(&[(part(5.0, 5.0), 1.0), (part(0.0, 5.0), 3.0)], 0).unwrap();
        assert!((f.value - 0.75).abs() < 1e-12);
        assert!(crossfire_fraction(&[(part(0.0, 0.0), 1.0)], 0).is_none());
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

    #[test]
    fn thin_curve_keeps_shape_drops_collinear_points() {
        let xs: Vec<f64> = (0..=1000).map(f64::from).collect();
        let line: Vec<f64> = xs.iter().map(|x| 2.0 * x + 1.0).collect();
        let (tx, ty) = thin_curve(&xs, &line, false, 0.4);
        assert_eq!((tx.len(), ty.len()), (2, 2));
        let exp: Vec<f64> = xs.iter().map(|x| (-x / 100.0).exp()).collect();
        let (tx, ty) = thin_curve(&xs, &exp, true, 0.4);
        assert!(tx.len() <= 3, "an exponential is a line on a log axis");
        let step: Vec<f64> = xs
            .iter()
            .map(|&x| if x < 500.0 { 0.0 } else { 1.0 })
            .collect();
        let (tx, _) = thin_curve(&xs, &step, false, 0.4);
        assert!(tx.contains(&499.0) && tx.contains(&500.0));
        assert_eq!(ty.first(), exp.first());
    }
}
