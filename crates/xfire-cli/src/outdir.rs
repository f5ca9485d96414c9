//! Output folders that never mix runs (`docs/formats/output-folder.md`).
//!
//! Every command that writes a result folder (`run`, `compare`, `kernel`, `merge`) first calls
//! [`prepare`]: the folder must be new, empty, or hold `xfire-output.json` — the marker xfire
//! writes there, recording the command, what defines the results (a hash of the scenario text
//! and settings) and, once complete, every entry written with its size. A folder holding
//! another run's results is refused unless `--force`, which deletes that run's outputs whole
//! (the content-keyed transport cache `cache/` is kept); a folder with files xfire did not
//! write is always refused. The same run again replaces its own outputs; an interrupted run
//! continues only with `--resume`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

/// File name of the marker.
pub const MARKER: &str = "xfire-output.json";
/// Sub-folder of the transport cache (kept by `--force`: its entries are keyed by content).
pub const CACHE: &str = "cache";

/// One entry (file or folder) at the top of an output folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Name relative to the folder (folders end with `/`).
    pub path: String,
    /// Bytes (a folder: all files below it).
    pub bytes: u64,
}

/// Contents of `xfire-output.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Marker {
    /// `"xfire-output"`.
    pub format: String,
    /// 1.
    pub format_version: u32,
    /// Version of the xfire that wrote the folder.
    pub xfire_version: String,
    /// `run`, `shard`, `compare`, `kernel` or `merge`.
    pub kind: String,
    /// 64-bit FNV-1a hash (hex) of what defines the results: scenario text and settings.
    pub identity: String,
    /// The command line.
    pub command: String,
    /// The run finished and wrote all its outputs.
    pub complete: bool,
    /// Entries written, with sizes (when complete).
    pub files: Vec<Entry>,
}

/// An output folder checked by [`prepare`]; [`OutDir::finish`] records what was written.
pub struct OutDir {
    dir: PathBuf,
    marker: Marker,
    /// [`prepare`] created the folder (it did not exist).
    created: bool,
}

/// The command line as typed (arguments with spaces quoted).
pub fn command_line() -> String {
    std::env::args()
        .map(|a| if a.contains(' ') { format!("'{a}'") } else { a })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The identity hash of a result: `kind` and the texts that define it.
pub fn identity(kind: &str, parts: &[&str]) -> String {
    let mut s = String::from(kind);
    for p in parts {
        s.push('\u{1f}');
        s.push_str(p);
    }
    xfire_scenario::shard::text_hash(&s)
}

fn read_marker(dir: &Path) -> anyhow::Result<Option<Marker>> {
    let path = dir.join(MARKER);
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let m: Marker = serde_json::from_str(&text).with_context(|| {
        format!(
            "{} is not an xfire output marker; remove it or choose another folder",
            path.display()
        )
    })?;
    Ok(Some(m))
}

fn entries(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let p = e?.path();
        if p.file_name().is_some_and(|n| n != MARKER) {
            v.push(p);
        }
    }
    v.sort();
    Ok(v)
}

/// Checks `dir` for a result of `kind` with `identity` and makes it ready (see the module
/// documentation); nothing is created or deleted when it is refused.
pub fn prepare(
    dir: &Path,
    kind: &str,
    identity: &str,
    force: bool,
    resume: bool,
) -> anyhow::Result<OutDir> {
    let marker = Marker {
        format: "xfire-output".into(),
        format_version: 1,
        xfire_version: env!("CARGO_PKG_VERSION").into(),
        kind: kind.into(),
        identity: identity.into(),
        command: command_line(),
        complete: false,
        files: vec![],
    };
    let mut out = OutDir {
        dir: dir.to_path_buf(),
        marker,
        created: false,
    };
    if dir.exists() && !dir.is_dir() {
        bail!("--out {} exists and is not a folder", dir.display());
    }
    if !dir.exists() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create output folder {}", dir.display()))?;
        out.created = true;
        out.write_marker()?;
        return Ok(out);
    }
    let old = read_marker(dir)?;
    let present = entries(dir)?;
    let Some(old) = old else {
        if !present.is_empty() {
            bail!(
                "output folder {} is not empty and was not written by xfire (no {MARKER}: \
                 not xfire's, or from an older xfire that wrote none; it holds {}). \
                 xfire neither mixes its results with other files nor deletes files it did not \
                 write: choose a new or empty folder",
                dir.display(),
                names(&present)
            );
        }
        if resume {
            eprintln!(
                "note: {} is empty: nothing to resume, starting from the beginning",
                dir.display()
            );
        }
        out.write_marker()?;
        return Ok(out);
    };
    let same = old.kind == kind && old.identity == identity;
    let held = format!(
        "output folder {} holds the {} results of `{}`",
        dir.display(),
        if old.complete {
            "complete"
        } else {
            "unfinished"
        },
        old.command
    );
    if resume {
        if !same {
            bail!("{held}, another run: --resume continues only the same run (same command and scenario) in its own folder");
        }
        out.write_marker()?;
        return Ok(out);
    }
    if !same && !force {
        bail!(
            "{held}, not of this run. Choose another --out, or add --force to delete those \
             results and write these (the transport cache {CACHE}/ is kept)"
        );
    }
    if same && !old.complete && !force && has_checkpoints(dir) {
        bail!(
            "{held}, this run interrupted: continue it with --resume, or start afresh with --force"
        );
    }
    for p in &present {
        if p.file_name().is_some_and(|n| n == CACHE) {
            continue;
        }
        let r = if p.is_dir() {
            std::fs::remove_dir_all(p)
        } else {
            std::fs::remove_file(p)
        };
        r.with_context(|| format!("cannot remove old output {}", p.display()))?;
    }
    out.write_marker()?;
    Ok(out)
}

