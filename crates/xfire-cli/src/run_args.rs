//! The arguments of `xfire run`, apart from the command itself, so that the HPC paths
//! (`merge`, `mpi_run`) read them without depending on `run`, which calls them.

use std::path::PathBuf;

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
