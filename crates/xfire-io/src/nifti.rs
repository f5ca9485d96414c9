//! NIfTI-1 single-file images (`.nii`, `.nii.gz`).
//!
//! Read: 3-D scalar images (a 4-D image with one volume is accepted), any byte order, data
//! types u8, i8, u16, i16, u32, i32, f32, f64, with `scl_slope`/`scl_inter` applied. Voxel
//! size from `pixdim[1..4]` in the unit of `xyzt_units` (mm when unset); the origin from the
//! sform (if `sform_code > 0`) or qform offsets, as the centre of voxel (0,0,0). The
//! orientation (rotation / axis flips) is **not** applied: voxel index i, j, k maps to
//! +x, +y, +z, which keeps labels and densities aligned but may mirror the image against
//! scanner coordinates.
//!
//! Write: little-endian `.nii` (or gzip-compressed when the name ends in `.gz`), sform and
//! qform set to the voxel size and origin, units mm.

use std::io::{Read, Write};
use std::path::Path;

use xfire_phantom::Grid;

use crate::{check_dims, fmt_err, io_err, open_regular, write_atomic, ElementType, Result, Volume};

fn dtype(code: i16) -> Option<ElementType> {
    Some(match code {
        2 => ElementType::U8,
        256 => ElementType::I8,
        4 => ElementType::I16,
        512 => ElementType::U16,
        8 => ElementType::I32,
        768 => ElementType::U32,
        16 => ElementType::F32,
        64 => ElementType::F64,
        _ => return None,
    })
}

fn code(t: ElementType) -> i16 {
    match t {
        ElementType::U8 => 2,
        ElementType::I8 => 256,
        ElementType::I16 => 4,
        ElementType::U16 => 512,
        ElementType::I32 => 8,
        ElementType::U32 => 768,
        ElementType::F32 => 16,
        ElementType::F64 => 64,
    }
}

fn is_gz(path: &Path) -> bool {
    path.to_string_lossy().to_ascii_lowercase().ends_with(".gz")
}

/// The 348-byte NIfTI-1 header and its byte order.
struct Header {
    h: [u8; 348],
    be: bool,
}

impl Header {
    /// Reads the header and checks `sizeof_hdr` (which gives the byte order) and the magic
    /// of a single-file image.
    fn read(path: &Path, reader: &mut dyn Read) -> Result<Header> {
        let mut h = [0u8; 348];
        reader
            .read_exact(&mut h)
            .map_err(|e| fmt_err(path, format!("cannot read the 348-byte NIfTI header: {e}")))?;
        let be = match (
            i32::from_le_bytes([h[0], h[1], h[2], h[3]]),
            i32::from_be_bytes([h[0], h[1], h[2], h[3]]),
        ) {
            (348, _) => false,
            (_, 348) => true,
            (x, _) => {
                return Err(fmt_err(
                    path,
                    format!("sizeof_hdr is {x}, not 348: not a NIfTI-1 file"),
                ))
            }
        };
        if &h[344..347] != b"n+1" && &h[344..347] != b"ni1" {
            return Err(fmt_err(
                path,
                "magic is not \"n+1\": not a single-file NIfTI-1 image",
            ));
        }
        if &h[344..347] == b"ni1" {
            return Err(fmt_err(
                path,
                "a two-file NIfTI (.hdr/.img) is not supported; use .nii",
            ));
        }
        Ok(Header { h, be })
    }

    fn i16_at(&self, o: usize) -> i16 {
        let b = [self.h[o], self.h[o + 1]];
        if self.be {
            i16::from_be_bytes(b)
        } else {
            i16::from_le_bytes(b)
        }
    }

    fn f32_at(&self, o: usize) -> f32 {
        let b = [self.h[o], self.h[o + 1], self.h[o + 2], self.h[o + 3]];
        if self.be {
            f32::from_be_bytes(b)
        } else {
            f32::from_le_bytes(b)
        }
    }

