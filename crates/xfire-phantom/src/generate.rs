//! Phantom generators: tumour spheroid / tissue block with necrotic core, capillaries and
//! infiltrating lymphocytes; single cells and clusters; box, sphere and slab.
//!
//! Dense random packing: tumour-cell centres start on a face-centred-cubic lattice whose
//! spacing gives the requested packing fraction, with a random offset, and are then relaxed by
//! Monte Carlo sweeps of random displacements that are accepted only when no two cells
//! overlap (hard spheres, with an optional minimum gap) and every cell stays inside the tumour,
//! out of the necrotic core and out of the capillaries. Everything is a pure function of the
//! specification and its seed.

use crate::cells::{kind_label_names, CellKind, CellRegistry};
use crate::grid::Grid;
use crate::labels::{self, LabelId, LabelTable};
use crate::phantom::{MaterialEntry, Phantom, BYTES_PER_VOXEL};
use crate::source::build_source_map;
use crate::spec::{axis, len, pos_len, Spec};
use crate::{PhantomError, Result};
use xfire_core::rng::{Rng, STREAM_PHANTOM};

/// Memory needed to generate and write a phantom.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MemoryEstimate {
    /// Number of voxels.
    pub voxels: u64,
    /// Bytes of the phantom in memory (per-voxel arrays, cell voxel lists, source maps).
    pub phantom_bytes: u64,
    /// Peak bytes while writing the HDF5 file (the writer stages the whole file in memory).
    pub peak_bytes: u64,
}

/// Estimate the memory for a grid with `n_source_maps` source maps.
pub fn estimate_memory(grid: &Grid, n_source_maps: usize) -> MemoryEstimate {
    let n = grid.len() as u64;
    let stored = n * (BYTES_PER_VOXEL + 4 * n_source_maps as u64);
    // + cell voxel lists (≤ 4 bytes per voxel)
    let phantom = stored + 4 * n;
    MemoryEstimate {
        voxels: n,
        phantom_bytes: phantom,
        peak_bytes: phantom + 2 * stored,
    }
}

