//! Cellular S values by full transport (`xfire-transport`) on a fine voxel grid: the
//! voxelised cells, the weighted scorer and the run machinery. The table of `--method mc`
//! scores neighbours on exact spheres averaged over directions ([`crate::averaged`]); this
//! module's [`Layout`] with explicit target cells serves the checks (direction symmetry,
//! straight tracks against the analytic method, CELLDOSE).
//!
//! Geometry of a layout: the source cell centred at the origin and target cells at given
//! centres. The grid is the bounding
//! box of all cells plus a margin of water on every side, with cubic voxels of edge h. A
//! voxel belongs to the nucleus (cytoplasm) of a cell when its centre lies within R_N
//! (within R_C but not R_N) of the cell centre. Sources: N and Cy uniform over their voxels
//! (uniform inside each voxel); CS spread over the sphere surface by area
//! (`xfire_phantom::source::membrane_resolved`) and uniform inside each voxel it meets.
//! Target masses are the voxelised ones, so the dose is that of the voxelised region.
//!
//! Geometric error (stated in outputs and `docs/validation.md`): regions are resolved to h
//! (default R_N / 10) — voxelised volumes differ from the spheres by ≲ 1 % at that
//! resolution, and CS decays lie up to h√3/2 from the surface. Particles leaving the grid are
//! not followed (the box is surrounded by vacuum), so electrons that would scatter back from
//! beyond the margin are missing.
//!
//! Physics: the nuclide's full emission list (ICRP-107), α with Bohr range straggling,
//! class-II condensed-history electrons with a 1 keV cut (δ rays and bremsstrahlung above it,
//! energy-loss straggling, multiple scattering), photons by Woodcock tracking.
//!
//! Statistics: per decay, the energy (per unit target mass) in each target is one sample;
//! S and its relative standard uncertainty come from the sums and sums of squares over
//! decays. S(C←C) is the voxel-count-weighted mix of the N and Cy runs (uncertainties added
//! in quadrature).

use xfire_core::constants::MEV_PER_G_TO_GY;
use xfire_phantom::{Grid, MaterialEntry, Phantom, SourceMap};
use xfire_physics::condensed::CondensedParams;
use xfire_physics::csda::ElectronModel;
use xfire_tally::Scorer;
use xfire_transport::{
    run_batches, Cutoffs, Emitter, PhysicsTables, Source as TSource, TransportSetup,
};

use crate::geometry::CellGeometry;
use crate::table::Row;
use crate::{CellError, Request, Result};

/// Electron cut of the condensed-history model at cell scale [MeV] (range ≈ 0.05 µm).
pub const ELECTRON_CUT_MEV: f64 = 1e-3;
/// Largest grid the MC method builds (voxels).
pub const MAX_GRID_VOXELS: usize = 16_000_000;

/// How the Monte Carlo runs.
#[derive(Debug, Clone, PartialEq)]
pub struct McOptions {
    /// Voxel edge [cm]; None: R_N / 10.
    pub voxel_cm: Option<f64>,
    /// Water margin around the cells [cm]; None: R_C.
    pub margin_cm: Option<f64>,
    /// Decays per source compartment and row (the first pass with a target uncertainty).
    pub decays: u64,
    /// Stop when every S value of a run has this relative uncertainty (more decays are run,
    /// up to `max_decays`).
    pub target_rel_unc: Option<f64>,
    /// Most decays per source compartment and row.
    pub max_decays: u64,
    /// Master seed.
    pub seed: u64,
    /// Worker threads (0: all).
    pub threads: usize,
}

impl Default for McOptions {
    fn default() -> Self {
        McOptions {
            voxel_cm: None,
            margin_cm: None,
            decays: 100_000,
            target_rel_unc: None,
            max_decays: 100_000_000,
            seed: 1,
            threads: 0,
        }
    }
}

