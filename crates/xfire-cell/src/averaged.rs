//! Neighbour S values of every distance from one set of histories, on exact spheres averaged
//! over directions (the `--method mc` table).
//!
//! In the MIRD model the medium is homogeneous and each source compartment is spherically
//! symmetric about the source cell's centre, so a neighbour at centre distance d receives the
//! same S value in every direction (`tests/mc.rs::neighbours_in_every_direction_get_the_same_s_values`
//! checks it) and that S value is its average over all directions u. For energy e deposited
//! at p, the expected energy in a target ball of radius a centred at d·u, u uniform on the
//! sphere, is e·c(|p|) with c(s) = [`cap_fraction`]`(s, d, a)` — the fraction of the sphere of
//! radius d about the source centre inside the ball of radius a about p. Scoring
//! e·c(|p|)/m_a (m_a the mass of the exact sphere) for every deposit of a decay is therefore an
//! unbiased estimator of the neighbour's S value that uses every deposit in the spherical shell
//! d − a < |p| < d + a instead of those inside a few cells, and every distance is scored from
//! the same decays. The values of different distances are correlated (same decays); each S
//! value's uncertainty comes from its own per-decay values, as for any tally.
//!
//! Geometry: the source cell on the fine grid of the self row (edge h = `--voxel`, default
//! R_N/10; nucleus and cytoplasm voxelised as in [`crate::mc::Layout`]) nested in a coarse
//! grid (edge H = [`coarse_voxel`]) that reaches `--margin` beyond the farthest neighbour.
//! Deposits are known to the voxel: c is averaged over each voxel by the 3×3×3 midpoint rule
//! (the deposit taken uniform inside the voxel; in a coarse voxel cut by the fine grid's box,
//! over its points outside the box). The self row (targets: the voxelised source nucleus and
//! cell) comes from the same decays.

use xfire_data::nuclides::EmissionSampler;
use xfire_phantom::{Grid, MaterialEntry, Nested, Phantom, SourceMap};
use xfire_physics::csda::ElectronModel;
use xfire_transport::{Emitter, Source as TSource, TransportSetup};

use crate::geometry::cap_fraction;
use crate::mc::{
    configure, physics_for, run_weighted, Layout, McOptions, RunSpec, TableRuns, Weights,
    MAX_GRID_VOXELS, NONE,
};
use crate::table::Row;
use crate::{CellError, Request, Result};

/// Most coarse voxels per axis (so that the coarse grid stays below about 8·10⁶ voxels).
pub const MAX_COARSE_PER_AXIS: usize = 201;

/// The coarse voxel edge [cm] for neighbours up to `d_max` [cm] around a fine grid of edge
/// `h`: R_N/2 (at least h), or larger when the grid out to d_max + R_C + margin would need
/// more than [`MAX_COARSE_PER_AXIS`] voxels per axis.
pub fn coarse_voxel(req: &Request, h: f64, d_max: f64, margin: f64) -> f64 {
    let half = d_max + req.geometry.cell_radius_cm + margin;
    (req.geometry.nucleus_radius_cm / 2.0)
        .max(h)
        .max(2.0 * half / (MAX_COARSE_PER_AXIS - 2) as f64)
}

/// The nested geometry of a table and its scoring weights.
pub struct AveragedLayout {
    /// The fine grid (source cell) nested in the coarse grid.
    pub nested: Nested,
    /// Source maps N, Cy, CS over the global voxels.
    pub sources: [SourceMap; 3],
    /// Weights: quantity 0/1 the self N/C, then 2 + 2k / 3 + 2k neighbour N/C at distance k.
    pub weights: Weights,
    /// Voxels of the source nucleus and cytoplasm.
    pub source_voxels: [u64; 2],
    /// Neighbour distances [cm].
    pub distances_cm: Vec<f64>,
}

impl AveragedLayout {
    /// Builds the layout for `req`'s distances with fine voxel `h`, margin and coarse voxel.
    pub fn new(req: &Request, h: f64, margin: f64, coarse: f64) -> Result<Self> {
        let fine = Layout::new(req, &[], h, margin)?;
        let d_max = req.distances_cm.iter().copied().fold(0.0, f64::max);
        // the coarse box must hold the fine grid's box
        let fine_half = 0.5 * fine.phantom.grid.nx as f64 * h;
        let half = (d_max + req.geometry.cell_radius_cm + margin).max(fine_half);
        let n = 2 * (half / coarse).ceil() as usize + 1;
        if n.pow(3) > MAX_GRID_VOXELS {
            return Err(CellError::Invalid(format!(
                "the coarse grid needs {n}³ voxels of {} µm (limit {MAX_GRID_VOXELS})",
                coarse * 1e4
            )));
        }
        let grid =
            Grid::centred([n; 3], [coarse; 3]).map_err(|e| CellError::Invalid(e.to_string()))?;
        let entry = MaterialEntry {
            name: req.material.name.clone(),
            density_g_cm3: req.material.density_g_cm3,
        };
        let outer = Phantom::uniform(grid, entry, 0);
        let nested = Nested::new(fine.phantom.clone(), outer)
            .map_err(|e| CellError::Invalid(e.to_string()))?;
        let total = nested.len();
        let sources = fine.sources.clone().map(|mut m| {
            m.weight.resize(total, 0.0);
            m
        });
        let weights = weights(req, &fine, &nested, coarse);
        Ok(AveragedLayout {
            nested,
            sources,
            weights,
            source_voxels: [fine.voxels[0], fine.voxels[1]],
            distances_cm: req.distances_cm.clone(),
        })
    }
}

