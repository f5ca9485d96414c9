//! # xfire-io
//!
//! File formats for xfire phantoms, one documented layout per file
//! (`docs/formats/phantom.md`):
//!
//! * [`h5`]: the phantom HDF5 file (labels, materials, densities, cell ids, label and
//!   material tables, cell registry, source maps; chunked + deflate; h5py-friendly) and a
//!   VTKHDF ImageData export for ParaView.
//! * [`hdf5`]: the workspace's one door to HDF5 — a small writer (groups, typed datasets with
//!   shape, chunks and filters, attributes) used for `results.h5` and `kernel.h5`, and a small
//!   reader for tests. Backend: the pure-Rust `hdf5-pure`, hidden here; no other crate uses it.
//! * [`metaimage`]: MetaImage `.mhd` + `.raw` (GATE, 3D Slicer, ITK) read and write.
//! * [`nifti`]: NIfTI-1 `.nii` / `.nii.gz` read and write.
//! * [`dicom`]: DICOM image series (CT, SPECT, PET, RT Dose) read, and RT Dose written
//!   (`docs/formats/dicom.md`). Backend: the pure-Rust `dicom-rs` crates, hidden here.
//! * [`import`]: a phantom from a label image (+ optional density image) and a
//!   label → material table.
//!
//! ```no_run
//! let p = xfire_io::h5::read_phantom("til-spheroid.h5".as_ref()).unwrap();
//! println!("{} cells", p.cells.len());
//! ```
//!
//! Invariants: every writer writes to a temporary file in the destination directory and
//! renames it into place, so a failed write leaves no partial file; every reader checks
//! dimensions against the data length (and [`xfire_phantom::MAX_VOXELS`]) before allocating,
//! and errors name the file and the offending value. Readers never panic on bad input, read
//! only regular files, and allocate at most a small multiple of what the file holds (after
//! decompression); `fuzz/` checks this on every reader (`docs/formats/phantom.md`, "Errors").

// `!(x > 0.0)` is used on purpose: it also rejects NaN. Index loops over x, y, z read best.
#![allow(clippy::neg_cmp_op_on_partial_ord, clippy::needless_range_loop)]

use std::path::{Path, PathBuf};

pub mod dicom;
pub use xfire_core::fsutil;
pub mod h5;
pub mod hdf5;
pub mod import;
pub mod metaimage;
pub mod nifti;

pub use import::{import_images, ImportTable};

/// Errors of file reading and writing. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// An operating-system I/O error on a file.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// The file's content is malformed, truncated or inconsistent.
    #[error("{path}: {msg}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the offending value.
        msg: String,
    },
    /// The phantom read or built is invalid.
    #[error("{path}: {error}")]
    Phantom {
        /// The file.
        path: PathBuf,
        /// The phantom error.
        error: xfire_phantom::PhantomError,
    },
}

/// Result alias of this crate.
pub type Result<T, E = IoError> = std::result::Result<T, E>;

pub(crate) fn fmt_err(path: &Path, msg: impl Into<String>) -> IoError {
    IoError::Format {
        path: path.to_path_buf(),
        msg: msg.into(),
    }
}

pub(crate) fn io_err(path: &Path, source: std::io::Error) -> IoError {
    IoError::Io {
        path: path.to_path_buf(),
        error: source,
    }
}

/// Read a scalar image by its extension: MetaImage (`.mhd`, `.mha`) or NIfTI-1 (`.nii`,
/// `.nii.gz`), case-insensitive; any other name is an error naming the file and the formats.
pub fn read_image(path: &Path) -> Result<Volume> {
    let name = path.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".mhd") || name.ends_with(".mha") {
        metaimage::read_metaimage(path)
    } else if name.ends_with(".nii") || name.ends_with(".nii.gz") {
        nifti::read_nifti(path)
    } else {
        Err(fmt_err(
            path,
            "unknown image format (expected .mhd, .mha, .nii or .nii.gz)",
        ))
    }
}

/// Largest expansion of deflate (RFC 1951) data: a 258-byte match costs at least 2 bits, so
/// one compressed byte yields at most 1032 bytes. Bounds what a compressed input may claim.
pub const DEFLATE_MAX_RATIO: u64 = 1032;

/// Open an input file, refusing anything that is not a regular file (a device such as
/// `/dev/zero` would be read without end, a FIFO would block): checked on the path before
/// opening.
pub(crate) fn open_regular(path: &Path) -> Result<std::fs::File> {
    let meta = std::fs::metadata(path).map_err(|e| io_err(path, e))?;
    if !meta.is_file() {
        return Err(fmt_err(path, "is not a regular file"));
    }
    std::fs::File::open(path).map_err(|e| io_err(path, e))
}

/// Read a whole regular input file ([`open_regular`]): what is allocated is what it holds.
pub(crate) fn read_regular(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    open_regular(path)?
        .read_to_end(&mut out)
        .map_err(|e| io_err(path, e))?;
    Ok(out)
}