impl McOptions {
    /// The voxel edge for a geometry [cm].
    pub fn voxel_for(&self, g: &CellGeometry) -> f64 {
        self.voxel_cm.unwrap_or(g.nucleus_radius_cm / 10.0)
    }

    /// The margin for a geometry [cm].
    pub fn margin_for(&self, g: &CellGeometry) -> f64 {
        self.margin_cm.unwrap_or(g.cell_radius_cm)
    }
}

/// The voxelised source cell and target cells of one row.
pub struct Layout {
    /// Uniform phantom of the medium.
    pub phantom: Phantom,
    /// Region per voxel: 0 source N, 1 source Cy, 2+2k / 3+2k target k N / Cy, NONE else.
    pub region: Vec<u32>,
    /// Voxels per region.
    pub voxels: Vec<u64>,
    /// Source maps N, Cy, CS.
    pub sources: [SourceMap; 3],
    /// Target cell centres [cm].
    pub targets: Vec<[f64; 3]>,
}

/// Region index of no cell.
pub const NONE: u32 = u32::MAX;

impl Layout {
    /// Voxelises the source cell at the origin and target cells at `targets` [cm].
    pub fn new(req: &Request, targets: &[[f64; 3]], h: f64, margin: f64) -> Result<Self> {
        let g = req.geometry;
        if !(h.is_finite() && h > 0.0 && margin.is_finite() && margin >= 0.0) {
            return Err(CellError::Invalid(format!(
                "voxel {} µm and margin {} µm must be positive",
                h * 1e4,
                margin * 1e4
            )));
        }
        let mut dims = [0usize; 3];
        for (a, d) in dims.iter_mut().enumerate() {
            let far = targets.iter().map(|c| c[a].abs()).fold(0.0, f64::max);
            *d = 2 * ((far + g.cell_radius_cm + margin) / h).ceil() as usize + 1;
        }
        let n = dims.iter().product::<usize>();
        if n > MAX_GRID_VOXELS {
            return Err(CellError::Invalid(format!(
                "the grid for this row needs {}×{}×{} = {n} voxels of {} µm (limit {MAX_GRID_VOXELS}): \
                 use a larger voxel or smaller distances",
                dims[0],
                dims[1],
                dims[2],
                h * 1e4
            )));
        }
        let grid = Grid::centred(dims, [h; 3]).map_err(|e| CellError::Invalid(e.to_string()))?;
        let entry = MaterialEntry {
            name: req.material.name.clone(),
            density_g_cm3: req.material.density_g_cm3,
        };
        let phantom = Phantom::uniform(grid, entry, 0);
        let (region, voxels) = regions(&grid, &g, targets);
        let sources = source_maps(&grid, &g, &region);
        Ok(Layout {
            phantom,
            region,
            voxels,
            sources,
            targets: targets.to_vec(),
        })
    }

    /// Voxelised mass of region `r` [g].
    pub fn mass_g(&self, r: usize) -> f64 {
        self.voxels[r] as f64
            * self.phantom.grid.voxel_volume_cm3()
            * self.phantom.materials[0].density_g_cm3
    }
}

fn regions(grid: &Grid, g: &CellGeometry, targets: &[[f64; 3]]) -> (Vec<u32>, Vec<u64>) {
    let mut centres = vec![[0.0; 3]];
    centres.extend_from_slice(targets);
    let (rn2, rc2) = (g.nucleus_radius_cm.powi(2), g.cell_radius_cm.powi(2));
    let mut region = vec![NONE; grid.len()];
    let mut voxels = vec![0u64; 2 * centres.len()];
    for (v, r) in region.iter_mut().enumerate() {
        let p = grid.centre(v);
        for (k, c) in centres.iter().enumerate() {
            let d2 = (p[0] - c[0]).powi(2) + (p[1] - c[1]).powi(2) + (p[2] - c[2]).powi(2);
            if d2 <= rc2 {
                let id = 2 * k + usize::from(d2 > rn2);
                *r = id as u32;
                voxels[id] += 1;
                break;
            }
        }
    }
    (region, voxels)
}

