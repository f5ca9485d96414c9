//! The regular voxel grid: dimensions, voxel size, origin, index helpers, position lookup
//! and the ray–voxel traversal used by transport.

use crate::{PhantomError, Result};

/// Largest number of voxels a grid may hold (voxel indices are stored as `u32` in cell lists
/// and samplers). A header that claims more is refused before anything is allocated.
pub const MAX_VOXELS: u64 = u32::MAX as u64 - 1;

/// A regular, axis-aligned voxel grid.
///
/// Arrays over the grid are stored row-major, shaped `(nz, ny, nx)` with x fastest:
/// `index = (k * ny + j) * nx + i`. `origin_cm` is the position of the **outer corner** of
/// voxel `(0, 0, 0)` (not its centre; MetaImage/NIfTI centres are converted at the I/O edge).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Grid {
    /// Number of voxels along x.
    pub nx: usize,
    /// Number of voxels along y.
    pub ny: usize,
    /// Number of voxels along z.
    pub nz: usize,
    /// Voxel edge lengths along x, y, z \[cm\].
    pub voxel_cm: [f64; 3],
    /// Position of the lower corner of voxel (0,0,0) \[cm\].
    pub origin_cm: [f64; 3],
}

/// One voxel crossed by a ray: its flat index and the path length inside it \[cm\].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VoxelStep {
    /// Flat voxel index `(k*ny + j)*nx + i`.
    pub index: usize,
    /// Path length of the ray inside this voxel \[cm\].
    pub length_cm: f64,
}

impl Grid {
    /// A validated grid: every dimension ≥ 1, at most [`MAX_VOXELS`] voxels, voxel sizes finite
    /// and > 0 \[cm\], origin finite \[cm\].
    pub fn new(dims: [usize; 3], voxel_cm: [f64; 3], origin_cm: [f64; 3]) -> Result<Self> {
        for (a, &n) in ["x", "y", "z"].iter().zip(dims.iter()) {
            if n == 0 {
                return Err(PhantomError::InvalidGrid(format!(
                    "number of voxels along {a} must be at least 1, got 0"
                )));
            }
        }
        let total = (dims[0] as u128) * (dims[1] as u128) * (dims[2] as u128);
        if total > MAX_VOXELS as u128 {
            return Err(PhantomError::InvalidGrid(format!(
                "grid {}×{}×{} has {total} voxels, more than the supported {MAX_VOXELS}",
                dims[0], dims[1], dims[2]
            )));
        }
        for (a, &h) in ["x", "y", "z"].iter().zip(voxel_cm.iter()) {
            if !(h.is_finite() && h > 0.0) {
                return Err(PhantomError::InvalidGrid(format!(
                    "voxel size along {a} must be positive and finite, got {h} cm"
                )));
            }
        }
        for (a, &o) in ["x", "y", "z"].iter().zip(origin_cm.iter()) {
            if !o.is_finite() {
                return Err(PhantomError::InvalidGrid(format!(
                    "origin along {a} must be finite, got {o} cm"
                )));
            }
        }
        Ok(Self {
            nx: dims[0],
            ny: dims[1],
            nz: dims[2],
            voxel_cm,
            origin_cm,
        })
    }

    /// A grid of `dims` voxels centred on the point (0, 0, 0).
    pub fn centred(dims: [usize; 3], voxel_cm: [f64; 3]) -> Result<Self> {
        let origin = [
            -0.5 * dims[0] as f64 * voxel_cm[0],
            -0.5 * dims[1] as f64 * voxel_cm[1],
            -0.5 * dims[2] as f64 * voxel_cm[2],
        ];
        Self::new(dims, voxel_cm, origin)
    }

    /// Whether `other` is the same grid, to the precision images are written with: equal
    /// dimensions, voxel sizes within 1e-4 relative and origins within 1e-3 of a voxel.
    pub fn same_as(&self, other: &Grid) -> bool {
        self.dims() == other.dims()
            && (0..3).all(|k| {
                (self.voxel_cm[k] - other.voxel_cm[k]).abs() <= 1e-4 * self.voxel_cm[k]
                    && (self.origin_cm[k] - other.origin_cm[k]).abs() <= 1e-3 * self.voxel_cm[k]
            })
    }

