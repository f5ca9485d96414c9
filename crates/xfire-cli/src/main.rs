//! `xfire`: the command-line front end. Each subcommand lives in its own module with an
//! `Args` struct and a `run` function; this file only dispatches. Logic a library user
//! would need belongs in the library crates, not here.

use clap::{CommandFactory, Parser, Subcommand};

mod cache;
mod chain;
mod common;
mod compare;
mod completions;
mod dose;
mod kernel;
mod merge;
#[cfg(feature = "mpi")]
mod mpi_run;
mod nuclide;
mod outdir;
mod phantom;
mod preflight;
mod range;
mod run;
mod run_args;
mod signals;
mod svalue;

#[derive(Parser)]
#[command(
    name = "xfire",
    version,
    about = "Radiation dose to tumour cells and lymphocytes from radioligand therapy",
    long_about = "xfire tracks alpha particles, electrons and photons from radionuclide decays \
through voxel phantoms, from micrometre cells to millimetre patient voxels, and reports \
absorbed dose to tumour and lymphocyte voxels over time.",
    after_help = "Start here:\n  xfire compare phantoms/til-spheroid-lu177.toml --decays 40000 --out out/compare   \
# seven nuclides side by side\n  xfire run phantoms/til-spheroid-lu177.toml --out run/   \
# one scenario in full\n  xfire nuclide show Lu-177\n\nEach command has its own --help. Shell completions: \
xfire completions bash|zsh|fish. Formats: docs/formats/."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decay chain of a radionuclide: activity of every member at given times and
    /// cumulated decays from 0 to each time (exact Bateman solution with branching).
    Chain(chain::Args),
    /// Dose from activity images (one or several time points) with an optional CT and
    /// labels: voxel S-value convolution, Monte Carlo or hybrid; dose.nii.gz, DVH, summary.
    Dose(dose::Args),
    /// Dose point kernel or voxel S-values of a nuclide or particle in a homogeneous medium
    /// (electrons: CSDA straight-line or condensed history; photons transported).
    Kernel(kernel::Args),
    /// Radionuclide data from ICRP Publication 107: list, show.
    Nuclide(nuclide::Args),
    /// CSDA range and stopping power of an electron or alpha particle in a material.
    Range(range::Args),
    /// Voxel phantoms: generate from a TOML spec, info, import images, export.
    Phantom(phantom::Args),
    /// Run a scenario: dose to tumour cells and lymphocytes over time, lymphocyte survival
    /// and the immunotherapy window (results.h5, summary.json/csv, figures, report).
    Run(run::Args),
    /// Compare nuclides on one scenario (normalised to equal tumour dose, activity or
    /// decays): side-by-side table, comparison.csv/json, figures and report.
    Compare(compare::Args),
    /// The transport cache of an output folder: `xfire cache prune DIR` deletes it and says
    /// how much was freed.
    Cache(cache::Args),
    /// Cellular S values of a nuclide (MIRD cellular method or full transport): nucleus and
    /// cell targets of the same cell and of neighbours.
    Svalue(svalue::Args),
    /// Print a shell completion script: `xfire completions bash|zsh|fish`.
    Completions(completions::Args),
    /// Merge the shards of a run (`xfire run --shard K/N`) into the result of the single
    /// run (byte-identical results.h5, summary.json, summary.csv).
    Merge(merge::Args),
}

fn main() -> std::process::ExitCode {
    quiet_broken_pipe();
    let cli = Cli::parse();
    let result: anyhow::Result<()> = match cli.command {
        Command::Chain(a) => chain::run(a),
        Command::Dose(a) => dose::run(a),
        Command::Kernel(a) => kernel::run(a),
        Command::Nuclide(a) => nuclide::run(a),
        Command::Range(a) => range::run(a),
        Command::Svalue(a) => svalue::run(a),
        Command::Phantom(a) => phantom::run(a),
        Command::Run(a) => run::run(a),
        Command::Compare(a) => compare::run(a),
        Command::Completions(a) => completions::run(a, &mut Cli::command()),
        Command::Merge(a) => merge::run(a),
        Command::Cache(a) => cache::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<signals::Interrupted>().is_some() => {
            eprintln!("{e:#}");
            std::process::ExitCode::from(signals::EXIT_INTERRUPTED)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}

/// `xfire ... | head` closes stdout early; end quietly instead of reporting a panic.
fn quiet_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}