fn source_maps(grid: &Grid, g: &CellGeometry, region: &[u32]) -> [SourceMap; 3] {
    let of = |id: u32, name: &str, method: &str| SourceMap {
        name: name.into(),
        method: method.into(),
        weight: region
            .iter()
            .map(|&r| f32::from(u8::from(r == id)))
            .collect(),
    };
    let mut w = vec![0f32; grid.len()];
    xfire_phantom::source::membrane_resolved(grid, [0.0; 3], g.cell_radius_cm, &mut w);
    [
        of(0, "N", "uniform over the nucleus voxels"),
        of(1, "Cy", "uniform over the cytoplasm voxels"),
        SourceMap {
            name: "CS".into(),
            method: "cell surface by area (Fibonacci lattice), uniform inside each voxel".into(),
            weight: w,
        },
    ]
}

/// Sums over decays of one run: per quantity Σv and Σv² (v in MeV/g), energy balance.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tally {
    /// Decays.
    pub decays: u64,
    /// Σ v per quantity.
    pub sum: Vec<f64>,
    /// Σ v² per quantity.
    pub sum2: Vec<f64>,
    /// Energy emitted [MeV].
    pub emitted_mev: f64,
    /// Energy deposited in the grid [MeV].
    pub deposited_mev: f64,
    /// Energy leaving the grid [MeV].
    pub escaped_mev: f64,
    /// Largest |emitted − deposited − escaped| / emitted of a decay.
    pub max_imbalance_rel: f64,
}

impl Tally {
    pub(crate) fn new(nq: usize) -> Self {
        Tally {
            sum: vec![0.0; nq],
            sum2: vec![0.0; nq],
            ..Default::default()
        }
    }

    pub(crate) fn absorb(&mut self, o: &Tally) {
        self.decays += o.decays;
        for k in 0..self.sum.len() {
            self.sum[k] += o.sum[k];
            self.sum2[k] += o.sum2[k];
        }
        self.emitted_mev += o.emitted_mev;
        self.deposited_mev += o.deposited_mev;
        self.escaped_mev += o.escaped_mev;
        self.max_imbalance_rel = self.max_imbalance_rel.max(o.max_imbalance_rel);
    }

    /// Mean per decay of quantity `q` and its standard uncertainty.
    pub fn mean_and_sigma(&self, q: usize) -> (f64, f64) {
        let n = self.decays.max(1) as f64;
        let m = self.sum[q] / n;
        let var = (self.sum2[q] / n - m * m).max(0.0);
        (m, (var / (n - 1.0).max(1.0)).sqrt())
    }

    /// Relative uncertainty of quantity `q` (infinite when the mean is 0).
    pub fn rel_unc(&self, q: usize) -> f64 {
        let (m, s) = self.mean_and_sigma(q);
        if m > 0.0 {
            s / m
        } else {
            f64::INFINITY
        }
    }
}

/// A quantity: Σ weight × energy over regions [MeV/g when weights are 1/mass].
pub type Quantity = Vec<(u32, f64)>;

/// Per-voxel scoring weights: energy e deposited in voxel v adds w × e to each quantity q of
/// v's entries (q, w) — compressed rows over the voxels of a run's index space.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Weights {
    offsets: Vec<u32>,
    items: Vec<(u32, f64)>,
    /// Number of quantities.
    pub n_quantities: usize,
}

impl Weights {
    /// Weights of `n_voxels` voxels: `entries(v, out)` pushes voxel v's (quantity, weight).
    pub fn build(
        n_voxels: usize,
        n_quantities: usize,
        mut entries: impl FnMut(usize, &mut Vec<(u32, f64)>),
    ) -> Self {
        let mut offsets = Vec::with_capacity(n_voxels + 1);
        let mut items = Vec::new();
        offsets.push(0);
        for v in 0..n_voxels {
            entries(v, &mut items);
            offsets.push(items.len() as u32);
        }
        Weights {
            offsets,
            items,
            n_quantities,
        }
    }

