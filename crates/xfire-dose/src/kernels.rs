//! The voxel S-value (VSV) library: `kernels/vsv/*.csv`, made by `xfire kernel --source
//! voxel` (`scripts/make-kernels`), embedded in this crate at build time (`build.rs`), format
//! `docs/formats/kernel-library.md`.
//!
//! A file is `kernel.csv` of `xfire kernel` (one row per symmetry class `i ≤ j ≤ k` of the
//! offset from the source voxel) behind `# key: value` lines saying how it was made. A
//! [`VsvKernel`] expands the classes to the full cube of side 2h+1 (h = grid/2).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use crate::{invalid, Result};

include!(concat!(env!("OUT_DIR"), "/embedded_kernels.rs"));

/// One voxel S-value table.
#[derive(Debug, Clone, PartialEq)]
pub struct VsvKernel {
    /// Where it came from (file name in the library, or the path of a user file).
    pub source: String,
    /// Every `# key: value` header entry.
    pub meta: BTreeMap<String, String>,
    /// Nuclide (canonical name, e.g. `Lu-177`).
    pub nuclide: String,
    /// Material of the kernel's medium.
    pub material: String,
    /// Density of the medium \[g/cm³\].
    pub density_g_cm3: f64,
    /// Voxel edge \[cm\].
    pub voxel_cm: f64,
    /// Half-width h: offsets −h..=h per axis.
    pub half: usize,
    /// Dose per decay of each class \[Gy\], indexed by [`class_index`].
    pub dose_gy_per_decay: Vec<f64>,
    /// Relative standard uncertainty of each class.
    pub rel_unc: Vec<f64>,
}

/// Index of the symmetry class of sorted offsets i ≤ j ≤ k ≤ h in lexicographic order (the
/// row order of `kernel.csv`).
pub fn class_index(i: usize, j: usize, k: usize, h: usize) -> usize {
    // rows before i: classes with first offset < i
    let m = h + 1;
    let tri = |a: usize| a * (a + 1) / 2; // pairs j ≤ k among a values
    let mut idx = 0;
    for a in 0..i {
        idx += tri(m - a);
    }
    // rows with first = i and second < j
    for b in i..j {
        idx += m - b;
    }
    idx + (k - j)
}

fn header_value<'a>(meta: &'a BTreeMap<String, String>, key: &str, src: &str) -> Result<&'a str> {
    meta.get(key)
        .map(String::as_str)
        .ok_or_else(|| invalid(format!("kernel {src}: header line '# {key}: ...' missing")))
}

fn parse_num(s: &str, what: &str, src: &str) -> Result<f64> {
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| invalid(format!("kernel {src}: {what} {s:?} is not a number")))
}

impl VsvKernel {
    /// Parse a library file; `src` names it in errors.
    pub fn parse(text: &str, src: &str) -> Result<Self> {
        let mut meta = BTreeMap::new();
        let mut rows = Vec::new();
        let mut columns: Option<Vec<&str>> = None;
        for line in text.lines() {
            if let Some(h) = line.strip_prefix('#') {
                if let Some((k, v)) = h.split_once(':') {
                    meta.insert(k.trim().to_string(), v.trim().to_string());
                }
            } else if line.starts_with("i,j,k") {
                columns = Some(line.split(',').map(str::trim).collect());
            } else if !line.trim().is_empty() {
                rows.push(line);
            }
        }
        let columns = columns
            .ok_or_else(|| invalid(format!("kernel {src}: no 'i,j,k,...' column header line")))?;
        let col = |name: &str| {
            columns.iter().position(|c| *c == name).ok_or_else(|| {
                invalid(format!(
                    "kernel {src}: no column {name:?} (has {columns:?})"
                ))
            })
        };
        let (c_dose, c_unc) = (col("dose_gy_per_decay")?, col("rel_unc")?);
        if header_value(&meta, "source", src)? != "voxel" {
            return Err(invalid(format!(
                "kernel {src}: a voxel S-value table needs '# source: voxel'"
            )));
        }
        let grid = parse_num(header_value(&meta, "grid", src)?, "grid", src)? as usize;
        let half = grid / 2;
        let n_classes = (half + 3) * (half + 2) * (half + 1) / 6;
        if rows.len() != n_classes {
            return Err(invalid(format!(
                "kernel {src}: {} rows, a grid of {grid} has {n_classes} symmetry classes",
                rows.len()
            )));
        }
        let mut dose = vec![0.0; n_classes];
        let mut unc = vec![0.0; n_classes];
        for r in rows {
            let f: Vec<&str> = r.split(',').collect();
            if f.len() != columns.len() {
                return Err(invalid(format!(
                    "kernel {src}: row {r:?} has {} fields, the header {}",
                    f.len(),
                    columns.len()
                )));
            }
            let o: Vec<usize> = f[..3]
                .iter()
                .map(|s| s.trim().parse::<usize>())
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| invalid(format!("kernel {src}: row {r:?}: bad offsets")))?;
            if !(o[0] <= o[1] && o[1] <= o[2] && o[2] <= half) {
                return Err(invalid(format!(
                    "kernel {src}: row {r:?}: offsets not i ≤ j ≤ k ≤ {half}"
                )));
            }
            let c = class_index(o[0], o[1], o[2], half);
            dose[c] = parse_num(f[c_dose], "dose_gy_per_decay", src)?;
            unc[c] = f[c_unc].trim().parse::<f64>().unwrap_or(f64::NAN);
        }
        Ok(Self {
            source: src.to_string(),
            nuclide: header_value(&meta, "nuclide", src)?.to_string(),
            material: header_value(&meta, "material", src)?.to_string(),
            density_g_cm3: parse_num(header_value(&meta, "density_g_cm3", src)?, "density", src)?,
            voxel_cm: parse_num(header_value(&meta, "voxel_mm", src)?, "voxel_mm", src)? / 10.0,
            half,
            dose_gy_per_decay: dose,
            rel_unc: unc,
            meta,
        })
    }

    /// Read a library-format file from disk.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| crate::DoseError::File {
            path: path.to_path_buf(),
            error: e,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Dose per decay \[Gy\] at offset (dx, dy, dz) voxels; 0 beyond h.
    pub fn at(&self, d: [isize; 3]) -> f64 {
        let mut a = [
            d[0].unsigned_abs(),
            d[1].unsigned_abs(),
            d[2].unsigned_abs(),
        ];
        a.sort_unstable();
        if a[2] > self.half {
            return 0.0;
        }
        self.dose_gy_per_decay[class_index(a[0], a[1], a[2], self.half)]
    }

    /// The full cube (side 2h+1, x fastest, centre (h, h, h)) of dose per decay \[Gy\].
    pub fn cube(&self) -> Vec<f64> {
        let h = self.half as isize;
        let side = 2 * self.half + 1;
        let mut out = Vec::with_capacity(side * side * side);
        for z in -h..=h {
            for y in -h..=h {
                for x in -h..=h {
                    out.push(self.at([x, y, z]));
                }
            }
        }
        out
    }

    /// Relative uncertainty of the self-dose (class 0,0,0).
    pub fn self_rel_unc(&self) -> f64 {
        self.rel_unc[0]
    }
}

