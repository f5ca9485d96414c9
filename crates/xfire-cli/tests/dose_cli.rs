//! `xfire dose` on the synthetic patient (`phantoms/patient-lu177`) and on bad input: every
//! refusal names the value and leaves no output folder.

use std::path::{Path, PathBuf};
use std::process::Command;

fn xfire(args: &[&str], cwd: &Path) -> (bool, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_xfire"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn patient() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phantoms/patient-lu177")
}

const TP: &str = "24 h:activity_024h.nii.gz,72 h:activity_072h.nii.gz,168 h:activity_168h.nii.gz";

/// The tour's command: VSV with CT, labels and a per-voxel mono fit; the organ TIA equals
/// the synthetic kinetics exactly (A·u/λ_eff), the dose image overlays the input.
#[test]
fn patient_example_runs_and_recovers_the_organ_tia() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("dose");
    let out_s = out.to_str().unwrap();
    let (ok, stdout, stderr) = xfire(
        &[
            "dose",
            "--nuclide",
            "Lu-177",
            "--quantity",
            "activity",
            "--timepoints",
            TP,
            "--fit",
            "mono",
            "--ct",
            "ct.nii.gz",
            "--labels",
            "labels.nii.gz",
            "--label-names",
            "labels.csv",
            "--method",
            "vsv",
            "--out",
            out_s,
        ],
        &patient(),
    );
    assert!(ok, "{stdout}\n{stderr}");
    for f in [
        "dose.nii.gz",
        "tia.nii.gz",
        "dvh.csv",
        "dvh.png",
        "summary.json",
        "report.md",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(s["format"], "xfire-dose-summary/1");
    let labels = s["labels"].as_array().unwrap();
    assert_eq!(labels.len(), 9);
    for o in xfire_dose::synthetic::torso_organs() {
        let l = labels.iter().find(|l| l["id"] == o.id).unwrap();
        assert_eq!(l["name"], o.name);
        let want = xfire_dose::synthetic::organ_tia(&o, 7.4e9);
        let got = l["tia_bq_s"].as_f64().unwrap();
        assert!(
            (got / want - 1.0).abs() < 1e-5,
            "{}: TIA {got} vs {want}",
            o.name
        );
        for k in ["mass_g", "mean_gy", "d50_gy", "d90_gy", "d98_gy"] {
            assert!(l[k].as_f64().unwrap() > 0.0, "{}: {k}", o.name);
        }
        assert!(l["d98_gy"].as_f64() <= l["d50_gy"].as_f64());
    }
    let dose = xfire_io::nifti::read_nifti(&out.join("dose.nii.gz")).unwrap();
    let act = xfire_io::nifti::read_nifti(&patient().join("activity_024h.nii.gz")).unwrap();
    assert_eq!(dose.grid, act.grid);
}

/// Monte Carlo on the patient at a small decay count: uncertainty image and label
/// uncertainties; the lesion's mean dose within 5 σ + 3 % of the VSV's.
#[test]
fn patient_monte_carlo_gives_uncertainties() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("mc");
    let (ok, stdout, stderr) = xfire(
        &[
            "dose",
            "--nuclide",
            "Lu-177",
            "--quantity",
            "activity",
            "--timepoints",
            TP,
            "--ct",
            "ct.nii.gz",
            "--labels",
            "labels.nii.gz",
            "--label-names",
            "labels.csv",
            "--method",
            "mc",
            "--decays",
            "60000",
            "--batch-size",
            "5000",
            "--quiet",
            "--out",
            out.to_str().unwrap(),
        ],
        &patient(),
    );
    assert!(ok, "{stdout}\n{stderr}");
    assert!(out.join("uncertainty.nii.gz").is_file());
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let lesion = s["labels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "lesion")
        .unwrap();
    assert!(lesion["mean_rel_unc"].as_f64().unwrap() < 0.1, "{lesion}");
    assert_eq!(s["monte_carlo"]["decays"], 60000);
}

fn refused(args: &[&str], want: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("never");
    let mut a = args.to_vec();
    a.extend(["--out", out.to_str().unwrap()]);
    let (ok, stdout, stderr) = xfire(&a, &patient());
    assert!(!ok, "accepted: {args:?}\n{stdout}");
    for w in want {
        assert!(stderr.contains(w), "{args:?}: {w:?} not in\n{stderr}");
    }
    assert!(!out.exists(), "{args:?}: output folder written");
}

#[test]
fn bad_input_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    // a negative activity and an image on another grid
    let mut v = xfire_io::nifti::read_nifti(&patient().join("activity_024h.nii.gz")).unwrap();
    v.values[5] = -3.0;
    let neg = tmp.path().join("neg.nii.gz");
    xfire_io::nifti::write_nifti(&neg, &v).unwrap();
    let small = tmp.path().join("small.nii.gz");
    let g = xfire_phantom::Grid::centred([8, 8, 8], [0.442; 3]).unwrap();
    xfire_io::nifti::write_nifti(
        &small,
        &xfire_io::Volume {
            grid: g,
            values: vec![1.0; 512],
            element: xfire_io::ElementType::F32,
        },
    )
    .unwrap();
    let mut ct = xfire_io::nifti::read_nifti(&patient().join("ct.nii.gz")).unwrap();
    ct.values[7] = 9000.0;
    let hot = tmp.path().join("ct_bad.nii.gz");
    xfire_io::nifti::write_nifti(&hot, &ct).unwrap();
    let base = ["dose", "--nuclide", "Lu-177", "--method", "vsv"];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| s.to_string()).collect()
    };
    let cases: Vec<(Vec<String>, Vec<&str>)> = vec![
        (
            with(&["--quantity", "activity", neg.to_str().unwrap()]),
            vec!["-3 Bq", "(5, 0, 0)"],
        ),
        (
            with(&[
                "--quantity",
                "activity",
                "activity_024h.nii.gz",
                "--labels",
                small.to_str().unwrap(),
            ]),
            vec!["grids differ", "8×8×8", "48×48×48"],
        ),
        (
            with(&[
                "--quantity",
                "activity",
                "--timepoints",
                "24 h:activity_024h.nii.gz,72 h:missing.nii.gz",
            ]),
            vec!["time point 72 h", "missing.nii.gz", "does not exist"],
        ),
        (
            with(&[
                "--quantity",
                "activity",
                "--timepoints",
                "72 h:activity_072h.nii.gz,24 h:activity_024h.nii.gz",
            ]),
            vec!["must increase"],
        ),
        (
            with(&[
                "--quantity",
                "activity",
                "--timepoints",
                "24 h:activity_024h.nii.gz",
                "--fit",
                "mono",
            ]),
            vec!["at least 2 time points"],
        ),
        (
            with(&[
                "--quantity",
                "activity",
                "activity_024h.nii.gz",
                "--ct",
                hot.to_str().unwrap(),
            ]),
            vec!["9000 HU", "outside the calibrated range"],
        ),
        (
            with(&[
                "--quantity",
                "activity",
                "activity_024h.nii.gz",
                "--timepoints",
                TP,
            ]),
            vec!["not both"],
        ),
    ];
    for (args, want) in cases {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(&a, &want);
    }
}
