//! Source-distribution maps (relative activity weight per voxel) and the alias sampler that
//! transport uses to pick decay voxels.
//!
//! Named distributions, built by [`build_source_map`]:
//!
//! | name | weight |
//! |---|---|
//! | `<kind>_membrane` (e.g. `tumour_membrane`) | each cell of the kind carries weight 1 on its surface; **resolved** (sphere surface area per voxel) when the largest voxel edge ≤ [`MEMBRANE_RESOLVED_FRACTION`] × cell radius, otherwise **approximated** by the outermost voxels of the cell (its voxels with a face neighbour outside the cell). The method is recorded in [`SourceMap::method`]. |
//! | `<kind>_cytoplasm` | each cell weight 1, uniform over its cytoplasm voxels |
//! | `<kind>_nucleus` | each cell weight 1, uniform over its nucleus voxels |
//! | `<kind>_uniform` (alias `uniform_in_tumour` for tumour) | 1 per voxel of every cell of the kind (uniform activity concentration) |
//! | `vessels` | 1 per vessel voxel |
//! | `label:<name>` | 1 per voxel with that label |

use crate::cells::{CellKind, CellRegistry};
use crate::grid::Grid;
use crate::labels::{LabelTable, VESSEL};
use crate::{PhantomError, Result};

/// A membrane source is resolved on the voxel grid when the largest voxel edge is at most this
/// fraction of the cell radius.
pub const MEMBRANE_RESOLVED_FRACTION: f64 = 0.2;

/// Relative activity weight per voxel for one named source distribution.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceMap {
    /// Name (e.g. `tumour_membrane`).
    pub name: String,
    /// How the weights were made (e.g. whether the membrane was resolved or approximated).
    pub method: String,
    /// Relative weight per voxel (dimensionless, ≥ 0; any normalisation).
    pub weight: Vec<f32>,
}

/// One axis-aligned box of a [`BoxSource`]: decays uniform inside it, which lies in the
/// space voxel `voxel` owns (a piece of a voxel: finer than the voxel grid).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceBox {
    /// Lower corner \[cm\].
    pub lo: [f64; 3],
    /// Upper corner \[cm\].
    pub hi: [f64; 3],
    /// The voxel (global index of the geometry) that owns the box.
    pub voxel: usize,
    /// Relative weight (≥ 0, same normalisation as `voxel_weight`).
    pub weight: f64,
}

impl SourceBox {
    /// Volume \[cm³\].
    pub fn volume_cm3(&self) -> f64 {
        (0..3).map(|a| self.hi[a] - self.lo[a]).product()
    }
}

/// A source finer than the voxel grid: voxels by weight (uniform inside each) and boxes by
/// weight (uniform inside each), both drawn from one distribution in proportion to weight.
/// Used to stratify a lesion's activity by the distance of the decay point to a micro box.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BoxSource {
    /// Name (for messages).
    pub name: String,
    /// Relative weight per voxel (one per voxel of the geometry), or empty for none.
    pub voxel_weight: Vec<f32>,
    /// The boxes.
    pub boxes: Vec<SourceBox>,
}

impl BoxSource {
    /// Sum of all weights (voxels and boxes).
    pub fn total_weight(&self) -> f64 {
        let v: f64 = self.voxel_weight.iter().map(|&w| w as f64).sum();
        v + self.boxes.iter().map(|b| b.weight).sum::<f64>()
    }
}

/// The standard distribution names [`build_source_map`] knows, besides `label:<name>`.
pub const STANDARD_SOURCES: [&str; 5] = [
    "tumour_membrane",
    "tumour_cytoplasm",
    "tumour_nucleus",
    "tumour_uniform",
    "vessels",
];

