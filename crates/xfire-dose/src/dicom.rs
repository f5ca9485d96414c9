//! DICOM input and output of the dose pipeline (`docs/formats/dicom.md`): a SPECT/PET
//! series as activity per voxel after the header checks (modality, units, half-life, time
//! since administration, decay correction), a CT series in HU, and the dose as an RT Dose on
//! the CT's frame of reference. Reading and writing are `xfire_io::dicom`.

use std::path::Path;

use xfire_data::nuclides::Nuclide;
use xfire_io::dicom::{read_series, SeriesInfo};
use xfire_io::Volume;

use crate::pipeline::Quantity;
use crate::{invalid, Result};

/// Largest difference between a time point's stated time and its header's time since
/// administration: the larger of this \[s\] and [`TIME_TOLERANCE_REL`] of the time.
pub const TIME_TOLERANCE_S: f64 = 900.0;
/// Relative part of the time tolerance.
pub const TIME_TOLERANCE_REL: f64 = 0.01;
/// Largest relative difference between the header's half-life and the nuclide's.
pub const HALF_LIFE_TOLERANCE: f64 = 0.01;

fn hours(s: f64) -> String {
    format!("{:.2} h", s / 3600.0)
}

fn check_units(path: &Path, info: &SeriesInfo, quantity: Quantity) -> Result<()> {
    if !matches!(info.modality.as_str(), "NM" | "PT") {
        return Err(invalid(format!(
            "{}: modality {:?}: an activity image must be a SPECT (NM) or PET (PT) series",
            path.display(),
            info.modality
        )));
    }
    if quantity == Quantity::Tia {
        return Err(invalid(format!(
            "{}: a DICOM SPECT/PET series holds activity concentration at acquisition, not \
             time-integrated activity: use --quantity activity",
            path.display()
        )));
    }
    match info.units.as_deref() {
        Some("BQML") => Ok(()),
        Some(u) => Err(invalid(format!(
            "{}: Units (0054,1001) is {u:?}; xfire dose needs quantitative images in Bq/ml \
             (BQML): calibrate the reconstruction first",
            path.display()
        ))),
        None => Err(invalid(format!(
            "{}: no Units (0054,1001): the values are not known to be Bq/ml; xfire dose needs \
             a quantitative (BQML) series",
            path.display()
        ))),
    }
}

fn check_half_life(path: &Path, info: &SeriesInfo, nuclide: &Nuclide) -> Result<()> {
    if let Some(t) = info.half_life_s {
        if !((t / nuclide.half_life_s - 1.0).abs() <= HALF_LIFE_TOLERANCE) {
            return Err(invalid(format!(
                "{}: Radionuclide Half Life (0018,1075) is {t} s, but {} has {} s: another \
                 radionuclide than --nuclide?",
                path.display(),
                nuclide.name,
                nuclide.half_life_s
            )));
        }
    }
    Ok(())
}

/// The time since administration to decay-correct with: the stated time point, checked
/// against the header's when both are known; else the header's.
fn acquisition_time(path: &Path, info: &SeriesInfo, stated_s: Option<f64>) -> Result<Option<f64>> {
    let header = info.time_since_administration_s();
    match (stated_s, header) {
        (Some(t), Some(h)) => {
            let tol = TIME_TOLERANCE_S.max(TIME_TOLERANCE_REL * t);
            if !((t - h).abs() <= tol) {
                return Err(invalid(format!(
                    "{}: the time point says {} after administration but the header says {} \
                     (acquisition start minus Radiopharmaceutical Start DateTime); give the \
                     header's time (tolerance {})",
                    path.display(),
                    hours(t),
                    hours(h),
                    hours(tol)
                )));
            }
            Ok(Some(t))
        }
        (Some(t), None) => Ok(Some(t)),
        (None, h) => Ok(h),
    }
}