/// A generated phantom and a human-readable report (cell counts, packing, source methods).
#[derive(Debug, Clone)]
pub struct Generated {
    /// The phantom.
    pub phantom: Phantom,
    /// Report lines.
    pub report: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
struct Ball {
    c: [f64; 3],
    r: f64,
    nr: f64,
    kind: CellKind,
}

#[derive(Debug, Clone, Copy)]
enum Region {
    Spheroid(f64),
    Block([f64; 3]),
}

impl Region {
    fn depth(&self, p: [f64; 3]) -> f64 {
        match *self {
            Region::Spheroid(r) => r - norm(p),
            Region::Block(h) => (0..3)
                .map(|a| h[a] - p[a].abs())
                .fold(f64::INFINITY, f64::min),
        }
    }
    fn volume_cm3(&self) -> f64 {
        match *self {
            Region::Spheroid(r) => 4.0 / 3.0 * std::f64::consts::PI * r * r * r,
            Region::Block(h) => 8.0 * h[0] * h[1] * h[2],
        }
    }
    fn half(&self) -> [f64; 3] {
        match *self {
            Region::Spheroid(r) => [r; 3],
            Region::Block(h) => h,
        }
    }
}

fn norm(p: [f64; 3]) -> f64 {
    (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt()
}

fn dist2(a: [f64; 3], b: [f64; 3]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)
}

/// Straight capillaries along `axis` on a square lattice of pitch `spacing`, offset by half a
/// pitch from the origin.
#[derive(Debug, Clone, Copy)]
struct Capillaries {
    axis: usize,
    radius: f64,
    spacing: f64,
}

impl Capillaries {
    /// Distance from `p` to the nearest capillary axis \[cm\].
    fn axis_distance(&self, p: [f64; 3]) -> f64 {
        let (a1, a2) = match self.axis {
            0 => (1, 2),
            1 => (0, 2),
            _ => (0, 1),
        };
        let s = self.spacing;
        let near = |x: f64| {
            let q = ((x - 0.5 * s) / s).round() * s + 0.5 * s;
            x - q
        };
        let (d1, d2) = (near(p[a1]), near(p[a2]));
        (d1 * d1 + d2 * d2).sqrt()
    }
}

/// Uniform spatial hash over the cell centres.
struct Bins {
    lo: [f64; 3],
    size: f64,
    n: [usize; 3],
    bins: Vec<Vec<u32>>,
}

impl Bins {
    fn new(lo: [f64; 3], hi: [f64; 3], size: f64) -> Self {
        let mut n = [1usize; 3];
        for a in 0..3 {
            n[a] = (((hi[a] - lo[a]) / size).ceil() as usize).clamp(1, 4096);
        }
        let total = n[0] * n[1] * n[2];
        Self {
            lo,
            size,
            n,
            bins: vec![Vec::new(); total],
        }
    }
    fn bin(&self, p: [f64; 3]) -> [usize; 3] {
        let mut b = [0usize; 3];
        for a in 0..3 {
            let x = ((p[a] - self.lo[a]) / self.size).floor();
            b[a] = x.clamp(0.0, (self.n[a] - 1) as f64) as usize;
        }
        b
    }
    fn flat(&self, b: [usize; 3]) -> usize {
        (b[2] * self.n[1] + b[1]) * self.n[0] + b[0]
    }
    fn insert(&mut self, id: u32, p: [f64; 3]) {
        let f = self.flat(self.bin(p));
        self.bins[f].push(id);
    }
    fn remove(&mut self, id: u32, p: [f64; 3]) {
        let f = self.flat(self.bin(p));
        if let Some(pos) = self.bins[f].iter().position(|&x| x == id) {
            self.bins[f].swap_remove(pos);
        }
    }
    /// Calls `f` for every id in the 27 bins around `p`; stops early when `f` returns true.
    fn any_near(&self, p: [f64; 3], mut f: impl FnMut(u32) -> bool) -> bool {
        let b = self.bin(p);
        let r = |a: usize| b[a].saturating_sub(1)..(b[a] + 2).min(self.n[a]);
        for k in r(2) {
            for j in r(1) {
                for i in r(0) {
                    for &id in &self.bins[self.flat([i, j, k])] {
                        if f(id) {
                            return true;
                        }
                    }
                }
            }
        }
        false
    }
}

/// Generate the phantom described by `spec`. `spec_text` is stored as provenance;
/// `material_density` gives the nominal density \[g/cm³\] of a material name, `None` when the
/// name is unknown.
pub fn generate(
    spec: &Spec,
    spec_text: &str,
    material_density: &dyn Fn(&str) -> Option<f64>,
) -> Result<Generated> {
    let grid = spec.grid.grid()?;
    let n = grid.len();
    let mut labels = LabelTable::new();
    let mut registry = CellRegistry::new();
    let mut label = vec![labels::MEDIUM; n];
    let mut cell_id = vec![0u32; n];
    let layout = lay_out(spec, &grid, &mut labels, &mut registry, &mut label)?;
    let mut report = layout.report;
    voxelise_cells(
        &layout.balls,
        &grid,
        &mut labels,
        &mut registry,
        &mut label,
        &mut cell_id,
    )?;
    registry.rebuild_voxel_lists(&cell_id, &label, &labels)?;
    check_label_names(spec, &labels)?;
    let mut phantom = Phantom {
        grid,
        materials: Vec::new(),
        labels,
        material: vec![0; n],
        density_g_cm3: vec![0.0; n],
        label,
        cell_id,
        cells: registry,
        source_maps: Vec::new(),
        provenance: spec_text.to_string(),
    };
    assign_materials(spec, &mut phantom, &layout.shape_material, material_density)?;
    report.extend(cell_summary(&phantom));
    add_source_maps(spec, &mut phantom, &mut report)?;
    phantom.validate()?;
    Ok(Generated { phantom, report })
}

/// What the geometry section of a specification places: the cells (balls), report lines,
/// and for a `[shape]` its label with the material and density it names.
struct Layout {
    balls: Vec<Ball>,
    report: Vec<String>,
    shape_material: Option<(LabelId, String, Option<f64>)>,
}

/// Lays out the one geometry of `spec` (`[tumour]`, `[cluster]` or `[shape]`) on `grid`:
/// labels of the tissue around the cells, and the cells to voxelise.
fn lay_out(
    spec: &Spec,
    grid: &Grid,
    labels: &mut LabelTable,
    registry: &mut CellRegistry,
    label: &mut [LabelId],
) -> Result<Layout> {
    let seed = spec.seed.unwrap_or(1);
    let mut out = Layout {
        balls: Vec::new(),
        report: Vec::new(),
        shape_material: None,
    };
    if let Some(t) = &spec.tumour {
        (out.balls, out.report) = tumour_balls(spec, t, grid, seed, label)?;
    } else if let Some(c) = &spec.cluster {
        out.balls = cluster_balls(c, grid, registry)?;
        if let Some(s) = &c.surrounding {
            let id = labels.get_or_add(s)?;
            label.fill(id);
        }
    } else if let Some(s) = &spec.shape {
        let lname = s.label.clone().unwrap_or_else(|| s.kind.clone());
        let id = labels.get_or_add(&lname)?;
        shape(s, grid, id, label)?;
        let material = s.material.clone().unwrap_or_else(|| "water".into());
        out.shape_material = Some((id, material, s.density));
    } else {
        return Err(PhantomError::Spec(
            "exactly one of [tumour], [cluster], [shape] must be given".into(),
        ));
    }
    Ok(out)
}

/// Registers every ball as a cell and writes its voxels (centre inside the ball) into
/// `cell_id` and `label` (nucleus inside the nucleus radius, else cytoplasm).
fn voxelise_cells(
    balls: &[Ball],
    grid: &Grid,
    labels: &mut LabelTable,
    registry: &mut CellRegistry,
    label: &mut [LabelId],
    cell_id: &mut [u32],
) -> Result<()> {
    for b in balls {
        let id = registry.push(b.kind, b.c, b.r, b.nr);
        let (nuc, cyt) = match b.kind {
            CellKind::TUMOUR => (labels::TUMOUR_NUCLEUS, labels::TUMOUR_CYTOPLASM),
            CellKind::LYMPHOCYTE => (labels::LYMPHOCYTE_NUCLEUS, labels::LYMPHOCYTE_CYTOPLASM),
            k => {
                let (a, c) = kind_label_names(registry.kind_name(k));
                (labels.get_or_add(&a)?, labels.get_or_add(&c)?)
            }
        };
        let (r2, nr2) = (b.r * b.r, b.nr * b.nr);
        for k in grid.axis_range(2, b.c[2] - b.r, b.c[2] + b.r) {
            for j in grid.axis_range(1, b.c[1] - b.r, b.c[1] + b.r) {
                for i in grid.axis_range(0, b.c[0] - b.r, b.c[0] + b.r) {
                    let d2 = dist2(grid.centre_ijk(i, j, k), b.c);
                    if d2 <= r2 {
                        let v = grid.index(i, j, k);
                        cell_id[v] = id;
                        label[v] = if d2 <= nr2 { nuc } else { cyt };
                    }
                }
            }
        }
    }
    Ok(())
}

/// Every `[labels.<name>]` table names a label of the phantom.
fn check_label_names(spec: &Spec, labels: &LabelTable) -> Result<()> {
    for name in spec.labels.keys() {
        if labels.id(name).is_none() {
            let known: Vec<&str> = labels.entries().iter().map(|e| e.1.as_str()).collect();
            return Err(PhantomError::UnknownLabel(format!(
                "[labels.{name}]: no label {name:?} in this phantom; labels are {known:?}"
            )));
        }
    }
    Ok(())
}

/// Material and density of every voxel from its label: `[labels.<name>]`, else the shape's
/// material, else the medium (label 0), else water; the density given, else the nominal one.
fn assign_materials(
    spec: &Spec,
    phantom: &mut Phantom,
    shape_material: &Option<(LabelId, String, Option<f64>)>,
    material_density: &dyn Fn(&str) -> Option<f64>,
) -> Result<()> {
    let labels = phantom.labels.clone();
    let max_id = labels.max_id() as usize;
    let mut mat_of = vec![0u8; max_id + 1];
    let mut rho_of = vec![0f32; max_id + 1];
    for (id, name) in labels.entries() {
        let (mname, dens) = if let Some(m) = spec.labels.get(name) {
            (m.material.clone(), m.density)
        } else if let Some((_, m, d)) = shape_material.as_ref().filter(|s| s.0 == *id) {
            (m.clone(), *d)
        } else if *id == labels::MEDIUM {
            medium(spec)
        } else {
            ("water".to_string(), None)
        };
        let nominal = material_density(&mname).ok_or_else(|| {
            PhantomError::UnknownMaterial(format!("label {name:?}: unknown material {mname:?}"))
        })?;
        let rho = match dens {
            Some(d) if d.is_finite() && d > 0.0 => d,
            Some(d) => {
                return Err(PhantomError::InvalidDensity(format!(
                    "label {name:?}: density must be finite and > 0 g/cm3, got {d}"
                )))
            }
            None => nominal,
        };
        mat_of[*id as usize] = phantom.material_or_add(&mname, nominal)?;
        rho_of[*id as usize] = rho as f32;
    }
    for v in 0..phantom.label.len() {
        let l = phantom.label[v] as usize;
        phantom.material[v] = mat_of[l];
        phantom.density_g_cm3[v] = rho_of[l];
    }
    Ok(())
}

/// Report lines: cells per kind, and a warning for cells without nucleus or cytoplasm voxels.
fn cell_summary(phantom: &Phantom) -> Vec<String> {
    let mut report = Vec::new();
    let counts = phantom.cells.count_by_kind();
    for (k, c) in counts.iter().enumerate() {
        if *c > 0 {
            report.push(format!("cells: {c} {}", phantom.cells.kind_names[k]));
        }
    }
    let empty = phantom
        .cells
        .cells
        .iter()
        .filter(|c| c.nucleus_voxels.is_empty() || c.cytoplasm_voxels.is_empty())
        .count();
    if empty > 0 {
        report.push(format!(
            "warning: {empty} cells have no nucleus or no cytoplasm voxel (voxels too coarse for their size)"
        ));
    }
    report
}

/// The source maps the specification names (or the default ones); an empty map is an error
/// when named explicitly, else left out.
fn add_source_maps(spec: &Spec, phantom: &mut Phantom, report: &mut Vec<String>) -> Result<()> {
    let explicit = spec.sources.is_some();
    for name in spec.source_names() {
        let m = build_source_map(
            &name,
            &phantom.grid,
            &phantom.label,
            &phantom.cell_id,
            &phantom.labels,
            &phantom.cells,
        )?;
        if m.weight.iter().all(|&w| w == 0.0) {
            if explicit {
                return Err(PhantomError::Spec(format!(
                    "source map {name:?} has no voxel with positive weight in this phantom"
                )));
            }
            continue;
        }
        report.push(format!("source {}: {}", m.name, m.method));
        phantom.source_maps.push(m);
    }
    Ok(())
}

fn medium(spec: &Spec) -> (String, Option<f64>) {
    match &spec.medium {
        Some(m) => (m.material.clone(), m.density),
        None => ("water".into(), None),
    }
}

fn rng(seed: u64, sub: u64) -> Rng {
    Rng::for_stream(seed, sub, STREAM_PHANTOM)
}

/// The validated tumour geometry: cell sizes, region, necrotic core, capillaries, packing.
#[derive(Debug, Clone, Copy)]
struct Tumour {
    /// Tumour-cell radius \[cm\].
    rc: f64,
    /// Tumour-cell nucleus radius \[cm\].
    rn: f64,
    /// Smallest gap between neighbouring cells \[cm\].
    gap: f64,
    region: Region,
    /// Radius of the necrotic core \[cm\] (0: none).
    necrotic: f64,
    caps: Option<Capillaries>,
    /// Target packing fraction.
    pf: f64,
}

impl Tumour {
    /// Whether a cell of radius `r` at `c` is inside the region, out of necrosis and capillaries.
    fn allowed(&self, c: [f64; 3], r: f64) -> bool {
        self.region.depth(c) >= r
            && (self.necrotic == 0.0 || norm(c) >= self.necrotic + r)
            && self.caps.is_none_or(|k| k.axis_distance(c) >= k.radius + r)
    }

