//! (c) Migrating lymphocytes: persistent random walks through the time-dependent dose-rate
//! field, with the dose integrated along each path.
//!
//! The grid is abstract ([`WalkGrid`]): dimensions, voxel size, which voxels a lymphocyte
//! may enter (e.g. stroma and tumour), entry voxels (vessels or the rim), and the dose per
//! decay of every component in every voxel, so that the dose rate in voxel v is
//! Σ_c d_c\[v\] Ṅ_c(t). [`VoxelWalkGrid`] is a plain implementation; the phantom crate can
//! implement the trait on its own grid.
//!
//! **Walk.** Time advances in fixed steps Δt (default min(P/4, min voxel edge/(2v))). A
//! walker starts at a uniformly random point of a random entry voxel at t_in and moves at
//! speed v along its direction; at the start of every step it keeps its direction with
//! probability e^{−Δt/P} (P the persistence time) and otherwise draws a new isotropic one
//! (so the velocity autocorrelation is v² e^{−t/P} at step times). A step that would leave
//! the grid or enter a forbidden voxel is retried with new isotropic directions (up to 16);
//! if every try fails the walker stays for that step. Dose in step k is Σ_c d_c\[v_k\] ΔN_c,k
//! with v_k the voxel at the step's midpoint and ΔN_c,k the exact decays of component c in
//! the step; the step's mean dose rate forms a piecewise-constant history for the G factor.
//! Random numbers: `Rng::for_stream(seed, walker, STREAM_KINETICS)`, so every walker's path
//! is reproducible alone.
//!
//! **Defaults** (refdata biology-numbers.md §2): speed 10 µm/min (agent-based model default
//! for PD-1⁻ T cells citing Boissonnas 2007; grade B), persistence 3 min (lymph-node T-cell
//! random walk, 2–5 min; grade B, weak). Tumour-core speeds of 2–5 µm/min are grade C.

use xfire_core::rng::{Rng, STREAM_KINETICS};

use crate::compartments::Evolution;
use crate::dose_time::{SplitDose, TargetProtraction};
use crate::error::{finite, positive, KResult, KineticsError};
use crate::lymphocytes::{Cohort, Distribution, Exposure};
use crate::noise::SurvivalEstimate;
use crate::radiobiology::{protraction, DoseRatePiece, Grade, LqParameters, Protraction};
use crate::walknoise::{path_covariance, PathAccumulator, PathErrors, WalkerSurvival};

/// A voxel grid a lymphocyte can walk on. Voxel index = x + nx (y + ny z).
pub trait WalkGrid: Sync {
    /// Number of voxels along x, y, z.
    fn dims(&self) -> [usize; 3];
    /// Voxel edge lengths \[cm\].
    fn voxel_size_cm(&self) -> [f64; 3];
    /// Whether a lymphocyte may be in `voxel`.
    fn allowed(&self, voxel: usize) -> bool;
    /// Voxels where lymphocytes enter (vessels, rim).
    fn entry_voxels(&self) -> &[usize];
    /// Number of source components of the dose field.
    fn n_components(&self) -> usize;
    /// Dose per decay of `component` in `voxel`: (low LET, α) \[Gy/decay\].
    fn dose_per_decay(&self, voxel: usize, component: usize) -> (f64, f64);
    /// [`WalkGrid::dose_per_decay`] of every component of `voxel` into `out` (one entry per
    /// component): the same values; override when the components share work.
    fn dose_per_decay_all(&self, voxel: usize, out: &mut [(f64, f64)]) {
        for (c, x) in out.iter_mut().enumerate() {
            *x = self.dose_per_decay(voxel, c);
        }
    }
    /// Monte Carlo standard uncertainty of [`WalkGrid::dose_per_decay`], (low LET, α)
    /// \[Gy/decay\], with any allowance for the correlation between voxels; the walkers'
    /// noise of [`migrating_exposure_noisy`]. Default: exact (0).
    fn dose_sd_per_decay(&self, _voxel: usize, _component: usize) -> (f64, f64) {
        (0.0, 0.0)
    }
    /// [`WalkGrid::dose_sd_per_decay`] of every component of `voxel` into `out` (one entry
    /// per component): the same values; override when the components share work.
    fn dose_sd_per_decay_all(&self, voxel: usize, out: &mut [(f64, f64)]) {
        for (c, x) in out.iter_mut().enumerate() {
            *x = self.dose_sd_per_decay(voxel, c);
        }
    }
}

/// A plain [`WalkGrid`]: flags per voxel, entry voxels and per-component dose per decay.
#[derive(Debug, Clone, PartialEq)]
pub struct VoxelWalkGrid {
    dims: [usize; 3],
    voxel_cm: [f64; 3],
    allowed: Vec<bool>,
    entries: Vec<usize>,
    /// `low_let[c][v]` \[Gy/decay\].
    low_let: Vec<Vec<f64>>,
    /// `alpha[c][v]` \[Gy/decay\] (empty: no α).
    alpha: Vec<Vec<f64>>,
}

