//! `xfire compare`: one scenario with several nuclides side by side (normalised to equal
//! tumour dose, activity or decays): table on stdout, comparison.csv/json, figures and
//! report.md/html in --out. The work is in `xfire_scenario::compare`; this module parses
//! arguments, shows progress and prints. Format: `docs/formats/comparison.md`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use xfire_scenario::compare::{self, CompareOptions, Event, Normalise};
use xfire_scenario::{Options, Scenario};

use crate::outdir;

/// Arguments of `xfire compare`.
#[derive(Debug, clap::Args)]
#[command(
    about = "Compare nuclides on one scenario: tumour vs lymphocyte dose, cross-fire, dose-rate half-time, immunotherapy window",
    long_about = "Run one scenario with each of several nuclides (same phantom, binding site, \
kinetics shape, regimen, daughter rules, lymphocyte and radiobiology models; each nuclide with \
its own half-life and chain), normalised to equal mean tumour dose (default), equal \
administered activity or equal parent decays, and set the results side by side.",
    after_help = "Prints the side-by-side table and writes into --out: comparison.csv, \
comparison.json, figures (PNG + SVG) and report.md / report.html (figures embedded).\n\
Transport results are shared between nuclides whose chains have a member in common (Bi-213 \
in the Ac-225 chain and alone) and cached in OUT/cache (or --cache) as region tallies (labels, \
cells); a part whose answer needs per-voxel doses (migrating lymphocytes, the reference \
nuclide's dose slice) keeps them in memory only and is not cached, unless --full writes every \
nuclide's maps (--no-cache keeps none; `xfire cache prune OUT` deletes it afterwards). At the \
end every file and folder written is listed with its size.\n\
--out must be new, empty, or hold this comparison's results: another run's results are \
refused unless --force (docs/formats/output-folder.md). Ctrl-C stops at the next batch \
boundary; parts already transported and cached stay in the cache, and the same command \
continues from them.\n\n\
Examples:\n  xfire compare phantoms/til-spheroid-lu177.toml --out out/\n  \
xfire compare phantoms/tiny-lu177.toml --nuclides Lu-177,At-211 --normalise decays --out cmp/"
)]
pub struct Args {
    /// Scenario file (TOML, docs/formats/scenario.md); its nuclide is replaced by each one.
    pub scenario: PathBuf,
    /// Nuclides to compare, comma-separated ("Lu-177,Ac-225" or "177Lu,225Ac").
    #[arg(
        long,
        short = 'n',
        value_delimiter = ',',
        default_value = "Lu-177,Tb-161,Ac-225,Bi-213,At-211,Pb-212,Ra-223"
    )]
    pub nuclides: Vec<String>,
    /// What is held equal: tumour-dose (mean tumour-cell dose of the reference nuclide at the
    /// scenario's amount), activity (the scenario's administered activity), decays (parent
    /// decays of the reference nuclide).
    #[arg(long, default_value = "tumour-dose", value_parser = parse_normalise)]
    pub normalise: Normalise,
    /// Reference nuclide whose amount is the scenario's (default: the first of --nuclides).
    #[arg(long)]
    pub reference: Option<String>,
    /// Output folder (created if needed).
    #[arg(long, short)]
    pub out: PathBuf,
    /// Override the scenario's transport.decays (decays per transport round of each
    /// component part; the README's main job uses 40000 with --converge on the shipped nested
    /// lesion, and 40000 flags no survival figure on the TIL spheroid alone; its `xfire run`
    /// example transports 10⁶).
    #[arg(long, value_name = "N")]
    pub decays: Option<u64>,
    /// Override the scenario's transport.max_decays (cap when a target uncertainty is set,
    /// or with --converge).
    #[arg(long, value_name = "N")]
    pub max_decays: Option<u64>,
    /// Transport a nuclide whose survival figures are flagged "!" (too uncertain) again from
    /// the start with twice the decays, until none is flagged or --max-decays (default 20 ×
    /// --decays) is reached; deterministic (the same for any thread count). The README's
    /// main job uses it on the nested lesion.
    #[arg(long)]
    pub converge: bool,
    /// Override the scenario's transport.target_uncertainty (relative, e.g. 0.02 for 2 %).
    #[arg(long, value_name = "FRACTION")]
    pub target_uncertainty: Option<f64>,
    /// Override the scenario's transport.target_cell_uncertainty: stop each part when the
    /// 95th percentile of the per-cell relative dose uncertainty of the tumour cells and of
    /// the lymphocytes is at or below this (e.g. 0.05; --decays is the minimum,
    /// --max-decays the cap).
    #[arg(long, value_name = "FRACTION")]
    pub target_cell_uncertainty: Option<f64>,
    /// Also write every nuclide's full run output (results.h5, summary, figures) to
    /// OUT/NUCLIDE/.
    #[arg(long)]
    pub full: bool,
    /// Cache folder for transport results (default OUT/cache).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Do not keep the transport cache on disk (nor read one): same results, a rerun
    /// transports again.
    #[arg(long)]
    pub no_cache: bool,
    /// Replace the results of another run in --out: they are deleted whole before this
    /// comparison writes (the transport cache OUT/cache is kept; it is keyed by content).
    #[arg(long)]
    pub force: bool,
    /// Worker threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// No progress output (the table is still printed).
    #[arg(long, short, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More detail: components, steps and timings.
    #[arg(long, short)]
    pub verbose: bool,
}

