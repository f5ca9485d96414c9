//! Writing an image as a DICOM series — a CT (one CT Image Storage file per slice, HU as
//! signed 16-bit integers) or a reconstructed SPECT (one multi-frame NM Image Storage file,
//! 16-bit with a rescale slope, units and times from [`SeriesInfo`]) — so that examples and
//! tests can make the input `xfire dose` reads from a phantom.

use std::path::Path;

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use xfire_core::hash::Fnv64;
use xfire_phantom::Grid;

use super::encode::{ds, patient_and_study, put, put_strs, uid};
use super::scan::EXPLICIT_LE;
use super::{time, SeriesInfo};
use crate::{fmt_err, io_err, write_atomic, Result, Volume};

const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
const NM_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.20";

fn write_file(path: &Path, obj: InMemDicomObject, class: &str, sop: String) -> Result<()> {
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(EXPLICIT_LE)
                .media_storage_sop_class_uid(class)
                .media_storage_sop_instance_uid(sop),
        )
        .map_err(|e| fmt_err(path, format!("DICOM meta group: {e}")))?;
    write_atomic(path, |tmp| {
        file.write_to_file(tmp)
            .map_err(|e| fmt_err(path, format!("writing DICOM: {e}")))
    })
}

/// Attributes every file of the series shares.
fn common(info: &SeriesInfo, g: &Grid, class: &str, sop: &str) -> InMemDicomObject {
    let mut obj = InMemDicomObject::new_empty();
    put(&mut obj, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
    put(&mut obj, tags::SOP_CLASS_UID, VR::UI, class);
    put(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, sop);
    patient_and_study(&mut obj, info);
    put(&mut obj, tags::MODALITY, VR::CS, info.modality.clone());
    put(
        &mut obj,
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        info.series_uid.clone(),
    );
    if let Some(f) = &info.frame_of_reference_uid {
        put(&mut obj, tags::FRAME_OF_REFERENCE_UID, VR::UI, f.clone());
    }
    if let Some(s) = info.acquisition_s {
        let (da, tm) = time::format_date_time(s);
        put(&mut obj, tags::SERIES_DATE, VR::DA, da.clone());
        put(&mut obj, tags::SERIES_TIME, VR::TM, tm.clone());
        put(&mut obj, tags::ACQUISITION_DATE, VR::DA, da);
        put(&mut obj, tags::ACQUISITION_TIME, VR::TM, tm);
    }
    put_strs(
        &mut obj,
        tags::PIXEL_SPACING,
        VR::DS,
        vec![ds(g.voxel_cm[1] * 10.0), ds(g.voxel_cm[0] * 10.0)],
    );
    put(
        &mut obj,
        tags::SLICE_THICKNESS,
        VR::DS,
        ds(g.voxel_cm[2] * 10.0),
    );
    put(&mut obj, tags::SAMPLES_PER_PIXEL, VR::US, 1u16);
    put(
        &mut obj,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    );
    put(&mut obj, tags::ROWS, VR::US, g.ny as u16);
    put(&mut obj, tags::COLUMNS, VR::US, g.nx as u16);
    put(&mut obj, tags::BITS_ALLOCATED, VR::US, 16u16);
    put(&mut obj, tags::BITS_STORED, VR::US, 16u16);
    put(&mut obj, tags::HIGH_BIT, VR::US, 15u16);
    obj
}

fn orientation() -> Vec<String> {
    ["1", "0", "0", "0", "1", "0"].map(String::from).to_vec()
}

/// Centre of voxel (0, 0, k) \[mm\] as DS values.
fn position(g: &Grid, k: usize) -> Vec<String> {
    (0..3)
        .map(|a| {
            let idx = if a == 2 { k as f64 } else { 0.0 };
            ds((g.origin_cm[a] + (idx + 0.5) * g.voxel_cm[a]) * 10.0)
        })
        .collect()
}

fn write_ct(dir: &Path, v: &Volume, info: &SeriesInfo, h: u64) -> Result<()> {
    let g = &v.grid;
    let per = g.nx * g.ny;
    for k in 0..g.nz {
        let sop = uid(h ^ k as u64, "ct-slice");
        let mut obj = common(info, g, CT_IMAGE_STORAGE, &sop);
        put(&mut obj, tags::INSTANCE_NUMBER, VR::IS, (k + 1).to_string());
        put_strs(
            &mut obj,
            tags::IMAGE_ORIENTATION_PATIENT,
            VR::DS,
            orientation(),
        );
        put_strs(
            &mut obj,
            tags::IMAGE_POSITION_PATIENT,
            VR::DS,
            position(g, k),
        );
        put(&mut obj, tags::PIXEL_REPRESENTATION, VR::US, 1u16);
        put(&mut obj, tags::RESCALE_INTERCEPT, VR::DS, "0");
        put(&mut obj, tags::RESCALE_SLOPE, VR::DS, "1");
        put(&mut obj, tags::RESCALE_TYPE, VR::LO, "HU");
        let px: Vec<i16> = v.values[k * per..(k + 1) * per]
            .iter()
            .map(|&x| x.round().clamp(i16::MIN as f64, i16::MAX as f64) as i16)
            .collect();
        put(
            &mut obj,
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::I16(px.into()),
        );
        write_file(
            &dir.join(format!("CT{k:04}.dcm")),
            obj,
            CT_IMAGE_STORAGE,
            sop,
        )?;
    }
    Ok(())
}

fn radiopharmaceutical(info: &SeriesInfo) -> InMemDicomObject {
    let mut item = InMemDicomObject::new_empty();
    if let Some(s) = info.administration_s {
        let (da, tm) = time::format_date_time(s);
        put(
            &mut item,
            tags::RADIOPHARMACEUTICAL_START_DATE_TIME,
            VR::DT,
            da + &tm,
        );
    }
    if let Some(t) = info.half_life_s {
        put(&mut item, tags::RADIONUCLIDE_HALF_LIFE, VR::DS, ds(t));
    }
    if let Some(a) = info.administered_bq {
        put(&mut item, tags::RADIONUCLIDE_TOTAL_DOSE, VR::DS, ds(a));
    }
    if let Some(r) = &info.radiopharmaceutical {
        put(&mut item, tags::RADIOPHARMACEUTICAL, VR::LO, r.clone());
    }
    item
}

fn write_nm(dir: &Path, v: &Volume, info: &SeriesInfo, h: u64) -> Result<()> {
    let g = &v.grid;
    let sop = uid(h, "nm");
    let mut obj = common(info, g, NM_IMAGE_STORAGE, &sop);
    let max = v.values.iter().fold(0.0f64, |m, &x| m.max(x));
    let slope = ds(if max > 0.0 { max / 65_535.0 } else { 1.0 });
    let s: f64 = slope.parse().map_err(|_| fmt_err(dir, "rescale slope"))?;
    let px: Vec<u16> = v
        .values
        .iter()
        .map(|&x| (x / s).round().clamp(0.0, 65_535.0) as u16)
        .collect();
    put(
        &mut obj,
        tags::IMAGE_TYPE,
        VR::CS,
        "ORIGINAL\\PRIMARY\\RECON TOMO\\EMISSION",
    );
    put(&mut obj, tags::INSTANCE_NUMBER, VR::IS, "1");
    put(&mut obj, tags::NUMBER_OF_FRAMES, VR::IS, g.nz.to_string());
    put(
        &mut obj,
        tags::FRAME_INCREMENT_POINTER,
        VR::AT,
        PrimitiveValue::Tags(vec![tags::SLICE_VECTOR].into()),
    );
    let slices: Vec<u16> = (1..=g.nz as u16).collect();
    put(
        &mut obj,
        tags::SLICE_VECTOR,
        VR::US,
        PrimitiveValue::U16(slices.into()),
    );
    put(&mut obj, tags::NUMBER_OF_SLICES, VR::US, g.nz as u16);
    put(
        &mut obj,
        tags::SPACING_BETWEEN_SLICES,
        VR::DS,
        ds(g.voxel_cm[2] * 10.0),
    );
    let mut det = InMemDicomObject::new_empty();
    put_strs(
        &mut det,
        tags::IMAGE_ORIENTATION_PATIENT,
        VR::DS,
        orientation(),
    );
    put_strs(
        &mut det,
        tags::IMAGE_POSITION_PATIENT,
        VR::DS,
        position(g, 0),
    );
    obj.put(DataElement::new(
        tags::DETECTOR_INFORMATION_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![det]),
    ));
    let rp = radiopharmaceutical(info);
    obj.put(DataElement::new(
        tags::RADIOPHARMACEUTICAL_INFORMATION_SEQUENCE,
        VR::SQ,
        DataSetSequence::from(vec![rp]),
    ));
    if let Some(u) = &info.units {
        put(&mut obj, tags::UNITS, VR::CS, u.clone());
    }
    if let Some(d) = &info.decay_correction {
        put(&mut obj, tags::DECAY_CORRECTION, VR::CS, d.clone());
    }
    put(&mut obj, tags::PIXEL_REPRESENTATION, VR::US, 0u16);
    put(&mut obj, tags::RESCALE_INTERCEPT, VR::DS, "0");
    put(&mut obj, tags::RESCALE_SLOPE, VR::DS, slope);
    put(
        &mut obj,
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(px.into()),
    );
    write_file(&dir.join("NM0001.dcm"), obj, NM_IMAGE_STORAGE, sop)
}