impl VoxelWalkGrid {
    /// A grid; `alpha` may be empty. Errors: zero dimensions, non-positive voxel size,
    /// wrong lengths, entries outside the grid or not allowed, negative dose per decay.
    pub fn new(
        dims: [usize; 3],
        voxel_cm: [f64; 3],
        allowed: Vec<bool>,
        entries: Vec<usize>,
        low_let: Vec<Vec<f64>>,
        alpha: Vec<Vec<f64>>,
    ) -> KResult<Self> {
        let n = dims[0] * dims[1] * dims[2];
        if n == 0 {
            return Err(KineticsError::Empty("walk grid (a dimension is 0)".into()));
        }
        for (a, s) in ["x", "y", "z"].iter().zip(voxel_cm) {
            positive(format!("voxel size along {a}"), s, "cm")?;
        }
        if allowed.len() != n {
            return Err(KineticsError::Length {
                what: "allowed-voxel flags".into(),
                expected: n,
                got: allowed.len(),
            });
        }
        if entries.is_empty() {
            return Err(KineticsError::Empty("entry voxels".into()));
        }
        for &e in &entries {
            if e >= n || !allowed[e] {
                return Err(KineticsError::Index {
                    what: "entry voxel (must be an allowed voxel)".into(),
                    index: e,
                    len: n,
                });
            }
        }
        if low_let.is_empty() {
            return Err(KineticsError::Empty("dose per decay (components)".into()));
        }
        if !alpha.is_empty() && alpha.len() != low_let.len() {
            return Err(KineticsError::Length {
                what: "alpha dose per decay (components)".into(),
                expected: low_let.len(),
                got: alpha.len(),
            });
        }
        for v in low_let.iter().chain(&alpha) {
            if v.len() != n {
                return Err(KineticsError::Length {
                    what: "dose per decay (voxels)".into(),
                    expected: n,
                    got: v.len(),
                });
            }
            for &x in v {
                crate::error::non_negative("dose per decay", x, "Gy")?;
            }
        }
        Ok(Self {
            dims,
            voxel_cm,
            allowed,
            entries,
            low_let,
            alpha,
        })
    }
}

impl WalkGrid for VoxelWalkGrid {
    fn dims(&self) -> [usize; 3] {
        self.dims
    }
    fn voxel_size_cm(&self) -> [f64; 3] {
        self.voxel_cm
    }
    fn allowed(&self, voxel: usize) -> bool {
        self.allowed[voxel]
    }
    fn entry_voxels(&self) -> &[usize] {
        &self.entries
    }
    fn n_components(&self) -> usize {
        self.low_let.len()
    }
    fn dose_per_decay(&self, voxel: usize, component: usize) -> (f64, f64) {
        let a = self.alpha.get(component).map_or(0.0, |v| v[voxel]);
        (self.low_let[component][voxel], a)
    }
}

/// Motility and sampling of the walk.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct WalkParameters {
    /// Speed \[cm/s\].
    pub speed_cm_per_s: f64,
    /// Persistence time P \[s\] (mean time between reorientations).
    pub persistence_s: f64,
    /// Time step \[s\]; None for min(P/4, min voxel edge/(2 v)).
    pub step_s: Option<f64>,
    /// Master seed of the walkers' random streams.
    pub seed: u64,
    /// Grade of the speed value.
    pub speed_grade: Grade,
    /// Grade of the persistence value.
    pub persistence_grade: Grade,
}

impl Default for WalkParameters {
    /// 10 µm/min (B), persistence 3 min (B, weak), automatic step, seed 1.
    fn default() -> Self {
        Self {
            speed_cm_per_s: 10e-4 / 60.0,
            persistence_s: 180.0,
            step_s: None,
            seed: 1,
            speed_grade: Grade::B,
            persistence_grade: Grade::B,
        }
    }
}

/// One point of a path.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PathPoint {
    /// Time \[s\].
    pub time_s: f64,
    /// Position \[cm\] (grid corner at 0).
    pub position_cm: [f64; 3],
}

struct Walker<'g, G: WalkGrid + ?Sized> {
    grid: &'g G,
    rng: Rng,
    pos: [f64; 3],
    dir: [f64; 3],
    keep: f64,
    step_cm: f64,
}

fn voxel_of<G: WalkGrid + ?Sized>(grid: &G, p: [f64; 3]) -> Option<usize> {
    let d = grid.dims();
    let s = grid.voxel_size_cm();
    let mut idx = [0usize; 3];
    for a in 0..3 {
        let f = p[a] / s[a];
        if !(f >= 0.0 && f < d[a] as f64) {
            return None;
        }
        idx[a] = (f as usize).min(d[a] - 1);
    }
    Some(idx[0] + d[0] * (idx[1] + d[1] * idx[2]))
}

impl<'g, G: WalkGrid + ?Sized> Walker<'g, G> {
    fn new(grid: &'g G, p: &WalkParameters, index: u64, dt: f64) -> Self {
        let mut rng = Rng::for_stream(p.seed, index, STREAM_KINETICS);
        let e = grid.entry_voxels();
        let k = ((rng.uniform() * e.len() as f64) as usize).min(e.len() - 1);
        let v = e[k];
        let d = grid.dims();
        let s = grid.voxel_size_cm();
        let (x, y, z) = (v % d[0], (v / d[0]) % d[1], v / (d[0] * d[1]));
        let pos = [
            (x as f64 + rng.uniform()) * s[0],
            (y as f64 + rng.uniform()) * s[1],
            (z as f64 + rng.uniform()) * s[2],
        ];
        let dir = rng.isotropic();
        Self {
            grid,
            rng,
            pos,
            dir,
            keep: (-dt / p.persistence_s).exp(),
            step_cm: p.speed_cm_per_s * dt,
        }
    }