fn parse_normalise(s: &str) -> Result<Normalise, String> {
    Normalise::parse(s)
}

/// Entry point of the subcommand.
pub fn run(args: Args) -> anyhow::Result<()> {
    let start = Instant::now();
    let mut scenario = Scenario::from_file(&args.scenario)?;
    let t = &mut scenario.transport;
    if let Some(d) = args.decays {
        anyhow::ensure!(d > 0, "--decays must be at least 1");
        t.decays = d;
        t.max_decays = t.max_decays.max(d);
    }
    if let Some(m) = args.max_decays {
        anyhow::ensure!(m > 0, "--max-decays must be at least 1");
        t.max_decays = m;
        t.decays = t.decays.min(m);
    }
    if let Some(u) = args.target_uncertainty {
        anyhow::ensure!(
            u > 0.0 && u < 1.0,
            "--target-uncertainty must be a fraction in (0, 1), got {u}"
        );
        t.target_uncertainty = Some(u);
    }
    if let Some(u) = args.target_cell_uncertainty {
        anyhow::ensure!(
            u > 0.0 && u < 1.0,
            "--target-cell-uncertainty must be a fraction in (0, 1), got {u}"
        );
        t.target_cell_uncertainty = Some(u);
    }
    let identity = outdir::identity(
        "compare",
        &[
            &scenario.text,
            &args.nuclides.join(","),
            &format!(
                "{:?} {:?} {} {:?} {:?} {:?}{}",
                args.normalise,
                args.reference,
                args.full,
                args.decays,
                args.max_decays,
                args.target_uncertainty,
                // only when given: folders of earlier runs keep their identity
                args.target_cell_uncertainty
                    .map(|u| format!(" cell {u}"))
                    .unwrap_or_default()
                    + if args.converge { " converge" } else { "" }
            ),
        ],
    );
    let cache_dir = (!args.no_cache).then(|| {
        args.cache
            .clone()
            .unwrap_or_else(|| args.out.join(outdir::CACHE))
    });
    // before the folder is taken: a refusal leaves it as it was
    crate::preflight::check_space(
        &args.out,
        crate::preflight::compare_bytes(&scenario, &args.nuclides, cache_dir.is_some(), args.full),
    )?;
    let out = outdir::prepare(&args.out, "compare", &identity, args.force, false)?;
    let prefix = Arc::new(Mutex::new(String::new()));
    let verbose = args.verbose;
    let quiet = args.quiet;
    let pf = prefix.clone();
    let progress = crate::common::Progress::new(quiet, prefix);
    let pr = progress.clone();
    let events: compare::EventFn = Arc::new(move |e: &Event| match e {
        Event::Nuclide {
            index,
            total,
            nuclide,
        } => {
            if let Ok(mut p) = pf.lock() {
                *p = format!("[{}/{total} {nuclide}]", index + 1);
            }
            if !quiet {
                pr.message(&format!("[{}/{total}] {nuclide}", index + 1));
            }
        }
        Event::Step(s) => {
            if verbose {
                pr.message(&format!("  {s}"));
            }
        }
        Event::Warning(w) => pr.message(&format!("warning: {w}")),
    });
    let copts = CompareOptions {
        nuclides: args.nuclides.clone(),
        normalise: args.normalise,
        reference: args.reference.clone(),
        full_output: args.full.then(|| args.out.clone()),
        events: Some(events),
        converge: args.converge,
    };
    let topts = Options {
        threads: args.threads,
        cache_dir: cache_dir.clone(),
        progress: progress.callback(),
        stop: crate::signals::stop_flag(),
        ..Options::default()
    };
    let c = compare::compare(&scenario, &copts, &topts).map_err(|e| {
        if crate::signals::requested() {
            let how = match &cache_dir {
                Some(d) => format!(
                    "parts transported so far are kept in the cache {}; the same command \
                     continues from them:\n  {}",
                    d.display(),
                    outdir::command_line()
                ),
                None => "nothing is kept (--no-cache)".to_string(),
            };
            crate::signals::interrupted(e.into(), &how)
        } else {
            out.discard_if_empty();
            anyhow::Error::from(e)
        }
    })?;
    if verbose {
        for r in &c.rows {
            eprintln!(
                "{}: transport {:.1} s, time step and self-cell tally {:.1} s, scale {:.6e}",
                r.nuclide, r.transport_wall_s, r.other_wall_s, r.scale
            );
        }
    }
    let command_line = outdir::command_line();
    let inv = compare::Invocation {
        command_line: Some(command_line),
        wall_s: Some(start.elapsed().as_secs_f64()),
        threads: Some(if args.threads > 0 {
            args.threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }),
    };
    let (_, notes) = compare::write_outputs(&args.out, &c, &scenario.text, &inv)?;
    print!("{}", compare::text_table(&c));
    for n in notes {
        eprintln!("warning: {n}");
    }
    println!("wall time {:.1} s", start.elapsed().as_secs_f64());
    crate::outdir::finish_listing(Some(out), cache_dir.as_deref())
}
