//! Checks before transport, so that a run does not fail after its work: free space of the
//! output folder against an estimate of what the run writes (the folder's writability is
//! checked by `outdir::prepare`, which writes the marker there first).

use std::path::Path;

use anyhow::bail;
use xfire_scenario::Plan;

/// Bytes per voxel of a cached part or a checkpoint (the exact per-voxel sum as a varint,
/// `docs/formats/tally.md`: at most 16, typically 10–12).
const CACHE_BYTES_PER_VOXEL: u64 = 16;
/// Bytes per voxel of a checkpoint (as a cached part).
const CHECKPOINT_BYTES_PER_VOXEL: u64 = 16;
/// Bytes of a part kept without per-voxel sums (region tallies: labels, cells, groups): an
/// upper estimate for phantoms of up to ~30 000 cells.
const REGION_PART_BYTES: u64 = 1 << 20;
/// Voxel arrays of the result files per component and in all (doses, uncertainties, maps):
/// an upper estimate.
const RESULT_ARRAYS_PER_COMPONENT: u64 = 4;
const RESULT_ARRAYS: u64 = 8;

/// Estimated bytes a run writes: `parts` transported parts of `components` components on
/// `voxels` voxels, with or without the cache (without it every finished part is kept as a
/// checkpoint until the run ends).
pub fn estimate_bytes(voxels: u64, components: u64, parts: u64, cache: bool) -> u64 {
    let per_part = if cache {
        CACHE_BYTES_PER_VOXEL
    } else {
        CHECKPOINT_BYTES_PER_VOXEL
    };
    let results = 8 * voxels * (RESULT_ARRAYS + RESULT_ARRAYS_PER_COMPONENT * components);
    voxels * (per_part * parts + CHECKPOINT_BYTES_PER_VOXEL) + results
}

/// Estimated bytes of `xfire run` on `plan`.
pub fn run_bytes(plan: &Plan, cache: bool) -> u64 {
    let components = plan.source.components().len() as u64;
    estimate_bytes(
        plan.phantom.grid.len() as u64,
        components,
        2 * components,
        cache,
    )
}

/// Free bytes for an unprivileged writer in the file system of `dir` (`None`: unknown).
#[cfg(unix)]
pub fn free_bytes(dir: &Path) -> Option<u64> {
    let s = nix::sys::statvfs::statvfs(dir).ok()?;
    #[allow(clippy::useless_conversion)] // the field types differ between platforms
    Some(u64::from(s.blocks_available()).saturating_mul(u64::from(s.fragment_size())))
}

/// Free bytes (unknown on this platform).
#[cfg(not(unix))]
pub fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}

/// Refuses to start when `dir`'s file system has less free space than `need` bytes; `dir`
/// need not exist yet (its nearest existing ancestor is asked), so the check runs before
/// the output folder is created or cleared and a refusal leaves nothing behind.
pub fn check_space(dir: &Path, need: u64) -> anyhow::Result<()> {
    let probe = dir
        .ancestors()
        .find(|a| a.exists())
        .unwrap_or(Path::new("."));
    let Some(free) = free_bytes(probe) else {
        return Ok(());
    };
    if need > free {
        bail!(
            "{} has {} free, and this run writes about {} (most of it the transport cache: \
             --no-cache keeps none, `xfire cache prune DIR` frees old ones); free space or \
             choose another --out",
            dir.display(),
            crate::outdir::human_bytes(free),
            crate::outdir::human_bytes(need)
        );
    }
    Ok(())
}

/// Voxels of the scenario's phantom, from its generator spec or its file (`None` if neither
/// can be read here: the run reports that itself).
fn phantom_voxels(s: &xfire_scenario::Scenario) -> Option<u64> {
    match &s.phantom {
        xfire_scenario::spec::PhantomSource::Spec { text, .. } => {
            let spec = xfire_phantom::Spec::from_toml(text).ok()?;
            Some(spec.grid.grid().ok()?.len() as u64)
        }
        xfire_scenario::spec::PhantomSource::File(p) => {
            Some(xfire_io::h5::read_phantom(p).ok()?.grid.len() as u64)
        }
    }
}

/// Estimated bytes of `xfire compare` of `nuclides` on scenario `s` (each chain member one
/// component of two parts; `--full` adds every nuclide's run outputs).
pub fn compare_bytes(
    s: &xfire_scenario::Scenario,
    nuclides: &[String],
    cache: bool,
    full: bool,
) -> u64 {
    let Some(voxels) = phantom_voxels(s) else {
        return 0;
    };
    let mut total = 0;
    for n in nuclides {
        let members =
            xfire_kinetics::Chain::from_library(n).map_or(1, |c| c.members().len() as u64);
        // without --full the comparison keeps per-voxel sums in memory only, and caches
        // region tallies
        total += if full {
            estimate_bytes(voxels, members, 2 * members, cache)
        } else {
            2 * members * REGION_PART_BYTES
        };
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_that_does_not_fit_is_refused_before_transport() {
        let d = tempfile::tempdir().unwrap();
        if free_bytes(d.path()).is_none() {
            return; // no statvfs on this platform: only the writability check applies
        }
        let e = check_space(d.path(), u64::MAX).unwrap_err().to_string();
        assert!(e.contains("free") && e.contains("--no-cache"), "{e}");
        assert!(check_space(d.path(), 1).is_ok());
        // a folder not created yet is checked on its parent's file system, and not created
        let out = d.path().join("new/out");
        let e = check_space(&out, u64::MAX).unwrap_err().to_string();
        assert!(e.contains("free"), "{e}");
        assert!(check_space(&out, 1).is_ok());
        assert!(!d.path().join("new").exists());
    }

    #[test]
    fn the_estimate_counts_cache_checkpoints_and_results() {
        // 4.1 M voxels (the TIL spheroid), 2 parts: cache 2 x 16 B/voxel (varint exact
        // sums), one checkpoint 16 B/voxel, results 8 B x (8 + 4) arrays
        let v = 160u64.pow(3);
        assert_eq!(
            estimate_bytes(v, 1, 2, true),
            v * (2 * 16 + 16) + 8 * v * 12
        );
        // without the cache every finished part stays as a checkpoint: the same XFTALLY4
        // file as a cached part, so the same estimate
        assert_eq!(
            estimate_bytes(v, 1, 2, false),
            estimate_bytes(v, 1, 2, true)
        );
    }
}