/// `dir/checkpoints` holds something to resume from (an unfinished run without checkpoints,
/// such as an interrupted `compare` or a run that failed, is simply redone).
fn has_checkpoints(dir: &Path) -> bool {
    std::fs::read_dir(dir.join("checkpoints")).is_ok_and(|mut d| d.next().is_some())
}

fn names(paths: &[PathBuf]) -> String {
    let mut v: Vec<String> = paths
        .iter()
        .take(5)
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    if paths.len() > 5 {
        v.push(format!("and {} more", paths.len() - 5));
    }
    v.join(", ")
}

/// Bytes of all files at or below `p`.
pub fn size_of(p: &Path) -> u64 {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::read_dir(p)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| size_of(&e.path()))
            .sum(),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

impl OutDir {
    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn write_marker(&self) -> anyhow::Result<()> {
        let path = self.dir.join(MARKER);
        let text = serde_json::to_string_pretty(&self.marker)?;
        xfire_scenario::shard::write_atomic(&path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// After a failure (bad input found once the folder was taken): removes the folder when
    /// [`prepare`] created it and nothing but the marker and empty sub-folders is in it, so an
    /// error leaves no output folder behind. A folder with work in it (cache, checkpoints) is
    /// kept: the same command continues from it.
    pub fn discard_if_empty(&self) {
        if !self.created {
            return;
        }
        for p in entries(&self.dir).unwrap_or_default() {
            if !p.is_dir() || std::fs::remove_dir(&p).is_err() {
                return;
            }
        }
        let _ = std::fs::remove_file(self.dir.join(MARKER));
        let _ = std::fs::remove_dir(&self.dir);
    }

    /// Records every entry of the folder with its size and marks the result complete;
    /// returns the entries.
    pub fn finish(mut self) -> anyhow::Result<Vec<Entry>> {
        let mut files = Vec::new();
        for p in entries(&self.dir)? {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let slash = if p.is_dir() { "/" } else { "" };
            files.push(Entry {
                path: format!("{name}{slash}"),
                bytes: size_of(&p),
            });
        }
        self.marker.complete = true;
        self.marker.files = files.clone();
        self.write_marker()?;
        files.push(Entry {
            path: MARKER.into(),
            bytes: size_of(&self.dir.join(MARKER)),
        });
        Ok(files)
    }
}

/// This process writes the output folder: a single process, or rank 0 under `mpirun` (the
/// other ranks keep their shard files under `OUT/mpi` and leave the folder to rank 0).
pub fn is_main_rank() -> bool {
    ["OMPI_COMM_WORLD_RANK", "PMI_RANK", "PMIX_RANK"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .all(|r| r.trim() == "0")
}

/// `bytes` with a binary-free SI unit, three significant digits ("2.13 GB", "812 B").
pub fn human_bytes(bytes: u64) -> String {
    let b = bytes as f64;
    match [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")]
        .iter()
        .find(|(f, _)| b >= *f)
    {
        Some((f, u)) => {
            let v = b / f;
            let d = if v >= 100.0 {
                0
            } else if v >= 10.0 {
                1
            } else {
                2
            };
            format!("{v:.d$} {u}")
        }
        None => format!("{bytes} B"),
    }
}

/// The final list of an output folder: every entry with its size, the total, the share of
/// the transport cache and how to free it; `cache` is the cache folder when it lies outside.
pub fn listing(dir: &Path, entries: &[Entry], cache: Option<&Path>) -> String {
    let total: u64 = entries.iter().map(|e| e.bytes).sum();
    let width = entries
        .iter()
        .map(|e| e.path.len())
        .max()
        .unwrap_or(0)
        .max(8);
    let mut s = format!(
        "written to {} ({} in all):\n",
        dir.display(),
        human_bytes(total)
    );
    for e in entries {
        let note = if e.path == format!("{CACHE}/") {
            format!(
                "  transport cache ({:.1} %): reused by reruns; `xfire cache prune {}` deletes it",
                100.0 * e.bytes as f64 / total.max(1) as f64,
                dir.display()
            )
        } else if e.path == MARKER {
            "  what wrote this folder".to_string()
        } else {
            String::new()
        };
        s.push_str(&format!(
            "  {:<width$} {:>9}{note}\n",
            e.path,
            human_bytes(e.bytes)
        ));
    }
    if let Some(c) = cache.filter(|c| !c.starts_with(dir) && c.exists()) {
        s.push_str(&format!(
            "transport cache {}: {} (`xfire cache prune {}` deletes it)\n",
            c.display(),
            human_bytes(size_of(c)),
            c.display()
        ));
    }
    s
}

/// Drops `entry` from the list of a complete output folder's marker (after it was deleted).
pub fn forget_entry(dir: &Path, entry: &str) -> anyhow::Result<()> {
    let Some(mut marker) = read_marker(dir)? else {
        return Ok(());
    };
    marker.files.retain(|e| e.path != entry);
    let out = OutDir {
        dir: dir.to_path_buf(),
        marker,
        created: false,
    };
    out.write_marker()
}

/// Marks the output folder complete and prints what it holds, with sizes.
pub fn finish_listing(out: Option<OutDir>, cache: Option<&std::path::Path>) -> anyhow::Result<()> {
    let Some(out) = out else { return Ok(()) };
    let dir = out.path().to_path_buf();
    let entries = out.finish()?;
    print!("{}", listing(&dir, &entries, cache));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unfinished_run_is_refused_only_when_it_has_checkpoints() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("out");
        // an interrupted `compare` (no checkpoints): the same command takes the folder again
        prepare(&dir, "compare", "id", false, false).unwrap();
        std::fs::write(dir.join("comparison.csv"), "old").unwrap();
        prepare(&dir, "compare", "id", false, false).unwrap();
        assert!(!dir.join("comparison.csv").exists(), "old outputs replaced");
        // another run's unfinished folder: still refused
        let e = prepare(&dir, "compare", "other", false, false)
            .err()
            .unwrap();
        assert!(format!("{e:#}").contains("not of this run"), "{e:#}");
        // a run with checkpoints: refused without --resume or --force
        std::fs::create_dir(dir.join("checkpoints")).unwrap();
        std::fs::write(dir.join("checkpoints/a.ckpt"), "x").unwrap();
        let e = prepare(&dir, "compare", "id", false, false).err().unwrap();
        assert!(format!("{e:#}").contains("--resume"), "{e:#}");
        prepare(&dir, "compare", "id", false, true).unwrap();
        assert!(
            dir.join("checkpoints/a.ckpt").exists(),
            "--resume keeps them"
        );
        prepare(&dir, "compare", "id", true, false).unwrap();
        assert!(!dir.join("checkpoints").exists(), "--force starts afresh");
    }

    #[test]
    fn a_failure_removes_only_a_folder_it_created_with_nothing_in_it() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("out");
        let out = prepare(&dir, "run", "id", false, false).unwrap();
        std::fs::create_dir(dir.join(CACHE)).unwrap();
        out.discard_if_empty();
        assert!(!dir.exists(), "marker-only folder left after an error");
        // work in it: kept
        let out = prepare(&dir, "run", "id", false, false).unwrap();
        std::fs::create_dir(dir.join(CACHE)).unwrap();
        std::fs::write(dir.join(CACHE).join("a.tally"), "x").unwrap();
        out.discard_if_empty();
        assert!(dir.join(CACHE).join("a.tally").exists());
        // a folder that was there before: kept
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::create_dir(&dir).unwrap();
        let out = prepare(&dir, "run", "id", false, false).unwrap();
        out.discard_if_empty();
        assert!(dir.join(MARKER).exists());
    }
}
