//! The dose pipeline on DICOM input (written with dicom-rs through `xfire_io::dicom`): the
//! activity from Bq/ml SPECT series with times and decay correction, the CT in HU, and the
//! dose as RT Dose on the CT's frame of reference; and the header checks that refuse input.

use std::path::{Path, PathBuf};

use xfire_dose::images::Image;
use xfire_dose::mc::McOptions;
use xfire_dose::pipeline::{self, DoseRequest, FitLevel, Method, Quantity};
use xfire_dose::tia::{Fit, TimePoint};
use xfire_io::dicom::{read_series, write_series, SeriesInfo};
use xfire_io::{ElementType, Volume};
use xfire_phantom::Grid;

const LU177_HALF_LIFE_S: f64 = 574_300.8; // 6.647 d (xfire-data)
const ADMIN_S: f64 = 1_704_096_000.0; // 2024-01-01 08:00

fn grid() -> Grid {
    Grid::new([12, 12, 12], [0.442; 3], [-2.652, -2.652, 10.0]).unwrap()
}

fn ct_info() -> SeriesInfo {
    SeriesInfo {
        modality: "CT".into(),
        series_uid: "1.2.826.0.1.3680043.10.2.1".into(),
        study_uid: "1.2.826.0.1.3680043.10.2.2".into(),
        frame_of_reference_uid: Some("1.2.826.0.1.3680043.10.2.3".into()),
        patient: ["Dicom^Test".into(), "D1".into(), "".into(), "".into()],
        ..Default::default()
    }
}

fn nm_info(t_h: f64, k: usize) -> SeriesInfo {
    SeriesInfo {
        modality: "NM".into(),
        series_uid: format!("1.2.826.0.1.3680043.10.2.1{k}"),
        units: Some("BQML".into()),
        decay_correction: Some("START".into()),
        administration_s: Some(ADMIN_S),
        acquisition_s: Some(ADMIN_S + t_h * 3600.0),
        half_life_s: Some(LU177_HALF_LIFE_S),
        ..ct_info()
    }
}

/// Activity concentration \[Bq/ml\] at `t_h`: a 6³-voxel block clearing with a 50 h
/// effective half-life from 1 MBq/ml at administration.
fn concentration(t_h: f64) -> Vec<f64> {
    let g = grid();
    (0..g.len())
        .map(|v| {
            let [i, j, k] = g.ijk(v);
            let inside = [i, j, k].iter().all(|&c| (3..9).contains(&c));
            if inside {
                1e6 * (-(2f64.ln()) * t_h / 50.0).exp()
            } else {
                0.0
            }
        })
        .collect()
}

fn write_nm(dir: &Path, t_h: f64, k: usize, edit: impl FnOnce(&mut SeriesInfo)) -> PathBuf {
    let mut info = nm_info(t_h, k);
    edit(&mut info);
    let p = dir.join(format!("spect{k}"));
    let v = Volume {
        grid: grid(),
        values: concentration(t_h),
        element: ElementType::F32,
    };
    write_series(&p, &v, &info).unwrap();
    p
}

fn write_ct(dir: &Path) -> PathBuf {
    let p = dir.join("ct");
    let v = Volume {
        grid: grid(),
        values: vec![40.0; grid().len()],
        element: ElementType::I16,
    };
    write_series(&p, &v, &ct_info()).unwrap();
    p
}

fn request(timepoints: Vec<TimePoint>, ct: Option<PathBuf>) -> DoseRequest {
    DoseRequest {
        activity: None,
        timepoints,
        quantity: Quantity::Activity,
        nuclide: "Lu-177".into(),
        fit: Fit::Mono,
        fit_level: FitLevel::Voxel,
        ct: ct.map(Image::File),
        hu_table: None,
        labels: None,
        label_names: None,
        label_name_map: Default::default(),
        medium: "soft_tissue_icru".into(),
        method: Method::Vsv,
        kernel: None,
        mc: McOptions::default(),
        hybrid_density_tolerance: 0.1,
        hybrid_margin: 2,
    }
}

fn three_points(dir: &Path) -> Vec<TimePoint> {
    [24.0, 72.0, 168.0]
        .iter()
        .enumerate()
        .map(|(k, &t)| TimePoint {
            t_s: t * 3600.0,
            image: Image::File(write_nm(dir, t, k, |_| {})),
        })
        .collect()
}

