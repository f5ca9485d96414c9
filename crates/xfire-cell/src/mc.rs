//! Cellular S values by full transport (`xfire-transport`) on a fine voxel grid.
//!
//! Geometry of one row: the source cell centred at the origin and, for a neighbour row,
//! target cells whose centres are `distance` away: as many as fit without overlap on a circle
//! in the xy plane ([`ring`]; 6 at two cell radii, 31 at ten); their S values are averaged
//! (kept apart as well, for the direction-symmetry check). The grid is the bounding
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
use xfire_data::nuclides::EmissionSampler;
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
    fn new(nq: usize) -> Self {
        Tally {
            sum: vec![0.0; nq],
            sum2: vec![0.0; nq],
            ..Default::default()
        }
    }

    fn absorb(&mut self, o: &Tally) {
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

struct RegionScorer<'a> {
    region: &'a [u32],
    quantities: &'a [Quantity],
    hist: Vec<f64>,
    touched: Vec<u32>,
    emitted: f64,
    deposited: f64,
    escaped: f64,
    tally: Tally,
}

impl<'a> RegionScorer<'a> {
    fn new(region: &'a [u32], quantities: &'a [Quantity], n_regions: usize) -> Self {
        RegionScorer {
            region,
            quantities,
            hist: vec![0.0; n_regions],
            touched: Vec::new(),
            emitted: 0.0,
            deposited: 0.0,
            escaped: 0.0,
            tally: Tally::new(quantities.len()),
        }
    }

    fn add(&mut self, voxel: usize, e: f64) {
        self.deposited += e;
        let r = self.region[voxel];
        if r != NONE {
            if self.hist[r as usize] == 0.0 {
                self.touched.push(r);
            }
            self.hist[r as usize] += e;
        }
    }

    fn finish(&mut self) -> Tally {
        let nq = self.quantities.len();
        std::mem::replace(&mut self.tally, Tally::new(nq))
    }
}

impl Scorer for RegionScorer<'_> {
    fn begin_history(&mut self, emitted_mev: f64) {
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
        for (k, q) in self.quantities.iter().enumerate() {
            let v: f64 = q.iter().map(|&(r, w)| w * self.hist[r as usize]).sum();
            t.sum[k] += v;
            t.sum2[k] += v * v;
        }
        for &r in &self.touched {
            self.hist[r as usize] = 0.0;
        }
        self.touched.clear();
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
    let mut setup = TransportSetup::new(
        &layout.phantom,
        spec.physics,
        TSource::Map(&layout.sources[source]),
        spec.emitter,
        decays,
    );
    setup.cutoffs = Cutoffs {
        range_fraction_of_voxel: 0.1,
        min_energy_mev: ELECTRON_CUT_MEV,
    };
    setup.electron_model = spec.electron_model;
    setup.alpha_straggling = spec.alpha_straggling;
    // each source compartment draws its own histories
    setup.seed = spec.opts.seed.wrapping_add(source as u64 * 0x9E37_79B9);
    setup.first_history = first;
    setup.threads = spec.opts.threads;
    let mut total = Tally::new(quantities.len());
    let n_regions = layout.voxels.len();
    run_batches(
        &setup,
        || RegionScorer::new(&layout.region, quantities, n_regions),
        |s| s.finish(),
        |t| total.absorb(&t),
        &|_| {},
    )?;
    Ok(total)
}

