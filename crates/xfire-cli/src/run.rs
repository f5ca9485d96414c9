//! `xfire run`: a scenario end to end (transport once per source component, then kinetics,
//! lymphocytes, radiobiology and the immunotherapy window). The pipeline lives in
//! `xfire-scenario`; this module parses arguments, shows progress and prints the table.
//! Formats: `docs/formats/scenario.md`, `docs/formats/results.md`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::outdir;
use xfire_scenario::{output, Options, Plan};

/// Arguments of `xfire run`.
#[derive(Debug, clap::Args)]
#[command(
    about = "Run a scenario: dose to tumour cells and lymphocytes over time, lymphocyte survival and the immunotherapy window",
    after_help = "Writes results.h5, summary.json, summary.csv, figures and report.md/html into --out, and \
xfire-output.json (what wrote the folder). --out must be new, empty, or hold this run's \
results: another run's results are refused unless --force (docs/formats/output-folder.md). \
At the end every file and folder written is listed with its size.\n\
Transport results are cached (OUT/cache or --cache), keyed by the phantom, the source \
distribution, the nuclide and the transport settings: re-running with other kinetics, regimen, \
lymphocyte or radiobiology settings reuses them. The cache is most of the bytes written: \
--no-cache keeps none, `xfire cache prune OUT` deletes it afterwards.\n\
Ctrl-C (or SIGTERM) stops at the next batch boundary, writes a checkpoint and prints the \
command that resumes (--resume); the resumed run gives the bytes of an uninterrupted one.\n\nExample:\n  xfire run phantoms/til-spheroid-lu177.toml --out out/"
)]
pub struct Args {
    /// Scenario file (TOML, docs/formats/scenario.md).
    pub scenario: PathBuf,
    /// Output folder (created if needed).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Cache folder for transport results (default OUT/cache).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Do not keep the transport cache on disk (nor read one): same results, less disk
    /// (the cache is most of a run's bytes), but a rerun transports again.
    #[arg(long)]
    pub no_cache: bool,
    /// Replace the results of another run in --out: they are deleted whole before this run
    /// writes (the transport cache OUT/cache is kept; it is keyed by content).
    #[arg(long)]
    pub force: bool,
    /// Worker threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// No progress output.
    #[arg(long, short, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More detail: timings of each step.
    #[arg(long, short)]
    pub verbose: bool,
    /// Only validate the scenario and build the plan (phantom, components); no transport.
    #[arg(long)]
    pub check: bool,
    /// Run only shard K of N (0-based, e.g. 2/8): its part of every component's batches;
    /// writes part files and manifest.json into --out for `xfire merge` (docs/hpc.md).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Continue from the checkpoints in OUT/checkpoints after an interrupted run.
    #[arg(long)]
    pub resume: bool,
    /// Write a checkpoint when this much time has passed since the last ("0" = not by time).
    #[arg(long, default_value = "5 min", value_name = "TIME")]
    pub checkpoint_every: String,
    /// Also write a checkpoint every M batches (0 = not by count).
    #[arg(long, default_value_t = 0, value_name = "M")]
    pub checkpoint_batches: u64,
}