    /// `[nx, ny, nz]`.
    #[inline]
    pub fn dims(&self) -> [usize; 3] {
        [self.nx, self.ny, self.nz]
    }

    /// Array shape `(nz, ny, nx)` as stored in files.
    #[inline]
    pub fn shape_zyx(&self) -> [usize; 3] {
        [self.nz, self.ny, self.nx]
    }

    /// Total number of voxels.
    #[inline]
    pub fn len(&self) -> usize {
        self.nx * self.ny * self.nz
    }

    /// Always false for a validated grid (kept for clippy's `len_without_is_empty`).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Volume of one voxel \[cm³\].
    #[inline]
    pub fn voxel_volume_cm3(&self) -> f64 {
        self.voxel_cm[0] * self.voxel_cm[1] * self.voxel_cm[2]
    }

    /// Edge lengths of the whole grid \[cm\].
    #[inline]
    pub fn extent_cm(&self) -> [f64; 3] {
        [
            self.nx as f64 * self.voxel_cm[0],
            self.ny as f64 * self.voxel_cm[1],
            self.nz as f64 * self.voxel_cm[2],
        ]
    }

    /// Flat index of voxel (i, j, k).
    #[inline]
    pub fn index(&self, i: usize, j: usize, k: usize) -> usize {
        debug_assert!(i < self.nx && j < self.ny && k < self.nz);
        (k * self.ny + j) * self.nx + i
    }

    /// (i, j, k) of a flat index.
    #[inline]
    pub fn ijk(&self, index: usize) -> [usize; 3] {
        let i = index % self.nx;
        let jk = index / self.nx;
        [i, jk % self.ny, jk / self.ny]
    }

    /// Centre of voxel (i, j, k) \[cm\].
    #[inline]
    pub fn centre_ijk(&self, i: usize, j: usize, k: usize) -> [f64; 3] {
        [
            self.origin_cm[0] + (i as f64 + 0.5) * self.voxel_cm[0],
            self.origin_cm[1] + (j as f64 + 0.5) * self.voxel_cm[1],
            self.origin_cm[2] + (k as f64 + 0.5) * self.voxel_cm[2],
        ]
    }

    /// Centre of the voxel with flat index `index` \[cm\].
    #[inline]
    pub fn centre(&self, index: usize) -> [f64; 3] {
        let [i, j, k] = self.ijk(index);
        self.centre_ijk(i, j, k)
    }

    /// Lower corner of the voxel with flat index `index` \[cm\].
    #[inline]
    pub fn corner(&self, index: usize) -> [f64; 3] {
        let [i, j, k] = self.ijk(index);
        [
            self.origin_cm[0] + i as f64 * self.voxel_cm[0],
            self.origin_cm[1] + j as f64 * self.voxel_cm[1],
            self.origin_cm[2] + k as f64 * self.voxel_cm[2],
        ]
    }

    /// (i, j, k) of the voxel containing `pos_cm`, or `None` outside the grid. A point on
    /// an inner face belongs to the voxel above it; the upper outer faces are outside.
    #[inline]
    pub fn locate_ijk(&self, pos_cm: [f64; 3]) -> Option<[usize; 3]> {
        let n = self.dims();
        let mut out = [0usize; 3];
        for a in 0..3 {
            let u = (pos_cm[a] - self.origin_cm[a]) / self.voxel_cm[a];
            if !(u >= 0.0) {
                return None; // also catches NaN
            }
            let c = u.floor();
            if c >= n[a] as f64 {
                return None;
            }
            out[a] = c as usize;
        }
        Some(out)
    }

    /// Flat index of the voxel containing `pos_cm`, or `None` outside the grid.
    #[inline]
    pub fn locate(&self, pos_cm: [f64; 3]) -> Option<usize> {
        self.locate_ijk(pos_cm).map(|[i, j, k]| self.index(i, j, k))
    }

