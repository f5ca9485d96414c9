//! DICOM (`docs/formats/dicom.md`) through the pure-Rust `dicom-rs` crates (`dicom-object`):
//!
//! * [`read_series`]: a CT, SPECT (NM), PET or RT Dose image series — a folder of
//!   single-frame files of one series, or one multi-frame file — as a [`Volume`] on the
//!   patient coordinate system (LPS, mm in the file, cm in the grid) and the header
//!   attributes that dosimetry checks ([`SeriesInfo`]: units, acquisition and administration
//!   times, decay correction, half-life, frame of reference).
//! * [`write_rt_dose`]: a dose image as an RT Dose object on a reference series' (the CT's)
//!   frame of reference.
//! * [`write_series`]: an image as a CT or NM (SPECT) series, for examples and tests.
//!
//! Only uncompressed transfer syntaxes and axial images (Image Orientation (Patient)
//! `1\0\0\0\1\0`: voxel i, j, k along +x, +y, +z of the patient system) are read; anything
//! else is refused with the attribute and value named. Every element length is checked
//! against the file size before parsing ([`scan`]).

use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use xfire_phantom::Grid;

use crate::{check_dims, fmt_err, io_err, ElementType, Result, Volume};

mod encode;
mod file;
mod rtdose;
pub mod scan;
mod series;
pub mod time;

pub use rtdose::{write_rt_dose, RT_DOSE_STORAGE};
pub use series::write_series;

use file::{first_item, numbers, text, DicomFile};

/// Header attributes of a series that dosimetry checks or that an RT Dose copies.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeriesInfo {
    /// Modality (0008,0060): CT, NM, PT, RTDOSE, ...
    pub modality: String,
    /// Series Instance UID (0020,000E).
    pub series_uid: String,
    /// Study Instance UID (0020,000D).
    pub study_uid: String,
    /// Frame of Reference UID (0020,0052).
    pub frame_of_reference_uid: Option<String>,
    /// Patient's Name, Patient ID, Birth Date, Sex (copied into an RT Dose).
    pub patient: [String; 4],
    /// Study Date, Study Time, Study ID, Accession Number, Referring Physician's Name.
    pub study: [String; 5],
    /// Units (0054,1001): `BQML` for quantitative SPECT/PET; `GY` for an RT Dose.
    pub units: Option<String>,
    /// Rescale Type (0028,1054): `HU` for a CT when present.
    pub rescale_type: Option<String>,
    /// Decay Correction (0054,1102): `NONE`, `START` or `ADMIN`.
    pub decay_correction: Option<String>,
    /// Acquisition start \[s since 1970-01-01, scanner clock\]: Acquisition DateTime, else
    /// the earliest Acquisition Date + Time of the files, else Series Date + Time.
    pub acquisition_s: Option<f64>,
    /// Administration \[s since 1970, scanner clock\]: Radiopharmaceutical Start DateTime
    /// (0018,1078) (a Start Time without a date is not used: the day is unknown).
    pub administration_s: Option<f64>,
    /// Radionuclide Half Life (0018,1075) \[s\].
    pub half_life_s: Option<f64>,
    /// Radionuclide Total Dose (0018,1074) \[Bq\] (administered activity).
    pub administered_bq: Option<f64>,
    /// Radiopharmaceutical (0018,0031) or the radionuclide code meaning.
    pub radiopharmaceutical: Option<String>,
    /// Number of files read.
    pub files: usize,
}

impl SeriesInfo {
    /// Time from administration to acquisition start \[s\], when both are known.
    pub fn time_since_administration_s(&self) -> Option<f64> {
        Some(self.acquisition_s? - self.administration_s?)
    }
}

/// A series read by [`read_series`].
#[derive(Debug, Clone, PartialEq)]
pub struct DicomSeries {
    /// The image: values after the rescale (modality LUT), grid on the patient system.
    pub volume: Volume,
    /// Its header attributes.
    pub info: SeriesInfo,
}

/// One frame of a file: its position (centre of the first voxel, mm) and where it is.
struct Plane {
    position: [f64; 3],
    file: usize,
    frame: usize,
}

