//! Synthetic test images: a small patient-like torso (CT numbers, labels, activity at time
//! points after a ¹⁷⁷Lu administration with known mono-exponential kinetics per organ) and
//! phantoms for the validation (uniform sphere, lung and bone inserts). Deterministic; used
//! by `examples/make_patient.rs` (which writes `phantoms/patient-lu177/`) and by the tests.

use xfire_phantom::Grid;

/// One organ of the synthetic torso: an ellipsoid (or, with `semi_mm[2]` infinite, an
/// elliptic cylinder along z), its CT number and its kinetics.
#[derive(Debug, Clone, PartialEq)]
pub struct Organ {
    /// Label id.
    pub id: u32,
    /// Name.
    pub name: &'static str,
    /// Centre \[mm\] from the grid centre.
    pub centre_mm: [f64; 3],
    /// Semi-axes \[mm\].
    pub semi_mm: [f64; 3],
    /// CT number \[HU\].
    pub hu: f64,
    /// Fraction of the administered activity in the organ at t = 0 (back-extrapolated).
    pub uptake: f64,
    /// Effective half-life \[h\].
    pub t_eff_h: f64,
}

const INF: f64 = f64::INFINITY;

/// The torso's organs; later entries overwrite earlier ones where they overlap.
pub fn torso_organs() -> Vec<Organ> {
    let o = |id, name, centre_mm, semi_mm, hu, uptake, t_eff_h| Organ {
        id,
        name,
        centre_mm,
        semi_mm,
        hu,
        uptake,
        t_eff_h,
    };
    vec![
        o(
            1,
            "body",
            [0.0, 0.0, 0.0],
            [95.0, 70.0, INF],
            40.0,
            0.10,
            15.0,
        ),
        o(
            2,
            "lung_left",
            [-45.0, -5.0, 45.0],
            [30.0, 35.0, 50.0],
            -750.0,
            0.003,
            20.0,
        ),
        o(
            3,
            "lung_right",
            [45.0, -5.0, 45.0],
            [30.0, 35.0, 50.0],
            -750.0,
            0.003,
            20.0,
        ),
        o(
            4,
            "spine",
            [0.0, 48.0, 0.0],
            [14.0, 14.0, INF],
            700.0,
            0.005,
            40.0,
        ),
        o(
            5,
            "liver",
            [-35.0, -10.0, -45.0],
            [45.0, 40.0, 35.0],
            60.0,
            0.05,
            60.0,
        ),
        o(
            6,
            "kidney_left",
            [-48.0, 35.0, -60.0],
            [15.0, 15.0, 25.0],
            30.0,
            0.02,
            30.0,
        ),
        o(
            7,
            "kidney_right",
            [48.0, 35.0, -60.0],
            [15.0, 15.0, 25.0],
            30.0,
            0.02,
            30.0,
        ),
        o(
            8,
            "spleen",
            [55.0, 10.0, -30.0],
            [20.0, 20.0, 25.0],
            45.0,
            0.01,
            60.0,
        ),
        o(
            9,
            "lesion",
            [-55.0, -25.0, -40.0],
            [15.0, 15.0, 15.0],
            50.0,
            0.01,
            90.0,
        ),
    ]
}

/// CT of air outside the body \[HU\].
pub const AIR_HU: f64 = -1000.0;

/// The torso on `grid`: (CT \[HU\], label ids) per voxel.
pub fn torso(grid: &Grid, organs: &[Organ]) -> (Vec<f64>, Vec<u32>) {
    let n = grid.len();
    let mut ct = vec![AIR_HU; n];
    let mut label = vec![0u32; n];
    let ext = grid.extent_cm();
    for v in 0..n {
        let c = grid.centre(v);
        let mm = [0, 1, 2].map(|a| (c[a] - grid.origin_cm[a] - 0.5 * ext[a]) * 10.0);
        for o in organs {
            let r2: f64 = (0..3)
                .map(|a| {
                    if o.semi_mm[a].is_infinite() {
                        0.0
                    } else {
                        ((mm[a] - o.centre_mm[a]) / o.semi_mm[a]).powi(2)
                    }
                })
                .sum();
            if r2 <= 1.0 {
                ct[v] = o.hu;
                label[v] = o.id;
            }
        }
    }
    (ct, label)
}

/// Activity \[Bq per voxel\] at `t_s` after administering `a_bq`: each organ's
/// A·uptake·e^(−λ_eff t) spread evenly over its voxels.
pub fn torso_activity(label: &[u32], organs: &[Organ], a_bq: f64, t_s: f64) -> Vec<f64> {
    let per_voxel: Vec<(u32, f64)> = organs
        .iter()
        .map(|o| {
            let count = label.iter().filter(|&&l| l == o.id).count().max(1) as f64;
            let lambda = std::f64::consts::LN_2 / (o.t_eff_h * 3600.0);
            (o.id, a_bq * o.uptake * (-lambda * t_s).exp() / count)
        })
        .collect();
    label
        .iter()
        .map(|&l| {
            per_voxel
                .iter()
                .find(|(id, _)| *id == l)
                .map_or(0.0, |x| x.1)
        })
        .collect()
}

/// Exact TIA of an organ \[Bq·s\]: A·uptake/λ_eff.
pub fn organ_tia(o: &Organ, a_bq: f64) -> f64 {
    a_bq * o.uptake * o.t_eff_h * 3600.0 / std::f64::consts::LN_2
}

/// A mask of the voxels whose centres lie within `radius_cm` of the grid centre.
pub fn sphere_mask(grid: &Grid, radius_cm: f64) -> Vec<bool> {
    let ext = grid.extent_cm();
    (0..grid.len())
        .map(|v| {
            let c = grid.centre(v);
            let r2: f64 = (0..3)
                .map(|a| (c[a] - grid.origin_cm[a] - 0.5 * ext[a]).powi(2))
                .sum();
            r2 <= radius_cm * radius_cm
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torso_has_every_organ_and_activity_decays_as_given() {
        let g = Grid::centred([48; 3], [0.442; 3]).unwrap();
        let organs = torso_organs();
        let (ct, label) = torso(&g, &organs);
        for o in &organs {
            let n = label.iter().filter(|&&l| l == o.id).count();
            assert!(n > 20, "{}: {n} voxels", o.name);
        }
        assert!(ct.contains(&AIR_HU));
        let a0 = torso_activity(&label, &organs, 7.4e9, 0.0);
        let total: f64 = a0.iter().sum();
        let want: f64 = organs.iter().map(|o| 7.4e9 * o.uptake).sum();
        assert!((total / want - 1.0).abs() < 1e-12);
    }
}