    /// Weights of region quantities: a voxel of region r gets every quantity listing r.
    pub fn of_regions(region: &[u32], quantities: &[Quantity]) -> Self {
        let n_regions = region
            .iter()
            .filter(|&&r| r != NONE)
            .map(|&r| r as usize + 1)
            .max()
            .unwrap_or(0);
        let mut per_region: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n_regions];
        for (q, list) in quantities.iter().enumerate() {
            for &(r, w) in list {
                if let Some(e) = per_region.get_mut(r as usize) {
                    e.push((q as u32, w));
                }
            }
        }
        Self::build(region.len(), quantities.len(), |v, out| {
            if let Some(e) = per_region.get(region[v] as usize) {
                out.extend_from_slice(e);
            }
        })
    }

    #[inline]
    fn of(&self, v: usize) -> &[(u32, f64)] {
        &self.items[self.offsets[v] as usize..self.offsets[v + 1] as usize]
    }
}

struct WeightScorer<'a> {
    weights: &'a Weights,
    value: Vec<f64>,
    emitted: f64,
    deposited: f64,
    escaped: f64,
    tally: Tally,
}

impl<'a> WeightScorer<'a> {
    fn new(weights: &'a Weights) -> Self {
        WeightScorer {
            weights,
            value: vec![0.0; weights.n_quantities],
            emitted: 0.0,
            deposited: 0.0,
            escaped: 0.0,
            tally: Tally::new(weights.n_quantities),
        }
    }

    fn add(&mut self, voxel: usize, e: f64) {
        self.deposited += e;
        for &(q, w) in self.weights.of(voxel) {
            self.value[q as usize] += w * e;
        }
    }

    fn finish(&mut self) -> Tally {
        let nq = self.weights.n_quantities;
        std::mem::replace(&mut self.tally, Tally::new(nq))
    }
}

impl Scorer for WeightScorer<'_> {
    fn begin_history(&mut self, emitted_mev: f64, _site: usize) {
        self.emitted = emitted_mev;
        self.deposited = 0.0;
        self.escaped = 0.0;
    }
    fn deposit(&mut self, voxel: usize, e_mev: f64) {
        self.add(voxel, e_mev);
    }
    fn deposit_local(&mut self, voxel: usize, e_mev: f64, _below_cutoff: bool) {
        self.add(voxel, e_mev);
    }
    fn escape(&mut self, e_mev: f64) {
        self.escaped += e_mev;
    }
    fn photon_escape(&mut self, e_mev: f64) {
        self.escaped += e_mev;
    }
    fn end_history(&mut self) {
        let t = &mut self.tally;
        for (k, v) in self.value.iter_mut().enumerate() {
            t.sum[k] += *v;
            t.sum2[k] += *v * *v;
            *v = 0.0;
        }
        t.decays += 1;
        t.emitted_mev += self.emitted;
        t.deposited_mev += self.deposited;
        t.escaped_mev += self.escaped;
        if self.emitted > 0.0 {
            let imb = (self.emitted - self.deposited - self.escaped).abs() / self.emitted;
            t.max_imbalance_rel = t.max_imbalance_rel.max(imb);
        }
    }
}

/// What one transport run needs besides the layout.
pub struct RunSpec<'a> {
    /// Physics tables of the layout's phantom.
    pub physics: &'a PhysicsTables,
    /// The emitter (nuclide sampler or mono-energetic particle).
    pub emitter: Emitter<'a>,
    /// Electron model.
    pub electron_model: ElectronModel,
    /// Sample α range straggling.
    pub alpha_straggling: bool,
    /// Options (seed, threads, decays).
    pub opts: &'a McOptions,
}

