//! Encoding helpers shared by the DICOM writers: decimal strings, content-derived UIDs,
//! element insertion, and the patient and study attributes copied from a reference series.

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use xfire_core::hash::Fnv64;

use super::SeriesInfo;

/// A decimal string (DS) of at most 16 characters holding `x` as closely as fits.
pub fn ds(x: f64) -> String {
    let plain = format!("{x}");
    if plain.len() <= 16 {
        return plain;
    }
    if x.abs() >= 1e-3 && x.abs() < 1e12 {
        for d in (0..=12).rev() {
            let s = format!("{x:.d$}");
            let s = if s.contains('.') {
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            } else {
                s
            };
            if s.len() <= 16 {
                return s;
            }
        }
    }
    for d in (0..=10).rev() {
        let s = format!("{x:.d$e}");
        if s.len() <= 16 {
            return s;
        }
    }
    format!("{x:.0e}")
}

/// `2.25.` + a 128-bit integer from two FNV-1a hashes of `content` and `kind`, with the
/// UUID version 8 and variant bits set (RFC 9562), as PS3.5 B.2 allows.
pub fn uid(content: u64, kind: &str) -> String {
    let hi = Fnv64::new().u64(content).bytes(kind.as_bytes()).value();
    let lo = Fnv64::new()
        .bytes(kind.as_bytes())
        .u64(content)
        .u64(hi)
        .value();
    let mut u = ((hi as u128) << 64) | lo as u128;
    u = (u & !(0xF << 76)) | (0x8 << 76);
    u = (u & !(0x3 << 62)) | (0x2 << 62);
    format!("2.25.{u}")
}

pub fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: impl Into<PrimitiveValue>) {
    obj.put(DataElement::new(tag, vr, value.into()));
}

pub fn put_strs(obj: &mut InMemDicomObject, tag: Tag, vr: VR, values: Vec<String>) {
    obj.put(DataElement::new(
        tag,
        vr,
        PrimitiveValue::Strs(values.into()),
    ));
}

/// Patient and General Study attributes of `r`.
pub fn patient_and_study(obj: &mut InMemDicomObject, r: &SeriesInfo) {
    let [name, id, birth, sex] = r.patient.clone();
    put(obj, tags::PATIENT_NAME, VR::PN, name);
    put(obj, tags::PATIENT_ID, VR::LO, id);
    put(obj, tags::PATIENT_BIRTH_DATE, VR::DA, birth);
    put(obj, tags::PATIENT_SEX, VR::CS, sex);
    let [date, time, study_id, accession, physician] = r.study.clone();
    put(obj, tags::STUDY_INSTANCE_UID, VR::UI, r.study_uid.clone());
    put(obj, tags::STUDY_DATE, VR::DA, date);
    put(obj, tags::STUDY_TIME, VR::TM, time);
    put(obj, tags::STUDY_ID, VR::SH, study_id);
    put(obj, tags::ACCESSION_NUMBER, VR::SH, accession);
    put(obj, tags::REFERRING_PHYSICIAN_NAME, VR::PN, physician);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_fit_16_characters() {
        for x in [
            0.0,
            1.0,
            -221.00000000000003,
            4.42,
            1.234_567_890_123e-10,
            3.3e12,
            -0.000_123_456_789_012_3,
        ] {
            let s = ds(x);
            assert!(s.len() <= 16, "{x}: {s}");
            let back: f64 = s.parse().unwrap();
            assert!((back - x).abs() <= 1e-9 * x.abs().max(1e-3), "{x}: {s}");
        }
        assert_eq!(ds(-221.00000000000003), "-221");
    }

    #[test]
    fn uids_are_valid_and_distinct() {
        let a = uid(1, "sop");
        let b = uid(1, "series");
        let c = uid(2, "sop");
        for u in [&a, &b, &c] {
            assert!(u.len() <= 64 && u.starts_with("2.25."), "{u}");
            assert!(u[5..].bytes().all(|c| c.is_ascii_digit()) && !u[5..].starts_with('0'));
        }
        assert!(a != b && a != c);
        assert_eq!(a, uid(1, "sop"));
    }
}
