//! The xfire commands as library calls: a typed request in, numbers out (arrays per voxel,
//! a JSON summary as the command prints it), shared by the command-line program
//! (`xfire-cli`, which adds argument parsing, output folders, progress and printing) and the
//! Python package (`xfire-py`). Nothing here parses a command line or prints.
//!
//! - [`kernel`]: dose point kernels and voxel S-values in a homogeneous medium
//!   (`xfire kernel`, `docs/formats/kernel.md`).
//! - [`nuclide`]: the radionuclide library as records (`xfire nuclide show --json`).
//! - [`chain`]: activities and cumulated decays of a decay chain (`xfire chain --json`).
//! - [`range`]: CSDA range and stopping powers (`xfire range --json`).
//! - [`phantom`]: phantoms generated from a specification or read from a file.
//! - [`material`]: a material by name, built in or from a user materials file.

pub mod chain;
pub mod kernel;
pub mod material;
pub mod nuclide;
pub mod phantom;
pub mod range;

use xfire_core::units::UnitError;
use xfire_data::materials::MaterialError;
use xfire_data::nuclides::NuclideError;

/// Errors of a request; each message names the bad value and its unit.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A bad argument. `arg` is its name as a command-line option without the dashes
    /// (`grid`, `batch-size`; the Python keyword is the same with `_` for `-`); `detail`
    /// follows the name directly (" must be at least 1, got 0").
    #[error("--{arg}{detail}")]
    Arg {
        /// The argument's name.
        arg: &'static str,
        /// What is wrong with it, starting with a space or a colon.
        detail: String,
    },
    /// A bad value; the message says which and why.
    #[error("{0}")]
    Invalid(String),
    /// A quantity with a unit that could not be read.
    #[error(transparent)]
    Unit(#[from] UnitError),
    /// An unknown nuclide or one without the asked-for emissions.
    #[error(transparent)]
    Nuclide(#[from] NuclideError),
    /// A material that is neither built in nor in the materials file.
    #[error("{0}")]
    UnknownMaterial(String),
    /// The materials file could not be read.
    #[error("cannot read materials file {path}")]
    MaterialsFile {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The materials file has a bad definition.
    #[error("in materials file {path}")]
    MaterialsFileContent {
        /// The file.
        path: String,
        /// The bad definition.
        source: MaterialError,
    },
    /// A decay chain that cannot be built.
    #[error(transparent)]
    Chain(#[from] xfire_kinetics::ChainError),
    /// Physics tables that cannot be built for a material.
    #[error(transparent)]
    Physics(#[from] xfire_physics::PhysicsError),
    /// A materials file (of a phantom specification) that cannot be read.
    #[error("reading materials file {path}")]
    ReadingMaterials {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A materials file (of a phantom specification) with a bad definition.
    #[error("{path}: {error}")]
    MaterialsIn {
        /// The file.
        path: String,
        /// The bad definition.
        error: MaterialError,
    },
    /// A phantom file that cannot be read.
    #[error(transparent)]
    PhantomFile(#[from] xfire_io::IoError),
    /// A geometry error.
    #[error(transparent)]
    Phantom(#[from] xfire_phantom::PhantomError),
    /// A transport set-up error.
    #[error(transparent)]
    Transport(#[from] xfire_transport::TransportError),
    /// A tally error.
    #[error(transparent)]
    Tally(#[from] xfire_tally::TallyError),
    /// A figure could not be drawn.
    #[error("{what}")]
    Figure {
        /// Which figure.
        what: &'static str,
        /// Why.
        source: xfire_report::ReportError,
    },
    /// A file could not be created or written.
    #[error("cannot {verb} {path}")]
    File {
        /// "create" or "write".
        verb: &'static str,
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// An HDF5 file could not be written.
    #[error("writing {path}: {message}")]
    Hdf5 {
        /// The file.
        path: String,
        /// The HDF5 writer's message.
        message: String,
    },
    /// The caller asked the transport to stop (Ctrl-C); nothing was kept.
    #[error("interrupted after {done} of {total} decays")]
    Interrupted {
        /// Decays transported before the stop.
        done: u64,
        /// Decays asked for.
        total: u64,
    },
}

impl ApiError {
    /// The message with the argument named by `name` (e.g. the Python keyword) instead of
    /// the command-line option, and the causes appended as `: cause`.
    pub fn message_naming(&self, name: impl Fn(&str) -> String) -> String {
        let mut msg = match self {
            ApiError::Arg { arg, detail } => format!("{}{detail}", name(arg)),
            other => other.to_string(),
        };
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            msg.push_str(&format!(": {c}"));
            cause = c.source();
        }
        msg
    }
}

/// Result alias of this crate.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;
