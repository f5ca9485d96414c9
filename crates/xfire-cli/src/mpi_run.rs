//! `mpirun -n R xfire run ...` (cargo feature `mpi`): rank r runs shard r/R of every part,
//! sends its part files to rank 0, which merges them exactly and writes the result files —
//! the bytes of a single process (docs/hpc.md). No shared file system is needed: rank r
//! writes its shard under `OUT/mpi/rank_r` on its own node, rank 0 writes what it receives
//! under its `OUT/mpi/rank_r` and removes `OUT/mpi` after the merge.

use std::path::PathBuf;

use anyhow::Context;
use mpi::traits::{Communicator, Destination, Source};
use xfire_scenario::shard::{self, ShardOut, ShardSpec};
use xfire_scenario::{Options, Plan};

/// Runs the scenario over the MPI ranks when there are several; returns false (nothing done)
/// in a single process.
pub fn run(
    args: &crate::run_args::Args,
    plan: &Plan,
    opts: &Options,
    hpc: &crate::merge::Hpc,
) -> anyhow::Result<bool> {
    let Some(universe) = mpi::initialize() else {
        return Ok(false);
    };
    let world = universe.world();
    let (rank, size) = (world.rank(), world.size());
    if size < 2 {
        return Ok(false);
    }
    if opts.shard.is_some() {
        anyhow::bail!("--shard cannot be combined with mpirun: every rank is a shard");
    }
    let root = args.out.join("mpi");
    let dir = root.join(format!("rank_{rank}"));
    let mut o = opts.clone();
    o.shard = Some(ShardOut {
        spec: ShardSpec {
            index: rank as u64,
            count: size as u64,
        },
        dir: dir.clone(),
    });
    if rank != 0 {
        o.progress = None;
    }
    let out = o.shard.as_ref().expect("set");
    // a failure on one rank must not leave the others waiting: every rank reports to rank 0
    let done: anyhow::Result<Vec<(String, Vec<u8>)>> = (|| {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let tr = xfire_scenario::transport_all(plan, &o)?;
        let m = shard::write_manifest(plan, &args.scenario, out, &tr)?;
        let mut files = vec!["manifest.json".to_string()];
        files.extend(m.parts.iter().map(|p| p.file.clone()));
        files
            .into_iter()
            .map(|f| {
                let b = std::fs::read(dir.join(&f))
                    .with_context(|| format!("cannot read {}", dir.join(&f).display()))?;
                Ok((f, b))
            })
            .collect()
    })();
    if rank != 0 {
        let p0 = world.process_at_rank(0);
        match &done {
            Ok(files) => {
                p0.send(&(files.len() as u64));
                for (name, bytes) in files {
                    p0.send(name.as_bytes());
                    p0.send(&bytes[..]);
                }
            }
            Err(e) => {
                p0.send(&u64::MAX);
                p0.send(format!("{e:#}").as_bytes());
            }
        }
        done?;
        return Ok(true);
    }
    let mut errors = Vec::new();
    if let Err(e) = &done {
        errors.push(format!("rank 0: {e:#}"));
    }
    let mut dirs: Vec<PathBuf> = vec![dir];
    for r in 1..size {
        let pr = world.process_at_rank(r);
        let (n, _) = pr.receive::<u64>();
        if n == u64::MAX {
            let (msg, _) = pr.receive_vec::<u8>();
            errors.push(format!("rank {r}: {}", String::from_utf8_lossy(&msg)));
            continue;
        }
        let d = root.join(format!("rank_{r}"));
        std::fs::create_dir_all(&d).with_context(|| format!("cannot create {}", d.display()))?;
        for _ in 0..n {
            let (name, _) = pr.receive_vec::<u8>();
            let (bytes, _) = pr.receive_vec::<u8>();
            let name = String::from_utf8_lossy(&name).into_owned();
            if name.contains('/') || name.contains("..") {
                anyhow::bail!("rank {r} sent a bad file name {name:?}");
            }
            shard::write_atomic(&d.join(&name), &bytes)
                .with_context(|| format!("cannot write {}", d.join(&name).display()))?;
        }
        dirs.push(d);
    }
    if !errors.is_empty() {
        anyhow::bail!("MPI run failed:\n  {}", errors.join("\n  "));
    }
    let ms = dirs
        .iter()
        .map(|d| shard::read_manifest(d))
        .collect::<Result<Vec<_>, _>>()?;
    let shards = shard::check_manifests(&dirs, ms)?;
    crate::merge::merge_into(plan, &shards, &args.out, args.quiet)?;
    let _ = std::fs::remove_dir_all(&root);
    hpc.finished();
    Ok(true)
}