/// Entry point of the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let start = Instant::now();
    let scenario = xfire_scenario::Scenario::from_file(&args.scenario)?;
    let plan = Plan::new(scenario)?;
    if !args.quiet {
        for n in &plan.notes {
            eprintln!("{n}");
        }
        eprintln!(
            "{} source component(s): {}",
            plan.source.components().len(),
            plan.source
                .components()
                .iter()
                .map(|c| format!("{} @ {}", c.nuclide, c.site))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if args.check {
        println!("scenario {} is valid", args.scenario.display());
        return Ok(());
    }
    // before any folder is made: nested runs are transported whole, in one process
    let mpi = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"]
        .iter()
        .any(|v| std::env::var(v).is_ok_and(|n| n.trim() != "1"));
    if plan.nested.is_some() && (args.shard.is_some() || args.resume || mpi) {
        anyhow::bail!(
            "{}: a scenario with [phantom.lesion] is transported whole in one process and keeps \
             no checkpoints yet: run it without --shard, --resume or mpirun (docs/physics.md, \
             \"Sources in the lesion\")",
            if args.shard.is_some() {
                "--shard"
            } else if args.resume {
                "--resume"
            } else {
                "mpirun"
            }
        );
    }
    let kind = if args.shard.is_some() { "shard" } else { "run" };
    let identity = outdir::identity(
        kind,
        &[&plan.scenario.text, args.shard.as_deref().unwrap_or("")],
    );
    let cache_dir =
        (!args.no_cache).then(|| args.cache.clone().unwrap_or_else(|| args.out.join("cache")));
    // before the folder is taken: a refusal leaves it as it was
    crate::preflight::check_space(
        &args.out,
        crate::preflight::run_bytes(&plan, cache_dir.is_some()),
    )?;
    let out = outdir::is_main_rank()
        .then(|| outdir::prepare(&args.out, kind, &identity, args.force, args.resume))
        .transpose()?;
    let progress = crate::common::Progress::new(args.quiet, Arc::new(Mutex::new(String::new())));
    let mut opts = Options {
        threads: args.threads,
        cache_dir: cache_dir.clone(),
        progress: progress.callback(),
        stop: crate::signals::stop_flag(),
        ..Options::default()
    };
    let hpc = crate::merge::hpc_options(&args, &mut opts)?;
    #[cfg(feature = "mpi")]
    if crate::mpi_run::run(&args, &plan, &opts, &hpc)? {
        return finish_listing(out, cache_dir.as_deref());
    }
    if opts.shard.is_some() {
        crate::merge::run_shard(&args, &plan, &opts, &hpc)?;
        return finish_listing(out, cache_dir.as_deref());
    }
    let t_plan = start.elapsed().as_secs_f64();
    let tr = xfire_scenario::transport_all(&plan, &opts).map_err(|e| {
        if crate::signals::requested() {
            crate::signals::interrupted(
                e.into(),
                &format!(
                    "the work done is kept in {}; continue with:\n  {}",
                    args.out.join("checkpoints").display(),
                    crate::signals::resume_command()
                ),
            )
        } else {
            out.iter().for_each(outdir::OutDir::discard_if_empty);
            e.into()
        }
    })?;
    let t_tr = start.elapsed().as_secs_f64();
    let result = xfire_scenario::compute(&plan, &tr)?;
    let t_comp = start.elapsed().as_secs_f64();
    let (_, notes) = output::write_all(&args.out, &plan, &tr, &result)?;
    hpc.finished();
    if args.verbose {
        eprintln!(
            "times: plan {t_plan:.1} s, transport {:.1} s, time step {:.1} s ({}), output {:.1} s",
            t_tr - t_plan,
            t_comp - t_tr,
            result
                .phases
                .iter()
                .map(|(n, s)| format!("{n} {s:.1}"))
                .collect::<Vec<_>>()
                .join(", "),
            start.elapsed().as_secs_f64() - t_comp
        );
    }
    let cached = tr
        .iter()
        .flat_map(|c| &c.parts)
        .filter(|p| p.from_cache)
        .count();
    let parts = tr.iter().map(|c| c.parts.len()).sum::<usize>();
    print!("{}", output::short_table(&result));
    for n in tr
        .iter()
        .flat_map(|c| &c.parts)
        .filter_map(|p| p.cache_note.as_ref())
    {
        eprintln!("note: {n}");
    }
    for n in notes {
        eprintln!("note: {n}");
    }
    println!(
        "transport: {parts} part(s), {cached} from the cache; wall time {:.1} s",
        start.elapsed().as_secs_f64(),
    );
    finish_listing(out, cache_dir.as_deref())
}

/// Marks the output folder complete and prints what it holds, with sizes.
pub fn finish_listing(
    out: Option<outdir::OutDir>,
    cache: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let Some(out) = out else { return Ok(()) };
    let dir = out.path().to_path_buf();
    let entries = out.finish()?;
    print!("{}", outdir::listing(&dir, &entries, cache));
    Ok(())
}
