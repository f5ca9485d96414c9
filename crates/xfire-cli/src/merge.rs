//! `xfire merge` and the HPC options of `xfire run` (`--shard`, `--resume`, checkpoints):
//! argument handling only; the logic lives in `xfire_scenario::shard` (docs/hpc.md,
//! docs/formats/shard.md).

use std::path::PathBuf;

use anyhow::Context;
use xfire_scenario::shard::{self, Checkpointing, ShardOut, ShardSpec};
use xfire_scenario::{output, Options, Plan, Scenario};

/// Arguments of `xfire merge`.
#[derive(Debug, clap::Args)]
#[command(
    about = "Merge the shards of a run (xfire run --shard K/N) into the result of the single run",
    after_help = "Checks that the folders are shards 0..N-1 of one run (same xfire version, \
scenario, seed, phantom and transport settings; no shard missing or given twice), adds their \
tallies exactly and runs the time step: results.h5, summary.json and summary.csv are \
byte-identical to those of the unsharded run.\n\nExample:\n  \
xfire merge shards/0 shards/1 shards/2 --out merged/"
)]
pub struct Args {
    /// Shard folders (each written by `xfire run SCENARIO --shard K/N --out DIR`).
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Output folder (created if needed).
    #[arg(long, short)]
    pub out: PathBuf,
    /// The scenario file, when it moved since the shards were run (its text must be the same).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// No messages but errors and the result table.
    #[arg(long, short)]
    pub quiet: bool,
    /// Replace the results of another run in --out (deleted whole before the merge writes).
    #[arg(long)]
    pub force: bool,
}

/// What `xfire run` must do after a successful run.
pub struct Hpc {
    checkpoints: Option<PathBuf>,
}

impl Hpc {
    /// The run is complete: its checkpoints are no longer needed.
    pub fn finished(&self) {
        if let Some(d) = &self.checkpoints {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// Fills the shard and checkpoint options of `xfire run` from its arguments.
pub fn hpc_options(args: &crate::run_args::Args, opts: &mut Options) -> anyhow::Result<Hpc> {
    if let Some(s) = &args.shard {
        let spec = ShardSpec::parse(s).map_err(anyhow::Error::msg)?;
        opts.shard = Some(ShardOut {
            spec,
            dir: args.out.clone(),
        });
    }
    let every_s = if args.checkpoint_every.trim() == "0" {
        0.0
    } else {
        xfire_core::units::parse_time_s(&args.checkpoint_every)
            .with_context(|| format!("--checkpoint-every {:?}", args.checkpoint_every))?
    };
    let dir = args.out.join("checkpoints");
    if args.resume && !args.quiet {
        let mut found = 0;
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if e.path().extension().is_some_and(|x| x == "ckpt") {
                if let Ok((h, _)) = shard::read_part(&e.path()) {
                    found += 1;
                    eprintln!(
                        "resuming {} @ {} ({}) from checkpoint: {} of batches {}..{} done{}",
                        h.nuclide,
                        h.site,
                        h.part,
                        h.next_batch - h.first_batch,
                        h.first_batch,
                        h.end_batch,
                        if h.complete() { " (complete)" } else { "" }
                    );
                }
            }
        }
        if found == 0 {
            eprintln!(
                "note: no checkpoints in {}; starting from the beginning",
                dir.display()
            );
        }
    }
    let on = every_s > 0.0 || args.checkpoint_batches > 0 || args.resume;
    opts.checkpoint = on.then(|| Checkpointing {
        dir: dir.clone(),
        every_batches: args.checkpoint_batches,
        every_s,
        resume: args.resume,
    });
    Ok(Hpc {
        checkpoints: on.then_some(dir),
    })
}

/// `xfire run --shard K/N`: transport of the shard's batches, part files and manifest.
pub fn run_shard(
    args: &crate::run_args::Args,
    plan: &Plan,
    opts: &Options,
    hpc: &Hpc,
) -> anyhow::Result<()> {
    let out = opts.shard.as_ref().expect("a shard run");
    std::fs::create_dir_all(&out.dir)
        .with_context(|| format!("cannot create {}", out.dir.display()))?;
    let tr = xfire_scenario::transport_all(plan, opts)?;
    let m = shard::write_manifest(plan, &args.scenario, out, &tr)?;
    hpc.finished();
    println!(
        "shard {}: {} part(s), batches {}..{} of {}; merge all {} shards with `xfire merge DIR... --out DIR` ({})",
        out.spec,
        m.parts.len(),
        m.parts.first().map_or(0, |p| p.first_batch),
        m.parts.first().map_or(0, |p| p.end_batch),
        m.parts.first().map_or(0, |p| p.total_batches),
        out.spec.count,
        out.dir.join("manifest.json").display()
    );
    Ok(())
}

/// Entry point of `xfire merge`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let ms = args
        .shards
        .iter()
        .map(|d| shard::read_manifest(d))
        .collect::<Result<Vec<_>, _>>()?;
    let shards = shard::check_manifests(&args.shards, ms)?;
    let m0 = &shards[0].1;
    let path = args
        .scenario
        .clone()
        .unwrap_or_else(|| PathBuf::from(&m0.scenario_path));
    let scenario = Scenario::from_file(&path)
        .with_context(|| format!("scenario of the shards ({})", path.display()))?;
    let plan = Plan::new(scenario)?;
    let identity = crate::outdir::identity("merge", &[&plan.scenario.text]);
    let out = crate::outdir::prepare(&args.out, "merge", &identity, args.force, false)?;
    merge_into(&plan, &shards, &args.out, args.quiet)?;
    crate::outdir::finish_listing(Some(out), None)
}

/// Adds validated shards of `plan` and writes the result files into `out`.
pub fn merge_into(
    plan: &Plan,
    shards: &[(PathBuf, shard::ShardManifest)],
    out: &std::path::Path,
    quiet: bool,
) -> anyhow::Result<()> {
    let tr = shard::merge_shards(plan, shards)?;
    let result = xfire_scenario::compute(plan, &tr)?;
    let (files, notes) = output::write_all(out, plan, &tr, &result)?;
    print!("{}", output::short_table(&result));
    if !quiet {
        for n in notes {
            eprintln!("note: {n}");
        }
    }
    println!(
        "merged {} shards ({} decays per part); files: {}",
        shards.len(),
        tr.first()
            .and_then(|c| c.parts.first())
            .map_or(0, |p| p.tally.decays),
        files
            .iter()
            .map(|f| f.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