/// Write `volume` into the folder `dir` (created) as a DICOM series with the attributes of
/// `info`: modality `CT` (values in HU, rounded to whole numbers) or `NM` (values ≥ 0, e.g.
/// Bq/ml with `info.units = "BQML"`, quantised to 16 bits of the maximum). UIDs in `info`
/// are used as given; instance UIDs are derived from the content.
pub fn write_series(dir: &Path, volume: &Volume, info: &SeriesInfo) -> Result<()> {
    let g = &volume.grid;
    if g.nx > u16::MAX as usize || g.ny > u16::MAX as usize || g.nz > u16::MAX as usize {
        return Err(fmt_err(dir, "more than 65535 voxels along an axis"));
    }
    if let Some(x) = volume.values.iter().find(|x| !x.is_finite()) {
        return Err(fmt_err(dir, format!("value {x} is not finite")));
    }
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let mut h = Fnv64::new();
    h.bytes(info.series_uid.as_bytes());
    for x in &volume.values {
        h.u64(x.to_bits());
    }
    let h = h.value();
    match info.modality.as_str() {
        "CT" => write_ct(dir, volume, info, h),
        "NM" => {
            if let Some(x) = volume.values.iter().find(|&&x| x < 0.0) {
                return Err(fmt_err(dir, format!("NM value {x} is negative")));
            }
            write_nm(dir, volume, info, h)
        }
        m => Err(fmt_err(
            dir,
            format!("modality {m:?}: only CT and NM series are written"),
        )),
    }
}
