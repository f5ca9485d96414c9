//! Writing a dose image as a DICOM RT Dose object (PS3.3 A.18) on the frame of reference
//! of a reference series (the CT): patient and study attributes copied from it, its Frame
//! of Reference UID, 32-bit unsigned pixels with Dose Grid Scaling, one frame per slice.
//! UIDs are derived from the content (`2.25.` + a UUID-v8 integer), so the same dose and
//! reference give the same bytes.

use std::path::Path;

use dicom_core::value::PrimitiveValue;
use dicom_core::VR;
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use xfire_core::hash::Fnv64;
use xfire_phantom::Grid;

use super::encode::{ds, patient_and_study, put, put_strs, uid};
use super::scan::EXPLICIT_LE;
use super::SeriesInfo;
use crate::{fmt_err, write_atomic, Result};

/// RT Dose Storage SOP Class UID.
pub const RT_DOSE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.481.2";

/// Dose values quantised to u32 with the Dose Grid Scaling written (DS, parsed back so that
/// scaling × pixel is what a reader gets).
fn quantise(path: &Path, dose_gy: &[f64]) -> Result<(String, Vec<u32>)> {
    let mut max = 0.0f64;
    for (k, &d) in dose_gy.iter().enumerate() {
        if !(d >= 0.0 && d.is_finite()) {
            return Err(fmt_err(
                path,
                format!("voxel {k} has dose {d} Gy: an RT Dose holds finite doses ≥ 0"),
            ));
        }
        max = max.max(d);
    }
    let scaling = ds(if max > 0.0 {
        max / u32::MAX as f64
    } else {
        1.0
    });
    let s: f64 = scaling
        .parse()
        .map_err(|_| fmt_err(path, format!("dose grid scaling {scaling:?}")))?;
    let pixels = dose_gy
        .iter()
        .map(|&d| (d / s).round().min(u32::MAX as f64) as u32)
        .collect();
    Ok((scaling, pixels))
}

fn image_plane(obj: &mut InMemDicomObject, g: &Grid) {
    let mm = |a: usize| g.voxel_cm[a] * 10.0;
    let centre = |a: usize| (g.origin_cm[a] + g.voxel_cm[a] / 2.0) * 10.0;
    put_strs(obj, tags::PIXEL_SPACING, VR::DS, vec![ds(mm(1)), ds(mm(0))]);
    put_strs(
        obj,
        tags::IMAGE_ORIENTATION_PATIENT,
        VR::DS,
        ["1", "0", "0", "0", "1", "0"].map(String::from).to_vec(),
    );
    put_strs(
        obj,
        tags::IMAGE_POSITION_PATIENT,
        VR::DS,
        (0..3).map(|a| ds(centre(a))).collect(),
    );
    put(obj, tags::SLICE_THICKNESS, VR::DS, ds(mm(2)));
    let offsets = (0..g.nz).map(|k| ds(k as f64 * mm(2))).collect();
    put_strs(obj, tags::GRID_FRAME_OFFSET_VECTOR, VR::DS, offsets);
    put(obj, tags::NUMBER_OF_FRAMES, VR::IS, g.nz.to_string());
    put(
        obj,
        tags::FRAME_INCREMENT_POINTER,
        VR::AT,
        PrimitiveValue::Tags(vec![tags::GRID_FRAME_OFFSET_VECTOR].into()),
    );
}

