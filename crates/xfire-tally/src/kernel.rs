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
}

/// Class index of every sorted offset triple (a ≤ b ≤ d < h) at `(a·h + b)·h + d`, and the
/// offsets of the classes in lexicographic order.
fn class_table(h: usize) -> (Vec<u32>, Vec<[usize; 3]>) {
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
    (id, offsets)
}

impl SymmetryClasses {
    /// Classes of an `n`³ grid; `n` must be odd.
    pub fn new(n: usize) -> Result<Self> {
        if n & 1 == 0 {
            return Err(TallyError::Layout(format!(
                "a kernel grid needs an odd number of voxels per axis (source at the centre voxel), got {n}"
            )));
        }
        let (id, offsets) = class_table(n / 2 + 1);
        let mut counts = vec![0u32; offsets.len()];
        for v in 0..n * n * n {
            counts[class_of(&id, n, v) as usize] += 1;
        }
        Ok(Self { n, offsets, counts })
    }

    /// The voxel → class map (region map named "symmetry"), built on demand so that the
    /// classes themselves hold nothing per voxel.
    pub fn map(&self) -> Result<RegionMap> {
        let n = self.n;
        let (id, _) = class_table(n / 2 + 1);
        RegionMap::from_fn("symmetry", n * n * n, self.offsets.len(), |v| {
            class_of(&id, n, v)
        })
    }
}

/// Class of voxel `v` of an `n`³ grid from the table of [`class_table`].
fn class_of(id: &[u32], n: usize, v: usize) -> u32 {
    let (c, h) = (n / 2, n / 2 + 1);
    let (i, j, k) = (v % n, (v / n) % n, v / (n * n));
    let mut o = [i.abs_diff(c), j.abs_diff(c), k.abs_diff(c)];
    o.sort_unstable();
    id[(o[0] * h + o[1]) * h + o[2]]
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
        assert_eq!(
            s.map().unwrap().of_voxel.get((5 + 2) * 5 + 4) as usize,
            idx([0, 1, 2])
        );
        assert!(SymmetryClasses::new(4).is_err());
        assert!(SymmetryClasses::new(0).is_err());
    }
}
