//! DICOM written with `dicom-rs` (xfire's writers and direct `dicom-object` edits) and read
//! back: geometry, values, header attributes; RT Dose on the CT's frame of reference; and
//! the errors of malformed or unsupported series.

use std::path::Path;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use xfire_io::dicom::{read_series, write_rt_dose, write_series, SeriesInfo, RT_DOSE_STORAGE};
use xfire_io::{ElementType, Volume};
use xfire_phantom::Grid;

fn grid() -> Grid {
    Grid::new([6, 5, 4], [0.2, 0.25, 0.3], [-3.1, 2.2, -40.45]).unwrap()
}

fn ct_info() -> SeriesInfo {
    SeriesInfo {
        modality: "CT".into(),
        series_uid: "1.2.826.0.1.3680043.10.1.1".into(),
        study_uid: "1.2.826.0.1.3680043.10.1.2".into(),
        frame_of_reference_uid: Some("1.2.826.0.1.3680043.10.1.3".into()),
        patient: ["Test^Patient".into(), "P001".into(), "".into(), "O".into()],
        study: [
            "20240102".into(),
            "080000".into(),
            "1".into(),
            "".into(),
            "".into(),
        ],
        acquisition_s: Some(1_704_182_400.0),
        ..Default::default()
    }
}

fn nm_info() -> SeriesInfo {
    SeriesInfo {
        modality: "NM".into(),
        series_uid: "1.2.826.0.1.3680043.10.1.4".into(),
        units: Some("BQML".into()),
        decay_correction: Some("START".into()),
        administration_s: Some(1_704_096_000.0),
        acquisition_s: Some(1_704_096_000.0 + 86_400.0 + 0.5),
        half_life_s: Some(574_300.0),
        administered_bq: Some(7.4e9),
        radiopharmaceutical: Some("Lu-177 PSMA".into()),
        ..ct_info()
    }
}

fn ct_volume() -> Volume {
    let g = grid();
    Volume {
        grid: g,
        values: (0..g.len())
            .map(|k| (k as f64 * 37.0) % 2000.0 - 1000.0)
            .collect(),
        element: ElementType::I16,
    }
}

fn assert_same_grid(a: &Grid, b: &Grid) {
    assert_eq!(a.dims(), b.dims());
    for k in 0..3 {
        assert!((a.voxel_cm[k] - b.voxel_cm[k]).abs() < 1e-9, "{a:?} {b:?}");
        assert!(
            (a.origin_cm[k] - b.origin_cm[k]).abs() < 1e-9,
            "{a:?} {b:?}"
        );
    }
}

#[test]
fn ct_series_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let v = ct_volume();
    write_series(dir.path(), &v, &ct_info()).unwrap();
    let s = read_series(dir.path()).unwrap();
    assert_same_grid(&s.volume.grid, &v.grid);
    assert_eq!(s.volume.values, v.values);
    assert_eq!(s.info.files, 4);
    assert_eq!(s.info.modality, "CT");
    assert_eq!(s.info.rescale_type.as_deref(), Some("HU"));
    assert_eq!(
        s.info.frame_of_reference_uid,
        ct_info().frame_of_reference_uid
    );
    assert_eq!(s.info.patient[0], "Test^Patient");
}

#[test]
fn nm_multiframe_round_trip_with_header() {
    let dir = tempfile::tempdir().unwrap();
    let g = grid();
    let values: Vec<f64> = (0..g.len()).map(|k| 1e3 * (k % 17) as f64 + 0.25).collect();
    let v = Volume {
        grid: g,
        values: values.clone(),
        element: ElementType::F32,
    };
    write_series(dir.path(), &v, &nm_info()).unwrap();
    let s = read_series(&dir.path().join("NM0001.dcm")).unwrap();
    assert_same_grid(&s.volume.grid, &g);
    // 16-bit quantisation: at most half a step of max/65535
    let step = 16_000.25 / 65_535.0;
    for (a, b) in s.volume.values.iter().zip(&values) {
        assert!((a - b).abs() <= 0.5 * step * (1.0 + 1e-6), "{a} vs {b}");
    }
    let i = &s.info;
    assert_eq!(i.units.as_deref(), Some("BQML"));
    assert_eq!(i.decay_correction.as_deref(), Some("START"));
    assert_eq!(i.time_since_administration_s(), Some(86_400.5));
    assert_eq!(i.half_life_s, Some(574_300.0));
    assert_eq!(i.administered_bq, Some(7.4e9));
    assert_eq!(i.radiopharmaceutical.as_deref(), Some("Lu-177 PSMA"));
}