/// Factor from the stored values to the activity the pipeline wants: at acquisition (time
/// points, `to_administration` false) or at administration (one image without time).
fn decay_factor(
    path: &Path,
    info: &SeriesInfo,
    lambda: f64,
    t: Option<f64>,
    to_administration: bool,
    notes: &mut Vec<String>,
) -> Result<f64> {
    let dc = info.decay_correction.as_deref().unwrap_or("NONE");
    let stored_at_admin = match dc {
        "ADMIN" => true,
        "START" | "NONE" => false,
        other => {
            return Err(invalid(format!(
                "{}: Decay Correction (0054,1102) is {other:?}; NONE, START or ADMIN expected",
                path.display()
            )))
        }
    };
    if dc == "NONE" {
        notes.push(format!(
            "{}: Decay Correction {}: the values are taken as the activity at the acquisition \
             start (decay during the acquisition not corrected)",
            path.display(),
            info.decay_correction.as_deref().unwrap_or("absent")
        ));
    }
    if stored_at_admin == to_administration {
        return Ok(1.0);
    }
    let t = t.ok_or_else(|| {
        invalid(format!(
            "{}: the values are decay-corrected to {} but the time since administration is \
             unknown (no Radiopharmaceutical Start DateTime (0018,1078) or acquisition time): \
             give the image as a --timepoints entry",
            path.display(),
            if stored_at_admin {
                "administration"
            } else {
                "the acquisition start"
            }
        ))
    })?;
    Ok(if to_administration {
        (lambda * t).exp()
    } else {
        (-lambda * t).exp()
    })
}

/// A SPECT/PET series as activity per voxel \[Bq\] — at the acquisition for a time point
/// (`stated_s`, hours after administration as given), at administration for a single image
/// (`stated_s` None) — after the header checks; notes for the user go to `notes`.
pub fn read_activity(
    path: &Path,
    nuclide: &Nuclide,
    quantity: Quantity,
    stated_s: Option<f64>,
    notes: &mut Vec<String>,
) -> Result<(Volume, SeriesInfo)> {
    let s = read_series(path)?;
    check_units(path, &s.info, quantity)?;
    check_half_life(path, &s.info, nuclide)?;
    let t = acquisition_time(path, &s.info, stated_s)?;
    let lambda = std::f64::consts::LN_2 / nuclide.half_life_s;
    let f = decay_factor(path, &s.info, lambda, t, stated_s.is_none(), notes)?;
    let ml = s.volume.grid.voxel_volume_cm3();
    let mut v = s.volume;
    v.values.iter_mut().for_each(|x| *x *= f * ml);
    Ok((v, s.info))
}

/// A CT series in HU (Rescale Type, when present, must be HU).
pub fn read_ct(path: &Path) -> Result<(Volume, SeriesInfo)> {
    let s = read_series(path)?;
    if s.info.modality != "CT" {
        return Err(invalid(format!(
            "{}: modality {:?}: --ct must be a CT series",
            path.display(),
            s.info.modality
        )));
    }
    if let Some(r) = s.info.rescale_type.as_deref().filter(|r| *r != "HU") {
        return Err(invalid(format!(
            "{}: Rescale Type (0028,1054) is {r:?}: CT numbers in HU expected",
            path.display()
        )));
    }
    Ok((s.volume, s.info))
}

/// The series the RT Dose is placed on: the CT's, else the activity's; an error when both
/// have frames of reference and they differ (the images are not registered).
pub fn reference(
    ct: Option<SeriesInfo>,
    activity: Option<SeriesInfo>,
) -> Result<Option<SeriesInfo>> {
    if let (Some(c), Some(a)) = (&ct, &activity) {
        if let (Some(fc), Some(fa)) = (&c.frame_of_reference_uid, &a.frame_of_reference_uid) {
            if fc != fa {
                return Err(invalid(format!(
                    "the activity series' Frame of Reference UID {fa} differs from the CT's \
                     {fc}: the images are not on one patient coordinate system (register them \
                     first)"
                )));
            }
        }
    }
    Ok(ct.or(activity))
}