    /// One step; returns the voxel at the step's midpoint.
    fn step(&mut self) -> usize {
        if self.rng.uniform() >= self.keep {
            self.dir = self.rng.isotropic();
        }
        for attempt in 0..17 {
            if attempt > 0 {
                self.dir = self.rng.isotropic();
            }
            let end = [0, 1, 2].map(|a| self.pos[a] + self.step_cm * self.dir[a]);
            let mid = [0, 1, 2].map(|a| self.pos[a] + 0.5 * self.step_cm * self.dir[a]);
            let ok = |p| voxel_of(self.grid, p).filter(|&v| self.grid.allowed(v));
            if let (Some(vm), Some(_)) = (ok(mid), ok(end)) {
                self.pos = end;
                return vm;
            }
        }
        // stuck: stay in place (the start position is always in an allowed voxel)
        voxel_of(self.grid, self.pos).unwrap_or(0)
    }
}

/// Largest number of time steps of one walk.
pub const MAX_WALK_STEPS: usize = 10_000_000;

/// Number of steps and step length \[s\] for a walk of `duration_s` \[s\].
fn steps_for(
    grid: &impl WalkGridRef,
    p: &WalkParameters,
    duration_s: f64,
) -> KResult<(usize, f64)> {
    let dt0 = step_length(grid, p)?;
    let n = (duration_s / dt0).ceil().max(1.0);
    if n > MAX_WALK_STEPS as f64 {
        return Err(KineticsError::BadValue {
            what: format!("number of walk steps ({duration_s} s in steps of {dt0} s)"),
            value: n,
            unit: "1",
            expected: "at most 1e7: use a longer time step",
        });
    }
    let n = n as usize;
    Ok((n, duration_s / n as f64))
}

/// Error unless the grid's dimensions are non-zero and its entry voxels are allowed voxels
/// inside it.
fn check_grid_entries<G: WalkGrid + ?Sized>(grid: &G) -> KResult<()> {
    let d = grid.dims();
    let n = d[0].saturating_mul(d[1]).saturating_mul(d[2]);
    if n == 0 {
        return Err(KineticsError::Empty("walk grid (a dimension is 0)".into()));
    }
    let s = grid.voxel_size_cm();
    for (a, x) in ["x", "y", "z"].iter().zip(s) {
        positive(format!("voxel size along {a}"), x, "cm")?;
    }
    if grid.entry_voxels().is_empty() {
        return Err(KineticsError::Empty("entry voxels".into()));
    }
    for &e in grid.entry_voxels() {
        if e >= n || !grid.allowed(e) {
            return Err(KineticsError::Index {
                what: "entry voxel (must be an allowed voxel)".into(),
                index: e,
                len: n,
            });
        }
    }
    Ok(())
}

fn step_length(grid: &impl WalkGridRef, p: &WalkParameters) -> KResult<f64> {
    positive("lymphocyte speed", p.speed_cm_per_s, "cm/s")?;
    positive("persistence time", p.persistence_s, "s")?;
    match p.step_s {
        Some(s) => positive("walk time step", s, "s"),
        None => {
            let s = grid.min_edge();
            Ok((0.25 * p.persistence_s).min(0.5 * s / p.speed_cm_per_s))
        }
    }
}

/// Helper so `step_length` works for unsized grids.
trait WalkGridRef {
    fn min_edge(&self) -> f64;
}

impl<G: WalkGrid + ?Sized> WalkGridRef for &G {
    fn min_edge(&self) -> f64 {
        let s = self.voxel_size_cm();
        s[0].min(s[1]).min(s[2])
    }
}

/// The path of walker `index` from 0 for `duration_s` \[s\] (for inspection and tests).
pub fn trajectory<G: WalkGrid + ?Sized>(
    grid: &G,
    params: &WalkParameters,
    index: u64,
    duration_s: f64,
) -> KResult<Vec<PathPoint>> {
    positive("walk duration", duration_s, "s")?;
    check_grid_entries(grid)?;
    let (n, dt) = steps_for(&grid, params, duration_s)?;
    let mut w = Walker::new(grid, params, index, dt);
    let mut out = Vec::with_capacity(n + 1);
    out.push(PathPoint {
        time_s: 0.0,
        position_cm: w.pos,
    });
    for k in 1..=n {
        w.step();
        out.push(PathPoint {
            time_s: k as f64 * dt,
            position_cm: w.pos,
        });
    }
    Ok(out)
}

/// Result of a migrating-lymphocyte simulation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WalkExposure {
    /// Exposure per walker (walkers are the "positions").
    pub exposure: Exposure,
    /// Time step used \[s\].
    pub step_s: f64,
    /// Number of steps per walker.
    pub steps: usize,
}

/// Walk `n_walkers` lymphocytes entering at `cohort.arrival_s` for `cohort.residence_s`
/// through the dose-rate field of `ev` on `grid`; dose, G (piecewise-constant history at
/// the step), BED and survival per walker.
pub fn migrating_exposure<G: WalkGrid + ?Sized>(
    ev: &Evolution,
    grid: &G,
    params: &WalkParameters,
    cohort: Cohort,
    n_walkers: usize,
    lq: &LqParameters,
) -> KResult<WalkExposure> {
    migrating_exposure_noisy(ev, grid, params, cohort, n_walkers, lq, None)
}