    /// The dimensions of a 3-D scalar image (a 4-D one with one volume), checked.
    fn dims(&self, path: &Path) -> Result<[usize; 3]> {
        let dim: Vec<i16> = (0..8).map(|k| self.i16_at(40 + 2 * k)).collect();
        let nd = dim[0];
        if !(3..=7).contains(&nd) || (4..=nd as usize).any(|k| dim[k] != 1) {
            return Err(fmt_err(
                path,
                format!(
                    "dim = {:?}: only 3-D scalar images are supported",
                    &dim[..(nd.clamp(0, 7) as usize + 1)]
                ),
            ));
        }
        check_dims(path, [dim[1] as i64, dim[2] as i64, dim[3] as i64])
    }

    /// cm per length unit of `xyzt_units` (mm when unset).
    fn cm_per_unit(&self) -> f64 {
        match self.h[123] & 0x07 {
            1 => 100.0,
            3 => 1e-4,
            _ => 0.1, // 2 = mm, 0 = unknown: assume mm
        }
    }

    /// The voxel size \[cm\] from `pixdim[1..4]` (sign dropped).
    fn voxel_cm(&self, path: &Path) -> Result<[f64; 3]> {
        let mut voxel = [0.0; 3];
        for a in 0..3 {
            let p = self.f32_at(80 + 4 * a) as f64;
            if !(p.is_finite() && p != 0.0) {
                return Err(fmt_err(
                    path,
                    format!(
                        "pixdim[{}] = {p}: voxel size must be non-zero and finite",
                        a + 1
                    ),
                ));
            }
            voxel[a] = p.abs() * self.cm_per_unit();
        }
        Ok(voxel)
    }

    /// The grid origin \[cm\] (corner of voxel 0): the sform (when `sform_code > 0`) or qform
    /// offsets are the centre of voxel (0, 0, 0).
    fn origin_cm(&self, path: &Path, voxel: [f64; 3]) -> Result<[f64; 3]> {
        let centre0 = if self.i16_at(254) > 0 {
            [self.f32_at(292), self.f32_at(308), self.f32_at(324)]
        } else if self.i16_at(252) > 0 {
            [self.f32_at(268), self.f32_at(272), self.f32_at(276)]
        } else {
            [0.0; 3]
        };
        let mut origin = [0.0; 3];
        for a in 0..3 {
            let c = centre0[a] as f64;
            if !c.is_finite() {
                return Err(fmt_err(path, format!("origin component {c} is not finite")));
            }
            origin[a] = c * self.cm_per_unit() - 0.5 * voxel[a];
        }
        Ok(origin)
    }
}