/// Build the source map `name` from labels and cells (see the module table).
pub fn build_source_map(
    name: &str,
    grid: &Grid,
    label: &[u16],
    cell_id: &[u32],
    labels: &LabelTable,
    cells: &CellRegistry,
) -> Result<SourceMap> {
    let n = grid.len();
    let mut w = vec![0f32; n];
    let method;
    if name == "vessels" {
        for (x, &l) in w.iter_mut().zip(label) {
            if l == VESSEL {
                *x = 1.0;
            }
        }
        method = "1 per vessel voxel".to_string();
    } else if let Some(lname) = name.strip_prefix("label:") {
        let id = labels.id(lname).ok_or_else(|| {
            PhantomError::UnknownLabel(format!(
                "source map {name:?}: no label named {lname:?} in this phantom"
            ))
        })?;
        for (x, &l) in w.iter_mut().zip(label) {
            if l == id {
                *x = 1.0;
            }
        }
        method = format!("1 per voxel labelled {lname}");
    } else {
        let name_k = if name == "uniform_in_tumour" {
            "tumour_uniform"
        } else {
            name
        };
        let (kind_name, part) = name_k
            .rsplit_once('_')
            .ok_or_else(|| unknown(name, cells))?;
        let kind = cells
            .kind_names
            .iter()
            .position(|k| k == kind_name)
            .map(|p| CellKind(p as u16))
            .ok_or_else(|| unknown(name, cells))?;
        let of_kind = cells.cells.iter().filter(|c| c.kind == kind);
        match part {
            "nucleus" | "cytoplasm" => {
                for c in of_kind {
                    let vox = if part == "nucleus" {
                        &c.nucleus_voxels
                    } else {
                        &c.cytoplasm_voxels
                    };
                    let each = 1.0 / vox.len().max(1) as f32;
                    for &v in vox {
                        w[v as usize] += each;
                    }
                }
                method = format!("each {kind_name} cell weight 1, uniform over its {part} voxels");
            }
            "uniform" => {
                for c in of_kind {
                    for &v in c.nucleus_voxels.iter().chain(&c.cytoplasm_voxels) {
                        w[v as usize] = 1.0;
                    }
                }
                method = format!("1 per voxel of every {kind_name} cell");
            }
            "membrane" => {
                let cells_k: Vec<_> = of_kind.collect();
                let hmax = grid.voxel_cm[0].max(grid.voxel_cm[1]).max(grid.voxel_cm[2]);
                let rmin = cells_k
                    .iter()
                    .map(|c| c.radius_cm)
                    .fold(f64::INFINITY, f64::min);
                if cells_k.is_empty() || hmax <= MEMBRANE_RESOLVED_FRACTION * rmin {
                    for c in &cells_k {
                        membrane_resolved(grid, c.centre_cm, c.radius_cm, &mut w);
                    }
                    method = format!(
                        "resolved: each {kind_name} cell weight 1 spread over its spherical surface by area \
                         (voxel {:.3} um <= {MEMBRANE_RESOLVED_FRACTION} x cell radius)",
                        hmax * 1e4
                    );
                } else {
                    for c in &cells_k {
                        membrane_outermost(
                            grid,
                            c.id,
                            &c.nucleus_voxels,
                            &c.cytoplasm_voxels,
                            cell_id,
                            &mut w,
                        );
                    }
                    method = format!(
                        "approximated: each {kind_name} cell weight 1 uniform over its outermost voxels \
                         (voxel {:.3} um > {MEMBRANE_RESOLVED_FRACTION} x cell radius {:.3} um)",
                        hmax * 1e4,
                        rmin * 1e4
                    );
                }
            }
            _ => return Err(unknown(name, cells)),
        }
    }
    Ok(SourceMap {
        name: name.to_string(),
        method,
        weight: w,
    })
}

fn unknown(name: &str, cells: &CellRegistry) -> PhantomError {
    PhantomError::Spec(format!(
        "unknown source distribution {name:?}: use vessels, label:<name>, or <kind>_membrane|_cytoplasm|_nucleus|_uniform \
         with a kind in {:?}",
        cells.kind_names
    ))
}

