//! Atomic file writes: a temporary name in the same directory, then `rename`.

use crate::error::{ReportError, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A temporary path beside `path` that keeps its extension (the PNG encoder picks the format
/// from the extension).
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    // Process id and a per-process counter: concurrent writers never share a temporary file.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.tmp{}-{n}{ext}", std::process::id()))
}

/// Creates `dir` (and parents) if needed.
pub(crate) fn ensure_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// Moves `tmp` onto `path`, removing `tmp` if that fails.
pub(crate) fn commit(tmp: &Path, path: &Path) -> Result<()> {
    std::fs::rename(tmp, path).map_err(|source| {
        let _ = std::fs::remove_file(tmp);
        ReportError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Writes `bytes` to `path` atomically: readers see the old file or the whole new one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    std::fs::write(&tmp, bytes).map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        ReportError::Io {
            path: tmp.clone(),
            source,
        }
    })?;
    commit(&tmp, path)
}
