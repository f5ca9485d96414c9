//! A micrometre grid nested inside a millimetre grid (docs/physics.md, "Nested geometry").
//!
//! Both grids live in one global frame \[cm\]. The micro grid's box replaces the part of the
//! macro grid it covers: a point inside the box belongs to the micro voxel there, a point
//! outside it to the macro voxel there, so every point belongs to exactly one voxel. The box
//! need not be aligned to macro voxels: a macro voxel the box cuts owns only its part outside
//! the box (its volume and mass are that part's, `Geometry::owned_volume_cm3`).
//!
//! One index space: micro voxels `0..n_micro` (their own indices), then macro voxels
//! `n_micro + v`. A ray is walked as (macro piece before the box, micro piece inside it, macro
//! piece after it); the box is convex, so a ray crosses it at most once.

use crate::geometry::Geometry;
use crate::grid::{Grid, Traversal, VoxelStep};
use crate::labels::LabelId;
use crate::phantom::{MaterialEntry, Phantom};
use crate::{PhantomError, Result};
use xfire_core::rng::Rng;

/// The micro grid's box placed in the macro grid (region 0: micro, region 1: macro).
#[derive(Debug, Clone, PartialEq)]
pub struct NestedGrid {
    micro: Grid,
    outer: Grid,
    n_micro: usize,
    lo: [f64; 3],
    hi: [f64; 3],
}

impl NestedGrid {
    /// Nests `micro` in `outer`; the micro box must lie inside the macro grid's box.
    pub fn new(micro: Grid, outer: Grid) -> Result<Self> {
        let (lo, hi) = grid_box(&micro);
        let (olo, ohi) = grid_box(&outer);
        for a in 0..3 {
            if lo[a] < olo[a] || hi[a] > ohi[a] {
                return Err(PhantomError::InvalidGrid(format!(
                    "the micro grid's box [{}, {}] cm along {} is not inside the macro grid's \
                     [{}, {}] cm",
                    lo[a],
                    hi[a],
                    ["x", "y", "z"][a],
                    olo[a],
                    ohi[a]
                )));
            }
        }
        let n_micro = micro.len();
        if (n_micro as u64 + outer.len() as u64) > crate::MAX_VOXELS {
            return Err(PhantomError::InvalidGrid(format!(
                "nested grids hold {} voxels, more than the supported {}",
                n_micro as u64 + outer.len() as u64,
                crate::MAX_VOXELS
            )));
        }
        Ok(Self {
            micro,
            outer,
            n_micro,
            lo,
            hi,
        })
    }

    /// The micro grid.
    pub fn micro(&self) -> &Grid {
        &self.micro
    }

    /// The macro grid.
    pub fn outer(&self) -> &Grid {
        &self.outer
    }

    /// Number of micro voxels (the first macro voxel's global index).
    pub fn n_micro(&self) -> usize {
        self.n_micro
    }

    /// The micro box's lower and upper corners \[cm\].
    pub fn micro_box_cm(&self) -> ([f64; 3], [f64; 3]) {
        (self.lo, self.hi)
    }

    /// The ray parameters \[cm\] where the ray from `pos` along `dir` enters and leaves the
    /// micro box (empty when the first is not below the second).
    #[inline]
    fn box_interval(&self, pos: [f64; 3], dir: [f64; 3]) -> (f64, f64) {
        let (mut t0, mut t1) = (f64::NEG_INFINITY, f64::INFINITY);
        for a in 0..3 {
            if dir[a] == 0.0 {
                if pos[a] < self.lo[a] || pos[a] >= self.hi[a] {
                    return (1.0, 0.0);
                }
            } else {
                let inv = 1.0 / dir[a];
                let (ta, tb) = ((self.lo[a] - pos[a]) * inv, (self.hi[a] - pos[a]) * inv);
                let (ta, tb) = if ta < tb { (ta, tb) } else { (tb, ta) };
                t0 = t0.max(ta);
                t1 = t1.min(tb);
            }
        }
        (t0, t1)
    }

