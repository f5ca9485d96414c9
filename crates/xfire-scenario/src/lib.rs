//! # xfire-scenario
//!
//! Scenario files (TOML, `docs/formats/scenario.md`) and the end-to-end run behind
//! `xfire run`: given a tumour microenvironment (phantom), a radioligand (nuclide, binding
//! site, labelled fraction, uptake heterogeneity), its kinetics and regimen, the fate of
//! daughters and the lymphocyte models, how much dose tumour cells and lymphocytes get over
//! time, what fraction of lymphocytes survive, and when immunotherapy can start.
//!
//! The pipeline has three separable steps (the design's "one idea": transport once per
//! source component for a unit decay, everything in time deterministic afterwards):
//!
//! 1. **Plan** — [`Scenario::from_file`] / [`Scenario::from_text`] read and validate the
//!    file, collecting *every* problem with its line ([`ScenarioError::Invalid`]);
//!    [`Plan::new`] builds the phantom (file or generator), the labelled-cell source map
//!    (fraction labelled and lognormal per-cell weights, deterministic from the seed), the
//!    release sites, the exact source kinetics ([`xfire_kinetics::SourceKinetics`]: chain
//!    member × site components, regimen, daughters) and the tally layout (labels, cells,
//!    groups "tumour cells"/"lymphocytes": [`plan::GROUP_MAP`]).
//! 2. **Transport** — [`transport_all`] (or [`transport::transport_part`] for one component
//!    and [`Part`]: α lines + recoils, or everything else) runs each component for unit
//!    decays, reading/writing the on-disk cache keyed by phantom content, source map,
//!    nuclide, part and transport settings ([`transport::cache_key`]); shards, checkpoints
//!    and exact accumulation live in [`shard`] and [`xfire_tally::exact`].
//! 3. **Time step** — [`compute()`] turns dose per decay × exact decays into dose rate and
//!    cumulative dose per label, group and cell, resident / cohort / migrating / circulating
//!    lymphocyte exposure, LQ survival with graded parameters, and the immunotherapy window
//!    ([`RunResult`], plain data). [`output::write_all`] writes `results.h5`,
//!    `summary.json`, `summary.csv`, figures and the report (`docs/formats/results.md`).
//!
//! A comparison of nuclides on one scenario ([`compare`]) reuses the plan and the time step
//! per nuclide. Outputs depend only on the scenario: the same bytes for any thread count,
//! shard split, or whether the transport came from the cache.
//!
//! ```no_run
//! use xfire_scenario::{compute, output, transport_all, Options, Plan, Scenario};
//! let s = Scenario::from_file("phantoms/til-spheroid-lu177.toml".as_ref())?;
//! let plan = Plan::new(s)?;
//! let opts = Options { cache_dir: Some("out/cache".into()), ..Options::default() };
//! let tr = transport_all(&plan, &opts)?;          // dose per decay per component
//! let r = compute(&plan, &tr)?;                    // doses over time, survival, window
//! output::write_all("out".as_ref(), &plan, &tr, &r)?;
//! println!("{}", output::short_table(&r));
//! # Ok::<(), xfire_scenario::ScenarioError>(())
//! ```

mod cellnoise;
pub mod compare;
pub mod compute;
pub mod explain;
pub mod fmt;
pub mod lesion;
pub mod output;
pub mod plan;
pub mod shard;
pub mod spec;
pub mod transport;
pub mod voxels;

pub use compute::{compute, RunResult};
pub use plan::Plan;
pub use spec::{Problem, Scenario};
pub use transport::{transport_all, ComponentTransport, Options, Part};

/// Run a plan end to end: transport every component (or read it from the cache), then the
/// time step. Write the files with [`output::write_all`].
pub fn run(plan: &Plan, opts: &Options) -> Result<(Vec<ComponentTransport>, RunResult)> {
    let tr = transport_all(plan, opts)?;
    let r = compute(plan, &tr)?;
    Ok((tr, r))
}

