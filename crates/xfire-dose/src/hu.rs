//! CT numbers (HU) → mass density and material.
//!
//! A calibration is a table of points `hu, density_g_cm3, material` with increasing HU: the
//! density is interpolated linearly between points, and the material of a point holds from
//! its HU up to the next point's (the last point's material holds at its HU only). CT numbers
//! outside [first HU, last HU] are refused with the voxel and value named.
//!
//! The default table ([`DEFAULT_TABLE`], `docs/formats/dose.md`) is the electron-density
//! ramp ρ ≈ 1 + HU/1000 g/cm³ below 0 HU and a bone line ρ = 1 + 0.0006·HU above (cortical
//! bone, 1.85–1.96 g/cm³, near 1400–1600 HU at 120 kVp), with four materials: air below
//! −950 HU, ICRP lung to −200 HU, ICRU soft tissue to 200 HU, ICRU cortical bone above.
//! It is a generic calibration: a scanner-specific table (`--hu-table`) should replace it
//! for clinical work.

use std::path::Path;

use xfire_io::Volume;
use xfire_phantom::{MaterialEntry, Phantom};

use crate::{invalid, Result};

/// The default calibration, in the file format of `--hu-table`.
pub const DEFAULT_TABLE: &str = "\
# xfire default HU calibration (docs/formats/dose.md)
hu,density_g_cm3,material
-1024,0.0012,air
-950,0.050,lung
-200,0.800,soft_tissue_icru
0,1.000,soft_tissue_icru
200,1.120,bone_cortical
3071,2.8426,bone_cortical
";

/// One calibration point.
#[derive(Debug, Clone, PartialEq)]
pub struct HuPoint {
    /// CT number \[HU\].
    pub hu: f64,
    /// Mass density at this CT number \[g/cm³\].
    pub density_g_cm3: f64,
    /// Material from this CT number up to the next point.
    pub material: String,
}

/// A HU → (density, material) calibration.
#[derive(Debug, Clone, PartialEq)]
pub struct HuCalibration {
    /// The points, HU increasing.
    pub points: Vec<HuPoint>,
}

impl HuCalibration {
    /// The default table.
    pub fn default_ramp() -> Self {
        Self::parse(DEFAULT_TABLE, "default HU table").expect("default table is valid")
    }

    /// Read a calibration file (`hu,density_g_cm3,material` lines; `#` comments and the
    /// header line skipped).
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| crate::DoseError::File {
            path: path.to_path_buf(),
            error: e,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parse a calibration table; `what` names it in errors. Materials must be known to
    /// `xfire-data` (built in); densities positive; HU strictly increasing; 2 points at least.
    pub fn parse(text: &str, what: &str) -> Result<Self> {
        let mut points: Vec<HuPoint> = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with("hu,") {
                continue;
            }
            let at = || format!("{what} line {}", n + 1);
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            if f.len() != 3 {
                return Err(invalid(format!(
                    "{}: expected 'hu,density_g_cm3,material', got {line:?}",
                    at()
                )));
            }
            let num = |s: &str, unit: &str| {
                s.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| invalid(format!("{}: {s:?} is not a number ({unit})", at())))
            };
            let hu = num(f[0], "HU")?;
            let density = num(f[1], "g/cm3")?;
            if !(density > 0.0) {
                return Err(invalid(format!(
                    "{}: density {density} g/cm3 must be positive",
                    at()
                )));
            }
            if xfire_data::materials::builtin(f[2]).is_none() {
                return Err(invalid(format!(
                    "{}: unknown material {:?}; built-in materials: {}",
                    at(),
                    f[2],
                    xfire_data::materials::builtin_names().join(", ")
                )));
            }
            if let Some(p) = points.last() {
                if hu <= p.hu {
                    return Err(invalid(format!(
                        "{}: HU {hu} must be above the previous point's {}",
                        at(),
                        p.hu
                    )));
                }
            }
            points.push(HuPoint {
                hu,
                density_g_cm3: density,
                material: f[2].to_string(),
            });
        }
        if points.len() < 2 {
            return Err(invalid(format!(
                "{what}: a HU calibration needs at least 2 points, found {}",
                points.len()
            )));
        }
        Ok(Self { points })
    }

    /// The HU range covered.
    pub fn range(&self) -> (f64, f64) {
        (self.points[0].hu, self.points[self.points.len() - 1].hu)
    }

    /// (density \[g/cm³\], material) at `hu`; `None` outside the range (or NaN).
    pub fn lookup(&self, hu: f64) -> Option<(f64, &str)> {
        let (lo, hi) = self.range();
        if !(hu >= lo && hu <= hi) {
            return None;
        }
        let k = self.points.partition_point(|p| p.hu <= hu).max(1) - 1;
        let p = &self.points[k];
        if k + 1 == self.points.len() {
            return Some((p.density_g_cm3, &p.material));
        }
        let q = &self.points[k + 1];
        let f = (hu - p.hu) / (q.hu - p.hu);
        Some((
            p.density_g_cm3 + f * (q.density_g_cm3 - p.density_g_cm3),
            &p.material,
        ))
    }
}