/// Mean of c over the voxel centred at `c0` with edge `e` (3×3×3 midpoint rule), over its
/// points for which `keep` holds (0 when none).
fn voxel_mean(
    c0: [f64; 3],
    e: f64,
    keep: impl Fn([f64; 3]) -> bool,
    c: impl Fn(f64) -> f64,
) -> f64 {
    let (mut sum, mut n) = (0.0, 0u32);
    for i in [-1.0, 0.0, 1.0] {
        for j in [-1.0, 0.0, 1.0] {
            for k in [-1.0, 0.0, 1.0] {
                let p = [
                    c0[0] + i * e / 3.0,
                    c0[1] + j * e / 3.0,
                    c0[2] + k * e / 3.0,
                ];
                if keep(p) {
                    sum += c((p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt());
                    n += 1;
                }
            }
        }
    }
    if n == 0 {
        0.0
    } else {
        sum / f64::from(n)
    }
}

/// The scoring weights of the nested layout (MeV/g per MeV deposited).
fn weights(req: &Request, fine: &Layout, nested: &Nested, coarse: f64) -> Weights {
    let g = req.geometry;
    let rho = req.material.density_g_cm3;
    let targets: Vec<(f64, f64)> = [g.nucleus_radius_cm, g.cell_radius_cm]
        .into_iter()
        .map(|a| {
            (
                a,
                1.0 / (rho * 4.0 / 3.0 * std::f64::consts::PI * a.powi(3)),
            )
        })
        .collect();
    let (m_n, m_c) = (fine.mass_g(0), fine.mass_g(0) + fine.mass_g(1));
    let n_micro = nested.grid.n_micro();
    let (lo, hi) = nested.grid.micro_box_cm();
    let outside = |p: [f64; 3]| (0..3).any(|a| p[a] < lo[a] || p[a] > hi[a]);
    let h = fine.phantom.grid.voxel_cm[0];
    let nq = 2 + 2 * req.distances_cm.len();
    Weights::build(nested.len(), nq, |v, out| {
        let (centre, edge, micro) = if v < n_micro {
            (fine.phantom.grid.centre(v), h, true)
        } else {
            (nested.outer.grid.centre(v - n_micro), coarse, false)
        };
        if micro {
            match fine.region[v] {
                0 => out.extend([(0, 1.0 / m_n), (1, 1.0 / m_c)]),
                1 => out.push((1, 1.0 / m_c)),
                _ => debug_assert_eq!(fine.region[v], NONE),
            }
        }
        let r = (centre[0].powi(2) + centre[1].powi(2) + centre[2].powi(2)).sqrt();
        let reach = edge * 3f64.sqrt() / 2.0;
        for (k, &d) in req.distances_cm.iter().enumerate() {
            for (t, &(a, inv_m)) in targets.iter().enumerate() {
                if (r - d).abs() >= a + reach {
                    continue;
                }
                let c = voxel_mean(
                    centre,
                    edge,
                    |p| micro || outside(p),
                    |s| cap_fraction(s, d, a),
                );
                if c > 0.0 {
                    out.push(((2 + 2 * k + t) as u32, c * inv_m));
                }
            }
        }
    })
}

/// Runs the three sources of `layout` (each until every S value reaches the target
/// uncertainty of `spec.opts`, if any).
pub fn run_table(layout: &AveragedLayout, spec: &RunSpec) -> Result<TableRuns> {
    let nq = layout.weights.n_quantities;
    let check: Vec<usize> = (0..nq).collect();
    TableRuns::run(
        spec.opts,
        layout.source_voxels,
        nq,
        &check,
        |src, first, n| {
            let mut setup = TransportSetup::nested(
                &layout.nested,
                spec.physics,
                TSource::Map(&layout.sources[src]),
                spec.emitter,
                n,
            );
            configure(&mut setup, spec, src, first);
            run_weighted(&setup, &layout.weights)
        },
    )
}

/// The S-value table by full transport: self row and every distance from the same decays.
pub fn mc_table(req: &Request, opts: &McOptions) -> Result<(Vec<Row>, TableRuns)> {
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
    let d_max = req.distances_cm.iter().copied().fold(0.0, f64::max);
    let layout = AveragedLayout::new(req, h, margin, coarse_voxel(req, h, d_max, margin))?;
    let physics = physics_for(req, !req.nuclide.alpha.is_empty())?;
    let spec = RunSpec {
        physics: &physics,
        emitter: Emitter::Nuclide(&sampler),
        electron_model: ElectronModel::CondensedHistory,
        alpha_straggling: true,
        opts,
    };
    let runs = run_table(&layout, &spec)?;
    let rows = req
        .row_distances()
        .into_iter()
        .enumerate()
        .map(|(i, d)| runs.row(i, d))
        .collect();
    Ok((rows, runs))
}
