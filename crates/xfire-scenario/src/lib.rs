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
    /// Any other failure (files, phantom, transport, kinetics, output), with context.
    #[error("{0}")]
    Failed(String),
    /// The transport was stopped at a batch boundary ([`Options::stop`], Ctrl-C); what was
    /// done is in the checkpoint named by the message (`resume` continues it).
    #[error("interrupted: {0}")]
    Interrupted(String),
}

/// Result alias of this crate.
pub type Result<T, E = ScenarioError> = std::result::Result<T, E>;