    /// Intersection of macro voxel `v` (macro index) with the micro box: lower and upper
    /// corners, or `None` when they do not overlap in volume.
    fn overlap(&self, v: usize) -> Option<([f64; 3], [f64; 3])> {
        let c = self.outer.corner(v);
        let h = self.outer.voxel_cm;
        let mut lo = [0.0; 3];
        let mut hi = [0.0; 3];
        for a in 0..3 {
            lo[a] = c[a].max(self.lo[a]);
            hi[a] = (c[a] + h[a]).min(self.hi[a]);
            if !(hi[a] > lo[a]) {
                return None;
            }
        }
        Some((lo, hi))
    }

    /// The boxes \[cm\] (lower, upper corners) that make up the space macro voxel `v` (macro
    /// index) owns: the voxel itself, or up to six pieces of it around the micro box (none
    /// when the box covers it).
    pub fn owned_boxes(&self, v: usize) -> Vec<([f64; 3], [f64; 3])> {
        match self.overlap(v) {
            None => {
                let c = self.outer.corner(v);
                let h = self.outer.voxel_cm;
                vec![(c, [c[0] + h[0], c[1] + h[1], c[2] + h[2]])]
            }
            Some((lo_i, hi_i)) => {
                let (p, n) = self.owned_pieces(v, lo_i, hi_i);
                p[..n].to_vec()
            }
        }
    }

    /// Volume \[cm³\] of the space that belongs to voxel `voxel` (global index): a micro
    /// voxel's volume, or the part of a macro voxel outside the micro box.
    fn owned(&self, voxel: usize) -> f64 {
        if voxel < self.n_micro {
            return self.micro.voxel_volume_cm3();
        }
        let full = self.outer.voxel_volume_cm3();
        match self.overlap(voxel - self.n_micro) {
            None => full,
            Some((lo, hi)) => {
                let cut = (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]);
                // a voxel the box covers owns nothing (not a rounding residue)
                let left = full - cut;
                if left > 1e-9 * full {
                    left
                } else {
                    0.0
                }
            }
        }
    }

    /// The boxes (up to 6) that make up macro voxel `v` (macro index) minus the micro box,
    /// with their volumes; slabs below/above the overlap along x, then y, then z.
    fn owned_pieces(&self, v: usize, lo_i: [f64; 3], hi_i: [f64; 3]) -> ([Piece; 6], usize) {
        let c = self.outer.corner(v);
        let h = self.outer.voxel_cm;
        let mut lo = c;
        let mut hi = [c[0] + h[0], c[1] + h[1], c[2] + h[2]];
        let mut pieces = [(lo, hi); 6];
        let mut n = 0;
        for a in 0..3 {
            if lo_i[a] > lo[a] {
                let mut p_hi = hi;
                p_hi[a] = lo_i[a];
                pieces[n] = (lo, p_hi);
                n += 1;
            }
            if hi_i[a] < hi[a] {
                let mut p_lo = lo;
                p_lo[a] = hi_i[a];
                pieces[n] = (p_lo, hi);
                n += 1;
            }
            lo[a] = lo_i[a];
            hi[a] = hi_i[a];
        }
        (pieces, n)
    }
}

/// An axis-aligned box: lower and upper corners \[cm\].
type Piece = ([f64; 3], [f64; 3]);

fn grid_box(g: &Grid) -> ([f64; 3], [f64; 3]) {
    let n = g.dims();
    let lo = g.origin_cm;
    let hi = [
        lo[0] + n[0] as f64 * g.voxel_cm[0],
        lo[1] + n[1] as f64 * g.voxel_cm[1],
        lo[2] + n[2] as f64 * g.voxel_cm[2],
    ];
    (lo, hi)
}

/// The ray walk of a [`NestedGrid`]: up to three pieces (macro, micro, macro) in order.
#[derive(Debug, Clone)]
pub struct NestedTraversal {
    pieces: [(Traversal, usize); 3],
    at: usize,
}

