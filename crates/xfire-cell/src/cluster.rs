//! Clusters: the dose to the central cell of a lattice of identical cells from every cell's
//! activity (MIRDcell's 3D cluster), as self S value + Σ over neighbour shells of
//! (cells in the shell) × (labelled fraction) × S at the shell's distance. Exact for the MIRD
//! model (one homogeneous medium: a neighbour's S value does not depend on the other cells).
//!
//! Lattices with touching cells (nearest-neighbour distance 2 R_C): `sc` (simple cubic:
//! shells of 6, 12, 8, 6, … cells at 1, √2, √3, 2 × 2R_C) and `fcc` (face-centred cubic:
//! 12, 6, 24, 12, … at 1, √2, √3, 2 × 2R_C).

use crate::table::{Row, COLUMNS};
use crate::{CellError, Result};

/// A cubic lattice of cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lattice {
    /// Simple cubic.
    SimpleCubic,
    /// Face-centred cubic (closest packing).
    FaceCentredCubic,
}

/// A cluster: lattice, number of neighbour shells, fraction of cells labelled.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cluster {
    /// The lattice.
    pub lattice: Lattice,
    /// Neighbour shells around the central cell (≥ 1).
    pub shells: usize,
    /// Fraction of the neighbours carrying activity (the central cell always does).
    pub labelled_fraction: f64,
}

/// Most shells a cluster may have.
pub const MAX_SHELLS: usize = 12;

impl Cluster {
    /// Parses `sc:N` or `fcc:N` (N shells).
    pub fn parse(text: &str, labelled_fraction: f64) -> Result<Self> {
        let bad = || {
            CellError::Invalid(format!(
                "cluster {text:?}: write LATTICE:SHELLS with LATTICE sc or fcc and 1 to {MAX_SHELLS} shells, e.g. fcc:2"
            ))
        };
        let (l, n) = text.split_once(':').ok_or_else(bad)?;
        let lattice = match l.trim() {
            "sc" => Lattice::SimpleCubic,
            "fcc" => Lattice::FaceCentredCubic,
            _ => return Err(bad()),
        };
        let shells: usize = n.trim().parse().map_err(|_| bad())?;
        if !(1..=MAX_SHELLS).contains(&shells) {
            return Err(bad());
        }
        if !(labelled_fraction.is_finite() && (0.0..=1.0).contains(&labelled_fraction)) {
            return Err(CellError::Invalid(format!(
                "labelled fraction {labelled_fraction} must be between 0 and 1"
            )));
        }
        Ok(Cluster {
            lattice,
            shells,
            labelled_fraction,
        })
    }

    /// The neighbour shells: (centre distance [cm], number of cells), nearest first, for
    /// cells of radius `cell_radius_cm` touching their nearest neighbours.
    pub fn shells(&self, cell_radius_cm: f64) -> Vec<(f64, usize)> {
        let (step_sq, keep): (i64, fn(i64, i64, i64) -> bool) = match self.lattice {
            Lattice::SimpleCubic => (1, |_, _, _| true),
            Lattice::FaceCentredCubic => (2, |i, j, k| (i + j + k).rem_euclid(2) == 0),
        };
        // lattice points (i,j,k)·s with s² = a²/step_sq; the n-th shell lies within n·a
        let l = 2 * self.shells as i64 + 2;
        let mut count = std::collections::BTreeMap::<i64, usize>::new();
        for i in -l..=l {
            for j in -l..=l {
                for k in -l..=l {
                    let sq = i * i + j * j + k * k;
                    if sq > 0 && keep(i, j, k) {
                        *count.entry(sq).or_default() += 1;
                    }
                }
            }
        }
        let a = 2.0 * cell_radius_cm;
        count
            .into_iter()
            .take(self.shells)
            .map(|(sq, n)| (a * (sq as f64 / step_sq as f64).sqrt(), n))
            .collect()
    }
}

/// Self, cross and total dose to the central cell per decay in each (labelled) cell, per
/// column of [`COLUMNS`], with standard uncertainties.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterDose {
    /// Self S value per column [Gy/(Bq·s)].
    pub self_s: [f64; 5],
    /// Cross-dose sum per column [Gy/(Bq·s)].
    pub cross_s: [f64; 5],
    /// Standard uncertainty of self + cross per column.
    pub sigma: [f64; 5],
}

