//! MetaImage (`.mhd` header + `.raw` data, or `.mha` with the data after the header): the
//! format of GATE, ITK and 3D Slicer. Lengths in MetaImage are millimetres; `Offset` is the
//! centre of the first voxel. Only 3-D, single-channel images with an identity
//! `TransformMatrix` are read.

use std::io::Read;
use std::path::{Path, PathBuf};

use xfire_phantom::Grid;

use crate::{check_dims, fmt_err, io_err, read_regular, write_atomic, ElementType, Result, Volume};

fn met_type(path: &Path, s: &str) -> Result<ElementType> {
    Ok(match s {
        "MET_UCHAR" => ElementType::U8,
        "MET_CHAR" => ElementType::I8,
        "MET_USHORT" => ElementType::U16,
        "MET_SHORT" => ElementType::I16,
        "MET_UINT" | "MET_ULONG" => ElementType::U32,
        "MET_INT" | "MET_LONG" => ElementType::I32,
        "MET_FLOAT" => ElementType::F32,
        "MET_DOUBLE" => ElementType::F64,
        other => {
            return Err(fmt_err(
                path,
                format!("ElementType {other:?} is not supported (MET_UCHAR … MET_DOUBLE)"),
            ))
        }
    })
}

fn met_name(t: ElementType) -> &'static str {
    match t {
        ElementType::U8 => "MET_UCHAR",
        ElementType::I8 => "MET_CHAR",
        ElementType::U16 => "MET_USHORT",
        ElementType::I16 => "MET_SHORT",
        ElementType::U32 => "MET_UINT",
        ElementType::I32 => "MET_INT",
        ElementType::F32 => "MET_FLOAT",
        ElementType::F64 => "MET_DOUBLE",
    }
}

fn nums(path: &Path, key: &str, v: &str, n: usize) -> Result<Vec<f64>> {
    let out: Vec<f64> = v
        .split_whitespace()
        .map(|t| t.parse::<f64>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| fmt_err(path, format!("{key} = {v:?} is not a list of numbers")))?;
    if out.len() != n || out.iter().any(|x| !x.is_finite()) {
        return Err(fmt_err(
            path,
            format!("{key} = {v:?} must hold {n} finite numbers"),
        ));
    }
    Ok(out)
}

/// The header keys of a MetaImage file that the reader uses, with their defaults.
struct MetaHeader {
    ndims: i64,
    dims: Option<[i64; 3]>,
    spacing: Vec<f64>,
    offset: Vec<f64>,
    element: Option<ElementType>,
    msb: bool,
    compressed: bool,
    header_size: i64,
    data_file: Option<String>,
    /// Byte position after the header (`ElementDataFile` line included).
    data_pos: usize,
}

