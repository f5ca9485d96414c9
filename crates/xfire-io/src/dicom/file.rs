//! One DICOM file: its attributes (read with `dicom-object`) and its pixel values after the
//! rescale (modality LUT).

use std::path::{Path, PathBuf};

use dicom_core::value::{DicomValueType, PrimitiveValue, Value};
use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};

use super::scan::{self, Encoding};
use crate::{fmt_err, read_regular, Result};

/// Enhanced multi-frame objects (per-frame functional groups) are not read.
const PER_FRAME_GROUPS: Tag = Tag(0x5200, 0x9230);

/// A DICOM file read whole.
pub struct DicomFile {
    /// The file.
    pub path: PathBuf,
    /// Its data set.
    pub obj: DefaultDicomObject,
    enc: Encoding,
}

/// A trimmed string attribute of `obj` (`None` when absent or empty).
pub fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let e = obj.get(tag)?;
    let s = e.to_str().ok()?;
    let s = s.trim_matches(['\0', ' ']).to_string();
    (!s.is_empty()).then_some(s)
}

/// A multi-valued numeric attribute (DS, IS, FD, US, ...) of `obj`.
pub fn numbers(obj: &InMemDicomObject, tag: Tag) -> Option<Vec<f64>> {
    let v = obj.get(tag)?.to_multi_float64().ok()?;
    (!v.is_empty()).then_some(v)
}

/// The first item of sequence `tag`.
pub fn first_item(obj: &InMemDicomObject, tag: Tag) -> Option<&InMemDicomObject> {
    obj.get(tag)?.items()?.first()
}

impl DicomFile {
    /// Read and parse `path` (lengths checked first, [`scan::check`]).
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = read_regular(path)?;
        let (_, enc) = scan::check(path, &bytes)?;
        let obj = OpenFileOptions::new()
            .read_preamble(dicom_object::file::ReadPreamble::Never)
            .from_reader(&bytes[128..])
            .map_err(|e| fmt_err(path, format!("cannot parse DICOM: {e}")))?;
        if obj.get(PER_FRAME_GROUPS).is_some() {
            return Err(fmt_err(
                path,
                "an enhanced multi-frame object (per-frame functional groups) is not supported; \
                 export the series as classic single-frame images",
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            obj,
            enc,
        })
    }

    /// A trimmed string attribute.
    pub fn text(&self, tag: Tag) -> Option<String> {
        text(&self.obj, tag)
    }

    /// A numeric attribute with `n` values (`name` names it in the error).
    pub fn numbers_n(&self, tag: Tag, name: &str, n: usize) -> Result<Vec<f64>> {
        match numbers(&self.obj, tag) {
            Some(v) if v.len() == n && v.iter().all(|x| x.is_finite()) => Ok(v),
            Some(v) => Err(fmt_err(
                &self.path,
                format!(
                    "{name} has {} values {v:?}; {n} finite numbers expected",
                    v.len()
                ),
            )),
            None => Err(fmt_err(&self.path, format!("{name} is missing"))),
        }
    }

    /// A whole-number attribute (`name` names it in the error).
    pub fn count(&self, tag: Tag, name: &str) -> Result<usize> {
        let v = self.numbers_n(tag, name, 1)?[0];
        if !(v >= 0.0 && v.fract() == 0.0 && v <= u32::MAX as f64) {
            return Err(fmt_err(&self.path, format!("{name} is {v}, not a count")));
        }
        Ok(v as usize)
    }

    /// Rescale slope and intercept (1 and 0 when absent); RT Dose: Dose Grid Scaling.
    pub fn rescale(&self) -> Result<(f64, f64)> {
        if let Some(s) = numbers(&self.obj, tags::DOSE_GRID_SCALING) {
            return Ok((s[0], 0.0));
        }
        let slope = numbers(&self.obj, tags::RESCALE_SLOPE).map_or(1.0, |v| v[0]);
        let icpt = numbers(&self.obj, tags::RESCALE_INTERCEPT).map_or(0.0, |v| v[0]);
        if !slope.is_finite() || slope == 0.0 || !icpt.is_finite() {
            return Err(fmt_err(
                &self.path,
                format!("Rescale Slope {slope} / Intercept {icpt}: not a usable rescale"),
            ));
        }
        Ok((slope, icpt))
    }