impl Iterator for NestedTraversal {
    type Item = VoxelStep;

    #[inline]
    fn next(&mut self) -> Option<VoxelStep> {
        while self.at < 3 {
            let (walk, offset) = &mut self.pieces[self.at];
            if let Some(s) = walk.next() {
                return Some(VoxelStep {
                    index: s.index + *offset,
                    length_cm: s.length_cm,
                });
            }
            self.at += 1;
        }
        None
    }
}

impl Geometry for NestedGrid {
    type Walk = NestedTraversal;

    fn n_voxels(&self) -> usize {
        self.n_micro + self.outer.len()
    }

    #[inline]
    fn locate(&self, pos_cm: [f64; 3]) -> Option<usize> {
        match self.micro.locate(pos_cm) {
            Some(v) => Some(v),
            None => self.outer.locate(pos_cm).map(|v| v + self.n_micro),
        }
    }

    fn traverse(&self, pos: [f64; 3], dir: [f64; 3], d: f64) -> NestedTraversal {
        let (a, b) = self.box_interval(pos, dir);
        let m = self.n_micro;
        let pieces = if !(a < b) || b <= 0.0 || a >= d {
            let none = self.micro.traverse_between(pos, dir, 0.0, 0.0);
            [
                (self.outer.traverse(pos, dir, d), m),
                (none.clone(), 0),
                (none, 0),
            ]
        } else {
            let (a0, b0) = (a.max(0.0), b.min(d));
            [
                (self.outer.traverse_between(pos, dir, 0.0, a0), m),
                (self.micro.traverse_between(pos, dir, a0, b0), 0),
                (self.outer.traverse_between(pos, dir, b0, d), m),
            ]
        };
        NestedTraversal { pieces, at: 0 }
    }

    #[inline]
    fn distance_to_voxel_exit(&self, pos: [f64; 3], dir: [f64; 3]) -> Option<(usize, f64)> {
        if let Some(r) = self.micro.distance_to_voxel_exit(pos, dir) {
            return Some(r);
        }
        let (v, t) = self.outer.distance_to_voxel_exit(pos, dir)?;
        let (a, b) = self.box_interval(pos, dir);
        let t = if a < b && a >= 0.0 { t.min(a) } else { t };
        Some((v + self.n_micro, t))
    }

    fn distance_to_boundary(&self, pos: [f64; 3], voxel: usize) -> f64 {
        if voxel < self.n_micro {
            return self.micro.distance_to_boundary(pos, voxel);
        }
        let faces = self.outer.distance_to_boundary(pos, voxel - self.n_micro);
        let mut s = 0.0;
        for a in 0..3 {
            let d = (self.lo[a] - pos[a]).max(pos[a] - self.hi[a]).max(0.0);
            s += d * d;
        }
        faces.min(s.sqrt())
    }

    fn owned_volume_cm3(&self, voxel: usize) -> f64 {
        self.owned(voxel)
    }

    fn sample_in_voxel(&self, voxel: usize, rng: &mut Rng) -> [f64; 3] {
        if voxel < self.n_micro {
            return self.micro.sample_in_voxel(voxel, rng);
        }
        let v = voxel - self.n_micro;
        let Some((lo_i, hi_i)) = self.overlap(v) else {
            return self.outer.sample_in_voxel(v, rng);
        };
        let (pieces, n) = self.owned_pieces(v, lo_i, hi_i);
        let pieces = &pieces[..n];
        let vol = |(l, h): &Piece| (h[0] - l[0]) * (h[1] - l[1]) * (h[2] - l[2]);
        let total: f64 = pieces.iter().map(vol).sum();
        let mut u = rng.uniform() * total;
        // a fully covered macro voxel owns no space: Engine::new refuses weight on it
        let mut pick = pieces.last().copied().unwrap_or((lo_i, hi_i));
        for p in pieces {
            let w = vol(p);
            if u < w {
                pick = *p;
                break;
            }
            u -= w;
        }
        let (l, h) = pick;
        [
            l[0] + rng.uniform() * (h[0] - l[0]),
            l[1] + rng.uniform() * (h[1] - l[1]),
            l[2] + rng.uniform() * (h[2] - l[2]),
        ]
    }