    /// Tumour-cell radius plus half the minimum gap.
    fn r_eff(&self) -> f64 {
        self.rc + 0.5 * self.gap
    }

    /// A spatial hash over the region grown by `margin` on every side, of bin size `size`.
    fn bins(&self, margin: f64, size: f64) -> Bins {
        let half = self.region.half();
        Bins::new(
            [-half[0] - margin, -half[1] - margin, -half[2] - margin],
            [half[0] + margin, half[1] + margin, half[2] + margin],
            size,
        )
    }
}

/// The lymphocytes asked for: sizes, number and placement rule.
#[derive(Debug, Clone, Copy)]
struct LymphPlan<'a> {
    /// Lymphocyte radius \[cm\].
    rl: f64,
    /// Lymphocyte nucleus radius \[cm\].
    rln: f64,
    /// Number of lymphocytes to place.
    wanted: usize,
    /// `uniform`, `rim`, `vessels` or `stroma`.
    placement: &'a str,
    /// Rim thickness for `rim` \[cm\].
    rim: f64,
    /// Largest wall-to-surface distance for `vessels` \[cm\].
    vdist: f64,
    /// Clearance between a lymphocyte and a tumour cell \[cm\].
    margin: f64,
}

impl LymphPlan<'_> {
    /// Bin size of the hash over the lymphocytes (one lymphocyte diameter plus the gap).
    fn bin(&self, gap: f64) -> f64 {
        2.0 * self.rl + gap + 1e-9
    }
}

/// Cells placed so far in a spatial hash: the lymphocytes first, then the tumour cells.
struct Packing {
    balls: Vec<Ball>,
    bins: Bins,
    n_lymph: usize,
    /// Clearance between a lymphocyte and a tumour cell \[cm\].
    lymph_margin: f64,
}

impl Packing {
    /// Whether a tumour cell at `c` overlaps no placed cell other than `me`.
    fn clear(&self, tu: &Tumour, c: [f64; 3], me: Option<u32>) -> bool {
        !self.bins.any_near(c, |id| {
            if Some(id) == me {
                return false;
            }
            let o = &self.balls[id as usize];
            let g = if o.kind == CellKind::LYMPHOCYTE {
                self.lymph_margin
            } else {
                tu.gap
            };
            dist2(o.c, c) < (tu.rc + o.r + g).powi(2)
        })
    }
}

/// Tumour cells and lymphocytes of a `[tumour]` phantom (tumour cells first), with report
/// lines; writes the background labels (necrosis, vessels, stroma) of the region into `label`.
fn tumour_balls(
    spec: &Spec,
    t: &crate::spec::TumourSpec,
    grid: &Grid,
    seed: u64,
    label: &mut [LabelId],
) -> Result<(Vec<Ball>, Vec<String>)> {
    let mut report = Vec::new();
    let tu = tumour_geometry(t, grid)?;
    label_tumour_background(&tu, grid, label);
    let (lattice, a) = fcc_lattice(&tu, seed);
    let mut lymph: Vec<Ball> = Vec::new();
    let mut lymph_margin = tu.gap;
    if let Some(l) = &spec.lymphocytes {
        let lp = lymphocyte_plan(l, &tu, lattice.len())?;
        lymph_margin = lp.margin;
        lymph = place_lymphocytes(&tu, &lp, seed)?;
        if let Some(f) = l.fraction_of_cells {
            trim_lymphocytes(&tu, &lp, f, &lattice, &mut lymph);
        }
        report.push(format!(
            "lymphocytes: {} placed ({}), radius {:.2} um, nucleus {:.2} um",
            lymph.len(),
            lp.placement,
            lp.rl * 1e4,
            lp.rln * 1e4
        ));
    }
    let mut packing = seat_tumour_cells(&tu, lymph, lymph_margin, lattice);
    let sweeps = t.sweeps.unwrap_or(30);
    let (accepted, tried) = relax_tumour_cells(&tu, &mut packing, a, sweeps, seed);
    report.extend(tumour_report(&tu, &packing, a, sweeps, accepted, tried));
    // tumour cells first in the registry, then lymphocytes
    let (balls, n_lymph) = (&packing.balls, packing.n_lymph);
    let mut out: Vec<Ball> = balls[n_lymph..].to_vec();
    out.extend_from_slice(&balls[..n_lymph]);
    Ok((out, report))
}