/// Errors of a scenario run; messages name the value, its unit and where it came from.
///
/// A failure of another crate keeps that crate's error as its [`source`](std::error::Error::source)
/// (the message here is the context: which file, which table, which part); the CLI prints
/// the chain as `context: cause` and [`ScenarioError::message`] writes it out. Errors whose
/// own message already repeats their cause (transport set-up, figures, HDF5) are kept as a
/// field and written after the context instead, so that no cause is printed twice.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The scenario file has problems; every one is listed with its line.
    #[error("{file}: {} problem(s):\n{}", problems.len(), spec::format_problems(problems))]
    Invalid {
        /// The scenario file (or `<scenario>` for text).
        file: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// A file or folder could not be read, written or created.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was tried: "read scenario", "create", "write checkpoint", ...
        action: &'static str,
        /// The file or folder.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A phantom file could not be read.
    #[error("phantom {}", path.display())]
    PhantomFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why (the message names the file again and the bad value).
        source: xfire_io::IoError,
    },
    /// A phantom could not be generated, nested or checked.
    #[error("{context}")]
    Phantom {
        /// Which phantom, table or step.
        context: String,
        /// Why.
        source: xfire_phantom::PhantomError,
    },
    /// A nuclide is not in the library.
    #[error("{context}")]
    Nuclide {
        /// Where the nuclide was named.
        context: String,
        /// Why.
        source: xfire_data::nuclides::NuclideError,
    },
    /// A decay chain could not be built.
    #[error("{context}")]
    Chain {
        /// Where the chain is needed.
        context: String,
        /// Why.
        source: xfire_kinetics::ChainError,
    },
    /// Kinetics, dose over time, lymphocyte models or radiobiology refused their input.
    #[error("{context}")]
    Kinetics {
        /// Which quantity or model.
        context: String,
        /// Why.
        source: xfire_kinetics::KineticsError,
    },
    /// A tally layout could not be built, or tallies could not be merged.
    #[error("{context}")]
    Tally {
        /// Which layout or file.
        context: String,
        /// Why.
        source: xfire_tally::TallyError,
    },
    /// A tally file (cache, checkpoint, shard part) could not be decoded.
    #[error("{}", path.display())]
    TallyFile {
        /// The file.
        path: std::path::PathBuf,
        /// Why (an older format is named with its version).
        source: xfire_tally::FileError,
    },
    /// A JSON document (summary, manifest, comparison) could not be written or read.
    #[error("{context}")]
    Json {
        /// Which document.
        context: String,
        /// Why.
        source: serde_json::Error,
    },
    /// The transport could not be set up (physics tables, engine, batches).
    #[error("{context}: {error}")]
    Transport {
        /// Which tables or part.
        context: String,
        /// Why (its message carries its own cause).
        error: xfire_transport::TransportError,
    },
    /// A figure or report could not be written.
    #[error("{context}: {error}")]
    Report {
        /// Which figure or report.
        context: String,
        /// Why (its message carries its own cause).
        error: xfire_report::ReportError,
    },
    /// An HDF5 file could not be written.
    #[error("writing {}: {error}", path.display())]
    Hdf5 {
        /// The file.
        path: std::path::PathBuf,
        /// Why (its message carries its own cause).
        error: xfire_io::hdf5::H5Error,
    },
    /// A check of this crate refused the inputs: files or options that do not fit together
    /// (shards of another run, a checkpoint of another run, a nuclide listed twice), or a
    /// model that needs what the plan does not keep. The message names the value.
    #[error("{0}")]
    Check(String),
    /// The transport was stopped at a batch boundary ([`Options::stop`], Ctrl-C); what was
    /// done is in the checkpoint named by the message (`resume` continues it).
    #[error("interrupted: {0}")]
    Interrupted(String),
}

impl ScenarioError {
    /// The message with its causes appended as `: cause` (what the CLI prints).
    pub fn message(&self) -> String {
        let mut msg = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            msg.push_str(&format!(": {c}"));
            cause = c.source();
        }
        msg
    }
}

/// The error of another crate in the context it was met (`what`: the file, table or step),
/// as a [`ScenarioError`]; [`Context::context`] is the one way this crate adds context.
pub(crate) trait InContext {
    /// `self` met in `context`.
    fn in_context(self, context: String) -> ScenarioError;
}

macro_rules! in_context {
    ($($t:ty => $v:ident { $field:ident }),* $(,)?) => {
        $(impl InContext for $t {
            fn in_context(self, context: String) -> ScenarioError {
                ScenarioError::$v { context, $field: self }
            }
        })*
    };
}

in_context!(
    xfire_phantom::PhantomError => Phantom { source },
    xfire_data::nuclides::NuclideError => Nuclide { source },
    xfire_kinetics::ChainError => Chain { source },
    xfire_kinetics::KineticsError => Kinetics { source },
    xfire_tally::TallyError => Tally { source },
    serde_json::Error => Json { source },
    xfire_transport::TransportError => Transport { error },
    xfire_report::ReportError => Report { error },
);

/// Context for the errors of other crates: `r.context("tally layout")?`.
pub(crate) trait Context<T> {
    /// The error, if any, met in `what`.
    fn context(self, what: impl std::fmt::Display) -> Result<T>;
}

impl<T, E: InContext> Context<T> for std::result::Result<T, E> {
    fn context(self, what: impl std::fmt::Display) -> Result<T> {
        self.map_err(|e| e.in_context(what.to_string()))
    }
}

/// An I/O error met doing `action` ("write", "create cache folder") on `path`.
pub(crate) fn io_error<'a>(
    action: &'static str,
    path: &'a std::path::Path,
) -> impl FnOnce(std::io::Error) -> ScenarioError + 'a {
    move |source| ScenarioError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Result alias of this crate.
pub type Result<T, E = ScenarioError> = std::result::Result<T, E>;
