//! `xfire dose` on DICOM input: the synthetic patient (`phantoms/patient-lu177`) written as a
//! CT series and three SPECT (NM, Bq/ml) series with dicom-rs gives the dose of the NIfTI
//! input (up to the SPECT's 16-bit steps) and an RT Dose on the CT's frame of reference.

use std::path::Path;
use std::process::Command;

use xfire_io::dicom::{read_series, write_series, SeriesInfo};

fn patient() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../phantoms/patient-lu177")
}

fn dose(args: &[&str], out: &Path) -> serde_json::Value {
    let o = Command::new(env!("CARGO_BIN_EXE_xfire"))
        .args([
            "dose",
            "--nuclide",
            "Lu-177",
            "--quantity",
            "activity",
            "--fit",
            "mono",
        ])
        .args(["--method", "vsv", "--quiet", "--out", out.to_str().unwrap()])
        .args(args)
        .current_dir(patient())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn dicom_patient_gives_the_nifti_dose_and_an_rt_dose() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let ct_info = SeriesInfo {
        modality: "CT".into(),
        series_uid: "1.2.826.0.1.3680043.10.3.1".into(),
        study_uid: "1.2.826.0.1.3680043.10.3.2".into(),
        frame_of_reference_uid: Some("1.2.826.0.1.3680043.10.3.3".into()),
        patient: [
            "Synthetic^Patient".into(),
            "LU177".into(),
            "".into(),
            "".into(),
        ],
        ..Default::default()
    };
    let ct = xfire_io::nifti::read_nifti(&patient().join("ct.nii.gz")).unwrap();
    write_series(&d.join("ct"), &ct, &ct_info).unwrap();
    let admin = 1_704_096_000.0;
    let mut tps = Vec::new();
    for (k, h) in [24u32, 72, 168].into_iter().enumerate() {
        let mut a =
            xfire_io::nifti::read_nifti(&patient().join(format!("activity_{h:03}h.nii.gz")))
                .unwrap();
        let ml = a.grid.voxel_volume_cm3();
        a.values.iter_mut().for_each(|x| *x /= ml);
        let info = SeriesInfo {
            modality: "NM".into(),
            series_uid: format!("1.2.826.0.1.3680043.10.3.1{k}"),
            units: Some("BQML".into()),
            decay_correction: Some("START".into()),
            administration_s: Some(admin),
            acquisition_s: Some(admin + h as f64 * 3600.0),
            ..ct_info.clone()
        };
        let p = d.join(format!("spect{h}"));
        write_series(&p, &a, &info).unwrap();
        tps.push(format!("{h} h:{}", p.display()));
    }
    let tp = tps.join(",");
    let ct_dir = d.join("ct");
    let dicom = dose(
        &["--timepoints", &tp, "--ct", ct_dir.to_str().unwrap()],
        &d.join("out-dicom"),
    );
    let nifti = dose(
        &[
            "--timepoints",
            "24 h:activity_024h.nii.gz,72 h:activity_072h.nii.gz,168 h:activity_168h.nii.gz",
            "--ct",
            "ct.nii.gz",
        ],
        &d.join("out-nifti"),
    );
    let mean = |s: &serde_json::Value| s["labels"][0]["mean_gy"].as_f64().unwrap();
    let (a, b) = (mean(&dicom), mean(&nifti));
    assert!((a / b - 1.0).abs() < 1e-3, "DICOM {a} Gy vs NIfTI {b} Gy");
    assert!(dicom["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f == "dose.dcm"));
    let rd = read_series(&d.join("out-dicom/dose.dcm")).unwrap();
    assert_eq!(
        rd.info.frame_of_reference_uid,
        ct_info.frame_of_reference_uid
    );
    assert_eq!(rd.info.patient[0], "Synthetic^Patient");
    let nii = xfire_io::nifti::read_nifti(&d.join("out-dicom/dose.nii.gz")).unwrap();
    let max = nii.values.iter().cloned().fold(0.0, f64::max);
    for (x, y) in rd.volume.values.iter().zip(&nii.values) {
        // dose.nii.gz is f32: 6e-8 relative, the RT Dose 1.2e-10 of the maximum
        assert!((x - y).abs() <= 1e-7 * max, "{x} vs {y}");
    }
}