/// Runs one source until the target uncertainty on quantities 0 and 1 (or the decays).
fn run_until(layout: &Layout, spec: &RunSpec, source: usize, q: &[Quantity]) -> Result<Tally> {
    let o = spec.opts;
    let mut t = run_source(layout, spec, source, q, 0, o.decays.max(2))?;
    if let Some(target) = o.target_rel_unc {
        for _ in 0..8 {
            let worst = (0..2).map(|k| t.rel_unc(k)).fold(0.0, f64::max);
            if worst <= target || t.decays >= o.max_decays || !worst.is_finite() {
                break;
            }
            let want = (t.decays as f64 * (worst / target).powi(2) * 1.05).ceil() as u64;
            let more = want.min(o.max_decays).saturating_sub(t.decays).max(1);
            let extra = run_source(layout, spec, source, q, t.decays, more)?;
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

/// One row's runs: the tallies of the N, Cy and CS sources.
pub struct RowRuns {
    /// Tallies for sources N, Cy, CS.
    pub tallies: [Tally; 3],
    /// Voxels of the source nucleus and cytoplasm (weights of the C source).
    pub source_voxels: [u64; 2],
}

impl RowRuns {
    /// Runs the three sources of `layout`.
    pub fn run(layout: &Layout, spec: &RunSpec) -> Result<Self> {
        let q = quantities(layout);
        // a nucleus as large as the cell leaves no cytoplasm to emit from: S from Cy is 0
        let cy = if layout.voxels[1] > 0 {
            run_until(layout, spec, 1, &q)?
        } else {
            Tally::new(q.len())
        };
        let tallies = [
            run_until(layout, spec, 0, &q)?,
            cy,
            run_until(layout, spec, 2, &q)?,
        ];
        Ok(RowRuns {
            tallies,
            source_voxels: [layout.voxels[0], layout.voxels[1]],
        })
    }

    /// The table row (S values with relative uncertainties).
    pub fn row(&self, distance_cm: Option<f64>) -> Row {
        let s = |src: usize, q: usize| {
            let (m, sd) = self.tallies[src].mean_and_sigma(q);
            (m * MEV_PER_G_TO_GY, sd * MEV_PER_G_TO_GY)
        };
        let (wn, wy) = (self.source_voxels[0] as f64, self.source_voxels[1] as f64);
        let (cn, scn) = s(0, 1);
        let (cy, scy) = s(1, 1);
        let cc = (wn * cn + wy * cy) / (wn + wy);
        let scc = ((wn * scn).powi(2) + (wy * scy).powi(2)).sqrt() / (wn + wy);
        let cols = [s(0, 0), s(1, 0), s(2, 0), (cc, scc), s(2, 1)];
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

/// Centres of the neighbour cells of a row: as many cells as fit without overlap on the
/// circle of radius `d` in the xy plane (K = ⌊π / asin(R_C/d)⌋ ≥ 6, at angles 2πk/K). Every
/// one is a neighbour at distance d (the medium is homogeneous), so their mean has K times
/// less variance than one target.
pub fn ring(d: f64, cell_radius_cm: f64) -> Vec<[f64; 3]> {
    let k = (std::f64::consts::PI / (cell_radius_cm / d).clamp(-1.0, 1.0).asin() + 1e-9).floor();
    let k = (k as usize).clamp(1, MAX_RING_CELLS);
    (0..k)
        .map(|i| {
            let a = 2.0 * std::f64::consts::PI * i as f64 / k as f64;
            [d * a.cos(), d * a.sin(), 0.0]
        })
        .collect()
}

/// The layout of a row: no target for the self row; the ring of neighbours when its grid
/// fits in [`MAX_GRID_VOXELS`], else two neighbours on ±x (an elongated grid).
pub fn row_layout(req: &Request, d: Option<f64>, h: f64, margin: f64) -> Result<Layout> {
    let Some(d) = d else {
        return Layout::new(req, &[], h, margin);
    };
    let rc = req.geometry.cell_radius_cm;
    let side = |half: f64| 2.0 * ((half + rc + margin) / h).ceil() + 1.0;
    let ring_voxels = side(d).powi(2) * side(0.0);
    let targets = if ring_voxels <= MAX_GRID_VOXELS as f64 {
        ring(d, rc)
    } else {
        vec![[d, 0.0, 0.0], [-d, 0.0, 0.0]]
    };
    Layout::new(req, &targets, h, margin)
}

/// Most neighbour cells on one ring.
pub const MAX_RING_CELLS: usize = 256;

/// The S-value table by full transport: one layout per row (targets on a ring, [`ring`]).
pub fn mc_table(req: &Request, opts: &McOptions) -> Result<(Vec<Row>, Vec<RowRuns>)> {
    req.check()?;
    if let Some(t) = opts.target_rel_unc {
        if !(t.is_finite() && t > 0.0) {
            return Err(CellError::Invalid(format!(
                "target uncertainty {t} must be a positive fraction (e.g. 0.01 for 1 %)"
            )));
        }
    }
    let sampler = EmissionSampler::new(&req.nuclide, req.radiations)?;
    let h = opts.voxel_for(&req.geometry);
    let margin = opts.margin_for(&req.geometry);
    let with_alpha = !req.nuclide.alpha.is_empty();
    let physics = physics_for(req, with_alpha)?;
    let mut rows = Vec::new();
    let mut runs = Vec::new();
    for d in req.row_distances() {
        let layout = row_layout(req, d, h, margin)?;
        let spec = RunSpec {
            physics: &physics,
            emitter: Emitter::Nuclide(&sampler),
            electron_model: ElectronModel::CondensedHistory,
            alpha_straggling: true,
            opts,
        };
        let r = RowRuns::run(&layout, &spec)?;
        rows.push(r.row(d));
        runs.push(r);
    }
    Ok((rows, runs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_cells_do_not_overlap_and_fill_the_circle() {
        for (d, want) in [(10.0, 6), (14.0, 8), (20.0, 12), (50.0, 31)] {
            let r = ring(d, 5.0);
            assert_eq!(r.len(), want, "d={d}");
            for (i, a) in r.iter().enumerate() {
                let norm = (a[0] * a[0] + a[1] * a[1] + a[2] * a[2]).sqrt();
                assert!((norm - d).abs() < 1e-12);
                for b in &r[i + 1..] {
                    let dd = ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
                    assert!(dd >= 10.0 * (1.0 - 1e-9), "d={d}: {dd}");
                }
            }
        }
    }
}