/// The embedded library, parsed once (a file that does not parse is a build defect: it is
/// reported by [`library`] as an error).
pub fn library() -> Result<&'static [VsvKernel]> {
    static LIB: OnceLock<std::result::Result<Vec<VsvKernel>, String>> = OnceLock::new();
    LIB.get_or_init(|| {
        EMBEDDED
            .iter()
            .map(|(name, text)| VsvKernel::parse(text, name).map_err(|e| e.to_string()))
            .collect()
    })
    .as_deref()
    .map_err(|e| invalid(e.clone()))
}

/// The library kernel for `nuclide` (canonical name), `material` and a cubic voxel of
/// `voxel_cm` (within 0.5 %); the error lists what the library has for the nuclide.
pub fn find(nuclide: &str, material: &str, voxel_cm: f64) -> Result<&'static VsvKernel> {
    let lib = library()?;
    if let Some(k) = lib.iter().find(|k| {
        k.nuclide == nuclide && k.material == material && (k.voxel_cm / voxel_cm - 1.0).abs() < 5e-3
    }) {
        return Ok(k);
    }
    let have: Vec<String> = lib
        .iter()
        .filter(|k| k.nuclide == nuclide)
        .map(|k| format!("{} {} mm", k.material, k.voxel_cm * 10.0))
        .collect();
    Err(invalid(format!(
        "no voxel S-value kernel for {nuclide} in {material} at {} mm voxels in the library \
         (it has {}); make one with scripts/make-kernels and give it as --kernel FILE, or use \
         --method mc",
        voxel_cm * 10.0,
        if have.is_empty() {
            "none for this nuclide".to_string()
        } else {
            have.join(", ")
        }
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_index_follows_row_order() {
        for h in 0..6 {
            let mut n = 0;
            for i in 0..=h {
                for j in i..=h {
                    for k in j..=h {
                        assert_eq!(class_index(i, j, k, h), n, "h={h} ({i},{j},{k})");
                        n += 1;
                    }
                }
            }
            assert_eq!(n, (h + 3) * (h + 2) * (h + 1) / 6);
        }
    }

    #[test]
    fn every_embedded_kernel_parses_and_is_sane() {
        let lib = library().unwrap();
        assert!(!lib.is_empty(), "kernels/vsv/ is empty");
        for k in lib {
            let c = k.cube();
            let s = 2 * k.half + 1;
            assert_eq!(c.len(), s * s * s);
            // the source voxel has the largest dose
            let max = c.iter().copied().fold(0.0, f64::max);
            assert_eq!(max, k.at([0, 0, 0]), "{}", k.source);
            assert!(
                k.self_rel_unc() < 0.01,
                "{}: self {}",
                k.source,
                k.self_rel_unc()
            );
            // energy balance: Σ dose × voxel mass = the energy deposited in the cube (header),
            // up to the 6-digit rounding of the classes
            let voxel_g = k.density_g_cm3 * k.voxel_cm.powi(3);
            let e_mev = c.iter().sum::<f64>() * voxel_g / xfire_core::constants::MEV_PER_G_TO_GY;
            let dep: f64 = k.meta["deposited_mev_per_decay"].parse().unwrap();
            assert!(
                (e_mev / dep - 1.0).abs() < 1e-5,
                "{}: {e_mev} vs {dep} MeV",
                k.source
            );
        }
    }

    #[test]
    fn bad_files_are_refused() {
        let e = VsvKernel::parse(
            "# source: voxel\n# grid: 3\ni,j,k,dose_gy_per_decay,rel_unc\n0,0,0,1,0\n",
            "x",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("1 rows") && e.contains("4 symmetry classes"),
            "{e}"
        );
    }
}