    fn owns_box(&self, voxel: usize, lo: [f64; 3], hi: [f64; 3]) -> bool {
        if voxel < self.n_micro {
            return self.micro.owns_box(voxel, lo, hi);
        }
        // inside the macro voxel and not overlapping the micro box by more than the tolerance
        self.outer.owns_box(voxel - self.n_micro, lo, hi)
            && (0..3).any(|a| {
                let tol = 1e-9 * self.outer.voxel_cm[a];
                hi[a].min(self.hi[a]) - lo[a].max(self.lo[a]) <= tol
            })
    }

    #[inline]
    fn region(&self, voxel: usize) -> usize {
        (voxel >= self.n_micro) as usize
    }

    fn region_min_edge_cm(&self, region: usize) -> f64 {
        let g = if region == 0 {
            &self.micro
        } else {
            &self.outer
        };
        g.region_min_edge_cm(0)
    }

    fn n_regions(&self) -> usize {
        2
    }

    fn diagonal_cm(&self) -> f64 {
        self.outer.diagonal_cm()
    }
}

/// A micro phantom nested in a macro phantom, with one material table and one label table
/// (the micro phantom's, extended by the macro phantom's names) and the per-voxel material
/// and density arrays over the global index space that transport reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Nested {
    /// The micro phantom (its grid in the global frame).
    pub micro: Phantom,
    /// The macro phantom (no cells; material and label ids in the shared tables).
    pub outer: Phantom,
    /// The geometry.
    pub grid: NestedGrid,
    /// Material id per global voxel (micro, then macro).
    pub material: Vec<u8>,
    /// Density per global voxel \[g/cm³\] (micro, then macro).
    pub density_g_cm3: Vec<f32>,
}

impl Nested {
    /// Nests `micro` in `outer`: both validated, the micro box inside the macro grid, the
    /// macro phantom without cells; the macro material and label names are added to the
    /// micro phantom's tables and the macro ids renumbered into them.
    pub fn new(mut micro: Phantom, mut outer: Phantom) -> Result<Self> {
        micro.validate()?;
        outer.validate()?;
        if !outer.cells.is_empty() {
            return Err(PhantomError::Inconsistent(format!(
                "the macro phantom of a nested geometry must have no cells, it has {}",
                outer.cells.len()
            )));
        }
        let grid = NestedGrid::new(micro.grid, outer.grid)?;
        let mut mat_map = Vec::with_capacity(outer.materials.len());
        for m in &outer.materials {
            mat_map.push(micro.material_or_add(&m.name, m.density_g_cm3)?);
        }
        for x in &mut outer.material {
            *x = mat_map[*x as usize];
        }
        outer.materials = micro.materials.clone();
        let mut label_map = vec![0 as LabelId; outer.labels.max_id() as usize + 1];
        for (id, name) in outer.labels.entries() {
            label_map[*id as usize] = micro.labels.get_or_add(name)?;
        }
        for l in &mut outer.label {
            *l = label_map[*l as usize];
        }
        outer.labels = micro.labels.clone();
        let mut material = micro.material.clone();
        material.extend_from_slice(&outer.material);
        let mut density_g_cm3 = micro.density_g_cm3.clone();
        density_g_cm3.extend_from_slice(&outer.density_g_cm3);
        Ok(Self {
            micro,
            outer,
            grid,
            material,
            density_g_cm3,
        })
    }

    /// Number of voxels (micro + macro).
    pub fn len(&self) -> usize {
        self.material.len()
    }

    /// Never true (both grids have voxels).
    pub fn is_empty(&self) -> bool {
        self.material.is_empty()
    }