    /// Range of voxel indices along axis `a` whose centres may lie in `[lo_cm, hi_cm]`,
    /// clamped to the grid (empty range when outside).
    pub fn axis_range(&self, a: usize, lo_cm: f64, hi_cm: f64) -> std::ops::Range<usize> {
        let n = self.dims()[a];
        let h = self.voxel_cm[a];
        let o = self.origin_cm[a];
        let lo = ((lo_cm - o) / h - 0.5).ceil().max(0.0);
        let hi = ((hi_cm - o) / h - 0.5).floor() + 1.0;
        let hi = hi.min(n as f64);
        if !(lo < hi) {
            return 0..0;
        }
        lo as usize..hi as usize
    }

    /// The voxel containing `pos_cm` and the distance \[cm\] along the **unit** direction `dir`
    /// to the face where the ray leaves it; `None` outside the grid. The transport's
    /// "distance to the next voxel boundary" for one step.
    #[inline]
    pub fn distance_to_voxel_exit(&self, pos_cm: [f64; 3], dir: [f64; 3]) -> Option<(usize, f64)> {
        let [i, j, k] = self.locate_ijk(pos_cm)?;
        let ijk = [i, j, k];
        let mut t = f64::INFINITY;
        for a in 0..3 {
            let lo = self.origin_cm[a] + ijk[a] as f64 * self.voxel_cm[a];
            if dir[a] > 0.0 {
                t = t.min((lo + self.voxel_cm[a] - pos_cm[a]) / dir[a]);
            } else if dir[a] < 0.0 {
                t = t.min((lo - pos_cm[a]) / dir[a]);
            }
        }
        Some((self.index(i, j, k), t.max(0.0)))
    }

    /// Iterator over the voxels crossed by the segment from `pos_cm` along the **unit**
    /// direction `dir` over `distance_cm` \[cm\], with the path length in each
    /// (Amanatides & Woo 1987). Parts of the segment outside the grid are skipped; a segment
    /// that starts outside is clipped to the grid first. Allocates nothing.
    ///
    /// ```
    /// # use xfire_phantom::Grid;
    /// let g = Grid::new([4, 1, 1], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]).unwrap();
    /// let steps: Vec<_> = g.traverse([0.5, 0.5, 0.5], [1.0, 0.0, 0.0], 2.0).collect();
    /// assert_eq!(steps.len(), 3);
    /// assert_eq!(steps[0].index, 0);
    /// assert!((steps[0].length_cm - 0.5).abs() < 1e-12);
    /// ```
    #[inline]
    pub fn traverse(&self, pos_cm: [f64; 3], dir: [f64; 3], distance_cm: f64) -> Traversal {
        self.traverse_between(pos_cm, dir, 0.0, distance_cm)
    }

    /// [`Grid::traverse`] over the part `[t_start_cm, t_end_cm]` of the ray from `pos_cm`
    /// along the **unit** direction `dir` (distances from `pos_cm`, \[cm\]); the nested
    /// geometry walks each grid over its own piece of one ray with it.
    pub fn traverse_between(
        &self,
        pos_cm: [f64; 3],
        dir: [f64; 3],
        t_start_cm: f64,
        t_end_cm: f64,
    ) -> Traversal {
        debug_assert!(
            ((dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]) - 1.0).abs() < 1e-6,
            "direction must be a unit vector"
        );
        let empty = Traversal {
            nx: self.nx,
            ny: self.ny,
            ijk: [0; 3],
            n: [0; 3],
            step: [0; 3],
            t_max: [0.0; 3],
            t_delta: [0.0; 3],
            t: 0.0,
            t_end: 0.0,
            done: true,
        };
        if !(t_end_cm > t_start_cm) {
            return empty;
        }
        // clip [t_start, t_end] to the box (slab method)
        let n = self.dims();
        let mut t0: f64 = t_start_cm;
        let mut t1: f64 = t_end_cm;
        for a in 0..3 {
            let lo = self.origin_cm[a];
            let hi = lo + n[a] as f64 * self.voxel_cm[a];
            if dir[a] == 0.0 {
                if pos_cm[a] < lo || pos_cm[a] >= hi {
                    return empty;
                }
            } else {
                let inv = 1.0 / dir[a];
                let (ta, tb) = ((lo - pos_cm[a]) * inv, (hi - pos_cm[a]) * inv);
                let (ta, tb) = if ta < tb { (ta, tb) } else { (tb, ta) };
                t0 = t0.max(ta);
                t1 = t1.min(tb);
            }
        }
        if !(t0 < t1) {
            return empty;
        }
        let mut ijk = [0usize; 3];
        let mut step = [0i64; 3];
        let mut t_max = [f64::INFINITY; 3];
        let mut t_delta = [f64::INFINITY; 3];
        for a in 0..3 {
            let h = self.voxel_cm[a];
            let o = self.origin_cm[a];
            let p = pos_cm[a] + t0 * dir[a];
            let mut c = ((p - o) / h).floor();
            // on entry through a face the float may land on the wrong side: clamp, and
            // when moving down through an upper face start in the last voxel
            if dir[a] < 0.0 && (p - o) / h - c == 0.0 {
                c -= 1.0;
            }
            let c = c.clamp(0.0, (n[a] - 1) as f64) as usize;
            ijk[a] = c;
            if dir[a] > 0.0 {
                step[a] = 1;
                t_max[a] = (o + (c as f64 + 1.0) * h - pos_cm[a]) / dir[a];
                t_delta[a] = h / dir[a];
            } else if dir[a] < 0.0 {
                step[a] = -1;
                t_max[a] = (o + c as f64 * h - pos_cm[a]) / dir[a];
                t_delta[a] = -h / dir[a];
            }
        }
        Traversal {
            nx: self.nx,
            ny: self.ny,
            ijk,
            n,
            step,
            t_max,
            t_delta,
            t: t0,
            t_end: t1,
            done: false,
        }
    }
}