fn pixel_module(obj: &mut InMemDicomObject, g: &Grid, scaling: String, pixels: Vec<u32>) {
    put(obj, tags::SAMPLES_PER_PIXEL, VR::US, 1u16);
    put(obj, tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2");
    put(obj, tags::ROWS, VR::US, g.ny as u16);
    put(obj, tags::COLUMNS, VR::US, g.nx as u16);
    put(obj, tags::BITS_ALLOCATED, VR::US, 32u16);
    put(obj, tags::BITS_STORED, VR::US, 32u16);
    put(obj, tags::HIGH_BIT, VR::US, 31u16);
    put(obj, tags::PIXEL_REPRESENTATION, VR::US, 0u16);
    put(obj, tags::DOSE_UNITS, VR::CS, "GY");
    put(obj, tags::DOSE_TYPE, VR::CS, "PHYSICAL");
    put(obj, tags::DOSE_SUMMATION_TYPE, VR::CS, "PLAN");
    put(obj, tags::DOSE_GRID_SCALING, VR::DS, scaling);
    // 32-bit values (not bytes), so that any transfer syntax orders their bytes
    put(
        obj,
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U32(pixels.into()),
    );
}

/// Write `dose_gy` (on `grid`, x fastest) as an RT Dose file at `path` on the frame of
/// reference of `reference` (patient, study and Frame of Reference UID copied from it).
/// `description` is the Series Description; `software` the Software Versions.
pub fn write_rt_dose(
    path: &Path,
    grid: &Grid,
    dose_gy: &[f64],
    reference: &SeriesInfo,
    description: &str,
    software: &str,
) -> Result<()> {
    if dose_gy.len() != grid.len() {
        return Err(fmt_err(
            path,
            format!(
                "{} dose values for a grid of {} voxels",
                dose_gy.len(),
                grid.len()
            ),
        ));
    }
    if grid.nx > u16::MAX as usize || grid.ny > u16::MAX as usize {
        return Err(fmt_err(
            path,
            format!("{}×{} pixels per slice exceed 65535", grid.nx, grid.ny),
        ));
    }
    let for_uid = reference.frame_of_reference_uid.clone().ok_or_else(|| {
        fmt_err(
            path,
            format!(
                "the reference series {} has no Frame of Reference UID (0020,0052): the dose \
                 cannot be placed on it",
                reference.series_uid
            ),
        )
    })?;
    let (scaling, pixels) = quantise(path, dose_gy)?;
    let mut h = Fnv64::new();
    let bytes: Vec<u8> = pixels.iter().flat_map(|p| p.to_le_bytes()).collect();
    h.bytes(&bytes)
        .bytes(for_uid.as_bytes())
        .bytes(reference.series_uid.as_bytes());
    h.bytes(description.as_bytes());
    for a in 0..3 {
        h.u64(grid.voxel_cm[a].to_bits())
            .u64(grid.origin_cm[a].to_bits());
    }
    let content = h.u64(grid.nz as u64).value();
    let sop_uid = uid(content, "sop");
    let mut obj = InMemDicomObject::new_empty();
    put(&mut obj, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
    put(&mut obj, tags::SOP_CLASS_UID, VR::UI, RT_DOSE_STORAGE);
    put(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, sop_uid.clone());
    patient_and_study(&mut obj, reference);
    put(&mut obj, tags::MODALITY, VR::CS, "RTDOSE");
    put(
        &mut obj,
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        uid(content, "series"),
    );
    put(&mut obj, tags::SERIES_NUMBER, VR::IS, "1");
    put(&mut obj, tags::SERIES_DESCRIPTION, VR::LO, description);
    put(&mut obj, tags::FRAME_OF_REFERENCE_UID, VR::UI, for_uid);
    put(&mut obj, tags::POSITION_REFERENCE_INDICATOR, VR::LO, "");
    put(&mut obj, tags::MANUFACTURER, VR::LO, "xfire");
    put(&mut obj, tags::SOFTWARE_VERSIONS, VR::LO, software);
    put(&mut obj, tags::INSTANCE_NUMBER, VR::IS, "1");
    image_plane(&mut obj, grid);
    pixel_module(&mut obj, grid, scaling, pixels);
    let file = obj
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax(EXPLICIT_LE)
                .media_storage_sop_class_uid(RT_DOSE_STORAGE)
                .media_storage_sop_instance_uid(sop_uid),
        )
        .map_err(|e| fmt_err(path, format!("DICOM meta group: {e}")))?;
    write_atomic(path, |tmp| {
        file.write_to_file(tmp)
            .map_err(|e| fmt_err(path, format!("writing DICOM: {e}")))
    })
}
