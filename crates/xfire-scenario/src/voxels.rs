//! Per-voxel dose per decay of a transported part, kept for every voxel of the grid or for
//! a subset of its voxels only (the voxels the migrating lymphocytes may walk, when no map
//! is asked for: `xfire compare`'s nuclides other than the reference).

use std::sync::Arc;

/// A subset of the voxels of a grid with a compact rank index: one bit per voxel and the
/// number of kept voxels before each 64-voxel word (1.5 bits per voxel in all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoxelSubset {
    n_voxels: usize,
    bits: Vec<u64>,
    before: Vec<u32>,
}

impl VoxelSubset {
    /// The voxels `v` of `0..n_voxels` with `keep(v)`.
    pub fn new(n_voxels: usize, keep: impl Fn(usize) -> bool) -> Self {
        let mut bits = vec![0u64; n_voxels.div_ceil(64)];
        for v in (0..n_voxels).filter(|&v| keep(v)) {
            bits[v / 64] |= 1 << (v % 64);
        }
        let mut n = 0u32;
        let before = bits
            .iter()
            .map(|w| {
                let b = n;
                n += w.count_ones();
                b
            })
            .collect();
        Self {
            n_voxels,
            bits,
            before,
        }
    }

    /// Number of voxels of the grid.
    pub fn n_voxels(&self) -> usize {
        self.n_voxels
    }

    /// Number of kept voxels.
    pub fn len(&self) -> usize {
        self.bits.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Whether no voxel is kept.
    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|&w| w == 0)
    }

    /// Whether voxel `v` is kept.
    #[inline]
    pub fn contains(&self, v: usize) -> bool {
        v < self.n_voxels && self.bits[v / 64] >> (v % 64) & 1 == 1
    }

    /// The position of voxel `v` among the kept voxels in increasing order (None: not kept).
    #[inline]
    pub fn rank(&self, v: usize) -> Option<usize> {
        self.contains(v).then(|| {
            let below = self.bits[v / 64] & ((1u64 << (v % 64)) - 1);
            self.before[v / 64] as usize + below.count_ones() as usize
        })
    }

    /// The kept voxels in increasing order.
    pub fn voxels(&self) -> impl Iterator<Item = usize> + '_ {
        self.bits.iter().enumerate().flat_map(|(i, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                (w != 0).then(|| {
                    let b = w.trailing_zeros() as usize;
                    w &= w - 1;
                    64 * i + b
                })
            })
        })
    }
}

/// Absorbed dose per decay \[Gy\] (`f32`) per voxel of one transported part: of every voxel,
/// or of the voxels of a [`VoxelSubset`] only.
#[derive(Debug, Clone, PartialEq)]
pub struct VoxelDose {
    /// by voxel, or by rank in `subset`
    values: Vec<f32>,
    subset: Option<Arc<VoxelSubset>>,
}

impl VoxelDose {
    /// The doses `dose(v)` of the voxels of `subset` (None: every voxel of `0..n_voxels`).
    pub fn new(
        n_voxels: usize,
        subset: Option<Arc<VoxelSubset>>,
        dose: impl Fn(usize) -> f32,
    ) -> Self {
        let values = match &subset {
            None => (0..n_voxels).map(dose).collect(),
            Some(s) => {
                assert_eq!(s.n_voxels(), n_voxels, "a subset of the same grid");
                let mut values = Vec::with_capacity(s.len());
                values.extend(s.voxels().map(dose));
                values
            }
        };
        Self { values, subset }
    }

    /// The dose of every voxel, if every voxel is kept.
    pub fn full(&self) -> Option<&[f32]> {
        self.subset.is_none().then_some(self.values.as_slice())
    }

    /// The dose of voxel `v`, if it is kept.
    #[inline]
    pub fn at(&self, v: usize) -> Option<f32> {
        match &self.subset {
            None => self.values.get(v).copied(),
            Some(s) => s.rank(v).map(|r| self.values[r]),
        }
    }

    /// Whether every voxel of `subset` (None: every voxel of the grid) is kept.
    pub fn covers(&self, subset: Option<&VoxelSubset>) -> bool {
        match (&self.subset, subset) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(mine), Some(s)) => mine.as_ref() == s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset_ranks_and_doses() {
        let keep = |v: usize| v.is_multiple_of(3) || (100..200).contains(&v);
        let s = Arc::new(VoxelSubset::new(1000, keep));
        let kept: Vec<usize> = (0..1000).filter(|&v| keep(v)).collect();
        assert_eq!(s.voxels().collect::<Vec<_>>(), kept);
        assert_eq!(s.len(), kept.len());
        assert!(!s.is_empty() && VoxelSubset::new(70, |_| false).is_empty());
        for v in 0..1000 {
            assert_eq!(s.rank(v), kept.iter().position(|&k| k == v), "voxel {v}");
        }
        assert!(!s.contains(1000));
        let dose = |v: usize| v as f32 * 0.5;
        let (all, part) = (
            VoxelDose::new(1000, None, dose),
            VoxelDose::new(1000, Some(s.clone()), dose),
        );
        assert_eq!(all.full().map(<[f32]>::len), Some(1000));
        assert!(part.full().is_none());
        for v in 0..1000 {
            assert_eq!(part.at(v), keep(v).then(|| dose(v)));
            assert_eq!(all.at(v), Some(dose(v)));
        }
        assert!(all.covers(None) && all.covers(Some(&s)));
        assert!(part.covers(Some(&VoxelSubset::new(1000, keep))) && !part.covers(None));
        assert!(!part.covers(Some(&VoxelSubset::new(1000, |v| v < 5))));
    }
}