    /// Mass \[g\] of the space that belongs to global voxel `v`.
    pub fn voxel_mass_g(&self, v: usize) -> f64 {
        self.density_g_cm3[v] as f64 * self.grid.owned(v)
    }

    /// Label per global voxel.
    pub fn labels(&self) -> Vec<LabelId> {
        let mut l = self.micro.label.clone();
        l.extend_from_slice(&self.outer.label);
        l
    }

    /// Checks the arrays against the phantoms (lengths, ids; the tables are shared).
    pub fn validate(&self) -> Result<()> {
        self.micro.validate()?;
        self.outer.validate()?;
        let n = self.grid.n_voxels();
        if self.material.len() != n || self.density_g_cm3.len() != n {
            return Err(PhantomError::Inconsistent(format!(
                "nested arrays have {} materials and {} densities for {n} voxels",
                self.material.len(),
                self.density_g_cm3.len()
            )));
        }
        if self.outer.materials != self.micro.materials {
            return Err(PhantomError::Inconsistent(
                "the nested phantoms do not share one material table".into(),
            ));
        }
        let nm = self.micro.materials.len();
        if let Some(v) = self.material.iter().position(|&m| m as usize >= nm) {
            return Err(PhantomError::UnknownMaterial(format!(
                "nested voxel {v} has material id {} but the table has {nm} entries",
                self.material[v]
            )));
        }
        if let Some(v) = self
            .density_g_cm3
            .iter()
            .position(|d| !(d.is_finite() && *d >= 0.0))
        {
            return Err(PhantomError::InvalidDensity(format!(
                "nested voxel {v} has density {} g/cm3 (must be finite and >= 0)",
                self.density_g_cm3[v]
            )));
        }
        Ok(())
    }
}

/// Label of the lesion voxels of [`lesion_phantom`].
pub const LESION_LABEL: &str = "lesion";
/// Label of the body voxels around the lesion.
pub const BODY_LABEL: &str = "body";
/// Label of the voxels outside the body (vacuum, density 0: particles there escape).
pub const OUTSIDE_LABEL: &str = "outside";

