//! A phantom from a label image (and optionally a density image) plus a label → material
//! table (TOML):
//!
//! ```toml
//! [labels.0]
//! name = "air"
//! material = "air"
//! [labels.1]
//! name = "liver"
//! material = "soft_tissue_icrp"
//! density = 1.06        # g/cm3; used when no density image is given
//! ```
//!
//! Image label values become label names; a name equal to a built-in label (`medium`,
//! `tumour_nucleus`, …) takes the built-in id, others get user ids. Every label value in the
//! image must be in the table; densities must be finite and > 0 (table) or ≥ 0 (image).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use xfire_phantom::{LabelTable, Phantom, PhantomError};

use crate::{fmt_err, read_regular, IoError, Result, Volume};

/// One row of the import table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportLabel {
    /// Label name in the phantom.
    pub name: String,
    /// Material name.
    pub material: String,
    /// Density \[g/cm³\] (default: the material's nominal density).
    pub density: Option<f64>,
}

/// The label → material table, keyed by the label value in the image.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportTable {
    /// Rows keyed by the image value (as a string in TOML: `[labels.3]`).
    pub labels: BTreeMap<String, ImportLabel>,
}

impl ImportTable {
    /// Read a table file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = String::from_utf8(read_regular(path)?)
            .map_err(|e| fmt_err(path, format!("is not UTF-8 text: {e}")))?;
        toml::from_str(&text).map_err(|e| fmt_err(path, e.to_string()))
    }
}