#[test]
fn rt_dose_on_the_ct_frame_of_reference() {
    let dir = tempfile::tempdir().unwrap();
    write_series(&dir.path().join("ct"), &ct_volume(), &ct_info()).unwrap();
    let ct = read_series(&dir.path().join("ct")).unwrap();
    let g = ct.volume.grid;
    let dose: Vec<f64> = (0..g.len()).map(|k| 0.01 * k as f64 + 1e-4).collect();
    let path = dir.path().join("dose.dcm");
    write_rt_dose(&path, &g, &dose, &ct.info, "xfire dose test", "0.1.0").unwrap();
    let back = read_series(&path).unwrap();
    assert_same_grid(&back.volume.grid, &g);
    let max = dose.iter().cloned().fold(0.0, f64::max);
    for (a, b) in back.volume.values.iter().zip(&dose) {
        assert!((a - b).abs() <= 1e-9 * max, "{a} vs {b}");
    }
    assert_eq!(back.info.modality, "RTDOSE");
    assert_eq!(back.info.units.as_deref(), Some("GY"));
    assert_eq!(
        back.info.frame_of_reference_uid,
        ct.info.frame_of_reference_uid
    );
    assert_eq!(back.info.study_uid, ct.info.study_uid);
    assert_eq!(back.info.patient, ct.info.patient);
    let obj = dicom_object::open_file(&path).unwrap();
    let text = |t| obj.element(t).unwrap().to_str().unwrap().trim().to_string();
    assert_eq!(text(tags::SOP_CLASS_UID), RT_DOSE_STORAGE);
    assert_eq!(text(tags::DOSE_TYPE), "PHYSICAL");
    assert_eq!(text(tags::DOSE_SUMMATION_TYPE), "PLAN");
    assert_eq!(
        obj.element(tags::NUMBER_OF_FRAMES)
            .unwrap()
            .to_int::<u32>()
            .unwrap(),
        4
    );
    // the same dose and reference give the same bytes (UIDs derived from the content)
    let again = dir.path().join("again.dcm");
    write_rt_dose(&again, &g, &dose, &ct.info, "xfire dose test", "0.1.0").unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&again).unwrap()
    );
}

#[test]
fn rt_dose_refuses_bad_dose_and_missing_frame_of_reference() {
    let dir = tempfile::tempdir().unwrap();
    let g = grid();
    let path = dir.path().join("d.dcm");
    let mut dose = vec![1.0; g.len()];
    dose[7] = -0.5;
    let e = write_rt_dose(&path, &g, &dose, &ct_info(), "", "").unwrap_err();
    assert!(e.to_string().contains("voxel 7 has dose -0.5 Gy"), "{e}");
    let no_for = SeriesInfo {
        frame_of_reference_uid: None,
        ..ct_info()
    };
    let e = write_rt_dose(&path, &g, &vec![1.0; g.len()], &no_for, "", "").unwrap_err();
    assert!(e.to_string().contains("Frame of Reference UID"), "{e}");
    assert!(!path.exists());
}

fn edit(path: &Path, f: impl FnOnce(&mut dicom_object::DefaultDicomObject)) {
    let mut obj = dicom_object::open_file(path).unwrap();
    f(&mut obj);
    obj.write_to_file(path).unwrap();
}

fn err(path: &Path) -> String {
    read_series(path).unwrap_err().to_string()
}

#[test]
fn malformed_series_are_refused_with_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let ct = dir.path().join("ct");
    write_series(&ct, &ct_volume(), &ct_info()).unwrap();
    // a missing slice
    std::fs::remove_file(ct.join("CT0002.dcm")).unwrap();
    assert!(err(&ct).contains("evenly spaced"), "{}", err(&ct));
    // an oblique slice
    edit(&ct.join("CT0001.dcm"), |o| {
        o.put(DataElement::new(
            tags::IMAGE_ORIENTATION_PATIENT,
            VR::DS,
            PrimitiveValue::Strs(
                ["1", "0", "0", "0", "0.9", "0.43589"]
                    .map(String::from)
                    .to_vec()
                    .into(),
            ),
        ));
    });
    assert!(
        err(&ct).contains("Image Orientation (Patient) is [1.0, 0.0, 0.0, 0.0, 0.9"),
        "{}",
        err(&ct)
    );
    // a second series in the folder
    let two = dir.path().join("two");
    write_series(&two, &ct_volume(), &ct_info()).unwrap();
    let nm = SeriesInfo {
        series_uid: "1.2.3.9".into(),
        ..nm_info()
    };
    let mut v = ct_volume();
    v.values.iter_mut().for_each(|x| *x = x.abs());
    write_series(&two, &v, &nm).unwrap();
    assert!(err(&two).contains("holds 2 series"), "{}", err(&two));
}

#[test]
fn corrupt_files_are_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let ct = dir.path().join("ct");
    write_series(&ct, &ct_volume(), &ct_info()).unwrap();
    let f = ct.join("CT0000.dcm");
    let bytes = std::fs::read(&f).unwrap();
    let one = dir.path().join("one.dcm");
    // truncated inside the pixel data
    std::fs::write(&one, &bytes[..bytes.len() - 10]).unwrap();
    assert!(
        err(&one).contains("claims 60 bytes but only 50 follow"),
        "{}",
        err(&one)
    );
    // a pixel data length of nearly 4 GiB in a small file: refused without allocating it
    let mut huge = bytes.clone();
    let n = huge.len();
    huge[n - 64..n - 60].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    std::fs::write(&one, &huge).unwrap();
    assert!(
        err(&one).contains("claims 4294967280 bytes"),
        "{}",
        err(&one)
    );
    // not DICOM
    std::fs::write(&one, b"hello").unwrap();
    assert!(err(&one).contains("not a DICOM file"), "{}", err(&one));
    // a compressed transfer syntax (RLE Lossless has the same UID length)
    let ts = b"1.2.840.10008.1.2.1\0";
    let k = bytes.windows(ts.len()).position(|w| w == ts).unwrap();
    let mut rle = bytes.clone();
    rle[k..k + ts.len()].copy_from_slice(b"1.2.840.10008.1.2.5\0");
    std::fs::write(&one, &rle).unwrap();
    assert!(
        err(&one).contains("transfer syntax 1.2.840.10008.1.2.5 is not supported"),
        "{}",
        err(&one)
    );
}