/// The Monte Carlo noise of the walkers' doses, for [`migrating_exposure_noisy`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct WalkNoise {
    /// α-hit coefficient of the lymphocytes \[1/Gy\] ([`crate::hits`]), if known.
    pub alpha_hit_coeff_per_gy: Option<f64>,
}

/// As [`migrating_exposure`], with the Monte Carlo noise of the voxel doses
/// ([`WalkGrid::dose_sd_per_decay`]) removed from the population survival to second order
/// and its uncertainty (shared voxels included) in the estimate when `noise` is given
/// ([`crate::walknoise`]); with an α-hit coefficient, the α-hit figure too. BED uses the
/// unbiased D̂_L² − σ² in its quadratic term.
pub fn migrating_exposure_noisy<G: WalkGrid + ?Sized>(
    ev: &Evolution,
    grid: &G,
    params: &WalkParameters,
    cohort: Cohort,
    n_walkers: usize,
    lq: &LqParameters,
    noise: Option<WalkNoise>,
) -> KResult<WalkExposure> {
    let mut out = migrating_exposures_noisy(ev, grid, params, &[cohort], n_walkers, lq, noise)?;
    Ok(out.remove(0))
}

/// [`migrating_exposure_noisy`] of every cohort of `cohorts`, which must stay the same time:
/// a walker's path depends on its index and the time step only, not on its arrival, so it
/// is walked once and its doses taken for every cohort. Walkers run in parallel and are
/// summed in their order: the same bytes as one cohort at a time, for any thread count.
pub fn migrating_exposures_noisy<G: WalkGrid + ?Sized>(
    ev: &Evolution,
    grid: &G,
    params: &WalkParameters,
    cohorts: &[Cohort],
    n_walkers: usize,
    lq: &LqParameters,
    noise: Option<WalkNoise>,
) -> KResult<Vec<WalkExposure>> {
    if grid.n_components() != ev.n_components() {
        return Err(KineticsError::Length {
            what: "components of the walk grid's dose field vs the source kinetics".into(),
            expected: ev.n_components(),
            got: grid.n_components(),
        });
    }
    if n_walkers == 0 {
        return Err(KineticsError::Empty("walkers".into()));
    }
    let residence_s = check_cohorts(cohorts)?;
    check_grid_entries(grid)?;
    lq.validate()?;
    let (n, dt) = steps_for(&grid, params, residence_s)?;
    let timelines = cohorts
        .iter()
        .map(|c| {
            let times: Vec<f64> = (0..=n)
                .map(|k| {
                    if k == n {
                        c.arrival_s + c.residence_s
                    } else {
                        c.arrival_s + k as f64 * dt
                    }
                })
                .collect();
            let decays = ev.timeline(&times)?.decays;
            Ok((times, decays))
        })
        .collect::<KResult<Vec<_>>>()?;
    let paths: Vec<Path<'_>> = timelines
        .iter()
        .map(|(times, decays)| Path { times, decays, dt })
        .collect();
    let mut models = noise.map(|x| {
        let a: Vec<f64> = std::iter::once(lq.alpha_per_gy * lq.rbe_alpha)
            .chain(x.alpha_hit_coeff_per_gy)
            .collect();
        WalkerSurvival::new(grid, &a, n_walkers, cohorts.len())
    });
    let mut sums = vec![WalkerSums::default(); cohorts.len()];
    walk_all(
        grid,
        params,
        &paths,
        n_walkers,
        lq,
        noise.is_some(),
        |d, errors| {
            for (j, ((d, e), sum)) in d.iter().zip(&errors).zip(&mut sums).enumerate() {
                let cov = path_covariance(e);
                if let Some(m) = &mut models {
                    m.add(j, (d.dose_gy, d.g, d.alpha), e, cov, lq);
                }
                sum.push(d, cov[0]);
            }
        },
    )?;
    let estimates = models.as_ref().map(WalkerSurvival::estimates);
    sums.into_iter()
        .enumerate()
        .map(|(j, sum)| {
            let est = estimates.as_ref().map(|e| e[j].as_slice());
            Ok(WalkExposure {
                exposure: sum.exposure(n, lq, est)?,
                step_s: dt,
                steps: n,
            })
        })
        .collect()
}

/// The residence time shared by `cohorts` \[s\]; errors when there are none, when a time is
/// not finite or positive, or when the cohorts stay different times.
fn check_cohorts(cohorts: &[Cohort]) -> KResult<f64> {
    let first = cohorts
        .first()
        .ok_or_else(|| KineticsError::Empty("cohorts".into()))?;
    for c in cohorts {
        finite("arrival time", c.arrival_s, "s")?;
        positive("residence time", c.residence_s, "s")?;
        if c.residence_s != first.residence_s {
            return Err(KineticsError::BadValue {
                what: "residence time of a cohort walked with others".into(),
                value: c.residence_s,
                unit: "s",
                expected: "the residence time of the first cohort (walk cohorts that stay different times separately)",
            });
        }
    }
    Ok(first.residence_s)
}

/// One cohort's walkers, summed walker by walker.
#[derive(Debug, Clone, Default)]
struct WalkerSums {
    low: Vec<f64>,
    alpha: Vec<f64>,
    prot: Vec<Protraction>,
    /// variance of each walker's low-LET dose \[Gy²\]
    var_l: Vec<f64>,
}

