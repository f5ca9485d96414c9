//! # xfire-scenario
//!
//! Scenario files (TOML, `docs/formats/scenario.md`) and the end-to-end run behind
//! `xfire run`.

pub mod compare;
pub mod compute;
pub mod exact;
pub mod output;
pub mod plan;
pub mod shard;
pub mod spec;
pub mod transport;

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
        /// The scenario file (or "<text>").
        file: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// Any other failure (files, phantom, transport, kinetics, output), with context.
    #[error("{0}")]
    Failed(String),
}

/// Result alias of this crate.
pub type Result<T, E = ScenarioError> = std::result::Result<T, E>;