/// Sets the cell-scale cutoffs, the models, the seed of source compartment `source` (each
/// draws its own histories), the history range and the threads of `setup`.
pub(crate) fn configure(setup: &mut TransportSetup, spec: &RunSpec, source: usize, first: u64) {
    setup.cutoffs = Cutoffs {
        range_fraction_of_voxel: 0.1,
        min_energy_mev: ELECTRON_CUT_MEV,
    };
    setup.electron_model = spec.electron_model;
    setup.alpha_straggling = spec.alpha_straggling;
    setup.seed = spec.opts.seed.wrapping_add(source as u64 * 0x9E37_79B9);
    setup.first_history = first;
    setup.threads = spec.opts.threads;
}

/// Runs `setup`, scoring with `weights`.
pub(crate) fn run_weighted(setup: &TransportSetup, weights: &Weights) -> Result<Tally> {
    let mut total = Tally::new(weights.n_quantities);
    run_batches(
        setup,
        || WeightScorer::new(weights),
        |s| s.finish(),
        |t| total.absorb(&t),
        &|_| {},
    )?;
    Ok(total)
}

/// Runs decays `first..first + decays` from source map `source` (0 N, 1 Cy, 2 CS), tallying
/// `quantities`.
pub fn run_source(
    layout: &Layout,
    spec: &RunSpec,
    source: usize,
    quantities: &[Quantity],
    first: u64,
    decays: u64,
) -> Result<Tally> {
    let w = Weights::of_regions(&layout.region, quantities);
    run_layout(layout, spec, source, &w, first, decays)
}

fn run_layout(
    layout: &Layout,
    spec: &RunSpec,
    source: usize,
    w: &Weights,
    first: u64,
    decays: u64,
) -> Result<Tally> {
    let mut setup = TransportSetup::new(
        &layout.phantom,
        spec.physics,
        TSource::Map(&layout.sources[source]),
        spec.emitter,
        decays,
    );
    configure(&mut setup, spec, source, first);
    run_weighted(&setup, w)
}

/// Runs `run(first, decays)` until every quantity in `check` has the target uncertainty of
/// `opts` (or `max_decays`), starting with `opts.decays`; runs extend one reproducible
/// history sequence.
pub(crate) fn run_until(
    opts: &McOptions,
    check: &[usize],
    run: impl Fn(u64, u64) -> Result<Tally>,
) -> Result<Tally> {
    let mut t = run(0, opts.decays.max(2))?;
    if let Some(target) = opts.target_rel_unc {
        for _ in 0..8 {
            let worst = check.iter().map(|&k| t.rel_unc(k)).fold(0.0, f64::max);
            if worst <= target || t.decays >= opts.max_decays || !worst.is_finite() {
                break;
            }
            let want = (t.decays as f64 * (worst / target).powi(2) * 1.05).ceil() as u64;
            let more = want.min(opts.max_decays).saturating_sub(t.decays).max(1);
            let extra = run(t.decays, more)?;
            t.absorb(&extra);
        }
    }
    Ok(t)
}

/// The quantities of a layout: 0 = N target, 1 = C target (averaged over target cells, or the
/// source cell itself when there are none), then per target cell k its N (2+2k) and C (3+2k);
/// values per decay in MeV/g.
pub fn quantities(layout: &Layout) -> Vec<Quantity> {
    let cells: Vec<usize> = if layout.targets.is_empty() {
        vec![0]
    } else {
        (1..=layout.targets.len()).collect()
    };
    let k = cells.len() as f64;
    let per = |c: usize| -> (Quantity, Quantity) {
        let (n, y) = (2 * c, 2 * c + 1);
        let (mn, mc) = (layout.mass_g(n), layout.mass_g(n) + layout.mass_g(y));
        (
            vec![(n as u32, 1.0 / mn)],
            vec![(n as u32, 1.0 / mc), (y as u32, 1.0 / mc)],
        )
    };
    let mut avg_n = Vec::new();
    let mut avg_c = Vec::new();
    let mut each = Vec::new();
    for &c in &cells {
        let (qn, qc) = per(c);
        avg_n.extend(qn.iter().map(|&(r, w)| (r, w / k)));
        avg_c.extend(qc.iter().map(|&(r, w)| (r, w / k)));
        if !layout.targets.is_empty() {
            each.push(qn);
            each.push(qc);
        }
    }
    let mut q = vec![avg_n, avg_c];
    q.extend(each);
    q
}