impl MetaHeader {
    /// Reads header lines up to and including `ElementDataFile`.
    fn parse(path: &Path, bytes: &[u8]) -> Result<MetaHeader> {
        let mut h = MetaHeader {
            ndims: 3,
            dims: None,
            spacing: vec![1.0; 3],
            offset: vec![0.0; 3],
            element: None,
            msb: false,
            compressed: false,
            header_size: 0,
            data_file: None,
            data_pos: 0,
        };
        while h.data_pos < bytes.len() && h.data_file.is_none() {
            let pos = h.data_pos;
            let end = bytes[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map(|e| pos + e + 1)
                .unwrap_or(bytes.len());
            let line = std::str::from_utf8(&bytes[pos..end])
                .map_err(|_| fmt_err(path, "header is not text"))?
                .trim();
            h.data_pos = end;
            if line.is_empty() {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| fmt_err(path, format!("header line {line:?} has no '='")))?;
            h.set(path, k.trim(), v.trim())?;
        }
        Ok(h)
    }

    /// Takes one `key = value` line; unknown keys are ignored.
    fn set(&mut self, path: &Path, k: &str, v: &str) -> Result<()> {
        match k {
            "NDims" => {
                self.ndims = v
                    .parse::<i64>()
                    .map_err(|_| fmt_err(path, format!("NDims = {v:?} is not an integer")))?
            }
            "DimSize" => {
                let d = nums(path, k, v, 3)?;
                if d.iter().any(|x| x.fract() != 0.0 || *x > i64::MAX as f64) {
                    return Err(fmt_err(path, format!("DimSize = {v:?} must be integers")));
                }
                self.dims = Some([d[0] as i64, d[1] as i64, d[2] as i64]);
            }
            "ElementSpacing" | "ElementSize" => self.spacing = nums(path, k, v, 3)?,
            "Offset" | "Origin" | "Position" => self.offset = nums(path, k, v, 3)?,
            "TransformMatrix" | "Rotation" | "Orientation" => {
                let m = nums(path, k, v, 9)?;
                let id = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
                if m.iter().zip(id).any(|(a, b)| (a - b).abs() > 1e-6) {
                    return Err(fmt_err(
                        path,
                        format!("{k} = {v:?}: only the identity orientation is supported"),
                    ));
                }
            }
            "ElementType" => self.element = Some(met_type(path, v)?),
            "ElementByteOrderMSB" | "BinaryDataByteOrderMSB" => {
                self.msb = v.eq_ignore_ascii_case("true")
            }
            "CompressedData" => self.compressed = v.eq_ignore_ascii_case("true"),
            "HeaderSize" => {
                self.header_size = v
                    .parse()
                    .map_err(|_| fmt_err(path, format!("HeaderSize = {v:?} is not an integer")))?
            }
            "ElementNumberOfChannels" if v != "1" => {
                return Err(fmt_err(
                    path,
                    format!("ElementNumberOfChannels = {v}: only 1 channel is supported"),
                ));
            }
            "ElementDataFile" => self.data_file = Some(v.to_string()),
            _ => {}
        }
        Ok(())
    }

    /// The checked dimensions, element type and data file name: a 3-D image with DimSize,
    /// ElementType, ElementDataFile and positive spacings.
    fn checked(&self, path: &Path) -> Result<([usize; 3], ElementType, &str)> {
        if self.ndims != 3 {
            return Err(fmt_err(
                path,
                format!("NDims = {}: only 3-D images are supported", self.ndims),
            ));
        }
        let dims = self
            .dims
            .ok_or_else(|| fmt_err(path, "header has no DimSize"))?;
        let element = self
            .element
            .ok_or_else(|| fmt_err(path, "header has no ElementType"))?;
        let data_file = self
            .data_file
            .as_deref()
            .ok_or_else(|| fmt_err(path, "header has no ElementDataFile"))?;
        let d = check_dims(path, dims)?;
        for (a, s) in self.spacing.iter().enumerate() {
            if !(*s > 0.0) {
                return Err(fmt_err(
                    path,
                    format!(
                        "ElementSpacing along {} is {s} mm; it must be positive",
                        ["x", "y", "z"][a]
                    ),
                ));
            }
        }
        Ok((d, element, data_file))
    }
}

/// Read a MetaImage file (`.mhd` with a separate data file, or `.mha`).
pub fn read_metaimage(path: &Path) -> Result<Volume> {
    let bytes = read_regular(path)?;
    let h = MetaHeader::parse(path, &bytes)?;
    let (d, element, data_file) = h.checked(path)?;
    let need = d[0] * d[1] * d[2] * element.size();
    let (data_path, raw): (PathBuf, Vec<u8>) = if data_file == "LOCAL" {
        (path.to_path_buf(), bytes[h.data_pos..].to_vec())
    } else {
        if data_file.contains('%') || data_file == "LIST" {
            return Err(fmt_err(
                path,
                format!("ElementDataFile = {data_file}: file lists are not supported"),
            ));
        }
        let dp = path.parent().unwrap_or(Path::new(".")).join(data_file);
        let r = read_regular(&dp)?;
        (dp, r)
    };
    let what = || {
        format!(
            "DimSize {}×{}×{} of {}",
            d[0],
            d[1],
            d[2],
            met_name(element)
        )
    };
    let data = if h.compressed {
        inflate_exact(&data_path, &raw, need, what)?
    } else {
        let skip = if h.header_size < 0 {
            raw.len().saturating_sub(need)
        } else {
            h.header_size as usize
        };
        let avail = raw.len().saturating_sub(skip);
        let exact = data_file == "LOCAL" || h.header_size != 0;
        if avail < need || (!exact && avail != need) {
            return Err(fmt_err(
                &data_path,
                format!("data holds {avail} bytes but {} needs {need}", what()),
            ));
        }
        raw[skip..skip + need].to_vec()
    };
    let s = &h.spacing;
    let hv = [s[0] * 0.1, s[1] * 0.1, s[2] * 0.1];
    let o = &h.offset;
    let origin = [
        o[0] * 0.1 - 0.5 * hv[0],
        o[1] * 0.1 - 0.5 * hv[1],
        o[2] * 0.1 - 0.5 * hv[2],
    ];
    let grid = Grid::new(d, hv, origin).map_err(|e| fmt_err(path, e.to_string()))?;
    Ok(Volume {
        grid,
        values: element.decode(&data, h.msb),
        element,
    })
}

/// Inflates zlib data that must hold exactly `need` bytes (read at most one more).
fn inflate_exact(
    data_path: &Path,
    raw: &[u8],
    need: usize,
    what: impl Fn() -> String,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(raw)
        .take(need as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| fmt_err(data_path, format!("zlib data: {e}")))?;
    if out.len() != need {
        return Err(fmt_err(
            data_path,
            format!(
                "compressed data holds {} bytes, {} needs {need}",
                out.len(),
                what()
            ),
        ));
    }
    Ok(out)
}

/// Write `volume` as `path` (`.mhd`) plus a `.raw` file with the same stem, both atomically.
pub fn write_metaimage(path: &Path, volume: &Volume) -> Result<()> {
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
    let raw_path = path.with_extension("raw");
    let raw_name = raw_path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let h = [
        g.voxel_cm[0] * 10.0,
        g.voxel_cm[1] * 10.0,
        g.voxel_cm[2] * 10.0,
    ];
    let off = [
        (g.origin_cm[0] + 0.5 * g.voxel_cm[0]) * 10.0,
        (g.origin_cm[1] + 0.5 * g.voxel_cm[1]) * 10.0,
        (g.origin_cm[2] + 0.5 * g.voxel_cm[2]) * 10.0,
    ];
    let header = format!(
        "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n\
         CompressedData = False\nTransformMatrix = 1 0 0 0 1 0 0 0 1\n\
         Offset = {} {} {}\nCenterOfRotation = 0 0 0\nAnatomicalOrientation = RAI\n\
         ElementSpacing = {} {} {}\nDimSize = {} {} {}\nElementType = {}\nElementDataFile = {}\n",
        off[0],
        off[1],
        off[2],
        h[0],
        h[1],
        h[2],
        g.nx,
        g.ny,
        g.nz,
        met_name(volume.element),
        raw_name
    );
    let data = volume.element.encode(&volume.values);
    write_atomic(&raw_path, |tmp| {
        std::fs::write(tmp, &data).map_err(|e| io_err(&raw_path, e))
    })?;
    write_atomic(path, |tmp| {
        std::fs::write(tmp, header.as_bytes()).map_err(|e| io_err(path, e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol() -> Volume {
        let grid = Grid::new([4, 3, 2], [0.2, 0.3, 0.5], [-1.0, 2.0, 0.5]).unwrap();
        Volume {
            grid,
            values: (0..24).map(|x| x as f64 * 1.5).collect(),
            element: ElementType::F32,
        }
    }

    #[test]
    fn roundtrip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.mhd");
        let v = vol();
        write_metaimage(&p, &v).unwrap();
        let r = read_metaimage(&p).unwrap();
        assert_eq!(r.values, v.values);
        for a in 0..3 {
            assert!((r.grid.voxel_cm[a] - v.grid.voxel_cm[a]).abs() < 1e-12);
            assert!((r.grid.origin_cm[a] - v.grid.origin_cm[a]).abs() < 1e-12);
        }
        assert_eq!(r.grid.dims(), v.grid.dims());
    }

    #[test]
    fn mha_local_and_compressed_big_endian() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let values: Vec<u16> = (0..24).map(|x| x * 300).collect();
        let be: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
        let head = "ObjectType = Image\nNDims = 3\nDimSize = 4 3 2\nElementSpacing = 1 1 1\n\
                    Offset = 0.5 0.5 0.5\nElementType = MET_USHORT\nBinaryDataByteOrderMSB = True\n";
        // LOCAL, uncompressed
        let p = dir.path().join("a.mha");
        let mut f = std::fs::File::create(&p).unwrap();
        f.write_all(format!("{head}ElementDataFile = LOCAL\n").as_bytes())
            .unwrap();
        f.write_all(&be).unwrap();
        drop(f);
        let v = read_metaimage(&p).unwrap();
        assert_eq!(
            v.values,
            values.iter().map(|&x| x as f64).collect::<Vec<_>>()
        );
        assert_eq!(v.grid.origin_cm, [0.0; 3]);
        // LOCAL, zlib-compressed
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(&be).unwrap();
        let zb = z.finish().unwrap();
        let p = dir.path().join("b.mha");
        let mut f = std::fs::File::create(&p).unwrap();
        f.write_all(format!("{head}CompressedData = True\nElementDataFile = LOCAL\n").as_bytes())
            .unwrap();
        f.write_all(&zb).unwrap();
        drop(f);
        assert_eq!(read_metaimage(&p).unwrap().values, v.values);
        // compressed stream that decodes to too few bytes
        let p = dir.path().join("c.mha");
        let mut f = std::fs::File::create(&p).unwrap();
        f.write_all(format!("{head}CompressedData = True\nElementDataFile = LOCAL\n").as_bytes())
            .unwrap();
        f.write_all(&zb[..zb.len() / 2]).unwrap();
        drop(f);
        assert!(read_metaimage(&p)
            .unwrap_err()
            .to_string()
            .contains("c.mha"));
    }

    #[test]
    fn bad_headers_and_data() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.mhd");
        write_metaimage(&p, &vol()).unwrap();
        let hdr = std::fs::read_to_string(&p).unwrap();
        let cases = [
            ("DimSize = 4 3 2", "DimSize = 4 3 3", "needs"),
            ("DimSize = 4 3 2", "DimSize = 400000 300000 200000", "claim"),
            // found by fuzzing: the product of three dimensions overflowed u128 (wrapped
            // to 0 in release, a panic with overflow checks)
            (
                "DimSize = 4 3 2",
                "DimSize = 4611686018427387904 4611686018427387904 16",
                "claim",
            ),
            ("DimSize = 4 3 2", "DimSize = 4 0 2", "at least 1"),
            ("DimSize = 4 3 2", "DimSize = 4 -3 2", "at least 1"),
            ("ElementSpacing = 2 3 5", "ElementSpacing = 2 -3 5", "-3"),
            (
                "ElementSpacing = 2 3 5",
                "ElementSpacing = 2 0 5",
                "positive",
            ),
            (
                "ElementType = MET_FLOAT",
                "ElementType = MET_COMPLEX",
                "MET_COMPLEX",
            ),
            (
                "ElementDataFile = d.raw",
                "ElementDataFile = missing.raw",
                "missing.raw",
            ),
        ];
        for (from, to, needle) in cases {
            assert!(hdr.contains(from), "{from}");
            let q = dir.path().join("bad.mhd");
            std::fs::write(&q, hdr.replace(from, to)).unwrap();
            let e = read_metaimage(&q).unwrap_err().to_string();
            assert!(e.contains(needle), "{needle:?} not in {e:?}");
        }
        // a device as data file would be read without end: refused, naming it
        #[cfg(unix)]
        {
            let q = dir.path().join("dev.mhd");
            std::fs::write(
                &q,
                hdr.replace("ElementDataFile = d.raw", "ElementDataFile = /dev/zero"),
            )
            .unwrap();
            let e = read_metaimage(&q).unwrap_err().to_string();
            assert!(
                e.contains("/dev/zero") && e.contains("not a regular file"),
                "{e}"
            );
        }
        // truncated raw data
        let raw = dir.path().join("d.raw");
        let b = std::fs::read(&raw).unwrap();
        std::fs::write(&raw, &b[..b.len() - 3]).unwrap();
        let e = read_metaimage(&p).unwrap_err().to_string();
        assert!(e.contains("d.raw") && e.contains("needs 96"), "{e}");
    }
}