impl WalkerSums {
    fn push(&mut self, d: &WalkDose, var_l: f64) {
        self.var_l.push(var_l);
        self.low.push(d.dose_gy);
        self.alpha.push(d.alpha);
        self.prot.push(Protraction {
            dose_gy: d.dose_gy,
            g: d.g,
        });
    }

    /// The exposure of walks of `steps` steps; with the noise `estimates` (mean-dose model, then α-hit if any), the
    /// noise-corrected survival and BED.
    fn exposure(
        self,
        steps: usize,
        lq: &LqParameters,
        estimates: Option<&[SurvivalEstimate]>,
    ) -> KResult<Exposure> {
        let tp = TargetProtraction {
            dose: SplitDose {
                low_let: self.low,
                alpha: self.alpha,
            },
            low_let: self.prot,
            steps,
            g_change: 0.0,
        };
        let mut e = Exposure::from_protraction(tp, lq)?;
        if let Some(est) = estimates {
            e.survival_estimate = est[0];
            e.surviving_fraction = e.survival_estimate.value;
            e.alpha_hit_estimate = est.get(1).copied();
            for ((b, p), v) in e.bed_gy.iter_mut().zip(&e.low_let).zip(&self.var_l) {
                *b -= p.g * v / lq.alpha_beta_gy;
            }
            e.bed_summary = Distribution::of(&e.bed_gy)?;
        }
        Ok(e)
    }
}

/// Walkers per worker and round of [`walk_all`] (bounds the path errors held at once).
const WALKERS_PER_TASK: usize = 8;

/// Walks walkers 0..`n_walkers` on `paths` (one per cohort, same steps), in parallel in
/// rounds, and hands each walker's doses and path errors per cohort to `fold` in walker
/// order; with `noisy`, path errors (empty without).
fn walk_all<G: WalkGrid + ?Sized>(
    grid: &G,
    params: &WalkParameters,
    paths: &[Path<'_>],
    n_walkers: usize,
    lq: &LqParameters,
    noisy: bool,
    mut fold: impl FnMut(Vec<WalkDose>, Vec<PathErrors>),
) -> KResult<()> {
    use rayon::prelude::*;
    let tasks = rayon::current_num_threads().clamp(1, n_walkers);
    let mut scratch: Vec<Option<PathAccumulator>> = (0..tasks)
        .map(|_| noisy.then(|| PathAccumulator::new(grid, paths.len())))
        .collect();
    let round = tasks * WALKERS_PER_TASK;
    for start in (0..n_walkers).step_by(round) {
        let end = (start + round).min(n_walkers);
        let per = (end - start).div_ceil(tasks);
        let done: Vec<KResult<Vec<_>>> = scratch
            .par_iter_mut()
            .enumerate()
            .map(|(t, acc)| {
                let lo = (start + t * per).min(end);
                let hi = (lo + per).min(end);
                (lo..hi)
                    .map(|w| walk_one(grid, params, w as u64, paths, lq, acc.as_mut()))
                    .collect()
            })
            .collect();
        for walkers in done {
            for (d, e) in walkers? {
                fold(d, e);
            }
        }
    }
    Ok(())
}

/// The step times of a walk and the decays of every component in each step.
struct Path<'a> {
    times: &'a [f64],
    decays: &'a [Vec<f64>],
    dt: f64,
}

/// One walker's low-LET dose and G (a [`Protraction`]) and α dose \[Gy\].
struct WalkDose {
    dose_gy: f64,
    g: f64,
    alpha: f64,
}

