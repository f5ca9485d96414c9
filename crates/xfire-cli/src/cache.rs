//! `xfire cache prune DIR`: delete the transport cache of an output folder (or a cache
//! folder given with `--cache`) and say how much was freed (`docs/formats/output-folder.md`).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::outdir::{self, human_bytes, size_of, CACHE};

/// Arguments of `xfire cache`.
#[derive(Debug, clap::Args)]
#[command(
    about = "The transport cache: `xfire cache prune DIR` deletes the cache of an output folder",
    after_help = "DIR is an output folder of `xfire run` or `xfire compare` (its cache is \
DIR/cache) or a cache folder given to them with --cache. Only transport cache files \
(*.tally, and *_selfcell*.json of older versions) are deleted; results, figures and reports stay. A later run \
transports again.\n\n\
Example:\n  xfire cache prune out/"
)]
pub struct Args {
    #[command(subcommand)]
    command: Sub,
}

#[derive(Debug, clap::Subcommand)]
enum Sub {
    /// Delete the transport cache of DIR and print what was freed.
    Prune {
        /// Output folder (its cache/ is deleted) or cache folder.
        dir: PathBuf,
    },
}

/// Entry point of the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Sub::Prune { dir } => prune(&dir),
    }
}

fn tally_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let p = e?.path();
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        let cache_file = name.is_some_and(|n| {
            n.ends_with(".tally")
                || n.ends_with(".tmp")
                || (n.starts_with('.') && n.contains(".tmp-")) // xfire_io::fsutil::temp_path
                || (n.contains("_selfcell") && n.ends_with(".json"))
        });
        if cache_file && p.is_file() {
            v.push(p);
        }
    }
    Ok(v)
}

fn prune(dir: &Path) -> anyhow::Result<()> {
    if !dir.is_dir() {
        bail!("{} is not a folder", dir.display());
    }
    let sub = dir.join(CACHE);
    let cache = if sub.is_dir() { sub } else { dir.to_path_buf() };
    let files = tally_files(&cache)?;
    if files.is_empty() {
        println!("no transport cache in {}: nothing to free", dir.display());
        return Ok(());
    }
    let bytes: u64 = files.iter().map(|f| size_of(f)).sum();
    for f in &files {
        std::fs::remove_file(f).with_context(|| format!("cannot delete {}", f.display()))?;
    }
    if cache != dir && std::fs::read_dir(&cache).is_ok_and(|mut d| d.next().is_none()) {
        std::fs::remove_dir(&cache)
            .with_context(|| format!("cannot delete {}", cache.display()))?;
        outdir::forget_entry(dir, &format!("{CACHE}/"))?;
    }
    println!(
        "freed {} ({} transport cache file(s) in {})",
        human_bytes(bytes),
        files.len(),
        cache.display()
    );
    Ok(())
}
