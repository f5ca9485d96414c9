//! Figures' and reports' file writes through the project's one atomic write
//! ([`xfire_core::fsutil`]), with this crate's errors.

use crate::error::{ReportError, Result};
use std::path::Path;

/// Creates `dir` (and parents) if needed.
pub(crate) fn ensure_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// Writes `path` atomically through `write`, given a temporary path with `path`'s extension
/// (the PNG encoder picks the format from it); its errors pass through, I/O errors of the
/// temporary file, fsync and rename name `path`.
pub(crate) fn write_atomic_with_extension(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<()>,
) -> Result<()> {
    xfire_core::fsutil::write_atomic_with_extension(path, write, |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `bytes` to `path` atomically: readers see the old file or the whole new one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    xfire_core::fsutil::write_atomic(path, bytes).map_err(|source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    })
}