/// Read and check `[tumour]`: cell and nucleus radii, gap, region, necrotic core,
/// capillaries and packing fraction.
fn tumour_geometry(t: &crate::spec::TumourSpec, grid: &Grid) -> Result<Tumour> {
    let rc = pos_len(&t.cell_radius, "tumour.cell_radius")?;
    let rn = pos_len(&t.nucleus_radius, "tumour.nucleus_radius")?;
    if rn >= rc {
        return Err(PhantomError::Spec(format!(
            "tumour.nucleus_radius ({} um) must be smaller than tumour.cell_radius ({} um)",
            rn * 1e4,
            rc * 1e4
        )));
    }
    let gap = match &t.min_gap {
        Some(g) => len(g, "tumour.min_gap")?.max(0.0),
        None => 0.0,
    };
    let region = tumour_region(t, grid)?;
    let necrotic = match &t.necrotic_radius {
        Some(r) => len(r, "tumour.necrotic_radius")?.max(0.0),
        None => 0.0,
    };
    let caps = match &t.capillaries {
        Some(c) => Some(capillaries(c)?),
        None => None,
    };
    let pf = t.packing_fraction.unwrap_or(0.6);
    if !(0.05..=0.70).contains(&pf) {
        return Err(PhantomError::Spec(format!(
            "tumour.packing_fraction must be in [0.05, 0.70], got {pf}"
        )));
    }
    Ok(Tumour {
        rc,
        rn,
        gap,
        region,
        necrotic,
        caps,
        pf,
    })
}

/// The tumour region (spheroid or block), checked to fit in the grid.
fn tumour_region(t: &crate::spec::TumourSpec, grid: &Grid) -> Result<Region> {
    let region = match t.shape.as_deref().unwrap_or("spheroid") {
        "spheroid" => {
            let r = pos_len(
                t.radius.as_deref().ok_or_else(|| {
                    PhantomError::Spec("tumour.radius is required for a spheroid".into())
                })?,
                "tumour.radius",
            )?;
            Region::Spheroid(r)
        }
        "block" => {
            let h = match &t.size {
                Some(s) => {
                    let s = s.to_cm("tumour.size")?;
                    [0.5 * s[0], 0.5 * s[1], 0.5 * s[2]]
                }
                None => {
                    let e = grid.extent_cm();
                    [0.5 * e[0], 0.5 * e[1], 0.5 * e[2]]
                }
            };
            if h.iter().any(|x| !(*x > 0.0)) {
                return Err(PhantomError::Spec("tumour.size must be positive".into()));
            }
            Region::Block(h)
        }
        other => {
            return Err(PhantomError::Spec(format!(
                "tumour.shape must be \"spheroid\" or \"block\", got {other:?}"
            )))
        }
    };
    // the region must fit in the grid (grid centred on the origin or not)
    let half = region.half();
    for a in 0..3 {
        let lo = grid.origin_cm[a];
        let hi = lo + grid.extent_cm()[a];
        if -half[a] < lo - 1e-12 || half[a] > hi + 1e-12 {
            return Err(PhantomError::Spec(format!(
                "the tumour (half-size {:.1} um along {}) does not fit in the grid [{:.1}, {:.1}] um",
                half[a] * 1e4,
                ["x", "y", "z"][a],
                lo * 1e4,
                hi * 1e4
            )));
        }
    }
    Ok(region)
}

/// Read and check `[tumour.capillaries]`.
fn capillaries(c: &crate::spec::CapillarySpec) -> Result<Capillaries> {
    let radius = pos_len(&c.radius, "tumour.capillaries.radius")?;
    let spacing = pos_len(&c.spacing, "tumour.capillaries.spacing")?;
    if spacing <= 2.0 * radius {
        return Err(PhantomError::Spec(format!(
            "tumour.capillaries.spacing ({} um) must exceed the capillary diameter ({} um)",
            spacing * 1e4,
            2.0 * radius * 1e4
        )));
    }
    Ok(Capillaries {
        axis: axis(c.axis.as_deref().unwrap_or("z"), "tumour.capillaries.axis")?,
        radius,
        spacing,
    })
}

/// Label the voxels of the region: necrosis, vessel or stroma (cells are drawn over later).
fn label_tumour_background(tu: &Tumour, grid: &Grid, label: &mut [LabelId]) {
    for v in 0..grid.len() {
        let p = grid.centre(v);
        if tu.region.depth(p) < 0.0 {
            continue;
        }
        label[v] = if norm(p) < tu.necrotic {
            labels::NECROSIS
        } else if tu.caps.is_some_and(|c| c.axis_distance(p) < c.radius) {
            labels::VESSEL
        } else {
            labels::STROMA
        };
    }
}

/// The allowed sites of a face-centred-cubic lattice with a random offset whose spacing gives
/// the packing fraction, and that spacing \[cm\] (random stream 0).
fn fcc_lattice(tu: &Tumour, seed: u64) -> (Vec<[f64; 3]>, f64) {
    let half = tu.region.half();
    let r_eff = tu.r_eff();
    let a = (16.0 * std::f64::consts::PI * r_eff.powi(3) / (3.0 * tu.pf)).cbrt();
    let mut rg = rng(seed, 0);
    let off = [rg.uniform() * a, rg.uniform() * a, rg.uniform() * a];
    let basis = [
        [0.0, 0.0, 0.0],
        [0.0, 0.5, 0.5],
        [0.5, 0.0, 0.5],
        [0.5, 0.5, 0.0],
    ];
    let mut lattice = Vec::new();
    let m = [
        (half[0] / a).ceil() as i64 + 1,
        (half[1] / a).ceil() as i64 + 1,
        (half[2] / a).ceil() as i64 + 1,
    ];
    for iz in -m[2]..=m[2] {
        for iy in -m[1]..=m[1] {
            for ix in -m[0]..=m[0] {
                for b in &basis {
                    let c = [
                        (ix as f64 + b[0]) * a + off[0] - 0.5 * a,
                        (iy as f64 + b[1]) * a + off[1] - 0.5 * a,
                        (iz as f64 + b[2]) * a + off[2] - 0.5 * a,
                    ];
                    if tu.allowed(c, tu.rc) {
                        lattice.push(c);
                    }
                }
            }
        }
    }
    (lattice, a)
}

/// Read and check `[lymphocytes]` against the tumour with `n_sites` lattice sites.
fn lymphocyte_plan<'a>(
    l: &'a crate::spec::LymphocyteSpec,
    tu: &Tumour,
    n_sites: usize,
) -> Result<LymphPlan<'a>> {
    let rl = pos_len(
        l.radius.as_deref().unwrap_or("3.5 um"),
        "lymphocytes.radius",
    )?;
    let rln = pos_len(
        l.nucleus_radius.as_deref().unwrap_or("3 um"),
        "lymphocytes.nucleus_radius",
    )?;
    if rln >= rl {
        return Err(PhantomError::Spec(format!(
            "lymphocytes.nucleus_radius ({} um) must be smaller than lymphocytes.radius ({} um)",
            rln * 1e4,
            rl * 1e4
        )));
    }
    let wanted = lymphocyte_count(l, &tu.region, n_sites)?;
    let placement = l.placement.as_deref().unwrap_or("uniform");
    let rim = match &l.rim_thickness {
        Some(s) => pos_len(s, "lymphocytes.rim_thickness")?,
        None => 6.0 * tu.rc,
    };
    let vdist = match &l.vessel_distance {
        Some(s) => len(s, "lymphocytes.vessel_distance")?.max(0.0),
        None => 15e-4,
    };
    match placement {
        "uniform" | "rim" | "stroma" => {}
        "vessels" => {
            if tu.caps.is_none() {
                return Err(PhantomError::Spec(
                    "lymphocytes.placement = \"vessels\" needs [tumour.capillaries]".into(),
                ));
            }
        }
        other => {
            return Err(PhantomError::Spec(format!(
                "lymphocytes.placement must be uniform, rim, vessels or stroma, got {other:?}"
            )))
        }
    }
    let mut margin = tu.gap;
    if placement == "stroma" {
        margin = match &l.stroma_margin {
            Some(s) => len(s, "lymphocytes.stroma_margin")?.max(0.0),
            None => 2e-4,
        };
    }
    let region = tu.region;
    let lymph_vol = wanted as f64 * 4.0 / 3.0 * std::f64::consts::PI * (rl + 0.5 * tu.gap).powi(3);
    if lymph_vol > 0.5 * region.volume_cm3() {
        return Err(PhantomError::Spec(format!(
            "{wanted} lymphocytes would fill {:.0} % of the tumour region: not enough room",
            100.0 * lymph_vol / region.volume_cm3()
        )));
    }
    Ok(LymphPlan {
        rl,
        rln,
        wanted,
        placement,
        rim,
        vdist,
        margin,
    })
}