#[test]
fn dicom_spect_and_ct_give_the_tia_and_an_rt_dose_on_the_ct() {
    let dir = tempfile::tempdir().unwrap();
    let req = request(three_points(dir.path()), Some(write_ct(dir.path())));
    let inp = pipeline::prepare(&req).unwrap();
    // mono fit of an exact exponential: TIA = C·V / λ_eff per voxel, up to the 16-bit steps
    let lambda_eff = 2f64.ln() / (50.0 * 3600.0);
    let want = 1e6 * grid().voxel_volume_cm3() / lambda_eff;
    let total: f64 = inp.tia.iter().sum();
    assert!(
        (total / (216.0 * want) - 1.0).abs() < 1e-4,
        "{total} vs {}",
        216.0 * want
    );
    assert_eq!(
        inp.dicom_reference.as_ref().unwrap().series_uid,
        ct_info().series_uid
    );
    let res = pipeline::compute(&req, &inp, &|_| {}, &|| false).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let files = xfire_dose::output::write_all(&out, &req, &inp, &res).unwrap();
    assert!(files.contains(&"dose.dcm".to_string()));
    let rd = read_series(&out.join("dose.dcm")).unwrap();
    assert_eq!(rd.info.modality, "RTDOSE");
    assert_eq!(
        rd.info.frame_of_reference_uid,
        ct_info().frame_of_reference_uid
    );
    assert_eq!(rd.info.study_uid, ct_info().study_uid);
    assert_eq!(rd.volume.grid.dims(), grid().dims());
    let max = res.dose_gy.iter().cloned().fold(0.0, f64::max);
    assert!(max > 0.0);
    for (a, b) in rd.volume.values.iter().zip(&res.dose_gy) {
        assert!((a - b).abs() <= 1e-9 * max, "{a} vs {b}");
    }
}

#[test]
fn decay_corrected_to_administration_is_undone() {
    // the same acquisitions stored decay-corrected to administration (values × e^{λt})
    let dir = tempfile::tempdir().unwrap();
    let lambda = 2f64.ln() / LU177_HALF_LIFE_S;
    let mut tps = three_points(dir.path());
    let start = pipeline::prepare(&request(tps.clone(), None)).unwrap();
    for (k, tp) in tps.iter_mut().enumerate() {
        let t = tp.t_s;
        let p = dir.path().join(format!("admin{k}"));
        let v = Volume {
            grid: grid(),
            values: concentration(t / 3600.0)
                .iter()
                .map(|c| c * (lambda * t).exp())
                .collect(),
            element: ElementType::F32,
        };
        let mut info = nm_info(t / 3600.0, k + 5);
        info.decay_correction = Some("ADMIN".into());
        write_series(&p, &v, &info).unwrap();
        tp.image = Image::File(p);
    }
    let admin = pipeline::prepare(&request(tps, None)).unwrap();
    let (a, b): (f64, f64) = (start.tia.iter().sum(), admin.tia.iter().sum());
    assert!((a / b - 1.0).abs() < 1e-4, "{a} vs {b}");
}

fn refused(req: &DoseRequest, want: &[&str]) {
    let e = pipeline::prepare(req).unwrap_err().to_string();
    for w in want {
        assert!(e.contains(w), "{w:?} not in: {e}");
    }
}

#[test]
fn header_checks_refuse_with_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let one = |edit: fn(&mut SeriesInfo), k: usize, stated_h: f64| {
        vec![
            TimePoint {
                t_s: stated_h * 3600.0,
                image: Image::File(write_nm(d, 24.0, k, edit)),
            },
            TimePoint {
                t_s: 72.0 * 3600.0,
                image: Image::File(write_nm(d, 72.0, k + 10, |_| {})),
            },
        ]
    };
    let mut tz = request(one(|i| i.units = Some("CNTS".into()), 0, 24.0), None);
    tz.fit = Fit::Trapezoid;
    refused(&tz, &["Units (0054,1001) is \"CNTS\"", "BQML"]);
    tz.timepoints = one(|i| i.units = None, 1, 24.0);
    refused(&tz, &["no Units (0054,1001)"]);
    tz.timepoints = one(|i| i.half_life_s = Some(23_040.0), 2, 24.0);
    refused(&tz, &["Half Life (0018,1075) is 23040 s", "Lu-177"]);
    // stated 26 h, header 24 h
    tz.timepoints = one(|_| {}, 3, 26.0);
    refused(&tz, &["says 26.00 h", "header says 24.00 h"]);
    tz.timepoints = one(|i| i.decay_correction = Some("ATTN".into()), 4, 24.0);
    refused(&tz, &["Decay Correction (0054,1102) is \"ATTN\""]);
    // a CT as activity; DICOM as TIA; SPECT on another frame of reference than the CT
    tz.timepoints = vec![];
    tz.activity = Some(Image::File(write_ct(d)));
    refused(&tz, &["modality \"CT\"", "SPECT (NM) or PET (PT)"]);
    tz.activity = Some(Image::File(write_nm(d, 24.0, 5, |_| {})));
    tz.quantity = Quantity::Tia;
    refused(&tz, &["use --quantity activity"]);
    tz.quantity = Quantity::Activity;
    tz.activity = Some(Image::File(write_nm(d, 24.0, 6, |i| {
        i.frame_of_reference_uid = Some("1.2.3.999".into())
    })));
    tz.ct = Some(Image::File(d.join("ct")));
    refused(&tz, &["1.2.3.999 differs from the CT's"]);
    // one image decay-corrected to the acquisition start with no administration time
    tz.ct = None;
    tz.activity = Some(Image::File(write_nm(d, 24.0, 7, |i| {
        i.administration_s = None
    })));
    refused(&tz, &["time since administration is unknown"]);
}