/// Write `path` through `write` on a temporary file in the same directory, then rename it
/// into place ([`fsutil::write_atomic_with`]).
pub(crate) fn write_atomic(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    fsutil::write_atomic_with(path, write, |e| io_err(path, e))
}

/// A scalar 3-D image read from or written to MetaImage / NIfTI, with its element type.
#[derive(Debug, Clone, PartialEq)]
pub struct Volume {
    /// The grid (origin = outer corner of voxel (0,0,0) \[cm\]).
    pub grid: xfire_phantom::Grid,
    /// Values, row-major (nz, ny, nx), x fastest.
    pub values: Vec<f64>,
    /// Element type in the file.
    pub element: ElementType,
}

/// Element types of image files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementType {
    /// Unsigned 8-bit integer.
    U8,
    /// Signed 8-bit integer.
    I8,
    /// Unsigned 16-bit integer.
    U16,
    /// Signed 16-bit integer.
    I16,
    /// Unsigned 32-bit integer.
    U32,
    /// Signed 32-bit integer.
    I32,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
}

impl ElementType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            ElementType::U8 | ElementType::I8 => 1,
            ElementType::U16 | ElementType::I16 => 2,
            ElementType::U32 | ElementType::I32 | ElementType::F32 => 4,
            ElementType::F64 => 8,
        }
    }

    /// Decode `bytes` (a whole number of elements) into f64 values.
    pub(crate) fn decode(self, bytes: &[u8], big_endian: bool) -> Vec<f64> {
        let s = self.size();
        let mut out = Vec::with_capacity(bytes.len() / s);
        for c in bytes.chunks_exact(s) {
            let mut b = [0u8; 8];
            b[..s].copy_from_slice(c);
            if big_endian {
                b[..s].reverse();
            }
            let v = match self {
                ElementType::U8 => b[0] as f64,
                ElementType::I8 => b[0] as i8 as f64,
                ElementType::U16 => u16::from_le_bytes([b[0], b[1]]) as f64,
                ElementType::I16 => i16::from_le_bytes([b[0], b[1]]) as f64,
                ElementType::U32 => u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
                ElementType::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
                ElementType::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64,
                ElementType::F64 => f64::from_le_bytes(b),
            };
            out.push(v);
        }
        out
    }

    /// Encode values little-endian (values are cast with Rust `as` semantics).
    pub(crate) fn encode(self, values: &[f64]) -> Vec<u8> {
        let mut out = Vec::with_capacity(values.len() * self.size());
        for &v in values {
            match self {
                ElementType::U8 => out.push(v as u8),
                ElementType::I8 => out.push(v as i8 as u8),
                ElementType::U16 => out.extend_from_slice(&(v as u16).to_le_bytes()),
                ElementType::I16 => out.extend_from_slice(&(v as i16).to_le_bytes()),
                ElementType::U32 => out.extend_from_slice(&(v as u32).to_le_bytes()),
                ElementType::I32 => out.extend_from_slice(&(v as i32).to_le_bytes()),
                ElementType::F32 => out.extend_from_slice(&(v as f32).to_le_bytes()),
                ElementType::F64 => out.extend_from_slice(&v.to_le_bytes()),
            }
        }
        out
    }
}

/// Check claimed dimensions before allocating: each ≥ 1 and the product ≤ `MAX_VOXELS`.
pub(crate) fn check_dims(path: &Path, dims: [i64; 3]) -> Result<[usize; 3]> {
    let mut out = [0usize; 3];
    let mut total: u128 = 1;
    for (a, &d) in dims.iter().enumerate() {
        if d < 1 {
            return Err(fmt_err(
                path,
                format!(
                    "dimension {} is {d}; every dimension must be at least 1",
                    ["x", "y", "z"][a]
                ),
            ));
        }
        // saturating: three i64 dimensions can overflow even u128 (found by fuzzing)
        total = total.saturating_mul(d as u128);
        out[a] = d as usize;
    }
    if total > xfire_phantom::MAX_VOXELS as u128 {
        return Err(fmt_err(
            path,
            format!(
                "dimensions {}×{}×{} claim {total} voxels, more than the supported {}",
                dims[0],
                dims[1],
                dims[2],
                xfire_phantom::MAX_VOXELS
            ),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_take_regular_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut inputs = vec![dir.path().to_path_buf()];
        // a device would be read without end (the import table and MetaImage readers read
        // whole files)
        #[cfg(unix)]
        inputs.push(PathBuf::from("/dev/zero"));
        for p in &inputs {
            let errs = [
                nifti::read_nifti(p).unwrap_err(),
                metaimage::read_metaimage(p).unwrap_err(),
                h5::read_phantom(p).unwrap_err(),
                ImportTable::read(p).unwrap_err(),
            ];
            for e in errs {
                let e = e.to_string();
                assert!(e.contains("not a regular file"), "{}: {e}", p.display());
            }
        }
    }
}