/// The file `src` re-encoded by dicom-rs in transfer syntax `ts` at `dst`.
fn reencode(src: &Path, dst: &Path, ts: &str) {
    let obj = dicom_object::open_file(src).unwrap();
    let (class, sop) = (
        obj.meta().media_storage_sop_class_uid().to_string(),
        obj.meta().media_storage_sop_instance_uid().to_string(),
    );
    obj.into_inner()
        .with_meta(
            dicom_object::FileMetaTableBuilder::new()
                .transfer_syntax(ts)
                .media_storage_sop_class_uid(class)
                .media_storage_sop_instance_uid(sop),
        )
        .unwrap()
        .write_to_file(dst)
        .unwrap();
}

#[test]
fn implicit_little_and_explicit_big_endian_give_the_same_image() {
    let dir = tempfile::tempdir().unwrap();
    let g = grid();
    let nm: Vec<f64> = (0..g.len()).map(|k| 100.0 * (k % 23) as f64).collect();
    let v = Volume {
        grid: g,
        values: nm,
        element: ElementType::F32,
    };
    write_series(&dir.path().join("nm"), &v, &nm_info()).unwrap();
    let dose: Vec<f64> = (0..g.len()).map(|k| 1e-3 * (k * k % 97) as f64).collect();
    write_rt_dose(&dir.path().join("rd.dcm"), &g, &dose, &ct_info(), "", "").unwrap();
    // dicom-rs re-encodes 32-bit pixels parsed as OW words word by word, which in big
    // endian puts the low word of each 32-bit cell first: only 16-bit pixels go to big endian
    let cases = [
        (
            dir.path().join("nm/NM0001.dcm"),
            vec!["1.2.840.10008.1.2", "1.2.840.10008.1.2.2"],
        ),
        (dir.path().join("rd.dcm"), vec!["1.2.840.10008.1.2"]),
    ];
    for (src, syntaxes) in cases {
        let want = read_series(&src).unwrap();
        for ts in syntaxes {
            let dst = dir.path().join("re.dcm");
            reencode(&src, &dst, ts);
            let got = read_series(&dst).unwrap();
            assert_eq!(got.volume, want.volume, "{} in {ts}", src.display());
            assert_eq!(got.info.units, want.info.units);
        }
    }
}

/// The bytes of one CT file written into `dir/ct`, and the offset of its Patient ID
/// (0010,0020) LO header, for tests that corrupt a valid file.
fn ct_file_and_patient_id(dir: &std::path::Path) -> (Vec<u8>, usize) {
    write_series(&dir.join("ct"), &ct_volume(), &ct_info()).unwrap();
    let b = std::fs::read(dir.join("ct/CT0000.dcm")).unwrap();
    let at = b
        .windows(6)
        .position(|w| w == [0x10, 0x00, 0x20, 0x00, b'L', b'O'])
        .unwrap();
    (b, at)
}

/// Found by fuzzing (`fuzz/regressions/dicom/`): an unknown explicit VR (`L\0`), whose length
/// field the parser reads differently from the scan, made it reserve 1 GiB. Now refused.
#[test]
fn unknown_value_representations_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut b, at) = ct_file_and_patient_id(dir.path());
    // Patient ID (0010,0020) LO → "L\0"
    b[at + 5] = 0;
    let f = dir.path().join("bad.dcm");
    std::fs::write(&f, &b).unwrap();
    assert!(
        err(&f).contains("(0010,0020)") && err(&f).contains("not a DICOM value representation"),
        "{}",
        err(&f)
    );
}

/// An item (FFFE,E000) outside a sequence: the parser reads it as an opaque value and loses
/// its place (fuzzing found a 666-byte file whose misread header then claimed 264 MiB); the
/// scan refuses it, naming the tag and the byte.
#[test]
fn items_outside_a_sequence_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut b, at) = ct_file_and_patient_id(dir.path());
    let item = [0xFE, 0xFF, 0x00, 0xE0, 4, 0, 0, 0, b'a', b'b', b'c', b'd'];
    b.splice(at..at, item);
    let f = dir.path().join("bad.dcm");
    std::fs::write(&f, &b).unwrap();
    let e = err(&f);
    assert!(
        e.contains("(FFFE,E000)") && e.contains("outside the sequence") && e.contains("byte"),
        "{e}"
    );
}