/// The runs of a table: tallies of the N, Cy and CS sources. Quantities come in pairs
/// (2i, 2i + 1) = (N, C) targets of row i.
pub struct TableRuns {
    /// Tallies for sources N, Cy, CS.
    pub tallies: [Tally; 3],
    /// Voxels of the source nucleus and cytoplasm (weights of the C source).
    pub source_voxels: [u64; 2],
}

impl TableRuns {
    /// Runs sources N, Cy, CS with `run(source, first, decays)`, each until the quantities
    /// `check` reach the target uncertainty of `opts` (if any).
    pub(crate) fn run(
        opts: &McOptions,
        source_voxels: [u64; 2],
        n_quantities: usize,
        check: &[usize],
        run: impl Fn(usize, u64, u64) -> Result<Tally>,
    ) -> Result<Self> {
        let one = |src: usize| run_until(opts, check, |first, n| run(src, first, n));
        // a nucleus as large as the cell leaves no cytoplasm to emit from: S from Cy is 0
        let cy = if source_voxels[1] > 0 {
            one(1)?
        } else {
            Tally::new(n_quantities)
        };
        Ok(TableRuns {
            tallies: [one(0)?, cy, one(2)?],
            source_voxels,
        })
    }

    /// Runs the three sources of `layout` (its quantities [`quantities`]: row 0 holds the
    /// targets' mean).
    pub fn of_layout(layout: &Layout, spec: &RunSpec) -> Result<Self> {
        let q = quantities(layout);
        let w = Weights::of_regions(&layout.region, &q);
        let voxels = [layout.voxels[0], layout.voxels[1]];
        TableRuns::run(spec.opts, voxels, q.len(), &[0, 1], |src, first, n| {
            run_layout(layout, spec, src, &w, first, n)
        })
    }

    /// Row i (quantities 2i and 2i + 1), S values with relative uncertainties. S(C←C)
    /// combines the N and Cy runs by source voxel counts.
    pub fn row(&self, i: usize, distance_cm: Option<f64>) -> Row {
        let s = |src: usize, q: usize| {
            let (m, sd) = self.tallies[src].mean_and_sigma(q);
            (m * MEV_PER_G_TO_GY, sd * MEV_PER_G_TO_GY)
        };
        let (qn, qc) = (2 * i, 2 * i + 1);
        let (wn, wy) = (self.source_voxels[0] as f64, self.source_voxels[1] as f64);
        let (cn, scn) = s(0, qc);
        let (cy, scy) = s(1, qc);
        let cc = (wn * cn + wy * cy) / (wn + wy);
        let scc = ((wn * scn).powi(2) + (wy * scy).powi(2)).sqrt() / (wn + wy);
        let cols = [s(0, qn), s(1, qn), s(2, qn), (cc, scc), s(2, qc)];
        let rel = |(m, sd): (f64, f64)| if m > 0.0 { sd / m } else { f64::INFINITY };
        Row {
            distance_cm,
            s_gy_per_bq_s: cols.map(|c| c.0),
            rel_unc: cols.map(rel),
        }
    }
}

/// Physics tables for a one-material phantom of `req`'s medium (condensed history at the
/// cell-scale cut, α tables if needed).
pub fn physics_for(req: &Request, with_alpha: bool) -> Result<PhysicsTables> {
    let p = PhysicsTables::new(std::slice::from_ref(&req.material), with_alpha)?;
    Ok(p.with_condensed(CondensedParams::with_cut(ELECTRON_CUT_MEV))?)
}
