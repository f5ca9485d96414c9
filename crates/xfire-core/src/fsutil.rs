//! The project's one atomic file write: the content goes to a temporary file in the same
//! folder, is flushed to disk (fsync) and renamed onto the final name, so a reader (or a run
//! killed at any moment) sees the old file or the whole new one, never a torn one; on any
//! error the temporary file is removed and the final name is untouched. Used for every file
//! xfire writes (phantoms and images here, results, summaries, comparison tables, kernel
//! files, checkpoints, shard parts, the transport cache, figures and reports). It lives in
//! `xfire-core` so that every crate, `xfire-report` included, uses this one.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A temporary path next to `path` (same folder, so the rename is atomic), unique per process
/// and call: `.NAME.tmp-PID-N` (no extension of its own: folder scans by extension, such as
/// checkpoints or shard parts, never take it for a finished file).
pub fn temp_path(path: &Path) -> PathBuf {
    temp_name(path, "")
}

fn temp_name(path: &Path, suffix: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.tmp-{}-{n}{suffix}", std::process::id()))
}

/// Writes `path` atomically through `write`, which writes the temporary file it is given;
/// I/O errors of the temporary file, fsync and rename become `E` through `io`.
pub fn write_atomic_with<E>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
    io: impl FnOnce(std::io::Error) -> E,
) -> Result<(), E> {
    write_through(&temp_path(path), path, write, io)
}

/// As [`write_atomic_with`], the temporary file keeping `path`'s extension
/// (`.NAME.tmp-PID-N.EXT`), for an encoder that picks its format from it (PNG figures).
pub fn write_atomic_with_extension<E>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
    io: impl FnOnce(std::io::Error) -> E,
) -> Result<(), E> {
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    write_through(&temp_name(path, &ext), path, write, io)
}

/// `write` to `tmp`, fsync, rename onto `path`; `tmp` removed on any error.
fn write_through<E>(
    tmp: &Path,
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
    io: impl FnOnce(std::io::Error) -> E,
) -> Result<(), E> {
    let res = match write(tmp) {
        Ok(()) => std::fs::File::open(tmp)
            .and_then(|f| f.sync_all())
            .and_then(|()| std::fs::rename(tmp, path))
            .map_err(io),
        Err(e) => Err(e),
    };
    if res.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    res
}

/// Writes `bytes` to `path` atomically (see the module doc).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_with(
        path,
        |tmp| std::fs::File::create(tmp).and_then(|mut f| f.write_all(bytes)),
        |e| e,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_leaves_nothing_on_error() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let e: Result<(), String> = write_atomic_with(
            &p,
            |tmp| {
                std::fs::write(tmp, b"half").unwrap();
                Err("failed".to_string())
            },
            |e| e.to_string(),
        );
        assert_eq!(e.unwrap_err(), "failed");
        assert_eq!(std::fs::read(&p).unwrap(), b"two", "the old file stays");
        let left: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left");
        // a folder that does not exist: an error, nothing written
        assert!(write_atomic(&d.path().join("no/such/x"), b"x").is_err());
    }
}
