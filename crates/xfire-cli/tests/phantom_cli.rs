//! End-to-end tests of `xfire phantom`: generate, info, import, export, and bad input
//! (exit code ≠ 0, a message naming the file and value, no panic, no partial output).
//! `XFIRE_SLOW_TESTS=1` also generates the shipped `phantoms/til-spheroid.toml`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn xfire(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xfire"))
        .args(args)
        .output()
        .expect("run xfire")
}

fn ok(out: &Output) -> String {
    let so = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "stdout:\n{so}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    so
}

fn failed(out: &Output) -> String {
    let se = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "expected failure; stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!se.contains("panicked"), "{se}");
    se
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

const SMALL: &str = r#"
seed = 5
[grid]
voxel = "2 um"
size = "80 um"
[tumour]
radius = "36 um"
cell_radius = "5 um"
nucleus_radius = "3 um"
necrotic_radius = "8 um"
[lymphocytes]
fraction_of_cells = 0.05
"#;

#[test]
fn generate_info_export_roundtrip() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("small.toml");
    std::fs::write(&spec, SMALL).unwrap();
    let h5 = dir.path().join("small.h5");
    let out = ok(&xfire(&["phantom", "generate", s(&spec), "-o", s(&h5)]));
    assert!(out.contains("grid 40×40×40 = 64000 voxels"), "{out}");
    assert!(out.contains("memory estimate"), "{out}");
    let json = ok(&xfire(&["phantom", "info", s(&h5), "--json"]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["dims_xyz"], serde_json::json!([40, 40, 40]));
    let cells = v["cells"].as_array().unwrap();
    let tumour = cells.iter().find(|c| c["kind"] == "tumour").unwrap();
    let n = tumour["count"].as_u64().unwrap();
    assert!(n > 80 && n < 200, "{n}");
    let vol = tumour["mean_cell_volume_um3"].as_f64().unwrap();
    assert!((vol / 523.6 - 1.0).abs() < 0.05, "{vol}");
    assert!(cells.iter().any(|c| c["kind"] == "lymphocyte"));
    let text = ok(&xfire(&["phantom", "info", s(&h5)]));
    assert!(
        text.contains("tumour_nucleus") && text.contains("necrosis"),
        "{text}"
    );

    // export, re-import the MetaImage and NIfTI label images with a table
    let prefix = dir.path().join("exp");
    ok(&xfire(&[
        "phantom",
        "export",
        s(&h5),
        "--mhd",
        s(&prefix),
        "--nifti",
        s(&prefix),
        "--vtkhdf",
        s(&dir.path().join("small.vtkhdf")),
    ]));
    let table = dir.path().join("table.toml");
    let mut t = String::new();
    for (id, name) in [
        (0, "medium"),
        (1, "tumour_nucleus"),
        (2, "tumour_cytoplasm"),
        (3, "lymphocyte_nucleus"),
        (4, "lymphocyte_cytoplasm"),
        (5, "stroma"),
        (7, "necrosis"),
    ] {
        t.push_str(&format!(
            "[labels.{id}]\nname = \"{name}\"\nmaterial = \"water\"\n"
        ));
    }
    std::fs::write(&table, &t).unwrap();
    for (labels, density) in [
        ("exp_labels.mhd", "exp_density.mhd"),
        ("exp_labels.nii.gz", "exp_density.nii.gz"),
    ] {
        let imp = dir.path().join("imp.h5");
        ok(&xfire(&[
            "phantom",
            "import",
            "--labels",
            s(&dir.path().join(labels)),
            "--density",
            s(&dir.path().join(density)),
            "--table",
            s(&table),
            "-o",
            s(&imp),
        ]));
        let j: serde_json::Value =
            serde_json::from_str(&ok(&xfire(&["phantom", "info", s(&imp), "--json"]))).unwrap();
        // same voxel counts per label as the generated phantom
        for (a, b) in v["labels"]
            .as_array()
            .unwrap()
            .iter()
            .zip(j["labels"].as_array().unwrap())
        {
            assert_eq!(a["name"], b["name"]);
            assert_eq!(a["voxels"], b["voxels"]);
        }
    }
}

#[test]
fn shipped_small_phantoms_generate() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["water-box", "cell-cluster"] {
        let spec = repo().join("phantoms").join(format!("{name}.toml"));
        let h5 = dir.path().join(format!("{name}.h5"));
        ok(&xfire(&["phantom", "generate", s(&spec), "-o", s(&h5)]));
        let j: serde_json::Value =
            serde_json::from_str(&ok(&xfire(&["phantom", "info", s(&h5), "--json"]))).unwrap();
        if name == "cell-cluster" {
            assert_eq!(j["cells"][0]["count"], 7);
            assert_eq!(j["cells"][1]["count"], 1);
        } else {
            let mass = j["total_mass_g"].as_f64().unwrap();
            assert!((mass - 1000.0).abs() < 1e-6, "{mass}");
        }
    }
}