/// State of a ray walk through a [`Grid`]; yields [`VoxelStep`]s. Created by
/// [`Grid::traverse`]. Holds no heap memory.
#[derive(Debug, Clone)]
pub struct Traversal {
    nx: usize,
    ny: usize,
    ijk: [usize; 3],
    n: [usize; 3],
    step: [i64; 3],
    t_max: [f64; 3],
    t_delta: [f64; 3],
    t: f64,
    t_end: f64,
    done: bool,
}

impl Iterator for Traversal {
    type Item = VoxelStep;

    #[inline]
    fn next(&mut self) -> Option<VoxelStep> {
        loop {
            if self.done {
                return None;
            }
            // axis with the nearest face
            let mut a = 0;
            if self.t_max[1] < self.t_max[a] {
                a = 1;
            }
            if self.t_max[2] < self.t_max[a] {
                a = 2;
            }
            let t_face = self.t_max[a];
            let seg_end = t_face.min(self.t_end);
            let index = (self.ijk[2] * self.ny + self.ijk[1]) * self.nx + self.ijk[0];
            let length = seg_end - self.t;
            self.t = seg_end;
            if seg_end >= self.t_end {
                self.done = true;
            } else {
                // advance to the neighbour across the face
                let c = self.ijk[a] as i64 + self.step[a];
                if c < 0 || c >= self.n[a] as i64 {
                    self.done = true;
                } else {
                    self.ijk[a] = c as usize;
                    self.t_max[a] += self.t_delta[a];
                }
            }
            if length > 0.0 {
                return Some(VoxelStep {
                    index,
                    length_cm: length,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(v: [f64; 3]) -> [f64; 3] {
        let l = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        [v[0] / l, v[1] / l, v[2] / l]
    }

    #[test]
    fn index_roundtrip_and_locate() {
        let g = Grid::new([3, 4, 5], [0.1, 0.2, 0.3], [-1.0, 0.0, 2.0]).unwrap();
        for idx in 0..g.len() {
            let [i, j, k] = g.ijk(idx);
            assert_eq!(g.index(i, j, k), idx);
            assert_eq!(g.locate(g.centre(idx)), Some(idx));
        }
        assert_eq!(g.locate([-1.01, 0.1, 2.1]), None);
        assert_eq!(g.locate([-0.7, 0.1, 2.1]), None); // upper x face is outside
        assert_eq!(g.locate([f64::NAN, 0.1, 2.1]), None);
    }

    #[test]
    fn bad_grids_are_refused() {
        assert!(Grid::new([0, 1, 1], [1.0; 3], [0.0; 3]).is_err());
        assert!(Grid::new([1, 1, 1], [1.0, -0.2, 1.0], [0.0; 3]).is_err());
        assert!(Grid::new([1, 1, 1], [1.0, 0.0, 1.0], [0.0; 3]).is_err());
        assert!(Grid::new([1, 1, 1], [1.0, f64::NAN, 1.0], [0.0; 3]).is_err());
        assert!(Grid::new([100_000, 100_000, 100_000], [1.0; 3], [0.0; 3]).is_err());
        let e = Grid::new([1, 1, 1], [1.0, -0.2, 1.0], [0.0; 3]).unwrap_err();
        assert!(e.to_string().contains("-0.2 cm"), "{e}");
    }

    #[test]
    fn traversal_lengths_sum_to_clipped_distance() {
        let g = Grid::new([7, 5, 6], [0.3, 0.2, 0.25], [-1.0, -0.5, -0.75]).unwrap();
        let mut rng = xfire_core::rng::Rng::for_stream(9, 0, 0);
        for _ in 0..2000 {
            let p = [
                -1.0 + 2.1 * rng.uniform(),
                -0.5 + 1.0 * rng.uniform(),
                -0.75 + 1.5 * rng.uniform(),
            ];
            let d = rng.isotropic();
            let dist = 3.0 * rng.uniform();
            let mut total = 0.0;
            let mut prev: Option<usize> = None;
            for s in g.traverse(p, d, dist) {
                assert!(s.length_cm > 0.0);
                // the midpoint of the sub-step lies in the voxel reported
                let tmid = total + 0.5 * s.length_cm;
                let m = [p[0] + tmid * d[0], p[1] + tmid * d[1], p[2] + tmid * d[2]];
                assert_eq!(g.locate(m), Some(s.index), "p {p:?} d {d:?}");
                if let Some(q) = prev {
                    assert_ne!(q, s.index);
                }
                prev = Some(s.index);
                total += s.length_cm;
            }
            // expected in-grid length by fine sampling
            let nsamp = 20000;
            let mut inside = 0usize;
            for k in 0..nsamp {
                let t = (k as f64 + 0.5) / nsamp as f64 * dist;
                if g.locate([p[0] + t * d[0], p[1] + t * d[1], p[2] + t * d[2]])
                    .is_some()
                {
                    inside += 1;
                }
            }
            let expected = inside as f64 / nsamp as f64 * dist;
            assert!(
                (total - expected).abs() < 2.0 * dist / nsamp as f64 + 1e-9,
                "{total} vs {expected}"
            );
        }
    }

    #[test]
    fn traversal_from_outside_and_axis_aligned() {
        let g = Grid::new([4, 4, 4], [1.0; 3], [0.0; 3]).unwrap();
        // from outside, entering through x = 0 along +x at y=z=1.5
        let s: Vec<_> = g
            .traverse([-2.0, 1.5, 1.5], [1.0, 0.0, 0.0], 10.0)
            .collect();
        assert_eq!(s.len(), 4);
        for (n, st) in s.iter().enumerate() {
            assert_eq!(st.index, g.index(n, 1, 1));
            assert!((st.length_cm - 1.0).abs() < 1e-12);
        }
        // going down along -z from the top
        let s: Vec<_> = g.traverse([0.5, 0.5, 5.0], [0.0, 0.0, -1.0], 2.5).collect();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].index, g.index(0, 0, 3));
        assert!((s[1].length_cm - 0.5).abs() < 1e-12);
        // missing the grid
        assert_eq!(
            g.traverse([-1.0, -1.0, 0.5], norm([1.0, -1.0, 0.0]), 10.0)
                .count(),
            0
        );
        assert_eq!(g.traverse([0.5, 0.5, 0.5], [1.0, 0.0, 0.0], 0.0).count(), 0);
        // distance to the voxel exit agrees with the first traversal step
        let d = norm([0.3, -0.5, 0.8]);
        let (v, t) = g.distance_to_voxel_exit([1.2, 2.7, 0.4], d).unwrap();
        let first = g.traverse([1.2, 2.7, 0.4], d, 10.0).next().unwrap();
        assert_eq!(v, first.index);
        assert!((t - first.length_cm).abs() < 1e-12);
        assert!(g.distance_to_voxel_exit([-0.1, 0.5, 0.5], d).is_none());
    }
}