/// Walks walker `w` and takes its doses on each of `paths` (one per cohort, same steps);
/// with `noisy` (the scratch of the path's decays), also the error weights of its path per
/// cohort (empty without).
fn walk_one<G: WalkGrid + ?Sized>(
    grid: &G,
    params: &WalkParameters,
    w: u64,
    paths: &[Path<'_>],
    lq: &LqParameters,
    mut noisy: Option<&mut PathAccumulator>,
) -> KResult<(Vec<WalkDose>, Vec<PathErrors>)> {
    let n = paths[0].times.len() - 1;
    let mut walker = Walker::new(grid, params, w, paths[0].dt);
    let mut dose = vec![(0.0, 0.0); paths.len()];
    let mut pieces: Vec<Vec<DoseRatePiece>> =
        (0..paths.len()).map(|_| Vec::with_capacity(n)).collect();
    let mut dose_per_decay = vec![(0.0, 0.0); grid.n_components()];
    for k in 0..n {
        let v = walker.step();
        let slot = noisy.as_deref_mut().map(|acc| acc.visit(grid, v));
        grid.dose_per_decay_all(v, &mut dose_per_decay);
        for (j, path) in paths.iter().enumerate() {
            let (mut sl, mut sa) = (0.0, 0.0);
            for (c, &dn) in path.decays[k].iter().enumerate() {
                if dn != 0.0 {
                    let (l, a) = dose_per_decay[c];
                    sl += l * dn;
                    sa += a * dn;
                    if let (Some(acc), Some(s)) = (noisy.as_deref_mut(), slot) {
                        acc.add(s, j, c, dn);
                    }
                }
            }
            dose[j].0 += sl;
            dose[j].1 += sa;
            let h = path.times[k + 1] - path.times[k];
            pieces[j].push(DoseRatePiece::constant(h, (sl / h).max(0.0)));
        }
    }
    let doses = dose
        .into_iter()
        .zip(&pieces)
        .map(|((dl, da), p)| {
            Ok(WalkDose {
                dose_gy: dl,
                g: protraction(p, lq.repair_half_time_s)?.g,
                alpha: da,
            })
        })
        .collect::<KResult<Vec<_>>>()?;
    let errors = match noisy {
        Some(acc) => acc.finish(),
        None => vec![Vec::new(); paths.len()],
    };
    Ok((doses, errors))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{Administration, Chain};
    use crate::sources::SourceModel;
    use crate::tac::{Quantity, Tac};

    const UM: f64 = 1e-4;

    fn source() -> crate::SourceKinetics {
        SourceModel::retained(
            Chain::from_library("Lu-177").unwrap(),
            "cells",
            Tac::mono(50.0 * 3600.0),
            Quantity::AdministeredFraction {
                uptake_fraction: 1.0,
            },
        )
        .build(&[Administration {
            time_s: 0.0,
            activity_bq: 1e6,
        }])
        .unwrap()
    }

    /// n³ grid of 10 µm voxels; `forbid(x, y, z)` marks forbidden voxels with dose `bad`.
    fn grid(n: usize, forbid: impl Fn(usize, usize, usize) -> bool, bad: f64) -> VoxelWalkGrid {
        let nv = n * n * n;
        let mut allowed = vec![true; nv];
        let mut dose = vec![1e-12; nv];
        for z in 0..n {
            for y in 0..n {
                for x in 0..n {
                    if forbid(x, y, z) {
                        let v = x + n * (y + n * z);
                        allowed[v] = false;
                        dose[v] = bad;
                    }
                }
            }
        }
        let c = n / 2;
        VoxelWalkGrid::new(
            [n; 3],
            [10.0 * UM; 3],
            allowed,
            vec![c + n * (c + n * c)],
            vec![dose],
            vec![],
        )
        .unwrap()
    }

    #[test]
    fn uniform_field_gives_the_cohort_dose_on_every_path_and_walls_hold() {
        let k = source();
        let lq = LqParameters::lymphocyte();
        let cohort = Cohort {
            arrival_s: 86400.0,
            residence_s: 6.0 * 3600.0,
        };
        let exact = 1e-12 * k.decays(86400.0, 86400.0 + 6.0 * 3600.0).unwrap()[0];
        // walls: only a slab 4 ≤ z ≤ 5 is allowed; forbidden voxels carry a huge dose
        let g = grid(10, |_, _, z| !(4..=5).contains(&z), 1.0);
        let p = WalkParameters::default();
        let r = migrating_exposure(k.evolution(), &g, &p, cohort, 40, &lq).unwrap();
        let mut worst: f64 = 0.0;
        for &d in &r.exposure.dose.low_let {
            worst = worst.max((d - exact).abs() / exact);
        }
        eprintln!(
            "walk in uniform allowed field: max rel dose diff {worst:.1e} ({} steps)",
            r.steps
        );
        assert!(worst < 1e-10, "{worst:e}");
        // every path stays in the slab
        for w in 0..10 {
            for pt in trajectory(&g, &p, w, 6.0 * 3600.0).unwrap() {
                let z = pt.position_cm[2] / (10.0 * UM);
                assert!((4.0..6.0).contains(&z), "walker {w} at z = {z}");
            }
        }
        // reproducible
        let r2 = migrating_exposure(k.evolution(), &g, &p, cohort, 40, &lq).unwrap();
        assert_eq!(r.exposure.dose, r2.exposure.dose);
        let t1 = trajectory(&g, &p, 3, 3600.0).unwrap();
        assert_eq!(t1, trajectory(&g, &p, 3, 3600.0).unwrap());
        assert_ne!(t1, trajectory(&g, &p, 4, 3600.0).unwrap());
    }

    /// A grid with relative uncertainty `rel` of every voxel's dose per decay.
    struct Noisy(VoxelWalkGrid, f64);
    impl WalkGrid for Noisy {
        fn dims(&self) -> [usize; 3] {
            self.0.dims()
        }
        fn voxel_size_cm(&self) -> [f64; 3] {
            self.0.voxel_size_cm()
        }
        fn allowed(&self, v: usize) -> bool {
            self.0.allowed(v)
        }
        fn entry_voxels(&self) -> &[usize] {
            self.0.entry_voxels()
        }
        fn n_components(&self) -> usize {
            self.0.n_components()
        }
        fn dose_per_decay(&self, v: usize, c: usize) -> (f64, f64) {
            self.0.dose_per_decay(v, c)
        }
        fn dose_sd_per_decay(&self, v: usize, c: usize) -> (f64, f64) {
            let (l, a) = self.0.dose_per_decay(v, c);
            (self.1 * l, self.1 * a)
        }
    }

    /// A path's σ: decays in one voxel add before squaring, and the components of a voxel
    /// add linearly (shared decay positions), voxels in quadrature; exact doses leave the
    /// walkers' survival as it was, noisy ones give it an interval.
    #[test]
    fn walker_noise_closed_form_and_correction() {
        // two components, 1e-12 Gy per decay everywhere, 50 %
        let two = VoxelWalkGrid::new(
            [2; 3],
            [UM; 3],
            vec![true; 8],
            vec![0],
            vec![vec![1e-12; 8]; 2],
            vec![],
        )
        .unwrap();
        let s = 0.5e-12;
        let two = Noisy(two, 0.5);
        let mut acc = PathAccumulator::new(&two, 1);
        for (c, v, dn) in [(0, 5, 2.0), (1, 5, 4.0), (0, 7, 1.0), (0, 5, 3.0)] {
            let s = acc.visit(&two, v);
            acc.add(s, 0, c, dn);
        }
        let e = acc.finish().remove(0);
        let [vl, va, cov] = crate::walknoise::path_covariance(&e);
        // voxel 5: (2 + 3 + 4)·σ, voxel 7: 1·σ
        let want = s * s * 82.0;
        assert!((vl - want).abs() < 1e-12 * want, "{vl} vs {want}");
        assert_eq!((va, cov), (0.0, 0.0));
        let g = Noisy(grid(10, |_, _, z| !(4..=5).contains(&z), 1.0), 0.5);
        let k = source();
        let lq = LqParameters::lymphocyte();
        let cohort = Cohort {
            arrival_s: 86400.0,
            residence_s: 6.0 * 3600.0,
        };
        let p = WalkParameters::default();
        let plain = migrating_exposure(k.evolution(), &g.0, &p, cohort, 20, &lq).unwrap();
        let exact = Noisy(g.0.clone(), 0.0);
        let on = Some(WalkNoise::default());
        let e = migrating_exposure_noisy(k.evolution(), &exact, &p, cohort, 20, &lq, on).unwrap();
        let (a, b) = (
            plain.exposure.surviving_fraction,
            e.exposure.surviving_fraction,
        );
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        let n = migrating_exposure_noisy(k.evolution(), &g, &p, cohort, 20, &lq, on).unwrap();
        let est = n.exposure.survival_estimate;
        // a uniform field: every walker has the same dose, so the model finds no physical
        // spread and the corrected figure is the plain one (to the quadrature's 1e-6), with
        // an interval from the voxels' noise
        assert!((est.value - a).abs() < 1e-6 * a && est.sd > 0.0, "{est:?}");
    }

    /// The walkers' stated standard uncertainty against the spread of their survival over
    /// independent noisy realisations of a known voxel field (independent Gaussian voxel
    /// errors, σ_v = 30 % of the true dose, reported as such): same walks, 12 realisations.
    #[test]
    fn walker_interval_matches_the_spread_over_noisy_fields() {
        let n = 10;
        let nv = n * n * n;
        let truth: Vec<f64> = (0..nv)
            .map(|v| 3e-11 * (1.0 + (v % n) as f64 / 3.0))
            .collect();
        let k = source();
        let lq = LqParameters::lymphocyte();
        let cohort = Cohort {
            arrival_s: 86400.0,
            residence_s: 2.0 * 3600.0,
        };
        let p = WalkParameters::default();
        let (mut values, mut sd2) = (Vec::new(), 0.0);
        let reps = 12;
        for rep in 0..reps {
            let mut rng = Rng::for_stream(77, rep, STREAM_KINETICS);
            let noisy: Vec<f64> = truth
                .iter()
                .map(|&d| (d * (1.0 + 0.3 * rng.normal())).max(0.0))
                .collect();
            let g = VoxelWalkGrid::new(
                [n; 3],
                [10.0 * UM; 3],
                vec![true; nv],
                vec![n / 2 + n * (n / 2 + n * (n / 2))],
                vec![noisy.clone()],
                vec![],
            )
            .unwrap();
            // reported σ_v from the noisy value, as a tally's batch estimate would be
            let on = Some(WalkNoise::default());
            let e =
                migrating_exposure_noisy(k.evolution(), &Noisy(g, 0.3), &p, cohort, 30, &lq, on)
                    .unwrap()
                    .exposure
                    .survival_estimate;
            values.push(e.value);
            sd2 += e.sd * e.sd / reps as f64;
        }
        let m = values.iter().sum::<f64>() / reps as f64;
        let spread =
            (values.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (reps as f64 - 1.0)).sqrt();
        let ratio = spread / sd2.sqrt();
        eprintln!("walkers over noisy fields: mean {m:.4}, spread {spread:.3e}, stated {:.3e}, ratio {ratio:.2}", sd2.sqrt());
        // 99 % range of √(χ²₁₁/11): [0.48, 1.59]
        assert!((0.48..=1.59).contains(&ratio), "ratio {ratio}");
        // the same walks on the true field: the mean over realisations is within 3σ of it
        let exact = VoxelWalkGrid::new(
            [n; 3],
            [10.0 * UM; 3],
            vec![true; nv],
            vec![n / 2 + n * (n / 2 + n * (n / 2))],
            vec![truth],
            vec![],
        )
        .unwrap();
        let t = migrating_exposure(k.evolution(), &exact, &p, cohort, 30, &lq).unwrap();
        let t = t.exposure.surviving_fraction;
        let z = (m - t) / (sd2.sqrt() / (reps as f64).sqrt());
        eprintln!("  true field {t:.4}: mean of the estimates {z:.2} σ away");
        assert!(z.abs() < 3.0, "{z}");
    }

    #[test]
    fn mean_squared_displacement_of_the_persistent_walk() {
        // open 130³ grid of 10 µm voxels (1.3 mm): walkers start at the centre and cannot
        // reach a wall in 1 h at 10 µm/min (path 0.6 mm)
        let n = 130;
        let g = VoxelWalkGrid::new(
            [n; 3],
            [10.0 * UM; 3],
            vec![true; n * n * n],
            vec![n / 2 + n * (n / 2 + n * (n / 2))],
            vec![vec![0.0; n * n * n]],
            vec![],
        )
        .unwrap();
        let p = WalkParameters {
            step_s: Some(30.0),
            ..WalkParameters::default()
        };
        let t = 3600.0;
        let nw = 3000;
        let mut sum = 0.0;
        let mut sum2 = 0.0;
        for w in 0..nw {
            let path = trajectory(&g, &p, w, t).unwrap();
            let (a, b) = (path[0].position_cm, path[path.len() - 1].position_cm);
            let r2: f64 = (0..3).map(|i| (b[i] - a[i]).powi(2)).sum();
            sum += r2;
            sum2 += r2 * r2;
        }
        let mean = sum / nw as f64;
        let sd = ((sum2 / nw as f64 - mean * mean) / nw as f64).sqrt();
        // exact for the discrete walk: (v Δt)² [n + 2 Σ_{k=1}^{n−1} (n − k) q^k], q = e^{−Δt/P}
        let steps = 120;
        let q: f64 = (-30.0_f64 / 180.0).exp();
        let l = p.speed_cm_per_s * 30.0;
        let exact = l
            * l
            * (steps as f64
                + 2.0
                    * (1..steps)
                        .map(|k| (steps - k) as f64 * q.powi(k))
                        .sum::<f64>());
        let z = (mean - exact) / sd;
        eprintln!(
            "MSD after 1 h: {:.4e} cm² vs exact {exact:.4e} ({z:.2} σ); continuous-time {:.4e}",
            mean,
            2.0 * (p.speed_cm_per_s * 180.0).powi(2) * (t / 180.0 - 1.0 + (-t / 180.0).exp())
        );
        assert!(z.abs() < 4.0);
    }

    /// Cohorts walked together (paths shared) give the bytes of each cohort walked alone,
    /// for 1 and 3 worker threads (walkers split unevenly between them); cohorts that stay
    /// different times are refused.
    #[test]
    fn cohorts_walked_together_match_cohorts_walked_alone() {
        let g = Noisy(grid(10, |x, _, _| x == 0, 1.0), 0.3);
        let k = source();
        let lq = LqParameters::lymphocyte();
        let p = WalkParameters::default();
        let on = Some(WalkNoise {
            alpha_hit_coeff_per_gy: Some(0.9),
        });
        let cohorts: Vec<Cohort> = [0.5, 1.0, 3.0]
            .map(|d| Cohort {
                arrival_s: d * 86400.0,
                residence_s: 2.0 * 3600.0,
            })
            .to_vec();
        let alone: Vec<WalkExposure> = cohorts
            .iter()
            .map(|&c| migrating_exposure_noisy(k.evolution(), &g, &p, c, 21, &lq, on).unwrap())
            .collect();
        for e in &alone {
            let (s, h) = (e.exposure.survival_estimate, e.exposure.alpha_hit_estimate);
            assert!(s.sd > 0.0 && h.is_some(), "{s:?}");
        }
        let alone: Vec<String> = alone.iter().map(|e| format!("{e:?}")).collect();
        for threads in [1, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let together = pool.install(|| {
                migrating_exposures_noisy(k.evolution(), &g, &p, &cohorts, 21, &lq, on).unwrap()
            });
            assert_eq!(together.len(), 3);
            for (a, t) in alone.iter().zip(&together) {
                assert_eq!(a, &format!("{t:?}"), "{threads} threads");
            }
        }
        assert_ne!(alone[0], alone[1]);
        let mut other = cohorts.clone();
        other[1].residence_s = 3600.0;
        let e = migrating_exposures_noisy(k.evolution(), &g, &p, &other, 21, &lq, on);
        assert!(matches!(e, Err(KineticsError::BadValue { .. })), "{e:?}");
        assert!(migrating_exposures_noisy(k.evolution(), &g, &p, &[], 21, &lq, on).is_err());
    }

    #[test]
    fn bad_grids_are_rejected() {
        assert!(
            VoxelWalkGrid::new([0, 1, 1], [1.0; 3], vec![], vec![0], vec![vec![]], vec![]).is_err()
        );
        assert!(VoxelWalkGrid::new(
            [1, 1, 1],
            [1.0; 3],
            vec![false],
            vec![0],
            vec![vec![0.0]],
            vec![]
        )
        .is_err());
        assert!(VoxelWalkGrid::new(
            [1, 1, 1],
            [-1.0, 1.0, 1.0],
            vec![true],
            vec![0],
            vec![vec![0.0]],
            vec![]
        )
        .is_err());
        assert!(VoxelWalkGrid::new(
            [1, 1, 1],
            [1.0; 3],
            vec![true],
            vec![0],
            vec![vec![-1.0]],
            vec![]
        )
        .is_err());
        let g = VoxelWalkGrid::new(
            [1, 1, 1],
            [1.0; 3],
            vec![true],
            vec![0],
            vec![vec![0.0], vec![0.0]],
            vec![],
        )
        .unwrap();
        let k = source();
        let lq = LqParameters::lymphocyte();
        let c = Cohort {
            arrival_s: 0.0,
            residence_s: 10.0,
        };
        assert!(
            migrating_exposure(k.evolution(), &g, &WalkParameters::default(), c, 1, &lq).is_err()
        );
    }
}