/// Read a NIfTI-1 image.
pub fn read_nifti(path: &Path) -> Result<Volume> {
    let file = open_regular(path)?;
    let mut reader: Box<dyn Read> = if is_gz(path) {
        Box::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    let h = Header::read(path, &mut reader)?;
    let d = h.dims(path)?;
    let dt = h.i16_at(70);
    let element =
        dtype(dt).ok_or_else(|| fmt_err(path, format!("datatype code {dt} is not supported")))?;
    let voxel = h.voxel_cm(path)?;
    let vox_offset = h.f32_at(108);
    if !(vox_offset.is_finite() && vox_offset >= 348.0) {
        return Err(fmt_err(
            path,
            format!("vox_offset = {vox_offset} is invalid"),
        ));
    }
    let slope = h.f32_at(112) as f64;
    let inter = h.f32_at(116) as f64;
    let origin = h.origin_cm(path, voxel)?;
    // skip to the data and read exactly what the header promises
    let skip = vox_offset as u64 - 348;
    std::io::copy(&mut (&mut reader).take(skip), &mut std::io::sink())
        .map_err(|e| fmt_err(path, format!("reading up to vox_offset: {e}")))?;
    let need = d[0] * d[1] * d[2] * element.size();
    let mut data = Vec::new();
    (&mut reader)
        .take(need as u64)
        .read_to_end(&mut data)
        .map_err(|e| fmt_err(path, format!("reading image data: {e}")))?;
    if data.len() != need {
        return Err(fmt_err(
            path,
            format!(
                "image data holds {} bytes but dim {}×{}×{} of datatype {dt} needs {need} (truncated file?)",
                data.len(),
                d[0],
                d[1],
                d[2]
            ),
        ));
    }
    let mut values = element.decode(&data, h.be);
    if slope != 0.0 && slope.is_finite() && inter.is_finite() && !(slope == 1.0 && inter == 0.0) {
        for v in &mut values {
            *v = *v * slope + inter;
        }
    }
    let grid = Grid::new(d, voxel, origin).map_err(|e| fmt_err(path, e.to_string()))?;
    Ok(Volume {
        grid,
        values,
        element,
    })
}

/// Write `volume` as a NIfTI-1 file (gzip-compressed when `path` ends in `.gz`), atomically.
pub fn write_nifti(path: &Path, volume: &Volume) -> Result<()> {
    let g = &volume.grid;
    if volume.values.len() != g.len() {
        return Err(fmt_err(
            path,
            format!(
                "{} values for a grid of {} voxels",
                volume.values.len(),
                g.len()
            ),
        ));
    }
    for (a, n) in g.dims().iter().enumerate() {
        if *n > i16::MAX as usize {
            return Err(fmt_err(
                path,
                format!(
                    "dimension {} = {n} exceeds the NIfTI-1 limit 32767",
                    ["x", "y", "z"][a]
                ),
            ));
        }
    }
    let mut h = vec![0u8; 352];
    let put_i32 = |h: &mut [u8], o: usize, v: i32| h[o..o + 4].copy_from_slice(&v.to_le_bytes());
    let put_i16 = |h: &mut [u8], o: usize, v: i16| h[o..o + 2].copy_from_slice(&v.to_le_bytes());
    let put_f32 = |h: &mut [u8], o: usize, v: f32| h[o..o + 4].copy_from_slice(&v.to_le_bytes());
    put_i32(&mut h, 0, 348);
    let dims = [3i16, g.nx as i16, g.ny as i16, g.nz as i16, 1, 1, 1, 1];
    for (k, d) in dims.iter().enumerate() {
        put_i16(&mut h, 40 + 2 * k, *d);
    }
    put_i16(&mut h, 70, code(volume.element));
    put_i16(&mut h, 72, (volume.element.size() * 8) as i16);
    let mm = [
        g.voxel_cm[0] * 10.0,
        g.voxel_cm[1] * 10.0,
        g.voxel_cm[2] * 10.0,
    ];
    let c0 = [
        (g.origin_cm[0] + 0.5 * g.voxel_cm[0]) * 10.0,
        (g.origin_cm[1] + 0.5 * g.voxel_cm[1]) * 10.0,
        (g.origin_cm[2] + 0.5 * g.voxel_cm[2]) * 10.0,
    ];
    put_f32(&mut h, 76, 1.0); // qfac
    for a in 0..3 {
        put_f32(&mut h, 80 + 4 * a, mm[a] as f32);
    }
    put_f32(&mut h, 108, 352.0);
    put_f32(&mut h, 112, 1.0);
    h[123] = 2; // mm
    put_i16(&mut h, 252, 1); // qform_code: scanner
    put_i16(&mut h, 254, 1); // sform_code
    put_f32(&mut h, 268, c0[0] as f32);
    put_f32(&mut h, 272, c0[1] as f32);
    put_f32(&mut h, 276, c0[2] as f32);
    for a in 0..3 {
        let row = 280 + 16 * a;
        put_f32(&mut h, row + 4 * a, mm[a] as f32);
        put_f32(&mut h, row + 12, c0[a] as f32);
    }
    h[344..348].copy_from_slice(b"n+1\0");
    write_with_header(path, &h, volume)
}

/// Write `volume` after the 352-byte header `h` (header + empty extension), atomically.
fn write_with_header(path: &Path, h: &[u8], volume: &Volume) -> Result<()> {
    let data = volume.element.encode(&volume.values);
    write_atomic(path, |tmp| {
        let f = std::fs::File::create(tmp).map_err(|e| io_err(path, e))?;
        let res = if is_gz(path) {
            let mut w = flate2::write::GzEncoder::new(f, flate2::Compression::new(4));
            w.write_all(h)
                .and_then(|_| w.write_all(&data))
                .and_then(|_| w.finish().map(|_| ()))
        } else {
            let mut w = std::io::BufWriter::new(f);
            w.write_all(h)
                .and_then(|_| w.write_all(&data))
                .and_then(|_| w.flush())
        };
        res.map_err(|e| io_err(path, e))
    })
}

/// Write `volume` as a NIfTI-1 file with the geometry of the NIfTI file `template`: its
/// header (voxel size, qform and sform with their rotations and axis flips, units,
/// description) is copied and only the data type, scaling and data offset replaced, so an
/// image computed on the template's voxels (a dose from an activity image) keeps the
/// template's orientation exactly. The template must have the volume's dimensions; a
/// big-endian template is refused.
pub fn write_nifti_like(path: &Path, volume: &Volume, template: &Path) -> Result<()> {
    let file = open_regular(template)?;
    let mut reader: Box<dyn Read> = if is_gz(template) {
        Box::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)))
    } else {
        Box::new(std::io::BufReader::new(file))
    };
    let mut h = vec![0u8; 352];
    reader
        .read_exact(&mut h[..348])
        .map_err(|e| fmt_err(template, format!("cannot read the NIfTI header: {e}")))?;
    if i32::from_le_bytes([h[0], h[1], h[2], h[3]]) != 348 || &h[344..347] != b"n+1" {
        return Err(fmt_err(
            template,
            "not a little-endian single-file NIfTI-1 header (template for the output geometry)",
        ));
    }
    let dim = |k: usize| i16::from_le_bytes([h[40 + 2 * k], h[41 + 2 * k]]) as i64;
    let g = &volume.grid;
    if [dim(1), dim(2), dim(3)] != [g.nx as i64, g.ny as i64, g.nz as i64] {
        return Err(fmt_err(
            template,
            format!(
                "template has dimensions {}×{}×{}, the image to write {}×{}×{}",
                dim(1),
                dim(2),
                dim(3),
                g.nx,
                g.ny,
                g.nz
            ),
        ));
    }
    if volume.values.len() != g.len() {
        return Err(fmt_err(
            path,
            format!(
                "{} values for a grid of {} voxels",
                volume.values.len(),
                g.len()
            ),
        ));
    }
    h[40..42].copy_from_slice(&3i16.to_le_bytes());
    for k in 4..8 {
        h[40 + 2 * k..42 + 2 * k].copy_from_slice(&1i16.to_le_bytes());
    }
    h[70..72].copy_from_slice(&code(volume.element).to_le_bytes());
    h[72..74].copy_from_slice(&((volume.element.size() * 8) as i16).to_le_bytes());
    h[108..112].copy_from_slice(&352f32.to_le_bytes()); // vox_offset
    h[112..116].copy_from_slice(&1f32.to_le_bytes()); // scl_slope
    h[116..120].copy_from_slice(&0f32.to_le_bytes()); // scl_inter
    h[124..132].fill(0); // cal_max, cal_min
    write_with_header(path, &h, volume)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol(element: ElementType) -> Volume {
        let grid = Grid::new([5, 4, 3], [0.1, 0.2, 0.25], [-0.25, 0.0, 1.0]).unwrap();
        Volume {
            grid,
            values: (0..60).map(|x| (x % 7) as f64).collect(),
            element,
        }
    }

    #[test]
    fn written_like_a_template_keeps_its_orientation() {
        let dir = tempfile::tempdir().unwrap();
        let t = dir.path().join("t.nii.gz");
        write_nifti(&t, &vol(ElementType::I16)).unwrap();
        // a flipped, rotated template: sform rows changed by hand
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&t).unwrap())
            .read_to_end(&mut raw)
            .unwrap();
        raw[280..284].copy_from_slice(&(-1.0f32).to_le_bytes());
        let t2 = dir.path().join("t2.nii");
        std::fs::write(&t2, &raw).unwrap();
        let mut v = vol(ElementType::F32);
        v.values.iter_mut().for_each(|x| *x *= 0.5);
        let out = dir.path().join("o.nii.gz");
        write_nifti_like(&out, &v, &t2).unwrap();
        let back = read_nifti(&out).unwrap();
        assert_eq!(back.values, v.values);
        assert_eq!(back.element, ElementType::F32);
        let mut oh = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&out).unwrap())
            .read_to_end(&mut oh)
            .unwrap();
        assert_eq!(&oh[252..344], &raw[252..344], "qform/sform copied");
        let mut small = vol(ElementType::F32);
        small.grid = Grid::new([5, 4, 2], [0.1, 0.2, 0.25], [0.0; 3]).unwrap();
        small.values.truncate(40);
        let e = write_nifti_like(&out, &small, &t2).unwrap_err().to_string();
        assert!(e.contains("5×4×3") && e.contains("5×4×2"), "{e}");
    }

    #[test]
    fn roundtrip_plain_and_gz() {
        let dir = tempfile::tempdir().unwrap();
        for (name, t) in [
            ("a.nii", ElementType::U16),
            ("b.nii.gz", ElementType::F32),
            ("c.nii", ElementType::U8),
        ] {
            let p = dir.path().join(name);
            let v = vol(t);
            write_nifti(&p, &v).unwrap();
            let r = read_nifti(&p).unwrap();
            assert_eq!(r.values, v.values);
            assert_eq!(r.element, t);
            for a in 0..3 {
                assert!((r.grid.voxel_cm[a] - v.grid.voxel_cm[a]).abs() < 1e-7);
                assert!((r.grid.origin_cm[a] - v.grid.origin_cm[a]).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.nii");
        write_nifti(&p, &vol(ElementType::F32)).unwrap();
        let b = std::fs::read(&p).unwrap();
        let w = |name: &str, bytes: &[u8]| {
            let q = dir.path().join(name);
            std::fs::write(&q, bytes).unwrap();
            read_nifti(&q).unwrap_err().to_string()
        };
        assert!(w("t.nii", &b[..b.len() - 10]).contains("truncated"));
        assert!(w("h.nii", &b[..100]).contains("header"));
        let mut c = b.clone();
        c[42..44].copy_from_slice(&30000i16.to_le_bytes());
        c[44..46].copy_from_slice(&30000i16.to_le_bytes());
        c[46..48].copy_from_slice(&30000i16.to_le_bytes());
        // 2.7e13 voxels: refused before any allocation
        assert!(w("big.nii", &c).contains("claim"));
        let mut c = b.clone();
        c[42..44].copy_from_slice(&0i16.to_le_bytes());
        assert!(w("zero.nii", &c).contains("at least 1"));
        let mut c = b.clone();
        c[84..88].copy_from_slice(&0f32.to_le_bytes());
        assert!(w("px.nii", &c).contains("pixdim[2]"));
        let mut c = b.clone();
        c[70..72].copy_from_slice(&32i16.to_le_bytes());
        assert!(w("dt.nii", &c).contains("datatype code 32"));
        assert!(w("junk.nii", &[7u8; 400]).contains("not a NIfTI"));
        // gz: corrupt stream
        let g = dir.path().join("g.nii.gz");
        write_nifti(&g, &vol(ElementType::F32)).unwrap();
        let gb = std::fs::read(&g).unwrap();
        assert!(w("g2.nii.gz", &gb[..gb.len() / 2]).contains("g2.nii.gz"));
    }
}
