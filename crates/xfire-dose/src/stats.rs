//! Statistics of a dose image per label: mass, mean dose, dose–volume points and the
//! cumulative dose–volume histogram.
//!
//! * mean dose = Σ D·m / Σ m (energy over mass: the mean absorbed dose of the label);
//! * D_x = the lowest dose among the hottest x % of the label's volume: doses sorted in
//!   decreasing order, D_x is the ⌈x/100·n⌉-th (all voxels of an image have one volume);
//! * the cumulative DVH V(D) = fraction of the label's volume with dose ≥ D.

use serde::Serialize;

/// Statistics of one label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelStats {
    /// Label id (0 = every voxel when no label image was given).
    pub id: u32,
    /// Label name.
    pub name: String,
    /// Voxels.
    pub voxels: u64,
    /// Volume \[ml\].
    pub volume_ml: f64,
    /// Mass \[g\].
    pub mass_g: f64,
    /// Time-integrated activity in the label \[Bq·s\] (= decays).
    pub tia_bq_s: f64,
    /// Mean absorbed dose \[Gy\].
    pub mean_gy: f64,
    /// Lowest voxel dose \[Gy\].
    pub min_gy: f64,
    /// Highest voxel dose \[Gy\].
    pub max_gy: f64,
    /// D2 \[Gy\].
    pub d2_gy: f64,
    /// D50 (median) \[Gy\].
    pub d50_gy: f64,
    /// D90 \[Gy\].
    pub d90_gy: f64,
    /// D98 \[Gy\].
    pub d98_gy: f64,
    /// Relative standard uncertainty of the mean dose (Monte Carlo only).
    pub mean_rel_unc: Option<f64>,
}

/// D_x of doses sorted in decreasing order.
pub fn d_x(sorted_desc: &[f64], x_percent: f64) -> f64 {
    if sorted_desc.is_empty() {
        return 0.0;
    }
    let n = sorted_desc.len();
    let k = ((x_percent / 100.0 * n as f64).ceil() as usize).clamp(1, n);
    sorted_desc[k - 1]
}

/// The voxels of each label: (id, voxel indices), ids ascending; `labels` = None gives one
/// entry, id 0, of every voxel.
pub fn label_voxels(labels: Option<&[u32]>, n: usize) -> Vec<(u32, Vec<usize>)> {
    match labels {
        None => vec![(0, (0..n).collect())],
        Some(l) => {
            let mut map: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
            for (v, &id) in l.iter().enumerate() {
                if id != 0 {
                    map.entry(id).or_default().push(v);
                }
            }
            map.into_iter().collect()
        }
    }
}

/// Statistics of one label's voxels `vox`, given per-voxel dose \[Gy\], mass \[g\], TIA and
/// voxel volume \[ml\].
pub fn label_stats(
    id: u32,
    name: String,
    vox: &[usize],
    dose: &[f64],
    mass: &[f64],
    tia: &[f64],
    voxel_ml: f64,
) -> LabelStats {
    let m: f64 = vox.iter().map(|&v| mass[v]).sum();
    let e: f64 = vox.iter().map(|&v| mass[v] * dose[v]).sum();
    let mut d: Vec<f64> = vox.iter().map(|&v| dose[v]).collect();
    d.sort_by(|a, b| b.total_cmp(a));
    LabelStats {
        id,
        name,
        voxels: vox.len() as u64,
        volume_ml: vox.len() as f64 * voxel_ml,
        mass_g: m,
        tia_bq_s: vox.iter().map(|&v| tia[v]).sum(),
        mean_gy: if m > 0.0 { e / m } else { 0.0 },
        min_gy: d.last().copied().unwrap_or(0.0),
        max_gy: d.first().copied().unwrap_or(0.0),
        d2_gy: d_x(&d, 2.0),
        d50_gy: d_x(&d, 50.0),
        d90_gy: d_x(&d, 90.0),
        d98_gy: d_x(&d, 98.0),
        mean_rel_unc: None,
    }
}

/// Cumulative DVHs on a common dose axis of `bins` + 1 points from 0 to the largest dose:
/// (dose axis \[Gy\], per label the volume fraction with dose ≥ each point).
pub fn cumulative_dvh(
    groups: &[(u32, Vec<usize>)],
    dose: &[f64],
    bins: usize,
) -> (Vec<f64>, Vec<Vec<f64>>) {
    let dmax = groups
        .iter()
        .flat_map(|(_, v)| v.iter().map(|&i| dose[i]))
        .fold(0.0, f64::max);
    let axis: Vec<f64> = (0..=bins).map(|k| dmax * k as f64 / bins as f64).collect();
    let curves = groups
        .iter()
        .map(|(_, vox)| {
            let mut d: Vec<f64> = vox.iter().map(|&v| dose[v]).collect();
            d.sort_by(f64::total_cmp);
            let n = d.len().max(1) as f64;
            axis.iter()
                .map(|&x| (d.len() - d.partition_point(|&y| y < x)) as f64 / n)
                .collect()
        })
        .collect();
    (axis, curves)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dose_volume_points() {
        let d: Vec<f64> = (1..=100).rev().map(|x| x as f64).collect(); // 100..1
        assert_eq!(d_x(&d, 2.0), 99.0);
        assert_eq!(d_x(&d, 50.0), 51.0);
        assert_eq!(d_x(&d, 90.0), 11.0);
        assert_eq!(d_x(&d, 98.0), 3.0);
        assert_eq!(d_x(&d, 100.0), 1.0);
    }

    #[test]
    fn mean_is_mass_weighted_and_dvh_starts_at_one() {
        let dose = [1.0, 3.0, 10.0];
        let mass = [1.0, 3.0, 1.0];
        let tia = [1.0, 2.0, 0.0];
        let s = label_stats(5, "x".into(), &[0, 1], &dose, &mass, &tia, 0.1);
        assert_eq!(s.mean_gy, 2.5);
        assert_eq!(s.tia_bq_s, 3.0);
        assert!((s.volume_ml - 0.2).abs() < 1e-15);
        let groups = label_voxels(Some(&[5, 5, 0]), 3);
        let (axis, c) = cumulative_dvh(&groups, &dose, 3);
        assert_eq!(axis, vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(c[0], vec![1.0, 1.0, 0.5, 0.5]);
    }
}