/// A generated macro phantom: a sphere of radius `radius_cm` of `lesion` (label
/// [`LESION_LABEL`]) centred on the origin, in a sphere of radius `body_radius_cm` of `body`
/// ([`BODY_LABEL`]), vacuum outside it ([`OUTSIDE_LABEL`], density 0); cubic voxels of edge
/// `voxel_cm`, an odd number along each axis so that the origin is a voxel centre. A voxel
/// belongs to the sphere its centre lies in. Errors name non-positive sizes (cm), a body
/// smaller than the lesion, and grids beyond [`crate::MAX_VOXELS`].
pub fn lesion_phantom(
    radius_cm: f64,
    voxel_cm: f64,
    lesion: MaterialEntry,
    body: MaterialEntry,
    body_radius_cm: f64,
) -> Result<Phantom> {
    for (what, x) in [
        ("lesion radius", radius_cm),
        ("lesion voxel", voxel_cm),
        ("body radius", body_radius_cm),
    ] {
        if !(x.is_finite() && x > 0.0) {
            return Err(PhantomError::Spec(format!(
                "the {what} must be positive and finite, got {x} cm"
            )));
        }
    }
    if body_radius_cm < radius_cm {
        return Err(PhantomError::Spec(format!(
            "the body radius {body_radius_cm} cm is smaller than the lesion radius {radius_cm} cm"
        )));
    }
    let half = (body_radius_cm / voxel_cm).ceil();
    let n = 2.0 * half + 1.0;
    if n * n * n > crate::MAX_VOXELS as f64 {
        return Err(PhantomError::InvalidGrid(format!(
            "a body of radius {body_radius_cm} cm in voxels of {voxel_cm} cm needs {n}^3 voxels, \
             more than the supported {}",
            crate::MAX_VOXELS
        )));
    }
    let n = n as usize;
    let grid = Grid::centred([n, n, n], [voxel_cm; 3])?;
    let mut p = Phantom::uniform(grid, body, 0);
    let lesion_m = p.material_or_add(&lesion.name, lesion.density_g_cm3)?;
    let l_lesion = p.labels.get_or_add(LESION_LABEL)?;
    let l_body = p.labels.get_or_add(BODY_LABEL)?;
    let l_out = p.labels.get_or_add(OUTSIDE_LABEL)?;
    // centres on a sphere (to rounding) count as inside
    let tol = 1.0 + 1e-9;
    let (r2, b2) = (
        radius_cm * radius_cm * tol,
        body_radius_cm * body_radius_cm * tol,
    );
    for v in 0..grid.len() {
        let c = grid.centre(v);
        let d2 = c[0] * c[0] + c[1] * c[1] + c[2] * c[2];
        if d2 <= r2 {
            p.material[v] = lesion_m;
            p.density_g_cm3[v] = lesion.density_g_cm3 as f32;
            p.label[v] = l_lesion;
        } else if d2 <= b2 {
            p.label[v] = l_body;
        } else {
            p.label[v] = l_out;
            p.density_g_cm3[v] = 0.0;
        }
    }
    p.provenance = format!(
        "lesion: sphere of radius {radius_cm} cm of {}, body sphere of radius {body_radius_cm} cm \
         of {}, voxel {voxel_cm} cm",
        lesion.name, p.materials[0].name
    );
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 5×4×6 macro grid of 1 cm voxels and a micro box cutting macro voxels partially.
    fn nested_grid() -> NestedGrid {
        let outer = Grid::new([5, 4, 6], [1.0; 3], [-2.5, -2.0, -3.0]).unwrap();
        let micro = Grid::new([7, 5, 9], [0.21, 0.3, 0.17], [-0.93, -0.41, -0.77]).unwrap();
        NestedGrid::new(micro, outer).unwrap()
    }

    #[test]
    fn every_point_belongs_to_one_voxel_and_walks_agree() {
        let g = nested_grid();
        let mut rng = Rng::for_stream(3, 0, 0);
        for _ in 0..3000 {
            // starts inside the macro grid (the walk skips what lies before the grid)
            let p = [
                -2.5 + 5.0 * rng.uniform(),
                -2.0 + 4.0 * rng.uniform(),
                -3.0 + 6.0 * rng.uniform(),
            ];
            let d = rng.isotropic();
            let dist = 6.0 * rng.uniform();
            let mut total = 0.0;
            for s in g.traverse(p, d, dist) {
                let tmid = total + 0.5 * s.length_cm;
                let m = [p[0] + tmid * d[0], p[1] + tmid * d[1], p[2] + tmid * d[2]];
                assert_eq!(g.locate(m), Some(s.index), "p {p:?} d {d:?}");
                total += s.length_cm;
            }
            let n = 20000;
            let inside = (0..n)
                .filter(|k| {
                    let t = (*k as f64 + 0.5) / n as f64 * dist;
                    g.locate([p[0] + t * d[0], p[1] + t * d[1], p[2] + t * d[2]])
                        .is_some()
                })
                .count();
            let expected = inside as f64 / n as f64 * dist;
            assert!((total - expected).abs() < 3.0 * dist / n as f64 + 1e-9);
            // the first step of the walk is the voxel exit (or the box entry)
            if let Some((v, t)) = g.distance_to_voxel_exit(p, d) {
                let first = g.traverse(p, d, 100.0).next().unwrap();
                assert_eq!(v, first.index);
                assert!((t - first.length_cm).abs() < 1e-9, "{t} {first:?}");
            }
        }
    }

    #[test]
    fn owned_volumes_fill_the_macro_grid_and_samples_stay_inside() {
        let g = nested_grid();
        let total: f64 = (0..g.n_voxels()).map(|v| g.owned_volume_cm3(v)).sum();
        assert!((total - 120.0).abs() < 1e-9, "{total}");
        let mut rng = Rng::for_stream(4, 0, 0);
        for v in 0..g.n_voxels() {
            for _ in 0..20 {
                let p = g.sample_in_voxel(v, &mut rng);
                assert_eq!(g.locate(p), Some(v));
                let d = g.distance_to_boundary(p, v);
                assert!(d >= 0.0);
            }
        }
        // a point outside the box in a cut macro voxel: distance to the box counts
        let v = g.locate([-1.0, 0.5, 0.5]).unwrap();
        assert!((g.distance_to_boundary([-1.0, 0.5, 0.5], v) - 0.07).abs() < 1e-12);
    }

    #[test]
    fn a_micro_box_outside_the_macro_grid_is_refused() {
        let outer = Grid::new([2, 2, 2], [1.0; 3], [0.0; 3]).unwrap();
        let micro = Grid::new([10, 10, 10], [0.1; 3], [1.5, 0.0, 0.0]).unwrap();
        let e = NestedGrid::new(micro, outer).unwrap_err().to_string();
        assert!(e.contains("[1.5, 2.5] cm along x"), "{e}");
    }

    #[test]
    fn nesting_shares_the_material_and_label_tables() {
        let water = MaterialEntry {
            name: "water".into(),
            density_g_cm3: 1.0,
        };
        let micro = Phantom::uniform(
            Grid::new([2, 2, 2], [0.1; 3], [0.0; 3]).unwrap(),
            water.clone(),
            0,
        );
        let mut outer = Phantom::uniform(
            Grid::centred([3, 3, 3], [1.0; 3]).unwrap(),
            MaterialEntry {
                name: "soft_tissue_icru".into(),
                density_g_cm3: 1.03,
            },
            0,
        );
        let lesion = outer.labels.get_or_add("lesion").unwrap();
        outer.label[13] = lesion;
        outer.material_or_add("water", 1.0).unwrap();
        outer.material[13] = 1;
        outer.density_g_cm3[13] = 1.0;
        let n = Nested::new(micro, outer).unwrap();
        n.validate().unwrap();
        assert_eq!(n.micro.materials[n.material[8 + 13] as usize].name, "water");
        assert_eq!(
            n.micro.materials[n.material[8] as usize].name,
            "soft_tissue_icru"
        );
        assert_eq!(n.micro.labels.name(n.labels()[8 + 13]), Some("lesion"));
        // the macro voxel holding the micro box owns its volume less the box
        assert!((n.voxel_mass_g(8 + 13) - (1.0 - 0.008)).abs() < 1e-12);
    }
}