/// The number of lymphocytes asked for by exactly one of fraction_of_cells (of `n_sites`
/// lattice sites), density_per_mm3 (over the region) or count.
fn lymphocyte_count(
    l: &crate::spec::LymphocyteSpec,
    region: &Region,
    n_sites: usize,
) -> Result<usize> {
    let set = [
        l.fraction_of_cells.is_some(),
        l.density_per_mm3.is_some(),
        l.count.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count();
    if set != 1 {
        return Err(PhantomError::Spec(
            "[lymphocytes] needs exactly one of fraction_of_cells, density_per_mm3, count".into(),
        ));
    }
    Ok(if let Some(f) = l.fraction_of_cells {
        if !(0.0..=0.9).contains(&f) {
            return Err(PhantomError::Spec(format!(
                "lymphocytes.fraction_of_cells must be in [0, 0.9], got {f}"
            )));
        }
        (f * n_sites as f64).round() as usize
    } else if let Some(d) = l.density_per_mm3 {
        if !(d.is_finite() && d >= 0.0) {
            return Err(PhantomError::Spec(format!(
                "lymphocytes.density_per_mm3 must be >= 0, got {d}"
            )));
        }
        (d * region.volume_cm3() * 1e3).round() as usize
    } else {
        l.count.unwrap_or(0)
    })
}

/// Place the lymphocytes by random sequential addition under the placement rule (random
/// stream 1); an error when they do not all fit.
fn place_lymphocytes(tu: &Tumour, lp: &LymphPlan, seed: u64) -> Result<Vec<Ball>> {
    let (rl, gap, half) = (lp.rl, tu.gap, tu.region.half());
    let wanted = lp.wanted;
    let lb = lp.bin(gap);
    let mut lbins = tu.bins(lb, lb);
    let mut lymph: Vec<Ball> = Vec::new();
    let mut rg = rng(seed, 1);
    let max_tries = 500 * wanted + 10_000;
    let mut tries = 0;
    while lymph.len() < wanted && tries < max_tries {
        tries += 1;
        let c = [
            (2.0 * rg.uniform() - 1.0) * half[0],
            (2.0 * rg.uniform() - 1.0) * half[1],
            (2.0 * rg.uniform() - 1.0) * half[2],
        ];
        if !tu.allowed(c, rl) {
            continue;
        }
        let ok_mode = match lp.placement {
            "rim" => tu.region.depth(c) <= lp.rim,
            "vessels" => tu
                .caps
                .is_some_and(|k| k.axis_distance(c) - k.radius - rl <= lp.vdist),
            _ => true,
        };
        if !ok_mode {
            continue;
        }
        if lbins.any_near(c, |id| {
            dist2(lymph[id as usize].c, c) < (2.0 * rl + gap).powi(2)
        }) {
            continue;
        }
        lbins.insert(lymph.len() as u32, c);
        lymph.push(Ball {
            c,
            r: rl,
            nr: lp.rln,
            kind: CellKind::LYMPHOCYTE,
        });
    }
    if lymph.len() < wanted {
        return Err(PhantomError::Spec(format!(
            "could place only {} of {wanted} lymphocytes with placement {:?}: not enough room",
            lymph.len(),
            lp.placement
        )));
    }
    Ok(lymph)
}

/// Each lymphocyte displaces about one or more lattice sites: trim the (randomly ordered)
/// list until lymphocytes / all cells matches `f` for the sites left.
fn trim_lymphocytes(
    tu: &Tumour,
    lp: &LymphPlan,
    f: f64,
    lattice: &[[f64; 3]],
    lymph: &mut Vec<Ball>,
) {
    let (rc, rl, margin) = (tu.rc, lp.rl, lp.margin);
    let lb = lp.bin(tu.gap);
    for _ in 0..8 {
        let mut b = tu.bins(lb, (rl + rc + margin).max(lb));
        for (i, x) in lymph.iter().enumerate() {
            b.insert(i as u32, x.c);
        }
        let t = lattice
            .iter()
            .filter(|c| {
                !b.any_near(**c, |id| {
                    dist2(lymph[id as usize].c, **c) < (rc + rl + margin).powi(2)
                })
            })
            .count();
        let target = (f / (1.0 - f) * t as f64).round() as usize;
        if target >= lymph.len() {
            break;
        }
        lymph.truncate(target);
    }
}

/// Seat a tumour cell on every lattice site clear of the lymphocytes and of the cells seated
/// before it.
fn seat_tumour_cells(
    tu: &Tumour,
    lymph: Vec<Ball>,
    lymph_margin: f64,
    lattice: Vec<[f64; 3]>,
) -> Packing {
    let rmax = lymph.iter().map(|b| b.r).fold(tu.rc, f64::max);
    let bin = 2.0 * rmax + tu.gap.max(lymph_margin) + 1e-9;
    let mut p = Packing {
        balls: Vec::new(),
        bins: tu.bins(bin, bin),
        n_lymph: lymph.len(),
        lymph_margin,
    };
    for l in lymph {
        p.bins.insert(p.balls.len() as u32, l.c);
        p.balls.push(l);
    }
    for c in lattice {
        if p.clear(tu, c, None) {
            p.bins.insert(p.balls.len() as u32, c);
            p.balls.push(Ball {
                c,
                r: tu.rc,
                nr: tu.rn,
                kind: CellKind::TUMOUR,
            });
        }
    }
    p
}

/// Monte Carlo relaxation sweeps of the tumour cells (random stream 2), the step adapted to
/// keep 30–50 % of the moves; returns the moves accepted and tried.
fn relax_tumour_cells(tu: &Tumour, p: &mut Packing, a: f64, sweeps: u32, seed: u64) -> (u64, u64) {
    let rc = tu.rc;
    let mut delta = (0.5 * (a / std::f64::consts::SQRT_2 - 2.0 * tu.r_eff())).max(0.05 * rc);
    let mut rg = rng(seed, 2);
    let mut accepted_total = 0u64;
    let mut tried_total = 0u64;
    for _ in 0..sweeps {
        let mut acc = 0u64;
        let mut tried = 0u64;
        for idx in p.n_lymph..p.balls.len() {
            let old = p.balls[idx].c;
            let c = [
                old[0] + (2.0 * rg.uniform() - 1.0) * delta,
                old[1] + (2.0 * rg.uniform() - 1.0) * delta,
                old[2] + (2.0 * rg.uniform() - 1.0) * delta,
            ];
            tried += 1;
            if tu.allowed(c, rc) && p.clear(tu, c, Some(idx as u32)) {
                p.bins.remove(idx as u32, old);
                p.bins.insert(idx as u32, c);
                p.balls[idx].c = c;
                acc += 1;
            }
        }
        let rate = acc as f64 / tried.max(1) as f64;
        if rate < 0.3 {
            delta *= 0.8;
        } else if rate > 0.5 {
            delta *= 1.2;
        }
        accepted_total += acc;
        tried_total += tried;
    }
    (accepted_total, tried_total)
}

/// Report lines of the packing: tumour cells, spacing, acceptance, volume and lymphocyte
/// fractions.
fn tumour_report(
    tu: &Tumour,
    p: &Packing,
    a: f64,
    sweeps: u32,
    accepted_total: u64,
    tried_total: u64,
) -> Vec<String> {
    let (balls, n_lymph) = (&p.balls, p.n_lymph);
    let n_t = balls.len() - n_lymph;
    let cell_vol: f64 = balls
        .iter()
        .map(|b| 4.0 / 3.0 * std::f64::consts::PI * b.r.powi(3))
        .sum();
    let mut report = vec![format!(
        "tumour: {} region, {n_t} tumour cells (radius {:.2} um, nucleus {:.2} um), FCC spacing {:.2} um, \
         {sweeps} relaxation sweeps ({:.0} % moves accepted), cell volume fraction {:.3}",
        match tu.region {
            Region::Spheroid(_) => "spheroid",
            Region::Block(_) => "block",
        },
        tu.rc * 1e4,
        tu.rn * 1e4,
        a * 1e4,
        100.0 * accepted_total as f64 / tried_total.max(1) as f64,
        cell_vol / tu.region.volume_cm3()
    )];
    if n_lymph > 0 {
        report.push(format!(
            "lymphocyte fraction of all cells: {:.3}",
            n_lymph as f64 / balls.len() as f64
        ));
    }
    report
}

const DEFAULT_DIRECTIONS: [[f64; 3]; 14] = [
    [1.0, 0.0, 0.0],
    [-1.0, 0.0, 0.0],
    [0.0, 1.0, 0.0],
    [0.0, -1.0, 0.0],
    [0.0, 0.0, 1.0],
    [0.0, 0.0, -1.0],
    [1.0, 1.0, 1.0],
    [-1.0, -1.0, 1.0],
    [-1.0, 1.0, -1.0],
    [1.0, -1.0, -1.0],
    [-1.0, 1.0, 1.0],
    [1.0, -1.0, 1.0],
    [1.0, 1.0, -1.0],
    [-1.0, -1.0, -1.0],
];

fn cluster_balls(
    c: &crate::spec::ClusterSpec,
    grid: &Grid,
    reg: &mut CellRegistry,
) -> Result<Vec<Ball>> {
    let kind = reg.kind_or_add(c.kind.as_deref().unwrap_or("tumour"))?;
    let r = pos_len(&c.cell_radius, "cluster.cell_radius")?;
    let nr = pos_len(&c.nucleus_radius, "cluster.nucleus_radius")?;
    if nr >= r {
        return Err(PhantomError::Spec(format!(
            "cluster.nucleus_radius ({} um) must be smaller than cluster.cell_radius ({} um)",
            nr * 1e4,
            r * 1e4
        )));
    }
    let centre = match &c.centre {
        Some(p) => [
            len(&p[0], "cluster.centre")?,
            len(&p[1], "cluster.centre")?,
            len(&p[2], "cluster.centre")?,
        ],
        None => [0.0; 3],
    };
    let first = Ball {
        c: centre,
        r,
        nr,
        kind,
    };
    let mut balls = vec![first];
    for (i, nb) in c.neighbours.iter().enumerate() {
        balls.push(neighbour_ball(i, nb, &first, reg)?);
    }
    check_cluster(&balls, grid)?;
    Ok(balls)
}

/// Neighbour `i` of the cluster's first cell: its kind (default: the first cell's), radii
/// (default: the first cell's, or 3.5/3 µm for a lymphocyte beside other cells) and centre
/// at `distance` along `direction` (default: the i-th of [`DEFAULT_DIRECTIONS`]).
fn neighbour_ball(
    i: usize,
    nb: &crate::spec::NeighbourSpec,
    first: &Ball,
    reg: &mut CellRegistry,
) -> Result<Ball> {
    let what = format!("cluster.neighbours[{i}]");
    let d = pos_len(&nb.distance, &format!("{what}.distance"))?;
    let nkind = match &nb.kind {
        Some(k) => reg.kind_or_add(k)?,
        None => first.kind,
    };
    let (dr, dn) = if nkind == CellKind::LYMPHOCYTE && first.kind != CellKind::LYMPHOCYTE {
        (3.5e-4, 3e-4)
    } else {
        (first.r, first.nr)
    };
    let br = match &nb.cell_radius {
        Some(s) => pos_len(s, &format!("{what}.cell_radius"))?,
        None => dr,
    };
    let bn = match &nb.nucleus_radius {
        Some(s) => pos_len(s, &format!("{what}.nucleus_radius"))?,
        None => dn.min(0.999 * br),
    };
    if bn >= br {
        return Err(PhantomError::Spec(format!(
            "{what}: nucleus radius {} um must be smaller than cell radius {} um",
            bn * 1e4,
            br * 1e4
        )));
    }
    let dir = match nb.direction {
        Some(v) => v,
        None => *DEFAULT_DIRECTIONS.get(i).ok_or_else(|| {
            PhantomError::Spec(format!(
                "{what}: give a direction (only the first 14 neighbours have default directions)"
            ))
        })?,
    };
    let l = norm(dir);
    if !(l.is_finite() && l > 0.0) {
        return Err(PhantomError::Spec(format!(
            "{what}.direction must be non-zero, got {dir:?}"
        )));
    }
    let centre = first.c;
    Ok(Ball {
        c: [
            centre[0] + d * dir[0] / l,
            centre[1] + d * dir[1] / l,
            centre[2] + d * dir[2] / l,
        ],
        r: br,
        nr: bn,
        kind: nkind,
    })
}

/// Every cell of a cluster lies inside the grid and overlaps no other.
fn check_cluster(balls: &[Ball], grid: &Grid) -> Result<()> {
    let e = grid.extent_cm();
    for (i, b) in balls.iter().enumerate() {
        for a in 0..3 {
            if b.c[a] - b.r < grid.origin_cm[a] - 1e-12
                || b.c[a] + b.r > grid.origin_cm[a] + e[a] + 1e-12
            {
                return Err(PhantomError::Spec(format!(
                    "cluster cell {i} (centre {:?} um, radius {} um) does not fit in the grid",
                    b.c.map(|x| (x * 1e4 * 1000.0).round() / 1000.0),
                    b.r * 1e4
                )));
            }
        }
        for (j, o) in balls.iter().enumerate().take(i) {
            let d = dist2(b.c, o.c).sqrt();
            if d < b.r + o.r - 1e-12 {
                return Err(PhantomError::Spec(format!(
                    "cluster cells {j} and {i} overlap: centre distance {:.3} um < radii sum {:.3} um",
                    d * 1e4,
                    (b.r + o.r) * 1e4
                )));
            }
        }
    }
    Ok(())
}

fn shape(
    s: &crate::spec::ShapeSpec,
    grid: &Grid,
    id: LabelId,
    label: &mut [LabelId],
) -> Result<()> {
    let centre = match &s.centre {
        Some(p) => [
            len(&p[0], "shape.centre")?,
            len(&p[1], "shape.centre")?,
            len(&p[2], "shape.centre")?,
        ],
        None => [0.0; 3],
    };
    match s.kind.as_str() {
        "box" => label.fill(id),
        "sphere" => {
            let r = pos_len(
                s.radius.as_deref().ok_or_else(|| {
                    PhantomError::Spec("shape.radius is required for a sphere".into())
                })?,
                "shape.radius",
            )?;
            for (v, l) in label.iter_mut().enumerate() {
                if dist2(grid.centre(v), centre) <= r * r {
                    *l = id;
                }
            }
        }
        "slab" => {
            let t = pos_len(
                s.thickness.as_deref().ok_or_else(|| {
                    PhantomError::Spec("shape.thickness is required for a slab".into())
                })?,
                "shape.thickness",
            )?;
            let a = axis(s.axis.as_deref().unwrap_or("z"), "shape.axis")?;
            for (v, l) in label.iter_mut().enumerate() {
                if (grid.centre(v)[a] - centre[a]).abs() <= 0.5 * t {
                    *l = id;
                }
            }
        }
        other => {
            return Err(PhantomError::Spec(format!(
                "shape.type must be \"box\", \"sphere\" or \"slab\", got {other:?}"
            )))
        }
    }
    Ok(())
}

/// Convenience: a one-material entry.
pub fn material(name: &str, density_g_cm3: f64) -> MaterialEntry {
    MaterialEntry {
        name: name.into(),
        density_g_cm3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn water_only(name: &str) -> Option<f64> {
        match name {
            "water" => Some(1.0),
            "soft_tissue_icrp" => Some(1.03),
            _ => None,
        }
    }

    fn gen(text: &str) -> Result<Generated> {
        let spec = Spec::from_toml(text)?;
        generate(&spec, text, &water_only)
    }

    const SPHEROID: &str = r#"
seed = 7
[grid]
voxel = "2 um"
size = "100 um"
[tumour]
radius = "40 um"
cell_radius = "5 um"
nucleus_radius = "3 um"
necrotic_radius = "12 um"
[lymphocytes]
fraction_of_cells = 0.05
[labels.tumour_nucleus]
material = "soft_tissue_icrp"
density = 1.05
"#;

    #[test]
    fn spheroid_is_reproducible_non_overlapping_and_labelled() {
        let a = gen(SPHEROID).unwrap();
        let b = gen(SPHEROID).unwrap();
        assert_eq!(a.phantom, b.phantom);
        let p = &a.phantom;
        let counts = p.cells.count_by_kind();
        // centres within 35 µm, outside 17 µm: 1.59e5 µm³ × 0.6 / 523.6 µm³ ≈ 180 cells
        assert!(counts[0] > 120 && counts[0] < 260, "{counts:?}");
        assert!(counts[1] >= 5 && counts[1] <= 15, "{counts:?}");
        for (i, c) in p.cells.cells.iter().enumerate() {
            assert!(norm(c.centre_cm) + c.radius_cm <= 40e-4 + 1e-12);
            assert!(norm(c.centre_cm) >= 12e-4 + c.radius_cm - 1e-12);
            for o in &p.cells.cells[..i] {
                assert!(
                    dist2(c.centre_cm, o.centre_cm).sqrt() >= c.radius_cm + o.radius_cm - 1e-12
                );
            }
            assert!(!c.nucleus_voxels.is_empty());
        }
        let stats = p.label_stats();
        let nec = &stats[labels::NECROSIS as usize];
        let expected = 4.0 / 3.0 * std::f64::consts::PI * (12e-4f64).powi(3);
        assert!(
            (nec.volume_cm3 / expected - 1.0).abs() < 0.15,
            "{}",
            nec.volume_cm3
        );
        // nucleus density override applied
        let v = p.cells.cells[0].nucleus_voxels[0] as usize;
        assert_eq!(p.density_g_cm3[v], 1.05);
        assert_eq!(p.materials[p.material[v] as usize].name, "soft_tissue_icrp");
        // membrane approximated at 2 µm voxels for 5 µm cells
        let m = p.source_map("tumour_membrane").unwrap();
        assert!(m.method.starts_with("approximated"), "{}", m.method);
        let total: f64 = m.weight.iter().map(|&w| w as f64).sum();
        assert!((total - counts[0] as f64).abs() < 1e-2 * total);
    }

    #[test]
    fn lymphocyte_placements() {
        let base = r#"
seed = 3
[grid]
voxel = "2 um"
size = "120 um"
[tumour]
shape = "block"
cell_radius = "5 um"
nucleus_radius = "3 um"
[tumour.capillaries]
radius = "4 um"
spacing = "60 um"
[lymphocytes]
count = 12
"#;
        for (placement, check) in [
            ("rim", 0usize),
            ("vessels", 1),
            ("stroma", 2),
            ("uniform", 3),
        ] {
            let text = format!("{base}placement = \"{placement}\"\n");
            let g = gen(&text).unwrap();
            let p = &g.phantom;
            let lym: Vec<_> = p
                .cells
                .cells
                .iter()
                .filter(|c| c.kind == CellKind::LYMPHOCYTE)
                .collect();
            assert_eq!(lym.len(), 12);
            let caps = Capillaries {
                axis: 2,
                radius: 4e-4,
                spacing: 60e-4,
            };
            for l in &lym {
                match check {
                    0 => assert!(Region::Block([60e-4; 3]).depth(l.centre_cm) <= 30e-4 + 1e-12),
                    1 => assert!(caps.axis_distance(l.centre_cm) - 4e-4 - 3.5e-4 <= 15e-4 + 1e-12),
                    2 => {
                        for t in p.cells.cells.iter().filter(|c| c.kind == CellKind::TUMOUR) {
                            assert!(
                                dist2(t.centre_cm, l.centre_cm).sqrt()
                                    >= 5e-4 + 3.5e-4 + 2e-4 - 1e-12
                            );
                        }
                    }
                    _ => {}
                }
                assert!(caps.axis_distance(l.centre_cm) >= 4e-4 + 3.5e-4 - 1e-12);
            }
            assert!(p.source_map("vessels").is_some());
        }
        assert!(gen(&base.replace("count = 12", "count = 100000")).is_err());
    }

    #[test]
    fn cluster_and_shapes() {
        let g = gen(r#"
[grid]
voxel = "0.5 um"
size = ["50 um", "20 um", "20 um"]
[cluster]
cell_radius = "7 um"
nucleus_radius = "5 um"
neighbours = [ { distance = "14 um" }, { distance = "16 um", kind = "lymphocyte" } ]
"#)
        .unwrap();
        let p = &g.phantom;
        assert_eq!(p.cells.len(), 3);
        assert_eq!(p.cells.count_by_kind(), vec![2, 1]);
        assert!(p
            .source_map("tumour_membrane")
            .unwrap()
            .method
            .starts_with("resolved"));
        // resolved membrane: weights concentrated near radius 7 µm of each tumour cell
        let m = p.source_map("tumour_membrane").unwrap();
        let c0 = p.cells.cells[0].centre_cm;
        let mut s = 0.0;
        for (v, &w) in m.weight.iter().enumerate() {
            let x = p.grid.centre(v);
            let d0 = dist2(x, c0).sqrt() - 7e-4;
            let nearest_is_0 = p.cells.cells[1..]
                .iter()
                .all(|c| dist2(x, c.centre_cm).sqrt() - c.radius_cm > d0);
            if w > 0.0 && nearest_is_0 {
                assert!(d0.abs() < 0.45e-4, "{d0}");
                s += w as f64;
            }
        }
        assert!((s - 1.0).abs() < 2e-2, "{s}");
        // nucleus volume close to the sphere volume
        let nv = p.cells.cells[0].nucleus_voxels.len() as f64 * p.grid.voxel_volume_cm3();
        let exp = 4.0 / 3.0 * std::f64::consts::PI * (5e-4f64).powi(3);
        assert!((nv / exp - 1.0).abs() < 0.03);

        // overlapping neighbours are refused
        let e = gen(r#"
[grid]
voxel = "1 um"
size = "40 um"
[cluster]
cell_radius = "7 um"
nucleus_radius = "5 um"
neighbours = [ { distance = "10 um" } ]
"#)
        .unwrap_err();
        assert!(e.to_string().contains("overlap"), "{e}");

        let g = gen(r#"
[grid]
voxel = "1 mm"
size = ["10 mm", "10 mm", "20 mm"]
[shape]
type = "slab"
thickness = "4 mm"
material = "soft_tissue_icrp"
"#)
        .unwrap();
        let st = g.phantom.label_stats();
        let slab = st.iter().find(|s| s.name == "slab").unwrap();
        assert_eq!(slab.voxels, 10 * 10 * 4);
        assert!((slab.mass_g - 0.4 * 1.03).abs() < 1e-4);

        let g = gen(
            "[grid]\nvoxel = \"0.5 mm\"\nsize = \"21 mm\"\n[shape]\ntype = \"sphere\"\nradius = \"5.2 mm\"\n",
        )
        .unwrap();
        let st = g.phantom.label_stats();
        let sph = st.iter().find(|s| s.name == "sphere").unwrap();
        let exp = 4.0 / 3.0 * std::f64::consts::PI * 0.52f64.powi(3);
        assert!(
            (sph.volume_cm3 / exp - 1.0).abs() < 0.05,
            "{} {exp} {:?}",
            sph.volume_cm3,
            g.phantom.grid
        );
    }

    #[test]
    fn bad_specs_are_refused() {
        let cases = [
            ("[grid]\nvoxel = \"-2 um\"\nsize = \"10 um\"\n[shape]\ntype = \"box\"\n", "positive"),
            ("[grid]\nvoxel = \"0 um\"\nsize = \"10 um\"\n[shape]\ntype = \"box\"\n", "positive"),
            ("[grid]\nvoxel = \"2 kg\"\nsize = \"10 um\"\n[shape]\ntype = \"box\"\n", "kg"),
            ("[grid]\nvoxel = \"1 um\"\nsize = \"10 um\"\n[shape]\ntype = \"box\"\nmaterial = \"unobtainium\"\n", "unobtainium"),
            ("[grid]\nvoxel = \"1 um\"\nsize = \"10 um\"\n[shape]\ntype = \"box\"\ndensity = -1.0\n", "density"),
            ("[grid]\nvoxel = \"1 um\"\nsize = \"10 um\"\n[shape]\ntype = \"box\"\ndensity = nan\n", "density"),
            ("[grid]\nvoxel = \"1 um\"\nsize = \"10 um\"\n[shape]\ntype = \"box\"\n[labels.liver]\nmaterial = \"water\"\n", "liver"),
            ("[grid]\nvoxel = \"1 um\"\nsize = \"10 um\"\n[shape]\ntype = \"cone\"\n", "cone"),
            ("[grid]\nvoxel = \"1 um\"\nsize = \"10 um\"\n", "exactly one"),
            ("[grid]\nvoxel = \"1 um\"\nsize = \"10 um\"\n[shape]\ntype = \"box\"\nbogus = 1\n", "bogus"),
        ];
        for (text, needle) in cases {
            let e = gen(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{needle:?} not in {e:?}");
        }
    }

    #[test]
    fn density_mode_and_explicit_sources() {
        let text = r#"
seed = 11
sources = ["lymphocyte_nucleus", "label:stroma", "uniform_in_tumour"]
[grid]
voxel = "2 um"
size = "100 um"
[tumour]
shape = "block"
cell_radius = "5 um"
nucleus_radius = "3 um"
[lymphocytes]
density_per_mm3 = 20000.0
placement = "stroma"
"#;
        let g = gen(text).unwrap();
        let p = &g.phantom;
        // 2e4 per mm3 × (0.1 mm)³ = 20 lymphocytes
        assert_eq!(p.cells.count_by_kind()[1], 20);
        let names: Vec<&str> = p.source_maps.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            ["lymphocyte_nucleus", "label:stroma", "uniform_in_tumour"]
        );
        let m = p.source_map("lymphocyte_nucleus").unwrap();
        for (v, &w) in m.weight.iter().enumerate() {
            assert_eq!(w > 0.0, p.label[v] == labels::LYMPHOCYTE_NUCLEUS);
        }
        let total: f64 = m.weight.iter().map(|&w| w as f64).sum();
        assert!((total - 20.0).abs() < 1e-3);
        assert!(p.source_sampler("label:stroma").is_ok());
        for bad in [
            "macrophage_nucleus",
            "label:liver",
            "tumour_mitochondria",
            "vessels",
        ] {
            let t = text.replace("\"uniform_in_tumour\"", &format!("\"{bad}\""));
            assert!(gen(&t).is_err(), "{bad}");
        }
    }

    #[test]
    fn memory_estimate_scales_with_voxels() {
        let g = Grid::centred([100, 100, 100], [1e-4; 3]).unwrap();
        let m = estimate_memory(&g, 2);
        assert_eq!(m.voxels, 1_000_000);
        assert!(m.phantom_bytes >= 1_000_000 * (BYTES_PER_VOXEL + 8));
        assert!(m.peak_bytes > m.phantom_bytes);
    }
}