#[test]
fn til_spheroid_generates_when_slow_tests_are_on() {
    if std::env::var("XFIRE_SLOW_TESTS").as_deref() != Ok("1") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = repo().join("phantoms/til-spheroid.toml");
    let h5 = dir.path().join("til.h5");
    ok(&xfire(&["phantom", "generate", s(&spec), "-o", s(&h5)]));
    let j: serde_json::Value =
        serde_json::from_str(&ok(&xfire(&["phantom", "info", s(&h5), "--json"]))).unwrap();
    let t = j["cells"][0]["count"].as_f64().unwrap();
    let l = j["cells"][1]["count"].as_f64().unwrap();
    assert!(t > 10_000.0 && t < 15_000.0, "{t}");
    assert!((l / (t + l) - 0.05).abs() < 0.01, "{l}");
}

#[test]
fn bad_input_fails_cleanly_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.h5");
    let cases = [
        ("voxel = \"2 um\"", "voxel = \"-0.2 um\"", "-0.2"),
        ("voxel = \"2 um\"", "voxel = \"0 um\"", "positive"),
        (
            "[lymphocytes]",
            "[labels.tumour_nucleus]\nmaterial = \"unobtainium\"\n[lymphocytes]",
            "unobtainium",
        ),
        (
            "[lymphocytes]",
            "[labels.kidney]\nmaterial = \"water\"\n[lymphocytes]",
            "kidney",
        ),
        (
            "[lymphocytes]",
            "[labels.stroma]\nmaterial = \"water\"\ndensity = -1.0\n[lymphocytes]",
            "-1",
        ),
        (
            "[lymphocytes]",
            "[labels.stroma]\nmaterial = \"water\"\ndensity = nan\n[lymphocytes]",
            "NaN",
        ),
    ];
    for (from, to, needle) in cases {
        let spec = dir.path().join("bad.toml");
        std::fs::write(&spec, SMALL.replace(from, to)).unwrap();
        let err = failed(&xfire(&["phantom", "generate", s(&spec), "-o", s(&out)]));
        assert!(
            err.contains("bad.toml") && err.contains(needle),
            "{needle:?} not in {err}"
        );
        assert!(!out.exists());
    }
    // memory limit
    let spec = dir.path().join("small.toml");
    std::fs::write(&spec, SMALL).unwrap();
    let err = failed(&xfire(&[
        "phantom",
        "generate",
        s(&spec),
        "-o",
        s(&out),
        "--max-memory",
        "1MB",
    ]));
    assert!(err.contains("max-memory"), "{err}");
    assert!(!out.exists());
    // absurd grid
    std::fs::write(&spec, SMALL.replace("size = \"80 um\"", "size = \"1 m\"")).unwrap();
    failed(&xfire(&["phantom", "generate", s(&spec), "-o", s(&out)]));
    assert!(!out.exists());
    assert_eq!(files_in(dir.path()), vec!["bad.toml", "small.toml"]);

    // truncated phantom file, and a file that is not HDF5
    std::fs::write(&spec, SMALL).unwrap();
    ok(&xfire(&["phantom", "generate", s(&spec), "-o", s(&out)]));
    let bytes = std::fs::read(&out).unwrap();
    let trunc = dir.path().join("trunc.h5");
    std::fs::write(&trunc, &bytes[..bytes.len() / 3]).unwrap();
    let err = failed(&xfire(&["phantom", "info", s(&trunc)]));
    assert!(err.contains("trunc.h5"), "{err}");
    let junk = dir.path().join("junk.h5");
    std::fs::write(&junk, b"this is not hdf5").unwrap();
    assert!(failed(&xfire(&["phantom", "info", s(&junk)])).contains("junk.h5"));

    // MetaImage whose header claims more data than the raw file holds
    let mhd = dir.path().join("img.mhd");
    std::fs::write(dir.path().join("img.raw"), [0u8; 10]).unwrap();
    std::fs::write(
        &mhd,
        "NDims = 3\nDimSize = 100000 100000 100000\nElementSpacing = 1 1 1\nElementType = MET_UCHAR\nElementDataFile = img.raw\n",
    )
    .unwrap();
    let table = dir.path().join("t.toml");
    std::fs::write(
        &table,
        "[labels.0]\nname = \"body\"\nmaterial = \"water\"\n",
    )
    .unwrap();
    let imp = dir.path().join("imp.h5");
    let err = failed(&xfire(&[
        "phantom",
        "import",
        "--labels",
        s(&mhd),
        "--table",
        s(&table),
        "-o",
        s(&imp),
    ]));
    assert!(err.contains("img.mhd") && err.contains("100000"), "{err}");
    std::fs::write(
        &mhd,
        "NDims = 3\nDimSize = 2 2 2\nElementSpacing = 1 1 1\nElementType = MET_UCHAR\nElementDataFile = img.raw\n",
    )
    .unwrap();
    let err = failed(&xfire(&[
        "phantom",
        "import",
        "--labels",
        s(&mhd),
        "--table",
        s(&table),
        "-o",
        s(&imp),
    ]));
    assert!(err.contains("img.raw") && err.contains("10 bytes"), "{err}");
    std::fs::write(dir.path().join("img.raw"), [0u8, 1, 0, 0, 0, 0, 0, 0]).unwrap();
    let err = failed(&xfire(&[
        "phantom",
        "import",
        "--labels",
        s(&mhd),
        "--table",
        s(&table),
        "-o",
        s(&imp),
    ]));
    assert!(err.contains("label value 1"), "{err}");
    assert!(!imp.exists());
}