#[cfg(test)]
mod lesion_tests {
    use super::*;

    fn m(name: &str, rho: f64) -> MaterialEntry {
        MaterialEntry {
            name: name.into(),
            density_g_cm3: rho,
        }
    }

    #[test]
    fn lesion_phantom_has_a_sphere_in_a_body() {
        let p =
            lesion_phantom(0.3, 0.1, m("water", 1.0), m("soft_tissue_icru", 1.03), 0.5).unwrap();
        assert_eq!(p.grid.dims(), [11, 11, 11]);
        p.validate().unwrap();
        let stats = p.label_stats();
        let count = |n: &str| stats.iter().find(|s| s.name == n).unwrap().voxels;
        // voxel centres within 3 voxels of the centre: 123 of them
        assert_eq!(count(LESION_LABEL), 123);
        let c = p.grid.index(5, 5, 5);
        assert_eq!(p.materials[p.material[c] as usize].name, "water");
        assert_eq!(p.density_g_cm3[0], 0.0);
        for (r, v, b) in [(-1.0, 0.1, 1.0), (0.3, 0.0, 1.0), (0.3, 0.1, 0.2)] {
            let e = lesion_phantom(r, v, m("water", 1.0), m("water", 1.0), b).unwrap_err();
            assert!(e.to_string().contains(" cm"), "{e}");
        }
    }
}
