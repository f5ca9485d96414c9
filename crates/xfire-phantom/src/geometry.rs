//! What transport asks of a geometry: the [`Geometry`] trait, implemented by the single
//! [`Grid`] and by the [`NestedGrid`](crate::nested::NestedGrid) (a micrometre grid inside
//! a millimetre one).
//!
//! Voxels are numbered in one index space `0..n_voxels()`; each voxel belongs to one
//! *region* (the single grid is region 0; a nested geometry has the micro grid as region 0
//! and the macro grid as region 1). Transport is generic over the trait, so the single-grid
//! code is compiled exactly as before (its `region` is the constant 0).

use crate::grid::{Grid, Traversal, VoxelStep};
use xfire_core::rng::Rng;

/// A voxel geometry in one global frame \[cm\].
pub trait Geometry: Clone + std::fmt::Debug + Send + Sync {
    /// The ray walk of [`Geometry::traverse`].
    type Walk: Iterator<Item = VoxelStep>;
    /// Number of voxels (all regions).
    fn n_voxels(&self) -> usize;
    /// The voxel containing `pos_cm`, or `None` outside the geometry.
    fn locate(&self, pos_cm: [f64; 3]) -> Option<usize>;
    /// The voxels crossed from `pos_cm` along the unit `dir` over `distance_cm`, with the
    /// path length in each, in order along the ray (see [`Grid::traverse`]).
    fn traverse(&self, pos_cm: [f64; 3], dir: [f64; 3], distance_cm: f64) -> Self::Walk;
    /// The voxel containing `pos_cm` and the distance along the unit `dir` to where the ray
    /// leaves it (or enters another region first); `None` outside.
    fn distance_to_voxel_exit(&self, pos_cm: [f64; 3], dir: [f64; 3]) -> Option<(usize, f64)>;
    /// The shortest distance \[cm\] from `pos_cm` (inside `voxel`) to the boundary of the
    /// part of space that belongs to `voxel` (its faces, and another region's box).
    fn distance_to_boundary(&self, pos_cm: [f64; 3], voxel: usize) -> f64;
    /// Volume \[cm³\] of the part of space that belongs to `voxel`.
    fn owned_volume_cm3(&self, voxel: usize) -> f64;
    /// A point uniform in the part of space that belongs to `voxel` \[cm\].
    fn sample_in_voxel(&self, voxel: usize, rng: &mut Rng) -> [f64; 3];
    /// Whether the box `lo`–`hi` \[cm\] (positive volume) lies in the part of space that
    /// belongs to `voxel` (to a tolerance of 1e-9 voxel edges).
    fn owns_box(&self, voxel: usize, lo: [f64; 3], hi: [f64; 3]) -> bool;
    /// The region of `voxel` (0 for a single grid).
    fn region(&self, voxel: usize) -> usize;
    /// Smallest voxel edge of `region` \[cm\].
    fn region_min_edge_cm(&self, region: usize) -> f64;
    /// Number of regions.
    fn n_regions(&self) -> usize;
    /// A length longer than any straight path inside the geometry \[cm\].
    fn diagonal_cm(&self) -> f64;
}

impl Geometry for Grid {
    type Walk = Traversal;

    #[inline]
    fn n_voxels(&self) -> usize {
        self.len()
    }

    #[inline]
    fn locate(&self, pos_cm: [f64; 3]) -> Option<usize> {
        Grid::locate(self, pos_cm)
    }

    #[inline]
    fn traverse(&self, pos_cm: [f64; 3], dir: [f64; 3], distance_cm: f64) -> Traversal {
        Grid::traverse(self, pos_cm, dir, distance_cm)
    }

    #[inline]
    fn distance_to_voxel_exit(&self, pos_cm: [f64; 3], dir: [f64; 3]) -> Option<(usize, f64)> {
        Grid::distance_to_voxel_exit(self, pos_cm, dir)
    }

    #[inline]
    fn distance_to_boundary(&self, pos_cm: [f64; 3], voxel: usize) -> f64 {
        let lo = self.corner(voxel);
        let h = self.voxel_cm;
        let mut d = f64::INFINITY;
        for a in 0..3 {
            d = d.min(pos_cm[a] - lo[a]).min(lo[a] + h[a] - pos_cm[a]);
        }
        d
    }

    #[inline]
    fn owned_volume_cm3(&self, _voxel: usize) -> f64 {
        self.voxel_volume_cm3()
    }

    #[inline]
    fn sample_in_voxel(&self, voxel: usize, rng: &mut Rng) -> [f64; 3] {
        let c = self.corner(voxel);
        let h = self.voxel_cm;
        [
            c[0] + rng.uniform() * h[0],
            c[1] + rng.uniform() * h[1],
            c[2] + rng.uniform() * h[2],
        ]
    }

    #[inline]
    fn region(&self, _voxel: usize) -> usize {
        0
    }

    #[inline]
    fn owns_box(&self, voxel: usize, lo: [f64; 3], hi: [f64; 3]) -> bool {
        if voxel >= self.len() {
            return false;
        }
        let c = self.corner(voxel);
        (0..3).all(|a| {
            let tol = 1e-9 * self.voxel_cm[a];
            hi[a] > lo[a] && lo[a] >= c[a] - tol && hi[a] <= c[a] + self.voxel_cm[a] + tol
        })
    }

    fn region_min_edge_cm(&self, _region: usize) -> f64 {
        self.voxel_cm[0].min(self.voxel_cm[1]).min(self.voxel_cm[2])
    }

    #[inline]
    fn n_regions(&self) -> usize {
        1
    }

    #[inline]
    fn diagonal_cm(&self) -> f64 {
        let ext = self.extent_cm();
        (ext[0] * ext[0] + ext[1] * ext[1] + ext[2] * ext[2]).sqrt() * 1.000_001
    }
}