/// The files of `path`: the regular, non-hidden files of a folder (except `DICOMDIR`), sorted
/// by name, or the file itself.
fn list_files(path: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path).map_err(|e| io_err(path, e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    for e in std::fs::read_dir(path).map_err(|e| io_err(path, e))? {
        let p = e.map_err(|e| io_err(path, e))?.path();
        let name = p.file_name().map(|n| n.to_string_lossy().to_string());
        let name = name.unwrap_or_default();
        if p.is_file() && !name.starts_with('.') && name != "DICOMDIR" {
            out.push(p);
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(fmt_err(path, "the folder holds no files"));
    }
    Ok(out)
}

/// Read a DICOM image series: a folder of one series' files, or one (multi-frame) file.
pub fn read_series(path: &Path) -> Result<DicomSeries> {
    let files = list_files(path)?
        .iter()
        .map(|p| DicomFile::read(p))
        .collect::<Result<Vec<_>>>()?;
    check_one_series(path, &files)?;
    let (rows, cols, spacing) = common_plane(&files)?;
    let mut planes = Vec::new();
    for (k, f) in files.iter().enumerate() {
        planes.extend(frame_positions(f, k)?);
    }
    planes.sort_by(|a, b| a.position[2].total_cmp(&b.position[2]));
    let dz = slice_spacing(path, &planes)?;
    let dims = check_dims(path, [cols as i64, rows as i64, planes.len() as i64])?;
    let mut pixels: Vec<Vec<f64>> = Vec::with_capacity(files.len());
    for f in &files {
        let frames = frame_count(f)?;
        pixels.push(f.pixels(rows * cols * frames)?);
    }
    let per = rows * cols;
    let mut values = Vec::with_capacity(per * planes.len());
    for p in &planes {
        values.extend_from_slice(&pixels[p.file][p.frame * per..(p.frame + 1) * per]);
    }
    let voxel_mm = [spacing[1], spacing[0], dz];
    let first = planes[0].position;
    let grid = Grid::new(
        dims,
        voxel_mm.map(|v| v / 10.0),
        [0, 1, 2].map(|a| (first[a] - voxel_mm[a] / 2.0) / 10.0),
    )
    .map_err(|e| fmt_err(path, e.to_string()))?;
    Ok(DicomSeries {
        volume: Volume {
            grid,
            values,
            element: element_type(&files[0]),
        },
        info: series_info(&files),
    })
}

fn element_type(f: &DicomFile) -> ElementType {
    let bits = numbers(&f.obj, tags::BITS_ALLOCATED).map_or(16.0, |v| v[0]);
    let signed = numbers(&f.obj, tags::PIXEL_REPRESENTATION).is_some_and(|v| v[0] == 1.0);
    match (bits as u32, signed) {
        (8, false) => ElementType::U8,
        (8, true) => ElementType::I8,
        (32, false) => ElementType::U32,
        (32, true) => ElementType::I32,
        (_, true) => ElementType::I16,
        _ => ElementType::U16,
    }
}

fn check_one_series(path: &Path, files: &[DicomFile]) -> Result<()> {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for f in files {
        let uid = f.text(tags::SERIES_INSTANCE_UID).unwrap_or_default();
        match seen.iter_mut().find(|(u, _)| *u == uid) {
            Some(s) => s.1 += 1,
            None => seen.push((uid, 1)),
        }
    }
    if seen.len() > 1 {
        let list: Vec<String> = seen
            .iter()
            .map(|(u, n)| format!("{u:?} ({n} files)"))
            .collect();
        return Err(fmt_err(
            path,
            format!(
                "holds {} series: {}; give the folder of one series",
                seen.len(),
                list.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Rows, columns and Pixel Spacing (row spacing, column spacing \[mm\]) shared by every file.
fn common_plane(files: &[DicomFile]) -> Result<(usize, usize, [f64; 2])> {
    let mut out: Option<(usize, usize, [f64; 2])> = None;
    for f in files {
        let rows = f.count(tags::ROWS, "Rows (0028,0010)")?;
        let cols = f.count(tags::COLUMNS, "Columns (0028,0011)")?;
        let s = f.numbers_n(tags::PIXEL_SPACING, "Pixel Spacing (0028,0030)", 2)?;
        if !(s[0] > 0.0 && s[1] > 0.0) {
            return Err(fmt_err(
                &f.path,
                format!("Pixel Spacing {s:?} mm must be positive"),
            ));
        }
        let this = (rows, cols, [s[0], s[1]]);
        match out {
            None => out = Some(this),
            Some(o) if o.0 == rows && o.1 == cols && close(&o.2, &this.2, 1e-4) => {}
            Some(o) => {
                return Err(fmt_err(
                    &f.path,
                    format!(
                        "{rows}×{cols} pixels of {:?} mm, but the first file has {}×{} of {:?} mm",
                        this.2, o.0, o.1, o.2
                    ),
                ))
            }
        }
    }
    out.ok_or_else(|| fmt_err(Path::new(""), "no files"))
}

fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}

fn frame_count(f: &DicomFile) -> Result<usize> {
    match numbers(&f.obj, tags::NUMBER_OF_FRAMES) {
        None => Ok(1),
        Some(_) => {
            let n = f.count(tags::NUMBER_OF_FRAMES, "Number of Frames (0028,0008)")?;
            if n == 0 {
                return Err(fmt_err(&f.path, "Number of Frames is 0"));
            }
            Ok(n)
        }
    }
}

/// Image Position / Orientation (Patient): in the data set, or (NM) in the first item of the
/// Detector Information Sequence.
fn plane_attribute(f: &DicomFile, tag: dicom_core::Tag, name: &str, n: usize) -> Result<Vec<f64>> {
    if f.obj.get(tag).is_some() {
        return f.numbers_n(tag, name, n);
    }
    let nested =
        first_item(&f.obj, tags::DETECTOR_INFORMATION_SEQUENCE).and_then(|item| numbers(item, tag));
    match nested {
        Some(v) if v.len() == n && v.iter().all(|x| x.is_finite()) => Ok(v),
        _ => Err(fmt_err(&f.path, format!("{name} is missing or malformed"))),
    }
}

/// The position of each frame of `f` (file number `k`).
fn frame_positions(f: &DicomFile, k: usize) -> Result<Vec<Plane>> {
    let iop = plane_attribute(
        f,
        tags::IMAGE_ORIENTATION_PATIENT,
        "Image Orientation (Patient) (0020,0037)",
        6,
    )?;
    if !close(&iop, &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0], 1e-4) {
        return Err(fmt_err(
            &f.path,
            format!(
                "Image Orientation (Patient) is {iop:?}: only axial images with rows along +x \
                 and columns along +y (1\\0\\0\\0\\1\\0) are read; resample the series first"
            ),
        ));
    }
    let ipp = plane_attribute(
        f,
        tags::IMAGE_POSITION_PATIENT,
        "Image Position (Patient) (0020,0032)",
        3,
    )?;
    let frames = frame_count(f)?;
    let offsets = frame_offsets(f, frames, ipp[2])?;
    Ok(offsets
        .into_iter()
        .enumerate()
        .map(|(frame, dz)| Plane {
            position: [ipp[0], ipp[1], ipp[2] + dz],
            file: k,
            frame,
        })
        .collect())
}

/// z offsets of the frames from the first \[mm\]: the Grid Frame Offset Vector (RT Dose;
/// relative when its first value is 0, else absolute), else Spacing Between Slices (NM),
/// else Slice Thickness, frames stacked along +z.
fn frame_offsets(f: &DicomFile, frames: usize, z0: f64) -> Result<Vec<f64>> {
    if frames == 1 {
        return Ok(vec![0.0]);
    }
    if let Some(g) = numbers(&f.obj, tags::GRID_FRAME_OFFSET_VECTOR) {
        if g.len() != frames || g.iter().any(|x| !x.is_finite()) {
            return Err(fmt_err(
                &f.path,
                format!(
                    "Grid Frame Offset Vector has {} values for {frames} frames",
                    g.len()
                ),
            ));
        }
        let base = if g[0] == 0.0 { 0.0 } else { z0 };
        return Ok(g.iter().map(|x| x - base).collect());
    }
    let dz = numbers(&f.obj, tags::SPACING_BETWEEN_SLICES)
        .or_else(|| numbers(&f.obj, tags::SLICE_THICKNESS))
        .map(|v| v[0]);
    match dz {
        Some(dz) if dz > 0.0 && dz.is_finite() => Ok((0..frames).map(|k| k as f64 * dz).collect()),
        _ => Err(fmt_err(
            &f.path,
            format!(
                "{frames} frames but no positive Spacing Between Slices (0018,0088) or Slice \
                 Thickness (0018,0050): the slice positions are unknown"
            ),
        )),
    }
}

/// The common spacing of the sorted planes \[mm\]: same x, y; distinct, evenly spaced z.
fn slice_spacing(path: &Path, planes: &[Plane]) -> Result<f64> {
    let first = planes[0].position;
    for p in planes {
        if !close(&p.position[..2], &first[..2], 1e-2) {
            return Err(fmt_err(
                path,
                format!(
                    "slice at z = {} mm starts at x, y = {:?} mm, the first at {:?}: slices \
                     must be stacked without shifts",
                    p.position[2],
                    &p.position[..2],
                    &first[..2]
                ),
            ));
        }
    }
    if planes.len() == 1 {
        return Err(fmt_err(
            path,
            "a single slice: a 3-D image needs at least two",
        ));
    }
    let dz = (planes[planes.len() - 1].position[2] - first[2]) / (planes.len() - 1) as f64;
    for (k, w) in planes.windows(2).enumerate() {
        let d = w[1].position[2] - w[0].position[2];
        if !(d > 0.0) || (d - dz).abs() > 1e-3 * dz + 1e-3 {
            return Err(fmt_err(
                path,
                format!(
                    "slices {k} and {} are {d} mm apart, the mean spacing is {dz} mm: slices \
                     must be distinct and evenly spaced (a missing or duplicate file?)",
                    k + 1
                ),
            ));
        }
    }
    Ok(dz)
}

fn date_time(
    f: &DicomFile,
    dt: dicom_core::Tag,
    da: dicom_core::Tag,
    tm: dicom_core::Tag,
) -> Option<f64> {
    if let Some(s) = f.text(dt).and_then(|s| time::datetime_s(&s)) {
        return Some(s);
    }
    time::date_time_s(&f.text(da)?, &f.text(tm)?)
}

fn series_info(files: &[DicomFile]) -> SeriesInfo {
    let f = &files[0];
    let t = |tag| f.text(tag).unwrap_or_default();
    let acquisition = files
        .iter()
        .filter_map(|g| {
            date_time(
                g,
                tags::ACQUISITION_DATE_TIME,
                tags::ACQUISITION_DATE,
                tags::ACQUISITION_TIME,
            )
        })
        .min_by(f64::total_cmp)
        .or_else(|| time::date_time_s(&f.text(tags::SERIES_DATE)?, &f.text(tags::SERIES_TIME)?));
    let rp = first_item(&f.obj, tags::RADIOPHARMACEUTICAL_INFORMATION_SEQUENCE);
    let rp_text = |tag| rp.and_then(|i| text(i, tag));
    let rp_num = |tag| rp.and_then(|i| numbers(i, tag)).map(|v| v[0]);
    let code = rp
        .and_then(|i| first_item(i, tags::RADIONUCLIDE_CODE_SEQUENCE))
        .and_then(|c| text(c, tags::CODE_MEANING));
    SeriesInfo {
        modality: t(tags::MODALITY),
        series_uid: t(tags::SERIES_INSTANCE_UID),
        study_uid: t(tags::STUDY_INSTANCE_UID),
        frame_of_reference_uid: f.text(tags::FRAME_OF_REFERENCE_UID),
        patient: [
            t(tags::PATIENT_NAME),
            t(tags::PATIENT_ID),
            t(tags::PATIENT_BIRTH_DATE),
            t(tags::PATIENT_SEX),
        ],
        study: [
            t(tags::STUDY_DATE),
            t(tags::STUDY_TIME),
            t(tags::STUDY_ID),
            t(tags::ACCESSION_NUMBER),
            t(tags::REFERRING_PHYSICIAN_NAME),
        ],
        units: f.text(tags::UNITS).or_else(|| f.text(tags::DOSE_UNITS)),
        rescale_type: f.text(tags::RESCALE_TYPE),
        decay_correction: f.text(tags::DECAY_CORRECTION),
        acquisition_s: acquisition,
        administration_s: rp_text(tags::RADIOPHARMACEUTICAL_START_DATE_TIME)
            .and_then(|s| time::datetime_s(&s)),
        half_life_s: rp_num(tags::RADIONUCLIDE_HALF_LIFE),
        administered_bq: rp_num(tags::RADIONUCLIDE_TOTAL_DOSE),
        radiopharmaceutical: rp_text(tags::RADIOPHARMACEUTICAL).or(code),
        files: files.len(),
    }
}

/// Whether `path` names DICOM input by its form: a folder, or a file ending in `.dcm`.
pub fn is_dicom_path(path: &Path) -> bool {
    path.is_dir()
        || path
            .to_string_lossy()
            .to_ascii_lowercase()
            .ends_with(".dcm")
}
