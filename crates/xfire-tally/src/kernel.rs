//! Symmetry classes of a cubic kernel grid: with the source at the centre voxel of an
//! N × N × N grid (N odd), the voxels at offsets that are permutations and sign changes of
//! one another are equivalent. Each class is named by its sorted offset (i ≤ j ≤ k).

use crate::scorer::RegionMap;
use crate::{Result, TallyError};

/// The symmetry classes of an `n`³ grid (x fastest, `index = (k*n + j)*n + i`).
#[derive(Debug, Clone, PartialEq)]
pub struct SymmetryClasses {
    /// Voxels per axis.
    pub n: usize,
    /// Sorted offsets (i ≤ j ≤ k) from the centre voxel, one per class, in increasing
    /// lexicographic order of (i, j, k).
    pub offsets: Vec<[usize; 3]>,
    /// Number of voxels in each class.
    pub counts: Vec<u32>,
    /// The voxel → class map (region map named "symmetry").
    pub map: RegionMap,
}

impl SymmetryClasses {
    /// Classes of an `n`³ grid; `n` must be odd.
    pub fn new(n: usize) -> Result<Self> {
        if n & 1 == 0 {
            return Err(TallyError::Layout(format!(
                "a kernel grid needs an odd number of voxels per axis (source at the centre voxel), got {n}"
            )));
        }
        let c = n / 2;
        let h = c + 1; // offsets 0..=c
                       // class index of a sorted offset triple (a ≤ b ≤ d), lexicographic
        let mut id = vec![u32::MAX; h * h * h];
        let mut offsets = Vec::new();
        for a in 0..h {
            for b in a..h {
                for d in b..h {
                    id[(a * h + b) * h + d] = offsets.len() as u32;
                    offsets.push([a, b, d]);
                }
            }
        }
        let mut counts = vec![0u32; offsets.len()];
        let mut of_voxel = Vec::with_capacity(n * n * n);
        for k in 0..n {
            for j in 0..n {
                for i in 0..n {
                    let mut o = [i.abs_diff(c), j.abs_diff(c), k.abs_diff(c)];
                    o.sort_unstable();
                    let cls = id[(o[0] * h + o[1]) * h + o[2]];
                    counts[cls as usize] += 1;
                    of_voxel.push(cls);
                }
            }
        }
        let map = RegionMap::new("symmetry", of_voxel, offsets.len())?;
        Ok(Self {
            n,
            offsets,
            counts,
            map,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_of_a_5_cube() {
        let s = SymmetryClasses::new(5).unwrap();
        // offsets 0..=2: C(3+2, 3) = 10 classes
        assert_eq!(s.offsets.len(), 10);
        assert_eq!(s.offsets[0], [0, 0, 0]);
        assert_eq!(s.counts[0], 1);
        assert_eq!(s.counts.iter().sum::<u32>(), 125);
        let idx = |o: [usize; 3]| s.offsets.iter().position(|x| *x == o).unwrap();
        assert_eq!(s.counts[idx([0, 0, 1])], 6);
        assert_eq!(s.counts[idx([0, 1, 1])], 12);
        assert_eq!(s.counts[idx([1, 1, 1])], 8);
        assert_eq!(s.counts[idx([0, 1, 2])], 24);
        assert_eq!(s.counts[idx([2, 2, 2])], 8);
        // voxel (4, 2, 1) → offsets (2, 0, 1) → class [0, 1, 2]
        assert_eq!(s.map.of_voxel[(5 + 2) * 5 + 4] as usize, idx([0, 1, 2]));
        assert!(SymmetryClasses::new(4).is_err());
        assert!(SymmetryClasses::new(0).is_err());
    }
}
