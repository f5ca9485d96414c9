//! Helpers shared by the validation tests of this crate (each test file that needs them has
//! `mod common;`): the slow-test switch and the ompMC reference files in `tests/data/`.
#![allow(dead_code)]

/// Energy accounting of a run with the standard layout (`phantom_layout`, region map 0 =
/// labels): every history balances to 1e-9, emitted = deposited + escaped, and the voxel sums
/// and the label regions each add up to the deposited energy.
pub fn assert_balance(r: &xfire_tally::TallyResult) {
    assert!(
        r.max_history_imbalance_rel < 1e-9,
        "{}",
        r.max_history_imbalance_rel
    );
    let e = r.emitted_mev_per_decay();
    let d = r.deposited_mev_per_decay() + r.escaped_mev_per_decay();
    assert!((e - d).abs() < 1e-9 * e, "{e} vs {d}");
    let vox: f64 = r.voxel_sum.iter().sum::<f64>() / r.decays as f64;
    assert!(
        (vox - r.deposited_mev_per_decay()).abs() < 1e-9 * e,
        "voxels {vox}"
    );
    let lab: f64 = r.regions[0].sum.iter().sum::<f64>() / r.decays as f64;
    assert!(
        (lab - r.deposited_mev_per_decay()).abs() < 1e-9 * e,
        "labels {lab}"
    );
}

/// True when the full validation set runs (`XFIRE_SLOW_TESTS=1`).
pub fn slow() -> bool {
    std::env::var("XFIRE_SLOW_TESTS").is_ok_and(|v| v == "1")
}

/// An ompMC reference (point kernel or voxel S values) reduced to symmetry classes of voxels
/// (|i| ≥ |j| ≥ |k| ≥ 0 offsets from the centre): `tests/data/ompmc_<name>.csv`, written by
/// `scripts/ompmc_reference.py` or `scripts/ompmc_vsv_media.py`.
pub struct Reference {
    /// Voxel edge [cm].
    pub voxel_cm: f64,
    /// Voxels per axis (odd).
    pub grid: usize,
    /// Energy emitted per decay in the reference's sample [MeV].
    pub emitted: f64,
    /// xfire material of the medium (`# medium` header: the PEGS4 name mapped to xfire's;
    /// "water" when absent).
    pub material: String,
    /// Density of the medium [g/cm³] (`# density_g_cm3`; 1 when absent).
    pub density_g_cm3: f64,
    /// (i, j, k, n voxels, class energy [MeV/decay], its σ)
    pub classes: Vec<(i64, i64, i64, usize, f64, f64)>,
}

impl Reference {
    /// (n voxels, energy, σ) of class `c`.
    pub fn class(&self, c: (i64, i64, i64)) -> Option<(usize, f64, f64)> {
        self.classes
            .iter()
            .find(|x| (x.0, x.1, x.2) == c)
            .map(|x| (x.3, x.4, x.5))
    }
}

/// The `# ` header lines (without the prefix) and the numeric rows of `cols` comma-separated
/// fields of `tests/data/<file>` (other lines, e.g. the column names, skipped). A missing file,
/// a row that does not parse or a file without rows panics: a missing reference fails its test.
pub fn read_data(file: &str, cols: usize) -> (Vec<String>, Vec<Vec<f64>>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reference file {} unreadable: {e}", path.display()));
    let (mut head, mut rows) = (Vec::new(), Vec::new());
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("# ") {
            head.push(h.to_string());
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        if f.len() == cols && f[0].parse::<f64>().is_ok() {
            rows.push(
                f.iter()
                    .map(|x| x.parse().ok())
                    .collect::<Option<Vec<f64>>>()
                    .unwrap_or_else(|| panic!("{}: malformed row {line:?}", path.display())),
            );
        }
    }
    assert!(!rows.is_empty(), "{}: no data rows", path.display());
    (head, rows)
}

/// Reads `tests/data/ompmc_<name>.csv`; panics if it is missing or malformed.
pub fn load_reference(name: &str) -> Reference {
    let file = format!("ompmc_{name}.csv");
    let (head, rows) = read_data(&file, 6);
    let mut r = Reference {
        voxel_cm: 0.0,
        grid: 0,
        emitted: 0.0,
        material: "water".into(),
        density_g_cm3: 1.0,
        classes: Vec::new(),
    };
    let num = |v: &str| -> f64 {
        v.parse()
            .unwrap_or_else(|_| panic!("{file}: bad header value {v:?}"))
    };
    for h in &head {
        let mut it = h.split_whitespace();
        match (it.next(), it.next()) {
            (Some("voxel_cm"), Some(v)) => r.voxel_cm = num(v),
            (Some("grid"), Some(v)) => r.grid = num(v) as usize,
            (Some("emitted_MeV_per_decay"), Some(v)) => r.emitted = num(v),
            (Some("density_g_cm3"), Some(v)) => r.density_g_cm3 = num(v),
            (Some("medium"), Some(v)) => {
                r.material = match v {
                    "H2O521ICRU" => "water",
                    "ICRUTISSUE521ICRU" => "soft_tissue_icru",
                    "ICRPBONE521ICRU" => "bone_cortical",
                    "LUNG521ICRU" => "lung_icru44",
                    _ => panic!("{file}: unknown medium {v}"),
                }
                .into()
            }
            _ => {}
        }
    }
    r.classes = rows
        .iter()
        .map(|f| {
            (
                f[0] as i64,
                f[1] as i64,
                f[2] as i64,
                f[3] as usize,
                f[4],
                f[5],
            )
        })
        .collect();
    assert!(
        r.voxel_cm > 0.0 && r.grid % 2 == 1 && r.emitted > 0.0,
        "{file}: header lacks voxel_cm, an odd grid or emitted_MeV_per_decay"
    );
    r
}

/// One row of an ompMC grid-study file (`tests/data/ompmc_cubes_<name>.csv`,
/// scripts/ompmc_grid_study.py): (voxel cm, n, cube index K, half-width cm, energy MeV/decay,
/// its σ, emitted MeV/decay).
pub type CubeRow = (f64, usize, usize, f64, f64, f64, f64);

/// Reads the grid study of `name`; panics if it is missing or malformed.
pub fn load_cubes(name: &str) -> Vec<CubeRow> {
    let (_, rows) = read_data(&format!("ompmc_cubes_{name}.csv"), 7);
    rows.iter()
        .map(|f| (f[0], f[1] as usize, f[2] as usize, f[3], f[4], f[5], f[6]))
        .collect()
}