    /// The stored pixel values of `n` samples (rows × columns × frames), rescaled.
    pub fn pixels(&self, n: usize) -> Result<Vec<f64>> {
        let p = |m: String| fmt_err(&self.path, m);
        if self.obj.get(tags::FLOAT_PIXEL_DATA).is_some()
            || self.obj.get(tags::DOUBLE_FLOAT_PIXEL_DATA).is_some()
        {
            return Err(p("float pixel data are not supported".into()));
        }
        let spp = numbers(&self.obj, tags::SAMPLES_PER_PIXEL).map_or(1.0, |v| v[0]);
        if spp != 1.0 {
            return Err(p(format!(
                "Samples per Pixel is {spp}: only single-sample (grey) images"
            )));
        }
        let bits = self.count(tags::BITS_ALLOCATED, "Bits Allocated (0028,0100)")?;
        let stored = numbers(&self.obj, tags::BITS_STORED).map_or(bits as f64, |v| v[0]);
        let signed = numbers(&self.obj, tags::PIXEL_REPRESENTATION).is_some_and(|v| v[0] == 1.0);
        if !(matches!(bits, 8 | 16 | 32) && stored >= 1.0 && stored <= bits as f64) {
            return Err(p(format!(
                "Bits Allocated {bits} / Bits Stored {stored}: 8, 16 or 32 bits expected"
            )));
        }
        let raw = self.raw_samples(bits, n)?;
        let (slope, icpt) = self.rescale()?;
        let stored = stored as u32;
        Ok(raw
            .into_iter()
            .map(|x| slope * sample(x, stored, signed) + icpt)
            .collect())
    }

    /// `n` raw samples of `bits` bits from the Pixel Data element.
    fn raw_samples(&self, bits: usize, n: usize) -> Result<Vec<u32>> {
        let e = self
            .obj
            .get(tags::PIXEL_DATA)
            .ok_or_else(|| fmt_err(&self.path, "no Pixel Data (7FE0,0010)"))?;
        let prim = match e.value() {
            Value::Primitive(p) => p,
            _ => {
                return Err(fmt_err(
                    &self.path,
                    "encapsulated (compressed) pixel data are not supported",
                ))
            }
        };
        let be = self.enc.big_endian;
        // the bytes in file order (the parser has decoded OW into words, OL into dwords)
        let bytes: Vec<u8> = match prim {
            PrimitiveValue::U8(b) => b.to_vec(),
            PrimitiveValue::U16(v) => in_file_order(v, u16::to_le_bytes, u16::to_be_bytes, be),
            PrimitiveValue::I16(v) => in_file_order(v, i16::to_le_bytes, i16::to_be_bytes, be),
            PrimitiveValue::U32(v) => in_file_order(v, u32::to_le_bytes, u32::to_be_bytes, be),
            PrimitiveValue::I32(v) => in_file_order(v, i32::to_le_bytes, i32::to_be_bytes, be),
            other => {
                return Err(fmt_err(
                    &self.path,
                    format!(
                        "Pixel Data of type {:?} is not integer samples",
                        other.value_type()
                    ),
                ))
            }
        };
        let s = bits / 8;
        let out: Vec<u32> = bytes
            .chunks_exact(s)
            .take(n)
            .map(|c| {
                let mut w = [0u8; 4];
                w[..s].copy_from_slice(c);
                if be {
                    w[..s].reverse();
                }
                u32::from_le_bytes(w)
            })
            .collect();
        if out.len() < n {
            return Err(fmt_err(
                &self.path,
                format!(
                    "Pixel Data holds {} samples of {bits} bits; the image needs {n}",
                    out.len()
                ),
            ));
        }
        Ok(out)
    }
}

/// Words in the file's byte order.
fn in_file_order<T: Copy, const N: usize>(
    v: &[T],
    le: fn(T) -> [u8; N],
    be_bytes: fn(T) -> [u8; N],
    be: bool,
) -> Vec<u8> {
    v.iter()
        .flat_map(|&x| if be { be_bytes(x) } else { le(x) })
        .collect()
}

/// A raw sample's value: the low `stored` bits, two's complement when `signed`.
fn sample(x: u32, stored: u32, signed: bool) -> f64 {
    let x = if stored >= 32 {
        x as u64
    } else {
        (x as u64) & ((1u64 << stored) - 1)
    };
    if signed && x >> (stored - 1) & 1 == 1 {
        x as f64 - (1u64 << stored) as f64
    } else {
        x as f64
    }
}

#[cfg(test)]
mod tests {
    use super::sample;

    #[test]
    fn stored_bits_and_sign() {
        assert_eq!(sample(0xFFFF, 16, true), -1.0);
        assert_eq!(sample(0xFFFF, 16, false), 65_535.0);
        // 12 bits stored in 16: the high nibble is ignored, bit 11 is the sign
        assert_eq!(sample(0xF800, 12, true), -2048.0);
        assert_eq!(sample(0x07FF, 12, true), 2047.0);
        assert_eq!(sample(u32::MAX, 32, false), u32::MAX as f64);
        assert_eq!(sample(u32::MAX, 32, true), -1.0);
    }
}