impl ClusterDose {
    /// Self + cross.
    pub fn total(&self) -> [f64; 5] {
        std::array::from_fn(|k| self.self_s[k] + self.cross_s[k])
    }

    /// Self-dose fraction of the total per column.
    pub fn self_fraction(&self) -> [f64; 5] {
        let t = self.total();
        std::array::from_fn(|k| {
            if t[k] > 0.0 {
                self.self_s[k] / t[k]
            } else {
                0.0
            }
        })
    }
}

/// Sums the rows over the cluster's shells: `rows` must hold the self row and a row at every
/// shell distance (matched to 1e-9 relative).
pub fn cluster_dose(c: &Cluster, cell_radius_cm: f64, rows: &[Row]) -> Result<ClusterDose> {
    let find = |d: Option<f64>| {
        rows.iter().find(|r| match (r.distance_cm, d) {
            (None, None) => true,
            (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * b,
            _ => false,
        })
    };
    let missing = |what: String| CellError::Invalid(format!("cluster: no S values for {what}"));
    let me = find(None).ok_or_else(|| missing("the self row".into()))?;
    let mut cross = [0.0; 5];
    let mut var: [f64; 5] = std::array::from_fn(|k| (me.s_gy_per_bq_s[k] * me.rel_unc[k]).powi(2));
    for (d, n) in c.shells(cell_radius_cm) {
        let r = find(Some(d)).ok_or_else(|| missing(format!("distance {} µm", d * 1e4)))?;
        let w = n as f64 * c.labelled_fraction;
        for k in 0..COLUMNS.len() {
            cross[k] += w * r.s_gy_per_bq_s[k];
            var[k] += (w * r.s_gy_per_bq_s[k] * r.rel_unc[k]).powi(2);
        }
    }
    Ok(ClusterDose {
        self_s: me.s_gy_per_bq_s,
        cross_s: cross,
        sigma: var.map(f64::sqrt),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lattice_shells_have_the_textbook_counts() {
        let sc = Cluster::parse("sc:4", 1.0).unwrap().shells(1.0);
        let got: Vec<usize> = sc.iter().map(|s| s.1).collect();
        assert_eq!(got, vec![6, 12, 8, 6]);
        assert!((sc[1].0 - 2.0 * 2f64.sqrt()).abs() < 1e-12);
        let fcc = Cluster::parse("fcc:4", 1.0).unwrap().shells(1.0);
        let got: Vec<usize> = fcc.iter().map(|s| s.1).collect();
        assert_eq!(got, vec![12, 6, 24, 12]);
        assert!((fcc[0].0 - 2.0).abs() < 1e-12);
        assert!((fcc[3].0 - 4.0).abs() < 1e-12);
        for bad in ["hcp:2", "fcc", "fcc:0", "fcc:x", "sc:13"] {
            assert!(Cluster::parse(bad, 1.0).is_err(), "{bad}");
        }
        assert!(Cluster::parse("sc:1", 1.5).is_err());
    }

    #[test]
    fn cluster_dose_sums_shells() {
        let c = Cluster::parse("sc:2", 0.5).unwrap();
        let row = |d: Option<f64>, v: f64| Row {
            distance_cm: d,
            s_gy_per_bq_s: [v; 5],
            rel_unc: [0.1; 5],
        };
        let rows = [
            row(None, 10.0),
            row(Some(2.0), 1.0),
            row(Some(8f64.sqrt()), 0.5),
        ];
        let d = cluster_dose(&c, 1.0, &rows).unwrap();
        assert!((d.cross_s[0] - (0.5 * 6.0 * 1.0 + 0.5 * 12.0 * 0.5)).abs() < 1e-12);
        assert!((d.total()[3] - 16.0).abs() < 1e-12);
        assert!((d.self_fraction()[2] - 10.0 / 16.0).abs() < 1e-12);
        assert!(cluster_dose(&c, 1.0, &rows[..2]).is_err());
    }
}