/// Spread weight 1 over the sphere surface (centre `c`, radius `r` [cm]) by area: a Fibonacci
/// lattice of points on the sphere, each carrying 1/N, added to the voxel of `w` containing
/// it (points outside the grid are dropped). Used by the membrane sources and by
/// `xfire-cell` for cell-surface sources.
pub fn membrane_resolved(grid: &Grid, c: [f64; 3], r: f64, w: &mut [f32]) {
    let hmin = grid.voxel_cm[0].min(grid.voxel_cm[1]).min(grid.voxel_cm[2]);
    let area = 4.0 * std::f64::consts::PI * r * r;
    let npts = ((area / (hmin * hmin)) * 32.0).clamp(256.0, 2.0e6) as usize;
    let each = 1.0 / npts as f64;
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    for k in 0..npts {
        let z = 1.0 - (2.0 * k as f64 + 1.0) / npts as f64;
        let s = (1.0 - z * z).max(0.0).sqrt();
        let phi = golden * k as f64;
        let p = [
            c[0] + r * s * phi.cos(),
            c[1] + r * s * phi.sin(),
            c[2] + r * z,
        ];
        if let Some(v) = grid.locate(p) {
            w[v] += each as f32;
        }
    }
}

/// Weight 1 uniform over the cell's voxels that have a face neighbour outside the cell;
/// cytoplasm voxels are used when the cell has any, its nucleus voxels otherwise.
fn membrane_outermost(
    grid: &Grid,
    id: u32,
    nucleus: &[u32],
    cytoplasm: &[u32],
    cell_id: &[u32],
    w: &mut [f32],
) {
    let vox = if cytoplasm.is_empty() {
        nucleus
    } else {
        cytoplasm
    };
    let outer: Vec<u32> = vox
        .iter()
        .copied()
        .filter(|&v| {
            let [i, j, k] = grid.ijk(v as usize);
            let n = grid.dims();
            let ijk = [i, j, k];
            for a in 0..3 {
                for d in [-1i64, 1] {
                    let c = ijk[a] as i64 + d;
                    if c < 0 || c >= n[a] as i64 {
                        return true;
                    }
                    let mut q = ijk;
                    q[a] = c as usize;
                    if cell_id[grid.index(q[0], q[1], q[2])] != id {
                        return true;
                    }
                }
            }
            false
        })
        .collect();
    let each = 1.0 / outer.len().max(1) as f32;
    for v in outer {
        w[v as usize] += each;
    }
}

/// Walker/Vose alias table over the voxels with positive weight: O(1) sampling of a voxel
/// with probability proportional to its weight.
///
/// Invariant: `prob` and `alias` have one entry per voxel in `voxels`; `prob ∈ [0, 1]`.
#[derive(Debug, Clone)]
pub struct AliasSampler {
    voxels: Vec<u32>,
    prob: Vec<f64>,
    alias: Vec<u32>,
    total_weight: f64,
}

