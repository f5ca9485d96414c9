//! `xfire run`: a scenario end to end (transport once per source component, then kinetics,
//! lymphocytes, radiobiology and the immunotherapy window). The pipeline lives in
//! `xfire-scenario`; this module parses arguments, shows progress and prints the table.
//! Formats: `docs/formats/scenario.md`, `docs/formats/results.md`.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::outdir::{self, finish_listing};
pub use crate::run_args::Args;
use xfire_scenario::{output, Options, Plan};

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