/// A phantom (materials and densities per voxel) from a CT image by `cal`; the error names
/// the first voxel outside the calibrated HU range.
pub fn phantom_from_ct(ct: &Volume, cal: &HuCalibration, ct_name: &str) -> Result<Phantom> {
    let first = &cal.points[0];
    let mut p = Phantom::uniform(
        ct.grid,
        MaterialEntry {
            name: first.material.clone(),
            density_g_cm3: nominal_density(&first.material),
        },
        0,
    );
    for (v, &hu) in ct.values.iter().enumerate() {
        let (rho, mat) = cal.lookup(hu).ok_or_else(|| {
            let [i, j, k] = ct.grid.ijk(v);
            let (lo, hi) = cal.range();
            invalid(format!(
                "{ct_name}: voxel ({i}, {j}, {k}) has CT number {hu} HU, outside the \
                 calibrated range {lo} to {hi} HU (give a wider --hu-table)"
            ))
        })?;
        let m = p.material_or_add(mat, nominal_density(mat))?;
        p.material[v] = m;
        p.density_g_cm3[v] = rho as f32;
    }
    Ok(p)
}

/// Nominal density of a built-in material \[g/cm³\] (1 if unknown; materials are checked
/// when a calibration is parsed).
pub fn nominal_density(name: &str) -> f64 {
    xfire_data::materials::builtin(name).map_or(1.0, |m| m.density_g_cm3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ramp_values() {
        let c = HuCalibration::default_ramp();
        assert_eq!(c.lookup(0.0), Some((1.0, "soft_tissue_icru")));
        let (rho, m) = c.lookup(-700.0).unwrap();
        assert!((rho - 0.3).abs() < 1e-12 && m == "lung", "{rho} {m}");
        let (rho, m) = c.lookup(1500.0).unwrap();
        assert!((rho - 1.9).abs() < 1e-4 && m == "bone_cortical", "{rho}");
        assert_eq!(c.lookup(-2000.0), None);
        assert_eq!(c.lookup(f64::NAN), None);
        assert_eq!(c.lookup(3071.0).unwrap().1, "bone_cortical");
    }

    #[test]
    fn bad_tables_are_refused() {
        for (t, want) in [
            ("0,1,water\n-10,1,water", "must be above"),
            ("0,1,unobtainium\n10,1,water", "unknown material"),
            ("0,-1,water\n10,1,water", "must be positive"),
            ("0,1,water", "at least 2"),
            ("0,x,water\n1,1,water", "not a number"),
        ] {
            let e = HuCalibration::parse(t, "t.csv").unwrap_err().to_string();
            assert!(e.contains(want), "{t}: {e}");
        }
    }

    #[test]
    fn ct_outside_the_range_names_the_voxel() {
        let g = xfire_phantom::Grid::centred([2, 1, 1], [0.4; 3]).unwrap();
        let ct = Volume {
            grid: g,
            values: vec![0.0, 5000.0],
            element: xfire_io::ElementType::I16,
        };
        let e = phantom_from_ct(&ct, &HuCalibration::default_ramp(), "ct.nii")
            .unwrap_err()
            .to_string();
        assert!(e.contains("(1, 0, 0)") && e.contains("5000 HU"), "{e}");
    }
}
