//! Clusters: the dose to the central (target) cell of a cluster of identical cells from every
//! cell's activity (MIRDcell's 3D cluster), as (target's weight) × self S value + Σ over
//! neighbour distances of (summed weight at that distance) × S at the distance. Exact for the
//! MIRD model (one homogeneous medium: a neighbour's S value does not depend on the other
//! cells). Two kinds: a lattice ([`Cluster`]: weight 1 for the central cell, the labelled
//! fraction for each neighbour) and a list of cells from a file ([`crate::cells::CellList`]:
//! each cell's activity).
//!
//! Lattices with touching cells (nearest-neighbour distance 2 R_C): `sc` (simple cubic:
//! shells of 6, 12, 8, 6, … cells at 1, √2, √3, 2 × 2R_C) and `fcc` (face-centred cubic:
//! 12, 6, 24, 12, … at 1, √2, √3, 2 × 2R_C).

use crate::cells::CellList;
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
                "cluster {text:?}: write LATTICE:SHELLS with LATTICE sc or fcc and 1 to {MAX_SHELLS} shells, e.g. fcc:2, \
                 or the path of a CSV file of cell centres ending in .csv"
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

/// A cluster around the target cell: a lattice or a list of cells.
#[derive(Debug, Clone, PartialEq)]
pub enum ClusterSpec {
    /// A lattice of touching cells around the central cell.
    Lattice(Cluster),
    /// Cells from a file, the target first.
    Cells(CellList),
}

/// The neighbours at one distance from the target cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Group {
    /// Centre distance [cm].
    pub distance_cm: f64,
    /// Cells at that distance.
    pub cells: usize,
    /// Their summed weight (labelled fraction × cells, or summed activity).
    pub weight: f64,
}

impl ClusterSpec {
    /// The weight of the target cell's own activity.
    pub fn self_weight(&self) -> f64 {
        match self {
            ClusterSpec::Lattice(_) => 1.0,
            ClusterSpec::Cells(l) => l.self_weight(),
        }
    }

    /// The neighbours grouped by distance, nearest first.
    pub fn groups(&self, cell_radius_cm: f64) -> Vec<Group> {
        match self {
            ClusterSpec::Lattice(c) => c
                .shells(cell_radius_cm)
                .into_iter()
                .map(|(d, n)| Group {
                    distance_cm: d,
                    cells: n,
                    weight: n as f64 * c.labelled_fraction,
                })
                .collect(),
            ClusterSpec::Cells(l) => l
                .groups()
                .into_iter()
                .map(|(d, n, w)| Group {
                    distance_cm: d,
                    cells: n,
                    weight: w,
                })
                .collect(),
        }
    }
}

/// Self, cross and total dose to the target cell, per column of [`COLUMNS`], with standard
/// uncertainties: per decay in each labelled cell (lattice) or per unit cumulated activity of
/// a cell of activity 1 (list of cells).
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterDose {
    /// Self term per column [Gy/(Bq·s)].
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

/// Sums the rows over the cluster's neighbour groups: `rows` must hold the self row and a
/// row at every group distance (matched to 1e-9 relative).
pub fn cluster_dose(c: &ClusterSpec, cell_radius_cm: f64, rows: &[Row]) -> Result<ClusterDose> {
    let find = |d: Option<f64>| {
        rows.iter().find(|r| match (r.distance_cm, d) {
            (None, None) => true,
            (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * b,
            _ => false,
        })
    };
    let missing = |what: String| CellError::Invalid(format!("cluster: no S values for {what}"));
    let me = find(None).ok_or_else(|| missing("the self row".into()))?;
    let w0 = c.self_weight();
    let self_s = me.s_gy_per_bq_s.map(|s| w0 * s);
    let mut cross = [0.0; 5];
    let mut var: [f64; 5] = std::array::from_fn(|k| {
        if self_s[k] > 0.0 {
            (self_s[k] * me.rel_unc[k]).powi(2)
        } else {
            0.0
        }
    });
    for g in c.groups(cell_radius_cm) {
        let d = g.distance_cm;
        let r = find(Some(d)).ok_or_else(|| missing(format!("distance {} µm", d * 1e4)))?;
        for k in 0..COLUMNS.len() {
            let v = g.weight * r.s_gy_per_bq_s[k];
            cross[k] += v;
            if v > 0.0 {
                var[k] += (v * r.rel_unc[k]).powi(2);
            }
        }
    }
    Ok(ClusterDose {
        self_s,
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

    /// A row with the same S value `v` and 10 % uncertainty in every column.
    fn row(d: Option<f64>, v: f64) -> Row {
        Row {
            distance_cm: d,
            s_gy_per_bq_s: [v; 5],
            rel_unc: [0.1; 5],
        }
    }

    #[test]
    fn cluster_dose_sums_shells() {
        let c = Cluster::parse("sc:2", 0.5).unwrap();
        let rows = [
            row(None, 10.0),
            row(Some(2.0), 1.0),
            row(Some(8f64.sqrt()), 0.5),
        ];
        let c = ClusterSpec::Lattice(c);
        let d = cluster_dose(&c, 1.0, &rows).unwrap();
        assert!((d.cross_s[0] - (0.5 * 6.0 * 1.0 + 0.5 * 12.0 * 0.5)).abs() < 1e-12);
        assert!((d.total()[3] - 16.0).abs() < 1e-12);
        assert!((d.self_fraction()[2] - 10.0 / 16.0).abs() < 1e-12);
        assert!(cluster_dose(&c, 1.0, &rows[..2]).is_err());
    }

    #[test]
    fn a_list_of_cells_weights_each_by_its_activity() {
        let text = "x_um,y_um,z_um,activity\n0,0,0,2\n10,0,0,1\n0,-10,0,0.5\n0,0,20,0\n";
        let c = ClusterSpec::Cells(CellList::parse("c.csv", text, 5e-4).unwrap());
        let rows = [
            row(None, 10.0),
            row(Some(10e-4), 1.0),
            row(Some(20e-4), 0.5),
        ];
        let d = cluster_dose(&c, 5e-4, &rows).unwrap();
        assert!((d.self_s[0] - 20.0).abs() < 1e-12);
        assert!((d.cross_s[0] - 1.5).abs() < 1e-12);
        let want_sigma = (2.0f64.powi(2) + 0.15f64.powi(2)).sqrt();
        assert!((d.sigma[0] - want_sigma).abs() < 1e-12);
        assert!(cluster_dose(&c, 5e-4, &rows[..2]).is_err());
    }
}