/// Build a phantom. `label_path` / `table_path` are used in error messages;
/// `material_density` gives the nominal density \[g/cm³\] of a material name.
pub fn import_images(
    labels_img: &Volume,
    label_path: &Path,
    density_img: Option<(&Volume, &Path)>,
    table: &ImportTable,
    table_path: &Path,
    material_density: &dyn Fn(&str) -> Option<f64>,
) -> Result<Phantom> {
    let perr = |path: &Path| {
        let p = path.to_path_buf();
        move |e: PhantomError| IoError::Phantom { path: p, error: e }
    };
    // value -> (label id, material index, density)
    let mut lt = LabelTable::new();
    let mut phantom = Phantom::uniform(
        labels_img.grid,
        xfire_phantom::MaterialEntry {
            name: "water".into(),
            density_g_cm3: 1.0,
        },
        0,
    );
    phantom.materials.clear();
    let mut map: BTreeMap<u16, (u16, u8, f32)> = BTreeMap::new();
    for (key, row) in &table.labels {
        let value: u16 = key.trim().parse().map_err(|_| {
            fmt_err(
                table_path,
                format!("[labels.{key}]: the key must be an integer label value 0–65535"),
            )
        })?;
        let id = lt.get_or_add(&row.name).map_err(perr(table_path))?;
        let nominal = material_density(&row.material).ok_or_else(|| {
            fmt_err(
                table_path,
                format!(
                    "[labels.{key}] ({}): unknown material {:?}",
                    row.name, row.material
                ),
            )
        })?;
        let rho = match row.density {
            Some(d) if d.is_finite() && d > 0.0 => d,
            Some(d) => {
                return Err(fmt_err(
                    table_path,
                    format!(
                        "[labels.{key}] ({}): density must be finite and > 0 g/cm3, got {d}",
                        row.name
                    ),
                ))
            }
            None => nominal,
        };
        let m = phantom
            .material_or_add(&row.material, nominal)
            .map_err(perr(table_path))?;
        map.insert(value, (id, m, rho as f32));
    }
    if phantom.materials.is_empty() {
        return Err(fmt_err(table_path, "the table has no [labels.N] rows"));
    }
    phantom.labels = lt;
    if let Some((d, dpath)) = density_img {
        if d.grid.dims() != labels_img.grid.dims() {
            return Err(fmt_err(
                dpath,
                format!(
                    "density image is {:?} voxels but the label image {} is {:?}",
                    d.grid.dims(),
                    label_path.display(),
                    labels_img.grid.dims()
                ),
            ));
        }
        for a in 0..3 {
            let (x, y) = (d.grid.voxel_cm[a], labels_img.grid.voxel_cm[a]);
            if (x - y).abs() > 1e-6 * y {
                return Err(fmt_err(
                    dpath,
                    format!("density voxel size {x} cm differs from the label image's {y} cm"),
                ));
            }
        }
    }
    for (v, &x) in labels_img.values.iter().enumerate() {
        if !(x.fract() == 0.0 && (0.0..=65535.0).contains(&x)) {
            return Err(fmt_err(
                label_path,
                format!(
                    "voxel {:?} has label value {x}; labels must be integers 0–65535",
                    labels_img.grid.ijk(v)
                ),
            ));
        }
        let &(id, m, rho) = map.get(&(x as u16)).ok_or_else(|| {
            let count = labels_img.values.iter().filter(|&&y| y == x).count();
            fmt_err(
                label_path,
                format!(
                    "label value {x} ({count} voxels, first at {:?}) is not in the table {}",
                    labels_img.grid.ijk(v),
                    table_path.display()
                ),
            )
        })?;
        phantom.label[v] = id;
        phantom.material[v] = m;
        phantom.density_g_cm3[v] = rho;
    }
    if let Some((d, dpath)) = density_img {
        for (v, &x) in d.values.iter().enumerate() {
            if !(x.is_finite() && x >= 0.0) {
                return Err(fmt_err(
                    dpath,
                    format!(
                        "voxel {:?} has density {x} g/cm3 (must be finite and >= 0)",
                        d.grid.ijk(v)
                    ),
                ));
            }
            phantom.density_g_cm3[v] = x as f32;
        }
    }
    phantom.provenance = format!(
        "imported: labels {}, density {}, table {}",
        label_path.display(),
        density_img
            .map(|d| d.1.display().to_string())
            .unwrap_or_else(|| "from table".into()),
        table_path.display()
    );
    phantom.validate().map_err(perr(label_path))?;
    Ok(phantom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{metaimage, nifti, ElementType};
    use xfire_phantom::Grid;

    fn mat(m: &str) -> Option<f64> {
        match m {
            "water" => Some(1.0),
            "air" => Some(0.0012),
            "soft_tissue_icrp" => Some(1.03),
            _ => None,
        }
    }

    const TABLE: &str = r#"
[labels.0]
name = "air"
material = "air"
[labels.1]
name = "liver"
material = "soft_tissue_icrp"
density = 1.06
[labels.7]
name = "tumour"
material = "water"
"#;

    fn images() -> (Volume, Volume) {
        let grid = Grid::new([6, 5, 4], [0.2; 3], [0.0; 3]).unwrap();
        let lab: Vec<f64> = (0..120).map(|v| [0.0, 1.0, 7.0][v % 3]).collect();
        let den: Vec<f64> = (0..120).map(|v| 0.5 + v as f64 * 0.01).collect();
        (
            Volume {
                grid,
                values: lab,
                element: ElementType::U8,
            },
            Volume {
                grid,
                values: den,
                element: ElementType::F32,
            },
        )
    }

    #[test]
    fn import_from_metaimage_and_nifti() {
        let dir = tempfile::tempdir().unwrap();
        let tp = dir.path().join("t.toml");
        std::fs::write(&tp, TABLE).unwrap();
        let table = ImportTable::read(&tp).unwrap();
        let (l, d) = images();
        let lm = dir.path().join("l.mhd");
        metaimage::write_metaimage(&lm, &l).unwrap();
        let ln = dir.path().join("l.nii.gz");
        nifti::write_nifti(&ln, &l).unwrap();
        let dn = dir.path().join("d.nii");
        nifti::write_nifti(&dn, &d).unwrap();
        for lp in [&lm, &ln] {
            let lv = if lp == &lm {
                metaimage::read_metaimage(lp).unwrap()
            } else {
                nifti::read_nifti(lp).unwrap()
            };
            let p = import_images(&lv, lp, None, &table, &tp, &mat).unwrap();
            let liver = p.labels.id("liver").unwrap();
            assert_eq!(p.label[1], liver);
            assert_eq!(p.density_g_cm3[1], 1.06);
            assert_eq!(p.density_g_cm3[0], 0.0012);
            assert_eq!(p.materials[p.material[2] as usize].name, "water");
            let dv = nifti::read_nifti(&dn).unwrap();
            let p = import_images(&lv, lp, Some((&dv, &dn)), &table, &tp, &mat).unwrap();
            assert!((p.density_g_cm3[10] - 0.6).abs() < 1e-6);
        }
    }

    #[test]
    fn import_errors() {
        let dir = tempfile::tempdir().unwrap();
        let tp = dir.path().join("t.toml");
        let (l, d) = images();
        let lp = dir.path().join("l.mhd");
        let dp = dir.path().join("d.mhd");
        let table: ImportTable = toml::from_str(TABLE).unwrap();
        // unknown label value
        let mut l2 = l.clone();
        l2.values[17] = 9.0;
        let e = import_images(&l2, &lp, None, &table, &tp, &mat)
            .unwrap_err()
            .to_string();
        assert!(e.contains("label value 9") && e.contains("l.mhd"), "{e}");
        // non-integer label
        l2.values[17] = 1.5;
        assert!(import_images(&l2, &lp, None, &table, &tp, &mat).is_err());
        // NaN / negative density image
        for bad in [f64::NAN, -0.5] {
            let mut d2 = d.clone();
            d2.values[3] = bad;
            let e = import_images(&l, &lp, Some((&d2, &dp)), &table, &tp, &mat)
                .unwrap_err()
                .to_string();
            assert!(e.contains("d.mhd") && e.contains("density"), "{e}");
        }
        // mismatched density grid
        let mut d3 = d.clone();
        d3.grid = Grid::new([6, 5, 3], [0.2; 3], [0.0; 3]).unwrap();
        assert!(import_images(&l, &lp, Some((&d3, &dp)), &table, &tp, &mat).is_err());
        // unknown material, bad density in the table
        let t2: ImportTable =
            toml::from_str(&TABLE.replace("material = \"water\"", "material = \"kryptonite\""))
                .unwrap();
        let e = import_images(&l, &lp, None, &t2, &tp, &mat)
            .unwrap_err()
            .to_string();
        assert!(e.contains("kryptonite") && e.contains("t.toml"), "{e}");
        let t3: ImportTable = toml::from_str(&TABLE.replace("1.06", "-1.06")).unwrap();
        assert!(import_images(&l, &lp, None, &t3, &tp, &mat).is_err());
        let t4: ImportTable = toml::from_str(&TABLE.replace("[labels.7]", "[labels.x]")).unwrap();
        assert!(import_images(&l, &lp, None, &t4, &tp, &mat).is_err());
    }
}