impl AliasSampler {
    /// Build from per-voxel weights. Errors when a weight is negative or not finite, or when
    /// all are zero.
    pub fn new(weights: &[f32]) -> Result<Self> {
        let mut voxels = Vec::new();
        let mut w = Vec::new();
        let mut total = 0.0f64;
        for (v, &x) in weights.iter().enumerate() {
            if !(x.is_finite() && x >= 0.0) {
                return Err(PhantomError::Inconsistent(format!(
                    "source weight {x} at voxel {v} must be finite and >= 0"
                )));
            }
            if x > 0.0 {
                voxels.push(v as u32);
                w.push(x as f64);
                total += x as f64;
            }
        }
        if voxels.is_empty() {
            return Err(PhantomError::Inconsistent(
                "source map has no voxel with positive weight".into(),
            ));
        }
        let m = w.len();
        let mut prob: Vec<f64> = w.iter().map(|x| x * m as f64 / total).collect();
        let mut alias: Vec<u32> = (0..m as u32).collect();
        let mut small: Vec<usize> = Vec::new();
        let mut large: Vec<usize> = Vec::new();
        for (i, &p) in prob.iter().enumerate() {
            if p < 1.0 {
                small.push(i);
            } else {
                large.push(i);
            }
        }
        while let (Some(s), Some(&l)) = (small.pop(), large.last()) {
            alias[s] = l as u32;
            prob[l] -= 1.0 - prob[s];
            if prob[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        for i in large.into_iter().chain(small) {
            prob[i] = 1.0;
        }
        Ok(Self {
            voxels,
            prob,
            alias,
            total_weight: total,
        })
    }

    /// Number of voxels with positive weight.
    pub fn len(&self) -> usize {
        self.voxels.len()
    }

    /// Never true for a constructed sampler.
    pub fn is_empty(&self) -> bool {
        self.voxels.is_empty()
    }

    /// Sum of all weights.
    pub fn total_weight(&self) -> f64 {
        self.total_weight
    }

    /// Voxel index for two uniform numbers in (0, 1).
    #[inline]
    pub fn sample_voxel(&self, u1: f64, u2: f64) -> usize {
        let m = self.voxels.len();
        let i = ((u1 * m as f64) as usize).min(m - 1);
        let j = if u2 < self.prob[i] {
            i
        } else {
            self.alias[i] as usize
        };
        self.voxels[j] as usize
    }

    /// A decay position: voxel chosen by weight, position uniform inside it \[cm\]. Returns
    /// (position \[cm\], voxel index). Uses 5 draws from `rng`.
    #[inline]
    pub fn sample_position(
        &self,
        grid: &Grid,
        rng: &mut xfire_core::rng::Rng,
    ) -> ([f64; 3], usize) {
        let v = self.sample_voxel(rng.uniform(), rng.uniform());
        let c = grid.corner(v);
        let p = [
            c[0] + rng.uniform() * grid.voxel_cm[0],
            c[1] + rng.uniform() * grid.voxel_cm[1],
            c[2] + rng.uniform() * grid.voxel_cm[2],
        ];
        (p, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_sampler_matches_weights() {
        let weights = [0.0f32, 1.0, 3.0, 0.0, 6.0];
        let s = AliasSampler::new(&weights).unwrap();
        assert_eq!(s.len(), 3);
        let mut rng = xfire_core::rng::Rng::for_stream(5, 0, 0);
        let n = 200_000;
        let mut h = [0usize; 5];
        for _ in 0..n {
            h[s.sample_voxel(rng.uniform(), rng.uniform())] += 1;
        }
        assert_eq!(h[0] + h[3], 0);
        for (v, p) in [(1usize, 0.1f64), (2, 0.3), (4, 0.6)] {
            let sigma = (p * (1.0 - p) / n as f64).sqrt();
            let f = h[v] as f64 / n as f64;
            assert!((f - p).abs() < 5.0 * sigma, "voxel {v}: {f} vs {p}");
        }
        assert!(AliasSampler::new(&[0.0, 0.0]).is_err());
        assert!(AliasSampler::new(&[1.0, f32::NAN]).is_err());
        assert!(AliasSampler::new(&[1.0, -1.0]).is_err());
    }

    #[test]
    fn sampled_positions_fall_in_their_voxel() {
        let g = Grid::new([3, 2, 2], [0.1, 0.2, 0.3], [1.0, 2.0, 3.0]).unwrap();
        let mut w = vec![0f32; g.len()];
        w[7] = 1.0;
        w[2] = 2.0;
        let s = AliasSampler::new(&w).unwrap();
        let mut rng = xfire_core::rng::Rng::for_stream(1, 2, 3);
        for _ in 0..1000 {
            let (p, v) = s.sample_position(&g, &mut rng);
            assert!(v == 7 || v == 2);
            assert_eq!(g.locate(p), Some(v));
        }
    }
}
